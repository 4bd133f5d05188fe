// Pure logic of lib/memberlist: timer profiles, the formulas of docs/behaviour/memberlist-wire.md#swim and the gossip
// broadcast queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FAST_TIMERS, LAN_TIMERS, pushPullScaleMs, remainingSuspicionMs, resolveTimers, retransmitLimit, suspicionTimeoutMs,
} from '../../../lib/memberlist/config.js';
import { BroadcastQueue } from '../../../lib/memberlist/broadcast.js';

test('timer profiles: lan is upstream DefaultLANConfig, overrides apply on top of lan, bad values are refused', () => {
  assert.deepEqual(resolveTimers(undefined), LAN_TIMERS);
  assert.equal(LAN_TIMERS.probeIntervalMs, 1000);
  assert.equal(LAN_TIMERS.probeTimeoutMs, 500);
  assert.equal(LAN_TIMERS.gossipIntervalMs, 200);
  assert.equal(LAN_TIMERS.pushPullIntervalMs, 30_000);
  assert.equal(LAN_TIMERS.tcpTimeoutMs, 10_000);
  assert.deepEqual(resolveTimers('fast'), FAST_TIMERS);
  assert.deepEqual(resolveTimers({ probeIntervalMs: 300 }), { ...LAN_TIMERS, probeIntervalMs: 300 });
  assert.throws(() => resolveTimers({ probeIntervalMs: -1 }), /probeIntervalMs/);
  assert.throws(() => resolveTimers({ gossipIntervalMs: 0 }), /positive/);
});

test('suspicion timeout: 4 s up to 10 nodes, scaled by log10(n) above, at upstream timers', () => {
  const table: [number, number][] = [[1, 4000], [2, 4000], [5, 4000], [10, 4000], [100, 8000], [1000, 12000]];
  for (const [n, ms] of table) assert.equal(suspicionTimeoutMs(4, n, 1000), ms, `n=${n}`);
  assert.equal(suspicionTimeoutMs(4, 50, 1000), 6792, "Go truncates nodeScale × 1000 to whole units first");
});

test('remaining suspicion time shrinks with confirmations from max to min', () => {
  const min = 4000, max = 24000;
  assert.equal(remainingSuspicionMs(0, 2, 0, min, max), 24000);
  assert.equal(remainingSuspicionMs(1, 2, 0, min, max), Math.floor(24000 - (Math.log(2) / Math.log(3)) * 20000));
  assert.equal(remainingSuspicionMs(2, 2, 0, min, max), 4000);
  assert.equal(remainingSuspicionMs(2, 2, 1500, min, max), 2500);
  assert.equal(remainingSuspicionMs(5, 2, 0, min, max), 4000, 'never below min');
});

test('retransmit limit and push/pull scaling', () => {
  assert.equal(retransmitLimit(4, 1), 4);
  assert.equal(retransmitLimit(4, 9), 4);
  assert.equal(retransmitLimit(4, 10), 8);
  assert.equal(retransmitLimit(4, 99), 8);
  assert.equal(retransmitLimit(4, 100), 12);
  assert.equal(pushPullScaleMs(30_000, 32), 30_000);
  assert.equal(pushPullScaleMs(30_000, 33), 60_000);
  assert.equal(pushPullScaleMs(30_000, 64), 60_000);
  assert.equal(pushPullScaleMs(30_000, 65), 90_000);
});

test('broadcast queue: one per node, fewest transmissions first, limited retransmits, byte budget', () => {
  let n = 5;
  const q = new BroadcastQueue(4, () => n);
  const finished: string[] = [];
  q.enqueue('a', Buffer.alloc(10, 1), () => finished.push('a1'));
  q.enqueue('b', Buffer.alloc(20, 2));
  q.enqueue('a', Buffer.alloc(12, 3), () => finished.push('a2')); // replaces a1
  assert.deepEqual(finished, ['a1']);
  assert.equal(q.length, 2);
  // larger first among equals; budget counts 2 bytes overhead each
  assert.deepEqual(q.take(2, 22).map((b) => b[0]), [2]);
  assert.deepEqual(q.take(2, 100).map((b) => b[0]), [3, 2]);
  // limit 4 × ceil(log10(6)) = 4 sends each
  for (let i = 0; i < 3; i++) q.take(2, 100);
  assert.equal(q.length, 0);
  assert.deepEqual(finished, ['a1', 'a2']);
  n = 20; // limit 8
  q.enqueue('c', Buffer.alloc(5));
  let sends = 0;
  while (q.take(2, 100).length > 0) sends++;
  assert.equal(sends, 8);
});
