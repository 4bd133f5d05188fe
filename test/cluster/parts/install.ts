// Installation as an operator does it: the plain manifests, `kubectl apply -k .`, and the example
// overlay with its configMapGenerator. Leaves: the plain-manifest install with the README-way
// `config` ConfigMap (CLUSTER_CONFIG), controller and speakers Ready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../support/cluster/cluster.js';
import {
  NS, createConfig, createService, deployBackend, install, pods, podReady, uninstall, until, waitInstalled,
} from '../../support/cluster/metallb.js';

interface SecretList { items: { metadata: { name: string; ownerReferences?: { kind: string; name: string }[] }; data?: Record<string, string> }[] }

async function memberlistSecret(c: Cluster): Promise<SecretList['items'][number] | undefined> {
  const l = await c.getJson<SecretList>(['get', 'secrets', '-n', NS]);
  return l.items.find((s) => s.metadata.name === 'memberlist');
}

export function installTests(get: () => Cluster): void {
  test('kubectl apply -f namespace.yaml -f metallb.yaml: controller Deployment and one Ready speaker per node', async () => {
    const c = get();
    await install(c, 'manifests');
    const { controller, speakers } = await waitInstalled(c);
    assert.deepEqual(speakers.map((p) => p.spec.nodeName).sort(), c.nodes.map((n) => n.name).sort());
    // the images that run are the ones built from ./Dockerfile
    assert.equal(controller.spec.containers[0]?.image, c.images.controller?.name);
    for (const s of speakers) assert.equal(s.spec.containers[0]?.image, c.images.speaker?.name);
    // the controller made the memberlist Secret, owned by its Deployment
    const secret = await memberlistSecret(c);
    assert.ok(secret, 'no memberlist Secret');
    assert.ok(Buffer.from(secret.data?.secretkey ?? '', 'base64').length >= 16, 'secretkey too short');
    assert.deepEqual(secret.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`), ['Deployment/controller']);
    const ds = await c.getJson<{ status: { numberReady: number; desiredNumberScheduled: number } }>(['get', 'daemonset', 'speaker', '-n', NS]);
    assert.equal(ds.status.numberReady, c.nodes.length);
    assert.equal(ds.status.desiredNumberScheduled, c.nodes.length);
  });

  test('speakers that start before the memberlist Secret exists recover by themselves once the controller creates it', async () => {
    const c = get();
    // no controller, no Secret: new speaker pods cannot start their container (env from the Secret)
    await c.kubectl(['scale', 'deployment/controller', '-n', NS, '--replicas=0']);
    await until('controller pods gone', 60_000, async () => ((await pods(c, 'component=controller')).length === 0 ? true : undefined), 500);
    await c.kubectl(['delete', 'secret', 'memberlist', '-n', NS]);
    await c.kubectl(['delete', 'pods', '-n', NS, '-l', 'component=speaker', '--wait=true']);
    const waiting = await until('replacement speakers waiting for the Secret', 90_000, async () => {
      const sp = await pods(c, 'component=speaker');
      const w = sp.filter((p) => p.status.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
      return w.length === c.nodes.length ? w : undefined;
    }, 500);
    assert.equal(waiting.length, c.nodes.length);
    await c.kubectl(['scale', 'deployment/controller', '-n', NS, '--replicas=1']);
    const { speakers } = await waitInstalled(c);
    // the same pods recovered (kubelet retried), no one deleted or recreated them
    assert.deepEqual(speakers.map((p) => p.metadata.uid).sort(), waiting.map((p) => p.metadata.uid).sort());
    assert.ok(await memberlistSecret(c), 'the controller did not recreate the Secret');
  });

  test('kubectl apply -k . installs the same and works after a full uninstall', async () => {
    const c = get();
    await uninstall(c);
    await install(c, 'kustomize');
    const { speakers } = await waitInstalled(c);
    assert.equal(speakers.length, c.nodes.length);
    assert.ok(await memberlistSecret(c));
  });

  test('examples/kustomize-overlay (configMapGenerator): ConfigMap "config" in force, a Service gets an address from its pool', async () => {
    const c = get();
    await uninstall(c);
    await install(c, 'overlay');
    await waitInstalled(c);
    const cm = await c.getJson<{ data: Record<string, string> }>(['get', 'configmap', 'config', '-n', NS]);
    assert.match(cm.data.config ?? '', /192\.0\.2\.240-192\.0\.2\.250/);
    await deployBackend(c, 'overlay-demo', 'web', { replicas: 1 });
    const ip = await createService(c, 'overlay-demo', 'web', 'web', 'default');
    const last = Number(ip.split('.')[3]);
    assert.ok(ip.startsWith('192.0.2.') && last >= 240 && last <= 250, `address ${ip} outside the overlay's pool`);
    await c.kubectl(['delete', 'namespace', 'overlay-demo', '--wait=true', '--timeout=120s']);
  });

  test('reinstall from the manifests with the README-way ConfigMap', async () => {
    const c = get();
    await uninstall(c);
    await install(c, 'manifests');
    await createConfig(c);
    const { controller } = await waitInstalled(c);
    assert.ok(podReady(controller));
    // the controller reads it: a throw-away Service gets an address of pool "lan"
    await c.kubectl(['create', 'namespace', 'probe']);
    const ip = await createService(c, 'probe', 'probe', 'probe', 'lan');
    assert.match(ip, /^198\.51\.100\.(20\d|210)$/);
    await c.kubectl(['delete', 'namespace', 'probe', '--wait=true', '--timeout=120s']);
  });
}
