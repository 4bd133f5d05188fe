// The controller's Prometheus metrics (docs/behaviour/metrics.md#metrics) with upstream's names, types and labels, plus
// Node.js process metrics (CPU, memory, event-loop lag percentiles, GC) in place of Go's runtime
// metrics.

import { Gauge, Registry, collectDefaultMetrics, type Counter } from 'prom-client';
import type { PoolUsage } from '../allocator/index.js';
import { k8sClientMetrics } from './k8s-client.js';

export interface ControllerMetrics {
  readonly registry: Registry;
  /** metallb_allocator_addresses_total{pool}: usable addresses in the pool (docs/behaviour/allocation.md#capacity). */
  readonly addressesTotal: Gauge<'pool'>;
  /** metallb_allocator_addresses_in_use_total{pool}: distinct addresses in use. */
  readonly addressesInUse: Gauge<'pool'>;
  /** metallb_allocator_services_allocated_total{pool}: registered but never set, as upstream. */
  readonly servicesAllocated: Gauge<'pool'>;
  /**
   * Not upstream: metallb_allocator_services_unassigned, Services of ours whose allocation failed
   * and that hold no address (the "Service without address" alert).
   */
  readonly servicesUnassigned: Gauge<string>;
  /** metallb_k8s_client_updates_total: work-queue items processed. */
  readonly updatesTotal: Counter<string>;
  /** metallb_k8s_client_update_errors_total: items that returned an error (retried). */
  readonly updateErrorsTotal: Counter<string>;
  /** metallb_k8s_client_config_loaded_bool. */
  readonly configLoaded: Gauge<string>;
  /** metallb_k8s_client_config_stale_bool. */
  readonly configStale: Gauge<string>;
}

export interface ControllerMetricsOptions {
  readonly registry?: Registry;
  /** Export Node.js process metrics too (default true). */
  readonly processMetrics?: boolean;
}

export function createControllerMetrics(opts: ControllerMetricsOptions = {}): ControllerMetrics {
  const registry = opts.registry ?? new Registry();
  const registers = [registry];
  const k8s = k8sClientMetrics(registry);
  const m: ControllerMetrics = {
    registry,
    addressesTotal: new Gauge({ name: 'metallb_allocator_addresses_total', help: 'Number of usable IP addresses, per pool', labelNames: ['pool'], registers }),
    addressesInUse: new Gauge({ name: 'metallb_allocator_addresses_in_use_total', help: 'Number of IP addresses in use, per pool', labelNames: ['pool'], registers }),
    servicesAllocated: new Gauge({ name: 'metallb_allocator_services_allocated_total', help: 'Number of services allocated, per pool', labelNames: ['pool'], registers }),
    servicesUnassigned: new Gauge({ name: 'metallb_allocator_services_unassigned', help: 'LoadBalancer Services handled by this controller whose allocation failed and that hold no address', registers }),
    ...k8s,
  };
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  return m;
}

/** Sets the per-pool gauges from the allocator's usage (pools of the config in force). */
export function updatePoolMetrics(m: ControllerMetrics, usage: readonly PoolUsage[]): void {
  for (const u of usage) {
    m.addressesTotal.set({ pool: u.pool }, Number(u.addressesTotal));
    m.addressesInUse.set({ pool: u.pool }, u.addressesInUse);
  }
}

/** Deletes the series of pools that the new config removed. */
export function deletePoolMetrics(m: ControllerMetrics, pools: readonly string[]): void {
  for (const pool of pools) {
    m.addressesTotal.remove({ pool });
    m.addressesInUse.remove({ pool });
    m.servicesAllocated.remove({ pool });
  }
}
