// ARP (RFC 826) for IPv4 over Ethernet: the only combination a layer-2 announcer speaks.
// Other hardware or protocol types are reported as decode errors, which the responder treats
// as "not for us" and ignores.
import { IPAddress } from '../ip/index.js';
import { PacketDecodeError, PacketEncodeError, needBytes } from './errors.js';
import { MacAddress } from './mac.js';
import { EtherType, decodeEthernet, encodeEthernet } from './ethernet.js';

export const ARP_PACKET_LENGTH = 28;
export const ArpHardwareType = { Ethernet: 1 } as const;
export const ArpOperation = { Request: 1, Reply: 2 } as const;
export type ArpOperationCode = (typeof ArpOperation)[keyof typeof ArpOperation];

export interface ArpPacket {
  readonly operation: ArpOperationCode;
  readonly senderHardwareAddress: MacAddress;
  readonly senderProtocolAddress: IPAddress;
  readonly targetHardwareAddress: MacAddress;
  readonly targetProtocolAddress: IPAddress;
}

/** Decodes the 28-byte Ethernet/IPv4 ARP packet at the start of buf (trailing padding is allowed). */
export function decodeArp(buf: Buffer): ArpPacket {
  needBytes('arp', buf, 0, 8, 'header');
  const hardwareType = buf.readUInt16BE(0);
  if (hardwareType !== ArpHardwareType.Ethernet) throw new PacketDecodeError('arp', 0, `hardware type ${hardwareType}, want 1 (Ethernet)`);
  const protocolType = buf.readUInt16BE(2);
  if (protocolType !== EtherType.IPv4) throw new PacketDecodeError('arp', 2, `protocol type 0x${protocolType.toString(16)}, want 0x0800 (IPv4)`);
  if (buf[4] !== 6) throw new PacketDecodeError('arp', 4, `hardware address length ${buf[4]}, want 6`);
  if (buf[5] !== 4) throw new PacketDecodeError('arp', 5, `protocol address length ${buf[5]}, want 4`);
  const operation = buf.readUInt16BE(6);
  if (operation !== ArpOperation.Request && operation !== ArpOperation.Reply) {
    throw new PacketDecodeError('arp', 6, `operation ${operation}, want 1 (request) or 2 (reply)`);
  }
  needBytes('arp', buf, 0, ARP_PACKET_LENGTH, 'packet');
  return {
    operation,
    senderHardwareAddress: MacAddress.fromBytes(buf, 8),
    senderProtocolAddress: IPAddress.fromBytes(buf.subarray(14, 18)),
    targetHardwareAddress: MacAddress.fromBytes(buf, 18),
    targetProtocolAddress: IPAddress.fromBytes(buf.subarray(24, 28)),
  };
}

export function encodeArp(packet: ArpPacket): Buffer {
  if (packet.senderProtocolAddress.family !== 4 || packet.targetProtocolAddress.family !== 4) {
    throw new PacketEncodeError('arp', 'protocol addresses must be IPv4');
  }
  const out = Buffer.alloc(ARP_PACKET_LENGTH);
  out.writeUInt16BE(ArpHardwareType.Ethernet, 0);
  out.writeUInt16BE(EtherType.IPv4, 2);
  out[4] = 6;
  out[5] = 4;
  out.writeUInt16BE(packet.operation, 6);
  packet.senderHardwareAddress.writeTo(out, 8);
  packet.senderProtocolAddress.toBytes().copy(out, 14);
  packet.targetHardwareAddress.writeTo(out, 18);
  packet.targetProtocolAddress.toBytes().copy(out, 24);
  return out;
}

/** An ARP packet inside an Ethernet frame, as read from an AF_PACKET socket. */
export interface ArpFrame {
  readonly destination: MacAddress;
  readonly source: MacAddress;
  /** VLAN ids of tags found in the frame itself (outermost first). */
  readonly vlanIds: readonly number[];
  readonly arp: ArpPacket;
}

export function decodeArpFrame(buf: Buffer): ArpFrame {
  const eth = decodeEthernet(buf);
  if (eth.etherType !== EtherType.ARP) {
    throw new PacketDecodeError('ethernet', buf.length - eth.payload.length - 2, `EtherType 0x${eth.etherType.toString(16)}, want 0x0806 (ARP)`);
  }
  let arp: ArpPacket;
  try {
    arp = decodeArp(eth.payload);
  } catch (err) {
    // report offsets relative to the whole frame
    if (err instanceof PacketDecodeError) throw new PacketDecodeError('arp', err.offset + (buf.length - eth.payload.length), err.reason);
    throw err;
  }
  return { destination: eth.destination, source: eth.source, vlanIds: eth.vlanTags.map((t) => t.vlanId), arp };
}

export function encodeArpFrame(destination: MacAddress, source: MacAddress, arp: ArpPacket): Buffer {
  return encodeEthernet({ destination, source, etherType: EtherType.ARP, payload: encodeArp(arp) });
}

/** The reply to `request` from an interface with MAC `ourMac`, unicast to the requester. */
export function arpReplyFrame(request: ArpPacket, ourMac: MacAddress): Buffer {
  return encodeArpFrame(request.senderHardwareAddress, ourMac, {
    operation: ArpOperation.Reply,
    senderHardwareAddress: ourMac,
    senderProtocolAddress: request.targetProtocolAddress,
    targetHardwareAddress: request.senderHardwareAddress,
    targetProtocolAddress: request.senderProtocolAddress,
  });
}

/**
 * The two broadcast frames of one gratuitous announcement of `ip` (spec 4.6.3): an ARP request
 * and an ARP reply, both with sender IP = target IP = ip, sender MAC = ourMac, target MAC
 * = broadcast.
 */
export function gratuitousArpFrames(ip: IPAddress, ourMac: MacAddress): [Buffer, Buffer] {
  const make = (operation: ArpOperationCode): Buffer =>
    encodeArpFrame(MacAddress.BROADCAST, ourMac, {
      operation,
      senderHardwareAddress: ourMac,
      senderProtocolAddress: ip,
      targetHardwareAddress: MacAddress.BROADCAST,
      targetProtocolAddress: ip,
    });
  return [make(ArpOperation.Request), make(ArpOperation.Reply)];
}
