/*
 * cairn/view.h - a writable overlay of the state over a store snapshot.
 *
 * The state machine never writes LMDB directly. It reads and writes a view:
 * an in-memory set of changes (key -> new value, or deleted) layered over a
 * read snapshot of the store (or over nothing, for a fresh chain). This one
 * mechanism serves three callers:
 *   - the proposer executes candidate transactions into a view and commits
 *     the view's changes with the block in one LMDB write transaction;
 *   - the mempool keeps a view of "tip + pending transactions" to admit new
 *     ones against balances and sequences they would see;
 *   - the auditor replays blocks into views over an empty base.
 * Savepoints let a failed transaction be undone exactly, so a rejected
 * transaction changes nothing.
 *
 * The change digest (state.h builds the state hash from it) is
 *   tagged_hash("cairn/changes", for each changed key in ascending
 *     (table, key) order: table u8 | key var8 | flag u8 (1 = put, 0 = del)
 *     | if put: value var32)
 * Every key written since the view was opened or rebased counts, even when
 * the final value equals the base value.
 */
#ifndef CAIRN_VIEW_H
#define CAIRN_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/store.h"

typedef struct cairn_view cairn_view;

/* Open a view over the current snapshot of base (NULL: an empty base).
 * Errors: NOMEM, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_view_open(cairn_view **out,
                                           cairn_store *base);
void cairn_view_close(cairn_view *v);

/* Drop every change and move to a fresh snapshot of the base. */
CAIRN_MUST_CHECK cairn_err cairn_view_rebase(cairn_view *v);

/* Copy the current value into val (cap bytes). Errors: NOT_FOUND, OVERSIZE
 * (cap too small), STORE. */
CAIRN_MUST_CHECK cairn_err cairn_view_get(cairn_view *v, cairn_table t,
                                          const uint8_t *key, size_t klen,
                                          uint8_t *val, size_t cap,
                                          size_t *vlen);
/* t must be a state table; klen <= CAIRN_KEY_BYTES_MAX and vlen <=
 * CAIRN_VALUE_BYTES_MAX (asserted). Errors: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_view_put(cairn_view *v, cairn_table t,
                                          const uint8_t *key, size_t klen,
                                          const uint8_t *val, size_t vlen);
CAIRN_MUST_CHECK cairn_err cairn_view_del(cairn_view *v, cairn_table t,
                                          const uint8_t *key, size_t klen);

/* A savepoint is a position in the undo journal. */
size_t cairn_view_savepoint(const cairn_view *v);
void cairn_view_rollback(cairn_view *v, size_t savepoint);

/* Number of distinct keys changed. */
size_t cairn_view_change_count(const cairn_view *v);

/* Visit the changes in ascending (table, key) order. val is NULL for a
 * deletion. The first non-OK result of fn stops the walk and is returned.
 * Errors also: NOMEM (sorting scratch). */
typedef cairn_err (*cairn_view_change_fn)(void *ctx, cairn_table t,
                                          const uint8_t *key, size_t klen,
                                          const uint8_t *val, size_t vlen);
CAIRN_MUST_CHECK cairn_err cairn_view_foreach(const cairn_view *v,
                                              cairn_view_change_fn fn,
                                              void *ctx);

/* The change digest defined above. */
CAIRN_MUST_CHECK cairn_err cairn_view_digest(const cairn_view *v,
                                             uint8_t out[CAIRN_HASH_BYTES]);

#endif
