/*
 * test_proposer.c - stake-weighted round robin: even rotation, exact
 * proportions, determinism, tie-breaking, the (height, round) mapping, the
 * priority bound at extreme powers, and the worked example of
 * specs/consensus.md (the test computes the table and looks each row up in
 * the spec; run with --print to regenerate it).
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

#include "cairn/file.h"
#include "cairn/proposer.h"
#include "testutil.h"

/* Validators with pubkeys 32 x (i + 1) and the given powers. */
static void vs_make(cairn_valset *vs, const uint64_t *powers, uint32_t n) {
  memset(vs, 0, sizeof *vs);
  vs->n = n;
  for (uint32_t i = 0; i < n; i++) {
    memset(vs->v[i].pubkey, (int)(i + 1), 32);
    vs->v[i].power = powers[i];
  }
  assert_int_equal(cairn_valset_check(vs), CAIRN_OK);
}

/* Index of the current proposer (pubkeys are 32 x (i + 1)). */
static uint32_t current_index(const cairn_proposer_state *st) {
  uint8_t pk[32];
  cairn_proposer_current(st, pk);
  for (int i = 1; i < 32; i++) assert_int_equal(pk[i], pk[0]);
  return (uint32_t)pk[0] - 1;
}

/* Picks over `steps` steps from the initial state (the init step counts). */
static void count_picks(const cairn_valset *vs, uint64_t steps,
                        uint64_t *counts) {
  static cairn_proposer_state st;
  memset(counts, 0, vs->n * sizeof counts[0]);
  cairn_proposer_init(&st, vs);
  counts[current_index(&st)]++;
  for (uint64_t k = 1; k < steps; k++) {
    cairn_proposer_advance(&st, 1);
    counts[current_index(&st)]++;
  }
}

static void test_equal_rotate(void **state) {
  (void)state;
  static cairn_valset vs;
  static cairn_proposer_state st;
  const uint64_t p[] = {7, 7, 7, 7};
  vs_make(&vs, p, 4);
  cairn_proposer_init(&st, &vs);
  /* Equal stakes: 0, 1, 2, 3, 0, 1, ... (ties go to the lowest key). */
  for (uint32_t k = 0; k < 40; k++) {
    assert_int_equal(current_index(&st), k % 4);
    cairn_proposer_advance(&st, 1);
  }
}

static void test_proportions(void **state) {
  (void)state;
  static cairn_valset vs;
  uint64_t counts[3];
  const uint64_t p[] = {1, 2, 3};
  vs_make(&vs, p, 3);
  count_picks(&vs, 6000, counts);
  assert_int_equal(counts[0], 1000);
  assert_int_equal(counts[1], 2000);
  assert_int_equal(counts[2], 3000);
  /* And within every window of total_power steps. */
  count_picks(&vs, 6, counts);
  assert_int_equal(counts[0], 1);
  assert_int_equal(counts[1], 2);
  assert_int_equal(counts[2], 3);
}

static void test_for_matches_state(void **state) {
  (void)state;
  static cairn_valset vs;
  static cairn_proposer_state st;
  uint8_t a[32], b[32];
  const uint64_t p[] = {5, 1, 3, 2, 8};
  vs_make(&vs, p, 5);
  cairn_proposer_init(&st, &vs);
  for (uint64_t k = 0; k < 60; k++) {
    cairn_proposer_current(&st, a);
    /* Step k is (height k + 1, round 0) and also (height 1, round k). */
    assert_int_equal(cairn_proposer_for(b, &vs, k + 1, 0), CAIRN_OK);
    assert_memory_equal(a, b, 32);
    assert_int_equal(cairn_proposer_for(b, &vs, 1, (uint32_t)k), CAIRN_OK);
    assert_memory_equal(a, b, 32);
    if (k >= 3) {
      assert_int_equal(cairn_proposer_for(b, &vs, k - 2, 3), CAIRN_OK);
      assert_memory_equal(a, b, 32);
    }
    cairn_proposer_advance(&st, 1);
  }
  /* Batched advances equal single steps. */
  static cairn_proposer_state st2;
  cairn_proposer_init(&st2, &vs);
  cairn_proposer_advance(&st2, 60);
  assert_memory_equal(&st, &st2, sizeof st);
  memset(b, 0xee, 32);
  assert_int_equal(cairn_proposer_for(b, &vs, 0, 0), CAIRN_ERR_RANGE);
  assert_memory_equal(b, (uint8_t[32]){0}, 32);
  assert_int_equal(cairn_proposer_for(b, &vs, UINT64_MAX, 2),
                   CAIRN_ERR_RANGE);
}

/* Random sets: counts over total_power steps equal the powers, and two
 * runs agree (determinism). */
static void test_random(void **state) {
  (void)state;
  static cairn_valset vs;
  static uint64_t counts[CAIRN_VALIDATORS_MAX], again[CAIRN_VALIDATORS_MAX];
  unsigned seed = (unsigned)time(NULL);
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) seed = (unsigned)strtoul(env, NULL, 10);
  printf("test_proposer random seed %u (CAIRN_TEST_SEED to replay)\n", seed);
  srand(seed);
  for (int trial = 0; trial < 30; trial++) {
    uint64_t p[CAIRN_VALIDATORS_MAX];
    uint32_t n = 1 + (uint32_t)rand() % 40;
    for (uint32_t i = 0; i < n; i++) p[i] = 1 + (uint64_t)(rand() % 50);
    vs_make(&vs, p, n);
    count_picks(&vs, vs.total_power, counts);
    count_picks(&vs, vs.total_power, again);
    for (uint32_t i = 0; i < n; i++) {
      assert_int_equal(counts[i], p[i]);
      assert_int_equal(again[i], counts[i]);
    }
  }
}

/* From the initial state the rotation is periodic with period
 * total_power (the chain relies on it: it reduces step counts modulo the
 * total, specs/consensus.md §3): after every step the priorities sum to 0
 * and span at most 2T, so the rescale and centre rules of the next step
 * change nothing, and T steps after the initial state the priorities are
 * those of the initial state again. Checked on random sets (seeded) and on
 * skewed ones. */
static void check_period(const cairn_valset *vs) {
  static cairn_proposer_state st, start;
  int64_t t = (int64_t)vs->total_power;
  cairn_proposer_init(&st, vs);
  start = st;
  for (int64_t k = 0; k < t; k++) {
    int64_t sum = 0, max = st.priority[0], min = st.priority[0];
    for (uint32_t i = 0; i < vs->n; i++) {
      sum += st.priority[i];
      if (st.priority[i] > max) max = st.priority[i];
      if (st.priority[i] < min) min = st.priority[i];
    }
    assert_int_equal(sum, 0);
    assert_true(max - min <= 2 * t);
    cairn_proposer_advance(&st, 1);
  }
  assert_memory_equal(st.priority, start.priority,
                      vs->n * sizeof st.priority[0]);
  assert_int_equal(st.chosen, start.chosen);
  /* So (h, r) and (h + T, r) have the same proposer. */
  for (uint32_t r = 0; r < 3; r++) {
    uint8_t a[32], b[32];
    assert_int_equal(cairn_proposer_for(a, vs, 2, r), CAIRN_OK);
    assert_int_equal(cairn_proposer_for(b, vs, 2 + (uint64_t)t, r), CAIRN_OK);
    assert_memory_equal(a, b, 32);
  }
}

static void test_period(void **state) {
  (void)state;
  static cairn_valset vs;
  static const uint64_t skewed[][4] = {
      {1, 1000, 0, 0}, {1, 1, 1, 997}, {500, 1, 0, 0}, {3, 3, 3, 0},
      {1, 2, 4, 8}, {999, 1, 1, 1}, {7, 0, 0, 0}};
  for (size_t k = 0; k < sizeof skewed / sizeof skewed[0]; k++) {
    uint32_t n = 0;
    while (n < 4 && skewed[k][n] != 0) n++;
    vs_make(&vs, skewed[k], n);
    check_period(&vs);
  }
  unsigned seed = (unsigned)time(NULL);
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) seed = (unsigned)strtoul(env, NULL, 10);
  printf("test_period seed %u (CAIRN_TEST_SEED to replay)\n", seed);
  srand(seed);
  for (int trial = 0; trial < 200; trial++) {
    uint64_t p[CAIRN_VALIDATORS_MAX];
    uint32_t n = 1 + (uint32_t)rand() % 24;
    for (uint32_t i = 0; i < n; i++)
      p[i] = 1 + (uint64_t)(rand() % (trial % 2 ? 300 : 5));
    vs_make(&vs, p, n);
    check_period(&vs);
  }
}

/* Powers near the 2^60 limit: priorities stay inside the documented
 * bound, and a dominant validator proposes almost always. */
static void test_extreme_powers(void **state) {
  (void)state;
  static cairn_valset vs;
  static cairn_proposer_state st;
  const uint64_t p[] = {1, CAIRN_TOTAL_POWER_MAX - 2, 1};
  vs_make(&vs, p, 3);
  cairn_proposer_init(&st, &vs);
  uint64_t picks_big = 0;
  int64_t bound = 3 * (int64_t)vs.total_power;
  for (int k = 0; k < 10000; k++) {
    picks_big += current_index(&st) == 1;
    for (uint32_t i = 0; i < 3; i++) {
      assert_true(st.priority[i] <= bound && st.priority[i] >= -bound);
    }
    cairn_proposer_advance(&st, 1);
  }
  assert_int_equal(picks_big, 10000);
}

/* ---- the worked example of specs/consensus.md ---- */

#define EX_STEPS 12

/* Row k: "| height | prio A | prio B | prio C | proposer |" after step k. */
static void example_rows(char rows[EX_STEPS][128]) {
  static cairn_valset vs;
  static cairn_proposer_state st;
  const uint64_t p[] = {1, 2, 3};
  vs_make(&vs, p, 3);
  cairn_proposer_init(&st, &vs);
  for (int k = 0; k < EX_STEPS; k++) {
    snprintf(rows[k], 128, "| %d | %lld | %lld | %lld | %c |", k + 1,
             (long long)st.priority[0], (long long)st.priority[1],
             (long long)st.priority[2], (char)('A' + current_index(&st)));
    cairn_proposer_advance(&st, 1);
  }
}

static void test_spec_example(void **state) {
  (void)state;
  char rows[EX_STEPS][128];
  char *spec;
  size_t len;
  example_rows(rows);
  assert_int_equal(
      cairn_file_read_all("specs/consensus.md", 1 << 20, &spec, &len),
      CAIRN_OK);
  for (int k = 0; k < EX_STEPS; k++) {
    if (strstr(spec, rows[k]) == NULL) {
      free(spec);
      fail_msg("specs/consensus.md lacks the example row %s", rows[k]);
    }
  }
  free(spec);
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  if (argc > 1 && strcmp(argv[1], "--print") == 0) {
    char rows[EX_STEPS][128];
    example_rows(rows);
    for (int k = 0; k < EX_STEPS; k++) printf("%s\n", rows[k]);
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_equal_rotate),
      cmocka_unit_test(test_proportions),
      cmocka_unit_test(test_for_matches_state),
      cmocka_unit_test(test_random),
      cmocka_unit_test(test_period),
      cmocka_unit_test(test_extreme_powers),
      cmocka_unit_test(test_spec_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
