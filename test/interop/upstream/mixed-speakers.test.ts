// Mixed cluster: our speakers and upstream MetalLB v0.12.1's speaker side by side, on the speaker
// e2e tier's machinery (test/e2e/speaker/env.ts: real kube-apiserver + etcd, our controller, node
// namespaces node1..node3 on one LAN with IPv4 and IPv6, FRR's bgpd as the router, each speaker a
// process in its node's namespace with the speaker ServiceAccount's token). One memberlist Secret,
// one config.
//
//  1. layer2: node2 runs upstream's speaker, node1 and node3 ours. Every member sees the others;
//     for 12 IPv4 and 3 IPv6 Services exactly one node answers ARP/NDP, the node the election
//     (docs/behaviour/layer2.md#which-node-announces) picks; kill -9 of an upstream leader and of one of our leaders moves ownership,
//     the client learns it by gratuitous ARP (IPv6: the new owner answers NDP); a restart takes it back.
//  2. BGP parity: the same config (communities, local-pref on iBGP, aggregation-length,
//     node-selectors, Local policy) announced once by our speakers on all three nodes and once by
//     upstream's: FRR's view of every prefix (paths, next hops, attributes) is the same.
//
// Upstream v0.12.1 reads discovery/v1beta1 EndpointSlices, which this API server (v1.33) no longer
// serves, so it falls back to core/v1 Endpoints; every Service gets both an EndpointSlice (ours
// reads those) and an Endpoints object with the same endpoints, as the real controllers keep both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseIP } from '../../../lib/ip/index.js';
import { electionKeyForIPs, electionWinner } from '../../../lib/speaker/election.js';
import { NODE_IP, NODE_MAC, NODE_NAMES, ROUTER_IP, ASN, SpeakerCluster, v6Of, waitFor, type NodeName, type SpeakerProcess } from '../../e2e/speaker/env.js';
import { upstreamBinary } from './upstream.js';

const APP = 'mixed';
const UPSTREAM_NODE: NodeName = 'node2';
type Impl = 'ours' | 'upstream';

const L2_CONFIG = `address-pools:
- name: lan
  protocol: layer2
  addresses:
  - 198.51.100.200-198.51.100.219
- name: lan6
  protocol: layer2
  auto-assign: false
  addresses:
  - ${v6Of('198.51.100.0')}200/124
`;

function bgpConfig(): string {
  return `peers:
- peer-address: ${ROUTER_IP}
  peer-asn: ${ASN}
  my-asn: ${ASN}
  node-selectors:
  - match-labels:
      bgp: "yes"
bgp-communities:
  tenant: 64512:100
address-pools:
- name: routed
  protocol: bgp
  addresses:
  - 203.0.113.0/28
  bgp-advertisements:
  - localpref: 150
    communities:
    - tenant
    - 64512:200
  - aggregation-length: 30
    localpref: 120
    communities:
    - 64512:300
- name: plain
  protocol: bgp
  addresses:
  - 203.0.113.64/28
`;
}

let c: SpeakerCluster;
const kind = new Map<NodeName, Impl>();

async function startSpeaker(node: NodeName, impl: Impl): Promise<SpeakerProcess> {
  kind.set(node, impl);
  if (impl === 'ours') return c.startSpeaker(node);
  return c.startSpeaker(node, [], { file: upstreamBinary('speaker'), args: ['--port=7472', '--config=config', '--log-level=debug'] });
}

/** The memberlist view of a speaker: ours logs it; upstream's from its "node event" lines. */
function members(node: NodeName): string[] | undefined {
  const sp = c.speaker(node);
  if (kind.get(node) === 'ours') return sp.members()?.slice().sort();
  const set = new Set<string>();
  let any = false;
  for (const l of sp.lines) {
    if (l.msg !== 'node event - forcing sync') continue;
    any = true;
    const name = String(l['node name']);
    if (l['node event'] === 'NodeLeave') set.delete(name);
    else set.add(name);
  }
  return any ? [...set].sort() : undefined;
}

async function waitForMembers(nodes: readonly NodeName[]): Promise<void> {
  const want = [...nodes].sort().join(',');
  await waitFor(`every member sees ${want}`, () => (nodes.every((n) => c.speaker(n).running && members(n)?.join(',') === want) ? true : undefined),
    90_000, () => `${nodes.map((n) => `${n} (${kind.get(n)}): ${JSON.stringify(members(n))}`).join('\n')}\n${c.describeSpeakers()}`);
}

function winner(ip: string, nodes: readonly NodeName[]): NodeName {
  const w = electionWinner(nodes, electionKeyForIPs([mustParseIP(ip)]));
  assert.ok(w);
  return w as NodeName;
}

async function applyService(name: string, opts: { pool?: string; local?: boolean; v6?: boolean; endpoints: readonly { node: NodeName; ready: boolean }[] }): Promise<void> {
  await c.apply({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: APP, annotations: opts.pool ? { 'metallb.universe.tf/address-pool': opts.pool } : {} },
    spec: {
      type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
      externalTrafficPolicy: opts.local ? 'Local' : 'Cluster',
      ...(opts.v6 ? { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' } : {}),
    },
  });
  const eps = opts.endpoints.map((e, i) => ({ node: e.node, ready: e.ready, ip: `203.0.113.${150 + i}` }));
  await c.applyEndpoints(APP, name, eps);
  await c.applyCoreEndpoints(APP, name, eps);
}

const macOf = (n: NodeName): string => NODE_MAC[n];
const nodeOfMac = (m: string): NodeName | undefined => NODE_NAMES.find((n) => NODE_MAC[n] === m);

async function ndiscMacs(ip: string): Promise<string[]> {
  const r = await c.execIn('client', 'ndisc6', ['-m', '-r', '2', '-w', '700', ip, 'eth0']);
  return [...r.stdout.matchAll(/Target link-layer address: ([0-9A-Fa-f:]{17})/g)].map((m) => m[1].toLowerCase());
}

async function neighbour6(ip: string): Promise<string | undefined> {
  const r = await c.execIn('client', 'ip', ['-6', 'neigh', 'show', ip, 'dev', 'eth0']);
  return /lladdr ([0-9a-f:]{17})/.exec(r.stdout)?.[1];
}

/** Every address answered (ARP or NDP) by exactly its elected node among `live`, and only that one. */
async function expectOwners(ips: readonly string[], live: readonly NodeName[]): Promise<void> {
  for (const ip of ips) {
    const owner = winner(ip, live);
    await waitFor(`${ip} answered by ${owner} (${kind.get(owner)}) only`, async () => {
      if (!ip.includes(':')) {
        const macs = await c.arping(ip, 2);
        return macs.length > 0 && macs.every((m) => m === macOf(owner)) ? true : undefined;
      }
      // IPv6: the client kernel's own resolution must reach the owner, and no other node may
      // answer a solicitation. (ndisc6 does not report upstream's advertisements, although
      // upstream logs sending them and the kernel accepts them; ours it reports.)
      await c.execIn('client', 'ip', ['-6', 'neigh', 'flush', 'dev', 'eth0', 'to', ip]);
      await c.execIn('client', 'ping', ['-6', '-c', '1', '-W', '1', ip]);
      const macs = await ndiscMacs(ip);
      const kernel = await neighbour6(ip);
      const oursAnswer = kind.get(owner) === 'ours' ? macs.length > 0 : true;
      return kernel === macOf(owner) && oursAnswer && macs.every((m) => m === macOf(owner)) ? true : undefined;
    }, 60_000, () => c.describeSpeakers());
  }
}

/** The client's neighbour entries for the addresses point at their owners among `live`. */
async function expectNeighbours(ips: readonly string[], live: readonly NodeName[], what: string): Promise<void> {
  for (const ip of ips) {
    const owner = winner(ip, live);
    await waitFor(`client neighbour entry for ${ip} -> ${owner} (${what})`, async () => {
      const mac = ip.includes(':') ? await neighbour6(ip) : await c.neighbourMac(ip);
      return mac === macOf(owner) ? true : undefined;
    }, 90_000, () => c.describeSpeakers());
  }
}

/** Fresh kernel neighbour entries on the client for the addresses (flushed, then resolved). */
async function resolveAll(ips: readonly string[]): Promise<void> {
  for (const ip of ips) {
    await c.execIn('client', 'ip', [ip.includes(':') ? '-6' : '-4', 'neigh', 'flush', 'dev', 'eth0', 'to', ip]);
    if (ip.includes(':')) await c.execIn('client', 'ping', ['-6', '-c', '1', '-W', '1', ip]);
    else await c.resolveFromClient(ip);
  }
}

before(async () => {
  c = await SpeakerCluster.start({ ipv6: true });
  await c.applyConfig(L2_CONFIG);
  await c.ensureNamespace(APP);
  for (const n of NODE_NAMES) await startSpeaker(n, n === UPSTREAM_NODE ? 'upstream' : 'ours');
}, { timeout: 300_000 });

after(async () => {
  await c?.destroy();
});

const v4IPs: string[] = [];
const v6IPs: string[] = [];

test('layer2: one memberlist cluster; every Service answered by the node both implementations elect', { timeout: 300_000 }, async (t) => {
  await waitForMembers(NODE_NAMES);
  for (let i = 0; i < 12; i++) {
    const name = `l2-${i}`;
    await applyService(name, { endpoints: [{ node: 'node1', ready: true }, { node: 'node3', ready: true }] });
    v4IPs.push(await c.waitForIngress(APP, name));
  }
  for (let i = 0; i < 3; i++) {
    const name = `l2v6-${i}`;
    await applyService(name, { pool: 'lan6', v6: true, endpoints: [{ node: 'node1', ready: true }] });
    v6IPs.push(await c.waitForIngress(APP, name));
  }
  const owners = [...v4IPs, ...v6IPs].map((ip) => winner(ip, NODE_NAMES));
  t.diagnostic(`owners: ${owners.join(' ')}`);
  assert.ok(owners.includes(UPSTREAM_NODE) && owners.some((o) => o !== UPSTREAM_NODE), 'the Services are owned by both implementations');
  assert.ok(v6IPs.map((ip) => winner(ip, NODE_NAMES)).length === 3);
  await expectOwners([...v4IPs, ...v6IPs], NODE_NAMES);
  // both implementations record the owner on the Service the same way
  for (const [i, ip] of v4IPs.entries()) {
    const owner = winner(ip, NODE_NAMES);
    await waitFor(`nodeAssigned event for l2-${i} from ${owner}`, async () => (await c.serviceEvents(APP, `l2-${i}`)).find((e) => e.reason === 'nodeAssigned' && e.message === `announcing from node "${owner}"`), 60_000);
  }
});

test('layer2: kill -9 of the upstream speaker, then of one of ours: survivors agree, gratuitous ARP, new owners answer ARP/NDP, restart takes ownership back', { timeout: 600_000 }, async () => {
  assert.ok(v4IPs.length === 12, 'needs the first test');
  const all = [...v4IPs, ...v6IPs];
  // ours first among the victims: the one of our nodes whose addresses most often fall to upstream
  const ourVictim = (['node1', 'node3'] as NodeName[])
    .map((n) => ({ n, toUpstream: all.filter((ip) => winner(ip, NODE_NAMES) === n && winner(ip, NODE_NAMES.filter((x) => x !== n)) === UPSTREAM_NODE).length }))
    .sort((a, b) => b.toUpstream - a.toUpstream)[0];
  assert.ok(ourVictim.toUpstream > 0, 'some address moves from ours to upstream');
  for (const victim of [UPSTREAM_NODE, ourVictim.n]) {
    const impl = kind.get(victim)!;
    const live = NODE_NAMES.filter((n) => n !== victim);
    const moved = all.filter((ip) => winner(ip, NODE_NAMES) === victim);
    assert.ok(moved.length > 0, `${victim} owns something`);
    await resolveAll(all);
    await expectNeighbours(all.filter((ip) => !ip.includes(':')), NODE_NAMES, 'before the kill');
    await c.stopSpeaker(victim, 'SIGKILL');
    // the client does not ask: only the new owners' gratuitous ARP re-points it. (IPv6: the new
    // owners must answer NDP, checked by expectOwners below; whether the client's kernel takes
    // the unsolicited NA was not reliable in this network in one run of three, see the report.)
    await expectNeighbours(moved.filter((ip) => !ip.includes(':')), live, `${impl} leader ${victim} killed`);
    await waitForMembers(live);
    await expectOwners(all, live);
    await startSpeaker(victim, impl);
    await waitForMembers(NODE_NAMES);
    await expectNeighbours(moved.filter((ip) => !ip.includes(':')), NODE_NAMES, `${victim} (${impl}) restarted`);
    await expectOwners(all, NODE_NAMES);
  }
  for (const n of NODE_NAMES) assert.ok(nodeOfMac(macOf(n)) === n);
});

// ------------------------------------------------------------------ BGP parity

interface PathView { nextHops: string[]; localPref?: number; communities: string; asPath: string; origin: string; peer: string }

function frrView(): Record<string, PathView[]> {
  const table = c.frr.json<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast').routes ?? {};
  const out: Record<string, PathView[]> = {};
  for (const prefix of Object.keys(table).sort()) {
    out[prefix] = c.frr.route(prefix).filter((p) => p.valid)
      .map((p) => ({ nextHops: [...p.nextHops].sort(), localPref: p.localPref, communities: p.communities, asPath: p.asPath, origin: p.origin, peer: p.peer }))
      .sort((a, b) => (a.peer < b.peer ? -1 : a.peer > b.peer ? 1 : 0));
  }
  return out;
}

async function announceAll(impl: Impl, want: readonly string[]): Promise<Record<string, PathView[]>> {
  for (const n of NODE_NAMES) if (c.speaker(n).running) await c.stopSpeaker(n, 'SIGTERM');
  await waitFor('FRR has no routes', () => (Object.keys(frrView()).length === 0 ? true : undefined), 60_000);
  for (const n of NODE_NAMES) await startSpeaker(n, impl);
  await waitFor(`${impl}: node1 and node2 peer (node-selector), node3 does not`, () => (c.establishedPeers().join(',') === [NODE_IP.node1, NODE_IP.node2].join(',') ? true : undefined), 90_000, () => c.describeSpeakers());
  // settle: the view must hold the expected paths and stay unchanged for 3 s
  let last = '';
  let since = Date.now();
  return waitFor(`${impl}: FRR's view has ${want.join(', ')} and settles`, () => {
    const v = frrView();
    const text = JSON.stringify(v);
    if (text !== last) { last = text; since = Date.now(); return undefined; }
    return want.every((p) => (v[p]?.length ?? 0) > 0) && Date.now() - since > 5000 ? v : undefined;
  }, 120_000, () => `${last}\n${c.describeSpeakers()}`);
}

test('BGP parity: FRR sees the same prefixes, next hops and attributes from upstream\'s speakers as from ours', { timeout: 600_000 }, async (t) => {
  await c.setNodeLabels('node1', { bgp: 'yes' });
  await c.setNodeLabels('node2', { bgp: 'yes' });
  await c.applyConfig(`${bgpConfig()}${L2_CONFIG.replace('address-pools:\n', '')}`);
  // Cluster policy (endpoint on node3, which does not peer), Local policy (ready on node2 only),
  // and a pool without advertisement settings
  await applyService('bgp-cluster', { pool: 'routed', endpoints: [{ node: 'node3', ready: true }] });
  await applyService('bgp-local', { pool: 'routed', local: true, endpoints: [{ node: 'node2', ready: true }, { node: 'node1', ready: false }] });
  await applyService('bgp-plain', { pool: 'plain', endpoints: [{ node: 'node1', ready: true }] });
  const ips = [await c.waitForIngress(APP, 'bgp-cluster'), await c.waitForIngress(APP, 'bgp-local'), await c.waitForIngress(APP, 'bgp-plain')];
  t.diagnostic(`addresses ${ips.join(' ')}`);
  const want = ips.map((ip) => `${ip}/32`);
  const ours = await announceAll('ours', want);
  const upstream = await announceAll('upstream', want);
  t.diagnostic(`FRR view: ${JSON.stringify(upstream)}`);
  assert.deepEqual(upstream, ours);
  // and the view is the one the config asks for
  const cluster = ours[`${ips[0]}/32`];
  assert.deepEqual(cluster.map((p) => p.nextHops[0]).sort(), [NODE_IP.node1, NODE_IP.node2]);
  for (const p of cluster) {
    assert.equal(p.localPref, 150);
    assert.equal(p.communities, '64512:100 64512:200');
  }
  const agg = Object.entries(ours).filter(([prefix]) => prefix.endsWith('/30'));
  assert.ok(agg.length > 0, 'an aggregated /30');
  for (const p of agg.flatMap(([, paths]) => paths)) {
    assert.equal(p.localPref, 120);
    assert.equal(p.communities, '64512:300');
  }
  assert.deepEqual(ours[`${ips[1]}/32`].map((p) => p.nextHops[0]), [NODE_IP.node2], 'Local policy: only the node with a ready endpoint');
  assert.deepEqual(ours[`${ips[2]}/32`].map((p) => p.localPref), [0, 0], 'iBGP without localpref: LOCAL_PREF 0 (v0.12 always sends the attribute on iBGP)');
  assert.deepEqual(ours[`${ips[2]}/32`].map((p) => p.communities), ['', '']);
});
