// The allocator: which Service holds which address(es), and which address a Service may take next
// (docs/behaviour/allocation.md, v0.12 semantics). See index.ts for the contract and the cost model.

import { IPAddress, type CIDR, type Family } from '../ip/index.js';
import type { AddressPool, Config } from '../config/types.js';
import { poolCapacity } from './capacity.js';
import { familyOfAddresses, formatIPList, type AllocationRequest, type IPFamily, type ServicePort } from './request.js';
import { PoolSpace, SortedOffsets, layoutOf, offsetToBigInt, toOffset, type Offset } from './space.js';
import { MinHeap } from './heap.js';

export type SharingRefusalReason = 'existing-no-sharing' | 'new-no-sharing' | 'sharing-key-mismatch' | 'backend-key-mismatch';

export type AllocationFailure =
  | { readonly kind: 'no-config'; readonly message: string }
  | { readonly kind: 'invalid-request'; readonly message: string }
  | { readonly kind: 'family-mismatch'; readonly message: string }
  | { readonly kind: 'invalid-ips'; readonly message: string }
  | { readonly kind: 'not-allowed'; readonly message: string; readonly ips: readonly IPAddress[] }
  | {
      readonly kind: 'sharing';
      readonly reason: SharingRefusalReason;
      /** Upstream's event text. */
      readonly message: string;
      /** Which key check failed, in upstream's internal wording. */
      readonly detail: string;
      readonly ip: IPAddress;
      readonly otherServices: readonly string[];
    }
  | { readonly kind: 'port-in-use'; readonly message: string; readonly ip: IPAddress; readonly port: ServicePort; readonly heldBy: string }
  | { readonly kind: 'unknown-pool'; readonly message: string; readonly pool: string }
  | { readonly kind: 'no-available-ips'; readonly message: string; readonly pool?: string };

export type AllocationResult =
  | {
      readonly ok: true;
      /** In status order (docs/behaviour/allocation.md#dual-stack). */
      readonly ips: readonly IPAddress[];
      readonly pool: string;
      /** False when the key already held exactly these addresses before the call. */
      readonly changed: boolean;
    }
  | { readonly ok: false; readonly failure: AllocationFailure };

export interface StrandedAllocation {
  readonly service: string;
  readonly ips: readonly IPAddress[];
}

export type ConfigVerdict =
  | { readonly ok: true; readonly removedPools: readonly string[] }
  | { readonly ok: false; readonly message: string; readonly conflicts: readonly StrandedAllocation[] };

export interface PoolUsage {
  readonly pool: string;
  /** Distinct addresses with at least one Service (metallb_allocator_addresses_in_use_total). */
  readonly addressesInUse: number;
  /** Capacity as upstream reports it (metallb_allocator_addresses_total, docs/behaviour/allocation.md#capacity). */
  readonly addressesTotal: bigint;
  /** Services holding addresses of the pool. */
  readonly services: number;
}

// ---------------------------------------------------------------- internal state
// Kept small on purpose (bytes per assignment are a target): singletons are stored bare, not in
// one-element arrays.

type Space = PoolSpace<AddressState, PoolState>;

/** One Service's allocation. */
interface Holder {
  readonly key: string;
  /** The addresses in status order: the first, and the second of a dual-stack Service. */
  a0: AddressState;
  a1: AddressState | undefined;
  /** Encoded (protocol, port) pairs (see encodePort): one bare, several in an array. */
  ports: number | readonly number[];
  sharingKey: string;
  backendKey: string;
}

/** One in-use address. Its sharing/backend keys are those of its users (all carry the same pair). */
interface AddressState {
  space: Space;
  offset: Offset;
  users: Holder | Holder[];
}

interface PoolState {
  readonly pool: AddressPool;
  /** Position in the config. */
  readonly index: number;
  v4: Space | undefined;
  v6: Space | undefined;
  readonly capacity: bigint;
  addressesInUse: number;
  services: number;
  /** Whether the pool is in the room heap of each request class (ipv4, ipv6, dual). */
  readonly inRoomHeap: [boolean, boolean, boolean];
}

/** A pool's CIDR as found by address lookup. */
interface Block {
  readonly first: bigint;
  readonly last: bigint;
  readonly start: Offset;
  readonly space: Space;
}

interface Location {
  readonly space: Space;
  readonly offset: Offset;
}

interface KeptSpace {
  readonly pool: PoolState;
  readonly cidrs: readonly CIDR[];
  readonly poolIndex: readonly number[];
}

interface Layout {
  readonly pools: readonly PoolState[];
  readonly byName: ReadonlyMap<string, PoolState>;
  readonly blocks4: readonly Block[];
  readonly blocks6: readonly Block[];
  /** Spaces carried over from the previous layout (same or more CIDRs at the end), with their new shape. */
  readonly kept: ReadonlyMap<Space, KeptSpace>;
}

// Ports are kept as numbers: protocol index * 2^32 + port, protocols interned.
const protocolNames: string[] = ['TCP', 'UDP', 'SCTP'];
const protocolIndex = new Map<string, number>(protocolNames.map((p, i) => [p, i]));
const PORT_SPAN = 2 ** 32;
const NO_PORTS: readonly number[] = [];

function encodePort(p: ServicePort): number {
  let i = protocolIndex.get(p.protocol);
  if (i === undefined) {
    i = protocolNames.length;
    protocolNames.push(p.protocol);
    protocolIndex.set(p.protocol, i);
  }
  return i * PORT_SPAN + (p.port >>> 0);
}

function decodePort(code: number): ServicePort {
  return { protocol: protocolNames[Math.floor(code / PORT_SPAN)], port: code % PORT_SPAN };
}

function encodePorts(ports: readonly ServicePort[]): number | readonly number[] {
  if (ports.length === 0) return NO_PORTS;
  if (ports.length === 1) return encodePort(ports[0]);
  return ports.map(encodePort);
}

function holdsPort(h: Holder, code: number): boolean {
  return typeof h.ports === 'number' ? h.ports === code : h.ports.includes(code);
}

/** The first of `ports` that `h` holds, or undefined. */
function clash(h: Holder, ports: number | readonly number[]): number | undefined {
  if (typeof ports === 'number') return holdsPort(h, ports) ? ports : undefined;
  for (const p of ports) if (holdsPort(h, p)) return p;
  return undefined;
}

function firstUser(s: AddressState): Holder {
  return Array.isArray(s.users) ? s.users[0] : s.users;
}

function hasUser(s: AddressState, h: Holder): boolean {
  return Array.isArray(s.users) ? s.users.includes(h) : s.users === h;
}

function usersOf(s: AddressState): readonly Holder[] {
  return Array.isArray(s.users) ? s.users : [s.users];
}

function groupKey(sharingKey: string, backendKey: string): string {
  return backendKey === '' ? sharingKey : `${sharingKey}\u0000${backendKey}`;
}

const CLASS_INDEX: Record<IPFamily, number> = { ipv4: 0, ipv6: 1, dual: 2 };
const CLASSES_OF_FAMILY: Record<Family, readonly number[]> = { 4: [0, 2], 6: [1, 2] };

/** Old spaces are matched to new ones by family, avoid-buggy-ips and first CIDR. */
function reuseKey(family: Family, avoidBuggyIPs: boolean, first: CIDR): string {
  return `${family}|${family === 4 && avoidBuggyIPs ? 'avoid' : ''}|${first.toString()}`;
}

function buildLayout(config: Config, previous: Layout | undefined): Layout | string {
  const reusable = new Map<string, Space>();
  for (const p of previous?.pools ?? []) {
    for (const s of [p.v4, p.v6]) if (s) reusable.set(reuseKey(s.family, s.avoidBuggyIPs, s.cidrs[0]), s);
  }
  const pools: PoolState[] = [];
  const byName = new Map<string, PoolState>();
  const kept = new Map<Space, KeptSpace>();
  const blocks: Record<Family, Block[]> = { 4: [], 6: [] };
  config.pools.forEach((pool, index) => {
    const state: PoolState = {
      pool,
      index,
      v4: undefined,
      v6: undefined,
      capacity: poolCapacity(pool),
      addressesInUse: 0,
      services: 0,
      inRoomHeap: [false, false, false],
    };
    for (const family of [4, 6] as const) {
      const cidrs = pool.cidrs.filter((c) => c.family === family);
      if (cidrs.length === 0) continue;
      const poolIndex = pool.cidrs.flatMap((c, i) => (c.family === family ? [i] : []));
      const key = reuseKey(family, pool.avoidBuggyIPs, cidrs[0]);
      let space = reusable.get(key);
      if (space && space.isPrefixOf(cidrs)) {
        reusable.delete(key);
        kept.set(space, { pool: state, cidrs, poolIndex });
      } else {
        space = new PoolSpace<AddressState, PoolState>(family, cidrs, poolIndex, pool.avoidBuggyIPs, state);
      }
      if (family === 4) state.v4 = space;
      else state.v6 = space;
      const sp = space;
      const { starts } = layoutOf(cidrs);
      cidrs.forEach((c, i) => blocks[family].push({ first: c.first.value, last: c.last.value, start: starts[i], space: sp }));
    }
    pools.push(state);
  });
  for (const p of pools) {
    if (byName.has(p.pool.name)) return `duplicate definition of pool "${p.pool.name}"`;
    byName.set(p.pool.name, p);
  }
  const ownerOf = (s: Space): PoolState => kept.get(s)?.pool ?? s.owner;
  for (const family of [4, 6] as const) {
    const list = blocks[family];
    list.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (let i = 1; i < list.length; i++) {
      if (list[i].first <= list[i - 1].last) {
        return `CIDRs of pools "${ownerOf(list[i - 1].space).pool.name}" and "${ownerOf(list[i].space).pool.name}" overlap`;
      }
    }
  }
  return { pools, byName, blocks4: blocks[4], blocks6: blocks[6], kept };
}

/** The block holding `ip` in `layout`, when avoid-buggy-ips allows the address there. */
function locate(layout: Layout, ip: IPAddress): Location | undefined {
  return locateValue(layout, ip.family, ip.value);
}

function locateValue(layout: Layout, family: Family, v: bigint): Location | undefined {
  const list = family === 4 ? layout.blocks4 : layout.blocks6;
  let lo = 0, hi = list.length - 1;
  if (hi < 0 || v < list[0].first) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (list[mid].first <= v) lo = mid;
    else hi = mid - 1;
  }
  const b = list[lo];
  if (v > b.last) return undefined;
  if (family === 4 && b.space.avoidBuggyIPs) {
    const lastOctet = v & 0xffn;
    if (lastOctet === 0n || lastOctet === 255n) return undefined;
  }
  const start = b.start;
  const diff = v - b.first;
  if (typeof start === 'number' && diff < 1n << 52n) {
    const offset = start + Number(diff);
    if (offset < 2 ** 53) return { space: b.space, offset };
  }
  return { space: b.space, offset: toOffset(offsetToBigInt(start) + diff) };
}

function ipOf(s: AddressState): IPAddress {
  return s.space.ipAt(s.offset);
}

function holderIPs(h: Holder): IPAddress[] {
  return h.a1 ? [ipOf(h.a0), ipOf(h.a1)] : [ipOf(h.a0)];
}

function fail(failure: AllocationFailure): AllocationResult {
  return { ok: false, failure };
}

/** Min-heap of pool positions. */
class PoolHeap extends MinHeap<number> {}

/**
 * Service key → allocation. Released keys stay as null entries (dropped in bulk later) instead of
 * being deleted, for the reason given at PoolSpace's slots: a Service released and allocated
 * again on every reconcile (upstream's quirk with spec.loadBalancerIP plus another pool's
 * annotation) would otherwise make every lookup of its key slower.
 */
class HolderTable {
  private entries = new Map<string, Holder | null>();
  private live = 0;
  private dead = 0;

  get(key: string): Holder | undefined {
    return this.entries.get(key) ?? undefined;
  }

  has(key: string): boolean {
    return !!this.entries.get(key);
  }

  set(key: string, h: Holder): void {
    const before = this.entries.get(key);
    if (before === null) this.dead--;
    if (!before) this.live++;
    this.entries.set(key, h);
  }

  delete(key: string): void {
    if (!this.entries.get(key)) return;
    this.entries.set(key, null);
    this.live--;
    this.dead++;
    if (this.dead > 1024 && this.dead > this.live) {
      const compact = new Map<string, Holder | null>();
      for (const [k, v] of this.entries) if (v) compact.set(k, v);
      this.entries = compact;
      this.dead = 0;
    }
  }

  *values(): Generator<Holder> {
    for (const v of this.entries.values()) if (v) yield v;
  }

  *keys(): Generator<string> {
    for (const [k, v] of this.entries) if (v) yield k;
  }

  get size(): number {
    return this.live;
  }
}

// ---------------------------------------------------------------- the allocator

export class Allocator {
  private layout: Layout | undefined;
  private readonly holders = new HolderTable();
  /**
   * Per request class (ipv4, ipv6, dual): auto-assign pools that may have a free address for it,
   * by config position. Every pool that has room is in it; full ones leave it lazily.
   */
  private roomHeaps: [PoolHeap, PoolHeap, PoolHeap] = [new PoolHeap(), new PoolHeap(), new PoolHeap()];
  /** Sharing/backend key pair → pools with in-use addresses carrying it (and how many). */
  private groupPools = new Map<string, Map<PoolState, number>>();

  /** Adopts `config` unless an existing allocation would not fit one of its pools (docs/behaviour/allocation.md#config-changes). */
  setConfig(config: Config): ConfigVerdict {
    const layout = buildLayout(config, this.layout);
    if (typeof layout === 'string') return { ok: false, message: `invalid config: ${layout}`, conflicts: [] };
    // every allocation must fit entirely inside one pool of the new config
    const conflicts: StrandedAllocation[] = [];
    const relocated: AddressState[] = [];
    const targets: Location[] = [];
    const targetPool = (s: AddressState): PoolState | undefined => {
      const k = layout.kept.get(s.space);
      if (k) return k.pool;
      const loc = locateValue(layout, s.space.family, s.space.valueAt(s.offset));
      if (!loc) return undefined;
      relocated.push(s);
      targets.push(loc);
      // a kept space gets its new owner only on adoption
      return layout.kept.get(loc.space)?.pool ?? loc.space.owner;
    };
    for (const h of this.holders.values()) {
      const p0 = targetPool(h.a0);
      if (!p0 || (h.a1 && targetPool(h.a1) !== p0)) conflicts.push({ service: h.key, ips: holderIPs(h) });
    }
    if (conflicts.length > 0) {
      conflicts.sort((x, y) => (x.service < y.service ? -1 : x.service > y.service ? 1 : 0));
      const c = conflicts[0];
      return {
        ok: false,
        message: `new config not compatible with assigned IPs: service ${JSON.stringify(c.service)} cannot own ${formatIPList(c.ips)} under new config`,
        conflicts,
      };
    }
    const previous = this.layout;
    const removedPools = previous ? previous.pools.map((p) => p.pool.name).filter((n) => !layout.byName.has(n)) : [];
    // adopt: kept spaces take their new shape and owner; addresses of the other old spaces move
    // into the new spaces (a shared address is listed once per user: moved once)
    for (const [space, k] of layout.kept) space.reshape(k.cidrs, k.poolIndex, k.pool);
    const dropped = new Set<Space>();
    for (const p of previous?.pools ?? []) for (const old of [p.v4, p.v6]) if (old && !layout.kept.has(old)) dropped.add(old);
    const filled = new Set<Space>();
    for (let i = 0; i < relocated.length; i++) {
      const s = relocated[i];
      if (!dropped.has(s.space)) continue;
      const loc = targets[i];
      s.space = loc.space;
      s.offset = loc.offset;
      loc.space.take(loc.offset, s);
      filled.add(loc.space);
    }
    // sharing indexes of the new spaces, built in one go
    for (const space of filled) {
      const byKey = new Map<string, Offset[]>();
      for (const st of space.states()) {
        const u = firstUser(st);
        if (u.sharingKey === '') continue;
        const k = groupKey(u.sharingKey, u.backendKey);
        const list = byKey.get(k);
        if (list) list.push(st.offset);
        else byKey.set(k, [st.offset]);
      }
      for (const [k, list] of byKey) space.sharing.set(k, SortedOffsets.from(list));
    }
    this.layout = layout;
    // recount, and rebuild the pool-level indexes
    this.groupPools = new Map();
    this.roomHeaps = [new PoolHeap(), new PoolHeap(), new PoolHeap()];
    for (const p of layout.pools) {
      p.addressesInUse = (p.v4?.inUse ?? 0) + (p.v6?.inUse ?? 0);
      for (const space of [p.v4, p.v6]) {
        if (!space) continue;
        for (const [k, group] of space.sharing) this.countGroup(k, p, group.size);
      }
      if (p.pool.autoAssign) {
        for (let c = 0; c < 3; c++) {
          p.inRoomHeap[c] = true;
          this.roomHeaps[c].push(p.index);
        }
      }
    }
    for (const h of this.holders.values()) h.a0.space.owner.services++;
    return { ok: true, removedPools };
  }

  /** Whether a config has been adopted. */
  get configured(): boolean {
    return this.layout !== undefined;
  }

  /** Picks (or re-asserts) the address(es) of `key` (docs/behaviour/allocation.md#choosing). */
  allocate(key: string, request: AllocationRequest): AllocationResult {
    const layout = this.layout;
    if (!layout) return fail({ kind: 'no-config', message: 'no configuration loaded' });
    if (!request.family.ok) return fail({ kind: 'invalid-request', message: request.family.message });
    if (!request.requestedIPs.ok) return fail({ kind: 'invalid-request', message: request.requestedIPs.message });
    if (request.requestedIPs.ips.length > 0) return this.assign(key, request, request.requestedIPs.ips);
    const existing = this.holders.get(key);
    if (existing) {
      const ips = holderIPs(existing);
      const fam = familyOfAddresses(ips);
      if (!fam.ok || fam.family !== request.family.family) {
        return fail({ kind: 'family-mismatch', message: `IP for wrong family assigned ${formatIPList(ips)}` });
      }
      return this.assign(key, request, ips);
    }
    const ports = encodePorts(request.ports);
    const family = request.family.family;
    const { sharingKey, backendKey } = request;
    if (request.requestedPool !== '') {
      const pool = layout.byName.get(request.requestedPool);
      if (!pool) return fail({ kind: 'unknown-pool', message: `unknown pool ${JSON.stringify(request.requestedPool)}`, pool: request.requestedPool });
      const locs = this.pick(pool, family, ports, sharingKey, backendKey);
      if (!locs) {
        return fail({ kind: 'no-available-ips', message: `no available IPs in pool ${JSON.stringify(pool.pool.name)} for ${family} IPFamily`, pool: pool.pool.name });
      }
      return this.commit(key, locs, ports, sharingKey, backendKey, undefined);
    }
    // Upstream tries every auto-assign pool (in random order; here in config order) and takes
    // the first that can serve. A pool can serve only if it has room for the request's families
    // or holds addresses carrying the request's sharing keys, so only those are looked at.
    let best: PoolState | undefined;
    let bestLocs: Location[] | undefined;
    if (sharingKey !== '') {
      const candidates = this.groupPools.get(groupKey(sharingKey, backendKey));
      if (candidates) {
        for (const p of candidates.keys()) {
          if (!p.pool.autoAssign || (best && p.index > best.index)) continue;
          const locs = this.pick(p, family, ports, sharingKey, backendKey);
          if (locs) {
            best = p;
            bestLocs = locs;
          }
        }
      }
    }
    const room = this.firstPoolWithRoom(CLASS_INDEX[family]);
    if (room && (!best || room.index < best.index)) {
      best = room;
      bestLocs = this.pick(room, family, ports, sharingKey, backendKey);
    }
    if (!bestLocs) return fail({ kind: 'no-available-ips', message: 'no available IPs' });
    return this.commit(key, bestLocs, ports, sharingKey, backendKey, undefined);
  }

  /** Places `key` on exactly `ips` (re-assert or explicit request), if the rules allow it. */
  assign(key: string, request: AllocationRequest, ips: readonly IPAddress[]): AllocationResult {
    const layout = this.layout;
    if (!layout) return fail({ kind: 'no-config', message: 'no configuration loaded' });
    if (!request.family.ok) return fail({ kind: 'invalid-request', message: request.family.message });
    const fam = familyOfAddresses(ips);
    if (!fam.ok) return fail({ kind: 'invalid-ips', message: fam.message });
    if (fam.family !== request.family.family) {
      return fail({ kind: 'family-mismatch', message: `requested loadBalancer IP(s) ${formatIPList(ips)} does not match the ipFamily of the service` });
    }
    const locs: Location[] = [];
    for (const ip of ips) {
      const loc = locate(layout, ip);
      if (!loc || (locs.length > 0 && loc.space.owner !== locs[0].space.owner)) {
        return fail({ kind: 'not-allowed', message: `${formatIPList(ips)} is not allowed in config`, ips });
      }
      locs.push(loc);
    }
    const ports = encodePorts(request.ports);
    for (let i = 0; i < locs.length; i++) {
      const refusal = this.checkSharing(key, locs[i], ips[i], ports, request.sharingKey, request.backendKey);
      if (refusal) return fail(refusal);
    }
    return this.commit(key, locs, ports, request.sharingKey, request.backendKey, ips);
  }

  /** Frees everything `key` holds. False when it held nothing. */
  release(key: string): boolean {
    const h = this.holders.get(key);
    if (!h) return false;
    h.a0.space.owner.services--;
    this.detach(h, h.a0);
    if (h.a1) this.detach(h, h.a1);
    this.holders.delete(key);
    return true;
  }

  has(key: string): boolean {
    return this.holders.has(key);
  }

  /** The addresses of `key` in status order. */
  ipsOf(key: string): readonly IPAddress[] | undefined {
    const h = this.holders.get(key);
    return h && holderIPs(h);
  }

  poolOf(key: string): string | undefined {
    return this.holders.get(key)?.a0.space.owner.pool.name;
  }

  keys(): IterableIterator<string> {
    return this.holders.keys();
  }

  get size(): number {
    return this.holders.size;
  }

  usage(): PoolUsage[] {
    return (this.layout?.pools ?? []).map(usageOf);
  }

  poolUsage(name: string): PoolUsage | undefined {
    const p = this.layout?.byName.get(name);
    return p ? usageOf(p) : undefined;
  }

  // -------------------------------------------------------------- internals

  /** docs/behaviour/allocation.md#sharing for `key` on the address at `loc`; undefined when allowed. */
  private checkSharing(key: string, loc: Location, ip: IPAddress, ports: number | readonly number[], sharingKey: string, backendKey: string): AllocationFailure | undefined {
    const state = loc.space.get(loc.offset);
    if (!state) return undefined;
    const recorded = firstUser(state);
    let reason: SharingRefusalReason | undefined;
    let detail = '';
    if (recorded.sharingKey === '') {
      reason = 'existing-no-sharing';
      detail = 'existing service does not allow sharing';
    } else if (sharingKey === '') {
      reason = 'new-no-sharing';
      detail = 'new service does not allow sharing';
    } else if (recorded.sharingKey !== sharingKey) {
      reason = 'sharing-key-mismatch';
      detail = `sharing key ${JSON.stringify(sharingKey)} does not match existing sharing key ${JSON.stringify(recorded.sharingKey)}`;
    } else if (recorded.backendKey !== backendKey) {
      reason = 'backend-key-mismatch';
      detail = `backend key ${JSON.stringify(backendKey)} does not match existing sharing key ${JSON.stringify(recorded.backendKey)}`;
    }
    const users = usersOf(state);
    if (reason) {
      const others = users.filter((u) => u.key !== key).map((u) => u.key);
      if (others.length > 0) {
        return {
          kind: 'sharing',
          reason,
          message: `can't change sharing key for ${JSON.stringify(key)}, address also in use by ${others.join(',')}`,
          detail,
          ip,
          otherServices: others,
        };
      }
    }
    for (const u of users) {
      if (u.key === key) continue;
      const code = clash(u, ports);
      if (code !== undefined) {
        const port = decodePort(code);
        return { kind: 'port-in-use', message: `port ${port.protocol}/${port.port} is already in use on ${JSON.stringify(ip.toString())}`, ip, port, heldBy: u.key };
      }
    }
    return undefined;
  }

  /** The first offset of `space` in walk order a new Service with these ports/keys may use. */
  private firstUsable(space: Space, ports: number | readonly number[], sharingKey: string, backendKey: string): Offset | undefined {
    const free = space.firstFree();
    if (sharingKey === '') return free;
    const group = space.sharing.get(groupKey(sharingKey, backendKey));
    if (!group) return free;
    for (const offset of group.items) {
      if (free !== undefined && offset > free) break;
      const state = space.get(offset) as AddressState;
      if (!usersOf(state).some((u) => clash(u, ports) !== undefined)) return offset;
    }
    return free;
  }

  /** Addresses for a new allocation from `pool`, in status order; undefined when it cannot serve. */
  private pick(pool: PoolState, family: IPFamily, ports: number | readonly number[], sharingKey: string, backendKey: string): Location[] | undefined {
    if (family !== 'dual') {
      const space = family === 'ipv4' ? pool.v4 : pool.v6;
      if (!space) return undefined;
      const offset = this.firstUsable(space, ports, sharingKey, backendKey);
      return offset === undefined ? undefined : [{ space, offset }];
    }
    const v4 = pool.v4, v6 = pool.v6;
    if (!v4 || !v6) return undefined;
    const o4 = this.firstUsable(v4, ports, sharingKey, backendKey);
    if (o4 === undefined) return undefined;
    const o6 = this.firstUsable(v6, ports, sharingKey, backendKey);
    if (o6 === undefined) return undefined;
    const l4 = { space: v4, offset: o4 }, l6 = { space: v6, offset: o6 };
    // the family whose CIDR comes first in the pool's list comes first (docs/behaviour/allocation.md#dual-stack)
    return v4.poolIndex[v4.cidrAt(o4)] < v6.poolIndex[v6.cidrAt(o6)] ? [l4, l6] : [l6, l4];
  }

  /** The first auto-assign pool (config order) with a free address for request class `c`. */
  private firstPoolWithRoom(c: number): PoolState | undefined {
    const heap = this.roomHeaps[c];
    const pools = (this.layout as Layout).pools;
    for (;;) {
      const top = heap.items[0];
      if (top === undefined) return undefined;
      const p = pools[top];
      const room4 = c === 1 || (p.v4 !== undefined && p.v4.firstFree() !== undefined);
      const room6 = c === 0 || (p.v6 !== undefined && p.v6.firstFree() !== undefined);
      if (room4 && room6) return p;
      heap.pop();
      p.inRoomHeap[c] = false;
    }
  }

  /** Records `key` on exactly `locs` (checks already done), replacing what it held. */
  private commit(
    key: string,
    locs: readonly Location[],
    ports: number | readonly number[],
    sharingKey: string,
    backendKey: string,
    ips: readonly IPAddress[] | undefined,
  ): AllocationResult {
    const pool = locs[0].space.owner;
    let holder = this.holders.get(key);
    let changed = true;
    const within = (s: AddressState | undefined): boolean => s !== undefined && locs.some((l) => l.space === s.space && l.offset === s.offset);
    if (holder) {
      const h = holder;
      const a0 = h.a0, a1 = h.a1;
      changed = (a1 ? 2 : 1) !== locs.length || !within(a0) || (a1 !== undefined && !within(a1));
      const oldPool = a0.space.owner;
      if (!within(a0)) this.detach(h, a0);
      if (a1 && !within(a1)) this.detach(h, a1);
      if (oldPool !== pool) {
        oldPool.services--;
        pool.services++;
      }
      if (h.sharingKey !== sharingKey || h.backendKey !== backendKey) {
        // the holder stays on addresses it is the only user of (docs/behaviour/allocation.md#sharing exception): re-index them
        for (const s of [a0, a1]) if (s && within(s)) this.indexDelete(s);
        h.sharingKey = sharingKey;
        h.backendKey = backendKey;
        for (const s of [a0, a1]) if (s && within(s)) this.indexAdd(s);
      }
      h.ports = ports;
    } else {
      holder = { key, a0: undefined as unknown as AddressState, a1: undefined, ports, sharingKey, backendKey };
      pool.services++;
      this.holders.set(key, holder);
    }
    const h = holder;
    const stateAt = (loc: Location): AddressState => {
      let s = loc.space.get(loc.offset);
      if (!s) {
        s = { space: loc.space, offset: loc.offset, users: h };
        loc.space.take(loc.offset, s);
        pool.addressesInUse++;
        this.indexAdd(s);
      } else if (!hasUser(s, h)) {
        s.users = Array.isArray(s.users) ? [...s.users, h] : [s.users, h];
      }
      return s;
    };
    h.a0 = stateAt(locs[0]);
    h.a1 = locs.length > 1 ? stateAt(locs[1]) : undefined;
    const resultIPs = ips ? [...ips] : holderIPs(h);
    return { ok: true, ips: resultIPs, pool: pool.pool.name, changed };
  }

  private detach(h: Holder, s: AddressState): void {
    if (Array.isArray(s.users)) {
      // all users carry the same keys, so the sharing index entry stays valid
      const rest = s.users.filter((u) => u !== h);
      s.users = rest.length === 1 ? rest[0] : rest;
      return;
    }
    if (s.users !== h) return;
    this.indexDelete(s);
    s.space.free(s.offset);
    const pool = s.space.owner;
    pool.addressesInUse--;
    if (pool.pool.autoAssign) {
      for (const c of CLASSES_OF_FAMILY[s.space.family]) {
        if (!pool.inRoomHeap[c]) {
          pool.inRoomHeap[c] = true;
          this.roomHeaps[c].push(pool.index);
        }
      }
    }
  }

  private countGroup(k: string, pool: PoolState, delta: number): void {
    let m = this.groupPools.get(k);
    if (!m) {
      if (delta <= 0) return;
      m = new Map();
      this.groupPools.set(k, m);
    }
    const n = (m.get(pool) ?? 0) + delta;
    if (n > 0) m.set(pool, n);
    else {
      m.delete(pool);
      if (m.size === 0) this.groupPools.delete(k);
    }
  }

  private indexAdd(s: AddressState): void {
    const u = firstUser(s);
    if (u.sharingKey === '') return;
    const k = groupKey(u.sharingKey, u.backendKey);
    let group = s.space.sharing.get(k);
    if (!group) {
      group = new SortedOffsets();
      s.space.sharing.set(k, group);
    }
    group.add(s.offset);
    this.countGroup(k, s.space.owner, 1);
  }

  private indexDelete(s: AddressState): void {
    const u = firstUser(s);
    if (u.sharingKey === '') return;
    const k = groupKey(u.sharingKey, u.backendKey);
    const group = s.space.sharing.get(k);
    if (!group) return;
    group.delete(s.offset);
    if (group.size === 0) s.space.sharing.delete(k);
    this.countGroup(k, s.space.owner, -1);
  }
}

function usageOf(p: PoolState): PoolUsage {
  return { pool: p.pool.name, addressesInUse: p.addressesInUse, addressesTotal: p.capacity, services: p.services };
}
