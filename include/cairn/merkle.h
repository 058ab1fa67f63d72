/*
 * cairn/merkle.h - RFC 6962 Merkle tree hash over a block's transactions.
 *
 * The leaves are the 32-byte transaction ids in block order. As in RFC 6962
 * (section 2.1): MTH({}) = SHA256(""), leaf hash = SHA256(0x00 || txid),
 * node hash = SHA256(0x01 || left || right), splitting n leaves at the
 * largest power of two smaller than n. Inclusion proofs are the RFC's audit
 * paths, verified with the algorithm of RFC 9162 section 2.1.3.2.
 */
#ifndef CAIRN_MERKLE_H
#define CAIRN_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"

/* A tree of up to 2^32 leaves has paths of at most 32 nodes. */
#define CAIRN_MERKLE_PATH_MAX 32

/* Root of n leaves (n may be 0). Returns CAIRN_ERR_NOMEM if scratch space
 * cannot be allocated. */
CAIRN_MUST_CHECK cairn_err cairn_merkle_root(
    uint8_t root[CAIRN_HASH_BYTES], const uint8_t (*leaves)[CAIRN_HASH_BYTES],
    size_t n);

/* Audit path for leaf `index` of n leaves, leaf-to-root order.
 * CAIRN_ERR_RANGE if index >= n; CAIRN_ERR_NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_merkle_proof(
    uint8_t path[CAIRN_MERKLE_PATH_MAX][CAIRN_HASH_BYTES], size_t *path_len,
    const uint8_t (*leaves)[CAIRN_HASH_BYTES], size_t n, size_t index);

/* Verify that `leaf` (a txid) is at `index` of a tree of n leaves with the
 * given root. CAIRN_OK or CAIRN_ERR_BAD_PROOF. */
CAIRN_MUST_CHECK cairn_err cairn_merkle_verify(
    const uint8_t root[CAIRN_HASH_BYTES], const uint8_t leaf[CAIRN_HASH_BYTES],
    size_t index, size_t n,
    const uint8_t path[][CAIRN_HASH_BYTES], size_t path_len);

#endif
