// EventRecorder ordering, with a scripted client whose requests complete only when the test says
// so (the real API server test is test/integration/controller/k8s.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventRecorder } from '../../../lib/k8s/events.js';
import type { KubeClient } from '../../../lib/k8s/client.js';
import { silentLogger } from '../../../lib/util/log.js';

interface Call { method: string; path: string; body: { count?: number }; resolve: () => void; reject: (e: Error) => void }

function scriptedClient() {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const client = {
    request(method: string, path: string, opts: { body?: { count?: number } }) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<void>((resolve, reject) => {
        calls.push({ method, path, body: opts.body ?? {}, resolve: () => { inFlight--; resolve(); }, reject: (e) => { inFlight--; reject(e); } });
      });
    },
  } as unknown as KubeClient;
  return { client, calls, maxInFlight: () => maxInFlight };
}

const target = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name: 'cm', uid: 'u1' } };
const tick = () => new Promise((r) => setImmediate(r));

test('repeats during the create never overtake it, and the final count is the latest', async () => {
  const { client, calls, maxInFlight } = scriptedClient();
  const rec = new EventRecorder(client, { component: 'test' }, silentLogger());
  rec.event(target, 'ConfigMap', 'Warning', 'R', 'm');
  rec.event(target, 'ConfigMap', 'Warning', 'R', 'm');
  rec.event(target, 'ConfigMap', 'Warning', 'R', 'm');
  await tick();
  assert.equal(calls.length, 1, 'only the create is in flight');
  assert.equal(calls[0].method, 'POST');
  calls[0].resolve();
  await tick();
  assert.equal(calls.length, 2);
  assert.equal(calls[1].method, 'PATCH');
  assert.equal(calls[1].body.count, 3, 'one patch carries the latest count');
  rec.event(target, 'ConfigMap', 'Warning', 'R', 'm'); // arrives while that patch runs
  rec.event(target, 'ConfigMap', 'Warning', 'R', 'm');
  await tick();
  assert.equal(calls.length, 2, 'no second write in flight for the same Event');
  calls[1].resolve();
  await tick();
  assert.equal(calls[2].method, 'PATCH');
  assert.equal(calls[2].body.count, 5);
  calls[2].resolve();
  await rec.flush();
  assert.equal(maxInFlight(), 1);
  assert.deepEqual(rec.stats, { created: 1, patched: 2, dropped: 0, failed: 0 });
  const counts = calls.map((c) => c.body.count ?? 0);
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'counts sent only grow');
});

test('a failed create is retried by the next occurrence, with the count so far', async () => {
  const { client, calls } = scriptedClient();
  const rec = new EventRecorder(client, { component: 'test' }, silentLogger());
  rec.event(target, 'ConfigMap', 'Normal', 'R', 'm');
  await tick();
  calls[0].reject(new Error('connection refused'));
  await rec.flush();
  assert.equal(rec.stats.failed, 1);
  rec.event(target, 'ConfigMap', 'Normal', 'R', 'm');
  await tick();
  assert.equal(calls[1].method, 'POST', 'still not created: create again');
  assert.equal(calls[1].body.count, 2);
  calls[1].resolve();
  await rec.flush();
  assert.equal(rec.stats.created, 1);
});

test('different events are written in parallel', async () => {
  const { client, calls, maxInFlight } = scriptedClient();
  const rec = new EventRecorder(client, { component: 'test' }, silentLogger());
  rec.event(target, 'ConfigMap', 'Normal', 'A', 'm');
  rec.event(target, 'ConfigMap', 'Normal', 'B', 'm');
  await tick();
  assert.equal(calls.length, 2);
  for (const c of calls) c.resolve();
  await rec.flush();
  assert.equal(maxInFlight(), 2);
});

test('while the caller is busy, events go one at a time; kick() restores the concurrency', async () => {
  const { client, calls } = scriptedClient();
  let busy = true;
  const rec = new EventRecorder(client, { component: 'test', concurrency: 4, busy: () => busy }, silentLogger());
  for (let i = 0; i < 6; i++) rec.event({ ...target, metadata: { ...target.metadata, name: `cm-${i}`, uid: `u${i}` } }, 'ConfigMap', 'Normal', 'R', 'm');
  await tick();
  assert.equal(calls.length, 1, 'one event write while busy');
  calls[0].resolve();
  await tick();
  assert.equal(calls.length, 2, 'the next one follows when it finishes');
  busy = false;
  rec.kick();
  await tick();
  assert.equal(calls.length, 5, 'kick: up to the concurrency (1 running + 3 more)');
  for (const c of calls.slice(1)) c.resolve();
  await tick();
  assert.equal(calls.length, 6);
  calls[5].resolve();
  await rec.flush();
  assert.equal(rec.stats.created, 6);
  assert.equal(new Set(calls.map((c) => c.path)).size, 1, 'all creates go to the namespace events path');
});
