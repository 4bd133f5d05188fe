// Endpoint readiness as the speaker sees it, from either legacy Endpoints or
// discovery.k8s.io/v1 EndpointSlices, reduced once per change to the four facts the
// announcement rules need (so per-Service decisions never walk endpoint lists).
//
// Upstream rules reproduced here (docs/behaviour/speaker.md#watches, docs/behaviour/layer2.md#owner, docs/behaviour/bgp.md#which-nodes):
//  - Endpoints: `subsets[].addresses` are ready, `subsets[].notReadyAddresses` are not; an
//    address's node is `nodeName`.
//  - EndpointSlices: an endpoint is ready unless `conditions.ready` is explicitly false. Its node
//    is `nodeName` (v1); when that is absent, the `kubernetes.io/hostname` entry of
//    `deprecatedTopology` (v1) or `topology` (v1beta1, which upstream v0.12 read).
//  - Layer 2 looks at endpoints as listed: a node hosts a ready endpoint if any ready entry names
//    it. BGP looks at endpoint IPs: an IP is healthy if some entry lists it ready and no entry
//    lists it not ready (not-ready wins). For `externalTrafficPolicy: Local` only entries on the
//    node in question count — for slices both the ready and the not-ready ones; for Endpoints only
//    the ready ones (a not-ready listing anywhere still vetoes the IP), exactly as upstream.

/** The parts of a core/v1 Endpoints object the speaker reads. */
export interface EndpointsLike {
  readonly subsets?: readonly EndpointSubsetLike[] | null;
}
export interface EndpointSubsetLike {
  readonly addresses?: readonly EndpointAddressLike[] | null;
  readonly notReadyAddresses?: readonly EndpointAddressLike[] | null;
}
export interface EndpointAddressLike {
  readonly ip: string;
  readonly nodeName?: string | null;
}

/** The parts of a discovery.k8s.io EndpointSlice (v1, or v1beta1) the speaker reads. */
export interface EndpointSliceLike {
  readonly endpoints?: readonly EndpointSliceEndpointLike[] | null;
}
export interface EndpointSliceEndpointLike {
  readonly addresses?: readonly string[] | null;
  readonly conditions?: { readonly ready?: boolean | null } | null;
  readonly nodeName?: string | null;
  readonly deprecatedTopology?: Readonly<Record<string, string>> | null;
  readonly topology?: Readonly<Record<string, string>> | null;
}

export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** One endpoint listing, whichever API it came from. */
export interface EndpointEntry {
  readonly addresses: readonly string[];
  /** Node hosting the endpoint; undefined when the object does not say. */
  readonly node: string | undefined;
  readonly ready: boolean;
}

export type EndpointSource = 'endpoints' | 'slices';

/** What the announcement rules need to know about a Service's endpoints. */
export interface EndpointReadiness {
  readonly source: EndpointSource;
  /** Some endpoint is ready (layer 2: without this nobody announces). */
  readonly anyReady: boolean;
  /** Nodes named by at least one ready endpoint (layer 2 `Local` candidates). */
  readonly readyNodes: ReadonlySet<string>;
  /** Some endpoint IP is healthy: listed ready and never not-ready (BGP `Cluster`). */
  readonly anyHealthy: boolean;
  /** Nodes for which upstream's node-filtered check finds a healthy IP (BGP `Local`). */
  readonly healthyNodes: ReadonlySet<string>;
}

function nonEmpty(s: string | null | undefined): string | undefined {
  return s === null || s === undefined || s === '' ? undefined : s;
}

/** Flattens an Endpoints object into entries (one per listed address). */
export function entriesFromEndpoints(eps: EndpointsLike): EndpointEntry[] {
  const out: EndpointEntry[] = [];
  for (const subset of eps.subsets ?? []) {
    for (const a of subset.addresses ?? []) out.push({ addresses: [a.ip], node: nonEmpty(a.nodeName), ready: true });
    for (const a of subset.notReadyAddresses ?? []) out.push({ addresses: [a.ip], node: nonEmpty(a.nodeName), ready: false });
  }
  return out;
}

/** The node an EndpointSlice endpoint runs on: `nodeName`, else the hostname topology entry. */
export function sliceEndpointNode(ep: EndpointSliceEndpointLike): string | undefined {
  return nonEmpty(ep.nodeName) ?? nonEmpty(ep.deprecatedTopology?.[HOSTNAME_LABEL]) ?? nonEmpty(ep.topology?.[HOSTNAME_LABEL]);
}

/** Flattens all slices of one Service into entries (one per slice endpoint). */
export function entriesFromSlices(slices: readonly EndpointSliceLike[]): EndpointEntry[] {
  const out: EndpointEntry[] = [];
  for (const slice of slices) {
    for (const ep of slice.endpoints ?? []) {
      out.push({ addresses: ep.addresses ?? [], node: sliceEndpointNode(ep), ready: ep.conditions?.ready !== false });
    }
  }
  return out;
}

/** Reduces endpoint entries to the readiness facts (linear in the number of entries). */
export function summarizeEntries(source: EndpointSource, entries: readonly EndpointEntry[]): EndpointReadiness {
  let anyReady = false;
  const readyNodes = new Set<string>();
  const readyIPs = new Set<string>();
  const notReadyIPs = new Set<string>();
  // not-ready IPs per node (slices filter them by node; Endpoints veto from anywhere)
  const notReadyOnNode = new Map<string, Set<string>>();
  for (const e of entries) {
    if (e.ready) {
      anyReady = true;
      if (e.node !== undefined) readyNodes.add(e.node);
      for (const ip of e.addresses) readyIPs.add(ip);
    } else {
      for (const ip of e.addresses) notReadyIPs.add(ip);
      if (e.node !== undefined) {
        let set = notReadyOnNode.get(e.node);
        if (!set) notReadyOnNode.set(e.node, (set = new Set()));
        for (const ip of e.addresses) set.add(ip);
      }
    }
  }
  let anyHealthy = false;
  for (const ip of readyIPs) {
    if (!notReadyIPs.has(ip)) {
      anyHealthy = true;
      break;
    }
  }
  const healthyNodes = new Set<string>();
  for (const e of entries) {
    if (!e.ready || e.node === undefined || healthyNodes.has(e.node)) continue;
    const veto = source === 'endpoints' ? notReadyIPs : notReadyOnNode.get(e.node);
    if (e.addresses.some((ip) => !veto?.has(ip))) healthyNodes.add(e.node);
  }
  return { source, anyReady, readyNodes, anyHealthy, healthyNodes };
}

/** Readiness from a legacy Endpoints object. */
export function readinessFromEndpoints(eps: EndpointsLike): EndpointReadiness {
  return summarizeEntries('endpoints', entriesFromEndpoints(eps));
}

/**
 * Readiness from all EndpointSlices of one Service. Upstream treats a Service without any slice
 * like one without an Endpoints object (as deleted): callers pass `undefined` readiness then.
 */
export function readinessFromSlices(slices: readonly EndpointSliceLike[]): EndpointReadiness {
  return summarizeEntries('slices', entriesFromSlices(slices));
}

/** Label on an EndpointSlice naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/**
 * The `namespace/name` key of the Service an EndpointSlice belongs to (so a slice change, a
 * deletion included, re-decides its Service; upstream enqueued the slice's own name on
 * deletion). undefined when the slice carries no service-name label.
 */
export function serviceKeyOfSlice(slice: { readonly metadata?: { readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> | null } | null }): string | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (!name) return undefined;
  return `${slice.metadata?.namespace ?? ''}/${name}`;
}

/**
 * Which API the speaker reads endpoints from (docs/behaviour/speaker.md#watches, docs/behaviour/manifests.md#current-kubernetes). Upstream v0.10–v0.12 used
 * discovery.k8s.io/v1beta1 slices when that group was served and the slice of the
 * `default/kubernetes` Service was readable, Endpoints otherwise or with --disable-epslices.
 * v1beta1 is gone since Kubernetes 1.25, so the same test is made against discovery.k8s.io/v1.
 */
export function chooseEndpointSource(opts: {
  readonly disableEndpointSlices: boolean;
  readonly sliceAPIServed: boolean;
  readonly kubernetesSliceReadable: boolean;
}): EndpointSource {
  return !opts.disableEndpointSlices && opts.sliceAPIServed && opts.kubernetesSliceReadable ? 'slices' : 'endpoints';
}

interface SliceObject extends EndpointSliceLike {
  readonly metadata?: { readonly namespace?: string; readonly name?: string; readonly labels?: Readonly<Record<string, string>> | null } | null;
}

/**
 * The EndpointSlices of every Service, so one slice event yields the readiness of its Service
 * from that Service's slices only. Slices are identified by `namespace/name`; a slice whose
 * service-name label changes moves between Services (both are reported).
 */
export class EndpointSliceIndex {
  private readonly slicesByService = new Map<string, Map<string, EndpointSliceLike>>();
  private readonly serviceBySlice = new Map<string, string>();

  /** A slice was added or updated: the affected Services with their new readiness (undefined: no slice left). */
  upsert(slice: SliceObject): { serviceKey: string; readiness: EndpointReadiness | undefined }[] {
    const id = `${slice.metadata?.namespace ?? ''}/${slice.metadata?.name ?? ''}`;
    const out: { serviceKey: string; readiness: EndpointReadiness | undefined }[] = [];
    const before = this.serviceBySlice.get(id);
    const after = serviceKeyOfSlice(slice);
    if (before !== undefined && before !== after) {
      this.removeFrom(before, id);
      out.push({ serviceKey: before, readiness: this.readiness(before) });
    }
    if (after !== undefined) {
      let m = this.slicesByService.get(after);
      if (!m) this.slicesByService.set(after, (m = new Map()));
      m.set(id, slice);
      this.serviceBySlice.set(id, after);
      out.push({ serviceKey: after, readiness: this.readiness(after) });
    } else {
      this.serviceBySlice.delete(id);
    }
    return out;
  }

  /** A slice was deleted: its Service's new readiness (undefined when it has no slice left). */
  delete(slice: SliceObject): { serviceKey: string; readiness: EndpointReadiness | undefined }[] {
    const id = `${slice.metadata?.namespace ?? ''}/${slice.metadata?.name ?? ''}`;
    const service = this.serviceBySlice.get(id) ?? serviceKeyOfSlice(slice);
    if (service === undefined) return [];
    this.removeFrom(service, id);
    this.serviceBySlice.delete(id);
    return [{ serviceKey: service, readiness: this.readiness(service) }];
  }

  /** Readiness of a Service from its slices; undefined when it has none (treated as deleted). */
  readiness(serviceKey: string): EndpointReadiness | undefined {
    const m = this.slicesByService.get(serviceKey);
    return m && m.size > 0 ? readinessFromSlices([...m.values()]) : undefined;
  }

  private removeFrom(serviceKey: string, id: string): void {
    const m = this.slicesByService.get(serviceKey);
    if (!m) return;
    m.delete(id);
    if (m.size === 0) this.slicesByService.delete(serviceKey);
  }
}
