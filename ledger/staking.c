/*
 * ledger/staking.c - stake, validator-set changes and slashing.
 *
 * Stake is a chain-wide unit apart from every brand's points. Genesis gives
 * each validator a bond (its power) and may give accounts free stake;
 * afterwards stake only moves between five places - free, bonded,
 * unbonding, locked in an open admission proposal, slashed (burned) - and
 * the totals record counts each, so conservation can be checked at any
 * height (cairn_staking_check_conservation).
 *
 * Everything lives in the validators state table, one record kind per
 * first key byte, so it is all covered by the state hash and needs no new
 * table (the state tables are numbered 1..15 before the chain tables):
 *
 *   'v' pubkey [32]              validator record
 *   's' account [32]             free stake u64 (absent = 0, 0 deleted)
 *   'c' effective u64 | pk [32]  scheduled power u64 (the last scheduled
 *                                value for that height wins)
 *   'N' effective u64 [| i u32]  list of the pubkeys scheduled there
 *   'u' release u64 | acct [32]  unbonding stake u64 freed at `release`
 *   'R' release u64 [| i u32]    list of the accounts released there
 *   'a' id [32]                  admission proposal (id = ADMIT txid)
 *   'q' id [32] | i u32          the proposal's i-th approving validator
 *   'k' pubkey [32]              id of the open proposal for that key
 *   'D' deadline u64 [| i u32]   list of the proposals due to expire
 *   'l' i u32                    the live list (below), one pubkey each
 *   'e' i u64                    the i-th epoch (height of a set change)
 *   'h' epoch u64 | i u16        the set in force from that epoch, one
 *                                pubkey | power each, ascending pubkey
 *   'H' epoch u64                its size u16
 *   'P' 'T' 'L' 'O' 'E'          params, totals, live count, open
 *                                proposals, epoch count
 *
 * A list "X h [| i]" is a count u32 under X|h and items under X|h|i,
 * appended in order: views cannot scan, so whatever a block must visit
 * (changes due, unbonding due, proposals expiring) is listed under the
 * height at which it is due.
 *
 * When changes take effect. Every power change (bond, unbond, admission,
 * jailing) included at height h is scheduled for h + delay with the value
 * the validator will then have: jailed ? 0 : bonded. Because the delay is
 * the same for all, the last scheduled value is always that expression of
 * the current record, so "the set after all scheduled changes" needs no
 * scan of the schedule. end_block(h) applies the changes due at h + 1; if
 * any power changed, h + 1 is a new epoch and the set from then on is
 * written to the history ('e', 'h'), from which cairn_staking_valset_at
 * answers for any height.
 *
 * The live list holds every validator that has power now, will have
 * power, or has a change pending: exactly the validators that can be in
 * some set from now on. Admissions and re-bonds are refused when the list
 * plus the open proposals would pass CAIRN_VALIDATORS_MAX (VALSET_FULL),
 * so no set can ever be too big. A validator leaves the list when its
 * last pending change has brought its power to 0 with nothing to come.
 *
 * Jailing is immediate for the rules (a jailed validator cannot bond,
 * approve, or be accused again) but, like every change, reaches the set
 * only at the announced height: until then the jailed validator keeps its
 * power in force. So the set in force is the validators with power >= 1.
 *
 * Every public function that writes takes a savepoint and rolls back on
 * failure, so a rejected transaction (or a failed block step) leaves the
 * view as it was; the helpers below it may leave partial writes behind.
 */
#include "cairn/staking.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/encoding.h"
#include "cairn/evidence.h"

/* Key tags. */
#define STAKING_VALIDATOR 'v'
#define STAKING_FREE 's'
#define STAKING_CHANGE 'c'
#define STAKING_CHANGE_LIST 'N'
#define STAKING_UNBONDING 'u'
#define STAKING_RELEASE_LIST 'R'
#define STAKING_ADMISSION 'a'
#define STAKING_APPROVAL 'q'
#define STAKING_OPEN_BY_KEY 'k'
#define STAKING_DEADLINE_LIST 'D'
#define STAKING_LIVE 'l'
#define STAKING_EPOCH 'e'
#define STAKING_HISTORY 'h'
#define STAKING_HISTORY_COUNT 'H'
#define STAKING_PARAMS 'P'
#define STAKING_TOTALS 'T'
#define STAKING_LIVE_COUNT 'L'
#define STAKING_OPEN_COUNT 'O'
#define STAKING_EPOCH_COUNT 'E'

#define STAKING_PARAMS_BYTES 25
#define STAKING_TOTALS_BYTES 48
#define STAKING_VALIDATOR_BYTES_MAX \
  (32 + 8 + 8 + 1 + 1 + 8 + 1 + CAIRN_NAME_BYTES_MAX)
#define STAKING_ADMISSION_BYTES_MAX \
  (32 + 32 + 8 + 8 + 1 + 8 + 8 + 4 + 1 + CAIRN_NAME_BYTES_MAX)
#define STAKING_HISTORY_ITEM_BYTES (CAIRN_ED25519_PUBKEY_BYTES + 8)

_Static_assert(STAKING_VALIDATOR_BYTES_MAX <= CAIRN_VALUE_BYTES_MAX, "fits");
_Static_assert(STAKING_ADMISSION_BYTES_MAX <= CAIRN_VALUE_BYTES_MAX, "fits");
_Static_assert(1 + 8 + 32 <= CAIRN_KEY_BYTES_MAX, "longest key fits");
_Static_assert(CAIRN_VALIDATORS_MAX <= UINT16_MAX, "history index is a u16");

/* A validator record with the bookkeeping the public struct leaves out. */
typedef struct staking_validator {
  cairn_validator_record r;
  bool live;               /* in the live list */
  uint64_t last_effective; /* height of its last scheduled change, 0 none */
} staking_validator;

static const uint8_t staking_no_key[CAIRN_PUBKEY_BYTES];

__attribute__((format(printf, 3, 4))) static void staking_say(char *why,
                                                              size_t why_cap,
                                                              const char *fmt,
                                                              ...) {
  if (why == NULL || why_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

/* ---- keys ---- */

static size_t staking_key32(uint8_t out[33], uint8_t tag, const uint8_t k[32]) {
  out[0] = tag;
  memcpy(out + 1, k, 32);
  return 33;
}

static size_t staking_key_h(uint8_t out[9], uint8_t tag, uint64_t h) {
  out[0] = tag;
  cairn_be64_write(out + 1, h);
  return 9;
}

static size_t staking_key_h32(uint8_t out[41], uint8_t tag, uint64_t h,
                              const uint8_t k[32]) {
  staking_key_h(out, tag, h);
  memcpy(out + 9, k, 32);
  return 41;
}

static size_t staking_key_h_i(uint8_t out[13], uint8_t tag, uint64_t h,
                              uint32_t i) {
  staking_key_h(out, tag, h);
  cairn_be32_write(out + 9, i);
  return 13;
}

/* ---- plain values through the view ---- */

/* Read a record; a value longer than cap is longer than any valid one. */
static cairn_err staking_get(cairn_view *v, const uint8_t *key, size_t klen,
                             uint8_t *val, size_t cap, size_t *vlen) {
  cairn_err err =
      cairn_view_get(v, CAIRN_T_VALIDATORS, key, klen, val, cap, vlen);
  return err == CAIRN_ERR_OVERSIZE ? CAIRN_ERR_CORRUPT : err;
}

static cairn_err staking_put(cairn_view *v, const uint8_t *key, size_t klen,
                             const uint8_t *val, size_t vlen) {
  return cairn_view_put(v, CAIRN_T_VALIDATORS, key, klen, val, vlen);
}

static cairn_err staking_del(cairn_view *v, const uint8_t *key, size_t klen) {
  return cairn_view_del(v, CAIRN_T_VALIDATORS, key, klen);
}

/* A u64 that is stored non-zero or not at all (absent reads as 0). */
static cairn_err staking_get_u64(cairn_view *v, const uint8_t *key, size_t klen,
                                 uint64_t *out) {
  uint8_t val[8];
  size_t vlen = 0;
  *out = 0;
  cairn_err err = staking_get(v, key, klen, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  if (vlen != 8 || cairn_be64_read(val) == 0) return CAIRN_ERR_CORRUPT;
  *out = cairn_be64_read(val);
  return CAIRN_OK;
}

static cairn_err staking_put_u64(cairn_view *v, const uint8_t *key, size_t klen,
                                 uint64_t x) {
  uint8_t val[8];
  if (x == 0) return staking_del(v, key, klen);
  cairn_be64_write(val, x);
  return staking_put(v, key, klen, val, sizeof val);
}

/* A counter (u32 or u64 by width); absent reads as 0, 0 is deleted. */
static cairn_err staking_get_count(cairn_view *v, const uint8_t *key,
                                   size_t klen, size_t width, uint64_t *out) {
  uint8_t val[8];
  size_t vlen = 0;
  *out = 0;
  cairn_err err = staking_get(v, key, klen, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  if (vlen != width) return CAIRN_ERR_CORRUPT;
  *out = width == 4 ? cairn_be32_read(val) : cairn_be64_read(val);
  return *out == 0 ? CAIRN_ERR_CORRUPT : CAIRN_OK;
}

static cairn_err staking_put_count(cairn_view *v, const uint8_t *key,
                                   size_t klen, size_t width, uint64_t n) {
  uint8_t val[8];
  assert(width == 4 || width == 8);
  if (n == 0) return staking_del(v, key, klen);
  if (width == 4) {
    assert(n <= UINT32_MAX);
    cairn_be32_write(val, (uint32_t)n);
  } else {
    cairn_be64_write(val, n);
  }
  return staking_put(v, key, klen, val, width);
}

static cairn_err staking_meta_count(cairn_view *v, uint8_t tag, size_t width,
                                    uint64_t *out) {
  return staking_get_count(v, &tag, 1, width, out);
}

static cairn_err staking_meta_set_count(cairn_view *v, uint8_t tag,
                                        size_t width, uint64_t n) {
  return staking_put_count(v, &tag, 1, width, n);
}

/* ---- height-keyed lists ---- */

/* Append a 32-byte item to the list tag|h. */
static cairn_err staking_list_add(cairn_view *v, uint8_t tag, uint64_t h,
                                  const uint8_t item[32]) {
  uint8_t ckey[9], ikey[13];
  uint64_t n = 0;
  staking_key_h(ckey, tag, h);
  CAIRN_TRY(staking_get_count(v, ckey, sizeof ckey, 4, &n));
  if (n == UINT32_MAX) return CAIRN_ERR_OVERFLOW;
  staking_key_h_i(ikey, tag, h, (uint32_t)n);
  CAIRN_TRY(staking_put(v, ikey, sizeof ikey, item, 32));
  return staking_put_count(v, ckey, sizeof ckey, 4, n + 1);
}

static cairn_err staking_list_item(cairn_view *v, uint8_t tag, uint64_t h,
                                   uint32_t i, uint8_t item[32]) {
  uint8_t ikey[13];
  size_t vlen = 0;
  staking_key_h_i(ikey, tag, h, i);
  cairn_err err = staking_get(v, ikey, sizeof ikey, item, 32, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK) return err;
  return vlen == 32 ? CAIRN_OK : CAIRN_ERR_CORRUPT;
}

/* Delete the whole list tag|h of n items. */
static cairn_err staking_list_drop(cairn_view *v, uint8_t tag, uint64_t h,
                                   uint64_t n) {
  uint8_t ckey[9], ikey[13];
  if (n == 0) return CAIRN_OK; /* nothing listed: write nothing */
  for (uint64_t i = 0; i < n; i++) {
    staking_key_h_i(ikey, tag, h, (uint32_t)i);
    CAIRN_TRY(staking_del(v, ikey, sizeof ikey));
  }
  staking_key_h(ckey, tag, h);
  return staking_del(v, ckey, sizeof ckey);
}

static cairn_err staking_list_count(cairn_view *v, uint8_t tag, uint64_t h,
                                    uint64_t *n) {
  uint8_t ckey[9];
  staking_key_h(ckey, tag, h);
  return staking_get_count(v, ckey, sizeof ckey, 4, n);
}

/* ---- record codecs ---- */

static cairn_err staking_validator_put(cairn_view *v,
                                       const staking_validator *x) {
  uint8_t key[33], val[STAKING_VALIDATOR_BYTES_MAX];
  size_t vlen = 0;
  const cairn_validator_record *r = &x->r;
  assert(r->name_len <= CAIRN_NAME_BYTES_MAX);
  assert(r->power <= CAIRN_TOTAL_POWER_MAX &&
         r->bonded <= CAIRN_TOTAL_POWER_MAX);
  cairn_writer w;
  cairn_writer_init(&w, val, sizeof val);
  cairn_put_bytes(&w, r->operator_key, CAIRN_PUBKEY_BYTES);
  cairn_put_u64(&w, r->bonded);
  cairn_put_u64(&w, r->power);
  cairn_put_u8(&w, r->jailed ? 1 : 0);
  cairn_put_u8(&w, x->live ? 1 : 0);
  cairn_put_u64(&w, x->last_effective);
  cairn_put_var8(&w, (const uint8_t *)r->name, r->name_len);
  cairn_err err = cairn_writer_finish(&w, &vlen);
  assert(err == CAIRN_OK);
  if (err != CAIRN_OK) return CAIRN_ERR_INTERNAL;
  return staking_put(v, key, staking_key32(key, STAKING_VALIDATOR, r->pubkey),
                     val, vlen);
}

static cairn_err staking_validator_decode(staking_validator *x,
                                          const uint8_t pk[32],
                                          const uint8_t *buf, size_t len) {
  cairn_reader rd;
  const uint8_t *name = NULL;
  size_t name_len = 0;
  cairn_validator_record *r = &x->r;
  memset(x, 0, sizeof *x);
  memcpy(r->pubkey, pk, CAIRN_ED25519_PUBKEY_BYTES);
  cairn_reader_init(&rd, buf, len);
  cairn_err err = cairn_get_bytes(&rd, r->operator_key, CAIRN_PUBKEY_BYTES);
  if (err == CAIRN_OK) err = cairn_get_u64(&rd, &r->bonded);
  if (err == CAIRN_OK) err = cairn_get_u64(&rd, &r->power);
  if (err == CAIRN_OK) err = cairn_get_bool(&rd, &r->jailed);
  if (err == CAIRN_OK) err = cairn_get_bool(&rd, &x->live);
  if (err == CAIRN_OK) err = cairn_get_u64(&rd, &x->last_effective);
  if (err == CAIRN_OK)
    err = cairn_get_var8(&rd, &name, &name_len, CAIRN_NAME_BYTES_MAX);
  if (err == CAIRN_OK) err = cairn_reader_end(&rd);
  if (err == CAIRN_OK &&
      (r->bonded > CAIRN_TOTAL_POWER_MAX || r->power > CAIRN_TOTAL_POWER_MAX))
    err = CAIRN_ERR_RANGE;
  if (err != CAIRN_OK) {
    memset(x, 0, sizeof *x);
    return CAIRN_ERR_CORRUPT;
  }
  r->name_len = (uint8_t)name_len;
  if (name_len > 0) memcpy(r->name, name, name_len);
  return CAIRN_OK;
}

/* VALIDATOR_UNKNOWN when there is no record. */
static cairn_err staking_validator_get(cairn_view *v, const uint8_t pk[32],
                                       staking_validator *out) {
  uint8_t key[33], val[STAKING_VALIDATOR_BYTES_MAX];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = staking_get(v, key, staking_key32(key, STAKING_VALIDATOR, pk),
                              val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_VALIDATOR_UNKNOWN;
  if (err != CAIRN_OK) return err;
  return staking_validator_decode(out, pk, val, vlen);
}

/* The power the validator will have once every scheduled change is in. */
static uint64_t staking_future_power(const staking_validator *x) {
  return x->r.jailed ? 0 : x->r.bonded;
}

static cairn_err staking_admission_put(cairn_view *v,
                                       const cairn_admission *a) {
  uint8_t key[33], val[STAKING_ADMISSION_BYTES_MAX];
  size_t vlen = 0;
  assert(a->name_len <= CAIRN_NAME_BYTES_MAX);
  assert(a->status <= CAIRN_PROPOSAL_EXPIRED);
  cairn_writer w;
  cairn_writer_init(&w, val, sizeof val);
  cairn_put_bytes(&w, a->validator, CAIRN_ED25519_PUBKEY_BYTES);
  cairn_put_bytes(&w, a->operator_key, CAIRN_PUBKEY_BYTES);
  cairn_put_u64(&w, a->amount);
  cairn_put_u64(&w, a->deadline_height);
  cairn_put_u8(&w, a->status);
  cairn_put_u64(&w, a->decided_height);
  cairn_put_u64(&w, a->approved_power);
  cairn_put_u32(&w, a->n_approvals);
  cairn_put_var8(&w, (const uint8_t *)a->name, a->name_len);
  cairn_err err = cairn_writer_finish(&w, &vlen);
  assert(err == CAIRN_OK);
  if (err != CAIRN_OK) return CAIRN_ERR_INTERNAL;
  return staking_put(v, key, staking_key32(key, STAKING_ADMISSION, a->id), val,
                     vlen);
}

static cairn_err staking_admission_decode(cairn_admission *a,
                                          const uint8_t id[32],
                                          const uint8_t *buf, size_t len) {
  cairn_reader rd;
  const uint8_t *name = NULL;
  size_t name_len = 0;
  memset(a, 0, sizeof *a);
  cairn_reader_init(&rd, buf, len);
  cairn_err err = cairn_get_bytes(&rd, a->validator, 32);
  if (err == CAIRN_OK) err = cairn_get_bytes(&rd, a->operator_key, 32);
  if (err == CAIRN_OK) err = cairn_get_u64(&rd, &a->amount);
  if (err == CAIRN_OK) err = cairn_get_u64(&rd, &a->deadline_height);
  if (err == CAIRN_OK) err = cairn_get_u8(&rd, &a->status);
  if (err == CAIRN_OK) err = cairn_get_u64(&rd, &a->decided_height);
  if (err == CAIRN_OK) err = cairn_get_u64(&rd, &a->approved_power);
  if (err == CAIRN_OK) err = cairn_get_u32(&rd, &a->n_approvals);
  if (err == CAIRN_OK)
    err = cairn_get_var8(&rd, &name, &name_len, CAIRN_NAME_BYTES_MAX);
  if (err == CAIRN_OK) err = cairn_reader_end(&rd);
  if (err == CAIRN_OK &&
      (a->status > CAIRN_PROPOSAL_EXPIRED || a->amount == 0 || name_len == 0))
    err = CAIRN_ERR_RANGE;
  if (err != CAIRN_OK) {
    memset(a, 0, sizeof *a);
    return CAIRN_ERR_CORRUPT;
  }
  memcpy(a->id, id, CAIRN_HASH_BYTES);
  a->name_len = (uint8_t)name_len;
  memcpy(a->name, name, name_len);
  return CAIRN_OK;
}

/* ---- params and totals ---- */

static cairn_err staking_params_put(cairn_view *v,
                                    const cairn_staking_params *p) {
  uint8_t key = STAKING_PARAMS, val[STAKING_PARAMS_BYTES];
  cairn_be64_write(val, p->valset_delay_blocks);
  cairn_be64_write(val + 8, p->unbonding_blocks);
  cairn_be64_write(val + 16, p->evidence_max_age_blocks);
  val[24] = p->slash_percent;
  return staking_put(v, &key, 1, val, sizeof val);
}

cairn_err cairn_staking_params_read(cairn_view *v, cairn_staking_params *out) {
  uint8_t key = STAKING_PARAMS, val[STAKING_PARAMS_BYTES];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = staking_get(v, &key, 1, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK) return err;
  if (vlen != STAKING_PARAMS_BYTES) return CAIRN_ERR_CORRUPT;
  out->valset_delay_blocks = cairn_be64_read(val);
  out->unbonding_blocks = cairn_be64_read(val + 8);
  out->evidence_max_age_blocks = cairn_be64_read(val + 16);
  out->slash_percent = val[24];
  if (out->valset_delay_blocks == 0 || out->evidence_max_age_blocks == 0 ||
      out->unbonding_blocks < out->valset_delay_blocks ||
      out->slash_percent > 100) {
    memset(out, 0, sizeof *out);
    return CAIRN_ERR_CORRUPT;
  }
  return CAIRN_OK;
}

static cairn_err staking_totals_put(cairn_view *v,
                                    const cairn_stake_totals *t) {
  uint8_t key = STAKING_TOTALS, val[STAKING_TOTALS_BYTES];
  const uint64_t f[6] = {t->genesis,   t->free_,  t->bonded,
                         t->unbonding, t->locked, t->slashed};
  for (size_t i = 0; i < 6; i++) cairn_be64_write(val + 8 * i, f[i]);
  return staking_put(v, &key, 1, val, sizeof val);
}

cairn_err cairn_staking_totals(cairn_view *v, cairn_stake_totals *out) {
  uint8_t key = STAKING_TOTALS, val[STAKING_TOTALS_BYTES];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = staking_get(v, &key, 1, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK) return err;
  if (vlen != STAKING_TOTALS_BYTES) return CAIRN_ERR_CORRUPT;
  uint64_t *f[6] = {&out->genesis,   &out->free_,  &out->bonded,
                    &out->unbonding, &out->locked, &out->slashed};
  for (size_t i = 0; i < 6; i++) *f[i] = cairn_be64_read(val + 8 * i);
  if (out->genesis > CAIRN_TOTAL_POWER_MAX) {
    memset(out, 0, sizeof *out);
    return CAIRN_ERR_CORRUPT;
  }
  return CAIRN_OK;
}

/* The places of the totals, in record order (0 is the genesis total). */
#define STAKING_FREE_ 1
#define STAKING_BONDED_ 2
#define STAKING_UNBONDING_ 3
#define STAKING_LOCKED_ 4
#define STAKING_SLASHED_ 5

/* Move amount from one place of the totals to another. A place that would
 * go below zero means the records and the totals disagree: CORRUPT. */
static cairn_err staking_totals_move(cairn_view *v, size_t from, size_t to,
                                     uint64_t amount) {
  cairn_stake_totals t;
  CAIRN_TRY(cairn_staking_totals(v, &t));
  uint64_t *f[6] = {&t.genesis,   &t.free_,  &t.bonded,
                    &t.unbonding, &t.locked, &t.slashed};
  assert(from >= 1 && from < 6 && to >= 1 && to < 6 && from != to);
  if (*f[from] < amount || *f[to] > CAIRN_TOTAL_POWER_MAX - amount)
    return CAIRN_ERR_CORRUPT;
  *f[from] -= amount;
  *f[to] += amount;
  return staking_totals_put(v, &t);
}

/* ---- free stake ---- */

cairn_err cairn_staking_free(cairn_view *v, const uint8_t account[32],
                             uint64_t *out) {
  uint8_t key[33];
  return staking_get_u64(v, key, staking_key32(key, STAKING_FREE, account),
                         out);
}

static cairn_err staking_free_add(cairn_view *v, const uint8_t account[32],
                                  uint64_t amount) {
  uint8_t key[33];
  uint64_t have = 0;
  staking_key32(key, STAKING_FREE, account);
  CAIRN_TRY(staking_get_u64(v, key, sizeof key, &have));
  if (have > CAIRN_TOTAL_POWER_MAX - amount) return CAIRN_ERR_OVERFLOW;
  return staking_put_u64(v, key, sizeof key, have + amount);
}

/* STAKE_INSUFFICIENT when the account has less than amount. */
static cairn_err staking_free_sub(cairn_view *v, const uint8_t account[32],
                                  uint64_t amount) {
  uint8_t key[33];
  uint64_t have = 0;
  staking_key32(key, STAKING_FREE, account);
  CAIRN_TRY(staking_get_u64(v, key, sizeof key, &have));
  if (have < amount) return CAIRN_ERR_STAKE_INSUFFICIENT;
  return staking_put_u64(v, key, sizeof key, have - amount);
}

/* ---- the live list ---- */

static size_t staking_key_live(uint8_t out[5], uint32_t i) {
  out[0] = STAKING_LIVE;
  cairn_be32_write(out + 1, i);
  return 5;
}

/* The live list into pks (CAIRN_VALIDATORS_MAX entries); n its length. */
static cairn_err staking_live_read(cairn_view *v,
                                   uint8_t pks[][CAIRN_ED25519_PUBKEY_BYTES],
                                   uint32_t *n) {
  uint8_t key[5];
  uint64_t count = 0;
  size_t vlen = 0;
  *n = 0;
  CAIRN_TRY(staking_meta_count(v, STAKING_LIVE_COUNT, 4, &count));
  if (count > CAIRN_VALIDATORS_MAX) return CAIRN_ERR_CORRUPT;
  for (uint32_t i = 0; i < count; i++) {
    cairn_err err = staking_get(v, key, staking_key_live(key, i), pks[i],
                                CAIRN_ED25519_PUBKEY_BYTES, &vlen);
    if (err == CAIRN_ERR_NOT_FOUND || (err == CAIRN_OK && vlen != 32))
      return CAIRN_ERR_CORRUPT;
    CAIRN_TRY(err);
  }
  *n = (uint32_t)count;
  return CAIRN_OK;
}

static cairn_err staking_live_add(cairn_view *v, const uint8_t pk[32]) {
  uint8_t key[5];
  uint64_t count = 0;
  CAIRN_TRY(staking_meta_count(v, STAKING_LIVE_COUNT, 4, &count));
  /* VALSET_FULL is checked before anything joins the list. */
  if (count >= CAIRN_VALIDATORS_MAX) return CAIRN_ERR_CORRUPT;
  CAIRN_TRY(
      staking_put(v, key, staking_key_live(key, (uint32_t)count), pk, 32));
  return staking_meta_set_count(v, STAKING_LIVE_COUNT, 4, count + 1);
}

/* Remove pk: the last entry takes its place (the order means nothing). */
static cairn_err staking_live_remove(cairn_view *v, const uint8_t pk[32]) {
  uint8_t pks[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES], key[5];
  uint32_t n = 0, at = UINT32_MAX;
  CAIRN_TRY(staking_live_read(v, pks, &n));
  for (uint32_t i = 0; i < n && at == UINT32_MAX; i++)
    if (memcmp(pks[i], pk, 32) == 0) at = i;
  if (at == UINT32_MAX) return CAIRN_ERR_CORRUPT;
  if (at != n - 1)
    CAIRN_TRY(staking_put(v, key, staking_key_live(key, at), pks[n - 1], 32));
  CAIRN_TRY(staking_del(v, key, staking_key_live(key, n - 1)));
  return staking_meta_set_count(v, STAKING_LIVE_COUNT, 4, n - 1);
}

/* VALSET_FULL unless one more validator fits beside the live ones and
 * those proposed for admission. */
static cairn_err staking_check_room(cairn_view *v) {
  uint64_t live = 0, open = 0;
  CAIRN_TRY(staking_meta_count(v, STAKING_LIVE_COUNT, 4, &live));
  CAIRN_TRY(staking_meta_count(v, STAKING_OPEN_COUNT, 4, &open));
  return live + open + 1 > CAIRN_VALIDATORS_MAX ? CAIRN_ERR_VALSET_FULL
                                                : CAIRN_OK;
}

/* LAST_VALIDATOR unless a live validator other than pk will keep power
 * once every scheduled change is in. */
static cairn_err staking_check_not_last(cairn_view *v, const uint8_t pk[32]) {
  uint8_t pks[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES];
  uint32_t n = 0;
  CAIRN_TRY(staking_live_read(v, pks, &n));
  for (uint32_t i = 0; i < n; i++) {
    staking_validator x;
    if (memcmp(pks[i], pk, 32) == 0) continue;
    cairn_err err = staking_validator_get(v, pks[i], &x);
    if (err == CAIRN_ERR_VALIDATOR_UNKNOWN) return CAIRN_ERR_CORRUPT;
    CAIRN_TRY(err);
    if (staking_future_power(&x) >= 1) return CAIRN_OK;
  }
  return CAIRN_ERR_LAST_VALIDATOR;
}

/* ---- scheduling ---- */

/* h + n, saturating: a height past 2^64 - 1 is never reached. */
static uint64_t staking_after(uint64_t h, uint64_t n) {
  return h > UINT64_MAX - n ? UINT64_MAX : h + n;
}

/* From height eff, x's power is `power`. A second change of the same
 * validator for the same height replaces the first. x joins the live list
 * if it is not on it; the caller writes x. */
static cairn_err staking_schedule(cairn_view *v, staking_validator *x,
                                  uint64_t eff, uint64_t power) {
  uint8_t key[41], val[8];
  size_t vlen = 0;
  assert(power <= CAIRN_TOTAL_POWER_MAX);
  /* Off the live list the power is 0 with nothing to come: 0 again is no
   * change, and must not take a place on the list. */
  if (!x->live && power == 0) return CAIRN_OK;
  staking_key_h32(key, STAKING_CHANGE, eff, x->r.pubkey);
  cairn_err err = staking_get(v, key, sizeof key, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND)
    err = staking_list_add(v, STAKING_CHANGE_LIST, eff, x->r.pubkey);
  CAIRN_TRY(err);
  cairn_be64_write(val, power);
  CAIRN_TRY(staking_put(v, key, sizeof key, val, sizeof val));
  x->last_effective = eff;
  if (x->live) return CAIRN_OK;
  x->live = true;
  return staking_live_add(v, x->r.pubkey);
}

/* ---- history of sets ---- */

static size_t staking_key_epoch(uint8_t out[9], uint64_t i) {
  return staking_key_h(out, STAKING_EPOCH, i);
}

static size_t staking_key_history(uint8_t out[11], uint64_t epoch, uint16_t i) {
  staking_key_h(out, STAKING_HISTORY, epoch);
  out[9] = (uint8_t)(i >> 8);
  out[10] = (uint8_t)i;
  return 11;
}

/* The i-th epoch (0-based). */
static cairn_err staking_epoch_at(cairn_view *v, uint64_t i, uint64_t *epoch) {
  uint8_t key[9];
  cairn_err err = staking_get_u64(v, key, staking_key_epoch(key, i), epoch);
  if (err == CAIRN_OK && *epoch == 0) err = CAIRN_ERR_CORRUPT;
  return err;
}

/* Record that vs is in force from height epoch (after the last epoch). */
static cairn_err staking_history_add(cairn_view *v, uint64_t epoch,
                                     const cairn_valset *vs) {
  uint8_t key[11], ekey[9], item[STAKING_HISTORY_ITEM_BYTES];
  uint64_t n = 0;
  assert(vs->n >= 1 && vs->n <= CAIRN_VALIDATORS_MAX && epoch >= 1);
  CAIRN_TRY(staking_meta_count(v, STAKING_EPOCH_COUNT, 8, &n));
  CAIRN_TRY(staking_put_u64(v, ekey, staking_key_epoch(ekey, n), epoch));
  CAIRN_TRY(staking_meta_set_count(v, STAKING_EPOCH_COUNT, 8, n + 1));
  for (uint32_t i = 0; i < vs->n; i++) {
    memcpy(item, vs->v[i].pubkey, CAIRN_ED25519_PUBKEY_BYTES);
    cairn_be64_write(item + 32, vs->v[i].power);
    CAIRN_TRY(staking_put(v, key, staking_key_history(key, epoch, (uint16_t)i),
                          item, sizeof item));
  }
  uint8_t ckey[9], cnt[2] = {(uint8_t)(vs->n >> 8), (uint8_t)vs->n};
  ckey[0] = STAKING_HISTORY_COUNT;
  cairn_be64_write(ckey + 1, epoch);
  return staking_put(v, ckey, sizeof ckey, cnt, sizeof cnt);
}

/* The set recorded for epoch, with operators and names from the records. */
static cairn_err staking_history_read(cairn_view *v, uint64_t epoch,
                                      cairn_valset *out) {
  uint8_t key[11], ckey[9], cnt[2], item[STAKING_HISTORY_ITEM_BYTES];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  ckey[0] = STAKING_HISTORY_COUNT;
  cairn_be64_write(ckey + 1, epoch);
  cairn_err err = staking_get(v, ckey, sizeof ckey, cnt, sizeof cnt, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND || (err == CAIRN_OK && vlen != 2))
    return CAIRN_ERR_CORRUPT;
  CAIRN_TRY(err);
  uint32_t n = (uint32_t)cnt[0] << 8 | cnt[1];
  if (n == 0 || n > CAIRN_VALIDATORS_MAX) return CAIRN_ERR_CORRUPT;
  for (uint32_t i = 0; i < n; i++) {
    staking_validator x;
    cairn_validator *d = &out->v[i];
    err = staking_get(v, key, staking_key_history(key, epoch, (uint16_t)i),
                      item, sizeof item, &vlen);
    if (err == CAIRN_ERR_NOT_FOUND || (err == CAIRN_OK && vlen != sizeof item))
      err = CAIRN_ERR_CORRUPT;
    if (err == CAIRN_OK) err = staking_validator_get(v, item, &x);
    if (err == CAIRN_ERR_VALIDATOR_UNKNOWN) err = CAIRN_ERR_CORRUPT;
    CAIRN_TRY(err);
    memcpy(d->pubkey, item, CAIRN_ED25519_PUBKEY_BYTES);
    d->power = cairn_be64_read(item + 32);
    memcpy(d->operator_key, x.r.operator_key, CAIRN_PUBKEY_BYTES);
    d->name_len = x.r.name_len;
    memcpy(d->name, x.r.name, sizeof d->name);
  }
  out->n = n;
  if (cairn_valset_check(out) != CAIRN_OK) {
    memset(out, 0, sizeof *out);
    return CAIRN_ERR_CORRUPT;
  }
  return CAIRN_OK;
}

cairn_err cairn_staking_valset(cairn_view *v, cairn_valset *out,
                               uint64_t *epoch) {
  uint64_t n = 0;
  *epoch = 0;
  memset(out, 0, sizeof *out);
  CAIRN_TRY(staking_meta_count(v, STAKING_EPOCH_COUNT, 8, &n));
  if (n == 0) return CAIRN_ERR_CORRUPT;
  uint64_t e = 0;
  CAIRN_TRY(staking_epoch_at(v, n - 1, &e));
  CAIRN_TRY(staking_history_read(v, e, out));
  *epoch = e;
  return CAIRN_OK;
}

cairn_err cairn_staking_valset_at(cairn_view *v, uint64_t height,
                                  cairn_valset *out, uint64_t *epoch) {
  uint64_t n = 0, e = 0;
  memset(out, 0, sizeof *out);
  *epoch = 0;
  if (height == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(staking_meta_count(v, STAKING_EPOCH_COUNT, 8, &n));
  if (n == 0) return CAIRN_ERR_CORRUPT;
  /* The largest i with epoch(i) <= height; epoch(0) is 1. */
  uint64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo + 1) / 2;
    CAIRN_TRY(staking_epoch_at(v, mid, &e));
    if (e <= height)
      lo = mid;
    else
      hi = mid - 1;
  }
  CAIRN_TRY(staking_epoch_at(v, lo, &e));
  if (e > height) return CAIRN_ERR_CORRUPT;
  CAIRN_TRY(staking_history_read(v, e, out));
  *epoch = e;
  return CAIRN_OK;
}

/* ---- genesis ---- */

static cairn_err staking_genesis_validators(cairn_view *v,
                                            const cairn_genesis *g) {
  for (uint32_t i = 0; i < g->validators.n; i++) {
    const cairn_validator *d = &g->validators.v[i];
    staking_validator x;
    memset(&x, 0, sizeof x);
    memcpy(x.r.pubkey, d->pubkey, CAIRN_ED25519_PUBKEY_BYTES);
    memcpy(x.r.operator_key, d->operator_key, CAIRN_PUBKEY_BYTES);
    x.r.bonded = d->power;
    x.r.power = d->power;
    x.r.name_len = d->name_len;
    memcpy(x.r.name, d->name, sizeof x.r.name);
    x.live = true;
    CAIRN_TRY(staking_validator_put(v, &x));
    CAIRN_TRY(staking_live_add(v, d->pubkey));
  }
  return CAIRN_OK;
}

cairn_err cairn_staking_apply_genesis(cairn_view *v, const cairn_genesis *g) {
  cairn_stake_totals t;
  cairn_staking_params p;
  assert(g->validators.n >= 1 && g->validators.n <= CAIRN_VALIDATORS_MAX);
  assert(g->n_stake <= CAIRN_STAKE_ALLOCS_MAX);
  cairn_genesis_staking_params(g, &p);
  assert(p.valset_delay_blocks >= 1); /* cairn_genesis_check's rules */
  memset(&t, 0, sizeof t);
  size_t savepoint = cairn_view_savepoint(v);
  cairn_err err = staking_params_put(v, &p);
  if (err == CAIRN_OK) err = staking_genesis_validators(v, g);
  for (uint32_t i = 0; err == CAIRN_OK && i < g->validators.n; i++)
    t.bonded += g->validators.v[i].power;
  for (uint16_t i = 0; err == CAIRN_OK && i < g->n_stake; i++) {
    err = staking_free_add(v, g->stake[i].account, g->stake[i].amount);
    t.free_ += g->stake[i].amount;
  }
  /* cairn_genesis_check bounds bonded + free by 2^60. */
  t.genesis = t.bonded + t.free_;
  if (err == CAIRN_OK && t.genesis > CAIRN_TOTAL_POWER_MAX)
    err = CAIRN_ERR_GENESIS;
  if (err == CAIRN_OK) err = staking_totals_put(v, &t);
  if (err == CAIRN_OK) err = staking_history_add(v, 1, &g->validators);
  if (err != CAIRN_OK) cairn_view_rollback(v, savepoint);
  return err;
}

/* ---- queries ---- */

cairn_err cairn_staking_validator(cairn_view *v, const uint8_t pubkey[32],
                                  cairn_validator_record *out) {
  staking_validator x;
  cairn_err err = staking_validator_get(v, pubkey, &x);
  *out = x.r;
  return err;
}

cairn_err cairn_staking_admission(cairn_view *v, const uint8_t id[32],
                                  cairn_admission *out) {
  uint8_t key[33], val[STAKING_ADMISSION_BYTES_MAX];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = staking_get(v, key, staking_key32(key, STAKING_ADMISSION, id),
                              val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_PROPOSAL_UNKNOWN;
  if (err != CAIRN_OK) return err;
  return staking_admission_decode(out, id, val, vlen);
}

/* ---- transactions ---- */

static bool staking_same(const uint8_t a[32], const uint8_t b[32]) {
  return memcmp(a, b, 32) == 0;
}

static cairn_err staking_stake_transfer(cairn_view *v, const cairn_tx *tx) {
  const cairn_tx_stake_transfer *x = &tx->u.stake_transfer;
  if (staking_same(x->to, tx->sender)) return CAIRN_ERR_SELF_TRANSFER;
  CAIRN_TRY(staking_free_sub(v, tx->sender, x->amount));
  return staking_free_add(v, x->to, x->amount);
}

/* The validator a BOND or UNBOND names, which the sender must operate. */
static cairn_err staking_operated(cairn_view *v, const cairn_tx *tx,
                                  staking_validator *x) {
  CAIRN_TRY(staking_validator_get(v, tx->u.bond.validator, x));
  if (staking_same(x->r.operator_key, staking_no_key) ||
      !staking_same(x->r.operator_key, tx->sender))
    return CAIRN_ERR_NOT_OPERATOR;
  return CAIRN_OK;
}

static cairn_err staking_bond(cairn_view *v, const cairn_exec_ctx *ctx,
                              const cairn_staking_params *p,
                              const cairn_tx *tx) {
  staking_validator x;
  uint64_t amount = tx->u.bond.amount, have = 0;
  CAIRN_TRY(staking_operated(v, tx, &x));
  if (x.r.jailed) return CAIRN_ERR_VALIDATOR_JAILED;
  CAIRN_TRY(cairn_staking_free(v, tx->sender, &have));
  if (have < amount) return CAIRN_ERR_STAKE_INSUFFICIENT;
  if (x.r.bonded > CAIRN_TOTAL_POWER_MAX - amount) return CAIRN_ERR_OVERFLOW;
  if (!x.live) CAIRN_TRY(staking_check_room(v));
  CAIRN_TRY(staking_free_sub(v, tx->sender, amount));
  CAIRN_TRY(staking_totals_move(v, STAKING_FREE_, STAKING_BONDED_, amount));
  x.r.bonded += amount;
  CAIRN_TRY(staking_schedule(
      v, &x, staking_after(ctx->height, p->valset_delay_blocks), x.r.bonded));
  return staking_validator_put(v, &x);
}

/* Stake unbonded at height h is owed to account from `release`. */
static cairn_err staking_unbonding_add(cairn_view *v, uint64_t release,
                                       const uint8_t account[32],
                                       uint64_t amount) {
  uint8_t key[41];
  uint64_t have = 0;
  staking_key_h32(key, STAKING_UNBONDING, release, account);
  CAIRN_TRY(staking_get_u64(v, key, sizeof key, &have));
  if (have == 0)
    CAIRN_TRY(staking_list_add(v, STAKING_RELEASE_LIST, release, account));
  if (have > CAIRN_TOTAL_POWER_MAX - amount) return CAIRN_ERR_CORRUPT;
  CAIRN_TRY(staking_put_u64(v, key, sizeof key, have + amount));
  return staking_totals_move(v, STAKING_BONDED_, STAKING_UNBONDING_, amount);
}

static cairn_err staking_unbond(cairn_view *v, const cairn_exec_ctx *ctx,
                                const cairn_staking_params *p,
                                const cairn_tx *tx) {
  staking_validator x;
  uint64_t amount = tx->u.bond.amount;
  CAIRN_TRY(staking_operated(v, tx, &x));
  if (amount > x.r.bonded) return CAIRN_ERR_UNBOND_EXCEEDS;
  uint64_t before = staking_future_power(&x);
  x.r.bonded -= amount;
  if (before >= 1 && staking_future_power(&x) == 0)
    CAIRN_TRY(staking_check_not_last(v, x.r.pubkey));
  CAIRN_TRY(staking_unbonding_add(
      v, staking_after(ctx->height, p->unbonding_blocks), tx->sender, amount));
  CAIRN_TRY(staking_schedule(v, &x,
                             staking_after(ctx->height, p->valset_delay_blocks),
                             staking_future_power(&x)));
  return staking_validator_put(v, &x);
}

static cairn_err staking_admit(cairn_view *v, const cairn_exec_ctx *ctx,
                               const cairn_tx *tx, const uint8_t txid[32]) {
  const cairn_tx_admit *t = &tx->u.admit;
  uint8_t key[33], id[32];
  size_t vlen = 0;
  staking_validator x;
  cairn_err err = staking_validator_get(v, t->validator, &x);
  if (err == CAIRN_OK) return CAIRN_ERR_VALIDATOR_EXISTS;
  if (err != CAIRN_ERR_VALIDATOR_UNKNOWN) return err;
  staking_key32(key, STAKING_OPEN_BY_KEY, t->validator);
  err = staking_get(v, key, sizeof key, id, sizeof id, &vlen);
  if (err == CAIRN_OK) return CAIRN_ERR_VALIDATOR_EXISTS;
  if (err != CAIRN_ERR_NOT_FOUND) return err;
  if (t->deadline_height < ctx->height) return CAIRN_ERR_PROPOSAL_CLOSED;
  CAIRN_TRY(staking_free_sub(v, tx->sender, t->amount));
  CAIRN_TRY(staking_check_room(v));
  cairn_admission a;
  memset(&a, 0, sizeof a);
  memcpy(a.id, txid, CAIRN_HASH_BYTES);
  memcpy(a.validator, t->validator, CAIRN_ED25519_PUBKEY_BYTES);
  memcpy(a.operator_key, tx->sender, CAIRN_PUBKEY_BYTES);
  a.amount = t->amount;
  a.deadline_height = t->deadline_height;
  a.status = CAIRN_PROPOSAL_OPEN;
  a.name_len = t->name_len;
  memcpy(a.name, t->name, t->name_len);
  CAIRN_TRY(staking_admission_put(v, &a));
  CAIRN_TRY(staking_put(v, key, sizeof key, txid, CAIRN_HASH_BYTES));
  CAIRN_TRY(
      staking_list_add(v, STAKING_DEADLINE_LIST, a.deadline_height, txid));
  uint64_t open = 0;
  CAIRN_TRY(staking_meta_count(v, STAKING_OPEN_COUNT, 4, &open));
  CAIRN_TRY(staking_meta_set_count(v, STAKING_OPEN_COUNT, 4, open + 1));
  return staking_totals_move(v, STAKING_FREE_, STAKING_LOCKED_, t->amount);
}

static size_t staking_key_approval(uint8_t out[37], const uint8_t id[32],
                                   uint32_t i) {
  out[0] = STAKING_APPROVAL;
  memcpy(out + 1, id, 32);
  cairn_be32_write(out + 33, i);
  return 37;
}

static cairn_err staking_approval_at(cairn_view *v, const uint8_t id[32],
                                     uint32_t i, uint8_t pk[32]) {
  uint8_t key[37];
  size_t vlen = 0;
  cairn_err err =
      staking_get(v, key, staking_key_approval(key, id, i), pk, 32, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND || (err == CAIRN_OK && vlen != 32))
    return CAIRN_ERR_CORRUPT;
  return err;
}

/* Has pk approved proposal a already? */
static cairn_err staking_approved_by(cairn_view *v, const cairn_admission *a,
                                     const uint8_t pk[32], bool *yes) {
  uint8_t got[32];
  *yes = false;
  for (uint32_t i = 0; i < a->n_approvals && !*yes; i++) {
    CAIRN_TRY(staking_approval_at(v, a->id, i, got));
    *yes = staking_same(got, pk);
  }
  return CAIRN_OK;
}

/* A validator counts for approvals while it is in force and not jailed. */
static bool staking_can_approve(const staking_validator *x) {
  return x->r.power >= 1 && !x->r.jailed;
}

/* Add an approval by every validator in force that the sender operates
 * and that has not approved yet. NOT_OPERATOR: the sender operates none;
 * ALREADY_APPROVED: all of them have approved. */
static cairn_err staking_add_approvals(cairn_view *v, cairn_admission *a,
                                       const uint8_t sender[32]) {
  uint8_t pks[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES], key[37];
  uint32_t n = 0, operated = 0, added = 0;
  CAIRN_TRY(staking_live_read(v, pks, &n));
  for (uint32_t i = 0; i < n; i++) {
    staking_validator x;
    bool done = false;
    CAIRN_TRY(staking_validator_get(v, pks[i], &x));
    if (!staking_can_approve(&x) || !staking_same(x.r.operator_key, sender))
      continue;
    operated++;
    CAIRN_TRY(staking_approved_by(v, a, pks[i], &done));
    if (done) continue;
    if (a->n_approvals == UINT32_MAX) return CAIRN_ERR_OVERFLOW;
    CAIRN_TRY(staking_put(
        v, key, staking_key_approval(key, a->id, a->n_approvals), pks[i], 32));
    a->n_approvals++;
    added++;
  }
  if (operated == 0) return CAIRN_ERR_NOT_OPERATOR;
  return added == 0 ? CAIRN_ERR_ALREADY_APPROVED : CAIRN_OK;
}

/* The power in force now of a's approvers, and of the whole set. */
static cairn_err staking_tally(cairn_view *v, const cairn_admission *a,
                               uint64_t *approved, uint64_t *total) {
  uint8_t pks[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES], pk[32];
  uint32_t n = 0;
  staking_validator x;
  *approved = 0;
  *total = 0;
  CAIRN_TRY(staking_live_read(v, pks, &n));
  for (uint32_t i = 0; i < n; i++) {
    CAIRN_TRY(staking_validator_get(v, pks[i], &x));
    *total += x.r.power; /* each <= 2^60, at most 128: no wrap */
  }
  for (uint32_t i = 0; i < a->n_approvals; i++) {
    CAIRN_TRY(staking_approval_at(v, a->id, i, pk));
    CAIRN_TRY(staking_validator_get(v, pk, &x));
    if (staking_can_approve(&x)) *approved += x.r.power;
  }
  if (*total > CAIRN_TOTAL_POWER_MAX || *approved > *total)
    return CAIRN_ERR_CORRUPT;
  return CAIRN_OK;
}

/* The proposal passed: the validator exists from now, bonded with the
 * locked stake, and gets its power at the announced height. */
static cairn_err staking_admitted(cairn_view *v, const cairn_exec_ctx *ctx,
                                  const cairn_staking_params *p,
                                  cairn_admission *a) {
  uint8_t key[33];
  uint64_t open = 0;
  staking_validator x;
  memset(&x, 0, sizeof x);
  memcpy(x.r.pubkey, a->validator, CAIRN_ED25519_PUBKEY_BYTES);
  memcpy(x.r.operator_key, a->operator_key, CAIRN_PUBKEY_BYTES);
  x.r.bonded = a->amount;
  x.r.name_len = a->name_len;
  memcpy(x.r.name, a->name, sizeof x.r.name);
  a->status = CAIRN_PROPOSAL_ADMITTED;
  a->decided_height = ctx->height;
  CAIRN_TRY(staking_del(v, key,
                        staking_key32(key, STAKING_OPEN_BY_KEY, a->validator)));
  CAIRN_TRY(staking_meta_count(v, STAKING_OPEN_COUNT, 4, &open));
  if (open == 0) return CAIRN_ERR_CORRUPT;
  /* Leave the open count before joining the live list, whose room was
   * reserved by the ADMIT. */
  CAIRN_TRY(staking_meta_set_count(v, STAKING_OPEN_COUNT, 4, open - 1));
  CAIRN_TRY(
      staking_totals_move(v, STAKING_LOCKED_, STAKING_BONDED_, a->amount));
  CAIRN_TRY(staking_schedule(
      v, &x, staking_after(ctx->height, p->valset_delay_blocks), x.r.bonded));
  return staking_validator_put(v, &x);
}

static cairn_err staking_approve(cairn_view *v, const cairn_exec_ctx *ctx,
                                 const cairn_staking_params *p,
                                 const cairn_tx *tx) {
  cairn_admission a;
  uint64_t approved = 0, total = 0;
  CAIRN_TRY(cairn_staking_admission(v, tx->u.approve.proposal, &a));
  if (a.status != CAIRN_PROPOSAL_OPEN || ctx->height > a.deadline_height)
    return CAIRN_ERR_PROPOSAL_CLOSED;
  CAIRN_TRY(staking_add_approvals(v, &a, tx->sender));
  CAIRN_TRY(staking_tally(v, &a, &approved, &total));
  a.approved_power = approved;
  /* Both <= 2^60, so 3 * approved cannot wrap. */
  if (3 * approved > 2 * total) CAIRN_TRY(staking_admitted(v, ctx, p, &a));
  return staking_admission_put(v, &a);
}

/* floor(bonded * percent / 100) without a 128-bit product. */
static uint64_t staking_slash_amount(uint64_t bonded, uint8_t percent) {
  assert(percent <= 100);
  return (bonded / 100) * percent + (bonded % 100) * percent / 100;
}

static cairn_err staking_evidence(cairn_view *v, const cairn_exec_ctx *ctx,
                                  const cairn_staking_params *p,
                                  const cairn_tx *tx) {
  cairn_evidence e;
  staking_validator x;
  cairn_valset *vs = NULL;
  uint64_t epoch = 0;
  /* The decoder accepted these bytes, so they decode again. */
  CAIRN_TRY(
      cairn_evidence_decode(&e, tx->u.evidence.evidence, CAIRN_EVIDENCE_BYTES));
  CAIRN_TRY(staking_validator_get(v, e.a.validator, &x));
  if (x.r.jailed) return CAIRN_ERR_VALIDATOR_JAILED;
  if (e.a.height >= ctx->height ||
      ctx->height - e.a.height > p->evidence_max_age_blocks)
    return CAIRN_ERR_EVIDENCE_STALE;
  vs = malloc(sizeof *vs);
  if (vs == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_staking_valset_at(v, e.a.height, vs, &epoch);
  if (err == CAIRN_OK)
    err = cairn_evidence_verify(&e, ctx->chain_id, ctx->chain_id_len, vs);
  free(vs);
  CAIRN_TRY(err);
  if (staking_future_power(&x) >= 1)
    CAIRN_TRY(staking_check_not_last(v, x.r.pubkey));
  uint64_t slashed = staking_slash_amount(x.r.bonded, p->slash_percent);
  x.r.bonded -= slashed;
  x.r.jailed = true;
  if (slashed > 0)
    CAIRN_TRY(
        staking_totals_move(v, STAKING_BONDED_, STAKING_SLASHED_, slashed));
  CAIRN_TRY(staking_schedule(
      v, &x, staking_after(ctx->height, p->valset_delay_blocks), 0));
  return staking_validator_put(v, &x);
}

static cairn_err staking_apply_rules(cairn_view *v, const cairn_exec_ctx *ctx,
                                     const cairn_staking_params *p,
                                     const cairn_tx *tx,
                                     const uint8_t txid[32]) {
  switch (tx->type) {
    case CAIRN_TX_STAKE_TRANSFER: return staking_stake_transfer(v, tx);
    case CAIRN_TX_BOND: return staking_bond(v, ctx, p, tx);
    case CAIRN_TX_UNBOND: return staking_unbond(v, ctx, p, tx);
    case CAIRN_TX_ADMIT: return staking_admit(v, ctx, tx, txid);
    case CAIRN_TX_APPROVE: return staking_approve(v, ctx, p, tx);
    case CAIRN_TX_EVIDENCE: return staking_evidence(v, ctx, p, tx);
    default: return CAIRN_ERR_BAD_TYPE;
  }
}

cairn_err cairn_staking_apply_tx(cairn_view *v, const cairn_exec_ctx *ctx,
                                 const cairn_staking_params *p,
                                 const cairn_tx *tx, const uint8_t txid[32]) {
  assert(v != NULL && ctx != NULL && p != NULL && tx != NULL);
  assert(ctx->height >= 1 && p->valset_delay_blocks >= 1);
  size_t savepoint = cairn_view_savepoint(v);
  cairn_err err = staking_apply_rules(v, ctx, p, tx, txid);
  if (err != CAIRN_OK) cairn_view_rollback(v, savepoint);
  return err;
}

/* ---- block start and end ---- */

/* Unbonding stake due at h becomes free. */
static cairn_err staking_release(cairn_view *v, uint64_t h) {
  uint8_t account[32], key[41];
  uint64_t n = 0, amount = 0;
  CAIRN_TRY(staking_list_count(v, STAKING_RELEASE_LIST, h, &n));
  for (uint32_t i = 0; i < n; i++) {
    CAIRN_TRY(staking_list_item(v, STAKING_RELEASE_LIST, h, i, account));
    staking_key_h32(key, STAKING_UNBONDING, h, account);
    CAIRN_TRY(staking_get_u64(v, key, sizeof key, &amount));
    if (amount == 0) return CAIRN_ERR_CORRUPT; /* listed once, when added */
    CAIRN_TRY(staking_del(v, key, sizeof key));
    CAIRN_TRY(staking_free_add(v, account, amount));
    CAIRN_TRY(
        staking_totals_move(v, STAKING_UNBONDING_, STAKING_FREE_, amount));
  }
  return staking_list_drop(v, STAKING_RELEASE_LIST, h, n);
}

/* Open proposals whose deadline was `deadline` expire: the locked stake
 * goes back to the operator's free stake. */
static cairn_err staking_expire(cairn_view *v, uint64_t deadline, uint64_t h) {
  uint8_t id[32], key[33];
  uint64_t n = 0, open = 0;
  cairn_admission a;
  CAIRN_TRY(staking_list_count(v, STAKING_DEADLINE_LIST, deadline, &n));
  for (uint32_t i = 0; i < n; i++) {
    CAIRN_TRY(staking_list_item(v, STAKING_DEADLINE_LIST, deadline, i, id));
    cairn_err err = cairn_staking_admission(v, id, &a);
    if (err == CAIRN_ERR_PROPOSAL_UNKNOWN) return CAIRN_ERR_CORRUPT;
    CAIRN_TRY(err);
    if (a.status != CAIRN_PROPOSAL_OPEN) continue; /* admitted in time */
    if (a.deadline_height != deadline) return CAIRN_ERR_CORRUPT;
    a.status = CAIRN_PROPOSAL_EXPIRED;
    a.decided_height = h;
    CAIRN_TRY(staking_admission_put(v, &a));
    CAIRN_TRY(staking_del(
        v, key, staking_key32(key, STAKING_OPEN_BY_KEY, a.validator)));
    CAIRN_TRY(staking_meta_count(v, STAKING_OPEN_COUNT, 4, &open));
    if (open == 0) return CAIRN_ERR_CORRUPT;
    CAIRN_TRY(staking_meta_set_count(v, STAKING_OPEN_COUNT, 4, open - 1));
    CAIRN_TRY(staking_free_add(v, a.operator_key, a.amount));
    CAIRN_TRY(staking_totals_move(v, STAKING_LOCKED_, STAKING_FREE_, a.amount));
  }
  return staking_list_drop(v, STAKING_DEADLINE_LIST, deadline, n);
}

cairn_err cairn_staking_begin_block(cairn_view *v, const cairn_exec_ctx *ctx) {
  assert(v != NULL && ctx != NULL && ctx->height >= 1);
  size_t savepoint = cairn_view_savepoint(v);
  cairn_err err = staking_release(v, ctx->height);
  if (err == CAIRN_OK && ctx->height >= 2)
    err = staking_expire(v, ctx->height - 1, ctx->height);
  if (err != CAIRN_OK) cairn_view_rollback(v, savepoint);
  return err;
}

/* Apply one change due at eff; *changed when the power moved. */
static cairn_err staking_apply_change(cairn_view *v, uint64_t eff,
                                      const uint8_t pk[32], bool *changed) {
  uint8_t key[41], val[8];
  size_t vlen = 0;
  staking_validator x;
  staking_key_h32(key, STAKING_CHANGE, eff, pk);
  cairn_err err = staking_get(v, key, sizeof key, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND || (err == CAIRN_OK && vlen != 8))
    return CAIRN_ERR_CORRUPT;
  CAIRN_TRY(err);
  CAIRN_TRY(staking_del(v, key, sizeof key));
  err = staking_validator_get(v, pk, &x);
  if (err == CAIRN_ERR_VALIDATOR_UNKNOWN) return CAIRN_ERR_CORRUPT;
  CAIRN_TRY(err);
  uint64_t power = cairn_be64_read(val);
  if (power > CAIRN_TOTAL_POWER_MAX || !x.live) return CAIRN_ERR_CORRUPT;
  *changed |= power != x.r.power;
  x.r.power = power;
  /* Nothing more to come: leave the live list. */
  if (power == 0 && staking_future_power(&x) == 0 && x.last_effective <= eff) {
    CAIRN_TRY(staking_live_remove(v, pk));
    x.live = false;
  }
  return staking_validator_put(v, &x);
}

/* The set from the live list: validators with power, ascending. */
static cairn_err staking_live_set(cairn_view *v, cairn_valset *out) {
  uint8_t pks[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES];
  uint32_t n = 0;
  memset(out, 0, sizeof *out);
  CAIRN_TRY(staking_live_read(v, pks, &n));
  for (uint32_t i = 0; i < n; i++) {
    staking_validator x;
    CAIRN_TRY(staking_validator_get(v, pks[i], &x));
    if (x.r.power == 0) continue;
    /* Insertion into ascending pubkey order (at most 128). */
    uint32_t at = out->n;
    while (at > 0 && memcmp(out->v[at - 1].pubkey, pks[i], 32) > 0) {
      out->v[at] = out->v[at - 1];
      at--;
    }
    memset(&out->v[at], 0, sizeof out->v[at]);
    memcpy(out->v[at].pubkey, pks[i], CAIRN_ED25519_PUBKEY_BYTES);
    out->v[at].power = x.r.power;
    out->n++;
  }
  if (out->n == 0) return CAIRN_ERR_CORRUPT; /* LAST_VALIDATOR prevents it */
  return cairn_valset_check(out) == CAIRN_OK ? CAIRN_OK : CAIRN_ERR_CORRUPT;
}

static cairn_err staking_end_block(cairn_view *v, uint64_t eff) {
  uint8_t pk[32];
  uint64_t n = 0;
  bool changed = false;
  CAIRN_TRY(staking_list_count(v, STAKING_CHANGE_LIST, eff, &n));
  for (uint32_t i = 0; i < n; i++) {
    CAIRN_TRY(staking_list_item(v, STAKING_CHANGE_LIST, eff, i, pk));
    CAIRN_TRY(staking_apply_change(v, eff, pk, &changed));
  }
  CAIRN_TRY(staking_list_drop(v, STAKING_CHANGE_LIST, eff, n));
  if (!changed) return CAIRN_OK;
  cairn_valset *vs = malloc(sizeof *vs);
  if (vs == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = staking_live_set(v, vs);
  if (err == CAIRN_OK) err = staking_history_add(v, eff, vs);
  free(vs);
  return err;
}

cairn_err cairn_staking_end_block(cairn_view *v, const cairn_exec_ctx *ctx) {
  assert(v != NULL && ctx != NULL && ctx->height >= 1);
  if (ctx->height == UINT64_MAX) return CAIRN_ERR_RANGE;
  size_t savepoint = cairn_view_savepoint(v);
  cairn_err err = staking_end_block(v, ctx->height + 1);
  if (err != CAIRN_OK) cairn_view_rollback(v, savepoint);
  return err;
}

/* ---- listings and conservation over a committed snapshot ---- */

typedef struct staking_list_ctx {
  cairn_validator_visit_fn vfn;
  cairn_change_visit_fn cfn;
  void *ctx;
  cairn_err err;
} staking_list_ctx;

static int staking_visit_validator(void *ctx, const uint8_t *key, size_t klen,
                                   const uint8_t *val, size_t vlen) {
  staking_list_ctx *l = ctx;
  staking_validator x;
  if (klen != 33 ||
      staking_validator_decode(&x, key + 1, val, vlen) != CAIRN_OK) {
    l->err = CAIRN_ERR_CORRUPT;
    return 1;
  }
  return l->vfn(l->ctx, &x.r);
}

cairn_err cairn_staking_list_validators(cairn_rtxn *r,
                                        cairn_validator_visit_fn fn,
                                        void *ctx) {
  const uint8_t prefix = STAKING_VALIDATOR;
  staking_list_ctx l = {fn, NULL, ctx, CAIRN_OK};
  CAIRN_TRY(cairn_store_scan(r, CAIRN_T_VALIDATORS, &prefix, 1, SIZE_MAX,
                             staking_visit_validator, &l));
  return l.err;
}

static int staking_visit_change(void *ctx, const uint8_t *key, size_t klen,
                                const uint8_t *val, size_t vlen) {
  staking_list_ctx *l = ctx;
  cairn_valset_change c;
  if (klen != 41 || vlen != 8) {
    l->err = CAIRN_ERR_CORRUPT;
    return 1;
  }
  c.effective = cairn_be64_read(key + 1);
  memcpy(c.pubkey, key + 9, CAIRN_ED25519_PUBKEY_BYTES);
  c.power = cairn_be64_read(val);
  return l->cfn(l->ctx, &c);
}

cairn_err cairn_staking_list_changes(cairn_rtxn *r, cairn_change_visit_fn fn,
                                     void *ctx) {
  const uint8_t prefix = STAKING_CHANGE;
  staking_list_ctx l = {NULL, fn, ctx, CAIRN_OK};
  CAIRN_TRY(cairn_store_scan(r, CAIRN_T_VALIDATORS, &prefix, 1, SIZE_MAX,
                             staking_visit_change, &l));
  return l.err;
}

/* Sums of the records, place by place (indexes as in the totals). */
typedef struct staking_sums {
  uint64_t place[6];
  bool bad;
} staking_sums;

static void staking_sum_add(staking_sums *s, size_t place, uint64_t x) {
  if (x > CAIRN_TOTAL_POWER_MAX || s->place[place] > CAIRN_TOTAL_POWER_MAX - x)
    s->bad = true;
  else
    s->place[place] += x;
}

static int staking_sum_record(void *ctx, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen) {
  staking_sums *s = ctx;
  staking_validator x;
  cairn_admission a;
  if (klen == 33 && key[0] == STAKING_FREE && vlen == 8) {
    staking_sum_add(s, STAKING_FREE_, cairn_be64_read(val));
  } else if (klen == 33 && key[0] == STAKING_VALIDATOR &&
             staking_validator_decode(&x, key + 1, val, vlen) == CAIRN_OK) {
    staking_sum_add(s, STAKING_BONDED_, x.r.bonded);
  } else if (klen == 41 && key[0] == STAKING_UNBONDING && vlen == 8) {
    staking_sum_add(s, STAKING_UNBONDING_, cairn_be64_read(val));
  } else if (klen == 33 && key[0] == STAKING_ADMISSION &&
             staking_admission_decode(&a, key + 1, val, vlen) == CAIRN_OK) {
    if (a.status == CAIRN_PROPOSAL_OPEN)
      staking_sum_add(s, STAKING_LOCKED_, a.amount);
  } else {
    s->bad = true;
  }
  return s->bad ? 1 : 0;
}

/* Compare the sums with the totals record and the genesis total. */
static cairn_err staking_conservation_finish(staking_sums *s,
                                             const cairn_stake_totals *t,
                                             char *why, size_t why_cap) {
  static const char *const names[6] = {"genesis",   "free",   "bonded",
                                       "unbonding", "locked", "slashed"};
  if (s->bad) {
    staking_say(why, why_cap, "stake: a record does not decode");
    return CAIRN_ERR_CORRUPT;
  }
  const uint64_t total[6] = {t->genesis,   t->free_,  t->bonded,
                             t->unbonding, t->locked, t->slashed};
  s->place[STAKING_SLASHED_] = t->slashed; /* burned: no records to sum */
  for (size_t i = 1; i < 6; i++) {
    if (s->place[i] == total[i]) continue;
    staking_say(why, why_cap, "stake: %s records sum to %llu, totals say %llu",
                names[i], (unsigned long long)s->place[i],
                (unsigned long long)total[i]);
    return CAIRN_ERR_CORRUPT;
  }
  /* Each place <= 2^60: no wrap. */
  uint64_t sum =
      s->place[1] + s->place[2] + s->place[3] + s->place[4] + s->place[5];
  if (sum != t->genesis) {
    staking_say(
        why, why_cap,
        "stake: genesis total %llu, but free + bonded + unbonding + locked "
        "+ slashed = %llu",
        (unsigned long long)t->genesis, (unsigned long long)sum);
    return CAIRN_ERR_CORRUPT;
  }
  return CAIRN_OK;
}

static void staking_totals_decode(cairn_stake_totals *t, const uint8_t *val) {
  uint64_t *f[6] = {&t->genesis,   &t->free_,  &t->bonded,
                    &t->unbonding, &t->locked, &t->slashed};
  for (size_t i = 0; i < 6; i++) *f[i] = cairn_be64_read(val + 8 * i);
}

cairn_err cairn_staking_check_conservation(cairn_rtxn *r, char *why,
                                           size_t why_cap) {
  static const uint8_t tags[4] = {STAKING_FREE, STAKING_VALIDATOR,
                                  STAKING_UNBONDING, STAKING_ADMISSION};
  const uint8_t key = STAKING_TOTALS;
  uint8_t val[STAKING_TOTALS_BYTES];
  size_t vlen = 0;
  cairn_stake_totals t;
  staking_sums s;
  memset(&s, 0, sizeof s);
  if (why != NULL && why_cap > 0) why[0] = '\0';
  cairn_err err = cairn_store_get_copy(r, CAIRN_T_VALIDATORS, &key, 1, val,
                                       sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND || err == CAIRN_ERR_OVERSIZE ||
      (err == CAIRN_OK && vlen != sizeof val)) {
    staking_say(why, why_cap,
                "stake: the totals record is missing or malformed");
    return CAIRN_ERR_CORRUPT;
  }
  CAIRN_TRY(err);
  staking_totals_decode(&t, val);
  for (size_t i = 0; i < 4 && !s.bad; i++)
    CAIRN_TRY(cairn_store_scan(r, CAIRN_T_VALIDATORS, &tags[i], 1, SIZE_MAX,
                               staking_sum_record, &s));
  return staking_conservation_finish(&s, &t, why, why_cap);
}

/* The view form: the totals and the records ride along one walk. */
typedef struct staking_view_sums {
  staking_sums s;
  cairn_stake_totals t;
  bool have_totals;
} staking_view_sums;

static cairn_err staking_view_sum(void *ctx, cairn_table t, const uint8_t *key,
                                  size_t klen, const uint8_t *val,
                                  size_t vlen) {
  staking_view_sums *vs = ctx;
  if (t != CAIRN_T_VALIDATORS || val == NULL || klen == 0) return CAIRN_OK;
  if (klen == 1 && key[0] == STAKING_TOTALS) {
    if (vlen != STAKING_TOTALS_BYTES) return CAIRN_ERR_CORRUPT;
    staking_totals_decode(&vs->t, val);
    vs->have_totals = true;
    return CAIRN_OK;
  }
  if (key[0] == STAKING_FREE || key[0] == STAKING_VALIDATOR ||
      key[0] == STAKING_UNBONDING || key[0] == STAKING_ADMISSION)
    (void)staking_sum_record(&vs->s, key, klen, val, vlen);
  return CAIRN_OK;
}

cairn_err cairn_staking_check_conservation_view(const cairn_view *v, char *why,
                                                size_t why_cap) {
  staking_view_sums *vs = calloc(1, sizeof *vs);
  if (vs == NULL) return CAIRN_ERR_NOMEM;
  if (why != NULL && why_cap > 0) why[0] = '\0';
  cairn_err err = cairn_view_foreach(v, staking_view_sum, vs);
  if (err == CAIRN_ERR_CORRUPT || (err == CAIRN_OK && !vs->have_totals)) {
    staking_say(why, why_cap,
                "stake: the totals record is missing or malformed");
    err = CAIRN_ERR_CORRUPT;
  }
  if (err == CAIRN_OK)
    err = staking_conservation_finish(&vs->s, &vs->t, why, why_cap);
  free(vs);
  return err;
}
