// `metallbctl status [--kubeconfig PATH] [-n NS] [-o table|json]`.
import { parseFlags } from './flags.js';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE } from './io.js';
import { ClusterReadError, connect, readCluster } from './cluster.js';
import { buildStatus, formatStatus } from './status.js';
import { validateLBClass } from '../k8s/ownership.js';

export const STATUS_USAGE = `Usage: metallbctl status [--kubeconfig PATH] [-n NAMESPACE] [-o table|json]
                        [--config NAME] [--speaker-selector LABELS] [--metrics-port PORT] [--lb-class CLASS]

The live state of MetalLB, read through the API server (a read-only Role is enough, see
manifests/metallbctl-status-rbac.yaml): the config in force or why the latest one is refused,
per LoadBalancer Service its addresses, pool, protocol and announcing nodes / BGP peers, per
speaker its memberlist members and BGP sessions (its /metrics through the pod proxy).

Exit 0 when no problem is found, 1 when there is one (refused or stale config, a Service without
address or announcement, a BGP session down, a speaker whose metrics cannot be read), 2 on usage
errors or when the API server cannot be read.

Options:
  --kubeconfig PATH          default: $KUBECONFIG, ~/.kube/config
  -n, --namespace NS         MetalLB's namespace (default metallb-system)
  -o, --output table|json    default table
  --config NAME              the ConfigMap (default config)
  --speaker-selector LABELS  the speaker Pods (default app=metallb,component=speaker)
  --metrics-port PORT        the speakers' metrics port (default 7472)
  --lb-class CLASS           the installation's --lb-class (default: Services without a class)`;

export async function statusCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let v;
  try {
    v = parseFlags(argv, {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n', default: 'metallb-system' },
        output: { type: 'string', short: 'o', default: 'table' },
        config: { type: 'string', default: 'config' },
        'speaker-selector': { type: 'string', default: 'app=metallb,component=speaker' },
        'metrics-port': { type: 'string', default: '7472' },
        'lb-class': { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h' },
    }).values;
  } catch (e) {
    err(`metallbctl status: ${(e as Error).message}\n\n${STATUS_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (v.help) { out(`${STATUS_USAGE}\n`); return EXIT_OK; }
  if (v.output !== 'table' && v.output !== 'json') { err(`metallbctl status: --output must be table or json, got "${v.output}"\n`); return EXIT_USAGE; }
  const port = Number(v['metrics-port']);
  if (!/^\d+$/.test(v['metrics-port']) || port < 1 || port > 65535) { err(`metallbctl status: --metrics-port must be a TCP port, got "${v['metrics-port']}"\n`); return EXIT_USAGE; }
  const classProblem = validateLBClass(v['lb-class']);
  if (classProblem) { err(`metallbctl status: ${classProblem}\n`); return EXIT_USAGE; }
  let client;
  try {
    client = await connect(v.kubeconfig);
    const snapshot = await readCluster(client, { namespace: v.namespace, configMapName: v.config, speakerSelector: v['speaker-selector'], metricsPort: port });
    const report = buildStatus(snapshot, v['lb-class']);
    out(v.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return report.problems.length === 0 ? EXIT_OK : EXIT_INVALID;
  } catch (e) {
    if (e instanceof ClusterReadError) { err(`metallbctl status: ${e.message}\n`); return EXIT_USAGE; }
    throw e;
  } finally {
    client?.close();
  }
}
