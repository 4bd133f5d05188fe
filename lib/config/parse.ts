// The legacy config parser: text -> RawConfig (as written) -> validated, defaulted Config.
//
// Checks follow upstream v0.12's order (docs/behaviour/config.md#check-order), but every problem is collected rather
// than stopping at the first. Each problem says who refuses the config because of it (the
// shared parser used by the controller and every speaker, the native- or FRR-mode speaker
// validator of docs/behaviour/config.md#mode-validation, or this project where it refuses a silent quirk (docs/behaviour/quirks.md)).

import { CIDR, IPAddress, parseIP, parsePoolEntry, type PoolEntry } from '../ip/index.js';
import { DurationError, parseGoDuration, truncateToSeconds } from './duration.js';
import { labelKeyProblem, labelValueProblem } from './labels.js';
import { checkShape, joinPath } from './shape.js';
import type {
  AddressPool, BFDProfile, BGPAdvertisement, Config, MatchExpression, NodeSelector, Peer, Problem,
  Protocol, RawAddressPool, RawBFDProfile, RawBGPAdvertisement, RawConfig, RawMatchExpression,
  RawNodeSelector, RawPeer, Refuser, SelectorOperator,
} from './types.js';
import { PlainScalar, YAMLSyntaxError, decodeStrict, scalarText, toTyped, type RawNode, type TypedNode } from './yaml11.js';

/** A ConfigMap holds at most 1 MiB; larger input is refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ParseResult {
  /** The config as written, when the document decoded and had the right shape. */
  readonly raw?: RawConfig;
  /** The validated config, when neither the shared parser nor a recommendation refuses it. */
  readonly config?: Config;
  /** Every problem found, in check order. */
  readonly problems: readonly Problem[];
}

export type Component = 'controller' | 'native-speaker' | 'frr-speaker';

/** The problems that make `component` refuse the config. */
export function refusals(result: ParseResult, component: Component): Problem[] {
  return result.problems.filter((p) => p.refusedBy === 'all' || p.refusedBy === 'recommended' || p.refusedBy === component);
}

/** Formats a problem as `path: message`. */
export function formatProblem(p: Problem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

// ---------------------------------------------------------------- entry point

export function parseConfig(text: string): ParseResult {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CONFIG_BYTES) {
    return { problems: [{ path: '', refusedBy: 'all', message: `config is ${bytes} bytes; a ConfigMap holds at most ${MAX_CONFIG_BYTES} bytes` }] };
  }
  let rawTree: RawNode;
  let typed: TypedNode;
  try {
    rawTree = decodeStrict(text);
    typed = toTyped(rawTree);
  } catch (err) {
    if (err instanceof YAMLSyntaxError) return { problems: [{ path: '', refusedBy: 'all', message: err.message }] };
    throw err;
  }
  if (rawTree === null) rawTree = {};
  if (typed === null) typed = {};
  if (typeof rawTree !== 'object' || Array.isArray(rawTree) || rawTree instanceof PlainScalar) {
    return { problems: [{ path: '', refusedBy: 'all', message: `the config must be a YAML mapping (with peers, bgp-communities, address-pools, bfd-profiles), got ${Array.isArray(rawTree) ? 'a list' : 'a scalar'}` }] };
  }
  const shape = checkShape(typed, rawTree);
  const shapePaths = shape.map((p) => p.path);
  const raw = buildRaw(rawTree as RawObject, typed as TypedObject, shapePaths);
  const ctx = new Checker(shapePaths);
  for (const p of shape) ctx.problems.push({ ...p, refusedBy: 'all' });
  modeValidators(raw, ctx);
  const config = buildConfig(raw, ctx);
  const blocking = ctx.problems.some((p) => p.refusedBy === 'all' || p.refusedBy === 'recommended');
  return { raw, config: blocking ? undefined : deepFreeze(config), problems: ctx.problems };
}

// ---------------------------------------------------------------- raw tree -> RawConfig

type RawObject = { [key: string]: RawNode };
type TypedObject = { [key: string]: TypedNode };

function isObj(n: RawNode | undefined): n is RawObject {
  return n !== null && n !== undefined && typeof n === 'object' && !Array.isArray(n) && !(n instanceof PlainScalar);
}

/** Reads fields of one mapping; a field with a shape problem reads as absent. */
class Fields {
  constructor(
    private readonly raw: RawObject,
    private readonly typed: TypedObject,
    private readonly path: string,
    private readonly bad: readonly string[],
  ) {}

  private ok(key: string): boolean {
    const p = joinPath(this.path, key);
    return !this.bad.some((b) => b === p || p.startsWith(`${b}.`) || p.startsWith(`${b}[`));
  }

  text(key: string): string | undefined {
    if (!this.ok(key)) return undefined;
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    return scalarText(v);
  }

  int(key: string): number | undefined {
    if (!this.ok(key)) return undefined;
    const v = this.typed[key];
    return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
  }

  bool(key: string): boolean | undefined {
    if (!this.ok(key)) return undefined;
    const v = this.typed[key];
    return typeof v === 'boolean' ? v : undefined;
  }

  /** List of text items (null items become ""). */
  texts(key: string): string[] | undefined {
    if (!this.ok(key)) return undefined;
    const v = this.raw[key];
    if (!Array.isArray(v)) return undefined;
    return v.map((item) => scalarText(item) ?? '');
  }

  /** List of mappings (null items become empty mappings), each with its Fields. */
  objects(key: string): Fields[] | undefined {
    if (!this.ok(key)) return undefined;
    const v = this.raw[key];
    const t = this.typed[key];
    if (!Array.isArray(v) || !Array.isArray(t)) return undefined;
    const base = joinPath(this.path, key);
    return v.map((item, i) => {
      const ti = t[i];
      const rawItem = isObj(item) ? item : {};
      const typedItem = ti !== null && typeof ti === 'object' && !Array.isArray(ti) ? ti : {};
      return new Fields(rawItem, typedItem, joinPath(base, i), this.bad);
    });
  }

  /** A mapping of text values. */
  textMap(key: string): Record<string, string> | undefined {
    if (!this.ok(key)) return undefined;
    const v = this.raw[key];
    if (!isObj(v)) return undefined;
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) out[k] = scalarText(val) ?? '';
    return out;
  }
}

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function buildRaw(rawTree: RawObject, typed: TypedObject, bad: readonly string[]): RawConfig {
  const top = new Fields(rawTree, typed, '', bad);
  const selector = (f: Fields): RawNodeSelector => defined({
    'match-labels': f.textMap('match-labels'),
    'match-expressions': f.objects('match-expressions')?.map((e): RawMatchExpression => defined({
      key: e.text('key'), operator: e.text('operator'), values: e.texts('values'),
    })),
  });
  return defined({
    peers: top.objects('peers')?.map((p): RawPeer => defined({
      'my-asn': p.int('my-asn'),
      'peer-asn': p.int('peer-asn'),
      'peer-address': p.text('peer-address'),
      'peer-port': p.int('peer-port'),
      'source-address': p.text('source-address'),
      'hold-time': p.text('hold-time'),
      'keepalive-time': p.text('keepalive-time'),
      'router-id': p.text('router-id'),
      'node-selectors': p.objects('node-selectors')?.map(selector),
      password: p.text('password'),
      'bfd-profile': p.text('bfd-profile'),
      'ebgp-multihop': p.bool('ebgp-multihop'),
    })),
    'bgp-communities': top.textMap('bgp-communities'),
    'address-pools': top.objects('address-pools')?.map((p): RawAddressPool => defined({
      name: p.text('name'),
      protocol: p.text('protocol'),
      addresses: p.texts('addresses'),
      'auto-assign': p.bool('auto-assign'),
      'avoid-buggy-ips': p.bool('avoid-buggy-ips'),
      'bgp-advertisements': p.objects('bgp-advertisements')?.map((a): RawBGPAdvertisement => defined({
        'aggregation-length': a.int('aggregation-length'),
        'aggregation-length-v6': a.int('aggregation-length-v6'),
        localpref: a.int('localpref'),
        communities: a.texts('communities'),
      })),
    })),
    'bfd-profiles': top.objects('bfd-profiles')?.map((b): RawBFDProfile => defined({
      name: b.text('name'),
      'receive-interval': b.int('receive-interval'),
      'transmit-interval': b.int('transmit-interval'),
      'detect-multiplier': b.int('detect-multiplier'),
      'echo-interval': b.int('echo-interval'),
      'echo-mode': b.bool('echo-mode'),
      'passive-mode': b.bool('passive-mode'),
      'minimum-ttl': b.int('minimum-ttl'),
    })),
  });
}

// ---------------------------------------------------------------- checks

class Checker {
  readonly problems: Problem[] = [];
  constructor(private readonly shapePaths: readonly string[]) {}

  add(path: string, message: string, refusedBy: Refuser = 'all'): void {
    // a field that already failed its shape check is not reported again
    if (this.shapePaths.some((b) => b !== '' && (b === path || path.startsWith(`${b}.`) || path.startsWith(`${b}[`)))) return;
    this.problems.push({ path, message, refusedBy });
  }
}

/** docs/behaviour/config.md#mode-validation: the speaker's mode validators look at the raw strings before defaults. */
function modeValidators(raw: RawConfig, ctx: Checker): void {
  const peers = raw.peers ?? [];
  peers.forEach((p, i) => {
    if (p['bfd-profile']) ctx.add(`peers[${i}].bfd-profile`, 'BFD profiles are not supported by the native BGP implementation (use METALLB_BGP_TYPE=frr)', 'native-speaker');
    if (p['keepalive-time']) ctx.add(`peers[${i}].keepalive-time`, 'keepalive-time is not supported by the native BGP implementation (it always uses hold-time / 3)', 'native-speaker');
  });
  if ((raw['bfd-profiles'] ?? []).length > 0) ctx.add('bfd-profiles', 'BFD profiles are not supported by the native BGP implementation (use METALLB_BGP_TYPE=frr)', 'native-speaker');
  (raw['address-pools'] ?? []).forEach((pool, i) => {
    if (pool.protocol !== 'bgp') return;
    (pool.addresses ?? []).forEach((text, j) => {
      const r = parsePoolEntry(text);
      if (r.ok && r.entry.cidrs[0]?.family === 6) {
        ctx.add(`address-pools[${i}].addresses[${j}]`, `IPv6 address "${text}" in a bgp pool is not supported by the native BGP implementation (use METALLB_BGP_TYPE=frr)`, 'native-speaker');
      }
    });
  });
  if (peers.length >= 2) {
    const first = peers[0];
    const seen = new Map<string, number>();
    peers.forEach((p, i) => {
      if (i > 0 && (p['router-id'] ?? '') !== (first['router-id'] ?? '')) ctx.add(`peers[${i}].router-id`, `router-id "${p['router-id'] ?? ''}" differs from the first peer's "${first['router-id'] ?? ''}"; FRR mode needs one router-id for all peers`, 'frr-speaker');
      if (i > 0 && p['my-asn'] !== first['my-asn']) ctx.add(`peers[${i}].my-asn`, `my-asn ${p['my-asn'] ?? 0} differs from the first peer's ${first['my-asn'] ?? 0}; FRR mode needs one local ASN for all peers`, 'frr-speaker');
      const addr = p['peer-address'] ?? '';
      const prev = seen.get(addr);
      if (prev !== undefined) ctx.add(`peers[${i}].peer-address`, `peer-address "${addr}" is already used by peers[${prev}]; FRR mode allows one session per address`, 'frr-speaker');
      else seen.set(addr, i);
    });
  }
}

function buildConfig(raw: RawConfig, ctx: Checker): Config {
  const bfdProfiles = checkBFDProfiles(raw['bfd-profiles'] ?? [], ctx);
  const peers = checkPeers(raw.peers ?? [], new Set(bfdProfiles.map((b) => b.name)), raw['bfd-profiles'] ?? [], ctx);
  const communities = checkCommunities(raw['bgp-communities'] ?? {}, ctx);
  const pools = checkPools(raw['address-pools'] ?? [], communities, ctx);
  return { peers, communities, pools, bfdProfiles };
}

function checkBFDProfiles(list: readonly RawBFDProfile[], ctx: Checker): BFDProfile[] {
  const out: BFDProfile[] = [];
  const names = new Map<string, number>();
  const range = (i: number, key: keyof RawBFDProfile, v: number | undefined, lo: number, hi: number) => {
    if (v !== undefined && (v < lo || v > hi)) ctx.add(`bfd-profiles[${i}].${key}`, `${v} is out of range (${lo}-${hi})`);
  };
  list.forEach((b, i) => {
    if (!b.name) { ctx.add(`bfd-profiles[${i}].name`, 'missing bfd profile name'); return; }
    range(i, 'receive-interval', b['receive-interval'], 10, 60000);
    range(i, 'transmit-interval', b['transmit-interval'], 10, 60000);
    range(i, 'detect-multiplier', b['detect-multiplier'], 2, 255);
    range(i, 'echo-interval', b['echo-interval'], 10, 60000);
    range(i, 'minimum-ttl', b['minimum-ttl'], 1, 254);
    const prev = names.get(b.name);
    if (prev !== undefined) { ctx.add(`bfd-profiles[${i}].name`, `found duplicate bfd profile name "${b.name}" (also bfd-profiles[${prev}])`); return; }
    names.set(b.name, i);
    out.push(defined({
      name: b.name,
      receiveInterval: b['receive-interval'],
      transmitInterval: b['transmit-interval'],
      detectMultiplier: b['detect-multiplier'],
      echoInterval: b['echo-interval'],
      echoMode: b['echo-mode'] ?? false,
      passiveMode: b['passive-mode'] ?? false,
      minimumTtl: b['minimum-ttl'],
    }));
  });
  return out;
}

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function checkSelectors(list: readonly RawNodeSelector[], base: string, ctx: Checker): NodeSelector[] {
  return list.map((s, i) => {
    const path = `${base}[${i}]`;
    const matchLabels: Record<string, string> = {};
    for (const [k, v] of Object.entries(s['match-labels'] ?? {})) {
      const kp = labelKeyProblem(k);
      if (kp) ctx.add(`${path}.match-labels`, kp);
      const vp = labelValueProblem(v);
      if (vp) ctx.add(`${path}.match-labels.${k}`, vp);
      matchLabels[k] = v;
    }
    const matchExpressions: MatchExpression[] = [];
    (s['match-expressions'] ?? []).forEach((e, j) => {
      const ep = `${path}.match-expressions[${j}]`;
      const key = e.key ?? '';
      const values = e.values ?? [];
      if (key === '') ctx.add(`${ep}.key`, 'missing key');
      else { const kp = labelKeyProblem(key); if (kp) ctx.add(`${ep}.key`, kp); }
      const op = e.operator ?? '';
      if (!OPERATORS.includes(op)) {
        ctx.add(`${ep}.operator`, `"${op}" is not a valid operator (In, NotIn, Exists or DoesNotExist; case-sensitive)`);
      } else if ((op === 'In' || op === 'NotIn') && values.length === 0) {
        ctx.add(`${ep}.values`, `operator ${op} needs at least one value`);
      } else if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
        ctx.add(`${ep}.values`, `operator ${op} takes no values`);
      }
      values.forEach((v, k) => { const vp = labelValueProblem(v); if (vp) ctx.add(`${ep}.values[${k}]`, vp); });
      matchExpressions.push({ key, operator: op as SelectorOperator, values });
    });
    return { matchLabels, matchExpressions };
  });
}

function checkPeers(list: readonly RawPeer[], bfdNames: ReadonlySet<string>, rawBfd: readonly RawBFDProfile[], ctx: Checker): Peer[] {
  const out: Peer[] = [];
  const fingerprints = new Map<string, number>();
  list.forEach((p, i) => {
    const path = `peers[${i}]`;
    const before = ctx.problems.length;
    const myASN = p['my-asn'] ?? 0;
    const peerASN = p['peer-asn'] ?? 0;
    if (myASN === 0) ctx.add(`${path}.my-asn`, 'missing local ASN');
    if (peerASN === 0) ctx.add(`${path}.peer-asn`, 'missing peer ASN');
    const multihop = p['ebgp-multihop'] ?? false;
    if (multihop && myASN === peerASN) ctx.add(`${path}.ebgp-multihop`, 'ebgp-multihop is set for an iBGP peer (my-asn equals peer-asn)');
    const addrText = p['peer-address'] ?? '';
    const peerAddress = parseIP(addrText);
    if (!peerAddress) ctx.add(`${path}.peer-address`, addrText === '' ? 'missing peer address' : `invalid peer IP "${addrText}"`);
    let holdTimeSeconds = 90;
    const holdText = p['hold-time'] ?? '';
    if (holdText !== '') {
      try {
        const secs = truncateToSeconds(parseGoDuration(holdText));
        if (secs !== 0 && secs < 3) ctx.add(`${path}.hold-time`, `invalid hold time "${holdText}": must be 0 or at least 3s`);
        holdTimeSeconds = secs;
      } catch (err) {
        if (!(err instanceof DurationError)) throw err;
        ctx.add(`${path}.hold-time`, `invalid hold time: ${err.message} (write a Go duration such as 90s or 1m30s)`);
      }
    }
    let keepaliveTimeSeconds = holdTimeSeconds / 3;
    const kaText = p['keepalive-time'] ?? '';
    if (kaText !== '') {
      try {
        const secs = truncateToSeconds(parseGoDuration(kaText));
        if (secs < 0) ctx.add(`${path}.keepalive-time`, `keepalive time "${kaText}" is negative (upstream accepted it silently)`, 'recommended');
        else if (secs > holdTimeSeconds) ctx.add(`${path}.keepalive-time`, `keepalive time ${secs}s is greater than the hold time ${holdTimeSeconds}s`);
        keepaliveTimeSeconds = secs;
      } catch (err) {
        if (!(err instanceof DurationError)) throw err;
        ctx.add(`${path}.keepalive-time`, `invalid keepalive time: ${err.message} (write a Go duration such as 30s)`);
      }
    }
    const ridText = p['router-id'] ?? '';
    const routerID = ridText === '' ? undefined : parseIP(ridText);
    if (ridText !== '' && !routerID) ctx.add(`${path}.router-id`, `invalid router ID "${ridText}"`);
    const srcText = p['source-address'] ?? '';
    const sourceAddress = srcText === '' ? undefined : parseIP(srcText);
    if (srcText !== '' && !sourceAddress) ctx.add(`${path}.source-address`, `invalid source IP "${srcText}"`);
    const nodeSelectors = checkSelectors(p['node-selectors'] ?? [], `${path}.node-selectors`, ctx);
    const bfdProfile = p['bfd-profile'] ?? '';
    if (bfdProfile !== '' && !bfdNames.has(bfdProfile) && !rawBfd.some((b) => b.name === bfdProfile)) {
      ctx.add(`${path}.bfd-profile`, `referencing non existing bfd profile "${bfdProfile}"`);
    }
    if (ctx.problems.length !== before || !peerAddress) return;
    const peer: Peer = defined({
      myASN, peerASN, peerAddress,
      peerPort: p['peer-port'] || 179,
      sourceAddress, holdTimeSeconds, keepaliveTimeSeconds, routerID, nodeSelectors,
      password: p.password ?? '',
      bfdProfile,
      ebgpMultihop: multihop,
    });
    const fp = JSON.stringify(peer, (_k, v: unknown) => (v instanceof IPAddress ? v.toString() : v));
    const prev = fingerprints.get(fp);
    if (prev !== undefined) { ctx.add(path, `peer #${i + 1} already exists (identical to peers[${prev}])`); return; }
    fingerprints.set(fp, i);
    out.push(peer);
  });
  return out;
}

const COMMUNITY = /^([0-9]+):([0-9]+)$/;

/** Parses "A:B" (each 0…65535) into A·65536+B. */
export function parseCommunity(text: string): number | string {
  const m = COMMUNITY.exec(text);
  if (!m) return `"${text}" is not a community of the form A:B with decimal A and B`;
  const a = Number(m[1]), b = Number(m[2]);
  if (m[1].length > 5 || a > 65535) return `"${text}": first part ${m[1]} is above 65535`;
  if (m[2].length > 5 || b > 65535) return `"${text}": second part ${m[2]} is above 65535`;
  return a * 65536 + b;
}

function checkCommunities(map: Readonly<Record<string, string>>, ctx: Checker): Map<string, number> {
  const out = new Map<string, number>();
  for (const [alias, text] of Object.entries(map)) {
    const v = parseCommunity(text);
    if (typeof v === 'string') ctx.add(`bgp-communities.${alias}`, `parsing community: ${v}`);
    else out.set(alias, v);
  }
  return out;
}

function sortedJSON(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
    : x));
}

function checkAdvertisement(ad: RawBGPAdvertisement, path: string, entries: readonly PoolEntry[], communities: ReadonlyMap<string, number>, ctx: Checker): BGPAdvertisement {
  const texts = ad.communities ?? [];
  const seen = new Set<string>();
  texts.forEach((t, k) => {
    if (seen.has(t)) ctx.add(`${path}.communities[${k}]`, `duplicate community "${t}"`);
    seen.add(t);
  });
  const v4 = ad['aggregation-length'] ?? 32;
  const v6 = ad['aggregation-length-v6'] ?? 128;
  if (v4 > 32) ctx.add(`${path}.aggregation-length`, `invalid aggregation length ${v4}: must be at most 32`);
  if (ad['aggregation-length-v6'] !== undefined && v6 > 128) ctx.add(`${path}.aggregation-length-v6`, `invalid aggregation length ${v6}: must be at most 128`);
  if (v4 < 0) ctx.add(`${path}.aggregation-length`, `invalid aggregation length ${v4}: must not be negative`, 'recommended');
  if (v6 < 0) ctx.add(`${path}.aggregation-length-v6`, `invalid aggregation length ${v6}: must not be negative`, 'recommended');
  // v0.12 aggregation rule, per addresses entry: the widest block of the entry must not be
  // narrower than the aggregate.
  for (const e of entries) {
    if (e.cidrs.length === 0) continue;
    const widest = Math.min(...e.cidrs.map((c) => c.prefix));
    const isV4 = e.cidrs[0].family === 4;
    const len = isV4 ? v4 : v6;
    const key = isV4 ? 'aggregation-length' : 'aggregation-length-v6';
    if (len >= 0 && len < widest) {
      ctx.add(`${path}.${key}`, `invalid aggregation length ${len} for "${e.text}": the aggregate would be wider than the /${widest} block it comes from (use ${widest} or more)`);
    }
  }
  const values: number[] = [];
  texts.forEach((t, k) => {
    let v = communities.get(t);
    if (v === undefined) {
      const parsed = parseCommunity(t);
      if (typeof parsed === 'string') { ctx.add(`${path}.communities[${k}]`, `${parsed}, and not an alias from bgp-communities`); return; }
      v = parsed;
    }
    if (!values.includes(v)) values.push(v);
  });
  return { aggregationLength: v4, aggregationLengthV6: v6, localPref: ad.localpref ?? 0, communities: values };
}

function checkPools(list: readonly RawAddressPool[], communities: ReadonlyMap<string, number>, ctx: Checker): AddressPool[] {
  const out: AddressPool[] = [];
  const names = new Map<string, number>();
  const allCIDRs: { cidr: CIDR; pool: number; path: string }[] = [];
  list.forEach((p, i) => {
    const path = `address-pools[${i}]`;
    const before = ctx.problems.length;
    const name = p.name ?? '';
    if (name === '') ctx.add(`${path}.name`, 'missing pool name');
    const addrs = p.addresses ?? [];
    if (addrs.length === 0) ctx.add(`${path}.addresses`, 'pool has no prefixes defined');
    const entries: PoolEntry[] = [];
    addrs.forEach((text, j) => {
      const r = parsePoolEntry(text);
      if (!r.ok) {
        ctx.add(`${path}.addresses[${j}]`, r.reason, /IPv4-mapped|mixes an IPv/.test(r.reason) ? 'recommended' : 'all');
        return;
      }
      entries.push(r.entry);
      for (const cidr of r.entry.cidrs) allCIDRs.push({ cidr, pool: i, path: `${path}.addresses[${j}]` });
    });
    const protoText = p.protocol ?? '';
    let protocol: Protocol | undefined;
    if (protoText === '') ctx.add(`${path}.protocol`, 'missing the protocol field (layer2 or bgp)');
    else if (protoText !== 'layer2' && protoText !== 'bgp') ctx.add(`${path}.protocol`, `unknown protocol "${protoText}" (must be layer2 or bgp, case-sensitive)`);
    else protocol = protoText;
    const rawAds = p['bgp-advertisements'] ?? [];
    let ads: BGPAdvertisement[] = [];
    if (protocol === 'layer2' && rawAds.length > 0) {
      ctx.add(`${path}.bgp-advertisements`, 'bgp-advertisements are only allowed in pools with protocol bgp');
    } else if (protocol === 'bgp') {
      const fps = new Map<string, number>();
      rawAds.forEach((ad, k) => {
        const fp = sortedJSON(ad);
        const prev = fps.get(fp);
        if (prev !== undefined) ctx.add(`${path}.bgp-advertisements[${k}]`, `duplicate definition of bgpadvertisements (same as bgp-advertisements[${prev}])`);
        else fps.set(fp, k);
      });
      ads = rawAds.map((ad, k) => checkAdvertisement(ad, `${path}.bgp-advertisements[${k}]`, entries, communities, ctx));
      if (rawAds.length === 0) ads = [{ aggregationLength: 32, aggregationLengthV6: 128, localPref: 0, communities: [] }];
    }
    if (name !== '') {
      const prev = names.get(name);
      if (prev !== undefined) ctx.add(`${path}.name`, `duplicate definition of pool "${name}" (also address-pools[${prev}])`);
      else names.set(name, i);
    }
    if (ctx.problems.length !== before || !protocol) return;
    out.push({
      name, protocol, entries,
      cidrs: entries.flatMap((e) => e.cidrs),
      autoAssign: p['auto-assign'] ?? true,
      avoidBuggyIPs: p['avoid-buggy-ips'] ?? false,
      bgpAdvertisements: ads,
    });
  });
  checkOverlaps(allCIDRs, list, ctx);
  return out;
}

/**
 * Every CIDR against every CIDR defined before it (earlier pools and earlier entries), in
 * O(n log n): CIDR blocks are either nested or disjoint, so after sorting by start address a
 * block overlaps an earlier-sorted one exactly when it starts before the furthest end seen.
 */
function checkOverlaps(all: { cidr: CIDR; pool: number; path: string }[], pools: readonly RawAddressPool[], ctx: Checker): void {
  const order = all.map((c, idx) => ({ ...c, idx }));
  order.sort((a, b) => a.cidr.family - b.cidr.family || (a.cidr.network.value < b.cidr.network.value ? -1 : a.cidr.network.value > b.cidr.network.value ? 1 : a.cidr.prefix - b.cidr.prefix));
  let cover: (typeof order)[number] | undefined;
  const reported = new Set<number>();
  for (const cur of order) {
    if (cover && cover.cidr.family === cur.cidr.family && cur.cidr.network.value <= cover.cidr.last.value) {
      const [earlier, later] = cover.idx < cur.idx ? [cover, cur] : [cur, cover];
      if (!reported.has(later.idx)) {
        reported.add(later.idx);
        const poolName = (k: number) => pools[k]?.name ?? `#${k + 1}`;
        ctx.add(later.path, `CIDR "${later.cidr}" in pool "${poolName(later.pool)}" overlaps with already defined CIDR "${earlier.cidr}" (pool "${poolName(earlier.pool)}", ${earlier.path})`);
      }
      if (cur.cidr.last.value > cover.cidr.last.value) cover = cur;
    } else {
      cover = cur;
    }
  }
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v) && !(v instanceof IPAddress) && !(v instanceof CIDR)) {
    if (v instanceof Map) {
      for (const x of v.values()) deepFreeze(x);
    } else {
      for (const x of Object.values(v as object)) deepFreeze(x);
    }
    Object.freeze(v);
  }
  return v;
}
