// Which pool holds a Service's IPs (docs/behaviour/speaker.md#pipeline "IPs not all inside one pool"): the pool whose
// CIDRs contain every IP. No avoid-buggy-ips check here (upstream's speaker has none). Lookups
// use a per-config sorted CIDR index (binary search), built once per Config object.

import type { CIDR, IPAddress } from '../ip/index.js';
import type { AddressPool, Config } from '../config/types.js';

interface IndexedCIDR {
  readonly cidr: CIDR;
  readonly pool: AddressPool;
}

/** Sorted, per family, by network address. Validated configs have no overlapping CIDRs. */
class PoolIndex {
  private readonly v4: IndexedCIDR[] = [];
  private readonly v6: IndexedCIDR[] = [];

  constructor(config: Config) {
    for (const pool of config.pools) {
      for (const cidr of pool.cidrs) (cidr.family === 4 ? this.v4 : this.v6).push({ cidr, pool });
    }
    const byStart = (a: IndexedCIDR, b: IndexedCIDR) => (a.cidr.network.value < b.cidr.network.value ? -1 : a.cidr.network.value > b.cidr.network.value ? 1 : b.cidr.prefix - a.cidr.prefix);
    this.v4.sort(byStart);
    this.v6.sort(byStart);
  }

  poolOf(ip: IPAddress): AddressPool | undefined {
    const list = ip.family === 4 ? this.v4 : this.v6;
    // last block starting at or below ip
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].cidr.network.value <= ip.value) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // with overlaps (an unvalidated config) fall back to scanning the earlier blocks
    for (let i = found; i >= 0; i--) {
      if (list[i].cidr.contains(ip)) return list[i].pool;
      if (!this.overlapping) break;
    }
    return undefined;
  }

  get overlapping(): boolean {
    return this.hasOverlap ??= [this.v4, this.v6].some((l) => l.some((x, i) => i > 0 && l[i - 1].cidr.last.value >= x.cidr.network.value));
  }
  private hasOverlap: boolean | undefined;
}

const indexes = new WeakMap<Config, PoolIndex>();

function indexFor(config: Config): PoolIndex {
  let idx = indexes.get(config);
  if (!idx) indexes.set(config, (idx = new PoolIndex(config)));
  return idx;
}

/** The pool containing `ip`, if any. */
export function poolOfIP(config: Config, ip: IPAddress): AddressPool | undefined {
  return indexFor(config).poolOf(ip);
}

/** The one pool containing all `ips`; undefined when some IP is outside every pool or they span pools. */
export function poolForIPs(config: Config, ips: readonly IPAddress[]): AddressPool | undefined {
  let pool: AddressPool | undefined;
  for (const ip of ips) {
    const p = poolOfIP(config, ip);
    if (!p || (pool && p !== pool)) return undefined;
    pool = p;
  }
  return pool;
}
