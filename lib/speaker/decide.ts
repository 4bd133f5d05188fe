// The speaker's per-Service decision (docs/behaviour/speaker.md#pipeline, docs/behaviour/layer2.md#owner, docs/behaviour/bgp.md#which-nodes): given the Service, its
// endpoints' readiness, the config, this node and the live speakers, what this node must do for
// the Service — announce it over layer 2 or BGP (and with what), or withdraw it and why.
// Pure: no Kubernetes client, no sockets; constant work per Service apart from the layer 2
// election (one SHA-256 per candidate node).

import { parseIP, type IPAddress } from '../ip/index.js';
import type { AddressPool, Config, Peer, Protocol } from '../config/types.js';
import type { EndpointReadiness } from './endpoints.js';
import { electionKeyForIPs, electionWinner } from './election.js';
import { advertisementsFor, type Advertisement } from './advertisements.js';
import { poolForIPs } from './pools.js';
import { serviceOwnership } from '../k8s/ownership.js';

/** The parts of a core/v1 Service the speaker reads. */
export interface ServiceLike {
  readonly metadata?: { readonly namespace?: string; readonly name?: string } | null;
  readonly spec?: {
    readonly type?: string | null;
    readonly externalTrafficPolicy?: string | null;
    readonly loadBalancerClass?: string | null;
  } | null;
  readonly status?: {
    readonly loadBalancer?: {
      readonly ingress?: readonly { readonly ip?: string | null; readonly hostname?: string | null }[] | null;
    } | null;
  } | null;
}

/** Reasons a Service is withdrawn (upstream's texts, logged and used as metric/event context). */
export type WithdrawReason =
  | 'serviceDeleted'
  | 'notLoadBalancer'
  | 'otherLoadBalancerClass'
  /** Not upstream v0.12: this node carries node.kubernetes.io/exclude-from-external-load-balancers. */
  | 'nodeExcluded'
  | 'noIPAllocated'
  | 'invalidIP'
  | 'ipNotAllowed'
  | 'protocolChanged'
  | 'loadBalancerIPChanged'
  | 'notOwner'
  | 'noLocalEndpoints'
  | 'noEndpoints';

/** What this node currently announces for a Service (remembered by the caller between passes). */
export interface AnnouncedService {
  readonly protocol: Protocol;
  readonly ips: readonly IPAddress[];
}

export interface Layer2Announcement {
  readonly protocol: 'layer2';
  readonly pool: AddressPool;
  readonly ips: readonly IPAddress[];
  /** The election key (first IP's text) and how many candidates took part. */
  readonly electionKey: string;
  readonly candidates: number;
}

export interface BGPAnnouncement {
  readonly protocol: 'bgp';
  readonly pool: AddressPool;
  readonly ips: readonly IPAddress[];
  /** Per IP, per pool advertisement: the aggregated prefix with LOCAL_PREF and communities. */
  readonly advertisements: readonly Advertisement[];
  /** The peers selected for this node; every one of them gets the advertisements. */
  readonly peers: readonly Peer[];
}

export type Announcement = Layer2Announcement | BGPAnnouncement;

export interface Layer2Election {
  readonly electionKey: string;
  readonly owner: string | undefined;
  readonly candidates: number;
}

export type ServiceDecision =
  /** No config loaded yet: leave everything as it is. */
  | { readonly action: 'keep' }
  | {
      readonly action: 'withdraw';
      readonly reason: WithdrawReason;
      /** Why the previous announcement goes; undefined when nothing was announced (a no-op). */
      readonly withdrawPrevious: WithdrawReason | undefined;
      /** Layer 2 `notOwner` after an election: the key, and the elected node (undefined: no candidate). */
      readonly election?: Layer2Election;
    }
  | {
      readonly action: 'announce';
      readonly announcement: Announcement;
      /** Set when a previous announcement with another protocol or other IPs goes first. */
      readonly withdrawPrevious: 'protocolChanged' | 'loadBalancerIPChanged' | undefined;
    };

/**
 * Layer 2, `Cluster` policy, memberlist disabled. Upstream v0.11+ announces from no node at all
 * (upstream issue #2005); 'readyNodes' (the default here) elects among the nodes with a ready
 * endpoint instead, the ≤v0.10 candidate set, so the address stays reachable.
 */
export type Layer2WithoutMemberlist = 'nobody' | 'readyNodes';

export interface DecisionOptions {
  readonly layer2WithoutMemberlist: Layer2WithoutMemberlist;
  /**
   * --lb-class: only Services whose `spec.loadBalancerClass` equals this are handled ('' = only
   * Services without a class); the others belong to another load-balancer implementation
   * (Kubernetes 1.24+) and are skipped with reason `otherLoadBalancerClass`. v0.12 predates the
   * field and handled every Service. Same predicate as the controller (lib/k8s/ownership.ts).
   */
  readonly loadBalancerClass: string;
}

export const DEFAULT_DECISION_OPTIONS: DecisionOptions = { layer2WithoutMemberlist: 'readyNodes', loadBalancerClass: '' };

/** Everything about this node and the cluster a decision depends on, shared by all Services. */
export interface NodeContext {
  readonly config: Config | undefined;
  readonly nodeName: string;
  /** Names of the speakers gossip sees alive or suspect (this node included); null when memberlist is disabled. */
  readonly usableSpeakers: ReadonlySet<string> | null;
  /** The peers whose node-selectors match this node (see peersForNode). */
  readonly peers: readonly Peer[];
  readonly options?: DecisionOptions;
  /**
   * Nodes labelled node.kubernetes.io/exclude-from-external-load-balancers (empty when the
   * speaker runs with --ignore-exclude-lb). Such a node announces nothing and is never a layer 2
   * candidate. Callers pass `usableSpeakers` with these nodes already removed.
   */
  readonly excludedNodes?: ReadonlySet<string>;
  /**
   * Optional memo of the winner among `usableSpeakers` per election key (layer 2 `Cluster`
   * with memberlist on). Must agree with electionWinner(usableSpeakers, key).
   */
  readonly clusterWinner?: (electionKey: string) => string | undefined;
}

export interface ServiceInput {
  /** undefined: the Service is gone. */
  readonly service: ServiceLike | undefined;
  /** undefined: no Endpoints object / no EndpointSlice for the Service (treated as gone). */
  readonly endpoints: EndpointReadiness | undefined;
  /** What this node announces for the Service now, if anything. */
  readonly previous: AnnouncedService | undefined;
}

export type IngressResult = { ok: true; ips: IPAddress[] } | { ok: false; reason: 'noIPAllocated' | 'invalidIP' };

/**
 * The Service's load-balancer IPs from `status.loadBalancer.ingress`. Any entry without a
 * parsable `ip` (a hostname-only entry too) makes the whole list invalid, as upstream. IPv4-mapped
 * IPv6 text stands for the IPv4 address (Go's parser does the same).
 */
export function ingressIPs(service: ServiceLike): IngressResult {
  const ingress = service.status?.loadBalancer?.ingress ?? [];
  if (ingress.length === 0) return { ok: false, reason: 'noIPAllocated' };
  const ips: IPAddress[] = [];
  for (const entry of ingress) {
    const ip = parseIP(entry.ip ?? '');
    if (!ip) return { ok: false, reason: 'invalidIP' };
    ips.push(ip.unmapIPv4() ?? ip);
  }
  return { ok: true, ips };
}

/** Same IPs regardless of order (upstream's comparison). */
export function sameIPSet(a: readonly IPAddress[], b: readonly IPAddress[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => x.equals(y))) && b.every((y) => a.some((x) => x.equals(y)));
}

export function isLocalPolicy(service: ServiceLike): boolean {
  return service.spec?.externalTrafficPolicy === 'Local';
}

function withdraw(reason: WithdrawReason, previous: AnnouncedService | undefined, election?: Layer2Election): ServiceDecision {
  const d = { action: 'withdraw' as const, reason, withdrawPrevious: previous ? reason : undefined };
  return election === undefined ? d : { ...d, election };
}

/** Layer 2 candidates (docs/behaviour/layer2.md#owner, v0.11+ rules). */
export function layer2Candidates(
  local: boolean,
  endpoints: EndpointReadiness,
  usableSpeakers: ReadonlySet<string> | null,
  withoutMemberlist: Layer2WithoutMemberlist,
  excludedNodes?: ReadonlySet<string>,
): Iterable<string> {
  const all = ((): Iterable<string> => {
    if (local) {
      if (usableSpeakers === null) return endpoints.readyNodes;
      return [...endpoints.readyNodes].filter((n) => usableSpeakers.has(n));
    }
    if (usableSpeakers !== null) return usableSpeakers;
    return withoutMemberlist === 'readyNodes' ? endpoints.readyNodes : [];
  })();
  if (excludedNodes === undefined || excludedNodes.size === 0) return all;
  return [...all].filter((n) => !excludedNodes.has(n));
}

/** The decision for one Service on this node. */
export function decideService(node: NodeContext, input: ServiceInput): ServiceDecision {
  const options = node.options ?? DEFAULT_DECISION_OPTIONS;
  const { service, endpoints, previous } = input;
  if (service === undefined || endpoints === undefined) return withdraw('serviceDeleted', previous);
  const ownership = serviceOwnership(service, options.loadBalancerClass);
  if (!ownership.ours) return withdraw(ownership.reason, previous);
  const config = node.config;
  if (config === undefined) return { action: 'keep' };
  if (node.excludedNodes?.has(node.nodeName)) return withdraw('nodeExcluded', previous);
  const ingress = ingressIPs(service);
  if (!ingress.ok) return withdraw(ingress.reason, previous);
  const ips = ingress.ips;
  const pool = poolForIPs(config, ips);
  if (!pool) return withdraw('ipNotAllowed', previous);

  // A previous announcement under another protocol or other IPs goes first.
  let replaced: 'protocolChanged' | 'loadBalancerIPChanged' | undefined;
  if (previous && previous.protocol !== pool.protocol) replaced = 'protocolChanged';
  else if (previous && !sameIPSet(previous.ips, ips)) replaced = 'loadBalancerIPChanged';
  const stillAnnounced = replaced ? undefined : previous;
  const refuse = (reason: WithdrawReason, election?: Layer2Election): ServiceDecision => {
    const d = withdraw(reason, stillAnnounced, election);
    return replaced && d.action === 'withdraw' ? { ...d, withdrawPrevious: replaced } : d;
  };

  if (pool.protocol === 'layer2') {
    // Without any ready endpoint nobody announces (upstream reports notOwner here).
    if (!endpoints.anyReady) return refuse('notOwner');
    const electionKey = electionKeyForIPs(ips);
    const local = isLocalPolicy(service);
    let winner: string | undefined;
    let candidateCount: number;
    if (!local && node.usableSpeakers !== null && node.clusterWinner) {
      winner = node.clusterWinner(electionKey);
      candidateCount = node.usableSpeakers.size;
    } else {
      const candidates = [...layer2Candidates(local, endpoints, node.usableSpeakers, options.layer2WithoutMemberlist, node.excludedNodes)];
      winner = electionWinner(candidates, electionKey);
      candidateCount = candidates.length;
    }
    if (winner !== node.nodeName) return refuse('notOwner', { electionKey, owner: winner, candidates: candidateCount });
    return {
      action: 'announce',
      announcement: { protocol: 'layer2', pool, ips, electionKey, candidates: candidateCount },
      withdrawPrevious: replaced,
    };
  }

  if (isLocalPolicy(service) && !endpoints.healthyNodes.has(node.nodeName)) return refuse('noLocalEndpoints');
  if (!endpoints.anyHealthy) return refuse('noEndpoints');
  return {
    action: 'announce',
    announcement: { protocol: 'bgp', pool, ips, advertisements: advertisementsFor(ips, pool), peers: node.peers },
    withdrawPrevious: replaced,
  };
}

/** The `namespace/name` key upstream uses for a Service (also the metric's `service` label). */
export function serviceKey(service: ServiceLike): string {
  return `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
}
