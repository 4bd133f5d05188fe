// lib/k8s and the memberlist Secret bootstrap against a real API server:
//  - the informer survives connection loss (every connection reset and new ones refused, as during
//    an API server restart) and catches up on adds, updates and deletes it missed;
//  - after an outage long enough for the resourceVersion to be compacted away, the re-watch gets
//    410 Gone and the informer relists (API server with --watch-cache=false and a 1 s etcd
//    compaction interval, so "too old resource version" happens for real);
//  - the event recorder aggregates identical events into one Event with a count;
//  - ensureMemberlistSecret: never overwrites an existing Secret, and two racing controllers
//    leave exactly one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../support/sandbox/controlplane.js';
import { KubeClient, loadKubeConfig, Informer, EventRecorder, type KubeObject } from '../../../lib/k8s/index.js';
import { ensureMemberlistSecret } from '../../../lib/controller/index.js';
import { silentLogger } from '../../../lib/util/log.js';
import { root, waitFor } from './env.js';

let cp: ControlPlane;
const log = silentLogger();

before(async () => {
  cp = await startControlPlane({
    dirPrefix: 'metallb-ts-k8s-',
    extraApiServerFlags: ['--watch-cache=false', '--etcd-compaction-interval=1s'],
  });
  await cp.kubectl(['apply', '-f', join(root, 'manifests', 'namespace.yaml'), '-f', join(root, 'manifests', 'metallb.yaml')]);
});
after(async () => {
  await cp?.stop();
});

/** A TCP relay on loopback in front of the API server that the test can cut and restore. */
class Relay {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  readonly server: Server;
  constructor(target: URL) {
    this.server = createServer((down) => {
      if (this.cut) { down.destroy(); return; }
      const up = connect({ host: target.hostname, port: Number(target.port) });
      this.sockets.add(down);
      this.sockets.add(up);
      const close = (): void => { down.destroy(); up.destroy(); this.sockets.delete(down); this.sockets.delete(up); };
      down.on('error', close).on('close', close);
      up.on('error', close).on('close', close);
      down.pipe(up);
      up.pipe(down);
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }
  /** Resets every open connection and refuses new ones. */
  cutOff(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
  restore(): void {
    this.cut = false;
  }
  async close(): Promise<void> {
    this.cutOff();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A copy of the admin kubeconfig whose server is the relay. */
function kubeconfigVia(port: number, name: string): string {
  const doc = JSON.parse(readFileSync(cp.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  assert.equal(doc.clusters.length, 1);
  doc.clusters[0].cluster.server = `https://127.0.0.1:${port}`;
  const path = join(cp.dir, name);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

interface ConfigMapObj extends KubeObject {
  readonly data?: Record<string, string>;
}

async function kubectlCM(ns: string, name: string, value: string): Promise<void> {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { v: value } };
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(cm) });
}

test('informer: survives reset and refused connections, catches up on missed adds, updates and deletes', async () => {
  await cp.kubectl(['create', 'namespace', 'inf1']);
  const relay = new Relay(new URL(cp.server));
  const port = await relay.listen();
  const client = await KubeClient.fromKubeConfig(loadKubeConfig(kubeconfigVia(port, 'relay1.kubeconfig')));
  const inf = new Informer<ConfigMapObj>(client, { name: 'cm', path: '/api/v1/namespaces/inf1/configmaps', backoffMs: [50, 500] }, log);
  const seen: string[] = [];
  inf.on({
    add: (o) => seen.push(`add ${o.metadata?.name}`),
    update: (_a, o) => seen.push(`update ${o.metadata?.name}=${o.data?.v}`),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  try {
    await kubectlCM('inf1', 'a', '1');
    await kubectlCM('inf1', 'c', '1');
    inf.start();
    await inf.synced();
    assert.deepEqual([...inf.keys()].sort(), ['inf1/a', 'inf1/c']);
    await kubectlCM('inf1', 'c', '2');
    await waitFor('update c=2 seen', () => (inf.get('inf1/c')?.data?.v === '2' ? true : undefined));
    relay.cutOff();
    await kubectlCM('inf1', 'b', '1');
    await cp.kubectl(['delete', 'configmap', '-n', 'inf1', 'a']);
    await kubectlCM('inf1', 'c', '3');
    // Stay down a while: several re-watch attempts fail (refused) meanwhile.
    await new Promise((r) => setTimeout(r, 1500));
    const watchesWhileDown = inf.watches;
    relay.restore();
    await waitFor('caught up', () => (inf.get('inf1/b') && !inf.get('inf1/a') && inf.get('inf1/c')?.data?.v === '3' ? true : undefined), 60_000, () => seen.join('\n'));
    assert.ok(watchesWhileDown >= 2, `re-watch attempted while the API server was unreachable (${watchesWhileDown})`);
    assert.ok(seen.includes('add b'), seen.join(', '));
    assert.ok(seen.includes('delete a'), seen.join(', '));
    assert.ok(seen.includes('update c=3'), seen.join(', '));
    // And it keeps watching afterwards.
    await kubectlCM('inf1', 'd', '1');
    await waitFor('d seen', () => (inf.get('inf1/d') ? true : undefined));
  } finally {
    await inf.stop();
    client.close();
    await relay.close();
  }
});

test('informer: a compacted resourceVersion (410 Gone) makes it relist and report the difference', async () => {
  await cp.kubectl(['create', 'namespace', 'inf2']);
  const relay = new Relay(new URL(cp.server));
  const port = await relay.listen();
  const client = await KubeClient.fromKubeConfig(loadKubeConfig(kubeconfigVia(port, 'relay2.kubeconfig')));
  const inf = new Informer<ConfigMapObj>(client, { name: 'cm', path: '/api/v1/namespaces/inf2/configmaps', backoffMs: [50, 200], relistAfterFailures: Number.POSITIVE_INFINITY }, log);
  const deleted: string[] = [];
  inf.on({ delete: (o) => deleted.push(o.metadata?.name ?? '') });
  try {
    await kubectlCM('inf2', 'keep', '1');
    await kubectlCM('inf2', 'gone', '1');
    inf.start();
    await inf.synced();
    assert.equal(inf.lists, 1);
    relay.cutOff();
    await cp.kubectl(['delete', 'configmap', '-n', 'inf2', 'gone']);
    for (let i = 0; i < 5; i++) await kubectlCM('inf2', 'keep', `v${i}`);
    // Let the API server compact etcd past the informer's resourceVersion (interval 1 s).
    await new Promise((r) => setTimeout(r, 4000));
    relay.restore();
    await waitFor('relisted', () => (inf.lists >= 2 && inf.get('inf2/keep')?.data?.v === 'v4' ? true : undefined), 60_000);
    assert.ok(inf.gone >= 1, 'the re-watch was answered 410 Gone');
    assert.equal(inf.get('inf2/gone'), undefined);
    assert.deepEqual(deleted, ['gone'], 'the relist reported the delete it missed');
  } finally {
    await inf.stop();
    client.close();
    await relay.close();
  }
});

test('event recorder: identical events are aggregated into one Event with a count', async () => {
  await cp.kubectl(['create', 'namespace', 'ev']);
  await cp.kubectl(['create', 'configmap', '-n', 'ev', 'target']);
  const target = JSON.parse((await cp.kubectl(['get', 'configmap', '-n', 'ev', 'target', '-o', 'json'])).stdout) as KubeObject;
  const client = await KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath));
  const rec = new EventRecorder(client, { component: 'metallb-controller' }, log);
  try {
    rec.event(target, 'ConfigMap', 'Warning', 'Something', 'same text');
    await rec.flush();
    rec.event(target, 'ConfigMap', 'Warning', 'Something', 'same text');
    rec.event(target, 'ConfigMap', 'Warning', 'Something', 'same text');
    rec.event(target, 'ConfigMap', 'Normal', 'Other', 'other text');
    await rec.flush();
    const evs = JSON.parse((await cp.kubectl(['get', 'events', '-n', 'ev', '-o', 'json'])).stdout) as { items: { reason: string; count: number; involvedObject: { kind: string; name: string; uid: string } }[] };
    const some = evs.items.filter((e) => e.reason === 'Something');
    assert.equal(some.length, 1);
    assert.equal(some[0].count, 3);
    assert.equal(some[0].involvedObject.uid, target.metadata?.uid);
    assert.equal(evs.items.filter((e) => e.reason === 'Other').length, 1);
    assert.deepEqual(rec.stats, { created: 2, patched: 2, dropped: 0, failed: 0 });
  } finally {
    client.close();
  }
});

test('memberlist Secret: an existing one is never modified; racing controllers leave exactly one', async () => {
  const saKubeconfig = await cp.serviceAccountKubeconfig('metallb-system', 'controller');
  const client = await KubeClient.fromKubeConfig(loadKubeConfig(saKubeconfig));
  const client2 = await KubeClient.fromKubeConfig(loadKubeConfig(saKubeconfig));
  try {
    // Race: two controllers start at once with the controller SA's own token (RBAC applies).
    const outcomes = await Promise.all([
      ensureMemberlistSecret(client, 'metallb-system', 'memberlist', 'controller', log),
      ensureMemberlistSecret(client2, 'metallb-system', 'memberlist', 'controller', log),
    ]);
    assert.equal(outcomes.filter((o) => o === 'created').length, 1, outcomes.join(','));
    const first = JSON.parse((await cp.kubectl(['get', 'secret', '-n', 'metallb-system', 'memberlist', '-o', 'json'])).stdout) as { metadata: { resourceVersion: string }; data: { secretkey: string } };
    assert.match(Buffer.from(first.data.secretkey, 'base64').toString('ascii'), /^[A-Za-z0-9+/]{22}$/);
    // Again: exists, untouched.
    assert.equal(await ensureMemberlistSecret(client, 'metallb-system', 'memberlist', 'controller', log), 'exists');
    const again = JSON.parse((await cp.kubectl(['get', 'secret', '-n', 'metallb-system', 'memberlist', '-o', 'json'])).stdout) as { metadata: { resourceVersion: string }; data: { secretkey: string } };
    assert.equal(again.metadata.resourceVersion, first.metadata.resourceVersion);
    assert.equal(again.data.secretkey, first.data.secretkey);
    // A missing Deployment is an error (upstream exits 1), after deleting the Secret.
    await cp.kubectl(['delete', 'secret', '-n', 'metallb-system', 'memberlist']);
    await assert.rejects(ensureMemberlistSecret(client, 'metallb-system', 'memberlist', 'no-such-deployment', log), /403|404/);
  } finally {
    client.close();
    client2.close();
  }
});
