// The "spam table" of spec 4.6.3: an address gained (or re-announced) is announced at once and
// then on every tick of a 1.1 s ticker until 5 s have passed; re-announcing an address already
// in the table only pushes its deadline out. Pure bookkeeping over an injected clock.
import { IPAddress } from '../ip/index.js';

export const GRATUITOUS_DURATION_MS = 5000;
export const GRATUITOUS_INTERVAL_MS = 1100;

export class GratuitousSchedule {
  private readonly deadlines = new Map<string, { ip: IPAddress; deadline: number }>();

  constructor(private readonly durationMs = GRATUITOUS_DURATION_MS) {}

  /** Puts ip in the table with deadline now+duration. True when it was not there (send it now). */
  add(ip: IPAddress, now: number): boolean {
    const key = ip.toBytes().toString('hex');
    const entry = this.deadlines.get(key);
    if (entry) {
      entry.deadline = now + this.durationMs;
      return false;
    }
    this.deadlines.set(key, { ip, deadline: now + this.durationMs });
    return true;
  }

  /** Drops ip at once (the address is no longer ours). */
  delete(ip: IPAddress): void {
    this.deadlines.delete(ip.toBytes().toString('hex'));
  }

  /** One ticker round: the addresses to announce again; expired ones leave the table. */
  tick(now: number): IPAddress[] {
    const due: IPAddress[] = [];
    for (const [key, entry] of this.deadlines) {
      if (now > entry.deadline) this.deadlines.delete(key);
      else due.push(entry.ip);
    }
    return due;
  }

  get size(): number {
    return this.deadlines.size;
  }
}
