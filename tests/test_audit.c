/*
 * test_audit.c - the auditor replays chains and catches every alteration.
 *
 * Chains are built with the chain API in temporary stores (one validator,
 * or four with unequal power) and then audited:
 *   - clean chains pass, with the right counts and report, leave the
 *     source untouched and no scratch store behind;
 *   - tampering through LMDB (the store's API offers no way, on purpose)
 *     is found at the right height or table: deleted, swapped, duplicated
 *     and extra blocks and commits, altered balances, indexes and tips;
 *   - a commit signed by exactly 2/3 of the stake is refused, and votes
 *     missed and blocks proposed are counted per validator;
 *   - continuous audits: only new blocks are verified, a rewritten history,
 *     a truncated one, another chain and two disagreeing sources raise the
 *     right alarm, and an interrupted run keeps its checkpoint;
 *   - single-byte flips at seeded random offsets of data.mdb, and inside
 *     every stored block, commit and a balance, are each caught (naming the
 *     block's height when a block record changed) or provably harmless: a
 *     logical dump of every database is unchanged (free space), or equals
 *     the previous commit's (LMDB fell back to its older meta page);
 *   - a reader process that dies is reported as corrupt data, not a crash;
 *   - signature checks spread over threads give the same verdict, down to
 *     the transaction named, as checking them on one.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "cairn/audit.h"
#include "cairn/chain.h"
#include "cairn/checkpoint.h"
#include "cairn/proposer.h"
#include "cairn/encoding.h"
#include "cairn/evidence.h"
#include "cairn/file.h"
#include "cairn/merkle.h"
#include "cairn/report.h"
#include "cairn/state.h"
#include "cairn/store.h"
#include "testutil.h"

#define N_BLOCKS 4
#define MAX_VALIDATORS 4
#define WHY_BYTES 2048

/* ---- building chains ---- */

/* A chain being built: its store, the validator keys (in set order) and
 * who proposes and signs the next block. */
typedef struct builder {
  char dir[64];
  cairn_genesis *g;
  cairn_store *s;
  cairn_chain *c;
  tu_vkey vk[MAX_VALIDATORS];
  size_t n_vk;
  unsigned signers; /* bit i: validator i signs commits */
  size_t proposer;
} builder;

/* A genesis with n validators of the given powers, in key order. */
static cairn_genesis *genesis_with(size_t n, const uint64_t *power,
                                   tu_vkey *keys) {
  cairn_genesis *g = malloc(sizeof *g);
  assert_non_null(g);
  tu_genesis(g);
  for (size_t i = 0; i < n; i++) tu_validator(&keys[i], (uint32_t)i);
  for (size_t i = 1; i < n; i++) /* insertion sort by public key */
    for (size_t j = i; j > 0 && memcmp(keys[j - 1].pk, keys[j].pk, 32) > 0;
         j--) {
      tu_vkey t = keys[j];
      keys[j] = keys[j - 1];
      keys[j - 1] = t;
    }
  g->validators.n = (uint32_t)n;
  g->validators.total_power = 0;
  for (size_t i = 0; i < n; i++) {
    cairn_validator *v = &g->validators.v[i];
    memset(v, 0, sizeof *v);
    memcpy(v->pubkey, keys[i].pk, 32);
    v->power = power[i];
    v->name_len = (uint8_t)snprintf(v->name, sizeof v->name, "val%zu", i);
    g->validators.total_power += power[i];
  }
  return g;
}

static void builder_open(builder *b, size_t n_validators,
                         const uint64_t *power) {
  memset(b, 0, sizeof *b);
  static const uint64_t one[1] = {TU_VALIDATOR_POWER};
  b->n_vk = n_validators;
  b->g = genesis_with(n_validators, power != NULL ? power : one, b->vk);
  b->signers = (1u << n_validators) - 1u;
  tu_tmpdir(b->dir, sizeof b->dir);
  b->s = tu_store_open(b->dir);
  assert_int_equal(cairn_chain_open(&b->c, b->s, b->g), CAIRN_OK);
}

/* Reopen a builder's closed store (to add blocks later). */
static void builder_reopen(builder *b) {
  b->s = tu_store_open(b->dir);
  assert_int_equal(cairn_chain_open(&b->c, b->s, b->g), CAIRN_OK);
}

static void builder_close(builder *b) {
  if (b->c != NULL) cairn_chain_close(b->c);
  if (b->s != NULL) cairn_store_close(b->s);
  b->c = NULL;
  b->s = NULL;
}

static void builder_free(builder *b) {
  builder_close(b);
  tu_rmtree(b->dir);
  free(b->g);
}

/* A commit for (height, hash) signed by the validators in mask. */
static void commit_by(cairn_commit *cm, const builder *b, uint64_t height,
                      const uint8_t hash[32], unsigned mask) {
  memset(cm, 0, sizeof *cm);
  cm->height = height;
  memcpy(cm->block_hash, hash, 32);
  for (size_t i = 0; i < b->n_vk; i++) {
    if (!(mask & (1u << i))) continue;
    cairn_vote v;
    memset(&v, 0, sizeof v);
    v.type = CAIRN_VOTE_PRECOMMIT;
    v.height = height;
    memcpy(v.block_hash, hash, 32);
    tu_check("cairn_vote_sign",
             cairn_vote_sign(&v, (const uint8_t *)TU_CHAIN_ID,
                             strlen(TU_CHAIN_ID), b->vk[i].sk));
    tu_check("cairn_commit_add", cairn_commit_add(cm, v.validator, v.sig));
  }
}

/* Propose txs as the next block and commit it. */
static void add_block(builder *b, const cairn_tx *txs, size_t n) {
  uint8_t(*bufs)[CAIRN_TX_BYTES_MAX] = malloc(n * sizeof *bufs + 1);
  cairn_slice *slices = malloc(n * sizeof *slices + 1);
  assert_non_null(bufs);
  assert_non_null(slices);
  for (size_t i = 0; i < n; i++) {
    slices[i].p = bufs[i];
    slices[i].len = tu_tx_bytes(bufs[i], sizeof bufs[i], &txs[i]);
  }
  cairn_tip tip;
  cairn_chain_tip(b->c, &tip);
  uint64_t height = tip.height + 1;
  cairn_proposal *p = NULL;
  assert_int_equal(cairn_chain_propose(b->c, slices, n,
                                       TU_GENESIS_TIME_MS + height * 1000,
                                       b->vk[b->proposer].pk, NULL, NULL, &p),
                   CAIRN_OK);
  assert_int_equal(p->header.tx_count, n); /* nothing was left out */
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  commit_by(cm, b, height, p->hash, b->signers);
  assert_int_equal(cairn_chain_commit_proposal(b->c, p, cm), CAIRN_OK);
  free(cm);
  cairn_proposal_free(p);
  free(bufs);
  free(slices);
}

/* ---- the shared fixture: four blocks, one validator ---- */

typedef struct fixture {
  builder b;
  tu_key coffee, m0, m1;
  uint8_t coupon[32];
  uint64_t txs;
} fixture;

static void build_fixture_chain(fixture *f) {
  builder *b = &f->b;
  builder_open(b, 1, NULL);
  cairn_tx t[2];
  tu_tx_issue(&t[0], &f->coffee, 1, TU_BRAND_COFFEE, f->m0.pk, 100);
  tu_tx_issue(&t[1], &f->coffee, 2, TU_BRAND_COFFEE, f->m1.pk, 50);
  add_block(b, t, 2);
  tu_tx_transfer(&t[0], &f->m0, 1, TU_BRAND_COFFEE, f->m1.pk, 30);
  tu_tx_redeem(&t[1], &f->m0, 2, TU_BRAND_COFFEE, 10, "A-1001");
  add_block(b, t, 2);
  tu_tx_coupon_issue(&t[0], &f->coffee, 3, TU_BRAND_COFFEE, f->m0.pk, 1000,
                     true);
  tu_txid(f->coupon, &t[0]);
  add_block(b, t, 1);
  tu_tx_coupon_redeem(&t[0], &f->m0, 3, f->coupon, TU_BRAND_COFFEE, "A-2");
  add_block(b, t, 1);
  f->txs = 6;
  builder_close(b);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  tu_issuer(&f->coffee, TU_BRAND_COFFEE);
  tu_member(&f->m0, 0);
  tu_member(&f->m1, 1);
  build_fixture_chain(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  builder_free(&f->b);
  free(f);
  return 0;
}

/* ---- stores, copies and raw LMDB ---- */

/* Copy every regular file of src into dst (a new temporary directory
 * unless dst already names one). */
static void copy_files(const char *src, const char *dst) {
  DIR *d = opendir(src);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char from[512], to[512], *data = NULL;
    size_t len = 0;
    snprintf(from, sizeof from, "%s/%s", src, e->d_name);
    snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
    assert_int_equal(cairn_file_read_all(from, 1u << 30, &data, &len),
                     CAIRN_OK);
    unlink(to);
    assert_int_equal(cairn_file_write_atomic(to, data, len, 0600, false),
                     CAIRN_OK);
    free(data);
  }
  closedir(d);
}

static void copy_store(const char *src, char *dst, size_t cap) {
  tu_tmpdir(dst, cap);
  copy_files(src, dst);
}

typedef struct raw {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
} raw;

static void raw_open(raw *r, const char *dir, const char *db) {
  assert_int_equal(mdb_env_create(&r->env), 0);
  assert_int_equal(mdb_env_set_maxdbs(r->env, 64), 0);
  assert_int_equal(mdb_env_set_mapsize(r->env, 1u << 26), 0);
  assert_int_equal(mdb_env_open(r->env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
  assert_int_equal(mdb_dbi_open(r->txn, db, 0, &r->dbi), 0);
}

static void raw_commit(raw *r) {
  assert_int_equal(mdb_txn_commit(r->txn), 0);
  mdb_env_close(r->env);
}

static void raw_put(const char *dir, const char *db, const void *key,
                    size_t klen, const void *val, size_t vlen) {
  raw r;
  raw_open(&r, dir, db);
  MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
  assert_int_equal(mdb_put(r.txn, r.dbi, &k, &v, 0), 0);
  raw_commit(&r);
}

static void raw_del(const char *dir, const char *db, const void *key,
                    size_t klen) {
  raw r;
  raw_open(&r, dir, db);
  MDB_val k = {klen, (void *)key};
  assert_int_equal(mdb_del(r.txn, r.dbi, &k, NULL), 0);
  raw_commit(&r);
}

/* Copy out the value of key (caller frees). */
static uint8_t *raw_get(const char *dir, const char *db, const void *key,
                        size_t klen, size_t *len) {
  raw r;
  raw_open(&r, dir, db);
  MDB_val k = {klen, (void *)key}, v;
  assert_int_equal(mdb_get(r.txn, r.dbi, &k, &v), 0);
  uint8_t *out = malloc(v.mv_size + 1);
  assert_non_null(out);
  memcpy(out, v.mv_data, v.mv_size);
  *len = v.mv_size;
  mdb_txn_abort(r.txn);
  mdb_env_close(r.env);
  return out;
}

static void be64(uint8_t out[8], uint64_t v) { cairn_be64_write(out, v); }

/* Move the record at height `from` of db to height `to`. */
static void raw_copy_height(const char *dir, const char *db, uint64_t from,
                            uint64_t to) {
  uint8_t kf[8], kt[8];
  size_t len = 0;
  be64(kf, from);
  be64(kt, to);
  uint8_t *v = raw_get(dir, db, kf, 8, &len);
  raw_put(dir, db, kt, 8, v, len);
  free(v);
}

/* ---- running audits ---- */

static cairn_audit_result *audit(const char *dir, char *why, size_t cap) {
  cairn_audit_result *r = malloc(sizeof *r);
  assert_non_null(r);
  assert_int_equal(cairn_audit_datadir(dir, r, NULL, why, cap), CAIRN_OK);
  return r;
}

/* Audit a tampered copy and check where it failed. */
static void expect_failed(const char *dir, cairn_err failure, uint64_t height,
                          cairn_table table, const char *why_part) {
  char why[WHY_BYTES] = "";
  cairn_audit_result *r = audit(dir, why, sizeof why);
  if (r->ok) fail_msg("the audit of %s passed", dir);
  if (failure != CAIRN_OK && r->failure != failure)
    fail_msg("expected %s, got %s: %s", cairn_errname(failure),
             cairn_errname(r->failure), why);
  assert_int_not_equal(r->failure, CAIRN_OK);
  assert_int_equal(r->failed_height, height);
  assert_int_equal(r->failed_table, table);
  if (why_part != NULL && strstr(why, why_part) == NULL)
    fail_msg("expected '%s' in: %s", why_part, why);
  free(r);
}

/* ---- clean chains ---- */

static bool count_progress(void *ctx, const cairn_audit_progress *p) {
  uint64_t *last = ctx;
  assert_int_equal(p->height, *last + 1);
  assert_int_equal(p->target, N_BLOCKS);
  assert_int_equal(p->blocks_done, p->height);
  assert_int_equal(p->blocks_todo, N_BLOCKS);
  *last = p->height;
  return true;
}

static void test_clean_chain_passes(void **state) {
  fixture *f = *state;
  char scratch[64], why[WHY_BYTES] = "";
  tu_tmpdir(scratch, sizeof scratch);
  char *old_tmp = getenv("TMPDIR");
  setenv("TMPDIR", scratch, 1);
  cairn_audit_result *r = malloc(sizeof *r);
  cairn_report *rep = calloc(1, sizeof *rep);
  assert_non_null(r);
  assert_non_null(rep);
  uint64_t last = 0;
  cairn_audit_source src;
  assert_int_equal(cairn_audit_source_datadir(&src, f->b.dir, why,
                                              sizeof why), CAIRN_OK);
  cairn_audit_config cfg = {.sources = &src, .n_sources = 1,
                            .progress = count_progress, .progress_ctx = &last,
                            .report = rep};
  assert_int_equal(cairn_audit_run(&cfg, r, why, sizeof why), CAIRN_OK);
  cairn_audit_source_close(&src);
  if (old_tmp != NULL) setenv("TMPDIR", old_tmp, 1);
  else unsetenv("TMPDIR");
  if (!r->ok) fail_msg("audit failed: %s", why);
  assert_int_equal(last, N_BLOCKS);
  assert_int_equal(r->blocks, N_BLOCKS);
  assert_int_equal(r->tip_height, N_BLOCKS);
  assert_int_equal(r->txs, f->txs);
  assert_string_equal(r->chain_id, TU_CHAIN_ID);
  assert_true(r->have_checkpoint);
  assert_int_equal(r->checkpoint.height, N_BLOCKS);
  assert_memory_equal(r->checkpoint.block_hash, r->tip_hash, 32);
  assert_memory_equal(r->checkpoint.state_hash, r->app_hash, 32);
  /* coffee: 100 + 50 issued, 10 redeemed; the transfer moves 30 inside. */
  assert_true(rep->finished);
  assert_int_equal(rep->n_brands, 3);
  assert_string_equal(rep->brands[0].name, "coffee");
  assert_int_equal(rep->brands[0].issued, 150);
  assert_int_equal(rep->brands[0].redeemed_home, 10);
  assert_int_equal(rep->brands[0].outstanding, 140);
  assert_int_equal(rep->brands[0].balances, 140);
  assert_int_equal(rep->brands[0].coupons_issued, 1);
  assert_int_equal(rep->brands[0].coupons_redeemed, 1);
  assert_int_equal(rep->brands[1].outstanding, 0);
  assert_int_equal(rep->n_validators, 1);
  assert_int_equal(rep->validators[0].proposed, N_BLOCKS);
  assert_int_equal(rep->validators[0].missed, 0);
  /* The scratch store is gone. */
  DIR *d = opendir(scratch);
  assert_non_null(d);
  struct dirent *e;
  int entries = 0;
  while ((e = readdir(d)) != NULL) entries += e->d_name[0] != '.';
  closedir(d);
  assert_int_equal(entries, 0);
  rmdir(scratch);
  free(rep);
  free(r);
}

static void test_source_not_changed(void **state) {
  fixture *f = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/data.mdb", f->b.dir);
  char *before = NULL, *after = NULL;
  size_t blen = 0, alen = 0;
  assert_int_equal(cairn_file_read_all(path, 1u << 30, &before, &blen),
                   CAIRN_OK);
  char why[512];
  free(audit(f->b.dir, why, sizeof why));
  free(audit(f->b.dir, why, sizeof why));
  assert_int_equal(cairn_file_read_all(path, 1u << 30, &after, &alen),
                   CAIRN_OK);
  assert_int_equal(blen, alen);
  assert_memory_equal(before, after, blen);
  free(before);
  free(after);
}

static void test_no_store(void **state) {
  (void)state;
  cairn_audit_result *r = malloc(sizeof *r);
  assert_non_null(r);
  char why[512] = "";
  cairn_err err = cairn_audit_datadir("/nonexistent/cairn-data", r, NULL, why,
                                      sizeof why);
  assert_int_equal(err, CAIRN_ERR_NOT_FOUND);
  assert_false(r->ok);
  assert_non_null(strstr(why, "/nonexistent/cairn-data"));
  /* An empty directory is no store either, and stays empty. */
  char empty[64];
  tu_tmpdir(empty, sizeof empty);
  assert_int_equal(cairn_audit_datadir(empty, r, NULL, why, sizeof why),
                   CAIRN_ERR_NOT_FOUND);
  assert_false(r->ok);
  DIR *d = opendir(empty);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') fail_msg("the audit created %s", e->d_name);
  closedir(d);
  tu_rmtree(empty);
  free(r);
}

/* ---- blocks removed, reordered, duplicated; records altered ---- */

static void test_deleted_blocks(void **state) {
  fixture *f = *state;
  char copy[64];
  uint8_t key[8];
  for (uint64_t h = 2; h <= N_BLOCKS; h += N_BLOCKS - 2) {
    copy_store(f->b.dir, copy, sizeof copy);
    be64(key, h);
    raw_del(copy, "blocks", key, sizeof key);
    expect_failed(copy, CAIRN_ERR_NOT_FOUND, h, 0, "no block record");
    tu_rmtree(copy);
  }
  copy_store(f->b.dir, copy, sizeof copy);
  be64(key, 3);
  raw_del(copy, "commits", key, sizeof key);
  expect_failed(copy, CAIRN_ERR_NOT_FOUND, 3, 0, "no commit record");
  tu_rmtree(copy);
}

static void test_reordered_blocks(void **state) {
  fixture *f = *state;
  char copy[64];
  /* Blocks 2 and 3 swapped (their commits stay). */
  copy_store(f->b.dir, copy, sizeof copy);
  uint8_t k2[8], k3[8];
  size_t l2 = 0, l3 = 0;
  be64(k2, 2);
  be64(k3, 3);
  uint8_t *b2 = raw_get(copy, "blocks", k2, 8, &l2);
  uint8_t *b3 = raw_get(copy, "blocks", k3, 8, &l3);
  raw_put(copy, "blocks", k2, 8, b3, l3);
  raw_put(copy, "blocks", k3, 8, b2, l2);
  expect_failed(copy, CAIRN_ERR_BAD_HEIGHT, 2, 0, "height is 3");
  free(b2);
  free(b3);
  tu_rmtree(copy);
  /* Commits 2 and 3 swapped: block 2 arrives with block 3's commit. */
  copy_store(f->b.dir, copy, sizeof copy);
  b2 = raw_get(copy, "commits", k2, 8, &l2);
  b3 = raw_get(copy, "commits", k3, 8, &l3);
  raw_put(copy, "commits", k2, 8, b3, l3);
  raw_put(copy, "commits", k3, 8, b2, l2);
  expect_failed(copy, CAIRN_ERR_BAD_COMMIT, 2, 0, "commit");
  free(b2);
  free(b3);
  tu_rmtree(copy);
}

static void test_duplicated_blocks(void **state) {
  fixture *f = *state;
  char copy[64];
  /* Block 2 stored again at height 3, with or without its commit. */
  copy_store(f->b.dir, copy, sizeof copy);
  raw_copy_height(copy, "blocks", 2, 3);
  expect_failed(copy, CAIRN_ERR_BAD_HEIGHT, 3, 0, NULL);
  raw_copy_height(copy, "commits", 2, 3);
  expect_failed(copy, CAIRN_ERR_BAD_HEIGHT, 3, 0, NULL);
  tu_rmtree(copy);
  /* The last block and commit duplicated past the tip. */
  static const char *const dbs[] = {"blocks", "commits"};
  static const cairn_table tables[] = {CAIRN_T_BLOCKS, CAIRN_T_COMMITS};
  for (size_t i = 0; i < 2; i++) {
    copy_store(f->b.dir, copy, sizeof copy);
    raw_copy_height(copy, dbs[i], N_BLOCKS, N_BLOCKS + 1);
    expect_failed(copy, CAIRN_ERR_CORRUPT, 0, tables[i], "above the tip");
    tu_rmtree(copy);
  }
}

static void test_flipped_tx_byte(void **state) {
  fixture *f = *state;
  char copy[64];
  copy_store(f->b.dir, copy, sizeof copy);
  uint8_t key[8];
  be64(key, 2);
  size_t len = 0;
  uint8_t *block = raw_get(copy, "blocks", key, sizeof key, &len);
  block[len - 1] ^= 0x01; /* the last byte of the last tx's signature */
  raw_put(copy, "blocks", key, sizeof key, block, len);
  free(block);
  char why[WHY_BYTES] = "";
  cairn_audit_result *r = audit(copy, why, sizeof why);
  assert_false(r->ok);
  assert_int_equal(r->failed_height, 2);
  assert_int_equal(r->blocks, 1); /* block 1 was fine */
  assert_int_equal(r->failure, CAIRN_ERR_BAD_TX_ROOT);
  assert_non_null(strstr(why, "tx_root"));
  /* The good block before the bad one is checkpointed. */
  assert_true(r->have_checkpoint);
  assert_int_equal(r->checkpoint.height, 1);
  free(r);
  tu_rmtree(copy);
}

static void test_altered_balance(void **state) {
  fixture *f = *state;
  char copy[64], key_hex[2 * CAIRN_BALANCE_KEY_BYTES + 1];
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[8];
  cairn_state_balance_key(key, f->m0.pk, TU_BRAND_COFFEE);
  cairn_hex_encode(key_hex, sizeof key_hex, key, sizeof key);
  /* Changed: 60 -> 1000060. */
  copy_store(f->b.dir, copy, sizeof copy);
  be64(val, 1000060);
  raw_put(copy, "balances", key, sizeof key, val, sizeof val);
  expect_failed(copy, CAIRN_ERR_CORRUPT, 0, CAIRN_T_BALANCES, key_hex);
  expect_failed(copy, CAIRN_ERR_CORRUPT, 0, CAIRN_T_BALANCES,
                "stored 00000000000f427c, replay 000000000000003c");
  tu_rmtree(copy);
  /* Deleted. */
  copy_store(f->b.dir, copy, sizeof copy);
  raw_del(copy, "balances", key, sizeof key);
  expect_failed(copy, CAIRN_ERR_CORRUPT, 0, CAIRN_T_BALANCES,
                "stored absent, replay 000000000000003c");
  tu_rmtree(copy);
  /* Added: points out of thin air for someone who never had any. */
  copy_store(f->b.dir, copy, sizeof copy);
  tu_key stranger;
  tu_member(&stranger, 99);
  cairn_state_balance_key(key, stranger.pk, TU_BRAND_PIZZA);
  be64(val, 5);
  raw_put(copy, "balances", key, sizeof key, val, sizeof val);
  expect_failed(copy, CAIRN_ERR_CORRUPT, 0, CAIRN_T_BALANCES,
                "replay absent");
  tu_rmtree(copy);
}

static void test_altered_indexes_and_tip(void **state) {
  fixture *f = *state;
  char copy[64];
  copy_store(f->b.dir, copy, sizeof copy);
  uint8_t loc[12];
  be64(loc, 1); /* the coupon was issued at height 3; claim height 1 */
  cairn_be32_write(loc + 8, 0);
  raw_put(copy, "tx_index", f->coupon, 32, loc, sizeof loc);
  expect_failed(copy, CAIRN_ERR_CORRUPT, 0, CAIRN_T_TX_INDEX, "tx_index");
  tu_rmtree(copy);
  /* An extra record in a table no transaction wrote. */
  copy_store(f->b.dir, copy, sizeof copy);
  raw_put(copy, "meta", "note", 4, "x", 1);
  expect_failed(copy, CAIRN_ERR_CORRUPT, 0, CAIRN_T_META, "6e6f7465");
  tu_rmtree(copy);
  copy_store(f->b.dir, copy, sizeof copy);
  size_t len = 0;
  uint8_t *tip = raw_get(copy, "meta", "tip", 3, &len);
  assert_true(len >= 8 + 64);
  tip[8 + 32] ^= 0x80; /* first byte of the app hash */
  raw_put(copy, "meta", "tip", 3, tip, len);
  free(tip);
  expect_failed(copy, CAIRN_ERR_CORRUPT, 0, CAIRN_T_META, "app hash");
  tu_rmtree(copy);
}

/* ---- four validators: stake, missed votes, forged commits ---- */

/* Powers in key order: 10, 10, 10, 30; more than 2/3 of 60 is 41 or more. */
static const uint64_t four_powers[MAX_VALIDATORS] = {10, 10, 10, 30};
#define BIG 3u /* the validator with power 30 */

/* The index of the proposer of (tip + 1, round 0). */
static size_t round0_proposer(const builder *b) {
  uint8_t pk[32];
  cairn_chain_proposer(b->c, 0, pk);
  for (size_t i = 0; i < b->n_vk; i++)
    if (memcmp(b->vk[i].pk, pk, 32) == 0) return i;
  fail_msg("the proposer is not one of the builder's validators");
  return 0;
}

/* Four blocks, each by the proposer of its height's round 0 (stake-weighted
 * rotation: the validator of power 30 proposes heights 1 and 4 of powers
 * 10, 10, 10, 30; the others take turns, proposed[] below). Each commit is
 * signed by three of the four (50 of 60): validator 0 signs only block 2,
 * which validator 1 does not sign. */
static void build_four(builder *b, tu_key *issuer, tu_key *member) {
  builder_open(b, MAX_VALIDATORS, four_powers);
  for (uint64_t h = 1; h <= 4; h++) {
    cairn_tx t;
    tu_tx_issue(&t, issuer, h, TU_BRAND_PIZZA, member->pk, 10 * h);
    b->proposer = round0_proposer(b);
    b->signers = h == 2 ? 0xdu : 0xeu;
    add_block(b, &t, 1);
  }
}

static void test_four_validators_report(void **state) {
  (void)state;
  builder b;
  tu_key issuer, member;
  tu_issuer(&issuer, TU_BRAND_PIZZA);
  tu_member(&member, 7);
  build_four(&b, &issuer, &member);
  builder_close(&b);
  char why[WHY_BYTES] = "";
  cairn_report *rep = calloc(1, sizeof *rep);
  cairn_audit_result *r = malloc(sizeof *r);
  assert_non_null(rep);
  assert_non_null(r);
  assert_int_equal(cairn_audit_datadir(b.dir, r, rep, why, sizeof why),
                   CAIRN_OK);
  if (!r->ok) fail_msg("audit failed: %s", why);
  assert_int_equal(rep->n_validators, MAX_VALIDATORS);
  /* Validator 0 missed three commits, validator 1 one. */
  uint64_t missed[MAX_VALIDATORS] = {3, 1, 0, 0};
  /* Recomputed from the rotation itself (proposer.h); the report counts
   * blocks by header proposer. */
  uint64_t proposed[MAX_VALIDATORS] = {0};
  for (uint64_t h = 1; h <= 4; h++) {
    uint8_t pk[32];
    assert_int_equal(cairn_proposer_for(pk, &b.g->validators, h, 0),
                     CAIRN_OK);
    for (size_t i = 0; i < MAX_VALIDATORS; i++)
      if (memcmp(pk, b.vk[i].pk, 32) == 0) proposed[i]++;
  }
  assert_int_equal(proposed[BIG], 2);
  for (size_t i = 0; i < MAX_VALIDATORS; i++) {
    assert_memory_equal(rep->validators[i].pubkey, b.vk[i].pk, 32);
    assert_int_equal(rep->validators[i].power, four_powers[i]);
    assert_int_equal(rep->validators[i].missed, missed[i]);
    assert_int_equal(rep->validators[i].proposed, proposed[i]);
    assert_int_equal(rep->validators[i].slashing_events, 0);
  }
  assert_int_equal(rep->brands[1].issued, 100);
  free(rep);
  free(r);
  builder_free(&b);
}

/* Replace the commit at height h of a copy with one signed by mask. */
static void forge_commit(const builder *b, const char *copy, uint64_t h,
                         unsigned mask) {
  uint8_t key[8];
  size_t len = 0;
  be64(key, h);
  uint8_t *block = raw_get(copy, "blocks", key, 8, &len);
  cairn_block_header hdr;
  cairn_slice *txs = malloc(sizeof *txs * CAIRN_BLOCK_TXS_MAX);
  uint8_t hash[32];
  assert_non_null(txs);
  assert_int_equal(cairn_block_decode(&hdr, txs, CAIRN_BLOCK_TXS_MAX, block,
                                      len), CAIRN_OK);
  assert_int_equal(cairn_block_hash(hash, &hdr), CAIRN_OK);
  cairn_commit *cm = malloc(sizeof *cm);
  uint8_t buf[CAIRN_COMMIT_BYTES_MAX];
  size_t clen = 0;
  assert_non_null(cm);
  commit_by(cm, b, h, hash, mask);
  assert_int_equal(cairn_commit_encode(buf, sizeof buf, &clen, cm), CAIRN_OK);
  raw_put(copy, "commits", key, 8, buf, clen);
  free(cm);
  free(txs);
  free(block);
}

static void test_commit_without_two_thirds(void **state) {
  (void)state;
  builder b;
  tu_key issuer, member;
  char copy[64];
  tu_issuer(&issuer, TU_BRAND_PIZZA);
  tu_member(&member, 7);
  build_four(&b, &issuer, &member);
  builder_close(&b);
  /* Exactly 2/3 of the stake (30 + 10 of 60) is not more than 2/3. */
  copy_store(b.dir, copy, sizeof copy);
  forge_commit(&b, copy, 3, (1u << BIG) | 1u);
  expect_failed(copy, CAIRN_ERR_BAD_COMMIT, 3, 0, "more than 2/3");
  /* 30 + 10 + 10 is: the same copy passes again. */
  forge_commit(&b, copy, 3, (1u << BIG) | 3u);
  char why[WHY_BYTES] = "";
  cairn_audit_result *r = audit(copy, why, sizeof why);
  if (!r->ok) fail_msg("a commit by 5/6 of the stake was refused: %s", why);
  free(r);
  /* Three validators of power 10 are half the stake. */
  forge_commit(&b, copy, 2, 7u);
  expect_failed(copy, CAIRN_ERR_BAD_COMMIT, 2, 0, NULL);
  tu_rmtree(copy);
  builder_free(&b);
}

/* ---- continuous audits ---- */

/* A continuous auditor: its replica directory, its checkpoint (kept in
 * memory instead of a file) and its report. */
typedef struct watcher {
  char base[64];
  char replica[128];
  cairn_checkpoint cp;
  bool have_cp;
  int saves;
  cairn_report *rep;
  uint64_t stop_at; /* progress stops the run after this height; 0: never */
} watcher;

static void watcher_open(watcher *w) {
  memset(w, 0, sizeof *w);
  tu_tmpdir(w->base, sizeof w->base);
  snprintf(w->replica, sizeof w->replica, "%s/replica", w->base);
  w->rep = calloc(1, sizeof *w->rep);
  assert_non_null(w->rep);
}

static void watcher_free(watcher *w) {
  tu_rmtree(w->base);
  free(w->rep);
}

static cairn_err watcher_save(void *ctx, const cairn_checkpoint *cp) {
  watcher *w = ctx;
  w->cp = *cp;
  w->have_cp = true;
  w->saves++;
  return CAIRN_OK;
}

static bool watcher_progress(void *ctx, const cairn_audit_progress *p) {
  const watcher *w = ctx;
  return w->stop_at == 0 || p->height < w->stop_at;
}

/* One pass over the data directories dirs[0..n). */
static cairn_audit_result *watch_run(watcher *w, const char *const *dirs,
                                     size_t n, char *why, size_t cap) {
  cairn_audit_source srcs[CAIRN_AUDIT_SOURCES_MAX];
  for (size_t i = 0; i < n; i++)
    assert_int_equal(cairn_audit_source_datadir(&srcs[i], dirs[i], why, cap),
                     CAIRN_OK);
  cairn_audit_config cfg = {.sources = srcs, .n_sources = n,
                            .replica_dir = w->replica,
                            .checkpoint = w->have_cp ? &w->cp : NULL,
                            .on_checkpoint = watcher_save,
                            .checkpoint_ctx = w, .progress = watcher_progress,
                            .progress_ctx = w, .report = w->rep};
  cairn_audit_result *r = malloc(sizeof *r);
  assert_non_null(r);
  assert_int_equal(cairn_audit_run(&cfg, r, why, cap), CAIRN_OK);
  for (size_t i = 0; i < n; i++) cairn_audit_source_close(&srcs[i]);
  return r;
}

/* Blocks of one ISSUE each, of `amount` points, from height from..to. */
static void issue_blocks(builder *b, uint64_t from, uint64_t to,
                         uint64_t amount) {
  tu_key issuer, member;
  tu_issuer(&issuer, TU_BRAND_COFFEE);
  tu_member(&member, 3);
  for (uint64_t h = from; h <= to; h++) {
    cairn_tx t;
    tu_tx_issue(&t, &issuer, h, TU_BRAND_COFFEE, member.pk, amount);
    add_block(b, &t, 1);
  }
}

static void expect_ok(const cairn_audit_result *r, const char *why,
                      uint64_t verified, uint64_t tip) {
  if (!r->ok) fail_msg("audit failed: %s", why);
  assert_int_equal(r->blocks, verified);
  assert_int_equal(r->tip_height, tip);
}

static void test_watch_verifies_only_new_blocks(void **state) {
  (void)state;
  builder a;
  watcher w;
  char why[WHY_BYTES] = "";
  builder_open(&a, 1, NULL);
  issue_blocks(&a, 1, 3, 100);
  builder_close(&a);
  watcher_open(&w);
  const char *dirs[1] = {a.dir};
  cairn_audit_result *r = watch_run(&w, dirs, 1, why, sizeof why);
  expect_ok(r, why, 3, 3);
  assert_true(w.have_cp);
  assert_int_equal(w.cp.height, 3);
  free(r);
  builder_reopen(&a);
  issue_blocks(&a, 4, 5, 100);
  builder_close(&a);
  r = watch_run(&w, dirs, 1, why, sizeof why);
  expect_ok(r, why, 2, 5);
  assert_int_equal(r->sources[0].from_height, 4);
  assert_int_equal(w.cp.height, 5);
  assert_memory_equal(w.cp.block_hash, r->tip_hash, 32);
  /* The report covers the whole chain, not just this run. */
  assert_int_equal(w.rep->height, 5);
  assert_int_equal(w.rep->brands[0].issued, 500);
  free(r);
  r = watch_run(&w, dirs, 1, why, sizeof why);
  expect_ok(r, why, 0, 5);
  free(r);
  /* A new process: a fresh report is rebuilt from the replica. */
  memset(w.rep, 0, sizeof *w.rep);
  r = watch_run(&w, dirs, 1, why, sizeof why);
  expect_ok(r, why, 0, 5);
  assert_int_equal(w.rep->brands[0].issued, 500);
  assert_true(w.rep->finished);
  free(r);
  /* Without its checkpoint the replica is not trusted: all is verified. */
  w.have_cp = false;
  r = watch_run(&w, dirs, 1, why, sizeof why);
  expect_ok(r, why, 5, 5);
  free(r);
  watcher_free(&w);
  builder_free(&a);
}

static void expect_alarm(const cairn_audit_result *r, const char *why,
                         cairn_audit_alarm kind, uint64_t height,
                         const char *part) {
  if (r->alarm != kind)
    fail_msg("expected alarm %d, got %d (ok %d): %s", (int)kind,
             (int)r->alarm, (int)r->ok, why);
  assert_false(r->ok);
  assert_int_equal(r->alarm_height, height);
  assert_int_equal(strncmp(why, "ALARM: ", 7), 0);
  if (part != NULL && strstr(why, part) == NULL)
    fail_msg("expected '%s' in: %s", part, why);
}

static void test_watch_alarms(void **state) {
  (void)state;
  builder a, b;
  watcher w;
  char why[WHY_BYTES] = "", short_copy[64], hex[65];
  builder_open(&a, 1, NULL);
  issue_blocks(&a, 1, 2, 100);
  builder_close(&a);
  copy_store(a.dir, short_copy, sizeof short_copy); /* A at height 2 */
  builder_reopen(&a);
  issue_blocks(&a, 3, 4, 100);
  builder_close(&a);
  builder_open(&b, 1, NULL); /* same genesis, other blocks */
  issue_blocks(&b, 1, 5, 7);
  builder_close(&b);
  watcher_open(&w);
  const char *da[1] = {a.dir}, *db[1] = {b.dir}, *ds[1] = {short_copy};
  cairn_audit_result *r = watch_run(&w, da, 1, why, sizeof why);
  expect_ok(r, why, 4, 4);
  free(r);
  cairn_checkpoint saved = w.cp;
  int saves = w.saves;
  /* History rewritten: the checkpoint names both hashes. */
  r = watch_run(&w, db, 1, why, sizeof why);
  expect_alarm(r, why, CAIRN_AUDIT_ALARM_REWRITTEN, 4,
               "history rewritten at height 4: checkpoint has ");
  cairn_hex_encode(hex, sizeof hex, saved.block_hash, 32);
  assert_non_null(strstr(why, hex));
  assert_memory_equal(r->alarm_expected, saved.block_hash, 32);
  assert_memory_not_equal(r->alarm_found, saved.block_hash, 32);
  /* The trusted checkpoint is left alone. */
  assert_int_equal(w.saves, saves);
  assert_false(r->have_checkpoint);
  free(r);
  /* Truncated history. */
  r = watch_run(&w, ds, 1, why, sizeof why);
  expect_alarm(r, why, CAIRN_AUDIT_ALARM_BEHIND, 4, "is behind");
  free(r);
  /* The honest source still passes after all that. */
  r = watch_run(&w, da, 1, why, sizeof why);
  expect_ok(r, why, 0, 4);
  free(r);
  /* Another chain altogether. */
  w.cp.genesis_hash[0] ^= 1;
  r = watch_run(&w, da, 1, why, sizeof why);
  expect_alarm(r, why, CAIRN_AUDIT_ALARM_CHAIN, 0, "checkpoint is for chain");
  free(r);
  watcher_free(&w);
  tu_rmtree(short_copy);
  builder_free(&a);
  builder_free(&b);
}

/* The replica verified more than the checkpoint names (a crash between
 * the two, or an older checkpoint file): a rewrite above the checkpoint is
 * still caught, at the replica's height. */
static void test_watch_rewrite_above_checkpoint(void **state) {
  (void)state;
  builder a;
  watcher w;
  char why[WHY_BYTES] = "", fork_dir[64];
  builder_open(&a, 1, NULL);
  issue_blocks(&a, 1, 4, 100);
  builder_close(&a);
  copy_store(a.dir, fork_dir, sizeof fork_dir);
  watcher_open(&w);
  const char *da[1] = {a.dir}, *df[1] = {fork_dir};
  cairn_audit_result *r = watch_run(&w, da, 1, why, sizeof why);
  expect_ok(r, why, 4, 4);
  free(r);
  cairn_checkpoint cp4 = w.cp;
  builder_reopen(&a);
  issue_blocks(&a, 5, 6, 100);
  builder_close(&a);
  r = watch_run(&w, da, 1, why, sizeof why);
  expect_ok(r, why, 2, 6);
  free(r);
  /* The fork shares blocks 1..4 and then goes its own way. */
  builder f = a;
  snprintf(f.dir, sizeof f.dir, "%s", fork_dir);
  builder_reopen(&f);
  issue_blocks(&f, 5, 7, 3);
  builder_close(&f);
  /* With the older checkpoint the replica (at 6) is still trusted. */
  w.cp = cp4;
  r = watch_run(&w, da, 1, why, sizeof why);
  expect_ok(r, why, 0, 6);
  assert_int_equal(w.cp.height, 6);
  free(r);
  w.cp = cp4;
  r = watch_run(&w, df, 1, why, sizeof why);
  expect_alarm(r, why, CAIRN_AUDIT_ALARM_REWRITTEN, 6,
               "the verified replica has");
  free(r);
  watcher_free(&w);
  tu_rmtree(fork_dir);
  builder_free(&a);
}

static void test_two_sources(void **state) {
  (void)state;
  builder a, b;
  char why[WHY_BYTES] = "", twin[64], prefix[64];
  builder_open(&a, 1, NULL);
  issue_blocks(&a, 1, 1, 100);
  builder_close(&a);
  b = a; /* shares block 1 (signatures are randomised: copy, not rebuild) */
  tu_tmpdir(b.dir, sizeof b.dir);
  copy_files(a.dir, b.dir);
  builder_reopen(&a);
  issue_blocks(&a, 2, 2, 100);
  builder_close(&a);
  copy_store(a.dir, prefix, sizeof prefix);
  builder_reopen(&a);
  issue_blocks(&a, 3, 5, 100);
  builder_close(&a);
  copy_store(a.dir, twin, sizeof twin);
  builder_reopen(&b);
  issue_blocks(&b, 2, 4, 9); /* differs from height 2 on */
  builder_close(&b);
  watcher w;
  watcher_open(&w);
  /* Two copies of one chain agree; each is verified. */
  const char *same[2] = {a.dir, twin};
  cairn_audit_result *r = watch_run(&w, same, 2, why, sizeof why);
  expect_ok(r, why, 5, 5);
  assert_int_equal(r->n_sources, 2);
  assert_int_equal(r->sources[1].verified, 5);
  free(r);
  /* A node that is behind agrees where it has blocks; the checkpoint
   * stays at what both have. */
  const char *lag[2] = {a.dir, prefix};
  watcher w2;
  watcher_open(&w2);
  r = watch_run(&w2, lag, 2, why, sizeof why);
  expect_ok(r, why, 5, 5);
  assert_int_equal(w2.cp.height, 2);
  free(r);
  watcher_free(&w2);
  /* Diverging histories: the first height where they differ. */
  const char *fork[2] = {a.dir, b.dir};
  watcher_open(&w2);
  r = watch_run(&w2, fork, 2, why, sizeof why);
  expect_alarm(r, why, CAIRN_AUDIT_ALARM_FORK, 2, "sources disagree at "
               "height 2");
  assert_int_equal(r->alarm_source, 1);
  assert_int_equal(r->alarm_other, 0);
  assert_true(w2.cp.height <= 1);
  free(r);
  watcher_free(&w2);
  watcher_free(&w);
  tu_rmtree(twin);
  tu_rmtree(prefix);
  tu_rmtree(b.dir);
  builder_free(&a);
}

static void test_interrupted_run_keeps_checkpoint(void **state) {
  (void)state;
  builder a;
  watcher w;
  char why[WHY_BYTES] = "";
  builder_open(&a, 1, NULL);
  issue_blocks(&a, 1, 5, 100);
  builder_close(&a);
  watcher_open(&w);
  w.stop_at = 2;
  const char *da[1] = {a.dir};
  cairn_audit_result *r = watch_run(&w, da, 1, why, sizeof why);
  assert_true(r->interrupted);
  assert_false(r->ok);
  assert_int_equal(r->alarm, CAIRN_AUDIT_ALARM_NONE);
  assert_int_equal(r->failure, CAIRN_OK);
  assert_true(w.have_cp);
  assert_int_equal(w.cp.height, 2);
  free(r);
  w.stop_at = 0;
  r = watch_run(&w, da, 1, why, sizeof why);
  expect_ok(r, why, 3, 5);
  assert_int_equal(r->sources[0].from_height, 3);
  free(r);
  watcher_free(&w);
  builder_free(&a);
}

/* ---- validator-set changes in the report ---- */

/* A chain whose set changes three times (staking delay 2): big (power
 * 100, operator opB) bonds 50 in block 1 (in force from 3); evidence that
 * small (10) equivocated at height 1 is included in block 3 (small is
 * jailed, slashed 10% and out from 5); newcomer is admitted by an ADMIT in
 * block 5 and big's APPROVE in block 6 (power 20 from 8). Every commit is
 * signed by big alone. vk[0] is big, vk[1] small, vk[2] newcomer. */
#define SC_BLOCKS 9u

static void sc_genesis(builder *b, const tu_key *op_big,
                       const tu_key *op_new) {
  char why[256];
  cairn_genesis *g = malloc(sizeof *g);
  assert_non_null(g);
  tu_genesis(g);
  for (uint32_t i = 0; i < 3; i++) tu_validator(&b->vk[i], 10 + i);
  cairn_validator v[2];
  memset(v, 0, sizeof v);
  static const uint64_t power[2] = {100, 10};
  for (size_t i = 0; i < 2; i++) {
    memcpy(v[i].pubkey, b->vk[i].pk, 32);
    v[i].power = power[i];
    v[i].name_len = (uint8_t)snprintf(v[i].name, sizeof v[i].name, "%s",
                                      i == 0 ? "big" : "small");
  }
  memcpy(v[0].operator_key, op_big->pk, 32);
  bool big_first = memcmp(v[0].pubkey, v[1].pubkey, 32) < 0;
  memset(&g->validators, 0, sizeof g->validators);
  g->validators.v[0] = v[big_first ? 0 : 1];
  g->validators.v[1] = v[big_first ? 1 : 0];
  g->validators.n = 2;
  bool op_first = memcmp(op_big->pk, op_new->pk, 32) < 0;
  memcpy(g->stake[op_first ? 0 : 1].account, op_big->pk, 32);
  memcpy(g->stake[op_first ? 1 : 0].account, op_new->pk, 32);
  g->stake[0].amount = g->stake[1].amount = 1000;
  g->n_stake = 2;
  g->staking = (cairn_staking_params){2, 5, 20, 10};
  if (cairn_genesis_check(g, why, sizeof why) != CAIRN_OK)
    fail_msg("genesis: %s", why);
  b->g = g;
}

/* Duplicate-vote evidence against key k at height 1 in tx. */
static void sc_evidence(cairn_tx *tx, const tu_key *sender, const tu_vkey *k) {
  cairn_vote x, y;
  cairn_evidence e;
  size_t len = 0;
  memset(&x, 0, sizeof x);
  x.type = CAIRN_VOTE_PREVOTE;
  x.height = 1;
  y = x;
  memset(x.block_hash, 0x11, 32);
  memset(y.block_hash, 0x22, 32);
  tu_check("sign", cairn_vote_sign(&x, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), k->sk));
  tu_check("sign", cairn_vote_sign(&y, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), k->sk));
  tu_check("evidence", cairn_evidence_from_votes(&e, &x, &y));
  tu_tx_init(tx, CAIRN_TX_EVIDENCE, sender->pk, 1);
  tu_check("encode", cairn_evidence_encode(tx->u.evidence.evidence,
                                           CAIRN_EVIDENCE_BYTES, &len, &e));
  tu_tx_sign(tx, sender);
}

/* The staking transaction of block h (1, 3, 5, 6), or false. */
static bool sc_staking_tx(const builder *b, uint64_t h, cairn_tx *tx,
                          uint8_t admit_id[32]) {
  tu_key op_big, op_new, m;
  tu_key_derive(&op_big, "operator", 0);
  tu_key_derive(&op_new, "operator", 1);
  tu_member(&m, 5);
  if (h == 1) {
    tu_tx_init(tx, CAIRN_TX_BOND, op_big.pk, 1);
    memcpy(tx->u.bond.validator, b->vk[0].pk, 32);
    tx->u.bond.amount = 50;
    tu_tx_sign(tx, &op_big);
  } else if (h == 3) {
    sc_evidence(tx, &m, &b->vk[1]);
  } else if (h == 5) {
    tu_tx_init(tx, CAIRN_TX_ADMIT, op_new.pk, 1);
    memcpy(tx->u.admit.validator, b->vk[2].pk, 32);
    tx->u.admit.amount = 20;
    tx->u.admit.deadline_height = 50;
    tx->u.admit.name_len = 8;
    memcpy(tx->u.admit.name, "newbrand", 9);
    tu_tx_sign(tx, &op_new);
    tu_txid(admit_id, tx);
  } else if (h == 6) {
    tu_tx_init(tx, CAIRN_TX_APPROVE, op_big.pk, 2);
    memcpy(tx->u.approve.proposal, admit_id, 32);
    tu_tx_sign(tx, &op_big);
  } else {
    return false;
  }
  return true;
}

/* Build the chain; proposed[i] counts the blocks vk[i] proposed. */
static void sc_build(builder *b, uint64_t proposed[3]) {
  tu_key op_big, op_new, issuer, member;
  memset(b, 0, sizeof *b);
  tu_key_derive(&op_big, "operator", 0);
  tu_key_derive(&op_new, "operator", 1);
  tu_issuer(&issuer, TU_BRAND_COFFEE);
  tu_member(&member, 6);
  sc_genesis(b, &op_big, &op_new);
  b->n_vk = 3;
  b->signers = 0x1u; /* big alone */
  tu_tmpdir(b->dir, sizeof b->dir);
  b->s = tu_store_open(b->dir);
  assert_int_equal(cairn_chain_open(&b->c, b->s, b->g), CAIRN_OK);
  uint8_t admit_id[32] = {0};
  for (uint64_t h = 1; h <= SC_BLOCKS; h++) {
    cairn_tx t[2];
    size_t n = sc_staking_tx(b, h, &t[0], admit_id) ? 1 : 0;
    tu_tx_issue(&t[n], &issuer, h, TU_BRAND_COFFEE, member.pk, h);
    b->proposer = round0_proposer(b);
    proposed[b->proposer]++;
    add_block(b, t, n + 1);
  }
}

static void sc_expect(const cairn_report_validator *v, const char *name,
                      uint64_t power, uint64_t bonded, bool jailed,
                      uint64_t from, uint64_t to, uint64_t missed,
                      uint64_t slashed) {
  assert_string_equal(v->name, name);
  assert_int_equal(v->power, power);
  assert_int_equal(v->bonded, bonded);
  assert_int_equal(v->jailed, jailed);
  assert_int_equal(v->n_spans, 1);
  assert_int_equal(v->spans[0].from, from);
  assert_int_equal(v->spans[0].to, to);
  assert_int_equal(v->blocks_in_set, to - from + 1);
  assert_int_equal(v->missed, missed);
  assert_int_equal(v->slashing_events, slashed);
}

/* rep's rows against the chain of sc_build. */
static void sc_check_report(const cairn_report *rep, const builder *b,
                            const uint64_t proposed[3]) {
  assert_int_equal(rep->n_validators, 3);
  const cairn_report_validator *row[3] = {NULL, NULL, NULL};
  for (uint32_t i = 0; i < rep->n_validators; i++)
    for (size_t k = 0; k < 3; k++)
      if (memcmp(rep->validators[i].pubkey, b->vk[k].pk, 32) == 0)
        row[k] = &rep->validators[i];
  assert_true(row[0] != NULL && row[1] != NULL && row[2] != NULL);
  sc_expect(row[0], "big", 150, 150, false, 1, SC_BLOCKS, 0, 0);
  sc_expect(row[1], "small", 0, 9, true, 1, 4, 4, 1);
  sc_expect(row[2], "newbrand", 20, 20, false, 8, SC_BLOCKS, 2, 0);
  for (size_t k = 0; k < 3; k++)
    assert_int_equal(row[k]->proposed, proposed[k]);
  assert_int_equal(rep->tx_types[CAIRN_TX_EVIDENCE], 1);
}

/* The report counts every block against the set in force at its height,
 * both while verifying and when a continuous audit rebuilds its report
 * from its replica; powers, bonds and jailing come from the records. */
static void test_report_follows_set_changes(void **state) {
  (void)state;
  builder b;
  uint64_t proposed[3] = {0, 0, 0};
  sc_build(&b, proposed);
  assert_int_equal(cairn_chain_epoch(b.c), 8);
  builder_close(&b);
  char why[WHY_BYTES] = "";
  cairn_report *rep = calloc(1, sizeof *rep);
  cairn_audit_result *r = malloc(sizeof *r);
  assert_true(rep != NULL && r != NULL);
  assert_int_equal(cairn_audit_datadir(b.dir, r, rep, why, sizeof why),
                   CAIRN_OK);
  if (!r->ok) fail_msg("audit failed: %s", why);
  assert_true(rep->finished);
  sc_check_report(rep, &b, proposed);
  /* A continuous audit, then a new process: its fresh report is rebuilt
   * from the replica's blocks, each under the set of its height. */
  watcher w;
  watcher_open(&w);
  const char *dirs[1] = {b.dir};
  cairn_audit_result *wr = watch_run(&w, dirs, 1, why, sizeof why);
  expect_ok(wr, why, SC_BLOCKS, SC_BLOCKS);
  free(wr);
  memset(w.rep, 0, sizeof *w.rep);
  wr = watch_run(&w, dirs, 1, why, sizeof why);
  expect_ok(wr, why, 0, SC_BLOCKS);
  assert_true(w.rep->finished);
  sc_check_report(w.rep, &b, proposed);
  assert_memory_equal(w.rep->validators, rep->validators,
                      3 * sizeof rep->validators[0]);
  free(wr);
  watcher_free(&w);
  free(rep);
  free(r);
  builder_free(&b);
}

/* ---- single-byte flips: a chain, its dumps, forked audits ---- */

#define DUMP_DB_BYTES 24
#define DUMP_KEY_BYTES 511
#define RANDOM_FLIPS 300
#define FLIPS_PER_RECORD 3
#define BRANCH_FLIPS 12

/* One record of a logical dump: database, key and the hash of its value. */
typedef struct dump_rec {
  char db[DUMP_DB_BYTES];
  uint16_t klen;
  uint8_t key[DUMP_KEY_BYTES];
  uint8_t vhash[32];
} dump_rec;

typedef struct dump {
  dump_rec *r;
  size_t n, cap;
} dump;

static void dump_free(dump *d) {
  free(d->r);
  memset(d, 0, sizeof *d);
}

/* A forked child must die of its faults rather than run cmocka's
 * handlers (and with them the rest of the tests). */
static void child_defaults(void) {
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    (void)signal(sigs[i], SIG_DFL);
}

static bool write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t k = write(fd, b, n);
    if (k <= 0) return false;
    b += k;
    n -= (size_t)k;
  }
  return true;
}

/* In a child: every record of every named database, read-only. */
static void dump_child(int fd, const char *dir) {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi main_db, dbi;
  MDB_cursor *mc, *c;
  MDB_val k, v, dk, dv;
  child_defaults();
  alarm(20); /* a damaged file must not hang the test */
  if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
      mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0 ||
      mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
      mdb_dbi_open(txn, NULL, 0, &main_db) != 0 ||
      mdb_cursor_open(txn, main_db, &mc) != 0)
    _exit(2);
  while (mdb_cursor_get(mc, &k, &v, MDB_NEXT) == 0) {
    char name[DUMP_DB_BYTES];
    if (k.mv_size == 0 || k.mv_size >= sizeof name) _exit(3);
    memcpy(name, k.mv_data, k.mv_size);
    name[k.mv_size] = '\0';
    if (mdb_dbi_open(txn, name, 0, &dbi) != 0 ||
        mdb_cursor_open(txn, dbi, &c) != 0)
      _exit(4);
    while (mdb_cursor_get(c, &dk, &dv, MDB_NEXT) == 0) {
      uint8_t n8 = (uint8_t)k.mv_size, h[32];
      uint16_t kl = (uint16_t)dk.mv_size;
      crypto_hash_sha256(h, dv.mv_data, dv.mv_size);
      if (!write_all(fd, &n8, 1) || !write_all(fd, name, n8) ||
          !write_all(fd, &kl, 2) || !write_all(fd, dk.mv_data, kl) ||
          !write_all(fd, h, 32))
        _exit(5);
    }
    mdb_cursor_close(c);
  }
  _exit(0);
}

static bool read_all(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n > 0) {
    ssize_t k = read(fd, b, n);
    if (k <= 0) return false;
    b += k;
    n -= (size_t)k;
  }
  return true;
}

/* A logical dump of dir, taken in a child (LMDB may crash on damaged
 * data). False when it could not be taken. */
static bool dump_forked(const char *dir, dump *d) {
  int p[2];
  memset(d, 0, sizeof *d);
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    dump_child(p[1], dir);
  }
  close(p[1]);
  uint8_t n8;
  while (read_all(p[0], &n8, 1)) {
    if (d->n == d->cap) {
      d->cap = d->cap ? 2 * d->cap : 256;
      d->r = realloc(d->r, d->cap * sizeof *d->r);
      assert_non_null(d->r);
    }
    dump_rec *r = &d->r[d->n];
    memset(r, 0, sizeof *r);
    bool ok = n8 < DUMP_DB_BYTES && read_all(p[0], r->db, n8) &&
              read_all(p[0], &r->klen, 2) && r->klen <= DUMP_KEY_BYTES &&
              read_all(p[0], r->key, r->klen) && read_all(p[0], r->vhash, 32);
    if (!ok) break;
    d->n++;
  }
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok) dump_free(d);
  return ok;
}

static bool rec_same_key(const dump_rec *a, const dump_rec *b) {
  return strcmp(a->db, b->db) == 0 && a->klen == b->klen &&
         memcmp(a->key, b->key, a->klen) == 0;
}

static bool rec_same(const dump_rec *a, const dump_rec *b) {
  return rec_same_key(a, b) && memcmp(a->vhash, b->vhash, 32) == 0;
}

static bool dump_equal(const dump *a, const dump *b) {
  if (a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (!rec_same(&a->r[i], &b->r[i])) return false;
  return true;
}

/* Records of a that are not in b, added to heights when they are block or
 * commit records. False when another kind of record differs. */
static bool dump_missing(const dump *a, const dump *b, uint64_t *heights,
                         size_t *n, size_t cap) {
  bool only_blocks = true;
  for (size_t i = 0; i < a->n; i++) {
    bool found = false;
    for (size_t j = 0; j < b->n && !found; j++)
      found = rec_same(&a->r[i], &b->r[j]);
    if (found) continue;
    const dump_rec *r = &a->r[i];
    bool block = (strcmp(r->db, "blocks") == 0 ||
                  strcmp(r->db, "commits") == 0) && r->klen == 8;
    if (!block) only_blocks = false;
    else if (*n < cap) heights[(*n)++] = cairn_be64_read(r->key);
  }
  return only_blocks;
}

/* What a forked audit reports to the test. */
typedef struct verdict {
  int rc;
  int ok;
  uint64_t failed_height;
  int failed_table;
  uint64_t tip;
  int reader_died;
} verdict;

/* Audit dir in a child, so that a crash of the auditor fails the test
 * with the flip's description instead of taking the test down. */
static bool audit_forked(const char *dir, verdict *v) {
  int p[2];
  memset(v, 0, sizeof *v);
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    child_defaults();
    cairn_audit_result *r = malloc(sizeof *r);
    char why[WHY_BYTES] = "";
    verdict out = {0};
    if (r == NULL) _exit(9);
    out.rc = cairn_audit_datadir(dir, r, NULL, why, sizeof why);
    out.ok = r->ok;
    out.failed_height = r->failed_height;
    out.failed_table = (int)r->failed_table;
    out.tip = r->tip_height;
    out.reader_died = strstr(why, "died of signal") != NULL;
    _exit(write_all(p[1], &out, sizeof out) ? 0 : 8);
  }
  close(p[1]);
  bool got = read_all(p[0], v, sizeof *v);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The chain every flip is applied to, with its dumps after the last two
 * commits and its data file. */
typedef struct flipchain {
  builder b;
  dump prev, final;
  uint64_t tip;
  uint8_t *image; /* data.mdb */
  size_t len;
  char copy[64];
  unsigned seed;
  int caught, reader_died, harmless, rollback, heights_checked;
} flipchain;

/* Seven blocks: five of eight transactions (issues and redemptions), one
 * of forty issues (larger than an LMDB page: an overflow page), one with a
 * coupon and a transfer. */
static void build_flipchain(flipchain *fc) {
  tu_key coffee, m[4];
  uint64_t cseq = 1, mseq[4] = {1, 1, 1, 1};
  cairn_tx t[40];
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  for (uint32_t i = 0; i < 4; i++) tu_member(&m[i], i);
  builder_open(&fc->b, 1, NULL);
  for (int h = 1; h <= 5; h++) {
    for (int i = 0; i < 4; i++)
      tu_tx_issue(&t[i], &coffee, cseq++, TU_BRAND_COFFEE, m[i].pk, 100);
    for (int i = 0; i < 4; i++)
      tu_tx_redeem(&t[4 + i], &m[i], mseq[i]++, TU_BRAND_COFFEE, 1, "r");
    add_block(&fc->b, t, 8);
  }
  for (int i = 0; i < 40; i++)
    tu_tx_issue(&t[i], &coffee, cseq++, TU_BRAND_COFFEE, m[i % 4].pk, 1);
  add_block(&fc->b, t, 40);
  builder_close(&fc->b);
  assert_true(dump_forked(fc->b.dir, &fc->prev));
  builder_reopen(&fc->b);
  tu_tx_coupon_issue(&t[0], &coffee, cseq, TU_BRAND_COFFEE, m[0].pk, 100,
                     true);
  tu_tx_transfer(&t[1], &m[0], mseq[0], TU_BRAND_COFFEE, m[1].pk, 5);
  add_block(&fc->b, t, 2);
  builder_close(&fc->b);
  fc->tip = 7;
  assert_true(dump_forked(fc->b.dir, &fc->final));
  char path[128];
  snprintf(path, sizeof path, "%s/data.mdb", fc->b.dir);
  assert_int_equal(cairn_file_read_all(path, 1u << 30, (char **)&fc->image,
                                       &fc->len), CAIRN_OK);
  tu_tmpdir(fc->copy, sizeof fc->copy);
}

static void flipchain_free(flipchain *fc) {
  dump_free(&fc->prev);
  dump_free(&fc->final);
  free(fc->image);
  tu_rmtree(fc->copy);
  builder_free(&fc->b);
}

/* Write the image with byte `off` XORed with mask into the copy. */
static void write_flipped(flipchain *fc, size_t off, uint8_t mask) {
  char path[128];
  assert_true(off < fc->len && mask != 0);
  fc->image[off] ^= mask;
  snprintf(path, sizeof path, "%s/lock.mdb", fc->copy);
  unlink(path);
  snprintf(path, sizeof path, "%s/data.mdb", fc->copy);
  FILE *f = fopen(path, "wb"); /* no fsync: the copy is scratch */
  assert_non_null(f);
  assert_int_equal(fwrite(fc->image, 1, fc->len, f), fc->len);
  assert_int_equal(fclose(f), 0);
  fc->image[off] ^= mask;
}

/* A failed audit that named a height: when only block or commit records
 * differ, it must be one of theirs. */
static void check_failed_height(flipchain *fc, const verdict *v,
                                const char *label) {
  dump d;
  uint64_t heights[16];
  size_t n = 0;
  if (!dump_forked(fc->copy, &d)) return; /* LMDB cannot read it either */
  bool only = dump_missing(&d, &fc->final, heights, &n, 16);
  only &= dump_missing(&fc->final, &d, heights, &n, 16);
  dump_free(&d);
  if (!only || n == 0) return;
  bool named = false;
  for (size_t i = 0; i < n; i++) named |= heights[i] == v->failed_height;
  if (!named)
    fail_msg("%s (seed %u): the flipped record is at height %llu, but the "
             "audit failed at height %llu", label, fc->seed,
             (unsigned long long)heights[0],
             (unsigned long long)v->failed_height);
  fc->heights_checked++;
}

/* Flip one byte and apply the rule: caught, or provably harmless. */
static verdict judge_flip(flipchain *fc, size_t off, uint8_t mask,
                          const char *what) {
  char label[160];
  verdict v;
  snprintf(label, sizeof label, "%s: byte %zu (page %zu + %zu) ^ %02x",
           what, off, off / 4096, off % 4096, mask);
  write_flipped(fc, off, mask);
  if (!audit_forked(fc->copy, &v))
    fail_msg("%s (seed %u): the auditor crashed", label, fc->seed);
  if (v.rc != CAIRN_OK || !v.ok) {
    fc->caught++;
    fc->reader_died += v.reader_died;
    if (v.rc == CAIRN_OK) check_failed_height(fc, &v, label);
    return v;
  }
  dump d;
  if (!dump_forked(fc->copy, &d))
    fail_msg("%s (seed %u): the audit passed, but LMDB cannot dump the "
             "copy", label, fc->seed);
  if (dump_equal(&d, &fc->final)) {
    fc->harmless++;
  } else if (dump_equal(&d, &fc->prev) && v.tip == fc->tip - 1) {
    fc->rollback++; /* LMDB fell back to the previous commit's meta page */
  } else {
    fail_msg("%s (seed %u): the audit passed, but the data differs",
             label, fc->seed);
  }
  dump_free(&d);
  return v;
}

static uint8_t random_mask(void) { return (uint8_t)(1 + rand() % 255); }

/* Every place where needle occurs in the image, as offsets (at most cap). */
static size_t find_all(const flipchain *fc, const uint8_t *needle, size_t n,
                       size_t *offs, size_t cap) {
  size_t found = 0;
  for (size_t i = 0; i + n <= fc->len && found < cap; i++)
    if (memcmp(fc->image + i, needle, n) == 0) offs[found++] = i;
  return found;
}

/* Flip bytes inside every copy of the record stored under height h of db:
 * at least one copy is the live one, whose flips name height h. */
static void flip_height_record(flipchain *fc, const char *db, uint64_t h) {
  uint8_t key[8];
  size_t len = 0, offs[8];
  be64(key, h);
  uint8_t *rec = raw_get(fc->b.dir, db, key, 8, &len);
  size_t n = find_all(fc, rec, len, offs, 8);
  free(rec);
  if (n == 0) fail_msg("the %s record of height %llu is not in data.mdb", db,
                       (unsigned long long)h);
  bool named = false;
  char what[64];
  snprintf(what, sizeof what, "%s record %llu", db, (unsigned long long)h);
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < FLIPS_PER_RECORD; k++) {
      verdict v = judge_flip(fc, offs[i] + (size_t)rand() % len,
                             random_mask(), what);
      named |= v.rc == CAIRN_OK && !v.ok && v.failed_height == h;
    }
  if (!named) fail_msg("no flip of %s named its height (seed %u)", what,
                       fc->seed);
}

/* Flip the value of a balance record: the stored state no longer matches
 * the replay. */
static void flip_balance(flipchain *fc) {
  tu_key m0;
  uint8_t key[CAIRN_BALANCE_KEY_BYTES];
  size_t offs[8];
  tu_member(&m0, 0);
  cairn_state_balance_key(key, m0.pk, TU_BRAND_COFFEE);
  size_t n = find_all(fc, key, sizeof key, offs, 8);
  bool caught = false;
  for (size_t i = 0; i < n; i++) {
    if (offs[i] + sizeof key + 8 > fc->len) continue;
    verdict v = judge_flip(fc, offs[i] + sizeof key + (size_t)rand() % 8,
                           random_mask(), "balance record");
    caught |= v.rc == CAIRN_OK && !v.ok && v.failed_table == CAIRN_T_BALANCES;
  }
  if (!caught) fail_msg("no flip of the balance was caught (seed %u)",
                        fc->seed);
}

/* Branch pages (LMDB page flag 0x01 at offset 10) hold the child page
 * numbers: the flips most likely to send LMDB astray. */
static void flip_branch_pages(flipchain *fc) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  for (size_t p = 2; (p + 1) * page <= fc->len; p++) {
    const uint8_t *pg = fc->image + p * page;
    uint16_t flags = (uint16_t)(pg[10] | pg[11] << 8);
    if ((flags & 0x01u) == 0 || pg[0] != (uint8_t)p) continue;
    for (int k = 0; k < BRANCH_FLIPS; k++)
      (void)judge_flip(fc, p * page + 12 + (size_t)rand() % 52,
                       random_mask(), "branch page");
  }
}

static void test_flipped_bytes(void **state) {
  (void)state;
  flipchain *fc = calloc(1, sizeof *fc);
  assert_non_null(fc);
  const char *env = getenv("CAIRN_TEST_SEED");
  fc->seed = env != NULL ? (unsigned)strtoul(env, NULL, 10)
                         : (unsigned)time(NULL);
  printf("test_flipped_bytes: seed %u (set CAIRN_TEST_SEED to repeat)\n",
         fc->seed);
  srand(fc->seed);
  build_flipchain(fc);
  for (int k = 0; k < RANDOM_FLIPS; k++)
    (void)judge_flip(fc, (size_t)rand() % fc->len, random_mask(), "random");
  for (uint64_t h = 1; h <= fc->tip; h++) {
    flip_height_record(fc, "blocks", h);
    flip_height_record(fc, "commits", h);
  }
  flip_balance(fc);
  flip_branch_pages(fc);
  printf("test_flipped_bytes: %d caught (%d by a reader that died, %d named "
         "the flipped block's height), %d in free space, %d fell back to "
         "the previous commit\n", fc->caught, fc->reader_died,
         fc->heights_checked, fc->harmless, fc->rollback);
  assert_true(fc->caught > 0);
  assert_true(fc->heights_checked > 0);
  flipchain_free(fc);
  free(fc);
}

/* ---- a reader that dies ---- */

/* The first child process of this one (from /proc). */
static pid_t find_child(void) {
  DIR *d = opendir("/proc");
  assert_non_null(d);
  struct dirent *e;
  pid_t found = -1;
  while (found < 0 && (e = readdir(d)) != NULL) {
    char path[300], buf[512];
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')');
    long ppid = 0;
    char st = 0;
    if (close_paren != NULL &&
        sscanf(close_paren + 1, " %c %ld", &st, &ppid) == 2 &&
        ppid == (long)getpid())
      found = (pid_t)atol(e->d_name);
  }
  closedir(d);
  return found;
}

static void test_reader_death_is_a_finding(void **state) {
  fixture *f = *state;
  cairn_audit_source src;
  char why[WHY_BYTES] = "";
  assert_int_equal(cairn_audit_source_datadir(&src, f->b.dir, why,
                                              sizeof why), CAIRN_OK);
  pid_t reader = find_child();
  assert_true(reader > 0);
  assert_int_equal(kill(reader, SIGSEGV), 0);
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  assert_int_equal(src.block(src.ctx, 2, &b, &blen, &c, &clen, why,
                             sizeof why), CAIRN_ERR_CORRUPT);
  if (strstr(why, "died of signal 11") == NULL) fail_msg("%s", why);
  assert_non_null(strstr(why, "height 2"));
  assert_null(b);
  cairn_audit_source_close(&src);
  /* Closing a source whose reader is alive ends the reader too. */
  assert_int_equal(cairn_audit_source_datadir(&src, f->b.dir, why,
                                              sizeof why), CAIRN_OK);
  reader = find_child();
  assert_true(reader > 0);
  cairn_audit_source_close(&src);
  assert_int_equal(kill(reader, 0), -1);
}

/* ---- signature checks on several threads ---- */

#define PAR_TXS 100u

/* A block at height 1 of b's chain holding txs (bad_sig: positions whose
 * signature is spoiled), with a valid commit. */
static void par_block(builder *b, const cairn_tx *txs, const size_t *bad,
                      size_t n_bad, uint8_t **block, size_t *len,
                      uint8_t *commit, size_t *clen) {
  uint8_t(*bytes)[CAIRN_TX_BYTES_MAX] = malloc(PAR_TXS * sizeof *bytes);
  cairn_slice *s = malloc(PAR_TXS * sizeof *s);
  uint8_t(*ids)[32] = malloc(PAR_TXS * sizeof *ids);
  assert_true(bytes != NULL && s != NULL && ids != NULL);
  for (size_t i = 0; i < PAR_TXS; i++) {
    s[i].p = bytes[i];
    s[i].len = tu_tx_bytes(bytes[i], sizeof bytes[i], &txs[i]);
  }
  for (size_t k = 0; k < n_bad; k++) bytes[bad[k]][s[bad[k]].len - 1] ^= 1;
  for (size_t i = 0; i < PAR_TXS; i++)
    cairn_tx_id_bytes(ids[i], s[i].p, s[i].len);
  cairn_block_header h;
  memset(&h, 0, sizeof h);
  h.version = CAIRN_BLOCK_VERSION;
  h.chain_id_len = (uint8_t)strlen(TU_CHAIN_ID);
  memcpy(h.chain_id, TU_CHAIN_ID, h.chain_id_len);
  h.height = 1;
  h.time_ms = TU_GENESIS_TIME_MS + 1000;
  cairn_tip tip;
  cairn_chain_tip(b->c, &tip);
  memcpy(h.prev_hash, tip.hash, 32);
  memcpy(h.state_hash, tip.app_hash, 32);
  memcpy(h.proposer, b->vk[0].pk, 32);
  cairn_valset_hash(h.validators_hash, cairn_chain_valset(b->c));
  h.tx_count = PAR_TXS;
  assert_int_equal(cairn_merkle_root(h.tx_root, (const uint8_t(*)[32])ids,
                                     PAR_TXS), CAIRN_OK);
  *block = malloc(CAIRN_BLOCK_BYTES_MAX);
  assert_non_null(*block);
  assert_int_equal(cairn_block_encode(*block, CAIRN_BLOCK_BYTES_MAX, len, &h,
                                      s), CAIRN_OK);
  uint8_t hash[32];
  assert_int_equal(cairn_block_hash(hash, &h), CAIRN_OK);
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  commit_by(cm, b, 1, hash, 1u);
  assert_int_equal(cairn_commit_encode(commit, CAIRN_COMMIT_BYTES_MAX, clen,
                                       cm), CAIRN_OK);
  free(cm);
  free(bytes);
  free(s);
  free(ids);
}

/* Apply block to a fresh chain checking signatures on `threads`. */
static cairn_err par_apply(builder *b, unsigned threads, const uint8_t *block,
                           size_t len, const uint8_t *commit, size_t clen,
                           char *why, size_t cap, uint8_t app[32]) {
  builder_close(b);
  tu_rmtree(b->dir);
  tu_tmpdir(b->dir, sizeof b->dir);
  builder_reopen(b);
  cairn_chain_set_verify_threads(b->c, threads);
  assert_int_equal(cairn_chain_verify_threads(b->c),
                   threads > CAIRN_CHAIN_VERIFY_THREADS_MAX
                       ? CAIRN_CHAIN_VERIFY_THREADS_MAX
                       : threads);
  cairn_err err = cairn_chain_apply_block(b->c, block, len, commit, clen, why,
                                          cap);
  cairn_tip tip;
  cairn_chain_tip(b->c, &tip);
  memcpy(app, tip.app_hash, 32);
  if (err != CAIRN_OK) assert_int_equal(tip.height, 0); /* nothing applied */
  return err;
}

static void test_parallel_signature_checks(void **state) {
  (void)state;
  static const unsigned threads[] = {1, 2, 3, 4, 64};
  static const size_t bad_sigs[] = {40, 90};
  builder b;
  tu_key coffee, member;
  builder_open(&b, 1, NULL);
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  tu_member(&member, 5);
  cairn_tx *txs = malloc(PAR_TXS * sizeof *txs);
  assert_non_null(txs);
  for (size_t i = 0; i < PAR_TXS; i++)
    tu_tx_issue(&txs[i], &coffee, i + 1, TU_BRAND_COFFEE, member.pk, i + 1);
  uint8_t *good, *badsig, *badrule, commit[3][CAIRN_COMMIT_BYTES_MAX];
  size_t glen, blen, rlen, clen[3];
  par_block(&b, txs, NULL, 0, &good, &glen, commit[0], &clen[0]);
  par_block(&b, txs, bad_sigs, 2, &badsig, &blen, commit[1], &clen[1]);
  /* Position 20 breaks a rule (sequence gap) before the bad signatures. */
  tu_tx_issue(&txs[20], &coffee, 500, TU_BRAND_COFFEE, member.pk, 1);
  par_block(&b, txs, bad_sigs, 2, &badrule, &rlen, commit[2], &clen[2]);
  char first_sig[WHY_BYTES] = "", first_rule[WHY_BYTES] = "";
  uint8_t app0[32], app[32];
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    char why[WHY_BYTES] = "";
    assert_int_equal(par_apply(&b, threads[t], good, glen, commit[0], clen[0],
                               why, sizeof why, app), CAIRN_OK);
    if (t == 0) memcpy(app0, app, 32);
    assert_memory_equal(app, app0, 32);
    assert_int_equal(par_apply(&b, threads[t], badsig, blen, commit[1],
                               clen[1], why, sizeof why, app),
                     CAIRN_ERR_BAD_BLOCK_TX);
    assert_non_null(strstr(why, "tx 40 "));
    assert_non_null(strstr(why, "bad_signature"));
    if (t == 0) snprintf(first_sig, sizeof first_sig, "%s", why);
    assert_string_equal(why, first_sig);
    assert_int_equal(par_apply(&b, threads[t], badrule, rlen, commit[2],
                               clen[2], why, sizeof why, app),
                     CAIRN_ERR_BAD_BLOCK_TX);
    assert_non_null(strstr(why, "tx 20 "));
    assert_non_null(strstr(why, "sequence_gap"));
    if (t == 0) snprintf(first_rule, sizeof first_rule, "%s", why);
    assert_string_equal(why, first_rule);
  }
  cairn_chain_set_verify_threads(b.c, 0);
  assert_true(cairn_chain_verify_threads(b.c) >= 1);
  free(good);
  free(badsig);
  free(badrule);
  free(txs);
  builder_free(&b);
}

/* A block far larger than any other record (and than an LMDB page), with
 * enough transactions for its signatures to be checked on threads. */
static void test_large_block(void **state) {
  (void)state;
  enum { N_TXS = 300 };
  builder b;
  tu_key coffee, member;
  builder_open(&b, 1, NULL);
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  tu_member(&member, 2);
  cairn_tx *t = malloc(N_TXS * sizeof *t);
  assert_non_null(t);
  for (size_t i = 0; i < N_TXS; i++)
    tu_tx_issue(&t[i], &coffee, i + 1, TU_BRAND_COFFEE, member.pk, 2);
  add_block(&b, t, N_TXS);
  builder_close(&b);
  char why[WHY_BYTES] = "";
  cairn_report *rep = calloc(1, sizeof *rep);
  cairn_audit_result *r = malloc(sizeof *r);
  assert_non_null(rep);
  assert_non_null(r);
  assert_int_equal(cairn_audit_datadir(b.dir, r, rep, why, sizeof why),
                   CAIRN_OK);
  if (!r->ok) fail_msg("audit failed: %s", why);
  assert_int_equal(r->txs, N_TXS);
  assert_int_equal(rep->brands[0].outstanding, 2 * N_TXS);
  free(rep);
  free(r);
  free(t);
  builder_free(&b);
}

/* ---- the progress line ---- */

static void test_progress_line(void **state) {
  (void)state;
  char buf[160];
  cairn_audit_progress p = {.height = 1200, .target = 50000,
                            .blocks_done = 1200, .blocks_todo = 50000,
                            .txs_done = 59245, .elapsed_ms = 1445};
  size_t n = cairn_audit_progress_format(buf, sizeof buf, &p);
  /* 1200 blocks in 1.445 s: 830/s; 41,000 tx/s; 48,800 blocks left. */
  assert_string_equal(buf, "audit: block 1200/50000 (2.4%)  830 blocks/s  "
                           "41,000 tx/s  ETA 58s");
  assert_int_equal(n, strlen(buf));
  p.elapsed_ms = 144500; /* a hundred times slower */
  (void)cairn_audit_progress_format(buf, sizeof buf, &p);
  assert_string_equal(buf, "audit: block 1200/50000 (2.4%)  8 blocks/s  "
                           "410 tx/s  ETA 1h37m");
  p.elapsed_ms = 0; /* no rates before the first millisecond */
  (void)cairn_audit_progress_format(buf, sizeof buf, &p);
  assert_string_equal(buf, "audit: block 1200/50000 (2.4%)");
  p.blocks_done = p.blocks_todo = 0;
  (void)cairn_audit_progress_format(buf, sizeof buf, &p);
  assert_string_equal(buf, "audit: block 1200/50000 (100.0%)");
  /* A short buffer is cut, never overrun. */
  n = cairn_audit_progress_format(buf, 10, &p);
  assert_int_equal(n, 9);
  assert_string_equal(buf, "audit: bl");
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_chain_passes),
      cmocka_unit_test(test_source_not_changed),
      cmocka_unit_test(test_no_store),
      cmocka_unit_test(test_deleted_blocks),
      cmocka_unit_test(test_reordered_blocks),
      cmocka_unit_test(test_duplicated_blocks),
      cmocka_unit_test(test_flipped_tx_byte),
      cmocka_unit_test(test_altered_balance),
      cmocka_unit_test(test_altered_indexes_and_tip),
      cmocka_unit_test(test_four_validators_report),
      cmocka_unit_test(test_commit_without_two_thirds),
      cmocka_unit_test(test_watch_verifies_only_new_blocks),
      cmocka_unit_test(test_watch_alarms),
      cmocka_unit_test(test_watch_rewrite_above_checkpoint),
      cmocka_unit_test(test_two_sources),
      cmocka_unit_test(test_interrupted_run_keeps_checkpoint),
      cmocka_unit_test(test_report_follows_set_changes),
      cmocka_unit_test(test_reader_death_is_a_finding),
      cmocka_unit_test(test_parallel_signature_checks),
      cmocka_unit_test(test_large_block),
      cmocka_unit_test(test_progress_line),
      cmocka_unit_test(test_flipped_bytes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
