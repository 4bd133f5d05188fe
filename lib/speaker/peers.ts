// BGP peer identity for session management (docs/behaviour/bgp.md#sessions): a configured peer whose parsed
// settings are identical to a running session's keeps that session; any difference (hold time,
// password, selectors, ...) replaces it; peers no longer selected for this node are closed.

import type { NodeSelector, Peer } from '../config/types.js';

function selectorText(s: NodeSelector): string {
  const labels = Object.keys(s.matchLabels)
    .sort()
    .map((k) => [k, s.matchLabels[k]]);
  const exprs = s.matchExpressions.map((e) => [e.key, e.operator, [...e.values]]);
  return JSON.stringify([labels, exprs]);
}

/** A text equal for two peers exactly when all their parsed settings are equal. */
export function peerIdentity(p: Peer): string {
  return JSON.stringify([
    p.myASN,
    p.peerASN,
    p.peerAddress.toString(),
    p.peerPort,
    p.sourceAddress?.toString() ?? '',
    p.holdTimeSeconds,
    p.keepaliveTimeSeconds,
    p.routerID?.toString() ?? '',
    p.nodeSelectors.map(selectorText),
    p.password,
    p.bfdProfile,
    p.ebgpMultihop,
  ]);
}

/** Upstream's `peer` metric label: `host:port`, IPv6 hosts in brackets (`[2001:db8::1]:179`). */
export function peerLabel(p: Pick<Peer, 'peerAddress' | 'peerPort'>): string {
  const host = p.peerAddress.family === 6 ? `[${p.peerAddress.toString()}]` : p.peerAddress.toString();
  return `${host}:${p.peerPort}`;
}

export interface PeerChanges {
  /** Sessions to keep running untouched (identity unchanged). */
  readonly keep: readonly Peer[];
  /** Sessions to close (deconfigured, changed, or no longer selected for this node). */
  readonly close: readonly Peer[];
  /** Sessions to open; each receives the full current advertisement set once established. */
  readonly open: readonly Peer[];
}

/**
 * Session changes from the currently running peer set to the newly selected one. Duplicate
 * identities (v0.9 allowed identical peers) are matched one to one.
 */
export function diffPeers(running: readonly Peer[], selected: readonly Peer[]): PeerChanges {
  const pool = new Map<string, Peer[]>();
  for (const p of running) {
    const id = peerIdentity(p);
    const list = pool.get(id);
    if (list) list.push(p);
    else pool.set(id, [p]);
  }
  const keep: Peer[] = [];
  const open: Peer[] = [];
  for (const p of selected) {
    const list = pool.get(peerIdentity(p));
    const match = list?.shift();
    if (match) keep.push(match);
    else open.push(p);
  }
  const close: Peer[] = [];
  for (const list of pool.values()) close.push(...list);
  return { keep, close, open };
}
