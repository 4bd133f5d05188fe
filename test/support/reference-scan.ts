// Scans the repository's text files for references that leave the repository — the behaviour
// documents of the session that wrote this project ("spec §x.y", "wire spec §…", quirk codes
// "Qn", "issue N", paths into ../shared) — and for links to documentation anchors that do not
// exist. Every such reference must point into docs/behaviour/ (docs/behaviour/README.md).
// Used by test/unit/repo/references.test.ts on the real tree and on planted violations.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

export interface Finding {
  file: string;
  line: number;
  kind: 'outside-reference' | 'section-sign' | 'quirk-code' | 'issue-number' | 'missing-file' | 'missing-anchor';
  text: string;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'build', 'vectors']);
const TEXT_EXT = /\.(ts|mts|mjs|js|md|ya?ml|sh|json|txt|go|cc|h|gyp)$|^Dockerfile$|^README$/;
const SKIP_FILES = new Set(['package-lock.json', 'go.sum']);
/** The scanner and its test spell out the patterns they look for. */
const SELF = new Set(['test/support/reference-scan.ts', 'test/unit/repo/references.test.ts']);

/** Text files under `root` that the repository ships or tests with (build output excluded). */
export function textFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      const st = statSync(p);
      if (st.isDirectory()) {
        if (!SKIP_DIRS.has(e)) walk(p);
      } else if (TEXT_EXT.test(e) && !SKIP_FILES.has(e) && st.size < 2_000_000) {
        out.push(relative(root, p).split(sep).join('/'));
      }
    }
  };
  walk(root);
  return out;
}

/** Explicit `<a id="…">` anchors, plus GitHub's slugs of the headings. */
export function anchorsOf(text: string): Set<string> {
  const ids = new Set<string>();
  for (const m of text.matchAll(/<a id="([^"]+)"><\/a>/g)) ids.add(m[1]!);
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) {
    ids.add(m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return ids;
}

const RFC_CHAIN = /RFC \d+ (?:§[\d.]+(?:, | and ))*$/;

export function scanReferences(root: string): Finding[] {
  const findings: Finding[] = [];
  const anchorCache = new Map<string, Set<string> | null>();
  const anchors = (file: string): Set<string> | null => {
    if (!anchorCache.has(file)) {
      const p = join(root, file);
      anchorCache.set(file, existsSync(p) ? anchorsOf(readFileSync(p, 'utf8')) : null);
    }
    return anchorCache.get(file)!;
  };
  const checkLink = (file: string, line: number, target: string, text: string): void => {
    const [path, anchor] = target.split('#') as [string, string | undefined];
    const a = anchors(path);
    if (a === null) findings.push({ file, line, kind: 'missing-file', text });
    else if (anchor !== undefined && anchor !== '' && !a.has(anchor)) findings.push({ file, line, kind: 'missing-anchor', text });
  };

  for (const file of textFiles(root)) {
    if (SELF.has(file)) continue;
    const text = readFileSync(join(root, file), 'utf8');
    const isQuirks = file === 'docs/behaviour/quirks.md';
    text.split('\n').forEach((raw, i) => {
      const n = i + 1;
      if (/\.\.\/shared\b|\/work\/shared\b|shared\/spec\//.test(raw)) findings.push({ file, line: n, kind: 'outside-reference', text: raw.trim() });
      for (const m of raw.matchAll(/§/g)) {
        if (!RFC_CHAIN.test(raw.slice(0, m.index))) findings.push({ file, line: n, kind: 'section-sign', text: raw.trim() });
      }
      if (!isQuirks) {
        const withoutLinks = raw.replace(/\[Q\d+\]\([^)]*quirks\.md#q\d+\)/g, '');
        if (/\bQ\d{1,2}\b/.test(withoutLinks)) findings.push({ file, line: n, kind: 'quirk-code', text: raw.trim() });
      }
      for (const m of raw.matchAll(/\bissues? #?\d+/gi)) {
        if (!/upstream $/i.test(raw.slice(0, m.index))) findings.push({ file, line: n, kind: 'issue-number', text: raw.trim() });
      }
      // links written as repository paths: docs/…/x.md#anchor
      for (const m of raw.matchAll(/(?<![\w./-])(docs\/[\w./-]+\.md)(#[\w-]+)?/g)) checkLink(file, n, m[1]! + (m[2] ?? ''), raw.trim());
      // relative markdown links in .md files
      if (file.endsWith('.md')) {
        for (const m of raw.matchAll(/\]\((?!https?:|mailto:|#)([^)\s]+\.md)(#[\w-]+)?\)/g)) {
          const target = normalize(join(dirname(file), m[1]!)).split(sep).join('/');
          checkLink(file, n, target + (m[2] ?? ''), raw.trim());
        }
        for (const m of raw.matchAll(/\]\(#([\w-]+)\)/g)) checkLink(file, n, `${file}#${m[1]}`, raw.trim());
      }
    });
  }
  return findings;
}
