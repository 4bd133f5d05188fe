// Fuzzing the decoder: it must only ever return a message or throw a BGPMessageError, for random
// bytes, random well-framed bodies, and a corpus of valid messages truncated, oversized and
// bit-flipped. Structured random messages must round-trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

/** fast-check records have a null prototype; decoded messages are plain objects. */
function plain<T>(v: T): T {
  if (Array.isArray(v)) return v.map(plain) as T;
  if (v !== null && typeof v === 'object' && [null, Object.prototype].includes(Object.getPrototypeOf(v))) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) as T;
  }
  return v;
}
import { CIDR, IPAddress, mustParseCIDR, mustParseIP } from '../../../lib/ip/index.js';
import { decodeMessage, encodeMessage, MessageFramer, type BGPMessage, type CodecContext, type PathAttribute } from '../../../lib/bgp/codec.js';
import { BGPMessageError } from '../../../lib/bgp/errors.js';
import { packAnnouncements, packWithdrawals, endOfRIB } from '../../../lib/bgp/advertisement.js';

const CONTEXTS: CodecContext[] = [{ fourOctetAS: true }, { fourOctetAS: false }, { fourOctetAS: true, validateOnly: true }];

/** The error (code/subcode/offset) a decode throws, or "ok". */
function outcome(bytes: Buffer, ctx: CodecContext): string {
  try {
    decodeMessage(bytes, ctx);
    return 'ok';
  } catch (err) {
    if (!(err instanceof BGPMessageError)) throw err;
    return `${err.code}/${err.subcode}@${err.offset}`;
  }
}

function decodesOrTypedError(bytes: Buffer): void {
  for (const ctx of CONTEXTS) {
    try {
      decodeMessage(bytes, ctx);
    } catch (err) {
      if (!(err instanceof BGPMessageError)) throw new Error(`non-typed error for ${bytes.toString('hex')}: ${String(err)}`);
      assert.ok(err.code >= 1 && err.code <= 7);
      assert.ok(err.offset >= 0 && err.offset <= Math.max(bytes.length, 19), `offset ${err.offset} outside message of ${bytes.length}`);
    }
  }
}

function header(len: number, type: number): Buffer {
  return Buffer.concat([Buffer.alloc(16, 0xff), Buffer.from([len >> 8, len & 0xff, type])]);
}

const ctx4 = { fourOctetAS: true, myASN: 64512, ibgp: false };
const CORPUS: Buffer[] = [
  encodeMessage({ type: 'open', version: 4, myAS: 64512, holdTime: 90, bgpIdentifier: mustParseIP('10.0.0.2'), capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'route-refresh' }, { kind: 'four-octet-as', asn: 64512 }] }),
  encodeMessage({ type: 'keepalive' }),
  encodeMessage({ type: 'notification', code: 6, subcode: 2, data: Buffer.from('shutdown') }),
  encodeMessage({ type: 'route-refresh', afi: 1, subtype: 0, safi: 1 }),
  ...packAnnouncements(
    [
      { prefix: mustParseCIDR('198.51.100.10/32'), communities: [65535 * 65536 + 65281, 1], localPref: 100 },
      { prefix: mustParseCIDR('203.0.113.0/28'), communities: [], localPref: 0 },
    ],
    () => mustParseIP('192.0.2.1'),
    ctx4,
  ),
  ...packAnnouncements([{ prefix: mustParseCIDR('2001:db8:200::10/128'), communities: [7], localPref: 50 }], () => mustParseIP('2001:db8::1'), { ...ctx4, ibgp: true }),
  ...packWithdrawals([mustParseCIDR('198.51.100.10/32'), mustParseCIDR('2001:db8:200::/64')]),
  endOfRIB(4),
  endOfRIB(6),
];

/** The typed error every context must throw for `bytes`; fails the test on a decode or another error. */
function mustThrowTyped(bytes: Buffer, what: string): void {
  for (const ctx of CONTEXTS) {
    assert.throws(() => decodeMessage(bytes, ctx), (err: unknown) => {
      if (!(err instanceof BGPMessageError)) throw new Error(`${what}: non-typed error for ${bytes.toString('hex')}: ${String(err)}`);
      assert.ok(err.code >= 1 && err.code <= 7);
      assert.ok(err.offset >= 0 && err.offset <= Math.max(bytes.length, 19), `offset ${err.offset} outside message of ${bytes.length}`);
      return true;
    }, `${what} (${JSON.stringify(ctx)}) decoded: ${bytes.toString('hex')}`);
  }
}

/**
 * The body lengths (header included) at which an inner truncation of `msg` is itself a valid
 * message, found by walking the wire format here, not by the decoder under test:
 * - NOTIFICATION: the data field is opaque and ends with the message (RFC 4271 §4.5), so any
 *   cut that keeps code and subcode (21 octets or more) is a NOTIFICATION with shorter data;
 * - UPDATE: the NLRI field has no length of its own and ends with the message (RFC 4271 §4.3),
 *   so a cut at the end of the path attributes or between two NLRI prefixes is an UPDATE with
 *   the first prefixes only.
 * Every other cut leaves a length field pointing past the end and must be refused.
 */
function legitimateCuts(msg: Buffer): Map<number, string> {
  const out = new Map<number, string>();
  if (msg[18] === 3) for (let n = 21; n < msg.length; n++) out.set(n, 'NOTIFICATION with shorter data');
  if (msg[18] === 2) {
    const wLen = msg.readUInt16BE(19);
    const aLen = msg.readUInt16BE(21 + wLen);
    let o = 23 + wLen + aLen;
    let k = 0;
    while (o < msg.length) {
      out.set(o, `UPDATE with the first ${k} NLRI prefix(es)`);
      o += 1 + ((msg[o]! + 7) >> 3);
      k++;
    }
  }
  return out;
}

test('corpus: every truncation of every valid message is refused with a typed error, except the cuts the format allows', (t) => {
  let refused = 0, legitimate = 0;
  for (const msg of CORPUS) {
    const whole = decodeMessage(msg); // the untouched message is valid
    const allowed = legitimateCuts(msg);
    for (let n = 0; n < msg.length; n++) {
      const cut = msg.subarray(0, n);
      // the header's length field still says msg.length: always refused
      mustThrowTyped(cut, `cut at ${n} of ${msg.length}`);
      refused++;
      // a truncated body behind a corrected length field (an inner truncation)
      if (n >= 19) {
        const fixed = Buffer.from(cut);
        fixed.writeUInt16BE(n, 16);
        const why = allowed.get(n);
        if (why === undefined) { mustThrowTyped(fixed, `inner cut at ${n} of ${msg.length}`); refused++; continue; }
        legitimate++;
        for (const ctx of CONTEXTS) {
          // where the whole message is refused (a 4-octet AS_PATH read in a 2-octet context), the
          // cut, whose attributes are the same, is refused the same way
          const wholeOutcome = outcome(msg, ctx);
          if (wholeOutcome !== 'ok') { assert.equal(outcome(fixed, ctx), wholeOutcome, why); continue; }
          const m = decodeMessage(fixed, ctx);
          assert.equal(m.type, whole.type, why);
          if (ctx.validateOnly) continue;
          if (m.type === 'notification' && whole.type === 'notification') {
            assert.deepEqual([m.code, m.subcode, m.data], [whole.code, whole.subcode, whole.data.subarray(0, n - 21)], why);
          } else if (m.type === 'update' && whole.type === 'update') {
            const k: number = Number(/first (\d+)/.exec(why)![1]);
            assert.deepEqual(m.nlri.map(String), whole.nlri.slice(0, k).map(String), why);
            assert.deepEqual(m.withdrawn.map(String), whole.withdrawn.map(String), why);
          } else assert.fail(`${why}: decoded as ${m.type}`);
        }
      }
    }
  }
  t.diagnostic(`${refused} cuts refused, ${legitimate} legitimate cuts decoded`);
  assert.ok(refused > 0 && legitimate > 0, `${refused} refused, ${legitimate} legitimate`);
});

test('corpus: oversized messages (trailing bytes, length beyond 4096) yield a value or a typed error', () => {
  for (const msg of CORPUS) {
    for (const extra of [1, 2, 7, 64]) {
      const longer = Buffer.concat([msg, Buffer.alloc(extra, 0xab)]);
      decodesOrTypedError(longer); // header length disagrees with the buffer
      const declared = Buffer.from(longer);
      declared.writeUInt16BE(longer.length, 16);
      decodesOrTypedError(declared); // header agrees: the body has garbage at its end
    }
    const huge = Buffer.concat([msg, Buffer.alloc(5000 - msg.length)]);
    huge.writeUInt16BE(5000, 16);
    assert.throws(() => decodeMessage(huge), (e: unknown) => e instanceof BGPMessageError && e.code === 1 && e.subcode === 2);
  }
});

test('corpus: every single-bit flip of every valid message yields a value or a typed error', () => {
  for (const msg of CORPUS) {
    for (let bit = 0; bit < msg.length * 8; bit++) {
      const flipped = Buffer.from(msg);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      decodesOrTypedError(flipped);
    }
  }
});

test('random bytes yield a value or a typed error', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => decodesOrTypedError(Buffer.from(bytes))), { numRuns: 3000 });
});

test('random bodies behind a valid header yield a value or a typed error', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 200 }), (type, body) => {
      decodesOrTypedError(Buffer.concat([header(19 + body.length, type), body]));
    }),
    { numRuns: 5000 },
  );
});

test('random attribute sections inside an UPDATE yield a value or a typed error', () => {
  const attr = fc.tuple(fc.constantFrom(0x40, 0x80, 0xc0, 0x50, 0xd0, 0x00, 0xe0), fc.integer({ min: 0, max: 20 }), fc.uint8Array({ maxLength: 40 })).map(([flags, type, value]) => {
    const ext = (flags & 0x10) !== 0;
    return Buffer.concat([Buffer.from(ext ? [flags, type, value.length >> 8, value.length & 0xff] : [flags, type, value.length]), value]);
  });
  fc.assert(
    fc.property(fc.array(attr, { maxLength: 6 }), fc.uint8Array({ maxLength: 20 }), (attrs, nlri) => {
      const a = Buffer.concat(attrs);
      const body = Buffer.concat([Buffer.from([0, 0, a.length >> 8, a.length & 0xff]), a, nlri]);
      decodesOrTypedError(Buffer.concat([header(19 + body.length, 2), body]));
    }),
    { numRuns: 5000 },
  );
});

test('validate-only decoding (used for UPDATEs from the peer) accepts and rejects exactly what full decoding does', () => {
  for (const msg of CORPUS) {
    for (let bit = 0; bit < msg.length * 8; bit++) {
      const flipped = Buffer.from(msg);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(outcome(flipped, { fourOctetAS: true, validateOnly: true }), outcome(flipped, { fourOctetAS: true }), flipped.toString('hex'));
    }
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (body) => {
      const b = Buffer.concat([header(19 + body.length, 2), body]);
      assert.equal(outcome(b, { fourOctetAS: true, validateOnly: true }), outcome(b, { fourOctetAS: true }));
    }),
    { numRuns: 3000 },
  );
});

// ------------------------------------------------------------------------------------ structured round trips

const v4 = fc.integer({ min: 0, max: 0xffffffff }).map((n) => IPAddress.of(4, BigInt(n)));
const v4host = fc.integer({ min: 0x01000000, max: 0xdfffffff }).map((n) => IPAddress.of(4, BigInt(n)));
const v6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map((n) => IPAddress.of(6, n));
const cidr4 = fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([ip, len]) => CIDR.of(ip, len));
const cidr6 = fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([ip, len]) => CIDR.of(ip, len));
const asn4 = fc.integer({ min: 0, max: 0xffffffff });
const segment = fc.record({ segmentType: fc.integer({ min: 1, max: 4 }), asns: fc.array(asn4, { minLength: 1, maxLength: 5 }) });

const attributes: fc.Arbitrary<PathAttribute[]> = fc
  .record({
    origin: fc.integer({ min: 0, max: 2 }),
    path: fc.array(segment, { maxLength: 3 }),
    nextHop: v4host,
    med: fc.option(asn4, { nil: undefined }),
    localPref: fc.option(asn4, { nil: undefined }),
    communities: fc.array(asn4, { minLength: 1, maxLength: 70 }),
    reach: fc.option(fc.record({ nh: v6, nlri: fc.array(cidr6, { maxLength: 5 }) }), { nil: undefined }),
    unreach: fc.option(fc.array(cidr6, { maxLength: 5 }), { nil: undefined }),
  })
  .map((r) => {
    const out: PathAttribute[] = [
      { type: 'origin', origin: r.origin },
      { type: 'as-path', segments: r.path },
      { type: 'next-hop', nextHop: r.nextHop },
    ];
    if (r.med !== undefined) out.push({ type: 'med', med: r.med });
    if (r.localPref !== undefined) out.push({ type: 'local-pref', localPref: r.localPref });
    out.push({ type: 'communities', communities: r.communities });
    if (r.reach) out.push({ type: 'mp-reach', afi: 2, safi: 1, nextHops: [r.reach.nh], nlri: r.reach.nlri });
    if (r.unreach) out.push({ type: 'mp-unreach', afi: 2, safi: 1, withdrawn: r.unreach });
    return out;
  });

const message: fc.Arbitrary<BGPMessage> = fc.oneof(
  fc.record({
    type: fc.constant('open' as const),
    version: fc.integer({ min: 0, max: 255 }),
    myAS: fc.integer({ min: 0, max: 0xffff }),
    holdTime: fc.integer({ min: 0, max: 0xffff }),
    bgpIdentifier: v4,
    capabilities: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('multiprotocol' as const), afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }) }),
        fc.constant({ kind: 'route-refresh' as const }),
        fc.record({ kind: fc.constant('four-octet-as' as const), asn: asn4 }),
        fc.record({ kind: fc.constant('unknown' as const), code: fc.constantFrom(64, 69, 70, 73, 128), value: fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u)) }),
      ),
      { maxLength: 8 },
    ),
  }),
  fc.record({ type: fc.constant('update' as const), withdrawn: fc.array(cidr4, { maxLength: 20 }), attributes, nlri: fc.array(cidr4, { maxLength: 20 }) }),
  fc.record({ type: fc.constant('notification' as const), code: fc.integer({ min: 1, max: 7 }), subcode: fc.integer({ min: 0, max: 11 }), data: fc.uint8Array({ maxLength: 30 }).map((u) => Buffer.from(u)) }),
  fc.constant({ type: 'keepalive' as const }),
  fc.record({ type: fc.constant('route-refresh' as const), afi: fc.integer({ min: 0, max: 0xffff }), subtype: fc.integer({ min: 0, max: 255 }), safi: fc.integer({ min: 0, max: 255 }) }),
);

test('random well-formed messages round-trip (4-octet AS context)', () => {
  fc.assert(
    fc.property(message, (m) => {
      const bytes = encodeMessage(m);
      assert.deepEqual(decodeMessage(bytes), plain(m));
    }),
    { numRuns: 2000 },
  );
});

test('the framer reassembles any chunking of a stream of messages', () => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 20 }), (msgs, cuts) => {
      const stream = Buffer.concat(msgs.map((m) => encodeMessage(m)));
      const framer = new MessageFramer();
      const got: Buffer[] = [];
      let o = 0;
      for (const c of cuts) {
        got.push(...framer.push(stream.subarray(o, Math.min(stream.length, o + c))));
        o = Math.min(stream.length, o + c);
      }
      got.push(...framer.push(stream.subarray(o)));
      assert.deepEqual(got.map((b) => decodeMessage(b)), plain(msgs));
    }),
    { numRuns: 500 },
  );
});
