/* Shared declarations of the metallb-ts N-API addon. Each concern lives in its own file and
 * registers its functions on the exports object from addon.c. */
#ifndef METALLB_ADDON_H
#define METALLB_ADDON_H
#include <node_api.h>

/* packet.c: AF_PACKET (ARP) and raw ICMPv6 (NDP) sockets with a libuv poll watcher. */
napi_status metallb_init_packet(napi_env env, napi_value exports);
/* tcp_md5.c: TCP sockets with TCP_MD5SIG (RFC 2385) set before connect/listen. */
napi_status metallb_init_tcp_md5(napi_env env, napi_value exports);

#endif
