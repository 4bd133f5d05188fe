// The speaker's state between events, and the effects each change has on this node: which IPs
// the layer 2 responders answer for, which routes the BGP sessions carry, which
// metallb_speaker_announced series exist, which events to write, which sessions to run.
//
// Every entry point does work proportional to what changed, never to all Services:
//  - a Service or Endpoints change re-decides that one Service;
//  - a membership change re-decides only the layer 2 Services whose election it can change
//    (owner gone, or a joining node that out-ranks the current owner: one SHA-256 per distinct
//    election key);
//  - node labels only touch the peer set;
//  - a config change is the exception (upstream reprocesses everything): it returns the keys to
//    reprocess, and the caller spreads them over several event-loop turns.
// Pure: the caller performs the effects (lib/layer2, lib/bgp, prom-client, the event recorder).

import type { IPAddress } from '../ip/index.js';
import type { Config, Peer } from '../config/types.js';
import { AdvertisementTable, type RouteChanges } from './advertisements.js';
import {
  DEFAULT_DECISION_OPTIONS,
  decideService,
  isLocalPolicy,
  type AnnouncedService,
  type Announcement,
  type DecisionOptions,
  type ServiceDecision,
  type ServiceLike,
} from './decide.js';
import { ElectionWinnerCache, electionDigest } from './election.js';
import type { EndpointReadiness } from './endpoints.js';
import { nodeAssignedEvent, type SpeakerEvent } from './events.js';
import { diffPeers, type PeerChanges } from './peers.js';
import { poolForIPs } from './pools.js';
import { peersForNode, sameLabels, type NodeLabels } from './selectors.js';

import type { AnnouncedSeries } from '../metrics/speaker.js';
export type { AnnouncedSeries };

export interface ServiceEffects {
  readonly key: string;
  readonly decision: ServiceDecision;
  /** Layer 2: IPs to answer for and to (re)send gratuitous announcements for (every announce pass, as upstream). */
  readonly layer2Announce: readonly IPAddress[];
  /** Layer 2: IPs to stop answering for at once (no Service on this node holds them any more). */
  readonly layer2Release: readonly IPAddress[];
  /** BGP: route changes to hand to every session. */
  readonly bgp: RouteChanges;
  /** metallb_speaker_announced series to set to 1 / to delete. */
  readonly announcedSet: readonly AnnouncedSeries[];
  readonly announcedDelete: readonly AnnouncedSeries[];
  /** Event to write on the Service (nodeAssigned on every announce pass). */
  readonly event: SpeakerEvent | undefined;
  /** A refused config is no longer blocked by any announced Service: call retryPendingConfig(). */
  readonly pendingConfigUnblocked: boolean;
}

export type ConfigOutcome =
  | { readonly status: 'adopted'; readonly reprocess: readonly string[]; readonly peers: PeerChanges }
  | {
      /** Valid but some announced Service's IPs are outside every pool of it: old config stays. */
      readonly status: 'refused';
      readonly reason: string;
      /** Services that block it; when they all stop, effects report pendingConfigUnblocked. */
      readonly blockers: readonly string[];
    }
  | { readonly status: 'rejected'; readonly reason: string };

interface ElectionRecord {
  readonly electionKey: string;
  readonly owner: string | undefined;
  ownerDigest?: Buffer;
  readonly local: boolean;
  /** Local policy: the nodes with a ready endpoint (the candidates before the speaker filter). */
  readonly readyNodes: readonly string[];
}

/** servicesByOwner key for elections without any candidate (no node name can be empty). */
const NO_OWNER = '';

interface ServiceRecord {
  service: ServiceLike | undefined;
  endpoints: EndpointReadiness | undefined;
  announced: AnnouncedService | undefined;
  election: ElectionRecord | undefined;
}

interface Layer2Holding {
  readonly ip: IPAddress;
  readonly holders: Set<string>;
}

const NO_ROUTES: RouteChanges = { announce: [], withdraw: [] };

class EffectsBuilder {
  layer2Announce: IPAddress[] = [];
  layer2Release: IPAddress[] = [];
  bgpAnnounce: RouteChanges['announce'][number][] = [];
  bgpWithdraw: RouteChanges['withdraw'][number][] = [];
  announcedSet: AnnouncedSeries[] = [];
  announcedDelete: AnnouncedSeries[] = [];
  event: SpeakerEvent | undefined;
  pendingConfigUnblocked = false;

  addRoutes(c: RouteChanges): void {
    // a prefix withdrawn and re-announced within one change is just announced
    const announced = new Set(c.announce.map((a) => a.prefix.toString()));
    this.bgpWithdraw = this.bgpWithdraw.filter((p) => !announced.has(p.toString()));
    const withdrawn = new Set(c.withdraw.map(String));
    this.bgpAnnounce = this.bgpAnnounce.filter((a) => !withdrawn.has(a.prefix.toString()) && !announced.has(a.prefix.toString()));
    this.bgpAnnounce.push(...c.announce);
    this.bgpWithdraw.push(...c.withdraw);
  }

  build(key: string, decision: ServiceDecision): ServiceEffects {
    // an IP released and re-announced in one pass (IP order change, protocol flip) stays announced
    const again = new Set(this.layer2Announce.map((ip) => ip.key));
    const bgp = this.bgpAnnounce.length || this.bgpWithdraw.length ? { announce: this.bgpAnnounce, withdraw: this.bgpWithdraw } : NO_ROUTES;
    return {
      key,
      decision,
      layer2Announce: this.layer2Announce,
      layer2Release: this.layer2Release.filter((ip) => !again.has(ip.key)),
      bgp,
      announcedSet: this.announcedSet,
      announcedDelete: this.announcedDelete.filter((d) => !this.announcedSet.some((s) => sameSeries(s, d))),
      event: this.event,
      pendingConfigUnblocked: this.pendingConfigUnblocked,
    };
  }
}

function sameSeries(a: AnnouncedSeries, b: AnnouncedSeries): boolean {
  return a.service === b.service && a.protocol === b.protocol && a.node === b.node && a.ip === b.ip;
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s) s.add(v);
  else m.set(k, new Set([v]));
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

export interface SpeakerStateOptions {
  readonly nodeName: string;
  /** Initial live speakers; null when memberlist is disabled. */
  readonly usableSpeakers: ReadonlySet<string> | null;
  readonly decisionOptions?: DecisionOptions;
}

export class SpeakerState {
  readonly nodeName: string;
  /** The BGP route set all sessions carry (a new session gets `routes.routes()`). */
  readonly routes = new AdvertisementTable();
  private readonly decisionOptions: DecisionOptions;
  private config: Config | undefined;
  private labels: NodeLabels = {};
  private peers: readonly Peer[] = [];
  /** The live speakers as gossip reports them (null: memberlist off). */
  private rawUsable: ReadonlySet<string> | null;
  /** rawUsable without the excluded nodes: the layer 2 `Cluster` candidates. */
  private usable: ReadonlySet<string> | null;
  /** Nodes labelled exclude-from-external-load-balancers (empty when the label is ignored). */
  private excluded: ReadonlySet<string> = new Set();
  /** Layer 2 `Cluster` winners among `usable`, per election key (undefined while memberlist is off). */
  private winners: ElectionWinnerCache | undefined;
  private readonly clusterWinner = (electionKey: string): string | undefined => this.winners?.winner(electionKey);
  private readonly records = new Map<string, ServiceRecord>();
  private readonly layer2 = new Map<string, Layer2Holding>();
  private readonly servicesByOwner = new Map<string, Set<string>>();
  private readonly localByReadyNode = new Map<string, Set<string>>();
  private readonly servicesByElectionKey = new Map<string, Set<string>>();
  private pending: { config: Config; blockers: Set<string> } | undefined;
  private loaded = false;
  private stale = false;

  constructor(options: SpeakerStateOptions) {
    this.nodeName = options.nodeName;
    this.rawUsable = options.usableSpeakers === null ? null : new Set(options.usableSpeakers);
    this.usable = this.rawUsable === null ? null : new Set(this.rawUsable);
    this.winners = this.usable === null ? undefined : new ElectionWinnerCache(this.usable);
    this.decisionOptions = options.decisionOptions ?? DEFAULT_DECISION_OPTIONS;
  }

  // ------------------------------------------------------------------ inputs: one Service

  /** A Service was added/updated (or deleted: undefined). Re-decides that Service only. */
  updateService(key: string, service: ServiceLike | undefined): ServiceEffects {
    this.record(key).service = service;
    return this.reconcile(key);
  }

  /** A Service's endpoints changed (undefined: no Endpoints object / no slice). */
  updateEndpoints(key: string, endpoints: EndpointReadiness | undefined): ServiceEffects {
    this.record(key).endpoints = endpoints;
    return this.reconcile(key);
  }

  /** Re-decides one Service from what is stored (after a config or membership change). */
  reconcile(key: string): ServiceEffects {
    const rec = this.record(key);
    const decision = decideService(
      {
        config: this.config,
        nodeName: this.nodeName,
        usableSpeakers: this.usable,
        peers: this.peers,
        options: this.decisionOptions,
        clusterWinner: this.clusterWinner,
        excludedNodes: this.excluded,
      },
      { service: rec.service, endpoints: rec.endpoints, previous: rec.announced },
    );
    const fx = new EffectsBuilder();
    if (decision.action === 'keep') return fx.build(key, decision);
    if (decision.withdrawPrevious !== undefined) {
      // BGP to BGP with other IPs: the table computes the exact route delta in announce(), so an
      // aggregate both the old and the new IPs fall into is not withdrawn and re-sent.
      const bgpToBGP = decision.action === 'announce' && decision.announcement.protocol === 'bgp' && rec.announced?.protocol === 'bgp';
      this.unannounce(key, rec, fx, bgpToBGP);
    }
    if (decision.action === 'announce') {
      this.announce(key, rec, decision.announcement, fx);
      const a = decision.announcement;
      this.setElection(key, rec, a.protocol === 'layer2' ? { electionKey: a.electionKey, owner: this.nodeName } : undefined, a.protocol === 'layer2');
    } else {
      const e = decision.election;
      this.setElection(key, rec, e ? { electionKey: e.electionKey, owner: e.owner } : undefined, e !== undefined);
    }
    if (rec.service === undefined && rec.endpoints === undefined && rec.announced === undefined) this.forget(key);
    return fx.build(key, decision);
  }

  // ------------------------------------------------------------------ inputs: cluster-wide

  /**
   * The live speakers changed (memberlist join/leave/update), or memberlist was turned on/off
   * (null). Returns the Services whose layer 2 election can change; reconcile each of them.
   */
  setUsableSpeakers(next: ReadonlySet<string> | null): string[] {
    this.rawUsable = next === null ? null : new Set(next);
    return this.applyUsable();
  }

  /**
   * The nodes labelled node.kubernetes.io/exclude-from-external-load-balancers changed (pass an
   * empty set when the speaker ignores the label). Such nodes are no layer 2 candidates, and this
   * node announces nothing while it is one of them. Rare, so every known Service is returned for
   * re-deciding (Local-policy and memberlist-less candidates come from endpoints, not gossip);
   * undefined when the set did not change.
   */
  setExcludedNodes(next: ReadonlySet<string>): string[] | undefined {
    if (next.size === this.excluded.size && [...next].every((n) => this.excluded.has(n))) return undefined;
    this.excluded = new Set(next);
    this.applyUsable();
    return [...this.records.keys()];
  }

  /** Whether this node is excluded from announcing (its own label, unless ignored). */
  get nodeExcluded(): boolean {
    return this.excluded.has(this.nodeName);
  }

  private applyUsable(): string[] {
    const prev = this.usable;
    const raw = this.rawUsable;
    const nextSet = raw === null ? null : new Set([...raw].filter((n) => !this.excluded.has(n)));
    this.usable = nextSet;
    if (prev === null && nextSet === null) return [];
    if (prev === null || nextSet === null) {
      this.winners = nextSet === null ? undefined : new ElectionWinnerCache(nextSet);
      return [...this.servicesByElectionKey.values()].flatMap((s) => [...s]);
    }
    const left = [...prev].filter((n) => !nextSet.has(n));
    const joined = [...nextSet].filter((n) => !prev.has(n));
    const affected = new Set<string>();
    // the owner left: re-elect
    for (const node of left) {
      for (const key of this.servicesByOwner.get(node) ?? []) affected.add(key);
    }
    // Cluster: the winner cache says which keys a joining node takes over
    for (const electionKey of this.winners?.update(nextSet, left, joined) ?? []) {
      for (const key of this.servicesByElectionKey.get(electionKey) ?? []) {
        if (!this.records.get(key)?.election?.local) affected.add(key);
      }
    }
    if (joined.length > 0) {
      // elections without any candidate: any joining candidate changes them
      for (const key of this.servicesByOwner.get(NO_OWNER) ?? []) {
        const rec = this.records.get(key);
        if (rec?.election && (!rec.election.local || joined.some((n) => rec.endpoints?.readyNodes.has(n)))) affected.add(key);
      }
      // Local: only Services with a ready endpoint on a joining node
      for (const node of joined) {
        for (const key of this.localByReadyNode.get(node) ?? []) {
          if (affected.has(key)) continue;
          const rec = this.records.get(key);
          const el = rec?.election;
          if (!rec || !el || el.owner === undefined) continue;
          el.ownerDigest ??= electionDigest(el.owner, el.electionKey);
          const digest = electionDigest(node, el.electionKey);
          const cmp = Buffer.compare(digest, el.ownerDigest);
          if (cmp < 0 || (cmp === 0 && node < el.owner)) affected.add(key);
        }
      }
    }
    return [...affected];
  }

  /** The Node's labels changed; returns the session changes, or undefined if the labels are the same. */
  setNodeLabels(labels: NodeLabels): PeerChanges | undefined {
    if (sameLabels(labels, this.labels)) return undefined;
    this.labels = labels instanceof Map ? new Map(labels) : { ...labels };
    return this.reselectPeers();
  }

  /**
   * A newly parsed config. Refused (old config stays, stale) when a Service this node announces
   * has IPs outside every pool of it; otherwise adopted: returns the peer session changes and
   * every Service key to reprocess (the caller spreads that over several turns).
   */
  setConfig(config: Config): ConfigOutcome {
    const blockers: string[] = [];
    for (const [key, rec] of this.records) {
      if (rec.announced && !poolForIPs(config, rec.announced.ips)) blockers.push(key);
    }
    if (blockers.length > 0) {
      this.pending = { config, blockers: new Set(blockers) };
      this.stale = true;
      const first = this.records.get(blockers[0])?.announced;
      return {
        status: 'refused',
        reason: `new config not compatible with assigned IPs: service "${blockers[0]}" cannot own ${first?.ips.map(String).join(', ')} under the new config`,
        blockers,
      };
    }
    this.pending = undefined;
    this.config = config;
    this.loaded = true;
    this.stale = false;
    return { status: 'adopted', reprocess: [...this.records.keys()], peers: this.reselectPeers() };
  }

  /** The ConfigMap's content was invalid, or a protocol handler refused it: old config stays. */
  rejectConfig(reason: string): ConfigOutcome {
    this.pending = undefined;
    this.stale = true;
    return { status: 'rejected', reason };
  }

  /** The ConfigMap is gone: the old config and every announcement stay (stale). */
  configMissing(): ConfigOutcome {
    return this.rejectConfig('the config ConfigMap does not exist');
  }

  /** Retries a refused config (after pendingConfigUnblocked, or on a timer). */
  retryPendingConfig(): ConfigOutcome | undefined {
    return this.pending ? this.setConfig(this.pending.config) : undefined;
  }

  /**
   * Shutdown: withdraws everything this node announces (layer 2 addresses to stop answering for,
   * every BGP prefix, every announced series). The state keeps its inputs but announces nothing
   * until the Services are reconciled again.
   */
  withdrawAll(): { layer2Release: IPAddress[]; bgp: RouteChanges; announcedDelete: AnnouncedSeries[] } {
    const fx = new EffectsBuilder();
    for (const [key, rec] of this.records) {
      if (rec.announced) this.unannounce(key, rec, fx);
    }
    return { layer2Release: fx.layer2Release, bgp: { announce: fx.bgpAnnounce, withdraw: fx.bgpWithdraw }, announcedDelete: fx.announcedDelete };
  }

  // ------------------------------------------------------------------ queries

  get configLoaded(): boolean {
    return this.loaded;
  }
  get configStale(): boolean {
    return this.stale;
  }
  get currentConfig(): Config | undefined {
    return this.config;
  }
  /** Peers whose node-selectors match this node (the sessions to run). */
  get selectedPeers(): readonly Peer[] {
    return this.peers;
  }
  get usableSpeakers(): ReadonlySet<string> | null {
    return this.usable;
  }
  /** What this node announces for a Service, if anything. */
  announced(key: string): AnnouncedService | undefined {
    return this.records.get(key)?.announced;
  }
  /** IPs the layer 2 responders answer for (e.g. for a responder on a new interface). */
  *layer2IPs(): IterableIterator<IPAddress> {
    for (const h of this.layer2.values()) yield h.ip;
  }
  /** All Service keys known (for a full reprocess). */
  serviceKeys(): string[] {
    return [...this.records.keys()];
  }

  // ------------------------------------------------------------------ internals

  private record(key: string): ServiceRecord {
    let rec = this.records.get(key);
    if (!rec) this.records.set(key, (rec = { service: undefined, endpoints: undefined, announced: undefined, election: undefined }));
    return rec;
  }

  private forget(key: string): void {
    this.records.delete(key);
  }

  private reselectPeers(): PeerChanges {
    const next = this.config ? peersForNode(this.config.peers, this.labels) : [];
    const changes = diffPeers(this.peers, next);
    this.peers = next;
    return changes;
  }

  private setElection(key: string, rec: ServiceRecord, el: { electionKey: string; owner: string | undefined } | undefined, ran: boolean): void {
    const old = rec.election;
    if (old) {
      removeFrom(this.servicesByElectionKey, old.electionKey, key);
      removeFrom(this.servicesByOwner, old.owner ?? NO_OWNER, key);
      for (const n of old.readyNodes) removeFrom(this.localByReadyNode, n, key);
    }
    if (ran && el) {
      const local = rec.service ? isLocalPolicy(rec.service) : false;
      const readyNodes = local && rec.endpoints ? [...rec.endpoints.readyNodes] : [];
      rec.election = { electionKey: el.electionKey, owner: el.owner, local, readyNodes };
      addTo(this.servicesByElectionKey, el.electionKey, key);
      addTo(this.servicesByOwner, el.owner ?? NO_OWNER, key);
      for (const n of readyNodes) addTo(this.localByReadyNode, n, key);
    } else {
      rec.election = undefined;
    }
    // a key no Service elects on any more leaves the winner cache
    if (old && !this.servicesByElectionKey.has(old.electionKey)) this.winners?.forget(old.electionKey);
  }

  private series(key: string, a: AnnouncedService): AnnouncedSeries[] {
    return a.ips.map((ip) => ({ service: key, protocol: a.protocol, node: this.nodeName, ip: ip.toString() }));
  }

  private unannounce(key: string, rec: ServiceRecord, fx: EffectsBuilder, keepRoutes = false): void {
    const a = rec.announced;
    if (!a) return;
    if (a.protocol === 'layer2') {
      for (const ip of a.ips) {
        const h = this.layer2.get(ip.key);
        if (!h) continue;
        h.holders.delete(key);
        if (h.holders.size === 0) {
          this.layer2.delete(ip.key);
          fx.layer2Release.push(ip);
        }
      }
    } else if (!keepRoutes) {
      fx.addRoutes(this.routes.delete(key));
    }
    fx.announcedDelete.push(...this.series(key, a));
    rec.announced = undefined;
    if (this.pending?.blockers.delete(key) && this.pending.blockers.size === 0) fx.pendingConfigUnblocked = true;
  }

  private announce(key: string, rec: ServiceRecord, a: Announcement, fx: EffectsBuilder): void {
    if (a.protocol === 'layer2') {
      for (const ip of a.ips) {
        let h = this.layer2.get(ip.key);
        if (!h) this.layer2.set(ip.key, (h = { ip, holders: new Set() }));
        h.holders.add(key);
      }
      fx.layer2Announce.push(...a.ips);
    } else {
      fx.addRoutes(this.routes.set(key, a.advertisements));
    }
    rec.announced = { protocol: a.protocol, ips: a.ips };
    fx.announcedSet.push(...this.series(key, rec.announced));
    fx.event = nodeAssignedEvent(this.nodeName);
    if (this.pending?.blockers.has(key) && poolForIPs(this.pending.config, a.ips)) {
      this.pending.blockers.delete(key);
      if (this.pending.blockers.size === 0) fx.pendingConfigUnblocked = true;
    }
  }
}
