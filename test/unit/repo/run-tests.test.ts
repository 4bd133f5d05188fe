// scripts/run-tests.mjs, run on a planted dist tree (METALLB_TS_TEST_ROOT): its closing line
// counts skipped, todo and cancelled tests (cancelled as failure), a test without its own timeout
// fails after METALLB_TS_TEST_TIMEOUT_S, and a tier whose runner hangs is stopped by the watchdog
// (METALLB_TS_TIER_TIMEOUT_S), its processes gone, and counted as failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../../../scripts/run-tests.mjs', import.meta.url));

function run(root: string, tiers: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  // without the test runner's own marker, or the nested runner would refuse to run files
  const { NODE_TEST_CONTEXT: _ctx, ...inherited } = process.env;
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [runner, ...tiers], {
      env: { ...inherited, TEST_FILTER: '', METALLB_TS_TEST_ROOT: root, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    c.on('exit', (code) => resolve({ code, out }));
  });
}

function plant(t: { after: (f: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'run-tests-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [p, s] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), s);
  }
  return dir;
}

const lastLine = (out: string): string => out.trim().split('\n').at(-1) ?? '';

test('the closing line counts passed, failed, skipped, todo and cancelled; cancelled fails the run', { timeout: 120_000 }, async (t) => {
  const root = plant(t, {
    'dist/test/unit/a.test.js': [
      "import { test } from 'node:test';",
      "test('passes', () => {});",
      "test('another passes', () => {});",
      "test('skipped', { skip: 'planted' }, () => {});",
      "test('todo', { todo: 'planted' }, () => {});",
      // a test over its timeout is cancelled, and so is its pending subtest
      "test('parent', { timeout: 300 }, async (t) => { await t.test('child', () => new Promise((r) => setTimeout(r, 2000))); });",
    ].join('\n'),
  });
  const r = await run(root, ['unit'], {});
  assert.match(r.out.split('\n')[0] ?? '', /^metallb-ts tests on Node\.js v\d+/);
  assert.equal(lastLine(r.out), '2 passed, 0 failed, 1 skipped, 1 todo, 2 cancelled', r.out);
  assert.equal(r.code, 1, 'a cancelled test fails the run');
});

test('a hanging test times out, a hanging tier is stopped by the watchdog and counted as failed', { timeout: 120_000 }, async (t) => {
  const root = plant(t, {
    'dist/test/unit/ok.test.js': "import { test } from 'node:test';\ntest('passes', () => {});\n",
    'dist/test/integration/hang.test.js': [
      "import { test } from 'node:test';",
      "import { writeFileSync } from 'node:fs';",
      "writeFileSync(new URL('../../../pid', import.meta.url), String(process.pid));",
      "test('passes first', () => {});",
      // never settles, and the interval keeps the file's process alive after the timeout
      "test('hangs', () => new Promise(() => { setInterval(() => {}, 1000); }));",
    ].join('\n'),
  });
  const r = await run(root, ['unit', 'integration'], { METALLB_TS_TEST_TIMEOUT_S: '2', METALLB_TS_TIER_TIMEOUT_S: '10' });
  assert.match(r.out, /== integration: stopped by the watchdog after 10 s/, r.out);
  // the timed-out test is cancelled (as Node's own summary counts it); the stopped tier failed
  assert.equal(lastLine(r.out), '2 passed, 1 failed, 0 skipped, 0 todo, 1 cancelled', r.out);
  assert.equal(r.code, 1);
  const pid = Number(readFileSync(join(root, 'pid'), 'utf8'));
  assert.ok(pid > 0);
  const state = (): string => { try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] ?? ''; } catch { return 'gone'; } };
  assert.ok(['gone', 'Z'].includes(state()), `the hanging test file's process ${pid} is gone, not ${state()}`);
});
