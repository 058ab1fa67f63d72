/*
 * cairn/mempool.h - transactions waiting for a block.
 *
 * The mempool admits a transaction only if it would succeed if executed
 * right now, after every transaction already pending: it keeps a view
 * (view.h) of "tip state + pending transactions applied in arrival order",
 * and admission runs the real state machine (cairn_state_apply_tx) on that
 * view. So a member with 100 points can have a redeem of 100 pending, and a
 * further redeem of 1 is refused at once with insufficient_balance, instead
 * of being accepted and failing later in a block.
 *
 * Pending transactions leave in FIFO order (cairn_mempool_propose takes
 * them oldest first). After each block the committed ones are removed, the view is
 * rebased on the new tip and the rest are re-executed in order; any that now
 * fail (expired, say) are dropped and remembered as rejected, with their
 * error, in a ring of the last CAIRN_MEMPOOL_REJECTED_MAX, so a client
 * polling for its transaction learns what happened to it.
 *
 * Memory is bounded: at most txs_max pending transactions of at most
 * CAIRN_TX_BYTES_MAX bytes each, plus the fixed ring.
 *
 * Single-threaded: the node's event loop is the only caller.
 */
#ifndef CAIRN_MEMPOOL_H
#define CAIRN_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/chain.h"
#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/log.h"

/* Rejections remembered for GET /v1/txs/{txid} (specs/api.md). */
#define CAIRN_MEMPOOL_REJECTED_MAX 10000
/* Room for a rejection's detail sentence ("has 70, needs 100"). */
#define CAIRN_MEMPOOL_DETAIL_BYTES 160

typedef struct cairn_mempool cairn_mempool;

/* Create an empty mempool for chain, holding at most txs_max transactions
 * (CAIRN_MEMPOOL_TXS_MIN..MAX, asserted). log may be NULL; when set, every
 * rejection is logged as a WARN line. The chain must outlive the mempool.
 * Errors: NOMEM, STORE (the view could not be opened). */
CAIRN_MUST_CHECK cairn_err cairn_mempool_open(cairn_mempool **out,
                                              cairn_chain *chain,
                                              size_t txs_max,
                                              const cairn_log *log);
/* Free everything (m may be NULL). */
void cairn_mempool_close(cairn_mempool *m);

/* Admit the canonical transaction bytes tx (len bytes), copying them.
 * Checks in order: size, decoding, duplicate (pending, or committed in the
 * store), capacity, signature, then the state rules against tip + pending
 * at height tip+1 and time now_ms. On success txid holds the id. On failure
 * nothing changes; txid holds the id of the bytes when it can be computed
 * (else zeros) and detail (may be NULL) a sentence with the numbers behind
 * the error ("has 70, needs 100", "next sequence is 4, got 6", "expiry
 * height 10, next block 12") or "" when there is nothing to add.
 * Errors: OVERSIZE and the decode errors of tx.h, DUPLICATE_TX,
 * MEMPOOL_FULL, BAD_SIG, BAD_KEY, the rule errors of state.h, NOMEM, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_mempool_add(cairn_mempool *m,
                                             const uint8_t *tx, size_t len,
                                             uint64_t now_ms,
                                             uint8_t txid[CAIRN_HASH_BYTES],
                                             char *detail, size_t detail_cap);

/* Number of pending transactions. */
size_t cairn_mempool_count(const cairn_mempool *m);

/* Fill out with up to max pending transactions, oldest first, and return
 * how many. The slices point into the mempool and stay valid until the next
 * call that changes it (add, drop, after_block, close). */
size_t cairn_mempool_candidates(const cairn_mempool *m, cairn_slice *out,
                                size_t max);

/* The id of the pending transaction at position index (oldest is 0), the
 * order of cairn_mempool_candidates. index < count (asserted). */
void cairn_mempool_txid_at(const cairn_mempool *m, size_t index,
                           uint8_t txid[CAIRN_HASH_BYTES]);

/* Find a pending transaction. *tx points into the mempool (valid until the
 * next change). Errors: NOT_FOUND (tx and len zeroed). */
CAIRN_MUST_CHECK cairn_err cairn_mempool_find(const cairn_mempool *m,
                                              const uint8_t txid[32],
                                              const uint8_t **tx,
                                              size_t *len);

/* Remove a pending transaction that the block builder refused, remember it
 * as rejected with err and log it. The view is not re-executed: call
 * cairn_mempool_after_block next (with no txids if no block was committed).
 * Errors: NOT_FOUND (not pending; nothing changes). */
CAIRN_MUST_CHECK cairn_err cairn_mempool_drop(cairn_mempool *m,
                                              const uint8_t txid[32],
                                              cairn_err err);

/* The chain committed a block holding txids (n of them; some may not be
 * pending). Remove those, move the view to the new tip and re-execute the
 * remaining transactions in order at height tip+1 and time now_ms; each one
 * that fails is dropped, remembered as rejected and logged.
 * Errors: STORE (the view could not be rebased: every pending transaction
 * is then dropped, since none can be checked), NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_mempool_after_block(
    cairn_mempool *m, const uint8_t (*txids)[CAIRN_HASH_BYTES], size_t n,
    uint64_t now_ms);

/* Look up a remembered rejection: its error and message (the error's
 * sentence plus detail; msg may be NULL). Errors: NOT_FOUND. */
CAIRN_MUST_CHECK cairn_err cairn_mempool_rejected(const cairn_mempool *m,
                                                  const uint8_t txid[32],
                                                  cairn_err *err, char *msg,
                                                  size_t msg_cap);

/* Build a block at tip + 1 from the pending transactions, oldest first
 * (at most CAIRN_BLOCK_TXS_MAX), with cairn_chain_propose: the consensus
 * engine's getValue(). Candidates the builder refuses (a rule now fails,
 * e.g. expired) are dropped, remembered as rejected and logged, and the
 * rest re-executed. An empty mempool gives an empty block. Out: *out, the
 * proposal (free with cairn_proposal_free), NULL on failure. Errors:
 * NOMEM, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_mempool_propose(cairn_mempool *m,
                                                 uint64_t time_ms,
                                                 const uint8_t proposer[32],
                                                 cairn_proposal **out);

/* The sequence number the account's next transaction must carry, counting
 * its pending transactions: last used (tip + pending) + 1.
 * Errors: STORE, CORRUPT (next zeroed). */
CAIRN_MUST_CHECK cairn_err cairn_mempool_next_sequence(
    cairn_mempool *m, const uint8_t account[32], uint64_t *next);

#endif
