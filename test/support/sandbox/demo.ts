// The sandbox demo (`npm run demo`, test/support/sandbox/demo-cli.ts): the whole system on this machine, as root.
//
//   const demo = new Demo({ print: (l) => process.stdout.write(`${l}\n`) });
//   await demo.run();          // every step, each checked; throws DemoStepError on a failed check
//   demo.printTryCommands();   // kubeconfig path and commands to try while it keeps running
//   demo.destroySync();        // from a signal handler: kills and removes everything
//   await demo.stop();         // orderly: speakers and controller first, then network, control plane
//
// What it builds (documentation ranges only, all inside network namespaces it creates):
//   - a local control plane (test/support/sandbox/controlplane.ts: etcd + kube-apiserver on loopback);
//   - a LAN 198.51.100.0/24 (test/support/sandbox/netns.ts): router .1 (FRR bgpd + zebra, AS 64500),
//     node1..node3 .11-.13, client .100 (route to 203.0.113.0/24 via the router);
//   - manifests/namespace.yaml + manifests/metallb.yaml (RBAC, ServiceAccounts; the Deployment and
//     DaemonSet are stored but, without a kubelet, start nothing), Node objects, one speaker Pod
//     object per node (status.podIP = the node's address, so speakers find each other);
//   - the `config` ConfigMap: pool "lan" (layer2, 198.51.100.200-198.51.100.210, inside the LAN so
//     ARP reaches it) and pool "routed" (bgp, 203.0.113.0/24, avoid-buggy-ips) with the router as peer;
//   - the controller (host namespace, ServiceAccount token) and one speaker per node (inside the
//     node's namespace, ServiceAccount token through an API-server relay) as real processes;
//   - per node: a tiny HTTP backend on <node address>:8080 and, once the Services have addresses,
//     an nftables DNAT rule (what kube-proxy's iptables mode does) from <service address>:80 to it;
//   - two LoadBalancer Services in namespace "demo" (one per pool) with EndpointSlices naming the
//     three backends.
// Then it shows and checks: `kubectl get svc`, which node answers ARP for the layer2 address
// (arping from the client), the router's BGP paths and kernel route for the bgp address, and
// `curl` from the client through both addresses.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resolveBinaries, startControlPlane, type ControlPlane } from './controlplane.js';
import { TestNetwork, requireRoot, type HostSpec } from './netns.js';
import { FRR, requireFRR, sleep, type FRRKernelRoute } from './frr.js';

const execFileAsync = promisify(execFile);

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DIST = join(REPO_ROOT, 'dist');

export const DEMO_NAMESPACE = 'demo';
export const METALLB_NAMESPACE = 'metallb-system';
export const ROUTER_ASN = 64500;
export const NODE_ASN = 64512;
export const LAYER2_RANGE = '198.51.100.200-198.51.100.210';
export const BGP_CIDR = '203.0.113.0/24';
export const BACKEND_PORT = 8080;
export const SERVICE_PORT = 80;
const SPEAKER_LABELS = 'app=metallb,component=speaker';

export interface DemoHost extends HostSpec {
  readonly name: string;
  readonly ip: string;
  readonly mac: string;
}

export const ROUTER: DemoHost = { name: 'router', ip: '198.51.100.1', v4: '198.51.100.1/24', mac: '02:00:00:00:00:01' };
export const CLIENT: DemoHost = { name: 'client', ip: '198.51.100.100', v4: '198.51.100.100/24', mac: '02:00:00:00:00:64' };
export const NODES: readonly DemoHost[] = [11, 12, 13].map((n, i) => ({
  name: `node${i + 1}`,
  ip: `198.51.100.${n}`,
  v4: `198.51.100.${n}/24`,
  mac: `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`,
}));

/** The MetalLB configuration the demo installs (the ConfigMap's `config` key). */
export const DEMO_CONFIG = `peers:
- peer-address: ${ROUTER.ip}
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

/** The two Services: one per pool. */
export const DEMO_SERVICES = [
  { name: 'web-layer2', pool: 'lan', protocol: 'layer2' },
  { name: 'web-bgp', pool: 'routed', protocol: 'bgp' },
] as const;

function routerBgpdConfig(): string {
  const lines = [
    'frr defaults traditional',
    `hostname ${ROUTER.name}`,
    `router bgp ${ROUTER_ASN}`,
    ` bgp router-id ${ROUTER.ip}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' timers bgp 3 9',
  ];
  for (const n of NODES) lines.push(` neighbor ${n.ip} remote-as ${NODE_ASN}`, ` neighbor ${n.ip} timers connect 1`);
  lines.push(' address-family ipv4 unicast', '  maximum-paths 8', ' exit-address-family', '');
  return lines.join('\n');
}

/** A check of the demo failed: `step` names it; the message says what was expected and seen. */
export class DemoStepError extends Error {
  constructor(readonly step: string, message: string) {
    super(`${step}: ${message}`);
    this.name = 'DemoStepError';
  }
}

export interface DemoOptions {
  /** Where progress lines go (default: stdout). */
  readonly print?: (line: string) => void;
  /** How long each wait may take (default 90 s). */
  readonly stepTimeoutMs?: number;
}

/** What the demo found, for the caller (and the e2e test through the printed lines). */
export interface DemoResult {
  readonly layer2Address: string;
  readonly layer2Node: string;
  readonly bgpAddress: string;
  readonly bgpNextHops: readonly string[];
  readonly layer2Page: string;
  readonly bgpPage: string;
}

interface ServiceObject {
  metadata?: { name?: string };
  spec?: { clusterIP?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, stepMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > end) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (last error: ${last.trim().slice(0, 300)})` : ''}`);
    await sleep(stepMs);
  }
}

function which(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (dir && existsSync(join(dir, cmd))) return true;
  }
  return false;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export class Demo {
  private readonly print: (line: string) => void;
  private readonly timeoutMs: number;
  private readonly totalSteps = 12;
  private stepNo = 0;
  /** Wall time of each finished step, in order. */
  readonly stepTimings: { step: number; title: string; ms: number }[] = [];
  private stepStarted = Date.now();
  private currentStep = 'start';
  private cp?: ControlPlane;
  private net?: TestNetwork;
  private frr?: FRR;
  private dir?: string;
  private controller?: ChildProcess;
  private readonly speakers = new Map<string, ChildProcess>();
  private readonly backends: ChildProcess[] = [];
  private readonly serviceAddresses = new Map<string, string>();
  private stopped = false;

  constructor(private readonly opts: DemoOptions) {
    this.print = opts.print ?? ((l) => process.stdout.write(`${l}\n`));
    this.timeoutMs = opts.stepTimeoutMs ?? 90_000;
  }

  /** The directory with the controller's, speakers' and backends' logs (removed on stop). */
  get logDir(): string | undefined {
    return this.dir;
  }

  private step(title: string): void {
    this.finishStepTiming();
    this.stepStarted = Date.now();
    this.stepNo++;
    this.currentStep = title;
    this.print('');
    this.print(`[${this.stepNo}/${this.totalSteps}] ${title}`);
  }

  private finishStepTiming(): void {
    if (this.stepNo > 0 && this.stepTimings.length < this.stepNo) this.stepTimings.push({ step: this.stepNo, title: this.currentStep, ms: Date.now() - this.stepStarted });
  }

  /** Process ids of the controller and each node's speaker (for benchmarks and leak checks). */
  processIds(): { controller?: number; speakers: Record<string, number> } {
    const speakers: Record<string, number> = {};
    for (const [n, c] of this.speakers) if (c.pid !== undefined) speakers[n] = c.pid;
    return { controller: this.controller?.pid, speakers };
  }

  private detail(text: string): void {
    for (const l of text.split('\n')) this.print(`    ${l}`);
  }

  private ok(text: string): void {
    this.print(`    ok: ${text} (${((Date.now() - this.stepStarted) / 1000).toFixed(1)} s)`);
  }

  private fail(message: string): never {
    throw new DemoStepError(this.currentStep, message);
  }

  private async nsExec(host: string, cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<string> {
    const net = this.net;
    if (!net) throw new Error('no network');
    const r = await execFileAsync('ip', ['netns', 'exec', net.host(host).netns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs });
    return r.stdout;
  }

  private get controlPlane(): ControlPlane {
    if (!this.cp) throw new Error('control plane not started');
    return this.cp;
  }

  private async kubectl(args: readonly string[], input?: string): Promise<string> {
    return (await this.controlPlane.kubectl(args, { input })).stdout;
  }

  /** Runs every step; throws DemoStepError (naming the step) when one fails. */
  async run(): Promise<DemoResult> {
    try {
      return await this.runSteps();
    } catch (err) {
      if (err instanceof DemoStepError) throw err;
      throw new DemoStepError(this.currentStep, err instanceof Error ? err.message : String(err));
    }
  }

  private async runSteps(): Promise<DemoResult> {
    this.preflight();
    await this.startControlPlane();
    await this.buildNetwork();
    await this.startRouter();
    await this.installManifests();
    await this.startController();
    await this.startSpeakers();
    await this.createServices();
    await this.showServices();
    const l2 = await this.checkLayer2();
    const bgp = await this.checkBGP();
    const pages = await this.checkHTTP(l2.node, bgp.nextHops);
    this.finishStepTiming();
    return { layer2Address: l2.address, layer2Node: l2.node, bgpAddress: bgp.address, bgpNextHops: bgp.nextHops, layer2Page: pages.layer2, bgpPage: pages.bgp };
  }

  private preflight(): void {
    this.step('Checking prerequisites');
    requireRoot('the demo');
    const binDir = resolveBinaries();
    this.detail(`Kubernetes binaries: ${binDir}`);
    requireFRR();
    for (const tool of ['ip', 'arping', 'curl', 'nft']) {
      if (!which(tool)) this.fail(`"${tool}" is not installed: run scripts/setup.sh (Debian packages in scripts/apt-packages.txt)`);
    }
    for (const f of ['bin/controller.js', 'bin/speaker.js', 'bin/metallbctl.js', 'test/support/sandbox/apiserver-relay.js', 'test/support/sandbox/demo-backend.js']) {
      if (!existsSync(join(DIST, f))) this.fail(`dist/${f} is missing: run scripts/setup.sh (or npm run build)`);
    }
    if (!existsSync(join(REPO_ROOT, 'native/build/Release/metallb_native.node'))) this.fail('the native addon is missing: run scripts/setup.sh (or npm run build:native)');
    this.dir = mkdtempSync(join(tmpdir(), 'metallb-ts-demo-'));
    this.ok(`root, etcd/kube-apiserver/kubectl, FRR, arping, curl, nft, build output; logs in ${this.dir}`);
  }

  private async startControlPlane(): Promise<void> {
    this.step('Starting the local control plane (etcd + kube-apiserver on loopback)');
    const t0 = Date.now();
    this.cp = await startControlPlane();
    this.ok(`API server ${this.cp.server} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  private async buildNetwork(): Promise<void> {
    this.step('Building the network: LAN 198.51.100.0/24 with router, node1-3 and client (network namespaces)');
    this.net = TestNetwork.create('demo', [ROUTER, ...NODES, CLIENT]);
    const net = this.net;
    for (const h of [ROUTER, ...NODES, CLIENT]) this.detail(`${h.name.padEnd(7)} ${h.ip.padEnd(15)} ${h.mac}  netns ${net.host(h.name).netns}`);
    await this.nsExec(ROUTER.name, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0']);
    await this.nsExec(CLIENT.name, 'ip', ['route', 'add', BGP_CIDR, 'via', ROUTER.ip]);
    this.detail(`client routes ${BGP_CIDR} via the router; the router forwards (no ICMP redirects)`);
    const pings = await Promise.all(NODES.map((n) => this.nsExec(CLIENT.name, 'ping', ['-c', '1', '-W', '2', n.ip]).catch((err: unknown) => String(err))));
    NODES.forEach((n, i) => {
      if (!/1 received/.test(pings[i] ?? '')) this.fail(`client cannot ping ${n.name} (${n.ip}): ${pings[i]}`);
    });
    this.ok('client reaches every node');
  }

  private async startRouter(): Promise<void> {
    this.step(`Starting the router: FRR bgpd (AS ${ROUTER_ASN}) + zebra, peers node1-3 (AS ${NODE_ASN})`);
    if (!this.net) throw new Error('no network');
    this.frr = new FRR(this.net, ROUTER.name, routerBgpdConfig(), { zebra: true, dirPrefix: 'metallb-ts-demo-frr-' });
    this.frr.start();
    await this.frr.waitReady();
    this.ok(`bgpd and zebra answer on ${this.frr.dir}`);
  }

  private async installManifests(): Promise<void> {
    this.step('Installing manifests (namespace, RBAC, ServiceAccounts), Nodes, speaker Pods and the configuration');
    const cp = this.controlPlane;
    for (const f of ['manifests/namespace.yaml', 'manifests/metallb.yaml']) {
      const out = await this.kubectl(['apply', '-f', join(REPO_ROOT, f)]);
      this.detail(`kubectl apply -f ${f}`);
      this.detail(out.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
    }
    const objects: string[] = [];
    for (const n of NODES) {
      objects.push(`apiVersion: v1
kind: Node
metadata:
  name: ${n.name}
  labels:
    kubernetes.io/hostname: ${n.name}
    kubernetes.io/os: linux
`);
      objects.push(`apiVersion: v1
kind: Pod
metadata:
  name: speaker-${n.name}
  namespace: ${METALLB_NAMESPACE}
  labels:
    app: metallb
    component: speaker
spec:
  nodeName: ${n.name}
  hostNetwork: true
  serviceAccountName: speaker
  containers:
  - name: speaker
    image: registry.invalid/metallb-ts/speaker:0.1.0
`);
    }
    objects.push(`apiVersion: v1
kind: ConfigMap
metadata:
  name: config
  namespace: ${METALLB_NAMESPACE}
data:
  config: |
${DEMO_CONFIG.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}
`);
    objects.push(`apiVersion: v1
kind: Namespace
metadata:
  name: ${DEMO_NAMESPACE}
`);
    await this.kubectl(['apply', '-f', '-'], objects.join('---\n'));
    for (const n of NODES) {
      const status = { status: { phase: 'Running', hostIP: n.ip, podIP: n.ip, podIPs: [{ ip: n.ip }], conditions: [{ type: 'Ready', status: 'True' }] } };
      await cp.kubectl(['patch', 'pod', `speaker-${n.name}`, '-n', METALLB_NAMESPACE, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    }
    this.detail(`Nodes node1-3; Pods speaker-node1..3 (labels ${SPEAKER_LABELS}, status.podIP = node address)`);
    this.detail('ConfigMap metallb-system/config:');
    this.detail(DEMO_CONFIG.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
    const validation = await this.validateConfig();
    this.detail('$ metallbctl validate  (the same text)');
    this.detail(validation.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
    this.ok('applied');
  }

  /** `metallbctl validate -` on DEMO_CONFIG; fails the step unless it says valid. */
  private async validateConfig(): Promise<string> {
    const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = execFile(process.execPath, [join(DIST, 'bin/metallbctl.js'), 'validate', '-'], { encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: err ? Number(err.code) : 0, out: `${stdout}${stderr}` });
      });
      child.stdin?.end(DEMO_CONFIG);
    });
    if (r.code !== 0) this.fail(`metallbctl validate refused the demo configuration:\n${r.out}`);
    return r.out;
  }

  private logFd(name: string): number {
    if (!this.dir) throw new Error('no demo directory');
    return openSync(join(this.dir, `${name}.log`), 'a');
  }

  private logPath(name: string): string {
    return join(this.dir ?? '', `${name}.log`);
  }

  private async startController(): Promise<void> {
    this.step('Starting the controller (a real process, with the controller ServiceAccount\'s token)');
    const cp = this.controlPlane;
    const kubeconfig = await cp.serviceAccountKubeconfig(METALLB_NAMESPACE, 'controller');
    const fd = this.logFd('controller');
    this.controller = spawn(process.execPath, ['--enable-source-maps', join(DIST, 'bin/controller.js'), `--kubeconfig=${kubeconfig}`, '--port=0', `--namespace=${METALLB_NAMESPACE}`, '--config=config', '--ml-secret-name=memberlist', '--deployment=controller', '--log-level=info'], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const controller = this.controller;
    const secret = await until('the controller to create the memberlist Secret', this.timeoutMs, async () => {
      if (controller.exitCode !== null) this.fail(`controller exited with ${controller.exitCode}:\n${tail(this.logPath('controller'))}`);
      const r = await cp.kubectl(['get', 'secret', 'memberlist', '-n', METALLB_NAMESPACE, '-o', 'jsonpath={.data.secretkey}'], { check: false });
      return r.code === 0 && r.stdout.trim() !== '' ? Buffer.from(r.stdout.trim(), 'base64').toString('utf8') : undefined;
    });
    this.memberlistKey = secret;
    this.ok(`controller pid ${controller.pid} running; it created Secret metallb-system/memberlist; log ${this.logPath('controller')}`);
  }

  private memberlistKey = '';

  private async startSpeakers(): Promise<void> {
    this.step('Starting one speaker per node (real processes inside the node namespaces, speaker ServiceAccount)');
    const cp = this.controlPlane;
    const net = this.net;
    if (!net) throw new Error('no network');
    const creds = await cp.serviceAccountKubeconfig(METALLB_NAMESPACE, 'speaker');
    for (const n of NODES) {
      const relay = await cp.relayIntoNamespace(net.host(n.name).netns, { credentialsFrom: creds });
      const fd = this.logFd(`speaker-${n.name}`);
      const env = {
        ...process.env,
        METALLB_NODE_NAME: n.name,
        METALLB_HOST: n.ip,
        METALLB_NAMESPACE: METALLB_NAMESPACE,
        METALLB_ML_BIND_ADDR: n.ip,
        METALLB_ML_LABELS: SPEAKER_LABELS,
        METALLB_ML_SECRET_KEY: this.memberlistKey,
        METALLB_ML_TIMERS: 'fast',
      };
      const child = net.spawn(n.name, process.execPath, ['--enable-source-maps', join(DIST, 'bin/speaker.js'), '--port=7472', '--config=config', '--log-level=info', `--kubeconfig=${relay.kubeconfigPath}`], { env, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      this.speakers.set(n.name, child);
      this.detail(`${n.name}: speaker pid ${child.pid}, API server via ${relay.server} in the namespace, memberlist ${n.ip}:7946, log ${this.logPath(`speaker-${n.name}`)}`);
    }
    await until('every speaker to serve /metrics', this.timeoutMs, async () => {
      for (const [name, child] of this.speakers) {
        if (child.exitCode !== null) this.fail(`speaker on ${name} exited with ${child.exitCode}:\n${tail(this.logPath(`speaker-${name}`))}`);
      }
      for (const n of NODES) await this.nsExec(CLIENT.name, 'curl', ['-sf', '-o', '/dev/null', '--max-time', '2', `http://${n.ip}:7472/metrics`]);
      return true;
    });
    this.ok('three speakers running and serving /metrics on <node>:7472');
  }

  private async createServices(): Promise<void> {
    this.step('Creating two LoadBalancer Services (one per pool) with EndpointSlices, and a backend on every node');
    const net = this.net;
    if (!net) throw new Error('no network');
    for (const n of NODES) {
      const fd = this.logFd(`backend-${n.name}`);
      const child = net.spawn(n.name, process.execPath, [join(DIST, 'test/support/sandbox/demo-backend.js'), n.name, n.ip, String(BACKEND_PORT)], { stdio: ['pipe', fd, fd] });
      closeSync(fd);
      this.backends.push(child);
    }
    await until('the HTTP backends', this.timeoutMs, async () => {
      for (const n of NODES) await this.nsExec(CLIENT.name, 'curl', ['-sf', '-o', '/dev/null', '--max-time', '2', `http://${n.ip}:${BACKEND_PORT}/`]);
      return true;
    });
    this.detail(`backends: http://<node address>:${BACKEND_PORT}/ on node1-3`);
    const docs: string[] = [];
    for (const s of DEMO_SERVICES) {
      docs.push(`apiVersion: v1
kind: Service
metadata:
  name: ${s.name}
  namespace: ${DEMO_NAMESPACE}
  annotations:
    metallb.universe.tf/address-pool: ${s.pool}
spec:
  type: LoadBalancer
  selector:
    app: ${s.name}
  ports:
  - name: http
    port: ${SERVICE_PORT}
    targetPort: ${BACKEND_PORT}
    protocol: TCP
`);
      docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${s.name}-nodes
  namespace: ${DEMO_NAMESPACE}
  labels:
    kubernetes.io/service-name: ${s.name}
addressType: IPv4
ports:
- name: http
  port: ${BACKEND_PORT}
  protocol: TCP
endpoints:
${NODES.map((n) => `- addresses: ["${n.ip}"]\n  conditions:\n    ready: true\n  nodeName: ${n.name}`).join('\n')}
`);
    }
    await this.kubectl(['apply', '-f', '-'], docs.join('---\n'));
    for (const s of DEMO_SERVICES) this.detail(`Service ${DEMO_NAMESPACE}/${s.name} (annotation metallb.universe.tf/address-pool: ${s.pool}), port ${SERVICE_PORT} -> ${BACKEND_PORT}, endpoints on node1-3`);
    const addresses = await until('the controller to assign both external addresses', this.timeoutMs, async () => {
      const list = JSON.parse(await this.kubectl(['get', 'svc', '-n', DEMO_NAMESPACE, '-o', 'json'])) as { items: ServiceObject[] };
      const found = new Map<string, string>();
      for (const item of list.items) {
        const ip = item.status?.loadBalancer?.ingress?.[0]?.ip;
        if (item.metadata?.name && ip) found.set(item.metadata.name, ip);
      }
      return DEMO_SERVICES.every((s) => found.has(s.name)) ? found : undefined;
    });
    for (const [k, v] of addresses) this.serviceAddresses.set(k, v);
    // what kube-proxy (iptables mode) does on every node: service address:port -> an endpoint.
    // Here every node forwards to its own backend, so the page tells which node got the traffic.
    for (const n of NODES) {
      const rules = DEMO_SERVICES.map((s) => `  ip daddr ${addresses.get(s.name)} tcp dport ${SERVICE_PORT} dnat to ${n.ip}:${BACKEND_PORT}`).join('\n');
      const ruleset = `table ip demo_kube_proxy {\n chain prerouting {\n  type nat hook prerouting priority dstnat; policy accept;\n${rules}\n }\n}\n`;
      await this.nftApply(n.name, ruleset);
    }
    this.detail(`kube-proxy-like nftables rule on every node: <service address>:${SERVICE_PORT} -> DNAT <own address>:${BACKEND_PORT}`);
    this.ok(DEMO_SERVICES.map((s) => `${s.name} got ${addresses.get(s.name)}`).join(', '));
  }

  private async nftApply(host: string, ruleset: string): Promise<void> {
    const net = this.net;
    if (!net) throw new Error('no network');
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', net.host(host).netns, 'nft', '-f', '-'], { encoding: 'utf8' }, (err, _out, stderr) => {
        if (err) reject(new Error(`nft in ${host}: ${stderr || err.message}`));
        else resolve();
      });
      child.stdin?.end(ruleset);
    });
  }

  private address(service: string): string {
    const a = this.serviceAddresses.get(service);
    if (!a) throw new Error(`no address for ${service}`);
    return a;
  }

  private async showServices(): Promise<void> {
    this.step('The Services as `kubectl get svc` prints them');
    const out = await this.kubectl(['get', 'svc', '-n', DEMO_NAMESPACE]);
    this.detail(`$ kubectl get svc -n ${DEMO_NAMESPACE}`);
    this.detail(out.trimEnd());
    for (const s of DEMO_SERVICES) {
      const row = out.split('\n').find((l) => l.startsWith(`${s.name} `));
      if (!row || !row.includes(this.address(s.name))) this.fail(`kubectl get svc does not show ${this.address(s.name)} for ${s.name}`);
    }
    const ip = this.address('web-layer2');
    const [lo, hi] = LAYER2_RANGE.split('-').map((a) => Number(a.split('.')[3]));
    const last = Number(ip.split('.')[3]);
    if (!ip.startsWith('198.51.100.') || last < (lo ?? 0) || last > (hi ?? 0)) this.fail(`web-layer2 got ${ip}, outside pool lan (${LAYER2_RANGE})`);
    if (!this.address('web-bgp').startsWith('203.0.113.')) this.fail(`web-bgp got ${this.address('web-bgp')}, outside pool routed (${BGP_CIDR})`);
    this.ok('EXTERNAL-IP comes from pool lan for web-layer2 and from pool routed for web-bgp');
  }

  private async checkLayer2(): Promise<{ address: string; node: string }> {
    const ip = this.address('web-layer2');
    this.step(`Layer 2: which node answers ARP for ${ip} (arping from the client)`);
    const byMac = new Map(NODES.map((n) => [n.mac.toLowerCase(), n.name]));
    // until one node answers: while the speakers' memberlist is still converging, each may
    // briefly elect itself; the settled state must be exactly one answering node
    let lastSeen: string[] = [];
    const macs = await until(`exactly one node answering ARP for ${ip}`, this.timeoutMs, async () => {
      const out = await this.nsExec(CLIENT.name, 'arping', ['-c', '3', '-w', '4', '-I', 'eth0', ip], 10_000).catch((err: { stdout?: string }) => err.stdout ?? '');
      const seen = [...out.matchAll(/reply from [0-9.]+ \[([0-9A-Fa-f:]+)\]/g)].map((m) => (m[1] ?? '').toLowerCase());
      lastSeen = seen;
      return seen.length > 0 && new Set(seen).size === 1 ? { seen, out } : undefined;
    }, 500).catch((err: unknown) => this.fail(`${err instanceof Error ? err.message : String(err)}; last replies from ${lastSeen.length ? [...new Set(lastSeen)].join(', ') : 'no MAC'}`));
    this.detail(`$ arping -c 3 -I eth0 ${ip}`);
    this.detail(macs.out.trimEnd());
    const distinct = [...new Set(macs.seen)];
    if (distinct.length !== 1) this.fail(`expected exactly one node to answer, saw MACs ${distinct.join(', ')}`);
    const mac = distinct[0] ?? '';
    const node = byMac.get(mac);
    if (!node) this.fail(`the answering MAC ${mac} is not a node's`);
    const events = await this.kubectl(['get', 'events', '-n', DEMO_NAMESPACE, '--field-selector', 'involvedObject.name=web-layer2,reason=nodeAssigned', '-o', 'jsonpath={range .items[*]}{.source.host} {.message}{"\\n"}{end}']).catch(() => '');
    if (events.trim()) this.detail(`events: ${events.trim().split('\n').join('; ')}`);
    this.ok(`${ip} is answered by ${node} (MAC ${mac})`);
    return { address: ip, node };
  }

  private async checkBGP(): Promise<{ address: string; nextHops: string[] }> {
    const ip = this.address('web-bgp');
    const prefix = `${ip}/32`;
    this.step(`BGP: the router's route for ${prefix} and its next hops (vtysh JSON)`);
    const frr = this.frr;
    if (!frr) throw new Error('no router');
    const want = NODES.map((n) => n.ip).sort();
    let sessions: string[] = [];
    const route = await until(`the router to install ${prefix} via all three nodes`, this.timeoutMs, async () => {
      sessions = NODES.map((n) => `${n.name} ${frr.neighborState(n.ip) ?? 'unknown'}`);
      const routes: FRRKernelRoute[] = frr.kernelRoutes(prefix);
      const r = routes.find((x) => x.protocol === 'bgp' && x.installed);
      if (!r) return undefined;
      const hops = r.nextHops.filter((h) => h.fib).map((h) => h.ip).sort();
      return hops.length === want.length && hops.every((h, i) => h === want[i]) ? { r, hops } : undefined;
    }, 500).catch((err: unknown) => this.fail(`${err instanceof Error ? err.message : String(err)}; sessions: ${sessions.join(', ')}`));
    this.detail(`BGP sessions: ${NODES.map((n) => `${n.name} ${frr.neighborState(n.ip) ?? '?'}`).join(', ')}`);
    const paths = frr.route(prefix);
    this.detail(`$ vtysh -c 'show bgp ipv4 unicast ${prefix} json'  (paths)`);
    for (const p of paths) this.detail(`  from ${p.peer}: next hop ${p.nextHops.join(',')}, AS path "${p.asPath}", origin ${p.origin}${p.valid ? ', valid' : ''}`);
    this.detail(`$ vtysh -c 'show ip route ${prefix} json'`);
    this.detail(`  ${route.r.prefix} protocol ${route.r.protocol}, installed: ${route.r.nextHops.map((h) => `via ${h.ip} dev ${h.interfaceName}${h.fib ? ' (fib)' : ''}`).join(', ')}`);
    const kernel = await this.nsExec(ROUTER.name, 'ip', ['route', 'show', ip]);
    this.detail(`$ ip route show ${ip}   (router's kernel)`);
    this.detail(kernel.trimEnd());
    this.ok(`router route ${prefix} next hops: ${route.hops.join(', ')}`);
    return { address: ip, nextHops: route.hops };
  }

  private async checkHTTP(layer2Node: string, bgpNextHops: readonly string[]): Promise<{ layer2: string; bgp: string }> {
    this.step('Data path: curl from the client through both announced addresses');
    const curl = async (ip: string): Promise<string> =>
      until(`an HTTP answer from ${ip}`, 30_000, async () => (await this.nsExec(CLIENT.name, 'curl', ['-sS', '--max-time', '3', `http://${ip}/`])).trim(), 500);
    const l2ip = this.address('web-layer2');
    const l2 = await curl(l2ip);
    this.detail(`$ curl http://${l2ip}/`);
    this.detail(l2);
    if (!l2.includes(`served by ${layer2Node} `)) this.fail(`expected the page from ${layer2Node} (the node answering ARP), got: ${l2}`);
    const bgpIp = this.address('web-bgp');
    const bgp = await curl(bgpIp);
    this.detail(`$ curl http://${bgpIp}/   (client -> router -> one of the next hops)`);
    this.detail(bgp);
    const served = NODES.find((n) => bgp.includes(`served by ${n.name} `));
    if (!served || !bgpNextHops.includes(served.ip)) this.fail(`expected the page from one of ${bgpNextHops.join(', ')}, got: ${bgp}`);
    this.ok(`curl http://${l2ip}/ served by ${layer2Node}; curl http://${bgpIp}/ served by ${served.name}`);
    return { layer2: l2, bgp };
  }

  /** Kubeconfig path and commands to try while the demo keeps running. */
  printTryCommands(): void {
    const cp = this.controlPlane;
    const net = this.net;
    if (!net || !this.frr) return;
    const kubectl = join(cp.binDir, 'kubectl');
    const client = net.host(CLIENT.name).netns;
    const l2 = this.serviceAddresses.get('web-layer2') ?? '';
    const bgp = this.serviceAddresses.get('web-bgp') ?? '';
    this.print('');
    this.print('The demo keeps running. Kubeconfig (admin):');
    this.print(`  export KUBECONFIG=${cp.kubeconfigPath}`);
    this.print('Commands to try (as root, in another terminal):');
    this.print(`  ${kubectl} --kubeconfig ${cp.kubeconfigPath} get svc -n ${DEMO_NAMESPACE}`);
    this.print(`  ${kubectl} --kubeconfig ${cp.kubeconfigPath} get events -n ${DEMO_NAMESPACE}`);
    this.print(`  ${kubectl} --kubeconfig ${cp.kubeconfigPath} edit configmap config -n ${METALLB_NAMESPACE}`);
    this.print(`  ip netns exec ${client} curl -s http://${l2}/`);
    this.print(`  ip netns exec ${client} curl -s http://${bgp}/`);
    this.print(`  ip netns exec ${client} arping -c 3 -I eth0 ${l2}`);
    this.print(`  vtysh --vty_socket ${this.frr.dir} -c 'show bgp ipv4 unicast' -c 'show ip route bgp'`);
    this.print(`  kill -STOP ${[...this.speakers.entries()].map(([n, c]) => `${c.pid} (${n})`).join(' | ')}   # freeze a speaker, arping again: another node takes over; kill -CONT to resume`);
    this.print(`  tail -f ${join(this.dir ?? '', '*.log')}`);
    this.print('Press Ctrl-C to stop: every namespace, process and temporary file is removed.');
  }

  /** Log tails of the controller and the speakers (printed after a failure). */
  logTails(): string {
    if (!this.dir) return '';
    const parts: string[] = [];
    for (const name of ['controller', ...NODES.map((n) => `speaker-${n.name}`)]) {
      if (existsSync(this.logPath(name))) parts.push(`--- ${name} (${this.logPath(name)})`, tail(this.logPath(name)));
    }
    if (this.frr) parts.push('--- router bgpd', this.frr.log().trimEnd().split('\n').slice(-10).join('\n'));
    return parts.join('\n');
  }

  /** Orderly stop: speakers and controller (SIGTERM), router, network, control plane, files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const procs = [...this.speakers.values(), ...this.backends, ...(this.controller ? [this.controller] : [])];
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => waitExit(p, 5_000)));
    await this.frr?.stop().catch(() => undefined);
    this.net?.destroy();
    this.frr?.cleanup();
    await this.cp?.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Last-resort synchronous cleanup (signal handlers): kills everything, removes namespaces and files. */
  destroySync(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.controller && this.controller.exitCode === null) this.controller.kill('SIGKILL');
    this.net?.destroy();
    this.frr?.cleanup();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    // the control plane's own exit hook kills etcd, kube-apiserver and the relays on process exit
  }
}
