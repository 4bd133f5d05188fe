// `metallbctl status`: the live state of the whole system, assembled from a ClusterSnapshot
// (lib/cli/cluster.ts) — only what the controller and the speakers publish. Pure.
//
//   config     the ConfigMap's content (digest), whether it is in force (the controller's
//              ConfigLoaded Event names the digest it adopted), or refused and why since when
//              (its InvalidConfig / ConfigNotCompatible Warning), and which speakers report a
//              stale config (metallb_k8s_client_config_stale_bool)
//   services   per LoadBalancer Service of ours: addresses, pool, protocol, the announcing nodes
//              (metallb_speaker_announced), for BGP the peers holding the route (the announcing
//              node's sessions that are up and carry its prefixes), or why there is none
//   speakers   per speaker Pod: memberlist members it sees, BGP sessions, config state

import { parseIP } from '../ip/index.js';
import { parseConfig, refusals, type Config, type Protocol } from '../config/index.js';
import { configDigest } from '../config/digest.js';
import { nodeExcluded, serviceOwnership } from '../k8s/ownership.js';
import { statusIPs } from '../k8s/service-status.js';
import { parseMetricsText, samplesOf } from '../metrics/text-format.js';
import { poolForIPs } from '../speaker/pools.js';
import type { ClusterSnapshot, EventLite } from './cluster.js';

export interface ConfigStatus {
  readonly configMap: string;
  readonly present: boolean;
  /** Digest of the ConfigMap's current content. */
  readonly digest?: string;
  /** in-force: the controller adopted this content; refused: it refused it; pending: no verdict yet. */
  readonly state: 'in-force' | 'refused' | 'pending' | 'absent';
  /** The content the controller last adopted (its ConfigLoaded Event), and when. */
  readonly inForce?: { readonly digest: string; readonly since?: string; readonly summary: string };
  readonly refused?: { readonly reason: string; readonly kind: string; readonly since?: string; readonly count: number };
  /** Speakers that report a stale config (their newest ConfigMap content is not in force). */
  readonly staleSpeakers: readonly string[];
  readonly pools: readonly { readonly name: string; readonly protocol: Protocol }[];
}

export interface BGPSessionStatus {
  readonly peer: string;
  readonly up: boolean;
  readonly announcedPrefixes: number;
  readonly pendingPrefixes: number;
}

export interface SpeakerStatus {
  readonly node: string;
  readonly pod: string;
  readonly reachable: boolean;
  readonly error?: string;
  readonly configLoaded?: boolean;
  readonly configStale?: boolean;
  /** The node carries the exclusion label (and, when known, the speaker honours it). */
  readonly excluded: boolean;
  readonly members: readonly string[];
  readonly sessions: readonly BGPSessionStatus[];
}

export interface ServiceStatus {
  readonly service: string;
  readonly addresses: readonly string[];
  readonly pool?: string;
  readonly protocol?: Protocol;
  /** Nodes announcing the Service (layer 2: one owner; BGP: every node with a route). */
  readonly announcedBy: readonly string[];
  /** BGP: "node -> peer" pairs whose session is up and carries the node's prefixes. */
  readonly peers: readonly string[];
  readonly ok: boolean;
  /** Why it has no address, or why nobody announces it. */
  readonly reason?: string;
}

export interface StatusReport {
  readonly config: ConfigStatus;
  readonly services: readonly ServiceStatus[];
  readonly speakers: readonly SpeakerStatus[];
  /** One line per problem found (exit 1 when any). */
  readonly problems: readonly string[];
}

const time = (e: EventLite): string => e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? '';

function latest(events: readonly EventLite[], pred: (e: EventLite) => boolean): EventLite | undefined {
  let best: EventLite | undefined;
  for (const e of events) if (pred(e) && (best === undefined || time(e) >= time(best))) best = e;
  return best;
}

const DIGEST_IN_MESSAGE = /configuration (sha256:[0-9a-f]{12}) in force: (.*)$/;

function configStatus(s: ClusterSnapshot, speakers: readonly SpeakerStatus[]): { status: ConfigStatus; config: Config | undefined } {
  const key = `${s.namespace}/${s.configMapName}`;
  const onCM = s.events.filter((e) => e.involvedObject?.kind === 'ConfigMap' && e.involvedObject.name === s.configMapName && e.source?.component === 'metallb-controller');
  const loaded = latest(onCM, (e) => e.reason === 'ConfigLoaded');
  const refusal = latest(onCM, (e) => e.reason === 'InvalidConfig' || e.reason === 'ConfigNotCompatible');
  const m = loaded ? DIGEST_IN_MESSAGE.exec(loaded.message ?? '') : null;
  const inForce = m && loaded ? { digest: m[1], since: loaded.lastTimestamp ?? undefined, summary: m[2] } : undefined;
  const staleSpeakers = speakers.filter((sp) => sp.configStale).map((sp) => sp.node);
  if (!s.configMap) {
    return { status: { configMap: key, present: false, state: 'absent', ...(inForce ? { inForce } : {}), staleSpeakers, pools: [] }, config: undefined };
  }
  const text = s.configMap.data?.config ?? '';
  const digest = configDigest(text);
  const parsed = parseConfig(text);
  const config = refusals(parsed, 'controller').length === 0 ? parsed.config : undefined;
  const pools = (config?.pools ?? []).map((p) => ({ name: p.name, protocol: p.protocol }));
  let state: ConfigStatus['state'];
  if (inForce?.digest === digest) state = 'in-force';
  else if (refusal && (!loaded || time(refusal) >= time(loaded))) state = 'refused';
  else state = 'pending';
  const refused = state === 'refused' && refusal
    ? { reason: (refusal.message ?? '').replace(/^configuration refused, previous configuration stays in force: /, ''), kind: refusal.reason ?? '', since: refusal.firstTimestamp ?? undefined, count: refusal.count ?? 1 }
    : undefined;
  return { status: { configMap: key, present: true, digest, state, ...(inForce ? { inForce } : {}), ...(refused ? { refused } : {}), staleSpeakers, pools }, config };
}

function speakerStatuses(s: ClusterSnapshot): { speakers: SpeakerStatus[]; announced: Map<string, { node: string; protocol: string; ip: string }[]> } {
  const excludedNodes = new Set(s.nodes.filter((n) => nodeExcluded(n.metadata?.labels)).map((n) => n.metadata?.name ?? ''));
  const announced = new Map<string, { node: string; protocol: string; ip: string }[]>();
  const speakers: SpeakerStatus[] = [];
  for (const sc of [...s.scrapes].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))) {
    if (sc.metrics === undefined) {
      speakers.push({ node: sc.node, pod: sc.pod, reachable: false, error: sc.error, excluded: excludedNodes.has(sc.node), members: [], sessions: [] });
      continue;
    }
    const m = parseMetricsText(sc.metrics);
    const one = (name: string): number | undefined => samplesOf(m, name)[0]?.value;
    for (const a of samplesOf(m, 'metallb_speaker_announced')) {
      if (a.value !== 1) continue;
      const svc = a.labels.service ?? '';
      const list = announced.get(svc) ?? [];
      list.push({ node: a.labels.node ?? sc.node, protocol: a.labels.protocol ?? '', ip: a.labels.ip ?? '' });
      announced.set(svc, list);
    }
    const byPeer = (name: string): Map<string, number> => new Map(samplesOf(m, name).map((x) => [x.labels.peer ?? '', x.value]));
    const up = byPeer('metallb_bgp_session_up');
    const ann = byPeer('metallb_bgp_announced_prefixes_total');
    const pend = byPeer('metallb_bgp_pending_prefixes_total');
    const excludedMetric = one('metallb_speaker_node_excluded_bool');
    speakers.push({
      node: sc.node,
      pod: sc.pod,
      reachable: true,
      configLoaded: one('metallb_k8s_client_config_loaded_bool') === 1,
      configStale: one('metallb_k8s_client_config_stale_bool') === 1,
      excluded: excludedMetric === undefined ? excludedNodes.has(sc.node) : excludedMetric === 1,
      members: samplesOf(m, 'metallb_speaker_memberlist_members').filter((x) => x.value === 1).map((x) => x.labels.member ?? '').sort(),
      sessions: [...up.keys()].sort().map((peer) => ({ peer, up: up.get(peer) === 1, announcedPrefixes: ann.get(peer) ?? 0, pendingPrefixes: pend.get(peer) ?? 0 })),
    });
  }
  return { speakers, announced };
}

export function buildStatus(s: ClusterSnapshot, lbClass = ''): StatusReport {
  const { speakers, announced } = speakerStatuses(s);
  const { status: config, config: parsedConfig } = configStatus(s, speakers);
  const problems: string[] = [];
  if (config.state === 'refused' && config.refused) problems.push(`config ${config.configMap} refused (${config.refused.kind}): ${config.refused.reason}`);
  if (config.state === 'absent') problems.push(`config ${config.configMap} does not exist`);
  for (const n of config.staleSpeakers) problems.push(`speaker on ${n} reports a stale config`);
  for (const sp of speakers) {
    if (!sp.reachable) problems.push(`speaker ${sp.pod} on ${sp.node}: ${sp.error ?? 'metrics unreadable'}`);
    for (const ses of sp.sessions) if (!ses.up) problems.push(`speaker on ${sp.node}: BGP session to ${ses.peer} is down`);
  }
  if (s.speakerPods.length === 0) problems.push('no speaker Pods found');
  const sessionsOf = new Map(speakers.map((sp) => [sp.node, sp.sessions]));
  const serviceEvents = (key: string): EventLite[] => s.events.filter((e) => e.involvedObject?.kind === 'Service' && `${e.involvedObject.namespace}/${e.involvedObject.name}` === key);
  const services: ServiceStatus[] = [];
  for (const svc of s.services) {
    if (!serviceOwnership(svc, lbClass).ours) continue;
    const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const addresses = statusIPs(svc);
    const ips = addresses.map((a) => parseIP(a)).filter((ip) => ip !== undefined);
    const pool = parsedConfig && ips.length > 0 ? poolForIPs(parsedConfig, ips) : undefined;
    const ann = announced.get(key) ?? [];
    const announcedBy = [...new Set(ann.map((a) => a.node))].sort();
    const protocol = (ann[0]?.protocol as Protocol | undefined) ?? pool?.protocol;
    const peers: string[] = [];
    if (protocol === 'bgp') {
      for (const node of announcedBy) for (const ses of sessionsOf.get(node) ?? []) if (ses.up && ses.announcedPrefixes > 0) peers.push(`${node} -> ${ses.peer}`);
    }
    let reason: string | undefined;
    if (addresses.length === 0) {
      const failure = latest(serviceEvents(key), (e) => e.type === 'Warning' && e.source?.component === 'metallb-controller');
      reason = failure ? `${failure.reason}: ${failure.message}` : 'no address assigned yet';
    } else if (announcedBy.length === 0) {
      reason = speakers.length === 0 ? 'no speaker metrics read' : 'no speaker announces it (no ready endpoint, no speaker on a node with one, or excluded nodes)';
    } else if (protocol === 'bgp' && peers.length === 0) {
      reason = 'announced, but no BGP peer holds the route (sessions down?)';
    }
    if (reason) problems.push(`${key}: ${reason}`);
    services.push({ service: key, addresses, ...(pool ? { pool: pool.name } : {}), ...(protocol ? { protocol } : {}), announcedBy, peers, ok: reason === undefined, ...(reason ? { reason } : {}) });
  }
  services.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return { config, services, speakers, problems };
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
}

export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  const c = r.config;
  out.push(`Config ${c.configMap}: ${c.state}${c.digest ? ` (${c.digest})` : ''}`);
  if (c.inForce) out.push(`  in force: ${c.inForce.digest}${c.inForce.since ? ` since ${c.inForce.since}` : ''}, ${c.inForce.summary}`);
  if (c.refused) out.push(`  latest refused${c.refused.since ? ` since ${c.refused.since}` : ''} (${c.refused.kind}, ${c.refused.count}x): ${c.refused.reason}`);
  if (c.staleSpeakers.length) out.push(`  stale on speakers: ${c.staleSpeakers.join(', ')}`);
  out.push('');
  out.push(`Services (${r.services.length}):`);
  if (r.services.length) {
    out.push(...table([
      ['SERVICE', 'ADDRESSES', 'POOL', 'PROTOCOL', 'ANNOUNCED BY', 'PEERS', 'NOTE'],
      ...r.services.map((s) => [s.service, s.addresses.join(',') || '-', s.pool ?? '-', s.protocol ?? '-', s.announcedBy.join(',') || '-', s.peers.join(', ') || '-', s.reason ?? '']),
    ]).map((l) => `  ${l}`));
  }
  out.push('');
  out.push(`Speakers (${r.speakers.length}):`);
  if (r.speakers.length) {
    out.push(...table([
      ['NODE', 'POD', 'CONFIG', 'MEMBERS', 'BGP SESSIONS'],
      ...r.speakers.map((s) => [
        s.node + (s.excluded ? ' (excluded)' : ''),
        s.pod,
        !s.reachable ? 'unreachable' : s.configStale ? 'stale' : s.configLoaded ? 'loaded' : 'none',
        s.reachable ? s.members.join(',') || '-' : '?',
        s.reachable ? s.sessions.map((x) => `${x.peer} ${x.up ? `up (${x.announcedPrefixes} prefixes)` : 'DOWN'}`).join(', ') || '-' : (s.error ?? ''),
      ]),
    ]).map((l) => `  ${l}`));
  }
  out.push('');
  out.push(r.problems.length ? `Problems (${r.problems.length}):\n${r.problems.map((p) => `  ${p}`).join('\n')}` : 'No problems found.');
  return `${out.join('\n')}\n`;
}
