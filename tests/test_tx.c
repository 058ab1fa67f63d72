/*
 * test_tx.c - transactions: canonical bytes, every decode rejection with its
 * exact error, ids, signatures, and a seeded random round trip.
 *
 * Malformed inputs are made by editing valid encodings at known offsets, so
 * each case differs from an accepted transaction in exactly one field and
 * the expected error cannot come from anywhere else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

/* Offsets in a transaction for chain id TU_CHAIN_ID (10 bytes). */
#define CID_LEN 10
#define OFF_VERSION 0
#define OFF_TYPE 1
#define OFF_CHAIN_LEN 2
#define OFF_SENDER (3 + CID_LEN)
#define OFF_SEQ (OFF_SENDER + 32)
#define OFF_EXPIRY (OFF_SEQ + 8)
#define OFF_REF (OFF_EXPIRY + 8)
#define OFF_PAYLOAD (OFF_REF + 1) /* samples carry an empty client_ref */
_Static_assert(sizeof(TU_CHAIN_ID) - 1 == CID_LEN, "offsets assume it");

static const uint8_t zero_tx_bytes[sizeof(cairn_tx)];

typedef struct keys {
  tu_key a, b;
} keys;

static void keys_init(keys *k) {
  tu_member(&k->a, 1);
  tu_member(&k->b, 2);
}

/* Canonical evidence of validator i signing two precommits at height 5,
 * round 1, for two different blocks (fill1 and fill2 byte patterns). */
static void sample_evidence(uint8_t out[CAIRN_EVIDENCE_BYTES], uint32_t i,
                            uint8_t fill1, uint8_t fill2) {
  tu_vkey vk;
  cairn_vote x, y;
  cairn_evidence e;
  size_t len = 0;
  tu_validator(&vk, i);
  memset(&x, 0, sizeof x);
  x.type = CAIRN_VOTE_PRECOMMIT;
  x.height = 5;
  x.round = 1;
  y = x;
  memset(x.block_hash, fill1, 32);
  memset(y.block_hash, fill2, 32);
  const uint8_t *cid = (const uint8_t *)TU_CHAIN_ID;
  tu_check("vote", cairn_vote_sign(&x, cid, strlen(TU_CHAIN_ID), vk.sk));
  tu_check("vote", cairn_vote_sign(&y, cid, strlen(TU_CHAIN_ID), vk.sk));
  tu_check("evidence", cairn_evidence_from_votes(&e, &x, &y));
  tu_check("evidence", cairn_evidence_encode(out, CAIRN_EVIDENCE_BYTES, &len,
                                             &e));
}

/* The staking types (16..21). */
static void sample_stake(cairn_tx *tx, uint8_t type, const keys *k) {
  tu_vkey vk;
  tu_validator(&vk, 3);
  tu_tx_init(tx, type, k->a.pk, type);
  switch (type) {
    case CAIRN_TX_BOND:
    case CAIRN_TX_UNBOND:
      memcpy(tx->u.bond.validator, vk.pk, 32);
      tx->u.bond.amount = type == CAIRN_TX_BOND ? 500 : 200;
      break;
    case CAIRN_TX_ADMIT:
      memcpy(tx->u.admit.validator, vk.pk, 32);
      tx->u.admit.amount = 1000;
      tx->u.admit.deadline_height = 90;
      tx->u.admit.name_len = 6;
      memcpy(tx->u.admit.name, "books2", 7);
      break;
    case CAIRN_TX_APPROVE:
      memset(tx->u.approve.proposal, 0xa9, 32);
      break;
    case CAIRN_TX_EVIDENCE:
      sample_evidence(tx->u.evidence.evidence, 3, 0x11, 0x22);
      break;
    case CAIRN_TX_STAKE_TRANSFER:
      memcpy(tx->u.stake_transfer.to, k->b.pk, 32);
      tx->u.stake_transfer.amount = 77;
      break;
    default:
      fail_msg("no sample for type %u", type);
  }
  tu_tx_sign(tx, &k->a);
}

/* A signed sample of each type from a to b. */
static void sample(cairn_tx *tx, uint8_t type, const keys *k) {
  uint8_t coupon[32];
  memset(coupon, 0xc5, sizeof coupon);
  switch (type) {
    case CAIRN_TX_ISSUE:
      tu_tx_issue(tx, &k->a, 1, 1, k->b.pk, 100);
      break;
    case CAIRN_TX_TRANSFER:
      tu_tx_transfer(tx, &k->a, 2, 1, k->b.pk, 40);
      break;
    case CAIRN_TX_REDEEM:
      tu_tx_redeem(tx, &k->a, 3, 2, 25, "order-42");
      break;
    case CAIRN_TX_COUPON_ISSUE:
      tu_tx_coupon_issue(tx, &k->a, 4, 1, k->b.pk, 5000, true);
      break;
    case CAIRN_TX_COUPON_TRANSFER:
      tu_tx_coupon_transfer(tx, &k->a, 5, coupon, k->b.pk);
      break;
    case CAIRN_TX_COUPON_REDEEM:
      tu_tx_coupon_redeem(tx, &k->a, 6, coupon, 1, "pos-7");
      break;
    case CAIRN_TX_POLICY:
      tu_tx_init(tx, CAIRN_TX_POLICY, k->a.pk, 7);
      tx->u.policy.brand = 3;
      tx->u.policy.flags = CAIRN_BRAND_FLAG_TRANSFERABLE;
      tx->u.policy.policy.expiry_mode = CAIRN_EXPIRY_FIXED;
      tx->u.policy.policy.expiry_blocks = 720;
      tx->u.policy.policy.max_issue_per_tx = 500;
      tx->u.policy.policy.max_issue_per_day = 5000;
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_HOLD:
      tu_tx_init(tx, CAIRN_TX_HOLD, k->a.pk, 8);
      tx->u.hold.brand = 2;
      tx->u.hold.amount = 30;
      tx->u.hold.timeout_height = 77;
      tx->u.hold.ref_len = 5;
      memcpy(tx->u.hold.ref, "ord-9", 5);
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_CAPTURE:
      tu_tx_init(tx, CAIRN_TX_CAPTURE, k->a.pk, 9);
      memcpy(tx->u.capture.hold, coupon, 32);
      tx->u.capture.amount = 12;
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_RELEASE:
      tu_tx_init(tx, CAIRN_TX_RELEASE, k->a.pk, 10);
      memcpy(tx->u.release.hold, coupon, 32);
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_REVERSE:
      tu_tx_init(tx, CAIRN_TX_REVERSE, k->a.pk, 11);
      memcpy(tx->u.reverse.issue, coupon, 32);
      tx->u.reverse.amount = 25;
      tx->u.reverse.ref_len = 6;
      memcpy(tx->u.reverse.ref, "ret-12", 6);
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_AGREE:
      tu_tx_init(tx, CAIRN_TX_AGREE, k->a.pk, 12);
      tx->u.agree.terms = (cairn_agreement_terms){1, 3, 80, 100, 5, 500, 0};
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_REVOKE:
      tu_tx_init(tx, CAIRN_TX_REVOKE, k->a.pk, 13);
      memcpy(tx->u.revoke.agreement, coupon, 32);
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_REDEEM_AT:
      tu_tx_init(tx, CAIRN_TX_REDEEM_AT, k->a.pk, 14);
      tx->u.redeem_at.from_brand = 1;
      tx->u.redeem_at.at_brand = 3;
      memcpy(tx->u.redeem_at.agreement, coupon, 32);
      tx->u.redeem_at.amount = 100;
      tx->u.redeem_at.ref_len = 4;
      memcpy(tx->u.redeem_at.ref, "bk-1", 4);
      tu_tx_sign(tx, &k->a);
      break;
    case CAIRN_TX_SETTLE:
      tu_tx_init(tx, CAIRN_TX_SETTLE, k->a.pk, 15);
      tx->u.settle.debtor_brand = 1;
      tx->u.settle.creditor_brand = 3;
      tx->u.settle.amount = 80;
      tu_tx_sign(tx, &k->a);
      break;
    default:
      sample_stake(tx, type, k);
      break;
  }
}

static size_t sample_bytes(uint8_t *buf, uint8_t type, const keys *k) {
  cairn_tx tx;
  sample(&tx, type, k);
  return tu_tx_bytes(buf, CAIRN_TX_BYTES_MAX, &tx);
}

/* Decode must fail with want and leave the struct all zero. */
static void expect_reject(const uint8_t *buf, size_t len, cairn_err want) {
  cairn_tx tx;
  memset(&tx, 0xab, sizeof tx);
  cairn_err got = cairn_tx_decode(&tx, buf, len);
  if (got != want) {
    fprintf(stderr, "decode: got %s, want %s\n", cairn_errname(got),
            cairn_errname(want));
  }
  assert_int_equal(got, want);
  assert_memory_equal(&tx, zero_tx_bytes, sizeof tx);
}

static void expect_accept(const uint8_t *buf, size_t len) {
  cairn_tx tx;
  cairn_err got = cairn_tx_decode(&tx, buf, len);
  if (got != CAIRN_OK) fprintf(stderr, "decode: %s\n", cairn_errname(got));
  assert_int_equal(got, CAIRN_OK);
}

static void test_type_names(void **state) {
  (void)state;
  assert_string_equal(cairn_tx_type_name(1), "issue");
  assert_string_equal(cairn_tx_type_name(2), "transfer");
  assert_string_equal(cairn_tx_type_name(3), "redeem");
  assert_string_equal(cairn_tx_type_name(4), "coupon_issue");
  assert_string_equal(cairn_tx_type_name(5), "coupon_transfer");
  assert_string_equal(cairn_tx_type_name(6), "coupon_redeem");
  assert_string_equal(cairn_tx_type_name(0), "unknown");
  assert_string_equal(cairn_tx_type_name(7), "policy");
  assert_string_equal(cairn_tx_type_name(8), "hold");
  assert_string_equal(cairn_tx_type_name(9), "capture");
  assert_string_equal(cairn_tx_type_name(10), "release");
  assert_string_equal(cairn_tx_type_name(11), "reverse");
  assert_string_equal(cairn_tx_type_name(12), "agree");
  assert_string_equal(cairn_tx_type_name(13), "revoke");
  assert_string_equal(cairn_tx_type_name(14), "redeem_at");
  assert_string_equal(cairn_tx_type_name(15), "settle");
  assert_string_equal(cairn_tx_type_name(16), "bond");
  assert_string_equal(cairn_tx_type_name(17), "unbond");
  assert_string_equal(cairn_tx_type_name(18), "admit");
  assert_string_equal(cairn_tx_type_name(19), "approve");
  assert_string_equal(cairn_tx_type_name(20), "evidence");
  assert_string_equal(cairn_tx_type_name(21), "stake_transfer");
  assert_string_equal(cairn_tx_type_name(CAIRN_TX_TYPE_MAX + 1), "unknown");
}

static void test_round_trip_every_type(void **state) {
  keys k;
  (void)state;
  keys_init(&k);
  for (uint8_t type = 1; type <= CAIRN_TX_TYPE_MAX; type++) {
    uint8_t buf[CAIRN_TX_BYTES_MAX], buf2[CAIRN_TX_BYTES_MAX];
    cairn_tx tx, back;
    sample(&tx, type, &k);
    size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
    assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
    assert_int_equal(back.type, type);
    assert_int_equal(back.sequence, type);
    assert_memory_equal(back.sender, k.a.pk, 32);
    assert_memory_equal(back.sig, tx.sig, 64);
    size_t len2 = tu_tx_bytes(buf2, sizeof buf2, &back);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    assert_int_equal(cairn_tx_verify(&back), CAIRN_OK);
    uint8_t id1[32], id2[32];
    assert_int_equal(cairn_tx_id(id1, &back), CAIRN_OK);
    cairn_tx_id_bytes(id2, buf, len);
    assert_memory_equal(id1, id2, 32);
  }
}

static void test_payload_fields_survive(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  cairn_tx tx, back;
  (void)state;
  keys_init(&k);
  sample(&tx, CAIRN_TX_COUPON_ISSUE, &k);
  tx.u.coupon_issue.kind = CAIRN_COUPON_PERCENT;
  tx.u.coupon_issue.value = 100;
  tu_tx_sign(&tx, &k.a);
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.u.coupon_issue.brand, 1);
  assert_memory_equal(back.u.coupon_issue.to, k.b.pk, 32);
  assert_int_equal(back.u.coupon_issue.kind, CAIRN_COUPON_PERCENT);
  assert_int_equal(back.u.coupon_issue.value, 100);
  assert_int_equal(back.u.coupon_issue.expiry_height, 5000);
  assert_true(back.u.coupon_issue.transferable);
  assert_int_equal(back.u.coupon_issue.label_len, 11);
  assert_memory_equal(back.u.coupon_issue.label, "test coupon", 11);

  sample(&tx, CAIRN_TX_REDEEM, &k);
  len = tu_tx_bytes(buf, sizeof buf, &tx);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.u.redeem.brand, 2);
  assert_int_equal(back.u.redeem.amount, 25);
  assert_int_equal(back.u.redeem.ref_len, 8);
  assert_memory_equal(back.u.redeem.ref, "order-42", 8);
}

/* A fixed transaction signed with fixed aux randomness: its bytes and id
 * are constants, so any change to the format shows up here. The keys come
 * from fixed secret keys (not testutil's derivation) so that only the
 * transaction format can move these values. */
static void golden_tx(cairn_tx *tx) {
  uint8_t sk_a[32], sk_b[32], pk_a[32], pk_b[32], msg[32], aux[32];
  memset(sk_a, 0x11, sizeof sk_a);
  memset(sk_b, 0x22, sizeof sk_b);
  assert_int_equal(cairn_schnorr_pubkey(pk_a, sk_a), CAIRN_OK);
  assert_int_equal(cairn_schnorr_pubkey(pk_b, sk_b), CAIRN_OK);
  /* Issue 1000 points of brand 1 to b, sequence 1, expiry 42. */
  tu_tx_init(tx, CAIRN_TX_ISSUE, pk_a, 1);
  tx->chain_id_len = 10;
  memcpy(tx->chain_id, "cairn-test", 10);
  tx->expiry_height = 42;
  tx->u.issue.brand = 1;
  memcpy(tx->u.issue.to, pk_b, 32);
  tx->u.issue.amount = 1000;
  assert_int_equal(cairn_tx_sighash(msg, tx), CAIRN_OK);
  memset(aux, 0, sizeof aux); /* BIP-340 signing is then deterministic */
  assert_int_equal(cairn_schnorr_sign(tx->sig, sk_a, msg, aux), CAIRN_OK);
}

#define GOLDEN_TX_HEX                                                      \
  "01010a636169726e2d746573744f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f" \
  "859ab0f0b704075871aa0000000000000001000000000000002a0000000001466d7fca" \
  "e563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f2700000000000003" \
  "e86c6c56b64eb0f37fc4e7b88f86f8b43417b549e1d50bd3cf087b3ec5dd7e15afe04a" \
  "230a425364aee04668f1a9847bac69ea415dd4cb673fb22ebdc38c130af3"
#define GOLDEN_TXID_HEX \
  "ae96259e0421eeb22e8527c87a742ff2247de631ea6686d738ed70f0535ccb13"

static void test_golden_txid(void **state) {
  cairn_tx tx;
  uint8_t buf[CAIRN_TX_BYTES_MAX], id[32], by_hand[32], sighash[32];
  char hex[2 * CAIRN_TX_BYTES_MAX + 1];
  (void)state;
  golden_tx(&tx);
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  assert_int_equal(len, 2 + 11 + 32 + 16 + 1 + 4 + 32 + 8 + 64);
  cairn_hex_encode(hex, sizeof hex, buf, len);
  printf("golden tx: %s\n", hex);
  assert_string_equal(hex, GOLDEN_TX_HEX);
  assert_int_equal(cairn_tx_id(id, &tx), CAIRN_OK);
  cairn_hex_encode(hex, sizeof hex, id, 32);
  printf("golden txid: %s\n", hex);
  assert_string_equal(hex, GOLDEN_TXID_HEX);
  /* The id is the tagged hash of all bytes, computed here from scratch. */
  uint8_t tag[32];
  cairn_sha256 h;
  cairn_sha256_hash(tag, (const uint8_t *)"cairn/txid", 10);
  cairn_sha256_init(&h);
  cairn_sha256_update(&h, tag, 32);
  cairn_sha256_update(&h, tag, 32);
  cairn_sha256_update(&h, buf, len);
  cairn_sha256_final(&h, by_hand);
  assert_memory_equal(id, by_hand, 32);
  /* The sighash is the tagged hash of everything before the signature. */
  assert_int_equal(cairn_tx_sighash(sighash, &tx), CAIRN_OK);
  cairn_tagged_hash(by_hand, "cairn/tx-sig", buf, len - 64);
  assert_memory_equal(sighash, by_hand, 32);
  assert_int_equal(cairn_tx_verify(&tx), CAIRN_OK);
}

static void test_truncated_every_length(void **state) {
  keys k;
  (void)state;
  keys_init(&k);
  for (uint8_t type = 1; type <= CAIRN_TX_TYPE_MAX; type++) {
    uint8_t buf[CAIRN_TX_BYTES_MAX];
    size_t len = sample_bytes(buf, type, &k);
    for (size_t cut = 0; cut < len; cut++) {
      expect_reject(buf, cut, CAIRN_ERR_TRUNCATED);
    }
    expect_accept(buf, len);
  }
}

static void test_trailing_byte(void **state) {
  keys k;
  (void)state;
  keys_init(&k);
  for (uint8_t type = 1; type <= CAIRN_TX_TYPE_MAX; type++) {
    uint8_t buf[CAIRN_TX_BYTES_MAX];
    size_t len = sample_bytes(buf, type, &k);
    buf[len] = 0;
    expect_reject(buf, len + 1, CAIRN_ERR_TRAILING);
  }
}

static void test_oversize(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX + 1];
  (void)state;
  keys_init(&k);
  memset(buf, 0, sizeof buf);
  size_t len = sample_bytes(buf, CAIRN_TX_ISSUE, &k);
  /* The size check comes first, whatever the bytes are. */
  expect_reject(buf, CAIRN_TX_BYTES_MAX + 1, CAIRN_ERR_OVERSIZE);
  buf[0] = 9;
  expect_reject(buf, CAIRN_TX_BYTES_MAX + 1, CAIRN_ERR_OVERSIZE);
  buf[0] = CAIRN_TX_VERSION;
  /* Exactly the limit is not oversize: the padding is trailing bytes. */
  expect_reject(buf, CAIRN_TX_BYTES_MAX, CAIRN_ERR_TRAILING);
  expect_accept(buf, len);
}

static void test_version_and_type(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  size_t len = sample_bytes(buf, CAIRN_TX_TRANSFER, &k);
  static const uint8_t versions[] = {0, 2, 255};
  for (size_t i = 0; i < sizeof versions; i++) {
    buf[OFF_VERSION] = versions[i];
    expect_reject(buf, len, CAIRN_ERR_VERSION);
  }
  /* The version is judged before anything is missing. */
  expect_reject(buf, 1, CAIRN_ERR_VERSION);
  buf[OFF_VERSION] = CAIRN_TX_VERSION;
  static const uint8_t types[] = {0, CAIRN_TX_TYPE_MAX + 1, 255};
  for (size_t i = 0; i < sizeof types; i++) {
    buf[OFF_TYPE] = types[i];
    expect_reject(buf, len, CAIRN_ERR_BAD_TYPE);
  }
  buf[OFF_TYPE] = CAIRN_TX_TRANSFER;
  expect_accept(buf, len);
}

/* Replace the chain id of a valid encoding with n bytes of 'x'. */
static size_t with_chain_id(uint8_t *out, const uint8_t *buf, size_t len,
                            size_t n) {
  out[0] = buf[0];
  out[1] = buf[1];
  out[2] = (uint8_t)n;
  memset(out + 3, 'x', n);
  memcpy(out + 3 + n, buf + OFF_SENDER, len - OFF_SENDER);
  return 3 + n + len - OFF_SENDER;
}

static void test_chain_id_length(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX], ed[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  size_t len = sample_bytes(buf, CAIRN_TX_ISSUE, &k);
  expect_reject(ed, with_chain_id(ed, buf, len, 0), CAIRN_ERR_RANGE);
  expect_reject(ed, with_chain_id(ed, buf, len, 33), CAIRN_ERR_RANGE);
  expect_reject(ed, with_chain_id(ed, buf, len, 255), CAIRN_ERR_RANGE);
  expect_accept(ed, with_chain_id(ed, buf, len, 1));
  expect_accept(ed, with_chain_id(ed, buf, len, 32));
}

static void put64(uint8_t *p, uint64_t v) { cairn_be64_write(p, v); }

static void test_sequence_and_expiry_zero(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  size_t len = sample_bytes(buf, CAIRN_TX_REDEEM, &k);
  put64(buf + OFF_SEQ, 0);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + OFF_SEQ, UINT64_MAX);
  expect_accept(buf, len);
  put64(buf + OFF_EXPIRY, 0);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + OFF_EXPIRY, 1);
  expect_accept(buf, len);
}

static void test_zero_amounts(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  /* issue / transfer: brand u32 | to [32] | amount u64 */
  for (uint8_t type = CAIRN_TX_ISSUE; type <= CAIRN_TX_TRANSFER; type++) {
    size_t len = sample_bytes(buf, type, &k);
    put64(buf + OFF_PAYLOAD + 36, 0);
    expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
    put64(buf + OFF_PAYLOAD + 36, 1);
    expect_accept(buf, len);
  }
  /* redeem: brand u32 | amount u64 | ref */
  size_t len = sample_bytes(buf, CAIRN_TX_REDEEM, &k);
  put64(buf + OFF_PAYLOAD + 4, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  /* coupon issue: brand | to | kind u8 | value u64 */
  len = sample_bytes(buf, CAIRN_TX_COUPON_ISSUE, &k);
  put64(buf + OFF_PAYLOAD + 37, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
}

static void test_brand_zero(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  static const uint8_t types[] = {CAIRN_TX_ISSUE, CAIRN_TX_TRANSFER,
                                  CAIRN_TX_REDEEM, CAIRN_TX_COUPON_ISSUE};
  for (size_t i = 0; i < sizeof types; i++) {
    size_t len = sample_bytes(buf, types[i], &k);
    cairn_be32_write(buf + OFF_PAYLOAD, 0);
    expect_reject(buf, len, CAIRN_ERR_UNKNOWN_BRAND);
  }
  size_t len = sample_bytes(buf, CAIRN_TX_COUPON_REDEEM, &k);
  cairn_be32_write(buf + OFF_PAYLOAD + 32, 0);
  expect_reject(buf, len, CAIRN_ERR_UNKNOWN_BRAND);
  cairn_be32_write(buf + OFF_PAYLOAD + 32, UINT32_MAX);
  expect_accept(buf, len);
}

static void test_coupon_fields(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  const size_t kind = OFF_PAYLOAD + 36, value = kind + 1;
  const size_t expiry = value + 8, flag = expiry + 8;
  (void)state;
  keys_init(&k);
  size_t len = sample_bytes(buf, CAIRN_TX_COUPON_ISSUE, &k);
  buf[kind] = 0;
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  buf[kind] = 3;
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  buf[kind] = CAIRN_COUPON_PERCENT; /* value is 500 */
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + value, 101);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + value, 100);
  expect_accept(buf, len);
  put64(buf + value, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  buf[kind] = CAIRN_COUPON_AMOUNT;
  put64(buf + value, UINT64_MAX);
  expect_accept(buf, len);
  put64(buf + expiry, 0);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + expiry, 1);
  expect_accept(buf, len);
  buf[flag] = 2;
  expect_reject(buf, len, CAIRN_ERR_NONCANONICAL);
  buf[flag] = 0xff;
  expect_reject(buf, len, CAIRN_ERR_NONCANONICAL);
  buf[flag] = 0;
  expect_accept(buf, len);
}

/* Lengths of ref and label above 64 are RANGE, not TRUNCATED, even when
 * the bytes would be there. */
static void test_ref_and_label_lengths(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  cairn_tx tx;
  (void)state;
  keys_init(&k);
  sample(&tx, CAIRN_TX_REDEEM, &k);
  tx.u.redeem.ref_len = 64;
  memset(tx.u.redeem.ref, 'r', 64);
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  expect_accept(buf, len);
  const size_t ref_len_at = OFF_PAYLOAD + 12;
  assert_int_equal(buf[ref_len_at], 64);
  memmove(buf + ref_len_at + 2, buf + ref_len_at + 1, len - ref_len_at - 1);
  buf[ref_len_at + 1] = 'r';
  buf[ref_len_at] = 65;
  expect_reject(buf, len + 1, CAIRN_ERR_RANGE);

  sample(&tx, CAIRN_TX_COUPON_ISSUE, &k);
  len = tu_tx_bytes(buf, sizeof buf, &tx);
  const size_t label_len_at = OFF_PAYLOAD + 4 + 32 + 1 + 8 + 8 + 1;
  assert_int_equal(buf[label_len_at], 11);
  buf[label_len_at] = 65;
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  buf[label_len_at] = 0; /* the label bytes now trail */
  expect_reject(buf, len, CAIRN_ERR_TRAILING);
}

static void test_recipient_not_a_key(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  uint8_t bad[2][32];
  (void)state;
  keys_init(&k);
  memset(bad[0], 0xff, 32); /* x >= p */
  /* A BIP-340 vector key that is not on the curve. */
  assert_int_equal(cairn_hex_decode_exact(bad[1], 32,
                                          "eefdea4cdb677750a420fee807eacf21"
                                          "eb9898ae79b9768766e4faa04a2d4a34"),
                   CAIRN_OK);
  static const struct {
    uint8_t type;
    size_t to_at;
  } cases[] = {{CAIRN_TX_ISSUE, OFF_PAYLOAD + 4},
               {CAIRN_TX_TRANSFER, OFF_PAYLOAD + 4},
               {CAIRN_TX_COUPON_ISSUE, OFF_PAYLOAD + 4},
               {CAIRN_TX_COUPON_TRANSFER, OFF_PAYLOAD + 32}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    for (size_t j = 0; j < 2; j++) {
      size_t len = sample_bytes(buf, cases[i].type, &k);
      memcpy(buf + cases[i].to_at, bad[j], 32);
      expect_reject(buf, len, CAIRN_ERR_BAD_KEY);
    }
  }
  /* The sender is not checked by decode (verification catches it). */
  size_t len = sample_bytes(buf, CAIRN_TX_ISSUE, &k);
  memcpy(buf + OFF_SENDER, bad[0], 32);
  cairn_tx tx;
  assert_int_equal(cairn_tx_decode(&tx, buf, len), CAIRN_OK);
  assert_int_equal(cairn_tx_verify(&tx), CAIRN_ERR_BAD_KEY);
}

/* The staking payloads: fields survive, and each field rule rejects with
 * its own error. */
static void test_stake_fields(void **state) {
  keys k;
  uint8_t buf[CAIRN_TX_BYTES_MAX], ev[CAIRN_EVIDENCE_BYTES];
  cairn_tx tx, back;
  tu_vkey vk;
  (void)state;
  keys_init(&k);
  tu_validator(&vk, 3);
  const size_t P = OFF_PAYLOAD;
  for (uint8_t type = CAIRN_TX_BOND; type <= CAIRN_TX_STAKE_TRANSFER; type++) {
    sample(&tx, type, &k);
    size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
    assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
    assert_memory_equal(&back.u, &tx.u, sizeof tx.u);
  }
  /* BOND / UNBOND: a validator key that is no Ed25519 point, zero amount. */
  size_t len = sample_bytes(buf, CAIRN_TX_BOND, &k);
  assert_int_equal(len, P + 32 + 8 + 64);
  memset(buf + P, 0, 32);
  expect_reject(buf, len, CAIRN_ERR_BAD_KEY);
  len = sample_bytes(buf, CAIRN_TX_UNBOND, &k);
  memset(buf + P, 0xff, 32);
  expect_reject(buf, len, CAIRN_ERR_BAD_KEY);
  len = sample_bytes(buf, CAIRN_TX_UNBOND, &k);
  memset(buf + P + 32, 0, 8);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  /* ADMIT: key, amount, name length and characters. */
  len = sample_bytes(buf, CAIRN_TX_ADMIT, &k);
  assert_int_equal(len, P + 32 + 8 + 8 + 1 + 6 + 64);
  expect_accept(buf, len);
  buf[P + 5] ^= 0x40;
  expect_reject(buf, len, CAIRN_ERR_BAD_KEY);
  len = sample_bytes(buf, CAIRN_TX_ADMIT, &k);
  memset(buf + P + 32, 0, 8);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  len = sample_bytes(buf, CAIRN_TX_ADMIT, &k);
  buf[P + 49] = 'B';
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  len = sample_bytes(buf, CAIRN_TX_ADMIT, &k);
  buf[P + 48] = 0; /* empty name; its six bytes then trail */
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  len = sample_bytes(buf, CAIRN_TX_ADMIT, &k);
  buf[P + 48] = 33;
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  /* EVIDENCE: must decode as evidence. */
  len = sample_bytes(buf, CAIRN_TX_EVIDENCE, &k);
  assert_int_equal(len, P + CAIRN_EVIDENCE_BYTES + 64);
  buf[P] = 2;
  expect_reject(buf, len, CAIRN_ERR_VERSION);
  len = sample_bytes(buf, CAIRN_TX_EVIDENCE, &k);
  buf[P + 1] = 3; /* vote_a's type */
  expect_reject(buf, len, CAIRN_ERR_BAD_TYPE);
  sample_evidence(ev, 3, 0x11, 0x22);
  len = sample_bytes(buf, CAIRN_TX_EVIDENCE, &k);
  memcpy(buf + P + 1, ev + 1 + CAIRN_VOTE_BYTES, CAIRN_VOTE_BYTES);
  memcpy(buf + P + 1 + CAIRN_VOTE_BYTES, ev + 1, CAIRN_VOTE_BYTES);
  expect_reject(buf, len, CAIRN_ERR_NONCANONICAL);
  expect_reject(buf, P + CAIRN_EVIDENCE_BYTES - 1, CAIRN_ERR_TRUNCATED);
  /* STAKE_TRANSFER: the recipient must be a key, the amount >= 1. */
  len = sample_bytes(buf, CAIRN_TX_STAKE_TRANSFER, &k);
  assert_int_equal(len, P + 32 + 8 + 64);
  memset(buf + P, 0xff, 32);
  expect_reject(buf, len, CAIRN_ERR_BAD_KEY);
  len = sample_bytes(buf, CAIRN_TX_STAKE_TRANSFER, &k);
  memset(buf + P + 32, 0, 8);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
}

static void test_sign_and_verify(void **state) {
  keys k;
  cairn_tx tx, before;
  uint8_t msg[32];
  (void)state;
  keys_init(&k);
  sample(&tx, CAIRN_TX_TRANSFER, &k);
  assert_int_equal(cairn_tx_verify(&tx), CAIRN_OK);
  /* Signing with a key that is not the sender's changes nothing. */
  memcpy(&before, &tx, sizeof tx);
  assert_int_equal(cairn_tx_sign(&tx, k.b.sk), CAIRN_ERR_BAD_KEY);
  assert_memory_equal(&tx, &before, sizeof tx);
  uint8_t zero_sk[32] = {0};
  assert_int_equal(cairn_tx_sign(&tx, zero_sk), CAIRN_ERR_BAD_KEY);
  assert_memory_equal(&tx, &before, sizeof tx);
  /* A valid signature by the wrong key. */
  assert_int_equal(cairn_tx_sighash(msg, &tx), CAIRN_OK);
  assert_int_equal(cairn_schnorr_sign(tx.sig, k.b.sk, msg, NULL), CAIRN_OK);
  assert_int_equal(cairn_tx_verify(&tx), CAIRN_ERR_BAD_SIG);
  /* The sender's signature over a different message. */
  msg[0] ^= 1;
  assert_int_equal(cairn_schnorr_sign(tx.sig, k.a.sk, msg, NULL), CAIRN_OK);
  assert_int_equal(cairn_tx_verify(&tx), CAIRN_ERR_BAD_SIG);
  tu_tx_sign(&tx, &k.a);
  assert_int_equal(cairn_tx_verify(&tx), CAIRN_OK);
}

/* Flipping any bit of any byte breaks the signature or the decode. */
static void test_any_flip_invalidates(void **state) {
  keys k;
  (void)state;
  keys_init(&k);
  for (uint8_t type = 1; type <= CAIRN_TX_TYPE_MAX; type++) {
    uint8_t buf[CAIRN_TX_BYTES_MAX];
    size_t len = sample_bytes(buf, type, &k), decoded = 0;
    for (size_t i = 0; i < len; i++) {
      for (int bit = 0; bit < 8; bit += 7) {
        cairn_tx tx;
        buf[i] ^= (uint8_t)(1u << bit);
        cairn_err err = cairn_tx_decode(&tx, buf, len);
        if (err == CAIRN_OK) {
          decoded++;
          err = cairn_tx_verify(&tx);
          assert_true(err == CAIRN_ERR_BAD_SIG || err == CAIRN_ERR_BAD_KEY);
        }
        buf[i] ^= (uint8_t)(1u << bit);
      }
    }
    /* Most flips still decode, so the signature is what catches them. */
    assert_true(decoded > len);
    expect_accept(buf, len);
  }
}

static void test_encode_small_buffer(void **state) {
  keys k;
  cairn_tx tx;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  size_t len = 77;
  (void)state;
  keys_init(&k);
  sample(&tx, CAIRN_TX_ISSUE, &k);
  size_t full = tu_tx_bytes(buf, sizeof buf, &tx);
  assert_int_equal(cairn_tx_encode(buf, full - 1, &len, &tx),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(len, 0);
  assert_int_equal(cairn_tx_encode(NULL, 0, &len, &tx), CAIRN_ERR_OVERSIZE);
  assert_int_equal(cairn_tx_encode(buf, full, &len, &tx), CAIRN_OK);
  assert_int_equal(len, full);
}

/* POLICY: flags, mode and period are checked by the decoder. */
static void test_policy_fields(void **state) {
  keys k;
  cairn_tx back;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  size_t len = sample_bytes(buf, CAIRN_TX_POLICY, &k);
  assert_int_equal(len, OFF_PAYLOAD + 4 + 1 + 1 + 24 + 64);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.u.policy.brand, 3);
  assert_int_equal(back.u.policy.policy.expiry_blocks, 720);
  assert_int_equal(back.u.policy.policy.max_issue_per_day, 5000);
  const size_t flags = OFF_PAYLOAD + 4, mode = flags + 1, blocks = mode + 1;
  buf[flags] = 0x04;
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  buf[flags] = 0x03;
  expect_accept(buf, len);
  buf[mode] = 3;
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  buf[mode] = CAIRN_EXPIRY_NONE; /* with a period of 720 */
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + blocks, 0);
  expect_accept(buf, len);
  buf[mode] = CAIRN_EXPIRY_ROLLING; /* without a period */
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  cairn_be32_write(buf + OFF_PAYLOAD, 0);
  expect_reject(buf, len, CAIRN_ERR_UNKNOWN_BRAND);
}

/* HOLD, CAPTURE, RELEASE: amounts >= 1, timeout >= 1, ref <= 64. */
static void test_hold_fields(void **state) {
  keys k;
  cairn_tx back;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  size_t len = sample_bytes(buf, CAIRN_TX_HOLD, &k);
  assert_int_equal(len, OFF_PAYLOAD + 4 + 8 + 8 + 6 + 64);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.u.hold.amount, 30);
  assert_int_equal(back.u.hold.timeout_height, 77);
  assert_memory_equal(back.u.hold.ref, "ord-9", 5);
  put64(buf + OFF_PAYLOAD + 4, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  put64(buf + OFF_PAYLOAD + 4, 30);
  put64(buf + OFF_PAYLOAD + 12, 0);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + OFF_PAYLOAD + 12, 77);
  buf[OFF_PAYLOAD + 20] = 65; /* ref length */
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  len = sample_bytes(buf, CAIRN_TX_CAPTURE, &k);
  assert_int_equal(len, OFF_PAYLOAD + 32 + 8 + 64);
  put64(buf + OFF_PAYLOAD + 32, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  len = sample_bytes(buf, CAIRN_TX_RELEASE, &k);
  assert_int_equal(len, OFF_PAYLOAD + 32 + 64);
  expect_accept(buf, len);
  /* REVERSE: issue [32] | amount u64 | ref var8(64). */
  len = sample_bytes(buf, CAIRN_TX_REVERSE, &k);
  assert_int_equal(len, OFF_PAYLOAD + 32 + 8 + 7 + 64);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.u.reverse.amount, 25);
  assert_memory_equal(back.u.reverse.ref, "ret-12", 6);
  put64(buf + OFF_PAYLOAD + 32, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  put64(buf + OFF_PAYLOAD + 32, 25);
  buf[OFF_PAYLOAD + 40] = 65;
  expect_reject(buf, len, CAIRN_ERR_RANGE);
}

/* AGREE, REDEEM_AT, SETTLE: two different brands, positive rates, a sane
 * window; the agreement id is the tagged hash of the terms. */
static void test_agreement_fields(void **state) {
  keys k;
  cairn_tx back;
  uint8_t buf[CAIRN_TX_BYTES_MAX], id[32], by_hand[32], terms[48];
  (void)state;
  keys_init(&k);
  size_t len = sample_bytes(buf, CAIRN_TX_AGREE, &k);
  assert_int_equal(len, OFF_PAYLOAD + 48 + 64);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.u.agree.terms.rate_num, 80);
  assert_int_equal(back.u.agree.terms.valid_until_height, 500);
  cairn_agreement_id(id, &back.u.agree.terms);
  memcpy(terms, buf + OFF_PAYLOAD, 48);
  cairn_tagged_hash(by_hand, "cairn/agreement", terms, 48);
  assert_memory_equal(id, by_hand, 32);
  const size_t to = OFF_PAYLOAD + 4, num = OFF_PAYLOAD + 8, den = num + 8;
  const size_t until = den + 16;
  cairn_be32_write(buf + to, 1); /* from = to */
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  cairn_be32_write(buf + to, 0);
  expect_reject(buf, len, CAIRN_ERR_UNKNOWN_BRAND);
  cairn_be32_write(buf + to, 3);
  put64(buf + num, 0);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + num, 80);
  put64(buf + den, 0);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + den, 100);
  put64(buf + until, 4); /* before valid_from 5 */
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  put64(buf + until, 0); /* open-ended */
  expect_accept(buf, len);
  len = sample_bytes(buf, CAIRN_TX_REDEEM_AT, &k);
  assert_int_equal(len, OFF_PAYLOAD + 4 + 4 + 32 + 8 + 5 + 64);
  cairn_be32_write(buf + OFF_PAYLOAD + 4, 1);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  cairn_be32_write(buf + OFF_PAYLOAD + 4, 3);
  put64(buf + OFF_PAYLOAD + 40, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
  len = sample_bytes(buf, CAIRN_TX_SETTLE, &k);
  assert_int_equal(len, OFF_PAYLOAD + 4 + 4 + 8 + 1 + 64);
  cairn_be32_write(buf + OFF_PAYLOAD, 3);
  expect_reject(buf, len, CAIRN_ERR_RANGE);
  cairn_be32_write(buf + OFF_PAYLOAD, 1);
  put64(buf + OFF_PAYLOAD + 8, 0);
  expect_reject(buf, len, CAIRN_ERR_ZERO_AMOUNT);
}

/* The client reference: 0..32 bytes, right after expiry_height, covered by
 * the signature. */
static void test_client_ref(void **state) {
  keys k;
  cairn_tx tx, back;
  uint8_t buf[CAIRN_TX_BYTES_MAX], ed[CAIRN_TX_BYTES_MAX];
  (void)state;
  keys_init(&k);
  sample(&tx, CAIRN_TX_ISSUE, &k);
  size_t plain = tu_tx_bytes(buf, sizeof buf, &tx);
  tx.client_ref_len = 32;
  memset(tx.client_ref, 'r', 32);
  tu_tx_sign(&tx, &k.a);
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  assert_int_equal(len, plain + 32);
  assert_int_equal(buf[OFF_REF], 32);
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.client_ref_len, 32);
  assert_memory_equal(back.client_ref, tx.client_ref, 32);
  assert_int_equal(cairn_tx_verify(&back), CAIRN_OK);
  /* The reference is signed: changing one byte breaks the signature. */
  buf[OFF_REF + 1] ^= 1;
  assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(cairn_tx_verify(&back), CAIRN_ERR_BAD_SIG);
  buf[OFF_REF + 1] ^= 1;
  /* 33 bytes: out of range, checked before anything after it. */
  memcpy(ed, buf, OFF_REF);
  ed[OFF_REF] = 33;
  memset(ed + OFF_REF + 1, 'r', 33);
  memcpy(ed + OFF_REF + 34, buf + OFF_REF + 33, len - OFF_REF - 33);
  expect_reject(ed, len + 1, CAIRN_ERR_RANGE);
  expect_reject(buf, OFF_REF + 5, CAIRN_ERR_TRUNCATED);
}

/* ---- seeded random round trips ---- */

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t test_seed(void) {
  const char *env = getenv("CAIRN_TEST_SEED");
  uint64_t seed;
  if (env != NULL) return strtoull(env, NULL, 10);
  randombytes_buf(&seed, sizeof seed);
  return seed;
}

static void random_bytes(uint64_t *s, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next(s);
}

/* A random valid payload of a staking type. */
static void random_stake_payload(cairn_tx *tx, uint64_t *s,
                                 const uint8_t to[32]) {
  tu_vkey vk;
  tu_validator(&vk, (uint32_t)(rng_next(s) % 8));
  uint64_t amount = 1 + rng_next(s) % UINT64_MAX;
  switch (tx->type) {
    case CAIRN_TX_BOND:
    case CAIRN_TX_UNBOND:
      memcpy(tx->u.bond.validator, vk.pk, 32);
      tx->u.bond.amount = amount;
      break;
    case CAIRN_TX_ADMIT: {
      static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
      memcpy(tx->u.admit.validator, vk.pk, 32);
      tx->u.admit.amount = amount;
      tx->u.admit.deadline_height = rng_next(s);
      tx->u.admit.name_len = (uint8_t)(1 + rng_next(s) % 32);
      for (size_t i = 0; i < tx->u.admit.name_len; i++)
        tx->u.admit.name[i] = chars[rng_next(s) % (sizeof chars - 1)];
      break;
    }
    case CAIRN_TX_APPROVE:
      random_bytes(s, tx->u.approve.proposal, 32);
      break;
    case CAIRN_TX_EVIDENCE: {
      uint8_t f1 = (uint8_t)(rng_next(s) % 255), f2 = (uint8_t)(f1 + 1);
      sample_evidence(tx->u.evidence.evidence, (uint32_t)(rng_next(s) % 4),
                      f1, f2);
      break;
    }
    default:
      memcpy(tx->u.stake_transfer.to, to, 32);
      tx->u.stake_transfer.amount = amount;
      break;
  }
}

/* A random valid transaction (unsigned: the signature is random bytes). */
static void random_tx(cairn_tx *tx, uint64_t *s, const keys *k) {
  uint8_t type = (uint8_t)(1 + rng_next(s) % CAIRN_TX_TYPE_MAX);
  tu_tx_init(tx, type, k->a.pk, 1 + rng_next(s) % 1000);
  tx->chain_id_len = (uint8_t)(1 + rng_next(s) % 32);
  random_bytes(s, tx->chain_id, tx->chain_id_len);
  tx->expiry_height = 1 + (rng_next(s) >> 1);
  uint32_t brand = (uint32_t)(1 + rng_next(s) % UINT32_MAX);
  const uint8_t *to = (rng_next(s) & 1) ? k->a.pk : k->b.pk;
  uint8_t reflen = (uint8_t)(rng_next(s) % 65);
  tx->client_ref_len = (uint8_t)(rng_next(s) % 33);
  random_bytes(s, tx->client_ref, tx->client_ref_len);
  switch (tx->type) {
    case CAIRN_TX_ISSUE:
    case CAIRN_TX_TRANSFER:
      tx->u.transfer.brand = brand;
      memcpy(tx->u.transfer.to, to, 32);
      tx->u.transfer.amount = 1 + rng_next(s) % UINT64_MAX;
      break;
    case CAIRN_TX_REDEEM:
      tx->u.redeem.brand = brand;
      tx->u.redeem.amount = 1 + (rng_next(s) >> 1);
      tx->u.redeem.ref_len = reflen;
      random_bytes(s, tx->u.redeem.ref, reflen);
      break;
    case CAIRN_TX_COUPON_ISSUE:
      tx->u.coupon_issue.brand = brand;
      memcpy(tx->u.coupon_issue.to, to, 32);
      tx->u.coupon_issue.kind = (uint8_t)(1 + rng_next(s) % 2);
      tx->u.coupon_issue.value = 1 + rng_next(s) % 100;
      tx->u.coupon_issue.expiry_height = 1 + rng_next(s) % 100000;
      tx->u.coupon_issue.transferable = rng_next(s) & 1;
      tx->u.coupon_issue.label_len = reflen;
      random_bytes(s, tx->u.coupon_issue.label, reflen);
      break;
    case CAIRN_TX_COUPON_TRANSFER:
      random_bytes(s, tx->u.coupon_transfer.coupon, 32);
      memcpy(tx->u.coupon_transfer.to, to, 32);
      break;
    case CAIRN_TX_POLICY:
      tx->u.policy.brand = brand;
      tx->u.policy.flags = (uint8_t)(rng_next(s) & CAIRN_BRAND_FLAGS_KNOWN);
      tx->u.policy.policy.expiry_mode = (uint8_t)(rng_next(s) % 3);
      if (tx->u.policy.policy.expiry_mode != CAIRN_EXPIRY_NONE)
        tx->u.policy.policy.expiry_blocks = 1 + (rng_next(s) >> 1);
      tx->u.policy.policy.max_issue_per_tx = rng_next(s);
      tx->u.policy.policy.max_issue_per_day = rng_next(s);
      break;
    case CAIRN_TX_HOLD:
      tx->u.hold.brand = brand;
      tx->u.hold.amount = 1 + (rng_next(s) >> 1);
      tx->u.hold.timeout_height = 1 + (rng_next(s) >> 1);
      tx->u.hold.ref_len = reflen;
      random_bytes(s, tx->u.hold.ref, reflen);
      break;
    case CAIRN_TX_CAPTURE:
      random_bytes(s, tx->u.capture.hold, 32);
      tx->u.capture.amount = 1 + (rng_next(s) >> 1);
      break;
    case CAIRN_TX_RELEASE:
      random_bytes(s, tx->u.release.hold, 32);
      break;
    case CAIRN_TX_AGREE: {
      cairn_agreement_terms *t = &tx->u.agree.terms;
      t->from_brand = brand;
      t->to_brand = brand == UINT32_MAX ? 1 : brand + 1;
      t->rate_num = 1 + (rng_next(s) >> 1);
      t->rate_den = 1 + (rng_next(s) >> 1);
      t->valid_from_height = rng_next(s) >> 1;
      t->valid_until_height = (rng_next(s) & 1) ? 0 : t->valid_from_height;
      t->cap = rng_next(s);
      break;
    }
    case CAIRN_TX_REVOKE:
      random_bytes(s, tx->u.revoke.agreement, 32);
      break;
    case CAIRN_TX_REDEEM_AT:
      tx->u.redeem_at.from_brand = brand;
      tx->u.redeem_at.at_brand = brand == 1 ? 2 : 1;
      random_bytes(s, tx->u.redeem_at.agreement, 32);
      tx->u.redeem_at.amount = 1 + (rng_next(s) >> 1);
      tx->u.redeem_at.ref_len = reflen;
      random_bytes(s, tx->u.redeem_at.ref, reflen);
      break;
    case CAIRN_TX_SETTLE:
      tx->u.settle.debtor_brand = brand == 1 ? 2 : 1;
      tx->u.settle.creditor_brand = brand;
      tx->u.settle.amount = 1 + (rng_next(s) >> 1);
      tx->u.settle.ref_len = reflen;
      random_bytes(s, tx->u.settle.ref, reflen);
      break;
    case CAIRN_TX_REVERSE:
      random_bytes(s, tx->u.reverse.issue, 32);
      tx->u.reverse.amount = 1 + (rng_next(s) >> 1);
      tx->u.reverse.ref_len = reflen;
      random_bytes(s, tx->u.reverse.ref, reflen);
      break;
    case CAIRN_TX_BOND:
    case CAIRN_TX_UNBOND:
    case CAIRN_TX_ADMIT:
    case CAIRN_TX_APPROVE:
    case CAIRN_TX_EVIDENCE:
    case CAIRN_TX_STAKE_TRANSFER:
      random_stake_payload(tx, s, to);
      break;
    default:
      random_bytes(s, tx->u.coupon_redeem.coupon, 32);
      tx->u.coupon_redeem.brand = brand;
      tx->u.coupon_redeem.ref_len = reflen;
      random_bytes(s, tx->u.coupon_redeem.ref, reflen);
      break;
  }
  random_bytes(s, tx->sig, 64);
}

static void test_random_round_trip(void **state) {
  keys k;
  uint64_t seed = test_seed(), s;
  (void)state;
  printf("test_random_round_trip seed=%llu (set CAIRN_TEST_SEED to replay)\n",
         (unsigned long long)seed);
  s = seed;
  keys_init(&k);
  for (int i = 0; i < 2000; i++) {
    cairn_tx tx, back;
    uint8_t buf[CAIRN_TX_BYTES_MAX], buf2[CAIRN_TX_BYTES_MAX];
    random_tx(&tx, &s, &k);
    size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
    assert_int_equal(cairn_tx_decode(&back, buf, len), CAIRN_OK);
    assert_int_equal(tu_tx_bytes(buf2, sizeof buf2, &back), len);
    assert_memory_equal(buf, buf2, len);
    /* Random garbage of the same length never crashes and, when it is
     * rejected, leaves the struct zeroed. */
    random_bytes(&s, buf, len);
    memset(&back, 0x5a, sizeof back);
    if (cairn_tx_decode(&back, buf, len) != CAIRN_OK) {
      assert_memory_equal(&back, zero_tx_bytes, sizeof back);
    }
  }
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_round_trip_every_type),
      cmocka_unit_test(test_payload_fields_survive),
      cmocka_unit_test(test_golden_txid),
      cmocka_unit_test(test_truncated_every_length),
      cmocka_unit_test(test_trailing_byte),
      cmocka_unit_test(test_oversize),
      cmocka_unit_test(test_version_and_type),
      cmocka_unit_test(test_chain_id_length),
      cmocka_unit_test(test_sequence_and_expiry_zero),
      cmocka_unit_test(test_zero_amounts),
      cmocka_unit_test(test_brand_zero),
      cmocka_unit_test(test_coupon_fields),
      cmocka_unit_test(test_ref_and_label_lengths),
      cmocka_unit_test(test_recipient_not_a_key),
      cmocka_unit_test(test_stake_fields),
      cmocka_unit_test(test_sign_and_verify),
      cmocka_unit_test(test_any_flip_invalidates),
      cmocka_unit_test(test_encode_small_buffer),
      cmocka_unit_test(test_client_ref),
      cmocka_unit_test(test_policy_fields),
      cmocka_unit_test(test_hold_fields),
      cmocka_unit_test(test_agreement_fields),
      cmocka_unit_test(test_random_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
