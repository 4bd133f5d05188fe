// The address space of one pool for one family, as offsets 0…size-1 over the pool's CIDRs of that
// family concatenated in config order (offset order = upstream's walk order). It answers "lowest
// offset that is neither in use nor forbidden by avoid-buggy-ips" without walking the space:
//
//   - a high-water mark `mark`: every offset below it is in use, forbidden, or in `released`;
//   - `released`: a min-heap of offsets below the mark that were freed (stale entries, taken again
//     by an explicit assignment since, are dropped lazily when they reach the top).
//
// Lowest free = min(top of released, the mark after stepping it over in-use/forbidden offsets).
// The mark only moves up, and each step passes an address that was in use (or one of at most two
// forbidden .255/.0 addresses in a row), so the stepping is amortised O(1) per assignment; heap
// operations are O(log n) in the number of released addresses. Nothing depends on the pool size.
//
// Offsets are plain numbers below 2^53 and bigints from there on (only IPv6 spaces get there), so
// the common case does no bigint arithmetic. Every offset is kept in that canonical form, which
// makes it usable as a Map key.

import { IPAddress, type CIDR, type Family } from '../ip/index.js';

export type Offset = number | bigint;

const SAFE = 2 ** 53;
const SAFE_BIG = 1n << 53n;

/** The canonical form of an offset. */
export function toOffset(v: bigint): Offset {
  return v < SAFE_BIG ? Number(v) : v;
}

export function offsetToBigInt(o: Offset): bigint {
  return typeof o === 'number' ? BigInt(o) : o;
}

function nextOffset(o: Offset): Offset {
  if (typeof o === 'number') return o + 1 < SAFE ? o + 1 : BigInt(o) + 1n;
  return o + 1n;
}

/** Min-heap of offsets. */
class OffsetHeap {
  private readonly items: Offset[] = [];

  peek(): Offset | undefined {
    return this.items[0];
  }

  push(v: Offset): void {
    const a = this.items;
    let i = a.length;
    a.push(v);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= v) break;
      a[i] = a[parent];
      i = parent;
    }
    a[i] = v;
  }

  pop(): void {
    const a = this.items;
    const last = a.pop();
    if (last === undefined || a.length === 0) return;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r] < a[l] ? r : l;
      if (a[c] >= last) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
  }
}

/** A sorted list of offsets (the in-use addresses of one sharing key in one space). */
export class SortedOffsets {
  readonly items: Offset[] = [];

  private lowerBound(v: Offset): number {
    const a = this.items;
    let lo = 0, hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(v: Offset): void {
    const i = this.lowerBound(v);
    if (this.items[i] !== v) this.items.splice(i, 0, v);
  }

  delete(v: Offset): void {
    const i = this.lowerBound(v);
    if (this.items[i] === v) this.items.splice(i, 1);
  }

  get size(): number {
    return this.items.length;
  }
}

export class PoolSpace<State, Owner> {
  /** The CIDRs of this family, in walk order. */
  readonly cidrs: readonly CIDR[];
  /** Offset of the first address of each of `cidrs`. */
  readonly starts: readonly Offset[];
  readonly size: Offset;
  /** In-use addresses by offset. */
  readonly used = new Map<Offset, State>();
  /** In-use addresses that allow sharing, by sharing/backend key pair, ascending offsets. */
  readonly sharing = new Map<string, SortedOffsets>();

  private readonly networks4: readonly number[];
  private mark: Offset = 0;
  private markCidr = 0;
  private readonly released = new OffsetHeap();
  private readonly inReleased = new Set<Offset>();

  /**
   * @param owner the pool this space belongs to (re-pointed when a new config keeps the space)
   * @param poolIndex index of each of `cidrs` in the pool's full CIDR list (orders dual-stack IPs)
   * @param signature identifies the space's shape, to keep it across config changes
   */
  constructor(
    readonly family: Family,
    cidrs: readonly CIDR[],
    public poolIndex: readonly number[],
    readonly avoidBuggyIPs: boolean,
    public owner: Owner,
    readonly signature: string,
  ) {
    this.cidrs = cidrs;
    const starts: Offset[] = [];
    let n = 0n;
    for (const c of cidrs) {
      starts.push(toOffset(n));
      n += c.size;
    }
    this.starts = starts;
    this.size = toOffset(n);
    this.networks4 = family === 4 ? cidrs.map((c) => Number(c.network.value)) : [];
  }

  /** Index into `cidrs` of the block holding `offset` (binary search over the blocks). */
  cidrAt(offset: Offset): number {
    const s = this.starts;
    let lo = 0, hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  ipAt(offset: Offset): IPAddress {
    const i = this.cidrAt(offset);
    if (this.family === 4) return IPAddress.of(4, BigInt(this.networks4[i] + ((offset as number) - (this.starts[i] as number))));
    return IPAddress.of(6, this.cidrs[i].network.value + (offsetToBigInt(offset) - offsetToBigInt(this.starts[i])));
  }

  /** avoid-buggy-ips forbids IPv4 addresses ending in .0 or .255. */
  private forbiddenIn(cidr: number, offset: Offset): boolean {
    if (!this.avoidBuggyIPs || this.family !== 4) return false;
    const last = (this.networks4[cidr] + ((offset as number) - (this.starts[cidr] as number))) % 256;
    return last === 0 || last === 255;
  }

  /** The lowest offset nobody uses and avoid-buggy-ips allows, or undefined when there is none. */
  firstFree(): Offset | undefined {
    // drop released offsets that were taken again since
    let top = this.released.peek();
    while (top !== undefined && this.used.has(top)) {
      this.released.pop();
      this.inReleased.delete(top);
      top = this.released.peek();
    }
    // step the mark over in-use and forbidden offsets
    const starts = this.starts;
    const lastCidr = starts.length - 1;
    let mark = this.mark;
    while (mark < this.size) {
      while (this.markCidr < lastCidr && starts[this.markCidr + 1] <= mark) this.markCidr++;
      if (this.used.has(mark) || this.forbiddenIn(this.markCidr, mark)) mark = nextOffset(mark);
      else break;
    }
    this.mark = mark;
    const free = mark < this.size ? mark : undefined;
    if (top === undefined) return free;
    if (free === undefined) return top;
    return top < free ? top : free;
  }

  /** Records that `offset` is in use by `state` (the offset must be allowed and free). */
  take(offset: Offset, state: State): void {
    this.used.set(offset, state);
  }

  /** Records that nobody uses `offset` any more. */
  free(offset: Offset): void {
    this.used.delete(offset);
    if (offset < this.mark && !this.inReleased.has(offset)) {
      this.released.push(offset);
      this.inReleased.add(offset);
    }
  }
}
