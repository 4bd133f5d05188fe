import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { plan } from '../../../lib/cli/plan.js';
import { readServices } from '../../../lib/cli/plan-command.js';
import { parseConfig } from '../../../lib/config/index.js';
import type { Service } from '../../../lib/k8s/index.js';
import { readinessFromSlices } from '../../../lib/speaker/endpoints.js';

const cfg = (text: string) => {
  const r = parseConfig(text);
  assert.ok(r.config, JSON.stringify(r.problems));
  return r.config;
};
const NEW = cfg('address-pools:\n- name: lan\n  protocol: layer2\n  addresses: [192.0.2.10-192.0.2.11]\n- name: edge\n  protocol: bgp\n  auto-assign: false\n  addresses: [203.0.113.0/28]\n');
const OLD = cfg('address-pools:\n- name: old\n  protocol: layer2\n  addresses: [198.51.100.0/24]\n- name: lan\n  protocol: layer2\n  addresses: [192.0.2.10-192.0.2.11]\n');

function svc(name: string, o: { ips?: string[]; cls?: string; local?: boolean; lbIP?: string; ns?: string } = {}): Service {
  return {
    metadata: { namespace: o.ns ?? 'default', name },
    spec: {
      type: 'LoadBalancer', clusterIPs: ['10.0.0.1'], ports: [{ port: 80, protocol: 'TCP' }],
      ...(o.cls ? { loadBalancerClass: o.cls } : {}), ...(o.local ? { externalTrafficPolicy: 'Local' } : {}), ...(o.lbIP ? { loadBalancerIP: o.lbIP } : {}),
    },
    status: o.ips ? { loadBalancer: { ingress: o.ips.map((ip) => ({ ip })) } } : {},
  };
}

/** Independent layer 2 winner: the node whose SHA-256("node#ip") is the smallest (docs/behaviour/layer2.md#which-node-announces). */
function winner(nodes: string[], ip: string): string {
  const d = (n: string) => createHash('sha256').update(`${n}#${ip}`).digest();
  return [...nodes].sort((a, b) => Buffer.compare(d(a), d(b)))[0];
}

test('plan: a Service holding an address outside every new pool strands the config (with the config in force)', () => {
  const r = plan({ config: NEW, current: OLD, services: [svc('a'), svc('b', { ips: ['198.51.100.5'] }), svc('c', { ips: ['192.0.2.11'] })] });
  assert.equal(r.refused, true);
  assert.deepEqual(r.stranded, ['default/b']);
  assert.match(r.refusal ?? '', /service "default\/b" cannot own \["198.51.100.5"\]/);
  const byKey = Object.fromEntries(r.services.map((e) => [e.service, e]));
  assert.equal(byKey['default/b'].change, 'stranded');
  assert.deepEqual(byKey['default/b'].addresses, []);
  assert.deepEqual(byKey['default/c'], { ...byKey['default/c'], addresses: ['192.0.2.11'], change: 'same', pool: 'lan' });
  assert.deepEqual(byKey['default/a'].addresses, ['192.0.2.10'], 'the held .11 is not handed out again');
});

test('plan: the same strand found without the config in force', () => {
  const r = plan({ config: NEW, services: [svc('b', { ips: ['198.51.100.5'] })] });
  assert.equal(r.refused, true);
  assert.deepEqual(r.stranded, ['default/b']);
});

test('plan: new, same, changed and none with reasons; Services of another class are not planned', () => {
  const r = plan({
    config: NEW,
    services: [svc('a'), svc('b'), svc('c'), svc('d', { ips: ['192.0.2.10'], lbIP: '203.0.113.3' }), svc('x', { cls: 'example.com/other' })],
  });
  assert.equal(r.refused, false);
  assert.equal(r.skipped, 1);
  const got = r.services.map((e) => [e.service, e.change, e.addresses.join(','), e.pool, e.reason ?? '']);
  // As the controller does it: d's held .10 is re-asserted before anything is handed out, and d
  // gives it up only when its own turn comes (after a, b and c), which wakes nobody up.
  assert.deepEqual(got, [
    ['default/a', 'new', '192.0.2.11', 'lan', ''],
    ['default/b', 'none', '', null, 'Failed to allocate IP for "default/b": no available IPs'],
    ['default/c', 'none', '', null, 'Failed to allocate IP for "default/c": no available IPs'],
    ['default/d', 'changed', '203.0.113.3', 'edge', ''],
  ]);
});

test('plan: --lb-class plans only that class', () => {
  const r = plan({ config: NEW, lbClass: 'example.com/metallb', services: [svc('a'), svc('b', { cls: 'example.com/metallb' })] });
  assert.deepEqual(r.services.map((e) => e.service), ['default/b']);
  assert.equal(r.skipped, 1);
});

test('plan: layer 2 owner is the speaker election among the given nodes; Local policy uses ready endpoints', () => {
  const nodes = ['n1', 'n2', 'n3'];
  const r = plan({ config: NEW, speakerNodes: nodes, services: [svc('a'), svc('b')] });
  for (const e of r.services) assert.equal(e.announcer, winner(nodes, e.addresses[0]), e.service);
  const local = plan({ config: NEW, speakerNodes: nodes, services: [svc('a', { local: true })] });
  assert.equal(local.services[0].announcer, undefined);
  assert.match(local.services[0].announcerNote ?? '', /Local/);
  const slice = { metadata: { namespace: 'default', labels: { 'kubernetes.io/service-name': 'a' } }, endpoints: [{ addresses: ['10.1.0.1'], conditions: { ready: true }, nodeName: 'n3' }, { addresses: ['10.1.0.2'], conditions: { ready: false }, nodeName: 'n1' }] };
  const withEps = plan({ config: NEW, speakerNodes: nodes, services: [svc('a', { local: true })], endpoints: new Map([['default/a', readinessFromSlices([slice])]]) });
  assert.equal(withEps.services[0].announcer, 'n3');
  const noSpeaker = plan({ config: NEW, speakerNodes: ['n1'], services: [svc('a', { local: true })], endpoints: new Map([['default/a', readinessFromSlices([slice])]]) });
  assert.equal(noSpeaker.services[0].announcer, null);
});

test('plan: readServices takes a List, several documents, JSON; ignores other kinds', () => {
  const list = 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a, namespace: x}}\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n';
  assert.deepEqual(readServices(list, 'f').map((s) => s.metadata?.name), ['a']);
  const docs = 'kind: Service\nmetadata: {name: a}\n---\nkind: Service\nmetadata: {name: b}\n';
  assert.deepEqual(readServices(docs, 'f').map((s) => s.metadata?.name), ['a', 'b']);
  assert.deepEqual(readServices(JSON.stringify({ kind: 'ServiceList', items: [{ kind: 'Service', metadata: { name: 'j' } }] }), 'f').map((s) => s.metadata?.name), ['j']);
  assert.throws(() => readServices('a: [', 'f'), /not YAML or JSON/);
});
