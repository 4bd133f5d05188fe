// What the responders do with one received packet, as pure functions (spec 4.6.2): answer an
// ARP request or a Neighbor Solicitation for an announced address, ignore everything else and
// say why. Kept free of sockets so every rule is unit-tested without privileges.
import { IPAddress } from '../ip/index.js';
import { PacketDecodeError } from './errors.js';
import { MacAddress } from './mac.js';
import { ArpOperation, arpReplyFrame, decodeArpFrame } from './arp.js';
import { ETHERNET_HEADER_LENGTH, EtherType, decodeEthernet } from './ethernet.js';
import { IPV6_HEADER_LENGTH, IcmpV6Type, NDP_HOP_LIMIT, NdpOptionType, decodeIPv6Icmp, decodeNdpMessage, linkLayerOption, solicitedAdvertisement } from './ndp.js';
import { PacketType } from './packet-type.js';

/** The addresses answered for, looked up by their network-order bytes. */
export interface AnnouncedLookup {
  /** The announced address whose bytes are buf[offset .. offset+length), if any. */
  find(buf: Buffer, offset: number, length: 4 | 16): IPAddress | undefined;
}

export type IgnoreReason =
  | 'outgoing' | 'vlan-tagged' | 'not-for-us' | 'malformed' | 'not-a-request' | 'not-announced'
  | 'bad-hop-limit' | 'no-source-link-layer-address';

export type ArpVerdict =
  | { readonly kind: 'reply'; readonly ip: IPAddress; readonly frame: Buffer }
  | { readonly kind: 'ignore'; readonly reason: IgnoreReason; readonly error?: PacketDecodeError };

const ARP_FRAME_MIN = ETHERNET_HEADER_LENGTH + 28;
const ignore = (reason: IgnoreReason): ArpVerdict => Object.freeze({ kind: 'ignore', reason });
const IGNORE_OUTGOING = ignore('outgoing');
const IGNORE_OTHER_HOST = ignore('not-for-us');
const IGNORE_VLAN = ignore('vlan-tagged');
const IGNORE_NOT_ANNOUNCED = ignore('not-announced');
const IGNORE_NOT_REQUEST = ignore('not-a-request');

function isBroadcastAt(buf: Buffer, offset: number): boolean {
  return buf.readUInt32BE(offset) === 0xffffffff && buf.readUInt16BE(offset + 4) === 0xffff;
}

/**
 * Decides about one frame read from the ARP socket of an interface with MAC `ourMac`.
 * Answered: an untagged Ethernet/IPv4 ARP request, sent to broadcast or to ourMac, for an
 * announced address. Frames the kernel classed as for another host (which includes frames of
 * a VLAN the interface is not a member of) or as our own outgoing ones are ignored. The reply
 * is unicast to the requester, from ourMac; it is written into `replyBuffer` (42 bytes) when
 * given, so a responder can reuse one buffer (the verdict must be used before the next call).
 */
export function answerArp(
  frame: Buffer, meta: { readonly packetType: number; readonly vlanTagged: boolean }, ourMac: MacAddress, announced: AnnouncedLookup,
  replyBuffer?: Buffer,
): ArpVerdict {
  if (meta.packetType === PacketType.Outgoing) return IGNORE_OUTGOING;
  // the kernel marks frames of a VLAN this interface is not in (tag stripped) as "other host"
  if (meta.packetType === PacketType.OtherHost) return IGNORE_OTHER_HOST;
  if (meta.vlanTagged) return IGNORE_VLAN;
  // Fast path, decided on the bytes: an untagged Ethernet/IPv4 ARP request (the common case).
  // Anything else goes through the full decoder, which says what is wrong.
  if (frame.length >= ARP_FRAME_MIN && frame.readUInt16BE(12) === EtherType.ARP && frame.readUInt32BE(14) === 0x0001_0800 &&
      frame.readUInt16BE(18) === 0x0604 && frame.readUInt16BE(20) === ArpOperation.Request) {
    const ip = announced.find(frame, 38, 4);
    if (!ip) return IGNORE_NOT_ANNOUNCED;
    if (!isBroadcastAt(frame, 0) && !ourMac.matches(frame, 0)) return IGNORE_OTHER_HOST;
    if (ourMac.matches(frame, 6)) return IGNORE_OUTGOING;
    const out = replyBuffer && replyBuffer.length === ARP_FRAME_MIN ? replyBuffer : Buffer.alloc(ARP_FRAME_MIN);
    frame.copy(out, 0, 22, 28); // to the requester's hardware address
    ourMac.writeTo(out, 6);
    out.writeUInt16BE(EtherType.ARP, 12);
    out.writeUInt32BE(0x0001_0800, 14); // Ethernet, IPv4
    out.writeUInt16BE(0x0604, 18); // address lengths
    out.writeUInt16BE(ArpOperation.Reply, 20);
    ourMac.writeTo(out, 22); // sender: us ...
    frame.copy(out, 28, 38, 42); // ... with the announced address
    frame.copy(out, 32, 22, 28); // target: the requester
    frame.copy(out, 38, 28, 32);
    return { kind: 'reply', ip, frame: out };
  }
  return answerArpByDecoding(frame, ourMac, announced);
}

/** The same decision made through the full decoder (used for everything off the fast path). */
export function answerArpByDecoding(frame: Buffer, ourMac: MacAddress, announced: AnnouncedLookup): ArpVerdict {
  let decoded;
  try {
    decoded = decodeArpFrame(frame);
  } catch (err) {
    if (err instanceof PacketDecodeError) return { kind: 'ignore', reason: 'malformed', error: err };
    throw err;
  }
  const { arp } = decoded;
  if (decoded.vlanIds.length > 0) return IGNORE_VLAN;
  if (arp.operation !== ArpOperation.Request) return IGNORE_NOT_REQUEST;
  const ip = announced.find(arp.targetProtocolAddress.toBytes(), 0, 4);
  if (!ip) return IGNORE_NOT_ANNOUNCED;
  if (!decoded.destination.isBroadcast && !decoded.destination.equals(ourMac)) return IGNORE_OTHER_HOST;
  if (decoded.source.equals(ourMac)) return IGNORE_OUTGOING;
  return { kind: 'reply', ip, frame: arpReplyFrame(arp, ourMac) };
}

export type NdpVerdict =
  | { readonly kind: 'reply'; readonly ip: IPAddress; readonly message: Buffer; readonly destination: IPAddress }
  | { readonly kind: 'ignore'; readonly reason: IgnoreReason; readonly ip?: IPAddress; readonly error?: PacketDecodeError };

/**
 * Decides about one ICMPv6 message read from the NDP socket, sent from the IPv6 address in
 * sourceBytes (16 bytes) with the hop limit it arrived with (-1 when unknown).
 * Answered: a Neighbor Solicitation with hop limit 255 (RFC 4861 7.1.1) for an
 * announced address that carries a source link-layer address option (solicitations without
 * one, such as duplicate address detection probes, are ignored as upstream does). The reply is
 * a Neighbor Advertisement to the solicitation's source with Solicited=1, Override=0.
 */
export function answerNeighborSolicitation(
  message: Buffer, sourceBytes: Buffer, hopLimit: number, ourMac: MacAddress, announced: AnnouncedLookup,
): NdpVerdict {
  if (message.length >= 24 && message[0] === IcmpV6Type.NeighborSolicitation && !announced.find(message, 8, 16)) {
    return { kind: 'ignore', reason: 'not-announced' };
  }
  let msg;
  try {
    msg = decodeNdpMessage(message);
  } catch (err) {
    if (err instanceof PacketDecodeError) return { kind: 'ignore', reason: 'malformed', error: err };
    throw err;
  }
  if (msg.type !== IcmpV6Type.NeighborSolicitation) return { kind: 'ignore', reason: 'not-a-request' };
  const ip = announced.find(msg.target.toBytes(), 0, 16);
  if (!ip) return { kind: 'ignore', reason: 'not-announced' };
  if (hopLimit !== NDP_HOP_LIMIT) return { kind: 'ignore', reason: 'bad-hop-limit', ip };
  const source = IPAddress.fromBytes(sourceBytes.subarray(0, 16));
  if (!linkLayerOption(msg, NdpOptionType.SourceLinkLayerAddress) || source.value === 0n) {
    return { kind: 'ignore', reason: 'no-source-link-layer-address', ip };
  }
  return { kind: 'reply', ip, message: solicitedAdvertisement(ip, ourMac), destination: source };
}

/**
 * Decides about one frame from the unicast-solicitation socket: a Neighbor Solicitation sent
 * to an announced address itself (a neighbour unreachability probe from a client that already
 * has our MAC). Same rules as answerNeighborSolicitation, plus: the frame must be addressed to
 * this interface (not tagged, not for another host) and its IPv6 destination must be the
 * target. The IPv6 checksum is verified here, since the kernel does not look at these frames.
 */
export function answerUnicastSolicitation(
  frame: Buffer, meta: { readonly packetType: number; readonly vlanTagged: boolean }, ourMac: MacAddress, announced: AnnouncedLookup,
): NdpVerdict {
  if (meta.packetType !== PacketType.Host) return { kind: 'ignore', reason: meta.packetType === PacketType.Outgoing ? 'outgoing' : 'not-for-us' };
  if (meta.vlanTagged) return { kind: 'ignore', reason: 'vlan-tagged' };
  const targetOffset = ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + 8;
  if (frame.length >= targetOffset + 16 && frame.readUInt16BE(12) === EtherType.IPv6 && !announced.find(frame, targetOffset, 16)) {
    return { kind: 'ignore', reason: 'not-announced' };
  }
  let packet;
  try {
    const eth = decodeEthernet(frame);
    if (eth.vlanTags.length > 0) return { kind: 'ignore', reason: 'vlan-tagged' };
    if (eth.etherType !== EtherType.IPv6) return { kind: 'ignore', reason: 'not-a-request' };
    packet = decodeIPv6Icmp(eth.payload);
  } catch (err) {
    if (err instanceof PacketDecodeError) return { kind: 'ignore', reason: 'malformed', error: err };
    throw err;
  }
  const verdict = answerNeighborSolicitation(packet.icmp, packet.source.toBytes(), packet.hopLimit, ourMac, announced);
  if (verdict.kind === 'reply' && !packet.destination.equals(verdict.ip)) return { kind: 'ignore', reason: 'not-for-us', ip: verdict.ip };
  return verdict;
}

/** A set of announced addresses with O(1) lookup by raw bytes. */
export class AnnouncedAddresses implements AnnouncedLookup {
  private readonly byKey = new Map<string, IPAddress>();
  private readonly texts = new WeakMap<IPAddress, string>();

  static keyOf(ip: IPAddress): string {
    return ip.toBytes().toString('hex');
  }

  find(buf: Buffer, offset: number, length: 4 | 16): IPAddress | undefined {
    if (buf.length < offset + length) return undefined;
    return this.byKey.get(buf.toString('hex', offset, offset + length));
  }

  /** The canonical text of an address returned by find (cached: metric labels on the hot path). */
  text(ip: IPAddress): string {
    let t = this.texts.get(ip);
    if (t === undefined) {
      t = ip.toString();
      this.texts.set(ip, t);
    }
    return t;
  }

  has(ip: IPAddress): boolean {
    return this.byKey.has(AnnouncedAddresses.keyOf(ip));
  }

  add(ip: IPAddress): boolean {
    const key = AnnouncedAddresses.keyOf(ip);
    if (this.byKey.has(key)) return false;
    this.byKey.set(key, ip);
    return true;
  }

  delete(ip: IPAddress): boolean {
    return this.byKey.delete(AnnouncedAddresses.keyOf(ip));
  }

  values(): IPAddress[] {
    return [...this.byKey.values()];
  }

  get size(): number {
    return this.byKey.size;
  }
}
