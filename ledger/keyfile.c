/*
 * keyfile.c - encrypted member/brand key files and validator key files.
 *
 * A member's secp256k1 secret key is the whole of their account, so on disk
 * it is sealed: Argon2id (libsodium crypto_pwhash, version 1.3) stretches
 * the passphrase with a per-file random salt into a 32-byte key, and
 * XChaCha20-Poly1305 encrypts the 32-byte secret under it with a random
 * 24-byte nonce (large enough that random nonces never repeat). The address
 * is the associated data: it is readable without the passphrase (so the
 * wallet can show whose file it is), and binding it into the tag means an
 * edited address makes decryption fail instead of mislabelling the key.
 * A wrong passphrase and a tampered file are indistinguishable by design;
 * both are PASSPHRASE.
 *
 * The Argon2 cost is stored in the file so it can be raised later, which
 * makes it attacker-controlled input: it is range-checked before any memory
 * is allocated, so a hostile file cannot make the wallet allocate gigabytes
 * or spin for hours.
 *
 * Validator keys must load unattended at node start, so they are stored in
 * the clear and protected by the file mode instead; the mode is checked
 * before the file is read, and the stored public key must match the one
 * derived from the seed, which catches a file spliced from two keys.
 *
 * Secrets live in one struct per call that is locked in RAM where the OS
 * allows (sodium_mlock, best effort) and wiped on every path. The validator
 * file is read straight into that locked struct (cairn_file_read_private,
 * which checks the mode on the descriptor it reads from), and its text is
 * produced with snprintf into it rather than by jansson, whose growing
 * output buffer would leave copies of the seed in freed memory. When
 * reading, jansson's copy of the seed string is wiped; fragments its lexer
 * leaves in memory it frees are wiped too when the program installed the
 * wiping allocator of secure.h (cairnd does, at start-up).
 *
 * Every parser here works on a buffer (cairn_keyfile_parse,
 * cairn_nodekey_parse), so the fuzz targets in tests/fuzz/ reach exactly
 * the code that reads a file from disk.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/keyfile.h"
#include "cairn/limits.h"

#define CAIRN_KEYFILE_VERSION 1
#define CAIRN_KEYFILE_TYPE "cairn-member-key"
#define CAIRN_NODEKEY_TYPE "cairn-validator-key"
#define CAIRN_KEYFILE_KDF "argon2id13"
/* Members of each JSON object; anything else makes the file malformed. */
#define CAIRN_KEYFILE_FIELDS 9
#define CAIRN_NODEKEY_FIELDS 4
#define CAIRN_KEYFILE_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define CAIRN_NODEKEY_SEED_BYTES crypto_sign_ed25519_SEEDBYTES

_Static_assert(CAIRN_KEYFILE_SALT_BYTES == crypto_pwhash_argon2id_SALTBYTES,
               "salt is hex16 in the file");
_Static_assert(CAIRN_KEYFILE_NONCE_BYTES ==
                   crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
               "nonce is hex24 in the file");
_Static_assert(CAIRN_KEYFILE_CT_BYTES ==
                   CAIRN_SECKEY_BYTES +
                       crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "ciphertext is hex48");
_Static_assert(CAIRN_NODEKEY_SEED_BYTES + CAIRN_ED25519_PUBKEY_BYTES ==
                   CAIRN_ED25519_SECKEY_BYTES,
               "libsodium secret key is seed || pk");

/* Every secret one call handles, locked and wiped as a unit. */
typedef struct keyfile_secrets {
  uint8_t key[CAIRN_KEYFILE_KEY_BYTES];
  uint8_t sk[CAIRN_SECKEY_BYTES];
  uint8_t ed_sk[CAIRN_ED25519_SECKEY_BYTES];
  uint8_t seed[CAIRN_NODEKEY_SEED_BYTES];
  char text[CAIRN_KEYFILE_BYTES_MAX + 1];
} keyfile_secrets;

static void secrets_open(keyfile_secrets *s) {
  memset(s, 0, sizeof *s);
  /* Best effort: RLIMIT_MEMLOCK may forbid it, and the wipe below does not
   * depend on it. */
  (void)sodium_mlock(s, sizeof *s);
}

static void secrets_close(keyfile_secrets *s) {
  sodium_memzero(s, sizeof *s);
  (void)sodium_munlock(s, sizeof *s);
}

void cairn_kdf_params_default(cairn_kdf_params *p) {
  assert(p != NULL);
  p->opslimit = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
  p->memlimit = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
}

static int kdf_params_ok(const cairn_kdf_params *p) {
  return p->opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
         p->opslimit <= CAIRN_KEYFILE_OPSLIMIT_MAX &&
         p->memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
         p->memlimit <= CAIRN_KEYFILE_MEMLIMIT_MAX;
}

/* Argon2id(passphrase, salt) -> key. NOMEM if Argon2 cannot allocate. */
static cairn_err keyfile_derive(uint8_t key[CAIRN_KEYFILE_KEY_BYTES],
                                const char *pass, size_t pass_len,
                                const uint8_t salt[CAIRN_KEYFILE_SALT_BYTES],
                                const cairn_kdf_params *p) {
  assert(kdf_params_ok(p));
  assert(pass != NULL || pass_len == 0);
  if (crypto_pwhash(key, CAIRN_KEYFILE_KEY_BYTES, pass_len ? pass : "",
                    pass_len, salt, p->opslimit, (size_t)p->memlimit,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    sodium_memzero(key, CAIRN_KEYFILE_KEY_BYTES);
    return CAIRN_ERR_NOMEM;
  }
  return CAIRN_OK;
}

/* ---- JSON fields ---- */

/* Member `name` as a string without embedded NUL bytes, or NULL. */
static const char *json_member_string(const json_t *obj, const char *name) {
  const json_t *v = json_object_get(obj, name);
  const char *s = json_string_value(v);
  if (s == NULL || strlen(s) != json_string_length(v)) return NULL;
  return s;
}

/* Member `name` as exactly n bytes of hex; KEYFILE otherwise. */
static cairn_err json_member_hex(uint8_t *out, size_t n, const json_t *obj,
                                 const char *name) {
  const char *hex = json_member_string(obj, name);
  if (hex == NULL) {
    memset(out, 0, n);
    return CAIRN_ERR_KEYFILE;
  }
  return cairn_hex_decode_exact(out, n, hex) == CAIRN_OK ? CAIRN_OK
                                                          : CAIRN_ERR_KEYFILE;
}

/* Member `name` as an integer in [min, max]; KEYFILE otherwise. */
static cairn_err json_member_u64(uint64_t *v, const json_t *obj,
                                 const char *name, uint64_t min, uint64_t max) {
  const json_t *j = json_object_get(obj, name);
  *v = 0;
  if (!json_is_integer(j) || json_integer_value(j) < 0) {
    return CAIRN_ERR_KEYFILE;
  }
  uint64_t x = (uint64_t)json_integer_value(j);
  if (x < min || x > max) return CAIRN_ERR_KEYFILE;
  *v = x;
  return CAIRN_OK;
}

/* The object has exactly `fields` members, version 1 and the given type. */
static cairn_err keyfile_header(const json_t *root, const char *type,
                                size_t fields) {
  uint64_t version;
  if (!json_is_object(root) || json_object_size(root) != fields) {
    return CAIRN_ERR_KEYFILE;
  }
  CAIRN_TRY(json_member_u64(&version, root, "version", CAIRN_KEYFILE_VERSION,
                            CAIRN_KEYFILE_VERSION));
  const char *t = json_member_string(root, "type");
  if (t == NULL || strcmp(t, type) != 0) return CAIRN_ERR_KEYFILE;
  return CAIRN_OK;
}

/* ---- member key files ---- */

/* The address member: copied verbatim for the AAD and decoded. */
static cairn_err keyfile_parse_address(cairn_keyfile_info *f,
                                       const json_t *root) {
  const char *addr = json_member_string(root, "address");
  if (addr == NULL || strlen(addr) != CAIRN_ADDRESS_CHARS) {
    return CAIRN_ERR_KEYFILE;
  }
  memcpy(f->address, addr, CAIRN_ADDRESS_BUF);
  cairn_err err = cairn_address_decode(f->pk, f->address);
  if (err == CAIRN_ERR_BAD_KEY) return err;
  return err == CAIRN_OK ? CAIRN_OK : CAIRN_ERR_KEYFILE;
}

static cairn_err keyfile_parse_json(cairn_keyfile_info *f, const json_t *root) {
  CAIRN_TRY(keyfile_header(root, CAIRN_KEYFILE_TYPE, CAIRN_KEYFILE_FIELDS));
  CAIRN_TRY(keyfile_parse_address(f, root));
  const char *kdf = json_member_string(root, "kdf");
  if (kdf == NULL || strcmp(kdf, CAIRN_KEYFILE_KDF) != 0) {
    return CAIRN_ERR_KEYFILE;
  }
  CAIRN_TRY(json_member_u64(&f->kdf.opslimit, root, "opslimit",
                            crypto_pwhash_argon2id_OPSLIMIT_MIN,
                            CAIRN_KEYFILE_OPSLIMIT_MAX));
  CAIRN_TRY(json_member_u64(&f->kdf.memlimit, root, "memlimit",
                            crypto_pwhash_argon2id_MEMLIMIT_MIN,
                            CAIRN_KEYFILE_MEMLIMIT_MAX));
  CAIRN_TRY(json_member_hex(f->salt, sizeof f->salt, root, "salt"));
  CAIRN_TRY(json_member_hex(f->nonce, sizeof f->nonce, root, "nonce"));
  CAIRN_TRY(json_member_hex(f->ct, sizeof f->ct, root, "ciphertext"));
  assert(kdf_params_ok(&f->kdf));
  return CAIRN_OK;
}

cairn_err cairn_keyfile_parse(cairn_keyfile_info *info, const char *text,
                              size_t len) {
  assert(info != NULL && (text != NULL || len == 0));
  memset(info, 0, sizeof *info);
  if (len > CAIRN_KEYFILE_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  json_error_t jerr;
  json_t *root = json_loadb(len > 0 ? text : "", len, JSON_REJECT_DUPLICATES,
                            &jerr);
  if (root == NULL) return CAIRN_ERR_KEYFILE;
  cairn_err err = keyfile_parse_json(info, root);
  json_decref(root);
  if (err != CAIRN_OK) memset(info, 0, sizeof *info);
  return err;
}

/* Read and parse a member key file; f is zeroed on failure. */
static cairn_err keyfile_load(cairn_keyfile_info *f, const char *path) {
  char *text = NULL;
  size_t len = 0;
  memset(f, 0, sizeof *f);
  CAIRN_TRY(cairn_file_read_all(path, CAIRN_KEYFILE_BYTES_MAX, &text, &len));
  cairn_err err = cairn_keyfile_parse(f, text, len);
  free(text);
  return err;
}

cairn_err cairn_keyfile_format(char *out, size_t cap, size_t *len,
                               const cairn_keyfile_info *f) {
  char salt[2 * sizeof f->salt + 1], nonce[2 * sizeof f->nonce + 1];
  char ct[2 * sizeof f->ct + 1];
  assert(out != NULL && len != NULL && f != NULL);
  assert(kdf_params_ok(&f->kdf));
  *len = 0;
  cairn_hex_encode(salt, sizeof salt, f->salt, sizeof f->salt);
  cairn_hex_encode(nonce, sizeof nonce, f->nonce, sizeof f->nonce);
  cairn_hex_encode(ct, sizeof ct, f->ct, sizeof f->ct);
  json_t *root = json_pack(
      "{s:i, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "version",
      CAIRN_KEYFILE_VERSION, "type", CAIRN_KEYFILE_TYPE, "address", f->address,
      "kdf", CAIRN_KEYFILE_KDF, "opslimit", (json_int_t)f->kdf.opslimit,
      "memlimit", (json_int_t)f->kdf.memlimit, "salt", salt, "nonce", nonce,
      "ciphertext", ct);
  if (root == NULL) return CAIRN_ERR_NOMEM;
  size_t n = json_dumpb(root, out, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (n == 0) return CAIRN_ERR_NOMEM;
  if (n >= cap) return CAIRN_ERR_OVERSIZE; /* no room for the newline */
  out[n++] = '\n';
  *len = n;
  return CAIRN_OK;
}

cairn_err cairn_keyfile_write(const char *path,
                              const uint8_t sk[CAIRN_SECKEY_BYTES],
                              const char *passphrase, size_t passphrase_len,
                              const cairn_kdf_params *params) {
  cairn_keyfile_info f;
  keyfile_secrets s;
  struct stat st;
  char text[CAIRN_KEYFILE_BYTES_MAX];
  size_t text_len = 0;
  assert(path != NULL && sk != NULL);
  memset(&f, 0, sizeof f);
  if (params != NULL) f.kdf = *params;
  else cairn_kdf_params_default(&f.kdf);
  assert(kdf_params_ok(&f.kdf));
  CAIRN_TRY(cairn_schnorr_pubkey(f.pk, sk));
  cairn_address_encode(f.address, sizeof f.address, f.pk);
  /* Refuse early, before spending the Argon2 time; the exclusive write
   * below is what makes the refusal race-free. */
  if (lstat(path, &st) == 0) return CAIRN_ERR_EXISTS;
  randombytes_buf(f.salt, sizeof f.salt);
  randombytes_buf(f.nonce, sizeof f.nonce);
  secrets_open(&s);
  cairn_err err =
      keyfile_derive(s.key, passphrase, passphrase_len, f.salt, &f.kdf);
  if (err == CAIRN_OK) {
    unsigned long long ct_len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        f.ct, &ct_len, sk, CAIRN_SECKEY_BYTES, (const uint8_t *)f.address,
        CAIRN_ADDRESS_CHARS, NULL, f.nonce, s.key);
    assert(ct_len == sizeof f.ct);
  }
  secrets_close(&s);
  if (err == CAIRN_OK) {
    err = cairn_keyfile_format(text, sizeof text, &text_len, &f);
  }
  if (err == CAIRN_OK) {
    err = cairn_file_write_atomic(path, text, text_len, 0600, true);
  }
  return err;
}

cairn_err cairn_keyfile_decrypt(const cairn_keyfile_info *f,
                                const char *passphrase, size_t passphrase_len,
                                uint8_t sk[CAIRN_SECKEY_BYTES],
                                uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  keyfile_secrets s;
  uint8_t derived[CAIRN_PUBKEY_BYTES];
  assert(f != NULL && sk != NULL && pk != NULL);
  assert(kdf_params_ok(&f->kdf));
  memset(sk, 0, CAIRN_SECKEY_BYTES);
  memset(pk, 0, CAIRN_PUBKEY_BYTES);
  secrets_open(&s);
  cairn_err err =
      keyfile_derive(s.key, passphrase, passphrase_len, f->salt, &f->kdf);
  if (err == CAIRN_OK &&
      crypto_aead_xchacha20poly1305_ietf_decrypt(
          s.sk, NULL, NULL, f->ct, sizeof f->ct, (const uint8_t *)f->address,
          CAIRN_ADDRESS_CHARS, f->nonce, s.key) != 0) {
    err = CAIRN_ERR_PASSPHRASE;
  }
  /* Authenticated, so this only fails for a file sealed by a buggy or
   * hostile writer: a secret that is not a key, or not the address's. */
  if (err == CAIRN_OK) err = cairn_schnorr_pubkey(derived, s.sk);
  if (err == CAIRN_OK && memcmp(derived, f->pk, sizeof derived) != 0) {
    err = CAIRN_ERR_BAD_KEY;
  }
  if (err == CAIRN_OK) {
    memcpy(sk, s.sk, CAIRN_SECKEY_BYTES);
    memcpy(pk, f->pk, CAIRN_PUBKEY_BYTES);
  }
  secrets_close(&s);
  return err;
}

cairn_err cairn_keyfile_read(const char *path, const char *passphrase,
                             size_t passphrase_len,
                             uint8_t sk[CAIRN_SECKEY_BYTES],
                             uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  cairn_keyfile_info f;
  assert(path != NULL && sk != NULL && pk != NULL);
  memset(sk, 0, CAIRN_SECKEY_BYTES);
  memset(pk, 0, CAIRN_PUBKEY_BYTES);
  CAIRN_TRY(keyfile_load(&f, path));
  return cairn_keyfile_decrypt(&f, passphrase, passphrase_len, sk, pk);
}

cairn_err cairn_keyfile_pubkey(const char *path,
                               uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  cairn_keyfile_info f;
  assert(path != NULL && pk != NULL);
  memset(pk, 0, CAIRN_PUBKEY_BYTES);
  CAIRN_TRY(keyfile_load(&f, path));
  memcpy(pk, f.pk, CAIRN_PUBKEY_BYTES);
  return CAIRN_OK;
}

/* ---- validator key files ---- */

cairn_err cairn_nodekey_format(char *out, size_t cap, size_t *len,
                               const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]) {
  keyfile_secrets s;
  uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES];
  char pk_hex[2 * CAIRN_ED25519_PUBKEY_BYTES + 1];
  char seed_hex[2 * CAIRN_NODEKEY_SEED_BYTES + 1];
  assert(out != NULL && len != NULL && sk != NULL);
  *len = 0;
  secrets_open(&s);
  /* libsodium's secret key is seed || pk: check the halves belong. */
  memcpy(s.seed, sk, CAIRN_NODEKEY_SEED_BYTES);
  cairn_err err = CAIRN_OK;
  if (crypto_sign_seed_keypair(pk, s.ed_sk, s.seed) != 0 ||
      memcmp(pk, sk + CAIRN_NODEKEY_SEED_BYTES, sizeof pk) != 0) {
    err = CAIRN_ERR_BAD_KEY;
  }
  if (err == CAIRN_OK) {
    cairn_hex_encode(pk_hex, sizeof pk_hex, pk, sizeof pk);
    cairn_hex_encode(seed_hex, sizeof seed_hex, s.seed, sizeof s.seed);
    int w = snprintf(out, cap,
                     "{\"version\":%d,\"type\":\"%s\",\"pubkey\":\"%s\","
                     "\"seed\":\"%s\"}\n",
                     CAIRN_KEYFILE_VERSION, CAIRN_NODEKEY_TYPE, pk_hex,
                     seed_hex);
    sodium_memzero(seed_hex, sizeof seed_hex);
    if (w < 0 || (size_t)w >= cap) {
      sodium_memzero(out, cap);
      err = CAIRN_ERR_OVERSIZE;
    } else {
      *len = (size_t)w;
    }
  }
  secrets_close(&s);
  return err;
}

cairn_err cairn_nodekey_write(const char *path,
                              const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]) {
  keyfile_secrets s;
  size_t n = 0;
  assert(path != NULL && sk != NULL);
  secrets_open(&s);
  cairn_err err = cairn_nodekey_format(s.text, sizeof s.text, &n, sk);
  if (err == CAIRN_OK) {
    err = cairn_file_write_atomic(path, s.text, n, 0600, true);
  }
  secrets_close(&s);
  return err;
}

/* Pull pubkey and seed out of a validator key file's JSON into pk and
 * s->seed, wiping jansson's copy of the seed text. */
static cairn_err nodekey_parse_json(keyfile_secrets *s,
                                    uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES],
                                    const char *text, size_t len) {
  json_error_t jerr;
  json_t *root = json_loadb(len > 0 ? text : "", len, JSON_REJECT_DUPLICATES,
                            &jerr);
  if (root == NULL) return CAIRN_ERR_KEYFILE;
  cairn_err err = keyfile_header(root, CAIRN_NODEKEY_TYPE,
                                 CAIRN_NODEKEY_FIELDS);
  if (err == CAIRN_OK) {
    err = json_member_hex(pk, CAIRN_ED25519_PUBKEY_BYTES, root, "pubkey");
  }
  if (err == CAIRN_OK) {
    err = json_member_hex(s->seed, sizeof s->seed, root, "seed");
  }
  json_t *seed = json_object_get(root, "seed");
  if (json_is_string(seed)) {
    /* jansson owns the string but frees it without wiping. */
    sodium_memzero((char *)json_string_value(seed), json_string_length(seed));
  }
  json_decref(root);
  return err;
}

/* Parse text (which may live in s->text) and derive the key pair, using s
 * for every secret; sk/pk are zeroed on failure. */
static cairn_err nodekey_parse_with(keyfile_secrets *s, const char *text,
                                    size_t len,
                                    uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
                                    uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]) {
  uint8_t file_pk[CAIRN_ED25519_PUBKEY_BYTES], derived[sizeof file_pk];
  memset(sk, 0, CAIRN_ED25519_SECKEY_BYTES);
  memset(pk, 0, CAIRN_ED25519_PUBKEY_BYTES);
  if (len > CAIRN_KEYFILE_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  cairn_err err = nodekey_parse_json(s, file_pk, text, len);
  if (err == CAIRN_OK &&
      crypto_sign_seed_keypair(derived, s->ed_sk, s->seed) != 0) {
    err = CAIRN_ERR_BAD_KEY;
  }
  if (err == CAIRN_OK && memcmp(derived, file_pk, sizeof derived) != 0) {
    err = CAIRN_ERR_BAD_KEY;
  }
  if (err == CAIRN_OK) {
    memcpy(sk, s->ed_sk, CAIRN_ED25519_SECKEY_BYTES);
    memcpy(pk, derived, CAIRN_ED25519_PUBKEY_BYTES);
  }
  return err;
}

cairn_err cairn_nodekey_parse(const char *text, size_t len,
                              uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
                              uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]) {
  keyfile_secrets s;
  assert((text != NULL || len == 0) && sk != NULL && pk != NULL);
  secrets_open(&s);
  cairn_err err = nodekey_parse_with(&s, text, len, sk, pk);
  secrets_close(&s);
  return err;
}

cairn_err cairn_nodekey_read(const char *path,
                             uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
                             uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]) {
  keyfile_secrets s;
  size_t len = 0;
  assert(path != NULL && sk != NULL && pk != NULL);
  memset(sk, 0, CAIRN_ED25519_SECKEY_BYTES);
  memset(pk, 0, CAIRN_ED25519_PUBKEY_BYTES);
  secrets_open(&s);
  /* A readable file is refused before its secret is ever in our memory;
   * the text goes only into the locked struct. */
  cairn_err err = cairn_file_read_private(path, s.text, sizeof s.text, &len);
  if (err == CAIRN_OK) err = nodekey_parse_with(&s, s.text, len, sk, pk);
  secrets_close(&s);
  return err;
}
