// bench/controller: the controller binary against a real kube-apiserver + etcd on loopback.
//   npm run bench -- controller [counts...]      (default: 1000 5000)
//   npm run bench -- controller 50000 --no-upstream --burst-only --save-as controller-50k
// For each count N, on a fresh control plane: start the controller (controller ServiceAccount
// token, as deployed), create N LoadBalancer Services in a burst, and measure
//  - time from the first create to the moment every Service has an address (seen by a watch),
//  - Services/s end to end,
//  - API requests the controller made per Service, from the API server's own audit log (policy:
//    only the controller's user, one record per completed request), writes separately,
//  - the controller's peak RSS (VmHWM) and event-loop lag p99 (its own /metrics).
// Services are IPv6 single-stack (cluster IPs from the harness's /112) and the pool is
// 2001:db8:1::/112, so thousands of Services fit in documentation ranges.
// References, measured in the same run:
//  - upstream MetalLB v0.12.1's controller binary (built from the Go module by
//    scripts/upstream-binaries.sh) at its default settings, on a fresh control plane with the same
//    manifests, config, burst and backlog. Its client-go client allows 5 requests/s (burst 10), so
//    it is timed for at most --upstream-cap seconds (default 60) per phase and its rate is the
//    Services it assigned in that time over that time;
//  - the API server's ceiling: a plain loop writing status.loadBalancer of N already created
//    Services (PUT …/status with the listed resourceVersion, 32 in flight as the controller's
//    client), on each control plane after its controller stopped. Our fraction of it is reported.

import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync, closeSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from '../test/support/sandbox/controlplane.js';
import { KubeClient, loadKubeConfig, Informer, type Service } from '../lib/k8s/index.js';
import { silentLogger } from '../lib/util/log.js';
import { FigureLog } from './lib/figures.js';
import { upstreamBinary } from './lib/refs.js';
import { writeLoadBalancerStatus } from '../lib/k8s/service-status.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const NS = 'metallb-system';
const CONTROLLER_USER = `system:serviceaccount:${NS}:controller`;
const args = process.argv.slice(2);
const capAt = args.indexOf('--upstream-cap');
const UPSTREAM_CAP_S = capAt >= 0 ? Number(args[capAt + 1]) : 60;
/** `--burst-only`: only the burst phase (for counts too large for three namespaces of Services). */
const BURST_ONLY = args.includes('--burst-only');
type Impl = 'ours' | 'upstream';
interface CaseResult { createsPerS: number; burstPerS: number; backlogPerS: number; ceilingPerS: number; writesPerService: number; backlogWritesPerService: number; rssMB: number; assignedBurst: number; assignedBacklog: number }

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

async function runCase(count: number, impl: Impl): Promise<CaseResult> {
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
      const port0 = 17472 + logSeq;
      const [cmd, cmdArgs] = impl === 'ours'
        ? [process.execPath, [...nodeArgs, join(root, 'dist', 'bin', 'controller.js'), `--kubeconfig=${saKubeconfig}`, '--port=0', '--log-level=info']]
        : [upstreamBinary('controller'), [`--kubeconfig=${saKubeconfig}`, `--port=${port0}`, '--log-level=info']];
      const child = spawn(cmd, cmdArgs, {
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
        if (impl === 'upstream') {
          if (await fetch(`http://127.0.0.1:${port0}/metrics`).then((r) => r.ok, () => false)) metricsPort = port0;
          continue;
        }
        const m = /"port":(\d+),"msg":"serving \/metrics"/.exec(readFileSync(logPath, 'utf8'));
        if (m) metricsPort = Number(m[1]);
      }
      if (!metricsPort) throw new Error('controller did not start');
      return metricsPort;
    };
    const controllerStart = performance.now();
    const port = await startController();
    for (let i = 0; i < 600 && (await metricValue(port, 'metallb_k8s_client_config_loaded_bool')) !== 1; i++) await new Promise((r) => setTimeout(r, 100));
    const capMs = impl === 'upstream' ? UPSTREAM_CAP_S * 1000 : Infinity;
    void controllerStart;

    // Watch Services to see when all have an address.
    const watcher = await KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath), 4);
    const watchAssigned = async (namespace: string, n: number): Promise<{ informer: Informer<Service>; all: Promise<number>; count(): number }> => {
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
      return { informer, all, count: () => assigned.size };
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
    const probe1 = impl === 'ours' ? startLagProbe() : undefined;
    const t0 = performance.now();
    await createAll('bench');
    const createdAt = performance.now();
    const [doneAt, assignedBurst] = await allOrCap(burst, t0, capMs, count);
    const seconds = (doneAt - t0) / 1000;
    const rss = peakRssBytes(controllerPid);
    // At the cap (upstream), stop the controller so that its remaining work does not count.
    if (assignedBurst < count) await stopController?.();
    // Let trailing requests (events) finish, then count.
    await settle(auditPath);
    const audit = readAudit(auditPath).slice(auditBefore);
    const writes = audit.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
    const statusWrites = audit.filter((r) => r.verb === 'update' && r.objectRef?.resource === 'services' && r.objectRef?.subresource === 'status').length;
    const eventWrites = audit.filter((r) => r.objectRef?.resource === 'events').length;
    const label = `${impl}-${count}-services`;
    const sps = assignedBurst / seconds;
    const capped = assignedBurst < count ? ` (stopped at the ${UPSTREAM_CAP_S} s cap with ${assignedBurst} assigned)` : '';
    log.add({ case: label, metric: 'time_to_all_assigned', value: +seconds.toFixed(3), unit: 's', note: capped || undefined },
      `controller ${label}: ${assignedBurst} of ${count} Services assigned ${seconds.toFixed(2)} s after the first create${capped} (creates took ${((createdAt - t0) / 1000).toFixed(2)} s)`);
    log.add({ case: label, metric: 'api_server_creates_per_s', value: Math.round(count / ((createdAt - t0) / 1000)), unit: '1/s', note: 'how fast the API server accepted the creates: the ceiling of the end-to-end rate in a burst' },
      `controller ${label}: the API server accepted ${(count / ((createdAt - t0) / 1000)).toFixed(0)} creates/s (ceiling of the end-to-end rate)`);
    log.add({ case: label, metric: 'services_per_s', value: +sps.toFixed(2), unit: '1/s' },
      `controller ${label}: ${sps.toFixed(1)} Services/s end to end`);
    log.add({ case: label, metric: 'api_requests_per_service', value: +(audit.length / assignedBurst).toFixed(3), unit: 'requests' },
      `controller ${label}: ${(audit.length / assignedBurst).toFixed(3)} API requests per Service assigned (${audit.length} in total, from the API server's audit log)`);
    log.add({ case: label, metric: 'api_writes_per_service', value: +(writes / assignedBurst).toFixed(3), unit: 'requests' },
      `controller ${label}: ${(writes / assignedBurst).toFixed(3)} API writes per Service assigned (${statusWrites} status updates, ${eventWrites} event writes)`);
    log.add({ case: label, metric: 'peak_rss', value: +(rss / 1048576).toFixed(1), unit: 'MB' },
      `controller ${label}: peak RSS ${(rss / 1048576).toFixed(1)} MB`);
    if (probe1) {
      const lagP99 = await metricValue(port, 'nodejs_eventloop_lag_p99_seconds');
      const idleLag1 = await probe1.stop();
      log.add({ case: label, metric: 'event_loop_lag_p99', value: +(lagP99 * 1000).toFixed(1), unit: 'ms', reference: +(idleLag1 * 1000).toFixed(1), ratio: +(lagP99 / idleLag1).toFixed(2), reference_kind: 'measured', reference_impl: 'idle Node.js process', note: 'reference: an idle Node.js process on the same machine meanwhile' },
        `controller ${label}: event-loop lag p99 ${(lagP99 * 1000).toFixed(1)} ms (an idle Node.js process meanwhile: ${(idleLag1 * 1000).toFixed(1)} ms)`);
    }
    await burst.informer.stop();
    if (BURST_ONLY) {
      // One large burst (say 50,000): three namespaces of that size would not fit the harness's
      // Service range or the pool, so the backlog and ceiling phases are left out.
      watcher.close();
      log.add({ case: label, metric: 'time_to_all_assigned_vs_creates', value: +seconds.toFixed(1), unit: 's', reference: +((createdAt - t0) / 1000).toFixed(1), ratio: +(seconds / ((createdAt - t0) / 1000)).toFixed(3), reference_kind: 'measured', reference_impl: 'time the API server took to accept the creates', readme: `${count} created in a burst: first create → all assigned (reference: first create → last create accepted)` });
      return { createsPerS: count / ((createdAt - t0) / 1000), burstPerS: sps, backlogPerS: NaN, ceilingPerS: NaN, writesPerService: writes / assignedBurst, backlogWritesPerService: NaN, rssMB: rss / 1048576, assignedBurst, assignedBacklog: NaN };
    }

    // Backlog: the controller is down while N more Services are created; time from its start to
    // all of them assigned (the controller's own pace, not the API server's create rate).
    await stopController?.();
    await cp.kubectl(['create', 'namespace', 'backlog']);
    await createAll('backlog');
    const backlog = await watchAssigned('backlog', count);
    const auditBefore2 = readAudit(auditPath).length;
    const probe2 = impl === 'ours' ? startLagProbe() : undefined;
    const t1 = performance.now();
    const port2 = await startController();
    const [done2, assignedBacklog] = await allOrCap(backlog, t1, capMs, count);
    const seconds2 = (done2 - t1) / 1000;
    const rss2 = peakRssBytes(controllerPid);
    const lag2 = probe2 ? await metricValue(port2, 'nodejs_eventloop_lag_p99_seconds') : NaN;
    if (assignedBacklog < count) await stopController?.();
    await settle(auditPath);
    const audit2 = readAudit(auditPath).slice(auditBefore2);
    const writes2 = audit2.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
    const label2 = `${impl}-${count}-pending-at-start`;
    const capped2 = assignedBacklog < count ? ` (stopped at the ${UPSTREAM_CAP_S} s cap)` : '';
    log.add({ case: label2, metric: 'time_to_all_assigned', value: +seconds2.toFixed(3), unit: 's', note: capped2 || undefined },
      `controller ${label2}: ${assignedBacklog} of ${count} pending Services (of ${2 * count}) assigned ${seconds2.toFixed(2)} s after the controller started${capped2}`);
    log.add({ case: label2, metric: 'services_per_s', value: +(assignedBacklog / seconds2).toFixed(2), unit: '1/s' },
      `controller ${label2}: ${(assignedBacklog / seconds2).toFixed(1)} Services/s from start (incl. list and sync)`);
    log.add({ case: label2, metric: 'api_writes_per_service', value: +(writes2 / assignedBacklog).toFixed(3), unit: 'requests' },
      `controller ${label2}: ${(writes2 / assignedBacklog).toFixed(3)} API writes per new Service (${audit2.length} requests in total; the ${count} already assigned cost none)`);
    log.add({ case: label2, metric: 'peak_rss', value: +(rss2 / 1048576).toFixed(1), unit: 'MB' },
      `controller ${label2}: peak RSS ${(rss2 / 1048576).toFixed(1)} MB with ${2 * count} Services cached`);
    if (probe2) {
      const idleLag2 = await probe2.stop();
      log.add({ case: label2, metric: 'event_loop_lag_p99', value: +(lag2 * 1000).toFixed(1), unit: 'ms', reference: +(idleLag2 * 1000).toFixed(1), ratio: +(lag2 / idleLag2).toFixed(2), reference_kind: 'measured', reference_impl: 'idle Node.js process', note: 'reference: an idle Node.js process on the same machine meanwhile' },
        `controller ${label2}: event-loop lag p99 ${(lag2 * 1000).toFixed(1)} ms (an idle Node.js process meanwhile: ${(idleLag2 * 1000).toFixed(1)} ms)`);
    }
    await backlog.informer.stop();
    watcher.close();

    // The API server's ceiling on this control plane: a plain status-write loop, no controller.
    await stopController?.();
    await cp.kubectl(['create', 'namespace', 'ceiling']);
    await createAll('ceiling');
    const ceiling = await statusWriteCeiling(admin, 'ceiling', count);
    log.add({ case: `${impl}-${count}-ceiling`, metric: 'status_writes_per_s', value: +ceiling.toFixed(1), unit: '1/s', note: 'a plain loop of status writes (32 in flight) on this control plane after the controller stopped' },
      `API server ceiling (${impl}'s control plane): ${ceiling.toFixed(0)} status writes/s in a plain loop over ${count} Services`);
    return {
      createsPerS: count / ((createdAt - t0) / 1000), burstPerS: sps, backlogPerS: assignedBacklog / seconds2, ceilingPerS: ceiling, writesPerService: writes / assignedBurst,
      backlogWritesPerService: writes2 / assignedBacklog, rssMB: Math.max(rss, rss2) / 1048576, assignedBurst, assignedBacklog,
    };
  } finally {
    await stopController?.();
    admin.close();
    await cp.stop();
    for (const f of [`${auditPolicyDir}-policy.json`, auditPath]) {
      rmSync(f, { force: true });
    }
  }
}

/** Waits for all Services assigned or the cap; returns [time of the last observation, assigned]. */
async function allOrCap(w: { all: Promise<number>; count(): number }, t0: number, capMs: number, n: number): Promise<[number, number]> {
  if (capMs === Infinity) return [await w.all, n];
  const remaining = t0 + capMs - performance.now();
  const r = await Promise.race([w.all, new Promise<undefined>((res) => setTimeout(res, Math.max(0, remaining), undefined))]);
  return r === undefined ? [performance.now(), w.count()] : [r, n];
}

/** Lists the namespace's Services and writes each one's status (an address), 32 in flight: writes/s. */
async function statusWriteCeiling(client: KubeClient, namespace: string, n: number): Promise<number> {
  const list = (await client.request<{ items: Service[] }>('GET', `/api/v1/namespaces/${namespace}/services`)).body?.items ?? [];
  if (list.length !== n) throw new Error(`ceiling: listed ${list.length} Services, expected ${n}`);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < list.length) {
      const i = next++;
      await writeLoadBalancerStatus(client, list[i], [`2001:db8:2::${(i + 1).toString(16)}`]);
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

const counts = args.map(Number).filter((n, i) => Number.isInteger(n) && n > 0 && args[i - 1] !== '--upstream-cap');
const impls: Impl[] = args.includes('--no-upstream') ? ['ours'] : ['ours', 'upstream'];
for (const n of counts.length ? counts : [1000, 5000]) {
  const r: Partial<Record<Impl, CaseResult>> = {};
  for (const impl of impls) r[impl] = await runCase(n, impl);
  const o = r.ours!;
  if (!BURST_ONLY) log.add({ case: `${n}-pending-at-start`, metric: 'fraction_of_api_ceiling', value: +(o.backlogPerS / o.ceilingPerS).toFixed(3), unit: 'ratio', reference: +o.ceilingPerS.toFixed(1), reference_kind: 'measured', reference_impl: 'plain status-write loop', readme: `${n} pending at start: our Services/s as a fraction of the API server's status-write ceiling` },
    `controller ${n}-pending-at-start: ours ${o.backlogPerS.toFixed(0)} Services/s = ${(o.backlogPerS / o.ceilingPerS).toFixed(2)} of the plain status-write ceiling ${o.ceilingPerS.toFixed(0)}/s`);
  log.add({ case: `${n}-services`, metric: 'fraction_of_create_rate', value: +(o.burstPerS / o.createsPerS).toFixed(3), unit: 'ratio', reference: +o.createsPerS.toFixed(1), reference_kind: 'measured', reference_impl: 'API server create rate in the same burst', readme: `${n} created in a burst: our Services/s as a fraction of the rate the API server accepted the creates` },
    `controller ${n}-services (burst): ours ${o.burstPerS.toFixed(0)} Services/s = ${(o.burstPerS / o.createsPerS).toFixed(2)} of the ${o.createsPerS.toFixed(0)} creates/s the API server accepted (the burst's ceiling)`);
  const u = r.upstream;
  if (!u) continue;
  const impl = 'metallb-v0.12.1-controller';
  log.add({ case: `${n}-services`, metric: 'services_per_s', value: +o.burstPerS.toFixed(1), unit: '1/s', reference: +u.burstPerS.toFixed(2), ratio: +(o.burstPerS / u.burstPerS).toFixed(1), reference_kind: 'measured', reference_impl: impl, note: u.assignedBurst < n ? `upstream assigned ${u.assignedBurst} in the ${UPSTREAM_CAP_S} s cap` : undefined, readme: `${n} created in a burst: Services/s` },
    `controller ${n}-services (burst): ours ${o.burstPerS.toFixed(1)} Services/s vs upstream ${u.burstPerS.toFixed(2)} → ${(o.burstPerS / u.burstPerS).toFixed(1)}x`);
  log.add({ case: `${n}-pending-at-start`, metric: 'services_per_s', value: +o.backlogPerS.toFixed(1), unit: '1/s', reference: +u.backlogPerS.toFixed(2), ratio: +(o.backlogPerS / u.backlogPerS).toFixed(1), reference_kind: 'measured', reference_impl: impl, note: u.assignedBacklog < n ? `upstream assigned ${u.assignedBacklog} in the ${UPSTREAM_CAP_S} s cap` : undefined, readme: `${n} pending at start: Services/s` },
    `controller ${n}-pending-at-start: ours ${o.backlogPerS.toFixed(1)} Services/s vs upstream ${u.backlogPerS.toFixed(2)} → ${(o.backlogPerS / u.backlogPerS).toFixed(1)}x`);
  log.add({ case: `${n}-services`, metric: 'api_writes_per_service', value: +o.writesPerService.toFixed(3), unit: 'requests', reference: +u.writesPerService.toFixed(3), ratio: +(o.writesPerService / u.writesPerService).toFixed(2), reference_kind: 'measured', reference_impl: impl, readme: `${n} created in a burst: API writes per Service` },
    `controller ${n}-services: ${o.writesPerService.toFixed(3)} API writes per Service vs upstream ${u.writesPerService.toFixed(3)}`);
  log.add({ case: `${n}-services`, metric: 'peak_rss', value: +o.rssMB.toFixed(1), unit: 'MB', reference: +u.rssMB.toFixed(1), ratio: +(o.rssMB / u.rssMB).toFixed(2), reference_kind: 'measured', reference_impl: impl, readme: `${n} Services: controller peak RSS (MB)` },
    `controller ${n}: peak RSS ours ${o.rssMB.toFixed(1)} MB vs upstream ${u.rssMB.toFixed(1)} MB (upstream holds fewer Services when capped)`);
}
log.printJSON();
