/*
 * cairn/p2p_msg.h - the messages validators exchange over peer links.
 *
 * Every message travels in one encrypted frame (p2p.h) and is
 *     type u8 | body
 * with the body by type (specs/p2p.md has the byte tables):
 *
 *   STATUS     height u64 | tip_hash [32] | cons_height u64 | cons_round u32
 *              the sender's committed tip and the height/round it is
 *              working on; sent on connect and every few seconds.
 *   TX         tx var32(CAIRN_TX_BYTES_MAX): a transaction for the mempool.
 *   PROPOSAL   height u64 | round u32 | pol_round u32 (0xFFFFFFFF: none)
 *              | block var32(CAIRN_BLOCK_BYTES_MAX) | proposer [32]
 *              | sig [64]
 *              sig is the proposer's Ed25519 signature over
 *              tagged_hash("cairn/proposal", chain_id var8 | height u64
 *                          | round u32 | pol_round u32 | block_hash [32]).
 *   VOTE       a vote in its block.h wire form (CAIRN_VOTE_BYTES).
 *   GET_BLOCK  height u64: ask for one committed block.
 *   BLOCK      height u64 | block var32(CAIRN_BLOCK_BYTES_MAX)
 *              | commit var16(CAIRN_COMMIT_BYTES_MAX): a committed block.
 *   NO_BLOCK   height u64: the sender does not have that block.
 *
 * Decoding is strict like every Cairn decoder: unknown type, a length
 * over its bound, missing or trailing bytes are errors, so each message
 * has exactly one encoding. Decoded byte strings (tx, block, commit)
 * point into the input buffer. Pointers are never NULL.
 */
#ifndef CAIRN_P2P_MSG_H
#define CAIRN_P2P_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/limits.h"

typedef enum cairn_p2p_msg_type {
  CAIRN_MSG_STATUS = 1,
  CAIRN_MSG_TX = 2,
  CAIRN_MSG_PROPOSAL = 3,
  CAIRN_MSG_VOTE = 4,
  CAIRN_MSG_GET_BLOCK = 5,
  CAIRN_MSG_BLOCK = 6,
  CAIRN_MSG_NO_BLOCK = 7
} cairn_p2p_msg_type;
#define CAIRN_MSG_TYPE_MIN 1
#define CAIRN_MSG_TYPE_MAX 7

/* The tag of the proposal sign hash (hash.h). */
#define CAIRN_TAG_PROPOSAL "cairn/proposal"

/* pol_round value meaning "no proof-of-lock round" (Tendermint's -1). */
#define CAIRN_POL_ROUND_NONE 0xFFFFFFFFu

typedef struct cairn_msg_status {
  uint64_t height; /* committed tip */
  uint8_t tip_hash[CAIRN_HASH_BYTES];
  uint64_t cons_height;
  uint32_t cons_round;
} cairn_msg_status;

typedef struct cairn_msg_proposal {
  uint64_t height;
  uint32_t round;
  uint32_t pol_round; /* < round, or CAIRN_POL_ROUND_NONE */
  const uint8_t *block;
  size_t block_len; /* 1..CAIRN_BLOCK_BYTES_MAX */
  uint8_t proposer[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t sig[CAIRN_ED25519_SIG_BYTES];
} cairn_msg_proposal;

typedef struct cairn_msg_block {
  uint64_t height;
  const uint8_t *block;
  size_t block_len;
  const uint8_t *commit;
  size_t commit_len;
} cairn_msg_block;

typedef struct cairn_p2p_msg {
  uint8_t type; /* cairn_p2p_msg_type */
  union {
    cairn_msg_status status;
    struct {
      const uint8_t *p;
      size_t len;
    } tx;
    cairn_msg_proposal proposal;
    cairn_vote vote;
    uint64_t height; /* GET_BLOCK, NO_BLOCK */
    cairn_msg_block block;
  } u;
} cairn_p2p_msg;

/* The largest message: a BLOCK with a full block and commit. */
#define CAIRN_P2P_MSG_BYTES_MAX                                                \
  (1 + 8 + 4 + CAIRN_BLOCK_BYTES_MAX + 2 + CAIRN_COMMIT_BYTES_MAX)

/* Encode m (fields within their bounds: asserted). Errors: OVERSIZE (cap
 * too small). */
CAIRN_MUST_CHECK cairn_err cairn_p2p_msg_encode(uint8_t *buf, size_t cap,
                                                size_t *len,
                                                const cairn_p2p_msg *m);
/* The encoded size of m. */
size_t cairn_p2p_msg_size(const cairn_p2p_msg *m);

/* Decode exactly one message. Out: m, zeroed on failure; its byte strings
 * point into buf. Errors: TRUNCATED, TRAILING, BAD_TYPE (unknown type or
 * vote type), OVERSIZE (a length over its bound), RANGE (height 0, a
 * pol_round not below round, empty block or tx), the vote decoder's. */
CAIRN_MUST_CHECK cairn_err cairn_p2p_msg_decode(cairn_p2p_msg *m,
                                                const uint8_t *buf,
                                                size_t len);

/* The hash a proposer signs (see above). */
void cairn_proposal_signhash(uint8_t out[CAIRN_HASH_BYTES],
                             const uint8_t *chain_id, size_t chain_id_len,
                             uint64_t height, uint32_t round,
                             uint32_t pol_round,
                             const uint8_t block_hash[CAIRN_HASH_BYTES]);

/* Check p->sig by p->proposer over (chain id, p's fields, block_hash). The
 * caller computes block_hash from the block's header. Errors: BAD_SIG. */
CAIRN_MUST_CHECK cairn_err cairn_proposal_verify(
    const cairn_msg_proposal *p, const uint8_t *chain_id, size_t chain_id_len,
    const uint8_t block_hash[CAIRN_HASH_BYTES]);

#endif
