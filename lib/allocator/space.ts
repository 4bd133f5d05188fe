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

import { IPAddress, type CIDR, type Family } from '../ip/index.js';

/** Min-heap of bigints. */
class OffsetHeap {
  private readonly items: bigint[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): bigint | undefined {
    return this.items[0];
  }

  push(v: bigint): void {
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

  pop(): bigint | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop() as bigint;
    if (a.length > 0) {
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
    return top;
  }
}

/** A sorted list of offsets (the in-use addresses of one sharing key in one space). */
export class SortedOffsets {
  readonly items: bigint[] = [];

  private lowerBound(v: bigint): number {
    const a = this.items;
    let lo = 0, hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(v: bigint): void {
    const i = this.lowerBound(v);
    if (this.items[i] !== v) this.items.splice(i, 0, v);
  }

  delete(v: bigint): void {
    const i = this.lowerBound(v);
    if (this.items[i] === v) this.items.splice(i, 1);
  }

  get size(): number {
    return this.items.length;
  }
}

export class PoolSpace<State> {
  /** The CIDRs of this family, in walk order. */
  readonly cidrs: readonly CIDR[];
  /** Index of each of `cidrs` in the pool's full CIDR list (to order the two IPs of dual-stack). */
  readonly poolIndex: readonly number[];
  /** Offset of the first address of each of `cidrs`. */
  readonly starts: readonly bigint[];
  readonly size: bigint;
  /** In-use addresses by offset. */
  readonly used = new Map<bigint, State>();
  /** In-use addresses that allow sharing, by sharing/backend key pair, ascending offsets. */
  readonly sharing = new Map<string, SortedOffsets>();

  private mark = 0n;
  private markCidr = 0;
  private readonly released = new OffsetHeap();
  private readonly inReleased = new Set<bigint>();

  constructor(readonly family: Family, cidrs: readonly CIDR[], poolIndex: readonly number[], readonly avoidBuggyIPs: boolean) {
    this.cidrs = cidrs;
    this.poolIndex = poolIndex;
    const starts: bigint[] = [];
    let n = 0n;
    for (const c of cidrs) {
      starts.push(n);
      n += c.size;
    }
    this.starts = starts;
    this.size = n;
  }

  /** Index into `cidrs` of the block holding `offset` (binary search over the blocks). */
  cidrAt(offset: bigint): number {
    const s = this.starts;
    let lo = 0, hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  ipAt(offset: bigint): IPAddress {
    const i = this.cidrAt(offset);
    return IPAddress.of(this.family, this.cidrs[i].network.value + (offset - this.starts[i]));
  }

  /** avoid-buggy-ips forbids IPv4 addresses ending in .0 or .255. */
  private forbiddenIn(cidr: number, offset: bigint): boolean {
    if (!this.avoidBuggyIPs || this.family !== 4) return false;
    const last = (this.cidrs[cidr].network.value + (offset - this.starts[cidr])) & 0xffn;
    return last === 0n || last === 255n;
  }

  /** The lowest offset nobody uses and avoid-buggy-ips allows, or undefined when there is none. */
  firstFree(): bigint | undefined {
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
    while (this.mark < this.size) {
      while (this.markCidr < lastCidr && starts[this.markCidr + 1] <= this.mark) this.markCidr++;
      if (this.forbiddenIn(this.markCidr, this.mark) || this.used.has(this.mark)) this.mark++;
      else break;
    }
    const mark = this.mark < this.size ? this.mark : undefined;
    if (top === undefined) return mark;
    if (mark === undefined) return top;
    return top < mark ? top : mark;
  }

  /** Records that `offset` is in use by `state` (the offset must be allowed and free). */
  take(offset: bigint, state: State): void {
    this.used.set(offset, state);
  }

  /** Records that nobody uses `offset` any more. */
  free(offset: bigint): void {
    this.used.delete(offset);
    if (offset < this.mark && !this.inReleased.has(offset)) {
      this.released.push(offset);
      this.inReleased.add(offset);
    }
  }

  /** Whether avoid-buggy-ips forbids the address at `offset`. */
  forbidden(offset: bigint): boolean {
    return this.forbiddenIn(this.cidrAt(offset), offset);
  }
}
