// Layer 2 leader election, computed exactly as upstream MetalLB does so that a cluster mixing
// upstream speakers and ours elects the same node for every address.
//
// Each candidate node gets the key SHA-256(UTF-8 of `<node>#<electionKey>`); candidates are
// ordered by that 32-byte digest compared as unsigned bytes, ascending, and the first one
// announces. Since v0.11 the election key is the canonical text of the Service's first ingress IP
// (so every Service sharing an address elects the same node); up to v0.10 it was the Service's
// `namespace/name`.

import { createHash } from 'node:crypto';
import type { IPAddress } from '../ip/index.js';

/** The 32-byte digest that orders `node` in the election for `electionKey`. */
export function electionDigest(node: string, electionKey: string): Buffer {
  return createHash('sha256').update(`${node}#${electionKey}`, 'utf8').digest();
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
