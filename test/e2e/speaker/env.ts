// The whole system on one machine for the speaker's e2e tests and bench/failover: a real
// kube-apiserver+etcd (test/support/sandbox/controlplane.ts) with the project's manifests, the real
// controller process (controller ServiceAccount), a LAN of network namespaces (router running
// FRR's bgpd, node1..node3 each running a real speaker process with the speaker ServiceAccount's
// token through a relay, and a client), and the Kubernetes objects a kubelet and the
// EndpointSlice controller would have made (Nodes, speaker Pods with status.podIP, EndpointSlices).
//
// Commands that take time (arping, ping) run asynchronously: the host half of the API relays
// runs on this process's event loop and must not be blocked while speakers talk to the API.

import { execFile, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { startControlPlane, type ControlPlane } from '../../support/sandbox/controlplane.js';
import { TestNetwork, requireRoot, type HostSpec } from '../../support/sandbox/netns.js';
import { FRR, requireFRR } from '../../interop/bgp/harness.js';
import { ControllerProcess, root, NS, waitFor, metricValue, type Env, type LogLine } from '../../integration/controller/env.js';

export { waitFor, NS, root };

const execFileAsync = promisify(execFile);

export const ROUTER_IP = '198.51.100.1';
export const CLIENT_IP = '198.51.100.100';
export const NODE_NAMES = ['node1', 'node2', 'node3'] as const;
export type NodeName = (typeof NODE_NAMES)[number];
export const NODE_IP: Record<NodeName, string> = { node1: '198.51.100.11', node2: '198.51.100.12', node3: '198.51.100.13' };
export const NODE_MAC: Record<NodeName, string> = { node1: '02:00:00:00:05:11', node2: '02:00:00:00:05:12', node3: '02:00:00:00:05:13' };
export const CLIENT_MAC = '02:00:00:00:05:64';
export const ASN = 64512;

/** IPv6 addresses on the LAN (ClusterOptions.ipv6): the IPv4 host part after 2001:db8:5:: */
export const v6Of = (v4: string): string => `2001:db8:5::${v4.split('.')[3]}`;

function hosts(ipv6: boolean): HostSpec[] {
  const v6 = (v4: string): { v6?: string } => (ipv6 ? { v6: `${v6Of(v4)}/64` } : {});
  return [
    { name: 'router', v4: `${ROUTER_IP}/24`, mac: '02:00:00:00:05:01', ...v6(ROUTER_IP) },
    ...NODE_NAMES.map((n) => ({ name: n, v4: `${NODE_IP[n]}/24`, mac: NODE_MAC[n], ...v6(NODE_IP[n]) })),
    { name: 'client', v4: `${CLIENT_IP}/24`, mac: CLIENT_MAC, ...v6(CLIENT_IP) },
  ];
}

const FRR_CONFIG = `frr defaults traditional
hostname router
log file bgpd.log
router bgp ${ASN}
 bgp router-id ${ROUTER_IP}
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp bestpath as-path multipath-relax
${NODE_NAMES.map((n) => ` neighbor ${NODE_IP[n]} remote-as ${ASN}\n neighbor ${NODE_IP[n]} timers connect 1\n`).join('')} address-family ipv4 unicast
  maximum-paths ibgp 8
 exit-address-family
`;

/** Fails with a message naming scripts/setup.sh when a prerequisite is missing. */
export function requirePrerequisites(): void {
  requireRoot('speaker e2e tests');
  requireFRR();
  for (const tool of ['arping', 'ping', 'ip']) {
    if (!['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(join(d, tool)))) {
      throw new Error(`${tool} is not installed: run scripts/setup.sh (Debian packages in scripts/apt-packages.txt)`);
    }
  }
  if (!existsSync(join(root, 'native', 'build', 'Release', 'metallb_native.node'))) {
    throw new Error('native addon not built: run `npm run build:native` (scripts/setup.sh does)');
  }
}

/** A speaker's JSON log line (the same shape as the controller's). */
export type { LogLine };

/** One speaker process inside a node namespace. */
export class SpeakerProcess {
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  /** Every warn/error line (kept whole, for checks such as "no RBAC refusal"). */
  readonly problems: string[] = [];
  exitCode: number | null | undefined = undefined;
  readonly exited: Promise<number | null>;

  constructor(readonly node: NodeName, readonly child: ChildProcess) {
    const dump = process.env.SPEAKER_E2E_LOGS;
    const out = dump ? createWriteStream(join(dump, `${node}.log`), { flags: 'a' }) : undefined;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      out?.write(`${l}\n`);
      if (/"level":"(warn|error|fatal)"/.test(l)) this.problems.push(l);
      try {
        this.lines.push(JSON.parse(l) as LogLine);
      } catch {
        this.stderr.push(`stdout: ${l}`);
      }
      if (this.lines.length > 5000) this.lines.splice(0, 1000);
    });
    createInterface({ input: child.stderr! }).on('line', (l) => this.stderr.push(l));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? -1 : null);
      resolve(code);
    }));
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The latest log line matching `match`. */
  find(match: (l: LogLine) => boolean): LogLine | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) if (match(this.lines[i])) return this.lines[i];
    return undefined;
  }

  /** The member names of the latest memberlist view this speaker logged. */
  members(): string[] | undefined {
    return this.find((l) => l.op === 'memberDiscovery' && Array.isArray(l.members))?.members as string[] | undefined;
  }

  describe(): string {
    return `speaker ${this.node} (exit ${String(this.exitCode)}), last lines:\n${this.lines.slice(-25).map((l) => JSON.stringify(l)).join('\n')}\n${this.stderr.slice(-10).join('\n')}`;
  }
}

export interface ClusterOptions {
  /** Memberlist timer profile of the speakers ('lan' = upstream defaults). */
  readonly memberlistTimers?: 'lan' | 'fast';
  readonly logLevel?: string;
  /** Also give every host an IPv6 address (v6Of) on the LAN. */
  readonly ipv6?: boolean;
  /**
   * Route the API server's "cluster" egress (the pods/proxy subresource) through an HTTP CONNECT
   * proxy inside the router namespace (connect-proxy.ts), so `metallbctl status` can read the
   * speakers' /metrics through the API server. Off by default.
   */
  readonly podProxy?: boolean;
}

/** Another speaker binary with the same flags and env (e.g. upstream MetalLB's, for interop). */
export interface SpeakerCommand {
  readonly file: string;
  /** Replaces node's script path and our own flags (`--kubeconfig=` is appended). */
  readonly args: readonly string[];
}

export class SpeakerCluster {
  readonly speakers = new Map<NodeName, SpeakerProcess>();
  private readonly relays = new Map<NodeName, string>();
  secretKey = '';

  private constructor(
    readonly cp: ControlPlane,
    readonly net: TestNetwork,
    readonly frr: FRR,
    readonly controller: ControllerProcess,
    private readonly speakerKubeconfig: string,
    private readonly opts: ClusterOptions,
  ) {}

  /** Everything up except the speakers (startSpeakers) and the config (applyConfig). */
  static async start(opts: ClusterOptions = {}): Promise<SpeakerCluster> {
    requirePrerequisites();
    const net = TestNetwork.create('spk', hosts(opts.ipv6 === true));
    let cp: ControlPlane | undefined;
    let frr: FRR | undefined;
    let controller: ControllerProcess | undefined;
    let proxy: ChildProcess | undefined;
    let proxyDir: string | undefined;
    try {
      const extraApiServerFlags: string[] = [];
      if (opts.podProxy) {
        proxyDir = mkdtempSync(join(tmpdir(), 'metallb-ts-egress-'));
        const socket = join(proxyDir, 'connect.sock');
        const egress = join(proxyDir, 'egress.yaml');
        writeFileSync(egress, `apiVersion: apiserver.k8s.io/v1beta1\nkind: EgressSelectorConfiguration\negressSelections:\n- name: cluster\n  connection:\n    proxyProtocol: HTTPConnect\n    transport:\n      uds:\n        udsName: ${socket}\n`);
        proxy = net.spawn('router', process.execPath, [join(root, 'dist', 'test', 'e2e', 'speaker', 'connect-proxy.js'), socket], { stdio: ['pipe', 'pipe', 'pipe'] });
        await new Promise<void>((resolve, reject) => {
          let err = '';
          proxy!.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
          proxy!.stdout!.once('data', () => resolve());
          proxy!.once('exit', (code) => reject(new Error(`connect proxy exited with ${code}: ${err}`)));
        });
        extraApiServerFlags.push(`--egress-selector-config-file=${egress}`);
      }
      cp = await startControlPlane({ dirPrefix: 'metallb-ts-spk-', extraApiServerFlags });
      await cp.kubectl(['apply', '-f', join(root, 'manifests', 'namespace.yaml'), '-f', join(root, 'manifests', 'metallb.yaml')]);
      const env: Env = { cp, controllerKubeconfig: await cp.serviceAccountKubeconfig(NS, 'controller') };
      controller = ControllerProcess.start(env);
      const speakerKubeconfig = await cp.serviceAccountKubeconfig(NS, 'speaker');
      frr = new FRR(net, 'router', FRR_CONFIG);
      frr.start();
      await frr.waitReady();
      const cluster = new SpeakerCluster(cp, net, frr, controller, speakerKubeconfig, opts);
      cluster.podProxy = proxy;
      cluster.podProxyDir = proxyDir;
      for (const n of NODE_NAMES) await cluster.applyNode(n, { 'kubernetes.io/hostname': n, 'kubernetes.io/os': 'linux' });
      for (const n of NODE_NAMES) await cluster.createSpeakerPod(n);
      cluster.secretKey = await cluster.memberlistSecret();
      return cluster;
    } catch (err) {
      await controller?.stop().catch(() => undefined);
      await frr?.stop().catch(() => undefined);
      frr?.cleanup();
      await cp?.stop();
      proxy?.kill('SIGKILL');
      if (proxyDir) rmSync(proxyDir, { recursive: true, force: true });
      net.destroy();
      throw err;
    }
  }

  async destroy(): Promise<void> {
    for (const s of this.speakers.values()) if (s.running) s.child.kill('SIGKILL');
    await this.controller.stop().catch(() => undefined);
    await this.frr.stop().catch(() => undefined);
    this.frr.cleanup();
    await this.cp.stop();
    this.podProxy?.kill('SIGKILL');
    if (this.podProxyDir) rmSync(this.podProxyDir, { recursive: true, force: true });
    this.net.destroy();
  }

  /** The HTTP CONNECT proxy of the API server's pod egress (ClusterOptions.podProxy). */
  podProxy: ChildProcess | undefined;
  podProxyDir: string | undefined;

  // ------------------------------------------------------------------ Kubernetes objects

  async apply(obj: unknown): Promise<void> {
    await this.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
  }

  async applyNode(name: NodeName, labels: Record<string, string>): Promise<void> {
    await this.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  }

  /** Replaces the Node's labels (kubectl apply computes the removals). */
  async setNodeLabels(name: NodeName, labels: Record<string, string>): Promise<void> {
    await this.applyNode(name, { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels });
  }

  /** The speaker DaemonSet's Pod on a node, as a kubelet would have reported it. */
  async createSpeakerPod(node: NodeName): Promise<void> {
    const name = `speaker-${node}`;
    await this.apply({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: NS, labels: { app: 'metallb', component: 'speaker' } },
      spec: { nodeName: node, hostNetwork: true, serviceAccountName: 'speaker', containers: [{ name: 'speaker', image: 'registry.invalid/metallb-ts/speaker:0.1.0' }] },
    });
    const status = { status: { phase: 'Running', hostIP: NODE_IP[node], podIP: NODE_IP[node], podIPs: [{ ip: NODE_IP[node] }] } };
    await this.cp.kubectl(['patch', 'pod', '-n', NS, name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }

  /** The memberlist Secret the controller creates, as the speaker's env var would hold it. */
  private async memberlistSecret(): Promise<string> {
    return waitFor('memberlist Secret from the controller', async () => {
      const r = await this.cp.kubectl(['get', 'secret', '-n', NS, 'memberlist', '-o', 'json'], { check: false });
      if (r.code !== 0) return undefined;
      const b64 = (JSON.parse(r.stdout) as { data?: { secretkey?: string } }).data?.secretkey;
      return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
    }, 60_000, () => this.controller.describe());
  }

  async applyConfig(text: string): Promise<void> {
    await this.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: NS }, data: { config: text } });
  }

  async ensureNamespace(name: string): Promise<void> {
    const r = await this.cp.kubectl(['get', 'namespace', name], { check: false });
    if (r.code !== 0) await this.cp.kubectl(['create', 'namespace', name]);
  }

  async applyService(ns: string, name: string, opts: { pool?: string; local?: boolean; type?: string; loadBalancerIP?: string } = {}): Promise<void> {
    await this.apply({
      apiVersion: 'v1', kind: 'Service',
      metadata: { name, namespace: ns, annotations: opts.pool ? { 'metallb.universe.tf/address-pool': opts.pool } : {} },
      spec: {
        type: opts.type ?? 'LoadBalancer',
        selector: { app: name },
        ports: [{ port: 80, protocol: 'TCP', targetPort: 8080 }],
        externalTrafficPolicy: opts.local ? 'Local' : 'Cluster',
        ...(opts.loadBalancerIP ? { loadBalancerIP: opts.loadBalancerIP } : {}),
      },
    });
  }

  /** The Service's EndpointSlice (what the EndpointSlice controller would write): endpoints per node. */
  async applyEndpoints(ns: string, service: string, endpoints: readonly { node: NodeName; ready: boolean; ip: string }[]): Promise<void> {
    await this.apply({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${service}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'e2e.metallb-ts' } },
      addressType: 'IPv4',
      endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready }, nodeName: e.node })),
      ports: [{ name: '', port: 8080, protocol: 'TCP' }],
    });
  }

  /** A core/v1 Endpoints object for the Service (read by speakers running with --disable-epslices). */
  async applyCoreEndpoints(ns: string, service: string, endpoints: readonly { node: NodeName; ready: boolean; ip: string }[]): Promise<void> {
    const address = (e: { node: NodeName; ip: string }): object => ({ ip: e.ip, nodeName: e.node });
    await this.apply({
      apiVersion: 'v1', kind: 'Endpoints',
      metadata: { name: service, namespace: ns },
      subsets: [{
        addresses: endpoints.filter((e) => e.ready).map(address),
        notReadyAddresses: endpoints.filter((e) => !e.ready).map(address),
        ports: [{ port: 8080, protocol: 'TCP' }],
      }],
    });
  }

  async deleteService(ns: string, name: string): Promise<void> {
    await this.cp.kubectl(['delete', 'service', '-n', ns, name, '--wait=false']);
    await this.cp.kubectl(['delete', 'endpointslice', '-n', ns, `${name}-abcde`, '--ignore-not-found', '--wait=false']);
  }

  /** Waits for the controller to assign an address; returns the first ingress IP. */
  async waitForIngress(ns: string, name: string, timeoutMs = 60_000): Promise<string> {
    return waitFor(`${ns}/${name} gets an address`, async () => {
      const r = await this.cp.kubectl(['get', 'service', '-n', ns, name, '-o', 'json'], { check: false });
      if (r.code !== 0) return undefined;
      const ip = (JSON.parse(r.stdout) as { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }).status?.loadBalancer?.ingress?.[0]?.ip;
      return ip || undefined;
    }, timeoutMs, () => this.controller.describe());
  }

  async serviceEvents(ns: string, name: string): Promise<{ reason: string; message: string; source?: { component?: string; host?: string } }[]> {
    const r = await this.cp.kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},involvedObject.kind=Service`, '-o', 'json']);
    return (JSON.parse(r.stdout) as { items: { reason: string; message: string; source?: { component?: string; host?: string } }[] }).items;
  }

  // ------------------------------------------------------------------ speakers

  private async relay(node: NodeName): Promise<string> {
    let path = this.relays.get(node);
    if (!path) {
      path = (await this.cp.relayIntoNamespace(this.net.host(node).netns, { credentialsFrom: this.speakerKubeconfig })).kubeconfigPath;
      this.relays.set(node, path);
    }
    return path;
  }

  /** Starts (or restarts) the speaker on a node, with the env of the DaemonSet's Pod template. */
  async startSpeaker(node: NodeName, extraArgs: readonly string[] = [], command?: SpeakerCommand): Promise<SpeakerProcess> {
    const old = this.speakers.get(node);
    if (old?.running) throw new Error(`speaker on ${node} is already running`);
    const kubeconfig = await this.relay(node);
    const child = this.net.spawn(node, command?.file ?? process.execPath, command ? [...command.args, `--kubeconfig=${kubeconfig}`, ...extraArgs] : [
      '--enable-source-maps',
      join(root, 'dist', 'bin', 'speaker.js'),
      '--port=7472',
      '--config=config',
      `--log-level=${this.opts.logLevel ?? 'debug'}`,
      `--kubeconfig=${kubeconfig}`,
      ...extraArgs,
    ], {
      env: {
        ...process.env,
        METALLB_NODE_NAME: node,
        METALLB_HOST: NODE_IP[node],
        METALLB_NAMESPACE: NS,
        METALLB_ML_BIND_ADDR: NODE_IP[node],
        METALLB_ML_LABELS: 'app=metallb,component=speaker',
        METALLB_ML_SECRET_KEY: this.secretKey,
        METALLB_ML_TIMERS: this.opts.memberlistTimers ?? 'lan',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sp = new SpeakerProcess(node, child);
    this.speakers.set(node, sp);
    return sp;
  }

  speaker(node: NodeName): SpeakerProcess {
    const s = this.speakers.get(node);
    if (!s) throw new Error(`no speaker on ${node}`);
    return s;
  }

  /** Waits until every running speaker's memberlist view is exactly the running speakers. */
  async waitForMembers(nodes: readonly NodeName[], timeoutMs = 90_000): Promise<void> {
    const want = [...nodes].sort().join(',');
    await waitFor(`memberlist views = ${want}`, () => {
      for (const n of nodes) {
        const s = this.speakers.get(n);
        if (!s?.running || (s.members() ?? []).slice().sort().join(',') !== want) return undefined;
        if (!s.find((l) => l.msg === 'caches synced')) return undefined;
      }
      return true;
    }, timeoutMs, () => this.describeSpeakers());
  }

  /** Sends a signal and waits for the exit. */
  async stopSpeaker(node: NodeName, signal: NodeJS.Signals): Promise<number | null> {
    const s = this.speaker(node);
    if (!s.running) return s.exitCode ?? null;
    s.child.kill(signal);
    const timer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
    try {
      return await s.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  describeSpeakers(): string {
    return [...this.speakers.values()].map((s) => s.describe()).join('\n----\n');
  }

  // ------------------------------------------------------------------ the client and the router

  async execIn(host: string, cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await execFileAsync('ip', ['netns', 'exec', this.net.host(host).netns, cmd, ...args], { encoding: 'utf8' });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** arping from the client: the MACs that replied (lower case). */
  async arping(ip: string, count = 2): Promise<string[]> {
    const r = await this.execIn('client', 'arping', ['-c', String(count), '-w', String(count + 1), '-I', 'eth0', ip]);
    return [...r.stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1].toLowerCase());
  }

  /** Makes the client's kernel resolve ip (a ping nobody answers still leaves a neighbour entry). */
  async resolveFromClient(ip: string): Promise<void> {
    await this.execIn('client', 'ping', ['-c', '1', '-W', '1', ip]);
  }

  /** The MAC the client's kernel holds for ip, if any. */
  async neighbourMac(ip: string): Promise<string | undefined> {
    const r = await this.execIn('client', 'ip', ['-4', 'neigh', 'show', ip, 'dev', 'eth0']);
    return /lladdr ([0-9a-f:]{17})/.exec(r.stdout)?.[1];
  }

  /** Next hops of the valid paths FRR holds for a prefix (sorted), with their attributes. */
  routePaths(prefix: string): { nextHops: string[]; localPrefs: (number | undefined)[]; communities: string[] } {
    let paths: ReturnType<FRR['route']> = [];
    try {
      paths = this.frr.route(prefix).filter((p) => p.valid);
    } catch {
      paths = [];
    }
    return {
      nextHops: paths.flatMap((p) => p.nextHops).sort(),
      localPrefs: paths.map((p) => p.localPref),
      communities: paths.map((p) => p.communities),
    };
  }

  /** A speaker's /metrics text, fetched from inside its node namespace (it binds METALLB_HOST). */
  async metrics(node: NodeName): Promise<string> {
    const script = `fetch('http://${NODE_IP[node]}:7472/metrics').then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e)); process.exit(1); })`;
    const r = await this.execIn(node, process.execPath, ['-e', script]);
    if (r.code !== 0) throw new Error(`metrics of ${node}: ${r.stderr}`);
    return r.stdout;
  }

  establishedPeers(): string[] {
    const out: string[] = [];
    for (const n of NODE_NAMES) if (this.frr.neighborState(NODE_IP[n]) === 'Established') out.push(NODE_IP[n]);
    return out;
  }
}

/** The value of one series in Prometheus text (shared with the controller env). */
export { metricValue };
