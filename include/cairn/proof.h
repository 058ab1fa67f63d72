/*
 * cairn/proof.h - transaction inclusion proofs, checkable offline.
 *
 * A proof shows that one transaction is in a block that the validators
 * finalised, to someone who holds only a trusted block hash (or, while the
 * block's validator set is still the genesis set, a trusted genesis
 * document) and no node: the transaction's bytes, its RFC 6962
 * audit path to the block header's tx_root, the header, the block's commit
 * (the precommit signatures) and the validator set those signatures are
 * counted against. specs/proof.md is the normative description: the byte
 * table, the JSON file form and the verification algorithm step by step.
 *
 * Binary form (encoding.md primitives):
 *
 *   version u8 (=1) | tx var32(1024) | position u32 | tx_count u32
 *   | path_len u8 | path_len * [32] | header var8(214) | commit var32(12334)
 *   | n_validators u16 | n * (pubkey [32] | power u64 | name var8(32))
 *
 * The JSON form (what `cairn proof` writes and people pass around) carries
 * the same fields, byte strings as lowercase hex. A proof holds raw bytes,
 * not decoded structures, so it reproduces exactly what was hashed and
 * signed; nothing derivable (txid, block hash, height) is stored, because a
 * stored copy could disagree with what the bytes say.
 *
 * Pointers are never NULL unless stated; why (a sentence for people) may be
 * NULL only when why_cap is 0.
 */
#ifndef CAIRN_PROOF_H
#define CAIRN_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/merkle.h"
#include "cairn/tx.h"

#define CAIRN_PROOF_VERSION 1

/* Each validator entry: pubkey, power, name var8. */
#define CAIRN_PROOF_VALIDATOR_BYTES_MAX (32 + 8 + 1 + CAIRN_NAME_BYTES_MAX)

/* The largest binary proof: every field at its bound. */
#define CAIRN_PROOF_BYTES_MAX                                                  \
  (1 + 4 + CAIRN_TX_BYTES_MAX + 4 + 4 + 1 +                                    \
   CAIRN_MERKLE_PATH_MAX * CAIRN_HASH_BYTES + 1 +                              \
   CAIRN_BLOCK_HEADER_BYTES_MAX + 4 + CAIRN_COMMIT_BYTES_MAX + 2 +             \
   CAIRN_VALIDATORS_MAX * CAIRN_PROOF_VALIDATOR_BYTES_MAX)

/* A JSON proof file: hex doubles the bytes; indentation, field names and
 * validator names stay well under the remaining room. */
#define CAIRN_PROOF_FILE_BYTES_MAX (256u * 1024u)

_Static_assert(CAIRN_BLOCK_HEADER_BYTES_MAX <= 255,
               "the header is var8-prefixed in a proof");
_Static_assert(CAIRN_BLOCK_TXS_MAX <= UINT32_MAX, "tx_count is a u32");
_Static_assert(CAIRN_MERKLE_PATH_MAX <= 255, "path_len is a u8");
_Static_assert(CAIRN_PROOF_FILE_BYTES_MAX >= 2 * CAIRN_PROOF_BYTES_MAX +
                                                 64u * 1024u,
               "a JSON proof of the largest binary proof must fit");

typedef struct cairn_proof {
  uint8_t version;  /* CAIRN_PROOF_VERSION */
  size_t tx_len;    /* 1..CAIRN_TX_BYTES_MAX */
  uint8_t tx[CAIRN_TX_BYTES_MAX];
  uint32_t position; /* leaf index of the transaction in its block */
  uint32_t tx_count; /* tree size: transactions in the block */
  size_t path_len;   /* 0..CAIRN_MERKLE_PATH_MAX */
  uint8_t path[CAIRN_MERKLE_PATH_MAX][CAIRN_HASH_BYTES]; /* leaf to root */
  size_t header_len; /* 1..CAIRN_BLOCK_HEADER_BYTES_MAX */
  uint8_t header[CAIRN_BLOCK_HEADER_BYTES_MAX];
  size_t commit_len; /* 1..CAIRN_COMMIT_BYTES_MAX */
  uint8_t commit[CAIRN_COMMIT_BYTES_MAX];
  cairn_valset validators; /* the set in force at the block's height */
} cairn_proof;

/* What to trust: exactly one member is non-NULL. */
typedef struct cairn_proof_anchor {
  const cairn_genesis *genesis; /* a trusted genesis document */
  const uint8_t *block_hash;    /* a trusted block hash (32 bytes) */
} cairn_proof_anchor;

/* What a verified proof establishes (zeroed on failure). */
typedef struct cairn_proof_result {
  uint8_t txid[CAIRN_HASH_BYTES];
  cairn_tx tx;                 /* decoded, signature verified */
  cairn_block_header header;   /* decoded; header.height is the block */
  uint8_t block_hash[CAIRN_HASH_BYTES];
  uint64_t signed_power;       /* stake behind the commit's signatures */
  uint64_t total_power;        /* stake of the whole validator set */
  uint16_t n_signers;
} cairn_proof_result;

/* Assemble the proof that the transaction `txid` is in `block` (canonical
 * block bytes), finalised by `commit` (canonical commit bytes), under the
 * validator set vs (which must satisfy cairn_valset_check). The txids and
 * the audit path are recomputed from the block's own transactions; nothing
 * else about the block or commit is checked here: call cairn_proof_verify.
 * Errors: the block decode errors (OVERSIZE, TRUNCATED, TRAILING, VERSION,
 * RANGE), NOT_FOUND (no such transaction in the block), OVERSIZE (commit
 * longer than CAIRN_COMMIT_BYTES_MAX), NOMEM. p is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_proof_build(
    cairn_proof *p, const uint8_t *block, size_t block_len,
    const uint8_t *commit, size_t commit_len, const cairn_valset *vs,
    const uint8_t txid[CAIRN_HASH_BYTES]);

/* The structural rules every proof must meet before it is worth verifying
 * (also applied by the decoders): version 1; tx 1..1024 bytes; 1 <=
 * tx_count <= CAIRN_BLOCK_TXS_MAX; position < tx_count; path_len <=
 * CAIRN_MERKLE_PATH_MAX; header and commit non-empty and within their
 * bounds; 1..CAIRN_VALIDATORS_MAX validators in strictly ascending pubkey
 * order, each power 1..2^60 with a total <= 2^60 and a name of 1..32
 * printable ASCII characters; the transaction, header and commit each
 * decode and re-encode to exactly their bytes. Recomputes
 * p->validators.total_power. Errors: VERSION, RANGE, OVERSIZE, NONCANONICAL,
 * NOMEM, and the tx, header and commit decode errors (tx.h, block.h), with
 * why naming the field. */
CAIRN_MUST_CHECK cairn_err cairn_proof_check(cairn_proof *p, char *why,
                                             size_t why_cap);

/* Encode the binary form. Lengths beyond the struct's arrays are caller
 * bugs (asserted); other rules are not checked, so a deliberately broken
 * proof can be encoded (tests do). CAIRN_ERR_OVERSIZE if cap is too small;
 * CAIRN_PROOF_BYTES_MAX always suffices. */
CAIRN_MUST_CHECK cairn_err cairn_proof_encode(uint8_t *buf, size_t cap,
                                              size_t *len,
                                              const cairn_proof *p);

/* Decode the binary form and apply cairn_proof_check. Errors: OVERSIZE (len
 * > CAIRN_PROOF_BYTES_MAX, or a field over its bound), TRUNCATED, TRAILING,
 * and the errors of cairn_proof_check. p is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_proof_decode(cairn_proof *p,
                                              const uint8_t *buf, size_t len,
                                              char *why, size_t why_cap);

/* The JSON form, indented, as a malloc'd NUL-terminated string (caller
 * frees). Lengths beyond the arrays are asserted. Errors: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_proof_to_json(const cairn_proof *p,
                                               char **out);

/* Parse the JSON form strictly: exactly the fields of specs/proof.md, no
 * others, no duplicates; then cairn_proof_check. Errors: JSON (syntax, a
 * missing, unknown or mistyped field), HEX (a malformed hex string),
 * OVERSIZE (a hex string longer than its field), RANGE (a number out of
 * range, too many path nodes or validators), VERSION, and the errors of
 * cairn_proof_check; why names the field. p is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_proof_from_json(cairn_proof *p,
                                                 const char *text, size_t len,
                                                 char *why, size_t why_cap);

/* Read and parse a JSON proof file. Errors also: NOT_FOUND, IO, OVERSIZE
 * (file over CAIRN_PROOF_FILE_BYTES_MAX), NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_proof_load(cairn_proof *p, const char *path,
                                            char *why, size_t why_cap);

/* Verify p against the anchor, with no network access (specs/proof.md,
 * "Verification", gives the order of the checks):
 *   structure (cairn_proof_check); tx_count equals the header's
 *   (BAD_PROOF); the audit path leads from the txid at position to the
 *   header's tx_root (BAD_PROOF); the transaction's chain id is the
 *   header's (CHAIN_ID); its signature verifies (BAD_SIG, BAD_KEY); the
 *   validator set hashes to the header's validators_hash (BAD_VALSET); the
 *   commit is for this height and block hash and carries valid precommits
 *   from more than 2/3 of the set's power (BAD_COMMIT); then the anchor:
 *   - genesis: the header's chain id is the genesis's (GENESIS_MISMATCH),
 *     the validator set equals the genesis's member by member (BAD_VALSET;
 *     for a block after a set change, whose set a genesis cannot vouch
 *     for, why says "the block's validator set differs from genesis" and
 *     to verify against a trusted block hash instead), and a block at
 *     height 1 links to the genesis hash (GENESIS_MISMATCH);
 *   - block hash: the block's hash equals it (BAD_PROOF).
 * On success *out describes what was proven. On failure why names what
 * mismatched with both values; *out is zeroed. Errors also: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_proof_verify(cairn_proof_result *out,
                                              const cairn_proof *p,
                                              const cairn_proof_anchor *anchor,
                                              char *why, size_t why_cap);

#endif
