// Helm on the real cluster (test/support/cluster, images from ./Dockerfile as real pods): the
// README's Helm commands run as written (the seed's configInline: one layer2 pool
// 198.51.100.0/24); the pods become Ready and a LoadBalancer Service answers the client; `helm
// upgrade` with a second pool takes effect without restarting a pod or moving an address; an
// invalid configInline fails the upgrade and changes nothing; `helm uninstall` leaves nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startCluster, type Cluster } from '../../support/cluster/cluster.js';
import { arpMacs, curl, deployBackend, nodeOfMac, podReady, pods, until, type Pod } from '../../support/cluster/metallb.js';
import { helm, repoRoot, type HelmResult } from '../../support/helm.js';

const NS = 'metallb-system';
const RELEASE = 'metallb';
const FULLNAME = 'metallb-metallb-ts';
const SELECTOR = `app.kubernetes.io/instance=${RELEASE}`;
const APP_NS = 'helm-demo';
const FIRST_IP = '198.51.100.200';  // inside the seed's pool, unused on the harness LAN

/** The README's Helm way: its sh block (commands) and yaml block (values.yaml), verbatim. */
function readmeHelm(): { commands: string[][]; values: string } {
  const text = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = text.indexOf('**1. Helm**');
  const end = text.indexOf('**2.', start);
  assert.ok(start >= 0 && end > start, 'README has no "**1. Helm**" install way');
  const part = text.slice(start, end);
  const sh = /```sh\n([\s\S]*?)```/.exec(part)?.[1];
  const values = /```yaml\n([\s\S]*?)```/.exec(part)?.[1];
  assert.ok(sh && values, 'README Helm way lacks its sh or yaml block');
  const commands = sh.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.split(/\s+/));
  return { commands, values };
}

let cluster: Cluster | undefined;
let work: string;
const get = (): Cluster => {
  if (!cluster) throw new Error('the cluster did not start (see the before hook)');
  return cluster;
};
const env = (): Record<string, string> => ({ KUBECONFIG: get().kubeconfigPath });
const helmIn = (args: string[]): Promise<HelmResult> => helm(args, { cwd: work, env: env() });

function valuesFile(name: string, values: unknown): string {
  const p = join(work, name);
  writeFileSync(p, typeof values === 'string' ? values : yaml.dump(values));
  return p;
}

async function releasePods(c: Cluster): Promise<Pod[]> {
  return (await pods(c, SELECTOR, NS)).filter((p) => !p.metadata.deletionTimestamp);
}

async function waitReady(c: Cluster): Promise<Pod[]> {
  return until('controller and one speaker per node Ready', 240_000, async () => {
    const all = await releasePods(c);
    const ready = all.filter(podReady);
    const ctl = ready.filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'controller');
    const sp = ready.filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'speaker');
    const nodes = new Set(sp.map((p) => p.spec.nodeName));
    return ctl.length === 1 && sp.length === c.nodes.length && nodes.size === c.nodes.length && all.length === ready.length ? ready : undefined;
  }, 500);
}

/** uid and restart counts of every release pod, to prove nothing restarted. */
function podIdentity(ps: Pod[]): string[] {
  return ps.map((p) => `${p.metadata.name} ${p.metadata.uid} ${(p.status.containerStatuses ?? []).map((s) => s.restartCount).join(',')}`).sort();
}

async function serviceIP(c: Cluster, name: string, timeoutMs = 90_000): Promise<string> {
  return until(`an address for ${APP_NS}/${name}`, timeoutMs, async () => {
    const s = await c.getJson<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(['get', 'service', name, '-n', APP_NS]);
    return s.status?.loadBalancer?.ingress?.[0]?.ip;
  }, 250);
}

async function lbService(c: Cluster, name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): Promise<void> {
  const svc = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: APP_NS, annotations },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(svc) });
}

async function configMap(c: Cluster): Promise<{ resourceVersion: string; config: string }> {
  const cm = await c.getJson<{ metadata: { resourceVersion: string }; data: { config: string } }>(['get', 'configmap', FULLNAME, '-n', NS]);
  return { resourceVersion: cm.metadata.resourceVersion, config: cm.data.config };
}

async function revisions(): Promise<{ revision: number; status: string }[]> {
  const r = await helmIn(['history', RELEASE, '-n', NS, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { revision: number; status: string }[];
}

const seedValues = (): Record<string, unknown> => yaml.load(readmeHelm().values) as Record<string, unknown>;
function withSecondPool(): Record<string, unknown> {
  const v = seedValues() as { configInline: { 'address-pools': unknown[] } };
  v.configInline['address-pools'].push({ name: 'second', protocol: 'layer2', addresses: ['203.0.113.0/28'] });
  return v;
}

describe('helm on the real cluster', { timeout: 40 * 60_000 }, () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'metallb-ts-helm-cluster-'));
    // the README's commands run from the repository root: charts/ and values.yaml side by side
    symlinkSync(join(repoRoot, 'charts'), join(work, 'charts'));
    writeFileSync(join(work, 'values.yaml'), readmeHelm().values);
    cluster = await startCluster({ nodes: 2, log: (l) => console.log(`# ${l}`) });
  }, { timeout: 15 * 60_000 });
  after(async () => {
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, { timeout: 5 * 60_000 });

  test("the README's Helm commands, as written, install a release whose pods become Ready", async () => {
    const c = get();
    const { commands } = readmeHelm();
    assert.deepEqual(commands.map((w) => w[0]), ['kubectl', 'kubectl', 'helm'], 'README Helm block: kubectl, kubectl, helm');
    for (const words of commands) {
      if (words[0] === 'kubectl') await c.kubectl(words.slice(1), { cwd: work });
      else {
        const r = await helmIn(words.slice(1));
        assert.equal(r.code, 0, `${words.join(' ')}: ${r.stderr}`);
        assert.match(r.stdout, /STATUS: deployed/);
      }
    }
    const ready = await waitReady(c);
    // the images that run are the ones built from ./Dockerfile
    for (const p of ready) {
      const component = p.metadata.labels?.['app.kubernetes.io/component'] as 'controller' | 'speaker';
      assert.equal(p.spec.containers[0]?.image, c.images[component]?.name);
    }
    const cm = await configMap(c);
    assert.deepEqual((yaml.load(cm.config) as { 'address-pools': { addresses: string[] }[] })['address-pools'][0]?.addresses, ['198.51.100.0/24']);
    // the controller created the memberlist Secret, owned by its Deployment
    const secret = await until('the memberlist Secret', 60_000, async () => {
      const r = await c.kubectl(['get', 'secret', `${FULLNAME}-memberlist`, '-n', NS, '-o', 'json'], { check: false });
      return r.code === 0 ? JSON.parse(r.stdout) as { metadata: { ownerReferences?: { kind: string; name: string }[] } } : undefined;
    }, 500);
    assert.deepEqual(secret.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`), [`Deployment/${FULLNAME}-controller`]);
  });

  test('a LoadBalancer Service gets an address of the seed pool and is reachable from the client', async () => {
    const c = get();
    await deployBackend(c, APP_NS, 'web', { replicas: c.nodes.length });
    await lbService(c, 'first', { loadBalancerIP: FIRST_IP });
    assert.equal(await serviceIP(c, 'first'), FIRST_IP);
    const macs = await until('ARP answers', 60_000, () => { const m = arpMacs(c, FIRST_IP); return m.length ? m : undefined; }, 500);
    assert.equal(macs.length, 1, `several MACs answer: ${macs.join(', ')}`);
    assert.ok(nodeOfMac(c, macs[0] ?? ''), `MAC ${macs[0]} is no node's`);
    const page = await until('curl through the address', 60_000, () => curl(c, FIRST_IP), 500);
    assert.match(page, /^web-\S+ on node\d$/m, 'a backend pod answered');
  });

  test('helm upgrade with a second pool: in force for a new Service, no pod restarted, no address moved', async () => {
    const c = get();
    const before = podIdentity(await releasePods(c));
    const cmBefore = await configMap(c);
    const revsBefore = await revisions();
    const r = await helmIn(['upgrade', RELEASE, 'charts/metallb-ts', '-n', NS, '-f', valuesFile('second.yaml', withSecondPool())]);
    assert.equal(r.code, 0, r.stderr);
    const cmAfter = await configMap(c);
    assert.notEqual(cmAfter.resourceVersion, cmBefore.resourceVersion);
    assert.match(cmAfter.config, /203\.0\.113\.0\/28/);
    await lbService(c, 'second', {}, { 'metallb.universe.tf/address-pool': 'second' });
    const ip2 = await serviceIP(c, 'second');
    const last = Number(ip2.split('.')[3]);
    assert.ok(ip2.startsWith('203.0.113.') && last < 16, `address ${ip2} not from pool "second"`);
    assert.equal(await serviceIP(c, 'first'), FIRST_IP, 'the first Service kept its address');
    assert.ok(await until('curl still works', 30_000, () => curl(c, FIRST_IP), 500));
    assert.deepEqual(podIdentity(await releasePods(c)), before, 'pods were replaced or restarted');
    assert.equal((await revisions()).length, revsBefore.length + 1);
  });

  test('helm upgrade with an invalid configInline fails naming the field and changes nothing', async () => {
    const c = get();
    const before = podIdentity(await releasePods(c));
    const cmBefore = await configMap(c);
    const revsBefore = await revisions();
    const bad = withSecondPool() as { configInline: { 'address-pools': { protocol: string }[] } };
    bad.configInline['address-pools'][1]!.protocol = 'BGP';
    const r = await helmIn(['upgrade', RELEASE, 'charts/metallb-ts', '-n', NS, '-f', valuesFile('bad.yaml', bad)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /configInline: address-pools\[1\]\.protocol: unknown protocol "BGP"/);
    const cmAfter = await configMap(c);
    assert.equal(cmAfter.resourceVersion, cmBefore.resourceVersion, 'the ConfigMap was written');
    assert.deepEqual(await revisions(), revsBefore, 'a release revision was recorded');
    assert.equal(revsBefore.at(-1)?.status, 'deployed');
    assert.deepEqual(podIdentity(await releasePods(c)), before);
    assert.equal(await serviceIP(c, 'first'), FIRST_IP);
    assert.ok(await until('curl still works', 30_000, () => curl(c, FIRST_IP), 500));
  });

  test('helm uninstall leaves nothing of the release behind', async () => {
    const c = get();
    await c.kubectl(['delete', 'namespace', APP_NS, '--wait=true', '--timeout=120s']);
    const r = await helmIn(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '3m']);
    assert.equal(r.code, 0, r.stderr);
    await until('release pods and the memberlist Secret gone', 180_000, async () => {
      const left = await c.kubectl(['get', 'pods,secrets', '-n', NS, '-o', 'name'], { check: false });
      return left.stdout.trim() === '' ? true : undefined;
    }, 1000);
    const namespaced = await c.kubectl(['get', 'all,configmaps,secrets,serviceaccounts,roles,rolebindings', '-n', NS, '-o', 'name']);
    // what Kubernetes itself puts in every namespace
    assert.deepEqual(namespaced.stdout.trim().split('\n').filter(Boolean).sort(), ['configmap/kube-root-ca.crt', 'serviceaccount/default']);
    const cluster = await c.kubectl(['get', 'clusterroles,clusterrolebindings', '-o', 'name']);
    assert.deepEqual(cluster.stdout.split('\n').filter((l) => l.includes(FULLNAME)), []);
    const labelled = await c.kubectl(['get', 'all,configmaps,secrets,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings', '-A', '-l', SELECTOR, '-o', 'name']);
    assert.equal(labelled.stdout.trim(), '');
    const list = await helmIn(['list', '-A', '-q']);
    assert.equal(list.stdout.trim(), '');
  });
});
