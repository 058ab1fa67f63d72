/*
 * tests/fuzz/fuzz_keyfile.c - encrypted member/brand key files.
 *
 * Input: the text of a key file. Properties: a rejected file leaves the
 * parsed fields zeroed; an accepted one formats to text that parses back
 * to the same fields, and formatting is deterministic.
 *
 * Decryption runs Argon2id with the cost the file names, which parsing
 * allows up to 64 passes over 1 GiB - a legitimate file may ask for that,
 * but one fuzz input must not take seconds. So the target decrypts only
 * when the file asks for at most FUZZ_KDF_OPS_MAX passes over
 * FUZZ_KDF_MEM_MAX bytes (the seeds use libsodium's minimum, so mutations
 * of them reach the decryption paths: wrong passphrase, tampered
 * ciphertext or address, a sealed secret that is not the address's key);
 * the cost bounds themselves are exercised by the parser on every input.
 * The seeds are sealed with the passphrase "fuzz".
 */
#include "fuzz.h"

#include "cairn/keyfile.h"

#define FUZZ_KDF_OPS_MAX 3u
#define FUZZ_KDF_MEM_MAX (64u * 1024u)
#define FUZZ_PASSPHRASE "fuzz"

static void fuzz_keyfile_decrypt(const cairn_keyfile_info *info) {
  if (info->kdf.opslimit > FUZZ_KDF_OPS_MAX ||
      info->kdf.memlimit > FUZZ_KDF_MEM_MAX) {
    return;
  }
  uint8_t sk[CAIRN_SECKEY_BYTES], pk[CAIRN_PUBKEY_BYTES];
  cairn_err err = cairn_keyfile_decrypt(info, FUZZ_PASSPHRASE,
                                        strlen(FUZZ_PASSPHRASE), sk, pk);
  FUZZ_CHECK(err == CAIRN_OK || err == CAIRN_ERR_PASSPHRASE ||
             err == CAIRN_ERR_BAD_KEY);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(sk, sizeof sk) && fuzz_all_zero(pk, sizeof pk));
    return;
  }
  uint8_t derived[CAIRN_PUBKEY_BYTES];
  FUZZ_CHECK(cairn_schnorr_pubkey(derived, sk) == CAIRN_OK);
  FUZZ_CHECK(memcmp(derived, info->pk, sizeof derived) == 0);
  FUZZ_CHECK(memcmp(pk, info->pk, sizeof pk) == 0);
  sodium_memzero(sk, sizeof sk);
}

static bool fuzz_keyfile_same(const cairn_keyfile_info *a,
                              const cairn_keyfile_info *b) {
  return strcmp(a->address, b->address) == 0 &&
         memcmp(a->pk, b->pk, sizeof a->pk) == 0 &&
         a->kdf.opslimit == b->kdf.opslimit &&
         a->kdf.memlimit == b->kdf.memlimit &&
         memcmp(a->salt, b->salt, sizeof a->salt) == 0 &&
         memcmp(a->nonce, b->nonce, sizeof a->nonce) == 0 &&
         memcmp(a->ct, b->ct, sizeof a->ct) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cairn_keyfile_info info, again;
  char text[CAIRN_KEYFILE_BYTES_MAX], text2[CAIRN_KEYFILE_BYTES_MAX];
  size_t len = 0, len2 = 0;
  fuzz_init();
  cairn_err err = cairn_keyfile_parse(&info, (const char *)data, size);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(err == CAIRN_ERR_KEYFILE || err == CAIRN_ERR_BAD_KEY ||
               err == CAIRN_ERR_OVERSIZE);
    FUZZ_CHECK(fuzz_all_zero(&info, sizeof info));
    return 0;
  }
  FUZZ_CHECK(cairn_keyfile_format(text, sizeof text, &len, &info) == CAIRN_OK);
  FUZZ_CHECK(cairn_keyfile_parse(&again, text, len) == CAIRN_OK);
  FUZZ_CHECK(fuzz_keyfile_same(&again, &info));
  FUZZ_CHECK(cairn_keyfile_format(text2, sizeof text2, &len2, &again) ==
             CAIRN_OK);
  FUZZ_CHECK(len2 == len && memcmp(text, text2, len) == 0);
  fuzz_keyfile_decrypt(&info);
  return 0;
}
