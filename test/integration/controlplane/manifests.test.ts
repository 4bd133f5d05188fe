// The install manifests against a real API server: `kubectl apply -f`, `apply -k .` and the
// documented overlay create every object without warnings, and the live objects carry what
// spec section 6 lists (ports, env, probes, security contexts, PSA labels instead of PSPs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { startControlPlane, type ControlPlane } from '../../support/sandbox/controlplane.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const namespaceFile = join(root, 'manifests', 'namespace.yaml');
const metallbFile = join(root, 'manifests', 'metallb.yaml');
const overlayDir = join(root, 'examples', 'kustomize-overlay');

interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

function refsOf(file: string): ObjectRef[] {
  return yaml.loadAll(readFileSync(file, 'utf8'))
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
    .map((d) => {
      const meta = d.metadata as { name: string; namespace?: string };
      return { apiVersion: String(d.apiVersion), kind: String(d.kind), name: meta.name, namespace: meta.namespace };
    });
}

const key = (r: ObjectRef): string => `${r.kind}/${r.namespace ?? ''}/${r.name}`;

interface LiveObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

async function liveObjects(cp: ControlPlane, files: readonly string[]): Promise<LiveObject[]> {
  const r = await cp.kubectl(['get', ...files.flatMap((f) => ['-f', f]), '-o', 'json']);
  const parsed = JSON.parse(r.stdout) as { items?: LiveObject[] } & LiveObject;
  return parsed.items ?? [parsed];
}

async function withControlPlane(fn: (cp: ControlPlane) => Promise<void>): Promise<void> {
  const cp = await startControlPlane();
  try {
    await fn(cp);
  } finally {
    await cp.stop();
  }
}

/** Warnings kubectl prints for deprecated/removed APIs or Pod Security violations. */
function assertNoWarnings(stderr: string): void {
  assert.doesNotMatch(stderr, /Warning|deprecated|would violate PodSecurity|no matches for kind/i, stderr);
}

test('the manifests use no API removed from current Kubernetes', () => {
  const refs = [...refsOf(namespaceFile), ...refsOf(metallbFile)];
  assert.deepEqual(refs.filter((r) => r.kind === 'PodSecurityPolicy' || r.apiVersion.includes('v1beta1')), []);
  const text = readFileSync(metallbFile, 'utf8');
  assert.doesNotMatch(text, /podsecuritypolicies/);
});

test('kubectl apply -f namespace.yaml -f metallb.yaml creates every object', async () => {
  await withControlPlane(async (cp) => {
    const r = await cp.kubectl(['apply', '-f', namespaceFile, '-f', metallbFile]);
    assertNoWarnings(r.stderr);
    const expected = [...refsOf(namespaceFile), ...refsOf(metallbFile)];
    assert.equal(expected.length, 15);
    const live = await liveObjects(cp, [namespaceFile, metallbFile]);
    assert.deepEqual(live.map((o) => key({ ...o, name: o.metadata.name, namespace: o.metadata.namespace })).sort(), expected.map(key).sort());
    for (const o of live) assert.equal(o.metadata.labels?.app, 'metallb', `${o.kind}/${o.metadata.name} lacks label app=metallb`);

    // namespace: Pod Security Admission instead of PodSecurityPolicy
    const ns = live.find((o) => o.kind === 'Namespace');
    for (const mode of ['enforce', 'audit', 'warn']) assert.equal(ns?.metadata.labels?.[`pod-security.kubernetes.io/${mode}`], 'privileged');

    // the objects as the API server stored them (with defaults) carry spec section 6.3
    const ds = JSON.parse((await cp.kubectl(['get', 'daemonset', 'speaker', '-n', 'metallb-system', '-o', 'json'])).stdout);
    const dep = JSON.parse((await cp.kubectl(['get', 'deployment', 'controller', '-n', 'metallb-system', '-o', 'json'])).stdout);
    const sp = ds.spec.template.spec;
    const sc = sp.containers[0];
    const cpod = dep.spec.template.spec;
    const cc = cpod.containers[0];
    const args = ['--port=7472', '--config=config', '--log-level=info'];
    const cases: [string, unknown, unknown][] = [
      ['speaker selector', ds.spec.selector.matchLabels, { app: 'metallb', component: 'speaker' }],
      ['speaker hostNetwork', sp.hostNetwork, true],
      ['speaker serviceAccount', sp.serviceAccountName, 'speaker'],
      ['speaker args', sc.args, args],
      ['speaker capabilities', sc.securityContext.capabilities, { add: ['NET_RAW'], drop: ['ALL'] }],
      ['speaker allowPrivilegeEscalation', sc.securityContext.allowPrivilegeEscalation, false],
      ['speaker readOnlyRootFilesystem', sc.securityContext.readOnlyRootFilesystem, true],
      ['speaker runs as root (no pod securityContext user)', sp.securityContext.runAsUser, undefined],
      ['speaker ports', sc.ports.map((p: { name: string; containerPort: number; protocol: string }) => `${p.name}:${p.containerPort}/${p.protocol}`),
        ['monitoring:7472/TCP', 'memberlist-tcp:7946/TCP', 'memberlist-udp:7946/UDP']],
      ['speaker env', sc.env.map((e: { name: string }) => e.name),
        ['METALLB_NODE_NAME', 'METALLB_HOST', 'METALLB_ML_BIND_ADDR', 'METALLB_ML_LABELS', 'METALLB_ML_SECRET_KEY']],
      ['speaker node name from', sc.env[0].valueFrom.fieldRef.fieldPath, 'spec.nodeName'],
      ['speaker host from', sc.env[1].valueFrom.fieldRef.fieldPath, 'status.hostIP'],
      ['speaker bind addr from', sc.env[2].valueFrom.fieldRef.fieldPath, 'status.podIP'],
      ['speaker ml labels', sc.env[3].value, 'app=metallb,component=speaker'],
      ['speaker secret key from', sc.env[4].valueFrom.secretKeyRef, { name: 'memberlist', key: 'secretkey' }],
      ['speaker grace', sp.terminationGracePeriodSeconds, 2],
      ['speaker tolerations', sp.tolerations.map((t: { key: string }) => t.key), ['node-role.kubernetes.io/master', 'node-role.kubernetes.io/control-plane']],
      ['speaker nodeSelector', sp.nodeSelector, { 'kubernetes.io/os': 'linux' }],
      ['speaker scrape annotation', ds.spec.template.metadata.annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '7472' }],
      ['controller selector', dep.spec.selector.matchLabels, { app: 'metallb', component: 'controller' }],
      ['controller replicas (unset -> 1)', dep.spec.replicas, 1],
      ['controller revisionHistoryLimit', dep.spec.revisionHistoryLimit, 3],
      ['controller serviceAccount', cpod.serviceAccountName, 'controller'],
      ['controller args', cc.args, args],
      ['controller env', cc.env, [{ name: 'METALLB_ML_SECRET_NAME', value: 'memberlist' }, { name: 'METALLB_DEPLOYMENT', value: 'controller' }]],
      ['controller pod securityContext', cpod.securityContext, { runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534 }],
      ['controller capabilities', cc.securityContext.capabilities, { drop: ['ALL'] }],
      ['controller readOnlyRootFilesystem', cc.securityContext.readOnlyRootFilesystem, true],
      ['controller ports', cc.ports.map((p: { name: string; containerPort: number }) => `${p.name}:${p.containerPort}`), ['monitoring:7472']],
      ['controller grace', cpod.terminationGracePeriodSeconds, 0],
      ['controller hostNetwork', cpod.hostNetwork, undefined],
    ];
    for (const c of [sc, cc]) {
      for (const probe of [c.livenessProbe, c.readinessProbe]) {
        cases.push([`${c.name} probe`, probe, {
          httpGet: { path: '/metrics', port: 'monitoring', scheme: 'HTTP' },
          initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3,
        }]);
      }
    }
    for (const [name, actual, expected] of cases) assert.deepEqual(actual, expected, name);
  });
});

test('kubectl apply -k . creates the same objects as the two files', async () => {
  await withControlPlane(async (cp) => {
    const r = await cp.kubectl(['apply', '-k', '.'], { cwd: root });
    assertNoWarnings(r.stderr);
    const expected = [...refsOf(namespaceFile), ...refsOf(metallbFile)];
    const live = await liveObjects(cp, [namespaceFile, metallbFile]);
    assert.equal(live.length, expected.length);
    // nothing to change when the plain files are applied on top: the two installs are identical
    const diff = await cp.kubectl(['diff', '-f', namespaceFile, '-f', metallbFile], { check: false });
    assert.equal(diff.code, 0, `kubectl diff found differences:\n${diff.stdout}${diff.stderr}`);
  });
});

test('the kustomize overlay installs everything plus ConfigMap "config" in metallb-system', async () => {
  await withControlPlane(async (cp) => {
    const r = await cp.kubectl(['apply', '-k', overlayDir]);
    assertNoWarnings(r.stderr);
    await liveObjects(cp, [namespaceFile, metallbFile]); // fails if any object is missing
    const cm = JSON.parse((await cp.kubectl(['get', 'configmap', 'config', '-n', 'metallb-system', '-o', 'json'])).stdout) as LiveObject;
    assert.equal(cm.metadata.name, 'config');
    assert.deepEqual(Object.keys(cm.data ?? {}), ['config']);
    assert.equal(cm.data?.config, readFileSync(join(overlayDir, 'config'), 'utf8'));
    const all = await cp.kubectl(['get', 'configmaps', '-n', 'metallb-system', '-o', 'name']);
    assert.deepEqual(all.stdout.trim().split('\n').filter((n) => n !== 'configmap/kube-root-ca.crt'), ['configmap/config']);
  });
});

test('Pod Security Admission admits the speaker pod in metallb-system (and would refuse it elsewhere)', async () => {
  await withControlPlane(async (cp) => {
    await cp.kubectl(['apply', '-f', namespaceFile, '-f', metallbFile]);
    const ds = yaml.loadAll(readFileSync(metallbFile, 'utf8')).find((d) => (d as LiveObject).kind === 'DaemonSet') as
      { spec: { template: { metadata: Record<string, unknown>; spec: Record<string, unknown> } } };
    const pod = (namespace: string): string => JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...ds.spec.template.metadata, name: 'speaker-node1', namespace },
      spec: { ...ds.spec.template.spec, nodeName: 'node1' },
    });
    // what tests do instead of a kubelet: create the speaker Pod, then set its status
    const created = await cp.kubectl(['create', '-f', '-'], { input: pod('metallb-system') });
    assertNoWarnings(created.stderr);
    await cp.kubectl(['patch', 'pod', 'speaker-node1', '-n', 'metallb-system', '--subresource=status', '--type=merge',
      '-p', JSON.stringify({ status: { podIP: '198.51.100.11', podIPs: [{ ip: '198.51.100.11' }], hostIP: '198.51.100.11' } })]);
    const ip = await cp.kubectl(['get', 'pod', 'speaker-node1', '-n', 'metallb-system', '-o', 'jsonpath={.status.podIP}']);
    assert.equal(ip.stdout, '198.51.100.11');
    // a namespace at the "baseline" level refuses the same pod (baseline forbids host networking):
    // the namespace labels are what lets the speaker run
    await cp.kubectl(['create', 'namespace', 'baseline-ns']);
    await cp.kubectl(['label', 'namespace', 'baseline-ns', 'pod-security.kubernetes.io/enforce=baseline']);
    await cp.kubectl(['create', 'serviceaccount', 'speaker', '-n', 'baseline-ns']);
    const refused = await cp.kubectl(['create', '-f', '-'], { input: pod('baseline-ns'), check: false });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "baseline[^]*host namespaces/);
  });
});
