// lib/memberlist: a gossip member wire-compatible with hashicorp/memberlist v0.1.7 (the version
// MetalLB v0.9-v0.12 pins), so speakers of this project and upstream speakers share one cluster.
//
// Public API (for the speaker):
//
//   import { Memberlist } from '../memberlist/index.js';
//   const ml = new Memberlist({
//     name: nodeName,               // Kubernetes node name
//     bindAddr: podIP,              // UDP+TCP bind address; also the advertised address
//     bindPort: 7946,               // default 7946 (0 = pick one; see ml.boundPort())
//     advertiseAddr?: string,       // only when bindAddr is unspecified
//     secretKey?: Buffer,           // raw bytes of Secret memberlist/secretkey; AES key derived as
//                                   // MetalLB does (first 16 bytes of secret ‖ SHA-256("")).
//                                   // Empty/absent: unencrypted (a warning is logged)
//     secretKeySize?: 16 | 32,      // 32 for MetalLB v0.14+ clusters; default 16
//     timers?: 'lan' | 'fast' | Partial<MemberlistTimers>,   // default 'lan' (upstream defaults)
//     compression?: boolean,        // default true, as upstream
//     logger?: Logger,              // lib/util/log.ts (pino)
//   });
//   await ml.start();               // binds, adds itself (incarnation 1), starts probe/gossip/push-pull
//   const n = await ml.join(['192.0.2.11', '192.0.2.12:7946']);  // push/pull each; resolves to the
//                                   // number that worked, rejects only if every one failed
//   ml.members();                   // [{ name, addr, port, state: 'alive'|'suspect', incarnation, meta }]
//                                   // alive and suspect nodes, ourselves included (upstream Members())
//   ml.on('join',   (m: MemberInfo) => …);   // node became alive (also ourselves at start)
//   ml.on('leave',  (m: MemberInfo) => …);   // m.state 'left' (graceful) or 'dead' (failed)
//   ml.on('update', (m: MemberInfo) => …);   // node metadata changed
//   ml.counters;                    // { udpReceived, udpDropped, udpUndecryptable, messagesInvalid,
//                                   //   tcpAccepted, tcpDropped, tcpUndecryptable, refutations }
//   await ml.leave(1000);           // graceful leave; true when fully broadcast, false on timeout
//   await ml.shutdown();            // close sockets and timers (without leave() this looks like a crash)
//
// Layout: msgpack.ts (Go-exact msgpack subset), messages.ts (message bodies), lzw.ts (Go's LZW),
// security.ts (key derivation, keyring, AES-GCM), packet.ts (UDP framing), stream.ts (TCP
// framing), broadcast.ts (retransmit-limited gossip queue), config.ts (timer profiles and
// formulas), address.ts (wire addresses), clock.ts (timers), transport.ts (the UDP+TCP sockets),
// members.ts (the member state machine: alive/suspect/dead/refute), scheduler.ts (probes,
// gossip, push/pull timing), memberlist.ts (the member: public API wiring the three together).
// Every decoder throws MemberlistDecodeError (errors.ts).

export { Memberlist, type MemberInfo, type MemberState, type MemberlistOptions, type MemberlistCounters, type MemberlistEvents } from './memberlist.js';
export { LAN_TIMERS, FAST_TIMERS, resolveTimers, type MemberlistTimers, type TimerProfile } from './config.js';
export { deriveSecretKey, Keyring } from './security.js';
export { MemberlistDecodeError, type DecodeErrorCode } from './errors.js';
