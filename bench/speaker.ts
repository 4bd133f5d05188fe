// npm run bench -- speaker
// Speaker decision core: per-Service decision cost, a full reprocess (config change) spread over
// event-loop turns with its event-loop delay p99, and a memberlist change handled incrementally
// versus upstream's "reprocess every Service" (the reference, same run).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { setImmediate as turn } from 'node:timers/promises';
import { IPAddress, mustParseIP, parsePoolEntry } from '../lib/ip/index.js';
import type { AddressPool, Config, Protocol } from '../lib/config/types.js';
import { readinessFromEndpoints, type EndpointReadiness } from '../lib/speaker/endpoints.js';
import { SpeakerState } from '../lib/speaker/state.js';
import { electionWinner } from '../lib/speaker/election.js';
import type { ServiceLike } from '../lib/speaker/decide.js';
import { FigureLog } from './lib/figures.js';

const log = new FigureLog('speaker');

function mkPool(name: string, protocol: Protocol, cidr: string, aggregationLength = 32): AddressPool {
  const r = parsePoolEntry(cidr);
  if (!r.ok) throw new Error(r.reason);
  return {
    name,
    protocol,
    entries: [r.entry],
    cidrs: [...r.entry.cidrs],
    autoAssign: true,
    avoidBuggyIPs: false,
    bgpAdvertisements: protocol === 'bgp' ? [{ aggregationLength, aggregationLengthV6: 128, localPref: 100, communities: [4294967041] }] : [],
  };
}
const config: Config = {
  peers: [],
  communities: new Map(),
  pools: [mkPool('l2', 'layer2', '10.0.0.0/16'), mkPool('bgp', 'bgp', '10.1.0.0/16', 24)],
  bfdProfiles: [],
};

const SERVICES = 10_000;
const SLICE_MS = Number(process.env.SLICE_MS ?? 2);
const NODES = 100;
const nodes = Array.from({ length: NODES }, (_, i) => `node-${i}`);
const me = 'node-7';
const base = mustParseIP('10.0.0.0');
const bgpBase = mustParseIP('10.1.0.0');

function svc(ip: IPAddress, local: boolean): ServiceLike {
  return { spec: { type: 'LoadBalancer', externalTrafficPolicy: local ? 'Local' : 'Cluster' }, status: { loadBalancer: { ingress: [{ ip: ip.toString() }] } } };
}
function eps(i: number): EndpointReadiness {
  return readinessFromEndpoints({ subsets: [{ addresses: [0, 1, 2].map((k) => ({ ip: `10.244.${k}.${i % 250}`, nodeName: nodes[(i * 7 + k * 31) % NODES] })) }] });
}

/** 10k Services: 80% layer2 (a quarter of them Local), 20% bgp. */
function populate(s: SpeakerState): string[] {
  const keys: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const key = `ns/svc-${i}`;
    const isBGP = i % 5 === 0;
    const ip = isBGP ? bgpBase.add(BigInt(i)) : base.add(BigInt(i));
    s.updateService(key, svc(ip, i % 4 === 1));
    s.updateEndpoints(key, eps(i));
    keys.push(key);
  }
  return keys;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function main(): Promise<void> {
  console.log(`machine load average (1 min): ${loadavg()[0].toFixed(1)} on ${cpus().length} cores; figures are CPU time unless marked wall`);
  const caseName = `${SERVICES}svc-${NODES}nodes`;
  // 1. first sight of 10k Services (each new layer2 Cluster IP costs one election: 100 SHA-256)
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const s = new SpeakerState({ nodeName: me, usableSpeakers: new Set(nodes) });
  s.setConfig(config);
  let c0 = cpuMs();
  const keys = populate(s);
  let ms = cpuMs() - c0;
  if (gc) {
    gc();
    const perService = (process.memoryUsage().heapUsed - heap0) / SERVICES;
    log.add(
      { case: caseName, metric: 'heap_bytes_per_service', value: Math.round(perService), unit: 'B' },
      `heap per Service held by the state (Service object, endpoint summary, indexes): ${Math.round(perService)} B`,
    );
  }
  log.add(
    { case: caseName, metric: 'first_update_cpu_us', value: Number(((ms / (2 * SERVICES)) * 1000).toFixed(1)), unit: 'us' },
    `Service+Endpoints first seen (${SERVICES} Services, ${NODES} nodes, 80% layer2): ${((ms / (2 * SERVICES)) * 1000).toFixed(1)} us CPU per update`,
  );

  // 2. config change: full reprocess spread over turns of at most SLICE_MS; event-loop delay p99
  //    (wall), with the same loop doing no work for as long as the reference (machine noise)
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  const idleEnd = performance.now() + 1500;
  while (performance.now() < idleEnd) await turn();
  idle.disable();
  const idleP99 = idle.percentile(99) / 1e6;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const o = s.setConfig({ ...config });
  if (o.status !== 'adopted') throw new Error('config refused');
  c0 = cpuMs();
  let i = 0;
  while (i < o.reprocess.length) {
    const sliceStart = performance.now();
    while (i < o.reprocess.length && performance.now() - sliceStart < SLICE_MS) s.reconcile(o.reprocess[i++]);
    await turn();
  }
  ms = cpuMs() - c0;
  h.disable();
  const p99 = h.percentile(99) / 1e6;
  log.add(
    { case: caseName, metric: 'full_reprocess_cpu_ms', value: Math.round(ms), unit: 'ms' },
    `full reprocess after a config change: ${ms.toFixed(0)} ms CPU (${((ms / SERVICES) * 1000).toFixed(1)} us per Service)`,
  );
  log.add(
    { case: caseName, metric: 'full_reprocess_eventloop_p99_ms', value: Number(p99.toFixed(2)), unit: 'ms', reference: Number(idleP99.toFixed(2)), ratio: Number((p99 / idleP99).toFixed(2)) },
    `event-loop delay p99 (wall) during that reprocess in ${SLICE_MS} ms slices: ${p99.toFixed(2)} ms (target < 20 ms) vs ${idleP99.toFixed(2)} ms for an idle loop in the same run`,
  );

  // 3. memberlist: a node leaves and comes back. Incremental (affected Services only) versus the
  //    reference: what upstream does on every membership event, re-running the election of every
  //    layer2 Service (counted here as one linear election per Service, a lower bound: upstream sorts).
  const victim = nodes[3];
  const without = new Set(nodes.filter((n) => n !== victim));
  c0 = cpuMs();
  const left = s.setUsableSpeakers(without);
  for (const k of left) s.reconcile(k);
  const leaveMs = cpuMs() - c0;
  c0 = cpuMs();
  const back = s.setUsableSpeakers(new Set(nodes));
  for (const k of back) s.reconcile(k);
  const joinMs = cpuMs() - c0;
  c0 = cpuMs();
  for (let j = 0; j < SERVICES; j++) if (j % 5 !== 0) electionWinner(without, base.add(BigInt(j)).toString());
  const refMs = cpuMs() - c0;
  log.add(
    { case: caseName, metric: 'member_leave_cpu_ms', value: Number(leaveMs.toFixed(2)), unit: 'ms', reference: Number(refMs.toFixed(1)), ratio: Number((refMs / leaveMs).toFixed(1)) },
    `node leaves: ${leaveMs.toFixed(1)} ms CPU (${left.length} Services re-decided) vs reference re-election of all ${refMs.toFixed(0)} ms: ${(refMs / leaveMs).toFixed(1)}x`,
  );
  log.add(
    { case: caseName, metric: 'member_join_cpu_ms', value: Number(joinMs.toFixed(2)), unit: 'ms', reference: Number(refMs.toFixed(1)), ratio: Number((refMs / joinMs).toFixed(1)) },
    `node joins: ${joinMs.toFixed(1)} ms CPU (one SHA-256 per layer2 address; ${back.length} Services re-decided) vs reference ${refMs.toFixed(0)} ms: ${(refMs / joinMs).toFixed(1)}x`,
  );
  // the incremental result must equal a fresh computation
  const fresh = new SpeakerState({ nodeName: me, usableSpeakers: new Set(nodes) });
  fresh.setConfig(config);
  populate(fresh);
  let disagree = 0;
  for (const k of keys) if ((s.announced(k) === undefined) !== (fresh.announced(k) === undefined)) disagree++;
  if (disagree) throw new Error(`incremental and fresh state disagree on ${disagree} Services`);

  // 4. one Endpoints change re-decides one Service (readiness summary included)
  const N = 20_000;
  c0 = cpuMs();
  for (let j = 0; j < N; j++) s.updateEndpoints(keys[j % SERVICES], eps(j + 1));
  ms = cpuMs() - c0;
  log.add(
    { case: caseName, metric: 'endpoint_update_cpu_us', value: Number(((ms / N) * 1000).toFixed(2)), unit: 'us' },
    `one Endpoints change (summary + decision + effects): ${((ms / N) * 1000).toFixed(1)} us CPU`,
  );
  let announced = 0;
  for (const k of keys) if (s.announced(k)) announced++;
  console.log(`(this node announces ${announced} of ${SERVICES} Services; ${s.routes.size} BGP prefixes)`);
  log.printJSON();
}

await main();
