/*
 * test_evidence.c - duplicate-vote evidence: building, encoding, decoding
 * (truncated, trailing, version, order), and every verify path, including
 * evidence built from an equivocation the vote set detected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/evidence.h"
#include "cairn/votes.h"
#include "testutil.h"

#define CHAIN ((const uint8_t *)TU_CHAIN_ID)
#define CHAIN_LEN (sizeof TU_CHAIN_ID - 1)

static cairn_valset g_vs;
static tu_vkey g_keys[3]; /* g_vs.v[i] is g_keys[i] */

static int cmp_vkey(const void *x, const void *y) {
  return memcmp(((const tu_vkey *)x)->pk, ((const tu_vkey *)y)->pk, 32);
}

static void setup_valset(void) {
  for (uint32_t i = 0; i < 3; i++) tu_validator(&g_keys[i], i);
  qsort(g_keys, 3, sizeof g_keys[0], cmp_vkey);
  memset(&g_vs, 0, sizeof g_vs);
  g_vs.n = 3;
  for (uint32_t i = 0; i < 3; i++) {
    memcpy(g_vs.v[i].pubkey, g_keys[i].pk, 32);
    g_vs.v[i].power = 10;
  }
  tu_check("cairn_valset_check", cairn_valset_check(&g_vs));
}

static cairn_vote vote(const tu_vkey *k, uint8_t type, uint64_t height,
                       uint32_t round, uint8_t hbyte) {
  cairn_vote v;
  memset(&v, 0, sizeof v);
  v.type = type;
  v.height = height;
  v.round = round;
  memset(v.block_hash, hbyte, 32);
  tu_check("cairn_vote_sign", cairn_vote_sign(&v, CHAIN, CHAIN_LEN, k->sk));
  return v;
}

/* Good evidence: validator 1 precommits 0x20 and 0x10 at (4, 1). */
static cairn_evidence good(void) {
  cairn_evidence e;
  cairn_vote x = vote(&g_keys[1], CAIRN_VOTE_PRECOMMIT, 4, 1, 0x20);
  cairn_vote y = vote(&g_keys[1], CAIRN_VOTE_PRECOMMIT, 4, 1, 0x10);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y), CAIRN_OK);
  assert_int_equal(e.a.block_hash[0], 0x10); /* reordered */
  return e;
}

static cairn_err verify(const cairn_evidence *e) {
  return cairn_evidence_verify(e, CHAIN, CHAIN_LEN, &g_vs);
}

static void test_roundtrip(void **state) {
  (void)state;
  uint8_t buf[CAIRN_EVIDENCE_BYTES + 1], buf2[CAIRN_EVIDENCE_BYTES];
  size_t len, len2;
  cairn_evidence e = good(), back;
  assert_int_equal(verify(&e), CAIRN_OK);
  assert_int_equal(cairn_evidence_encode(buf, sizeof buf, &len, &e), CAIRN_OK);
  assert_int_equal(len, CAIRN_EVIDENCE_BYTES);
  assert_int_equal(len, 283);
  assert_int_equal(buf[0], CAIRN_EVIDENCE_VERSION);
  assert_int_equal(cairn_evidence_decode(&back, buf, len), CAIRN_OK);
  assert_memory_equal(&back, &e, sizeof e);
  assert_int_equal(cairn_evidence_encode(buf2, sizeof buf2, &len2, &back),
                   CAIRN_OK);
  assert_memory_equal(buf, buf2, len);
  assert_int_equal(verify(&back), CAIRN_OK);
  assert_int_equal(cairn_evidence_encode(buf2, len - 1, &len2, &e),
                   CAIRN_ERR_TRUNCATED);
  assert_int_equal(len2, 0);
  /* nil against a block is evidence too; nil sorts first. */
  cairn_vote x = vote(&g_keys[0], CAIRN_VOTE_PREVOTE, 9, 0, 0x42);
  cairn_vote y = vote(&g_keys[0], CAIRN_VOTE_PREVOTE, 9, 0, 0x00);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y), CAIRN_OK);
  assert_int_equal(e.a.block_hash[0], 0);
  assert_int_equal(verify(&e), CAIRN_OK);
}

static void test_decode_rejects(void **state) {
  (void)state;
  uint8_t buf[CAIRN_EVIDENCE_BYTES + 1];
  size_t len;
  cairn_evidence e = good(), out;
  static const cairn_evidence zero;
  assert_int_equal(cairn_evidence_encode(buf, sizeof buf, &len, &e), CAIRN_OK);
  for (size_t n = 0; n < len; n++) {
    assert_int_equal(cairn_evidence_decode(&out, buf, n), CAIRN_ERR_TRUNCATED);
    assert_memory_equal(&out, &zero, sizeof out);
  }
  buf[len] = 0;
  assert_int_equal(cairn_evidence_decode(&out, buf, len + 1),
                   CAIRN_ERR_TRAILING);
  assert_memory_equal(&out, &zero, sizeof out);
  buf[0] = 2;
  assert_int_equal(cairn_evidence_decode(&out, buf, len), CAIRN_ERR_VERSION);
  buf[0] = CAIRN_EVIDENCE_VERSION;
  /* Swapped votes: not canonical. */
  uint8_t sw[CAIRN_EVIDENCE_BYTES];
  sw[0] = buf[0];
  memcpy(sw + 1, buf + 1 + CAIRN_VOTE_BYTES, CAIRN_VOTE_BYTES);
  memcpy(sw + 1 + CAIRN_VOTE_BYTES, buf + 1, CAIRN_VOTE_BYTES);
  assert_int_equal(cairn_evidence_decode(&out, sw, len),
                   CAIRN_ERR_NONCANONICAL);
  /* Equal votes: not strictly ascending either. */
  memcpy(sw + 1 + CAIRN_VOTE_BYTES, buf + 1, CAIRN_VOTE_BYTES);
  memcpy(sw + 1, buf + 1, CAIRN_VOTE_BYTES);
  assert_int_equal(cairn_evidence_decode(&out, sw, len),
                   CAIRN_ERR_NONCANONICAL);
  /* A bad vote type inside. */
  memcpy(sw, buf, len);
  sw[1 + CAIRN_VOTE_BYTES] = 3;
  assert_int_equal(cairn_evidence_decode(&out, sw, len), CAIRN_ERR_BAD_TYPE);
  assert_memory_equal(&out, &zero, sizeof out);
}

static void test_verify_rejects(void **state) {
  (void)state;
  cairn_evidence e;
  cairn_vote x, y;
  e = good();
  e.version = 2;
  assert_int_equal(verify(&e), CAIRN_ERR_VERSION);
  e = good();
  e.b.type = 7;
  assert_int_equal(verify(&e), CAIRN_ERR_BAD_TYPE);
  e = good();
  e.a.height = 0;
  assert_int_equal(verify(&e), CAIRN_ERR_RANGE);
  /* Different validators. */
  x = vote(&g_keys[0], CAIRN_VOTE_PRECOMMIT, 4, 1, 0x10);
  y = vote(&g_keys[1], CAIRN_VOTE_PRECOMMIT, 4, 1, 0x20);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y), CAIRN_OK);
  assert_int_equal(verify(&e), CAIRN_ERR_EVIDENCE_VALIDATORS);
  /* Different height, round, type. */
  x = vote(&g_keys[1], CAIRN_VOTE_PRECOMMIT, 4, 1, 0x10);
  y = vote(&g_keys[1], CAIRN_VOTE_PRECOMMIT, 5, 1, 0x20);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y), CAIRN_OK);
  assert_int_equal(verify(&e), CAIRN_ERR_EVIDENCE_MISMATCH);
  y = vote(&g_keys[1], CAIRN_VOTE_PRECOMMIT, 4, 2, 0x20);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y), CAIRN_OK);
  assert_int_equal(verify(&e), CAIRN_ERR_EVIDENCE_MISMATCH);
  y = vote(&g_keys[1], CAIRN_VOTE_PREVOTE, 4, 1, 0x20);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y), CAIRN_OK);
  assert_int_equal(verify(&e), CAIRN_ERR_EVIDENCE_MISMATCH);
  /* Same block. */
  y = vote(&g_keys[1], CAIRN_VOTE_PRECOMMIT, 4, 1, 0x10);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y),
                   CAIRN_ERR_EVIDENCE_SAME_BLOCK);
  e = good();
  e.b = e.a;
  assert_int_equal(verify(&e), CAIRN_ERR_EVIDENCE_SAME_BLOCK);
  /* Descending order. */
  e = good();
  x = e.a;
  e.a = e.b;
  e.b = x;
  assert_int_equal(verify(&e), CAIRN_ERR_NONCANONICAL);
  /* Not a member. */
  tu_vkey outsider;
  tu_validator(&outsider, 50);
  x = vote(&outsider, CAIRN_VOTE_PRECOMMIT, 4, 1, 0x10);
  y = vote(&outsider, CAIRN_VOTE_PRECOMMIT, 4, 1, 0x20);
  assert_int_equal(cairn_evidence_from_votes(&e, &x, &y), CAIRN_OK);
  assert_int_equal(verify(&e), CAIRN_ERR_NOT_VALIDATOR);
  /* Bad signatures, on either vote. */
  e = good();
  e.a.sig[5] ^= 1;
  assert_int_equal(verify(&e), CAIRN_ERR_BAD_SIG);
  e = good();
  e.b.sig[60] ^= 1;
  assert_int_equal(verify(&e), CAIRN_ERR_BAD_SIG);
  /* Another chain's votes. */
  e = good();
  assert_int_equal(
      cairn_evidence_verify(&e, (const uint8_t *)"other", 5, &g_vs),
      CAIRN_ERR_BAD_SIG);
}

/* The vote set catches the equivocation; its pair is valid evidence. */
static void test_from_voteset(void **state) {
  (void)state;
  static cairn_voteset s;
  cairn_vote c[2];
  cairn_evidence e, back;
  uint8_t buf[CAIRN_EVIDENCE_BYTES];
  size_t len;
  cairn_voteset_init(&s, CHAIN, CHAIN_LEN, &g_vs, 12, 0, CAIRN_VOTE_PREVOTE);
  cairn_vote first = vote(&g_keys[2], CAIRN_VOTE_PREVOTE, 12, 0, 0x01);
  cairn_vote second = vote(&g_keys[2], CAIRN_VOTE_PREVOTE, 12, 0, 0x00);
  assert_int_equal(cairn_voteset_add(&s, c, &first), CAIRN_OK);
  assert_int_equal(cairn_voteset_add(&s, c, &second), CAIRN_ERR_EQUIVOCATION);
  assert_int_equal(cairn_evidence_from_votes(&e, &c[0], &c[1]), CAIRN_OK);
  assert_int_equal(verify(&e), CAIRN_OK);
  assert_int_equal(cairn_evidence_encode(buf, sizeof buf, &len, &e), CAIRN_OK);
  assert_int_equal(cairn_evidence_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(verify(&back), CAIRN_OK);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  setup_valset();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_decode_rejects),
      cmocka_unit_test(test_verify_rejects),
      cmocka_unit_test(test_from_voteset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
