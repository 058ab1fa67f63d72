/*
 * tests/fuzz/fuzz_address.c - member and brand addresses (bech32m).
 *
 * Input: the address text, as a user types it or a JSON field carries it.
 * Properties: a refused address leaves the key zeroed; an accepted one is
 * 64 characters of one case, its checksum verifies, and encoding the key
 * gives the input back in lowercase (one key, one address). The generic
 * bech32m checker answers OK, CHECKSUM or ADDRESS for any string.
 */
#include "fuzz.h"

#include <ctype.h>

#include "cairn/address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  char *s = fuzz_cstr(data, size);
  cairn_err chk = cairn_bech32m_verify_checksum(s);
  FUZZ_CHECK(chk == CAIRN_OK || chk == CAIRN_ERR_CHECKSUM ||
             chk == CAIRN_ERR_ADDRESS);
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  cairn_err err = cairn_address_decode(pk, s);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(err == CAIRN_ERR_ADDRESS || err == CAIRN_ERR_CHECKSUM ||
               err == CAIRN_ERR_BAD_KEY);
    FUZZ_CHECK(fuzz_all_zero(pk, sizeof pk));
    free(s);
    return 0;
  }
  FUZZ_CHECK(chk == CAIRN_OK);
  size_t n = strlen(s);
  FUZZ_CHECK(n == CAIRN_ADDRESS_CHARS);
  char out[CAIRN_ADDRESS_BUF];
  cairn_address_encode(out, sizeof out, pk);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(out[i] == (char)tolower((unsigned char)s[i]));
  }
  free(s);
  return 0;
}
