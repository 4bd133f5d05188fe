// The member state machine alone (lib/memberlist/members.ts): alive/suspect/dead claims,
// suspicion timeouts and confirmations, refutation of claims about ourselves, leave, push/pull
// merges and reaping, driven by a manual clock with broadcasts and events captured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LAN_TIMERS } from '../../../lib/memberlist/config.js';
import { MemberStates, type MemberEvent, type MemberInfo } from '../../../lib/memberlist/members.js';
import { NodeStateCode, type PushNodeState } from '../../../lib/memberlist/messages.js';
import type { PacketMessage } from '../../../lib/memberlist/packet.js';
import { silentLogger } from '../../../lib/util/log.js';
import { ManualClock } from './manual-clock.js';

const VSN = Buffer.from([1, 5, 2, 0, 0, 0]);
const ip = (last: number): Buffer => Buffer.from([192, 0, 2, last]);

function table(): {
  m: MemberStates; clock: ManualClock; sent: { node: string; m: PacketMessage; done?: () => void }[];
  events: [MemberEvent, MemberInfo][]; refuted: () => number; added: string[];
} {
  const clock = new ManualClock();
  const sent: { node: string; m: PacketMessage; done?: () => void }[] = [];
  const events: [MemberEvent, MemberInfo][] = [];
  const added: string[] = [];
  let refutations = 0;
  const m = new MemberStates({
    name: 'self', timers: LAN_TIMERS, clock, log: silentLogger(),
    broadcast: (node, msg, done) => sent.push({ node, m: msg, done }),
    notify: (kind, info) => events.push([kind, info]),
    refuted: () => { refutations++; },
    added: (name) => added.push(name),
  });
  m.bootstrap({ addr: ip(1), port: 7946, vsn: VSN });
  return { m, clock, sent, events, refuted: () => refutations, added };
}

const alive = (node: string, incarnation: number, last = 10, meta: Buffer | null = null) =>
  ({ incarnation, node, addr: ip(last), port: 7946, meta, vsn: VSN });

test('bootstrap adds ourselves alive at incarnation 1 and reports the join', () => {
  const { m, events, added } = table();
  assert.equal(m.get('self')?.state, 'alive');
  assert.equal(m.get('self')?.incarnation, 1);
  assert.deepEqual(events.map(([k, i]) => [k, i.name, i.addr]), [['join', 'self', '192.0.2.1']]);
  assert.deepEqual(added, ['self']);
});

test('alive: a new node joins and is gossiped; older or equal incarnations change nothing; new meta is an update', () => {
  const { m, sent, events } = table();
  m.alive(alive('b', 3), false);
  assert.equal(m.get('b')?.state, 'alive');
  assert.deepEqual(events.at(-1)?.[0], 'join');
  assert.equal(sent.at(-1)?.m.type, 'alive');
  const before = sent.length;
  m.alive(alive('b', 3), false);
  m.alive(alive('b', 2), false);
  assert.equal(sent.length, before, 'stale alive messages are not re-gossiped');
  m.alive(alive('b', 4, 10, Buffer.from('x')), false);
  assert.equal(events.at(-1)?.[0], 'update');
  assert.equal(m.get('b')?.incarnation, 4);
});

test('alive: malformed versions, addresses and conflicting addresses are ignored', () => {
  const { m } = table();
  m.alive({ ...alive('b', 1), vsn: Buffer.from([1, 5]) }, false);
  m.alive({ ...alive('c', 1), vsn: Buffer.from([3, 2, 2, 0, 0, 0]) }, false);
  m.alive({ ...alive('d', 1), addr: Buffer.from([1, 2, 3]) }, false);
  assert.equal(m.size, 1);
  m.alive(alive('e', 1, 10), false);
  m.alive(alive('e', 2, 11), false);
  assert.equal(m.get('e')?.addr.toString('hex'), ip(10).toString('hex'), 'a live node keeps its address');
});

test('suspect: a node turns suspect and then dead when the suspicion timeout runs out', async () => {
  const { m, clock, events } = table();
  m.alive(alive('b', 1), false);
  m.suspect({ incarnation: 1, node: 'b', from: 'c' });
  assert.equal(m.get('b')?.state, 'suspect');
  // two nodes: k = 0, so the timeout is the minimum, 4 × probe interval
  await clock.advance(3999);
  assert.equal(m.get('b')?.state, 'suspect');
  await clock.advance(1);
  assert.equal(m.get('b')?.state, 'dead');
  assert.deepEqual(events.at(-1)?.[0], 'leave');
  assert.equal(events.at(-1)?.[1].state, 'dead');
});

test('suspect: an alive claim with a higher incarnation cancels the suspicion', async () => {
  const { m, clock } = table();
  m.alive(alive('b', 1), false);
  m.suspect({ incarnation: 1, node: 'b', from: 'c' });
  m.alive(alive('b', 2), false);
  assert.equal(m.get('b')?.state, 'alive');
  await clock.advance(60_000);
  assert.equal(m.get('b')?.state, 'alive');
  assert.equal(clock.armed, 0);
});

test('suspect: independent confirmations shorten the timeout from max towards min', async () => {
  const { m, clock, sent } = table();
  for (const n of ['b', 'c', 'd', 'e', 'f']) m.alive(alive(n, 1, n.charCodeAt(0)), false);
  // 6 nodes, suspicionMult 4: k = 2 confirmations expected, min 4 s, max 24 s
  m.suspect({ incarnation: 1, node: 'b', from: 'c' });
  await clock.advance(10_000);
  assert.equal(m.get('b')?.state, 'suspect', 'unconfirmed: waits up to the max');
  const before = sent.length;
  m.suspect({ incarnation: 1, node: 'b', from: 'c' });
  assert.equal(sent.length, before, 'the same accuser does not count twice');
  m.suspect({ incarnation: 1, node: 'b', from: 'd' });
  m.suspect({ incarnation: 1, node: 'b', from: 'e' });
  assert.equal(sent.length, before + 2, 'each new confirmation is re-gossiped');
  await clock.advance(1);
  assert.equal(m.get('b')?.state, 'dead', 'k confirmations: the min (already passed) applies');
});

test('refute: suspect, dead and stale alive claims about ourselves raise our incarnation above the claim', () => {
  const { m, sent, refuted } = table();
  m.suspect({ incarnation: 1, node: 'self', from: 'b' });
  assert.equal(m.get('self')?.state, 'alive');
  assert.equal(m.get('self')?.incarnation, 2);
  assert.equal(refuted(), 1);
  const last = sent.at(-1)!;
  assert.equal(last.m.type, 'alive');
  assert.equal(last.m.type === 'alive' && last.m.body.incarnation, 2);
  m.dead({ incarnation: 7, node: 'self', from: 'b' });
  assert.equal(m.get('self')?.incarnation, 8);
  m.alive({ ...alive('self', 8, 1), port: 7946, meta: Buffer.from('other') }, false);
  assert.equal(m.get('self')?.incarnation, 9, 'an alive claim about us with other metadata is refuted');
  assert.equal(m.get('self')?.state, 'alive');
  assert.equal(refuted(), 3);
});

test('dead: From = the node itself records it as left, otherwise dead; later claims change nothing', () => {
  const { m, events } = table();
  m.alive(alive('b', 1), false);
  m.alive(alive('c', 1, 11), false);
  m.dead({ incarnation: 1, node: 'b', from: 'b' });
  m.dead({ incarnation: 1, node: 'c', from: 'self' });
  assert.equal(m.get('b')?.state, 'left');
  assert.equal(m.get('c')?.state, 'dead');
  const n = events.length;
  m.dead({ incarnation: 2, node: 'c', from: 'x' });
  assert.equal(events.length, n);
});

test('leave: we broadcast our own death and never refute it; `sent` runs when the broadcast is done', () => {
  const { m, sent } = table();
  let done = false;
  m.leave(() => { done = true; });
  assert.equal(m.get('self')?.state, 'left');
  assert.ok(m.isLeaving());
  const last = sent.at(-1)!;
  assert.equal(last.m.type, 'dead');
  last.done?.();
  assert.ok(done);
  m.suspect({ incarnation: 1, node: 'self', from: 'b' });
  m.alive(alive('self', 5, 1), false);
  assert.equal(m.get('self')?.state, 'left');
});

test('mergeRemote: alive/left/dead entries apply as claims; incompatible protocol versions are refused whole', () => {
  const { m } = table();
  const entry = (name: string, state: number, vsn = VSN): PushNodeState =>
    ({ name, addr: ip(name.charCodeAt(0)), port: 7946, meta: null, incarnation: 1, state, vsn });
  m.mergeRemote([entry('b', NodeStateCode.alive), entry('c', NodeStateCode.alive), entry('d', NodeStateCode.alive)]);
  m.mergeRemote([entry('c', NodeStateCode.left), entry('d', NodeStateCode.dead)]);
  assert.equal(m.get('b')?.state, 'alive');
  assert.equal(m.get('c')?.state, 'left');
  assert.equal(m.get('d')?.state, 'suspect', 'a peer saying dead is a suspicion here');
  assert.throws(() => m.mergeRemote([entry('x', NodeStateCode.alive, Buffer.from([1, 5, 9, 0, 0, 0]))]), /protocol version 9/);
  assert.equal(m.get('x'), undefined);
  assert.deepEqual(m.localState().map((s) => [s.name, s.state]),
    [['self', NodeStateCode.alive], ['b', NodeStateCode.alive], ['c', NodeStateCode.left], ['d', NodeStateCode.suspect]]);
});

test('reap: dead and left nodes are forgotten after gossipToTheDeadTime, live ones and ourselves never', async () => {
  const { m, clock } = table();
  m.alive(alive('b', 1), false);
  m.alive(alive('c', 1, 11), false);
  m.dead({ incarnation: 1, node: 'b', from: 'b' });
  await clock.advance(LAN_TIMERS.gossipToTheDeadTimeMs);
  m.reap();
  assert.ok(m.get('b'), 'not older than the limit yet');
  await clock.advance(1);
  m.reap();
  assert.deepEqual(m.names().sort(), ['c', 'self']);
});
