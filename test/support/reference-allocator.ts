// A deliberately naive allocator with the same contract as Allocator, built the way upstream's
// was: maps keyed by address text, and "next address" found by walking each CIDR from its first
// address. It is NOT used by the product. It exists as (1) the reference the benchmark compares
// against in the same process and (2) an independent oracle for the property tests, which check
// that Allocator gives exactly the same answers on random histories over small pools.

import { isBuggyIP, type IPAddress } from '../../lib/ip/index.js';
import type { AddressPool, Config } from '../../lib/config/types.js';
import type { AllocationFailure, AllocationResult, ConfigVerdict, SharingRefusalReason, StrandedAllocation } from '../../lib/allocator/allocator.js';
import { familyOfAddresses, formatIPList, type AllocationRequest, type IPFamily, type ServicePort } from '../../lib/allocator/request.js';

interface NaiveAllocation {
  pool: string;
  ips: IPAddress[];
  ports: ServicePort[];
  sharingKey: string;
  backendKey: string;
}

const portText = (p: ServicePort): string => `${p.protocol}/${p.port}`;

export class LinearScanAllocator {
  private pools: readonly AddressPool[] | undefined;
  private readonly allocated = new Map<string, NaiveAllocation>();
  private readonly keyForIP = new Map<string, { sharing: string; backend: string }>();
  private readonly portsInUse = new Map<string, Map<string, string>>();
  private readonly servicesOnIP = new Map<string, Set<string>>();

  setConfig(config: Config): ConfigVerdict {
    const conflicts: StrandedAllocation[] = [];
    for (const [svc, a] of this.allocated) {
      if (poolFor(config.pools, a.ips) === undefined) conflicts.push({ service: svc, ips: a.ips });
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
    const removedPools = (this.pools ?? []).map((p) => p.name).filter((n) => !config.pools.some((p) => p.name === n));
    this.pools = config.pools;
    for (const a of this.allocated.values()) a.pool = (poolFor(config.pools, a.ips) as AddressPool).name;
    return { ok: true, removedPools };
  }

  allocate(key: string, request: AllocationRequest): AllocationResult {
    const pools = this.pools;
    if (!pools) return fail({ kind: 'no-config', message: 'no configuration loaded' });
    if (!request.family.ok) return fail({ kind: 'invalid-request', message: request.family.message });
    if (!request.requestedIPs.ok) return fail({ kind: 'invalid-request', message: request.requestedIPs.message });
    if (request.requestedIPs.ips.length > 0) return this.assign(key, request, request.requestedIPs.ips);
    const existing = this.allocated.get(key);
    if (existing) {
      const fam = familyOfAddresses(existing.ips);
      if (!fam.ok || fam.family !== request.family.family) {
        return fail({ kind: 'family-mismatch', message: `IP for wrong family assigned ${formatIPList(existing.ips)}` });
      }
      return this.assign(key, request, [...existing.ips]);
    }
    if (request.requestedPool !== '') {
      const pool = pools.find((p) => p.name === request.requestedPool);
      if (!pool) return fail({ kind: 'unknown-pool', message: `unknown pool ${JSON.stringify(request.requestedPool)}`, pool: request.requestedPool });
      const ips = this.walk(key, pool, request.family.family, request);
      if (!ips) return fail({ kind: 'no-available-ips', message: `no available IPs in pool ${JSON.stringify(pool.name)} for ${request.family.family} IPFamily`, pool: pool.name });
      return this.assign(key, request, ips);
    }
    for (const pool of pools) {
      if (!pool.autoAssign) continue;
      const ips = this.walk(key, pool, request.family.family, request);
      if (ips) return this.assign(key, request, ips);
    }
    return fail({ kind: 'no-available-ips', message: 'no available IPs' });
  }

  assign(key: string, request: AllocationRequest, ips: readonly IPAddress[]): AllocationResult {
    const pools = this.pools;
    if (!pools) return fail({ kind: 'no-config', message: 'no configuration loaded' });
    if (!request.family.ok) return fail({ kind: 'invalid-request', message: request.family.message });
    const fam = familyOfAddresses(ips);
    if (!fam.ok) return fail({ kind: 'invalid-ips', message: fam.message });
    if (fam.family !== request.family.family) {
      return fail({ kind: 'family-mismatch', message: `requested loadBalancer IP(s) ${formatIPList(ips)} does not match the ipFamily of the service` });
    }
    const pool = poolFor(pools, ips);
    if (!pool) return fail({ kind: 'not-allowed', message: `${formatIPList(ips)} is not allowed in config`, ips });
    for (const ip of ips) {
      const refusal = this.checkSharing(key, ip, request.ports, request.sharingKey, request.backendKey);
      if (refusal) return fail(refusal);
    }
    const before = this.allocated.get(key)?.ips.map((ip) => ip.key).sort().join(' ');
    this.release(key);
    const a: NaiveAllocation = { pool: pool.name, ips: [...ips], ports: [...request.ports], sharingKey: request.sharingKey, backendKey: request.backendKey };
    this.allocated.set(key, a);
    for (const ip of ips) {
      const t = ip.toString();
      this.keyForIP.set(t, { sharing: a.sharingKey, backend: a.backendKey });
      let ports = this.portsInUse.get(t);
      if (!ports) this.portsInUse.set(t, (ports = new Map()));
      for (const p of a.ports) ports.set(portText(p), key);
      let svcs = this.servicesOnIP.get(t);
      if (!svcs) this.servicesOnIP.set(t, (svcs = new Set()));
      svcs.add(key);
    }
    const after = a.ips.map((ip) => ip.key).sort().join(' ');
    return { ok: true, ips: [...a.ips], pool: a.pool, changed: before !== after };
  }

  release(key: string): boolean {
    const a = this.allocated.get(key);
    if (!a) return false;
    this.allocated.delete(key);
    for (const ip of a.ips) {
      const t = ip.toString();
      const ports = this.portsInUse.get(t);
      for (const p of a.ports) if (ports?.get(portText(p)) === key) ports.delete(portText(p));
      const svcs = this.servicesOnIP.get(t);
      svcs?.delete(key);
      if (!svcs || svcs.size === 0) {
        this.servicesOnIP.delete(t);
        this.portsInUse.delete(t);
        this.keyForIP.delete(t);
      }
    }
    return true;
  }

  ipsOf(key: string): readonly IPAddress[] | undefined {
    const a = this.allocated.get(key);
    return a ? [...a.ips] : undefined;
  }

  poolOf(key: string): string | undefined {
    return this.allocated.get(key)?.pool;
  }

  /** Number of distinct in-use addresses of a pool. */
  addressesInUse(pool: string): number {
    const seen = new Set<string>();
    for (const a of this.allocated.values()) if (a.pool === pool) for (const ip of a.ips) seen.add(ip.key);
    return seen.size;
  }

  private checkSharing(key: string, ip: IPAddress, ports: readonly ServicePort[], sharingKey: string, backendKey: string): AllocationFailure | undefined {
    const t = ip.toString();
    const existing = this.keyForIP.get(t);
    if (!existing) return undefined;
    let reason: SharingRefusalReason | undefined;
    let detail = '';
    if (existing.sharing === '') [reason, detail] = ['existing-no-sharing', 'existing service does not allow sharing'];
    else if (sharingKey === '') [reason, detail] = ['new-no-sharing', 'new service does not allow sharing'];
    else if (existing.sharing !== sharingKey) {
      [reason, detail] = ['sharing-key-mismatch', `sharing key ${JSON.stringify(sharingKey)} does not match existing sharing key ${JSON.stringify(existing.sharing)}`];
    } else if (existing.backend !== backendKey) {
      [reason, detail] = ['backend-key-mismatch', `backend key ${JSON.stringify(backendKey)} does not match existing sharing key ${JSON.stringify(existing.backend)}`];
    }
    if (reason) {
      const others = [...(this.servicesOnIP.get(t) ?? [])].filter((s) => s !== key);
      if (others.length > 0) {
        return { kind: 'sharing', reason, message: `can't change sharing key for ${JSON.stringify(key)}, address also in use by ${others.join(',')}`, detail, ip, otherServices: others };
      }
    }
    const inUse = this.portsInUse.get(t);
    for (const p of ports) {
      const holder = inUse?.get(portText(p));
      if (holder !== undefined && holder !== key) {
        return { kind: 'port-in-use', message: `port ${portText(p)} is already in use on ${JSON.stringify(t)}`, ip, port: p, heldBy: holder };
      }
    }
    return undefined;
  }

  /** Upstream's AllocateFromPool walk: CIDR by CIDR, address by address, first usable one. */
  private walk(key: string, pool: AddressPool, family: IPFamily, request: AllocationRequest): IPAddress[] | undefined {
    const wanted = new Set<number>(family === 'ipv4' ? [4] : family === 'ipv6' ? [6] : [4, 6]);
    const out: IPAddress[] = [];
    for (const cidr of pool.cidrs) {
      if (!wanted.has(cidr.family)) continue;
      for (const ip of cidr.addresses()) {
        if (pool.avoidBuggyIPs && isBuggyIP(ip)) continue;
        if (this.checkSharing(key, ip, request.ports, request.sharingKey, request.backendKey)) continue;
        out.push(ip);
        wanted.delete(cidr.family);
        break;
      }
    }
    return wanted.size > 0 ? undefined : out;
  }
}

function fail(failure: AllocationFailure): AllocationResult {
  return { ok: false, failure };
}

/** The first pool (config order) holding every one of `ips` (avoid-buggy-ips applied). */
function poolFor(pools: readonly AddressPool[], ips: readonly IPAddress[]): AddressPool | undefined {
  if (ips.length === 0) return undefined;
  return pools.find((p) => ips.every((ip) => !(p.avoidBuggyIPs && isBuggyIP(ip)) && p.cidrs.some((c) => c.contains(ip))));
}
