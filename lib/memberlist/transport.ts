// The transport: one UDP and one TCP socket bound to the same port, datagram and stream framing
// (compression, CRC, encryption) and the limits on what peers may send. It knows nothing about
// members: decoded packets and stream requests go to the handlers given to listen().

import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { createServer, connect, isIPv6, type Server, type Socket } from 'node:net';
import { MemberlistDecodeError } from './errors.js';
import { decodePacket, encodePacket, MAX_PACKET_SIZE, type PacketMessage } from './packet.js';
import { ENCRYPTION_OVERHEAD, type Keyring } from './security.js';
import { encodeStream, parseStream, MAX_STREAM_LENGTH, type StreamMessage } from './stream.js';
import type { Logger } from '../util/log.js';

/** Inbound streams served at once; more are closed at once (each may buffer up to 20 MiB). */
export const MAX_INBOUND_STREAMS = 128;

export interface TransportCounters {
  udpReceived: number;
  /** Datagrams dropped whole: undecryptable, bad CRC, label, oversized. */
  udpDropped: number;
  /** Of udpDropped: no key could decrypt them (wrong key, or plaintext while encryption is on). */
  udpUndecryptable: number;
  /** Messages inside datagrams that failed to decode (the rest of the datagram is still used). */
  messagesInvalid: number;
  tcpAccepted: number;
  /** Streams closed without being served: undecryptable, malformed, timed out, too many. */
  tcpDropped: number;
  /** Of tcpDropped: not decryptable with our keys. */
  tcpUndecryptable: number;
}

export interface TransportOptions {
  bindAddr: string;
  keyring: Keyring | null;
  /** LZW-compress packets when smaller and streams always. */
  compression: boolean;
  /** Deadline for reading a whole inbound stream request. */
  streamTimeoutMs: number;
  log: Logger;
  /** Where the counters are kept (the member's counters object). */
  counters: TransportCounters;
}

export interface TransportHandlers {
  /** One decoded message of a datagram. Throwing here is logged; the other messages still run. */
  packet: (m: PacketMessage, from: RemoteInfo) => void;
  /**
   * One inbound stream request; `reply` writes a message back. A MemberlistDecodeError thrown here
   * is reported to the peer as an error message; anything thrown drops the stream.
   */
  stream: (m: StreamMessage, reply: (m: StreamMessage) => void) => void;
}

export class Transport {
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private open = false;
  private inboundStreams = 0;
  private handlers: TransportHandlers | null = null;

  constructor(private readonly o: TransportOptions) {}

  /** Bytes that encryption adds to a datagram. */
  get encryptionOverhead(): number {
    return this.o.keyring ? ENCRYPTION_OVERHEAD : 0;
  }

  /** Binds UDP and TCP on `port` (0: one free port both can take); resolves to the port bound. */
  async listen(port: number, handlers: TransportHandlers): Promise<number> {
    this.handlers = handlers;
    const family = isIPv6(this.o.bindAddr) ? 'udp6' : 'udp4';
    // TCP first, so port 0 can pick one port that UDP then binds too (retried if UDP has it taken)
    let tcp: Server | null = null;
    let udp: UdpSocket | null = null;
    for (let attempt = 0; ; attempt++) {
      const server = createServer({ allowHalfOpen: false }, (s) => this.onStream(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.o.bindAddr, () => { server.off('error', reject); resolve(); });
      });
      const bound = (server.address() as { port: number }).port;
      const sock = createSocket({ type: family, recvBufferSize: 2 * 1024 * 1024 });
      try {
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind(bound, this.o.bindAddr, () => { sock.off('error', reject); resolve(); });
        });
        tcp = server;
        udp = sock;
        break;
      } catch (err) {
        server.close();
        try { sock.close(); } catch { /* never bound */ }
        if (port !== 0 || attempt >= 20) throw err;
      }
    }
    tcp.on('error', (err) => this.o.log.error({ op: 'memberlist', err: err.message }, 'TCP listener error'));
    this.tcp = tcp;
    udp.on('error', (err) => this.o.log.error({ op: 'memberlist', err: err.message }, 'UDP socket error'));
    udp.on('message', (msg, rinfo) => this.onPacket(msg, rinfo));
    this.udp = udp;
    this.open = true;
    return (tcp.address() as { port: number }).port;
  }

  /** Closes both sockets and every stream. */
  async close(): Promise<void> {
    this.open = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
    this.udp = null;
    this.tcp = null;
  }

  /** Sends one datagram carrying an already framed message; `crc` when the receiver takes one. */
  sendPacket(message: Buffer, host: string, port: number, crc: boolean): void {
    if (!this.udp) return;
    // host:port came from a peer (alive or push/pull): one that cannot be sent to (port 0) fails
    // this send only, never the timer that called it (dgram refuses such a port synchronously)
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      this.o.log.debug({ op: 'memberlist', peer: `${host}:${port}` }, 'UDP send skipped: no usable port');
      return;
    }
    const wire = encodePacket(message, { compress: this.o.compression, crc, key: this.o.keyring?.primary ?? null });
    try {
      this.udp.send(wire, port, host, (err) => {
        if (err) this.o.log.debug({ op: 'memberlist', peer: `${host}:${port}`, err: err.message }, 'UDP send failed');
      });
    } catch (err) {
      this.o.log.debug({ op: 'memberlist', peer: `${host}:${port}`, err: (err as Error).message }, 'UDP send failed');
    }
  }

  /** Dials host:port, sends `m` and reads one reply; dial and read each within `timeoutMs`. */
  async request(host: string, port: number, m: StreamMessage, timeoutMs: number): Promise<StreamMessage> {
    const sock = await this.dial(host, port, timeoutMs);
    this.sockets.add(sock);
    try {
      sock.setNoDelay(true);
      sock.write(this.encode(m));
      return await this.readStream(sock, timeoutMs);
    } finally {
      this.sockets.delete(sock);
      sock.destroy();
    }
  }

  private encode(m: StreamMessage): Buffer {
    return encodeStream(m, { compress: this.o.compression, key: this.o.keyring?.primary ?? null });
  }

  private onPacket(datagram: Buffer, from: RemoteInfo): void {
    const c = this.o.counters;
    c.udpReceived++;
    try {
      if (datagram.length > MAX_PACKET_SIZE) throw new MemberlistDecodeError('too-large', 'oversized datagram', 0);
      const decoded = decodePacket(datagram, this.o.keyring?.keys ?? null);
      if (decoded.errors.length > 0 || decoded.truncatedParts > 0) {
        c.messagesInvalid += decoded.errors.length + decoded.truncatedParts;
        this.o.log.debug({ op: 'memberlist', peer: `${from.address}:${from.port}`, errors: decoded.errors.map((e) => e.message) }, 'dropped invalid messages');
      }
      for (const m of decoded.messages) this.handlers?.packet(m, from);
    } catch (err) {
      if (!(err instanceof MemberlistDecodeError)) {
        this.o.log.error({ op: 'memberlist', peer: `${from.address}:${from.port}`, err: (err as Error).message }, 'error handling packet');
        return;
      }
      c.udpDropped++;
      if (err.code === 'decrypt') c.udpUndecryptable++;
      this.o.log.debug({ op: 'memberlist', peer: `${from.address}:${from.port}`, err: err.message }, 'dropped packet');
    }
  }

  private onStream(sock: Socket): void {
    const c = this.o.counters;
    if (!this.open) {
      sock.destroy();
      return;
    }
    if (this.inboundStreams >= MAX_INBOUND_STREAMS) {
      c.tcpDropped++;
      sock.destroy();
      return;
    }
    c.tcpAccepted++;
    this.inboundStreams++;
    this.sockets.add(sock);
    sock.on('error', () => undefined);
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    this.serveStream(sock)
      .catch((err: unknown) => {
        c.tcpDropped++;
        if (err instanceof MemberlistDecodeError && err.code === 'decrypt') c.tcpUndecryptable++;
        this.o.log.debug({ op: 'memberlist', peer, err: (err as Error).message }, 'dropped stream');
        // like Go: tell the peer what went wrong (compressed and encrypted with our key)
        if (err instanceof MemberlistDecodeError && !sock.destroyed) {
          try {
            sock.write(this.encode({ type: 'err', body: { error: err.message } }));
          } catch {
            /* the socket is going away anyway */
          }
        }
      })
      .finally(() => {
        this.inboundStreams--;
        this.sockets.delete(sock);
        sock.end();
        setTimeout(() => sock.destroy(), 1000).unref();
      });
  }

  private async serveStream(sock: Socket): Promise<void> {
    const msg = await this.readStream(sock, this.o.streamTimeoutMs);
    this.handlers?.stream(msg, (m) => sock.write(this.encode(m)));
  }

  /** Reads one stream message from a socket, with the TCP deadline. */
  private readStream(sock: Socket, deadlineMs: number): Promise<StreamMessage> {
    return new Promise<StreamMessage>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      let needed = 1; // skip parse attempts until at least this many bytes are there
      const timer = setTimeout(() => finish(new Error('stream deadline reached')), deadlineMs);
      const finish = (err: Error | null, msg?: StreamMessage): void => {
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('end', onEnd);
        sock.off('error', onError);
        sock.off('close', onEnd);
        if (err) reject(err);
        else resolve(msg!);
      };
      const onData = (d: Buffer): void => {
        chunks.push(d);
        total += d.length;
        if (total > MAX_STREAM_LENGTH + 5) return finish(new MemberlistDecodeError('too-large', 'stream exceeds the size limit', 0));
        if (total < needed) return;
        try {
          const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
          chunks.length = 0;
          chunks.push(buf);
          const p = parseStream(buf, { keys: this.o.keyring?.keys ?? null });
          if (p.status === 'done') finish(null, p.message);
          else needed = Math.max(total + 1, p.needed ?? 0);
        } catch (err) {
          finish(err as Error);
        }
      };
      const onEnd = (): void => finish(new Error('connection closed before a whole message arrived'));
      const onError = (err: Error): void => finish(err);
      sock.on('data', onData);
      sock.on('end', onEnd);
      sock.on('close', onEnd);
      sock.on('error', onError);
    });
  }

  private dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const sock = connect({ host, port, localAddress: this.o.bindAddr === '0.0.0.0' || this.o.bindAddr === '::' ? undefined : this.o.bindAddr });
      const t = setTimeout(() => { sock.destroy(); reject(new Error(`dial ${host}:${port} timed out`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(t); resolve(sock); });
      sock.once('error', (err) => { clearTimeout(t); reject(err); });
    });
  }
}
