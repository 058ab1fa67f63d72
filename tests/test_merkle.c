/*
 * test_merkle.c - the RFC 6962 tree: roots against trees written out by
 * hand, proofs against a direct transcription of the RFC's recursive
 * definitions, and RFC 9162 verification accepting every honest proof and
 * rejecting each kind of tampering with CAIRN_ERR_BAD_PROOF.
 *
 * The library builds the tree bottom-up; the references here are top-down
 * (split at the largest power of two below n) exactly as RFC 6962 section
 * 2.1 words it, so agreement is evidence the two constructions are the same
 * tree rather than the same code twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/hash.h"
#include "cairn/merkle.h"

#define MAX_LEAVES 4096

typedef uint8_t h32[CAIRN_HASH_BYTES];

/* The leaves (txids): SHA256 of "txid" || u32 i. */
static void make_leaves(h32 *leaves, size_t n, uint32_t salt) {
  for (size_t i = 0; i < n; i++) {
    uint8_t buf[12];
    memcpy(buf, "txid", 4);
    cairn_be32_write(buf + 4, (uint32_t)i);
    cairn_be32_write(buf + 8, salt);
    cairn_sha256_hash(leaves[i], buf, sizeof buf);
  }
}

/* SHA256(0x00 || d) and SHA256(0x01 || l || r), by composing one-shot
 * cairn_sha256_hash calls over explicit byte strings. */
static void L(h32 out, const h32 d) {
  uint8_t buf[1 + 32];
  buf[0] = 0x00;
  memcpy(buf + 1, d, 32);
  cairn_sha256_hash(out, buf, sizeof buf);
}

static void N(h32 out, const h32 l, const h32 r) {
  uint8_t buf[1 + 64];
  buf[0] = 0x01;
  memcpy(buf + 1, l, 32);
  memcpy(buf + 33, r, 32);
  cairn_sha256_hash(out, buf, sizeof buf);
}

static void root_of(h32 out, const h32 *leaves, size_t n) {
  assert_int_equal(cairn_merkle_root(out, (const uint8_t(*)[32])leaves, n),
                   CAIRN_OK);
}

static void test_hand_built_roots(void **state) {
  (void)state;
  h32 d[8], l[8], got, want, a, b, c, e;
  make_leaves(d, 8, 0);
  for (int i = 0; i < 8; i++) L(l[i], d[i]);

  /* 0 leaves: SHA256 of the empty string (FIPS 180 / RFC 6962). */
  uint8_t empty[32];
  assert_int_equal(
      cairn_hex_decode_exact(
          empty, 32,
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      CAIRN_OK);
  root_of(got, NULL, 0);
  assert_memory_equal(got, empty, 32);
  /* 1: l0 */
  root_of(got, d, 1);
  assert_memory_equal(got, l[0], 32);
  /* 2: node(l0, l1) */
  N(want, l[0], l[1]);
  root_of(got, d, 2);
  assert_memory_equal(got, want, 32);
  /* 3: node(node(l0, l1), l2) */
  N(a, l[0], l[1]);
  N(want, a, l[2]);
  root_of(got, d, 3);
  assert_memory_equal(got, want, 32);
  /* 5: node(node(node(l0, l1), node(l2, l3)), l4) */
  N(a, l[0], l[1]);
  N(b, l[2], l[3]);
  N(c, a, b);
  N(want, c, l[4]);
  root_of(got, d, 5);
  assert_memory_equal(got, want, 32);
  /* 7: node(node(node(l0,l1), node(l2,l3)), node(node(l4,l5), l6)) */
  N(a, l[4], l[5]);
  N(e, a, l[6]);
  N(want, c, e);
  root_of(got, d, 7);
  assert_memory_equal(got, want, 32);
  /* 8: node(node(node(l0,l1), node(l2,l3)), node(node(l4,l5), node(l6,l7))) */
  N(b, l[6], l[7]);
  N(e, a, b);
  N(want, c, e);
  root_of(got, d, 8);
  assert_memory_equal(got, want, 32);
  /* Order matters: swapping two leaves changes the root. */
  h32 swapped[8];
  memcpy(swapped, d, sizeof swapped);
  memcpy(swapped[0], d[1], 32);
  memcpy(swapped[1], d[0], 32);
  root_of(a, swapped, 8);
  assert_memory_not_equal(a, want, 32);
}

/* ---- references transcribed from RFC 6962 section 2.1 ---- */

static size_t split_point(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

static void ref_mth(h32 out, const h32 *d, size_t n) {
  h32 a, b;
  if (n == 0) {
    cairn_sha256_hash(out, NULL, 0);
  } else if (n == 1) {
    L(out, d[0]);
  } else {
    size_t k = split_point(n);
    ref_mth(a, d, k);
    ref_mth(b, d + k, n - k);
    N(out, a, b);
  }
}

/* PATH(m, D[n]), leaf to root. dirs[i] is 1 when path[i] is a right
 * sibling (hash r || p), 0 when it is a left one. */
static void ref_path(h32 *path, int *dirs, size_t *len, size_t m, const h32 *d,
                     size_t n) {
  if (n <= 1) return;
  size_t k = split_point(n);
  if (m < k) {
    ref_path(path, dirs, len, m, d, k);
    ref_mth(path[*len], d + k, n - k);
    dirs[(*len)++] = 1;
  } else {
    ref_path(path, dirs, len, m - k, d + k, n - k);
    ref_mth(path[*len], d, k);
    dirs[(*len)++] = 0;
  }
}

/* Only the shape (directions) of PATH(m, D[n]); no hashing. */
static void ref_shape(int *dirs, size_t *len, size_t m, size_t n) {
  if (n <= 1) return;
  size_t k = split_point(n);
  if (m < k) {
    ref_shape(dirs, len, m, k);
    dirs[(*len)++] = 1;
  } else {
    ref_shape(dirs, len, m - k, n - k);
    dirs[(*len)++] = 0;
  }
}

static int same_shape(size_t m, size_t n1, size_t n2) {
  int d1[64], d2[64];
  size_t l1 = 0, l2 = 0;
  ref_shape(d1, &l1, m, n1);
  ref_shape(d2, &l2, m, n2);
  return l1 == l2 && memcmp(d1, d2, l1 * sizeof(int)) == 0;
}

static cairn_err verify(const h32 root, const h32 leaf, size_t index, size_t n,
                        const h32 *path, size_t len) {
  return cairn_merkle_verify(root, leaf, index, n,
                             (const uint8_t(*)[32])path, len);
}

static void proof_of(h32 *path, size_t *len, const h32 *d, size_t n,
                     size_t index) {
  assert_int_equal(cairn_merkle_proof((uint8_t(*)[32])path, len,
                                      (const uint8_t(*)[32])d, n, index),
                   CAIRN_OK);
}

static void test_roots_match_reference(void **state) {
  (void)state;
  static h32 d[300];
  h32 got, want;
  make_leaves(d, 300, 1);
  for (size_t n = 0; n <= 300; n++) {
    root_of(got, d, n);
    ref_mth(want, d, n);
    assert_memory_equal(got, want, 32);
  }
}

/* Tampering with one thing at a time; every case must fail. */
static void check_tampering(const h32 *d, size_t n, size_t i, const h32 root,
                            const h32 *path, size_t len, size_t *wrong_n_fail) {
  h32 bad[CAIRN_MERKLE_PATH_MAX + 1];
  /* Each bit-flipped path element. */
  for (size_t j = 0; j < len; j++) {
    memcpy(bad, path, len * 32);
    bad[j][j % 32] ^= 0x01;
    assert_int_equal(verify(root, d[i], i, n, bad, len), CAIRN_ERR_BAD_PROOF);
  }
  /* A path one element short, or one too long. */
  if (len > 0) {
    assert_int_equal(verify(root, d[i], i, n, path, len - 1),
                     CAIRN_ERR_BAD_PROOF);
  }
  memcpy(bad, path, len * 32);
  memcpy(bad[len], root, 32);
  assert_int_equal(verify(root, d[i], i, n, bad, len + 1), CAIRN_ERR_BAD_PROOF);
  /* Every other index, and indexes at and past n. */
  for (size_t j = 0; j < n + 2; j++) {
    if (j == i) continue;
    assert_int_equal(verify(root, d[i], j, n, path, len), CAIRN_ERR_BAD_PROOF);
  }
  /* Another leaf, and the leaf's own hash instead of the txid. */
  size_t other = (i + 1) % n;
  if (other != i) {
    assert_int_equal(verify(root, d[other], i, n, path, len),
                     CAIRN_ERR_BAD_PROOF);
  }
  h32 lh;
  L(lh, d[i]);
  assert_int_equal(verify(root, lh, i, n, path, len), CAIRN_ERR_BAD_PROOF);
  /* Another tree size. RFC 9162 only uses n for the path's shape, so a size
   * whose audit path has the same shape for this index (e.g. leaf 0 of 3
   * and of 4 leaves) still verifies; every other size must fail. */
  for (size_t m = 1; m <= 24; m++) {
    if (m == n || i >= m) continue;
    cairn_err want = same_shape(i, n, m) ? CAIRN_OK : CAIRN_ERR_BAD_PROOF;
    assert_int_equal(verify(root, d[i], i, m, path, len), want);
    if (want != CAIRN_OK) (*wrong_n_fail)++;
  }
  /* A root of a different size never matches. */
  h32 other_root;
  ref_mth(other_root, d, n + 1);
  assert_int_equal(verify(other_root, d[i], i, n + 1, path, len),
                   CAIRN_ERR_BAD_PROOF);
}

static void test_every_proof_1_to_20(void **state) {
  (void)state;
  h32 d[21], root, path[CAIRN_MERKLE_PATH_MAX], want[64];
  int dirs[64];
  size_t wrong_n_fail = 0;
  make_leaves(d, 21, 2);
  for (size_t n = 1; n <= 20; n++) {
    root_of(root, d, n);
    for (size_t i = 0; i < n; i++) {
      size_t len = 0, want_len = 0;
      proof_of(path, &len, d, n, i);
      ref_path(want, dirs, &want_len, i, d, n);
      assert_int_equal(len, want_len);
      if (len > 0) assert_memory_equal(path, want, len * 32);
      assert_int_equal(verify(root, d[i], i, n, path, len), CAIRN_OK);
      check_tampering(d, n, i, root, path, len, &wrong_n_fail);
    }
  }
  /* The wrong-size checks are not vacuous. */
  assert_true(wrong_n_fail > 1000);
  /* The documented same-shape case: leaf 0 of 4 checked as a tree of 3. */
  size_t len = 0;
  root_of(root, d, 4);
  proof_of(path, &len, d, 4, 0);
  assert_int_equal(verify(root, d[0], 0, 3, path, len), CAIRN_OK);
}

static void test_range_and_limits(void **state) {
  (void)state;
  h32 d[5], root, path[CAIRN_MERKLE_PATH_MAX], junk[CAIRN_MERKLE_PATH_MAX + 1];
  size_t len = 99;
  make_leaves(d, 5, 3);
  memset(path, 0xee, sizeof path);
  assert_int_equal(cairn_merkle_proof((uint8_t(*)[32])path, &len,
                                      (const uint8_t(*)[32])d, 5, 5),
                   CAIRN_ERR_RANGE);
  assert_int_equal(len, 0);
  for (size_t i = 0; i < CAIRN_MERKLE_PATH_MAX; i++) {
    for (size_t j = 0; j < 32; j++) assert_int_equal(path[i][j], 0);
  }
  len = 99;
  assert_int_equal(cairn_merkle_proof((uint8_t(*)[32])path, &len, NULL, 0, 0),
                   CAIRN_ERR_RANGE);
  assert_int_equal(len, 0);
  /* Verification: an empty tree proves nothing; index past the end; a
   * path longer than any tree allows. */
  root_of(root, d, 0);
  assert_int_equal(verify(root, d[0], 0, 0, NULL, 0), CAIRN_ERR_BAD_PROOF);
  root_of(root, d, 1);
  assert_int_equal(verify(root, d[0], 0, 1, NULL, 0), CAIRN_OK);
  assert_int_equal(verify(root, d[0], 1, 1, NULL, 0), CAIRN_ERR_BAD_PROOF);
  memset(junk, 0, sizeof junk);
  assert_int_equal(verify(root, d[0], 0, SIZE_MAX, junk,
                          CAIRN_MERKLE_PATH_MAX + 1),
                   CAIRN_ERR_BAD_PROOF);
}

static void test_seeded_large_trees(void **state) {
  (void)state;
  static h32 d[MAX_LEAVES];
  h32 root, path[CAIRN_MERKLE_PATH_MAX], want[64];
  int dirs[64];
  uint8_t seed[32];
  char seed_hex[65];
  randombytes_buf(seed, sizeof seed);
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) {
    assert_int_equal(cairn_hex_decode_exact(seed, 32, env), CAIRN_OK);
  }
  cairn_hex_encode(seed_hex, sizeof seed_hex, seed, sizeof seed);
  printf("test_seeded_large_trees: seed %s (set CAIRN_TEST_SEED to replay)\n",
         seed_hex);
  uint32_t picks[40 * 11];
  randombytes_buf_deterministic(picks, sizeof picks, seed);
  make_leaves(d, MAX_LEAVES, 4);
  for (size_t t = 0; t < 40; t++) {
    size_t n = 1 + picks[t * 11] % MAX_LEAVES;
    root_of(root, d, n);
    h32 want_root;
    ref_mth(want_root, d, n);
    assert_memory_equal(root, want_root, 32);
    for (size_t k = 1; k < 11; k++) {
      size_t i = picks[t * 11 + k] % n, len = 0, want_len = 0;
      proof_of(path, &len, d, n, i);
      ref_path(want, dirs, &want_len, i, d, n);
      assert_int_equal(len, want_len);
      if (len > 0) assert_memory_equal(path, want, len * 32);
      assert_int_equal(verify(root, d[i], i, n, path, len), CAIRN_OK);
      assert_int_equal(verify(root, d[(i + 1) % n], i, n, path, len),
                       n == 1 ? CAIRN_OK : CAIRN_ERR_BAD_PROOF);
    }
  }
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hand_built_roots),
      cmocka_unit_test(test_roots_match_reference),
      cmocka_unit_test(test_every_proof_1_to_20),
      cmocka_unit_test(test_range_and_limits),
      cmocka_unit_test(test_seeded_large_trees),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
