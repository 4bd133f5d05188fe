// bgp Services on real pods, FRR as the router. Expects: layer2.ts's namespace "web".
// Leaves: Service "web-bgp" (Cluster) and "local-bgp" (Local, backend only on node2) in "web".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../support/cluster/cluster.js';
import { createService, curl, deployBackend, routerNextHops, until } from '../../support/cluster/metallb.js';
import { WEB_NS } from './layer2.js';

export function bgpTests(get: () => Cluster): void {
  test('externalTrafficPolicy Cluster: the router holds the route via every node, curl through the router works', async () => {
    const c = get();
    const ip = await createService(c, WEB_NS, 'web-bgp', 'web', 'routed');
    assert.match(ip, /^203\.0\.113\.\d+$/);
    const all = c.nodes.map((n) => n.ip).sort();
    const hops = await until(`route ${ip}/32 via every node`, 90_000, () => {
      const h = routerNextHops(c, ip);
      return h.join() === all.join() ? h : undefined;
    }, 500);
    assert.deepEqual(hops, all);
    // zebra installed it in the router's kernel (multipath), so the client's packets get through
    const kr = await until('kernel route', 30_000, () => c.router.frr.kernelRoutes(`${ip}/32`).find((r) => r.installed));
    assert.equal(kr.nextHops.filter((h) => h.fib).length, all.length);
    const page = await until(`HTTP through ${ip}`, 30_000, () => curl(c, ip), 500);
    assert.match(page, /^web-\S+ on node\d$/m);
  });

  test('externalTrafficPolicy Local: only the node with an endpoint is a next hop', async () => {
    const c = get();
    await deployBackend(c, WEB_NS, 'local', { replicas: 1, node: 'node2' });
    const ip = await createService(c, WEB_NS, 'local-bgp', 'local', 'routed', 'Local');
    const node2 = c.nodes.find((n) => n.name === 'node2')?.ip ?? '';
    const hops = await until(`route ${ip}/32 via node2 only`, 90_000, () => {
      const h = routerNextHops(c, ip);
      return h.length === 1 && h[0] === node2 ? h : undefined;
    }, 500);
    assert.deepEqual(hops, [node2]);
    const page = await until(`HTTP through ${ip}`, 30_000, () => curl(c, ip), 500);
    assert.match(page, /^local-\S+ on node2$/m);
  });
}
