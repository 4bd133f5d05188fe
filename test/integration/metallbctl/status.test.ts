// `metallbctl status` and `plan --from-cluster` against a real kube-apiserver with the real
// controller, run with the read-only Role's own token (manifests/metallbctl-status-rbac.yaml):
// a config in force, a refused config (why and since when), a plan that strands a Service; the
// Role can read all of it and cannot write. Also --lb-class end to end on the controller side:
// two controllers, each handling only its own class.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ControllerProcess, NS, applyConfig, applyService, createNamespace, ingressIPs, root, startEnv, waitFor, waitForIngress, type Env } from '../controller/env.js';

const execFileAsync = promisify(execFile);
let env: Env;
let statusKubeconfig: string;
let controller: ControllerProcess;
const ctl = join(root, 'dist', 'bin', 'metallbctl.js');

async function metallbctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileAsync(process.execPath, [ctl, ...args], { encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface StatusJSON {
  config: { state: string; digest?: string; inForce?: { digest: string }; refused?: { kind: string; reason: string; since?: string } };
  services: { service: string; addresses: string[]; pool?: string; reason?: string }[];
  problems: string[];
}

const POOL_A = 'address-pools:\n- name: a\n  protocol: layer2\n  addresses: [192.0.2.0/30]\n';
const POOL_B = 'address-pools:\n- name: b\n  protocol: layer2\n  addresses: [198.51.100.0/30]\n';

before(async () => {
  env = await startEnv();
  await env.cp.kubectl(['apply', '-f', join(root, 'manifests', 'metallbctl-status-rbac.yaml')]);
  statusKubeconfig = await env.cp.serviceAccountKubeconfig(NS, 'metallbctl-status');
  controller = ControllerProcess.start(env);
  await createNamespace(env.cp, 'st');
});
after(async () => {
  await controller?.stop();
  await env?.cp.stop();
});

test('status with the read-only token: the config in force and every Service with its address and pool', async () => {
  await applyConfig(env.cp, POOL_A);
  await applyService(env.cp, { namespace: 'st', name: 'web' });
  await waitForIngress(env.cp, 'st', 'web', ['192.0.2.0'], controller);
  const s = await waitFor('status shows the config in force', async () => {
    const r = await metallbctl(['status', '--kubeconfig', statusKubeconfig, '-o', 'json']);
    assert.equal(r.stderr, '');
    const j = JSON.parse(r.stdout) as StatusJSON;
    return j.config.state === 'in-force' ? { r, j } : undefined;
  }, 60_000, () => controller.describe());
  assert.equal(s.j.config.inForce?.digest, s.j.config.digest);
  assert.deepEqual(s.j.services.find((x) => x.service === 'st/web'), { service: 'st/web', addresses: ['192.0.2.0'], pool: 'a', protocol: 'layer2', announcedBy: [], peers: [], ok: false, reason: 'no speaker metrics read' });
  assert.ok(s.j.problems.includes('no speaker Pods found'));
  assert.equal(s.r.code, 1, 'problems found: exit 1');
  const table = await metallbctl(['status', '--kubeconfig', statusKubeconfig]);
  assert.match(table.stdout, /^Config metallb-system\/config: in-force \(sha256:[0-9a-f]{12}\)$/m);
  assert.match(table.stdout, /st\/web\s+192\.0\.2\.0\s+a\s+layer2/);
});

test('plan --from-cluster: a config without the address in use strands st/web (exit 1); the Role still cannot write', async () => {
  const file = join(env.cp.dir, 'pool-b.yaml');
  writeFileSync(file, POOL_B);
  const r = await metallbctl(['plan', file, '--from-cluster', '--kubeconfig', statusKubeconfig, '-o', 'json']);
  assert.equal(r.code, 1, r.stderr);
  const j = JSON.parse(r.stdout) as { refused: boolean; stranded: string[]; services: { service: string; addresses: string[]; pool: string | null; reason?: string }[] };
  assert.equal(j.refused, true);
  assert.deepEqual(j.stranded, ['st/web']);
  const web = j.services.find((x) => x.service === 'st/web');
  assert.deepEqual({ addresses: web?.addresses, pool: web?.pool }, { addresses: [], pool: null });
  assert.match(web?.reason ?? '', /no pool of the new config/);
  // a config that keeps the address plans cleanly
  const keep = join(env.cp.dir, 'pool-ab.yaml');
  writeFileSync(keep, POOL_A + POOL_B.replace('address-pools:\n', ''));
  const ok = await metallbctl(['plan', keep, '--from-cluster', '--kubeconfig', statusKubeconfig, '-o', 'json']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.deepEqual((JSON.parse(ok.stdout) as { services: { service: string; change: string }[] }).services.find((x) => x.service === 'st/web')?.change, 'same');
  // read-only: every write is refused by the API server
  for (const args of [['create', 'configmap', 'x', '-n', NS], ['delete', 'service', 'web', '-n', 'st'], ['patch', 'configmap', 'config', '-n', NS, '--type=merge', '-p', '{"data":{"config":""}}'], ['create', 'namespace', 'x']]) {
    const w = await env.cp.kubectl([...args, `--kubeconfig=${statusKubeconfig}`], { check: false });
    assert.notEqual(w.code, 0, args.join(' '));
    assert.match(w.stderr, /forbidden/i, args.join(' '));
  }
});

test('status: the refused config, why and since when; the previous one stays in force', async () => {
  await applyConfig(env.cp, POOL_B);
  const j = await waitFor('status shows the refusal', async () => {
    const r = await metallbctl(['status', '--kubeconfig', statusKubeconfig, '-o', 'json']);
    const s = JSON.parse(r.stdout) as StatusJSON;
    return s.config.state === 'refused' ? s : undefined;
  }, 60_000, () => controller.describe());
  assert.equal(j.config.refused?.kind, 'ConfigNotCompatible');
  assert.match(j.config.refused?.reason ?? '', /service "st\/web" cannot own \["192\.0\.2\.0"\]/);
  assert.match(j.config.refused?.since ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.notEqual(j.config.inForce?.digest, j.config.digest, 'the digest in force is the previous content');
  assert.deepEqual(await ingressIPs(env.cp, 'st', 'web'), ['192.0.2.0']);
  const table = await metallbctl(['status', '--kubeconfig', statusKubeconfig]);
  assert.match(table.stdout, /latest refused since \S+ \(ConfigNotCompatible, 1x\): new config not compatible/);
  await applyConfig(env.cp, POOL_A); // back
});

test('--lb-class: each controller handles only its own class, the default one only Services without a class', async () => {
  await applyConfig(env.cp, POOL_B, 'config-b');
  const second = ControllerProcess.start(env, ['--config=config-b', '--lb-class=example.com/b'], { METALLB_ML_SECRET_NAME: '' });
  try {
    await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'classb', namespace: 'st' }, spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/b', ports: [{ port: 80 }] } }) });
    await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'classc', namespace: 'st' }, spec: { type: 'LoadBalancer', loadBalancerClass: 'example.com/c', ports: [{ port: 80 }] } }) });
    await applyService(env.cp, { namespace: 'st', name: 'plain' });
    await waitForIngress(env.cp, 'st', 'classb', ['198.51.100.0'], second);
    await waitForIngress(env.cp, 'st', 'plain', ['192.0.2.1'], controller);
    await waitFor('second controller has seen every Service', () => (second.lines.some((l) => l.msg === 'initial sync done, every existing assignment is known') ? true : undefined));
    assert.deepEqual(await ingressIPs(env.cp, 'st', 'classc'), [], 'a third class is nobody\'s');
    assert.deepEqual(await ingressIPs(env.cp, 'st', 'web'), ['192.0.2.0'], 'the class-b controller left the default class alone');
    const r = await metallbctl(['status', '--kubeconfig', statusKubeconfig, '-o', 'json', '--lb-class', 'example.com/b']);
    assert.deepEqual((JSON.parse(r.stdout) as StatusJSON).services.map((x) => x.service), ['st/classb']);
  } finally {
    await second.stop();
  }
});
