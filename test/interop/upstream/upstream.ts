// Where the upstream MetalLB oracle lives on this machine (built or fetched by
// scripts/setup.d/60-upstream.sh): the v0.12.1 speaker and controller binaries, and the
// go.universe.tf/metallb module sources in the Go module cache (read, never copied into the repo).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const UPSTREAM_VERSION = 'v0.12.1';
export const MIGRATE_ORACLE_VERSION = process.env.METALLB_TS_UPSTREAM_MIGRATE_VERSION ?? 'v0.13.5';

const SETUP_HINT = 'run scripts/setup.sh (or scripts/setup.d/60-upstream.sh)';

/** Directory holding upstream's `speaker` and `controller` (the path scripts/upstream-binaries.sh prints). */
export function upstreamBinDir(): string {
  const dir = join(process.env.METALLB_TS_CACHE ?? '/var/cache/metallb-ts', `upstream-${UPSTREAM_VERSION}`, 'bin');
  for (const b of ['speaker', 'controller']) {
    if (!existsSync(join(dir, b))) throw new Error(`upstream MetalLB ${UPSTREAM_VERSION} ${b} is missing in ${dir}: ${SETUP_HINT}`);
  }
  return dir;
}

export function upstreamBinary(name: 'speaker' | 'controller'): string {
  return join(upstreamBinDir(), name);
}

function goBinary(): string {
  for (const p of ['/usr/local/go/bin/go', '/usr/bin/go']) if (existsSync(p)) return p;
  return 'go';
}

/** The extracted module directory in the Go module cache (downloads it through the proxy if absent). */
export function goModuleDir(path: string, version: string): string {
  const out = execFileSync(goBinary(), ['mod', 'download', '-json', `${path}@${version}`], {
    cwd: '/', encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const dir = (JSON.parse(out) as { Dir?: string; Error?: string }).Dir;
  if (!dir || !existsSync(dir)) throw new Error(`${path}@${version} is not in the Go module cache: ${SETUP_HINT}`);
  return dir;
}
