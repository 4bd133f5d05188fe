// The probe/gossip scheduler: which node to probe when, direct/indirect/TCP probes and their
// acks, the health score that slows probing down, gossip rounds and periodic push/pull
// (docs/behaviour/memberlist-wire.md#probing, docs/behaviour/memberlist-wire.md#answering, docs/behaviour/memberlist-wire.md#gossip, docs/behaviour/memberlist-wire.md#push-pull-schedule). It decides and times; the member state machine keeps
// the node table and the transport carries the bytes (both reached through SchedulerOptions).

import { randomInt } from 'node:crypto';
import { ipText } from './address.js';
import type { Clock } from './clock.js';
import { pushPullScaleMs, type MemberlistTimers } from './config.js';
import type { IndirectPing, Ping, Suspect } from './messages.js';
import type { NodeRecord } from './members.js';
import { encodeCompound, encodeMessage, type PacketMessage } from './packet.js';
import type { StreamMessage } from './stream.js';
import type { Logger } from '../util/log.js';

/** Where a datagram came from (node:dgram's RemoteInfo fits). */
export interface PacketSource {
  readonly address: string;
  readonly port: number;
}

/** The part of the member state machine the scheduler reads and feeds. */
export interface ProbeTargets {
  readonly name: string;
  readonly size: number;
  get(name: string): NodeRecord | undefined;
  all(): Iterable<NodeRecord>;
  names(): string[];
  /** Forgets long-dead nodes (called when a probe round starts over). */
  reap(): void;
  suspect(s: Suspect): void;
}

export interface SchedulerOptions {
  timers: MemberlistTimers;
  clock: Clock;
  log: Logger;
  members: ProbeTargets;
  /** Sends one message as a datagram, piggybacking queued broadcasts when room remains. */
  send: (m: PacketMessage, host: string, port: number, node?: NodeRecord) => void;
  /** Sends one already framed datagram (a message or a compound). */
  sendRaw: (datagram: Buffer, host: string, port: number, node?: NodeRecord) => void;
  /** Queued broadcasts that fit one gossip datagram (fewest transmissions first). */
  takeBroadcasts: () => Buffer[];
  /** One request/reply over TCP (dial and read each within `timeoutMs`). */
  request: (host: string, port: number, m: StreamMessage, timeoutMs: number) => Promise<StreamMessage>;
  /** A full state exchange with host:port. */
  pushPull: (host: string, port: number, join: boolean) => Promise<void>;
  /** Our advertised port (default port of indirect ping targets). */
  advertisePort: () => number;
  /** Uniform integer in [0, n): crypto.randomInt unless a test fixes it. */
  random?: (n: number) => number;
}

interface AckWaiter {
  onAck: () => void;
  onNack: () => void;
  cancel: () => void;
}

export class ProbeScheduler {
  private readonly random: (n: number) => number;
  private probeOrder: string[] = [];
  private probeIndex = 0;
  private seqNo = 0;
  private healthScore = 0;
  private running = false;
  private readonly ackWaiters = new Map<number, AckWaiter>();

  constructor(private readonly o: SchedulerOptions) {
    this.random = o.random ?? randomInt;
  }

  /** Starts probing, gossip and periodic push/pull (the first one at a random time within one interval). */
  start(): void {
    this.running = true;
    const t = this.o.timers;
    this.scheduleProbe(t.probeIntervalMs);
    this.every(t.gossipIntervalMs, () => this.gossip());
    this.schedulePushPull(this.random(Math.max(1, t.pushPullIntervalMs)));
  }

  /** Stops scheduling and forgets pending acks (the clock's timers are stopped by its owner). */
  stop(): void {
    this.running = false;
    for (const w of this.ackWaiters.values()) w.cancel();
    this.ackWaiters.clear();
  }

  /** Health score (0 = healthy); probe intervals are scaled by score + 1. */
  health(): number {
    return this.healthScore;
  }

  applyHealth(delta: number): void {
    const before = this.healthScore;
    this.healthScore = Math.min(this.o.timers.awarenessMaxMultiplier - 1, Math.max(0, this.healthScore + delta));
    if (before !== this.healthScore) this.o.log.debug({ op: 'memberlist', health: this.healthScore }, 'health score changed');
  }

  /** A node was added to the table: it joins the probe order at a random place. */
  added(name: string): void {
    this.probeOrder.splice(this.random(this.probeOrder.length + 1), 0, name);
  }

  nextSeqNo(): number {
    this.seqNo = (this.seqNo + 1) >>> 0;
    return this.seqNo;
  }

  // ---- inbound probe traffic ------------------------------------------------------------------

  onAck(seqNo: number): void {
    this.ackWaiters.get(seqNo)?.onAck();
  }

  onNack(seqNo: number): void {
    this.ackWaiters.get(seqNo)?.onNack();
  }

  onPing(p: Ping, from: PacketSource): void {
    if (p.node !== '' && p.node !== this.o.members.name) {
      this.o.log.debug({ op: 'memberlist', peer: from.address, target: p.node }, 'ping for another node');
      return;
    }
    const to = replyAddr(p, from);
    this.o.send({ type: 'ack', body: { seqNo: p.seqNo, payload: null } }, to.host, to.port);
  }

  /** Probes the target for the requester and relays the ack (or a nack when asked for one). */
  onIndirectPing(req: IndirectPing, from: PacketSource): void {
    if (!req.target || (req.target.length !== 4 && req.target.length !== 16)) return;
    const seq = this.nextSeqNo();
    const requester = replyAddr(req, from);
    const cancel = this.o.clock.after(this.o.timers.probeTimeoutMs, () => {
      this.ackWaiters.delete(seq);
      if (req.nack) this.o.send({ type: 'nack', body: { seqNo: req.seqNo } }, requester.host, requester.port);
    });
    this.ackWaiters.set(seq, {
      onAck: () => {
        cancel();
        this.ackWaiters.delete(seq);
        this.o.send({ type: 'ack', body: { seqNo: req.seqNo, payload: null } }, requester.host, requester.port);
      },
      onNack: () => undefined,
      cancel,
    });
    this.o.send({ type: 'ping', body: { seqNo: seq, node: req.node } }, ipText(req.target), req.port || this.o.advertisePort());
  }

  // ---- timers ---------------------------------------------------------------------------------

  private every(ms: number, fn: () => void): void {
    const tick = (): void => {
      if (!this.running) return;
      fn();
      this.o.clock.after(ms, tick);
    };
    this.o.clock.after(ms, tick);
  }

  private scheduleProbe(delayMs: number): void {
    this.o.clock.after(delayMs, () => {
      if (!this.running) return;
      const started = this.o.clock.now();
      this.probeRound()
        .catch((err: unknown) => this.o.log.error({ op: 'memberlist', err: (err as Error).message }, 'probe failed'))
        .finally(() => {
          if (this.running) this.scheduleProbe(Math.max(0, this.o.timers.probeIntervalMs - (this.o.clock.now() - started)));
        });
    });
  }

  private schedulePushPull(delayMs: number): void {
    this.o.clock.after(delayMs, () => {
      if (!this.running) return;
      const m = this.o.members;
      const alive = [...m.all()].filter((n) => n.name !== m.name && n.state === 'alive');
      if (alive.length > 0) {
        const n = alive[this.random(alive.length)]!;
        this.o.pushPull(ipText(n.addr), n.port, false).catch((err: unknown) =>
          this.o.log.warn({ op: 'memberlist', peer: n.name, err: (err as Error).message }, 'push/pull failed'));
      }
      this.schedulePushPull(pushPullScaleMs(this.o.timers.pushPullIntervalMs, m.size));
    });
  }

  // ---- probing --------------------------------------------------------------------------------

  private resetProbeOrder(): void {
    this.o.members.reap();
    this.probeOrder = this.o.members.names();
    this.shuffle(this.probeOrder);
    this.probeIndex = 0;
  }

  /** Probes the next node of the (shuffled) probe order that is not us, dead or left. */
  async probeRound(): Promise<void> {
    const m = this.o.members;
    let checked = 0;
    for (;;) {
      if (checked >= this.probeOrder.length) return; // nobody to probe
      if (this.probeIndex >= this.probeOrder.length) {
        this.resetProbeOrder();
        checked++;
        continue;
      }
      const name = this.probeOrder[this.probeIndex++]!;
      const node = m.get(name);
      checked++;
      if (!node || name === m.name || node.state === 'dead' || node.state === 'left') continue;
      await this.probeNode(node);
      return;
    }
  }

  private waitAck(seq: number, timeoutMs: number, onNack: () => void): { promise: Promise<boolean> } {
    let resolveFn: (v: boolean) => void = () => undefined;
    const promise = new Promise<boolean>((resolve) => { resolveFn = resolve; });
    const cancel = this.o.clock.after(timeoutMs, () => { this.ackWaiters.delete(seq); resolveFn(false); });
    this.ackWaiters.set(seq, {
      onAck: () => { cancel(); this.ackWaiters.delete(seq); resolveFn(true); },
      onNack,
      cancel,
    });
    return { promise };
  }

  private async probeNode(node: NodeRecord): Promise<void> {
    const t = this.o.timers;
    const m = this.o.members;
    const seq = this.nextSeqNo();
    const interval = t.probeIntervalMs * (this.healthScore + 1);
    const sentAt = this.o.clock.now();
    let nacks = 0;
    const waiter = this.waitAck(seq, interval, () => { nacks++; });
    const host = ipText(node.addr);
    const ping: PacketMessage = { type: 'ping', body: { seqNo: seq, node: node.name } };
    if (node.state === 'alive') {
      this.o.send(ping, host, node.port, node);
    } else {
      const suspect: PacketMessage = { type: 'suspect', body: { incarnation: node.incarnation, node: node.name, from: m.name } };
      this.o.sendRaw(encodeCompound([encodeMessage(ping), encodeMessage(suspect)]), host, node.port, node);
    }
    // direct ack within the probe timeout?
    const direct = await Promise.race([waiter.promise, new Promise<'timeout'>((r) => {
      this.o.clock.after(t.probeTimeoutMs, () => r('timeout'));
    })]);
    if (direct === true) {
      this.applyHealth(-1);
      return;
    }
    if (!this.running) return;
    // indirect probes through up to indirectChecks other alive nodes, and a TCP ping in parallel
    const helpers = [...m.all()].filter((n) => n.name !== m.name && n.name !== node.name && n.state === 'alive');
    this.shuffle(helpers);
    const chosen = helpers.slice(0, t.indirectChecks);
    let expectedNacks = 0;
    for (const h of chosen) {
      const wantNack = h.vsn[1]! >= 4;
      if (wantNack) expectedNacks++;
      this.o.send({ type: 'indirectPing', body: { seqNo: seq, target: node.addr, port: node.port, node: node.name, nack: wantNack } }, ipText(h.addr), h.port, h);
    }
    const remaining = Math.max(0, sentAt + interval - this.o.clock.now());
    const tcpOk = node.vsn[1]! >= 3 ? this.tcpPing(host, node.port, node.name, remaining) : Promise.resolve(false);
    const [acked, tcp] = await Promise.all([waiter.promise, tcpOk]);
    if (acked) {
      this.applyHealth(-1);
      return;
    }
    if (tcp) {
      this.o.log.warn({ op: 'memberlist', peer: node.name }, 'reached node over TCP but UDP probes failed; network may be misconfigured');
      return;
    }
    if (!this.running) return;
    this.applyHealth(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
    this.o.log.info({ op: 'memberlist', peer: node.name }, 'suspect has failed, no acks received');
    m.suspect({ incarnation: node.incarnation, node: node.name, from: m.name });
  }

  private async tcpPing(host: string, port: number, name: string, timeoutMs: number): Promise<boolean> {
    if (timeoutMs <= 0) return false;
    try {
      const seq = this.nextSeqNo();
      const reply = await this.o.request(host, port, { type: 'ping', body: { seqNo: seq, node: name } }, timeoutMs);
      return reply.type === 'ack' && reply.body.seqNo === seq;
    } catch {
      return false;
    }
  }

  // ---- gossip ---------------------------------------------------------------------------------

  /** Sends queued broadcasts to up to gossipNodes random live (or recently dead) nodes. */
  gossip(): void {
    const m = this.o.members;
    const now = this.o.clock.now();
    const candidates = [...m.all()].filter((n) => n.name !== m.name &&
      (n.state === 'alive' || n.state === 'suspect' || (n.state === 'dead' && now - n.stateChange < this.o.timers.gossipToTheDeadTimeMs)));
    this.shuffle(candidates);
    for (const n of candidates.slice(0, this.o.timers.gossipNodes)) {
      const msgs = this.o.takeBroadcasts();
      if (msgs.length === 0) return;
      this.o.sendRaw(msgs.length === 1 ? msgs[0]! : encodeCompound(msgs), ipText(n.addr), n.port, n);
    }
  }

  private shuffle<T>(a: T[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.random(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
  }
}

function replyAddr(p: { sourceAddr?: Buffer | null; sourcePort?: number }, from: PacketSource): { host: string; port: number } {
  if (p.sourceAddr && p.sourceAddr.length > 0 && p.sourcePort) return { host: ipText(p.sourceAddr), port: p.sourcePort };
  return { host: from.address, port: from.port };
}
