// What an operator hands to `metallbctl`: a ConfigMap manifest (one or several YAML documents,
// the ConfigMap named `config` is used), or the bare config text (the value of its `config` key).

import yaml from 'js-yaml';

export interface ConfigInput {
  /** The config text (the ConfigMap's data.config, or the whole file for bare text). */
  readonly text: string;
  /** 'configmap' when read from a ConfigMap manifest, else 'bare'. */
  readonly form: 'configmap' | 'bare';
  /** metadata.namespace of the ConfigMap, when set. */
  readonly namespace?: string;
  readonly name?: string;
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function looksLikeKubernetesObject(v: unknown): v is Record<string, unknown> {
  return isObject(v) && typeof v.apiVersion === 'string' && typeof v.kind === 'string';
}

/**
 * Reads a manifest or bare config. Kubernetes objects are recognised by apiVersion + kind;
 * a file with such objects must contain a v1 ConfigMap named `name` (default `config`).
 * A List object's items are searched too.
 */
export function readConfigInput(fileText: string, name = 'config'): ConfigInput {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(fileText).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    const e = err as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : '';
    throw new InputError(`YAML: ${e.reason ?? e.message}${where}`);
  }
  const objects = docs.flatMap((d) => (looksLikeKubernetesObject(d) && d.kind === 'List' && Array.isArray(d.items) ? d.items : [d]));
  if (!objects.some(looksLikeKubernetesObject)) {
    if (docs.length > 1) throw new InputError(`found ${docs.length} YAML documents but no Kubernetes objects; bare config text must be a single document`);
    return { text: fileText, form: 'bare' };
  }
  const configMaps = objects.filter((o): o is Record<string, unknown> => looksLikeKubernetesObject(o) && o.kind === 'ConfigMap');
  const named = configMaps.filter((o) => isObject(o.metadata) && o.metadata.name === name);
  if (named.length === 0) {
    const others = configMaps.map((o) => (isObject(o.metadata) ? String(o.metadata.name) : '?'));
    throw new InputError(`no ConfigMap named "${name}" in the input${others.length ? ` (found ConfigMap ${others.map((n) => `"${n}"`).join(', ')})` : ''}`);
  }
  if (named.length > 1) throw new InputError(`${named.length} ConfigMaps named "${name}" in the input; keep one`);
  const cm = named[0];
  if (cm.apiVersion !== 'v1') throw new InputError(`ConfigMap "${name}" has apiVersion "${String(cm.apiVersion)}", expected "v1"`);
  const meta = cm.metadata as Record<string, unknown>;
  const data = cm.data;
  if (data !== undefined && data !== null && !isObject(data)) throw new InputError(`ConfigMap "${name}": data must be a mapping`);
  const text = isObject(data) ? data.config : undefined;
  if (text !== undefined && text !== null && typeof text !== 'string') throw new InputError(`ConfigMap "${name}": data.config must be a string (use a YAML block scalar: "config: |")`);
  return {
    text: typeof text === 'string' ? text : '',
    form: 'configmap',
    namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
    name,
  };
}
