/*
 * test_hash.c - SHA-256 and tagged hashes.
 *
 * SHA-256 is checked against the FIPS 180-2 example digests. The tagged
 * hash is checked against its definition, SHA256(SHA256(tag) ||
 * SHA256(tag) || m), assembled here by hand, and against libsecp256k1's
 * own BIP-340 tagged hash, an independent implementation. Streaming is
 * checked against one-shot hashing over seeded random splits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/hash.h"

static void expect_hex(const uint8_t got[32], const char *want_hex) {
  uint8_t want[32];
  assert_int_equal(cairn_hex_decode_exact(want, 32, want_hex), CAIRN_OK);
  assert_memory_equal(got, want, 32);
}

static void test_sha256_fips_vectors(void **state) {
  (void)state;
  uint8_t out[32];
  cairn_sha256_hash(out, (const uint8_t *)"abc", 3);
  expect_hex(out,
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  cairn_sha256_hash(out, NULL, 0);
  expect_hex(out,
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  static const char two_blocks[] =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  cairn_sha256_hash(out, (const uint8_t *)two_blocks, sizeof two_blocks - 1);
  expect_hex(out,
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  /* One million 'a', streamed in 1000-byte pieces. */
  uint8_t a[1000];
  memset(a, 'a', sizeof a);
  cairn_sha256 h;
  cairn_sha256_init(&h);
  for (int i = 0; i < 1000; i++) cairn_sha256_update(&h, a, sizeof a);
  cairn_sha256_final(&h, out);
  expect_hex(out,
             "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_streaming_equals_one_shot(void **state) {
  (void)state;
  uint8_t seed[32];
  char seed_hex[65];
  randombytes_buf(seed, sizeof seed);
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) {
    assert_int_equal(cairn_hex_decode_exact(seed, 32, env), CAIRN_OK);
  }
  cairn_hex_encode(seed_hex, sizeof seed_hex, seed, sizeof seed);
  printf("test_streaming_equals_one_shot: seed %s (set CAIRN_TEST_SEED to "
         "replay)\n",
         seed_hex);
  static uint8_t data[4096];
  uint32_t cuts[300];
  randombytes_buf_deterministic(data, sizeof data, seed);
  seed[0] ^= 1;
  randombytes_buf_deterministic(cuts, sizeof cuts, seed);
  for (size_t t = 0; t < 100; t++) {
    size_t len = cuts[3 * t] % (sizeof data + 1);
    uint8_t one[32], streamed[32];
    cairn_sha256_hash(one, data, len);
    /* Three pieces at random points, including empty ones. */
    size_t c1 = len ? cuts[3 * t + 1] % (len + 1) : 0;
    size_t c2 = c1 + ((len - c1) ? cuts[3 * t + 2] % (len - c1 + 1) : 0);
    cairn_sha256 h;
    cairn_sha256_init(&h);
    cairn_sha256_update(&h, data, c1);
    cairn_sha256_update(&h, NULL, 0);
    cairn_sha256_update(&h, data + c1, c2 - c1);
    cairn_sha256_update(&h, data + c2, len - c2);
    cairn_sha256_final(&h, streamed);
    assert_memory_equal(one, streamed, 32);
    /* Byte at a time. */
    if (t % 10 == 0) {
      cairn_sha256_init(&h);
      for (size_t i = 0; i < len; i++) cairn_sha256_update(&h, data + i, 1);
      cairn_sha256_final(&h, streamed);
      assert_memory_equal(one, streamed, 32);
    }
  }
}

/* SHA256(SHA256(tag) || SHA256(tag) || m) from one-shot hashes. */
static void by_hand(uint8_t out[32], const char *tag, const uint8_t *m,
                    size_t n) {
  uint8_t *buf = malloc(64 + n + 1);
  assert_non_null(buf);
  cairn_sha256_hash(buf, (const uint8_t *)tag, strlen(tag));
  memcpy(buf + 32, buf, 32);
  if (n > 0) memcpy(buf + 64, m, n);
  cairn_sha256_hash(out, buf, 64 + n);
  free(buf);
}

static void test_tagged_hash_definition(void **state) {
  (void)state;
  static const char *tags[] = {
      CAIRN_TAG_TXID,    CAIRN_TAG_TX_SIG,  CAIRN_TAG_BLOCK,
      CAIRN_TAG_VOTE,    CAIRN_TAG_VALSET,  CAIRN_TAG_GENESIS,
      CAIRN_TAG_STATE,   CAIRN_TAG_CHANGES, "BIP0340/challenge",
      "BIP0340/aux",     "BIP0340/nonce",   "x",
  };
  enum { NTAGS = sizeof tags / sizeof tags[0] };
  static const char msg[] = "a message that is longer than one block of "
                            "sixty-four bytes, to cross a boundary";
  uint8_t got[NTAGS][32], want[32];
  for (size_t i = 0; i < NTAGS; i++) {
    for (size_t n = 0; n <= sizeof msg - 1; n += 13) {
      cairn_tagged_hash(got[i], tags[i], (const uint8_t *)msg, n);
      by_hand(want, tags[i], (const uint8_t *)msg, n);
      assert_memory_equal(got[i], want, 32);
      /* The streaming form gives the same. */
      cairn_sha256 h;
      uint8_t streamed[32];
      cairn_tagged_init(&h, tags[i]);
      cairn_sha256_update(&h, (const uint8_t *)msg, n / 2);
      cairn_sha256_update(&h, (const uint8_t *)msg + n / 2, n - n / 2);
      cairn_sha256_final(&h, streamed);
      assert_memory_equal(streamed, want, 32);
    }
    cairn_tagged_hash(got[i], tags[i], (const uint8_t *)msg, 5);
  }
  /* Domain separation: no two tags agree on the same message, and a tagged
   * hash is not the plain hash. */
  for (size_t i = 0; i < NTAGS; i++) {
    for (size_t j = i + 1; j < NTAGS; j++) {
      assert_memory_not_equal(got[i], got[j], 32);
    }
    cairn_sha256_hash(want, (const uint8_t *)msg, 5);
    assert_memory_not_equal(got[i], want, 32);
  }
}

/* BIP-340's challenge hash, as libsecp256k1 computes it independently. */
static void test_bip340_tag_matches_libsecp256k1(void **state) {
  (void)state;
  static const char *tags[] = {"BIP0340/challenge", "BIP0340/aux",
                               "BIP0340/nonce", CAIRN_TAG_TXID};
  uint8_t m[96], got[32], want[32];
  for (size_t i = 0; i < sizeof m; i++) m[i] = (uint8_t)(i * 7 + 1);
  for (size_t t = 0; t < 4; t++) {
    for (size_t n = 0; n <= sizeof m; n += 32) {
      cairn_tagged_hash(got, tags[t], m, n);
      assert_int_equal(secp256k1_tagged_sha256(
                           secp256k1_context_static, want,
                           (const uint8_t *)tags[t], strlen(tags[t]), m, n),
                       1);
      assert_memory_equal(got, want, 32);
    }
  }
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_fips_vectors),
      cmocka_unit_test(test_streaming_equals_one_shot),
      cmocka_unit_test(test_tagged_hash_definition),
      cmocka_unit_test(test_bip340_tag_matches_libsecp256k1),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
