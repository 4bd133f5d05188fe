// The API-server reconnect back-off (list/watch caches, docs/controller.md: 200 ms up to 30 s):
// the cap holds including the jitter, over many draws, and the jitter still spreads the delays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../lib/k8s/backoff.js';

test('no delay exceeds the 30 s cap, jitter included, over many draws', () => {
  let max = 0, atCap = 0;
  const capped = new Set<number>();
  for (let run = 0; run < 2000; run++) {
    const b = new Backoff(200, 30_000);
    for (let i = 0; i < 20; i++) {
      const d = b.next();
      assert.ok(Number.isInteger(d) && d >= 0, `delay ${d}`);
      assert.ok(d <= 30_000, `attempt ${i}: ${d} ms is over the 30 s cap`);
      if (i >= 10) { atCap++; capped.add(d); assert.ok(d >= 24_000, `attempt ${i}: ${d} ms is below the jittered cap`); }
      max = Math.max(max, d);
    }
  }
  assert.ok(atCap === 20_000 && capped.size > 100, `delays at the cap are spread (${capped.size} distinct)`);
  assert.ok(max > 29_000, `the cap is reached (${max})`);
});

test('the delay grows from the initial value with up to 20 % jitter, and is held under the cap', (t) => {
  const queue: number[] = [];
  t.mock.method(Math, 'random', () => queue.shift() ?? 0);
  const b = new Backoff(200, 30_000);
  queue.push(0, 0.5, 0.999999);
  assert.deepEqual([b.next(), b.next(), b.next()], [200, 440, 960]);
  for (let i = 3; i < 7; i++) b.next();
  // attempt 7: base 25 600; the highest jitter draw would give 30 720, over the cap: the delay is
  // drawn under the cap instead (here its top, then its bottom)
  queue.push(0.999999, 0);
  assert.equal(b.next(), 30_000);
  queue.push(0.999999, 0.999999);
  assert.equal(b.next(), 24_000);
  b.reset();
  assert.equal(b.failures, 0);
  queue.push(0);
  assert.equal(b.next(), 200);
});
