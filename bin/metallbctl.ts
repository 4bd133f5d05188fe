#!/usr/bin/env node
// metallbctl: operator CLI for the legacy MetalLB configuration. Wiring only.
import { validateCommand } from '../lib/config/validate-command.js';
import { EXIT_USAGE } from '../lib/cli/io.js';

const USAGE = `Usage: metallbctl <command> [options]

Commands:
  validate FILE|-    check a config (ConfigMap manifest or bare config text)
  migrate  FILE|-    convert a config to the CRD-based API (IPAddressPool, BGPPeer, ...)
  version            the metallb-ts version and the Node.js runtime

Run "metallbctl <command> --help" for a command's options.`;

type Command = (argv: string[], out: (s: string) => void, err: (s: string) => void) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  validate: async () => validateCommand,
  migrate: async () => (await import('../lib/migrate/command.js')).migrateCommand,
  version: async () => (await import('../lib/cli/version-command.js')).versionCommand,
};

async function main(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const err = (s: string) => process.stderr.write(s);
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? err : out)(`${USAGE}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const load = commands[name];
  if (!load) { err(`metallbctl: unknown command "${name}"\n\n${USAGE}\n`); return EXIT_USAGE; }
  return (await load())(rest, out, err);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { process.stderr.write(`metallbctl: internal error: ${(e as Error).stack ?? String(e)}\n`); process.exitCode = 70; },
);
