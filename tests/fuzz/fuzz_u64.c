/*
 * tests/fuzz/fuzz_u64.c - decimal u64 quantities (amounts, heights and
 * powers given as strings, as the API and genesis allow).
 *
 * Input: the text, read two ways. As a C string through cairn_parse_u64:
 * an accepted number prints back as the same digits (canonical: no sign,
 * spaces or leading zeros), a refused one leaves 0. As a JSON value through
 * cairn_json_get_u64: integers and canonical decimal strings agree with
 * their plain reading, anything else is refused with 0.
 */
#include "fuzz.h"

#include <inttypes.h>
#include <jansson.h>

#include "cairn/json.h"

static void fuzz_u64_json(const uint8_t *data, size_t size) {
  json_error_t jerr;
  json_t *v = json_loadb(size > 0 ? (const char *)data : "", size,
                         JSON_DECODE_ANY, &jerr);
  if (v == NULL) return;
  uint64_t x = 1;
  cairn_err err = cairn_json_get_u64(v, &x);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(err == CAIRN_ERR_RANGE || err == CAIRN_ERR_JSON);
    FUZZ_CHECK(x == 0);
  } else if (json_is_integer(v)) {
    FUZZ_CHECK(json_integer_value(v) >= 0 &&
               (uint64_t)json_integer_value(v) == x);
  } else {
    uint64_t y = 0;
    FUZZ_CHECK(json_is_string(v));
    FUZZ_CHECK(cairn_parse_u64(json_string_value(v), &y) == CAIRN_OK && y == x);
  }
  json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  char *s = fuzz_cstr(data, size);
  uint64_t v = 1;
  if (cairn_parse_u64(s, &v) == CAIRN_OK) {
    char back[32];
    snprintf(back, sizeof back, "%" PRIu64, v);
    FUZZ_CHECK(strcmp(back, s) == 0);
  } else {
    FUZZ_CHECK(v == 0);
  }
  free(s);
  fuzz_u64_json(data, size);
  return 0;
}
