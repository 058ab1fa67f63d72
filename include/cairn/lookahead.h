/*
 * cairn/lookahead.h - check the next block's signatures on a background
 * thread while the current block is applied.
 *
 * Replaying a chain (an audit, a node catching up) applies blocks one
 * after another, and each block ends with work on one thread: executing in
 * order, the state hash, the store commit. Meanwhile the other cores would
 * idle. A lookahead holds a copy of the next block and runs
 * cairn_chain_precheck_block on it (chain.h), which fills the chain's
 * caches, so that by the time the block is applied its signatures are
 * already known good. Results never depend on it: apply_block checks every
 * transaction whose txid is not in the cache.
 *
 * Two buffers: the block handed out by cairn_lookahead_take stays valid
 * while the next one is copied into the other and checked.
 */
#ifndef CAIRN_LOOKAHEAD_H
#define CAIRN_LOOKAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/chain.h"
#include "cairn/error.h"

typedef struct cairn_lookahead cairn_lookahead;

/* A lookahead for chain c, which must outlive it. Errors: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_lookahead_new(cairn_lookahead **out,
                                               const cairn_chain *c);
/* Waits for a check in progress. NULL is ignored. */
void cairn_lookahead_free(cairn_lookahead *la);

/* Copy the block (and its commit, may be empty) of `height` and start
 * checking it on a background thread, after waiting for any check still
 * running. The block last handed out by cairn_lookahead_take is kept.
 * Errors: NOMEM, RANGE (len above CAIRN_BLOCK_BYTES_MAX or
 * CAIRN_COMMIT_BYTES_MAX), INTERNAL (no thread); then nothing runs and the
 * caller simply goes on without. */
CAIRN_MUST_CHECK cairn_err cairn_lookahead_start(
    cairn_lookahead *la, uint64_t height, const uint8_t *block,
    size_t block_len, const uint8_t *commit, size_t commit_len);

/* If the block started last is of `height`: wait for its check and hand
 * out its bytes, valid until the next start after this one or free; true.
 * Otherwise false and nothing is touched. */
bool cairn_lookahead_take(cairn_lookahead *la, uint64_t height,
                          const uint8_t **block, size_t *block_len,
                          const uint8_t **commit, size_t *commit_len);

#endif
