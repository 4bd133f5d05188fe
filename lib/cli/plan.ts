// `metallbctl plan`: what the controller and the speakers would do under a new config, computed
// with their own code: lib/controller's reconcileService over lib/allocator (the controller's
// per-Service decision and its refusal of a config that strands an address) and lib/speaker's
// layer 2 election (layer2Candidates + electionWinner). Pure: the command reads the inputs.

import { Allocator, serviceRequest } from '../allocator/index.js';
import { parseIP, type IPAddress } from '../ip/index.js';
import type { Config, Protocol } from '../config/types.js';
import { reconcileService } from '../controller/reconcile.js';
import { serviceOwnership } from '../k8s/ownership.js';
import { statusIPs, type Service } from '../k8s/service-status.js';
import { isLocalPolicy, layer2Candidates } from '../speaker/decide.js';
import { electionKeyForIPs, electionWinner } from '../speaker/election.js';
import type { EndpointReadiness } from '../speaker/endpoints.js';
import { poolForIPs } from '../speaker/pools.js';

export interface PlanInput {
  /** The new config (valid: the caller reports invalid ones). */
  readonly config: Config;
  /** The config in force, when known (--from-cluster, --current): its assignments are replayed first. */
  readonly current?: Config;
  readonly services: readonly Service[];
  /** --lb-class of the installation ('' = Services without a class). */
  readonly lbClass?: string;
  /**
   * The nodes whose speakers would take part in layer 2 elections (memberlist members), the
   * excluded ones already removed; undefined when unknown (no owner is computed then).
   */
  readonly speakerNodes?: readonly string[];
  /** Per Service key, the endpoints' readiness (from EndpointSlices); undefined when unknown. */
  readonly endpoints?: ReadonlyMap<string, EndpointReadiness>;
}

export type Change = 'same' | 'new' | 'changed' | 'none' | 'stranded';

export interface PlanEntry {
  readonly service: string;
  /** The addresses under the new config (empty when none). */
  readonly addresses: readonly string[];
  /** The pool of those addresses; null when none. */
  readonly pool: string | null;
  readonly protocol?: Protocol;
  /** The addresses in the Service's status now. */
  readonly current: readonly string[];
  readonly change: Change;
  /** Why it has no address (or, when stranded, why the config is refused). */
  readonly reason?: string;
  /** Layer 2: the node that would announce (null: none would); undefined when not computed. */
  readonly announcer?: string | null;
  /** Why no announcer is given. */
  readonly announcerNote?: string;
}

export interface PlanResult {
  /** The controller would refuse the config (a Service holds an address outside every new pool). */
  readonly refused: boolean;
  readonly refusal?: string;
  /** Keys of the Services that strand the config. */
  readonly stranded: readonly string[];
  /** One entry per Service of ours, sorted by key. */
  readonly services: readonly PlanEntry[];
  /** Services left out because they are not ours (other class, not LoadBalancer): count only. */
  readonly skipped: number;
}

const keyOf = (s: Service): string => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

function parsed(texts: readonly string[]): IPAddress[] {
  const out: IPAddress[] = [];
  for (const t of texts) {
    const ip = parseIP(t);
    if (ip) out.push(ip);
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export function plan(input: PlanInput): PlanResult {
  const lbClass = input.lbClass ?? '';
  const ours = input.services.filter((s) => serviceOwnership(s, lbClass).ours).sort((x, y) => (keyOf(x) < keyOf(y) ? -1 : keyOf(x) > keyOf(y) ? 1 : 0));
  const skipped = input.services.length - ours.length;

  // 1. Would the controller refuse the config? Its own check: replay the current assignments,
  //    then setConfig(new) (docs/behaviour/allocation.md#configuration-changes). Without the current config, an assignment strands when no
  //    single pool of the new config holds all its addresses (the same rule, by the speaker's
  //    pool lookup).
  let refusal: string | undefined;
  let stranded: string[] = [];
  if (input.current) {
    const a = new Allocator();
    a.setConfig(input.current);
    for (const s of ours) {
      const ips = parsed(statusIPs(s));
      if (ips.length > 0) a.assign(keyOf(s), serviceRequest(s), ips);
    }
    const verdict = a.setConfig(input.config);
    if (!verdict.ok) {
      refusal = verdict.message;
      stranded = verdict.conflicts.map((c) => c.service);
    }
  } else {
    for (const s of ours) {
      const ips = parsed(statusIPs(s));
      if (ips.length > 0 && !poolForIPs(input.config, ips)) stranded.push(keyOf(s));
    }
    if (stranded.length > 0) {
      const first = ours.find((s) => keyOf(s) === stranded[0]);
      refusal = `new config not compatible with assigned IPs: service "${stranded[0]}" cannot own ${JSON.stringify(statusIPs(first as Service))} under new config`;
    }
  }
  const strandedSet = new Set(stranded);

  // 2. What each Service gets once the config is in force: the controller's reconcile, in the
  //    order its cache hands them out (sorted keys), after every held address is re-asserted.
  const alloc = new Allocator();
  alloc.setConfig(input.config);
  for (const s of ours) {
    if (strandedSet.has(keyOf(s))) continue;
    const ips = parsed(statusIPs(s));
    if (ips.length > 0) alloc.assign(keyOf(s), serviceRequest(s), ips);
  }
  const entries: PlanEntry[] = [];
  for (const s of ours) {
    const key = keyOf(s);
    const current = statusIPs(s);
    if (strandedSet.has(key)) {
      entries.push({
        service: key, addresses: [], pool: null, current, change: 'stranded',
        reason: `holds ${current.join(', ')}, which no pool of the new config contains: the controller refuses the config`,
      });
      continue;
    }
    const d = reconcileService(key, s, alloc, { synced: true, lbClass });
    const addresses = d.ingressIPs ?? current;
    const failure = d.events.find((e) => e.type === 'Warning');
    const pool = addresses.length > 0 ? alloc.poolOf(key) ?? d.pool : undefined;
    const poolObj = pool ? input.config.pools.find((p) => p.name === pool) : undefined;
    const change: Change = addresses.length === 0 ? 'none' : current.length === 0 ? 'new' : sameList(addresses, current) ? 'same' : 'changed';
    const entry: { -readonly [K in keyof PlanEntry]: PlanEntry[K] } = { service: key, addresses, pool: pool ?? null, current, change };
    if (poolObj) entry.protocol = poolObj.protocol;
    if (addresses.length === 0) entry.reason = failure?.message ?? 'no address';
    if (poolObj?.protocol === 'layer2' && addresses.length > 0) Object.assign(entry, layer2Owner(input, s, key, addresses));
    entries.push(entry);
  }
  return { refused: refusal !== undefined, ...(refusal ? { refusal } : {}), stranded, services: entries, skipped };
}

/** The speaker's election for the Service's addresses, given the speakers and endpoints known. */
function layer2Owner(input: PlanInput, s: Service, key: string, addresses: readonly string[]): { announcer?: string | null; announcerNote?: string } {
  if (input.speakerNodes === undefined) return { announcerNote: 'speakers unknown (give --nodes, or use --from-cluster)' };
  const local = isLocalPolicy(s);
  const endpoints = input.endpoints?.get(key);
  if (input.endpoints === undefined && local) return { announcerNote: 'externalTrafficPolicy Local: depends on endpoints (use --from-cluster)' };
  if (endpoints !== undefined && !endpoints.anyReady) return { announcer: null, announcerNote: 'no ready endpoint' };
  if (input.endpoints !== undefined && endpoints === undefined) return { announcer: null, announcerNote: 'no endpoints' };
  const none: EndpointReadiness = { source: 'slices', anyReady: true, anyHealthy: true, readyNodes: new Set(), healthyNodes: new Set() };
  const candidates = [...layer2Candidates(local, endpoints ?? none, new Set(input.speakerNodes), 'readyNodes')];
  const winner = electionWinner(candidates, electionKeyForIPs(parsed(addresses)));
  return winner === undefined ? { announcer: null, announcerNote: local ? 'no speaker on a node with a ready endpoint' : 'no speaker' } : { announcer: winner };
}
