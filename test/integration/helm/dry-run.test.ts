// Rendered objects against a real API server (etcd + kube-apiserver, lib/sandbox/controlplane):
// `kubectl apply --dry-run=server --validate=strict` accepts what the chart renders for every
// fixture values file, with no warnings; Prometheus Operator kinds are checked against stand-in
// CRDs with the fields the chart uses (test/fixtures/crds/monitoring-coreos-subset.yaml). The
// server demonstrably refuses a bad rendering, so the check can fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../../support/sandbox/controlplane.js';
import { chartCopyWithMonitoring, render, repoRoot } from '../../support/helm.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'helm');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');
const monitoringCRDs = join(repoRoot, 'test', 'fixtures', 'crds', 'monitoring-coreos-subset.yaml');

let cp: ControlPlane;

before(async () => {
  cp = await startControlPlane();
  await cp.kubectl(['apply', '-f', join(repoRoot, 'manifests', 'namespace.yaml')]);
  await cp.kubectl(['create', 'namespace', 'lb']);
  await cp.kubectl(['apply', '-f', monitoringCRDs]);
  await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s',
    'crd/podmonitors.monitoring.coreos.com', 'crd/servicemonitors.monitoring.coreos.com', 'crd/prometheusrules.monitoring.coreos.com']);
});

after(async () => {
  await cp?.stop();
});

async function dryRun(text: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return cp.kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], { input: text, check: false });
}

const work = mkdtempSync(join(tmpdir(), 'metallb-ts-helm-dry-run-'));
after(() => rmSync(work, { recursive: true, force: true }));
let monitoringChart: string | undefined;
const withMonitoring = (): string => (monitoringChart ??= chartCopyWithMonitoring(work, join(fixtures, 'monitoring')));

const CASES: { name: string; values: (Record<string, unknown> | string)[]; namespace?: string; chart?: () => string }[] = [
  { name: 'seed configInline', values: [fixture('seed-inline.yaml')] },
  { name: 'existingConfigMap', values: [fixture('existing-configmap.yaml')] },
  { name: 'custom images', values: [fixture('custom-images.yaml')] },
  { name: 'tolerations and scheduling', values: [fixture('scheduling.yaml')] },
  { name: 'rbac.create=false with named accounts', values: [fixture('no-rbac.yaml')] },
  { name: 'created named accounts, fullnameOverride, another namespace', values: [fixture('named-accounts.yaml')], namespace: 'lb' },
  { name: 'prometheus annotations and PodMonitors', values: [fixture('prometheus.yaml')] },
  { name: 'ServiceMonitors', values: [fixture('seed-inline.yaml'), { prometheus: { serviceMonitor: { enabled: true, interval: '1m' } } }] },
  { name: 'legacy keys', values: [fixture('legacy-keys.yaml')] },
  { name: 'PrometheusRule and dashboard ConfigMap (fixture monitoring files)', chart: withMonitoring,
    values: [fixture('seed-inline.yaml'), { prometheus: { prometheusRule: { enabled: true, extraAlerts: [{ alert: 'X', expr: 'up == 0' }] }, grafanaDashboard: { enabled: true } } }] },
];

for (const c of CASES) {
  test(`server-side dry run accepts the rendering: ${c.name}`, async () => {
    const r = await render({ values: c.values, namespace: c.namespace ?? 'metallb-system', chart: c.chart?.() });
    assert.equal(r.code, 0, r.stderr);
    const out = await dryRun(r.stdout);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /Warning|deprecated|would violate PodSecurity/i, out.stderr);
    // kubectl reports one line per object
    const created = out.stdout.split('\n').filter((l) => /\b(created|configured|unchanged) \(server dry run\)$/.test(l));
    assert.equal(created.length, r.objects.length, out.stdout);
  });
}

test('the server refuses a rendering the chart lets through from the values (so the dry run can fail)', async () => {
  const r = await render({ values: [fixture('seed-inline.yaml'), { speaker: { tolerations: [{ key: 'x', operator: 'Sometimes', effect: 'NoSchedule' }] } }] });
  assert.equal(r.code, 0, r.stderr);
  const out = await dryRun(r.stdout);
  assert.notEqual(out.code, 0);
  assert.match(out.stderr, /tolerations\[\d+\]\.operator/);
  // and a field the stand-in CRDs do not know
  const pm = await render({ values: [fixture('prometheus.yaml')] });
  const mangled = pm.objects.map((o) => (o.kind === 'PodMonitor' ? { ...o, spec: { ...(o.spec as object), podMetricEndpoints: [] } } : o));
  const bad = await dryRun(mangled.map((o) => yaml.dump(o)).join('---\n'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown field "spec\.podMetricEndpoints"/);
});
