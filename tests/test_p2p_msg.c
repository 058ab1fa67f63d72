/*
 * test_p2p_msg.c - the peer message codec and the proposal signature.
 *
 * Round trips for every message type (and the size function), every
 * prefix of every encoding rejected as truncated, trailing bytes, each
 * bound at its edge both ways, each range rule, unknown types, outputs
 * zeroed after a rejection, the encoder's capacity check, the proposal
 * sign hash against an independent byte layout, and verification accepted
 * and rejected for each field changed. A seeded random test round-trips
 * random messages and prints its seed.
 *
 * `test_p2p_msg --write-seeds DIR` writes the fuzz seeds of fuzz_p2p_msg
 * into DIR/p2p_msg/ (valid messages of every type and malformed variants)
 * and exits; the files in tests/fuzz/corpus/p2p_msg/seed-* came from it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cairn/p2p_msg.h"
#include "testutil.h"

#define CHAIN ((const uint8_t *)TU_CHAIN_ID)
#define CHAIN_LEN (sizeof TU_CHAIN_ID - 1)

/* Byte strings the sample messages point at. */
static uint8_t g_tx[CAIRN_TX_BYTES_MAX + 1];
static uint8_t g_block[CAIRN_BLOCK_BYTES_MAX + 1];
static uint8_t g_commit[CAIRN_COMMIT_BYTES_MAX + 1];
/* Big enough for the largest message plus slack for over-bound tests. */
static uint8_t g_buf[CAIRN_P2P_MSG_BYTES_MAX + 64];

static void fill(uint8_t *p, size_t n, uint8_t seed) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 7u);
}

/* A valid message of type t with small byte strings. */
static cairn_p2p_msg sample(uint8_t t) {
  cairn_p2p_msg m;
  memset(&m, 0, sizeof m);
  m.type = t;
  switch (t) {
  case CAIRN_MSG_STATUS:
    m.u.status.height = 41;
    fill(m.u.status.tip_hash, 32, 3);
    m.u.status.cons_height = 42;
    m.u.status.cons_round = 2;
    break;
  case CAIRN_MSG_TX:
    m.u.tx.p = g_tx;
    m.u.tx.len = 100;
    break;
  case CAIRN_MSG_PROPOSAL:
    m.u.proposal.height = 7;
    m.u.proposal.round = 3;
    m.u.proposal.pol_round = 1;
    m.u.proposal.block = g_block;
    m.u.proposal.block_len = 300;
    fill(m.u.proposal.proposer, 32, 9);
    fill(m.u.proposal.sig, 64, 11);
    break;
  case CAIRN_MSG_VOTE:
    m.u.vote.type = CAIRN_VOTE_PRECOMMIT;
    m.u.vote.height = 7;
    m.u.vote.round = 3;
    fill(m.u.vote.block_hash, 32, 5);
    fill(m.u.vote.validator, 32, 6);
    fill(m.u.vote.sig, 64, 8);
    break;
  case CAIRN_MSG_GET_BLOCK:
  case CAIRN_MSG_NO_BLOCK:
    m.u.height = 12;
    break;
  default:
    m.u.block.height = 12;
    m.u.block.block = g_block;
    m.u.block.block_len = 200;
    m.u.block.commit = g_commit;
    m.u.block.commit_len = 142;
    break;
  }
  return m;
}

static size_t enc(uint8_t *buf, size_t cap, const cairn_p2p_msg *m) {
  size_t len = 0;
  assert_int_equal(cairn_p2p_msg_encode(buf, cap, &len, m), CAIRN_OK);
  assert_int_equal(len, cairn_p2p_msg_size(m));
  return len;
}

static bool msg_zero(const cairn_p2p_msg *m) {
  cairn_p2p_msg z;
  memset(&z, 0, sizeof z);
  return memcmp(m, &z, sizeof z) == 0;
}

static void expect_reject(const uint8_t *buf, size_t len, cairn_err want) {
  cairn_p2p_msg m;
  memset(&m, 0xa5, sizeof m);
  assert_int_equal(cairn_p2p_msg_decode(&m, buf, len), want);
  assert_true(msg_zero(&m));
}

/* The fields of a and b agree (byte strings by content and position). */
static void assert_same(const cairn_p2p_msg *a, const cairn_p2p_msg *b) {
  assert_int_equal(a->type, b->type);
  uint8_t x[512], y[512];
  /* Equal encodings mean equal messages: the encoding is canonical. */
  size_t na = cairn_p2p_msg_size(a), nb = cairn_p2p_msg_size(b);
  assert_int_equal(na, nb);
  if (na <= sizeof x) {
    assert_int_equal(enc(x, sizeof x, a), na);
    assert_int_equal(enc(y, sizeof y, b), nb);
    assert_memory_equal(x, y, na);
  }
}

static void test_round_trip_each_type(void **state) {
  (void)state;
  const size_t sizes[] = {0, 1 + 8 + 32 + 8 + 4, 1 + 4 + 100,
                          1 + 8 + 4 + 4 + 4 + 300 + 32 + 64,
                          1 + CAIRN_VOTE_BYTES, 1 + 8,
                          1 + 8 + 4 + 200 + 2 + 142, 1 + 8};
  for (uint8_t t = CAIRN_MSG_TYPE_MIN; t <= CAIRN_MSG_TYPE_MAX; t++) {
    cairn_p2p_msg m = sample(t), d;
    size_t len = enc(g_buf, sizeof g_buf, &m);
    assert_int_equal(len, sizes[t]);
    assert_int_equal(g_buf[0], t);
    assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
    assert_same(&m, &d);
    uint8_t again[512];
    assert_int_equal(enc(again, sizeof again, &d), len);
    assert_memory_equal(again, g_buf, len);
  }
}

/* Decoded byte strings point into the input, at the right offsets. */
static void test_zero_copy_pointers(void **state) {
  (void)state;
  cairn_p2p_msg m = sample(CAIRN_MSG_BLOCK), d;
  size_t len = enc(g_buf, sizeof g_buf, &m);
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  assert_ptr_equal(d.u.block.block, g_buf + 1 + 8 + 4);
  assert_ptr_equal(d.u.block.commit, g_buf + 1 + 8 + 4 + 200 + 2);
  assert_int_equal(d.u.block.commit_len, 142);
  m = sample(CAIRN_MSG_TX);
  len = enc(g_buf, sizeof g_buf, &m);
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  assert_ptr_equal(d.u.tx.p, g_buf + 5);
  assert_memory_equal(d.u.tx.p, g_tx, 100);
}

/* The status body's exact bytes (specs/p2p.md's table). */
static void test_status_layout(void **state) {
  (void)state;
  cairn_p2p_msg m = sample(CAIRN_MSG_STATUS);
  uint8_t want[53];
  want[0] = 1;
  cairn_be64_write(want + 1, 41);
  memcpy(want + 9, m.u.status.tip_hash, 32);
  cairn_be64_write(want + 41, 42);
  cairn_be32_write(want + 49, 2);
  assert_int_equal(enc(g_buf, sizeof g_buf, &m), sizeof want);
  assert_memory_equal(g_buf, want, sizeof want);
}

static void test_every_prefix_truncated(void **state) {
  (void)state;
  for (uint8_t t = CAIRN_MSG_TYPE_MIN; t <= CAIRN_MSG_TYPE_MAX; t++) {
    cairn_p2p_msg m = sample(t);
    size_t len = enc(g_buf, sizeof g_buf, &m);
    for (size_t cut = 0; cut < len; cut++) {
      uint8_t *copy = malloc(cut > 0 ? cut : 1);
      assert_non_null(copy);
      memcpy(copy, g_buf, cut);
      expect_reject(copy, cut, CAIRN_ERR_TRUNCATED);
      free(copy);
    }
  }
}

static void test_trailing(void **state) {
  (void)state;
  for (uint8_t t = CAIRN_MSG_TYPE_MIN; t <= CAIRN_MSG_TYPE_MAX; t++) {
    cairn_p2p_msg m = sample(t);
    size_t len = enc(g_buf, sizeof g_buf, &m);
    g_buf[len] = 0;
    expect_reject(g_buf, len + 1, CAIRN_ERR_TRAILING);
  }
}

static void test_bad_type(void **state) {
  (void)state;
  const uint8_t types[] = {0, 8, 9, 0x80, 0xff};
  for (size_t i = 0; i < sizeof types; i++) {
    uint8_t b[16] = {0};
    b[0] = types[i];
    b[8] = 1;
    expect_reject(b, 9, CAIRN_ERR_BAD_TYPE);
  }
  /* A vote whose own type byte is neither prevote nor precommit. */
  cairn_p2p_msg m = sample(CAIRN_MSG_VOTE);
  size_t len = enc(g_buf, sizeof g_buf, &m);
  g_buf[1] = 3;
  expect_reject(g_buf, len, CAIRN_ERR_BAD_TYPE);
  g_buf[1] = 0;
  expect_reject(g_buf, len, CAIRN_ERR_BAD_TYPE);
}

/* Overwrite the u64 height at offset 1 with 0. */
static void test_height_zero(void **state) {
  (void)state;
  const uint8_t types[] = {CAIRN_MSG_PROPOSAL, CAIRN_MSG_GET_BLOCK,
                           CAIRN_MSG_BLOCK, CAIRN_MSG_NO_BLOCK};
  for (size_t i = 0; i < sizeof types; i++) {
    cairn_p2p_msg m = sample(types[i]);
    size_t len = enc(g_buf, sizeof g_buf, &m);
    cairn_be64_write(g_buf + 1, 0);
    expect_reject(g_buf, len, CAIRN_ERR_RANGE);
    cairn_be64_write(g_buf + 1, 1); /* the smallest valid height */
    cairn_p2p_msg d;
    assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  }
  cairn_p2p_msg m = sample(CAIRN_MSG_VOTE);
  size_t len = enc(g_buf, sizeof g_buf, &m);
  cairn_be64_write(g_buf + 2, 0); /* the vote's height follows its type */
  expect_reject(g_buf, len, CAIRN_ERR_RANGE);
  /* STATUS may say height 0: a node with only its genesis. */
  m = sample(CAIRN_MSG_STATUS);
  m.u.status.height = 0;
  m.u.status.cons_height = 0;
  len = enc(g_buf, sizeof g_buf, &m);
  cairn_p2p_msg d;
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  assert_int_equal(d.u.status.height, 0);
}

static void test_pol_round(void **state) {
  (void)state;
  cairn_p2p_msg m = sample(CAIRN_MSG_PROPOSAL), d;
  const uint32_t ok_pol[] = {0, 2, CAIRN_POL_ROUND_NONE};
  for (size_t i = 0; i < 3; i++) {
    m.u.proposal.pol_round = ok_pol[i];
    size_t len = enc(g_buf, sizeof g_buf, &m);
    assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
    assert_int_equal(d.u.proposal.pol_round, ok_pol[i]);
  }
  size_t len = enc(g_buf, sizeof g_buf, &m);
  const uint32_t bad_pol[] = {3, 4, 0xfffffffeu};
  for (size_t i = 0; i < 3; i++) {
    cairn_be32_write(g_buf + 13, bad_pol[i]); /* after type, height, round */
    expect_reject(g_buf, len, CAIRN_ERR_RANGE);
  }
  /* Round 0 allows only "none". */
  m.u.proposal.round = 0;
  m.u.proposal.pol_round = CAIRN_POL_ROUND_NONE;
  len = enc(g_buf, sizeof g_buf, &m);
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  cairn_be32_write(g_buf + 13, 0);
  expect_reject(g_buf, len, CAIRN_ERR_RANGE);
}

static void test_empty_strings(void **state) {
  (void)state;
  /* TX with length 0. */
  uint8_t b[64] = {CAIRN_MSG_TX, 0, 0, 0, 0};
  expect_reject(b, 5, CAIRN_ERR_RANGE);
  /* PROPOSAL with an empty block. */
  cairn_p2p_msg m = sample(CAIRN_MSG_PROPOSAL);
  size_t len = enc(g_buf, sizeof g_buf, &m);
  size_t tail = 32 + 64;
  cairn_be32_write(g_buf + 17, 0);
  memmove(g_buf + 21, g_buf + 21 + 300, tail);
  expect_reject(g_buf, 21 + tail, CAIRN_ERR_RANGE);
  /* BLOCK with an empty block, then with an empty commit. */
  m = sample(CAIRN_MSG_BLOCK);
  len = enc(g_buf, sizeof g_buf, &m);
  cairn_be32_write(g_buf + 9, 0);
  memmove(g_buf + 13, g_buf + 13 + 200, 2 + 142);
  expect_reject(g_buf, 13 + 2 + 142, CAIRN_ERR_RANGE);
  len = enc(g_buf, sizeof g_buf, &m);
  g_buf[213] = 0;
  g_buf[214] = 0;
  expect_reject(g_buf, 215, CAIRN_ERR_RANGE);
  (void)len;
}

/* Each bound: the largest allowed decodes, one more is OVERSIZE. */
static void test_bounds(void **state) {
  (void)state;
  cairn_p2p_msg m = sample(CAIRN_MSG_TX), d;
  m.u.tx.len = CAIRN_TX_BYTES_MAX;
  size_t len = enc(g_buf, sizeof g_buf, &m);
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  cairn_be32_write(g_buf + 1, CAIRN_TX_BYTES_MAX + 1);
  g_buf[len] = 0;
  expect_reject(g_buf, len + 1, CAIRN_ERR_OVERSIZE);

  m = sample(CAIRN_MSG_PROPOSAL);
  m.u.proposal.block_len = CAIRN_BLOCK_BYTES_MAX;
  len = enc(g_buf, sizeof g_buf, &m);
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  assert_int_equal(d.u.proposal.block_len, CAIRN_BLOCK_BYTES_MAX);
  cairn_be32_write(g_buf + 17, CAIRN_BLOCK_BYTES_MAX + 1);
  expect_reject(g_buf, len, CAIRN_ERR_OVERSIZE);

  /* The largest message of all: a BLOCK with a full block and commit. */
  m = sample(CAIRN_MSG_BLOCK);
  m.u.block.block_len = CAIRN_BLOCK_BYTES_MAX;
  m.u.block.commit_len = CAIRN_COMMIT_BYTES_MAX;
  len = enc(g_buf, sizeof g_buf, &m);
  assert_int_equal(len, CAIRN_P2P_MSG_BYTES_MAX);
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  g_buf[len] = 0; /* one byte more: over the message bound */
  expect_reject(g_buf, len + 1, CAIRN_ERR_OVERSIZE);
  size_t at = 1 + 8 + 4 + CAIRN_BLOCK_BYTES_MAX;
  g_buf[at] = (uint8_t)((CAIRN_COMMIT_BYTES_MAX + 1) >> 8);
  g_buf[at + 1] = (uint8_t)(CAIRN_COMMIT_BYTES_MAX + 1);
  expect_reject(g_buf, len, CAIRN_ERR_OVERSIZE);
  /* A commit length of 0xFFFF is refused before it is compared to the
   * bytes present. */
  g_buf[at] = 0xff;
  g_buf[at + 1] = 0xff;
  expect_reject(g_buf, at + 2, CAIRN_ERR_OVERSIZE);
}

static void test_encode_capacity(void **state) {
  (void)state;
  for (uint8_t t = CAIRN_MSG_TYPE_MIN; t <= CAIRN_MSG_TYPE_MAX; t++) {
    cairn_p2p_msg m = sample(t);
    size_t need = cairn_p2p_msg_size(&m), len = 99;
    for (size_t cap = 0; cap < need; cap += (cap < 20 ? 1 : 37)) {
      assert_int_equal(cairn_p2p_msg_encode(g_buf, cap, &len, &m),
                       CAIRN_ERR_OVERSIZE);
      assert_int_equal(len, 0);
    }
    assert_int_equal(cairn_p2p_msg_encode(g_buf, need, &len, &m), CAIRN_OK);
    assert_int_equal(len, need);
  }
}

/* ---- proposals ---- */

typedef struct prop_fx {
  tu_vkey key, other;
  cairn_msg_proposal p;
  uint8_t block_hash[32];
} prop_fx;

static void prop_make(prop_fx *f) {
  memset(f, 0, sizeof *f);
  tu_validator(&f->key, 0);
  tu_validator(&f->other, 1);
  f->p.height = 9;
  f->p.round = 2;
  f->p.pol_round = CAIRN_POL_ROUND_NONE;
  f->p.block = g_block;
  f->p.block_len = 10;
  /* Any 32 bytes would do; the hash of the block bytes lets the fuzz
   * target, which hashes the same way, reach an accepted signature. */
  cairn_sha256_hash(f->block_hash, f->p.block, f->p.block_len);
  uint8_t h[32];
  cairn_proposal_signhash(h, CHAIN, CHAIN_LEN, f->p.height, f->p.round,
                          f->p.pol_round, f->block_hash);
  tu_check("sign", cairn_ed25519_sign(f->p.sig, f->key.sk, h, sizeof h));
  memcpy(f->p.proposer, f->key.pk, 32);
}

/* The sign hash is tagged_hash("cairn/proposal", chain_id var8 | height
 * u64 | round u32 | pol_round u32 | block_hash), built here by hand. */
static void test_signhash_layout(void **state) {
  (void)state;
  uint8_t bh[32], got[32], want[32], m[1 + 10 + 8 + 4 + 4 + 32];
  fill(bh, 32, 1);
  size_t n = 0;
  m[n++] = (uint8_t)CHAIN_LEN;
  memcpy(m + n, TU_CHAIN_ID, CHAIN_LEN);
  n += CHAIN_LEN;
  cairn_be64_write(m + n, 0x0102030405060708ull);
  n += 8;
  cairn_be32_write(m + n, 5);
  n += 4;
  cairn_be32_write(m + n, 4);
  n += 4;
  memcpy(m + n, bh, 32);
  n += 32;
  assert_int_equal(n, sizeof m);
  cairn_tagged_hash(want, "cairn/proposal", m, n);
  cairn_proposal_signhash(got, CHAIN, CHAIN_LEN, 0x0102030405060708ull, 5, 4,
                          bh);
  assert_memory_equal(got, want, 32);
  /* Not the vote hash of the same fields (domain separation). */
  uint8_t vote_h[32];
  cairn_vote_signhash(vote_h, CHAIN, CHAIN_LEN, 1, 0x0102030405060708ull, 5,
                      bh);
  assert_memory_not_equal(got, vote_h, 32);
}

static void test_proposal_verify(void **state) {
  (void)state;
  prop_fx f;
  prop_make(&f);
  assert_int_equal(cairn_proposal_verify(&f.p, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_OK);
  cairn_msg_proposal q;
  uint8_t bh[32];
  q = f.p;
  memcpy(q.proposer, f.other.pk, 32);
  assert_int_equal(cairn_proposal_verify(&q, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_ERR_BAD_SIG);
  q = f.p;
  q.height++;
  assert_int_equal(cairn_proposal_verify(&q, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_ERR_BAD_SIG);
  q = f.p;
  q.round++;
  assert_int_equal(cairn_proposal_verify(&q, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_ERR_BAD_SIG);
  q = f.p;
  q.pol_round = 0;
  assert_int_equal(cairn_proposal_verify(&q, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_ERR_BAD_SIG);
  q = f.p;
  q.sig[0] ^= 1;
  assert_int_equal(cairn_proposal_verify(&q, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_ERR_BAD_SIG);
  memcpy(bh, f.block_hash, 32);
  bh[31] ^= 0x80;
  assert_int_equal(cairn_proposal_verify(&f.p, CHAIN, CHAIN_LEN, bh),
                   CAIRN_ERR_BAD_SIG);
  assert_int_equal(cairn_proposal_verify(&f.p, (const uint8_t *)"cairn-tesu",
                                         CHAIN_LEN, f.block_hash),
                   CAIRN_ERR_BAD_SIG);
  /* An invalid public key (not on the curve) is a bad signature too. */
  q = f.p;
  memset(q.proposer, 0xff, 32);
  assert_int_equal(cairn_proposal_verify(&q, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_ERR_BAD_SIG);
  /* The block bytes are not signed directly: only through block_hash. */
  q = f.p;
  q.block_len = 11;
  assert_int_equal(cairn_proposal_verify(&q, CHAIN, CHAIN_LEN, f.block_hash),
                   CAIRN_OK);
}

/* A signed proposal survives the wire and still verifies. */
static void test_proposal_wire(void **state) {
  (void)state;
  prop_fx f;
  prop_make(&f);
  cairn_p2p_msg m, d;
  memset(&m, 0, sizeof m);
  m.type = CAIRN_MSG_PROPOSAL;
  m.u.proposal = f.p;
  size_t len = enc(g_buf, sizeof g_buf, &m);
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  assert_int_equal(
      cairn_proposal_verify(&d.u.proposal, CHAIN, CHAIN_LEN, f.block_hash),
      CAIRN_OK);
  g_buf[len - 1] ^= 1; /* the last signature byte */
  assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
  assert_int_equal(
      cairn_proposal_verify(&d.u.proposal, CHAIN, CHAIN_LEN, f.block_hash),
      CAIRN_ERR_BAD_SIG);
}

/* ---- seeded random round trips ---- */

static uint64_t rnd_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static cairn_p2p_msg random_msg(uint64_t *s) {
  cairn_p2p_msg m = sample((uint8_t)(1 + rnd_next(s) % 7));
  switch (m.type) {
  case CAIRN_MSG_STATUS:
    m.u.status.height = rnd_next(s);
    m.u.status.cons_round = (uint32_t)rnd_next(s);
    break;
  case CAIRN_MSG_TX:
    m.u.tx.len = 1 + rnd_next(s) % CAIRN_TX_BYTES_MAX;
    break;
  case CAIRN_MSG_PROPOSAL:
    m.u.proposal.round = (uint32_t)rnd_next(s) | 1u;
    m.u.proposal.pol_round = rnd_next(s) % 2 ? CAIRN_POL_ROUND_NONE
                                             : m.u.proposal.round - 1;
    m.u.proposal.block_len = 1 + rnd_next(s) % 5000;
    break;
  case CAIRN_MSG_BLOCK:
    m.u.block.height = 1 + rnd_next(s) % 1000000;
    m.u.block.block_len = 1 + rnd_next(s) % 5000;
    m.u.block.commit_len = 1 + rnd_next(s) % CAIRN_COMMIT_BYTES_MAX;
    break;
  default:
    break;
  }
  return m;
}

static void test_random_round_trips(void **state) {
  (void)state;
  uint64_t seed = (uint64_t)time(NULL) | 1u, s = seed;
  printf("test_random_round_trips seed=%llu\n", (unsigned long long)seed);
  static uint8_t again[CAIRN_P2P_MSG_BYTES_MAX];
  for (int i = 0; i < 2000; i++) {
    cairn_p2p_msg m = random_msg(&s), d;
    size_t len = enc(g_buf, sizeof g_buf, &m);
    assert_int_equal(cairn_p2p_msg_decode(&d, g_buf, len), CAIRN_OK);
    assert_int_equal(enc(again, sizeof again, &d), len);
    assert_memory_equal(again, g_buf, len);
    /* Cutting the last byte off is always rejected. */
    expect_reject(g_buf, len - 1, CAIRN_ERR_TRUNCATED);
  }
}

/* ---- fuzz seeds ---- */

static void write_seed(const char *dir, const char *name, const uint8_t *p,
                       size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/seed-%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

static int write_seeds(const char *root) {
  static const char *names[] = {"",     "status",    "tx",    "proposal",
                                "vote", "get-block", "block", "no-block"};
  char dir[400];
  snprintf(dir, sizeof dir, "%s/p2p_msg", root);
  mkdir(dir, 0755);
  prop_fx f;
  prop_make(&f);
  for (uint8_t t = CAIRN_MSG_TYPE_MIN; t <= CAIRN_MSG_TYPE_MAX; t++) {
    cairn_p2p_msg m = sample(t);
    if (t == CAIRN_MSG_PROPOSAL) m.u.proposal = f.p;
    size_t len = 0;
    tu_check("encode", cairn_p2p_msg_encode(g_buf, sizeof g_buf, &len, &m));
    char name[64];
    write_seed(dir, names[t], g_buf, len);
    snprintf(name, sizeof name, "bad-%s-truncated", names[t]);
    write_seed(dir, name, g_buf, len - 1);
    g_buf[len] = 0;
    snprintf(name, sizeof name, "bad-%s-trailing", names[t]);
    write_seed(dir, name, g_buf, len + 1);
  }
  const uint8_t bad_type[] = {9, 0, 0, 0, 0, 0, 0, 0, 1};
  write_seed(dir, "bad-type", bad_type, sizeof bad_type);
  const uint8_t tx_huge[] = {CAIRN_MSG_TX, 0xff, 0xff, 0xff, 0xff, 1};
  write_seed(dir, "bad-tx-oversize", tx_huge, sizeof tx_huge);
  printf("seeds written to %s\n", dir);
  return 0;
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  fill(g_tx, sizeof g_tx, 1);
  fill(g_block, sizeof g_block, 2);
  fill(g_commit, sizeof g_commit, 4);
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) {
    return write_seeds(argv[2]);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_each_type),
      cmocka_unit_test(test_zero_copy_pointers),
      cmocka_unit_test(test_status_layout),
      cmocka_unit_test(test_every_prefix_truncated),
      cmocka_unit_test(test_trailing),
      cmocka_unit_test(test_bad_type),
      cmocka_unit_test(test_height_zero),
      cmocka_unit_test(test_pol_round),
      cmocka_unit_test(test_empty_strings),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_encode_capacity),
      cmocka_unit_test(test_signhash_layout),
      cmocka_unit_test(test_proposal_verify),
      cmocka_unit_test(test_proposal_wire),
      cmocka_unit_test(test_random_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
