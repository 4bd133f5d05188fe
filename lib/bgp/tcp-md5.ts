// Typed wrapper of the native TCP MD5 (RFC 2385) functions (native/src/tcp_md5.c). Node cannot set
// TCP_MD5SIG on its sockets, so the addon creates the socket with the key for the peer (and binds
// it to the source address, if any); Node then adopts the descriptor and drives the connect.

import { Socket } from 'node:net';
import { loadNative } from '../native/index.js';
import type { IPAddress } from '../ip/index.js';

interface TcpMd5Native {
  tcpMd5Socket(family: 4 | 6, peerAddress: Buffer, key: Buffer, localAddress: Buffer | null): number;
  closeFd(fd: number): void;
}

/** The longest key the kernel accepts (TCP_MD5SIG_MAXKEYLEN). */
export const MAX_MD5_KEY_BYTES = 80;

/**
 * An unconnected TCP socket that signs every segment to/from `peer` with `password`, optionally
 * bound to `source`. Call `.connect(port, host)` on it. Throws an Error whose `code` is the errno
 * name (e.g. EADDRNOTAVAIL when `source` is not a local address).
 */
export function createMd5Socket(peer: IPAddress, password: string, source?: IPAddress): Socket {
  const key = Buffer.from(password, 'utf8');
  if (key.length === 0 || key.length > MAX_MD5_KEY_BYTES) throw new RangeError(`TCP MD5 password must be 1..${MAX_MD5_KEY_BYTES} bytes, got ${key.length}`);
  if (source !== undefined && source.family !== peer.family) throw new RangeError(`source address ${source.toString()} is not of the peer's family`);
  const native = loadNative<TcpMd5Native>();
  const fd = native.tcpMd5Socket(peer.family, peer.toBytes(), key, source ? source.toBytes() : null);
  try {
    return new Socket({ fd, readable: true, writable: true, manualStart: true } as ConstructorParameters<typeof Socket>[0]);
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
}
