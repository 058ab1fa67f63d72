/*
 * test_audit.c - the auditor replays a data directory and finds tampering.
 *
 * A small chain (issues, a transfer, a redemption, a coupon issued and
 * redeemed) is built with the chain API in a temporary store. The audit of
 * it must pass, with the right block and transaction counts and per-brand
 * outstanding totals, without changing the source and without leaving its
 * scratch store behind. Then copies of the store are tampered with through
 * LMDB directly (the store's API offers no way to do it, on purpose) and
 * each audit must fail, naming the right height or table:
 *   - a block record deleted            -> height of that block
 *   - a byte of a stored tx flipped     -> height of that block
 *   - a commit record deleted           -> height
 *   - a balance changed / deleted / added -> table balances, the key
 *   - a tx index entry changed          -> table tx_index
 *   - the stored tip's app hash changed -> the tip
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "cairn/audit.h"
#include "cairn/chain.h"
#include "cairn/file.h"
#include "cairn/encoding.h"
#include "cairn/state.h"
#include "cairn/store.h"
#include "testutil.h"

#define N_BLOCKS 4

/* The chain built once for the whole file. */
typedef struct fixture {
  char dir[64];
  tu_key coffee, m0, m1;
  uint8_t coupon[32];
  uint64_t txs;
} fixture;

/* ---- building the chain ---- */

/* Propose txs as the next block, sign its commit and commit it. */
static void add_block(cairn_chain *c, const cairn_tx *txs, size_t n,
                      uint64_t height) {
  uint8_t bufs[4][CAIRN_TX_BYTES_MAX];
  cairn_slice slices[4];
  assert_true(n <= 4);
  for (size_t i = 0; i < n; i++) {
    slices[i].p = bufs[i];
    slices[i].len = tu_tx_bytes(bufs[i], sizeof bufs[i], &txs[i]);
  }
  tu_vkey vk;
  tu_validator(&vk, 0);
  cairn_proposal *p = NULL;
  assert_int_equal(cairn_chain_propose(c, slices, n,
                                       TU_GENESIS_TIME_MS + height * 1000,
                                       vk.pk, NULL, NULL, &p),
                   CAIRN_OK);
  assert_int_equal(p->header.tx_count, n); /* nothing was left out */
  assert_int_equal(p->header.height, height);
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  tu_commit_sign(cm, height, p->hash, &vk);
  assert_int_equal(cairn_chain_commit_proposal(c, p, cm), CAIRN_OK);
  free(cm);
  cairn_proposal_free(p);
}

static void build_chain(fixture *f) {
  tu_tmpdir(f->dir, sizeof f->dir);
  cairn_genesis *g = malloc(sizeof *g);
  assert_non_null(g);
  tu_genesis(g);
  cairn_store *s = tu_store_open(f->dir);
  cairn_chain *c = NULL;
  assert_int_equal(cairn_chain_open(&c, s, g), CAIRN_OK);
  cairn_tx t[2];
  tu_tx_issue(&t[0], &f->coffee, 1, TU_BRAND_COFFEE, f->m0.pk, 100);
  tu_tx_issue(&t[1], &f->coffee, 2, TU_BRAND_COFFEE, f->m1.pk, 50);
  add_block(c, t, 2, 1);
  tu_tx_transfer(&t[0], &f->m0, 1, TU_BRAND_COFFEE, f->m1.pk, 30);
  tu_tx_redeem(&t[1], &f->m0, 2, TU_BRAND_COFFEE, 10, "A-1001");
  add_block(c, t, 2, 2);
  tu_tx_coupon_issue(&t[0], &f->coffee, 3, TU_BRAND_COFFEE, f->m0.pk, 1000,
                     true);
  tu_txid(f->coupon, &t[0]);
  add_block(c, t, 1, 3);
  tu_tx_coupon_redeem(&t[0], &f->m0, 3, f->coupon, TU_BRAND_COFFEE, "A-2");
  add_block(c, t, 1, 4);
  f->txs = 6;
  cairn_chain_close(c);
  cairn_store_close(s);
  free(g);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  tu_issuer(&f->coffee, TU_BRAND_COFFEE);
  tu_member(&f->m0, 0);
  tu_member(&f->m1, 1);
  build_chain(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  tu_rmtree(f->dir);
  free(f);
  return 0;
}

/* ---- helpers ---- */

/* Copy every regular file of src into a new temporary directory. */
static void copy_store(const char *src, char *dst, size_t cap) {
  tu_tmpdir(dst, cap);
  DIR *d = opendir(src);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/%s", src, e->d_name);
    snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
    char *data = NULL;
    size_t len = 0;
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    fseek(in, 0, SEEK_END);
    len = (size_t)ftell(in);
    fseek(in, 0, SEEK_SET);
    data = malloc(len + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, len, in), len);
    fclose(in);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(data, 1, len, out), len);
    fclose(out);
    free(data);
  }
  closedir(d);
}

/* Open an LMDB write transaction on dir's named database. */
typedef struct raw {
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
} raw;

static void raw_open(raw *r, const char *dir, const char *db) {
  assert_int_equal(mdb_env_create(&r->env), 0);
  assert_int_equal(mdb_env_set_maxdbs(r->env, 32), 0);
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
  uint8_t *out = malloc(v.mv_size);
  assert_non_null(out);
  memcpy(out, v.mv_data, v.mv_size);
  *len = v.mv_size;
  mdb_txn_abort(r.txn);
  mdb_env_close(r.env);
  return out;
}

static cairn_audit_report *audit(const char *dir, char *why, size_t cap) {
  cairn_audit_report *r = malloc(sizeof *r);
  assert_non_null(r);
  assert_int_equal(cairn_audit_datadir(dir, r, why, cap), CAIRN_OK);
  return r;
}

/* Audit a tampered copy and check where it failed. */
static void expect_failed(const char *dir, uint64_t height, cairn_table table,
                          const char *why_part) {
  char why[2048] = "";
  cairn_audit_report *r = audit(dir, why, sizeof why);
  assert_false(r->ok);
  assert_int_not_equal(r->failure, CAIRN_OK);
  assert_int_equal(r->failed_height, height);
  assert_int_equal(r->failed_table, table);
  if (why_part != NULL && strstr(why, why_part) == NULL) {
    fail_msg("expected '%s' in: %s", why_part, why);
  }
  free(r);
}

static void be64(uint8_t out[8], uint64_t v) { cairn_be64_write(out, v); }

/* ---- tests ---- */

static void progress(void *ctx, uint64_t height, uint64_t tip) {
  uint64_t *last = ctx;
  assert_int_equal(height, *last + 1);
  assert_int_equal(tip, N_BLOCKS);
  *last = height;
}

static void test_clean_chain_passes(void **state) {
  fixture *f = *state;
  char scratch[64], why[1024] = "";
  tu_tmpdir(scratch, sizeof scratch);
  char *old_tmp = getenv("TMPDIR");
  setenv("TMPDIR", scratch, 1);
  cairn_audit_report *r = malloc(sizeof *r);
  assert_non_null(r);
  uint64_t last = 0;
  assert_int_equal(cairn_audit_datadir_progress(f->dir, progress, &last, r,
                                                why, sizeof why),
                   CAIRN_OK);
  if (old_tmp != NULL) setenv("TMPDIR", old_tmp, 1);
  else unsetenv("TMPDIR");
  if (!r->ok) fail_msg("audit failed: %s", why);
  assert_int_equal(last, N_BLOCKS);
  assert_int_equal(r->blocks, N_BLOCKS);
  assert_int_equal(r->tip_height, N_BLOCKS);
  assert_int_equal(r->txs, f->txs);
  assert_string_equal(r->chain_id, TU_CHAIN_ID);
  assert_int_equal(r->n_brands, 3);
  /* coffee: 100 + 50 issued, 10 redeemed; the transfer moves 30 inside. */
  assert_int_equal(r->brands[0].id, TU_BRAND_COFFEE);
  assert_string_equal(r->brands[0].name, "coffee");
  assert_int_equal(r->brands[0].outstanding, 140);
  assert_int_equal(r->brands[1].outstanding, 0);
  assert_string_equal(r->brands[2].name, "books");
  /* The scratch store is gone. */
  DIR *d = opendir(scratch);
  assert_non_null(d);
  struct dirent *e;
  int entries = 0;
  while ((e = readdir(d)) != NULL) entries += e->d_name[0] != '.';
  closedir(d);
  assert_int_equal(entries, 0);
  rmdir(scratch);
  free(r);
}

static void test_source_not_changed(void **state) {
  fixture *f = *state;
  char path[128];
  snprintf(path, sizeof path, "%s/data.mdb", f->dir);
  char *before = NULL, *after = NULL;
  size_t blen = 0, alen = 0;
  assert_int_equal(cairn_file_read_all(path, 1u << 30, &before, &blen),
                   CAIRN_OK);
  char why[512];
  free(audit(f->dir, why, sizeof why));
  free(audit(f->dir, why, sizeof why));
  assert_int_equal(cairn_file_read_all(path, 1u << 30, &after, &alen),
                   CAIRN_OK);
  assert_int_equal(blen, alen);
  assert_memory_equal(before, after, blen);
  free(before);
  free(after);
}

static void test_no_store(void **state) {
  (void)state;
  cairn_audit_report *r = malloc(sizeof *r);
  assert_non_null(r);
  char why[512] = "";
  cairn_err err = cairn_audit_datadir("/nonexistent/cairn-data", r, why,
                                      sizeof why);
  assert_int_not_equal(err, CAIRN_OK);
  assert_false(r->ok);
  assert_non_null(strstr(why, "/nonexistent/cairn-data"));
  /* An empty directory is no store either, and stays empty. */
  char empty[64];
  tu_tmpdir(empty, sizeof empty);
  assert_int_not_equal(cairn_audit_datadir(empty, r, why, sizeof why),
                       CAIRN_OK);
  assert_false(r->ok);
  tu_rmtree(empty);
  free(r);
}

static void test_deleted_block(void **state) {
  fixture *f = *state;
  char copy[64];
  copy_store(f->dir, copy, sizeof copy);
  uint8_t key[8];
  be64(key, 2);
  raw_del(copy, "blocks", key, sizeof key);
  expect_failed(copy, 2, 0, "height 2");
  tu_rmtree(copy);
}

static void test_deleted_commit(void **state) {
  fixture *f = *state;
  char copy[64];
  copy_store(f->dir, copy, sizeof copy);
  uint8_t key[8];
  be64(key, 3);
  raw_del(copy, "commits", key, sizeof key);
  expect_failed(copy, 3, 0, "height 3");
  tu_rmtree(copy);
}

static void test_flipped_tx_byte(void **state) {
  fixture *f = *state;
  char copy[64];
  copy_store(f->dir, copy, sizeof copy);
  uint8_t key[8];
  be64(key, 2);
  size_t len = 0;
  uint8_t *block = raw_get(copy, "blocks", key, sizeof key, &len);
  block[len - 1] ^= 0x01; /* the last byte of the last tx's signature */
  raw_put(copy, "blocks", key, sizeof key, block, len);
  free(block);
  char why[1024] = "";
  cairn_audit_report *r = audit(copy, why, sizeof why);
  assert_false(r->ok);
  assert_int_equal(r->failed_height, 2);
  assert_int_equal(r->blocks, 1); /* block 1 was fine */
  assert_int_equal(r->failure, CAIRN_ERR_BAD_TX_ROOT);
  assert_non_null(strstr(why, "tx_root"));
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
  copy_store(f->dir, copy, sizeof copy);
  be64(val, 1000060);
  raw_put(copy, "balances", key, sizeof key, val, sizeof val);
  expect_failed(copy, 0, CAIRN_T_BALANCES, key_hex);
  expect_failed(copy, 0, CAIRN_T_BALANCES, "stored 00000000000f427c, replay "
                                           "000000000000003c");
  tu_rmtree(copy);
  /* Deleted. */
  copy_store(f->dir, copy, sizeof copy);
  raw_del(copy, "balances", key, sizeof key);
  expect_failed(copy, 0, CAIRN_T_BALANCES, "stored absent, replay "
                                           "000000000000003c");
  tu_rmtree(copy);
  /* Added: points out of thin air for someone who never had any. */
  copy_store(f->dir, copy, sizeof copy);
  tu_key stranger;
  tu_member(&stranger, 99);
  cairn_state_balance_key(key, stranger.pk, TU_BRAND_PIZZA);
  be64(val, 5);
  raw_put(copy, "balances", key, sizeof key, val, sizeof val);
  expect_failed(copy, 0, CAIRN_T_BALANCES, "replay absent");
  tu_rmtree(copy);
}

static void test_altered_tx_index(void **state) {
  fixture *f = *state;
  char copy[64];
  copy_store(f->dir, copy, sizeof copy);
  uint8_t loc[12];
  be64(loc, 1); /* the coupon was issued at height 3; claim height 1 */
  cairn_be32_write(loc + 8, 0);
  raw_put(copy, "tx_index", f->coupon, 32, loc, sizeof loc);
  expect_failed(copy, 0, CAIRN_T_TX_INDEX, "tx_index");
  tu_rmtree(copy);
}

static void test_altered_tip(void **state) {
  fixture *f = *state;
  char copy[64];
  copy_store(f->dir, copy, sizeof copy);
  size_t len = 0;
  uint8_t *tip = raw_get(copy, "meta", "tip", 3, &len);
  assert_true(len >= 8 + 64);
  tip[8 + 32] ^= 0x80; /* first byte of the app hash */
  raw_put(copy, "meta", "tip", 3, tip, len);
  free(tip);
  expect_failed(copy, 0, CAIRN_T_META, "app hash");
  tu_rmtree(copy);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_chain_passes),
      cmocka_unit_test(test_source_not_changed),
      cmocka_unit_test(test_no_store),
      cmocka_unit_test(test_deleted_block),
      cmocka_unit_test(test_deleted_commit),
      cmocka_unit_test(test_flipped_tx_byte),
      cmocka_unit_test(test_altered_balance),
      cmocka_unit_test(test_altered_tx_index),
      cmocka_unit_test(test_altered_tip),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
