// E2E: interfaces that appear, gain an IPv6 link-local address, change MAC, go down or
// disappear are picked up by the periodic re-scan, without restarting the responder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetwork, requireRoot } from '../../support/sandbox/netns.js';
import { GRATUITOUS_DURATION_MS } from '../../../lib/layer2/index.js';
import { HOSTS, NODE1_MAC, requireTools, startResponder, arping, ndisc6, eventually, sleep, type LineProcess } from './helpers.js';

const VIP4_LAN = '198.51.100.220';
const VIP4_LINK = '192.0.2.220';
const VIP6 = 'fd00::220';
const ETH1_MAC = '02:00:00:00:01:11';
const NEW_MAC = '02:00:00:00:00:99';
let net: TestNetwork;
let responder: LineProcess;

before(async () => {
  requireRoot('layer2 e2e tests');
  requireTools();
  net = TestNetwork.create('l2i', HOSTS.filter((h) => h.name !== 'node2'));
  responder = await startResponder(net, 'node1', ['--rescan-ms', '300']);
  await responder.send({ cmd: 'announce', ips: [VIP4_LAN, VIP4_LINK, VIP6] });
  // let the gratuitous burst (5 s) pass: ndisc6 accepts any matching NA, so answers must be solicited ones
  await sleep(GRATUITOUS_DURATION_MS + 1000);
});
after(() => net?.destroy());

type Iface = { name: string; mac: string; arp: boolean; ndp: boolean };
async function interfaces(): Promise<Iface[]> {
  return (await responder.send({ cmd: 'status' })).interfaces as Iface[];
}
function waitFor(what: string, pred: (ifs: Iface[]) => boolean): Promise<Iface[]> {
  return eventually(what, async () => {
    const ifs = await interfaces();
    return pred(ifs) ? ifs : undefined;
  }, 5000);
}

test('a new interface gets an ARP responder; NDP once it has a link-local address', async () => {
  const node1 = net.host('node1').netns;
  const client = net.host('client').netns;
  // a direct cable node1:eth1 <-> client:eth1; node1's end has no IPv6 link-local at first
  net.exec('node1', 'ip', ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', client]);
  net.exec('node1', 'ip', ['link', 'set', 'eth1', 'address', ETH1_MAC, 'addrgenmode', 'none']);
  net.exec('node1', 'ip', ['link', 'set', 'eth1', 'up']);
  net.exec('client', 'ip', ['addr', 'add', '192.0.2.100/24', 'dev', 'eth1']);
  net.exec('client', 'ip', ['link', 'set', 'eth1', 'up']);
  assert.ok(node1.length > 0);

  const ifs = await waitFor('eth1 with an ARP responder', (l) => l.some((i) => i.name === 'eth1' && i.arp));
  const eth1 = ifs.find((i) => i.name === 'eth1');
  assert.deepEqual([eth1?.mac, eth1?.arp, eth1?.ndp], [ETH1_MAC, true, false]);
  const r = arping(net, 'client', VIP4_LINK, 2, 'eth1');
  assert.equal(r.replies, 2, r.output);
  assert.deepEqual(new Set(r.macs), new Set([ETH1_MAC]));
  const none = ndisc6(net, 'client', VIP6, 'eth1');
  assert.equal(none.mac, undefined, `no NDP responder without a link-local address: ${none.output}`);

  net.exec('node1', 'ip', ['addr', 'add', 'fe80::1:11/64', 'dev', 'eth1', 'nodad']);
  await waitFor('eth1 with an NDP responder', (l) => l.some((i) => i.name === 'eth1' && i.ndp));
  // the new responder joined the solicited-node group of an address announced before it existed
  const n = ndisc6(net, 'client', VIP6, 'eth1');
  assert.equal(n.mac, ETH1_MAC, n.output);
});

test('a changed MAC address is used after the next scan', async () => {
  net.exec('node1', 'ip', ['link', 'set', 'eth0', 'address', NEW_MAC]);
  await waitFor('eth0 with the new MAC', (l) => l.some((i) => i.name === 'eth0' && i.mac === NEW_MAC));
  const r = arping(net, 'client', VIP4_LAN, 2);
  assert.equal(r.replies, 2, r.output);
  assert.deepEqual(new Set(r.macs), new Set([NEW_MAC]));
  assert.equal(ndisc6(net, 'client', VIP6).mac, NEW_MAC);
  net.exec('node1', 'ip', ['link', 'set', 'eth0', 'address', NODE1_MAC]);
  await waitFor('eth0 back on its MAC', (l) => l.some((i) => i.name === 'eth0' && i.mac === NODE1_MAC));
});

test('an interface that goes down loses its responders, and gets them back when up', async () => {
  net.exec('node1', 'ip', ['link', 'set', 'eth1', 'down']);
  await waitFor('eth1 without responders', (l) => !l.some((i) => i.name === 'eth1'));
  net.exec('node1', 'ip', ['link', 'set', 'eth1', 'up']); // (its IPv6 link-local address went with the down)
  await waitFor('eth1 with an ARP responder again', (l) => l.some((i) => i.name === 'eth1' && i.arp));
  const r = arping(net, 'client', VIP4_LINK, 1, 'eth1');
  assert.equal(r.replies, 1, r.output);
});

test('an interface that disappears is dropped; the others keep answering', async () => {
  net.exec('node1', 'ip', ['link', 'del', 'eth1']);
  const ifs = await waitFor('eth1 gone', (l) => !l.some((i) => i.name === 'eth1'));
  assert.deepEqual(ifs.map((i) => i.name), ['eth0']);
  const r = arping(net, 'client', VIP4_LAN, 1);
  assert.equal(r.replies, 1, r.output);
});
