// `metallbctl migrate --from-cluster`: reads the live `config` ConfigMap through the API server.

import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export class ClusterReadError extends Error {
  constructor(message: string, readonly notFound = false) {
    super(message);
    this.name = 'ClusterReadError';
  }
}

export interface ClusterConfigMap {
  /** data.config ("" when the key is absent: an empty config, docs/behaviour/config.md#location). */
  readonly text: string;
  readonly namespace: string;
  readonly name: string;
}

/** Loads a kubeconfig: the given file, else $KUBECONFIG / ~/.kube/config / in-cluster. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new ClusterReadError(`cannot load kubeconfig${path ? ` ${path}` : ''}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new ClusterReadError(`kubeconfig${path ? ` ${path}` : ''} has no current cluster`);
  return kc;
}

export async function readClusterConfigMap(kc: KubeConfig, namespace: string, name: string): Promise<ClusterConfigMap> {
  const api = kc.makeApiClient(CoreV1Api);
  const server = kc.getCurrentCluster()?.server ?? '?';
  try {
    const cm = await api.readNamespacedConfigMap({ name, namespace });
    const text = cm.data?.config;
    return { text: typeof text === 'string' ? text : '', namespace, name };
  } catch (err) {
    if (err instanceof ApiException) {
      const code = (err as ApiException<unknown>).code;
      if (code === 404) throw new ClusterReadError(`no ConfigMap "${name}" in namespace "${namespace}" on ${server}`, true);
      if (code === 401 || code === 403) throw new ClusterReadError(`not allowed to read ConfigMap ${namespace}/${name} on ${server} (HTTP ${code})`);
      throw new ClusterReadError(`reading ConfigMap ${namespace}/${name} from ${server} failed: HTTP ${code}`);
    }
    throw new ClusterReadError(`cannot reach the API server ${server}: ${(err as Error).message}`);
  }
}
