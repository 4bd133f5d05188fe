// lib/util/daemon.ts: the shutdown path of bin/controller.ts and bin/speaker.ts, in a real child
// process that receives a real signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { packageVersion } from '../../../lib/util/daemon.js';

const daemonModule = new URL('../../../lib/util/daemon.js', import.meta.url).href;
const logModule = new URL('../../../lib/util/log.js', import.meta.url).href;

interface Outcome { code: number | null; lines: Record<string, unknown>[] }

/** Runs a child that installs exitOnSignals with the given stop body, sends it `signals`, returns how it ended. */
async function runChild(stopBody: string, signals: NodeJS.Signals[], forceAfterMs: number): Promise<Outcome> {
  const script = `
    import { exitOnSignals } from ${JSON.stringify(daemonModule)};
    import { createLogger } from ${JSON.stringify(logModule)};
    const log = createLogger('test');
    exitOnSignals(log, ['SIGTERM', 'SIGINT'], async () => { ${stopBody} }, ${forceAfterMs});
    setInterval(() => {}, 1000);
    log.info('ready');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('"ready"')) resolve();
    });
  });
  const exited = once(child, 'exit');
  await ready;
  for (const [i, s] of signals.entries()) {
    // one at a time: the kernel delivers pending signals lowest number first, not in sending order
    if (i > 0) await new Promise((res) => setTimeout(res, 100));
    child.kill(s);
  }
  const [code] = (await exited) as [number | null];
  return { code, lines: out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('a signal runs stop once, logs stopping and stopped, exits 0', async () => {
  const r = await runChild(`log.info('stop ran'); await new Promise((res) => setTimeout(res, 400));`, ['SIGTERM', 'SIGINT'], 5000);
  assert.equal(r.code, 0);
  const msgs = r.lines.map((l) => l.msg);
  assert.deepEqual(msgs, ['ready', 'stopping', 'stop ran', 'stopped']);
  assert.equal(r.lines[1].signal, 'SIGTERM');
  assert.equal(r.lines[1].op, 'shutdown');
});

test('a stop that hangs is cut short: exit 1 after the force timeout, with an error line, without "stopped"', async () => {
  const r = await runChild(`await new Promise(() => {});`, ['SIGINT'], 200);
  assert.equal(r.code, 1, 'a forced shutdown is not a clean one');
  assert.deepEqual(r.lines.map((l) => l.msg), ['ready', 'stopping', 'shutdown did not finish in time, forcing exit']);
  assert.equal(r.lines[2].level, 'error');
  assert.equal(r.lines[1].signal, 'SIGINT');
});

test('packageVersion reads the version from package.json', () => {
  assert.match(packageVersion(), /^\d+\.\d+\.\d+/);
  assert.notEqual(packageVersion(), '0.0.0');
});
