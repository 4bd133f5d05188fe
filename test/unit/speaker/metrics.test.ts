import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import {
  K8S_CLIENT_METRIC_NAMES,
  SPEAKER_METRIC_NAMES,
  SPEAKER_EXTRA_METRIC_NAMES,
  bgpSessionClosed,
  bgpSessionCreated,
  createSpeakerMetrics,
  recordAnnounced,
  recordConfigState,
} from '../../../lib/metrics/speaker.js';
import { SpeakerState } from '../../../lib/speaker/state.js';
import { readinessFromEndpoints } from '../../../lib/speaker/endpoints.js';
import { goQuote, nodeAssignedEvent } from '../../../lib/speaker/events.js';
import { config, pool, service } from './fixtures.js';

// docs/behaviour/metrics.md#metrics: name, type, labels
const table: [string, 'gauge' | 'counter', string[]][] = [
  ['metallb_speaker_announced', 'gauge', ['service', 'protocol', 'node', 'ip']],
  ['metallb_layer2_requests_received', 'counter', ['ip']],
  ['metallb_layer2_responses_sent', 'counter', ['ip']],
  ['metallb_layer2_gratuitous_sent', 'counter', ['ip']],
  ['metallb_bgp_session_up', 'gauge', ['peer']],
  ['metallb_bgp_updates_total', 'counter', ['peer']],
  ['metallb_bgp_announced_prefixes_total', 'gauge', ['peer']],
  ['metallb_bgp_pending_prefixes_total', 'gauge', ['peer']],
  ['metallb_k8s_client_updates_total', 'counter', []],
  ['metallb_k8s_client_update_errors_total', 'counter', []],
  ['metallb_k8s_client_config_loaded_bool', 'gauge', []],
  ['metallb_k8s_client_config_stale_bool', 'gauge', []],
];

test('metric names, types and labels are upstream\'s', async () => {
  const m = createSpeakerMetrics();
  assert.deepEqual([...SPEAKER_METRIC_NAMES, ...K8S_CLIENT_METRIC_NAMES].sort(), table.map(([n]) => n).sort());
  for (const [name, type, labels] of table) {
    const metric = m.registry.getSingleMetric(name);
    assert.ok(metric, name);
    const json = await metric.get();
    assert.equal(json.type, type, name);
    // exercise every label so it appears in the exposition
    const values = Object.fromEntries(labels.map((l) => [l, `v-${l}`]));
    if (type === 'counter') (metric as unknown as { inc(l: object): void }).inc(values);
    else (metric as unknown as { set(l: object, v: number): void }).set(values, 1);
    const text = await m.registry.getSingleMetricAsString(name);
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
    const sample = labels.length ? `${name}{${labels.map((l) => `${l}="v-${l}"`).join(',')}} 1` : `${name} 1`;
    assert.ok(text.includes(sample), `${name}: ${text}`);
  }
});

test('the additions (not upstream) are registered too, outside upstream\'s names', async () => {
  const m = createSpeakerMetrics();
  for (const name of SPEAKER_EXTRA_METRIC_NAMES) {
    assert.ok(m.registry.getSingleMetric(name), name);
    assert.ok(!(SPEAKER_METRIC_NAMES as readonly string[]).includes(name), name);
  }
  m.memberlistMembers.set({ member: 'node-a' }, 1);
  m.nodeExcluded.set(1);
  const text = await m.registry.metrics();
  assert.ok(text.includes('metallb_speaker_memberlist_members{member="node-a"} 1'), text);
  assert.ok(/^metallb_speaker_node_excluded_bool 1$/m.test(text), text);
});

test('k8s client metrics can be left to another module sharing the registry; process metrics optional', async () => {
  const registry = new Registry();
  const m = createSpeakerMetrics({ registry, k8sClientMetrics: false, processMetrics: true });
  assert.equal(m.registry.getSingleMetric('metallb_k8s_client_updates_total'), undefined);
  assert.ok(m.registry.getSingleMetric('nodejs_eventloop_lag_p99_seconds'), 'event-loop lag exported');
  assert.ok(createSpeakerMetrics({ registry: new Registry() }).registry.getSingleMetric('metallb_k8s_client_config_stale_bool'));
});

test('announced series follow the state: set on announce, removed on withdraw', async () => {
  const m = createSpeakerMetrics();
  const s = new SpeakerState({ nodeName: 'node-b', usableSpeakers: new Set(['node-a', 'node-b', 'node-c']) });
  const o = s.setConfig(config([pool('lan', 'layer2', ['172.18.0.200-172.18.0.250'])]));
  recordConfigState(m, s);
  assert.equal(o.status, 'adopted');
  s.updateService('default/web', service({ ips: ['172.18.0.200'] }));
  recordAnnounced(m, s.updateEndpoints('default/web', readinessFromEndpoints({ subsets: [{ addresses: [{ ip: '10.0.0.1', nodeName: 'node-a' }] }] })));
  const text = await m.registry.metrics();
  assert.ok(text.includes('metallb_speaker_announced{service="default/web",protocol="layer2",node="node-b",ip="172.18.0.200"} 1'), text);
  assert.ok(text.includes('metallb_k8s_client_config_loaded_bool 1'));
  assert.ok(text.includes('metallb_k8s_client_config_stale_bool 0'));
  recordAnnounced(m, s.updateService('default/web', undefined));
  assert.ok(!(await m.registry.metrics()).includes('metallb_speaker_announced{'), 'series removed on withdraw');
});

test('BGP session series: created at 0, all four removed on close', async () => {
  const m = createSpeakerMetrics();
  bgpSessionCreated(m, '10.0.0.1:179');
  let text = await m.registry.metrics();
  assert.ok(text.includes('metallb_bgp_session_up{peer="10.0.0.1:179"} 0'));
  assert.ok(text.includes('metallb_bgp_announced_prefixes_total{peer="10.0.0.1:179"} 0'));
  m.bgpUpdatesTotal.inc({ peer: '10.0.0.1:179' });
  m.bgpPendingPrefixesTotal.set({ peer: '10.0.0.1:179' }, 3);
  bgpSessionClosed(m, '10.0.0.1:179');
  text = await m.registry.metrics();
  assert.ok(!text.includes('peer="10.0.0.1:179"'), text);
});

test('nodeAssigned event text, Go %q quoting', () => {
  assert.deepEqual(nodeAssignedEvent('node-a'), { type: 'Normal', reason: 'nodeAssigned', message: 'announcing from node "node-a"' });
  assert.equal(goQuote('a"b\\c\n\x01'), '"a\\"b\\\\c\\n\\x01"');
});

test('composes with lib/layer2 counters registered first or after in the same registry', async () => {
  const { layer2PromCounters } = await import('../../../lib/layer2/metrics.js');
  const { layer2Counters } = await import('../../../lib/metrics/speaker.js');
  for (const order of ['layer2-first', 'speaker-first'] as const) {
    const registry = new Registry();
    let fromLayer2 = order === 'layer2-first' ? layer2PromCounters(registry) : undefined;
    const m = createSpeakerMetrics({ registry });
    fromLayer2 ??= layer2PromCounters(registry);
    fromLayer2.requestReceived('192.0.2.1');
    layer2Counters(m).requestReceived('192.0.2.1');
    layer2Counters(m).gratuitousSent('192.0.2.1');
    const text = await registry.metrics();
    assert.ok(text.includes('metallb_layer2_requests_received{ip="192.0.2.1"} 2'), `${order}: ${text}`);
    assert.ok(text.includes('metallb_layer2_gratuitous_sent{ip="192.0.2.1"} 1'), order);
  }
});

test('creating the speaker metrics twice in one registry reuses them', () => {
  const registry = new Registry();
  const a = createSpeakerMetrics({ registry, processMetrics: true });
  const b = createSpeakerMetrics({ registry, processMetrics: true });
  assert.equal(a.announced, b.announced);
});
