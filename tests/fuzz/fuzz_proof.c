/*
 * tests/fuzz/fuzz_proof.c - transaction inclusion proofs (proof.h), the
 * files `cairn proof` writes and anyone may hand an auditor.
 *
 * Input: one byte choosing the form (even: binary, odd: JSON), then the
 * proof. Properties:
 *   - a refused proof leaves the struct zeroed and a reason in why;
 *   - an accepted binary proof re-encodes to the same bytes; an accepted
 *     JSON proof encodes to bytes that decode and re-encode unchanged;
 *   - either way, to_json then from_json gives the same binary form;
 *   - verification against the test genesis answers without crashing and
 *     zeroes its result on failure. The seeds are real proofs of the test
 *     chain, so verification succeeds for them and mutations reach each of
 *     its refusals.
 */
#include "fuzz.h"

#include "cairn/proof.h"

static cairn_proof fuzz_p, fuzz_again;
static uint8_t fuzz_buf[CAIRN_PROOF_BYTES_MAX], fuzz_buf2[CAIRN_PROOF_BYTES_MAX];

static const cairn_genesis *fuzz_proof_genesis(void) {
  static cairn_genesis g;
  static bool built = false;
  if (!built) {
    tu_genesis(&g);
    built = true;
  }
  return &g;
}

/* fuzz_p is a checked proof whose encoding is fuzz_buf[0..len). */
static void fuzz_proof_accepted(size_t len) {
  char why[512];
  char *json = NULL;
  size_t len2 = 0;
  FUZZ_CHECK(cairn_proof_to_json(&fuzz_p, &json) == CAIRN_OK && json != NULL);
  cairn_err err = cairn_proof_from_json(&fuzz_again, json, strlen(json), why,
                                        sizeof why);
  if (err != CAIRN_OK) fprintf(stderr, "from_json: %s\n", why);
  FUZZ_CHECK(err == CAIRN_OK);
  free(json);
  FUZZ_CHECK(cairn_proof_encode(fuzz_buf2, sizeof fuzz_buf2, &len2,
                                &fuzz_again) == CAIRN_OK);
  FUZZ_CHECK(len2 == len && memcmp(fuzz_buf, fuzz_buf2, len) == 0);

  cairn_proof_result res;
  cairn_proof_anchor anchor = {fuzz_proof_genesis(), NULL};
  err = cairn_proof_verify(&res, &fuzz_p, &anchor, why, sizeof why);
  FUZZ_CHECK(err != CAIRN_ERR_INTERNAL);
  if (err != CAIRN_OK) FUZZ_CHECK(fuzz_all_zero(&res, sizeof res));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char why[512];
  size_t len = 0;
  fuzz_init();
  if (size < 1) return 0;
  const uint8_t *body = data + 1;
  size_t body_len = size - 1;
  cairn_err err;
  if (data[0] % 2 == 0) {
    err = cairn_proof_decode(&fuzz_p, body, body_len, why, sizeof why);
  } else {
    err = cairn_proof_from_json(&fuzz_p, body_len > 0 ? (const char *)body : "",
                                body_len, why, sizeof why);
  }
  if (err != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&fuzz_p, sizeof fuzz_p));
    return 0;
  }
  FUZZ_CHECK(cairn_proof_encode(fuzz_buf, sizeof fuzz_buf, &len, &fuzz_p) ==
             CAIRN_OK);
  if (data[0] % 2 == 0) {
    FUZZ_CHECK(len == body_len && memcmp(fuzz_buf, body, len) == 0);
  } else {
    FUZZ_CHECK(cairn_proof_decode(&fuzz_again, fuzz_buf, len, why,
                                  sizeof why) == CAIRN_OK);
  }
  fuzz_proof_accepted(len);
  return 0;
}
