// UDP packet framing (docs/behaviour/memberlist-wire.md#packets, docs/behaviour/memberlist-wire.md#lzw): single messages, compound, compress, CRC, encryption,
// and the inbound pipeline that turns one datagram into the messages it carries.

import { crc32 } from 'node:zlib';
import { MemberlistDecodeError } from './errors.js';
import { lzwCompress, lzwDecompress } from './lzw.js';
import {
  MessageType,
  readAck, readAlive, readCompress, readDead, readErrResp, readIndirectPing, readNack, readPing, readSuspect,
  writeAck, writeAlive, writeCompress, writeDead, writeErrResp, writeIndirectPing, writeNack, writePing, writeSuspect,
  type Ack, type Alive, type Dead, type ErrResp, type IndirectPing, type Nack, type Ping, type Suspect,
} from './messages.js';
import { MsgpackReader, MsgpackWriter } from './msgpack.js';
import { decryptPayload, encryptPayload, type EncryptionVersion } from './security.js';

/** A message that can travel on its own inside a datagram (after compound/compress/CRC are undone). */
export type PacketMessage =
  | { type: 'ping'; body: Ping }
  | { type: 'indirectPing'; body: IndirectPing }
  | { type: 'ack'; body: Ack }
  | { type: 'nack'; body: Nack }
  | { type: 'suspect'; body: Suspect }
  | { type: 'alive'; body: Alive }
  | { type: 'dead'; body: Dead }
  | { type: 'err'; body: ErrResp }
  | { type: 'user'; payload: Buffer };

/** Largest datagram Go reads, and so the largest we accept. */
export const MAX_PACKET_SIZE = 65536;
/** Cap on a decompressed UDP message (Go sets none; a packet cannot legitimately need more). */
export const MAX_PACKET_DECOMPRESSED = 512 * 1024;
/** Nesting of compound/compress inside one datagram that we follow. */
const MAX_NESTING = 8;

type Codec<T> = { write: (w: MsgpackWriter, m: T) => void; read: (r: MsgpackReader) => T; code: number };
const codecs = {
  ping: { write: writePing, read: readPing, code: MessageType.ping } as Codec<Ping>,
  indirectPing: { write: writeIndirectPing, read: readIndirectPing, code: MessageType.indirectPing } as Codec<IndirectPing>,
  ack: { write: writeAck, read: readAck, code: MessageType.ack } as Codec<Ack>,
  nack: { write: writeNack, read: readNack, code: MessageType.nack } as Codec<Nack>,
  suspect: { write: writeSuspect, read: readSuspect, code: MessageType.suspect } as Codec<Suspect>,
  alive: { write: writeAlive, read: readAlive, code: MessageType.alive } as Codec<Alive>,
  dead: { write: writeDead, read: readDead, code: MessageType.dead } as Codec<Dead>,
  err: { write: writeErrResp, read: readErrResp, code: MessageType.err } as Codec<ErrResp>,
};

/** `[type][msgpack body]` (or `[8][payload]` for a UDP user message). */
export function encodeMessage(m: PacketMessage): Buffer {
  const w = new MsgpackWriter(64);
  switch (m.type) {
    case 'user':
      return w.appendByte(MessageType.user).append(m.payload).finish();
    case 'ping': w.appendByte(codecs.ping.code); codecs.ping.write(w, m.body); break;
    case 'indirectPing': w.appendByte(codecs.indirectPing.code); codecs.indirectPing.write(w, m.body); break;
    case 'ack': w.appendByte(codecs.ack.code); codecs.ack.write(w, m.body); break;
    case 'nack': w.appendByte(codecs.nack.code); codecs.nack.write(w, m.body); break;
    case 'suspect': w.appendByte(codecs.suspect.code); codecs.suspect.write(w, m.body); break;
    case 'alive': w.appendByte(codecs.alive.code); codecs.alive.write(w, m.body); break;
    case 'dead': w.appendByte(codecs.dead.code); codecs.dead.write(w, m.body); break;
    case 'err': w.appendByte(codecs.err.code); codecs.err.write(w, m.body); break;
  }
  return w.finish();
}

/** Decodes one plain message (type byte + body); `base` is its offset in the datagram. */
export function decodeMessage(buf: Uint8Array, base = 0): PacketMessage {
  if (buf.length < 1) throw new MemberlistDecodeError('truncated', 'empty message', base);
  const r = new MsgpackReader(buf, 1, base);
  const t = buf[0]!;
  switch (t) {
    case MessageType.ping: return { type: 'ping', body: readPing(r) };
    case MessageType.indirectPing: return { type: 'indirectPing', body: readIndirectPing(r) };
    case MessageType.ack: return { type: 'ack', body: readAck(r) };
    case MessageType.nack: return { type: 'nack', body: readNack(r) };
    case MessageType.suspect: return { type: 'suspect', body: readSuspect(r) };
    case MessageType.alive: return { type: 'alive', body: readAlive(r) };
    case MessageType.dead: return { type: 'dead', body: readDead(r) };
    case MessageType.err: return { type: 'err', body: readErrResp(r) };
    case MessageType.user: return { type: 'user', payload: Buffer.from(buf.subarray(1)) };
    default:
      throw new MemberlistDecodeError('unknown-type', `message type ${t} is not valid in a packet`, base);
  }
}

/** `[7][count][u16 lengths…][parts…]` (docs/behaviour/memberlist-wire.md#compound). At most 255 parts. */
export function encodeCompound(parts: readonly Uint8Array[]): Buffer {
  if (parts.length < 1 || parts.length > 255) throw new RangeError(`a compound carries 1..255 parts, got ${parts.length}`);
  const head = Buffer.allocUnsafe(2 + 2 * parts.length);
  head[0] = MessageType.compound;
  head[1] = parts.length;
  parts.forEach((p, i) => {
    if (p.length > 0xffff) throw new RangeError(`compound part ${i} is ${p.length} bytes (max 65535)`);
    head.writeUInt16BE(p.length, 2 + 2 * i);
  });
  return Buffer.concat([head, ...parts]);
}

export interface CompoundParts {
  /** Each complete part with its offset inside the buffer given. */
  parts: { buf: Buffer; offset: number }[];
  /** Parts announced but cut off by the end of the buffer (Go logs and ignores them). */
  truncated: number;
}

/** Splits a compound message (buffer starts at the 0x07 type byte). */
export function decodeCompound(buf: Uint8Array, base = 0): CompoundParts {
  if (buf.length < 2) throw new MemberlistDecodeError('truncated', 'compound header', base);
  const count = buf[1]!;
  const tableEnd = 2 + 2 * count;
  if (buf.length < tableEnd) throw new MemberlistDecodeError('truncated', `compound length table for ${count} parts`, base + buf.length);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const parts: { buf: Buffer; offset: number }[] = [];
  let pos = tableEnd;
  for (let i = 0; i < count; i++) {
    const len = b.readUInt16BE(2 + 2 * i);
    if (pos + len > b.length) return { parts, truncated: count - i };
    parts.push({ buf: b.subarray(pos, pos + len), offset: base + pos });
    pos += len;
  }
  return { parts, truncated: 0 };
}

/** `[9]{Algo: 0, Buf: LZW(message)}`. */
export function encodeCompressed(message: Uint8Array): Buffer {
  const w = new MsgpackWriter(message.length + 32);
  w.appendByte(MessageType.compress);
  writeCompress(w, { algo: 0, buf: lzwCompress(message) });
  return w.finish();
}

/** Undoes encodeCompressed (buffer starts at the 0x09 type byte); returns the inner message and the bytes consumed. */
export function decodeCompressed(buf: Uint8Array, maxOutput: number, base = 0): { message: Buffer; consumed: number } {
  const r = new MsgpackReader(buf, 1, base);
  const c = readCompress(r);
  if (c.algo !== 0) throw new MemberlistDecodeError('invalid', `unknown compression algorithm ${c.algo}`, base + 1);
  if (c.buf === null) throw new MemberlistDecodeError('invalid', 'compress message without Buf', base + 1);
  try {
    return { message: lzwDecompress(c.buf, maxOutput), consumed: r.offset };
  } catch (err) {
    // the Buf value is complete, so LZW data ending early is corrupt, not "wait for more"
    if (err instanceof MemberlistDecodeError && err.code === 'truncated') {
      throw new MemberlistDecodeError('invalid', `compress.Buf: ${err.what}`, base + 1);
    }
    throw err;
  }
}

/** `[12][CRC-32 BE][message]`. */
export function addCrc(message: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = MessageType.hasCrc;
  head.writeUInt32BE(crc32(message) >>> 0, 1);
  return Buffer.concat([head, message]);
}

export interface OutboundPacketOptions {
  /** LZW-compress when that makes the packet strictly shorter. */
  compress: boolean;
  /** Add a CRC frame (the receiver's PMax is at least 5). */
  crc: boolean;
  /** Primary key, or null when encryption is off. */
  key: Buffer | null;
  encryptionVersion?: EncryptionVersion;
}

/** The outbound pipeline of docs/behaviour/memberlist-wire.md#packet-out: message → compress? → CRC? → encrypt?. */
export function encodePacket(message: Uint8Array, opts: OutboundPacketOptions): Buffer {
  let buf = Buffer.from(message.buffer, message.byteOffset, message.length);
  if (opts.compress) {
    const c = encodeCompressed(buf);
    if (c.length < buf.length) buf = c;
  }
  if (opts.crc) buf = addCrc(buf);
  if (opts.key !== null) buf = encryptPayload(opts.encryptionVersion ?? 1, opts.key, buf, null);
  return buf;
}

export interface DecodedPacket {
  messages: PacketMessage[];
  /** Parts that failed to decode (the rest of the packet is still used, as in Go). */
  errors: MemberlistDecodeError[];
  /** Compound parts cut off by the end of the datagram. */
  truncatedParts: number;
  /** True when the datagram carried a valid CRC frame. */
  hadCrc: boolean;
}

/**
 * The inbound pipeline of docs/behaviour/memberlist-wire.md#packet-in. Whole-packet failures (label, decryption, CRC) throw a
 * MemberlistDecodeError; per-part failures are collected in `errors`.
 */
export function decodePacket(datagram: Uint8Array, keys: readonly Uint8Array[] | null): DecodedPacket {
  if (datagram.length === 0) throw new MemberlistDecodeError('truncated', 'empty datagram', 0);
  if (datagram.length > MAX_PACKET_SIZE) throw new MemberlistDecodeError('too-large', `datagram of ${datagram.length} bytes`, 0);
  if (datagram[0] === MessageType.hasLabel) {
    throw new MemberlistDecodeError('label', 'packet carries a label header but this member has no label', 0);
  }
  let buf = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length);
  if (keys !== null) buf = decryptPayload(keys, buf, null);
  let hadCrc = false;
  if (buf.length >= 5 && buf[0] === MessageType.hasCrc) {
    const want = buf.readUInt32BE(1);
    const got = crc32(buf.subarray(5)) >>> 0;
    if (want !== got) throw new MemberlistDecodeError('crc', `CRC-32 0x${want.toString(16)} does not match 0x${got.toString(16)}`, 1);
    buf = buf.subarray(5);
    hadCrc = true;
  }
  const out: DecodedPacket = { messages: [], errors: [], truncatedParts: 0, hadCrc };
  expand(buf, 0, 0, out);
  return out;
}

function expand(buf: Buffer, base: number, depth: number, out: DecodedPacket): void {
  try {
    if (depth > MAX_NESTING) throw new MemberlistDecodeError('too-large', `compound/compress nested deeper than ${MAX_NESTING}`, base);
    if (buf.length === 0) throw new MemberlistDecodeError('truncated', 'empty message', base);
    const t = buf[0]!;
    if (t === MessageType.compound) {
      const { parts, truncated } = decodeCompound(buf, base);
      out.truncatedParts += truncated;
      for (const p of parts) expand(p.buf, p.offset, depth + 1, out);
      return;
    }
    if (t === MessageType.compress) {
      // offsets inside the decompressed message are relative to it, not to the datagram
      const { message } = decodeCompressed(buf, MAX_PACKET_DECOMPRESSED, base);
      expand(message, 0, depth + 1, out);
      return;
    }
    out.messages.push(decodeMessage(buf, base));
  } catch (err) {
    if (err instanceof MemberlistDecodeError) out.errors.push(err);
    else throw err;
  }
}
