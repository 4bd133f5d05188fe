// From a Service to an allocation request (docs/behaviour/allocation.md#state). Everything the user can get wrong is
// reported as a value, with upstream's wording, so the controller can turn it into an event.

import { parseIP, type IPAddress } from '../ip/index.js';

export const ANNOTATION_ADDRESS_POOL = 'metallb.universe.tf/address-pool';
export const ANNOTATION_ALLOW_SHARED_IP = 'metallb.universe.tf/allow-shared-ip';
export const ANNOTATION_LOADBALANCER_IPS = 'metallb.universe.tf/loadBalancerIPs';

/** The parts of a core/v1 ServicePort the allocator reads. */
export interface ServicePortLike {
  readonly protocol?: string | null;
  readonly port: number;
}

/**
 * The parts of a core/v1 Service the allocator reads. Structural, so both plain objects and the
 * client library's V1Service fit.
 */
export interface ServiceLike {
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly annotations?: Readonly<Record<string, string>> | null;
  } | null;
  readonly spec?: {
    readonly type?: string | null;
    readonly clusterIP?: string | null;
    readonly clusterIPs?: readonly string[] | null;
    readonly ports?: readonly ServicePortLike[] | null;
    readonly externalTrafficPolicy?: string | null;
    readonly selector?: Readonly<Record<string, string>> | null;
    readonly loadBalancerIP?: string | null;
  } | null;
}

/** One (protocol, port) pair a Service exposes; protocol as written (`TCP`, `UDP`, `SCTP`). */
export interface ServicePort {
  readonly protocol: string;
  readonly port: number;
}

/** Upstream's ipfamily values. */
export type IPFamily = 'ipv4' | 'ipv6' | 'dual';

export type FamilyResult = { readonly ok: true; readonly family: IPFamily } | { readonly ok: false; readonly message: string };

/** `ips` empty: the user asked for no particular address. */
export type RequestedIPsResult = { readonly ok: true; readonly ips: readonly IPAddress[] } | { readonly ok: false; readonly message: string };

export interface AllocationRequest {
  /** The Service's family, from its cluster IPs. */
  readonly family: FamilyResult;
  readonly ports: readonly ServicePort[];
  /** '' = the Service does not allow sharing. */
  readonly sharingKey: string;
  /** '' for Cluster policy (and for Local with an empty selector, as upstream). */
  readonly backendKey: string;
  readonly requestedIPs: RequestedIPsResult;
  /** '' = no pool asked for. */
  readonly requestedPool: string;
}

const NO_IPS: RequestedIPsResult = { ok: true, ips: [] };

/** Go's %q of a string list: ["a" "b"]. */
function quoteList(items: readonly string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** Go's %q rendering of a []net.IP, used in upstream's messages: ["1.2.3.4" "2001:db8::1"]. */
export function formatIPList(ips: readonly IPAddress[]): string {
  return quoteList(ips.map((ip) => ip.toString()));
}

/** The family Go's net.IP would report: IPv4-mapped IPv6 addresses count as IPv4. */
function familyOf(ip: IPAddress): 'ipv4' | 'ipv6' {
  return ip.family === 4 || ip.isIPv4Mapped() ? 'ipv4' : 'ipv6';
}

/** Family of a list of addresses: one → its family; two of different families → dual. */
export function familyOfAddresses(ips: readonly IPAddress[]): FamilyResult {
  if (ips.length === 1) return { ok: true, family: familyOf(ips[0]) };
  if (ips.length === 2) {
    if (familyOf(ips[0]) === familyOf(ips[1])) return { ok: false, message: `same address family ${formatIPList(ips)}` };
    return { ok: true, family: 'dual' };
  }
  return { ok: false, message: `invalid ips length ${ips.length} ${formatIPList(ips)}` };
}

function familyOfTexts(texts: readonly string[]): FamilyResult {
  const ips: IPAddress[] = [];
  for (const t of texts) {
    const ip = parseIP(t);
    if (!ip) return { ok: false, message: `invalid cluster IP ${JSON.stringify(t)} in ${quoteList(texts)}` };
    ips.push(ip);
  }
  if (ips.length === 0 || ips.length > 2) return { ok: false, message: `invalid ips length ${ips.length} ${quoteList(texts)}` };
  if (ips.length === 2 && familyOf(ips[0]) === familyOf(ips[1])) return { ok: false, message: `same address family ${quoteList(texts)}` };
  return familyOfAddresses(ips);
}

/** v0.12 getDesiredLbIPs: the loadBalancerIPs annotation or spec.loadBalancerIP, not both. */
function requestedIPsOf(annotation: string, specIP: string): RequestedIPsResult {
  if (annotation === '' && specIP === '') return NO_IPS;
  if (annotation !== '' && specIP !== '') {
    return { ok: false, message: `service can not have both ${ANNOTATION_LOADBALANCER_IPS} and svc.Spec.LoadBalancerIP` };
  }
  if (annotation !== '') {
    // v0.12's texts: `invalid <annotation>: %q` of the whole value, then ipfamily.ForAddressesIPs'
    const ips: IPAddress[] = [];
    for (const part of annotation.split(',')) {
      const ip = parseIP(part.trim());
      if (!ip) return { ok: false, message: `invalid ${ANNOTATION_LOADBALANCER_IPS}: ${JSON.stringify(annotation)}` };
      ips.push(ip);
    }
    if (ips.length > 2) return { ok: false, message: `IPFamilyForAddresses: invalid ips length ${ips.length} ${formatIPList(ips)}` };
    if (ips.length === 2 && familyOf(ips[0]) === familyOf(ips[1])) {
      return { ok: false, message: `IPFamilyForAddresses: same address family ${formatIPList(ips)}` };
    }
    return { ok: true, ips };
  }
  const ip = parseIP(specIP);
  if (!ip) return { ok: false, message: `invalid spec.loadBalancerIP ${JSON.stringify(specIP)}` };
  return { ok: true, ips: [ip] };
}

/** Selector as Kubernetes' labels.Set.String(): sorted `k=v` pairs joined by `,`. */
function selectorText(selector: Readonly<Record<string, string>> | null | undefined): string {
  if (!selector) return '';
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k]}`)
    .join(',');
}

/**
 * Derives the allocation request of a Service (docs/behaviour/allocation.md#state, v0.12). The family comes from
 * spec.clusterIPs (spec.clusterIP when clusterIPs is empty, as older API servers send).
 */
export function serviceRequest(svc: ServiceLike): AllocationRequest {
  const spec = svc.spec ?? {};
  const annotations = svc.metadata?.annotations ?? {};
  const clusterIPs = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({ protocol: p.protocol || 'TCP', port: p.port }));
  return {
    family: familyOfTexts(clusterIPs),
    ports,
    sharingKey: annotations[ANNOTATION_ALLOW_SHARED_IP] ?? '',
    backendKey: spec.externalTrafficPolicy === 'Local' ? selectorText(spec.selector) : '',
    requestedIPs: requestedIPsOf(annotations[ANNOTATION_LOADBALANCER_IPS] ?? '', spec.loadBalancerIP ?? ''),
    requestedPool: annotations[ANNOTATION_ADDRESS_POOL] ?? '',
  };
}

/** True when both lists hold the same addresses, in any order. */
export function sameAddressSet(a: readonly IPAddress[], b: readonly IPAddress[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map((ip) => ip.key));
  if (keys.size !== new Set(b.map((ip) => ip.key)).size) return false;
  return b.every((ip) => keys.has(ip.key));
}
