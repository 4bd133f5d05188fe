// Node maintenance and upgrades: cordon + drain a node, then a rolling update of the speaker
// DaemonSet and the controller Deployment to a new image tag. No Service's address may change and
// the announcements must survive. Expects: the Services of layer2.ts and bgp.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../support/cluster/cluster.js';
import { NS, arpMacs, curl, nodeOfMac, pods, routerNextHops, until, waitInstalled } from '../../support/cluster/metallb.js';
import { WEB_NS } from './layer2.js';

async function addresses(c: Cluster): Promise<Record<string, string>> {
  const l = await c.getJson<{ items: { metadata: { name: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[] }>(['get', 'services', '-n', WEB_NS]);
  const out: Record<string, string> = {};
  for (const s of l.items) {
    const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
    if (ip) out[s.metadata.name] = ip;
  }
  return out;
}

/** Watches the Services' addresses and the announcements while `during` runs. */
async function watchWhile(c: Cluster, during: () => Promise<void>): Promise<{ changes: string[]; curlFailures: number; curls: number }> {
  const start = await addresses(c);
  assert.ok(start['web-l2'] && start['web-bgp'], `services missing: ${JSON.stringify(start)}`);
  const changes: string[] = [];
  let curls = 0;
  let curlFailures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const now = await addresses(c).catch(() => start);
      for (const [k, v] of Object.entries(start)) if (now[k] !== v) changes.push(`${k}: ${v} -> ${now[k] ?? 'none'}`);
      for (const ip of [start['web-l2'] ?? '', start['web-bgp'] ?? '']) {
        curls++;
        if (curl(c, ip, 3) === undefined) curlFailures++;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await loop;
  }
  return { changes, curlFailures, curls };
}

async function assertAnnounced(c: Cluster): Promise<void> {
  const a = await addresses(c);
  const l2 = a['web-l2'] ?? '';
  const bgp = a['web-bgp'] ?? '';
  const macs = await until('one ARP answer', 60_000, () => { const m = arpMacs(c, l2); return m.length === 1 ? m : undefined; }, 500);
  assert.ok(nodeOfMac(c, macs[0] ?? ''), 'ARP answer from no node');
  await until(`route ${bgp} via every node`, 90_000, () => (routerNextHops(c, bgp).length === c.nodes.length ? true : undefined), 500);
  assert.ok(await until('curl layer2', 30_000, () => curl(c, l2), 500));
  assert.ok(await until('curl bgp', 30_000, () => curl(c, bgp), 500));
}

export function rolloutTests(get: () => Cluster): void {
  test('cordon and drain the node running the controller: addresses unchanged, announcements survive', async () => {
    const c = get();
    const before = await addresses(c);
    const { controller } = await waitInstalled(c);
    const node = controller.spec.nodeName ?? '';
    const r = await watchWhile(c, async () => {
      await c.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=180s']);
      // the controller moved to another node and is Ready there
      const moved = await waitInstalled(c);
      assert.notEqual(moved.controller.spec.nodeName, node);
      await assertAnnounced(c);
      await c.kubectl(['uncordon', node]);
    });
    assert.deepEqual(r.changes, []);
    assert.deepEqual(await addresses(c), before);
    console.log(`# drain ${node}: ${r.curls} requests, ${r.curlFailures} failed`);
    await assertAnnounced(c);
  });

  test('rolling update of the DaemonSet and the Deployment to a new image tag: addresses unchanged, announcements survive', async () => {
    const c = get();
    const before = await addresses(c);
    const sp = c.images.speaker?.name ?? '';
    const ctl = c.images.controller?.name ?? '';
    const sp2 = `${sp}-rollout`;
    const ctl2 = `${ctl}-rollout`;
    await c.tagImage(sp, sp2);
    await c.tagImage(ctl, ctl2);
    const r = await watchWhile(c, async () => {
      await c.kubectl(['set', 'image', 'daemonset/speaker', `speaker=${sp2}`, '-n', NS]);
      await c.kubectl(['rollout', 'status', 'daemonset/speaker', '-n', NS, '--timeout=300s']);
      await c.kubectl(['set', 'image', 'deployment/controller', `controller=${ctl2}`, '-n', NS]);
      await c.kubectl(['rollout', 'status', 'deployment/controller', '-n', NS, '--timeout=300s']);
    });
    const now = await waitInstalled(c);
    assert.equal(now.controller.spec.containers[0]?.image, ctl2);
    for (const p of now.speakers) assert.equal(p.spec.containers[0]?.image, sp2);
    assert.equal((await pods(c, 'component=speaker')).length, c.nodes.length);
    assert.deepEqual(r.changes, []);
    assert.deepEqual(await addresses(c), before);
    console.log(`# rolling update: ${r.curls} requests, ${r.curlFailures} failed`);
    await assertAnnounced(c);
  });
}
