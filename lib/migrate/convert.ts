// Legacy config -> objects of the CRD-based API (docs/behaviour/migration.md#conversion), as upstream's `configmaptocrs`
// (v0.13.12) generated them, plus what that tool did silently, reported as warnings, and what
// MetalLB v0.13+ would refuse, reported as problems (docs/behaviour/migration.md#input: its validation aborts the run).
//
// Input is the RawConfig (values as written: addresses stay ranges, communities stay aliases,
// a field's presence is known). Callers validate it with lib/config first; the conversion
// itself only refuses what it cannot express. Pure: no I/O.

import { parsePoolEntry } from '../ip/index.js';
import { DurationError, parseGoDuration, truncateToSeconds } from '../config/duration.js';
import type { RawAddressPool, RawBGPAdvertisement, RawConfig, RawNodeSelector, RawPeer } from '../config/index.js';
import { convertName } from './names.js';

export const DEFAULT_NAMESPACE = 'metallb-system';
export const GROUP = 'metallb.io';
/** BGPPeer.spec.peerPort's maximum in upstream's CRD (kubebuilder validation on the v1beta2 type). */
export const MAX_CRD_PEER_PORT = 16384;
/** BGPAdvertisement.spec.aggregationLength's minimum in upstream's CRD. */
export const MIN_CRD_AGGREGATION_LENGTH = 1;

export interface ObjectMeta {
  readonly creationTimestamp: null;
  readonly name: string;
  readonly namespace: string;
}

export interface GeneratedObject {
  readonly apiVersion: string;
  readonly kind: Kind;
  readonly metadata: ObjectMeta;
  readonly spec: Readonly<Record<string, unknown>>;
  readonly status: Readonly<Record<string, never>>;
}

export type Kind = 'BGPPeer' | 'IPAddressPool' | 'BGPAdvertisement' | 'L2Advertisement' | 'BFDProfile' | 'Community';

/** Output order of kinds (docs/behaviour/migration.md#output); within a kind, generation order. */
export const KIND_ORDER: readonly Kind[] = ['BGPPeer', 'IPAddressPool', 'BGPAdvertisement', 'L2Advertisement', 'BFDProfile', 'Community'];

export const API_VERSION: Readonly<Record<Kind, string>> = {
  BGPPeer: `${GROUP}/v1beta2`,
  IPAddressPool: `${GROUP}/v1beta1`,
  BGPAdvertisement: `${GROUP}/v1beta1`,
  L2Advertisement: `${GROUP}/v1beta1`,
  BFDProfile: `${GROUP}/v1beta1`,
  Community: `${GROUP}/v1beta1`,
};

/** Something the conversion changed, dropped or could not express; `path` is in the legacy config. */
export interface MigrationNote {
  readonly path: string;
  readonly message: string;
}

export interface ConversionResult {
  /** In output order. Empty when there are problems. */
  readonly objects: readonly GeneratedObject[];
  /** Information the CRD objects do not carry, or carry differently. */
  readonly warnings: readonly MigrationNote[];
  /** Reasons the config cannot be migrated (the objects would be refused by the API server or by MetalLB v0.13+). */
  readonly problems: readonly MigrationNote[];
}

export interface ConversionOptions {
  /** Namespace of every generated object. Default metallb-system. */
  readonly namespace?: string;
  /**
   * When a peer has no keepalive-time, upstream writes `keepaliveTime: 0s` (its v0.13 read 0 as
   * "hold time / 3"). With this set the field is left out instead, which every release reads
   * as the default.
   */
  readonly omitZeroKeepalive?: boolean;
}

/** Go's time.Duration.String() for a whole number of seconds: 0s, 45s, 1m30s, 2m0s, 1h0m0s. */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds)) throw new RangeError(`goDuration: ${seconds} is not a whole number of seconds`);
  if (seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(seconds);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

// Go 1.17+ (every CRD-based MetalLB) refuses IPv4 octets with leading zeros, which v0.12's
// Go 1.16 read as decimal. Such addresses are rewritten, with a warning.
const DOTTED_QUAD = /(?<![0-9.])([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9])/g;

export function withoutLeadingZeros(text: string): string {
  return text.replace(DOTTED_QUAD, (whole: string, ...octets: string[]) => {
    const parts = octets.slice(0, 4);
    return parts.some((o) => o.length > 1 && o.startsWith('0')) ? parts.map((o) => String(Number(o))).join('.') : whole;
  });
}

function hasAny<T extends object>(o: T): boolean {
  return Object.keys(o).length > 0;
}

/** Legacy node selector -> metav1.LabelSelector (empty parts left out, as Go's omitempty does). */
function labelSelector(s: RawNodeSelector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const labels = s['match-labels'];
  if (labels && hasAny(labels)) out.matchLabels = { ...labels };
  const exprs = s['match-expressions'];
  if (exprs && exprs.length > 0) {
    out.matchExpressions = exprs.map((e) => {
      const r: Record<string, unknown> = { key: e.key ?? '', operator: e.operator ?? '' };
      if (e.values && e.values.length > 0) r.values = [...e.values];
      return r;
    });
  }
  return out;
}

interface Builder {
  readonly namespace: string;
  readonly options: ConversionOptions;
  readonly warnings: MigrationNote[];
  readonly problems: MigrationNote[];
  readonly byKind: Map<Kind, GeneratedObject[]>;
}

function emit(b: Builder, kind: Kind, name: string, spec: Record<string, unknown>): void {
  const list = b.byKind.get(kind) ?? [];
  list.push({ apiVersion: API_VERSION[kind], kind, metadata: { creationTimestamp: null, name, namespace: b.namespace }, spec, status: {} });
  b.byKind.set(kind, list);
}

function address(b: Builder, path: string, text: string, what: string): string {
  const fixed = withoutLeadingZeros(text);
  if (fixed !== text) b.warnings.push({ path, message: `${what} "${text}" written as "${fixed}": MetalLB v0.13+ (Go 1.17+) refuses IPv4 octets with leading zeros, which v0.12 read as decimal` });
  return fixed;
}

/** Converted names of BFD profiles and pools: legacy name -> object name. */
function convertNames(b: Builder, kind: 'address pool' | 'BFD profile', list: readonly { name?: string }[], base: string, extra: (from: string, to: string) => string): Map<string, string> {
  const out = new Map<string, string>();
  const owners = new Map<string, number>();
  list.forEach((item, i) => {
    const from = item.name ?? '';
    const path = `${base}[${i}].name`;
    const r = convertName(from);
    if (!r.ok) { b.problems.push({ path, message: `cannot make the ${kind} name a Kubernetes object name: ${r.reason}; rename it in the config first` }); return; }
    const prev = owners.get(r.name);
    if (prev !== undefined) {
      b.problems.push({ path, message: `${kind} "${from}" becomes "${r.name}", the same object name as ${base}[${prev}] ("${list[prev].name ?? ''}"); rename one of them in the config first` });
      return;
    }
    owners.set(r.name, i);
    out.set(from, r.name);
    if (r.changed) b.warnings.push({ path, message: `${kind} "${from}" is named "${r.name}" in the CRD objects${extra(from, r.name)}` });
  });
  return out;
}

/** A legacy duration, truncated to whole seconds as v0.12 did. */
function seconds(b: Builder, path: string, text: string): number {
  try {
    return truncateToSeconds(parseGoDuration(text));
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    b.problems.push({ path, message: err.message });
    return 0;
  }
}

function convertPeer(b: Builder, p: RawPeer, i: number, bfdNames: ReadonlyMap<string, string>): void {
  const path = `peers[${i}]`;
  const spec: Record<string, unknown> = {
    myASN: p['my-asn'] ?? 0,
    peerASN: p['peer-asn'] ?? 0,
    peerAddress: address(b, `${path}.peer-address`, p['peer-address'] ?? '', 'peer-address'),
    passwordSecret: {},
  };
  if (p['source-address']) spec.sourceAddress = address(b, `${path}.source-address`, p['source-address'], 'source-address');
  const port = p['peer-port'] ?? 0;
  if (port !== 0) {
    spec.peerPort = port;
    if (port > MAX_CRD_PEER_PORT) b.problems.push({ path: `${path}.peer-port`, message: `peer-port ${port} cannot be expressed: BGPPeer.spec.peerPort accepts at most ${MAX_CRD_PEER_PORT}` });
  }
  const holdSeconds = p['hold-time'] ? seconds(b, `${path}.hold-time`, p['hold-time']) : 90;
  spec.holdTime = goDuration(holdSeconds);
  if (p['keepalive-time']) {
    spec.keepaliveTime = goDuration(seconds(b, `${path}.keepalive-time`, p['keepalive-time']));
  } else if (b.options.omitZeroKeepalive) {
    // left out: every CRD-based release then uses hold time / 3, the legacy default
  } else {
    spec.keepaliveTime = '0s';
    if (holdSeconds !== 0) {
      const third = holdSeconds / 3;
      b.warnings.push({
        path: `${path}.keepalive-time`,
        message: `not set (legacy default: hold-time / 3 = ${Number.isInteger(third) ? third : third.toFixed(3)}s); written as "keepaliveTime: 0s" like upstream's converter. MetalLB v0.13 reads 0s as that default, but releases with optional timer fields take an explicit 0s literally (no keepalives); use --omit-zero-keepalive to leave the field out`,
      });
    }
  }
  if (p['router-id']) spec.routerID = address(b, `${path}.router-id`, p['router-id'], 'router-id');
  const selectors = p['node-selectors'] ?? [];
  if (selectors.length > 0) spec.nodeSelectors = selectors.map(labelSelector);
  if (p.password) spec.password = p.password;
  if (p['bfd-profile']) spec.bfdProfile = bfdNames.get(p['bfd-profile']) ?? p['bfd-profile'];
  if (p['ebgp-multihop']) spec.ebgpMultiHop = true;
  emit(b, 'BGPPeer', `peer${i + 1}`, spec);
}

interface EmittedAdvertisement {
  readonly path: string;
  readonly name: string;
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  readonly localPref: number;
}

function convertPool(b: Builder, pool: RawAddressPool, j: number, name: string, counters: { bgp: number; l2: number }): void {
  const path = `address-pools[${j}]`;
  const spec: Record<string, unknown> = {
    addresses: (pool.addresses ?? []).map((a, k) => address(b, `${path}.addresses[${k}]`, a, 'address')),
  };
  if (pool['auto-assign'] !== undefined) spec.autoAssign = pool['auto-assign'];
  if (pool['avoid-buggy-ips']) spec.avoidBuggyIPs = true;
  emit(b, 'IPAddressPool', name, spec);

  const protocol = pool.protocol ?? '';
  const ads: readonly RawBGPAdvertisement[] = pool['bgp-advertisements'] ?? [];
  if (protocol !== 'bgp' && protocol !== 'layer2') {
    b.warnings.push({ path: `${path}.protocol`, message: `protocol "${protocol}" is neither layer2 nor bgp: pool "${name}" gets no L2Advertisement or BGPAdvertisement, so its addresses are not announced` });
  }
  if (protocol !== 'bgp' && ads.length > 0) {
    b.warnings.push({ path: `${path}.bgp-advertisements`, message: `advertisements on a ${protocol ? `"${protocol}"` : 'protocol-less'} pool (legacy MetalLB refuses them) are converted to BGPAdvertisements` });
  }
  const hasIPv4 = (pool.addresses ?? []).some((text) => {
    const r = parsePoolEntry(text);
    return r.ok && r.entry.cidrs.some((c) => c.family === 4);
  });
  const emitted: EmittedAdvertisement[] = [];
  if (ads.length > 0) {
    ads.forEach((ad, k) => {
      counters.bgp += 1;
      const adName = `bgpadvertisement${counters.bgp}`;
      const s: Record<string, unknown> = {};
      const length = ad['aggregation-length'];
      if (length !== undefined && length < MIN_CRD_AGGREGATION_LENGTH) {
        const where = `${path}.bgp-advertisements[${k}].aggregation-length`;
        if (hasIPv4) b.problems.push({ path: where, message: `aggregation-length ${length} cannot be expressed: BGPAdvertisement.spec.aggregationLength must be at least ${MIN_CRD_AGGREGATION_LENGTH}` });
        else b.warnings.push({ path: where, message: `aggregation-length ${length} left out: it has no effect on a pool without IPv4 addresses, and BGPAdvertisement.spec.aggregationLength must be at least ${MIN_CRD_AGGREGATION_LENGTH}` });
      } else if (length !== undefined) {
        s.aggregationLength = length;
      }
      if (ad['aggregation-length-v6'] !== undefined) s.aggregationLengthV6 = ad['aggregation-length-v6'];
      if (ad.localpref) s.localPref = ad.localpref;
      if (ad.communities && ad.communities.length > 0) s.communities = [...ad.communities];
      s.ipAddressPools = [name];
      emit(b, 'BGPAdvertisement', adName, s);
      emitted.push({ path: `${path}.bgp-advertisements[${k}]`, name: adName, aggregationLength: ad['aggregation-length'] ?? 32, aggregationLengthV6: ad['aggregation-length-v6'] ?? 128, localPref: ad.localpref ?? 0 });
    });
  } else if (protocol === 'bgp') {
    counters.bgp += 1;
    emit(b, 'BGPAdvertisement', `bgpadvertisement${counters.bgp}`, { ipAddressPools: [name] });
  }
  if (protocol === 'layer2') {
    counters.l2 += 1;
    emit(b, 'L2Advertisement', `l2advertisement${counters.l2}`, { ipAddressPools: [name] });
  }
  localPrefConflicts(b, name, emitted);
}

/**
 * MetalLB v0.13+ refuses two advertisements of one pool, sent to the same peers and nodes (all,
 * here), with different localPref unless both their IPv4 and IPv6 aggregation lengths differ:
 * one BGP update could then need two LOCAL_PREF values. Legacy MetalLB accepted it.
 */
function localPrefConflicts(b: Builder, poolName: string, ads: readonly EmittedAdvertisement[]): void {
  for (let x = 0; x < ads.length; x++) {
    for (let y = 0; y < x; y++) {
      const a = ads[x], c = ads[y];
      if (a.localPref === c.localPref) continue;
      if (a.aggregationLength !== c.aggregationLength && a.aggregationLengthV6 !== c.aggregationLengthV6) continue;
      b.problems.push({
        path: a.path,
        message: `localpref ${a.localPref} conflicts with localpref ${c.localPref} of ${c.path} (same pool "${poolName}" and the same IPv4 or IPv6 aggregation length); MetalLB v0.13+ refuses BGPAdvertisements ${c.name} and ${a.name} together. Give them different aggregation-length and aggregation-length-v6, or one localpref`,
      });
    }
  }
}

/** Converts a legacy config (validate it with lib/config first). */
export function convertConfig(raw: RawConfig, options: ConversionOptions = {}): ConversionResult {
  const b: Builder = { namespace: options.namespace ?? DEFAULT_NAMESPACE, options, warnings: [], problems: [], byKind: new Map() };
  const pools = raw['address-pools'] ?? [];
  const bfdProfiles = raw['bfd-profiles'] ?? [];
  const peers = raw.peers ?? [];
  const annotation = 'metallb.universe.tf/address-pool';

  const bfdNames = convertNames(b, 'BFD profile', bfdProfiles, 'bfd-profiles', () => ' (peers referring to it are converted too)');
  const poolNames = convertNames(b, 'address pool', pools, 'address-pools',
    (from, to) => `; Services that ask for it with the ${annotation}: ${from} annotation must be changed to ${to}`);

  peers.forEach((p, i) => convertPeer(b, p, i, bfdNames));

  const counters = { bgp: 0, l2: 0 };
  pools.forEach((pool, j) => {
    const name = poolNames.get(pool.name ?? '');
    if (name !== undefined) convertPool(b, pool, j, name, counters);
  });
  if (pools.length > 0) {
    b.warnings.push({ path: 'address-pools', message: 'the CRD API has no pool protocol: each pool\'s protocol is expressed by the L2Advertisement or BGPAdvertisement generated for it' });
  }

  bfdProfiles.forEach((p) => {
    const name = bfdNames.get(p.name ?? '');
    if (name === undefined) return;
    const spec: Record<string, unknown> = {};
    if (p['receive-interval'] !== undefined) spec.receiveInterval = p['receive-interval'];
    if (p['transmit-interval'] !== undefined) spec.transmitInterval = p['transmit-interval'];
    if (p['detect-multiplier'] !== undefined) spec.detectMultiplier = p['detect-multiplier'];
    if (p['echo-interval'] !== undefined) spec.echoInterval = p['echo-interval'];
    spec.echoMode = p['echo-mode'] ?? false;
    spec.passiveMode = p['passive-mode'] ?? false;
    if (p['minimum-ttl'] !== undefined) spec.minimumTtl = p['minimum-ttl'];
    emit(b, 'BFDProfile', name, spec);
  });

  const aliases = Object.entries(raw['bgp-communities'] ?? {});
  if (aliases.length > 0) {
    aliases.sort(([a], [c]) => Buffer.compare(Buffer.from(a), Buffer.from(c)));
    emit(b, 'Community', 'communities', { communities: aliases.map(([name, value]) => ({ name, value })) });
  }

  if (b.problems.length > 0) return { objects: [], warnings: b.warnings, problems: b.problems };
  return { objects: KIND_ORDER.flatMap((k) => b.byKind.get(k) ?? []), warnings: b.warnings, problems: [] };
}
