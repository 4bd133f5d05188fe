// Typed errors of the layer-2 packet codecs. A decoder never throws anything else: every
// malformed input is reported as a PacketDecodeError naming the protocol layer, the byte offset
// (from the start of the buffer handed to the decoder) and what is wrong there.

export type PacketLayer = 'ethernet' | 'arp' | 'icmpv6' | 'ndp-option' | 'ipv6';

export class PacketDecodeError extends Error {
  override readonly name = 'PacketDecodeError';
  constructor(
    /** The protocol layer whose decoder refused the input. */
    readonly layer: PacketLayer,
    /** Byte offset, from the start of the decoder's input, of the offending field. */
    readonly offset: number,
    /** What is wrong, e.g. "truncated: need 28 bytes, have 12". */
    readonly reason: string,
  ) {
    super(`${layer}: ${reason} (at offset ${offset})`);
  }
}

/** Thrown by encoders for values that cannot be put on the wire (programming errors). */
export class PacketEncodeError extends Error {
  override readonly name = 'PacketEncodeError';
  constructor(readonly layer: PacketLayer, readonly reason: string) {
    super(`${layer}: cannot encode: ${reason}`);
  }
}

/** Throws a "truncated" PacketDecodeError unless buf has `need` bytes from `offset`. */
export function needBytes(layer: PacketLayer, buf: Uint8Array, offset: number, need: number, what: string): void {
  if (buf.length - offset < need) {
    throw new PacketDecodeError(layer, offset, `truncated ${what}: need ${need} bytes, have ${Math.max(0, buf.length - offset)}`);
  }
}
