/*
 * test_address.c - bech32m addresses: known answers, BIP-350's own checksum
 * vectors, seeded random round trips, and every kind of rejection with its
 * exact error (and the output key zeroed).
 *
 * The known-answer addresses were computed outside this code base with an
 * independent implementation of the BIP-350 reference algorithm (Python),
 * so a bug shared by encoder and decoder cannot hide behind a round trip.
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

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/sig.h"

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* BIP-340 test vector 1's public key, and the generator's x coordinate. */
static const char vec1_pk_hex[] =
    "dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659";
static const char vec1_addr[] =
    "cairn1mlcawle2vuw97dscxundkg6phev0atsa5t0vakzrys8hk5pt5evsjyds8k";
static const char gx_hex[] =
    "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
static const char gx_addr[] =
    "cairn10xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqrfm5jx";

/* Decode and require err; on failure the key must come back zeroed. */
static void expect_decode(const char *addr, cairn_err want) {
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  static const uint8_t zero[CAIRN_PUBKEY_BYTES];
  memset(pk, 0xaa, sizeof pk);
  cairn_err got = cairn_address_decode(pk, addr);
  if (got != want) {
    fprintf(stderr, "decode(\"%s\") = %s, want %s\n", addr,
            cairn_errname(got), cairn_errname(want));
  }
  assert_int_equal(got, want);
  if (want != CAIRN_OK) assert_memory_equal(pk, zero, sizeof pk);
}

static void hex32(uint8_t out[32], const char *hex) {
  assert_int_equal(cairn_hex_decode_exact(out, 32, hex), CAIRN_OK);
}

static void test_known_answers(void **state) {
  (void)state;
  uint8_t pk[32], back[32];
  char addr[CAIRN_ADDRESS_BUF];
  hex32(pk, vec1_pk_hex);
  cairn_address_encode(addr, sizeof addr, pk);
  assert_string_equal(addr, vec1_addr);
  assert_int_equal(cairn_address_decode(back, vec1_addr), CAIRN_OK);
  assert_memory_equal(back, pk, 32);
  hex32(pk, gx_hex);
  cairn_address_encode(addr, sizeof addr, pk);
  assert_string_equal(addr, gx_addr);
  assert_int_equal(cairn_address_decode(back, gx_addr), CAIRN_OK);
  assert_memory_equal(back, pk, 32);
}

/* The valid and invalid bech32m strings of BIP-350. */
static void test_bip350_checksum_vectors(void **state) {
  (void)state;
  static const char *valid[] = {
      "A1LQFN3A",
      "a1lqfn3a",
      "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharacters"
      "bioandnumber11sg7hg6",
      "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
      "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"
      "llllllllllllllludsr8",
      "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
      "?1v759aa",
  };
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    assert_int_equal(cairn_bech32m_verify_checksum(valid[i]), CAIRN_OK);
  }
  static const struct {
    const char *s;
    cairn_err want;
  } invalid[] = {
      {" 1xj0phk", CAIRN_ERR_ADDRESS},     /* HRP character out of range */
      {"\x7f" "1g6xzxy", CAIRN_ERR_ADDRESS}, /* HRP character out of range */
      {"\x80" "1vctc34", CAIRN_ERR_ADDRESS}, /* HRP character out of range */
      {"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharacte"
       "rsbioandnumber11d6pts4",
       CAIRN_ERR_ADDRESS},                 /* overall max length exceeded */
      {"qyrz8wqd2c9m", CAIRN_ERR_ADDRESS}, /* no separator */
      {"1qyrz8wqd2c9m", CAIRN_ERR_ADDRESS}, /* empty HRP */
      {"y1b0jsk6g", CAIRN_ERR_ADDRESS},    /* invalid data character */
      {"lt1igcx5c0", CAIRN_ERR_ADDRESS},   /* invalid data character */
      {"in1muywd", CAIRN_ERR_ADDRESS},     /* too short checksum */
      {"mm1crxm3i", CAIRN_ERR_ADDRESS},    /* invalid checksum character */
      {"au1s5cgom", CAIRN_ERR_ADDRESS},    /* invalid checksum character */
      {"M1VUXWEZ", CAIRN_ERR_CHECKSUM},    /* checksum of uppercase HRP */
      {"16plkw9", CAIRN_ERR_ADDRESS},      /* empty HRP */
      {"1p2gdwpf", CAIRN_ERR_ADDRESS},     /* empty HRP */
      /* BIP-173 (bech32, constant 1) valid strings are not bech32m. */
      {"A12UEL5L", CAIRN_ERR_CHECKSUM},
      {"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", CAIRN_ERR_CHECKSUM},
      {"A1LQFN3a", CAIRN_ERR_ADDRESS},     /* mixed case */
      {"a1lqfn3q", CAIRN_ERR_CHECKSUM},    /* one substitution */
      {"", CAIRN_ERR_ADDRESS},
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    cairn_err got = cairn_bech32m_verify_checksum(invalid[i].s);
    if (got != invalid[i].want) fprintf(stderr, "case %zu\n", i);
    assert_int_equal(got, invalid[i].want);
  }
}

/* Deterministic key i from a seed: libsodium's seeded generator. */
static void seeded_key(uint8_t pk[32], const uint8_t seed[32], uint32_t i) {
  uint8_t sk[32], s[32];
  for (uint32_t attempt = 0;; attempt++) {
    assert_true(attempt < 16);
    memcpy(s, seed, 32);
    cairn_be32_write(s, i ^ cairn_be32_read(s));
    cairn_be32_write(s + 4, attempt ^ cairn_be32_read(s + 4));
    randombytes_buf_deterministic(sk, sizeof sk, s);
    if (cairn_schnorr_pubkey(pk, sk) == CAIRN_OK) return;
  }
}

/* A fresh seed, or CAIRN_TEST_SEED (64 hex digits) to replay a run. */
static void test_seed(uint8_t seed[32], const char *test) {
  char seed_hex[65];
  randombytes_buf(seed, 32);
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) {
    assert_int_equal(cairn_hex_decode_exact(seed, 32, env), CAIRN_OK);
  }
  cairn_hex_encode(seed_hex, sizeof seed_hex, seed, 32);
  printf("%s: seed %s (set CAIRN_TEST_SEED to replay)\n", test, seed_hex);
}

static void test_seeded_round_trip(void **state) {
  (void)state;
  uint8_t seed[32];
  test_seed(seed, "test_seeded_round_trip");
  for (uint32_t i = 0; i < 500; i++) {
    uint8_t pk[32], back[32];
    char addr[CAIRN_ADDRESS_BUF], upper[CAIRN_ADDRESS_BUF];
    seeded_key(pk, seed, i);
    cairn_address_encode(addr, sizeof addr, pk);
    assert_int_equal(strlen(addr), CAIRN_ADDRESS_CHARS);
    assert_memory_equal(addr, "cairn1", 6);
    for (size_t j = 0; j < CAIRN_ADDRESS_CHARS; j++) {
      assert_true(j < 6 || strchr(charset, addr[j]) != NULL);
      upper[j] = (addr[j] >= 'a' && addr[j] <= 'z') ? (char)(addr[j] - 32)
                                                    : addr[j];
    }
    upper[CAIRN_ADDRESS_CHARS] = '\0';
    assert_int_equal(cairn_address_decode(back, addr), CAIRN_OK);
    assert_memory_equal(back, pk, 32);
    memset(back, 0, sizeof back);
    assert_int_equal(cairn_address_decode(back, upper), CAIRN_OK);
    assert_memory_equal(back, pk, 32);
  }
}

/* Every single-character change of addr is rejected; inside the data part a
 * change to another alphabet character is exactly a checksum error. */
static void check_substitutions(const char *addr) {
  char s[CAIRN_ADDRESS_BUF];
  size_t checksum_errors = 0;
  for (size_t pos = 0; pos < CAIRN_ADDRESS_CHARS; pos++) {
    for (int c = 1; c < 256; c++) {
      if ((char)c == addr[pos]) continue;
      memcpy(s, addr, CAIRN_ADDRESS_BUF);
      s[pos] = (char)c;
      uint8_t pk[32];
      memset(pk, 0xaa, sizeof pk);
      cairn_err err = cairn_address_decode(pk, s);
      int in_alphabet = c < 128 && strchr(charset, c) != NULL;
      if (pos >= 6 && in_alphabet) {
        assert_int_equal(err, CAIRN_ERR_CHECKSUM);
        checksum_errors++;
      } else {
        assert_true(err == CAIRN_ERR_CHECKSUM || err == CAIRN_ERR_ADDRESS);
      }
      for (size_t k = 0; k < 32; k++) assert_int_equal(pk[k], 0);
    }
  }
  assert_int_equal(checksum_errors, (CAIRN_ADDRESS_CHARS - 6) * 31);
}

static void test_single_substitutions(void **state) {
  (void)state;
  uint8_t seed[32], pk[32];
  char addr[CAIRN_ADDRESS_BUF];
  check_substitutions(vec1_addr);
  check_substitutions(gx_addr);
  test_seed(seed, "test_single_substitutions");
  for (uint32_t i = 0; i < 4; i++) {
    seeded_key(pk, seed, i);
    cairn_address_encode(addr, sizeof addr, pk);
    check_substitutions(addr);
  }
}

static void test_case(void **state) {
  (void)state;
  char s[CAIRN_ADDRESS_BUF];
  uint8_t pk[32], want[32];
  hex32(want, vec1_pk_hex);
  /* All uppercase is the same address. */
  for (size_t i = 0; i < CAIRN_ADDRESS_CHARS; i++) {
    char c = vec1_addr[i];
    s[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
  }
  s[CAIRN_ADDRESS_CHARS] = '\0';
  assert_int_equal(cairn_address_decode(pk, s), CAIRN_OK);
  assert_memory_equal(pk, want, 32);
  /* One lowercase letter in an uppercase address, and the reverse. */
  s[10] = (char)(s[10] + 32);
  expect_decode(s, CAIRN_ERR_ADDRESS);
  memcpy(s, vec1_addr, CAIRN_ADDRESS_BUF);
  s[0] = 'C';
  expect_decode(s, CAIRN_ERR_ADDRESS);
}

static void test_wrong_prefix_length_chars(void **state) {
  (void)state;
  char s[CAIRN_ADDRESS_BUF + 8];
  /* Valid bech32m checksums, but another HRP or another length. */
  expect_decode("cairm10xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqt5zmud",
                CAIRN_ERR_ADDRESS);
  expect_decode(
      "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq37a3nc",
      CAIRN_ERR_ADDRESS);
  expect_decode("abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
                CAIRN_ERR_ADDRESS);
  expect_decode("", CAIRN_ERR_ADDRESS);
  expect_decode("cairn1", CAIRN_ERR_ADDRESS);
  /* One character short, one extra. */
  memcpy(s, gx_addr, CAIRN_ADDRESS_BUF);
  s[CAIRN_ADDRESS_CHARS - 1] = '\0';
  expect_decode(s, CAIRN_ERR_ADDRESS);
  memcpy(s, gx_addr, CAIRN_ADDRESS_CHARS);
  memcpy(s + CAIRN_ADDRESS_CHARS, "q", 2);
  expect_decode(s, CAIRN_ERR_ADDRESS);
  /* Characters outside the alphabet in the data part. */
  static const char bad[] = {'b', 'i', 'o', '1', 'B', '-', ' '};
  for (size_t i = 0; i < sizeof bad; i++) {
    memcpy(s, gx_addr, CAIRN_ADDRESS_BUF);
    s[20] = bad[i];
    expect_decode(s, CAIRN_ERR_ADDRESS);
  }
  /* BIP-173 bech32 checksum over the same data. */
  expect_decode("cairn10xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqk4tchy",
                CAIRN_ERR_CHECKSUM);
}

static void test_padding_and_key(void **state) {
  (void)state;
  /* The generator's address with a padding bit set (checksum valid). */
  expect_decode("cairn10xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vp7l0p05",
                CAIRN_ERR_ADDRESS);
  /* x = 5 is not on secp256k1; x = p is not a field element. */
  expect_decode("cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzstde6sd",
                CAIRN_ERR_BAD_KEY);
  expect_decode("cairn1llllllllllllllllllllllllllllllllllllllllllllallllshsvkrg2d",
                CAIRN_ERR_BAD_KEY);
  /* The encoder itself writes such keys; the decoder refuses them. */
  uint8_t x5[32] = {0};
  char addr[CAIRN_ADDRESS_BUF];
  x5[31] = 5;
  cairn_address_encode(addr, sizeof addr, x5);
  assert_string_equal(
      addr, "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzstde6sd");
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_answers),
      cmocka_unit_test(test_bip350_checksum_vectors),
      cmocka_unit_test(test_seeded_round_trip),
      cmocka_unit_test(test_single_substitutions),
      cmocka_unit_test(test_case),
      cmocka_unit_test(test_wrong_prefix_length_chars),
      cmocka_unit_test(test_padding_and_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
