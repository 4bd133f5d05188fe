// `metallbctl migrate [FILE|-] [-o FILE] [--namespace NS]` (or --from-cluster): legacy config ->
// multi-document YAML of the CRD-based API. Wiring and exit codes only; the work is in migrate.ts.

import { parseFlags } from '../cli/flags.js';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError, readInput } from '../cli/io.js';
import { DEFAULT_NAMESPACE } from './convert.js';
import { formatNote, migrateText, type MigrationOutcome } from './migrate.js';
import { namespaceProblem } from './names.js';
import { writeFileAtomic } from './write.js';

export const MIGRATE_USAGE = `Usage: metallbctl migrate [options] FILE|-
       metallbctl migrate [options] --from-cluster [--kubeconfig PATH]

Converts a MetalLB legacy configuration (a ConfigMap manifest, also inside a multi-document
file, or the bare config text) into the objects of the CRD-based API: BGPPeer (metallb.io/v1beta2),
IPAddressPool, BGPAdvertisement, L2Advertisement, BFDProfile and Community (metallb.io/v1beta1).
The config is validated first, as "metallbctl validate" does; an invalid config is refused.
What the CRD objects cannot express is reported on standard error, never silently dropped.

Options:
  -o, --output FILE        write the YAML to FILE (replaced in one step; untouched on failure)
                           instead of standard output ("-": standard output)
  --namespace NS           namespace of the generated objects (default: the ConfigMap's
                           namespace, else ${DEFAULT_NAMESPACE}); with --from-cluster also where
                           the ConfigMap is read
  --configmap-name NAME    the ConfigMap to use (default "config")
  --from-cluster           read the live ConfigMap through the API server
  --kubeconfig PATH        kubeconfig for --from-cluster (default: $KUBECONFIG, ~/.kube/config)
  --omit-zero-keepalive    leave keepaliveTime out for peers without keepalive-time, instead of
                           upstream's "keepaliveTime: 0s"
  -h, --help               show this help

Exit status: 0 converted; 1 the config is invalid or cannot be expressed as CRD objects;
2 usage error, unreadable input or unwritable output.`;

export async function migrateCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const fail = (msg: string, code: number): number => { err(`metallbctl migrate: ${msg}\n`); return code; };
  let parsed;
  try {
    parsed = parseFlags(argv, {
      output: { type: 'string', short: 'o' },
      namespace: { type: 'string' },
      'configmap-name': { type: 'string', default: 'config' },
      'from-cluster': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      'omit-zero-keepalive': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    }, { positionals: true });
  } catch (e) {
    return fail(`${(e as Error).message}\n\n${MIGRATE_USAGE}`, EXIT_USAGE);
  }
  const v = parsed.values;
  if (v.help) { out(`${MIGRATE_USAGE}\n`); return EXIT_OK; }
  const fromCluster = v['from-cluster'] === true;
  const configMapName = v['configmap-name'];
  if (v.namespace !== undefined) {
    const p = namespaceProblem(v.namespace);
    if (p) return fail(`--namespace: ${p}`, EXIT_USAGE);
  }
  if (v.output === '') return fail('--output needs a file name', EXIT_USAGE);
  if (v.kubeconfig !== undefined && !fromCluster) return fail('--kubeconfig only applies with --from-cluster', EXIT_USAGE);

  let text: string;
  let source: string;
  let namespace = v.namespace;
  if (fromCluster) {
    if (parsed.positionals.length > 0) return fail(`--from-cluster reads no FILE (got "${parsed.positionals[0]}")\n\n${MIGRATE_USAGE}`, EXIT_USAGE);
    namespace ??= DEFAULT_NAMESPACE;
    // @kubernetes/client-node only when reading from a cluster: importing it costs a converting
    // process about 1 s of start-up and 90 MiB of RSS (bench/migrate.ts)
    const { ClusterReadError, loadKubeConfig, readClusterConfigMap } = await import('./cluster.js');
    try {
      const kc = loadKubeConfig(v.kubeconfig);
      const cm = await readClusterConfigMap(kc, namespace, configMapName);
      text = cm.text;
      source = `ConfigMap ${cm.namespace}/${cm.name}`;
    } catch (e) {
      if (!(e instanceof ClusterReadError)) throw e;
      return fail(e.message, e.notFound ? EXIT_INVALID : EXIT_USAGE);
    }
  } else {
    if (parsed.positionals.length !== 1) return fail(`expected exactly one FILE (or - for standard input)\n\n${MIGRATE_USAGE}`, EXIT_USAGE);
    const file = parsed.positionals[0];
    try {
      text = await readInput(file);
    } catch (e) {
      if (e instanceof UsageError) return fail(e.message, EXIT_USAGE);
      throw e;
    }
    source = file === '-' ? '<stdin>' : file;
  }

  const outcome: MigrationOutcome = migrateText(text, { source, namespace, configMapName, omitZeroKeepalive: v['omit-zero-keepalive'] === true });
  if (!outcome.ok && outcome.reason === 'invalid') {
    err(outcome.report);
    return fail(`the config is invalid; nothing was written`, EXIT_INVALID);
  }
  for (const w of outcome.warnings) err(`metallbctl migrate: warning: ${formatNote(w)}\n`);
  if (!outcome.ok) {
    for (const p of outcome.problems) err(`metallbctl migrate: error: ${formatNote(p)}\n`);
    return fail(`${source}: cannot be expressed as CRD objects (${outcome.problems.length} problem${outcome.problems.length === 1 ? '' : 's'}); nothing was written`, EXIT_INVALID);
  }
  if (v.output === undefined || v.output === '-') {
    out(outcome.yaml);
  } else {
    try {
      writeFileAtomic(v.output, outcome.yaml);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail(`cannot write ${v.output}: ${code === 'EACCES' ? 'permission denied' : code === 'ENOENT' ? 'no such directory' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`, EXIT_USAGE);
    }
    err(`metallbctl migrate: wrote ${outcome.objects.length} object${outcome.objects.length === 1 ? '' : 's'} (namespace ${outcome.namespace}) to ${v.output}\n`);
  }
  return EXIT_OK;
}
