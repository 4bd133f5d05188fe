// Least-privilege RBAC of manifests/metallb.yaml, proven against a real API server:
// `kubectl auth can-i --as=system:serviceaccount:metallb-system:<sa>` allows every call the
// controller and speaker make (spec sections 3-5) and refuses a sample of calls they must not
// make; a few calls are then made for real with each account's own token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../support/sandbox/controlplane.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const NS = 'metallb-system';

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
  await cp.kubectl(['apply', '-f', join(root, 'manifests', 'namespace.yaml'), '-f', join(root, 'manifests', 'metallb.yaml')]);
});
after(async () => {
  await cp?.stop();
});

/** [verb, resource (with /name), namespace ('*' = all namespaces), subresource?] */
type Call = readonly [verb: string, resource: string, namespace: string, subresource?: string];

async function canI(sa: string, [verb, resource, namespace, subresource]: Call): Promise<boolean> {
  const args = ['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${NS}:${sa}`];
  args.push(namespace === '*' ? '--all-namespaces' : `--namespace=${namespace}`);
  if (subresource) args.push(`--subresource=${subresource}`);
  const r = await cp.kubectl(args, { check: false });
  if (r.stdout.trim() === 'yes') return true;
  if (r.stdout.trim() === 'no') return false;
  throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
}

/** Runs fn over items, at most `limit` at a time (each can-i is one kubectl process). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const describe = ([verb, resource, namespace, sub]: Call): string =>
  `${verb} ${resource}${sub ? `/${sub}` : ''} in ${namespace === '*' ? 'all namespaces' : namespace}`;

const controllerAllowed: Call[] = [
  ['list', 'services', '*'], ['watch', 'services', '*'], ['get', 'services', 'default'],
  ['update', 'services', 'default', 'status'], ['update', 'services', '*', 'status'],
  ['create', 'events', 'default'], ['patch', 'events', 'default'], ['create', 'events', '*'],
  ['get', 'configmaps', NS], ['list', 'configmaps', NS], ['watch', 'configmaps', NS],
  ['list', 'secrets/memberlist', NS], ['create', 'secrets', NS],
  ['get', 'deployments.apps/controller', NS],
];
const controllerDenied: Call[] = [
  ['update', 'services', 'default'], ['patch', 'services', 'default'], ['delete', 'services', 'default'],
  ['patch', 'services', 'default', 'status'], ['create', 'services', 'default'],
  ['list', 'secrets', NS], ['get', 'secrets/memberlist', NS], ['update', 'secrets/memberlist', NS],
  ['delete', 'secrets/memberlist', NS], ['watch', 'secrets/memberlist', NS], ['create', 'secrets', 'default'],
  ['list', 'configmaps', 'default'], ['update', 'configmaps', NS], ['create', 'configmaps', NS],
  ['get', 'deployments.apps/other', NS], ['update', 'deployments.apps/controller', NS],
  ['list', 'nodes', '*'], ['list', 'endpoints', '*'], ['list', 'endpointslices.discovery.k8s.io', '*'], ['list', 'pods', NS],
  ['delete', 'events', 'default'], ['get', 'events', 'default'],
];
const speakerAllowed: Call[] = [
  ['get', 'services', 'default'], ['list', 'services', '*'], ['watch', 'services', '*'],
  ['list', 'endpoints', '*'], ['watch', 'endpoints', '*'], ['get', 'endpoints', 'default'],
  ['list', 'endpointslices.discovery.k8s.io', '*'], ['watch', 'endpointslices.discovery.k8s.io', '*'],
  ['get', 'endpointslices.discovery.k8s.io', 'default'],
  ['get', 'nodes', '*'], ['list', 'nodes', '*'], ['watch', 'nodes', '*'],
  ['create', 'events', 'default'], ['patch', 'events', 'default'],
  ['get', 'configmaps', NS], ['list', 'configmaps', NS], ['watch', 'configmaps', NS],
  ['list', 'pods', NS], ['watch', 'pods', NS],
];
const speakerDenied: Call[] = [
  ['update', 'services', 'default', 'status'], ['update', 'services', 'default'], ['patch', 'services', 'default'],
  ['list', 'secrets', NS], ['list', 'secrets/memberlist', NS], ['get', 'secrets/memberlist', NS], ['create', 'secrets', NS],
  ['list', 'pods', 'default'], ['list', 'pods', '*'], ['get', 'pods', NS], ['delete', 'pods', NS],
  ['update', 'nodes', '*'], ['patch', 'nodes', '*'], ['delete', 'nodes', '*'],
  ['create', 'endpointslices.discovery.k8s.io', 'default'], ['update', 'endpoints', 'default'],
  ['update', 'configmaps', NS], ['list', 'configmaps', 'default'],
  ['get', 'deployments.apps/controller', NS], ['delete', 'events', 'default'],
];

for (const [sa, allowed, denied] of [['controller', controllerAllowed, controllerDenied], ['speaker', speakerAllowed, speakerDenied]] as const) {
  test(`${sa}: every call it makes is allowed`, async () => {
    const answers = await mapLimit(allowed, 4, (call) => canI(sa, call));
    assert.deepEqual(allowed.filter((_, i) => !answers[i]).map(describe), []);
  });
  test(`${sa}: calls it must not make are refused`, async () => {
    const answers = await mapLimit(denied, 4, (call) => canI(sa, call));
    assert.deepEqual(denied.filter((_, i) => answers[i]).map(describe), []);
  });
}

test('an account outside metallb-system gets none of these rights', async () => {
  const calls = [...controllerAllowed, ...speakerAllowed];
  const answers = await mapLimit(calls, 4, async (call) => {
    const args = ['auth', 'can-i', call[0], call[1], '--as=system:serviceaccount:default:default',
      call[2] === '*' ? '--all-namespaces' : `--namespace=${call[2]}`, ...(call[3] ? [`--subresource=${call[3]}`] : [])];
    return (await cp.kubectl(args, { check: false })).stdout.trim();
  });
  assert.deepEqual(calls.filter((_, i) => answers[i] !== 'no').map(describe), []);
});

test('with its own token the controller can list the memberlist Secret by name only, and create it', async () => {
  const kubeconfig = await cp.serviceAccountKubeconfig(NS, 'controller');
  const byName = await cp.kubectl(['get', 'secrets', '-n', NS, '--field-selector=metadata.name=memberlist', '-o', 'name'], { kubeconfigPath: kubeconfig });
  assert.equal(byName.stdout.trim(), '');
  const all = await cp.kubectl(['get', 'secrets', '-n', NS], { kubeconfigPath: kubeconfig, check: false });
  assert.notEqual(all.code, 0);
  assert.match(all.stderr, /forbidden/i);
  const core = cp.kubeConfig(kubeconfig).makeApiClient(CoreV1Api);
  await core.createNamespacedSecret({
    namespace: NS,
    body: { metadata: { name: 'memberlist' }, type: 'Opaque', data: { secretkey: Buffer.from('0123456789abcdefghijkl').toString('base64') } },
  });
  const listed = await core.listNamespacedSecret({ namespace: NS, fieldSelector: 'metadata.name=memberlist' });
  assert.deepEqual(listed.items.map((s) => s.metadata?.name), ['memberlist']);
  await assert.rejects(core.readNamespacedSecret({ namespace: NS, name: 'memberlist' }), /403|forbidden/i);
  const dep = await cp.kubectl(['get', 'deployment', 'controller', '-n', NS, '-o', 'name'], { kubeconfigPath: kubeconfig });
  assert.equal(dep.stdout.trim(), 'deployment.apps/controller');
});

test('with its own token the speaker reads v1 EndpointSlices and nodes but no Secrets', async () => {
  const kubeconfig = await cp.serviceAccountKubeconfig(NS, 'speaker');
  const slices = await cp.kubectl(['get', 'endpointslices.v1.discovery.k8s.io', '-A', '-o', 'name'], { kubeconfigPath: kubeconfig });
  assert.equal(slices.code, 0);
  await cp.kubectl(['get', 'nodes'], { kubeconfigPath: kubeconfig });
  await cp.kubectl(['get', 'pods', '-n', NS, '-l', 'app=metallb,component=speaker'], { kubeconfigPath: kubeconfig });
  const secrets = await cp.kubectl(['get', 'secrets', '-n', NS, '--field-selector=metadata.name=memberlist'], { kubeconfigPath: kubeconfig, check: false });
  assert.notEqual(secrets.code, 0);
  assert.match(secrets.stderr, /forbidden/i);
});
