#!/usr/bin/env node
// metallb-speaker: makes assigned addresses reachable (docs/behaviour/speaker.md). Wiring only: flags and env
// (lib/speaker/options.ts), logger, metrics server, Kubernetes client, SpeakerDaemon, signals.
//   --node-name / METALLB_NODE_NAME (required)   --host / METALLB_HOST   --port 7472
//   --config config   --namespace / METALLB_NAMESPACE / service-account file   --kubeconfig <file>
//   --ml-bindaddr / METALLB_ML_BIND_ADDR   --ml-bindport / METALLB_ML_BIND_PORT (7946)
//   --ml-labels / METALLB_ML_LABELS   --ml-secret-key / METALLB_ML_SECRET_KEY
//   --log-level info   --disable-epslices   --enable-pprof (no effect)   METALLB_BGP_TYPE native (frr refused)
//   METALLB_ML_TIMERS lan|fast (not upstream: memberlist timer profile, default lan)
import { readFileSync } from 'node:fs';
import { createLogger, type Logger } from '../lib/util/log.js';
import { KubeClient, loadKubeConfig } from '../lib/k8s/index.js';
import { parseSpeakerOptions, type SpeakerOptions } from '../lib/speaker/options.js';
import { SpeakerDaemon } from '../lib/speaker/daemon.js';
import { createSpeakerMetrics } from '../lib/metrics/speaker.js';
import { startMetricsServer } from '../lib/metrics/server.js';
import { exitOnSignals, packageVersion } from '../lib/util/daemon.js';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function fail(msg: string): never {
  process.stderr.write(`metallb-speaker: ${msg}\n`);
  process.exit(1);
}

const parsed = parseSpeakerOptions(process.argv.slice(2), process.env);
if (!parsed.ok) fail(parsed.error);
const options: SpeakerOptions = parsed.options;

function makeLogger(): Logger {
  try {
    return createLogger('speaker', options.logLevel);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
}
const log = makeLogger();

function resolveNamespace(): string {
  if (options.namespace) return options.namespace;
  try {
    const ns = readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
    if (ns) return ns;
  } catch { /* not in a cluster */ }
  return fail(`unable to get namespace: set --namespace or METALLB_NAMESPACE, or run in a pod (${SA_NAMESPACE_FILE})`);
}
const namespace = resolveNamespace();

const timersEnv = process.env.METALLB_ML_TIMERS ?? '';
if (timersEnv !== '' && timersEnv !== 'lan' && timersEnv !== 'fast') fail(`METALLB_ML_TIMERS must be "lan" or "fast", got "${timersEnv}"`);
const memberlistTimers = timersEnv === 'fast' ? 'fast' : 'lan';

const version = packageVersion();
log.info({ version, commit: process.env.METALLB_COMMIT ?? 'unknown', branch: process.env.METALLB_BRANCH ?? 'unknown', goversion: `node ${process.version}`, node: options.nodeName }, 'MetalLB speaker starting');
if (options.enablePprof) log.warn({ op: 'startup' }, '--enable-pprof has no effect in this implementation (use node --inspect)');

async function main(): Promise<void> {
  const metrics = createSpeakerMetrics({ processMetrics: true });
  const server = await startMetricsServer(metrics.registry, options.port, options.host === '' ? undefined : options.host, log);
  log.info({ op: 'startup', port: server.port }, 'serving /metrics');
  const client = await KubeClient.fromKubeConfig(loadKubeConfig(options.kubeconfig));
  const daemon = new SpeakerDaemon({ client, options, namespace, log, metrics, memberlistTimers });
  exitOnSignals(log, ['SIGTERM', 'SIGINT', 'SIGQUIT'], async () => {
    await daemon.stop();
    await server.close();
    client.close();
  });
  await daemon.start();
}

main().catch((err: unknown) => {
  log.error({ op: 'startup', error: err instanceof Error ? err.message : String(err) }, 'speaker failed');
  process.exit(1);
});
