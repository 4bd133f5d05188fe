// Layer 2 leader election, computed exactly as upstream MetalLB does so that a cluster mixing
// upstream speakers and ours elects the same node for every address.
//
// Each candidate node gets the key SHA-256(UTF-8 of `<node>#<electionKey>`); candidates are
// ordered by that 32-byte digest compared as unsigned bytes, ascending, and the first one
// announces. Since v0.11 the election key is the canonical text of the Service's first ingress IP
// (so every Service sharing an address elects the same node); up to v0.10 it was the Service's
// `namespace/name`.

import * as crypto from 'node:crypto';
import type { IPAddress } from '../ip/index.js';

// crypto.hash (Node >= 20.12) is the one-shot form, about twice as fast as createHash here.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

/** The 32-byte digest that orders `node` in the election for `electionKey`. */
export function electionDigest(node: string, electionKey: string): Buffer {
  const input = `${node}#${electionKey}`;
  return oneShot ? oneShot('sha256', input, 'buffer') : crypto.createHash('sha256').update(input, 'utf8').digest();
}

/** v0.11+ election key: the canonical text of the first ingress IP (`10.20.30.1`, `2001:db8::1`). */
export function electionKeyForIPs(ips: readonly IPAddress[]): string {
  if (ips.length === 0) throw new RangeError('an election needs at least one IP');
  return ips[0].toString();
}

/** ≤v0.10 election key: the Service's `namespace/name`. Kept for reference and tests. */
export function legacyElectionKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * All candidates in election order (the winner first). Duplicate names count once. Digests of
 * distinct names never tie in practice; should they, the node name decides (bytewise), so the
 * order is still total and the same on every node.
 */
export function electionOrder(candidates: Iterable<string>, electionKey: string): string[] {
  const ranked: { node: string; digest: Buffer }[] = [];
  for (const node of new Set(candidates)) ranked.push({ node, digest: electionDigest(node, electionKey) });
  ranked.sort((a, b) => Buffer.compare(a.digest, b.digest) || compareBytes(a.node, b.node));
  return ranked.map((r) => r.node);
}

/** The announcing node among `candidates` (linear: one digest per candidate), undefined if none. */
export function electionWinner(candidates: Iterable<string>, electionKey: string): string | undefined {
  let best: string | undefined;
  let bestDigest: Buffer | undefined;
  for (const node of candidates) {
    if (node === best) continue;
    const digest = electionDigest(node, electionKey);
    const cmp = bestDigest === undefined ? -1 : Buffer.compare(digest, bestDigest) || compareBytes(node, best as string);
    if (cmp < 0) {
      best = node;
      bestDigest = digest;
    }
  }
  return best;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Winners among one candidate set (the live speakers: layer 2 `Cluster` candidates), per election
 * key, kept up to date incrementally as members leave and join, so a decision costs one lookup
 * instead of one SHA-256 per node. Entries are computed lazily and dropped with `forget`.
 */
export class ElectionWinnerCache {
  private candidates: ReadonlySet<string>;
  private readonly winners = new Map<string, { node: string | undefined; digest: Buffer | undefined }>();

  constructor(candidates: ReadonlySet<string>) {
    this.candidates = candidates;
  }

  /** The winner among the current candidates for `electionKey`. */
  winner(electionKey: string): string | undefined {
    let w = this.winners.get(electionKey);
    if (!w) {
      const node = electionWinner(this.candidates, electionKey);
      w = { node, digest: node === undefined ? undefined : electionDigest(node, electionKey) };
      this.winners.set(electionKey, w);
    }
    return w.node;
  }

  /** The cached winner's digest, if the key is cached and has a winner. */
  winnerDigest(electionKey: string): Buffer | undefined {
    return this.winners.get(electionKey)?.digest;
  }

  /**
   * Moves to a new candidate set. Entries won by a node that left are dropped (recomputed on
   * demand); a joining node takes over the cached keys it out-ranks (one SHA-256 per cached key
   * per joining node). Returns the keys a joining node took over.
   */
  update(next: ReadonlySet<string>, left: readonly string[], joined: readonly string[]): string[] {
    this.candidates = next;
    const takenOver: string[] = [];
    if (left.length === 0 && joined.length === 0) return takenOver;
    const gone = new Set(left);
    for (const [key, w] of this.winners) {
      if (w.node !== undefined && gone.has(w.node)) {
        this.winners.delete(key);
        continue;
      }
      let changed = false;
      for (const node of joined) {
        const d = electionDigest(node, key);
        const cmp = w.digest === undefined ? -1 : Buffer.compare(d, w.digest) || compareBytes(node, w.node as string);
        if (cmp < 0) {
          w.node = node;
          w.digest = d;
          changed = true;
        }
      }
      if (changed) takenOver.push(key);
    }
    return takenOver;
  }

  forget(electionKey: string): void {
    this.winners.delete(electionKey);
  }

  get size(): number {
    return this.winners.size;
  }
}
