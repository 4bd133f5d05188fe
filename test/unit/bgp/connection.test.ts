// The BGP socket alone (lib/bgp/connection.ts) against a loopback TCP server: messages framed
// across arbitrary chunk boundaries, malformed input skipped or fatal as the handler decides,
// closing with a NOTIFICATION, and the peer going away.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mustParseCIDR, mustParseIP, type IPAddress } from '../../../lib/ip/index.js';
import { decodeMessage, encodeMessage, KEEPALIVE, MessageFramer, type BGPMessage } from '../../../lib/bgp/codec.js';
import { BGPConnection, type ConnectionHandlers } from '../../../lib/bgp/connection.js';
import type { BGPMessageError } from '../../../lib/bgp/errors.js';

interface Seen { connected?: IPAddress; framed: number; messages: BGPMessage[]; malformed: BGPMessageError[]; fatal: BGPMessageError[]; gone: string[] }

async function rig(t: TestContext, skipMalformed = false) {
  let peer!: Socket;
  const gotPeer = new Promise<void>((resolve) => {
    const server = createServer((s) => { peer = s; s.on('error', () => undefined); resolve(); });
    t.after(() => { peer?.destroy(); server.close(); });
    server.listen(0, '127.0.0.1', () => ready((server.address() as { port: number }).port));
  });
  let ready!: (port: number) => void;
  const port = await new Promise<number>((r) => { ready = r; });
  const seen: Seen = { framed: 0, messages: [], malformed: [], fatal: [], gone: [] };
  const h: ConnectionHandlers = {
    connected: (local) => { seen.connected = local; },
    framed: () => { seen.framed++; },
    message: (m) => seen.messages.push(m),
    malformed: (e) => { seen.malformed.push(e); return skipMalformed; },
    fatal: (e) => { seen.fatal.push(e); },
    gone: (reason) => seen.gone.push(reason),
  };
  const conn = new BGPConnection({ peerAddress: mustParseIP('127.0.0.1'), peerPort: port }, h);
  t.after(() => conn.close());
  await gotPeer;
  return { conn, peer, seen };
}

async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const OPEN = encodeMessage({ type: 'open', version: 4, myAS: 64500, holdTime: 90, bgpIdentifier: mustParseIP('192.0.2.1'), capabilities: [] });

test('messages split across chunks arrive whole, in order; the local address is reported on connect', async (t) => {
  const { peer, seen } = await rig(t);
  await until(() => seen.connected !== undefined, 'connect');
  assert.equal(seen.connected!.toString(), '127.0.0.1');
  const bytes = Buffer.concat([OPEN, KEEPALIVE, KEEPALIVE]);
  for (let i = 0; i < bytes.length; i += 7) peer.write(bytes.subarray(i, i + 7));
  await until(() => seen.messages.length === 3, 'three messages');
  assert.deepEqual(seen.messages.map((m) => m.type), ['open', 'keepalive', 'keepalive']);
  assert.equal(seen.framed, 3);
});

test('a broken UPDATE goes to malformed(); skipped when it says so, fatal (rest unread) when not', async (t) => {
  // NLRI without the mandatory attributes: RFC 7606 treat-as-withdraw
  const broken = encodeMessage({ type: 'update', withdrawn: [], attributes: [], nlri: [mustParseCIDR('203.0.113.0/24')] });
  const skip = await rig(t, true);
  skip.peer.write(Buffer.concat([broken, KEEPALIVE]));
  await until(() => skip.seen.messages.length === 1, 'the keepalive after the skipped update');
  assert.equal(skip.seen.malformed.length, 1);
  assert.ok(skip.seen.malformed[0]!.treatAsWithdraw);
  assert.equal(skip.seen.fatal.length, 0);
  const fatal = await rig(t, false);
  fatal.peer.write(Buffer.concat([broken, KEEPALIVE]));
  await until(() => fatal.seen.fatal.length === 1, 'fatal');
  assert.equal(fatal.seen.messages.length, 0, 'nothing after the fatal message is read');
});

test('a bad header is fatal without asking malformed()', async (t) => {
  const { peer, seen } = await rig(t);
  const bad = Buffer.from(KEEPALIVE);
  bad[0] = 0; // marker must be all ones
  peer.write(bad);
  await until(() => seen.fatal.length === 1, 'fatal');
  assert.equal(seen.malformed.length, 0);
});

test('close(notify) writes the NOTIFICATION then ends; later socket events are not reported', async (t) => {
  const { conn, peer, seen } = await rig(t);
  const framer = new MessageFramer();
  const got: BGPMessage[] = [];
  peer.on('data', (d: Buffer) => { for (const raw of framer.push(d)) got.push(decodeMessage(raw)); });
  const ended = new Promise<void>((r) => peer.on('end', () => r()));
  await until(() => seen.connected !== undefined, 'connect');
  assert.equal(conn.close({ code: 6, subcode: 3 }), true);
  assert.equal(conn.close({ code: 6, subcode: 3 }), false, 'idempotent');
  await ended;
  assert.deepEqual(got.map((m) => m.type === 'notification' && [m.code, m.subcode]), [[6, 3]]);
  conn.write(KEEPALIVE);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen.gone, []);
});

test('the peer closing is reported through gone()', async (t) => {
  const { peer, seen } = await rig(t);
  await until(() => seen.connected !== undefined, 'connect');
  peer.end();
  await until(() => seen.gone.length > 0, 'gone');
  assert.match(seen.gone[0]!, /closed/);
});
