// Service types the controller and speaker read (plain JSON as the API server sends it), and the
// status writer: `status.loadBalancer` is written through the status subresource only, only when
// it changes, with the cached resourceVersion (optimistic concurrency: a 409 means the cache is
// behind; the caller retries after the watch catches up).

import type { KubeClient } from './client.js';
import type { KubeObject, ObjectMeta } from './informer.js';

export interface ServicePort {
  readonly name?: string;
  readonly protocol?: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ipMode?: string;
  readonly ports?: readonly unknown[];
}

export interface Service extends KubeObject {
  readonly metadata?: ObjectMeta;
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly ipFamilies?: readonly string[];
    readonly ports?: readonly ServicePort[];
    readonly selector?: Readonly<Record<string, string>>;
    readonly externalTrafficPolicy?: string;
    readonly loadBalancerIP?: string;
    readonly loadBalancerClass?: string;
  };
  readonly status?: {
    readonly loadBalancer?: { readonly ingress?: readonly LoadBalancerIngress[] };
    readonly conditions?: readonly unknown[];
  };
}

/** The `ip` fields of status.loadBalancer.ingress, hostname-only entries skipped. */
export function statusIPs(svc: Service): string[] {
  const out: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip) out.push(ing.ip);
  return out;
}

/** True when the Service's ingress list is exactly these IPs, in this order, and nothing else. */
export function ingressEquals(svc: Service, ips: readonly string[]): boolean {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  if (ingress.length !== ips.length) return false;
  for (let i = 0; i < ips.length; i++) {
    const ing = ingress[i];
    if (ing.ip !== ips[i] || ing.hostname || ing.ports) return false;
  }
  return true;
}

/**
 * Writes status.loadBalancer.ingress = ips (empty list: clears status.loadBalancer) unless the
 * cached Service already says so. Returns the updated Service, or undefined when nothing was written.
 */
export async function writeLoadBalancerStatus(client: KubeClient, svc: Service, ips: readonly string[]): Promise<Service | undefined> {
  if (ingressEquals(svc, ips)) return undefined;
  const ns = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const body: Service = {
    ...svc,
    apiVersion: 'v1',
    kind: 'Service',
    status: { ...svc.status, loadBalancer: ips.length ? { ingress: ips.map((ip) => ({ ip })) } : {} },
  };
  const r = await client.request<Service>('PUT', `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}/status`, { body });
  return r.body;
}
