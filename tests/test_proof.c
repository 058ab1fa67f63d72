/*
 * tests/test_proof.c - inclusion proofs: built from a real chain, encoded,
 * decoded and verified offline; every kind of tampering rejected with the
 * error the specification names.
 *
 * Two chains are built once with the real chain code (propose + commit on
 * a private store): the demo chain of testutil.h with one validator and
 * blocks of 1, 2, 3, 5 and 8 transactions covering every transaction type,
 * and a chain whose genesis has four validators of equal power. For every
 * transaction of the first chain a proof is built and must verify against
 * the genesis and against the block hash, before and after a binary and a
 * JSON round trip.
 *
 * Tampering tests do not hard-code the expected error of each byte: an
 * independent oracle (decoding the altered part with the plain decoders
 * and comparing its fields with the original) says which check must fire
 * first, and the verifier must report exactly that error. The seeded random
 * test flips random bits of random encoded proofs; against a genesis anchor
 * no single-bit change may survive. The seed is printed (override with
 * CAIRN_TEST_SEED).
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
#include <jansson.h>

#include "cairn/chain.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/merkle.h"
#include "cairn/proof.h"
#include "cairn/store.h"
#include "testutil.h"

#define DEMO_BLOCKS 5
#define MAX_BLOCK_TXS 8
#define MULTI_VALIDATORS 4
#define WHY_BYTES 1024

static const size_t demo_sizes[DEMO_BLOCKS] = {1, 2, 3, 5, 8};

/* A block and its commit as stored, with the ids of its transactions. */
typedef struct pblock {
  uint8_t *block;
  size_t block_len;
  uint8_t *commit;
  size_t commit_len;
  uint8_t hash[CAIRN_HASH_BYTES];
  size_t n_txs;
  uint8_t txids[MAX_BLOCK_TXS][CAIRN_HASH_BYTES];
} pblock;

/* One chain on its own store. */
typedef struct pchain {
  char dir[64];
  cairn_genesis *g;
  cairn_store *s;
  cairn_chain *c;
  tu_vkey vk[MULTI_VALIDATORS]; /* ascending pubkey order */
  size_t n_vk;
  size_t n_blocks;
  pblock blocks[DEMO_BLOCKS + 1]; /* by height; [0] unused */
} pchain;

typedef struct pfx {
  pchain demo;  /* one validator, blocks of 1, 2, 3, 5, 8 transactions */
  pchain multi; /* four validators of power 10, one block of 3 */
} pfx;

/* ---- building the chains ---- */

typedef struct batch {
  size_t n;
  uint8_t raw[MAX_BLOCK_TXS][CAIRN_TX_BYTES_MAX];
  cairn_slice sl[MAX_BLOCK_TXS];
} batch;

static void batch_add(batch *b, const cairn_tx *tx) {
  assert_true(b->n < MAX_BLOCK_TXS);
  b->sl[b->n].len = tu_tx_bytes(b->raw[b->n], sizeof b->raw[0], tx);
  b->sl[b->n].p = b->raw[b->n];
  b->n++;
}

static void reject_fail(void *ctx, size_t index, cairn_err err) {
  (void)ctx;
  fail_msg("candidate %zu rejected: %s", index, cairn_errname(err));
}

/* A commit for (height, hash) by the first n_sign keys of ch. */
static void sign_commit(cairn_commit *cm, const pchain *ch, uint64_t height,
                        const uint8_t hash[32], size_t n_sign) {
  memset(cm, 0, sizeof *cm);
  cm->height = height;
  memcpy(cm->block_hash, hash, CAIRN_HASH_BYTES);
  for (size_t i = 0; i < n_sign; i++) {
    cairn_vote v;
    memset(&v, 0, sizeof v);
    v.type = CAIRN_VOTE_PRECOMMIT;
    v.height = height;
    memcpy(v.block_hash, hash, CAIRN_HASH_BYTES);
    tu_check("vote_sign", cairn_vote_sign(&v, (const uint8_t *)TU_CHAIN_ID,
                                          strlen(TU_CHAIN_ID), ch->vk[i].sk));
    tu_check("commit_add", cairn_commit_add(cm, v.validator, v.sig));
  }
}

static void read_block(pchain *ch, uint64_t height) {
  cairn_rtxn *r = NULL;
  const uint8_t *b, *c;
  size_t bl, cl;
  pblock *pb = &ch->blocks[height];
  assert_int_equal(cairn_store_read_begin(ch->s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_block(r, height, &b, &bl, &c, &cl), CAIRN_OK);
  pb->block = malloc(bl);
  pb->commit = malloc(cl);
  assert_non_null(pb->block);
  assert_non_null(pb->commit);
  memcpy(pb->block, b, bl);
  memcpy(pb->commit, c, cl);
  pb->block_len = bl;
  pb->commit_len = cl;
  cairn_store_read_end(r);
}

/* Propose the batch at tip+1, commit it with the first n_sign keys, and
 * keep the stored block. */
static void add_block(pchain *ch, const batch *b, size_t n_sign) {
  cairn_proposal *p = NULL;
  cairn_commit cm;
  cairn_tip t;
  cairn_chain_tip(ch->c, &t);
  assert_int_equal(cairn_chain_propose(ch->c, b->sl, b->n, t.time_ms + 1000,
                                       ch->vk[0].pk, reject_fail, NULL, &p),
                   CAIRN_OK);
  assert_int_equal(p->header.tx_count, b->n);
  sign_commit(&cm, ch, p->header.height, p->hash, n_sign);
  assert_int_equal(cairn_chain_commit_proposal(ch->c, p, &cm), CAIRN_OK);
  uint64_t h = p->header.height;
  pblock *pb = &ch->blocks[h];
  memcpy(pb->hash, p->hash, CAIRN_HASH_BYTES);
  pb->n_txs = b->n;
  for (size_t i = 0; i < b->n; i++) {
    cairn_tx_id_bytes(pb->txids[i], b->sl[i].p, b->sl[i].len);
  }
  cairn_proposal_free(p);
  read_block(ch, h);
  ch->n_blocks = h;
}

static void chain_open(pchain *ch) {
  tu_tmpdir(ch->dir, sizeof ch->dir);
  ch->s = tu_store_open(ch->dir);
  assert_int_equal(cairn_chain_open(&ch->c, ch->s, ch->g), CAIRN_OK);
}

static void chain_close(pchain *ch) {
  for (size_t h = 1; h <= ch->n_blocks; h++) {
    free(ch->blocks[h].block);
    free(ch->blocks[h].commit);
  }
  cairn_chain_close(ch->c);
  cairn_store_close(ch->s);
  tu_rmtree(ch->dir);
  free(ch->g);
}

/* The demo chain: every transaction type, blocks of 1, 2, 3, 5, 8. */
static void build_demo(pchain *ch) {
  tu_key iss[4], m[8];
  cairn_tx tx;
  uint8_t coupon[32];
  batch *b = calloc(1, sizeof *b);
  assert_non_null(b);
  for (uint32_t i = 1; i <= 3; i++) tu_issuer(&iss[i], i);
  for (uint32_t i = 0; i < 8; i++) tu_member(&m[i], i);
  tu_tx_issue(&tx, &iss[1], 1, TU_BRAND_COFFEE, m[0].pk, 1000);
  batch_add(b, &tx);
  add_block(ch, b, 1);
  b->n = 0;
  tu_tx_issue(&tx, &iss[2], 1, TU_BRAND_PIZZA, m[1].pk, 500);
  batch_add(b, &tx);
  tu_tx_issue(&tx, &iss[3], 1, TU_BRAND_BOOKS, m[2].pk, 50);
  batch_add(b, &tx);
  add_block(ch, b, 1);
  b->n = 0;
  tu_tx_transfer(&tx, &m[0], 1, TU_BRAND_COFFEE, m[1].pk, 100);
  batch_add(b, &tx);
  tu_tx_coupon_issue(&tx, &iss[1], 2, TU_BRAND_COFFEE, m[0].pk, 100, true);
  tu_txid(coupon, &tx);
  batch_add(b, &tx);
  tu_tx_redeem(&tx, &m[1], 1, TU_BRAND_PIZZA, 50, "order-1");
  batch_add(b, &tx);
  add_block(ch, b, 1);
  b->n = 0;
  tu_tx_coupon_transfer(&tx, &m[0], 2, coupon, m[2].pk);
  batch_add(b, &tx);
  tu_tx_issue(&tx, &iss[1], 3, TU_BRAND_COFFEE, m[3].pk, 30);
  batch_add(b, &tx);
  tu_tx_transfer(&tx, &m[1], 2, TU_BRAND_COFFEE, m[3].pk, 10);
  batch_add(b, &tx);
  tu_tx_redeem(&tx, &m[2], 1, TU_BRAND_BOOKS, 5, "order-2");
  batch_add(b, &tx);
  tu_tx_issue(&tx, &iss[2], 2, TU_BRAND_PIZZA, m[0].pk, 20);
  batch_add(b, &tx);
  add_block(ch, b, 1);
  b->n = 0;
  tu_tx_coupon_redeem(&tx, &m[2], 2, coupon, TU_BRAND_COFFEE, "order-3");
  batch_add(b, &tx);
  for (uint32_t i = 0; i < 7; i++) {
    tu_tx_issue(&tx, &iss[1], 4 + i, TU_BRAND_COFFEE, m[i].pk, 1 + i);
    batch_add(b, &tx);
  }
  add_block(ch, b, 1);
  free(b);
  for (size_t h = 1; h <= DEMO_BLOCKS; h++) {
    assert_int_equal(ch->blocks[h].n_txs, demo_sizes[h - 1]);
  }
}

static int vkey_cmp(const void *a, const void *b) {
  return memcmp(((const tu_vkey *)a)->pk, ((const tu_vkey *)b)->pk, 32);
}

/* The demo genesis with four validators of power 10 instead of one. */
static void multi_genesis(pchain *ch) {
  tu_genesis(ch->g);
  for (uint32_t i = 0; i < MULTI_VALIDATORS; i++) tu_validator(&ch->vk[i], i);
  qsort(ch->vk, MULTI_VALIDATORS, sizeof ch->vk[0], vkey_cmp);
  cairn_valset *vs = &ch->g->validators;
  memset(vs, 0, sizeof *vs);
  vs->n = MULTI_VALIDATORS;
  for (uint32_t i = 0; i < MULTI_VALIDATORS; i++) {
    memcpy(vs->v[i].pubkey, ch->vk[i].pk, 32);
    vs->v[i].power = 10;
    vs->v[i].name_len = 4;
    snprintf(vs->v[i].name, sizeof vs->v[i].name, "val%u", (unsigned)i);
  }
  ch->n_vk = MULTI_VALIDATORS;
  char why[256];
  tu_check("genesis_check", cairn_genesis_check(ch->g, why, sizeof why));
}

static int group_setup(void **state) {
  pfx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->demo.g = malloc(sizeof *f->demo.g);
  f->multi.g = malloc(sizeof *f->multi.g);
  assert_non_null(f->demo.g);
  assert_non_null(f->multi.g);
  tu_genesis(f->demo.g);
  tu_validator(&f->demo.vk[0], 0);
  f->demo.n_vk = 1;
  chain_open(&f->demo);
  build_demo(&f->demo);
  multi_genesis(&f->multi);
  chain_open(&f->multi);
  batch *b = calloc(1, sizeof *b);
  assert_non_null(b);
  tu_key iss, m;
  cairn_tx tx;
  tu_issuer(&iss, TU_BRAND_COFFEE);
  for (uint32_t i = 0; i < 3; i++) {
    tu_member(&m, i);
    tu_tx_issue(&tx, &iss, 1 + i, TU_BRAND_COFFEE, m.pk, 10 + i);
    batch_add(b, &tx);
  }
  add_block(&f->multi, b, 3); /* 30 of 40: enough */
  free(b);
  *state = f;
  return 0;
}

static int group_teardown(void **state) {
  pfx *f = *state;
  chain_close(&f->demo);
  chain_close(&f->multi);
  free(f);
  return 0;
}

/* ---- helpers ---- */

static cairn_proof *proof_new(void) {
  cairn_proof *p = calloc(1, sizeof *p);
  assert_non_null(p);
  return p;
}

/* The proof of transaction i of block h of ch. */
static cairn_proof *proof_of(const pchain *ch, uint64_t h, size_t i) {
  const pblock *pb = &ch->blocks[h];
  cairn_proof *p = proof_new();
  assert_int_equal(cairn_proof_build(p, pb->block, pb->block_len, pb->commit,
                                     pb->commit_len, &ch->g->validators,
                                     pb->txids[i]),
                   CAIRN_OK);
  return p;
}

static cairn_proof *proof_copy(const cairn_proof *p) {
  cairn_proof *q = proof_new();
  memcpy(q, p, sizeof *q);
  return q;
}

static bool all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return false;
  }
  return true;
}

/* Verify against genesis g (or, if NULL, the block hash bh); on failure
 * the result must be zeroed. why receives the sentence. */
static cairn_err verify_with(const cairn_proof *p, const cairn_genesis *g,
                             const uint8_t *bh, cairn_proof_result *res,
                             char *why) {
  cairn_proof_anchor a = {.genesis = g, .block_hash = g ? NULL : bh};
  cairn_err err = cairn_proof_verify(res, p, &a, why, WHY_BYTES);
  if (err != CAIRN_OK) assert_true(all_zero(res, sizeof *res));
  return err;
}

static cairn_err verify_g(const cairn_proof *p, const cairn_genesis *g) {
  cairn_proof_result res;
  char why[WHY_BYTES];
  return verify_with(p, g, NULL, &res, why);
}

static cairn_err verify_h(const cairn_proof *p, const uint8_t bh[32]) {
  cairn_proof_result res;
  char why[WHY_BYTES];
  return verify_with(p, NULL, bh, &res, why);
}

/* Expect err against the genesis and why to contain each given string. */
static void expect_g(const cairn_proof *p, const cairn_genesis *g,
                     cairn_err want, const char *s1, const char *s2) {
  cairn_proof_result res;
  char why[WHY_BYTES];
  cairn_err err = verify_with(p, g, NULL, &res, why);
  if (err != want) {
    fail_msg("expected %s, got %s: %s", cairn_errname(want),
             cairn_errname(err), why);
  }
  if (s1 != NULL && strstr(why, s1) == NULL) fail_msg("'%s' not in: %s", s1,
                                                      why);
  if (s2 != NULL && strstr(why, s2) == NULL) fail_msg("'%s' not in: %s", s2,
                                                      why);
}

static size_t encode(const cairn_proof *p, uint8_t *buf, size_t cap) {
  size_t len = 0;
  assert_int_equal(cairn_proof_encode(buf, cap, &len, p), CAIRN_OK);
  return len;
}

static char *to_json(const cairn_proof *p) {
  char *text = NULL;
  assert_int_equal(cairn_proof_to_json(p, &text), CAIRN_OK);
  assert_non_null(text);
  return text;
}

/* ---- round trips ---- */

/* Everything a verified proof reports, checked against the chain. */
static void check_result(const cairn_proof_result *res, const pchain *ch,
                         uint64_t h, size_t i) {
  const pblock *pb = &ch->blocks[h];
  assert_memory_equal(res->txid, pb->txids[i], 32);
  assert_memory_equal(res->block_hash, pb->hash, 32);
  assert_int_equal(res->header.height, h);
  assert_int_equal(res->header.tx_count, pb->n_txs);
  assert_int_equal(res->total_power, ch->g->validators.total_power);
  assert_true(res->signed_power * 3 > res->total_power * 2);
  uint8_t id[32];
  tu_check("tx_id", cairn_tx_id(id, &res->tx));
  assert_memory_equal(id, pb->txids[i], 32);
}

static void verify_both_ok(const cairn_proof *p, const pchain *ch, uint64_t h,
                           size_t i) {
  cairn_proof_result res;
  char why[WHY_BYTES];
  cairn_err err = verify_with(p, ch->g, NULL, &res, why);
  if (err != CAIRN_OK) fail_msg("block %llu tx %zu: %s: %s",
                                (unsigned long long)h, i, cairn_errname(err),
                                why);
  check_result(&res, ch, h, i);
  err = verify_with(p, NULL, ch->blocks[h].hash, &res, why);
  if (err != CAIRN_OK) fail_msg("block %llu tx %zu (hash anchor): %s",
                                (unsigned long long)h, i, why);
  check_result(&res, ch, h, i);
}

static void round_trip_one(const pchain *ch, uint64_t h, size_t i,
                           uint8_t *buf, uint8_t *buf2) {
  char why[WHY_BYTES];
  cairn_proof *p = proof_of(ch, h, i);
  assert_int_equal(p->position, i);
  assert_int_equal(p->tx_count, ch->blocks[h].n_txs);
  verify_both_ok(p, ch, h, i);
  /* binary */
  size_t len = encode(p, buf, CAIRN_PROOF_BYTES_MAX);
  cairn_proof *q = proof_new();
  cairn_err err = cairn_proof_decode(q, buf, len, why, sizeof why);
  if (err != CAIRN_OK) fail_msg("decode: %s", why);
  assert_int_equal(encode(q, buf2, CAIRN_PROOF_BYTES_MAX), len);
  assert_memory_equal(buf, buf2, len);
  verify_both_ok(q, ch, h, i);
  /* JSON */
  char *text = to_json(p);
  memset(q, 0xa5, sizeof *q);
  err = cairn_proof_from_json(q, text, strlen(text), why, sizeof why);
  if (err != CAIRN_OK) fail_msg("from_json: %s", why);
  assert_int_equal(encode(q, buf2, CAIRN_PROOF_BYTES_MAX), len);
  assert_memory_equal(buf, buf2, len);
  verify_both_ok(q, ch, h, i);
  char *again = to_json(q);
  assert_string_equal(text, again);
  free(again);
  free(text);
  free(q);
  free(p);
}

static void test_round_trip_every_tx(void **state) {
  pfx *f = *state;
  uint8_t *buf = malloc(CAIRN_PROOF_BYTES_MAX);
  uint8_t *buf2 = malloc(CAIRN_PROOF_BYTES_MAX);
  assert_non_null(buf);
  assert_non_null(buf2);
  size_t n = 0;
  for (uint64_t h = 1; h <= f->demo.n_blocks; h++) {
    for (size_t i = 0; i < f->demo.blocks[h].n_txs; i++, n++) {
      round_trip_one(&f->demo, h, i, buf, buf2);
    }
  }
  assert_int_equal(n, 1 + 2 + 3 + 5 + 8);
  for (size_t i = 0; i < f->multi.blocks[1].n_txs; i++) {
    round_trip_one(&f->multi, 1, i, buf, buf2);
  }
  free(buf);
  free(buf2);
}

static void test_build_rejects(void **state) {
  pfx *f = *state;
  const pblock *pb = &f->demo.blocks[5];
  cairn_proof *p = proof_new();
  /* A transaction of another block is not in this one. */
  assert_int_equal(cairn_proof_build(p, pb->block, pb->block_len, pb->commit,
                                     pb->commit_len, &f->demo.g->validators,
                                     f->demo.blocks[4].txids[0]),
                   CAIRN_ERR_NOT_FOUND);
  assert_true(all_zero(p, sizeof *p));
  /* Block bytes that do not decode. */
  assert_int_equal(cairn_proof_build(p, pb->block, pb->block_len - 1,
                                     pb->commit, pb->commit_len,
                                     &f->demo.g->validators, pb->txids[0]),
                   CAIRN_ERR_TRUNCATED);
  assert_true(all_zero(p, sizeof *p));
  /* A commit too long for any validator set. */
  uint8_t *big = calloc(1, CAIRN_COMMIT_BYTES_MAX + 1);
  assert_non_null(big);
  assert_int_equal(cairn_proof_build(p, pb->block, pb->block_len, big,
                                     CAIRN_COMMIT_BYTES_MAX + 1,
                                     &f->demo.g->validators, pb->txids[0]),
                   CAIRN_ERR_OVERSIZE);
  free(big);
  free(p);
}

/* ---- tampering: the transaction, the path, position and size ---- */

/* What the verifier must say about tampered transaction bytes: the
 * decoder's error, else the Merkle path no longer matches. */
static cairn_err tx_oracle(const uint8_t *tx, size_t len) {
  cairn_tx t;
  uint8_t again[CAIRN_TX_BYTES_MAX];
  size_t n = 0;
  cairn_err err = cairn_tx_decode(&t, tx, len);
  if (err != CAIRN_OK) return err;
  tu_check("tx_encode", cairn_tx_encode(again, sizeof again, &n, &t));
  if (n != len || memcmp(again, tx, len) != 0) return CAIRN_ERR_NONCANONICAL;
  return CAIRN_ERR_BAD_PROOF;
}

static void tamper_tx_bytes(const pchain *ch, uint64_t h, size_t i) {
  cairn_proof *p = proof_of(ch, h, i);
  cairn_proof *q = proof_copy(p);
  size_t bad_proof = 0;
  for (size_t k = 0; k < p->tx_len; k++) {
    for (int bit = 0; bit < 8; bit += 7) {
      q->tx[k] ^= (uint8_t)(1u << bit);
      cairn_err want = tx_oracle(q->tx, q->tx_len);
      cairn_err got = verify_g(q, ch->g);
      if (got != want) fail_msg("tx byte %zu bit %d: want %s, got %s", k, bit,
                                cairn_errname(want), cairn_errname(got));
      assert_int_equal(verify_h(q, ch->blocks[h].hash), want);
      bad_proof += want == CAIRN_ERR_BAD_PROOF;
      q->tx[k] ^= (uint8_t)(1u << bit);
    }
  }
  assert_true(bad_proof > p->tx_len / 2); /* most flips decode fine */
  assert_memory_equal(p, q, sizeof *p);
  assert_int_equal(verify_g(q, ch->g), CAIRN_OK);
  free(q);
  free(p);
}

static void test_tampered_tx(void **state) {
  pfx *f = *state;
  tamper_tx_bytes(&f->demo, 1, 0); /* alone in its block: empty path */
  tamper_tx_bytes(&f->demo, 3, 1); /* the coupon issue */
  tamper_tx_bytes(&f->demo, 5, 7); /* last of 8 */
  /* Even a flip inside the signature changes the txid, so the audit path
   * catches it before the signature is looked at (test_chain_id_mismatch
   * reaches the signature check with a forged block). */
  cairn_proof *p = proof_of(&f->demo, 2, 0);
  p->tx[p->tx_len - 1] ^= 1;
  expect_g(p, f->demo.g, CAIRN_ERR_BAD_PROOF, "does not lead", NULL);
  p->tx[p->tx_len - 1] ^= 1;
  p->tx_len = 0;
  expect_g(p, f->demo.g, CAIRN_ERR_RANGE, "tx: empty", NULL);
  free(p);
}

static void test_tampered_path(void **state) {
  pfx *f = *state;
  for (uint64_t h = 2; h <= f->demo.n_blocks; h++) {
    const pblock *pb = &f->demo.blocks[h];
    for (size_t i = 0; i < pb->n_txs; i++) {
      cairn_proof *p = proof_of(&f->demo, h, i);
      assert_true(p->path_len >= 1);
      for (size_t k = 0; k < p->path_len; k++) {
        for (size_t b = 0; b < CAIRN_HASH_BYTES; b++) {
          p->path[k][b] ^= 0x10;
          assert_int_equal(verify_g(p, f->demo.g), CAIRN_ERR_BAD_PROOF);
          assert_int_equal(verify_h(p, pb->hash), CAIRN_ERR_BAD_PROOF);
          p->path[k][b] ^= 0x10;
        }
      }
      /* A node removed, or one added. */
      p->path_len--;
      expect_g(p, f->demo.g, CAIRN_ERR_BAD_PROOF, "nodes but a transaction",
               NULL);
      p->path_len += 2;
      memset(p->path[p->path_len - 1], 0x42, 32);
      expect_g(p, f->demo.g, CAIRN_ERR_BAD_PROOF, "nodes but a transaction",
               NULL);
      p->path_len--;
      assert_int_equal(verify_g(p, f->demo.g), CAIRN_OK);
      free(p);
    }
  }
  /* Swapping two nodes of an 8-leaf path. */
  cairn_proof *p = proof_of(&f->demo, 5, 3);
  assert_int_equal(p->path_len, 3);
  uint8_t t[32];
  memcpy(t, p->path[0], 32);
  memcpy(p->path[0], p->path[1], 32);
  memcpy(p->path[1], t, 32);
  expect_g(p, f->demo.g, CAIRN_ERR_BAD_PROOF, "does not lead", NULL);
  free(p);
}

static void test_tampered_position_and_size(void **state) {
  pfx *f = *state;
  const cairn_genesis *g = f->demo.g;
  char why[WHY_BYTES];
  cairn_proof *p = proof_of(&f->demo, 5, 3);
  p->position = 4;
  expect_g(p, g, CAIRN_ERR_BAD_PROOF, NULL, NULL);
  p->position = 2;
  expect_g(p, g, CAIRN_ERR_BAD_PROOF, NULL, NULL);
  p->position = 3;
  /* The tree size must be the header's. */
  p->tx_count = 9;
  expect_g(p, g, CAIRN_ERR_BAD_PROOF, "holds 9 transactions", "says 8");
  p->tx_count = 7;
  expect_g(p, g, CAIRN_ERR_BAD_PROOF, "holds 7 transactions", "says 8");
  /* Structural limits. */
  p->tx_count = 3;
  expect_g(p, g, CAIRN_ERR_RANGE, "position: 3 is not below tx_count 3",
           NULL);
  p->tx_count = 0;
  expect_g(p, g, CAIRN_ERR_RANGE, "tx_count", NULL);
  p->tx_count = CAIRN_BLOCK_TXS_MAX + 1;
  expect_g(p, g, CAIRN_ERR_RANGE, "tx_count", NULL);
  p->tx_count = 8;
  assert_int_equal(cairn_proof_check(p, why, sizeof why), CAIRN_OK);
  /* The last transaction of 8, moved to 7 of 8 and to 8 of 9. */
  cairn_proof *q = proof_of(&f->demo, 5, 7);
  q->position = 6;
  expect_g(q, g, CAIRN_ERR_BAD_PROOF, NULL, NULL);
  q->position = 8;
  expect_g(q, g, CAIRN_ERR_RANGE, NULL, NULL);
  q->tx_count = 9;
  expect_g(q, g, CAIRN_ERR_BAD_PROOF, NULL, NULL);
  /* The first of 2 claimed as the only one (empty path). */
  cairn_proof *r = proof_of(&f->demo, 2, 0);
  r->tx_count = 1;
  r->path_len = 0;
  expect_g(r, g, CAIRN_ERR_BAD_PROOF, "holds 1 transactions", "says 2");
  free(r);
  free(q);
  free(p);
}

/* ---- tampering: header, commit, validator set ---- */

/* Which check a tampered header trips first (the order of
 * specs/proof.md): decoding, tree size, tx_root, chain id, validator-set
 * hash, and otherwise the block hash the commit signed. */
static cairn_err header_oracle(const cairn_proof *orig, const uint8_t *hb,
                               size_t len) {
  cairn_block_header a, b;
  uint8_t again[CAIRN_BLOCK_HEADER_BYTES_MAX];
  size_t n = 0;
  tu_check("header", cairn_block_header_decode(&a, orig->header,
                                               orig->header_len));
  cairn_err err = cairn_block_header_decode(&b, hb, len);
  if (err != CAIRN_OK) return err;
  tu_check("encode", cairn_block_header_encode(again, sizeof again, &n, &b));
  if (n != len || memcmp(again, hb, len) != 0) return CAIRN_ERR_NONCANONICAL;
  if (a.tx_count != b.tx_count) return CAIRN_ERR_BAD_PROOF;
  if (memcmp(a.tx_root, b.tx_root, 32) != 0) return CAIRN_ERR_BAD_PROOF;
  if (a.chain_id_len != b.chain_id_len ||
      memcmp(a.chain_id, b.chain_id, a.chain_id_len) != 0) {
    return CAIRN_ERR_CHAIN_ID;
  }
  if (memcmp(a.validators_hash, b.validators_hash, 32) != 0) {
    return CAIRN_ERR_BAD_VALSET;
  }
  return CAIRN_ERR_BAD_COMMIT;
}

static void test_tampered_header(void **state) {
  pfx *f = *state;
  cairn_proof *p = proof_of(&f->demo, 4, 2);
  cairn_proof *q = proof_copy(p);
  size_t seen[5] = {0};
  for (size_t k = 0; k < p->header_len; k++) {
    for (int bit = 0; bit < 8; bit += 7) {
      q->header[k] ^= (uint8_t)(1u << bit);
      cairn_err want = header_oracle(p, q->header, q->header_len);
      cairn_err got = verify_g(q, f->demo.g);
      if (got != want) fail_msg("header byte %zu bit %d: want %s, got %s", k,
                                bit, cairn_errname(want), cairn_errname(got));
      assert_int_equal(verify_h(q, f->demo.blocks[4].hash), want);
      seen[0] += want == CAIRN_ERR_BAD_PROOF;
      seen[1] += want == CAIRN_ERR_CHAIN_ID;
      seen[2] += want == CAIRN_ERR_BAD_VALSET;
      seen[3] += want == CAIRN_ERR_BAD_COMMIT;
      seen[4] += want == CAIRN_ERR_VERSION;
      q->header[k] ^= (uint8_t)(1u << bit);
    }
  }
  for (size_t i = 0; i < 5; i++) assert_true(seen[i] > 0);
  assert_memory_equal(p, q, sizeof *p);
  free(q);
  free(p);
}

static cairn_err commit_oracle(const uint8_t *cb, size_t len) {
  cairn_commit c;
  cairn_err err = cairn_commit_decode(&c, cb, len);
  return err != CAIRN_OK ? err : CAIRN_ERR_BAD_COMMIT;
}

static void test_tampered_commit(void **state) {
  pfx *f = *state;
  const pchain *ch = &f->multi; /* four signatures' worth of bytes */
  cairn_proof *p = proof_of(ch, 1, 1);
  cairn_proof *q = proof_copy(p);
  size_t bad_commit = 0;
  for (size_t k = 0; k < p->commit_len; k++) {
    q->commit[k] ^= 0x01;
    cairn_err want = commit_oracle(q->commit, q->commit_len);
    cairn_err got = verify_g(q, ch->g);
    if (got != want) fail_msg("commit byte %zu: want %s, got %s", k,
                              cairn_errname(want), cairn_errname(got));
    assert_int_equal(verify_h(q, ch->blocks[1].hash), want);
    bad_commit += want == CAIRN_ERR_BAD_COMMIT;
    q->commit[k] ^= 0x01;
  }
  assert_true(bad_commit > p->commit_len / 2);
  /* Specific reasons. */
  q->commit[7] ^= 0x02; /* height 1 -> 3 */
  expect_g(q, ch->g, CAIRN_ERR_BAD_COMMIT, "for height 3", "at height 1");
  q->commit[7] ^= 0x02;
  q->commit[12] ^= 0x01; /* block hash */
  expect_g(q, ch->g, CAIRN_ERR_BAD_COMMIT, "the commit is for block",
           "header hashes to");
  q->commit[12] ^= 0x01;
  q->commit[11] ^= 0x01; /* round: every signature is now over another vote */
  expect_g(q, ch->g, CAIRN_ERR_BAD_COMMIT, "does not verify", "val");
  q->commit[11] ^= 0x01;
  assert_memory_equal(p, q, sizeof *p);
  assert_int_equal(verify_g(q, ch->g), CAIRN_OK);
  free(q);
  free(p);
}

/* Re-encode commit cm into p. */
static void set_commit(cairn_proof *p, const cairn_commit *cm) {
  tu_check("commit_encode", cairn_commit_encode(p->commit, sizeof p->commit,
                                                &p->commit_len, cm));
}

static void test_commit_stake(void **state) {
  pfx *f = *state;
  pchain *ch = &f->multi;
  const pblock *pb = &ch->blocks[1];
  cairn_proof_result res;
  char why[WHY_BYTES];
  cairn_commit cm;
  cairn_proof *p = proof_of(ch, 1, 0);
  assert_int_equal(verify_with(p, ch->g, NULL, &res, why), CAIRN_OK);
  assert_int_equal(res.signed_power, 30);
  assert_int_equal(res.total_power, 40);
  assert_int_equal(res.n_signers, 3);
  /* Four of four. */
  sign_commit(&cm, ch, 1, pb->hash, 4);
  set_commit(p, &cm);
  assert_int_equal(verify_with(p, ch->g, NULL, &res, why), CAIRN_OK);
  assert_int_equal(res.signed_power, 40);
  /* Two of four: 20 of 40 is not more than 2/3. */
  sign_commit(&cm, ch, 1, pb->hash, 2);
  set_commit(p, &cm);
  expect_g(p, ch->g, CAIRN_ERR_BAD_COMMIT, "hold 20 of 40 stake",
           "at least 27");
  assert_int_equal(verify_h(p, pb->hash), CAIRN_ERR_BAD_COMMIT);
  /* One of four. */
  sign_commit(&cm, ch, 1, pb->hash, 1);
  set_commit(p, &cm);
  expect_g(p, ch->g, CAIRN_ERR_BAD_COMMIT, "hold 10 of 40", NULL);
  /* Three signatures, one by a stranger. */
  tu_vkey stranger;
  tu_validator(&stranger, 9);
  sign_commit(&cm, ch, 1, pb->hash, 3);
  cairn_vote v;
  memset(&v, 0, sizeof v);
  v.type = CAIRN_VOTE_PRECOMMIT;
  v.height = 1;
  memcpy(v.block_hash, pb->hash, 32);
  tu_check("sign", cairn_vote_sign(&v, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), stranger.sk));
  tu_check("add", cairn_commit_add(&cm, v.validator, v.sig));
  set_commit(p, &cm);
  expect_g(p, ch->g, CAIRN_ERR_BAD_COMMIT, "is not in the validator set",
           NULL);
  /* A prevote is not a precommit. */
  sign_commit(&cm, ch, 1, pb->hash, 3);
  v.type = CAIRN_VOTE_PREVOTE;
  tu_check("sign", cairn_vote_sign(&v, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), ch->vk[3].sk));
  tu_check("add", cairn_commit_add(&cm, v.validator, v.sig));
  set_commit(p, &cm);
  expect_g(p, ch->g, CAIRN_ERR_BAD_COMMIT, "val3", "does not verify");
  free(p);
}

static void test_tampered_validators(void **state) {
  pfx *f = *state;
  const pchain *ch = &f->multi;
  const uint8_t *bh = ch->blocks[1].hash;
  cairn_proof *p = proof_of(ch, 1, 2);
  cairn_proof *q = proof_copy(p);
  /* A changed power changes the set's hash. */
  q->validators.v[1].power = 11;
  expect_g(q, ch->g, CAIRN_ERR_BAD_VALSET, "validators_hash", NULL);
  assert_int_equal(verify_h(q, bh), CAIRN_ERR_BAD_VALSET);
  /* An extra validator (appended: its key sorts last). */
  memcpy(q, p, sizeof *q);
  cairn_validator *x = &q->validators.v[4];
  memset(x->pubkey, 0xff, 32);
  x->power = 1;
  x->name_len = 5;
  memcpy(x->name, "extra", 6);
  q->validators.n = 5;
  expect_g(q, ch->g, CAIRN_ERR_BAD_VALSET, "validators_hash", NULL);
  assert_int_equal(verify_h(q, bh), CAIRN_ERR_BAD_VALSET);
  /* One validator fewer. */
  memcpy(q, p, sizeof *q);
  q->validators.n = 3;
  expect_g(q, ch->g, CAIRN_ERR_BAD_VALSET, NULL, NULL);
  /* Structure: order, power bounds, names, count. */
  memcpy(q, p, sizeof *q);
  cairn_validator t = q->validators.v[0];
  q->validators.v[0] = q->validators.v[1];
  q->validators.v[1] = t;
  expect_g(q, ch->g, CAIRN_ERR_NONCANONICAL, "validators[1].pubkey", NULL);
  memcpy(q, p, sizeof *q);
  q->validators.v[2].power = 0;
  expect_g(q, ch->g, CAIRN_ERR_RANGE, "validators[2].power", NULL);
  q->validators.v[2].power = CAIRN_TOTAL_POWER_MAX + 1;
  expect_g(q, ch->g, CAIRN_ERR_RANGE, "validators[2].power", NULL);
  memcpy(q, p, sizeof *q);
  q->validators.v[3].name[1] = '\n';
  expect_g(q, ch->g, CAIRN_ERR_RANGE, "validators[3].name", NULL);
  q->validators.v[3].name_len = 0;
  q->validators.v[3].name[0] = '\0';
  expect_g(q, ch->g, CAIRN_ERR_RANGE, "validators[3].name", NULL);
  memcpy(q, p, sizeof *q);
  q->validators.n = 0;
  expect_g(q, ch->g, CAIRN_ERR_RANGE, "validators", NULL);
  /* A renamed validator: names are not hashed, so only a genesis anchor
   * notices. */
  memcpy(q, p, sizeof *q);
  memcpy(q->validators.v[0].name, "evil", 4);
  expect_g(q, ch->g, CAIRN_ERR_BAD_VALSET, "named 'evil' in the proof",
           "'val0' in the trusted genesis");
  assert_int_equal(verify_h(q, bh), CAIRN_OK);
  free(q);
  free(p);
}

/* ---- anchors ---- */

static void test_wrong_anchor(void **state) {
  pfx *f = *state;
  const pchain *ch = &f->demo;
  char why[WHY_BYTES], hex_a[65], hex_b[65];
  cairn_proof_result res;
  cairn_proof *p = proof_of(ch, 3, 2);
  /* Another block's hash. */
  const uint8_t *other = ch->blocks[2].hash;
  assert_int_equal(verify_with(p, NULL, other, &res, why),
                   CAIRN_ERR_BAD_PROOF);
  cairn_hex_encode(hex_a, sizeof hex_a, ch->blocks[3].hash, 32);
  cairn_hex_encode(hex_b, sizeof hex_b, other, 32);
  assert_non_null(strstr(why, hex_a));
  assert_non_null(strstr(why, hex_b));
  /* Another chain id. */
  cairn_genesis *g = malloc(sizeof *g);
  assert_non_null(g);
  memcpy(g, ch->g, sizeof *g);
  memcpy(g->chain_id, "cairn-other", 12);
  g->chain_id_len = 11;
  expect_g(p, g, CAIRN_ERR_GENESIS_MISMATCH, "'cairn-test'", "'cairn-other'");
  /* Another validator set: the four-validator genesis. */
  expect_g(p, f->multi.g, CAIRN_ERR_BAD_VALSET, "1 members",
           "4 members");
  /* The same key with another power. */
  memcpy(g, ch->g, sizeof *g);
  g->validators.v[0].power = 11;
  g->validators.total_power = 11;
  expect_g(p, g, CAIRN_ERR_BAD_VALSET, "is not the trusted genesis's", NULL);
  /* A genesis that differs only in its brands: block 1 links to the real
   * genesis hash, so a proof at height 1 catches it; later blocks do not
   * (specs/proof.md: the genesis anchor fixes chain id and validators). */
  memcpy(g, ch->g, sizeof *g);
  g->brands[2].flags = CAIRN_BRAND_FLAG_TRANSFERABLE;
  cairn_proof *p1 = proof_of(ch, 1, 0);
  expect_g(p1, g, CAIRN_ERR_GENESIS_MISMATCH, "block 1 links to genesis",
           NULL);
  assert_int_equal(verify_g(p1, ch->g), CAIRN_OK);
  assert_int_equal(verify_g(p, g), CAIRN_OK);
  free(p1);
  free(g);
  free(p);
}

static void test_chain_id_mismatch(void **state) {
  pfx *f = *state;
  /* A transaction of another chain in an honest-looking block: only a
   * proof with a forged tx_root gets there, so build one by hand, signed
   * by the right validator, to reach the check. */
  const pchain *ch = &f->demo;
  cairn_proof *p = proof_of(ch, 1, 0);
  cairn_tx tx;
  tu_check("decode", cairn_tx_decode(&tx, p->tx, p->tx_len));
  tx.chain_id[0] = 'x';
  tu_key iss;
  tu_issuer(&iss, TU_BRAND_COFFEE);
  tu_tx_sign(&tx, &iss);
  p->tx_len = tu_tx_bytes(p->tx, sizeof p->tx, &tx);
  uint8_t id[32];
  cairn_tx_id_bytes(id, p->tx, p->tx_len);
  cairn_block_header h;
  tu_check("header", cairn_block_header_decode(&h, p->header, p->header_len));
  tu_check("root", cairn_merkle_root(h.tx_root, (const uint8_t(*)[32])&id, 1));
  tu_check("header", cairn_block_header_encode(p->header, sizeof p->header,
                                               &p->header_len, &h));
  uint8_t bh[32];
  tu_check("hash", cairn_block_hash(bh, &h));
  cairn_commit cm;
  tu_commit_sign(&cm, 1, bh, &ch->vk[0]);
  set_commit(p, &cm);
  expect_g(p, ch->g, CAIRN_ERR_CHAIN_ID, "'xairn-test'", "'cairn-test'");
  /* The same forgery with the transaction signed by someone else. */
  tx.chain_id[0] = 'c';
  tu_key m;
  tu_member(&m, 5);
  tu_tx_sign(&tx, &iss);
  memcpy(tx.sig, m.pk, 32); /* garbage signature */
  p->tx_len = tu_tx_bytes(p->tx, sizeof p->tx, &tx);
  cairn_tx_id_bytes(id, p->tx, p->tx_len);
  tu_check("root", cairn_merkle_root(h.tx_root, (const uint8_t(*)[32])&id, 1));
  tu_check("header", cairn_block_header_encode(p->header, sizeof p->header,
                                               &p->header_len, &h));
  tu_check("hash", cairn_block_hash(bh, &h));
  tu_commit_sign(&cm, 1, bh, &ch->vk[0]);
  set_commit(p, &cm);
  expect_g(p, ch->g, CAIRN_ERR_BAD_SIG, "signature by cairn1", NULL);
  /* With a good signature the forged block verifies against its own hash
   * (the anchor is what the verifier trusts) - and against the genesis,
   * because the single genesis validator signed it: a proof is only as
   * good as the validators. */
  tu_tx_sign(&tx, &iss);
  p->tx_len = tu_tx_bytes(p->tx, sizeof p->tx, &tx);
  cairn_tx_id_bytes(id, p->tx, p->tx_len);
  tu_check("root", cairn_merkle_root(h.tx_root, (const uint8_t(*)[32])&id, 1));
  tu_check("header", cairn_block_header_encode(p->header, sizeof p->header,
                                               &p->header_len, &h));
  tu_check("hash", cairn_block_hash(bh, &h));
  tu_commit_sign(&cm, 1, bh, &ch->vk[0]);
  set_commit(p, &cm);
  assert_int_equal(verify_g(p, ch->g), CAIRN_OK);
  assert_int_equal(verify_h(p, bh), CAIRN_OK);
  assert_int_equal(verify_h(p, ch->blocks[1].hash), CAIRN_ERR_BAD_PROOF);
  free(p);
}

/* ---- binary form ---- */

/* Offsets of the fields of an encoded proof. */
typedef struct offsets {
  size_t tx_len, position, tx_count, path_len, header_len, commit_len, vals;
} offsets;

static offsets offsets_of(const cairn_proof *p) {
  offsets o;
  o.tx_len = 1;
  o.position = o.tx_len + 4 + p->tx_len;
  o.tx_count = o.position + 4;
  o.path_len = o.tx_count + 4;
  o.header_len = o.path_len + 1 + 32 * p->path_len;
  o.commit_len = o.header_len + 1 + p->header_len;
  o.vals = o.commit_len + 4 + p->commit_len;
  return o;
}

static cairn_err decode_err(const uint8_t *buf, size_t len, char *why) {
  cairn_proof *q = proof_new();
  memset(q, 0x5a, sizeof *q);
  cairn_err err = cairn_proof_decode(q, buf, len, why, WHY_BYTES);
  if (err != CAIRN_OK) assert_true(all_zero(q, sizeof *q));
  free(q);
  return err;
}

static void expect_decode(const uint8_t *buf, size_t len, cairn_err want,
                          const char *s) {
  char why[WHY_BYTES];
  cairn_err err = decode_err(buf, len, why);
  if (err != want) fail_msg("decode: want %s, got %s: %s",
                            cairn_errname(want), cairn_errname(err), why);
  if (s != NULL && strstr(why, s) == NULL) fail_msg("'%s' not in: %s", s, why);
}

static void test_binary_rejects(void **state) {
  pfx *f = *state;
  cairn_proof *p = proof_of(&f->multi, 1, 2);
  uint8_t *buf = malloc(CAIRN_PROOF_BYTES_MAX + 16);
  uint8_t *b = malloc(CAIRN_PROOF_BYTES_MAX + 16);
  assert_non_null(buf);
  assert_non_null(b);
  size_t len = encode(p, buf, CAIRN_PROOF_BYTES_MAX);
  offsets o = offsets_of(p);
  assert_int_equal(o.vals + 2 + 4 * (32 + 8 + 1 + 4), len);
  /* Every proper prefix is truncated; one byte more is trailing. */
  for (size_t n = 0; n < len; n++) expect_decode(buf, n, CAIRN_ERR_TRUNCATED,
                                                 NULL);
  memcpy(b, buf, len);
  b[len] = 0;
  expect_decode(b, len + 1, CAIRN_ERR_TRAILING, NULL);
  expect_decode(b, CAIRN_PROOF_BYTES_MAX + 1, CAIRN_ERR_OVERSIZE, NULL);
#define PATCH(off, val, want, s)      \
  do {                                \
    memcpy(b, buf, len);              \
    b[(off)] = (uint8_t)(val);        \
    expect_decode(b, len, want, s);   \
  } while (0)
  PATCH(0, 2, CAIRN_ERR_VERSION, "version");
  PATCH(o.tx_len + 2, 0x04, CAIRN_ERR_OVERSIZE, "tx"); /* 1024+ bytes */
  PATCH(o.tx_count + 3, 2, CAIRN_ERR_RANGE,
        "position: 2 is not below tx_count 2");
  PATCH(o.tx_count + 3, 1, CAIRN_ERR_RANGE, "position");
  PATCH(o.tx_count + 3, 0, CAIRN_ERR_RANGE, "tx_count");
  PATCH(o.tx_count + 1, 0xff, CAIRN_ERR_RANGE, "tx_count");
  PATCH(o.path_len, CAIRN_MERKLE_PATH_MAX + 1, CAIRN_ERR_RANGE, "path: 33");
  PATCH(o.header_len, CAIRN_BLOCK_HEADER_BYTES_MAX + 1, CAIRN_ERR_RANGE,
        "header");
  PATCH(o.header_len + 1, 7, CAIRN_ERR_VERSION, "header: not a valid");
  PATCH(o.commit_len + 1, 0x01, CAIRN_ERR_OVERSIZE, "commit");
  PATCH(o.commit_len + 4 + 8 + 4 + 32 + 1, 0, CAIRN_ERR_RANGE,
        "commit: not a valid"); /* zero signatures */
  PATCH(o.vals + 1, 0, CAIRN_ERR_RANGE, "validators: 0 members");
  PATCH(o.vals, 1, CAIRN_ERR_RANGE, "validators: 260 members");
  PATCH(o.vals + 2 + 32 + 8, CAIRN_NAME_BYTES_MAX + 1, CAIRN_ERR_RANGE,
        "validators (name)");
  PATCH(o.vals + 2 + 32, 0x10, CAIRN_ERR_RANGE, "validators[0].power");
  PATCH(o.vals + 2 + 32 + 8 + 1, 0x01, CAIRN_ERR_RANGE,
        "validators[0].name");
  memcpy(b, buf, len); /* validator 1 with validator 0's key */
  memcpy(b + o.vals + 2 + 45, b + o.vals + 2, 32);
  expect_decode(b, len, CAIRN_ERR_NONCANONICAL, "validators[1].pubkey");
  /* The transaction bytes must decode as a transaction. */
  PATCH(o.tx_len + 4, 9, CAIRN_ERR_VERSION, "tx: not a valid transaction");
  PATCH(o.tx_len + 4 + 1, CAIRN_TX_TYPE_MAX + 1, CAIRN_ERR_BAD_TYPE,
        "tx: not a valid");
#undef PATCH
  free(b);
  free(buf);
  free(p);
}

/* ---- JSON form ---- */

static char *json_edit(const char *text, void (*edit)(json_t *root)) {
  json_error_t jerr;
  json_t *root = json_loads(text, 0, &jerr);
  assert_non_null(root);
  edit(root);
  char *out = json_dumps(root, JSON_INDENT(2));
  assert_non_null(out);
  json_decref(root);
  return out;
}

static void expect_json(const char *text, cairn_err want, const char *s) {
  char why[WHY_BYTES];
  cairn_proof *q = proof_new();
  memset(q, 0x5a, sizeof *q);
  cairn_err err = cairn_proof_from_json(q, text, strlen(text), why,
                                        sizeof why);
  if (err != want) fail_msg("from_json: want %s, got %s: %s",
                            cairn_errname(want), cairn_errname(err), why);
  if (err != CAIRN_OK) assert_true(all_zero(q, sizeof *q));
  if (s != NULL && strstr(why, s) == NULL) fail_msg("'%s' not in: %s", s, why);
  free(q);
}

static void del_tx(json_t *r) { json_object_del(r, "tx"); }
static void del_version(json_t *r) { json_object_del(r, "version"); }
static void del_position(json_t *r) { json_object_del(r, "position"); }
static void del_tx_count(json_t *r) { json_object_del(r, "tx_count"); }
static void del_path(json_t *r) { json_object_del(r, "path"); }
static void del_header(json_t *r) { json_object_del(r, "header"); }
static void del_commit(json_t *r) { json_object_del(r, "commit"); }
static void del_validators(json_t *r) { json_object_del(r, "validators"); }
static void add_unknown(json_t *r) {
  json_object_set_new(r, "txid", json_string("00"));
}
static void bad_hex_tx(json_t *r) {
  char *s = strdup(json_string_value(json_object_get(r, "tx")));
  s[10] = 'g';
  json_object_set_new(r, "tx", json_string(s));
  free(s);
}
static void odd_hex_header(json_t *r) {
  char *s = strdup(json_string_value(json_object_get(r, "header")));
  s[strlen(s) - 1] = '\0';
  json_object_set_new(r, "header", json_string(s));
  free(s);
}
static void tx_number(json_t *r) {
  json_object_set_new(r, "tx", json_integer(5));
}
static void version_2(json_t *r) {
  json_object_set_new(r, "version", json_integer(2));
}
static void version_str(json_t *r) {
  json_object_set_new(r, "version", json_string("1"));
}
static void position_neg(json_t *r) {
  json_object_set_new(r, "position", json_integer(-1));
}
static void position_big(json_t *r) {
  json_object_set_new(r, "position", json_integer(1ll << 32));
}
static void position_str(json_t *r) {
  json_object_set_new(r, "position", json_string("1"));
}
static void path_long(json_t *r) {
  json_t *a = json_array();
  for (int i = 0; i <= CAIRN_MERKLE_PATH_MAX; i++) {
    json_array_append_new(a, json_string("0000000000000000000000000000000000"
                                         "000000000000000000000000000000"));
  }
  json_object_set_new(r, "path", a);
}
static void path_short_node(json_t *r) {
  json_array_set_new(json_object_get(r, "path"), 0, json_string("abcd"));
}
static void path_not_array(json_t *r) {
  json_object_set_new(r, "path", json_string("00"));
}
static void vals_empty(json_t *r) {
  json_object_set_new(r, "validators", json_array());
}
static void val_unknown(json_t *r) {
  json_object_set_new(json_array_get(json_object_get(r, "validators"), 0),
                      "address", json_string("x"));
}
static void val_no_power(json_t *r) {
  json_object_del(json_array_get(json_object_get(r, "validators"), 0),
                  "power");
}
static void val_power_int(json_t *r) {
  json_object_set_new(json_array_get(json_object_get(r, "validators"), 0),
                      "power", json_integer(10));
}
static void val_power_bad(json_t *r) {
  json_object_set_new(json_array_get(json_object_get(r, "validators"), 0),
                      "power", json_string("010"));
}
static void val_name_long(json_t *r) {
  json_object_set_new(json_array_get(json_object_get(r, "validators"), 0),
                      "name", json_string("0123456789012345678901234567890123"));
}
static void val_pubkey_bad(json_t *r) {
  json_object_set_new(json_array_get(json_object_get(r, "validators"), 0),
                      "pubkey", json_string("zz"));
}
static void vals_reversed(json_t *r) {
  json_t *a = json_object_get(r, "validators");
  json_t *first = json_incref(json_array_get(a, 0));
  json_array_remove(a, 0);
  json_array_append_new(a, first);
}
static void tx_empty(json_t *r) {
  json_object_set_new(r, "tx", json_string(""));
}
static void tx_upper(json_t *r) {
  char *s = strdup(json_string_value(json_object_get(r, "tx")));
  for (char *c = s; *c; c++) {
    if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 'a' + 'A');
  }
  json_object_set_new(r, "tx", json_string(s));
  free(s);
}

static void test_json_shape(void **state) {
  pfx *f = *state;
  cairn_proof *p = proof_of(&f->multi, 1, 2);
  char *text = to_json(p);
  /* Exactly the documented fields, with the documented types. */
  json_error_t jerr;
  json_t *root = json_loads(text, 0, &jerr);
  assert_non_null(root);
  assert_int_equal(json_object_size(root), 8);
  assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
  assert_int_equal(json_integer_value(json_object_get(root, "position")), 2);
  assert_int_equal(json_integer_value(json_object_get(root, "tx_count")), 3);
  assert_int_equal(json_array_size(json_object_get(root, "path")), 1);
  assert_int_equal(strlen(json_string_value(json_object_get(root, "tx"))),
                   2 * p->tx_len);
  json_t *v0 = json_array_get(json_object_get(root, "validators"), 0);
  assert_int_equal(json_object_size(v0), 3);
  assert_string_equal(json_string_value(json_object_get(v0, "power")), "10");
  assert_string_equal(json_string_value(json_object_get(v0, "name")), "val0");
  json_decref(root);
  free(text);
  free(p);
}

static const struct {
  void (*edit)(json_t *);
  cairn_err want;
  const char *why;
} json_cases[] = {
    {del_tx, CAIRN_ERR_JSON, "tx: missing"},
    {del_version, CAIRN_ERR_JSON, "version: missing"},
    {del_position, CAIRN_ERR_JSON, "position: missing"},
    {del_tx_count, CAIRN_ERR_JSON, "tx_count: missing"},
    {del_path, CAIRN_ERR_JSON, "path: missing"},
    {del_header, CAIRN_ERR_JSON, "header: missing"},
    {del_commit, CAIRN_ERR_JSON, "commit: missing"},
    {del_validators, CAIRN_ERR_JSON, "validators: missing"},
    {add_unknown, CAIRN_ERR_JSON, "unknown field \"txid\""},
    {bad_hex_tx, CAIRN_ERR_HEX, "tx: not a hex string"},
    {odd_hex_header, CAIRN_ERR_HEX, "header: not a hex string"},
    {tx_number, CAIRN_ERR_JSON, "tx: expected a hex string"},
    {tx_empty, CAIRN_ERR_RANGE, "tx: empty"},
    {tx_upper, CAIRN_OK, NULL},
    {version_2, CAIRN_ERR_VERSION, "version: 2"},
    {version_str, CAIRN_ERR_JSON, "version"},
    {position_neg, CAIRN_ERR_JSON, "position"},
    {position_big, CAIRN_ERR_RANGE, "position: out of range"},
    {position_str, CAIRN_ERR_JSON, "position"},
    {path_long, CAIRN_ERR_RANGE, "path: 33 nodes"},
    {path_short_node, CAIRN_ERR_HEX, "path[0]"},
    {path_not_array, CAIRN_ERR_JSON, "path: expected an array"},
    {vals_empty, CAIRN_ERR_RANGE, "validators: 0 members"},
    {val_unknown, CAIRN_ERR_JSON, "validators[0]: unknown field"},
    {val_no_power, CAIRN_ERR_JSON, "validators[0].power: missing"},
    {val_power_int, CAIRN_OK, NULL},
    {val_power_bad, CAIRN_ERR_JSON, "validators[0].power"},
    {val_name_long, CAIRN_ERR_RANGE, "validators[0].name"},
    {val_pubkey_bad, CAIRN_ERR_HEX, "validators[0].pubkey"},
    {vals_reversed, CAIRN_ERR_NONCANONICAL, "validators[3].pubkey"},
};

static void test_json_rejects(void **state) {
  pfx *f = *state;
  cairn_proof *p = proof_of(&f->multi, 1, 2);
  char *text = to_json(p);
  for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
    char *t = json_edit(text, json_cases[i].edit);
    expect_json(t, json_cases[i].want, json_cases[i].why);
    free(t);
  }
  /* Not JSON, not an object, a duplicate key. */
  expect_json("{\"version\": 1,", CAIRN_ERR_JSON, "line 1");
  expect_json("[1, 2]", CAIRN_ERR_JSON, "expected a JSON object");
  expect_json("{\"version\": 1, \"version\": 1}", CAIRN_ERR_JSON, "line 1");
  /* A tampered sender (hex digit 40 is in byte 20) still decodes, and is
   * caught by the audit path. */
  char *t = strdup(text);
  char *tx = strstr(t, "\"tx\": \"") + 7;
  tx[40] = tx[40] == '0' ? '1' : '0';
  cairn_proof *q = proof_new();
  char why[WHY_BYTES];
  cairn_err err = cairn_proof_from_json(q, t, strlen(t), why, sizeof why);
  assert_int_equal(err, CAIRN_OK);
  assert_int_equal(verify_g(q, f->multi.g), CAIRN_ERR_BAD_PROOF);
  free(q);
  free(t);
  free(text);
  free(p);
}

static void test_load_file(void **state) {
  pfx *f = *state;
  char dir[64], path[128], why[WHY_BYTES];
  tu_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/p.json", dir);
  cairn_proof *p = proof_of(&f->demo, 5, 4);
  cairn_proof *q = proof_new();
  char *text = to_json(p);
  tu_check("write", cairn_file_write_atomic(path, text, strlen(text), 0644,
                                            false));
  assert_int_equal(cairn_proof_load(q, path, why, sizeof why), CAIRN_OK);
  assert_int_equal(verify_g(q, f->demo.g), CAIRN_OK);
  snprintf(path, sizeof path, "%s/missing.json", dir);
  assert_int_equal(cairn_proof_load(q, path, why, sizeof why),
                   CAIRN_ERR_NOT_FOUND);
  assert_non_null(strstr(why, "missing.json"));
  assert_true(all_zero(q, sizeof *q));
  snprintf(path, sizeof path, "%s/big.json", dir);
  char *big = malloc(CAIRN_PROOF_FILE_BYTES_MAX + 1);
  assert_non_null(big);
  memset(big, ' ', CAIRN_PROOF_FILE_BYTES_MAX + 1);
  tu_check("write", cairn_file_write_atomic(path, big,
                                            CAIRN_PROOF_FILE_BYTES_MAX + 1,
                                            0644, false));
  assert_int_equal(cairn_proof_load(q, path, why, sizeof why),
                   CAIRN_ERR_OVERSIZE);
  free(big);
  free(text);
  free(q);
  free(p);
  tu_rmtree(dir);
}

/* ---- a validator-set change ---- */

/* A chain whose set changes at height 3: validator "big" (power 100,
 * operated by op) bonds 50 more in block 1, in force from 1 + 2. Every
 * commit is signed by big alone, which holds more than 2/3 throughout. */
#define VS_BIG 100u
#define VS_SMALL 10u
#define VS_BOND 50u
#define VS_BLOCKS 4u

static void vs_genesis(pchain *ch, const tu_key *op) {
  cairn_validator big, small;
  char why[256];
  ch->g = malloc(sizeof *ch->g);
  assert_non_null(ch->g);
  tu_genesis(ch->g);
  tu_validator(&ch->vk[0], 0);
  tu_validator(&ch->vk[1], 1);
  ch->n_vk = 2;
  memset(&big, 0, sizeof big);
  memset(&small, 0, sizeof small);
  memcpy(big.pubkey, ch->vk[0].pk, 32);
  memcpy(big.operator_key, op->pk, 32);
  big.power = VS_BIG;
  big.name_len = (uint8_t)snprintf(big.name, sizeof big.name, "big");
  memcpy(small.pubkey, ch->vk[1].pk, 32);
  small.power = VS_SMALL;
  small.name_len = (uint8_t)snprintf(small.name, sizeof small.name, "small");
  cairn_valset *vs = &ch->g->validators;
  memset(vs, 0, sizeof *vs);
  bool big_first = memcmp(big.pubkey, small.pubkey, 32) < 0;
  vs->v[0] = big_first ? big : small;
  vs->v[1] = big_first ? small : big;
  vs->n = 2;
  ch->g->n_stake = 1;
  memcpy(ch->g->stake[0].account, op->pk, 32);
  ch->g->stake[0].amount = 1000;
  ch->g->staking = (cairn_staking_params){2, 5, 20, 10};
  if (cairn_genesis_check(ch->g, why, sizeof why) != CAIRN_OK)
    fail_msg("genesis: %s", why);
}

/* Propose the batch as the round-0 proposer of tip + 1 and commit it with
 * big's precommit alone. */
static void vs_add_block(pchain *ch, const batch *b) {
  cairn_proposal *p = NULL;
  cairn_commit *cm = malloc(sizeof *cm);
  uint8_t proposer[32];
  cairn_tip t;
  assert_non_null(cm);
  cairn_chain_tip(ch->c, &t);
  cairn_chain_proposer(ch->c, 0, proposer);
  assert_int_equal(cairn_chain_propose(ch->c, b->sl, b->n, t.time_ms + 1000,
                                       proposer, reject_fail, NULL, &p),
                   CAIRN_OK);
  tu_commit_sign(cm, p->header.height, p->hash, &ch->vk[0]);
  assert_int_equal(cairn_chain_commit_proposal(ch->c, p, cm), CAIRN_OK);
  uint64_t h = p->header.height;
  pblock *pb = &ch->blocks[h];
  memcpy(pb->hash, p->hash, CAIRN_HASH_BYTES);
  pb->n_txs = b->n;
  for (size_t i = 0; i < b->n; i++)
    cairn_tx_id_bytes(pb->txids[i], b->sl[i].p, b->sl[i].len);
  cairn_proposal_free(p);
  free(cm);
  read_block(ch, h);
  ch->n_blocks = h;
}

static void vs_build(pchain *ch) {
  tu_key op, iss, m;
  cairn_tx tx;
  batch *b = calloc(1, sizeof *b);
  assert_non_null(b);
  tu_key_derive(&op, "operator", 0);
  tu_issuer(&iss, TU_BRAND_COFFEE);
  tu_member(&m, 0);
  vs_genesis(ch, &op);
  chain_open(ch);
  tu_tx_init(&tx, CAIRN_TX_BOND, op.pk, 1);
  memcpy(tx.u.bond.validator, ch->vk[0].pk, 32);
  tx.u.bond.amount = VS_BOND;
  tu_tx_sign(&tx, &op);
  batch_add(b, &tx);
  for (uint64_t h = 1; h <= VS_BLOCKS; h++) {
    tu_tx_issue(&tx, &iss, h, TU_BRAND_COFFEE, m.pk, 10 * h);
    batch_add(b, &tx);
    vs_add_block(ch, b);
    b->n = 0;
  }
  free(b);
}

/* The proof of transaction i of block h under the set in force there. */
static cairn_proof *vs_proof_of(pchain *ch, uint64_t h, size_t i,
                                cairn_valset *at) {
  const pblock *pb = &ch->blocks[h];
  cairn_proof *p = proof_new();
  assert_int_equal(cairn_chain_valset_at(ch->c, h, at), CAIRN_OK);
  assert_int_equal(cairn_proof_build(p, pb->block, pb->block_len, pb->commit,
                                     pb->commit_len, at, pb->txids[i]),
                   CAIRN_OK);
  return p;
}

/* After the set changed, a proof carries the set in force at its block:
 * it holds against the block's hash, and a genesis anchor refuses it with
 * the sentence that says why and what to do. A proof carrying the genesis
 * set (what cairn proof built before) fails under either anchor. Blocks
 * before the change still verify against genesis. */
static void test_set_change(void **state) {
  (void)state;
  pchain *ch = calloc(1, sizeof *ch);
  cairn_valset *at = malloc(sizeof *at);
  char why[WHY_BYTES];
  cairn_proof_result res;
  assert_true(ch != NULL && at != NULL);
  vs_build(ch);
  uint8_t gh[32], ah[32];
  cairn_valset_hash(gh, &ch->g->validators);
  assert_int_equal(cairn_chain_epoch(ch->c), 3);
  assert_int_equal(cairn_chain_valset_at(ch->c, 2, at), CAIRN_OK);
  cairn_valset_hash(ah, at);
  assert_memory_equal(ah, gh, 32);
  /* Block 4: the set of epoch 3. */
  cairn_proof *p = vs_proof_of(ch, 4, 0, at);
  assert_int_equal(at->total_power, VS_BIG + VS_BOND + VS_SMALL);
  assert_int_equal(verify_with(p, NULL, ch->blocks[4].hash, &res, why),
                   CAIRN_OK);
  assert_int_equal(res.total_power, VS_BIG + VS_BOND + VS_SMALL);
  assert_int_equal(res.signed_power, VS_BIG + VS_BOND);
  assert_int_equal(res.header.height, 4);
  expect_g(p, ch->g, CAIRN_ERR_BAD_VALSET, "the block's validator set "
           "differs from genesis (the set changed at some height)",
           "verify against a trusted block hash from this chain, e.g. "
           "`cairn verify-proof FILE --block-hash HASH`");
  /* Through JSON, the same. */
  char *text = to_json(p);
  cairn_proof *q = proof_new();
  assert_int_equal(cairn_proof_from_json(q, text, strlen(text), why,
                                         sizeof why), CAIRN_OK);
  assert_int_equal(verify_h(q, ch->blocks[4].hash), CAIRN_OK);
  assert_int_equal(verify_g(q, ch->g), CAIRN_ERR_BAD_VALSET);
  free(text);
  /* The genesis set in a proof of block 4: the header names another. */
  const pblock *pb = &ch->blocks[4];
  assert_int_equal(cairn_proof_build(q, pb->block, pb->block_len, pb->commit,
                                     pb->commit_len, &ch->g->validators,
                                     pb->txids[0]), CAIRN_OK);
  assert_int_equal(verify_h(q, ch->blocks[4].hash), CAIRN_ERR_BAD_VALSET);
  expect_g(q, ch->g, CAIRN_ERR_BAD_VALSET, "header's validators_hash", NULL);
  free(q);
  free(p);
  /* Block 3 is the first of the new set; block 2 the last of genesis's. */
  p = vs_proof_of(ch, 3, 0, at);
  assert_int_equal(verify_h(p, ch->blocks[3].hash), CAIRN_OK);
  expect_g(p, ch->g, CAIRN_ERR_BAD_VALSET, "differs from genesis", NULL);
  free(p);
  for (uint64_t h = 1; h <= 2; h++) {
    p = vs_proof_of(ch, h, 0, at);
    assert_int_equal(verify_g(p, ch->g), CAIRN_OK);
    assert_int_equal(verify_h(p, ch->blocks[h].hash), CAIRN_OK);
    free(p);
  }
  free(at);
  chain_close(ch);
  free(ch);
}

/* ---- seeded random tampering ---- */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static void test_random_bit_flips(void **state) {
  pfx *f = *state;
  uint64_t seed = (uint64_t)time(NULL);
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) seed = strtoull(env, NULL, 10);
  printf("test_random_bit_flips: seed %llu (CAIRN_TEST_SEED)\n",
         (unsigned long long)seed);
  uint8_t *buf = malloc(CAIRN_PROOF_BYTES_MAX);
  assert_non_null(buf);
  cairn_proof *q = proof_new();
  char why[WHY_BYTES];
  uint64_t s = seed;
  for (int iter = 0; iter < 400; iter++) {
    const pchain *ch = (rng_next(&s) % 3 == 0) ? &f->multi : &f->demo;
    uint64_t h = 1 + rng_next(&s) % ch->n_blocks;
    size_t i = rng_next(&s) % ch->blocks[h].n_txs;
    cairn_proof *p = proof_of(ch, h, i);
    size_t len = encode(p, buf, CAIRN_PROOF_BYTES_MAX);
    size_t k = rng_next(&s) % len;
    unsigned bit = (unsigned)(rng_next(&s) % 8);
    buf[k] ^= (uint8_t)(1u << bit);
    cairn_err err = cairn_proof_decode(q, buf, len, why, sizeof why);
    if (err == CAIRN_OK) err = verify_g(q, ch->g);
    if (err == CAIRN_OK) fail_msg("seed %llu iter %d: flipping bit %u of "
                                  "byte %zu of %zu went unnoticed",
                                  (unsigned long long)seed, iter, bit, k,
                                  len);
    free(p);
  }
  free(q);
  free(buf);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_every_tx),
      cmocka_unit_test(test_build_rejects),
      cmocka_unit_test(test_tampered_tx),
      cmocka_unit_test(test_tampered_path),
      cmocka_unit_test(test_tampered_position_and_size),
      cmocka_unit_test(test_tampered_header),
      cmocka_unit_test(test_tampered_commit),
      cmocka_unit_test(test_commit_stake),
      cmocka_unit_test(test_tampered_validators),
      cmocka_unit_test(test_wrong_anchor),
      cmocka_unit_test(test_chain_id_mismatch),
      cmocka_unit_test(test_binary_rejects),
      cmocka_unit_test(test_json_shape),
      cmocka_unit_test(test_json_rejects),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_set_change),
      cmocka_unit_test(test_random_bit_flips),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
