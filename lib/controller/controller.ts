// The controller: watches Services (all namespaces) and the `config` ConfigMap, feeds one
// de-duplicating work queue processed by a single worker, and turns each decision into a status
// write and Events (docs/behaviour/allocation.md#reconcile, docs/behaviour/controller.md).
//
//   const c = new Controller({ client, namespace: 'metallb-system', configMapName: 'config', log, metrics });
//   await c.start();     // informers running, initial sync done, worker running
//   await c.stop();
//
// Decisions are serial (one worker; the allocator is in memory). Status writes are asynchronous
// with bounded concurrency so that API latency does not serialise the throughput; a Service with
// a write in flight is not decided again until the write has finished and the answer is in the
// cache, so no decision ever acts on a status older than one we wrote.

import type { Logger } from '../util/log.js';
import { Allocator, serviceRequest } from '../allocator/index.js';
import { parseIP, type IPAddress } from '../ip/index.js';
import { parseConfig, refusals, formatProblem } from '../config/index.js';
import type { KubeClient } from '../k8s/client.js';
import { Informer, dropManagedFields, objectKey, type KubeObject } from '../k8s/informer.js';
import { WorkQueue } from '../k8s/workqueue.js';
import { EventRecorder } from '../k8s/events.js';
import { ingressEquals, statusIPs, writeLoadBalancerStatus, type Service } from '../k8s/service-status.js';
import { deletePoolMetrics, updatePoolMetrics, type ControllerMetrics } from '../metrics/controller.js';
import { isOurService } from '../k8s/ownership.js';
import { configDigest } from '../config/digest.js';
import { reconcileService, type Decision, type Outcome } from './reconcile.js';

export const COMPONENT = 'metallb-controller';
/** Queue keys that are not Services (a Service key always contains a '/'). */
const CONFIG_KEY = '#config';
const SYNCED_KEY = '#synced';
/** Longest stretch of synchronous work before the worker lets other callbacks run. */
const YIELD_AFTER_MS = 5;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface ConfigMap extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}

export interface ControllerOptions {
  readonly client: KubeClient;
  /** Namespace of the ConfigMap (and memberlist Secret). */
  readonly namespace: string;
  /** ConfigMap name (--config). */
  readonly configMapName: string;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  /** --lb-class: handle only Services of this loadBalancerClass ('' / absent: Services without one). */
  readonly lbClass?: string;
  /** Status writes in flight at most (default 16). */
  readonly writeConcurrency?: number;
  /** Informer tuning (tests use short backoffs). */
  readonly informerBackoffMs?: readonly [number, number];
}

/** Observable state, for tests and logs. */
export interface ConfigState {
  /** A config has been adopted at least once. */
  readonly loaded: boolean;
  /** The newest ConfigMap content is not in force. */
  readonly stale: boolean;
  /** Why the newest content is not in force ('' when it is). */
  readonly refusal: string;
}

export class Controller {
  readonly allocator = new Allocator();
  readonly services: Informer<Service>;
  readonly configMaps: Informer<ConfigMap>;
  readonly queue = new WorkQueue<string>();
  readonly events: EventRecorder;
  private synced = false;
  private configText: string | undefined;
  private configLoaded = false;
  private configStale = false;
  private configRefusal = '';
  /** The refusal was the allocator's (stale rule): retried, also whenever a Service changes (docs/behaviour/quirks.md#q5). */
  private refusedByAllocator = false;
  private lastRefusalEventText: string | undefined;
  private readonly writesInFlight = new Set<string>();
  /** Services whose allocation failed and that hold no address (metallb_allocator_services_unassigned). */
  private readonly unassigned = new Set<string>();
  private readonly deferred = new Set<string>();
  private writeSlots: number;
  private readonly slotWaiters: (() => void)[] = [];
  private worker: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly configMapKey: string;
  /** Status writes done / failed (for tests and the benchmark). */
  readonly writeStats = { written: 0, failed: 0 };

  constructor(private readonly opts: ControllerOptions) {
    this.log = opts.log;
    this.writeSlots = opts.writeConcurrency ?? 16;
    this.configMapKey = `${opts.namespace}/${opts.configMapName}`;
    const backoffMs = opts.informerBackoffMs;
    this.services = new Informer<Service>(opts.client, { name: 'services', path: '/api/v1/services', backoffMs, transform: dropManagedFields }, opts.log);
    this.configMaps = new Informer<ConfigMap>(opts.client, {
      name: 'configmap',
      path: `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/configmaps`,
      fieldSelector: `metadata.name=${opts.configMapName}`,
      backoffMs,
    }, opts.log);
    // Status writes first: events trickle (one at a time) while any status write is in flight.
    this.events = new EventRecorder(opts.client, { component: COMPONENT, busy: () => this.writesInFlight.size > 0 }, opts.log);
    this.services.on({
      add: (svc) => this.queue.add(objectKey(svc)),
      update: (_old, svc) => this.serviceChanged(objectKey(svc)),
      delete: (svc) => this.serviceChanged(objectKey(svc)),
    });
    const configChanged = (): void => this.queue.add(CONFIG_KEY);
    this.configMaps.on({ add: configChanged, update: configChanged, delete: configChanged });
  }

  get configState(): ConfigState {
    return { loaded: this.configLoaded, stale: this.configStale, refusal: this.configRefusal };
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Starts the informers, waits for their first full list, queues the synced marker, runs the worker. */
  async start(): Promise<void> {
    this.services.start();
    this.configMaps.start();
    this.worker = this.runWorker();
    await Promise.all([this.services.synced(), this.configMaps.synced()]);
    // Every initial event is queued by now; the marker goes behind them (docs/behaviour/controller.md#synced).
    this.queue.add(SYNCED_KEY);
    this.log.info({ op: 'startup', services: this.services.size }, 'caches synced');
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all([this.services.stop(), this.configMaps.stop()]);
    await this.worker;
    while (this.writesInFlight.size > 0) await new Promise((r) => setTimeout(r, 10));
    await this.events.flush();
  }

  private serviceChanged(key: string): void {
    this.queue.add(key);
    // Quirk docs/behaviour/quirks.md#q5, target behaviour: a config refused because it would strand addresses is retried
    // as soon as a Service changes (that change may be what frees the address), not only on backoff.
    if (this.refusedByAllocator) this.queue.add(CONFIG_KEY);
  }

  private async runWorker(): Promise<void> {
    let sliceStart = performance.now();
    for (;;) {
      // Decisions that need no I/O complete synchronously; without this the worker would run the
      // whole queue in one macrotask and starve watches, timers and /metrics. Yield every ~5 ms.
      if (performance.now() - sliceStart > YIELD_AFTER_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      const key = await this.queue.get();
      if (key === undefined) return;
      let outcome: Outcome;
      try {
        outcome = await this.process(key);
      } catch (err) {
        this.log.error({ op: 'process', key, error: err instanceof Error ? err.message : String(err) }, 'processing failed');
        outcome = 'error';
      }
      this.opts.metrics.updatesTotal.inc();
      switch (outcome) {
        case 'ok':
          this.queue.forget(key);
          break;
        case 'error':
          this.opts.metrics.updateErrorsTotal.inc();
          // Before the synced marker, the marker's reprocess-all retries these (no backoff debt).
          if (this.synced || key === CONFIG_KEY) this.queue.addRateLimited(key);
          break;
        case 'reprocess-all':
          this.queue.forget(key);
          this.reprocessAll();
          break;
      }
      this.queue.done(key);
    }
  }

  /**
   * Records every cached Service's status addresses in the allocator (where the config allows),
   * without writing anything. Run when the allocator starts knowing pools (the synced marker, the
   * first config), so that the reprocess-all that follows never hands an address that a Service
   * later in the queue already holds to a newcomer earlier in the queue (docs/behaviour/controller.md#synced).
   */
  private async reassertAll(): Promise<void> {
    let held = 0;
    let sliceStart = performance.now();
    // A snapshot: the worker is busy here, but watch events keep arriving while it yields.
    for (const [key, svc] of [...this.services.entries()]) {
      if (performance.now() - sliceStart > YIELD_AFTER_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
      if (!isOurService(svc, this.opts.lbClass ?? '') || this.allocator.has(key)) continue;
      const ips: IPAddress[] = [];
      for (const t of statusIPs(svc)) {
        const ip = parseIP(t);
        if (ip) ips.push(ip);
      }
      if (ips.length === 0) continue;
      if (this.allocator.assign(key, serviceRequest(svc), ips).ok) held++;
    }
    updatePoolMetrics(this.opts.metrics, this.allocator.usage());
    this.log.info({ op: 'startup', services: held }, 'existing assignments recorded');
  }

  private reprocessAll(): void {
    for (const key of this.services.keys()) this.queue.add(key);
  }

  private async process(key: string): Promise<Outcome> {
    if (key === SYNCED_KEY) {
      if (this.allocator.configured) await this.reassertAll();
      this.synced = true;
      this.log.info({ op: 'startup' }, 'initial sync done, every existing assignment is known');
      return 'reprocess-all';
    }
    if (key === CONFIG_KEY) return this.processConfig();
    return this.processService(key);
  }

  // ------------------------------------------------------------------ Services

  private async processService(key: string): Promise<Outcome> {
    if (this.writesInFlight.has(key)) {
      this.deferred.add(key); // decided again once the write's answer is in the cache
      return 'ok';
    }
    const svc = this.services.get(key);
    const decision = reconcileService(key, svc, this.allocator, { synced: this.synced, lbClass: this.opts.lbClass ?? '' });
    this.report(key, svc, decision);
    if (decision.ingressIPs !== null && svc && !ingressEquals(svc, decision.ingressIPs)) {
      await this.acquireWriteSlot();
      this.startWrite(key, svc, decision.ingressIPs);
    }
    return decision.outcome;
  }

  private report(key: string, svc: Service | undefined, decision: Decision): void {
    for (const l of decision.logs) {
      this.log[l.level]({ op: 'allocateIPs', service: key, ...(decision.pool ? { pool: decision.pool } : {}), ...l.fields }, l.msg);
    }
    if (svc) for (const e of decision.events) this.events.event(svc, 'Service', e.type, e.reason, e.message);
    // Services of ours left without an address by a failed allocation (not upstream: for alerts)
    const failed = svc !== undefined && decision.ingressIPs !== null && decision.ingressIPs.length === 0 && decision.events.some((e) => e.reason === 'AllocationFailed');
    if (failed) this.unassigned.add(key);
    else if (decision.ingressIPs !== null || svc === undefined || !isOurService(svc, this.opts.lbClass ?? '')) this.unassigned.delete(key);
    this.opts.metrics.servicesUnassigned.set(this.unassigned.size);
    updatePoolMetrics(this.opts.metrics, this.allocator.usage()); // O(pools)
  }

  private acquireWriteSlot(): Promise<void> {
    if (this.writeSlots > 0) {
      this.writeSlots--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseWriteSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.writeSlots++;
  }

  private startWrite(key: string, svc: Service, ips: readonly string[]): void {
    this.writesInFlight.add(key);
    writeLoadBalancerStatus(this.opts.client, svc, ips).then((updated) => {
      this.writeStats.written++;
      if (updated) this.services.upsertIfNewer(updated);
      this.log.debug({ op: 'updateStatus', service: key, ip: ips.join(',') }, 'status written');
    }, (err: unknown) => {
      this.writeStats.failed++;
      this.opts.metrics.updateErrorsTotal.inc();
      this.log.warn({ op: 'updateStatus', service: key, error: err instanceof Error ? err.message : String(err) }, 'failed to write service status, retrying');
      this.queue.addRateLimited(key);
    }).finally(() => {
      this.writesInFlight.delete(key);
      if (this.writesInFlight.size === 0) this.events.kick();
      this.releaseWriteSlot();
      if (this.deferred.delete(key)) this.queue.add(key);
    });
  }

  // ------------------------------------------------------------------ config (docs/behaviour/controller.md#stale-config)

  private async processConfig(): Promise<Outcome> {
    const cm = this.configMaps.get(this.configMapKey);
    if (!cm) {
      this.refusedByAllocator = false;
      if (this.configLoaded) {
        this.setStale(true, 'configmap deleted');
        this.log.error({ op: 'setConfig', configmap: this.configMapKey }, 'configmap deleted or absent, keeping the config in force');
      } else {
        this.log.info({ op: 'setConfig', configmap: this.configMapKey }, 'no configmap yet, waiting for one');
      }
      return 'ok'; // "error, don't retry": the next ConfigMap event brings it back
    }
    const text = cm.data?.config ?? '';
    if (text === this.configText) {
      // The content in force came back (e.g. a refused edit was reverted).
      this.refusedByAllocator = false;
      this.setStale(false, '');
      return 'ok';
    }
    const parsed = parseConfig(text);
    const problems = refusals(parsed, 'controller');
    if (problems.length > 0 || !parsed.config) {
      const reason = problems.length > 0 ? problems.map(formatProblem).join('; ') : 'config could not be parsed';
      this.refusedByAllocator = false;
      this.setStale(true, reason);
      this.log.error({ op: 'setConfig', configmap: this.configMapKey, error: reason }, 'config refused: invalid, keeping the config in force');
      this.refusalEvent(cm, text, 'InvalidConfig', `configuration refused, previous configuration stays in force: ${reason}`);
      return 'ok'; // not retried: waits for the next ConfigMap change
    }
    const first = !this.allocator.configured;
    const verdict = this.allocator.setConfig(parsed.config);
    if (!verdict.ok) {
      this.refusedByAllocator = true;
      this.setStale(true, verdict.message);
      this.log[this.lastRefusalEventText === text ? 'debug' : 'error']({ op: 'setConfig', configmap: this.configMapKey, error: verdict.message }, 'config refused: not compatible with assigned IPs, keeping the config in force');
      this.refusalEvent(cm, text, 'ConfigNotCompatible', `configuration refused, previous configuration stays in force: ${verdict.message}`);
      return 'error'; // retried with backoff, and whenever a Service changes (docs/behaviour/quirks.md#q5)
    }
    this.configText = text;
    this.configLoaded = true;
    this.refusedByAllocator = false;
    this.lastRefusalEventText = undefined;
    this.opts.metrics.configLoaded.set(1);
    this.setStale(false, '');
    deletePoolMetrics(this.opts.metrics, verdict.removedPools);
    updatePoolMetrics(this.opts.metrics, this.allocator.usage());
    // Services seen before any config was in force were left alone; record what their statuses
    // hold before anything new is handed out.
    if (first) await this.reassertAll();
    this.log.info({ op: 'setConfig', configmap: this.configMapKey, pools: parsed.config.pools.length }, 'config reloaded');
    // Not upstream: which content is in force is published, so `metallbctl status` can tell.
    this.events.event(cm, 'ConfigMap', 'Normal', 'ConfigLoaded', `configuration ${configDigest(text)} in force: ${parsed.config.pools.length} address pool(s)`);
    return 'reprocess-all';
  }

  private setStale(stale: boolean, reason: string): void {
    this.configStale = stale;
    this.configRefusal = reason;
    this.opts.metrics.configStale.set(stale ? 1 : 0);
  }

  /** One Warning event on the ConfigMap per refused content (retries do not repeat it). */
  private refusalEvent(cm: ConfigMap, text: string, reason: string, message: string): void {
    if (this.lastRefusalEventText === text) return;
    this.lastRefusalEventText = text;
    this.events.event(cm, 'ConfigMap', 'Warning', reason, message);
  }
}
