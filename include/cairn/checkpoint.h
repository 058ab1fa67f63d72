/*
 * cairn/checkpoint.h - an auditor's trusted checkpoint, plain and signed.
 *
 * A continuous audit remembers how far it has verified a chain: the height,
 * the hash of the block at that height, and the state hash after it. The
 * next run starts from there and first checks that the node's history still
 * passes through that block; if it does not, history was rewritten. The
 * checkpoint lives in a small JSON file of the auditor's own, replaced
 * atomically and only after the block it names has been verified:
 *
 *   {"version": 1, "chain_id": "cairn-demo", "genesis_hash": "<hex>",
 *    "height": 1200, "block_hash": "<hex>", "state_hash": "<hex>"}
 *
 * state_hash is S(height), the state hash after the block (the one block
 * height + 1 carries in its header). At height 0 block_hash is the genesis
 * hash.
 *
 * Auditors compare notes by exporting a checkpoint signed with an auditor
 * key (a member key, BIP-340). The signature covers
 *
 *   tagged_hash("cairn/checkpoint", chain_id var8 | genesis_hash [32]
 *                                   | height u64 | block_hash [32]
 *                                   | state_hash [32])
 *
 * and the export adds "auditor" (the signer's address) and "signature"
 * (hex) to the object above. Parsing is strict: unknown or missing keys,
 * another version, bad hex and malformed values are refused.
 */
#ifndef CAIRN_CHECKPOINT_H
#define CAIRN_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/sig.h"

#define CAIRN_CHECKPOINT_VERSION 1
/* A checkpoint file is a few hundred bytes; anything far larger is not
 * one. */
#define CAIRN_CHECKPOINT_FILE_BYTES_MAX 4096u
/* The canonical bytes that are signed. */
#define CAIRN_CHECKPOINT_BYTES_MAX                                             \
  (1 + CAIRN_CHAIN_ID_BYTES_MAX + 32 + 8 + 32 + 32)

typedef struct cairn_checkpoint {
  uint8_t chain_id_len;
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1]; /* NUL-terminated */
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  uint64_t height;
  uint8_t block_hash[CAIRN_HASH_BYTES];
  uint8_t state_hash[CAIRN_HASH_BYTES]; /* S(height) */
} cairn_checkpoint;

typedef struct cairn_checkpoint_signed {
  cairn_checkpoint cp;
  uint8_t auditor[CAIRN_PUBKEY_BYTES]; /* x-only key of the signer */
  uint8_t sig[CAIRN_SIG_BYTES];
} cairn_checkpoint_signed;

/* The canonical bytes above into buf (cap >= CAIRN_CHECKPOINT_BYTES_MAX is
 * always enough). Errors: OVERSIZE (cap too small). */
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_encode(uint8_t *buf, size_t cap,
                                                   size_t *len,
                                                   const cairn_checkpoint *cp);
/* tagged_hash("cairn/checkpoint", canonical bytes). */
void cairn_checkpoint_signhash(uint8_t out[CAIRN_HASH_BYTES],
                               const cairn_checkpoint *cp);

/* Sign cp with the auditor's secret key. Errors: BAD_KEY. out is zeroed on
 * failure. */
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_sign(
    cairn_checkpoint_signed *out, const cairn_checkpoint *cp,
    const uint8_t sk[CAIRN_SECKEY_BYTES]);
/* Errors: BAD_SIG (the signature does not verify for these fields and this
 * auditor), BAD_KEY (the auditor key is not a valid x-only key). */
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_verify(
    const cairn_checkpoint_signed *s);

/* JSON text of a checkpoint (signed: with "auditor" and "signature"),
 * malloc'd and NUL-terminated; the caller frees it. Errors: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_to_json(const cairn_checkpoint *cp,
                                                    char **out);
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_signed_to_json(
    const cairn_checkpoint_signed *s, char **out);

/* Parse JSON text. Errors (why names the field): JSON (not a JSON object),
 * VERSION, RANGE (a missing, unknown or malformed field). The signed form
 * does not verify the signature. *out is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_from_json(cairn_checkpoint *out,
                                                      const char *text,
                                                      size_t len, char *why,
                                                      size_t why_cap);
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_signed_from_json(
    cairn_checkpoint_signed *out, const char *text, size_t len, char *why,
    size_t why_cap);

/* Read and parse a checkpoint file (plain or signed). Errors: NOT_FOUND
 * (no such file), IO, OVERSIZE, and the parse errors. */
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_load(const char *path,
                                                 cairn_checkpoint *out,
                                                 char *why, size_t why_cap);
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_signed_load(
    const char *path, cairn_checkpoint_signed *out, char *why,
    size_t why_cap);

/* Write a checkpoint file atomically (mode 0644: a checkpoint is no
 * secret), replacing any previous one. Errors: IO, NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_save(const char *path,
                                                 const cairn_checkpoint *cp);
CAIRN_MUST_CHECK cairn_err cairn_checkpoint_signed_save(
    const char *path, const cairn_checkpoint_signed *s);

#endif
