#include "addon.h"

napi_status metallb_init_packet(napi_env env, napi_value exports) {
  (void)env; (void)exports;
  return napi_ok;
}
