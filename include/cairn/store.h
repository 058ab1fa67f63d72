/*
 * cairn/store.h - the LMDB store: one environment per node.
 *
 * Named databases:
 *   meta          "genesis" -> canonical genesis bytes
 *                 "tip"     -> height u64 | block hash [32] | app hash [32]
 *                              | time_ms u64   (absent before genesis)
 *   blocks        height u64 -> block bytes
 *   commits       height u64 -> commit bytes
 *   block_index   block hash [32] -> height u64
 *   tx_index      txid [32] -> height u64 | position u32
 *   balances, sequences, coupons, coupon_owner, brands, validators,
 *   client_refs, brand_stats, holds, hold_timeouts, issues, agreements,
 *   settlements, lots, lot_expiry:
 *                 the application state (layouts in state.h); written only
 *                 through a view's change set (view.h).
 *
 * A block, its commit, its indexes, its state changes and the new tip are
 * written in one write transaction, committed durably (fsync) unless the
 * store was opened with no_sync. LMDB's copy-on-write B-tree makes the commit
 * atomic: after a crash the store holds either the old tip and state or the
 * new ones. When the map fills, the transaction is aborted, the map doubled
 * and the transaction redone, so MDB_MAP_FULL never reaches the caller.
 *
 * A store opened read_only can be read while a node writes the same
 * directory (LMDB's MVCC readers), which is what `cairn audit` does.
 *
 * Re-mapping caveat: growing the map (a commit in this process) or adopting
 * a map grown by another process (cairn_store_read_begin after MDB_MAP_RESIZED)
 * moves the memory map, so value pointers returned earlier by any read
 * transaction of this process become invalid, even though the transactions
 * themselves stay usable. Copy values you keep across such calls (views
 * always copy). LMDB calls of other threads are never inside the map while
 * it moves (an internal lock guarantees it).
 */
#ifndef CAIRN_STORE_H
#define CAIRN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"

typedef enum cairn_table {
  /* State tables: part of the state hash. Values are stable: they are
   * hashed into the change digest. */
  CAIRN_T_BALANCES = 1,
  CAIRN_T_SEQUENCES = 2,
  CAIRN_T_COUPONS = 3,
  CAIRN_T_COUPON_OWNER = 4,
  CAIRN_T_BRANDS = 5,
  CAIRN_T_VALIDATORS = 6,
  /* Chain tables. */
  CAIRN_T_META = 16,
  CAIRN_T_BLOCKS = 17,
  CAIRN_T_COMMITS = 18,
  CAIRN_T_BLOCK_INDEX = 19,
  CAIRN_T_TX_INDEX = 20
} cairn_table;

/* The cross-brand state tables (issue 3; layouts in state.h). They are
 * cairn_table values like the ones above, declared apart so that existing
 * exhaustive switches over cairn_table (audit's table names) keep compiling
 * until they learn the new names. */
#define CAIRN_T_CLIENT_REFS ((cairn_table)7)
#define CAIRN_T_BRAND_STATS ((cairn_table)8)
#define CAIRN_T_HOLDS ((cairn_table)9)
#define CAIRN_T_HOLD_TIMEOUTS ((cairn_table)10)
#define CAIRN_T_ISSUES ((cairn_table)11)
#define CAIRN_T_AGREEMENTS ((cairn_table)12)
#define CAIRN_T_SETTLEMENTS ((cairn_table)13)
#define CAIRN_T_LOTS ((cairn_table)14)
#define CAIRN_T_LOT_EXPIRY ((cairn_table)15)

#define CAIRN_STATE_TABLE_MIN 1
#define CAIRN_STATE_TABLE_MAX 15
/* Keys and values in state tables are small; the view copies them. */
#define CAIRN_KEY_BYTES_MAX 64
#define CAIRN_VALUE_BYTES_MAX 512

typedef struct cairn_store cairn_store;
typedef struct cairn_rtxn cairn_rtxn;
struct cairn_view;

typedef struct cairn_store_opts {
  bool read_only; /* open an existing store for reading only */
  bool no_sync;   /* skip fsync at commit (tests, benchmarks): a crash may
                     lose the last commits but never mixes states */
  uint64_t map_bytes_initial; /* 0: CAIRN_STORE_MAP_BYTES_INITIAL */
  bool scratch;   /* with no_sync, for a store deleted after use (an
                     auditor's scratch replica): LMDB writes pages in place
                     in its map instead of copying each into the file at
                     commit. A crash may leave such a store unreadable. */
} cairn_store_opts;

typedef struct cairn_tip {
  uint64_t height; /* 0: only genesis */
  uint8_t hash[CAIRN_HASH_BYTES];     /* genesis hash at height 0 */
  uint8_t app_hash[CAIRN_HASH_BYTES]; /* state hash after this block */
  uint64_t time_ms;
} cairn_tip;

/* Open (creating dir with mode 0700 unless read_only). opts may be NULL.
 * Errors: NOT_FOUND (read_only and no store there), IO, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_store_open(cairn_store **out, const char *dir,
                                            const cairn_store_opts *opts);
void cairn_store_close(cairn_store *s);

/* Read transactions: a consistent snapshot, usable from any thread (one
 * thread at a time). Returned value pointers are valid until
 * cairn_store_read_end() or a re-map (see the caveat above). At most
 * CAIRN_STORE_READERS_MAX may be open at once (then CAIRN_ERR_STORE).
 * Errors: NOMEM, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_store_read_begin(cairn_store *s,
                                                  cairn_rtxn **out);
void cairn_store_read_end(cairn_rtxn *r);

/* CAIRN_ERR_NOT_FOUND when absent. */
CAIRN_MUST_CHECK cairn_err cairn_store_get(cairn_rtxn *r, cairn_table t,
                                           const uint8_t *key, size_t klen,
                                           const uint8_t **val, size_t *vlen);

/* Copy the value into buf (cap bytes), safe against re-maps. Errors:
 * NOT_FOUND, OVERSIZE (cap too small), STORE; *vlen is 0 on any error. */
CAIRN_MUST_CHECK cairn_err cairn_store_get_copy(cairn_rtxn *r, cairn_table t,
                                                const uint8_t *key,
                                                size_t klen, uint8_t *buf,
                                                size_t cap, size_t *vlen);

/* Visit keys that start with prefix, ascending, at most max of them. The
 * callback returns non-zero to stop early; it may read but must not commit
 * to this store. */
typedef int (*cairn_store_visit_fn)(void *ctx, const uint8_t *key,
                                    size_t klen, const uint8_t *val,
                                    size_t vlen);
CAIRN_MUST_CHECK cairn_err cairn_store_scan(cairn_rtxn *r, cairn_table t,
                                            const uint8_t *prefix, size_t plen,
                                            size_t max, cairn_store_visit_fn fn,
                                            void *ctx);

/* CAIRN_ERR_NOT_FOUND before genesis. */
CAIRN_MUST_CHECK cairn_err cairn_store_tip(cairn_rtxn *r, cairn_tip *tip);

/* Convenience lookups (zero-copy, valid until read_end). */
CAIRN_MUST_CHECK cairn_err cairn_store_block(cairn_rtxn *r, uint64_t height,
                                             const uint8_t **block,
                                             size_t *block_len,
                                             const uint8_t **commit,
                                             size_t *commit_len);
CAIRN_MUST_CHECK cairn_err cairn_store_block_height(cairn_rtxn *r,
                                                    const uint8_t hash[32],
                                                    uint64_t *height);
CAIRN_MUST_CHECK cairn_err cairn_store_tx_location(cairn_rtxn *r,
                                                   const uint8_t txid[32],
                                                   uint64_t *height,
                                                   uint32_t *position);

/* Write genesis: canonical bytes, the initial state (a view's changes) and
 * tip (height 0, hash = genesis hash). CAIRN_ERR_EXISTS if already set. */
CAIRN_MUST_CHECK cairn_err cairn_store_commit_genesis(
    cairn_store *s, const uint8_t *genesis, size_t genesis_len,
    const uint8_t genesis_hash[32], const struct cairn_view *changes,
    const uint8_t app_hash[32], uint64_t time_ms);

typedef struct cairn_store_block_write {
  uint64_t height;
  const uint8_t *hash;   /* [32] */
  const uint8_t *block;  /* canonical block bytes */
  size_t block_len;
  const uint8_t *commit; /* canonical commit bytes */
  size_t commit_len;
  const uint8_t (*txids)[32];
  size_t n_txids;
  const struct cairn_view *changes; /* state changes of this block */
  const uint8_t *app_hash; /* [32] state hash after this block */
  uint64_t time_ms;
} cairn_store_block_write;

/* Commit one block atomically and durably. Checks that height = tip + 1
 * (CAIRN_ERR_BAD_HEIGHT, also before genesis). A txid already indexed:
 * CAIRN_ERR_DUPLICATE_TX; a block hash already indexed: CAIRN_ERR_EXISTS.
 * Also NOMEM, STORE, CORRUPT, MAP_FULL (only at CAIRN_STORE_MAP_BYTES_MAX).
 * On any error nothing is written. */
CAIRN_MUST_CHECK cairn_err cairn_store_commit_block(
    cairn_store *s, const cairn_store_block_write *w);

/* The directory path the store was opened with. */
const char *cairn_store_path(const cairn_store *s);

/* The text of the last LMDB or system error behind a CAIRN_ERR_STORE /
 * MAP_FULL from this store (for logs); "no error" if there was none. Never
 * NULL; the text is static. */
const char *cairn_store_errstr(const cairn_store *s);

#endif
