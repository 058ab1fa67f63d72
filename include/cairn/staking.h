/*
 * cairn/staking.h - stake, validator-set changes and slashing.
 *
 * Stake is a chain-wide unit, separate from every brand's points: genesis
 * gives each validator its bonded stake (its power) and may give accounts
 * free stake. Its total never grows; slashing burns some. At every height
 *   genesis total = free + bonded + unbonding + locked in open proposals
 *                   + slashed
 * (cairn_staking_check_conservation).
 *
 * Transactions (tx.h; specs/state.md has every rule and error):
 *   STAKE_TRANSFER  free stake from the sender to another account.
 *   BOND / UNBOND   the validator's operator moves free stake into / out of
 *                   its bond; unbonded stake is free again after
 *                   unbonding_blocks.
 *   ADMIT           a new validator is proposed with a bond locked from the
 *                   sender's (its operator's) free stake.
 *   APPROVE         the operator of a validator in force approves; when the
 *                   approvers hold more than 2/3 of the power in force the
 *                   validator is admitted. Unapproved by its deadline: the
 *                   locked stake goes back to the operator.
 *   EVIDENCE        duplicate-vote evidence against a validator (not yet
 *                   jailed) from within evidence_max_age_blocks: the
 *                   offender loses slash_percent of its bond (rounded down;
 *                   burned) and is jailed for good.
 *
 * When changes take effect: a change to a validator's power included in
 * block h (bond, unbond, admission, jailing) takes effect at height
 * h + valset_delay_blocks, "the announced height". The chain applies due
 * changes at the end of the block before (cairn_staking_end_block), so the
 * set in force for every height is fixed by the state after its parent,
 * and the header's validators_hash (block.h) lets anyone follow the set
 * from genesis. The set in force is every validator with power >= 1,
 * ascending by pubkey (a jailed validator keeps its power until its jailing
 * takes effect at the announced height, then has 0 for good); the epoch is
 * the height at which the set last changed (1 at genesis), from which
 * proposer rotation restarts (proposer.h; specs/consensus.md).
 *
 * All functions take a view (view.h) so they see pending changes; none
 * changes the view on failure.
 */
#ifndef CAIRN_STAKING_H
#define CAIRN_STAKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/state.h"
#include "cairn/store.h"
#include "cairn/tx.h"
#include "cairn/view.h"

/* One validator's record (the validators table). */
typedef struct cairn_validator_record {
  uint8_t pubkey[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t operator_key[CAIRN_PUBKEY_BYTES]; /* all zero: none */
  uint64_t bonded; /* stake bonded now (what future power will be) */
  uint64_t power;  /* power in force now; 0: not in the set */
  bool jailed;
  uint8_t name_len;
  char name[CAIRN_NAME_BYTES_MAX + 1];
} cairn_validator_record;

/* A scheduled change: from height `effective`, validator's power is
 * `power` (0: leaves the set). */
typedef struct cairn_valset_change {
  uint64_t effective;
  uint8_t pubkey[CAIRN_ED25519_PUBKEY_BYTES];
  uint64_t power;
} cairn_valset_change;

typedef enum cairn_proposal_status {
  CAIRN_PROPOSAL_OPEN = 0,
  CAIRN_PROPOSAL_ADMITTED = 1,
  CAIRN_PROPOSAL_EXPIRED = 2
} cairn_proposal_status;

/* An admission proposal (ADMIT), id = the ADMIT txid. */
typedef struct cairn_admission {
  uint8_t id[CAIRN_HASH_BYTES];
  uint8_t validator[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t operator_key[CAIRN_PUBKEY_BYTES];
  uint64_t amount;
  uint64_t deadline_height;
  uint8_t status; /* cairn_proposal_status */
  uint64_t decided_height; /* 0 while open */
  uint64_t approved_power; /* power in force of the approvers so far */
  uint32_t n_approvals;
  uint8_t name_len;
  char name[CAIRN_NAME_BYTES_MAX + 1];
} cairn_admission;

/* Chain-wide stake totals (the conservation equation above). */
typedef struct cairn_stake_totals {
  uint64_t genesis; /* constant */
  uint64_t free_;
  uint64_t bonded;
  uint64_t unbonding;
  uint64_t locked; /* in open admission proposals */
  uint64_t slashed;
} cairn_stake_totals;

/* ---- called by state.c / chain.c ---- */

/* Write genesis validators, stake allocations, totals and epoch 1. */
CAIRN_MUST_CHECK cairn_err cairn_staking_apply_genesis(cairn_view *v,
                                                       const cairn_genesis *g);
/* Apply a signature-checked transaction of types 16..21. Errors: the rule
 * errors listed in specs/state.md (NOT_OPERATOR, VALIDATOR_*, ...,
 * STAKE_INSUFFICIENT, OVERFLOW, the evidence.h errors), NOMEM, STORE,
 * CORRUPT. The view is unchanged on failure. */
CAIRN_MUST_CHECK cairn_err cairn_staking_apply_tx(cairn_view *v,
                                                  const cairn_exec_ctx *ctx,
                                                  const cairn_staking_params *p,
                                                  const cairn_tx *tx,
                                                  const uint8_t txid[32]);
/* Start of block ctx->height: unbonding stake due now becomes free again,
 * and proposals whose deadline was ctx->height - 1 expire (stake back). */
CAIRN_MUST_CHECK cairn_err cairn_staking_begin_block(cairn_view *v,
                                                     const cairn_exec_ctx *ctx);
/* End of block ctx->height: apply the changes effective at
 * ctx->height + 1 to the validators' power; when any applied, the epoch
 * becomes ctx->height + 1. Refuses (CORRUPT) to leave an empty set. */
CAIRN_MUST_CHECK cairn_err cairn_staking_end_block(cairn_view *v,
                                                   const cairn_exec_ctx *ctx);

/* ---- queries ---- */

/* The set in force for the next block and its epoch. */
CAIRN_MUST_CHECK cairn_err cairn_staking_valset(cairn_view *v,
                                                cairn_valset *out,
                                                uint64_t *epoch);
/* The set in force at height (>= 1) and the epoch it has been in force
 * since, from the recorded history of set changes (heights beyond the
 * next block get the set of the next block). Errors: RANGE (height 0),
 * CORRUPT, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_staking_valset_at(cairn_view *v,
                                                   uint64_t height,
                                                   cairn_valset *out,
                                                   uint64_t *epoch);
/* The chain's staking parameters (from genesis). Errors: CORRUPT, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_staking_params_read(
    cairn_view *v, cairn_staking_params *out);
/* VALIDATOR_UNKNOWN when absent. */
CAIRN_MUST_CHECK cairn_err cairn_staking_validator(
    cairn_view *v, const uint8_t pubkey[32], cairn_validator_record *out);
/* Free stake of an account (0 when absent). */
CAIRN_MUST_CHECK cairn_err cairn_staking_free(cairn_view *v,
                                              const uint8_t account[32],
                                              uint64_t *out);
/* PROPOSAL_UNKNOWN when absent. */
CAIRN_MUST_CHECK cairn_err cairn_staking_admission(cairn_view *v,
                                                   const uint8_t id[32],
                                                   cairn_admission *out);
CAIRN_MUST_CHECK cairn_err cairn_staking_totals(cairn_view *v,
                                                cairn_stake_totals *out);

/* Listing from a committed snapshot, ascending key order; fn returns
 * nonzero to stop. */
typedef int (*cairn_validator_visit_fn)(void *ctx,
                                        const cairn_validator_record *r);
CAIRN_MUST_CHECK cairn_err cairn_staking_list_validators(
    cairn_rtxn *r, cairn_validator_visit_fn fn, void *ctx);
typedef int (*cairn_change_visit_fn)(void *ctx, const cairn_valset_change *c);
/* Scheduled changes not yet in force, ascending by (effective, pubkey). */
CAIRN_MUST_CHECK cairn_err cairn_staking_list_changes(
    cairn_rtxn *r, cairn_change_visit_fn fn, void *ctx);

/* The conservation equation over a committed snapshot: CAIRN_OK, or
 * CORRUPT with a sentence naming both sides. */
CAIRN_MUST_CHECK cairn_err cairn_staking_check_conservation(cairn_rtxn *r,
                                                            char *why,
                                                            size_t why_cap);
/* The same over a view that holds the whole state (opened over an empty
 * base, as tests and replays use): only its changes are read. */
CAIRN_MUST_CHECK cairn_err cairn_staking_check_conservation_view(
    const cairn_view *v, char *why, size_t why_cap);

#endif
