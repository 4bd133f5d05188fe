// Time for the member state machine and the probe/gossip scheduler: the current time and
// cancellable one-shot timers. TimerSet is the real one; unit tests drive a manual clock.

export interface Clock {
  now(): number;
  /** Runs `fn` after `ms` unless the returned function is called first. */
  after(ms: number, fn: () => void): () => void;
}

/** Real timers, all cancelled by stop(); none fires after it. */
export class TimerSet implements Clock {
  private readonly pending = new Set<NodeJS.Timeout>();
  private active = true;

  now(): number {
    return Date.now();
  }

  after(ms: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.pending.delete(t);
      if (this.active) fn();
    }, ms);
    this.pending.add(t);
    return () => {
      clearTimeout(t);
      this.pending.delete(t);
    };
  }

  stop(): void {
    this.active = false;
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
  }
}
