// Neighbor Discovery (RFC 4861) messages the announcer handles: Neighbor Solicitation (135) and
// Neighbor Advertisement (136). A raw ICMPv6 socket hands over and takes the ICMPv6 message
// without the IPv6 header, and the kernel fills in the checksum on send; the IPv6 framing
// (header + checksum) is still provided for tools that craft whole frames (tests, benchmarks).
import { IPAddress } from '../ip/index.js';
import { PacketDecodeError, PacketEncodeError, needBytes } from './errors.js';
import { MacAddress } from './mac.js';

export const IcmpV6Type = { NeighborSolicitation: 135, NeighborAdvertisement: 136 } as const;
export const NdpOptionType = { SourceLinkLayerAddress: 1, TargetLinkLayerAddress: 2 } as const;
export const NDP_HOP_LIMIT = 255;
const NS_NA_FIXED_LENGTH = 24;

/** An NDP option; link-layer address options on Ethernet carry a MAC. */
export type NdpOption =
  | { readonly type: 1 | 2; readonly linkLayerAddress: MacAddress }
  | { readonly type: number; readonly data: Buffer };

export interface NeighborSolicitation {
  readonly type: 135;
  readonly target: IPAddress;
  readonly options: readonly NdpOption[];
}

export interface NeighborAdvertisement {
  readonly type: 136;
  readonly router: boolean;
  readonly solicited: boolean;
  readonly override: boolean;
  readonly target: IPAddress;
  readonly options: readonly NdpOption[];
}

export type NdpMessage = NeighborSolicitation | NeighborAdvertisement;

function decodeOptions(buf: Buffer, start: number): NdpOption[] {
  const options: NdpOption[] = [];
  let offset = start;
  while (offset < buf.length) {
    needBytes('ndp-option', buf, offset, 2, 'option header');
    const type = buf[offset];
    const units = buf[offset + 1];
    if (units === 0) throw new PacketDecodeError('ndp-option', offset + 1, `option type ${type} has length 0`);
    needBytes('ndp-option', buf, offset, units * 8, `option type ${type}`);
    const body = buf.subarray(offset + 2, offset + units * 8);
    if (type === NdpOptionType.SourceLinkLayerAddress || type === NdpOptionType.TargetLinkLayerAddress) {
      // Ethernet: exactly one 8-byte unit holding a 6-byte MAC (RFC 2464 section 6)
      if (units !== 1) throw new PacketDecodeError('ndp-option', offset + 1, `link-layer address option of ${units * 8} bytes, want 8 (Ethernet)`);
      options.push({ type, linkLayerAddress: MacAddress.fromBytes(body, 0) });
    } else {
      options.push({ type, data: Buffer.from(body) });
    }
    offset += units * 8;
  }
  return options;
}

function optionLength(o: NdpOption): number {
  return 'linkLayerAddress' in o ? 8 : Math.ceil((o.data.length + 2) / 8) * 8;
}

function encodeOptions(options: readonly NdpOption[], out: Buffer, start: number): void {
  let offset = start;
  for (const o of options) {
    const len = optionLength(o);
    if (len > 255 * 8) throw new PacketEncodeError('ndp-option', `option type ${o.type} too long`);
    out[offset] = o.type;
    out[offset + 1] = len / 8;
    if ('linkLayerAddress' in o) o.linkLayerAddress.writeTo(out, offset + 2);
    else out.set(o.data, offset + 2);
    offset += len;
  }
}

interface MessageCodec {
  decode(buf: Buffer): NdpMessage;
  encode(msg: NdpMessage, out: Buffer): void;
}

function decodeTarget(buf: Buffer, type: number): IPAddress {
  const target = IPAddress.fromBytes(buf.subarray(8, 24));
  if (buf[8] === 0xff) throw new PacketDecodeError('icmpv6', 8, `type ${type}: target ${target.toString()} is multicast`);
  return target;
}

// One table of message kinds, keyed by the ICMPv6 type.
const CODECS: Record<number, MessageCodec> = {
  [IcmpV6Type.NeighborSolicitation]: {
    decode(buf) {
      return { type: 135, target: decodeTarget(buf, 135), options: decodeOptions(buf, NS_NA_FIXED_LENGTH) };
    },
    encode(_msg, _out) {
      /* no flags: the reserved word stays zero */
    },
  },
  [IcmpV6Type.NeighborAdvertisement]: {
    decode(buf) {
      const flags = buf[4];
      return {
        type: 136,
        router: (flags & 0x80) !== 0,
        solicited: (flags & 0x40) !== 0,
        override: (flags & 0x20) !== 0,
        target: decodeTarget(buf, 136),
        options: decodeOptions(buf, NS_NA_FIXED_LENGTH),
      };
    },
    encode(msg, out) {
      if (msg.type !== 136) return;
      out[4] = (msg.router ? 0x80 : 0) | (msg.solicited ? 0x40 : 0) | (msg.override ? 0x20 : 0);
    },
  },
};

/** Decodes an NS or NA starting at its ICMPv6 header. The checksum is not verified here (the kernel does). */
export function decodeNdpMessage(buf: Buffer): NdpMessage {
  needBytes('icmpv6', buf, 0, 4, 'header');
  const type = buf[0];
  const codec = CODECS[type];
  if (!codec) throw new PacketDecodeError('icmpv6', 0, `type ${type}, want 135 (neighbor solicitation) or 136 (neighbor advertisement)`);
  if (buf[1] !== 0) throw new PacketDecodeError('icmpv6', 1, `code ${buf[1]}, want 0`);
  needBytes('icmpv6', buf, 0, NS_NA_FIXED_LENGTH, `type ${type} message`);
  return codec.decode(buf);
}

/** Encodes an NS or NA with a zero checksum (what a raw ICMPv6 socket expects). */
export function encodeNdpMessage(msg: NdpMessage): Buffer {
  if (msg.target.family !== 6) throw new PacketEncodeError('icmpv6', 'target must be IPv6');
  const optLen = msg.options.reduce((n, o) => n + optionLength(o), 0);
  const out = Buffer.alloc(NS_NA_FIXED_LENGTH + optLen);
  out[0] = msg.type;
  CODECS[msg.type].encode(msg, out);
  msg.target.toBytes().copy(out, 8);
  encodeOptions(msg.options, out, NS_NA_FIXED_LENGTH);
  return out;
}

export function linkLayerOption(msg: NdpMessage, type: 1 | 2): MacAddress | undefined {
  for (const o of msg.options) if (o.type === type && 'linkLayerAddress' in o) return o.linkLayerAddress;
  return undefined;
}

/** The solicited reply to an NS for `target` (upstream's flags: Solicited=1, Override=0). */
export function solicitedAdvertisement(target: IPAddress, ourMac: MacAddress): Buffer {
  return encodeNdpMessage({
    type: 136, router: false, solicited: true, override: false, target,
    options: [{ type: NdpOptionType.TargetLinkLayerAddress, linkLayerAddress: ourMac }],
  });
}

/** The unsolicited NA sent to ff02::1 when an address is gained (Solicited=0, Override=1). */
export function unsolicitedAdvertisement(target: IPAddress, ourMac: MacAddress): Buffer {
  return encodeNdpMessage({
    type: 136, router: false, solicited: false, override: true, target,
    options: [{ type: NdpOptionType.TargetLinkLayerAddress, linkLayerAddress: ourMac }],
  });
}

const SOLICITED_NODE_PREFIX = 0xff02_0000_0000_0000_0000_0001_ff00_0000n; // ff02::1:ff00:0/104
/** ff02::1:ffXX:XXXX, the group a Neighbor Solicitation for `ip` is sent to. */
export function solicitedNodeMulticast(ip: IPAddress): IPAddress {
  if (ip.family !== 6) throw new RangeError('solicited-node multicast needs an IPv6 address');
  return IPAddress.of(6, SOLICITED_NODE_PREFIX | (ip.value & 0xffffffn));
}

export const ALL_NODES = IPAddress.fromBytes(Buffer.from('ff020000000000000000000000000001', 'hex'));

/** The Ethernet group address an IPv6 multicast address maps to (RFC 2464: 33:33 + low 32 bits). */
export function multicastMac(group: IPAddress): MacAddress {
  const b = Buffer.alloc(6);
  b[0] = 0x33;
  b[1] = 0x33;
  group.toBytes().copy(b, 2, 12, 16);
  return MacAddress.fromBytes(b);
}

// --- whole IPv6 packets (header + ICMPv6), for tools that write frames themselves ---

export const IPV6_HEADER_LENGTH = 40;
const NEXT_HEADER_ICMPV6 = 58;

/** The ICMPv6 checksum over the IPv6 pseudo-header and `message` (with its checksum field zero). */
export function icmpv6Checksum(source: IPAddress, destination: IPAddress, message: Uint8Array): number {
  let sum = 0;
  const add16 = (b: Uint8Array, len: number): void => {
    for (let i = 0; i < len; i += 2) sum += (b[i] << 8) | (i + 1 < len ? b[i + 1] : 0);
  };
  add16(source.toBytes(), 16);
  add16(destination.toBytes(), 16);
  sum += (message.length >>> 16) + (message.length & 0xffff);
  sum += NEXT_HEADER_ICMPV6;
  add16(message, message.length);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface IPv6IcmpPacket {
  readonly source: IPAddress;
  readonly destination: IPAddress;
  readonly hopLimit: number;
  /** The ICMPv6 message, checksum included. */
  readonly icmp: Buffer;
}

/** Builds an IPv6 packet carrying `message` (checksum filled in). */
export function encodeIPv6Icmp(source: IPAddress, destination: IPAddress, message: Buffer, hopLimit = NDP_HOP_LIMIT): Buffer {
  if (source.family !== 6 || destination.family !== 6) throw new PacketEncodeError('ipv6', 'addresses must be IPv6');
  const out = Buffer.alloc(IPV6_HEADER_LENGTH + message.length);
  out.writeUInt32BE(0x60000000, 0);
  out.writeUInt16BE(message.length, 4);
  out[6] = NEXT_HEADER_ICMPV6;
  out[7] = hopLimit;
  source.toBytes().copy(out, 8);
  destination.toBytes().copy(out, 24);
  message.copy(out, IPV6_HEADER_LENGTH);
  out.writeUInt16BE(0, IPV6_HEADER_LENGTH + 2);
  out.writeUInt16BE(icmpv6Checksum(source, destination, out.subarray(IPV6_HEADER_LENGTH)), IPV6_HEADER_LENGTH + 2);
  return out;
}

/** Decodes an IPv6 packet whose next header is ICMPv6 (no extension headers) and checks its checksum. */
export function decodeIPv6Icmp(buf: Buffer): IPv6IcmpPacket {
  needBytes('ipv6', buf, 0, IPV6_HEADER_LENGTH, 'header');
  if (buf[0] >> 4 !== 6) throw new PacketDecodeError('ipv6', 0, `version ${buf[0] >> 4}, want 6`);
  const payloadLength = buf.readUInt16BE(4);
  if (buf[6] !== NEXT_HEADER_ICMPV6) throw new PacketDecodeError('ipv6', 6, `next header ${buf[6]}, want 58 (ICMPv6)`);
  needBytes('ipv6', buf, IPV6_HEADER_LENGTH, payloadLength, 'payload');
  const source = IPAddress.fromBytes(buf.subarray(8, 24));
  const destination = IPAddress.fromBytes(buf.subarray(24, 40));
  const icmp = buf.subarray(IPV6_HEADER_LENGTH, IPV6_HEADER_LENGTH + payloadLength);
  needBytes('icmpv6', icmp, 0, 4, 'header');
  const zeroed = Buffer.from(icmp);
  zeroed.writeUInt16BE(0, 2);
  const want = icmpv6Checksum(source, destination, zeroed);
  const got = icmp.readUInt16BE(2);
  if (want !== got) throw new PacketDecodeError('icmpv6', IPV6_HEADER_LENGTH + 2, `checksum 0x${got.toString(16)}, want 0x${want.toString(16)}`);
  return { source, destination, hopLimit: buf[7], icmp };
}
