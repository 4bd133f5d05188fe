// metallb-ts on a harness cluster (./cluster.ts) the way an operator installs it, plus the probes
// the tests, the demo and the bench share: arping/curl from the client, the router's BGP paths.
import { join } from 'node:path';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { REPO_ROOT, ROUTER_IP, ROUTER_ASN, NODE_ASN, BGP_CIDR, type Cluster } from './cluster.js';

export const NS = 'metallb-system';
export const LAYER2_RANGE = '198.51.100.200-198.51.100.210';
export { BGP_CIDR };

/** The config the tests and the demo use: pool "lan" (layer2) and "routed" (bgp via the router). */
export const CLUSTER_CONFIG = `peers:
- peer-address: ${ROUTER_IP}
  peer-asn: ${ROUTER_ASN}
  my-asn: ${NODE_ASN}
address-pools:
- name: lan
  protocol: layer2
  addresses:
  - ${LAYER2_RANGE}
- name: routed
  protocol: bgp
  avoid-buggy-ips: true
  addresses:
  - ${BGP_CIDR}
`;

export type InstallWay = 'manifests' | 'kustomize' | 'overlay';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, stepMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (last: ${last.slice(0, 500)})` : ''}`);
    await sleep(stepMs);
  }
}

/** `kubectl apply` exactly as docs/install.md says, from the repository root. */
export async function install(c: Cluster, way: InstallWay = 'manifests'): Promise<void> {
  const args = way === 'manifests'
    ? ['apply', '-f', 'manifests/namespace.yaml', '-f', 'manifests/metallb.yaml']
    : way === 'kustomize' ? ['apply', '-k', '.'] : ['apply', '-k', 'examples/kustomize-overlay'];
  await c.kubectl(args, { cwd: REPO_ROOT });
}

/** Removes the install (namespace and cluster-scoped objects) and waits until the namespace is gone. */
export async function uninstall(c: Cluster): Promise<void> {
  await c.kubectl(['delete', '--ignore-not-found', '--wait=true', '--timeout=120s', '-f', 'manifests/metallb.yaml', '-f', 'manifests/namespace.yaml'], { cwd: REPO_ROOT });
  await until('namespace metallb-system gone', 120_000, async () => {
    const r = await c.kubectl(['get', 'namespace', NS], { check: false });
    return r.code !== 0 ? true : undefined;
  }, 500);
}

interface PodList {
  items: {
    metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
    spec: { nodeName?: string; containers: { image: string }[] };
    status: {
      phase?: string;
      podIP?: string;
      conditions?: { type: string; status: string }[];
      containerStatuses?: { name: string; ready: boolean; restartCount: number; containerID?: string; image: string; state?: { waiting?: { reason?: string } } }[];
    };
  }[];
}
export type Pod = PodList['items'][number];

export async function pods(c: Cluster, selector: string, namespace = NS): Promise<Pod[]> {
  const l = await c.getJson<PodList>(['get', 'pods', '-n', namespace, '-l', selector]);
  return l.items;
}

export function podReady(p: Pod): boolean {
  return !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
}

/** Waits for the controller (1 Ready pod) and a Ready speaker on every node. */
export async function waitInstalled(c: Cluster, timeoutMs = 180_000): Promise<{ controller: Pod; speakers: Pod[] }> {
  return until('controller and one speaker per node Ready', timeoutMs, async () => {
    const ctl = (await pods(c, 'component=controller')).filter(podReady);
    const sp = (await pods(c, 'component=speaker')).filter(podReady);
    const nodes = new Set(sp.map((p) => p.spec.nodeName));
    if (ctl.length === 1 && sp.length === c.nodes.length && nodes.size === c.nodes.length) return { controller: ctl[0] as Pod, speakers: sp };
    return undefined;
  }, 500);
}

/** The `config` ConfigMap the README way: kubectl create configmap --from-file=config=<file>. */
export async function createConfig(c: Cluster, text = CLUSTER_CONFIG): Promise<void> {
  const d = mkdtempSync(join(tmpdir(), 'metallb-ts-cfg-'));
  try {
    const f = join(d, 'my-config.yaml');
    writeFileSync(f, text);
    const r = await c.kubectl(['create', 'configmap', 'config', '-n', NS, `--from-file=config=${f}`, '--dry-run=client', '-o', 'yaml']);
    await c.kubectl(['apply', '-f', '-'], { input: r.stdout });
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

/** A backend Deployment (the harness's backend image) with `replicas` pods spread over the nodes. */
export async function deployBackend(c: Cluster, namespace: string, name: string, opts: { replicas?: number; node?: string } = {}): Promise<void> {
  await c.kubectl(['create', 'namespace', namespace], { check: false });
  const image = c.images.backend?.name ?? '';
  const dep = {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: opts.replicas ?? c.nodes.length,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          ...(opts.node ? { nodeSelector: { 'kubernetes.io/hostname': opts.node } } : {}),
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: name } } }],
          securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [{
            name: 'web', image, args: [':8080'],
            ports: [{ containerPort: 8080, name: 'http' }],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            ],
            readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 2 },
            resources: { requests: { cpu: '5m', memory: '8Mi' }, limits: { memory: '32Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(dep) });
  await c.kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=180s']);
}

/** A LoadBalancer Service on port 80 for a backend, in one pool. */
export async function createService(c: Cluster, namespace: string, name: string, app: string, pool: string, policy: 'Cluster' | 'Local' = 'Cluster'): Promise<string> {
  const svc = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace, annotations: { 'metallb.universe.tf/address-pool': pool } },
    spec: { type: 'LoadBalancer', externalTrafficPolicy: policy, selector: { app }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
  };
  await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(svc) });
  return serviceAddress(c, namespace, name);
}

export async function serviceAddress(c: Cluster, namespace: string, name: string, timeoutMs = 90_000): Promise<string> {
  return until(`an address for ${namespace}/${name}`, timeoutMs, async () => {
    const s = await c.getJson<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(['get', 'service', name, '-n', namespace]);
    return s.status?.loadBalancer?.ingress?.[0]?.ip;
  }, 250);
}

/** MACs answering `arping` for an address from the client (unique, in reply order). */
export function arpMacs(c: Cluster, ip: string, count = 3): string[] {
  const r = c.execStatus('client', 'arping', ['-c', String(count), '-w', String(count + 2), '-I', 'eth0', ip]);
  const macs = [...r.stdout.matchAll(/from \S+ \[([0-9a-f:]{17})\]/gi)].map((m) => (m[1] ?? '').toLowerCase());
  return [...new Set(macs)];
}

/** The client's neighbour entry for an address: MAC (lower case) or undefined. */
export function neighbourMac(c: Cluster, ip: string): string | undefined {
  const out = c.execStatus('client', 'ip', ['neigh', 'show', ip, 'dev', 'eth0']).stdout;
  return /lladdr ([0-9a-f:]{17})/i.exec(out)?.[1]?.toLowerCase();
}

/** curl from the client: the page text, or undefined when the request failed. */
export function curl(c: Cluster, ip: string, timeoutS = 3): string | undefined {
  const r = c.execStatus('client', 'curl', ['-sS', '--max-time', String(timeoutS), `http://${ip}/`]);
  return r.status === 0 ? r.stdout : undefined;
}

/** The router's next hops for a /32 (bgpd's valid paths). */
export function routerNextHops(c: Cluster, ip: string): string[] {
  try {
    return c.router.frr.route(`${ip}/32`).filter((p) => p.valid).flatMap((p) => p.nextHops).sort();
  } catch {
    return [];
  }
}

/** Which node's MAC this is. */
export function nodeOfMac(c: Cluster, mac: string): string | undefined {
  return c.nodes.find((n) => n.mac.toLowerCase() === mac.toLowerCase())?.name;
}
