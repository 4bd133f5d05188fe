// Shape checks with ajv against schema/config.schema.json (the same file users can point their
// editors at). ajv reports every shape problem; this module turns its errors into operator
// messages with a config path (`address-pools[1].addresses[0]`) and the cause.

import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { RawNode, TypedNode } from './yaml11.js';
import { describeValue, PlainScalar } from './yaml11.js';

// ajv ships CommonJS; its default export is the class under NodeNext resolution.
const Ajv = AjvModule as unknown as typeof AjvModule.default;

function schemaPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const p = join(here, up, 'schema', 'config.schema.json');
    if (existsSync(p)) return p;
  }
  throw new Error('schema/config.schema.json not found next to the program');
}

interface Validators {
  /** The whole document, every error (allErrors). */
  readonly all: ValidateFunction;
  /** The whole document, stopping at the first error: the quick "is it fine?" test. */
  readonly quick: ValidateFunction;
  /** One item of a top-level list, or one bgp-communities value, every error. */
  readonly part: Readonly<Record<string, ValidateFunction>>;
}

let validators: Validators | undefined;

function compile(): Validators {
  if (!validators) {
    const schema = JSON.parse(readFileSync(schemaPath(), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
    const all = ajv.compile(schema);
    const id = String(schema.$id);
    const def = (name: string): ValidateFunction => {
      const v = ajv.getSchema(`${id}#/definitions/${name}`);
      if (!v) throw new Error(`schema has no definition ${name}`);
      return v;
    };
    const part = { peers: def('peer'), 'address-pools': def('addressPool'), 'bfd-profiles': def('bfdProfile'), 'bgp-communities': def('text') };
    const quick = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile(schema);
    validators = { all, quick, part };
  }
  return validators;
}

/** "/address-pools/1/addresses/0" -> "address-pools[1].addresses[0]" */
export function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^[0-9]+$/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base === '' ? key : `${base}.${key}`;
}

function rawAt(root: RawNode, pointer: string): RawNode | undefined {
  let cur: RawNode | undefined = root;
  if (pointer === '') return cur;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (cur !== null && typeof cur === 'object' && !(cur instanceof PlainScalar)) cur = cur[seg];
    else return undefined;
  }
  return cur;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'an integer',
  boolean: 'a boolean (yes/no, true/false, on/off)',
  array: 'a list',
  object: 'a mapping',
  string: 'a string',
};

function expectedType(t: unknown): string {
  const list = Array.isArray(t) ? (t as string[]) : [String(t)];
  const nonNull = list.filter((x) => x !== 'null');
  if (nonNull.includes('string') && nonNull.includes('number')) return 'a single value';
  return nonNull.map((x) => TYPE_WORDS[x] ?? x).join(' or ');
}

export interface ShapeProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Returns the shape problems (empty when the document has the right shape), at most `limit`
 * of them plus a closing note when checking stopped there. The top-level lists and the
 * bgp-communities values are checked one item at a time, so a document of a few hundred
 * thousand wrong items (aliases) costs no more than its first `limit` problems.
 */
export function checkShape(typed: TypedNode, raw: RawNode, limit = Number.POSITIVE_INFINITY): ShapeProblem[] {
  const { all, quick, part } = compile();
  if (quick(typed)) return [];
  const problems: ShapeProblem[] = [];
  const seen = new Set<string>();
  let stopped = false;
  const collect = (validate: ValidateFunction, data: TypedNode, prefix: string): void => {
    if (validate(data)) return;
    for (const e of validate.errors ?? []) {
      if (problems.length >= limit) { stopped = true; return; }
      const p = describeAjvError({ ...e, instancePath: prefix + e.instancePath }, raw);
      if (!p) continue;
      const key = `${p.path}\u0000${p.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(p);
    }
  };
  if (typed === null || typeof typed !== 'object' || Array.isArray(typed)) {
    collect(all, typed, '');
    return problems;
  }
  // the document with its lists and community map emptied, then their items one by one
  const top: { [key: string]: TypedNode } = {};
  const parts: [string, TypedNode][] = [];
  for (const [k, v] of Object.entries(typed as { [key: string]: TypedNode })) {
    if (Object.hasOwn(part, k) && (k === 'bgp-communities' ? v !== null && typeof v === 'object' && !Array.isArray(v) : Array.isArray(v))) {
      Object.defineProperty(top, k, { value: Array.isArray(v) ? [] : {}, enumerable: true });
      parts.push([k, v]);
    } else {
      Object.defineProperty(top, k, { value: v, enumerable: true }); // k may be __proto__
    }
  }
  collect(all, top, '');
  for (const [k, v] of parts) {
    const validate = part[k];
    const items: [string, TypedNode][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v as { [key: string]: TypedNode });
    for (const [seg, item] of items) {
      if (stopped) break;
      collect(validate, item, `/${k}/${seg.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
  }
  if (stopped) problems.push({ path: '', message: `... the shape check stopped after the first ${limit} problems` });
  return problems;
}

function describeAjvError(e: ErrorObject, raw: RawNode): ShapeProblem | undefined {
  const path = pointerToPath(e.instancePath);
  const value = rawAt(raw, e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String((e.params as { additionalProperty: string }).additionalProperty);
      const where = joinPath(path, field);
      const known = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const near = known.find((k) => k.toLowerCase() === field.toLowerCase() || k.replace(/-/g, '') === field.toLowerCase().replace(/[-_]/g, ''));
      const hint = near ? ` (did you mean "${near}"? keys are case-sensitive)` : known.length ? ` (known fields: ${known.join(', ')})` : '';
      return { path: where, message: `unknown field "${field}"${hint}` };
    }
    case 'type':
      return { path, message: `must be ${expectedType((e.params as { type: unknown }).type)}, got ${describeValue(value)}` };
    case 'minimum':
    case 'maximum': {
      const limit = (e.params as { limit: number }).limit;
      return { path, message: `${describeValue(value)} is out of range (${e.keyword === 'minimum' ? 'minimum' : 'maximum'} ${limit})` };
    }
    default:
      return { path, message: e.message ?? `invalid (${e.keyword})` };
  }
}
