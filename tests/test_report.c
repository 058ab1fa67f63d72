/*
 * test_report.c - the auditor's report: tallies, cross-checks, outputs.
 *
 * Blocks are handed to the report directly (it only tallies what a replay
 * has verified), so transactions and commits can be made up freely: the
 * tallies per type and brand, the validators' proposals and missed votes,
 * and every rejected block - not the next one, a transaction that does not
 * decode, an unknown brand, a tally that would overflow, a report with no
 * room for another validator - which must leave the report unchanged.
 * finish is checked against real stores built with the chain API: the
 * numbers of a clean chain, coupons expired and outstanding, and each
 * cross-check failing on a state altered through LMDB. Finally the three
 * output forms: JSON shapes, aligned text, CSV sections with quoting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>
#include <sodium.h>

#include "cairn/chain.h"
#include "cairn/encoding.h"
#include "cairn/evidence.h"
#include "cairn/file.h"
#include "cairn/report.h"
#include "cairn/state.h"
#include "testutil.h"

#define WHY_BYTES 1024
#define MAX_TXS 8

/* A made-up block: header, transaction bytes and a commit. */
typedef struct fake_block {
  cairn_block_header h;
  uint8_t hash[32];
  uint8_t bytes[MAX_TXS][CAIRN_TX_BYTES_MAX];
  cairn_slice txs[MAX_TXS];
  cairn_commit c;
} fake_block;

static cairn_genesis *genesis(void) {
  cairn_genesis *g = malloc(sizeof *g);
  assert_non_null(g);
  tu_genesis(g);
  return g;
}

static cairn_report *new_report(const cairn_genesis *g) {
  cairn_report *r = malloc(sizeof *r);
  uint8_t gh[32];
  assert_non_null(r);
  assert_int_equal(cairn_genesis_hash(gh, g), CAIRN_OK);
  cairn_report_init(r, g, gh);
  return r;
}

/* The block after r's height holding txs, proposed by proposer. */
static void fake_next(fake_block *b, const cairn_report *r,
                      const cairn_tx *txs, size_t n,
                      const uint8_t proposer[32]) {
  memset(b, 0, sizeof *b);
  assert_true(n <= MAX_TXS);
  b->h.version = CAIRN_BLOCK_VERSION;
  b->h.height = r->height + 1;
  memcpy(b->h.prev_hash, r->hash, 32);
  memcpy(b->h.proposer, proposer, 32);
  b->h.tx_count = (uint32_t)n;
  for (size_t i = 0; i < n; i++) {
    b->txs[i].p = b->bytes[i];
    b->txs[i].len = tu_tx_bytes(b->bytes[i], sizeof b->bytes[i], &txs[i]);
  }
  /* Any distinct value will do: the report only links hashes. */
  cairn_sha256_hash(b->hash, b->h.prev_hash, 32);
}

static void sign_by(cairn_commit *c, const cairn_valset *vs, unsigned mask) {
  memset(c, 0, sizeof *c);
  for (uint32_t i = 0; i < vs->n; i++)
    if (mask & (1u << i)) {
      uint8_t sig[64] = {0};
      assert_int_equal(cairn_commit_add(c, vs->v[i].pubkey, sig), CAIRN_OK);
    }
}

/* ---- init and tallies ---- */

static void test_init(void **state) {
  (void)state;
  cairn_genesis *g = genesis();
  cairn_report *r = new_report(g);
  uint8_t gh[32];
  assert_int_equal(cairn_genesis_hash(gh, g), CAIRN_OK);
  assert_string_equal(r->chain_id, TU_CHAIN_ID);
  assert_memory_equal(r->genesis_hash, gh, 32);
  assert_memory_equal(r->hash, gh, 32);
  assert_int_equal(r->height, 0);
  assert_int_equal(r->n_brands, 3);
  assert_string_equal(r->brands[0].name, "coffee");
  assert_int_equal(r->brands[2].id, TU_BRAND_BOOKS);
  assert_int_equal(r->n_validators, 1);
  assert_int_equal(r->validators[0].power, TU_VALIDATOR_POWER);
  assert_int_equal(r->n_settlements, 0);
  assert_false(r->finished);
  free(r);
  free(g);
}

static void test_tallies(void **state) {
  (void)state;
  cairn_genesis *g = genesis();
  cairn_report *r = new_report(g);
  fake_block *b = malloc(sizeof *b);
  assert_non_null(b);
  tu_key coffee, pizza, m0, m1;
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  tu_issuer(&pizza, TU_BRAND_PIZZA);
  tu_member(&m0, 0);
  tu_member(&m1, 1);
  cairn_tx t[6];
  uint8_t coupon[32];
  tu_tx_issue(&t[0], &coffee, 1, TU_BRAND_COFFEE, m0.pk, 100);
  tu_tx_issue(&t[1], &pizza, 1, TU_BRAND_PIZZA, m0.pk, 5);
  tu_tx_redeem(&t[2], &m0, 1, TU_BRAND_COFFEE, 30, "A-1");
  tu_tx_coupon_issue(&t[3], &coffee, 2, TU_BRAND_COFFEE, m0.pk, 9, true);
  tu_txid(coupon, &t[3]);
  tu_tx_coupon_redeem(&t[4], &m0, 2, coupon, TU_BRAND_COFFEE, "A-2");
  tu_tx_transfer(&t[5], &m0, 3, TU_BRAND_COFFEE, m1.pk, 7);
  const cairn_valset *vs = &g->validators;
  fake_next(b, r, t, 6, vs->v[0].pubkey);
  sign_by(&b->c, vs, 1);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), CAIRN_OK);
  fake_next(b, r, t, 1, vs->v[0].pubkey); /* ISSUE 100 again */
  sign_by(&b->c, vs, 1);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), CAIRN_OK);
  assert_int_equal(r->height, 2);
  assert_memory_equal(r->hash, b->hash, 32);
  assert_int_equal(r->blocks, 2);
  assert_int_equal(r->txs, 7);
  assert_int_equal(r->tx_types[CAIRN_TX_ISSUE], 3);
  assert_int_equal(r->tx_types[CAIRN_TX_REDEEM], 1);
  assert_int_equal(r->tx_types[CAIRN_TX_TRANSFER], 1);
  assert_int_equal(r->tx_types[CAIRN_TX_COUPON_ISSUE], 1);
  assert_int_equal(r->brands[0].tx_issued, 200);
  assert_int_equal(r->brands[0].tx_redeemed, 30);
  assert_int_equal(r->brands[0].coupons_issued, 1);
  assert_int_equal(r->brands[0].coupons_redeemed, 1);
  assert_int_equal(r->brands[1].tx_issued, 5);
  assert_int_equal(r->brands[2].tx_issued, 0);
  assert_int_equal(r->validators[0].proposed, 2);
  assert_int_equal(r->validators[0].missed, 0);
  free(b);
  free(r);
  free(g);
}

/* Every refused block leaves the report byte for byte as it was. */
static void expect_refused(cairn_report *r, const fake_block *b,
                           const cairn_valset *vs, cairn_err want) {
  cairn_report *before = malloc(sizeof *before);
  assert_non_null(before);
  memcpy(before, r, sizeof *r);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), want);
  assert_memory_equal(before, r, sizeof *r);
  free(before);
}

static void test_refused_blocks(void **state) {
  (void)state;
  cairn_genesis *g = genesis();
  cairn_report *r = new_report(g);
  fake_block *b = malloc(sizeof *b);
  assert_non_null(b);
  const cairn_valset *vs = &g->validators;
  tu_key coffee, m0;
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  tu_member(&m0, 0);
  cairn_tx t[2];
  tu_tx_issue(&t[0], &coffee, 1, TU_BRAND_COFFEE, m0.pk, 100);
  tu_tx_issue(&t[1], &coffee, 2, 9, m0.pk, 1); /* brand 9 does not exist */
  fake_next(b, r, t, 1, vs->v[0].pubkey);
  sign_by(&b->c, vs, 1);
  b->h.height = 2; /* not the next height */
  expect_refused(r, b, vs, CAIRN_ERR_ARG);
  b->h.height = 1;
  b->h.prev_hash[0] ^= 1; /* not linked to the last one */
  expect_refused(r, b, vs, CAIRN_ERR_ARG);
  b->h.prev_hash[0] ^= 1;
  b->bytes[0][0] = 9; /* a transaction that does not decode */
  expect_refused(r, b, vs, CAIRN_ERR_VERSION);
  fake_next(b, r, t, 2, vs->v[0].pubkey);
  sign_by(&b->c, vs, 1);
  expect_refused(r, b, vs, CAIRN_ERR_UNKNOWN_BRAND);
  /* A tally one step from the top. */
  r->brands[0].tx_issued = UINT64_MAX - 100;
  fake_next(b, r, t, 1, vs->v[0].pubkey);
  sign_by(&b->c, vs, 1);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), CAIRN_OK);
  assert_int_equal(r->brands[0].tx_issued, UINT64_MAX);
  fake_next(b, r, t, 1, vs->v[0].pubkey);
  sign_by(&b->c, vs, 1);
  expect_refused(r, b, vs, CAIRN_ERR_OVERFLOW);
  free(b);
  free(r);
  free(g);
}

/* A set of n validators of power 1, keys from tu_validator. */
static void make_set(cairn_valset *vs, uint32_t first, uint32_t n) {
  memset(vs, 0, sizeof *vs);
  for (uint32_t i = 0; i < n; i++) {
    tu_vkey k;
    tu_validator(&k, first + i);
    cairn_validator *v = &vs->v[i];
    memcpy(v->pubkey, k.pk, 32);
    v->power = 1 + i;
    v->name_len = (uint8_t)snprintf(v->name, sizeof v->name, "v%u",
                                    first + i);
  }
  vs->n = n;
  for (uint32_t i = 1; i < n; i++)
    for (uint32_t j = i; j > 0 && memcmp(vs->v[j - 1].pubkey, vs->v[j].pubkey,
                                         32) > 0; j--) {
      cairn_validator t = vs->v[j];
      vs->v[j] = vs->v[j - 1];
      vs->v[j - 1] = t;
    }
  assert_int_equal(cairn_valset_check(vs), CAIRN_OK);
}

static void test_votes(void **state) {
  (void)state;
  cairn_genesis *g = genesis();
  cairn_report *r = new_report(g);
  fake_block *b = malloc(sizeof *b);
  cairn_valset *vs = malloc(sizeof *vs);
  assert_non_null(b);
  assert_non_null(vs);
  make_set(vs, 10, 4);
  /* Three blocks: validator 0 proposes all, 3 never signs, 2 misses one. */
  for (int h = 0; h < 3; h++) {
    fake_next(b, r, NULL, 0, vs->v[0].pubkey);
    sign_by(&b->c, vs, h == 1 ? 0x3u : 0x7u);
    assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs,
                                            &b->c, vs), CAIRN_OK);
  }
  /* The genesis validator and the four of the set, in key order. */
  assert_int_equal(r->n_validators, 5);
  for (uint32_t i = 1; i < r->n_validators; i++)
    assert_true(memcmp(r->validators[i - 1].pubkey, r->validators[i].pubkey,
                       32) < 0);
  for (uint32_t i = 0; i < vs->n; i++) {
    const cairn_report_validator *v = NULL;
    for (uint32_t k = 0; k < r->n_validators; k++)
      if (memcmp(r->validators[k].pubkey, vs->v[i].pubkey, 32) == 0)
        v = &r->validators[k];
    assert_non_null(v);
    assert_string_equal(v->name, vs->v[i].name);
    assert_int_equal(v->power, vs->v[i].power);
    assert_int_equal(v->proposed, i == 0 ? 3 : 0);
    assert_int_equal(v->missed, i == 3 ? 3 : i == 2 ? 1 : 0);
  }
  /* A report full of validators takes no new one. */
  r->n_validators = CAIRN_REPORT_VALIDATORS_MAX;
  for (uint32_t i = 5; i < CAIRN_REPORT_VALIDATORS_MAX; i++)
    memset(r->validators[i].pubkey, 0xff, 32);
  cairn_valset *other = malloc(sizeof *other);
  assert_non_null(other);
  make_set(other, 500, 1);
  fake_next(b, r, NULL, 0, other->v[0].pubkey);
  sign_by(&b->c, other, 1);
  expect_refused(r, b, other, CAIRN_ERR_LIMIT);
  free(other);
  free(vs);
  free(b);
  free(r);
  free(g);
}

/* ---- validator-set changes and slashing events ---- */

static char *capture(void (*print)(FILE *, const cairn_report *),
                     const cairn_report *r);

/* The report's row of pk, or NULL. */
static const cairn_report_validator *row_of(const cairn_report *r,
                                            const uint8_t pk[32]) {
  for (uint32_t i = 0; i < r->n_validators; i++)
    if (memcmp(r->validators[i].pubkey, pk, 32) == 0) return &r->validators[i];
  return NULL;
}

/* A commit signed by every member of vs except skip (NULL: none). */
static void sign_all_but(cairn_commit *c, const cairn_valset *vs,
                         const uint8_t *skip) {
  unsigned mask = 0;
  for (uint32_t i = 0; i < vs->n; i++)
    if (skip == NULL || memcmp(vs->v[i].pubkey, skip, 32) != 0)
      mask |= 1u << i;
  sign_by(c, vs, mask);
}

/* The next fake block under vs, signed by all but skip. */
static void add_under(cairn_report *r, fake_block *b, const cairn_valset *vs,
                      const uint8_t *skip) {
  fake_next(b, r, NULL, 0, vs->v[0].pubkey);
  sign_all_but(&b->c, vs, skip);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), CAIRN_OK);
}

static void expect_spans(const cairn_report_validator *v, uint64_t blocks,
                         uint32_t n, const uint64_t *from_to) {
  assert_non_null(v);
  assert_int_equal(v->blocks_in_set, blocks);
  assert_int_equal(v->n_spans, n);
  for (uint32_t k = 0; k < n; k++) {
    assert_int_equal(v->spans[k].from, from_to[2 * k]);
    assert_int_equal(v->spans[k].to, from_to[2 * k + 1]);
  }
}

/* Sets a = {v10, v11} and b = {v11, v12} in turn: each validator misses
 * only blocks of sets that held it, and its heights in the set are kept as
 * ranges; the genesis validator, never in these sets, has none. */
static void test_set_changes(void **state) {
  (void)state;
  cairn_genesis *g = genesis();
  cairn_report *r = new_report(g);
  fake_block *b = malloc(sizeof *b);
  cairn_valset *a = malloc(sizeof *a), *bb = malloc(sizeof *bb);
  cairn_valset *solo = malloc(sizeof *solo);
  assert_true(b != NULL && a != NULL && bb != NULL && solo != NULL);
  make_set(a, 10, 2);
  make_set(bb, 11, 2);
  make_set(solo, 11, 1);
  tu_vkey k10, k11, k12;
  tu_validator(&k10, 10);
  tu_validator(&k11, 11);
  tu_validator(&k12, 12);
  add_under(r, b, a, NULL);     /* 1 */
  add_under(r, b, a, k10.pk);   /* 2: v10 misses */
  add_under(r, b, bb, k11.pk);  /* 3: v11 misses */
  add_under(r, b, bb, NULL);    /* 4 */
  add_under(r, b, a, NULL);     /* 5 */
  assert_int_equal(r->n_validators, 4);
  const cairn_report_validator *v10 = row_of(r, k10.pk);
  const cairn_report_validator *v11 = row_of(r, k11.pk);
  const cairn_report_validator *v12 = row_of(r, k12.pk);
  static const uint64_t s10[] = {1, 2, 5, 5}, s11[] = {1, 5}, s12[] = {3, 4};
  expect_spans(v10, 3, 2, s10);
  expect_spans(v11, 5, 1, s11);
  expect_spans(v12, 2, 1, s12);
  assert_int_equal(v10->missed, 1);
  assert_int_equal(v11->missed, 1);
  assert_int_equal(v12->missed, 0);
  /* Power: from the latest set that held it (v11 is second in a). */
  assert_int_equal(v11->power, 2);
  assert_int_equal(v12->power, 2);
  expect_spans(row_of(r, g->validators.v[0].pubkey), 0, 0, NULL);
  /* v10 out at odd heights, in at even ones: past four ranges the last
   * stretches over the gaps, and blocks_in_set stays exact. */
  for (uint64_t h = 6; h <= 12; h++) add_under(r, b, h % 2 ? solo : a, NULL);
  static const uint64_t merged[] = {1, 2, 5, 6, 8, 8, 10, 12};
  expect_spans(row_of(r, k10.pk), 7, 4, merged);
  expect_spans(row_of(r, k11.pk), 12, 1, (const uint64_t[]){1, 12});
  /* The three output forms carry the ranges. */
  json_t *j = cairn_report_json(r);
  assert_non_null(j);
  json_t *rows = json_object_get(j, "validators");
  json_t *jv = NULL;
  char hex10[65];
  cairn_hex_encode(hex10, sizeof hex10, k10.pk, 32);
  for (size_t i = 0; i < json_array_size(rows); i++)
    if (strcmp(json_string_value(json_object_get(json_array_get(rows, i),
                                                 "pubkey")), hex10) == 0)
      jv = json_array_get(rows, i);
  assert_non_null(jv);
  assert_int_equal(json_integer_value(json_object_get(jv, "blocks_in_set")),
                   7);
  json_t *spans = json_object_get(jv, "in_set");
  assert_int_equal(json_array_size(spans), 4);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(spans, 3),
                                                      "from")), 10);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(spans, 3),
                                                      "to")), 12);
  assert_true(json_is_false(json_object_get(jv, "jailed")));
  json_decref(j);
  char *csv = capture(cairn_report_print_csv, r);
  assert_non_null(strstr(csv, ",false,7,\"1-2,5-6,8-8,10-12\"\n"));
  free(csv);
  char *text = capture(cairn_report_print_text, r);
  assert_non_null(strstr(text, "in set (heights)"));
  assert_non_null(strstr(text, "  1-2,5-6,8-8,10-12\n"));
  assert_non_null(strstr(text, "  1-12\n"));
  free(text);
  free(solo);
  free(bb);
  free(a);
  free(b);
  free(r);
  free(g);
}

/* An EVIDENCE transaction against validator i: two prevotes at height 1. */
static void evidence_tx(cairn_tx *tx, const tu_key *sender, uint64_t seq,
                        uint32_t i) {
  tu_vkey k;
  cairn_vote x, y;
  cairn_evidence e;
  size_t len = 0;
  tu_validator(&k, i);
  memset(&x, 0, sizeof x);
  x.type = CAIRN_VOTE_PREVOTE;
  x.height = 1;
  y = x;
  memset(x.block_hash, 0x11, 32);
  memset(y.block_hash, 0x22, 32);
  tu_check("sign", cairn_vote_sign(&x, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), k.sk));
  tu_check("sign", cairn_vote_sign(&y, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), k.sk));
  tu_check("evidence", cairn_evidence_from_votes(&e, &x, &y));
  tu_tx_init(tx, CAIRN_TX_EVIDENCE, sender->pk, seq);
  tu_check("encode", cairn_evidence_encode(tx->u.evidence.evidence,
                                           CAIRN_EVIDENCE_BYTES, &len, &e));
  tu_tx_sign(tx, sender);
}

/* Each EVIDENCE transaction is a slashing event of its offender, also of
 * one the report has not seen in a set (it gets a row); an offender that
 * does not fit is refused with the report unchanged. */
static void test_slashing_events(void **state) {
  (void)state;
  cairn_genesis *g = genesis();
  cairn_report *r = new_report(g);
  fake_block *b = malloc(sizeof *b);
  cairn_valset *vs = malloc(sizeof *vs);
  assert_true(b != NULL && vs != NULL);
  make_set(vs, 20, 2);
  tu_key m0;
  tu_member(&m0, 0);
  tu_vkey k20, k30, k31;
  tu_validator(&k20, 20);
  tu_validator(&k30, 30);
  tu_validator(&k31, 31);
  cairn_tx t[2];
  evidence_tx(&t[0], &m0, 1, 20);
  fake_next(b, r, t, 1, vs->v[0].pubkey);
  sign_by(&b->c, vs, 0x3u);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), CAIRN_OK);
  assert_int_equal(row_of(r, k20.pk)->slashing_events, 1);
  assert_int_equal(r->tx_types[CAIRN_TX_EVIDENCE], 1);
  assert_int_equal(r->n_validators, 3);
  /* An offender outside every set the report saw. */
  evidence_tx(&t[0], &m0, 2, 30);
  evidence_tx(&t[1], &m0, 3, 20);
  fake_next(b, r, t, 2, vs->v[0].pubkey);
  sign_by(&b->c, vs, 0x3u);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), CAIRN_OK);
  assert_int_equal(r->n_validators, 4);
  const cairn_report_validator *v30 = row_of(r, k30.pk);
  assert_non_null(v30);
  assert_int_equal(v30->slashing_events, 1);
  assert_int_equal(v30->blocks_in_set, 0);
  assert_string_equal(v30->name, "");
  assert_int_equal(row_of(r, k20.pk)->slashing_events, 2);
  for (uint32_t i = 1; i < r->n_validators; i++)
    assert_true(memcmp(r->validators[i - 1].pubkey, r->validators[i].pubkey,
                       32) < 0);
  /* A full report (keys above every real one, still ascending): the
   * known set fits, a new offender does not. */
  for (uint32_t i = r->n_validators; i < CAIRN_REPORT_VALIDATORS_MAX; i++) {
    memset(&r->validators[i], 0, sizeof r->validators[i]);
    memset(r->validators[i].pubkey, 0xff, 28);
    cairn_be32_write(r->validators[i].pubkey + 28, i);
  }
  assert_true(memcmp(r->validators[3].pubkey, r->validators[4].pubkey, 32) <
              0);
  r->n_validators = CAIRN_REPORT_VALIDATORS_MAX;
  evidence_tx(&t[0], &m0, 4, 31);
  fake_next(b, r, t, 1, vs->v[0].pubkey);
  sign_by(&b->c, vs, 0x3u);
  expect_refused(r, b, vs, CAIRN_ERR_LIMIT);
  assert_null(row_of(r, k31.pk));
  fake_next(b, r, NULL, 0, vs->v[0].pubkey);
  sign_by(&b->c, vs, 0x3u);
  assert_int_equal(cairn_report_add_block(r, &b->h, b->hash, b->txs, &b->c,
                                          vs), CAIRN_OK);
  free(vs);
  free(b);
  free(r);
  free(g);
}

/* ---- finish, against real stores ---- */

typedef struct chain_fx {
  char dir[64];
  cairn_genesis *g;
  uint64_t tip;
} chain_fx;

static void commit_next(cairn_chain *c, const cairn_tx *txs, size_t n) {
  uint8_t bufs[MAX_TXS][CAIRN_TX_BYTES_MAX];
  cairn_slice s[MAX_TXS];
  for (size_t i = 0; i < n; i++) {
    s[i].p = bufs[i];
    s[i].len = tu_tx_bytes(bufs[i], sizeof bufs[i], &txs[i]);
  }
  tu_vkey vk;
  tu_validator(&vk, 0);
  cairn_tip tip;
  cairn_chain_tip(c, &tip);
  cairn_proposal *p = NULL;
  assert_int_equal(cairn_chain_propose(c, s, n, TU_GENESIS_TIME_MS +
                                       (tip.height + 1) * 1000, vk.pk, NULL,
                                       NULL, &p), CAIRN_OK);
  assert_int_equal(p->header.tx_count, n);
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  tu_commit_sign(cm, p->header.height, p->hash, &vk);
  assert_int_equal(cairn_chain_commit_proposal(c, p, cm), CAIRN_OK);
  free(cm);
  cairn_proposal_free(p);
}

/* Four blocks: coffee issues 100 and three coupons (expiring at height 2,
 * at 1000, and one that is redeemed), 30 points are redeemed, 7
 * transferred, pizza issues 5. */
static void build_chain(chain_fx *fx) {
  tu_key coffee, pizza, m0, m1;
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  tu_issuer(&pizza, TU_BRAND_PIZZA);
  tu_member(&m0, 0);
  tu_member(&m1, 1);
  fx->g = genesis();
  tu_tmpdir(fx->dir, sizeof fx->dir);
  cairn_store *s = tu_store_open(fx->dir);
  cairn_chain *c = NULL;
  assert_int_equal(cairn_chain_open(&c, s, fx->g), CAIRN_OK);
  cairn_tx t[4];
  uint8_t coupon[32];
  tu_tx_issue(&t[0], &coffee, 1, TU_BRAND_COFFEE, m0.pk, 100);
  tu_tx_coupon_issue(&t[1], &coffee, 2, TU_BRAND_COFFEE, m0.pk, 2, true);
  tu_tx_coupon_issue(&t[2], &coffee, 3, TU_BRAND_COFFEE, m0.pk, 1000, true);
  tu_tx_coupon_issue(&t[3], &coffee, 4, TU_BRAND_COFFEE, m1.pk, 1000, true);
  tu_txid(coupon, &t[3]);
  commit_next(c, t, 4);
  tu_tx_redeem(&t[0], &m0, 1, TU_BRAND_COFFEE, 30, "A-1");
  tu_tx_coupon_redeem(&t[1], &m1, 1, coupon, TU_BRAND_COFFEE, "A-2");
  commit_next(c, t, 2);
  tu_tx_transfer(&t[0], &m0, 2, TU_BRAND_COFFEE, m1.pk, 7);
  commit_next(c, t, 1);
  tu_tx_issue(&t[0], &pizza, 1, TU_BRAND_PIZZA, m1.pk, 5);
  commit_next(c, t, 1);
  fx->tip = 4;
  cairn_chain_close(c);
  cairn_store_close(s);
}

static void chain_fx_free(chain_fx *fx) {
  tu_rmtree(fx->dir);
  free(fx->g);
}

/* The report of the chain in dir, blocks tallied from its store and
 * finished on its state. */
static cairn_err report_of(const chain_fx *fx, const char *dir,
                           cairn_report **out, char *why, size_t cap) {
  cairn_report *r = new_report(fx->g);
  cairn_store *s = NULL;
  cairn_rtxn *rt = NULL;
  cairn_store_opts o = {.read_only = true};
  cairn_slice *txs = malloc(sizeof *txs * CAIRN_BLOCK_TXS_MAX);
  cairn_commit *c = malloc(sizeof *c);
  assert_true(txs != NULL && c != NULL);
  assert_int_equal(cairn_store_open(&s, dir, &o), CAIRN_OK);
  assert_int_equal(cairn_store_read_begin(s, &rt), CAIRN_OK);
  for (uint64_t h = 1; h <= fx->tip; h++) {
    const uint8_t *b, *cb;
    size_t blen, clen;
    cairn_block_header hdr;
    uint8_t hash[32];
    assert_int_equal(cairn_store_block(rt, h, &b, &blen, &cb, &clen),
                     CAIRN_OK);
    assert_int_equal(cairn_block_decode(&hdr, txs, CAIRN_BLOCK_TXS_MAX, b,
                                        blen), CAIRN_OK);
    assert_int_equal(cairn_block_hash(hash, &hdr), CAIRN_OK);
    assert_int_equal(cairn_commit_decode(c, cb, clen), CAIRN_OK);
    assert_int_equal(cairn_report_add_block(r, &hdr, hash, txs, c,
                                            &fx->g->validators), CAIRN_OK);
  }
  cairn_err err = cairn_report_finish(r, rt, why, cap);
  cairn_store_read_end(rt);
  cairn_store_close(s);
  free(txs);
  free(c);
  *out = r;
  return err;
}

static void test_finish_clean_chain(void **state) {
  (void)state;
  chain_fx fx;
  build_chain(&fx);
  cairn_report *r = NULL;
  char why[WHY_BYTES] = "";
  cairn_err err = report_of(&fx, fx.dir, &r, why, sizeof why);
  if (err != CAIRN_OK) fail_msg("%s", why);
  assert_true(r->finished);
  const cairn_report_brand *c = &r->brands[0], *p = &r->brands[1];
  assert_int_equal(c->issued, 100);
  assert_int_equal(c->redeemed_home, 30);
  assert_int_equal(c->redeemed_partner + c->expired + c->reversed, 0);
  assert_int_equal(c->outstanding, 70);
  assert_int_equal(c->balances, 70);
  assert_int_equal(c->coupons_issued, 3);
  assert_int_equal(c->coupons_redeemed, 1);
  assert_int_equal(c->coupons_expired, 1); /* expiry 2, tip 4 */
  assert_int_equal(c->coupons_outstanding, 1);
  assert_int_equal(p->issued, 5);
  assert_int_equal(p->outstanding, 5);
  assert_int_equal(r->brands[2].outstanding, 0);
  assert_int_equal(r->n_settlements, 0);
  /* finish can be repeated: it starts over from the tallies. */
  free(r);
  chain_fx_free(&fx);
}

/* ---- altering the state of a copy ---- */

static void copy_dir(const char *src, char *dst, size_t cap) {
  static const char *const files[] = {"data.mdb", "lock.mdb"};
  tu_tmpdir(dst, cap);
  for (size_t i = 0; i < 2; i++) {
    char from[128], to[128], *data = NULL;
    size_t len = 0;
    snprintf(from, sizeof from, "%s/%s", src, files[i]);
    snprintf(to, sizeof to, "%s/%s", dst, files[i]);
    if (cairn_file_read_all(from, 1u << 30, &data, &len) != CAIRN_OK)
      continue;
    assert_int_equal(cairn_file_write_atomic(to, data, len, 0600, false),
                     CAIRN_OK);
    free(data);
  }
}

static void raw_put(const char *dir, const char *db, const void *key,
                    size_t klen, const void *val, size_t vlen, bool del) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_set_mapsize(env, 1u << 26), 0);
  assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
  if (del) assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
  else assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

/* The brand_stats record of brand 1 with one counter replaced. */
static void put_stats(const char *dir, size_t field, uint64_t v) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  uint8_t key[4], val[256];
  cairn_be32_write(key, TU_BRAND_COFFEE);
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "brand_stats", 0, &dbi), 0);
  MDB_val k = {4, key}, got;
  assert_int_equal(mdb_get(txn, dbi, &k, &got), 0);
  size_t len = got.mv_size;
  assert_true(len <= sizeof val && 8 * field + 8 <= len);
  memcpy(val, got.mv_data, len);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  cairn_be64_write(val + 8 * field, v);
  raw_put(dir, "brand_stats", key, 4, val, len, false);
}

static void expect_finish_fails(const chain_fx *fx, const char *dir,
                                cairn_err want, const char *part) {
  cairn_report *r = NULL;
  char why[WHY_BYTES] = "";
  assert_int_equal(report_of(fx, dir, &r, why, sizeof why), want);
  assert_false(r->finished);
  if (strstr(why, part) == NULL) fail_msg("expected '%s' in: %s", part, why);
  free(r);
}

static void test_finish_cross_checks(void **state) {
  (void)state;
  chain_fx fx;
  char copy[64];
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[8];
  tu_key m0;
  build_chain(&fx);
  tu_member(&m0, 0);
  /* A balance that does not match what was issued and redeemed. */
  copy_dir(fx.dir, copy, sizeof copy);
  cairn_state_balance_key(key, m0.pk, TU_BRAND_COFFEE);
  cairn_be64_write(val, 64);
  raw_put(copy, "balances", key, sizeof key, val, 8, false);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "coffee does not "
                      "conserve its points");
  tu_rmtree(copy);
  /* Points of a brand that does not exist. */
  copy_dir(fx.dir, copy, sizeof copy);
  cairn_state_balance_key(key, m0.pk, 9);
  raw_put(copy, "balances", key, sizeof key, val, 8, false);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "brand 9, which does "
                      "not exist");
  tu_rmtree(copy);
  /* Counters that disagree with the transactions. */
  copy_dir(fx.dir, copy, sizeof copy);
  put_stats(copy, 0, 101);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "ISSUE transactions "
                      "credit 100 points");
  put_stats(copy, 0, 100);
  put_stats(copy, 1, 29);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "REDEEM transactions "
                      "burn 30 points");
  put_stats(copy, 1, 130);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "more points left");
  tu_rmtree(copy);
  /* A counters record that does not decode. */
  copy_dir(fx.dir, copy, sizeof copy);
  raw_put(copy, "brand_stats", "\0\0\0\1", 4, "x", 1, false);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "brand_stats holds a "
                      "record of 4 + 1 bytes");
  tu_rmtree(copy);
  chain_fx_free(&fx);
}

static void test_finish_coupons_and_settlements(void **state) {
  (void)state;
  chain_fx fx;
  char copy[64], why[WHY_BYTES] = "";
  build_chain(&fx);
  copy_dir(fx.dir, copy, sizeof copy);
  /* Settlements are read from the state: coffee owes pizza 16 points. */
  uint8_t key[8], val[8];
  cairn_be32_write(key, TU_BRAND_COFFEE);
  cairn_be32_write(key + 4, TU_BRAND_PIZZA);
  cairn_be64_write(val, 16);
  raw_put(copy, "settlements", key, 8, val, 8, false);
  cairn_report *r = NULL;
  assert_int_equal(report_of(&fx, copy, &r, why, sizeof why), CAIRN_OK);
  assert_int_equal(r->n_settlements, 1);
  assert_int_equal(r->settlements[0].debtor, TU_BRAND_COFFEE);
  assert_int_equal(r->settlements[0].creditor, TU_BRAND_PIZZA);
  assert_int_equal(r->settlements[0].points, 16);
  free(r);
  cairn_be32_write(key + 4, 77);
  raw_put(copy, "settlements", key, 8, val, 8, false);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "brand 77");
  tu_rmtree(copy);
  /* A coupon record removed from the state. */
  copy_dir(fx.dir, copy, sizeof copy);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  MDB_cursor *cur;
  MDB_val k, v;
  uint8_t id[32];
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
  assert_int_equal(mdb_env_open(env, copy, MDB_RDONLY, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, "coupons", 0, &dbi), 0);
  assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
  assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
  memcpy(id, k.mv_data, 32);
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  mdb_env_close(env);
  raw_put(copy, "coupons", id, 32, NULL, 0, true);
  expect_finish_fails(&fx, copy, CAIRN_ERR_CORRUPT, "3 coupons were "
                      "issued, but the state holds 2");
  tu_rmtree(copy);
  chain_fx_free(&fx);
}

/* ---- output ---- */

/* A finished report with a settlement and a validator whose name needs
 * quoting in CSV. */
static cairn_report *sample_report(chain_fx *fx) {
  cairn_report *r = NULL;
  char why[WHY_BYTES] = "";
  build_chain(fx);
  assert_int_equal(report_of(fx, fx->dir, &r, why, sizeof why), CAIRN_OK);
  r->settlements[0] = (cairn_report_settlement){TU_BRAND_COFFEE,
                                                TU_BRAND_BOOKS, 16};
  r->n_settlements = 1;
  snprintf(r->validators[0].name, sizeof r->validators[0].name,
           "val \"zero\", first");
  return r;
}

static void test_json(void **state) {
  (void)state;
  chain_fx fx;
  cairn_report *r = sample_report(&fx);
  json_t *j = cairn_report_json(r);
  assert_non_null(j);
  json_t *brands = json_object_get(j, "brands");
  assert_true(json_is_array(brands));
  assert_int_equal(json_array_size(brands), 3);
  json_t *coffee = json_array_get(brands, 0);
  assert_string_equal(json_string_value(json_object_get(coffee, "name")),
                      "coffee");
  assert_int_equal(json_integer_value(json_object_get(coffee, "id")), 1);
  /* Amounts are decimal strings. */
  assert_string_equal(json_string_value(json_object_get(coffee, "issued")),
                      "100");
  assert_string_equal(
      json_string_value(json_object_get(coffee, "outstanding")), "70");
  assert_string_equal(
      json_string_value(json_object_get(coffee, "redeemed_partner")), "0");
  json_t *coupons = json_array_get(json_object_get(j, "coupons"), 0);
  assert_int_equal(json_integer_value(json_object_get(coupons, "expired")),
                   1);
  json_t *settle = json_array_get(json_object_get(j, "settlement"), 0);
  assert_string_equal(json_string_value(json_object_get(settle, "debtor")),
                      "coffee");
  assert_string_equal(json_string_value(json_object_get(settle, "creditor")),
                      "books");
  assert_string_equal(json_string_value(json_object_get(settle, "points")),
                      "16");
  json_t *v = json_array_get(json_object_get(j, "validators"), 0);
  assert_int_equal(json_integer_value(json_object_get(v, "blocks_proposed")),
                   4);
  assert_int_equal(strlen(json_string_value(json_object_get(v, "pubkey"))),
                   64);
  json_t *types = json_object_get(j, "transaction_types");
  assert_int_equal(json_integer_value(json_object_get(types, "issue")), 2);
  json_decref(j);
  free(r);
  chain_fx_free(&fx);
}

/* Print into a string. */
static char *capture(void (*print)(FILE *, const cairn_report *),
                     const cairn_report *r) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  print(f, r);
  assert_int_equal(fclose(f), 0);
  return buf;
}

static void test_text(void **state) {
  (void)state;
  chain_fx fx;
  cairn_report *r = sample_report(&fx);
  char *out = capture(cairn_report_print_text, r);
  /* The points table: a title, a header and a row per brand, all rows as
   * wide as the header (right-aligned numbers). */
  const char *t = strstr(out, "points per brand");
  assert_non_null(t);
  char *lines[5];
  char *copy = strdup(t);
  assert_non_null(copy);
  char *save = NULL;
  lines[0] = strtok_r(copy, "\n", &save);
  for (int i = 1; i < 5; i++) lines[i] = strtok_r(NULL, "\n", &save);
  assert_non_null(strstr(lines[1], "outstanding"));
  assert_non_null(strstr(lines[2], "coffee"));
  for (int i = 2; i < 5; i++) assert_int_equal(strlen(lines[i]),
                                               strlen(lines[1]));
  assert_non_null(strstr(lines[2], "  70"));
  free(copy);
  assert_non_null(strstr(out, "settlement matrix"));
  assert_non_null(strstr(out, "books"));
  assert_non_null(strstr(out, "coupons per brand"));
  assert_non_null(strstr(out, "validators"));
  free(out);
  /* No settlement: the table says so. */
  r->n_settlements = 0;
  out = capture(cairn_report_print_text, r);
  assert_non_null(strstr(out, "(none: no brand owes another)"));
  free(out);
  free(r);
  chain_fx_free(&fx);
}

static void test_csv(void **state) {
  (void)state;
  chain_fx fx;
  cairn_report *r = sample_report(&fx);
  char *out = capture(cairn_report_print_csv, r);
  static const char *const sections[] = {
      "# brands\nbrand,brand_id,issued,redeemed_home,redeemed_partner,"
      "expired,reversed,held,outstanding\ncoffee,1,100,30,0,0,0,0,70\n",
      "# settlement\ndebtor,debtor_id,creditor,creditor_id,points\n"
      "coffee,1,books,3,16\n\n",
      "# coupons\nbrand,brand_id,issued,redeemed,expired,outstanding\n"
      "coffee,1,3,1,1,1\n",
      "# validators\npubkey,name,power,blocks_proposed,votes_missed,"
      "slashing_events,bonded,jailed,blocks_in_set,in_set\n"};
  const char *at = out;
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    const char *s = strstr(at, sections[i]);
    if (s == NULL) fail_msg("section %zu missing or out of order in:\n%s", i,
                            out);
    at = s;
  }
  /* A name with a comma and quotes is quoted, quotes doubled. */
  assert_non_null(strstr(out, ",\"val \"\"zero\"\", first\",10,4,0,0,10,"
                              "false,4,1-4\n"));
  free(out);
  free(r);
  chain_fx_free(&fx);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init),
      cmocka_unit_test(test_tallies),
      cmocka_unit_test(test_refused_blocks),
      cmocka_unit_test(test_votes),
      cmocka_unit_test(test_set_changes),
      cmocka_unit_test(test_slashing_events),
      cmocka_unit_test(test_finish_clean_chain),
      cmocka_unit_test(test_finish_cross_checks),
      cmocka_unit_test(test_finish_coupons_and_settlements),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_text),
      cmocka_unit_test(test_csv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
