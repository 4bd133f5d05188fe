// Round trips, table-driven rejections and fuzzing of the layer-2 codecs (Ethernet, ARP, NDP).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IPAddress, mustParseIP } from '../../../lib/ip/index.js';
import { MacAddress } from '../../../lib/layer2/mac.js';
import { PacketDecodeError } from '../../../lib/layer2/errors.js';
import { decodeEthernet, encodeEthernet, EtherType } from '../../../lib/layer2/ethernet.js';
import {
  ArpOperation, decodeArp, decodeArpFrame, encodeArp, encodeArpFrame, arpReplyFrame, gratuitousArpFrames, type ArpPacket,
} from '../../../lib/layer2/arp.js';
import {
  decodeNdpMessage, encodeNdpMessage, solicitedNodeMulticast, multicastMac, solicitedAdvertisement, unsolicitedAdvertisement,
  encodeIPv6Icmp, decodeIPv6Icmp, icmpv6Checksum, linkLayerOption, type NdpMessage,
} from '../../../lib/layer2/ndp.js';

const MAC_A = MacAddress.mustParse('02:00:00:00:00:11');
const MAC_B = MacAddress.mustParse('02:00:00:00:00:64');

const arbMac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => MacAddress.fromBytes(b));
const arbV4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => IPAddress.fromBytes(b));
const arbV6Unicast = fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => b[0] !== 0xff).map((b) => IPAddress.fromBytes(b));

/** Runs fn and returns the PacketDecodeError it throws (fails on any other outcome). */
function decodeError(fn: () => unknown): PacketDecodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PacketDecodeError, `expected PacketDecodeError, got ${String(err)}`);
    return err;
  }
  assert.fail('decoder accepted malformed input');
}

test('MAC addresses parse, print and compare', () => {
  assert.equal(MAC_A.toString(), '02:00:00:00:00:11');
  assert.equal(MacAddress.parse('02-00-00-00-00-11')?.toString(), '02:00:00:00:00:11');
  assert.equal(MacAddress.parse('02:00:00:00:00'), undefined);
  assert.equal(MacAddress.parse('02:00-00:00:00:11'), undefined);
  assert.equal(MacAddress.parse('zz:00:00:00:00:11'), undefined);
  assert.ok(MacAddress.BROADCAST.isBroadcast);
  assert.ok(!MAC_A.isBroadcast);
  assert.ok(MAC_A.equals(MacAddress.fromBytes(MAC_A.toBytes())));
});

test('ethernet frames round-trip, with and without VLAN tags', () => {
  fc.assert(fc.property(arbMac, arbMac, fc.integer({ min: 0x0600, max: 0xffff }).filter((t) => t !== 0x8100 && t !== 0x88a8),
    fc.array(fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), priority: fc.integer({ min: 0, max: 7 }), dropEligible: fc.boolean(), vlanId: fc.integer({ min: 0, max: 4095 }) }), { maxLength: 3 }),
    fc.uint8Array({ maxLength: 100 }),
    (dst, src, etherType, vlanTags, payload) => {
      const f = decodeEthernet(encodeEthernet({ destination: dst, source: src, etherType, vlanTags, payload }));
      assert.ok(f.destination.equals(dst) && f.source.equals(src));
      assert.equal(f.etherType, etherType);
      assert.deepEqual(f.vlanTags, vlanTags.map((t) => ({ ...t })));
      assert.deepEqual(new Uint8Array(f.payload), payload);
    }));
});

test('ARP packets round-trip', () => {
  fc.assert(fc.property(fc.constantFrom(ArpOperation.Request, ArpOperation.Reply), arbMac, arbV4, arbMac, arbV4, (operation, sha, spa, tha, tpa) => {
    const p: ArpPacket = { operation, senderHardwareAddress: sha, senderProtocolAddress: spa, targetHardwareAddress: tha, targetProtocolAddress: tpa };
    const d = decodeArp(encodeArp(p));
    assert.equal(d.operation, operation);
    assert.ok(d.senderHardwareAddress.equals(sha) && d.targetHardwareAddress.equals(tha));
    assert.ok(d.senderProtocolAddress.equals(spa) && d.targetProtocolAddress.equals(tpa));
  }));
});

const REQUEST: ArpPacket = {
  operation: ArpOperation.Request, senderHardwareAddress: MAC_B, senderProtocolAddress: mustParseIP('198.51.100.100'),
  targetHardwareAddress: MacAddress.ZERO, targetProtocolAddress: mustParseIP('198.51.100.200'),
};

test('a well-formed ARP request frame decodes to its fields (known bytes)', () => {
  const frame = Buffer.from(
    'ffffffffffff' + '020000000064' + '0806' + '0001' + '0800' + '06' + '04' + '0001' +
    '020000000064' + 'c6336464' + '000000000000' + 'c63364c8' + '00'.repeat(18), 'hex'); // padded to 60 bytes
  const f = decodeArpFrame(frame);
  assert.ok(f.destination.isBroadcast);
  assert.deepEqual(f.vlanIds, []);
  assert.equal(f.arp.operation, ArpOperation.Request);
  assert.equal(f.arp.senderProtocolAddress.toString(), '198.51.100.100');
  assert.equal(f.arp.targetProtocolAddress.toString(), '198.51.100.200');
  assert.deepEqual(encodeArpFrame(MacAddress.BROADCAST, MAC_B, REQUEST), frame.subarray(0, 42));
});

const goodArp = encodeArpFrame(MacAddress.BROADCAST, MAC_B, REQUEST);
const patched = (offset: number, bytes: number[]): Buffer => {
  const b = Buffer.from(goodArp);
  b.set(bytes, offset);
  return b;
};
const ARP_REJECTS: { name: string; frame: Buffer; layer: string; offset: number; reason: RegExp }[] = [
  { name: 'empty', frame: Buffer.alloc(0), layer: 'ethernet', offset: 0, reason: /truncated header/ },
  { name: 'header only', frame: goodArp.subarray(0, 14), layer: 'arp', offset: 14, reason: /truncated header: need 8 bytes, have 0/ },
  { name: 'cut in the addresses', frame: goodArp.subarray(0, 30), layer: 'arp', offset: 14, reason: /truncated packet: need 28 bytes, have 16/ },
  { name: 'hardware type 6 (IEEE 802)', frame: patched(14, [0, 6]), layer: 'arp', offset: 14, reason: /hardware type 6/ },
  { name: 'protocol type IPv6', frame: patched(16, [0x86, 0xdd]), layer: 'arp', offset: 16, reason: /protocol type 0x86dd/ },
  { name: 'hardware length 8', frame: patched(18, [8]), layer: 'arp', offset: 18, reason: /hardware address length 8/ },
  { name: 'protocol length 16', frame: patched(19, [16]), layer: 'arp', offset: 19, reason: /protocol address length 16/ },
  { name: 'operation 3 (RARP)', frame: patched(20, [0, 3]), layer: 'arp', offset: 20, reason: /operation 3/ },
  { name: 'not ARP (IPv4 EtherType)', frame: patched(12, [0x08, 0x00]), layer: 'ethernet', offset: 12, reason: /EtherType 0x800/ },
  { name: '802.3 length field', frame: patched(12, [0x00, 0x2e]), layer: 'ethernet', offset: 12, reason: /length field 46/ },
  { name: 'VLAN tag cut short', frame: Buffer.concat([goodArp.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00])]), layer: 'ethernet', offset: 12, reason: /truncated VLAN tag/ },
];
for (const c of ARP_REJECTS) {
  test(`ARP frame rejected: ${c.name}`, () => {
    const err = decodeError(() => decodeArpFrame(c.frame));
    assert.equal(err.layer, c.layer);
    assert.equal(err.offset, c.offset);
    assert.match(err.reason, c.reason);
    assert.match(err.message, new RegExp(`at offset ${c.offset}`));
  });
}

test('a VLAN-tagged ARP frame decodes with its VLAN id, so the responder can ignore it', () => {
  const tagged = encodeEthernet({ destination: MacAddress.BROADCAST, source: MAC_B, etherType: EtherType.ARP, vlanTags: [{ tpid: 0x8100, priority: 0, dropEligible: false, vlanId: 42 }], payload: encodeArp(REQUEST) });
  assert.deepEqual(decodeArpFrame(tagged).vlanIds, [42]);
});

test('ARP reply and gratuitous frames carry the fields upstream sends', () => {
  const reply = decodeArpFrame(arpReplyFrame(REQUEST, MAC_A));
  assert.ok(reply.destination.equals(MAC_B) && reply.source.equals(MAC_A));
  assert.equal(reply.arp.operation, ArpOperation.Reply);
  assert.ok(reply.arp.senderHardwareAddress.equals(MAC_A));
  assert.equal(reply.arp.senderProtocolAddress.toString(), '198.51.100.200');
  assert.ok(reply.arp.targetHardwareAddress.equals(MAC_B));
  assert.equal(reply.arp.targetProtocolAddress.toString(), '198.51.100.100');
  const vip = mustParseIP('203.0.113.7');
  const [req, rep] = gratuitousArpFrames(vip, MAC_A).map(decodeArpFrame);
  assert.equal(req.arp.operation, ArpOperation.Request);
  assert.equal(rep.arp.operation, ArpOperation.Reply);
  for (const g of [req, rep]) {
    assert.ok(g.destination.isBroadcast && g.source.equals(MAC_A));
    assert.ok(g.arp.senderHardwareAddress.equals(MAC_A) && g.arp.targetHardwareAddress.isBroadcast);
    assert.ok(g.arp.senderProtocolAddress.equals(vip) && g.arp.targetProtocolAddress.equals(vip));
  }
});

test('fuzz: random and truncated bytes never crash the ARP decoder', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
    try { decodeArpFrame(Buffer.from(bytes)); } catch (err) { assert.ok(err instanceof PacketDecodeError, String(err)); }
  }), { numRuns: 5000 });
  fc.assert(fc.property(fc.integer({ min: 0, max: goodArp.length - 1 }), (n) => {
    const err = decodeError(() => decodeArpFrame(goodArp.subarray(0, n)));
    assert.ok(err.offset <= n);
  }));
  // single-byte mutations of a good frame: either decodes or is refused with a typed error
  fc.assert(fc.property(fc.integer({ min: 0, max: goodArp.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
    const b = Buffer.from(goodArp); b[i] = v;
    try { decodeArpFrame(b); } catch (err) { assert.ok(err instanceof PacketDecodeError, String(err)); }
  }), { numRuns: 3000 });
});

const arbNdp: fc.Arbitrary<NdpMessage> = fc.oneof(
  fc.record({ type: fc.constant(135 as const), target: arbV6Unicast, options: fc.array(fc.oneof(
    fc.record({ type: fc.constantFrom(1 as const, 2 as const), linkLayerAddress: arbMac }),
    fc.record({ type: fc.integer({ min: 3, max: 255 }), data: fc.integer({ min: 0, max: 3 }).map((u) => Buffer.alloc(u * 8 + 6, 7)) })), { maxLength: 3 }) }),
  fc.record({ type: fc.constant(136 as const), router: fc.boolean(), solicited: fc.boolean(), override: fc.boolean(), target: arbV6Unicast,
    options: fc.array(fc.record({ type: fc.constantFrom(1 as const, 2 as const), linkLayerAddress: arbMac }), { maxLength: 2 }) }),
);

function sameMessage(a: NdpMessage, b: NdpMessage): void {
  assert.equal(a.type, b.type);
  assert.ok(a.target.equals(b.target));
  if (a.type === 136 && b.type === 136) assert.deepEqual([a.router, a.solicited, a.override], [b.router, b.solicited, b.override]);
  assert.equal(a.options.length, b.options.length);
  a.options.forEach((o, i) => {
    const p = b.options[i];
    assert.equal(o.type, p.type);
    if ('linkLayerAddress' in o) assert.ok('linkLayerAddress' in p && o.linkLayerAddress.equals(p.linkLayerAddress));
    else assert.ok('data' in p && o.data.equals(p.data));
  });
}

test('NDP messages round-trip, bare and inside IPv6 packets with a valid checksum', () => {
  fc.assert(fc.property(arbNdp, arbV6Unicast, arbV6Unicast, (msg, src, dst) => {
    sameMessage(decodeNdpMessage(encodeNdpMessage(msg)), msg);
    const pkt = decodeIPv6Icmp(encodeIPv6Icmp(src, dst, encodeNdpMessage(msg)));
    assert.ok(pkt.source.equals(src) && pkt.destination.equals(dst));
    assert.equal(pkt.hopLimit, 255);
    sameMessage(decodeNdpMessage(pkt.icmp), msg);
  }));
});

test('ICMPv6 checksum matches a known neighbor solicitation (computed independently)', () => {
  // NS from fd00::100 to ff02::1:ff00:200 for fd00::200 with source LLA 02:00:00:00:00:64
  const msg = encodeNdpMessage({ type: 135, target: mustParseIP('fd00::200'), options: [{ type: 1, linkLayerAddress: MAC_B }] });
  assert.equal(msg.toString('hex'), '8700000000000000fd000000000000000000000000000200' + '0101020000000064');
  const sum = icmpv6Checksum(mustParseIP('fd00::100'), mustParseIP('ff02::1:ff00:200'), msg);
  // verifying: inserting the checksum makes the one's-complement sum over pseudo-header+message 0xffff
  const withSum = Buffer.from(msg); withSum.writeUInt16BE(sum, 2);
  assert.equal(icmpv6Checksum(mustParseIP('fd00::100'), mustParseIP('ff02::1:ff00:200'), withSum), 0);
});

test('solicited-node groups and their Ethernet addresses', () => {
  assert.equal(solicitedNodeMulticast(mustParseIP('fd00::200')).toString(), 'ff02::1:ff00:200');
  assert.equal(solicitedNodeMulticast(mustParseIP('2001:db8::abcd:ef12:3456')).toString(), 'ff02::1:ff12:3456');
  assert.equal(multicastMac(mustParseIP('ff02::1:ff12:3456')).toString(), '33:33:ff:12:34:56');
  assert.throws(() => solicitedNodeMulticast(mustParseIP('192.0.2.1')), RangeError);
});

test('advertisements carry upstream flags and the target link-layer option', () => {
  const vip = mustParseIP('2001:db8::5');
  const s = decodeNdpMessage(solicitedAdvertisement(vip, MAC_A));
  const u = decodeNdpMessage(unsolicitedAdvertisement(vip, MAC_A));
  assert.ok(s.type === 136 && s.solicited && !s.override && !s.router);
  assert.ok(u.type === 136 && !u.solicited && u.override && !u.router);
  assert.ok(linkLayerOption(s, 2)?.equals(MAC_A));
  assert.ok(s.target.equals(vip) && u.target.equals(vip));
});

const goodNs = encodeNdpMessage({ type: 135, target: mustParseIP('fd00::200'), options: [{ type: 1, linkLayerAddress: MAC_B }] });
const nsPatched = (offset: number, bytes: number[]): Buffer => { const b = Buffer.from(goodNs); b.set(bytes, offset); return b; };
const NDP_REJECTS: { name: string; msg: Buffer; layer: string; offset: number; reason: RegExp }[] = [
  { name: 'empty', msg: Buffer.alloc(0), layer: 'icmpv6', offset: 0, reason: /truncated header/ },
  { name: 'echo request', msg: nsPatched(0, [128]), layer: 'icmpv6', offset: 0, reason: /type 128/ },
  { name: 'router solicitation', msg: nsPatched(0, [133]), layer: 'icmpv6', offset: 0, reason: /type 133/ },
  { name: 'code 1', msg: nsPatched(1, [1]), layer: 'icmpv6', offset: 1, reason: /code 1/ },
  { name: 'cut target', msg: goodNs.subarray(0, 20), layer: 'icmpv6', offset: 0, reason: /need 24 bytes, have 20/ },
  { name: 'multicast target', msg: nsPatched(8, [0xff, 0x02]), layer: 'icmpv6', offset: 8, reason: /is multicast/ },
  { name: 'option length 0', msg: nsPatched(25, [0]), layer: 'ndp-option', offset: 25, reason: /length 0/ },
  { name: 'option longer than the message', msg: nsPatched(25, [2]), layer: 'ndp-option', offset: 24, reason: /need 16 bytes, have 8/ },
  { name: 'option header cut', msg: goodNs.subarray(0, 25), layer: 'ndp-option', offset: 24, reason: /truncated option header/ },
  { name: '16-byte link-layer option', msg: Buffer.concat([nsPatched(25, [2]), Buffer.alloc(8)]), layer: 'ndp-option', offset: 25, reason: /want 8 \(Ethernet\)/ },
];
for (const c of NDP_REJECTS) {
  test(`NDP message rejected: ${c.name}`, () => {
    const err = decodeError(() => decodeNdpMessage(c.msg));
    assert.equal(err.layer, c.layer);
    assert.equal(err.offset, c.offset);
    assert.match(err.reason, c.reason);
  });
}

test('IPv6 packets with a wrong checksum, version or next header are rejected', () => {
  const pkt = encodeIPv6Icmp(mustParseIP('fd00::100'), mustParseIP('ff02::1:ff00:200'), goodNs);
  const bad = Buffer.from(pkt); bad[43] ^= 1;
  assert.match(decodeError(() => decodeIPv6Icmp(bad)).reason, /checksum/);
  const v4 = Buffer.from(pkt); v4[0] = 0x40;
  assert.equal(decodeError(() => decodeIPv6Icmp(v4)).offset, 0);
  const udp = Buffer.from(pkt); udp[6] = 17;
  assert.equal(decodeError(() => decodeIPv6Icmp(udp)).offset, 6);
  assert.match(decodeError(() => decodeIPv6Icmp(pkt.subarray(0, 50))).reason, /truncated payload/);
});

test('fuzz: random and mutated bytes never crash the NDP and IPv6 decoders', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
    for (const dec of [decodeNdpMessage, decodeIPv6Icmp]) {
      try { dec(Buffer.from(bytes)); } catch (err) { assert.ok(err instanceof PacketDecodeError, String(err)); }
    }
  }), { numRuns: 5000 });
  fc.assert(fc.property(fc.integer({ min: 0, max: goodNs.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
    const b = Buffer.from(goodNs); b[i] = v;
    try { decodeNdpMessage(b); } catch (err) { assert.ok(err instanceof PacketDecodeError, String(err)); }
  }), { numRuns: 3000 });
});
