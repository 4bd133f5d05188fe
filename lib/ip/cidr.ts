// CIDR blocks and address ranges over IPAddress, with exact bigint arithmetic. Nothing here
// materialises the address space: sizes are bigints and iteration is lazy.

import { IPAddress, familyBits, parseIP, type Family } from './address.js';

export class CIDR {
  /** The block's first address (host bits cleared). */
  readonly network: IPAddress;

  private constructor(network: IPAddress, readonly prefix: number) {
    this.network = network;
  }

  /** Builds a block from any address in it; host bits are cleared. */
  static of(ip: IPAddress, prefix: number): CIDR {
    const bits = familyBits(ip.family);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
      throw new RangeError(`prefix length ${prefix} is out of range for IPv${ip.family}`);
    }
    const hostBits = BigInt(bits - prefix);
    const net = (ip.value >> hostBits) << hostBits;
    return new CIDR(IPAddress.of(ip.family, net), prefix);
  }

  get family(): Family {
    return this.network.family;
  }

  get hostBits(): number {
    return familyBits(this.family) - this.prefix;
  }

  /** Number of addresses in the block. */
  get size(): bigint {
    return 1n << BigInt(this.hostBits);
  }

  get first(): IPAddress {
    return this.network;
  }

  get last(): IPAddress {
    return IPAddress.of(this.family, this.network.value + this.size - 1n);
  }

  contains(ip: IPAddress): boolean {
    return ip.family === this.family && ip.value >= this.network.value && ip.value <= this.network.value + this.size - 1n;
  }

  /** True when every address of `other` is in this block. */
  containsCIDR(other: CIDR): boolean {
    return other.family === this.family && other.prefix >= this.prefix && this.contains(other.network);
  }

  /** Two CIDR blocks overlap exactly when one contains the other. Families never overlap. */
  overlaps(other: CIDR): boolean {
    return this.containsCIDR(other) || other.containsCIDR(this);
  }

  /** The address at offset i (0 = network address). */
  at(i: bigint): IPAddress {
    if (i < 0n || i >= this.size) throw new RangeError(`offset ${i} outside ${this.toString()}`);
    return IPAddress.of(this.family, this.network.value + i);
  }

  /** Lazily yields the addresses from the lowest to the highest. */
  *addresses(): Generator<IPAddress> {
    const end = this.network.value + this.size;
    for (let v = this.network.value; v < end; v++) yield IPAddress.of(this.family, v);
  }

  equals(other: CIDR): boolean {
    return this.prefix === other.prefix && this.network.equals(other.network);
  }

  toString(): string {
    return `${this.network.toString()}/${this.prefix}`;
  }
}

export interface ParsedCIDR {
  cidr: CIDR;
  /** The address as written (may have host bits set). */
  address: IPAddress;
  hostBitsSet: boolean;
}

const PREFIX = /^[0-9]{1,3}$/;

/** Parses `address/prefixlen`; undefined when malformed or the length does not fit the family. */
export function parseCIDR(text: string): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) return undefined;
  const address = parseIP(text.slice(0, slash));
  const len = text.slice(slash + 1);
  if (!address || !PREFIX.test(len)) return undefined;
  const prefix = Number(len);
  if (prefix > familyBits(address.family)) return undefined;
  const cidr = CIDR.of(address, prefix);
  return { cidr, address, hostBitsSet: !cidr.network.equals(address) };
}

export function mustParseCIDR(text: string): CIDR {
  const p = parseCIDR(text);
  if (!p) throw new RangeError(`"${text}" is not a CIDR`);
  return p.cidr;
}

/**
 * The minimal list of CIDR blocks covering exactly start…end (inclusive), ascending.
 * Both ends must be of one family and start <= end.
 */
export function rangeToCIDRs(start: IPAddress, end: IPAddress): CIDR[] {
  if (start.family !== end.family) throw new RangeError('range ends are of different families');
  if (start.value > end.value) throw new RangeError('range start is above its end');
  const bits = familyBits(start.family);
  const out: CIDR[] = [];
  let cur = start.value;
  const stop = end.value;
  while (cur <= stop) {
    // largest block aligned at cur: limited by cur's trailing zero bits and by the remaining span
    let host = 0;
    while (host < bits && ((cur >> BigInt(host)) & 1n) === 0n) host++;
    const remaining = stop - cur + 1n;
    while (host > 0 && 1n << BigInt(host) > remaining) host--;
    out.push(CIDR.of(IPAddress.of(start.family, cur), bits - host));
    cur += 1n << BigInt(host);
  }
  return out;
}

/** Total number of addresses in a list of (disjoint) blocks. */
export function totalSize(cidrs: readonly CIDR[]): bigint {
  let n = 0n;
  for (const c of cidrs) n += c.size;
  return n;
}
