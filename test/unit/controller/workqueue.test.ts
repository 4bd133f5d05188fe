// The de-duplicating work queue with per-key backoff (docs/behaviour/controller.md#watches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from '../../../lib/k8s/workqueue.js';

test('workqueue: a key added twice while waiting is handed out once, in first-add order', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  q.done('a');
  assert.equal(await q.get(), 'b');
  q.done('b');
  assert.equal(q.length, 0);
});

test('workqueue: a key added while being processed is handed out again after done(), never concurrently', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a');
  assert.equal(q.length, 0, 'not queued while processing');
  q.done('a');
  assert.equal(q.length, 1);
  assert.equal(await q.get(), 'a');
  q.done('a');
});

test('workqueue: get() waits for an add', async () => {
  const q = new WorkQueue<string>();
  const pending = q.get();
  setImmediate(() => q.add('late'));
  assert.equal(await pending, 'late');
});

test('workqueue: per-key backoff doubles from the base and forget() resets it', () => {
  const q = new WorkQueue<string>({ baseDelayMs: 5, maxDelayMs: 40, retryBurst: 1000 });
  const delays = [q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')];
  assert.deepEqual(delays, [5, 10, 20, 40, 40]);
  assert.equal(q.retries('k'), 5);
  q.forget('k');
  assert.equal(q.retries('k'), 0);
  assert.equal(q.addRateLimited('k'), 5);
  assert.equal(q.addRateLimited('other'), 5, 'backoff is per key');
  q.shutDown();
});

test('workqueue: the overall retry limiter paces retries beyond the burst', () => {
  const q = new WorkQueue<string>({ baseDelayMs: 1, retryRatePerSecond: 10, retryBurst: 2 });
  assert.equal(q.addRateLimited('a'), 1);
  assert.equal(q.addRateLimited('b'), 1);
  const third = q.addRateLimited('c');
  assert.ok(third >= 90 && third <= 100, `third retry waits for a token (${third} ms)`);
  q.shutDown();
});

test('workqueue: a delayed add arrives, an earlier add wins over a later one', async () => {
  const q = new WorkQueue<string>();
  q.addAfter('x', 30);
  q.addAfter('x', 10_000); // later: ignored, the 30 ms one stays
  assert.equal(q.delayedCount, 1);
  assert.equal(await q.get(), 'x');
  q.done('x');
  assert.equal(q.delayedCount, 0);
  q.shutDown();
});

test('workqueue: shutDown() wakes a waiting get() with undefined and drops delayed adds', async () => {
  const q = new WorkQueue<string>();
  q.addAfter('never', 60_000);
  const pending = q.get();
  q.shutDown();
  assert.equal(await pending, undefined);
  assert.equal(q.delayedCount, 0);
  q.add('after');
  assert.equal(q.length, 0);
});
