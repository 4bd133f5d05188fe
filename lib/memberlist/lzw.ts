// LZW as Go's compress/lzw does it with LSB bit order and 8-bit literals (docs/behaviour/memberlist-wire.md#lzw): codes
// 0-255 literals, 256 clear, 257 end, 9..12-bit codes packed least-significant bit first. The
// encoder is byte-identical with Go's; the decoder accepts streams with or without the leading
// clear code and bounds the output size. No npm package implements this exact variant.

import { MemberlistDecodeError } from './errors.js';

const CLEAR = 256;
const EOF = 257;
const MAX_WIDTH = 12;
const MAX_CODE = (1 << MAX_WIDTH) - 1; // 4095

const TABLE_BITS = 14;
const TABLE_SIZE = 1 << TABLE_BITS;
const TABLE_MASK = TABLE_SIZE - 1;
// One dictionary shared by all calls (compression is synchronous): a slot is in use only when its
// generation equals the current one, so a reset is a counter increment instead of a 64 KiB fill.
const tableKeys = new Int32Array(TABLE_SIZE);
const tableCodes = new Uint16Array(TABLE_SIZE);
const tableGen = new Uint32Array(TABLE_SIZE);
let generation = 0;
function newGeneration(): number {
  generation = (generation + 1) >>> 0;
  if (generation === 0) {
    tableGen.fill(0);
    generation = 1;
  }
  return generation;
}

/** Compresses `input` exactly as Go's lzw.NewWriter(w, lzw.LSB, 8) + Write + Close would. */
export function lzwCompress(input: Uint8Array): Buffer {
  // output: at most 12 bits per input byte plus clears, end code and padding
  const out = Buffer.allocUnsafe(Math.ceil((input.length + 2) * 1.5) + 16 + Math.ceil(input.length / 2048) * 2);
  let outLen = 0;
  let bits = 0;
  let nBits = 0;
  let width = 9;
  let hi = EOF;
  let overflow = 1 << width;
  // dictionary (prefix code << 8 | byte) -> code, open addressing
  let gen = newGeneration();
  const write = (code: number): void => {
    bits |= code << nBits;
    nBits += width;
    while (nBits >= 8) {
      out[outLen++] = bits & 0xff;
      bits >>>= 8;
      nBits -= 8;
    }
  };
  /** Returns false when the code space ran out and the state was reset. */
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi === MAX_CODE) {
      write(CLEAR);
      width = 9;
      hi = EOF;
      overflow = 1 << width;
      gen = newGeneration();
      return false;
    }
    return true;
  };

  write(CLEAR);
  if (input.length > 0) {
    let code = input[0]!;
    outer: for (let i = 1; i < input.length; i++) {
      const literal = input[i]!;
      const key = (code << 8) | literal;
      let slot = ((key >> TABLE_BITS) ^ key) & TABLE_MASK;
      while (tableGen[slot] === gen) {
        if (tableKeys[slot] === key) {
          code = tableCodes[slot]!;
          continue outer;
        }
        slot = (slot + 1) & TABLE_MASK;
      }
      write(code);
      code = literal;
      if (!incHi()) continue;
      tableKeys[slot] = key;
      tableCodes[slot] = hi;
      tableGen[slot] = gen;
    }
    write(code);
    incHi();
  }
  write(EOF);
  if (nBits > 0) out[outLen++] = bits & 0xff;
  return Buffer.from(out.subarray(0, outLen));
}

/**
 * Decompresses a Go LZW (LSB, 8-bit) stream. Throws MemberlistDecodeError on a code above the
 * next assignable one, on input that ends before the end code, or when the output would exceed
 * `maxOutput` bytes. Offsets in errors are byte offsets into `input`.
 */
export function lzwDecompress(input: Uint8Array, maxOutput: number): Buffer {
  const prefix = new Uint16Array(1 << MAX_WIDTH);
  const suffix = new Uint8Array(1 << MAX_WIDTH);
  const stack = new Uint8Array(1 << MAX_WIDTH);
  let out = Buffer.allocUnsafe(Math.min(maxOutput, Math.max(64, input.length * 4)));
  let outLen = 0;
  const emit = (from: Uint8Array, start: number, end: number, at: number): void => {
    const n = end - start;
    if (outLen + n > maxOutput) throw new MemberlistDecodeError('too-large', `LZW output exceeds ${maxOutput} bytes`, at);
    if (outLen + n > out.length) {
      const next = Buffer.allocUnsafe(Math.min(maxOutput, Math.max(out.length * 2, outLen + n)));
      out.copy(next, 0, 0, outLen);
      out = next;
    }
    out.set(from.subarray(start, end), outLen);
    outLen += n;
  };

  let width = 9;
  let hi = EOF;
  let overflow = 1 << width;
  let last = -1;
  let bits = 0;
  let nBits = 0;
  let pos = 0;
  for (;;) {
    while (nBits < width) {
      if (pos >= input.length) throw new MemberlistDecodeError('truncated', 'LZW data ends before the end code', pos);
      bits |= input[pos++]! << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;
    const at = Math.max(0, pos - 1);
    if (code === CLEAR) {
      width = 9;
      hi = EOF;
      overflow = 1 << width;
      last = -1;
      continue;
    }
    if (code === EOF) break;
    let first: number;
    if (code < CLEAR) {
      stack[0] = code;
      emit(stack, 0, 1, at);
      first = code;
    } else if (code <= hi) {
      // expand into the stack from the end backwards
      let i = stack.length - 1;
      let c = code;
      if (code === hi && last >= 0) {
        // KwKwK: expansion of last followed by its own first byte
        c = last;
        while (c >= CLEAR) c = prefix[c]!;
        stack[i--] = c;
        c = last;
      }
      while (c >= CLEAR) {
        if (i < 0) throw new MemberlistDecodeError('invalid', 'LZW expansion loops', at);
        stack[i--] = suffix[c]!;
        c = prefix[c]!;
      }
      stack[i] = c;
      first = c;
      emit(stack, i, stack.length, at);
    } else {
      throw new MemberlistDecodeError('invalid', `LZW code ${code} is above the next code ${hi}`, at);
    }
    if (last >= 0) {
      suffix[hi] = first;
      prefix[hi] = last;
    }
    last = code;
    hi++;
    if (hi >= overflow) {
      if (width === MAX_WIDTH) {
        last = -1;
        hi--;
      } else {
        width++;
        overflow = 1 << width;
      }
    }
  }
  return Buffer.from(out.subarray(0, outLen));
}
