/*
 * tests/fuzz/fuzz_rpc_submit.c - the body of POST /v1/txs, the one API
 * request with a body.
 *
 * Input: the request body. Properties: a rejection is JSON, HEX or
 * OVERSIZE with nothing written and a sentence for the client; an accepted
 * body yields at most CAIRN_TX_BYTES_MAX bytes, and the canonical body
 * {"tx": "<hex>"} rebuilt from them parses to the same bytes. The bytes
 * then go through the transaction decoder as the node would (with its own
 * round trip).
 */
#include "fuzz.h"

#include <jansson.h>

#include "../../node/rpc_internal.h"
#include "cairn/encoding.h"
#include "cairn/limits.h"
#include "cairn/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t tx[CAIRN_TX_BYTES_MAX], tx2[CAIRN_TX_BYTES_MAX];
  size_t len = 0, len2 = 0;
  char why[512];
  fuzz_init();
  cairn_err err = cairn_rpc_parse_submit((const char *)data, size, tx,
                                         sizeof tx, &len, why, sizeof why);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(err == CAIRN_ERR_JSON || err == CAIRN_ERR_HEX ||
               err == CAIRN_ERR_OVERSIZE);
    FUZZ_CHECK(len == 0 && why[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(len <= sizeof tx);
  char hex[2 * CAIRN_TX_BYTES_MAX + 1];
  cairn_hex_encode(hex, sizeof hex, tx, len);
  json_t *o = json_pack("{s:s}", "tx", hex);
  FUZZ_CHECK(o != NULL);
  char *body = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  FUZZ_CHECK(body != NULL);
  FUZZ_CHECK(cairn_rpc_parse_submit(body, strlen(body), tx2, sizeof tx2, &len2,
                                    why, sizeof why) == CAIRN_OK);
  free(body);
  FUZZ_CHECK(len2 == len && memcmp(tx, tx2, len) == 0);

  cairn_tx t;
  if (cairn_tx_decode(&t, tx, len) == CAIRN_OK) {
    FUZZ_CHECK(cairn_tx_encode(tx2, sizeof tx2, &len2, &t) == CAIRN_OK);
    FUZZ_CHECK(len2 == len && memcmp(tx, tx2, len) == 0);
  }
  return 0;
}
