#!/usr/bin/env node
// Runs the compiled test tiers with Node's built-in test runner and prints one closing line
// "N passed, N failed, N skipped, N todo, N cancelled" over all tiers (cancelled counts as failure).
//   node scripts/run-tests.mjs                 all tiers: unit, integration, interop, e2e, cluster
//   node scripts/run-tests.mjs unit e2e        only those tiers
//   TEST_FILTER=bgp node scripts/...           only test files whose path contains "bgp"
// unit tests run in parallel; the other tiers share one control plane / network namespaces and
// run one file at a time.
// Time limits: every test without its own `timeout` is cancelled after METALLB_TS_TEST_TIMEOUT_S
// (default 600 s); a whole tier is stopped after METALLB_TS_TIER_TIMEOUT_S (default 3600 s): its
// runner's process group gets SIGTERM (then SIGKILL 15 s later) and the tier counts as failed.
// METALLB_TS_TEST_ROOT: the tree whose dist/test/<tier> is run (default: this checkout).
import { spawn } from 'node:child_process';
import { readdirSync, statSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = process.env.METALLB_TS_TEST_ROOT || new URL('..', import.meta.url).pathname;
const testTimeoutMs = Number(process.env.METALLB_TS_TEST_TIMEOUT_S || 600) * 1000;
const tierTimeoutMs = Number(process.env.METALLB_TS_TIER_TIMEOUT_S || 3600) * 1000;
// cluster: a real 3-node cluster with the images from ./Dockerfile (test/support/cluster), last
const allTiers = ['unit', 'integration', 'interop', 'e2e', 'cluster'];
const tiers = process.argv.slice(2).length ? process.argv.slice(2) : allTiers;
const filter = process.env.TEST_FILTER ?? '';

function findTests(dir) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(findTests(p));
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

// Counts from the TAP file: the runner's summary when it wrote one, else (a runner stopped by the
// watchdog) the result lines written so far, suites left out.
function countTap(text) {
  const sum = (k) => /^# pass \d+/m.test(text) ? Number(new RegExp(`^# ${k} (\\d+)`, 'm').exec(text)?.[1] ?? 0) : null;
  if (sum('pass') !== null) {
    return { pass: sum('pass'), fail: sum('fail'), skipped: sum('skipped'), todo: sum('todo'), cancelled: sum('cancelled') };
  }
  const c = { pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(not ok|ok) \d+ - .*?(?: # (SKIP|TODO)\b.*)?$/.exec(lines[i]);
    if (!m) continue;
    let yaml = '';
    for (let j = i + 1; j < lines.length && lines[j].startsWith(m[1] + '  '); j++) yaml += lines[j] + '\n';
    if (/^\s*type: 'suite'/m.test(yaml)) continue;
    if (m[3] === 'SKIP') c.skipped++;
    else if (m[3] === 'TODO') c.todo++;
    else if (m[2] === 'ok') c.pass++;
    else if (/failureType: '(cancelledByParent|testTimeoutFailure)'/.test(yaml)) c.cancelled++; // as the runner's summary counts them
    else c.fail++;
  }
  return c;
}

// Runs one tier's runner in its own process group, stopped by the watchdog after tierTimeoutMs.
let current = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { if (current) try { process.kill(-current.pid, sig); } catch { /* gone */ } else process.exit(130); });
}
function runTier(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env, detached: true });
    current = child;
    let timedOut = false, killTimer = null;
    const watchdog = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
      killTimer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 15_000);
    }, tierTimeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (killTimer) clearTimeout(killTimer);
      // the group may still hold stragglers (a grandchild that ignored SIGTERM)
      if (timedOut) try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      current = null;
      resolve({ status: code ?? 1, signal, timedOut });
    });
  });
}

console.log(`metallb-ts tests on Node.js ${process.version} (${process.execPath}), tiers: ${tiers.join(', ')}`);
let passed = 0, failed = 0, skipped = 0, todo = 0, cancelled = 0, ranAny = false;
const work = mkdtempSync(join(tmpdir(), 'metallb-ts-tests-'));
for (const tier of tiers) {
  if (!allTiers.includes(tier)) { console.error(`unknown tier "${tier}" (known: ${allTiers.join(', ')})`); process.exit(2); }
  const files = findTests(join(root, 'dist', 'test', tier)).filter((f) => f.includes(filter));
  if (files.length === 0) { console.log(`== ${tier}: no test files`); continue; }
  ranAny = true;
  console.log(`== ${tier}: ${files.length} file(s)`);
  const tap = join(work, `${tier}.tap`);
  const args = ['--enable-source-maps', '--test', `--test-timeout=${testTimeoutMs}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`];
  if (tier !== 'unit') args.push('--test-concurrency=1');
  const r = await runTier([...args, ...files.map((f) => relative(root, f))],
    { ...process.env, METALLB_TS_TEST_TIER: tier });
  let text = '';
  try { text = readFileSync(tap, 'utf8'); } catch { /* runner died before writing */ }
  const c = countTap(text);
  if (r.timedOut) console.log(`== ${tier}: stopped by the watchdog after ${tierTimeoutMs / 1000} s (METALLB_TS_TIER_TIMEOUT_S): counted as failed`);
  passed += c.pass; skipped += c.skipped; todo += c.todo; cancelled += c.cancelled;
  // a crashed or watchdog-stopped runner counts as a failure
  failed += c.fail + (r.timedOut || (r.status !== 0 && c.fail + c.cancelled === 0) ? 1 : 0);
}
rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped, ${todo} todo, ${cancelled} cancelled`);
process.exit(failed > 0 || cancelled > 0 || !ranAny ? 1 : 0);
