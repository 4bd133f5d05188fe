// Interop with the real hashicorp/memberlist v0.1.7 (the Go peer built by
// scripts/setup.d/30-memberlist.sh), on loopback addresses 127.0.0.x with random ports, encryption
// on with a MetalLB-style secret. Our member runs in this process (events, counters) or as a
// separate process (test/interop/memberlist/ts-peer.ts) where it has to be killed with SIGKILL.
// Waits are bounded by generous limits; nothing asserts on how fast anything happened.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Memberlist, type MemberInfo } from '../../../lib/memberlist/index.js';
import { deriveSecretKey } from '../../../lib/memberlist/security.js';
import { encodeMessage, encodePacket } from '../../../lib/memberlist/packet.js';
import { encodeStream } from '../../../lib/memberlist/stream.js';
import { eventually, freePort, goPeerBinary, PeerProcess, type PeerSpec } from './harness.js';

const SECRET = 'AAECAwQFBgcICQoLDA0ODw'; // 22 characters, as v0.10+ controllers create it
const OTHER_SECRET = 'ZZZZCwQFBgcICQoLDA0ODw';
const LIMIT = 20_000;

goPeerBinary(); // fails the file with a clear message when setup has not run

async function goPeer(t: TestContext, spec: Omit<PeerSpec, 'kind'>): Promise<PeerProcess> {
  const p = new PeerProcess({ kind: 'go', profile: 'fast', ...spec });
  t.after(() => p.stop());
  await p.waitFor((e) => e.event === 'ready', LIMIT, 'ready');
  return p;
}

async function tsPeer(t: TestContext, spec: Omit<PeerSpec, 'kind'>): Promise<PeerProcess> {
  const p = new PeerProcess({ kind: 'ts', profile: 'fast', ...spec });
  t.after(() => p.stop());
  await p.waitFor((e) => e.event === 'ready', LIMIT, 'ready');
  return p;
}

async function tsMember(t: TestContext, name: string, bindAddr: string, secret: string | null): Promise<Memberlist> {
  const ml = new Memberlist({ name, bindAddr, bindPort: 0, secretKey: secret ? Buffer.from(secret) : null, timers: 'fast' });
  t.after(() => ml.shutdown());
  await ml.start();
  return ml;
}

function nextEvent(ml: Memberlist, kind: 'join' | 'leave' | 'update', nodeName: string, timeoutMs = LIMIT): Promise<MemberInfo> {
  return new Promise<MemberInfo>((resolve, reject) => {
    const timer = setTimeout(() => { ml.off(kind, on); reject(new Error(`no ${kind} event for ${nodeName} within ${timeoutMs} ms`)); }, timeoutMs);
    const on = (m: MemberInfo): void => {
      if (m.name !== nodeName) return;
      clearTimeout(timer);
      ml.off(kind, on);
      resolve(m);
    };
    ml.on(kind, on);
  });
}

const names = (ml: Memberlist): string[] => ml.members().map((m) => m.name).sort();

test('our member joins a Go member (encrypted): each sees the other alive', async (t) => {
  const go = await goPeer(t, { name: 'go-a', bind: '127.0.0.1', port: await freePort(), secret: SECRET });
  const ts = await tsMember(t, 'ts-b', '127.0.0.2', SECRET);
  const joined = nextEvent(ts, 'join', 'go-a');
  assert.equal(await ts.join([`127.0.0.1:${go.spec.port}`]), 1);
  const seen = await joined;
  assert.equal(seen.addr, '127.0.0.1');
  assert.equal(seen.port, go.spec.port);
  const goSaw = await go.waitFor((e) => e.event === 'join' && e.node?.name === 'ts-b', LIMIT, 'join of ts-b');
  assert.deepEqual(goSaw.node, { name: 'ts-b', addr: '127.0.0.2', port: ts.boundPort() });
  assert.deepEqual(names(ts), ['go-a', 'ts-b']);
  assert.deepEqual(await go.members(), ['go-a', 'ts-b']);
  // the membership stays stable over many probe rounds (pings, acks and gossip both ways)
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(names(ts), ['go-a', 'ts-b']);
  assert.ok(ts.members().every((m) => m.state === 'alive'));
  assert.deepEqual(await go.members(), ['go-a', 'ts-b']);
  assert.ok(!go.events.some((e) => e.event === 'leave'), 'the Go member never saw a leave');
  assert.equal(ts.counters.udpDropped, 0);
  assert.ok(ts.counters.udpReceived > 5);
});

test('a Go member joins ours (encrypted), and gossip spreads a third member to both', async (t) => {
  const ts = await tsMember(t, 'ts-a', '127.0.0.1', SECRET);
  const joined = nextEvent(ts, 'join', 'go-b');
  const go = await goPeer(t, { name: 'go-b', bind: '127.0.0.3', port: await freePort('127.0.0.3'), secret: SECRET, join: [`127.0.0.1:${ts.boundPort()}`] });
  const j = await go.waitFor((e) => e.event === 'joined', LIMIT, 'joined');
  assert.equal(j.count, 1, `Go join failed: ${j.error ?? ''}`);
  await joined;
  await go.waitFor((e) => e.event === 'join' && e.node?.name === 'ts-a', LIMIT, 'join of ts-a');
  // a third (Go) member joins through the Go member only; ours learns of it by gossip/push-pull
  const joined3 = nextEvent(ts, 'join', 'go-c');
  const go3 = await goPeer(t, { name: 'go-c', bind: '127.0.0.4', port: await freePort('127.0.0.4'), secret: SECRET, join: [`127.0.0.3:${go.spec.port}`] });
  await joined3;
  await eventually(async () => (await go3.members()).join() === 'go-b,go-c,ts-a', LIMIT, 'go-c sees all three');
  assert.deepEqual(names(ts), ['go-b', 'go-c', 'ts-a']);
});

test('IPv6: our member and a Go member join over ::1 (16-byte addresses)', async (t) => {
  const go = await goPeer(t, { name: 'go-v6', bind: '::1', port: await freePort('::1'), secret: SECRET });
  const ts = await tsMember(t, 'ts-v6', '::1', SECRET);
  assert.equal(await ts.join([`[::1]:${go.spec.port}`]), 1);
  const goSaw = await go.waitFor((e) => e.event === 'join' && e.node?.name === 'ts-v6', LIMIT, 'join of ts-v6');
  assert.deepEqual(goSaw.node, { name: 'ts-v6', addr: '::1', port: ts.boundPort() });
  await eventually(() => names(ts).join() === 'go-v6,ts-v6', LIMIT, 'ours sees the Go member');
  assert.equal(ts.members().find((m) => m.name === 'go-v6')?.addr, '::1');
});

test('kill -9 of a Go member is detected as dead by ours; kill -9 of ours is detected by Go', async (t) => {
  const ts = await tsMember(t, 'ts-a', '127.0.0.1', SECRET);
  const goA = await goPeer(t, { name: 'go-a', bind: '127.0.0.5', port: await freePort('127.0.0.5'), secret: SECRET, join: [`127.0.0.1:${ts.boundPort()}`] });
  const tsProc = await tsPeer(t, { name: 'ts-proc', bind: '127.0.0.6', port: await freePort('127.0.0.6'), secret: SECRET, join: [`127.0.0.1:${ts.boundPort()}`] });
  assert.equal((await tsProc.waitFor((e) => e.event === 'joined', LIMIT)).count, 1);
  await eventually(() => names(ts).join() === 'go-a,ts-a,ts-proc', LIMIT, 'three members');
  await eventually(async () => (await goA.members()).join() === 'go-a,ts-a,ts-proc', LIMIT, 'Go sees three');

  // our (separate-process) member is killed: the Go member declares it failed
  tsProc.kill9();
  const goSaw = await goA.waitFor((e) => e.event === 'leave' && e.node?.name === 'ts-proc', LIMIT, 'leave of ts-proc');
  assert.equal(goSaw.state, 'dead', 'Go recorded our killed member as dead (failed), not as left');
  await eventually(() => !names(ts).includes('ts-proc'), LIMIT, 'ours drops ts-proc too');

  // the Go member is killed: ours declares it dead
  const dead = nextEvent(ts, 'leave', 'go-a');
  goA.kill9();
  const d = await dead;
  assert.equal(d.state, 'dead');
  assert.deepEqual(names(ts), ['ts-a']);
});

test('a graceful leave is seen as a leave, in both directions', async (t) => {
  const go = await goPeer(t, { name: 'go-a', bind: '127.0.0.1', port: await freePort(), secret: SECRET });
  const tsLeaving = await tsMember(t, 'ts-leaving', '127.0.0.7', SECRET);
  const tsStaying = await tsMember(t, 'ts-staying', '127.0.0.8', SECRET);
  assert.equal(await tsLeaving.join([`127.0.0.1:${go.spec.port}`]), 1);
  assert.equal(await tsStaying.join([`127.0.0.1:${go.spec.port}`]), 1);
  await eventually(async () => (await go.members()).length === 3, LIMIT, 'Go sees three');
  await eventually(() => tsStaying.members().length === 3, LIMIT, 'ours sees three');

  // ours leaves: Go sees a leave, not a failure
  const stayingSaw = nextEvent(tsStaying, 'leave', 'ts-leaving');
  assert.equal(await tsLeaving.leave(2000), true);
  await tsLeaving.shutdown();
  const goSaw = await go.waitFor((e) => e.event === 'leave' && e.node?.name === 'ts-leaving', LIMIT, 'leave of ts-leaving');
  assert.equal(goSaw.state, 'left');
  assert.equal((await stayingSaw).state, 'left');

  // Go leaves: ours sees state 'left'
  const goLeft = nextEvent(tsStaying, 'leave', 'go-a');
  go.send('leave 2000');
  const left = await go.waitFor((e) => e.event === 'left', LIMIT, 'left');
  assert.equal(left.error, undefined);
  assert.equal((await goLeft).state, 'left');
  assert.deepEqual(names(tsStaying), ['ts-staying']);
});

test('a member paused past its suspicion timeout refutes its death when it resumes', async (t) => {
  const go = await goPeer(t, { name: 'go-a', bind: '127.0.0.1', port: await freePort(), secret: SECRET });
  const tsProc = await tsPeer(t, { name: 'ts-proc', bind: '127.0.0.9', port: await freePort('127.0.0.9'), secret: SECRET, join: [`127.0.0.1:${go.spec.port}`] });
  assert.equal((await tsProc.waitFor((e) => e.event === 'joined', LIMIT)).count, 1);
  await go.waitFor((e) => e.event === 'join' && e.node?.name === 'ts-proc', LIMIT);
  tsProc.proc.kill('SIGSTOP');
  try {
    await go.waitNext((e) => e.event === 'leave' && e.node?.name === 'ts-proc', LIMIT, 'failure of paused ts-proc');
  } finally {
    tsProc.proc.kill('SIGCONT');
  }
  // Go keeps gossiping to the dead node for a while; ours refutes with a higher incarnation
  await go.waitNext((e) => e.event === 'join' && e.node?.name === 'ts-proc', LIMIT, 'rejoin of ts-proc');
  const stats = await tsProc.stats();
  assert.ok((stats.counters as { refutations: number }).refutations >= 1);
  assert.deepEqual(await go.members(), ['go-a', 'ts-proc']);
});

test('a member restarted with the same name and address is admitted again (refutes the old death)', async (t) => {
  const go = await goPeer(t, { name: 'go-a', bind: '127.0.0.1', port: await freePort(), secret: SECRET });
  const port = await freePort('127.0.0.15');
  const first = await tsPeer(t, { name: 'ts-restart', bind: '127.0.0.15', port, secret: SECRET, join: [`127.0.0.1:${go.spec.port}`] });
  assert.equal((await first.waitFor((e) => e.event === 'joined', LIMIT)).count, 1);
  await go.waitFor((e) => e.event === 'join' && e.node?.name === 'ts-restart', LIMIT);
  first.kill9();
  const died = await go.waitFor((e) => e.event === 'leave' && e.node?.name === 'ts-restart', LIMIT, 'death of ts-restart');
  assert.equal(died.state, 'dead');
  // Go still holds the dead record (incarnation >= 1); the new process starts at incarnation 1
  const rejoined = go.waitNext((e) => e.event === 'join' && e.node?.name === 'ts-restart', LIMIT, 'rejoin of ts-restart');
  const second = await tsPeer(t, { name: 'ts-restart', bind: '127.0.0.15', port, secret: SECRET, join: [`127.0.0.1:${go.spec.port}`] });
  assert.equal((await second.waitFor((e) => e.event === 'joined', LIMIT)).count, 1);
  await rejoined;
  const stats = await second.stats();
  assert.ok((stats.counters as { refutations: number }).refutations >= 1, 'the join reply reported us dead and we refuted it');
  assert.deepEqual(await go.members(), ['go-a', 'ts-restart']);
  assert.deepEqual(await second.members(), ['go-a', 'ts-restart']);
});

test('a member with the wrong key is never admitted; its packets are counted and dropped', async (t) => {
  const ts = await tsMember(t, 'ts-a', '127.0.0.1', SECRET);
  const goGood = await goPeer(t, { name: 'go-good', bind: '127.0.0.10', port: await freePort('127.0.0.10'), secret: SECRET, join: [`127.0.0.1:${ts.boundPort()}`] });
  assert.equal((await goGood.waitFor((e) => e.event === 'joined', LIMIT)).count, 1);
  // a Go member with another key tries to join ours, and ours tries to join it
  const goBad = await goPeer(t, { name: 'go-bad', bind: '127.0.0.11', port: await freePort('127.0.0.11'), secret: OTHER_SECRET, join: [`127.0.0.1:${ts.boundPort()}`] });
  const j = await goBad.waitFor((e) => e.event === 'joined', LIMIT);
  assert.equal(j.count, 0);
  assert.match(j.error ?? '', /.+/);
  await assert.rejects(ts.join([`127.0.0.11:${goBad.spec.port}`]), /join failed/);
  assert.ok(ts.counters.tcpUndecryptable >= 1, 'the bad join stream was counted as undecryptable');
  // datagrams sealed with the wrong key (a real ping, and a real alive claiming membership) are dropped
  const wrongKey = deriveSecretKey(Buffer.from(OTHER_SECRET));
  const sock = createSocket('udp4');
  t.after(() => sock.close());
  const replies: Buffer[] = [];
  sock.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.11', () => r()));
  const before = ts.counters.udpUndecryptable;
  const ping = encodeMessage({ type: 'ping', body: { seqNo: 42, node: 'ts-a' } });
  const alive = encodeMessage({ type: 'alive', body: { incarnation: 9, node: 'go-bad', addr: Buffer.from([127, 0, 0, 11]), port: goBad.spec.port, meta: null, vsn: Buffer.from([1, 5, 2, 0, 0, 0]) } });
  for (let i = 0; i < 20; i++) {
    sock.send(encodePacket(i % 2 ? ping : alive, { compress: false, crc: i % 4 < 2, key: wrongKey }), ts.boundPort(), '127.0.0.1');
    sock.send(i % 2 ? ping : alive, ts.boundPort(), '127.0.0.1'); // plaintext while encryption is on
  }
  await eventually(() => ts.counters.udpUndecryptable >= before + 40, LIMIT, 'wrong-key and plaintext datagrams counted');
  assert.deepEqual(replies, [], 'no reply to a packet we could not decrypt');
  // over several probe and gossip rounds the bad member shows up nowhere
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(names(ts), ['go-good', 'ts-a']);
  assert.deepEqual(await goGood.members(), ['go-good', 'ts-a']);
  assert.deepEqual(await goBad.members(), ['go-bad']);
  assert.ok(ts.allNodes().every((n) => n.name !== 'go-bad'));
});

function randomCorpus(key: Buffer | null): Buffer[] {
  const valid = [
    encodeMessage({ type: 'ping', body: { seqNo: 1, node: 'ts-a' } }),
    encodeMessage({ type: 'alive', body: { incarnation: 5, node: 'x', addr: Buffer.from([127, 0, 0, 99]), port: 1, meta: null, vsn: Buffer.from([1, 5, 2, 0, 0, 0]) } }),
    encodeMessage({ type: 'suspect', body: { incarnation: 5, node: 'ts-a', from: 'x' } }),
    encodeMessage({ type: 'indirectPing', body: { seqNo: 3, target: Buffer.from([127, 0, 0, 99]), port: 9, node: 'y', nack: true } }),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < 1500; i++) out.push(randomBytes(Math.floor(Math.random() * 1500)));
  for (const v of valid) {
    const framed = encodePacket(v, { compress: true, crc: true, key });
    for (let n = 0; n < framed.length; n++) out.push(framed.subarray(0, n));
    for (let n = 0; n < 200; n++) {
      const b = Buffer.from(framed);
      b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
      out.push(b);
    }
    // type byte followed by garbage reaches every body decoder when unencrypted
    for (let tb = 0; tb <= 14; tb++) out.push(Buffer.concat([Buffer.from([tb]), randomBytes(40)]));
    out.push(Buffer.from([244, 3, 97, 98, 99]), Buffer.from([7, 255, 0, 1]), Buffer.from([12, 0, 0, 0, 0, 0]));
  }
  return out;
}

async function blastTcp(host: string, port: number, payloads: Buffer[]): Promise<void> {
  await Promise.all(payloads.map((p) => new Promise<void>((resolve) => {
    const s = connect({ host, port }, () => s.end(p));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('data', () => undefined);
    s.setTimeout(5000, () => s.destroy());
  })));
}

for (const encrypted of [true, false]) {
  test(`random and truncated packets on UDP and TCP never crash the member (${encrypted ? 'encrypted' : 'plaintext'})`, async (t) => {
    const secret = encrypted ? SECRET : null;
    const ts = await tsMember(t, 'ts-a', '127.0.0.1', secret);
    const go = await goPeer(t, { name: 'go-a', bind: '127.0.0.12', port: await freePort('127.0.0.12'), secret: secret ?? '', join: [`127.0.0.1:${ts.boundPort()}`] });
    assert.equal((await go.waitFor((e) => e.event === 'joined', LIMIT)).count, 1);
    await eventually(() => names(ts).join() === 'go-a,ts-a', LIMIT, 'joined');
    const key = secret ? deriveSecretKey(Buffer.from(secret)) : null;
    const sock = createSocket('udp4');
    t.after(() => sock.close());
    await new Promise<void>((r) => sock.bind(0, '127.0.0.13', () => r()));
    const corpus = randomCorpus(key);
    for (let i = 0; i < corpus.length; i++) {
      sock.send(corpus[i]!, ts.boundPort(), '127.0.0.1');
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    // streams: random bytes, truncated and corrupted push/pulls, bogus lengths
    const pp = encodeStream({ type: 'pushPull', header: { join: true, nodes: 1, userStateLen: 0 }, states: [{ name: 'z', addr: Buffer.from([127, 0, 0, 13]), port: 1, meta: null, incarnation: 1, state: 0, vsn: Buffer.from([1, 5, 2, 0, 0, 0]) }], userState: Buffer.alloc(0) }, { compress: true, key });
    const streams: Buffer[] = [];
    for (let i = 0; i < 60; i++) streams.push(randomBytes(1 + Math.floor(Math.random() * 3000)));
    for (let n = 1; n < pp.length; n += Math.max(1, Math.floor(pp.length / 40))) streams.push(pp.subarray(0, n));
    for (let i = 0; i < 40; i++) {
      const b = Buffer.from(pp);
      b[Math.floor(Math.random() * b.length)] ^= 1 + Math.floor(Math.random() * 255);
      streams.push(b);
    }
    streams.push(Buffer.from([10, 0xff, 0xff, 0xff, 0xff]), Buffer.from([6, 0x83, 0xa5, 0x4e, 0x6f, 0x64, 0x65, 0x73, 0xce, 0xff, 0xff, 0xff, 0xff]));
    await blastTcp('127.0.0.1', ts.boundPort(), streams);
    // still a healthy member: the Go member never lost it, and a fresh Go member can join it
    await eventually(() => ts.counters.udpReceived >= corpus.length * 0.9, LIMIT, 'datagrams received');
    assert.ok(ts.counters.udpDropped + ts.counters.messagesInvalid > 100);
    assert.ok(ts.counters.tcpDropped > 50);
    const go2 = await goPeer(t, { name: 'go-b', bind: '127.0.0.14', port: await freePort('127.0.0.14'), secret: secret ?? '', join: [`127.0.0.1:${ts.boundPort()}`] });
    assert.equal((await go2.waitFor((e) => e.event === 'joined', LIMIT)).count, 1);
    await eventually(() => names(ts).join() === 'go-a,go-b,ts-a', LIMIT, 'second Go member admitted');
    // (members the random alive messages invented are probed, found dead and dropped meanwhile)
    await eventually(async () => (await go.members()).join() === 'go-a,go-b,ts-a', LIMIT, 'Go sees exactly the three real members');
  });
}
