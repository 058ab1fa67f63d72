/*
 * tests/testutil.h - shared helpers for the unit tests.
 *
 * Everything here is static inline so any test file can include it without
 * a link-time dependency. Helpers abort() on failures that are not what a
 * test examines (a key that cannot be derived, a transaction that cannot be
 * signed): cmocka reports the abort as a failed test, and the test stays
 * about the behaviour it checks.
 *
 * Keys are deterministic (derived from a label and an index), so a failing
 * test replays exactly. The demo genesis has chain id TU_CHAIN_ID, three
 * brands - 1 "coffee" and 2 "pizza" (transferable), 3 "books" (not
 * transferable), issued by tu_issuer(1..3) - and one validator,
 * tu_validator(0), with power 10.
 *
 * Include after the libc headers and before or after cmocka.h.
 */
#ifndef CAIRN_TESTUTIL_H
#define CAIRN_TESTUTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cairn/block.h"
#include "cairn/encoding.h"
#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/hash.h"
#include "cairn/sig.h"
#include "cairn/store.h"
#include "cairn/tx.h"

#define TU_CHAIN_ID "cairn-test"
#define TU_GENESIS_TIME_MS 1764000000000ull
#define TU_BRAND_COFFEE 1u
#define TU_BRAND_PIZZA 2u
#define TU_BRAND_BOOKS 3u
#define TU_VALIDATOR_POWER 10u
/* Default expiry height of built transactions: far in the future. */
#define TU_EXPIRY 1000000u

typedef struct tu_key {
  uint8_t sk[CAIRN_SECKEY_BYTES];
  uint8_t pk[CAIRN_PUBKEY_BYTES];
} tu_key;

typedef struct tu_vkey {
  uint8_t sk[CAIRN_ED25519_SECKEY_BYTES];
  uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES];
} tu_vkey;

static inline void tu_die(const char *what, cairn_err err) {
  fprintf(stderr, "testutil: %s failed: %s (%s)\n", what, cairn_errname(err),
          cairn_strerror(err));
  abort();
}

static inline void tu_check(const char *what, cairn_err err) {
  if (err != CAIRN_OK) tu_die(what, err);
}

/* 32 deterministic bytes from (label, index, attempt). */
static inline void tu_seed32(uint8_t out[32], const char *label,
                             uint32_t index, uint32_t attempt) {
  uint8_t buf[64 + 8];
  size_t n = strlen(label);
  if (n > 64) n = 64;
  memcpy(buf, label, n);
  cairn_be32_write(buf + n, index);
  cairn_be32_write(buf + n + 4, attempt);
  cairn_tagged_hash(out, "cairn-test/seed", buf, n + 8);
}

/* A deterministic secp256k1 key pair for (label, index). */
static inline void tu_key_derive(tu_key *k, const char *label, uint32_t index) {
  for (uint32_t attempt = 0; attempt < 16; attempt++) {
    tu_seed32(k->sk, label, index, attempt);
    if (cairn_schnorr_pubkey(k->pk, k->sk) == CAIRN_OK) return;
  }
  tu_die("tu_key_derive", CAIRN_ERR_BAD_KEY);
}

static inline void tu_key_random(tu_key *k) {
  tu_check("cairn_schnorr_keygen", cairn_schnorr_keygen(k->sk, k->pk));
}

/* Member i and the issuer of a brand id. */
static inline void tu_member(tu_key *k, uint32_t i) {
  tu_key_derive(k, "member", i);
}
static inline void tu_issuer(tu_key *k, uint32_t brand) {
  tu_key_derive(k, "issuer", brand);
}

/* Validator i's Ed25519 key from a fixed seed (index 0 is the demo one). */
static inline void tu_validator(tu_vkey *k, uint32_t i) {
  uint8_t seed[32];
  tu_seed32(seed, "validator", i, 0);
  if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0)
    tu_die("crypto_sign_seed_keypair", CAIRN_ERR_INTERNAL);
  sodium_memzero(seed, sizeof seed);
}

static inline void tu_genesis_brand(cairn_brand *b, uint32_t id,
                                    const char *name, uint8_t flags) {
  tu_key issuer;
  memset(b, 0, sizeof *b);
  b->id = id;
  b->name_len = (uint8_t)strlen(name);
  memcpy(b->name, name, b->name_len);
  tu_issuer(&issuer, id);
  memcpy(b->issuer, issuer.pk, CAIRN_PUBKEY_BYTES);
  b->flags = flags;
}

/* Fill g (about 30 KB: keep it static or on the heap) with the demo genesis
 * described at the top. */
static inline void tu_genesis(cairn_genesis *g) {
  tu_vkey vk;
  memset(g, 0, sizeof *g);
  g->version = CAIRN_GENESIS_VERSION;
  g->chain_id_len = (uint8_t)strlen(TU_CHAIN_ID);
  memcpy(g->chain_id, TU_CHAIN_ID, g->chain_id_len);
  g->time_ms = TU_GENESIS_TIME_MS;
  g->n_brands = 3;
  tu_genesis_brand(&g->brands[0], TU_BRAND_COFFEE, "coffee",
                   CAIRN_BRAND_FLAG_TRANSFERABLE);
  tu_genesis_brand(&g->brands[1], TU_BRAND_PIZZA, "pizza",
                   CAIRN_BRAND_FLAG_TRANSFERABLE);
  tu_genesis_brand(&g->brands[2], TU_BRAND_BOOKS, "books", 0);
  tu_validator(&vk, 0);
  g->validators.n = 1;
  g->validators.total_power = TU_VALIDATOR_POWER;
  memcpy(g->validators.v[0].pubkey, vk.pk, CAIRN_ED25519_PUBKEY_BYTES);
  g->validators.v[0].power = TU_VALIDATOR_POWER;
  g->validators.v[0].name_len = 4;
  memcpy(g->validators.v[0].name, "val0", 5);
}

/* ---- transactions ---- */

/* The common fields, for chain TU_CHAIN_ID and expiry TU_EXPIRY. */
static inline void tu_tx_init(cairn_tx *tx, uint8_t type,
                              const uint8_t sender[32], uint64_t sequence) {
  memset(tx, 0, sizeof *tx);
  tx->version = CAIRN_TX_VERSION;
  tx->type = type;
  tx->chain_id_len = (uint8_t)strlen(TU_CHAIN_ID);
  memcpy(tx->chain_id, TU_CHAIN_ID, tx->chain_id_len);
  memcpy(tx->sender, sender, CAIRN_PUBKEY_BYTES);
  tx->sequence = sequence;
  tx->expiry_height = TU_EXPIRY;
}

/* (Re-)sign after changing any field. */
static inline void tu_tx_sign(cairn_tx *tx, const tu_key *k) {
  tu_check("cairn_tx_sign", cairn_tx_sign(tx, k->sk));
}

static inline void tu_tx_issue(cairn_tx *tx, const tu_key *from, uint64_t seq,
                               uint32_t brand, const uint8_t to[32],
                               uint64_t amount) {
  tu_tx_init(tx, CAIRN_TX_ISSUE, from->pk, seq);
  tx->u.issue.brand = brand;
  memcpy(tx->u.issue.to, to, CAIRN_PUBKEY_BYTES);
  tx->u.issue.amount = amount;
  tu_tx_sign(tx, from);
}

static inline void tu_tx_transfer(cairn_tx *tx, const tu_key *from,
                                  uint64_t seq, uint32_t brand,
                                  const uint8_t to[32], uint64_t amount) {
  tu_tx_init(tx, CAIRN_TX_TRANSFER, from->pk, seq);
  tx->u.transfer.brand = brand;
  memcpy(tx->u.transfer.to, to, CAIRN_PUBKEY_BYTES);
  tx->u.transfer.amount = amount;
  tu_tx_sign(tx, from);
}

static inline void tu_tx_redeem(cairn_tx *tx, const tu_key *from, uint64_t seq,
                                uint32_t brand, uint64_t amount,
                                const char *ref) {
  tu_tx_init(tx, CAIRN_TX_REDEEM, from->pk, seq);
  tx->u.redeem.brand = brand;
  tx->u.redeem.amount = amount;
  tx->u.redeem.ref_len = (uint8_t)strlen(ref);
  memcpy(tx->u.redeem.ref, ref, tx->u.redeem.ref_len);
  tu_tx_sign(tx, from);
}

/* An AMOUNT coupon of value 500 labelled "test coupon". */
static inline void tu_tx_coupon_issue(cairn_tx *tx, const tu_key *from,
                                      uint64_t seq, uint32_t brand,
                                      const uint8_t to[32],
                                      uint64_t expiry_height,
                                      bool transferable) {
  static const char label[] = "test coupon";
  tu_tx_init(tx, CAIRN_TX_COUPON_ISSUE, from->pk, seq);
  tx->u.coupon_issue.brand = brand;
  memcpy(tx->u.coupon_issue.to, to, CAIRN_PUBKEY_BYTES);
  tx->u.coupon_issue.kind = CAIRN_COUPON_AMOUNT;
  tx->u.coupon_issue.value = 500;
  tx->u.coupon_issue.expiry_height = expiry_height;
  tx->u.coupon_issue.transferable = transferable;
  tx->u.coupon_issue.label_len = (uint8_t)(sizeof label - 1);
  memcpy(tx->u.coupon_issue.label, label, sizeof label - 1);
  tu_tx_sign(tx, from);
}

static inline void tu_tx_coupon_transfer(cairn_tx *tx, const tu_key *from,
                                         uint64_t seq, const uint8_t id[32],
                                         const uint8_t to[32]) {
  tu_tx_init(tx, CAIRN_TX_COUPON_TRANSFER, from->pk, seq);
  memcpy(tx->u.coupon_transfer.coupon, id, CAIRN_HASH_BYTES);
  memcpy(tx->u.coupon_transfer.to, to, CAIRN_PUBKEY_BYTES);
  tu_tx_sign(tx, from);
}

static inline void tu_tx_coupon_redeem(cairn_tx *tx, const tu_key *from,
                                       uint64_t seq, const uint8_t id[32],
                                       uint32_t brand, const char *ref) {
  tu_tx_init(tx, CAIRN_TX_COUPON_REDEEM, from->pk, seq);
  memcpy(tx->u.coupon_redeem.coupon, id, CAIRN_HASH_BYTES);
  tx->u.coupon_redeem.brand = brand;
  tx->u.coupon_redeem.ref_len = (uint8_t)strlen(ref);
  memcpy(tx->u.coupon_redeem.ref, ref, tx->u.coupon_redeem.ref_len);
  tu_tx_sign(tx, from);
}

/* Canonical bytes into buf (CAIRN_TX_BYTES_MAX is always enough). */
static inline size_t tu_tx_bytes(uint8_t *buf, size_t cap, const cairn_tx *tx) {
  size_t len = 0;
  tu_check("cairn_tx_encode", cairn_tx_encode(buf, cap, &len, tx));
  return len;
}

static inline void tu_txid(uint8_t out[32], const cairn_tx *tx) {
  tu_check("cairn_tx_id", cairn_tx_id(out, tx));
}

/* ---- commits ---- */

/* A commit for (height, block_hash) signed by validator key vk alone. */
static inline void tu_commit_sign(cairn_commit *cm, uint64_t height,
                                  const uint8_t block_hash[32],
                                  const tu_vkey *vk) {
  cairn_vote vote;
  memset(&vote, 0, sizeof vote);
  vote.type = CAIRN_VOTE_PRECOMMIT;
  vote.height = height;
  memcpy(vote.block_hash, block_hash, CAIRN_HASH_BYTES);
  tu_check("cairn_vote_sign",
           cairn_vote_sign(&vote, (const uint8_t *)TU_CHAIN_ID,
                           strlen(TU_CHAIN_ID), vk->sk));
  memset(cm, 0, sizeof *cm);
  cm->height = height;
  memcpy(cm->block_hash, block_hash, CAIRN_HASH_BYTES);
  tu_check("cairn_commit_add", cairn_commit_add(cm, vote.validator, vote.sig));
}

/* ---- temporary directories and stores ---- */

/* Make a fresh directory /tmp/cairn-test-XXXXXX; out needs 32 bytes. */
static inline void tu_tmpdir(char *out, size_t cap) {
  static const char tmpl[] = "/tmp/cairn-test-XXXXXX";
  if (cap < sizeof tmpl) tu_die("tu_tmpdir", CAIRN_ERR_ARG);
  memcpy(out, tmpl, sizeof tmpl);
  if (mkdtemp(out) == NULL) tu_die("mkdtemp", CAIRN_ERR_IO);
}

/* Remove a directory tree (at most depth levels of subdirectories). */
static inline void tu_rmtree_depth(const char *path, int depth) {
  DIR *d = opendir(path);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char child[4096];
    struct stat st;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if ((size_t)snprintf(child, sizeof child, "%s/%s", path, e->d_name) >=
        sizeof child)
      continue;
    if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode) && depth > 0)
      tu_rmtree_depth(child, depth - 1);
    else
      unlink(child);
  }
  closedir(d);
  rmdir(path);
}

static inline void tu_rmtree(const char *path) { tu_rmtree_depth(path, 8); }

/* Open a store at dir with no_sync (tests do not need durability). */
static inline cairn_store *tu_store_open(const char *dir) {
  cairn_store *s = NULL;
  cairn_store_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.no_sync = true;
  tu_check("cairn_store_open", cairn_store_open(&s, dir, &opts));
  return s;
}

#endif
