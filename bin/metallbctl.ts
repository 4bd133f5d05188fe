#!/usr/bin/env node
// metallbctl: operator CLI for the legacy MetalLB configuration. Wiring only.
import { validateCommand } from '../lib/config/validate-command.js';
import { CheckedOutput, EXIT_USAGE, UsageError } from '../lib/cli/io.js';

const USAGE = `Usage: metallbctl <command> [options]

Commands:
  validate FILE|-    check a config (ConfigMap manifest or bare config text)
  migrate  FILE|-    convert a config to the CRD-based API (IPAddressPool, BGPPeer, ...)
  status             the live state: config in force, Services and who announces them, speakers
  plan     FILE|-    what every Service would get under a new config, before applying it
  version            the metallb-ts version and the Node.js runtime

Run "metallbctl <command> --help" for a command's options.`;

type Command = (argv: string[], out: (s: string) => void, err: (s: string) => void) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  validate: async () => validateCommand,
  migrate: async () => (await import('../lib/migrate/command.js')).migrateCommand,
  status: async () => (await import('../lib/cli/status-command.js')).statusCommand,
  plan: async () => (await import('../lib/cli/plan-command.js')).planCommand,
  version: async () => (await import('../lib/cli/version-command.js')).versionCommand,
};

const stdout = new CheckedOutput();

async function main(argv: string[]): Promise<number> {
  const out = (s: string) => stdout.write(s);
  const err = (s: string) => { process.stderr.write(s); };
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? err : out)(`${USAGE}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const load = commands[name];
  if (!load) { err(`metallbctl: unknown command "${name}"\n\n${USAGE}\n`); return EXIT_USAGE; }
  return (await load())(rest, out, err);
}

/** The command's exit code, unless standard output could not be written (then 2: "unwritable output"). */
async function run(argv: string[]): Promise<number> {
  const code = await main(argv);
  try {
    await stdout.flush();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`metallbctl: ${e.message}\n`);
    return EXIT_USAGE;
  }
  return code;
}

run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => { process.stderr.write(`metallbctl: internal error: ${(e as Error).stack ?? String(e)}\n`); process.exitCode = 70; },
);
