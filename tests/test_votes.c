/*
 * test_votes.c - the vote set: acceptance and each rejection, repeats,
 * equivocation, stake tallies at the 2/3 boundary, commits that verify, and
 * a seeded random comparison against a simple recount.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cairn/votes.h"
#include "testutil.h"

#define CHAIN ((const uint8_t *)TU_CHAIN_ID)
#define CHAIN_LEN (sizeof TU_CHAIN_ID - 1)
#define NKEYS 8

/* Validators with keys; vs->v[i] is signed by keys[i]. */
typedef struct fx {
  cairn_valset vs;
  tu_vkey keys[NKEYS];
} fx;

static int cmp_vkey(const void *x, const void *y) {
  return memcmp(((const tu_vkey *)x)->pk, ((const tu_vkey *)y)->pk, 32);
}

static void fx_make(fx *f, const uint64_t *powers, uint32_t n) {
  assert_true(n >= 1 && n <= NKEYS);
  memset(f, 0, sizeof *f);
  for (uint32_t i = 0; i < n; i++) tu_validator(&f->keys[i], i);
  qsort(f->keys, n, sizeof f->keys[0], cmp_vkey);
  f->vs.n = n;
  for (uint32_t i = 0; i < n; i++) {
    memcpy(f->vs.v[i].pubkey, f->keys[i].pk, 32);
    f->vs.v[i].power = powers[i];
  }
  assert_int_equal(cairn_valset_check(&f->vs), CAIRN_OK);
}

static void hash_of(uint8_t h[32], uint8_t byte) { memset(h, byte, 32); }

static cairn_vote vote_make(const fx *f, uint32_t who, uint8_t type,
                            uint64_t height, uint32_t round, uint8_t hbyte) {
  cairn_vote v;
  memset(&v, 0, sizeof v);
  v.type = type;
  v.height = height;
  v.round = round;
  hash_of(v.block_hash, hbyte);
  tu_check("cairn_vote_sign",
           cairn_vote_sign(&v, CHAIN, CHAIN_LEN, f->keys[who].sk));
  return v;
}

static bool conflict_zero(const cairn_vote c[2]) {
  cairn_vote z[2];
  memset(z, 0, sizeof z);
  return memcmp(c, z, sizeof z) == 0;
}

static void test_add_and_reject(void **state) {
  (void)state;
  static fx f;
  static cairn_voteset s, before;
  cairn_vote c[2];
  const uint64_t p[] = {1, 1, 1, 1};
  fx_make(&f, p, 4);
  cairn_voteset_init(&s, CHAIN, CHAIN_LEN, &f.vs, 5, 2, CAIRN_VOTE_PREVOTE);
  cairn_vote ok = vote_make(&f, 0, CAIRN_VOTE_PREVOTE, 5, 2, 0xaa);
  assert_int_equal(cairn_voteset_add(&s, c, &ok), CAIRN_OK);
  assert_true(conflict_zero(c));
  before = s;
  cairn_vote v = vote_make(&f, 1, CAIRN_VOTE_PREVOTE, 6, 2, 0xaa);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_ERR_VOTE_HEIGHT);
  v = vote_make(&f, 1, CAIRN_VOTE_PREVOTE, 5, 3, 0xaa);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_ERR_VOTE_ROUND);
  v = vote_make(&f, 1, CAIRN_VOTE_PRECOMMIT, 5, 2, 0xaa);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_ERR_VOTE_TYPE);
  tu_vkey outsider;
  tu_validator(&outsider, 100);
  memset(&v, 0, sizeof v);
  v.type = CAIRN_VOTE_PREVOTE;
  v.height = 5;
  v.round = 2;
  tu_check("sign", cairn_vote_sign(&v, CHAIN, CHAIN_LEN, outsider.sk));
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_ERR_NOT_VALIDATOR);
  v = vote_make(&f, 1, CAIRN_VOTE_PREVOTE, 5, 2, 0xaa);
  v.sig[10] ^= 1;
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_ERR_BAD_SIG);
  /* A vote signed for another chain does not verify here. */
  memset(&v, 0, sizeof v);
  v.type = CAIRN_VOTE_PREVOTE;
  v.height = 5;
  v.round = 2;
  hash_of(v.block_hash, 0xaa);
  tu_check("sign", cairn_vote_sign(&v, (const uint8_t *)"other", 5,
                                   f.keys[1].sk));
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_ERR_BAD_SIG);
  /* A forged second vote of validator 0 is BAD_SIG, not equivocation. */
  v = vote_make(&f, 0, CAIRN_VOTE_PREVOTE, 5, 2, 0xbb);
  v.sig[0] ^= 1;
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_ERR_BAD_SIG);
  assert_true(conflict_zero(c));
  assert_memory_equal(&s, &before, sizeof s);
  /* Repeats are no-ops. */
  assert_int_equal(cairn_voteset_add(&s, c, &ok), CAIRN_OK);
  assert_memory_equal(&s, &before, sizeof s);
  assert_int_equal(cairn_voteset_count(&s), 1);
  assert_int_equal(cairn_voteset_power_any(&s), 1);
}

static void test_equivocation(void **state) {
  (void)state;
  static fx f;
  static cairn_voteset s, before;
  cairn_vote c[2];
  const uint64_t p[] = {3, 1};
  fx_make(&f, p, 2);
  cairn_voteset_init(&s, CHAIN, CHAIN_LEN, &f.vs, 1, 0, CAIRN_VOTE_PRECOMMIT);
  cairn_vote first = vote_make(&f, 1, CAIRN_VOTE_PRECOMMIT, 1, 0, 0x11);
  assert_int_equal(cairn_voteset_add(&s, c, &first), CAIRN_OK);
  before = s;
  cairn_vote second = vote_make(&f, 1, CAIRN_VOTE_PRECOMMIT, 1, 0, 0x22);
  assert_int_equal(cairn_voteset_add(&s, c, &second), CAIRN_ERR_EQUIVOCATION);
  assert_memory_equal(&c[0], &first, sizeof first);
  assert_memory_equal(&c[1], &second, sizeof second);
  assert_memory_equal(&s, &before, sizeof s);
  /* nil after a block is a conflict too. */
  cairn_vote nil = vote_make(&f, 1, CAIRN_VOTE_PRECOMMIT, 1, 0, 0x00);
  assert_int_equal(cairn_voteset_add(&s, c, &nil), CAIRN_ERR_EQUIVOCATION);
  assert_memory_equal(&c[1], &nil, sizeof nil);
  uint8_t h[32];
  hash_of(h, 0x11);
  assert_int_equal(cairn_voteset_power(&s, h), 1);
  hash_of(h, 0x22);
  assert_int_equal(cairn_voteset_power(&s, h), 0);
}

/* Powers 1,2,3,4 (total 10): 2/3 needs power 7 (3*7 = 21 > 20). */
static void test_tally_boundary(void **state) {
  (void)state;
  static fx f;
  static cairn_voteset s;
  cairn_vote c[2];
  uint8_t out[32], h[32], nil[32] = {0};
  const uint64_t p[] = {1, 2, 3, 4};
  fx_make(&f, p, 4);
  cairn_voteset_init(&s, CHAIN, CHAIN_LEN, &f.vs, 9, 1, CAIRN_VOTE_PREVOTE);
  hash_of(h, 0x5a);
  assert_false(cairn_voteset_has_two_thirds_any(&s));
  /* 4 + 2 = 6 for h: exactly 60%, not enough. */
  uint32_t idx4 = 3, idx2 = 1, idx1 = 0, idx3 = 2;
  cairn_vote v = vote_make(&f, idx4, CAIRN_VOTE_PREVOTE, 9, 1, 0x5a);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  v = vote_make(&f, idx2, CAIRN_VOTE_PREVOTE, 9, 1, 0x5a);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  assert_int_equal(cairn_voteset_power(&s, h), 6);
  assert_false(cairn_voteset_has_two_thirds_majority(&s, out));
  assert_memory_equal(out, nil, 32);
  assert_false(cairn_voteset_has_two_thirds_any(&s));
  /* + 1 for nil: 7 voted in all, so "any" holds but no majority. */
  v = vote_make(&f, idx1, CAIRN_VOTE_PREVOTE, 9, 1, 0x00);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  assert_true(cairn_voteset_has_two_thirds_any(&s));
  assert_false(cairn_voteset_has_two_thirds_majority(&s, out));
  assert_int_equal(cairn_voteset_power(&s, nil), 1);
  assert_int_equal(cairn_voteset_power_any(&s), 7);
  /* + 3 for h: 9 for h. */
  v = vote_make(&f, idx3, CAIRN_VOTE_PREVOTE, 9, 1, 0x5a);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  assert_true(cairn_voteset_has_two_thirds_majority(&s, out));
  assert_memory_equal(out, h, 32);
  assert_int_equal(cairn_voteset_count(&s), 4);
}

static void test_nil_majority(void **state) {
  (void)state;
  static fx f;
  static cairn_voteset s;
  cairn_vote c[2];
  uint8_t out[32], nil[32] = {0};
  const uint64_t p[] = {1, 1, 1};
  fx_make(&f, p, 3);
  cairn_voteset_init(&s, CHAIN, CHAIN_LEN, &f.vs, 2, 0, CAIRN_VOTE_PRECOMMIT);
  for (uint32_t i = 0; i < 2; i++) {
    cairn_vote v = vote_make(&f, i, CAIRN_VOTE_PRECOMMIT, 2, 0, 0x00);
    assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  }
  assert_false(cairn_voteset_has_two_thirds_majority(&s, out)); /* 2/3 */
  cairn_vote v = vote_make(&f, 2, CAIRN_VOTE_PRECOMMIT, 2, 0, 0x00);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  memset(out, 0xff, 32);
  assert_true(cairn_voteset_has_two_thirds_majority(&s, out));
  assert_memory_equal(out, nil, 32);
  cairn_commit cm;
  assert_int_equal(cairn_voteset_make_commit(&s, &cm, nil),
                   CAIRN_ERR_BAD_COMMIT);
}

static void test_make_commit(void **state) {
  (void)state;
  static fx f;
  static cairn_voteset s;
  static cairn_commit cm, zero;
  cairn_vote c[2];
  uint8_t h[32], other[32];
  const uint64_t p[] = {5, 1, 1, 1, 1, 1};
  fx_make(&f, p, 6);
  cairn_voteset_init(&s, CHAIN, CHAIN_LEN, &f.vs, 7, 3, CAIRN_VOTE_PRECOMMIT);
  hash_of(h, 0x77);
  hash_of(other, 0x66);
  /* Voters in descending index order, so the commit must sort them. */
  for (uint32_t k = 0; k < 5; k++) {
    uint32_t i = 5 - k;
    cairn_vote v = vote_make(&f, i, CAIRN_VOTE_PRECOMMIT, 7, 3,
                             i == 1 ? 0x66 : 0x77);
    assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  }
  /* h has 4 of 10. */
  assert_int_equal(cairn_voteset_make_commit(&s, &cm, h), CAIRN_ERR_BAD_COMMIT);
  assert_memory_equal(&cm, &zero, sizeof cm);
  cairn_vote v = vote_make(&f, 0, CAIRN_VOTE_PRECOMMIT, 7, 3, 0x77);
  assert_int_equal(cairn_voteset_add(&s, c, &v), CAIRN_OK);
  assert_int_equal(cairn_voteset_make_commit(&s, &cm, other),
                   CAIRN_ERR_BAD_COMMIT);
  assert_int_equal(cairn_voteset_make_commit(&s, &cm, h), CAIRN_OK);
  assert_int_equal(cm.n_sigs, 5);
  assert_int_equal(cm.height, 7);
  assert_int_equal(cm.round, 3);
  assert_int_equal(cairn_commit_verify(&cm, CHAIN, CHAIN_LEN, 7, h, &f.vs),
                   CAIRN_OK);
  /* Round trip through the wire form. */
  static uint8_t buf[CAIRN_COMMIT_BYTES_MAX];
  static cairn_commit back;
  size_t len;
  assert_int_equal(cairn_commit_encode(buf, sizeof buf, &len, &cm), CAIRN_OK);
  assert_int_equal(cairn_commit_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(cairn_commit_verify(&back, CHAIN, CHAIN_LEN, 7, h, &f.vs),
                   CAIRN_OK);
}

/* Random votes against a recount from a plain array. */
static void test_random(void **state) {
  (void)state;
  static fx f;
  static cairn_voteset s;
  unsigned seed = (unsigned)time(NULL);
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) seed = (unsigned)strtoul(env, NULL, 10);
  printf("test_votes random seed %u (CAIRN_TEST_SEED to replay)\n", seed);
  srand(seed);
  for (int trial = 0; trial < 20; trial++) {
    uint64_t p[NKEYS];
    uint32_t n = 1 + (uint32_t)rand() % NKEYS;
    for (uint32_t i = 0; i < n; i++) p[i] = 1 + (uint64_t)(rand() % 5);
    fx_make(&f, p, n);
    cairn_voteset_init(&s, CHAIN, CHAIN_LEN, &f.vs, 3, 0, CAIRN_VOTE_PREVOTE);
    int choice[NKEYS];
    for (uint32_t i = 0; i < n; i++) choice[i] = -1;
    for (int k = 0; k < 16; k++) {
      uint32_t i = (uint32_t)rand() % n;
      int val = rand() % 3; /* 0 is nil */
      cairn_vote c[2];
      cairn_vote v = vote_make(&f, i, CAIRN_VOTE_PREVOTE, 3, 0, (uint8_t)val);
      cairn_err want = choice[i] < 0 || choice[i] == val
                           ? CAIRN_OK : CAIRN_ERR_EQUIVOCATION;
      assert_int_equal(cairn_voteset_add(&s, c, &v), want);
      if (choice[i] < 0) choice[i] = val;
    }
    uint64_t any = 0;
    for (int val = 0; val < 3; val++) {
      uint64_t pw = 0;
      uint8_t h[32], out[32];
      for (uint32_t i = 0; i < n; i++) {
        if (choice[i] == val) pw += f.vs.v[i].power;
      }
      any += pw;
      hash_of(h, (uint8_t)val);
      assert_int_equal(cairn_voteset_power(&s, h), pw);
      if (pw * 3 > f.vs.total_power * 2) {
        assert_true(cairn_voteset_has_two_thirds_majority(&s, out));
        assert_memory_equal(out, h, 32);
      }
    }
    assert_int_equal(cairn_voteset_power_any(&s), any);
    assert_int_equal(cairn_voteset_has_two_thirds_any(&s),
                     any * 3 > f.vs.total_power * 2);
  }
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_and_reject),
      cmocka_unit_test(test_equivocation),
      cmocka_unit_test(test_tally_boundary),
      cmocka_unit_test(test_nil_majority),
      cmocka_unit_test(test_make_commit),
      cmocka_unit_test(test_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
