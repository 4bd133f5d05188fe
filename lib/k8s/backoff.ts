// Exponential backoff with jitter, and an abortable sleep. The cap holds including the jitter: a
// delay is never above maxMs; near the cap the jitter spreads delays below it instead of above.

export class Backoff {
  private attempt = 0;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly factor = 2,
    private readonly jitter = 0.2,
  ) {}

  /** The delay before the next attempt (at most maxMs); grows with each call until reset(). */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    const raw = base * (1 + this.jitter * Math.random());
    if (raw <= this.maxMs) return Math.min(this.maxMs, Math.round(raw));
    // over the cap: spread over [maxMs × (1 − jitter), maxMs] so retries stay apart
    return Math.floor(this.maxMs * (1 - this.jitter * Math.random()));
  }

  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) { resolve(); return; }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
