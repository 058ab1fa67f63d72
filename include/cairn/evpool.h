/*
 * cairn/evpool.h - the node's pool of duplicate-vote evidence.
 *
 * Evidence (evidence.h) reaches a node in two ways: its consensus engine
 * sees a validator sign two conflicting votes (cairn_cons_io.evidence), or
 * somebody POSTs it to the API (POST /v1/evidence, specs/api.md). The node
 * keeps it here until someone turns it into an EVIDENCE transaction (for
 * example `cairn evidence submit --from-node`, which reads GET
 * /v1/evidence) and the offender is jailed.
 *
 * The pool holds at most `capacity` entries (CAIRN_EVPOOL_ENTRIES_MAX at
 * most), each evidence once (its canonical bytes are the key, and one
 * offence has exactly one encoding), and at most
 * CAIRN_EVPOOL_PER_VALIDATOR_MAX entries against any one validator: one
 * piece of evidence is enough to jail it, so a validator that equivocates
 * at every round cannot crowd out evidence against the others. Entries
 * stay in arrival order.
 *
 * The pool trusts its callers to have checked the evidence
 * (cairn_evidence_verify against the set in force at the votes' height);
 * it checks only that the evidence is in canonical form (asserted). Entries
 * leave through cairn_evpool_prune once their offender is jailed or their
 * height falls out of the admissible window (evidence_max_age_blocks of
 * the genesis staking rules), or through cairn_evpool_remove.
 *
 * Single-threaded: the node's event loop is the only caller. Pointers are
 * never NULL unless stated.
 */
#ifndef CAIRN_EVPOOL_H
#define CAIRN_EVPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/chain.h"
#include "cairn/error.h"
#include "cairn/evidence.h"
#include "cairn/view.h"

/* Entries a pool may hold: twice the largest validator set, so every
 * validator of a full set can be caught at once with room to spare;
 * 256 entries of ~600 bytes is 150 KiB, allocated once. */
#define CAIRN_EVPOOL_ENTRIES_MAX 256
/* Entries against one validator: one jails it; a few more survive the
 * first one going stale. */
#define CAIRN_EVPOOL_PER_VALIDATOR_MAX 4

typedef struct cairn_evpool cairn_evpool;

/* What cairn_evpool_add did with a well-formed evidence. */
typedef enum cairn_evpool_outcome {
  CAIRN_EVPOOL_ADDED = 0,  /* now in the pool */
  CAIRN_EVPOOL_KNOWN = 1,  /* the same bytes were already there */
  CAIRN_EVPOOL_ENOUGH = 2  /* not added: the pool already holds
                              CAIRN_EVPOOL_PER_VALIDATOR_MAX entries against
                              this validator */
} cairn_evpool_outcome;

/* Create an empty pool of capacity entries (1..CAIRN_EVPOOL_ENTRIES_MAX,
 * asserted). Out: *out, NULL on failure. Errors: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_evpool_open(cairn_evpool **out,
                                             size_t capacity);
/* Free the pool (p may be NULL). */
void cairn_evpool_close(cairn_evpool *p);

/* Add evidence e, which must be in canonical form (version 1, votes of a
 * known type at height >= 1, a.block_hash < b.block_hash: asserted) and
 * should have been verified by the caller. Out: *outcome (ADDED on
 * failure is never reported: it is only written on success).
 * Errors: LIMIT (the pool is full; nothing changed). */
CAIRN_MUST_CHECK cairn_err cairn_evpool_add(cairn_evpool *p,
                                            const cairn_evidence *e,
                                            cairn_evpool_outcome *outcome);

/* Number of entries. */
size_t cairn_evpool_count(const cairn_evpool *p);

/* The entry at index i (0 <= i < count, asserted; 0 is the oldest). Out:
 * *e the decoded evidence and *bytes its CAIRN_EVIDENCE_BYTES canonical
 * bytes (may be NULL when not wanted); both point into the pool and stay
 * valid until the next add, remove, prune or close. */
void cairn_evpool_at(const cairn_evpool *p, size_t i,
                     const cairn_evidence **e, const uint8_t **bytes);

/* Whether the pool holds exactly these canonical evidence bytes. */
bool cairn_evpool_contains(const cairn_evpool *p,
                           const uint8_t bytes[CAIRN_EVIDENCE_BYTES]);

/* Remove the entry with these bytes. Errors: NOT_FOUND. */
CAIRN_MUST_CHECK cairn_err cairn_evpool_remove(
    cairn_evpool *p, const uint8_t bytes[CAIRN_EVIDENCE_BYTES]);

/* Drop every entry that can no longer be included in block next_height:
 * its offender is jailed in v (staking.h; a validator the view does not
 * know is kept), its votes' height h is too old (h + max_age_blocks <
 * next_height; max_age_blocks 0 disables this check), or h is 0. v is
 * only read. Out: *removed, how many left (0 on failure). Errors: from
 * cairn_staking_validator other than VALIDATOR_UNKNOWN (STORE, CORRUPT);
 * on failure the pool is unchanged. */
CAIRN_MUST_CHECK cairn_err cairn_evpool_prune(cairn_evpool *p, cairn_view *v,
                                              uint64_t next_height,
                                              uint64_t max_age_blocks,
                                              size_t *removed);

/* cairn_evpool_prune against the chain's committed state after its tip:
 * next_height = tip + 1 and the genesis evidence_max_age_blocks. The node
 * calls it after every committed block. Errors: as cairn_evpool_prune,
 * NOMEM, STORE (opening the view). */
CAIRN_MUST_CHECK cairn_err cairn_evpool_prune_chain(cairn_evpool *p,
                                                    cairn_chain *c,
                                                    size_t *removed);

#endif
