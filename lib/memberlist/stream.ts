// TCP stream framing (docs/behaviour/memberlist-wire.md#encrypted-stream, docs/behaviour/memberlist-wire.md#streams): one message per direction per connection;
// plaintext → always compressed (when enabled) → `[10][u32 L][encrypted]` (when a key is set).
// Unencrypted streams carry no length, so the parser works on whatever has arrived so far and
// says "need more" until a whole message is there.

import { MemberlistDecodeError, isTruncation } from './errors.js';
import {
  MessageType,
  readAck, readErrResp, readPing, readPushNodeState, readPushPullHeader, readUserMsgHeader,
  writeAck, writeErrResp, writePing, writePushNodeState, writePushPullHeader,
  type Ack, type ErrResp, type Ping, type PushNodeState, type PushPullHeader, type UserMsgHeader,
} from './messages.js';
import { MsgpackReader, MsgpackWriter } from './msgpack.js';
import { decodeCompressed, encodeCompressed } from './packet.js';
import { decryptPayload, encryptPayload } from './security.js';

/** Largest encrypted stream message accepted (memberlist's limit). */
export const MAX_STREAM_LENGTH = 20 * 1024 * 1024;
/** Cap on a decompressed stream message. */
export const MAX_STREAM_DECOMPRESSED = 40 * 1024 * 1024;
/** At most this many node states in one push/pull (memberlist v0.6.0+ bound). */
export const MAX_PUSH_NODES = 1 << 20;

export type StreamMessage =
  | { type: 'pushPull'; header: PushPullHeader; states: PushNodeState[]; userState: Buffer }
  | { type: 'ping'; body: Ping }
  | { type: 'ack'; body: Ack }
  | { type: 'user'; header: UserMsgHeader; payload: Buffer }
  | { type: 'err'; body: ErrResp };

/** Plaintext of a stream message, before compression/encryption. */
export function encodeStreamPlaintext(m: StreamMessage): Buffer {
  const w = new MsgpackWriter(256);
  switch (m.type) {
    case 'pushPull':
      w.appendByte(MessageType.pushPull);
      writePushPullHeader(w, { join: m.header.join, nodes: m.states.length, userStateLen: m.userState.length });
      for (const s of m.states) writePushNodeState(w, s);
      w.append(m.userState);
      break;
    case 'ping':
      w.appendByte(MessageType.ping);
      writePing(w, m.body);
      break;
    case 'ack':
      w.appendByte(MessageType.ack);
      writeAck(w, m.body);
      break;
    case 'user':
      w.appendByte(MessageType.user).mapHeader(1).key('UserMsgLen').uint(m.payload.length).append(m.payload);
      break;
    case 'err':
      w.appendByte(MessageType.err);
      writeErrResp(w, m.body);
      break;
  }
  return w.finish();
}

export interface StreamOptions {
  compress: boolean;
  /** Primary key, or null when encryption is off. */
  key: Buffer | null;
}

/** The bytes written to the socket for one stream message. */
export function encodeStream(m: StreamMessage, opts: StreamOptions, nonce?: Uint8Array): Buffer {
  let buf = encodeStreamPlaintext(m);
  if (opts.compress) buf = encodeCompressed(buf);
  if (opts.key === null) return buf;
  const header = Buffer.allocUnsafe(5);
  header[0] = MessageType.encrypt;
  header.writeUInt32BE(buf.length + 29, 1);
  return Buffer.concat([header, encryptPayload(1, opts.key, buf, header, nonce)]);
}

/** 'more': the bytes so far are a proper prefix; `needed` (when known) is a lower bound on the total length. */
export type StreamParse = { status: 'more'; needed?: number } | { status: 'done'; message: StreamMessage; consumed: number };

export interface StreamParseOptions {
  /** Keys to decrypt with; null when encryption is off. */
  keys: readonly Uint8Array[] | null;
}

/**
 * Parses one stream message from the bytes received so far. Returns 'more' when the bytes are a
 * proper prefix of a message; throws MemberlistDecodeError when they can never become one.
 */
export function parseStream(buf: Uint8Array, opts: StreamParseOptions): StreamParse {
  if (buf.length === 0) return { status: 'more' };
  const t = buf[0]!;
  if (t === MessageType.hasLabel) throw new MemberlistDecodeError('label', 'stream carries a label header but this member has no label', 0);
  if (opts.keys !== null) {
    if (t !== MessageType.encrypt) {
      throw new MemberlistDecodeError('decrypt', 'encryption is configured but the remote stream is not encrypted', 0);
    }
    if (buf.length < 5) return { status: 'more' };
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
    const len = b.readUInt32BE(1);
    if (len > MAX_STREAM_LENGTH) throw new MemberlistDecodeError('too-large', `encrypted stream of ${len} bytes exceeds ${MAX_STREAM_LENGTH}`, 1);
    if (b.length < 5 + len) return { status: 'more', needed: 5 + len };
    const plain = decryptPayload(opts.keys, b.subarray(5, 5 + len), b.subarray(0, 5), 5);
    return { status: 'done', message: parseComplete(plain, 0), consumed: 5 + len };
  }
  if (t === MessageType.encrypt) {
    throw new MemberlistDecodeError('decrypt', 'the remote stream is encrypted but encryption is not configured', 0);
  }
  try {
    const { message, consumed } = parsePlain(buf, 0);
    return { status: 'done', message, consumed };
  } catch (err) {
    if (isTruncation(err)) return { status: 'more', needed: (err as MemberlistDecodeError).needed };
    throw err;
  }
}

function parseComplete(buf: Uint8Array, depth: number): StreamMessage {
  return parsePlain(buf, depth).message;
}

function parsePlain(buf: Uint8Array, depth: number): { message: StreamMessage; consumed: number } {
  if (buf.length === 0) throw new MemberlistDecodeError('truncated', 'empty stream message', 0);
  const t = buf[0]!;
  if (t === MessageType.compress) {
    if (depth > 0) throw new MemberlistDecodeError('invalid', 'compressed stream message inside a compressed one', 0);
    const { message, consumed } = decodeCompressed(buf, MAX_STREAM_DECOMPRESSED, 0);
    try {
      return { message: parseComplete(message, depth + 1), consumed };
    } catch (err) {
      // a truncated message inside a complete compressed buffer will never complete
      if (err instanceof MemberlistDecodeError && err.code === 'truncated') {
        throw new MemberlistDecodeError('invalid', `decompressed message is incomplete: ${err.message}`, err.offset);
      }
      throw err;
    }
  }
  const r = new MsgpackReader(buf, 1);
  switch (t) {
    case MessageType.pushPull: {
      const header = readPushPullHeader(r);
      if (header.nodes > MAX_PUSH_NODES) r.fail('too-large', `push/pull announces ${header.nodes} node states (max ${MAX_PUSH_NODES})`, 1);
      if (header.userStateLen > MAX_STREAM_LENGTH) r.fail('too-large', `push/pull user state of ${header.userStateLen} bytes`, 1);
      const states: PushNodeState[] = [];
      for (let i = 0; i < header.nodes; i++) states.push(readPushNodeState(r));
      r.need(header.userStateLen, 'push/pull user state');
      const userState = Buffer.from(buf.subarray(r.offset, r.offset + header.userStateLen));
      r.offset += header.userStateLen;
      return { message: { type: 'pushPull', header, states, userState }, consumed: r.offset };
    }
    case MessageType.ping:
      return { message: { type: 'ping', body: readPing(r) }, consumed: r.offset };
    case MessageType.ack:
      return { message: { type: 'ack', body: readAck(r) }, consumed: r.offset };
    case MessageType.err:
      return { message: { type: 'err', body: readErrResp(r) }, consumed: r.offset };
    case MessageType.user: {
      const header = readUserMsgHeader(r);
      if (header.userMsgLen > MAX_STREAM_LENGTH) r.fail('too-large', `user message of ${header.userMsgLen} bytes`, 1);
      r.need(header.userMsgLen, 'user message payload');
      const payload = Buffer.from(buf.subarray(r.offset, r.offset + header.userMsgLen));
      r.offset += header.userMsgLen;
      return { message: { type: 'user', header, payload }, consumed: r.offset };
    }
    default:
      throw new MemberlistDecodeError('unknown-type', `message type ${t} is not valid on a stream`, 0);
  }
}
