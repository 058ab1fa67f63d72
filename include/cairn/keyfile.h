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

#include "cairn/address.h"
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

/* Read, parse and decrypt (cairn_keyfile_parse, cairn_keyfile_decrypt).
 * Errors: NOT_FOUND, IO, OVERSIZE, KEYFILE (malformed), PASSPHRASE (wrong
 * passphrase or tampered file), BAD_KEY, NOMEM. sk/pk zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_read(const char *path,
                                              const char *passphrase,
                                              size_t passphrase_len,
                                              uint8_t sk[CAIRN_SECKEY_BYTES],
                                              uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* The public key from the file's address, no passphrase needed. */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_pubkey(const char *path,
                                                uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* ---- parsing from memory (the file functions above are built on these;
 * fuzz targets and tools call them directly) ---- */

#define CAIRN_KEYFILE_SALT_BYTES 16  /* crypto_pwhash_argon2id_SALTBYTES */
#define CAIRN_KEYFILE_NONCE_BYTES 24 /* XChaCha20-Poly1305 nonce */
#define CAIRN_KEYFILE_CT_BYTES 48    /* 32-byte secret + 16-byte tag */

/* Bounds on the Argon2id cost a key file may ask for: libsodium's minimums
 * (1 pass, 8 KiB) up to 64 passes and 1 GiB, far above any sane setting
 * (the default is 2 passes and 64 MiB) yet below what would hang or
 * exhaust a laptop. The cost is read from the file, so it is
 * attacker-controlled and checked before anything is allocated. */
#define CAIRN_KEYFILE_OPSLIMIT_MAX 64u
#define CAIRN_KEYFILE_MEMLIMIT_MAX (1024ull * 1024u * 1024u)

/* Everything a member key file holds except the secret: what can be read
 * without the passphrase. */
typedef struct cairn_keyfile_info {
  char address[CAIRN_ADDRESS_BUF]; /* as written (the AEAD's associated data) */
  uint8_t pk[CAIRN_PUBKEY_BYTES];  /* the address decoded */
  cairn_kdf_params kdf;
  uint8_t salt[CAIRN_KEYFILE_SALT_BYTES];
  uint8_t nonce[CAIRN_KEYFILE_NONCE_BYTES];
  uint8_t ct[CAIRN_KEYFILE_CT_BYTES];
} cairn_keyfile_info;

/* Parse and check the text of a member key file (len bytes). Nothing is
 * derived or decrypted, so this is cheap whatever the file says. Errors:
 * OVERSIZE (len > CAIRN_KEYFILE_BYTES_MAX), KEYFILE (not JSON, a missing,
 * extra, mistyped or out-of-range member, a KDF cost outside the bounds
 * above), BAD_KEY (the address decodes but is not a valid key). info is
 * zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_parse(cairn_keyfile_info *info,
                                               const char *text, size_t len);

/* Render info as the key file text cairn_keyfile_write stores (compact
 * JSON and a newline) into out. Parsing the result gives info back.
 * Errors: OVERSIZE (cap too small; CAIRN_KEYFILE_BYTES_MAX is enough),
 * NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_format(char *out, size_t cap,
                                                size_t *len,
                                                const cairn_keyfile_info *info);

/* Decrypt the secret key of a parsed key file: Argon2id with info->kdf
 * (which must be within the bounds above, as parsing guarantees), then
 * XChaCha20-Poly1305. Errors: PASSPHRASE (wrong passphrase or altered
 * file), BAD_KEY (the sealed secret is not the address's key), NOMEM.
 * sk/pk zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_keyfile_decrypt(
    const cairn_keyfile_info *info, const char *passphrase,
    size_t passphrase_len, uint8_t sk[CAIRN_SECKEY_BYTES],
    uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* Parse the text of a validator key file and derive its key pair; the
 * stored public key must match the seed. Errors: OVERSIZE, KEYFILE,
 * BAD_KEY. sk/pk zeroed on failure. Permissions are the caller's concern
 * (cairn_nodekey_read checks them). */
CAIRN_MUST_CHECK cairn_err cairn_nodekey_parse(
    const char *text, size_t len, uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
    uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]);

/* Render the validator key file text for sk (libsodium's seed || pk form)
 * into out, which holds the seed in clear: keep it in locked memory and
 * wipe it. Errors: BAD_KEY (the halves of sk do not belong together),
 * OVERSIZE (cap too small; CAIRN_KEYFILE_BYTES_MAX is enough). */
CAIRN_MUST_CHECK cairn_err cairn_nodekey_format(
    char *out, size_t cap, size_t *len,
    const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]);

/* Validator key files. */
CAIRN_MUST_CHECK cairn_err cairn_nodekey_write(
    const char *path, const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]);
/* The file is read straight into locked memory (cairn_file_read_private:
 * mode checked on the open descriptor before any byte is read). Errors:
 * NOT_FOUND, IO, PERM (group/other can read), OVERSIZE, KEYFILE, BAD_KEY
 * (pubkey does not match the seed). */
CAIRN_MUST_CHECK cairn_err cairn_nodekey_read(
    const char *path, uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
    uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]);

#endif
