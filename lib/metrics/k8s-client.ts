// The metallb_k8s_client_* metrics that upstream's shared Kubernetes client package exports from
// both the controller and the speaker: one definition for both binaries.

import { Counter, Gauge, type Registry } from 'prom-client';

export interface K8sClientMetrics {
  /** metallb_k8s_client_updates_total: work-queue items processed. */
  readonly updatesTotal: Counter<string>;
  /** metallb_k8s_client_update_errors_total: work-queue items that returned an error (retried). */
  readonly updateErrorsTotal: Counter<string>;
  /** metallb_k8s_client_config_loaded_bool: 1 once a config was adopted. */
  readonly configLoaded: Gauge<string>;
  /** metallb_k8s_client_config_stale_bool: 1 while the newest ConfigMap content is not in force. */
  readonly configStale: Gauge<string>;
}

/**
 * The four metrics, registered in `registry`; ones already registered there (by another module of
 * the same process) are reused as they are. With no registry they are created unregistered.
 * Gauges created here start at 0.
 */
export function k8sClientMetrics(registry: Registry | undefined): K8sClientMetrics {
  const registers = registry ? [registry] : [];
  const existing = <M>(name: string): M | undefined => registry?.getSingleMetric(name) as M | undefined;
  const counter = (name: string, help: string): Counter<string> => existing<Counter<string>>(name) ?? new Counter({ name, help, registers });
  const gauge = (name: string, help: string): Gauge<string> => {
    const found = existing<Gauge<string>>(name);
    if (found) return found;
    const g = new Gauge({ name, help, registers });
    g.set(0);
    return g;
  };
  return {
    updatesTotal: counter('metallb_k8s_client_updates_total', 'Number of k8s object updates that have been processed.'),
    updateErrorsTotal: counter('metallb_k8s_client_update_errors_total', 'Number of k8s object updates that failed for some reason.'),
    configLoaded: gauge('metallb_k8s_client_config_loaded_bool', '1 if the MetalLB configuration was successfully loaded at least once.'),
    configStale: gauge('metallb_k8s_client_config_stale_bool', '1 if running on a stale configuration, because the latest config failed to load.'),
  };
}
