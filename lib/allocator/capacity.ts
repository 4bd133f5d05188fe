// Pool capacity as upstream reports it in metallb_allocator_addresses_total (docs/behaviour/allocation.md#capacity),
// quirks included, so dashboards show the same numbers.

import type { AddressPool } from '../config/types.js';

/** 2^63-1: what upstream reports for a pool with any CIDR of 2^62 addresses or more. */
export const CAPACITY_UNBOUNDED = (1n << 63n) - 1n;

/**
 * Sum over the pool's CIDRs of 2^(bits-prefix). With avoid-buggy-ips, an IPv4 CIDR of prefix
 * length <= 24 loses 2 addresses per /24 it contains; a longer one loses 1 if its first address
 * ends in .0 and 1 if its last ends in .255. Any CIDR with 62 or more host bits makes the whole
 * pool report 2^63-1. (Upstream also applied the buggy-IP arithmetic to IPv6 blocks, reading a
 * byte in the middle of the address; IPv6 addresses are never buggy, so here it is not applied.)
 */
export function poolCapacity(pool: AddressPool): bigint {
  let total = 0n;
  for (const cidr of pool.cidrs) {
    const hostBits = cidr.hostBits;
    if (hostBits >= 62) return CAPACITY_UNBOUNDED;
    let size = cidr.size;
    if (pool.avoidBuggyIPs && cidr.family === 4) {
      if (cidr.prefix <= 24) {
        size -= (1n << BigInt(24 - cidr.prefix)) * 2n;
      } else {
        if ((cidr.first.value & 0xffn) === 0n) size -= 1n;
        if ((cidr.last.value & 0xffn) === 255n) size -= 1n;
      }
    }
    total += size;
  }
  return total;
}
