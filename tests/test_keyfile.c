/*
 * test_keyfile.c - encrypted member key files and validator key files.
 *
 * Round trips; a file assembled here directly with libsodium and jansson
 * (independently of keyfile.c) is readable, which pins the format; each
 * rejection (wrong passphrase, tampered ciphertext/salt/nonce/address,
 * malformed or hostile JSON, oversize, missing, existing, permissions,
 * mismatched keys) gives its exact error and zeroed outputs; the same
 * parsers work from memory (parse, format, decrypt), as the fuzz targets
 * use them. Argon2 runs
 * with libsodium's minimum cost except in one default-cost round trip.
 * Files live in a fresh directory under /tmp, removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/keyfile.h"
#include "cairn/limits.h"
#include "cairn/sig.h"

#define PASS "correct horse battery staple"

static const cairn_kdf_params cheap = {crypto_pwhash_argon2id_OPSLIMIT_MIN,
                                       crypto_pwhash_argon2id_MEMLIMIT_MIN};
static const uint8_t zero64[64];

typedef struct fixture {
  char dir[64];
  unsigned counter;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  memcpy(f->dir, "/tmp/cairn-test-keyfile-XXXXXX", 31);
  if (mkdtemp(f->dir) == NULL) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  DIR *d = opendir(f->dir);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char p[512];
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if ((size_t)snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name) < sizeof p)
        unlink(p);
    }
    closedir(d);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

/* A fresh path in the fixture directory. */
static void new_path(char *out, size_t cap, fixture *f, const char *stem) {
  int n = snprintf(out, cap, "%s/%s-%u", f->dir, stem, f->counter++);
  assert_true(n > 0 && (size_t)n < cap);
}

static void put_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  size_t len = strlen(text);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  assert_int_equal(fchmod(fd, mode), 0);
  assert_int_equal(close(fd), 0);
}

static char *slurp(const char *path) {
  char *buf = NULL;
  size_t len = 0;
  assert_int_equal(cairn_file_read_all(path, 1 << 16, &buf, &len), CAIRN_OK);
  return buf;
}

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

/* Copy src's JSON to dst with member key set to value (NULL: deleted). */
static void edit_json(const char *dst, const char *src, const char *key,
                      json_t *value) {
  json_error_t jerr;
  json_t *root = json_load_file(src, 0, &jerr);
  assert_non_null(root);
  if (value == NULL) {
    assert_int_equal(json_object_del(root, key), 0);
  } else {
    assert_int_equal(json_object_set_new(root, key, value), 0);
  }
  char *text = json_dumps(root, JSON_COMPACT);
  assert_non_null(text);
  put_file(dst, text, 0600);
  free(text);
  json_decref(root);
}

/* Flip the low bit of hex digit `at` of a hex string member. */
static json_t *flipped_hex(const char *src, const char *key, size_t at) {
  json_error_t jerr;
  json_t *root = json_load_file(src, 0, &jerr);
  assert_non_null(root);
  char hex[256];
  const char *v = json_string_value(json_object_get(root, key));
  assert_non_null(v);
  assert_true(strlen(v) < sizeof hex && at < strlen(v));
  strcpy(hex, v);
  static const char digits[] = "0123456789abcdef";
  const char *d = strchr(digits, hex[at]);
  assert_non_null(d);
  hex[at] = digits[(d - digits) ^ 1];
  json_decref(root);
  return json_string(hex);
}

static void expect_read(const char *path, const char *pass, cairn_err want) {
  uint8_t sk[32], pk[32];
  memset(sk, 0xaa, sizeof sk);
  memset(pk, 0xaa, sizeof pk);
  cairn_err got = cairn_keyfile_read(path, pass, strlen(pass), sk, pk);
  if (got != want) {
    fprintf(stderr, "%s: got %s want %s\n", path, cairn_errname(got),
            cairn_errname(want));
  }
  assert_int_equal(got, want);
  if (want != CAIRN_OK) {
    assert_memory_equal(sk, zero64, 32);
    assert_memory_equal(pk, zero64, 32);
  }
}

/* A valid cheap key file for a fresh key; returns its key pair. */
static void make_keyfile(char *path, size_t cap, fixture *f, uint8_t sk[32],
                         uint8_t pk[32]) {
  new_path(path, cap, f, "member");
  assert_int_equal(cairn_schnorr_keygen(sk, pk), CAIRN_OK);
  assert_int_equal(cairn_keyfile_write(path, sk, PASS, strlen(PASS), &cheap),
                   CAIRN_OK);
}

static void test_round_trip_and_format(void **state) {
  fixture *f = *state;
  char path[256], addr[CAIRN_ADDRESS_BUF];
  uint8_t sk[32], pk[32], sk2[32], pk2[32];
  mode_t old = umask(0);
  make_keyfile(path, sizeof path, f, sk, pk);
  umask(old);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(cairn_keyfile_read(path, PASS, strlen(PASS), sk2, pk2),
                   CAIRN_OK);
  assert_memory_equal(sk2, sk, 32);
  assert_memory_equal(pk2, pk, 32);
  memset(pk2, 0, sizeof pk2);
  assert_int_equal(cairn_keyfile_pubkey(path, pk2), CAIRN_OK);
  assert_memory_equal(pk2, pk, 32);
  /* The JSON is exactly the documented object. */
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  assert_non_null(root);
  assert_int_equal(json_object_size(root), 9);
  assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
  assert_string_equal(json_string_value(json_object_get(root, "type")),
                      "cairn-member-key");
  cairn_address_encode(addr, sizeof addr, pk);
  assert_string_equal(json_string_value(json_object_get(root, "address")),
                      addr);
  assert_string_equal(json_string_value(json_object_get(root, "kdf")),
                      "argon2id13");
  assert_int_equal(json_integer_value(json_object_get(root, "opslimit")),
                   cheap.opslimit);
  assert_int_equal(json_integer_value(json_object_get(root, "memlimit")),
                   cheap.memlimit);
  assert_int_equal(strlen(json_string_value(json_object_get(root, "salt"))),
                   32);
  assert_int_equal(strlen(json_string_value(json_object_get(root, "nonce"))),
                   48);
  assert_int_equal(
      strlen(json_string_value(json_object_get(root, "ciphertext"))), 96);
  json_decref(root);
  /* An empty passphrase is a passphrase like any other. */
  new_path(path, sizeof path, f, "empty-pass");
  assert_int_equal(cairn_keyfile_write(path, sk, "", 0, &cheap), CAIRN_OK);
  assert_int_equal(cairn_keyfile_read(path, "", 0, sk2, pk2), CAIRN_OK);
  assert_memory_equal(sk2, sk, 32);
  expect_read(path, "x", CAIRN_ERR_PASSPHRASE);
}

static void test_default_params_round_trip(void **state) {
  fixture *f = *state;
  char path[256];
  uint8_t sk[32], pk[32], sk2[32], pk2[32];
  cairn_kdf_params def;
  cairn_kdf_params_default(&def);
  assert_int_equal(def.opslimit, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
  assert_int_equal(def.memlimit, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
  new_path(path, sizeof path, f, "default");
  assert_int_equal(cairn_schnorr_keygen(sk, pk), CAIRN_OK);
  assert_int_equal(cairn_keyfile_write(path, sk, PASS, strlen(PASS), NULL),
                   CAIRN_OK);
  assert_int_equal(cairn_keyfile_read(path, PASS, strlen(PASS), sk2, pk2),
                   CAIRN_OK);
  assert_memory_equal(sk2, sk, 32);
  assert_memory_equal(pk2, pk, 32);
  json_error_t jerr;
  json_t *root = json_load_file(path, 0, &jerr);
  assert_non_null(root);
  assert_int_equal(json_integer_value(json_object_get(root, "memlimit")),
                   def.memlimit);
  json_decref(root);
}

/* Build a member key file by hand from the documented format: Argon2id,
 * XChaCha20-Poly1305 with the address string as associated data. The
 * address may belong to a different key than sk. */
static void handmade_keyfile(const char *path, const uint8_t sk[32],
                             const char *addr) {
  uint8_t salt[16], nonce[24], key[32], ct[48];
  char salt_hex[33], nonce_hex[49], ct_hex[97];
  unsigned long long ct_len;
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  assert_int_equal(crypto_pwhash(key, sizeof key, PASS, strlen(PASS), salt,
                                 cheap.opslimit, cheap.memlimit,
                                 crypto_pwhash_ALG_ARGON2ID13),
                   0);
  crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, sk, 32,
                                             (const uint8_t *)addr,
                                             strlen(addr), NULL, nonce, key);
  assert_int_equal(ct_len, 48);
  cairn_hex_encode(salt_hex, sizeof salt_hex, salt, sizeof salt);
  cairn_hex_encode(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
  cairn_hex_encode(ct_hex, sizeof ct_hex, ct, sizeof ct);
  char text[1024];
  int n = snprintf(text, sizeof text,
                   "{\n  \"version\": 1, \"type\": \"cairn-member-key\",\n"
                   "  \"address\": \"%s\", \"kdf\": \"argon2id13\",\n"
                   "  \"opslimit\": %llu, \"memlimit\": %llu,\n"
                   "  \"salt\": \"%s\", \"nonce\": \"%s\",\n"
                   "  \"ciphertext\": \"%s\"\n}\n",
                   addr, (unsigned long long)cheap.opslimit,
                   (unsigned long long)cheap.memlimit, salt_hex, nonce_hex,
                   ct_hex);
  assert_true(n > 0 && (size_t)n < sizeof text);
  put_file(path, text, 0600);
}

static void test_handmade_file(void **state) {
  fixture *f = *state;
  char path[256], addr[CAIRN_ADDRESS_BUF];
  uint8_t sk[32], pk[32], sk2[32], pk2[32], other_sk[32], other_pk[32];
  assert_int_equal(cairn_schnorr_keygen(sk, pk), CAIRN_OK);
  cairn_address_encode(addr, sizeof addr, pk);
  new_path(path, sizeof path, f, "handmade");
  handmade_keyfile(path, sk, addr);
  assert_int_equal(cairn_keyfile_read(path, PASS, strlen(PASS), sk2, pk2),
                   CAIRN_OK);
  assert_memory_equal(sk2, sk, 32);
  assert_memory_equal(pk2, pk, 32);
  /* Authentic encryption, but of a secret that is not the address's key. */
  assert_int_equal(cairn_schnorr_keygen(other_sk, other_pk), CAIRN_OK);
  new_path(path, sizeof path, f, "mislabelled");
  handmade_keyfile(path, other_sk, addr);
  expect_read(path, PASS, CAIRN_ERR_BAD_KEY);
}

static void test_wrong_passphrase_and_tampering(void **state) {
  fixture *f = *state;
  char path[256], bad[256], addr[CAIRN_ADDRESS_BUF];
  uint8_t sk[32], pk[32], sk2[32], pk2[32];
  make_keyfile(path, sizeof path, f, sk, pk);
  char *before = slurp(path);
  expect_read(path, "wrong", CAIRN_ERR_PASSPHRASE);
  expect_read(path, PASS "x", CAIRN_ERR_PASSPHRASE);
  expect_read(path, "", CAIRN_ERR_PASSPHRASE);
  /* One flipped bit anywhere in ciphertext, nonce or salt. */
  static const char *fields[] = {"ciphertext", "nonce", "salt"};
  for (size_t i = 0; i < 3; i++) {
    size_t digits = i == 0 ? 96 : i == 1 ? 48 : 32;
    for (size_t at = 0; at < digits; at += 7) {
      new_path(bad, sizeof bad, f, "tampered");
      edit_json(bad, path, fields[i], flipped_hex(path, fields[i], at));
      expect_read(bad, PASS, CAIRN_ERR_PASSPHRASE);
    }
  }
  /* A different cost makes a different key. */
  new_path(bad, sizeof bad, f, "ops");
  edit_json(bad, path, "opslimit", json_integer(2));
  expect_read(bad, PASS, CAIRN_ERR_PASSPHRASE);
  /* Relabelled with another valid address: the AAD no longer matches. */
  assert_int_equal(cairn_schnorr_keygen(sk2, pk2), CAIRN_OK);
  cairn_address_encode(addr, sizeof addr, pk2);
  new_path(bad, sizeof bad, f, "relabelled");
  edit_json(bad, path, "address", json_string(addr));
  expect_read(bad, PASS, CAIRN_ERR_PASSPHRASE);
  /* The original is untouched by all of this and still opens. */
  char *after = slurp(path);
  assert_string_equal(before, after);
  free(before);
  free(after);
  assert_int_equal(cairn_keyfile_read(path, PASS, strlen(PASS), sk2, pk2),
                   CAIRN_OK);
  assert_memory_equal(sk2, sk, 32);
}

static void expect_malformed(fixture *f, const char *src, const char *key,
                             json_t *value, cairn_err want) {
  char bad[256];
  uint8_t pk[32];
  new_path(bad, sizeof bad, f, "malformed");
  edit_json(bad, src, key, value);
  expect_read(bad, PASS, want);
  memset(pk, 0xaa, sizeof pk);
  assert_int_equal(cairn_keyfile_pubkey(bad, pk), want);
  assert_memory_equal(pk, zero64, 32);
}

static void test_malformed_fields(void **state) {
  fixture *f = *state;
  char path[256], addr[CAIRN_ADDRESS_BUF];
  uint8_t sk[32], pk[32];
  make_keyfile(path, sizeof path, f, sk, pk);
  cairn_address_encode(addr, sizeof addr, pk);
  static const char *members[] = {"version", "type",     "address",
                                  "kdf",     "opslimit", "memlimit",
                                  "salt",    "nonce",    "ciphertext"};
  for (size_t i = 0; i < 9; i++) {
    expect_malformed(f, path, members[i], NULL, CAIRN_ERR_KEYFILE);
    expect_malformed(f, path, members[i], json_null(), CAIRN_ERR_KEYFILE);
  }
  const cairn_err K = CAIRN_ERR_KEYFILE;
  expect_malformed(f, path, "extra", json_true(), K);
  expect_malformed(f, path, "version", json_integer(2), K);
  expect_malformed(f, path, "version", json_string("1"), K);
  expect_malformed(f, path, "type", json_string("cairn-validator-key"), K);
  expect_malformed(f, path, "kdf", json_string("scrypt"), K);
  /* Hostile costs are refused before anything is allocated. */
  expect_malformed(f, path, "opslimit", json_integer(0), K);
  expect_malformed(f, path, "opslimit", json_integer(65), K);
  expect_malformed(f, path, "opslimit", json_integer(-1), K);
  expect_malformed(f, path, "opslimit", json_real(2.0), K);
  expect_malformed(f, path, "memlimit",
                   json_integer(crypto_pwhash_argon2id_MEMLIMIT_MIN - 1), K);
  expect_malformed(f, path, "memlimit", json_integer(1073741824LL + 1), K);
  expect_malformed(f, path, "memlimit", json_integer(1LL << 62), K);
  expect_malformed(f, path, "memlimit", json_string("65536"), K);
  /* Hex of the wrong length, odd length, or with a bad digit. */
  expect_malformed(f, path, "salt", json_string("00"), K);
  expect_malformed(f, path, "salt", json_string("000"), K);
  expect_malformed(f, path, "salt",
                   json_string("0123456789abcdef0123456789abcdeg"), K);
  expect_malformed(f, path, "nonce", json_string(""), K);
  expect_malformed(f, path, "ciphertext", json_integer(5), K);
  /* Addresses: a typo is a malformed file; a non-key is a bad key. */
  addr[20] = addr[20] == 'q' ? 'p' : 'q';
  expect_malformed(f, path, "address", json_string(addr), K);
  expect_malformed(f, path, "address", json_string("cairn1"), K);
  expect_malformed(
      f, path, "address",
      json_string(
          "cairn1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzstde6sd"),
      CAIRN_ERR_BAD_KEY);
}

static void test_malformed_text(void **state) {
  fixture *f = *state;
  char path[256], bad[256];
  uint8_t sk[32], pk[32];
  make_keyfile(path, sizeof path, f, sk, pk);
  char *good = slurp(path);
  size_t good_len = strlen(good);
  static const char *texts[] = {"", "{", "[]", "null", "\"x\"", "{}",
                                "not json at all"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    new_path(bad, sizeof bad, f, "text");
    put_file(bad, texts[i], 0600);
    expect_read(bad, PASS, CAIRN_ERR_KEYFILE);
  }
  /* Truncated at every length, and trailing garbage. */
  char *cut = malloc(good_len + 16);
  assert_non_null(cut);
  for (size_t n = 0; n + 1 < good_len; n += 13) {
    memcpy(cut, good, n);
    cut[n] = '\0';
    new_path(bad, sizeof bad, f, "cut");
    put_file(bad, cut, 0600);
    expect_read(bad, PASS, CAIRN_ERR_KEYFILE);
  }
  snprintf(cut, good_len + 16, "%s{}", good);
  new_path(bad, sizeof bad, f, "trailing");
  put_file(bad, cut, 0600);
  expect_read(bad, PASS, CAIRN_ERR_KEYFILE);
  /* A duplicated member. */
  assert_true(good[0] == '{');
  snprintf(cut, good_len + 16, "{\"kdf\":\"x\",%s", good + 1);
  new_path(bad, sizeof bad, f, "dup");
  put_file(bad, cut, 0600);
  expect_read(bad, PASS, CAIRN_ERR_KEYFILE);
  free(cut);
  /* Larger than CAIRN_KEYFILE_BYTES_MAX, even if it is valid JSON. */
  char *big = malloc(CAIRN_KEYFILE_BYTES_MAX + 2);
  assert_non_null(big);
  memset(big, ' ', CAIRN_KEYFILE_BYTES_MAX + 1);
  memcpy(big, good, good_len);
  big[CAIRN_KEYFILE_BYTES_MAX + 1] = '\0';
  new_path(bad, sizeof bad, f, "big");
  put_file(bad, big, 0600);
  expect_read(bad, PASS, CAIRN_ERR_OVERSIZE);
  /* ... while exactly the limit is read (and, being valid, opens). */
  big[CAIRN_KEYFILE_BYTES_MAX] = '\0';
  new_path(bad, sizeof bad, f, "limit");
  put_file(bad, big, 0600);
  expect_read(bad, PASS, CAIRN_OK);
  free(big);
  free(good);
}

static void test_missing_and_existing(void **state) {
  fixture *f = *state;
  char path[256];
  uint8_t sk[32], pk[32];
  new_path(path, sizeof path, f, "missing");
  expect_read(path, PASS, CAIRN_ERR_NOT_FOUND);
  assert_int_equal(cairn_keyfile_pubkey(path, pk), CAIRN_ERR_NOT_FOUND);
  /* Never overwrite: any existing file stays exactly as it was. */
  put_file(path, "precious", 0644);
  assert_int_equal(cairn_schnorr_keygen(sk, pk), CAIRN_OK);
  assert_int_equal(cairn_keyfile_write(path, sk, PASS, strlen(PASS), &cheap),
                   CAIRN_ERR_EXISTS);
  char *now = slurp(path);
  assert_string_equal(now, "precious");
  free(now);
  assert_int_equal(mode_of(path), 0644);
  /* An invalid secret key writes nothing. */
  uint8_t bad_sk[32] = {0};
  new_path(path, sizeof path, f, "badsk");
  assert_int_equal(
      cairn_keyfile_write(path, bad_sk, PASS, strlen(PASS), &cheap),
      CAIRN_ERR_BAD_KEY);
  assert_int_equal(access(path, F_OK), -1);
}

/* ---- validator key files ---- */

static void expect_nodekey(const char *path, cairn_err want) {
  uint8_t sk[64], pk[32];
  memset(sk, 0xaa, sizeof sk);
  memset(pk, 0xaa, sizeof pk);
  assert_int_equal(cairn_nodekey_read(path, sk, pk), want);
  assert_memory_equal(sk, zero64, 64);
  assert_memory_equal(pk, zero64, 32);
}

static void test_nodekey(void **state) {
  fixture *f = *state;
  char path[256], bad[256], hex[65];
  uint8_t sk[64], pk[32], sk2[64], pk2[32], o_sk[64], o_pk[32];
  assert_int_equal(cairn_ed25519_keygen(pk, sk), CAIRN_OK);
  new_path(path, sizeof path, f, "node");
  mode_t old = umask(0);
  assert_int_equal(cairn_nodekey_write(path, sk), CAIRN_OK);
  umask(old);
  assert_int_equal(mode_of(path), 0600);
  assert_int_equal(cairn_nodekey_read(path, sk2, pk2), CAIRN_OK);
  assert_memory_equal(sk2, sk, 64);
  assert_memory_equal(pk2, pk, 32);
  /* The documented JSON. */
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  assert_non_null(root);
  assert_int_equal(json_object_size(root), 4);
  assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
  assert_string_equal(json_string_value(json_object_get(root, "type")),
                      "cairn-validator-key");
  cairn_hex_encode(hex, sizeof hex, pk, 32);
  assert_string_equal(json_string_value(json_object_get(root, "pubkey")), hex);
  cairn_hex_encode(hex, sizeof hex, sk, 32);
  assert_string_equal(json_string_value(json_object_get(root, "seed")), hex);
  json_decref(root);
  /* Exists: refused, unchanged. */
  char *before = slurp(path);
  assert_int_equal(cairn_ed25519_keygen(o_pk, o_sk), CAIRN_OK);
  assert_int_equal(cairn_nodekey_write(path, o_sk), CAIRN_ERR_EXISTS);
  char *after = slurp(path);
  assert_string_equal(before, after);
  free(before);
  free(after);
  /* Readable by others: refused before reading. */
  assert_int_equal(chmod(path, 0644), 0);
  expect_nodekey(path, CAIRN_ERR_PERM);
  assert_int_equal(chmod(path, 0640), 0);
  expect_nodekey(path, CAIRN_ERR_PERM);
  assert_int_equal(chmod(path, 0600), 0);
  /* Another key's public key next to this seed. */
  cairn_hex_encode(hex, sizeof hex, o_pk, 32);
  new_path(bad, sizeof bad, f, "node-mismatch");
  edit_json(bad, path, "pubkey", json_string(hex));
  expect_nodekey(bad, CAIRN_ERR_BAD_KEY);
  /* Malformed. */
  new_path(bad, sizeof bad, f, "node-noseed");
  edit_json(bad, path, "seed", NULL);
  expect_nodekey(bad, CAIRN_ERR_KEYFILE);
  new_path(bad, sizeof bad, f, "node-badhex");
  edit_json(bad, path, "seed", json_string("zz"));
  expect_nodekey(bad, CAIRN_ERR_KEYFILE);
  new_path(bad, sizeof bad, f, "node-type");
  edit_json(bad, path, "type", json_string("cairn-member-key"));
  expect_nodekey(bad, CAIRN_ERR_KEYFILE);
  new_path(bad, sizeof bad, f, "node-text");
  put_file(bad, "{\"version\":1", 0600);
  expect_nodekey(bad, CAIRN_ERR_KEYFILE);
  new_path(bad, sizeof bad, f, "node-missing");
  expect_nodekey(bad, CAIRN_ERR_NOT_FOUND);
  /* A secret key whose halves do not belong together writes nothing. */
  memcpy(o_sk + 32, pk, 32);
  new_path(bad, sizeof bad, f, "node-inconsistent");
  assert_int_equal(cairn_nodekey_write(bad, o_sk), CAIRN_ERR_BAD_KEY);
  assert_int_equal(access(bad, F_OK), -1);
}

/* ---- parsing from memory (the functions the file readers and the fuzz
 * targets share) ---- */

static void expect_parse(const char *text, size_t len, cairn_err want) {
  cairn_keyfile_info info;
  memset(&info, 0xaa, sizeof info);
  assert_int_equal(cairn_keyfile_parse(&info, text, len), want);
  if (want != CAIRN_OK) {
    static const cairn_keyfile_info zero;
    assert_memory_equal(&info, &zero, sizeof info);
  }
}

static void test_parse_format_decrypt_in_memory(void **state) {
  fixture *f = *state;
  char path[256], out[CAIRN_KEYFILE_BYTES_MAX], addr[CAIRN_ADDRESS_BUF];
  uint8_t sk[32], pk[32], sk2[32], pk2[32];
  size_t out_len = 0;
  make_keyfile(path, sizeof path, f, sk, pk);
  char *text = slurp(path);
  cairn_keyfile_info info;
  assert_int_equal(cairn_keyfile_parse(&info, text, strlen(text)), CAIRN_OK);
  cairn_address_encode(addr, sizeof addr, pk);
  assert_string_equal(info.address, addr);
  assert_memory_equal(info.pk, pk, 32);
  assert_true(info.kdf.opslimit == cheap.opslimit &&
              info.kdf.memlimit == cheap.memlimit);
  /* Formatting gives back exactly what cairn_keyfile_write stored. */
  assert_int_equal(cairn_keyfile_format(out, sizeof out, &out_len, &info),
                   CAIRN_OK);
  assert_int_equal(out_len, strlen(text));
  assert_memory_equal(out, text, out_len);
  assert_int_equal(cairn_keyfile_format(out, 100, &out_len, &info),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(out_len, 0);
  /* Decryption from the parsed fields. */
  assert_int_equal(cairn_keyfile_decrypt(&info, PASS, strlen(PASS), sk2, pk2),
                   CAIRN_OK);
  assert_memory_equal(sk2, sk, 32);
  assert_memory_equal(pk2, pk, 32);
  memset(sk2, 0xaa, sizeof sk2);
  assert_int_equal(cairn_keyfile_decrypt(&info, "nope", 4, sk2, pk2),
                   CAIRN_ERR_PASSPHRASE);
  assert_memory_equal(sk2, zero64, 32);
  assert_memory_equal(pk2, zero64, 32);
  info.ct[0] ^= 1;
  assert_int_equal(cairn_keyfile_decrypt(&info, PASS, strlen(PASS), sk2, pk2),
                   CAIRN_ERR_PASSPHRASE);
  /* Rejections: too long, a NUL hidden in a string, costs out of bounds. */
  char *big = malloc(CAIRN_KEYFILE_BYTES_MAX + 2);
  assert_non_null(big);
  memset(big, ' ', CAIRN_KEYFILE_BYTES_MAX + 1);
  expect_parse(big, CAIRN_KEYFILE_BYTES_MAX + 1, CAIRN_ERR_OVERSIZE);
  free(big);
  expect_parse("", 0, CAIRN_ERR_KEYFILE);
  json_error_t jerr;
  json_t *root = json_loads(text, 0, &jerr);
  assert_non_null(root);
  json_t *edits[][2] = {
      {json_string("kdf"), json_stringn("argon2id13\0x", 12)},
      {json_string("memlimit"),
       json_integer((json_int_t)CAIRN_KEYFILE_MEMLIMIT_MAX + 1)},
      {json_string("opslimit"), json_integer(CAIRN_KEYFILE_OPSLIMIT_MAX + 1)},
      {json_string("opslimit"), json_integer(0)},
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    json_t *copy = json_deep_copy(root);
    assert_int_equal(json_object_set_new(copy, json_string_value(edits[i][0]),
                                         edits[i][1]),
                     0);
    char *t = json_dumps(copy, JSON_COMPACT);
    expect_parse(t, strlen(t), CAIRN_ERR_KEYFILE);
    free(t);
    json_decref(copy);
    json_decref(edits[i][0]);
  }
  json_decref(root);
  free(text);
  sodium_memzero(sk, sizeof sk);
}

static void test_nodekey_in_memory(void **state) {
  (void)state;
  char text[CAIRN_KEYFILE_BYTES_MAX];
  size_t len = 0;
  uint8_t sk[64], pk[32], sk2[64], pk2[32];
  assert_int_equal(cairn_ed25519_keygen(pk, sk), CAIRN_OK);
  assert_int_equal(cairn_nodekey_format(text, sizeof text, &len, sk), CAIRN_OK);
  assert_int_equal(len, strlen(text));
  assert_int_equal(cairn_nodekey_parse(text, len, sk2, pk2), CAIRN_OK);
  assert_memory_equal(sk2, sk, 64);
  assert_memory_equal(pk2, pk, 32);
  /* Too small a buffer: refused, nothing of the seed left in it. */
  char small[64];
  memset(small, 'x', sizeof small);
  assert_int_equal(cairn_nodekey_format(small, sizeof small, &len, sk),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(len, 0);
  assert_memory_equal(small, zero64, sizeof small);
  /* A public key that is not the seed's. */
  uint8_t o_sk[64], o_pk[32];
  assert_int_equal(cairn_ed25519_keygen(o_pk, o_sk), CAIRN_OK);
  char hex[65], *at = strstr(text, "\"pubkey\":\"");
  assert_non_null(at);
  cairn_hex_encode(hex, sizeof hex, o_pk, 32);
  memcpy(at + 10, hex, 64);
  memset(sk2, 0xaa, sizeof sk2);
  assert_int_equal(cairn_nodekey_parse(text, strlen(text), sk2, pk2),
                   CAIRN_ERR_BAD_KEY);
  assert_memory_equal(sk2, zero64, 64);
  assert_int_equal(cairn_nodekey_parse(text, CAIRN_KEYFILE_BYTES_MAX + 1, sk2,
                                       pk2),
                   CAIRN_ERR_OVERSIZE);
  sodium_memzero(text, sizeof text);
  sodium_memzero(sk, sizeof sk);
}

/* A validator key file over the size limit, and one that is both too big
 * and readable by others: the permission is refused first, unread. */
static void test_nodekey_file_bounds(void **state) {
  fixture *f = *state;
  char path[256];
  char *big = malloc(CAIRN_KEYFILE_BYTES_MAX + 101);
  assert_non_null(big);
  memset(big, ' ', CAIRN_KEYFILE_BYTES_MAX + 100);
  big[CAIRN_KEYFILE_BYTES_MAX + 100] = '\0';
  new_path(path, sizeof path, f, "node-big");
  put_file(path, big, 0600);
  expect_nodekey(path, CAIRN_ERR_OVERSIZE);
  assert_int_equal(chmod(path, 0604), 0);
  expect_nodekey(path, CAIRN_ERR_PERM);
  free(big);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_and_format),
      cmocka_unit_test(test_default_params_round_trip),
      cmocka_unit_test(test_handmade_file),
      cmocka_unit_test(test_wrong_passphrase_and_tampering),
      cmocka_unit_test(test_malformed_fields),
      cmocka_unit_test(test_malformed_text),
      cmocka_unit_test(test_missing_and_existing),
      cmocka_unit_test(test_nodekey),
      cmocka_unit_test(test_parse_format_decrypt_in_memory),
      cmocka_unit_test(test_nodekey_in_memory),
      cmocka_unit_test(test_nodekey_file_bounds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
