// Typed wrappers around the packet half of the native addon (native/src/packet.c): an
// AF_PACKET socket for ARP frames and a raw ICMPv6 socket for Neighbor Discovery, each bound to
// one interface and read from Node's event loop through a libuv poll watcher. No parsing here.
import { loadNative } from '../native/index.js';
import { IPAddress } from '../ip/index.js';

interface PacketAddon {
  packetOpenArp(ifindex: number, etherType?: number): number;
  packetOpenUnicastSolicitations(ifindex: number): number;
  packetRecvArp(fd: number, buf: Buffer, meta: Int32Array): number;
  packetSendFrame(fd: number, ifindex: number, frame: Buffer): number;
  packetOpenNdp(ifindex: number, ifname: string): number;
  packetMembership(fd: number, group: Buffer, ifindex: number, join: boolean): number;
  packetRecvNdp(fd: number, buf: Buffer, source: Buffer, meta: Int32Array): number;
  packetSendNdp(fd: number, message: Buffer, destination: Buffer, ifindex: number, source: Buffer | null): number;
  packetPoll(fd: number, onReadable: (status: number) => void): () => void;
  packetClose(fd: number): void;
}

const EAGAIN = 11;
const EINVAL = 22;
/** Frames handled per readable event before yielding to the rest of the event loop. */
const MAX_READS_PER_EVENT = 256;
const RECV_BUFFER_BYTES = 2048;

export { PacketType } from './packet-type.js';

/** An error from the socket layer; `code` is the errno name (EPERM when CAP_NET_RAW is missing). */
export class Layer2SocketError extends Error {
  override readonly name = 'Layer2SocketError';
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

function addon(): PacketAddon {
  return loadNative<PacketAddon>();
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as { message?: string; code?: string };
    throw new Layer2SocketError(`${what}: ${e.message ?? String(err)}`, e.code ?? 'EUNKNOWN');
  }
}

export interface FrameMeta {
  /** sll_pkttype: who the frame was addressed to (see PacketType). */
  readonly packetType: number;
  /** True when the kernel stripped an 802.1Q tag (reported through PACKET_AUXDATA). */
  readonly vlanTagged: boolean;
  readonly vlanId: number;
}

/**
 * Whole Ethernet frames on one interface, from an AF_PACKET socket: ARP frames (the ARP
 * responder), unicast Neighbor Solicitations (NUD probes for service addresses, which the
 * kernel does not hand to the ICMPv6 socket), or every frame of one EtherType (test tools).
 */
export class FrameSocket {
  private stopPoll: (() => void) | undefined;
  private closed = false;
  private readonly meta = new Int32Array(4);
  private readonly buf = Buffer.alloc(RECV_BUFFER_BYTES);

  private constructor(private readonly fd: number, readonly ifindex: number) {}

  /** Every frame of one EtherType (ARP by default). */
  static open(ifindex: number, ifname: string, etherType = 0x0806): FrameSocket {
    const fd = wrap(`opening the packet socket on ${ifname}`, () => addon().packetOpenArp(ifindex, etherType));
    return new FrameSocket(fd, ifindex);
  }

  /** Only IPv6 frames carrying a Neighbor Solicitation to a unicast address (kernel-side BPF filter). */
  static openUnicastSolicitations(ifindex: number, ifname: string): FrameSocket {
    const fd = wrap(`opening the unicast solicitation socket on ${ifname}`, () => addon().packetOpenUnicastSolicitations(ifindex));
    return new FrameSocket(fd, ifindex);
  }

  /**
   * Calls onFrame for every frame received. The frame buffer is reused: consume it before
   * returning. Frames longer than the buffer (never ARP) are passed cut to its size.
   */
  onFrame(onFrame: (frame: Buffer, meta: FrameMeta) => void, onError: (err: Layer2SocketError) => void): void {
    if (this.stopPoll) throw new Error('FrameSocket.onFrame called twice');
    const native = addon();
    this.stopPoll = native.packetPoll(this.fd, (status) => {
      if (this.closed) return;
      if (status < 0) {
        onError(new Layer2SocketError(`poll on packet socket (ifindex ${this.ifindex}) failed: status ${status}`, 'EPOLL'));
        return;
      }
      for (let i = 0; i < MAX_READS_PER_EVENT && !this.closed; i++) {
        const n = native.packetRecvArp(this.fd, this.buf, this.meta);
        if (n === -EAGAIN) return;
        if (n < 0) {
          onError(new Layer2SocketError(`recvmsg on packet socket (ifindex ${this.ifindex}): errno ${-n}`, `ERRNO${-n}`));
          return;
        }
        onFrame(this.buf.subarray(0, Math.min(n, this.buf.length)), {
          packetType: this.meta[0],
          vlanTagged: this.meta[1] === 1,
          vlanId: this.meta[2] & 0x0fff,
        });
      }
    });
  }

  /** Sends a whole Ethernet frame; returns false when the kernel refused it (e.g. a full queue). */
  send(frame: Buffer): boolean {
    if (this.closed) return false;
    return addon().packetSendFrame(this.fd, this.ifindex, frame) === frame.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPoll?.();
    addon().packetClose(this.fd);
  }
}

export interface NdpReceiveMeta {
  /** The IPv6 source of the solicitation (16 bytes, reused: copy to keep). */
  readonly source: Buffer;
  /** The hop limit it arrived with (-1 when the kernel did not report it). */
  readonly hopLimit: number;
}

/** Raw ICMPv6 socket on one interface that receives Neighbor Solicitations only. */
export class NdpSocket {
  private stopPoll: (() => void) | undefined;
  private closed = false;
  private readonly meta = new Int32Array(2);
  private readonly source = Buffer.alloc(16);
  private readonly buf = Buffer.alloc(RECV_BUFFER_BYTES);

  private constructor(private readonly fd: number, readonly ifindex: number, readonly ifname: string) {}

  static open(ifindex: number, ifname: string): NdpSocket {
    const fd = wrap(`opening the NDP socket on ${ifname}`, () => addon().packetOpenNdp(ifindex, ifname));
    return new NdpSocket(fd, ifindex, ifname);
  }

  /** Joins (or leaves) an IPv6 multicast group on this interface. */
  membership(group: IPAddress, join: boolean): void {
    if (this.closed) return;
    const rc = addon().packetMembership(this.fd, group.toBytes(), this.ifindex, join);
    // EADDRINUSE on join / EADDRNOTAVAIL on leave mean "already so": harmless
    if (rc < 0 && rc !== -98 && rc !== -99) {
      throw new Layer2SocketError(`${join ? 'joining' : 'leaving'} ${group.toString()} on ${this.ifname}: errno ${-rc}`, `ERRNO${-rc}`);
    }
  }

  /** Calls onMessage with each ICMPv6 message received (buffer reused: consume before returning). */
  onMessage(onMessage: (message: Buffer, meta: NdpReceiveMeta) => void, onError: (err: Layer2SocketError) => void): void {
    if (this.stopPoll) throw new Error('NdpSocket.onMessage called twice');
    const native = addon();
    const meta = { source: this.source, hopLimit: -1 };
    this.stopPoll = native.packetPoll(this.fd, (status) => {
      if (this.closed) return;
      if (status < 0) {
        onError(new Layer2SocketError(`poll on NDP socket (${this.ifname}) failed: status ${status}`, 'EPOLL'));
        return;
      }
      for (let i = 0; i < MAX_READS_PER_EVENT && !this.closed; i++) {
        const n = native.packetRecvNdp(this.fd, this.buf, this.source, this.meta);
        if (n === -EAGAIN) return;
        if (n < 0) {
          onError(new Layer2SocketError(`recvmsg on NDP socket (${this.ifname}): errno ${-n}`, `ERRNO${-n}`));
          return;
        }
        meta.hopLimit = this.meta[0];
        onMessage(this.buf.subarray(0, Math.min(n, this.buf.length)), meta);
      }
    });
  }

  /**
   * Sends an ICMPv6 message (checksum filled in by the kernel, hop limit 255) to `destination`
   * out of this interface, from `source` when given (falling back to the kernel's choice if the
   * kernel refuses that source). Returns false when the kernel refused the packet.
   */
  send(message: Buffer, destination: Buffer, source?: Buffer): boolean {
    if (this.closed) return false;
    const native = addon();
    let n = native.packetSendNdp(this.fd, message, destination, this.ifindex, source ?? null);
    if (n === -EINVAL && source) n = native.packetSendNdp(this.fd, message, destination, this.ifindex, null);
    return n === message.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPoll?.();
    addon().packetClose(this.fd);
  }
}
