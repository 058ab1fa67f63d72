/*
 * test_checkpoint.c - checkpoint files and signed exports.
 *
 * The canonical bytes are checked against a layout written out by hand and
 * the signed hash against an independent tagged-hash computation, so the
 * byte layout in specs/audit.md is pinned. JSON round-trips, and every way
 * a file can be wrong - unknown, missing or mistyped fields, another
 * version, bad hex, a bad chain id, trailing junk, a file too large - is
 * refused with the field named. Saving replaces the file atomically with a
 * readable mode. A signature verifies, and breaks when any field, the
 * auditor or the signature changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "cairn/address.h"
#include "cairn/checkpoint.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "testutil.h"

static void sample(cairn_checkpoint *cp) {
  memset(cp, 0, sizeof *cp);
  cp->chain_id_len = 10;
  memcpy(cp->chain_id, "cairn-test", 11);
  memset(cp->genesis_hash, 0x11, 32);
  cp->height = 0x0102030405060708ull;
  memset(cp->block_hash, 0x22, 32);
  memset(cp->state_hash, 0x33, 32);
}

static void test_canonical_bytes(void **state) {
  (void)state;
  cairn_checkpoint cp;
  sample(&cp);
  uint8_t want[1 + 10 + 32 + 8 + 32 + 32], got[CAIRN_CHECKPOINT_BYTES_MAX];
  size_t len = 0;
  want[0] = 10;
  memcpy(want + 1, "cairn-test", 10);
  memset(want + 11, 0x11, 32);
  for (int i = 0; i < 8; i++) want[43 + i] = (uint8_t)(i + 1);
  memset(want + 51, 0x22, 32);
  memset(want + 83, 0x33, 32);
  assert_int_equal(cairn_checkpoint_encode(got, sizeof got, &len, &cp),
                   CAIRN_OK);
  assert_int_equal(len, sizeof want);
  assert_memory_equal(got, want, sizeof want);
  /* Too small a buffer. */
  assert_int_equal(cairn_checkpoint_encode(got, 20, &len, &cp),
                   CAIRN_ERR_OVERSIZE);
  /* SHA256(SHA256(tag) || SHA256(tag) || bytes), computed by hand. */
  uint8_t tag[32], hash[32], expect[32];
  crypto_hash_sha256(tag, (const uint8_t *)"cairn/checkpoint", 16);
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, tag, 32);
  crypto_hash_sha256_update(&st, tag, 32);
  crypto_hash_sha256_update(&st, want, sizeof want);
  crypto_hash_sha256_final(&st, expect);
  cairn_checkpoint_signhash(hash, &cp);
  assert_memory_equal(hash, expect, 32);
  /* The worked example of specs/audit.md. */
  char hex[65];
  cairn_hex_encode(hex, sizeof hex, hash, 32);
  assert_string_equal(hex, "efd753bf72c703b82a80fd23cdb8fbdbf1e753fa241ab047"
                           "5f1604edd6f1db1b");
}

static void test_json_round_trip(void **state) {
  (void)state;
  cairn_checkpoint cp, back;
  sample(&cp);
  cp.height = 1200;
  char *text = NULL, why[256] = "";
  assert_int_equal(cairn_checkpoint_to_json(&cp, &text), CAIRN_OK);
  char want[512];
  snprintf(want, sizeof want,
           "{\"version\":1,\"chain_id\":\"cairn-test\",\"genesis_hash\":\"%s\","
           "\"height\":1200,\"block_hash\":\"%s\",\"state_hash\":\"%s\"}",
           "1111111111111111111111111111111111111111111111111111111111111111",
           "2222222222222222222222222222222222222222222222222222222222222222",
           "3333333333333333333333333333333333333333333333333333333333333333");
  assert_string_equal(text, want);
  assert_int_equal(cairn_checkpoint_from_json(&back, text, strlen(text), why,
                                              sizeof why), CAIRN_OK);
  assert_memory_equal(&back, &cp, sizeof cp);
  free(text);
}

/* Parse text with one field replaced: name=NULL leaves the object whole;
 * value NULL removes the field. */
static cairn_err parse_with(const char *name, const char *value, char *why,
                            size_t cap) {
  static const char *const keys[] = {"version", "chain_id", "genesis_hash",
                                     "height", "block_hash", "state_hash"};
  const char *vals[] = {
      "1", "\"cairn-test\"",
      "\"1111111111111111111111111111111111111111111111111111111111111111\"",
      "5",
      "\"2222222222222222222222222222222222222222222222222222222222222222\"",
      "\"3333333333333333333333333333333333333333333333333333333333333333\""};
  char text[1024];
  size_t n = 0;
  n += (size_t)snprintf(text + n, sizeof text - n, "{");
  bool first = true;
  for (size_t i = 0; i < 6; i++) {
    const char *v = vals[i];
    if (name != NULL && strcmp(name, keys[i]) == 0) v = value;
    if (v == NULL) continue;
    n += (size_t)snprintf(text + n, sizeof text - n, "%s\"%s\":%s",
                          first ? "" : ",", keys[i], v);
    first = false;
  }
  if (name != NULL && value != NULL && strcmp(name, "extra") == 0)
    n += (size_t)snprintf(text + n, sizeof text - n, ",\"extra\":%s", value);
  snprintf(text + n, sizeof text - n, "}");
  cairn_checkpoint cp;
  memset(&cp, 0xaa, sizeof cp);
  cairn_err err = cairn_checkpoint_from_json(&cp, text, strlen(text), why,
                                             cap);
  if (err != CAIRN_OK) {
    cairn_checkpoint zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&cp, &zero, sizeof cp); /* nothing half-parsed */
  }
  return err;
}

static void expect_refused(const char *name, const char *value,
                           cairn_err want, const char *part) {
  char why[256] = "";
  assert_int_equal(parse_with(name, value, why, sizeof why), want);
  if (part != NULL && strstr(why, part) == NULL)
    fail_msg("%s=%s: expected '%s' in: %s", name, value ? value : "(none)",
             part, why);
}

static void test_strict_parsing(void **state) {
  (void)state;
  char why[256];
  assert_int_equal(parse_with(NULL, NULL, why, sizeof why), CAIRN_OK);
  expect_refused("extra", "1", CAIRN_ERR_RANGE, "unknown field \"extra\"");
  expect_refused("extra", "\"cairn1...\"", CAIRN_ERR_RANGE, "extra");
  expect_refused("height", NULL, CAIRN_ERR_RANGE, "no \"height\"");
  expect_refused("state_hash", NULL, CAIRN_ERR_RANGE, "state_hash");
  expect_refused("version", "2", CAIRN_ERR_VERSION, "version");
  expect_refused("version", "\"1\"", CAIRN_ERR_VERSION, "version");
  expect_refused("height", "-1", CAIRN_ERR_RANGE, "height");
  expect_refused("height", "\"5\"", CAIRN_ERR_RANGE, "height");
  expect_refused("height", "1.5", CAIRN_ERR_RANGE, "height");
  expect_refused("chain_id", "\"\"", CAIRN_ERR_RANGE, "chain_id");
  expect_refused("chain_id", "\"Cairn\"", CAIRN_ERR_RANGE, "chain_id");
  expect_refused("chain_id", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                 CAIRN_ERR_RANGE, "chain_id");
  expect_refused("chain_id", "7", CAIRN_ERR_RANGE, "chain_id");
  expect_refused("block_hash", "\"22\"", CAIRN_ERR_RANGE, "block_hash");
  expect_refused("genesis_hash",
                 "\"z111111111111111111111111111111111111111111111111111111111"
                 "111111\"", CAIRN_ERR_RANGE, "genesis_hash");
  /* Not an object, trailing junk, duplicate keys. */
  cairn_checkpoint cp;
  static const char *const bad[] = {"[1]", "{\"version\":1} x", "",
                                    "{\"version\":1,\"version\":1}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(cairn_checkpoint_from_json(&cp, bad[i], strlen(bad[i]),
                                                why, sizeof why),
                     CAIRN_ERR_JSON);
}

static void test_files(void **state) {
  (void)state;
  char dir[64], path[128], why[256] = "";
  tu_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/audit.checkpoint", dir);
  cairn_checkpoint cp, back;
  sample(&cp);
  cp.height = 7;
  assert_int_equal(cairn_checkpoint_load(path, &back, why, sizeof why),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_checkpoint_save(path, &cp), CAIRN_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  assert_int_equal(cairn_checkpoint_load(path, &back, why, sizeof why),
                   CAIRN_OK);
  assert_memory_equal(&back, &cp, sizeof cp);
  /* Saving again replaces it. */
  cp.height = 8;
  assert_int_equal(cairn_checkpoint_save(path, &cp), CAIRN_OK);
  assert_int_equal(cairn_checkpoint_load(path, &back, why, sizeof why),
                   CAIRN_OK);
  assert_int_equal(back.height, 8);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(cairn_file_read_all(path, 4096, &text, &len), CAIRN_OK);
  assert_int_equal(text[len - 1], '\n');
  free(text);
  /* A file far too large is no checkpoint. */
  char *big = malloc(CAIRN_CHECKPOINT_FILE_BYTES_MAX + 1);
  assert_non_null(big);
  memset(big, ' ', CAIRN_CHECKPOINT_FILE_BYTES_MAX + 1);
  assert_int_equal(cairn_file_write_atomic(path, big,
                                           CAIRN_CHECKPOINT_FILE_BYTES_MAX + 1,
                                           0644, false), CAIRN_OK);
  assert_int_equal(cairn_checkpoint_load(path, &back, why, sizeof why),
                   CAIRN_ERR_OVERSIZE);
  assert_non_null(strstr(why, path));
  free(big);
  tu_rmtree(dir);
}

static void test_sign_and_verify(void **state) {
  (void)state;
  tu_key auditor, other;
  tu_member(&auditor, 40);
  tu_member(&other, 41);
  cairn_checkpoint cp;
  sample(&cp);
  cairn_checkpoint_signed s, t;
  assert_int_equal(cairn_checkpoint_sign(&s, &cp, auditor.sk), CAIRN_OK);
  assert_memory_equal(s.auditor, auditor.pk, 32);
  assert_memory_equal(&s.cp, &cp, sizeof cp);
  assert_int_equal(cairn_checkpoint_verify(&s), CAIRN_OK);
  /* Any change breaks it. */
  t = s;
  t.cp.height++;
  assert_int_equal(cairn_checkpoint_verify(&t), CAIRN_ERR_BAD_SIG);
  t = s;
  t.cp.block_hash[31] ^= 1;
  assert_int_equal(cairn_checkpoint_verify(&t), CAIRN_ERR_BAD_SIG);
  t = s;
  t.cp.state_hash[0] ^= 1;
  assert_int_equal(cairn_checkpoint_verify(&t), CAIRN_ERR_BAD_SIG);
  t = s;
  t.cp.genesis_hash[5] ^= 1;
  assert_int_equal(cairn_checkpoint_verify(&t), CAIRN_ERR_BAD_SIG);
  t = s;
  t.cp.chain_id[0] = 'd';
  assert_int_equal(cairn_checkpoint_verify(&t), CAIRN_ERR_BAD_SIG);
  t = s;
  memcpy(t.auditor, other.pk, 32);
  assert_int_equal(cairn_checkpoint_verify(&t), CAIRN_ERR_BAD_SIG);
  t = s;
  t.sig[63] ^= 1;
  assert_int_equal(cairn_checkpoint_verify(&t), CAIRN_ERR_BAD_SIG);
  /* An invalid secret key signs nothing. */
  uint8_t zero[32] = {0};
  assert_int_equal(cairn_checkpoint_sign(&t, &cp, zero), CAIRN_ERR_BAD_KEY);
  cairn_checkpoint_signed empty;
  memset(&empty, 0, sizeof empty);
  assert_memory_equal(&t, &empty, sizeof t);
}

static void test_signed_files(void **state) {
  (void)state;
  char dir[64], path[128], plain[128], why[256] = "";
  tu_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/export.json", dir);
  snprintf(plain, sizeof plain, "%s/plain.json", dir);
  tu_key auditor;
  tu_member(&auditor, 40);
  cairn_checkpoint cp;
  sample(&cp);
  cairn_checkpoint_signed s, back;
  assert_int_equal(cairn_checkpoint_sign(&s, &cp, auditor.sk), CAIRN_OK);
  assert_int_equal(cairn_checkpoint_signed_save(path, &s), CAIRN_OK);
  assert_int_equal(cairn_checkpoint_signed_load(path, &back, why, sizeof why),
                   CAIRN_OK);
  assert_memory_equal(&back, &s, sizeof s);
  assert_int_equal(cairn_checkpoint_verify(&back), CAIRN_OK);
  char *text = NULL;
  size_t len = 0;
  char addr[CAIRN_ADDRESS_BUF];
  cairn_address_encode(addr, sizeof addr, auditor.pk);
  assert_int_equal(cairn_file_read_all(path, 4096, &text, &len), CAIRN_OK);
  assert_non_null(strstr(text, addr));
  assert_non_null(strstr(text, "\"signature\":\""));
  free(text);
  /* A signed file is not a plain checkpoint, nor the other way round. */
  cairn_checkpoint c2;
  assert_int_equal(cairn_checkpoint_load(path, &c2, why, sizeof why),
                   CAIRN_ERR_RANGE);
  assert_non_null(strstr(why, "auditor"));
  assert_int_equal(cairn_checkpoint_save(plain, &cp), CAIRN_OK);
  assert_int_equal(cairn_checkpoint_signed_load(plain, &back, why,
                                                sizeof why),
                   CAIRN_ERR_RANGE);
  /* A bad address or signature field. */
  const char *fmt = "{\"version\":1,\"chain_id\":\"cairn-test\","
                    "\"genesis_hash\":\"%064d\",\"height\":1,"
                    "\"block_hash\":\"%064d\",\"state_hash\":\"%064d\","
                    "\"auditor\":\"%s\",\"signature\":\"%s\"}";
  char doc[1024], sig[129];
  memset(sig, 'a', 128);
  sig[128] = '\0';
  snprintf(doc, sizeof doc, fmt, 0, 0, 0, "cairn1xyz", sig);
  assert_int_equal(cairn_checkpoint_signed_from_json(&back, doc, strlen(doc),
                                                     why, sizeof why),
                   CAIRN_ERR_RANGE);
  assert_non_null(strstr(why, "auditor"));
  snprintf(doc, sizeof doc, fmt, 0, 0, 0, addr, "abcd");
  assert_int_equal(cairn_checkpoint_signed_from_json(&back, doc, strlen(doc),
                                                     why, sizeof why),
                   CAIRN_ERR_RANGE);
  assert_non_null(strstr(why, "signature"));
  snprintf(doc, sizeof doc, fmt, 0, 0, 0, addr, sig);
  assert_int_equal(cairn_checkpoint_signed_from_json(&back, doc, strlen(doc),
                                                     why, sizeof why),
                   CAIRN_OK);
  assert_int_equal(cairn_checkpoint_verify(&back), CAIRN_ERR_BAD_SIG);
  tu_rmtree(dir);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_canonical_bytes),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_strict_parsing),
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_sign_and_verify),
      cmocka_unit_test(test_signed_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
