// Peer node-selectors (docs/behaviour/config.md#node-selectors, docs/behaviour/bgp.md#sessions): which configured BGP peers apply to this node.
// Kubernetes label-selector semantics: within one selector every match-label and every
// expression must hold; across a peer's selectors any one suffices; no selectors = every node.

import type { MatchExpression, NodeSelector, Peer } from '../config/types.js';

/** A node's labels, as a plain object (from the Node's metadata) or a Map. */
export type NodeLabels = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

function labelValue(labels: NodeLabels, key: string): string | undefined {
  if (labels instanceof Map) return labels.get(key);
  const record = labels as Readonly<Record<string, string>>;
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function expressionMatches(expr: MatchExpression, labels: NodeLabels): boolean {
  const value = labelValue(labels, expr.key);
  switch (expr.operator) {
    case 'In':
      return value !== undefined && expr.values.includes(value);
    case 'NotIn':
      return value === undefined || !expr.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

/** One selector: all match-labels equal AND all expressions hold (an empty selector matches all). */
export function selectorMatches(selector: NodeSelector, labels: NodeLabels): boolean {
  for (const [key, want] of Object.entries(selector.matchLabels)) {
    if (labelValue(labels, key) !== want) return false;
  }
  return selector.matchExpressions.every((e) => expressionMatches(e, labels));
}

/** A peer's selector list: empty = every node; otherwise any selector matching suffices. */
export function nodeSelectorsMatch(selectors: readonly NodeSelector[], labels: NodeLabels): boolean {
  return selectors.length === 0 || selectors.some((s) => selectorMatches(s, labels));
}

/**
 * The peers this node opens sessions to, in config order. Before the Node object has been seen
 * pass an empty label set (upstream does the same, so select-all peers and selectors built only
 * from NotIn/DoesNotExist already apply).
 */
export function peersForNode(peers: readonly Peer[], labels: NodeLabels): Peer[] {
  return peers.filter((p) => nodeSelectorsMatch(p.nodeSelectors, labels));
}

/** True when two label sets are equal (upstream only re-evaluates selectors on a real change). */
export function sameLabels(a: NodeLabels, b: NodeLabels): boolean {
  const ea = a instanceof Map ? [...a.entries()] : Object.entries(a);
  const eb = b instanceof Map ? [...b.entries()] : Object.entries(b);
  if (ea.length !== eb.length) return false;
  return ea.every(([k, v]) => labelValue(b, k) === v);
}
