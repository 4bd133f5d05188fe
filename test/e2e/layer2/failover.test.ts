// E2E: moving an address from one responder to another re-points the client's neighbour
// entries by gratuitous ARP / unsolicited NA alone (the client never asks), with the count,
// spacing and fields of spec 4.6.3.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetwork, requireRoot } from '../../support/sandbox/netns.js';
import { MacAddress } from '../../../lib/layer2/mac.js';
import { decodeEthernet, EtherType } from '../../../lib/layer2/ethernet.js';
import { ArpOperation, decodeArpFrame } from '../../../lib/layer2/arp.js';
import { decodeIPv6Icmp, decodeNdpMessage, linkLayerOption } from '../../../lib/layer2/ndp.js';
import {
  HOSTS, NODE1_MAC, NODE2_MAC, requireTools, startResponder, startFrameTool, neighbourMac, eventually, sleep, type LineProcess,
} from './helpers.js';

const VIP4 = '198.51.100.210';
const VIP6 = 'fd00::210';
let net: TestNetwork;
let node1: LineProcess;
let node2: LineProcess;

before(async () => {
  requireRoot('layer2 e2e tests');
  requireTools();
  net = TestNetwork.create('l2f', HOSTS);
  node1 = await startResponder(net, 'node1');
  node2 = await startResponder(net, 'node2');
});
after(() => net?.destroy());

const count = (status: Record<string, unknown>, key: 'requests' | 'responses' | 'gratuitous', ip: string): number =>
  (status[key] as Record<string, number>)[ip] ?? 0;

test('failover: the client neighbour entries move to the new node without the client asking', async () => {
  await node1.send({ cmd: 'announce', ips: [VIP4, VIP6] });
  // the client resolves both addresses through node1 (nobody owns them, so the pings themselves fail)
  net.execStatus('client', 'ping', ['-c', '1', '-W', '1', VIP4]);
  net.execStatus('client', 'ping', ['-6', '-c', '1', '-W', '1', VIP6]);
  assert.equal(neighbourMac(net, 'client', VIP4), NODE1_MAC);
  assert.equal(neighbourMac(net, 'client', VIP6), NODE1_MAC);
  await sleep(6000); // node1's gratuitous window is over, so only node2 speaks from here on

  const tool = await startFrameTool(net, 'client');
  await node1.send({ cmd: 'announce', ips: [] });
  await node2.send({ cmd: 'announce', ips: [VIP4, VIP6] });
  await eventually('client IPv4 neighbour entry on node2', () => (neighbourMac(net, 'client', VIP4) === NODE2_MAC ? true : undefined), 3000);
  await eventually('client IPv6 neighbour entry on node2', () => (neighbourMac(net, 'client', VIP6) === NODE2_MAC ? true : undefined), 3000);
  const st = await node2.send({ cmd: 'status' });
  assert.equal(count(st, 'requests', VIP4), 0, 'the client did not ask node2 for the IPv4 address');
  assert.equal(count(st, 'requests', VIP6), 0, 'the client did not ask node2 for the IPv6 address');
  assert.ok(count(st, 'gratuitous', VIP4) > 0 && count(st, 'gratuitous', VIP6) > 0);

  // the whole burst: 5 rounds (at once, then every 1.1 s until 5 s have passed)
  await sleep(6500);
  const frames = ((await tool.send({ cmd: 'dump' })).frames as { ms: number; hex: string }[])
    .map((f) => ({ ms: f.ms, frame: Buffer.from(f.hex, 'hex') }))
    .filter((f) => f.frame.subarray(6, 12).equals(MacAddress.mustParse(NODE2_MAC).toBytes()));
  const node2Mac = MacAddress.mustParse(NODE2_MAC);
  const arp = frames.filter((f) => f.frame.readUInt16BE(12) === EtherType.ARP).map((f) => ({ ms: f.ms, f: decodeArpFrame(f.frame) }));
  // (node2's kernel also sends MLD reports, behind a hop-by-hop header: not ICMPv6-next)
  const na = frames.filter((f) => f.frame.readUInt16BE(12) === EtherType.IPv6 && f.frame[14 + 6] === 58)
    .map((f) => ({ ms: f.ms, eth: decodeEthernet(f.frame), ip: decodeIPv6Icmp(decodeEthernet(f.frame).payload) }))
    .filter((x) => x.ip.icmp[0] === 136);
  assert.equal(arp.length, 10, 'IPv4: a request and a reply per round, 5 rounds');
  assert.equal(na.length, 5, 'IPv6: one unsolicited NA per round, 5 rounds');
  for (const { f } of arp) {
    assert.ok(f.destination.isBroadcast && f.source.equals(node2Mac));
    assert.ok(f.arp.senderHardwareAddress.equals(node2Mac) && f.arp.targetHardwareAddress.isBroadcast);
    assert.equal(f.arp.senderProtocolAddress.toString(), VIP4);
    assert.equal(f.arp.targetProtocolAddress.toString(), VIP4);
  }
  assert.deepEqual(arp.map(({ f }) => f.arp.operation), [1, 2, 1, 2, 1, 2, 1, 2, 1, 2].map((o) => (o === 1 ? ArpOperation.Request : ArpOperation.Reply)));
  for (const { eth, ip } of na) {
    assert.equal(eth.destination.toString(), '33:33:00:00:00:01');
    assert.equal(ip.destination.toString(), 'ff02::1');
    assert.equal(ip.hopLimit, 255);
    const m = decodeNdpMessage(ip.icmp);
    assert.ok(m.type === 136 && !m.solicited && m.override);
    assert.equal(m.target.toString(), VIP6);
    assert.ok(linkLayerOption(m, 2)?.equals(node2Mac));
  }
  // rounds are spaced by the 1.1 s ticker (checked from below only: a slow machine only widens gaps)
  const rounds = arp.filter((_, i) => i % 2 === 0).map((x) => x.ms);
  for (let i = 1; i < rounds.length; i++) assert.ok(rounds[i] - rounds[i - 1] >= 1000, `round gap ${rounds[i] - rounds[i - 1]} ms`);
  const end = await node2.send({ cmd: 'status' });
  assert.equal(count(end, 'gratuitous', VIP4), 10);
  assert.equal(count(end, 'gratuitous', VIP6), 5);
  const old = await node1.send({ cmd: 'status' });
  assert.equal(count(old, 'gratuitous', VIP4), 10, 'node1 sent nothing after losing the address');
});

test('reannounce renews the burst only for announced addresses', async () => {
  const before = await node2.send({ cmd: 'status' });
  await node2.send({ cmd: 'reannounce', ips: [VIP4, '198.51.100.211'] });
  await sleep(300);
  const after = await node2.send({ cmd: 'status' });
  assert.equal(count(after, 'gratuitous', VIP4), count(before, 'gratuitous', VIP4) + 2, 'sent at once: a request and a reply');
  assert.equal(count(after, 'gratuitous', '198.51.100.211'), 0);
});
