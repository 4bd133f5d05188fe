// npm run bench -- cluster [--runs=N]
// The real-cluster harness (test/support/cluster) with metallb-ts as real pods, as root after
// scripts/setup.sh:
//  - warm set-up: scripts/setup.d/40-cluster.sh with valid caches, and the cluster start (per
//    phase); cold set-up: the build durations the setup scripts recorded when they last built
//    (k8s-<v>/build-times.json, cluster-images/build-times.json), reported as recorded;
//  - `kubectl apply` of the manifests (Services and backend already waiting, ConfigMap created
//    right after) until the first ARP answer for the layer2 address and until the router holds
//    the route for the bgp address via every node;
//  - RAM of the whole cluster (every daemon, shim and pod; RSS), of the controller and speaker
//    containers (what the manifests' memory requests and limits are sized from), and disk: the
//    run directory (containerd stores, logs) and the caches.
// No reference implementation runs here: upstream MetalLB's images on the same harness are
// #19/#22's business. The control-plane start inside the cluster start is printed as the yardstick.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, startCluster, type Cluster } from '../test/support/cluster/cluster.js';
import {
  arpMacs, createConfig, deployBackend, install, pods, routerNextHops, serviceAddress, until, waitInstalled,
} from '../test/support/cluster/metallb.js';
import { FigureLog, median } from './lib/figures.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '1' } } });
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');

const log = new FigureLog('cluster');
function record(c: string, metric: string, value: number, unit: string, note?: string, reference?: number): void {
  const v = Math.round(value * 100) / 100;
  const f = { case: c, metric, value: v, unit, ...(note ? { note } : {}), ...(reference !== undefined ? { reference: Math.round(reference * 100) / 100, ratio: Math.round((value / reference) * 100) / 100 } : {}) };
  log.add(f, `${c.padEnd(36)} ${metric.padEnd(12)} ${v} ${unit}${reference !== undefined ? `  (reference ${f.reference}, ratio ${f.ratio})` : ''}${note ? `  [${note}]` : ''}`);
}
const du = (p: string): number => (existsSync(p) ? Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split('\t')[0]) : 0);
const MiB = 1024 * 1024;
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
const cache = process.env.METALLB_TS_CACHE || '/var/cache/metallb-ts';

// --- warm set-up ---
let t = performance.now();
execFileSync('bash', [join(REPO_ROOT, 'scripts/setup.d/40-cluster.sh')], { stdio: 'ignore' });
record('setup-40-cluster-warm', 's', (performance.now() - t) / 1000, 's');

// --- cold set-up, as recorded by the last build ---
const readJson = (p: string): Record<string, number> => { try { return JSON.parse(readFileSync(p, 'utf8')) as Record<string, number>; } catch { return {}; } };
const k8sTimes = readJson(join(cache, 'k8s-v1.33.13', 'build-times.json'));
const imgTimes = readJson(join(cache, 'cluster-images', 'build-times.json'));
if (k8sTimes.node_components_s) record('cold-build-node-components', 's', k8sTimes.node_components_s, 's', 'recorded by scripts/k8s-node-binaries.sh at its last build');
if (imgTimes.debian_rootfs_s) record('cold-build-debian-rootfs', 's', imgTimes.debian_rootfs_s, 's', 'recorded by scripts/cluster-images.sh');
if (imgTimes.project_images_s) record('build-project-images', 's', imgTimes.project_images_s, 's', 'last build (cold or after a source change)');

const starts: number[] = [];
const cpStarts: number[] = [];
const toArp: number[] = [];
const toRoute: number[] = [];
const toReady: number[] = [];
let last: { cluster: number; controller: number; speaker: number; runDir: number } | undefined;
for (let i = 0; i < runs; i++) {
  t = performance.now();
  const c: Cluster = await startCluster();
  try {
    starts.push(performance.now() - t);
    cpStarts.push(c.startupPhases.controlPlaneMs);
    await deployBackend(c, 'bench', 'web');
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'l2', namespace: 'bench', annotations: { 'metallb.universe.tf/address-pool': 'lan' } }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }) });
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bgp', namespace: 'bench', annotations: { 'metallb.universe.tf/address-pool': 'routed' } }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }) });
    const t0 = performance.now();
    await install(c, 'manifests');
    await createConfig(c);
    const l2 = await serviceAddress(c, 'bench', 'l2', 300_000);
    const bgp = await serviceAddress(c, 'bench', 'bgp', 300_000);
    const arpDone = until('ARP', 300_000, () => (arpMacs(c, l2, 1).length ? performance.now() : undefined), 100);
    const routeDone = until('route', 300_000, () => (routerNextHops(c, bgp).length === c.nodes.length ? performance.now() : undefined), 100);
    const readyDone = waitInstalled(c, 300_000).then(() => performance.now());
    toArp.push((await arpDone) - t0);
    toRoute.push((await routeDone) - t0);
    toReady.push((await readyDone) - t0);
    await new Promise((r) => setTimeout(r, 10_000)); // settle before memory
    const { controller } = await waitInstalled(c);
    const ctlRss = rss(await c.containerPid(controller.spec.nodeName ?? '', controller.status.containerStatuses?.[0]?.containerID ?? ''));
    const sp = await pods(c, 'component=speaker');
    const spRss = median(await Promise.all(sp.map(async (p) => rss(await c.containerPid(p.spec.nodeName ?? '', p.status.containerStatuses?.[0]?.containerID ?? '')))));
    last = { cluster: c.memoryBytes(), controller: ctlRss, speaker: spRss, runDir: du(c.dir) };
  } finally {
    await c.stop();
  }
}
const s = (v: number[]): number => median(v) / 1000;
record(`cluster-start-warm-${runs}-run${runs > 1 ? 's' : ''}`, 'median_s', s(starts), 's', 'control-plane start as reference', s(cpStarts));
record('apply-to-first-arp-answer', 'median_s', s(toArp), 's');
record('apply-to-frr-route-via-all-nodes', 'median_s', s(toRoute), 's');
record('apply-to-all-pods-ready', 'median_s', s(toReady), 's');
if (last) {
  record('cluster-ram-with-metallb-and-backend', 'rss_mib', last.cluster / MiB, 'MiB', '3 nodes, all daemons, shims and pods');
  record('controller-container', 'rss_mib', last.controller / MiB, 'MiB', 'idle, 2 Services');
  record('speaker-container', 'rss_mib', last.speaker / MiB, 'MiB', 'median of 3, idle, 2 Services');
  record('run-directory-disk', 'mib', last.runDir / MiB, 'MiB', 'containerd stores of 3 nodes, logs');
}
record('cache-k8s-binaries-disk', 'mib', du(join(cache, 'k8s-v1.33.13', 'bin')) / MiB, 'MiB');
record('cache-cluster-images-disk', 'mib', du(join(cache, 'cluster-images')) / MiB, 'MiB', 'archives, buildah store, Debian rootfs');
const imgs = readJson(join(cache, 'cluster-images', 'images.json')) as unknown as { images?: Record<string, { bytes: number }> };
for (const [k, v] of Object.entries(imgs.images ?? {})) record(`image-${k}`, 'mib', v.bytes / MiB, 'MiB', 'docker-archive size (uncompressed layers)');
log.printJSON();
