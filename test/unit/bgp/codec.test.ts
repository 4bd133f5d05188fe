import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustParseCIDR, mustParseIP } from '../../../lib/ip/index.js';
import {
  decodeMessage,
  encodeMessage,
  MessageFramer,
  KEEPALIVE,
  capabilitiesOf,
  type BGPMessage,
  type CodecContext,
  type PathAttribute,
} from '../../../lib/bgp/codec.js';
import { BGPMessageError } from '../../../lib/bgp/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');
const MARKER = 'ffffffffffffffffffffffffffffffff';
const TWO: CodecContext = { fourOctetAS: false };
const FOUR: CodecContext = { fourOctetAS: true };

function roundTrip(m: BGPMessage, ctx: CodecContext = FOUR): void {
  const bytes = encodeMessage(m, ctx);
  assert.deepEqual(decodeMessage(bytes, ctx), m);
  assert.deepEqual(encodeMessage(decodeMessage(bytes, ctx), ctx), bytes);
}

test('OPEN encodes exactly like upstream for AS 64512, hold 90, id 10.0.0.2 (docs/behaviour/bgp.md#encoding)', () => {
  const bytes = encodeMessage({
    type: 'open',
    version: 4,
    myAS: 64512,
    holdTime: 90,
    bgpIdentifier: mustParseIP('10.0.0.2'),
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'four-octet-as', asn: 64512 },
    ],
  });
  assert.equal(bytes.toString('hex'), `${MARKER}003101 04 fc00 005a 0a000002 14 02 12 01040001 0001 01040002 0001 4104 0000fc00`.replace(/ /g, ''));
  assert.equal(bytes.length, 49);
});

test('OPEN round-trips with every capability kind, and without any optional parameter', () => {
  roundTrip({
    type: 'open',
    version: 4,
    myAS: 23456,
    holdTime: 180,
    bgpIdentifier: mustParseIP('192.0.2.1'),
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', asn: 4200000000 },
      { kind: 'unknown', code: 64, value: hex('012c') },
    ],
  });
  roundTrip({ type: 'open', version: 4, myAS: 1, holdTime: 0, bgpIdentifier: mustParseIP('198.51.100.1'), capabilities: [] });
  // an OPEN without optional parameters is 29 bytes (upstream refused it: quirk docs/behaviour/quirks.md#q7)
  assert.equal(encodeMessage({ type: 'open', version: 4, myAS: 1, holdTime: 0, bgpIdentifier: mustParseIP('198.51.100.1'), capabilities: [] }).length, 29);
});

// The upstream parser-test captures (docs/behaviour/bgp.md#open-captures), rebuilt from their description. `params` holds
// each optional parameter's capabilities as hex; lengths are computed.
function openBytes(as: number, hold: number, id: string, ...params: string[]): Buffer {
  const ps = params.map((p) => { const c = hex(p); return Buffer.concat([Buffer.from([2, c.length]), c]); });
  const opt = Buffer.concat(ps);
  const body = Buffer.alloc(10);
  body[0] = 4;
  body.writeUInt16BE(as, 1);
  body.writeUInt16BE(hold, 3);
  mustParseIP(id).toBytes().copy(body, 5);
  body[9] = opt.length;
  const len = 19 + 10 + opt.length;
  return Buffer.concat([hex(MARKER), Buffer.from([len >> 8, len & 0xff, 1]), body, opt]);
}

const UPSTREAM_OPENS: { name: string; bytes: Buffer; length: number; as: number; fourOctet?: number; hold: number; id: string }[] = [
  {
    name: 'open-1',
    // MP v4 unicast, MP v4 labeled unicast, route refresh, graceful restart 300, 4-byte AS 1, ADD-PATH
    bytes: openBytes(1, 180, '10.1.1.1', '01040001 0001 01040001 0004 0200 4002 012c 4104 00000001 4508 0001 01 03 0001 04 03'),
    length: 65,
    as: 1,
    fourOctet: 1,
    hold: 180,
    id: '10.1.1.1',
  },
  { name: 'open-2', bytes: openBytes(64543, 40, '192.168.18.65', '4104 0000fc1f'), length: 37, as: 64543, fourOctet: 64543, hold: 40, id: '192.168.18.65' },
  {
    name: 'open-3',
    bytes: openBytes(64543, 40, '192.168.16.69', '01040001 0001 0200 4002 0000 4104 0000fc1f 4600'),
    length: 51,
    as: 64543,
    fourOctet: 64543,
    hold: 40,
    id: '192.168.16.69',
  },
  {
    name: 'open-4',
    bytes: openBytes(64543, 180, '192.168.16.1', '01040001 0001', '8000', '0200', '4104 0000fc1f'),
    length: 53,
    as: 64543,
    fourOctet: 64543,
    hold: 180,
    id: '192.168.16.1',
  },
  {
    name: 'arista (no 4-byte AS capability)',
    bytes: openBytes(65001, 180, '192.168.0.1', '01040001 0001 0200 4006 0078 0001 0180'),
    length: 47,
    as: 65001,
    hold: 180,
    id: '192.168.0.1',
  },
];

for (const c of UPSTREAM_OPENS) {
  test(`decodes the upstream capture ${c.name}`, () => {
    assert.equal(c.bytes.length, c.length, 'fixture length');
    const m = decodeMessage(c.bytes);
    assert.equal(m.type, 'open');
    if (m.type !== 'open') return;
    assert.equal(m.myAS, c.as);
    assert.equal(m.holdTime, c.hold);
    assert.equal(m.bgpIdentifier.toString(), c.id);
    assert.equal(capabilitiesOf(m).fourOctetASN, c.fourOctet);
    assert.deepEqual(encodeMessage(m).subarray(19, 28), c.bytes.subarray(19, 28));
  });
}

/** docs/behaviour/bgp.md#encoding example: one /32 from AS 64512 with next hop 10.0.0.2, origin INCOMPLETE. */
const EBGP_UPDATE: BGPMessage = {
  type: 'update',
  withdrawn: [],
  attributes: [
    { type: 'origin', origin: 2 },
    { type: 'as-path', segments: [{ segmentType: 2, asns: [64512] }] },
    { type: 'next-hop', nextHop: mustParseIP('10.0.0.2') },
  ],
  nlri: [mustParseCIDR('198.51.100.10/32')],
};

test('UPDATE for eBGP to a 4-byte peer encodes exactly like upstream (docs/behaviour/bgp.md#encoding example)', () => {
  const m = EBGP_UPDATE;
  const bytes = encodeMessage(m, FOUR);
  assert.equal(bytes.length, 48);
  assert.equal(bytes.subarray(23).toString('hex'), '40010102' + '400206020100' + '00fc00' + '4003040a000002' + '20c633640a');
  roundTrip(m, FOUR);
});

test('AS_PATH uses 2-octet AS numbers when the peer is not 4-octet capable', () => {
  const m = EBGP_UPDATE;
  const bytes = encodeMessage(m, TWO);
  assert.equal(bytes.subarray(23 + 4, 23 + 4 + 7).toString('hex'), '40020402' + '01fc00');
  roundTrip(m, TWO);
  assert.throws(() => encodeMessage({ ...m, attributes: [{ type: 'as-path', segments: [{ segmentType: 2, asns: [70000] }] }] }, TWO), RangeError);
});

test('every path attribute round-trips', () => {
  const all: PathAttribute[] = [
    { type: 'origin', origin: 0 },
    { type: 'as-path', segments: [{ segmentType: 2, asns: [64512, 4200000000] }, { segmentType: 1, asns: [1, 2, 3] }] },
    { type: 'next-hop', nextHop: mustParseIP('192.0.2.1') },
    { type: 'med', med: 10 },
    { type: 'local-pref', localPref: 200 },
    { type: 'atomic-aggregate' },
    { type: 'aggregator', asn: 4200000000, address: mustParseIP('192.0.2.9') },
    { type: 'communities', communities: [0xffff_ff01, 65535 * 65536 + 65281, 1] },
    { type: 'mp-reach', afi: 2, safi: 1, nextHops: [mustParseIP('2001:db8::1')], nlri: [mustParseCIDR('2001:db8:200::10/128'), mustParseCIDR('2001:db8:300::/48')] },
    { type: 'mp-unreach', afi: 2, safi: 1, withdrawn: [mustParseCIDR('2001:db8:400::/64')] },
    { type: 'as4-path', segments: [{ segmentType: 2, asns: [4200000000] }] },
    { type: 'unknown', flags: 0xc0, typeCode: 32, value: hex('00000001000000020000000300') },
  ];
  roundTrip({ type: 'update', withdrawn: [mustParseCIDR('203.0.113.0/24'), mustParseCIDR('0.0.0.0/0')], attributes: all, nlri: [mustParseCIDR('198.51.100.0/25')] }, FOUR);
  roundTrip({ type: 'update', withdrawn: [], attributes: all.map((a) => (a.type === 'as-path' ? { ...a, segments: [{ segmentType: 2, asns: [64512] }] } : a.type === 'aggregator' ? { ...a, asn: 65000 } : a)), nlri: [] }, TWO);
  // extended length kicks in above 255 value bytes
  const many = { type: 'communities' as const, communities: Array.from({ length: 100 }, (_, i) => i) };
  const m: BGPMessage = { type: 'update', withdrawn: [], attributes: [many], nlri: [] };
  const bytes = encodeMessage(m);
  assert.equal(bytes[23], 0xd0);
  roundTrip(m);
});

test('NOTIFICATION, KEEPALIVE and ROUTE-REFRESH round-trip', () => {
  roundTrip({ type: 'notification', code: 6, subcode: 3, data: Buffer.alloc(0) });
  roundTrip({ type: 'notification', code: 2, subcode: 1, data: hex('0004') });
  roundTrip({ type: 'keepalive' });
  assert.equal(KEEPALIVE.toString('hex'), `${MARKER}001304`);
  roundTrip({ type: 'route-refresh', afi: 1, subtype: 0, safi: 1 });
  roundTrip({ type: 'route-refresh', afi: 2, subtype: 2, safi: 1 });
});

test('MessageFramer splits a byte stream at message boundaries, in any chunking', () => {
  const msgs = [KEEPALIVE, encodeMessage({ type: 'notification', code: 6, subcode: 2, data: Buffer.from('bye') }), KEEPALIVE];
  const all = Buffer.concat(msgs);
  for (let cut = 1; cut < all.length; cut++) {
    const f = new MessageFramer();
    const got = [...f.push(all.subarray(0, cut)), ...f.push(all.subarray(cut))];
    assert.deepEqual(got, msgs);
    assert.equal(f.bufferedBytes, 0);
  }
});

// ------------------------------------------------------------------------------------ malformed input

const ORIGIN = '40010100';
const ASPATH = '40020602010000fc00';
const NEXTHOP = '400304c0000201';
function update(attrs: string, nlri = '20cb00710a', withdrawn = ''): Buffer {
  const w = hex(withdrawn);
  const a = hex(attrs);
  const n = hex(nlri);
  const body = Buffer.concat([Buffer.from([w.length >> 8, w.length & 0xff]), w, Buffer.from([a.length >> 8, a.length & 0xff]), a, n]);
  const len = 19 + body.length;
  return Buffer.concat([hex(MARKER), Buffer.from([len >> 8, len & 0xff, 2]), body]);
}

const MALFORMED: { name: string; bytes: Buffer; code: number; subcode: number; offset?: number; data?: string }[] = [
  { name: 'marker not all ones', bytes: hex(`ffffffffffffffffffffffffffff00ff 0013 04`), code: 1, subcode: 1, offset: 14 },
  { name: 'length below 19', bytes: hex(`${MARKER} 0012 04`), code: 1, subcode: 2, data: '0012' },
  { name: 'length above 4096', bytes: hex(`${MARKER} 1001 04`), code: 1, subcode: 2, data: '1001' },
  { name: 'unknown message type', bytes: hex(`${MARKER} 0013 09`), code: 1, subcode: 3, data: '09' },
  { name: 'KEEPALIVE with a body', bytes: hex(`${MARKER} 0014 04 00`), code: 1, subcode: 2 },
  { name: 'OPEN shorter than 29 bytes', bytes: hex(`${MARKER} 001c 01 04 0001 005a 0a000002`), code: 1, subcode: 2 },
  { name: 'OPEN parameter length past the end', bytes: hex(`${MARKER} 001f 01 04 0001 005a 0a000002 05 02 06`), code: 2, subcode: 0 },
  { name: 'OPEN non-capability optional parameter', bytes: hex(`${MARKER} 001f 01 04 0001 005a 0a000002 02 01 00`), code: 2, subcode: 4, offset: 29 },
  { name: 'OPEN capability overrunning its parameter', bytes: hex(`${MARKER} 0021 01 04 0001 005a 0a000002 04 02 02 4104`), code: 2, subcode: 0 },
  { name: 'OPEN 4-octet AS capability of 3 bytes', bytes: hex(`${MARKER} 0022 01 04 0001 005a 0a000002 05 02 03 4103 00`), code: 2, subcode: 0 },
  { name: 'NOTIFICATION without code', bytes: hex(`${MARKER} 0014 03 06`), code: 1, subcode: 2 },
  { name: 'ROUTE-REFRESH too short', bytes: hex(`${MARKER} 0016 05 0001 00`), code: 1, subcode: 2 },
  { name: 'Enhanced ROUTE-REFRESH too long', bytes: hex(`${MARKER} 0018 05 0001 01 01 00`), code: 7, subcode: 1 },
  { name: 'UPDATE withdrawn length overruns', bytes: update('', '', '').fill(0xff, 19, 20), code: 3, subcode: 1, offset: 19 },
  { name: 'UPDATE attribute length overruns the message', bytes: (() => { const b = update(ORIGIN + ASPATH + NEXTHOP); b.writeUInt16BE(200, 21); return b; })(), code: 3, subcode: 1 },
  { name: 'UPDATE attribute value overruns the attributes', bytes: update('400101'), code: 3, subcode: 5, offset: 23 + 2 },
  { name: 'UPDATE truncated attribute header', bytes: update('4001', ''), code: 3, subcode: 1, offset: 23 },
  { name: 'UPDATE duplicate attribute', bytes: update(ORIGIN + ORIGIN + ASPATH + NEXTHOP), code: 3, subcode: 1 },
  { name: 'UPDATE unknown well-known attribute', bytes: update(ORIGIN + ASPATH + NEXTHOP + '40630100'), code: 3, subcode: 2, data: '40630100' },
  { name: 'UPDATE ORIGIN flagged optional', bytes: update('c0010100' + ASPATH + NEXTHOP), code: 3, subcode: 4, offset: 23, data: 'c0010100' },
  { name: 'UPDATE ORIGIN of 2 bytes', bytes: update('4001020000' + ASPATH + NEXTHOP), code: 3, subcode: 5, data: '4001020000' },
  { name: 'UPDATE ORIGIN value 3', bytes: update('40010103' + ASPATH + NEXTHOP), code: 3, subcode: 6, offset: 26, data: '40010103' },
  { name: 'UPDATE AS_PATH segment overruns', bytes: update(ORIGIN + '40020602020000fc00' + NEXTHOP), code: 3, subcode: 11 },
  { name: 'UPDATE AS_PATH segment type 7', bytes: update(ORIGIN + '40020607010000fc00' + NEXTHOP), code: 3, subcode: 11 },
  { name: 'UPDATE NEXT_HOP of 16 bytes (upstream IPv6 quirk)', bytes: update(ORIGIN + ASPATH + '400310' + '20010db8000000000000000000000001'), code: 3, subcode: 5 },
  { name: 'UPDATE NEXT_HOP 0.0.0.0', bytes: update(ORIGIN + ASPATH + '40030400000000'), code: 3, subcode: 8 },
  { name: 'UPDATE NEXT_HOP multicast', bytes: update(ORIGIN + ASPATH + '400304e0000001'), code: 3, subcode: 8 },
  { name: 'UPDATE LOCAL_PREF of 3 bytes', bytes: update(ORIGIN + ASPATH + NEXTHOP + '400503000000'), code: 3, subcode: 5 },
  { name: 'UPDATE COMMUNITIES of 6 bytes', bytes: update(ORIGIN + ASPATH + NEXTHOP + 'c00806000000000000'), code: 3, subcode: 5 },
  { name: 'UPDATE missing ORIGIN', bytes: update(ASPATH + NEXTHOP), code: 3, subcode: 3, data: '01' },
  { name: 'UPDATE missing AS_PATH', bytes: update(ORIGIN + NEXTHOP), code: 3, subcode: 3, data: '02' },
  { name: 'UPDATE missing NEXT_HOP', bytes: update(ORIGIN + ASPATH), code: 3, subcode: 3, data: '03' },
  { name: 'UPDATE NLRI prefix length 33', bytes: update(ORIGIN + ASPATH + NEXTHOP, '21cb00710a00'), code: 3, subcode: 10 },
  { name: 'UPDATE NLRI truncated', bytes: update(ORIGIN + ASPATH + NEXTHOP, '20cb0071'), code: 3, subcode: 10 },
  { name: 'UPDATE withdrawn prefix truncated', bytes: update('', '', '18cb00'), code: 3, subcode: 10 },
  { name: 'UPDATE MP_REACH next hop of 5 bytes', bytes: update(ORIGIN + ASPATH + '800e0b 0002 01 05 0000000000 00 00'), code: 3, subcode: 9 },
  { name: 'UPDATE MP_REACH IPv6 prefix length 129', bytes: update(ORIGIN + ASPATH + '800e16 0002 01 10 20010db8000000000000000000000001 00 81', ''), code: 3, subcode: 10 },
  { name: 'UPDATE MP_UNREACH of 2 bytes', bytes: update('800f020002', ''), code: 3, subcode: 9 },
];

for (const c of MALFORMED) {
  test(`malformed: ${c.name} -> NOTIFICATION ${c.code}/${c.subcode}`, () => {
    try {
      decodeMessage(c.bytes, FOUR);
      assert.fail('decoded without error');
    } catch (err) {
      assert.ok(err instanceof BGPMessageError, `expected BGPMessageError, got ${String(err)}`);
      assert.equal(err.code, c.code, err.message);
      assert.equal(err.subcode, c.subcode, err.message);
      if (c.offset !== undefined) assert.equal(err.offset, c.offset, err.message);
      if (c.data !== undefined) assert.equal(err.data.toString('hex'), c.data, err.message);
      assert.match(err.message, /at offset \d+/);
    }
  });
}

test('an MP_REACH of another address family is kept as an unknown attribute', () => {
  const m = decodeMessage(update(ORIGIN + ASPATH + '800e0e 0001 80 04 c0000201 00 20 c6336400', ''));
  assert.equal(m.type, 'update');
  if (m.type === 'update') assert.deepEqual(m.attributes[2], { type: 'unknown', flags: 0x80, typeCode: 14, value: hex('0001 80 04 c0000201 00 20 c6336400') });
});
