// npm run bench -- failover [--trials N] [--quick] [--only failover|create]
//
// Figures for the speaker end to end, on the e2e test network of test/e2e/speaker/env.ts:
// a real kube-apiserver, the real controller, three speakers in node namespaces, FRR, a client.
//   failover-<profile>        layer 2: SIGKILL of the announcing speaker until the client's kernel
//                             neighbour entry for the address points at the new owner (the client
//                             never asks: only the new owner's gratuitous ARP can do it). Observed
//                             with `ip monitor neigh` in the client namespace. Median and p95 over
//                             N kills (default 10), memberlist timers 'lan' (upstream defaults) and
//                             'fast'. The killed speaker is restarted between kills.
//   create-to-arp             Service created (with a ready endpoint) until the client's first ARP
//                             reply (arping every 50 ms). Includes the controller's assignment.
//   create-to-frr-route       Service created until FRR's bgpd holds the /32 via all three nodes.
// Times are wall-clock in this process; no assertions.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { mustParseIP } from '../lib/ip/index.js';
import { electionKeyForIPs, electionWinner } from '../lib/speaker/election.js';
import { fileURLToPath } from 'node:url';
import { CLIENT_IP, CLIENT_MAC, NODE_IP, NODE_MAC, NODE_NAMES, ROUTER_IP, ASN, SpeakerCluster, waitFor, type NodeName } from '../test/e2e/speaker/env.js';
import { FigureLog, quantile, sorted, trialOptions } from './lib/figures.js';

const ARP_PROBE = fileURLToPath(new URL('../test/e2e/speaker/arp-probe.js', import.meta.url));

const { trials: TRIALS, only: ONLY } = trialOptions();
const NS_APP = 'bench';

const CONFIG = `peers:
- peer-address: ${ROUTER_IP}
  peer-asn: ${ASN}
  my-asn: ${ASN}
address-pools:
- name: lan
  protocol: layer2
  addresses:
  - 198.51.100.200-198.51.100.239
- name: routed
  protocol: bgp
  addresses:
  - 203.0.113.0/26
`;

const log = new FigureLog('failover');

/** Median and p95; with `reference` samples (measured in the same trials) also their median and the ratio. */
function report(caseName: string, samples: number[], what: string, reference?: number[]): void {
  const s = sorted(samples);
  const median = quantile(s, 0.5);
  const p95 = quantile(s, 0.95);
  const refMedian = reference ? quantile(sorted(reference), 0.5) : undefined;
  const refText = refMedian !== undefined ? ` (failure detection alone: median ${refMedian.toFixed(0)} ms, ratio ${(median / refMedian).toFixed(2)})` : '';
  console.log(`${caseName}: ${what}: median ${median.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms, min ${s[0]?.toFixed(0)} ms, max ${s[s.length - 1]?.toFixed(0)} ms over ${s.length} trials${refText}`);
  const ref = refMedian !== undefined ? { reference: Math.round(refMedian), ratio: Number((median / refMedian).toFixed(3)) } : {};
  log.add({ case: caseName, metric: 'median_ms', value: Math.round(median), unit: 'ms', ...ref });
  log.add({ case: caseName, metric: 'p95_ms', value: Math.round(p95), unit: 'ms' });
}

function winner(ip: string, nodes: readonly NodeName[]): NodeName {
  return electionWinner(nodes, electionKeyForIPs([mustParseIP(ip)])) as NodeName;
}

/** Watches the client's neighbour table; resolves with the time the entry for ip shows `mac`. */
function watchNeighbour(c: SpeakerCluster, ip: string, mac: string): { seen: Promise<number>; stop: () => void } {
  const child = spawn('ip', ['netns', 'exec', c.net.host('client').netns, 'ip', '-4', 'monitor', 'neigh'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const seen = new Promise<number>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(`${ip} `) && line.includes(`lladdr ${mac}`)) resolve(Date.now());
    });
  });
  return { seen, stop: () => child.kill('SIGKILL') };
}

async function startCluster(profile: 'lan' | 'fast'): Promise<SpeakerCluster> {
  const c = await SpeakerCluster.start({ memberlistTimers: profile, logLevel: 'info' });
  await c.applyConfig(CONFIG);
  for (const n of NODE_NAMES) await c.startSpeaker(n);
  await c.waitForMembers(NODE_NAMES, 180_000);
  await c.ensureNamespace(NS_APP);
  return c;
}

async function failover(profile: 'lan' | 'fast'): Promise<void> {
  console.log(`layer 2 failover, memberlist timers '${profile}', ${TRIALS} kills`);
  const c = await startCluster(profile);
  try {
    await c.applyService(NS_APP, 'web', { pool: 'lan' });
    await c.applyEndpoints(NS_APP, 'web', [{ node: 'node1', ready: true, ip: '203.0.113.201' }]);
    const ip = await c.waitForIngress(NS_APP, 'web');
    const samples: number[] = [];
    const detections: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const owner = winner(ip, NODE_NAMES);
      await waitFor(`${owner} answers`, async () => ((await c.arping(ip, 1)).includes(NODE_MAC[owner]) ? true : undefined), 60_000);
      await c.resolveFromClient(ip);
      await waitFor('client entry on the owner', async () => ((await c.neighbourMac(ip)) === NODE_MAC[owner] ? true : undefined), 30_000);
      await sleep(6000); // the owner's gratuitous window is over
      const rest = NODE_NAMES.filter((n) => n !== owner);
      const next = winner(ip, rest);
      const watch = watchNeighbour(c, ip, NODE_MAC[next]);
      await sleep(200); // ip monitor is listening
      const t0 = Date.now();
      c.speaker(owner).child.kill('SIGKILL');
      const t1 = await Promise.race([watch.seen, sleep(120_000).then(() => NaN)]);
      watch.stop();
      const ms = t1 - t0;
      // the new owner's own log: when gossip declared the killed node gone
      const left = await waitFor('leave logged', () => c.speaker(next).find((l) => l.op === 'memberDiscovery' && l.event === 'leave' && l.node === owner && Date.parse(String(l.time)) >= t0), 30_000).catch(() => undefined);
      const detect = left ? Date.parse(String(left.time)) - t0 : NaN;
      console.log(`  kill ${i + 1}/${TRIALS}: ${owner} -> ${next}: ${ms} ms (gossip declared ${owner} gone after ${detect} ms)`);
      if (Number.isFinite(ms)) samples.push(ms);
      if (Number.isFinite(detect)) detections.push(detect);
      await c.speaker(owner).exited;
      await c.startSpeaker(owner);
      await c.waitForMembers(NODE_NAMES, 180_000);
    }
    report(`failover-${profile}`, samples, 'kill of the announcing speaker until the client neighbour entry points at the new node', detections);
    report(`failure-detection-${profile}`, detections, 'kill until the new owner\'s memberlist declared the old one gone (part of the above)');
    await c.deleteService(NS_APP, 'web');
  } finally {
    await c.destroy();
  }
}

async function creation(): Promise<void> {
  console.log(`Service creation to first ARP reply / FRR route, ${TRIALS} Services each`);
  const c = await startCluster('lan');
  try {
    await waitFor('FRR sessions with all three speakers', () => (c.establishedPeers().length === 3 ? true : undefined), 120_000);
    const arp: number[] = [];
    const route: number[] = [];
    const all = NODE_NAMES.map((n) => NODE_IP[n]).sort().join(',');
    for (let i = 0; i < TRIALS; i++) {
      // layer 2: an ARP request every 50 ms from the client (test/e2e/speaker/arp-probe.ts),
      // started before the Service exists; the address is requested with spec.loadBalancerIP
      const name = `l2-${i}`;
      const want = `198.51.100.${220 + i}`;
      const probe = spawn('ip', ['netns', 'exec', c.net.host('client').netns, process.execPath, ARP_PROBE, want, CLIENT_IP, CLIENT_MAC], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = createInterface({ input: probe.stdout });
      const replied = new Promise<number>((resolve) => {
        lines.on('line', (l) => {
          const msg = JSON.parse(l) as { event: string; epochMs?: number };
          if (msg.event === 'reply') resolve(msg.epochMs ?? NaN);
        });
        probe.on('exit', () => resolve(NaN));
      });
      await new Promise<void>((resolve) => lines.once('line', () => resolve()));
      const t0 = Date.now();
      await c.applyEndpoints(NS_APP, name, [{ node: 'node2', ready: true, ip: '203.0.113.202' }]);
      await c.applyService(NS_APP, name, { pool: 'lan', loadBalancerIP: want });
      const t1 = await Promise.race([replied, sleep(60_000).then(() => NaN)]);
      probe.kill('SIGKILL');
      console.log(`  ${name}: first ARP reply for ${want} after ${t1 - t0} ms`);
      if (Number.isFinite(t1)) arp.push(t1 - t0);

      const rname = `bgp-${i}`;
      const r0 = Date.now();
      await c.applyEndpoints(NS_APP, rname, [{ node: 'node2', ready: true, ip: '203.0.113.203' }]);
      await c.applyService(NS_APP, rname, { pool: 'routed' });
      const rip = await c.waitForIngress(NS_APP, rname);
      const r1 = await waitFor(`${rip}/32 in FRR`, () => (c.routePaths(`${rip}/32`).nextHops.join(',') === all ? Date.now() : undefined), 60_000);
      console.log(`  ${rname}: FRR holds ${rip}/32 via all nodes after ${r1 - r0} ms`);
      route.push(r1 - r0);
    }
    report('create-to-arp', arp, 'Service created until the first ARP reply');
    report('create-to-frr-route', route, 'Service created until FRR holds the route via every node');
  } finally {
    await c.destroy();
  }
}

async function main(): Promise<void> {
  if (!ONLY || ONLY === 'create') await creation();
  if (!ONLY || ONLY === 'failover') {
    await failover('lan');
    await failover('fast');
  }
  log.printJSON();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
