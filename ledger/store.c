/*
 * store.c - the LMDB store: chain, indexes and state in one environment.
 *
 * One LMDB environment (a directory holding data.mdb and lock.mdb) holds
 * eleven named databases, one per cairn_table. LMDB was chosen because its
 * copy-on-write B-tree gives exactly the guarantee a ledger needs: a write
 * transaction either lands whole or not at all, readers see a consistent
 * snapshot without ever blocking the writer, and a reader in another process
 * (`cairn audit`) can follow a live node.
 *
 * Every write goes through cairn_store_write(), which runs a caller-supplied
 * function inside a fresh write transaction. If LMDB reports MDB_MAP_FULL
 * the transaction is aborted, the map doubled (up to
 * CAIRN_STORE_MAP_BYTES_MAX) and the function run again from scratch; the
 * function is therefore pure with respect to anything but the transaction.
 * Starting with a small map and doubling keeps the address-space claim of
 * small stores small while large stores never hit a fixed ceiling.
 *
 * Re-mapping (growing the map here, or adopting a size another process chose
 * after MDB_MAP_RESIZED) is only safe while no LMDB call of this process is
 * touching the map. A reader-writer lock, map_lock, enforces that: every
 * LMDB call that reads the map (and every write transaction, begin to end)
 * holds it shared; mdb_env_set_mapsize() holds it exclusive. The lock is
 * never held between calls, so a thread may keep read transactions open
 * while it commits. The price, stated in store.h: value pointers from
 * earlier reads do not survive a re-map in this process.
 *
 * Keys of the blocks and commits tables are heights as big-endian u64, so
 * LMDB's byte order is height order. The tip record is fixed-size and is
 * checked on every read; a record of the wrong size means the store is
 * corrupt, not that the caller erred.
 *
 * Errors: LMDB's own errors become CAIRN_ERR_STORE (the LMDB text is kept
 * for cairn_store_errstr()), system errors while opening become
 * CAIRN_ERR_IO, and MDB_MAP_FULL at the maximum map size becomes
 * CAIRN_ERR_MAP_FULL.
 */
#include "cairn/store.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <lmdb.h>

#include "cairn/encoding.h"
#include "cairn/limits.h"
#include "cairn/view.h"

/* Twenty tables; LMDB wants a bound on named databases up front. */
#define CAIRN_STORE_TABLES 20
#define CAIRN_STORE_DBS_MAX 32
/* height u64 | hash [32] | app hash [32] | time_ms u64 */
#define CAIRN_STORE_TIP_BYTES (8 + CAIRN_HASH_BYTES + CAIRN_HASH_BYTES + 8)
/* height u64 | position u32 */
#define CAIRN_STORE_TXLOC_BYTES 12
/* LMDB's compiled-in key size limit (mdb_env_get_maxkeysize). */
#define CAIRN_STORE_KEY_BYTES_MAX 511
/* Map sizes are kept a multiple of the usual OS page size. */
#define CAIRN_STORE_MAP_ALIGN 65536ull
/* Redo bound for one write: doubling from 64 KiB reaches 1 TiB in 24 steps;
 * the rest is room for MDB_MAP_RESIZED retries. */
#define CAIRN_STORE_ATTEMPTS_MAX 64

#define CAIRN_STORE_META_TIP "tip"
#define CAIRN_STORE_META_GENESIS "genesis"

_Static_assert(CAIRN_STORE_TABLES <= CAIRN_STORE_DBS_MAX, "maxdbs");
_Static_assert(SIZE_MAX >= CAIRN_STORE_MAP_BYTES_MAX, "map fits size_t");
_Static_assert(CAIRN_STORE_MAP_BYTES_MAX % CAIRN_STORE_MAP_ALIGN == 0,
               "aligned maximum");
_Static_assert(CAIRN_KEY_BYTES_MAX <= CAIRN_STORE_KEY_BYTES_MAX,
               "state keys fit LMDB keys");
_Static_assert(sizeof(cairn_tip) == CAIRN_STORE_TIP_BYTES,
               "cairn_tip has no padding (compared with memcmp)");

struct cairn_store {
  MDB_env *env;
  MDB_dbi dbi[CAIRN_STORE_TABLES];
  pthread_rwlock_t map_lock; /* see the essay */
  bool lock_ready;
  bool read_only;
  atomic_int last_rc; /* last LMDB or errno code, for cairn_store_errstr */
  char *path;
};

struct cairn_rtxn {
  cairn_store *s;
  MDB_txn *txn;
};

/* One write attempt: the transaction and the LMDB code that failed it. */
typedef struct cairn_store_wtxn {
  cairn_store *s;
  MDB_txn *txn;
  int rc;
} cairn_store_wtxn;

typedef cairn_err (*cairn_store_write_fn)(cairn_store_wtxn *w,
                                          const void *ctx);

static const struct {
  cairn_table table;
  const char *name;
} cairn_store_table_list[CAIRN_STORE_TABLES] = {
    {CAIRN_T_META, "meta"},
    {CAIRN_T_BLOCKS, "blocks"},
    {CAIRN_T_COMMITS, "commits"},
    {CAIRN_T_BLOCK_INDEX, "block_index"},
    {CAIRN_T_TX_INDEX, "tx_index"},
    {CAIRN_T_BALANCES, "balances"},
    {CAIRN_T_SEQUENCES, "sequences"},
    {CAIRN_T_COUPONS, "coupons"},
    {CAIRN_T_COUPON_OWNER, "coupon_owner"},
    {CAIRN_T_BRANDS, "brands"},
    {CAIRN_T_VALIDATORS, "validators"},
    {CAIRN_T_CLIENT_REFS, "client_refs"},
    {CAIRN_T_BRAND_STATS, "brand_stats"},
    {CAIRN_T_HOLDS, "holds"},
    {CAIRN_T_HOLD_TIMEOUTS, "hold_timeouts"},
    {CAIRN_T_ISSUES, "issues"},
    {CAIRN_T_AGREEMENTS, "agreements"},
    {CAIRN_T_SETTLEMENTS, "settlements"},
    {CAIRN_T_LOTS, "lots"},
    {CAIRN_T_LOT_EXPIRY, "lot_expiry"},
};

/* ---- small helpers ---- */

static MDB_dbi cairn_store_dbi(const cairn_store *s, cairn_table t) {
  for (size_t i = 0; i < CAIRN_STORE_TABLES; i++) {
    if (cairn_store_table_list[i].table == t) return s->dbi[i];
  }
  assert(!"unknown cairn_table");
  return 0;
}

/* Record an LMDB failure and map it. */
static cairn_err cairn_store_fail(cairn_store *s, int rc) {
  assert(rc != 0);
  atomic_store_explicit(&s->last_rc, rc, memory_order_relaxed);
  if (rc == MDB_MAP_FULL) return CAIRN_ERR_MAP_FULL;
  return CAIRN_ERR_STORE;
}

static MDB_val cairn_store_val(const void *p, size_t n) {
  MDB_val v = {.mv_size = n, .mv_data = (void *)p};
  return v;
}

static void cairn_store_rdlock(cairn_store *s) {
  int rc = pthread_rwlock_rdlock(&s->map_lock);
  assert(rc == 0);
  (void)rc;
}

static void cairn_store_unlock(cairn_store *s) {
  int rc = pthread_rwlock_unlock(&s->map_lock);
  assert(rc == 0);
  (void)rc;
}

/* Set the map size (0: adopt the size another process recorded) with the
 * map lock held exclusively, so no LMDB call of ours is inside the map. */
static int cairn_store_remap(cairn_store *s, size_t bytes) {
  int rc = pthread_rwlock_wrlock(&s->map_lock);
  assert(rc == 0);
  rc = mdb_env_set_mapsize(s->env, bytes);
  cairn_store_unlock(s);
  return rc;
}

/* Begin a transaction; on success the map lock is held shared and the
 * caller releases it. MDB_MAP_RESIZED (another process grew the map past
 * ours) is answered by adopting the new size and trying again. */
static int cairn_store_begin_locked(cairn_store *s, unsigned flags,
                                    MDB_txn **txn) {
  for (int attempt = 0; attempt < CAIRN_STORE_ATTEMPTS_MAX; attempt++) {
    cairn_store_rdlock(s);
    int rc = mdb_txn_begin(s->env, NULL, flags, txn);
    if (rc == 0) return 0;
    cairn_store_unlock(s);
    if (rc != MDB_MAP_RESIZED) return rc;
    rc = cairn_store_remap(s, 0);
    if (rc != 0) return rc;
  }
  return MDB_MAP_RESIZED;
}

static void cairn_store_tip_encode(uint8_t out[CAIRN_STORE_TIP_BYTES],
                                   const cairn_tip *tip) {
  cairn_writer w;
  size_t len = 0;
  cairn_writer_init(&w, out, CAIRN_STORE_TIP_BYTES);
  cairn_put_u64(&w, tip->height);
  cairn_put_bytes(&w, tip->hash, CAIRN_HASH_BYTES);
  cairn_put_bytes(&w, tip->app_hash, CAIRN_HASH_BYTES);
  cairn_put_u64(&w, tip->time_ms);
  cairn_err err = cairn_writer_finish(&w, &len);
  assert(err == CAIRN_OK && len == CAIRN_STORE_TIP_BYTES);
  (void)err;
}

/* A tip record read back from disk: anything but the exact layout is
 * CORRUPT. */
static cairn_err cairn_store_tip_decode(cairn_tip *tip, const uint8_t *p,
                                        size_t n) {
  memset(tip, 0, sizeof *tip);
  if (n != CAIRN_STORE_TIP_BYTES) return CAIRN_ERR_CORRUPT;
  cairn_reader r;
  cairn_reader_init(&r, p, n);
  cairn_err err = cairn_get_u64(&r, &tip->height);
  if (err == CAIRN_OK) err = cairn_get_bytes(&r, tip->hash, CAIRN_HASH_BYTES);
  if (err == CAIRN_OK) {
    err = cairn_get_bytes(&r, tip->app_hash, CAIRN_HASH_BYTES);
  }
  if (err == CAIRN_OK) err = cairn_get_u64(&r, &tip->time_ms);
  if (err == CAIRN_OK) err = cairn_reader_end(&r);
  if (err != CAIRN_OK) {
    memset(tip, 0, sizeof *tip);
    return CAIRN_ERR_CORRUPT;
  }
  return CAIRN_OK;
}

/* ---- opening ---- */

/* Create the directory (writable) or check that a store exists (read-only),
 * and report the current data file size so the map never starts smaller. */
static cairn_err cairn_store_prepare_dir(const char *dir, bool read_only,
                                         uint64_t *file_bytes) {
  *file_bytes = 0;
  if (!read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
    return CAIRN_ERR_IO;
  }
  size_t n = strlen(dir) + sizeof "/data.mdb";
  char *data = malloc(n);
  if (data == NULL) return CAIRN_ERR_NOMEM;
  snprintf(data, n, "%s/data.mdb", dir);
  struct stat st;
  int rc = stat(data, &st);
  int saved = errno;
  free(data);
  if (rc != 0) {
    if (saved != ENOENT && saved != ENOTDIR) return CAIRN_ERR_IO;
    return read_only ? CAIRN_ERR_NOT_FOUND : CAIRN_OK;
  }
  *file_bytes = (uint64_t)st.st_size;
  return CAIRN_OK;
}

static uint64_t cairn_store_initial_map(const cairn_store_opts *opts,
                                        uint64_t file_bytes) {
  uint64_t bytes = opts->map_bytes_initial != 0
                       ? opts->map_bytes_initial
                       : CAIRN_STORE_MAP_BYTES_INITIAL;
  if (bytes > CAIRN_STORE_MAP_BYTES_MAX) bytes = CAIRN_STORE_MAP_BYTES_MAX;
  if (bytes < file_bytes) bytes = file_bytes;
  bytes = (bytes + CAIRN_STORE_MAP_ALIGN - 1) / CAIRN_STORE_MAP_ALIGN *
          CAIRN_STORE_MAP_ALIGN;
  return bytes;
}

static cairn_err cairn_store_env_open(cairn_store *s, const char *dir,
                                      const cairn_store_opts *opts,
                                      uint64_t file_bytes) {
  int rc = mdb_env_create(&s->env);
  if (rc != 0) {
    s->env = NULL;
    return cairn_store_fail(s, rc);
  }
  rc = mdb_env_set_maxdbs(s->env, CAIRN_STORE_DBS_MAX);
  if (rc == 0) rc = mdb_env_set_maxreaders(s->env, CAIRN_STORE_READERS_MAX);
  if (rc == 0) {
    rc = mdb_env_set_mapsize(s->env,
                             (size_t)cairn_store_initial_map(opts, file_bytes));
  }
  if (rc != 0) return cairn_store_fail(s, rc);
  unsigned flags = MDB_NOTLS;
  if (opts->read_only) {
    flags |= MDB_RDONLY;
  } else if (opts->no_sync) {
    flags |= MDB_NOSYNC | MDB_NOMETASYNC;
    if (opts->scratch) flags |= MDB_WRITEMAP;
  }
  rc = mdb_env_open(s->env, dir, flags, 0600);
  if (rc != 0) {
    cairn_err err = cairn_store_fail(s, rc);
    /* Positive codes are errno values: the file system said no. */
    return rc > 0 ? CAIRN_ERR_IO : err;
  }
  return CAIRN_OK;
}

/* Open (or, writable, create) every named database in one transaction whose
 * commit makes the handles usable by every later transaction. */
static cairn_err cairn_store_open_dbs(cairn_store *s) {
  MDB_txn *txn = NULL;
  int rc = cairn_store_begin_locked(s, s->read_only ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return cairn_store_fail(s, rc);
  unsigned flags = s->read_only ? 0 : MDB_CREATE;
  for (size_t i = 0; i < CAIRN_STORE_TABLES && rc == 0; i++) {
    rc = mdb_dbi_open(txn, cairn_store_table_list[i].name, flags, &s->dbi[i]);
  }
  if (rc == 0) {
    rc = mdb_txn_commit(txn);
  } else {
    mdb_txn_abort(txn);
  }
  cairn_store_unlock(s);
  /* A read-only open of an environment the writer has not set up yet. */
  if (rc == MDB_NOTFOUND) return CAIRN_ERR_NOT_FOUND;
  return rc == 0 ? CAIRN_OK : cairn_store_fail(s, rc);
}

cairn_err cairn_store_open(cairn_store **out, const char *dir,
                           const cairn_store_opts *opts) {
  static const cairn_store_opts defaults = {0};
  assert(out != NULL && dir != NULL);
  *out = NULL;
  if (opts == NULL) opts = &defaults;
  uint64_t file_bytes = 0;
  CAIRN_TRY(cairn_store_prepare_dir(dir, opts->read_only, &file_bytes));
  cairn_store *s = calloc(1, sizeof *s);
  if (s == NULL) return CAIRN_ERR_NOMEM;
  s->read_only = opts->read_only;
  atomic_init(&s->last_rc, 0);
  s->path = strdup(dir);
  if (s->path == NULL || pthread_rwlock_init(&s->map_lock, NULL) != 0) {
    cairn_store_close(s);
    return CAIRN_ERR_NOMEM;
  }
  s->lock_ready = true;
  cairn_err err = cairn_store_env_open(s, dir, opts, file_bytes);
  if (err == CAIRN_OK) err = cairn_store_open_dbs(s);
  if (err != CAIRN_OK) {
    cairn_store_close(s);
    return err;
  }
  *out = s;
  return CAIRN_OK;
}

void cairn_store_close(cairn_store *s) {
  if (s == NULL) return;
  if (s->env != NULL) mdb_env_close(s->env);
  if (s->lock_ready) pthread_rwlock_destroy(&s->map_lock);
  free(s->path);
  free(s);
}

const char *cairn_store_path(const cairn_store *s) {
  assert(s != NULL);
  return s->path;
}

const char *cairn_store_errstr(const cairn_store *s) {
  assert(s != NULL);
  int rc = atomic_load_explicit(&s->last_rc, memory_order_relaxed);
  return rc == 0 ? "no error" : mdb_strerror(rc);
}

/* ---- reading ---- */

cairn_err cairn_store_read_begin(cairn_store *s, cairn_rtxn **out) {
  assert(s != NULL && out != NULL);
  *out = NULL;
  cairn_rtxn *r = malloc(sizeof *r);
  if (r == NULL) return CAIRN_ERR_NOMEM;
  r->s = s;
  int rc = cairn_store_begin_locked(s, MDB_RDONLY, &r->txn);
  if (rc != 0) {
    free(r);
    return cairn_store_fail(s, rc);
  }
  cairn_store_unlock(s);
  *out = r;
  return CAIRN_OK;
}

void cairn_store_read_end(cairn_rtxn *r) {
  if (r == NULL) return;
  cairn_store_rdlock(r->s);
  mdb_txn_abort(r->txn);
  cairn_store_unlock(r->s);
  free(r);
}

/* A lookup; the caller holds the map lock for as long as it uses *val. */
static cairn_err cairn_store_get_locked(cairn_rtxn *r, cairn_table t,
                                        const uint8_t *key, size_t klen,
                                        const uint8_t **val, size_t *vlen) {
  assert(r != NULL && key != NULL && val != NULL && vlen != NULL);
  assert(klen > 0 && klen <= CAIRN_STORE_KEY_BYTES_MAX);
  *val = NULL;
  *vlen = 0;
  MDB_val k = cairn_store_val(key, klen), v = {0};
  int rc = mdb_get(r->txn, cairn_store_dbi(r->s, t), &k, &v);
  if (rc == MDB_NOTFOUND) return CAIRN_ERR_NOT_FOUND;
  if (rc != 0) return cairn_store_fail(r->s, rc);
  *val = v.mv_data;
  *vlen = v.mv_size;
  return CAIRN_OK;
}

cairn_err cairn_store_get(cairn_rtxn *r, cairn_table t, const uint8_t *key,
                          size_t klen, const uint8_t **val, size_t *vlen) {
  assert(r != NULL);
  cairn_store_rdlock(r->s);
  cairn_err err = cairn_store_get_locked(r, t, key, klen, val, vlen);
  cairn_store_unlock(r->s);
  return err;
}

cairn_err cairn_store_get_copy(cairn_rtxn *r, cairn_table t,
                               const uint8_t *key, size_t klen, uint8_t *buf,
                               size_t cap, size_t *vlen) {
  assert(r != NULL && vlen != NULL && (buf != NULL || cap == 0));
  const uint8_t *p = NULL;
  size_t n = 0;
  *vlen = 0;
  /* Copy under the lock, so a re-map by another thread cannot intervene. */
  cairn_store_rdlock(r->s);
  cairn_err err = cairn_store_get_locked(r, t, key, klen, &p, &n);
  if (err == CAIRN_OK && n > cap) err = CAIRN_ERR_OVERSIZE;
  if (err == CAIRN_OK) {
    if (n > 0) memcpy(buf, p, n);
    *vlen = n;
  }
  cairn_store_unlock(r->s);
  return err;
}

/* The walk holds the map lock across callbacks because the cursor points
 * into the map; callbacks may read (the lock is recursive for readers) but
 * must not commit. Work is bounded by max. */
cairn_err cairn_store_scan(cairn_rtxn *r, cairn_table t, const uint8_t *prefix,
                           size_t plen, size_t max, cairn_store_visit_fn fn,
                           void *ctx) {
  assert(r != NULL && fn != NULL && (prefix != NULL || plen == 0));
  assert(plen <= CAIRN_STORE_KEY_BYTES_MAX);
  MDB_cursor *c = NULL;
  cairn_store_rdlock(r->s);
  int rc = mdb_cursor_open(r->txn, cairn_store_dbi(r->s, t), &c);
  if (rc != 0) {
    cairn_store_unlock(r->s);
    return cairn_store_fail(r->s, rc);
  }
  MDB_val k = cairn_store_val(prefix, plen), v = {0};
  rc = mdb_cursor_get(c, &k, &v, plen > 0 ? MDB_SET_RANGE : MDB_FIRST);
  for (size_t seen = 0; rc == 0 && seen < max; seen++) {
    if (k.mv_size < plen ||
        (plen > 0 && memcmp(k.mv_data, prefix, plen) != 0)) {
      break;
    }
    if (fn(ctx, k.mv_data, k.mv_size, v.mv_data, v.mv_size) != 0) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(c);
  cairn_store_unlock(r->s);
  if (rc != 0 && rc != MDB_NOTFOUND) return cairn_store_fail(r->s, rc);
  return CAIRN_OK;
}

cairn_err cairn_store_tip(cairn_rtxn *r, cairn_tip *tip) {
  assert(r != NULL && tip != NULL);
  memset(tip, 0, sizeof *tip);
  const uint8_t *p = NULL;
  size_t n = 0;
  /* Decode under the lock: the record is read in place. */
  cairn_store_rdlock(r->s);
  cairn_err err = cairn_store_get_locked(
      r, CAIRN_T_META, (const uint8_t *)CAIRN_STORE_META_TIP,
      strlen(CAIRN_STORE_META_TIP), &p, &n);
  if (err == CAIRN_OK) err = cairn_store_tip_decode(tip, p, n);
  cairn_store_unlock(r->s);
  return err;
}

cairn_err cairn_store_block(cairn_rtxn *r, uint64_t height,
                            const uint8_t **block, size_t *block_len,
                            const uint8_t **commit, size_t *commit_len) {
  assert(block != NULL && block_len != NULL);
  assert(commit != NULL && commit_len != NULL);
  *commit = NULL;
  *commit_len = 0;
  uint8_t key[8];
  cairn_be64_write(key, height);
  CAIRN_TRY(cairn_store_get(r, CAIRN_T_BLOCKS, key, sizeof key, block,
                            block_len));
  cairn_err err = cairn_store_get(r, CAIRN_T_COMMITS, key, sizeof key, commit,
                                  commit_len);
  if (err != CAIRN_OK) {
    *block = NULL;
    *block_len = 0;
    /* Blocks and commits are written together: one without the other is
     * damage. */
    return err == CAIRN_ERR_NOT_FOUND ? CAIRN_ERR_CORRUPT : err;
  }
  return CAIRN_OK;
}

cairn_err cairn_store_block_height(cairn_rtxn *r, const uint8_t hash[32],
                                   uint64_t *height) {
  assert(hash != NULL && height != NULL);
  *height = 0;
  const uint8_t *p = NULL;
  size_t n = 0;
  cairn_store_rdlock(r->s);
  cairn_err err = cairn_store_get_locked(r, CAIRN_T_BLOCK_INDEX, hash,
                                         CAIRN_HASH_BYTES, &p, &n);
  if (err == CAIRN_OK && n != 8) err = CAIRN_ERR_CORRUPT;
  if (err == CAIRN_OK) *height = cairn_be64_read(p);
  cairn_store_unlock(r->s);
  return err;
}

cairn_err cairn_store_tx_location(cairn_rtxn *r, const uint8_t txid[32],
                                  uint64_t *height, uint32_t *position) {
  assert(txid != NULL && height != NULL && position != NULL);
  *height = 0;
  *position = 0;
  const uint8_t *p = NULL;
  size_t n = 0;
  cairn_store_rdlock(r->s);
  cairn_err err = cairn_store_get_locked(r, CAIRN_T_TX_INDEX, txid,
                                         CAIRN_HASH_BYTES, &p, &n);
  if (err == CAIRN_OK && n != CAIRN_STORE_TXLOC_BYTES) {
    err = CAIRN_ERR_CORRUPT;
  }
  if (err == CAIRN_OK) {
    *height = cairn_be64_read(p);
    *position = cairn_be32_read(p + 8);
  }
  cairn_store_unlock(r->s);
  return err;
}

/* ---- writing ---- */

/* Double the map, up to the maximum. */
static cairn_err cairn_store_grow(cairn_store *s) {
  int rc = pthread_rwlock_wrlock(&s->map_lock);
  assert(rc == 0);
  MDB_envinfo info;
  rc = mdb_env_info(s->env, &info);
  uint64_t now = rc == 0 ? (uint64_t)info.me_mapsize : 0;
  if (rc == 0 && now >= CAIRN_STORE_MAP_BYTES_MAX) rc = MDB_MAP_FULL;
  if (rc == 0) {
    uint64_t next = now * 2;
    if (next > CAIRN_STORE_MAP_BYTES_MAX) next = CAIRN_STORE_MAP_BYTES_MAX;
    rc = mdb_env_set_mapsize(s->env, (size_t)next);
  }
  cairn_store_unlock(s);
  return rc == 0 ? CAIRN_OK : cairn_store_fail(s, rc);
}

/* Run fn in a write transaction and commit it. fn returns OK to commit; any
 * other result aborts. If the failure was MDB_MAP_FULL (from fn's writes or
 * from the commit), grow the map and run fn again from scratch. */
static cairn_err cairn_store_write(cairn_store *s, cairn_store_write_fn fn,
                                   const void *ctx) {
  assert(!s->read_only);
  for (int attempt = 0; attempt < CAIRN_STORE_ATTEMPTS_MAX; attempt++) {
    cairn_store_wtxn w = {.s = s, .txn = NULL, .rc = 0};
    int rc = cairn_store_begin_locked(s, 0, &w.txn);
    if (rc != 0) return cairn_store_fail(s, rc);
    cairn_err err = fn(&w, ctx);
    if (err == CAIRN_OK) {
      w.rc = mdb_txn_commit(w.txn);
      if (w.rc != 0) err = CAIRN_ERR_STORE;
    } else {
      mdb_txn_abort(w.txn);
    }
    cairn_store_unlock(s);
    if (err == CAIRN_OK) return CAIRN_OK;
    if (w.rc == 0) return err; /* a rule said no: nothing was written */
    if (w.rc != MDB_MAP_FULL) return cairn_store_fail(s, w.rc);
    CAIRN_TRY(cairn_store_grow(s));
  }
  return cairn_store_fail(s, MDB_MAP_FULL);
}

/* Put inside a write; MDB_KEYEXIST (with MDB_NOOVERWRITE) becomes
 * exists_err, other LMDB failures are kept in w->rc. */
static cairn_err cairn_store_wput(cairn_store_wtxn *w, cairn_table t,
                                  const uint8_t *key, size_t klen,
                                  const uint8_t *val, size_t vlen,
                                  unsigned flags, cairn_err exists_err) {
  assert(klen > 0 && klen <= CAIRN_STORE_KEY_BYTES_MAX);
  MDB_val k = cairn_store_val(key, klen), v = cairn_store_val(val, vlen);
  int rc = mdb_put(w->txn, cairn_store_dbi(w->s, t), &k, &v, flags);
  if (rc == MDB_KEYEXIST) return exists_err;
  if (rc != 0) {
    w->rc = rc;
    return CAIRN_ERR_STORE;
  }
  return CAIRN_OK;
}

/* Read inside a write (NOT_FOUND when absent). */
static cairn_err cairn_store_wget(cairn_store_wtxn *w, cairn_table t,
                                  const char *key, MDB_val *v) {
  MDB_val k = cairn_store_val(key, strlen(key));
  int rc = mdb_get(w->txn, cairn_store_dbi(w->s, t), &k, v);
  if (rc == MDB_NOTFOUND) return CAIRN_ERR_NOT_FOUND;
  if (rc != 0) {
    w->rc = rc;
    return CAIRN_ERR_STORE;
  }
  return CAIRN_OK;
}

static cairn_err cairn_store_wtip(cairn_store_wtxn *w, cairn_tip *tip) {
  MDB_val v = {0};
  memset(tip, 0, sizeof *tip);
  CAIRN_TRY(cairn_store_wget(w, CAIRN_T_META, CAIRN_STORE_META_TIP, &v));
  return cairn_store_tip_decode(tip, v.mv_data, v.mv_size);
}

static cairn_err cairn_store_put_tip(cairn_store_wtxn *w,
                                     const cairn_tip *tip) {
  uint8_t rec[CAIRN_STORE_TIP_BYTES];
  cairn_store_tip_encode(rec, tip);
  cairn_tip check;
  cairn_err err = cairn_store_tip_decode(&check, rec, sizeof rec);
  assert(err == CAIRN_OK && memcmp(&check, tip, sizeof check) == 0);
  (void)err;
  return cairn_store_wput(w, CAIRN_T_META,
                          (const uint8_t *)CAIRN_STORE_META_TIP,
                          strlen(CAIRN_STORE_META_TIP), rec, sizeof rec, 0,
                          CAIRN_ERR_INTERNAL);
}

/* cairn_view_foreach callback: copy one change into the state tables. */
static cairn_err cairn_store_apply_one(void *ctx, cairn_table t,
                                       const uint8_t *key, size_t klen,
                                       const uint8_t *val, size_t vlen) {
  cairn_store_wtxn *w = ctx;
  assert(t >= CAIRN_STATE_TABLE_MIN && t <= CAIRN_STATE_TABLE_MAX);
  assert(klen > 0 && klen <= CAIRN_KEY_BYTES_MAX);
  if (val != NULL) {
    assert(vlen <= CAIRN_VALUE_BYTES_MAX);
    return cairn_store_wput(w, t, key, klen, val, vlen, 0, CAIRN_ERR_INTERNAL);
  }
  MDB_val k = cairn_store_val(key, klen);
  int rc = mdb_del(w->txn, cairn_store_dbi(w->s, t), &k, NULL);
  /* Deleting a key the base never had (created then deleted) is fine. */
  if (rc != 0 && rc != MDB_NOTFOUND) {
    w->rc = rc;
    return CAIRN_ERR_STORE;
  }
  return CAIRN_OK;
}

static cairn_err cairn_store_apply_changes(cairn_store_wtxn *w,
                                           const cairn_view *changes) {
  assert(changes != NULL);
  return cairn_view_foreach(changes, cairn_store_apply_one, w);
}

typedef struct cairn_store_genesis_write {
  const uint8_t *genesis;
  size_t genesis_len;
  const cairn_view *changes;
  cairn_tip tip;
} cairn_store_genesis_write;

static cairn_err cairn_store_genesis_fn(cairn_store_wtxn *w, const void *ctx) {
  const cairn_store_genesis_write *g = ctx;
  MDB_val v = {0};
  cairn_err err = cairn_store_wget(w, CAIRN_T_META, CAIRN_STORE_META_GENESIS,
                                   &v);
  if (err == CAIRN_OK) return CAIRN_ERR_EXISTS;
  if (err != CAIRN_ERR_NOT_FOUND) return err;
  cairn_tip old;
  err = cairn_store_wtip(w, &old);
  if (err == CAIRN_OK) return CAIRN_ERR_CORRUPT; /* a tip without genesis */
  if (err != CAIRN_ERR_NOT_FOUND) return err;
  CAIRN_TRY(cairn_store_wput(w, CAIRN_T_META,
                             (const uint8_t *)CAIRN_STORE_META_GENESIS,
                             strlen(CAIRN_STORE_META_GENESIS), g->genesis,
                             g->genesis_len, MDB_NOOVERWRITE,
                             CAIRN_ERR_EXISTS));
  CAIRN_TRY(cairn_store_apply_changes(w, g->changes));
  return cairn_store_put_tip(w, &g->tip);
}

cairn_err cairn_store_commit_genesis(cairn_store *s, const uint8_t *genesis,
                                     size_t genesis_len,
                                     const uint8_t genesis_hash[32],
                                     const cairn_view *changes,
                                     const uint8_t app_hash[32],
                                     uint64_t time_ms) {
  assert(s != NULL && genesis != NULL && genesis_hash != NULL);
  assert(changes != NULL && app_hash != NULL);
  cairn_store_genesis_write g = {
      .genesis = genesis, .genesis_len = genesis_len, .changes = changes};
  g.tip.height = 0;
  memcpy(g.tip.hash, genesis_hash, CAIRN_HASH_BYTES);
  memcpy(g.tip.app_hash, app_hash, CAIRN_HASH_BYTES);
  g.tip.time_ms = time_ms;
  return cairn_store_write(s, cairn_store_genesis_fn, &g);
}

/* tx_index[txid] = height | position. A txid already indexed cannot occur
 * in a valid chain; refusing it keeps the index a function. */
static cairn_err cairn_store_put_txids(cairn_store_wtxn *w,
                                       const cairn_store_block_write *b) {
  assert(b->n_txids <= CAIRN_BLOCK_TXS_MAX);
  assert(b->txids != NULL || b->n_txids == 0);
  uint8_t loc[CAIRN_STORE_TXLOC_BYTES];
  cairn_be64_write(loc, b->height);
  for (size_t i = 0; i < b->n_txids; i++) {
    cairn_be32_write(loc + 8, (uint32_t)i);
    CAIRN_TRY(cairn_store_wput(w, CAIRN_T_TX_INDEX, b->txids[i],
                               CAIRN_HASH_BYTES, loc, sizeof loc,
                               MDB_NOOVERWRITE, CAIRN_ERR_DUPLICATE_TX));
  }
  return CAIRN_OK;
}

static cairn_err cairn_store_block_fn(cairn_store_wtxn *w, const void *ctx) {
  const cairn_store_block_write *b = ctx;
  cairn_tip tip;
  cairn_err err = cairn_store_wtip(w, &tip);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_BAD_HEIGHT;
  if (err != CAIRN_OK) return err;
  if (tip.height == UINT64_MAX || b->height != tip.height + 1) {
    return CAIRN_ERR_BAD_HEIGHT;
  }
  uint8_t key[8];
  cairn_be64_write(key, b->height);
  /* Rows above the tip mean the store is damaged. */
  CAIRN_TRY(cairn_store_wput(w, CAIRN_T_BLOCKS, key, sizeof key, b->block,
                             b->block_len, MDB_NOOVERWRITE,
                             CAIRN_ERR_CORRUPT));
  CAIRN_TRY(cairn_store_wput(w, CAIRN_T_COMMITS, key, sizeof key, b->commit,
                             b->commit_len, MDB_NOOVERWRITE,
                             CAIRN_ERR_CORRUPT));
  CAIRN_TRY(cairn_store_wput(w, CAIRN_T_BLOCK_INDEX, b->hash,
                             CAIRN_HASH_BYTES, key, sizeof key,
                             MDB_NOOVERWRITE, CAIRN_ERR_EXISTS));
  CAIRN_TRY(cairn_store_put_txids(w, b));
  CAIRN_TRY(cairn_store_apply_changes(w, b->changes));
  cairn_tip next = {.height = b->height, .time_ms = b->time_ms};
  memcpy(next.hash, b->hash, CAIRN_HASH_BYTES);
  memcpy(next.app_hash, b->app_hash, CAIRN_HASH_BYTES);
  return cairn_store_put_tip(w, &next);
}

cairn_err cairn_store_commit_block(cairn_store *s,
                                   const cairn_store_block_write *w) {
  assert(s != NULL && w != NULL);
  assert(w->hash != NULL && w->app_hash != NULL && w->changes != NULL);
  assert(w->block != NULL && w->commit != NULL);
  return cairn_store_write(s, cairn_store_block_fn, w);
}
