// bench/controller: the controller binary against a real kube-apiserver + etcd on loopback.
//   npm run bench -- controller [counts...]      (default: 1000 5000)
// For each count N, on a fresh control plane: start the controller (controller ServiceAccount
// token, as deployed), create N LoadBalancer Services in a burst, and measure
//  - time from the first create to the moment every Service has an address (seen by a watch),
//  - Services/s end to end,
//  - API requests the controller made per Service, from the API server's own audit log (policy:
//    only the controller's user, one record per completed request), writes separately,
//  - the controller's peak RSS (VmHWM) and event-loop lag p99 (its own /metrics).
// Services are IPv6 single-stack (cluster IPs from the harness's /112) and the pool is
// 2001:db8:1::/112, so thousands of Services fit in documentation ranges.
// Reference: upstream's client-go default client-side limit (5 requests/s, burst 10) with its
// 2 writes per Service (status update + event) allows at most 2.5 Services/s; that figure is
// computed, not measured.

import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync, closeSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from '../test/support/sandbox/controlplane.js';
import { KubeClient, loadKubeConfig, Informer, type Service } from '../lib/k8s/index.js';
import { silentLogger } from '../lib/util/log.js';
import { FigureLog } from './lib/figures.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const NS = 'metallb-system';
const CONTROLLER_USER = `system:serviceaccount:${NS}:controller`;
const UPSTREAM_SERVICES_PER_S = 5 / 2;

const log = new FigureLog('controller');

const AUDIT_POLICY = JSON.stringify({
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived', 'ResponseStarted'],
  rules: [
    { level: 'Metadata', users: [CONTROLLER_USER] },
    { level: 'None' },
  ],
});

interface AuditRecord {
  verb: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string };
}

function readAudit(path: string): AuditRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord)
    .filter((r) => r.user?.username === CONTROLLER_USER);
}

/**
 * An idle Node.js process measuring its own event-loop delay: on a shared machine the scheduling
 * delay every process sees is the floor under the controller's figure (reported as reference).
 */
function startLagProbe(): { stop(): Promise<number> } {
  const script = `const {monitorEventLoopDelay}=require('node:perf_hooks');const h=monitorEventLoopDelay({resolution:10});h.enable();` +
    `process.on('SIGTERM',()=>{h.disable();process.stdout.write(String(h.percentile(99)/1e9));process.exit(0)});setInterval(()=>{},1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return { stop: async () => { child.kill('SIGTERM'); await exited; return Number(out); } };
}

/** Waits until the controller's audit record count has not grown for 2 s. */
async function settle(path: string): Promise<void> {
  let last = -1;
  for (;;) {
    const n = readAudit(path).length;
    if (n === last) return;
    last = n;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

async function runCase(count: number): Promise<void> {
  const auditPolicyDir = `/tmp/metallb-ts-bench-${process.pid}-${count}`;
  // The audit policy must exist before the API server starts.
  writeFileSync(`${auditPolicyDir}-policy.json`, AUDIT_POLICY);
  const cp: ControlPlane = await startControlPlane({
    dirPrefix: 'metallb-ts-bench-ctl-',
    extraApiServerFlags: [`--audit-policy-file=${auditPolicyDir}-policy.json`, `--audit-log-path=${auditPolicyDir}-audit.log`, '--audit-log-format=json', '--audit-log-maxbackup=0'],
  });
  const auditPath = `${auditPolicyDir}-audit.log`;
  let controllerPid = 0;
  let stopController: (() => Promise<void>) | undefined;
  const admin = await KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath), 64);
  try {
    await cp.kubectl(['apply', '-f', join(root, 'manifests', 'namespace.yaml'), '-f', join(root, 'manifests', 'metallb.yaml')]);
    await cp.kubectl(['create', 'namespace', 'bench']);
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: NS }, data: { config: 'address-pools:\n- name: bench\n  protocol: layer2\n  addresses:\n  - 2001:db8:1::/112\n' } };
    await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(cm) });
    const saKubeconfig = await cp.serviceAccountKubeconfig(NS, 'controller');
    let logSeq = 0;
    const startController = async (): Promise<number> => {
      const logPath = join(cp.dir, `controller-${logSeq++}.log`);
      const logFd = openSync(logPath, 'w');
      const nodeArgs = (process.env.BENCH_CONTROLLER_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist', 'bin', 'controller.js'), `--kubeconfig=${saKubeconfig}`, '--port=0', '--log-level=info'], {
        env: { ...process.env, METALLB_NAMESPACE: NS, METALLB_ML_SECRET_NAME: 'memberlist', METALLB_DEPLOYMENT: 'controller' },
        stdio: ['ignore', logFd, 'inherit'],
      });
      closeSync(logFd);
      controllerPid = child.pid ?? 0;
      const exited = new Promise<void>((r) => child.on('exit', () => r()));
      stopController = async () => { child.kill('SIGTERM'); await exited; stopController = undefined; };
      // Wait until the controller serves metrics and has loaded the config.
      let metricsPort = 0;
      for (let i = 0; i < 600 && metricsPort === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const m = /"port":(\d+),"msg":"serving \/metrics"/.exec(readFileSync(logPath, 'utf8'));
        if (m) metricsPort = Number(m[1]);
      }
      if (!metricsPort) throw new Error('controller did not start');
      return metricsPort;
    };
    const controllerStart = performance.now();
    const port = await startController();
    for (let i = 0; i < 600 && (await metricValue(port, 'metallb_k8s_client_config_loaded_bool')) !== 1; i++) await new Promise((r) => setTimeout(r, 100));
    void controllerStart;

    // Watch Services to see when all have an address.
    const watcher = await KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath), 4);
    const watchAssigned = async (namespace: string, n: number): Promise<{ informer: Informer<Service>; all: Promise<number> }> => {
      const informer = new Informer<Service>(watcher, { name: namespace, path: `/api/v1/namespaces/${namespace}/services` }, silentLogger());
      const assigned = new Set<string>();
      let resolveAll!: (t: number) => void;
      const all = new Promise<number>((r) => { resolveAll = r; });
      const check = (svc: Service): void => {
        if ((svc.status?.loadBalancer?.ingress ?? []).some((i) => i.ip)) assigned.add(svc.metadata?.name ?? '');
        if (assigned.size === n) resolveAll(performance.now());
      };
      informer.on({ add: check, update: (_o, svc) => check(svc) });
      informer.start();
      await informer.synced();
      return { informer, all };
    };
    const burst = await watchAssigned('bench', count);
    const auditBefore = readAudit(auditPath).length;

    // The burst: N creates, 64 in flight.
    const createAll = async (namespace: string): Promise<void> => {
      let next = 0;
      const createOne = async (i: number): Promise<void> => {
        const body = {
          apiVersion: 'v1', kind: 'Service',
          metadata: { name: `svc-${i}`, namespace },
          spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack', selector: { app: `a${i}` }, ports: [{ port: 80, protocol: 'TCP' }] },
        };
        await admin.request('POST', `/api/v1/namespaces/${namespace}/services`, { body });
      };
      await Promise.all(Array.from({ length: 64 }, async () => {
        while (next < count) await createOne(next++);
      }));
    };
    const probe1 = startLagProbe();
    const t0 = performance.now();
    await createAll('bench');
    const createdAt = performance.now();
    const doneAt = await burst.all;
    const seconds = (doneAt - t0) / 1000;
    // Let trailing requests (events) finish, then count.
    await settle(auditPath);
    const audit = readAudit(auditPath).slice(auditBefore);
    const writes = audit.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
    const statusWrites = audit.filter((r) => r.verb === 'update' && r.objectRef?.resource === 'services' && r.objectRef?.subresource === 'status').length;
    const eventWrites = audit.filter((r) => r.objectRef?.resource === 'events').length;
    const rss = peakRssBytes(controllerPid);
    const lagP99 = await metricValue(port, 'nodejs_eventloop_lag_p99_seconds');
    const idleLag1 = await probe1.stop();
    const sps = count / seconds;
    const label = `${count}-services`;
    log.add({ case: label, metric: 'time_to_all_assigned', value: +seconds.toFixed(3), unit: 's' },
      `controller ${label}: all ${count} Services assigned ${seconds.toFixed(2)} s after the first create (creates took ${((createdAt - t0) / 1000).toFixed(2)} s)`);
    log.add({ case: label, metric: 'api_server_creates_per_s', value: Math.round(count / ((createdAt - t0) / 1000)), unit: '1/s', note: 'how fast the API server accepted the creates: the ceiling of the end-to-end rate' },
      `controller ${label}: the API server accepted ${(count / ((createdAt - t0) / 1000)).toFixed(0)} creates/s (ceiling of the end-to-end rate)`);
    log.add({ case: label, metric: 'services_per_s', value: Math.round(sps), unit: '1/s', reference: UPSTREAM_SERVICES_PER_S, ratio: +(sps / UPSTREAM_SERVICES_PER_S).toFixed(1), note: 'reference computed: client-go default 5 requests/s over 2 writes per Service' },
      `controller ${label}: ${sps.toFixed(0)} Services/s end to end (upstream's client-side limit allows at most ${UPSTREAM_SERVICES_PER_S}/s)`);
    log.add({ case: label, metric: 'api_requests_per_service', value: +(audit.length / count).toFixed(3), unit: 'requests' },
      `controller ${label}: ${(audit.length / count).toFixed(3)} API requests per Service (${audit.length} in total, from the API server's audit log)`);
    log.add({ case: label, metric: 'api_writes_per_service', value: +(writes / count).toFixed(3), unit: 'requests' },
      `controller ${label}: ${(writes / count).toFixed(3)} API writes per Service (${statusWrites} status updates, ${eventWrites} event writes)`);
    log.add({ case: label, metric: 'peak_rss', value: +(rss / 1048576).toFixed(1), unit: 'MB' },
      `controller ${label}: peak RSS ${(rss / 1048576).toFixed(1)} MB`);
    log.add({ case: label, metric: 'event_loop_lag_p99', value: +(lagP99 * 1000).toFixed(1), unit: 'ms', reference: +(idleLag1 * 1000).toFixed(1), ratio: +(lagP99 / idleLag1).toFixed(2), note: 'reference: an idle Node.js process on the same machine meanwhile' },
      `controller ${label}: event-loop lag p99 ${(lagP99 * 1000).toFixed(1)} ms (an idle Node.js process meanwhile: ${(idleLag1 * 1000).toFixed(1)} ms)`);
    await burst.informer.stop();

    // Backlog: the controller is down while N more Services are created; time from its start to
    // all of them assigned (the controller's own pace, not the API server's create rate).
    await stopController?.();
    await cp.kubectl(['create', 'namespace', 'backlog']);
    await createAll('backlog');
    const backlog = await watchAssigned('backlog', count);
    const auditBefore2 = readAudit(auditPath).length;
    const probe2 = startLagProbe();
    const t1 = performance.now();
    const port2 = await startController();
    const done2 = await backlog.all;
    const seconds2 = (done2 - t1) / 1000;
    await settle(auditPath);
    const audit2 = readAudit(auditPath).slice(auditBefore2);
    const writes2 = audit2.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
    const rss2 = peakRssBytes(controllerPid);
    const lag2 = await metricValue(port2, 'nodejs_eventloop_lag_p99_seconds');
    const idleLag2 = await probe2.stop();
    const label2 = `${count}-pending-at-start`;
    log.add({ case: label2, metric: 'time_to_all_assigned', value: +seconds2.toFixed(3), unit: 's' },
      `controller ${label2}: ${count} pending Services (of ${2 * count}) assigned ${seconds2.toFixed(2)} s after the controller started`);
    log.add({ case: label2, metric: 'services_per_s', value: Math.round(count / seconds2), unit: '1/s', reference: UPSTREAM_SERVICES_PER_S, ratio: +((count / seconds2) / UPSTREAM_SERVICES_PER_S).toFixed(1), note: 'reference computed: client-go default 5 requests/s over 2 writes per Service' },
      `controller ${label2}: ${(count / seconds2).toFixed(0)} Services/s from start (incl. list and sync)`);
    log.add({ case: label2, metric: 'api_writes_per_service', value: +(writes2 / count).toFixed(3), unit: 'requests' },
      `controller ${label2}: ${(writes2 / count).toFixed(3)} API writes per new Service (${audit2.length} requests in total; the ${count} already assigned cost none)`);
    log.add({ case: label2, metric: 'peak_rss', value: +(rss2 / 1048576).toFixed(1), unit: 'MB' },
      `controller ${label2}: peak RSS ${(rss2 / 1048576).toFixed(1)} MB with ${2 * count} Services cached`);
    log.add({ case: label2, metric: 'event_loop_lag_p99', value: +(lag2 * 1000).toFixed(1), unit: 'ms', reference: +(idleLag2 * 1000).toFixed(1), ratio: +(lag2 / idleLag2).toFixed(2), note: 'reference: an idle Node.js process on the same machine meanwhile' },
      `controller ${label2}: event-loop lag p99 ${(lag2 * 1000).toFixed(1)} ms (an idle Node.js process meanwhile: ${(idleLag2 * 1000).toFixed(1)} ms)`);
    await backlog.informer.stop();
    watcher.close();
  } finally {
    await stopController?.();
    admin.close();
    await cp.stop();
    for (const f of [`${auditPolicyDir}-policy.json`, auditPath]) {
      rmSync(f, { force: true });
    }
  }
}

const counts = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
for (const n of counts.length ? counts : [1000, 5000]) await runCase(n);
log.printJSON();
