// npm run bench -- allocator [--quick]
//
// Figures for lib/allocator: assignments per second, p50/p99 per operation, bytes per
// assignment and flatness of the cost from 1k to 100k assignments, for
//   v4-/14-100k      100,000 allocations in one IPv4 /14
//   v6-/64-100k      the same in an IPv6 /64
//   churn-10pct      10% random releases and re-allocations on top of the /14 case
//   pools-1000x/24   100,000 allocations over 1,000 auto-assign pools of one /24 each
//   setconfig-100k   re-adopting a config with 100,000 allocations (one event-loop stall)
// and against upstream MetalLB v0.12.1's allocator (go.universe.tf/metallb/internal/allocator),
// driven by bench/upstream/allocator/main.go in its own process in the same run, on
//   upstream-v4-/14-10k, upstream-v6-/64-10k, upstream-pools-1000x/24-50k and
//   upstream-v4-/14-100k (upstream stops at a wall-clock cap, --cap S, default 60 s: its first-free
//   scan makes the n-th allocation cost O(n), so 100k would take hours; its rate is then over the
//   allocations it made, the cheaper early ones, which flatters it).
// Ratio = ours / upstream in assignments per CPU-second (process CPU time, GC threads included, both
// sides), steadier than wall-clock on a loaded machine; wall-clock rates are reported as well.
// and, in the same process, the naive linear-scan reference (first free address by walking the
// pool, as upstream does) at 10k and 100k assignments. The reference is pre-filled with explicit
// assignments (cheap for it too) and then timed over a sample of allocations at that fill level,
// because letting it make all 100k allocations itself would take hours. Ratio = ours / reference.
// Addresses are values only; nothing is sent anywhere.

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Allocator, type AllocationRequest } from '../lib/allocator/index.js';
import { LinearScanAllocator } from '../test/support/reference-allocator.js';
import { parsePoolEntry, IPAddress, type Family } from '../lib/ip/index.js';
import type { AddressPool, Config } from '../lib/config/types.js';
import { FigureLog, quantile, median } from './lib/figures.js';
import { benchRef } from './lib/refs.js';
import { execFileSync } from 'node:child_process';

const quick = process.argv.includes('--quick');
const N = quick ? 20_000 : 100_000;
const gc = (globalThis as { gc?: () => void }).gc;

const log = new FigureLog('allocator');

function poolOf(name: string, addresses: string[]): AddressPool {
  const entries = addresses.map((t) => {
    const r = parsePoolEntry(t);
    if (!r.ok) throw new Error(r.reason);
    return r.entry;
  });
  return { name, protocol: 'layer2', entries, cidrs: entries.flatMap((e) => e.cidrs), autoAssign: true, avoidBuggyIPs: false, bgpAdvertisements: [] };
}

function configOf(pools: AddressPool[]): Config {
  return { peers: [], communities: new Map(), pools, bfdProfiles: [] };
}

/** One request per Service, as the controller would derive them (own objects per Service). */
function requests(n: number, family: 'ipv4' | 'ipv6'): AllocationRequest[] {
  const out: AllocationRequest[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      family: { ok: true, family },
      ports: [{ protocol: 'TCP', port: 80 + (i % 3) }],
      sharingKey: '',
      backendKey: '',
      requestedIPs: { ok: true, ips: [] },
      requestedPool: '',
    });
  }
  return out;
}

function keys(n: number, prefix = 'svc'): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`default/${prefix}-${i}`);
  return out;
}

const percentile = (sorted: Float64Array, p: number): number => quantile(sorted, p / 100);

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

interface RunFigures {
  opsPerSecond: number;
  opsPerCpuSecond: number;
  p50us: number;
  p99us: number;
  bytesPerAssignment: number;
  flatness: number;
  flatnessFrom10k: number;
  first1kUs: number;
  at10kUs: number;
  last1kUs: number;
}

/** Allocates n Services on a fresh Allocator: throughput run, memory, then a per-op timed run. */
function runFresh(config: Config, family: 'ipv4' | 'ipv6', n: number): RunFigures {
  const ks = keys(n);
  const reqs = requests(n, family);
  // throughput and memory
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const a = new Allocator();
  a.setConfig(config);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = a.allocate(ks[i], reqs[i]);
    if (!r.ok) throw new Error(`allocation ${i} failed: ${r.failure.message}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const cpuSeconds = (c1.user + c1.system) / 1e6;
  gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  if (a.size !== n) throw new Error('lost allocations');
  // per-operation latency, on a second fresh allocator
  const b = new Allocator();
  b.setConfig(config);
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    b.allocate(ks[i], reqs[i]);
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  const sorted = Float64Array.from(lat).sort();
  const first1k = median(lat.subarray(0, 1000));
  const at10k = median(lat.subarray(9000, 10000));
  const last1k = median(lat.subarray(n - 1000));
  return {
    opsPerSecond: n / seconds,
    opsPerCpuSecond: n / cpuSeconds,
    p50us: percentile(sorted, 50),
    p99us: percentile(sorted, 99),
    bytesPerAssignment: (heapAfter - heapBefore) / n,
    flatness: last1k / first1k,
    flatnessFrom10k: last1k / at10k,
    first1kUs: first1k,
    at10kUs: at10k,
    last1kUs: last1k,
  };
}

/**
 * The same per-operation timing for the least bookkeeping any allocator keyed by Service and by
 * address needs: two Map insertions and two small objects per assignment. Its cost grows from 1k
 * to 100k entries too (caches, not algorithms), which puts the allocator's flatness in context.
 */
function mapBaseline(n: number): { first1k: number; at10k: number; last1k: number } {
  const ks = keys(n);
  const byKey = new Map<string, { key: string; at: unknown }>();
  const byOffset = new Map<number, { offset: number; user: unknown }>();
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    if (!byKey.get(ks[i])) {
      const h = { key: ks[i], at: null as unknown };
      byKey.set(ks[i], h);
      const st = { offset: i, user: h };
      byOffset.set(i, st);
      h.at = st;
    }
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  return { first1k: median(lat.subarray(0, 1000)), at10k: median(lat.subarray(9000, 10000)), last1k: median(lat.subarray(n - 1000)) };
}

function reportBaseline(n: number): void {
  mapBaseline(n);
  const b = mapBaseline(n);
  const name = `map-baseline-${n / 1000}k`;
  log.add(
    { case: name, metric: 'cost_last1k_over_first1k', value: Number((b.last1k / b.first1k).toFixed(3)), unit: 'ratio' },
    `${name}: two bare Map insertions per op: median cost of the last 1k / first 1k = ${fmt(b.last1k / b.first1k, 2)} (${fmt(b.first1k, 2)} µs → ${fmt(b.last1k, 2)} µs), last 1k / 10th 1k = ${fmt(b.last1k / b.at10k, 2)}`,
  );
}

function reportRun(name: string, r: RunFigures): void {
  log.add({ case: name, metric: 'assign_per_s', value: Math.round(r.opsPerSecond), unit: '1/s' }, `${name}: ${fmt(r.opsPerSecond)} assignments/s (wall clock)`);
  log.add(
    { case: name, metric: 'assign_per_cpu_s', value: Math.round(r.opsPerCpuSecond), unit: '1/s' },
    `${name}: ${fmt(r.opsPerCpuSecond)} assignments per CPU-second (process CPU time incl. GC threads; steadier on a busy machine)`,
  );
  log.add({ case: name, metric: 'assign_p50', value: r.p50us, unit: 'us' }, `${name}: p50 ${fmt(r.p50us, 2)} µs per assignment`);
  log.add({ case: name, metric: 'assign_p99', value: r.p99us, unit: 'us' }, `${name}: p99 ${fmt(r.p99us, 2)} µs per assignment`);
  log.add(
    { case: name, metric: 'bytes_per_assignment', value: Math.round(r.bytesPerAssignment), unit: 'B' },
    `${name}: ${fmt(r.bytesPerAssignment)} bytes of heap per assignment (allocator state; keys and requests created before)`,
  );
  log.add(
    { case: name, metric: 'cost_last1k_over_first1k', value: Number(r.flatness.toFixed(3)), unit: 'ratio' },
    `${name}: median cost of the last 1k assignments / first 1k = ${fmt(r.flatness, 2)} (${fmt(r.first1kUs, 2)} µs → ${fmt(r.last1kUs, 2)} µs)`,
  );
  log.add(
    { case: name, metric: 'cost_last1k_over_10k', value: Number(r.flatnessFrom10k.toFixed(3)), unit: 'ratio' },
    `${name}: median cost of the last 1k assignments / the 10th 1k = ${fmt(r.flatnessFrom10k, 2)} (${fmt(r.at10kUs, 2)} µs → ${fmt(r.last1kUs, 2)} µs)`,
  );
}

/**
 * Ops/s of allocate() at a fill level: pre-fill with explicit assignments of the first `fill`
 * addresses, then time `sample` allocations (each released again so the fill level stays).
 */
function allocRateAtFill(make: () => Allocator | LinearScanAllocator, config: Config, family: Family, fill: number, sample: number): number {
  const a = make();
  a.setConfig(config);
  const base = config.pools[0].cidrs[0].network.value;
  const req = requests(1, family === 4 ? 'ipv4' : 'ipv6')[0];
  for (let i = 0; i < fill; i++) {
    const r = a.assign(`default/fill-${i}`, req, [IPAddress.of(family, base + BigInt(i))]);
    if (!r.ok) throw new Error(r.failure.message);
  }
  const sk = keys(sample, 'sample');
  const expected = IPAddress.of(family, base + BigInt(fill)).toString();
  // CPU time of this process: both sides measured the same way, steadier on a busy machine
  const c0 = process.cpuUsage();
  for (let i = 0; i < sample; i++) {
    const r = a.allocate(sk[i], req);
    if (!r.ok) throw new Error(r.failure.message);
    a.release(sk[i]);
  }
  const c1 = process.cpuUsage(c0);
  const seconds = (c1.user + c1.system) / 1e6;
  // the allocation made at this fill level is the first address after the filled ones
  const check = a.allocate('default/check', req);
  if (!check.ok || String(check.ips[0]) !== expected) throw new Error(`unexpected address ${check.ok ? check.ips[0] : check.failure.message}`);
  return sample / seconds;
}

function compareWithReference(name: string, config: Config, family: Family): void {
  allocRateAtFill(() => new Allocator(), config, family, 10_000, 20_000); // warm-up
  for (const fill of quick ? [10_000] : [10_000, 100_000]) {
    const refSample = fill >= 100_000 ? 30 : 300;
    const ref = allocRateAtFill(() => new LinearScanAllocator(), config, family, fill, refSample);
    const ours = allocRateAtFill(() => new Allocator(), config, family, fill, 100_000);
    const label = `${name}-at-${fill / 1000}k`;
    log.add(
      { case: label, metric: 'allocate_release_per_cpu_s', value: Math.round(ours), unit: '1/s', reference: Math.round(ref), ratio: Math.round(ours / ref) },
      `${label}: ${fmt(ours)} allocate+release per CPU-second at ${fmt(fill)} in use vs linear-scan reference ${fmt(ref, 1)} → ${fmt(ours / ref)}x`,
    );
  }
}

function churn(config: Config, n: number): void {
  const a = new Allocator();
  a.setConfig(config);
  const ks = keys(n);
  const reqs = requests(n, 'ipv4');
  for (let i = 0; i < n; i++) a.allocate(ks[i], reqs[i]);
  // deterministic pseudo-random 10% of the keys
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const victims: number[] = [];
  const chosen = new Set<number>();
  while (victims.length < n / 10) {
    const v = Math.floor(rnd() * n);
    if (!chosen.has(v)) {
      chosen.add(v);
      victims.push(v);
    }
  }
  const relLat = new Float64Array(victims.length);
  const allocLat = new Float64Array(victims.length);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  victims.forEach((v, i) => {
    let s = process.hrtime.bigint();
    a.release(ks[v]);
    relLat[i] = Number(process.hrtime.bigint() - s) / 1000;
    s = process.hrtime.bigint();
    const r = a.allocate(ks[v], reqs[v]);
    allocLat[i] = Number(process.hrtime.bigint() - s) / 1000;
    if (!r.ok) throw new Error(r.failure.message);
  });
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const name = 'churn-10pct';
  log.add(
    { case: name, metric: 'release_and_assign_per_cpu_s', value: Math.round(victims.length / cpuSecs), unit: '1/s' },
    `${name}: ${fmt(victims.length / cpuSecs)} release+re-assign pairs per CPU-second`,
  );
  log.add({ case: name, metric: 'release_and_assign_per_s', value: Math.round(victims.length / secs), unit: '1/s' }, `${name}: ${fmt(victims.length / secs)} release+re-assign pairs/s (${victims.length} random releases on ${fmt(n)})`);
  const rs = relLat.sort(), as = allocLat.sort();
  log.add({ case: name, metric: 'release_p50', value: percentile(rs, 50), unit: 'us' }, `${name}: release p50 ${fmt(percentile(rs, 50), 2)} µs`);
  log.add({ case: name, metric: 'release_p99', value: percentile(rs, 99), unit: 'us' }, `${name}: release p99 ${fmt(percentile(rs, 99), 2)} µs`);
  log.add({ case: name, metric: 'assign_p50', value: percentile(as, 50), unit: 'us' }, `${name}: re-assign p50 ${fmt(percentile(as, 50), 2)} µs`);
  log.add({ case: name, metric: 'assign_p99', value: percentile(as, 99), unit: 'us' }, `${name}: re-assign p99 ${fmt(percentile(as, 99), 2)} µs`);
  // setConfig with n allocations: one synchronous stall of the event loop
  const same = configOf(config.pools.map((p) => ({ ...p, name: `${p.name}-renamed` })));
  const s = performance.now();
  const v = a.setConfig(same);
  const ms = performance.now() - s;
  if (!v.ok) throw new Error(v.message);
  log.add(
    { case: `setconfig-${n / 1000}k`, metric: 'setconfig_ms', value: Number(ms.toFixed(1)), unit: 'ms' },
    `setconfig-${n / 1000}k: adopting a config that renames the pool (spaces kept) with ${fmt(n)} allocations takes ${fmt(ms, 1)} ms`,
  );
  // a config whose CIDR list changes at the front: every in-use address is re-located
  const moved = configOf([poolOf('moved', ['192.0.2.0/24', ...config.pools[0].entries.map((e) => e.text)])]);
  const s2 = performance.now();
  const v2 = a.setConfig(moved);
  const ms2 = performance.now() - s2;
  if (!v2.ok) throw new Error(v2.message);
  log.add(
    { case: `setconfig-moved-${n / 1000}k`, metric: 'setconfig_ms', value: Number(ms2.toFixed(1)), unit: 'ms' },
    `setconfig-moved-${n / 1000}k: adopting a config that re-lays the pool out (every address re-located) with ${fmt(n)} allocations takes ${fmt(ms2, 1)} ms`,
  );
}

interface UpstreamRun {
  allocated: number;
  capped: boolean;
  wall_s: number;
  cpu_s: number;
  assign_per_s: number;
  assign_per_cpu_s: number;
  p50_us: number;
  p99_us: number;
  heap_bytes_per_assignment: number;
  max_rss_kib: number;
  go: string;
}

function compareWithUpstream(bin: string, name: string, goCase: string, config: Config, family: 'ipv4' | 'ipv6', n: number, capS: number): void {
  const ours = runFresh(config, family, n);
  const up = JSON.parse(execFileSync(bin, ['-case', goCase, '-n', String(n), '-cap', `${capS}s`], { encoding: 'utf8', maxBuffer: 1 << 20 })) as UpstreamRun;
  const label = `upstream-${name}`;
  const ratio = ours.opsPerCpuSecond / up.assign_per_cpu_s;
  const done = up.capped ? `${fmt(up.allocated)} of ${fmt(n)} in the ${capS} s cap` : `all ${fmt(n)}`;
  const impl = `metallb-v0.12.1-allocator (${up.go})`;
  log.add(
    {
      case: label, metric: 'assign_per_cpu_s', value: Math.round(ours.opsPerCpuSecond), unit: '1/s', reference: Math.round(up.assign_per_cpu_s), ratio: Number(ratio.toFixed(1)),
      reference_impl: impl, reference_kind: 'measured', note: `upstream made ${done}`, readme: `${name}: assignments per CPU-second`,
    },
    `${label}: ours ${fmt(ours.opsPerCpuSecond)} assignments per CPU-second vs upstream ${fmt(up.assign_per_cpu_s)} (${done}) → ${fmt(ratio, 1)}x`,
  );
  log.add(
    { case: label, metric: 'assign_per_s', value: Math.round(ours.opsPerSecond), unit: '1/s', reference: Math.round(up.assign_per_s), ratio: Number((ours.opsPerSecond / up.assign_per_s).toFixed(1)), reference_impl: impl, reference_kind: 'measured' },
    `${label}: wall clock ours ${fmt(ours.opsPerSecond)}/s vs upstream ${fmt(up.assign_per_s)}/s`,
  );
  log.add(
    { case: label, metric: 'assign_p99', value: Number(ours.p99us.toFixed(2)), unit: 'us', reference: Number(up.p99_us.toFixed(2)), ratio: Number((ours.p99us / up.p99_us).toFixed(4)), reference_impl: impl, reference_kind: 'measured', readme: `${name}: p99 per assignment (µs)` },
    `${label}: p50/p99 per assignment ours ${fmt(ours.p50us, 2)}/${fmt(ours.p99us, 2)} µs vs upstream ${fmt(up.p50_us, 1)}/${fmt(up.p99_us, 1)} µs`,
  );
  log.add(
    { case: label, metric: 'bytes_per_assignment', value: Math.round(ours.bytesPerAssignment), unit: 'B', reference: Math.round(up.heap_bytes_per_assignment), ratio: Number((ours.bytesPerAssignment / up.heap_bytes_per_assignment).toFixed(2)), reference_impl: impl, reference_kind: 'measured', readme: `${name}: heap bytes per assignment` },
    `${label}: heap per assignment ours ${fmt(ours.bytesPerAssignment)} B vs upstream ${fmt(up.heap_bytes_per_assignment)} B (Go heap after GC)`,
  );
}

function main(): void {
  if (!gc) console.log('(run with --expose-gc for memory figures; npm run bench does)');
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (wall-clock figures suffer when it is busy; ratios less so)`);
  const v4 = configOf([poolOf('v4', ['10.0.0.0/14'])]);
  const v6 = configOf([poolOf('v6', ['2001:db8::/64'])]);
  const pools: AddressPool[] = [];
  for (let i = 0; i < 1000; i++) pools.push(poolOf(`p${i}`, [`10.${Math.floor(i / 256)}.${i % 256}.0/24`]));
  const many = configOf(pools);

  // warm-up (JIT) on a throwaway run
  runFresh(v4, 'ipv4', 20_000);
  reportBaseline(N);
  reportRun(`v4-/14-${N / 1000}k`, runFresh(v4, 'ipv4', N));
  reportRun(`v6-/64-${N / 1000}k`, runFresh(v6, 'ipv6', N));
  reportRun(`pools-1000x/24-${N / 1000}k`, runFresh(many, 'ipv4', N));
  churn(v4, N);
  compareWithReference('v4-/14', v4, 4);
  compareWithReference('v6-/64', v6, 6);
  const capAt = process.argv.indexOf('--cap');
  const capS = capAt >= 0 ? Number(process.argv[capAt + 1]) : quick ? 10 : 60;
  const up = benchRef('allocbench');
  const small = quick ? 2_000 : 10_000;
  compareWithUpstream(up, `v4-/14-${small / 1000}k`, 'v4-14', v4, 'ipv4', small, capS);
  compareWithUpstream(up, `v6-/64-${small / 1000}k`, 'v6-64', v6, 'ipv6', small, capS);
  compareWithUpstream(up, `pools-1000x/24-${(quick ? 10_000 : 50_000) / 1000}k`, 'pools-1000x24', many, 'ipv4', quick ? 10_000 : 50_000, capS);
  compareWithUpstream(up, `v4-/14-${N / 1000}k`, 'v4-14', v4, 'ipv4', N, capS);
  log.printJSON();
}

main();
