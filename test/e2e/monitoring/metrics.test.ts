// Every metric a panel of manifests/monitoring/grafana-dashboard.json or a rule of
// manifests/monitoring/prometheus-rules.yaml reads is exported by the real daemons: the
// controller and a speaker (in a node namespace, with a BGP session to FRR and a layer 2 and a
// BGP Service) run against the real API server and are scraped; the metric names are parsed
// from the PromQL expressions, not listed here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { SpeakerCluster, ROUTER_IP, ASN, root, waitFor, metricValue } from '../speaker/env.js';
import { promqlMetricNames } from '../../support/promql.js';

const CONFIG = `peers:
- peer-address: ${ROUTER_IP}
  peer-asn: ${ASN}
  my-asn: ${ASN}
address-pools:
- name: lan
  protocol: layer2
  addresses: [198.51.100.200-198.51.100.210]
- name: edge
  protocol: bgp
  addresses: [203.0.113.0/28]
`;

interface Dashboard { panels: { title: string; targets?: { expr: string }[] }[] }
interface Rules { groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[] }

function expressions(): { where: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(join(root, 'manifests', 'monitoring', 'grafana-dashboard.json'), 'utf8')) as Dashboard;
  const rules = yaml.load(readFileSync(join(root, 'manifests', 'monitoring', 'prometheus-rules.yaml'), 'utf8')) as Rules;
  return [
    ...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr }))),
  ];
}

const exported = (text: string): Set<string> => new Set([...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]));

let cluster: SpeakerCluster;
before(async () => {
  cluster = await SpeakerCluster.start({ memberlistTimers: 'fast' });
  await cluster.applyConfig(CONFIG);
  await cluster.ensureNamespace('mon');
  await cluster.applyService('mon', 'l2', { pool: 'lan' });
  await cluster.applyService('mon', 'bgp', { pool: 'edge' });
  await cluster.applyEndpoints('mon', 'l2', [{ node: 'node1', ready: true, ip: '10.244.1.2' }]);
  await cluster.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'bgp-abcde', namespace: 'mon', labels: { 'kubernetes.io/service-name': 'bgp' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.244.1.3'], conditions: { ready: true }, nodeName: 'node1' }], ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  }) });
  cluster.startSpeaker('node1');
});
after(async () => {
  await cluster?.destroy();
});

test('every metric used by the dashboard and the alert rules is exported by the running controller or speaker', async () => {
  await cluster.waitForIngress('mon', 'bgp');
  const speakerText = await waitFor('speaker has a BGP session and announces', async () => {
    const t = await cluster.metrics('node1');
    return /^metallb_bgp_session_up\{[^}]*\} 1$/m.test(t) && (metricValue(t, 'metallb_k8s_client_config_loaded_bool') ?? 0) === 1 ? t : undefined;
  }, 90_000, () => cluster.describeSpeakers());
  const controllerText = await cluster.controller.metrics();
  const names = new Set([...exported(speakerText), ...exported(controllerText)]);
  assert.ok(names.has('metallb_allocator_addresses_total') && names.has('metallb_speaker_announced'), 'both daemons scraped');
  const exprs = expressions();
  assert.ok(exprs.length >= 15, `dashboard and rules read: ${exprs.length} expressions`);
  const missing: string[] = [];
  let used = 0;
  for (const { where, expr } of exprs) {
    const metrics = promqlMetricNames(expr);
    assert.ok(metrics.length > 0, `${where}: no metric found in ${expr}`);
    for (const m of metrics) {
      used++;
      if (!names.has(m)) missing.push(`${where}: ${m} (in ${expr})`);
    }
  }
  assert.deepEqual(missing, [], `not exported:\n${missing.join('\n')}`);
  assert.ok(used > 0);
});
