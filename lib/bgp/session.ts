// One BGP session to one peer, always the active side (we never listen). It connects with backoff,
// exchanges and validates OPENs, keeps the negotiated hold/keepalive timers, advertises the full
// desired set followed by End-of-RIB once Established, then sends only differences (announce /
// withdraw), and after any failure reconnects and restores every route.

import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { networkInterfaces, hostname } from 'node:os';
import { crc32 } from 'node:zlib';
import { IPAddress, parseIP, type CIDR } from '../ip/index.js';
import type { Peer } from '../config/types.js';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import {
  AFI,
  AS_TRANS,
  BGP_VERSION,
  KEEPALIVE,
  MessageFramer,
  SAFI,
  capabilitiesOf,
  decodeMessage,
  encodeMessage,
  type BGPMessage,
  type Capability,
  type OpenMessage,
} from './codec.js';
import { BGPMessageError, CeaseSubcode, ErrorCode, FSMSubcode, OpenSubcode, errorCodeName, errorSubcodeName } from './errors.js';
import { endOfRIB, groupByAttributes, normaliseCommunities, packGroup, packWithdrawals, prefixesPerMessages, type Advertisements, type Route, type RouteWithNextHop, type UpdateContext } from './advertisement.js';
import { createMd5Socket } from './tcp-md5.js';

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

export type SessionState = 'idle' | 'connect' | 'open-sent' | 'open-confirm' | 'established' | 'closed';

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

function socketAddress(text: string | undefined): IPAddress | undefined {
  if (!text) return undefined;
  const ip = parseIP(text.split('%')[0]);
  return ip?.unmapIPv4() ?? ip;
}

interface SentRoute {
  readonly route: Route;
  readonly nextHop: IPAddress;
}

/** Per-TCP-connection state; replaced on every attempt so stale callbacks can be recognised. */
interface Connection {
  readonly socket: Socket;
  readonly framer: MessageFramer;
  localAddress?: IPAddress;
  routerID?: IPAddress;
  fourOctetAS: boolean;
  families: Set<4 | 6>;
  holdTimeSeconds: number;
  /** End-of-RIB is due once the initial full advertisement has been queued. */
  endOfRIBPending: boolean;
  holdTimer?: NodeJS.Timeout;
  keepaliveTimer?: NodeJS.Timeout;
  closed: boolean;
}

const MAX_COMMUNITIES_PER_ROUTE = 900; // keeps one route's attributes well inside a 4096-byte UPDATE
/** Work per event-loop turn when sending a large change: 5 full UPDATEs (about 4,000 /32s). */
const MESSAGES_PER_SLICE = 5;
const WITHDRAWALS_PER_SLICE = 4000;
/** Prefixes compared per event-loop turn: one full UPDATE of /32s. */
const DIFF_CHUNK = 810;

export class BGPSession extends EventEmitter<SessionEvents> {
  readonly peer: string;
  readonly stats: SessionStats = { updatesSent: 0, updateBytesSent: 0, establishedCount: 0 };
  private readonly opts: Required<Pick<SessionOptions, 'peerPort' | 'holdTimeSeconds' | 'connectTimeoutMs' | 'backoffInitialMs' | 'backoffMaxMs' | 'nodeName'>> & SessionOptions;
  private readonly log: Logger;
  private stateValue: SessionState = 'idle';
  private conn?: Connection;
  private connectTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private failures = 0;
  private desired: Map<string, Route> = new Map();
  /** What the peer currently holds from us (empty while down). */
  private readonly advertised = new Map<string, SentRoute>();
  private readonly rejected = new Map<string, string>();
  /** Encoding work waiting to be written, in order (see sync). */
  private outQueue: (() => Buffer[])[] = [];
  private draining = false;
  /** The diff in progress (see sync). */
  private diffJob?: {
    readonly conn: Connection;
    readonly desired: ReadonlyMap<string, Route>;
    readonly entries: Iterator<[string, Route]>;
    withdrawing?: Iterator<[string, SentRoute]>;
    readonly rejected: Map<string, string>;
  };

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
    this.peer = peerLabel(options.peerAddress, this.opts.peerPort);
    this.log = (options.logger ?? silentLogger()).child({ peer: this.peer });
  }

  get state(): SessionState {
    return this.stateValue;
  }

  get established(): boolean {
    return this.stateValue === 'established';
  }

  /** Number of prefixes the peer currently holds from us (0 while down). */
  get announcedPrefixes(): number {
    return this.advertised.size;
  }

  /** Number of prefixes that should be advertised. */
  get pendingPrefixes(): number {
    return this.desired.size;
  }

  /** Prefixes that cannot be sent to this peer, with the reason (e.g. no IPv6 next hop). */
  get rejectedRoutes(): ReadonlyMap<string, string> {
    return this.rejected;
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
    this.desired = new Map(routes);
    if (this.established) this.sync();
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
    if (conn && !conn.closed && this.established) this.flush(conn);
    this.setState('closed');
    if (!conn || conn.closed) return;
    await new Promise<void>((resolve) => {
      conn.socket.once('close', () => resolve());
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
    const { peerAddress, peerPort, sourceAddress, password } = this.opts;
    let socket: Socket;
    try {
      socket = password ? createMd5Socket(peerAddress, password, sourceAddress) : new Socket();
    } catch (err) {
      const reason = `socket: ${(err as Error).message}`;
      this.log.warn({ op: 'connect', error: (err as Error).message }, 'cannot create the socket');
      this.emit('down', reason);
      this.scheduleRetry(reason);
      return;
    }
    const conn: Connection = { socket, framer: new MessageFramer(), fourOctetAS: false, families: new Set(), holdTimeSeconds: 0, endOfRIBPending: false, closed: false };
    this.conn = conn;
    this.connectTimer = setTimeout(() => this.dropConnection(conn, `connect and OPEN exchange did not finish within ${this.opts.connectTimeoutMs} ms`), this.opts.connectTimeoutMs);
    socket.setNoDelay(true);
    socket.on('connect', () => this.onConnect(conn));
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (err) => this.dropConnection(conn, `socket error: ${err.message}`));
    socket.on('close', () => this.dropConnection(conn, 'connection closed'));
    socket.on('end', () => this.dropConnection(conn, 'peer closed the connection'));
    if (password) socket.connect(peerPort, peerAddress.toString());
    else socket.connect({ port: peerPort, host: peerAddress.toString(), localAddress: sourceAddress?.toString(), family: peerAddress.family });
  }

  private onConnect(conn: Connection): void {
    if (conn.closed) return;
    const local = socketAddress(conn.socket.localAddress);
    if (!local) {
      this.dropConnection(conn, `unusable local address ${String(conn.socket.localAddress)}`);
      return;
    }
    conn.localAddress = local;
    conn.routerID = this.opts.routerID ?? deriveRouterID(local, this.opts.nodeName);
    const { myASN, holdTimeSeconds } = this.opts;
    const open: OpenMessage = {
      type: 'open',
      version: BGP_VERSION,
      myAS: myASN > 0xffff ? AS_TRANS : myASN,
      holdTime: holdTimeSeconds,
      bgpIdentifier: conn.routerID,
      capabilities: [
        { kind: 'multiprotocol', afi: AFI.IPv4, safi: SAFI.Unicast },
        { kind: 'multiprotocol', afi: AFI.IPv6, safi: SAFI.Unicast },
        { kind: 'route-refresh' },
        { kind: 'four-octet-as', asn: myASN },
      ],
    };
    this.log.debug({ op: 'connect', localAddress: local.toString(), routerID: conn.routerID.toString() }, 'connected, sending OPEN');
    conn.socket.write(encodeMessage(open));
    this.setState('open-sent');
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.closed) return;
    try {
      for (const raw of conn.framer.push(chunk)) {
        this.restartHoldTimer(conn);
        let msg: BGPMessage;
        try {
          msg = decodeMessage(raw, { fourOctetAS: conn.fourOctetAS, validateOnly: true });
        } catch (err) {
          // RFC 7606: broken path attributes in an UPDATE withdraw that UPDATE's routes rather than
          // the session. We never use the peer's routes, so the UPDATE is simply dropped.
          if (err instanceof BGPMessageError && err.treatAsWithdraw && this.established) {
            this.log.warn({ op: 'receive', code: err.code, subcode: err.subcode, offset: err.offset, error: err.detail }, 'ignoring an UPDATE with malformed path attributes (treat-as-withdraw)');
            continue;
          }
          throw err;
        }
        this.onMessage(conn, msg);
        if (conn.closed) return;
      }
    } catch (err) {
      if (!(err instanceof BGPMessageError)) throw err;
      this.log.warn({ op: 'receive', code: err.code, subcode: err.subcode, offset: err.offset, error: err.detail }, 'malformed message from peer');
      this.dropConnection(conn, `malformed message: ${err.message}`, { code: err.code, subcode: err.subcode, data: err.data });
    }
  }

  private onMessage(conn: Connection, msg: BGPMessage): void {
    if (msg.type === 'notification') {
      const names = `${errorCodeName(msg.code)} / ${errorSubcodeName(msg.code, msg.subcode)}`;
      this.log.warn({ op: 'receive', code: msg.code, subcode: msg.subcode, notification: names, data: msg.data.toString('hex') }, 'peer sent NOTIFICATION');
      this.emit('notification-received', msg.code, msg.subcode, msg.data);
      this.dropConnection(conn, `peer sent NOTIFICATION ${names}`);
      return;
    }
    switch (this.stateValue) {
      case 'open-sent':
        if (msg.type !== 'open') return this.fsmError(conn, FSMSubcode.UnexpectedMessageInOpenSent, msg.type);
        return this.onOpen(conn, msg);
      case 'open-confirm':
        if (msg.type !== 'keepalive') return this.fsmError(conn, FSMSubcode.UnexpectedMessageInOpenConfirm, msg.type);
        return this.onEstablished(conn);
      case 'established':
        if (msg.type === 'open') return this.fsmError(conn, FSMSubcode.UnexpectedMessageInEstablished, msg.type);
        if (msg.type === 'route-refresh' && msg.subtype === 0 && msg.safi === SAFI.Unicast) {
          const family = msg.afi === AFI.IPv4 ? 4 : msg.afi === AFI.IPv6 ? 6 : undefined;
          if (family && conn.families.has(family)) this.refresh(family);
        }
        // UPDATEs from the peer are validated (decoded) and otherwise ignored, like upstream
        return;
      default:
        return;
    }
  }

  private fsmError(conn: Connection, subcode: number, got: string): void {
    this.dropConnection(conn, `unexpected ${got} in state ${this.stateValue}`, { code: ErrorCode.FiniteStateMachine, subcode });
  }

  /** Checks the peer's OPEN; returns the NOTIFICATION to send when it is unacceptable. */
  private validateOpen(conn: Connection, open: OpenMessage): BGPMessageError | undefined {
    const caps = capabilitiesOf(open);
    const peerAS = caps.fourOctetASN ?? open.myAS;
    const as2 = Buffer.alloc(2);
    as2.writeUInt16BE(open.myAS);
    if (open.version !== BGP_VERSION) {
      return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedVersionNumber, 19, `peer speaks BGP version ${open.version}, we speak 4`, Buffer.from([0, BGP_VERSION]));
    }
    if (peerAS !== this.opts.peerASN) {
      return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.BadPeerAS, 20, `peer AS is ${peerAS}, expected ${this.opts.peerASN}`, as2);
    }
    if (open.holdTime === 1 || open.holdTime === 2) {
      return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.UnacceptableHoldTime, 22, `peer hold time ${open.holdTime} s is neither 0 nor at least 3 s`);
    }
    if (open.bgpIdentifier.value === 0n || (this.opts.myASN === this.opts.peerASN && conn.routerID && open.bgpIdentifier.equals(conn.routerID))) {
      return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.BadBGPIdentifier, 24, `peer BGP identifier ${open.bgpIdentifier.toString()} is unusable`);
    }
    if (this.opts.myASN > 0xffff && caps.fourOctetASN === undefined) {
      const cap: Capability = { kind: 'four-octet-as', asn: this.opts.myASN };
      const data = Buffer.from([65, 4, 0, 0, 0, 0]);
      data.writeUInt32BE(cap.asn, 2);
      return new BGPMessageError(ErrorCode.OpenMessage, OpenSubcode.UnsupportedCapability, 29, `my ASN ${this.opts.myASN} needs 4 octets and the peer lacks the 4-octet AS capability`, data);
    }
    return undefined;
  }

  private onOpen(conn: Connection, open: OpenMessage): void {
    const problem = this.validateOpen(conn, open);
    if (problem) {
      this.log.warn({ op: 'open', code: problem.code, subcode: problem.subcode, error: problem.detail }, 'refusing peer OPEN');
      this.dropConnection(conn, `unacceptable OPEN: ${problem.detail}`, { code: problem.code, subcode: problem.subcode, data: problem.data });
      return;
    }
    const caps = capabilitiesOf(open);
    conn.fourOctetAS = caps.fourOctetASN !== undefined;
    // RFC 4760: a peer without multiprotocol capabilities speaks IPv4 unicast only
    const peerFamilies = caps.multiprotocol.length === 0 ? [{ afi: AFI.IPv4, safi: SAFI.Unicast }] : caps.multiprotocol;
    for (const f of peerFamilies) {
      if (f.safi !== SAFI.Unicast) continue;
      if (f.afi === AFI.IPv4) conn.families.add(4);
      if (f.afi === AFI.IPv6) conn.families.add(6);
    }
    conn.holdTimeSeconds = Math.min(this.opts.holdTimeSeconds, open.holdTime);
    conn.socket.write(KEEPALIVE);
    this.setState('open-confirm');
    this.restartHoldTimer(conn);
    this.peerRouterID = open.bgpIdentifier;
  }

  private peerRouterID?: IPAddress;

  private onEstablished(conn: Connection): void {
    clearTimeout(this.connectTimer);
    this.failures = 0;
    this.stats.establishedCount++;
    if (conn.holdTimeSeconds > 0) {
      conn.keepaliveTimer = setInterval(() => {
        if (!conn.closed) conn.socket.write(KEEPALIVE);
      }, (conn.holdTimeSeconds * 1000) / 3);
    }
    this.setState('established');
    const info: EstablishedInfo = {
      localAddress: conn.localAddress as IPAddress,
      routerID: conn.routerID as IPAddress,
      peerRouterID: this.peerRouterID as IPAddress,
      holdTimeSeconds: conn.holdTimeSeconds,
      fourOctetAS: conn.fourOctetAS,
      families: [...conn.families].sort(),
    };
    this.log.info({ op: 'established', holdTime: info.holdTimeSeconds, routerID: info.routerID.toString(), families: info.families }, 'BGP session established');
    this.emit('established', info);
    conn.endOfRIBPending = true;
    this.sync();
  }

  private restartHoldTimer(conn: Connection): void {
    clearTimeout(conn.holdTimer);
    if (this.stateValue !== 'open-confirm' && this.stateValue !== 'established') return;
    if (conn.holdTimeSeconds === 0) return;
    conn.holdTimer = setTimeout(() => {
      this.log.warn({ op: 'hold-timer', holdTime: conn.holdTimeSeconds }, 'hold timer expired');
      this.dropConnection(conn, `hold timer expired (${conn.holdTimeSeconds} s without a message)`, { code: ErrorCode.HoldTimerExpired, subcode: 0 });
    }, conn.holdTimeSeconds * 1000);
  }

  /**
   * Ends the current connection (idempotent per connection), optionally sending a NOTIFICATION
   * first, and schedules the reconnect unless the session was closed.
   */
  private dropConnection(conn: Connection, reason: string, notify?: { code: number; subcode: number; data?: Buffer }): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.holdTimer);
    clearInterval(conn.keepaliveTimer);
    if (this.conn === conn) clearTimeout(this.connectTimer);
    if (notify && !conn.socket.destroyed && conn.socket.writable) {
      conn.socket.write(encodeMessage({ type: 'notification', code: notify.code, subcode: notify.subcode, data: notify.data ?? Buffer.alloc(0) }));
      this.emit('notification-sent', notify.code, notify.subcode);
      conn.socket.end();
      setTimeout(() => conn.socket.destroy(), 1000).unref();
    } else {
      conn.socket.destroy();
    }
    if (this.conn !== conn) return;
    const wasEstablished = this.stateValue === 'established';
    this.advertised.clear();
    this.outQueue = [];
    this.diffJob = undefined;
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

  // ---------------------------------------------------------------------------------- advertisement

  private nextHopFor(conn: Connection, route: Route): IPAddress | string {
    const family = route.prefix.family;
    if (!conn.families.has(family)) return `the peer did not negotiate IPv${family} unicast`;
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

  /**
   * Sends the difference between the desired set and what the peer holds. The diff runs in chunks
   * of DIFF_CHUNK prefixes per event-loop turn (the first chunk at once), and encoding/writing in
   * slices of a few full UPDATEs, so that a large set (10,000 routes) never stalls the loop. A new
   * desired set arriving mid-way restarts the diff against what has been sent so far.
   */
  private sync(): void {
    const conn = this.conn;
    if (!conn || conn.closed || !this.established) return;
    const running = this.diffJob !== undefined;
    this.diffJob = { conn, desired: this.desired, entries: this.desired.entries(), rejected: new Map() };
    if (!running) this.diffStep();
  }

  private diffStep(): void {
    const job = this.diffJob;
    if (!job) return;
    const conn = job.conn;
    if (conn.closed || conn !== this.conn || !this.established) {
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
      let nh: IPAddress | string = this.nextHopFor(conn, route);
      if (typeof nh !== 'string' && route.communities.length > MAX_COMMUNITIES_PER_ROUTE) nh = `more than ${MAX_COMMUNITIES_PER_ROUTE} communities`;
      if (typeof nh === 'string') {
        job.rejected.set(key, nh);
        if (this.rejected.get(key) !== nh) {
          this.log.warn({ op: 'advertise', prefix: key, reason: nh }, 'route cannot be advertised to this peer');
          this.emit('route-rejected', key, nh);
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
      this.log.debug({ op: 'advertise', announced: announce.length, withdrawn: withdraw.length }, 'sending changes');
    }
    for (let i = 0; i < withdraw.length; i += WITHDRAWALS_PER_SLICE) {
      const slice = withdraw.slice(i, i + WITHDRAWALS_PER_SLICE);
      this.enqueue(conn, () => packWithdrawals(slice));
    }
    const ctx: UpdateContext = { fourOctetAS: conn.fourOctetAS, myASN: this.opts.myASN, ibgp: this.opts.myASN === this.opts.peerASN };
    for (const group of groupByAttributes(announce, ctx)) {
      const step = prefixesPerMessages(group, MESSAGES_PER_SLICE);
      for (let i = 0; i < group.prefixes.length; i += step) this.enqueue(conn, () => packGroup(group, i, i + step));
    }
    if (!finished) {
      setImmediate(() => this.diffStep());
      return;
    }
    this.diffJob = undefined;
    this.rejected.clear();
    for (const [k, v] of job.rejected) this.rejected.set(k, v);
    if (conn.endOfRIBPending) {
      // End-of-RIB after the initial full advertisement (RFC 4724)
      conn.endOfRIBPending = false;
      for (const f of [...conn.families].sort()) this.enqueue(conn, () => [endOfRIB(f)]);
    }
  }

  /** Finishes the diff in progress and writes everything queued, synchronously (before a Cease). */
  private flush(conn: Connection): void {
    while (this.diffJob && this.diffJob.conn === conn) this.diffStep();
    const tasks = this.outQueue;
    this.outQueue = [];
    for (const task of tasks) this.sendUpdates(conn, task());
  }

  /** Queues encoding work for the connection; slices run in order, a few per event-loop turn. */
  private enqueue(conn: Connection, task: () => Buffer[]): void {
    this.outQueue.push(task);
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drain(conn));
  }

  private drain(conn: Connection): void {
    if (conn.closed || this.conn !== conn) {
      this.draining = false;
      return;
    }
    const task = this.outQueue.shift();
    if (task) this.sendUpdates(conn, task());
    if (this.outQueue.length > 0) setImmediate(() => this.drain(conn));
    else this.draining = false;
  }

  /** Re-sends every advertised route of one family (the peer asked with ROUTE-REFRESH). */
  private refresh(family: 4 | 6): void {
    for (const [key, sent] of this.advertised) if (sent.route.prefix.family === family) this.advertised.delete(key);
    this.sync();
  }

  private sendUpdates(conn: Connection, msgs: Buffer[]): void {
    if (msgs.length === 0 || conn.closed) return;
    const all = Buffer.concat(msgs);
    this.stats.updatesSent += msgs.length;
    this.stats.updateBytesSent += all.length;
    conn.socket.write(all);
  }
}

function sameAttributes(a: Route, b: Route): boolean {
  if (a.localPref !== b.localPref) return false;
  const ca = normaliseCommunities(a.communities);
  const cb = normaliseCommunities(b.communities);
  return ca.length === cb.length && ca.every((c, i) => c === cb[i]);
}
