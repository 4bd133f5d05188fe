#!/usr/bin/env node
// Runs the compiled test tiers with Node's built-in test runner and prints one closing line
// "N passed, N failed" over all tiers.
//   node scripts/run-tests.mjs                 all tiers: unit, integration, interop, e2e, cluster
//   node scripts/run-tests.mjs unit e2e        only those tiers
//   TEST_FILTER=bgp node scripts/...           only test files whose path contains "bgp"
// unit tests run in parallel; the other tiers share one control plane / network namespaces and
// run one file at a time.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
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

console.log(`metallb-ts tests on Node.js ${process.version} (${process.execPath}), tiers: ${tiers.join(', ')}`);
let passed = 0, failed = 0, ranAny = false;
const work = mkdtempSync(join(tmpdir(), 'metallb-ts-tests-'));
for (const tier of tiers) {
  if (!allTiers.includes(tier)) { console.error(`unknown tier "${tier}" (known: ${allTiers.join(', ')})`); process.exit(2); }
  const files = findTests(join(root, 'dist', 'test', tier)).filter((f) => f.includes(filter));
  if (files.length === 0) { console.log(`== ${tier}: no test files`); continue; }
  ranAny = true;
  console.log(`== ${tier}: ${files.length} file(s)`);
  const tap = join(work, `${tier}.tap`);
  const args = ['--enable-source-maps', '--test',
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`];
  if (tier !== 'unit') args.push('--test-concurrency=1');
  const r = spawnSync(process.execPath, [...args, ...files.map((f) => relative(root, f))],
    { cwd: root, stdio: 'inherit', env: { ...process.env, METALLB_TS_TEST_TIER: tier } });
  let text = '';
  try { text = readFileSync(tap, 'utf8'); } catch { /* runner died before writing */ }
  const pass = Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
  const fail = Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0);
  passed += pass;
  failed += fail + (r.status !== 0 && fail === 0 ? 1 : 0); // a crashed runner counts as a failure
}
rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || !ranAny ? 1 : 0);
