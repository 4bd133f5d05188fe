import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseIP } from '../../../lib/ip/index.js';
import type { Peer } from '../../../lib/config/types.js';
import {
  decideService,
  ingressIPs,
  type AnnouncedService,
  type DecisionOptions,
  type ServiceDecision,
  type ServiceLike,
} from '../../../lib/speaker/decide.js';
import { readinessFromEndpoints, readinessFromSlices, type EndpointReadiness } from '../../../lib/speaker/endpoints.js';
import { ad, config, peer, pool, service } from './fixtures.js';

const community = (a: number, b: number) => a * 65536 + b;

const cfg = config(
  [
    pool('lan', 'layer2', ['172.18.0.200-172.18.0.250', '2001:db8::/120']),
    pool('iris', 'layer2', ['10.20.30.0/24']),
    pool('edge', 'bgp', ['198.51.100.0/24'], [ad({ localPref: 200, communities: [community(65535, 65281), community(100, 1), community(65535, 65281)] }), ad({ aggregationLength: 24 })]),
    pool('edge6', 'bgp', ['2001:db8:2::/64', '203.0.113.0/28'], [ad({ aggregationLength: 28, aggregationLengthV6: 64 })]),
  ],
  [peer('192.0.2.1')],
);

/** Ready endpoints on the named nodes (one pod each), not-ready ones on the others. */
function eps(ready: string[], notReady: string[] = []): EndpointReadiness {
  let n = 0;
  return readinessFromEndpoints({
    subsets: [
      {
        addresses: ready.map((node) => ({ ip: `10.244.0.${++n}`, nodeName: node })),
        notReadyAddresses: notReady.map((node) => ({ ip: `10.244.0.${++n}`, nodeName: node })),
      },
    ],
  });
}

const ALL = new Set(['node-a', 'node-b', 'node-c']);

interface Case {
  name: string;
  node?: string;
  svc: ServiceLike | undefined;
  endpoints?: EndpointReadiness | undefined;
  speakers?: ReadonlySet<string> | null;
  previous?: AnnouncedService;
  noConfig?: boolean;
  options?: DecisionOptions;
  peers?: readonly Peer[];
  excluded?: readonly string[];
  want: { action: 'keep' } | { action: 'withdraw'; reason: string; withdrawPrevious?: string; owner?: string } | { action: 'announce'; protocol: string; withdrawPrevious?: string };
}

const lanIP = '172.18.0.200'; // spec vector: order node-b, node-a, node-c
const prevL2: AnnouncedService = { protocol: 'layer2', ips: [mustParseIP(lanIP)] };

const cases: Case[] = [
  // ---- pipeline order (docs/behaviour/speaker.md#pipeline)
  { name: 'Service gone', svc: undefined, want: { action: 'withdraw', reason: 'serviceDeleted' } },
  { name: 'Service gone, was announced', svc: undefined, previous: prevL2, want: { action: 'withdraw', reason: 'serviceDeleted', withdrawPrevious: 'serviceDeleted' } },
  { name: 'no Endpoints object: as deleted', svc: service({ ips: [lanIP] }), endpoints: undefined, want: { action: 'withdraw', reason: 'serviceDeleted' } },
  { name: 'not a LoadBalancer', svc: service({ ips: [lanIP], type: 'ClusterIP' }), previous: prevL2, want: { action: 'withdraw', reason: 'notLoadBalancer', withdrawPrevious: 'notLoadBalancer' } },
  { name: 'type check comes before the config check', svc: service({ ips: [lanIP], type: 'NodePort' }), noConfig: true, want: { action: 'withdraw', reason: 'notLoadBalancer' } },
  { name: 'another loadBalancerClass: skipped', svc: service({ ips: [lanIP], lbClass: 'example.com/other' }), want: { action: 'withdraw', reason: 'otherLoadBalancerClass' } },
  {
    name: '--lb-class: a Service of that class is handled',
    svc: service({ ips: [lanIP], lbClass: 'example.com/metallb' }),
    node: 'node-b',
    options: { layer2WithoutMemberlist: 'readyNodes', loadBalancerClass: 'example.com/metallb' },
    want: { action: 'announce', protocol: 'layer2' },
  },
  {
    name: '--lb-class: a Service without a class is skipped',
    svc: service({ ips: [lanIP] }),
    node: 'node-b',
    previous: prevL2,
    options: { layer2WithoutMemberlist: 'readyNodes', loadBalancerClass: 'example.com/metallb' },
    want: { action: 'withdraw', reason: 'otherLoadBalancerClass', withdrawPrevious: 'otherLoadBalancerClass' },
  },
  {
    name: '--lb-class: a Service of a third class is skipped',
    svc: service({ ips: [lanIP], lbClass: 'example.com/other' }),
    node: 'node-b',
    options: { layer2WithoutMemberlist: 'readyNodes', loadBalancerClass: 'example.com/metallb' },
    want: { action: 'withdraw', reason: 'otherLoadBalancerClass' },
  },
  // ---- node.kubernetes.io/exclude-from-external-load-balancers
  { name: 'excluded node: withdraws its layer 2 announcement', node: 'node-b', excluded: ['node-b'], speakers: new Set(['node-a', 'node-c']), previous: prevL2, svc: service({ ips: [lanIP] }), want: { action: 'withdraw', reason: 'nodeExcluded', withdrawPrevious: 'nodeExcluded' } },
  { name: 'excluded node: announces no BGP route', node: 'node-a', excluded: ['node-a'], svc: service({ ips: ['198.51.100.7'] }), want: { action: 'withdraw', reason: 'nodeExcluded' } },
  { name: 'excluded node: the next in election order wins (node-b excluded -> node-a)', node: 'node-a', excluded: ['node-b'], speakers: new Set(['node-a', 'node-c']), svc: service({ ips: [lanIP] }), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'excluded node: not a candidate without memberlist either (ready node-b, node-c; node-b excluded -> node-c)', node: 'node-c', excluded: ['node-b'], speakers: null, svc: service({ ips: [lanIP] }), endpoints: eps(['node-b', 'node-c']), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'excluded node: not a Local candidate (ready node-b, node-a; node-b excluded -> node-a)', node: 'node-a', excluded: ['node-b'], speakers: null, svc: service({ ips: [lanIP], policy: 'Local' }), endpoints: eps(['node-b', 'node-a']), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'excluded node: only candidate excluded, nobody announces', node: 'node-c', excluded: ['node-b'], speakers: null, svc: service({ ips: [lanIP], policy: 'Local' }), endpoints: eps(['node-b']), want: { action: 'withdraw', reason: 'notOwner' } },
  { name: 'no config yet: keep', svc: service({ ips: [lanIP] }), noConfig: true, previous: prevL2, want: { action: 'keep' } },
  { name: 'no ingress', svc: service({ ips: [] }), previous: prevL2, want: { action: 'withdraw', reason: 'noIPAllocated', withdrawPrevious: 'noIPAllocated' } },
  { name: 'hostname-only ingress is invalid', svc: service({ ips: [{ hostname: 'lb.example.com' }] }), want: { action: 'withdraw', reason: 'invalidIP' } },
  { name: 'unparsable ingress IP', svc: service({ ips: [lanIP, '10.0.0.300'] }), want: { action: 'withdraw', reason: 'invalidIP' } },
  { name: 'IP outside every pool', svc: service({ ips: ['192.0.2.10'] }), want: { action: 'withdraw', reason: 'ipNotAllowed' } },
  { name: 'IPs spanning two pools', svc: service({ ips: [lanIP, '10.20.30.1'] }), want: { action: 'withdraw', reason: 'ipNotAllowed' } },
  { name: 'range pool: address just outside the range', svc: service({ ips: ['172.18.0.251'] }), want: { action: 'withdraw', reason: 'ipNotAllowed' } },

  // ---- layer 2, Cluster (docs/behaviour/layer2.md#owner v0.11+)
  { name: 'L2 Cluster: hash winner node-b announces', node: 'node-b', svc: service({ ips: [lanIP] }), endpoints: eps(['node-c']), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'L2 Cluster: node-a loses to node-b', node: 'node-a', svc: service({ ips: [lanIP] }), endpoints: eps(['node-a']), want: { action: 'withdraw', reason: 'notOwner', owner: 'node-b' } },
  { name: 'L2 Cluster: node-c loses to node-b', node: 'node-c', svc: service({ ips: [lanIP] }), previous: prevL2, want: { action: 'withdraw', reason: 'notOwner', owner: 'node-b', withdrawPrevious: 'notOwner' } },
  { name: 'L2 Cluster: node-b dead, node-a next', node: 'node-a', speakers: new Set(['node-a', 'node-c']), svc: service({ ips: [lanIP] }), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'L2 Cluster: own node not among live speakers cannot win', node: 'node-b', speakers: new Set(['node-a', 'node-c']), svc: service({ ips: [lanIP] }), want: { action: 'withdraw', reason: 'notOwner', owner: 'node-a' } },
  { name: 'L2 Cluster: no ready endpoint anywhere, nobody announces', node: 'node-b', svc: service({ ips: [lanIP] }), endpoints: eps([], ['node-b']), want: { action: 'withdraw', reason: 'notOwner' } },
  { name: 'L2 Cluster: election key is the IP (iris vector)', node: 'node-b', speakers: new Set(['iris1', 'iris2']), svc: service({ ips: ['10.20.30.1'] }), want: { action: 'withdraw', reason: 'notOwner', owner: 'iris2' } },
  { name: 'L2 Cluster: iris2 wins 10.20.30.1', node: 'iris2', speakers: new Set(['iris1', 'iris2']), svc: service({ ips: ['10.20.30.1'] }), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'L2 IPv6: node-b wins 2001:db8::1', node: 'node-b', svc: service({ ips: ['2001:db8::1'] }), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'L2 memberlist disabled, Cluster, default fallback: ready nodes elect (node-a, node-c -> node-a)', node: 'node-a', speakers: null, svc: service({ ips: [lanIP] }), endpoints: eps(['node-a', 'node-c']), want: { action: 'announce', protocol: 'layer2' } },
  {
    name: 'L2 memberlist disabled, Cluster, upstream behaviour: nobody',
    node: 'node-b',
    speakers: null,
    options: { layer2WithoutMemberlist: 'nobody', loadBalancerClass: '' },
    svc: service({ ips: [lanIP] }),
    endpoints: eps(['node-b']),
    want: { action: 'withdraw', reason: 'notOwner' },
  },

  // ---- layer 2, Local
  { name: 'L2 Local: only endpoint nodes are candidates (a, c -> a)', node: 'node-a', svc: service({ ips: [lanIP], policy: 'Local' }), endpoints: eps(['node-a', 'node-c']), want: { action: 'announce', protocol: 'layer2' } },
  { name: 'L2 Local: hash winner without endpoint does not announce', node: 'node-b', svc: service({ ips: [lanIP], policy: 'Local' }), endpoints: eps(['node-a', 'node-c']), want: { action: 'withdraw', reason: 'notOwner', owner: 'node-a' } },
  { name: 'L2 Local: not-ready endpoints do not make a node a candidate', node: 'node-b', svc: service({ ips: [lanIP], policy: 'Local' }), endpoints: eps(['node-c'], ['node-b']), want: { action: 'withdraw', reason: 'notOwner', owner: 'node-c' } },
  { name: 'L2 Local: endpoint node without a live speaker is skipped', node: 'node-a', speakers: new Set(['node-a', 'node-c']), svc: service({ ips: [lanIP], policy: 'Local' }), endpoints: eps(['node-b']), want: { action: 'withdraw', reason: 'notOwner' } },
  { name: 'L2 Local, memberlist disabled: endpoint nodes unfiltered', node: 'node-b', speakers: null, svc: service({ ips: [lanIP], policy: 'Local' }), endpoints: eps(['node-b', 'node-c']), want: { action: 'announce', protocol: 'layer2' } },

  // ---- BGP (docs/behaviour/bgp.md#which-nodes)
  { name: 'BGP Cluster: endpoint anywhere', node: 'node-a', svc: service({ ips: ['198.51.100.10'] }), endpoints: eps(['node-c']), want: { action: 'announce', protocol: 'bgp' } },
  { name: 'BGP Cluster: no healthy endpoint', node: 'node-a', svc: service({ ips: ['198.51.100.10'] }), endpoints: eps([], ['node-a']), want: { action: 'withdraw', reason: 'noEndpoints' } },
  { name: 'BGP Cluster: memberlist plays no part', node: 'node-a', speakers: new Set(), svc: service({ ips: ['198.51.100.10'] }), want: { action: 'announce', protocol: 'bgp' } },
  { name: 'BGP Local: endpoint on this node', node: 'node-a', svc: service({ ips: ['198.51.100.10'], policy: 'Local' }), endpoints: eps(['node-a']), want: { action: 'announce', protocol: 'bgp' } },
  { name: 'BGP Local: endpoint elsewhere only', node: 'node-a', svc: service({ ips: ['198.51.100.10'], policy: 'Local' }), endpoints: eps(['node-b']), want: { action: 'withdraw', reason: 'noLocalEndpoints' } },
  { name: 'BGP Local: only a not-ready endpoint here', node: 'node-a', svc: service({ ips: ['198.51.100.10'], policy: 'Local' }), endpoints: eps(['node-b'], ['node-a']), want: { action: 'withdraw', reason: 'noLocalEndpoints' } },
  { name: 'BGP Local: no endpoints at all reports noLocalEndpoints first', node: 'node-a', svc: service({ ips: ['198.51.100.10'], policy: 'Local' }), endpoints: eps([]), want: { action: 'withdraw', reason: 'noLocalEndpoints' } },

  // ---- replacing a previous announcement
  { name: 'protocol changed (pool moved to bgp): old goes first', node: 'node-a', svc: service({ ips: ['198.51.100.10'] }), previous: { protocol: 'layer2', ips: [mustParseIP('198.51.100.10')] }, want: { action: 'announce', protocol: 'bgp', withdrawPrevious: 'protocolChanged' } },
  { name: 'protocol changed and the new protocol refuses', node: 'node-a', svc: service({ ips: ['198.51.100.10'] }), endpoints: eps([]), previous: { protocol: 'layer2', ips: [mustParseIP('198.51.100.10')] }, want: { action: 'withdraw', reason: 'noEndpoints', withdrawPrevious: 'protocolChanged' } },
  { name: 'IPs changed', node: 'node-b', svc: service({ ips: [lanIP] }), previous: { protocol: 'layer2', ips: [mustParseIP('172.18.0.201')] }, want: { action: 'announce', protocol: 'layer2', withdrawPrevious: 'loadBalancerIPChanged' } },
  { name: 'same IPs in another order: nothing withdrawn', node: 'node-b', svc: service({ ips: [lanIP, '2001:db8::1'] }), previous: { protocol: 'layer2', ips: [mustParseIP('2001:db8::1'), mustParseIP(lanIP)] }, want: { action: 'announce', protocol: 'layer2' } },
  { name: 'IPs changed and election lost', node: 'node-a', svc: service({ ips: [lanIP] }), previous: { protocol: 'layer2', ips: [mustParseIP('172.18.0.201')] }, want: { action: 'withdraw', reason: 'notOwner', owner: 'node-b', withdrawPrevious: 'loadBalancerIPChanged' } },
];

for (const c of cases) {
  test(`decide: ${c.name}`, () => {
    const d = decideService(
      {
        config: c.noConfig ? undefined : cfg,
        nodeName: c.node ?? 'node-a',
        usableSpeakers: c.speakers === undefined ? ALL : c.speakers,
        peers: c.peers ?? cfg.peers,
        options: c.options,
        excludedNodes: c.excluded ? new Set(c.excluded) : undefined,
      },
      { service: c.svc, endpoints: 'endpoints' in c ? c.endpoints : eps(['node-a', 'node-b', 'node-c']), previous: c.previous },
    );
    assert.deepEqual(summary(d), { withdrawPrevious: undefined, ...c.want });
  });
}

function summary(d: ServiceDecision): Record<string, unknown> {
  if (d.action === 'keep') return { action: 'keep', withdrawPrevious: undefined };
  if (d.action === 'withdraw') return { action: 'withdraw', reason: d.reason, withdrawPrevious: d.withdrawPrevious, ...(d.election?.owner !== undefined ? { owner: d.election.owner } : {}) };
  return { action: 'announce', protocol: d.announcement.protocol, withdrawPrevious: d.withdrawPrevious };
}

function announce(svc: ServiceLike, nodeName = 'node-a', peers: readonly Peer[] = cfg.peers) {
  const d = decideService({ config: cfg, nodeName, usableSpeakers: ALL, peers }, { service: svc, endpoints: eps(['node-a']), previous: undefined });
  assert.equal(d.action, 'announce');
  return d.announcement;
}

test('BGP advertisements: per IP, per pool advertisement, aggregated, communities sorted and unique', () => {
  const a = announce(service({ ips: ['198.51.100.10'] }));
  assert.equal(a.protocol, 'bgp');
  if (a.protocol !== 'bgp') return;
  assert.equal(a.pool.name, 'edge');
  assert.deepEqual(
    a.advertisements.map((x) => [x.prefix.toString(), x.localPref, x.communities]),
    [
      ['198.51.100.10/32', 200, [community(100, 1), community(65535, 65281)]],
      ['198.51.100.0/24', 0, []],
    ],
  );
  assert.deepEqual(a.peers.map((p) => p.peerAddress.toString()), ['192.0.2.1']);
});

test('BGP advertisements: v4 and v6 aggregation lengths, dual-stack', () => {
  const a = announce(service({ ips: ['2001:db8:2::abcd', '203.0.113.7'] }));
  if (a.protocol !== 'bgp') return assert.fail('expected bgp');
  assert.deepEqual(a.advertisements.map((x) => x.prefix.toString()), ['2001:db8:2::/64', '203.0.113.0/28']);
});

test('BGP: the peers passed in (those selected for this node) are the ones announced to', () => {
  const a = announce(service({ ips: ['198.51.100.10'] }), 'node-a', []);
  if (a.protocol !== 'bgp') return assert.fail('expected bgp');
  assert.deepEqual(a.peers, []);
});

test('layer2 announcement carries the election key of the first IP and all IPs', () => {
  const a = announce(service({ ips: ['2001:db8::1', lanIP] }), 'node-b');
  if (a.protocol !== 'layer2') return assert.fail('expected layer2');
  assert.equal(a.electionKey, '2001:db8::1');
  assert.equal(a.candidates, 3);
  assert.deepEqual(a.ips.map(String), ['2001:db8::1', lanIP]);
});

test('ingressIPs: IPv4-mapped text stands for the IPv4 address; empty ip invalid', () => {
  const r = ingressIPs(service({ ips: ['::ffff:198.51.100.10'] }));
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.ips[0].toString(), '198.51.100.10');
  assert.deepEqual(ingressIPs({ status: { loadBalancer: { ingress: [{ ip: '' }] } } }), { ok: false, reason: 'invalidIP' });
  assert.deepEqual(ingressIPs({}), { ok: false, reason: 'noIPAllocated' });
});

test('EndpointSlices feed the same decisions (Local, slice node from nodeName)', () => {
  const slices = readinessFromSlices([{ endpoints: [{ addresses: ['10.244.1.5'], nodeName: 'node-c' }, { addresses: ['10.244.1.6'], nodeName: 'node-b', conditions: { ready: false } }] }]);
  const ctx = (nodeName: string) => ({ config: cfg, nodeName, usableSpeakers: ALL, peers: [] });
  const svc = service({ ips: [lanIP], policy: 'Local' });
  assert.equal(decideService(ctx('node-c'), { service: svc, endpoints: slices, previous: undefined }).action, 'announce');
  assert.equal(decideService(ctx('node-b'), { service: svc, endpoints: slices, previous: undefined }).action, 'withdraw');
});

test('every live node agrees on exactly one layer2 owner per address', () => {
  const nodes = Array.from({ length: 9 }, (_, i) => `worker-${i}`);
  const live = new Set(nodes);
  for (let i = 200; i <= 250; i++) {
    const svc = service({ ips: [`172.18.0.${i}`] });
    const owners = nodes.filter(
      (n) => decideService({ config: cfg, nodeName: n, usableSpeakers: live, peers: [] }, { service: svc, endpoints: eps(['worker-3']), previous: undefined }).action === 'announce',
    );
    assert.equal(owners.length, 1, `172.18.0.${i}`);
  }
});
