import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CIDR, IPAddress, mustParseCIDR, mustParseIP } from '../../../lib/ip/index.js';
import { AdvertisementTable, advertisementsFor, aggregatePrefix, type Advertisement, type RouteChanges } from '../../../lib/speaker/advertisements.js';
import { ad, pool } from './fixtures.js';

function adv(prefix: string, localPref = 0, communities: number[] = []): Advertisement {
  return { prefix: mustParseCIDR(prefix), localPref, communities };
}
function show(c: RouteChanges) {
  return {
    announce: c.announce.map((a) => `${a.prefix} lp=${a.localPref} c=${a.communities.join(',')}`).sort(),
    withdraw: c.withdraw.map(String).sort(),
  };
}

// aggregation: the prefix containing the IP at the aggregation length (E10: /24 pool, length 28)
const aggregation: [string, { v4?: number; v6?: number }, string][] = [
  ['10.0.0.77', { v4: 28 }, '10.0.0.64/28'],
  ['10.0.0.77', {}, '10.0.0.77/32'],
  ['10.0.0.77', { v4: 24 }, '10.0.0.0/24'],
  ['10.0.0.77', { v4: 0 }, '0.0.0.0/0'],
  ['198.51.100.255', { v4: 31 }, '198.51.100.254/31'],
  ['2001:db8::1:2', {}, '2001:db8::1:2/128'],
  ['2001:db8::1:2', { v6: 64 }, '2001:db8::/64'],
  ['2001:db8::1:2', { v4: 8, v6: 120 }, '2001:db8::1:0/120'],
];
for (const [ip, lens, want] of aggregation) {
  test(`aggregatePrefix ${ip} v4=${lens.v4 ?? 32} v6=${lens.v6 ?? 128} -> ${want}`, () => {
    const a = ad({ ...(lens.v4 !== undefined ? { aggregationLength: lens.v4 } : {}), ...(lens.v6 !== undefined ? { aggregationLengthV6: lens.v6 } : {}) });
    assert.equal(aggregatePrefix(mustParseIP(ip), a).toString(), want);
  });
}

test('advertisementsFor: IP-major, advertisement-minor order; X1 example (/32, LOCAL_PREF 200, no-export)', () => {
  const p = pool('edge', 'bgp', ['198.51.100.0/24'], [ad({ localPref: 200, communities: [65535 * 65536 + 65281] })]);
  const ads = advertisementsFor([mustParseIP('198.51.100.1'), mustParseIP('198.51.100.2')], p);
  assert.deepEqual(ads.map((a) => [a.prefix.toString(), a.localPref, a.communities]), [
    ['198.51.100.1/32', 200, [4294967041]],
    ['198.51.100.2/32', 200, [4294967041]],
  ]);
  assert.deepEqual(advertisementsFor([mustParseIP('198.51.100.1')], pool('l', 'layer2', ['198.51.100.0/24'])), []);
});

test('table: first announcement, re-set unchanged, withdraw', () => {
  const t = new AdvertisementTable();
  assert.deepEqual(show(t.set('ns/a', [adv('192.0.2.1/32', 100, [1, 2])])), { announce: ['192.0.2.1/32 lp=100 c=1,2'], withdraw: [] });
  assert.deepEqual(show(t.set('ns/a', [adv('192.0.2.1/32', 100, [1, 2])])), { announce: [], withdraw: [] }, 'unchanged is not re-sent');
  assert.deepEqual(show(t.set('ns/a', [adv('192.0.2.1/32', 150, [1, 2])])), { announce: ['192.0.2.1/32 lp=150 c=1,2'], withdraw: [] }, 'attribute change re-announces');
  assert.deepEqual(show(t.delete('ns/a')), { announce: [], withdraw: ['192.0.2.1/32'] });
  assert.equal(t.size, 0);
  assert.deepEqual(show(t.delete('ns/a')), { announce: [], withdraw: [] }, 'deleting twice is a no-op');
});

test('table: services sharing a prefix keep it until the last one goes; attributes merge deterministically', () => {
  const t = new AdvertisementTable();
  t.set('ns/a', [adv('192.0.2.0/24', 100, [3])]);
  assert.deepEqual(show(t.set('ns/b', [adv('192.0.2.0/24', 200, [1])])), { announce: ['192.0.2.0/24 lp=200 c=1,3'], withdraw: [] });
  assert.deepEqual(show(t.set('ns/c', [adv('192.0.2.0/24', 50, [3])])), { announce: [], withdraw: [] }, 'merged route unchanged');
  assert.deepEqual(show(t.delete('ns/b')), { announce: ['192.0.2.0/24 lp=100 c=3'], withdraw: [] });
  assert.deepEqual(show(t.delete('ns/a')), { announce: ['192.0.2.0/24 lp=50 c=3'], withdraw: [] });
  assert.deepEqual(show(t.delete('ns/c')), { announce: [], withdraw: ['192.0.2.0/24'] });
});

test('table: moving a service to another IP withdraws the old prefix and announces the new one', () => {
  const t = new AdvertisementTable();
  t.set('ns/a', [adv('192.0.2.1/32')]);
  assert.deepEqual(show(t.set('ns/a', [adv('192.0.2.2/32')])), { announce: ['192.0.2.2/32 lp=0 c='], withdraw: ['192.0.2.1/32'] });
  assert.deepEqual([...t.routes()].map((r) => r.prefix.toString()), ['192.0.2.2/32']);
});

test('table: one service contributing a prefix twice (two IPs aggregated together)', () => {
  const t = new AdvertisementTable();
  assert.deepEqual(show(t.set('ns/a', [adv('192.0.2.0/28', 0, [7]), adv('192.0.2.0/28', 0, [7])])), { announce: ['192.0.2.0/28 lp=0 c=7'], withdraw: [] });
  assert.deepEqual(show(t.set('ns/a', [adv('192.0.2.0/28', 0, [7])])), { announce: [], withdraw: [] });
  assert.deepEqual(show(t.delete('ns/a')), { announce: [], withdraw: ['192.0.2.0/28'] });
});

test('table (property): after any sequence of sets/deletes, routes equal the merge recomputed from scratch', () => {
  const prefixes = ['192.0.2.0/24', '192.0.2.1/32', '192.0.2.2/32', '2001:db8::/64', '198.51.100.0/28'];
  const adArb = fc.record({ p: fc.constantFrom(...prefixes), lp: fc.constantFrom(0, 100, 200), cs: fc.uniqueArray(fc.constantFrom(1, 2, 3, 4), { maxLength: 3 }) });
  const op = fc.record({ svc: fc.constantFrom('a', 'b', 'c', 'd'), ads: fc.array(adArb, { maxLength: 4 }) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const t = new AdvertisementTable();
      const held = new Map<string, Advertisement>(); // what a peer would hold after applying changes
      const want = new Map<string, Advertisement[]>();
      for (const o of ops) {
        const ads = o.ads.map((a) => adv(a.p, a.lp, [...a.cs].sort((x, y) => x - y)));
        want.set(o.svc, ads);
        const ch = t.set(o.svc, ads);
        for (const w of ch.withdraw) held.delete(w.toString());
        for (const a of ch.announce) held.set(a.prefix.toString(), a);
      }
      const expected = new Map<string, { lp: number; cs: Set<number> }>();
      for (const ads of want.values()) {
        for (const a of ads) {
          const e = expected.get(a.prefix.toString()) ?? { lp: 0, cs: new Set<number>() };
          e.lp = Math.max(e.lp, a.localPref);
          a.communities.forEach((c) => e.cs.add(c));
          expected.set(a.prefix.toString(), e);
        }
      }
      const norm = (m: Map<string, { lp: number; cs: number[] }>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
      const fromExpected = new Map([...expected].map(([k, v]) => [k, { lp: v.lp, cs: [...v.cs].sort((x, y) => x - y) }]));
      const fromTable = new Map([...t.routes()].map((r) => [r.prefix.toString(), { lp: r.localPref, cs: [...r.communities] }]));
      const fromPeer = new Map([...held].map(([k, r]) => [k, { lp: r.localPref, cs: [...r.communities] }]));
      assert.deepEqual(norm(fromTable), norm(fromExpected));
      assert.deepEqual(norm(fromPeer), norm(fromExpected), 'applying the deltas yields the same set');
    }),
    { numRuns: 300 },
  );
});

test('CIDR helper sanity for the fixtures', () => {
  assert.equal(CIDR.of(IPAddress.of(4, 0xc0000201n), 24).toString(), '192.0.2.0/24');
});

test('LOCAL_PREF goes to iBGP peers only (0 included), never to eBGP', async () => {
  const { localPrefForPeer } = await import('../../../lib/speaker/advertisements.js');
  const { peer } = await import('./fixtures.js');
  const a = adv('192.0.2.1/32', 200);
  assert.equal(localPrefForPeer(peer('192.0.2.9', { myASN: 64500, peerASN: 64500 }), a), 200);
  assert.equal(localPrefForPeer(peer('192.0.2.9', { myASN: 64500, peerASN: 64500 }), adv('192.0.2.1/32')), 0);
  assert.equal(localPrefForPeer(peer('192.0.2.9', { myASN: 64500, peerASN: 64501 }), a), undefined);
});
