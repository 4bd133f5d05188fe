// Timer profiles. 'lan' is hashicorp/memberlist's DefaultLANConfig (what MetalLB uses); 'fast'
// detects failures about five times sooner for small clusters on a quiet network. The Go test
// peer (test/interop/memberlist/peer) defines the same 'fast' profile.

export interface MemberlistTimers {
  /** One node probed per interval (scaled up to awarenessMaxMultiplier× when we look unhealthy). */
  probeIntervalMs: number;
  /** Wait for a direct ack before asking other nodes for indirect probes. */
  probeTimeoutMs: number;
  /** Gossip period, and nodes gossiped to per period. */
  gossipIntervalMs: number;
  gossipNodes: number;
  /** Full state sync with one random node (scaled above 32 nodes). */
  pushPullIntervalMs: number;
  /** Keep gossiping to a dead node this long; then it is reaped. */
  gossipToTheDeadTimeMs: number;
  /** TCP dial timeout and whole-stream deadline. */
  tcpTimeoutMs: number;
  indirectChecks: number;
  retransmitMult: number;
  suspicionMult: number;
  suspicionMaxTimeoutMult: number;
  awarenessMaxMultiplier: number;
}

export const LAN_TIMERS: Readonly<MemberlistTimers> = Object.freeze({
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  pushPullIntervalMs: 30_000,
  gossipToTheDeadTimeMs: 30_000,
  tcpTimeoutMs: 10_000,
  indirectChecks: 3,
  retransmitMult: 4,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  awarenessMaxMultiplier: 8,
});

export const FAST_TIMERS: Readonly<MemberlistTimers> = Object.freeze({
  ...LAN_TIMERS,
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  pushPullIntervalMs: 5_000,
  gossipToTheDeadTimeMs: 5_000,
  tcpTimeoutMs: 2_000,
});

export type TimerProfile = 'lan' | 'fast' | Partial<MemberlistTimers>;

/** Resolves a profile name or explicit overrides (applied on top of 'lan') into full timers. */
export function resolveTimers(profile: TimerProfile | undefined): MemberlistTimers {
  if (profile === undefined || profile === 'lan') return { ...LAN_TIMERS };
  if (profile === 'fast') return { ...FAST_TIMERS };
  const t = { ...LAN_TIMERS, ...profile };
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`memberlist timers.${k} must be a non-negative number, got ${String(v)}`);
  }
  if (t.probeIntervalMs <= 0 || t.gossipIntervalMs <= 0 || t.probeTimeoutMs <= 0) throw new RangeError('memberlist probe/gossip intervals must be positive');
  if (t.awarenessMaxMultiplier < 1) throw new RangeError('memberlist timers.awarenessMaxMultiplier must be at least 1');
  return t;
}

/** Suspicion timeout: suspicionMult × max(1, log10(max(1, n))) × probeInterval (whole ms). */
export function suspicionTimeoutMs(suspicionMult: number, n: number, probeIntervalMs: number): number {
  const nodeScale = Math.max(1, Math.log10(Math.max(1, n)));
  return Math.floor(suspicionMult * Math.floor(nodeScale * 1000) * probeIntervalMs / 1000);
}

/** Broadcast retransmit limit: retransmitMult × ceil(log10(n + 1)). */
export function retransmitLimit(retransmitMult: number, n: number): number {
  return retransmitMult * Math.ceil(Math.log10(n + 1));
}

/** Push/pull interval scaled for large clusters (× ceil(log2(n) − 5) + 1 above 32 nodes). */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  if (n <= 32) return intervalMs;
  const mult = Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
  return intervalMs * mult;
}

/**
 * Remaining suspicion time after `confirmations` independent confirmations out of `k` expected,
 * `elapsedMs` after the timer started (memberlist's formula: max − log(c+1)/log(k+1) × (max − min),
 * never below min).
 */
export function remainingSuspicionMs(confirmations: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  const frac = Math.log(confirmations + 1) / Math.log(k + 1);
  const raw = maxMs - frac * (maxMs - minMs);
  const timeout = Math.max(minMs, Math.floor(raw));
  return timeout - elapsedMs;
}
