// The import direction between layers, checked over the TypeScript sources of a tree. Used by
// test/unit/repo/layers.test.ts on the real tree and on a tree with a planted violation.
// CONTRIBUTING.md explains the layers; RULES below is the single statement of what may import what.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

export interface ImportEdge {
  /** Importing file, relative to the root. */
  from: string;
  /** A repository path (resolved relative import, `.js` → `.ts`) or a package / `node:` name. */
  to: string;
  line: number;
  /** `import type` / `export type`: no dependency at run time. */
  typeOnly: boolean;
}

export interface Violation extends ImportEdge {
  rule: string;
}

export interface Rule {
  name: string;
  /** Files the rule applies to. */
  files: RegExp;
  /** Imports these files may not have (type-only imports included). */
  forbidden: RegExp;
  /**
   * Checked over everything the file loads at run time, directly or through other files
   * (type-only imports excluded): a decision core may not reach a socket through a helper.
   */
  transitive?: boolean;
  /** Files exempt from the rule, each with its reason (see CONTRIBUTING.md). */
  except?: Readonly<Record<string, string>>;
  /** Single imports exempt from the rule ("from -> to"), each with its reason. */
  allow?: Readonly<Record<string, string>>;
}

/** Modules that do I/O: sockets, files, processes, the Kubernetes API. */
const IO = String.raw`node:(net|dgram|fs|fs/promises|child_process|http|https|readline)$|^@kubernetes/client-node$`;

export const RULES: readonly Rule[] = [
  { name: 'lib ships alone: it never imports bin/, test/ or bench/', files: /^lib\//, forbidden: /^(bin|test|bench)\// },
  { name: 'bin holds the entry points: tests and benches run them, never import them', files: /^(test|bench)\//, forbidden: /^bin\// },
  { name: 'tests never import benches', files: /^test\//, forbidden: /^bench\// },
  {
    name: 'lib/ip is pure: only itself',
    files: /^lib\/ip\//,
    forbidden: new RegExp(String.raw`^lib\/(?!ip\/)|${IO}|^(?!node:|lib\/)`),
  },
  {
    name: 'lib/config is pure: lib/ip, itself and lib/util; no I/O',
    files: /^lib\/config\//,
    forbidden: new RegExp(String.raw`^lib\/(?!(ip|config|util)\/)|${IO}`),
    except: {
      'lib/config/validate-command.ts': 'the `metallbctl validate` command (reads its input file through lib/cli)',
      'lib/config/shape.ts': 'loads the JSON Schema shipped in schema/ once, when first used',
    },
  },
  {
    name: 'decision cores do not touch sockets, files or Kubernetes',
    files: new RegExp(String.raw`^lib\/(allocator\/|controller\/reconcile\.ts|speaker\/(decide|election|endpoints|advertisements|pools|selectors|peers|state|speakerlist)\.ts|layer2\/decisions\.ts|memberlist\/(members|scheduler|broadcast|config|messages|msgpack|lzw|packet|stream)\.ts|bgp\/(fsm|rib|advertisement|codec|errors)\.ts|migrate\/(convert|names)\.ts)`),
    forbidden: new RegExp(String.raw`${IO}|^lib\/(k8s\/client|native|sandbox)|^lib\/layer2\/sockets\.ts$|^lib\/memberlist\/transport\.ts$|^lib\/bgp\/(connection|tcp-md5|session)\.ts$`),
    transitive: true,
    allow: { 'lib/memberlist/address.ts -> node:net': 'only the pure isIPv4/isIPv6 checks' },
  },
];

function sources(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try { entries = readdirSync(dir); } catch { return; }
    for (const e of entries.sort()) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) {
        if (e !== 'node_modules' && e !== 'dist') walk(p);
      } else if (e.endsWith('.ts') && !e.endsWith('.d.ts')) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  for (const top of ['bin', 'lib', 'test', 'bench']) walk(join(root, top));
  return out;
}

/** Every static and dynamic import (and re-export) of the tree's .ts files under bin, lib, test and bench. */
export function importEdges(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const statement = /^[ \t]*(import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?'([^']+)'|\bimport\s*\(\s*'([^']+)'\s*\)/gm;
  for (const file of sources(root)) {
    const text = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/.*$/gm, '');
    for (const m of text.matchAll(statement)) {
      const target = (m[3] ?? m[4])!;
      const to = target.startsWith('.') ? normalize(join(dirname(file), target)).split(sep).join('/').replace(/\.js$/, '.ts') : target;
      const line = text.slice(0, m.index).split('\n').length;
      edges.push({ from: file, to, line, typeOnly: m[2] !== undefined });
    }
  }
  return edges;
}

export function checkLayers(root: string, rules: readonly Rule[] = RULES): Violation[] {
  const edges = importEdges(root);
  const runtime = new Map<string, ImportEdge[]>();
  for (const e of edges) if (!e.typeOnly) runtime.set(e.from, [...(runtime.get(e.from) ?? []), e]);
  const out: Violation[] = [];
  for (const r of rules) {
    const files = new Set(edges.map((e) => e.from).filter((f) => r.files.test(f) && !(r.except && f in r.except)));
    const forbidden = (from: string, to: string): boolean => r.forbidden.test(to) && !(r.allow && `${from} -> ${to}` in r.allow);
    for (const e of edges) if (files.has(e.from) && forbidden(e.from, e.to)) out.push({ ...e, rule: r.name });
    if (!r.transitive) continue;
    for (const f of files) {
      // what f loads through its (allowed) direct imports; report the first forbidden module reached
      const seen = new Set<string>([f]);
      const queue = (runtime.get(f) ?? []).filter((e) => !forbidden(e.from, e.to)).map((e) => ({ edge: e, via: e.to }));
      while (queue.length > 0) {
        const { edge, via } = queue.shift()!;
        if (seen.has(via)) continue;
        seen.add(via);
        for (const next of runtime.get(via) ?? []) {
          if (forbidden(via, next.to)) out.push({ ...edge, to: `${next.to} (through ${via})`, rule: r.name });
          else queue.push({ edge, via: next.to });
        }
      }
    }
  }
  return out;
}
