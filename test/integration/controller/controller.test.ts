// The controller binary against a real kube-apiserver + etcd, running with the `controller`
// ServiceAccount's token (RBAC of manifests/metallb.yaml applies): the seed walkthrough and every
// controller behaviour of docs/behaviour/allocation.md, docs/behaviour/controller.md and
// docs/behaviour/metrics.md#metrics. The subtests run in order and share one
// controller process (restarted once, to prove a restart keeps every address).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  NS, ControllerProcess, applyConfig, applyService, createNamespace, eventsFor, getService, ingressIPs,
  startEnv, waitFor, waitForEvent, waitForIngress, type Env,
} from './env.js';

let env: Env;
let ctl: ControllerProcess;

before(async () => {
  env = await startEnv();
  ctl = ControllerProcess.start(env);
});
after(async () => {
  await ctl?.stop();
  await env?.cp.stop();
});

const SEED = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - 172.18.0.200-172.18.0.250
`;

test('seed walkthrough: layer2 pool, Service nginx gets 172.18.0.200, kubectl get svc shows it', async () => {
  const { cp } = env;
  await applyConfig(cp, SEED);
  await createNamespace(cp, 'web');
  await applyService(cp, { namespace: 'web', name: 'nginx', ports: [{ port: 80 }] });
  await waitForIngress(cp, 'web', 'nginx', ['172.18.0.200'], ctl);
  const table = await cp.kubectl(['get', 'svc', '-n', 'web', 'nginx']);
  const row = table.stdout.split('\n').find((l) => l.startsWith('nginx'));
  assert.ok(row, table.stdout);
  assert.match(row, /\bLoadBalancer\b/);
  assert.match(row, /\b172\.18\.0\.200\b/, `EXTERNAL-IP column: ${table.stdout}`);
  const ev = await waitForEvent(cp, 'web', 'nginx', 'IPAllocated');
  assert.equal(ev.type, 'Normal');
  assert.equal(ev.message, 'Assigned IP ["172.18.0.200"]');
  assert.equal(ev.source?.component, 'metallb-controller');
  // Only the status was written: no annotations, labels or finalizers added by the controller.
  const svc = await cp.kubectl(['get', 'svc', '-n', 'web', 'nginx', '-o', 'json', '--show-managed-fields']);
  const obj = JSON.parse(svc.stdout) as { metadata: { finalizers?: unknown; labels?: unknown; managedFields?: { manager: string }[] } };
  assert.equal(obj.metadata.finalizers, undefined);
  // The controller caches Services without managedFields; its status PUT must not erase them.
  assert.ok(obj.metadata.managedFields?.some((m) => m.manager === 'kubectl-client-side-apply'), JSON.stringify(obj.metadata.managedFields));
  // Pool metrics: 51 addresses, 1 in use; config loaded and not stale.
  await waitFor('pool metrics', async () => ((await ctl.metric('metallb_allocator_addresses_in_use_total', { pool: 'default' })) === 1 ? true : undefined));
  assert.equal(await ctl.metric('metallb_allocator_addresses_total', { pool: 'default' }), 51);
  assert.equal(await ctl.metric('metallb_k8s_client_config_loaded_bool'), 1);
  assert.equal(await ctl.metric('metallb_k8s_client_config_stale_bool'), 0);
});

test('the memberlist Secret was created once, with a 22-character key and the Deployment as owner', async () => {
  const { cp } = env;
  const r = await cp.kubectl(['get', 'secret', '-n', NS, 'memberlist', '-o', 'json']);
  const secret = JSON.parse(r.stdout) as { type: string; data: { secretkey: string }; metadata: { ownerReferences: { kind: string; name: string; uid: string; controller?: boolean }[] } };
  assert.equal(secret.type, 'Opaque');
  const key = Buffer.from(secret.data.secretkey, 'base64').toString('ascii');
  assert.match(key, /^[A-Za-z0-9+/]{22}$/);
  const dep = JSON.parse((await cp.kubectl(['get', 'deployment', '-n', NS, 'controller', '-o', 'json'])).stdout) as { metadata: { uid: string } };
  assert.deepEqual(secret.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'controller', uid: dep.metadata.uid }]);
});

const POOLS = `address-pools:
- name: default
  protocol: layer2
  addresses:
  - 172.18.0.200-172.18.0.250
- name: blue
  protocol: layer2
  addresses:
  - 192.0.2.0/30
- name: reserved
  protocol: layer2
  auto-assign: false
  addresses:
  - 198.51.100.10-198.51.100.12
`;

test('spec.loadBalancerIP: available is assigned, taken and outside every pool fail with events', async () => {
  const { cp } = env;
  await applyConfig(cp, POOLS);
  await createNamespace(cp, 'req');
  await applyService(cp, { namespace: 'req', name: 'wants-210', loadBalancerIP: '172.18.0.210' });
  await waitForIngress(cp, 'req', 'wants-210', ['172.18.0.210'], ctl);
  // In a pool with auto-assign: false, asking by address works.
  await applyService(cp, { namespace: 'req', name: 'wants-reserved', loadBalancerIP: '198.51.100.11' });
  await waitForIngress(cp, 'req', 'wants-reserved', ['198.51.100.11'], ctl);
  // Taken (no sharing key): AllocationFailed, no address.
  await applyService(cp, { namespace: 'req', name: 'wants-taken', loadBalancerIP: '172.18.0.210' });
  const taken = await waitForEvent(cp, 'req', 'wants-taken', 'AllocationFailed');
  assert.equal(taken.type, 'Warning');
  assert.match(taken.message, /^Failed to allocate IP for "req\/wants-taken": /);
  assert.deepEqual(await ingressIPs(cp, 'req', 'wants-taken'), []);
  // Outside every pool.
  await applyService(cp, { namespace: 'req', name: 'wants-outside', loadBalancerIP: '203.0.113.77' });
  const outside = await waitForEvent(cp, 'req', 'wants-outside', 'AllocationFailed');
  assert.match(outside.message, /203\.0\.113\.77.*not allowed in config/);
  assert.deepEqual(await ingressIPs(cp, 'req', 'wants-outside'), []);
});

test('address-pool annotation picks the pool; auto-assign: false pools are only used on request', async () => {
  const { cp } = env;
  await createNamespace(cp, 'pools');
  await applyService(cp, { namespace: 'pools', name: 'in-blue', annotations: { 'metallb.universe.tf/address-pool': 'blue' } });
  await waitForIngress(cp, 'pools', 'in-blue', ['192.0.2.0'], ctl);
  await applyService(cp, { namespace: 'pools', name: 'in-reserved', annotations: { 'metallb.universe.tf/address-pool': 'reserved' } });
  await waitForIngress(cp, 'pools', 'in-reserved', ['198.51.100.10'], ctl);
  await applyService(cp, { namespace: 'pools', name: 'unknown-pool', annotations: { 'metallb.universe.tf/address-pool': 'nope' } });
  const ev = await waitForEvent(cp, 'pools', 'unknown-pool', 'AllocationFailed');
  assert.match(ev.message, /unknown pool "nope"/);
  // Without annotation the auto-assign:false pool is never used: the next address comes from
  // "default" (config order), skipping 172.18.0.210 held by req/wants-210.
  await applyService(cp, { namespace: 'pools', name: 'auto', annotations: {} });
  await waitForIngress(cp, 'pools', 'auto', ['172.18.0.201'], ctl);
});

test('sharing: same key and disjoint ports share an address; a port clash or another key is refused', async () => {
  const { cp } = env;
  await createNamespace(cp, 'share');
  const key = { 'metallb.universe.tf/allow-shared-ip': 'dns' };
  await applyService(cp, { namespace: 'share', name: 'dns-tcp', loadBalancerIP: '172.18.0.240', annotations: key, ports: [{ port: 53, protocol: 'TCP' }] });
  await waitForIngress(cp, 'share', 'dns-tcp', ['172.18.0.240'], ctl);
  await applyService(cp, { namespace: 'share', name: 'dns-udp', loadBalancerIP: '172.18.0.240', annotations: key, ports: [{ port: 53, protocol: 'UDP' }] });
  await waitForIngress(cp, 'share', 'dns-udp', ['172.18.0.240'], ctl);
  // Same key, same port/protocol: refused.
  await applyService(cp, { namespace: 'share', name: 'dns-tcp-2', loadBalancerIP: '172.18.0.240', annotations: key, ports: [{ port: 53, protocol: 'TCP' }] });
  const clash = await waitForEvent(cp, 'share', 'dns-tcp-2', 'AllocationFailed');
  assert.match(clash.message, /port .*53.* is already in use/i);
  // Different key: refused.
  await applyService(cp, { namespace: 'share', name: 'other-key', loadBalancerIP: '172.18.0.240', annotations: { 'metallb.universe.tf/allow-shared-ip': 'other' }, ports: [{ port: 8053 }] });
  const other = await waitForEvent(cp, 'share', 'other-key', 'AllocationFailed');
  assert.match(other.message, /sharing key/);
  assert.deepEqual(await ingressIPs(cp, 'share', 'other-key'), []);
  // One address in use for the two sharing Services.
  await waitFor('in-use count', async () => ((await ctl.metric('metallb_allocator_addresses_in_use_total', { pool: 'default' })) === 4 ? true : undefined), 30_000, () => ctl.describe());
});

test('exhaustion: pool full → AllocationFailed; a new pool in the config assigns the pending Service', async () => {
  const { cp } = env;
  await createNamespace(cp, 'full');
  // blue (192.0.2.0/30) has 4 addresses; pools/in-blue holds .0.
  for (const n of [1, 2, 3]) {
    await applyService(cp, { namespace: 'full', name: `b${n}`, annotations: { 'metallb.universe.tf/address-pool': 'blue' } });
    await waitForIngress(cp, 'full', `b${n}`, [`192.0.2.${n}`], ctl);
  }
  await applyService(cp, { namespace: 'full', name: 'b4', annotations: { 'metallb.universe.tf/address-pool': 'blue' } });
  const ev = await waitForEvent(cp, 'full', 'b4', 'AllocationFailed');
  assert.match(ev.message, /no available IPs in pool "blue"/);
  assert.equal(await ctl.metric('metallb_allocator_addresses_in_use_total', { pool: 'blue' }), 4);
  // Grow "blue" by a second range: the pending Service is re-evaluated and assigned.
  await applyConfig(cp, POOLS.replace('  - 192.0.2.0/30\n', '  - 192.0.2.0/30\n  - 192.0.2.64/30\n'));
  await waitForIngress(cp, 'full', 'b4', ['192.0.2.64'], ctl);
  await waitFor('blue capacity', async () => ((await ctl.metric('metallb_allocator_addresses_total', { pool: 'blue' })) === 8 ? true : undefined));
});

test('LoadBalancer → ClusterIP and deletion release the address (and clear the status)', async () => {
  const { cp } = env;
  await createNamespace(cp, 'rel');
  await applyService(cp, { namespace: 'rel', name: 'r1', annotations: { 'metallb.universe.tf/address-pool': 'reserved' } });
  await waitForIngress(cp, 'rel', 'r1', ['198.51.100.12'], ctl);
  await applyService(cp, { namespace: 'rel', name: 'r2', annotations: { 'metallb.universe.tf/address-pool': 'reserved' } });
  await waitForEvent(cp, 'rel', 'r2', 'AllocationFailed', /no available IPs in pool "reserved"/);
  // r1 becomes ClusterIP: its status is cleared and r2 (pending) gets .12 once something re-evaluates it.
  await cp.kubectl(['patch', 'svc', '-n', 'rel', 'r1', '--type=merge', '-p', '{"spec":{"type":"ClusterIP"}}']);
  await waitForIngress(cp, 'rel', 'r1', [], ctl);
  // Upstream re-evaluates pending Services after a deletion (not after a type change); delete
  // another holder of the pool so r2 is re-evaluated, as upstream.
  await cp.kubectl(['delete', 'svc', '-n', 'pools', 'in-reserved']);
  await waitForIngress(cp, 'rel', 'r2', ['198.51.100.10'], ctl);
  // Deleting r2 frees .10 for a new Service.
  await cp.kubectl(['delete', 'svc', '-n', 'rel', 'r2']);
  await applyService(cp, { namespace: 'rel', name: 'r3', annotations: { 'metallb.universe.tf/address-pool': 'reserved' } });
  await waitForIngress(cp, 'rel', 'r3', ['198.51.100.10'], ctl);
});

test('an invalid config is refused and the old one stays in force (log, metric, event)', async () => {
  const { cp } = env;
  await applyConfig(cp, 'address-pools:\n- name: broken\n  protocol: layer2\n  addresses:\n  - 10.0.0.300/24\n');
  await waitFor('stale metric', async () => ((await ctl.metric('metallb_k8s_client_config_stale_bool')) === 1 ? true : undefined), 30_000, () => ctl.describe());
  const ev = await waitForEvent(cp, NS, 'config', 'InvalidConfig', undefined, 'ConfigMap');
  assert.equal(ev.type, 'Warning');
  assert.match(ev.message, /10\.0\.0\.300\/24/);
  assert.ok(ctl.lines.some((l) => l.op === 'setConfig' && l.level === 'error' && /invalid/.test(String(l.msg))), 'refusal logged');
  // The old config is still in force: a new Service gets an address from it.
  await createNamespace(cp, 'afterbad');
  await applyService(cp, { namespace: 'afterbad', name: 'still-works', annotations: { 'metallb.universe.tf/address-pool': 'blue' } });
  await waitForIngress(cp, 'afterbad', 'still-works', ['192.0.2.65'], ctl);
  assert.equal(await ctl.metric('metallb_allocator_addresses_total', { pool: 'blue' }), 8);
});

test('a config that would strand addresses in use is refused (stale) and adopted once they are freed', async () => {
  const { cp } = env;
  // Dropping the "reserved" pool would strand rel/r3 (198.51.100.10) and req/wants-reserved (.11).
  const withoutReserved = POOLS.replace('  - 192.0.2.0/30\n', '  - 192.0.2.0/30\n  - 192.0.2.64/30\n').replace(/- name: reserved[\s\S]*$/, '');
  await applyConfig(cp, withoutReserved);
  const ev = await waitForEvent(cp, NS, 'config', 'ConfigNotCompatible', undefined, 'ConfigMap');
  assert.match(ev.message, /new config not compatible with assigned IPs: service "(rel\/r3|req\/wants-reserved)" cannot own \["198\.51\.100\.1[01]"\]/);
  assert.equal(await ctl.metric('metallb_k8s_client_config_stale_bool'), 1);
  assert.equal(await ctl.metric('metallb_allocator_addresses_total', { pool: 'reserved' }), 3, 'old pool still in force');
  assert.ok(ctl.lines.some((l) => l.op === 'setConfig' && l.level === 'error' && /not compatible/.test(String(l.msg))), 'refusal logged');
  // Freeing one of the two addresses is not enough: still refused, old config in force.
  const updatesBefore = (await ctl.metric('metallb_k8s_client_update_errors_total')) ?? 0;
  await cp.kubectl(['delete', 'svc', '-n', 'rel', 'r3']);
  // The retry after the Service change (docs/behaviour/quirks.md#q5) fails again: one more update error.
  await waitFor('config retried after the Service change', async () => (((await ctl.metric('metallb_k8s_client_update_errors_total')) ?? 0) > updatesBefore ? true : undefined), 30_000, () => ctl.describe());
  assert.equal(await ctl.metric('metallb_k8s_client_config_stale_bool'), 1);
  assert.equal(await ctl.metric('metallb_allocator_addresses_total', { pool: 'reserved' }), 3);
  // Freeing the last one lets the retried config in promptly.
  await cp.kubectl(['delete', 'svc', '-n', 'req', 'wants-reserved']);
  await waitFor('config adopted', async () => ((await ctl.metric('metallb_k8s_client_config_stale_bool')) === 0 ? true : undefined), 30_000, () => ctl.describe());
  assert.equal(await ctl.metric('metallb_allocator_addresses_total', { pool: 'reserved' }), undefined, 'removed pool series deleted');
  assert.equal(await ctl.metric('metallb_allocator_addresses_total', { pool: 'blue' }), 8);
});

test('controller restart keeps every address, and the Secret is not recreated', async () => {
  const { cp } = env;
  const before = new Map<string, string[]>();
  const list = JSON.parse((await cp.kubectl(['get', 'svc', '-A', '-o', 'json'])).stdout) as { items: { metadata: { namespace: string; name: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[] };
  for (const s of list.items) before.set(`${s.metadata.namespace}/${s.metadata.name}`, (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ''));
  const secretBefore = JSON.parse((await cp.kubectl(['get', 'secret', '-n', NS, 'memberlist', '-o', 'json'])).stdout) as { metadata: { uid: string; resourceVersion: string } };
  assert.equal(await ctl.stop(), 0, `SIGTERM → clean exit 0\n${ctl.describe()}`);
  ctl = ControllerProcess.start(env);
  // A Service created while the controller was down, asking for nothing in particular: it must
  // not take an address that an existing Service holds.
  await applyService(cp, { namespace: 'web', name: 'newcomer' });
  await waitFor('newcomer assigned', async () => ((await ingressIPs(cp, 'web', 'newcomer')).length === 1 ? true : undefined), 60_000, () => ctl.describe());
  const taken = new Set([...before.values()].flat());
  const got = (await ingressIPs(cp, 'web', 'newcomer'))[0];
  assert.ok(!taken.has(got), `newcomer got ${got}, already held by another Service`);
  await waitFor('restarted controller idle', async () => (ctl.lines.some((l) => /initial sync done/.test(String(l.msg))) ? true : undefined));
  for (const [key, ips] of before) {
    const [ns, name] = key.split('/');
    assert.deepEqual(await ingressIPs(cp, ns, name), ips, `${key} kept its addresses`);
  }
  const secretAfter = JSON.parse((await cp.kubectl(['get', 'secret', '-n', NS, 'memberlist', '-o', 'json'])).stdout) as { metadata: { uid: string; resourceVersion: string } };
  assert.equal(secretAfter.metadata.uid, secretBefore.metadata.uid);
  assert.equal(secretAfter.metadata.resourceVersion, secretBefore.metadata.resourceVersion, 'Secret not modified');
  assert.ok(ctl.lines.some((l) => l.op === 'memberlistSecret' && /exists/.test(String(l.msg))));
});

test('metrics reflect pool usage and processed updates', async () => {
  const inUse = await ctl.metric('metallb_allocator_addresses_in_use_total', { pool: 'default' });
  const { cp } = env;
  const list = JSON.parse((await cp.kubectl(['get', 'svc', '-A', '-o', 'json'])).stdout) as { items: { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[] };
  const distinct = new Set(list.items.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip)).filter((ip) => ip?.startsWith('172.18.0.')));
  assert.equal(inUse, distinct.size);
  assert.ok(((await ctl.metric('metallb_k8s_client_updates_total')) ?? 0) > 0);
  const text = await ctl.metrics();
  assert.match(text, /# TYPE metallb_allocator_services_allocated_total gauge/);
  assert.match(text, /nodejs_eventloop_lag_p99_seconds/);
});

test('events are recorded for the services', async () => {
  const evs = await eventsFor(env.cp, 'web', 'nginx');
  assert.ok(evs.some((e) => e.reason === 'IPAllocated'));
  assert.ok(await getService(env.cp, 'web', 'nginx'));
});
