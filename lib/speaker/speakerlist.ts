// How the speaker uses memberlist (docs/behaviour/speaker.md#speakerlist, upstream "speakerlist"): which speaker Pods to
// join, and which members count as usable speakers for the layer 2 election.

/** Speaker Pods are listed at start and then every 5 minutes. */
export const POD_LIST_INTERVAL_MS = 5 * 60_000;
/** Recorded Pod IPs that are not members yet are joined every minute (and on any own-Node update). */
export const JOIN_INTERVAL_MS = 60_000;
/** Graceful leave timeout on shutdown. */
export const LEAVE_TIMEOUT_MS = 1_000;

/** The parts of a Pod the speaker reads to find its peers. */
export interface SpeakerPodLike {
  readonly status?: { readonly podIP?: string | null; readonly phase?: string | null } | null;
}

/** Pod IPs of the listed speaker Pods (those without an IP yet are skipped), de-duplicated. */
export function speakerPodIPs(pods: Iterable<SpeakerPodLike>): string[] {
  const ips = new Set<string>();
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (ip) ips.add(ip);
  }
  return [...ips];
}

/** Recorded Pod IPs that are not the address of any current member: the ones to join. */
export function joinTargets(podIPs: Iterable<string>, memberAddresses: Iterable<string>): string[] {
  const known = new Set(memberAddresses);
  const out: string[] = [];
  for (const ip of podIPs) if (!known.has(ip)) out.push(ip);
  return out;
}

/** The usable speakers: names of the members gossip sees alive or suspect (this node included). */
export function usableSpeakers(members: Iterable<{ readonly name: string; readonly state?: string }>): Set<string> {
  const out = new Set<string>();
  for (const m of members) if (m.state === undefined || m.state === 'alive' || m.state === 'suspect') out.add(m.name);
  return out;
}
