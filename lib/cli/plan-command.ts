// `metallbctl plan NEWCONFIG [--services FILE | --from-cluster] [-o table|json]`.
import { parseFlags } from './flags.js';
import yaml from 'js-yaml';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError, readInput } from './io.js';
import { ClusterReadError, connect, readCluster } from './cluster.js';
import { plan, type PlanInput, type PlanResult } from './plan.js';
import { validateText } from '../config/validate-command.js';
import { formatProblem, parseConfig, refusals, type Config } from '../config/index.js';
import { readConfigInput } from '../config/input.js';
import { nodeExcluded, validateLBClass, type Service } from '../k8s/index.js';
import { EndpointSliceIndex, type EndpointReadiness } from '../speaker/endpoints.js';

export const PLAN_USAGE = `Usage: metallbctl plan NEWCONFIG (--services FILE | --from-cluster) [-o table|json]
                      [--current FILE] [--nodes N1,N2,...] [--kubeconfig PATH] [-n NAMESPACE] [--lb-class CLASS]

Shows, before a config is applied, what every LoadBalancer Service would get under it (same
address, new address, none and why), which Services strand it (the controller would refuse it),
and for layer 2 pools which node would announce each address. Computed with the controller's
allocator and the speaker's election.

  NEWCONFIG                  a ConfigMap manifest or bare config text (- for standard input)
  --services FILE            Services from a file (e.g. kubectl get svc -A -o yaml); offline
  --current FILE             offline: the config in force (its assignments are replayed first)
  --nodes N1,N2              offline: the nodes running speakers (for the layer 2 owner)
  --from-cluster             read Services, the config in force, Nodes, speaker Pods and
                             EndpointSlices through the API server (--kubeconfig, -n)
  --speaker-selector LABELS  the speaker Pods (default app=metallb,component=speaker)
  --lb-class CLASS           the installation's --lb-class (default: Services without a class)
  -o, --output table|json

JSON: {"refused", "refusal", "stranded", "services": [{"service": "ns/name", "addresses": [...],
"pool", "reason", "change", "current", "announcer", ...}]}. Exit 0, or 1 when the config is
invalid or would be refused, 2 on usage errors or unreadable input.`;

function validConfig(text: string, file: string): { config?: Config; problems: string[] } {
  const report = validateText(file, text);
  if (!report.valid) return { problems: report.problems.map((p) => formatProblem(p)) };
  const parsed = parseConfig(readConfigInput(text).text);
  return parsed.config ? { config: parsed.config, problems: [] } : { problems: ['config could not be parsed'] };
}

/** Service objects from YAML or JSON: a List (kubectl -o yaml), several documents, or one Service. */
export function readServices(text: string, file: string): Service[] {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text, undefined, { json: true });
  } catch (e) {
    throw new UsageError(`${file}: not YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const out: Service[] = [];
  const visit = (d: unknown, depth: number): void => {
    if (d === null || typeof d !== 'object' || Array.isArray(d) || depth > 2) return;
    const o = d as { kind?: unknown; items?: unknown };
    if (o.kind === 'Service') out.push(d as Service);
    else if (Array.isArray(o.items)) for (const i of o.items) visit(i, depth + 1);
  };
  for (const d of docs) visit(d, 0);
  return out;
}

function format(r: PlanResult, problems: readonly string[]): string {
  const lines: string[] = [];
  if (problems.length) {
    lines.push(`config invalid, ${problems.length} problem(s):`, ...problems.map((p) => `  ${p}`));
    return `${lines.join('\n')}\n`;
  }
  lines.push(r.refused ? `config would be REFUSED by the controller: ${r.refusal}` : 'config would be adopted');
  if (r.stranded.length) lines.push(`stranding Services: ${r.stranded.join(', ')}`);
  const rows = [['SERVICE', 'NOW', 'UNDER NEW CONFIG', 'POOL', 'CHANGE', 'LAYER 2 OWNER', 'REASON'],
    ...r.services.map((s) => [s.service, s.current.join(',') || '-', s.addresses.join(',') || '-', s.pool ?? '-', s.change,
      s.announcer === undefined ? (s.protocol === 'layer2' ? '?' : '-') : s.announcer ?? 'none', s.reason ?? s.announcerNote ?? ''])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  lines.push(...rows.map((row) => `  ${row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()}`));
  if (r.skipped) lines.push(`(${r.skipped} Service(s) not ours: not LoadBalancer or another loadBalancerClass)`);
  return `${lines.join('\n')}\n`;
}

export async function planCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, {
        services: { type: 'string' },
        current: { type: 'string' },
        nodes: { type: 'string' },
        'from-cluster': { type: 'boolean', default: false },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n', default: 'metallb-system' },
        config: { type: 'string', default: 'config' },
        'speaker-selector': { type: 'string', default: 'app=metallb,component=speaker' },
        'lb-class': { type: 'string', default: '' },
        output: { type: 'string', short: 'o', default: 'table' },
        help: { type: 'boolean', short: 'h' },
    }, { positionals: true });
  } catch (e) {
    err(`metallbctl plan: ${(e as Error).message}\n\n${PLAN_USAGE}\n`);
    return EXIT_USAGE;
  }
  const v = parsed.values;
  if (v.help) { out(`${PLAN_USAGE}\n`); return EXIT_OK; }
  const usage = (msg: string): number => { err(`metallbctl plan: ${msg}\n`); return EXIT_USAGE; };
  if (v.output !== 'table' && v.output !== 'json') return usage(`--output must be table or json, got "${v.output}"`);
  if (parsed.positionals.length !== 1) return usage(`expected exactly one NEWCONFIG (or - for standard input)\n\n${PLAN_USAGE}`);
  if ((v.services === undefined) === !v['from-cluster']) return usage('give exactly one of --services FILE and --from-cluster');
  if (v['from-cluster'] && (v.current !== undefined || v.nodes !== undefined)) return usage('--current and --nodes are for offline mode; --from-cluster reads them');
  const classProblem = validateLBClass(v['lb-class']);
  if (classProblem) return usage(classProblem);
  const file = parsed.positionals[0];
  try {
    const newText = await readInput(file);
    const checked = validConfig(newText, file);
    const emit = (r: PlanResult, problems: string[]): number => {
      if (v.output === 'json') out(`${JSON.stringify(problems.length ? { valid: false, problems, refused: true, stranded: [], services: [] } : { valid: true, ...r }, null, 2)}\n`);
      else out(format(r, problems));
      return problems.length || r.refused ? EXIT_INVALID : EXIT_OK;
    };
    const empty: PlanResult = { refused: true, stranded: [], services: [], skipped: 0 };
    if (!checked.config) return emit(empty, checked.problems);
    let input: PlanInput;
    if (!v['from-cluster']) {
      const services = readServices(await readInput(v.services as string), v.services as string);
      let current: Config | undefined;
      if (v.current !== undefined) {
        const c = validConfig(await readInput(v.current), v.current);
        if (!c.config) return usage(`--current ${v.current} is not a valid config: ${c.problems.join('; ')}`);
        current = c.config;
      }
      const speakerNodes = v.nodes === undefined ? undefined : v.nodes.split(',').map((n) => n.trim()).filter(Boolean);
      input = { config: checked.config, services, lbClass: v['lb-class'], ...(current ? { current } : {}), ...(speakerNodes ? { speakerNodes } : {}) };
    } else {
      const client = await connect(v.kubeconfig);
      try {
        const s = await readCluster(client, { namespace: v.namespace, configMapName: v.config, speakerSelector: v['speaker-selector'], metricsPort: 7472, events: false, metrics: false });
        const cur = s.configMap ? parseConfig(s.configMap.data?.config ?? '') : undefined;
        const current = cur && refusals(cur, 'controller').length === 0 ? cur.config : undefined;
        const excluded = new Set(s.nodes.filter((n) => nodeExcluded(n.metadata?.labels)).map((n) => n.metadata?.name ?? ''));
        const speakerNodes = [...new Set(s.speakerPods.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName).map((p) => p.spec?.nodeName as string))].filter((n) => !excluded.has(n));
        const index = new EndpointSliceIndex();
        for (const sl of s.slices) index.upsert(sl);
        const endpoints = new Map<string, EndpointReadiness>();
        for (const svc of s.services) {
          const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
          const r = index.readiness(key);
          if (r) endpoints.set(key, r);
        }
        input = { config: checked.config, services: s.services, lbClass: v['lb-class'], ...(current ? { current } : {}), speakerNodes, endpoints };
      } finally {
        client.close();
      }
    }
    return emit(plan(input), []);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ClusterReadError) return usage(e.message);
    throw e;
  }
}
