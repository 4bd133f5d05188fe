// What we advertise to one peer (Adj-RIB-Out): the desired routes, what the peer holds from us,
// and the paced diff between them. A diff runs in chunks of DIFF_CHUNK prefixes per event-loop
// turn (the first chunk at once) and writes in slices of a few full UPDATEs, so that a large set
// (10,000 routes) never stalls the loop; a new desired set arriving mid-way restarts the diff
// against what has been sent so far. No sockets: UPDATEs go to the target's write().

import type { CIDR, IPAddress } from '../ip/index.js';
import type { Logger } from '../util/log.js';
import {
  endOfRIB, groupByAttributes, normaliseCommunities, packGroup, packWithdrawals, prefixesPerMessages,
  type Advertisements, type Route, type RouteWithNextHop, type UpdateContext,
} from './advertisement.js';

/** One established connection, as the RIB sees it. */
export interface RibTarget {
  readonly families: ReadonlySet<4 | 6>;
  readonly fourOctetAS: boolean;
  /** False once the connection is gone; the RIB then stops writing to it. */
  live(): boolean;
  /** The next hop for a route on this connection, or why it cannot be advertised. */
  nextHop(route: Route): IPAddress | string;
  /** Writes UPDATE bytes (one or more whole messages). */
  write(bytes: Buffer): void;
}

export interface RibOptions {
  readonly myASN: number;
  readonly peerASN: number;
  readonly log: Logger;
  /** A route newly found unadvertisable (or for a new reason). */
  readonly rejected?: (prefix: string, reason: string) => void;
  /** Runs `fn` on a later event-loop turn; setImmediate unless a test steps by hand. */
  readonly defer?: (fn: () => void) => void;
}

export interface RibStats {
  /** UPDATE messages sent (a packed withdraw counts 1). */
  updatesSent: number;
  /** Bytes of UPDATE messages sent. */
  updateBytesSent: number;
}

interface SentRoute {
  readonly route: Route;
  readonly nextHop: IPAddress;
}

interface DiffJob {
  readonly target: RibTarget;
  readonly desired: ReadonlyMap<string, Route>;
  readonly entries: Iterator<[string, Route]>;
  withdrawing?: Iterator<[string, SentRoute]>;
  readonly rejected: Map<string, string>;
}

export const MAX_COMMUNITIES_PER_ROUTE = 900; // keeps one route's attributes well inside a 4096-byte UPDATE
/** Work per event-loop turn when sending a large change: 5 full UPDATEs (about 4,000 /32s). */
const MESSAGES_PER_SLICE = 5;
const WITHDRAWALS_PER_SLICE = 4000;
/** Prefixes compared per event-loop turn: one full UPDATE of /32s. */
export const DIFF_CHUNK = 810;

export class AdjRibOut {
  private desired: Map<string, Route> = new Map();
  /** What the peer currently holds from us (empty while down). */
  private readonly advertised = new Map<string, SentRoute>();
  private readonly rejectedRoutes = new Map<string, string>();
  private target?: RibTarget;
  private endOfRIBPending = false;
  /** Encoding work waiting to be written, in order. */
  private outQueue: (() => Buffer[])[] = [];
  private draining = false;
  private diffJob?: DiffJob;
  private readonly defer: (fn: () => void) => void;

  constructor(private readonly o: RibOptions, readonly stats: RibStats = { updatesSent: 0, updateBytesSent: 0 }) {
    this.defer = o.defer ?? setImmediate;
  }

  /** Prefixes the peer currently holds from us (0 while down). */
  get announced(): number {
    return this.advertised.size;
  }

  /** Prefixes that should be advertised. */
  get pending(): number {
    return this.desired.size;
  }

  /** Prefixes that cannot be sent to this peer, with the reason. */
  get rejected(): ReadonlyMap<string, string> {
    return this.rejectedRoutes;
  }

  /** Replaces the desired set; sent at once when a connection is up. */
  setDesired(routes: Advertisements): void {
    this.desired = new Map(routes);
    this.sync();
  }

  /** A connection is established: send the full set, then End-of-RIB for each family. */
  attach(target: RibTarget): void {
    this.target = target;
    this.endOfRIBPending = true;
    this.sync();
  }

  /** The connection is gone: the peer holds nothing from us any more. */
  detach(): void {
    this.target = undefined;
    this.advertised.clear();
    this.outQueue = [];
    this.diffJob = undefined;
  }

  /** Re-sends every advertised route of one family (the peer asked with ROUTE-REFRESH). */
  refresh(family: 4 | 6): void {
    for (const [key, sent] of this.advertised) if (sent.route.prefix.family === family) this.advertised.delete(key);
    this.sync();
  }

  /** Finishes the diff in progress and writes everything queued, synchronously (before a Cease). */
  flush(): void {
    const target = this.target;
    if (!target || !target.live()) return;
    while (this.diffJob && this.diffJob.target === target) this.diffStep();
    const tasks = this.outQueue;
    this.outQueue = [];
    for (const task of tasks) this.send(target, task());
  }

  private sync(): void {
    const target = this.target;
    if (!target || !target.live()) return;
    const running = this.diffJob !== undefined;
    this.diffJob = { target, desired: this.desired, entries: this.desired.entries(), rejected: new Map() };
    if (!running) this.diffStep();
  }

  private diffStep(): void {
    const job = this.diffJob;
    if (!job) return;
    const target = job.target;
    if (!target.live() || target !== this.target) {
      this.diffJob = undefined;
      return;
    }
    const announce: RouteWithNextHop[] = [];
    const withdraw: CIDR[] = [];
    let budget = DIFF_CHUNK;
    let finished = false;
    while (budget > 0 && job.withdrawing === undefined) {
      const next = job.entries.next();
      if (next.done) {
        job.withdrawing = this.advertised.entries();
        break;
      }
      budget--;
      const [key, route] = next.value;
      let nh: IPAddress | string = target.nextHop(route);
      if (typeof nh !== 'string' && route.communities.length > MAX_COMMUNITIES_PER_ROUTE) nh = `more than ${MAX_COMMUNITIES_PER_ROUTE} communities`;
      if (typeof nh === 'string') {
        job.rejected.set(key, nh);
        if (this.rejectedRoutes.get(key) !== nh) {
          this.o.log.warn({ op: 'advertise', prefix: key, reason: nh }, 'route cannot be advertised to this peer');
          this.o.rejected?.(key, nh);
        }
        continue;
      }
      const prev = this.advertised.get(key);
      if (prev && prev.nextHop.equals(nh) && sameAttributes(prev.route, route)) continue;
      announce.push({ route, nextHop: nh });
      this.advertised.set(key, { route, nextHop: nh });
    }
    while (budget > 0 && job.withdrawing !== undefined) {
      const next = job.withdrawing.next();
      if (next.done) {
        finished = true;
        break;
      }
      budget--;
      const [key, sent] = next.value;
      if (!job.desired.has(key) || job.rejected.has(key)) {
        withdraw.push(sent.route.prefix);
        this.advertised.delete(key);
      }
    }
    if (withdraw.length > 0 || announce.length > 0) {
      this.o.log.debug({ op: 'advertise', announced: announce.length, withdrawn: withdraw.length }, 'sending changes');
    }
    for (let i = 0; i < withdraw.length; i += WITHDRAWALS_PER_SLICE) {
      const slice = withdraw.slice(i, i + WITHDRAWALS_PER_SLICE);
      this.enqueue(target, () => packWithdrawals(slice));
    }
    const ctx: UpdateContext = { fourOctetAS: target.fourOctetAS, myASN: this.o.myASN, ibgp: this.o.myASN === this.o.peerASN };
    for (const group of groupByAttributes(announce, ctx)) {
      const step = prefixesPerMessages(group, MESSAGES_PER_SLICE);
      for (let i = 0; i < group.prefixes.length; i += step) this.enqueue(target, () => packGroup(group, i, i + step));
    }
    if (!finished) {
      this.defer(() => this.diffStep());
      return;
    }
    this.diffJob = undefined;
    this.rejectedRoutes.clear();
    for (const [k, v] of job.rejected) this.rejectedRoutes.set(k, v);
    if (this.endOfRIBPending) {
      // End-of-RIB after the initial full advertisement (RFC 4724)
      this.endOfRIBPending = false;
      for (const f of [...target.families].sort()) this.enqueue(target, () => [endOfRIB(f)]);
    }
  }

  /** Queues encoding work for the connection; slices run in order, one per event-loop turn. */
  private enqueue(target: RibTarget, task: () => Buffer[]): void {
    this.outQueue.push(task);
    if (this.draining) return;
    this.draining = true;
    this.defer(() => this.drain(target));
  }

  private drain(target: RibTarget): void {
    if (!target.live() || this.target !== target) {
      this.draining = false;
      return;
    }
    const task = this.outQueue.shift();
    if (task) this.send(target, task());
    if (this.outQueue.length > 0) this.defer(() => this.drain(target));
    else this.draining = false;
  }

  private send(target: RibTarget, msgs: Buffer[]): void {
    if (msgs.length === 0 || !target.live()) return;
    const all = Buffer.concat(msgs);
    this.stats.updatesSent += msgs.length;
    this.stats.updateBytesSent += all.length;
    target.write(all);
  }
}

function sameAttributes(a: Route, b: Route): boolean {
  if (a.localPref !== b.localPref) return false;
  const ca = normaliseCommunities(a.communities);
  const cb = normaliseCommunities(b.communities);
  return ca.length === cb.length && ca.every((c, i) => c === cb[i]);
}
