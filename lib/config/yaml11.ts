// Strict YAML 1.1 decoding the way upstream's gopkg.in/yaml.v2 (UnmarshalStrict) reads the
// config: duplicate keys are errors, plain scalars are resolved by YAML 1.1 rules (yes/on are
// booleans, 0x/0b/0-octal integers, `_` separators), quoted and block scalars are always strings,
// and string fields take a scalar's source text.
//
// js-yaml does the parsing. A catch-all implicit type wraps every plain scalar in PlainScalar
// (implicit types are only tried on plain scalars), so quoting is never lost; this module then
// resolves the wrapped text itself.

import yaml from 'js-yaml';

/** A plain (unquoted, non-block) scalar with its source text. */
export class PlainScalar {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
  get [Symbol.toStringTag](): string {
    return 'PlainScalar';
  }
}

/** The decoded tree: plain scalars wrapped, quoted/block scalars as strings, empty as null. */
export type RawNode = PlainScalar | string | null | RawNode[] | { [key: string]: RawNode };

const plainType = new yaml.Type('tag:metallb-ts.invalid,2024:plain', {
  kind: 'scalar',
  resolve: () => true,
  construct: (data: string | null) => new PlainScalar(data ?? ''),
  instanceOf: PlainScalar,
});

// The merge key `<<` is YAML 1.1 and supported by yaml.v2; it must resolve before the catch-all.
// (`types` is exported at run time but missing from @types/js-yaml)
const mergeType = (yaml as unknown as { types: { merge: yaml.Type } }).types.merge;
const schema = yaml.FAILSAFE_SCHEMA.extend({ implicit: [mergeType, plainType] });

export class YAMLSyntaxError extends Error {
  constructor(message: string, readonly line?: number, readonly column?: number) {
    super(message);
    this.name = 'YAMLSyntaxError';
  }
}

function wrapYamlError(err: unknown): YAMLSyntaxError {
  if (err instanceof yaml.YAMLException) {
    const m = err.mark;
    const where = m ? ` at line ${m.line + 1}, column ${m.column + 1}` : '';
    return new YAMLSyntaxError(`YAML: ${err.reason}${where}`, m ? m.line + 1 : undefined, m ? m.column + 1 : undefined);
  }
  return new YAMLSyntaxError(`YAML: ${(err as Error).message}`);
}

/** Decodes one YAML document strictly. Empty input gives null. Throws YAMLSyntaxError. */
export function decodeStrict(text: string): RawNode {
  try {
    const docs: unknown[] = [];
    yaml.loadAll(text, (d) => docs.push(d), { schema, json: false });
    if (docs.length > 1) throw new YAMLSyntaxError(`YAML: expected one document, found ${docs.length}`);
    return ownTree((docs[0] ?? null) as RawNode);
  } catch (err) {
    if (err instanceof YAMLSyntaxError) throw err;
    throw wrapYamlError(err);
  }
}

/**
 * The decoded tree rebuilt from null-prototype mappings: every key of the document (also
 * `__proto__`, `constructor`) is an own data property and no mapping inherits anything, whatever
 * the YAML library did with such keys. Shared nodes (aliases) stay shared, cycles stay cycles.
 */
function ownTree(root: RawNode): RawNode {
  const done = new Map<object, RawNode>();
  const copy = (node: RawNode): RawNode => {
    if (node === null || typeof node !== 'object' || node instanceof PlainScalar) return node;
    const seen = done.get(node);
    if (seen !== undefined) return seen;
    if (Array.isArray(node)) {
      const out: RawNode[] = [];
      done.set(node, out);
      for (const item of node) out.push(copy(item));
      return out;
    }
    const out = Object.create(null) as { [key: string]: RawNode };
    done.set(node, out);
    for (const key of Object.keys(node)) out[key] = copy(node[key]); // no __proto__ setter on a null-prototype object
    return out;
  };
  return copy(root);
}

/** Keys no mapping of the config may have: they name parts of JavaScript objects, not fields. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__']);

// ---------------------------------------------------------------- YAML 1.1 resolution

const BOOL_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const BOOL_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const SPECIAL_FLOATS: Record<string, number> = {
  '.inf': Infinity, '.Inf': Infinity, '.INF': Infinity, '+.inf': Infinity, '+.Inf': Infinity, '+.INF': Infinity,
  '-.inf': -Infinity, '-.Inf': -Infinity, '-.INF': -Infinity, '.nan': NaN, '.NaN': NaN, '.NAN': NaN,
};

/** Integer text as yaml.v2 reads it (underscores removed; 0x hex, 0o/0-octal, 0b binary). */
function parseYamlInt(text: string): bigint | undefined {
  let s = text.replace(/_/g, '');
  let sign = 1n;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1n;
    s = s.slice(1);
  }
  let digits: string, base: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) { digits = s.slice(2); base = 16; }
  else if (/^0[bB][01]+$/.test(s)) { digits = s.slice(2); base = 2; }
  else if (/^0[oO][0-7]+$/.test(s)) { digits = s.slice(2); base = 8; }
  else if (/^0[0-7]+$/.test(s)) { digits = s.slice(1); base = 8; }
  else if (/^(0|[1-9][0-9]*)$/.test(s)) { digits = s; base = 10; }
  else return undefined;
  let v = 0n;
  const b = BigInt(base);
  for (const ch of digits) v = v * b + BigInt(parseInt(ch, base));
  return sign * v;
}

/** A resolved scalar value of the typed tree. */
export type Scalar = string | number | boolean | null;
export type TypedNode = Scalar | TypedNode[] | { [key: string]: TypedNode };

/** Resolves one plain scalar the YAML 1.1 way. Integers outside ±2^63 stay as their text. */
export function resolvePlain(text: string): Scalar {
  if (NULLS.has(text)) return null;
  if (BOOL_TRUE.has(text)) return true;
  if (BOOL_FALSE.has(text)) return false;
  if (Object.hasOwn(SPECIAL_FLOATS, text)) return SPECIAL_FLOATS[text]; // not `in`: "toString" is no float
  // yaml.v2 tries numbers only for scalars starting with a digit, a sign or a dot ("_0" is text)
  if (!/^[-+.0-9]/.test(text)) return text;
  const i = parseYamlInt(text);
  if (i !== undefined) {
    if (i > 18446744073709551615n || i < -9223372036854775808n) return text;
    return Number(i);
  }
  const stripped = text.replace(/_/g, '');
  if (FLOAT.test(stripped)) return Number(stripped);
  return text;
}

/**
 * The typed view of a decoded tree: plain scalars resolved, quoted scalars strings. Mapping
 * values that are null are dropped (null means "absent" for every field of the config);
 * null list items are kept (the caller turns them into defaults).
 * `budget` bounds the number of nodes visited, so alias bombs cannot hang the parser.
 */
const MAX_DEPTH = 1000;

export function toTyped(root: RawNode, budget = { nodes: 2_000_000 }): TypedNode {
  // A node reached again through an alias is converted once and shared (the typed tree is a
  // DAG, as the decoded one is), but still counts its full expanded size against the budget.
  const memo = new Map<object, { typed: TypedNode; size: number; height: number } | 'in progress'>();
  const tooLarge = () => new YAMLSyntaxError('YAML: document too large (too many nodes after alias expansion)');
  const convert = (node: RawNode, depth: number): { typed: TypedNode; size: number; height: number } => {
    // a self-referencing alias (`&a [*a]`) decodes to a cyclic tree: stop before the stack does
    if (depth > MAX_DEPTH) throw new YAMLSyntaxError(`YAML: document nested more than ${MAX_DEPTH} levels deep (or an alias refers to itself)`);
    if (node === null || typeof node === 'string') { if (--budget.nodes < 0) throw tooLarge(); return { typed: node, size: 1, height: 0 }; }
    if (node instanceof PlainScalar) { if (--budget.nodes < 0) throw tooLarge(); return { typed: resolvePlain(node.text), size: 1, height: 0 }; }
    const known = memo.get(node);
    if (known === 'in progress') throw new YAMLSyntaxError(`YAML: document nested more than ${MAX_DEPTH} levels deep (or an alias refers to itself)`);
    if (known) {
      budget.nodes -= known.size;
      if (budget.nodes < 0) throw tooLarge();
      if (depth + known.height > MAX_DEPTH) throw new YAMLSyntaxError(`YAML: document nested more than ${MAX_DEPTH} levels deep (or an alias refers to itself)`);
      return known;
    }
    if (--budget.nodes < 0) throw tooLarge();
    memo.set(node, 'in progress');
    let size = 1;
    let height = 0;
    let typed: TypedNode;
    if (Array.isArray(node)) {
      typed = node.map((n) => {
        const c = convert(n, depth + 1);
        size += c.size;
        height = Math.max(height, c.height + 1);
        return c.typed;
      });
    } else {
      // own data properties only (defineProperty never runs the __proto__ setter)
      const out: { [key: string]: TypedNode } = {};
      for (const [k, v] of Object.entries(node)) {
        const c = convert(v, depth + 1);
        size += c.size;
        height = Math.max(height, c.height + 1);
        if (c.typed !== null) Object.defineProperty(out, k, { value: c.typed, enumerable: true, writable: true, configurable: true });
      }
      typed = out;
    }
    const done = { typed, size, height };
    memo.set(node, done);
    return done;
  };
  return convert(root, 0).typed;
}

/** The source text of a scalar node (plain or quoted); '' for null. */
export function scalarText(node: RawNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (node === null) return '';
  if (typeof node === 'string') return node;
  if (node instanceof PlainScalar) return node.text;
  return undefined;
}

/** How a typed value is described in an error message. */
export function describeValue(raw: RawNode | undefined): string {
  if (raw === undefined || raw === null) return 'an empty value';
  if (raw instanceof PlainScalar) return JSON.stringify(raw.text);
  if (typeof raw === 'string') return `the quoted string ${JSON.stringify(raw)}`;
  if (Array.isArray(raw)) return 'a list';
  return 'a mapping';
}
