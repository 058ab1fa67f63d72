/*
 * test_conserve.c - the conservation check (ledger/conserve.c).
 *
 * A state built by real transactions passes, in both forms (a view that
 * holds the whole state, and a committed store). Then each way of breaking
 * the invariant is written by hand and must be caught with CAIRN_ERR_CORRUPT
 * and a sentence naming the brand: a point from nowhere, a point gone
 * missing, an outflow larger than the issue, a balance of a brand that does
 * not exist, a malformed counter record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cairn/state.h"
#include "cairn/view.h"
#include "testutil.h"

#define HEIGHT 5

typedef struct fx {
  cairn_genesis *g;
  cairn_view *v;
  tu_key iss[4];
  tu_key m[3];
} fx;

static void fx_apply(fx *f, const cairn_tx *tx) {
  cairn_exec_ctx ctx = {(const uint8_t *)TU_CHAIN_ID, strlen(TU_CHAIN_ID),
                        HEIGHT, TU_GENESIS_TIME_MS + 5000};
  uint8_t id[32];
  tu_txid(id, tx);
  assert_int_equal(cairn_state_apply_tx(f->v, &ctx, tx, id), CAIRN_OK);
}

/* Genesis, then coffee issues 100 to m0 and 50 to m1, m0 sends 30 to m1,
 * m1 redeems 20, pizza issues 7 to m2. */
static int fx_setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->g = malloc(sizeof *f->g);
  assert_non_null(f->g);
  tu_genesis(f->g);
  for (uint32_t b = 1; b <= 3; b++) tu_issuer(&f->iss[b], b);
  for (uint32_t i = 0; i < 3; i++) tu_member(&f->m[i], i);
  assert_int_equal(cairn_view_open(&f->v, NULL), CAIRN_OK);
  assert_int_equal(cairn_state_apply_genesis(f->v, f->g), CAIRN_OK);
  cairn_tx tx;
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 100);
  fx_apply(f, &tx);
  tu_tx_issue(&tx, &f->iss[1], 2, TU_BRAND_COFFEE, f->m[1].pk, 50);
  fx_apply(f, &tx);
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 30);
  fx_apply(f, &tx);
  tu_tx_redeem(&tx, &f->m[1], 1, TU_BRAND_COFFEE, 20, "r");
  fx_apply(f, &tx);
  tu_tx_issue(&tx, &f->iss[2], 1, TU_BRAND_PIZZA, f->m[2].pk, 7);
  fx_apply(f, &tx);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fx *f = *state;
  cairn_view_close(f->v);
  free(f->g);
  free(f);
  return 0;
}

static void put_balance(fx *f, const tu_key *k, uint32_t brand, uint64_t x) {
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[8];
  cairn_state_balance_key(key, k->pk, brand);
  cairn_be64_write(val, x);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_BALANCES, key, sizeof key,
                                  val, sizeof val), CAIRN_OK);
}

static void put_stats(fx *f, uint32_t brand, const cairn_brand_stats *st) {
  uint8_t key[4], val[CAIRN_BRAND_STATS_BYTES];
  cairn_be32_write(key, brand);
  cairn_brand_stats_encode(val, st);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_BRAND_STATS, key, 4, val,
                                  sizeof val), CAIRN_OK);
}

static void expect_broken(fx *f, const char *needle) {
  char why[256];
  assert_int_equal(cairn_state_check_conservation_view(f->v, why, sizeof why),
                   CAIRN_ERR_CORRUPT);
  if (strstr(why, needle) == NULL) fail_msg("why '%s' lacks '%s'", why, needle);
}

static void test_holds(void **state) {
  fx *f = *state;
  char why[256];
  cairn_brand_stats st;
  assert_int_equal(cairn_state_check_conservation_view(f->v, why, sizeof why),
                   CAIRN_OK);
  assert_int_equal(why[0], '\0');
  assert_int_equal(cairn_state_brand_stats(f->v, TU_BRAND_COFFEE, &st),
                   CAIRN_OK);
  assert_int_equal(st.issued, 150);
  assert_int_equal(st.redeemed_home, 20);
  /* why may be NULL. */
  assert_int_equal(cairn_state_check_conservation_view(f->v, NULL, 0),
                   CAIRN_OK);
}

static void test_point_from_nowhere(void **state) {
  fx *f = *state;
  put_balance(f, &f->m[2], TU_BRAND_COFFEE, 1);
  expect_broken(f, "brand 1");
}

static void test_point_missing(void **state) {
  fx *f = *state;
  put_balance(f, &f->m[0], TU_BRAND_COFFEE, 69); /* was 70 */
  expect_broken(f, "brand 1");
}

static void test_outflow_above_issue(void **state) {
  fx *f = *state;
  cairn_brand_stats st = {0};
  st.issued = 7;
  st.redeemed_home = 8;
  put_stats(f, TU_BRAND_PIZZA, &st);
  expect_broken(f, "brand 2");
  /* Held points count on the balance side. */
  st.redeemed_home = 0;
  st.held = 1;
  put_stats(f, TU_BRAND_PIZZA, &st);
  expect_broken(f, "brand 2");
  st.issued = 8;
  put_stats(f, TU_BRAND_PIZZA, &st);
  assert_int_equal(cairn_state_check_conservation_view(f->v, NULL, 0),
                   CAIRN_OK);
}

/* The lots of a (member, brand) must add up to its balance. */
static void test_lots_disagree(void **state) {
  fx *f = *state;
  uint8_t key[CAIRN_BALANCE_KEY_BYTES + 8], val[16];
  cairn_state_balance_key(key, f->m[2].pk, TU_BRAND_PIZZA);
  cairn_be64_write(key + CAIRN_BALANCE_KEY_BYTES, 0); /* its first lot */
  cairn_be64_write(val, 6);                            /* was 7 */
  cairn_be64_write(val + 8, 0);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_LOTS, key, sizeof key, val,
                                  sizeof val), CAIRN_OK);
  expect_broken(f, "lots hold 6 points but balances 7");
}

static void test_unknown_brand_balance(void **state) {
  fx *f = *state;
  put_balance(f, &f->m[0], 9, 1);
  expect_broken(f, "brand 9");
}

static void test_malformed_stats(void **state) {
  fx *f = *state;
  uint8_t key[4];
  cairn_be32_write(key, TU_BRAND_COFFEE);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_BRAND_STATS, key, 4,
                                  (const uint8_t *)"short", 5), CAIRN_OK);
  expect_broken(f, "brand 1");
}

/* Commit the view's state as a store's initial state and check it there. */
static cairn_err store_check(fx *f, char *why, size_t why_cap) {
  char dir[64];
  uint8_t ghash[32], app[32];
  size_t glen = 0;
  uint8_t *gbuf = malloc(CAIRN_GENESIS_BYTES_MAX);
  assert_non_null(gbuf);
  assert_int_equal(cairn_genesis_encode(gbuf, CAIRN_GENESIS_BYTES_MAX, &glen,
                                        f->g), CAIRN_OK);
  assert_int_equal(cairn_genesis_hash(ghash, f->g), CAIRN_OK);
  assert_int_equal(cairn_state_hash_next(app, ghash, f->v), CAIRN_OK);
  tu_tmpdir(dir, sizeof dir);
  cairn_store *s = tu_store_open(dir);
  assert_int_equal(cairn_store_commit_genesis(s, gbuf, glen, ghash, f->v, app,
                                              f->g->time_ms), CAIRN_OK);
  cairn_rtxn *r = NULL;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  cairn_err err = cairn_state_check_conservation_store(r, why, why_cap);
  cairn_store_read_end(r);
  cairn_store_close(s);
  tu_rmtree(dir);
  free(gbuf);
  return err;
}

static void test_store_form(void **state) {
  fx *f = *state;
  char why[256];
  assert_int_equal(store_check(f, why, sizeof why), CAIRN_OK);
  put_balance(f, &f->m[1], TU_BRAND_PIZZA, 3);
  assert_int_equal(store_check(f, why, sizeof why), CAIRN_ERR_CORRUPT);
  assert_non_null(strstr(why, "brand 2"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      T(test_holds),
      T(test_point_from_nowhere),
      T(test_point_missing),
      T(test_outflow_above_issue),
      T(test_unknown_brand_balance),
      T(test_lots_disagree),
      T(test_malformed_stats),
      T(test_store_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
