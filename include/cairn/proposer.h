/*
 * cairn/proposer.h - stake-weighted round-robin proposer selection, as in
 * Tendermint.
 *
 * Every validator carries a signed priority. One step ("advance"): rescale
 * the priorities so that max - min <= 2 * total power, centre them on their
 * mean, add each validator's power to its priority, choose the highest
 * priority (ties: lowest pubkey bytes) and subtract the total power from
 * the chosen one. In the first total_power steps from the initial state
 * each validator is chosen power times (tested; specs/consensus.md §3 has
 * the rules and a worked example).
 *
 * The initial state has all priorities 0 and then takes one step (as
 * Tendermint's NewValidatorSet does); its chosen validator proposes height
 * 1, round 0. The proposer of (height, round) is the one chosen after
 * (height - 1 + round) further steps. Priorities stay within
 * [-3 * total, 3 * total], which fits an int64 since total <= 2^60.
 *
 * A state belongs to one set. When the set changes the chain starts a new
 * state from the new set at its epoch (chain.h: cairn_chain_proposer;
 * specs/consensus.md §7). From the initial state the rotation is periodic
 * with period total_power (tested), so step counts may be reduced modulo
 * the total. Pointers are never NULL.
 */
#ifndef CAIRN_PROPOSER_H
#define CAIRN_PROPOSER_H

#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/limits.h"

typedef struct cairn_proposer_state {
  uint32_t n;
  uint64_t total_power;
  uint64_t steps; /* steps taken since the all-zero priorities */
  uint32_t chosen; /* index chosen by the last step */
  uint8_t pubkey[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES];
  uint64_t power[CAIRN_VALIDATORS_MAX];
  int64_t priority[CAIRN_VALIDATORS_MAX];
} cairn_proposer_state;

/* The initial state for vs (which passed cairn_valset_check: asserted):
 * priorities 0, then one step. Its proposer is that of height 1, round 0.
 * The set is copied. */
void cairn_proposer_init(cairn_proposer_state *st, const cairn_valset *vs);

/* Take `times` steps. O(times * n): for the node, one step per new round
 * or height keeps the proposer current at O(n) per step. */
void cairn_proposer_advance(cairn_proposer_state *st, uint64_t times);

/* The pubkey of the validator chosen by the last step. */
void cairn_proposer_current(const cairn_proposer_state *st,
                            uint8_t out[CAIRN_ED25519_PUBKEY_BYTES]);

/* The proposer of (height, round) under vs: a pure function, computed as
 * cairn_proposer_init then (height - 1 + round) steps, so its cost is
 * O((height + round) * n) - fine for tests and audits, too slow for a node
 * at a large height (keep a cairn_proposer_state instead).
 * Out: out, zeroed on failure. Errors: RANGE (height 0, or height - 1 +
 * round does not fit a u64). */
CAIRN_MUST_CHECK cairn_err cairn_proposer_for(
    uint8_t out[CAIRN_ED25519_PUBKEY_BYTES], const cairn_valset *vs,
    uint64_t height, uint32_t round);

#endif
