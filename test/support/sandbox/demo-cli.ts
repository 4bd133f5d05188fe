#!/usr/bin/env node
// metallb-ts demo: the whole system on this machine (test/support/sandbox/demo.ts). As root, after
// scripts/setup.sh:
//   npm run demo              runs every step, then keeps running until Ctrl-C (SIGINT/SIGTERM),
//                             which removes every namespace, process and temporary file
//   npm run demo -- --once    runs every step, checks each, cleans up; exit 0 only if all passed
import { parseArgs } from 'node:util';
import { Demo, DemoStepError } from './demo.js';

function usage(): never {
  process.stderr.write('usage: demo [--once] [--timeout=<seconds per step>]\n');
  process.exit(2);
}

let values: { once?: boolean; timeout?: string; help?: boolean };
try {
  values = parseArgs({ options: { once: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
} catch (err) {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  usage();
}
if (values.help) usage();
const timeoutSeconds = values.timeout === undefined ? 90 : Number(values.timeout);
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) usage();
const once = values.once === true;

const demo = new Demo({ stepTimeoutMs: timeoutSeconds * 1000 });
let running = false;

// Registered before the control plane starts, so these run before its own signal hook: the
// network namespaces and processes go first, then process.exit() lets the control plane's exit
// hook kill etcd, kube-apiserver and the relays.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stdout.write(`\n${sig}: removing namespaces, processes and temporary files ...\n`);
    demo.destroySync();
    process.stdout.write('demo stopped, everything removed.\n');
    process.exit(running ? 0 : 130);
  });
}

async function main(): Promise<number> {
  process.stdout.write(`metallb-ts demo${once ? ' (--once: run, check, clean up)' : ''}\n`);
  try {
    await demo.run();
  } catch (err) {
    const what = err instanceof DemoStepError ? `step "${err.step}" failed: ${err.message.slice(err.step.length + 2)}` : `failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`;
    process.stdout.write(`\nDEMO FAILED: ${what}\n`);
    const tails = demo.logTails();
    if (tails) process.stdout.write(`${tails}\n`);
    process.stdout.write('\ncleaning up ...\n');
    await demo.stop();
    return 1;
  }
  if (once) {
    process.stdout.write('\nAll checks passed. Cleaning up ...\n');
    await demo.stop();
    process.stdout.write('demo finished: every namespace, process and temporary file removed.\n');
    return 0;
  }
  running = true;
  demo.printTryCommands();
  await new Promise<never>(() => {
    setInterval(() => undefined, 1 << 30);
  });
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  demo.destroySync();
  process.exit(1);
});
