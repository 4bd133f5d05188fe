// npm run bench -- migrate
// `metallbctl migrate` end to end on text (read form, validate with lib/config, convert, emit
// YAML): a typical config and a large one (1000 pools, 100 peers, 100 aliases, ~200 KiB).
// Reference, same run: `metallbctl validate` of the same text (validateText), so the ratio is
// what migrating costs on top of validating. Memory: heap growth while holding the result.
// Upstream reference, same run: MetalLB v0.13.12's configmaptocrs (built from the Go module on
// first use by scripts/setup.d/70-bench-refs.sh) on the same bare config text, as a process per
// conversion; compared with `metallbctl migrate` as a process per conversion (median wall time
// over --runs N, default 15, each side alternating), plus peak RSS of each process and the number
// of objects each emits (a sanity check that both converted the whole config).
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import yaml from 'js-yaml';
import { validateText } from '../lib/config/validate-command.js';
import { migrateText } from '../lib/migrate/index.js';
import { FigureLog, median } from './lib/figures.js';
import { SPEC_X1 } from '../test/support/spec-examples.js';
import { benchRef } from './lib/refs.js';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const log = new FigureLog('migrate');

const TYPICAL = SPEC_X1;

function largeConfig(): string {
  const communities: Record<string, string> = {};
  for (let i = 0; i < 100; i++) communities[`alias-${i}`] = `65000:${i}`;
  const peers = Array.from({ length: 100 }, (_, i) => ({
    'my-asn': 64500, 'peer-asn': 64501 + i, 'peer-address': `192.0.2.${i + 1}`, 'hold-time': '90s',
    'node-selectors': [{ 'match-labels': { rack: `r${i % 10}` } }],
  }));
  const pools = Array.from({ length: 1000 }, (_, i) => {
    const a = `10.${Math.floor(i / 250)}.${i % 250}.0`;
    return i % 2 === 0
      ? { name: `Pool_${i}`, protocol: 'bgp', addresses: [`${a}/25`, `10.${Math.floor(i / 250)}.${i % 250}.128-10.${Math.floor(i / 250)}.${i % 250}.200`], 'bgp-advertisements': [{ localpref: 100, 'aggregation-length': 32, communities: [`alias-${i % 100}`, '65535:65281'] }] }
      : { name: `pool-${i}`, protocol: 'layer2', 'auto-assign': false, addresses: [`${a}/24`] };
  });
  return yaml.dump({ peers, 'bgp-communities': communities, 'address-pools': pools });
}

function timePerRun(fn: () => void, minMs: number): number {
  for (let i = 0; i < 3; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) { fn(); n++; t = performance.now(); }
  return (t - t0) / n;
}

const gc = (globalThis as { gc?: () => void }).gc;

const runsAt = process.argv.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(process.argv[runsAt + 1]) : process.argv.includes('--quick') ? 5 : 15;
const metallbctl = fileURLToPath(new URL('../bin/metallbctl.js', import.meta.url));

/** Runs a command under /usr/bin/time -f %M: [wall ms, max RSS KiB, stdout]. */
function timed(cmd: string, argv: string[]): [number, number, string] {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.slice(-500)}`);
  const rss = Number(/(\d+)\s*$/.exec(r.stderr)?.[1]);
  return [ms, rss, r.stdout];
}

const docs = (text: string): number => text.split(/^---\s*$/m).filter((d) => /^kind:/m.test(d)).length;

function compareWithUpstream(name: string, text: string): void {
  const bin = benchRef('configmaptocrs');
  // configmaptocrs reads only below /var/input (a fixed path in upstream's tool)
  mkdirSync('/var/input', { recursive: true });
  const inputName = `metallb-ts-bench-${process.pid}.yaml`;
  const inputPath = join('/var/input', inputName);
  const dir = mkdtempSync(join(tmpdir(), 'metallb-ts-bench-migrate-'));
  const ourInput = join(dir, 'config.yaml');
  try {
    writeFileSync(inputPath, text);
    writeFileSync(ourInput, text);
    const ours: number[] = [], up: number[] = [];
    let oursRss = 0, upRss = 0, oursOut = '', upOut = '';
    for (let i = 0; i < RUNS + 1; i++) {
      const [ms1, rss1, out1] = timed(process.execPath, [metallbctl, 'migrate', ourInput]);
      const [ms2, rss2, out2] = timed(bin, ['-source', inputName, '-only-data', '-stdout']);
      if (i === 0) { oursOut = out1; upOut = out2; continue; } // warm-up (page cache)
      ours.push(ms1); up.push(ms2); oursRss = Math.max(oursRss, rss1); upRss = Math.max(upRss, rss2);
    }
    const o = median(ours), u = median(up);
    const impl = 'metallb-v0.13.12-configmaptocrs';
    log.add({ case: `process-${name}`, metric: 'wall_ms', value: +o.toFixed(1), unit: 'ms', reference: +u.toFixed(1), ratio: +(o / u).toFixed(2), reference_kind: 'measured', reference_impl: impl, note: `median of ${RUNS}; spread ours ${Math.min(...ours).toFixed(0)}–${Math.max(...ours).toFixed(0)}, upstream ${Math.min(...up).toFixed(0)}–${Math.max(...up).toFixed(0)} ms`, readme: `${name}: one conversion as a process (wall ms, lower is better)` },
      `process-${name}: metallbctl migrate ${o.toFixed(1)} ms vs configmaptocrs ${u.toFixed(1)} ms per conversion (median of ${RUNS}) → ratio ${(o / u).toFixed(2)}`);
    log.add({ case: `process-${name}`, metric: 'peak_rss', value: +(oursRss / 1024).toFixed(1), unit: 'MiB', reference: +(upRss / 1024).toFixed(1), ratio: +(oursRss / upRss).toFixed(2), reference_kind: 'measured', reference_impl: impl, readme: `${name}: peak RSS of the converting process` },
      `process-${name}: peak RSS ${(oursRss / 1024).toFixed(1)} MiB vs configmaptocrs ${(upRss / 1024).toFixed(1)} MiB`);
    log.add({ case: `process-${name}`, metric: 'objects_emitted', value: docs(oursOut), unit: 'objects', reference: docs(upOut), reference_kind: 'measured', reference_impl: impl },
      `process-${name}: objects emitted: ours ${docs(oursOut)}, configmaptocrs ${docs(upOut)}`);
  } finally {
    rmSync(inputPath, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  console.log(`machine load average (1 min): ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; wall time per run`);
  for (const [name, text, minMs] of [['typical', TYPICAL, 1500], ['large-1000-pools', largeConfig(), 4000]] as const) {
    const first = migrateText(text, { source: name });
    if (!first.ok) throw new Error(`${name}: not migratable: ${JSON.stringify(first)}`);
    const kib = Buffer.byteLength(text) / 1024;
    const migrateMs = timePerRun(() => { migrateText(text, { source: name }); }, minMs);
    const validateMs = timePerRun(() => { validateText(name, text); }, minMs);
    log.add({ case: name, metric: 'migrate_ms', value: +migrateMs.toFixed(3), unit: 'ms', reference: +validateMs.toFixed(3), ratio: +(migrateMs / validateMs).toFixed(2) },
      `${name} (${kib.toFixed(0)} KiB in, ${first.objects.length} objects, ${(Buffer.byteLength(first.yaml) / 1024).toFixed(0)} KiB out): migrate ${migrateMs.toFixed(3)} ms/run; validate alone ${validateMs.toFixed(3)} ms/run (ratio ${(migrateMs / validateMs).toFixed(2)})`);
    log.add({ case: name, metric: 'objects_per_s', value: Math.round(first.objects.length / (migrateMs / 1000)), unit: '1/s' },
      `${name}: ${Math.round(first.objects.length / (migrateMs / 1000))} objects/s end to end`);
    compareWithUpstream(name, text);
    if (name === 'typical') continue; // a few KiB: below the noise of a heap measurement
    gc?.();
    const before = process.memoryUsage().heapUsed;
    const held = migrateText(text, { source: name });
    gc?.();
    const grown = (process.memoryUsage().heapUsed - before) / (1024 * 1024);
    log.add({ case: name, metric: 'heap_retained_mib', value: +grown.toFixed(2), unit: 'MiB' },
      `${name}: result holds ${grown.toFixed(2)} MiB of heap${gc ? '' : ' (run with --expose-gc for a precise figure)'}${held.ok ? '' : ' ?'}`);
  }
  log.printJSON();
}

main();
