// The allocator: which Service holds which address(es), and which address a Service may take next
// (spec §2.2–2.8, v0.12 semantics). See index.ts for the contract and the cost model.

import { IPAddress, isBuggyIP, type Family } from '../ip/index.js';
import type { AddressPool, Config } from '../config/types.js';
import { poolCapacity } from './capacity.js';
import { familyOfAddresses, formatIPList, type AllocationRequest, type IPFamily, type ServicePort } from './request.js';
import { PoolSpace, SortedOffsets } from './space.js';

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
      /** In status order (§2.7). */
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
  /** Capacity as upstream reports it (metallb_allocator_addresses_total, §2.9). */
  readonly addressesTotal: bigint;
  /** Services holding addresses of the pool. */
  readonly services: number;
}

// ---------------------------------------------------------------- internal state

/** One Service's allocation. */
interface Holder {
  readonly key: string;
  pool: PoolState;
  /** In status order. */
  addresses: AddressState[];
  /** Encoded (protocol, port) pairs, see encodePort. */
  ports: readonly number[];
  sharingKey: string;
  backendKey: string;
}

/** One in-use address. */
interface AddressState {
  readonly ip: IPAddress;
  space: PoolSpace<AddressState>;
  offset: bigint;
  pool: PoolState;
  readonly users: Holder[];
  /** The sharing/backend keys recorded for the address (all its users carry the same pair). */
  sharingKey: string;
  backendKey: string;
}

interface PoolState {
  readonly pool: AddressPool;
  readonly v4?: PoolSpace<AddressState>;
  readonly v6?: PoolSpace<AddressState>;
  readonly capacity: bigint;
  addressesInUse: number;
  services: number;
}

/** A pool's CIDR as found by address lookup. */
interface Block {
  readonly first: bigint;
  readonly last: bigint;
  readonly start: bigint;
  readonly pool: PoolState;
  readonly space: PoolSpace<AddressState>;
}

interface Location {
  readonly ip: IPAddress;
  readonly pool: PoolState;
  readonly space: PoolSpace<AddressState>;
  readonly offset: bigint;
}

interface Layout {
  readonly pools: readonly PoolState[];
  readonly byName: ReadonlyMap<string, PoolState>;
  readonly blocks4: readonly Block[];
  readonly blocks6: readonly Block[];
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

function encodePorts(ports: readonly ServicePort[]): readonly number[] {
  if (ports.length === 0) return NO_PORTS;
  return ports.map(encodePort);
}

function groupKey(sharingKey: string, backendKey: string): string {
  return backendKey === '' ? sharingKey : `${sharingKey}\u0000${backendKey}`;
}

function buildLayout(config: Config): Layout | string {
  const pools: PoolState[] = [];
  const byName = new Map<string, PoolState>();
  const blocks: Record<Family, Block[]> = { 4: [], 6: [] };
  for (const pool of config.pools) {
    if (byName.has(pool.name)) return `duplicate definition of pool "${pool.name}"`;
    const spaceFor = (family: Family): PoolSpace<AddressState> | undefined => {
      const cidrs = pool.cidrs.filter((c) => c.family === family);
      if (cidrs.length === 0) return undefined;
      const index = pool.cidrs.flatMap((c, i) => (c.family === family ? [i] : []));
      return new PoolSpace<AddressState>(family, cidrs, index, pool.avoidBuggyIPs);
    };
    const state: PoolState = { pool, v4: spaceFor(4), v6: spaceFor(6), capacity: poolCapacity(pool), addressesInUse: 0, services: 0 };
    for (const space of [state.v4, state.v6]) {
      if (!space) continue;
      space.cidrs.forEach((c, i) => blocks[space.family].push({ first: c.first.value, last: c.last.value, start: space.starts[i], pool: state, space }));
    }
    pools.push(state);
    byName.set(pool.name, state);
  }
  for (const family of [4, 6] as const) {
    const list = blocks[family];
    list.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    for (let i = 1; i < list.length; i++) {
      if (list[i].first <= list[i - 1].last) {
        return `CIDRs of pools "${list[i - 1].pool.pool.name}" and "${list[i].pool.pool.name}" overlap`;
      }
    }
  }
  return { pools, byName, blocks4: blocks[4], blocks6: blocks[6] };
}

/** The pool block holding `ip` and, when avoid-buggy-ips allows it there, its location. */
function locate(layout: Layout, ip: IPAddress): Location | undefined {
  const list = ip.family === 4 ? layout.blocks4 : layout.blocks6;
  const v = ip.value;
  let lo = 0, hi = list.length - 1;
  if (hi < 0 || v < list[0].first) return undefined;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (list[mid].first <= v) lo = mid;
    else hi = mid - 1;
  }
  const b = list[lo];
  if (v > b.last) return undefined;
  if (b.pool.pool.avoidBuggyIPs && isBuggyIP(ip)) return undefined;
  return { ip, pool: b.pool, space: b.space, offset: b.start + (v - b.first) };
}

function familiesOf(f: IPFamily): readonly Family[] {
  return f === 'ipv4' ? [4] : f === 'ipv6' ? [6] : [4, 6];
}

function fail(failure: AllocationFailure): AllocationResult {
  return { ok: false, failure };
}

// ---------------------------------------------------------------- the allocator

export class Allocator {
  private layout: Layout | undefined;
  private readonly holders = new Map<string, Holder>();

  /** Adopts `config` unless an existing allocation would not fit one of its pools (§2.6). */
  setConfig(config: Config): ConfigVerdict {
    const layout = buildLayout(config);
    if (typeof layout === 'string') return { ok: false, message: `invalid config: ${layout}`, conflicts: [] };
    const conflicts: StrandedAllocation[] = [];
    for (const h of this.holders.values()) {
      const ips = h.addresses.map((s) => s.ip);
      const locs = ips.map((ip) => locate(layout, ip));
      const first = locs[0];
      if (!first || locs.some((l) => !l || l.pool !== first.pool)) conflicts.push({ service: h.key, ips });
    }
    if (conflicts.length > 0) {
      const c = conflicts[0];
      return {
        ok: false,
        message: `new config not compatible with assigned IPs: service ${JSON.stringify(c.service)} cannot own ${formatIPList(c.ips)} under new config`,
        conflicts,
      };
    }
    const removedPools = this.layout ? this.layout.pools.map((p) => p.pool.name).filter((n) => !layout.byName.has(n)) : [];
    // re-attribute every in-use address and every Service to the new pools
    const moved = new Set<AddressState>();
    for (const h of this.holders.values()) {
      for (const s of h.addresses) {
        if (moved.has(s)) continue;
        moved.add(s);
        const loc = locate(layout, s.ip) as Location;
        s.space = loc.space;
        s.offset = loc.offset;
        s.pool = loc.pool;
        loc.space.take(loc.offset, s);
        loc.pool.addressesInUse++;
        this.indexAdd(s);
      }
      h.pool = h.addresses[0].pool;
      h.pool.services++;
    }
    this.layout = layout;
    return { ok: true, removedPools };
  }

  /** Whether a config has been adopted. */
  get configured(): boolean {
    return this.layout !== undefined;
  }

  /** Picks (or re-asserts) the address(es) of `key` (§2.4). */
  allocate(key: string, request: AllocationRequest): AllocationResult {
    const layout = this.layout;
    if (!layout) return fail({ kind: 'no-config', message: 'no configuration loaded' });
    if (!request.family.ok) return fail({ kind: 'invalid-request', message: request.family.message });
    if (!request.requestedIPs.ok) return fail({ kind: 'invalid-request', message: request.requestedIPs.message });
    if (request.requestedIPs.ips.length > 0) return this.assign(key, request, request.requestedIPs.ips);
    const existing = this.holders.get(key);
    if (existing) {
      const ips = existing.addresses.map((s) => s.ip);
      const fam = familyOfAddresses(ips);
      if (!fam.ok || fam.family !== request.family.family) {
        return fail({ kind: 'family-mismatch', message: `IP for wrong family assigned ${formatIPList(ips)}` });
      }
      return this.assign(key, request, ips);
    }
    const ports = encodePorts(request.ports);
    const family = request.family.family;
    if (request.requestedPool !== '') {
      const pool = layout.byName.get(request.requestedPool);
      if (!pool) return fail({ kind: 'unknown-pool', message: `unknown pool ${JSON.stringify(request.requestedPool)}`, pool: request.requestedPool });
      const locs = this.pick(pool, family, ports, request.sharingKey, request.backendKey);
      if (!locs) {
        return fail({ kind: 'no-available-ips', message: `no available IPs in pool ${JSON.stringify(pool.pool.name)} for ${family} IPFamily`, pool: pool.pool.name });
      }
      return this.commit(key, pool, locs, ports, request.sharingKey, request.backendKey);
    }
    for (const pool of layout.pools) {
      if (!pool.pool.autoAssign) continue;
      const locs = this.pick(pool, family, ports, request.sharingKey, request.backendKey);
      if (locs) return this.commit(key, pool, locs, ports, request.sharingKey, request.backendKey);
    }
    return fail({ kind: 'no-available-ips', message: 'no available IPs' });
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
      if (!loc || (locs.length > 0 && loc.pool !== locs[0].pool)) {
        return fail({ kind: 'not-allowed', message: `${formatIPList(ips)} is not allowed in config`, ips });
      }
      locs.push(loc);
    }
    const ports = encodePorts(request.ports);
    for (const loc of locs) {
      const refusal = this.checkSharing(key, loc, ports, request.sharingKey, request.backendKey);
      if (refusal) return fail(refusal);
    }
    return this.commit(key, locs[0].pool, locs, ports, request.sharingKey, request.backendKey);
  }

  /** Frees everything `key` holds. False when it held nothing. */
  release(key: string): boolean {
    const h = this.holders.get(key);
    if (!h) return false;
    for (const s of h.addresses) this.detach(h, s);
    h.pool.services--;
    this.holders.delete(key);
    return true;
  }

  has(key: string): boolean {
    return this.holders.has(key);
  }

  ipsOf(key: string): readonly IPAddress[] | undefined {
    return this.holders.get(key)?.addresses.map((s) => s.ip);
  }

  poolOf(key: string): string | undefined {
    return this.holders.get(key)?.pool.pool.name;
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

  /** §2.2 for `key` on the address at `loc`; undefined when allowed. */
  private checkSharing(key: string, loc: Location, ports: readonly number[], sharingKey: string, backendKey: string): AllocationFailure | undefined {
    const state = loc.space.used.get(loc.offset);
    if (!state) return undefined;
    let reason: SharingRefusalReason | undefined;
    let detail = '';
    if (state.sharingKey === '') {
      reason = 'existing-no-sharing';
      detail = 'existing service does not allow sharing';
    } else if (sharingKey === '') {
      reason = 'new-no-sharing';
      detail = 'new service does not allow sharing';
    } else if (state.sharingKey !== sharingKey) {
      reason = 'sharing-key-mismatch';
      detail = `sharing key ${JSON.stringify(sharingKey)} does not match existing sharing key ${JSON.stringify(state.sharingKey)}`;
    } else if (state.backendKey !== backendKey) {
      reason = 'backend-key-mismatch';
      detail = `backend key ${JSON.stringify(backendKey)} does not match existing sharing key ${JSON.stringify(state.backendKey)}`;
    }
    if (reason) {
      const others = state.users.filter((u) => u.key !== key).map((u) => u.key);
      if (others.length > 0) {
        return {
          kind: 'sharing',
          reason,
          message: `can't change sharing key for ${JSON.stringify(key)}, address also in use by ${others.join(',')}`,
          detail,
          ip: loc.ip,
          otherServices: others,
        };
      }
    }
    for (const code of ports) {
      for (const u of state.users) {
        if (u.key !== key && u.ports.includes(code)) {
          const port = decodePort(code);
          return { kind: 'port-in-use', message: `port ${port.protocol}/${port.port} is already in use on ${JSON.stringify(loc.ip.toString())}`, ip: loc.ip, port, heldBy: u.key };
        }
      }
    }
    return undefined;
  }

  /** The first address of `space` in walk order a new Service with these ports/keys may use. */
  private firstUsable(space: PoolSpace<AddressState>, ports: readonly number[], sharingKey: string, backendKey: string): bigint | undefined {
    const free = space.firstFree();
    if (sharingKey === '') return free;
    const group = space.sharing.get(groupKey(sharingKey, backendKey));
    if (!group) return free;
    for (const offset of group.items) {
      if (free !== undefined && offset > free) break;
      const state = space.used.get(offset) as AddressState;
      if (!state.users.some((u) => ports.some((p) => u.ports.includes(p)))) return offset;
    }
    return free;
  }

  /** Addresses for a new allocation from `pool`, in status order; undefined when it cannot serve. */
  private pick(pool: PoolState, family: IPFamily, ports: readonly number[], sharingKey: string, backendKey: string): Location[] | undefined {
    const out: { loc: Location; order: number }[] = [];
    for (const f of familiesOf(family)) {
      const space = f === 4 ? pool.v4 : pool.v6;
      if (!space) return undefined;
      const offset = this.firstUsable(space, ports, sharingKey, backendKey);
      if (offset === undefined) return undefined;
      const cidr = space.cidrAt(offset);
      const ip = IPAddress.of(f, space.cidrs[cidr].network.value + (offset - space.starts[cidr]));
      out.push({ loc: { ip, pool, space, offset }, order: space.poolIndex[cidr] });
    }
    if (out.length === 2 && out[1].order < out[0].order) out.reverse();
    return out.map((o) => o.loc);
  }

  /** Records `key` on exactly `locs` (checks already done), replacing what it held. */
  private commit(key: string, pool: PoolState, locs: readonly Location[], ports: readonly number[], sharingKey: string, backendKey: string): AllocationResult {
    let holder = this.holders.get(key);
    let changed = true;
    if (holder) {
      const old = holder.addresses;
      changed = old.length !== locs.length || old.some((s) => !locs.some((l) => l.space === s.space && l.offset === s.offset));
      for (const s of old) {
        if (!locs.some((l) => l.space === s.space && l.offset === s.offset)) this.detach(holder, s);
      }
      if (holder.pool !== pool) {
        holder.pool.services--;
        pool.services++;
        holder.pool = pool;
      }
      holder.ports = ports;
      holder.sharingKey = sharingKey;
      holder.backendKey = backendKey;
    } else {
      holder = { key, pool, addresses: [], ports, sharingKey, backendKey };
      pool.services++;
      this.holders.set(key, holder);
    }
    const states: AddressState[] = [];
    for (const loc of locs) {
      let s = loc.space.used.get(loc.offset);
      if (!s) {
        s = { ip: loc.ip, space: loc.space, offset: loc.offset, pool, users: [holder], sharingKey, backendKey };
        loc.space.take(loc.offset, s);
        pool.addressesInUse++;
        this.indexAdd(s);
      } else {
        if (!s.users.includes(holder)) s.users.push(holder);
        if (s.sharingKey !== sharingKey || s.backendKey !== backendKey) {
          // only possible when `holder` is the address's only user (§2.2 exception)
          this.indexDelete(s);
          s.sharingKey = sharingKey;
          s.backendKey = backendKey;
          this.indexAdd(s);
        }
      }
      states.push(s);
    }
    holder.addresses = states;
    return { ok: true, ips: states.map((s) => s.ip), pool: pool.pool.name, changed };
  }

  private detach(holder: Holder, s: AddressState): void {
    const i = s.users.indexOf(holder);
    if (i >= 0) s.users.splice(i, 1);
    if (s.users.length === 0) {
      this.indexDelete(s);
      s.space.free(s.offset);
      s.pool.addressesInUse--;
    }
  }

  private indexAdd(s: AddressState): void {
    if (s.sharingKey === '') return;
    const k = groupKey(s.sharingKey, s.backendKey);
    let group = s.space.sharing.get(k);
    if (!group) {
      group = new SortedOffsets();
      s.space.sharing.set(k, group);
    }
    group.add(s.offset);
  }

  private indexDelete(s: AddressState): void {
    if (s.sharingKey === '') return;
    const k = groupKey(s.sharingKey, s.backendKey);
    const group = s.space.sharing.get(k);
    if (!group) return;
    group.delete(s.offset);
    if (group.size === 0) s.space.sharing.delete(k);
  }
}

function usageOf(p: PoolState): PoolUsage {
  return { pool: p.pool.name, addressesInUse: p.addressesInUse, addressesTotal: p.capacity, services: p.services };
}
