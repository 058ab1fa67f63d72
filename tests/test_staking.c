/*
 * tests/test_staking.c - stake, validator-set changes and slashing.
 *
 * Two levels. The rules are checked on a state view over an empty base
 * (genesis applied, blocks simulated with begin_block / end_block): every
 * transaction type's accepted path and each of its errors, and after every
 * rejection the view's change digest and change count are exactly as
 * before. The timing and the chain hooks are checked through real chains
 * (propose / check_proposal / commit_proposal / apply_block, commits
 * signed by the validators in force): a set change included at height h
 * reaches the header's validators_hash at h + delay, the proposer rotation
 * restarts at the new epoch, a slashed validator leaves the set at the
 * announced height, a replica applying the same blocks agrees on every
 * hash, and stake is conserved through a seeded random run.
 *
 * Genesis (sg_genesis): validators tu_validator(0..n-1), each operated by
 * the key "operator" i with 1000 free stake; member 0 has 500 free stake
 * and the key "newcomer" 2000 (it proposes validator n for admission).
 * Staking rules: delay 2, unbonding 5, evidence age 20, slash 10%.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/chain.h"
#include "cairn/evidence.h"
#include "cairn/merkle.h"
#include "cairn/proposer.h"
#include "cairn/staking.h"
#include "cairn/state.h"
#include "cairn/view.h"
#include "testutil.h"

#define SG_DELAY 2u
#define SG_UNBONDING 5u
#define SG_MAX_AGE 20u
#define SG_SLASH 10u
#define SG_OP_STAKE 1000u
#define SG_MEMBER_STAKE 500u
#define SG_NEWCOMER_STAKE 2000u
#define SG_KEYS_MAX 160
#define SG_SEQS_MAX 32

/* ---- keys and genesis ---- */

static void op_key(tu_key *k, uint32_t i) { tu_key_derive(k, "operator", i); }
static void newcomer_key(tu_key *k) { tu_key_derive(k, "newcomer", 0); }

static void put_sorted_stake(cairn_genesis *g, const uint8_t pk[32],
                             uint64_t amount) {
  uint16_t at = g->n_stake;
  while (at > 0 && memcmp(g->stake[at - 1].account, pk, 32) > 0) {
    g->stake[at] = g->stake[at - 1];
    at--;
  }
  memcpy(g->stake[at].account, pk, 32);
  g->stake[at].amount = amount;
  g->n_stake++;
}

static void put_sorted_validator(cairn_valset *vs, const cairn_validator *v) {
  uint32_t at = vs->n;
  while (at > 0 && memcmp(vs->v[at - 1].pubkey, v->pubkey, 32) > 0) {
    vs->v[at] = vs->v[at - 1];
    at--;
  }
  vs->v[at] = *v;
  vs->n++;
}

/* The genesis described at the top, with n validators of the given powers
 * (NULL: 10 each); operators only for the first n_ops validators. */
static cairn_genesis *sg_genesis(uint32_t n, const uint64_t *powers,
                                 uint32_t n_ops) {
  cairn_genesis *g = malloc(sizeof *g);
  char why[256];
  assert_non_null(g);
  tu_genesis(g);
  memset(&g->validators, 0, sizeof g->validators);
  for (uint32_t i = 0; i < n; i++) {
    tu_vkey vk;
    tu_key op;
    cairn_validator v;
    memset(&v, 0, sizeof v);
    tu_validator(&vk, i);
    memcpy(v.pubkey, vk.pk, 32);
    v.power = powers != NULL ? powers[i] : 10;
    if (i < n_ops) {
      op_key(&op, i);
      memcpy(v.operator_key, op.pk, 32);
      put_sorted_stake(g, op.pk, SG_OP_STAKE);
    }
    v.name_len = (uint8_t)snprintf(v.name, sizeof v.name, "val%u", i);
    put_sorted_validator(&g->validators, &v);
  }
  tu_key m, nc;
  tu_member(&m, 0);
  newcomer_key(&nc);
  put_sorted_stake(g, m.pk, SG_MEMBER_STAKE);
  put_sorted_stake(g, nc.pk, SG_NEWCOMER_STAKE);
  g->staking.valset_delay_blocks = SG_DELAY;
  g->staking.unbonding_blocks = SG_UNBONDING;
  g->staking.evidence_max_age_blocks = SG_MAX_AGE;
  g->staking.slash_percent = SG_SLASH;
  if (cairn_genesis_check(g, why, sizeof why) != CAIRN_OK)
    fail_msg("genesis: %s", why);
  return g;
}

/* ---- sequences: one counter per sender ---- */

typedef struct seqs {
  size_t n;
  uint8_t pk[SG_SEQS_MAX][32];
  uint64_t next[SG_SEQS_MAX];
} seqs;

static uint64_t *seq_slot(seqs *s, const uint8_t pk[32]) {
  for (size_t i = 0; i < s->n; i++)
    if (memcmp(s->pk[i], pk, 32) == 0) return &s->next[i];
  assert_true(s->n < SG_SEQS_MAX);
  memcpy(s->pk[s->n], pk, 32);
  s->next[s->n] = 1;
  return &s->next[s->n++];
}

/* ---- transactions ---- */

static void tx_stake_transfer(cairn_tx *tx, seqs *s, const tu_key *from,
                              const uint8_t to[32], uint64_t amount) {
  tu_tx_init(tx, CAIRN_TX_STAKE_TRANSFER, from->pk, *seq_slot(s, from->pk));
  memcpy(tx->u.stake_transfer.to, to, 32);
  tx->u.stake_transfer.amount = amount;
  tu_tx_sign(tx, from);
}

static void tx_bond(cairn_tx *tx, seqs *s, uint8_t type, const tu_key *from,
                    const uint8_t validator[32], uint64_t amount) {
  tu_tx_init(tx, type, from->pk, *seq_slot(s, from->pk));
  memcpy(tx->u.bond.validator, validator, 32);
  tx->u.bond.amount = amount;
  tu_tx_sign(tx, from);
}

static void tx_admit(cairn_tx *tx, seqs *s, const tu_key *from,
                     const uint8_t validator[32], uint64_t amount,
                     uint64_t deadline, const char *name) {
  tu_tx_init(tx, CAIRN_TX_ADMIT, from->pk, *seq_slot(s, from->pk));
  memcpy(tx->u.admit.validator, validator, 32);
  tx->u.admit.amount = amount;
  tx->u.admit.deadline_height = deadline;
  tx->u.admit.name_len = (uint8_t)strlen(name);
  memcpy(tx->u.admit.name, name, tx->u.admit.name_len);
  tu_tx_sign(tx, from);
}

static void tx_approve(cairn_tx *tx, seqs *s, const tu_key *from,
                       const uint8_t proposal[32]) {
  tu_tx_init(tx, CAIRN_TX_APPROVE, from->pk, *seq_slot(s, from->pk));
  memcpy(tx->u.approve.proposal, proposal, 32);
  tu_tx_sign(tx, from);
}

/* Two votes of validator vk at (height, round) for different blocks. */
static void make_evidence(cairn_evidence *e, const tu_vkey *vk, uint64_t height,
                          uint32_t round) {
  cairn_vote x, y;
  memset(&x, 0, sizeof x);
  x.type = CAIRN_VOTE_PRECOMMIT;
  x.height = height;
  x.round = round;
  y = x;
  memset(x.block_hash, 0x11, 32);
  memset(y.block_hash, 0x22, 32);
  const uint8_t *cid = (const uint8_t *)TU_CHAIN_ID;
  tu_check("vote", cairn_vote_sign(&x, cid, strlen(TU_CHAIN_ID), vk->sk));
  tu_check("vote", cairn_vote_sign(&y, cid, strlen(TU_CHAIN_ID), vk->sk));
  tu_check("evidence", cairn_evidence_from_votes(e, &x, &y));
}

static void tx_evidence(cairn_tx *tx, seqs *s, const tu_key *from,
                        const cairn_evidence *e) {
  size_t len = 0;
  tu_tx_init(tx, CAIRN_TX_EVIDENCE, from->pk, *seq_slot(s, from->pk));
  tu_check("evidence", cairn_evidence_encode(tx->u.evidence.evidence,
                                             CAIRN_EVIDENCE_BYTES, &len, e));
  tu_tx_sign(tx, from);
}

/* ---- the state-level fixture ---- */

typedef struct fx {
  cairn_genesis *g;
  cairn_view *v;
  cairn_exec_ctx ctx;
  seqs seq;
  tu_vkey vk[SG_KEYS_MAX];
  tu_key op[8], m, nc, stranger;
} fx;

/* The fixture with a slash percentage of its own. */
static fx *fx_open_slash(uint32_t n, const uint64_t *powers, uint32_t n_ops,
                         uint8_t slash_percent) {
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->g = sg_genesis(n, powers, n_ops);
  f->g->staking.slash_percent = slash_percent;
  for (uint32_t i = 0; i < SG_KEYS_MAX; i++) tu_validator(&f->vk[i], i);
  for (uint32_t i = 0; i < 8; i++) op_key(&f->op[i], i);
  tu_member(&f->m, 0);
  newcomer_key(&f->nc);
  tu_member(&f->stranger, 99);
  assert_int_equal(cairn_view_open(&f->v, NULL), CAIRN_OK);
  assert_int_equal(cairn_state_apply_genesis(f->v, f->g), CAIRN_OK);
  f->ctx.chain_id = (const uint8_t *)TU_CHAIN_ID;
  f->ctx.chain_id_len = strlen(TU_CHAIN_ID);
  f->ctx.height = 1;
  f->ctx.time_ms = TU_GENESIS_TIME_MS + 1000;
  return f;
}

static fx *fx_open(uint32_t n, const uint64_t *powers, uint32_t n_ops) {
  return fx_open_slash(n, powers, n_ops, SG_SLASH);
}

static void fx_close(fx *f) {
  cairn_view_close(f->v);
  free(f->g);
  free(f);
}

static void txid_of(uint8_t id[32], const cairn_tx *tx) { tu_txid(id, tx); }

static void expect_ok(fx *f, const cairn_tx *tx) {
  uint8_t id[32];
  txid_of(id, tx);
  cairn_err err = cairn_state_apply_tx(f->v, &f->ctx, tx, id);
  if (err != CAIRN_OK)
    fail_msg("%s at height %llu: %s", cairn_tx_type_name(tx->type),
             (unsigned long long)f->ctx.height, cairn_errname(err));
  (*seq_slot(&f->seq, tx->sender))++;
}

/* The transaction fails with want and the view is exactly as before. */
static void expect_err(fx *f, const cairn_tx *tx, cairn_err want) {
  uint8_t id[32], d0[32], d1[32];
  txid_of(id, tx);
  size_t n0 = cairn_view_change_count(f->v);
  assert_int_equal(cairn_view_digest(f->v, d0), CAIRN_OK);
  cairn_err err = cairn_state_apply_tx(f->v, &f->ctx, tx, id);
  if (err != want)
    fail_msg("%s: got %s, want %s", cairn_tx_type_name(tx->type),
             cairn_errname(err), cairn_errname(want));
  assert_int_equal(cairn_view_change_count(f->v), n0);
  assert_int_equal(cairn_view_digest(f->v, d1), CAIRN_OK);
  assert_memory_equal(d0, d1, 32);
}

/* Finish block ctx.height and start the next one. */
static void next_block(fx *f) {
  assert_int_equal(cairn_staking_end_block(f->v, &f->ctx), CAIRN_OK);
  f->ctx.height++;
  f->ctx.time_ms += 1000;
  assert_int_equal(cairn_state_begin_block(f->v, &f->ctx), CAIRN_OK);
}

static void blocks_until(fx *f, uint64_t height) {
  while (f->ctx.height < height) next_block(f);
}

static uint64_t free_of(fx *f, const uint8_t pk[32]) {
  uint64_t x = 0;
  assert_int_equal(cairn_staking_free(f->v, pk, &x), CAIRN_OK);
  return x;
}

static cairn_validator_record rec_of(fx *f, uint32_t i) {
  cairn_validator_record r;
  assert_int_equal(cairn_staking_validator(f->v, f->vk[i].pk, &r), CAIRN_OK);
  return r;
}

static cairn_stake_totals totals_of(fx *f) {
  cairn_stake_totals t;
  assert_int_equal(cairn_staking_totals(f->v, &t), CAIRN_OK);
  return t;
}

/* The totals add up to the genesis total. */
static void check_totals(fx *f) {
  cairn_stake_totals t = totals_of(f);
  assert_int_equal(t.free_ + t.bonded + t.unbonding + t.locked + t.slashed,
                   t.genesis);
}

static uint64_t set_epoch(fx *f, cairn_valset *vs) {
  uint64_t epoch = 0;
  assert_int_equal(cairn_staking_valset(f->v, vs, &epoch), CAIRN_OK);
  return epoch;
}

/* Power of validator i in vs (0: not a member). */
static uint64_t power_in(const cairn_valset *vs, const tu_vkey *vk) {
  int k = cairn_valset_find(vs, vk->pk);
  return k < 0 ? 0 : vs->v[k].power;
}

/* ---- state-level tests ---- */

static void test_genesis_state(void **state) {
  (void)state;
  fx *f = fx_open(4, NULL, 3);
  cairn_valset vs;
  cairn_staking_params p;
  assert_int_equal(set_epoch(f, &vs), 1);
  assert_int_equal(vs.n, 4);
  assert_int_equal(vs.total_power, 40);
  uint8_t h1[32], h2[32];
  cairn_valset_hash(h1, &vs);
  cairn_valset_hash(h2, &f->g->validators);
  assert_memory_equal(h1, h2, 32);
  /* Operators and names come from the records. */
  int k = cairn_valset_find(&vs, f->vk[0].pk);
  assert_true(k >= 0);
  assert_memory_equal(vs.v[k].operator_key, f->op[0].pk, 32);
  assert_string_equal(vs.v[k].name, "val0");
  cairn_validator_record r = rec_of(f, 3);
  assert_int_equal(r.bonded, 10);
  assert_int_equal(r.power, 10);
  assert_false(r.jailed);
  for (int i = 0; i < 32; i++) assert_int_equal(r.operator_key[i], 0);
  assert_int_equal(free_of(f, f->op[1].pk), SG_OP_STAKE);
  assert_int_equal(free_of(f, f->m.pk), SG_MEMBER_STAKE);
  assert_int_equal(free_of(f, f->nc.pk), SG_NEWCOMER_STAKE);
  assert_int_equal(free_of(f, f->stranger.pk), 0);
  cairn_stake_totals t = totals_of(f);
  assert_int_equal(t.genesis,
                   40 + 3 * SG_OP_STAKE + SG_MEMBER_STAKE + SG_NEWCOMER_STAKE);
  assert_int_equal(t.bonded, 40);
  assert_int_equal(t.slashed + t.locked + t.unbonding, 0);
  check_totals(f);
  assert_int_equal(cairn_staking_params_read(f->v, &p), CAIRN_OK);
  assert_int_equal(p.valset_delay_blocks, SG_DELAY);
  assert_int_equal(p.unbonding_blocks, SG_UNBONDING);
  assert_int_equal(p.evidence_max_age_blocks, SG_MAX_AGE);
  assert_int_equal(p.slash_percent, SG_SLASH);
  cairn_validator_record none;
  assert_int_equal(cairn_staking_validator(f->v, f->vk[4].pk, &none),
                   CAIRN_ERR_VALIDATOR_UNKNOWN);
  uint64_t epoch = 9;
  assert_int_equal(cairn_staking_valset_at(f->v, 0, &vs, &epoch),
                   CAIRN_ERR_RANGE);
  assert_int_equal(cairn_staking_valset_at(f->v, 1, &vs, &epoch), CAIRN_OK);
  assert_int_equal(epoch, 1);
  fx_close(f);
}

/* The conservation check holds after genesis and catches a record that
 * moved without its totals (the view form; the store form is run after
 * every block of the chain tests). */
static void test_conservation_detects(void **state) {
  (void)state;
  fx *f = fx_open(2, NULL, 2);
  char why[256];
  assert_int_equal(cairn_state_check_conservation_view(f->v, why, sizeof why),
                   CAIRN_OK);
  uint8_t key[33] = {'s'}, val[8];
  memcpy(key + 1, f->m.pk, 32);
  cairn_be64_write(val, SG_MEMBER_STAKE + 1);
  assert_int_equal(cairn_view_put(f->v, CAIRN_T_VALIDATORS, key, 33, val, 8),
                   CAIRN_OK);
  assert_int_equal(cairn_staking_check_conservation_view(f->v, why, sizeof why),
                   CAIRN_ERR_CORRUPT);
  assert_non_null(strstr(why, "free records sum to"));
  assert_int_equal(cairn_state_check_conservation_view(f->v, why, sizeof why),
                   CAIRN_ERR_CORRUPT);
  fx_close(f);
}

static void test_stake_transfer(void **state) {
  (void)state;
  fx *f = fx_open(2, NULL, 2);
  cairn_tx tx;
  tx_stake_transfer(&tx, &f->seq, &f->m, f->stranger.pk, 200);
  expect_ok(f, &tx);
  assert_int_equal(free_of(f, f->m.pk), SG_MEMBER_STAKE - 200);
  assert_int_equal(free_of(f, f->stranger.pk), 200);
  /* All of it may go; the zero balance is deleted, not stored. */
  tx_stake_transfer(&tx, &f->seq, &f->stranger, f->m.pk, 200);
  expect_ok(f, &tx);
  assert_int_equal(free_of(f, f->stranger.pk), 0);
  tx_stake_transfer(&tx, &f->seq, &f->m, f->m.pk, 1);
  expect_err(f, &tx, CAIRN_ERR_SELF_TRANSFER);
  tx_stake_transfer(&tx, &f->seq, &f->m, f->stranger.pk, SG_MEMBER_STAKE + 1);
  expect_err(f, &tx, CAIRN_ERR_STAKE_INSUFFICIENT);
  tx_stake_transfer(&tx, &f->seq, &f->stranger, f->m.pk, 1);
  expect_err(f, &tx, CAIRN_ERR_STAKE_INSUFFICIENT);
  /* The usual envelope checks come first: a replayed sequence. */
  tu_tx_init(&tx, CAIRN_TX_STAKE_TRANSFER, f->m.pk, 1);
  memcpy(tx.u.stake_transfer.to, f->stranger.pk, 32);
  tx.u.stake_transfer.amount = 1;
  tu_tx_sign(&tx, &f->m);
  expect_err(f, &tx, CAIRN_ERR_SEQ_REPLAY);
  cairn_stake_totals t = totals_of(f);
  assert_int_equal(t.free_,
                   2 * SG_OP_STAKE + SG_MEMBER_STAKE + SG_NEWCOMER_STAKE);
  check_totals(f);
  fx_close(f);
}

static void test_bond(void **state) {
  (void)state;
  fx *f = fx_open(3, NULL, 2); /* validator 2 has no operator */
  cairn_tx tx;
  cairn_valset vs;
  f->ctx.height = 5;
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[0], f->vk[0].pk, 300);
  expect_ok(f, &tx);
  cairn_validator_record r = rec_of(f, 0);
  assert_int_equal(r.bonded, 310);
  assert_int_equal(r.power, 10); /* not before 5 + delay */
  assert_int_equal(free_of(f, f->op[0].pk), SG_OP_STAKE - 300);
  assert_int_equal(totals_of(f).bonded, 330);
  check_totals(f);
  /* Rejections, each with the view unchanged. */
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[0], f->vk[7].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_UNKNOWN);
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[1], f->vk[0].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_NOT_OPERATOR);
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->m, f->vk[2].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_NOT_OPERATOR); /* no operator at all */
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[0], f->vk[0].pk,
          SG_OP_STAKE - 300 + 1);
  expect_err(f, &tx, CAIRN_ERR_STAKE_INSUFFICIENT);
  /* The change reaches the set exactly at 5 + delay = 7. */
  next_block(f); /* end of 5, start of 6 */
  assert_int_equal(set_epoch(f, &vs), 1);
  assert_int_equal(power_in(&vs, &f->vk[0]), 10);
  next_block(f); /* end of 6 applied the change due at 7 */
  assert_int_equal(set_epoch(f, &vs), 7);
  assert_int_equal(power_in(&vs, &f->vk[0]), 310);
  assert_int_equal(vs.total_power, 330);
  assert_int_equal(rec_of(f, 0).power, 310);
  /* The history answers for every height. */
  uint64_t epoch = 0;
  assert_int_equal(cairn_staking_valset_at(f->v, 6, &vs, &epoch), CAIRN_OK);
  assert_int_equal(epoch, 1);
  assert_int_equal(power_in(&vs, &f->vk[0]), 10);
  assert_int_equal(cairn_staking_valset_at(f->v, 7, &vs, &epoch), CAIRN_OK);
  assert_int_equal(epoch, 7);
  assert_int_equal(cairn_staking_valset_at(f->v, 1000, &vs, &epoch), CAIRN_OK);
  assert_int_equal(epoch, 7);
  fx_close(f);
}

/* A bond and an unbond of the same validator in one block: the last
 * scheduled value wins, and a block whose changes leave every power as it
 * was is no new epoch. */
static void test_same_block_changes(void **state) {
  (void)state;
  fx *f = fx_open(2, NULL, 2);
  cairn_tx tx;
  cairn_valset vs;
  f->ctx.height = 3;
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[1], f->vk[1].pk, 50);
  expect_ok(f, &tx);
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[1], f->vk[1].pk, 50);
  expect_ok(f, &tx);
  assert_int_equal(rec_of(f, 1).bonded, 10);
  blocks_until(f, 6);
  assert_int_equal(set_epoch(f, &vs), 1);
  assert_int_equal(power_in(&vs, &f->vk[1]), 10);
  fx_close(f);
}

static void test_unbond(void **state) {
  (void)state;
  fx *f = fx_open(2, NULL, 2);
  cairn_tx tx;
  cairn_valset vs;
  f->ctx.height = 4;
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[0], f->vk[0].pk, 11);
  expect_err(f, &tx, CAIRN_ERR_UNBOND_EXCEEDS);
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[1], f->vk[0].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_NOT_OPERATOR);
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[0], f->vk[9].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_UNKNOWN);
  /* Power stays until the announced height even for a full unbond. */
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[0], f->vk[0].pk, 4);
  expect_ok(f, &tx);
  assert_int_equal(rec_of(f, 0).bonded, 6);
  assert_int_equal(totals_of(f).unbonding, 4);
  check_totals(f);
  /* Validator 0 leaves entirely; validator 1 may then not. */
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[0], f->vk[0].pk, 6);
  expect_ok(f, &tx);
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[1], f->vk[1].pk, 10);
  expect_err(f, &tx, CAIRN_ERR_LAST_VALIDATOR);
  /* A partial unbond of the last one is fine. */
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[1], f->vk[1].pk, 9);
  expect_ok(f, &tx);
  assert_int_equal(free_of(f, f->op[0].pk), SG_OP_STAKE);
  /* The set shrinks at 4 + delay = 6. */
  blocks_until(f, 5);
  assert_int_equal(set_epoch(f, &vs), 1);
  assert_int_equal(vs.n, 2);
  next_block(f);
  assert_int_equal(set_epoch(f, &vs), 6);
  assert_int_equal(vs.n, 1);
  assert_int_equal(power_in(&vs, &f->vk[1]), 1);
  /* The unbonded stake is free from 4 + unbonding = 9, not before. */
  blocks_until(f, 8);
  assert_int_equal(free_of(f, f->op[0].pk), SG_OP_STAKE);
  assert_int_equal(free_of(f, f->op[1].pk), SG_OP_STAKE);
  next_block(f);
  assert_int_equal(free_of(f, f->op[0].pk), SG_OP_STAKE + 10);
  assert_int_equal(free_of(f, f->op[1].pk), SG_OP_STAKE + 9);
  assert_int_equal(totals_of(f).unbonding, 0);
  check_totals(f);
  /* Validator 0 has nothing bonded: it may come back with a BOND. */
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[0], f->vk[0].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_UNBOND_EXCEEDS);
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[0], f->vk[0].pk, 20);
  expect_ok(f, &tx);
  blocks_until(f, 11);
  assert_int_equal(set_epoch(f, &vs), 11);
  assert_int_equal(power_in(&vs, &f->vk[0]), 20);
  fx_close(f);
}

static void test_admit_rejections(void **state) {
  (void)state;
  fx *f = fx_open(2, NULL, 2);
  cairn_tx tx;
  uint8_t id[32], unknown[32];
  const tu_vkey *nv = &f->vk[4];
  f->ctx.height = 3;
  tx_admit(&tx, &f->seq, &f->nc, f->vk[0].pk, 100, 10, "dup");
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_EXISTS);
  tx_admit(&tx, &f->seq, &f->nc, nv->pk, 100, 2, "late");
  expect_err(f, &tx, CAIRN_ERR_PROPOSAL_CLOSED);
  tx_admit(&tx, &f->seq, &f->nc, nv->pk, SG_NEWCOMER_STAKE + 1, 10, "rich");
  expect_err(f, &tx, CAIRN_ERR_STAKE_INSUFFICIENT);
  /* A deadline of this very height is still open. */
  tx_admit(&tx, &f->seq, &f->nc, nv->pk, 100, 3, "now");
  txid_of(id, &tx);
  expect_ok(f, &tx);
  /* The same key cannot be proposed twice while open. */
  tx_admit(&tx, &f->seq, &f->m, nv->pk, 1, 10, "again");
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_EXISTS);
  memset(unknown, 0x42, 32);
  tx_approve(&tx, &f->seq, &f->op[0], unknown);
  expect_err(f, &tx, CAIRN_ERR_PROPOSAL_UNKNOWN);
  tx_approve(&tx, &f->seq, &f->stranger, id);
  expect_err(f, &tx, CAIRN_ERR_NOT_OPERATOR);
  tx_approve(&tx, &f->seq, &f->m, id); /* has stake, operates nothing */
  expect_err(f, &tx, CAIRN_ERR_NOT_OPERATOR);
  fx_close(f);
}

static void test_admit_and_approve(void **state) {
  (void)state;
  /* Powers 10, 10, 10, 30 (total 60): more than 2/3 is 41 or more. */
  static const uint64_t powers[4] = {10, 10, 10, 30};
  fx *f = fx_open(4, powers, 4);
  cairn_tx tx;
  cairn_admission a;
  uint8_t id[32];
  const tu_vkey *nv = &f->vk[4];
  f->ctx.height = 3;
  tx_admit(&tx, &f->seq, &f->nc, nv->pk, 600, 10, "books-2");
  txid_of(id, &tx);
  expect_ok(f, &tx);
  assert_int_equal(free_of(f, f->nc.pk), SG_NEWCOMER_STAKE - 600);
  assert_int_equal(totals_of(f).locked, 600);
  check_totals(f);
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.status, CAIRN_PROPOSAL_OPEN);
  assert_memory_equal(a.operator_key, f->nc.pk, 32);
  assert_string_equal(a.name, "books-2");
  /* 10 + 10 + 10 = 30 of 60: not enough. */
  for (int i = 0; i < 3; i++) {
    tx_approve(&tx, &f->seq, &f->op[i], id);
    expect_ok(f, &tx);
  }
  tx_approve(&tx, &f->seq, &f->op[1], id);
  expect_err(f, &tx, CAIRN_ERR_ALREADY_APPROVED);
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.status, CAIRN_PROPOSAL_OPEN);
  assert_int_equal(a.approved_power, 30);
  assert_int_equal(a.n_approvals, 3);
  /* The big one: 60 of 60, admitted at height 4. */
  next_block(f);
  tx_approve(&tx, &f->seq, &f->op[3], id);
  expect_ok(f, &tx);
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.status, CAIRN_PROPOSAL_ADMITTED);
  assert_int_equal(a.decided_height, 4);
  assert_int_equal(a.approved_power, 60);
  cairn_validator_record r;
  assert_int_equal(cairn_staking_validator(f->v, nv->pk, &r), CAIRN_OK);
  assert_int_equal(r.bonded, 600);
  assert_int_equal(r.power, 0);
  assert_memory_equal(r.operator_key, f->nc.pk, 32);
  assert_string_equal(r.name, "books-2");
  assert_int_equal(totals_of(f).locked, 0);
  check_totals(f);
  tx_approve(&tx, &f->seq, &f->op[0], id);
  expect_err(f, &tx, CAIRN_ERR_PROPOSAL_CLOSED);
  tx_admit(&tx, &f->seq, &f->m, nv->pk, 1, 10, "again");
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_EXISTS);
  /* In force from 4 + delay = 6. */
  cairn_valset vs;
  blocks_until(f, 5);
  assert_int_equal(set_epoch(f, &vs), 1);
  assert_int_equal(power_in(&vs, nv), 0);
  next_block(f);
  assert_int_equal(set_epoch(f, &vs), 6);
  assert_int_equal(vs.n, 5);
  assert_int_equal(power_in(&vs, nv), 600);
  /* Its operator can now bond and approve like any other. */
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->nc, nv->pk, 5);
  expect_ok(f, &tx);
  fx_close(f);
}

/* Powers change between approvals: the tally is recomputed from the power
 * in force, and an operator of several validators approves for all of its
 * validators in force at once. */
static void test_approve_recomputes(void **state) {
  (void)state;
  static const uint64_t powers[3] = {10, 10, 10};
  fx *f = fx_open(3, powers, 3);
  cairn_tx tx;
  cairn_admission a;
  uint8_t id[32];
  f->ctx.height = 2;
  tx_admit(&tx, &f->seq, &f->nc, f->vk[5].pk, 50, 100, "five");
  txid_of(id, &tx);
  expect_ok(f, &tx);
  tx_approve(&tx, &f->seq, &f->op[0], id);
  expect_ok(f, &tx); /* 10 of 30 */
  /* Validator 0's power grows to 40 in force (total 60): the approval it
   * already gave is now worth 40, more than 2/3 of 60 only with another. */
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[0], f->vk[0].pk, 30);
  expect_ok(f, &tx);
  blocks_until(f, 4);
  tx_approve(&tx, &f->seq, &f->op[1], id);
  expect_ok(f, &tx); /* 40 + 10 = 50 of 60: 150 > 120, admitted */
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.approved_power, 50);
  assert_int_equal(a.status, CAIRN_PROPOSAL_ADMITTED);
  fx_close(f);
}

static void test_multi_validator_operator(void **state) {
  (void)state;
  fx *f = fx_open(3, NULL, 3);
  cairn_tx tx;
  cairn_admission a;
  uint8_t id[32];
  /* Admit validator 5 operated by operator 0, which already operates 0. */
  f->ctx.height = 2;
  tx_admit(&tx, &f->seq, &f->op[0], f->vk[5].pk, 10, 50, "second");
  txid_of(id, &tx);
  expect_ok(f, &tx);
  for (int i = 0; i < 3; i++) {
    tx_approve(&tx, &f->seq, &f->op[i], id);
    expect_ok(f, &tx);
  }
  blocks_until(f, 5); /* validator 5 in force from 2 + 2 = 4 */
  cairn_valset vs;
  assert_int_equal(set_epoch(f, &vs), 4);
  assert_int_equal(vs.n, 4);
  /* A new proposal: operator 0 approves once for both of its validators
   * (10 + 10 = 20 of 40), then has nothing left to approve with. */
  tx_admit(&tx, &f->seq, &f->nc, f->vk[6].pk, 10, 50, "third");
  txid_of(id, &tx);
  expect_ok(f, &tx);
  tx_approve(&tx, &f->seq, &f->op[0], id);
  expect_ok(f, &tx);
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.n_approvals, 2);
  assert_int_equal(a.approved_power, 20);
  tx_approve(&tx, &f->seq, &f->op[0], id);
  expect_err(f, &tx, CAIRN_ERR_ALREADY_APPROVED);
  tx_approve(&tx, &f->seq, &f->op[1], id);
  expect_ok(f, &tx); /* 30 of 40: 90 > 80 */
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.status, CAIRN_PROPOSAL_ADMITTED);
  fx_close(f);
}

static void test_admission_expires(void **state) {
  (void)state;
  fx *f = fx_open(3, NULL, 3);
  cairn_tx tx;
  cairn_admission a;
  uint8_t id[32];
  f->ctx.height = 2;
  tx_admit(&tx, &f->seq, &f->nc, f->vk[5].pk, 700, 4, "slow");
  txid_of(id, &tx);
  expect_ok(f, &tx);
  tx_approve(&tx, &f->seq, &f->op[0], id);
  expect_ok(f, &tx);
  /* Approvals are taken up to the deadline itself. */
  blocks_until(f, 4);
  tx_approve(&tx, &f->seq, &f->op[1], id);
  expect_ok(f, &tx);
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.status, CAIRN_PROPOSAL_OPEN); /* 20 of 30 */
  assert_int_equal(free_of(f, f->nc.pk), SG_NEWCOMER_STAKE - 700);
  next_block(f); /* height 5: expired at its start */
  assert_int_equal(cairn_staking_admission(f->v, id, &a), CAIRN_OK);
  assert_int_equal(a.status, CAIRN_PROPOSAL_EXPIRED);
  assert_int_equal(a.decided_height, 5);
  assert_int_equal(free_of(f, f->nc.pk), SG_NEWCOMER_STAKE);
  assert_int_equal(totals_of(f).locked, 0);
  check_totals(f);
  tx_approve(&tx, &f->seq, &f->op[2], id);
  expect_err(f, &tx, CAIRN_ERR_PROPOSAL_CLOSED);
  /* The key may be proposed again. */
  tx_admit(&tx, &f->seq, &f->nc, f->vk[5].pk, 700, 9, "slow");
  expect_ok(f, &tx);
  fx_close(f);
}

/* 127 validators: one admission fits, a second does not (the open
 * proposal counts), nor does re-bonding a validator that left. */
static void test_valset_full(void **state) {
  (void)state;
  fx *f = fx_open(CAIRN_VALIDATORS_MAX - 1, NULL, 2);
  cairn_tx tx;
  f->ctx.height = 2;
  tx_admit(&tx, &f->seq, &f->nc, f->vk[130].pk, 10, 50, "one");
  expect_ok(f, &tx);
  tx_admit(&tx, &f->seq, &f->m, f->vk[131].pk, 10, 50, "two");
  expect_err(f, &tx, CAIRN_ERR_VALSET_FULL);
  /* Validator 0 leaves the set for good (nothing left to come)... */
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[0], f->vk[0].pk, 10);
  expect_ok(f, &tx);
  tx_admit(&tx, &f->seq, &f->m, f->vk[131].pk, 10, 50, "two");
  expect_err(f, &tx, CAIRN_ERR_VALSET_FULL); /* not before it has left */
  blocks_until(f, 5);
  cairn_valset vs;
  assert_int_equal(set_epoch(f, &vs), 4);
  assert_int_equal(vs.n, CAIRN_VALIDATORS_MAX - 2);
  /* ...which makes room for one. */
  tx_admit(&tx, &f->seq, &f->m, f->vk[131].pk, 10, 50, "two");
  expect_ok(f, &tx);
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[0], f->vk[0].pk, 10);
  expect_err(f, &tx, CAIRN_ERR_VALSET_FULL);
  fx_close(f);
}

static void test_evidence(void **state) {
  (void)state;
  static const uint64_t powers[3] = {1000, 1000, 1009};
  fx *f = fx_open(3, powers, 3);
  cairn_tx tx;
  cairn_evidence e;
  cairn_valset vs;
  blocks_until(f, 10);
  /* Evidence against validator 2 (bond 1009) from height 8. */
  make_evidence(&e, &f->vk[2], 8, 1);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_ok(f, &tx);
  cairn_validator_record r = rec_of(f, 2);
  assert_true(r.jailed);
  assert_int_equal(r.bonded, 1009 - 100); /* 10% of 1009, rounded down */
  assert_int_equal(r.power, 1009);        /* until 10 + delay */
  assert_int_equal(totals_of(f).slashed, 100);
  check_totals(f);
  /* The same offence again, and any other, is refused: already jailed. */
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_JAILED);
  make_evidence(&e, &f->vk[2], 9, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_JAILED);
  /* A jailed validator cannot bond or approve; it may still unbond. */
  tx_bond(&tx, &f->seq, CAIRN_TX_BOND, &f->op[2], f->vk[2].pk, 1);
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_JAILED);
  /* The set shrinks at 10 + delay = 12. */
  next_block(f);
  assert_int_equal(set_epoch(f, &vs), 1);
  assert_int_equal(vs.n, 3);
  next_block(f);
  assert_int_equal(set_epoch(f, &vs), 12);
  assert_int_equal(vs.n, 2);
  assert_int_equal(power_in(&vs, &f->vk[2]), 0);
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[2], f->vk[2].pk, 909);
  expect_ok(f, &tx);
  assert_int_equal(rec_of(f, 2).bonded, 0);
  check_totals(f);
  fx_close(f);
}

static void test_evidence_rejections(void **state) {
  (void)state;
  fx *f = fx_open(2, NULL, 2);
  cairn_tx tx;
  cairn_evidence e;
  f->ctx.height = 30;
  /* Stale: too old (30 - 9 > 20), from this height, from the future. */
  make_evidence(&e, &f->vk[0], 9, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_EVIDENCE_STALE);
  make_evidence(&e, &f->vk[0], 30, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_EVIDENCE_STALE);
  make_evidence(&e, &f->vk[0], 31, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_EVIDENCE_STALE);
  /* No record: a key that never was a validator. */
  make_evidence(&e, &f->vk[5], 20, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_VALIDATOR_UNKNOWN);
  /* A forged signature. */
  make_evidence(&e, &f->vk[0], 20, 0);
  e.b.sig[3] ^= 1;
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_BAD_SIG);
  /* Votes of two validators do not conflict. */
  make_evidence(&e, &f->vk[0], 20, 0);
  cairn_evidence other;
  make_evidence(&other, &f->vk[1], 20, 0);
  e.b = other.b;
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_EVIDENCE_VALIDATORS);
  /* Exactly 20 back is still admissible. */
  make_evidence(&e, &f->vk[0], 10, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_ok(f, &tx);
  /* Validator 1 is now the last one with stake to come: refused. */
  make_evidence(&e, &f->vk[1], 10, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_LAST_VALIDATOR);
  fx_close(f);
}

/* A validator admitted later was not in the set at an earlier height:
 * votes it signed then prove nothing (NOT_VALIDATOR). */
static void test_evidence_before_membership(void **state) {
  (void)state;
  fx *f = fx_open(2, NULL, 2);
  cairn_tx tx;
  cairn_evidence e;
  uint8_t id[32];
  f->ctx.height = 2;
  tx_admit(&tx, &f->seq, &f->nc, f->vk[5].pk, 10, 50, "late");
  txid_of(id, &tx);
  expect_ok(f, &tx);
  for (int i = 0; i < 2; i++) {
    tx_approve(&tx, &f->seq, &f->op[i], id);
    expect_ok(f, &tx);
  }
  blocks_until(f, 8); /* in force from 4 */
  make_evidence(&e, &f->vk[5], 3, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_err(f, &tx, CAIRN_ERR_NOT_VALIDATOR);
  make_evidence(&e, &f->vk[5], 4, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_ok(f, &tx);
  fx_close(f);
}

static void test_slash_rounding(void **state) {
  (void)state;
  /* A bond near 2^60 (no 128-bit product is needed) and tiny ones. */
  static const uint64_t powers[3] = {(1ull << 59) + 99, 99, 1};
  fx *f = fx_open(3, powers, 3);
  cairn_tx tx;
  cairn_evidence e;
  blocks_until(f, 3);
  for (uint32_t i = 0; i < 3; i++) {
    uint32_t who = i == 0 ? 1 : (i == 1 ? 2 : 0);
    make_evidence(&e, &f->vk[who], 2, 0);
    tx_evidence(&tx, &f->seq, &f->m, &e);
    if (i == 2) {
      expect_err(f, &tx, CAIRN_ERR_LAST_VALIDATOR);
      break;
    }
    expect_ok(f, &tx);
  }
  assert_int_equal(rec_of(f, 1).bonded, 99 - 9);
  assert_int_equal(rec_of(f, 2).bonded, 1); /* 10% of 1 is 0 */
  fx_close(f);
  /* 37% of a bond near 2^60: the product would not fit 64 bits. */
  static const uint64_t big[2] = {(1ull << 60) - 10000, 1000};
  f = fx_open_slash(2, big, 2, 37);
  blocks_until(f, 3);
  make_evidence(&e, &f->vk[0], 2, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_ok(f, &tx);
  uint64_t b = big[0], q = b / 100, rem = b % 100;
  uint64_t slashed = q * 37 + rem * 37 / 100; /* floor(b * 37 / 100) */
  assert_true(slashed > b / 3 && slashed < b / 2);
  assert_int_equal(rec_of(f, 0).bonded, b - slashed);
  assert_int_equal(totals_of(f).slashed, slashed);
  check_totals(f);
  fx_close(f);
}

/* A validator that unbonded everything and is then jailed: two pending
 * changes to 0; it stays on the live list until the last one. */
static void test_unbond_then_jail(void **state) {
  (void)state;
  fx *f = fx_open(3, NULL, 3);
  cairn_tx tx;
  cairn_evidence e;
  cairn_valset vs;
  blocks_until(f, 4);
  tx_bond(&tx, &f->seq, CAIRN_TX_UNBOND, &f->op[1], f->vk[1].pk, 10);
  expect_ok(f, &tx); /* power 0 from 6 */
  next_block(f);
  make_evidence(&e, &f->vk[1], 3, 0);
  tx_evidence(&tx, &f->seq, &f->m, &e);
  expect_ok(f, &tx); /* nothing to slash; 0 again from 7 */
  assert_true(rec_of(f, 1).jailed);
  blocks_until(f, 8);
  assert_int_equal(set_epoch(f, &vs), 6);
  assert_int_equal(vs.n, 2);
  /* Its room is free again: 2 live + 1 admission fit anywhere. */
  cairn_stake_totals t = totals_of(f);
  assert_int_equal(t.slashed, 0);
  check_totals(f);
  fx_close(f);
}

/* ---- chain-level fixture ---- */

#define CX_CANDIDATES 16

typedef struct cx {
  char dir[64];
  cairn_genesis *g;
  cairn_store *s;
  cairn_chain *c;
  seqs seq;
  tu_vkey vk[SG_KEYS_MAX];
  tu_key op[8], m, nc;
} cx;

static void cx_open_store(cx *x) {
  tu_tmpdir(x->dir, sizeof x->dir);
  x->s = tu_store_open(x->dir);
  assert_int_equal(cairn_chain_open(&x->c, x->s, x->g), CAIRN_OK);
}

static cx *cx_open(uint32_t n, const uint64_t *powers) {
  cx *x = calloc(1, sizeof *x);
  assert_non_null(x);
  x->g = sg_genesis(n, powers, n < 8 ? n : 8);
  for (uint32_t i = 0; i < SG_KEYS_MAX; i++) tu_validator(&x->vk[i], i);
  for (uint32_t i = 0; i < 8; i++) op_key(&x->op[i], i);
  tu_member(&x->m, 0);
  newcomer_key(&x->nc);
  cx_open_store(x);
  return x;
}

/* A second chain (replica) on its own store from the same genesis. */
static cx *cx_replica(const cx *from) {
  cx *x = calloc(1, sizeof *x);
  assert_non_null(x);
  x->g = malloc(sizeof *x->g);
  assert_non_null(x->g);
  *x->g = *from->g;
  memcpy(x->vk, from->vk, sizeof x->vk);
  cx_open_store(x);
  return x;
}

static void cx_close(cx *x) {
  cairn_chain_close(x->c);
  cairn_store_close(x->s);
  tu_rmtree(x->dir);
  free(x->g);
  free(x);
}

static const tu_vkey *cx_vkey(const cx *x, const uint8_t pk[32]) {
  for (uint32_t i = 0; i < SG_KEYS_MAX; i++)
    if (memcmp(x->vk[i].pk, pk, 32) == 0) return &x->vk[i];
  fail_msg("no key for a validator of the set");
  return NULL;
}

/* A commit of (height, round, hash) by every validator of vs. */
static void cx_commit(cairn_commit *cm, const cx *x, const cairn_valset *vs,
                      uint64_t height, uint32_t round, const uint8_t hash[32]) {
  memset(cm, 0, sizeof *cm);
  cm->height = height;
  cm->round = round;
  memcpy(cm->block_hash, hash, 32);
  for (uint32_t i = 0; i < vs->n; i++) {
    cairn_vote v;
    memset(&v, 0, sizeof v);
    v.type = CAIRN_VOTE_PRECOMMIT;
    v.height = height;
    v.round = round;
    memcpy(v.block_hash, hash, 32);
    tu_check("vote", cairn_vote_sign(&v, (const uint8_t *)TU_CHAIN_ID,
                                     strlen(TU_CHAIN_ID),
                                     cx_vkey(x, vs->v[i].pubkey)->sk));
    tu_check("commit", cairn_commit_add(cm, v.validator, v.sig));
  }
}

typedef struct cx_batch {
  size_t n;
  uint8_t raw[CX_CANDIDATES][CAIRN_TX_BYTES_MAX];
  cairn_slice sl[CX_CANDIDATES];
} cx_batch;

static void cx_batch_add(cx_batch *b, const cairn_tx *tx) {
  assert_true(b->n < CX_CANDIDATES);
  b->sl[b->n].len = tu_tx_bytes(b->raw[b->n], CAIRN_TX_BYTES_MAX, tx);
  b->sl[b->n].p = b->raw[b->n];
  b->n++;
}

/* Add tx to the batch; its sender's next sequence moves on. */
static void cx_add(cx *x, cx_batch *b, const cairn_tx *tx) {
  cx_batch_add(b, tx);
  (*seq_slot(&x->seq, tx->sender))++;
}

static void cx_count_reject(void *ctx, size_t index, cairn_err err) {
  (void)index;
  (void)err;
  (*(size_t *)ctx)++;
}

/* Propose the batch as the round-0 proposer; every candidate must go in. */
/* A block built by the proposer of `round`. */
static cairn_proposal *cx_propose_round(cx *x, const cx_batch *b,
                                        uint32_t round) {
  cairn_proposal *p = NULL;
  cairn_tip t;
  uint8_t proposer[32];
  size_t rejected = 0;
  cairn_chain_tip(x->c, &t);
  cairn_chain_proposer(x->c, round, proposer);
  assert_int_equal(cairn_chain_propose(x->c, b ? b->sl : NULL, b ? b->n : 0,
                                       t.time_ms + 1000, proposer,
                                       cx_count_reject, &rejected, &p),
                   CAIRN_OK);
  assert_int_equal(rejected, 0);
  return p;
}

static cairn_proposal *cx_propose(cx *x, const cx_batch *b) {
  return cx_propose_round(x, b, 0);
}

/* Propose and commit one block, signed by the whole set in force. */
static void cx_block(cx *x, const cx_batch *b) {
  cairn_proposal *p = cx_propose(x, b);
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  cx_commit(cm, x, cairn_chain_valset(x->c), p->header.height, 0, p->hash);
  assert_int_equal(cairn_chain_commit_proposal(x->c, p, cm), CAIRN_OK);
  free(cm);
  cairn_proposal_free(p);
}

static void cx_empty_blocks_until(cx *x, uint64_t tip) {
  cairn_tip t;
  for (cairn_chain_tip(x->c, &t); t.height < tip; cairn_chain_tip(x->c, &t))
    cx_block(x, NULL);
}

/* Copy block h of `from` (with its commit) into `to` with apply_block. */
static void cx_copy_block(cx *to, cx *from, uint64_t h) {
  cairn_rtxn *r = NULL;
  const uint8_t *b, *c;
  size_t blen, clen;
  char why[512] = "";
  assert_int_equal(cairn_store_read_begin(from->s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_block(r, h, &b, &blen, &c, &clen), CAIRN_OK);
  uint8_t *bc = malloc(blen), *cc = malloc(clen);
  assert_true(bc != NULL && cc != NULL);
  memcpy(bc, b, blen);
  memcpy(cc, c, clen);
  cairn_store_read_end(r);
  cairn_err err =
      cairn_chain_apply_block(to->c, bc, blen, cc, clen, why, sizeof why);
  if (err != CAIRN_OK)
    fail_msg("apply %llu: %s (%s)", (unsigned long long)h, cairn_errname(err),
             why);
  free(bc);
  free(cc);
}

static void cx_check_conservation(cx *x) {
  cairn_rtxn *r = NULL;
  char why[256];
  assert_int_equal(cairn_store_read_begin(x->s, &r), CAIRN_OK);
  cairn_err err = cairn_staking_check_conservation(r, why, sizeof why);
  cairn_store_read_end(r);
  if (err != CAIRN_OK) fail_msg("conservation: %s", why);
}

/* The chain's proposer equals the reference computation from the epoch. */
static void cx_check_proposers(cx *x, uint32_t rounds) {
  cairn_tip t;
  cairn_chain_tip(x->c, &t);
  uint64_t epoch = cairn_chain_epoch(x->c);
  assert_true(epoch >= 1 && epoch <= t.height + 1);
  for (uint32_t r = 0; r < rounds; r++) {
    uint8_t got[32], want[32];
    cairn_chain_proposer(x->c, r, got);
    assert_int_equal(cairn_proposer_for(want, cairn_chain_valset(x->c),
                                        t.height + 1 - epoch + 1, r),
                     CAIRN_OK);
    if (memcmp(got, want, 32) != 0)
      fail_msg("tip %llu epoch %llu round %u: proposer differs",
               (unsigned long long)t.height, (unsigned long long)epoch, r);
  }
}

/* ---- chain-level tests ---- */

/* A bond included at height 1 changes the header's validators_hash at
 * 1 + delay = 3, the epoch becomes 3 and the rotation restarts there; a
 * replica applying the same blocks agrees on everything. */
static void test_chain_set_change(void **state) {
  (void)state;
  static const uint64_t powers[4] = {10, 20, 30, 40};
  cx *x = cx_open(4, powers);
  cx_batch b = {0};
  cairn_tx tx;
  uint8_t h_genesis[32], h_new[32];
  cairn_valset_hash(h_genesis, cairn_chain_valset(x->c));
  tx_bond(&tx, &x->seq, CAIRN_TX_BOND, &x->op[0], x->vk[0].pk, 50);
  cx_add(x, &b, &tx);
  cx_block(x, &b); /* height 1 */
  assert_int_equal(cairn_chain_epoch(x->c), 1);
  cx_check_proposers(x, 12);
  cx_block(x, NULL); /* height 2: its end applies the change due at 3 */
  assert_int_equal(cairn_chain_epoch(x->c), 3);
  const cairn_valset *vs = cairn_chain_valset(x->c);
  assert_int_equal(vs->total_power, 150);
  assert_int_equal(power_in(vs, &x->vk[0]), 60);
  cairn_valset_hash(h_new, vs);
  cx_check_proposers(x, 200); /* beyond the period 150: the reduction */
  /* The proposer of (3, 0) is the new set's first. */
  uint8_t got[32], want[32];
  cairn_chain_proposer(x->c, 0, got);
  assert_int_equal(cairn_proposer_for(want, vs, 1, 0), CAIRN_OK);
  assert_memory_equal(got, want, 32);
  cairn_proposal *p = cx_propose(x, NULL);
  assert_memory_equal(p->header.validators_hash, h_new, 32);
  assert_memory_equal(p->header.proposer, want, 32);
  cairn_proposal_free(p);
  cx_block(x, NULL); /* height 3 */
  cx_block(x, NULL); /* height 4 */
  cx_check_proposers(x, 20);
  /* Every block's header and the recorded history agree. */
  cairn_valset at;
  for (uint64_t h = 1; h <= 5; h++) {
    assert_int_equal(cairn_chain_valset_at(x->c, h, &at), CAIRN_OK);
    uint8_t hh[32];
    cairn_valset_hash(hh, &at);
    assert_memory_equal(hh, h < 3 ? h_genesis : h_new, 32);
  }
  assert_int_equal(cairn_chain_valset_at(x->c, 0, &at), CAIRN_ERR_RANGE);
  assert_int_equal(cairn_chain_valset_at(x->c, 6, &at), CAIRN_ERR_RANGE);
  /* A replica that applies the blocks reaches the same state. */
  cx *r = cx_replica(x);
  for (uint64_t h = 1; h <= 4; h++) {
    cx_copy_block(r, x, h);
    cairn_tip a, c;
    cairn_chain_tip(r->c, &a);
    cairn_chain_tip(x->c, &c);
    if (h == 4) assert_memory_equal(&a, &c, sizeof a);
  }
  assert_int_equal(cairn_chain_epoch(r->c), 3);
  cx_check_proposers(r, 20);
  /* Reopening computes the rotation from the epoch again. */
  cairn_chain_close(x->c);
  assert_int_equal(cairn_chain_open(&x->c, x->s, NULL), CAIRN_OK);
  assert_int_equal(cairn_chain_epoch(x->c), 3);
  cx_check_proposers(x, 20);
  cx_close(r);
  cx_close(x);
}

/* Small total power: the chain's cached rotation, reduced modulo the
 * period, matches the reference for many rounds at every height. */
static void test_chain_proposer_rotation(void **state) {
  (void)state;
  static const uint64_t powers[3] = {1, 2, 3};
  cx *x = cx_open(3, powers);
  for (int h = 0; h < 9; h++) {
    cx_check_proposers(x, 25);
    cx_block(x, NULL);
  }
  cairn_chain_close(x->c);
  assert_int_equal(cairn_chain_open(&x->c, x->s, NULL), CAIRN_OK);
  cx_check_proposers(x, 25);
  cx_close(x);
}

/* check_proposal: a good block is accepted and committed later with no
 * re-execution; a wrong proposer, root or transaction is refused with its
 * error and nothing is written. */
static void test_check_proposal(void **state) {
  (void)state;
  static const uint64_t powers[3] = {10, 10, 10};
  cx *x = cx_open(3, powers);
  cx *r = cx_replica(x);
  cx_batch b = {0};
  cairn_tx tx;
  char why[512];
  tx_stake_transfer(&tx, &x->seq, &x->m, x->nc.pk, 5);
  cx_add(x, &b, &tx);
  cairn_proposal *p = cx_propose(x, &b);
  /* The same transactions, built by the proposer of round 1. */
  cairn_proposal *p1 = cx_propose_round(x, &b, 1);
  cairn_proposal *q = NULL;
  cairn_tip before, after;
  cairn_chain_tip(r->c, &before);
  /* Round 1's proposer did not propose in round 0: refused there. */
  assert_int_equal(cairn_chain_check_proposal(r->c, p1->block, p1->block_len,
                                              0, &q, why, sizeof why),
                   CAIRN_ERR_BAD_PROPOSER);
  assert_null(q);
  /* Round 0's block may be re-proposed in round 1 (Algorithm 1 line 14),
   * and round 1's own block is fine in round 1. */
  assert_int_equal(cairn_chain_check_proposal(r->c, p->block, p->block_len, 1,
                                              &q, why, sizeof why),
                   CAIRN_OK);
  cairn_proposal_free(q);
  q = NULL;
  assert_int_equal(cairn_chain_check_proposal(r->c, p1->block, p1->block_len,
                                              1, &q, why, sizeof why),
                   CAIRN_OK);
  cairn_proposal_free(q);
  q = NULL;
  assert_int_equal(cairn_chain_check_proposal(r->c, p1->block, p1->block_len,
                                              0, &q, why, sizeof why),
                   CAIRN_ERR_BAD_PROPOSER);
  char got[65], want[65];
  uint8_t other[32];
  cairn_chain_proposer(r->c, 0, other);
  cairn_hex_encode(got, sizeof got, p1->header.proposer, 32);
  cairn_hex_encode(want, sizeof want, other, 32);
  assert_non_null(strstr(why, got));
  assert_non_null(strstr(why, want));
  /* A broken root. */
  uint8_t *bad = malloc(p->block_len);
  assert_non_null(bad);
  memcpy(bad, p->block, p->block_len);
  size_t root_at = 1 + 1 + strlen(TU_CHAIN_ID) + 8 + 8 + 32;
  bad[root_at] ^= 1;
  assert_int_equal(cairn_chain_check_proposal(r->c, bad, p->block_len, 0, &q,
                                              why, sizeof why),
                   CAIRN_ERR_BAD_TX_ROOT);
  assert_null(q);
  free(bad);
  cairn_chain_tip(r->c, &after);
  assert_memory_equal(&before, &after, sizeof before);
  /* The good one. */
  assert_int_equal(cairn_chain_check_proposal(r->c, p->block, p->block_len, 0,
                                              &q, why, sizeof why),
                   CAIRN_OK);
  assert_non_null(q);
  assert_memory_equal(q->hash, p->hash, 32);
  assert_memory_equal(q->app_hash, p->app_hash, 32);
  assert_int_equal(q->block_len, p->block_len);
  assert_memory_equal(q->block, p->block, p->block_len);
  assert_int_equal(q->header.tx_count, 1);
  assert_memory_equal(q->txids[0], p->txids[0], 32);
  cairn_chain_tip(r->c, &after);
  assert_memory_equal(&before, &after, sizeof before); /* nothing written */
  /* A block of round 1's proposer committed in round 0 is refused, but
   * only after its signatures; round 0's block decided in round 1 (a
   * re-proposal) is fine. */
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  const cairn_valset *vs = cairn_chain_valset(r->c);
  cairn_proposal *q1 = NULL;
  assert_int_equal(cairn_chain_check_proposal(r->c, p1->block, p1->block_len,
                                              1, &q1, why, sizeof why),
                   CAIRN_OK);
  cx_commit(cm, r, vs, 1, 0, q1->hash);
  assert_int_equal(cairn_chain_commit_proposal(r->c, q1, cm),
                   CAIRN_ERR_BAD_PROPOSER);
  cm->sigs[0].sig[0] ^= 1;
  assert_int_equal(cairn_chain_commit_proposal(r->c, q1, cm),
                   CAIRN_ERR_BAD_COMMIT);
  cairn_proposal_free(q1);
  cairn_proposal_free(p1);
  cx_commit(cm, r, vs, 1, 1, q->hash);
  assert_int_equal(cairn_chain_commit_proposal(r->c, q, cm), CAIRN_OK);
  assert_int_equal(cairn_chain_commit_proposal(x->c, p, cm), CAIRN_OK);
  cairn_chain_tip(r->c, &after);
  cairn_tip xt;
  cairn_chain_tip(x->c, &xt);
  assert_memory_equal(&after, &xt, sizeof xt);
  free(cm);
  cairn_proposal_free(q);
  cairn_proposal_free(p);
  cx_close(r);
  cx_close(x);
}

/* A block with a transaction that breaks a rule is refused by
 * check_proposal; apply_block refuses a commit whose round names another
 * proposer than the header's. Nothing is written. */
static void test_check_proposal_bad_tx(void **state) {
  (void)state;
  static const uint64_t powers[3] = {10, 10, 10};
  cx *x = cx_open(3, powers);
  cx *r = cx_replica(x);
  cairn_tx tx;
  cairn_proposal *q = NULL;
  cairn_tip before, after;
  char why[512];
  cx_batch b2 = {0};
  tu_key poor;
  tu_member(&poor, 77);
  tx_stake_transfer(&tx, &x->seq, &poor, x->m.pk, 5);
  cx_batch_add(&b2, &tx);
  cairn_proposal *p = cx_propose(x, NULL); /* empty; the tx goes in below */
  cairn_block_header h = p->header;
  uint8_t id[32];
  cairn_tx_id_bytes(id, b2.sl[0].p, b2.sl[0].len);
  h.tx_count = 1;
  assert_int_equal(cairn_merkle_root(h.tx_root, (const uint8_t(*)[32])id, 1),
                   CAIRN_OK);
  uint8_t *blk = malloc(4096);
  size_t blen = 0;
  assert_non_null(blk);
  assert_int_equal(cairn_block_encode(blk, 4096, &blen, &h, b2.sl), CAIRN_OK);
  cairn_chain_tip(r->c, &before);
  assert_int_equal(
      cairn_chain_check_proposal(r->c, blk, blen, 0, &q, why, sizeof why),
      CAIRN_ERR_BAD_BLOCK_TX);
  assert_non_null(strstr(why, "stake_insufficient"));
  assert_null(q);
  cairn_chain_tip(r->c, &after);
  assert_memory_equal(&before, &after, sizeof before);
  /* An empty block of round 1's proposer with a commit of round 0: the
   * wrong proposer. */
  uint8_t hash[32], cbuf[CAIRN_COMMIT_BYTES_MAX];
  size_t clen = 0;
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  cairn_proposal *p1 = cx_propose_round(x, NULL, 1);
  cx_commit(cm, x, cairn_chain_valset(x->c), 1, 0, p1->hash);
  assert_int_equal(cairn_commit_encode(cbuf, sizeof cbuf, &clen, cm), CAIRN_OK);
  assert_int_equal(cairn_chain_apply_block(r->c, p1->block, p1->block_len,
                                           cbuf, clen, why, sizeof why),
                   CAIRN_ERR_BAD_PROPOSER);
  assert_non_null(strstr(why, "round 0"));
  cairn_proposal_free(p1);
  assert_int_equal(cairn_block_hash(hash, &p->header), CAIRN_OK);
  cairn_chain_tip(r->c, &after);
  assert_memory_equal(&before, &after, sizeof before);
  cx_commit(cm, x, cairn_chain_valset(x->c), 1, 0, hash);
  assert_int_equal(cairn_commit_encode(cbuf, sizeof cbuf, &clen, cm), CAIRN_OK);
  assert_int_equal(cairn_chain_apply_block(r->c, p->block, p->block_len, cbuf,
                                           clen, why, sizeof why),
                   CAIRN_OK);
  free(blk);
  free(cm);
  cairn_proposal_free(p);
  cx_close(r);
  cx_close(x);
}

/* Evidence in a block: the offender is slashed and jailed at once and
 * leaves the set at the announced height; the chain goes on without its
 * signature. */
static void test_chain_evidence(void **state) {
  (void)state;
  static const uint64_t powers[4] = {10, 10, 10, 10};
  cx *x = cx_open(4, powers);
  cx_batch b = {0};
  cairn_tx tx;
  cairn_evidence e;
  cx_empty_blocks_until(x, 4);
  make_evidence(&e, &x->vk[2], 3, 0);
  tx_evidence(&tx, &x->seq, &x->m, &e);
  cx_add(x, &b, &tx);
  cx_block(x, &b); /* height 5: the change is due at 7 */
  assert_int_equal(cairn_chain_valset(x->c)->n, 4);
  cx_block(x, NULL); /* height 6 */
  assert_int_equal(cairn_chain_epoch(x->c), 7);
  assert_int_equal(cairn_chain_valset(x->c)->n, 3);
  assert_true(cairn_valset_find(cairn_chain_valset(x->c), x->vk[2].pk) < 0);
  cx_block(x, NULL); /* height 7, committed by the three */
  cx_check_conservation(x);
  cairn_stake_totals t;
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, x->s), CAIRN_OK);
  assert_int_equal(cairn_staking_totals(v, &t), CAIRN_OK);
  assert_int_equal(t.slashed, 1);
  cairn_view_close(v);
  cx_close(x);
}

/* ---- seeded random run ---- */

#define RND_BLOCKS 60
#define RND_TXS_MAX 5
#define RND_ACTORS 6 /* operators 0..3, the member, the newcomer */
#define RND_PROPOSALS_MAX 64

typedef struct rnd {
  uint64_t s;
  cx *x;
  tu_key *actor[RND_ACTORS];
  uint8_t proposal[RND_PROPOSALS_MAX][32];
  size_t n_proposals;
  uint32_t next_key; /* next validator key index to propose */
  size_t accepted, rejected;
} rnd;

static uint64_t rnd_next(rnd *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

static uint64_t rnd_below(rnd *r, uint64_t n) { return rnd_next(r) % n; }

static uint64_t test_seed(void) {
  const char *env = getenv("CAIRN_TEST_SEED");
  uint64_t seed = 0;
  if (env != NULL) return strtoull(env, NULL, 10);
  randombytes_buf(&seed, sizeof seed);
  return seed | 1; /* xorshift needs a non-zero state */
}

/* One random staking transaction from actor a (used once per block). */
static void rnd_tx(rnd *r, cairn_tx *tx, size_t a) {
  cx *x = r->x;
  tu_key *k = r->actor[a];
  cairn_tip t;
  cairn_chain_tip(x->c, &t);
  uint64_t amount = 1 + rnd_below(r, 400);
  uint32_t v = (uint32_t)rnd_below(r, 4); /* a genesis validator */
  switch (rnd_below(r, 8)) {
    case 0: {
      size_t to = rnd_below(r, RND_ACTORS);
      if (to == a) to = (to + 1) % RND_ACTORS;
      tx_stake_transfer(tx, &x->seq, k, r->actor[to]->pk, amount);
      return;
    }
    case 1:
      tx_bond(tx, &x->seq, CAIRN_TX_BOND, k, x->vk[a < 4 ? a : v].pk, amount);
      return;
    case 2:
      tx_bond(tx, &x->seq, CAIRN_TX_UNBOND, k, x->vk[a < 4 ? a : v].pk,
              1 + rnd_below(r, 30));
      return;
    case 3:
      if (r->n_proposals < RND_PROPOSALS_MAX && r->next_key < 40) {
        tx_admit(tx, &x->seq, k, x->vk[r->next_key].pk, amount,
                 t.height + 1 + rnd_below(r, 15), "rnd");
        tu_txid(r->proposal[r->n_proposals], tx);
        r->n_proposals++;
        r->next_key++;
        return;
      }
      /* fall through */
    case 4:
    case 7:
      if (r->n_proposals > 0) {
        /* Mostly the newest proposal, so that some pass. */
        size_t which = rnd_below(r, 4) != 0 ? r->n_proposals - 1
                                            : rnd_below(r, r->n_proposals);
        tx_approve(tx, &x->seq, k, r->proposal[which]);
        return;
      }
      /* fall through */
    case 5: {
      const cairn_valset *vs = cairn_chain_valset(x->c);
      cairn_evidence e;
      if (t.height >= 1 && rnd_below(r, 16) == 0) {
        make_evidence(&e, cx_vkey(x, vs->v[rnd_below(r, vs->n)].pubkey),
                      t.height, 0);
        tx_evidence(tx, &x->seq, k, &e);
        return;
      }
    }
    /* fall through */
    default:
      tx_stake_transfer(tx, &x->seq, k, r->actor[(a + 1) % RND_ACTORS]->pk,
                        amount);
      return;
  }
}

static void rnd_reject(void *ctx, size_t index, cairn_err err) {
  rnd *r = ctx;
  (void)index;
  assert_false(err == CAIRN_ERR_CORRUPT || err == CAIRN_ERR_STORE ||
               err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_INTERNAL);
  r->rejected++;
}

/* Sequences from the state: rejected candidates used none. */
static void rnd_sync_seqs(rnd *r) {
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, r->x->s), CAIRN_OK);
  for (size_t a = 0; a < RND_ACTORS; a++) {
    uint64_t last = 0;
    assert_int_equal(cairn_state_sequence(v, r->actor[a]->pk, &last), CAIRN_OK);
    *seq_slot(&r->x->seq, r->actor[a]->pk) = last + 1;
  }
  cairn_view_close(v);
}

static void rnd_block(rnd *r) {
  cx *x = r->x;
  cx_batch b = {0};
  cairn_tx tx;
  size_t n = rnd_below(r, RND_TXS_MAX + 1), first = rnd_below(r, RND_ACTORS);
  for (size_t i = 0; i < n; i++) {
    rnd_tx(r, &tx, (first + i) % RND_ACTORS);
    cx_batch_add(&b, &tx);
  }
  cairn_tip t;
  uint8_t proposer[32];
  cairn_proposal *p = NULL;
  cairn_chain_tip(x->c, &t);
  cairn_chain_proposer(x->c, 0, proposer);
  size_t rejected_before = r->rejected;
  assert_int_equal(cairn_chain_propose(x->c, b.sl, b.n, t.time_ms + 1000,
                                       proposer, rnd_reject, r, &p),
                   CAIRN_OK);
  r->accepted += b.n - (r->rejected - rejected_before);
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  cx_commit(cm, x, cairn_chain_valset(x->c), p->header.height, 0, p->hash);
  assert_int_equal(cairn_chain_commit_proposal(x->c, p, cm), CAIRN_OK);
  free(cm);
  cairn_proposal_free(p);
  rnd_sync_seqs(r);
}

static void test_random_conservation(void **state) {
  (void)state;
  uint64_t seed = test_seed();
  printf(
      "test_random_conservation seed=%llu (set CAIRN_TEST_SEED to "
      "replay)\n",
      (unsigned long long)seed);
  static const uint64_t powers[4] = {100, 200, 300, 400};
  rnd r;
  memset(&r, 0, sizeof r);
  r.s = seed;
  r.x = cx_open(4, powers);
  r.next_key = 10;
  for (size_t i = 0; i < 4; i++) r.actor[i] = &r.x->op[i];
  r.actor[4] = &r.x->m;
  r.actor[5] = &r.x->nc;
  uint64_t epochs = 0, last_epoch = 1;
  for (int h = 0; h < RND_BLOCKS; h++) {
    rnd_block(&r);
    cx_check_conservation(r.x);
    cx_check_proposers(r.x, 3);
    if (cairn_chain_epoch(r.x->c) != last_epoch) epochs++;
    last_epoch = cairn_chain_epoch(r.x->c);
  }
  size_t admitted = 0;
  cairn_view *v = NULL;
  assert_int_equal(cairn_view_open(&v, r.x->s), CAIRN_OK);
  for (size_t i = 0; i < r.n_proposals; i++) {
    cairn_admission a;
    cairn_err err = cairn_staking_admission(v, r.proposal[i], &a);
    assert_true(err == CAIRN_OK || err == CAIRN_ERR_PROPOSAL_UNKNOWN);
    if (err == CAIRN_OK && a.status == CAIRN_PROPOSAL_ADMITTED) admitted++;
  }
  cairn_view_close(v);
  printf(
      "test_random_conservation: %zu accepted, %zu rejected, %llu set "
      "changes, %zu admissions, %u validators at the end\n",
      r.accepted, r.rejected, (unsigned long long)epochs, admitted,
      (unsigned)cairn_chain_valset(r.x->c)->n);
  assert_true(r.accepted > 0 && epochs > 0);
  /* A replica applying every block reaches the same tip. */
  cx *rep = cx_replica(r.x);
  for (uint64_t h = 1; h <= RND_BLOCKS; h++) cx_copy_block(rep, r.x, h);
  cairn_tip a, b;
  cairn_chain_tip(rep->c, &a);
  cairn_chain_tip(r.x->c, &b);
  assert_memory_equal(&a, &b, sizeof a);
  assert_int_equal(cairn_chain_epoch(rep->c), cairn_chain_epoch(r.x->c));
  cx_close(rep);
  cx_close(r.x);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_genesis_state),
      cmocka_unit_test(test_conservation_detects),
      cmocka_unit_test(test_stake_transfer),
      cmocka_unit_test(test_bond),
      cmocka_unit_test(test_same_block_changes),
      cmocka_unit_test(test_unbond),
      cmocka_unit_test(test_admit_rejections),
      cmocka_unit_test(test_admit_and_approve),
      cmocka_unit_test(test_approve_recomputes),
      cmocka_unit_test(test_multi_validator_operator),
      cmocka_unit_test(test_admission_expires),
      cmocka_unit_test(test_valset_full),
      cmocka_unit_test(test_evidence),
      cmocka_unit_test(test_evidence_rejections),
      cmocka_unit_test(test_evidence_before_membership),
      cmocka_unit_test(test_slash_rounding),
      cmocka_unit_test(test_unbond_then_jail),
      cmocka_unit_test(test_chain_set_change),
      cmocka_unit_test(test_chain_proposer_rotation),
      cmocka_unit_test(test_check_proposal),
      cmocka_unit_test(test_check_proposal_bad_tx),
      cmocka_unit_test(test_chain_evidence),
      cmocka_unit_test(test_random_conservation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
