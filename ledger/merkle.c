/*
 * merkle.c - the RFC 6962 Merkle tree over a block's transaction ids.
 *
 * RFC 6962 defines the tree top-down: split n leaves at the largest power
 * of two below n and hash the two halves' roots. The same tree comes out
 * bottom-up: pair neighbours level by level and carry an odd last node up
 * unchanged. (The left part of every split is a perfect tree, so all the
 * unpaired nodes sit on the right edge, which is exactly where the
 * bottom-up walk carries them.) The bottom-up form needs no recursion, is
 * O(n) hashes in one scratch array of leaf hashes, and gives the audit
 * path for free: at each level the sibling of the tracked node, if it has
 * one, is the next path element, leaf to root, as RFC 6962 section 2.1.1
 * lists it.
 *
 * Leaves are hashed with a 0x00 prefix and interior nodes with 0x01, so a
 * leaf can never be passed off as an interior node (the second-preimage
 * attack on plain Merkle trees). These are plain SHA-256, not Cairn's
 * tagged hashes, so that any RFC 6962 / RFC 9162 verifier can check a
 * Cairn inclusion proof.
 *
 * Verification is the algorithm of RFC 9162 section 2.1.3.2, which uses
 * only the index and tree size to decide, at each step, whether the path
 * element is a left or right sibling; it rejects paths that are too long
 * or too short for the tree.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/merkle.h"

/* Levels in a tree of at most SIZE_MAX leaves: a bound for the loops. */
#define CAIRN_MERKLE_LEVELS_MAX (sizeof(size_t) * 8)

static void merkle_leaf_hash(uint8_t out[CAIRN_HASH_BYTES],
                             const uint8_t txid[CAIRN_HASH_BYTES]) {
  static const uint8_t prefix = 0x00;
  cairn_sha256 h;
  cairn_sha256_init(&h);
  cairn_sha256_update(&h, &prefix, 1);
  cairn_sha256_update(&h, txid, CAIRN_HASH_BYTES);
  cairn_sha256_final(&h, out);
}

/* out may alias left or right. */
static void merkle_node_hash(uint8_t out[CAIRN_HASH_BYTES],
                             const uint8_t left[CAIRN_HASH_BYTES],
                             const uint8_t right[CAIRN_HASH_BYTES]) {
  static const uint8_t prefix = 0x01;
  cairn_sha256 h;
  cairn_sha256_init(&h);
  cairn_sha256_update(&h, &prefix, 1);
  cairn_sha256_update(&h, left, CAIRN_HASH_BYTES);
  cairn_sha256_update(&h, right, CAIRN_HASH_BYTES);
  cairn_sha256_final(&h, out);
}

/* Reduce n >= 1 node hashes in place to the root in level[0]. If path is
 * not NULL, append the sibling of node `index` at each level to it. */
static void merkle_reduce(uint8_t (*level)[CAIRN_HASH_BYTES], size_t n,
                          size_t index,
                          uint8_t path[CAIRN_MERKLE_PATH_MAX][CAIRN_HASH_BYTES],
                          size_t *path_len) {
  assert(n >= 1 && index < n);
  size_t width = n;
  for (size_t depth = 0; width > 1; depth++) {
    assert(depth < CAIRN_MERKLE_LEVELS_MAX);
    size_t sibling = index ^ 1u;
    if (path != NULL && sibling < width) {
      assert(*path_len < CAIRN_MERKLE_PATH_MAX);
      memcpy(path[(*path_len)++], level[sibling], CAIRN_HASH_BYTES);
    }
    /* Parent i/2 is written after children i and i+1 are read, and i/2 <= i,
     * so the pass can overwrite the array from the front. */
    for (size_t i = 0; i + 1 < width; i += 2) {
      merkle_node_hash(level[i / 2], level[i], level[i + 1]);
    }
    if (width % 2 == 1) {
      memmove(level[width / 2], level[width - 1], CAIRN_HASH_BYTES);
    }
    width = (width + 1) / 2;
    index /= 2;
  }
}

/* A scratch array of the n leaf hashes, or NULL (out of memory). */
static uint8_t (*merkle_leaf_level(const uint8_t (*leaves)[CAIRN_HASH_BYTES],
                                   size_t n))[CAIRN_HASH_BYTES] {
  assert(n >= 1 && leaves != NULL);
  if (n > SIZE_MAX / CAIRN_HASH_BYTES) return NULL;
  uint8_t(*level)[CAIRN_HASH_BYTES] = malloc(n * CAIRN_HASH_BYTES);
  if (level == NULL) return NULL;
  for (size_t i = 0; i < n; i++) merkle_leaf_hash(level[i], leaves[i]);
  return level;
}

cairn_err cairn_merkle_root(uint8_t root[CAIRN_HASH_BYTES],
                            const uint8_t (*leaves)[CAIRN_HASH_BYTES],
                            size_t n) {
  assert(root != NULL && (leaves != NULL || n == 0));
  if (n == 0) {
    cairn_sha256_hash(root, NULL, 0);
    return CAIRN_OK;
  }
  uint8_t(*level)[CAIRN_HASH_BYTES] = merkle_leaf_level(leaves, n);
  if (level == NULL) {
    memset(root, 0, CAIRN_HASH_BYTES);
    return CAIRN_ERR_NOMEM;
  }
  merkle_reduce(level, n, 0, NULL, NULL);
  memcpy(root, level[0], CAIRN_HASH_BYTES);
  free(level);
  return CAIRN_OK;
}

cairn_err cairn_merkle_proof(
    uint8_t path[CAIRN_MERKLE_PATH_MAX][CAIRN_HASH_BYTES], size_t *path_len,
    const uint8_t (*leaves)[CAIRN_HASH_BYTES], size_t n, size_t index) {
  assert(path != NULL && path_len != NULL && (leaves != NULL || n == 0));
  memset(path, 0, CAIRN_MERKLE_PATH_MAX * CAIRN_HASH_BYTES);
  *path_len = 0;
  if (index >= n) return CAIRN_ERR_RANGE;
  /* Paths of more than 32 nodes do not fit the caller's array. */
  if ((uint64_t)n > ((uint64_t)1 << CAIRN_MERKLE_PATH_MAX)) {
    return CAIRN_ERR_LIMIT;
  }
  uint8_t(*level)[CAIRN_HASH_BYTES] = merkle_leaf_level(leaves, n);
  if (level == NULL) return CAIRN_ERR_NOMEM;
  merkle_reduce(level, n, index, path, path_len);
  free(level);
  return CAIRN_OK;
}

cairn_err cairn_merkle_verify(const uint8_t root[CAIRN_HASH_BYTES],
                              const uint8_t leaf[CAIRN_HASH_BYTES],
                              size_t index, size_t n,
                              const uint8_t path[][CAIRN_HASH_BYTES],
                              size_t path_len) {
  uint8_t r[CAIRN_HASH_BYTES];
  assert(root != NULL && leaf != NULL && (path != NULL || path_len == 0));
  if (index >= n || path_len > CAIRN_MERKLE_PATH_MAX) {
    return CAIRN_ERR_BAD_PROOF;
  }
  size_t fn = index, sn = n - 1;
  merkle_leaf_hash(r, leaf);
  for (size_t i = 0; i < path_len; i++) {
    if (sn == 0) return CAIRN_ERR_BAD_PROOF; /* path longer than the tree */
    if ((fn & 1u) == 1u || fn == sn) {
      merkle_node_hash(r, path[i], r);
      /* A right-edge node with no sibling is carried up: skip the levels
       * where it is the last, unpaired node. */
      while ((fn & 1u) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      merkle_node_hash(r, r, path[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || memcmp(r, root, CAIRN_HASH_BYTES) != 0) {
    return CAIRN_ERR_BAD_PROOF;
  }
  return CAIRN_OK;
}
