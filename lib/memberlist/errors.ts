// Typed errors for everything lib/memberlist decodes from the network.

/** Why a packet, stream or field could not be decoded. */
export type DecodeErrorCode =
  | 'truncated' // the input ends before the structure does (streams: wait for more bytes)
  | 'invalid' // a value is malformed or of the wrong msgpack kind
  | 'range' // a number does not fit the field (e.g. a port above 65535)
  | 'unknown-type' // a message type byte memberlist does not define here
  | 'too-large' // a length exceeds a limit (stream length, decompressed size, nesting)
  | 'crc' // CRC-32 mismatch
  | 'decrypt' // no key of the keyring authenticates the payload
  | 'label'; // a label header (v0.3.0+) that does not match our (empty) label

/** A malformed input: says what is wrong and at which byte offset of the buffer given. */
export class MemberlistDecodeError extends Error {
  override readonly name = 'MemberlistDecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    readonly what: string,
    readonly offset: number,
    /** For 'truncated': the total input length that would at least be needed to go on, when known. */
    readonly needed?: number,
  ) {
    super(`${what} at offset ${offset}`);
  }
}

export function isTruncation(err: unknown): boolean {
  return err instanceof MemberlistDecodeError && err.code === 'truncated';
}
