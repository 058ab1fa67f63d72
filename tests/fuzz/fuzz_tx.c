/*
 * tests/fuzz/fuzz_tx.c - transactions: decode, round trip, id, signature,
 * JSON rendering and the state machine.
 *
 * Input: transaction bytes, exactly as POST /v1/txs, a block or a peer
 * would deliver them. Properties:
 *   - a rejected decode leaves the struct zeroed;
 *   - an accepted one encodes back to the same bytes, and its id from the
 *     struct equals its id from the bytes;
 *   - signature verification answers OK, BAD_SIG or BAD_KEY, nothing else;
 *   - the JSON rendering the API serves is built (labels and refs may be
 *     any bytes);
 *   - cairn_state_apply_tx on the pre-state of fuzz.h never crashes and is
 *     atomic: on error the view's change digest and change count are
 *     exactly as before. The signature is not required for this step
 *     (fuzzed signatures almost never verify, and apply does not check
 *     them: the caller does), so the state machine sees every decodable
 *     transaction. On success the view is rolled back to the pre-state and
 *     must again match its digest.
 */
#include "fuzz.h"

#include <jansson.h>

#include "cairn/json.h"
#include "cairn/state.h"
#include "cairn/tx.h"
#include "cairn/view.h"

static fuzz_state *fuzz_tx_state(void) {
  static fuzz_state st;
  static bool built = false;
  if (!built) {
    fuzz_state_build(&st);
    built = true;
  }
  return &st;
}

/* Apply tx to the pre-state, check atomicity, and restore the pre-state. */
static void fuzz_tx_apply(const cairn_tx *tx, const uint8_t id[32]) {
  fuzz_state *st = fuzz_tx_state();
  cairn_exec_ctx ctx = fuzz_exec_ctx();
  uint8_t digest[CAIRN_HASH_BYTES];
  size_t sp = cairn_view_savepoint(st->view);
  FUZZ_CHECK(sp == st->savepoint);
  cairn_err err = cairn_state_apply_tx(st->view, &ctx, tx, id);
  FUZZ_CHECK(err != CAIRN_ERR_INTERNAL && err != CAIRN_ERR_CORRUPT &&
             err != CAIRN_ERR_STORE);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(cairn_view_savepoint(st->view) == sp);
    FUZZ_CHECK(cairn_view_change_count(st->view) == st->changes);
    FUZZ_CHECK(cairn_view_digest(st->view, digest) == CAIRN_OK);
    FUZZ_CHECK(memcmp(digest, st->digest, sizeof digest) == 0);
    return;
  }
  FUZZ_CHECK(cairn_view_change_count(st->view) >= st->changes);
  cairn_view_rollback(st->view, sp);
  FUZZ_CHECK(cairn_view_change_count(st->view) == st->changes);
  FUZZ_CHECK(cairn_view_digest(st->view, digest) == CAIRN_OK);
  FUZZ_CHECK(memcmp(digest, st->digest, sizeof digest) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  (void)fuzz_tx_state();
  cairn_tx tx;
  cairn_err err = cairn_tx_decode(&tx, data, size);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&tx, sizeof tx));
    return 0;
  }
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  size_t len = 0;
  FUZZ_CHECK(cairn_tx_encode(buf, sizeof buf, &len, &tx) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);

  uint8_t id[CAIRN_HASH_BYTES], id2[CAIRN_HASH_BYTES];
  FUZZ_CHECK(cairn_tx_id(id, &tx) == CAIRN_OK);
  cairn_tx_id_bytes(id2, data, size);
  FUZZ_CHECK(memcmp(id, id2, sizeof id) == 0);

  err = cairn_tx_verify(&tx);
  FUZZ_CHECK(err == CAIRN_OK || err == CAIRN_ERR_BAD_SIG ||
             err == CAIRN_ERR_BAD_KEY);

  json_t *j = cairn_json_tx(&tx, id);
  FUZZ_CHECK(j != NULL);
  char *text = json_dumps(j, JSON_COMPACT);
  FUZZ_CHECK(text != NULL);
  free(text);
  json_decref(j);

  fuzz_tx_apply(&tx, id);
  return 0;
}
