/*
 * test_store.c - the LMDB store: genesis and tip across reopen, block
 * commits and their indexes, rejected commits that must leave no trace,
 * read-only readers in another process (including one that must follow a
 * map the writer grew), map growth from a tiny initial map, prefix scans,
 * corrupt records, and the reader limit.
 *
 * Blocks here are synthetic byte strings generated from their height, so a
 * read-back can be checked against a fresh generation rather than against
 * anything the store handed out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "cairn/view.h"
#include "testutil.h"

#define TS_GENESIS "synthetic genesis document"
#define TS_TXIDS_MAX 4

typedef struct ts_block {
  uint64_t height;
  uint8_t hash[32];
  uint8_t *block;
  size_t block_len;
  uint8_t commit[16];
  uint8_t txids[TS_TXIDS_MAX][32];
  size_t n_txids;
  uint8_t app_hash[32];
  uint64_t time_ms;
} ts_block;

/* Deterministic bytes for block `height` (xorshift64 stream). */
static void ts_fill(uint8_t *p, size_t n, uint64_t height) {
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (height * 0xbf58476d1ce4e5b9ull);
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (uint8_t)x;
  }
}

static void ts_block_make(ts_block *b, uint64_t height, size_t block_len,
                          size_t n_txids) {
  memset(b, 0, sizeof *b);
  assert_true(n_txids <= TS_TXIDS_MAX);
  b->height = height;
  b->block_len = block_len;
  b->block = malloc(block_len);
  assert_non_null(b->block);
  ts_fill(b->block, block_len, height);
  cairn_be64_write(b->block, height); /* block hashes differ per height */
  cairn_sha256_hash(b->hash, b->block, block_len);
  memcpy(b->commit, "commit::", 8);
  cairn_be64_write(b->commit + 8, height);
  for (size_t i = 0; i < n_txids; i++) {
    uint8_t seed[12];
    cairn_be64_write(seed, height);
    cairn_be32_write(seed + 8, (uint32_t)i);
    cairn_tagged_hash(b->txids[i], "test/txid", seed, sizeof seed);
  }
  b->n_txids = n_txids;
  cairn_tagged_hash(b->app_hash, "test/app", b->commit + 8, 8);
  b->time_ms = TU_GENESIS_TIME_MS + height * 1000;
}

static void ts_block_free(ts_block *b) { free(b->block); }

static cairn_err ts_commit(cairn_store *s, const ts_block *b,
                           const cairn_view *changes) {
  cairn_store_block_write w = {
      .height = b->height, .hash = b->hash, .block = b->block,
      .block_len = b->block_len, .commit = b->commit,
      .commit_len = sizeof b->commit, .txids = (const uint8_t(*)[32])b->txids,
      .n_txids = b->n_txids, .changes = changes, .app_hash = b->app_hash,
      .time_ms = b->time_ms};
  return cairn_store_commit_block(s, &w);
}

/* Commit a block of block_len bytes with no state changes. */
static cairn_err ts_commit_plain(cairn_store *s, uint64_t height,
                                 size_t block_len, size_t n_txids) {
  ts_block b;
  cairn_view *v = NULL;
  ts_block_make(&b, height, block_len, n_txids);
  assert_int_equal(cairn_view_open(&v, NULL), CAIRN_OK);
  cairn_err err = ts_commit(s, &b, v);
  cairn_view_close(v);
  ts_block_free(&b);
  return err;
}

static void ts_genesis_hash(uint8_t out[32]) {
  cairn_sha256_hash(out, (const uint8_t *)TS_GENESIS, strlen(TS_GENESIS));
}

/* Genesis with a few state records: balances of member 1 in brands 1..3. */
static void ts_commit_genesis(cairn_store *s) {
  uint8_t gh[32], app[32];
  cairn_view *v = NULL;
  ts_genesis_hash(gh);
  cairn_tagged_hash(app, "test/app", gh, 32);
  assert_int_equal(cairn_view_open(&v, s), CAIRN_OK);
  for (uint8_t brand = 1; brand <= 3; brand++) {
    uint8_t key[36] = {1}, val[8];
    cairn_be32_write(key + 32, brand);
    cairn_be64_write(val, 100u * brand);
    assert_int_equal(cairn_view_put(v, CAIRN_T_BALANCES, key, 36, val, 8),
                     CAIRN_OK);
  }
  assert_int_equal(cairn_store_commit_genesis(
                       s, (const uint8_t *)TS_GENESIS, strlen(TS_GENESIS), gh,
                       v, app, TU_GENESIS_TIME_MS),
                   CAIRN_OK);
  cairn_view_close(v);
}

static void ts_expect_tip(cairn_store *s, uint64_t height,
                          const uint8_t hash[32]) {
  cairn_rtxn *r = NULL;
  cairn_tip tip;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, &tip), CAIRN_OK);
  assert_int_equal(tip.height, height);
  assert_memory_equal(tip.hash, hash, 32);
  cairn_store_read_end(r);
}

/* Check block h (as ts_block_make(h, len, n_txids) made it) in r. */
static void ts_expect_block(cairn_rtxn *r, uint64_t h, size_t len,
                            size_t n_txids) {
  ts_block b;
  const uint8_t *blk = NULL, *cm = NULL;
  size_t blen = 0, clen = 0;
  uint64_t got_h = 0;
  uint32_t pos = 99;
  ts_block_make(&b, h, len, n_txids);
  assert_int_equal(cairn_store_block(r, h, &blk, &blen, &cm, &clen), CAIRN_OK);
  assert_int_equal(blen, len);
  assert_memory_equal(blk, b.block, len);
  assert_int_equal(clen, sizeof b.commit);
  assert_memory_equal(cm, b.commit, clen);
  assert_int_equal(cairn_store_block_height(r, b.hash, &got_h), CAIRN_OK);
  assert_int_equal(got_h, h);
  for (size_t i = 0; i < n_txids; i++) {
    assert_int_equal(cairn_store_tx_location(r, b.txids[i], &got_h, &pos),
                     CAIRN_OK);
    assert_int_equal(got_h, h);
    assert_int_equal(pos, i);
  }
  ts_block_free(&b);
}

static void ts_rmtree(const char *dir) { tu_rmtree(dir); }

/* ---- tests ---- */

static void test_open_genesis_reopen(void **state) {
  (void)state;
  char dir[64];
  uint8_t gh[32];
  tu_tmpdir(dir, sizeof dir);
  ts_genesis_hash(gh);
  cairn_store *s = tu_store_open(dir);
  assert_string_equal(cairn_store_path(s), dir);
  assert_string_equal(cairn_store_errstr(s), "no error");
  cairn_rtxn *r = NULL;
  cairn_tip tip;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, &tip), CAIRN_ERR_NOT_FOUND);
  assert_int_equal(tip.height, 0);
  cairn_store_read_end(r);
  ts_commit_genesis(s);
  ts_expect_tip(s, 0, gh);
  cairn_store_close(s);

  s = tu_store_open(dir);
  ts_expect_tip(s, 0, gh);
  const uint8_t *g = NULL, *bal = NULL;
  size_t glen = 0, blen = 0;
  uint8_t key[36] = {1};
  cairn_be32_write(key + 32, 2);
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, &tip), CAIRN_OK);
  assert_int_equal(tip.time_ms, TU_GENESIS_TIME_MS);
  assert_int_equal(cairn_store_get(r, CAIRN_T_META, (const uint8_t *)"genesis",
                                   7, &g, &glen),
                   CAIRN_OK);
  assert_int_equal(glen, strlen(TS_GENESIS));
  assert_memory_equal(g, TS_GENESIS, glen);
  assert_int_equal(cairn_store_get(r, CAIRN_T_BALANCES, key, 36, &bal, &blen),
                   CAIRN_OK);
  assert_int_equal(blen, 8);
  assert_int_equal(cairn_be64_read(bal), 200);
  cairn_store_read_end(r);
  cairn_store_close(s);
  ts_rmtree(dir);
}

static void test_genesis_twice(void **state) {
  (void)state;
  char dir[64];
  uint8_t gh[32], other[32];
  tu_tmpdir(dir, sizeof dir);
  ts_genesis_hash(gh);
  cairn_store *s = tu_store_open(dir);
  ts_commit_genesis(s);
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, s), CAIRN_OK);
  uint8_t key[36] = {7};
  assert_int_equal(cairn_view_put(v, CAIRN_T_BALANCES, key, 36,
                                  (const uint8_t *)"xxxxxxxx", 8),
                   CAIRN_OK);
  memset(other, 0xee, sizeof other);
  assert_int_equal(cairn_store_commit_genesis(s, (const uint8_t *)"other", 5,
                                              other, v, other, 5),
                   CAIRN_ERR_EXISTS);
  cairn_view_close(v);
  /* Nothing of the second genesis landed. */
  ts_expect_tip(s, 0, gh);
  cairn_rtxn *r = NULL;
  const uint8_t *p = NULL;
  size_t n = 0;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_get(r, CAIRN_T_BALANCES, key, 36, &p, &n),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_store_get(r, CAIRN_T_META, (const uint8_t *)"genesis",
                                   7, &p, &n),
                   CAIRN_OK);
  assert_memory_equal(p, TS_GENESIS, n);
  cairn_store_read_end(r);
  cairn_store_close(s);
  ts_rmtree(dir);
}

#define TS_CHAIN_BLOCKS 30

static void test_blocks_reopen(void **state) {
  (void)state;
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store *s = tu_store_open(dir);
  ts_commit_genesis(s);
  for (uint64_t h = 1; h <= TS_CHAIN_BLOCKS; h++) {
    assert_int_equal(ts_commit_plain(s, h, 100 + h, h % (TS_TXIDS_MAX + 1)),
                     CAIRN_OK);
  }
  cairn_store_close(s);

  s = tu_store_open(dir);
  ts_block last;
  ts_block_make(&last, TS_CHAIN_BLOCKS, 100 + TS_CHAIN_BLOCKS, 0);
  ts_expect_tip(s, TS_CHAIN_BLOCKS, last.hash);
  cairn_rtxn *r = NULL;
  cairn_tip tip;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, &tip), CAIRN_OK);
  assert_memory_equal(tip.app_hash, last.app_hash, 32);
  assert_int_equal(tip.time_ms, last.time_ms);
  for (uint64_t h = 1; h <= TS_CHAIN_BLOCKS; h++) {
    ts_expect_block(r, h, 100 + h, h % (TS_TXIDS_MAX + 1));
  }
  /* Misses. */
  const uint8_t *b = NULL, *c = NULL;
  size_t bl = 1, cl = 1;
  uint8_t unknown[32] = {0xab};
  uint64_t h = 7;
  uint32_t pos = 7;
  assert_int_equal(cairn_store_block(r, 0, &b, &bl, &c, &cl),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_store_block(r, TS_CHAIN_BLOCKS + 1, &b, &bl, &c, &cl),
                   CAIRN_ERR_NOT_FOUND);
  assert_null(b);
  assert_int_equal(bl, 0);
  assert_int_equal(cairn_store_block_height(r, unknown, &h),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(h, 0);
  assert_int_equal(cairn_store_tx_location(r, unknown, &h, &pos),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(pos, 0);
  cairn_store_read_end(r);
  ts_block_free(&last);
  cairn_store_close(s);
  ts_rmtree(dir);
}

/* State of a store after genesis and blocks 1..2, checked after each
 * rejected commit. */
static void ts_expect_unchanged(cairn_store *s, const ts_block *rejected) {
  ts_block two;
  ts_block_make(&two, 2, 64, 2);
  ts_expect_tip(s, 2, two.hash);
  ts_block_free(&two);
  cairn_rtxn *r = NULL;
  const uint8_t *p = NULL, *c = NULL;
  size_t n = 0, cn = 0;
  uint64_t h = 0;
  uint32_t pos = 0;
  uint8_t key[36] = {9};
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_block(r, 3, &p, &n, &c, &cn),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_store_block(r, 4, &p, &n, &c, &cn),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_store_block_height(r, rejected->hash, &h),
                   CAIRN_ERR_NOT_FOUND);
  /* The rejected block's fresh txid (the last one) is not indexed. */
  assert_int_equal(cairn_store_tx_location(
                       r, rejected->txids[rejected->n_txids - 1], &h, &pos),
                   CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_store_get(r, CAIRN_T_BALANCES, key, 36, &p, &n),
                   CAIRN_ERR_NOT_FOUND);
  ts_expect_block(r, 2, 64, 2);
  cairn_store_read_end(r);
}

static void test_rejected_commits_write_nothing(void **state) {
  (void)state;
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store *s = tu_store_open(dir);
  /* Before genesis there is no tip to follow. */
  assert_int_equal(ts_commit_plain(s, 1, 64, 2), CAIRN_ERR_BAD_HEIGHT);
  ts_commit_genesis(s);
  assert_int_equal(ts_commit_plain(s, 1, 64, 2), CAIRN_OK);
  assert_int_equal(ts_commit_plain(s, 2, 64, 2), CAIRN_OK);

  cairn_view *v = NULL;
  uint8_t key[36] = {9};
  assert_int_equal(cairn_view_open(&v, s), CAIRN_OK);
  assert_int_equal(cairn_view_put(v, CAIRN_T_BALANCES, key, 36,
                                  (const uint8_t *)"12345678", 8),
                   CAIRN_OK);
  /* Rejected blocks are 65 bytes, so their hashes differ from the real
   * blocks 1 and 2 (64 bytes) even at the same height. */
  uint64_t bad_heights[] = {0, 1, 2, 4, 100, UINT64_MAX};
  for (size_t i = 0; i < sizeof bad_heights / sizeof *bad_heights; i++) {
    ts_block b;
    ts_block_make(&b, bad_heights[i], 65, 3);
    assert_int_equal(ts_commit(s, &b, v), CAIRN_ERR_BAD_HEIGHT);
    ts_expect_unchanged(s, &b);
    ts_block_free(&b);
  }
  ts_block b, one, two;
  ts_block_make(&b, 3, 64, 3);
  ts_block_make(&one, 1, 64, 2);
  ts_block_make(&two, 2, 64, 2);
  uint8_t fresh0[32];
  memcpy(fresh0, b.txids[0], 32);
  /* Height 3 whose first txid was already committed in block 1. */
  memcpy(b.txids[0], one.txids[1], 32);
  assert_int_equal(ts_commit(s, &b, v), CAIRN_ERR_DUPLICATE_TX);
  ts_expect_unchanged(s, &b);
  /* The same fresh txid twice within one block: the first copy must not
   * survive the abort. */
  memcpy(b.txids[0], fresh0, 32);
  memcpy(b.txids[1], fresh0, 32);
  assert_int_equal(ts_commit(s, &b, v), CAIRN_ERR_DUPLICATE_TX);
  ts_expect_unchanged(s, &b);
  {
    cairn_rtxn *r = NULL;
    uint64_t h = 0;
    uint32_t pos = 0;
    assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
    assert_int_equal(cairn_store_tx_location(r, fresh0, &h, &pos),
                     CAIRN_ERR_NOT_FOUND);
    cairn_store_read_end(r);
  }
  /* A block hash already indexed (block 2's) at height 3. */
  ts_block_free(&b);
  ts_block_make(&b, 3, 64, 3);
  uint8_t own_hash[32];
  memcpy(own_hash, b.hash, 32);
  memcpy(b.hash, two.hash, 32);
  assert_int_equal(ts_commit(s, &b, v), CAIRN_ERR_EXISTS);
  memcpy(b.hash, own_hash, 32);
  ts_expect_unchanged(s, &b);
  /* The same block correctly built now goes in, with its state. */
  assert_int_equal(ts_commit(s, &b, v), CAIRN_OK);
  ts_expect_tip(s, 3, b.hash);
  {
    cairn_rtxn *r = NULL;
    const uint8_t *p = NULL;
    size_t n = 0;
    assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
    assert_int_equal(cairn_store_get(r, CAIRN_T_BALANCES, key, 36, &p, &n),
                     CAIRN_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(p, "12345678", 8);
    cairn_store_read_end(r);
  }
  ts_block_free(&one);
  ts_block_free(&two);
  cairn_view_close(v);
  ts_block_free(&b);
  cairn_store_close(s);
  ts_rmtree(dir);
}

typedef struct ts_seen {
  size_t n;
  uint8_t keys[16][64];
  size_t klens[16];
} ts_seen;

static cairn_err ts_apply_expect(cairn_store *s, cairn_table t,
                                 const char *key, const char *val) {
  cairn_rtxn *r = NULL;
  const uint8_t *p = NULL;
  size_t n = 0;
  CAIRN_TRY(cairn_store_read_begin(s, &r));
  cairn_err err =
      cairn_store_get(r, t, (const uint8_t *)key, strlen(key), &p, &n);
  if (err == CAIRN_OK && val != NULL &&
      (n != strlen(val) || (n > 0 && memcmp(p, val, n) != 0))) {
    err = CAIRN_ERR_CORRUPT;
  }
  cairn_store_read_end(r);
  return err;
}

/* A block's view changes land in the state tables: puts, empty values,
 * deletes of base keys and deletes of keys the base never had. */
static void test_changes_applied(void **state) {
  (void)state;
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store *s = tu_store_open(dir);
  ts_commit_genesis(s);
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, s), CAIRN_OK);
  assert_int_equal(cairn_view_put(v, CAIRN_T_BRANDS, (const uint8_t *)"b1", 2,
                                  (const uint8_t *)"one", 3),
                   CAIRN_OK);
  assert_int_equal(cairn_view_put(v, CAIRN_T_COUPON_OWNER,
                                  (const uint8_t *)"owner", 5, NULL, 0),
                   CAIRN_OK);
  assert_int_equal(cairn_view_put(v, CAIRN_T_VALIDATORS,
                                  (const uint8_t *)"gone", 4,
                                  (const uint8_t *)"x", 1),
                   CAIRN_OK);
  assert_int_equal(cairn_view_del(v, CAIRN_T_VALIDATORS,
                                  (const uint8_t *)"gone", 4),
                   CAIRN_OK);
  ts_block b;
  ts_block_make(&b, 1, 32, 1);
  assert_int_equal(ts_commit(s, &b, v), CAIRN_OK);
  ts_block_free(&b);
  cairn_view_close(v);
  assert_int_equal(ts_apply_expect(s, CAIRN_T_BRANDS, "b1", "one"), CAIRN_OK);
  assert_int_equal(ts_apply_expect(s, CAIRN_T_COUPON_OWNER, "owner", ""),
                   CAIRN_OK);
  assert_int_equal(ts_apply_expect(s, CAIRN_T_VALIDATORS, "gone", NULL),
                   CAIRN_ERR_NOT_FOUND);
  /* Tables are separate: the same key in another table is absent. */
  assert_int_equal(ts_apply_expect(s, CAIRN_T_COUPONS, "b1", NULL),
                   CAIRN_ERR_NOT_FOUND);

  /* Block 2 overwrites b1 and deletes the owner row. */
  assert_int_equal(cairn_view_open(&v, s), CAIRN_OK);
  assert_int_equal(cairn_view_put(v, CAIRN_T_BRANDS, (const uint8_t *)"b1", 2,
                                  (const uint8_t *)"uno", 3),
                   CAIRN_OK);
  assert_int_equal(cairn_view_del(v, CAIRN_T_COUPON_OWNER,
                                  (const uint8_t *)"owner", 5),
                   CAIRN_OK);
  ts_block_make(&b, 2, 32, 1);
  assert_int_equal(ts_commit(s, &b, v), CAIRN_OK);
  ts_block_free(&b);
  cairn_view_close(v);
  assert_int_equal(ts_apply_expect(s, CAIRN_T_BRANDS, "b1", "uno"), CAIRN_OK);
  assert_int_equal(ts_apply_expect(s, CAIRN_T_COUPON_OWNER, "owner", NULL),
                   CAIRN_ERR_NOT_FOUND);
  cairn_store_close(s);
  ts_rmtree(dir);
}

static void test_read_only_missing(void **state) {
  (void)state;
  char dir[64], missing[96];
  cairn_store_opts ro = {.read_only = true};
  cairn_store *s = (cairn_store *)&ro; /* must be reset to NULL */
  tu_tmpdir(dir, sizeof dir);
  snprintf(missing, sizeof missing, "%s/nope", dir);
  assert_int_equal(cairn_store_open(&s, missing, &ro), CAIRN_ERR_NOT_FOUND);
  assert_null(s);
  struct stat st;
  assert_int_equal(stat(missing, &st), -1); /* not created */
  /* An existing directory without a store. */
  assert_int_equal(cairn_store_open(&s, dir, &ro), CAIRN_ERR_NOT_FOUND);
  assert_null(s);
  /* A writable open of a path under a regular file fails with IO. */
  char file[96], under[128];
  snprintf(file, sizeof file, "%s/file", dir);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  snprintf(under, sizeof under, "%s/sub", file);
  assert_int_equal(cairn_store_open(&s, under, NULL), CAIRN_ERR_IO);
  assert_null(s);
  ts_rmtree(dir);
}

/* The created directory is private. */
static void test_dir_mode(void **state) {
  (void)state;
  char dir[64], sub[96];
  tu_tmpdir(dir, sizeof dir);
  snprintf(sub, sizeof sub, "%s/store", dir);
  cairn_store *s = tu_store_open(sub);
  struct stat st;
  assert_int_equal(stat(sub, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  cairn_store_close(s);
  ts_rmtree(dir);
}

/* ---- a reader in another process ---- */

enum { TS_RO_HEIGHT_1 = 3, TS_RO_BLOCKS_BIG = 24 };
#define TS_BIG_BLOCK_BYTES (384u * 1024u)

static bool ts_child_block_ok(cairn_rtxn *r, uint64_t h, size_t len) {
  ts_block b;
  const uint8_t *blk = NULL, *cm = NULL;
  size_t blen = 0, clen = 0;
  ts_block_make(&b, h, len, 1);
  bool ok = cairn_store_block(r, h, &blk, &blen, &cm, &clen) == CAIRN_OK &&
            blen == len && memcmp(blk, b.block, len) == 0;
  ts_block_free(&b);
  return ok;
}

/* The child: no cmocka here; the exit code says which check failed. */
static int ts_reader_child(const char *dir, int from_parent, int to_parent) {
  cairn_store_opts ro = {.read_only = true, .map_bytes_initial = 1u << 20};
  cairn_store *s = NULL;
  cairn_rtxn *old = NULL, *fresh = NULL;
  cairn_tip tip;
  char c = 0;
  if (cairn_store_open(&s, dir, &ro) != CAIRN_OK) return 10;
  if (cairn_store_read_begin(s, &old) != CAIRN_OK) return 11;
  if (cairn_store_tip(old, &tip) != CAIRN_OK) return 12;
  if (tip.height != TS_RO_HEIGHT_1) return 13;
  if (write(to_parent, "r", 1) != 1) return 14;
  if (read(from_parent, &c, 1) != 1 || c != 'g') return 15;
  /* The writer grew the map far past ours: this begin must adopt it. */
  if (cairn_store_read_begin(s, &fresh) != CAIRN_OK) return 16;
  if (cairn_store_tip(fresh, &tip) != CAIRN_OK) return 17;
  if (tip.height != TS_RO_HEIGHT_1 + TS_RO_BLOCKS_BIG) return 18;
  for (uint64_t h = TS_RO_HEIGHT_1 + 1; h <= tip.height; h++) {
    if (!ts_child_block_ok(fresh, h, TS_BIG_BLOCK_BYTES)) return 19;
  }
  /* The older snapshot still reads, and still sees the old tip. */
  if (cairn_store_tip(old, &tip) != CAIRN_OK) return 20;
  if (tip.height != TS_RO_HEIGHT_1) return 21;
  cairn_store_read_end(old);
  cairn_store_read_end(fresh);
  cairn_store_close(s);
  return 0;
}

static void test_read_only_follows_writer(void **state) {
  (void)state;
  char dir[64];
  int down[2], up[2];
  tu_tmpdir(dir, sizeof dir);
  cairn_store_opts opts = {.no_sync = true, .map_bytes_initial = 1u << 20};
  cairn_store *s = NULL;
  assert_int_equal(cairn_store_open(&s, dir, &opts), CAIRN_OK);
  ts_commit_genesis(s);
  for (uint64_t h = 1; h <= TS_RO_HEIGHT_1; h++) {
    assert_int_equal(ts_commit_plain(s, h, 200, 1), CAIRN_OK);
  }
  assert_int_equal(pipe(down), 0);
  assert_int_equal(pipe(up), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* Only our own pipe ends stay open, so either side sees EOF if the
     * other dies. */
    close(down[1]);
    close(up[0]);
    _exit(ts_reader_child(dir, down[0], up[1]));
  }
  close(down[0]);
  close(up[1]);
  char c = 0;
  assert_int_equal(read(up[0], &c, 1), 1);
  assert_int_equal(c, 'r');
  /* ~9 MiB of blocks: the 1 MiB map doubles several times. */
  for (uint64_t h = TS_RO_HEIGHT_1 + 1; h <= TS_RO_HEIGHT_1 + TS_RO_BLOCKS_BIG;
       h++) {
    assert_int_equal(ts_commit_plain(s, h, TS_BIG_BLOCK_BYTES, 1), CAIRN_OK);
  }
  assert_int_equal(write(down[1], "g", 1), 1);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  close(down[1]);
  close(up[0]);
  cairn_store_close(s);
  ts_rmtree(dir);
}

/* ---- map growth ---- */

#define TS_GROW_BLOCKS 40
#define TS_GROW_BLOCK_BYTES (256u * 1024u) /* 40 x 256 KiB = 10 MiB */

/* Growth, reopening and reading back; `scratch` stores (an auditor's
 * replica) write pages in place in the map and must behave the same. */
static void map_growth(bool scratch) {
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store_opts opts = {.no_sync = true, .map_bytes_initial = 1u << 20,
                           .scratch = scratch};
  cairn_store *s = NULL;
  assert_int_equal(cairn_store_open(&s, dir, &opts), CAIRN_OK);
  ts_commit_genesis(s);
  /* A reader open across the growth keeps working. */
  cairn_rtxn *before = NULL;
  assert_int_equal(cairn_store_read_begin(s, &before), CAIRN_OK);
  for (uint64_t h = 1; h <= TS_GROW_BLOCKS; h++) {
    assert_int_equal(ts_commit_plain(s, h, TS_GROW_BLOCK_BYTES, 2), CAIRN_OK);
  }
  /* One block larger than the whole initial map. */
  assert_int_equal(ts_commit_plain(s, TS_GROW_BLOCKS + 1, 3u << 20, 1),
                   CAIRN_OK);
  cairn_tip tip;
  assert_int_equal(cairn_store_tip(before, &tip), CAIRN_OK);
  assert_int_equal(tip.height, 0);
  cairn_store_read_end(before);
  cairn_store_close(s);

  char data[96];
  struct stat st;
  snprintf(data, sizeof data, "%s/data.mdb", dir);
  assert_int_equal(stat(data, &st), 0);
  assert_true(st.st_size > 8 * 1024 * 1024);

  /* Reopen with the same tiny initial map: it must start at the file size. */
  assert_int_equal(cairn_store_open(&s, dir, &opts), CAIRN_OK);
  cairn_rtxn *r = NULL;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, &tip), CAIRN_OK);
  assert_int_equal(tip.height, TS_GROW_BLOCKS + 1);
  for (uint64_t h = 1; h <= TS_GROW_BLOCKS; h++) {
    ts_expect_block(r, h, TS_GROW_BLOCK_BYTES, 2);
  }
  ts_expect_block(r, TS_GROW_BLOCKS + 1, 3u << 20, 1);
  cairn_store_read_end(r);
  /* And it can keep growing. */
  assert_int_equal(ts_commit_plain(s, TS_GROW_BLOCKS + 2, 2u << 20, 1),
                   CAIRN_OK);
  cairn_store_close(s);
  ts_rmtree(dir);
}

static void test_map_growth(void **state) {
  (void)state;
  map_growth(false);
}

static void test_map_growth_scratch(void **state) {
  (void)state;
  map_growth(true);
}

/* ---- readers in other threads while the map grows ---- */

#define TS_THREADS 2
#define TS_THREAD_BLOCK_BYTES 4096u

typedef struct ts_reader {
  cairn_store *s;
  atomic_bool *stop;
  uint64_t rounds, failures, last_height;
  uint8_t *buf; /* TS_THREAD_BLOCK_BYTES */
} ts_reader;

/* One round: a snapshot, its tip (never going back), block 1's index entry
 * and its bytes copied out, compared with a fresh generation. */
static bool ts_reader_round(ts_reader *rd, const ts_block *one) {
  cairn_rtxn *r = NULL;
  cairn_tip tip;
  uint64_t h = 0;
  uint32_t pos = 9;
  size_t n = 0;
  uint8_t key[8];
  cairn_be64_write(key, 1);
  if (cairn_store_read_begin(rd->s, &r) != CAIRN_OK) return false;
  bool ok = cairn_store_tip(r, &tip) == CAIRN_OK &&
            tip.height >= rd->last_height &&
            cairn_store_tx_location(r, one->txids[0], &h, &pos) == CAIRN_OK &&
            h == 1 && pos == 0 &&
            cairn_store_get_copy(r, CAIRN_T_BLOCKS, key, 8, rd->buf,
                                 TS_THREAD_BLOCK_BYTES, &n) == CAIRN_OK &&
            n == one->block_len && memcmp(rd->buf, one->block, n) == 0;
  rd->last_height = tip.height;
  cairn_store_read_end(r);
  return ok;
}

static void *ts_reader_thread(void *arg) {
  ts_reader *rd = arg;
  ts_block one;
  ts_block_make(&one, 1, TS_THREAD_BLOCK_BYTES, 1);
  while (!atomic_load(rd->stop) || rd->rounds == 0) {
    if (!ts_reader_round(rd, &one)) rd->failures++;
    rd->rounds++;
  }
  ts_block_free(&one);
  return NULL;
}

static void test_threads_read_while_map_grows(void **state) {
  (void)state;
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store_opts opts = {.no_sync = true, .map_bytes_initial = 1u << 20};
  cairn_store *s = NULL;
  assert_int_equal(cairn_store_open(&s, dir, &opts), CAIRN_OK);
  ts_commit_genesis(s);
  assert_int_equal(ts_commit_plain(s, 1, TS_THREAD_BLOCK_BYTES, 1), CAIRN_OK);
  atomic_bool stop;
  atomic_init(&stop, false);
  ts_reader rd[TS_THREADS];
  pthread_t th[TS_THREADS];
  static uint8_t bufs[TS_THREADS][TS_THREAD_BLOCK_BYTES];
  for (size_t i = 0; i < TS_THREADS; i++) {
    rd[i] = (ts_reader){.s = s, .stop = &stop, .buf = bufs[i]};
    assert_int_equal(pthread_create(&th[i], NULL, ts_reader_thread, &rd[i]),
                     0);
  }
  /* ~12 MiB: the map doubles from 1 MiB to 16 MiB under the readers. */
  for (uint64_t h = 2; h <= 25; h++) {
    assert_int_equal(ts_commit_plain(s, h, 512u * 1024u, 1), CAIRN_OK);
  }
  atomic_store(&stop, true);
  for (size_t i = 0; i < TS_THREADS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_true(rd[i].rounds > 0);
    assert_int_equal(rd[i].failures, 0);
  }
  cairn_store_close(s);
  ts_rmtree(dir);
}

/* ---- scans ---- */

static int ts_collect(void *ctx, const uint8_t *key, size_t klen,
                      const uint8_t *val, size_t vlen) {
  ts_seen *seen = ctx;
  (void)val;
  (void)vlen;
  if (seen->n >= 16 || klen > 64) return 1;
  memcpy(seen->keys[seen->n], key, klen);
  seen->klens[seen->n++] = klen;
  return 0;
}

static int ts_stop_after_two(void *ctx, const uint8_t *key, size_t klen,
                             const uint8_t *val, size_t vlen) {
  ts_seen *seen = ctx;
  ts_collect(ctx, key, klen, val, vlen);
  return seen->n == 2;
}

static void ts_scan(cairn_store *s, const char *prefix, size_t max,
                    cairn_store_visit_fn fn, ts_seen *seen) {
  cairn_rtxn *r = NULL;
  memset(seen, 0, sizeof *seen);
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_scan(r, CAIRN_T_COUPONS,
                                    (const uint8_t *)prefix, strlen(prefix),
                                    max, fn, seen),
                   CAIRN_OK);
  cairn_store_read_end(r);
}

static void test_scan(void **state) {
  (void)state;
  static const char *const keys[] = {"a", "ab", "abc", "abd", "abz", "b",
                                     "ba", "c"};
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store *s = tu_store_open(dir);
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, s), CAIRN_OK);
  /* Written out of order; the scan returns key order. */
  for (size_t i = sizeof keys / sizeof *keys; i-- > 0;) {
    assert_int_equal(cairn_view_put(v, CAIRN_T_COUPONS,
                                    (const uint8_t *)keys[i], strlen(keys[i]),
                                    (const uint8_t *)"v", 1),
                     CAIRN_OK);
  }
  /* A key in another table never shows up. */
  assert_int_equal(cairn_view_put(v, CAIRN_T_BRANDS, (const uint8_t *)"ab0", 3,
                                  (const uint8_t *)"v", 1),
                   CAIRN_OK);
  uint8_t gh[32] = {1}, app[32] = {2};
  assert_int_equal(cairn_store_commit_genesis(s, (const uint8_t *)"g", 1, gh,
                                              v, app, 1),
                   CAIRN_OK);
  cairn_view_close(v);
  ts_seen seen;
  ts_scan(s, "ab", 100, ts_collect, &seen);
  assert_int_equal(seen.n, 4);
  assert_memory_equal(seen.keys[0], "ab", 2);
  assert_memory_equal(seen.keys[1], "abc", 3);
  assert_memory_equal(seen.keys[2], "abd", 3);
  assert_memory_equal(seen.keys[3], "abz", 3);
  ts_scan(s, "ab", 3, ts_collect, &seen);
  assert_int_equal(seen.n, 3);
  assert_memory_equal(seen.keys[2], "abd", 3);
  ts_scan(s, "ab", 0, ts_collect, &seen);
  assert_int_equal(seen.n, 0);
  ts_scan(s, "ab", 100, ts_stop_after_two, &seen);
  assert_int_equal(seen.n, 2);
  ts_scan(s, "abe", 100, ts_collect, &seen);
  assert_int_equal(seen.n, 0);
  ts_scan(s, "d", 100, ts_collect, &seen);
  assert_int_equal(seen.n, 0);
  ts_scan(s, "b", 100, ts_collect, &seen);
  assert_int_equal(seen.n, 2);
  assert_int_equal(seen.klens[1], 2);
  ts_scan(s, "", 100, ts_collect, &seen);
  assert_int_equal(seen.n, 8);
  for (size_t i = 0; i < 8; i++) {
    assert_int_equal(seen.klens[i], strlen(keys[i]));
    assert_memory_equal(seen.keys[i], keys[i], seen.klens[i]);
  }
  cairn_store_close(s);
  ts_rmtree(dir);
}

/* ---- corrupt records ---- */

/* Overwrite one record with raw LMDB while no store is open. */
static void ts_raw_put(const char *dir, const char *db, const void *key,
                       size_t klen, const void *val, size_t vlen) {
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi dbi;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
  assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
  MDB_val k = {klen, (void *)key};
  if (val == NULL) {
    assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
  } else {
    MDB_val v = {vlen, (void *)val};
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
  }
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

static void test_corrupt_records(void **state) {
  (void)state;
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store *s = tu_store_open(dir);
  ts_commit_genesis(s);
  assert_int_equal(ts_commit_plain(s, 1, 50, 1), CAIRN_OK);
  cairn_store_close(s);
  ts_block one;
  ts_block_make(&one, 1, 50, 1);
  uint8_t short_tip[79] = {0}, key1[8];
  cairn_be64_write(key1, 1);
  ts_raw_put(dir, "meta", "tip", 3, short_tip, sizeof short_tip);
  ts_raw_put(dir, "tx_index", one.txids[0], 32, "short", 5);
  ts_raw_put(dir, "block_index", one.hash, 32, "1234567", 7);
  ts_raw_put(dir, "commits", key1, 8, NULL, 0);

  s = tu_store_open(dir);
  cairn_rtxn *r = NULL;
  cairn_tip tip;
  uint64_t h = 5;
  uint32_t pos = 5;
  const uint8_t *b = NULL, *c = NULL;
  size_t bl = 0, cl = 0;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, &tip), CAIRN_ERR_CORRUPT);
  assert_int_equal(tip.height, 0);
  assert_int_equal(cairn_store_tx_location(r, one.txids[0], &h, &pos),
                   CAIRN_ERR_CORRUPT);
  assert_int_equal(h, 0);
  assert_int_equal(cairn_store_block_height(r, one.hash, &h),
                   CAIRN_ERR_CORRUPT);
  assert_int_equal(cairn_store_block(r, 1, &b, &bl, &c, &cl),
                   CAIRN_ERR_CORRUPT);
  assert_null(b);
  cairn_store_read_end(r);
  /* A write that must read the tip refuses too. */
  assert_int_equal(ts_commit_plain(s, 2, 50, 1), CAIRN_ERR_CORRUPT);
  cairn_store_close(s);
  ts_block_free(&one);
  ts_rmtree(dir);
}

/* ---- the reader limit maps to STORE with LMDB's text kept ---- */

static void test_readers_full(void **state) {
  (void)state;
  char dir[64];
  tu_tmpdir(dir, sizeof dir);
  cairn_store *s = tu_store_open(dir);
  cairn_rtxn *r[CAIRN_STORE_READERS_MAX + 1] = {0};
  for (size_t i = 0; i < CAIRN_STORE_READERS_MAX; i++) {
    assert_int_equal(cairn_store_read_begin(s, &r[i]), CAIRN_OK);
  }
  cairn_rtxn *extra = (cairn_rtxn *)dir;
  assert_int_equal(cairn_store_read_begin(s, &extra), CAIRN_ERR_STORE);
  assert_null(extra);
  assert_non_null(strstr(cairn_store_errstr(s), "MDB_READERS_FULL"));
  cairn_store_read_end(r[0]);
  assert_int_equal(cairn_store_read_begin(s, &r[0]), CAIRN_OK);
  for (size_t i = 0; i < CAIRN_STORE_READERS_MAX; i++) {
    cairn_store_read_end(r[i]);
  }
  cairn_store_close(s);
  ts_rmtree(dir);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_genesis_reopen),
      cmocka_unit_test(test_genesis_twice),
      cmocka_unit_test(test_blocks_reopen),
      cmocka_unit_test(test_rejected_commits_write_nothing),
      cmocka_unit_test(test_changes_applied),
      cmocka_unit_test(test_read_only_missing),
      cmocka_unit_test(test_dir_mode),
      cmocka_unit_test(test_read_only_follows_writer),
      cmocka_unit_test(test_map_growth),
      cmocka_unit_test(test_map_growth_scratch),
      cmocka_unit_test(test_threads_read_while_map_grows),
      cmocka_unit_test(test_scan),
      cmocka_unit_test(test_corrupt_records),
      cmocka_unit_test(test_readers_full),
  };
  return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
