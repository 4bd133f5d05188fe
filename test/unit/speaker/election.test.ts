import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mustParseIP } from '../../../lib/ip/index.js';
import { electionDigest, electionKeyForIPs, electionOrder, electionWinner, legacyElectionKey } from '../../../lib/speaker/election.js';

// Reference vectors (docs/behaviour/layer2.md#owner), computed by upstream's rule.
const vectors: { name: string; key: string; nodes: string[]; order: string[]; prefixes?: Record<string, string> }[] = [
  { name: 'v0.11+ 10.20.30.1, iris1/iris2', key: '10.20.30.1', nodes: ['iris1', 'iris2'], order: ['iris2', 'iris1'], prefixes: { iris2: 'af6cb4e7', iris1: 'e42ad61a' } },
  { name: 'v0.11+ 172.18.0.200, three nodes', key: '172.18.0.200', nodes: ['node-a', 'node-b', 'node-c'], order: ['node-b', 'node-a', 'node-c'] },
  { name: 'v0.11+ 2001:db8::1, three nodes (winner only in spec)', key: '2001:db8::1', nodes: ['node-a', 'node-b', 'node-c'], order: ['node-b'] },
  { name: '≤v0.10 default/nginx', key: legacyElectionKey('default', 'nginx'), nodes: ['node-a', 'node-b', 'node-c'], order: ['node-b', 'node-c', 'node-a'] },
];

for (const v of vectors) {
  test(`election vector: ${v.name}`, () => {
    for (const perm of permutations(v.nodes)) {
      const order = electionOrder(perm, v.key);
      assert.deepEqual(order.slice(0, v.order.length), v.order);
      assert.equal(electionWinner(perm, v.key), v.order[0]);
    }
    for (const [node, prefix] of Object.entries(v.prefixes ?? {})) {
      assert.equal(electionDigest(node, v.key).subarray(0, 4).toString('hex'), prefix);
    }
  });
}

test('digest is SHA-256 of UTF-8 "<node>#<key>"', () => {
  const expected = createHash('sha256').update(Buffer.from('nöde-1#10.0.0.1', 'utf8')).digest();
  assert.deepEqual(electionDigest('nöde-1', '10.0.0.1'), expected);
});

test('election key is the canonical text of the first IP', () => {
  const cases: [string[], string][] = [
    [['10.20.30.1'], '10.20.30.1'],
    [['2001:DB8:0:0:0:0:0:1'], '2001:db8::1'],
    [['2001:db8::1', '10.0.0.1'], '2001:db8::1'],
    [['10.0.0.1', '2001:db8::1'], '10.0.0.1'],
  ];
  for (const [ips, key] of cases) assert.equal(electionKeyForIPs(ips.map(mustParseIP)), key);
  assert.throws(() => electionKeyForIPs([]), RangeError);
});

test('order compares digests as unsigned bytes (not as signed, not as text)', () => {
  // find two nodes whose digests differ in the first byte across the 0x80 boundary
  const key = '198.51.100.7';
  const nodes = Array.from({ length: 40 }, (_, i) => `n${i}`);
  const order = electionOrder(nodes, key);
  const digests = order.map((n) => electionDigest(n, key));
  for (let i = 1; i < digests.length; i++) assert.ok(Buffer.compare(digests[i - 1], digests[i]) < 0);
  assert.ok(digests[0][0] < 0x80 && digests[digests.length - 1][0] >= 0x80, 'sample spans both halves');
  assert.equal(electionWinner(nodes, key), order[0]);
});

test('duplicates count once; no candidates means no winner', () => {
  assert.deepEqual(electionOrder(['iris1', 'iris2', 'iris1'], '10.20.30.1'), ['iris2', 'iris1']);
  assert.equal(electionWinner(['iris1', 'iris1'], '10.20.30.1'), 'iris1');
  assert.equal(electionWinner([], '10.20.30.1'), undefined);
  assert.deepEqual(electionOrder([], '10.20.30.1'), []);
});

test('winner agrees with the head of the order for many keys and node sets', () => {
  for (let k = 0; k < 200; k++) {
    const key = `192.0.2.${k}`;
    const nodes = Array.from({ length: 1 + (k % 7) }, (_, i) => `node-${(i * 13 + k) % 11}`);
    assert.equal(electionWinner(nodes, key), electionOrder(nodes, key)[0]);
  }
});

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

test('ElectionWinnerCache follows joins and leaves exactly like a fresh election (property)', async () => {
  const fc = (await import('fast-check')).default;
  const { ElectionWinnerCache } = await import('../../../lib/speaker/election.js');
  const nodes = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
  const keys = ['10.0.0.1', '10.0.0.2', '2001:db8::1', '192.0.2.9'];
  fc.assert(
    fc.property(fc.array(fc.subarray(nodes), { minLength: 1, maxLength: 10 }), fc.array(fc.constantFrom(...keys), { maxLength: 6 }), (sets, touched) => {
      let current = new Set(sets[0]);
      const cache = new ElectionWinnerCache(current);
      for (const k of touched) cache.winner(k); // warm some keys
      for (const s of sets.slice(1)) {
        const next = new Set(s);
        const left = [...current].filter((n) => !next.has(n));
        const joined = [...next].filter((n) => !current.has(n));
        cache.update(next, left, joined);
        current = next;
        for (const k of keys) assert.equal(cache.winner(k), electionWinner(current, k));
        cache.forget(keys[0]);
      }
    }),
    { numRuns: 300 },
  );
});
