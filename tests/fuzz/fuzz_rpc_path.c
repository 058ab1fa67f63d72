/*
 * tests/fuzz/fuzz_rpc_path.c - request routing: the path and method of
 * every API request.
 *
 * Input: one byte choosing the method, then the path. Properties: the
 * router never reads outside the path; a found handler's parameter is
 * NULL or one non-empty segment inside the path buffer without a '/'; a
 * miss names the method to allow (405) only when some route has this
 * path. The parameter then goes through the parsers the handlers use
 * (height, hex id, address), which must answer without crashing and
 * zero their outputs on refusal.
 */
#include "fuzz.h"

#include "../../node/rpc_internal.h"
#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/json.h"

static const enum evhttp_cmd_type fuzz_methods[] = {
    EVHTTP_REQ_GET,    EVHTTP_REQ_POST,    EVHTTP_REQ_HEAD,
    EVHTTP_REQ_PUT,    EVHTTP_REQ_DELETE,  EVHTTP_REQ_OPTIONS,
    EVHTTP_REQ_TRACE,  EVHTTP_REQ_CONNECT, EVHTTP_REQ_PATCH};
#define FUZZ_METHODS (sizeof fuzz_methods / sizeof fuzz_methods[0])

static void fuzz_param_parsers(const char *param) {
  uint64_t height = 1;
  if (cairn_parse_u64(param, &height) != CAIRN_OK) FUZZ_CHECK(height == 0);
  uint8_t id[32];
  if (cairn_hex_decode_exact(id, sizeof id, param) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(id, sizeof id));
  }
  uint8_t pk[32];
  if (cairn_address_decode(pk, param) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(pk, sizeof pk));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  if (size < 1) return 0;
  enum evhttp_cmd_type method = fuzz_methods[data[0] % FUZZ_METHODS];
  char *path = fuzz_cstr(data + 1, size - 1);
  size_t path_len = strlen(path);
  cairn_rpc_found found;
  cairn_rpc_route_find(path, method, &found);
  if (found.handler != NULL) {
    FUZZ_CHECK(found.allow == NULL);
    FUZZ_CHECK(path_len < CAIRN_RPC_PATH_BYTES_MAX);
    if (found.param != NULL) {
      FUZZ_CHECK(found.param > path && found.param < path + path_len);
      FUZZ_CHECK(found.param[0] != '\0' && strchr(found.param, '/') == NULL);
      fuzz_param_parsers(found.param);
    }
  } else if (found.allow != NULL) {
    FUZZ_CHECK(strcmp(found.allow, "GET") == 0 ||
               strcmp(found.allow, "POST") == 0);
  }
  free(path);
  return 0;
}
