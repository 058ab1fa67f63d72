/*
 * tests/test_state.c - the state machine, rule by rule.
 *
 * Each rule of cairn_state_apply_tx() is exercised on the accepted path and
 * on every rejected path with its exact error code. After each rejection the
 * view's change digest, its change count and every test account's balances
 * and sequence must be exactly as before: the view sits over an empty base,
 * so its digest commits to the whole state. The order in which rules are
 * checked is tested by transactions that break two rules at once.
 *
 * A seeded random test (seed printed; set CAIRN_TEST_SEED to replay) runs
 * thousands of valid and invalid transactions over 3 brands and 23 accounts
 * and compares every balance and sequence after every transaction with a
 * small model written from the rules, not from state.c.
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

#include "cairn/encoding.h"
#include "cairn/state.h"
#include "cairn/view.h"
#include "testutil.h"

#define HEIGHT 10u
#define N_MEMBERS 4

typedef struct fx {
  cairn_genesis *g;
  cairn_view *v;
  cairn_exec_ctx ctx;
  tu_key iss[4]; /* iss[b] issues brand b (1..3) */
  tu_key m[N_MEMBERS];
} fx;

static int fx_setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->g = malloc(sizeof *f->g);
  assert_non_null(f->g);
  tu_genesis(f->g);
  assert_int_equal(cairn_view_open(&f->v, NULL), CAIRN_OK);
  assert_int_equal(cairn_state_apply_genesis(f->v, f->g), CAIRN_OK);
  f->ctx.chain_id = (const uint8_t *)TU_CHAIN_ID;
  f->ctx.chain_id_len = strlen(TU_CHAIN_ID);
  f->ctx.height = HEIGHT;
  f->ctx.time_ms = TU_GENESIS_TIME_MS + 10000;
  for (uint32_t b = 1; b <= 3; b++) tu_issuer(&f->iss[b], b);
  for (uint32_t i = 0; i < N_MEMBERS; i++) tu_member(&f->m[i], i);
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

static cairn_err fx_apply(fx *f, const cairn_tx *tx) {
  uint8_t id[32];
  tu_txid(id, tx);
  return cairn_state_apply_tx(f->v, &f->ctx, tx, id);
}

static uint64_t bal(fx *f, const tu_key *k, uint32_t brand) {
  uint64_t x = 0;
  assert_int_equal(cairn_state_balance(f->v, k->pk, brand, &x), CAIRN_OK);
  return x;
}

/* The next sequence of k. */
static uint64_t nseq(fx *f, const tu_key *k) {
  uint64_t last = 0;
  assert_int_equal(cairn_state_sequence(f->v, k->pk, &last), CAIRN_OK);
  return last + 1;
}

static bool balance_key_present(fx *f, const tu_key *k, uint32_t brand) {
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[16];
  size_t vlen = 0;
  cairn_state_balance_key(key, k->pk, brand);
  cairn_err err = cairn_view_get(f->v, CAIRN_T_BALANCES, key, sizeof key, val,
                                 sizeof val, &vlen);
  assert_true(err == CAIRN_OK || err == CAIRN_ERR_NOT_FOUND);
  return err == CAIRN_OK;
}

static bool owner_entry_present(fx *f, const tu_key *k, const uint8_t id[32]) {
  uint8_t key[64], val[8];
  size_t vlen = 99;
  memcpy(key, k->pk, 32);
  memcpy(key + 32, id, 32);
  cairn_err err = cairn_view_get(f->v, CAIRN_T_COUPON_OWNER, key, sizeof key,
                                 val, sizeof val, &vlen);
  assert_true(err == CAIRN_OK || err == CAIRN_ERR_NOT_FOUND);
  if (err == CAIRN_OK) assert_int_equal(vlen, 0);
  return err == CAIRN_OK;
}

/* Everything a rejection must leave alone. */
typedef struct snap {
  uint8_t digest[32];
  size_t changes;
  uint64_t bal[N_MEMBERS + 4][4];
  uint64_t seq[N_MEMBERS + 4];
} snap;

static const tu_key *fx_account(fx *f, size_t i) {
  return i < N_MEMBERS ? &f->m[i] : &f->iss[i - N_MEMBERS + 1];
}

static void snap_take(fx *f, snap *s) {
  memset(s, 0, sizeof *s);
  assert_int_equal(cairn_view_digest(f->v, s->digest), CAIRN_OK);
  s->changes = cairn_view_change_count(f->v);
  for (size_t i = 0; i < N_MEMBERS + 3; i++) {
    for (uint32_t b = 1; b <= 3; b++)
      s->bal[i][b] = bal(f, fx_account(f, i), b);
    s->seq[i] = nseq(f, fx_account(f, i));
  }
}

/* Accepted: the sender's last sequence is now the transaction's. */
static void expect_ok(fx *f, const cairn_tx *tx) {
  uint64_t last = 0;
  assert_int_equal(fx_apply(f, tx), CAIRN_OK);
  assert_int_equal(cairn_state_sequence(f->v, tx->sender, &last), CAIRN_OK);
  assert_int_equal(last, tx->sequence);
}

static void expect_err(fx *f, const cairn_tx *tx, cairn_err want) {
  snap a, b;
  snap_take(f, &a);
  assert_int_equal(fx_apply(f, tx), want);
  snap_take(f, &b);
  assert_memory_equal(&a, &b, sizeof a);
}

/* Issue amount of brand to k (must succeed). */
static void give(fx *f, uint32_t brand, const tu_key *k, uint64_t amount) {
  cairn_tx tx;
  tu_tx_issue(&tx, &f->iss[brand], nseq(f, &f->iss[brand]), brand, k->pk,
              amount);
  expect_ok(f, &tx);
}

/* Issue a coupon of brand to k; its id goes to id. */
static void give_coupon(fx *f, uint32_t brand, const tu_key *k,
                        uint64_t expiry, bool transferable, uint8_t id[32]) {
  cairn_tx tx;
  tu_tx_coupon_issue(&tx, &f->iss[brand], nseq(f, &f->iss[brand]), brand,
                     k->pk, expiry, transferable);
  tu_txid(id, &tx);
  expect_ok(f, &tx);
}

/* ---- genesis ---- */

static void test_genesis_records(void **state) {
  fx *f = *state;
  cairn_brand b;
  uint8_t key[4], val[128];
  size_t vlen = 0;
  assert_int_equal(cairn_state_brand(f->v, TU_BRAND_COFFEE, &b), CAIRN_OK);
  assert_int_equal(b.id, TU_BRAND_COFFEE);
  assert_string_equal(b.name, "coffee");
  assert_int_equal(b.flags, CAIRN_BRAND_FLAG_TRANSFERABLE);
  assert_memory_equal(b.issuer, f->iss[1].pk, 32);
  assert_int_equal(cairn_state_brand(f->v, TU_BRAND_BOOKS, &b), CAIRN_OK);
  assert_int_equal(b.flags, 0);
  assert_string_equal(b.name, "books");
  assert_int_equal(cairn_state_brand(f->v, 4, &b), CAIRN_ERR_UNKNOWN_BRAND);
  assert_int_equal(b.id, 0); /* zeroed on failure */
  /* Raw layout: key is the big-endian id; flags | issuer | name var8. */
  cairn_be32_write(key, TU_BRAND_PIZZA);
  assert_int_equal(cairn_view_get(f->v, CAIRN_T_BRANDS, key, 4, val,
                                  sizeof val, &vlen), CAIRN_OK);
  assert_int_equal(vlen, 1 + 32 + 1 + 5);
  assert_int_equal(val[0], 1);
  assert_memory_equal(val + 1, f->iss[2].pk, 32);
  assert_int_equal(val[33], 5);
  assert_memory_equal(val + 34, "pizza", 5);
  /* Validator: power u64 | name var8 under the pubkey. */
  tu_vkey vk;
  tu_validator(&vk, 0);
  assert_int_equal(cairn_view_get(f->v, CAIRN_T_VALIDATORS, vk.pk, 32, val,
                                  sizeof val, &vlen), CAIRN_OK);
  assert_int_equal(vlen, 8 + 1 + 4);
  assert_int_equal(cairn_be64_read(val), TU_VALIDATOR_POWER);
  assert_int_equal(val[8], 4);
  assert_memory_equal(val + 9, "val0", 4);
  /* 3 brands + 1 validator, nothing else. */
  assert_int_equal(cairn_view_change_count(f->v), 4);
}

/* ---- points ---- */

static void test_issue(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[8];
  size_t vlen = 0;
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 100);
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_COFFEE), 100);
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_PIZZA), 0);
  assert_int_equal(nseq(f, &f->iss[1]), 2);
  assert_int_equal(nseq(f, &f->m[0]), 1); /* the recipient's is untouched */
  /* Raw layout: account | brand u32 BE -> amount u64 BE. */
  cairn_state_balance_key(key, f->m[0].pk, TU_BRAND_COFFEE);
  assert_memory_equal(key, f->m[0].pk, 32);
  assert_int_equal(cairn_be32_read(key + 32), TU_BRAND_COFFEE);
  assert_int_equal(cairn_view_get(f->v, CAIRN_T_BALANCES, key, sizeof key,
                                  val, sizeof val, &vlen), CAIRN_OK);
  assert_int_equal(vlen, 8);
  assert_int_equal(cairn_be64_read(val), 100);
  assert_int_equal(cairn_view_get(f->v, CAIRN_T_SEQUENCES, f->iss[1].pk, 32,
                                  val, sizeof val, &vlen), CAIRN_OK);
  assert_int_equal(vlen, 8);
  assert_int_equal(cairn_be64_read(val), 1);
  tu_tx_issue(&tx, &f->iss[1], 2, TU_BRAND_COFFEE, f->m[0].pk, 50);
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_COFFEE), 150);
}

static void test_sequence(void **state) {
  fx *f = *state;
  cairn_tx tx;
  give(f, TU_BRAND_COFFEE, &f->m[0], 100);
  /* A fresh account: 2 is a gap, 1 is next (0 does not decode). */
  tu_tx_transfer(&tx, &f->m[0], 2, TU_BRAND_COFFEE, f->m[1].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_SEQ_GAP);
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 1);
  expect_ok(f, &tx);
  /* The same transaction again is a replay. */
  expect_err(f, &tx, CAIRN_ERR_SEQ_REPLAY);
  tu_tx_transfer(&tx, &f->m[0], 3, TU_BRAND_COFFEE, f->m[1].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_SEQ_GAP);
  tu_tx_transfer(&tx, &f->m[0], UINT64_MAX, TU_BRAND_COFFEE, f->m[1].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_SEQ_GAP);
  tu_tx_transfer(&tx, &f->m[0], 2, TU_BRAND_COFFEE, f->m[1].pk, 1);
  expect_ok(f, &tx);
  assert_int_equal(nseq(f, &f->m[0]), 3);
  assert_int_equal(bal(f, &f->m[1], TU_BRAND_COFFEE), 2);
}

static void test_expiry(void **state) {
  fx *f = *state;
  cairn_tx tx;
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 5);
  tx.expiry_height = HEIGHT + 5;
  tu_tx_sign(&tx, &f->iss[1]);
  f->ctx.height = HEIGHT + 6; /* expiry + 1 */
  expect_err(f, &tx, CAIRN_ERR_TX_EXPIRED);
  f->ctx.height = HEIGHT + 5; /* at expiry: still valid */
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_COFFEE), 5);
}

static void test_wrong_chain(void **state) {
  fx *f = *state;
  cairn_tx tx;
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 5);
  memcpy(tx.chain_id, "cairn-tesX", 10);
  tu_tx_sign(&tx, &f->iss[1]);
  expect_err(f, &tx, CAIRN_ERR_CHAIN_ID);
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 5);
  tx.chain_id_len = 9; /* a prefix of the chain id */
  tu_tx_sign(&tx, &f->iss[1]);
  expect_err(f, &tx, CAIRN_ERR_CHAIN_ID);
}

static void test_transfer(void **state) {
  fx *f = *state;
  cairn_tx tx;
  give(f, TU_BRAND_COFFEE, &f->m[0], 100);
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 101);
  expect_err(f, &tx, CAIRN_ERR_INSUFFICIENT); /* overspend by 1 */
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_PIZZA, f->m[1].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_INSUFFICIENT); /* no pizza points at all */
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 40);
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_COFFEE), 60);
  assert_int_equal(bal(f, &f->m[1], TU_BRAND_COFFEE), 40);
  /* Spending exactly the balance deletes the key. */
  tu_tx_transfer(&tx, &f->m[0], 2, TU_BRAND_COFFEE, f->m[1].pk, 60);
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_COFFEE), 0);
  assert_false(balance_key_present(f, &f->m[0], TU_BRAND_COFFEE));
  assert_int_equal(bal(f, &f->m[1], TU_BRAND_COFFEE), 100);
  tu_tx_transfer(&tx, &f->m[0], 3, TU_BRAND_COFFEE, f->m[1].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_INSUFFICIENT);
  /* Issuers hold points like anyone else once they receive some. */
  tu_tx_transfer(&tx, &f->m[1], 1, TU_BRAND_COFFEE, f->iss[2].pk, 7);
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->iss[2], TU_BRAND_COFFEE), 7);
}

static void test_not_transferable(void **state) {
  fx *f = *state;
  cairn_tx tx;
  give(f, TU_BRAND_BOOKS, &f->m[0], 50);
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_BOOKS, f->m[1].pk, 10);
  expect_err(f, &tx, CAIRN_ERR_NOT_TRANSFERABLE);
  /* Redeeming (burning) them is fine; the last point deletes the key. */
  tu_tx_redeem(&tx, &f->m[0], 1, TU_BRAND_BOOKS, 50, "order-1");
  expect_ok(f, &tx);
  assert_false(balance_key_present(f, &f->m[0], TU_BRAND_BOOKS));
}

static void test_unknown_brand(void **state) {
  fx *f = *state;
  cairn_tx tx;
  tu_tx_issue(&tx, &f->iss[1], 1, 9, f->m[0].pk, 5);
  expect_err(f, &tx, CAIRN_ERR_UNKNOWN_BRAND);
  tu_tx_transfer(&tx, &f->m[0], 1, 9, f->m[1].pk, 5);
  expect_err(f, &tx, CAIRN_ERR_UNKNOWN_BRAND);
  tu_tx_redeem(&tx, &f->m[0], 1, 9, 5, "");
  expect_err(f, &tx, CAIRN_ERR_UNKNOWN_BRAND);
  tu_tx_coupon_issue(&tx, &f->iss[1], 1, 9, f->m[0].pk, 100, true);
  expect_err(f, &tx, CAIRN_ERR_UNKNOWN_BRAND);
}

static void test_not_issuer(void **state) {
  fx *f = *state;
  cairn_tx tx;
  tu_tx_issue(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 5);
  expect_err(f, &tx, CAIRN_ERR_NOT_ISSUER);
  tu_tx_issue(&tx, &f->iss[2], 1, TU_BRAND_COFFEE, f->m[1].pk, 5);
  expect_err(f, &tx, CAIRN_ERR_NOT_ISSUER); /* another brand's issuer */
  tu_tx_coupon_issue(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 100, true);
  expect_err(f, &tx, CAIRN_ERR_NOT_ISSUER);
}

static void test_self_transfer(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t id[32];
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->iss[1].pk, 5);
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  give(f, TU_BRAND_COFFEE, &f->m[0], 10);
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[0].pk, 5);
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  tu_tx_coupon_issue(&tx, &f->iss[1], nseq(f, &f->iss[1]), TU_BRAND_COFFEE,
                     f->iss[1].pk, 100, true);
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  give_coupon(f, TU_BRAND_COFFEE, &f->m[0], 100, true, id);
  tu_tx_coupon_transfer(&tx, &f->m[0], 1, id, f->m[0].pk);
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
}

static void test_overflow(void **state) {
  fx *f = *state;
  cairn_tx tx;
  give(f, TU_BRAND_COFFEE, &f->m[0], UINT64_MAX - 10);
  give(f, TU_BRAND_COFFEE, &f->m[0], 10); /* exactly UINT64_MAX */
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_COFFEE), UINT64_MAX);
  tu_tx_issue(&tx, &f->iss[1], nseq(f, &f->iss[1]), TU_BRAND_COFFEE,
              f->m[0].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_OVERFLOW);
  /* A transfer debits first: the failing credit must undo the debit. */
  give(f, TU_BRAND_COFFEE, &f->m[1], 3);
  tu_tx_transfer(&tx, &f->m[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_OVERFLOW);
  assert_int_equal(bal(f, &f->m[1], TU_BRAND_COFFEE), 3);
  /* The full balance moves out, and into an account with room. */
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[2].pk, UINT64_MAX);
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->m[2], TU_BRAND_COFFEE), UINT64_MAX);
  assert_false(balance_key_present(f, &f->m[0], TU_BRAND_COFFEE));
}

static void test_redeem(void **state) {
  fx *f = *state;
  cairn_tx tx;
  give(f, TU_BRAND_PIZZA, &f->m[0], 100);
  tu_tx_redeem(&tx, &f->m[0], 1, TU_BRAND_PIZZA, 101, "order-1");
  expect_err(f, &tx, CAIRN_ERR_INSUFFICIENT);
  tu_tx_redeem(&tx, &f->m[0], 1, TU_BRAND_COFFEE, 1, "order-1");
  expect_err(f, &tx, CAIRN_ERR_INSUFFICIENT);
  tu_tx_redeem(&tx, &f->m[0], 1, TU_BRAND_PIZZA, 30, "order-1");
  expect_ok(f, &tx);
  assert_int_equal(bal(f, &f->m[0], TU_BRAND_PIZZA), 70);
  tu_tx_redeem(&tx, &f->m[0], 2, TU_BRAND_PIZZA, 70, "order-2");
  expect_ok(f, &tx);
  assert_false(balance_key_present(f, &f->m[0], TU_BRAND_PIZZA));
  assert_int_equal(nseq(f, &f->m[0]), 3);
}

/* ---- coupons ---- */

static void test_coupon_lifecycle(void **state) {
  fx *f = *state;
  cairn_tx tx;
  cairn_coupon c;
  uint8_t id[32];
  give_coupon(f, TU_BRAND_COFFEE, &f->m[0], 100, true, id);
  assert_int_equal(cairn_state_coupon(f->v, id, &c), CAIRN_OK);
  assert_memory_equal(c.id, id, 32);
  assert_int_equal(c.brand, TU_BRAND_COFFEE);
  assert_memory_equal(c.owner, f->m[0].pk, 32);
  assert_int_equal(c.kind, CAIRN_COUPON_AMOUNT);
  assert_int_equal(c.value, 500);
  assert_int_equal(c.expiry_height, 100);
  assert_true(c.transferable);
  assert_int_equal(c.status, CAIRN_COUPON_ACTIVE);
  assert_int_equal(c.issued_height, HEIGHT);
  assert_int_equal(c.redeemed_height, 0);
  assert_int_equal(c.label_len, 11);
  assert_memory_equal(c.label, "test coupon", 11);
  assert_true(owner_entry_present(f, &f->m[0], id));
  /* Transfer moves the owner and the index entry. */
  tu_tx_coupon_transfer(&tx, &f->m[0], 1, id, f->m[1].pk);
  expect_ok(f, &tx);
  assert_int_equal(cairn_state_coupon(f->v, id, &c), CAIRN_OK);
  assert_memory_equal(c.owner, f->m[1].pk, 32);
  assert_false(owner_entry_present(f, &f->m[0], id));
  assert_true(owner_entry_present(f, &f->m[1], id));
  assert_int_equal(nseq(f, &f->m[0]), 2);
  /* Redeem marks it used at this height; the index entry stays. */
  f->ctx.height = HEIGHT + 3;
  tu_tx_coupon_redeem(&tx, &f->m[1], 1, id, TU_BRAND_COFFEE, "order-9");
  expect_ok(f, &tx);
  assert_int_equal(cairn_state_coupon(f->v, id, &c), CAIRN_OK);
  assert_int_equal(c.status, CAIRN_COUPON_USED);
  assert_int_equal(c.redeemed_height, HEIGHT + 3);
  assert_int_equal(c.issued_height, HEIGHT);
  assert_memory_equal(c.owner, f->m[1].pk, 32);
  assert_true(owner_entry_present(f, &f->m[1], id));
  /* Redeemed twice, or moved after use: COUPON_REDEEMED. */
  tu_tx_coupon_redeem(&tx, &f->m[1], 2, id, TU_BRAND_COFFEE, "order-10");
  expect_err(f, &tx, CAIRN_ERR_COUPON_REDEEMED);
  tu_tx_coupon_transfer(&tx, &f->m[1], 2, id, f->m[2].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_REDEEMED);
}

static void test_coupon_expiry(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t a[32], b[32];
  /* Issuing one that has already expired is refused; at expiry it is not. */
  tu_tx_coupon_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk,
                     HEIGHT - 1, true);
  expect_err(f, &tx, CAIRN_ERR_COUPON_EXPIRED);
  give_coupon(f, TU_BRAND_COFFEE, &f->m[0], HEIGHT, true, a);
  give_coupon(f, TU_BRAND_COFFEE, &f->m[0], HEIGHT + 5, true, b);
  /* Redeem at the expiry height: accepted. */
  tu_tx_coupon_redeem(&tx, &f->m[0], 1, a, TU_BRAND_COFFEE, "");
  expect_ok(f, &tx);
  /* One past expiry: neither transfer nor redeem. */
  f->ctx.height = HEIGHT + 6;
  tu_tx_coupon_redeem(&tx, &f->m[0], 2, b, TU_BRAND_COFFEE, "");
  expect_err(f, &tx, CAIRN_ERR_COUPON_EXPIRED);
  tu_tx_coupon_transfer(&tx, &f->m[0], 2, b, f->m[1].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_EXPIRED);
  /* At expiry a transfer still goes through. */
  f->ctx.height = HEIGHT + 5;
  expect_ok(f, &tx);
}

static void test_coupon_not_owner(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t id[32];
  give_coupon(f, TU_BRAND_PIZZA, &f->m[0], 100, true, id);
  tu_tx_coupon_transfer(&tx, &f->m[1], 1, id, f->m[2].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_NOT_OWNER);
  tu_tx_coupon_redeem(&tx, &f->m[1], 1, id, TU_BRAND_PIZZA, "");
  expect_err(f, &tx, CAIRN_ERR_COUPON_NOT_OWNER);
  /* Not even the issuer can take it back. */
  tu_tx_coupon_transfer(&tx, &f->iss[2], nseq(f, &f->iss[2]), id, f->m[2].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_NOT_OWNER);
}

static void test_coupon_wrong_brand(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t id[32];
  give_coupon(f, TU_BRAND_PIZZA, &f->m[0], 100, true, id);
  tu_tx_coupon_redeem(&tx, &f->m[0], 1, id, TU_BRAND_COFFEE, "");
  expect_err(f, &tx, CAIRN_ERR_COUPON_WRONG_BRAND);
  tu_tx_coupon_redeem(&tx, &f->m[0], 1, id, 77, "");
  expect_err(f, &tx, CAIRN_ERR_COUPON_WRONG_BRAND);
  tu_tx_coupon_redeem(&tx, &f->m[0], 1, id, TU_BRAND_PIZZA, "");
  expect_ok(f, &tx);
}

static void test_coupon_not_transferable(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t id[32];
  give_coupon(f, TU_BRAND_BOOKS, &f->m[0], 100, false, id);
  tu_tx_coupon_transfer(&tx, &f->m[0], 1, id, f->m[1].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_NOT_TRANSFERABLE);
  tu_tx_coupon_redeem(&tx, &f->m[0], 1, id, TU_BRAND_BOOKS, "");
  expect_ok(f, &tx);
}

static void test_coupon_unknown(void **state) {
  fx *f = *state;
  cairn_tx tx;
  cairn_coupon c;
  uint8_t id[32];
  memset(id, 0xab, sizeof id);
  tu_tx_coupon_transfer(&tx, &f->m[0], 1, id, f->m[1].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_UNKNOWN);
  tu_tx_coupon_redeem(&tx, &f->m[0], 1, id, TU_BRAND_COFFEE, "");
  expect_err(f, &tx, CAIRN_ERR_COUPON_UNKNOWN);
  assert_int_equal(cairn_state_coupon(f->v, id, &c), CAIRN_ERR_COUPON_UNKNOWN);
}

static void test_coupon_exists(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t id[32];
  memset(id, 0x42, sizeof id);
  tu_tx_coupon_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 100,
                     true);
  assert_int_equal(cairn_state_apply_tx(f->v, &f->ctx, &tx, id), CAIRN_OK);
  /* A second issue whose id collides is refused, state unchanged. */
  tu_tx_coupon_issue(&tx, &f->iss[1], 2, TU_BRAND_COFFEE, f->m[1].pk, 100,
                     true);
  snap a, b;
  snap_take(f, &a);
  assert_int_equal(cairn_state_apply_tx(f->v, &f->ctx, &tx, id),
                   CAIRN_ERR_COUPON_EXISTS);
  snap_take(f, &b);
  assert_memory_equal(&a, &b, sizeof a);
}

/* Transactions that break two rules report the one checked first. */
static void test_check_order(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t used[32], late[32], fixed[32];
  give(f, TU_BRAND_COFFEE, &f->m[0], 10);
  give(f, TU_BRAND_COFFEE, &f->m[0], 10);
  /* The issuer's sequence 1 again: a replay that breaks every rule. */
  tu_tx_issue(&tx, &f->iss[1], 1, 9, f->iss[1].pk, 5);
  tx.expiry_height = HEIGHT - 1;
  tx.chain_id[0] = 'X';
  expect_err(f, &tx, CAIRN_ERR_CHAIN_ID);
  tx.chain_id[0] = 'c';
  expect_err(f, &tx, CAIRN_ERR_TX_EXPIRED);
  tx.expiry_height = HEIGHT;
  expect_err(f, &tx, CAIRN_ERR_SEQ_REPLAY);
  tx.sequence = 5;
  expect_err(f, &tx, CAIRN_ERR_SEQ_GAP);
  tx.sequence = 3;
  expect_err(f, &tx, CAIRN_ERR_UNKNOWN_BRAND);
  tx.u.issue.brand = TU_BRAND_PIZZA;
  expect_err(f, &tx, CAIRN_ERR_NOT_ISSUER); /* before self-transfer */
  tx.u.issue.brand = TU_BRAND_COFFEE;
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  /* Transfer: transferability, then recipient, then balance. */
  tu_tx_transfer(&tx, &f->m[1], 1, TU_BRAND_BOOKS, f->m[1].pk, 5);
  expect_err(f, &tx, CAIRN_ERR_NOT_TRANSFERABLE);
  tx.u.transfer.brand = TU_BRAND_COFFEE;
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  /* Coupon issue: recipient before expiry. */
  tu_tx_coupon_issue(&tx, &f->iss[1], nseq(f, &f->iss[1]), TU_BRAND_COFFEE,
                     f->iss[1].pk, 1, true);
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  /* Coupon transfer: owner, used, expired, transferable, recipient. */
  give_coupon(f, TU_BRAND_COFFEE, &f->m[0], HEIGHT, false, used);
  give_coupon(f, TU_BRAND_COFFEE, &f->m[0], HEIGHT, false, late);
  give_coupon(f, TU_BRAND_COFFEE, &f->m[0], HEIGHT, true, fixed);
  tu_tx_coupon_redeem(&tx, &f->m[0], 1, used, TU_BRAND_COFFEE, "");
  expect_ok(f, &tx);
  f->ctx.height = HEIGHT + 1; /* every coupon above is now expired */
  tu_tx_coupon_transfer(&tx, &f->m[1], 1, used, f->m[1].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_NOT_OWNER);
  tu_tx_coupon_transfer(&tx, &f->m[0], 2, used, f->m[0].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_REDEEMED);
  tu_tx_coupon_transfer(&tx, &f->m[0], 2, late, f->m[0].pk);
  expect_err(f, &tx, CAIRN_ERR_COUPON_EXPIRED);
  f->ctx.height = HEIGHT;
  expect_err(f, &tx, CAIRN_ERR_COUPON_NOT_TRANSFERABLE);
  tu_tx_coupon_transfer(&tx, &f->m[0], 2, fixed, f->m[0].pk);
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  /* Coupon redeem: expiry before brand. */
  f->ctx.height = HEIGHT + 1;
  tu_tx_coupon_redeem(&tx, &f->m[0], 2, late, TU_BRAND_PIZZA, "");
  expect_err(f, &tx, CAIRN_ERR_COUPON_EXPIRED);
}

/* ---- corrupt records ---- */

static void expect_corrupt(fx *f, const cairn_tx *tx) {
  uint8_t d0[32], d1[32];
  size_t n0 = cairn_view_change_count(f->v);
  assert_int_equal(cairn_view_digest(f->v, d0), CAIRN_OK);
  assert_int_equal(fx_apply(f, tx), CAIRN_ERR_CORRUPT);
  assert_int_equal(cairn_view_digest(f->v, d1), CAIRN_OK);
  assert_memory_equal(d0, d1, 32);
  assert_int_equal(cairn_view_change_count(f->v), n0);
}

static void test_corrupt_records(void **state) {
  fx *f = *state;
  cairn_tx tx;
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[200], id[32];
  uint64_t x;
  /* A 3-byte balance. */
  cairn_state_balance_key(key, f->m[0].pk, TU_BRAND_COFFEE);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_BALANCES, key, sizeof key,
                                  (const uint8_t *)"abc", 3), CAIRN_OK);
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 1);
  expect_corrupt(f, &tx);
  assert_int_equal(cairn_state_balance(f->v, f->m[0].pk, TU_BRAND_COFFEE, &x),
                   CAIRN_ERR_CORRUPT);
  assert_int_equal(x, 0);
  /* A stored zero balance (zeros are deleted, never stored). */
  memset(val, 0, 8);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_BALANCES, key, sizeof key,
                                  val, 8), CAIRN_OK);
  expect_corrupt(f, &tx);
  /* A stored sequence of 0 for the sender. */
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_SEQUENCES, f->m[1].pk, 32,
                                  val, 8), CAIRN_OK);
  tu_tx_redeem(&tx, &f->m[1], 1, TU_BRAND_COFFEE, 1, "");
  expect_corrupt(f, &tx);
  /* An oversized balance value (larger than any valid record). */
  cairn_state_balance_key(key, f->m[2].pk, TU_BRAND_COFFEE);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_BALANCES, key, sizeof key,
                                  val, sizeof val), CAIRN_OK);
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[2].pk, 1);
  expect_corrupt(f, &tx);
  /* A coupon record with an unknown kind. */
  give_coupon(f, TU_BRAND_PIZZA, &f->m[3], 100, true, id);
  size_t vlen = 0;
  assert_int_equal(cairn_view_get(f->v, CAIRN_T_COUPONS, id, 32, val,
                                  sizeof val, &vlen), CAIRN_OK);
  val[36] = 9; /* kind follows brand u32 | owner [32] */
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_COUPONS, id, 32, val, vlen),
                   CAIRN_OK);
  tu_tx_coupon_redeem(&tx, &f->m[3], 1, id, TU_BRAND_PIZZA, "");
  expect_corrupt(f, &tx);
  /* A brand record with an unknown flag bit. */
  cairn_be32_write(key, TU_BRAND_PIZZA);
  assert_int_equal(cairn_view_get(f->v, CAIRN_T_BRANDS, key, 4, val,
                                  sizeof val, &vlen), CAIRN_OK);
  val[0] = 0x81;
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_BRANDS, key, 4, val, vlen),
                   CAIRN_OK);
  tu_tx_issue(&tx, &f->iss[2], nseq(f, &f->iss[2]), TU_BRAND_PIZZA,
              f->m[0].pk, 1);
  expect_corrupt(f, &tx);
}

/* ---- codecs ---- */

static void sample_coupon(cairn_coupon *c) {
  memset(c, 0, sizeof *c);
  memset(c->id, 7, 32);
  c->brand = 0x01020304;
  memset(c->owner, 9, 32);
  c->kind = CAIRN_COUPON_PERCENT;
  c->value = 15;
  c->expiry_height = 0x1122334455667788ull;
  c->transferable = true;
  c->status = CAIRN_COUPON_USED;
  c->issued_height = 3;
  c->redeemed_height = 4;
  c->label_len = 3;
  memcpy(c->label, "10%", 3);
}

static void test_coupon_codec(void **state) {
  (void)state;
  cairn_coupon c, d;
  uint8_t buf[256];
  size_t len = 0;
  sample_coupon(&c);
  assert_int_equal(cairn_coupon_encode(buf, sizeof buf, &len, &c), CAIRN_OK);
  assert_int_equal(len, 4 + 32 + 1 + 8 + 8 + 1 + 1 + 8 + 8 + 1 + 3);
  assert_int_equal(cairn_be32_read(buf), 0x01020304);
  assert_int_equal(buf[36], CAIRN_COUPON_PERCENT);
  assert_int_equal(cairn_be64_read(buf + 45), 0x1122334455667788ull);
  assert_int_equal(cairn_coupon_decode(&d, c.id, buf, len), CAIRN_OK);
  assert_memory_equal(&c, &d, sizeof c);
  assert_int_equal(cairn_coupon_encode(buf, len - 1, &len, &c),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(cairn_coupon_encode(buf, sizeof buf, &len, &c), CAIRN_OK);
  for (size_t n = 0; n < len; n++) {
    assert_int_equal(cairn_coupon_decode(&d, c.id, buf, n),
                     CAIRN_ERR_TRUNCATED);
    assert_int_equal(d.brand, 0);
  }
  buf[len] = 0;
  assert_int_equal(cairn_coupon_decode(&d, c.id, buf, len + 1),
                   CAIRN_ERR_TRAILING);
  buf[36] = 3; /* kind */
  assert_int_equal(cairn_coupon_decode(&d, c.id, buf, len), CAIRN_ERR_RANGE);
  buf[36] = CAIRN_COUPON_PERCENT;
  buf[53] = 2; /* transferable */
  assert_int_equal(cairn_coupon_decode(&d, c.id, buf, len),
                   CAIRN_ERR_NONCANONICAL);
  buf[53] = 1;
  buf[54] = 2; /* status */
  assert_int_equal(cairn_coupon_decode(&d, c.id, buf, len), CAIRN_ERR_RANGE);
  buf[54] = 1;
  assert_int_equal(cairn_coupon_decode(&d, c.id, buf, len), CAIRN_OK);
}

static void test_brand_codec(void **state) {
  (void)state;
  cairn_brand b, d;
  uint8_t buf[128];
  size_t len = 0;
  memset(buf, 0, sizeof buf);
  memset(&b, 0, sizeof b);
  b.id = 5;
  b.flags = 1;
  memset(b.issuer, 3, 32);
  b.name_len = 3;
  memcpy(b.name, "tea", 4);
  assert_int_equal(cairn_brand_record_encode(buf, sizeof buf, &len, &b),
                   CAIRN_OK);
  assert_int_equal(len, 1 + 32 + 1 + 3);
  assert_int_equal(cairn_brand_record_decode(&d, 5, buf, len), CAIRN_OK);
  assert_memory_equal(&b, &d, sizeof b);
  for (size_t n = 0; n < len; n++)
    assert_int_equal(cairn_brand_record_decode(&d, 5, buf, n),
                     CAIRN_ERR_TRUNCATED);
  assert_int_equal(cairn_brand_record_decode(&d, 5, buf, len + 1),
                   CAIRN_ERR_TRAILING);
  buf[0] = 2; /* unknown flag */
  assert_int_equal(cairn_brand_record_decode(&d, 5, buf, len), CAIRN_ERR_RANGE);
  buf[0] = 0;
  buf[35] = 0; /* NUL inside the name */
  assert_int_equal(cairn_brand_record_decode(&d, 5, buf, len), CAIRN_ERR_RANGE);
  buf[35] = 'e';
  buf[33] = CAIRN_NAME_BYTES_MAX + 1; /* over-long name */
  assert_int_equal(cairn_brand_record_decode(&d, 5, buf, sizeof buf),
                   CAIRN_ERR_RANGE);
}

/* ---- state hash ---- */

static void test_state_hash(void **state) {
  fx *f = *state;
  uint8_t prev[32], got[32], want[32], buf[64], again[32];
  memset(prev, 0x5a, sizeof prev);
  memcpy(buf, prev, 32);
  assert_int_equal(cairn_view_digest(f->v, buf + 32), CAIRN_OK);
  cairn_tagged_hash(want, CAIRN_TAG_STATE, buf, sizeof buf);
  assert_int_equal(cairn_state_hash_next(got, prev, f->v), CAIRN_OK);
  assert_memory_equal(got, want, 32);
  /* Another prev, or another change, gives another hash. */
  prev[0] ^= 1;
  assert_int_equal(cairn_state_hash_next(again, prev, f->v), CAIRN_OK);
  assert_memory_not_equal(again, got, 32);
  prev[0] ^= 1;
  give(f, TU_BRAND_COFFEE, &f->m[0], 1);
  assert_int_equal(cairn_state_hash_next(again, prev, f->v), CAIRN_OK);
  assert_memory_not_equal(again, got, 32);
}

/* ---- random model check ---- */

#define R_MEMBERS 20
#define R_ACCOUNTS (R_MEMBERS + 3) /* members, then the 3 issuers */
#define R_STEPS 6000

typedef struct model {
  uint64_t bal[R_ACCOUNTS][4];
  uint64_t seq[R_ACCOUNTS];
} model;

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n) { return rng_next(s) % n; }

/* The brand an account issues (0: a member, issues nothing). */
static uint32_t model_issues(size_t acct) {
  return acct >= R_MEMBERS ? (uint32_t)(acct - R_MEMBERS + 1) : 0;
}

/* What the rules say about tx (the sender is acct, the recipient to), and
 * the model after it. Written from the rules, independently of state.c. */
static cairn_err model_apply(model *m, const cairn_tx *tx, size_t acct,
                             size_t to, bool wrong_chain, uint64_t height) {
  if (wrong_chain) return CAIRN_ERR_CHAIN_ID;
  if (height > tx->expiry_height) return CAIRN_ERR_TX_EXPIRED;
  if (tx->sequence <= m->seq[acct]) return CAIRN_ERR_SEQ_REPLAY;
  if (tx->sequence != m->seq[acct] + 1) return CAIRN_ERR_SEQ_GAP;
  uint32_t b = tx->type == CAIRN_TX_REDEEM ? tx->u.redeem.brand
                                           : tx->u.transfer.brand;
  uint64_t amount = tx->type == CAIRN_TX_REDEEM ? tx->u.redeem.amount
                                                : tx->u.transfer.amount;
  if (b < 1 || b > 3) return CAIRN_ERR_UNKNOWN_BRAND;
  if (tx->type == CAIRN_TX_ISSUE) {
    if (model_issues(acct) != b) return CAIRN_ERR_NOT_ISSUER;
    if (to == acct) return CAIRN_ERR_SELF_TRANSFER;
    if (m->bal[to][b] > UINT64_MAX - amount) return CAIRN_ERR_OVERFLOW;
    m->bal[to][b] += amount;
  } else if (tx->type == CAIRN_TX_TRANSFER) {
    if (b == TU_BRAND_BOOKS) return CAIRN_ERR_NOT_TRANSFERABLE;
    if (to == acct) return CAIRN_ERR_SELF_TRANSFER;
    if (m->bal[acct][b] < amount) return CAIRN_ERR_INSUFFICIENT;
    if (m->bal[to][b] > UINT64_MAX - amount) return CAIRN_ERR_OVERFLOW;
    m->bal[acct][b] -= amount;
    m->bal[to][b] += amount;
  } else {
    if (m->bal[acct][b] < amount) return CAIRN_ERR_INSUFFICIENT;
    m->bal[acct][b] -= amount;
  }
  m->seq[acct] = tx->sequence;
  return CAIRN_OK;
}

static uint64_t random_amount(uint64_t *rng, uint64_t have) {
  uint64_t r = rng_below(rng, 100);
  if (r < 10 && have > 0) return have;              /* all of it */
  if (r < 15 && have > 0 && have < UINT64_MAX) return have + 1; /* 1 over */
  if (r < 20) return UINT64_MAX - rng_below(rng, 1000); /* overflow bait */
  if (r < 60 && have > 0) return 1 + rng_below(rng, have); /* affordable */
  return 1 + rng_below(rng, 300);
}

static uint64_t random_sequence(uint64_t *rng, uint64_t last) {
  uint64_t r = rng_below(rng, 100);
  if (r < 6 && last > 0) return 1 + rng_below(rng, last); /* replay */
  if (r < 12) return last + 2 + rng_below(rng, 3); /* gap */
  return last + 1;
}

/* A random transaction from acct to `to`, unsigned (state does not check
 * signatures). */
static void random_tx(cairn_tx *tx, uint64_t *rng, const model *m,
                      const tu_key *keys, size_t acct, size_t to,
                      uint64_t height) {
  static const uint8_t types[3] = {CAIRN_TX_ISSUE, CAIRN_TX_TRANSFER,
                                   CAIRN_TX_REDEEM};
  uint8_t type = types[rng_below(rng, 3)];
  uint32_t brand = 1 + (uint32_t)rng_below(rng, 3);
  if (rng_below(rng, 20) == 0) brand = 4; /* unknown */
  if (type == CAIRN_TX_ISSUE && model_issues(acct) != 0 && rng_below(rng, 4))
    brand = model_issues(acct); /* issuers mostly issue their own brand */
  uint64_t have = brand <= 3 ? m->bal[acct][brand] : 0;
  tu_tx_init(tx, type, keys[acct].pk, random_sequence(rng, m->seq[acct]));
  tx->expiry_height = rng_below(rng, 30) == 0 ? height - 1
                                              : height + rng_below(rng, 3);
  if (type == CAIRN_TX_REDEEM) {
    tx->u.redeem.brand = brand;
    tx->u.redeem.amount = random_amount(rng, have);
  } else {
    tx->u.transfer.brand = brand;
    memcpy(tx->u.transfer.to, keys[to].pk, 32);
    tx->u.transfer.amount = random_amount(rng, have);
  }
}

static void model_compare(const model *m, cairn_view *v, const tu_key *keys) {
  for (size_t a = 0; a < R_ACCOUNTS; a++) {
    uint64_t x = 0;
    for (uint32_t b = 1; b <= 3; b++) {
      assert_int_equal(cairn_state_balance(v, keys[a].pk, b, &x), CAIRN_OK);
      assert_int_equal(x, m->bal[a][b]);
    }
    assert_int_equal(cairn_state_sequence(v, keys[a].pk, &x), CAIRN_OK);
    assert_int_equal(x, m->seq[a]);
  }
}

static uint64_t test_seed(void) {
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL && *env != '\0') return strtoull(env, NULL, 10);
  return (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
}

static void test_random_model(void **state) {
  fx *f = *state;
  tu_key keys[R_ACCOUNTS];
  model m;
  uint64_t seed = test_seed(), rng = seed;
  size_t counts[2] = {0, 0}, by_err[CAIRN_ERR_BAD_HEIGHT] = {0};
  static const cairn_err must_see[] = {
      CAIRN_ERR_CHAIN_ID,      CAIRN_ERR_TX_EXPIRED,    CAIRN_ERR_SEQ_REPLAY,
      CAIRN_ERR_SEQ_GAP,       CAIRN_ERR_UNKNOWN_BRAND, CAIRN_ERR_NOT_ISSUER,
      CAIRN_ERR_NOT_TRANSFERABLE, CAIRN_ERR_SELF_TRANSFER,
      CAIRN_ERR_INSUFFICIENT,  CAIRN_ERR_OVERFLOW};
  printf("test_random_model: seed %llu (CAIRN_TEST_SEED to replay)\n",
         (unsigned long long)seed);
  memset(&m, 0, sizeof m);
  for (size_t a = 0; a < R_MEMBERS; a++) tu_member(&keys[a], (uint32_t)a);
  for (uint32_t b = 1; b <= 3; b++) keys[R_MEMBERS + b - 1] = f->iss[b];
  for (size_t step = 0; step < R_STEPS; step++) {
    cairn_tx tx;
    uint8_t txid[32], d0[32], d1[32];
    f->ctx.height = HEIGHT + step / 50;
    /* A quarter of the senders are issuers, so points keep flowing in. */
    size_t acct = rng_below(&rng, 4) == 0
                      ? R_MEMBERS + rng_below(&rng, 3)
                      : rng_below(&rng, R_ACCOUNTS);
    size_t to = rng_below(&rng, R_ACCOUNTS);
    random_tx(&tx, &rng, &m, keys, acct, to, f->ctx.height);
    bool wrong_chain = rng_below(&rng, 50) == 0;
    if (wrong_chain) tx.chain_id[0] = 'k';
    cairn_be64_write(txid, step);
    memset(txid + 8, 0, 24);
    cairn_err want = model_apply(&m, &tx, acct, to, wrong_chain, f->ctx.height);
    size_t n0 = cairn_view_change_count(f->v);
    assert_int_equal(cairn_view_digest(f->v, d0), CAIRN_OK);
    cairn_err got = cairn_state_apply_tx(f->v, &f->ctx, &tx, txid);
    if (got != want)
      fail_msg("seed %llu step %zu: got %s, model says %s",
               (unsigned long long)seed, step, cairn_errname(got),
               cairn_errname(want));
    if (got != CAIRN_OK) {
      assert_int_equal(cairn_view_digest(f->v, d1), CAIRN_OK);
      assert_memory_equal(d0, d1, 32);
      assert_int_equal(cairn_view_change_count(f->v), n0);
    }
    counts[got == CAIRN_OK]++;
    if ((size_t)got < CAIRN_ERR_BAD_HEIGHT) by_err[got]++;
    model_compare(&m, f->v, keys);
  }
  printf("test_random_model: %zu accepted, %zu rejected\n", counts[1],
         counts[0]);
  /* The mix must exercise both paths substantially. */
  assert_true(counts[1] > R_STEPS / 5);
  assert_true(counts[0] > R_STEPS / 5);
  for (size_t i = 0; i < sizeof must_see / sizeof must_see[0]; i++)
    if (by_err[must_see[i]] == 0)
      fail_msg("seed %llu: no transaction was rejected with %s",
               (unsigned long long)seed, cairn_errname(must_see[i]));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      T(test_genesis_records),
      T(test_issue),
      T(test_sequence),
      T(test_expiry),
      T(test_wrong_chain),
      T(test_transfer),
      T(test_not_transferable),
      T(test_unknown_brand),
      T(test_not_issuer),
      T(test_self_transfer),
      T(test_overflow),
      T(test_redeem),
      T(test_coupon_lifecycle),
      T(test_coupon_expiry),
      T(test_coupon_not_owner),
      T(test_coupon_wrong_brand),
      T(test_coupon_not_transferable),
      T(test_coupon_unknown),
      T(test_coupon_exists),
      T(test_check_order),
      T(test_corrupt_records),
      cmocka_unit_test(test_coupon_codec),
      cmocka_unit_test(test_brand_codec),
      T(test_state_hash),
      T(test_random_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
