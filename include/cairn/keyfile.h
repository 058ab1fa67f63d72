/*
 * cairn/keyfile.h - key files for member/brand keys and node keys.
 *
 * Member and brand keys (secp256k1) are stored encrypted: the secret key is
 * sealed with XChaCha20-Poly1305 under a key derived from the passphrase by
 * Argon2id (libsodium crypto_pwhash), with the address as associated data so
 * a file cannot be re-labelled. The file is JSON, created with mode 0600 and
 * never overwritten:
 *   {"version":1,"type":"cairn-member-key","address":"cairn1...",
 *    "kdf":"argon2id13","opslimit":N,"memlimit":N,"salt":"hex16",
 *    "nonce":"hex24","ciphertext":"hex48"}
 *
 * Validator (node) keys are Ed25519 and must be usable unattended, so they
 * are stored unencrypted, protected by owner-only permissions; loading
 * refuses a file that group or others can read (CAIRN_ERR_PERM):
 *   {"version":1,"type":"cairn-validator-key","pubkey":"hex32",
 *    "seed":"hex32"}
 *
 * Secret buffers are wiped (sodium_memzero) before return.
 */
#ifndef CAIRN_KEYFILE_H
#define CAIRN_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/sig.h"

typedef struct cairn_kdf_params {
  uint64_t opslimit;
  uint64_t memlimit; /* bytes */
} cairn_kdf_params;

/* libsodium's "interactive" Argon2id cost: ~0.1 s, 64 MiB. */
void cairn_kdf_params_default(cairn_kdf_params *p);

/* Create an encrypted key file at path (fails with CAIRN_ERR_EXISTS if the
 * file exists). params may be NULL for the default. Errors: EXISTS, IO,
 * NOMEM (Argon2 could not allocate). */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_write(
    const char *path, const uint8_t sk[CAIRN_SECKEY_BYTES],
    const char *passphrase, size_t passphrase_len,
    const cairn_kdf_params *params);

/* Decrypt. Errors: NOT_FOUND, IO, OVERSIZE, KEYFILE (malformed), PASSPHRASE
 * (wrong passphrase or tampered file), BAD_KEY. sk/pk zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_read(const char *path,
                                              const char *passphrase,
                                              size_t passphrase_len,
                                              uint8_t sk[CAIRN_SECKEY_BYTES],
                                              uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* The public key from the file's address, no passphrase needed. */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_pubkey(const char *path,
                                                uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* Validator key files. */
CAIRN_MUST_CHECK cairn_err cairn_nodekey_write(
    const char *path, const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]);
/* Errors: NOT_FOUND, IO, PERM (group/other can read), KEYFILE, BAD_KEY
 * (pubkey does not match the seed). */
CAIRN_MUST_CHECK cairn_err cairn_nodekey_read(
    const char *path, uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
    uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]);

#endif
