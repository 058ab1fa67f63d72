/*
 * tests/fuzz/fuzz_records.c - state records as read back from a store.
 *
 * `cairn audit --data DIR` and the API decode records from an LMDB file
 * that may come from anyone, so these decoders face outside bytes too.
 * Input: one byte choosing the record (even: coupon, odd: brand), then the
 * record's value bytes. Properties: a refused record leaves the struct
 * zeroed; an accepted one re-encodes to the same bytes.
 */
#include "fuzz.h"

#include "cairn/state.h"

#define FUZZ_RECORD_BYTES_MAX 512u

static void fuzz_coupon(const uint8_t *data, size_t size) {
  static const uint8_t id[32] = {1, 2, 3};
  cairn_coupon c;
  uint8_t buf[FUZZ_RECORD_BYTES_MAX];
  size_t len = 0;
  if (cairn_coupon_decode(&c, id, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&c, sizeof c));
    return;
  }
  FUZZ_CHECK(memcmp(c.id, id, sizeof id) == 0);
  FUZZ_CHECK(cairn_coupon_encode(buf, sizeof buf, &len, &c) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
}

static void fuzz_brand(const uint8_t *data, size_t size) {
  cairn_brand b;
  uint8_t buf[FUZZ_RECORD_BYTES_MAX];
  size_t len = 0;
  if (cairn_brand_record_decode(&b, 7, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&b, sizeof b));
    return;
  }
  FUZZ_CHECK(b.id == 7 && strlen(b.name) == b.name_len);
  FUZZ_CHECK(cairn_brand_record_encode(buf, sizeof buf, &len, &b) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  if (size < 1) return 0;
  if (data[0] % 2 == 0) fuzz_coupon(data + 1, size - 1);
  else fuzz_brand(data + 1, size - 1);
  return 0;
}
