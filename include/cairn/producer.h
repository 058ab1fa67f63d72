/*
 * cairn/producer.h - block production for a single-validator chain.
 *
 * The producer turns pending transactions into committed blocks: it
 * proposes a block from the mempool (chain.h), signs its own precommit for
 * it, wraps that signature in a commit, commits the block and tells the
 * mempool. With one validator holding all the power, its own precommit is
 * the >2/3 of stake cairn_commit_verify asks for.
 *
 * Timing: a block is built only when transactions are pending, and never
 * sooner than block_interval_ms after the previous one (monotonic clock). A
 * transaction that arrives after an idle period is therefore in a block
 * within one interval, usually at once; under load blocks come every
 * interval and carry everything that arrived meanwhile. An empty mempool
 * produces no block.
 *
 * This module is the only place that decides when blocks happen and who
 * signs them; a consensus engine replaces it by offering the same
 * notify/close surface to the node.
 */
#ifndef CAIRN_PRODUCER_H
#define CAIRN_PRODUCER_H

#include <stdint.h>

#include "cairn/chain.h"
#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/mempool.h"
#include "cairn/sig.h"

struct event_base;

typedef struct cairn_producer cairn_producer;

/* Called once when a block cannot be committed for a reason that will not
 * go away by retrying (storage failure, corrupt store): the node should
 * stop. */
typedef void (*cairn_producer_fatal_fn)(void *ctx, cairn_err err);

typedef struct cairn_producer_opts {
  struct event_base *base;
  cairn_chain *chain;
  cairn_mempool *mempool;
  const cairn_log *log;           /* may be NULL */
  const uint8_t *validator_sk;    /* [CAIRN_ED25519_SECKEY_BYTES], copied */
  uint32_t block_interval_ms;     /* CAIRN_BLOCK_INTERVAL_MS_MIN..MAX */
  cairn_producer_fatal_fn on_fatal; /* may be NULL */
  void *fatal_ctx;
} cairn_producer_opts;

/* Create a producer on o->base. Nothing is produced until notified. The
 * chain, mempool, log and base must outlive it. Errors: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_producer_open(cairn_producer **out,
                                               const cairn_producer_opts *o);
/* Cancel the timer, wipe the key copy, free (p may be NULL). */
void cairn_producer_close(cairn_producer *p);

/* A transaction entered the mempool: schedule a block if none is
 * scheduled. Cheap; call after every successful admission. */
void cairn_producer_notify(cairn_producer *p);

/* Build, sign and commit one block at tip+1 from the mempool now, without
 * any timing rule (the timer calls this; so can tests). Transactions the
 * builder refuses are dropped from the mempool and logged; if none is left
 * no block is made. On success *height is the new block's height, or 0 if
 * the mempool was empty or every candidate was refused. Errors: NOMEM,
 * STORE, BAD_COMMIT (sk is not a validator of the chain), the errors of
 * cairn_chain_commit_proposal. */
CAIRN_MUST_CHECK cairn_err cairn_producer_build(
    cairn_chain *chain, cairn_mempool *mempool, const cairn_log *log,
    const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES], uint64_t now_ms,
    uint64_t *height);

#endif
