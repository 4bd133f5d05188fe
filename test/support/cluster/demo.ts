// The demo on real pods (`npm run demo`, entry ./demo-main.ts): a 3-node cluster (./cluster.ts),
// metallb-ts installed with `kubectl apply` of the unchanged manifests and the README-way
// ConfigMap, a backend Deployment and two LoadBalancer Services (layer2 and bgp), then the checks:
// which node answers ARP, the router's BGP paths, curl from the client through both addresses.
import { startCluster, type Cluster } from './cluster.js';
import {
  CLUSTER_CONFIG, NS, arpMacs, createConfig, createService, curl, deployBackend, install, nodeOfMac, routerNextHops, until, waitInstalled,
} from './metallb.js';

export const DEMO_NAMESPACE = 'demo';

export class DemoStepError extends Error {
  constructor(readonly step: string, message: string) {
    super(`${step}: ${message}`);
    this.name = 'DemoStepError';
  }
}

export interface ClusterDemoResult {
  readonly layer2Address: string;
  readonly layer2Node: string;
  readonly bgpAddress: string;
  readonly bgpNextHops: readonly string[];
}

export class ClusterDemo {
  cluster?: Cluster;
  private stepNo = 0;
  private current = 'start';
  private stepStart = Date.now();
  private readonly total = 8;
  readonly stepTimings: { step: number; title: string; ms: number }[] = [];

  constructor(private readonly print: (l: string) => void = (l) => process.stdout.write(`${l}\n`), private readonly timeoutMs = 180_000) {}

  private step(title: string): void {
    if (this.stepNo > 0) this.stepTimings.push({ step: this.stepNo, title: this.current, ms: Date.now() - this.stepStart });
    this.stepNo++;
    this.current = title;
    this.stepStart = Date.now();
    this.print('');
    this.print(`[${this.stepNo}/${this.total}] ${title}`);
  }

  private detail(text: string): void {
    for (const l of text.trimEnd().split('\n')) this.print(`    ${l}`);
  }

  private ok(text: string): void {
    this.print(`    ok: ${text} (${((Date.now() - this.stepStart) / 1000).toFixed(1)} s)`);
  }

  private get c(): Cluster {
    if (!this.cluster) throw new Error('no cluster');
    return this.cluster;
  }

  private until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, stepMs = 500): Promise<T> {
    return until(what, this.timeoutMs, probe, stepMs);
  }

  async run(): Promise<ClusterDemoResult> {
    try {
      return await this.steps();
    } catch (err) {
      if (err instanceof DemoStepError) throw err;
      throw new DemoStepError(this.current, err instanceof Error ? err.message : String(err));
    }
  }

  private async steps(): Promise<ClusterDemoResult> {
    this.step('Starting a 3-node cluster: control plane, per node containerd + kubelet + kube-proxy in its own network namespace, FRR router, client');
    this.cluster = await startCluster({ readyTimeoutMs: this.timeoutMs });
    const c = this.cluster;
    this.detail(`run directory ${c.dir} (logs of every daemon; removed at the end)`);
    for (const n of c.nodes) this.detail(`${n.name.padEnd(7)} ${n.ip.padEnd(15)} ${n.mac}  netns ${n.netns}  pods ${n.podCIDR}`);
    this.detail(`router  ${c.router.ip.padEnd(15)} ${c.router.mac}  netns ${c.router.netns}  (FRR bgpd + zebra, AS 64500)`);
    this.detail(`client  ${c.client.ip.padEnd(15)} ${c.client.mac}  netns ${c.client.netns}`);
    this.detail((await c.kubectl(['get', 'nodes', '-o', 'wide'])).stdout);
    this.ok(`cluster up; images ${Object.values(c.images).map((i) => i.name).join(', ')} loaded`);

    this.step('kubectl apply -f manifests/namespace.yaml -f manifests/metallb.yaml');
    await install(c, 'manifests');
    this.ok('applied');

    this.step('kubectl create configmap config -n metallb-system --from-file=config=my-config.yaml');
    this.detail(CLUSTER_CONFIG);
    await createConfig(c);
    this.ok('ConfigMap "config" created');

    this.step('Waiting for the controller and a speaker per node (real pods), then kubectl get pods -n metallb-system -o wide');
    await waitInstalled(c, this.timeoutMs);
    this.detail((await c.kubectl(['get', 'pods', '-n', NS, '-o', 'wide'])).stdout);
    this.ok('controller Running, one speaker Running per node');

    this.step('A backend Deployment (one pod per node) and two LoadBalancer Services: web-layer2 (pool lan), web-bgp (pool routed)');
    await deployBackend(c, DEMO_NAMESPACE, 'web');
    const l2 = await createService(c, DEMO_NAMESPACE, 'web-layer2', 'web', 'lan');
    const bgp = await createService(c, DEMO_NAMESPACE, 'web-bgp', 'web', 'routed');
    this.detail((await c.kubectl(['get', 'pods', '-n', DEMO_NAMESPACE, '-o', 'wide'])).stdout);
    this.detail((await c.kubectl(['get', 'svc', '-n', DEMO_NAMESPACE])).stdout);
    this.ok(`addresses ${l2} and ${bgp} assigned`);

    this.step(`arping ${l2} from the client`);
    const macs = await this.until('an ARP answer', () => { const m = arpMacs(c, l2); return m.length ? m : undefined; });
    if (macs.length !== 1) throw new DemoStepError(this.current, `several MACs answer: ${macs.join(', ')}`);
    const node = nodeOfMac(c, macs[0] ?? '') ?? '';
    if (!node) throw new DemoStepError(this.current, `MAC ${macs[0]} is no node's`);
    this.ok(`${l2} is answered by ${node} (MAC ${macs[0]})`);

    this.step(`The router's BGP paths for ${bgp}/32`);
    const want = c.nodes.map((n) => n.ip).sort().join(', ');
    const hops = await this.until('a path via every node', () => { const h = routerNextHops(c, bgp); return h.join(', ') === want ? h : undefined; });
    this.detail(c.router.frr.vtysh(`show ip route ${bgp}/32`));
    this.ok(`router route ${bgp}/32 next hops: ${hops.join(', ')}`);

    this.step('curl from the client through both addresses');
    const p1 = await this.until(`HTTP via ${l2}`, () => curl(c, l2));
    const p2 = await this.until(`HTTP via ${bgp}`, () => curl(c, bgp));
    this.ok(`curl http://${l2}/ -> "${p1.trim()}"; curl http://${bgp}/ -> "${p2.trim()}"`);
    this.stepTimings.push({ step: this.stepNo, title: this.current, ms: Date.now() - this.stepStart });
    return { layer2Address: l2, layer2Node: node, bgpAddress: bgp, bgpNextHops: hops };
  }

  printTryCommands(): void {
    const c = this.c;
    this.print('');
    this.print('The cluster keeps running. Try, in another shell (as root):');
    this.print(`  export KUBECONFIG=${c.kubeconfigPath}`);
    this.print('  kubectl get pods -A -o wide');
    this.print(`  kubectl get svc -n ${DEMO_NAMESPACE}`);
    this.print(`  ip netns exec ${c.client.netns} arping -c 3 -I eth0 198.51.100.200`);
    this.print(`  ip netns exec ${c.client.netns} curl -s http://198.51.100.200/`);
    this.print(`  vtysh --vty_socket ${c.router.frr.dir} -c 'show ip route'`);
    this.print('Press Ctrl-C to stop: every namespace, process, mount and cgroup is removed.');
  }

  async stop(): Promise<void> {
    await this.cluster?.stop();
  }
}
