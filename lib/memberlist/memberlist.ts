// The member: SWIM probing, suspicion, gossip, push/pull and leave as hashicorp/memberlist v0.1.7
// does them (wire spec §10, §11, §13), on one UDP and one TCP socket bound to the same port.

import { EventEmitter } from 'node:events';
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { createServer, connect, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { BroadcastQueue } from './broadcast.js';
import {
  pushPullScaleMs, remainingSuspicionMs, resolveTimers, suspicionTimeoutMs, type MemberlistTimers, type TimerProfile,
} from './config.js';
import { MemberlistDecodeError } from './errors.js';
import { NodeStateCode, type Alive, type Dead, type IndirectPing, type Ping, type PushNodeState, type Suspect } from './messages.js';
import { decodePacket, encodeCompound, encodeMessage, encodePacket, MAX_PACKET_SIZE, type PacketMessage } from './packet.js';
import { deriveSecretKey, ENCRYPTION_OVERHEAD, Keyring } from './security.js';
import { encodeStream, parseStream, MAX_STREAM_LENGTH, type StreamMessage } from './stream.js';
import { silentLogger, type Logger } from '../util/log.js';

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

/** What events and members() report about a node. */
export interface MemberInfo {
  name: string;
  /** Textual IP address. */
  addr: string;
  port: number;
  state: MemberState;
  incarnation: number;
  meta: Buffer | null;
}

export interface MemberlistOptions {
  /** Member name: the Kubernetes node name. */
  name: string;
  /** Address the UDP and TCP sockets bind to (MetalLB: the pod IP). */
  bindAddr: string;
  /** Port for UDP and TCP; default 7946. 0 picks a free port (see boundPort()). */
  bindPort?: number;
  /** Address advertised to peers; default bindAddr (which must then not be unspecified). */
  advertiseAddr?: string;
  /** Port advertised to peers; default the bound port. */
  advertisePort?: number;
  /** Raw bytes of the `memberlist` Secret; the AES key is derived as MetalLB does. Empty/absent: no encryption. */
  secretKey?: Buffer | null;
  /** Size of the derived key: 16 (MetalLB v0.9-v0.13, default) or 32 (v0.14+). */
  secretKeySize?: 16 | 32;
  /** Explicit AES keys (16/24/32 bytes), primary first; overrides secretKey. */
  keys?: Buffer[];
  /** 'lan' (default, upstream's values), 'fast', or explicit overrides on top of 'lan'. */
  timers?: TimerProfile;
  /** LZW-compress packets when smaller and streams always (default true, as upstream). */
  compression?: boolean;
  logger?: Logger;
}

/** Counters for metrics; they only grow. */
export interface MemberlistCounters {
  udpReceived: number;
  /** Datagrams dropped whole: undecryptable, bad CRC, label, oversized. */
  udpDropped: number;
  /** Of udpDropped: no key could decrypt them (wrong key, or plaintext while encryption is on). */
  udpUndecryptable: number;
  /** Messages inside datagrams that failed to decode (the rest of the datagram is still used). */
  messagesInvalid: number;
  tcpAccepted: number;
  /** Streams closed without being served: undecryptable, malformed, timed out, too many. */
  tcpDropped: number;
  /** Of tcpDropped: not decryptable with our keys. */
  tcpUndecryptable: number;
  /** Refutations of suspicion/death claims about ourselves. */
  refutations: number;
}

interface NodeRecord {
  name: string;
  addr: Buffer;
  port: number;
  meta: Buffer | null;
  incarnation: number;
  state: MemberState;
  stateChange: number;
  vsn: Buffer;
}

interface AckWaiter {
  onAck: () => void;
  onNack: () => void;
  timer: NodeJS.Timeout;
}

interface Suspicion {
  k: number;
  minMs: number;
  maxMs: number;
  start: number;
  confirmations: Set<string>;
  timer: NodeJS.Timeout;
  fire: () => void;
}

/** [PMin, PMax, PCur, DMin, DMax, DCur] as MetalLB's memberlist sends them. */
const OUR_VSN = Buffer.from([1, 5, 2, 0, 0, 0]);
const COMPOUND_HEADER_OVERHEAD = 2;
const COMPOUND_PART_OVERHEAD = 2;
const UDP_BUFFER_SIZE = 1400;
const MAX_PUSH_PULL_REQUESTS = 127;
/** Inbound streams served at once; more are closed at once (each may buffer up to 20 MiB). */
const MAX_INBOUND_STREAMS = 128;

function ipBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map((p) => Number(p)));
  if (isIPv6(text)) {
    // expand "::" and any embedded IPv4 tail into 16 bytes
    let t = text;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
    if (v4) {
      const b = ipBytes(v4[1]!);
      t = t.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
    }
    const [head, tail] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
    const h = head ? head.split(':') : [];
    const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
    return out;
  }
  throw new RangeError(`"${text}" is not an IP address`);
}

function ipText(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    const v4mapped = groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff';
    if (v4mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    // compress the longest run of zero groups
    let best = -1, bestLen = 0;
    for (let i = 0; i < 8;) {
      if (groups[i] !== '0') { i++; continue; }
      let j = i;
      while (j < 8 && groups[j] === '0') j++;
      if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
      i = j;
    }
    if (best < 0) return groups.join(':');
    return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  }
  return `invalid(${b.toString('hex')})`;
}

function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

export interface MemberlistEvents {
  join: [MemberInfo];
  leave: [MemberInfo];
  update: [MemberInfo];
}

export class Memberlist extends EventEmitter<MemberlistEvents> {
  readonly name: string;
  readonly timers: MemberlistTimers;
  private readonly log: Logger;
  private readonly bindAddr: string;
  private readonly requestedPort: number;
  private readonly compression: boolean;
  private readonly keyring: Keyring | null;
  private advertiseIp!: Buffer;
  private advertisePort!: number;

  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private running = false;
  private leaving = false;
  private shutDown = false;

  private readonly nodes = new Map<string, NodeRecord>();
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private incarnation = 0;
  private seqNo = 0;
  private healthScore = 0;
  private readonly ackWaiters = new Map<number, AckWaiter>();
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly broadcasts: BroadcastQueue;
  private readonly timersRunning = new Set<NodeJS.Timeout>();
  private pushPullInFlight = 0;
  private inboundStreams = 0;
  private leaveDone: (() => void) | null = null;

  readonly counters: MemberlistCounters = {
    udpReceived: 0, udpDropped: 0, udpUndecryptable: 0, messagesInvalid: 0,
    tcpAccepted: 0, tcpDropped: 0, tcpUndecryptable: 0, refutations: 0,
  };

  constructor(opts: MemberlistOptions) {
    super();
    if (!opts.name) throw new RangeError('memberlist: name must not be empty');
    this.name = opts.name;
    this.bindAddr = opts.bindAddr;
    this.requestedPort = opts.bindPort ?? 7946;
    this.timers = resolveTimers(opts.timers);
    this.compression = opts.compression ?? true;
    this.log = (opts.logger ?? silentLogger()).child({ component: 'memberlist', node: opts.name });
    if (opts.keys && opts.keys.length > 0) this.keyring = new Keyring(opts.keys);
    else if (opts.secretKey && opts.secretKey.length > 0) this.keyring = new Keyring([deriveSecretKey(opts.secretKey, opts.secretKeySize ?? 16)]);
    else {
      this.keyring = null;
      this.log.warn({ op: 'memberlist' }, 'no secret key: memberlist traffic is neither encrypted nor authenticated');
    }
    const adv = opts.advertiseAddr ?? opts.bindAddr;
    if (!isIPv4(adv) && !isIPv6(adv)) throw new RangeError(`memberlist: advertise address "${adv}" is not an IP address`);
    if (adv === '0.0.0.0' || adv === '::') throw new RangeError('memberlist: bindAddr is unspecified; set advertiseAddr');
    this.advertiseIp = ipBytes(adv);
    this.advertisePort = opts.advertisePort ?? 0;
    this.broadcasts = new BroadcastQueue(this.timers.retransmitMult, () => this.nodes.size);
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Binds UDP and TCP on the same port, adds ourselves (incarnation 1) and starts the timers. */
  async start(): Promise<void> {
    if (this.running || this.shutDown) throw new Error('memberlist: start() called twice');
    const family = isIPv6(this.bindAddr) ? 'udp6' : 'udp4';
    // TCP first, so port 0 can pick one port that UDP then binds too (retried if UDP has it taken)
    let tcp: Server | null = null;
    let udp: UdpSocket | null = null;
    for (let attempt = 0; ; attempt++) {
      const server = createServer({ allowHalfOpen: false }, (s) => this.onStream(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.requestedPort, this.bindAddr, () => { server.off('error', reject); resolve(); });
      });
      const port = (server.address() as { port: number }).port;
      const sock = createSocket({ type: family, recvBufferSize: 2 * 1024 * 1024 });
      try {
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind(port, this.bindAddr, () => { sock.off('error', reject); resolve(); });
        });
        tcp = server;
        udp = sock;
        break;
      } catch (err) {
        server.close();
        try { sock.close(); } catch { /* never bound */ }
        if (this.requestedPort !== 0 || attempt >= 20) throw err;
      }
    }
    tcp.on('error', (err) => this.log.error({ op: 'memberlist', err: err.message }, 'TCP listener error'));
    this.tcp = tcp;
    const port = (tcp.address() as { port: number }).port;
    udp.on('error', (err) => this.log.error({ op: 'memberlist', err: err.message }, 'UDP socket error'));
    udp.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    this.udp = udp;
    if (this.advertisePort === 0) this.advertisePort = port;
    this.running = true;

    this.incarnation = 1;
    this.handleAlive({ incarnation: this.incarnation, node: this.name, addr: this.advertiseIp, port: this.advertisePort, meta: null, vsn: OUR_VSN }, true);
    this.scheduleProbe(this.timers.probeIntervalMs);
    this.every(this.timers.gossipIntervalMs, () => this.gossip());
    this.schedulePushPull(randomInt(Math.max(1, this.timers.pushPullIntervalMs)));
    this.log.info({ op: 'memberlist', addr: ipText(this.advertiseIp), port: this.advertisePort, encrypted: this.keyring !== null }, 'memberlist started');
  }

  /** The port actually bound (useful with bindPort 0). */
  boundPort(): number {
    return this.advertisePort;
  }

  /**
   * Joins a cluster through the given addresses ("ip", "ip:port", "[v6]:port"; a bare IP uses our
   * port) with a push/pull each; resolves to the number that succeeded. Rejects only when all failed.
   */
  async join(addrs: readonly string[]): Promise<number> {
    if (!this.running) throw new Error('memberlist: join() before start()');
    let ok = 0;
    const errors: string[] = [];
    await Promise.all(addrs.map(async (a) => {
      try {
        const { host, port } = this.parseAddr(a);
        await this.pushPull(host, port, true);
        ok++;
      } catch (err) {
        errors.push(`${a}: ${(err as Error).message}`);
        this.log.warn({ op: 'memberlist', peer: a, err: (err as Error).message }, 'failed to join');
      }
    }));
    if (ok === 0 && addrs.length > 0) throw new Error(`memberlist: join failed: ${errors.join('; ')}`);
    return ok;
  }

  /** Members that are alive or suspect, ourselves included. */
  members(): MemberInfo[] {
    const out: MemberInfo[] = [];
    for (const n of this.nodes.values()) if (n.state === 'alive' || n.state === 'suspect') out.push(this.info(n));
    return out;
  }

  /** Every node known, including dead and left ones not yet reaped. */
  allNodes(): MemberInfo[] {
    return [...this.nodes.values()].map((n) => this.info(n));
  }

  /** Health score (0 = healthy); probe intervals are scaled by score + 1. */
  health(): number {
    return this.healthScore;
  }

  /**
   * Graceful leave: broadcasts that we are dead (From = ourselves, which peers record as left) and
   * waits until it was sent its full retransmit count or `timeoutMs` passed. Resolves false on
   * timeout. Call shutdown() afterwards.
   */
  async leave(timeoutMs: number): Promise<boolean> {
    if (!this.running || this.leaving) return true;
    this.leaving = true;
    const self = this.nodes.get(this.name)!;
    const sent = new Promise<boolean>((resolve) => {
      this.leaveDone = () => resolve(true);
      const t = setTimeout(() => resolve(false), timeoutMs);
      t.unref();
    });
    this.handleDead({ incarnation: self.incarnation, node: this.name, from: this.name });
    const anyAlive = [...this.nodes.values()].some((n) => n.name !== this.name && n.state !== 'dead' && n.state !== 'left');
    if (!anyAlive) return true;
    const ok = await sent;
    this.leaveDone = null;
    return ok;
  }

  /** Stops timers and closes sockets without telling anyone (a crash, from the peers' view). */
  async shutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    this.running = false;
    for (const t of this.timersRunning) clearTimeout(t);
    this.timersRunning.clear();
    for (const w of this.ackWaiters.values()) clearTimeout(w.timer);
    this.ackWaiters.clear();
    for (const s of this.suspicions.values()) clearTimeout(s.timer);
    this.suspicions.clear();
    this.broadcasts.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
    this.udp = null;
    this.tcp = null;
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Emits an event; a throwing listener is logged and never breaks the protocol machinery. */
  private notify(kind: keyof MemberlistEvents, node: NodeRecord): void {
    try {
      this.emit(kind, this.info(node));
    } catch (err) {
      this.log.error({ op: 'memberlist', event: kind, peer: node.name, err: (err as Error).message }, 'memberlist event listener threw');
    }
  }

  private info(n: NodeRecord): MemberInfo {
    return { name: n.name, addr: ipText(n.addr), port: n.port, state: n.state, incarnation: n.incarnation, meta: n.meta };
  }

  private parseAddr(a: string): { host: string; port: number } {
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
    if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : this.advertisePort };
    if (isIPv4(a) || isIPv6(a)) return { host: a, port: this.advertisePort };
    const i = a.lastIndexOf(':');
    if (i > 0 && isIPv4(a.slice(0, i))) return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
    throw new RangeError(`"${a}" is not an address (ip, ip:port or [ipv6]:port)`);
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timersRunning.delete(t);
      if (this.running) fn();
    }, ms);
    this.timersRunning.add(t);
    return t;
  }

  private every(ms: number, fn: () => void): void {
    const tick = (): void => {
      fn();
      this.timer(ms, tick);
    };
    this.timer(ms, tick);
  }

  private nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  private scaled(ms: number): number {
    return ms * (this.healthScore + 1);
  }

  private applyHealth(delta: number): void {
    const before = this.healthScore;
    this.healthScore = Math.min(this.timers.awarenessMaxMultiplier - 1, Math.max(0, this.healthScore + delta));
    if (before !== this.healthScore) this.log.debug({ op: 'memberlist', health: this.healthScore }, 'health score changed');
  }

  private encryptionOverhead(): number {
    return this.keyring ? ENCRYPTION_OVERHEAD : 0;
  }

  // ---- sending -------------------------------------------------------------------------------

  /** Sends one datagram (already framed message) to host:port, with CRC when the node takes it. */
  private sendRaw(message: Buffer, host: string, port: number, node: NodeRecord | undefined): void {
    if (!this.udp || !this.running) return;
    const crc = node !== undefined && node.vsn[1]! >= 5;
    // host:port came from a peer (alive or push/pull): one that cannot be sent to (port 0) fails
    // this send only, never the timer that called it (dgram refuses such a port synchronously)
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      this.log.debug({ op: 'memberlist', peer: `${host}:${port}` }, 'UDP send skipped: no usable port');
      return;
    }
    const wire = encodePacket(message, { compress: this.compression, crc, key: this.keyring?.primary ?? null });
    try {
      this.udp.send(wire, port, host, (err) => {
        if (err) this.log.debug({ op: 'memberlist', peer: `${host}:${port}`, err: err.message }, 'UDP send failed');
      });
    } catch (err) {
      this.log.debug({ op: 'memberlist', peer: `${host}:${port}`, err: (err as Error).message }, 'UDP send failed');
    }
  }

  /** Sends a message, piggybacking queued broadcasts when room remains. */
  private send(m: PacketMessage, host: string, port: number, node?: NodeRecord): void {
    const msg = encodeMessage(m);
    const avail = UDP_BUFFER_SIZE - msg.length - COMPOUND_HEADER_OVERHEAD - this.encryptionOverhead();
    const extra = this.broadcasts.take(COMPOUND_PART_OVERHEAD, avail);
    this.sendRaw(extra.length === 0 ? msg : encodeCompound([msg, ...extra]), host, port, node);
  }

  private queueBroadcast(node: string, m: PacketMessage, done?: () => void): void {
    this.broadcasts.enqueue(node, encodeMessage(m), done);
  }

  // ---- receiving packets ---------------------------------------------------------------------

  private onPacket(datagram: Buffer, from: RemoteInfo): void {
    this.counters.udpReceived++;
    try {
      if (datagram.length > MAX_PACKET_SIZE) throw new MemberlistDecodeError('too-large', 'oversized datagram', 0);
      const decoded = decodePacket(datagram, this.keyring?.keys ?? null);
      if (decoded.errors.length > 0 || decoded.truncatedParts > 0) {
        this.counters.messagesInvalid += decoded.errors.length + decoded.truncatedParts;
        this.log.debug({ op: 'memberlist', peer: `${from.address}:${from.port}`, errors: decoded.errors.map((e) => e.message) }, 'dropped invalid messages');
      }
      for (const m of decoded.messages) this.handlePacketMessage(m, from);
    } catch (err) {
      if (!(err instanceof MemberlistDecodeError)) {
        this.log.error({ op: 'memberlist', peer: `${from.address}:${from.port}`, err: (err as Error).message }, 'error handling packet');
        return;
      }
      this.counters.udpDropped++;
      if (err.code === 'decrypt') this.counters.udpUndecryptable++;
      this.log.debug({ op: 'memberlist', peer: `${from.address}:${from.port}`, err: err.message }, 'dropped packet');
    }
  }

  private handlePacketMessage(m: PacketMessage, from: RemoteInfo): void {
    switch (m.type) {
      case 'ping': return this.handlePing(m.body, from);
      case 'indirectPing': return this.handleIndirectPing(m.body, from);
      case 'ack': {
        const w = this.ackWaiters.get(m.body.seqNo);
        if (w) w.onAck();
        return;
      }
      case 'nack': {
        const w = this.ackWaiters.get(m.body.seqNo);
        if (w) w.onNack();
        return;
      }
      case 'suspect': return this.handleSuspect(m.body);
      case 'alive': return this.handleAlive(m.body, false);
      case 'dead': return this.handleDead(m.body);
      case 'user':
      case 'err':
        return; // MetalLB sends no user messages; errors only appear on streams
    }
  }

  private replyAddr(p: { sourceAddr?: Buffer | null; sourcePort?: number }, from: RemoteInfo): { host: string; port: number } {
    if (p.sourceAddr && p.sourceAddr.length > 0 && p.sourcePort) return { host: ipText(p.sourceAddr), port: p.sourcePort };
    return { host: from.address, port: from.port };
  }

  private handlePing(p: Ping, from: RemoteInfo): void {
    if (p.node !== '' && p.node !== this.name) {
      this.log.debug({ op: 'memberlist', peer: from.address, target: p.node }, 'ping for another node');
      return;
    }
    const to = this.replyAddr(p, from);
    this.send({ type: 'ack', body: { seqNo: p.seqNo, payload: null } }, to.host, to.port);
  }

  private handleIndirectPing(req: IndirectPing, from: RemoteInfo): void {
    if (!req.target || (req.target.length !== 4 && req.target.length !== 16)) return;
    const seq = this.nextSeqNo();
    const requester = this.replyAddr(req, from);
    const timer = setTimeout(() => {
      this.ackWaiters.delete(seq);
      if (req.nack) this.send({ type: 'nack', body: { seqNo: req.seqNo } }, requester.host, requester.port);
    }, this.timers.probeTimeoutMs);
    this.ackWaiters.set(seq, {
      onAck: () => {
        clearTimeout(timer);
        this.ackWaiters.delete(seq);
        this.send({ type: 'ack', body: { seqNo: req.seqNo, payload: null } }, requester.host, requester.port);
      },
      onNack: () => undefined,
      timer,
    });
    this.send({ type: 'ping', body: { seqNo: seq, node: req.node } }, ipText(req.target), req.port || this.advertisePort);
  }

  // ---- state changes (wire spec §11.4, §11.5, §11.7) ------------------------------------------

  private refute(self: NodeRecord, accused: number): void {
    let inc = this.incarnation + 1;
    if (accused >= inc) inc = accused + 1;
    this.incarnation = inc >>> 0;
    self.incarnation = this.incarnation;
    this.applyHealth(1);
    this.counters.refutations++;
    this.queueBroadcast(this.name, {
      type: 'alive',
      body: { incarnation: inc, node: this.name, addr: self.addr, port: self.port, meta: self.meta, vsn: self.vsn },
    });
  }

  private handleAlive(a: Alive, bootstrap: boolean): void {
    if (this.leaving && a.node === this.name) return;
    const vsn = a.vsn;
    if (!vsn || vsn.length < 6) {
      this.log.warn({ op: 'memberlist', peer: a.node }, 'ignoring alive message without a 6-byte Vsn');
      return;
    }
    if (vsn[0] === 0 || vsn[1] === 0 || vsn[0]! > vsn[1]!) {
      this.log.warn({ op: 'memberlist', peer: a.node }, 'ignoring alive message with invalid protocol versions');
      return;
    }
    if (!a.addr || (a.addr.length !== 4 && a.addr.length !== 16)) {
      this.log.warn({ op: 'memberlist', peer: a.node }, 'ignoring alive message without a valid address');
      return;
    }
    let state = this.nodes.get(a.node);
    let updatesNode = false;
    if (!state) {
      state = { name: a.node, addr: a.addr, port: a.port, meta: a.meta, incarnation: 0, state: 'dead', stateChange: Date.now(), vsn: Buffer.from(vsn.subarray(0, 6)) };
      this.nodes.set(a.node, state);
      this.probeOrder.splice(randomInt(this.probeOrder.length + 1), 0, a.node);
    } else if (!state.addr.equals(a.addr) || state.port !== a.port) {
      if (state.state === 'left') {
        this.log.info({ op: 'memberlist', peer: a.node, addr: ipText(a.addr), port: a.port }, 'updating address of a left node');
        updatesNode = true;
      } else {
        this.log.error({ op: 'memberlist', peer: a.node, mine: `${ipText(state.addr)}:${state.port}`, theirs: `${ipText(a.addr)}:${a.port}`, state: state.state }, 'conflicting address');
        return;
      }
    }
    const isSelf = a.node === this.name;
    if (a.incarnation <= state.incarnation && !isSelf && !updatesNode) return;
    if (a.incarnation < state.incarnation && isSelf) return;
    this.cancelSuspicion(a.node);
    const oldState = state.state;
    const oldMeta = state.meta;
    if (!bootstrap && isSelf) {
      const sameMeta = (a.meta ?? Buffer.alloc(0)).equals(state.meta ?? Buffer.alloc(0));
      if (a.incarnation === state.incarnation && sameMeta && vsn.subarray(0, 6).equals(state.vsn)) return;
      this.refute(state, a.incarnation);
      this.log.warn({ op: 'memberlist', incarnation: a.incarnation }, 'refuting an alive message about ourselves');
    } else {
      this.queueBroadcast(a.node, { type: 'alive', body: a });
      state.vsn = Buffer.from(vsn.subarray(0, 6));
      state.incarnation = a.incarnation;
      state.meta = a.meta;
      state.addr = a.addr;
      state.port = a.port;
      if (state.state !== 'alive') {
        state.state = 'alive';
        state.stateChange = Date.now();
      }
    }
    if (oldState === 'dead' || oldState === 'left') this.notify('join', state);
    else if (!(oldMeta ?? Buffer.alloc(0)).equals(state.meta ?? Buffer.alloc(0))) this.notify('update', state);
  }

  private handleSuspect(s: Suspect): void {
    const state = this.nodes.get(s.node);
    if (!state || s.incarnation < state.incarnation) return;
    const existing = this.suspicions.get(s.node);
    if (existing) {
      if (this.confirmSuspicion(existing, s.from)) this.queueBroadcast(s.node, { type: 'suspect', body: s });
      return;
    }
    if (state.state !== 'alive') return;
    if (s.node === this.name) {
      if (!this.leaving) {
        this.refute(state, s.incarnation);
        this.log.warn({ op: 'memberlist', from: s.from }, 'refuting a suspect message');
      }
      return;
    }
    this.queueBroadcast(s.node, { type: 'suspect', body: s });
    state.incarnation = s.incarnation;
    state.state = 'suspect';
    const changeTime = Date.now();
    state.stateChange = changeTime;
    const n = this.nodes.size;
    let k = this.timers.suspicionMult - 2;
    if (n - 2 < k) k = 0;
    const minMs = suspicionTimeoutMs(this.timers.suspicionMult, n, this.timers.probeIntervalMs);
    const maxMs = this.timers.suspicionMaxTimeoutMult * minMs;
    const fire = (): void => {
      this.suspicions.delete(s.node);
      if (state.state === 'suspect' && state.stateChange === changeTime) {
        this.log.info({ op: 'memberlist', peer: s.node }, 'marking node as failed, suspect timeout reached');
        this.handleDead({ incarnation: state.incarnation, node: s.node, from: this.name });
      }
    };
    const first = k < 1 ? minMs : remainingSuspicionMs(0, k, 0, minMs, maxMs);
    const sus: Suspicion = { k, minMs, maxMs, start: Date.now(), confirmations: new Set([s.from]), timer: this.timer(first, fire), fire };
    this.suspicions.set(s.node, sus);
  }

  private confirmSuspicion(s: Suspicion, from: string): boolean {
    if (s.confirmations.size - 1 >= s.k) return false;
    if (s.confirmations.has(from)) return false;
    s.confirmations.add(from);
    const remaining = remainingSuspicionMs(s.confirmations.size - 1, s.k, Date.now() - s.start, s.minMs, s.maxMs);
    clearTimeout(s.timer);
    this.timersRunning.delete(s.timer);
    s.timer = this.timer(Math.max(0, remaining), s.fire);
    return true;
  }

  private cancelSuspicion(node: string): void {
    const s = this.suspicions.get(node);
    if (!s) return;
    clearTimeout(s.timer);
    this.timersRunning.delete(s.timer);
    this.suspicions.delete(node);
  }

  private handleDead(d: Dead): void {
    const state = this.nodes.get(d.node);
    if (!state || d.incarnation < state.incarnation) return;
    this.cancelSuspicion(d.node);
    if (state.state === 'dead' || state.state === 'left') return;
    if (d.node === this.name) {
      if (!this.leaving) {
        this.refute(state, d.incarnation);
        this.log.warn({ op: 'memberlist', from: d.from }, 'refuting a dead message');
        return;
      }
      this.queueBroadcast(d.node, { type: 'dead', body: d }, () => this.leaveDone?.());
    } else {
      this.queueBroadcast(d.node, { type: 'dead', body: d });
    }
    state.incarnation = d.incarnation;
    state.state = d.node === d.from ? 'left' : 'dead';
    state.stateChange = Date.now();
    this.notify('leave', state);
  }

  // ---- probing (wire spec §11.2) ---------------------------------------------------------------

  private scheduleProbe(delayMs: number): void {
    this.timer(delayMs, () => {
      const started = Date.now();
      this.probeRound()
        .catch((err: unknown) => this.log.error({ op: 'memberlist', err: (err as Error).message }, 'probe failed'))
        .finally(() => {
          if (this.running) this.scheduleProbe(Math.max(0, this.timers.probeIntervalMs - (Date.now() - started)));
        });
    });
  }

  private resetProbeOrder(): void {
    const now = Date.now();
    for (const [name, n] of this.nodes) {
      if ((n.state === 'dead' || n.state === 'left') && now - n.stateChange > this.timers.gossipToTheDeadTimeMs && name !== this.name) {
        this.nodes.delete(name);
        this.cancelSuspicion(name);
      }
    }
    this.probeOrder = [...this.nodes.keys()];
    shuffle(this.probeOrder);
    this.probeIndex = 0;
  }

  private async probeRound(): Promise<void> {
    let checked = 0;
    for (;;) {
      if (checked >= this.probeOrder.length) return; // nobody to probe
      if (this.probeIndex >= this.probeOrder.length) {
        this.resetProbeOrder();
        checked++;
        continue;
      }
      const name = this.probeOrder[this.probeIndex++]!;
      const node = this.nodes.get(name);
      checked++;
      if (!node || name === this.name || node.state === 'dead' || node.state === 'left') continue;
      await this.probeNode(node);
      return;
    }
  }

  private waitAck(seq: number, timeoutMs: number, onNack: () => void): { promise: Promise<boolean>; cancel: () => void } {
    let resolveFn: (v: boolean) => void = () => undefined;
    const promise = new Promise<boolean>((resolve) => { resolveFn = resolve; });
    const timer = setTimeout(() => { this.ackWaiters.delete(seq); resolveFn(false); }, timeoutMs);
    this.ackWaiters.set(seq, {
      onAck: () => { clearTimeout(timer); this.ackWaiters.delete(seq); resolveFn(true); },
      onNack,
      timer,
    });
    return { promise, cancel: () => { clearTimeout(timer); this.ackWaiters.delete(seq); resolveFn(false); } };
  }

  private async probeNode(node: NodeRecord): Promise<void> {
    const seq = this.nextSeqNo();
    const interval = this.scaled(this.timers.probeIntervalMs);
    const sentAt = Date.now();
    let nacks = 0;
    const waiter = this.waitAck(seq, interval, () => { nacks++; });
    const host = ipText(node.addr);
    const ping: PacketMessage = { type: 'ping', body: { seqNo: seq, node: node.name } };
    if (node.state === 'alive') {
      this.send(ping, host, node.port, node);
    } else {
      const suspect: PacketMessage = { type: 'suspect', body: { incarnation: node.incarnation, node: node.name, from: this.name } };
      this.sendRaw(encodeCompound([encodeMessage(ping), encodeMessage(suspect)]), host, node.port, node);
    }
    // direct ack within the probe timeout?
    const direct = await Promise.race([waiter.promise, new Promise<'timeout'>((r) => {
      const t = setTimeout(() => r('timeout'), this.timers.probeTimeoutMs);
      t.unref();
    })]);
    if (direct === true) {
      this.applyHealth(-1);
      return;
    }
    if (!this.running) return;
    // indirect probes through up to indirectChecks other alive nodes, and a TCP ping in parallel
    const helpers = [...this.nodes.values()].filter((n) => n.name !== this.name && n.name !== node.name && n.state === 'alive');
    shuffle(helpers);
    const chosen = helpers.slice(0, this.timers.indirectChecks);
    let expectedNacks = 0;
    for (const h of chosen) {
      const wantNack = h.vsn[1]! >= 4;
      if (wantNack) expectedNacks++;
      this.send({ type: 'indirectPing', body: { seqNo: seq, target: node.addr, port: node.port, node: node.name, nack: wantNack } }, ipText(h.addr), h.port, h);
    }
    const remaining = Math.max(0, sentAt + interval - Date.now());
    const tcpOk = node.vsn[1]! >= 3 ? this.tcpPing(host, node.port, node.name, remaining) : Promise.resolve(false);
    const [acked, tcp] = await Promise.all([waiter.promise, tcpOk]);
    if (acked) {
      this.applyHealth(-1);
      return;
    }
    if (tcp) {
      this.log.warn({ op: 'memberlist', peer: node.name }, 'reached node over TCP but UDP probes failed; network may be misconfigured');
      return;
    }
    if (!this.running) return;
    this.applyHealth(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
    this.log.info({ op: 'memberlist', peer: node.name }, 'suspect has failed, no acks received');
    this.handleSuspect({ incarnation: node.incarnation, node: node.name, from: this.name });
  }

  // ---- gossip and push/pull (wire spec §11.6, §11.8) ------------------------------------------

  private gossip(): void {
    const now = Date.now();
    const candidates = [...this.nodes.values()].filter((n) => n.name !== this.name &&
      (n.state === 'alive' || n.state === 'suspect' || (n.state === 'dead' && now - n.stateChange < this.timers.gossipToTheDeadTimeMs)));
    shuffle(candidates);
    const limit = UDP_BUFFER_SIZE - COMPOUND_HEADER_OVERHEAD - this.encryptionOverhead();
    for (const n of candidates.slice(0, this.timers.gossipNodes)) {
      const msgs = this.broadcasts.take(COMPOUND_PART_OVERHEAD, limit);
      if (msgs.length === 0) return;
      this.sendRaw(msgs.length === 1 ? msgs[0]! : encodeCompound(msgs), ipText(n.addr), n.port, n);
    }
  }

  private schedulePushPull(delayMs: number): void {
    this.timer(delayMs, () => {
      const alive = [...this.nodes.values()].filter((n) => n.name !== this.name && n.state === 'alive');
      if (alive.length > 0) {
        const n = alive[randomInt(alive.length)]!;
        this.pushPull(ipText(n.addr), n.port, false).catch((err: unknown) =>
          this.log.warn({ op: 'memberlist', peer: n.name, err: (err as Error).message }, 'push/pull failed'));
      }
      this.schedulePushPull(pushPullScaleMs(this.timers.pushPullIntervalMs, this.nodes.size));
    });
  }

  private localState(join: boolean): StreamMessage {
    const states: PushNodeState[] = [...this.nodes.values()].map((n) => ({
      name: n.name, addr: n.addr, port: n.port, meta: n.meta, incarnation: n.incarnation, state: NodeStateCode[n.state], vsn: n.vsn,
    }));
    return { type: 'pushPull', header: { join, nodes: states.length, userStateLen: 0 }, states, userState: Buffer.alloc(0) };
  }

  private streamOptions(): { compress: boolean; key: Buffer | null } {
    return { compress: this.compression, key: this.keyring?.primary ?? null };
  }

  /** Reads one stream message from a socket, with the TCP deadline. */
  private readStream(sock: Socket, deadlineMs: number): Promise<StreamMessage> {
    return new Promise<StreamMessage>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      let needed = 1; // skip parse attempts until at least this many bytes are there
      const timer = setTimeout(() => finish(new Error('stream deadline reached')), deadlineMs);
      const finish = (err: Error | null, msg?: StreamMessage): void => {
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('end', onEnd);
        sock.off('error', onError);
        sock.off('close', onEnd);
        if (err) reject(err);
        else resolve(msg!);
      };
      const onData = (d: Buffer): void => {
        chunks.push(d);
        total += d.length;
        if (total > MAX_STREAM_LENGTH + 5) return finish(new MemberlistDecodeError('too-large', 'stream exceeds the size limit', 0));
        if (total < needed) return;
        try {
          const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
          chunks.length = 0;
          chunks.push(buf);
          const p = parseStream(buf, { keys: this.keyring?.keys ?? null });
          if (p.status === 'done') finish(null, p.message);
          else needed = Math.max(total + 1, p.needed ?? 0);
        } catch (err) {
          finish(err as Error);
        }
      };
      const onEnd = (): void => finish(new Error('connection closed before a whole message arrived'));
      const onError = (err: Error): void => finish(err);
      sock.on('data', onData);
      sock.on('end', onEnd);
      sock.on('close', onEnd);
      sock.on('error', onError);
    });
  }

  private dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const sock = connect({ host, port, localAddress: this.bindAddr === '0.0.0.0' || this.bindAddr === '::' ? undefined : this.bindAddr });
      const t = setTimeout(() => { sock.destroy(); reject(new Error(`dial ${host}:${port} timed out`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(t); resolve(sock); });
      sock.once('error', (err) => { clearTimeout(t); reject(err); });
    });
  }

  private async pushPull(host: string, port: number, join: boolean): Promise<void> {
    const sock = await this.dial(host, port, this.timers.tcpTimeoutMs);
    this.sockets.add(sock);
    try {
      sock.setNoDelay(true);
      sock.write(encodeStream(this.localState(join), this.streamOptions()));
      const reply = await this.readStream(sock, this.timers.tcpTimeoutMs);
      if (reply.type === 'err') throw new Error(`remote error: ${reply.body.error}`);
      if (reply.type !== 'pushPull') throw new Error(`expected a push/pull reply, got ${reply.type}`);
      this.mergeRemote(reply.states);
    } finally {
      this.sockets.delete(sock);
      sock.destroy();
    }
  }

  private async tcpPing(host: string, port: number, name: string, timeoutMs: number): Promise<boolean> {
    if (timeoutMs <= 0) return false;
    let sock: Socket | null = null;
    try {
      sock = await this.dial(host, port, timeoutMs);
      this.sockets.add(sock);
      const seq = this.nextSeqNo();
      sock.write(encodeStream({ type: 'ping', body: { seqNo: seq, node: name } }, this.streamOptions()));
      const reply = await this.readStream(sock, timeoutMs);
      return reply.type === 'ack' && reply.body.seqNo === seq;
    } catch {
      return false;
    } finally {
      if (sock) {
        this.sockets.delete(sock);
        sock.destroy();
      }
    }
  }

  /** The protocol compatibility check of wire spec §11.8; throws when versions cannot mix. */
  private verifyProtocol(remote: PushNodeState[]): void {
    let maxPMin = 0, minPMax = 255, maxDMin = 0, minDMax = 255;
    const vsns: Buffer[] = [];
    for (const r of remote) if (r.state === NodeStateCode.alive && r.vsn && r.vsn.length >= 6) vsns.push(r.vsn);
    for (const n of this.nodes.values()) if (n.state === 'alive') vsns.push(n.vsn);
    for (const v of vsns) {
      maxPMin = Math.max(maxPMin, v[0]!); minPMax = Math.min(minPMax, v[1]!);
      maxDMin = Math.max(maxDMin, v[3]!); minDMax = Math.min(minDMax, v[4]!);
    }
    for (const v of vsns) {
      if (v[2]! < maxPMin || v[2]! > minPMax) throw new Error(`protocol version ${v[2]} incompatible with range [${maxPMin}, ${minPMax}]`);
      if (v[5]! < maxDMin || v[5]! > minDMax) throw new Error(`delegate protocol version ${v[5]} incompatible with range [${maxDMin}, ${minDMax}]`);
    }
  }

  private mergeRemote(remote: PushNodeState[]): void {
    this.verifyProtocol(remote);
    for (const r of remote) {
      if (r.state === NodeStateCode.alive) {
        this.handleAlive({ incarnation: r.incarnation, node: r.name, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn }, false);
      } else if (r.state === NodeStateCode.left) {
        this.handleDead({ incarnation: r.incarnation, node: r.name, from: r.name });
      } else if (r.state === NodeStateCode.dead || r.state === NodeStateCode.suspect) {
        this.handleSuspect({ incarnation: r.incarnation, node: r.name, from: this.name });
      }
    }
  }

  // ---- serving streams -----------------------------------------------------------------------

  private onStream(sock: Socket): void {
    if (!this.running) {
      sock.destroy();
      return;
    }
    if (this.inboundStreams >= MAX_INBOUND_STREAMS) {
      this.counters.tcpDropped++;
      sock.destroy();
      return;
    }
    this.counters.tcpAccepted++;
    this.inboundStreams++;
    this.sockets.add(sock);
    sock.on('error', () => undefined);
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    this.serveStream(sock)
      .catch((err: unknown) => {
        this.counters.tcpDropped++;
        if (err instanceof MemberlistDecodeError && err.code === 'decrypt') this.counters.tcpUndecryptable++;
        this.log.debug({ op: 'memberlist', peer, err: (err as Error).message }, 'dropped stream');
        // like Go: tell the peer what went wrong (compressed and encrypted with our key)
        if (err instanceof MemberlistDecodeError && !sock.destroyed) {
          try {
            sock.write(encodeStream({ type: 'err', body: { error: err.message } }, this.streamOptions()));
          } catch {
            /* the socket is going away anyway */
          }
        }
      })
      .finally(() => {
        this.inboundStreams--;
        this.sockets.delete(sock);
        sock.end();
        setTimeout(() => sock.destroy(), 1000).unref();
      });
  }

  private async serveStream(sock: Socket): Promise<void> {
    const msg = await this.readStream(sock, this.timers.tcpTimeoutMs);
    switch (msg.type) {
      case 'pushPull': {
        if (this.pushPullInFlight >= MAX_PUSH_PULL_REQUESTS) throw new Error('too many pending push/pull requests');
        this.pushPullInFlight++;
        try {
          sock.write(encodeStream(this.localState(msg.header.join), this.streamOptions()));
          this.mergeRemote(msg.states);
        } finally {
          this.pushPullInFlight--;
        }
        return;
      }
      case 'ping':
        if (msg.body.node !== '' && msg.body.node !== this.name) return;
        sock.write(encodeStream({ type: 'ack', body: { seqNo: msg.body.seqNo, payload: null } }, this.streamOptions()));
        return;
      case 'user':
        return;
      case 'err':
        this.log.warn({ op: 'memberlist', err: msg.body.error }, 'remote error on stream');
        return;
      case 'ack':
        throw new MemberlistDecodeError('unknown-type', 'unexpected ack as a stream request', 0);
    }
  }
}

export { ipBytes, ipText };
