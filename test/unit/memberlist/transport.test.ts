// The transport alone (lib/memberlist/transport.ts) on loopback sockets: one port for UDP and
// TCP, encrypted datagrams delivered message by message, undecryptable ones counted and dropped,
// stream request/reply, and decode errors reported back to the peer.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo } from 'node:dgram';
import { connect } from 'node:net';
import { encodeCompound, encodeMessage, type PacketMessage } from '../../../lib/memberlist/packet.js';
import { deriveSecretKey, Keyring } from '../../../lib/memberlist/security.js';
import { encodeStream, parseStream } from '../../../lib/memberlist/stream.js';
import { MemberlistDecodeError } from '../../../lib/memberlist/errors.js';
import { Transport, type TransportCounters, type TransportHandlers } from '../../../lib/memberlist/transport.js';
import { silentLogger } from '../../../lib/util/log.js';

const KEY = deriveSecretKey(Buffer.from('transport-test-secret'));
const OTHER = deriveSecretKey(Buffer.from('some-other-secret'));

const counters = (): TransportCounters => ({
  udpReceived: 0, udpDropped: 0, udpUndecryptable: 0, messagesInvalid: 0, tcpAccepted: 0, tcpDropped: 0, tcpUndecryptable: 0,
});

async function open(t: TestContext, key: Buffer | null, handlers: Partial<TransportHandlers> = {}) {
  const c = counters();
  const tr = new Transport({
    bindAddr: '127.0.0.1', keyring: key ? new Keyring([key]) : null, compression: true, streamTimeoutMs: 2000, log: silentLogger(), counters: c,
  });
  const port = await tr.listen(0, { packet: handlers.packet ?? (() => undefined), stream: handlers.stream ?? (() => undefined) });
  t.after(() => tr.close());
  return { tr, port, c };
}

function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (pred()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

test('listen(0) binds UDP and TCP on one port', async (t) => {
  const { port } = await open(t, null);
  assert.ok(port > 0);
  await new Promise<void>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(); });
    s.on('error', reject);
  });
  const u = createSocket('udp4');
  t.after(() => u.close());
  await assert.rejects(new Promise<void>((resolve, reject) => u.bind(port, '127.0.0.1', () => resolve()).once('error', reject)), /EADDRINUSE/);
});

test('datagrams: each message of a compound is delivered with its sender; a wrong key is counted and dropped', async (t) => {
  const got: [PacketMessage, RemoteInfo][] = [];
  const rx = await open(t, KEY, { packet: (m, from) => got.push([m, from]) });
  const tx = await open(t, KEY);
  const bad = await open(t, OTHER);
  const ping: PacketMessage = { type: 'ping', body: { seqNo: 9, node: 'x' } };
  const nack: PacketMessage = { type: 'nack', body: { seqNo: 10 } };
  tx.tr.sendPacket(encodeCompound([encodeMessage(ping), encodeMessage(nack)]), '127.0.0.1', rx.port, true);
  await until(() => got.length === 2, 'two messages');
  assert.deepEqual(got.map(([m]) => m), [ping, nack]);
  assert.equal(got[0]![1].port, tx.port, 'sent from the transport port');
  bad.tr.sendPacket(encodeMessage(ping), '127.0.0.1', rx.port, false);
  await until(() => rx.c.udpUndecryptable === 1, 'the undecryptable datagram');
  assert.equal(rx.c.udpDropped, 1);
  assert.equal(got.length, 2);
  assert.equal(rx.c.udpReceived, 2);
});

test('datagrams: a throwing packet handler is contained; later datagrams still arrive', async (t) => {
  let calls = 0;
  const rx = await open(t, null, { packet: () => { calls++; if (calls === 1) throw new Error('handler bug'); } });
  const tx = await open(t, null);
  const m = encodeMessage({ type: 'nack', body: { seqNo: 1 } });
  tx.tr.sendPacket(m, '127.0.0.1', rx.port, false);
  await until(() => calls === 1, 'first datagram');
  tx.tr.sendPacket(m, '127.0.0.1', rx.port, false);
  await until(() => calls === 2, 'second datagram');
  assert.equal(rx.c.udpDropped, 0);
});

test('streams: request() gets the reply the handler wrote', async (t) => {
  const rx = await open(t, KEY, {
    stream: (m, reply) => {
      if (m.type === 'ping') reply({ type: 'ack', body: { seqNo: m.body.seqNo, payload: null } });
    },
  });
  const tx = await open(t, KEY);
  const reply = await tx.tr.request('127.0.0.1', rx.port, { type: 'ping', body: { seqNo: 77, node: 'n' } }, 2000);
  assert.deepEqual(reply, { type: 'ack', body: { seqNo: 77, payload: null } });
  assert.equal(rx.c.tcpAccepted, 1);
});

test('streams: a decode error in the handler is sent back as an error message and counted', async (t) => {
  const rx = await open(t, null, { stream: () => { throw new MemberlistDecodeError('unknown-type', 'not here', 0); } });
  const tx = await open(t, null);
  const reply = await tx.tr.request('127.0.0.1', rx.port, { type: 'ping', body: { seqNo: 1, node: '' } }, 2000);
  assert.equal(reply.type, 'err');
  assert.match(reply.type === 'err' ? reply.body.error : '', /not here/);
  await until(() => rx.c.tcpDropped === 1, 'the dropped stream');
});

test('streams: a stream encrypted with another key is counted undecryptable and answered with an error', async (t) => {
  const rx = await open(t, KEY);
  const chunks: Buffer[] = [];
  const s = connect({ host: '127.0.0.1', port: rx.port });
  t.after(() => s.destroy());
  s.on('data', (d) => chunks.push(d));
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.write(encodeStream({ type: 'ping', body: { seqNo: 1, node: '' } }, { compress: true, key: OTHER }));
  await until(() => rx.c.tcpUndecryptable === 1, 'the undecryptable stream');
  await until(() => chunks.length > 0, 'the error reply');
  const p = parseStream(Buffer.concat(chunks), { keys: [KEY] });
  assert.equal(p.status, 'done');
  assert.equal(p.status === 'done' && p.message.type, 'err');
});

test('close() refuses further connections and frees the port', async (t) => {
  const { tr, port } = await open(t, null);
  await tr.close();
  await assert.rejects(new Promise<void>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(); });
    s.on('error', reject);
  }), /ECONNREFUSED/);
  const again = new Transport({ bindAddr: '127.0.0.1', keyring: null, compression: false, streamTimeoutMs: 1000, log: silentLogger(), counters: counters() });
  assert.equal(await again.listen(port, { packet: () => undefined, stream: () => undefined }), port);
  await again.close();
});
