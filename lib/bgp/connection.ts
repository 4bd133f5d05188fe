// The socket of one BGP connection attempt: a TCP connection (with TCP MD5 when a password is
// set), message framing and decoding of what the peer sends, and closing with or without a
// NOTIFICATION. One object per attempt, so callbacks of an old connection are recognisable.
// It decides nothing: the session reacts to what the handlers report.

import { Socket } from 'node:net';
import { parseIP, type IPAddress } from '../ip/index.js';
import { MessageFramer, decodeMessage, encodeMessage, type BGPMessage } from './codec.js';
import { BGPMessageError } from './errors.js';
import { createMd5Socket } from './tcp-md5.js';

export interface ConnectionTarget {
  readonly peerAddress: IPAddress;
  readonly peerPort: number;
  readonly sourceAddress?: IPAddress;
  /** TCP MD5 (RFC 2385) key; empty or absent for none. */
  readonly password?: string;
}

export interface ConnectionHandlers {
  /** TCP is up; `localAddress` is ours on it (undefined when unusable). */
  connected: (localAddress: IPAddress | undefined) => void;
  /** A whole message was framed (before decoding): the peer is alive. */
  framed: () => void;
  message: (msg: BGPMessage) => void;
  /**
   * A message failed to decode. Return true to skip it (RFC 7606 treat-as-withdraw) and go on
   * with the next one; false makes it fatal (see `fatal`).
   */
  malformed: (err: BGPMessageError) => boolean;
  /** The peer sent something unusable; the rest of the stream is not read. */
  fatal: (err: BGPMessageError) => void;
  /** The socket failed or was closed from the other side. */
  gone: (reason: string) => void;
}

export class BGPConnection {
  readonly socket: Socket;
  private readonly framer = new MessageFramer();
  private fourOctetAS = false;
  private isClosed = false;

  /** Creates the socket and starts connecting; throws when the socket cannot be created. */
  constructor(target: ConnectionTarget, private readonly h: ConnectionHandlers) {
    const { peerAddress, peerPort, sourceAddress, password } = target;
    const socket = password ? createMd5Socket(peerAddress, password, sourceAddress) : new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (!this.isClosed) this.h.connected(socketAddress(socket.localAddress));
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.gone(`socket error: ${err.message}`));
    socket.on('close', () => this.gone('connection closed'));
    socket.on('end', () => this.gone('peer closed the connection'));
    if (password) socket.connect(peerPort, peerAddress.toString());
    else socket.connect({ port: peerPort, host: peerAddress.toString(), localAddress: sourceAddress?.toString(), family: peerAddress.family });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Decode AS numbers in 4 octets from now on (negotiated). */
  setFourOctetAS(on: boolean): void {
    this.fourOctetAS = on;
  }

  write(bytes: Buffer): void {
    if (!this.isClosed) this.socket.write(bytes);
  }

  /**
   * Ends the connection (idempotent), sending a NOTIFICATION first when `notify` is given and the
   * socket still takes writes. Returns whether the NOTIFICATION was sent.
   */
  close(notify?: { code: number; subcode: number; data?: Buffer }): boolean {
    if (this.isClosed) return false;
    this.isClosed = true;
    let sent = false;
    if (notify && !this.socket.destroyed && this.socket.writable) {
      this.socket.write(encodeMessage({ type: 'notification', code: notify.code, subcode: notify.subcode, data: notify.data ?? Buffer.alloc(0) }));
      sent = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
    return sent;
  }

  private gone(reason: string): void {
    if (!this.isClosed) this.h.gone(reason);
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    try {
      for (const raw of this.framer.push(chunk)) {
        this.h.framed();
        let msg: BGPMessage;
        try {
          msg = decodeMessage(raw, { fourOctetAS: this.fourOctetAS, validateOnly: true });
        } catch (err) {
          if (err instanceof BGPMessageError && this.h.malformed(err)) continue;
          throw err;
        }
        this.h.message(msg);
        if (this.isClosed) return;
      }
    } catch (err) {
      if (!(err instanceof BGPMessageError)) throw err;
      this.h.fatal(err);
    }
  }
}

function socketAddress(text: string | undefined): IPAddress | undefined {
  if (!text) return undefined;
  const ip = parseIP(text.split('%')[0]);
  return ip?.unmapIPv4() ?? ip;
}
