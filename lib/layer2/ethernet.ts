// Ethernet II frames, with any number of 802.1Q / 802.1ad VLAN tags (decoded so that tagged
// frames can be recognised and ignored). The frame check sequence is not part of what packet
// sockets hand over, so it is neither expected nor produced.
import { PacketDecodeError, PacketEncodeError, needBytes } from './errors.js';
import { MacAddress } from './mac.js';

export const EtherType = {
  IPv4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100, // 802.1Q customer tag
  QinQ: 0x88a8, // 802.1ad service tag
  IPv6: 0x86dd,
} as const;

export const ETHERNET_HEADER_LENGTH = 14;
const MAX_VLAN_TAGS = 8;

export interface VlanTag {
  /** The tag protocol identifier (0x8100 or 0x88a8). */
  readonly tpid: number;
  /** Priority code point, 0-7. */
  readonly priority: number;
  readonly dropEligible: boolean;
  /** VLAN identifier, 0-4095. */
  readonly vlanId: number;
}

export interface EthernetFrame {
  readonly destination: MacAddress;
  readonly source: MacAddress;
  /** Outermost tag first; empty for an untagged frame. */
  readonly vlanTags: readonly VlanTag[];
  /** The EtherType after all VLAN tags. */
  readonly etherType: number;
  /** The bytes after the header (a view into the decoded buffer). */
  readonly payload: Buffer;
}

function isVlanTpid(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QinQ;
}

export function decodeEthernet(buf: Buffer): EthernetFrame {
  needBytes('ethernet', buf, 0, ETHERNET_HEADER_LENGTH, 'header');
  const destination = MacAddress.fromBytes(buf, 0);
  const source = MacAddress.fromBytes(buf, 6);
  const vlanTags: VlanTag[] = [];
  let offset = 12;
  let type = buf.readUInt16BE(offset);
  while (isVlanTpid(type)) {
    if (vlanTags.length === MAX_VLAN_TAGS) throw new PacketDecodeError('ethernet', offset, `more than ${MAX_VLAN_TAGS} VLAN tags`);
    needBytes('ethernet', buf, offset, 6, 'VLAN tag');
    const tci = buf.readUInt16BE(offset + 2);
    vlanTags.push({ tpid: type, priority: tci >> 13, dropEligible: (tci & 0x1000) !== 0, vlanId: tci & 0x0fff });
    offset += 4;
    type = buf.readUInt16BE(offset);
  }
  if (type < 0x0600) {
    throw new PacketDecodeError('ethernet', offset, `length field ${type} (IEEE 802.3 frame), not an EtherType`);
  }
  return { destination, source, vlanTags, etherType: type, payload: buf.subarray(offset + 2) };
}

export interface EthernetFrameInput {
  readonly destination: MacAddress;
  readonly source: MacAddress;
  readonly vlanTags?: readonly VlanTag[];
  readonly etherType: number;
  readonly payload: Uint8Array;
}

export function encodeEthernet(frame: EthernetFrameInput): Buffer {
  const tags = frame.vlanTags ?? [];
  if (frame.etherType < 0x0600 || frame.etherType > 0xffff) throw new PacketEncodeError('ethernet', `EtherType ${frame.etherType} out of range`);
  const out = Buffer.alloc(ETHERNET_HEADER_LENGTH + 4 * tags.length + frame.payload.length);
  frame.destination.writeTo(out, 0);
  frame.source.writeTo(out, 6);
  let offset = 12;
  for (const t of tags) {
    if (!isVlanTpid(t.tpid)) throw new PacketEncodeError('ethernet', `VLAN TPID 0x${t.tpid.toString(16)} is not 0x8100 or 0x88a8`);
    if (t.vlanId < 0 || t.vlanId > 4095 || t.priority < 0 || t.priority > 7) throw new PacketEncodeError('ethernet', 'VLAN id or priority out of range');
    out.writeUInt16BE(t.tpid, offset);
    out.writeUInt16BE((t.priority << 13) | (t.dropEligible ? 0x1000 : 0) | t.vlanId, offset + 2);
    offset += 4;
  }
  out.writeUInt16BE(frame.etherType, offset);
  out.set(frame.payload, offset + 2);
  return out;
}
