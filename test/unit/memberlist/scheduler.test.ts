// The probe/gossip scheduler alone (lib/memberlist/scheduler.ts): which node is probed, direct
// and indirect probes, nacks, the TCP fallback, health scoring, ping/indirect-ping replies and
// gossip fan-out. A real member state machine holds the nodes; sends are captured, time is manual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { LAN_TIMERS, type MemberlistTimers } from '../../../lib/memberlist/config.js';
import { MemberStates } from '../../../lib/memberlist/members.js';
import { decodeCompound, decodeMessage, type PacketMessage } from '../../../lib/memberlist/packet.js';
import { ProbeScheduler } from '../../../lib/memberlist/scheduler.js';
import type { StreamMessage } from '../../../lib/memberlist/stream.js';
import { silentLogger } from '../../../lib/util/log.js';
import { ManualClock, settle } from './manual-clock.js';

const ip = (last: number): Buffer => Buffer.from([192, 0, 2, last]);
const FROM: RemoteInfo = { address: '192.0.2.50', port: 4000, family: 'IPv4', size: 0 };

interface Sent { m?: PacketMessage; raw?: Buffer; host: string; port: number }

function rig(opts: { timers?: Partial<MemberlistTimers>; ackAll?: boolean; tcp?: (m: StreamMessage) => Promise<StreamMessage> } = {}) {
  const timers = { ...LAN_TIMERS, ...opts.timers };
  const clock = new ManualClock();
  const sent: Sent[] = [];
  const pushPulls: string[] = [];
  const queue: Buffer[] = [];
  let sched!: ProbeScheduler;
  const members = new MemberStates({
    name: 'self', timers, clock, log: silentLogger(),
    broadcast: () => undefined, notify: () => undefined,
    refuted: () => sched.applyHealth(1), added: (n) => sched.added(n),
  });
  sched = new ProbeScheduler({
    timers, clock, log: silentLogger(), members,
    send: (m, host, port) => {
      sent.push({ m, host, port });
      if (opts.ackAll && m.type === 'ping') queueMicrotask(() => sched.onAck(m.body.seqNo));
    },
    sendRaw: (raw, host, port) => sent.push({ raw, host, port }),
    takeBroadcasts: () => queue.splice(0, 1),
    request: opts.tcp ? (_h, _p, m) => opts.tcp!(m) : () => Promise.reject(new Error('no TCP here')),
    pushPull: async (host, port) => { pushPulls.push(`${host}:${port}`); },
    advertisePort: () => 7946,
    random: () => 0,
  });
  const vsn = Buffer.from([1, 5, 2, 0, 0, 0]);
  members.bootstrap({ addr: ip(1), port: 7946, vsn });
  const addNode = (name: string, last: number): void =>
    members.alive({ incarnation: 1, node: name, addr: ip(last), port: 7946, meta: null, vsn }, false);
  return { sched, members, clock, sent, pushPulls, queue, addNode, timers };
}

const pings = (sent: Sent[]) => sent.filter((s) => s.m?.type === 'ping');

test('probing: one alive node per probe interval gets a ping; acks in time keep it alive and health at 0', async () => {
  const { sched, members, clock, sent, addNode } = rig({ ackAll: true });
  addNode('b', 10);
  sched.applyHealth(2);
  sched.start();
  await clock.advance(1000);
  const p = pings(sent);
  assert.equal(p.length, 1);
  assert.equal(p[0]!.host, '192.0.2.10');
  assert.equal(p[0]!.m?.type === 'ping' && p[0]!.m.body.node, 'b');
  await clock.advance(10_000);
  assert.equal(members.get('b')?.state, 'alive');
  assert.equal(sched.health(), 0);
  // at most one probe per interval; a round that reaches the end of the probe order reshuffles
  // it and may probe nobody (here every other one, with ourselves and b in the order)
  const n = pings(sent).length;
  assert.ok(n >= 5 && n <= 11, `probing goes on (${n} pings in 11 intervals)`);
  sched.stop();
});

test('probing: no ack -> indirect pings through other alive nodes (asking for nacks), then suspicion and worse health', async () => {
  const { sched, members, clock, sent, addNode } = rig();
  addNode('b', 10); addNode('c', 11); addNode('d', 12);
  sched.start();
  await clock.advance(1000);
  const target = pings(sent)[0]!;
  const targetName = target.m?.type === 'ping' ? target.m.body.node : '';
  await clock.advance(LAN_TIMERS.probeTimeoutMs);
  const indirect = sent.filter((s) => s.m?.type === 'indirectPing');
  assert.equal(indirect.length, 2, 'the two other alive nodes are asked');
  for (const s of indirect) {
    assert.ok(s.m?.type === 'indirectPing' && s.m.body.node === targetName && s.m.body.nack);
    assert.notEqual(s.host, target.host);
  }
  await clock.advance(LAN_TIMERS.probeIntervalMs);
  assert.equal(members.get(targetName)?.state, 'suspect');
  assert.equal(sched.health(), 2, 'two expected nacks that never came');
  sched.stop();
});

test('probing: an indirect ack (same sequence number) clears the probe', async () => {
  const { sched, members, clock, sent, addNode } = rig();
  addNode('b', 10); addNode('c', 11);
  sched.start();
  await clock.advance(1000);
  const p = pings(sent)[0]!;
  const seq = p.m?.type === 'ping' ? p.m.body.seqNo : -1;
  await clock.advance(LAN_TIMERS.probeTimeoutMs);
  sched.onAck(seq);
  await clock.advance(LAN_TIMERS.probeIntervalMs);
  assert.ok([...members.all()].every((n) => n.state === 'alive'));
  sched.stop();
});

test('probing: a TCP ack when UDP failed keeps the node alive (no suspicion)', async () => {
  const { sched, members, clock, addNode } = rig({
    tcp: async (m) => ({ type: 'ack', body: { seqNo: m.type === 'ping' ? m.body.seqNo : -1, payload: null } }),
  });
  addNode('b', 10);
  sched.start();
  await clock.advance(1000 + LAN_TIMERS.probeTimeoutMs + LAN_TIMERS.probeIntervalMs);
  assert.equal(members.get('b')?.state, 'alive');
  sched.stop();
});

test('probing: a suspect node is pinged together with the suspicion (one compound datagram)', async () => {
  const { sched, members, clock, sent, addNode } = rig();
  addNode('b', 10);
  members.suspect({ incarnation: 1, node: 'b', from: 'x' });
  sched.start();
  await clock.advance(1000);
  const raw = sent.find((s) => s.raw)!;
  const parts = decodeCompound(raw.raw!).parts.map((p) => decodeMessage(p.buf).type);
  assert.deepEqual(parts, ['ping', 'suspect']);
  sched.stop();
});

test('health: every failed probe scales the probe interval (score + 1), capped at awarenessMaxMultiplier', () => {
  const { sched, timers } = rig();
  for (let i = 0; i < 20; i++) sched.applyHealth(1);
  assert.equal(sched.health(), timers.awarenessMaxMultiplier - 1);
  for (let i = 0; i < 20; i++) sched.applyHealth(-1);
  assert.equal(sched.health(), 0);
});

test('ping: acked to the source address the ping names, else to the sender; pings for other nodes are ignored', () => {
  const { sched, sent } = rig();
  sched.onPing({ seqNo: 5, node: 'self' }, FROM);
  sched.onPing({ seqNo: 6, node: 'someone-else' }, FROM);
  sched.onPing({ seqNo: 7, node: '', sourceAddr: ip(77), sourcePort: 1234 }, FROM);
  assert.deepEqual(sent.map((s) => [s.m?.type, s.m?.type === 'ack' && s.m.body.seqNo, s.host, s.port]),
    [['ack', 5, '192.0.2.50', 4000], ['ack', 7, '192.0.2.77', 1234]]);
});

test('indirect ping: we probe the target and relay its ack, or send a nack after the probe timeout', async () => {
  const { sched, clock, sent } = rig();
  sched.onIndirectPing({ seqNo: 40, target: ip(20), port: 7946, node: 't', nack: true }, FROM);
  const ping = sent.at(-1)!;
  assert.equal(ping.host, '192.0.2.20');
  sched.onAck(ping.m?.type === 'ping' ? ping.m.body.seqNo : -1);
  const relayed = sent.at(-1)!.m;
  assert.deepEqual([relayed?.type, relayed?.type === 'ack' && relayed.body.seqNo], ['ack', 40]);
  sched.onIndirectPing({ seqNo: 41, target: ip(21), port: 0, node: 'u', nack: true }, FROM);
  assert.equal(sent.at(-1)!.port, 7946, 'port 0 means ours');
  await clock.advance(LAN_TIMERS.probeTimeoutMs);
  assert.deepEqual([sent.at(-1)!.m?.type, sent.at(-1)!.host], ['nack', '192.0.2.50']);
  sched.onIndirectPing({ seqNo: 42, target: Buffer.from([1, 2]), port: 1, node: 'v', nack: true }, FROM);
  assert.equal(sent.at(-1)!.m?.type, 'nack', 'a malformed target is ignored');
  await settle();
});

test('gossip: queued broadcasts go to at most gossipNodes live nodes per gossip interval, nothing when the queue is empty', async () => {
  const { sched, clock, sent, queue, addNode } = rig({ timers: { probeIntervalMs: 1_000_000 } });
  for (let i = 0; i < 6; i++) addNode(`n${i}`, 10 + i);
  sched.start();
  await clock.advance(LAN_TIMERS.gossipIntervalMs);
  assert.equal(sent.length, 0);
  for (let i = 0; i < 10; i++) queue.push(Buffer.from([4, 0x80]));
  await clock.advance(LAN_TIMERS.gossipIntervalMs);
  assert.equal(sent.length, LAN_TIMERS.gossipNodes);
  assert.equal(new Set(sent.map((s) => s.host)).size, LAN_TIMERS.gossipNodes, 'to distinct nodes');
  assert.equal(queue.length, 10 - LAN_TIMERS.gossipNodes);
  sched.stop();
});

test('push/pull: periodically with a random alive node', async () => {
  const { sched, clock, pushPulls, addNode } = rig({ timers: { probeIntervalMs: 1_000_000 } });
  addNode('b', 10);
  sched.start();
  await clock.advance(LAN_TIMERS.pushPullIntervalMs * 3);
  assert.ok(pushPulls.length >= 3);
  assert.ok(pushPulls.every((p) => p === '192.0.2.10:7946'));
  sched.stop();
});

test('stop: no more probes or gossip after stop()', async () => {
  const { sched, clock, sent, addNode } = rig();
  addNode('b', 10);
  sched.start();
  sched.stop();
  await clock.advance(10_000);
  assert.equal(sent.length, 0);
});
