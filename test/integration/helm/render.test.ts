// `helm template` of charts/metallb-ts with upstream-style values files (test/fixtures/helm/):
// the rendered objects, parsed as YAML, carry what each option says. Expected values come from the
// values files and from Kubernetes' field semantics, not from earlier output of the chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { find, helm, kinds, render, repoRoot, chartDir, upstreamChartDir, type K8sObject } from '../../support/helm.js';
import { parseConfig } from '../../../lib/config/index.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'helm');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

interface Container {
  name: string; image: string; imagePullPolicy?: string; args: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number; protocol: string }[];
  livenessProbe?: Record<string, unknown>; readinessProbe?: Record<string, unknown>;
  resources?: Record<string, unknown>; securityContext?: Record<string, unknown>;
}
interface PodSpec {
  serviceAccountName: string; containers: Container[]; nodeSelector?: Record<string, string>;
  tolerations?: Record<string, string>[]; affinity?: unknown; priorityClassName?: string; runtimeClassName?: string;
  imagePullSecrets?: { name: string }[]; securityContext?: Record<string, unknown>; hostNetwork?: boolean;
}
interface Workload extends K8sObject { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } } }

const workload = (objs: K8sObject[], kind: 'Deployment' | 'DaemonSet'): Workload => find(objs, kind) as Workload;
const pod = (objs: K8sObject[], kind: 'Deployment' | 'DaemonSet'): PodSpec => workload(objs, kind).spec.template.spec;
const container = (objs: K8sObject[], kind: 'Deployment' | 'DaemonSet'): Container => pod(objs, kind).containers[0];
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name);
const arg = (c: Container, flag: string): string | undefined => c.args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);

async function ok(values: (Record<string, unknown> | string)[], release = 'metallb', set: string[] = []): Promise<K8sObject[]> {
  const r = await render({ values, release, set });
  assert.equal(r.code, 0, r.stderr);
  return r.objects;
}

test('seed configInline: the chart owns a ConfigMap holding exactly that configuration, read by both components', async () => {
  const objs = await ok([fixture('seed-inline.yaml')]);
  const cm = find(objs, 'ConfigMap') as K8sObject & { data: Record<string, string> };
  const parsed = parseConfig(cm.data.config);
  assert.deepEqual(parsed.problems, []);
  assert.equal(parsed.config?.pools.length, 1);
  const pool = parsed.config!.pools[0];
  assert.equal(pool.name, 'default');
  assert.equal(pool.protocol, 'layer2');
  assert.deepEqual(pool.cidrs.map(String), ['198.51.100.0/24']);
  for (const kind of ['Deployment', 'DaemonSet'] as const) {
    assert.equal(arg(container(objs, kind), 'config'), cm.metadata.name, `${kind} reads the chart's ConfigMap`);
  }
  // every namespaced object lands in the release namespace
  for (const o of objs) {
    if (!['ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) assert.equal(o.metadata.namespace, 'metallb-system', `${o.kind}/${o.metadata.name}`);
  }
  assert.deepEqual(objs.map((o) => o.kind).sort(), [
    'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'Deployment',
    'Role', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'RoleBinding', 'ServiceAccount', 'ServiceAccount',
  ]);
});

test('the selector labels of each workload match its pod template, and the speaker finds its peers by them', async () => {
  const objs = await ok([fixture('seed-inline.yaml')], 'lb1');
  for (const kind of ['Deployment', 'DaemonSet'] as const) {
    const w = workload(objs, kind);
    for (const [k, v] of Object.entries(w.spec.selector.matchLabels)) assert.equal(w.spec.template.metadata.labels[k], v, `${kind} ${k}`);
  }
  const ds = workload(objs, 'DaemonSet');
  const selector = envOf(container(objs, 'DaemonSet'), 'METALLB_ML_LABELS')?.value ?? '';
  const terms = selector.split(',').map((t) => t.split('='));
  assert.ok(terms.length >= 2);
  for (const [k, v] of terms) assert.equal(ds.spec.template.metadata.labels[k], v, `speaker pods carry ${k}=${v}`);
  assert.equal(ds.spec.template.metadata.labels['app.kubernetes.io/instance'], 'lb1');
});

test('existingConfigMap: no ConfigMap is rendered and both components read the named one', async () => {
  const objs = await ok([fixture('existing-configmap.yaml')]);
  assert.equal(objs.filter((o) => o.kind === 'ConfigMap').length, 0);
  for (const kind of ['Deployment', 'DaemonSet'] as const) assert.equal(arg(container(objs, kind), 'config'), 'metallb-config');
});

test('configInline and existingConfigMap both set: the chart writes the inline config under that name, as upstream does', async () => {
  const objs = await ok([fixture('seed-inline.yaml'), { existingConfigMap: 'named-cm' }]);
  const cm = find(objs, 'ConfigMap') as K8sObject & { data: Record<string, string> };
  assert.equal(cm.metadata.name, 'named-cm');
  assert.deepEqual(parseConfig(cm.data.config).config?.pools.map((p) => p.name), ['default']);
  for (const kind of ['Deployment', 'DaemonSet'] as const) assert.equal(arg(container(objs, kind), 'config'), 'named-cm');
});

test('custom images: repository, tag and pull policy per component; imagePullSecrets on both pods', async () => {
  const objs = await ok([fixture('custom-images.yaml')]);
  const c = container(objs, 'Deployment');
  const s = container(objs, 'DaemonSet');
  assert.equal(c.image, 'registry.example/lb/controller:v9.8.7');
  assert.equal(c.imagePullPolicy, 'Always');
  assert.equal(s.image, 'registry.example/lb/speaker:2024.1');
  assert.equal(s.imagePullPolicy, 'IfNotPresent');
  for (const kind of ['Deployment', 'DaemonSet'] as const) assert.deepEqual(pod(objs, kind).imagePullSecrets, [{ name: 'regcred' }]);
});

test('resources: null removes the default requests and limits', async () => {
  const objs = await ok([fixture('seed-inline.yaml'), { controller: { resources: null }, speaker: { resources: null } }]);
  assert.equal(container(objs, 'Deployment').resources, undefined);
  assert.equal(container(objs, 'DaemonSet').resources, undefined);
});

test('default images: the placeholder repositories with the chart appVersion as tag and no pull policy', async () => {
  const objs = await ok([fixture('seed-inline.yaml')]);
  const chart = yaml.load(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  assert.equal(container(objs, 'Deployment').image, `registry.invalid/metallb-ts/controller:${chart.appVersion}`);
  assert.equal(container(objs, 'DaemonSet').image, `registry.invalid/metallb-ts/speaker:${chart.appVersion}`);
  assert.equal(container(objs, 'Deployment').imagePullPolicy, undefined);
});

test('scheduling options: tolerations, node selectors, affinity, priority, runtime class, resources, annotations', async () => {
  const values = yaml.load(fixture('scheduling.yaml')) as {
    controller: { tolerations: unknown[]; nodeSelector: Record<string, string>; resources: unknown; podAnnotations: Record<string, string>; priorityClassName: string };
    speaker: { tolerations: unknown[]; nodeSelector: Record<string, string>; affinity: unknown; resources: unknown; priorityClassName: string; runtimeClassName: string };
  };
  const objs = await ok([fixture('scheduling.yaml')]);
  const cp = pod(objs, 'Deployment');
  const sp = pod(objs, 'DaemonSet');
  assert.deepEqual(cp.tolerations, values.controller.tolerations);
  // tolerateMaster: false leaves only the user's tolerations
  assert.deepEqual(sp.tolerations, values.speaker.tolerations);
  assert.deepEqual(cp.nodeSelector, { 'kubernetes.io/os': 'linux', ...values.controller.nodeSelector });
  assert.deepEqual(sp.nodeSelector, { 'kubernetes.io/os': 'linux', ...values.speaker.nodeSelector });
  assert.deepEqual(sp.affinity, values.speaker.affinity);
  assert.equal(cp.affinity, undefined);
  assert.equal(cp.priorityClassName, values.controller.priorityClassName);
  assert.equal(sp.priorityClassName, values.speaker.priorityClassName);
  assert.equal(sp.runtimeClassName, values.speaker.runtimeClassName);
  // Helm merges maps of the user's values over the chart's defaults (the defaults are the
  // manifests' requests/limits), key by key
  const defaults = yaml.load(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { controller: { resources: Record<string, object> }; speaker: { resources: Record<string, object> } };
  const merged = (d: Record<string, object>, u: unknown): Record<string, object> => {
    const out: Record<string, object> = { ...d };
    for (const [k, v] of Object.entries(u as Record<string, object>)) out[k] = { ...(d[k] ?? {}), ...v };
    return out;
  };
  assert.deepEqual(cp.containers[0].resources, merged(defaults.controller.resources, values.controller.resources));
  assert.deepEqual(sp.containers[0].resources, merged(defaults.speaker.resources, values.speaker.resources));
  assert.equal((cp.containers[0].resources as { limits: { cpu: string } }).limits.cpu, '100m');
  assert.deepEqual(workload(objs, 'Deployment').spec.template.metadata.annotations, values.controller.podAnnotations);
  assert.equal(workload(objs, 'DaemonSet').spec.template.metadata.annotations, undefined);
});

test('log levels and probes follow the values (a disabled probe is absent)', async () => {
  const objs = await ok([fixture('scheduling.yaml')]);
  const c = container(objs, 'Deployment');
  const s = container(objs, 'DaemonSet');
  assert.equal(arg(c, 'log-level'), 'debug');
  assert.equal(arg(s, 'log-level'), 'warn');
  assert.equal(c.livenessProbe, undefined);
  assert.deepEqual(c.readinessProbe, {
    httpGet: { path: '/metrics', port: 'monitoring' },
    initialDelaySeconds: 3, periodSeconds: 7, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 5,
  });
  assert.equal((s.livenessProbe as { periodSeconds: number }).periodSeconds, 10);
  // the probes' named port exists on the container
  for (const x of [c, s]) assert.ok(x.ports.some((p) => p.name === 'monitoring'));
});

test('memberlist: bind port and Secret name reach the speaker env and ports, the controller env and its Role', async () => {
  const objs = await ok([fixture('scheduling.yaml')]);
  const s = container(objs, 'DaemonSet');
  assert.equal(envOf(s, 'METALLB_ML_BIND_PORT')?.value, '7947');
  assert.deepEqual(s.ports.filter((p) => p.name.startsWith('memberlist')).map((p) => [p.containerPort, p.protocol]), [[7947, 'TCP'], [7947, 'UDP']]);
  assert.deepEqual(envOf(s, 'METALLB_ML_SECRET_KEY')?.valueFrom?.secretKeyRef, { name: 'lb-gossip-key', key: 'secretkey' });
  const c = container(objs, 'Deployment');
  assert.equal(envOf(c, 'METALLB_ML_SECRET_NAME')?.value, 'lb-gossip-key');
  const deploymentName = workload(objs, 'Deployment').metadata.name;
  assert.equal(envOf(c, 'METALLB_DEPLOYMENT')?.value, deploymentName);
  const role = find(objs, 'Role', `${deploymentName}`) as K8sObject & { rules: { resources: string[]; resourceNames?: string[] }[] };
  assert.deepEqual(role.rules.filter((r) => r.resourceNames).map((r) => [r.resources[0], r.resourceNames]), [['secrets', ['lb-gossip-key']], ['deployments', [deploymentName]]]);
});

test('memberlist disabled: no gossip env, ports or Secret Role', async () => {
  const objs = await ok([fixture('seed-inline.yaml'), { speaker: { memberlist: { enabled: false } } }]);
  const s = container(objs, 'DaemonSet');
  assert.deepEqual(s.env?.map((e) => e.name), ['METALLB_NODE_NAME', 'METALLB_HOST']);
  assert.deepEqual(s.ports.map((p) => p.name), ['monitoring']);
  assert.equal(container(objs, 'Deployment').env, undefined);
  assert.ok(!objs.some((o) => o.kind === 'Role' && o.metadata.name.endsWith('-controller')));
});

test('rbac.create=false and existing ServiceAccounts: no RBAC objects, no ServiceAccounts, the pods use the named accounts', async () => {
  const objs = await ok([fixture('no-rbac.yaml')]);
  assert.deepEqual(objs.filter((o) => /Role|ServiceAccount/.test(o.kind)).map((o) => o.kind), []);
  assert.equal(pod(objs, 'Deployment').serviceAccountName, 'lb-controller');
  assert.equal(pod(objs, 'DaemonSet').serviceAccountName, 'lb-speaker');
  assert.deepEqual(kinds(objs), [`DaemonSet/metallb-metallb-ts-speaker`, `Deployment/metallb-metallb-ts-controller`]);
});

test('serviceAccount.create=false without a name falls back to "default"', async () => {
  const objs = await ok([fixture('seed-inline.yaml'), { controller: { serviceAccount: { create: false } }, speaker: { serviceAccount: { create: false } } }]);
  assert.equal(pod(objs, 'Deployment').serviceAccountName, 'default');
  assert.equal(pod(objs, 'DaemonSet').serviceAccountName, 'default');
  assert.equal(objs.filter((o) => o.kind === 'ServiceAccount').length, 0);
});

test('named ServiceAccounts: created with their annotations and bound by every binding; fullnameOverride names the objects', async () => {
  const objs = await ok([fixture('named-accounts.yaml')]);
  const sa = objs.filter((o) => o.kind === 'ServiceAccount');
  assert.deepEqual(sa.map((o) => o.metadata.name).sort(), ['ctl-sa', 'spk-sa']);
  assert.deepEqual(find(objs, 'ServiceAccount', 'ctl-sa').metadata.annotations, { 'example.com/role': 'controller' });
  assert.equal(pod(objs, 'Deployment').serviceAccountName, 'ctl-sa');
  assert.equal(pod(objs, 'DaemonSet').serviceAccountName, 'spk-sa');
  const bindings = objs.filter((o) => o.kind.endsWith('Binding')) as (K8sObject & { subjects: { name: string; namespace?: string }[]; roleRef: { name: string; kind: string } })[];
  const subjects = new Set(bindings.flatMap((b) => b.subjects.map((s) => s.name)));
  assert.deepEqual([...subjects].sort(), ['ctl-sa', 'spk-sa']);
  for (const b of bindings) {
    // every binding points at a role the chart renders
    assert.ok(objs.some((o) => o.kind === b.roleRef.kind && o.metadata.name === b.roleRef.name), `${b.metadata.name} -> ${b.roleRef.kind}/${b.roleRef.name}`);
    if (b.kind === 'ClusterRoleBinding') for (const s of b.subjects) assert.equal(s.namespace, 'metallb-system');
  }
  assert.equal(workload(objs, 'Deployment').metadata.name, 'lb-controller');
  assert.equal(workload(objs, 'DaemonSet').metadata.name, 'lb-speaker');
  assert.equal(find(objs, 'ConfigMap').metadata.name, 'lb');
});

test('prometheus: scrape annotations, metrics port in args, ports and annotations, PodMonitors and the Prometheus Role', async () => {
  const values = yaml.load(fixture('prometheus.yaml')) as { prometheus: { podMonitor: { additionalLabels: Record<string, string>; metricRelabelings: unknown[]; relabelings: unknown[] } } };
  const objs = await ok([fixture('prometheus.yaml')]);
  for (const kind of ['Deployment', 'DaemonSet'] as const) {
    const w = workload(objs, kind);
    assert.deepEqual(w.spec.template.metadata.annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9472' });
    const c = w.spec.template.spec.containers[0];
    assert.equal(arg(c, 'port'), '9472');
    assert.equal(c.ports.find((p) => p.name === 'monitoring')?.containerPort, 9472);
  }
  const monitors = objs.filter((o) => o.kind === 'PodMonitor') as (K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; podMetricsEndpoints: Record<string, unknown>[] } })[];
  assert.equal(monitors.length, 2);
  for (const m of monitors) {
    assert.equal(m.metadata.labels?.release, 'kube-prometheus');
    assert.deepEqual(m.spec.namespaceSelector.matchNames, ['metallb-system']);
    const ep = m.spec.podMetricsEndpoints[0];
    assert.equal(ep.port, 'monitoring');
    assert.equal(ep.interval, '30s');
    assert.deepEqual(ep.metricRelabelings, values.prometheus.podMonitor.metricRelabelings);
    assert.deepEqual(ep.relabelings, values.prometheus.podMonitor.relabelings);
    // the selector picks exactly one of the two workloads' pods
    const matching = (['Deployment', 'DaemonSet'] as const).filter((k) => Object.entries(m.spec.selector.matchLabels).every(([lk, lv]) => workload(objs, k).spec.template.metadata.labels[lk] === lv));
    assert.equal(matching.length, 1, m.metadata.name);
  }
  const rb = find(objs, 'RoleBinding', 'metallb-metallb-ts-prometheus') as K8sObject & { subjects: unknown[] };
  assert.deepEqual(rb.subjects, [{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
});

test('prometheus.serviceMonitor: a headless metrics Service per component and a ServiceMonitor selecting it', async () => {
  const objs = await ok([fixture('seed-inline.yaml'), { prometheus: { serviceMonitor: { enabled: true, interval: '15s' } } }]);
  const services = objs.filter((o) => o.kind === 'Service') as (K8sObject & { spec: { clusterIP: string; selector: Record<string, string>; ports: { port: number; targetPort: string }[] } })[];
  const monitors = objs.filter((o) => o.kind === 'ServiceMonitor') as (K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; interval: string }[] } })[];
  assert.equal(services.length, 2);
  assert.equal(monitors.length, 2);
  for (const m of monitors) {
    const svc = services.filter((s) => Object.entries(m.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
    assert.equal(svc.length, 1, `${m.metadata.name} selects one Service`);
    assert.equal(svc[0].spec.clusterIP, 'None');
    assert.equal(m.spec.endpoints[0].port, 'monitoring');
    assert.equal(m.spec.endpoints[0].interval, '15s');
    const pods = (['Deployment', 'DaemonSet'] as const).filter((k) => Object.entries(svc[0].spec.selector).every(([lk, lv]) => workload(objs, k).spec.template.metadata.labels[lk] === lv));
    assert.equal(pods.length, 1, `${svc[0].metadata.name} selects one workload's pods`);
    assert.equal(svc[0].spec.ports[0].port, 7472);
  }
});

test('controller.enabled / speaker.enabled=false leave that component and its RBAC out', async () => {
  const noSpeaker = await ok([fixture('seed-inline.yaml'), { speaker: { enabled: false } }]);
  assert.ok(!noSpeaker.some((o) => o.kind === 'DaemonSet' || o.metadata.name.includes('speaker')), kinds(noSpeaker).join(' '));
  assert.equal(container(noSpeaker, 'Deployment').env, undefined, 'no memberlist Secret without speakers');
  const noController = await ok([fixture('seed-inline.yaml'), { controller: { enabled: false } }]);
  assert.ok(!noController.some((o) => o.kind === 'Deployment' || o.metadata.name.endsWith('controller')), kinds(noController).join(' '));
});

test('legacy keys (psp.create, speaker.frr.*) are accepted, create nothing, and the release notes say so', async () => {
  const objs = await ok([fixture('legacy-keys.yaml')]);
  assert.ok(!objs.some((o) => o.kind === 'PodSecurityPolicy'));
  assert.deepEqual(pod(objs, 'DaemonSet').containers.map((c) => c.name), ['speaker']);
  assert.equal(envOf(container(objs, 'DaemonSet'), 'METALLB_BGP_TYPE'), undefined);
  const plain = await ok([fixture('seed-inline.yaml')]);
  assert.deepEqual(kinds(objs), kinds(plain));
  const notes = await helm(['install', 'metallb', chartDir, '--dry-run=client', '-n', 'metallb-system', '-f', join(fixtures, 'legacy-keys.yaml')]);
  assert.equal(notes.code, 0, notes.stderr);
  assert.match(notes.stdout, /psp\.create has no effect/);
  assert.match(notes.stdout, /speaker\.frr\.\* has no effect/);
  const plainNotes = await helm(['install', 'metallb', chartDir, '--dry-run=client', '-n', 'metallb-system', '-f', join(fixtures, 'seed-inline.yaml')]);
  assert.doesNotMatch(plainNotes.stdout, /psp\.create|speaker\.frr/);
});

test("upstream v0.12.1's own values.yaml is accepted as a values file, and upstream's schema accepts this chart's defaults", async () => {
  const upstream = upstreamChartDir();
  const r = await render({ values: [readFileSync(join(upstream, 'values.yaml'), 'utf8'), fixture('seed-inline.yaml')] });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.objects.some((o) => o.kind === 'DaemonSet'));
  // upstream's values name upstream's images: they pass through as given
  assert.match(container(r.objects, 'DaemonSet').image, /^quay\.io\/metallb\/speaker:/);
  const { default: AjvModule } = await import('ajv');
  const Ajv = AjvModule as unknown as typeof AjvModule.default;
  const upstreamSchema = JSON.parse(readFileSync(join(upstream, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
  delete upstreamSchema.$schema;
  const validate = new Ajv({ allErrors: true, strict: false }).compile(upstreamSchema);
  const ours = yaml.load(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  assert.ok(validate(ours), JSON.stringify(validate.errors, null, 2));
});
