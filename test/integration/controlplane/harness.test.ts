// The control-plane harness itself: a real kube-apiserver + etcd, reachable through client-node,
// kubectl, service-account tokens and (from inside a network namespace) the Unix-socket relay;
// and nothing left behind after stop() or a failed start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { startControlPlane, removeStaleControlPlanes, MissingBinariesError, ADVERTISED_ADDRESS, type ControlPlane } from '../../support/sandbox/controlplane.js';
import { TestNetwork } from '../../support/sandbox/netns.js';

let cp: ControlPlane;
before(async () => {
  cp = await startControlPlane();
});
after(async () => {
  await cp?.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `needle` (scans /proc). */
function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) found.push(Number(e));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

function run(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('lists namespaces through @kubernetes/client-node', async () => {
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  const list = await core.listNamespace();
  const names = list.items.map((n) => n.metadata?.name);
  for (const expected of ['default', 'kube-system', 'kube-public']) assert.ok(names.includes(expected), `namespaces ${names.join(', ')} lack ${expected}`);
  // and it is a current Kubernetes release (1.31 or newer), stamped with its real version
  const version = await cp.kubeConfig().makeApiClient(VersionApi).getCode();
  assert.match(version.gitVersion, /^v1\.\d+\.\d+$/);
  assert.ok(Number(version.minor) >= 31, `server is ${version.gitVersion}`);
});

test('default/kubernetes has Endpoints and a v1 EndpointSlice, as in a real cluster', async () => {
  const slice = await cp.kubectl(['get', 'endpointslices.v1.discovery.k8s.io', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.endpoints[0].addresses[0]}']);
  assert.equal(slice.stdout, ADVERTISED_ADDRESS);
  const ep = await cp.kubectl(['get', 'endpoints', 'kubernetes', '-n', 'default', '-o', 'jsonpath={.subsets[0].addresses[0].ip}']);
  assert.equal(ep.stdout, ADVERTISED_ADDRESS);
});

test('the Service IP range holds more than 300 ClusterIP Services (a /24 held about 250)', { timeout: 300_000 }, async () => {
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  const namespace = `many-services-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const count = 400;
  const ips: string[] = [];
  // 400 creates, 20 in flight at a time
  let next = 0;
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < count) {
      const i = next++;
      const svc = await core.createNamespacedService({ namespace, body: {
        metadata: { name: `s${i}` },
        spec: { type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }] },
      } });
      ips.push(svc.spec?.clusterIP ?? '');
    }
  }));
  assert.equal(ips.length, count);
  assert.equal(new Set(ips).size, count, 'every Service has its own ClusterIP');
  for (const ip of ips) assert.match(ip, /^10\.96\.\d+\.\d+$/, `ClusterIP ${ip} inside 10.96.0.0/16`);
  assert.ok(ips.some((ip) => !ip.startsWith('10.96.0.')), 'addresses beyond the first /24 are used');
  const listed = await core.listNamespacedService({ namespace });
  assert.equal(listed.items.length, count);
});

test('kubectl helper runs against the server and reports failures', async () => {
  const ok = await cp.kubectl(['get', 'namespace', 'default', '-o', 'jsonpath={.metadata.name}']);
  assert.equal(ok.stdout, 'default');
  const missing = await cp.kubectl(['get', 'namespace', 'no-such-namespace'], { check: false });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /NotFound|not found/);
  await assert.rejects(cp.kubectl(['get', 'namespace', 'no-such-namespace']), /exited 1/);
});

test('service-account kubeconfig authenticates as the account and RBAC applies', async () => {
  const ns = `sa-${randomBytes(3).toString('hex')}`;
  await cp.kubectl(['create', 'namespace', ns]);
  await cp.kubectl(['create', 'serviceaccount', 'probe', '-n', ns]);
  const kubeconfig = await cp.serviceAccountKubeconfig(ns, 'probe');
  const who = await cp.kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfigPath: kubeconfig });
  assert.equal(who.stdout, `system:serviceaccount:${ns}:probe`);
  const denied = await cp.kubectl(['get', 'secrets', '-n', ns], { kubeconfigPath: kubeconfig, check: false });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/i);
});

test('a process inside a network namespace reaches the API server only through the relay', async () => {
  const net = TestNetwork.create('cp', [{ name: 'n1', v4: '198.51.100.11/24' }, { name: 'n2', v4: '198.51.100.12/24' }]);
  try {
    const netns = net.host('n1').netns;
    const kubectl = join(cp.binDir, 'kubectl');
    // the host's loopback is not the namespace's loopback: the admin kubeconfig does not work there
    const direct = await run('ip', ['netns', 'exec', netns, kubectl, `--kubeconfig=${cp.kubeconfigPath}`, '--request-timeout=5s', 'get', 'ns', 'default', '-o', 'name']);
    assert.notEqual(direct.code, 0, 'host loopback must not be reachable from the namespace');
    // relay on the namespace's loopback
    const relay = await cp.relayIntoNamespace(netns);
    assert.equal(relay.server, 'https://127.0.0.1:6443');
    const viaLoopback = await run('ip', ['netns', 'exec', netns, kubectl, `--kubeconfig=${relay.kubeconfigPath}`, 'get', 'ns', 'default', '-o', 'name']);
    assert.equal(viaLoopback.code, 0, viaLoopback.stderr);
    assert.equal(viaLoopback.stdout.trim(), 'namespace/default');
    // relay on the namespace's LAN address, so other namespaces on the bridge could use it too
    const onLan = await cp.relayIntoNamespace(netns, { host: '198.51.100.11', port: 6444 });
    const viaLan = await run('ip', ['netns', 'exec', netns, kubectl, `--kubeconfig=${onLan.kubeconfigPath}`, 'get', 'ns', 'kube-system', '-o', 'name']);
    assert.equal(viaLan.code, 0, viaLan.stderr);
    assert.equal(viaLan.stdout.trim(), 'namespace/kube-system');
    // ... which another namespace on the test bridge reaches as well
    const fromN2 = await run('ip', ['netns', 'exec', net.host('n2').netns, kubectl, `--kubeconfig=${onLan.kubeconfigPath}`, 'get', 'ns', 'kube-public', '-o', 'name']);
    assert.equal(fromN2.code, 0, fromN2.stderr);
    assert.equal(fromN2.stdout.trim(), 'namespace/kube-public');
    // relay processes are part of the control plane's process set
    assert.ok(relay.process.pid && cp.processIds().includes(relay.process.pid));
  } finally {
    net.destroy();
  }
});

test('stop() kills every process and removes the run directory', async () => {
  const own = await startControlPlane();
  const pids = own.processIds();
  assert.equal(pids.length, 2);
  assert.ok(pids.every(alive));
  assert.ok(existsSync(own.dir));
  await own.stop();
  assert.deepEqual(pids.filter(alive), []);
  assert.equal(existsSync(own.dir), false);
  await own.stop(); // idempotent
});

test('a failed start stops what it started and leaves no files', async () => {
  const prefix = `metallb-ts-cp-failtest-${randomBytes(3).toString('hex')}-`;
  await assert.rejects(
    startControlPlane({ dirPrefix: prefix, extraApiServerFlags: ['--no-such-flag-for-test=1'] }),
    (err: Error) => /kube-apiserver exited/.test(err.message) && /no-such-flag-for-test/.test(err.message),
  );
  assert.deepEqual(readdirSync(tmpdir()).filter((e) => e.startsWith(prefix)), []);
  assert.deepEqual(processesMentioning(prefix), [], 'etcd or kube-apiserver of the failed start still running');
});

test('missing binaries give an error that says to run scripts/setup.sh', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'metallb-ts-nobin-'));
  try {
    await assert.rejects(startControlPlane({ binDir: empty }), (err: Error) =>
      err instanceof MissingBinariesError && /scripts\/setup\.sh/.test(err.message));
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('removeStaleControlPlanes() cleans up after a test process that was SIGKILLed', async () => {
  const harness = fileURLToPath(new URL('../../support/sandbox/controlplane.js', import.meta.url));
  const prefix = `metallb-ts-cp-killtest-${randomBytes(3).toString('hex')}-`;
  const code = `const m = await import(${JSON.stringify(harness)});
    const cp = await m.startControlPlane({ dirPrefix: ${JSON.stringify(prefix)} });
    console.log(JSON.stringify({ dir: cp.dir, pids: cp.processIds() }));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
      });
      child.once('exit', (c) => reject(new Error(`child exited with ${c} before starting`)));
    });
    const started = JSON.parse(line) as { dir: string; pids: number[] };
    child.kill('SIGKILL'); // no exit hook can run
    await new Promise((r) => child.once('exit', r));
    assert.ok(started.pids.every(alive), 'etcd and kube-apiserver outlive a SIGKILLed owner');
    const removed = removeStaleControlPlanes();
    assert.ok(removed.includes(started.dir), `removed ${removed.join(', ')}`);
    assert.equal(existsSync(started.dir), false);
    for (let i = 0; i < 50 && started.pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(started.pids.filter(alive), []);
    // our own, live control plane is left alone
    assert.ok(existsSync(cp.dir));
    assert.ok(cp.processIds().every(alive));
  } finally {
    child.kill('SIGKILL');
    for (const d of readdirSync(tmpdir()).filter((e) => e.startsWith(prefix))) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  }
});
