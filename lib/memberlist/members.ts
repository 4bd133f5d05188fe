// The member state machine: what we believe about every node (alive, suspect, dead, left) and
// how alive/suspect/dead claims change it, including suspicion timeouts, refuting claims about
// ourselves and merging a peer's full state (docs/behaviour/memberlist-wire.md#suspect, docs/behaviour/memberlist-wire.md#dead-alive, docs/behaviour/memberlist-wire.md#refutation, docs/behaviour/memberlist-wire.md#push-pull-schedule). It sends
// nothing itself: changes go out through `broadcast` and are reported through `notify`.

import { ipText } from './address.js';
import type { Clock } from './clock.js';
import { remainingSuspicionMs, suspicionTimeoutMs, type MemberlistTimers } from './config.js';
import { NodeStateCode, type Alive, type Dead, type PushNodeState, type Suspect } from './messages.js';
import type { PacketMessage } from './packet.js';
import type { Logger } from '../util/log.js';

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

export interface NodeRecord {
  name: string;
  addr: Buffer;
  port: number;
  meta: Buffer | null;
  incarnation: number;
  state: MemberState;
  stateChange: number;
  vsn: Buffer;
}

export type MemberEvent = 'join' | 'leave' | 'update';

export interface MemberStatesOptions {
  /** Our own node name. */
  name: string;
  timers: Pick<MemberlistTimers, 'suspicionMult' | 'suspicionMaxTimeoutMult' | 'probeIntervalMs' | 'gossipToTheDeadTimeMs'>;
  clock: Clock;
  log: Logger;
  /** Queues a message about `node` for gossip; `done` runs once it was sent its full count or replaced. */
  broadcast: (node: string, m: PacketMessage, done?: () => void) => void;
  /** A node joined, left (dead or left) or changed its metadata. */
  notify: (kind: MemberEvent, node: MemberInfo) => void;
  /** We refuted a claim about ourselves (the health score goes up). */
  refuted: () => void;
  /** A node was added to the table (the scheduler puts it into its probe order). */
  added?: (name: string) => void;
}

interface Suspicion {
  k: number;
  minMs: number;
  maxMs: number;
  start: number;
  confirmations: Set<string>;
  cancel: () => void;
  fire: () => void;
}

export function memberInfo(n: NodeRecord): MemberInfo {
  return { name: n.name, addr: ipText(n.addr), port: n.port, state: n.state, incarnation: n.incarnation, meta: n.meta };
}

export class MemberStates {
  readonly name: string;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly suspicions = new Map<string, Suspicion>();
  private incarnation = 0;
  private leaving = false;
  private leaveSent: (() => void) | null = null;

  constructor(private readonly o: MemberStatesOptions) {
    this.name = o.name;
  }

  get size(): number {
    return this.nodes.size;
  }

  get(name: string): NodeRecord | undefined {
    return this.nodes.get(name);
  }

  all(): IterableIterator<NodeRecord> {
    return this.nodes.values();
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  isLeaving(): boolean {
    return this.leaving;
  }

  /** Adds ourselves as alive with incarnation 1. */
  bootstrap(self: { addr: Buffer; port: number; vsn: Buffer }): void {
    this.incarnation = 1;
    this.alive({ incarnation: this.incarnation, node: this.name, addr: self.addr, port: self.port, meta: null, vsn: self.vsn }, true);
  }

  /** Starts a graceful leave: we broadcast our own death; `sent` runs when it went out fully. */
  leave(sent: () => void): void {
    this.leaving = true;
    this.leaveSent = sent;
    const self = this.nodes.get(this.name)!;
    this.dead({ incarnation: self.incarnation, node: this.name, from: this.name });
  }

  /** Cancels every suspicion timer. */
  stop(): void {
    for (const s of this.suspicions.values()) s.cancel();
    this.suspicions.clear();
  }

  /** Forgets dead and left nodes older than gossipToTheDeadTime (never ourselves). */
  reap(): void {
    const now = this.o.clock.now();
    for (const [name, n] of this.nodes) {
      if ((n.state === 'dead' || n.state === 'left') && now - n.stateChange > this.o.timers.gossipToTheDeadTimeMs && name !== this.name) {
        this.nodes.delete(name);
        this.cancelSuspicion(name);
      }
    }
  }

  /** Our full state for a push/pull. */
  localState(): PushNodeState[] {
    return [...this.nodes.values()].map((n) => ({
      name: n.name, addr: n.addr, port: n.port, meta: n.meta, incarnation: n.incarnation, state: NodeStateCode[n.state], vsn: n.vsn,
    }));
  }

  /** Merges a peer's full state; throws (changing nothing) when protocol versions cannot mix. */
  mergeRemote(remote: PushNodeState[]): void {
    this.verifyProtocol(remote);
    for (const r of remote) {
      if (r.state === NodeStateCode.alive) {
        this.alive({ incarnation: r.incarnation, node: r.name, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn }, false);
      } else if (r.state === NodeStateCode.left) {
        this.dead({ incarnation: r.incarnation, node: r.name, from: r.name });
      } else if (r.state === NodeStateCode.dead || r.state === NodeStateCode.suspect) {
        this.suspect({ incarnation: r.incarnation, node: r.name, from: this.name });
      }
    }
  }

  /** The protocol compatibility check of docs/behaviour/memberlist-wire.md#push-pull-schedule; throws when versions cannot mix. */
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

  private notify(kind: MemberEvent, node: NodeRecord): void {
    this.o.notify(kind, memberInfo(node));
  }

  private refute(self: NodeRecord, accused: number): void {
    let inc = this.incarnation + 1;
    if (accused >= inc) inc = accused + 1;
    this.incarnation = inc >>> 0;
    self.incarnation = this.incarnation;
    this.o.refuted();
    this.o.broadcast(this.name, {
      type: 'alive',
      body: { incarnation: inc, node: this.name, addr: self.addr, port: self.port, meta: self.meta, vsn: self.vsn },
    });
  }

  /** An alive claim; `bootstrap` is our own first one, which is taken rather than refuted. */
  alive(a: Alive, bootstrap: boolean): void {
    const log = this.o.log;
    if (this.leaving && a.node === this.name) return;
    const vsn = a.vsn;
    if (!vsn || vsn.length < 6) {
      log.warn({ op: 'memberlist', peer: a.node }, 'ignoring alive message without a 6-byte Vsn');
      return;
    }
    if (vsn[0] === 0 || vsn[1] === 0 || vsn[0]! > vsn[1]!) {
      log.warn({ op: 'memberlist', peer: a.node }, 'ignoring alive message with invalid protocol versions');
      return;
    }
    if (!a.addr || (a.addr.length !== 4 && a.addr.length !== 16)) {
      log.warn({ op: 'memberlist', peer: a.node }, 'ignoring alive message without a valid address');
      return;
    }
    let state = this.nodes.get(a.node);
    let updatesNode = false;
    if (!state) {
      state = { name: a.node, addr: a.addr, port: a.port, meta: a.meta, incarnation: 0, state: 'dead', stateChange: this.o.clock.now(), vsn: Buffer.from(vsn.subarray(0, 6)) };
      this.nodes.set(a.node, state);
      this.o.added?.(a.node);
    } else if (!state.addr.equals(a.addr) || state.port !== a.port) {
      if (state.state === 'left') {
        log.info({ op: 'memberlist', peer: a.node, addr: ipText(a.addr), port: a.port }, 'updating address of a left node');
        updatesNode = true;
      } else {
        log.error({ op: 'memberlist', peer: a.node, mine: `${ipText(state.addr)}:${state.port}`, theirs: `${ipText(a.addr)}:${a.port}`, state: state.state }, 'conflicting address');
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
      log.warn({ op: 'memberlist', incarnation: a.incarnation }, 'refuting an alive message about ourselves');
    } else {
      this.o.broadcast(a.node, { type: 'alive', body: a });
      state.vsn = Buffer.from(vsn.subarray(0, 6));
      state.incarnation = a.incarnation;
      state.meta = a.meta;
      state.addr = a.addr;
      state.port = a.port;
      if (state.state !== 'alive') {
        state.state = 'alive';
        state.stateChange = this.o.clock.now();
      }
    }
    if (oldState === 'dead' || oldState === 'left') this.notify('join', state);
    else if (!(oldMeta ?? Buffer.alloc(0)).equals(state.meta ?? Buffer.alloc(0))) this.notify('update', state);
  }

  /** A suspect claim: starts (or confirms) the suspicion timer, or refutes it when about us. */
  suspect(s: Suspect): void {
    const state = this.nodes.get(s.node);
    if (!state || s.incarnation < state.incarnation) return;
    const existing = this.suspicions.get(s.node);
    if (existing) {
      if (this.confirmSuspicion(existing, s.from)) this.o.broadcast(s.node, { type: 'suspect', body: s });
      return;
    }
    if (state.state !== 'alive') return;
    if (s.node === this.name) {
      if (!this.leaving) {
        this.refute(state, s.incarnation);
        this.o.log.warn({ op: 'memberlist', from: s.from }, 'refuting a suspect message');
      }
      return;
    }
    this.o.broadcast(s.node, { type: 'suspect', body: s });
    state.incarnation = s.incarnation;
    state.state = 'suspect';
    const changeTime = this.o.clock.now();
    state.stateChange = changeTime;
    const n = this.nodes.size;
    let k = this.o.timers.suspicionMult - 2;
    if (n - 2 < k) k = 0;
    const minMs = suspicionTimeoutMs(this.o.timers.suspicionMult, n, this.o.timers.probeIntervalMs);
    const maxMs = this.o.timers.suspicionMaxTimeoutMult * minMs;
    const fire = (): void => {
      this.suspicions.delete(s.node);
      if (state.state === 'suspect' && state.stateChange === changeTime) {
        this.o.log.info({ op: 'memberlist', peer: s.node }, 'marking node as failed, suspect timeout reached');
        this.dead({ incarnation: state.incarnation, node: s.node, from: this.name });
      }
    };
    const first = k < 1 ? minMs : remainingSuspicionMs(0, k, 0, minMs, maxMs);
    const sus: Suspicion = { k, minMs, maxMs, start: this.o.clock.now(), confirmations: new Set([s.from]), cancel: this.o.clock.after(first, fire), fire };
    this.suspicions.set(s.node, sus);
  }

  private confirmSuspicion(s: Suspicion, from: string): boolean {
    if (s.confirmations.size - 1 >= s.k) return false;
    if (s.confirmations.has(from)) return false;
    s.confirmations.add(from);
    const remaining = remainingSuspicionMs(s.confirmations.size - 1, s.k, this.o.clock.now() - s.start, s.minMs, s.maxMs);
    s.cancel();
    s.cancel = this.o.clock.after(Math.max(0, remaining), s.fire);
    return true;
  }

  private cancelSuspicion(node: string): void {
    const s = this.suspicions.get(node);
    if (!s) return;
    s.cancel();
    this.suspicions.delete(node);
  }

  /** A dead claim (From = the node itself means it left); refuted when about us, unless we leave. */
  dead(d: Dead): void {
    const state = this.nodes.get(d.node);
    if (!state || d.incarnation < state.incarnation) return;
    this.cancelSuspicion(d.node);
    if (state.state === 'dead' || state.state === 'left') return;
    if (d.node === this.name) {
      if (!this.leaving) {
        this.refute(state, d.incarnation);
        this.o.log.warn({ op: 'memberlist', from: d.from }, 'refuting a dead message');
        return;
      }
      this.o.broadcast(d.node, { type: 'dead', body: d }, () => this.leaveSent?.());
    } else {
      this.o.broadcast(d.node, { type: 'dead', body: d });
    }
    state.incarnation = d.incarnation;
    state.state = d.node === d.from ? 'left' : 'dead';
    state.stateChange = this.o.clock.now();
    this.notify('leave', state);
  }
}

