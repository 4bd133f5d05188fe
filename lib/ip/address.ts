// IP addresses as exact integers. An address is its family (4 or 6) and a bigint value
// (0 … 2^32-1 or 0 … 2^128-1). Parsing is strict: no zones, brackets, ports or whitespace.

export type Family = 4 | 6;

const BITS: Record<Family, number> = { 4: 32, 6: 128 };
const MAX: Record<Family, bigint> = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n };

export function familyBits(family: Family): number {
  return BITS[family];
}

export class IPAddress {
  private constructor(readonly family: Family, readonly value: bigint) {}

  static of(family: Family, value: bigint): IPAddress {
    if (value < 0n || value > MAX[family]) throw new RangeError(`value out of range for IPv${family}`);
    return new IPAddress(family, value);
  }

  static fromBytes(bytes: Uint8Array): IPAddress {
    if (bytes.length !== 4 && bytes.length !== 16) throw new RangeError(`an IP address has 4 or 16 bytes, got ${bytes.length}`);
    let v = 0n;
    for (const b of bytes) v = (v << 8n) | BigInt(b);
    return new IPAddress(bytes.length === 4 ? 4 : 6, v);
  }

  get bits(): number {
    return BITS[this.family];
  }

  toBytes(): Buffer {
    const n = this.family === 4 ? 4 : 16;
    const out = Buffer.alloc(n);
    let v = this.value;
    for (let i = n - 1; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  }

  /** True for ::ffff:a.b.c.d (an IPv6 address that stands for an IPv4 one). */
  isIPv4Mapped(): boolean {
    return this.family === 6 && this.value >> 32n === 0xffffn;
  }

  /** The IPv4 address an IPv4-mapped IPv6 address stands for. */
  unmapIPv4(): IPAddress | undefined {
    return this.isIPv4Mapped() ? new IPAddress(4, this.value & MAX[4]) : undefined;
  }

  add(delta: bigint): IPAddress {
    return IPAddress.of(this.family, this.value + delta);
  }

  equals(other: IPAddress): boolean {
    return this.family === other.family && this.value === other.value;
  }

  /** Orders IPv4 before IPv6, then by value. */
  compare(other: IPAddress): number {
    if (this.family !== other.family) return this.family - other.family;
    return this.value < other.value ? -1 : this.value > other.value ? 1 : 0;
  }

  toString(): string {
    return this.family === 4 ? formatV4(this.value) : formatV6(this.value);
  }

  /** A map key that is unique across families. */
  get key(): string {
    return `${this.family}:${this.value.toString(16)}`;
  }
}

function formatV4(v: bigint): string {
  const n = Number(v);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

// RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups compressed,
// the first one on a tie; IPv4-mapped addresses keep the dotted tail.
function formatV6(v: bigint): string {
  if (v >> 32n === 0xffffn) return `::ffff:${formatV4(v & MAX[4])}`;
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

const V4_PART = /^[0-9]{1,3}$/;

/** Parses dotted-quad IPv4. Leading zeros are read as decimal (as the Go 1.16 parser did). */
function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!V4_PART.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const dbl = text.indexOf('::');
  if (dbl !== text.lastIndexOf('::')) return undefined;
  const parseGroups = (s: string, allowV4Tail: boolean): number[] | undefined => {
    if (s === '') return [];
    const items = s.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (allowV4Tail && i === items.length - 1 && it.includes('.')) {
        const v4 = parseV4(it);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!V6_GROUP.test(it)) return undefined;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const head = parseGroups(text.slice(0, dbl), false);
    const tail = parseGroups(text.slice(dbl + 2), true);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(text, true);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses an IPv4 or IPv6 address; undefined when the text is not exactly one address. */
export function parseIP(text: string): IPAddress | undefined {
  if (text.includes(':')) {
    const v = parseV6(text);
    return v === undefined ? undefined : IPAddress.of(6, v);
  }
  const v = parseV4(text);
  return v === undefined ? undefined : IPAddress.of(4, v);
}

/** Like parseIP but throws a RangeError naming the text. */
export function mustParseIP(text: string): IPAddress {
  const ip = parseIP(text);
  if (!ip) throw new RangeError(`"${text}" is not an IP address`);
  return ip;
}

/**
 * "Buggy" addresses: IPv4 addresses ending in .0 or .255, which some old client stacks
 * treat as network or broadcast addresses. IPv6 addresses are never buggy.
 */
export function isBuggyIP(ip: IPAddress): boolean {
  if (ip.family !== 4) return false;
  const last = ip.value & 0xffn;
  return last === 0n || last === 255n;
}
