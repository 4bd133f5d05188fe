// The legacy `config` ConfigMap format (MetalLB v0.9–v0.12), as two shapes:
//  - RawConfig: what the user wrote, after strict YAML 1.1 decoding and shape checks, before
//    defaults (optional fields stay undefined; string fields hold the scalar's source text).
//  - Config: the validated, defaulted, immutable configuration the controller and speaker use.

import type { CIDR, IPAddress, PoolEntry } from '../ip/index.js';

export type Protocol = 'layer2' | 'bgp';

// ---------------------------------------------------------------- raw (as written)

export interface RawMatchExpression {
  readonly key?: string;
  readonly operator?: string;
  readonly values?: readonly string[];
}

export interface RawNodeSelector {
  readonly 'match-labels'?: Readonly<Record<string, string>>;
  readonly 'match-expressions'?: readonly RawMatchExpression[];
}

export interface RawPeer {
  readonly 'my-asn'?: number;
  readonly 'peer-asn'?: number;
  readonly 'peer-address'?: string;
  readonly 'peer-port'?: number;
  readonly 'source-address'?: string;
  readonly 'hold-time'?: string;
  readonly 'keepalive-time'?: string;
  readonly 'router-id'?: string;
  readonly 'node-selectors'?: readonly RawNodeSelector[];
  readonly password?: string;
  readonly 'bfd-profile'?: string;
  readonly 'ebgp-multihop'?: boolean;
}

export interface RawBGPAdvertisement {
  readonly 'aggregation-length'?: number;
  readonly 'aggregation-length-v6'?: number;
  readonly localpref?: number;
  readonly communities?: readonly string[];
}

export interface RawAddressPool {
  readonly name?: string;
  readonly protocol?: string;
  readonly addresses?: readonly string[];
  readonly 'auto-assign'?: boolean;
  readonly 'avoid-buggy-ips'?: boolean;
  readonly 'bgp-advertisements'?: readonly RawBGPAdvertisement[];
}

export interface RawBFDProfile {
  readonly name?: string;
  readonly 'receive-interval'?: number;
  readonly 'transmit-interval'?: number;
  readonly 'detect-multiplier'?: number;
  readonly 'echo-interval'?: number;
  readonly 'echo-mode'?: boolean;
  readonly 'passive-mode'?: boolean;
  readonly 'minimum-ttl'?: number;
}

export interface RawConfig {
  readonly peers?: readonly RawPeer[];
  readonly 'bgp-communities'?: Readonly<Record<string, string>>;
  readonly 'address-pools'?: readonly RawAddressPool[];
  readonly 'bfd-profiles'?: readonly RawBFDProfile[];
}

// ---------------------------------------------------------------- validated

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface MatchExpression {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** One node selector: all match-labels AND all expressions must hold. */
export interface NodeSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly MatchExpression[];
}

export interface Peer {
  readonly myASN: number;
  readonly peerASN: number;
  readonly peerAddress: IPAddress;
  /** 179 when absent or 0. */
  readonly peerPort: number;
  readonly sourceAddress?: IPAddress;
  /** Whole seconds; 0 means no hold timer and no keepalives. Default 90. */
  readonly holdTimeSeconds: number;
  /** Seconds, possibly fractional: the exact third of the hold time when not given. */
  readonly keepaliveTimeSeconds: number;
  readonly routerID?: IPAddress;
  /** Empty: the peer is used on every node. Otherwise OR of the selectors. */
  readonly nodeSelectors: readonly NodeSelector[];
  /** TCP MD5 key; empty for none. */
  readonly password: string;
  /** Name of a BFD profile; empty for none. */
  readonly bfdProfile: string;
  readonly ebgpMultihop: boolean;
}

export interface BGPAdvertisement {
  /** Default 32. */
  readonly aggregationLength: number;
  /** Default 128. */
  readonly aggregationLengthV6: number;
  /** LOCAL_PREF for iBGP sessions; 0 = not sent. */
  readonly localPref: number;
  /** Community values (A·65536+B), aliases resolved, in the order written, duplicates collapsed. */
  readonly communities: readonly number[];
}

export interface AddressPool {
  readonly name: string;
  readonly protocol: Protocol;
  /** The entries as written, each with its CIDR cover. */
  readonly entries: readonly PoolEntry[];
  /** All CIDRs of all entries, in entry order (the allocation walk order). */
  readonly cidrs: readonly CIDR[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  /** For bgp pools: one default advertisement when none is listed. Empty for layer2. */
  readonly bgpAdvertisements: readonly BGPAdvertisement[];
}

export interface BFDProfile {
  readonly name: string;
  readonly receiveInterval?: number;
  readonly transmitInterval?: number;
  readonly detectMultiplier?: number;
  readonly echoInterval?: number;
  readonly echoMode: boolean;
  readonly passiveMode: boolean;
  readonly minimumTtl?: number;
}

export interface Config {
  readonly peers: readonly Peer[];
  /** Alias -> community value, from bgp-communities. */
  readonly communities: ReadonlyMap<string, number>;
  /** In config order. */
  readonly pools: readonly AddressPool[];
  readonly bfdProfiles: readonly BFDProfile[];
}

// ---------------------------------------------------------------- problems

/** Which component of a v0.12 cluster refuses a config because of a problem. */
export type Refuser =
  | 'all' // the controller and every speaker (shared parser)
  | 'native-speaker' // the speaker's native-mode validator (METALLB_BGP_TYPE unset or "native")
  | 'frr-speaker' // the speaker's FRR-mode validator
  | 'recommended'; // upstream accepts it silently; this project refuses it (spec recommendation)

export interface Problem {
  /** Where, e.g. `address-pools[1].addresses[0]`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
  readonly refusedBy: Refuser;
}
