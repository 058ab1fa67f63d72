/*
 * tests/fuzz/fuzz_genesis_json.c - the JSON genesis document operators
 * write (specs/genesis.md).
 *
 * Input: JSON text. Properties: a rejected document leaves the struct
 * zeroed and a reason in why; an accepted one encodes, its bytes decode
 * back (the canonical form accepts what the JSON checker accepted), and
 * to_json then from_json gives a genesis with the same bytes - so every
 * node and auditor that reads the rendered file derives the same genesis
 * hash.
 */
#include "fuzz.h"

#include "cairn/genesis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static cairn_genesis g, again;
  static uint8_t buf[CAIRN_GENESIS_BYTES_MAX], buf2[CAIRN_GENESIS_BYTES_MAX];
  char why[256];
  fuzz_init();
  const char *text = size > 0 ? (const char *)data : "";
  if (cairn_genesis_from_json(&g, text, size, why, sizeof why) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&g, sizeof g));
    FUZZ_CHECK(why[0] != '\0');
    return 0;
  }
  size_t len = 0, len2 = 0;
  FUZZ_CHECK(cairn_genesis_encode(buf, sizeof buf, &len, &g) == CAIRN_OK);
  FUZZ_CHECK(cairn_genesis_decode(&again, buf, len) == CAIRN_OK);
  FUZZ_CHECK(cairn_genesis_encode(buf2, sizeof buf2, &len2, &again) ==
             CAIRN_OK);
  FUZZ_CHECK(len2 == len && memcmp(buf, buf2, len) == 0);

  char *out = NULL;
  FUZZ_CHECK(cairn_genesis_to_json(&g, &out) == CAIRN_OK && out != NULL);
  cairn_err err = cairn_genesis_from_json(&again, out, strlen(out), why,
                                          sizeof why);
  if (err != CAIRN_OK) fprintf(stderr, "from_json: %s\n%s\n", why, out);
  FUZZ_CHECK(err == CAIRN_OK);
  free(out);
  FUZZ_CHECK(cairn_genesis_encode(buf2, sizeof buf2, &len2, &again) ==
             CAIRN_OK);
  FUZZ_CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
  return 0;
}
