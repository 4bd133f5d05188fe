// Which network interfaces the announcer answers on (spec 4.6.2). Interfaces are read from
// /sys/class/net (flags, MAC, bond/bridge master) and /proc/net/if_inet6 (IPv6 link-local
// addresses) of the process's network namespace; the rules themselves are pure functions.
import { readdir, readFile, access } from 'node:fs/promises';
import { IPAddress } from '../ip/index.js';
import { MacAddress } from './mac.js';

/** Interface flags (linux/if.h). */
export const InterfaceFlag = { Up: 0x1, Broadcast: 0x2, Loopback: 0x8, NoArp: 0x80 } as const;
const ARPHRD_ETHER = 1;

export interface LinkInfo {
  readonly name: string;
  readonly index: number;
  readonly flags: number;
  /** ARPHRD_* link type; 1 is Ethernet. */
  readonly linkType: number;
  readonly mac: MacAddress | undefined;
  /** Enslaved to a bond or bridge (has a master). */
  readonly hasMaster: boolean;
  /** IPv6 link-local unicast addresses (fe80::/10). */
  readonly ipv6LinkLocal: readonly IPAddress[];
}

function usable(link: LinkInfo): boolean {
  return (link.flags & InterfaceFlag.Up) !== 0 && !link.hasMaster && (link.flags & InterfaceFlag.NoArp) === 0 &&
    link.linkType === ARPHRD_ETHER && link.mac !== undefined && !link.mac.equals(MacAddress.ZERO);
}

/** Up, not enslaved, not NOARP, broadcast-capable (and Ethernet, since we write Ethernet frames). */
export function qualifiesForArp(link: LinkInfo): boolean {
  return usable(link) && (link.flags & InterfaceFlag.Broadcast) !== 0;
}

/** Up, not enslaved, not NOARP, with at least one IPv6 link-local unicast address (and Ethernet). */
export function qualifiesForNdp(link: LinkInfo): boolean {
  return usable(link) && link.ipv6LinkLocal.length > 0;
}

/**
 * Parses /proc/net/if_inet6 ("<32 hex address> <ifindex hex> <prefixlen hex> <scope hex>
 * <flags hex> <name>" per line) into the link-local unicast addresses of each interface name.
 * Lines that do not fit are skipped.
 */
export function parseIfInet6(text: string): Map<string, IPAddress[]> {
  const out = new Map<string, IPAddress[]>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-fA-F]{32}$/.test(f[0])) continue;
    const ip = IPAddress.fromBytes(Buffer.from(f[0], 'hex'));
    if (ip.value >> 118n !== 0x3fan) continue; // fe80::/10
    const list = out.get(f[5]) ?? [];
    list.push(ip);
    out.set(f[5], list);
  }
  return out;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Lists the interfaces of this network namespace. An interface that vanishes while being read is left out. */
export async function readLinks(sysfs = '/sys/class/net', ifInet6 = '/proc/net/if_inet6'): Promise<LinkInfo[]> {
  const names = await readdir(sysfs);
  const linkLocal = parseIfInet6((await readText(ifInet6)) ?? '');
  const links: LinkInfo[] = [];
  for (const name of names.sort()) {
    const dir = `${sysfs}/${name}`;
    const [index, flags, type, address] = await Promise.all(['ifindex', 'flags', 'type', 'address'].map((f) => readText(`${dir}/${f}`)));
    if (index === undefined || flags === undefined || type === undefined) continue;
    links.push({
      name,
      index: Number(index),
      flags: Number(flags), // "0x1003": Number() reads hex with the 0x prefix
      linkType: Number(type),
      mac: address ? MacAddress.parse(address) : undefined,
      hasMaster: await exists(`${dir}/master`),
      ipv6LinkLocal: linkLocal.get(name) ?? [],
    });
  }
  return links;
}
