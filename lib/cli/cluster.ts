// What `metallbctl status` and `plan --from-cluster` read through the API server: only what the
// system publishes (Services and their status, the ConfigMap and the Events on it and on the
// Services, Nodes, EndpointSlices, the speaker Pods, and each speaker's /metrics through the API
// server's pod proxy). Every call is a GET/LIST, so the read-only Role in
// manifests/metallbctl-status-rbac.yaml is enough.

import { ApiError, KubeClient, loadKubeConfig, type Service } from '../k8s/index.js';
import type { EndpointSliceLike } from '../speaker/endpoints.js';

export interface ObjectMetaLite {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
}

export interface NodeLite { readonly metadata?: ObjectMetaLite }

export interface PodLite {
  readonly metadata?: ObjectMetaLite;
  readonly spec?: { readonly nodeName?: string };
  readonly status?: { readonly phase?: string; readonly podIP?: string };
}

export interface EventLite {
  readonly metadata?: ObjectMetaLite;
  readonly involvedObject?: { readonly kind?: string; readonly namespace?: string; readonly name?: string };
  readonly reason?: string;
  readonly message?: string;
  readonly type?: string;
  readonly count?: number;
  readonly firstTimestamp?: string | null;
  readonly lastTimestamp?: string | null;
  readonly eventTime?: string | null;
  readonly source?: { readonly component?: string; readonly host?: string };
}

export interface ConfigMapLite {
  readonly metadata?: ObjectMetaLite;
  readonly data?: Readonly<Record<string, string>>;
}

export interface SliceLite extends EndpointSliceLike {
  readonly metadata?: ObjectMetaLite;
}

export interface SpeakerScrape {
  readonly pod: string;
  readonly node: string;
  /** The /metrics text, or the error that prevented reading it. */
  readonly metrics?: string;
  readonly error?: string;
}

export interface ClusterSnapshot {
  readonly namespace: string;
  readonly configMapName: string;
  readonly configMap: ConfigMapLite | undefined;
  readonly services: readonly Service[];
  readonly nodes: readonly NodeLite[];
  readonly speakerPods: readonly PodLite[];
  readonly slices: readonly SliceLite[];
  /** Events on the ConfigMap and on Services written by metallb-controller / metallb-speaker. */
  readonly events: readonly EventLite[];
  readonly scrapes: readonly SpeakerScrape[];
}

export interface ReadOptions {
  readonly kubeconfig?: string;
  readonly namespace: string;
  readonly configMapName: string;
  /** Label selector of the speaker Pods (the DaemonSet's). */
  readonly speakerSelector: string;
  /** Port of the speakers' /metrics. */
  readonly metricsPort: number;
  /** What to read (plan needs no Events and no metrics). */
  readonly events?: boolean;
  readonly metrics?: boolean;
}

export class ClusterReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterReadError';
  }
}

/** $KUBECONFIG (first entry) or ~/.kube/config when no --kubeconfig is given; else in-cluster. */
export function defaultKubeconfig(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return explicit;
  const fromEnv = (env.KUBECONFIG ?? '').split(':').find((p) => p !== '');
  if (fromEnv) return fromEnv;
  const home = env.HOME;
  return home ? `${home}/.kube/config` : undefined;
}

function explain(err: unknown, what: string): ClusterReadError {
  if (err instanceof ApiError) {
    if (err.statusCode === 401 || err.statusCode === 403) return new ClusterReadError(`not allowed to ${what} (HTTP ${err.statusCode}: ${err.apiMessage}); see docs/metallbctl.md for the read-only Role`);
    return new ClusterReadError(`${what} failed: HTTP ${err.statusCode} ${err.apiMessage}`);
  }
  return new ClusterReadError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
}

async function list<T>(client: KubeClient, path: string, what: string, query: Record<string, string> = {}): Promise<T[]> {
  try {
    const r = await client.request<{ items?: T[] }>('GET', path, { query, verb: 'LIST' });
    return r.body.items ?? [];
  } catch (err) {
    throw explain(err, what);
  }
}

export async function connect(kubeconfig: string | undefined): Promise<KubeClient> {
  const path = defaultKubeconfig(kubeconfig);
  try {
    return await KubeClient.fromKubeConfig(loadKubeConfig(path));
  } catch (err) {
    throw new ClusterReadError(`cannot load kubeconfig${path ? ` ${path}` : ''}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function readCluster(client: KubeClient, o: ReadOptions): Promise<ClusterSnapshot> {
  const ns = encodeURIComponent(o.namespace);
  let configMap: ConfigMapLite | undefined;
  try {
    configMap = (await client.request<ConfigMapLite>('GET', `/api/v1/namespaces/${ns}/configmaps/${encodeURIComponent(o.configMapName)}`)).body;
  } catch (err) {
    if (!(err instanceof ApiError && err.statusCode === 404)) throw explain(err, `read ConfigMap ${o.namespace}/${o.configMapName}`);
  }
  const [services, nodes, speakerPods, slices] = await Promise.all([
    list<Service>(client, '/api/v1/services', 'list Services'),
    list<NodeLite>(client, '/api/v1/nodes', 'list Nodes'),
    list<PodLite>(client, `/api/v1/namespaces/${ns}/pods`, `list Pods in ${o.namespace}`, { labelSelector: o.speakerSelector }),
    list<SliceLite>(client, '/apis/discovery.k8s.io/v1/endpointslices', 'list EndpointSlices'),
  ]);
  let events: EventLite[] = [];
  if (o.events ?? true) {
    const [cmEvents, svcEvents] = await Promise.all([
      list<EventLite>(client, `/api/v1/namespaces/${ns}/events`, `list Events in ${o.namespace}`, { fieldSelector: `involvedObject.kind=ConfigMap,involvedObject.name=${o.configMapName}` }),
      list<EventLite>(client, '/api/v1/events', 'list Events', { fieldSelector: 'involvedObject.kind=Service' }),
    ]);
    const ours = (e: EventLite): boolean => e.source?.component === 'metallb-controller' || e.source?.component === 'metallb-speaker';
    events = [...cmEvents, ...svcEvents].filter(ours);
  }
  let scrapes: SpeakerScrape[] = [];
  if (o.metrics ?? true) {
    scrapes = await Promise.all(speakerPods.filter((p) => p.status?.phase === 'Running').map(async (p): Promise<SpeakerScrape> => {
      const pod = p.metadata?.name ?? '';
      const node = p.spec?.nodeName ?? '';
      try {
        const r = await client.request<string>('GET', `/api/v1/namespaces/${ns}/pods/${encodeURIComponent(pod)}:${o.metricsPort}/proxy/metrics`, { text: true, timeoutMs: 10_000 });
        return { pod, node, metrics: typeof r.body === 'string' ? r.body : '' };
      } catch (err) {
        return { pod, node, error: explain(err, `read /metrics of ${pod} through the pod proxy`).message };
      }
    }));
  }
  return { namespace: o.namespace, configMapName: o.configMapName, configMap, services, nodes, speakerPods, slices, events, scrapes };
}
