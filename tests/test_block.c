/*
 * test_block.c - block headers, blocks, validator sets, votes and commits.
 *
 * Accepted and rejected paths each with their exact error, truncation at
 * every length, the two-thirds threshold at and just above the boundary,
 * and commits carrying signatures that are valid but for the wrong thing
 * (a prevote, another chain, another round, a stranger).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#define CHAIN ((const uint8_t *)TU_CHAIN_ID)
#define CHAIN_LEN (sizeof(TU_CHAIN_ID) - 1)

/* Header offsets for chain id TU_CHAIN_ID. */
#define H_OFF_HEIGHT (2 + CHAIN_LEN)
#define H_OFF_TXCOUNT (H_OFF_HEIGHT + 16 + 5 * 32)
#define H_LEN (H_OFF_TXCOUNT + 4)

static void sample_header(cairn_block_header *h, uint32_t tx_count) {
  memset(h, 0, sizeof *h);
  h->version = CAIRN_BLOCK_VERSION;
  h->chain_id_len = (uint8_t)CHAIN_LEN;
  memcpy(h->chain_id, TU_CHAIN_ID, CHAIN_LEN);
  h->height = 7;
  h->time_ms = TU_GENESIS_TIME_MS + 7000;
  memset(h->prev_hash, 0x01, 32);
  memset(h->tx_root, 0x02, 32);
  memset(h->state_hash, 0x03, 32);
  memset(h->proposer, 0x04, 32);
  memset(h->validators_hash, 0x05, 32);
  h->tx_count = tx_count;
}

static size_t header_bytes(uint8_t *buf, const cairn_block_header *h) {
  size_t len = 0;
  assert_int_equal(cairn_block_header_encode(buf, CAIRN_BLOCK_HEADER_BYTES_MAX,
                                             &len, h),
                   CAIRN_OK);
  return len;
}

static bool all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return false;
  }
  return true;
}

static void expect_header_reject(const uint8_t *buf, size_t len,
                                 cairn_err want) {
  cairn_block_header h;
  memset(&h, 0x77, sizeof h);
  assert_int_equal(cairn_block_header_decode(&h, buf, len), want);
  assert_true(all_zero(&h, sizeof h));
}

/* ---- headers ---- */

static void test_header_round_trip(void **state) {
  cairn_block_header h, back;
  uint8_t buf[CAIRN_BLOCK_HEADER_BYTES_MAX], buf2[CAIRN_BLOCK_HEADER_BYTES_MAX];
  (void)state;
  sample_header(&h, 3);
  size_t len = header_bytes(buf, &h);
  assert_int_equal(len, H_LEN);
  assert_int_equal(cairn_block_header_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.height, 7);
  assert_int_equal(back.tx_count, 3);
  assert_memory_equal(back.proposer, h.proposer, 32);
  assert_int_equal(header_bytes(buf2, &back), len);
  assert_memory_equal(buf, buf2, len);
  /* The block hash is the tagged hash of the header bytes. */
  uint8_t hash[32], by_hand[32];
  assert_int_equal(cairn_block_hash(hash, &h), CAIRN_OK);
  cairn_tagged_hash(by_hand, "cairn/block", buf, len);
  assert_memory_equal(hash, by_hand, 32);
  /* The largest header fits the declared maximum. */
  h.chain_id_len = CAIRN_CHAIN_ID_BYTES_MAX;
  memset(h.chain_id, 'c', CAIRN_CHAIN_ID_BYTES_MAX);
  assert_int_equal(header_bytes(buf, &h), CAIRN_BLOCK_HEADER_BYTES_MAX);
}

static void test_header_rejects(void **state) {
  cairn_block_header h;
  uint8_t buf[CAIRN_BLOCK_HEADER_BYTES_MAX + 1];
  (void)state;
  sample_header(&h, 3);
  size_t len = header_bytes(buf, &h);
  for (size_t cut = 0; cut < len; cut++) {
    expect_header_reject(buf, cut, CAIRN_ERR_TRUNCATED);
  }
  buf[len] = 0;
  expect_header_reject(buf, len + 1, CAIRN_ERR_TRAILING);
  buf[0] = 2;
  expect_header_reject(buf, len, CAIRN_ERR_VERSION);
  buf[0] = 0;
  expect_header_reject(buf, len, CAIRN_ERR_VERSION);
  buf[0] = CAIRN_BLOCK_VERSION;
  cairn_be64_write(buf + H_OFF_HEIGHT, 0);
  expect_header_reject(buf, len, CAIRN_ERR_RANGE);
  cairn_be64_write(buf + H_OFF_HEIGHT, 7);
  cairn_be32_write(buf + H_OFF_TXCOUNT, CAIRN_BLOCK_TXS_MAX + 1);
  expect_header_reject(buf, len, CAIRN_ERR_RANGE);
  cairn_be32_write(buf + H_OFF_TXCOUNT, CAIRN_BLOCK_TXS_MAX);
  assert_int_equal(cairn_block_header_decode(&h, buf, len), CAIRN_OK);
  /* Chain id of length 0 and 33. */
  uint8_t ed[CAIRN_BLOCK_HEADER_BYTES_MAX + 1];
  ed[0] = 1;
  ed[1] = 0;
  memcpy(ed + 2, buf + 2 + CHAIN_LEN, len - 2 - CHAIN_LEN);
  expect_header_reject(ed, len - CHAIN_LEN, CAIRN_ERR_RANGE);
  ed[1] = 33;
  memset(ed + 2, 'x', 33);
  memcpy(ed + 35, buf + 2 + CHAIN_LEN, len - 2 - CHAIN_LEN);
  expect_header_reject(ed, len - CHAIN_LEN + 33, CAIRN_ERR_RANGE);
}

/* Any change to any header byte that still decodes changes the hash. */
static void test_hash_covers_every_header_byte(void **state) {
  cairn_block_header h, mod;
  uint8_t buf[CAIRN_BLOCK_HEADER_BYTES_MAX], base[32], other[32];
  (void)state;
  sample_header(&h, 2);
  size_t len = header_bytes(buf, &h);
  assert_int_equal(cairn_block_hash(base, &h), CAIRN_OK);
  size_t checked = 0;
  for (size_t i = 0; i < len; i++) {
    buf[i] ^= 0x01;
    if (cairn_block_header_decode(&mod, buf, len) == CAIRN_OK) {
      assert_int_equal(cairn_block_hash(other, &mod), CAIRN_OK);
      assert_memory_not_equal(base, other, 32);
      checked++;
    }
    buf[i] ^= 0x01;
  }
  /* Only the version, the chain id length and the two high bytes of
   * tx_count (over CAIRN_BLOCK_TXS_MAX) make the header invalid. */
  assert_int_equal(checked, len - 4);
  /* And field by field on the struct. */
  mod = h;
  mod.time_ms++;
  assert_int_equal(cairn_block_hash(other, &mod), CAIRN_OK);
  assert_memory_not_equal(base, other, 32);
  mod = h;
  mod.chain_id_len--;
  assert_int_equal(cairn_block_hash(other, &mod), CAIRN_OK);
  assert_memory_not_equal(base, other, 32);
  mod = h;
  mod.tx_count = 0;
  assert_int_equal(cairn_block_hash(other, &mod), CAIRN_OK);
  assert_memory_not_equal(base, other, 32);
}

/* ---- blocks ---- */

typedef struct block_txs {
  uint8_t bytes[3][CAIRN_TX_BYTES_MAX];
  cairn_slice s[3];
} block_txs;

static void make_txs(block_txs *t) {
  tu_key a, b;
  cairn_tx tx;
  tu_member(&a, 1);
  tu_member(&b, 2);
  tu_tx_issue(&tx, &a, 1, 1, b.pk, 10);
  t->s[0].len = tu_tx_bytes(t->bytes[0], CAIRN_TX_BYTES_MAX, &tx);
  tu_tx_redeem(&tx, &a, 2, 1, 5, "r");
  t->s[1].len = tu_tx_bytes(t->bytes[1], CAIRN_TX_BYTES_MAX, &tx);
  tu_tx_coupon_issue(&tx, &a, 3, 1, b.pk, 99, false);
  t->s[2].len = tu_tx_bytes(t->bytes[2], CAIRN_TX_BYTES_MAX, &tx);
  for (int i = 0; i < 3; i++) t->s[i].p = t->bytes[i];
}

static void test_block_round_trip(void **state) {
  static const uint32_t counts[] = {0, 1, 3};
  block_txs t;
  (void)state;
  make_txs(&t);
  for (size_t c = 0; c < 3; c++) {
    cairn_block_header h, back;
    cairn_slice out[3];
    uint8_t buf[4096], buf2[4096];
    size_t len, len2;
    sample_header(&h, counts[c]);
    assert_int_equal(cairn_block_encode(buf, sizeof buf, &len, &h, t.s),
                     CAIRN_OK);
    assert_int_equal(cairn_block_decode(&back, out, 3, buf, len), CAIRN_OK);
    assert_int_equal(back.tx_count, counts[c]);
    for (uint32_t i = 0; i < counts[c]; i++) {
      assert_int_equal(out[i].len, t.s[i].len);
      assert_memory_equal(out[i].p, t.s[i].p, t.s[i].len);
      /* Slices point into the caller's buffer, not into copies. */
      assert_true(out[i].p > buf && out[i].p < buf + len);
    }
    assert_int_equal(cairn_block_encode(buf2, sizeof buf2, &len2, &back, out),
                     CAIRN_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(buf, buf2, len);
    /* The header alone is at the front. */
    uint8_t hb[CAIRN_BLOCK_HEADER_BYTES_MAX];
    size_t hlen = header_bytes(hb, &h);
    assert_memory_equal(buf, hb, hlen);
  }
}

static void expect_block_reject(const uint8_t *buf, size_t len, size_t cap,
                                cairn_err want) {
  cairn_block_header h;
  cairn_slice out[4];
  memset(&h, 0x66, sizeof h);
  memset(out, 0x66, sizeof out);
  assert_int_equal(cairn_block_decode(&h, out, cap, buf, len), want);
  assert_true(all_zero(&h, sizeof h));
  assert_true(all_zero(out, cap * sizeof out[0]));
}

static void test_block_rejects(void **state) {
  block_txs t;
  cairn_block_header h;
  uint8_t buf[4096];
  size_t len;
  (void)state;
  make_txs(&t);
  sample_header(&h, 3);
  assert_int_equal(cairn_block_encode(buf, sizeof buf, &len, &h, t.s),
                   CAIRN_OK);
  for (size_t cut = 0; cut < len; cut++) {
    expect_block_reject(buf, cut, 3, CAIRN_ERR_TRUNCATED);
  }
  buf[len] = 0;
  expect_block_reject(buf, len + 1, 3, CAIRN_ERR_TRAILING);
  /* Room for fewer transactions than the header announces. */
  expect_block_reject(buf, len, 2, CAIRN_ERR_LIMIT);
  expect_block_reject(buf, len, 0, CAIRN_ERR_LIMIT);
  /* Length prefix of the first transaction: 0, then over the limit. */
  size_t at = H_LEN;
  assert_int_equal(cairn_be32_read(buf + at), t.s[0].len);
  cairn_be32_write(buf + at, 0);
  expect_block_reject(buf, len, 3, CAIRN_ERR_RANGE);
  cairn_be32_write(buf + at, CAIRN_TX_BYTES_MAX + 1);
  expect_block_reject(buf, len, 3, CAIRN_ERR_OVERSIZE);
  cairn_be32_write(buf + at, UINT32_MAX);
  expect_block_reject(buf, len, 3, CAIRN_ERR_OVERSIZE);
  cairn_be32_write(buf + at, (uint32_t)t.s[0].len);
  /* A header error inside a block. */
  buf[0] = 9;
  expect_block_reject(buf, len, 3, CAIRN_ERR_VERSION);
  buf[0] = CAIRN_BLOCK_VERSION;
  cairn_slice out[3];
  assert_int_equal(cairn_block_decode(&h, out, 3, buf, len), CAIRN_OK);
}

static void test_block_oversize(void **state) {
  (void)state;
  size_t big = CAIRN_BLOCK_BYTES_MAX + 1;
  uint8_t *buf = calloc(1, big + 8);
  assert_non_null(buf);
  cairn_block_header h;
  cairn_slice out[1];
  assert_int_equal(cairn_block_decode(&h, out, 1, buf, big),
                   CAIRN_ERR_OVERSIZE);
  /* An encoder never produces what the decoder refuses: 4100 maximal
   * transactions are over 4 MiB. */
  enum { N = 4100 };
  cairn_slice *txs = calloc(N, sizeof *txs);
  uint8_t *tx = calloc(1, CAIRN_TX_BYTES_MAX);
  assert_non_null(txs);
  assert_non_null(tx);
  for (int i = 0; i < N; i++) {
    txs[i].p = tx;
    txs[i].len = CAIRN_TX_BYTES_MAX;
  }
  cairn_block_header bh;
  sample_header(&bh, N);
  size_t len = 1;
  assert_int_equal(cairn_block_encode(buf, big + 8, &len, &bh, txs),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(len, 0);
  /* One fewer than needed to cross the limit encodes and decodes. */
  bh.tx_count = 4000;
  assert_int_equal(cairn_block_encode(buf, big + 8, &len, &bh, txs), CAIRN_OK);
  assert_true(len <= CAIRN_BLOCK_BYTES_MAX);
  cairn_slice *back = calloc(CAIRN_BLOCK_TXS_MAX, sizeof *back);
  assert_non_null(back);
  assert_int_equal(cairn_block_decode(&h, back, CAIRN_BLOCK_TXS_MAX, buf, len),
                   CAIRN_OK);
  assert_int_equal(h.tx_count, 4000);
  free(back);
  free(tx);
  free(txs);
  free(buf);
}

/* ---- validator sets ---- */

/* n validators tu_validator(0..n-1) with the given powers, sorted by key;
 * keys[i] is the key of vs->v[i]. */
static void make_valset(cairn_valset *vs, tu_vkey *keys, uint32_t n,
                        const uint64_t *powers) {
  memset(vs, 0, sizeof *vs);
  for (uint32_t i = 0; i < n; i++) tu_validator(&keys[i], i);
  for (uint32_t i = 1; i < n; i++) { /* insertion sort by pubkey */
    for (uint32_t j = i; j > 0 && memcmp(keys[j - 1].pk, keys[j].pk, 32) > 0;
         j--) {
      tu_vkey tmp = keys[j];
      keys[j] = keys[j - 1];
      keys[j - 1] = tmp;
    }
  }
  vs->n = n;
  for (uint32_t i = 0; i < n; i++) {
    memcpy(vs->v[i].pubkey, keys[i].pk, 32);
    vs->v[i].power = powers[i];
    snprintf(vs->v[i].name, sizeof vs->v[i].name, "val%u", (unsigned)i);
    vs->v[i].name_len = (uint8_t)strlen(vs->v[i].name);
  }
  assert_int_equal(cairn_valset_check(vs), CAIRN_OK);
}

static void test_valset(void **state) {
  static const uint64_t powers[] = {10, 20, 30};
  tu_vkey keys[3];
  cairn_valset *vs = calloc(1, sizeof *vs);
  uint8_t hash[32], by_hand[32], raw[2 + 3 * 40];
  (void)state;
  assert_non_null(vs);
  make_valset(vs, keys, 3, powers);
  assert_int_equal(vs->total_power, 60);
  /* Hash: u16 n | n * (pubkey | power u64). Names are not hashed. */
  raw[0] = 0;
  raw[1] = 3;
  for (int i = 0; i < 3; i++) {
    memcpy(raw + 2 + 40 * i, vs->v[i].pubkey, 32);
    cairn_be64_write(raw + 2 + 40 * i + 32, vs->v[i].power);
  }
  cairn_tagged_hash(by_hand, "cairn/validators", raw, sizeof raw);
  cairn_valset_hash(hash, vs);
  assert_memory_equal(hash, by_hand, 32);
  memcpy(vs->v[0].name, "other", 6);
  cairn_valset_hash(hash, vs);
  assert_memory_equal(hash, by_hand, 32);
  vs->v[0].power = 11;
  cairn_valset_hash(hash, vs);
  assert_memory_not_equal(hash, by_hand, 32);
  vs->v[0].power = 10;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cairn_valset_find(vs, keys[i].pk), i);
  }
  tu_vkey stranger;
  tu_validator(&stranger, 99);
  assert_int_equal(cairn_valset_find(vs, stranger.pk), -1);

  /* Rejections; total_power is left alone when the check fails. */
  cairn_validator saved = vs->v[0];
  vs->v[0] = vs->v[1];
  assert_int_equal(cairn_valset_check(vs), CAIRN_ERR_NONCANONICAL);
  vs->v[0] = vs->v[2];
  assert_int_equal(cairn_valset_check(vs), CAIRN_ERR_NONCANONICAL);
  vs->v[0] = saved;
  vs->v[1].power = 0;
  assert_int_equal(cairn_valset_check(vs), CAIRN_ERR_RANGE);
  vs->v[1].power = CAIRN_TOTAL_POWER_MAX - 39;
  assert_int_equal(cairn_valset_check(vs), CAIRN_ERR_RANGE);
  assert_int_equal(vs->total_power, 60);
  vs->v[1].power = CAIRN_TOTAL_POWER_MAX - 40;
  assert_int_equal(cairn_valset_check(vs), CAIRN_OK);
  assert_int_equal(vs->total_power, CAIRN_TOTAL_POWER_MAX);
  vs->n = 0;
  assert_int_equal(cairn_valset_check(vs), CAIRN_ERR_RANGE);
  vs->n = CAIRN_VALIDATORS_MAX + 1;
  assert_int_equal(cairn_valset_check(vs), CAIRN_ERR_RANGE);
  free(vs);
}

/* ---- votes ---- */

static void sample_vote(cairn_vote *v, uint8_t type) {
  memset(v, 0, sizeof *v);
  v->type = type;
  v->height = 7;
  v->round = 2;
  memset(v->block_hash, 0xbb, 32);
}

static void test_vote_sign_verify(void **state) {
  tu_vkey k, other;
  cairn_vote v, back;
  uint8_t buf[CAIRN_VOTE_BYTES + 1];
  size_t len;
  (void)state;
  tu_validator(&k, 0);
  tu_validator(&other, 1);
  sample_vote(&v, CAIRN_VOTE_PREVOTE);
  assert_int_equal(cairn_vote_sign(&v, CHAIN, CHAIN_LEN, k.sk), CAIRN_OK);
  assert_memory_equal(v.validator, k.pk, 32);
  assert_int_equal(cairn_vote_verify(&v, CHAIN, CHAIN_LEN), CAIRN_OK);
  /* Another chain, another type, another round, another key. */
  assert_int_equal(cairn_vote_verify(&v, (const uint8_t *)"cairn-tesu", 10),
                   CAIRN_ERR_BAD_SIG);
  v.type = CAIRN_VOTE_PRECOMMIT;
  assert_int_equal(cairn_vote_verify(&v, CHAIN, CHAIN_LEN), CAIRN_ERR_BAD_SIG);
  v.type = CAIRN_VOTE_PREVOTE;
  v.round = 3;
  assert_int_equal(cairn_vote_verify(&v, CHAIN, CHAIN_LEN), CAIRN_ERR_BAD_SIG);
  v.round = 2;
  memcpy(v.validator, other.pk, 32);
  assert_int_equal(cairn_vote_verify(&v, CHAIN, CHAIN_LEN), CAIRN_ERR_BAD_SIG);
  memcpy(v.validator, k.pk, 32);
  /* Nil votes (all-zero hash) sign and verify like any other. */
  cairn_vote nil;
  sample_vote(&nil, CAIRN_VOTE_PRECOMMIT);
  memset(nil.block_hash, 0, 32);
  assert_int_equal(cairn_vote_sign(&nil, CHAIN, CHAIN_LEN, k.sk), CAIRN_OK);
  assert_int_equal(cairn_vote_verify(&nil, CHAIN, CHAIN_LEN), CAIRN_OK);

  /* Wire form. */
  assert_int_equal(cairn_vote_encode(buf, sizeof buf, &len, &v), CAIRN_OK);
  assert_int_equal(len, CAIRN_VOTE_BYTES);
  assert_int_equal(cairn_vote_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(cairn_vote_verify(&back, CHAIN, CHAIN_LEN), CAIRN_OK);
  assert_int_equal(back.round, 2);
  assert_int_equal(back.height, 7);
  for (size_t cut = 0; cut < len; cut++) {
    assert_int_equal(cairn_vote_decode(&back, buf, cut), CAIRN_ERR_TRUNCATED);
    assert_true(all_zero(&back, sizeof back));
  }
  buf[len] = 0;
  assert_int_equal(cairn_vote_decode(&back, buf, len + 1), CAIRN_ERR_TRAILING);
  buf[0] = 0;
  assert_int_equal(cairn_vote_decode(&back, buf, len), CAIRN_ERR_BAD_TYPE);
  buf[0] = 3;
  assert_int_equal(cairn_vote_decode(&back, buf, len), CAIRN_ERR_BAD_TYPE);
  assert_true(all_zero(&back, sizeof back));
  buf[0] = CAIRN_VOTE_PREVOTE;
  memset(buf + 1, 0, 8);
  assert_int_equal(cairn_vote_decode(&back, buf, len), CAIRN_ERR_RANGE);
  /* A flipped signature byte. */
  v.sig[10] ^= 0x40;
  assert_int_equal(cairn_vote_verify(&v, CHAIN, CHAIN_LEN), CAIRN_ERR_BAD_SIG);
  assert_int_equal(cairn_vote_encode(buf, 10, &len, &v), CAIRN_ERR_OVERSIZE);
}

/* ---- commits ---- */

static const uint8_t block_hash_7[32] = {
    0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77,
    0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77,
    0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77};

/* Add key's vote of the given type for (7, round, hash) to c. */
static void add_vote(cairn_commit *c, const tu_vkey *key, uint8_t type,
                     uint32_t round, const uint8_t *chain, size_t chain_len) {
  cairn_vote v;
  sample_vote(&v, type);
  v.round = round;
  memcpy(v.block_hash, block_hash_7, 32);
  assert_int_equal(cairn_vote_sign(&v, chain, chain_len, key->sk), CAIRN_OK);
  assert_int_equal(cairn_commit_add(c, v.validator, v.sig), CAIRN_OK);
}

static void commit_init(cairn_commit *c) {
  memset(c, 0, sizeof *c);
  c->height = 7;
  c->round = 1;
  memcpy(c->block_hash, block_hash_7, 32);
}

static cairn_err verify(const cairn_commit *c, const cairn_valset *vs) {
  return cairn_commit_verify(c, CHAIN, CHAIN_LEN, 7, block_hash_7, vs);
}

static void test_commit_threshold(void **state) {
  static const uint64_t equal[] = {10, 10, 10};
  static const uint64_t uneven[] = {1, 1, 1, 3};
  tu_vkey keys[4];
  cairn_valset *vs = calloc(1, sizeof *vs);
  cairn_commit c;
  (void)state;
  assert_non_null(vs);
  make_valset(vs, keys, 3, equal);
  commit_init(&c);
  add_vote(&c, &keys[0], CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);
  add_vote(&c, &keys[2], CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  /* Exactly two thirds (20 of 30) is not enough. */
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);
  add_vote(&c, &keys[1], CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  assert_int_equal(verify(&c, vs), CAIRN_OK);

  /* Uneven stake: total 6; 4 is exactly 2/3, 5 is more. */
  make_valset(vs, keys, 4, uneven);
  int big = -1;
  for (int i = 0; i < 4; i++) {
    if (vs->v[i].power == 3) big = i;
  }
  assert_true(big >= 0);
  commit_init(&c);
  add_vote(&c, &keys[big], CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  add_vote(&c, &keys[(big + 1) % 4], CAIRN_VOTE_PRECOMMIT, 1, CHAIN,
           CHAIN_LEN);
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);
  add_vote(&c, &keys[(big + 2) % 4], CAIRN_VOTE_PRECOMMIT, 1, CHAIN,
           CHAIN_LEN);
  assert_int_equal(verify(&c, vs), CAIRN_OK);
  /* The commit must be for the height and block asked about. */
  assert_int_equal(
      cairn_commit_verify(&c, CHAIN, CHAIN_LEN, 8, block_hash_7, vs),
      CAIRN_ERR_BAD_COMMIT);
  uint8_t other_hash[32];
  memset(other_hash, 0x78, 32);
  assert_int_equal(cairn_commit_verify(&c, CHAIN, CHAIN_LEN, 7, other_hash, vs),
                   CAIRN_ERR_BAD_COMMIT);
  /* Signed for round 1; claiming round 2 breaks every signature. */
  c.round = 2;
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);
  c.round = 1;
  /* A flipped signature byte. */
  c.sigs[1].sig[0] ^= 1;
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);
  c.sigs[1].sig[0] ^= 1;
  assert_int_equal(verify(&c, vs), CAIRN_OK);
  free(vs);
}

static void test_commit_bad_signers(void **state) {
  static const uint64_t powers[] = {1, 1, 1, 1};
  tu_vkey keys[4], stranger;
  cairn_valset *vs = calloc(1, sizeof *vs);
  cairn_commit c;
  (void)state;
  assert_non_null(vs);
  make_valset(vs, keys, 4, powers);
  tu_validator(&stranger, 50);
  /* All four members sign, plus a stranger: the stranger spoils it. */
  commit_init(&c);
  for (int i = 0; i < 4; i++) {
    add_vote(&c, &keys[i], CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  }
  assert_int_equal(verify(&c, vs), CAIRN_OK);
  add_vote(&c, &stranger, CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);

  /* A prevote is not a precommit. */
  commit_init(&c);
  for (int i = 0; i < 3; i++) {
    add_vote(&c, &keys[i], CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  }
  add_vote(&c, &keys[3], CAIRN_VOTE_PREVOTE, 1, CHAIN, CHAIN_LEN);
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);

  /* Precommits from another chain. */
  commit_init(&c);
  for (int i = 0; i < 4; i++) {
    add_vote(&c, &keys[i], CAIRN_VOTE_PRECOMMIT, 1,
             (const uint8_t *)"cairn-other", 11);
  }
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);

  /* A hand-built commit that lists one signer three times must not count
   * its power three times. */
  commit_init(&c);
  add_vote(&c, &keys[0], CAIRN_VOTE_PRECOMMIT, 1, CHAIN, CHAIN_LEN);
  c.sigs[1] = c.sigs[0];
  c.sigs[2] = c.sigs[0];
  c.n_sigs = 3;
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);
  c.n_sigs = 0;
  assert_int_equal(verify(&c, vs), CAIRN_ERR_BAD_COMMIT);
  free(vs);
}

static void test_commit_add(void **state) {
  cairn_commit c;
  uint8_t key[32], sig[64];
  (void)state;
  commit_init(&c);
  memset(sig, 0x55, sizeof sig);
  /* Insert in scrambled order; the result is sorted. */
  static const uint8_t order[] = {5, 1, 9, 3, 7};
  for (size_t i = 0; i < sizeof order; i++) {
    memset(key, order[i], 32);
    sig[0] = order[i];
    assert_int_equal(cairn_commit_add(&c, key, sig), CAIRN_OK);
  }
  assert_int_equal(c.n_sigs, 5);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(c.sigs[i].validator[0], 1 + 2 * i);
    assert_int_equal(c.sigs[i].sig[0], 1 + 2 * i); /* sig moved with key */
  }
  memset(key, 3, 32);
  assert_int_equal(cairn_commit_add(&c, key, sig), CAIRN_ERR_EXISTS);
  assert_int_equal(c.n_sigs, 5);
  /* Fill to the maximum, then one more. */
  commit_init(&c);
  for (int i = 0; i < CAIRN_VALIDATORS_MAX; i++) {
    memset(key, 0, 32);
    key[31] = (uint8_t)i;
    assert_int_equal(cairn_commit_add(&c, key, sig), CAIRN_OK);
  }
  memset(key, 0xff, 32);
  assert_int_equal(cairn_commit_add(&c, key, sig), CAIRN_ERR_LIMIT);
  assert_int_equal(c.n_sigs, CAIRN_VALIDATORS_MAX);
}

static void expect_commit_reject(const uint8_t *buf, size_t len,
                                 cairn_err want) {
  cairn_commit c;
  memset(&c, 0x33, sizeof c);
  assert_int_equal(cairn_commit_decode(&c, buf, len), want);
  assert_true(all_zero(&c, sizeof c));
}

static void test_commit_codec(void **state) {
  cairn_commit c, back;
  uint8_t key[32], sig[64];
  uint8_t buf[CAIRN_COMMIT_BYTES_MAX + 96 + 1], buf2[CAIRN_COMMIT_BYTES_MAX];
  size_t len, len2;
  (void)state;
  commit_init(&c);
  for (int i = 0; i < 3; i++) {
    memset(key, 0x10 * (i + 1), 32);
    memset(sig, 0xa0 + i, 64);
    assert_int_equal(cairn_commit_add(&c, key, sig), CAIRN_OK);
  }
  assert_int_equal(cairn_commit_encode(buf, sizeof buf, &len, &c), CAIRN_OK);
  assert_int_equal(len, 8 + 4 + 32 + 2 + 3 * 96);
  assert_int_equal(cairn_commit_decode(&back, buf, len), CAIRN_OK);
  assert_int_equal(back.n_sigs, 3);
  assert_int_equal(back.round, 1);
  assert_int_equal(cairn_commit_encode(buf2, sizeof buf2, &len2, &back),
                   CAIRN_OK);
  assert_int_equal(len2, len);
  assert_memory_equal(buf, buf2, len);

  for (size_t cut = 0; cut < len; cut++) {
    expect_commit_reject(buf, cut, CAIRN_ERR_TRUNCATED);
  }
  buf[len] = 0;
  expect_commit_reject(buf, len + 1, CAIRN_ERR_TRAILING);
  const size_t n_at = 8 + 4 + 32, first = n_at + 2;
  /* Second validator equal to the first, then smaller than it. */
  memcpy(buf2, buf, len);
  memcpy(buf2 + first + 96, buf2 + first, 32);
  expect_commit_reject(buf2, len, CAIRN_ERR_NONCANONICAL);
  memcpy(buf2, buf, len);
  memcpy(buf2 + first, buf + first + 96, 32);
  memcpy(buf2 + first + 96, buf + first, 32);
  expect_commit_reject(buf2, len, CAIRN_ERR_NONCANONICAL);
  /* Counts 0 and 129. */
  memcpy(buf2, buf, len);
  buf2[n_at] = 0;
  buf2[n_at + 1] = 0;
  expect_commit_reject(buf2, n_at + 2, CAIRN_ERR_RANGE);
  buf2[n_at + 1] = CAIRN_VALIDATORS_MAX + 1;
  expect_commit_reject(buf2, len, CAIRN_ERR_RANGE);
  /* Height 0. */
  memcpy(buf2, buf, len);
  memset(buf2, 0, 8);
  expect_commit_reject(buf2, len, CAIRN_ERR_RANGE);
  assert_int_equal(cairn_commit_encode(buf2, len - 1, &len2, &c),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(len2, 0);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_round_trip),
      cmocka_unit_test(test_header_rejects),
      cmocka_unit_test(test_hash_covers_every_header_byte),
      cmocka_unit_test(test_block_round_trip),
      cmocka_unit_test(test_block_rejects),
      cmocka_unit_test(test_block_oversize),
      cmocka_unit_test(test_valset),
      cmocka_unit_test(test_vote_sign_verify),
      cmocka_unit_test(test_commit_threshold),
      cmocka_unit_test(test_commit_bad_signers),
      cmocka_unit_test(test_commit_add),
      cmocka_unit_test(test_commit_codec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
