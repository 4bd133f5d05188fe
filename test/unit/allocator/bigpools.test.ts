// Big pools (an IPv4 /8, IPv6 /64 and /32) behave like small ones, and pool capacity (docs/behaviour/allocation.md#capacity).
// No traffic is sent anywhere: these addresses are only values. A linear-scan allocator would
// need billions of steps for some of these cases; no timing is asserted, the cases simply
// could not finish if any operation walked the address space.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Allocator, poolCapacity } from '../../../lib/allocator/index.js';
import { IPAddress, mustParseIP } from '../../../lib/ip/index.js';
import { config, ips, pool, request } from './helpers.js';

const ip4 = (n: number) => IPAddress.of(4, BigInt(n)).toString();
const BASE8 = Number(mustParseIP('10.0.0.0').value);

test('IPv4 /8: 50,000 allocations in walk order, releases re-used lowest first, an address at the very top', () => {
  const a = new Allocator();
  assert.ok(a.setConfig(config(pool('big', ['10.0.0.0/8']))).ok);
  for (let i = 0; i < 50_000; i++) {
    const r = a.allocate(`ns/s${i}`, request());
    assert.ok(r.ok);
    if (i % 4999 === 0) assert.equal(String(r.ips[0]), ip4(BASE8 + i));
  }
  assert.deepEqual(a.poolUsage('big'), { pool: 'big', addressesInUse: 50_000, addressesTotal: 1n << 24n, services: 50_000 });
  const top = a.assign('ns/top', request(), ips('10.255.255.255'));
  assert.ok(top.ok);
  for (let i = 49_999; i >= 0; i -= 7) assert.ok(a.release(`ns/s${i}`));
  // the lowest released addresses come back first, ascending
  for (let k = 0; k < 100; k++) {
    const r = a.allocate(`ns/again${k}`, request());
    assert.ok(r.ok);
    const expected = ((49_999 % 7) + 7 * k);
    assert.equal(String(r.ips[0]), ip4(BASE8 + expected));
  }
  assert.equal(a.poolUsage('big')?.addressesInUse, 50_000 - Math.ceil(50_000 / 7) + 100 + 1);
});

test('IPv6 /64: allocations in walk order, an address at the very top, exhaustion never reached', () => {
  const a = new Allocator();
  assert.ok(a.setConfig(config(pool('v6', ['2001:db8:1::/64']))).ok);
  assert.ok(a.assign('ns/top', request({ family: 'ipv6' }), ips('2001:db8:1:0:ffff:ffff:ffff:ffff')).ok);
  for (let i = 0; i < 30_000; i++) {
    const r = a.allocate(`ns/s${i}`, request({ family: 'ipv6' }));
    assert.ok(r.ok);
    if (i % 2999 === 0) assert.equal(String(r.ips[0]), IPAddress.of(6, mustParseIP('2001:db8:1::').value + BigInt(i)).toString());
  }
  assert.equal(a.poolUsage('v6')?.addressesTotal, (1n << 63n) - 1n);
  assert.equal(a.poolUsage('v6')?.addressesInUse, 30_001);
});

test('IPv6 /32 plus IPv4 /8 dual-stack, with avoid-buggy-ips, 20,000 services', () => {
  const a = new Allocator();
  assert.ok(a.setConfig(config(pool('dual', ['10.0.0.0/8', '2001:db8::/32'], { avoidBuggyIPs: true }))).ok);
  let last = '';
  for (let i = 0; i < 20_000; i++) {
    const r = a.allocate(`ns/s${i}`, request({ family: 'dual' }));
    assert.ok(r.ok);
    const [v4, v6] = r.ips;
    assert.equal(v4.family, 4);
    assert.equal(v6.family, 6);
    const lastOctet = Number(v4.value & 0xffn);
    assert.ok(lastOctet !== 0 && lastOctet !== 255, `${v4} is buggy`);
    assert.equal(v6.value, mustParseIP('2001:db8::').value + BigInt(i));
    last = String(v4);
  }
  // 20,000 non-buggy addresses: 254 per /24, starting at .1
  const blocks = Math.floor(19_999 / 254);
  assert.equal(last, ip4(BASE8 + blocks * 256 + 1 + (19_999 % 254)));
});

test('a config change on a big pool keeps the walk going (rename, then grow)', () => {
  const a = new Allocator();
  assert.ok(a.setConfig(config(pool('p', ['10.0.0.0/8']))).ok);
  for (let i = 0; i < 20_000; i++) assert.ok(a.allocate(`ns/s${i}`, request()).ok);
  assert.ok(a.setConfig(config(pool('renamed', ['10.0.0.0/8']))).ok);
  const r = a.allocate('ns/next', request());
  assert.ok(r.ok);
  assert.equal(String(r.ips[0]), ip4(BASE8 + 20_000));
  assert.equal(r.pool, 'renamed');
  assert.ok(a.setConfig(config(pool('renamed', ['10.0.0.0/8', '2001:db8::/64']))).ok);
  assert.deepEqual(a.poolUsage('renamed'), { pool: 'renamed', addressesInUse: 20_001, addressesTotal: (1n << 63n) - 1n, services: 20_001 });
  const refused = a.setConfig(config(pool('renamed', ['10.128.0.0/9'])));
  assert.equal(refused.ok, false);
  assert.equal(refused.ok ? 0 : refused.conflicts.length, 20_001);
  assert.equal(a.poolOf('ns/next'), 'renamed');
});

test('sharing in a big pool: compatible services pack onto the first address with room', () => {
  const a = new Allocator();
  assert.ok(a.setConfig(config(pool('p', ['10.0.0.0/8']))).ok);
  for (let i = 0; i < 3_000; i++) {
    const r = a.allocate(`ns/s${i}`, request({ share: 'k', ports: [`TCP/${(i % 3) + 1}`] }));
    assert.ok(r.ok);
    assert.equal(String(r.ips[0]), ip4(BASE8 + Math.floor(i / 3)));
  }
  assert.equal(a.poolUsage('p')?.addressesInUse, 1_000);
});

const capacityCases: { name: string; addresses: string[]; avoid?: boolean; want: bigint }[] = [
  { name: '/24', addresses: ['192.0.2.0/24'], want: 256n },
  { name: '/24 + /25', addresses: ['192.0.2.0/24', '198.51.100.0/25'], want: 384n },
  { name: '/24 + /25 avoiding buggy IPs', addresses: ['192.0.2.0/24', '198.51.100.0/25'], avoid: true, want: 381n },
  { name: '/16 avoiding buggy IPs', addresses: ['10.1.0.0/16'], avoid: true, want: 65536n - 512n },
  { name: '/25 on the upper half avoiding buggy IPs', addresses: ['192.0.2.128/25'], avoid: true, want: 127n },
  { name: '/32 on .0 avoiding buggy IPs [quirk]', addresses: ['192.0.2.0/32'], avoid: true, want: 0n },
  { name: '/32 on .5 avoiding buggy IPs', addresses: ['192.0.2.5/32'], avoid: true, want: 1n },
  { name: 'range', addresses: ['192.0.2.200-192.0.2.250'], want: 51n },
  { name: 'IPv6 /120 avoiding buggy IPs (IPv6 unaffected)', addresses: ['2001:db8::/120'], avoid: true, want: 256n },
  { name: 'IPv6 /67', addresses: ['2001:db8::/67'], want: 1n << 61n },
  { name: 'IPv6 /66: 2^63-1', addresses: ['2001:db8::/66', '192.0.2.0/24'], want: (1n << 63n) - 1n },
  { name: 'IPv6 /64: 2^63-1', addresses: ['192.0.2.0/24', '2001:db8::/64'], want: (1n << 63n) - 1n },
];
for (const c of capacityCases) {
  test(`docs/behaviour/allocation.md#capacity capacity: ${c.name}`, () => {
    assert.equal(poolCapacity(pool('p', c.addresses, { avoidBuggyIPs: c.avoid })), c.want);
  });
}

test('a Service released and allocated again 20,000 times keeps the lowest free address; keys() and size skip released ones', () => {
  const a = new Allocator();
  assert.ok(a.setConfig(config(pool('p', ['10.0.0.0/8']))).ok);
  for (let i = 0; i < 1_000; i++) assert.ok(a.allocate(`ns/s${i}`, request()).ok);
  for (let i = 0; i < 20_000; i++) {
    assert.ok(a.release('ns/flap') === (i > 0));
    const r = a.allocate('ns/flap', request());
    assert.ok(r.ok);
    assert.equal(String(r.ips[0]), ip4(BASE8 + 1_000));
  }
  for (let i = 0; i < 1_000; i += 2) a.release(`ns/s${i}`);
  assert.equal(a.size, 501);
  assert.equal([...a.keys()].length, 501);
  assert.ok(!a.has('ns/s0') && a.has('ns/s1') && a.has('ns/flap'));
  assert.equal(a.poolUsage('p')?.addressesInUse, 501);
});
