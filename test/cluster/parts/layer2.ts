// A layer2 Service on real pods. Expects: install.ts's final install (config with pool "lan").
// Leaves: namespace "web" with Deployment "web" (a pod per node) and Service "web-l2".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../support/cluster/cluster.js';
import { arpMacs, createService, curl, deployBackend, nodeOfMac, until } from '../../support/cluster/metallb.js';

export const WEB_NS = 'web';

interface EventList { items: { reason: string; message: string; involvedObject: { name: string } }[] }

export function layer2Tests(get: () => Cluster): void {
  test('arping from the client gets exactly one MAC, of the node the speaker says it announces from', async () => {
    const c = get();
    await deployBackend(c, WEB_NS, 'web');
    const ip = await createService(c, WEB_NS, 'web-l2', 'web', 'lan');
    assert.match(ip, /^198\.51\.100\.(20\d|210)$/);
    const macs = await until('ARP answers', 60_000, () => {
      const m = arpMacs(c, ip);
      return m.length > 0 ? m : undefined;
    }, 500);
    assert.equal(macs.length, 1, `several MACs answer: ${macs.join(', ')}`);
    const node = nodeOfMac(c, macs[0] ?? '');
    assert.ok(node, `MAC ${macs[0]} is no node's`);
    const ev = await c.getJson<EventList>(['get', 'events', '-n', WEB_NS, '--field-selector', 'involvedObject.name=web-l2']);
    const assigned = ev.items.filter((e) => e.reason === 'nodeAssigned').map((e) => e.message);
    assert.ok(assigned.some((m) => m.includes(`"${node}"`)), `no nodeAssigned event naming ${node}: ${assigned.join(' | ')}`);
  });

  test('curl from the client through the layer2 address reaches a backend pod', async () => {
    const c = get();
    const svc = await c.getJson<{ status: { loadBalancer: { ingress: { ip: string }[] } } }>(['get', 'service', 'web-l2', '-n', WEB_NS]);
    const ip = svc.status.loadBalancer.ingress[0]?.ip ?? '';
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const page = await until(`HTTP through ${ip}`, 30_000, () => curl(c, ip), 500);
      const m = /^(web-\S+) on (node\d)$/m.exec(page);
      assert.ok(m, `unexpected page: ${page}`);
      seen.add(m[1] ?? '');
    }
    // kube-proxy spreads the connections over the backend pods
    assert.ok(seen.size >= 2, `only ${[...seen].join(', ')} answered`);
  });
}
