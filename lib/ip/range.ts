// Address-pool entries: "address/prefixlen" or "start-end" (legacy MetalLB syntax).

import { IPAddress, parseIP } from './address.js';
import { CIDR, parseCIDR, rangeToCIDRs } from './cidr.js';

export type PoolEntry =
  | { kind: 'cidr'; text: string; cidr: CIDR; cidrs: readonly CIDR[]; hostBitsSet: boolean }
  | { kind: 'range'; text: string; start: IPAddress; end: IPAddress; cidrs: readonly CIDR[] };

export type PoolEntryResult = { ok: true; entry: PoolEntry } | { ok: false; reason: string };

/**
 * Parses one `addresses` entry. Without "-" it must be a CIDR (a bare address is refused; host
 * bits are cleared). With "-" it is split at the first "-", each side trimmed of spaces, and
 * expanded to the minimal ascending CIDR cover. IPv4-mapped IPv6 addresses and ranges whose ends
 * differ in family are refused (upstream accepted them with surprising results).
 */
export function parsePoolEntry(text: string): PoolEntryResult {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const p = parseCIDR(text);
    if (!p) {
      const bare = parseIP(text);
      return { ok: false, reason: bare ? `"${text}" is a single address, not a CIDR (write ${text}/${bare.bits})` : `"${text}" is not a CIDR or an address range` };
    }
    if (p.address.isIPv4Mapped()) return { ok: false, reason: `"${text}" is an IPv4-mapped IPv6 CIDR; write the IPv4 form instead` };
    return { ok: true, entry: { kind: 'cidr', text, cidr: p.cidr, cidrs: [p.cidr], hostBitsSet: p.hostBitsSet } };
  }
  const a = text.slice(0, dash).replace(/^ +| +$/g, '');
  const b = text.slice(dash + 1).replace(/^ +| +$/g, '');
  const start = parseIP(a);
  const end = parseIP(b);
  if (!start || !end) {
    const which = !start ? `"${a}"` : `"${b}"`;
    return { ok: false, reason: `"${text}" is not a CIDR or an address range (${which} is not an IP address)` };
  }
  if (start.isIPv4Mapped() || end.isIPv4Mapped()) return { ok: false, reason: `"${text}" uses an IPv4-mapped IPv6 address; write the IPv4 form instead` };
  if (start.family !== end.family) return { ok: false, reason: `"${text}" mixes an IPv${start.family} and an IPv${end.family} address` };
  if (start.value > end.value) return { ok: false, reason: `"${text}": range start ${start} is above its end ${end}` };
  return { ok: true, entry: { kind: 'range', text, start, end, cidrs: rangeToCIDRs(start, end) } };
}
