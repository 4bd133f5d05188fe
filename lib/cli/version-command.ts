// `metallbctl version [-o text|json]`: the project version and the Node.js runtime it runs on.
import { packageVersion } from '../util/daemon.js';
import { EXIT_USAGE } from './io.js';

export interface VersionInfo {
  version: string;
  node: string;
  platform: string;
}

export function versionInfo(): VersionInfo {
  return { version: packageVersion(), node: process.version, platform: `${process.platform}/${process.arch}` };
}

export async function versionCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let format = 'text';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') { out('Usage: metallbctl version [-o text|json]\n'); return 0; }
    if (a === '-o' || a === '--output') format = argv[++i] ?? '';
    else if (a.startsWith('-o=') || a.startsWith('--output=')) format = a.slice(a.indexOf('=') + 1);
    else { err(`metallbctl version: unexpected argument "${a}"\n`); return EXIT_USAGE; }
  }
  const v = versionInfo();
  if (format === 'json') out(`${JSON.stringify(v)}\n`);
  else if (format === 'text') out(`metallb-ts ${v.version}\nNode.js ${v.node} (${v.platform})\n`);
  else { err(`metallbctl version: -o must be text or json, not "${format}"\n`); return EXIT_USAGE; }
  return 0;
}
