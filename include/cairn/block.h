/*
 * cairn/block.h - block headers, blocks, votes, commits and validator sets.
 *
 * Header (specs/encoding.md has the byte table):
 *     version u8 | chain_id var8 | height u64 | time_ms u64 | prev_hash [32]
 *     | tx_root [32] | state_hash [32] | proposer [32] | validators_hash [32]
 *     | tx_count u32
 * Block hash = tagged_hash("cairn/block", header bytes). The header commits
 * to the transactions through tx_root (RFC 6962 over their ids).
 * Block = header | tx_count times (var32 tx bytes).
 *
 * state_hash is the application state hash after the previous block (after
 * genesis for height 1), as in Tendermint: see state.h for its definition.
 *
 * A vote is signed with the validator's Ed25519 key over
 *     tagged_hash("cairn/vote", chain_id var8 | type u8 | height u64
 *                               | round u32 | block_hash [32])
 * (block_hash all-zero means nil). A commit is the set of precommits for
 * one block: height | round | block_hash | u16 count | count * (validator
 * [32] | sig [64]), validators in strictly ascending byte order.
 */
#ifndef CAIRN_BLOCK_H
#define CAIRN_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/sig.h"

#define CAIRN_BLOCK_VERSION 1
#define CAIRN_BLOCK_HEADER_BYTES_MAX (1 + 1 + CAIRN_CHAIN_ID_BYTES_MAX + 8 + 8 + 5 * 32 + 4)

typedef struct cairn_block_header {
  uint8_t version;
  uint8_t chain_id_len;
  uint8_t chain_id[CAIRN_CHAIN_ID_BYTES_MAX];
  uint64_t height; /* first block is 1 */
  uint64_t time_ms; /* Unix time in milliseconds, strictly increasing */
  uint8_t prev_hash[CAIRN_HASH_BYTES];  /* genesis hash for height 1 */
  uint8_t tx_root[CAIRN_HASH_BYTES];
  uint8_t state_hash[CAIRN_HASH_BYTES];
  uint8_t proposer[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t validators_hash[CAIRN_HASH_BYTES];
  uint32_t tx_count;
} cairn_block_header;

/* A byte range inside a caller-owned buffer. */
typedef struct cairn_slice {
  const uint8_t *p;
  size_t len;
} cairn_slice;

CAIRN_MUST_CHECK cairn_err cairn_block_header_encode(
    uint8_t *buf, size_t cap, size_t *len, const cairn_block_header *h);
/* Errors: TRUNCATED, TRAILING, VERSION, RANGE (chain id, tx_count >
 * CAIRN_BLOCK_TXS_MAX, height 0). */
CAIRN_MUST_CHECK cairn_err cairn_block_header_decode(cairn_block_header *h,
                                                     const uint8_t *buf,
                                                     size_t len);
CAIRN_MUST_CHECK cairn_err cairn_block_hash(uint8_t out[CAIRN_HASH_BYTES],
                                            const cairn_block_header *h);

/* Encode header and h->tx_count transactions. */
CAIRN_MUST_CHECK cairn_err cairn_block_encode(uint8_t *buf, size_t cap,
                                              size_t *len,
                                              const cairn_block_header *h,
                                              const cairn_slice *txs);
/* Decode a block; txs[i] point into buf. txs_cap must be >= the block's
 * tx_count (use CAIRN_BLOCK_TXS_MAX). Errors: OVERSIZE (len >
 * CAIRN_BLOCK_BYTES_MAX or a tx > CAIRN_TX_BYTES_MAX), header errors,
 * TRUNCATED, TRAILING. Transactions themselves are not decoded. */
CAIRN_MUST_CHECK cairn_err cairn_block_decode(cairn_block_header *h,
                                              cairn_slice *txs, size_t txs_cap,
                                              const uint8_t *buf, size_t len);

/* ---- validator sets ---- */

typedef struct cairn_validator {
  uint8_t pubkey[CAIRN_ED25519_PUBKEY_BYTES];
  uint64_t power; /* stake, >= 1 */
  /* The BIP-340 key of the account that operates the validator (bonds,
   * unbonds, approves admissions); all zero: none. Not part of the
   * validator-set hash. */
  uint8_t operator_key[CAIRN_PUBKEY_BYTES];
  uint8_t name_len;
  char name[CAIRN_NAME_BYTES_MAX + 1]; /* NUL-terminated */
} cairn_validator;

typedef struct cairn_valset {
  uint32_t n;
  uint64_t total_power;
  cairn_validator v[CAIRN_VALIDATORS_MAX]; /* ascending pubkey order */
} cairn_valset;

/* tagged_hash("cairn/validators", u16 n | n * (pubkey [32] | power u64)). */
void cairn_valset_hash(uint8_t out[CAIRN_HASH_BYTES], const cairn_valset *vs);
/* Index of pubkey in vs, or -1. */
int cairn_valset_find(const cairn_valset *vs,
                      const uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]);
/* Checks ascending unique keys, power >= 1, total <= limit; recomputes
 * total_power. CAIRN_ERR_NONCANONICAL / RANGE. */
CAIRN_MUST_CHECK cairn_err cairn_valset_check(cairn_valset *vs);

/* ---- votes and commits ---- */

typedef enum cairn_vote_type {
  CAIRN_VOTE_PREVOTE = 1,
  CAIRN_VOTE_PRECOMMIT = 2
} cairn_vote_type;

typedef struct cairn_vote {
  uint8_t type;
  uint64_t height;
  uint32_t round;
  uint8_t block_hash[CAIRN_HASH_BYTES]; /* all zero: nil */
  uint8_t validator[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t sig[CAIRN_ED25519_SIG_BYTES];
} cairn_vote;

#define CAIRN_VOTE_BYTES (1 + 8 + 4 + 32 + 32 + 64)

/* Vote wire form: type | height | round | block_hash | validator | sig. */
CAIRN_MUST_CHECK cairn_err cairn_vote_encode(uint8_t *buf, size_t cap,
                                             size_t *len, const cairn_vote *v);
/* Errors: TRUNCATED, TRAILING, BAD_TYPE (not 1 or 2), RANGE (height 0). */
CAIRN_MUST_CHECK cairn_err cairn_vote_decode(cairn_vote *v, const uint8_t *buf,
                                             size_t len);
void cairn_vote_signhash(uint8_t out[CAIRN_HASH_BYTES], const uint8_t *chain_id,
                         size_t chain_id_len, uint8_t type, uint64_t height,
                         uint32_t round, const uint8_t block_hash[32]);
/* Signs v's (type, height, round, block_hash) and sets v->validator to the
 * public half of sk. */
CAIRN_MUST_CHECK cairn_err cairn_vote_sign(
    cairn_vote *v, const uint8_t *chain_id, size_t chain_id_len,
    const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]);
CAIRN_MUST_CHECK cairn_err cairn_vote_verify(const cairn_vote *v,
                                             const uint8_t *chain_id,
                                             size_t chain_id_len);

typedef struct cairn_commit_sig {
  uint8_t validator[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t sig[CAIRN_ED25519_SIG_BYTES];
} cairn_commit_sig;

typedef struct cairn_commit {
  uint64_t height;
  uint32_t round;
  uint8_t block_hash[CAIRN_HASH_BYTES];
  uint16_t n_sigs;
  cairn_commit_sig sigs[CAIRN_VALIDATORS_MAX]; /* ascending validator order */
} cairn_commit;

#define CAIRN_COMMIT_BYTES_MAX (8 + 4 + 32 + 2 + CAIRN_VALIDATORS_MAX * 96)

CAIRN_MUST_CHECK cairn_err cairn_commit_encode(uint8_t *buf, size_t cap,
                                               size_t *len,
                                               const cairn_commit *c);
/* Errors: TRUNCATED, TRAILING, RANGE (count 0 or > max), NONCANONICAL
 * (validators not strictly ascending). */
CAIRN_MUST_CHECK cairn_err cairn_commit_decode(cairn_commit *c,
                                               const uint8_t *buf, size_t len);
/* Insert a precommit signature keeping the canonical order; replaces nothing
 * (CAIRN_ERR_EXISTS for a duplicate validator). */
CAIRN_MUST_CHECK cairn_err cairn_commit_add(cairn_commit *c,
                                            const uint8_t validator[32],
                                            const uint8_t sig[64]);
/* Check that the commit is for (height, block_hash), that every signature is
 * a valid precommit by a member of vs, and that the signers hold more than
 * 2/3 of vs->total_power. CAIRN_ERR_BAD_COMMIT otherwise. */
CAIRN_MUST_CHECK cairn_err cairn_commit_verify(
    const cairn_commit *c, const uint8_t *chain_id, size_t chain_id_len,
    uint64_t height, const uint8_t block_hash[CAIRN_HASH_BYTES],
    const cairn_valset *vs);

#endif
