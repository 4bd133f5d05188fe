// E2E: a responder process in a node namespace answers real arping/ndisc6 from a client
// namespace for announced addresses only, stops at once when an address is withdrawn, and
// ignores malformed and foreign frames (spec 4.6.2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestNetwork, requireRoot } from '../../support/sandbox/netns.js';
import { GRATUITOUS_DURATION_MS } from '../../../lib/layer2/index.js';
import { mustParseIP } from '../../../lib/ip/index.js';
import { MacAddress } from '../../../lib/layer2/mac.js';
import { encodeEthernet, EtherType, decodeEthernet } from '../../../lib/layer2/ethernet.js';
import { ArpOperation, encodeArp, encodeArpFrame, decodeArpFrame, type ArpPacket } from '../../../lib/layer2/arp.js';
import { encodeIPv6Icmp, encodeNdpMessage, decodeIPv6Icmp, decodeNdpMessage, linkLayerOption, multicastMac, solicitedNodeMulticast } from '../../../lib/layer2/ndp.js';
import {
  HOSTS, NODE1_MAC, CLIENT_MAC, requireTools, startResponder, startFrameTool, arping, ndisc6, sleep, type LineProcess,
} from './helpers.js';

const VIP4 = '198.51.100.200';
const VIP6 = 'fd00::200';
let net: TestNetwork;
let responder: LineProcess;

before(async () => {
  requireRoot('layer2 e2e tests');
  requireTools();
  net = TestNetwork.create('l2a', HOSTS);
  responder = await startResponder(net, 'node1');
  await responder.send({ cmd: 'announce', ips: [VIP4, VIP6] });
  // let the gratuitous burst (5 s) pass: ndisc6 accepts any matching NA, so answers must be solicited ones
  await sleep(GRATUITOUS_DURATION_MS + 1000);
});
after(() => net?.destroy());

test('arping gets the node MAC for an announced IPv4 address', () => {
  const r = arping(net, 'client', VIP4, 3);
  assert.equal(r.replies, 3, r.output);
  assert.deepEqual(new Set(r.macs), new Set([NODE1_MAC]), r.output);
});

test('arping gets no reply for an address that is not announced', () => {
  const r = arping(net, 'client', '198.51.100.201', 2);
  assert.equal(r.replies, 0, r.output);
});

test('ndisc6 gets the node MAC for an announced IPv6 address, from the address itself', () => {
  const r = ndisc6(net, 'client', VIP6);
  assert.equal(r.mac, NODE1_MAC, r.output);
  assert.match(r.output, /from fd00::200/);
});

test('ndisc6 gets no answer for an IPv6 address that is not announced', () => {
  const r = ndisc6(net, 'client', 'fd00::201');
  assert.equal(r.mac, undefined, r.output);
  assert.notEqual(r.status, 0);
});

test('the client kernel learns the MAC through our answers (ping resolves the neighbour)', () => {
  net.execStatus('client', 'ping', ['-c', '1', '-W', '1', VIP4]); // no echo reply expected: nobody owns the address
  net.execStatus('client', 'ping', ['-6', '-c', '1', '-W', '1', VIP6]);
  assert.match(net.exec('client', 'ip', ['-4', 'neigh', 'show', VIP4]), new RegExp(`lladdr ${NODE1_MAC}`));
  assert.match(net.exec('client', 'ip', ['-6', 'neigh', 'show', VIP6]), new RegExp(`lladdr ${NODE1_MAC}`));
});

test('malformed and foreign ARP frames are ignored; a good request afterwards is answered', async () => {
  const tool = await startFrameTool(net, 'client');
  const client = MacAddress.mustParse(CLIENT_MAC);
  const node1 = MacAddress.mustParse(NODE1_MAC);
  const request: ArpPacket = {
    operation: ArpOperation.Request, senderHardwareAddress: client, senderProtocolAddress: mustParseIP('198.51.100.100'),
    targetHardwareAddress: MacAddress.ZERO, targetProtocolAddress: mustParseIP(VIP4),
  };
  const good = encodeArpFrame(MacAddress.BROADCAST, client, request);
  const patched = (offset: number, bytes: number[]): Buffer => { const b = Buffer.from(good); b.set(bytes, offset); return b; };
  const bad: Record<string, Buffer> = {
    'wrong hardware type (IEEE 802)': patched(14, [0x00, 0x06]),
    'wrong protocol type': patched(16, [0x86, 0xdd]),
    'wrong address lengths': patched(18, [8, 16]),
    'truncated': good.subarray(0, 30),
    'header only': good.subarray(0, 14),
    'VLAN 42 tagged': encodeEthernet({ destination: MacAddress.BROADCAST, source: client, etherType: EtherType.ARP,
      vlanTags: [{ tpid: EtherType.VLAN, priority: 0, dropEligible: false, vlanId: 42 }], payload: encodeArp(request) }),
    'a reply, not a request': encodeArpFrame(node1, client, { ...request, operation: ArpOperation.Reply, targetHardwareAddress: node1 }),
    'unicast to another host': encodeArpFrame(MacAddress.mustParse('02:00:00:00:00:77'), client, request),
    'RARP operation': patched(20, [0x00, 0x03]),
  };
  const before = await responder.send({ cmd: 'status' });
  assert.equal((await tool.send({ cmd: 'send', frames: Object.values(bad).map((b) => b.toString('hex')) })).count, Object.keys(bad).length);
  await sleep(700);
  const repliesTo = (frames: { hex: string }[]) => frames.map((f) => Buffer.from(f.hex, 'hex'))
    .filter((b) => b.readUInt16BE(12) === EtherType.ARP && MacAddress.fromBytes(b, 6).equals(node1))
    .map((b) => decodeArpFrame(b))
    .filter((f) => f.arp.operation === ArpOperation.Reply && !f.destination.isBroadcast); // gratuitous replies are broadcast
  const afterBad = (await tool.send({ cmd: 'dump' })).frames as { hex: string }[];
  assert.deepEqual(repliesTo(afterBad), [], 'no reply to any malformed or foreign frame');
  const mid = await responder.send({ cmd: 'status' });
  assert.deepEqual(mid.requests, before.requests, 'foreign frames are not counted as requests');

  await tool.send({ cmd: 'send', frames: [good.toString('hex')] });
  await sleep(500);
  const replies = repliesTo((await tool.send({ cmd: 'dump' })).frames as { hex: string }[]);
  assert.equal(replies.length, 1, 'the well-formed request is answered once');
  const [reply] = replies;
  assert.ok(reply.destination.equals(client));
  assert.ok(reply.arp.senderHardwareAddress.equals(node1));
  assert.equal(reply.arp.senderProtocolAddress.toString(), VIP4);
  assert.ok(reply.arp.targetHardwareAddress.equals(client));
  assert.equal(reply.arp.targetProtocolAddress.toString(), '198.51.100.100');
  const end = await responder.send({ cmd: 'status' });
  const count = (s: typeof end) => ((s.requests as Record<string, number>)[VIP4] ?? 0);
  assert.equal(count(end), count(before) + 1);
});

test('malformed and foreign neighbor solicitations are ignored; a good one afterwards is answered', async () => {
  const tool = await startFrameTool(net, 'client');
  const client = MacAddress.mustParse(CLIENT_MAC);
  const node1 = MacAddress.mustParse(NODE1_MAC);
  const src = mustParseIP('fd00::100');
  const vip = mustParseIP(VIP6);
  const group = solicitedNodeMulticast(vip);
  const ns = (opts: { hopLimit?: number; withSource?: boolean; extra?: Buffer } = {}): Buffer => {
    let msg = encodeNdpMessage({ type: 135, target: vip, options: opts.withSource === false ? [] : [{ type: 1, linkLayerAddress: client }] });
    if (opts.extra) msg = Buffer.concat([msg, opts.extra]);
    return encodeEthernet({ destination: multicastMac(group), source: client, etherType: EtherType.IPv6,
      payload: encodeIPv6Icmp(src, group, msg, opts.hopLimit ?? 255) });
  };
  const badChecksum = Buffer.from(ns()); badChecksum[14 + 40 + 3] ^= 0x55;
  const bad: Record<string, Buffer> = {
    'hop limit 64 (must be 255)': ns({ hopLimit: 64 }),
    'no source link-layer address option': ns({ withSource: false }),
    'option with length 0': ns({ extra: Buffer.from([14, 0, 0, 0, 0, 0, 0, 0]) }),
    'link-layer option of 16 bytes': ns({ withSource: false, extra: Buffer.from([1, 2, ...new Array<number>(14).fill(1)]) }),
    'bad checksum': badChecksum,
    'VLAN 42 tagged': encodeEthernet({ destination: multicastMac(group), source: client, etherType: EtherType.IPv6,
      vlanTags: [{ tpid: EtherType.VLAN, priority: 0, dropEligible: false, vlanId: 42 }], payload: decodeEthernet(ns()).payload }),
  };
  const before = await responder.send({ cmd: 'status' });
  assert.equal((await tool.send({ cmd: 'send', frames: Object.values(bad).map((b) => b.toString('hex')) })).count, Object.keys(bad).length);
  await sleep(700);
  const advertisements = (frames: { hex: string }[]) => frames.map((f) => Buffer.from(f.hex, 'hex'))
    .filter((b) => b.readUInt16BE(12) === EtherType.IPv6 && MacAddress.fromBytes(b, 6).equals(node1) && MacAddress.fromBytes(b, 0).equals(client))
    .map((b) => decodeIPv6Icmp(decodeEthernet(b).payload))
    .filter((p) => p.icmp[0] === 136 && decodeNdpMessage(p.icmp).target.equals(vip)); // node1's kernel answers for its own addresses too
  assert.deepEqual(advertisements((await tool.send({ cmd: 'dump' })).frames as { hex: string }[]), []);
  const mid = await responder.send({ cmd: 'status' });
  assert.deepEqual(mid.requests, before.requests, 'ignored solicitations are not counted');

  await tool.send({ cmd: 'send', frames: [ns().toString('hex')] });
  await sleep(500);
  const nas = advertisements((await tool.send({ cmd: 'dump' })).frames as { hex: string }[]);
  assert.equal(nas.length, 1, `the well-formed solicitation is answered once: ${JSON.stringify(nas.map((p) => ({ src: p.source.toString(), dst: p.destination.toString(), icmp: p.icmp.toString('hex') })))}`);
  const [na] = nas;
  assert.equal(na.hopLimit, 255);
  assert.ok(na.destination.equals(src));
  assert.ok(na.source.equals(vip), `NA sourced from the announced address, got ${na.source.toString()}`);
  const msg = decodeNdpMessage(na.icmp);
  assert.ok(msg.type === 136 && msg.solicited && !msg.override && !msg.router);
  assert.ok(msg.target.equals(vip));
  assert.ok(linkLayerOption(msg, 2)?.equals(node1));
  const end = await responder.send({ cmd: 'status' });
  const count = (s: typeof end) => ((s.requests as Record<string, number>)[VIP6] ?? 0);
  assert.equal(count(end), count(before) + 1);
});

test('withdrawing an address stops the answers at once', async () => {
  await responder.send({ cmd: 'announce', ips: [] });
  const a = arping(net, 'client', VIP4, 2);
  assert.equal(a.replies, 0, a.output);
  const n = ndisc6(net, 'client', VIP6);
  assert.equal(n.mac, undefined, n.output);
  const status = await responder.send({ cmd: 'status' });
  assert.deepEqual(status.announced, []);
});
