/*
 * test_json.c - JSON renderings (field names and types exactly as
 * specs/api.md) and the strict u64 parsers.
 *
 * Each object's key set is checked exactly, so a renamed or extra field
 * fails here before a client notices.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "cairn/address.h"
#include "cairn/json.h"
#include "testutil.h"

/* obj has exactly the keys listed (NULL-terminated). */
static void expect_keys(const json_t *obj, const char *const *keys) {
  size_t n = 0;
  assert_true(json_is_object(obj));
  for (; keys[n] != NULL; n++) {
    if (json_object_get(obj, keys[n]) == NULL) {
      fprintf(stderr, "missing key %s\n", keys[n]);
    }
    assert_non_null(json_object_get(obj, keys[n]));
  }
  if (json_object_size(obj) != n) {
    char *s = json_dumps(obj, 0);
    fprintf(stderr, "unexpected keys in %s\n", s);
    free(s);
  }
  assert_int_equal(json_object_size(obj), n);
}

static const char *str(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

static json_int_t integer(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static void expect_address(const json_t *obj, const char *key,
                           const uint8_t pk[32]) {
  uint8_t back[32];
  assert_int_equal(cairn_address_decode(back, str(obj, key)), CAIRN_OK);
  assert_memory_equal(back, pk, 32);
}

/* ---- parsers ---- */

static void test_parse_u64(void **state) {
  uint64_t v;
  (void)state;
  static const struct {
    const char *s;
    uint64_t v;
  } good[] = {{"0", 0},
              {"1", 1},
              {"100", 100},
              {"9007199254740993", 9007199254740993ull},
              {"18446744073709551615", UINT64_MAX}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_int_equal(cairn_parse_u64(good[i].s, &v), CAIRN_OK);
    assert_true(v == good[i].v);
  }
  static const char *bad[] = {"",   "01",  "00",  "+1",  " 1",
                              "1 ", "-1",  "1a",  "0x1", "1.0",
                              "1e3", "18446744073709551616",
                              "99999999999999999999",
                              "184467440737095516150"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = 77;
    assert_int_equal(cairn_parse_u64(bad[i], &v), CAIRN_ERR_RANGE);
    assert_true(v == 0);
  }
}

static void test_json_get_u64(void **state) {
  uint64_t v;
  (void)state;
  json_t *j = json_integer(5);
  assert_int_equal(cairn_json_get_u64(j, &v), CAIRN_OK);
  assert_true(v == 5);
  json_decref(j);
  j = json_integer(INT64_MAX);
  assert_int_equal(cairn_json_get_u64(j, &v), CAIRN_OK);
  assert_true(v == (uint64_t)INT64_MAX);
  json_decref(j);
  j = json_integer(-1);
  assert_int_equal(cairn_json_get_u64(j, &v), CAIRN_ERR_RANGE);
  assert_true(v == 0);
  json_decref(j);
  j = json_string("18446744073709551615");
  assert_int_equal(cairn_json_get_u64(j, &v), CAIRN_OK);
  assert_true(v == UINT64_MAX);
  json_decref(j);
  j = json_string("007");
  assert_int_equal(cairn_json_get_u64(j, &v), CAIRN_ERR_RANGE);
  json_decref(j);
  j = json_stringn("1\0002", 3); /* an embedded NUL */
  assert_int_equal(cairn_json_get_u64(j, &v), CAIRN_ERR_RANGE);
  json_decref(j);
  json_t *wrong[] = {json_real(1.0), json_true(), json_null(), json_array(),
                     json_object()};
  for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
    v = 9;
    assert_int_equal(cairn_json_get_u64(wrong[i], &v), CAIRN_ERR_JSON);
    assert_true(v == 0);
    json_decref(wrong[i]);
  }
  assert_int_equal(cairn_json_get_u64(NULL, &v), CAIRN_ERR_JSON);
}

/* ---- scalars ---- */

static void test_scalars(void **state) {
  (void)state;
  json_t *j = cairn_json_u64(UINT64_MAX);
  assert_string_equal(json_string_value(j), "18446744073709551615");
  json_decref(j);
  j = cairn_json_u64(0);
  assert_string_equal(json_string_value(j), "0");
  json_decref(j);
  static const uint8_t bytes[] = {0x00, 0xab, 0x10, 0xff};
  j = cairn_json_hex(bytes, sizeof bytes);
  assert_string_equal(json_string_value(j), "00ab10ff");
  json_decref(j);
  j = cairn_json_hex(NULL, 0);
  assert_string_equal(json_string_value(j), "");
  json_decref(j);
  tu_key k;
  char addr[CAIRN_ADDRESS_BUF];
  tu_member(&k, 3);
  cairn_address_encode(addr, sizeof addr, k.pk);
  j = cairn_json_address(k.pk);
  assert_string_equal(json_string_value(j), addr);
  assert_int_equal(strncmp(addr, "cairn1", 6), 0);
  json_decref(j);
}

/* ---- transactions ---- */

static void test_tx_credit(void **state) {
  tu_key a, b;
  cairn_tx tx;
  uint8_t txid[32];
  (void)state;
  tu_member(&a, 1);
  tu_member(&b, 2);
  tu_tx_transfer(&tx, &a, 3, 2, b.pk, 9007199254740993ull);
  tu_txid(txid, &tx);
  json_t *j = cairn_json_tx(&tx, txid);
  static const char *const keys[] = {"txid", "type", "chain_id", "sender",
                                     "sequence", "expiry_height", "client_ref", "brand",
                                     "to", "amount", NULL};
  expect_keys(j, keys);
  char hex[65];
  cairn_hex_encode(hex, sizeof hex, txid, 32);
  assert_string_equal(str(j, "txid"), hex);
  assert_string_equal(str(j, "type"), "transfer");
  assert_string_equal(str(j, "chain_id"), TU_CHAIN_ID);
  expect_address(j, "sender", a.pk);
  expect_address(j, "to", b.pk);
  assert_int_equal(integer(j, "sequence"), 3);
  assert_int_equal(integer(j, "expiry_height"), TU_EXPIRY);
  assert_int_equal(integer(j, "brand"), 2);
  /* Above 2^53: a string, exact. */
  assert_string_equal(str(j, "amount"), "9007199254740993");
  json_decref(j);

  /* Without a txid the field is absent; issue has the same shape. */
  tu_tx_issue(&tx, &a, 1, 1, b.pk, 5);
  j = cairn_json_tx(&tx, NULL);
  expect_keys(j, keys + 1);
  assert_string_equal(str(j, "type"), "issue");
  assert_string_equal(str(j, "amount"), "5");
  json_decref(j);

  /* Integers beyond what a JSON integer can carry become strings rather
   * than wrap to negative numbers. */
  tu_tx_init(&tx, CAIRN_TX_ISSUE, a.pk, UINT64_MAX);
  tx.expiry_height = (uint64_t)INT64_MAX;
  tx.u.issue.brand = 1;
  memcpy(tx.u.issue.to, b.pk, 32);
  tx.u.issue.amount = 1;
  j = cairn_json_tx(&tx, NULL);
  assert_string_equal(str(j, "sequence"), "18446744073709551615");
  assert_true(integer(j, "expiry_height") == INT64_MAX);
  json_decref(j);
}

/* The staking types: each payload's keys and values. */
static void test_tx_staking(void **state) {
  (void)state;
  tu_key a, b;
  tu_vkey v;
  cairn_tx tx;
  char vhex[65];
  tu_member(&a, 1);
  tu_member(&b, 2);
  tu_validator(&v, 0);
  cairn_hex_encode(vhex, sizeof vhex, v.pk, 32);
  tu_tx_init(&tx, CAIRN_TX_UNBOND, a.pk, 2);
  memcpy(tx.u.bond.validator, v.pk, 32);
  tx.u.bond.amount = 9007199254740993ull;
  json_t *j = cairn_json_tx(&tx, NULL);
  static const char *const bond_keys[] = {"type", "chain_id", "sender",
      "sequence", "expiry_height", "client_ref", "validator", "amount", NULL};
  expect_keys(j, bond_keys);
  assert_string_equal(str(j, "type"), "unbond");
  assert_string_equal(str(j, "validator"), vhex);
  assert_string_equal(str(j, "amount"), "9007199254740993");
  json_decref(j);

  tu_tx_init(&tx, CAIRN_TX_ADMIT, a.pk, 1);
  memcpy(tx.u.admit.validator, v.pk, 32);
  tx.u.admit.amount = 100;
  tx.u.admit.deadline_height = 77;
  tx.u.admit.name_len = 8;
  memcpy(tx.u.admit.name, "newbrand", 9);
  j = cairn_json_tx(&tx, NULL);
  static const char *const admit_keys[] = {"type", "chain_id", "sender",
      "sequence", "expiry_height", "client_ref", "validator", "name",
      "amount", "deadline_height", NULL};
  expect_keys(j, admit_keys);
  assert_string_equal(str(j, "name"), "newbrand");
  assert_string_equal(str(j, "amount"), "100");
  assert_int_equal(integer(j, "deadline_height"), 77);
  json_decref(j);

  tu_tx_init(&tx, CAIRN_TX_APPROVE, a.pk, 1);
  memset(tx.u.approve.proposal, 0xab, 32);
  j = cairn_json_tx(&tx, NULL);
  assert_int_equal(json_object_size(j), 7);
  assert_string_equal(str(j, "type"), "approve");
  assert_string_equal(str(j, "proposal"),
                      "abababababababababababababababababababababababababababababababab");
  json_decref(j);

  tu_tx_init(&tx, CAIRN_TX_STAKE_TRANSFER, a.pk, 1);
  memcpy(tx.u.stake_transfer.to, b.pk, 32);
  tx.u.stake_transfer.amount = 5;
  j = cairn_json_tx(&tx, NULL);
  assert_int_equal(json_object_size(j), 8);
  assert_string_equal(str(j, "type"), "stake_transfer");
  expect_address(j, "to", b.pk);
  assert_string_equal(str(j, "amount"), "5");
  json_decref(j);

  /* EVIDENCE: the bytes and what they prove. */
  cairn_vote x, y;
  memset(&x, 0, sizeof x);
  x.type = CAIRN_VOTE_PRECOMMIT;
  x.height = 9;
  x.round = 2;
  y = x;
  memset(x.block_hash, 0x22, 32);
  memset(y.block_hash, 0x11, 32);
  tu_check("vote", cairn_vote_sign(&x, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), v.sk));
  tu_check("vote", cairn_vote_sign(&y, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), v.sk));
  cairn_evidence e;
  size_t len = 0;
  tu_check("evidence", cairn_evidence_from_votes(&e, &x, &y));
  tu_tx_init(&tx, CAIRN_TX_EVIDENCE, a.pk, 1);
  tu_check("encode", cairn_evidence_encode(tx.u.evidence.evidence,
                                           CAIRN_EVIDENCE_BYTES, &len, &e));
  j = cairn_json_tx(&tx, NULL);
  static const char *const ev_keys[] = {"type", "chain_id", "sender",
      "sequence", "expiry_height", "client_ref", "evidence", "offence", NULL};
  expect_keys(j, ev_keys);
  assert_int_equal(strlen(str(j, "evidence")), 2 * CAIRN_EVIDENCE_BYTES);
  const json_t *off = json_object_get(j, "offence");
  static const char *const off_keys[] = {"validator", "height", "round",
      "type", "block_hash_a", "block_hash_b", NULL};
  expect_keys(off, off_keys);
  assert_string_equal(str(off, "validator"), vhex);
  assert_int_equal(integer(off, "height"), 9);
  assert_int_equal(integer(off, "round"), 2);
  assert_string_equal(str(off, "type"), "precommit");
  assert_string_equal(str(off, "block_hash_a"),
                      "1111111111111111111111111111111111111111111111111111111111111111");
  assert_string_equal(str(off, "block_hash_b"),
                      "2222222222222222222222222222222222222222222222222222222222222222");
  json_decref(j);
}

static void test_tx_redeem_ref(void **state) {
  tu_key a;
  cairn_tx tx;
  (void)state;
  tu_member(&a, 1);
  tu_tx_redeem(&tx, &a, 2, 3, 25, "order 42 ~!");
  json_t *j = cairn_json_tx(&tx, NULL);
  static const char *const keys[] = {"type", "chain_id", "sender", "sequence",
                                     "expiry_height", "client_ref", "brand", "amount", "ref",
                                     NULL};
  expect_keys(j, keys);
  assert_string_equal(str(j, "type"), "redeem");
  assert_string_equal(str(j, "ref"), "order 42 ~!");
  assert_string_equal(str(j, "amount"), "25");
  json_decref(j);
  /* Non-printable bytes (a control character, a UTF-8 byte) go to ref_hex. */
  static const uint8_t odd[][3] = {{'a', '\n', 'b'}, {0xc3, 0xa9, 'x'},
                                   {'a', 0x7f, 'b'}};
  static const char *const hexes[] = {"610a62", "c3a978", "617f62"};
  for (int i = 0; i < 3; i++) {
    tx.u.redeem.ref_len = 3;
    memcpy(tx.u.redeem.ref, odd[i], 3);
    j = cairn_json_tx(&tx, NULL);
    assert_null(json_object_get(j, "ref"));
    assert_string_equal(str(j, "ref_hex"), hexes[i]);
    json_decref(j);
  }
  /* An empty ref is an empty string. */
  tx.u.redeem.ref_len = 0;
  j = cairn_json_tx(&tx, NULL);
  assert_string_equal(str(j, "ref"), "");
  assert_string_equal(str(j, "client_ref"), "");
  json_decref(j);
  /* The client reference follows the same text-or-hex rule. */
  tx.client_ref_len = 6;
  memcpy(tx.client_ref, "pos-71", 6);
  j = cairn_json_tx(&tx, NULL);
  assert_string_equal(str(j, "client_ref"), "pos-71");
  json_decref(j);
  tx.client_ref[0] = 0x01;
  j = cairn_json_tx(&tx, NULL);
  assert_null(json_object_get(j, "client_ref"));
  assert_string_equal(str(j, "client_ref_hex"), "016f732d3731");
  json_decref(j);
}

static void test_holds(void **state) {
  tu_key a;
  cairn_tx tx;
  (void)state;
  tu_member(&a, 1);
  tu_tx_init(&tx, CAIRN_TX_HOLD, a.pk, 4);
  tx.u.hold.brand = 2;
  tx.u.hold.amount = 30;
  tx.u.hold.timeout_height = 90;
  tx.u.hold.ref_len = 3;
  memcpy(tx.u.hold.ref, "o-1", 3);
  json_t *j = cairn_json_tx(&tx, NULL);
  static const char *const keys[] = {"type", "chain_id", "sender", "sequence",
                                     "expiry_height", "client_ref", "brand",
                                     "amount", "timeout_height", "ref", NULL};
  expect_keys(j, keys);
  assert_string_equal(str(j, "type"), "hold");
  assert_string_equal(str(j, "amount"), "30");
  assert_int_equal(integer(j, "timeout_height"), 90);
  assert_string_equal(str(j, "ref"), "o-1");
  json_decref(j);
  tu_tx_init(&tx, CAIRN_TX_CAPTURE, a.pk, 5);
  memset(tx.u.capture.hold, 0xab, 32);
  tx.u.capture.amount = 7;
  j = cairn_json_tx(&tx, NULL);
  assert_string_equal(str(j, "type"), "capture");
  assert_string_equal(str(j, "amount"), "7");
  assert_int_equal(strlen(str(j, "hold")), 64);
  json_decref(j);
  tu_tx_init(&tx, CAIRN_TX_REVERSE, a.pk, 6);
  memset(tx.u.reverse.issue, 0x11, 32);
  tx.u.reverse.amount = 9;
  tx.u.reverse.ref_len = 2;
  memcpy(tx.u.reverse.ref, "r1", 2);
  j = cairn_json_tx(&tx, NULL);
  static const char *const rkeys[] = {"type", "chain_id", "sender",
                                      "sequence", "expiry_height",
                                      "client_ref", "issue", "amount", "ref",
                                      NULL};
  expect_keys(j, rkeys);
  assert_string_equal(str(j, "type"), "reverse");
  assert_string_equal(str(j, "amount"), "9");
  json_decref(j);
  cairn_hold h = {.brand = 3, .amount = 12, .timeout_height = 44};
  memset(h.id, 0xcd, 32);
  memcpy(h.member, a.pk, 32);
  j = cairn_json_hold(&h);
  static const char *const hkeys[] = {"id", "brand", "member", "amount",
                                      "timeout_height", "points_expiry_height",
                                      NULL};
  expect_keys(j, hkeys);
  expect_address(j, "member", a.pk);
  assert_string_equal(str(j, "amount"), "12");
  json_decref(j);
}

static void test_agreements(void **state) {
  tu_key a;
  cairn_tx tx;
  (void)state;
  tu_member(&a, 1);
  tu_tx_init(&tx, CAIRN_TX_AGREE, a.pk, 2);
  tx.u.agree.terms = (cairn_agreement_terms){1, 3, 80, 100, 0, 0, 0};
  json_t *j = cairn_json_tx(&tx, NULL);
  static const char *const keys[] = {
      "type", "chain_id", "sender", "sequence", "expiry_height", "client_ref",
      "agreement", "from_brand", "to_brand", "rate_num", "rate_den",
      "valid_from_height", "valid_until_height", "cap", NULL};
  expect_keys(j, keys);
  uint8_t id[32];
  char hex[65];
  cairn_agreement_id(id, &tx.u.agree.terms);
  cairn_hex_encode(hex, sizeof hex, id, 32);
  assert_string_equal(str(j, "agreement"), hex);
  assert_string_equal(str(j, "rate_num"), "80");
  json_decref(j);
  cairn_agreement ag = {.terms = tx.u.agree.terms, .signed_by = 3,
                        .redeemed = 100};
  memcpy(ag.id, id, 32);
  j = cairn_json_agreement(&ag, 5);
  static const char *const akeys[] = {
      "id", "from_brand", "to_brand", "rate_num", "rate_den",
      "valid_from_height", "valid_until_height", "cap", "signed_by_from",
      "signed_by_to", "revoked", "redeemed", "active", NULL};
  expect_keys(j, akeys);
  assert_string_equal(str(j, "id"), hex);
  assert_true(json_is_true(json_object_get(j, "active")));
  json_decref(j);
  ag.signed_by = CAIRN_AGREEMENT_SIGNED_TO;
  j = cairn_json_agreement(&ag, 5);
  assert_true(json_is_false(json_object_get(j, "active")));
  json_decref(j);
  tu_tx_init(&tx, CAIRN_TX_REDEEM_AT, a.pk, 3);
  tx.u.redeem_at = (cairn_tx_redeem_at){.from_brand = 1, .at_brand = 3,
                                        .amount = 100};
  j = cairn_json_tx(&tx, NULL);
  assert_string_equal(str(j, "type"), "redeem_at");
  assert_int_equal(integer(j, "at_brand"), 3);
  json_decref(j);
  tu_tx_init(&tx, CAIRN_TX_SETTLE, a.pk, 4);
  tx.u.settle = (cairn_tx_settle){.debtor_brand = 1, .creditor_brand = 3,
                                  .amount = 80};
  j = cairn_json_tx(&tx, NULL);
  assert_string_equal(str(j, "type"), "settle");
  assert_string_equal(str(j, "amount"), "80");
  json_decref(j);
}

static void test_brand_stats(void **state) {
  (void)state;
  cairn_brand_stats st = {.issued = 500, .redeemed_home = 120,
                          .redeemed_partner = 100, .reversed = 30,
                          .held = 20};
  json_t *j = cairn_json_brand_stats(7, &st);
  static const char *const keys[] = {"brand", "issued", "redeemed_home",
                                     "redeemed_partner", "expired", "reversed",
                                     "held", "outstanding", NULL};
  expect_keys(j, keys);
  assert_int_equal(integer(j, "brand"), 7);
  assert_string_equal(str(j, "issued"), "500");
  assert_string_equal(str(j, "reversed"), "30");
  assert_string_equal(str(j, "outstanding"), "250");
  json_decref(j);
  /* An inconsistent record never wraps around. */
  st.redeemed_home = 1000;
  j = cairn_json_brand_stats(7, &st);
  assert_string_equal(str(j, "outstanding"), "0");
  json_decref(j);
}

static void test_tx_coupons(void **state) {
  tu_key a, b;
  cairn_tx tx;
  uint8_t coupon[32];
  char coupon_hex[65];
  (void)state;
  tu_member(&a, 1);
  tu_member(&b, 2);
  memset(coupon, 0xc0, 32);
  cairn_hex_encode(coupon_hex, sizeof coupon_hex, coupon, 32);

  tu_tx_coupon_issue(&tx, &a, 1, 2, b.pk, 777, true);
  json_t *j = cairn_json_tx(&tx, NULL);
  static const char *const issue_keys[] = {
      "type", "chain_id", "sender", "sequence", "expiry_height", "client_ref", "brand", "to",
      "kind", "value", "coupon_expiry_height", "transferable", "label", NULL};
  expect_keys(j, issue_keys);
  assert_string_equal(str(j, "type"), "coupon_issue");
  assert_string_equal(str(j, "kind"), "amount");
  assert_string_equal(str(j, "value"), "500");
  assert_int_equal(integer(j, "coupon_expiry_height"), 777);
  assert_true(json_is_true(json_object_get(j, "transferable")));
  assert_string_equal(str(j, "label"), "test coupon");
  expect_address(j, "to", b.pk);
  json_decref(j);
  tx.u.coupon_issue.kind = CAIRN_COUPON_PERCENT;
  tx.u.coupon_issue.transferable = false;
  tx.u.coupon_issue.label[0] = 0x01;
  j = cairn_json_tx(&tx, NULL);
  assert_string_equal(str(j, "kind"), "percent");
  assert_true(json_is_false(json_object_get(j, "transferable")));
  assert_null(json_object_get(j, "label"));
  assert_string_equal(str(j, "label_hex"), "0165737420636f75706f6e");
  json_decref(j);

  tu_tx_coupon_transfer(&tx, &a, 2, coupon, b.pk);
  j = cairn_json_tx(&tx, NULL);
  static const char *const transfer_keys[] = {
      "type", "chain_id", "sender", "sequence", "expiry_height", "client_ref", "coupon", "to",
      NULL};
  expect_keys(j, transfer_keys);
  assert_string_equal(str(j, "type"), "coupon_transfer");
  assert_string_equal(str(j, "coupon"), coupon_hex);
  json_decref(j);

  tu_tx_coupon_redeem(&tx, &a, 3, coupon, 2, "till-3");
  j = cairn_json_tx(&tx, NULL);
  static const char *const redeem_keys[] = {
      "type", "chain_id", "sender", "sequence", "expiry_height", "client_ref", "coupon",
      "brand", "ref", NULL};
  expect_keys(j, redeem_keys);
  assert_string_equal(str(j, "type"), "coupon_redeem");
  assert_string_equal(str(j, "coupon"), coupon_hex);
  assert_int_equal(integer(j, "brand"), 2);
  assert_string_equal(str(j, "ref"), "till-3");
  json_decref(j);
}

/* A chain id is rendered like a ref: hex if it is not printable. */
static void test_tx_chain_id_hex(void **state) {
  tu_key a, b;
  cairn_tx tx;
  (void)state;
  tu_member(&a, 1);
  tu_member(&b, 2);
  tu_tx_issue(&tx, &a, 1, 1, b.pk, 5);
  tx.chain_id_len = 2;
  tx.chain_id[0] = 0;
  tx.chain_id[1] = 0xff;
  json_t *j = cairn_json_tx(&tx, NULL);
  assert_null(json_object_get(j, "chain_id"));
  assert_string_equal(str(j, "chain_id_hex"), "00ff");
  json_decref(j);
}

/* ---- headers and commits ---- */

#define HEX32(b) b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b
#define ONES HEX32("01")
#define FOURS HEX32("04")
#define FIVES HEX32("05")
#define EES HEX32("ee")

static void test_header(void **state) {
  cairn_block_header h;
  uint8_t hash[32];
  (void)state;
  memset(&h, 0, sizeof h);
  h.version = 1;
  h.chain_id_len = 10;
  memcpy(h.chain_id, "cairn-demo", 10);
  h.height = 3;
  h.time_ms = 1764000000123ull;
  memset(h.prev_hash, 0x01, 32);
  memset(h.tx_root, 0x02, 32);
  memset(h.state_hash, 0x03, 32);
  memset(h.proposer, 0x04, 32);
  memset(h.validators_hash, 0x05, 32);
  h.tx_count = 2;
  memset(hash, 0xee, 32);
  json_t *j = cairn_json_header(&h, NULL);
  static const char *const keys[] = {
      "version", "chain_id", "height", "time_ms", "prev_hash", "tx_root",
      "state_hash", "proposer", "validators_hash", "tx_count", NULL};
  expect_keys(j, keys);
  assert_int_equal(integer(j, "version"), 1);
  assert_string_equal(str(j, "chain_id"), "cairn-demo");
  assert_int_equal(integer(j, "height"), 3);
  assert_true(integer(j, "time_ms") == 1764000000123ll);
  assert_string_equal(str(j, "prev_hash"), ONES);
  assert_string_equal(str(j, "proposer"), FOURS);
  assert_string_equal(str(j, "validators_hash"), FIVES);
  assert_int_equal(integer(j, "tx_count"), 2);
  json_decref(j);
  j = cairn_json_header(&h, hash);
  assert_int_equal(json_object_size(j), 11);
  assert_string_equal(str(j, "hash"), EES);
  json_decref(j);
}

static void test_commit(void **state) {
  cairn_commit c;
  uint8_t key[32], sig[64];
  (void)state;
  memset(&c, 0, sizeof c);
  c.height = 3;
  c.round = 1;
  memset(c.block_hash, 0xab, 32);
  for (int i = 0; i < 2; i++) {
    memset(key, 0x10 + i, 32);
    memset(sig, 0x20 + i, 64);
    assert_int_equal(cairn_commit_add(&c, key, sig), CAIRN_OK);
  }
  json_t *j = cairn_json_commit(&c);
  static const char *const keys[] = {"height", "round", "block_hash",
                                     "signatures", NULL};
  expect_keys(j, keys);
  assert_int_equal(integer(j, "height"), 3);
  assert_int_equal(integer(j, "round"), 1);
  json_t *sigs = json_object_get(j, "signatures");
  assert_int_equal(json_array_size(sigs), 2);
  static const char *const sig_keys[] = {"validator", "signature", NULL};
  for (size_t i = 0; i < 2; i++) {
    json_t *s = json_array_get(sigs, i);
    expect_keys(s, sig_keys);
    assert_int_equal(strlen(str(s, "validator")), 64);
    assert_int_equal(strlen(str(s, "signature")), 128);
  }
  const char *v1 = str(json_array_get(sigs, 1), "validator");
  const char *s0 = str(json_array_get(sigs, 0), "signature");
  assert_string_equal(v1, HEX32("11"));
  assert_int_equal(strncmp(s0, "2020", 4), 0);
  json_decref(j);
}

/* ---- coupons and brands ---- */

static void sample_coupon(cairn_coupon *c) {
  tu_key owner;
  tu_member(&owner, 4);
  memset(c, 0, sizeof *c);
  memset(c->id, 0x9a, 32);
  c->brand = 1;
  memcpy(c->owner, owner.pk, 32);
  c->kind = CAIRN_COUPON_PERCENT;
  c->value = 10;
  c->expiry_height = 1200;
  c->transferable = true;
  c->status = CAIRN_COUPON_ACTIVE;
  c->issued_height = 5;
  c->label_len = 7;
  memcpy(c->label, "10% off", 7);
}

static void test_coupon(void **state) {
  cairn_coupon c;
  (void)state;
  sample_coupon(&c);
  json_t *j = cairn_json_coupon(&c, 1200);
  static const char *const keys[] = {
      "id", "brand", "owner", "kind", "value", "expiry_height", "transferable",
      "status", "issued_height", "redeemed_height", "label", NULL};
  expect_keys(j, keys);
  assert_string_equal(str(j, "status"), "active"); /* tip == expiry */
  assert_string_equal(str(j, "kind"), "percent");
  assert_string_equal(str(j, "value"), "10");
  assert_int_equal(integer(j, "expiry_height"), 1200);
  assert_int_equal(integer(j, "issued_height"), 5);
  assert_int_equal(integer(j, "redeemed_height"), 0);
  assert_int_equal(integer(j, "brand"), 1);
  assert_string_equal(str(j, "label"), "10% off");
  assert_true(json_is_true(json_object_get(j, "transferable")));
  tu_key owner;
  tu_member(&owner, 4);
  expect_address(j, "owner", owner.pk);
  json_decref(j);
  j = cairn_json_coupon(&c, 1201);
  assert_string_equal(str(j, "status"), "expired");
  json_decref(j);
  /* Redeemed wins over expired. */
  c.status = CAIRN_COUPON_USED;
  c.redeemed_height = 900;
  j = cairn_json_coupon(&c, 5000);
  assert_string_equal(str(j, "status"), "redeemed");
  assert_int_equal(integer(j, "redeemed_height"), 900);
  json_decref(j);
  c.kind = CAIRN_COUPON_AMOUNT;
  c.label[0] = 0xff;
  j = cairn_json_coupon(&c, 0);
  assert_string_equal(str(j, "kind"), "amount");
  assert_null(json_object_get(j, "label"));
  assert_string_equal(str(j, "label_hex"), "ff3025206f6666");
  json_decref(j);
}

static void test_brand(void **state) {
  cairn_brand b;
  (void)state;
  tu_genesis_brand(&b, 3, "books", 0);
  json_t *j = cairn_json_brand(&b);
  static const char *const keys[] = {"id", "name", "issuer", "transferable",
                                     "policy", NULL};
  expect_keys(j, keys);
  const json_t *p = json_object_get(j, "policy");
  static const char *const pkeys[] = {"expiry", "expiry_blocks",
                                      "max_issue_per_tx", "max_issue_per_day",
                                      "accept_by_partners", NULL};
  expect_keys(p, pkeys);
  assert_string_equal(str(p, "expiry"), "none");
  assert_string_equal(str(p, "max_issue_per_tx"), "0");
  assert_true(json_is_true(json_object_get(p, "accept_by_partners")));
  assert_int_equal(integer(j, "id"), 3);
  assert_string_equal(str(j, "name"), "books");
  assert_true(json_is_false(json_object_get(j, "transferable")));
  expect_address(j, "issuer", b.issuer);
  json_decref(j);
  b.flags = CAIRN_BRAND_FLAG_TRANSFERABLE | CAIRN_BRAND_FLAG_NO_PARTNERS;
  b.policy.expiry_mode = CAIRN_EXPIRY_FIXED;
  b.policy.expiry_blocks = 720;
  b.policy.max_issue_per_day = 9007199254740993ull;
  j = cairn_json_brand(&b);
  assert_true(json_is_true(json_object_get(j, "transferable")));
  p = json_object_get(j, "policy");
  assert_string_equal(str(p, "expiry"), "fixed");
  assert_int_equal(integer(p, "expiry_blocks"), 720);
  assert_string_equal(str(p, "max_issue_per_day"), "9007199254740993");
  assert_true(json_is_false(json_object_get(p, "accept_by_partners")));
  json_decref(j);
}

static void test_unknown_key(void **state) {
  (void)state;
  static const char *const known[] = {"a", "b"};
  json_t *o = json_pack("{s:i, s:i}", "a", 1, "b", 2);
  assert_non_null(o);
  assert_null(cairn_json_unknown_key(o, known, 2));
  assert_string_equal(cairn_json_unknown_key(o, known, 1), "b");
  assert_int_equal(json_object_set_new(o, "zz", json_true()), 0);
  assert_string_equal(cairn_json_unknown_key(o, known, 2), "zz");
  json_decref(o);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_key),
      cmocka_unit_test(test_parse_u64),
      cmocka_unit_test(test_json_get_u64),
      cmocka_unit_test(test_scalars),
      cmocka_unit_test(test_tx_credit),
      cmocka_unit_test(test_tx_redeem_ref),
      cmocka_unit_test(test_tx_staking),
      cmocka_unit_test(test_tx_coupons),
      cmocka_unit_test(test_tx_chain_id_hex),
      cmocka_unit_test(test_header),
      cmocka_unit_test(test_commit),
      cmocka_unit_test(test_coupon),
      cmocka_unit_test(test_brand),
      cmocka_unit_test(test_brand_stats),
      cmocka_unit_test(test_holds),
      cmocka_unit_test(test_agreements),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
