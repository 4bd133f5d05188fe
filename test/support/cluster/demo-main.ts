#!/usr/bin/env node
// `npm run demo`: metallb-ts on a real 3-node cluster (./demo.ts). As root, after scripts/setup.sh:
//   npm run demo              every step, then keeps running until Ctrl-C (SIGINT/SIGTERM), which
//                             removes every namespace, process, mount and cgroup
//   npm run demo -- --once    every step, each checked, then clean up; exit 0 only if all passed
import { parseArgs } from 'node:util';
import { ClusterDemo, DemoStepError } from './demo.js';

function usage(): never {
  process.stderr.write('usage: demo [--once] [--timeout=<seconds per wait>]\n');
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
const timeoutSeconds = values.timeout === undefined ? 180 : Number(values.timeout);
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) usage();
const once = values.once === true;
const demo = new ClusterDemo(undefined, timeoutSeconds * 1000);

async function main(): Promise<number> {
  process.stdout.write(`metallb-ts demo on a real cluster${once ? ' (--once: run, check, clean up)' : ''}\n`);
  try {
    await demo.run();
  } catch (err) {
    const what = err instanceof DemoStepError ? `step "${err.step}" failed: ${err.message.slice(err.step.length + 2)}` : String(err);
    process.stdout.write(`\nDEMO FAILED: ${what}\n\ncleaning up ...\n`);
    await demo.stop().catch((e: unknown) => process.stdout.write(`clean-up: ${String(e)}\n`));
    return 1;
  }
  if (once) {
    process.stdout.write('\nAll checks passed. Cleaning up ...\n');
    await demo.stop();
    process.stdout.write('demo finished: every namespace, process, mount and cgroup removed.\n');
    return 0;
  }
  demo.printTryCommands();
  // synchronous, ahead of the harness's own signal hook; process.exit() then lets the control
  // plane's exit hook remove etcd and kube-apiserver
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.prependListener(sig, () => {
      process.stdout.write(`\n${sig}: removing namespaces, processes, mounts and cgroups ...\n`);
      demo.cluster?.destroySync();
      process.stdout.write('demo stopped, everything removed.\n');
      process.exit(0);
    });
  }
  await new Promise<never>(() => { setInterval(() => undefined, 1 << 30); });
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
