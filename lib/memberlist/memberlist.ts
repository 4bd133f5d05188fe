// The member: a hashicorp/memberlist v0.1.7-compatible node (docs/behaviour/memberlist-wire.md#streams, docs/behaviour/memberlist-wire.md#swim, docs/behaviour/memberlist-wire.md#join-leave) assembled
// from the transport (transport.ts), the member state machine (members.ts) and the probe/gossip
// scheduler (scheduler.ts). This file holds the public API and the wiring between the three.

import { EventEmitter } from 'node:events';
import { isIPv4, isIPv6 } from 'node:net';
import { ipBytes, ipText, parseHostPort } from './address.js';
import { BroadcastQueue } from './broadcast.js';
import { TimerSet } from './clock.js';
import { resolveTimers, type MemberlistTimers, type TimerProfile } from './config.js';
import { MemberlistDecodeError } from './errors.js';
import { memberInfo, MemberStates, type MemberEvent, type MemberInfo, type NodeRecord } from './members.js';
import { encodeCompound, encodeMessage, type PacketMessage } from './packet.js';
import { ProbeScheduler } from './scheduler.js';
import { deriveSecretKey, Keyring } from './security.js';
import type { StreamMessage } from './stream.js';
import { Transport, type TransportCounters } from './transport.js';
import { silentLogger, type Logger } from '../util/log.js';

export type { MemberInfo, MemberState } from './members.js';

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
export interface MemberlistCounters extends TransportCounters {
  /** Refutations of suspicion/death claims about ourselves. */
  refutations: number;
}

export interface MemberlistEvents {
  join: [MemberInfo];
  leave: [MemberInfo];
  update: [MemberInfo];
}

/** [PMin, PMax, PCur, DMin, DMax, DCur] as MetalLB's memberlist sends them. */
const OUR_VSN = Buffer.from([1, 5, 2, 0, 0, 0]);
const COMPOUND_HEADER_OVERHEAD = 2;
const COMPOUND_PART_OVERHEAD = 2;
const UDP_BUFFER_SIZE = 1400;
const MAX_PUSH_PULL_REQUESTS = 127;

export class Memberlist extends EventEmitter<MemberlistEvents> {
  readonly name: string;
  readonly timers: MemberlistTimers;
  private readonly log: Logger;
  private readonly requestedPort: number;
  private readonly keyring: Keyring | null;
  private readonly advertiseIp: Buffer;
  private advertisePort: number;

  private running = false;
  private shutDown = false;
  private pushPullInFlight = 0;

  private readonly clock = new TimerSet();
  private readonly broadcasts: BroadcastQueue;
  private readonly transport: Transport;
  private readonly table: MemberStates;
  private readonly scheduler: ProbeScheduler;

  readonly counters: MemberlistCounters = {
    udpReceived: 0, udpDropped: 0, udpUndecryptable: 0, messagesInvalid: 0,
    tcpAccepted: 0, tcpDropped: 0, tcpUndecryptable: 0, refutations: 0,
  };

  constructor(opts: MemberlistOptions) {
    super();
    if (!opts.name) throw new RangeError('memberlist: name must not be empty');
    this.name = opts.name;
    this.requestedPort = opts.bindPort ?? 7946;
    this.timers = resolveTimers(opts.timers);
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

    this.transport = new Transport({
      bindAddr: opts.bindAddr, keyring: this.keyring, compression: opts.compression ?? true,
      streamTimeoutMs: this.timers.tcpTimeoutMs, log: this.log, counters: this.counters,
    });
    this.table = new MemberStates({
      name: this.name, timers: this.timers, clock: this.clock, log: this.log,
      broadcast: (node, m, done) => this.broadcasts.enqueue(node, encodeMessage(m), done),
      notify: (kind, info) => this.notify(kind, info),
      refuted: () => {
        this.scheduler.applyHealth(1);
        this.counters.refutations++;
      },
      added: (name) => this.scheduler.added(name),
    });
    this.broadcasts = new BroadcastQueue(this.timers.retransmitMult, () => this.table.size);
    this.scheduler = new ProbeScheduler({
      timers: this.timers, clock: this.clock, log: this.log, members: this.table,
      send: (m, host, port, node) => this.send(m, host, port, node),
      sendRaw: (datagram, host, port, node) => this.sendRaw(datagram, host, port, node),
      takeBroadcasts: () => this.broadcasts.take(COMPOUND_PART_OVERHEAD, UDP_BUFFER_SIZE - COMPOUND_HEADER_OVERHEAD - this.transport.encryptionOverhead),
      request: (host, port, m, timeoutMs) => this.transport.request(host, port, m, timeoutMs),
      pushPull: (host, port, join) => this.pushPull(host, port, join),
      advertisePort: () => this.advertisePort,
    });
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /** Binds UDP and TCP on the same port, adds ourselves (incarnation 1) and starts the timers. */
  async start(): Promise<void> {
    if (this.running || this.shutDown) throw new Error('memberlist: start() called twice');
    const port = await this.transport.listen(this.requestedPort, {
      packet: (m, from) => this.onPacketMessage(m, from),
      stream: (m, reply) => this.onStreamRequest(m, reply),
    });
    if (this.advertisePort === 0) this.advertisePort = port;
    this.running = true;
    this.table.bootstrap({ addr: this.advertiseIp, port: this.advertisePort, vsn: OUR_VSN });
    this.scheduler.start();
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
        const { host, port } = parseHostPort(a, this.advertisePort);
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
    for (const n of this.table.all()) if (n.state === 'alive' || n.state === 'suspect') out.push(memberInfo(n));
    return out;
  }

  /** Every node known, including dead and left ones not yet reaped. */
  allNodes(): MemberInfo[] {
    return [...this.table.all()].map(memberInfo);
  }

  /** Health score (0 = healthy); probe intervals are scaled by score + 1. */
  health(): number {
    return this.scheduler.health();
  }

  /**
   * Graceful leave: broadcasts that we are dead (From = ourselves, which peers record as left) and
   * waits until it was sent its full retransmit count or `timeoutMs` passed. Resolves false on
   * timeout. Call shutdown() afterwards.
   */
  async leave(timeoutMs: number): Promise<boolean> {
    if (!this.running || this.table.isLeaving()) return true;
    let sentFully: () => void = () => undefined;
    const sent = new Promise<boolean>((resolve) => {
      sentFully = () => resolve(true);
      const t = setTimeout(() => resolve(false), timeoutMs);
      t.unref();
    });
    this.table.leave(sentFully);
    const anyAlive = [...this.table.all()].some((n) => n.name !== this.name && n.state !== 'dead' && n.state !== 'left');
    if (!anyAlive) return true;
    return sent;
  }

  /** Stops timers and closes sockets without telling anyone (a crash, from the peers' view). */
  async shutdown(): Promise<void> {
    if (this.shutDown) return;
    this.shutDown = true;
    this.running = false;
    this.clock.stop();
    this.scheduler.stop();
    this.table.stop();
    this.broadcasts.clear();
    await this.transport.close();
  }

  // ---- wiring --------------------------------------------------------------------------------

  /** Emits an event; a throwing listener is logged and never breaks the protocol machinery. */
  private notify(kind: MemberEvent, info: MemberInfo): void {
    try {
      this.emit(kind, info);
    } catch (err) {
      this.log.error({ op: 'memberlist', event: kind, peer: info.name, err: (err as Error).message }, 'memberlist event listener threw');
    }
  }

  /** Sends one datagram (already framed message) to host:port, with CRC when the node takes it. */
  private sendRaw(message: Buffer, host: string, port: number, node: NodeRecord | undefined): void {
    if (!this.running) return;
    this.transport.sendPacket(message, host, port, node !== undefined && node.vsn[1]! >= 5);
  }

  /** Sends a message, piggybacking queued broadcasts when room remains. */
  private send(m: PacketMessage, host: string, port: number, node?: NodeRecord): void {
    const msg = encodeMessage(m);
    const avail = UDP_BUFFER_SIZE - msg.length - COMPOUND_HEADER_OVERHEAD - this.transport.encryptionOverhead;
    const extra = this.broadcasts.take(COMPOUND_PART_OVERHEAD, avail);
    this.sendRaw(extra.length === 0 ? msg : encodeCompound([msg, ...extra]), host, port, node);
  }

  private localState(join: boolean): StreamMessage {
    const states = this.table.localState();
    return { type: 'pushPull', header: { join, nodes: states.length, userStateLen: 0 }, states, userState: Buffer.alloc(0) };
  }

  private async pushPull(host: string, port: number, join: boolean): Promise<void> {
    const reply = await this.transport.request(host, port, this.localState(join), this.timers.tcpTimeoutMs);
    if (reply.type === 'err') throw new Error(`remote error: ${reply.body.error}`);
    if (reply.type !== 'pushPull') throw new Error(`expected a push/pull reply, got ${reply.type}`);
    this.table.mergeRemote(reply.states);
  }

  private onPacketMessage(m: PacketMessage, from: Parameters<ProbeScheduler['onPing']>[1]): void {
    switch (m.type) {
      case 'ping': return this.scheduler.onPing(m.body, from);
      case 'indirectPing': return this.scheduler.onIndirectPing(m.body, from);
      case 'ack': return this.scheduler.onAck(m.body.seqNo);
      case 'nack': return this.scheduler.onNack(m.body.seqNo);
      case 'suspect': return this.table.suspect(m.body);
      case 'alive': return this.table.alive(m.body, false);
      case 'dead': return this.table.dead(m.body);
      case 'user':
      case 'err':
        return; // MetalLB sends no user messages; errors only appear on streams
    }
  }

  private onStreamRequest(msg: StreamMessage, reply: (m: StreamMessage) => void): void {
    switch (msg.type) {
      case 'pushPull': {
        if (this.pushPullInFlight >= MAX_PUSH_PULL_REQUESTS) throw new Error('too many pending push/pull requests');
        this.pushPullInFlight++;
        try {
          reply(this.localState(msg.header.join));
          this.table.mergeRemote(msg.states);
        } finally {
          this.pushPullInFlight--;
        }
        return;
      }
      case 'ping':
        if (msg.body.node !== '' && msg.body.node !== this.name) return;
        reply({ type: 'ack', body: { seqNo: msg.body.seqNo, payload: null } });
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
