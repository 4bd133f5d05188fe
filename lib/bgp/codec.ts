// BGP-4 message codec (RFC 4271) with capabilities (RFC 5492), multiprotocol extensions for IPv6
// unicast (RFC 4760), 4-octet AS numbers (RFC 6793), communities (RFC 1997) and ROUTE-REFRESH
// (RFC 2918 / RFC 7313). Each message kind and each path attribute is a pair of pure functions,
// dispatched from tables keyed by the type code. Every decoder bounds-checks its input and throws a
// BGPMessageError carrying the NOTIFICATION code/subcode and the offset of the problem.

import { CIDR, IPAddress } from '../ip/index.js';
import { BGPMessageError, ErrorCode, HeaderSubcode, OpenSubcode, RouteRefreshSubcode, UpdateSubcode } from './errors.js';

export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
export const BGP_VERSION = 4;
/** The 2-octet stand-in for a 4-octet AS number (RFC 6793). */
export const AS_TRANS = 23456;

export const MessageType = { Open: 1, Update: 2, Notification: 3, Keepalive: 4, RouteRefresh: 5 } as const;
export const AFI = { IPv4: 1, IPv6: 2 } as const;
export const SAFI = { Unicast: 1 } as const;
export const CapabilityCode = { Multiprotocol: 1, RouteRefresh: 2, FourOctetAS: 65 } as const;
export const AttributeType = {
  Origin: 1,
  ASPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  MPReachNLRI: 14,
  MPUnreachNLRI: 15,
  AS4Path: 17,
} as const;
export const Origin = { IGP: 0, EGP: 1, Incomplete: 2 } as const;
export const ASPathSegmentType = { Set: 1, Sequence: 2, ConfedSequence: 3, ConfedSet: 4 } as const;

/** Attribute flag bits. */
export const AttrFlag = { Optional: 0x80, Transitive: 0x40, Partial: 0x20, ExtendedLength: 0x10 } as const;

// ------------------------------------------------------------------------------------ types

export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'route-refresh' }
  | { readonly kind: 'four-octet-as'; readonly asn: number }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Buffer };

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS when the real AS needs 4 octets). */
  readonly myAS: number;
  readonly holdTime: number;
  readonly bgpIdentifier: IPAddress;
  /** All capabilities, from all capability optional parameters, in order. */
  readonly capabilities: readonly Capability[];
}

export interface ASPathSegment {
  readonly segmentType: number;
  readonly asns: readonly number[];
}

export type PathAttribute =
  | { readonly type: 'origin'; readonly origin: number }
  | { readonly type: 'as-path'; readonly segments: readonly ASPathSegment[] }
  | { readonly type: 'next-hop'; readonly nextHop: IPAddress }
  | { readonly type: 'med'; readonly med: number }
  | { readonly type: 'local-pref'; readonly localPref: number }
  | { readonly type: 'atomic-aggregate' }
  | { readonly type: 'aggregator'; readonly asn: number; readonly address: IPAddress }
  | { readonly type: 'communities'; readonly communities: readonly number[] }
  | { readonly type: 'mp-reach'; readonly afi: number; readonly safi: number; readonly nextHops: readonly IPAddress[]; readonly nlri: readonly CIDR[] }
  | { readonly type: 'mp-unreach'; readonly afi: number; readonly safi: number; readonly withdrawn: readonly CIDR[] }
  | { readonly type: 'as4-path'; readonly segments: readonly ASPathSegment[] }
  /** An attribute this codec does not interpret (or an MP attribute of another address family). */
  | { readonly type: 'unknown'; readonly flags: number; readonly typeCode: number; readonly value: Buffer };

export interface UpdateMessage {
  readonly type: 'update';
  readonly withdrawn: readonly CIDR[];
  readonly attributes: readonly PathAttribute[];
  readonly nlri: readonly CIDR[];
}

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  /** 0 = normal request; 1/2 = BoRR/EoRR (RFC 7313). */
  readonly subtype: number;
  readonly safi: number;
}

export type BGPMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** What a message's encoding depends on: whether both sides announced 4-octet AS support. */
export interface CodecContext {
  readonly fourOctetAS: boolean;
  /**
   * Check NLRI and withdrawn prefixes for validity but do not build them (they decode as empty
   * lists). For UPDATEs we only need to validate, e.g. a full table a router sends us.
   */
  readonly validateOnly?: boolean;
}

export const FOUR_OCTET: CodecContext = { fourOctetAS: true };

// ------------------------------------------------------------------------------------ helpers

const MARKER = Buffer.alloc(16, 0xff);

function fail(code: number, subcode: number, offset: number, detail: string, data?: Buffer): never {
  throw new BGPMessageError(code, subcode, offset, detail, data);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function checkUint(name: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${name} ${n} does not fit (0..${max})`);
}

function ipv4(n: number): IPAddress {
  return IPAddress.of(4, BigInt(n >>> 0));
}

function addressBytes(ip: IPAddress, family: 4 | 6, what: string): Buffer {
  if (ip.family !== family) throw new RangeError(`${what} must be IPv${family}, got ${ip.toString()}`);
  return ip.toBytes();
}

/** Wraps a body into a full message: marker, length, type. */
export function frame(type: number, body: Buffer): Buffer {
  const length = HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH) throw new RangeError(`BGP message of ${length} bytes exceeds ${MAX_MESSAGE_LENGTH}`);
  const out = Buffer.allocUnsafe(length);
  MARKER.copy(out, 0);
  out.writeUInt16BE(length, 16);
  out[18] = type;
  body.copy(out, HEADER_LENGTH);
  return out;
}

// ------------------------------------------------------------------------------------ prefixes

/** Encoded size of a prefix in NLRI form: length octet + the minimal number of address octets. */
export function prefixSize(prefixLength: number): number {
  return 1 + ((prefixLength + 7) >> 3);
}

/** Writes a prefix in NLRI form at `offset`; returns the offset after it. */
export function writePrefix(cidr: CIDR, out: Buffer, offset: number): number {
  const n = (cidr.prefix + 7) >> 3;
  out[offset] = cidr.prefix;
  if (n > 0) {
    if (cidr.family === 4) {
      // fast path: no bigint → bytes conversion for IPv4
      const v = Number(cidr.network.value);
      for (let i = 0; i < n; i++) out[offset + 1 + i] = (v >>> (24 - 8 * i)) & 0xff;
    } else {
      cidr.network.toBytes().copy(out, offset + 1, 0, n);
    }
  }
  return offset + 1 + n;
}

export function encodePrefixes(cidrs: readonly CIDR[]): Buffer {
  let size = 0;
  for (const c of cidrs) size += prefixSize(c.prefix);
  const out = Buffer.alloc(size);
  let o = 0;
  for (const c of cidrs) o = writePrefix(c, out, o);
  return out;
}

/**
 * Decodes a run of NLRI prefixes of one family. `base` is the offset of buf[0] within the message,
 * for error reporting; `subcode` is what a malformed prefix is reported as.
 */
export function decodePrefixes(buf: Buffer, family: 4 | 6, base: number, subcode: number = UpdateSubcode.InvalidNetworkField, validateOnly = false): CIDR[] {
  const maxLen = family === 4 ? 32 : 128;
  const out: CIDR[] = [];
  let o = 0;
  while (o < buf.length) {
    const len = buf[o];
    if (len > maxLen) fail(ErrorCode.UpdateMessage, subcode, base + o, `prefix length ${len} exceeds ${maxLen} for IPv${family}`);
    const n = (len + 7) >> 3;
    if (o + 1 + n > buf.length) fail(ErrorCode.UpdateMessage, subcode, base + o, `prefix /${len} needs ${n} address octets, only ${buf.length - o - 1} left`);
    if (validateOnly) {
      o += 1 + n;
      continue;
    }
    const bytes = Buffer.alloc(family === 4 ? 4 : 16);
    buf.copy(bytes, 0, o + 1, o + 1 + n);
    out.push(CIDR.of(IPAddress.fromBytes(bytes), len));
    o += 1 + n;
  }
  return out;
}

function afiFamily(afi: number): 4 | 6 | undefined {
  return afi === AFI.IPv4 ? 4 : afi === AFI.IPv6 ? 6 : undefined;
}

// ------------------------------------------------------------------------------------ OPEN

function encodeCapability(c: Capability): Buffer {
  switch (c.kind) {
    case 'multiprotocol':
      checkUint('AFI', c.afi, 0xffff);
      checkUint('SAFI', c.safi, 0xff);
      return Buffer.from([CapabilityCode.Multiprotocol, 4, c.afi >> 8, c.afi & 0xff, 0, c.safi]);
    case 'route-refresh':
      return Buffer.from([CapabilityCode.RouteRefresh, 0]);
    case 'four-octet-as':
      checkUint('AS number', c.asn, 0xffffffff);
      return Buffer.concat([Buffer.from([CapabilityCode.FourOctetAS, 4]), u32(c.asn)]);
    case 'unknown':
      checkUint('capability code', c.code, 0xff);
      checkUint('capability length', c.value.length, 0xff);
      return Buffer.concat([Buffer.from([c.code, c.value.length]), c.value]);
  }
}

function encodeOpen(m: OpenMessage): Buffer {
  checkUint('version', m.version, 0xff);
  checkUint('My AS', m.myAS, 0xffff);
  checkUint('hold time', m.holdTime, 0xffff);
  if (m.bgpIdentifier.family !== 4) throw new RangeError('BGP identifier must be an IPv4 address');
  const caps = Buffer.concat(m.capabilities.map(encodeCapability));
  // one capabilities parameter (type 2) holding them all; none at all when there are no capabilities
  const params = caps.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([2, caps.length]), caps]);
  if (caps.length > 255 || params.length > 255) throw new RangeError('capabilities exceed one optional parameter (255 bytes)');
  const fixed = Buffer.alloc(10);
  fixed[0] = m.version;
  fixed.writeUInt16BE(m.myAS, 1);
  fixed.writeUInt16BE(m.holdTime, 3);
  fixed.writeUInt32BE(Number(m.bgpIdentifier.value), 5);
  fixed[9] = params.length;
  return Buffer.concat([fixed, params]);
}

function decodeCapabilities(buf: Buffer, base: number): Capability[] {
  const out: Capability[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 2 > buf.length) fail(ErrorCode.OpenMessage, 0, base + o, 'capability header truncated');
    const code = buf[o];
    const len = buf[o + 1];
    if (o + 2 + len > buf.length) fail(ErrorCode.OpenMessage, 0, base + o, `capability ${code} declares ${len} bytes, only ${buf.length - o - 2} left in its parameter`);
    const v = buf.subarray(o + 2, o + 2 + len);
    const expect = (n: number): void => {
      if (len !== n) fail(ErrorCode.OpenMessage, 0, base + o + 1, `capability ${code} must be ${n} bytes long, got ${len}`);
    };
    switch (code) {
      case CapabilityCode.Multiprotocol:
        expect(4);
        out.push({ kind: 'multiprotocol', afi: v.readUInt16BE(0), safi: v[3] });
        break;
      case CapabilityCode.RouteRefresh:
        expect(0);
        out.push({ kind: 'route-refresh' });
        break;
      case CapabilityCode.FourOctetAS:
        expect(4);
        out.push({ kind: 'four-octet-as', asn: v.readUInt32BE(0) });
        break;
      default:
        out.push({ kind: 'unknown', code, value: Buffer.from(v) });
    }
    o += 2 + len;
  }
  return out;
}

function decodeOpen(body: Buffer): OpenMessage {
  const B = HEADER_LENGTH;
  if (body.length < 10) fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 16, `OPEN body is ${body.length} bytes, minimum is 10`, u16(body.length + B));
  const paramsLength = body[9];
  if (10 + paramsLength !== body.length) {
    fail(ErrorCode.OpenMessage, 0, B + 9, `optional parameters length ${paramsLength} does not match the ${body.length - 10} bytes present`);
  }
  const capabilities: Capability[] = [];
  let o = 10;
  while (o < body.length) {
    if (o + 2 > body.length) fail(ErrorCode.OpenMessage, 0, B + o, 'optional parameter header truncated');
    const ptype = body[o];
    const plen = body[o + 1];
    if (o + 2 + plen > body.length) fail(ErrorCode.OpenMessage, 0, B + o + 1, `optional parameter declares ${plen} bytes, only ${body.length - o - 2} left`);
    if (ptype !== 2) {
      fail(ErrorCode.OpenMessage, OpenSubcode.UnsupportedOptionalParameter, B + o, `optional parameter type ${ptype} is not supported (only capabilities, type 2)`);
    }
    capabilities.push(...decodeCapabilities(body.subarray(o + 2, o + 2 + plen), B + o + 2));
    o += 2 + plen;
  }
  return {
    type: 'open',
    version: body[0],
    myAS: body.readUInt16BE(1),
    holdTime: body.readUInt16BE(3),
    bgpIdentifier: ipv4(body.readUInt32BE(5)),
    capabilities,
  };
}

// ------------------------------------------------------------------------------------ path attributes

interface AttributeCodec {
  /** Required flags (Optional|Transitive bits) for a recognized attribute. */
  readonly flags: number;
  encode(a: PathAttribute, ctx: CodecContext): Buffer;
  /** `base` is the message offset of the attribute's value. `flags` are the received flags. */
  decode(value: Buffer, ctx: CodecContext, base: number, flags: number): PathAttribute;
}

const WELL_KNOWN = AttrFlag.Transitive; // well-known: optional bit clear, transitive bit set
const OPTIONAL_TRANSITIVE = AttrFlag.Optional | AttrFlag.Transitive;
const OPTIONAL_NON_TRANSITIVE = AttrFlag.Optional;

function attrLengthError(value: Buffer, base: number, name: string, expected: string): never {
  fail(ErrorCode.UpdateMessage, UpdateSubcode.AttributeLengthError, base, `${name} must be ${expected} bytes, got ${value.length}`);
}

function encodeSegments(segments: readonly ASPathSegment[], asSize: 2 | 4): Buffer {
  const parts: Buffer[] = [];
  for (const s of segments) {
    checkUint('AS_PATH segment type', s.segmentType, 0xff);
    if (s.asns.length === 0 || s.asns.length > 255) throw new RangeError(`AS_PATH segment must hold 1..255 AS numbers, got ${s.asns.length}`);
    const b = Buffer.alloc(2 + asSize * s.asns.length);
    b[0] = s.segmentType;
    b[1] = s.asns.length;
    s.asns.forEach((asn, i) => {
      if (asSize === 2) {
        checkUint('2-octet AS number', asn, 0xffff);
        b.writeUInt16BE(asn, 2 + 2 * i);
      } else {
        checkUint('AS number', asn, 0xffffffff);
        b.writeUInt32BE(asn, 2 + 4 * i);
      }
    });
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function decodeSegments(value: Buffer, asSize: 2 | 4, base: number, subcode: number): ASPathSegment[] {
  const out: ASPathSegment[] = [];
  let o = 0;
  while (o < value.length) {
    if (o + 2 > value.length) fail(ErrorCode.UpdateMessage, subcode, base + o, 'AS_PATH segment header truncated');
    const segmentType = value[o];
    const count = value[o + 1];
    if (segmentType < 1 || segmentType > 4) fail(ErrorCode.UpdateMessage, subcode, base + o, `AS_PATH segment type ${segmentType} is not 1..4`);
    if (count === 0) fail(ErrorCode.UpdateMessage, subcode, base + o + 1, 'AS_PATH segment with no AS numbers');
    if (o + 2 + count * asSize > value.length) {
      fail(ErrorCode.UpdateMessage, subcode, base + o + 1, `AS_PATH segment of ${count} ${asSize}-octet AS numbers overruns the attribute`);
    }
    const asns: number[] = [];
    for (let i = 0; i < count; i++) asns.push(asSize === 2 ? value.readUInt16BE(o + 2 + 2 * i) : value.readUInt32BE(o + 2 + 4 * i));
    out.push({ segmentType, asns });
    o += 2 + count * asSize;
  }
  return out;
}

function isUsableNextHop(ip: IPAddress): boolean {
  const v = Number(ip.value);
  return v !== 0 && v !== 0xffffffff && (v >>> 28) !== 0xe; // not 0.0.0.0, broadcast or multicast
}

const ATTRIBUTES: Record<number, AttributeCodec> = {
  [AttributeType.Origin]: {
    flags: WELL_KNOWN,
    encode: (a) => {
      const v = (a as { origin: number }).origin;
      checkUint('ORIGIN', v, 2);
      return Buffer.from([v]);
    },
    decode: (value, _ctx, base) => {
      if (value.length !== 1) attrLengthError(value, base, 'ORIGIN', '1');
      if (value[0] > 2) fail(ErrorCode.UpdateMessage, UpdateSubcode.InvalidOriginAttribute, base, `ORIGIN value ${value[0]} is not 0, 1 or 2`);
      return { type: 'origin', origin: value[0] };
    },
  },
  [AttributeType.ASPath]: {
    flags: WELL_KNOWN,
    encode: (a, ctx) => encodeSegments((a as { segments: readonly ASPathSegment[] }).segments, ctx.fourOctetAS ? 4 : 2),
    decode: (value, ctx, base) => ({ type: 'as-path', segments: decodeSegments(value, ctx.fourOctetAS ? 4 : 2, base, UpdateSubcode.MalformedASPath) }),
  },
  [AttributeType.NextHop]: {
    flags: WELL_KNOWN,
    encode: (a) => addressBytes((a as { nextHop: IPAddress }).nextHop, 4, 'NEXT_HOP'),
    decode: (value, _ctx, base) => {
      if (value.length !== 4) attrLengthError(value, base, 'NEXT_HOP', '4');
      const nextHop = ipv4(value.readUInt32BE(0));
      if (!isUsableNextHop(nextHop)) fail(ErrorCode.UpdateMessage, UpdateSubcode.InvalidNextHopAttribute, base, `NEXT_HOP ${nextHop.toString()} is not a unicast host address`);
      return { type: 'next-hop', nextHop };
    },
  },
  [AttributeType.MultiExitDisc]: {
    flags: OPTIONAL_NON_TRANSITIVE,
    encode: (a) => {
      checkUint('MED', (a as { med: number }).med, 0xffffffff);
      return u32((a as { med: number }).med);
    },
    decode: (value, _ctx, base) => {
      if (value.length !== 4) attrLengthError(value, base, 'MULTI_EXIT_DISC', '4');
      return { type: 'med', med: value.readUInt32BE(0) };
    },
  },
  [AttributeType.LocalPref]: {
    flags: WELL_KNOWN,
    encode: (a) => {
      checkUint('LOCAL_PREF', (a as { localPref: number }).localPref, 0xffffffff);
      return u32((a as { localPref: number }).localPref);
    },
    decode: (value, _ctx, base) => {
      if (value.length !== 4) attrLengthError(value, base, 'LOCAL_PREF', '4');
      return { type: 'local-pref', localPref: value.readUInt32BE(0) };
    },
  },
  [AttributeType.AtomicAggregate]: {
    flags: WELL_KNOWN,
    encode: () => Buffer.alloc(0),
    decode: (value, _ctx, base) => {
      if (value.length !== 0) attrLengthError(value, base, 'ATOMIC_AGGREGATE', '0');
      return { type: 'atomic-aggregate' };
    },
  },
  [AttributeType.Aggregator]: {
    flags: OPTIONAL_TRANSITIVE,
    encode: (a, ctx) => {
      const { asn, address } = a as { asn: number; address: IPAddress };
      const as = ctx.fourOctetAS ? (checkUint('AS number', asn, 0xffffffff), u32(asn)) : (checkUint('2-octet AS number', asn, 0xffff), u16(asn));
      return Buffer.concat([as, addressBytes(address, 4, 'AGGREGATOR address')]);
    },
    decode: (value, ctx, base) => {
      const asSize = ctx.fourOctetAS ? 4 : 2;
      if (value.length !== asSize + 4) attrLengthError(value, base, 'AGGREGATOR', String(asSize + 4));
      const asn = asSize === 4 ? value.readUInt32BE(0) : value.readUInt16BE(0);
      return { type: 'aggregator', asn, address: ipv4(value.readUInt32BE(asSize)) };
    },
  },
  [AttributeType.Communities]: {
    flags: OPTIONAL_TRANSITIVE,
    encode: (a) => {
      const list = (a as { communities: readonly number[] }).communities;
      const b = Buffer.alloc(4 * list.length);
      list.forEach((c, i) => {
        checkUint('community', c, 0xffffffff);
        b.writeUInt32BE(c, 4 * i);
      });
      return b;
    },
    decode: (value, _ctx, base) => {
      if (value.length % 4 !== 0 || value.length === 0) attrLengthError(value, base, 'COMMUNITIES', 'a non-zero multiple of 4');
      const communities: number[] = [];
      for (let i = 0; i < value.length; i += 4) communities.push(value.readUInt32BE(i));
      return { type: 'communities', communities };
    },
  },
  [AttributeType.MPReachNLRI]: {
    flags: OPTIONAL_NON_TRANSITIVE,
    encode: (a) => {
      const m = a as Extract<PathAttribute, { type: 'mp-reach' }>;
      const family = afiFamily(m.afi);
      if (family === undefined || m.safi !== SAFI.Unicast) throw new RangeError(`MP_REACH_NLRI for AFI ${m.afi}/SAFI ${m.safi} is not supported`);
      if (m.nextHops.length < 1 || m.nextHops.length > 2) throw new RangeError('MP_REACH_NLRI needs one or two next hops');
      const nh = Buffer.concat(m.nextHops.map((ip) => ip.toBytes()));
      for (const c of m.nlri) if (c.family !== family) throw new RangeError(`prefix ${c.toString()} does not belong to AFI ${m.afi}`);
      return Buffer.concat([u16(m.afi), Buffer.from([m.safi, nh.length]), nh, Buffer.from([0]), encodePrefixes(m.nlri)]);
    },
    decode: (value, ctx, base, flags) => {
      const E = (o: number, detail: string): never => fail(ErrorCode.UpdateMessage, UpdateSubcode.OptionalAttributeError, base + o, detail);
      if (value.length < 5) E(0, `MP_REACH_NLRI of ${value.length} bytes is shorter than its 5-byte minimum`);
      const afi = value.readUInt16BE(0);
      const safi = value[2];
      const nhLen = value[3];
      if (4 + nhLen + 1 > value.length) E(3, `next hop length ${nhLen} overruns the attribute`);
      const family = afiFamily(afi);
      if (family === undefined || safi !== SAFI.Unicast) {
        return { type: 'unknown', flags: flags & ~AttrFlag.ExtendedLength, typeCode: AttributeType.MPReachNLRI, value: Buffer.from(value) };
      }
      const size = family === 4 ? 4 : 16;
      if (nhLen !== size && nhLen !== 2 * size) E(3, `next hop length ${nhLen} is not ${size} or ${2 * size} for AFI ${afi}`);
      const nextHops: IPAddress[] = [];
      for (let i = 0; i < nhLen; i += size) nextHops.push(IPAddress.fromBytes(value.subarray(4 + i, 4 + i + size)));
      const nlriStart = 4 + nhLen + 1;
      return { type: 'mp-reach', afi, safi, nextHops, nlri: decodePrefixes(value.subarray(nlriStart), family, base + nlriStart, UpdateSubcode.InvalidNetworkField, ctx.validateOnly) };
    },
  },
  [AttributeType.MPUnreachNLRI]: {
    flags: OPTIONAL_NON_TRANSITIVE,
    encode: (a) => {
      const m = a as Extract<PathAttribute, { type: 'mp-unreach' }>;
      checkUint('AFI', m.afi, 0xffff);
      checkUint('SAFI', m.safi, 0xff);
      const family = afiFamily(m.afi);
      for (const c of m.withdrawn) if (c.family !== family) throw new RangeError(`prefix ${c.toString()} does not belong to AFI ${m.afi}`);
      return Buffer.concat([u16(m.afi), Buffer.from([m.safi]), encodePrefixes(m.withdrawn)]);
    },
    decode: (value, ctx, base, flags) => {
      if (value.length < 3) fail(ErrorCode.UpdateMessage, UpdateSubcode.OptionalAttributeError, base, `MP_UNREACH_NLRI of ${value.length} bytes is shorter than its 3-byte minimum`);
      const afi = value.readUInt16BE(0);
      const safi = value[2];
      const family = afiFamily(afi);
      if (family === undefined || safi !== SAFI.Unicast) {
        return { type: 'unknown', flags: flags & ~AttrFlag.ExtendedLength, typeCode: AttributeType.MPUnreachNLRI, value: Buffer.from(value) };
      }
      return { type: 'mp-unreach', afi, safi, withdrawn: decodePrefixes(value.subarray(3), family, base + 3, UpdateSubcode.InvalidNetworkField, ctx.validateOnly) };
    },
  },
  [AttributeType.AS4Path]: {
    flags: OPTIONAL_TRANSITIVE,
    encode: (a) => encodeSegments((a as { segments: readonly ASPathSegment[] }).segments, 4),
    decode: (value, _ctx, base) => ({ type: 'as4-path', segments: decodeSegments(value, 4, base, UpdateSubcode.OptionalAttributeError) }),
  },
};

const TYPE_CODES: Record<Exclude<PathAttribute['type'], 'unknown'>, number> = {
  origin: AttributeType.Origin,
  'as-path': AttributeType.ASPath,
  'next-hop': AttributeType.NextHop,
  med: AttributeType.MultiExitDisc,
  'local-pref': AttributeType.LocalPref,
  'atomic-aggregate': AttributeType.AtomicAggregate,
  aggregator: AttributeType.Aggregator,
  communities: AttributeType.Communities,
  'mp-reach': AttributeType.MPReachNLRI,
  'mp-unreach': AttributeType.MPUnreachNLRI,
  'as4-path': AttributeType.AS4Path,
};

/** Encodes one path attribute with its header (flags, type, 1- or 2-octet length). */
export function encodeAttribute(a: PathAttribute, ctx: CodecContext): Buffer {
  let flags: number;
  let typeCode: number;
  let value: Buffer;
  if (a.type === 'unknown') {
    checkUint('attribute type', a.typeCode, 0xff);
    checkUint('attribute flags', a.flags, 0xff);
    flags = a.flags & ~AttrFlag.ExtendedLength;
    typeCode = a.typeCode;
    value = a.value;
  } else {
    typeCode = TYPE_CODES[a.type];
    const codec = ATTRIBUTES[typeCode];
    flags = codec.flags;
    value = codec.encode(a, ctx);
  }
  if (value.length > 0xffff) throw new RangeError(`attribute ${typeCode} value of ${value.length} bytes is too long`);
  const extended = value.length > 0xff;
  const head = extended ? Buffer.from([flags | AttrFlag.ExtendedLength, typeCode, value.length >> 8, value.length & 0xff]) : Buffer.from([flags, typeCode, value.length]);
  return Buffer.concat([head, value]);
}

/** Decodes a path attributes section; `base` is its offset in the message. */
export function decodeAttributes(buf: Buffer, ctx: CodecContext, base: number): PathAttribute[] {
  const out: PathAttribute[] = [];
  const seen = new Set<number>();
  let o = 0;
  while (o < buf.length) {
    if (o + 3 > buf.length) fail(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, base + o, 'path attribute header truncated');
    const flags = buf[o];
    const typeCode = buf[o + 1];
    const extended = (flags & AttrFlag.ExtendedLength) !== 0;
    const headLen = extended ? 4 : 3;
    if (o + headLen > buf.length) fail(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, base + o, 'path attribute header truncated');
    const len = extended ? buf.readUInt16BE(o + 2) : buf[o + 2];
    const start = o + headLen;
    const attrBytes = (): Buffer => Buffer.from(buf.subarray(o, Math.min(buf.length, start + len)));
    if (start + len > buf.length) {
      fail(ErrorCode.UpdateMessage, UpdateSubcode.AttributeLengthError, base + o + 2, `attribute ${typeCode} declares ${len} bytes, only ${buf.length - start} left`, attrBytes());
    }
    if (seen.has(typeCode)) fail(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, base + o + 1, `attribute ${typeCode} appears twice`);
    seen.add(typeCode);
    const value = buf.subarray(start, start + len);
    const codec = ATTRIBUTES[typeCode];
    if (codec === undefined) {
      if ((flags & AttrFlag.Optional) === 0) {
        fail(ErrorCode.UpdateMessage, UpdateSubcode.UnrecognizedWellKnownAttribute, base + o + 1, `unrecognized well-known attribute ${typeCode}`, attrBytes());
      }
      out.push({ type: 'unknown', flags: flags & ~AttrFlag.ExtendedLength, typeCode, value: Buffer.from(value) });
    } else {
      if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== codec.flags) {
        fail(ErrorCode.UpdateMessage, UpdateSubcode.AttributeFlagsError, base + o, `attribute ${typeCode} has flags 0x${flags.toString(16)}, expected optional/transitive bits 0x${codec.flags.toString(16)}`, attrBytes());
      }
      try {
        out.push(codec.decode(value, ctx, base + start, flags));
      } catch (err) {
        // RFC 4271 §6.3: the NOTIFICATION data of attribute errors is the erroneous attribute
        if (err instanceof BGPMessageError && err.data.length === 0) throw err.withData(attrBytes());
        throw err;
      }
    }
    o = start + len;
  }
  return out;
}

// ------------------------------------------------------------------------------------ UPDATE

function encodeUpdate(m: UpdateMessage, ctx: CodecContext): Buffer {
  for (const c of [...m.withdrawn, ...m.nlri]) if (c.family !== 4) throw new RangeError(`IPv6 prefix ${c.toString()} must go in MP_REACH/MP_UNREACH`);
  const withdrawn = encodePrefixes(m.withdrawn);
  const attrs = Buffer.concat(m.attributes.map((a) => encodeAttribute(a, ctx)));
  return Buffer.concat([u16(withdrawn.length), withdrawn, u16(attrs.length), attrs, encodePrefixes(m.nlri)]);
}

function decodeUpdate(body: Buffer, ctx: CodecContext): UpdateMessage {
  const B = HEADER_LENGTH;
  const E = (o: number, detail: string): never => fail(ErrorCode.UpdateMessage, UpdateSubcode.MalformedAttributeList, B + o, detail);
  if (body.length < 4) fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 16, `UPDATE body is ${body.length} bytes, minimum is 4`, u16(body.length + B));
  const wLen = body.readUInt16BE(0);
  if (2 + wLen + 2 > body.length) E(0, `withdrawn routes length ${wLen} overruns the message`);
  const withdrawn = decodePrefixes(body.subarray(2, 2 + wLen), 4, B + 2, UpdateSubcode.InvalidNetworkField, ctx.validateOnly);
  const aLen = body.readUInt16BE(2 + wLen);
  const aStart = 4 + wLen;
  if (aStart + aLen > body.length) E(2 + wLen, `total path attribute length ${aLen} overruns the message`);
  // the NLRI fields are checked first: errors there reset the session (RFC 7606 §3)
  decodePrefixes(body.subarray(aStart + aLen), 4, B + aStart + aLen, UpdateSubcode.InvalidNetworkField, true);
  let attributes: PathAttribute[];
  try {
    attributes = decodeAttributes(body.subarray(aStart, aStart + aLen), ctx, B + aStart);
  } catch (err) {
    // errors inside the attribute section leave the message's framing intact (RFC 7606)
    if (err instanceof BGPMessageError && err.subcode !== UpdateSubcode.InvalidNetworkField) throw err.asTreatAsWithdraw();
    throw err;
  }
  const nlri = decodePrefixes(body.subarray(aStart + aLen), 4, B + aStart + aLen, UpdateSubcode.InvalidNetworkField, ctx.validateOnly);
  const hasNLRI = aStart + aLen < body.length;
  // mandatory well-known attributes (RFC 4271 §6.3, RFC 4760 §4)
  const has = (t: PathAttribute['type']): boolean => attributes.some((a) => a.type === t);
  const reachesRoutes = hasNLRI || has('mp-reach');
  if (reachesRoutes) {
    const missing = !has('origin') ? AttributeType.Origin : !has('as-path') ? AttributeType.ASPath : hasNLRI && !has('next-hop') ? AttributeType.NextHop : 0;
    if (missing !== 0) {
      throw new BGPMessageError(ErrorCode.UpdateMessage, UpdateSubcode.MissingWellKnownAttribute, B + aStart, `mandatory attribute ${missing} is missing`, Buffer.from([missing]), true);
    }
  }
  return { type: 'update', withdrawn, attributes, nlri };
}

// ------------------------------------------------------------------------------------ others

function encodeNotification(m: NotificationMessage): Buffer {
  checkUint('error code', m.code, 0xff);
  checkUint('error subcode', m.subcode, 0xff);
  return Buffer.concat([Buffer.from([m.code, m.subcode]), m.data]);
}

function decodeNotification(body: Buffer): NotificationMessage {
  if (body.length < 2) fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 16, `NOTIFICATION body is ${body.length} bytes, minimum is 2`, u16(body.length + HEADER_LENGTH));
  return { type: 'notification', code: body[0], subcode: body[1], data: Buffer.from(body.subarray(2)) };
}

function decodeKeepalive(body: Buffer): KeepaliveMessage {
  if (body.length !== 0) fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 16, `KEEPALIVE must be 19 bytes, got ${body.length + HEADER_LENGTH}`, u16(body.length + HEADER_LENGTH));
  return { type: 'keepalive' };
}

function encodeRouteRefresh(m: RouteRefreshMessage): Buffer {
  checkUint('AFI', m.afi, 0xffff);
  checkUint('subtype', m.subtype, 0xff);
  checkUint('SAFI', m.safi, 0xff);
  return Buffer.from([m.afi >> 8, m.afi & 0xff, m.subtype, m.safi]);
}

function decodeRouteRefresh(body: Buffer): RouteRefreshMessage {
  if (body.length !== 4) {
    const length = u16(body.length + HEADER_LENGTH);
    // RFC 7313 §5: a wrong length with subtype BoRR/EoRR is a ROUTE-REFRESH error
    if (body.length >= 3 && (body[2] === 1 || body[2] === 2)) {
      fail(ErrorCode.RouteRefreshMessage, RouteRefreshSubcode.InvalidMessageLength, 16, `ROUTE-REFRESH must be 23 bytes, got ${body.length + HEADER_LENGTH}`, Buffer.concat([MARKER, length, Buffer.from([MessageType.RouteRefresh]), body]).subarray(0, MAX_MESSAGE_LENGTH));
    }
    fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 16, `ROUTE-REFRESH must be 23 bytes, got ${body.length + HEADER_LENGTH}`, length);
  }
  return { type: 'route-refresh', afi: body.readUInt16BE(0), subtype: body[2], safi: body[3] };
}

// ------------------------------------------------------------------------------------ dispatch

interface MessageCodec {
  encode(m: BGPMessage, ctx: CodecContext): Buffer;
  decode(body: Buffer, ctx: CodecContext): BGPMessage;
}

const MESSAGES: Record<number, MessageCodec> = {
  [MessageType.Open]: { encode: (m) => encodeOpen(m as OpenMessage), decode: (b) => decodeOpen(b) },
  [MessageType.Update]: { encode: (m, ctx) => encodeUpdate(m as UpdateMessage, ctx), decode: decodeUpdate },
  [MessageType.Notification]: { encode: (m) => encodeNotification(m as NotificationMessage), decode: (b) => decodeNotification(b) },
  [MessageType.Keepalive]: { encode: () => Buffer.alloc(0), decode: (b) => decodeKeepalive(b) },
  [MessageType.RouteRefresh]: { encode: (m) => encodeRouteRefresh(m as RouteRefreshMessage), decode: (b) => decodeRouteRefresh(b) },
};

const TYPE_OF: Record<BGPMessage['type'], number> = {
  open: MessageType.Open,
  update: MessageType.Update,
  notification: MessageType.Notification,
  keepalive: MessageType.Keepalive,
  'route-refresh': MessageType.RouteRefresh,
};

/** Encodes a complete message (header included). Throws RangeError for values that cannot be encoded. */
export function encodeMessage(m: BGPMessage, ctx: CodecContext = FOUR_OCTET): Buffer {
  const type = TYPE_OF[m.type];
  return frame(type, MESSAGES[type].encode(m, ctx));
}

/**
 * Checks a message header (the first 19 bytes of `buf`) and returns the declared total length.
 * Returns undefined when fewer than 19 bytes are available.
 */
export function readHeader(buf: Buffer): { length: number; type: number } | undefined {
  if (buf.length < HEADER_LENGTH) return undefined;
  for (let i = 0; i < 16; i++) {
    if (buf[i] !== 0xff) fail(ErrorCode.MessageHeader, HeaderSubcode.ConnectionNotSynchronized, i, `marker byte ${i} is 0x${buf[i].toString(16)}, expected 0xff`);
  }
  const length = buf.readUInt16BE(16);
  const type = buf[18];
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH) {
    fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 16, `message length ${length} is outside ${HEADER_LENGTH}..${MAX_MESSAGE_LENGTH}`, u16(length));
  }
  if (MESSAGES[type] === undefined) fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageType, 18, `message type ${type} is unknown`, Buffer.from([type]));
  return { length, type };
}

/** Decodes exactly one complete message (header included); throws BGPMessageError when malformed. */
export function decodeMessage(buf: Buffer, ctx: CodecContext = FOUR_OCTET): BGPMessage {
  if (buf.length < HEADER_LENGTH) fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, buf.length, `message is ${buf.length} bytes, shorter than the 19-byte header`, u16(buf.length));
  const head = readHeader(buf) as { length: number; type: number };
  if (head.length !== buf.length) {
    fail(ErrorCode.MessageHeader, HeaderSubcode.BadMessageLength, 16, `header says ${head.length} bytes, message has ${buf.length}`, u16(head.length));
  }
  return MESSAGES[head.type].decode(buf.subarray(HEADER_LENGTH), ctx);
}

/**
 * Splits a TCP byte stream into whole messages. push() returns the complete messages received so
 * far (raw buffers, header included) and throws BGPMessageError on a bad header.
 */
export class MessageFramer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    for (;;) {
      const head = readHeader(this.pending);
      if (head === undefined || this.pending.length < head.length) break;
      out.push(this.pending.subarray(0, head.length));
      this.pending = this.pending.subarray(head.length);
    }
    return out;
  }

  get bufferedBytes(): number {
    return this.pending.length;
  }
}

// ------------------------------------------------------------------------------------ convenience

export function capabilitiesOf(open: OpenMessage): {
  fourOctetASN?: number;
  routeRefresh: boolean;
  multiprotocol: readonly { afi: number; safi: number }[];
} {
  let fourOctetASN: number | undefined;
  let routeRefresh = false;
  const multiprotocol: { afi: number; safi: number }[] = [];
  for (const c of open.capabilities) {
    if (c.kind === 'four-octet-as') fourOctetASN = c.asn;
    else if (c.kind === 'route-refresh') routeRefresh = true;
    else if (c.kind === 'multiprotocol') multiprotocol.push({ afi: c.afi, safi: c.safi });
  }
  return { fourOctetASN, routeRefresh, multiprotocol };
}

/** The KEEPALIVE message (always the same 19 bytes). */
export const KEEPALIVE: Buffer = encodeMessage({ type: 'keepalive' });
