// A short, human- and script-friendly description of a valid config.

import { CIDR } from '../ip/index.js';
import type { Config } from './types.js';

export interface PoolSummary {
  readonly name: string;
  readonly protocol: string;
  /** Addresses the allocator may hand out (avoid-buggy-ips applied), as decimal text (may exceed 2^53). */
  readonly addresses: string;
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly entries: readonly string[];
  readonly advertisements: number;
}

export interface PeerSummary {
  readonly peerAddress: string;
  readonly peerPort: number;
  readonly myASN: number;
  readonly peerASN: number;
  readonly holdTimeSeconds: number;
  readonly keepaliveTimeSeconds: number;
  readonly nodeSelectors: number;
  readonly md5: boolean;
}

export interface ConfigSummary {
  readonly pools: readonly PoolSummary[];
  readonly peers: readonly PeerSummary[];
  readonly communities: number;
  readonly bfdProfiles: number;
}

/** IPv4 addresses ending in .0 or .255 inside a block, counted without iterating. */
export function buggyCount(c: CIDR): bigint {
  if (c.family !== 4) return 0n;
  if (c.prefix <= 24) return c.size / 256n * 2n;
  const lastOctetFirst = c.network.value & 0xffn;
  const lastOctetLast = c.last.value & 0xffn;
  return (lastOctetFirst === 0n ? 1n : 0n) + (lastOctetLast === 255n ? 1n : 0n);
}

export function usableAddresses(cidrs: readonly CIDR[], avoidBuggyIPs: boolean): bigint {
  let n = 0n;
  for (const c of cidrs) n += c.size - (avoidBuggyIPs ? buggyCount(c) : 0n);
  return n;
}

export function summarize(config: Config): ConfigSummary {
  return {
    pools: config.pools.map((p) => ({
      name: p.name,
      protocol: p.protocol,
      addresses: usableAddresses(p.cidrs, p.avoidBuggyIPs).toString(),
      autoAssign: p.autoAssign,
      avoidBuggyIPs: p.avoidBuggyIPs,
      entries: p.entries.map((e) => e.text),
      advertisements: p.bgpAdvertisements.length,
    })),
    peers: config.peers.map((p) => ({
      peerAddress: p.peerAddress.toString(),
      peerPort: p.peerPort,
      myASN: p.myASN,
      peerASN: p.peerASN,
      holdTimeSeconds: p.holdTimeSeconds,
      keepaliveTimeSeconds: p.keepaliveTimeSeconds,
      nodeSelectors: p.nodeSelectors.length,
      md5: p.password !== '',
    })),
    communities: config.communities.size,
    bfdProfiles: config.bfdProfiles.length,
  };
}
