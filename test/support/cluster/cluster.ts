// A real Kubernetes cluster on this machine, for the `cluster` test tier, the demo and the bench:
// etcd + kube-apiserver (test/support's control plane, loopback), kube-controller-manager and
// kube-scheduler (host, loopback), and per node its own network namespace on one LAN with
// containerd + runc, kubelet and kube-proxy (iptables mode) and pod networking through the standard
// CNI plugins (bridge + host-local, one /24 per node, static routes between nodes). An FRR router
// (bgpd + zebra) and a client namespace sit on the same LAN, as in the demo. See docs/cluster.md.
//
//   const c = await startCluster({ log: console.log });
//   await c.kubectl(['apply', '-f', 'manifests/namespace.yaml', '-f', 'manifests/metallb.yaml']);
//   c.exec('client', 'arping', ['-c', '1', '198.51.100.200']);
//   await c.stop();                         // everything gone: processes, mounts, cgroups, netns
//
// LAN 198.51.100.0/24: router .1 (AS 64500), API relay .2, node1..N .11.., client .100 (route to
// 203.0.113.0/24 via the router). Pods 10.244.<n>.0/24, Services 10.96.0.0/16.
// The API server listens on the host's loopback; a relay in the namespace "apisrv" publishes it on
// the LAN at 198.51.100.2:<port>, which is also the `kubernetes` Service's endpoint (pods reach it
// through kube-proxy at 10.96.0.1:443).
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startControlPlane, type ControlPlane, type KubectlOptions, type KubectlResult } from '../sandbox/controlplane.js';
import { TestNetwork, requireRoot, type HostSpec } from '../sandbox/netns.js';
import { FRR, requireFRR } from '../sandbox/frr.js';
import {
  cgroupPids, createCgroupRoot, killPids, pidAlive, pidsWithCmdline, removeCgroupRoot, rmdirIfEmpty, sleepSync, terminateSync, unmountAll,
} from './host.js';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const LAN_PREFIX = '198.51.100';
export const ROUTER_IP = `${LAN_PREFIX}.1`;
export const APISERVER_IP = `${LAN_PREFIX}.2`;
export const CLIENT_IP = `${LAN_PREFIX}.100`;
export const ROUTER_ASN = 64500;
export const NODE_ASN = 64512;
export const BGP_CIDR = '203.0.113.0/24';
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/16';
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
const RUN_PREFIX = 'metallb-ts-cluster-';

export interface ClusterOptions {
  /** Number of nodes (default 3, at most 9). */
  readonly nodes?: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** Which of the built images (scripts/cluster-images.sh) to load into every node (default all). */
  readonly images?: readonly string[];
  /** More image archives (docker-archive or OCI tar) to load into every node. */
  readonly extraImageArchives?: readonly string[];
  /** FRR bgpd configuration of the router (default: peers with every node, AS 64500/64512). */
  readonly routerBgpdConfig?: string;
  /** How long to wait for the nodes to be Ready (default 180 s). */
  readonly readyTimeoutMs?: number;
}

export interface ClusterNode {
  readonly name: string;
  readonly ip: string;
  readonly mac: string;
  readonly netns: string;
  readonly podCIDR: string;
  /** containerd's socket (for ctr). */
  readonly containerdSocket: string;
  /** kubelet's cgroup root, e.g. "/mtcl1a2b-node1". */
  readonly cgroupRoot: string;
}

export interface ClusterHost {
  readonly name: string;
  readonly ip: string;
  readonly mac: string;
  readonly netns: string;
}

export interface ImageInfo {
  readonly name: string;
  readonly archive: string;
  readonly bytes: number;
}

export interface StartupPhases {
  imagesMs: number;
  networkMs: number;
  controlPlaneMs: number;
  nodesStartMs: number;
  imageLoadMs: number;
  nodesReadyMs: number;
  totalMs: number;
}

export interface Cluster {
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly controlPlane: ControlPlane;
  readonly net: TestNetwork;
  readonly nodes: readonly ClusterNode[];
  readonly router: ClusterHost & { readonly frr: FRR };
  readonly client: ClusterHost;
  /** The images loaded into the nodes, by short name (controller, speaker, pause, backend, ...). */
  readonly images: Readonly<Record<string, ImageInfo>>;
  readonly startupPhases: Readonly<StartupPhases>;
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** kubectl ... -o json, parsed. */
  getJson<T = Record<string, unknown>>(args: readonly string[]): Promise<T>;
  /** Runs a command in a host's network namespace (router, client, node1...); throws on failure. */
  exec(host: string, cmd: string, args?: readonly string[]): string;
  execStatus(host: string, cmd: string, args?: readonly string[]): { status: number; stdout: string; stderr: string };
  /** Loads image archives into the nodes' containerd (all nodes unless given). */
  loadImages(archives: readonly string[], nodes?: readonly string[]): Promise<void>;
  /** Adds a tag to an image in every node's containerd (e.g. a new tag for a rolling update). */
  tagImage(source: string, target: string): Promise<void>;
  /** containerd's `ctr` on one node (namespace k8s.io). */
  ctr(node: string, args: readonly string[]): Promise<string>;
  /** Host pid of a container's main process, from its status.containerStatuses[].containerID. */
  containerPid(node: string, containerId: string): Promise<number>;
  /**
   * A container's log as kubelet wrote it (CRI format lines "<time> <stream> <tag> <text>"),
   * read from the node's pod log directory (the API server cannot reach kubelets for `kubectl logs`).
   */
  podLog(namespace: string, pod: string, container: string): string;
  /** Every daemon pid the harness started (for leak checks). */
  processIds(): number[];
  /** Memory (RSS, bytes) of the cluster's processes: daemons, shims and every pod. */
  memoryBytes(): number;
  /** Tears everything down; safe to call twice. */
  stop(): Promise<void>;
  /**
   * Synchronous teardown for signal handlers: everything but the control plane, whose own exit
   * hook removes it when the process exits.
   */
  destroySync(): void;
}

interface RunState {
  dir: string;
  netns: string[];
  cgroups: string[];
  /** Name of the CNI network (its cached results in /var/lib/cni/results carry it). */
  cniNetwork?: string;
}

// ---------------------------------------------------------------------------------------------

function binDir(): string {
  const r = execFileSync(join(REPO_ROOT, 'scripts', 'k8s-node-binaries.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return r.trim().split('\n').pop() ?? '';
}

/** The images built by scripts/cluster-images.sh (rebuilt there when their sources changed). */
export function clusterImages(): Record<string, ImageInfo> {
  let dir = process.env.METALLB_TS_CLUSTER_IMAGES;
  if (!dir) {
    const r = execFileSync(join(REPO_ROOT, 'scripts', 'cluster-images.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    dir = r.trim().split('\n').pop() ?? '';
  }
  const j = JSON.parse(readFileSync(join(dir, 'images.json'), 'utf8')) as { images: Record<string, ImageInfo> };
  return j.images;
}

function which(cmd: string): string {
  for (const d of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin']) if (existsSync(join(d, cmd))) return join(d, cmd);
  throw new Error(`${cmd} not found: run scripts/setup.sh (Debian packages in scripts/apt-packages.txt)`);
}

class Daemon {
  readonly child: ChildProcess;
  exited = false;
  constructor(readonly name: string, cmd: string, args: readonly string[], readonly logPath: string) {
    const fd = openSync(logPath, 'a');
    try {
      this.child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.child.once('exit', () => { this.exited = true; });
  }
  get pid(): number { return this.child.pid ?? -1; }
}

function tail(path: string, n = 20): string {
  try { return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-n).join('\n'); } catch { return '(no log)'; }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, stepMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (last: ${last.slice(0, 400)})` : ''}`);
    await sleep(stepMs);
  }
}

function json(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

// ---------------------------------------------------------------------------------------------
// teardown (synchronous, so exit hooks and signal handlers can use it)

const live = new Map<string, RunState>();
let hooked = false;
function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => { for (const s of live.values()) teardownSync(s); });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const s of live.values()) teardownSync(s);
      process.kill(process.pid, sig);
    });
  }
}

/**
 * Removes everything of one run: processes in its cgroups and with its directory in their command
 * line (containerd, shims, kubelet, kube-proxy, ...), mounts under its directory, its cgroups, its
 * network namespaces, the directory. Returns what could not be removed (empty when clean).
 */
export function teardownSync(state: RunState): string[] {
  const left: string[] = [];
  // pod sandboxes, for the CNI result cache that libcni keeps outside our directory
  const sandboxes: string[] = [];
  try {
    for (const n of readdirSync(state.dir).filter((e) => /^node\d+$/.test(e))) {
      try { sandboxes.push(...readdirSync(join(state.dir, n, 'containerd-root', 'io.containerd.grpc.v1.cri', 'sandboxes'))); } catch { /* none */ }
    }
  } catch { /* no dir */ }
  // pods first (their processes live in the kubelets' cgroup roots), then daemons and shims
  for (let i = 0; i < 3; i++) {
    const pods = state.cgroups.flatMap((c) => cgroupPids(c));
    const daemons = pidsWithCmdline(state.dir);
    if (pods.length + daemons.length === 0) break;
    killPids(pods, 'SIGKILL');
    terminateSync(daemons, i === 0 ? 2_000 : 0);
    sleepSync(100);
  }
  for (const ns of state.netns) {
    let pids = '';
    try { pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }); } catch { /* gone */ }
    terminateSync(pids.split(/\s+/).filter(Boolean).map(Number), 500);
  }
  left.push(...unmountAll(state.dir).map((m) => `mount ${m}`));
  for (const c of state.cgroups) left.push(...removeCgroupRoot(c).map((d) => `cgroup ${d}`));
  for (const ns of state.netns) {
    try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* not there */ }
  }
  const stillThere = new Set(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]));
  for (const ns of state.netns) if (stillThere.has(ns)) left.push(`netns ${ns}`);
  if (left.every((l) => !l.startsWith('mount'))) {
    try { rmSync(state.dir, { recursive: true, force: true }); } catch (err) { left.push(`dir ${state.dir}: ${String(err)}`); }
  } else {
    left.push(`dir ${state.dir} (kept: mounts remain)`);
  }
  removeMachineLeftovers(state, sandboxes);
  live.delete(state.dir);
  return left;
}

/**
 * What kubelet, containerd and libcni write outside the run directory whatever their configuration:
 * the CNI result cache (/var/lib/cni/results/<network>-<sandbox>-eth0, cni-loopback-<sandbox>-lo),
 * kubelet's fixed device-plugin socket (/var/lib/kubelet/device-plugins/kubelet.sock: removed once
 * no kubelet runs on the machine), containerd's shim socket directory /run/containerd/s. Only our
 * own entries are removed, and directories only when empty.
 */
function removeMachineLeftovers(state: RunState, sandboxes: readonly string[]): void {
  const results = '/var/lib/cni/results';
  try {
    for (const f of readdirSync(results)) {
      const ours = (state.cniNetwork && f.startsWith(`${state.cniNetwork}-`)) || sandboxes.some((id) => f === `cni-loopback-${id}-lo`);
      if (ours) rmSync(join(results, f), { force: true });
    }
  } catch { /* no cache */ }
  for (const d of [results, '/var/lib/cni']) rmdirIfEmpty(d);
  const kubeletRunning = readdirSync('/proc').some((e) => {
    if (!/^\d+$/.test(e)) return false;
    try { return readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/kubelet') ?? false; } catch { return false; }
  });
  if (!kubeletRunning) rmSync('/var/lib/kubelet/device-plugins/kubelet.sock', { force: true });
  for (const d of ['/var/lib/kubelet/device-plugins', '/var/lib/kubelet', '/run/containerd/s', '/run/containerd']) rmdirIfEmpty(d);
}

/** Cleans up after runs whose owning process died (SIGKILL): returns the run directories removed. */
export function removeStaleClusters(): string[] {
  const removed: string[] = [];
  for (const e of readdirSync(tmpdir())) {
    if (!e.startsWith(RUN_PREFIX)) continue;
    const dir = join(tmpdir(), e);
    let state: RunState;
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8').trim());
      state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as RunState;
    } catch { continue; }
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    teardownSync(state);
    removed.push(dir);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------

function routerConfig(nodes: readonly ClusterNode[]): string {
  const lines = [
    'frr defaults traditional',
    'hostname router',
    `router bgp ${ROUTER_ASN}`,
    ` bgp router-id ${ROUTER_IP}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' timers bgp 3 9',
  ];
  for (const n of nodes) lines.push(` neighbor ${n.ip} remote-as ${NODE_ASN}`, ` neighbor ${n.ip} timers connect 1`);
  lines.push(' address-family ipv4 unicast', '  maximum-paths 8', ' exit-address-family', '');
  return lines.join('\n');
}

class ClusterImpl implements Cluster {
  controlPlane!: ControlPlane;
  net!: TestNetwork;
  nodes: ClusterNode[] = [];
  router!: ClusterHost & { frr: FRR };
  client!: ClusterHost;
  images: Record<string, ImageInfo> = {};
  readonly startupPhases: StartupPhases = { imagesMs: 0, networkMs: 0, controlPlaneMs: 0, nodesStartMs: 0, imageLoadMs: 0, nodesReadyMs: 0, totalMs: 0 };
  private readonly daemons: Daemon[] = [];
  private stopped = false;
  private readonly log: (l: string) => void;
  private bin = '';

  constructor(readonly dir: string, readonly state: RunState, private readonly opts: ClusterOptions) {
    this.log = opts.log ?? (() => undefined);
  }

  get kubeconfigPath(): string { return this.controlPlane.kubeconfigPath; }

  private saveState(): void {
    writeFileSync(join(this.dir, 'state.json'), json(this.state));
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    let mark = t0;
    const phase = (k: keyof StartupPhases): void => { const n = performance.now(); this.startupPhases[k] = Math.round(n - mark); mark = n; };
    const nNodes = this.opts.nodes ?? 3;
    if (nNodes < 1 || nNodes > 9) throw new Error('nodes must be 1..9');
    this.bin = binDir();
    for (const b of ['kubelet', 'kube-proxy', 'kube-controller-manager', 'kube-scheduler']) {
      if (!existsSync(join(this.bin, b))) throw new Error(`${b} missing in ${this.bin}: run scripts/setup.sh`);
    }
    for (const c of ['containerd', 'runc', 'ctr', 'iptables', 'nsenter']) which(c);
    if (!existsSync('/usr/lib/cni/bridge')) throw new Error('CNI plugins missing (/usr/lib/cni): run scripts/setup.sh');
    requireFRR();
    const all = clusterImages();
    const wanted = this.opts.images ?? Object.keys(all);
    for (const w of wanted) {
      const img = all[w];
      if (!img) throw new Error(`no image "${w}" in scripts/cluster-images.sh's output`);
      this.images[w] = img;
    }
    if (!this.images.pause) this.images.pause = all.pause as ImageInfo;
    phase('imagesMs');

    // --- network ---
    const specs: HostSpec[] = [
      { name: 'router', v4: `${ROUTER_IP}/24`, mac: '02:00:00:00:00:01' },
      { name: 'apisrv', v4: `${APISERVER_IP}/24`, mac: '02:00:00:00:00:02' },
    ];
    const nodeSpecs = Array.from({ length: nNodes }, (_, i) => ({
      name: `node${i + 1}`, ip: `${LAN_PREFIX}.${11 + i}`, mac: `02:00:00:00:00:${(0x11 + i).toString(16)}`,
    }));
    for (const n of nodeSpecs) specs.push({ name: n.name, v4: `${n.ip}/24`, mac: n.mac });
    specs.push({ name: 'client', v4: `${CLIENT_IP}/24`, mac: '02:00:00:00:00:64' });
    this.net = TestNetwork.create('cl', specs);
    this.state.netns.push(...[...this.net.hosts.values()].map((h) => h.netns), `${this.net.prefix}lan`);
    this.state.cniNetwork = this.net.prefix.replace(/-$/, '');
    this.saveState();
    const ns = (name: string): string => this.net.host(name).netns;
    for (const n of nodeSpecs) {
      const idx = Number(n.name.slice(4));
      const cgroupRoot = `/${this.net.prefix}${n.name}`;
      createCgroupRoot(cgroupRoot);
      this.state.cgroups.push(cgroupRoot);
      this.saveState();
      this.nodes.push({
        name: n.name, ip: n.ip, mac: n.mac, netns: ns(n.name), podCIDR: `10.244.${idx}.0/24`,
        containerdSocket: join(this.dir, n.name, 'containerd.sock'), cgroupRoot,
      });
    }
    this.net.exec('router', 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
    this.net.exec('client', 'ip', ['route', 'add', BGP_CIDR, 'via', ROUTER_IP]);
    for (const n of this.nodes) {
      this.net.exec(n.name, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      this.net.execStatus(n.name, 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=1']);
      this.net.exec(n.name, 'ip', ['route', 'add', 'default', 'via', ROUTER_IP]);
      for (const m of this.nodes.length ? nodeSpecs : []) {
        if (m.name === n.name) continue;
        this.net.exec(n.name, 'ip', ['route', 'add', `10.244.${Number(m.name.slice(4))}.0/24`, 'via', m.ip]);
      }
    }
    const frr = new FRR(this.net, 'router', this.opts.routerBgpdConfig ?? routerConfig(this.nodes), { zebra: true, dirPrefix: `${RUN_PREFIX}frr-` });
    frr.start();
    const rh = this.net.host('router');
    this.router = { name: 'router', ip: ROUTER_IP, mac: rh.mac ?? '', netns: rh.netns, frr };
    const ch = this.net.host('client');
    this.client = { name: 'client', ip: CLIENT_IP, mac: ch.mac ?? '', netns: ch.netns };
    await frr.waitReady();
    phase('networkMs');

    // --- control plane ---
    this.controlPlane = await startControlPlane({
      extraSANs: [APISERVER_IP, KUBERNETES_SERVICE_IP],
      serviceAccountAdmission: true,
      dirPrefix: `${RUN_PREFIX}cp-`,
      extraApiServerFlags: [`--advertise-address=${APISERVER_IP}`, `--service-cluster-ip-range=${SERVICE_CIDR}`],
    });
    const port = Number(new URL(this.controlPlane.server).port);
    await this.controlPlane.relayIntoNamespace(ns('apisrv'), { host: APISERVER_IP, port });
    const lanServer = `https://${APISERVER_IP}:${port}`;
    const admin = JSON.parse(readFileSync(this.controlPlane.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    for (const c of admin.clusters) c.cluster.server = lanServer;
    const lanKubeconfig = join(this.dir, 'lan.kubeconfig');
    writeFileSync(lanKubeconfig, json(admin), { mode: 0o600 });
    const caFile = join(this.dir, 'ca.crt');
    writeFileSync(caFile, this.controlPlane.caCertPem);
    const cpDir = this.controlPlane.dir;
    const freePortArgs = (name: string, extra: string[]): string[] => [
      `--kubeconfig=${this.controlPlane.kubeconfigPath}`,
      `--authentication-kubeconfig=${this.controlPlane.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.controlPlane.kubeconfigPath}`,
      '--bind-address=127.0.0.1', '--secure-port=0', '--leader-elect=false', '--v=1',
      `--cert-dir=${join(this.dir, name)}`, ...extra,
    ];
    mkdirSync(join(this.dir, 'kube-controller-manager'), { recursive: true });
    mkdirSync(join(this.dir, 'kube-scheduler'), { recursive: true });
    this.daemon('kube-controller-manager', join(this.bin, 'kube-controller-manager'), freePortArgs('kube-controller-manager', [
      `--service-account-private-key-file=${join(cpDir, 'sa.key')}`,
      `--root-ca-file=${caFile}`,
      '--use-service-account-credentials=false',
      '--allocate-node-cidrs=false',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      `--flex-volume-plugin-dir=${join(this.dir, 'kube-controller-manager', 'flex')}`,
      '--controllers=*,-bootstrapsigner,-tokencleaner,-csrsigning,-csrapproving,-csrcleaner,-persistentvolume-expander',
      '--node-monitor-grace-period=20s',
      '--concurrent-service-syncs=1',
    ]));
    this.daemon('kube-scheduler', join(this.bin, 'kube-scheduler'), freePortArgs('kube-scheduler', []));
    phase('controlPlaneMs');

    // --- nodes: containerd, then images, then kubelet and kube-proxy ---
    for (const n of this.nodes) this.startContainerd(n);
    await Promise.all(this.nodes.map((n) => until(`containerd on ${n.name}`, 30_000, async () => {
      this.assertRunning();
      const r = await execFileAsync(which('ctr'), ['--address', n.containerdSocket, 'version']).catch(() => undefined);
      return r ? true : undefined;
    })));
    phase('nodesStartMs');
    const archives = [...new Set([...Object.values(this.images).map((i) => i.archive), ...(this.opts.extraImageArchives ?? [])])];
    await this.loadImages(archives);
    phase('imageLoadMs');
    for (const n of this.nodes) this.startKubelet(n, lanKubeconfig, caFile);
    await until('all nodes Ready', this.opts.readyTimeoutMs ?? 180_000, async () => {
      this.assertRunning();
      const nodes = await this.getJson<{ items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(['get', 'nodes']);
      const ready = nodes.items.filter((i) => i.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      return ready === this.nodes.length ? true : undefined;
    }, 500);
    // the namespace controllers must have made the default ServiceAccount and root CA ConfigMap
    await until('default ServiceAccount and kube-root-ca.crt', 60_000, async () => {
      const sa = await this.kubectl(['get', 'serviceaccount', 'default', '-n', 'default'], { check: false });
      const cm = await this.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', 'default'], { check: false });
      return sa.code === 0 && cm.code === 0 ? true : undefined;
    }, 500);
    phase('nodesReadyMs');
    this.startupPhases.totalMs = Math.round(performance.now() - t0);
    this.log(`cluster up in ${(this.startupPhases.totalMs / 1000).toFixed(1)} s: ${this.nodes.map((n) => n.name).join(', ')} Ready`);
  }

  private daemon(name: string, cmd: string, args: readonly string[]): Daemon {
    const d = new Daemon(name, cmd, args, join(this.dir, `${name}.log`));
    this.daemons.push(d);
    return d;
  }

  /** Throws with the log tail of the first daemon that exited. */
  private assertRunning(): void {
    const dead = this.daemons.find((d) => d.exited);
    if (dead) throw new Error(`${dead.name} exited; log tail:\n${tail(dead.logPath)}`);
  }

  private inNetns(n: ClusterNode, name: string, cmd: string, args: readonly string[]): Daemon {
    // nsenter execs the daemon in the node's network namespace: the pid is the daemon's own
    // (`ip netns exec` would remount /sys, hiding the cgroup hierarchies)
    return this.daemon(`${n.name}-${name}`, which('nsenter'), [`--net=/run/netns/${n.netns}`, '--', cmd, ...args]);
  }

  private startContainerd(n: ClusterNode): void {
    const d = join(this.dir, n.name);
    for (const sub of ['containerd-root', 'containerd-state', 'cni', 'cni-ipam']) mkdirSync(join(d, sub), { recursive: true });
    writeFileSync(join(d, 'cni', '10-bridge.conflist'), json({
      cniVersion: '0.4.0',
      name: this.state.cniNetwork,
      plugins: [
        {
          type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: n.podCIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(d, 'cni-ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }));
    const toml = `version = 2
root = "${join(d, 'containerd-root')}"
state = "${join(d, 'containerd-state')}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${n.containerdSocket}"
[ttrpc]
  address = "${n.containerdSocket}.ttrpc"
[debug]
  level = "warn"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${this.images.pause?.name ?? ''}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "${which('runc')}"
        Root = "${join(d, 'runc')}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${join(d, 'cni')}"
    max_conf_num = 1
`;
    writeFileSync(join(d, 'containerd.toml'), toml);
    this.inNetns(n, 'containerd', which('containerd'), ['--config', join(d, 'containerd.toml')]);
  }

  private startKubelet(n: ClusterNode, kubeconfig: string, caFile: string): void {
    const d = join(this.dir, n.name);
    const kubeletDir = join(d, 'kubelet');
    mkdirSync(join(kubeletDir, 'pki'), { recursive: true });
    mkdirSync(join(d, 'pod-logs'), { recursive: true });
    mkdirSync(join(d, 'volume-plugins'), { recursive: true });
    writeFileSync(join(d, 'kubelet.yaml'), json({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'cgroupfs',
      cgroupRoot: n.cgroupRoot,
      cgroupsPerQOS: true,
      enforceNodeAllocatable: ['pods'],
      containerRuntimeEndpoint: `unix://${n.containerdSocket}`,
      failSwapOn: false,
      address: n.ip,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: 10248,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caFile } },
      authorization: { mode: 'AlwaysAllow' },
      oomScoreAdj: 0,
      evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      volumePluginDir: join(d, 'volume-plugins'),
      podLogsDir: join(d, 'pod-logs'),
      serializeImagePulls: false,
      resolvConf: '/etc/resolv.conf',
      maxPods: 40,
      protectKernelDefaults: false,
      nodeStatusUpdateFrequency: '4s',
      nodeStatusReportFrequency: '10s',
      syncFrequency: '10s',
      fileCheckFrequency: '60s',
      shutdownGracePeriod: '0s',
      localStorageCapacityIsolation: true,
      registerNode: true,
    }));
    this.inNetns(n, 'kubelet', join(this.bin, 'kubelet'), [
      `--config=${join(d, 'kubelet.yaml')}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${kubeletDir}`,
      `--cert-dir=${join(kubeletDir, 'pki')}`,
      `--hostname-override=${n.name}`,
      `--node-ip=${n.ip}`,
      '--v=1',
    ]);
    writeFileSync(join(d, 'kube-proxy.yaml'), json({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig },
      mode: 'iptables',
      clusterCIDR: POD_CIDR,
      hostnameOverride: n.name,
      bindAddress: '0.0.0.0',
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      oomScoreAdj: 0,
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s', udpTimeout: '0s', udpStreamTimeout: '0s' },
      iptables: { syncPeriod: '10s', minSyncPeriod: '0s', masqueradeAll: false },
    }));
    this.inNetns(n, 'kube-proxy', join(this.bin, 'kube-proxy'), [`--config=${join(d, 'kube-proxy.yaml')}`, '--v=1']);
  }

  async ctr(node: string, args: readonly string[]): Promise<string> {
    const n = this.node(node);
    const r = await execFileAsync(which('ctr'), ['--address', n.containerdSocket, '-n', 'k8s.io', ...args], { maxBuffer: 16 * 1024 * 1024 });
    return r.stdout;
  }

  private node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  async loadImages(archives: readonly string[], nodes?: readonly string[]): Promise<void> {
    const targets = nodes ? nodes.map((n) => this.node(n)) : this.nodes;
    await Promise.all(targets.map(async (n) => {
      for (const a of archives) await this.ctr(n.name, ['images', 'import', a]);
    }));
  }

  async tagImage(source: string, target: string): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.ctr(n.name, ['images', 'tag', '--force', source, target])));
  }

  async containerPid(node: string, containerId: string): Promise<number> {
    const id = containerId.replace(/^containerd:\/\//, '');
    const out = await this.ctr(node, ['tasks', 'ls']);
    for (const line of out.split('\n').slice(1)) {
      const [task, pid] = line.trim().split(/\s+/);
      if (task === id) return Number(pid);
    }
    throw new Error(`no task ${id} on ${node}`);
  }

  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult> {
    return this.controlPlane.kubectl(args, opts);
  }

  async getJson<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
    const r = await this.kubectl([...args, '-o', 'json']);
    return JSON.parse(r.stdout) as T;
  }

  exec(host: string, cmd: string, args: readonly string[] = []): string {
    return this.net.exec(host, cmd, args);
  }

  execStatus(host: string, cmd: string, args: readonly string[] = []): { status: number; stdout: string; stderr: string } {
    return this.net.execStatus(host, cmd, args);
  }

  podLog(namespace: string, pod: string, container: string): string {
    let out = '';
    for (const n of this.nodes) {
      const base = join(this.dir, n.name, 'pod-logs');
      let entries: string[] = [];
      try { entries = readdirSync(base); } catch { continue; }
      for (const e of entries.filter((x) => x.startsWith(`${namespace}_${pod}_`))) {
        const cdir = join(base, e, container);
        let files: string[] = [];
        try { files = readdirSync(cdir).filter((f) => f.endsWith('.log')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10)); } catch { continue; }
        for (const f of files) out += readFileSync(join(cdir, f), 'utf8');
      }
    }
    return out;
  }

  processIds(): number[] {
    return [...this.daemons.map((d) => d.pid), ...this.controlPlane.processIds()].filter((p) => p > 0 && pidAlive(p));
  }

  memoryBytes(): number {
    const pids = new Set<number>([...this.processIds(), ...pidsWithCmdline(this.dir), ...this.state.cgroups.flatMap((c) => cgroupPids(c))]);
    for (const ns of this.state.netns) {
      try {
        for (const p of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/)) if (p) pids.add(Number(p));
      } catch { /* gone */ }
    }
    let total = 0;
    for (const p of pids) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
        if (m) total += Number(m[1]) * 1024;
      } catch { /* exited */ }
    }
    return total;
  }

  destroySync(): void {
    if (this.stopped) return;
    this.stopped = true;
    teardownSync(this.state);
    this.router?.frr.cleanup();
    this.net?.destroy();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // kubelets first, so nothing restarts containers while they are being killed
    const order = ['kubelet', 'kube-proxy', 'kube-controller-manager', 'kube-scheduler'];
    for (const o of order) terminateSync(this.daemons.filter((d) => d.name.endsWith(o)).map((d) => d.pid), 3_000);
    await this.router?.frr.stop().catch(() => undefined);
    const left = teardownSync(this.state);
    this.router?.frr.cleanup();
    this.net?.destroy();
    await this.controlPlane?.stop();
    if (left.length) throw new Error(`cluster teardown left: ${left.join('; ')}`);
  }
}

/**
 * Starts the cluster (about 30-60 s warm) and resolves when every node is Ready. On failure,
 * everything started so far is torn down before the error is thrown.
 */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  requireRoot('the cluster harness');
  installExitHook();
  removeStaleClusters();
  const dir = mkdtempSync(join(tmpdir(), RUN_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
  const state: RunState = { dir, netns: [], cgroups: [] };
  writeFileSync(join(dir, 'state.json'), json(state));
  live.set(dir, state);
  const c = new ClusterImpl(dir, state, opts);
  try {
    await c.start();
    return c;
  } catch (err) {
    const logs = readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${tail(join(dir, f), 8)}`).join('\n');
    await c.stop().catch(() => undefined);
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}
