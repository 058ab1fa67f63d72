/*
 * test_sig.c - BIP-340 Schnorr against the BIP's own test vectors, and
 * Ed25519 against RFC 8032 plus tampering.
 *
 * The BIP-340 vectors are read from bip340.csv in CAIRN_VECTORS_DIR, or in
 * ../shared/vectors relative to the working directory (the repo root). A
 * missing or short file is a failure, never a skip: without it the
 * signature code would go untested against the standard.
 *
 * For each row: a given secret key must give the row's public key and, with
 * the row's aux_rand, exactly the row's signature (BIP-340 signing is
 * deterministic given aux); verification must accept TRUE rows and reject
 * FALSE rows, with BAD_KEY exactly for public keys that are not valid
 * x-only keys and BAD_SIG otherwise.
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
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/sig.h"

#define CSV_LINE_MAX 2048
#define MSG_MAX 1024

static const uint8_t zero64[64];

typedef struct row {
  int index;
  int has_sk, has_aux;
  uint8_t sk[32], pk[32], aux[32], sig[64];
  uint8_t msg[MSG_MAX];
  size_t msg_len;
  int valid;
  char comment[256];
} row;

/* Split line at commas into at most max fields (the last keeps any
 * remaining commas). Returns the number of fields. */
static size_t split(char *line, char **fields, size_t max) {
  size_t n = 0;
  fields[n++] = line;
  for (char *p = line; *p != '\0' && n < max; p++) {
    if (*p == ',') {
      *p = '\0';
      fields[n++] = p + 1;
    }
  }
  return n;
}

static void parse_row(row *r, char *line) {
  char *f[8] = {0};
  memset(r, 0, sizeof *r);
  line[strcspn(line, "\r\n")] = '\0';
  assert_true(split(line, f, 8) >= 7);
  r->index = atoi(f[0]);
  r->has_sk = f[1][0] != '\0';
  if (r->has_sk) {
    assert_int_equal(cairn_hex_decode_exact(r->sk, 32, f[1]), CAIRN_OK);
  }
  assert_int_equal(cairn_hex_decode_exact(r->pk, 32, f[2]), CAIRN_OK);
  r->has_aux = f[3][0] != '\0';
  if (r->has_aux) {
    assert_int_equal(cairn_hex_decode_exact(r->aux, 32, f[3]), CAIRN_OK);
  }
  assert_int_equal(cairn_hex_decode(r->msg, sizeof r->msg, &r->msg_len, f[4]),
                   CAIRN_OK);
  assert_int_equal(cairn_hex_decode_exact(r->sig, 64, f[5]), CAIRN_OK);
  assert_true(strcmp(f[6], "TRUE") == 0 || strcmp(f[6], "FALSE") == 0);
  r->valid = strcmp(f[6], "TRUE") == 0;
  snprintf(r->comment, sizeof r->comment, "%s", f[7] ? f[7] : "");
}

/* Open bip340.csv; a missing file fails the test. */
static FILE *open_vectors(void) {
  char path[1024];
  const char *dir = getenv("CAIRN_VECTORS_DIR");
  if (dir == NULL || dir[0] == '\0') dir = "../shared/vectors";
  int n = snprintf(path, sizeof path, "%s/bip340.csv", dir);
  assert_true(n > 0 && (size_t)n < sizeof path);
  FILE *fp = fopen(path, "r");
  if (fp == NULL) {
    fprintf(stderr, "test_sig: cannot open %s (run from the repo root or set "
                    "CAIRN_VECTORS_DIR)\n", path);
  }
  assert_non_null(fp);
  return fp;
}

/* Whether libsecp256k1 itself accepts pk as an x-only key. */
static int xonly_valid(const uint8_t pk[32]) {
  secp256k1_xonly_pubkey x;
  return secp256k1_xonly_pubkey_parse(secp256k1_context_static, &x, pk);
}

static void check_row(const row *r, size_t *signed_rows, size_t *bad_keys) {
  uint8_t pk[32], sig[64];
  if (r->has_sk) {
    assert_int_equal(cairn_schnorr_pubkey(pk, r->sk), CAIRN_OK);
    assert_memory_equal(pk, r->pk, 32);
    if (r->msg_len == 32) {
      assert_true(r->has_aux);
      assert_int_equal(cairn_schnorr_sign(sig, r->sk, r->msg, r->aux),
                       CAIRN_OK);
      assert_memory_equal(sig, r->sig, 64);
      (*signed_rows)++;
    }
  }
  cairn_err err = cairn_schnorr_verify(r->sig, r->msg, r->msg_len, r->pk);
  cairn_err key = cairn_schnorr_pubkey_check(r->pk);
  if (r->valid) {
    assert_int_equal(err, CAIRN_OK);
    assert_int_equal(key, CAIRN_OK);
  } else if (!xonly_valid(r->pk)) {
    assert_int_equal(err, CAIRN_ERR_BAD_KEY);
    assert_int_equal(key, CAIRN_ERR_BAD_KEY);
    (*bad_keys)++;
  } else {
    assert_int_equal(err, CAIRN_ERR_BAD_SIG);
    assert_int_equal(key, CAIRN_OK);
  }
}

static void test_bip340_vectors(void **state) {
  (void)state;
  FILE *fp = open_vectors();
  char line[CSV_LINE_MAX];
  static row r;
  size_t rows = 0, valid = 0, signed_rows = 0, bad_keys = 0;
  assert_non_null(fgets(line, sizeof line, fp));
  assert_true(strncmp(line, "index,", 6) == 0); /* header */
  while (fgets(line, sizeof line, fp) != NULL) {
    if (line[0] == '\n' || line[0] == '\r') continue;
    parse_row(&r, line);
    check_row(&r, &signed_rows, &bad_keys);
    rows++;
    valid += (size_t)r.valid;
  }
  fclose(fp);
  printf("test_sig: %zu BIP-340 rows (%zu valid, %zu signed, %zu bad keys)\n",
         rows, valid, signed_rows, bad_keys);
  /* The BIP's table has at least rows 0..14: 4 signing rows, 5 valid, two
   * invalid public keys. */
  assert_true(rows >= 15);
  assert_true(valid >= 5);
  assert_true(signed_rows >= 4);
  assert_true(bad_keys >= 2);
}

static void test_schnorr_keys_and_tampering(void **state) {
  (void)state;
  uint8_t sk[32], pk[32], pk2[32], msg[32], sig[64], sig2[64], bad[64];
  for (int round = 0; round < 20; round++) {
    assert_int_equal(cairn_schnorr_keygen(sk, pk), CAIRN_OK);
    assert_int_equal(cairn_schnorr_pubkey_check(pk), CAIRN_OK);
    assert_int_equal(cairn_schnorr_pubkey(pk2, sk), CAIRN_OK);
    assert_memory_equal(pk, pk2, 32);
    randombytes_buf(msg, sizeof msg);
    assert_int_equal(cairn_schnorr_sign(sig, sk, msg, NULL), CAIRN_OK);
    assert_int_equal(cairn_schnorr_verify(sig, msg, 32, pk), CAIRN_OK);
    /* Fresh randomness: a second signature differs and also verifies. */
    assert_int_equal(cairn_schnorr_sign(sig2, sk, msg, NULL), CAIRN_OK);
    assert_memory_not_equal(sig, sig2, 64);
    assert_int_equal(cairn_schnorr_verify(sig2, msg, 32, pk), CAIRN_OK);
    /* Any flipped bit of message or signature. */
    for (size_t i = 0; i < 32; i++) {
      msg[i] ^= (uint8_t)(1u << (i % 8));
      assert_int_equal(cairn_schnorr_verify(sig, msg, 32, pk),
                       CAIRN_ERR_BAD_SIG);
      msg[i] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t i = 0; i < 64; i++) {
      memcpy(bad, sig, 64);
      bad[i] ^= (uint8_t)(1u << (i % 8));
      assert_int_equal(cairn_schnorr_verify(bad, msg, 32, pk),
                       CAIRN_ERR_BAD_SIG);
    }
    /* A message of another length is another message. */
    assert_int_equal(cairn_schnorr_verify(sig, msg, 31, pk),
                     CAIRN_ERR_BAD_SIG);
    /* Another key. */
    assert_int_equal(cairn_schnorr_keygen(sk, pk2), CAIRN_OK);
    assert_int_equal(cairn_schnorr_verify(sig, msg, 32, pk2),
                     CAIRN_ERR_BAD_SIG);
  }
}

static void test_schnorr_bad_secret_keys(void **state) {
  (void)state;
  uint8_t sk[32], pk[32], sig[64], msg[32] = {1};
  static const char *bad[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", /* n */
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  };
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(cairn_hex_decode_exact(sk, 32, bad[i]), CAIRN_OK);
    memset(pk, 0xaa, sizeof pk);
    assert_int_equal(cairn_schnorr_pubkey(pk, sk), CAIRN_ERR_BAD_KEY);
    assert_memory_equal(pk, zero64, 32);
    memset(sig, 0xaa, sizeof sig);
    assert_int_equal(cairn_schnorr_sign(sig, sk, msg, NULL),
                     CAIRN_ERR_BAD_KEY);
    assert_memory_equal(sig, zero64, 64);
  }
  /* n - 1 is the largest valid key. */
  assert_int_equal(
      cairn_hex_decode_exact(
          sk, 32,
          "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"),
      CAIRN_OK);
  assert_int_equal(cairn_schnorr_pubkey(pk, sk), CAIRN_OK);
}

/* Messages that are not 32 bytes, signed directly with libsecp256k1. */
static void test_schnorr_variable_length(void **state) {
  (void)state;
  uint8_t sk[32], pk[32], sig[64], msg[100];
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  assert_non_null(ctx);
  secp256k1_keypair kp;
  assert_int_equal(cairn_schnorr_keygen(sk, pk), CAIRN_OK);
  assert_int_equal(secp256k1_keypair_create(ctx, &kp, sk), 1);
  randombytes_buf(msg, sizeof msg);
  static const size_t lens[] = {0, 1, 31, 33, 64, 100};
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    assert_int_equal(secp256k1_schnorrsig_sign_custom(ctx, sig, msg, lens[i],
                                                      &kp, NULL),
                     1);
    assert_int_equal(cairn_schnorr_verify(sig, lens[i] ? msg : NULL, lens[i],
                                          pk),
                     CAIRN_OK);
    if (lens[i] > 0) {
      assert_int_equal(cairn_schnorr_verify(sig, msg, lens[i] - 1, pk),
                       CAIRN_ERR_BAD_SIG);
    }
  }
  secp256k1_context_destroy(ctx);
  sodium_memzero(sk, sizeof sk);
}

/* RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte). */
static void test_ed25519_rfc8032(void **state) {
  (void)state;
  static const struct {
    const char *seed, *pk, *msg, *sig;
  } v[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb882"
       "1590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1"
       "e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (size_t i = 0; i < 2; i++) {
    uint8_t seed[32], pk[32], sk[64], want_pk[32], msg[8], want[64], sig[64];
    size_t msg_len;
    assert_int_equal(cairn_hex_decode_exact(seed, 32, v[i].seed), CAIRN_OK);
    assert_int_equal(cairn_hex_decode_exact(want_pk, 32, v[i].pk), CAIRN_OK);
    assert_int_equal(cairn_hex_decode(msg, sizeof msg, &msg_len, v[i].msg),
                     CAIRN_OK);
    assert_int_equal(cairn_hex_decode_exact(want, 64, v[i].sig), CAIRN_OK);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
    assert_memory_equal(pk, want_pk, 32);
    assert_int_equal(cairn_ed25519_sign(sig, sk, msg_len ? msg : NULL, msg_len),
                     CAIRN_OK);
    assert_memory_equal(sig, want, 64);
    assert_int_equal(
        cairn_ed25519_verify(want, msg_len ? msg : NULL, msg_len, pk),
        CAIRN_OK);
  }
}

static void test_ed25519_keygen_and_tampering(void **state) {
  (void)state;
  uint8_t pk[32], sk[64], pk2[32], sk2[64], sig[64], bad[64], msg[77];
  for (int round = 0; round < 10; round++) {
    assert_int_equal(cairn_ed25519_keygen(pk, sk), CAIRN_OK);
    /* libsodium's form: seed || pk. */
    assert_memory_equal(sk + 32, pk, 32);
    assert_int_equal(crypto_sign_seed_keypair(pk2, sk2, sk), 0);
    assert_memory_equal(pk2, pk, 32);
    randombytes_buf(msg, sizeof msg);
    assert_int_equal(cairn_ed25519_sign(sig, sk, msg, sizeof msg), CAIRN_OK);
    assert_int_equal(cairn_ed25519_verify(sig, msg, sizeof msg, pk), CAIRN_OK);
    for (size_t i = 0; i < sizeof msg; i += 5) {
      msg[i] ^= 0x80;
      assert_int_equal(cairn_ed25519_verify(sig, msg, sizeof msg, pk),
                       CAIRN_ERR_BAD_SIG);
      msg[i] ^= 0x80;
    }
    for (size_t i = 0; i < 64; i++) {
      memcpy(bad, sig, 64);
      bad[i] ^= (uint8_t)(1u << (i % 8));
      assert_int_equal(cairn_ed25519_verify(bad, msg, sizeof msg, pk),
                       CAIRN_ERR_BAD_SIG);
    }
    assert_int_equal(cairn_ed25519_verify(sig, msg, sizeof msg - 1, pk),
                     CAIRN_ERR_BAD_SIG);
    assert_int_equal(cairn_ed25519_keygen(pk2, sk2), CAIRN_OK);
    assert_memory_not_equal(pk2, pk, 32);
    assert_int_equal(cairn_ed25519_verify(sig, msg, sizeof msg, pk2),
                     CAIRN_ERR_BAD_SIG);
  }
  /* An all-zero public key (a small-order point) never verifies. */
  memset(pk2, 0, sizeof pk2);
  assert_int_equal(cairn_ed25519_verify(sig, msg, sizeof msg, pk2),
                   CAIRN_ERR_BAD_SIG);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bip340_vectors),
      cmocka_unit_test(test_schnorr_keys_and_tampering),
      cmocka_unit_test(test_schnorr_bad_secret_keys),
      cmocka_unit_test(test_schnorr_variable_length),
      cmocka_unit_test(test_ed25519_rfc8032),
      cmocka_unit_test(test_ed25519_keygen_and_tampering),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
