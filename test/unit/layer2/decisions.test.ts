// Table-driven tests of what the responders answer and ignore (spec 4.6.2), the gratuitous
// schedule (4.6.3) and the interface rules, all without sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mustParseIP } from '../../../lib/ip/index.js';
import { MacAddress } from '../../../lib/layer2/mac.js';
import { encodeEthernet, EtherType } from '../../../lib/layer2/ethernet.js';
import { ArpOperation, encodeArp, encodeArpFrame, decodeArpFrame, arpReplyFrame, type ArpPacket } from '../../../lib/layer2/arp.js';
import { encodeNdpMessage, decodeNdpMessage, encodeIPv6Icmp } from '../../../lib/layer2/ndp.js';
import { AnnouncedAddresses, answerArp, answerArpByDecoding, answerNeighborSolicitation, answerUnicastSolicitation } from '../../../lib/layer2/decisions.js';
import { GratuitousSchedule } from '../../../lib/layer2/gratuitous.js';
import { PacketType } from '../../../lib/layer2/sockets.js';
import { parseIfInet6, qualifiesForArp, qualifiesForNdp, type LinkInfo } from '../../../lib/layer2/interfaces.js';

const OURS = MacAddress.mustParse('02:00:00:00:00:11');
const CLIENT = MacAddress.mustParse('02:00:00:00:00:64');
const announced = new AnnouncedAddresses();
announced.add(mustParseIP('198.51.100.200'));
announced.add(mustParseIP('fd00::200'));

const request = (target: string, op: 1 | 2 = ArpOperation.Request): ArpPacket => ({
  operation: op, senderHardwareAddress: CLIENT, senderProtocolAddress: mustParseIP('198.51.100.100'),
  targetHardwareAddress: MacAddress.ZERO, targetProtocolAddress: mustParseIP(target),
});
const plain = { packetType: PacketType.Broadcast, vlanTagged: false };
const good = encodeArpFrame(MacAddress.BROADCAST, CLIENT, request('198.51.100.200'));

const ARP_CASES: { name: string; frame: Buffer; meta?: { packetType: number; vlanTagged: boolean }; want: string }[] = [
  { name: 'broadcast request for an announced address', frame: good, want: 'reply' },
  { name: 'request unicast to our MAC', frame: encodeArpFrame(OURS, CLIENT, request('198.51.100.200')), meta: { packetType: PacketType.Host, vlanTagged: false }, want: 'reply' },
  { name: 'request for an address not announced', frame: encodeArpFrame(MacAddress.BROADCAST, CLIENT, request('198.51.100.201')), want: 'not-announced' },
  { name: 'request unicast to another MAC', frame: encodeArpFrame(MacAddress.mustParse('02:00:00:00:00:77'), CLIENT, request('198.51.100.200')), want: 'not-for-us' },
  { name: 'frame the kernel classed as for another host (foreign VLAN)', frame: good, meta: { packetType: PacketType.OtherHost, vlanTagged: false }, want: 'not-for-us' },
  { name: 'tag reported in auxiliary data', frame: good, meta: { packetType: PacketType.Broadcast, vlanTagged: true }, want: 'vlan-tagged' },
  { name: 'tag in the frame', frame: encodeEthernet({ destination: MacAddress.BROADCAST, source: CLIENT, etherType: EtherType.ARP, vlanTags: [{ tpid: 0x8100, priority: 0, dropEligible: false, vlanId: 7 }], payload: encodeArp(request('198.51.100.200')) }), want: 'vlan-tagged' },
  { name: 'our own transmission', frame: good, meta: { packetType: PacketType.Outgoing, vlanTagged: false }, want: 'outgoing' },
  { name: 'an ARP reply', frame: encodeArpFrame(OURS, CLIENT, request('198.51.100.200', ArpOperation.Reply)), meta: { packetType: PacketType.Host, vlanTagged: false }, want: 'not-a-request' },
  { name: 'wrong hardware type', frame: (() => { const b = Buffer.from(good); b[15] = 6; return b; })(), want: 'malformed' },
  { name: 'truncated', frame: good.subarray(0, 33), want: 'malformed' },
  { name: 'a request looking like ours (sender MAC is ours)', frame: encodeArpFrame(MacAddress.BROADCAST, OURS, request('198.51.100.200')), want: 'outgoing' },
];
for (const c of ARP_CASES) {
  test(`ARP: ${c.name} -> ${c.want}`, () => {
    const v = answerArp(c.frame, c.meta ?? plain, OURS, announced);
    assert.equal(v.kind === 'reply' ? 'reply' : v.reason, c.want);
  });
}

test('ARP reply goes back to the requester with our MAC and the announced address', () => {
  const v = answerArp(good, plain, OURS, announced);
  assert.ok(v.kind === 'reply');
  const f = decodeArpFrame(v.frame);
  assert.ok(f.destination.equals(CLIENT) && f.source.equals(OURS));
  assert.equal(f.arp.operation, ArpOperation.Reply);
  assert.equal(f.arp.senderProtocolAddress.toString(), '198.51.100.200');
  assert.ok(v.frame.equals(arpReplyFrame(request('198.51.100.200'), OURS)));
});

test('fast path and full decoder agree on every frame (mutations of good requests and random bytes)', () => {
  const frames = [good, encodeArpFrame(OURS, CLIENT, request('198.51.100.200'))];
  const agree = (f: Buffer, packetType: number) => {
    const fast = answerArp(f, { packetType, vlanTagged: false }, OURS, announced, Buffer.alloc(42));
    const slow = answerArpByDecoding(f, OURS, announced);
    assert.equal(fast.kind, slow.kind, f.toString('hex'));
    if (fast.kind === 'reply' && slow.kind === 'reply') {
      assert.ok(fast.frame.equals(slow.frame));
      assert.ok(fast.ip.equals(slow.ip));
    }
  };
  fc.assert(fc.property(fc.constantFrom(...frames), fc.array(fc.tuple(fc.nat(59), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    fc.integer({ min: 30, max: 60 }), (base, edits, len) => {
      const f = Buffer.alloc(Math.max(len, 0));
      base.copy(f);
      for (const [i, v] of edits) if (i < f.length) f[i] = v;
      agree(f, PacketType.Broadcast);
    }), { numRuns: 20_000 });
});

const CLIENT_V6 = mustParseIP('fd00::100').toBytes();
const ns = (target: string, withSource = true) =>
  encodeNdpMessage({ type: 135, target: mustParseIP(target), options: withSource ? [{ type: 1, linkLayerAddress: CLIENT }] : [] });
const NDP_CASES: { name: string; msg: Buffer; source?: Buffer; hopLimit?: number; want: string }[] = [
  { name: 'solicitation for an announced address', msg: ns('fd00::200'), want: 'reply' },
  { name: 'solicitation for another address', msg: ns('fd00::201'), want: 'not-announced' },
  { name: 'hop limit 64', msg: ns('fd00::200'), hopLimit: 64, want: 'bad-hop-limit' },
  { name: 'hop limit unknown', msg: ns('fd00::200'), hopLimit: -1, want: 'bad-hop-limit' },
  { name: 'no source link-layer option', msg: ns('fd00::200', false), want: 'no-source-link-layer-address' },
  { name: 'DAD probe (unspecified source)', msg: ns('fd00::200', false), source: Buffer.alloc(16), want: 'no-source-link-layer-address' },
  { name: 'an advertisement', msg: encodeNdpMessage({ type: 136, router: false, solicited: false, override: true, target: mustParseIP('fd00::200'), options: [] }), want: 'not-a-request' },
  { name: 'truncated', msg: ns('fd00::200').subarray(0, 20), want: 'malformed' },
  { name: 'option with length 0', msg: Buffer.concat([ns('fd00::200'), Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])]), want: 'malformed' },
];
for (const c of NDP_CASES) {
  test(`NDP: ${c.name} -> ${c.want}`, () => {
    const v = answerNeighborSolicitation(c.msg, c.source ?? CLIENT_V6, c.hopLimit ?? 255, OURS, announced);
    assert.equal(v.kind === 'reply' ? 'reply' : v.reason, c.want);
  });
}

test('NDP reply: solicited advertisement to the solicitation source with our MAC', () => {
  const v = answerNeighborSolicitation(ns('fd00::200'), CLIENT_V6, 255, OURS, announced);
  assert.ok(v.kind === 'reply');
  assert.equal(v.destination.toString(), 'fd00::100');
  const m = decodeNdpMessage(v.message);
  assert.ok(m.type === 136 && m.solicited && !m.override);
  assert.equal(m.target.toString(), 'fd00::200');
});

const probe = (opts: { target?: string; dst?: string; hopLimit?: number; vlan?: boolean } = {}): Buffer => encodeEthernet({
  destination: OURS, source: CLIENT, etherType: EtherType.IPv6,
  vlanTags: opts.vlan ? [{ tpid: 0x8100, priority: 0, dropEligible: false, vlanId: 5 }] : [],
  payload: encodeIPv6Icmp(mustParseIP('fd00::100'), mustParseIP(opts.dst ?? opts.target ?? 'fd00::200'), ns(opts.target ?? 'fd00::200'), opts.hopLimit ?? 255),
});
const host = { packetType: PacketType.Host, vlanTagged: false };
const UNICAST_CASES: { name: string; frame: Buffer; meta?: { packetType: number; vlanTagged: boolean }; want: string }[] = [
  { name: 'probe for an announced address', frame: probe(), want: 'reply' },
  { name: 'probe for another address', frame: probe({ target: 'fd00::201' }), want: 'not-announced' },
  { name: 'probe whose IPv6 destination is not the target', frame: probe({ dst: 'fd00::11' }), want: 'not-for-us' },
  { name: 'probe with hop limit 254', frame: probe({ hopLimit: 254 }), want: 'bad-hop-limit' },
  { name: 'frame for another host', frame: probe(), meta: { packetType: PacketType.OtherHost, vlanTagged: false }, want: 'not-for-us' },
  { name: 'our own frame', frame: probe(), meta: { packetType: PacketType.Outgoing, vlanTagged: false }, want: 'outgoing' },
  { name: 'tagged frame', frame: probe({ vlan: true }), want: 'vlan-tagged' },
  { name: 'bad checksum', frame: (() => { const b = probe(); b[14 + 40 + 2] ^= 1; return b; })(), want: 'malformed' },
  { name: 'truncated', frame: probe().subarray(0, 70), want: 'malformed' },
];
for (const c of UNICAST_CASES) {
  test(`NDP unicast probe: ${c.name} -> ${c.want}`, () => {
    const v = answerUnicastSolicitation(c.frame, c.meta ?? host, OURS, announced);
    assert.equal(v.kind === 'reply' ? 'reply' : v.reason, c.want);
    if (v.kind === 'reply') assert.equal(v.destination.toString(), 'fd00::100');
  });
}

test('fuzz: no input makes the decisions throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 90 }), fc.integer({ min: 0, max: 4 }), fc.boolean(), (bytes, packetType, vlanTagged) => {
    answerArp(Buffer.from(bytes), { packetType, vlanTagged }, OURS, announced);
    answerNeighborSolicitation(Buffer.from(bytes), CLIENT_V6, 255, OURS, announced);
    answerUnicastSolicitation(Buffer.from(bytes), { packetType: PacketType.Host, vlanTagged: false }, OURS, announced);
  }), { numRuns: 5000 });
});

test('announced set: lookup by bytes, add/delete idempotent, families kept apart', () => {
  const a = new AnnouncedAddresses();
  assert.ok(a.add(mustParseIP('192.0.2.1')));
  assert.ok(!a.add(mustParseIP('192.0.2.1')));
  assert.equal(a.find(Buffer.from([192, 0, 2, 1]), 0, 4)?.toString(), '192.0.2.1');
  assert.equal(a.find(mustParseIP('::c000:201').toBytes(), 0, 16), undefined);
  assert.equal(a.find(Buffer.from([192, 0]), 0, 4), undefined);
  assert.ok(a.delete(mustParseIP('192.0.2.1')));
  assert.equal(a.size, 0);
});

test('gratuitous schedule: sent at once, then every tick until the deadline; renewals only extend', () => {
  const s = new GratuitousSchedule(5000);
  const ip = mustParseIP('192.0.2.7');
  assert.equal(s.add(ip, 0), true, 'new entry is sent at once');
  const rounds: number[] = [];
  for (let t = 1100; t <= 8800; t += 1100) if (s.tick(t).length) rounds.push(t);
  assert.deepEqual(rounds, [1100, 2200, 3300, 4400], 'with the immediate send: 5 rounds at 0, 1.1 … 4.4 s');
  assert.equal(s.size, 0);
  assert.equal(s.add(ip, 10_000), true);
  assert.equal(s.add(ip, 12_000), false, 'already in the table: deadline pushed out, no immediate send');
  assert.equal(s.tick(16_500).length, 1, 'still due after the original deadline');
  assert.equal(s.tick(17_100).length, 0);
  s.add(ip, 20_000);
  s.delete(ip);
  assert.equal(s.tick(20_100).length, 0, 'deleted addresses are not re-sent');
});

const link = (over: Partial<LinkInfo>): LinkInfo => ({
  name: 'eth0', index: 2, flags: 0x1003, linkType: 1, mac: OURS, hasMaster: false, ipv6LinkLocal: [mustParseIP('fe80::1')], ...over,
});
const IF_CASES: { name: string; link: LinkInfo; arp: boolean; ndp: boolean }[] = [
  { name: 'up broadcast Ethernet with link-local', link: link({}), arp: true, ndp: true },
  { name: 'down', link: link({ flags: 0x1002 }), arp: false, ndp: false },
  { name: 'enslaved to a bridge', link: link({ hasMaster: true }), arp: false, ndp: false },
  { name: 'NOARP', link: link({ flags: 0x1083 }), arp: false, ndp: false },
  { name: 'no broadcast flag', link: link({ flags: 0x1001 }), arp: false, ndp: true },
  { name: 'no IPv6 link-local', link: link({ ipv6LinkLocal: [] }), arp: true, ndp: false },
  { name: 'loopback', link: link({ name: 'lo', flags: 0x9, linkType: 772, mac: MacAddress.ZERO, ipv6LinkLocal: [] }), arp: false, ndp: false },
  { name: 'not Ethernet (e.g. a tunnel)', link: link({ linkType: 65534 }), arp: false, ndp: false },
];
for (const c of IF_CASES) {
  test(`interface rules: ${c.name}`, () => {
    assert.equal(qualifiesForArp(c.link), c.arp);
    assert.equal(qualifiesForNdp(c.link), c.ndp);
  });
}

test('/proc/net/if_inet6 parsing keeps link-local unicast addresses per interface', () => {
  const text = [
    'fd000000000000000000000000000011 02 40 00 80     eth0',
    'fe80000000000000000000fffe000011 02 40 20 80     eth0',
    '00000000000000000000000000000001 01 80 10 80       lo',
    'fe800000000000000000000000000099 05 40 20 80     eth1',
    'garbage line',
  ].join('\n');
  const m = parseIfInet6(text);
  assert.deepEqual(m.get('eth0')?.map(String), ['fe80::ff:fe00:11']);
  assert.deepEqual(m.get('eth1')?.map(String), ['fe80::99']);
  assert.equal(m.get('lo'), undefined);
});
