// Codec tests: the byte examples of docs/behaviour/memberlist-wire.md#examples (bytes printed by Go memberlist v0.1.7), the
// captures recorded from real Go members by test/interop/memberlist/peer (-vectors), round trips
// of every message kind, and fuzzing with random and truncated input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { MemberlistDecodeError } from '../../../lib/memberlist/errors.js';
import { lzwCompress, lzwDecompress } from '../../../lib/memberlist/lzw.js';
import {
  addCrc, decodeCompound, decodeMessage, decodePacket, encodeCompound, encodeCompressed, encodeMessage, encodePacket,
  decodeCompressed, type PacketMessage,
} from '../../../lib/memberlist/packet.js';
import { decryptPayload, deriveSecretKey, encryptPayload } from '../../../lib/memberlist/security.js';
import { encodeStream, encodeStreamPlaintext, parseStream, type StreamMessage } from '../../../lib/memberlist/stream.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const VSN = hex('010502000000');
const IP = hex('0a000001');
const KEY = deriveSecretKey(Buffer.from('AAECAwQFBgcICQoLDA0ODw'));
const NONCE = hex('000102030405060708090a0b');

// ---- docs/behaviour/memberlist-wire.md#key-derivation and docs/behaviour/memberlist-wire.md#examples ---------------------------------------------------------------

test('key derivation from the MetalLB secret (first16(secret ‖ SHA256("")))', () => {
  const cases: [string, string][] = [
    ['abc', '616263e3b0c44298fc1c149afbf4c899'],
    ['0123456789abcdefXYZ', '30313233343536373839616263646566'],
    ['AAECAwQFBgcICQoLDA0ODw', '41414543417751464267634943516f4c'],
  ];
  for (const [secret, key] of cases) assert.equal(deriveSecretKey(Buffer.from(secret)).toString('hex'), key, secret);
  assert.equal(deriveSecretKey(Buffer.from('abc'), 32).length, 32);
});

const PING = hex('00 82 a44e6f6465 a66e6f64652d62 a55365714e6f 01');
const SUSPECT = hex('03 83 a446726f6d a66e6f64652d61 ab496e6361726e6174696f6e 03 a44e6f6465 a66e6f64652d63');

const specMessages: [string, PacketMessage, Buffer][] = [
  ['ping', { type: 'ping', body: { seqNo: 1, node: 'node-b' } }, PING],
  ['ack', { type: 'ack', body: { seqNo: 1, payload: null } }, hex('02 82 a75061796c6f6164 c0 a55365714e6f 01')],
  ['nack', { type: 'nack', body: { seqNo: 300 } }, hex('0b 81 a55365714e6f cd012c')],
  ['indirect ping', { type: 'indirectPing', body: { seqNo: 7, target: IP, port: 7946, node: 'node-c', nack: true } },
    hex('01 85 a44e61636b c3 a44e6f6465 a66e6f64652d63 a4506f7274 cd1f0a a55365714e6f 07 a6546172676574 a40a000001')],
  ['alive', { type: 'alive', body: { incarnation: 1, node: 'node-a', addr: IP, port: 7946, meta: null, vsn: VSN } },
    hex('04 86 a441646472 a40a000001 ab496e6361726e6174696f6e 01 a44d657461 c0 a44e6f6465 a66e6f64652d61 a4506f7274 cd1f0a a356736e a6010502000000')],
  ['suspect', { type: 'suspect', body: { incarnation: 3, node: 'node-c', from: 'node-a' } }, SUSPECT],
  ['dead (leave)', { type: 'dead', body: { incarnation: 3, node: 'node-a', from: 'node-a' } },
    hex('05 83 a446726f6d a66e6f64652d61 ab496e6361726e6174696f6e 03 a44e6f6465 a66e6f64652d61')],
];

for (const [name, msg, bytes] of specMessages) {
  test(`docs/behaviour/memberlist-wire.md#examples ${name}: encodes to Go's bytes and decodes back`, () => {
    assert.equal(encodeMessage(msg).toString('hex'), bytes.toString('hex'));
    assert.deepEqual(decodeMessage(bytes), msg);
  });
}

test('docs/behaviour/memberlist-wire.md#examples longer fields: str16 names (never str8), uint32 and uint8 forms', () => {
  const name = 'n'.repeat(36);
  const b = encodeMessage({ type: 'ping', body: { seqNo: 70000, node: name } });
  assert.ok(b.includes(Buffer.concat([hex('da0024'), Buffer.from(name)])));
  assert.ok(b.includes(hex('a55365714e6fce00011170')));
  const s = encodeMessage({ type: 'suspect', body: { incarnation: 200, node: 'x', from: 'y' } });
  assert.ok(s.includes(hex('ab496e6361726e6174696f6eccc8')));
});

test('docs/behaviour/memberlist-wire.md#examples compound of ping and suspect', () => {
  const c = encodeCompound([PING, SUSPECT]);
  assert.equal(c.length, 66);
  assert.equal(c.subarray(0, 6).toString('hex'), '070200150027');
  const parts = decodeCompound(c);
  assert.equal(parts.truncated, 0);
  assert.deepEqual(parts.parts.map((p) => p.buf.toString('hex')), [PING.toString('hex'), SUSPECT.toString('hex')]);
  // a part running past the end is dropped with every part after it
  const cut = decodeCompound(c.subarray(0, 60));
  assert.equal(cut.parts.length, 1);
  assert.equal(cut.truncated, 1);
});

test('docs/behaviour/memberlist-wire.md#examples compressed ping is byte-identical with Go', () => {
  const c = encodeCompressed(PING);
  assert.equal(c.toString('hex'), '0982a4416c676f00a3427566b8' + '00010822e5e40d9932a6dc182cd3424ca92965e2140c1010');
  assert.equal(decodeCompressed(c, 1000).message.toString('hex'), PING.toString('hex'));
  // on UDP the compressed form is longer, so it is not used
  assert.equal(encodePacket(PING, { compress: true, crc: false, key: null }).toString('hex'), PING.toString('hex'));
});

test('docs/behaviour/memberlist-wire.md#examples encrypted ping: version 1, version 1 with CRC, version 0', () => {
  const v1 = encryptPayload(1, KEY, PING, null, NONCE);
  assert.equal(v1.toString('hex'), '01000102030405060708090a0b' + 'cba0e4cbe826863c390f4db412bc7f8c4f09e74f26' + '05b4df7191933c2629a3a4e78d7ffc7e');
  const crc = addCrc(PING);
  assert.equal(crc.toString('hex'), '0ce3c32310' + PING.toString('hex'));
  const v1crc = encryptPayload(1, KEY, crc, null, NONCE);
  assert.equal(v1crc.toString('hex'), '01000102030405060708090a0b' + 'c7c183a69742613e190f4db499b0b5bb4f55cb8574f30846f3ae' + '1cd27951f4b47f1361a858c9c2184f4c');
  const v0 = encryptPayload(0, KEY, PING, null, NONCE);
  assert.equal(v0.length, 61);
  assert.equal(v0.toString('hex'), '00000102030405060708090a0b' + 'cba0e4cbe826863c390f4db412bc7f8c4f09e74f26' + '9d720397a4e25311585271' + '9e6c565484f90dd8df2f8c525a980805');
  for (const p of [v1, v1crc, v0]) {
    const d = decodePacket(p, [KEY]);
    assert.deepEqual(d.messages, [{ type: 'ping', body: { seqNo: 1, node: 'node-b' } }]);
    assert.deepEqual(d.errors, []);
  }
  assert.equal(decodePacket(v1crc, [KEY]).hadCrc, true);
  assert.throws(() => decodePacket(v1, [deriveSecretKey(Buffer.from('another secret value'))]), (e: unknown) => e instanceof MemberlistDecodeError && e.code === 'decrypt');
  const badCrc = Buffer.from(crc);
  badCrc[8]! ^= 1;
  assert.throws(() => decodePacket(badCrc, null), (e: unknown) => e instanceof MemberlistDecodeError && e.code === 'crc');
});

const PUSH_PULL = hex(`06 83 a44a6f696e c3 a54e6f646573 01 ac5573657253746174654c656e 00
  87 a441646472 a40a000001 ab496e6361726e6174696f6e 01 a44d657461 c0 a44e616d65 a66e6f64652d61
  a4506f7274 cd1f0a a55374617465 00 a356736e a6010502000000`);
const PUSH_PULL_MSG: StreamMessage = {
  type: 'pushPull',
  header: { join: true, nodes: 1, userStateLen: 0 },
  states: [{ name: 'node-a', addr: IP, port: 7946, meta: null, incarnation: 1, state: 0, vsn: VSN }],
  userState: Buffer.alloc(0),
};

test('docs/behaviour/memberlist-wire.md#examples push/pull request: plaintext, compressed, encrypted stream', () => {
  assert.equal(PUSH_PULL.length, 97);
  assert.equal(encodeStreamPlaintext(PUSH_PULL_MSG).toString('hex'), PUSH_PULL.toString('hex'));
  const compressed = encodeCompressed(PUSH_PULL);
  assert.equal(compressed.length, 120);
  assert.ok(compressed.toString('hex').startsWith('0982a4416c676f00a3427566da0069' + '000d0c22a5e44d1a'));
  const wire = encodeStream(PUSH_PULL_MSG, { compress: true, key: KEY }, NONCE);
  assert.equal(wire.length, 154);
  assert.equal(wire.subarray(0, 5).toString('hex'), '0a00000095');
  const parsed = parseStream(wire, { keys: [KEY] });
  assert.equal(parsed.status, 'done');
  if (parsed.status === 'done') {
    assert.deepEqual(parsed.message, PUSH_PULL_MSG);
    assert.equal(parsed.consumed, 154);
  }
  // unencrypted, uncompressed: every proper prefix asks for more (with a lower bound on the
  // length that is never past the real end), the whole parses
  for (let i = 0; i < PUSH_PULL.length; i++) {
    const p = parseStream(PUSH_PULL.subarray(0, i), { keys: null });
    assert.equal(p.status, 'more', `prefix ${i}`);
    if (p.status === 'more' && p.needed !== undefined) assert.ok(p.needed > i && p.needed <= PUSH_PULL.length, `prefix ${i}: needed ${p.needed}`);
  }
  const compressedWire = encodeStream(PUSH_PULL_MSG, { compress: true, key: null });
  for (let i = 0; i < compressedWire.length; i++) {
    const p = parseStream(compressedWire.subarray(0, i), { keys: null });
    assert.equal(p.status, 'more');
    if (p.status === 'more' && p.needed !== undefined) assert.ok(p.needed > i && p.needed <= compressedWire.length, `compressed prefix ${i}: needed ${p.needed}`);
  }
  const encPrefix = parseStream(wire.subarray(0, 10), { keys: [KEY] });
  assert.deepEqual(encPrefix, { status: 'more', needed: 154 });
  assert.equal(parseStream(PUSH_PULL, { keys: null }).status, 'done');
  // encryption configured but the peer sends plaintext: refused
  assert.throws(() => parseStream(PUSH_PULL, { keys: [KEY] }), MemberlistDecodeError);
});

test('docs/behaviour/memberlist-wire.md#examples user message on TCP', () => {
  const b = encodeStreamPlaintext({ type: 'user', header: { userMsgLen: 3 }, payload: Buffer.from('abc') });
  assert.equal(b.toString('hex'), '0881aa557365724d73674c656e03616263');
});

// ---- captures from real Go members ---------------------------------------------------------

interface Capture { kind: 'udp' | 'tcp'; from: string; to: string; hex: string }
interface Scenario { name: string; secret: string; key_hex: string; compress: boolean; members: string[]; captures: Capture[] }
const vectorsPath = fileURLToPath(new URL('../../../../test/interop/memberlist/vectors/go-memberlist-v0.1.7.json', import.meta.url));
const scenarios = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { scenarios: Scenario[] }).scenarios;

/** Re-encodes a plaintext datagram from what we decoded of it, the way Go built it. */
function reencodePlain(buf: Buffer): Buffer {
  if (buf[0] === 12) return addCrc(reencodePlain(buf.subarray(5)));
  if (buf[0] === 7) return encodeCompound(decodeCompound(buf).parts.map((p) => reencodePlain(p.buf)));
  if (buf[0] === 9) return encodeCompressed(reencodePlain(decodeCompressed(buf, 1 << 20).message));
  return encodeMessage(decodeMessage(buf));
}

for (const sc of scenarios) {
  test(`Go v0.1.7 captures (${sc.name}): every datagram decodes and re-encodes to Go's exact bytes`, () => {
    const keys = sc.key_hex ? [Buffer.from(sc.key_hex, 'hex')] : null;
    assert.equal(keys?.[0]?.toString('hex') ?? '', sc.secret ? deriveSecretKey(Buffer.from(sc.secret)).toString('hex') : '');
    const seen = new Set<string>();
    let udp = 0;
    for (const c of sc.captures.filter((x) => x.kind === 'udp')) {
      const wire = Buffer.from(c.hex, 'hex');
      const decoded = decodePacket(wire, keys);
      assert.deepEqual(decoded.errors, [], c.hex);
      assert.equal(decoded.truncatedParts, 0);
      for (const m of decoded.messages) seen.add(m.type);
      const plain = keys ? decryptPayload(keys, wire, null) : wire;
      assert.equal(reencodePlain(plain).toString('hex'), plain.toString('hex'));
      udp++;
    }
    assert.ok(udp > 20);
    // the crash and leave in the scenario produce every gossip and probe message kind
    for (const t of ['ping', 'indirectPing', 'ack', 'nack', 'suspect', 'alive', 'dead']) assert.ok(seen.has(t), `${sc.name} lacks ${t}`);
  });

  test(`Go v0.1.7 captures (${sc.name}): every stream parses and re-encodes to Go's exact plaintext`, () => {
    const keys = sc.key_hex ? [Buffer.from(sc.key_hex, 'hex')] : null;
    const streams = sc.captures.filter((x) => x.kind === 'tcp');
    assert.ok(streams.length >= 4);
    for (const c of streams) {
      const wire = Buffer.from(c.hex, 'hex');
      const parsed = parseStream(wire, { keys });
      assert.equal(parsed.status, 'done');
      if (parsed.status !== 'done') continue;
      assert.equal(parsed.consumed, wire.length);
      assert.equal(parsed.message.type, 'pushPull');
      if (parsed.message.type === 'pushPull') {
        assert.ok(parsed.message.states.length >= 1);
        for (const s of parsed.message.states) assert.equal(s.vsn?.toString('hex'), '010502000000');
      }
      const again = encodeStreamPlaintext(parsed.message);
      const inner = keys ? decryptPayload(keys, wire.subarray(5), wire.subarray(0, 5)) : wire;
      // Go compresses every stream when compression is on
      const ours = sc.compress ? encodeCompressed(again) : again;
      assert.equal(ours.toString('hex'), inner.toString('hex'));
    }
  });
}

// ---- round trips ---------------------------------------------------------------------------

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const name = fc.string({ maxLength: 70 });
const bytesOrNull = fc.option(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), { nil: null });
const ip = fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })).map((a) => Buffer.from(a));

const packetMessage: fc.Arbitrary<PacketMessage> = fc.oneof(
  fc.record({ seqNo: u32, node: name }, { noNullPrototype: true }).map((body) => ({ type: 'ping' as const, body })),
  fc.record({ seqNo: u32, target: ip, port: u16, node: name, nack: fc.boolean() }, { noNullPrototype: true }).map((body) => ({ type: 'indirectPing' as const, body })),
  fc.record({ seqNo: u32, payload: bytesOrNull }, { noNullPrototype: true }).map((body) => ({ type: 'ack' as const, body })),
  fc.record({ seqNo: u32 }, { noNullPrototype: true }).map((body) => ({ type: 'nack' as const, body })),
  fc.record({ incarnation: u32, node: name, from: name }, { noNullPrototype: true }).map((body) => ({ type: 'suspect' as const, body })),
  fc.record({ incarnation: u32, node: name, from: name }, { noNullPrototype: true }).map((body) => ({ type: 'dead' as const, body })),
  fc.record({ incarnation: u32, node: name, addr: ip, port: u16, meta: bytesOrNull, vsn: fc.constant(VSN) }, { noNullPrototype: true }).map((body) => ({ type: 'alive' as const, body })),
  fc.record({ error: name }, { noNullPrototype: true }).map((body) => ({ type: 'err' as const, body })),
  fc.uint8Array({ maxLength: 100 }).map((a) => ({ type: 'user' as const, payload: Buffer.from(a) })),
);

test('every packet message kind round-trips (property)', () => {
  fc.assert(fc.property(packetMessage, (m) => {
    assert.deepEqual(decodeMessage(encodeMessage(m)), m);
  }), { numRuns: 2000 });
});

test('packets round-trip through compound, compression, CRC and encryption (property)', () => {
  fc.assert(fc.property(fc.array(packetMessage, { minLength: 1, maxLength: 6 }), fc.boolean(), fc.boolean(), fc.boolean(),
    (msgs, compress, crc, encrypt) => {
      const parts = msgs.map(encodeMessage);
      const msg = parts.length === 1 ? parts[0]! : encodeCompound(parts);
      const wire = encodePacket(msg, { compress, crc, key: encrypt ? KEY : null });
      const d = decodePacket(wire, encrypt ? [KEY] : null);
      assert.deepEqual(d.messages, msgs);
      assert.deepEqual(d.errors, []);
    }), { numRuns: 500 });
});

const nodeState = fc.record({ name, addr: ip, port: u16, meta: bytesOrNull, incarnation: u32, state: fc.integer({ min: 0, max: 3 }), vsn: fc.constant(VSN) }, { noNullPrototype: true });
const streamMessage: fc.Arbitrary<StreamMessage> = fc.oneof(
  fc.record({ join: fc.boolean(), states: fc.array(nodeState, { maxLength: 20 }), userState: fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a)) }, { noNullPrototype: true })
    .map(({ join, states, userState }) => ({ type: 'pushPull' as const, header: { join, nodes: states.length, userStateLen: userState.length }, states, userState })),
  fc.record({ seqNo: u32, node: name }, { noNullPrototype: true }).map((body) => ({ type: 'ping' as const, body })),
  fc.record({ seqNo: u32, payload: bytesOrNull }, { noNullPrototype: true }).map((body) => ({ type: 'ack' as const, body })),
  fc.record({ error: name }, { noNullPrototype: true }).map((body) => ({ type: 'err' as const, body })),
  fc.uint8Array({ maxLength: 50 }).map((a) => ({ type: 'user' as const, header: { userMsgLen: a.length }, payload: Buffer.from(a) })),
);

test('stream messages round-trip with and without compression/encryption (property)', () => {
  fc.assert(fc.property(streamMessage, fc.boolean(), fc.boolean(), (m, compress, encrypt) => {
    const wire = encodeStream(m, { compress, key: encrypt ? KEY : null });
    const p = parseStream(wire, { keys: encrypt ? [KEY] : null });
    assert.equal(p.status, 'done');
    if (p.status === 'done') {
      assert.deepEqual(p.message, m);
      assert.equal(p.consumed, wire.length);
    }
  }), { numRuns: 500 });
});

test('LZW round-trips arbitrary data, including inputs large enough to reset the table', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (a) => {
    assert.deepEqual(lzwDecompress(lzwCompress(a), 1 << 20), Buffer.from(a));
  }), { numRuns: 300 });
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251 ^ (i >> 9);
  assert.deepEqual(lzwDecompress(lzwCompress(big), 1 << 20), big);
  assert.deepEqual(lzwDecompress(lzwCompress(Buffer.alloc(0)), 10), Buffer.alloc(0));
});

test('LZW decoder accepts a stream without the leading clear code and enforces its output cap', () => {
  // 9-bit codes, LSB first: 'a' (0x61), 'b' (0x62), end (257)
  const codes = [0x61, 0x62, 257];
  let bits = 0n;
  codes.forEach((c, i) => { bits |= BigInt(c) << BigInt(9 * i); });
  const bytes = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) bytes[i] = Number((bits >> BigInt(8 * i)) & 0xffn);
  assert.equal(lzwDecompress(bytes, 100).toString(), 'ab');
  assert.throws(() => lzwDecompress(lzwCompress(Buffer.alloc(1000, 1)), 999), (e: unknown) => e instanceof MemberlistDecodeError && e.code === 'too-large');
  assert.throws(() => lzwDecompress(Buffer.from([0xff, 0xff]), 100), MemberlistDecodeError);
});

// ---- fuzzing: malformed input gives typed errors, never anything else -------------------------

const onlyTypedErrors = (f: () => unknown): void => {
  try {
    f();
  } catch (err) {
    if (!(err instanceof MemberlistDecodeError)) throw err;
    assert.match(err.message, /at offset \d+$/);
  }
};

const corpus: Buffer[] = [PING, SUSPECT, PUSH_PULL, encodeCompound([PING, SUSPECT]), encodeCompressed(PUSH_PULL),
  addCrc(PING), encryptPayload(1, KEY, PING, null), encodeStream(PUSH_PULL_MSG, { compress: true, key: KEY }),
  ...scenarios.flatMap((s) => s.captures.slice(0, 40).map((c) => Buffer.from(c.hex, 'hex')))];

test('truncated and bit-flipped packets from the corpus never throw anything but MemberlistDecodeError', () => {
  for (const p of corpus) {
    for (let i = 0; i <= p.length; i++) {
      onlyTypedErrors(() => decodePacket(p.subarray(0, i), null));
      onlyTypedErrors(() => decodePacket(p.subarray(0, i), [KEY]));
      onlyTypedErrors(() => parseStream(p.subarray(0, i), { keys: null }));
      onlyTypedErrors(() => parseStream(p.subarray(0, i), { keys: [KEY] }));
    }
  }
  fc.assert(fc.property(fc.integer({ min: 0, max: corpus.length - 1 }), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat(255), (which, positions, x) => {
    const p = Buffer.from(corpus[which]!);
    for (const pos of positions) p[pos % p.length] = x;
    onlyTypedErrors(() => decodePacket(p, null));
    onlyTypedErrors(() => parseStream(p, { keys: null }));
  }), { numRuns: 3000 });
});

test('random bytes never throw anything but MemberlistDecodeError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (a) => {
    onlyTypedErrors(() => decodePacket(a, null));
    onlyTypedErrors(() => decodePacket(a, [KEY]));
    onlyTypedErrors(() => parseStream(a, { keys: null }));
    onlyTypedErrors(() => parseStream(a, { keys: [KEY] }));
    onlyTypedErrors(() => lzwDecompress(a, 1 << 16));
  }), { numRuns: 5000 });
  // random bytes behind each type byte exercise every body decoder
  fc.assert(fc.property(fc.integer({ min: 0, max: 13 }), fc.uint8Array({ maxLength: 200 }), (t, a) => {
    const p = Buffer.concat([Buffer.from([t]), a]);
    onlyTypedErrors(() => decodePacket(p, null));
    onlyTypedErrors(() => parseStream(p, { keys: null }));
  }), { numRuns: 5000 });
});

test('decode errors name what is wrong and where', () => {
  const bad = Buffer.from(PING);
  bad[1] = 0xc4; // bin where a map is expected
  const d = decodePacket(bad, null);
  assert.equal(d.errors.length, 1);
  assert.equal(d.errors[0]!.offset, 1);
  assert.match(d.errors[0]!.message, /ping: expected a map, found descriptor 0xc4 at offset 1/);
  const bigPort = encodeMessage({ type: 'alive', body: { incarnation: 1, node: 'a', addr: IP, port: 1, meta: null, vsn: VSN } });
  const idx = bigPort.indexOf(hex('a4506f7274')) + 5;
  const patched = Buffer.concat([bigPort.subarray(0, idx), hex('ce00010000'), bigPort.subarray(idx + 1)]);
  assert.throws(() => decodeMessage(patched), /alive.Port: 65536 is outside 0..65535/);
});
