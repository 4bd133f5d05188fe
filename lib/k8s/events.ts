// Event recorder: core/v1 Events on an object, as client-go's legacy recorder that MetalLB v0.12
// uses (source component e.g. `metallb-controller`). Identical events (same object, type, reason,
// message) within `aggregateWindowMs` are aggregated: the first is created, later ones PATCH its
// `count` and `lastTimestamp`. Each aggregated Event has at most one write in flight: a repeat
// that arrives while its create or patch is running is folded into one follow-up patch carrying
// the latest count, so writes never overtake each other (the count only grows) and a patch never
// precedes the create. Sending is asynchronous and never blocks the caller: at most
// `concurrency` requests in flight, at most `maxPending` waiting (more are dropped and counted,
// as client-go drops events when its buffer is full). Failures are logged, never retried forever.
// A caller with more urgent writes (the controller's status writes) passes `busy`: while it
// returns true, events trickle out one at a time, so they take a small share of the API server
// instead of half of it; `kick()` resumes the full concurrency when the urgent writes are done.

import type { Logger } from '../util/log.js';
import type { KubeClient } from './client.js';
import type { KubeObject } from './informer.js';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  /** source.component and reportingComponent, e.g. metallb-controller. */
  readonly component: string;
  /** source.host / reportingInstance (optional). */
  readonly host?: string;
  readonly concurrency?: number;
  readonly maxPending?: number;
  /** How long an identical event is aggregated into the previous one (default 10 min, as client-go). */
  readonly aggregateWindowMs?: number;
  /** Bound on remembered events for aggregation (default 4096). */
  readonly cacheSize?: number;
  /** True while more urgent writes are in flight: then at most one event write at a time. */
  readonly busy?: () => boolean;
}

interface Remembered {
  name: string;
  namespace: string;
  /** Occurrences so far. */
  count: number;
  lastSeen: number;
  lastTimestamp: string;
  /** The Event to create (until the create succeeded). */
  createBody?: Record<string, unknown>;
  /** A create or patch for this Event is queued or running. */
  writing: boolean;
  /** The count the API server holds. */
  writtenCount: number;
}

interface Pending {
  readonly run: () => Promise<void>;
}

export class EventRecorder {
  private readonly recent = new Map<string, Remembered>();
  private readonly pending: Pending[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private seq = 0;
  /** Events created, patched (aggregated), dropped (buffer full), failed. */
  readonly stats = { created: 0, patched: 0, dropped: 0, failed: 0 };

  constructor(private readonly client: KubeClient, private readonly opts: EventRecorderOptions, private readonly log: Logger) {}

  /** Records an event on `obj` (which needs kind, apiVersion or defaults, namespace, name, uid). */
  event(obj: KubeObject, involvedKind: string, type: EventType, reason: string, message: string): void {
    const meta = obj.metadata ?? {};
    const namespace = meta.namespace || 'default';
    const key = `${meta.uid ?? ''}\u0000${namespace}/${meta.name ?? ''}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = Date.now();
    const nowText = new Date(now).toISOString();
    const window = this.opts.aggregateWindowMs ?? 600_000;
    const prev = this.recent.get(key);
    if (prev && now - prev.lastSeen < window) {
      prev.count++;
      prev.lastSeen = now;
      prev.lastTimestamp = nowText;
      this.recent.delete(key);
      this.recent.set(key, prev); // most recently used last
      this.write(prev);
      return;
    }
    const name = `${meta.name ?? 'object'}.${(BigInt(now) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
    const createBody = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion ?? 'v1',
        kind: obj.kind ?? involvedKind,
        namespace: meta.namespace,
        name: meta.name,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: this.opts.component, ...(this.opts.host ? { host: this.opts.host } : {}) },
      firstTimestamp: nowText,
      lastTimestamp: nowText,
      count: 1,
      reportingComponent: this.opts.component,
      reportingInstance: this.opts.host ?? '',
    };
    const remembered: Remembered = { name, namespace, count: 1, lastSeen: now, lastTimestamp: nowText, createBody, writing: false, writtenCount: 0 };
    this.recent.set(key, remembered);
    if (this.recent.size > (this.opts.cacheSize ?? 4096)) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.write(remembered);
  }

  /**
   * Brings the API server's copy of one Event up to date: creates it, then patches the count
   * until it holds the latest one. One writer per Event at a time.
   */
  private write(r: Remembered): void {
    if (r.writing) return; // the running writer sends the newer count when it finishes
    r.writing = true;
    const queued = this.enqueue(async () => {
      try {
        while (r.writtenCount !== r.count) {
          const count = r.count;
          if (r.createBody) {
            await this.client.request('POST', `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/events`, {
              body: { ...r.createBody, count, lastTimestamp: r.lastTimestamp },
            });
            r.createBody = undefined;
            this.stats.created++;
          } else {
            await this.client.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/events/${encodeURIComponent(r.name)}`, {
              body: { count, lastTimestamp: r.lastTimestamp },
              contentType: 'application/strategic-merge-patch+json',
            });
            this.stats.patched++;
          }
          r.writtenCount = count;
        }
      } finally {
        r.writing = false;
      }
    });
    if (!queued) r.writing = false;
  }

  /** Resolves when nothing is pending or in flight (for tests and shutdown). */
  flush(): Promise<void> {
    if (this.inFlight === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Queues a write; false when the buffer is full and it was dropped. */
  private enqueue(run: () => Promise<void>): boolean {
    if (this.pending.length >= (this.opts.maxPending ?? 10_000)) {
      this.stats.dropped++;
      if (this.stats.dropped === 1 || this.stats.dropped % 1000 === 0) this.log.warn({ op: 'event', dropped: this.stats.dropped }, 'event buffer full, dropping events');
      return false;
    }
    this.pending.push({ run });
    this.pump();
    return true;
  }

  /** Sends pending events at full concurrency again (call when `busy` turned false). */
  kick(): void {
    this.pump();
  }

  private pump(): void {
    const limit = this.opts.busy?.() ? 1 : this.opts.concurrency ?? 8;
    while (this.inFlight < limit && this.pending.length > 0) {
      const item = this.pending.shift()!;
      this.inFlight++;
      item.run().catch((err: unknown) => {
        this.stats.failed++;
        this.log.warn({ op: 'event', error: err instanceof Error ? err.message : String(err) }, 'failed to record event');
      }).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.pending.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }
}
