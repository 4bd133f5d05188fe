/* Sockets for the layer-2 announcer that Node cannot open itself:
 *  - AF_PACKET/SOCK_RAW bound to one interface and EtherType ARP (whole Ethernet frames in and out);
 *  - AF_PACKET/SOCK_RAW with a BPF filter for unicast Neighbor Solicitations (NUD probes);
 *  - AF_INET6/SOCK_RAW/IPPROTO_ICMPV6 bound to one interface, passing only Neighbor Solicitations,
 *    hop limit 255 both ways, IPV6_FREEBIND so advertisements can be sourced from the announced
 *    address itself, and solicited-node multicast membership on request.
 * Reads are non-blocking and driven by a libuv poll watcher on Node's loop (net.Socket refuses
 * AF_PACKET descriptors). Nothing here parses or builds packets: that is TypeScript's job
 * (lib/layer2). Hot-path calls (recv/send) return -errno instead of throwing; set-up calls throw
 * an Error whose `code` is the errno name, with a message that says what is needed. */
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/icmp6.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/filter.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static napi_value pk_throw(napi_env env, const char *what, int err) {
  char msg[320];
  char name[64];
  uv_err_name_r(-err, name, sizeof name); /* libuv's code on Unix is -errno: "EPERM", ... (portable, unlike strerrorname_np) */
  if (err == EPERM || err == EACCES) {
    snprintf(msg, sizeof msg, "%s: %s: the layer-2 announcer needs root or the CAP_NET_RAW capability", what, strerror(err));
  } else {
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  }
  napi_value code, message, error, errnum, syscall;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errnum);
  napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "errno", errnum);
  napi_set_named_property(env, error, "syscall", syscall);
  napi_throw(env, error);
  return NULL;
}

static napi_value pk_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

static int pk_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return -1;
  }
  return 0;
}

static int pk_i32(napi_env env, napi_value v, int32_t *out, const char *usage) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return -1;
  }
  return 0;
}

static int pk_buf(napi_env env, napi_value v, uint8_t **data, size_t *len, size_t min, const char *usage) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, v, (void **)data, len) != napi_ok || *len < min) {
    napi_throw_type_error(env, NULL, usage);
    return -1;
  }
  return 0;
}

/* Int32Array of at least n elements, for per-packet metadata without allocating objects. */
static int pk_meta(napi_env env, napi_value v, int32_t **out, size_t n, const char *usage) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array || length < n) {
    napi_throw_type_error(env, NULL, usage);
    return -1;
  }
  *out = data;
  return 0;
}

/* packetOpenArp(ifindex[, etherType]) -> fd: AF_PACKET socket for the frames of one EtherType
 * (ARP unless given; test tools also capture IPv6) on one interface. */
static napi_value js_open_arp(napi_env env, napi_callback_info info) {
  static const char *usage = "packetOpenArp(ifindex, etherType?) needs an interface index";
  napi_value argv[2];
  size_t argc = 2;
  int32_t ifindex, ethertype = ETH_P_ARP;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || pk_i32(env, argv[0], &ifindex, usage)) {
    if (argc < 1) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (argc >= 2) {
    napi_valuetype t;
    napi_typeof(env, argv[1], &t);
    if (t != napi_undefined && pk_i32(env, argv[1], &ethertype, usage)) return NULL;
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons((uint16_t)ethertype));
  if (fd < 0) return pk_throw(env, "socket(AF_PACKET, SOCK_RAW)", errno);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)ethertype);
  sll.sll_ifindex = ifindex;
  int one = 1;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    int err = errno;
    close(fd);
    return pk_throw(env, "bind(AF_PACKET)", err);
  }
  /* VLAN tags stripped by the driver/kernel are reported in the auxiliary data */
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
    int err = errno;
    close(fd);
    return pk_throw(env, "setsockopt(PACKET_AUXDATA)", err);
  }
  /* our own transmissions need not come back (older kernels lack it: PACKET_OUTGOING is checked too) */
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  return pk_int(env, fd);
}

/* packetOpenUnicastSolicitations(ifindex) -> fd: AF_PACKET socket receiving only IPv6 frames that
 * carry an ICMPv6 Neighbor Solicitation to a unicast destination (neighbour unreachability
 * probes). The kernel does not deliver those to a raw ICMPv6 socket when the destination is a
 * service address it does not own, so they are taken off the wire here. A classic BPF filter is
 * attached before the socket is bound, so no other traffic is ever queued. */
static napi_value js_open_unicast_ns(napi_env env, napi_callback_info info) {
  static const char *usage = "packetOpenUnicastSolicitations(ifindex) needs an interface index";
  napi_value argv[1];
  int32_t ifindex;
  if (pk_args(env, info, 1, argv, usage) || pk_i32(env, argv[0], &ifindex, usage)) return NULL;
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),              /* EtherType */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 7),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 6),          /* IPv6 next header */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMPV6, 0, 5),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 24),         /* first byte of the destination */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xff, 3, 0),     /* multicast: the raw ICMPv6 socket has those */
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 40),         /* ICMPv6 type */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ND_NEIGHBOR_SOLICIT, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = { sizeof code / sizeof code[0], code };
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); /* protocol 0: nothing queued yet */
  if (fd < 0) return pk_throw(env, "socket(AF_PACKET, SOCK_RAW)", errno);
  int one = 1;
  const char *what = NULL;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_IPV6);
  sll.sll_ifindex = ifindex;
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) what = "setsockopt(SO_ATTACH_FILTER)";
  else if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) what = "setsockopt(PACKET_AUXDATA)";
  else if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) what = "bind(AF_PACKET)";
  if (what) {
    int err = errno;
    close(fd);
    return pk_throw(env, what, err);
  }
  (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  return pk_int(env, fd);
}

/* packetRecvArp(fd, buf, meta) -> length | -errno. meta: [pkttype, vlanTagged(0/1), vlanTci, ifindex]. */
static napi_value js_recv_arp(napi_env env, napi_callback_info info) {
  static const char *usage = "packetRecvArp(fd, buffer, Int32Array(4))";
  napi_value argv[3];
  int32_t fd;
  uint8_t *data;
  size_t len;
  int32_t *meta;
  if (pk_args(env, info, 3, argv, usage) || pk_i32(env, argv[0], &fd, usage) || pk_buf(env, argv[1], &data, &len, 1, usage) ||
      pk_meta(env, argv[2], &meta, 4, usage)) return NULL;
  struct sockaddr_ll from;
  union { char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))]; struct cmsghdr align; } control;
  struct iovec iov = { data, len };
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n = recvmsg(fd, &msg, MSG_TRUNC);
  if (n < 0) return pk_int(env, -errno);
  meta[0] = from.sll_pkttype;
  meta[1] = 0;
  meta[2] = 0;
  meta[3] = from.sll_ifindex;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof aux);
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) || aux.tp_vlan_tci != 0) {
        meta[1] = 1;
        meta[2] = aux.tp_vlan_tci;
      }
    }
  }
  /* a frame longer than the buffer reports its full length; the caller sees length > buffer */
  return pk_int(env, n);
}

/* packetSendFrame(fd, ifindex, frame) -> bytes sent | -errno. The frame is a whole Ethernet frame. */
static napi_value js_send_frame(napi_env env, napi_callback_info info) {
  static const char *usage = "packetSendFrame(fd, ifindex, frame)";
  napi_value argv[3];
  int32_t fd, ifindex;
  uint8_t *data;
  size_t len;
  if (pk_args(env, info, 3, argv, usage) || pk_i32(env, argv[0], &fd, usage) || pk_i32(env, argv[1], &ifindex, usage) ||
      pk_buf(env, argv[2], &data, &len, 14, usage)) return NULL;
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  memcpy(&to.sll_protocol, data + 12, 2); /* the frame's own EtherType, already in network order */
  to.sll_ifindex = ifindex;
  to.sll_halen = ETH_ALEN;
  memcpy(to.sll_addr, data, ETH_ALEN);
  ssize_t n = sendto(fd, data, len, 0, (struct sockaddr *)&to, sizeof to);
  return pk_int(env, n < 0 ? -errno : n);
}

/* packetOpenNdp(ifindex, ifname) -> fd: raw ICMPv6 socket for Neighbor Solicitations on one interface. */
static napi_value js_open_ndp(napi_env env, napi_callback_info info) {
  static const char *usage = "packetOpenNdp(ifindex, ifname)";
  napi_value argv[2];
  int32_t ifindex;
  char ifname[IFNAMSIZ + 1];
  size_t namelen;
  if (pk_args(env, info, 2, argv, usage) || pk_i32(env, argv[0], &ifindex, usage)) return NULL;
  if (napi_get_value_string_utf8(env, argv[1], ifname, sizeof ifname, &namelen) != napi_ok || namelen == 0 || namelen >= IFNAMSIZ) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) return pk_throw(env, "socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)", errno);
  const char *what = NULL;
  int one = 1, zero = 0, hops = 255;
  struct icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ND_NEIGHBOR_SOLICIT, &filter);
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, namelen) < 0) what = "setsockopt(SO_BINDTODEVICE)";
  else if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0) what = "setsockopt(ICMP6_FILTER)";
  else if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one) < 0) what = "setsockopt(IPV6_RECVHOPLIMIT)";
  else if (setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) < 0) what = "setsockopt(IPV6_UNICAST_HOPS)";
  else if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) < 0) what = "setsockopt(IPV6_MULTICAST_HOPS)";
  else if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero) < 0) what = "setsockopt(IPV6_MULTICAST_LOOP)";
  else if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) < 0) what = "setsockopt(IPV6_MULTICAST_IF)";
  else if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one) < 0) what = "setsockopt(IPV6_FREEBIND)";
  if (what) {
    int err = errno;
    close(fd);
    return pk_throw(env, what, err);
  }
  return pk_int(env, fd);
}

/* packetMembership(fd, group16, ifindex, join) -> 0 | -errno (join: IPV6_ADD_MEMBERSHIP, else DROP). */
static napi_value js_membership(napi_env env, napi_callback_info info) {
  static const char *usage = "packetMembership(fd, group: Buffer(16), ifindex, join: boolean)";
  napi_value argv[4];
  int32_t fd, ifindex;
  uint8_t *group;
  size_t glen;
  bool join;
  if (pk_args(env, info, 4, argv, usage) || pk_i32(env, argv[0], &fd, usage) || pk_buf(env, argv[1], &group, &glen, 16, usage) ||
      pk_i32(env, argv[2], &ifindex, usage)) return NULL;
  if (napi_get_value_bool(env, argv[3], &join) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  struct ipv6_mreq mreq;
  memcpy(&mreq.ipv6mr_multiaddr, group, 16);
  mreq.ipv6mr_interface = (unsigned)ifindex;
  int rc = setsockopt(fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, &mreq, sizeof mreq);
  return pk_int(env, rc < 0 ? -errno : 0);
}

/* packetRecvNdp(fd, buf, source: Buffer(16), meta) -> length | -errno. meta: [hopLimit (-1 unknown), scopeId]. */
static napi_value js_recv_ndp(napi_env env, napi_callback_info info) {
  static const char *usage = "packetRecvNdp(fd, buffer, source: Buffer(16), Int32Array(2))";
  napi_value argv[4];
  int32_t fd;
  uint8_t *data, *source;
  size_t len, slen;
  int32_t *meta;
  if (pk_args(env, info, 4, argv, usage) || pk_i32(env, argv[0], &fd, usage) || pk_buf(env, argv[1], &data, &len, 1, usage) ||
      pk_buf(env, argv[2], &source, &slen, 16, usage) || pk_meta(env, argv[3], &meta, 2, usage)) return NULL;
  struct sockaddr_in6 from;
  union { char buf[CMSG_SPACE(sizeof(int)) * 2]; struct cmsghdr align; } control;
  struct iovec iov = { data, len };
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  memset(&from, 0, sizeof from);
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n = recvmsg(fd, &msg, MSG_TRUNC);
  if (n < 0) return pk_int(env, -errno);
  memcpy(source, &from.sin6_addr, 16);
  meta[0] = -1;
  meta[1] = (int32_t)from.sin6_scope_id;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
      int hl;
      memcpy(&hl, CMSG_DATA(c), sizeof hl);
      meta[0] = hl;
    }
  }
  return pk_int(env, n);
}

/* packetSendNdp(fd, message, destination16, ifindex, source16|null) -> bytes | -errno.
 * With a source, the packet leaves from that address (IPV6_PKTINFO; FREEBIND makes it legal even
 * when the address is not configured on this host, which is the normal case for a service IP). */
static napi_value js_send_ndp(napi_env env, napi_callback_info info) {
  static const char *usage = "packetSendNdp(fd, message, destination: Buffer(16), ifindex, source: Buffer(16) | null)";
  napi_value argv[5];
  int32_t fd, ifindex;
  uint8_t *data, *dst, *src = NULL;
  size_t len, dlen, slen;
  if (pk_args(env, info, 5, argv, usage) || pk_i32(env, argv[0], &fd, usage) || pk_buf(env, argv[1], &data, &len, 1, usage) ||
      pk_buf(env, argv[2], &dst, &dlen, 16, usage) || pk_i32(env, argv[3], &ifindex, usage)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[4], &t);
  if (t != napi_null && t != napi_undefined && pk_buf(env, argv[4], &src, &slen, 16, usage)) return NULL;
  struct sockaddr_in6 to;
  memset(&to, 0, sizeof to);
  to.sin6_family = AF_INET6;
  memcpy(&to.sin6_addr, dst, 16);
  to.sin6_scope_id = (uint32_t)ifindex;
  struct iovec iov = { data, len };
  union { char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (src) {
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
    struct in6_pktinfo pi;
    memcpy(&pi.ipi6_addr, src, 16);
    pi.ipi6_ifindex = (unsigned)ifindex;
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }
  ssize_t n = sendmsg(fd, &msg, 0);
  return pk_int(env, n < 0 ? -errno : n);
}

/* packetPoll(fd, callback(status)) -> stop(): calls back on Node's loop whenever fd is readable. */
typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int stopped;
} pk_watcher;

static void pk_on_closed(uv_handle_t *h) { free(h->data); }

static void pk_on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  pk_watcher *w = h->data;
  if (w->stopped) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, global, arg, result;
  napi_get_reference_value(env, w->callback, &cb);
  napi_get_global(env, &global);
  napi_create_int32(env, status, &arg);
  /* napi_make_callback runs microtasks afterwards and routes exceptions to process 'uncaughtException' */
  napi_make_callback(env, w->context, global, cb, 1, &arg, &result);
  napi_close_handle_scope(env, scope);
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  void *data;
  size_t argc = 0;
  if (napi_get_cb_info(env, info, &argc, NULL, NULL, &data) != napi_ok) return NULL;
  pk_watcher *w = data;
  if (!w->stopped) {
    w->stopped = 1;
    uv_poll_stop(&w->handle);
    napi_delete_reference(env, w->callback);
    napi_async_destroy(env, w->context);
    uv_close((uv_handle_t *)&w->handle, pk_on_closed);
  }
  return NULL;
}

static napi_value js_poll(napi_env env, napi_callback_info info) {
  static const char *usage = "packetPoll(fd, callback)";
  napi_value argv[2];
  int32_t fd;
  if (pk_args(env, info, 2, argv, usage) || pk_i32(env, argv[0], &fd, usage)) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return pk_throw(env, "napi_get_uv_event_loop", EINVAL);
  pk_watcher *w = calloc(1, sizeof *w);
  if (!w) return pk_throw(env, "calloc", ENOMEM);
  w->env = env;
  int rc = uv_poll_init_socket(loop, &w->handle, fd);
  if (rc != 0) {
    free(w);
    napi_throw_error(env, uv_err_name(rc), uv_strerror(rc));
    return NULL;
  }
  w->handle.data = w;
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_value name;
  napi_create_string_utf8(env, "metallb.packetPoll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->context);
  uv_poll_start(&w->handle, UV_READABLE, pk_on_readable);
  napi_value stop;
  napi_create_function(env, "stop", NAPI_AUTO_LENGTH, js_stop, w, &stop);
  return stop;
}

/* packetClose(fd): stop the poll watcher first. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  static const char *usage = "packetClose(fd)";
  napi_value argv[1];
  int32_t fd;
  if (pk_args(env, info, 1, argv, usage) || pk_i32(env, argv[0], &fd, usage)) return NULL;
  if (close(fd) < 0) return pk_throw(env, "close", errno);
  return NULL;
}

napi_status metallb_init_packet(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "packetOpenArp", 0, js_open_arp, 0, 0, 0, napi_enumerable, 0 },
    { "packetRecvArp", 0, js_recv_arp, 0, 0, 0, napi_enumerable, 0 },
    { "packetOpenUnicastSolicitations", 0, js_open_unicast_ns, 0, 0, 0, napi_enumerable, 0 },
    { "packetSendFrame", 0, js_send_frame, 0, 0, 0, napi_enumerable, 0 },
    { "packetOpenNdp", 0, js_open_ndp, 0, 0, 0, napi_enumerable, 0 },
    { "packetMembership", 0, js_membership, 0, 0, 0, napi_enumerable, 0 },
    { "packetRecvNdp", 0, js_recv_ndp, 0, 0, 0, napi_enumerable, 0 },
    { "packetSendNdp", 0, js_send_ndp, 0, 0, 0, napi_enumerable, 0 },
    { "packetPoll", 0, js_poll, 0, 0, 0, napi_enumerable, 0 },
    { "packetClose", 0, js_close, 0, 0, 0, napi_enumerable, 0 },
  };
  return napi_define_properties(env, exports, sizeof d / sizeof *d, d);
}
