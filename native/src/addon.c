#include "addon.h"

static napi_value init(napi_env env, napi_value exports) {
  if (metallb_init_packet(env, exports) != napi_ok) return NULL;
  if (metallb_init_tcp_md5(env, exports) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
