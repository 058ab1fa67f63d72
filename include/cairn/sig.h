/*
 * cairn/sig.h - signatures: BIP-340 Schnorr for members and brands,
 * Ed25519 for validators and node identity.
 *
 * Member and brand keys are secp256k1 x-only public keys (32 bytes);
 * signatures are 64 bytes. Verification uses libsecp256k1's static context,
 * so there is no shared mutable state; signing creates and randomizes a
 * context per call (wallets sign rarely; nodes never sign Schnorr).
 * Secret material handled here is wiped before return.
 */
#ifndef CAIRN_SIG_H
#define CAIRN_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/cache.h"
#include "cairn/error.h"

#define CAIRN_PUBKEY_BYTES 32
#define CAIRN_SECKEY_BYTES 32
#define CAIRN_SIG_BYTES 64
#define CAIRN_ED25519_PUBKEY_BYTES 32
#define CAIRN_ED25519_SECKEY_BYTES 64
#define CAIRN_ED25519_SIG_BYTES 64
/* libsecp256k1's parsed form of an x-only key: the value size of a key
 * cache (cache.h) given to the _cached functions. */
#define CAIRN_SIG_PARSED_KEY_BYTES 64

/* Generate a fresh secp256k1 key pair from the OS RNG (libsodium).
 * Returns CAIRN_OK. */
CAIRN_MUST_CHECK cairn_err cairn_schnorr_keygen(uint8_t sk[CAIRN_SECKEY_BYTES],
                                                uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* Derive the x-only public key. CAIRN_ERR_BAD_KEY if sk is zero or >= n. */
CAIRN_MUST_CHECK cairn_err cairn_schnorr_pubkey(
    uint8_t pk[CAIRN_PUBKEY_BYTES], const uint8_t sk[CAIRN_SECKEY_BYTES]);

/* Sign a 32-byte message. aux may be NULL (fresh randomness is used).
 * CAIRN_ERR_BAD_KEY if sk is invalid. */
CAIRN_MUST_CHECK cairn_err cairn_schnorr_sign(
    uint8_t sig[CAIRN_SIG_BYTES], const uint8_t sk[CAIRN_SECKEY_BYTES],
    const uint8_t msg32[32], const uint8_t *aux32);

/* Verify a BIP-340 signature over a message of any length.
 * CAIRN_ERR_BAD_KEY if pk is not a valid x-only key, CAIRN_ERR_BAD_SIG if
 * the signature does not verify. */
CAIRN_MUST_CHECK cairn_err cairn_schnorr_verify(
    const uint8_t sig[CAIRN_SIG_BYTES], const uint8_t *msg, size_t msg_len,
    const uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* CAIRN_OK if pk is a valid x-only public key, else CAIRN_ERR_BAD_KEY. */
CAIRN_MUST_CHECK cairn_err cairn_schnorr_pubkey_check(
    const uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* The two calls above with a cache of parsed keys: lifting an x-only key
 * onto the curve is a square root, ~13% of a verification, and most
 * transactions come from a few issuers. keys (a cache whose values are
 * CAIRN_SIG_PARSED_KEY_BYTES, asserted; may be NULL for none) is consulted
 * first and filled with every valid key parsed; invalid keys are never
 * stored. Results are exactly those of the uncached calls. */
CAIRN_MUST_CHECK cairn_err cairn_schnorr_verify_cached(
    cairn_cache *keys, const uint8_t sig[CAIRN_SIG_BYTES], const uint8_t *msg,
    size_t msg_len, const uint8_t pk[CAIRN_PUBKEY_BYTES]);
CAIRN_MUST_CHECK cairn_err cairn_schnorr_pubkey_check_cached(
    cairn_cache *keys, const uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* Ed25519 (libsodium). sk is libsodium's 64-byte form (seed || pk). */
CAIRN_MUST_CHECK cairn_err cairn_ed25519_keygen(
    uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES],
    uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]);
CAIRN_MUST_CHECK cairn_err cairn_ed25519_sign(
    uint8_t sig[CAIRN_ED25519_SIG_BYTES],
    const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES], const uint8_t *msg,
    size_t msg_len);
/* CAIRN_ERR_BAD_SIG if the signature (or key) does not verify. */
CAIRN_MUST_CHECK cairn_err cairn_ed25519_verify(
    const uint8_t sig[CAIRN_ED25519_SIG_BYTES], const uint8_t *msg,
    size_t msg_len, const uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]);

#endif
