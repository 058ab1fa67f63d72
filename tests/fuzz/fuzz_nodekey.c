/*
 * tests/fuzz/fuzz_nodekey.c - validator (node) key files.
 *
 * Input: the text of a validator key file. Properties: a rejected file
 * leaves the outputs zeroed; an accepted one yields a key pair whose
 * public half matches the seed, and formatting that key and parsing the
 * result gives the same pair (the file permission check is the caller's
 * and is tested in tests/test_keyfile.c and tests/integration).
 */
#include "fuzz.h"

#include "cairn/keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t sk[CAIRN_ED25519_SECKEY_BYTES], pk[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t sk2[CAIRN_ED25519_SECKEY_BYTES], pk2[CAIRN_ED25519_PUBKEY_BYTES];
  char text[CAIRN_KEYFILE_BYTES_MAX];
  size_t len = 0;
  fuzz_init();
  cairn_err err = cairn_nodekey_parse((const char *)data, size, sk, pk);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(err == CAIRN_ERR_KEYFILE || err == CAIRN_ERR_BAD_KEY ||
               err == CAIRN_ERR_OVERSIZE);
    FUZZ_CHECK(fuzz_all_zero(sk, sizeof sk) && fuzz_all_zero(pk, sizeof pk));
    return 0;
  }
  FUZZ_CHECK(memcmp(sk + 32, pk, sizeof pk) == 0);
  FUZZ_CHECK(cairn_nodekey_format(text, sizeof text, &len, sk) == CAIRN_OK);
  FUZZ_CHECK(cairn_nodekey_parse(text, len, sk2, pk2) == CAIRN_OK);
  FUZZ_CHECK(memcmp(sk, sk2, sizeof sk) == 0 && memcmp(pk, pk2, sizeof pk) == 0);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(sk2, sizeof sk2);
  sodium_memzero(text, sizeof text);
  return 0;
}
