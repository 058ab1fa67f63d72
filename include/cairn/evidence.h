/*
 * cairn/evidence.h - duplicate-vote evidence: proof that a validator signed
 * two conflicting votes at the same height, round and type.
 *
 * Wire form (specs/consensus.md §4), CAIRN_EVIDENCE_BYTES long:
 *     version u8 | vote_a [CAIRN_VOTE_BYTES] | vote_b [CAIRN_VOTE_BYTES]
 * each vote in its block.h wire form, ordered so that vote_a.block_hash <
 * vote_b.block_hash (bytewise; nil, all zero, sorts first). The order makes
 * the encoding of one equivocation unique, so the same offence cannot be
 * submitted twice under different bytes.
 *
 * Anyone may submit evidence; what a chain does with it (slashing) is to
 * come. Pointers are never NULL.
 */
#ifndef CAIRN_EVIDENCE_H
#define CAIRN_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"

#define CAIRN_EVIDENCE_VERSION 1
#define CAIRN_EVIDENCE_BYTES (1 + 2 * CAIRN_VOTE_BYTES)

typedef struct cairn_evidence {
  uint8_t version;
  cairn_vote a; /* a.block_hash < b.block_hash */
  cairn_vote b;
} cairn_evidence;

/* Evidence from two votes in either order (e.g. the conflict pair of
 * cairn_voteset_add). Out: e, canonical order, zeroed on failure.
 * Errors: EVIDENCE_SAME_BLOCK (equal block hashes). Nothing else is checked
 * here: use cairn_evidence_verify. */
CAIRN_MUST_CHECK cairn_err cairn_evidence_from_votes(cairn_evidence *e,
                                                     const cairn_vote *x,
                                                     const cairn_vote *y);

/* Encode e (version 1, canonical order, valid vote types and heights:
 * asserted). Out: len = CAIRN_EVIDENCE_BYTES. Errors: TRUNCATED (cap). */
CAIRN_MUST_CHECK cairn_err cairn_evidence_encode(uint8_t *buf, size_t cap,
                                                 size_t *len,
                                                 const cairn_evidence *e);

/* Decode exactly one evidence. Out: e, zeroed on failure. Errors:
 * TRUNCATED, TRAILING, VERSION, the vote decoder's BAD_TYPE and RANGE,
 * NONCANONICAL (a.block_hash not strictly below b.block_hash). */
CAIRN_MUST_CHECK cairn_err cairn_evidence_decode(cairn_evidence *e,
                                                 const uint8_t *buf,
                                                 size_t len);

/* Check that e proves an equivocation on chain_id by a member of vs.
 * Errors, in the order checked: VERSION; BAD_TYPE or RANGE (a vote with an
 * unknown type or height 0); EVIDENCE_VALIDATORS (different signers);
 * EVIDENCE_MISMATCH (different height, round or type); EVIDENCE_SAME_BLOCK
 * (equal block hashes); NONCANONICAL (hashes in descending order);
 * NOT_VALIDATOR (signer not in vs); BAD_SIG (either signature). */
CAIRN_MUST_CHECK cairn_err cairn_evidence_verify(const cairn_evidence *e,
                                                 const uint8_t *chain_id,
                                                 size_t chain_id_len,
                                                 const cairn_valset *vs);

#endif
