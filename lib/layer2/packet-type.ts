// Linux sll_pkttype values (linux/if_packet.h): who a received frame was addressed to. Apart
// from sockets.ts so that the decision core (decisions.ts) needs no socket code.
export const PacketType = { Host: 0, Broadcast: 1, Multicast: 2, OtherHost: 3, Outgoing: 4 } as const;
