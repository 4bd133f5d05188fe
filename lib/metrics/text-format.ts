// A reader for the Prometheus text exposition format (version 0.0.4), for `metallbctl status`,
// which reads the speakers' /metrics through the API server. Input from the network: the size is
// capped, every line is parsed with bounded work, and a malformed line is skipped and counted,
// never thrown on. Comments (# HELP / # TYPE) are ignored; timestamps are accepted and dropped.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ParsedMetrics {
  readonly samples: readonly Sample[];
  /** Lines that were not a comment, blank or a valid sample. */
  readonly malformed: number;
  /** True when the input was longer than the cap and its tail was ignored. */
  readonly truncated: boolean;
}

export const MAX_METRICS_BYTES = 16 * 1024 * 1024;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** One sample line, or undefined when it is not one. */
export function parseSampleLine(line: string): Sample | undefined {
  const m = NAME.exec(line);
  if (!m) return undefined;
  const name = m[0];
  let i = name.length;
  const labels = new Map<string, string>();
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ') i++;
      if (line[i] === '}') { i++; break; }
      const ln = LABEL_NAME.exec(line.slice(i, i + 1024));
      if (!ln) return undefined;
      i += ln[0].length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=') return undefined;
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') return undefined;
      i++;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        if (c === '"') { i++; break; }
        if (c === '\\') {
          const n = line[i + 1];
          if (n === 'n') value += '\n';
          else if (n === '\\' || n === '"') value += n;
          else return undefined;
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      if (labels.has(ln[0])) return undefined;
      labels.set(ln[0], value);
      while (line[i] === ' ') i++;
      if (line[i] === ',') { i++; continue; }
      if (line[i] === '}') { i++; break; }
      return undefined;
    }
  }
  if (line[i] !== ' ' && line[i] !== '\t') return undefined;
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2) return undefined;
  const value = parseValue(rest[0]);
  if (value === undefined) return undefined;
  if (rest.length === 2 && !/^-?\d{1,19}$/.test(rest[1])) return undefined;
  // fromEntries defines own properties, so a label called __proto__ is just a label
  return { name, labels: Object.fromEntries(labels), value };
}

export function parseMetricsText(text: string): ParsedMetrics {
  const truncated = text.length > MAX_METRICS_BYTES;
  const body = truncated ? text.slice(0, MAX_METRICS_BYTES) : text;
  const samples: Sample[] = [];
  let malformed = 0;
  for (const raw of body.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const s = parseSampleLine(line);
    if (s) samples.push(s);
    else malformed++;
  }
  return { samples, malformed, truncated };
}

/** The samples of one metric. */
export function samplesOf(m: ParsedMetrics, name: string): Sample[] {
  return m.samples.filter((s) => s.name === name);
}
