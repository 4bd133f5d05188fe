// The subset of msgpack that hashicorp/memberlist's messages use, written the way go-msgpack
// v0.5.3 (default MsgpackHandle) writes it, so our output is byte-identical with Go's:
// - structs are maps keyed by the Go field name, keys sorted by byte value (callers emit in order);
// - strings AND byte slices use the raw string family: fixstr, 0xda (16-bit), 0xdb (32-bit),
//   never str8 (0xd9) and never bin (0xc4-0xc6); a nil byte slice is 0xc0;
// - unsigned integers in the smallest form: positive fixint, 0xcc, 0xcd, 0xce, 0xcf;
// - bool 0xc2/0xc3.
// The reader accepts everything Go's decoder accepts for these fields (str8, bin for byte fields,
// signed int forms with non-negative values, nil for anything) and skips unknown values of any
// kind, with bounds checks and typed errors carrying the offset.
//
// Why not a library: @msgpack/msgpack writes byte arrays as bin and 32..255-byte strings as str8
// (Go accepts both, but the bytes then differ from Go's and codec vectors cannot be compared),
// and msgpackr turns str-family values into JS strings, corrupting Addr/Vsn/Buf bytes.

import { MemberlistDecodeError } from './errors.js';

/** Appends msgpack values to a growing buffer. */
export class MsgpackWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  mapHeader(entries: number): this {
    if (entries < 16) this.byte(0x80 | entries);
    else if (entries < 0x10000) {
      this.reserve(3);
      this.buf[this.len] = 0xde;
      this.buf.writeUInt16BE(entries, this.len + 1);
      this.len += 3;
    } else {
      this.reserve(5);
      this.buf[this.len] = 0xdf;
      this.buf.writeUInt32BE(entries, this.len + 1);
      this.len += 5;
    }
    return this;
  }

  /** A raw string header for `n` bytes (fixstr, 0xda, 0xdb; never 0xd9). */
  private rawHeader(n: number): void {
    if (n < 32) this.byte(0xa0 | n);
    else if (n < 0x10000) {
      this.reserve(3);
      this.buf[this.len] = 0xda;
      this.buf.writeUInt16BE(n, this.len + 1);
      this.len += 3;
    } else {
      this.reserve(5);
      this.buf[this.len] = 0xdb;
      this.buf.writeUInt32BE(n, this.len + 1);
      this.len += 5;
    }
  }

  raw(bytes: Uint8Array): this {
    this.rawHeader(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  str(text: string): this {
    return this.raw(Buffer.from(text, 'utf8'));
  }

  /** A Go []byte: nil (0xc0) when null, otherwise raw string family. */
  bytes(bytes: Uint8Array | null): this {
    if (bytes === null) return this.nil();
    return this.raw(bytes);
  }

  nil(): this {
    this.byte(0xc0);
    return this;
  }

  bool(v: boolean): this {
    this.byte(v ? 0xc3 : 0xc2);
    return this;
  }

  /** A non-negative integer in the smallest unsigned form. */
  uint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`msgpack uint: ${v} is not a non-negative integer`);
    if (v < 0x80) this.byte(v);
    else if (v < 0x100) {
      this.reserve(2);
      this.buf[this.len] = 0xcc;
      this.buf[this.len + 1] = v;
      this.len += 2;
    } else if (v < 0x10000) {
      this.reserve(3);
      this.buf[this.len] = 0xcd;
      this.buf.writeUInt16BE(v, this.len + 1);
      this.len += 3;
    } else if (v < 0x100000000) {
      this.reserve(5);
      this.buf[this.len] = 0xce;
      this.buf.writeUInt32BE(v, this.len + 1);
      this.len += 5;
    } else {
      this.reserve(9);
      this.buf[this.len] = 0xcf;
      this.buf.writeBigUInt64BE(BigInt(v), this.len + 1);
      this.len += 9;
    }
    return this;
  }

  /** Key-value helpers: a key is always a raw string. */
  key(name: string): this {
    return this.str(name);
  }

  /** Raw bytes appended without a msgpack header (trailing user state, type bytes). */
  append(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  appendByte(b: number): this {
    this.byte(b);
    return this;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

const MAX_SKIP_DEPTH = 32;

/** Reads msgpack values from a buffer, tracking the offset; every read is bounds-checked. */
export class MsgpackReader {
  offset: number;

  constructor(
    readonly buf: Uint8Array,
    offset = 0,
    /** Offset of `buf[0]` in the enclosing input, for error messages. */
    readonly base = 0,
  ) {
    this.offset = offset;
  }

  fail(code: 'truncated' | 'invalid' | 'range' | 'too-large', what: string, at = this.offset): never {
    throw new MemberlistDecodeError(code, what, this.base + at);
  }

  need(n: number, what: string): void {
    if (this.offset + n > this.buf.length) {
      throw new MemberlistDecodeError('truncated', `${what}: need ${n} byte(s), have ${this.buf.length - this.offset}`,
        this.base + this.offset, this.base + this.offset + n);
    }
  }

  private u8(): number {
    return this.buf[this.offset++]!;
  }

  private u16(): number {
    const v = (this.buf[this.offset]! << 8) | this.buf[this.offset + 1]!;
    this.offset += 2;
    return v;
  }

  private u32(): number {
    const b = this.buf;
    const o = this.offset;
    this.offset += 4;
    return ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
  }

  /** Peeks at the next descriptor byte. */
  peek(what: string): number {
    this.need(1, what);
    return this.buf[this.offset]!;
  }

  /** Reads a map header (fixmap, map16, map32) and returns its entry count. */
  mapHeader(what: string): number {
    const at = this.offset;
    const d = this.peek(what);
    this.offset++;
    if ((d & 0xf0) === 0x80) return d & 0x0f;
    if (d === 0xde) {
      this.need(2, what);
      return this.u16();
    }
    if (d === 0xdf) {
      this.need(4, what);
      return this.u32();
    }
    if (d === 0xc0) return 0; // nil struct: every field keeps its zero value
    return this.fail('invalid', `${what}: expected a map, found descriptor 0x${d.toString(16)}`, at);
  }

  /** Reads a raw string or bin value; returns null for nil. `allowBin` mirrors Go: only byte fields take bin. */
  rawOrNil(what: string, allowBin: boolean): Uint8Array | null {
    const at = this.offset;
    const d = this.peek(what);
    this.offset++;
    let n: number;
    if ((d & 0xe0) === 0xa0) n = d & 0x1f;
    else if (d === 0xc0) return null;
    else if (d === 0xd9 || (allowBin && d === 0xc4)) {
      this.need(1, what);
      n = this.u8();
    } else if (d === 0xda || (allowBin && d === 0xc5)) {
      this.need(2, what);
      n = this.u16();
    } else if (d === 0xdb || (allowBin && d === 0xc6)) {
      this.need(4, what);
      n = this.u32();
    } else {
      return this.fail('invalid', `${what}: expected ${allowBin ? 'bytes' : 'a string'}, found descriptor 0x${d.toString(16)}`, at);
    }
    this.need(n, what);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  /** A Go string field (nil reads as ""). */
  string(what: string): string {
    const raw = this.rawOrNil(what, false);
    return raw === null ? '' : Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8');
  }

  /** A Go []byte field (nil stays null); the result is a copy. */
  bytes(what: string): Buffer | null {
    const raw = this.rawOrNil(what, true);
    return raw === null ? null : Buffer.from(raw);
  }

  /** Any msgpack integer whose value is in [0, max]; nil reads as 0. */
  uint(what: string, max: number): number {
    const at = this.offset;
    const d = this.peek(what);
    this.offset++;
    let v: number | bigint;
    if (d < 0x80) v = d;
    else if (d >= 0xe0) v = d - 0x100;
    else if (d === 0xc0) v = 0;
    else {
      const sizes: Record<number, number> = { 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8 };
      const size = sizes[d];
      if (size === undefined) return this.fail('invalid', `${what}: expected an integer, found descriptor 0x${d.toString(16)}`, at);
      this.need(size, what);
      const view = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.offset, size);
      const signed = d >= 0xd0;
      if (size === 1) v = signed ? view.readInt8(0) : view.readUInt8(0);
      else if (size === 2) v = signed ? view.readInt16BE(0) : view.readUInt16BE(0);
      else if (size === 4) v = signed ? view.readInt32BE(0) : view.readUInt32BE(0);
      else v = signed ? view.readBigInt64BE(0) : view.readBigUInt64BE(0);
      this.offset += size;
    }
    if (v < 0 || v > max) return this.fail('range', `${what}: ${v} is outside 0..${max}`, at);
    return Number(v);
  }

  /** A Go bool field: 0xc2/0xc3, fixint 0/1, or nil (false). */
  bool(what: string): boolean {
    const at = this.offset;
    const d = this.peek(what);
    this.offset++;
    if (d === 0xc3 || d === 0x01) return true;
    if (d === 0xc2 || d === 0x00 || d === 0xc0) return false;
    return this.fail('invalid', `${what}: expected a bool, found descriptor 0x${d.toString(16)}`, at);
  }

  /** Skips one value of any kind (unknown keys). */
  skip(what: string, depth = 0): void {
    if (depth > MAX_SKIP_DEPTH) this.fail('too-large', `${what}: values nested deeper than ${MAX_SKIP_DEPTH}`);
    const at = this.offset;
    const d = this.peek(what);
    this.offset++;
    const skipBytes = (n: number): void => {
      this.need(n, what);
      this.offset += n;
    };
    const lenOf = (size: number): number => {
      this.need(size, what);
      return size === 1 ? this.u8() : size === 2 ? this.u16() : this.u32();
    };
    const skipItems = (count: number): void => {
      for (let i = 0; i < count; i++) this.skip(what, depth + 1);
    };
    if (d < 0x80 || d >= 0xe0 || d === 0xc0 || d === 0xc2 || d === 0xc3) return;
    if ((d & 0xe0) === 0xa0) return skipBytes(d & 0x1f);
    if ((d & 0xf0) === 0x80) return skipItems(2 * (d & 0x0f));
    if ((d & 0xf0) === 0x90) return skipItems(d & 0x0f);
    switch (d) {
      case 0xc4: case 0xd9: return skipBytes(lenOf(1));
      case 0xc5: case 0xda: return skipBytes(lenOf(2));
      case 0xc6: case 0xdb: return skipBytes(lenOf(4));
      case 0xc7: return skipBytes(lenOf(1) + 1);
      case 0xc8: return skipBytes(lenOf(2) + 1);
      case 0xc9: return skipBytes(lenOf(4) + 1);
      case 0xca: return skipBytes(4);
      case 0xcb: return skipBytes(8);
      case 0xcc: case 0xd0: return skipBytes(1);
      case 0xcd: case 0xd1: return skipBytes(2);
      case 0xce: case 0xd2: return skipBytes(4);
      case 0xcf: case 0xd3: return skipBytes(8);
      case 0xd4: return skipBytes(2);
      case 0xd5: return skipBytes(3);
      case 0xd6: return skipBytes(5);
      case 0xd7: return skipBytes(9);
      case 0xd8: return skipBytes(17);
      case 0xdc: return skipItems(lenOf(2));
      case 0xdd: return skipItems(lenOf(4));
      case 0xde: return skipItems(2 * lenOf(2));
      case 0xdf: return skipItems(2 * lenOf(4));
      default: return this.fail('invalid', `${what}: unusable descriptor 0x${d.toString(16)}`, at);
    }
  }

  /**
   * Reads a struct encoded as a map: for each key, calls `field(key)` which reads the value and
   * returns true, or returns false to have the value skipped (unknown keys, as Go does).
   */
  struct(what: string, field: (key: string) => boolean): void {
    const entries = this.mapHeader(what);
    for (let i = 0; i < entries; i++) {
      const keyRaw = this.rawOrNil(`${what} key`, true);
      const key = keyRaw === null ? '' : Buffer.from(keyRaw.buffer, keyRaw.byteOffset, keyRaw.length).toString('latin1');
      if (!field(key)) this.skip(`${what}.${key}`);
    }
  }
}
