// What the kubelet and runc really enforce for the running pods (read from /proc of the container
// processes on the host), and what Pod Security admission says about the pod templates.
// Expects: the install left by install.ts. Leaves it unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Cluster } from '../../support/cluster/cluster.js';
import { NS, pods, until, waitInstalled, type Pod } from '../../support/cluster/metallb.js';

const CAP_NET_RAW = 13;

interface ProcStatus { uid: number[]; capEff: bigint; capPrm: bigint; capBnd: bigint; noNewPrivs: number; seccomp: number }

function procStatus(pid: number): ProcStatus {
  const t = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string): string => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(t)?.[1]?.trim() ?? '';
  return {
    uid: field('Uid').split(/\s+/).map(Number),
    capEff: BigInt(`0x${field('CapEff')}`),
    capPrm: BigInt(`0x${field('CapPrm')}`),
    capBnd: BigInt(`0x${field('CapBnd')}`),
    noNewPrivs: Number(field('NoNewPrivs')),
    seccomp: Number(field('Seccomp')),
  };
}

/** Whether the container's root filesystem is mounted read-only (its mount namespace's "/"). */
function rootReadOnly(pid: number): boolean {
  const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  return (root?.split(' ')[5] ?? '').split(',').includes('ro');
}

async function mainPid(c: Cluster, p: Pod): Promise<number> {
  const id = p.status.containerStatuses?.[0]?.containerID ?? '';
  return c.containerPid(p.spec.nodeName ?? '', id);
}

/** The pod a template makes, in another namespace (its ServiceAccount there is "default"). */
function podTemplate(doc: { spec: { template: { metadata?: object; spec: Record<string, unknown> } } }, name: string, namespace: string): string {
  const spec = { ...doc.spec.template.spec };
  delete spec.serviceAccountName;
  delete spec.serviceAccount;
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec });
}

export function securityTests(get: () => Cluster): void {
  test('the controller runs as uid 65534 with no capabilities, no_new_privs, seccomp filter and a read-only root', async () => {
    const c = get();
    const { controller } = await waitInstalled(c);
    const s = procStatus(await mainPid(c, controller));
    assert.deepEqual(s.uid, [65534, 65534, 65534, 65534]);
    assert.equal(s.capEff, 0n);
    assert.equal(s.capPrm, 0n);
    assert.equal(s.capBnd, 0n);
    assert.equal(s.noNewPrivs, 1);
    assert.equal(s.seccomp, 2, 'seccomp mode 2 (filter): RuntimeDefault applied');
    assert.ok(rootReadOnly(await mainPid(c, controller)), 'root filesystem writable');
  });

  test('each speaker runs as root with exactly NET_RAW, no_new_privs, seccomp filter and a read-only root', async () => {
    const c = get();
    const { speakers } = await waitInstalled(c);
    for (const sp of speakers) {
      const pid = await mainPid(c, sp);
      const s = procStatus(pid);
      assert.equal(s.uid[1], 0, `${sp.metadata.name} not root`);
      assert.equal(s.capEff, 1n << BigInt(CAP_NET_RAW), `${sp.metadata.name} CapEff ${s.capEff.toString(16)}`);
      assert.equal(s.capBnd, 1n << BigInt(CAP_NET_RAW));
      assert.equal(s.noNewPrivs, 1);
      assert.equal(s.seccomp, 2);
      assert.ok(rootReadOnly(pid));
    }
  });

  test('Pod Security admission: the controller pod passes "restricted"; the speaker needs "privileged" (host network), refused at "baseline"', async () => {
    const c = get();
    await c.kubectl(['create', 'namespace', 'psa-restricted'], { check: false });
    await c.kubectl(['label', '--overwrite', 'namespace', 'psa-restricted', 'pod-security.kubernetes.io/enforce=restricted']);
    await c.kubectl(['create', 'namespace', 'psa-baseline'], { check: false });
    await c.kubectl(['label', '--overwrite', 'namespace', 'psa-baseline', 'pod-security.kubernetes.io/enforce=baseline']);
    for (const ns of ['psa-restricted', 'psa-baseline']) {
      await until(`ServiceAccount default in ${ns}`, 60_000, async () => ((await c.kubectl(['get', 'serviceaccount', 'default', '-n', ns], { check: false })).code === 0 ? true : undefined), 500);
    }
    const dep = await c.getJson<{ spec: { template: { spec: Record<string, unknown> } } }>(['get', 'deployment', 'controller', '-n', NS]);
    const ds = await c.getJson<{ spec: { template: { spec: Record<string, unknown> } } }>(['get', 'daemonset', 'speaker', '-n', NS]);
    const ok = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: podTemplate(dep, 'controller-psa', 'psa-restricted'), check: false });
    assert.equal(ok.code, 0, `controller refused at restricted: ${ok.stderr}`);
    const refused = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: podTemplate(ds, 'speaker-psa', 'psa-baseline'), check: false });
    assert.notEqual(refused.code, 0, 'speaker admitted at baseline');
    assert.match(refused.stderr, /violates PodSecurity "baseline.*host namespaces/);
    // and in metallb-system (enforce: privileged) the DaemonSet's pods are admitted: all are running
    const sp = await pods(c, 'component=speaker');
    assert.equal(sp.length, c.nodes.length);
    await c.kubectl(['delete', 'namespace', 'psa-restricted', 'psa-baseline', '--wait=false']);
  });
}
