// Hand-built Config objects and Services for the speaker's unit tests (the config parser is
// another area; these mirror what it produces for the given YAML).
import { mustParseIP, parsePoolEntry, type CIDR, type PoolEntry } from '../../../lib/ip/index.js';
import type { AddressPool, BGPAdvertisement, Config, NodeSelector, Peer, Protocol } from '../../../lib/config/types.js';
import type { ServiceLike } from '../../../lib/speaker/decide.js';

export function entry(text: string): PoolEntry {
  const r = parsePoolEntry(text);
  if (!r.ok) throw new Error(r.reason);
  return r.entry;
}

export function ad(over: Partial<BGPAdvertisement> = {}): BGPAdvertisement {
  return { aggregationLength: 32, aggregationLengthV6: 128, localPref: 0, communities: [], ...over };
}

export function pool(name: string, protocol: Protocol, addresses: string[], ads?: BGPAdvertisement[]): AddressPool {
  const entries = addresses.map(entry);
  const cidrs: CIDR[] = entries.flatMap((e) => [...e.cidrs]);
  return {
    name,
    protocol,
    entries,
    cidrs,
    autoAssign: true,
    avoidBuggyIPs: false,
    bgpAdvertisements: protocol === 'bgp' ? (ads ?? [ad()]) : [],
  };
}

export function peer(address: string, over: Partial<Peer> = {}): Peer {
  return {
    myASN: 64500,
    peerASN: 64501,
    peerAddress: mustParseIP(address),
    peerPort: 179,
    holdTimeSeconds: 90,
    keepaliveTimeSeconds: 30,
    nodeSelectors: [],
    password: '',
    bfdProfile: '',
    ebgpMultihop: false,
    ...over,
  };
}

export function selector(matchLabels: Record<string, string> = {}, matchExpressions: NodeSelector['matchExpressions'] = []): NodeSelector {
  return { matchLabels, matchExpressions };
}

export function config(pools: AddressPool[], peers: readonly Peer[] = []): Config {
  return { peers, communities: new Map(), pools, bfdProfiles: [] };
}

export function service(opts: { ips?: (string | { hostname: string })[]; type?: string; policy?: 'Local' | 'Cluster'; lbClass?: string } = {}): ServiceLike {
  return {
    metadata: { namespace: 'default', name: 'nginx' },
    spec: { type: opts.type ?? 'LoadBalancer', externalTrafficPolicy: opts.policy ?? 'Cluster', loadBalancerClass: opts.lbClass },
    status: { loadBalancer: { ingress: (opts.ips ?? []).map((i) => (typeof i === 'string' ? { ip: i } : { hostname: i.hostname })) } },
  };
}
