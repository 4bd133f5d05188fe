// A clock for unit tests of the member state machine and the scheduler: time moves only when a
// test calls advance(), which fires due timers in order and lets promises settle between them.
import type { Clock } from '../../../lib/memberlist/clock.js';

interface Pending { at: number; seq: number; fn: () => void }

export class ManualClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private pending: Pending[] = [];

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): () => void {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.push(p);
    return () => { this.pending = this.pending.filter((x) => x !== p); };
  }

  /** Timers armed and not yet fired or cancelled. */
  get armed(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in time order. */
  async advance(ms: number): Promise<void> {
    const until = this.t + ms;
    await settle();
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.pending[0];
      if (!next || next.at > until) break;
      this.pending.shift();
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = until;
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
