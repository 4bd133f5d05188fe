// The gossip broadcast queue (docs/behaviour/memberlist-wire.md#gossip): one pending broadcast per node name, each sent
// at most retransmitMult × ceil(log10(n+1)) times; fewest transmissions first, then larger, then
// newer messages, while they fit the byte budget.

interface QueuedBroadcast {
  readonly node: string;
  readonly message: Buffer;
  readonly id: number;
  transmits: number;
  readonly done?: () => void;
}

export class BroadcastQueue {
  private items: QueuedBroadcast[] = [];
  private nextId = 0;

  constructor(
    private readonly retransmitMult: number,
    private readonly clusterSize: () => number,
  ) {}

  /** Queues `message` about `node`, replacing (and finishing) any queued broadcast about it. */
  enqueue(node: string, message: Buffer, done?: () => void): void {
    const kept: QueuedBroadcast[] = [];
    for (const b of this.items) {
      if (b.node === node) b.done?.();
      else kept.push(b);
    }
    kept.push({ node, message, id: this.nextId++, transmits: 0, done });
    this.items = kept;
  }

  get length(): number {
    return this.items.length;
  }

  /** Takes broadcasts fitting `limit` bytes, counting `overhead` bytes per message. */
  take(overhead: number, limit: number): Buffer[] {
    if (this.items.length === 0) return [];
    const maxTransmits = this.retransmitMult * Math.ceil(Math.log10(this.clusterSize() + 1));
    this.items.sort((a, b) => a.transmits - b.transmits || b.message.length - a.message.length || b.id - a.id);
    const out: Buffer[] = [];
    let used = 0;
    const keep: QueuedBroadcast[] = [];
    for (const b of this.items) {
      if (used + overhead + b.message.length > limit) {
        keep.push(b);
        continue;
      }
      used += overhead + b.message.length;
      out.push(b.message);
      b.transmits++;
      if (b.transmits >= maxTransmits) b.done?.();
      else keep.push(b);
    }
    this.items = keep;
    return out;
  }

  clear(): void {
    for (const b of this.items) b.done?.();
    this.items = [];
  }
}
