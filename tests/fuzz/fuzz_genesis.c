/*
 * tests/fuzz/fuzz_genesis.c - the canonical binary genesis.
 *
 * Input: genesis bytes (what is hashed into the genesis hash). Properties:
 * a rejected input leaves the struct zeroed; an accepted one re-encodes to
 * the same bytes, hashes, and survives the JSON round trip operators use:
 * to_json, then from_json, then encode gives the same bytes again.
 */
#include "fuzz.h"

#include "cairn/genesis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static cairn_genesis g, again;
  static uint8_t buf[CAIRN_GENESIS_BYTES_MAX];
  fuzz_init();
  if (cairn_genesis_decode(&g, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&g, sizeof g));
    return 0;
  }
  size_t len = 0;
  FUZZ_CHECK(cairn_genesis_encode(buf, sizeof buf, &len, &g) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
  uint8_t hash[CAIRN_HASH_BYTES];
  FUZZ_CHECK(cairn_genesis_hash(hash, &g) == CAIRN_OK);

  char *text = NULL;
  char why[256];
  FUZZ_CHECK(cairn_genesis_to_json(&g, &text) == CAIRN_OK && text != NULL);
  cairn_err err = cairn_genesis_from_json(&again, text, strlen(text), why,
                                          sizeof why);
  if (err != CAIRN_OK) fprintf(stderr, "from_json: %s\n%s\n", why, text);
  FUZZ_CHECK(err == CAIRN_OK);
  free(text);
  FUZZ_CHECK(cairn_genesis_encode(buf, sizeof buf, &len, &again) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
  return 0;
}
