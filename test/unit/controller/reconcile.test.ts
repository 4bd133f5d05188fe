// The per-Service reconcile decision (docs/behaviour/allocation.md#reconcile) with the real allocator and config parser:
// table-driven cases (name, service, state, expected status/events/outcome).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Allocator } from '../../../lib/allocator/index.js';
import { parseConfig } from '../../../lib/config/index.js';
import { reconcileService } from '../../../lib/controller/reconcile.js';
import type { Service } from '../../../lib/k8s/service-status.js';

const CONFIG = `address-pools:
- name: a
  protocol: layer2
  addresses: [192.0.2.0/30]
- name: b
  protocol: layer2
  auto-assign: false
  addresses: [198.51.100.0/30, "2001:db8::/126"]
`;

function allocator(text = CONFIG): Allocator {
  const a = new Allocator();
  const parsed = parseConfig(text);
  assert.ok(parsed.config, JSON.stringify(parsed.problems));
  assert.ok(a.setConfig(parsed.config).ok);
  return a;
}

interface SvcOpts {
  type?: string;
  clusterIPs?: string[];
  status?: string[];
  annotations?: Record<string, string>;
  loadBalancerIP?: string;
  loadBalancerClass?: string;
  ports?: { port: number; protocol?: string }[];
}

function svc(name: string, o: SvcOpts = {}): Service {
  return {
    metadata: { namespace: 'ns', name, annotations: o.annotations ?? {} },
    spec: {
      type: o.type ?? 'LoadBalancer',
      clusterIPs: o.clusterIPs ?? ['10.0.0.1'],
      ports: (o.ports ?? [{ port: 80 }]).map((p) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })),
      ...(o.loadBalancerIP ? { loadBalancerIP: o.loadBalancerIP } : {}),
      ...(o.loadBalancerClass ? { loadBalancerClass: o.loadBalancerClass } : {}),
    },
    status: o.status ? { loadBalancer: { ingress: o.status.map((ip) => ({ ip })) } } : {},
  };
}

interface Case {
  name: string;
  setup?: (a: Allocator) => void;
  service: Service | undefined;
  synced?: boolean;
  noConfig?: boolean;
  lbClass?: string;
  outcome: string;
  ingress: string[] | null;
  events: string[];
}

const cases: Case[] = [
  { name: 'new Service gets the first address of the first auto-assign pool', service: svc('s'), outcome: 'ok', ingress: ['192.0.2.0'], events: ['Normal IPAllocated Assigned IP ["192.0.2.0"]'] },
  { name: 'deleted Service: reprocess all', service: undefined, outcome: 'reprocess-all', ingress: null, events: [] },
  { name: 'no config: nothing happens', service: svc('s'), noConfig: true, outcome: 'ok', ingress: null, events: [] },
  { name: 'ClusterIP Service: status cleared', service: svc('s', { type: 'ClusterIP', status: ['192.0.2.1'] }), outcome: 'ok', ingress: [], events: [] },
  { name: 'no cluster IPs: status cleared', service: svc('s', { clusterIPs: [] }), outcome: 'ok', ingress: [], events: [] },
  { name: 'another loadBalancerClass: left alone', service: svc('s', { loadBalancerClass: 'example.com/other', status: ['203.0.113.9'] }), outcome: 'ok', ingress: null, events: [] },
  { name: 'existing status IP is re-asserted without an event', service: svc('s', { status: ['192.0.2.2'] }), outcome: 'ok', ingress: ['192.0.2.2'], events: [] },
  { name: 'existing status IP outside every pool is replaced', service: svc('s', { status: ['203.0.113.5'] }), outcome: 'ok', ingress: ['192.0.2.0'], events: ['Normal IPAllocated Assigned IP ["192.0.2.0"]'] },
  { name: 'not synced and nothing held: retry later, status untouched', service: svc('s'), synced: false, outcome: 'error', ingress: null, events: [] },
  { name: 'not synced but held: re-asserted', service: svc('s', { status: ['192.0.2.3'] }), synced: false, outcome: 'ok', ingress: ['192.0.2.3'], events: [] },
  { name: 'loadBalancerIP in an auto-assign:false pool', service: svc('s', { loadBalancerIP: '198.51.100.2' }), outcome: 'ok', ingress: ['198.51.100.2'], events: ['Normal IPAllocated Assigned IP ["198.51.100.2"]'] },
  { name: 'pool annotation', service: svc('s', { annotations: { 'metallb.universe.tf/address-pool': 'b' } }), outcome: 'ok', ingress: ['198.51.100.0'], events: ['Normal IPAllocated Assigned IP ["198.51.100.0"]'] },
  { name: 'held IP in another pool than annotated: moved', service: svc('s', { status: ['192.0.2.1'], annotations: { 'metallb.universe.tf/address-pool': 'b' } }), outcome: 'ok', ingress: ['198.51.100.0'], events: ['Normal IPAllocated Assigned IP ["198.51.100.0"]'] },
  { name: 'requested IP differs from held: moved', service: svc('s', { status: ['192.0.2.1'], loadBalancerIP: '192.0.2.3' }), outcome: 'ok', ingress: ['192.0.2.3'], events: ['Normal IPAllocated Assigned IP ["192.0.2.3"]'] },
  {
    name: 'bad requested IP while holding one: LoadBalancerFailed, keeps the held IP',
    service: svc('s', { status: ['192.0.2.1'], loadBalancerIP: 'not-an-ip' }), outcome: 'ok', ingress: ['192.0.2.1'],
    events: ['Warning LoadBalancerFailed invalid requested loadbalancer IPs: invalid spec.loadBalancerIP "not-an-ip"'],
  },
  {
    name: 'bad requested IP without one: AllocationFailed, status cleared',
    service: svc('s', { loadBalancerIP: 'not-an-ip' }), outcome: 'ok', ingress: [],
    events: ['Warning AllocationFailed Failed to allocate IP for "ns/s": invalid spec.loadBalancerIP "not-an-ip"'],
  },
  {
    name: 'unknown pool: AllocationFailed',
    service: svc('s', { annotations: { 'metallb.universe.tf/address-pool': 'zzz' } }), outcome: 'ok', ingress: [],
    events: ['Warning AllocationFailed Failed to allocate IP for "ns/s": unknown pool "zzz"'],
  },
  {
    name: 'exhausted pool: AllocationFailed',
    setup: (a) => { for (let i = 0; i < 4; i++) assert.ok(a.allocate(`ns/x${i}`, { family: { ok: true, family: 'ipv4' }, ports: [], sharingKey: '', backendKey: '', requestedIPs: { ok: true, ips: [] }, requestedPool: '' }).ok); },
    service: svc('s'), outcome: 'ok', ingress: [],
    events: ['Warning AllocationFailed Failed to allocate IP for "ns/s": no available IPs'],
  },
  {
    name: 'status IP of another family than the Service: replaced',
    service: svc('s', { status: ['2001:db8::1'], annotations: { 'metallb.universe.tf/address-pool': 'b' } }), outcome: 'ok', ingress: ['198.51.100.0'],
    events: ['Normal IPAllocated Assigned IP ["198.51.100.0"]'],
  },
  {
    name: 'unparsable status IP: nolbIPsIPFamily, status untouched',
    service: svc('s', { status: ['garbage'] }), outcome: 'ok', ingress: null,
    events: ['Warning nolbIPsIPFamily Failed to retrieve lbIPs family for "garbage": invalid IP "garbage"'],
  },
  {
    name: '--lb-class: a Service of that class gets an address',
    lbClass: 'example.com/metallb', service: svc('s', { loadBalancerClass: 'example.com/metallb' }), outcome: 'ok', ingress: ['192.0.2.0'],
    events: ['Normal IPAllocated Assigned IP ["192.0.2.0"]'],
  },
  { name: '--lb-class: a Service without a class is left alone', lbClass: 'example.com/metallb', service: svc('s', { status: ['203.0.113.9'] }), outcome: 'ok', ingress: null, events: [] },
  { name: '--lb-class: a ClusterIP Service is still cleared', lbClass: 'example.com/metallb', service: svc('s', { type: 'ClusterIP', status: ['192.0.2.1'] }), outcome: 'ok', ingress: [], events: [] },
  {
    name: 'dual-stack Service gets one address of each family from one pool',
    service: svc('s', { clusterIPs: ['10.0.0.1', 'fd00::1'], annotations: { 'metallb.universe.tf/address-pool': 'b' } }), outcome: 'ok', ingress: ['198.51.100.0', '2001:db8::'],
    events: ['Normal IPAllocated Assigned IP ["198.51.100.0" "2001:db8::"]'],
  },
];

for (const c of cases) {
  test(`reconcile: ${c.name}`, () => {
    const a = c.noConfig ? new Allocator() : allocator();
    c.setup?.(a);
    const d = reconcileService('ns/s', c.service, a, { synced: c.synced ?? true, lbClass: c.lbClass });
    assert.equal(d.outcome, c.outcome);
    assert.deepEqual(d.ingressIPs, c.ingress);
    assert.deepEqual(d.events.map((e) => `${e.type} ${e.reason} ${e.message}`), c.events);
  });
}

test('reconcile: a Service that leaves our class releases its address', () => {
  const a = allocator();
  assert.deepEqual(reconcileService('ns/s', svc('s'), a, { synced: true }).ingressIPs, ['192.0.2.0']);
  assert.equal(a.has('ns/s'), true);
  const d = reconcileService('ns/s', svc('s', { loadBalancerClass: 'example.com/other', status: ['192.0.2.0'] }), a, { synced: true });
  assert.equal(d.ingressIPs, null);
  assert.equal(a.has('ns/s'), false);
  assert.deepEqual(reconcileService('ns/t', svc('t'), a, { synced: true }).ingressIPs, ['192.0.2.0']);
});

test('reconcile: a held address stays held across reconciles, and deletion frees it for the next Service', () => {
  const a = allocator();
  const first = reconcileService('ns/one', svc('one'), a, { synced: true });
  assert.deepEqual(first.ingressIPs, ['192.0.2.0']);
  // The status now says .0: reconciling again re-asserts without events.
  const again = reconcileService('ns/one', svc('one', { status: ['192.0.2.0'] }), a, { synced: true });
  assert.deepEqual(again.ingressIPs, ['192.0.2.0']);
  assert.deepEqual(again.events, []);
  assert.deepEqual(reconcileService('ns/two', svc('two'), a, { synced: true }).ingressIPs, ['192.0.2.1']);
  assert.equal(reconcileService('ns/one', undefined, a, { synced: true }).outcome, 'reprocess-all');
  assert.deepEqual(reconcileService('ns/three', svc('three'), a, { synced: true }).ingressIPs, ['192.0.2.0']);
});

test('reconcile: sharing key lets two Services with disjoint ports share; a port clash is refused', () => {
  const a = allocator();
  const shared = { 'metallb.universe.tf/allow-shared-ip': 'k' };
  assert.deepEqual(reconcileService('ns/tcp', svc('tcp', { loadBalancerIP: '192.0.2.2', annotations: shared, ports: [{ port: 53 }] }), a, { synced: true }).ingressIPs, ['192.0.2.2']);
  assert.deepEqual(reconcileService('ns/udp', svc('udp', { loadBalancerIP: '192.0.2.2', annotations: shared, ports: [{ port: 53, protocol: 'UDP' }] }), a, { synced: true }).ingressIPs, ['192.0.2.2']);
  const clash = reconcileService('ns/tcp2', svc('tcp2', { loadBalancerIP: '192.0.2.2', annotations: shared, ports: [{ port: 53 }] }), a, { synced: true });
  assert.deepEqual(clash.ingressIPs, []);
  assert.equal(clash.events[0].reason, 'AllocationFailed');
});
