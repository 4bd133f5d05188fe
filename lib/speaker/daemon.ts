// The running speaker (docs/behaviour/speaker.md): Kubernetes watches, memberlist, the layer 2 announcer and the BGP
// sessions around the pure decision core (SpeakerState). This file only wires: every decision is
// made by SpeakerState, every packet by lib/layer2, lib/bgp and lib/memberlist.
//
//   const d = new SpeakerDaemon({ client, options, namespace, log, metrics });
//   await d.start();        // announcer ready, memberlist joined, informers synced, worker running
//   await d.stop();         // leaves gossip, withdraws routes, stops answering ARP/NDP, closes all
//
// Inputs and what they trigger:
//  - Services, EndpointSlices (or Endpoints, docs/behaviour/speaker.md#watches), the `config` ConfigMap: one work queue
//    of Service keys plus a config marker, processed one at a time; a Service key re-decides that
//    Service (SpeakerState.updateService / updateEndpoints);
//  - the own Node (field selector on its name): labels -> BGP sessions to open/close; any update
//    also triggers a memberlist join round (upstream);
//  - memberlist join/leave/update: the usable-speaker set -> the Services whose election changes;
//  - speaker Pods: listed at start and every 5 min, joined every minute (docs/behaviour/speaker.md#speakerlist).
// Effects: Layer2Announcer.setAnnounced (full set) + reannounce (every announce pass, as upstream),
// BGPSession.setAdvertisements (full route set, coalesced to one hand-over per event-loop turn),
// metallb_speaker_announced series, nodeAssigned events.

import { performance } from 'node:perf_hooks';
import type { IPAddress } from '../ip/index.js';
import type { Logger } from '../util/log.js';
import type { KubeClient } from '../k8s/client.js';
import { Informer, objectKey, type KubeObject } from '../k8s/informer.js';
import { WorkQueue } from '../k8s/workqueue.js';
import { EventRecorder } from '../k8s/events.js';
import type { Service } from '../k8s/service-status.js';
import { Memberlist, type TimerProfile } from '../memberlist/index.js';
import { Layer2Announcer } from '../layer2/index.js';
import { BGPSession, sessionOptionsFromPeer, type Route } from '../bgp/index.js';
import {
  bgpSessionClosed,
  bgpSessionCreated,
  layer2Counters,
  recordAnnounced,
  recordConfigState,
  type SpeakerMetrics,
} from '../metrics/speaker.js';
import { speakerConfig } from './config.js';
import { DEFAULT_DECISION_OPTIONS, type ServiceLike } from './decide.js';
import { EXCLUDE_LB_LABEL, nodeExcluded } from '../k8s/ownership.js';
import {
  EndpointSliceIndex,
  chooseEndpointSource,
  readinessFromEndpoints,
  type EndpointReadiness,
  type EndpointSource,
  type EndpointsLike,
  type EndpointSliceLike,
} from './endpoints.js';
import type { SpeakerOptions } from './options.js';
import { peerIdentity, type PeerChanges } from './peers.js';
import { JOIN_INTERVAL_MS, LEAVE_TIMEOUT_MS, POD_LIST_INTERVAL_MS, joinTargets, speakerPodIPs, usableSpeakers, type SpeakerPodLike } from './speakerlist.js';
import { SpeakerState, type ServiceEffects } from './state.js';

export const SPEAKER_COMPONENT = 'metallb-speaker';
const CONFIG_KEY = '#config';
/** Work per event-loop turn before the worker yields (see runWorker). */
const WORKER_SLICE_MS = 2;

interface ConfigMapObject extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}
type NodeObject = KubeObject;
interface EndpointsObject extends KubeObject, EndpointsLike {}
interface SliceObject extends KubeObject, EndpointSliceLike {}
interface PodObject extends KubeObject, SpeakerPodLike {}

export interface SpeakerDaemonOptions {
  readonly client: KubeClient;
  readonly options: SpeakerOptions;
  /** Namespace of the ConfigMap and the speaker Pods (resolved by the caller). */
  readonly namespace: string;
  readonly log: Logger;
  readonly metrics: SpeakerMetrics;
  /** Memberlist timer profile (default 'lan', upstream's values). */
  readonly memberlistTimers?: TimerProfile;
  /** Informer tuning (tests use short backoffs). */
  readonly informerBackoffMs?: readonly [number, number];
}

interface SessionEntry {
  /** peerIdentity() of the configured peer the session was opened for. */
  readonly identity: string;
  readonly session: BGPSession;
  updatesSeen: number;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Equal readiness facts (a Service's slices are re-summarised on every event; most events change nothing). */
function sameReadiness(a: EndpointReadiness | undefined, b: EndpointReadiness | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return a.source === b.source && a.anyReady === b.anyReady && a.anyHealthy === b.anyHealthy && sameSet(a.readyNodes, b.readyNodes) && sameSet(a.healthyNodes, b.healthyNodes);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class SpeakerDaemon {
  readonly state: SpeakerState;
  readonly services: Informer<Service>;
  readonly configMaps: Informer<ConfigMapObject>;
  readonly nodes: Informer<NodeObject>;
  readonly queue = new WorkQueue<string>();
  readonly events: EventRecorder;
  private endpoints: Informer<EndpointsObject> | undefined;
  private slices: Informer<SliceObject> | undefined;
  private readonly sliceIndex = new EndpointSliceIndex();
  private endpointSource: EndpointSource = 'endpoints';
  private announcer: Layer2Announcer | undefined;
  private memberlist: Memberlist | undefined;
  private readonly sessions: SessionEntry[] = [];
  private podIPs: string[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private worker: Promise<void> | undefined;
  private routesDirty = false;
  private layer2Dirty = false;
  private stopping = false;
  /** What the state was last told per Service, so a queued key only re-decides what changed. */
  private readonly applied = new Map<string, { service: Service | undefined; readiness: EndpointReadiness | undefined }>();
  private adoptedConfigText: string | undefined;
  private readonly log: Logger;
  private readonly o: SpeakerOptions;

  constructor(private readonly opts: SpeakerDaemonOptions) {
    this.o = opts.options;
    this.log = opts.log;
    this.state = new SpeakerState({
      nodeName: this.o.nodeName,
      usableSpeakers: this.o.memberlistEnabled ? new Set([this.o.nodeName]) : null,
      decisionOptions: { ...DEFAULT_DECISION_OPTIONS, loadBalancerClass: this.o.lbClass },
    });
    const backoffMs = opts.informerBackoffMs;
    this.services = new Informer<Service>(opts.client, { name: 'services', path: '/api/v1/services', backoffMs }, this.log);
    this.configMaps = new Informer<ConfigMapObject>(opts.client, {
      name: 'configmap',
      path: `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/configmaps`,
      fieldSelector: `metadata.name=${this.o.configName}`,
      backoffMs,
    }, this.log);
    // Every Node's exclusion label matters for the layer 2 election; with --ignore-exclude-lb only
    // the own Node (its labels select BGP peers) is watched.
    this.nodes = this.o.ignoreExcludeLB
      ? new Informer<NodeObject>(opts.client, { name: 'node', path: '/api/v1/nodes', fieldSelector: `metadata.name=${this.o.nodeName}`, backoffMs }, this.log)
      : new Informer<NodeObject>(opts.client, { name: 'nodes', path: '/api/v1/nodes', backoffMs }, this.log);
    this.events = new EventRecorder(opts.client, { component: SPEAKER_COMPONENT, host: this.o.nodeName }, this.log);
    this.services.on({
      add: (s) => this.queue.add(objectKey(s)),
      update: (_o, s) => this.queue.add(objectKey(s)),
      delete: (s) => this.queue.add(objectKey(s)),
    });
    const configChanged = (): void => this.queue.add(CONFIG_KEY);
    this.configMaps.on({ add: configChanged, update: configChanged, delete: configChanged });
    const nodeChanged = (n: NodeObject): void => {
      if (!this.o.ignoreExcludeLB) this.updateExcludedNode(n, false);
      if (n.metadata?.name !== this.o.nodeName) return;
      this.applyPeerChanges(this.state.setNodeLabels(n.metadata?.labels ?? {}));
      this.joinPeers('node update');
    };
    this.nodes.on({ add: nodeChanged, update: (_o, n) => nodeChanged(n), delete: (n) => { if (!this.o.ignoreExcludeLB) this.updateExcludedNode(n, true); } });
  }

  /** Which API endpoints are read from (decided in start()). */
  get endpointsFrom(): EndpointSource {
    return this.endpointSource;
  }

  async start(): Promise<void> {
    const { log, o } = this;
    // Layer 2 responders first: without CAP_NET_RAW the speaker cannot do its job.
    this.announcer = new Layer2Announcer({ logger: log, counters: layer2Counters(this.opts.metrics) });
    await this.announcer.ready();
    this.endpointSource = await this.detectEndpointSource();
    log.info({ op: 'startup', endpoints: this.endpointSource }, `reading endpoints from ${this.endpointSource === 'slices' ? 'discovery.k8s.io/v1 EndpointSlices' : 'core/v1 Endpoints'}`);
    const backoffMs = this.opts.informerBackoffMs;
    if (this.endpointSource === 'slices') {
      this.slices = new Informer<SliceObject>(this.opts.client, { name: 'endpointslices', path: '/apis/discovery.k8s.io/v1/endpointslices', backoffMs }, log);
      const changed = (results: { serviceKey: string }[]): void => {
        for (const r of results) this.queue.add(r.serviceKey);
      };
      this.slices.on({
        add: (s) => changed(this.sliceIndex.upsert(s)),
        update: (_o, s) => changed(this.sliceIndex.upsert(s)),
        delete: (s) => changed(this.sliceIndex.delete(s)),
      });
    } else {
      this.endpoints = new Informer<EndpointsObject>(this.opts.client, { name: 'endpoints', path: '/api/v1/endpoints', backoffMs }, log);
      this.endpoints.on({
        add: (e) => this.queue.add(objectKey(e)),
        update: (_o, e) => this.queue.add(objectKey(e)),
        delete: (e) => this.queue.add(objectKey(e)),
      });
    }
    if (o.memberlistEnabled) await this.startMemberlist();
    else log.warn({ op: 'startup' }, 'memberlist disabled (needs --ml-bindaddr and --ml-labels): layer 2 Cluster Services are elected among nodes with a ready endpoint');

    this.worker = this.runWorker();
    this.nodes.start();
    this.configMaps.start();
    this.services.start();
    this.slices?.start();
    this.endpoints?.start();
    await Promise.all([this.nodes.synced(), this.configMaps.synced(), this.services.synced(), this.slices?.synced(), this.endpoints?.synced()]);
    this.started = true;
    this.opts.metrics.nodeExcluded.set(this.state.nodeExcluded ? 1 : 0);
    if (o.memberlistEnabled && this.state.nodeExcluded) void this.setMemberlistRunning(false);
    if (!this.nodes.get(o.nodeName)) log.error({ op: 'startup', node: o.nodeName }, 'own Node object not found; BGP node-selectors are evaluated against no labels until it appears');
    const metricsTimer = setInterval(() => this.refreshSessionMetrics(), 1000);
    metricsTimer.unref();
    this.timers.push(metricsTimer);
    log.info({ op: 'startup', services: this.services.size }, 'caches synced');
  }

  /** Graceful stop (SIGTERM): leave gossip, withdraw every route, stop answering, close everything. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    for (const t of this.memberlistTimers) clearInterval(t);
    this.queue.shutDown();
    await this.memberlistChange;
    const ml = this.memberlist;
    const leaving = ml
      ? ml.leave(LEAVE_TIMEOUT_MS).then((done) => {
          this.log.info({ op: 'shutdown', complete: done }, 'left the memberlist cluster');
          return ml.shutdown();
        }, (err: unknown) => this.log.warn({ op: 'shutdown', error: errorText(err) }, 'memberlist leave failed'))
      : Promise.resolve();
    // stop answering at once: the next owner's gratuitous ARP takes over
    this.announcer?.close();
    const withdrawing = Promise.all(this.sessions.map((e) => this.withdrawAndClose(e)));
    await Promise.all([leaving, withdrawing]);
    await Promise.all([this.services.stop(), this.configMaps.stop(), this.nodes.stop(), this.slices?.stop(), this.endpoints?.stop()]);
    await this.worker;
    await this.events.flush();
  }

  /** Resolves when the queue is empty and nothing is in progress (tests). */
  async idle(pollMs = 20): Promise<void> {
    while (this.queue.length > 0 || this.busy) await new Promise((r) => setTimeout(r, pollMs));
  }

  private busy = false;

  // ------------------------------------------------------------------ start-up helpers

  private async detectEndpointSource(): Promise<EndpointSource> {
    if (this.o.disableEndpointSlices) return 'endpoints';
    let sliceAPIServed = false;
    let kubernetesSliceReadable = false;
    try {
      sliceAPIServed = (await this.opts.client.request('GET', '/apis/discovery.k8s.io/v1')).status === 200;
      if (sliceAPIServed) {
        const r = await this.opts.client.request('GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
          query: { labelSelector: 'kubernetes.io/service-name=kubernetes' },
          verb: 'LIST',
        });
        kubernetesSliceReadable = r.status === 200;
      }
    } catch (err) {
      this.log.info({ op: 'startup', error: errorText(err) }, 'EndpointSlices not usable, falling back to Endpoints');
    }
    return chooseEndpointSource({ disableEndpointSlices: false, sliceAPIServed, kubernetesSliceReadable });
  }

  /**
   * Nodes labelled exclude-from-external-load-balancers (spec divergence, see docs/speaker.md):
   * no layer 2 candidates anywhere, and this node announces nothing while it is one. An excluded
   * node also leaves the memberlist cluster, so speakers that do not know the label (upstream
   * v0.12 in a mixed cluster) stop counting it as a candidate too and every speaker elects the
   * same node; it joins again when the label goes.
   */
  private updateExcludedNode(n: NodeObject, deleted: boolean): void {
    const name = n.metadata?.name;
    if (!name) return;
    const now = !deleted && nodeExcluded(n.metadata?.labels);
    if (now === this.excludedNodes.has(name)) return; // the common case: a status update
    if (now) this.excludedNodes.add(name);
    else this.excludedNodes.delete(name);
    this.applyExcludedNodes();
  }

  private readonly excludedNodes = new Set<string>();

  private applyExcludedNodes(): void {
    const excluded = this.excludedNodes;
    const wasExcluded = this.state.nodeExcluded;
    const keys = this.state.setExcludedNodes(excluded);
    if (keys === undefined) return;
    const own = this.state.nodeExcluded;
    this.opts.metrics.nodeExcluded.set(own ? 1 : 0);
    if (own !== wasExcluded) {
      this.log.info({ op: 'nodeExclusion', node: this.o.nodeName, excluded: own }, own ? `node carries ${EXCLUDE_LB_LABEL}: announcing nothing` : `${EXCLUDE_LB_LABEL} removed: announcing again`);
      if (this.o.memberlistEnabled && this.started) void this.setMemberlistRunning(!own);
    }
    for (const k of keys) this.queue.add(k);
  }

  private started = false;
  private memberlistChange: Promise<void> = Promise.resolve();

  /** Leaves (and shuts down) or starts again the memberlist instance; serialised. */
  private setMemberlistRunning(run: boolean): Promise<void> {
    this.memberlistChange = this.memberlistChange.then(async () => {
      if (this.stopping) return;
      if (run && !this.memberlist && !this.state.nodeExcluded) {
        await this.startMemberlist().catch((err: unknown) => this.log.error({ op: 'memberlist', error: errorText(err) }, 'memberlist restart failed'));
      } else if (!run && this.memberlist) {
        const ml = this.memberlist;
        this.memberlist = undefined;
        for (const t of this.memberlistTimers.splice(0)) clearInterval(t);
        const done = await ml.leave(LEAVE_TIMEOUT_MS).catch(() => false);
        await ml.shutdown();
        this.log.info({ op: 'memberDiscovery', complete: done }, 'left the memberlist cluster (node excluded)');
        this.recordMembers([]);
        for (const key of this.state.setUsableSpeakers(new Set([this.o.nodeName]))) this.queue.add(key);
      }
    });
    return this.memberlistChange;
  }

  private readonly memberlistTimers: NodeJS.Timeout[] = [];

  private recordMembers(members: Iterable<string>): void {
    const g = this.opts.metrics.memberlistMembers;
    g.reset();
    for (const m of members) g.set({ member: m }, 1);
  }

  private async startMemberlist(): Promise<void> {
    const { o, log } = this;
    if (o.mlSecretKey === '') log.warn({ op: 'memberlist' }, 'no memberlist secret key: gossip is NOT encrypted');
    const ml = new Memberlist({
      name: o.nodeName,
      bindAddr: o.mlBindAddr,
      bindPort: o.mlBindPort,
      secretKey: o.mlSecretKey === '' ? null : Buffer.from(o.mlSecretKey, 'utf8'),
      timers: this.opts.memberlistTimers,
      logger: log,
    });
    const membershipChanged = (event: string, name: string): void => {
      if (this.stopping) return;
      if (this.memberlist !== ml) return; // an instance that left (node excluded)
      const members = usableSpeakers(ml.members());
      this.recordMembers(members);
      log.info({ op: 'memberDiscovery', event, node: name, members: [...members].sort() }, 'memberlist membership changed');
      for (const key of this.state.setUsableSpeakers(members)) this.queue.add(key);
    };
    ml.on('join', (m) => membershipChanged('join', m.name));
    ml.on('leave', (m) => membershipChanged('leave', m.name));
    ml.on('update', (m) => membershipChanged('update', m.name));
    await ml.start();
    this.memberlist = ml;
    this.recordMembers(usableSpeakers(ml.members()));
    await this.listSpeakerPods();
    this.joinPeers('start');
    const listTimer = setInterval(() => void this.listSpeakerPods().then(() => this.joinPeers('pod list')), POD_LIST_INTERVAL_MS);
    const joinTimer = setInterval(() => this.joinPeers('periodic'), JOIN_INTERVAL_MS);
    listTimer.unref();
    joinTimer.unref();
    this.memberlistTimers.push(listTimer, joinTimer);
  }

  private async listSpeakerPods(): Promise<void> {
    try {
      const r = await this.opts.client.request<{ items?: PodObject[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/pods`, {
        query: { labelSelector: this.o.mlLabels },
        verb: 'LIST',
      });
      this.podIPs = speakerPodIPs(r.body.items ?? []);
      this.log.debug({ op: 'memberDiscovery', podIPs: this.podIPs }, 'speaker pods listed');
    } catch (err) {
      this.log.error({ op: 'memberDiscovery', error: errorText(err) }, 'failed to list speaker pods');
    }
  }

  private joinPeers(why: string): void {
    const ml = this.memberlist;
    if (!ml || this.stopping) return;
    const own = this.o.mlBindAddr;
    const targets = joinTargets(this.podIPs.filter((ip) => ip !== own), ml.members().map((m) => m.addr));
    if (targets.length === 0) return;
    const port = this.o.mlBindPort;
    const addresses = targets.map((ip) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`));
    ml.join(addresses).then((n) => {
      this.log.info({ op: 'memberDiscovery', why, joined: n, tried: targets }, 'joined memberlist peers');
    }, (err: unknown) => {
      this.log.info({ op: 'memberDiscovery', why, tried: targets, error: errorText(err) }, 'memberlist join failed (peers not up yet?)');
    });
  }

  // ------------------------------------------------------------------ the worker

  private async runWorker(): Promise<void> {
    let sliceStart = performance.now();
    for (;;) {
      const wasIdle = this.queue.length === 0;
      const key = await this.queue.get();
      if (key === undefined) return;
      if (wasIdle) sliceStart = performance.now();
      this.busy = true;
      let ok = true;
      try {
        ok = key === CONFIG_KEY ? this.processConfig() : this.processService(key);
      } catch (err) {
        this.log.error({ op: 'process', key, error: errorText(err) }, 'processing failed');
        ok = false;
      }
      this.opts.metrics.k8sUpdatesTotal.inc();
      if (ok) this.queue.forget(key);
      else {
        this.opts.metrics.k8sUpdateErrorsTotal.inc();
        if (!this.stopping) this.queue.addRateLimited(key);
      }
      this.queue.done(key);
      this.busy = false;
      // A burst (a config change reprocesses every Service) is handled in slices: the effects
      // go out once per slice, and ARP replies, gossip probes and BGP timers run in between.
      const sliceOver = performance.now() - sliceStart > WORKER_SLICE_MS;
      if (this.queue.length === 0 || sliceOver) this.flushEffects();
      if (sliceOver) {
        await new Promise((r) => setImmediate(r));
        sliceStart = performance.now();
      }
    }
  }

  private readiness(key: string): EndpointReadiness | undefined {
    if (this.endpointSource === 'slices') return this.sliceIndex.readiness(key);
    const eps = this.endpoints?.get(key);
    return eps ? readinessFromEndpoints(eps) : undefined;
  }

  private processService(key: string): boolean {
    const svc = this.services.get(key);
    const readiness = this.readiness(key);
    const last = this.applied.get(key);
    const effects: ServiceEffects[] = [];
    if (!last || !sameReadiness(last.readiness, readiness)) effects.push(this.state.updateEndpoints(key, readiness));
    if (!last || last.service !== svc) effects.push(this.state.updateService(key, svc as ServiceLike | undefined));
    if (effects.length === 0) effects.push(this.state.reconcile(key));
    if (svc === undefined && readiness === undefined) this.applied.delete(key);
    else this.applied.set(key, { service: svc, readiness });
    for (const fx of effects) this.applyEffects(key, svc, fx);
    return true;
  }

  private applyEffects(key: string, svc: Service | undefined, fx: ServiceEffects): void {
    const d = fx.decision;
    if (d.action === 'announce') {
      const a = d.announcement;
      this.log.info({ op: 'setBalancer', service: key, protocol: a.protocol, pool: a.pool.name, ip: a.ips.map(String), ...(d.withdrawPrevious ? { replaced: d.withdrawPrevious } : {}) }, 'announcing');
    } else if (d.action === 'withdraw' && d.withdrawPrevious !== undefined) {
      this.log.info({ op: 'setBalancer', service: key, reason: d.withdrawPrevious }, 'withdrawing service announcement');
    } else if (d.action === 'withdraw') {
      this.log.debug({ op: 'setBalancer', service: key, reason: d.reason, ...(d.election ? { owner: d.election.owner } : {}) }, 'not announcing');
    }
    if (fx.layer2Announce.length > 0 || fx.layer2Release.length > 0) this.layer2Dirty = true;
    if (fx.layer2Announce.length > 0) this.pendingReannounce.push(...fx.layer2Announce);
    if (fx.bgp.announce.length > 0 || fx.bgp.withdraw.length > 0) this.routesDirty = true;
    recordAnnounced(this.opts.metrics, fx);
    if (fx.event && svc) this.events.event(svc, 'Service', fx.event.type, fx.event.reason, fx.event.message);
    if (fx.pendingConfigUnblocked) this.queue.add(CONFIG_KEY);
  }

  private pendingReannounce: IPAddress[] = [];

  /** Hands the accumulated layer 2 set and BGP route set to the announcer and the sessions. */
  private flushEffects(): void {
    if (this.stopping) return;
    if (this.layer2Dirty && this.announcer) {
      this.layer2Dirty = false;
      this.announcer.setAnnounced(this.state.layer2IPs());
    }
    if (this.pendingReannounce.length > 0) {
      this.announcer?.reannounce(this.pendingReannounce);
      this.pendingReannounce = [];
    }
    if (this.routesDirty) {
      this.routesDirty = false;
      const routes = this.routeSet();
      for (const e of this.sessions) e.session.setAdvertisements(routes);
    }
  }

  private routeSet(): Map<string, Route> {
    const out = new Map<string, Route>();
    for (const ad of this.state.routes.routes()) {
      out.set(ad.prefix.toString(), { prefix: ad.prefix, localPref: ad.localPref, communities: ad.communities });
    }
    return out;
  }

  // ------------------------------------------------------------------ config (docs/behaviour/speaker.md#config)

  private processConfig(): boolean {
    const key = `${this.opts.namespace}/${this.o.configName}`;
    const cm = this.configMaps.get(key);
    let ok = true;
    if (!cm) {
      if (this.state.configLoaded) {
        this.state.configMissing();
        this.log.error({ op: 'setConfig', configmap: key }, 'configmap deleted or absent, keeping the config in force');
      } else {
        this.log.info({ op: 'setConfig', configmap: key }, 'no configmap yet, waiting for one');
      }
    } else {
      const text = cm.data?.config ?? '';
      if (text === this.adoptedConfigText && !this.state.configStale) {
        // nothing new
      } else {
        const parsed = speakerConfig(text, this.o.bgpMode);
        if (!parsed.ok) {
          this.state.rejectConfig(parsed.reason);
          this.log.error({ op: 'setConfig', configmap: key, error: parsed.problems.join('; ') }, 'config refused: invalid, keeping the config in force');
        } else {
          const outcome = this.state.setConfig(parsed.config);
          if (outcome.status === 'adopted') {
            this.adoptedConfigText = text;
            this.log.info({ op: 'setConfig', configmap: key, pools: parsed.config.pools.length, peers: outcome.peers.keep.length + outcome.peers.open.length }, 'config reloaded');
            this.applyPeerChanges(outcome.peers);
            for (const k of outcome.reprocess) this.queue.add(k);
          } else if (outcome.status === 'refused') {
            this.log.error({ op: 'setConfig', configmap: key, error: outcome.reason }, 'config refused: not compatible with announced services, keeping the config in force');
            ok = false; // retried with backoff (v0.12), and when a blocker goes away
          }
        }
      }
    }
    recordConfigState(this.opts.metrics, this.state);
    return ok;
  }

  // ------------------------------------------------------------------ BGP sessions (docs/behaviour/bgp.md#sessions)

  private applyPeerChanges(changes: PeerChanges | undefined): void {
    if (!changes || this.stopping) return;
    // Matched by parsed settings, not by object: an adopted config replaces the Peer objects of
    // the peers it keeps.
    for (const peer of changes.close) {
      const id = peerIdentity(peer);
      const i = this.sessions.findIndex((e) => e.identity === id);
      if (i < 0) continue;
      const [entry] = this.sessions.splice(i, 1);
      this.log.info({ op: 'bgp', peer: entry.session.peer }, 'closing BGP session (peer no longer selected)');
      void entry.session.close().finally(() => bgpSessionClosed(this.opts.metrics, entry.session.peer));
    }
    const routes = changes.open.length > 0 ? this.routeSet() : undefined;
    for (const peer of changes.open) {
      const session = new BGPSession(sessionOptionsFromPeer(peer, this.o.nodeName, this.log));
      const entry: SessionEntry = { identity: peerIdentity(peer), session, updatesSeen: 0 };
      bgpSessionCreated(this.opts.metrics, session.peer);
      session.on('established', (info) => {
        this.log.info({ op: 'bgp', peer: session.peer, localAddress: info.localAddress.toString(), routerID: info.routerID.toString() }, 'BGP session established');
        this.opts.metrics.bgpSessionUp.set({ peer: session.peer }, 1);
      });
      session.on('down', (reason) => {
        this.log.info({ op: 'bgp', peer: session.peer, reason }, 'BGP session down');
        if (this.sessions.includes(entry)) {
          this.opts.metrics.bgpSessionUp.set({ peer: session.peer }, 0);
          this.opts.metrics.bgpAnnouncedPrefixesTotal.set({ peer: session.peer }, 0);
        }
      });
      if (routes) session.setAdvertisements(routes);
      this.sessions.push(entry);
      this.log.info({ op: 'bgp', peer: session.peer }, 'opening BGP session');
      session.start();
    }
  }

  private refreshSessionMetrics(): void {
    const m = this.opts.metrics;
    for (const e of this.sessions) {
      const peer = e.session.peer;
      m.bgpAnnouncedPrefixesTotal.set({ peer }, e.session.announcedPrefixes);
      m.bgpPendingPrefixesTotal.set({ peer }, e.session.pendingPrefixes);
      const sent = e.session.stats.updatesSent;
      if (sent > e.updatesSeen) {
        m.bgpUpdatesTotal.inc({ peer }, sent - e.updatesSeen);
        e.updatesSeen = sent;
      }
    }
  }

  /** Withdraws every route (waits up to 1 s for the peer to have none), then closes with Cease. */
  private async withdrawAndClose(e: SessionEntry): Promise<void> {
    if (e.session.established && e.session.announcedPrefixes > 0) {
      e.session.setAdvertisements(new Map());
      const deadline = Date.now() + 1000;
      while (e.session.established && e.session.announcedPrefixes > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      // let the socket flush the withdrawal before the NOTIFICATION
      await new Promise((r) => setTimeout(r, 50));
    }
    await e.session.close();
    this.log.info({ op: 'shutdown', peer: e.session.peer }, 'BGP session closed');
  }
}
