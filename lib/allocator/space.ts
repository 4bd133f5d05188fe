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
import { MinHeap } from './heap.js';

export type Offset = number | bigint;

const SAFE = 2 ** 53;
const FREE = 0;
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
class OffsetHeap extends MinHeap<Offset> {}

/** A sorted list of offsets (the in-use addresses of one sharing key in one space). */
export class SortedOffsets {
  constructor(readonly items: Offset[] = []) {}

  /** From offsets in any order (no duplicates); takes the array over. */
  static from(offsets: Offset[]): SortedOffsets {
    return new SortedOffsets(offsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  }

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

/** Where each CIDR starts in the concatenated space, and the space's size. */
export function layoutOf(cidrs: readonly CIDR[]): { starts: Offset[]; size: Offset } {
  const starts: Offset[] = [];
  let n = 0n;
  for (const c of cidrs) {
    starts.push(toOffset(n));
    n += c.size;
  }
  return { starts, size: toOffset(n) };
}

export class PoolSpace<State, Owner> {
  /** The CIDRs of this family, in walk order. */
  cidrs: readonly CIDR[];
  /** Offset of the first address of each of `cidrs`. */
  starts: readonly Offset[];
  size: Offset;
  /**
   * In-use addresses by offset. A freed address keeps its entry, marked FREE, instead of being
   * deleted: V8's hash maps keep deleted entries in their bucket chains until the next rehash, so
   * deleting and re-adding the same key (the lowest free address is re-used all the time) would
   * make lookups of that key slower and slower. FREE marks are dropped in bulk once they
   * outnumber the live entries.
   */
  private slots = new Map<Offset, State | typeof FREE>();
  private live = 0;
  private freeMarks = 0;
  /** In-use addresses that allow sharing, by sharing/backend key pair, ascending offsets. */
  readonly sharing = new Map<string, SortedOffsets>();

  private networks4: readonly number[];
  private mark: Offset = 0;
  private markCidr = 0;
  private readonly released = new OffsetHeap();
  /** Offsets in `released` that were taken again by an explicit assignment (rare). */
  private readonly staleReleased = new Set<Offset>();

  /**
   * @param poolIndex index of each of `cidrs` in the pool's full CIDR list (orders dual-stack IPs)
   * @param owner the pool this space belongs to (re-pointed when a new config keeps the space)
   */
  constructor(
    readonly family: Family,
    cidrs: readonly CIDR[],
    public poolIndex: readonly number[],
    readonly avoidBuggyIPs: boolean,
    public owner: Owner,
  ) {
    this.cidrs = cidrs;
    const { starts, size } = layoutOf(cidrs);
    this.starts = starts;
    this.size = size;
    this.networks4 = family === 4 ? cidrs.map((c) => Number(c.network.value)) : [];
  }

  /** Whether this space's CIDRs are the first ones of `cidrs` (so every offset keeps its address). */
  isPrefixOf(cidrs: readonly CIDR[]): boolean {
    return this.cidrs.length <= cidrs.length && this.cidrs.every((c, i) => c.equals(cidrs[i]));
  }

  /**
   * Carries the space over into a new config whose CIDR list for this family starts with this
   * space's CIDRs: offsets, in-use addresses, the mark and released offsets all stay valid.
   */
  reshape(cidrs: readonly CIDR[], poolIndex: readonly number[], owner: Owner): void {
    if (!this.isPrefixOf(cidrs)) throw new Error('a pool space can only grow at its end');
    this.cidrs = cidrs;
    const { starts, size } = layoutOf(cidrs);
    this.starts = starts;
    this.size = size;
    this.networks4 = this.family === 4 ? cidrs.map((c) => Number(c.network.value)) : [];
    this.poolIndex = poolIndex;
    this.owner = owner;
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

  /** The address value (as in IPAddress.value) at `offset`. */
  valueAt(offset: Offset): bigint {
    const i = this.cidrAt(offset);
    if (this.family === 4) return BigInt(this.networks4[i] + ((offset as number) - (this.starts[i] as number)));
    return this.cidrs[i].network.value + (offsetToBigInt(offset) - offsetToBigInt(this.starts[i]));
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

  /** The state of the in-use address at `offset`, if any. */
  get(offset: Offset): State | undefined {
    const v = this.slots.get(offset);
    return v === FREE ? undefined : v;
  }

  /** Number of in-use addresses. */
  get inUse(): number {
    return this.live;
  }

  /** The states of all in-use addresses. */
  *states(): Generator<State> {
    for (const v of this.slots.values()) if (v !== FREE) yield v;
  }

  /** The lowest offset nobody uses and avoid-buggy-ips allows, or undefined when there is none. */
  firstFree(): Offset | undefined {
    // drop released offsets that were taken again since
    let top = this.released.peek();
    while (top !== undefined && this.staleReleased.has(top)) {
      this.released.pop();
      this.staleReleased.delete(top);
      top = this.released.peek();
    }
    // step the mark over in-use and forbidden offsets
    const starts = this.starts;
    const lastCidr = starts.length - 1;
    let mark = this.mark;
    while (mark < this.size) {
      while (this.markCidr < lastCidr && starts[this.markCidr + 1] <= mark) this.markCidr++;
      const v = this.slots.get(mark);
      if ((v !== undefined && v !== FREE) || this.forbiddenIn(this.markCidr, mark)) mark = nextOffset(mark);
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
    const before = this.slots.get(offset);
    if (before === FREE) this.freeMarks--;
    this.slots.set(offset, state);
    this.live++;
    // every free offset below the mark is in `released`, exactly once
    if (offset < this.mark) {
      if (this.released.peek() === offset) this.released.pop();
      else this.staleReleased.add(offset);
    }
  }

  /** Records that nobody uses `offset` any more. */
  free(offset: Offset): void {
    this.slots.set(offset, FREE);
    this.live--;
    this.freeMarks++;
    if (offset < this.mark) {
      if (!this.staleReleased.delete(offset)) this.released.push(offset);
    }
    if (this.freeMarks > 4096 && this.freeMarks > this.live) {
      const compact = new Map<Offset, State | typeof FREE>();
      for (const [k, v] of this.slots) if (v !== FREE) compact.set(k, v);
      this.slots = compact;
      this.freeMarks = 0;
    }
  }
}
