// The per-Service reconcile decision (docs/behaviour/allocation.md#reconcile, v0.12): from the cached Service, the allocator
// and the `synced` flag to what the status should say and which events to emit. Pure logic over
// the allocator: no Kubernetes client here, so it is unit-tested with plain objects.

import { parseIP, type IPAddress } from '../ip/index.js';
import { familyOfAddresses, formatIPList, sameAddressSet, serviceRequest, type Allocator } from '../allocator/index.js';
import { statusIPs, type Service } from '../k8s/service-status.js';
import type { EventType } from '../k8s/events.js';
import { serviceOwnership } from '../k8s/ownership.js';

export interface ServiceEvent {
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Readonly<Record<string, string>>;
}

export type Outcome =
  /** Done; forget the key. */
  | 'ok'
  /** Retry with backoff (counted in update_errors_total). */
  | 'error'
  /** Reprocess every Service (a deletion freed addresses). */
  | 'reprocess-all';

export interface Decision {
  readonly outcome: Outcome;
  /** What status.loadBalancer.ingress should list; null = leave the status alone. */
  readonly ingressIPs: readonly string[] | null;
  readonly events: readonly ServiceEvent[];
  readonly logs: readonly LogEntry[];
  /** The pool now holding the Service's addresses, if any (for logs). */
  readonly pool?: string;
}

export interface ReconcileState {
  /** The synced marker was processed: every existing assignment is known. */
  readonly synced: boolean;
  /** --lb-class: the loadBalancerClass handled ('' or absent: Services without a class). */
  readonly lbClass?: string;
}

function texts(ips: readonly IPAddress[]): string[] {
  return ips.map((ip) => ip.toString());
}

/**
 * Decides for one Service (undefined = deleted). Mutates the allocator (release, assign, allocate)
 * exactly as upstream's reconcile does; the caller writes the status and sends the events.
 */
export function reconcileService(key: string, svc: Service | undefined, allocator: Allocator, state: ReconcileState): Decision {
  const events: ServiceEvent[] = [];
  const logs: LogEntry[] = [];
  const log = (level: LogEntry['level'], msg: string, fields: Record<string, string> = {}): void => {
    logs.push({ level, msg, fields });
  };

  // 1. Deleted: release; a freed address may unblock pending Services.
  if (!svc) {
    if (allocator.release(key)) log('info', 'service deleted, address released');
    return { outcome: 'reprocess-all', ingressIPs: null, events, logs };
  }
  // 2. No config yet: leave everything alone.
  if (!allocator.configured) {
    log('debug', 'not processing, config not loaded');
    return { outcome: 'ok', ingressIPs: null, events, logs };
  }
  const spec = svc.spec ?? {};
  const ownership = serviceOwnership(svc, state.lbClass ?? '');
  // 3. Not a LoadBalancer: release and clear.
  if (!ownership.ours && ownership.reason === 'notLoadBalancer') {
    if (allocator.release(key)) log('info', 'service is not a LoadBalancer, address released', { type: spec.type ?? '' });
    return { outcome: 'ok', ingressIPs: [], events, logs };
  }
  // Divergence (docs/behaviour/manifests.md#current-kubernetes recommendation): a Service of another load-balancer class than
  // --lb-class belongs to another implementation. Forget any allocation we held, never touch
  // its status.
  if (!ownership.ours) {
    if (allocator.release(key)) log('info', 'service has another loadBalancerClass, address released', { loadBalancerClass: spec.loadBalancerClass ?? '' });
    return { outcome: 'ok', ingressIPs: null, events, logs };
  }
  // 4. No cluster IPs: release and clear.
  const clusterIPs = (spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => ip !== '' && ip !== 'None');
  if (clusterIPs.length === 0) {
    if (allocator.release(key)) log('info', 'service has no cluster IP, address released');
    return { outcome: 'ok', ingressIPs: [], events, logs };
  }
  const request = serviceRequest(svc);

  // 5. Current IPs from the status.
  const currentTexts = statusIPs(svc);
  let current: IPAddress[] = [];
  if (currentTexts.length === 0) {
    allocator.release(key);
  } else {
    const parsed: IPAddress[] = [];
    let unparsable = '';
    for (const t of currentTexts) {
      const ip = parseIP(t);
      if (ip) parsed.push(ip);
      else unparsable = t;
    }
    const fam = unparsable ? { ok: false as const, message: `invalid IP ${JSON.stringify(unparsable)}` } : familyOfAddresses(parsed);
    if (!fam.ok) {
      events.push({ type: 'Warning', reason: 'nolbIPsIPFamily', message: `Failed to retrieve lbIPs family for ${JSON.stringify(currentTexts.join(','))}: ${fam.message}` });
      log('error', 'failed to retrieve lbIPs family', { error: fam.message });
      return { outcome: 'ok', ingressIPs: null, events, logs };
    }
    if (!request.family.ok) {
      events.push({ type: 'Warning', reason: 'noclusterIPsIPFamily', message: `Failed to retrieve clusterIPs family for ${JSON.stringify(clusterIPs.join(','))}: ${request.family.message}` });
      log('error', 'failed to retrieve clusterIPs family', { error: request.family.message });
      return { outcome: 'ok', ingressIPs: null, events, logs };
    }
    if (fam.family !== request.family.family) {
      allocator.release(key);
      log('info', 'status IPs are of another family than the service, releasing', { ip: currentTexts.join(',') });
    } else {
      current = parsed;
    }
  }

  // 6. Re-assert what the status says, unless the config or the user's wishes moved on.
  if (current.length > 0) {
    const reassert = allocator.assign(key, request, current);
    if (!reassert.ok) {
      log('info', 'current IP not allowed by config, clearing', { ip: texts(current).join(','), reason: reassert.failure.message });
      allocator.release(key);
      current = [];
    }
  }
  if (current.length > 0 && request.requestedPool !== '' && allocator.poolOf(key) !== request.requestedPool) {
    log('info', 'service requests a different pool than the one it is in, clearing', { pool: request.requestedPool, ip: texts(current).join(',') });
    allocator.release(key);
    current = [];
  }
  if (current.length > 0) {
    if (!request.requestedIPs.ok) {
      events.push({ type: 'Warning', reason: 'LoadBalancerFailed', message: `invalid requested loadbalancer IPs: ${request.requestedIPs.message}` });
      log('error', 'invalid requested loadbalancer IPs', { error: request.requestedIPs.message });
      return { outcome: 'ok', ingressIPs: texts(current), events, logs, pool: allocator.poolOf(key) };
    }
    if (request.requestedIPs.ips.length > 0 && !sameAddressSet(request.requestedIPs.ips, current)) {
      log('info', 'service requests different IPs than it holds, clearing', { ip: texts(current).join(','), requested: texts(request.requestedIPs.ips).join(',') });
      allocator.release(key);
      current = [];
    }
  }

  // 7. Nothing held: allocate (only once every existing assignment is known).
  if (current.length === 0) {
    if (!state.synced) {
      log('debug', 'not allocating yet, waiting for the initial sync');
      return { outcome: 'error', ingressIPs: null, events, logs };
    }
    const result = allocator.allocate(key, request);
    if (!result.ok) {
      events.push({ type: 'Warning', reason: 'AllocationFailed', message: `Failed to allocate IP for ${JSON.stringify(key)}: ${result.failure.message}` });
      log('error', 'IP allocation failed', { error: result.failure.message });
      return { outcome: 'ok', ingressIPs: [], events, logs };
    }
    current = [...result.ips];
    events.push({ type: 'Normal', reason: 'IPAllocated', message: `Assigned IP ${formatIPList(result.ips)}` });
    log('info', 'IP allocated', { ip: texts(current).join(','), pool: result.pool });
  }

  // 8. The status lists exactly the held addresses, in allocation order.
  return { outcome: 'ok', ingressIPs: texts(current), events, logs, pool: allocator.poolOf(key) };
}
