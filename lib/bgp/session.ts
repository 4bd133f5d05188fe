// One BGP session to one peer, always the active side (we never listen). It connects with backoff,
// runs the OPEN exchange, keeps the negotiated hold/keepalive timers, advertises the full desired
// set followed by End-of-RIB once Established, then sends only differences (announce / withdraw),
// and after any failure reconnects and restores every route. The parts: fsm.ts (what each
// message does in each state), connection.ts (the socket), rib.ts (the paced RIB diff); this
// file owns the timers and wires the three together.

import { EventEmitter } from 'node:events';
import { networkInterfaces, hostname } from 'node:os';
import { crc32 } from 'node:zlib';
import { IPAddress, parseIP } from '../ip/index.js';
import type { Peer } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import { KEEPALIVE, encodeMessage, type BGPMessage } from './codec.js';
import { CeaseSubcode, ErrorCode } from './errors.js';
import type { Advertisements, Route } from './advertisement.js';
import { BGPConnection } from './connection.js';
import { openMessage, receive, type FSMConfig, type Negotiated, type Notify, type SessionState } from './fsm.js';
import { AdjRibOut, type RibTarget } from './rib.js';

export type { SessionState } from './fsm.js';

export interface SessionOptions {
  readonly peerAddress: IPAddress;
  /** Default 179. */
  readonly peerPort?: number;
  readonly peerASN: number;
  readonly myASN: number;
  /** Proposed hold time in whole seconds: 0 (no hold timer) or 3..65535. Default 90. */
  readonly holdTimeSeconds?: number;
  /** BGP identifier; must be IPv4. Default: derived per connection (see deriveRouterID). */
  readonly routerID?: IPAddress;
  /** Local address to connect from; must exist on a local interface (else the attempt fails and is retried). */
  readonly sourceAddress?: IPAddress;
  /** TCP MD5 (RFC 2385) key; empty or absent for none. */
  readonly password?: string;
  /** Used for the last-resort router ID (CRC-32 of the name). Default: os.hostname(). */
  readonly nodeName?: string;
  /** Next hop for IPv4 routes. Default: the local IPv4 address of the connection. */
  readonly nextHopV4?: IPAddress;
  /** Next hop for IPv6 routes. Default: the local IPv6 address of the connection, else a global IPv6 address on the same interface. */
  readonly nextHopV6?: IPAddress;
  /** Connect plus OPEN exchange must finish within this. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Reconnect delays: 0, then initial, doubling up to max. Defaults 1 s and 120 s. */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly logger?: Logger;
}

/** Session options from a legacy config peer (keepalive-time is not used: native mode rejects it). */
export function sessionOptionsFromPeer(peer: Peer, nodeName: string, logger?: Logger): SessionOptions {
  return {
    peerAddress: peer.peerAddress,
    peerPort: peer.peerPort,
    peerASN: peer.peerASN,
    myASN: peer.myASN,
    holdTimeSeconds: peer.holdTimeSeconds,
    routerID: peer.routerID,
    sourceAddress: peer.sourceAddress,
    password: peer.password,
    nodeName,
    logger,
  };
}

export interface SessionStats {
  /** UPDATE messages sent since the session object was created (a packed withdraw counts 1). */
  updatesSent: number;
  /** Bytes of UPDATE messages sent. */
  updateBytesSent: number;
  /** Times the session reached Established. */
  establishedCount: number;
}

export interface EstablishedInfo {
  readonly localAddress: IPAddress;
  readonly routerID: IPAddress;
  readonly peerRouterID: IPAddress;
  readonly holdTimeSeconds: number;
  readonly fourOctetAS: boolean;
  readonly families: readonly (4 | 6)[];
}

export interface SessionEvents {
  state: [state: SessionState];
  established: [info: EstablishedInfo];
  down: [reason: string];
  'notification-sent': [code: number, subcode: number];
  'notification-received': [code: number, subcode: number, data: Buffer];
  'route-rejected': [prefix: string, reason: string];
}

/**
 * Delay before the next connection attempt after `failures` consecutive failures (upstream's
 * schedule): 0, then `initialMs`, doubling, capped at `maxMs`.
 */
export function reconnectDelay(failures: number, initialMs = 1000, maxMs = 120_000): number {
  if (failures <= 0) return 0;
  return Math.min(initialMs * 2 ** Math.min(failures - 1, 30), maxMs);
}

/** The metrics `peer` label: `host:port`, IPv6 in brackets. */
export function peerLabel(address: IPAddress, port: number): string {
  return address.family === 6 ? `[${address.toString()}]:${port}` : `${address.toString()}:${port}`;
}

/**
 * The router ID upstream's native speaker uses when none is configured: the local IPv4 address of
 * the connection; for an IPv6 connection the first IPv4 address of the interface owning the local
 * address; failing that the CRC-32 (IEEE) of the node name, its bytes in little-endian order.
 */
export function deriveRouterID(localAddress: IPAddress, nodeName: string): IPAddress {
  if (localAddress.family === 4) return localAddress;
  const mapped = localAddress.unmapIPv4();
  if (mapped) return mapped;
  const sibling = addressOnSameInterface(localAddress, 4);
  if (sibling) return sibling;
  const sum = crc32(Buffer.from(nodeName, 'utf8'));
  const le = Buffer.alloc(4);
  le.writeUInt32LE(sum >>> 0);
  return IPAddress.fromBytes(le);
}

/** The first address of `family` (global scope for IPv6) on the interface that owns `address`. */
export function addressOnSameInterface(address: IPAddress, family: 4 | 6): IPAddress | undefined {
  for (const list of Object.values(networkInterfaces())) {
    if (!list) continue;
    if (!list.some((a) => parseIP(a.address.split('%')[0])?.equals(address))) continue;
    for (const a of list) {
      const ip = parseIP(a.address.split('%')[0]);
      if (!ip || ip.family !== family) continue;
      if (family === 6 && (ip.value >> 118n) === 0x3fan) continue; // fe80::/10 link-local
      return ip;
    }
  }
  return undefined;
}

/** Per-TCP-connection state; replaced on every attempt so stale callbacks can be recognised. */
interface Connection {
  readonly io: BGPConnection;
  localAddress?: IPAddress;
  routerID?: IPAddress;
  negotiated?: Negotiated;
  holdTimer?: NodeJS.Timeout;
  keepaliveTimer?: NodeJS.Timeout;
}

export class BGPSession extends EventEmitter<SessionEvents> {
  readonly peer: string;
  readonly stats: SessionStats = { updatesSent: 0, updateBytesSent: 0, establishedCount: 0 };
  private readonly opts: Required<Pick<SessionOptions, 'peerPort' | 'holdTimeSeconds' | 'connectTimeoutMs' | 'backoffInitialMs' | 'backoffMaxMs' | 'nodeName'>> & SessionOptions;
  private readonly fsm: FSMConfig;
  private readonly log: Logger;
  private readonly rib: AdjRibOut;
  private stateValue: SessionState = 'idle';
  private conn?: Connection;
  private connectTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;

  constructor(options: SessionOptions) {
    super();
    const hold = options.holdTimeSeconds ?? 90;
    if (!Number.isInteger(hold) || hold < 0 || hold > 0xffff || hold === 1 || hold === 2) {
      throw new RangeError(`hold time must be 0 or 3..65535 whole seconds, got ${hold}`);
    }
    if (options.routerID && options.routerID.family !== 4) throw new RangeError(`router ID must be an IPv4 address, got ${options.routerID.toString()}`);
    for (const [name, asn] of [['my ASN', options.myASN], ['peer ASN', options.peerASN]] as const) {
      if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff) throw new RangeError(`${name} must be 1..4294967295, got ${asn}`);
    }
    if (options.sourceAddress && options.sourceAddress.family !== options.peerAddress.family) {
      throw new RangeError(`source address ${options.sourceAddress.toString()} is not of the peer address's family`);
    }
    this.opts = {
      connectTimeoutMs: 10_000,
      backoffInitialMs: 1000,
      backoffMaxMs: 120_000,
      nodeName: hostname(),
      ...options,
      peerPort: options.peerPort || 179,
      holdTimeSeconds: hold,
    };
    this.fsm = { myASN: options.myASN, peerASN: options.peerASN, holdTimeSeconds: hold };
    this.peer = peerLabel(options.peerAddress, this.opts.peerPort);
    this.log = (options.logger ?? silentLogger()).child({ peer: this.peer });
    this.rib = new AdjRibOut({
      myASN: options.myASN, peerASN: options.peerASN, log: this.log,
      rejected: (prefix, reason) => this.emit('route-rejected', prefix, reason),
    }, this.stats);
  }

  get state(): SessionState {
    return this.stateValue;
  }

  get established(): boolean {
    return this.stateValue === 'established';
  }

  /** Number of prefixes the peer currently holds from us (0 while down). */
  get announcedPrefixes(): number {
    return this.rib.announced;
  }

  /** Number of prefixes that should be advertised. */
  get pendingPrefixes(): number {
    return this.rib.pending;
  }

  /** Prefixes that cannot be sent to this peer, with the reason (e.g. no IPv6 next hop). */
  get rejectedRoutes(): ReadonlyMap<string, string> {
    return this.rib.rejected;
  }

  /** Starts connecting (immediately). */
  start(): void {
    if (this.stateValue !== 'idle') return;
    this.connect();
  }

  /**
   * Replaces the desired set of routes (keyed by prefix text). While Established the difference is
   * sent at once: withdrawals of vanished prefixes, announcements of new or changed ones.
   */
  setAdvertisements(routes: Advertisements): void {
    this.rib.setDesired(routes);
  }

  /**
   * Stops the session for good: changes still being sent are written out, then a NOTIFICATION
   * Cease (default: Peer De-configured) is sent if the OPEN exchange has started, and the
   * connection is closed.
   */
  async close(subcode: number = CeaseSubcode.PeerDeconfigured): Promise<void> {
    if (this.stateValue === 'closed') return;
    clearTimeout(this.retryTimer);
    const conn = this.conn;
    const notify = this.stateValue === 'open-sent' || this.stateValue === 'open-confirm' || this.stateValue === 'established';
    if (conn && !conn.io.closed && this.established) this.rib.flush();
    this.setState('closed');
    if (!conn || conn.io.closed) return;
    await new Promise<void>((resolve) => {
      conn.io.socket.once('close', () => resolve());
      this.dropConnection(conn, 'session closed', notify ? { code: ErrorCode.Cease, subcode } : undefined);
    });
  }

  // ---------------------------------------------------------------------------------- connection

  private setState(s: SessionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  private connect(): void {
    this.setState('connect');
    let conn: Connection | undefined;
    let io: BGPConnection;
    try {
      io = new BGPConnection(this.opts, {
        connected: (local) => this.onConnect(conn!, local),
        framed: () => this.restartHoldTimer(conn!),
        message: (msg) => this.onMessage(conn!, msg),
        // RFC 7606: broken path attributes in an UPDATE withdraw that UPDATE's routes rather than
        // the session. We never use the peer's routes, so the UPDATE is simply dropped.
        malformed: (err) => {
          if (!err.treatAsWithdraw || !this.established) return false;
          this.log.warn({ op: 'receive', code: err.code, subcode: err.subcode, offset: err.offset, error: err.detail }, 'ignoring an UPDATE with malformed path attributes (treat-as-withdraw)');
          return true;
        },
        fatal: (err) => {
          this.log.warn({ op: 'receive', code: err.code, subcode: err.subcode, offset: err.offset, error: err.detail }, 'malformed message from peer');
          this.dropConnection(conn!, `malformed message: ${err.message}`, { code: err.code, subcode: err.subcode, data: err.data });
        },
        gone: (reason) => this.dropConnection(conn!, reason),
      });
    } catch (err) {
      const reason = `socket: ${(err as Error).message}`;
      this.log.warn({ op: 'connect', error: (err as Error).message }, 'cannot create the socket');
      this.emit('down', reason);
      this.scheduleRetry(reason);
      return;
    }
    const c: Connection = { io };
    conn = c;
    this.conn = c;
    this.connectTimer = setTimeout(() => this.dropConnection(c, `connect and OPEN exchange did not finish within ${this.opts.connectTimeoutMs} ms`), this.opts.connectTimeoutMs);
  }

  private onConnect(conn: Connection, local: IPAddress | undefined): void {
    if (!local) {
      this.dropConnection(conn, `unusable local address ${String(conn.io.socket.localAddress)}`);
      return;
    }
    conn.localAddress = local;
    conn.routerID = this.opts.routerID ?? deriveRouterID(local, this.opts.nodeName);
    this.log.debug({ op: 'connect', localAddress: local.toString(), routerID: conn.routerID.toString() }, 'connected, sending OPEN');
    conn.io.write(encodeMessage(openMessage(this.fsm, conn.routerID)));
    this.setState('open-sent');
  }

  private onMessage(conn: Connection, msg: BGPMessage): void {
    const step = receive(this.stateValue, msg, this.fsm, conn.routerID, conn.negotiated?.families ?? new Set());
    switch (step.action) {
      case 'none':
        return;
      case 'notified':
        this.log.warn({ op: 'receive', code: step.code, subcode: step.subcode, notification: step.names, data: step.data.toString('hex') }, 'peer sent NOTIFICATION');
        this.emit('notification-received', step.code, step.subcode, step.data);
        this.dropConnection(conn, step.reason);
        return;
      case 'drop':
        if (step.refusedOpen) this.log.warn({ op: 'open', code: step.refusedOpen.code, subcode: step.refusedOpen.subcode, error: step.refusedOpen.detail }, 'refusing peer OPEN');
        this.dropConnection(conn, step.reason, step.notify);
        return;
      case 'open-confirm':
        conn.negotiated = step.negotiated;
        conn.io.setFourOctetAS(step.negotiated.fourOctetAS);
        conn.io.write(KEEPALIVE);
        this.setState('open-confirm');
        this.restartHoldTimer(conn);
        return;
      case 'establish':
        return this.onEstablished(conn);
      case 'refresh':
        return this.rib.refresh(step.family);
    }
  }

  private onEstablished(conn: Connection): void {
    clearTimeout(this.connectTimer);
    this.failures = 0;
    this.stats.establishedCount++;
    const n = conn.negotiated!;
    if (n.holdTimeSeconds > 0) {
      conn.keepaliveTimer = setInterval(() => conn.io.write(KEEPALIVE), (n.holdTimeSeconds * 1000) / 3);
    }
    this.setState('established');
    const info: EstablishedInfo = {
      localAddress: conn.localAddress as IPAddress,
      routerID: conn.routerID as IPAddress,
      peerRouterID: n.peerRouterID,
      holdTimeSeconds: n.holdTimeSeconds,
      fourOctetAS: n.fourOctetAS,
      families: [...n.families].sort(),
    };
    this.log.info({ op: 'established', holdTime: info.holdTimeSeconds, routerID: info.routerID.toString(), families: info.families }, 'BGP session established');
    this.emit('established', info);
    this.rib.attach(this.ribTarget(conn, n));
  }

  private ribTarget(conn: Connection, n: Negotiated): RibTarget {
    return {
      families: n.families,
      fourOctetAS: n.fourOctetAS,
      live: () => !conn.io.closed && this.conn === conn && this.established,
      nextHop: (route) => this.nextHopFor(conn, n.families, route),
      write: (bytes) => conn.io.write(bytes),
    };
  }

  private restartHoldTimer(conn: Connection): void {
    clearTimeout(conn.holdTimer);
    if (this.stateValue !== 'open-confirm' && this.stateValue !== 'established') return;
    const hold = conn.negotiated?.holdTimeSeconds ?? 0;
    if (hold === 0) return;
    conn.holdTimer = setTimeout(() => {
      this.log.warn({ op: 'hold-timer', holdTime: hold }, 'hold timer expired');
      this.dropConnection(conn, `hold timer expired (${hold} s without a message)`, { code: ErrorCode.HoldTimerExpired, subcode: 0 });
    }, hold * 1000);
  }

  /**
   * Ends the current connection (idempotent per connection), optionally sending a NOTIFICATION
   * first, and schedules the reconnect unless the session was closed.
   */
  private dropConnection(conn: Connection, reason: string, notify?: Notify): void {
    if (conn.io.closed) return;
    clearTimeout(conn.holdTimer);
    clearInterval(conn.keepaliveTimer);
    if (this.conn === conn) clearTimeout(this.connectTimer);
    if (conn.io.close(notify) && notify) this.emit('notification-sent', notify.code, notify.subcode);
    if (this.conn !== conn) return;
    const wasEstablished = this.stateValue === 'established';
    this.rib.detach();
    if (this.stateValue === 'closed') return;
    this.log.info({ op: 'down', reason, wasEstablished }, 'BGP session down');
    this.emit('down', reason);
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    if (this.stateValue === 'closed') return;
    this.setState('idle');
    const delay = reconnectDelay(this.failures, this.opts.backoffInitialMs, this.opts.backoffMaxMs);
    this.failures++;
    this.log.debug({ op: 'reconnect', delayMs: delay, reason }, 'reconnecting');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.stateValue === 'idle') this.connect();
    }, delay);
  }

  private nextHopFor(conn: Connection, families: ReadonlySet<4 | 6>, route: Route): IPAddress | string {
    const family = route.prefix.family;
    if (!families.has(family)) return `the peer did not negotiate IPv${family} unicast`;
    if (route.nextHop) {
      if (route.nextHop.family !== family) return `next hop ${route.nextHop.toString()} is not IPv${family}`;
      return route.nextHop;
    }
    const configured = family === 4 ? this.opts.nextHopV4 : this.opts.nextHopV6;
    if (configured) return configured;
    const local = conn.localAddress as IPAddress;
    if (local.family === family) return local;
    const sibling = addressOnSameInterface(local, family);
    if (sibling) return sibling;
    return `no IPv${family} next hop: the session runs over IPv${local.family} and the interface has no usable IPv${family} address`;
  }
}
