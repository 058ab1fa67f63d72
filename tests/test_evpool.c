/*
 * test_evpool.c - the node's evidence pool: adding (new, known bytes, the
 * per-validator cap, a full pool that refuses and stays as it was),
 * listing in arrival order, removing, pruning by age (both sides of the
 * boundary, and disabled) and by a jailed offender in a real staking view,
 * pruning through a chain, and a seeded random sequence of operations
 * checked against a simple model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/chain.h"
#include "cairn/evidence.h"
#include "cairn/evpool.h"
#include "cairn/staking.h"
#include "cairn/view.h"
#include "testutil.h"

#define CHAIN ((const uint8_t *)TU_CHAIN_ID)
#define CHAIN_LEN (sizeof TU_CHAIN_ID - 1)
#define N_KEYS 3

static tu_vkey g_keys[N_KEYS];

/* Evidence that validator k signed two prevotes (hash bytes 0x01 and
 * 0x02) at (height, round). */
static cairn_evidence ev(uint32_t k, uint64_t height, uint32_t round) {
  cairn_vote x, y;
  memset(&x, 0, sizeof x);
  x.type = CAIRN_VOTE_PREVOTE;
  x.height = height;
  x.round = round;
  y = x;
  memset(x.block_hash, 0x01, 32);
  memset(y.block_hash, 0x02, 32);
  tu_check("vote sign", cairn_vote_sign(&x, CHAIN, CHAIN_LEN, g_keys[k].sk));
  tu_check("vote sign", cairn_vote_sign(&y, CHAIN, CHAIN_LEN, g_keys[k].sk));
  cairn_evidence e;
  tu_check("evidence", cairn_evidence_from_votes(&e, &y, &x));
  return e;
}

static void ev_bytes(uint8_t out[CAIRN_EVIDENCE_BYTES],
                     const cairn_evidence *e) {
  size_t len = 0;
  tu_check("evidence encode",
           cairn_evidence_encode(out, CAIRN_EVIDENCE_BYTES, &len, e));
}

static cairn_evpool *pool_open(size_t cap) {
  cairn_evpool *p = NULL;
  assert_int_equal(cairn_evpool_open(&p, cap), CAIRN_OK);
  assert_non_null(p);
  assert_int_equal(cairn_evpool_count(p), 0);
  return p;
}

static cairn_evpool_outcome add(cairn_evpool *p, const cairn_evidence *e) {
  cairn_evpool_outcome o = (cairn_evpool_outcome)99;
  assert_int_equal(cairn_evpool_add(p, e, &o), CAIRN_OK);
  return o;
}

/* The height of entry i. */
static uint64_t height_at(const cairn_evpool *p, size_t i) {
  const cairn_evidence *e = NULL;
  cairn_evpool_at(p, i, &e, NULL);
  return e->a.height;
}

static void test_add_known_list(void **state) {
  (void)state;
  cairn_evpool *p = pool_open(8);
  cairn_evidence a = ev(0, 5, 0), b = ev(1, 6, 2);
  uint8_t ab[CAIRN_EVIDENCE_BYTES], bb[CAIRN_EVIDENCE_BYTES];
  ev_bytes(ab, &a);
  ev_bytes(bb, &b);
  assert_false(cairn_evpool_contains(p, ab));
  assert_int_equal(add(p, &a), CAIRN_EVPOOL_ADDED);
  assert_int_equal(add(p, &b), CAIRN_EVPOOL_ADDED);
  assert_int_equal(add(p, &a), CAIRN_EVPOOL_KNOWN);
  assert_int_equal(cairn_evpool_count(p), 2);
  assert_true(cairn_evpool_contains(p, ab));
  assert_true(cairn_evpool_contains(p, bb));
  /* Arrival order, with the decoded evidence beside its bytes. */
  const cairn_evidence *e = NULL;
  const uint8_t *bytes = NULL;
  cairn_evpool_at(p, 0, &e, &bytes);
  assert_memory_equal(bytes, ab, sizeof ab);
  assert_memory_equal(e, &a, sizeof a);
  cairn_evpool_at(p, 1, &e, &bytes);
  assert_memory_equal(bytes, bb, sizeof bb);
  assert_int_equal(e->a.round, 2);
  assert_memory_equal(e->a.validator, g_keys[1].pk, 32);
  cairn_evpool_close(p);
  cairn_evpool_close(NULL);
}

static void test_per_validator_cap(void **state) {
  (void)state;
  cairn_evpool *p = pool_open(CAIRN_EVPOOL_ENTRIES_MAX);
  for (uint32_t r = 0; r < CAIRN_EVPOOL_PER_VALIDATOR_MAX; r++) {
    cairn_evidence e = ev(0, 3, r);
    assert_int_equal(add(p, &e), CAIRN_EVPOOL_ADDED);
  }
  cairn_evidence more = ev(0, 3, 99);
  uint8_t mb[CAIRN_EVIDENCE_BYTES];
  ev_bytes(mb, &more);
  assert_int_equal(add(p, &more), CAIRN_EVPOOL_ENOUGH);
  assert_false(cairn_evpool_contains(p, mb));
  assert_int_equal(cairn_evpool_count(p), CAIRN_EVPOOL_PER_VALIDATOR_MAX);
  /* A known one is still reported as known, and others still get in. */
  cairn_evidence first = ev(0, 3, 0), other = ev(2, 3, 0);
  assert_int_equal(add(p, &first), CAIRN_EVPOOL_KNOWN);
  assert_int_equal(add(p, &other), CAIRN_EVPOOL_ADDED);
  /* Room again once one leaves. */
  uint8_t fb[CAIRN_EVIDENCE_BYTES];
  ev_bytes(fb, &first);
  assert_int_equal(cairn_evpool_remove(p, fb), CAIRN_OK);
  assert_int_equal(add(p, &more), CAIRN_EVPOOL_ADDED);
  cairn_evpool_close(p);
}

static void test_full_refuses_unchanged(void **state) {
  (void)state;
  cairn_evpool *p = pool_open(3);
  cairn_evidence e0 = ev(0, 1, 0), e1 = ev(1, 1, 0), e2 = ev(2, 1, 0);
  cairn_evidence e3 = ev(0, 2, 0);
  assert_int_equal(add(p, &e0), CAIRN_EVPOOL_ADDED);
  assert_int_equal(add(p, &e1), CAIRN_EVPOOL_ADDED);
  assert_int_equal(add(p, &e2), CAIRN_EVPOOL_ADDED);
  cairn_evpool_outcome o = CAIRN_EVPOOL_KNOWN;
  assert_int_equal(cairn_evpool_add(p, &e3, &o), CAIRN_ERR_LIMIT);
  assert_int_equal(o, CAIRN_EVPOOL_KNOWN); /* not written on failure */
  assert_int_equal(cairn_evpool_count(p), 3);
  uint8_t b3[CAIRN_EVIDENCE_BYTES];
  ev_bytes(b3, &e3);
  assert_false(cairn_evpool_contains(p, b3));
  /* Known bytes are still recognised when full: no error. */
  assert_int_equal(add(p, &e1), CAIRN_EVPOOL_KNOWN);
  for (size_t i = 0; i < 3; i++) assert_int_equal(height_at(p, i), 1);
  cairn_evpool_close(p);
}

static void test_remove_keeps_order(void **state) {
  (void)state;
  cairn_evpool *p = pool_open(8);
  cairn_evidence e[4] = {ev(0, 10, 0), ev(1, 11, 0), ev(2, 12, 0),
                         ev(0, 13, 0)};
  for (int i = 0; i < 4; i++) assert_int_equal(add(p, &e[i]), 0);
  uint8_t b[CAIRN_EVIDENCE_BYTES];
  ev_bytes(b, &e[1]);
  assert_int_equal(cairn_evpool_remove(p, b), CAIRN_OK);
  assert_int_equal(cairn_evpool_remove(p, b), CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_evpool_count(p), 3);
  assert_int_equal(height_at(p, 0), 10);
  assert_int_equal(height_at(p, 1), 12);
  assert_int_equal(height_at(p, 2), 13);
  cairn_evidence absent = ev(2, 99, 0);
  ev_bytes(b, &absent);
  assert_int_equal(cairn_evpool_remove(p, b), CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_evpool_count(p), 3);
  cairn_evpool_close(p);
}

/* ---- pruning against a real staking state ---- */

/* Genesis with validators g_keys[0] (power 100) and g_keys[1] (power 50),
 * both operated by member 1, and the staking rules given. */
static cairn_genesis *genesis_two(uint64_t max_age) {
  cairn_genesis *g = calloc(1, sizeof *g);
  assert_non_null(g);
  tu_genesis(g);
  tu_key op;
  tu_member(&op, 1);
  g->validators.n = 2;
  for (uint32_t i = 0; i < 2; i++) {
    cairn_validator *v = &g->validators.v[i];
    memset(v, 0, sizeof *v);
    memcpy(v->pubkey, g_keys[i].pk, 32);
    memcpy(v->operator_key, op.pk, 32);
    v->power = i == 0 ? 100 : 50;
    v->name_len = 4;
    memcpy(v->name, i == 0 ? "val0" : "val1", 5);
  }
  if (memcmp(g->validators.v[0].pubkey, g->validators.v[1].pubkey, 32) > 0) {
    cairn_validator t = g->validators.v[0];
    g->validators.v[0] = g->validators.v[1];
    g->validators.v[1] = t;
  }
  tu_check("valset check", cairn_valset_check(&g->validators));
  g->staking.valset_delay_blocks = 2;
  g->staking.unbonding_blocks = 10;
  g->staking.evidence_max_age_blocks = max_age;
  g->staking.slash_percent = 10;
  return g;
}

/* Jail validator k in v with an EVIDENCE transaction included at
 * height 3 (the evidence is for height 1). */
static void jail(cairn_view *v, const cairn_genesis *g, uint32_t k) {
  cairn_tx tx;
  tu_key sender;
  tu_member(&sender, 7);
  tu_tx_init(&tx, CAIRN_TX_EVIDENCE, sender.pk, 1);
  cairn_evidence e = ev(k, 1, 0);
  ev_bytes(tx.u.evidence.evidence, &e);
  tu_tx_sign(&tx, &sender);
  uint8_t txid[32];
  tu_txid(txid, &tx);
  cairn_exec_ctx ctx = {CHAIN, CHAIN_LEN, 3, TU_GENESIS_TIME_MS + 3000};
  tu_check("staking apply evidence",
           cairn_staking_apply_tx(v, &ctx, &g->staking, &tx, txid));
  cairn_validator_record rec;
  tu_check("validator", cairn_staking_validator(v, g_keys[k].pk, &rec));
  assert_true(rec.jailed);
}

static void test_prune_jailed_and_age(void **state) {
  (void)state;
  cairn_genesis *g = genesis_two(100);
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, NULL), CAIRN_OK);
  tu_check("staking genesis", cairn_staking_apply_genesis(v, g));
  cairn_evpool *p = pool_open(16);
  cairn_evidence e0 = ev(0, 2, 0), e1 = ev(1, 2, 0), e1b = ev(1, 2, 1);
  cairn_evidence e2 = ev(2, 2, 0); /* a key the state does not know */
  assert_int_equal(add(p, &e0), 0);
  assert_int_equal(add(p, &e1), 0);
  assert_int_equal(add(p, &e2), 0);
  assert_int_equal(add(p, &e1b), 0);
  size_t removed = 99;
  /* Nobody jailed, everything young: nothing goes. */
  assert_int_equal(cairn_evpool_prune(p, v, 4, 100, &removed), CAIRN_OK);
  assert_int_equal(removed, 0);
  assert_int_equal(cairn_evpool_count(p), 4);
  jail(v, g, 1);
  assert_int_equal(cairn_evpool_prune(p, v, 4, 100, &removed), CAIRN_OK);
  assert_int_equal(removed, 2); /* both entries against validator 1 */
  assert_int_equal(cairn_evpool_count(p), 2);
  const cairn_evidence *e = NULL;
  cairn_evpool_at(p, 0, &e, NULL);
  assert_memory_equal(e->a.validator, g_keys[0].pk, 32);
  cairn_evpool_at(p, 1, &e, NULL);
  assert_memory_equal(e->a.validator, g_keys[2].pk, 32);
  /* Jailed evidence cannot come back into use; a re-add is allowed by the
   * pool (the API refuses it) and the next prune drops it again. */
  assert_int_equal(add(p, &e1), CAIRN_EVPOOL_ADDED);
  assert_int_equal(cairn_evpool_prune(p, v, 4, 100, &removed), CAIRN_OK);
  assert_int_equal(removed, 1);
  cairn_evpool_close(p);
  cairn_view_close(v);
  free(g);
}

static void test_prune_age_boundary(void **state) {
  (void)state;
  cairn_genesis *g = genesis_two(5);
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, NULL), CAIRN_OK);
  tu_check("staking genesis", cairn_staking_apply_genesis(v, g));
  cairn_evpool *p = pool_open(16);
  cairn_evidence e[3] = {ev(0, 4, 0), ev(0, 5, 0), ev(0, 9, 0)};
  for (int i = 0; i < 3; i++) assert_int_equal(add(p, &e[i]), 0);
  size_t removed = 99;
  /* Next block 10: height 5 is exactly 5 blocks back (kept), 4 is 6. */
  assert_int_equal(cairn_evpool_prune(p, v, 10, 5, &removed), CAIRN_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(cairn_evpool_count(p), 2);
  assert_int_equal(height_at(p, 0), 5);
  assert_int_equal(height_at(p, 1), 9);
  /* Age 0 disables the check; evidence for later heights stays. */
  assert_int_equal(cairn_evpool_prune(p, v, 1000, 0, &removed), CAIRN_OK);
  assert_int_equal(removed, 0);
  assert_int_equal(cairn_evpool_prune(p, v, 3, 5, &removed), CAIRN_OK);
  assert_int_equal(removed, 0);
  /* Next block 14: height 9 is exactly 5 back, height 5 is 9 back. */
  assert_int_equal(cairn_evpool_prune(p, v, 14, 5, &removed), CAIRN_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(cairn_evpool_count(p), 1);
  assert_int_equal(height_at(p, 0), 9);
  assert_int_equal(cairn_evpool_prune(p, v, 15, 5, &removed), CAIRN_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(cairn_evpool_count(p), 0);
  cairn_evpool_close(p);
  cairn_view_close(v);
  free(g);
}

/* Through a chain at genesis: the chain's rules and tip are used. */
static void test_prune_chain(void **state) {
  (void)state;
  char dir[256];
  tu_tmpdir(dir, sizeof dir);
  cairn_genesis *g = genesis_two(3);
  cairn_store *s = tu_store_open(dir);
  cairn_chain *c = NULL;
  assert_int_equal(cairn_chain_open(&c, s, g), CAIRN_OK);
  cairn_evpool *p = pool_open(4);
  size_t removed = 99;
  assert_int_equal(cairn_evpool_prune_chain(p, c, &removed), CAIRN_OK);
  assert_int_equal(removed, 0);
  cairn_evidence young = ev(0, 1, 0), unknown = ev(2, 1, 0);
  assert_int_equal(add(p, &young), 0);
  assert_int_equal(add(p, &unknown), 0);
  /* Tip 0: next block 1; nothing is jailed and height 1 is not old. */
  assert_int_equal(cairn_evpool_prune_chain(p, c, &removed), CAIRN_OK);
  assert_int_equal(removed, 0);
  assert_int_equal(cairn_evpool_count(p), 2);
  cairn_evpool_close(p);
  cairn_chain_close(c);
  cairn_store_close(s);
  tu_rmtree(dir);
  free(g);
}

/* ---- seeded random operations against a model ---- */

#define RAND_EVS 24

/* xorshift64: the same sequence for a seed on every platform. */
static uint64_t next_rand(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static void test_random_model(void **state) {
  (void)state;
  uint64_t seed = 0;
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) seed = strtoull(env, NULL, 10);
  else randombytes_buf(&seed, sizeof seed);
  if (seed == 0) seed = 1; /* xorshift's one fixed point */
  printf("test_evpool random seed %llu (CAIRN_TEST_SEED=%llu to replay)\n",
         (unsigned long long)seed, (unsigned long long)seed);
  uint64_t rng = seed;
  static cairn_evidence evs[RAND_EVS];
  static uint8_t bytes[RAND_EVS][CAIRN_EVIDENCE_BYTES];
  for (uint32_t i = 0; i < RAND_EVS; i++) {
    evs[i] = ev(i % N_KEYS, 1 + i / N_KEYS, i);
    ev_bytes(bytes[i], &evs[i]);
  }
  const size_t cap = 10;
  cairn_evpool *p = pool_open(cap);
  int model[RAND_EVS]; /* indices, in arrival order */
  size_t n = 0;
  for (int step = 0; step < 2000; step++) {
    int i = (int)(next_rand(&rng) % RAND_EVS);
    long at = -1;
    size_t against = 0;
    for (size_t k = 0; k < n; k++) {
      if (model[k] == i) at = (long)k;
      if ((uint32_t)model[k] % N_KEYS == (uint32_t)i % N_KEYS) against++;
    }
    if (next_rand(&rng) % 3 != 0) {
      cairn_evpool_outcome o;
      cairn_err err = cairn_evpool_add(p, &evs[i], &o);
      if (at >= 0) {
        assert_int_equal(err, CAIRN_OK);
        assert_int_equal(o, CAIRN_EVPOOL_KNOWN);
      } else if (against >= CAIRN_EVPOOL_PER_VALIDATOR_MAX) {
        assert_int_equal(err, CAIRN_OK);
        assert_int_equal(o, CAIRN_EVPOOL_ENOUGH);
      } else if (n == cap) {
        assert_int_equal(err, CAIRN_ERR_LIMIT);
      } else {
        assert_int_equal(err, CAIRN_OK);
        assert_int_equal(o, CAIRN_EVPOOL_ADDED);
        model[n++] = i;
      }
    } else {
      cairn_err err = cairn_evpool_remove(p, bytes[i]);
      assert_int_equal(err, at >= 0 ? CAIRN_OK : CAIRN_ERR_NOT_FOUND);
      if (at >= 0) {
        memmove(&model[at], &model[at + 1], (n - (size_t)at - 1) * sizeof(int));
        n--;
      }
    }
    assert_int_equal(cairn_evpool_count(p), n);
    for (size_t k = 0; k < n; k++) {
      const cairn_evidence *e = NULL;
      const uint8_t *b = NULL;
      cairn_evpool_at(p, k, &e, &b);
      assert_memory_equal(b, bytes[model[k]], CAIRN_EVIDENCE_BYTES);
    }
  }
  cairn_evpool_close(p);
}

static int cmp_vkey(const void *x, const void *y) {
  return memcmp(((const tu_vkey *)x)->pk, ((const tu_vkey *)y)->pk, 32);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  for (uint32_t i = 0; i < N_KEYS; i++) tu_validator(&g_keys[i], 10 + i);
  qsort(g_keys, N_KEYS, sizeof g_keys[0], cmp_vkey);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_known_list),
      cmocka_unit_test(test_per_validator_cap),
      cmocka_unit_test(test_full_refuses_unchanged),
      cmocka_unit_test(test_remove_keeps_order),
      cmocka_unit_test(test_prune_jailed_and_age),
      cmocka_unit_test(test_prune_age_boundary),
      cmocka_unit_test(test_prune_chain),
      cmocka_unit_test(test_random_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
