import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildStatus, formatStatus } from '../../../lib/cli/status.js';
import type { ClusterSnapshot, EventLite } from '../../../lib/cli/cluster.js';
import { configDigest } from '../../../lib/config/digest.js';

const OLD = 'address-pools:\n- name: lan\n  protocol: layer2\n  addresses: [192.0.2.0/28]\n- name: edge\n  protocol: bgp\n  addresses: [203.0.113.0/28]\npeers:\n- peer-address: 198.51.100.1\n  peer-asn: 64512\n  my-asn: 64512\n';
const NEW = 'address-pools:\n- name: lan\n  protocol: layer2\n  addresses: [192.0.2.8/29]\n';

const ev = (reason: string, message: string, t: string, type = 'Normal', extra: Partial<EventLite> = {}): EventLite => ({
  involvedObject: { kind: 'ConfigMap', namespace: 'metallb-system', name: 'config' }, reason, message, type, count: 1, firstTimestamp: t, lastTimestamp: t, source: { component: 'metallb-controller' }, ...extra,
});
const svc = (name: string, ips: string[]) => ({ metadata: { namespace: 'default', name }, spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } } });
const speakerMetrics = (node: string, o: { announced?: [string, string, string][]; up?: number; members?: string[]; stale?: number }) => [
  '# TYPE metallb_speaker_announced gauge',
  ...(o.announced ?? []).map(([s, p, ip]) => `metallb_speaker_announced{service="${s}",protocol="${p}",node="${node}",ip="${ip}"} 1`),
  ...(o.up === undefined ? [] : [`metallb_bgp_session_up{peer="198.51.100.1"} ${o.up}`, `metallb_bgp_announced_prefixes_total{peer="198.51.100.1"} ${o.up ? 1 : 0}`]),
  ...(o.members ?? []).map((m) => `metallb_speaker_memberlist_members{member="${m}"} 1`),
  'metallb_k8s_client_config_loaded_bool 1', `metallb_k8s_client_config_stale_bool ${o.stale ?? 0}`, 'metallb_speaker_node_excluded_bool 0',
].join('\n');

function snapshot(text: string, events: EventLite[], scrapes: ClusterSnapshot['scrapes']): ClusterSnapshot {
  return {
    namespace: 'metallb-system', configMapName: 'config', configMap: { data: { config: text } },
    services: [svc('web', ['192.0.2.1']), svc('api', ['203.0.113.1']), svc('new', [])] as never,
    nodes: [{ metadata: { name: 'n1' } }, { metadata: { name: 'n2', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } } }],
    speakerPods: scrapes.map((s) => ({ metadata: { name: s.pod }, spec: { nodeName: s.node }, status: { phase: 'Running' } })),
    slices: [], events, scrapes,
  };
}

test('status: config in force, owners, BGP peers holding the route, memberlist members', () => {
  const events = [ev('ConfigLoaded', `configuration ${configDigest(OLD)} in force: 2 address pool(s)`, '2026-01-01T00:00:00Z'),
    { ...ev('AllocationFailed', 'Failed to allocate IP for "default/new": no available IPs', '2026-01-01T00:01:00Z', 'Warning'), involvedObject: { kind: 'Service', namespace: 'default', name: 'new' } }];
  const r = buildStatus(snapshot(OLD, events, [
    { pod: 'speaker-a', node: 'n1', metrics: speakerMetrics('n1', { announced: [['default/web', 'layer2', '192.0.2.1'], ['default/api', 'bgp', '203.0.113.1']], up: 1, members: ['n1', 'n3'] }) },
    { pod: 'speaker-c', node: 'n3', metrics: speakerMetrics('n3', { announced: [['default/api', 'bgp', '203.0.113.1']], up: 0, members: ['n1', 'n3'] }) },
  ]));
  assert.equal(r.config.state, 'in-force');
  assert.deepEqual(r.config.pools.map((p) => p.name), ['lan', 'edge']);
  const web = r.services.find((s) => s.service === 'default/web');
  assert.deepEqual({ by: web?.announcedBy, pool: web?.pool, protocol: web?.protocol, ok: web?.ok }, { by: ['n1'], pool: 'lan', protocol: 'layer2', ok: true });
  const api = r.services.find((s) => s.service === 'default/api');
  assert.deepEqual(api?.announcedBy, ['n1', 'n3']);
  assert.deepEqual(api?.peers, ['n1 -> 198.51.100.1'], 'only the node whose session is up holds the route at the peer');
  assert.equal(r.services.find((s) => s.service === 'default/new')?.reason, 'AllocationFailed: Failed to allocate IP for "default/new": no available IPs');
  assert.deepEqual(r.speakers.map((s) => [s.node, s.members.join(',')]), [['n1', 'n1,n3'], ['n3', 'n1,n3']]);
  assert.ok(r.problems.includes('speaker on n3: BGP session to 198.51.100.1 is down'), r.problems.join('\n'));
  assert.match(formatStatus(r), /default\/web\s+192\.0\.2\.1\s+lan\s+layer2\s+n1/);
});

test('status: the latest content refused, since when and why; stale speakers listed', () => {
  const events = [ev('ConfigLoaded', `configuration ${configDigest(OLD)} in force: 2 address pool(s)`, '2026-01-01T00:00:00Z'),
    ev('ConfigNotCompatible', 'configuration refused, previous configuration stays in force: new config not compatible with assigned IPs: service "default/web" cannot own ["192.0.2.1"] under new config', '2026-01-02T00:00:00Z', 'Warning')];
  const r = buildStatus(snapshot(NEW, events, [{ pod: 'speaker-a', node: 'n1', metrics: speakerMetrics('n1', { stale: 1 }) }, { pod: 'speaker-b', node: 'n2', error: 'not allowed' }]));
  assert.equal(r.config.state, 'refused');
  assert.equal(r.config.inForce?.digest, configDigest(OLD));
  assert.equal(r.config.refused?.kind, 'ConfigNotCompatible');
  assert.equal(r.config.refused?.since, '2026-01-02T00:00:00Z');
  assert.match(r.config.refused?.reason ?? '', /^new config not compatible/);
  assert.deepEqual(r.config.staleSpeakers, ['n1']);
  assert.equal(r.speakers.find((s) => s.node === 'n2')?.reachable, false);
  assert.equal(r.speakers.find((s) => s.node === 'n2')?.excluded, true, 'from the Node label when the metric is unreadable');
  assert.ok(r.problems.some((p) => p.startsWith('config metallb-system/config refused (ConfigNotCompatible)')));
  // a new content without any verdict yet
  assert.equal(buildStatus(snapshot(NEW, events.slice(0, 1), [])).config.state, 'pending');
});
