import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CIDR, IPAddress, isBuggyIP, mustParseCIDR, mustParseIP, parseCIDR, parseIP, parsePoolEntry, rangeToCIDRs, totalSize } from '../../../lib/ip/index.js';

test('parse and print: canonical forms', () => {
  const cases: [string, string | undefined][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['010.000.002.001', '10.0.2.1'], // leading zeros are decimal (Go 1.16 compatibility)
    ['255.255.255.255', '255.255.255.255'],
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['1.2.3.4 ', undefined],
    ['', undefined],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first longest run wins
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['2001:db8::1:0', '2001:db8::1:0'],
    ['1:0:1:1:1:1:1:1', '1:0:1:1:1:1:1:1'], // a single zero group is not compressed
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::192.0.2.1', '::c000:201'],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['fe80::1%eth0', undefined],
    ['[::1]', undefined],
    ['12345::', undefined],
    [':1', undefined],
    ['1:', undefined],
    ['1.2.3.4:80', undefined],
  ];
  for (const [input, want] of cases) {
    const ip = parseIP(input);
    assert.equal(ip?.toString(), want, `parseIP(${JSON.stringify(input)})`);
  }
});

test('IPv4-mapped addresses are recognised and unmapped deliberately', () => {
  const ip = mustParseIP('::ffff:198.51.100.7');
  assert.equal(ip.family, 6);
  assert.equal(ip.isIPv4Mapped(), true);
  assert.equal(ip.unmapIPv4()?.toString(), '198.51.100.7');
  assert.equal(mustParseIP('2001:db8::1').isIPv4Mapped(), false);
  assert.equal(mustParseIP('198.51.100.7').isIPv4Mapped(), false);
});

test('bytes round trip and ordering', () => {
  assert.deepEqual([...mustParseIP('192.0.2.1').toBytes()], [192, 0, 2, 1]);
  assert.equal(IPAddress.fromBytes(Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])).toString(), '2001:db8::1');
  assert.ok(mustParseIP('10.0.0.1').compare(mustParseIP('10.0.0.2')) < 0);
  assert.ok(mustParseIP('255.255.255.255').compare(mustParseIP('::')) < 0, 'IPv4 sorts before IPv6');
  assert.throws(() => IPAddress.fromBytes(Buffer.alloc(5)), /4 or 16 bytes/);
});

test('CIDR parsing clears host bits and checks the prefix length', () => {
  const p = parseCIDR('10.20.30.40/24');
  assert.equal(p?.cidr.toString(), '10.20.30.0/24');
  assert.equal(p?.hostBitsSet, true);
  assert.equal(parseCIDR('10.0.0.0/33'), undefined);
  assert.equal(parseCIDR('10.0.0.0/-1'), undefined);
  assert.equal(parseCIDR('10.0.0.0'), undefined);
  assert.equal(parseCIDR('10.0.0.0/24/1'), undefined);
  assert.equal(parseCIDR('2001:db8::/129'), undefined);
  assert.equal(parseCIDR('2001:db8::1/64')?.cidr.toString(), '2001:db8::/64');
  assert.equal(mustParseCIDR('0.0.0.0/0').size, 1n << 32n);
  assert.equal(mustParseCIDR('2001:db8::/64').size, 1n << 64n);
  assert.equal(mustParseCIDR('192.0.2.0/24').last.toString(), '192.0.2.255');
});

test('contains and overlaps', () => {
  const a = mustParseCIDR('10.0.0.0/24');
  const b = mustParseCIDR('10.0.0.128/25');
  const c = mustParseCIDR('10.0.1.0/24');
  assert.equal(a.overlaps(b), true);
  assert.equal(b.overlaps(a), true);
  assert.equal(a.overlaps(c), false, 'adjacent blocks do not overlap');
  assert.equal(a.overlaps(mustParseCIDR('::/0')), false, 'families never overlap');
  assert.equal(a.contains(mustParseIP('10.0.0.255')), true);
  assert.equal(a.contains(mustParseIP('10.0.1.0')), false);
});

test('range to CIDR cover: the example of docs/behaviour/config.md#address-entries', () => {
  const got = rangeToCIDRs(mustParseIP('172.18.0.200'), mustParseIP('172.18.0.250')).map(String);
  assert.deepEqual(got, ['172.18.0.200/29', '172.18.0.208/28', '172.18.0.224/28', '172.18.0.240/29', '172.18.0.248/31', '172.18.0.250/32']);
  assert.deepEqual(rangeToCIDRs(mustParseIP('192.168.34.0'), mustParseIP('192.168.34.255')).map(String), ['192.168.34.0/24']);
  assert.deepEqual(rangeToCIDRs(mustParseIP('0.0.0.0'), mustParseIP('255.255.255.255')).map(String), ['0.0.0.0/0']);
  assert.deepEqual(rangeToCIDRs(mustParseIP('::'), mustParseIP('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).map(String), ['::/0']);
  assert.deepEqual(rangeToCIDRs(mustParseIP('1.2.3.4'), mustParseIP('1.2.3.4')).map(String), ['1.2.3.4/32']);
});

test('buggy IPs: IPv4 .0 and .255 only', () => {
  assert.equal(isBuggyIP(mustParseIP('10.0.0.0')), true);
  assert.equal(isBuggyIP(mustParseIP('10.0.0.255')), true);
  assert.equal(isBuggyIP(mustParseIP('10.0.1.1')), false);
  assert.equal(isBuggyIP(mustParseIP('2001:db8::ff')), false);
  assert.equal(isBuggyIP(mustParseIP('2001:db8::')), false);
});

test('iteration is lazy: a /64 yields its first addresses without materialising the space', () => {
  const it = mustParseCIDR('2001:db8::/64').addresses();
  assert.equal(it.next().value?.toString(), '2001:db8::');
  assert.equal(it.next().value?.toString(), '2001:db8::1');
  assert.equal(mustParseCIDR('2001:db8::/64').at((1n << 64n) - 1n).toString(), '2001:db8::ffff:ffff:ffff:ffff');
});

test('pool entries', () => {
  const ok = (t: string) => { const r = parsePoolEntry(t); assert.ok(r.ok, `${t}: ${r.ok ? '' : r.reason}`); return r.entry; };
  const bad = (t: string, re: RegExp) => { const r = parsePoolEntry(t); assert.ok(!r.ok, t); assert.match(r.reason, re); };
  assert.deepEqual(ok('1.2.3.4 - 1.2.3.9').cidrs.map(String), ['1.2.3.4/30', '1.2.3.8/31']);
  assert.deepEqual(ok('2001:db8::-2001:db8::3').cidrs.map(String), ['2001:db8::/126'], 'split at the first "-"');
  bad('10.0.0.5', /single address, not a CIDR/);
  bad(' 10.0.0.0/24', /not a CIDR/);
  bad('10.0.0.300/24', /is not a CIDR or an address range/);
  bad('1.2.3.9-1.2.3.4', /above its end/);
  bad('1.2.3.4-2001:db8::1', /mixes an IPv4 and an IPv6/);
  bad('::ffff:1.2.3.4/128', /IPv4-mapped/);
  bad('::ffff:1.2.3.4-::ffff:1.2.3.9', /IPv4-mapped/);
  bad('1.2.3.4-x', /"x" is not an IP address/);
});

// ---------------------------------------------------------------- properties

const v4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }).map((v) => IPAddress.of(4, v));
const v6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((v) => IPAddress.of(6, v));
const anyIP = fc.oneof(v4, v6);

test('property: parse(print(ip)) == ip for every address', () => {
  fc.assert(fc.property(anyIP, (ip) => {
    const back = parseIP(ip.toString());
    assert.ok(back, ip.toString());
    assert.ok(back.equals(ip));
  }), { numRuns: 2000 });
});

test('property: range-to-CIDR cover is exact, ascending, disjoint and minimal in count', () => {
  const pair = fc.oneof(
    fc.tuple(v4, v4),
    fc.tuple(v6, v6),
    // short ranges near alignment boundaries, where mistakes hide
    fc.tuple(fc.bigInt({ min: 0n, max: (1n << 32n) - 300n }), fc.integer({ min: 0, max: 290 })).map(([s, n]) => [IPAddress.of(4, s), IPAddress.of(4, s + BigInt(n))] as const),
  );
  fc.assert(fc.property(pair, ([x, y]) => {
    const [s, e] = x.value <= y.value ? [x, y] : [y, x];
    const cidrs = rangeToCIDRs(s, e);
    assert.equal(totalSize(cidrs), e.value - s.value + 1n, 'covers exactly the count');
    assert.ok(cidrs[0].first.equals(s));
    assert.ok(cidrs[cidrs.length - 1].last.equals(e));
    for (let i = 1; i < cidrs.length; i++) {
      assert.equal(cidrs[i].first.value, cidrs[i - 1].last.value + 1n, 'contiguous and ascending');
      // minimal: two neighbours of equal size that together form an aligned block would be mergeable
      const a = cidrs[i - 1], b = cidrs[i];
      const mergeable = a.prefix === b.prefix && a.prefix > 0 && CIDR.of(a.network, a.prefix - 1).network.equals(a.network);
      assert.ok(!mergeable, `blocks ${a} and ${b} could be one`);
    }
  }), { numRuns: 1500 });
});

test('property: overlap is symmetric and equals "one contains the other"', () => {
  const cidr = fc.oneof(
    fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([ip, p]) => CIDR.of(ip, p)),
    fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([ip, p]) => CIDR.of(ip, p)),
    // nearby blocks, so overlaps actually occur
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 })).map(([o, p]) => CIDR.of(IPAddress.of(4, 0xc0000200n + BigInt(o)), p)),
  );
  fc.assert(fc.property(cidr, cidr, (a, b) => {
    assert.equal(a.overlaps(b), b.overlaps(a));
    const shareAddress = a.family === b.family && a.first.value <= b.last.value && b.first.value <= a.last.value;
    assert.equal(a.overlaps(b), shareAddress);
  }), { numRuns: 3000 });
});

test('property: CIDR text round trip', () => {
  fc.assert(fc.property(anyIP, fc.integer({ min: 0, max: 128 }), (ip, p) => {
    const prefix = Math.min(p, ip.bits);
    const c = CIDR.of(ip, prefix);
    const back = parseCIDR(c.toString());
    assert.ok(back && back.cidr.equals(c) && !back.hostBitsSet);
    assert.ok(c.contains(ip));
  }), { numRuns: 1500 });
});
