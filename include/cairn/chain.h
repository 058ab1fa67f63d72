/*
 * cairn/chain.h - the chain: genesis, block building and block application.
 *
 * A cairn_chain ties a store to its genesis and knows the tip. It offers the
 * two paths every block takes:
 *   - propose: execute candidate transactions in order on a fresh view of the
 *     tip, skip those that fail (reporting why), and build the block header
 *     and bytes. The proposal keeps its view so that committing it does not
 *     execute anything again.
 *   - apply: take a block and its commit from elsewhere (a peer, a replay)
 *     and check everything - height, link to parent, time, validator-set
 *     hash, proposer, state hash, Merkle root, every transaction's form,
 *     signature and rules, the commit's signatures and stake - before
 *     committing it.
 * Both end in one atomic store commit (store.h).
 *
 * Applying a block checks the transaction signatures of a block of at least
 * CAIRN_CHAIN_VERIFY_PARALLEL_MIN transactions on several threads before it
 * runs the transactions in order on one; the outcome (including which error
 * a bad block gets) is the same as checking them one by one. Proposing does
 * the same for its candidates, a window of as many as could still fit the
 * block at a time, with the same outcome (which are included, which
 * rejected and with what error) as checking them one by one.
 */
#ifndef CAIRN_CHAIN_H
#define CAIRN_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/cache.h"
#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/store.h"
#include "cairn/view.h"

typedef struct cairn_chain cairn_chain;

/* Open the chain on a store. An empty (writable) store is initialised from
 * g; otherwise the stored genesis must equal g (CAIRN_ERR_GENESIS_MISMATCH).
 * g may be NULL to use the stored genesis (CAIRN_ERR_NOT_FOUND if none). */
CAIRN_MUST_CHECK cairn_err cairn_chain_open(cairn_chain **out,
                                            cairn_store *store,
                                            const cairn_genesis *g);
void cairn_chain_close(cairn_chain *c);

/* Signature checks of a block spread over at most this many threads. */
#define CAIRN_CHAIN_VERIFY_THREADS_MAX 32
/* Blocks with fewer transactions are checked on the calling thread: for
 * them starting threads costs more than it saves. */
#define CAIRN_CHAIN_VERIFY_PARALLEL_MIN 64

/* Slots of the chain's two caches (cache.h): txids whose bytes decoded and
 * whose signature verified (room for a full mempool and a few blocks), and
 * parsed public keys (issuers and recent members). ~4 MiB and ~6 MiB. */
#define CAIRN_CHAIN_TX_CACHE_ENTRIES (1u << 17)
#define CAIRN_CHAIN_KEY_CACHE_ENTRIES (1u << 16)

/* The chain's caches, for whoever checks transactions on its behalf (the
 * node's mempool): a transaction whose txid is in the tx cache is not
 * checked again when a block carries it. Only put txids of bytes that
 * passed cairn_tx_decode and cairn_tx_verify; only pass the key cache to
 * the _cached calls of tx.h and sig.h. Owned by the chain. */
cairn_cache *cairn_chain_tx_cache(const cairn_chain *c);
cairn_cache *cairn_chain_key_cache(const cairn_chain *c);

/* Check ahead the transactions of a block that will be applied later (a
 * replay, an audit, a node catching up), so that work overlaps with
 * applying the blocks before it: decode and verify each transaction on up
 * to cairn_chain_verify_threads(c) threads and put the txids of those that
 * pass into the tx cache; cairn_chain_apply_block then only decodes them.
 * Nothing else is checked and nothing but the caches changes: a bad block
 * is refused by apply_block as always. Safe to call on another thread
 * while this chain applies or commits an earlier block. Errors: the decode
 * errors of cairn_block_decode, NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_chain_precheck_block(const cairn_chain *c,
                                                      const uint8_t *block,
                                                      size_t block_len);

/* How many threads cairn_chain_apply_block, cairn_chain_check_proposal and
 * cairn_chain_propose may use to check signatures:
 * 0 (the default) means the number of online CPUs; 1 checks on the calling
 * thread; larger values are capped at CAIRN_CHAIN_VERIFY_THREADS_MAX. */
void cairn_chain_set_verify_threads(cairn_chain *c, unsigned threads);
/* The number of threads that setting gives (>= 1). */
unsigned cairn_chain_verify_threads(const cairn_chain *c);

const cairn_genesis *cairn_chain_genesis(const cairn_chain *c);
const uint8_t *cairn_chain_genesis_hash(const cairn_chain *c);
/* The validator set in force for the next block (tip + 1): the state's
 * set after the tip (staking.h), re-read after every committed block. */
const cairn_valset *cairn_chain_valset(const cairn_chain *c);
/* The height from which that set has been in force (1 at genesis). */
uint64_t cairn_chain_epoch(const cairn_chain *c);
/* The set that was (or is) in force at height (1..tip+1), from the store's
 * record of every set change. Errors: RANGE (height 0 or > tip + 1),
 * STORE, CORRUPT. */
CAIRN_MUST_CHECK cairn_err cairn_chain_valset_at(cairn_chain *c,
                                                 uint64_t height,
                                                 cairn_valset *out);
/* The proposer of (tip + 1, round): cairn_proposer_for over the set in
 * force, counting heights from the epoch (proposer.h; specs/consensus.md
 * "Proposer across set changes"). Cheap: the chain keeps the round-0
 * state and advances a copy `round` steps (reduced modulo the total
 * power, the rotation's period). */
void cairn_chain_proposer(const cairn_chain *c, uint32_t round,
                          uint8_t out[CAIRN_ED25519_PUBKEY_BYTES]);
void cairn_chain_tip(const cairn_chain *c, cairn_tip *out);
cairn_store *cairn_chain_store(cairn_chain *c);

/* A built, not yet committed, block. */
typedef struct cairn_proposal {
  cairn_block_header header;
  uint8_t hash[CAIRN_HASH_BYTES];
  uint8_t *block; /* canonical bytes, malloc'd */
  size_t block_len;
  uint8_t (*txids)[CAIRN_HASH_BYTES]; /* header.tx_count entries */
  uint8_t app_hash[CAIRN_HASH_BYTES]; /* state hash after this block */
  cairn_view *view;                   /* its state changes */
} cairn_proposal;

/* Called for each candidate left out of a proposal. */
typedef void (*cairn_reject_fn)(void *ctx, size_t index, cairn_err err);

/* Build a block at tip+1 from candidates (canonical tx bytes, in order),
 * taking at most CAIRN_BLOCK_TXS_MAX and staying under the byte limit;
 * skipped candidates are reported through reject (may be NULL). Candidates
 * beyond the limits are neither included nor rejected. time_ms is raised to
 * parent time + 1 if needed. Errors: NOMEM, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_chain_propose(
    cairn_chain *c, const cairn_slice *candidates, size_t n, uint64_t time_ms,
    const uint8_t proposer[CAIRN_ED25519_PUBKEY_BYTES], cairn_reject_fn reject,
    void *reject_ctx, cairn_proposal **out);
void cairn_proposal_free(cairn_proposal *p);

/* Check a block proposed for tip + 1 in consensus round `round`: every
 * check of cairn_chain_apply_block except the commit (there is none yet),
 * plus that it was built by cairn_chain_proposer(c, k) for some round
 * k <= round (a later round may re-propose an earlier block). On success
 * *out is a proposal holding the block's executed changes, to be committed
 * later with cairn_chain_commit_proposal (nothing runs twice) or freed.
 * Nothing is written. Errors and why: as cairn_chain_apply_block, plus
 * BAD_PROPOSER. */
CAIRN_MUST_CHECK cairn_err cairn_chain_check_proposal(
    cairn_chain *c, const uint8_t *block, size_t block_len, uint32_t round,
    cairn_proposal **out, char *why, size_t why_cap);

/* Commit a proposal of this chain's tip with its commit (checked with
 * cairn_commit_verify; the block's proposer must be the proposer of the
 * commit's round or of an earlier one). Errors: BAD_COMMIT, BAD_PROPOSER,
 * BAD_HEIGHT (tip moved), STORE. */
CAIRN_MUST_CHECK cairn_err cairn_chain_commit_proposal(cairn_chain *c,
                                                       const cairn_proposal *p,
                                                       const cairn_commit *cm);

/* Verify a block and its commit completely against the tip and commit it.
 * The header's proposer must be cairn_chain_proposer(c, k) for a round k
 * up to the commit's round.
 * On failure nothing is written and why holds a sentence naming the field
 * and both values (e.g. "height 7: tx_root is ab.., recomputed cd..").
 * Errors: the block errors of error.h, decode errors, BAD_BLOCK_TX. */
CAIRN_MUST_CHECK cairn_err cairn_chain_apply_block(
    cairn_chain *c, const uint8_t *block, size_t block_len,
    const uint8_t *commit, size_t commit_len, char *why, size_t why_cap);

#endif
