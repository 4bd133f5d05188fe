// A de-duplicating work queue with per-key exponential retry backoff and an overall token-bucket
// limit on retries, processed by one worker (so all decisions are serial), as client-go's
// rate-limited workqueue used by MetalLB (docs/behaviour/controller.md#watches):
//  - a key added while queued is not queued twice; a key added while being processed is queued
//    again once processing ends (never processed twice at the same time);
//  - addRateLimited(key): re-add after max(per-key backoff, overall limiter delay); the per-key
//    backoff doubles from 5 ms up to 1000 s; forget(key) resets it;
//  - the overall limiter (10/s, burst 100) only paces rate-limited re-adds, never fresh events.

import { EventEmitter } from 'node:events';

export interface WorkQueueOptions {
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Overall retry rate (per second) and burst. */
  readonly retryRatePerSecond?: number;
  readonly retryBurst?: number;
}

export class WorkQueue<K> {
  private readonly queue: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly wake = new EventEmitter();
  private shuttingDown = false;
  private tokens: number;
  private tokensAt = Date.now();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly rate: number;
  private readonly burst: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000_000;
    this.rate = opts.retryRatePerSecond ?? 10;
    this.burst = opts.retryBurst ?? 100;
    this.tokens = this.burst;
  }

  /** Keys waiting (not counting delayed ones or the one being processed). */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Keys waiting for a delayed re-add. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    this.queue.push(key);
    this.wake.emit('item');
  }

  /** Adds the key after `ms` (an earlier pending delayed add wins). */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) { this.add(key); return; }
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** Re-adds the key after its backoff (and the overall retry limit). */
  addRateLimited(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const perKey = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
    const delay = Math.max(perKey, this.takeToken());
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the key's backoff (call after success). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** How many times in a row the key has failed. */
  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined once shut down and drained. Call done(key) afterwards. */
  async get(): Promise<K | undefined> {
    while (this.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.wake.once('item', resolve));
    }
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.wake.emit('item');
    }
  }

  /** Stops handing out keys; pending delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.head = 0;
    this.dirty.clear();
    this.wake.emit('item');
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Milliseconds until the overall limiter grants a token (and takes it). */
  private takeToken(): number {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.rate);
    this.tokensAt = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.rate) * 1000);
  }
}
