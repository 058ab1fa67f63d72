/*
 * tests/fuzz/fuzz_commit.c - commits (the precommit signatures stored with
 * every block).
 *
 * Input: commit bytes. Properties: a rejected commit leaves the struct
 * zeroed; an accepted one re-encodes to the same bytes; rebuilding it with
 * cairn_commit_add from its signatures in reverse order encodes to the same
 * bytes too (the canonical order does not depend on insertion order), and
 * adding a signer twice is refused;
 * verification against the test genesis' validator set answers OK or
 * BAD_COMMIT; the API's JSON rendering is built.
 */
#include "fuzz.h"

#include <jansson.h>

#include "cairn/block.h"
#include "cairn/json.h"

static const cairn_genesis *fuzz_commit_genesis(void) {
  static cairn_genesis g;
  static bool built = false;
  if (!built) {
    tu_genesis(&g);
    built = true;
  }
  return &g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static cairn_commit c, again;
  static uint8_t buf[CAIRN_COMMIT_BYTES_MAX];
  fuzz_init();
  const cairn_genesis *g = fuzz_commit_genesis();
  if (cairn_commit_decode(&c, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&c, sizeof c));
    return 0;
  }
  size_t len = 0;
  FUZZ_CHECK(cairn_commit_encode(buf, sizeof buf, &len, &c) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);

  memset(&again, 0, sizeof again);
  again.height = c.height;
  again.round = c.round;
  memcpy(again.block_hash, c.block_hash, sizeof again.block_hash);
  for (uint16_t i = c.n_sigs; i > 0; i--) {
    FUZZ_CHECK(cairn_commit_add(&again, c.sigs[i - 1].validator,
                                c.sigs[i - 1].sig) == CAIRN_OK);
  }
  size_t len2 = 0;
  static uint8_t buf2[CAIRN_COMMIT_BYTES_MAX];
  FUZZ_CHECK(cairn_commit_encode(buf2, sizeof buf2, &len2, &again) ==
             CAIRN_OK);
  FUZZ_CHECK(len2 == size && memcmp(buf2, data, size) == 0);
  FUZZ_CHECK(cairn_commit_add(&again, c.sigs[0].validator, c.sigs[0].sig) ==
             CAIRN_ERR_EXISTS);

  cairn_err err = cairn_commit_verify(
      &c, (const uint8_t *)g->chain_id, g->chain_id_len, c.height,
      c.block_hash, &g->validators);
  FUZZ_CHECK(err == CAIRN_OK || err == CAIRN_ERR_BAD_COMMIT);
  json_t *j = cairn_json_commit(&c);
  FUZZ_CHECK(j != NULL);
  json_decref(j);
  return 0;
}
