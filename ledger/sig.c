/*
 * sig.c - BIP-340 Schnorr signatures (libsecp256k1) and Ed25519 (libsodium).
 *
 * Verification, the hot path of every node and auditor, uses libsecp256k1's
 * immutable static context, so it needs no setup and is safe from any
 * thread. Operations that multiply the generator by a secret (deriving a
 * public key, signing) need a real context; one is created, randomized
 * against side channels, used and destroyed within the call. That costs
 * microseconds next to the signature itself and leaves no global state.
 *
 * Lifting an x-only key onto the curve (a square root) is about an eighth
 * of a verification, and most transactions come from a few issuers; the
 * _cached calls keep parsed keys in a caller's cache (cache.h), storing
 * only keys that parsed, so their results are those of the plain calls.
 *
 * Secret material (key pairs, expanded keys) is wiped before every return.
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "cairn/sig.h"

/* A freshly randomized signing context, or NULL if allocation failed. */
static secp256k1_context *signing_context(void) {
  uint8_t seed[32];
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  if (ctx == NULL) return NULL;
  randombytes_buf(seed, sizeof seed);
  int ok = secp256k1_context_randomize(ctx, seed);
  assert(ok == 1);
  (void)ok;
  sodium_memzero(seed, sizeof seed);
  return ctx;
}

/* Build a key pair from sk; 0 if sk is not a valid secret key. */
static int make_keypair(secp256k1_context *ctx, secp256k1_keypair *kp,
                        const uint8_t sk[CAIRN_SECKEY_BYTES]) {
  return secp256k1_keypair_create(ctx, kp, sk);
}

cairn_err cairn_schnorr_pubkey(uint8_t pk[CAIRN_PUBKEY_BYTES],
                               const uint8_t sk[CAIRN_SECKEY_BYTES]) {
  secp256k1_keypair kp;
  secp256k1_xonly_pubkey xpk;
  assert(pk != NULL && sk != NULL);
  memset(pk, 0, CAIRN_PUBKEY_BYTES);
  secp256k1_context *ctx = signing_context();
  if (ctx == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = CAIRN_ERR_BAD_KEY;
  if (make_keypair(ctx, &kp, sk) &&
      secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) &&
      secp256k1_xonly_pubkey_serialize(ctx, pk, &xpk)) {
    err = CAIRN_OK;
  }
  sodium_memzero(&kp, sizeof kp);
  secp256k1_context_destroy(ctx);
  return err;
}

cairn_err cairn_schnorr_keygen(uint8_t sk[CAIRN_SECKEY_BYTES],
                               uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  assert(sk != NULL && pk != NULL);
  /* A random 256-bit value is a valid key except with probability ~2^-128;
   * the loop is bounded anyway. */
  for (int attempt = 0; attempt < 64; attempt++) {
    randombytes_buf(sk, CAIRN_SECKEY_BYTES);
    if (secp256k1_ec_seckey_verify(secp256k1_context_static, sk)) {
      cairn_err err = cairn_schnorr_pubkey(pk, sk);
      if (err != CAIRN_OK) sodium_memzero(sk, CAIRN_SECKEY_BYTES);
      return err;
    }
  }
  sodium_memzero(sk, CAIRN_SECKEY_BYTES);
  memset(pk, 0, CAIRN_PUBKEY_BYTES);
  return CAIRN_ERR_INTERNAL;
}

cairn_err cairn_schnorr_sign(uint8_t sig[CAIRN_SIG_BYTES],
                             const uint8_t sk[CAIRN_SECKEY_BYTES],
                             const uint8_t msg32[32], const uint8_t *aux32) {
  secp256k1_keypair kp;
  uint8_t aux[32];
  assert(sig != NULL && sk != NULL && msg32 != NULL);
  memset(sig, 0, CAIRN_SIG_BYTES);
  if (aux32 != NULL) {
    memcpy(aux, aux32, sizeof aux);
  } else {
    randombytes_buf(aux, sizeof aux);
  }
  secp256k1_context *ctx = signing_context();
  if (ctx == NULL) {
    sodium_memzero(aux, sizeof aux);
    return CAIRN_ERR_NOMEM;
  }
  cairn_err err = CAIRN_ERR_BAD_KEY;
  if (make_keypair(ctx, &kp, sk)) {
    int ok = secp256k1_schnorrsig_sign32(ctx, sig, msg32, &kp, aux);
    err = ok ? CAIRN_OK : CAIRN_ERR_INTERNAL;
  }
  sodium_memzero(&kp, sizeof kp);
  sodium_memzero(aux, sizeof aux);
  secp256k1_context_destroy(ctx);
  if (err != CAIRN_OK) memset(sig, 0, CAIRN_SIG_BYTES);
  return err;
}

_Static_assert(sizeof(secp256k1_xonly_pubkey) == CAIRN_SIG_PARSED_KEY_BYTES,
               "a key cache holds libsecp256k1's parsed keys");

/* Parse pk into xpk, through the cache when there is one; false if pk is
 * not a valid x-only key. Only keys that parsed are ever stored, and the
 * parsed form is a pure function of the 32 bytes. */
static bool sig_parse(cairn_cache *keys, secp256k1_xonly_pubkey *xpk,
                      const uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  if (keys != NULL) {
    assert(cairn_cache_value_bytes(keys) == CAIRN_SIG_PARSED_KEY_BYTES);
    if (cairn_cache_get(keys, pk, xpk->data)) return true;
  }
  if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, xpk, pk))
    return false;
  if (keys != NULL) cairn_cache_put(keys, pk, xpk->data);
  return true;
}

cairn_err cairn_schnorr_pubkey_check(const uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  return cairn_schnorr_pubkey_check_cached(NULL, pk);
}

cairn_err cairn_schnorr_pubkey_check_cached(
    cairn_cache *keys, const uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  secp256k1_xonly_pubkey xpk;
  assert(pk != NULL);
  return sig_parse(keys, &xpk, pk) ? CAIRN_OK : CAIRN_ERR_BAD_KEY;
}

cairn_err cairn_schnorr_verify(const uint8_t sig[CAIRN_SIG_BYTES],
                               const uint8_t *msg, size_t msg_len,
                               const uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  return cairn_schnorr_verify_cached(NULL, sig, msg, msg_len, pk);
}

cairn_err cairn_schnorr_verify_cached(cairn_cache *keys,
                                      const uint8_t sig[CAIRN_SIG_BYTES],
                                      const uint8_t *msg, size_t msg_len,
                                      const uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  secp256k1_xonly_pubkey xpk;
  assert(sig != NULL && pk != NULL && (msg != NULL || msg_len == 0));
  if (!sig_parse(keys, &xpk, pk)) return CAIRN_ERR_BAD_KEY;
  /* libsecp256k1 requires a non-NULL pointer even for an empty message. */
  static const uint8_t empty[1] = {0};
  if (!secp256k1_schnorrsig_verify(secp256k1_context_static, sig,
                                   msg_len ? msg : empty, msg_len, &xpk)) {
    return CAIRN_ERR_BAD_SIG;
  }
  return CAIRN_OK;
}

cairn_err cairn_ed25519_keygen(uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES],
                               uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]) {
  assert(pk != NULL && sk != NULL);
  return crypto_sign_keypair(pk, sk) == 0 ? CAIRN_OK : CAIRN_ERR_INTERNAL;
}

cairn_err cairn_ed25519_sign(uint8_t sig[CAIRN_ED25519_SIG_BYTES],
                             const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
                             const uint8_t *msg, size_t msg_len) {
  assert(sig != NULL && sk != NULL && (msg != NULL || msg_len == 0));
  if (crypto_sign_detached(sig, NULL, msg, msg_len, sk) != 0) {
    memset(sig, 0, CAIRN_ED25519_SIG_BYTES);
    return CAIRN_ERR_BAD_KEY;
  }
  return CAIRN_OK;
}

cairn_err cairn_ed25519_verify(const uint8_t sig[CAIRN_ED25519_SIG_BYTES],
                               const uint8_t *msg, size_t msg_len,
                               const uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]) {
  assert(sig != NULL && pk != NULL && (msg != NULL || msg_len == 0));
  return crypto_sign_verify_detached(sig, msg, msg_len, pk) == 0
             ? CAIRN_OK
             : CAIRN_ERR_BAD_SIG;
}
