/*
 * tests/fuzz/gen_seeds.c - write the seed inputs of every fuzz target.
 *
 * `make fuzz-seeds` runs this to (re)create tests/fuzz/corpus/<target>/
 * seed-<label> files: real encodings made with the library and the
 * deterministic test keys of testutil.h (so a mutated seed is one small
 * step from a valid object and the fuzzer starts deep inside each
 * decoder), plus a few malformed variants (bad-<label>: truncated, with a
 * trailing byte, with a wrong version). Transaction seeds are signed for
 * the pre-state of fuzz.h and each one is checked to apply there, so the
 * tx target reaches the state machine's accepted paths from the start.
 *
 * Seeds are deterministic (BIP-340 signatures use zero aux randomness)
 * except the encrypted key file, whose salt and nonce are random; rerunning
 * rewrites the same names. Usage: gen_seeds CORPUS_DIR
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#include "cairn/address.h"
#include "cairn/block.h"
#include "cairn/config.h"
#include "cairn/encoding.h"
#include "cairn/evidence.h"
#include "cairn/file.h"
#include "cairn/genesis.h"
#include "cairn/keyfile.h"
#include "cairn/merkle.h"
#include "cairn/proof.h"
#include "cairn/state.h"
#include "cairn/tx.h"

typedef struct seeds {
  const char *root;
  unsigned written;
} seeds;

static void seed_write(seeds *s, const char *target, const char *label,
                       const void *data, size_t len) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", s->root, target);
  if (mkdir(path, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "gen_seeds: mkdir %s: %s\n", path, strerror(errno));
    exit(1);
  }
  snprintf(path, sizeof path, "%s/%s/%s", s->root, target, label);
  FILE *f = fopen(path, "wb");
  if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) ||
      fclose(f) != 0) {
    fprintf(stderr, "gen_seeds: cannot write %s\n", path);
    exit(1);
  }
  s->written++;
}

static void seed_text(seeds *s, const char *target, const char *label,
                      const char *text) {
  seed_write(s, target, label, text, strlen(text));
}

/* The valid bytes and three malformed variants of a binary object. */
static void seed_binary(seeds *s, const char *target, const char *label,
                        const uint8_t *p, size_t len) {
  char name[128];
  uint8_t buf[8192];
  snprintf(name, sizeof name, "seed-%s", label);
  seed_write(s, target, name, p, len);
  snprintf(name, sizeof name, "bad-%s-truncated", label);
  seed_write(s, target, name, p, len / 2);
  if (len + 1 <= sizeof buf && len > 0) {
    memcpy(buf, p, len);
    buf[len] = 0;
    snprintf(name, sizeof name, "bad-%s-trailing", label);
    seed_write(s, target, name, buf, len + 1);
    buf[0] ^= 0x80;
    snprintf(name, sizeof name, "bad-%s-first-byte", label);
    seed_write(s, target, name, buf, len);
  }
}

/* ---- transactions (against the pre-state of fuzz.h) ---- */

typedef struct tx_seed {
  cairn_tx tx;
  uint8_t bytes[CAIRN_TX_BYTES_MAX];
  size_t len;
} tx_seed;

static void tx_seed_add(seeds *s, fuzz_state *st, const char *label,
                        const cairn_tx *tx, bool should_apply, tx_seed *out) {
  uint8_t id[32];
  memset(out, 0, sizeof *out);
  out->tx = *tx;
  out->len = tu_tx_bytes(out->bytes, sizeof out->bytes, tx);
  tu_txid(id, tx);
  cairn_exec_ctx ctx = fuzz_exec_ctx();
  size_t sp = cairn_view_savepoint(st->view);
  cairn_err err = cairn_state_apply_tx(st->view, &ctx, tx, id);
  cairn_view_rollback(st->view, sp);
  if ((err == CAIRN_OK) != should_apply) {
    fprintf(stderr, "gen_seeds: tx seed %s: apply gave %s\n", label,
            cairn_errname(err));
    exit(1);
  }
  seed_binary(s, "tx", label, out->bytes, out->len);
}

static void gen_txs(seeds *s, fuzz_state *st, tx_seed txs[8]) {
  tu_key coffee, m0, m1;
  cairn_tx tx;
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  tu_member(&m0, 0);
  tu_member(&m1, 1);
  tu_tx_issue(&tx, &coffee, 5, TU_BRAND_COFFEE, m1.pk, 10);
  tx_seed_add(s, st, "issue", &tx, true, &txs[0]);
  tu_tx_transfer(&tx, &m0, 1, TU_BRAND_COFFEE, m1.pk, 10);
  tx_seed_add(s, st, "transfer", &tx, true, &txs[1]);
  tu_tx_transfer(&tx, &m0, 1, TU_BRAND_BOOKS, m1.pk, 5);
  tx_seed_add(s, st, "transfer-books", &tx, false, &txs[2]);
  tu_tx_redeem(&tx, &m0, 1, TU_BRAND_COFFEE, 30, "A-1001");
  tx_seed_add(s, st, "redeem", &tx, true, &txs[3]);
  tu_tx_coupon_issue(&tx, &coffee, 5, TU_BRAND_COFFEE, m1.pk, 100, true);
  tx_seed_add(s, st, "coupon-issue", &tx, true, &txs[4]);
  tu_tx_coupon_transfer(&tx, &m0, 1, st->coupons[0], m1.pk);
  tx_seed_add(s, st, "coupon-transfer", &tx, true, &txs[5]);
  tu_tx_coupon_redeem(&tx, &m0, 1, st->coupons[0], TU_BRAND_COFFEE, "B-2");
  tx_seed_add(s, st, "coupon-redeem", &tx, true, &txs[6]);
  tu_tx_coupon_redeem(&tx, &m0, 1, st->coupons[1], TU_BRAND_COFFEE, "C-3");
  tx_seed_add(s, st, "coupon-redeem-expired", &tx, false, &txs[7]);
}

/* Duplicate-vote evidence by validator vk at height 1 (so admissible at
 * FUZZ_TX_HEIGHT). */
static void seed_evidence(uint8_t out[CAIRN_EVIDENCE_BYTES],
                          const tu_vkey *vk) {
  cairn_vote x, y;
  cairn_evidence e;
  size_t len = 0;
  memset(&x, 0, sizeof x);
  x.type = CAIRN_VOTE_PREVOTE;
  x.height = 1;
  y = x;
  memset(y.block_hash, 0x5a, sizeof y.block_hash);
  const uint8_t *cid = (const uint8_t *)TU_CHAIN_ID;
  tu_check("vote", cairn_vote_sign(&x, cid, strlen(TU_CHAIN_ID), vk->sk));
  tu_check("vote", cairn_vote_sign(&y, cid, strlen(TU_CHAIN_ID), vk->sk));
  tu_check("evidence", cairn_evidence_from_votes(&e, &x, &y));
  tu_check("evidence", cairn_evidence_encode(out, CAIRN_EVIDENCE_BYTES, &len,
                                             &e));
}

/* One seed of each staking type. The pre-state has no free stake and its
 * one validator no operator, so each is refused, deep in its rules. */
static void gen_stake_txs(seeds *s, fuzz_state *st) {
  tu_key m0, m1;
  tu_vkey v0, v1;
  cairn_tx tx;
  tx_seed out;
  tu_member(&m0, 0);
  tu_member(&m1, 1);
  tu_validator(&v0, 0);
  tu_validator(&v1, 1);
  tu_tx_init(&tx, CAIRN_TX_STAKE_TRANSFER, m0.pk, 1);
  memcpy(tx.u.stake_transfer.to, m1.pk, 32);
  tx.u.stake_transfer.amount = 10;
  tu_tx_sign(&tx, &m0);
  tx_seed_add(s, st, "stake-transfer", &tx, false, &out);
  for (unsigned type = CAIRN_TX_BOND; type <= CAIRN_TX_UNBOND; type++) {
    tu_tx_init(&tx, (uint8_t)type, m0.pk, 1);
    memcpy(tx.u.bond.validator, v0.pk, 32);
    tx.u.bond.amount = 5;
    tu_tx_sign(&tx, &m0);
    tx_seed_add(s, st, type == CAIRN_TX_BOND ? "bond" : "unbond", &tx, false,
                &out);
  }
  tu_tx_init(&tx, CAIRN_TX_ADMIT, m0.pk, 1);
  memcpy(tx.u.admit.validator, v1.pk, 32);
  tx.u.admit.amount = 100;
  tx.u.admit.deadline_height = 50;
  tx.u.admit.name_len = 4;
  memcpy(tx.u.admit.name, "val1", 5);
  tu_tx_sign(&tx, &m0);
  tx_seed_add(s, st, "admit", &tx, false, &out);
  tu_tx_init(&tx, CAIRN_TX_APPROVE, m0.pk, 1);
  memset(tx.u.approve.proposal, 0x77, 32);
  tu_tx_sign(&tx, &m0);
  tx_seed_add(s, st, "approve", &tx, false, &out);
  tu_tx_init(&tx, CAIRN_TX_EVIDENCE, m1.pk, 1);
  seed_evidence(tx.u.evidence.evidence, &v0);
  tu_tx_sign(&tx, &m1);
  tx_seed_add(s, st, "evidence-last-validator", &tx, false, &out);
}

/* ---- the API ---- */

static void gen_rpc(seeds *s, const tx_seed txs[8]) {
  char hex[2 * CAIRN_TX_BYTES_MAX + 1], body[2 * CAIRN_TX_BYTES_MAX + 64];
  for (int i = 0; i < 3; i++) {
    char label[32];
    cairn_hex_encode(hex, sizeof hex, txs[i].bytes, txs[i].len);
    snprintf(body, sizeof body, "{\"tx\": \"%s\"}", hex);
    snprintf(label, sizeof label, "seed-%d", i);
    seed_text(s, "rpc_submit", label, body);
  }
  seed_text(s, "rpc_submit", "seed-extra-member",
            "{\"note\": [1, {\"a\": null}], \"tx\": \"0102\"}");
  seed_text(s, "rpc_submit", "bad-hex", "{\"tx\": \"0g\"}");
  seed_text(s, "rpc_submit", "bad-odd", "{\"tx\": \"abc\"}");
  seed_text(s, "rpc_submit", "bad-not-object", "[\"tx\"]");
  seed_text(s, "rpc_submit", "bad-nul", "{\"tx\": \"00\\u000011\"}");
  seed_text(s, "rpc_submit", "bad-duplicate", "{\"tx\": \"00\", \"tx\": \"11\"}");

  char path[256], addr[CAIRN_ADDRESS_BUF], txid[65];
  uint8_t id[32];
  tu_key m0;
  tu_member(&m0, 0);
  cairn_address_encode(addr, sizeof addr, m0.pk);
  tu_txid(id, &txs[0].tx);
  cairn_hex_encode(txid, sizeof txid, id, sizeof id);
  static const struct {
    char method; /* index into fuzz_rpc_path's method table */
    const char *fmt;
  } paths[] = {
      {0, "/v1/status"},          {0, "/v1/genesis"},
      {0, "/v1/brands"},          {1, "/v1/txs"},
      {0, "/v1/txs/%s"},          {0, "/v1/blocks/latest"},
      {0, "/v1/blocks/12"},       {0, "/v1/blocks/hash/%s"},
      {0, "/v1/accounts/%s"},     {0, "/v1/accounts/%s/coupons"},
      {0, "/v1/coupons/%s"},      {4, "/v1/status"},
      {0, "/v1//status"},         {0, "v1/status"},
      {0, "/v1/blocks/hash/%s/x"}};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    char label[32];
    const char *arg = strstr(paths[i].fmt, "accounts") ? addr : txid;
    path[0] = paths[i].method;
    snprintf(path + 1, sizeof path - 1, paths[i].fmt, arg);
    snprintf(label, sizeof label, "seed-%02u", (unsigned)i);
    seed_write(s, "rpc_path", label, path, 1 + strlen(path + 1));
  }
}

/* ---- blocks, votes, commits ---- */

static void gen_block(seeds *s, const tx_seed txs[8]) {
  static uint8_t buf[16384];
  cairn_block_header h;
  cairn_slice slices[8];
  uint8_t ids[8][32];
  tu_vkey vk;
  size_t len = 0;
  tu_validator(&vk, 0);
  memset(&h, 0, sizeof h);
  h.version = CAIRN_BLOCK_VERSION;
  h.chain_id_len = (uint8_t)strlen(TU_CHAIN_ID);
  memcpy(h.chain_id, TU_CHAIN_ID, h.chain_id_len);
  h.height = 2;
  h.time_ms = FUZZ_TX_TIME_MS;
  memcpy(h.proposer, vk.pk, sizeof h.proposer);
  for (int i = 0; i < 8; i++) {
    slices[i].p = txs[i].bytes;
    slices[i].len = txs[i].len;
    tu_txid(ids[i], &txs[i].tx);
  }
  h.tx_count = 8;
  tu_check("merkle", cairn_merkle_root(h.tx_root,
                                       (const uint8_t(*)[32])ids, 8));
  tu_check("block", cairn_block_encode(buf, sizeof buf, &len, &h, slices));
  seed_binary(s, "block", "eight-txs", buf, len);
  h.tx_count = 0;
  tu_check("merkle", cairn_merkle_root(h.tx_root, NULL, 0));
  tu_check("block", cairn_block_encode(buf, sizeof buf, &len, &h, NULL));
  seed_binary(s, "block", "empty", buf, len);

  cairn_vote v;
  uint8_t vbuf[CAIRN_VOTE_BYTES];
  uint8_t hash[32];
  tu_check("hash", cairn_block_hash(hash, &h));
  for (unsigned type = CAIRN_VOTE_PREVOTE; type <= CAIRN_VOTE_PRECOMMIT;
       type++) {
    memset(&v, 0, sizeof v);
    v.type = (uint8_t)type;
    v.height = 2;
    v.round = type;
    memcpy(v.block_hash, hash, sizeof hash);
    tu_check("vote", cairn_vote_sign(&v, (const uint8_t *)TU_CHAIN_ID,
                                     strlen(TU_CHAIN_ID), vk.sk));
    tu_check("vote", cairn_vote_encode(vbuf, sizeof vbuf, &len, &v));
    seed_binary(s, "vote", type == CAIRN_VOTE_PREVOTE ? "prevote" : "precommit",
                vbuf, len);
  }

  static cairn_commit c;
  static uint8_t cbuf[CAIRN_COMMIT_BYTES_MAX];
  tu_commit_sign(&c, 2, hash, &vk);
  tu_check("commit", cairn_commit_encode(cbuf, sizeof cbuf, &len, &c));
  seed_binary(s, "commit", "one-validator", cbuf, len);
  for (uint32_t i = 1; i < 4; i++) {
    tu_vkey other;
    uint8_t sig[64];
    tu_validator(&other, i);
    memset(sig, (int)i, sizeof sig);
    tu_check("commit_add", cairn_commit_add(&c, other.pk, sig));
  }
  tu_check("commit", cairn_commit_encode(cbuf, sizeof cbuf, &len, &c));
  seed_binary(s, "commit", "four-signers", cbuf, len);
}

/* ---- genesis ---- */

static void gen_genesis(seeds *s) {
  static cairn_genesis g;
  static uint8_t buf[CAIRN_GENESIS_BYTES_MAX];
  size_t len = 0;
  char *json = NULL;
  tu_genesis(&g);
  tu_check("genesis", cairn_genesis_encode(buf, sizeof buf, &len, &g));
  seed_binary(s, "genesis", "demo", buf, len);
  tu_check("to_json", cairn_genesis_to_json(&g, &json));
  seed_text(s, "genesis_json", "seed-demo", json);
  free(json);
  /* A second validator, sorted by key, and a fourth brand. */
  tu_vkey vk;
  tu_validator(&vk, 1);
  cairn_validator *v = &g.validators.v[1];
  memset(v, 0, sizeof *v);
  memcpy(v->pubkey, vk.pk, sizeof v->pubkey);
  v->power = 5;
  v->name_len = 4;
  memcpy(v->name, "val1", 5);
  g.validators.n = 2;
  if (memcmp(g.validators.v[0].pubkey, v->pubkey, 32) > 0) {
    cairn_validator t = g.validators.v[0];
    g.validators.v[0] = *v;
    g.validators.v[1] = t;
  }
  g.validators.total_power = 15;
  tu_genesis_brand(&g.brands[3], 9, "tea-house", 0);
  g.n_brands = 4;
  char why[256];
  tu_check("check", cairn_genesis_check(&g, why, sizeof why));
  tu_check("genesis", cairn_genesis_encode(buf, sizeof buf, &len, &g));
  seed_binary(s, "genesis", "two-validators", buf, len);
  tu_check("to_json", cairn_genesis_to_json(&g, &json));
  seed_text(s, "genesis_json", "seed-two-validators", json);
  free(json);
  /* Operators, staking rules and free stake. */
  tu_key op, m0;
  tu_issuer(&op, 1);
  tu_member(&m0, 0);
  memcpy(g.validators.v[0].operator_key, op.pk, 32);
  g.staking.valset_delay_blocks = 3;
  g.staking.unbonding_blocks = 50;
  g.staking.evidence_max_age_blocks = 500;
  g.staking.slash_percent = 10;
  g.n_stake = 2;
  bool op_first = memcmp(op.pk, m0.pk, 32) < 0;
  memcpy(g.stake[op_first ? 0 : 1].account, op.pk, 32);
  memcpy(g.stake[op_first ? 1 : 0].account, m0.pk, 32);
  g.stake[0].amount = 1000;
  g.stake[1].amount = 250;
  tu_check("check", cairn_genesis_check(&g, why, sizeof why));
  tu_check("genesis", cairn_genesis_encode(buf, sizeof buf, &len, &g));
  seed_binary(s, "genesis", "staking", buf, len);
  tu_check("to_json", cairn_genesis_to_json(&g, &json));
  seed_text(s, "genesis_json", "seed-staking", json);
  free(json);
  seed_text(s, "genesis_json", "bad-unknown-key",
            "{\"chain_id\": \"x\", \"genesis_time_ms\": 1, \"brands\": [], "
            "\"validators\": [], \"extra\": 1}");
  seed_text(s, "genesis_json", "bad-power-string",
            "{\"chain_id\": \"x\", \"genesis_time_ms\": \"1\", \"brands\": "
            "[{\"id\": 1, \"name\": \"a\", \"issuer\": \"cairn1\", "
            "\"transferable\": true}], \"validators\": [{\"name\": \"v\", "
            "\"pubkey\": \"00\", \"power\": \"18446744073709551616\"}]}");
}

/* ---- configuration ---- */

static void gen_config(seeds *s) {
  seed_text(s, "config", "seed-full",
            "{\"data_dir\": \"data\", \"genesis\": \"genesis.json\", "
            "\"validator_key\": \"validator.key\", \"listen\": "
            "\"127.0.0.1:8645\", \"block_interval_ms\": 1000, "
            "\"mempool_txs_max\": 50000, \"sync\": true}");
  seed_text(s, "config", "seed-absolute-v6",
            "{\"data_dir\": \"/var/lib/cairn\", \"listen\": \"[::1]:9000\", "
            "\"sync\": false}");
  seed_text(s, "config", "seed-empty", "{}");
  seed_text(s, "config", "bad-unknown", "{\"block_intervall_ms\": 10}");
  seed_text(s, "config", "bad-range", "{\"block_interval_ms\": 1}");
  seed_text(s, "config", "bad-port", "{\"listen\": \"host:0\"}");
  seed_text(s, "config", "bad-type", "{\"sync\": \"yes\"}");
}

/* ---- key files ---- */

static void gen_keyfiles(seeds *s) {
  char dir[64], path[128], text[CAIRN_KEYFILE_BYTES_MAX];
  tu_key m0;
  tu_vkey vk;
  size_t len = 0;
  cairn_kdf_params kdf = {crypto_pwhash_OPSLIMIT_MIN,
                          crypto_pwhash_MEMLIMIT_MIN};
  tu_member(&m0, 0);
  tu_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/member.key", dir);
  tu_check("keyfile", cairn_keyfile_write(path, m0.sk, "fuzz", 4, &kdf));
  char *file = NULL;
  tu_check("read", cairn_file_read_all(path, sizeof text, &file, &len));
  seed_write(s, "keyfile", "seed-fuzz-passphrase", file, len);
  free(file);
  unlink(path);
  tu_check("keyfile", cairn_keyfile_write(path, m0.sk, "other", 5, &kdf));
  tu_check("read", cairn_file_read_all(path, sizeof text, &file, &len));
  seed_write(s, "keyfile", "seed-other-passphrase", file, len);
  seed_write(s, "keyfile", "bad-truncated", file, len / 2);
  free(file);
  unlink(path);
  rmdir(dir);

  tu_validator(&vk, 0);
  tu_check("nodekey", cairn_nodekey_format(text, sizeof text, &len, vk.sk));
  seed_write(s, "nodekey", "seed-validator-0", text, len);
  seed_write(s, "nodekey", "bad-truncated", text, len / 2);
  seed_text(s, "nodekey", "bad-mismatch",
            "{\"version\":1,\"type\":\"cairn-validator-key\",\"pubkey\":\""
            "00000000000000000000000000000000000000000000000000000000000000"
            "00\",\"seed\":\"0303030303030303030303030303030303030303030303"
            "030303030303030303\"}");
  sodium_memzero(text, sizeof text);
}

/* ---- small parsers ---- */

static void gen_small(seeds *s) {
  tu_key m0;
  char addr[CAIRN_ADDRESS_BUF];
  tu_member(&m0, 0);
  cairn_address_encode(addr, sizeof addr, m0.pk);
  seed_text(s, "address", "seed-lower", addr);
  for (char *c = addr; *c != '\0'; c++) {
    if (*c >= 'a' && *c <= 'z') *c = (char)(*c - 'a' + 'A');
  }
  seed_text(s, "address", "seed-upper", addr);
  addr[10] = addr[10] == 'Q' ? 'P' : 'Q';
  seed_text(s, "address", "bad-typo", addr);
  seed_text(s, "address", "bad-bech32-vector",
            "a1lqfn3a"); /* BIP-350 valid bech32m, wrong prefix for us */

  seed_text(s, "hex", "seed-lower", "00ff10a5");
  seed_text(s, "hex", "seed-upper", "ABCDEF");
  seed_text(s, "hex", "seed-empty", "");
  seed_text(s, "hex", "bad-digit", "0g");
  seed_text(s, "hex", "bad-odd", "abc");

  seed_text(s, "u64", "seed-zero", "0");
  seed_text(s, "u64", "seed-max", "18446744073709551615");
  seed_text(s, "u64", "bad-max-plus-one", "18446744073709551616");
  seed_text(s, "u64", "bad-leading-zero", "007");
  seed_text(s, "u64", "seed-json-string", "\"42\"");
  seed_text(s, "u64", "bad-json-negative", "-1");
  seed_text(s, "u64", "bad-json-float", "1e3");

  uint8_t m[132];
  for (size_t i = 0; i < sizeof m; i++) m[i] = (uint8_t)(i * 37u + 11u);
  seed_write(s, "merkle", "seed-132", m, sizeof m);
  seed_write(s, "merkle", "seed-4", m, 4);
}

/* ---- inclusion proofs: a real block 1 of the test chain ---- */

static void gen_proof(seeds *s, const fuzz_state *st, const tx_seed txs[8]) {
  static uint8_t block[16384], commit[CAIRN_COMMIT_BYTES_MAX];
  static uint8_t buf[1 + CAIRN_PROOF_BYTES_MAX];
  static cairn_commit c;
  static cairn_proof p;
  cairn_block_header h;
  cairn_slice slices[8];
  uint8_t ids[8][32], hash[32];
  size_t block_len = 0, commit_len = 0, len = 0;
  tu_vkey vk;
  tu_validator(&vk, 0);
  memset(&h, 0, sizeof h);
  h.version = CAIRN_BLOCK_VERSION;
  h.chain_id_len = (uint8_t)strlen(TU_CHAIN_ID);
  memcpy(h.chain_id, TU_CHAIN_ID, h.chain_id_len);
  h.height = 1;
  h.time_ms = TU_GENESIS_TIME_MS + 1000u;
  tu_check("genesis hash", cairn_genesis_hash(h.prev_hash, &st->genesis));
  cairn_valset_hash(h.validators_hash, &st->genesis.validators);
  memcpy(h.proposer, vk.pk, sizeof h.proposer);
  for (int i = 0; i < 8; i++) {
    slices[i].p = txs[i].bytes;
    slices[i].len = txs[i].len;
    tu_txid(ids[i], &txs[i].tx);
  }
  h.tx_count = 8;
  tu_check("merkle", cairn_merkle_root(h.tx_root, (const uint8_t(*)[32])ids, 8));
  tu_check("block", cairn_block_encode(block, sizeof block, &block_len, &h,
                                       slices));
  tu_check("hash", cairn_block_hash(hash, &h));
  tu_commit_sign(&c, 1, hash, &vk);
  tu_check("commit", cairn_commit_encode(commit, sizeof commit, &commit_len,
                                         &c));
  for (int i = 0; i < 8; i += 3) {
    char label[32], why[256];
    char *json = NULL;
    tu_check("proof_build", cairn_proof_build(&p, block, block_len, commit,
                                              commit_len,
                                              &st->genesis.validators, ids[i]));
    tu_check("proof_check", cairn_proof_check(&p, why, sizeof why));
    cairn_proof_result res;
    cairn_proof_anchor anchor = {&st->genesis, NULL};
    if (cairn_proof_verify(&res, &p, &anchor, why, sizeof why) != CAIRN_OK) {
      fprintf(stderr, "gen_seeds: proof seed does not verify: %s\n", why);
      exit(1);
    }
    buf[0] = 0;
    tu_check("proof_encode", cairn_proof_encode(buf + 1, sizeof buf - 1, &len,
                                                &p));
    snprintf(label, sizeof label, "binary-%d", i);
    seed_binary(s, "proof", label, buf, len + 1);
    tu_check("proof_to_json", cairn_proof_to_json(&p, &json));
    buf[0] = 1;
    size_t n = strlen(json);
    if (n + 1 <= sizeof buf) {
      memcpy(buf + 1, json, n);
      snprintf(label, sizeof label, "seed-json-%d", i);
      seed_write(s, "proof", label, buf, n + 1);
    }
    free(json);
  }
}

static void gen_records(seeds *s, fuzz_state *st) {
  uint8_t buf[1 + 512];
  size_t len = 0;
  cairn_coupon c;
  tu_check("coupon", cairn_state_coupon(st->view, st->coupons[0], &c));
  buf[0] = 0;
  tu_check("coupon", cairn_coupon_encode(buf + 1, sizeof buf - 1, &len, &c));
  seed_binary(s, "records", "coupon", buf, len + 1);
  buf[0] = 1;
  tu_check("brand", cairn_brand_record_encode(buf + 1, sizeof buf - 1, &len,
                                              &st->genesis.brands[0]));
  seed_binary(s, "records", "brand", buf, len + 1);
}

int main(int argc, char **argv) {
  static fuzz_state st;
  static tx_seed txs[8];
  if (argc != 2) {
    fprintf(stderr, "usage: gen_seeds CORPUS_DIR\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  seeds s = {argv[1], 0};
  if (mkdir(s.root, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "gen_seeds: mkdir %s: %s\n", s.root, strerror(errno));
    return 1;
  }
  fuzz_state_build(&st);
  gen_txs(&s, &st, txs);
  gen_stake_txs(&s, &st);
  gen_rpc(&s, txs);
  gen_block(&s, txs);
  gen_genesis(&s);
  gen_config(&s);
  gen_keyfiles(&s);
  gen_small(&s);
  gen_records(&s, &st);
  gen_proof(&s, &st, txs);
  cairn_view_close(st.view);
  printf("gen_seeds: wrote %u seed files under %s\n", s.written, s.root);
  return 0;
}
