/* TCP sockets protected by TCP MD5 signatures (RFC 2385), for BGP sessions with a password.
 * Node's net module cannot set TCP_MD5SIG, so the socket is created here, the key for the peer
 * address is installed, the socket is optionally bound to a source address, and the unconnected
 * descriptor is handed back to JavaScript, which adopts it with
 * `new net.Socket({ fd, manualStart: true }).connect(...)`. */
#define _GNU_SOURCE
#include "addon.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* Throws an Error whose `code` is the errno name (e.g. EADDRNOTAVAIL), like Node's own errors. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  char name[64];
  uv_err_name_r(-err, name, sizeof name); /* libuv's code on Unix is -errno (portable, unlike strerrorname_np) */
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, name, msg);
  return NULL;
}

/* Fills a sockaddr for family 4/6 from 4/16 address bytes and a port. Returns its length or 0. */
static socklen_t fill_sockaddr(int family, const uint8_t *bytes, size_t len, uint16_t port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (family == 4 && len == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    memcpy(&a->sin_addr, bytes, 4);
    return sizeof *a;
  }
  if (family == 6 && len == 16) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    memcpy(&a->sin6_addr, bytes, 16);
    return sizeof *a;
  }
  return 0;
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) return -1;
  if (napi_get_buffer_info(env, v, (void **)data, len) != napi_ok) return -1;
  return 0;
}

/* tcpMd5Socket(family: 4|6, peerAddress: Buffer, key: Buffer, localAddress: Buffer|null) -> fd */
static napi_value js_tcp_md5_socket(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "tcpMd5Socket(family, peerAddress, key, localAddress?) needs at least 3 arguments");
    return NULL;
  }
  int32_t family = 0;
  if (napi_get_value_int32(env, argv[0], &family) != napi_ok || (family != 4 && family != 6)) {
    napi_throw_type_error(env, NULL, "family must be 4 or 6");
    return NULL;
  }
  uint8_t *peer, *key, *local = NULL;
  size_t peer_len, key_len, local_len = 0;
  if (get_buffer(env, argv[1], &peer, &peer_len) != 0 || get_buffer(env, argv[2], &key, &key_len) != 0) {
    napi_throw_type_error(env, NULL, "peerAddress and key must be Buffers");
    return NULL;
  }
  if (argc >= 4) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_null && t != napi_undefined && get_buffer(env, argv[3], &local, &local_len) != 0) {
      napi_throw_type_error(env, NULL, "localAddress must be a Buffer or null");
      return NULL;
    }
  }
  if (key_len == 0 || key_len > TCP_MD5SIG_MAXKEYLEN) {
    napi_throw_range_error(env, NULL, "TCP MD5 key must be 1..80 bytes");
    return NULL;
  }

  struct tcp_md5sig md5;
  memset(&md5, 0, sizeof md5);
  if (fill_sockaddr(family, peer, peer_len, 0, &md5.tcpm_addr) == 0) {
    napi_throw_range_error(env, NULL, "peerAddress length does not match the family");
    return NULL;
  }
  struct sockaddr_storage local_addr;
  socklen_t local_addr_len = 0;
  if (local != NULL && (local_addr_len = fill_sockaddr(family, local, local_len, 0, &local_addr)) == 0) {
    napi_throw_range_error(env, NULL, "localAddress length does not match the family");
    return NULL;
  }
  md5.tcpm_keylen = (uint16_t)key_len;
  memcpy(md5.tcpm_key, key, key_len);

  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof md5) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt(TCP_MD5SIG)", err);
  }
  if (local != NULL && bind(fd, (struct sockaddr *)&local_addr, local_addr_len) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(source address)", err);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

/* closeFd(fd): for a descriptor that was never adopted by a net.Socket. */
static napi_value js_close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "closeFd(fd) needs a descriptor");
    return NULL;
  }
  if (close(fd) < 0) return throw_errno(env, "close", errno);
  return NULL;
}

napi_status metallb_init_tcp_md5(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "tcpMd5Socket", 0, js_tcp_md5_socket, 0, 0, 0, napi_enumerable, 0 },
    { "closeFd", 0, js_close_fd, 0, 0, 0, napi_enumerable, 0 },
  };
  return napi_define_properties(env, exports, sizeof d / sizeof *d, d);
}
