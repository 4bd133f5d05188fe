// BGPSession against a scripted BGP peer on loopback. The peer plays protocol situations a real
// router will not produce on demand (old versions, bad hold times, missing capabilities, silence,
// garbage) so each of the session's reactions can be checked on the wire. Interop with a real
// router is in test/interop/bgp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { CIDR, IPAddress, mustParseCIDR, mustParseIP } from '../../../lib/ip/index.js';
import { BGPSession, deriveRouterID, reconnectDelay, sessionOptionsFromPeer, type SessionOptions } from '../../../lib/bgp/session.js';
import { decodeMessage, encodeMessage, KEEPALIVE, MessageFramer, type BGPMessage, type Capability, type OpenMessage, type UpdateMessage } from '../../../lib/bgp/codec.js';
import type { Route } from '../../../lib/bgp/advertisement.js';

class ScriptedPeer {
  readonly received: BGPMessage[] = [];
  readonly connections: Socket[] = [];
  private waiters: (() => void)[] = [];
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(onConnect?: (s: Socket, peer: ScriptedPeer) => void, fourOctetAS = true): Promise<ScriptedPeer> {
    let peer: ScriptedPeer | undefined;
    const server = createServer((sock) => {
      const p = peer as ScriptedPeer;
      p.connections.push(sock);
      const framer = new MessageFramer();
      sock.on('data', (d: Buffer) => {
        for (const raw of framer.push(d)) p.received.push(decodeMessage(raw, { fourOctetAS }));
        p.wake();
      });
      sock.on('error', () => undefined);
      sock.on('close', () => p.wake());
      onConnect?.(sock, p);
      p.wake();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    peer = new ScriptedPeer(server, (server.address() as { port: number }).port);
    return peer;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds (checked on every received message/connection); fails after 10 s. */
  async until<T>(what: string, pred: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.received.map((m) => m.type))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  of<T extends BGPMessage['type']>(type: T): Extract<BGPMessage, { type: T }>[] {
    return this.received.filter((m) => m.type === type) as Extract<BGPMessage, { type: T }>[];
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function open(o: Partial<OpenMessage> = {}, caps?: Capability[]): Buffer {
  return encodeMessage({
    type: 'open',
    version: 4,
    myAS: 64500,
    holdTime: 90,
    bgpIdentifier: mustParseIP('192.0.2.1'),
    capabilities: caps ?? [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', asn: o.myAS ?? 64500 },
    ],
    ...o,
  });
}

/** A well-behaved peer: answers our OPEN with its own and a KEEPALIVE. */
const friendly = (reply: Buffer = open()) => (sock: Socket): void => {
  sock.once('data', () => sock.write(Buffer.concat([reply, KEEPALIVE])));
};

function session(peer: ScriptedPeer, o: Partial<SessionOptions> = {}): BGPSession {
  return new BGPSession({ peerAddress: mustParseIP('127.0.0.1'), peerPort: peer.port, peerASN: 64500, myASN: 64512, holdTimeSeconds: 90, ...o });
}

function routes(...list: [string, number[]?, number?][]): Map<string, Route> {
  return new Map(list.map(([p, c, lp]) => [mustParseCIDR(p).toString(), { prefix: mustParseCIDR(p), communities: c ?? [], localPref: lp ?? 0 }]));
}

function announced(u: UpdateMessage[]): string[] {
  return u.flatMap((m) => [...m.nlri, ...m.attributes.flatMap((a) => (a.type === 'mp-reach' ? a.nlri : []))]).map(String);
}
function withdrawn(u: UpdateMessage[]): string[] {
  return u.flatMap((m) => [...m.withdrawn, ...m.attributes.flatMap((a) => (a.type === 'mp-unreach' ? a.withdrawn : []))]).map(String);
}
const isEoR = (m: UpdateMessage): boolean => m.nlri.length === 0 && m.withdrawn.length === 0 && (m.attributes.length === 0 || (m.attributes.length === 1 && m.attributes[0].type === 'mp-unreach' && m.attributes[0].withdrawn.length === 0));

test('our OPEN: AS_TRANS in the 2-octet field for a 4-octet ASN, capabilities, configured hold time and router ID', async () => {
  const peer = await ScriptedPeer.start();
  const s = session(peer, { myASN: 4200000000, holdTimeSeconds: 30, routerID: mustParseIP('192.0.2.77') });
  try {
    s.start();
    const o = await peer.until('OPEN', () => peer.of('open')[0]);
    assert.equal(o.myAS, 23456);
    assert.equal(o.holdTime, 30);
    assert.equal(o.bgpIdentifier.toString(), '192.0.2.77');
    assert.deepEqual(o.capabilities, [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'four-octet-as', asn: 4200000000 },
    ]);
  } finally {
    await s.close();
    await peer.close();
  }
});

test('router ID derivation: local IPv4, else CRC-32 of the node name in little-endian order', () => {
  assert.equal(deriveRouterID(mustParseIP('198.51.100.11'), 'x').toString(), '198.51.100.11');
  // an IPv6 local address on no local interface: falls back to the node-name checksum
  assert.equal(deriveRouterID(mustParseIP('2001:db8::dead'), 'iris1').toString(), '150.80.252.129');
  assert.equal(deriveRouterID(mustParseIP('2001:db8::dead'), 'node1').toString(), '64.37.239.133');
});

test('full advertisement, then End-of-RIB; later only differences are sent', async () => {
  const peer = await ScriptedPeer.start(friendly());
  const s = session(peer);
  try {
    s.setAdvertisements(routes(['203.0.113.1/32', [5]], ['203.0.113.2/32']));
    s.start();
    await peer.until('End-of-RIB', () => peer.of('update').find(isEoR));
    const first = peer.of('update');
    assert.deepEqual(announced(first).sort(), ['203.0.113.1/32', '203.0.113.2/32']);
    assert.ok(isEoR(first[first.length - 1]), 'End-of-RIB comes last');
    assert.equal(s.announcedPrefixes, 2);
    const n = peer.received.length;
    s.setAdvertisements(routes(['203.0.113.1/32', [5]], ['203.0.113.3/32']));
    await peer.until('diff', () => (withdrawn(peer.of('update')).length === 1 && announced(peer.of('update')).includes('203.0.113.3/32') ? true : undefined));
    const diff = peer.received.slice(n) as UpdateMessage[];
    assert.deepEqual(withdrawn(diff), ['203.0.113.2/32']);
    assert.deepEqual(announced(diff), ['203.0.113.3/32'], 'the unchanged route is not re-sent');
    // a changed attribute re-announces just that prefix (implicit replace)
    const m = peer.received.length;
    s.setAdvertisements(routes(['203.0.113.1/32', [6]], ['203.0.113.3/32']));
    await peer.until('re-announce', () => (peer.received.length > m ? true : undefined));
    const change = peer.received.slice(m) as UpdateMessage[];
    assert.deepEqual(announced(change), ['203.0.113.1/32']);
    assert.deepEqual(change[0].attributes.find((a) => a.type === 'communities'), { type: 'communities', communities: [6] });
  } finally {
    await s.close();
    await peer.close();
  }
});

test('a large set (5,000 routes) is sent in full UPDATEs, End-of-RIB strictly after the last route', async () => {
  const peer = await ScriptedPeer.start(friendly());
  const s = session(peer);
  try {
    const base = mustParseIP('198.18.0.0').value;
    const many = new Map<string, Route>();
    for (let i = 0; i < 5000; i++) {
      const prefix = CIDR.of(IPAddress.of(4, base + BigInt(i)), 32);
      many.set(prefix.toString(), { prefix, communities: [], localPref: 0 });
    }
    s.setAdvertisements(many);
    s.start();
    await peer.until('End-of-RIB', () => peer.of('update').find(isEoR), 30_000);
    const ups = peer.of('update');
    assert.ok(isEoR(ups[ups.length - 1]));
    assert.equal(ups.filter(isEoR).length, 1);
    assert.equal(new Set(announced(ups)).size, 5000);
    assert.equal(announced(ups).length, 5000);
    assert.equal(ups.length, Math.ceil(5000 / 810) + 1);
  } finally {
    await s.close();
    await peer.close();
  }
});

test('close() right after a large change writes the whole change before the Cease', async () => {
  const peer = await ScriptedPeer.start(friendly());
  const s = session(peer);
  try {
    const base = mustParseIP('198.18.0.0').value;
    const many = new Map<string, Route>();
    for (let i = 0; i < 3000; i++) {
      const prefix = CIDR.of(IPAddress.of(4, base + BigInt(i)), 32);
      many.set(prefix.toString(), { prefix, communities: [], localPref: 0 });
    }
    s.setAdvertisements(many);
    s.start();
    await peer.until('End-of-RIB', () => peer.of('update').find(isEoR), 30_000);
    s.setAdvertisements(new Map());
    await s.close();
    await peer.until('Cease', () => peer.of('notification')[0]);
    assert.equal(withdrawn(peer.of('update')).length, 3000);
    assert.equal(peer.received[peer.received.length - 1].type, 'notification', 'the Cease comes after every UPDATE');
  } finally {
    await s.close();
    await peer.close();
  }
});

test('an OPEN without optional parameters (29 bytes) is accepted (upstream refused it: docs/behaviour/quirks.md#q7)', async () => {
  const peer = await ScriptedPeer.start(friendly(open({}, [])));
  const s = session(peer);
  try {
    s.start();
    await peer.until('End-of-RIB', () => peer.of('update').find(isEoR));
    assert.equal(s.state, 'established');
  } finally {
    await s.close();
    await peer.close();
  }
});

const REFUSALS: { name: string; reply: Buffer; opts?: Partial<SessionOptions>; code: number; subcode: number; data?: string }[] = [
  { name: 'unsupported version', reply: open({ version: 3 }), code: 2, subcode: 1, data: '0004' },
  { name: 'wrong peer AS', reply: open({ myAS: 64501 }), code: 2, subcode: 2, data: 'fbf5' },
  { name: 'hold time 2 s', reply: open({ holdTime: 2 }), code: 2, subcode: 6 },
  { name: 'BGP identifier 0.0.0.0', reply: open({ bgpIdentifier: mustParseIP('0.0.0.0') }), code: 2, subcode: 3 },
  {
    name: '4-octet my-asn and a peer without the 4-octet AS capability',
    reply: open({}, [{ kind: 'multiprotocol', afi: 1, safi: 1 }]),
    opts: { myASN: 65536 },
    code: 2,
    subcode: 7,
    data: '410400010000',
  },
  { name: 'UPDATE instead of OPEN', reply: encodeMessage({ type: 'update', withdrawn: [], attributes: [], nlri: [] }), code: 5, subcode: 1 },
  { name: 'garbage instead of OPEN', reply: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), code: 1, subcode: 1 },
];

for (const c of REFUSALS) {
  test(`refuses a peer: ${c.name} -> NOTIFICATION ${c.code}/${c.subcode}, then retries`, async () => {
    const peer = await ScriptedPeer.start((sock) => sock.once('data', () => sock.write(c.reply)));
    const s = session(peer, { backoffInitialMs: 50, ...c.opts });
    const sent: [number, number][] = [];
    s.on('notification-sent', (code, subcode) => sent.push([code, subcode]));
    try {
      s.start();
      const n = await peer.until('NOTIFICATION', () => peer.of('notification')[0]);
      assert.equal(n.code, c.code);
      assert.equal(n.subcode, c.subcode);
      if (c.data) assert.equal(n.data.toString('hex'), c.data);
      assert.deepEqual(sent[0], [c.code, c.subcode]);
      await peer.until('a second connection attempt', () => (peer.connections.length >= 2 ? true : undefined));
      assert.notEqual(s.state, 'established');
    } finally {
      await s.close();
      await peer.close();
    }
  });
}

test('hold timer: a silent peer gets NOTIFICATION Hold Timer Expired; keepalives are sent at a third of the hold time', async () => {
  const peer = await ScriptedPeer.start(friendly(open({ holdTime: 3 })));
  const s = session(peer, { holdTimeSeconds: 90 });
  try {
    s.start();
    const n = await peer.until('hold timer NOTIFICATION', () => peer.of('notification')[0]);
    assert.deepEqual([n.code, n.subcode], [4, 0]);
    // OPEN-confirm KEEPALIVE plus at least one periodic keepalive before the 3 s hold time ran out
    assert.ok(peer.of('keepalive').length >= 2, `keepalives: ${peer.of('keepalive').length}`);
  } finally {
    await s.close();
    await peer.close();
  }
});

test('reconnect after the peer drops the connection restores every route', async () => {
  const peer = await ScriptedPeer.start(friendly());
  const s = session(peer, { backoffInitialMs: 50 });
  try {
    s.setAdvertisements(routes(['203.0.113.1/32'], ['203.0.113.2/32']));
    s.start();
    await peer.until('first End-of-RIB', () => peer.of('update').find(isEoR));
    peer.connections[0].destroy();
    await peer.until('second connection', () => (peer.connections.length >= 2 ? true : undefined));
    await peer.until('second End-of-RIB', () => (peer.of('update').filter(isEoR).length >= 2 ? true : undefined));
    const all = announced(peer.of('update'));
    assert.deepEqual(all.sort(), ['203.0.113.1/32', '203.0.113.1/32', '203.0.113.2/32', '203.0.113.2/32']);
  } finally {
    await s.close();
    await peer.close();
  }
});

test('a route the peer cannot take (IPv6 without the IPv6 capability) is rejected alone; the others flow', async () => {
  const peer = await ScriptedPeer.start(friendly());
  const s = session(peer);
  const rejected: string[] = [];
  s.on('route-rejected', (p) => rejected.push(p));
  try {
    s.setAdvertisements(routes(['2001:db8:200::1/128'], ['203.0.113.9/32']));
    s.start();
    await peer.until('End-of-RIB', () => peer.of('update').find(isEoR));
    assert.deepEqual(announced(peer.of('update')), ['203.0.113.9/32']);
    assert.deepEqual(rejected, ['2001:db8:200::1/128']);
    assert.match(s.rejectedRoutes.get('2001:db8:200::1/128') ?? '', /IPv6 unicast/);
  } finally {
    await s.close();
    await peer.close();
  }
});

test('ROUTE-REFRESH from the peer re-sends the routes; close() sends Cease / Peer De-configured', async () => {
  const peer = await ScriptedPeer.start(friendly());
  const s = session(peer);
  try {
    s.setAdvertisements(routes(['203.0.113.1/32']));
    s.start();
    await peer.until('End-of-RIB', () => peer.of('update').find(isEoR));
    peer.connections[0].write(encodeMessage({ type: 'route-refresh', afi: 1, subtype: 0, safi: 1 }));
    await peer.until('re-sent route', () => (announced(peer.of('update')).length === 2 ? true : undefined));
    await s.close();
    const n = await peer.until('Cease', () => peer.of('notification')[0]);
    assert.deepEqual([n.code, n.subcode], [6, 3]);
    assert.equal(s.state, 'closed');
  } finally {
    await s.close();
    await peer.close();
  }
});

test('options are validated: hold time 1..2 or above 65535, IPv6 router ID', () => {
  const base = { peerAddress: mustParseIP('127.0.0.1'), peerASN: 1, myASN: 2 };
  assert.throws(() => new BGPSession({ ...base, holdTimeSeconds: 2 }), RangeError);
  assert.throws(() => new BGPSession({ ...base, holdTimeSeconds: 70000 }), RangeError);
  assert.throws(() => new BGPSession({ ...base, routerID: mustParseIP('2001:db8::1') }), RangeError);
  assert.equal(new BGPSession({ ...base, peerPort: 0 }).peer, '127.0.0.1:179');
  assert.equal(new BGPSession({ ...base, peerAddress: mustParseIP('2001:db8::1') }).peer, '[2001:db8::1]:179');
});

test('session options map from a legacy config peer', () => {
  const o = sessionOptionsFromPeer(
    {
      myASN: 64512,
      peerASN: 64500,
      peerAddress: mustParseIP('198.51.100.1'),
      peerPort: 1179,
      sourceAddress: mustParseIP('198.51.100.11'),
      holdTimeSeconds: 30,
      keepaliveTimeSeconds: 10,
      routerID: mustParseIP('192.0.2.9'),
      nodeSelectors: [],
      password: 'pw',
      bfdProfile: '',
      ebgpMultihop: false,
    },
    'node-a',
  );
  assert.deepEqual(
    { ...o, peerAddress: o.peerAddress.toString(), sourceAddress: o.sourceAddress?.toString(), routerID: o.routerID?.toString() },
    { peerAddress: '198.51.100.1', peerPort: 1179, peerASN: 64500, myASN: 64512, holdTimeSeconds: 30, routerID: '192.0.2.9', sourceAddress: '198.51.100.11', password: 'pw', nodeName: 'node-a', logger: undefined },
  );
  assert.equal(new BGPSession(o).peer, '198.51.100.1:1179');
});

test('reconnect schedule: 0 s, then 1 s doubling up to 2 min', () => {
  assert.deepEqual(
    Array.from({ length: 10 }, (_, i) => reconnectDelay(i)),
    [0, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 120000, 120000],
  );
  assert.equal(reconnectDelay(1000), 120000);
});

test('RFC 7606: an UPDATE with broken path attributes is dropped (session stays up); a broken NLRI field resets it', async () => {
  // the peer announces no 4-octet AS capability but sends a 4-octet AS_PATH anyway (seen from FRR
  // with dont-capability-negotiate): 50 02 000a 02 02 0000fbf4 0000fc00
  const peer = await ScriptedPeer.start(friendly(open({}, [{ kind: 'multiprotocol', afi: 1, safi: 1 }])), false);
  const s = session(peer, { backoffInitialMs: 50 });
  try {
    s.setAdvertisements(routes(['203.0.113.1/32']));
    s.start();
    await peer.until('End-of-RIB', () => peer.of('update').find(isEoR));
    const hex = (h: string): Buffer => Buffer.from(h.replace(/ /g, ''), 'hex');
    const update = (body: string): Buffer => {
      const b = hex(body);
      return Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([0, 19 + b.length, 2]), b]);
    };
    peer.connections[0].write(update('0000 0019 40010100 5002000a020200 00fbf4 0000fc00 400304c6336401 20cb00710a'));
    peer.connections[0].write(KEEPALIVE);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.state, 'established');
    assert.equal(peer.of('notification').length, 0);
    // an NLRI prefix of length 33 cannot be skipped: NOTIFICATION UPDATE Error / Invalid Network Field
    peer.connections[0].write(update('0000 0012 40010100 4002040201fbf4 400304c6336401 21cb00710a00'));
    const n = await peer.until('NOTIFICATION', () => peer.of('notification')[0]);
    assert.deepEqual([n.code, n.subcode], [3, 10]);
  } finally {
    await s.close();
    await peer.close();
  }
});
