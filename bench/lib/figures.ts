// Shared by every bench/<area>.ts: the figure record, the log that prints a readable line per
// figure as it is measured and, at the end, one JSON object per figure per line, and the
// quantile helpers. (A directory, so scripts/run-bench.mjs does not list it as an area.)

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured figure, printed as one JSON line at the end of a bench run. */
export interface Figure {
  bench: string;
  case: string;
  metric: string;
  value: number;
  unit: string;
  /** The same figure for the reference implementation, measured in the same run. */
  reference?: number;
  ratio?: number;
  /** Which implementation `reference` was measured on, where the bench names it. */
  reference_impl?: string;
  /** `measured`: a real reference program ran in the same run; `computed`: derived (say how in `note`). */
  reference_kind?: 'measured' | 'computed';
  note?: string;
  /** Row title in the README's Performance table (scripts/bench-table.mjs); figures without one are not tabled. */
  readme?: string;
}

/** A figure as a bench reports it; the log fills in `bench`. */
export type FigureInput = Omit<Figure, 'bench'>;

export class FigureLog {
  readonly figures: Figure[] = [];

  constructor(readonly bench: string) {}

  /** Records a figure and prints `text` (when given) as its readable line. */
  add(figure: FigureInput, text?: string): Figure {
    const f: Figure = { bench: this.bench, ...figure };
    this.figures.push(f);
    if (text !== undefined) console.log(text);
    return f;
  }

  /**
   * Prints every recorded figure as one JSON object per line (the machine-readable tail) and,
   * unless the run was `--quick` or `--no-save`, saves them with the run's context to
   * bench/results/<bench>.json (or <NAME>.json with `--save-as NAME`), from which scripts/bench-table.mjs writes the README's table.
   */
  printJSON(argv: readonly string[] = process.argv.slice(2)): void {
    for (const f of this.figures) console.log(JSON.stringify(f));
    if (argv.includes('--quick') || argv.includes('--no-save')) return;
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    // `--save-as NAME` keeps a run with other arguments (say, one large count) beside the default run.
    const saveAt = argv.indexOf('--save-as');
    const name = saveAt >= 0 && /^[a-z0-9-]+$/.test(argv[saveAt + 1] ?? '') ? argv[saveAt + 1] : this.bench;
    const file = join(dir, `${name}.json`);
    const run = {
      bench: this.bench,
      date: new Date().toISOString(),
      args: argv,
      node: process.version,
      cpus: availableParallelism(),
      loadavg_start: this.loadStart,
      loadavg_end: loadavg().map((l) => +l.toFixed(1)),
      figures: this.figures,
    };
    writeFileSync(file, JSON.stringify(run, null, 1) + '\n');
    console.log(`saved ${this.figures.length} figures to ${file}`);
  }

  private readonly loadStart = loadavg().map((l) => +l.toFixed(1));
}

/**
 * Nearest-rank quantile (q in [0, 1]) of values sorted ascending: the smallest value with at
 * least q of the samples at or below it. NaN for no values.
 */
export function quantile(sortedValues: ArrayLike<number>, q: number): number {
  const n = sortedValues.length;
  if (n === 0) return NaN;
  const i = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sortedValues[i];
}

/** Sorts a copy ascending. */
export function sorted(values: ArrayLike<number>): number[] {
  return Array.from(values).sort((a, b) => a - b);
}

/** Nearest-rank median (the lower middle value for an even count) of values in any order. */
export function median(values: ArrayLike<number>): number {
  return quantile(sorted(values), 0.5);
}

/** Options of the trial-based benches: `--quick` (3 trials), `--trials N` (default 10), `--only <case>`. */
export function trialOptions(argv: readonly string[] = process.argv.slice(2)): { quick: boolean; trials: number; only: string | undefined } {
  const quick = argv.includes('--quick');
  const trialsAt = argv.indexOf('--trials');
  const onlyAt = argv.indexOf('--only');
  return {
    quick,
    trials: trialsAt >= 0 ? Number(argv[trialsAt + 1]) : quick ? 3 : 10,
    only: onlyAt >= 0 ? argv[onlyAt + 1] : undefined,
  };
}
