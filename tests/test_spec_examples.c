/*
 * test_spec_examples.c - the worked examples of specs/encoding.md, checked
 * against the code that produces them.
 *
 * Each example is built deterministically (fixed keys, BIP-340 signing with
 * an all-zero aux_rand, Ed25519 which is deterministic), encoded with the
 * real encoders, decoded again, and its hex looked up in
 * specs/encoding.md: if the spec and the code ever disagree, this fails.
 * Run with --print to regenerate the examples section for the spec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "cairn/address.h"
#include "cairn/block.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/genesis.h"
#include "cairn/merkle.h"
#include "cairn/state.h"
#include "cairn/tx.h"
#include "cairn/view.h"

#define EX_CHAIN "cairn-demo"
#define EX_TIME_MS 1764000000000ull

/* The spec text, or the output stream in --print mode. */
typedef struct ex_ctx {
  const char *spec; /* NULL in print mode */
  FILE *out;
} ex_ctx;

typedef struct ex_field {
  const char *name;
  size_t len;
} ex_field;

static void fill_key(uint8_t sk[32], uint8_t pk[32], uint8_t byte) {
  memset(sk, byte, 32);
  assert_int_equal(cairn_schnorr_pubkey(pk, sk), CAIRN_OK);
}

/* The hex of p must appear in the spec (or is printed). */
static void ex_hex(ex_ctx *x, const char *label, const uint8_t *p, size_t n) {
  char *hex = malloc(2 * n + 1);
  assert_non_null(hex);
  cairn_hex_encode(hex, 2 * n + 1, p, n);
  if (x->spec == NULL) {
    fprintf(x->out, "%s:\n\n    %s\n\n", label, hex);
  } else if (strstr(x->spec, hex) == NULL) {
    fail_msg("specs/encoding.md lacks %s: %s", label, hex);
  }
  free(hex);
}

/* Field-by-field breakdown (printed only; the full hex is what is checked). */
static void ex_fields(ex_ctx *x, const uint8_t *p, size_t n,
                      const ex_field *f, size_t nf) {
  size_t off = 0;
  if (x->spec != NULL) return;
  fprintf(x->out, "| field | bytes (hex) |\n|---|---|\n");
  for (size_t i = 0; i < nf; i++) {
    char hex[2 * 256 + 1];
    assert_true(off + f[i].len <= n && f[i].len <= 256);
    cairn_hex_encode(hex, sizeof hex, p + off, f[i].len);
    fprintf(x->out, "| %s | `%s` |\n", f[i].name, hex);
    off += f[i].len;
  }
  assert_int_equal(off, n);
  fprintf(x->out, "\n");
}

static void ex_sign(cairn_tx *tx, const uint8_t sk[32]) {
  uint8_t msg[32], aux[32] = {0};
  assert_int_equal(cairn_tx_sighash(msg, tx), CAIRN_OK);
  assert_int_equal(cairn_schnorr_sign(tx->sig, sk, msg, aux), CAIRN_OK);
  assert_int_equal(cairn_tx_verify(tx), CAIRN_OK);
}

static void ex_tx_common(cairn_tx *tx, uint8_t type, const uint8_t sender[32],
                         uint64_t seq) {
  memset(tx, 0, sizeof *tx);
  tx->version = CAIRN_TX_VERSION;
  tx->type = type;
  tx->chain_id_len = (uint8_t)strlen(EX_CHAIN);
  memcpy(tx->chain_id, EX_CHAIN, tx->chain_id_len);
  memcpy(tx->sender, sender, 32);
  tx->sequence = seq;
  tx->expiry_height = 100;
}

/* Encode, decode back, re-encode; emit hex and txid. */
static void ex_emit_tx(ex_ctx *x, const char *name, const cairn_tx *tx,
                       const ex_field *f, size_t nf, uint8_t txid[32]) {
  uint8_t buf[CAIRN_TX_BYTES_MAX], buf2[CAIRN_TX_BYTES_MAX];
  size_t len, len2;
  cairn_tx back;
  char label[128];
  assert_int_equal(cairn_tx_encode(buf, sizeof buf, &len, tx), CAIRN_OK);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(cairn_tx_encode(buf2, sizeof buf2, &len2, &back), CAIRN_OK);
  assert_memory_equal(buf, buf2, len);
  cairn_tx_id_bytes(txid, buf, len);
  if (x->spec == NULL) fprintf(x->out, "### %s (%zu bytes)\n\n", name, len);
  ex_fields(x, buf, len, f, nf);
  snprintf(label, sizeof label, "%s, all bytes", name);
  ex_hex(x, label, buf, len);
  snprintf(label, sizeof label, "%s, txid", name);
  ex_hex(x, label, txid, 32);
}

static const ex_field k_common[] = {
    {"version", 1}, {"type", 1}, {"chain_id (var8)", 11}, {"sender", 32},
    {"sequence", 8}, {"expiry_height", 8}, {"client_ref (var8)", 1}};

static void ex_transactions(ex_ctx *x, uint8_t issue_txid[32]) {
  uint8_t isk[32], ipk[32], msk[32], mpk[32], txid[32];
  cairn_tx tx;
  ex_field f[16];
  fill_key(isk, ipk, 0x01);
  fill_key(msk, mpk, 0x02);

  ex_tx_common(&tx, CAIRN_TX_ISSUE, ipk, 1);
  tx.u.issue.brand = 1;
  memcpy(tx.u.issue.to, mpk, 32);
  tx.u.issue.amount = 100;
  ex_sign(&tx, isk);
  memcpy(f, k_common, sizeof k_common);
  f[7] = (ex_field){"brand", 4};
  f[8] = (ex_field){"to", 32};
  f[9] = (ex_field){"amount", 8};
  f[10] = (ex_field){"sig", 64};
  ex_emit_tx(x, "ISSUE: coffee (brand 1) credits 100 points", &tx, f, 11,
             issue_txid);

  ex_tx_common(&tx, CAIRN_TX_REDEEM, mpk, 1);
  tx.u.redeem.brand = 1;
  tx.u.redeem.amount = 30;
  tx.u.redeem.ref_len = 6;
  memcpy(tx.u.redeem.ref, "A-1001", 6);
  /* The till's idempotency key: a retry with the same reference is
   * refused as a duplicate. */
  tx.client_ref_len = 12;
  memcpy(tx.client_ref, "till-4/r-881", 12);
  ex_sign(&tx, msk);
  f[6] = (ex_field){"client_ref (var8)", 13};
  f[7] = (ex_field){"brand", 4};
  f[8] = (ex_field){"amount", 8};
  f[9] = (ex_field){"ref (var8)", 7};
  f[10] = (ex_field){"sig", 64};
  ex_emit_tx(x, "REDEEM: the member burns 30 coffee points", &tx, f, 11, txid);

  f[6] = k_common[6];
  ex_tx_common(&tx, CAIRN_TX_COUPON_ISSUE, ipk, 2);
  tx.u.coupon_issue.brand = 1;
  memcpy(tx.u.coupon_issue.to, mpk, 32);
  tx.u.coupon_issue.kind = CAIRN_COUPON_PERCENT;
  tx.u.coupon_issue.value = 10;
  tx.u.coupon_issue.expiry_height = 1000;
  tx.u.coupon_issue.transferable = true;
  tx.u.coupon_issue.label_len = 7;
  memcpy(tx.u.coupon_issue.label, "10% off", 7);
  ex_sign(&tx, isk);
  f[7] = (ex_field){"brand", 4};
  f[8] = (ex_field){"to", 32};
  f[9] = (ex_field){"kind", 1};
  f[10] = (ex_field){"value", 8};
  f[11] = (ex_field){"coupon_expiry_height", 8};
  f[12] = (ex_field){"transferable", 1};
  f[13] = (ex_field){"label (var8)", 8};
  f[14] = (ex_field){"sig", 64};
  ex_emit_tx(x, "COUPON_ISSUE: a 10% coupon; its id is this txid", &tx, f, 15,
             txid);

  ex_tx_common(&tx, CAIRN_TX_POLICY, ipk, 3);
  tx.u.policy.brand = 1;
  tx.u.policy.flags = CAIRN_BRAND_FLAG_TRANSFERABLE;
  tx.u.policy.policy.expiry_mode = CAIRN_EXPIRY_FIXED;
  tx.u.policy.policy.expiry_blocks = 2592000;
  tx.u.policy.policy.max_issue_per_tx = 500;
  tx.u.policy.policy.max_issue_per_day = 0;
  ex_sign(&tx, isk);
  f[7] = (ex_field){"brand", 4};
  f[8] = (ex_field){"flags", 1};
  f[9] = (ex_field){"expiry_mode", 1};
  f[10] = (ex_field){"expiry_blocks", 8};
  f[11] = (ex_field){"max_issue_per_tx", 8};
  f[12] = (ex_field){"max_issue_per_day", 8};
  f[13] = (ex_field){"sig", 64};
  ex_emit_tx(x, "POLICY: coffee's points expire 2,592,000 blocks after issue, "
             "at most 500 per ISSUE", &tx, f, 14, txid);

  /* The issuer also operates the validator (genesis below) and bonds 250
   * of its free stake. The validator key is the Ed25519 key of seed 0x03. */
  uint8_t vseed[32], vpk[32], vsk[64];
  memset(vseed, 0x03, sizeof vseed);
  crypto_sign_seed_keypair(vpk, vsk, vseed);
  sodium_memzero(vsk, sizeof vsk);
  ex_tx_common(&tx, CAIRN_TX_BOND, ipk, 4);
  memcpy(tx.u.bond.validator, vpk, 32);
  tx.u.bond.amount = 250;
  ex_sign(&tx, isk);
  f[7] = (ex_field){"validator", 32};
  f[8] = (ex_field){"amount", 8};
  f[9] = (ex_field){"sig", 64};
  ex_emit_tx(x, "BOND: the validator's operator bonds 250 more stake", &tx, f,
             10, txid);
}

static void ex_genesis(ex_ctx *x, cairn_genesis *g, uint8_t ghash[32],
                       uint8_t vsk[64]) {
  uint8_t isk[32], seed[32], buf[1024];
  size_t len;
  char why[256];
  memset(g, 0, sizeof *g);
  g->version = CAIRN_GENESIS_VERSION;
  g->chain_id_len = (uint8_t)strlen(EX_CHAIN);
  memcpy(g->chain_id, EX_CHAIN, g->chain_id_len);
  g->time_ms = EX_TIME_MS;
  g->n_brands = 1;
  g->brands[0].id = 1;
  g->brands[0].name_len = 6;
  memcpy(g->brands[0].name, "coffee", 6);
  fill_key(isk, g->brands[0].issuer, 0x01);
  g->brands[0].flags = CAIRN_BRAND_FLAG_TRANSFERABLE;
  memset(seed, 0x03, sizeof seed);
  crypto_sign_seed_keypair(g->validators.v[0].pubkey, vsk, seed);
  g->validators.n = 1;
  g->validators.v[0].power = 10;
  memcpy(g->validators.v[0].operator_key, g->brands[0].issuer, 32);
  g->validators.v[0].name_len = 11;
  memcpy(g->validators.v[0].name, "validator-0", 11);
  /* The default staking rules, and 1000 free stake for the issuer. */
  g->n_stake = 1;
  memcpy(g->stake[0].account, g->brands[0].issuer, 32);
  g->stake[0].amount = 1000;
  assert_int_equal(cairn_genesis_check(g, why, sizeof why), CAIRN_OK);
  assert_int_equal(cairn_genesis_encode(buf, sizeof buf, &len, g), CAIRN_OK);
  assert_int_equal(cairn_genesis_hash(ghash, g), CAIRN_OK);
  if (x->spec == NULL) {
    fprintf(x->out,
            "### Genesis: one brand, one validator operated by the brand's "
            "issuer, default staking rules, 1000 free stake for the issuer "
            "(%zu bytes)\n\n",
            len);
  }
  const ex_field f[] = {{"version", 1},       {"chain_id (var8)", 11},
                        {"time_ms", 8},       {"n_brands", 2},
                        {"brand id", 4},      {"brand name (var8)", 7},
                        {"issuer", 32},       {"flags", 1},
                        {"expiry_mode", 1},   {"expiry_blocks", 8},
                        {"max_issue_per_tx", 8}, {"max_issue_per_day", 8},
                        {"n_validators", 2},  {"validator pubkey", 32},
                        {"power", 8},         {"operator", 32},
                        {"name (var8)", 12},  {"valset_delay_blocks", 8},
                        {"unbonding_blocks", 8},
                        {"evidence_max_age_blocks", 8},
                        {"slash_percent", 1}, {"n_stake", 2},
                        {"stake account", 32}, {"stake amount", 8}};
  ex_fields(x, buf, len, f, sizeof f / sizeof f[0]);
  ex_hex(x, "Genesis, all bytes", buf, len);
  ex_hex(x, "Genesis hash", ghash, 32);
}

static void ex_block(ex_ctx *x, const cairn_genesis *g,
                     const uint8_t ghash[32], const uint8_t vsk[64],
                     const uint8_t txid[32]) {
  cairn_block_header h;
  cairn_view *v;
  uint8_t buf[512], bhash[32];
  size_t len;
  memset(&h, 0, sizeof h);
  h.version = CAIRN_BLOCK_VERSION;
  h.chain_id_len = g->chain_id_len;
  memcpy(h.chain_id, g->chain_id, g->chain_id_len);
  h.height = 1;
  h.time_ms = EX_TIME_MS + 1000;
  memcpy(h.prev_hash, ghash, 32);
  assert_int_equal(cairn_merkle_root(h.tx_root, (const uint8_t(*)[32])txid, 1),
                   CAIRN_OK);
  /* S(0): genesis applied to the empty state. */
  assert_int_equal(cairn_view_open(&v, NULL), CAIRN_OK);
  assert_int_equal(cairn_state_apply_genesis(v, g), CAIRN_OK);
  assert_int_equal(cairn_state_hash_next(h.state_hash, ghash, v), CAIRN_OK);
  cairn_view_close(v);
  memcpy(h.proposer, g->validators.v[0].pubkey, 32);
  cairn_valset_hash(h.validators_hash, &g->validators);
  h.tx_count = 1;
  assert_int_equal(cairn_block_header_encode(buf, sizeof buf, &len, &h),
                   CAIRN_OK);
  assert_int_equal(cairn_block_hash(bhash, &h), CAIRN_OK);
  if (x->spec == NULL) {
    fprintf(x->out,
            "### Block header: height 1 holding the ISSUE above (%zu bytes)\n\n"
            "`state_hash` is S(0) of the genesis above.\n\n",
            len);
  }
  const ex_field f[] = {{"version", 1},        {"chain_id (var8)", 11},
                        {"height", 8},         {"time_ms", 8},
                        {"prev_hash", 32},     {"tx_root", 32},
                        {"state_hash", 32},    {"proposer", 32},
                        {"validators_hash", 32}, {"tx_count", 4}};
  ex_fields(x, buf, len, f, sizeof f / sizeof f[0]);
  ex_hex(x, "Header, all bytes", buf, len);
  ex_hex(x, "Block hash", bhash, 32);

  cairn_vote vote;
  cairn_commit c;
  memset(&vote, 0, sizeof vote);
  vote.type = CAIRN_VOTE_PRECOMMIT;
  vote.height = 1;
  memcpy(vote.block_hash, bhash, 32);
  memcpy(vote.validator, g->validators.v[0].pubkey, 32);
  assert_int_equal(cairn_vote_sign(&vote, h.chain_id, h.chain_id_len, vsk),
                   CAIRN_OK);
  memset(&c, 0, sizeof c);
  c.height = 1;
  memcpy(c.block_hash, bhash, 32);
  assert_int_equal(cairn_commit_add(&c, vote.validator, vote.sig), CAIRN_OK);
  assert_int_equal(cairn_commit_verify(&c, h.chain_id, h.chain_id_len, 1,
                                       bhash, &g->validators),
                   CAIRN_OK);
  assert_int_equal(cairn_commit_encode(buf, sizeof buf, &len, &c), CAIRN_OK);
  if (x->spec == NULL) {
    fprintf(x->out, "### Commit of that block by its one validator\n\n");
  }
  const ex_field cf[] = {{"height", 8},  {"round", 4}, {"block_hash", 32},
                         {"count", 2},   {"validator", 32}, {"sig", 64}};
  ex_fields(x, buf, len, cf, sizeof cf / sizeof cf[0]);
  ex_hex(x, "Commit, all bytes", buf, len);
}

static void ex_address(ex_ctx *x) {
  uint8_t sk[32], pk[32];
  char addr[CAIRN_ADDRESS_BUF];
  fill_key(sk, pk, 0x02);
  cairn_address_encode(addr, sizeof addr, pk);
  if (x->spec == NULL) {
    fprintf(x->out, "### Address of the member key (secret key 32 x 0x02)\n\n");
    fprintf(x->out, "    x-only key %s", "");
    for (int i = 0; i < 32; i++) fprintf(x->out, "%02x", pk[i]);
    fprintf(x->out, "\n    address    %s\n\n", addr);
  } else if (strstr(x->spec, addr) == NULL) {
    fail_msg("specs/encoding.md lacks the example address %s", addr);
  }
}

static void ex_all(ex_ctx *x) {
  uint8_t txid[32], ghash[32], vsk[64];
  cairn_genesis *g = malloc(sizeof *g);
  assert_non_null(g);
  if (x->spec == NULL) {
    fprintf(x->out,
            "Keys: the brand issuer's secret key is 32 bytes of 0x01, the "
            "member's 32 bytes of 0x02, the validator's Ed25519 seed 32 bytes "
            "of 0x03; BIP-340 signatures use an all-zero aux_rand. Chain id "
            "`" EX_CHAIN "`; every transaction has expiry_height 100.\n\n");
  }
  ex_address(x);
  ex_transactions(x, txid);
  ex_genesis(x, g, ghash, vsk);
  ex_block(x, g, ghash, vsk, txid);
  sodium_memzero(vsk, sizeof vsk);
  free(g);
}

static void test_spec_has_examples(void **state) {
  (void)state;
  char *spec;
  size_t len;
  assert_int_equal(cairn_file_read_all("specs/encoding.md", 1 << 20, &spec,
                                       &len),
                   CAIRN_OK);
  ex_ctx x = {spec, NULL};
  ex_all(&x);
  free(spec);
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  if (argc > 1 && strcmp(argv[1], "--print") == 0) {
    ex_ctx x = {NULL, stdout};
    ex_all(&x);
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_has_examples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
