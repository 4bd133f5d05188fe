// Addresses as memberlist carries them: raw 4- or 16-byte IPs on the wire, text everywhere else.
import { isIPv4, isIPv6 } from 'node:net';

/** Textual IPv4/IPv6 address -> 4 or 16 bytes. */
export function ipBytes(text: string): Buffer {
  if (isIPv4(text)) return Buffer.from(text.split('.').map((p) => Number(p)));
  if (isIPv6(text)) {
    // expand "::" and any embedded IPv4 tail into 16 bytes
    let t = text;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
    if (v4) {
      const b = ipBytes(v4[1]!);
      t = t.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
    }
    const [head, tail] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
    const h = head ? head.split(':') : [];
    const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
    return out;
  }
  throw new RangeError(`"${text}" is not an IP address`);
}

/** 4 or 16 bytes -> textual address (IPv4-mapped IPv6 as dotted quad; anything else "invalid(hex)"). */
export function ipText(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    const v4mapped = groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff';
    if (v4mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    // compress the longest run of zero groups
    let best = -1, bestLen = 0;
    for (let i = 0; i < 8;) {
      if (groups[i] !== '0') { i++; continue; }
      let j = i;
      while (j < 8 && groups[j] === '0') j++;
      if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
      i = j;
    }
    if (best < 0) return groups.join(':');
    return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  }
  return `invalid(${b.toString('hex')})`;
}

/** "ip", "ip:port" (IPv4) or "[v6]:port"; a bare address takes `defaultPort`. */
export function parseHostPort(a: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : defaultPort };
  if (isIPv4(a) || isIPv6(a)) return { host: a, port: defaultPort };
  const i = a.lastIndexOf(':');
  if (i > 0 && isIPv4(a.slice(0, i))) return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
  throw new RangeError(`"${a}" is not an address (ip, ip:port or [ipv6]:port)`);
}
