/*
 * tests/test_privval.c - the signer that never signs twice.
 *
 * Every test works on a state file in a fresh temporary directory. The
 * rules of privval.h are checked both ways: a higher (height, round, step)
 * is signed (and the signature verifies with the ordinary vote and
 * proposal checks), the same one with the same hash gives back the same
 * signature, and a lower one or the same one with another hash is refused
 * with DOUBLE_SIGN and changes nothing - neither the signer's memory nor
 * the file's bytes. A restart is simulated by closing the signer and
 * opening a new one on the same file; damaged files of every kind must
 * stop it with CORRUPT rather than start it empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/p2p_msg.h"
#include "cairn/privval.h"
#include "testutil.h"

#define CHAIN ((const uint8_t *)TU_CHAIN_ID)
#define CHAIN_LEN (sizeof TU_CHAIN_ID - 1)

typedef struct pfx {
  char dir[64];
  char path[128];
  tu_vkey key;
  cairn_privval *pv;
} pfx;

static int setup(void **state) {
  pfx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  tu_tmpdir(f->dir, sizeof f->dir);
  snprintf(f->path, sizeof f->path, "%s/%s", f->dir, CAIRN_PRIVVAL_FILE_NAME);
  tu_validator(&f->key, 1);
  assert_int_equal(cairn_privval_open(&f->pv, f->key.sk, f->path), CAIRN_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  pfx *f = *state;
  cairn_privval_close(f->pv);
  tu_rmtree(f->dir);
  free(f);
  return 0;
}

static void reopen(pfx *f) {
  cairn_privval_close(f->pv);
  f->pv = NULL;
  assert_int_equal(cairn_privval_open(&f->pv, f->key.sk, f->path), CAIRN_OK);
}

static cairn_vote mkvote(uint8_t type, uint64_t h, uint32_t r, uint8_t fill) {
  cairn_vote v;
  memset(&v, 0, sizeof v);
  v.type = type;
  v.height = h;
  v.round = r;
  memset(v.block_hash, fill, sizeof v.block_hash);
  return v;
}

static cairn_err sign_vote(pfx *f, cairn_vote *v) {
  return cairn_privval_sign_vote(f->pv, CHAIN, CHAIN_LEN, v);
}

static const uint8_t k_block[] = {1, 2, 3};

static cairn_err sign_prop(pfx *f, cairn_msg_proposal *p, uint64_t h,
                           uint32_t r, uint8_t fill) {
  uint8_t hash[32];
  memset(p, 0, sizeof *p);
  p->height = h;
  p->round = r;
  p->pol_round = CAIRN_POL_ROUND_NONE;
  p->block = k_block;
  p->block_len = sizeof k_block;
  memset(hash, fill, sizeof hash);
  return cairn_privval_sign_proposal(f->pv, CHAIN, CHAIN_LEN, p, hash);
}

static void expect_last(pfx *f, uint64_t h, uint32_t r, uint8_t s) {
  uint64_t lh = 99;
  uint32_t lr = 99;
  uint8_t ls = 99;
  cairn_privval_last(f->pv, &lh, &lr, &ls);
  assert_int_equal(lh, h);
  assert_int_equal(lr, r);
  assert_int_equal(ls, s);
}

/* The file's bytes (exactly CAIRN_PRIVVAL_STATE_BYTES). */
static void read_state(pfx *f, uint8_t out[CAIRN_PRIVVAL_STATE_BYTES]) {
  char *buf = NULL;
  size_t len = 0;
  assert_int_equal(cairn_file_read_all(f->path, 4096, &buf, &len), CAIRN_OK);
  assert_int_equal(len, CAIRN_PRIVVAL_STATE_BYTES);
  memcpy(out, buf, len);
  free(buf);
}

static void write_state(pfx *f, const void *p, size_t len) {
  assert_int_equal(cairn_file_write_atomic(f->path, p, len, 0600, false),
                   CAIRN_OK);
}

/* ---- tests ---- */

static void test_fresh_state(void **state) {
  pfx *f = *state;
  struct stat st;
  expect_last(f, 0, 0, 0);
  uint8_t pk[32];
  cairn_privval_pubkey(f->pv, pk);
  assert_memory_equal(pk, f->key.pk, 32);
  /* Nothing is written before the first signature. */
  assert_int_equal(stat(f->path, &st), -1);
}

static void test_sign_increasing(void **state) {
  pfx *f = *state;
  cairn_msg_proposal p;
  uint8_t hash[32];
  memset(hash, 0xA1, sizeof hash);
  assert_int_equal(sign_prop(f, &p, 1, 0, 0xA1), CAIRN_OK);
  assert_memory_equal(p.proposer, f->key.pk, 32);
  assert_int_equal(cairn_proposal_verify(&p, CHAIN, CHAIN_LEN, hash), CAIRN_OK);
  expect_last(f, 1, 0, CAIRN_STEP_PROPOSE);

  cairn_vote v = mkvote(CAIRN_VOTE_PREVOTE, 1, 0, 0xA1);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  assert_memory_equal(v.validator, f->key.pk, 32);
  assert_int_equal(cairn_vote_verify(&v, CHAIN, CHAIN_LEN), CAIRN_OK);
  expect_last(f, 1, 0, CAIRN_STEP_PREVOTE);

  v = mkvote(CAIRN_VOTE_PRECOMMIT, 1, 0, 0);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  assert_int_equal(cairn_vote_verify(&v, CHAIN, CHAIN_LEN), CAIRN_OK);
  expect_last(f, 1, 0, CAIRN_STEP_PRECOMMIT);

  v = mkvote(CAIRN_VOTE_PREVOTE, 1, 7, 0xB2); /* skipped rounds */
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  v = mkvote(CAIRN_VOTE_PREVOTE, 2, 0, 0xC3); /* next height, round 0 */
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  expect_last(f, 2, 0, CAIRN_STEP_PREVOTE);

  /* The file says the same, and only its owner can read it. */
  struct stat st;
  assert_int_equal(stat(f->path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  uint8_t s[CAIRN_PRIVVAL_STATE_BYTES];
  read_state(f, s);
  assert_int_equal(s[0], CAIRN_PRIVVAL_VERSION);
  assert_int_equal(cairn_be64_read(s + 1), 2);
  assert_int_equal(cairn_be32_read(s + 9), 0);
  assert_int_equal(s[13], CAIRN_STEP_PREVOTE);
  assert_memory_equal(s + 46, v.sig, 64);
}

static void test_same_hrs_same_hash(void **state) {
  pfx *f = *state;
  cairn_vote a = mkvote(CAIRN_VOTE_PREVOTE, 3, 1, 0x11);
  cairn_vote b = mkvote(CAIRN_VOTE_PREVOTE, 3, 1, 0x11);
  assert_int_equal(sign_vote(f, &a), CAIRN_OK);
  assert_int_equal(sign_vote(f, &b), CAIRN_OK);
  assert_memory_equal(a.sig, b.sig, 64);
  assert_memory_equal(b.validator, f->key.pk, 32);

  cairn_msg_proposal p, q;
  assert_int_equal(sign_prop(f, &p, 4, 0, 0x22), CAIRN_OK);
  assert_int_equal(sign_prop(f, &q, 4, 0, 0x22), CAIRN_OK);
  assert_memory_equal(p.sig, q.sig, 64);
}

/* A refusal leaves the signer, the file and the caller's vote as they
 * were. */
static void expect_refused_vote(pfx *f, cairn_vote v) {
  uint8_t before[CAIRN_PRIVVAL_STATE_BYTES], after[CAIRN_PRIVVAL_STATE_BYTES];
  uint64_t h0;
  uint32_t r0;
  uint8_t s0;
  read_state(f, before);
  cairn_privval_last(f->pv, &h0, &r0, &s0);
  cairn_vote orig = v;
  assert_int_equal(sign_vote(f, &v), CAIRN_ERR_DOUBLE_SIGN);
  assert_memory_equal(&v, &orig, sizeof v);
  read_state(f, after);
  assert_memory_equal(before, after, sizeof before);
  expect_last(f, h0, r0, s0);
}

static void test_same_hrs_other_hash(void **state) {
  pfx *f = *state;
  cairn_vote v = mkvote(CAIRN_VOTE_PRECOMMIT, 5, 2, 0x33);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  expect_refused_vote(f, mkvote(CAIRN_VOTE_PRECOMMIT, 5, 2, 0x34));
  expect_refused_vote(f, mkvote(CAIRN_VOTE_PRECOMMIT, 5, 2, 0)); /* nil */
  cairn_msg_proposal p;
  assert_int_equal(sign_prop(f, &p, 6, 0, 0x44), CAIRN_OK);
  assert_int_equal(sign_prop(f, &p, 6, 0, 0x45), CAIRN_ERR_DOUBLE_SIGN);
  expect_last(f, 6, 0, CAIRN_STEP_PROPOSE);
}

static void test_lower_refused(void **state) {
  pfx *f = *state;
  cairn_vote v = mkvote(CAIRN_VOTE_PRECOMMIT, 10, 3, 0x55);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  expect_refused_vote(f, mkvote(CAIRN_VOTE_PREVOTE, 10, 3, 0x55)); /* step */
  expect_refused_vote(f, mkvote(CAIRN_VOTE_PRECOMMIT, 10, 2, 0x55)); /* r */
  expect_refused_vote(f, mkvote(CAIRN_VOTE_PRECOMMIT, 9, 9, 0x55)); /* h */
  cairn_msg_proposal p;
  assert_int_equal(sign_prop(f, &p, 10, 3, 0x55), CAIRN_ERR_DOUBLE_SIGN);
  assert_int_equal(sign_prop(f, &p, 10, 4, 0x55), CAIRN_OK);
}

/* Proposal, prevote, precommit of one round in order; going back to the
 * proposal step of that round is refused, the next round is fine. */
static void test_interleave(void **state) {
  pfx *f = *state;
  cairn_msg_proposal p;
  assert_int_equal(sign_prop(f, &p, 7, 1, 0x66), CAIRN_OK);
  cairn_vote v = mkvote(CAIRN_VOTE_PREVOTE, 7, 1, 0x66);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  assert_int_equal(sign_prop(f, &p, 7, 1, 0x66), CAIRN_ERR_DOUBLE_SIGN);
  v = mkvote(CAIRN_VOTE_PRECOMMIT, 7, 1, 0x66);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  assert_int_equal(sign_prop(f, &p, 7, 1, 0x67), CAIRN_ERR_DOUBLE_SIGN);
  assert_int_equal(sign_prop(f, &p, 7, 2, 0x67), CAIRN_OK);
  v = mkvote(CAIRN_VOTE_PREVOTE, 7, 1, 0x66);
  assert_int_equal(sign_vote(f, &v), CAIRN_ERR_DOUBLE_SIGN);
  v = mkvote(CAIRN_VOTE_PREVOTE, 7, 2, 0x67);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  expect_last(f, 7, 2, CAIRN_STEP_PREVOTE);
}

/* A restart keeps the promise: the reopened signer refuses a conflicting
 * vote and re-signs the same one identically. */
static void test_survives_restart(void **state) {
  pfx *f = *state;
  cairn_vote v = mkvote(CAIRN_VOTE_PREVOTE, 12, 4, 0x77);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  reopen(f);
  expect_last(f, 12, 4, CAIRN_STEP_PREVOTE);
  expect_refused_vote(f, mkvote(CAIRN_VOTE_PREVOTE, 12, 4, 0x78));
  expect_refused_vote(f, mkvote(CAIRN_VOTE_PREVOTE, 12, 3, 0x77));
  cairn_vote again = mkvote(CAIRN_VOTE_PREVOTE, 12, 4, 0x77);
  assert_int_equal(sign_vote(f, &again), CAIRN_OK);
  assert_memory_equal(again.sig, v.sig, 64);
  cairn_vote next = mkvote(CAIRN_VOTE_PRECOMMIT, 12, 4, 0x77);
  assert_int_equal(sign_vote(f, &next), CAIRN_OK);
  reopen(f);
  expect_last(f, 12, 4, CAIRN_STEP_PRECOMMIT);
}

static void expect_corrupt(pfx *f, const uint8_t *bytes, size_t len) {
  cairn_privval *pv = (cairn_privval *)1;
  write_state(f, bytes, len);
  assert_int_equal(cairn_privval_open(&pv, f->key.sk, f->path),
                   CAIRN_ERR_CORRUPT);
  assert_null(pv);
}

static void test_corrupt_files(void **state) {
  pfx *f = *state;
  cairn_vote v = mkvote(CAIRN_VOTE_PRECOMMIT, 20, 1, 0x88);
  assert_int_equal(sign_vote(f, &v), CAIRN_OK);
  uint8_t good[CAIRN_PRIVVAL_STATE_BYTES], bad[CAIRN_PRIVVAL_STATE_BYTES + 1];
  read_state(f, good);
  cairn_privval_close(f->pv);
  f->pv = NULL;

  expect_corrupt(f, good, 0);                  /* empty */
  expect_corrupt(f, good, sizeof good - 1);    /* truncated */
  memcpy(bad, good, sizeof good);
  bad[sizeof good] = 0;
  expect_corrupt(f, bad, sizeof good + 1);     /* trailing byte */
  memcpy(bad, good, sizeof good);
  bad[0] = 2;
  expect_corrupt(f, bad, sizeof good);         /* version */
  memcpy(bad, good, sizeof good);
  bad[13] = 4;
  expect_corrupt(f, bad, sizeof good);         /* step */
  memcpy(bad, good, sizeof good);
  bad[13] = 0;
  expect_corrupt(f, bad, sizeof good);         /* step 0 with a body */
  memcpy(bad, good, sizeof good);
  memset(bad + 1, 0, 8);
  expect_corrupt(f, bad, sizeof good);         /* height 0 with a body */
  memcpy(bad, good, sizeof good);
  bad[46 + 10] ^= 1;
  expect_corrupt(f, bad, sizeof good);         /* signature */
  memcpy(bad, good, sizeof good);
  bad[14] ^= 1;
  expect_corrupt(f, bad, sizeof good);         /* sign hash */
  /* Another validator's state file. */
  tu_vkey other;
  tu_validator(&other, 2);
  cairn_privval *pv = NULL;
  write_state(f, good, sizeof good);
  assert_int_equal(cairn_privval_open(&pv, other.sk, f->path),
                   CAIRN_ERR_CORRUPT);
  assert_null(pv);

  /* Nothing signed yet: version then all zero. */
  memset(bad, 0, sizeof good);
  bad[0] = CAIRN_PRIVVAL_VERSION;
  write_state(f, bad, sizeof good);
  assert_int_equal(cairn_privval_open(&f->pv, f->key.sk, f->path), CAIRN_OK);
  expect_last(f, 0, 0, 0);
}

/* A state that cannot be persisted hands out nothing. */
static void test_io_failure(void **state) {
  pfx *f = *state;
  char path[160];
  cairn_privval *pv = NULL;
  snprintf(path, sizeof path, "%s/missing-dir/state", f->dir);
  assert_int_equal(cairn_privval_open(&pv, f->key.sk, path), CAIRN_OK);
  cairn_vote v = mkvote(CAIRN_VOTE_PREVOTE, 1, 0, 0x99);
  cairn_vote orig = v;
  assert_int_equal(cairn_privval_sign_vote(pv, CHAIN, CHAIN_LEN, &v),
                   CAIRN_ERR_IO);
  assert_memory_equal(&v, &orig, sizeof v);
  uint64_t h;
  uint32_t r;
  uint8_t s;
  cairn_privval_last(pv, &h, &r, &s);
  assert_int_equal(h, 0);
  cairn_privval_close(pv);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fresh_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sign_increasing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_same_hrs_same_hash, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_same_hrs_other_hash, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_lower_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interleave, setup, teardown),
      cmocka_unit_test_setup_teardown(test_survives_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_io_failure, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
