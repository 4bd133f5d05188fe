// `metallbctl validate FILE|-`: is this config acceptable to a v0.12 controller and native-mode
// speaker (and to this project's stricter recommendations)?

import { parseFlags } from '../cli/flags.js';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, UsageError, readInput } from '../cli/io.js';
import { InputError, readConfigInput, type ConfigInput } from './input.js';
import { formatProblem, parseConfig } from './parse.js';
import { summarize, type ConfigSummary } from './summary.js';
import type { Problem, Refuser } from './types.js';

export const VALIDATE_USAGE = `Usage: metallbctl validate [--output text|json] [--configmap-name NAME] FILE|-

Checks a MetalLB legacy configuration: a ConfigMap manifest (the ConfigMap named "config",
also inside a multi-document file) or the bare config text. Exit 0 when valid, 1 when invalid,
2 on usage errors or unreadable input.`;

const REFUSER_TEXT: Record<Refuser, string> = {
  all: 'controller and speakers',
  'native-speaker': 'native-mode speakers',
  'frr-speaker': 'FRR-mode speakers',
  recommended: 'metallb-ts (upstream accepted it silently)',
};

export interface ValidationReport {
  readonly file: string;
  readonly input: { readonly form: ConfigInput['form']; readonly namespace?: string; readonly name?: string } | null;
  readonly valid: boolean;
  /** Problems that make the config invalid. */
  readonly problems: readonly Problem[];
  /** Problems only an FRR-mode speaker would have (this project's speaker is native). */
  readonly notes: readonly Problem[];
  readonly summary: ConfigSummary | null;
}

export function validateText(file: string, fileText: string, configMapName = 'config'): ValidationReport {
  let input: ConfigInput;
  try {
    input = readConfigInput(fileText, configMapName);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    return { file, input: null, valid: false, problems: [{ path: '', message: err.message, refusedBy: 'all' }], notes: [], summary: null };
  }
  const result = parseConfig(input.text);
  const problems = result.problems.filter((p) => p.refusedBy !== 'frr-speaker');
  const notes = result.problems.filter((p) => p.refusedBy === 'frr-speaker');
  const valid = problems.length === 0 && result.config !== undefined;
  return {
    file,
    input: { form: input.form, namespace: input.namespace, name: input.name },
    valid,
    problems,
    notes,
    summary: valid && result.config ? summarize(result.config) : null,
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

export function formatReport(r: ValidationReport): string {
  const lines: string[] = [];
  const where = r.input?.form === 'configmap' ? ` (ConfigMap ${r.input.namespace ? `${r.input.namespace}/` : ''}${r.input.name ?? 'config'})` : '';
  if (!r.valid) {
    lines.push(`${r.file}: invalid${where}, ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}:`);
    for (const p of r.problems) lines.push(`  ${formatProblem(p)}  [refused by ${REFUSER_TEXT[p.refusedBy]}]`);
  } else {
    const s = r.summary as ConfigSummary;
    lines.push(`${r.file}: valid${where}`);
    if (s.pools.length === 0) lines.push('Address pools: none');
    else {
      lines.push(`Address pools (${s.pools.length}):`);
      lines.push(...table([
        ['NAME', 'PROTOCOL', 'ADDRESSES', 'AUTO-ASSIGN', 'AVOID-BUGGY-IPS', 'ENTRIES'],
        ...s.pools.map((p) => [p.name, p.protocol, p.addresses, p.autoAssign ? 'yes' : 'no', p.avoidBuggyIPs ? 'yes' : 'no', p.entries.join(', ')]),
      ]));
    }
    if (s.peers.length === 0) lines.push('BGP peers: none');
    else {
      lines.push(`BGP peers (${s.peers.length}):`);
      const secs = (n: number) => `${Number.isInteger(n) ? n : n.toFixed(3)}s`;
      lines.push(...table([
        ['PEER', 'MY-ASN', 'PEER-ASN', 'HOLD', 'KEEPALIVE', 'NODE-SELECTORS', 'MD5'],
        ...s.peers.map((p) => [`${p.peerAddress.includes(':') ? `[${p.peerAddress}]` : p.peerAddress}:${p.peerPort}`, String(p.myASN), String(p.peerASN), secs(p.holdTimeSeconds), secs(p.keepaliveTimeSeconds), p.nodeSelectors ? String(p.nodeSelectors) : 'all nodes', p.md5 ? 'yes' : 'no']),
      ]));
    }
    if (s.communities || s.bfdProfiles) lines.push(`BGP community aliases: ${s.communities}; BFD profiles: ${s.bfdProfiles}`);
  }
  if (r.notes.length) {
    lines.push('Notes (only an FRR-mode speaker, METALLB_BGP_TYPE=frr, would refuse these):');
    for (const p of r.notes) lines.push(`  ${formatProblem(p)}`);
  }
  return lines.join('\n') + '\n';
}

export async function validateCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseFlags(argv, {
      output: { type: 'string', short: 'o', default: 'text' },
      'configmap-name': { type: 'string', default: 'config' },
      help: { type: 'boolean', short: 'h' },
    }, { positionals: true });
  } catch (e) {
    err(`metallbctl validate: ${(e as Error).message}\n\n${VALIDATE_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (parsed.values.help) { out(`${VALIDATE_USAGE}\n`); return EXIT_OK; }
  const output = parsed.values.output;
  if (output !== 'text' && output !== 'json') { err(`metallbctl validate: --output must be text or json, got "${output}"\n`); return EXIT_USAGE; }
  if (parsed.positionals.length !== 1) { err(`metallbctl validate: expected exactly one FILE (or - for standard input)\n\n${VALIDATE_USAGE}\n`); return EXIT_USAGE; }
  const file = parsed.positionals[0];
  let text: string;
  try {
    text = await readInput(file);
  } catch (e) {
    if (e instanceof UsageError) { err(`metallbctl validate: ${e.message}\n`); return EXIT_USAGE; }
    throw e;
  }
  const report = validateText(file === '-' ? '<stdin>' : file, text, parsed.values['configmap-name']);
  out(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.valid ? EXIT_OK : EXIT_INVALID;
}
