// Routes the speaker wants a peer to hold, how they are derived from the legacy config's
// bgp-advertisements, and how they are packed into as few UPDATE messages as the 4096-byte limit
// allows (routes that share every attribute go into one message).

import { CIDR, type IPAddress } from '../ip/index.js';
import type { BGPAdvertisement } from '../config/types.js';
import {
  AFI,
  ASPathSegmentType,
  HEADER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  Origin,
  SAFI,
  encodeAttribute,
  frame,
  prefixSize,
  writePrefix,
  type CodecContext,
  type PathAttribute,
} from './codec.js';

/** One route to advertise. */
export interface Route {
  readonly prefix: CIDR;
  /** Community values (A·65536+B). Sent sorted ascending, without duplicates. */
  readonly communities: readonly number[];
  /** LOCAL_PREF, sent to iBGP peers only (0 when not configured; upstream sends 0 too). */
  readonly localPref: number;
  /** Overrides the session's next hop for this route. */
  readonly nextHop?: IPAddress;
}

/** The full desired set, keyed by prefix text (`prefixKey`). */
export type Advertisements = ReadonlyMap<string, Route>;

export function prefixKey(prefix: CIDR): string {
  return prefix.toString();
}

/**
 * The routes one service IP produces under its pool's advertisements (docs/behaviour/bgp.md#advertisements): the IP masked
 * to the advertisement's aggregation length, its LOCAL_PREF and communities.
 */
export function routesForAddress(ip: IPAddress, advertisements: readonly BGPAdvertisement[]): Route[] {
  return advertisements.map((ad) => ({
    prefix: CIDR.of(ip, ip.family === 4 ? ad.aggregationLength : ad.aggregationLengthV6),
    localPref: ad.localPref,
    communities: normaliseCommunities(ad.communities),
  }));
}

/**
 * Merges routes into the desired set. Upstream keeps an arbitrary one when several routes share a
 * prefix; here the result is deterministic: the highest LOCAL_PREF, the union of communities.
 */
export function mergeRoutes(routes: Iterable<Route>): Map<string, Route> {
  const out = new Map<string, Route>();
  for (const r of routes) {
    const key = prefixKey(r.prefix);
    const prev = out.get(key);
    if (prev === undefined) {
      out.set(key, { ...r, communities: normaliseCommunities(r.communities) });
    } else {
      out.set(key, {
        prefix: prev.prefix,
        localPref: Math.max(prev.localPref, r.localPref),
        communities: normaliseCommunities([...prev.communities, ...r.communities]),
        nextHop: prev.nextHop ?? r.nextHop,
      });
    }
  }
  return out;
}

export function normaliseCommunities(list: readonly number[]): number[] {
  return [...new Set(list)].sort((a, b) => a - b);
}

// ------------------------------------------------------------------------------------ packing

/** What the attributes of our UPDATEs depend on, per session. */
export interface UpdateContext extends CodecContext {
  readonly myASN: number;
  /** iBGP (my-asn == peer-asn): empty AS_PATH and LOCAL_PREF present. */
  readonly ibgp: boolean;
}

/** The attributes (except reachability) a route is sent with, in upstream's order. */
export function routeAttributes(route: Route, nextHop: IPAddress, ctx: UpdateContext): PathAttribute[] {
  const attrs: PathAttribute[] = [
    { type: 'origin', origin: Origin.Incomplete },
    { type: 'as-path', segments: ctx.ibgp ? [] : [{ segmentType: ASPathSegmentType.Sequence, asns: [ctx.myASN] }] },
  ];
  if (route.prefix.family === 4) attrs.push({ type: 'next-hop', nextHop });
  if (ctx.ibgp) attrs.push({ type: 'local-pref', localPref: route.localPref });
  const communities = normaliseCommunities(route.communities);
  if (communities.length > 0) attrs.push({ type: 'communities', communities });
  return attrs;
}

function attrHeaderSize(valueLength: number): number {
  return valueLength > 0xff ? 4 : 3;
}

const MP_REACH_FIXED = 5; // AFI(2) SAFI(1) next-hop length(1) reserved(1)

/** A route with the next hop it is sent with. */
export interface RouteWithNextHop {
  readonly route: Route;
  readonly nextHop: IPAddress;
}

/** Routes that share every attribute, with those attributes encoded once. */
export interface AttributeGroup {
  readonly family: 4 | 6;
  readonly nextHop: IPAddress;
  /** The encoded path attributes except MP_REACH_NLRI. */
  readonly attributes: Buffer;
  readonly prefixes: CIDR[];
}

/** Groups routes by their attributes (family, next hop, LOCAL_PREF for iBGP, communities). */
export function groupByAttributes(routes: Iterable<RouteWithNextHop>, ctx: UpdateContext): AttributeGroup[] {
  const groups = new Map<string, { family: 4 | 6; nextHop: IPAddress; sample: Route; prefixes: CIDR[] }>();
  for (const { route, nextHop } of routes) {
    const c = route.communities;
    const key = `${route.prefix.family}|${nextHop.toString()}|${ctx.ibgp ? route.localPref : ''}|${c.length === 0 ? '' : normaliseCommunities(c).join(',')}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { family: route.prefix.family, nextHop, sample: route, prefixes: [] }));
    g.prefixes.push(route.prefix);
  }
  return [...groups.values()].map((g) => ({
    family: g.family,
    nextHop: g.nextHop,
    prefixes: g.prefixes,
    attributes: Buffer.concat(routeAttributes(g.sample, g.nextHop, ctx).map((a) => encodeAttribute(a, ctx))),
  }));
}

/** Encodes the UPDATEs announcing `group.prefixes[from, to)`, each as full as 4096 bytes allow. */
export function packGroup(group: AttributeGroup, from = 0, to = group.prefixes.length): Buffer[] {
  const prefixes = group.prefixes.slice(from, to);
  return group.family === 4 ? packV4(group.attributes, prefixes) : packV6(group.attributes, group.nextHop, prefixes);
}

/** How many prefixes of the group's kind fill `messages` UPDATEs (for slicing work into full messages). */
export function prefixesPerMessages(group: AttributeGroup, messages: number): number {
  const longest = group.family === 4 ? 32 : 128;
  const overhead = HEADER_LENGTH + 4 + group.attributes.length + (group.family === 6 ? 4 + MP_REACH_FIXED + 16 : 0);
  return messages * Math.floor((MAX_MESSAGE_LENGTH - overhead) / prefixSize(longest));
}

/** Encodes the UPDATEs announcing `routes`; `nextHopFor` picks each route's next hop. */
export function packAnnouncements(routes: Iterable<Route>, nextHopFor: (r: Route) => IPAddress, ctx: UpdateContext): Buffer[] {
  const entries: RouteWithNextHop[] = [];
  for (const route of routes) entries.push({ route, nextHop: nextHopFor(route) });
  return groupByAttributes(entries, ctx).flatMap((g) => packGroup(g));
}

function packV4(attrs: Buffer, prefixes: readonly CIDR[]): Buffer[] {
  const room = MAX_MESSAGE_LENGTH - HEADER_LENGTH - 4 - attrs.length;
  if (room < prefixSize(32)) throw new RangeError(`path attributes of ${attrs.length} bytes leave no room for a prefix`);
  const out: Buffer[] = [];
  let i = 0;
  while (i < prefixes.length) {
    let size = 0;
    let j = i;
    while (j < prefixes.length && size + prefixSize(prefixes[j].prefix) <= room) size += prefixSize(prefixes[j++].prefix);
    const body = Buffer.allocUnsafe(4 + attrs.length + size);
    body.writeUInt16BE(0, 0);
    body.writeUInt16BE(attrs.length, 2);
    attrs.copy(body, 4);
    let o = 4 + attrs.length;
    for (let k = i; k < j; k++) o = writePrefix(prefixes[k], body, o);
    out.push(frame(MessageType.Update, body));
    i = j;
  }
  return out;
}

function packV6(attrs: Buffer, nextHop: IPAddress, prefixes: readonly CIDR[]): Buffer[] {
  const nh = nextHop.toBytes();
  const fixed = MP_REACH_FIXED + nh.length;
  const out: Buffer[] = [];
  let i = 0;
  while (i < prefixes.length) {
    let size = 0;
    let j = i;
    const total = (nlri: number): number => HEADER_LENGTH + 4 + attrs.length + attrHeaderSize(fixed + nlri) + fixed + nlri;
    while (j < prefixes.length && total(size + prefixSize(prefixes[j].prefix)) <= MAX_MESSAGE_LENGTH) size += prefixSize(prefixes[j++].prefix);
    if (j === i) throw new RangeError(`path attributes of ${attrs.length} bytes leave no room for a prefix`);
    const nlri = Buffer.allocUnsafe(size);
    let o = 0;
    for (let k = i; k < j; k++) o = writePrefix(prefixes[k], nlri, o);
    const mp = encodeAttribute({ type: 'mp-reach', afi: AFI.IPv6, safi: SAFI.Unicast, nextHops: [nextHop], nlri: prefixes.slice(i, j) }, { fourOctetAS: true });
    const allAttrs = Buffer.concat([attrs, mp]);
    const body = Buffer.allocUnsafe(4 + allAttrs.length);
    body.writeUInt16BE(0, 0);
    body.writeUInt16BE(allAttrs.length, 2);
    allAttrs.copy(body, 4);
    out.push(frame(MessageType.Update, body));
    i = j;
  }
  return out;
}

/** Encodes the UPDATEs withdrawing `prefixes` (IPv4 in the withdrawn routes field, IPv6 in MP_UNREACH). */
export function packWithdrawals(prefixes: Iterable<CIDR>): Buffer[] {
  const v4: CIDR[] = [];
  const v6: CIDR[] = [];
  for (const p of prefixes) (p.family === 4 ? v4 : v6).push(p);
  const out: Buffer[] = [];
  // IPv4: 19 header + 2 withdrawn length + 2 attribute length
  const room4 = MAX_MESSAGE_LENGTH - HEADER_LENGTH - 4;
  for (let i = 0; i < v4.length; ) {
    let size = 0;
    let j = i;
    while (j < v4.length && size + prefixSize(v4[j].prefix) <= room4) size += prefixSize(v4[j++].prefix);
    const body = Buffer.allocUnsafe(4 + size);
    body.writeUInt16BE(size, 0);
    let o = 2;
    for (let k = i; k < j; k++) o = writePrefix(v4[k], body, o);
    body.writeUInt16BE(0, o);
    out.push(frame(MessageType.Update, body));
    i = j;
  }
  for (let i = 0; i < v6.length; ) {
    let size = 0;
    let j = i;
    const total = (n: number): number => HEADER_LENGTH + 4 + attrHeaderSize(3 + n) + 3 + n;
    while (j < v6.length && total(size + prefixSize(v6[j].prefix)) <= MAX_MESSAGE_LENGTH) size += prefixSize(v6[j++].prefix);
    const mp = encodeAttribute({ type: 'mp-unreach', afi: AFI.IPv6, safi: SAFI.Unicast, withdrawn: v6.slice(i, j) }, { fourOctetAS: true });
    const body = Buffer.allocUnsafe(4 + mp.length);
    body.writeUInt16BE(0, 0);
    body.writeUInt16BE(mp.length, 2);
    mp.copy(body, 4);
    out.push(frame(MessageType.Update, body));
    i = j;
  }
  return out;
}

/** End-of-RIB marker (RFC 4724) for one address family. */
export function endOfRIB(family: 4 | 6): Buffer {
  if (family === 4) return frame(MessageType.Update, Buffer.alloc(4));
  const mp = encodeAttribute({ type: 'mp-unreach', afi: AFI.IPv6, safi: SAFI.Unicast, withdrawn: [] }, { fourOctetAS: true });
  const body = Buffer.alloc(4 + mp.length);
  body.writeUInt16BE(mp.length, 2);
  mp.copy(body, 4);
  return frame(MessageType.Update, body);
}
