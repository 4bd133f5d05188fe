#!/usr/bin/env node
// metallb-controller: assigns addresses to LoadBalancer Services (docs/behaviour/controller.md). Wiring only.
//   Flags in Go's or GNU's syntax (-port=7472, --port 7472; lib/cli/flags.ts):
//   --port 7472  --config config  --log-level info  --kubeconfig <file> (in-cluster otherwise)
//   --namespace / METALLB_NAMESPACE / service-account namespace file
//   --ml-secret-name / METALLB_ML_SECRET_NAME   --deployment / METALLB_DEPLOYMENT
//   --lb-class <class> (Services of that loadBalancerClass only; default: Services without one)
import { readFileSync } from 'node:fs';
import { createLogger, type Logger } from '../lib/util/log.js';
import { KubeClient, loadKubeConfig } from '../lib/k8s/index.js';
import { Controller, ensureMemberlistSecret } from '../lib/controller/index.js';
import { parseControllerFlags } from '../lib/controller/options.js';
import { createControllerMetrics } from '../lib/metrics/controller.js';
import { startMetricsServer } from '../lib/metrics/server.js';
import { exitOnSignals, packageVersion } from '../lib/util/daemon.js';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function fail(msg: string): never {
  process.stderr.write(`metallb-controller: ${msg}\n`);
  process.exit(1);
}

const parsed = parseControllerFlags(process.argv.slice(2));
if (!parsed.ok) fail(parsed.error);
const args = parsed.flags;
const port = parsed.port;

function makeLogger(): Logger {
  try {
    return createLogger('controller', args['log-level']);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}
const log = makeLogger();

function resolveNamespace(): string {
  if (args.namespace) return args.namespace;
  if (process.env.METALLB_NAMESPACE) return process.env.METALLB_NAMESPACE;
  try {
    const ns = readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
    if (ns) return ns;
  } catch { /* not in a cluster */ }
  return fail(`unable to get namespace: set --namespace or METALLB_NAMESPACE, or run in a pod (${SA_NAMESPACE_FILE})`);
}
const namespace = resolveNamespace();
const lbClass = args['lb-class'];
const mlSecretName = args['ml-secret-name'] ?? process.env.METALLB_ML_SECRET_NAME ?? '';
const deployment = args.deployment ?? process.env.METALLB_DEPLOYMENT ?? '';

const version = packageVersion();
log.info({ version, commit: process.env.METALLB_COMMIT ?? 'unknown', branch: process.env.METALLB_BRANCH ?? 'unknown', goversion: `node ${process.version}`, ...(lbClass ? { lbClass } : {}) }, 'MetalLB controller starting');
if (args['enable-pprof']) log.warn({ op: 'startup' }, '--enable-pprof has no effect in this implementation (use node --inspect)');

async function main(): Promise<void> {
  const metrics = createControllerMetrics();
  // Ready as soon as /metrics listens (docs/behaviour/controller.md#readiness), independent of config or sync.
  const server = await startMetricsServer(metrics.registry, port, undefined, log);
  log.info({ op: 'startup', port: server.port }, 'serving /metrics');
  const client = await KubeClient.fromKubeConfig(loadKubeConfig(args.kubeconfig));
  if (mlSecretName) await ensureMemberlistSecret(client, namespace, mlSecretName, deployment, log);
  const controller = new Controller({ client, namespace, configMapName: args.config, log, metrics, lbClass });
  exitOnSignals(log, ['SIGTERM', 'SIGINT'], async () => {
    await controller.stop();
    await server.close();
    client.close();
  });
  await controller.start();
}

main().catch((err: unknown) => {
  log.error({ op: 'startup', error: err instanceof Error ? err.message : String(err) }, 'controller failed');
  process.exit(1);
});
