// lib/layer2: answers ARP (IPv4) and NDP (IPv6) for the service addresses this node announces,
// and announces gained addresses with gratuitous ARP / unsolicited Neighbor Advertisements
// (spec 4.6.2, 4.6.3). Needs root or CAP_NET_RAW (sockets from native/src/packet.c).
//
// Public contract, for the speaker:
//
//   const announcer = new Layer2Announcer({ logger, counters: layer2PromCounters(registry) });
//   await announcer.ready();               // first interface scan; rejects without CAP_NET_RAW
//   announcer.setAnnounced(ips);           // the FULL desired set of IPAddress (v4 and v6)
//   announcer.reannounce(serviceIps);      // optional: upstream's burst on every reconcile
//   announcer.close();
//
// - setAnnounced: an address that enters the set is answered for at once and announced
//   immediately on every responder interface, then every 1.1 s until 5 s have passed (IPv4: a
//   broadcast ARP request and reply per interface and round; IPv6: one unsolicited NA to ff02::1,
//   Override=1). An address that leaves the set is not answered for from the next packet on and
//   gets no further gratuitous packets. Calling it with an unchanged set does nothing.
// - reannounce: for addresses already announced, renews the 5 s gratuitous window (sending at
//   once only if the previous window had ended), as upstream does on every successful reconcile.
// - Interfaces: every qualifying interface (up, not enslaved to a bond/bridge, not NOARP, Ethernet;
//   ARP also needs the broadcast flag, NDP an IPv6 link-local address) gets responders. The list
//   is read again every 10 s (rescanIntervalMs) and on rescan(): new interfaces get responders,
//   vanished or disqualified ones are closed, a changed MAC or ifindex recreates them. No restart.
// - Replies: ARP request (untagged, to broadcast or our MAC) for an announced IPv4 address ->
//   unicast ARP reply from the interface MAC. Neighbor Solicitation (hop limit 255, with a source
//   link-layer option) for an announced IPv6 address -> NA (Solicited=1, Override=0, target
//   link-layer option = interface MAC) sourced from the announced address; this includes the
//   unicast solicitations clients send to re-check an entry (taken off the wire by a filtered
//   packet socket, since the kernel does not deliver them for an address it does not own).
//   Everything else is ignored silently.
// - Counters: metallb_layer2_requests_received / responses_sent / gratuitous_sent {ip}.
export { Layer2Announcer, RESCAN_INTERVAL_MS, type Layer2AnnouncerOptions, type InterfaceStatus } from './announcer.js';
export { layer2PromCounters, noCounters, type Layer2Counters } from './metrics.js';
export { Layer2SocketError } from './sockets.js';
export { PacketDecodeError, PacketEncodeError } from './errors.js';
export { MacAddress } from './mac.js';
export { qualifiesForArp, qualifiesForNdp, readLinks, type LinkInfo } from './interfaces.js';
export { GRATUITOUS_DURATION_MS, GRATUITOUS_INTERVAL_MS } from './gratuitous.js';
