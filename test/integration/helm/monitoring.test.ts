// The chart ships the project's monitoring (manifests/monitoring/, linked into the chart as
// files/monitoring/) instead of a second copy: PrometheusRule from the rules files there, with
// upstream's per-alert switches, and a dashboard ConfigMap holding the JSON files unchanged. The
// mechanism is checked on fixture files in a copy of the chart; the real directory is checked for
// being shipped whole.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import yaml from 'js-yaml';
import { chartCopyWithMonitoring, chartDir, find, render, repoRoot, type K8sObject } from '../../support/helm.js';

const seed = readFileSync(join(repoRoot, 'test', 'fixtures', 'helm', 'seed-inline.yaml'), 'utf8');
const fixtureDir = join(repoRoot, 'test', 'fixtures', 'helm', 'monitoring');
const work = mkdtempSync(join(tmpdir(), 'metallb-ts-chart-copy-'));
after(() => rmSync(work, { recursive: true, force: true }));

let copy: string | undefined;
function chartWithFixtures(): string {
  copy ??= chartCopyWithMonitoring(work, fixtureDir);
  return copy;
}

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleObject extends K8sObject { spec: { groups: { name: string; rules: Rule[] }[] } }
const rules = (o: K8sObject): Rule[] => (o as RuleObject).spec.groups.flatMap((g) => g.rules);
const byName = (rs: Rule[], n: string): Rule | undefined => rs.find((r) => (r.alert ?? r.record) === n);

test('files/monitoring is a link to manifests/monitoring (one copy of the monitoring files)', () => {
  const link = join(chartDir, 'files', 'monitoring');
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(resolve(dirname(link), readlinkSync(link)), join(repoRoot, 'manifests', 'monitoring'));
});

test('PrometheusRule: every rule of both file forms, upstream switches and labels applied, thresholds and extraAlerts added', async () => {
  const extra = { alert: 'MyExtra', expr: 'up == 0', labels: { severity: 'info' } };
  const r = await render({
    chart: chartWithFixtures(),
    values: [seed, { prometheus: { prometheusRule: {
      enabled: true, additionalLabels: { release: 'kp' },
      staleConfig: { enabled: true, labels: { severity: 'warning' } },
      addressPoolUsage: { enabled: true, thresholds: [{ percent: 80, labels: { severity: 'page' } }] },
      extraAlerts: [extra],
    } } }],
  });
  assert.equal(r.code, 0, r.stderr);
  const pr = find(r.objects, 'PrometheusRule');
  assert.equal(pr.metadata.labels?.release, 'kp');
  const all = rules(pr);
  const fromFiles = [
    ...(yaml.load(readFileSync(join(fixtureDir, 'rules.yaml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules),
    ...(yaml.load(readFileSync(join(fixtureDir, 'prometheusrule.yaml'), 'utf8')) as { spec: { groups: { rules: Rule[] }[] } }).spec.groups.flatMap((g) => g.rules),
  ];
  for (const f of fromFiles) {
    const got = byName(all, (f.alert ?? f.record)!);
    assert.ok(got, `${f.alert ?? f.record} shipped`);
    assert.equal(got.expr, f.expr);
    assert.equal(got.for, f.for);
  }
  // the values' labels win over the file's, the file's other labels stay
  assert.deepEqual(byName(all, 'MetalLBStaleConfig')?.labels, { severity: 'warning', team: 'network' });
  assert.deepEqual(byName(all, 'MetalLBStaleConfig')?.annotations, { summary: 'stale' });
  // bgpSessionDown keeps its default switch (enabled, severity alert)
  assert.equal(byName(all, 'MetalLBBGPSessionDown')?.labels?.severity, 'alert');
  const usage = byName(all, 'MetalLBAddressPoolUsage80Percent');
  assert.ok(usage);
  assert.match(usage.expr, /> 80$/);
  assert.deepEqual(usage.labels, { severity: 'page' });
  assert.deepEqual(byName(all, 'MyExtra'), extra);
  assert.equal(all.length, fromFiles.length + 2);
});

test('PrometheusRule: a disabled switch leaves that alert out', async () => {
  const r = await render({ chart: chartWithFixtures(), values: [seed, { prometheus: { prometheusRule: { enabled: true, staleConfig: { enabled: false }, bgpSessionDown: { enabled: false }, addressPoolUsage: { enabled: false } } } }] });
  assert.equal(r.code, 0, r.stderr);
  const names = rules(find(r.objects, 'PrometheusRule')).map((x) => x.alert ?? x.record).sort();
  assert.deepEqual(names, ['FixtureOnlyAlert', 'fixture:sessions:sum']);
});

test('Grafana dashboard ConfigMap: each JSON file unchanged, with the sidecar label and the chosen namespace', async () => {
  const r = await render({ chart: chartWithFixtures(), values: [seed, { prometheus: { grafanaDashboard: { enabled: true, namespace: 'grafana', labels: { grafana_dashboard: '1', extra: 'x' } } } }] });
  assert.equal(r.code, 0, r.stderr);
  const cm = find(r.objects, 'ConfigMap', 'metallb-metallb-ts-grafana-dashboard') as K8sObject & { data: Record<string, string> };
  assert.equal(cm.metadata.namespace, 'grafana');
  assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
  assert.equal(cm.metadata.labels?.extra, 'x');
  assert.deepEqual(Object.keys(cm.data), ['dashboard.json']);
  assert.deepEqual(JSON.parse(cm.data['dashboard.json']), JSON.parse(readFileSync(join(fixtureDir, 'dashboard.json'), 'utf8')));
  assert.equal(cm.data['dashboard.json'].trim(), readFileSync(join(fixtureDir, 'dashboard.json'), 'utf8').trim());
});

test("the real chart ships manifests/monitoring/'s files (or says plainly that there are none)", async () => {
  const dir = join(repoRoot, 'manifests', 'monitoring');
  const files = readdirSync(dir).filter((f) => !f.startsWith('.'));
  const dashboards = files.filter((f) => f.endsWith('.json'));
  const ruleFiles = files.filter((f) => /\.ya?ml$/.test(f)).filter((f) => {
    const docs = yaml.loadAll(readFileSync(join(dir, f), 'utf8')) as { groups?: unknown; spec?: { groups?: unknown } }[];
    return docs.some((d) => d && (d.groups || d.spec?.groups));
  });
  const r = await render({ values: [seed, { prometheus: { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } } }] });
  if (ruleFiles.length === 0 || dashboards.length === 0) {
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /has no (alert rules|dashboard) in files\/monitoring/);
    return;
  }
  assert.equal(r.code, 0, r.stderr);
  const cm = find(r.objects, 'ConfigMap', 'metallb-metallb-ts-grafana-dashboard') as K8sObject & { data: Record<string, string> };
  for (const d of dashboards) assert.equal(cm.data[d]?.trim(), readFileSync(join(dir, d), 'utf8').trim(), d);
  const shipped = rules(find(r.objects, 'PrometheusRule')).map((x) => x.alert ?? x.record);
  for (const f of ruleFiles) {
    for (const doc of yaml.loadAll(readFileSync(join(dir, f), 'utf8')) as { groups?: { rules: Rule[] }[]; spec?: { groups?: { rules: Rule[] }[] } }[]) {
      for (const g of doc?.groups ?? doc?.spec?.groups ?? []) for (const rule of g.rules) assert.ok(shipped.includes(rule.alert ?? rule.record), `${f}: ${rule.alert ?? rule.record}`);
    }
  }
});
