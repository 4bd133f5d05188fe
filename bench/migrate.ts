// npm run bench -- migrate
// `metallbctl migrate` end to end on text (read form, validate with lib/config, convert, emit
// YAML): a typical config and a large one (1000 pools, 100 peers, 100 aliases, ~200 KiB).
// Reference, same run: `metallbctl validate` of the same text (validateText), so the ratio is
// what migrating costs on top of validating. Memory: heap growth while holding the result.
import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import yaml from 'js-yaml';
import { validateText } from '../lib/config/validate-command.js';
import { migrateText } from '../lib/migrate/index.js';
import { FigureLog } from './lib/figures.js';
import { SPEC_X1 } from '../test/support/spec-examples.js';

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
