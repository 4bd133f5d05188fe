// Go's time.ParseDuration syntax, which upstream uses for hold-time and keepalive-time:
// an optional sign, then one or more decimal numbers (optionally fractional) each with a unit
// ns, us, µs (U+00B5), μs (U+03BC), ms, s, m, h. The bare "0" is zero; any other unitless
// number is an error. Returned in nanoseconds (may be negative). Overflow of int64 is an error.

const UNIT_NS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};
const PART = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;
/** Go's int64 maximum (2^63 − 1) as the nearest double, 2^63; larger durations are out of range. */
const MAX_NS = 2 ** 63;

export class DurationError extends Error {}

export function parseGoDuration(text: string): number {
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`invalid duration "${text}"`);
  let total = 0;
  while (s.length > 0) {
    const m = PART.exec(s);
    if (!m) {
      if (/^[0-9.]+$/.test(s)) throw new DurationError(`missing unit in duration "${text}"`);
      throw new DurationError(`invalid duration "${text}"`);
    }
    const [whole, intPart, fracPart = '', unit] = m;
    if (intPart === '' && fracPart === '') throw new DurationError(`invalid duration "${text}"`);
    const value = Number(`${intPart || '0'}.${fracPart || '0'}`);
    total += value * UNIT_NS[unit];
    if (total > MAX_NS) throw new DurationError(`invalid duration "${text}" (out of range)`);
    s = s.slice(whole.length);
  }
  return neg ? -total : total;
}

/** Whole seconds, truncated toward zero (as upstream's time.Duration / time.Second). */
export function truncateToSeconds(ns: number): number {
  return Math.trunc(ns / 1e9);
}
