// Hand-built Configs and Services for the allocator tests (no config parser involved).

import { parsePoolEntry, type IPAddress, mustParseIP } from '../../../lib/ip/index.js';
import type { AddressPool, Config } from '../../../lib/config/types.js';
import { serviceRequest, type AllocationRequest, type ServiceLike } from '../../../lib/allocator/index.js';

export interface PoolOptions {
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
  protocol?: 'layer2' | 'bgp';
}

/** An AddressPool from `addresses` entries written as in the ConfigMap. */
export function pool(name: string, addresses: readonly string[], opts: PoolOptions = {}): AddressPool {
  const entries = addresses.map((text) => {
    const r = parsePoolEntry(text);
    if (!r.ok) throw new Error(`test pool ${name}: ${r.reason}`);
    return r.entry;
  });
  return {
    name,
    protocol: opts.protocol ?? 'layer2',
    entries,
    cidrs: entries.flatMap((e) => e.cidrs),
    autoAssign: opts.autoAssign ?? true,
    avoidBuggyIPs: opts.avoidBuggyIPs ?? false,
    bgpAdvertisements: [],
  };
}

export function config(...pools: AddressPool[]): Config {
  return { peers: [], communities: new Map(), pools, bfdProfiles: [] };
}

export interface ServiceOptions {
  family?: 'ipv4' | 'ipv6' | 'dual';
  clusterIPs?: string[];
  /** "TCP/80" style. */
  ports?: readonly string[];
  share?: string;
  /** externalTrafficPolicy Local with this selector. */
  local?: Record<string, string>;
  selector?: Record<string, string>;
  lbIP?: string;
  lbIPs?: string;
  pool?: string;
}

export function service(o: ServiceOptions = {}): ServiceLike {
  const clusterIPs = o.clusterIPs ?? (o.family === 'ipv6' ? ['2001:db8:ffff::a'] : o.family === 'dual' ? ['192.0.2.250', '2001:db8:ffff::a'] : ['192.0.2.250']);
  const annotations: Record<string, string> = {};
  if (o.share !== undefined) annotations['metallb.universe.tf/allow-shared-ip'] = o.share;
  if (o.lbIPs !== undefined) annotations['metallb.universe.tf/loadBalancerIPs'] = o.lbIPs;
  if (o.pool !== undefined) annotations['metallb.universe.tf/address-pool'] = o.pool;
  return {
    metadata: { namespace: 'default', name: 'svc', annotations },
    spec: {
      type: 'LoadBalancer',
      clusterIPs,
      ports: (o.ports ?? ['TCP/80']).map((p) => {
        const [protocol, port] = p.split('/');
        return { protocol, port: Number(port) };
      }),
      externalTrafficPolicy: o.local ? 'Local' : 'Cluster',
      selector: o.local ?? o.selector ?? { app: 'x' },
      loadBalancerIP: o.lbIP,
    },
  };
}

export function request(o: ServiceOptions = {}): AllocationRequest {
  return serviceRequest(service(o));
}

export function ips(...texts: string[]): IPAddress[] {
  return texts.map(mustParseIP);
}

export function texts(list: readonly IPAddress[] | undefined): string[] | undefined {
  return list?.map((ip) => ip.toString());
}
