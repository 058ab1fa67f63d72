/*
 * cairn/votes.h - a vote set: the prevotes or precommits of one (height,
 * round, type), tallied by stake.
 *
 * A Tendermint node keeps one vote set per (height, round, type) and asks it
 * three questions: how much stake voted for a given value, whether more than
 * 2/3 of the stake agrees on one value (a polka, or a commit), and whether
 * more than 2/3 voted at all (the trigger for the prevote and precommit
 * timeouts). This module answers them over a fixed validator set
 * (specs/consensus.md §2 has the rules).
 *
 * Memory is bounded: one vote slot per validator (CAIRN_VALIDATORS_MAX).
 * A validator's first vote is kept; an identical second vote is a no-op, a
 * second vote for a different value (nil included) is equivocation and is
 * handed back with the first one so evidence.h can build a duplicate-vote
 * proof. Power sums are u64: total power <= CAIRN_TOTAL_POWER_MAX (2^60),
 * so 3 * power never overflows.
 *
 * Pointers are never NULL. The validator set and chain id given to
 * cairn_voteset_init are referenced, not copied: they must outlive the vote
 * set and must not change while it is used.
 */
#ifndef CAIRN_VOTES_H
#define CAIRN_VOTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/limits.h"

typedef struct cairn_voteset {
  const uint8_t *chain_id;
  size_t chain_id_len;
  const cairn_valset *vs;
  uint64_t height;
  uint32_t round;
  uint8_t type;
  uint64_t voted_power; /* sum of the powers of validators in have[] */
  bool have[CAIRN_VALIDATORS_MAX]; /* indexed like vs->v */
  cairn_vote votes[CAIRN_VALIDATORS_MAX];
} cairn_voteset;

/* Start an empty vote set for (height, round, type) over vs.
 * In: chain_id (1..CAIRN_CHAIN_ID_BYTES_MAX bytes), vs (passed
 * cairn_valset_check), height >= 1, type CAIRN_VOTE_PREVOTE or
 * CAIRN_VOTE_PRECOMMIT. Violations are caller bugs (asserted). */
void cairn_voteset_init(cairn_voteset *s, const uint8_t *chain_id,
                        size_t chain_id_len, const cairn_valset *vs,
                        uint64_t height, uint32_t round, uint8_t type);

/* Add a vote (verified or not: its signature is checked here).
 * Out: conflict, zeroed unless the result is CAIRN_ERR_EQUIVOCATION, when
 *      conflict[0] is the vote kept (the first) and conflict[1] is v.
 * Returns OK when v was added or is a repeat of the validator's vote for the
 * same value (a no-op). Errors, all leaving s unchanged: VOTE_HEIGHT,
 * VOTE_ROUND, VOTE_TYPE (v is for another height/round/type), NOT_VALIDATOR
 * (signer not in the set), BAD_SIG, EQUIVOCATION (validly signed vote for a
 * different block hash than the validator's first vote). */
CAIRN_MUST_CHECK cairn_err cairn_voteset_add(cairn_voteset *s,
                                             cairn_vote conflict[2],
                                             const cairn_vote *v);

/* Stake that voted for hash (all-zero: nil). */
uint64_t cairn_voteset_power(const cairn_voteset *s,
                             const uint8_t hash[CAIRN_HASH_BYTES]);

/* Stake that voted for anything (sum over all values, nil included). */
uint64_t cairn_voteset_power_any(const cairn_voteset *s);

/* Number of validators that have voted. */
uint32_t cairn_voteset_count(const cairn_voteset *s);

/* True when one value (a block hash, or nil) holds more than 2/3 of the
 * total power; out is that value (all-zero for nil). Out is zeroed when
 * false, so check the return value, not out, to tell nil from none. */
bool cairn_voteset_has_two_thirds_majority(const cairn_voteset *s,
                                           uint8_t out[CAIRN_HASH_BYTES]);

/* True when more than 2/3 of the total power voted, for any values. */
bool cairn_voteset_has_two_thirds_any(const cairn_voteset *s);

/* Build the commit for hash from the precommits for it, signers in
 * ascending order (cairn_commit_add); the result passes
 * cairn_commit_verify for (s's chain id, height, hash, vs).
 * s must be a precommit set (asserted). Out: c, zeroed on failure.
 * Errors: BAD_COMMIT (hash is nil, or its precommits hold 2/3 of the power
 * or less). */
CAIRN_MUST_CHECK cairn_err cairn_voteset_make_commit(
    const cairn_voteset *s, cairn_commit *c,
    const uint8_t hash[CAIRN_HASH_BYTES]);

#endif
