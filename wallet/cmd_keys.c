/*
 * cmd_keys.c - key files: `cairn keygen`, `cairn address`, and the helpers
 * every signing command uses to find and unlock a key.
 *
 * A member's or brand's secret key exists in the clear only inside the
 * command that signs with it: it is decrypted from its key file (Argon2id +
 * XChaCha20-Poly1305, keyfile.h) right before signing and wiped right
 * after, together with the passphrase. The address, by contrast, is stored
 * in the clear in the key file, so commands that only need to know *who*
 * (address, balance, coupon list, and the first steps of every transaction)
 * never ask for the passphrase.
 *
 * keygen never overwrites: losing a key file loses the points it holds, so
 * an existing file is an error (exit 4), checked before the passphrase is
 * asked for and again, atomically, when the file is created.
 *
 * CAIRN_KDF_FAST=1 selects libsodium's minimum Argon2 cost for new key
 * files. It exists for tests, which make many key files; real key files use
 * the interactive cost (cairn_kdf_params_default).
 */
#include "cairn/wallet.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cairn/address.h"
#include "cairn/keyfile.h"
#include "cairn/passphrase.h"

#define CAIRN_WALLET_PASSPHRASE_HINT                                           \
  "check the passphrase (CAIRN_PASSPHRASE or --passphrase-file)"

static cairn_err cairn_wallet_key_error(cairn_wallet *w, cairn_err err,
                                        const char *path) {
  char hint[512];
  switch (err) {
  case CAIRN_ERR_NOT_FOUND:
    snprintf(hint, sizeof hint, "create one with: cairn keygen --out %s",
             path);
    return cairn_wallet_fail(w, CAIRN_EXIT_KEY, err, hint,
                             "key file %s not found", path);
  case CAIRN_ERR_PASSPHRASE:
    return cairn_wallet_fail(w, CAIRN_EXIT_KEY, err,
                             CAIRN_WALLET_PASSPHRASE_HINT,
                             "wrong passphrase for key file %s (or the file "
                             "was altered)", path);
  case CAIRN_ERR_KEYFILE:
  case CAIRN_ERR_OVERSIZE:
    return cairn_wallet_fail(w, CAIRN_EXIT_KEY, err, NULL,
                             "%s is not a Cairn key file: %s", path,
                             cairn_strerror(err));
  default:
    return cairn_wallet_fail(w, CAIRN_EXIT_KEY, err, NULL,
                             "cannot use key file %s: %s", path,
                             cairn_strerror(err));
  }
}

static cairn_err cairn_wallet_passphrase(cairn_wallet *w,
                                         const cairn_passphrase_opts *o,
                                         cairn_passphrase *out) {
  char why[256] = "";
  cairn_err err = cairn_passphrase_get(out, o, why, sizeof why);
  if (err == CAIRN_OK) return CAIRN_OK;
  const char *hint = err == CAIRN_ERR_PASSPHRASE && o->file == NULL
                         ? "for scripts: export CAIRN_PASSPHRASE=... or put "
                           "it in a file for --passphrase-file"
                         : NULL;
  return cairn_wallet_fail(w, CAIRN_EXIT_KEY, err, hint, "%s",
                           why[0] != '\0' ? why : cairn_strerror(err));
}

cairn_err cairn_wallet_key_pubkey(cairn_wallet *w, const char *path,
                                  uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  cairn_err err = cairn_keyfile_pubkey(path, pk);
  return err == CAIRN_OK ? CAIRN_OK : cairn_wallet_key_error(w, err, path);
}

cairn_err cairn_wallet_key_unlock(cairn_wallet *w, const char *path,
                                  const char *passphrase_file,
                                  uint8_t sk[CAIRN_SECKEY_BYTES],
                                  uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  char prompt[512];
  snprintf(prompt, sizeof prompt, "Passphrase for %s: ", path);
  cairn_passphrase_opts o = {.file = passphrase_file, .prompt = prompt,
                             .allow_empty = true};
  cairn_passphrase pass;
  CAIRN_TRY(cairn_wallet_passphrase(w, &o, &pass));
  cairn_err err = cairn_keyfile_read(path, pass.buf, pass.len, sk, pk);
  cairn_passphrase_wipe(&pass);
  if (err != CAIRN_OK) return cairn_wallet_key_error(w, err, path);
  return CAIRN_OK;
}

cairn_err cairn_wallet_account_arg(cairn_wallet *w, const char *address,
                                   const char *key_path,
                                   uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  if ((address == NULL) == (key_path == NULL)) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "e.g. cairn balance --key me.key",
                             "give either an ADDRESS or --key FILE");
  }
  if (address != NULL) return cairn_wallet_address(w, "", address, pk);
  return cairn_wallet_key_pubkey(w, key_path, pk);
}

/* ---- keygen ---- */

static const cairn_opt cairn_keygen_opts[] = {
    {"out", "FILE", "where to write the new key file (never overwritten)"},
    {"passphrase-file", "FILE", "read the passphrase from the first line of "
                                "FILE"},
};
static const cairn_cmd_spec cairn_keygen_spec = {
    "keygen", "--out FILE",
    "Create a new member or brand key, encrypted with a passphrase, and "
    "print its address.",
    cairn_keygen_opts, 2, 0, 0};

static void cairn_wallet_kdf_params(cairn_kdf_params *p) {
  const char *fast = getenv(CAIRN_WALLET_KDF_FAST_ENV);
  if (fast != NULL && strcmp(fast, "1") == 0) {
    p->opslimit = crypto_pwhash_OPSLIMIT_MIN;
    p->memlimit = crypto_pwhash_MEMLIMIT_MIN;
  } else {
    cairn_kdf_params_default(p);
  }
}

/* Generate a key and write it to out; pk receives the public key. */
static cairn_err cairn_wallet_keygen_write(cairn_wallet *w, const char *out,
                                           const cairn_passphrase *pass,
                                           uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  uint8_t sk[CAIRN_SECKEY_BYTES];
  cairn_err err = cairn_schnorr_keygen(sk, pk);
  cairn_kdf_params params;
  cairn_wallet_kdf_params(&params);
  if (err == CAIRN_OK) {
    err = cairn_keyfile_write(out, sk, pass->buf, pass->len, &params);
  }
  sodium_memzero(sk, sizeof sk);
  if (err == CAIRN_ERR_EXISTS) {
    return cairn_wallet_fail(w, CAIRN_EXIT_KEY, err, "choose another --out "
                             "path", "key file %s already exists; refusing "
                             "to overwrite it", out);
  }
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_KEY, err, NULL,
                             "cannot write key file %s: %s", out,
                             cairn_strerror(err));
  }
  return CAIRN_OK;
}

static cairn_err cairn_wallet_keygen(cairn_wallet *w, const cairn_args *a) {
  const char *out = cairn_wallet_opt(&cairn_keygen_spec, a, "out");
  if (out == NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "e.g. cairn keygen --out me.key",
                             "keygen needs --out FILE");
  }
  struct stat st;
  if (lstat(out, &st) == 0) {
    return cairn_wallet_fail(w, CAIRN_EXIT_KEY, CAIRN_ERR_EXISTS,
                             "choose another --out path", "key file %s "
                             "already exists; refusing to overwrite it", out);
  }
  char prompt[512];
  snprintf(prompt, sizeof prompt, "New passphrase for %s: ", out);
  cairn_passphrase_opts o = {
      .file = cairn_wallet_opt(&cairn_keygen_spec, a, "passphrase-file"),
      .prompt = prompt, .confirm = true, .allow_empty = false};
  cairn_passphrase pass;
  CAIRN_TRY(cairn_wallet_passphrase(w, &o, &pass));
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  cairn_err err = cairn_wallet_keygen_write(w, out, &pass, pk);
  cairn_passphrase_wipe(&pass);
  if (err != CAIRN_OK) return err;
  char addr[CAIRN_ADDRESS_BUF];
  cairn_address_encode(addr, sizeof addr, pk);
  if (w->json) {
    json_t *j = json_pack("{s:s, s:s}", "address", addr, "key_file", out);
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
  } else {
    printf("created key file %s (keep it and its passphrase safe)\n"
           "address %s\n", out, addr);
  }
  return CAIRN_OK;
}

int cairn_cmd_keygen(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_keygen_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_wallet_keygen(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- address ---- */

static const cairn_opt cairn_address_opts[] = {
    {"key", "FILE", "the key file (no passphrase needed)"},
};
static const cairn_cmd_spec cairn_address_spec = {
    "address", "--key FILE", "Print the address of a key file.",
    cairn_address_opts, 1, 0, 0};

static cairn_err cairn_wallet_address_cmd(cairn_wallet *w,
                                          const cairn_args *a) {
  const char *key = cairn_wallet_opt(&cairn_address_spec, a, "key");
  if (key == NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "e.g. cairn address --key me.key",
                             "address needs --key FILE");
  }
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  CAIRN_TRY(cairn_wallet_key_pubkey(w, key, pk));
  char addr[CAIRN_ADDRESS_BUF];
  cairn_address_encode(addr, sizeof addr, pk);
  if (w->json) {
    json_t *j = json_pack("{s:s}", "address", addr);
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
  } else {
    printf("%s\n", addr);
  }
  return CAIRN_OK;
}

int cairn_cmd_address(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_address_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_wallet_address_cmd(w, &a);
  return cairn_wallet_exit(w, err);
}
