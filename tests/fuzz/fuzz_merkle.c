/*
 * tests/fuzz/fuzz_merkle.c - RFC 6962 inclusion proofs (the audit paths a
 * light client or auditor receives).
 *
 * Input, read in two ways.
 *   1. As a proof from outside: root [32] | leaf [32] | index u16 | n u16 |
 *      then whole 32-byte path nodes. cairn_merkle_verify must answer OK or
 *      BAD_PROOF without reading past the path it was given.
 *   2. As a tree to build: the first two bytes choose n (1..64 leaves,
 *      derived from the input) and index; the proof the library makes for
 *      that leaf must verify, and flipping the bit chosen by the next two
 *      bytes in the leaf, root or any path node must make it fail.
 */
#include "fuzz.h"

#include "cairn/encoding.h"
#include "cairn/hash.h"
#include "cairn/merkle.h"

#define FUZZ_MERKLE_LEAVES_MAX 64u

static void fuzz_merkle_outside(const uint8_t *data, size_t size) {
  if (size < 68) return;
  size_t index = ((size_t)data[64] << 8) | data[65];
  size_t n = ((size_t)data[66] << 8) | data[67];
  size_t path_len = (size - 68) / CAIRN_HASH_BYTES;
  if (path_len > CAIRN_MERKLE_PATH_MAX) path_len = CAIRN_MERKLE_PATH_MAX;
  /* An exact-size copy, so a read past the given path is caught. */
  uint8_t(*path)[CAIRN_HASH_BYTES] = malloc(path_len * CAIRN_HASH_BYTES + 1);
  FUZZ_CHECK(path != NULL);
  if (path_len > 0) memcpy(path, data + 68, path_len * CAIRN_HASH_BYTES);
  cairn_err err = cairn_merkle_verify(data, data + 32, index, n,
                                      (const uint8_t(*)[CAIRN_HASH_BYTES])path,
                                      path_len);
  FUZZ_CHECK(err == CAIRN_OK || err == CAIRN_ERR_BAD_PROOF);
  free(path);
}

static void fuzz_merkle_built(const uint8_t *data, size_t size) {
  static uint8_t leaves[FUZZ_MERKLE_LEAVES_MAX][CAIRN_HASH_BYTES];
  uint8_t path[CAIRN_MERKLE_PATH_MAX][CAIRN_HASH_BYTES];
  uint8_t root[CAIRN_HASH_BYTES], leaf[CAIRN_HASH_BYTES];
  size_t path_len = 0;
  if (size < 4) return;
  size_t n = 1 + data[0] % FUZZ_MERKLE_LEAVES_MAX;
  size_t index = data[1] % n;
  for (size_t i = 0; i < n; i++) {
    uint8_t seed[8];
    cairn_be64_write(seed, i);
    cairn_tagged_hash(leaves[i], "fuzz/leaf", seed, sizeof seed);
    if (size > 4 + i) leaves[i][0] ^= data[4 + i];
  }
  const uint8_t(*cl)[CAIRN_HASH_BYTES] =
      (const uint8_t(*)[CAIRN_HASH_BYTES])leaves;
  FUZZ_CHECK(cairn_merkle_root(root, cl, n) == CAIRN_OK);
  FUZZ_CHECK(cairn_merkle_proof(path, &path_len, cl, n, index) == CAIRN_OK);
  FUZZ_CHECK(path_len <= CAIRN_MERKLE_PATH_MAX);
  const uint8_t(*cp)[CAIRN_HASH_BYTES] = (const uint8_t(*)[CAIRN_HASH_BYTES])path;
  FUZZ_CHECK(cairn_merkle_verify(root, leaves[index], index, n, cp,
                                 path_len) == CAIRN_OK);
  /* Flip one bit of one of: leaf, root, a path node. */
  size_t which = data[2] % (2 + path_len);
  uint8_t bit = (uint8_t)(1u << (data[3] & 7));
  size_t byte = (data[3] >> 3) % CAIRN_HASH_BYTES;
  memcpy(leaf, leaves[index], sizeof leaf);
  if (which == 0) leaf[byte] ^= bit;
  else if (which == 1) root[byte] ^= bit;
  else path[which - 2][byte] ^= bit;
  FUZZ_CHECK(cairn_merkle_verify(root, leaf, index, n, cp, path_len) ==
             CAIRN_ERR_BAD_PROOF);
  FUZZ_CHECK(cairn_merkle_proof(path, &path_len, cl, n, n) == CAIRN_ERR_RANGE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  fuzz_merkle_outside(data, size);
  fuzz_merkle_built(data, size);
  return 0;
}
