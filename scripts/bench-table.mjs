#!/usr/bin/env node
// Writes the README's Performance table from the benchmarks' saved output, never by hand:
//   node scripts/bench-table.mjs [--check]
// reads bench/results/<area>.json (written by `npm run bench -- <area>`, see bench/lib/figures.ts)
// and replaces the lines between <!-- bench-table:begin --> and <!-- bench-table:end --> in
// README.md with one row per figure that carries a `readme` title. Each row says whether its
// reference was measured in the same run (and on what) or computed. --check exits 1 when the
// README is not what the saved results give.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'bench', 'results');
const BEGIN = '<!-- bench-table:begin -->';
const END = '<!-- bench-table:end -->';

const num = (v) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a > 0 && a < 0.01) return v.toPrecision(2);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
};
const withUnit = (v, unit) => (unit === 'ratio' ? num(v) : `${num(v)} ${unit}`);

const rows = [];
const runs = [];
for (const f of existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []) {
  const run = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  runs.push(`${run.bench}: ${run.date.slice(0, 10)}, Node ${run.node}, load ${run.loadavg_start?.[0]}→${run.loadavg_end?.[0]}`);
  for (const fig of run.figures) {
    if (!fig.readme) continue;
    const hasRef = fig.reference !== undefined;
    const kind = !hasRef ? 'none' : fig.reference_kind === 'computed' ? 'computed' : fig.reference_kind === 'measured' ? `measured: ${fig.reference_impl ?? '?'}` : 'unlabelled';
    rows.push(`| ${run.bench} | ${fig.readme} | ${withUnit(fig.value, fig.unit)} | ${hasRef ? withUnit(fig.reference, fig.unit) : ''} | ${fig.ratio !== undefined ? num(fig.ratio) : ''} | ${kind}${fig.note ? ` (${fig.note})` : ''} |`);
  }
}
const table = [
  '| Area | Figure | Ours | Reference | Ratio | Reference is |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
  `Runs: ${runs.join('; ') || 'none saved yet'}.`,
].join('\n');

const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const b = readme.indexOf(BEGIN);
const e = readme.indexOf(END);
if (b < 0 || e < b) {
  console.error(`README.md has no ${BEGIN} … ${END} block`);
  process.exit(2);
}
const next = `${readme.slice(0, b + BEGIN.length)}\n${table}\n${readme.slice(e)}`;
if (process.argv.includes('--check')) {
  if (next !== readme) { console.error('README.md Performance table differs from bench/results (run node scripts/bench-table.mjs)'); process.exit(1); }
  console.log('README.md Performance table matches bench/results');
} else {
  writeFileSync(readmePath, next);
  console.log(`README.md: ${rows.length} rows from ${runs.length} saved runs`);
}
