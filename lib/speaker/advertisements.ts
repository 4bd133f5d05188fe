// BGP advertisements (docs/behaviour/bgp.md#advertisements): for each IP of an announced Service and each advertisement
// of its pool, the prefix containing the IP at the aggregation length (v4 or v6), with the
// advertisement's LOCAL_PREF and communities (sorted ascending).
//
// AdvertisementTable keeps the set this node advertises to its peers, keyed by prefix, and turns
// one Service's change into the route changes it causes (work proportional to that Service's
// advertisements, never to all Services). When several contributions produce one prefix
// (Services sharing an address, or aggregation) they merge deterministically: the highest
// LOCAL_PREF and the union of communities. Upstream let an arbitrary one win.

import { CIDR, type IPAddress } from '../ip/index.js';
import type { AddressPool, BGPAdvertisement } from '../config/types.js';

/** One route this node wants its peers to hold. */
export interface Advertisement {
  readonly prefix: CIDR;
  /** LOCAL_PREF, sent to iBGP peers only (0 when not configured). */
  readonly localPref: number;
  /** Community values (A·65536+B), unique, ascending. */
  readonly communities: readonly number[];
}

export function sortedCommunities(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** The prefix containing `ip` at the advertisement's aggregation length for the IP's family. */
export function aggregatePrefix(ip: IPAddress, ad: BGPAdvertisement): CIDR {
  return CIDR.of(ip, ip.family === 4 ? ad.aggregationLength : ad.aggregationLengthV6);
}

/** Advertisements for a Service's IPs from its pool: per IP, per pool advertisement, in order. */
export function advertisementsFor(ips: readonly IPAddress[], pool: AddressPool): Advertisement[] {
  const out: Advertisement[] = [];
  for (const ip of ips) {
    for (const ad of pool.bgpAdvertisements) {
      out.push({ prefix: aggregatePrefix(ip, ad), localPref: ad.localPref, communities: sortedCommunities(ad.communities) });
    }
  }
  return out;
}

export function prefixKey(prefix: CIDR): string {
  return prefix.toString();
}

export function sameAdvertisement(a: Advertisement, b: Advertisement): boolean {
  return (
    a.prefix.equals(b.prefix) &&
    a.localPref === b.localPref &&
    a.communities.length === b.communities.length &&
    a.communities.every((c, i) => c === b.communities[i])
  );
}

/** Route changes to hand to every BGP session. */
export interface RouteChanges {
  /** New prefixes, or prefixes whose attributes changed (re-announce = implicit replace). */
  readonly announce: readonly Advertisement[];
  /** Prefixes no Service wants any more. */
  readonly withdraw: readonly CIDR[];
}

interface PrefixState {
  readonly prefix: CIDR;
  contributions: number;
  /** LOCAL_PREF value -> number of contributions carrying it. */
  readonly localPrefs: Map<number, number>;
  /** community -> number of contributions carrying it. */
  readonly communities: Map<number, number>;
  route: Advertisement | undefined;
}

function bump(m: Map<number, number>, k: number, by: number): void {
  const n = (m.get(k) ?? 0) + by;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

export class AdvertisementTable {
  private readonly byService = new Map<string, readonly Advertisement[]>();
  private readonly byPrefix = new Map<string, PrefixState>();

  /** Replaces what `serviceKey` contributes; returns the route changes this causes. */
  set(serviceKey: string, ads: readonly Advertisement[]): RouteChanges {
    const old = this.byService.get(serviceKey) ?? [];
    if (ads.length === 0) this.byService.delete(serviceKey);
    else this.byService.set(serviceKey, ads);
    const touched = new Map<string, PrefixState>();
    for (const ad of old) touched.set(prefixKey(ad.prefix), this.contribute(ad, -1));
    for (const ad of ads) touched.set(prefixKey(ad.prefix), this.contribute(ad, +1));
    const announce: Advertisement[] = [];
    const withdraw: CIDR[] = [];
    for (const [key, st] of touched) {
      if (st.contributions === 0) {
        this.byPrefix.delete(key);
        if (st.route) withdraw.push(st.prefix);
        continue;
      }
      const route = merged(st);
      if (!st.route || !sameAdvertisement(st.route, route)) {
        st.route = route;
        announce.push(route);
      }
    }
    return { announce, withdraw };
  }

  /** Removes everything `serviceKey` contributes. */
  delete(serviceKey: string): RouteChanges {
    return this.set(serviceKey, []);
  }

  /** What `serviceKey` currently contributes. */
  get(serviceKey: string): readonly Advertisement[] {
    return this.byService.get(serviceKey) ?? [];
  }

  /** The full current route set (for a newly established session). */
  *routes(): IterableIterator<Advertisement> {
    for (const st of this.byPrefix.values()) if (st.route) yield st.route;
  }

  /** Number of distinct prefixes. */
  get size(): number {
    return this.byPrefix.size;
  }

  private contribute(ad: Advertisement, by: 1 | -1): PrefixState {
    const key = prefixKey(ad.prefix);
    let st = this.byPrefix.get(key);
    if (!st) {
      st = { prefix: ad.prefix, contributions: 0, localPrefs: new Map(), communities: new Map(), route: undefined };
      this.byPrefix.set(key, st);
    }
    st.contributions += by;
    bump(st.localPrefs, ad.localPref, by);
    for (const c of ad.communities) bump(st.communities, c, by);
    return st;
  }
}

function merged(st: PrefixState): Advertisement {
  let localPref = 0;
  for (const lp of st.localPrefs.keys()) if (lp > localPref) localPref = lp;
  return { prefix: st.prefix, localPref, communities: sortedCommunities(st.communities.keys()) };
}

/** iBGP: the peer is in this node's AS. */
export function isIBGP(peer: { readonly myASN: number; readonly peerASN: number }): boolean {
  return peer.myASN === peer.peerASN;
}

/**
 * The LOCAL_PREF to send to a peer: the advertisement's value (0 when not configured, still
 * sent) to iBGP peers, nothing to eBGP peers (v0.9–v0.12 silently drop it there).
 */
export function localPrefForPeer(peer: { readonly myASN: number; readonly peerASN: number }, ad: Advertisement): number | undefined {
  return isIBGP(peer) ? ad.localPref : undefined;
}
