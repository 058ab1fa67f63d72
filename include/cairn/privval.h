/*
 * cairn/privval.h - the validator's signer, which never signs twice.
 *
 * A validator that signs two different proposals or votes for the same
 * height, round and step breaks consensus safety and is slashed for it
 * (staking.h). The signer makes that impossible for an honest node, even
 * across crashes: it keeps the last (height, round, step) it signed, with
 * the hash it signed and the signature, in a state file, and it writes and
 * fsyncs that file (write to a temporary file, fsync, rename, fsync the
 * directory) BEFORE it hands the signature out. Asked to sign
 *   - a higher (height, round, step): signs, persists, returns;
 *   - the same (height, round, step) and the same hash: returns the stored
 *     signature (re-sending after a restart is fine);
 *   - the same with a different hash, or a lower one: refuses with
 *     DOUBLE_SIGN and changes nothing.
 * Steps order PROPOSE < PREVOTE < PRECOMMIT within a round.
 *
 * State file (CAIRN_PRIVVAL_STATE_BYTES, mode 0600):
 *   version u8 (1) | height u64 | round u32 | step u8 | signhash [32]
 *   | sig [64]
 * All zero after the version means nothing signed yet. A file that does
 * not decode stops the node (KEYFILE-like: CORRUPT) rather than being
 * silently reset, because resetting it is exactly how double signing
 * happens.
 *
 * Two nodes run with the same key each keep their own state file, so they
 * can still sign conflicting votes: the Twins tests rely on that.
 */
#ifndef CAIRN_PRIVVAL_H
#define CAIRN_PRIVVAL_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/p2p_msg.h"
#include "cairn/sig.h"

typedef enum cairn_cons_step {
  CAIRN_STEP_PROPOSE = 1,
  CAIRN_STEP_PREVOTE = 2,
  CAIRN_STEP_PRECOMMIT = 3
} cairn_cons_step;

#define CAIRN_PRIVVAL_VERSION 1
#define CAIRN_PRIVVAL_STATE_BYTES (1 + 8 + 4 + 1 + 32 + 64)
#define CAIRN_PRIVVAL_FILE_NAME "privval_state"

typedef struct cairn_privval cairn_privval;

/* Open the signer for secret key sk (copied into locked memory where the
 * OS allows) with its state at state_path; a missing file starts empty and
 * is created at the first signature. Errors: CORRUPT (the file exists but
 * does not decode; the message says to restore it, never delete it), IO,
 * NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_privval_open(
    cairn_privval **out, const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
    const char *state_path);
/* Wipe the key, free (pv may be NULL). */
void cairn_privval_close(cairn_privval *pv);

void cairn_privval_pubkey(const cairn_privval *pv,
                          uint8_t out[CAIRN_ED25519_PUBKEY_BYTES]);

/* Sign v (type, height, round, block_hash set by the caller); fills
 * v->validator and v->sig. Errors: DOUBLE_SIGN, IO (state not persisted:
 * nothing is returned). */
CAIRN_MUST_CHECK cairn_err cairn_privval_sign_vote(cairn_privval *pv,
                                                   const uint8_t *chain_id,
                                                   size_t chain_id_len,
                                                   cairn_vote *v);

/* Sign a proposal (height, round, pol_round, block set by the caller) whose
 * block hashes to block_hash; fills p->proposer and p->sig. Errors as
 * cairn_privval_sign_vote. */
CAIRN_MUST_CHECK cairn_err cairn_privval_sign_proposal(
    cairn_privval *pv, const uint8_t *chain_id, size_t chain_id_len,
    cairn_msg_proposal *p, const uint8_t block_hash[CAIRN_HASH_BYTES]);

/* The last signed (height, round, step); zeros when none. */
void cairn_privval_last(const cairn_privval *pv, uint64_t *height,
                        uint32_t *round, uint8_t *step);

#endif
