// Property tests over random histories of allocate / assign / release / config changes on small
// pools: the Allocator agrees with the linear-scan reference on every answer, never puts two
// Services on one address unless docs/behaviour/allocation.md#sharing allows it, keeps every address inside its pool, frees
// addresses for re-use, and is deterministic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Allocator, type AllocationResult, type ConfigVerdict } from '../../../lib/allocator/index.js';
import { LinearScanAllocator } from '../../support/reference-allocator.js';
import { isBuggyIP, type IPAddress } from '../../../lib/ip/index.js';
import type { Config } from '../../../lib/config/types.js';
import { config, ips, pool, request, type ServiceOptions } from './helpers.js';
import type { AllocatorLike } from './scenario.js';

const CONFIGS: Config[] = [
  config(pool('p', ['192.0.2.0/28', '2001:db8::/125'])),
  config(pool('a', ['192.0.2.0/29']), pool('b', ['192.0.2.8/29', '2001:db8::/125'])),
  config(pool('p', ['2001:db8::/125', '192.0.2.0/28'], { avoidBuggyIPs: true })),
  config(pool('x', ['192.0.2.0/30'], { autoAssign: false }), pool('y', ['192.0.2.4/30', '198.51.100.0/30']), pool('z', ['2001:db8::/126'])),
  config(pool('small', ['192.0.2.0/31', '2001:db8::/127'])),
  config(pool('r', ['192.0.2.3-192.0.2.12', '2001:db8::2-2001:db8::6'], { avoidBuggyIPs: true }), pool('s', ['198.51.100.0/30'], { autoAssign: false })),
  config(pool('a', ['192.0.2.0/29', '198.51.100.0/31']), pool('b', ['192.0.2.8/29']), pool('c', ['2001:db8::/125'])),
  // CIDR lists that extend earlier ones at the end (the allocator keeps those spaces as they are)
  config(pool('p', ['192.0.2.0/28', '2001:db8::/125', '198.51.100.0/30'])),
  config(pool('a', ['192.0.2.0/29', '198.51.100.0/31', '198.51.100.2/31'], { autoAssign: false }), pool('c', ['2001:db8::/125', '192.0.2.8/29'])),
  // two earlier pools merged into one (one space kept and extended, the other's addresses moved in)
  config(pool('m', ['192.0.2.0/29', '192.0.2.8/29', '2001:db8::/125'])),
];

const V4 = ['192.0.2.0', '192.0.2.1', '192.0.2.3', '192.0.2.7', '192.0.2.8', '192.0.2.12', '192.0.2.15', '198.51.100.1', '203.0.113.1'];
const V6 = ['2001:db8::', '2001:db8::1', '2001:db8::3', '2001:db8::7', '2001:db8::9'];
const KEYS = ['ns/s0', 'ns/s1', 'ns/s2', 'ns/s3', 'ns/s4', 'ns/s5'];

const serviceArb: fc.Arbitrary<ServiceOptions> = fc.record(
  {
    family: fc.constantFrom('ipv4' as const, 'ipv4' as const, 'ipv6' as const, 'dual' as const),
    ports: fc.subarray(['TCP/80', 'UDP/80', 'TCP/443']),
    share: fc.constantFrom(undefined, 'a', 'a', 'b'),
    local: fc.constantFrom(undefined, undefined, { app: 'x' }, { app: 'y' }),
    pool: fc.constantFrom(undefined, undefined, undefined, 'p', 'a', 'b', 'x', 'z', 'nope'),
    lbIPs: fc.option(fc.oneof(fc.constantFrom(...V4, ...V6), fc.tuple(fc.constantFrom(...V4), fc.constantFrom(...V6)).map(([a, b]) => `${a},${b}`)), { freq: 6 }),
  },
  { requiredKeys: ['family', 'ports'] },
).map((o) => ({ ...o, lbIPs: o.lbIPs ?? undefined }));

type Command =
  | { op: 'alloc'; key: string; svc: ServiceOptions }
  | { op: 'assign'; key: string; svc: ServiceOptions; ips: string[] }
  | { op: 'release'; key: string }
  | { op: 'config'; index: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('alloc' as const), key: fc.constantFrom(...KEYS), svc: serviceArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('assign' as const),
      key: fc.constantFrom(...KEYS),
      svc: serviceArb,
      ips: fc.oneof(fc.tuple(fc.constantFrom(...V4, ...V6)).map((t) => [...t]), fc.tuple(fc.constantFrom(...V4), fc.constantFrom(...V6)).map((t) => [...t])),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), key: fc.constantFrom(...KEYS) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('config' as const), index: fc.nat(CONFIGS.length - 1) }) },
);

const historyArb = fc.tuple(fc.nat(CONFIGS.length - 1), fc.array(commandArb, { minLength: 1, maxLength: 60 }));
const longHistoryArb = fc.tuple(fc.nat(CONFIGS.length - 1), fc.array(commandArb, { minLength: 100, maxLength: 250 }));

function normalize(r: AllocationResult | ConfigVerdict | boolean): unknown {
  if (typeof r === 'boolean') return r;
  if ('failure' in r) return { ok: false, kind: r.failure.kind, message: r.failure.message };
  if ('ips' in r) return { ok: true, ips: r.ips.map(String), pool: r.pool, changed: r.changed };
  if (r.ok) return { ok: true, removed: r.removedPools };
  return { ok: false, message: r.message, conflicts: r.conflicts.map((c) => [c.service, c.ips.map(String)]) };
}

function apply(a: AllocatorLike, c: Command): AllocationResult | ConfigVerdict | boolean {
  switch (c.op) {
    case 'alloc':
      return a.allocate(c.key, request(c.svc));
    case 'assign':
      return a.assign(c.key, request(c.svc), ips(...c.ips));
    case 'release':
      return a.release(c.key);
    case 'config':
      return a.setConfig(CONFIGS[c.index]);
  }
}

/** The invariants of docs/behaviour/allocation.md#sharing and docs/behaviour/allocation.md#choosing on the allocator's current state. */
function checkInvariants(a: Allocator, adopted: Config, requests: Map<string, ServiceOptions>): void {
  const users = new Map<string, string[]>();
  const byPool = new Map<string, { addresses: Set<string>; services: number }>();
  for (const key of a.keys()) {
    const held = a.ipsOf(key) as readonly IPAddress[];
    const poolName = a.poolOf(key) as string;
    const p = adopted.pools.find((x) => x.name === poolName);
    assert.ok(p, `${key} is attributed to ${poolName}, which is not in the config`);
    const stats = byPool.get(poolName) ?? { addresses: new Set<string>(), services: 0 };
    byPool.set(poolName, stats);
    stats.services++;
    for (const ip of held) {
      assert.ok(p.cidrs.some((c) => c.contains(ip)), `${key}: ${ip} outside its pool ${poolName}`);
      assert.ok(!(p.avoidBuggyIPs && isBuggyIP(ip)), `${key}: ${ip} is forbidden by avoid-buggy-ips`);
      users.set(ip.key, [...(users.get(ip.key) ?? []), key]);
      stats.addresses.add(ip.key);
    }
  }
  for (const [ip, keys] of users) {
    if (keys.length < 2) continue;
    const reqs = keys.map((k) => request(requests.get(k) as ServiceOptions));
    const seenPorts = new Set<string>();
    for (const r of reqs) {
      assert.notEqual(r.sharingKey, '', `${ip} shared by ${keys} although one does not allow sharing`);
      assert.equal(r.sharingKey, reqs[0].sharingKey, `${ip} shared by ${keys} with different sharing keys`);
      assert.equal(r.backendKey, reqs[0].backendKey, `${ip} shared by ${keys} with different backend keys`);
      for (const p of r.ports) {
        const t = `${p.protocol}/${p.port}`;
        assert.ok(!seenPorts.has(t), `${ip}: port ${t} held twice among ${keys}`);
        seenPorts.add(t);
      }
    }
  }
  for (const u of a.usage()) {
    const s = byPool.get(u.pool);
    assert.equal(u.addressesInUse, s?.addresses.size ?? 0, `addresses in use of ${u.pool}`);
    assert.equal(u.services, s?.services ?? 0, `services of ${u.pool}`);
  }
}

function differential([first, commands]: [number, Command[]]): void {
  const fast = new Allocator();
  const ref = new LinearScanAllocator();
  assert.ok(fast.setConfig(CONFIGS[first]).ok);
  assert.ok(ref.setConfig(CONFIGS[first]).ok);
  let adopted = CONFIGS[first];
  const requests = new Map<string, ServiceOptions>();
  commands.forEach((c, i) => {
    const got = apply(fast, c);
    const want = apply(ref, c);
    assert.deepEqual(normalize(got), normalize(want), `command ${i + 1} ${JSON.stringify(c)}`);
    if (c.op === 'config' && typeof got === 'object' && got.ok) adopted = CONFIGS[c.index];
    if ((c.op === 'alloc' || c.op === 'assign') && typeof got === 'object' && got.ok) requests.set(c.key, c.svc);
    if (c.op === 'release') requests.delete(c.key);
    for (const k of KEYS) {
      assert.deepEqual(fast.ipsOf(k)?.map(String), ref.ipsOf(k)?.map(String), `ipsOf(${k}) after command ${i + 1}`);
      assert.equal(fast.poolOf(k), ref.poolOf(k), `poolOf(${k}) after command ${i + 1}`);
    }
    checkInvariants(fast, adopted, requests);
  });
}

test('Allocator agrees with the linear-scan reference and keeps the sharing invariants', () => {
  fc.assert(fc.property(historyArb, differential), { numRuns: 400 });
});

test('... also over long histories', () => {
  fc.assert(fc.property(longHistoryArb, differential), { numRuns: 60 });
});

test('a released address is assignable again', () => {
  fc.assert(
    fc.property(historyArb, fc.constantFrom(...KEYS), ([first, commands], victim) => {
      const a = new Allocator();
      a.setConfig(CONFIGS[first]);
      for (const c of commands) apply(a, c);
      const held = a.ipsOf(victim);
      fc.pre(held !== undefined);
      a.release(victim);
      const stillUsed = new Set<string>();
      for (const k of a.keys()) for (const ip of a.ipsOf(k) ?? []) stillUsed.add(ip.key);
      for (const ip of held) {
        if (stillUsed.has(ip.key)) continue;
        const r = a.assign('ns/fresh', request({ family: ip.family === 4 ? 'ipv4' : 'ipv6', ports: ['TCP/80'] }), [ip]);
        assert.ok(r.ok, `${ip} freed by ${victim} but not assignable: ${r.ok ? '' : r.failure.message}`);
        a.release('ns/fresh');
      }
    }),
    { numRuns: 300 },
  );
});

test('a released address is what the next allocation gets when it is the lowest free one', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.nat(39), { minLength: 1, maxLength: 10 }), (n, victims) => {
      const a = new Allocator();
      a.setConfig(config(pool('p', ['192.0.2.0/26'])));
      for (let i = 0; i < n; i++) assert.ok(a.allocate(`ns/s${i}`, request()).ok);
      const freed = new Set<number>();
      for (const v of victims) if (v < n && a.release(`ns/s${v}`)) freed.add(v);
      for (const v of [...freed].sort((x, y) => x - y)) {
        const r = a.allocate(`ns/again${v}`, request());
        assert.ok(r.ok);
        assert.equal(String(r.ips[0]), `192.0.2.${v}`);
      }
      const next = a.allocate('ns/next', request());
      assert.ok(next.ok);
      assert.equal(String(next.ips[0]), `192.0.2.${n}`);
    }),
  );
});

test('the same history gives the same answers', () => {
  fc.assert(
    fc.property(historyArb, ([first, commands]) => {
      const run = (): unknown[] => {
        const a = new Allocator();
        const out: unknown[] = [normalize(a.setConfig(CONFIGS[first]))];
        for (const c of commands) out.push(normalize(apply(a, c)));
        for (const k of KEYS) out.push(a.ipsOf(k)?.map(String), a.poolOf(k));
        out.push(a.usage().map((u) => ({ ...u, addressesTotal: String(u.addressesTotal) })));
        return out;
      };
      assert.deepEqual(run(), run());
    }),
    { numRuns: 200 },
  );
});
