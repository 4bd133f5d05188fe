// The speaker's Prometheus metrics (docs/behaviour/metrics.md#metrics), with upstream's names, types and labels so
// existing dashboards and alerts keep working. Plus the two k8s-client config gauges the speaker
// shares with the controller, and optionally Node.js process metrics (including event-loop lag,
// the stand-in for upstream's Go runtime metrics).

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { k8sClientMetrics } from './k8s-client.js';

export type AnnouncedLabel = 'service' | 'protocol' | 'node' | 'ip';

export interface SpeakerMetrics {
  readonly registry: Registry;
  /** metallb_speaker_announced{service,protocol,node,ip}: 1 while this node announces the IP for the Service. */
  readonly announced: Gauge<AnnouncedLabel>;
  /** metallb_layer2_requests_received{ip}: ARP/NDP requests received for announced IPs. */
  readonly layer2RequestsReceived: Counter<'ip'>;
  /** metallb_layer2_responses_sent{ip}: replies sent. */
  readonly layer2ResponsesSent: Counter<'ip'>;
  /** metallb_layer2_gratuitous_sent{ip}: gratuitous ARP / unsolicited NA packets sent. */
  readonly layer2GratuitousSent: Counter<'ip'>;
  /** metallb_bgp_session_up{peer}: 1 established, 0 otherwise. */
  readonly bgpSessionUp: Gauge<'peer'>;
  /** metallb_bgp_updates_total{peer}: UPDATE messages sent (a batched withdraw counts 1). */
  readonly bgpUpdatesTotal: Counter<'peer'>;
  /** metallb_bgp_announced_prefixes_total{peer}: prefixes the peer currently has from us (0 while down). */
  readonly bgpAnnouncedPrefixesTotal: Gauge<'peer'>;
  /** metallb_bgp_pending_prefixes_total{peer}: prefixes that should be advertised. */
  readonly bgpPendingPrefixesTotal: Gauge<'peer'>;
  /**
   * Not upstream: metallb_speaker_memberlist_members{member}, 1 per speaker this node's gossip
   * sees alive or suspect (itself included); no series while memberlist is off or left.
   */
  readonly memberlistMembers: Gauge<'member'>;
  /**
   * Not upstream: metallb_speaker_node_excluded_bool, 1 while this node carries
   * node.kubernetes.io/exclude-from-external-load-balancers and the speaker honours it.
   */
  readonly nodeExcluded: Gauge<string>;
  /** metallb_k8s_client_updates_total: work-queue items processed. */
  readonly k8sUpdatesTotal: Counter<string>;
  /** metallb_k8s_client_update_errors_total: work-queue items that returned an error (retried). */
  readonly k8sUpdateErrorsTotal: Counter<string>;
  /** metallb_k8s_client_config_loaded_bool: 1 once a config was adopted. */
  readonly configLoaded: Gauge<string>;
  /** metallb_k8s_client_config_stale_bool: 1 while the newest ConfigMap content is not in force. */
  readonly configStale: Gauge<string>;
}

export interface SpeakerMetricsOptions {
  /** Registry to register in; a new one by default. */
  readonly registry?: Registry;
  /** Also export Node.js process metrics (CPU, memory, event-loop lag p50/p90/p99, GC). Default false. */
  readonly processMetrics?: boolean;
  /**
   * Register the four metallb_k8s_client_* metrics here (default true). Pass false when another
   * module of the same process already registers them in this registry.
   */
  readonly k8sClientMetrics?: boolean;
}

export const SPEAKER_METRIC_NAMES = [
  'metallb_speaker_announced',
  'metallb_layer2_requests_received',
  'metallb_layer2_responses_sent',
  'metallb_layer2_gratuitous_sent',
  'metallb_bgp_session_up',
  'metallb_bgp_updates_total',
  'metallb_bgp_announced_prefixes_total',
  'metallb_bgp_pending_prefixes_total',
] as const;

/** This project's additions (not in upstream v0.12), read by `metallbctl status`. */
export const SPEAKER_EXTRA_METRIC_NAMES = [
  'metallb_speaker_memberlist_members',
  'metallb_speaker_node_excluded_bool',
] as const;

export const K8S_CLIENT_METRIC_NAMES = [
  'metallb_k8s_client_updates_total',
  'metallb_k8s_client_update_errors_total',
  'metallb_k8s_client_config_loaded_bool',
  'metallb_k8s_client_config_stale_bool',
] as const;

/**
 * Creates (or, when a metric of that name is already in the registry, e.g. registered by
 * lib/layer2's layer2PromCounters, reuses) the speaker's metrics.
 */
export function createSpeakerMetrics(options: SpeakerMetricsOptions = {}): SpeakerMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const k8s = k8sClientMetrics(options.k8sClientMetrics ?? true ? registry : undefined);
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge<L>({ name, help, labelNames, registers });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames, registers });
  const metrics: SpeakerMetrics = {
    registry,
    announced: gauge(
      'metallb_speaker_announced',
      '1 while this node announces the IP for the Service over the protocol (the desired state; routers may not have converged yet)',
      ['service', 'protocol', 'node', 'ip'],
    ),
    layer2RequestsReceived: counter('metallb_layer2_requests_received', 'ARP and NDP requests received for IPs this node announces', ['ip']),
    layer2ResponsesSent: counter('metallb_layer2_responses_sent', 'ARP and NDP replies sent for IPs this node announces', ['ip']),
    layer2GratuitousSent: counter('metallb_layer2_gratuitous_sent', 'Gratuitous ARP and unsolicited neighbor advertisement packets sent for IPs this node announces', ['ip']),
    bgpSessionUp: gauge('metallb_bgp_session_up', '1 while the BGP session to the peer is established, else 0', ['peer']),
    bgpUpdatesTotal: counter('metallb_bgp_updates_total', 'BGP UPDATE messages sent to the peer (one batched withdrawal counts once)', ['peer']),
    bgpAnnouncedPrefixesTotal: gauge('metallb_bgp_announced_prefixes_total', 'Prefixes the peer currently holds from this node (0 while the session is down)', ['peer']),
    bgpPendingPrefixesTotal: gauge('metallb_bgp_pending_prefixes_total', 'Prefixes this node wants the peer to hold', ['peer']),
    memberlistMembers: gauge('metallb_speaker_memberlist_members', 'Speakers this node\'s memberlist sees alive or suspect (this node included), one series per member', ['member']),
    nodeExcluded: gauge('metallb_speaker_node_excluded_bool', '1 while this node is labelled node.kubernetes.io/exclude-from-external-load-balancers and the speaker honours it', []),
    k8sUpdatesTotal: k8s.updatesTotal,
    k8sUpdateErrorsTotal: k8s.updateErrorsTotal,
    configLoaded: k8s.configLoaded,
    configStale: k8s.configStale,
  };
  if (options.processMetrics && !registry.getSingleMetric('nodejs_eventloop_lag_p99_seconds')) collectDefaultMetrics({ register: registry });
  return metrics;
}

/** The layer 2 counters in the shape lib/layer2's announcer takes (its Layer2Counters). */
export function layer2Counters(m: SpeakerMetrics): {
  requestReceived(ip: string): void;
  responseSent(ip: string): void;
  gratuitousSent(ip: string): void;
} {
  return {
    requestReceived: (ip) => m.layer2RequestsReceived.inc({ ip }),
    responseSent: (ip) => m.layer2ResponsesSent.inc({ ip }),
    gratuitousSent: (ip) => m.layer2GratuitousSent.inc({ ip }),
  };
}

/** Labels of one metallb_speaker_announced series. */
export interface AnnouncedSeries {
  readonly service: string;
  readonly protocol: string;
  readonly node: string;
  readonly ip: string;
}

/**
 * Applies a Service's announced-series changes: set to 1 while announced, removed on withdraw
 * (upstream v0.12 never removed them, its quirk docs/behaviour/quirks.md#q6; ≤v0.11 did).
 */
export function recordAnnounced(
  m: SpeakerMetrics,
  change: { readonly announcedSet: readonly AnnouncedSeries[]; readonly announcedDelete: readonly AnnouncedSeries[] },
): void {
  for (const s of change.announcedDelete) m.announced.remove({ ...s });
  for (const s of change.announcedSet) m.announced.set({ ...s }, 1);
}

/** Sets the two config gauges from the speaker's config state. */
export function recordConfigState(m: SpeakerMetrics, state: { readonly configLoaded: boolean; readonly configStale: boolean }): void {
  m.configLoaded.set(state.configLoaded ? 1 : 0);
  m.configStale.set(state.configStale ? 1 : 0);
}

/**
 * BGP session series helpers: upstream creates session_up and announced_prefixes_total at 0
 * when a session object is created and deletes all four when the session is closed.
 */
export function bgpSessionCreated(m: SpeakerMetrics, peer: string): void {
  m.bgpSessionUp.set({ peer }, 0);
  m.bgpAnnouncedPrefixesTotal.set({ peer }, 0);
}

export function bgpSessionClosed(m: SpeakerMetrics, peer: string): void {
  m.bgpSessionUp.remove({ peer });
  m.bgpAnnouncedPrefixesTotal.remove({ peer });
  m.bgpUpdatesTotal.remove({ peer });
  m.bgpPendingPrefixesTotal.remove({ peer });
}
