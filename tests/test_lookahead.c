/*
 * test_lookahead.c - checking a block ahead of applying it
 * (cairn_chain_precheck_block, chain.h) and the lookahead that does it on a
 * background thread (lookahead.h).
 *
 * A proposer's chain builds blocks; a second chain on its own store (a
 * replica, as an auditor has) prechecks them. The precheck must fill the
 * replica's tx cache with exactly the transactions whose signatures hold,
 * change nothing else, and leave a bad block to apply_block to refuse. The
 * lookahead must hand back byte-exact copies of what it was given, keep the
 * block it handed out intact while the next one is copied, and answer only
 * for the height it holds.
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
#include "cairn/lookahead.h"
#include "cairn/store.h"
#include "testutil.h"

#define NTX 100 /* above CAIRN_CHAIN_VERIFY_PARALLEL_MIN: threads run */

typedef struct lfx {
  cairn_genesis *g;
  char dir[2][256];
  cairn_store *s[2];
  cairn_chain *c[2]; /* 0 proposes, 1 is the replica */
  tu_vkey vk;
  tu_key iss;
  uint8_t raw[NTX][CAIRN_TX_BYTES_MAX];
  cairn_slice txs[NTX];
  cairn_proposal *p;
} lfx;

static int setup(void **state) {
  lfx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->g = malloc(sizeof *f->g);
  assert_non_null(f->g);
  tu_genesis(f->g);
  tu_validator(&f->vk, 0);
  tu_issuer(&f->iss, TU_BRAND_COFFEE);
  for (int i = 0; i < 2; i++) {
    tu_tmpdir(f->dir[i], sizeof f->dir[i]);
    f->s[i] = tu_store_open(f->dir[i]);
    assert_int_equal(cairn_chain_open(&f->c[i], f->s[i], f->g), CAIRN_OK);
  }
  /* NTX issues to NTX members: one block, built by chain 0. */
  for (uint32_t i = 0; i < NTX; i++) {
    tu_key m;
    cairn_tx tx;
    tu_member(&m, i);
    tu_tx_issue(&tx, &f->iss, i + 1, TU_BRAND_COFFEE, m.pk, 5);
    f->txs[i].len = tu_tx_bytes(f->raw[i], sizeof f->raw[i], &tx);
    f->txs[i].p = f->raw[i];
  }
  cairn_tip tip;
  cairn_chain_tip(f->c[0], &tip);
  assert_int_equal(cairn_chain_propose(f->c[0], f->txs, NTX,
                                       tip.time_ms + 1000, f->vk.pk, NULL,
                                       NULL, &f->p),
                   CAIRN_OK);
  assert_int_equal(f->p->header.tx_count, NTX);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  lfx *f = *state;
  cairn_proposal_free(f->p);
  for (int i = 0; i < 2; i++) {
    cairn_chain_close(f->c[i]);
    cairn_store_close(f->s[i]);
    tu_rmtree(f->dir[i]);
  }
  free(f->g);
  free(f);
  return 0;
}

static size_t cached(const cairn_chain *c, const lfx *f) {
  size_t n = 0;
  for (size_t i = 0; i < f->p->header.tx_count; i++)
    n += cairn_cache_get(cairn_chain_tx_cache(c), f->p->txids[i], NULL);
  return n;
}

static void apply_with_commit(lfx *f, const uint8_t *block, size_t len,
                              cairn_err want) {
  cairn_commit cm;
  uint8_t cbuf[CAIRN_COMMIT_BYTES_MAX];
  size_t clen = 0;
  tu_commit_sign(&cm, f->p->header.height, f->p->hash, &f->vk);
  assert_int_equal(cairn_commit_encode(cbuf, sizeof cbuf, &clen, &cm),
                   CAIRN_OK);
  char why[256] = "";
  assert_int_equal(
      cairn_chain_apply_block(f->c[1], block, len, cbuf, clen, why, sizeof why),
      want);
}

static void test_precheck_fills_cache_only(void **state) {
  lfx *f = *state;
  cairn_tip before, after;
  cairn_chain_tip(f->c[1], &before);
  assert_int_equal(cached(f->c[1], f), 0);
  assert_int_equal(
      cairn_chain_precheck_block(f->c[1], f->p->block, f->p->block_len),
      CAIRN_OK);
  assert_int_equal(cached(f->c[1], f), NTX);
  cairn_chain_tip(f->c[1], &after);
  assert_int_equal(after.height, before.height); /* nothing applied */
  /* Applying it afterwards checks no signature again. */
  cairn_cache_stats s0, s1;
  cairn_cache_stats_get(cairn_chain_tx_cache(f->c[1]), &s0);
  apply_with_commit(f, f->p->block, f->p->block_len, CAIRN_OK);
  cairn_cache_stats_get(cairn_chain_tx_cache(f->c[1]), &s1);
  assert_int_equal(s1.hits - s0.hits, NTX);
  assert_int_equal(s1.puts, s0.puts);
  cairn_chain_tip(f->c[1], &after);
  assert_int_equal(after.height, before.height + 1);
}

/* A forged signature in the block: the precheck caches every other
 * transaction and not that one, and apply_block still refuses the block. */
static void test_precheck_bad_signature(void **state) {
  lfx *f = *state;
  uint8_t *block = malloc(f->p->block_len);
  assert_non_null(block);
  memcpy(block, f->p->block, f->p->block_len);
  /* The last transaction's signature ends the block. */
  block[f->p->block_len - 1] ^= 1;
  assert_int_equal(cairn_chain_precheck_block(f->c[1], block, f->p->block_len),
                   CAIRN_OK);
  assert_int_equal(cached(f->c[1], f), NTX - 1);
  assert_false(cairn_cache_get(cairn_chain_tx_cache(f->c[1]),
                               f->p->txids[NTX - 1], NULL));
  /* The block hash is unchanged (the header commits to the root, which no
   * longer matches), so apply_block refuses it on its Merkle root. */
  apply_with_commit(f, block, f->p->block_len, CAIRN_ERR_BAD_TX_ROOT);
  free(block);
}

static void test_precheck_garbage(void **state) {
  lfx *f = *state;
  assert_int_equal(cairn_chain_precheck_block(f->c[1], f->p->block, 10),
                   CAIRN_ERR_TRUNCATED);
  cairn_cache_stats st;
  cairn_cache_stats_get(cairn_chain_tx_cache(f->c[1]), &st);
  assert_int_equal(st.puts, 0);
}

static void test_lookahead_copies_and_heights(void **state) {
  lfx *f = *state;
  cairn_lookahead *la = NULL;
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  uint8_t commit[3] = {7, 8, 9};
  assert_int_equal(cairn_lookahead_new(&la, f->c[1]), CAIRN_OK);
  assert_false(cairn_lookahead_take(la, 1, &b, &blen, &c, &clen));
  assert_int_equal(cairn_lookahead_start(la, 1, f->p->block, f->p->block_len,
                                         commit, sizeof commit),
                   CAIRN_OK);
  assert_false(cairn_lookahead_take(la, 2, &b, &blen, &c, &clen));
  assert_null(b);
  assert_true(cairn_lookahead_take(la, 1, &b, &blen, &c, &clen));
  assert_int_equal(blen, f->p->block_len);
  assert_memory_equal(b, f->p->block, blen);
  assert_ptr_not_equal(b, f->p->block); /* a copy */
  assert_int_equal(clen, 3);
  assert_memory_equal(c, commit, 3);
  assert_int_equal(cached(f->c[1], f), NTX); /* checked by then */
  /* The next block goes into the other buffer: the first stays intact. */
  static uint8_t other[64];
  memset(other, 0xab, sizeof other);
  assert_int_equal(
      cairn_lookahead_start(la, 2, other, sizeof other, NULL, 0), CAIRN_OK);
  assert_memory_equal(b, f->p->block, blen);
  const uint8_t *b2 = NULL, *c2 = NULL;
  size_t b2len = 0, c2len = 0;
  assert_false(cairn_lookahead_take(la, 1, &b2, &b2len, &c2, &c2len));
  assert_true(cairn_lookahead_take(la, 2, &b2, &b2len, &c2, &c2len));
  assert_int_equal(b2len, sizeof other);
  assert_memory_equal(b2, other, sizeof other);
  assert_int_equal(c2len, 0);
  /* Taken once: not again. Too large: refused, nothing started. */
  assert_false(cairn_lookahead_take(la, 2, &b2, &b2len, &c2, &c2len));
  assert_int_equal(cairn_lookahead_start(la, 3, other,
                                         (size_t)CAIRN_BLOCK_BYTES_MAX + 1,
                                         NULL, 0),
                   CAIRN_ERR_RANGE);
  assert_false(cairn_lookahead_take(la, 3, &b2, &b2len, &c2, &c2len));
  /* Freed while a check runs: it is waited for. */
  assert_int_equal(cairn_lookahead_start(la, 4, f->p->block, f->p->block_len,
                                         NULL, 0),
                   CAIRN_OK);
  cairn_lookahead_free(la);
  cairn_lookahead_free(NULL);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_precheck_fills_cache_only, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_precheck_bad_signature, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_precheck_garbage, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lookahead_copies_and_heights,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
