/*
 * tests/fuzz/fuzz_hex.c - hexadecimal strings (ids, hashes, transaction
 * bytes in API bodies, key file fields).
 *
 * Input: the text. Properties: cairn_hex_decode accepts exactly the
 * even-length strings of hex digits that fit; what it accepts encodes back
 * to the input in lowercase; cairn_hex_decode_exact agrees with it for the
 * input's own length and refuses every other length, zeroing its output.
 */
#include "fuzz.h"

#include <ctype.h>

#include "cairn/encoding.h"

#define FUZZ_HEX_CAP 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t out[FUZZ_HEX_CAP], exact[FUZZ_HEX_CAP];
  char back[2 * FUZZ_HEX_CAP + 1];
  size_t len = 0;
  fuzz_init();
  char *s = fuzz_cstr(data, size);
  size_t n = strlen(s);
  cairn_err err = cairn_hex_decode(out, sizeof out, &len, s);
  size_t want = (n / 2 < FUZZ_HEX_CAP) ? n / 2 : FUZZ_HEX_CAP;
  cairn_err e2 = cairn_hex_decode_exact(exact, want, s);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(err == CAIRN_ERR_HEX || err == CAIRN_ERR_OVERSIZE);
    FUZZ_CHECK(err != CAIRN_ERR_OVERSIZE || n > 2 * FUZZ_HEX_CAP);
    FUZZ_CHECK(e2 != CAIRN_OK || n > 2 * FUZZ_HEX_CAP);
    if (e2 != CAIRN_OK) FUZZ_CHECK(fuzz_all_zero(exact, want));
    free(s);
    return 0;
  }
  FUZZ_CHECK(len * 2 == n && len <= FUZZ_HEX_CAP);
  FUZZ_CHECK(e2 == CAIRN_OK && memcmp(exact, out, len) == 0);
  cairn_hex_encode(back, sizeof back, out, len);
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(back[i] == (char)tolower((unsigned char)s[i]));
  }
  if (len > 0) {
    FUZZ_CHECK(cairn_hex_decode_exact(exact, len - 1, s) == CAIRN_ERR_HEX);
  }
  free(s);
  return 0;
}
