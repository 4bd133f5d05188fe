// The migration pipeline on text: read the input form, validate with lib/config (refusing
// exactly what `metallbctl validate` reports, in its words), convert, emit YAML.

import { formatProblem, InputError, parseConfig, readConfigInput, type ConfigInput, type Problem, type RawConfig } from '../config/index.js';
import { formatReport, validateText } from '../config/validate-command.js';
import { convertConfig, DEFAULT_NAMESPACE, type GeneratedObject, type MigrationNote } from './convert.js';
import { namespaceProblem } from './names.js';
import { dumpDocuments } from './yaml.js';

export interface MigrateOptions {
  /** Name shown in messages (the file name, or "<stdin>"). */
  readonly source: string;
  /** Namespace of the generated objects; default: the ConfigMap's, else metallb-system. */
  readonly namespace?: string;
  /** Name of the ConfigMap to use in a manifest. Default "config". */
  readonly configMapName?: string;
  readonly omitZeroKeepalive?: boolean;
}

export type MigrationOutcome =
  /** The input is not a config, or the config is invalid: `report` is `metallbctl validate`'s text. */
  | { readonly ok: false; readonly reason: 'invalid'; readonly report: string }
  /** Valid, but the CRD objects cannot express it (or MetalLB v0.13+ would refuse them). */
  | { readonly ok: false; readonly reason: 'unconvertible'; readonly problems: readonly MigrationNote[]; readonly warnings: readonly MigrationNote[] }
  | { readonly ok: true; readonly yaml: string; readonly objects: readonly GeneratedObject[]; readonly warnings: readonly MigrationNote[]; readonly namespace: string };

const BLOCKING: ReadonlySet<Problem['refusedBy']> = new Set(['all', 'recommended']);

/** Problems that only some speakers have: the CRD-based releases keep those rules per BGP mode. */
function speakerNotes(problems: readonly Problem[]): MigrationNote[] {
  return problems.filter((p) => !BLOCKING.has(p.refusedBy)).map((p) => ({
    path: p.path,
    message: `${p.message} [${p.refusedBy === 'native-speaker' ? 'native-mode speakers refuse this, in the CRD-based releases too' : 'FRR-mode speakers refuse this'}]`,
  }));
}

/** True when a line has a YAML comment: a `#` at its start or after a blank, outside quotes. */
export function hasComments(text: string): boolean {
  for (const line of text.split('\n')) {
    let quote: '"' | "'" | null = null;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote === '"') {
        if (c === '\\') i++;
        else if (c === '"') quote = null;
      } else if (quote === "'") {
        if (c === "'") quote = null; // '' (an escaped quote) closes and reopens: same result
      } else if (c === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) {
        return true;
      } else if ((c === '"' || c === "'") && (i === 0 || /[\s:,[{-]/.test(line[i - 1]))) {
        quote = c;
      }
    }
  }
  return false;
}

export function migrateText(fileText: string, options: MigrateOptions): MigrationOutcome {
  const configMapName = options.configMapName ?? 'config';
  // Refusals are reported by validateText/formatReport themselves, so the words are exactly
  // those of `metallbctl validate` (the input is then read a second time, only on failure).
  const refuse = (): MigrationOutcome => ({ ok: false, reason: 'invalid', report: formatReport(validateText(options.source, fileText, configMapName)) });
  let input: ConfigInput;
  try {
    input = readConfigInput(fileText, configMapName);
  } catch (err) {
    if (err instanceof InputError) return refuse();
    throw err;
  }
  const parsed = parseConfig(input.text);
  if (parsed.raw === undefined || parsed.problems.some((p) => BLOCKING.has(p.refusedBy))) return refuse();
  const raw: RawConfig = parsed.raw;
  const namespace = options.namespace ?? input.namespace ?? DEFAULT_NAMESPACE;
  const nsProblem = namespaceProblem(namespace);
  if (nsProblem) {
    return { ok: false, reason: 'unconvertible', warnings: [], problems: [{ path: options.namespace !== undefined ? '--namespace' : 'metadata.namespace', message: nsProblem }] };
  }
  const result = convertConfig(raw, { namespace, omitZeroKeepalive: options.omitZeroKeepalive });
  const warnings: MigrationNote[] = [...result.warnings, ...speakerNotes(parsed.problems)];
  if (hasComments(input.text)) warnings.push({ path: '', message: 'the config has comments; they are not carried over to the CRD objects' });
  if (result.problems.length > 0) return { ok: false, reason: 'unconvertible', problems: result.problems, warnings };
  if (result.objects.length === 0) warnings.push({ path: '', message: 'the config defines no peers, pools, communities or BFD profiles: the output holds no objects' });
  return { ok: true, yaml: dumpDocuments(result.objects), objects: result.objects, warnings, namespace };
}

export function formatNote(n: MigrationNote): string {
  return formatProblem({ path: n.path, message: n.message, refusedBy: 'all' });
}
