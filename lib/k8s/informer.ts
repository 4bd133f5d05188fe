// A list+watch cache of one kind of object (a "reflector" plus store, as client-go's informers).
//
//   const services = new Informer<Service>(client, { name: 'services', path: '/api/v1/services' }, log);
//   services.on({ add: (o) => ..., update: (old, o) => ..., delete: (o) => ... });
//   services.start();
//   await services.synced();           // the first full list is in the store
//   services.get('ns/name'); services.list();
//   await services.stop();
//
// Survives what a long-running watch meets in production:
//  - watch expiry: the server ends the stream after timeoutSeconds → re-watch from the last
//    resourceVersion seen (bookmarks keep it fresh);
//  - 410 Gone ("too old resource version", on the HTTP answer or as an ERROR event) → relist;
//    the relist is diffed against the store, so handlers see exactly the adds, updates and
//    deletes that happened while the watch was down;
//  - API server restarts, refused connections, resets, half-open connections (no byte for
//    idleTimeoutMs): re-watch with exponential backoff (200 ms … 30 s); after repeated failures
//    relist in case the resourceVersion is no longer servable.
// Paginated lists (limit 500) keep memory flat for large clusters. No periodic resync.

import type { Logger } from '../util/log.js';
import { Backoff, sleep } from './backoff.js';
import { isApiError, type KubeClient, type WatchEvent } from './client.js';

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string;
}

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
}

/**
 * Drops metadata.managedFields (server-side apply bookkeeping, often the largest part of an
 * object). Safe for objects written back with PUT: an update that omits managedFields keeps them.
 */
export function dropManagedFields<O extends KubeObject>(obj: O): O {
  const meta = obj.metadata as (ObjectMeta & { managedFields?: unknown }) | undefined;
  if (meta && meta.managedFields !== undefined) {
    const { managedFields: _dropped, ...rest } = meta;
    void _dropped;
    return { ...obj, metadata: rest };
  }
  return obj;
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones. */
export function objectKey(obj: KubeObject): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions {
  /** For logs and errors, e.g. "services". */
  readonly name: string;
  /** Collection path, e.g. /api/v1/services or /api/v1/namespaces/ns/configmaps. */
  readonly path: string;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  /** Items per list page (default 500). */
  readonly pageSize?: number;
  /** Server-side watch timeout range in seconds (default 300–600, random per watch). */
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** Treat a watch as dead after this long without any byte (default 90 s beyond the timeout). */
  readonly idleTimeoutMs?: number;
  /** Backoff between failed attempts (default 200 ms … 30 s). */
  readonly backoffMs?: readonly [number, number];
  /**
   * Applied to every object before it is stored (as client-go's SetTransform), e.g.
   * dropManagedFields to keep the cache small. Must return an object with the same key.
   */
  readonly transform?: <O extends KubeObject>(obj: O) => O;
  /** Relist (instead of re-watching) after this many failures in a row (default 5). */
  readonly relistAfterFailures?: number;
}

interface ListBody<T> {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: readonly T[];
}

class GoneError extends Error {}

/**
 * resourceVersions are opaque, but the API server's are etcd revisions (decimal integers); only
 * when both parse as such is one called newer than the other.
 */
function isNewer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) > BigInt(b);
}

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private currentWatch: { abort(): void } | undefined;
  private syncedFlag = false;
  private resolveSynced!: () => void;
  private readonly syncedPromise: Promise<void>;
  /** How many full lists were done (1 at start; more after 410s or long outages). */
  lists = 0;
  /** How many watch streams were opened. */
  watches = 0;
  /** How many times the API server answered 410 Gone (resourceVersion too old). */
  gone = 0;

  constructor(private readonly client: KubeClient, private readonly opts: InformerOptions, private readonly log: Logger) {
    this.syncedPromise = new Promise((resolve) => { this.resolveSynced = resolve; });
  }

  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  start(): void {
    if (this.running) return;
    this.running = this.loop();
  }

  /** Resolves once the first full list is in the store (never rejects; keeps retrying). */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  get hasSynced(): boolean {
    return this.syncedFlag;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  entries(): IterableIterator<[string, T]> {
    return this.store.entries();
  }

  keys(): IterableIterator<string> {
    return this.store.keys();
  }

  get size(): number {
    return this.store.size;
  }

  /**
   * Puts an object the caller just wrote (the API server's answer) into the store when it is newer
   * than the cached one, so the next decision does not act on a stale copy before the watch event
   * arrives. The watch event with the same resourceVersion is then not reported again.
   */
  upsertIfNewer(written: T): boolean {
    const obj = this.opts.transform ? this.opts.transform(written) : written;
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (!old) return false; // deleted meanwhile, or not ours to add: the watch decides
    if (!isNewer(obj.metadata?.resourceVersion, old.metadata?.resourceVersion)) return false;
    this.store.set(key, obj);
    return true;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.currentWatch?.abort();
    await this.running;
  }

  private emitAdd(obj: T): void {
    for (const h of this.handlers) h.add?.(obj);
  }
  private emitUpdate(oldObj: T, obj: T): void {
    for (const h of this.handlers) h.update?.(oldObj, obj);
  }
  private emitDelete(obj: T): void {
    for (const h of this.handlers) h.delete?.(obj);
  }

  private async loop(): Promise<void> {
    const [b0, b1] = this.opts.backoffMs ?? [200, 30_000];
    const backoff = new Backoff(b0, b1);
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (signal.aborted) break;
        const startedAt = Date.now();
        const sawEvents = await this.watchOnce();
        if (sawEvents) backoff.reset();
        else if (Date.now() - startedAt < 1000) await sleep(backoff.next(), signal); // closed at once: don't spin
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof GoneError || isApiError(err, 410)) {
          this.log.info({ op: 'watch', informer: this.opts.name, resourceVersion: this.resourceVersion }, 'resource version expired (410 Gone), relisting');
          this.resourceVersion = '';
          this.gone++;
          continue;
        }
        const delay = backoff.next();
        this.log.warn({ op: 'watch', informer: this.opts.name, error: String(err instanceof Error ? err.message : err), retryInMs: delay, failures: backoff.failures }, 'list/watch failed, retrying');
        // After several failures in a row the resourceVersion may be gone; relist to be sure.
        if (backoff.failures >= (this.opts.relistAfterFailures ?? 5)) this.resourceVersion = '';
        await sleep(delay, signal);
      }
    }
  }

  private async relist(): Promise<void> {
    const pageSize = this.opts.pageSize ?? 500;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const r = await this.client.request<ListBody<T>>('GET', this.opts.path, {
        verb: 'LIST',
        query: { limit: pageSize, continue: cont, fieldSelector: this.opts.fieldSelector, labelSelector: this.opts.labelSelector },
      });
      const transform = this.opts.transform;
      for (const item of r.body.items ?? []) fresh.set(objectKey(item), transform ? transform(item) : item);
      cont = r.body.metadata?.continue || undefined;
      rv = r.body.metadata?.resourceVersion ?? '';
    } while (cont);
    this.lists++;
    // Diff against the store: handlers see only what changed.
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.emitDelete(old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.store.get(key);
      this.store.set(key, obj);
      if (!old) this.emitAdd(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emitUpdate(old, obj);
    }
    this.resourceVersion = rv;
    this.log.debug({ op: 'list', informer: this.opts.name, items: fresh.size, resourceVersion: rv }, 'listed');
    if (!this.syncedFlag) {
      this.syncedFlag = true;
      this.resolveSynced();
    }
  }

  /** One watch stream from the current resourceVersion. True if it delivered any event. */
  private async watchOnce(): Promise<boolean> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(lo + Math.random() * (hi - lo));
    let failure: Error | undefined;
    let sawEvents = false;
    const stream = this.client.watchStream(this.opts.path, {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
      fieldSelector: this.opts.fieldSelector,
      labelSelector: this.opts.labelSelector,
    }, (ev: WatchEvent) => {
      if (failure) return;
      sawEvents = true;
      try {
        this.apply(ev);
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        stream.abort();
      }
    }, this.opts.idleTimeoutMs ?? (timeoutSeconds + 90) * 1000);
    this.watches++;
    this.currentWatch = stream;
    try {
      await stream.done;
    } finally {
      this.currentWatch = undefined;
    }
    if (failure) throw failure;
    return sawEvents;
  }

  private apply(ev: WatchEvent): void {
    const raw = ev.object as unknown as T;
    const obj = this.opts.transform && (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') ? this.opts.transform(raw) : raw;
    const rv = obj.metadata?.resourceVersion;
    switch (ev.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const key = objectKey(obj);
        const old = this.store.get(key);
        if (rv) this.resourceVersion = rv;
        if (old && rv && old.metadata?.resourceVersion === rv) return; // already stored by upsertIfNewer
        if (old && isNewer(old.metadata?.resourceVersion, rv)) return; // ours is newer
        this.store.set(key, obj);
        if (old) this.emitUpdate(old, obj);
        else this.emitAdd(obj);
        return;
      }
      case 'DELETED': {
        const key = objectKey(obj);
        const old = this.store.get(key);
        this.store.delete(key);
        if (rv) this.resourceVersion = rv;
        this.emitDelete(old ?? obj);
        return;
      }
      case 'BOOKMARK':
        if (rv) this.resourceVersion = rv;
        return;
      case 'ERROR': {
        const status = ev.object as { code?: unknown; reason?: unknown; message?: unknown };
        if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') throw new GoneError(String(status.message ?? 'resource version too old'));
        throw new Error(`watch ${this.opts.name}: ERROR event: ${String(status.message ?? JSON.stringify(status))}`);
      }
      default:
        throw new Error(`watch ${this.opts.name}: unknown event type ${JSON.stringify(ev.type)}`);
    }
  }
}
