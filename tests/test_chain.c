/*
 * tests/test_chain.c - genesis, proposing, committing and applying blocks.
 *
 * A chain is built on one store with propose + commit_proposal (a single
 * validator signs each commit), and replayed block by block with
 * apply_block on a second store opened from the same genesis: both must
 * agree on the tip hash and app hash at every height. Then every check of
 * apply_block is broken once, on a block that is otherwise correct (header
 * re-encoded, hash recomputed, commit re-signed) so that the check under
 * test is the one that fires; after each rejection the tip, the app hash and
 * the stored tip must be unchanged. All stores use no_sync.
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
#include "cairn/encoding.h"
#include "cairn/merkle.h"
#include "cairn/state.h"
#include "cairn/store.h"
#include "cairn/view.h"
#include "testutil.h"

#define DEMO_HEIGHT 5
#define MAX_CANDIDATES 16

typedef struct cfx {
  char dir[64];
  cairn_genesis *g;
  cairn_store *s;
  cairn_chain *c;
  tu_vkey vk;
  tu_key iss[4];
  tu_key m[4];
  cairn_tip tips[DEMO_HEIGHT + 1]; /* after build_demo: tip at each height */
  uint8_t coupon[32];
} cfx;

static int cfx_setup(void **state) {
  cfx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->g = malloc(sizeof *f->g);
  assert_non_null(f->g);
  tu_genesis(f->g);
  tu_validator(&f->vk, 0);
  for (uint32_t b = 1; b <= 3; b++) tu_issuer(&f->iss[b], b);
  for (uint32_t i = 0; i < 4; i++) tu_member(&f->m[i], i);
  tu_tmpdir(f->dir, sizeof f->dir);
  f->s = tu_store_open(f->dir);
  assert_int_equal(cairn_chain_open(&f->c, f->s, f->g), CAIRN_OK);
  *state = f;
  return 0;
}

static int cfx_teardown(void **state) {
  cfx *f = *state;
  cairn_chain_close(f->c);
  cairn_store_close(f->s);
  tu_rmtree(f->dir);
  free(f->g);
  free(f);
  return 0;
}

/* ---- helpers ---- */

typedef struct rejects {
  size_t n;
  size_t index[MAX_CANDIDATES];
  cairn_err err[MAX_CANDIDATES];
} rejects;

static void record_reject(void *ctx, size_t index, cairn_err err) {
  rejects *r = ctx;
  assert_true(r->n < MAX_CANDIDATES);
  r->index[r->n] = index;
  r->err[r->n] = err;
  r->n++;
}

/* Candidate transactions as bytes the slices point at. */
typedef struct batch {
  size_t n;
  uint8_t raw[MAX_CANDIDATES][CAIRN_TX_BYTES_MAX + 64];
  cairn_slice sl[MAX_CANDIDATES];
} batch;

static void batch_add(batch *b, const cairn_tx *tx) {
  assert_true(b->n < MAX_CANDIDATES);
  b->sl[b->n].len = tu_tx_bytes(b->raw[b->n], CAIRN_TX_BYTES_MAX, tx);
  b->sl[b->n].p = b->raw[b->n];
  b->n++;
}

static void batch_add_bytes(batch *b, const uint8_t *p, size_t len) {
  assert_true(b->n < MAX_CANDIDATES && len <= sizeof b->raw[0]);
  memcpy(b->raw[b->n], p, len);
  b->sl[b->n].p = b->raw[b->n];
  b->sl[b->n].len = len;
  b->n++;
}

static void tip_of(cairn_chain *c, cairn_tip *t) {
  memset(t, 0, sizeof *t);
  cairn_chain_tip(c, t);
}

static void stored_tip(cairn_store *s, cairn_tip *t) {
  cairn_rtxn *r = NULL;
  memset(t, 0, sizeof *t);
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, t), CAIRN_OK);
  cairn_store_read_end(r);
}

/* The chain's tip and the store's tip are the same. */
static void assert_tips_agree(cairn_chain *c, cairn_store *s) {
  cairn_tip a, b;
  tip_of(c, &a);
  stored_tip(s, &b);
  assert_memory_equal(&a, &b, sizeof a);
}

/* Propose at tip+1 with time tip+1000 and commit with the validator's
 * signature; rejections go to rej (may be NULL). */
static void propose_commit(cfx *f, const batch *b, rejects *rej) {
  cairn_proposal *p = NULL;
  cairn_commit cm;
  cairn_tip t;
  tip_of(f->c, &t);
  assert_int_equal(cairn_chain_propose(f->c, b ? b->sl : NULL, b ? b->n : 0,
                                       t.time_ms + 1000, f->vk.pk,
                                       rej ? record_reject : NULL, rej, &p),
                   CAIRN_OK);
  tu_commit_sign(&cm, p->header.height, p->hash, &f->vk);
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, &cm), CAIRN_OK);
  cairn_proposal_free(p);
}

static uint64_t store_balance(cairn_store *s, const tu_key *k, uint32_t b) {
  cairn_view *v = NULL;
  uint64_t x = 0;
  assert_int_equal(cairn_view_open(&v, s), CAIRN_OK);
  assert_int_equal(cairn_state_balance(v, k->pk, b, &x), CAIRN_OK);
  cairn_view_close(v);
  return x;
}

/* Five blocks exercising every transaction type; tips recorded. */
static void build_demo(cfx *f) {
  batch *b = calloc(1, sizeof *b);
  cairn_tx tx;
  assert_non_null(b);
  tip_of(f->c, &f->tips[0]);
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 1000);
  batch_add(b, &tx);
  tu_tx_issue(&tx, &f->iss[2], 1, TU_BRAND_PIZZA, f->m[1].pk, 500);
  batch_add(b, &tx);
  tu_tx_issue(&tx, &f->iss[3], 1, TU_BRAND_BOOKS, f->m[2].pk, 50);
  batch_add(b, &tx);
  propose_commit(f, b, NULL);
  tip_of(f->c, &f->tips[1]);
  b->n = 0;
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 100);
  batch_add(b, &tx);
  tu_tx_coupon_issue(&tx, &f->iss[1], 2, TU_BRAND_COFFEE, f->m[0].pk, 100,
                     true);
  tu_txid(f->coupon, &tx);
  batch_add(b, &tx);
  propose_commit(f, b, NULL);
  tip_of(f->c, &f->tips[2]);
  b->n = 0;
  tu_tx_redeem(&tx, &f->m[1], 1, TU_BRAND_PIZZA, 50, "order-1");
  batch_add(b, &tx);
  tu_tx_coupon_transfer(&tx, &f->m[0], 2, f->coupon, f->m[2].pk);
  batch_add(b, &tx);
  propose_commit(f, b, NULL);
  tip_of(f->c, &f->tips[3]);
  b->n = 0;
  tu_tx_coupon_redeem(&tx, &f->m[2], 1, f->coupon, TU_BRAND_COFFEE, "o-2");
  batch_add(b, &tx);
  propose_commit(f, b, NULL);
  tip_of(f->c, &f->tips[4]);
  propose_commit(f, NULL, NULL); /* an empty block */
  tip_of(f->c, &f->tips[5]);
  free(b);
}

/* A stored block and its commit, copied out of the store. */
typedef struct blob {
  uint8_t *block;
  size_t block_len;
  uint8_t *commit;
  size_t commit_len;
} blob;

static void stored_block(cairn_store *s, uint64_t height, blob *out) {
  cairn_rtxn *r = NULL;
  const uint8_t *b, *c;
  size_t bl, cl;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_block(r, height, &b, &bl, &c, &cl), CAIRN_OK);
  out->block = malloc(bl);
  out->commit = malloc(cl);
  assert_non_null(out->block);
  assert_non_null(out->commit);
  memcpy(out->block, b, bl);
  memcpy(out->commit, c, cl);
  out->block_len = bl;
  out->commit_len = cl;
  cairn_store_read_end(r);
}

static void blob_free(blob *b) {
  free(b->block);
  free(b->commit);
  memset(b, 0, sizeof *b);
}

/* A second store and chain from the same genesis. */
typedef struct replica {
  char dir[64];
  cairn_store *s;
  cairn_chain *c;
} replica;

static void replica_open(replica *r, const cairn_genesis *g) {
  tu_tmpdir(r->dir, sizeof r->dir);
  r->s = tu_store_open(r->dir);
  assert_int_equal(cairn_chain_open(&r->c, r->s, g), CAIRN_OK);
}

static void replica_close(replica *r) {
  cairn_chain_close(r->c);
  cairn_store_close(r->s);
  tu_rmtree(r->dir);
}

static void replica_apply(replica *r, cairn_store *from, uint64_t height) {
  blob b;
  char why[512];
  stored_block(from, height, &b);
  cairn_err err = cairn_chain_apply_block(r->c, b.block, b.block_len,
                                          b.commit, b.commit_len, why,
                                          sizeof why);
  if (err != CAIRN_OK) fail_msg("apply %llu: %s: %s",
                                (unsigned long long)height,
                                cairn_errname(err), why);
  blob_free(&b);
}

/* ---- genesis and reopening ---- */

static void test_open_creates_genesis(void **state) {
  cfx *f = *state;
  cairn_tip t;
  uint8_t gh[32], want[32], buf[64];
  cairn_view *v = NULL;
  assert_int_equal(cairn_genesis_hash(gh, f->g), CAIRN_OK);
  tip_of(f->c, &t);
  assert_int_equal(t.height, 0);
  assert_memory_equal(t.hash, gh, 32);
  assert_int_equal(t.time_ms, TU_GENESIS_TIME_MS);
  assert_memory_equal(cairn_chain_genesis_hash(f->c), gh, 32);
  assert_string_equal(cairn_chain_genesis(f->c)->chain_id, TU_CHAIN_ID);
  assert_int_equal(cairn_chain_valset(f->c)->n, 1);
  assert_ptr_equal(cairn_chain_store(f->c), f->s);
  /* S(0) = tagged_hash("cairn/state", genesis_hash | D(genesis)). */
  assert_int_equal(cairn_view_open(&v, NULL), CAIRN_OK);
  assert_int_equal(cairn_state_apply_genesis(v, f->g), CAIRN_OK);
  memcpy(buf, gh, 32);
  assert_int_equal(cairn_view_digest(v, buf + 32), CAIRN_OK);
  cairn_view_close(v);
  cairn_tagged_hash(want, CAIRN_TAG_STATE, buf, sizeof buf);
  assert_memory_equal(t.app_hash, want, 32);
  assert_tips_agree(f->c, f->s);
  /* The genesis state is in the store. */
  cairn_brand br;
  assert_int_equal(cairn_view_open(&v, f->s), CAIRN_OK);
  assert_int_equal(cairn_state_brand(v, TU_BRAND_BOOKS, &br), CAIRN_OK);
  assert_string_equal(br.name, "books");
  cairn_view_close(v);
}

static void test_open_empty_without_genesis(void **state) {
  cfx *f = *state;
  replica r;
  cairn_chain *c = (cairn_chain *)1;
  cairn_rtxn *rt = NULL;
  cairn_tip t;
  tu_tmpdir(r.dir, sizeof r.dir);
  r.s = tu_store_open(r.dir);
  assert_int_equal(cairn_chain_open(&c, r.s, NULL), CAIRN_ERR_NOT_FOUND);
  assert_null(c);
  /* An invalid genesis is refused and nothing is written. */
  f->g->n_brands = 0;
  assert_int_equal(cairn_chain_open(&c, r.s, f->g), CAIRN_ERR_GENESIS);
  assert_null(c);
  assert_int_equal(cairn_store_read_begin(r.s, &rt), CAIRN_OK);
  assert_int_equal(cairn_store_tip(rt, &t), CAIRN_ERR_NOT_FOUND);
  cairn_store_read_end(rt);
  cairn_store_close(r.s);
  tu_rmtree(r.dir);
}

static void test_reopen(void **state) {
  cfx *f = *state;
  cairn_tip before, after;
  cairn_chain *c = NULL;
  tip_of(f->c, &before);
  cairn_chain_close(f->c);
  f->c = NULL;
  assert_int_equal(cairn_chain_open(&f->c, f->s, f->g), CAIRN_OK);
  tip_of(f->c, &after);
  assert_memory_equal(&before, &after, sizeof before);
  /* NULL: use the stored genesis. */
  assert_int_equal(cairn_chain_open(&c, f->s, NULL), CAIRN_OK);
  tip_of(c, &after);
  assert_memory_equal(&before, &after, sizeof before);
  assert_memory_equal(cairn_chain_genesis_hash(c),
                      cairn_chain_genesis_hash(f->c), 32);
  assert_string_equal(cairn_chain_genesis(c)->brands[1].name, "pizza");
  cairn_chain_close(c);
  /* A different genesis: refused. */
  cairn_genesis *other = malloc(sizeof *other);
  assert_non_null(other);
  *other = *f->g;
  other->time_ms += 1;
  c = (cairn_chain *)1;
  assert_int_equal(cairn_chain_open(&c, f->s, other),
                   CAIRN_ERR_GENESIS_MISMATCH);
  assert_null(c);
  free(other);
  /* Closing and reopening the store itself. */
  cairn_chain_close(f->c);
  cairn_store_close(f->s);
  f->s = tu_store_open(f->dir);
  assert_int_equal(cairn_chain_open(&f->c, f->s, f->g), CAIRN_OK);
  tip_of(f->c, &after);
  assert_memory_equal(&before, &after, sizeof before);
}

/* ---- propose and commit ---- */

/* Proposal p at height 1 holds exactly the transactions a and b. */
static void check_first_header(cfx *f, const cairn_proposal *p,
                               const cairn_tip *t0, cairn_slice a,
                               cairn_slice b) {
  uint8_t vh[32], root[32], ids[2][32], hash[32];
  assert_int_equal(p->header.height, 1);
  assert_int_equal(p->header.tx_count, 2);
  assert_int_equal(p->header.time_ms, t0->time_ms + 5);
  assert_memory_equal(p->header.prev_hash, t0->hash, 32);
  assert_memory_equal(p->header.state_hash, t0->app_hash, 32);
  assert_memory_equal(p->header.proposer, f->vk.pk, 32);
  cairn_valset_hash(vh, cairn_chain_valset(f->c));
  assert_memory_equal(p->header.validators_hash, vh, 32);
  cairn_tx_id_bytes(ids[0], a.p, a.len);
  cairn_tx_id_bytes(ids[1], b.p, b.len);
  assert_memory_equal(p->txids, ids, sizeof ids);
  assert_int_equal(cairn_merkle_root(root, (const uint8_t(*)[32])ids, 2),
                   CAIRN_OK);
  assert_memory_equal(p->header.tx_root, root, 32);
  assert_int_equal(cairn_block_hash(hash, &p->header), CAIRN_OK);
  assert_memory_equal(p->hash, hash, 32);
  assert_int_equal(cairn_state_hash_next(hash, t0->app_hash, p->view),
                   CAIRN_OK);
  assert_memory_equal(p->app_hash, hash, 32);
}

static void test_propose_rejects(void **state) {
  cfx *f = *state;
  batch *b = calloc(1, sizeof *b);
  rejects rej = {0};
  cairn_proposal *p = NULL;
  cairn_tx tx;
  cairn_tip t0;
  uint8_t raw[CAIRN_TX_BYTES_MAX + 64];
  assert_non_null(b);
  tip_of(f->c, &t0);
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 100);
  batch_add(b, &tx);                                       /* 0: ok */
  size_t len = tu_tx_bytes(raw, sizeof raw, &tx);
  batch_add_bytes(b, raw, len - 1);                        /* 1: truncated */
  tu_tx_issue(&tx, &f->iss[2], 1, TU_BRAND_PIZZA, f->m[0].pk, 100);
  len = tu_tx_bytes(raw, sizeof raw, &tx);
  raw[len - 1] ^= 1;
  batch_add_bytes(b, raw, len);                            /* 2: bad sig */
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 101);
  batch_add(b, &tx);                                       /* 3: overspend */
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[1].pk, 30);
  batch_add(b, &tx);                                       /* 4: ok */
  batch_add(b, &tx);                                       /* 5: replay */
  tu_tx_transfer(&tx, &f->m[0], 2, TU_BRAND_COFFEE, f->m[1].pk, 1);
  memcpy(tx.chain_id, "other-test", 10);
  tu_tx_sign(&tx, &f->m[0]);
  batch_add(b, &tx);                                       /* 6: wrong chain */
  memset(raw, 0, sizeof raw);
  batch_add_bytes(b, raw, CAIRN_TX_BYTES_MAX + 1);         /* 7: oversize */
  tu_tx_issue(&tx, &f->m[1], 1, TU_BRAND_COFFEE, f->m[2].pk, 5);
  batch_add(b, &tx);                                       /* 8: not issuer */
  assert_int_equal(cairn_chain_propose(f->c, b->sl, b->n, t0.time_ms + 5,
                                       f->vk.pk, record_reject, &rej, &p),
                   CAIRN_OK);
  static const size_t want_index[] = {1, 2, 3, 5, 6, 7, 8};
  static const cairn_err want_err[] = {
      CAIRN_ERR_TRUNCATED, CAIRN_ERR_BAD_SIG, CAIRN_ERR_INSUFFICIENT,
      CAIRN_ERR_SEQ_REPLAY, CAIRN_ERR_CHAIN_ID, CAIRN_ERR_OVERSIZE,
      CAIRN_ERR_NOT_ISSUER};
  assert_int_equal(rej.n, 7);
  for (size_t i = 0; i < rej.n; i++) {
    assert_int_equal(rej.index[i], want_index[i]);
    assert_int_equal(rej.err[i], want_err[i]);
  }
  check_first_header(f, p, &t0, b->sl[0], b->sl[4]);
  /* Nothing is stored before the commit. */
  assert_tips_agree(f->c, f->s);
  cairn_tip t;
  tip_of(f->c, &t);
  assert_int_equal(t.height, 0);
  cairn_proposal_free(p);
  free(b);
}


static void test_propose_commit(void **state) {
  cfx *f = *state;
  batch *b = calloc(1, sizeof *b);
  cairn_proposal *p = NULL;
  cairn_commit cm;
  cairn_tx tx;
  cairn_tip t0, t;
  tu_vkey stranger;
  assert_non_null(b);
  tu_validator(&stranger, 1);
  tip_of(f->c, &t0);
  tu_tx_issue(&tx, &f->iss[1], 1, TU_BRAND_COFFEE, f->m[0].pk, 100);
  batch_add(b, &tx);
  /* A requested time before the parent's is raised to parent + 1. */
  assert_int_equal(cairn_chain_propose(f->c, b->sl, b->n, t0.time_ms - 50,
                                       f->vk.pk, NULL, NULL, &p),
                   CAIRN_OK);
  assert_int_equal(p->header.time_ms, t0.time_ms + 1);
  /* Commits by a non-validator, or for another block, are refused. */
  tu_commit_sign(&cm, 1, p->hash, &stranger);
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, &cm),
                   CAIRN_ERR_BAD_COMMIT);
  uint8_t other[32];
  memcpy(other, p->hash, 32);
  other[0] ^= 1;
  tu_commit_sign(&cm, 1, other, &f->vk);
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, &cm),
                   CAIRN_ERR_BAD_COMMIT);
  tip_of(f->c, &t);
  assert_memory_equal(&t, &t0, sizeof t);
  assert_tips_agree(f->c, f->s);
  tu_commit_sign(&cm, 1, p->hash, &f->vk);
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, &cm), CAIRN_OK);
  tip_of(f->c, &t);
  assert_int_equal(t.height, 1);
  assert_memory_equal(t.hash, p->hash, 32);
  assert_memory_equal(t.app_hash, p->app_hash, 32);
  assert_int_equal(t.time_ms, t0.time_ms + 1);
  assert_tips_agree(f->c, f->s);
  /* The stored block is the proposal's bytes. */
  blob bl;
  stored_block(f->s, 1, &bl);
  assert_int_equal(bl.block_len, p->block_len);
  assert_memory_equal(bl.block, p->block, p->block_len);
  blob_free(&bl);
  /* Committing it again: the tip has moved. */
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, &cm),
                   CAIRN_ERR_BAD_HEIGHT);
  cairn_proposal_free(p);
  assert_int_equal(store_balance(f->s, &f->m[0], TU_BRAND_COFFEE), 100);
  free(b);
}

static void test_stale_proposal(void **state) {
  cfx *f = *state;
  cairn_proposal *p = NULL, *q = NULL;
  cairn_commit cm;
  cairn_tip t;
  assert_int_equal(cairn_chain_propose(f->c, NULL, 0, 0, f->vk.pk, NULL,
                                       NULL, &p), CAIRN_OK);
  assert_int_equal(cairn_chain_propose(f->c, NULL, 0, 0, f->vk.pk, NULL,
                                       NULL, &q), CAIRN_OK);
  assert_int_equal(p->header.tx_count, 0);
  tu_commit_sign(&cm, 1, p->hash, &f->vk);
  assert_int_equal(cairn_chain_commit_proposal(f->c, p, &cm), CAIRN_OK);
  tip_of(f->c, &t);
  tu_commit_sign(&cm, 1, q->hash, &f->vk);
  assert_int_equal(cairn_chain_commit_proposal(f->c, q, &cm),
                   CAIRN_ERR_BAD_HEIGHT);
  cairn_tip t2;
  tip_of(f->c, &t2);
  assert_memory_equal(&t, &t2, sizeof t);
  assert_tips_agree(f->c, f->s);
  cairn_proposal_free(p);
  cairn_proposal_free(q);
}

static void test_demo_chain_and_reopen(void **state) {
  cfx *f = *state;
  cairn_tip t;
  cairn_coupon c;
  cairn_view *v = NULL;
  build_demo(f);
  tip_of(f->c, &t);
  assert_int_equal(t.height, DEMO_HEIGHT);
  for (uint64_t h = 1; h <= DEMO_HEIGHT; h++) {
    assert_int_equal(f->tips[h].height, h);
    assert_memory_not_equal(f->tips[h].app_hash, f->tips[h - 1].app_hash, 32);
  }
  assert_int_equal(store_balance(f->s, &f->m[0], TU_BRAND_COFFEE), 900);
  assert_int_equal(store_balance(f->s, &f->m[1], TU_BRAND_COFFEE), 100);
  assert_int_equal(store_balance(f->s, &f->m[1], TU_BRAND_PIZZA), 450);
  assert_int_equal(store_balance(f->s, &f->m[2], TU_BRAND_BOOKS), 50);
  assert_int_equal(cairn_view_open(&v, f->s), CAIRN_OK);
  assert_int_equal(cairn_state_coupon(v, f->coupon, &c), CAIRN_OK);
  assert_memory_equal(c.owner, f->m[2].pk, 32);
  assert_int_equal(c.status, CAIRN_COUPON_USED);
  assert_int_equal(c.issued_height, 2);
  assert_int_equal(c.redeemed_height, 4);
  cairn_view_close(v);
  /* An empty block's root is the RFC 6962 empty-tree hash. */
  blob bl;
  cairn_block_header h;
  cairn_slice txs[1];
  uint8_t empty[32];
  stored_block(f->s, 5, &bl);
  assert_int_equal(cairn_block_decode(&h, txs, 1, bl.block, bl.block_len),
                   CAIRN_OK);
  cairn_sha256_hash(empty, NULL, 0);
  assert_memory_equal(h.tx_root, empty, 32);
  blob_free(&bl);
  /* Reopen resumes at the tip with the same app hash. */
  cairn_chain_close(f->c);
  cairn_store_close(f->s);
  f->s = tu_store_open(f->dir);
  assert_int_equal(cairn_chain_open(&f->c, f->s, f->g), CAIRN_OK);
  tip_of(f->c, &t);
  assert_memory_equal(&t, &f->tips[DEMO_HEIGHT], sizeof t);
  propose_commit(f, NULL, NULL); /* and keeps going */
  tip_of(f->c, &t);
  assert_int_equal(t.height, DEMO_HEIGHT + 1);
}

/* At most CAIRN_BLOCK_TXS_MAX transactions; the rest are neither included
 * nor rejected. */
static void test_propose_tx_limit(void **state) {
  cfx *f = *state;
  size_t n = CAIRN_BLOCK_TXS_MAX + 2;
  uint8_t *raw = malloc(n * CAIRN_TX_BYTES_MAX);
  cairn_slice *sl = malloc(n * sizeof *sl);
  cairn_proposal *p = NULL;
  rejects rej = {0};
  cairn_tx tx;
  assert_non_null(raw);
  assert_non_null(sl);
  for (size_t i = 0; i < n; i++) {
    tu_tx_issue(&tx, &f->iss[1], i + 1, TU_BRAND_COFFEE, f->m[0].pk, 1);
    sl[i].p = raw + i * CAIRN_TX_BYTES_MAX;
    sl[i].len = tu_tx_bytes(raw + i * CAIRN_TX_BYTES_MAX, CAIRN_TX_BYTES_MAX,
                            &tx);
  }
  assert_int_equal(cairn_chain_propose(f->c, sl, n, 0, f->vk.pk,
                                       record_reject, &rej, &p), CAIRN_OK);
  assert_int_equal(p->header.tx_count, CAIRN_BLOCK_TXS_MAX);
  assert_int_equal(rej.n, 0);
  uint8_t last[32];
  cairn_tx_id_bytes(last, sl[CAIRN_BLOCK_TXS_MAX - 1].p,
                    sl[CAIRN_BLOCK_TXS_MAX - 1].len);
  assert_memory_equal(p->txids[CAIRN_BLOCK_TXS_MAX - 1], last, 32);
  cairn_proposal_free(p);
  free(sl);
  free(raw);
}

/* ---- apply ---- */

static void test_replay_matches(void **state) {
  cfx *f = *state;
  replica r;
  cairn_tip t;
  build_demo(f);
  replica_open(&r, f->g);
  tip_of(r.c, &t);
  assert_memory_equal(&t, &f->tips[0], sizeof t);
  for (uint64_t h = 1; h <= DEMO_HEIGHT; h++) {
    replica_apply(&r, f->s, h);
    tip_of(r.c, &t);
    assert_memory_equal(&t, &f->tips[h], sizeof t);
    assert_tips_agree(r.c, r.s);
  }
  /* The replica's commits are the original's bytes. */
  blob a, b;
  stored_block(f->s, 3, &a);
  stored_block(r.s, 3, &b);
  assert_int_equal(a.commit_len, b.commit_len);
  assert_memory_equal(a.commit, b.commit, a.commit_len);
  assert_int_equal(a.block_len, b.block_len);
  assert_memory_equal(a.block, b.block, a.block_len);
  blob_free(&a);
  blob_free(&b);
  assert_int_equal(store_balance(r.s, &f->m[1], TU_BRAND_PIZZA), 450);
  replica_close(&r);
}

/* A block built by hand over the replica's tip. */
typedef struct forged {
  cairn_block_header h;
  cairn_slice txs[4];
  uint8_t txids[4][32];
  uint8_t *block;
  size_t block_len;
  uint8_t commit[CAIRN_COMMIT_BYTES_MAX];
  size_t commit_len;
  uint8_t hash[32];
} forged;

/* The correct header for txs over c's tip. */
static void forge_header(forged *fb, cairn_chain *c, const tu_vkey *vk,
                         const cairn_slice *txs, size_t n) {
  cairn_tip t;
  tip_of(c, &t);
  memset(fb, 0, sizeof *fb);
  assert_true(n <= 4);
  fb->h.version = CAIRN_BLOCK_VERSION;
  fb->h.chain_id_len = (uint8_t)strlen(TU_CHAIN_ID);
  memcpy(fb->h.chain_id, TU_CHAIN_ID, fb->h.chain_id_len);
  fb->h.height = t.height + 1;
  fb->h.time_ms = t.time_ms + 1000;
  memcpy(fb->h.prev_hash, t.hash, 32);
  memcpy(fb->h.state_hash, t.app_hash, 32);
  memcpy(fb->h.proposer, vk->pk, 32);
  cairn_valset_hash(fb->h.validators_hash, cairn_chain_valset(c));
  fb->h.tx_count = (uint32_t)n;
  for (size_t i = 0; i < n; i++) {
    fb->txs[i] = txs[i];
    cairn_tx_id_bytes(fb->txids[i], txs[i].p, txs[i].len);
  }
  assert_int_equal(cairn_merkle_root(fb->h.tx_root,
                                     (const uint8_t(*)[32])fb->txids, n),
                   CAIRN_OK);
}

/* Encode the (possibly mutated) header and sign a commit for its hash. */
static void forge_seal(forged *fb, const tu_vkey *signer) {
  cairn_commit cm;
  size_t cap = 4096;
  fb->block = malloc(cap);
  assert_non_null(fb->block);
  assert_int_equal(cairn_block_encode(fb->block, cap, &fb->block_len, &fb->h,
                                      fb->txs), CAIRN_OK);
  assert_int_equal(cairn_block_hash(fb->hash, &fb->h), CAIRN_OK);
  tu_commit_sign(&cm, fb->h.height, fb->hash, signer);
  assert_int_equal(cairn_commit_encode(fb->commit, sizeof fb->commit,
                                       &fb->commit_len, &cm), CAIRN_OK);
}

/* apply_block must fail with want, leave every tip alone, and explain. */
static void expect_apply_err(replica *r, const uint8_t *block, size_t blen,
                             const uint8_t *commit, size_t clen,
                             cairn_err want, const char *why_has) {
  cairn_tip before, after;
  char why[512];
  tip_of(r->c, &before);
  cairn_err err = cairn_chain_apply_block(r->c, block, blen, commit, clen,
                                          why, sizeof why);
  if (err != want)
    fail_msg("apply: got %s, want %s (%s)", cairn_errname(err),
             cairn_errname(want), why);
  if (strstr(why, why_has) == NULL)
    fail_msg("why \"%s\" does not mention \"%s\"", why, why_has);
  tip_of(r->c, &after);
  assert_memory_equal(&before, &after, sizeof before);
  assert_tips_agree(r->c, r->s);
}

static void expect_forged_err(replica *r, forged *fb, const tu_vkey *signer,
                              cairn_err want, const char *why_has) {
  forge_seal(fb, signer);
  expect_apply_err(r, fb->block, fb->block_len, fb->commit, fb->commit_len,
                   want, why_has);
  free(fb->block);
  fb->block = NULL;
}

static void test_apply_header_rejections(void **state) {
  cfx *f = *state;
  replica r;
  blob b2, b3;
  forged *fb = calloc(1, sizeof *fb);
  cairn_slice txs[4];
  cairn_block_header h;
  char hex[65], got[65], want[200];
  tu_vkey stranger;
  assert_non_null(fb);
  tu_validator(&stranger, 1);
  build_demo(f);
  replica_open(&r, f->g);
  replica_apply(&r, f->s, 1);
  stored_block(f->s, 2, &b2);
  stored_block(f->s, 3, &b3);
  assert_int_equal(cairn_block_decode(&h, txs, 4, b2.block, b2.block_len),
                   CAIRN_OK);
  /* Undecodable bytes, and the block after next. */
  expect_apply_err(&r, b2.block, b2.block_len - 1, b2.commit, b2.commit_len,
                   CAIRN_ERR_TRUNCATED, "does not decode");
  expect_apply_err(&r, b3.block, b3.block_len, b3.commit, b3.commit_len,
                   CAIRN_ERR_BAD_HEIGHT, "block 3: height is 3, expected 2");
  /* Each header field broken on an otherwise valid, signed block. */
  forge_header(fb, r.c, &f->vk, txs, h.tx_count);
  memcpy(fb->h.chain_id, "cairn-tesu", 10);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_CHAIN_ID,
                    "chain_id is \"cairn-tesu\", expected \"cairn-test\"");
  forge_header(fb, r.c, &f->vk, txs, h.tx_count);
  fb->h.prev_hash[0] ^= 0xff;
  cairn_hex_encode(got, sizeof got, fb->h.prev_hash, 32);
  cairn_hex_encode(hex, sizeof hex, f->tips[1].hash, 32);
  snprintf(want, sizeof want, "block 2: prev_hash is %s, expected %s", got,
           hex);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_PREV, want);
  forge_header(fb, r.c, &f->vk, txs, h.tx_count);
  fb->h.time_ms = f->tips[1].time_ms;
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_TIME, "time_ms");
  forge_header(fb, r.c, &f->vk, txs, h.tx_count);
  fb->h.validators_hash[5] ^= 1;
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_VALSET, "validators_hash");
  forge_header(fb, r.c, &f->vk, txs, h.tx_count);
  memcpy(fb->h.proposer, stranger.pk, 32);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_PROPOSER, "proposer");
  forge_header(fb, r.c, &f->vk, txs, h.tx_count);
  fb->h.state_hash[31] ^= 1;
  cairn_hex_encode(got, sizeof got, fb->h.state_hash, 32);
  cairn_hex_encode(hex, sizeof hex, f->tips[1].app_hash, 32);
  snprintf(want, sizeof want, "block 2: state_hash is %s, expected %s", got,
           hex);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_STATE_HASH, want);
  /* The unmodified forge is the real block 2: accepted. */
  forge_header(fb, r.c, &f->vk, txs, h.tx_count);
  forge_seal(fb, &f->vk);
  assert_int_equal(fb->block_len, b2.block_len);
  assert_memory_equal(fb->block, b2.block, b2.block_len);
  free(fb->block);
  replica_apply(&r, f->s, 2);
  cairn_tip t;
  tip_of(r.c, &t);
  assert_memory_equal(&t, &f->tips[2], sizeof t);
  blob_free(&b2);
  blob_free(&b3);
  free(fb);
  replica_close(&r);
}

static void test_apply_root_and_commit_rejections(void **state) {
  cfx *f = *state;
  replica r;
  blob b2;
  cairn_commit cm;
  tu_vkey stranger;
  uint8_t cbuf[CAIRN_COMMIT_BYTES_MAX], hash[32];
  size_t clen = 0;
  cairn_block_header h;
  cairn_slice txs[4];
  tu_validator(&stranger, 1);
  build_demo(f);
  replica_open(&r, f->g);
  replica_apply(&r, f->s, 1);
  stored_block(f->s, 2, &b2);
  /* A flipped bit in the last transaction (its signature), nothing
   * recomputed: the Merkle root no longer matches. */
  b2.block[b2.block_len - 1] ^= 1;
  expect_apply_err(&r, b2.block, b2.block_len, b2.commit, b2.commit_len,
                   CAIRN_ERR_BAD_TX_ROOT, "block 2: tx_root is ");
  b2.block[b2.block_len - 1] ^= 1;
  /* Commits: by a non-validator; for another block; not a commit. */
  assert_int_equal(cairn_block_decode(&h, txs, 4, b2.block, b2.block_len),
                   CAIRN_OK);
  assert_int_equal(cairn_block_hash(hash, &h), CAIRN_OK);
  tu_commit_sign(&cm, 2, hash, &stranger);
  assert_int_equal(cairn_commit_encode(cbuf, sizeof cbuf, &clen, &cm),
                   CAIRN_OK);
  expect_apply_err(&r, b2.block, b2.block_len, cbuf, clen,
                   CAIRN_ERR_BAD_COMMIT, "block 2: commit");
  hash[0] ^= 1;
  tu_commit_sign(&cm, 2, hash, &f->vk);
  assert_int_equal(cairn_commit_encode(cbuf, sizeof cbuf, &clen, &cm),
                   CAIRN_OK);
  expect_apply_err(&r, b2.block, b2.block_len, cbuf, clen,
                   CAIRN_ERR_BAD_COMMIT, "block 2: commit");
  hash[0] ^= 1;
  tu_commit_sign(&cm, 3, hash, &f->vk); /* right block, wrong height */
  assert_int_equal(cairn_commit_encode(cbuf, sizeof cbuf, &clen, &cm),
                   CAIRN_OK);
  expect_apply_err(&r, b2.block, b2.block_len, cbuf, clen,
                   CAIRN_ERR_BAD_COMMIT, "block 2: commit");
  expect_apply_err(&r, b2.block, b2.block_len, b2.commit, 10,
                   CAIRN_ERR_BAD_COMMIT, "does not decode");
  /* And the real thing. */
  char why[256];
  assert_int_equal(cairn_chain_apply_block(r.c, b2.block, b2.block_len,
                                           b2.commit, b2.commit_len, why,
                                           sizeof why), CAIRN_OK);
  assert_string_equal(why, "");
  assert_tips_agree(r.c, r.s);
  blob_free(&b2);
  replica_close(&r);
}

static void test_apply_bad_tx(void **state) {
  cfx *f = *state;
  replica r;
  forged *fb = calloc(1, sizeof *fb);
  uint8_t raw[3][CAIRN_TX_BYTES_MAX];
  cairn_slice txs[3];
  cairn_tx tx;
  char want[160], hex[65];
  assert_non_null(fb);
  build_demo(f);
  replica_open(&r, f->g);
  replica_apply(&r, f->s, 1); /* m0 holds 1000 coffee */
  /* tx 0 is fine, tx 1 overspends: the whole block is refused. */
  tu_tx_transfer(&tx, &f->m[0], 1, TU_BRAND_COFFEE, f->m[3].pk, 10);
  txs[0].len = tu_tx_bytes(raw[0], sizeof raw[0], &tx);
  txs[0].p = raw[0];
  tu_tx_transfer(&tx, &f->m[0], 2, TU_BRAND_COFFEE, f->m[3].pk, 991);
  txs[1].len = tu_tx_bytes(raw[1], sizeof raw[1], &tx);
  txs[1].p = raw[1];
  uint8_t id[32];
  cairn_tx_id_bytes(id, txs[1].p, txs[1].len);
  cairn_hex_encode(hex, sizeof hex, id, 32);
  snprintf(want, sizeof want, "block 2 tx 1 (txid %s): insufficient_balance",
           hex);
  forge_header(fb, r.c, &f->vk, txs, 2);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_BLOCK_TX, want);
  assert_int_equal(store_balance(r.s, &f->m[3], TU_BRAND_COFFEE), 0);
  assert_int_equal(store_balance(r.s, &f->m[0], TU_BRAND_COFFEE), 1000);
  /* A bad signature (Merkle root computed over the altered bytes). */
  memcpy(raw[2], raw[0], txs[0].len);
  raw[2][txs[0].len - 1] ^= 1;
  txs[2].p = raw[2];
  txs[2].len = txs[0].len;
  forge_header(fb, r.c, &f->vk, &txs[2], 1);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_BLOCK_TX, "bad_signature");
  /* The chain's tx cache holds what verified (tx 0 and tx 1 of the first
   * block: an overspend is a rule, not a signature) and never the forgery,
   * which is refused again when it comes back. */
  uint8_t id0[32], id2[32];
  cairn_tx_id_bytes(id0, txs[0].p, txs[0].len);
  cairn_tx_id_bytes(id2, txs[2].p, txs[2].len);
  assert_true(cairn_cache_get(cairn_chain_tx_cache(r.c), id0, NULL));
  assert_true(cairn_cache_get(cairn_chain_tx_cache(r.c), id, NULL));
  assert_false(cairn_cache_get(cairn_chain_tx_cache(r.c), id2, NULL));
  forge_header(fb, r.c, &f->vk, &txs[2], 1);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_BLOCK_TX, "bad_signature");
  /* Bytes that do not decode as a transaction. */
  txs[2].len = txs[0].len - 1;
  forge_header(fb, r.c, &f->vk, &txs[2], 1);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_BLOCK_TX, "block 2 tx 0");
  /* The same transaction twice: a replay inside the block. */
  txs[1] = txs[0];
  forge_header(fb, r.c, &f->vk, txs, 2);
  expect_forged_err(&r, fb, &f->vk, CAIRN_ERR_BAD_BLOCK_TX, "sequence_replay");
  /* tx 0 alone is a valid block. */
  forge_header(fb, r.c, &f->vk, txs, 1);
  forge_seal(fb, &f->vk);
  assert_int_equal(cairn_chain_apply_block(r.c, fb->block, fb->block_len,
                                           fb->commit, fb->commit_len, NULL,
                                           0), CAIRN_OK);
  free(fb->block);
  assert_int_equal(store_balance(r.s, &f->m[3], TU_BRAND_COFFEE), 10);
  cairn_tip t;
  tip_of(r.c, &t);
  assert_int_equal(t.height, 2);
  free(fb);
  replica_close(&r);
}


/* ---- verification threads change nothing ---- */

#define PAR_N 400 /* well above CAIRN_CHAIN_VERIFY_PARALLEL_MIN */

typedef struct par_rejects {
  size_t n;
  size_t index[PAR_N];
  cairn_err err[PAR_N];
} par_rejects;

static void par_record(void *ctx, size_t index, cairn_err err) {
  par_rejects *r = ctx;
  assert_true(r->n < PAR_N);
  r->index[r->n] = index;
  r->err[r->n] = err;
  r->n++;
}

/* Proposing, checking and applying a block of PAR_N candidates with bad
 * signatures and sequence gaps gives the same refusals, in the same order,
 * and the same block bytes, whether signatures are checked on one thread
 * or several (propose and check overlap checking with execution). */
static void test_verify_threads_same_outcome(void **state) {
  cfx *f = *state;
  uint8_t(*raw)[CAIRN_TX_BYTES_MAX] = malloc(PAR_N * sizeof *raw);
  cairn_slice *sl = malloc(PAR_N * sizeof *sl);
  assert_non_null(raw);
  assert_non_null(sl);
  uint64_t seq[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < PAR_N; i++) {
    uint32_t brand = 1 + (uint32_t)(i % 3);
    cairn_tx tx;
    tu_tx_issue(&tx, &f->iss[brand], ++seq[brand], brand, f->m[i % 4].pk,
                1 + i);
    sl[i].len = tu_tx_bytes(raw[i], CAIRN_TX_BYTES_MAX, &tx);
    sl[i].p = raw[i];
    /* Bad signatures at 100 and 250 (the coffee issuer's and pizza's later
     * transactions then fail with sequence gaps); a gap of its own at 350. */
    if (i == 100 || i == 250) raw[i][sl[i].len - 1] ^= 0x01;
  }
  cairn_tx gap;
  tu_tx_issue(&gap, &f->iss[3], seq[3] + 7, 3, f->m[0].pk, 5);
  sl[350].len = tu_tx_bytes(raw[350], CAIRN_TX_BYTES_MAX, &gap);
  cairn_proposal *p[2] = {NULL, NULL};
  par_rejects *rej = calloc(2, sizeof *rej);
  assert_non_null(rej);
  uint8_t pk[32];
  cairn_chain_proposer(f->c, 0, pk);
  for (int k = 0; k < 2; k++) {
    cairn_chain_set_verify_threads(f->c, k == 0 ? 1 : 4);
    assert_int_equal(cairn_chain_propose(f->c, sl, PAR_N, 1000, pk,
                                         par_record, &rej[k], &p[k]),
                     CAIRN_OK);
  }
  assert_true(rej[0].n > 2);
  assert_int_equal(rej[0].n, rej[1].n);
  assert_memory_equal(rej[0].index, rej[1].index, rej[0].n * sizeof(size_t));
  assert_memory_equal(rej[0].err, rej[1].err, rej[0].n * sizeof(cairn_err));
  assert_int_equal(rej[0].index[0], 100);
  assert_int_equal(rej[0].err[0], CAIRN_ERR_BAD_SIG);
  assert_int_equal(p[0]->block_len, p[1]->block_len);
  assert_memory_equal(p[0]->block, p[1]->block, p[0]->block_len);
  assert_memory_equal(p[0]->app_hash, p[1]->app_hash, 32);
  /* A replica checks the block the same way on one thread and on four. */
  replica r;
  replica_open(&r, f->g);
  char why[256];
  for (int k = 0; k < 2; k++) {
    cairn_proposal *q = NULL;
    cairn_chain_set_verify_threads(r.c, k == 0 ? 1 : 4);
    assert_int_equal(cairn_chain_check_proposal(r.c, p[0]->block,
                                                p[0]->block_len, 0, &q, why,
                                                sizeof why),
                     CAIRN_OK);
    assert_memory_equal(q->app_hash, p[0]->app_hash, 32);
    cairn_proposal_free(q);
  }
  replica_close(&r);
  cairn_proposal_free(p[0]);
  cairn_proposal_free(p[1]);
  free(rej);
  free(sl);
  free(raw);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, cfx_setup, cfx_teardown)

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      T(test_verify_threads_same_outcome),
      T(test_open_creates_genesis),
      T(test_open_empty_without_genesis),
      T(test_reopen),
      T(test_propose_rejects),
      T(test_propose_commit),
      T(test_stale_proposal),
      T(test_demo_chain_and_reopen),
      T(test_propose_tx_limit),
      T(test_replay_matches),
      T(test_apply_header_rejections),
      T(test_apply_root_and_commit_rejections),
      T(test_apply_bad_tx),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
