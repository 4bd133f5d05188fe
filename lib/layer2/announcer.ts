// The layer-2 announcer: one ARP and/or NDP responder per qualifying interface, the set of
// announced addresses they answer for, gratuitous announcements for gained addresses, and a
// periodic interface re-scan. See index.ts for the public contract.
import { performance } from 'node:perf_hooks';
import type { Logger } from '../util/log.js';
import { IPAddress } from '../ip/index.js';
import { MacAddress } from './mac.js';
import { gratuitousArpFrames } from './arp.js';
import { ALL_NODES, solicitedNodeMulticast, unsolicitedAdvertisement } from './ndp.js';
import { AnnouncedAddresses, answerArp, answerNeighborSolicitation, answerUnicastSolicitation, type NdpVerdict } from './decisions.js';
import { GRATUITOUS_DURATION_MS, GRATUITOUS_INTERVAL_MS, GratuitousSchedule } from './gratuitous.js';
import { type LinkInfo, qualifiesForArp, qualifiesForNdp, readLinks } from './interfaces.js';
import { noCounters, type Layer2Counters } from './metrics.js';
import { FrameSocket, Layer2SocketError, NdpSocket, type FrameMeta } from './sockets.js';

export const RESCAN_INTERVAL_MS = 10_000;

export interface Layer2AnnouncerOptions {
  readonly logger: Logger;
  /** Where requests, responses and gratuitous packets are counted (default: nowhere; see layer2PromCounters). */
  readonly counters?: Layer2Counters;
  /** How often interfaces are listed again (default 10 s, as upstream). */
  readonly rescanIntervalMs?: number;
  /** How long a gained address keeps being announced (default 5 s). */
  readonly gratuitousDurationMs?: number;
  /** Spacing of gratuitous rounds (default 1.1 s). */
  readonly gratuitousIntervalMs?: number;
  /** Extra restriction on interfaces (default: every interface docs/behaviour/layer2.md#responders accepts). */
  readonly interfaceFilter?: (link: LinkInfo) => boolean;
  /** Where interfaces come from (default: /sys/class/net and /proc/net/if_inet6). */
  readonly listLinks?: () => Promise<LinkInfo[]>;
}

/** What the announcer currently runs on one interface. */
export interface InterfaceStatus {
  readonly name: string;
  readonly index: number;
  readonly mac: string;
  readonly arp: boolean;
  readonly ndp: boolean;
}

interface InterfaceState {
  readonly link: LinkInfo;
  readonly mac: MacAddress;
  arp?: FrameSocket;
  ndp?: NdpSocket;
  /** Unicast solicitations (neighbour unreachability probes), which never reach the ICMPv6 socket. */
  ndpUnicast?: FrameSocket;
  /** Solicited-node groups joined on the NDP socket, with how many announced addresses need each. */
  readonly groups: Map<string, { group: IPAddress; users: number }>;
  /** Reused for every ARP reply on this interface (sent synchronously). */
  readonly arpReply: Buffer;
}

function isPermissionError(err: unknown): boolean {
  return err instanceof Layer2SocketError && (err.code === 'EPERM' || err.code === 'EACCES');
}

/** Maps ::ffff:a.b.c.d to a.b.c.d so an address has exactly one form. */
function canonical(ip: IPAddress): IPAddress {
  return ip.unmapIPv4() ?? ip;
}

export class Layer2Announcer {
  private readonly logger: Logger;
  private readonly counters: Layer2Counters;
  private readonly announced = new AnnouncedAddresses();
  private readonly interfaces = new Map<string, InterfaceState>();
  private readonly schedule: GratuitousSchedule;
  private readonly gratuitousIntervalMs: number;
  private readonly interfaceFilter: (link: LinkInfo) => boolean;
  private readonly listLinks: () => Promise<LinkInfo[]>;
  private readonly firstScan: Promise<void>;
  private readonly rescanTimer: NodeJS.Timeout;
  private ticker: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private closed = false;

  constructor(options: Layer2AnnouncerOptions) {
    this.logger = options.logger;
    this.counters = options.counters ?? noCounters;
    this.schedule = new GratuitousSchedule(options.gratuitousDurationMs ?? GRATUITOUS_DURATION_MS);
    this.gratuitousIntervalMs = options.gratuitousIntervalMs ?? GRATUITOUS_INTERVAL_MS;
    this.interfaceFilter = options.interfaceFilter ?? (() => true);
    this.listLinks = options.listLinks ?? (() => readLinks());
    this.firstScan = this.rescan();
    this.firstScan.catch(() => { /* reported through ready() */ });
    this.rescanTimer = setInterval(() => {
      this.rescan().catch((err: unknown) => this.logger.error({ op: 'layer2Rescan', error: String(err) }, 'interface scan failed, retrying later'));
    }, options.rescanIntervalMs ?? RESCAN_INTERVAL_MS);
    this.rescanTimer.unref();
  }

  /** Resolves after the first interface scan; rejects when responders cannot be opened (e.g. no CAP_NET_RAW). */
  ready(): Promise<void> {
    return this.firstScan;
  }

  /**
   * Makes `ips` the full set of announced addresses. Addresses no longer in the set are dropped
   * at once (no further replies, no further gratuitous packets); gained ones are announced
   * immediately and then every interval until the gratuitous duration has passed.
   */
  setAnnounced(ips: Iterable<IPAddress>): void {
    if (this.closed) throw new Error('Layer2Announcer is closed');
    const want = new AnnouncedAddresses();
    for (const ip of ips) want.add(canonical(ip));
    for (const ip of this.announced.values()) {
      if (want.has(ip)) continue;
      this.announced.delete(ip);
      this.schedule.delete(ip);
      if (ip.family === 6) for (const st of this.interfaces.values()) this.leaveGroup(st, ip);
      this.logger.info({ op: 'layer2Withdraw', ip: ip.toString() }, 'stopped answering for address');
    }
    const now = performance.now();
    for (const ip of want.values()) {
      if (!this.announced.add(ip)) continue;
      if (ip.family === 6) for (const st of this.interfaces.values()) this.joinGroup(st, ip);
      this.logger.info({ op: 'layer2Announce', ip: ip.toString() }, 'answering for address');
      if (this.schedule.add(ip, now)) this.sendGratuitous(ip);
    }
    this.ensureTicker();
  }

  /**
   * Upstream re-announces a Service's addresses on every successful reconcile: each address of
   * `ips` that is announced gets its gratuitous window renewed (sent at once if its previous
   * window had ended, otherwise only extended). Addresses not announced are ignored.
   */
  reannounce(ips: Iterable<IPAddress>): void {
    if (this.closed) return;
    const now = performance.now();
    for (const raw of ips) {
      const ip = canonical(raw);
      if (this.announced.has(ip) && this.schedule.add(ip, now)) this.sendGratuitous(ip);
    }
    this.ensureTicker();
  }

  /** The addresses currently answered for. */
  announcedAddresses(): IPAddress[] {
    return this.announced.values();
  }

  /** The interfaces with a responder. */
  interfaceStatus(): InterfaceStatus[] {
    return [...this.interfaces.values()].map((st) => ({
      name: st.link.name, index: st.link.index, mac: st.mac.toString(), arp: st.arp !== undefined, ndp: st.ndp !== undefined,
    }));
  }

  /** Lists interfaces now and opens/closes responders to match (also runs every rescan interval). */
  rescan(): Promise<void> {
    this.scanning ??= this.scan().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  /** Stops answering, closes every socket and timer. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.rescanTimer);
    if (this.ticker) clearInterval(this.ticker);
    for (const st of this.interfaces.values()) this.closeInterface(st);
    this.interfaces.clear();
  }

  private async scan(): Promise<void> {
    const links = await this.listLinks();
    if (this.closed) return;
    const seen = new Set<string>();
    let permissionError: unknown;
    for (const link of links) {
      if (!this.interfaceFilter(link)) continue;
      const wantArp = qualifiesForArp(link);
      const wantNdp = qualifiesForNdp(link);
      let st = this.interfaces.get(link.name);
      if (st && (st.link.index !== link.index || !link.mac || !st.mac.equals(link.mac))) {
        // recreated or re-addressed: start over with the new index/MAC
        this.logger.info({ op: 'layer2Interface', interface: link.name, mac: link.mac?.toString() }, 'interface changed, recreating responders');
        this.closeInterface(st);
        this.interfaces.delete(link.name);
        st = undefined;
      }
      if (!wantArp && !wantNdp) continue;
      seen.add(link.name);
      if (!st) {
        st = { link, mac: link.mac as MacAddress, groups: new Map(), arpReply: Buffer.alloc(42) };
        this.interfaces.set(link.name, st);
      }
      try {
        this.reconcileInterface(st, wantArp, wantNdp);
      } catch (err) {
        if (isPermissionError(err)) permissionError ??= err;
        this.logger.error({ op: 'layer2Interface', interface: link.name, error: String(err) }, 'cannot open responder');
      }
      if (!st.arp && !st.ndp) {
        this.interfaces.delete(link.name);
        seen.delete(link.name);
      }
    }
    for (const [name, st] of this.interfaces) {
      if (seen.has(name)) continue;
      this.logger.info({ op: 'layer2Interface', interface: name }, 'interface gone or no longer qualifies, closing responders');
      this.closeInterface(st);
      this.interfaces.delete(name);
    }
    if (permissionError) throw permissionError;
  }

  private reconcileInterface(st: InterfaceState, wantArp: boolean, wantNdp: boolean): void {
    const name = st.link.name;
    if (!wantArp && st.arp) {
      st.arp.close();
      st.arp = undefined;
      this.logger.info({ op: 'layer2Interface', interface: name, protocol: 'arp' }, 'closed ARP responder');
    }
    if (!wantNdp && st.ndp) {
      st.ndp.close();
      st.ndp = undefined;
      st.ndpUnicast?.close();
      st.ndpUnicast = undefined;
      st.groups.clear();
      this.logger.info({ op: 'layer2Interface', interface: name, protocol: 'ndp' }, 'closed NDP responder');
    }
    if (wantArp && !st.arp) {
      const sock = FrameSocket.open(st.link.index, name);
      st.arp = sock;
      sock.onFrame((frame, meta) => this.onArpFrame(st, sock, frame, meta), (err) => this.onSocketError(name, err));
      this.logger.info({ op: 'layer2Interface', interface: name, protocol: 'arp', mac: st.mac.toString() }, 'created ARP responder');
    }
    if (wantNdp && !st.ndp) {
      const sock = NdpSocket.open(st.link.index, name);
      st.ndp = sock;
      sock.onMessage((msg, meta) => this.onNdpVerdict(st, sock, answerNeighborSolicitation(msg, meta.source, meta.hopLimit, st.mac, this.announced)),
        (err) => this.onSocketError(name, err));
      try {
        const unicast = FrameSocket.openUnicastSolicitations(st.link.index, name);
        st.ndpUnicast = unicast;
        unicast.onFrame((frame, meta) => this.onNdpVerdict(st, sock, answerUnicastSolicitation(frame, meta, st.mac, this.announced)),
          (err) => this.onSocketError(name, err));
      } catch (err) {
        sock.close();
        st.ndp = undefined;
        throw err;
      }
      // unlike upstream, a responder created later also joins the groups of addresses already announced
      for (const ip of this.announced.values()) if (ip.family === 6) this.joinGroup(st, ip);
      this.logger.info({ op: 'layer2Interface', interface: name, protocol: 'ndp', mac: st.mac.toString() }, 'created NDP responder');
    }
  }

  private closeInterface(st: InterfaceState): void {
    st.arp?.close();
    st.ndp?.close();
    st.ndpUnicast?.close();
    st.arp = undefined;
    st.ndp = undefined;
    st.ndpUnicast = undefined;
    st.groups.clear();
  }

  private onSocketError(name: string, err: Layer2SocketError): void {
    this.logger.error({ op: 'layer2Receive', interface: name, error: err.message }, 'socket error');
  }

  private onArpFrame(st: InterfaceState, sock: FrameSocket, frame: Buffer, meta: FrameMeta): void {
    const verdict = answerArp(frame, meta, st.mac, this.announced, st.arpReply);
    if (verdict.kind === 'ignore') return;
    const ip = this.announced.text(verdict.ip);
    this.counters.requestReceived(ip);
    if (sock.send(verdict.frame)) {
      this.counters.responseSent(ip);
      if (this.logger.isLevelEnabled('debug')) {
        const requester = IPAddress.fromBytes(verdict.frame.subarray(38, 42)).toString();
        this.logger.debug({ op: 'arpReply', interface: st.link.name, ip, requester }, 'answered ARP request');
      }
    } else {
      this.logger.warn({ op: 'arpReply', interface: st.link.name, ip }, 'kernel refused ARP reply');
    }
  }

  private onNdpVerdict(st: InterfaceState, sock: NdpSocket, verdict: NdpVerdict): void {
    if (verdict.kind === 'ignore') return;
    const ip = this.announced.text(verdict.ip);
    this.counters.requestReceived(ip);
    if (sock.send(verdict.message, verdict.destination.toBytes(), verdict.ip.toBytes())) {
      this.counters.responseSent(ip);
      if (this.logger.isLevelEnabled('debug')) {
        this.logger.debug({ op: 'ndpReply', interface: st.link.name, ip, requester: verdict.destination.toString() }, 'answered neighbor solicitation');
      }
    } else {
      this.logger.warn({ op: 'ndpReply', interface: st.link.name, ip }, 'kernel refused neighbor advertisement');
    }
  }

  private joinGroup(st: InterfaceState, ip: IPAddress): void {
    if (!st.ndp) return;
    const group = solicitedNodeMulticast(ip);
    const key = group.toBytes().toString('hex');
    const entry = st.groups.get(key);
    if (entry) {
      entry.users++;
      return;
    }
    try {
      st.ndp.membership(group, true);
      st.groups.set(key, { group, users: 1 });
    } catch (err) {
      this.logger.error({ op: 'layer2Join', interface: st.link.name, ip: ip.toString(), error: String(err) }, 'cannot join solicited-node group');
    }
  }

  private leaveGroup(st: InterfaceState, ip: IPAddress): void {
    if (!st.ndp) return;
    const key = solicitedNodeMulticast(ip).toBytes().toString('hex');
    const entry = st.groups.get(key);
    if (!entry) return;
    if (--entry.users > 0) return;
    st.groups.delete(key);
    try {
      st.ndp.membership(entry.group, false);
    } catch (err) {
      this.logger.warn({ op: 'layer2Leave', interface: st.link.name, ip: ip.toString(), error: String(err) }, 'cannot leave solicited-node group');
    }
  }

  private sendGratuitous(ip: IPAddress): void {
    const text = ip.toString();
    for (const st of this.interfaces.values()) {
      if (ip.family === 4 && st.arp) {
        for (const frame of gratuitousArpFrames(ip, st.mac)) {
          if (st.arp.send(frame)) this.counters.gratuitousSent(text);
        }
      } else if (ip.family === 6 && st.ndp) {
        if (st.ndp.send(unsolicitedAdvertisement(ip, st.mac), ALL_NODES.toBytes(), ip.toBytes())) this.counters.gratuitousSent(text);
      }
    }
  }

  private ensureTicker(): void {
    if (this.ticker || this.schedule.size === 0 || this.closed) return;
    this.ticker = setInterval(() => {
      for (const ip of this.schedule.tick(performance.now())) if (this.announced.has(ip)) this.sendGratuitous(ip);
      if (this.schedule.size === 0 && this.ticker) {
        clearInterval(this.ticker);
        this.ticker = undefined;
      }
    }, this.gratuitousIntervalMs);
    this.ticker.unref();
  }
}
