/*
 * tests/test_mempool.c - admission, re-validation after blocks, and the
 * block building on top of the mempool (cairn_mempool_propose).
 *
 * Every test runs a real chain (tu_genesis, one validator) on a no_sync
 * store in a temporary directory, so admission is checked against the real
 * state machine and blocks are really committed. Rejections are checked by
 * their exact error code and, where the mempool adds one, by the numbers in
 * the detail sentence; after each rejection the mempool must be unchanged
 * (count, next sequence, and a following valid transaction still admitted).
 * A seeded random test (seed printed; CAIRN_TEST_SEED replays it) drives
 * issues, transfers and redeems against a small model of balances and
 * sequences, building blocks at random points, and compares the committed
 * state with the model at the end.
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

#include "cairn/chain.h"
#include "cairn/mempool.h"
#include "cairn/state.h"
#include "cairn/view.h"
#include "testutil.h"

#define NOW_MS (TU_GENESIS_TIME_MS + 1000u)

typedef struct mfx {
  char dir[64];
  cairn_genesis *g;
  cairn_store *s;
  cairn_chain *c;
  cairn_mempool *m;
  tu_vkey vk;
  tu_key iss[4]; /* issuers of brands 1..3 */
  tu_key mem[4]; /* members */
  uint64_t now_ms;
} mfx;

static int mfx_open(void **state, size_t txs_max) {
  mfx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->g = malloc(sizeof *f->g);
  assert_non_null(f->g);
  tu_genesis(f->g);
  tu_validator(&f->vk, 0);
  for (uint32_t b = 1; b <= 3; b++) tu_issuer(&f->iss[b], b);
  for (uint32_t i = 0; i < 4; i++) tu_member(&f->mem[i], i);
  tu_tmpdir(f->dir, sizeof f->dir);
  f->s = tu_store_open(f->dir);
  assert_int_equal(cairn_chain_open(&f->c, f->s, f->g), CAIRN_OK);
  assert_int_equal(cairn_mempool_open(&f->m, f->c, txs_max, NULL), CAIRN_OK);
  f->now_ms = NOW_MS;
  *state = f;
  return 0;
}

static int setup(void **state) { return mfx_open(state, 100); }
static int setup_small(void **state) { return mfx_open(state, 2); }

static int teardown(void **state) {
  mfx *f = *state;
  cairn_mempool_close(f->m);
  cairn_chain_close(f->c);
  cairn_store_close(f->s);
  tu_rmtree(f->dir);
  free(f->g);
  free(f);
  return 0;
}

/* Encode and submit; txid and detail may be NULL. */
static cairn_err add(mfx *f, const cairn_tx *tx, uint8_t *txid, char *detail) {
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  uint8_t id[32];
  char d[CAIRN_MEMPOOL_DETAIL_BYTES];
  size_t len = tu_tx_bytes(buf, sizeof buf, tx);
  cairn_err err = cairn_mempool_add(f->m, buf, len, f->now_ms, id, d, sizeof d);
  if (txid != NULL) memcpy(txid, id, 32);
  if (detail != NULL) memcpy(detail, d, sizeof d);
  return err;
}

static uint64_t next_seq(mfx *f, const tu_key *k) {
  uint64_t n = 0;
  assert_int_equal(cairn_mempool_next_sequence(f->m, k->pk, &n), CAIRN_OK);
  return n;
}

/* Build a block from the mempool (cairn_mempool_propose, as the consensus
 * engine does), have the lone validator sign it with `signer` and commit
 * it, then tell the mempool. Returns the block's height, or 0 when nothing
 * was pending or every candidate was refused (no block then). */
static uint64_t build_signed(mfx *f, const tu_vkey *signer, cairn_err want) {
  f->now_ms += 1000;
  if (cairn_mempool_count(f->m) == 0) return 0;
  cairn_proposal *p = NULL;
  assert_int_equal(cairn_mempool_propose(f->m, f->now_ms, f->vk.pk, &p),
                   CAIRN_OK);
  uint64_t h = p->header.height;
  if (p->header.tx_count == 0) {
    cairn_proposal_free(p);
    return 0;
  }
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  tu_commit_sign(cm, h, p->hash, signer);
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, cm), want);
  if (want == CAIRN_OK) {
    assert_int_equal(cairn_mempool_after_block(
                         f->m, (const uint8_t(*)[32])p->txids,
                         p->header.tx_count, f->now_ms),
                     CAIRN_OK);
  } else {
    h = 0;
  }
  free(cm);
  cairn_proposal_free(p);
  return h;
}

static uint64_t build(mfx *f) { return build_signed(f, &f->vk, CAIRN_OK); }

/* Commit a block holding exactly txs (which need not be pending) and tell
 * the mempool, as a block from another proposer would. */
static void commit_external(mfx *f, const cairn_tx *txs, size_t n) {
  static uint8_t bufs[4][CAIRN_TX_BYTES_MAX];
  cairn_slice cands[4];
  assert_true(n <= 4);
  for (size_t i = 0; i < n; i++) {
    cands[i].p = bufs[i];
    cands[i].len = tu_tx_bytes(bufs[i], sizeof bufs[i], &txs[i]);
  }
  cairn_proposal *p = NULL;
  f->now_ms += 1000;
  assert_int_equal(cairn_chain_propose(f->c, cands, n, f->now_ms, f->vk.pk,
                                       NULL, NULL, &p),
                   CAIRN_OK);
  assert_int_equal(p->header.tx_count, n);
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  tu_commit_sign(cm, p->header.height, p->hash, &f->vk);
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, cm), CAIRN_OK);
  assert_int_equal(cairn_mempool_after_block(
                       f->m, (const uint8_t(*)[32])p->txids, n, f->now_ms),
                   CAIRN_OK);
  free(cm);
  cairn_proposal_free(p);
}

/* Committed balance, read through a fresh view of the store. */
static uint64_t committed_balance(mfx *f, const tu_key *k, uint32_t brand) {
  cairn_view *v = NULL;
  uint64_t amount = 0;
  assert_int_equal(cairn_view_open(&v, f->s), CAIRN_OK);
  assert_int_equal(cairn_state_balance(v, k->pk, brand, &amount), CAIRN_OK);
  cairn_view_close(v);
  return amount;
}

static uint64_t tip_height(mfx *f) {
  cairn_tip tip;
  cairn_chain_tip(f->c, &tip);
  return tip.height;
}

/* ---- admission ---- */

static void test_accepts_valid_tx(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  uint8_t txid[32], want[32];
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 100);
  tu_txid(want, &tx);
  assert_int_equal(add(f, &tx, txid, NULL), CAIRN_OK);
  assert_memory_equal(txid, want, 32);
  assert_int_equal(cairn_mempool_count(f->m), 1);
  assert_int_equal(next_seq(f, &f->iss[1]), 2);
  assert_int_equal(next_seq(f, &f->mem[0]), 1);

  uint8_t buf[CAIRN_TX_BYTES_MAX];
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  const uint8_t *p = NULL;
  size_t plen = 0;
  assert_int_equal(cairn_mempool_find(f->m, txid, &p, &plen), CAIRN_OK);
  assert_int_equal(plen, len);
  assert_memory_equal(p, buf, len);
  cairn_slice s[4];
  assert_int_equal(cairn_mempool_candidates(f->m, s, 4), 1);
  assert_int_equal(s[0].len, len);
  assert_memory_equal(s[0].p, buf, len);
  uint8_t at[32];
  cairn_mempool_txid_at(f->m, 0, at);
  assert_memory_equal(at, want, 32);
  cairn_err why;
  assert_int_equal(cairn_mempool_rejected(f->m, txid, &why, NULL, 0),
                   CAIRN_ERR_NOT_FOUND);
}

/* After a rejection: nothing pending changed, and the next valid
 * transaction of the same sender is still admitted. */
static void assert_unchanged_then_ok(mfx *f, size_t count) {
  assert_int_equal(cairn_mempool_count(f->m), count);
  uint64_t seq = next_seq(f, &f->iss[2]);
  cairn_tx ok;
  tu_tx_issue(&ok, &f->iss[2], seq, TU_BRAND_PIZZA, f->mem[3].pk, 1);
  assert_int_equal(add(f, &ok, NULL, NULL), CAIRN_OK);
  assert_int_equal(cairn_mempool_count(f->m), count + 1);
}

static void test_rejects_bad_signature(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 100);
  tx.sig[10] ^= 0x01;
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_ERR_BAD_SIG);
  assert_int_equal(next_seq(f, &f->iss[1]), 1);
  /* Signed by someone else than the sender. */
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 100);
  memcpy(tx.sender, f->mem[1].pk, 32);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_ERR_BAD_SIG);
  assert_unchanged_then_ok(f, 0);
}

/* Admission fills the chain's tx cache (chain.h) with what passed and
 * nothing else, and the block built from the mempool then checks no
 * signature again: every one of its transactions is a cache hit. */
static void test_admission_feeds_block_check(void **state) {
  mfx *f = *state;
  cairn_cache *txc = cairn_chain_tx_cache(f->c);
  cairn_tx tx, bad;
  uint8_t id[3][32], bad_id[32];
  for (uint64_t i = 0; i < 3; i++) {
    tu_tx_issue(&tx, &f->iss[1], i + 1, TU_BRAND_COFFEE, f->mem[i].pk, 10);
    assert_int_equal(add(f, &tx, id[i], NULL), CAIRN_OK);
    assert_true(cairn_cache_get(txc, id[i], NULL));
  }
  tu_tx_issue(&bad, &f->iss[2], 1, TU_BRAND_PIZZA, f->mem[0].pk, 10);
  bad.sig[5] ^= 0x01;
  tu_txid(bad_id, &bad);
  assert_int_equal(add(f, &bad, NULL, NULL), CAIRN_ERR_BAD_SIG);
  assert_false(cairn_cache_get(txc, bad_id, NULL));
  /* Submitted again, the same bytes are refused again: a failure is never
   * remembered as a pass. */
  assert_int_equal(add(f, &bad, NULL, NULL), CAIRN_ERR_BAD_SIG);
  cairn_cache_stats before, after;
  cairn_cache_stats_get(txc, &before);
  assert_int_equal(build(f), 1);
  cairn_cache_stats_get(txc, &after);
  assert_int_equal(after.hits - before.hits, 3);
  assert_int_equal(after.puts, before.puts);
  assert_int_equal(committed_balance(f, &f->mem[2], TU_BRAND_COFFEE), 10);
}

static void test_rejects_bad_bytes(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  uint8_t buf[CAIRN_TX_BYTES_MAX + 8];
  uint8_t id[32];
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 100);
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  assert_int_equal(cairn_mempool_add(f->m, buf, len - 1, f->now_ms, id, NULL, 0),
                   CAIRN_ERR_TRUNCATED);
  buf[len] = 0;
  assert_int_equal(cairn_mempool_add(f->m, buf, len + 1, f->now_ms, id, NULL, 0),
                   CAIRN_ERR_TRAILING);
  assert_int_equal(cairn_mempool_add(f->m, buf, 0, f->now_ms, id, NULL, 0),
                   CAIRN_ERR_TRUNCATED);
  memset(buf, 0xab, sizeof buf);
  assert_int_equal(cairn_mempool_add(f->m, buf, CAIRN_TX_BYTES_MAX + 1,
                                     f->now_ms, id, NULL, 0),
                   CAIRN_ERR_OVERSIZE);
  len = tu_tx_bytes(buf, sizeof buf, &tx);
  buf[0] = 2; /* version */
  assert_int_equal(cairn_mempool_add(f->m, buf, len, f->now_ms, id, NULL, 0),
                   CAIRN_ERR_VERSION);
  buf[0] = CAIRN_TX_VERSION;
  buf[1] = 99; /* type */
  assert_int_equal(cairn_mempool_add(f->m, buf, len, f->now_ms, id, NULL, 0),
                   CAIRN_ERR_BAD_TYPE);
  assert_int_equal(next_seq(f, &f->iss[1]), 1);
  assert_unchanged_then_ok(f, 0);
}

static void test_rejects_wrong_chain(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  tu_tx_init(&tx, CAIRN_TX_ISSUE, f->iss[1].pk, 1);
  tx.chain_id_len = 5;
  memcpy(tx.chain_id, "other", 5);
  tx.u.issue.brand = TU_BRAND_COFFEE;
  memcpy(tx.u.issue.to, f->mem[0].pk, 32);
  tx.u.issue.amount = 5;
  tu_tx_sign(&tx, &f->iss[1]);
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_CHAIN_ID);
  assert_non_null(strstr(detail, "\"other\""));
  assert_non_null(strstr(detail, TU_CHAIN_ID));
  assert_unchanged_then_ok(f, 0);
}

static void test_rejects_sequence_gap(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 10);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  tu_tx_issue(&tx, &f->iss[1], 4, TU_BRAND_COFFEE, f->mem[0].pk, 10);
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_SEQ_GAP);
  assert_string_equal(detail, "next sequence is 2, got 4");
  assert_int_equal(next_seq(f, &f->iss[1]), 2);
  assert_unchanged_then_ok(f, 1);
}

static void test_rejects_replay(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 10);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  /* Same sequence, different content, while the first is pending. */
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 11);
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_SEQ_REPLAY);
  assert_string_equal(detail, "next sequence is 2, got 1");
  assert_int_equal(build(f), 1);
  /* And once it is committed. */
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 12);
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_SEQ_REPLAY);
  assert_string_equal(detail, "next sequence is 2, got 1");
  assert_unchanged_then_ok(f, 0);
  assert_int_equal(committed_balance(f, &f->mem[0], TU_BRAND_COFFEE), 10);
}

static void test_rejects_duplicate(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 10);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_ERR_DUPLICATE_TX);
  assert_int_equal(cairn_mempool_count(f->m), 1);
  assert_int_equal(build(f), 1);
  assert_int_equal(cairn_mempool_count(f->m), 0);
  /* Committed: still a duplicate, not merely a replayed sequence. */
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_ERR_DUPLICATE_TX);
  assert_unchanged_then_ok(f, 0);
}

static void test_overspend_counts_pending(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 100);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  tu_tx_redeem(&tx, &f->mem[0], 1, TU_BRAND_COFFEE, 100, "A-1");
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  tu_tx_redeem(&tx, &f->mem[0], 2, TU_BRAND_COFFEE, 1, "A-2");
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_INSUFFICIENT);
  assert_string_equal(detail, "has 0, needs 1");
  assert_int_equal(cairn_mempool_count(f->m), 2);
  assert_int_equal(next_seq(f, &f->mem[0]), 2);
  /* A partial pending spend leaves the rest. */
  tu_tx_issue(&tx, &f->iss[1], 2, TU_BRAND_COFFEE, f->mem[0].pk, 70);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  tu_tx_redeem(&tx, &f->mem[0], 2, TU_BRAND_COFFEE, 100, "A-3");
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_INSUFFICIENT);
  assert_string_equal(detail, "has 70, needs 100");
  assert_int_equal(build(f), 1);
  assert_int_equal(cairn_mempool_count(f->m), 0);
  assert_int_equal(committed_balance(f, &f->mem[0], TU_BRAND_COFFEE), 70);
}

static void test_other_rule_errors(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  /* A member cannot issue; unknown brand; books points do not move. */
  tu_tx_issue(&tx, &f->mem[0], 1, TU_BRAND_COFFEE, f->mem[1].pk, 5);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_ERR_NOT_ISSUER);
  tu_tx_issue(&tx, &f->iss[1], 1, 77, f->mem[1].pk, 5);
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_UNKNOWN_BRAND);
  assert_string_equal(detail, "brand 77");
  tu_tx_issue(&tx, &f->iss[3], 1, TU_BRAND_BOOKS, f->mem[0].pk, 5);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  tu_tx_transfer(&tx, &f->mem[0], 1, TU_BRAND_BOOKS, f->mem[1].pk, 5);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_ERR_NOT_TRANSFERABLE);
  assert_int_equal(build(f), 1);
  /* Already expired for the next block (2). */
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[1].pk, 5);
  tx.expiry_height = 1;
  tu_tx_sign(&tx, &f->iss[1]);
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_TX_EXPIRED);
  assert_string_equal(detail, "expiry height 1, next block 2");
  assert_int_equal(next_seq(f, &f->iss[1]), 1);
  assert_unchanged_then_ok(f, 0);
}

static void test_full_mempool(void **state) {
  mfx *f = *state; /* txs_max 2 */
  cairn_tx a, b, c;
  tu_tx_issue(&a, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 1);
  tu_tx_issue(&b, &f->iss[1], 2, TU_BRAND_COFFEE, f->mem[0].pk, 2);
  tu_tx_issue(&c, &f->iss[1], 3, TU_BRAND_COFFEE, f->mem[0].pk, 3);
  assert_int_equal(add(f, &a, NULL, NULL), CAIRN_OK);
  assert_int_equal(add(f, &b, NULL, NULL), CAIRN_OK);
  assert_int_equal(add(f, &c, NULL, NULL), CAIRN_ERR_MEMPOOL_FULL);
  /* A duplicate is still named as such when full. */
  assert_int_equal(add(f, &a, NULL, NULL), CAIRN_ERR_DUPLICATE_TX);
  assert_int_equal(cairn_mempool_count(f->m), 2);
  assert_int_equal(next_seq(f, &f->iss[1]), 3);
  /* Room again after a block. */
  assert_int_equal(build(f), 1);
  assert_int_equal(add(f, &c, NULL, NULL), CAIRN_OK);
  assert_int_equal(cairn_mempool_count(f->m), 1);
}

/* ---- after a block ---- */

static void test_after_block_keeps_rest_in_order(void **state) {
  mfx *f = *state;
  cairn_tx tx[3];
  uint8_t ids[3][32];
  for (int i = 0; i < 3; i++) {
    tu_tx_issue(&tx[i], &f->iss[1], (uint64_t)i + 1, TU_BRAND_COFFEE,
                f->mem[0].pk, (uint64_t)i + 1);
    assert_int_equal(add(f, &tx[i], ids[i], NULL), CAIRN_OK);
  }
  commit_external(f, tx, 1);
  assert_int_equal(tip_height(f), 1);
  assert_int_equal(cairn_mempool_count(f->m), 2);
  uint8_t at[32];
  cairn_mempool_txid_at(f->m, 0, at);
  assert_memory_equal(at, ids[1], 32);
  cairn_mempool_txid_at(f->m, 1, at);
  assert_memory_equal(at, ids[2], 32);
  const uint8_t *p;
  size_t len;
  assert_int_equal(cairn_mempool_find(f->m, ids[0], &p, &len),
                   CAIRN_ERR_NOT_FOUND);
  assert_null(p);
  assert_int_equal(next_seq(f, &f->iss[1]), 4);
  assert_int_equal(build(f), 2);
  assert_int_equal(cairn_mempool_count(f->m), 0);
  assert_int_equal(committed_balance(f, &f->mem[0], TU_BRAND_COFFEE), 6);
}

static void test_invalidated_tx_is_dropped(void **state) {
  mfx *f = *state;
  cairn_tx tx, other;
  uint8_t redeem_id[32], later_id[32];
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 100);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  assert_int_equal(build(f), 1);
  /* Pending: the member's redeem of 100 (seq 1), then an unrelated issue. */
  tu_tx_redeem(&tx, &f->mem[0], 1, TU_BRAND_COFFEE, 100, "A-1");
  assert_int_equal(add(f, &tx, redeem_id, NULL), CAIRN_OK);
  tu_tx_issue(&tx, &f->iss[2], 1, TU_BRAND_PIZZA, f->mem[1].pk, 5);
  assert_int_equal(add(f, &tx, later_id, NULL), CAIRN_OK);
  /* Another proposer's block spends the same sequence on 60 points. */
  tu_tx_redeem(&other, &f->mem[0], 1, TU_BRAND_COFFEE, 60, "B-1");
  commit_external(f, &other, 1);
  assert_int_equal(cairn_mempool_count(f->m), 1);
  const uint8_t *p;
  size_t len;
  assert_int_equal(cairn_mempool_find(f->m, redeem_id, &p, &len),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_mempool_find(f->m, later_id, &p, &len), CAIRN_OK);
  cairn_err why = CAIRN_OK;
  char msg[256];
  assert_int_equal(cairn_mempool_rejected(f->m, redeem_id, &why, msg, sizeof msg),
                   CAIRN_OK);
  assert_int_equal(why, CAIRN_ERR_SEQ_REPLAY);
  assert_non_null(strstr(msg, "next sequence is 2, got 1"));
  assert_int_equal(next_seq(f, &f->mem[0]), 2);
  assert_int_equal(cairn_mempool_rejected(f->m, later_id, &why, NULL, 0),
                   CAIRN_ERR_NOT_FOUND);
}

static void test_expired_while_waiting(void **state) {
  mfx *f = *state;
  cairn_tx tx[2];
  uint8_t id[32];
  tu_tx_issue(&tx[0], &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 1);
  assert_int_equal(add(f, &tx[0], NULL, NULL), CAIRN_OK);
  tu_tx_issue(&tx[1], &f->iss[2], 1, TU_BRAND_PIZZA, f->mem[0].pk, 1);
  tx[1].expiry_height = 1;
  tu_tx_sign(&tx[1], &f->iss[2]);
  assert_int_equal(add(f, &tx[1], id, NULL), CAIRN_OK); /* ok at height 1 */
  commit_external(f, tx, 1); /* block 1 without it */
  assert_int_equal(cairn_mempool_count(f->m), 0);
  cairn_err why = CAIRN_OK;
  char msg[256];
  assert_int_equal(cairn_mempool_rejected(f->m, id, &why, msg, sizeof msg),
                   CAIRN_OK);
  assert_int_equal(why, CAIRN_ERR_TX_EXPIRED);
  assert_non_null(strstr(msg, "expiry height 1, next block 2"));
  assert_int_equal(next_seq(f, &f->iss[2]), 1);
  assert_int_equal(build(f), 0); /* nothing pending: no block */
  assert_int_equal(tip_height(f), 1);
}

static void test_drop(void **state) {
  mfx *f = *state;
  cairn_tx a, b;
  uint8_t ida[32], idb[32];
  tu_tx_issue(&a, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 1);
  tu_tx_issue(&b, &f->iss[2], 1, TU_BRAND_PIZZA, f->mem[0].pk, 1);
  assert_int_equal(add(f, &a, ida, NULL), CAIRN_OK);
  assert_int_equal(add(f, &b, idb, NULL), CAIRN_OK);
  assert_int_equal(cairn_mempool_drop(f->m, ida, CAIRN_ERR_TX_EXPIRED),
                   CAIRN_OK);
  assert_int_equal(cairn_mempool_drop(f->m, ida, CAIRN_ERR_TX_EXPIRED),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_mempool_after_block(f->m, NULL, 0, f->now_ms),
                   CAIRN_OK);
  assert_int_equal(cairn_mempool_count(f->m), 1);
  assert_int_equal(next_seq(f, &f->iss[1]), 1); /* its effect is gone */
  assert_int_equal(next_seq(f, &f->iss[2]), 2);
  cairn_err why;
  assert_int_equal(cairn_mempool_rejected(f->m, ida, &why, NULL, 0), CAIRN_OK);
  assert_int_equal(why, CAIRN_ERR_TX_EXPIRED);
  /* It may come back (it was never committed). */
  assert_int_equal(add(f, &a, NULL, NULL), CAIRN_OK);
  assert_int_equal(build(f), 1);
  assert_int_equal(committed_balance(f, &f->mem[0], TU_BRAND_COFFEE), 1);
  assert_int_equal(committed_balance(f, &f->mem[0], TU_BRAND_PIZZA), 1);
}

static void test_propose_builds_only_with_txs(void **state) {
  mfx *f = *state;
  assert_int_equal(build(f), 0);
  assert_int_equal(tip_height(f), 0);
  cairn_tx tx;
  for (uint64_t s = 1; s <= 5; s++) {
    tu_tx_issue(&tx, &f->iss[1], s, TU_BRAND_COFFEE, f->mem[s % 2].pk, s);
    assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  }
  assert_int_equal(build(f), 1);
  assert_int_equal(cairn_mempool_count(f->m), 0);
  assert_int_equal(committed_balance(f, &f->mem[0], TU_BRAND_COFFEE), 2 + 4);
  assert_int_equal(committed_balance(f, &f->mem[1], TU_BRAND_COFFEE), 1 + 3 + 5);
  assert_int_equal(build(f), 0);
  assert_int_equal(tip_height(f), 1);
}

static void test_foreign_commit_commits_nothing(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  tu_vkey stranger;
  tu_validator(&stranger, 7);
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 5);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  assert_int_equal(build_signed(f, &stranger, CAIRN_ERR_BAD_COMMIT), 0);
  assert_int_equal(tip_height(f), 0);
  assert_int_equal(cairn_mempool_count(f->m), 1); /* still pending */
  assert_int_equal(next_seq(f, &f->iss[1]), 2);
  assert_int_equal(build(f), 1);
  assert_int_equal(committed_balance(f, &f->mem[0], TU_BRAND_COFFEE), 5);
}

/* ---- seeded random admission against a model ---- */

#define RND_STEPS 300
#define RND_MEMBERS 4

typedef struct rnd_model {
  uint64_t bal[RND_MEMBERS][4]; /* [member][brand], tip + pending */
  uint64_t member_seq[RND_MEMBERS];
  uint64_t issuer_seq[4];
  size_t pending;
} rnd_model;

static uint32_t rnd_next(uint64_t *x) {
  /* xorshift64*: enough for choosing operations. */
  *x ^= *x >> 12;
  *x ^= *x << 25;
  *x ^= *x >> 27;
  return (uint32_t)((*x * 2685821657736338717ull) >> 32);
}

/* One random operation; checks the mempool's answer against the model. */
static void rnd_step(mfx *f, rnd_model *md, uint64_t *x) {
  cairn_tx tx;
  uint32_t op = rnd_next(x) % 8, i = rnd_next(x) % RND_MEMBERS;
  uint32_t j = (i + 1 + rnd_next(x) % (RND_MEMBERS - 1)) % RND_MEMBERS;
  uint64_t amount = 1 + rnd_next(x) % 60;
  cairn_err want = CAIRN_OK;
  if (op < 3) { /* issue any brand */
    uint32_t b = 1 + rnd_next(x) % 3;
    tu_tx_issue(&tx, &f->iss[b], md->issuer_seq[b] + 1, b, f->mem[i].pk, amount);
    assert_int_equal(add(f, &tx, NULL, NULL), want);
    md->issuer_seq[b]++;
    md->bal[i][b] += amount;
  } else if (op < 6) { /* transfer coffee or pizza */
    uint32_t b = 1 + rnd_next(x) % 2;
    tu_tx_transfer(&tx, &f->mem[i], md->member_seq[i] + 1, b, f->mem[j].pk,
                   amount);
    if (md->bal[i][b] < amount) want = CAIRN_ERR_INSUFFICIENT;
    assert_int_equal(add(f, &tx, NULL, NULL), want);
    if (want != CAIRN_OK) return;
    md->member_seq[i]++;
    md->bal[i][b] -= amount;
    md->bal[j][b] += amount;
  } else { /* redeem any brand */
    uint32_t b = 1 + rnd_next(x) % 3;
    tu_tx_redeem(&tx, &f->mem[i], md->member_seq[i] + 1, b, amount, "R");
    if (md->bal[i][b] < amount) want = CAIRN_ERR_INSUFFICIENT;
    assert_int_equal(add(f, &tx, NULL, NULL), want);
    if (want != CAIRN_OK) return;
    md->member_seq[i]++;
    md->bal[i][b] -= amount;
  }
  md->pending++;
}

static void test_random_against_model(void **state) {
  mfx *f = *state;
  const char *env = getenv("CAIRN_TEST_SEED");
  uint64_t seed = env != NULL ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
  printf("test_random_against_model seed %llu (CAIRN_TEST_SEED to replay)\n",
         (unsigned long long)seed);
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  rnd_model md;
  memset(&md, 0, sizeof md);
  for (int step = 0; step < RND_STEPS; step++) {
    rnd_step(f, &md, &x);
    assert_int_equal(cairn_mempool_count(f->m), md.pending);
    if (rnd_next(&x) % 10 == 0) {
      uint64_t h = build(f);
      assert_true(md.pending == 0 ? h == 0 : h == tip_height(f));
      assert_int_equal(cairn_mempool_count(f->m), 0);
      md.pending = 0;
    }
  }
  (void)build(f);
  for (uint32_t i = 0; i < RND_MEMBERS; i++) {
    for (uint32_t b = 1; b <= 3; b++) {
      assert_int_equal(committed_balance(f, &f->mem[i], b), md.bal[i][b]);
    }
    assert_int_equal(next_seq(f, &f->mem[i]), md.member_seq[i] + 1);
  }
}

/* Admission runs the next block's start-of-block processing first: points
 * that expire at the next block cannot be spent from the mempool, so a
 * cashier is told at once instead of seeing the redemption dropped later. */
static void test_admission_sees_expiry_of_next_block(void **state) {
  mfx *f = *state;
  cairn_tx tx;
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  /* Coffee points now expire 1 block after their issue. */
  tu_tx_init(&tx, CAIRN_TX_POLICY, f->iss[1].pk, next_seq(f, &f->iss[1]));
  tx.u.policy.brand = TU_BRAND_COFFEE;
  tx.u.policy.flags = CAIRN_BRAND_FLAG_TRANSFERABLE;
  tx.u.policy.policy.expiry_mode = CAIRN_EXPIRY_FIXED;
  tx.u.policy.policy.expiry_blocks = 1;
  tu_tx_sign(&tx, &f->iss[1]);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  uint64_t h = build(f);
  tu_tx_issue(&tx, &f->iss[1], next_seq(f, &f->iss[1]), TU_BRAND_COFFEE,
              f->mem[0].pk, 40);
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  assert_int_equal(build(f), h + 1); /* issued at h+1: spendable at h+2 */
  tu_tx_redeem(&tx, &f->mem[0], next_seq(f, &f->mem[0]), TU_BRAND_COFFEE, 10,
               "ok");
  assert_int_equal(add(f, &tx, NULL, NULL), CAIRN_OK);
  assert_int_equal(build(f), h + 2);
  /* The next block is h+3: the remaining 30 expire at its start. */
  tu_tx_redeem(&tx, &f->mem[0], next_seq(f, &f->mem[0]), TU_BRAND_COFFEE, 1,
               "late");
  assert_int_equal(add(f, &tx, NULL, detail), CAIRN_ERR_INSUFFICIENT);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_accepts_valid_tx, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rejects_bad_signature, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_admission_feeds_block_check, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rejects_bad_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rejects_wrong_chain, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rejects_sequence_gap, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rejects_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rejects_duplicate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_overspend_counts_pending, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_other_rule_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_full_mempool, setup_small,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_after_block_keeps_rest_in_order,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalidated_tx_is_dropped, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_expired_while_waiting, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
      cmocka_unit_test_setup_teardown(test_propose_builds_only_with_txs,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_foreign_commit_commits_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_admission_sees_expiry_of_next_block,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_random_against_model, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
