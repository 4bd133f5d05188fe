import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CIDR, IPAddress, mustParseCIDR, mustParseIP } from '../../../lib/ip/index.js';
import { decodeMessage, type PathAttribute, type UpdateMessage } from '../../../lib/bgp/codec.js';
import { endOfRIB, mergeRoutes, packAnnouncements, packWithdrawals, routesForAddress, type Route } from '../../../lib/bgp/advertisement.js';

const NH4 = mustParseIP('198.51.100.11');
const NH6 = mustParseIP('2001:db8::11');
const ebgp = { fourOctetAS: true, myASN: 64512, ibgp: false };
const ibgp = { fourOctetAS: true, myASN: 64500, ibgp: true };

function updates(bufs: Buffer[]): UpdateMessage[] {
  return bufs.map((b) => {
    assert.ok(b.length <= 4096, `message of ${b.length} bytes`);
    const m = decodeMessage(b);
    assert.equal(m.type, 'update');
    return m as UpdateMessage;
  });
}

function hosts(n: number, base = '203.0.113.0'): Route[] {
  const start = mustParseIP(base).value;
  // spread over 198.18.0.0/15-sized space is not needed: consecutive /32s from base
  return Array.from({ length: n }, (_, i) => ({ prefix: CIDR.of(IPAddress.of(4, start + BigInt(i)), 32), communities: [], localPref: 0 }));
}

test('10,000 /32s sharing attributes pack into full 4096-byte UPDATEs, every prefix exactly once', () => {
  const routes = hosts(10000, '10.0.0.0');
  const bufs = packAnnouncements(routes, () => NH4, ebgp);
  const msgs = updates(bufs);
  // 4096 - 23 header/lengths - 20 attribute bytes = 4053 bytes of NLRI = 810 /32s per message
  assert.equal(msgs.length, Math.ceil(10000 / 810));
  assert.ok(bufs.slice(0, -1).every((b) => b.length >= 4096 - 4), 'all but the last message are full');
  const seen = msgs.flatMap((m) => m.nlri.map((c) => c.toString()));
  assert.deepEqual(seen, routes.map((r) => r.prefix.toString()));
  for (const m of msgs) {
    assert.deepEqual(m.attributes, [
      { type: 'origin', origin: 2 },
      { type: 'as-path', segments: [{ segmentType: 2, asns: [64512] }] },
      { type: 'next-hop', nextHop: NH4 },
    ] satisfies PathAttribute[]);
  }
});

test('routes with different attributes go into different UPDATEs; iBGP carries LOCAL_PREF and an empty AS_PATH', () => {
  const routes: Route[] = [
    { prefix: mustParseCIDR('203.0.113.1/32'), communities: [65535 * 65536 + 65281, 5], localPref: 200 },
    { prefix: mustParseCIDR('203.0.113.2/32'), communities: [5, 65535 * 65536 + 65281], localPref: 200 },
    { prefix: mustParseCIDR('203.0.113.3/32'), communities: [], localPref: 0 },
  ];
  const msgs = updates(packAnnouncements(routes, () => NH4, ibgp));
  assert.equal(msgs.length, 2);
  assert.deepEqual(msgs[0].nlri.map(String), ['203.0.113.1/32', '203.0.113.2/32']);
  assert.deepEqual(msgs[0].attributes, [
    { type: 'origin', origin: 2 },
    { type: 'as-path', segments: [] },
    { type: 'next-hop', nextHop: NH4 },
    { type: 'local-pref', localPref: 200 },
    { type: 'communities', communities: [5, 65535 * 65536 + 65281] },
  ] satisfies PathAttribute[]);
  // upstream always sends LOCAL_PREF to iBGP peers, 0 when not configured
  assert.deepEqual(msgs[1].attributes.find((a) => a.type === 'local-pref'), { type: 'local-pref', localPref: 0 });
  // eBGP: no LOCAL_PREF, so both groups differ only by communities
  const e = updates(packAnnouncements(routes, () => NH4, ebgp));
  assert.ok(e.every((m) => !m.attributes.some((a) => a.type === 'local-pref')));
});

test('IPv6 routes go in MP_REACH_NLRI with the IPv6 next hop, split under 4096 bytes', () => {
  const start = mustParseIP('2001:db8:200::').value;
  const routes = Array.from({ length: 500 }, (_, i) => ({ prefix: CIDR.of(IPAddress.of(6, start + BigInt(i)), 128), communities: [1], localPref: 0 }));
  const msgs = updates(packAnnouncements(routes, () => NH6, ebgp));
  assert.ok(msgs.length > 1);
  const all: string[] = [];
  for (const m of msgs) {
    assert.equal(m.nlri.length, 0);
    assert.ok(!m.attributes.some((a) => a.type === 'next-hop'));
    const mp = m.attributes.find((a) => a.type === 'mp-reach');
    assert.ok(mp && mp.type === 'mp-reach');
    assert.deepEqual(mp.nextHops, [NH6]);
    all.push(...mp.nlri.map(String));
  }
  assert.deepEqual(all, routes.map((r) => r.prefix.toString()));
});

test('withdrawals of many prefixes are split at 4096 bytes (upstream sent one unbounded message: docs/behaviour/quirks.md#q7)', () => {
  const v4 = hosts(2000, '10.1.0.0').map((r) => r.prefix);
  const v6 = [mustParseCIDR('2001:db8:200::1/128'), mustParseCIDR('2001:db8:300::/64')];
  const msgs = updates(packWithdrawals([...v4, ...v6]));
  assert.equal(msgs.length, Math.ceil(2000 / Math.floor((4096 - 23) / 5)) + 1);
  assert.deepEqual(msgs.flatMap((m) => m.withdrawn.map(String)), v4.map(String));
  const last = msgs[msgs.length - 1];
  assert.deepEqual(last.attributes, [{ type: 'mp-unreach', afi: 2, safi: 1, withdrawn: v6 }]);
});

test('End-of-RIB markers: empty UPDATE for IPv4, empty MP_UNREACH for IPv6', () => {
  assert.equal(endOfRIB(4).length, 23);
  assert.deepEqual(decodeMessage(endOfRIB(4)), { type: 'update', withdrawn: [], attributes: [], nlri: [] });
  assert.deepEqual(decodeMessage(endOfRIB(6)), { type: 'update', withdrawn: [], attributes: [{ type: 'mp-unreach', afi: 2, safi: 1, withdrawn: [] }], nlri: [] });
});

test('routesForAddress masks to the aggregation lengths; mergeRoutes is deterministic', () => {
  const ads = [
    { aggregationLength: 32, aggregationLengthV6: 128, localPref: 100, communities: [3, 1] },
    { aggregationLength: 24, aggregationLengthV6: 64, localPref: 0, communities: [] },
  ];
  assert.deepEqual(routesForAddress(mustParseIP('203.0.113.77'), ads).map((r) => [r.prefix.toString(), r.localPref, r.communities]), [
    ['203.0.113.77/32', 100, [1, 3]],
    ['203.0.113.0/24', 0, []],
  ]);
  assert.deepEqual(routesForAddress(mustParseIP('2001:db8:200::5'), ads).map((r) => r.prefix.toString()), ['2001:db8:200::5/128', '2001:db8:200::/64']);
  const merged = mergeRoutes([
    { prefix: mustParseCIDR('203.0.113.0/24'), localPref: 50, communities: [9] },
    { prefix: mustParseCIDR('203.0.113.0/24'), localPref: 200, communities: [2, 9] },
    { prefix: mustParseCIDR('203.0.113.9/32'), localPref: 0, communities: [] },
  ]);
  assert.equal(merged.size, 2);
  assert.deepEqual(merged.get('203.0.113.0/24'), { prefix: mustParseCIDR('203.0.113.0/24'), localPref: 200, communities: [2, 9], nextHop: undefined });
});
