// A member told about a node at an address it cannot send to (port 0, from an alive message or a
// push/pull a peer made up) must go on working: probing and gossiping to it fails quietly instead
// of throwing out of a timer (Node's dgram refuses port 0 synchronously). Loopback only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Memberlist } from '../../../lib/memberlist/index.js';
import { encodeMessage, encodePacket } from '../../../lib/memberlist/packet.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const VSN = Buffer.from([1, 5, 2, 0, 0, 0]);

{
  const port = 0;
  test('an alive message for a node at port 0 never crashes the member', async (t) => {
    const ml = new Memberlist({ name: 'a', bindAddr: '127.0.0.1', bindPort: 0, secretKey: null, timers: 'fast' });
    t.after(() => ml.shutdown());
    await ml.start();
    const sock = createSocket('udp4');
    t.after(() => sock.close());
    const alive = encodeMessage({ type: 'alive', body: { incarnation: 1, node: `ghost${port}`, addr: Buffer.from([127, 0, 0, 1]), port, meta: null, vsn: VSN } });
    await new Promise<void>((r) => sock.send(encodePacket(alive, { compress: false, crc: false, key: null }), ml.boundPort(), '127.0.0.1', () => r()));
    // fast timers probe every 200 ms and gossip every 200 ms: several rounds include the ghost
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && !ml.members().some((m) => m.name === `ghost${port}`)) await sleep(20);
    assert.ok(ml.members().some((m) => m.name === `ghost${port}`), 'the alive message was applied');
    await sleep(2500);
    assert.ok(ml.members().some((m) => m.name === 'a'), 'still a working member');
  });
}
