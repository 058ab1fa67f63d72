/*
 * node/mempool.c - pending transactions, admitted against tip + pending.
 *
 * Three structures, each bounded at open time:
 *
 *   - a FIFO array of entries (txid, sender, sequence and an owned copy of
 *     the canonical bytes, in one allocation per transaction). Arrival
 *     order is execution order: the view below has the pending transactions
 *     applied in exactly this order, and cairn_mempool_propose uses it,
 *     so what admission promised is what the block builder sees.
 *   - an open-addressing hash set over the txids (linear probing, at most
 *     half full), keyed with SipHash under a random per-process key so that
 *     nobody can grind transaction ids that collide into one long probe
 *     chain. Removals are rare and come in batches (a block), so instead of
 *     tombstones the set is rebuilt from the FIFO after each batch: O(n) per
 *     block, with n bounded by txs_max.
 *   - a ring of the last CAIRN_MEMPOOL_REJECTED_MAX rejections (txid, error,
 *     detail sentence) so that a client polling GET /v1/txs/{txid} for a
 *     transaction dropped at block building learns why. Lookups scan it
 *     newest first: at most 10,000 32-byte compares, microseconds, and only
 *     for ids that are neither committed nor pending.
 *
 * Admission executes the transaction on the view with the real state
 * machine; cairn_state_apply_tx is atomic, so a refused transaction leaves
 * the view exactly as it was. After a block the view is rebased on the new
 * tip and the survivors are re-executed in order, which is what makes
 * "overspend by an earlier pending transaction of the same sender" and
 * "expired while waiting" come out right without special cases.
 * Signatures are checked once, at admission: the bytes are ours from then
 * on and cannot change.
 */
#include "cairn/mempool.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/limits.h"
#include "cairn/state.h"
#include "cairn/store.h"
#include "cairn/tx.h"
#include "cairn/view.h"

typedef struct cairn_mempool_entry {
  uint8_t txid[CAIRN_HASH_BYTES];
  uint8_t sender[CAIRN_PUBKEY_BYTES];
  uint64_t sequence;
  bool dead; /* marked for removal by the current batch */
  size_t len;
  uint8_t bytes[]; /* canonical transaction bytes */
} cairn_mempool_entry;

typedef struct cairn_mempool_rejection {
  uint8_t txid[CAIRN_HASH_BYTES];
  cairn_err err;
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
} cairn_mempool_rejection;

struct cairn_mempool {
  cairn_chain *chain;
  const cairn_log *log;
  cairn_view *view; /* tip + every pending transaction, in FIFO order */
  size_t txs_max;
  cairn_mempool_entry **fifo; /* count live entries, oldest first */
  size_t count;
  cairn_mempool_entry **set; /* set_cap slots, NULL = empty */
  size_t set_cap;            /* power of two >= 2 * txs_max */
  uint8_t set_key[crypto_shorthash_KEYBYTES];
  cairn_mempool_rejection *ring; /* CAIRN_MEMPOOL_REJECTED_MAX slots */
  size_t ring_next;              /* slot the next rejection goes to */
  size_t ring_count;             /* slots in use */
};

/* ---- the txid set ---- */

static size_t cairn_mempool_slot(const cairn_mempool *m, const uint8_t *txid) {
  uint8_t h[crypto_shorthash_BYTES];
  crypto_shorthash(h, txid, CAIRN_HASH_BYTES, m->set_key);
  uint64_t v = 0;
  memcpy(&v, h, sizeof v);
  return (size_t)(v & (m->set_cap - 1));
}

static cairn_mempool_entry *cairn_mempool_set_find(const cairn_mempool *m,
                                                   const uint8_t *txid) {
  size_t i = cairn_mempool_slot(m, txid);
  /* The set is at most half full, so an empty slot ends every probe. */
  for (size_t probes = 0; probes < m->set_cap; probes++) {
    cairn_mempool_entry *e = m->set[i];
    if (e == NULL) return NULL;
    if (sodium_memcmp(e->txid, txid, CAIRN_HASH_BYTES) == 0) return e;
    i = (i + 1) & (m->set_cap - 1);
  }
  return NULL;
}

static void cairn_mempool_set_insert(cairn_mempool *m, cairn_mempool_entry *e) {
  size_t i = cairn_mempool_slot(m, e->txid);
  for (size_t probes = 0; probes < m->set_cap; probes++) {
    if (m->set[i] == NULL) {
      m->set[i] = e;
      return;
    }
    assert(memcmp(m->set[i]->txid, e->txid, CAIRN_HASH_BYTES) != 0);
    i = (i + 1) & (m->set_cap - 1);
  }
  assert(!"mempool txid set is full");
}

/* Free the entries marked dead, keep the order of the rest, rebuild the
 * set. */
static void cairn_mempool_compact(cairn_mempool *m) {
  size_t kept = 0;
  for (size_t i = 0; i < m->count; i++) {
    if (m->fifo[i]->dead) {
      free(m->fifo[i]);
    } else {
      m->fifo[kept++] = m->fifo[i];
    }
  }
  m->count = kept;
  memset(m->set, 0, m->set_cap * sizeof m->set[0]);
  for (size_t i = 0; i < m->count; i++) cairn_mempool_set_insert(m, m->fifo[i]);
  assert(m->count <= m->txs_max);
}

/* ---- open / close ---- */

static cairn_err cairn_mempool_begin_block(cairn_mempool *m, uint64_t now_ms);

cairn_err cairn_mempool_open(cairn_mempool **out, cairn_chain *chain,
                             size_t txs_max, const cairn_log *log) {
  assert(out != NULL && chain != NULL);
  assert(txs_max >= CAIRN_MEMPOOL_TXS_MIN && txs_max <= CAIRN_MEMPOOL_TXS_MAX);
  *out = NULL;
  cairn_mempool *m = calloc(1, sizeof *m);
  if (m == NULL) return CAIRN_ERR_NOMEM;
  m->chain = chain;
  m->log = log;
  m->txs_max = txs_max;
  m->set_cap = 16;
  while (m->set_cap < 2 * txs_max) m->set_cap *= 2;
  m->fifo = calloc(txs_max, sizeof m->fifo[0]);
  m->set = calloc(m->set_cap, sizeof m->set[0]);
  m->ring = calloc(CAIRN_MEMPOOL_REJECTED_MAX, sizeof m->ring[0]);
  randombytes_buf(m->set_key, sizeof m->set_key);
  cairn_err err = CAIRN_OK;
  if (m->fifo == NULL || m->set == NULL || m->ring == NULL) {
    err = CAIRN_ERR_NOMEM;
  } else {
    err = cairn_view_open(&m->view, cairn_chain_store(chain));
  }
  /* Block-start processing depends on the height only, not the time. */
  if (err == CAIRN_OK) err = cairn_mempool_begin_block(m, 0);
  if (err != CAIRN_OK) {
    cairn_mempool_close(m);
    return err;
  }
  *out = m;
  return CAIRN_OK;
}

void cairn_mempool_close(cairn_mempool *m) {
  if (m == NULL) return;
  /* fifo is NULL only when open failed before anything was queued. */
  for (size_t i = 0; m->fifo != NULL && i < m->count; i++) free(m->fifo[i]);
  if (m->view != NULL) cairn_view_close(m->view);
  free(m->fifo);
  free(m->set);
  free(m->ring);
  free(m);
}

/* ---- rejections ---- */

/* The error's sentence, plus ": detail" when there is one. */
static void cairn_mempool_message(char *out, size_t cap, cairn_err err,
                                  const char *detail) {
  if (cap == 0) return;
  if (detail == NULL || detail[0] == '\0') {
    snprintf(out, cap, "%s", cairn_strerror(err));
  } else {
    snprintf(out, cap, "%s: %s", cairn_strerror(err), detail);
  }
}

static void cairn_mempool_log_reject(const cairn_mempool *m,
                                     const uint8_t *txid, cairn_err err,
                                     const char *detail) {
  char hex[2 * CAIRN_HASH_BYTES + 1];
  char msg[CAIRN_MEMPOOL_DETAIL_BYTES + 128];
  cairn_hex_encode(hex, sizeof hex, txid, CAIRN_HASH_BYTES);
  cairn_mempool_message(msg, sizeof msg, err, detail);
  cairn_log_warn(m->log, "rejected tx=%s code=%s msg=%s", hex,
                 cairn_errname(err), msg);
}

/* Remember and log a transaction dropped after admission. */
static void cairn_mempool_remember(cairn_mempool *m, const uint8_t *txid,
                                   cairn_err err, const char *detail) {
  assert(err != CAIRN_OK);
  cairn_mempool_rejection *r = &m->ring[m->ring_next];
  memcpy(r->txid, txid, CAIRN_HASH_BYTES);
  r->err = err;
  snprintf(r->detail, sizeof r->detail, "%s", detail != NULL ? detail : "");
  m->ring_next = (m->ring_next + 1) % CAIRN_MEMPOOL_REJECTED_MAX;
  if (m->ring_count < CAIRN_MEMPOOL_REJECTED_MAX) m->ring_count++;
  cairn_mempool_log_reject(m, txid, err, detail);
}

cairn_err cairn_mempool_rejected(const cairn_mempool *m,
                                 const uint8_t txid[32], cairn_err *err,
                                 char *msg, size_t msg_cap) {
  assert(m != NULL && txid != NULL && err != NULL);
  *err = CAIRN_OK;
  if (msg != NULL && msg_cap > 0) msg[0] = '\0';
  for (size_t i = 0; i < m->ring_count; i++) {
    size_t at = (m->ring_next + CAIRN_MEMPOOL_REJECTED_MAX - 1 - i) %
                CAIRN_MEMPOOL_REJECTED_MAX;
    const cairn_mempool_rejection *r = &m->ring[at];
    if (memcmp(r->txid, txid, CAIRN_HASH_BYTES) != 0) continue;
    *err = r->err;
    if (msg != NULL) cairn_mempool_message(msg, msg_cap, r->err, r->detail);
    return CAIRN_OK;
  }
  return CAIRN_ERR_NOT_FOUND;
}

/* ---- detail sentences ---- */

/* The brand a transaction names, or 0 for coupon transfers (none). */
static uint32_t cairn_mempool_tx_brand(const cairn_tx *tx) {
  switch (tx->type) {
    case CAIRN_TX_ISSUE: return tx->u.issue.brand;
    case CAIRN_TX_TRANSFER: return tx->u.transfer.brand;
    case CAIRN_TX_REDEEM: return tx->u.redeem.brand;
    case CAIRN_TX_COUPON_ISSUE: return tx->u.coupon_issue.brand;
    case CAIRN_TX_COUPON_REDEEM: return tx->u.coupon_redeem.brand;
    default: return 0;
  }
}

static void cairn_mempool_explain_balance(cairn_mempool *m, const cairn_tx *tx,
                                          char *detail, size_t cap) {
  uint64_t need = 0;
  if (tx->type == CAIRN_TX_TRANSFER) need = tx->u.transfer.amount;
  if (tx->type == CAIRN_TX_REDEEM) need = tx->u.redeem.amount;
  uint64_t have = 0;
  if (need == 0 || cairn_state_balance(m->view, tx->sender,
                                       cairn_mempool_tx_brand(tx),
                                       &have) != CAIRN_OK) {
    return;
  }
  snprintf(detail, cap, "has %llu, needs %llu", (unsigned long long)have,
           (unsigned long long)need);
}

static void cairn_mempool_explain_chain(const cairn_mempool *m,
                                        const cairn_tx *tx, char *detail,
                                        size_t cap) {
  const cairn_genesis *g = cairn_chain_genesis(m->chain);
  bool printable = true;
  for (size_t i = 0; i < tx->chain_id_len; i++) {
    if (tx->chain_id[i] < 0x21 || tx->chain_id[i] > 0x7e) printable = false;
  }
  if (printable) {
    snprintf(detail, cap, "transaction is for \"%.*s\", this node runs \"%s\"",
             (int)tx->chain_id_len, (const char *)tx->chain_id, g->chain_id);
  } else {
    snprintf(detail, cap, "this node runs \"%s\"", g->chain_id);
  }
}

/* Write the numbers behind err into detail ("" when there are none). The
 * view must be in the state the transaction was executed against. */
static void cairn_mempool_explain(cairn_mempool *m, const cairn_tx *tx,
                                  cairn_err err, uint64_t height, char *detail,
                                  size_t cap) {
  if (detail == NULL || cap == 0) return;
  detail[0] = '\0';
  uint64_t last = 0;
  switch (err) {
    case CAIRN_ERR_INSUFFICIENT:
      cairn_mempool_explain_balance(m, tx, detail, cap);
      break;
    case CAIRN_ERR_SEQ_GAP:
    case CAIRN_ERR_SEQ_REPLAY:
      if (cairn_state_sequence(m->view, tx->sender, &last) == CAIRN_OK &&
          last < UINT64_MAX) {
        snprintf(detail, cap, "next sequence is %llu, got %llu",
                 (unsigned long long)last + 1,
                 (unsigned long long)tx->sequence);
      }
      break;
    case CAIRN_ERR_TX_EXPIRED:
      snprintf(detail, cap, "expiry height %llu, next block %llu",
               (unsigned long long)tx->expiry_height,
               (unsigned long long)height);
      break;
    case CAIRN_ERR_CHAIN_ID:
      cairn_mempool_explain_chain(m, tx, detail, cap);
      break;
    case CAIRN_ERR_UNKNOWN_BRAND:
      snprintf(detail, cap, "brand %lu", (unsigned long)cairn_mempool_tx_brand(tx));
      break;
    default:
      break;
  }
}

/* ---- admission ---- */

static void cairn_mempool_exec_ctx(const cairn_mempool *m, uint64_t now_ms,
                                   cairn_exec_ctx *ctx) {
  const cairn_genesis *g = cairn_chain_genesis(m->chain);
  cairn_tip tip;
  cairn_chain_tip(m->chain, &tip);
  ctx->chain_id = (const uint8_t *)g->chain_id;
  ctx->chain_id_len = g->chain_id_len;
  ctx->height = tip.height + 1;
  ctx->time_ms = now_ms;
}

/* Bring a freshly opened or rebased view to the start of the next block:
 * holds that time out and points that expire there are released or removed
 * first, exactly as the block builder will do, so admission never accepts a
 * spend of points that will be gone when the block is built. */
static cairn_err cairn_mempool_begin_block(cairn_mempool *m, uint64_t now_ms) {
  cairn_exec_ctx ctx;
  cairn_mempool_exec_ctx(m, now_ms, &ctx);
  return cairn_state_begin_block(m->view, &ctx);
}

/* DUPLICATE_TX if pending or committed, MEMPOOL_FULL if there is no room. */
static cairn_err cairn_mempool_check_new(cairn_mempool *m,
                                         const uint8_t *txid) {
  if (cairn_mempool_set_find(m, txid) != NULL) return CAIRN_ERR_DUPLICATE_TX;
  cairn_rtxn *r = NULL;
  CAIRN_TRY(cairn_store_read_begin(cairn_chain_store(m->chain), &r));
  uint64_t height = 0;
  uint32_t position = 0;
  cairn_err err = cairn_store_tx_location(r, txid, &height, &position);
  cairn_store_read_end(r);
  if (err == CAIRN_OK) return CAIRN_ERR_DUPLICATE_TX;
  if (err != CAIRN_ERR_NOT_FOUND) return err;
  if (m->count >= m->txs_max) return CAIRN_ERR_MEMPOOL_FULL;
  return CAIRN_OK;
}

static cairn_err cairn_mempool_append(cairn_mempool *m, const cairn_tx *tx,
                                      const uint8_t *txid, const uint8_t *bytes,
                                      size_t len) {
  assert(m->count < m->txs_max && len <= CAIRN_TX_BYTES_MAX);
  cairn_mempool_entry *e = malloc(sizeof *e + len);
  if (e == NULL) return CAIRN_ERR_NOMEM;
  memcpy(e->txid, txid, CAIRN_HASH_BYTES);
  memcpy(e->sender, tx->sender, CAIRN_PUBKEY_BYTES);
  e->sequence = tx->sequence;
  e->dead = false;
  e->len = len;
  memcpy(e->bytes, bytes, len);
  m->fifo[m->count++] = e;
  cairn_mempool_set_insert(m, e);
  return CAIRN_OK;
}

/* Decode and verify through the chain's caches (chain.h): bytes seen
 * before, here or in a block, skip the signature; bytes that pass go into
 * the tx cache so the block that carries them need not check them again.
 * Whether the txid is new (already pending or committed) is asked before
 * the signature, the expensive part. */
static cairn_err cairn_mempool_check_tx(cairn_mempool *m, const uint8_t *tx,
                                        size_t len, const uint8_t *txid,
                                        cairn_tx *d) {
  cairn_cache *txc = cairn_chain_tx_cache(m->chain);
  cairn_cache *keys = cairn_chain_key_cache(m->chain);
  if (len > CAIRN_TX_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  bool known = cairn_cache_get(txc, txid, NULL);
  CAIRN_TRY(known ? cairn_tx_decode_verified(d, tx, len)
                  : cairn_tx_decode_cached(d, tx, len, keys));
  CAIRN_TRY(cairn_mempool_check_new(m, txid));
  if (known) return CAIRN_OK;
  CAIRN_TRY(cairn_tx_verify_cached(d, keys));
  cairn_cache_put(txc, txid, NULL);
  return CAIRN_OK;
}

cairn_err cairn_mempool_add(cairn_mempool *m, const uint8_t *tx, size_t len,
                            uint64_t now_ms, uint8_t txid[CAIRN_HASH_BYTES],
                            char *detail, size_t detail_cap) {
  assert(m != NULL && tx != NULL && txid != NULL);
  if (detail != NULL && detail_cap > 0) detail[0] = '\0';
  cairn_tx_id_bytes(txid, tx, len);
  cairn_tx d;
  cairn_exec_ctx ctx;
  cairn_mempool_exec_ctx(m, now_ms, &ctx);
  cairn_err err = cairn_mempool_check_tx(m, tx, len, txid, &d);
  size_t savepoint = cairn_view_savepoint(m->view);
  if (err == CAIRN_OK) {
    err = cairn_state_apply_tx(m->view, &ctx, &d, txid);
    if (err != CAIRN_OK) {
      cairn_mempool_explain(m, &d, err, ctx.height, detail, detail_cap);
    }
  }
  if (err == CAIRN_OK) {
    err = cairn_mempool_append(m, &d, txid, tx, len);
    /* No memory for the copy: the view must not keep what the FIFO lacks. */
    if (err != CAIRN_OK) cairn_view_rollback(m->view, savepoint);
  }
  if (err != CAIRN_OK) cairn_mempool_log_reject(m, txid, err, detail);
  return err;
}

/* ---- queries ---- */

size_t cairn_mempool_count(const cairn_mempool *m) {
  assert(m != NULL);
  return m->count;
}

size_t cairn_mempool_candidates(const cairn_mempool *m, cairn_slice *out,
                                size_t max) {
  assert(m != NULL && (out != NULL || max == 0));
  size_t n = m->count < max ? m->count : max;
  for (size_t i = 0; i < n; i++) {
    out[i].p = m->fifo[i]->bytes;
    out[i].len = m->fifo[i]->len;
  }
  return n;
}

void cairn_mempool_txid_at(const cairn_mempool *m, size_t index,
                           uint8_t txid[CAIRN_HASH_BYTES]) {
  assert(m != NULL && index < m->count);
  memcpy(txid, m->fifo[index]->txid, CAIRN_HASH_BYTES);
}

cairn_err cairn_mempool_find(const cairn_mempool *m, const uint8_t txid[32],
                             const uint8_t **tx, size_t *len) {
  assert(m != NULL && txid != NULL && tx != NULL && len != NULL);
  const cairn_mempool_entry *e = cairn_mempool_set_find(m, txid);
  if (e == NULL) {
    *tx = NULL;
    *len = 0;
    return CAIRN_ERR_NOT_FOUND;
  }
  *tx = e->bytes;
  *len = e->len;
  return CAIRN_OK;
}

cairn_err cairn_mempool_next_sequence(cairn_mempool *m,
                                      const uint8_t account[32],
                                      uint64_t *next) {
  assert(m != NULL && account != NULL && next != NULL);
  *next = 0;
  uint64_t last = 0;
  CAIRN_TRY(cairn_state_sequence(m->view, account, &last));
  if (last == UINT64_MAX) return CAIRN_ERR_RANGE;
  *next = last + 1;
  return CAIRN_OK;
}

/* ---- removal and re-execution ---- */

cairn_err cairn_mempool_drop(cairn_mempool *m, const uint8_t txid[32],
                             cairn_err err) {
  assert(m != NULL && txid != NULL && err != CAIRN_OK);
  cairn_mempool_entry *e = cairn_mempool_set_find(m, txid);
  if (e == NULL) return CAIRN_ERR_NOT_FOUND;
  cairn_mempool_remember(m, e->txid, err, "left out of the block");
  e->dead = true;
  cairn_mempool_compact(m);
  return CAIRN_OK;
}

/* Re-execute every live entry on the (freshly rebased) view, marking those
 * that now fail. */
static void cairn_mempool_reexecute(cairn_mempool *m, uint64_t now_ms) {
  cairn_exec_ctx ctx;
  cairn_mempool_exec_ctx(m, now_ms, &ctx);
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  for (size_t i = 0; i < m->count; i++) {
    cairn_mempool_entry *e = m->fifo[i];
    cairn_tx tx;
    /* These bytes decoded at admission and have not changed since. */
    cairn_err err = cairn_tx_decode(&tx, e->bytes, e->len);
    assert(err == CAIRN_OK);
    err = cairn_state_apply_tx(m->view, &ctx, &tx, e->txid);
    if (err == CAIRN_OK) continue;
    cairn_mempool_explain(m, &tx, err, ctx.height, detail, sizeof detail);
    cairn_mempool_remember(m, e->txid, err, detail);
    e->dead = true;
  }
}

cairn_err cairn_mempool_after_block(cairn_mempool *m,
                                    const uint8_t (*txids)[CAIRN_HASH_BYTES],
                                    size_t n, uint64_t now_ms) {
  assert(m != NULL && (txids != NULL || n == 0));
  for (size_t i = 0; i < n; i++) {
    cairn_mempool_entry *e = cairn_mempool_set_find(m, txids[i]);
    if (e != NULL) e->dead = true;
  }
  cairn_mempool_compact(m);
  cairn_err err = cairn_view_rebase(m->view);
  if (err == CAIRN_OK) err = cairn_mempool_begin_block(m, now_ms);
  if (err != CAIRN_OK) {
    /* Nothing pending can be checked against an unknown state. */
    for (size_t i = 0; i < m->count; i++) {
      cairn_mempool_remember(m, m->fifo[i]->txid, err, "");
      m->fifo[i]->dead = true;
    }
    cairn_mempool_compact(m);
    return err;
  }
  cairn_mempool_reexecute(m, now_ms);
  cairn_mempool_compact(m);
  return CAIRN_OK;
}

/* ---- building a block from the pending transactions ---- */

/* Candidates the block builder refused, by index into the candidate
 * array (which is the mempool's own order). */
typedef struct mempool_refusals {
  size_t *index;
  cairn_err *err;
  size_t n, cap;
} mempool_refusals;

static void mempool_on_refuse(void *ctx, size_t index, cairn_err err) {
  mempool_refusals *r = ctx;
  assert(r->n < r->cap && index < r->cap);
  r->index[r->n] = index;
  r->err[r->n] = err;
  r->n++;
}

/* Drop the refused candidates (ids read first: indices refer to the order
 * before any drop), then re-execute what is left once. */
static cairn_err mempool_drop_refused(cairn_mempool *m,
                                      const mempool_refusals *r,
                                      uint64_t now_ms) {
  if (r->n == 0) return CAIRN_OK;
  uint8_t(*ids)[CAIRN_HASH_BYTES] = malloc(r->n * CAIRN_HASH_BYTES);
  if (ids == NULL) return CAIRN_ERR_NOMEM;
  for (size_t i = 0; i < r->n; i++) cairn_mempool_txid_at(m, r->index[i], ids[i]);
  for (size_t i = 0; i < r->n; i++) {
    cairn_err err = cairn_mempool_drop(m, ids[i], r->err[i]);
    assert(err == CAIRN_OK); /* read from the mempool just above */
    (void)err;
  }
  free(ids);
  return cairn_mempool_after_block(m, NULL, 0, now_ms);
}

cairn_err cairn_mempool_propose(cairn_mempool *m, uint64_t time_ms,
                                const uint8_t proposer[32],
                                cairn_proposal **out) {
  assert(m != NULL && proposer != NULL && out != NULL);
  *out = NULL;
  size_t n = m->count;
  if (n > CAIRN_BLOCK_TXS_MAX) n = CAIRN_BLOCK_TXS_MAX;
  size_t cap = n > 0 ? n : 1;
  cairn_slice *cands = malloc(cap * sizeof *cands);
  mempool_refusals r = {malloc(cap * sizeof(size_t)),
                        malloc(cap * sizeof(cairn_err)), 0, cap};
  cairn_err err = cands && r.index && r.err ? CAIRN_OK : CAIRN_ERR_NOMEM;
  if (err == CAIRN_OK) {
    n = cairn_mempool_candidates(m, cands, n);
    err = cairn_chain_propose(m->chain, cands, n, time_ms, proposer,
                              mempool_on_refuse, &r, out);
  }
  /* The candidate slices point into the mempool: drop only after the
   * builder is done with them. A failed re-check is logged, not fatal:
   * the proposal is good either way. */
  if (err == CAIRN_OK) {
    cairn_err derr = mempool_drop_refused(m, &r, time_ms);
    if (derr != CAIRN_OK)
      cairn_log_warn(m->log, "mempool re-check after refusals failed: %s",
                     cairn_strerror(derr));
  }
  free(cands);
  free(r.index);
  free(r.err);
  return err;
}
