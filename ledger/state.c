/*
 * ledger/state.c - the state machine: what each transaction does to the
 * application state.
 *
 * The state is fifteen small key-value tables (balances, sequences,
 * coupons, coupon_owner, brands, validators, and for the cross-brand
 * economy client_refs, brand_stats, holds, hold_timeouts, issues,
 * agreements, settlements, lots, lot_expiry; layouts in state.h). It is
 * organised by feature below: points, asset policy and issue limits,
 * lots (expiry), holds, reversals, agreements and settlement, and the
 * block-start work (timed-out holds, expired lots). This file never
 * touches LMDB: it reads and writes a view (view.h), an overlay of changes
 * over a store snapshot, so that the proposer, the mempool and the auditor
 * all run exactly the same code, and so that "undo this transaction" is a
 * savepoint rollback rather than hand-written compensation.
 *
 * cairn_state_apply_tx() takes a savepoint, runs the checks and writes, and
 * rolls back on any error, so a rejected transaction leaves the view exactly
 * as it was (same values, same change count, same digest). The checks run in
 * a fixed order, which specs/state.md documents because clients see the
 * first failing rule's error code:
 *   1. chain id, 2. expiry height, 3. sequence (replay before gap),
 *   4. the client reference (a duplicate is refused),
 *   5. the type's own rules (brand, issuer, transferability, recipient,
 *      limits, balance, hold, agreement or coupon state),
 *   6. the client reference and the sender's sequence are written last.
 * Every point that enters or leaves a brand is counted in brand_stats, so
 * conservation (conserve.c) can be checked at any height.
 * Signatures are not checked here: callers verify them (cairn_tx_verify)
 * where that can be spread over cores.
 *
 * Invariants kept by the writers and checked by the readers: a stored
 * balance is never 0 (a balance that reaches 0 is deleted, so the state has
 * one form per meaning and the state hash cannot depend on history); a stored
 * sequence is never 0. A stored record that does not decode, or breaks these
 * invariants, is reported as CAIRN_ERR_CORRUPT rather than trusted.
 *
 * The transaction structs given to apply_tx come from cairn_tx_decode, which
 * enforces their form (amounts >= 1, coupon kinds and values in range, field
 * lengths); a struct that breaks that form is a caller bug and asserts.
 */
#include "cairn/state.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "cairn/encoding.h"
#include "cairn/staking.h"

/* Largest valid records; a stored value bigger than these is corrupt. */
#define STATE_COUPON_RECORD_BYTES_MAX                                          \
  (4 + 32 + 1 + 8 + 8 + 1 + 1 + 8 + 8 + 1 + CAIRN_LABEL_BYTES_MAX)
#define STATE_BRAND_RECORD_BYTES_MAX                                           \
  (1 + 32 + 1 + CAIRN_NAME_BYTES_MAX + 1 + 8 + 8 + 8)
#define STATE_COUPON_OWNER_KEY_BYTES (CAIRN_PUBKEY_BYTES + CAIRN_HASH_BYTES)

_Static_assert(STATE_COUPON_RECORD_BYTES_MAX <= CAIRN_VALUE_BYTES_MAX,
               "coupon records fit a view value");
_Static_assert(STATE_COUPON_OWNER_KEY_BYTES <= CAIRN_KEY_BYTES_MAX,
               "coupon owner keys fit a view key");
_Static_assert(CAIRN_BALANCE_KEY_BYTES == CAIRN_PUBKEY_BYTES + 4,
               "balance key is account | brand");

/* ---- record codecs ---- */

void cairn_state_balance_key(uint8_t out[CAIRN_BALANCE_KEY_BYTES],
                             const uint8_t account[32], uint32_t brand) {
  memcpy(out, account, CAIRN_PUBKEY_BYTES);
  cairn_be32_write(out + CAIRN_PUBKEY_BYTES, brand);
}

cairn_err cairn_coupon_encode(uint8_t *buf, size_t cap, size_t *len,
                              const cairn_coupon *c) {
  assert(c->label_len <= CAIRN_LABEL_BYTES_MAX);
  assert(c->status == CAIRN_COUPON_ACTIVE || c->status == CAIRN_COUPON_USED);
  cairn_writer w;
  cairn_writer_init(&w, buf, cap);
  cairn_put_u32(&w, c->brand);
  cairn_put_bytes(&w, c->owner, CAIRN_PUBKEY_BYTES);
  cairn_put_u8(&w, c->kind);
  cairn_put_u64(&w, c->value);
  cairn_put_u64(&w, c->expiry_height);
  cairn_put_u8(&w, c->transferable ? 1 : 0);
  cairn_put_u8(&w, c->status);
  cairn_put_u64(&w, c->issued_height);
  cairn_put_u64(&w, c->redeemed_height);
  cairn_put_var8(&w, c->label, c->label_len);
  *len = 0;
  return cairn_writer_finish(&w, len);
}

/* The fields after the owner; split out to keep the decoder short. */
static cairn_err state_coupon_decode_tail(cairn_coupon *c, cairn_reader *r) {
  const uint8_t *label = NULL;
  size_t label_len = 0;
  CAIRN_TRY(cairn_get_u8(r, &c->kind));
  CAIRN_TRY(cairn_get_u64(r, &c->value));
  CAIRN_TRY(cairn_get_u64(r, &c->expiry_height));
  CAIRN_TRY(cairn_get_bool(r, &c->transferable));
  CAIRN_TRY(cairn_get_u8(r, &c->status));
  CAIRN_TRY(cairn_get_u64(r, &c->issued_height));
  CAIRN_TRY(cairn_get_u64(r, &c->redeemed_height));
  CAIRN_TRY(cairn_get_var8(r, &label, &label_len, CAIRN_LABEL_BYTES_MAX));
  CAIRN_TRY(cairn_reader_end(r));
  if (c->kind != CAIRN_COUPON_AMOUNT && c->kind != CAIRN_COUPON_PERCENT)
    return CAIRN_ERR_RANGE;
  if (c->status != CAIRN_COUPON_ACTIVE && c->status != CAIRN_COUPON_USED)
    return CAIRN_ERR_RANGE;
  c->label_len = (uint8_t)label_len;
  if (label_len > 0) memcpy(c->label, label, label_len);
  return CAIRN_OK;
}

cairn_err cairn_coupon_decode(cairn_coupon *c, const uint8_t id[32],
                              const uint8_t *buf, size_t len) {
  cairn_reader r;
  memset(c, 0, sizeof *c);
  cairn_reader_init(&r, buf, len);
  cairn_err err = cairn_get_u32(&r, &c->brand);
  if (err == CAIRN_OK) err = cairn_get_bytes(&r, c->owner, CAIRN_PUBKEY_BYTES);
  if (err == CAIRN_OK) err = state_coupon_decode_tail(c, &r);
  if (err != CAIRN_OK) {
    memset(c, 0, sizeof *c);
    return err;
  }
  memcpy(c->id, id, CAIRN_HASH_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_brand_record_encode(uint8_t *buf, size_t cap, size_t *len,
                                    const cairn_brand *b) {
  assert(b->name_len <= CAIRN_NAME_BYTES_MAX);
  cairn_writer w;
  cairn_writer_init(&w, buf, cap);
  cairn_put_u8(&w, b->flags);
  cairn_put_bytes(&w, b->issuer, CAIRN_PUBKEY_BYTES);
  cairn_put_var8(&w, (const uint8_t *)b->name, b->name_len);
  cairn_put_u8(&w, b->policy.expiry_mode);
  cairn_put_u64(&w, b->policy.expiry_blocks);
  cairn_put_u64(&w, b->policy.max_issue_per_tx);
  cairn_put_u64(&w, b->policy.max_issue_per_day);
  *len = 0;
  return cairn_writer_finish(&w, len);
}

static cairn_err state_brand_decode_fields(cairn_brand *b, cairn_reader *r) {
  const uint8_t *name = NULL;
  size_t name_len = 0;
  CAIRN_TRY(cairn_get_u8(r, &b->flags));
  CAIRN_TRY(cairn_get_bytes(r, b->issuer, CAIRN_PUBKEY_BYTES));
  CAIRN_TRY(cairn_get_var8(r, &name, &name_len, CAIRN_NAME_BYTES_MAX));
  CAIRN_TRY(cairn_get_u8(r, &b->policy.expiry_mode));
  CAIRN_TRY(cairn_get_u64(r, &b->policy.expiry_blocks));
  CAIRN_TRY(cairn_get_u64(r, &b->policy.max_issue_per_tx));
  CAIRN_TRY(cairn_get_u64(r, &b->policy.max_issue_per_day));
  CAIRN_TRY(cairn_reader_end(r));
  if ((b->flags & ~CAIRN_BRAND_FLAGS_KNOWN) != 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_brand_policy_check(&b->policy));
  /* The name is kept NUL-terminated, so it must not contain a NUL. */
  if (name_len > 0 && memchr(name, 0, name_len) != NULL)
    return CAIRN_ERR_RANGE;
  b->name_len = (uint8_t)name_len;
  if (name_len > 0) memcpy(b->name, name, name_len);
  b->name[name_len] = '\0';
  return CAIRN_OK;
}

cairn_err cairn_brand_record_decode(cairn_brand *b, uint32_t id,
                                    const uint8_t *buf, size_t len) {
  cairn_reader r;
  memset(b, 0, sizeof *b);
  cairn_reader_init(&r, buf, len);
  cairn_err err = state_brand_decode_fields(b, &r);
  if (err != CAIRN_OK) {
    memset(b, 0, sizeof *b);
    return err;
  }
  b->id = id;
  return CAIRN_OK;
}

void cairn_brand_stats_encode(uint8_t out[CAIRN_BRAND_STATS_BYTES],
                              const cairn_brand_stats *s) {
  const uint64_t f[8] = {s->issued,  s->redeemed_home, s->redeemed_partner,
                         s->expired, s->reversed,      s->held,
                         s->issue_day, s->issued_in_day};
  _Static_assert(sizeof f == CAIRN_BRAND_STATS_BYTES, "eight u64 fields");
  for (size_t i = 0; i < 8; i++) cairn_be64_write(out + 8 * i, f[i]);
}

cairn_err cairn_brand_stats_decode(cairn_brand_stats *s, const uint8_t *buf,
                                   size_t len) {
  memset(s, 0, sizeof *s);
  if (len != CAIRN_BRAND_STATS_BYTES) return CAIRN_ERR_CORRUPT;
  s->issued = cairn_be64_read(buf);
  s->redeemed_home = cairn_be64_read(buf + 8);
  s->redeemed_partner = cairn_be64_read(buf + 16);
  s->expired = cairn_be64_read(buf + 24);
  s->reversed = cairn_be64_read(buf + 32);
  s->held = cairn_be64_read(buf + 40);
  s->issue_day = cairn_be64_read(buf + 48);
  s->issued_in_day = cairn_be64_read(buf + 56);
  return CAIRN_OK;
}

/* ---- reading and writing records through the view ---- */

/* Read a record. A stored value larger than cap is larger than any valid
 * record of its table: CORRUPT. NOT_FOUND passes through. */
static cairn_err state_get(cairn_view *v, cairn_table t, const uint8_t *key,
                           size_t klen, uint8_t *val, size_t cap,
                           size_t *vlen) {
  cairn_err err = cairn_view_get(v, t, key, klen, val, cap, vlen);
  if (err == CAIRN_ERR_OVERSIZE) return CAIRN_ERR_CORRUPT;
  return err;
}

/* Read a u64 record that must be present-and-non-zero or absent (balances
 * and sequences). Absent reads as 0. */
static cairn_err state_get_nonzero_u64(cairn_view *v, cairn_table t,
                                       const uint8_t *key, size_t klen,
                                       uint64_t *out) {
  uint8_t val[8];
  size_t vlen = 0;
  *out = 0;
  cairn_err err = state_get(v, t, key, klen, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  if (vlen != sizeof val) return CAIRN_ERR_CORRUPT;
  uint64_t x = cairn_be64_read(val);
  if (x == 0) return CAIRN_ERR_CORRUPT; /* zeros are deleted, never stored */
  *out = x;
  return CAIRN_OK;
}

cairn_err cairn_state_balance(cairn_view *v, const uint8_t account[32],
                              uint32_t brand, uint64_t *out) {
  uint8_t key[CAIRN_BALANCE_KEY_BYTES];
  cairn_state_balance_key(key, account, brand);
  return state_get_nonzero_u64(v, CAIRN_T_BALANCES, key, sizeof key, out);
}

cairn_err cairn_state_sequence(cairn_view *v, const uint8_t account[32],
                               uint64_t *last) {
  return state_get_nonzero_u64(v, CAIRN_T_SEQUENCES, account,
                               CAIRN_PUBKEY_BYTES, last);
}

cairn_err cairn_state_brand(cairn_view *v, uint32_t id, cairn_brand *out) {
  uint8_t key[4], val[STATE_BRAND_RECORD_BYTES_MAX];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_be32_write(key, id);
  cairn_err err =
      state_get(v, CAIRN_T_BRANDS, key, sizeof key, val, sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_UNKNOWN_BRAND;
  if (err != CAIRN_OK) return err;
  if (cairn_brand_record_decode(out, id, val, vlen) != CAIRN_OK)
    return CAIRN_ERR_CORRUPT;
  return CAIRN_OK;
}

cairn_err cairn_state_coupon(cairn_view *v, const uint8_t id[32],
                             cairn_coupon *out) {
  uint8_t val[STATE_COUPON_RECORD_BYTES_MAX];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = state_get(v, CAIRN_T_COUPONS, id, CAIRN_HASH_BYTES, val,
                            sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_COUPON_UNKNOWN;
  if (err != CAIRN_OK) return err;
  if (cairn_coupon_decode(out, id, val, vlen) != CAIRN_OK)
    return CAIRN_ERR_CORRUPT;
  return CAIRN_OK;
}

cairn_err cairn_state_brand_stats(cairn_view *v, uint32_t brand,
                                  cairn_brand_stats *out) {
  uint8_t key[4], val[CAIRN_BRAND_STATS_BYTES];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_be32_write(key, brand);
  cairn_err err = state_get(v, CAIRN_T_BRAND_STATS, key, sizeof key, val,
                            sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  return cairn_brand_stats_decode(out, val, vlen);
}

static cairn_err state_put_stats(cairn_view *v, uint32_t brand,
                                 const cairn_brand_stats *s) {
  uint8_t key[4], val[CAIRN_BRAND_STATS_BYTES];
  cairn_be32_write(key, brand);
  cairn_brand_stats_encode(val, s);
  return cairn_view_put(v, CAIRN_T_BRAND_STATS, key, sizeof key, val,
                        sizeof val);
}

/* field += amount, CAIRN_ERR_OVERFLOW past 2^64 - 1. */
static cairn_err state_add(uint64_t *field, uint64_t amount) {
  if (*field > UINT64_MAX - amount) return CAIRN_ERR_OVERFLOW;
  *field += amount;
  return CAIRN_OK;
}

/* Add amount to one counter of a brand's record. which is the counter's
 * offset in cairn_brand_stats, so callers name it with offsetof. */
static cairn_err state_stats_add(cairn_view *v, uint32_t brand, size_t which,
                                 uint64_t amount) {
  cairn_brand_stats st;
  assert(which % sizeof(uint64_t) == 0 && which < sizeof st);
  CAIRN_TRY(cairn_state_brand_stats(v, brand, &st));
  uint64_t *field = (uint64_t *)((uint8_t *)&st + which);
  CAIRN_TRY(state_add(field, amount));
  return state_put_stats(v, brand, &st);
}

#define STATE_CLIENT_REF_KEY_BYTES                                             \
  (CAIRN_PUBKEY_BYTES + CAIRN_TX_CLIENT_REF_BYTES_MAX)
_Static_assert(STATE_CLIENT_REF_KEY_BYTES <= CAIRN_KEY_BYTES_MAX,
               "client reference keys fit a view key");

static size_t state_client_ref_key(uint8_t out[STATE_CLIENT_REF_KEY_BYTES],
                                   const uint8_t sender[32],
                                   const uint8_t *ref, size_t ref_len) {
  assert(ref_len >= 1 && ref_len <= CAIRN_TX_CLIENT_REF_BYTES_MAX);
  memcpy(out, sender, CAIRN_PUBKEY_BYTES);
  memcpy(out + CAIRN_PUBKEY_BYTES, ref, ref_len);
  return CAIRN_PUBKEY_BYTES + ref_len;
}

cairn_err cairn_state_client_ref(cairn_view *v, const uint8_t sender[32],
                                 const uint8_t *ref, size_t ref_len,
                                 uint8_t txid[32]) {
  uint8_t key[STATE_CLIENT_REF_KEY_BYTES];
  size_t vlen = 0;
  memset(txid, 0, CAIRN_HASH_BYTES);
  size_t klen = state_client_ref_key(key, sender, ref, ref_len);
  cairn_err err = state_get(v, CAIRN_T_CLIENT_REFS, key, klen, txid,
                            CAIRN_HASH_BYTES, &vlen);
  if (err == CAIRN_OK && vlen != CAIRN_HASH_BYTES) err = CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK) memset(txid, 0, CAIRN_HASH_BYTES);
  return err;
}

/* Write a balance; 0 deletes the key (the one form of "no points"). */
static cairn_err state_put_balance(cairn_view *v, const uint8_t account[32],
                                   uint32_t brand, uint64_t amount) {
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[8];
  cairn_state_balance_key(key, account, brand);
  if (amount == 0) return cairn_view_del(v, CAIRN_T_BALANCES, key, sizeof key);
  cairn_be64_write(val, amount);
  return cairn_view_put(v, CAIRN_T_BALANCES, key, sizeof key, val, sizeof val);
}

static cairn_err state_put_coupon(cairn_view *v, const cairn_coupon *c) {
  uint8_t val[STATE_COUPON_RECORD_BYTES_MAX];
  size_t vlen = 0;
  cairn_err err = cairn_coupon_encode(val, sizeof val, &vlen, c);
  assert(err == CAIRN_OK); /* the buffer holds the largest record */
  if (err != CAIRN_OK) return CAIRN_ERR_INTERNAL;
  return cairn_view_put(v, CAIRN_T_COUPONS, c->id, CAIRN_HASH_BYTES, val,
                        vlen);
}

static void state_owner_key(uint8_t out[STATE_COUPON_OWNER_KEY_BYTES],
                            const uint8_t owner[32], const uint8_t id[32]) {
  memcpy(out, owner, CAIRN_PUBKEY_BYTES);
  memcpy(out + CAIRN_PUBKEY_BYTES, id, CAIRN_HASH_BYTES);
}

static cairn_err state_put_owner(cairn_view *v, const uint8_t owner[32],
                                 const uint8_t id[32]) {
  uint8_t key[STATE_COUPON_OWNER_KEY_BYTES];
  const uint8_t none = 0; /* the index value is empty */
  state_owner_key(key, owner, id);
  return cairn_view_put(v, CAIRN_T_COUPON_OWNER, key, sizeof key, &none, 0);
}

static cairn_err state_del_owner(cairn_view *v, const uint8_t owner[32],
                                 const uint8_t id[32]) {
  uint8_t key[STATE_COUPON_OWNER_KEY_BYTES];
  state_owner_key(key, owner, id);
  return cairn_view_del(v, CAIRN_T_COUPON_OWNER, key, sizeof key);
}

/* ---- genesis ---- */

static cairn_err state_put_brand(cairn_view *v, const cairn_brand *b) {
  uint8_t key[4], val[STATE_BRAND_RECORD_BYTES_MAX];
  size_t vlen = 0;
  cairn_be32_write(key, b->id);
  cairn_err err = cairn_brand_record_encode(val, sizeof val, &vlen, b);
  assert(err == CAIRN_OK);
  if (err != CAIRN_OK) return CAIRN_ERR_INTERNAL;
  return cairn_view_put(v, CAIRN_T_BRANDS, key, sizeof key, val, vlen);
}

cairn_err cairn_state_apply_genesis(cairn_view *v, const cairn_genesis *g) {
  assert(g->n_brands <= CAIRN_BRANDS_MAX);
  assert(g->validators.n <= CAIRN_VALIDATORS_MAX);
  assert(cairn_view_change_count(v) == 0);
  for (size_t i = 0; i < g->n_brands; i++)
    CAIRN_TRY(state_put_brand(v, &g->brands[i]));
  return cairn_staking_apply_genesis(v, g);
}

/* ---- the rules ---- */

/* The common checks of every transaction: chain, expiry, sequence, client
 * reference. */
static cairn_err state_check_envelope(cairn_view *v, const cairn_exec_ctx *ctx,
                                      const cairn_tx *tx) {
  if (tx->chain_id_len != ctx->chain_id_len ||
      memcmp(tx->chain_id, ctx->chain_id, ctx->chain_id_len) != 0)
    return CAIRN_ERR_CHAIN_ID;
  if (ctx->height > tx->expiry_height) return CAIRN_ERR_TX_EXPIRED;
  uint64_t last = 0;
  CAIRN_TRY(cairn_state_sequence(v, tx->sender, &last));
  if (tx->sequence <= last) return CAIRN_ERR_SEQ_REPLAY;
  /* last < tx->sequence here, so last + 1 cannot overflow. */
  if (tx->sequence > last + 1) return CAIRN_ERR_SEQ_GAP;
  if (tx->client_ref_len == 0) return CAIRN_OK;
  uint8_t used_by[CAIRN_HASH_BYTES];
  cairn_err err = cairn_state_client_ref(v, tx->sender, tx->client_ref,
                                         tx->client_ref_len, used_by);
  if (err == CAIRN_OK) return CAIRN_ERR_DUPLICATE_REF;
  return err == CAIRN_ERR_NOT_FOUND ? CAIRN_OK : err;
}

/* The writes every accepted transaction ends with: its client reference
 * (if any) and the sender's sequence. */
static cairn_err state_finish_tx(cairn_view *v, const cairn_tx *tx,
                                 const uint8_t txid[32]) {
  if (tx->client_ref_len > 0) {
    uint8_t key[STATE_CLIENT_REF_KEY_BYTES];
    size_t klen = state_client_ref_key(key, tx->sender, tx->client_ref,
                                       tx->client_ref_len);
    CAIRN_TRY(cairn_view_put(v, CAIRN_T_CLIENT_REFS, key, klen, txid,
                             CAIRN_HASH_BYTES));
  }
  uint8_t seq[8];
  cairn_be64_write(seq, tx->sequence);
  return cairn_view_put(v, CAIRN_T_SEQUENCES, tx->sender, CAIRN_PUBKEY_BYTES,
                        seq, sizeof seq);
}

/* ---- lots: points with an expiry ----
 *
 * A member's points of a brand are kept in lots, a FIFO queue per
 * (account, brand): lots[account|brand] = first u64 | next u64 | deadline
 * u64 (the queue's bounds and, for rolling expiry, the deadline), and
 * lots[account|brand|lot_no] = amount u64 | expiry u64 (0: never). The
 * balance record stays the spendable total, always equal to the sum of
 * the lots, so every reader of balances keeps working. Credits append a
 * lot; debits consume the oldest lots first and report the earliest
 * expiry they took, which a TRANSFER's recipient (or a hold, and the
 * points it returns) inherits, so moving points never extends their life.
 * A lot with an expiry E, and a rolling deadline E, is listed in
 * lot_expiry under E (buckets of 44-byte keys, lot_no 2^64-1 naming the
 * deadline); block E + 1 removes what is still due, counting it in
 * brand_stats.expired. Stale entries (consumed lots, moved deadlines) are
 * skipped, as with holds.
 */
#define STATE_LOT_KEY_BYTES (CAIRN_BALANCE_KEY_BYTES + 8)
#define STATE_LOT_DEADLINE UINT64_MAX /* lot_no of a deadline entry */
_Static_assert(STATE_LOT_KEY_BYTES <= CAIRN_KEY_BYTES_MAX, "lot keys fit");

typedef struct state_lots {
  uint64_t first, next; /* lot numbers in [first, next) may exist */
  uint64_t deadline;    /* rolling expiry height, 0 = none */
} state_lots;

static void state_lot_key(uint8_t out[STATE_LOT_KEY_BYTES],
                          const uint8_t account[32], uint32_t brand,
                          uint64_t lot_no) {
  cairn_state_balance_key(out, account, brand);
  cairn_be64_write(out + CAIRN_BALANCE_KEY_BYTES, lot_no);
}

static cairn_err state_get_lots(cairn_view *v, const uint8_t account[32],
                                uint32_t brand, state_lots *q) {
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[24];
  size_t vlen = 0;
  memset(q, 0, sizeof *q);
  cairn_state_balance_key(key, account, brand);
  cairn_err err = state_get(v, CAIRN_T_LOTS, key, sizeof key, val, sizeof val,
                            &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  if (vlen != sizeof val) return CAIRN_ERR_CORRUPT;
  q->first = cairn_be64_read(val);
  q->next = cairn_be64_read(val + 8);
  q->deadline = cairn_be64_read(val + 16);
  return q->first <= q->next ? CAIRN_OK : CAIRN_ERR_CORRUPT;
}

/* An empty queue without a deadline is deleted (one form per meaning). */
static cairn_err state_put_lots(cairn_view *v, const uint8_t account[32],
                                uint32_t brand, const state_lots *q) {
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[24];
  cairn_state_balance_key(key, account, brand);
  if (q->first == q->next && q->deadline == 0)
    return cairn_view_del(v, CAIRN_T_LOTS, key, sizeof key);
  cairn_be64_write(val, q->first);
  cairn_be64_write(val + 8, q->next);
  cairn_be64_write(val + 16, q->deadline);
  return cairn_view_put(v, CAIRN_T_LOTS, key, sizeof key, val, sizeof val);
}

static cairn_err state_get_lot(cairn_view *v, const uint8_t *key,
                               uint64_t *amount, uint64_t *expiry) {
  uint8_t val[16];
  size_t vlen = 0;
  CAIRN_TRY(state_get(v, CAIRN_T_LOTS, key, STATE_LOT_KEY_BYTES, val,
                      sizeof val, &vlen));
  if (vlen != sizeof val) return CAIRN_ERR_CORRUPT;
  *amount = cairn_be64_read(val);
  *expiry = cairn_be64_read(val + 8);
  return *amount != 0 ? CAIRN_OK : CAIRN_ERR_CORRUPT;
}

static cairn_err state_put_lot(cairn_view *v, const uint8_t *key,
                               uint64_t amount, uint64_t expiry) {
  uint8_t val[16];
  if (amount == 0)
    return cairn_view_del(v, CAIRN_T_LOTS, key, STATE_LOT_KEY_BYTES);
  cairn_be64_write(val, amount);
  cairn_be64_write(val + 8, expiry);
  return cairn_view_put(v, CAIRN_T_LOTS, key, STATE_LOT_KEY_BYTES, val,
                        sizeof val);
}

static void state_bucket_key(uint8_t out[12], uint64_t height,
                             uint32_t bucket) {
  cairn_be64_write(out, height);
  cairn_be32_write(out + 8, bucket);
}

/* The height-keyed indexes (lot expiry, hold timeouts) share one layout:
 * table[height u64] = bucket count u32, and table[height | bucket u32] =
 * up to CAIRN_VALUE_BYTES_MAX / item_len items of item_len bytes, appended
 * in order. Append item to the last bucket of height, opening a new bucket
 * when it is full. */
static cairn_err state_bucket_add(cairn_view *v, cairn_table t,
                                  uint64_t height, const uint8_t *item,
                                  size_t item_len) {
  uint8_t ckey[8], bkey[12], cval[4], items[CAIRN_VALUE_BYTES_MAX];
  size_t vlen = 0, ilen = 0;
  uint32_t n = 0;
  assert(item_len >= 1 && item_len <= CAIRN_VALUE_BYTES_MAX);
  const size_t full = (CAIRN_VALUE_BYTES_MAX / item_len) * item_len;
  cairn_be64_write(ckey, height);
  cairn_err err = state_get(v, t, ckey, 8, cval, sizeof cval, &vlen);
  if (err == CAIRN_OK && (vlen != 4 || (n = cairn_be32_read(cval)) == 0))
    return CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK && err != CAIRN_ERR_NOT_FOUND) return err;
  if (n > 0) {
    state_bucket_key(bkey, height, n - 1);
    CAIRN_TRY(state_get(v, t, bkey, 12, items, sizeof items, &ilen));
    if (ilen == 0 || ilen % item_len != 0) return CAIRN_ERR_CORRUPT;
  }
  if (n == 0 || ilen == full) {
    if (n == UINT32_MAX) return CAIRN_ERR_OVERFLOW;
    n++;
    ilen = 0;
    cairn_be32_write(cval, n);
    CAIRN_TRY(cairn_view_put(v, t, ckey, 8, cval, 4));
  }
  assert(ilen + item_len <= sizeof items);
  memcpy(items + ilen, item, item_len);
  state_bucket_key(bkey, height, n - 1);
  return cairn_view_put(v, t, bkey, 12, items, ilen + item_len);
}

/* List a lot key (or a deadline) under height E. */
static cairn_err state_expiry_add(cairn_view *v, uint64_t e,
                                  const uint8_t key[STATE_LOT_KEY_BYTES]) {
  return state_bucket_add(v, CAIRN_T_LOT_EXPIRY, e, key, STATE_LOT_KEY_BYTES);
}

/* h + n, saturating: a period past 2^64 - 1 means never in practice. */
static uint64_t state_after(uint64_t h, uint64_t n) {
  return h > UINT64_MAX - 1 - n ? UINT64_MAX - 1 : h + n;
}

/* Any change of the member's points in a rolling brand moves the deadline
 * of all of them to h + period. */
static cairn_err state_touch(cairn_view *v, const cairn_exec_ctx *ctx,
                             const uint8_t account[32], uint32_t brand,
                             state_lots *q) {
  cairn_brand b;
  CAIRN_TRY(cairn_state_brand(v, brand, &b));
  if (b.policy.expiry_mode != CAIRN_EXPIRY_ROLLING) return CAIRN_OK;
  uint64_t deadline = state_after(ctx->height, b.policy.expiry_blocks);
  if (q->deadline == deadline) return CAIRN_OK;
  q->deadline = deadline;
  uint8_t key[STATE_LOT_KEY_BYTES];
  state_lot_key(key, account, brand, STATE_LOT_DEADLINE);
  return state_expiry_add(v, deadline, key);
}

/* Credit amount as a new lot expiring after `expiry` (0: never). */
static cairn_err state_credit(cairn_view *v, const cairn_exec_ctx *ctx,
                              const uint8_t account[32], uint32_t brand,
                              uint64_t amount, uint64_t expiry) {
  uint64_t bal = 0;
  state_lots q;
  assert(amount >= 1);
  CAIRN_TRY(cairn_state_balance(v, account, brand, &bal));
  if (bal > UINT64_MAX - amount) return CAIRN_ERR_OVERFLOW;
  CAIRN_TRY(state_get_lots(v, account, brand, &q));
  if (q.next == STATE_LOT_DEADLINE) return CAIRN_ERR_OVERFLOW;
  uint8_t key[STATE_LOT_KEY_BYTES];
  state_lot_key(key, account, brand, q.next++);
  CAIRN_TRY(state_put_lot(v, key, amount, expiry));
  if (expiry != 0) CAIRN_TRY(state_expiry_add(v, expiry, key));
  CAIRN_TRY(state_touch(v, ctx, account, brand, &q));
  CAIRN_TRY(state_put_lots(v, account, brand, &q));
  return state_put_balance(v, account, brand, bal + amount);
}

/* Debit amount from the oldest lots; *earliest (may be NULL) gets the
 * earliest expiry among the lots taken from (0: all never expire). */
static cairn_err state_debit(cairn_view *v, const cairn_exec_ctx *ctx,
                             const uint8_t account[32], uint32_t brand,
                             uint64_t amount, uint64_t *earliest) {
  uint64_t bal = 0, left = amount, first_exp = 0;
  state_lots q;
  CAIRN_TRY(cairn_state_balance(v, account, brand, &bal));
  if (bal < amount) return CAIRN_ERR_INSUFFICIENT;
  CAIRN_TRY(state_get_lots(v, account, brand, &q));
  for (uint64_t n = q.first; left > 0 && n < q.next; n++) {
    uint8_t key[STATE_LOT_KEY_BYTES];
    uint64_t lot = 0, exp = 0;
    state_lot_key(key, account, brand, n);
    cairn_err err = state_get_lot(v, key, &lot, &exp);
    if (err == CAIRN_ERR_NOT_FOUND) {
      if (n == q.first) q.first++; /* a hole left by expiry */
      continue;
    }
    if (err != CAIRN_OK) return err;
    uint64_t take = lot < left ? lot : left;
    if (exp != 0 && (first_exp == 0 || exp < first_exp)) first_exp = exp;
    CAIRN_TRY(state_put_lot(v, key, lot - take, exp));
    left -= take;
    if (lot == take && n == q.first) q.first++;
  }
  if (left != 0) return CAIRN_ERR_CORRUPT; /* lots must sum to the balance */
  if (earliest != NULL) *earliest = first_exp;
  CAIRN_TRY(state_touch(v, ctx, account, brand, &q));
  CAIRN_TRY(state_put_lots(v, account, brand, &q));
  return state_put_balance(v, account, brand, bal - amount);
}

static bool state_same_key(const uint8_t a[32], const uint8_t b[32]) {
  return memcmp(a, b, CAIRN_PUBKEY_BYTES) == 0;
}

/* The issue counters and the brand's fraud limits: per transaction, then
 * per day (the day of the block's time; a new day starts the count at 0),
 * then the lifetime total. */
static cairn_err state_issue_count(cairn_view *v, const cairn_exec_ctx *ctx,
                                   const cairn_brand *b, uint64_t amount) {
  const cairn_brand_policy *p = &b->policy;
  cairn_brand_stats st;
  if (p->max_issue_per_tx != 0 && amount > p->max_issue_per_tx)
    return CAIRN_ERR_ISSUE_LIMIT_TX;
  CAIRN_TRY(cairn_state_brand_stats(v, b->id, &st));
  uint64_t day = ctx->time_ms / CAIRN_DAY_MS;
  if (st.issue_day != day) {
    st.issue_day = day;
    st.issued_in_day = 0;
  }
  if (p->max_issue_per_day != 0 &&
      (st.issued_in_day > p->max_issue_per_day ||
       amount > p->max_issue_per_day - st.issued_in_day))
    return CAIRN_ERR_ISSUE_LIMIT_DAY;
  CAIRN_TRY(state_add(&st.issued_in_day, amount));
  CAIRN_TRY(state_add(&st.issued, amount));
  return state_put_stats(v, b->id, &st);
}

static cairn_err state_put_issue_record(cairn_view *v,
                                        const cairn_issue_record *r);

static cairn_err state_issue(cairn_view *v, const cairn_exec_ctx *ctx,
                             const cairn_tx *tx, const uint8_t txid[32]) {
  const cairn_tx_credit *c = &tx->u.issue;
  cairn_brand b;
  assert(c->amount >= 1);
  CAIRN_TRY(cairn_state_brand(v, c->brand, &b));
  if (!state_same_key(b.issuer, tx->sender)) return CAIRN_ERR_NOT_ISSUER;
  if (state_same_key(c->to, tx->sender)) return CAIRN_ERR_SELF_TRANSFER;
  CAIRN_TRY(state_issue_count(v, ctx, &b, c->amount));
  uint64_t expiry = b.policy.expiry_mode == CAIRN_EXPIRY_FIXED
                        ? state_after(ctx->height, b.policy.expiry_blocks)
                        : 0;
  CAIRN_TRY(state_credit(v, ctx, c->to, c->brand, c->amount, expiry));
  cairn_issue_record rec;
  memset(&rec, 0, sizeof rec);
  memcpy(rec.id, txid, CAIRN_HASH_BYTES);
  rec.brand = c->brand;
  memcpy(rec.member, c->to, CAIRN_PUBKEY_BYTES);
  rec.amount = c->amount;
  return state_put_issue_record(v, &rec);
}

static cairn_err state_transfer(cairn_view *v, const cairn_exec_ctx *ctx,
                                const cairn_tx *tx) {
  const cairn_tx_credit *c = &tx->u.transfer;
  cairn_brand b;
  assert(c->amount >= 1);
  CAIRN_TRY(cairn_state_brand(v, c->brand, &b));
  if ((b.flags & CAIRN_BRAND_FLAG_TRANSFERABLE) == 0)
    return CAIRN_ERR_NOT_TRANSFERABLE;
  if (state_same_key(c->to, tx->sender)) return CAIRN_ERR_SELF_TRANSFER;
  uint64_t expiry = 0; /* the recipient inherits the earliest expiry */
  CAIRN_TRY(state_debit(v, ctx, tx->sender, c->brand, c->amount, &expiry));
  return state_credit(v, ctx, c->to, c->brand, c->amount, expiry);
}

static cairn_err state_redeem(cairn_view *v, const cairn_exec_ctx *ctx,
                              const cairn_tx *tx) {
  const cairn_tx_redeem *r = &tx->u.redeem;
  cairn_brand b;
  assert(r->amount >= 1);
  CAIRN_TRY(cairn_state_brand(v, r->brand, &b));
  CAIRN_TRY(state_debit(v, ctx, tx->sender, r->brand, r->amount, NULL));
  return state_stats_add(v, r->brand,
                         offsetof(cairn_brand_stats, redeemed_home),
                         r->amount);
}

static cairn_err state_coupon_issue(cairn_view *v, const cairn_exec_ctx *ctx,
                                    const cairn_tx *tx,
                                    const uint8_t txid[32]) {
  const cairn_tx_coupon_issue *ci = &tx->u.coupon_issue;
  cairn_brand b;
  cairn_coupon c;
  assert(ci->kind == CAIRN_COUPON_AMOUNT || ci->kind == CAIRN_COUPON_PERCENT);
  assert(ci->value >= 1 && ci->label_len <= CAIRN_LABEL_BYTES_MAX);
  CAIRN_TRY(cairn_state_brand(v, ci->brand, &b));
  if (!state_same_key(b.issuer, tx->sender)) return CAIRN_ERR_NOT_ISSUER;
  if (state_same_key(ci->to, tx->sender)) return CAIRN_ERR_SELF_TRANSFER;
  if (ci->expiry_height < ctx->height) return CAIRN_ERR_COUPON_EXPIRED;
  cairn_err err = cairn_state_coupon(v, txid, &c);
  if (err == CAIRN_OK) return CAIRN_ERR_COUPON_EXISTS;
  if (err != CAIRN_ERR_COUPON_UNKNOWN) return err;
  memset(&c, 0, sizeof c);
  memcpy(c.id, txid, CAIRN_HASH_BYTES);
  c.brand = ci->brand;
  memcpy(c.owner, ci->to, CAIRN_PUBKEY_BYTES);
  c.kind = ci->kind;
  c.value = ci->value;
  c.expiry_height = ci->expiry_height;
  c.transferable = ci->transferable;
  c.status = CAIRN_COUPON_ACTIVE;
  c.issued_height = ctx->height;
  c.label_len = ci->label_len;
  memcpy(c.label, ci->label, ci->label_len);
  CAIRN_TRY(state_put_coupon(v, &c));
  return state_put_owner(v, c.owner, c.id);
}

/* The checks shared by coupon transfer and redeem, in the documented order:
 * exists, owned by the sender, not used, not expired. */
static cairn_err state_coupon_usable(cairn_view *v, const cairn_exec_ctx *ctx,
                                     const cairn_tx *tx, const uint8_t id[32],
                                     cairn_coupon *c) {
  CAIRN_TRY(cairn_state_coupon(v, id, c));
  if (!state_same_key(c->owner, tx->sender)) return CAIRN_ERR_COUPON_NOT_OWNER;
  if (c->status == CAIRN_COUPON_USED) return CAIRN_ERR_COUPON_REDEEMED;
  if (ctx->height > c->expiry_height) return CAIRN_ERR_COUPON_EXPIRED;
  return CAIRN_OK;
}

static cairn_err state_coupon_transfer(cairn_view *v,
                                       const cairn_exec_ctx *ctx,
                                       const cairn_tx *tx) {
  const cairn_tx_coupon_transfer *ct = &tx->u.coupon_transfer;
  cairn_coupon c;
  CAIRN_TRY(state_coupon_usable(v, ctx, tx, ct->coupon, &c));
  if (!c.transferable) return CAIRN_ERR_COUPON_NOT_TRANSFERABLE;
  if (state_same_key(ct->to, tx->sender)) return CAIRN_ERR_SELF_TRANSFER;
  memcpy(c.owner, ct->to, CAIRN_PUBKEY_BYTES);
  CAIRN_TRY(state_put_coupon(v, &c));
  CAIRN_TRY(state_del_owner(v, tx->sender, c.id));
  return state_put_owner(v, c.owner, c.id);
}

static cairn_err state_coupon_redeem(cairn_view *v, const cairn_exec_ctx *ctx,
                                     const cairn_tx *tx) {
  const cairn_tx_coupon_redeem *cr = &tx->u.coupon_redeem;
  cairn_coupon c;
  CAIRN_TRY(state_coupon_usable(v, ctx, tx, cr->coupon, &c));
  if (cr->brand != c.brand) return CAIRN_ERR_COUPON_WRONG_BRAND;
  c.status = CAIRN_COUPON_USED;
  c.redeemed_height = ctx->height;
  /* The owner index entry stays: the owner's history lists it. */
  return state_put_coupon(v, &c);
}

/* The issuer replaces the brand's flags and policy; name and issuer stay. */
static cairn_err state_policy(cairn_view *v, const cairn_tx *tx) {
  const cairn_tx_policy *p = &tx->u.policy;
  cairn_brand b;
  assert(cairn_brand_policy_check(&p->policy) == CAIRN_OK);
  CAIRN_TRY(cairn_state_brand(v, p->brand, &b));
  if (!state_same_key(b.issuer, tx->sender)) return CAIRN_ERR_NOT_ISSUER;
  b.flags = p->flags;
  b.policy = p->policy;
  return state_put_brand(v, &b);
}

/* ---- holds (two-phase redemption) ----
 *
 * A HOLD moves points from the member's balance into a hold record (and
 * brand_stats.held), so they cannot be spent elsewhere; CAPTURE burns part
 * or all of it at the brand and returns the rest; RELEASE returns all of
 * it. A hold that is neither captured nor released goes back by itself at
 * the start of the first block past its timeout height. To find those
 * holds without scanning, each hold's id is appended to an index under its
 * timeout height: hold_timeouts[timeout u64] = bucket count u32, and
 * hold_timeouts[timeout u64 | bucket u32] = up to STATE_HOLD_BUCKET_IDS
 * ids. The index is never edited when a hold ends early; block start
 * simply skips ids whose hold is gone. Heights advance one at a time, so
 * block h reads exactly the entry of height h - 1 and deletes it.
 */
#define STATE_HOLD_BUCKET_IDS (CAIRN_VALUE_BYTES_MAX / CAIRN_HASH_BYTES)
_Static_assert(STATE_HOLD_BUCKET_IDS >= 1, "a bucket holds an id");

void cairn_hold_encode(uint8_t out[CAIRN_HOLD_RECORD_BYTES],
                       const cairn_hold *h) {
  cairn_be32_write(out, h->brand);
  memcpy(out + 4, h->member, CAIRN_PUBKEY_BYTES);
  cairn_be64_write(out + 36, h->amount);
  cairn_be64_write(out + 44, h->timeout_height);
  cairn_be64_write(out + 52, h->points_expiry);
}

cairn_err cairn_hold_decode(cairn_hold *h, const uint8_t id[32],
                            const uint8_t *buf, size_t len) {
  memset(h, 0, sizeof *h);
  if (len != CAIRN_HOLD_RECORD_BYTES) return CAIRN_ERR_CORRUPT;
  h->brand = cairn_be32_read(buf);
  memcpy(h->member, buf + 4, CAIRN_PUBKEY_BYTES);
  h->amount = cairn_be64_read(buf + 36);
  h->timeout_height = cairn_be64_read(buf + 44);
  h->points_expiry = cairn_be64_read(buf + 52);
  if (h->brand == 0 || h->amount == 0 || h->timeout_height == 0) {
    memset(h, 0, sizeof *h);
    return CAIRN_ERR_CORRUPT;
  }
  memcpy(h->id, id, CAIRN_HASH_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_state_hold(cairn_view *v, const uint8_t id[32],
                           cairn_hold *out) {
  uint8_t val[CAIRN_HOLD_RECORD_BYTES];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = state_get(v, CAIRN_T_HOLDS, id, CAIRN_HASH_BYTES, val,
                            sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_HOLD_UNKNOWN;
  if (err != CAIRN_OK) return err;
  return cairn_hold_decode(out, id, val, vlen);
}

/* Append id to the index of its timeout height. */
static cairn_err state_timeout_add(cairn_view *v, uint64_t timeout,
                                   const uint8_t id[32]) {
  return state_bucket_add(v, CAIRN_T_HOLD_TIMEOUTS, timeout, id,
                          CAIRN_HASH_BYTES);
}

/* End a hold: `captured` points are burned at the brand, the rest goes
 * back to the member with the expiry it had (or, if that has passed while
 * the points were held, expires at once); the record is deleted. */
static cairn_err state_hold_end(cairn_view *v, const cairn_exec_ctx *ctx,
                                const cairn_hold *h, uint64_t captured) {
  cairn_brand_stats st;
  assert(captured <= h->amount);
  uint64_t back = h->amount - captured;
  bool lapsed = h->points_expiry != 0 && h->points_expiry < ctx->height;
  CAIRN_TRY(cairn_state_brand_stats(v, h->brand, &st));
  if (st.held < h->amount) return CAIRN_ERR_CORRUPT;
  st.held -= h->amount;
  CAIRN_TRY(state_add(&st.redeemed_home, captured));
  if (lapsed) CAIRN_TRY(state_add(&st.expired, back));
  CAIRN_TRY(state_put_stats(v, h->brand, &st));
  if (back > 0 && !lapsed) {
    CAIRN_TRY(state_credit(v, ctx, h->member, h->brand, back,
                           h->points_expiry));
  }
  return cairn_view_del(v, CAIRN_T_HOLDS, h->id, CAIRN_HASH_BYTES);
}

static cairn_err state_hold(cairn_view *v, const cairn_exec_ctx *ctx,
                            const cairn_tx *tx, const uint8_t txid[32]) {
  const cairn_tx_hold *th = &tx->u.hold;
  cairn_brand b;
  cairn_hold h;
  assert(th->amount >= 1 && th->timeout_height >= 1);
  CAIRN_TRY(cairn_state_brand(v, th->brand, &b));
  if (th->timeout_height < ctx->height) return CAIRN_ERR_HOLD_TIMEOUT;
  cairn_err err = cairn_state_hold(v, txid, &h);
  if (err == CAIRN_OK) return CAIRN_ERR_CORRUPT; /* txids are unique */
  if (err != CAIRN_ERR_HOLD_UNKNOWN) return err;
  uint64_t points_expiry = 0;
  CAIRN_TRY(state_debit(v, ctx, tx->sender, th->brand, th->amount,
                        &points_expiry));
  CAIRN_TRY(state_stats_add(v, th->brand, offsetof(cairn_brand_stats, held),
                            th->amount));
  uint8_t val[CAIRN_HOLD_RECORD_BYTES];
  memset(&h, 0, sizeof h);
  memcpy(h.id, txid, CAIRN_HASH_BYTES);
  h.brand = th->brand;
  memcpy(h.member, tx->sender, CAIRN_PUBKEY_BYTES);
  h.amount = th->amount;
  h.timeout_height = th->timeout_height;
  h.points_expiry = points_expiry;
  cairn_hold_encode(val, &h);
  CAIRN_TRY(cairn_view_put(v, CAIRN_T_HOLDS, txid, CAIRN_HASH_BYTES, val,
                           sizeof val));
  return state_timeout_add(v, th->timeout_height, txid);
}

/* The hold and its brand, with the sender checked as the brand's issuer. */
static cairn_err state_hold_by_issuer(cairn_view *v, const cairn_tx *tx,
                                      const uint8_t id[32], cairn_hold *h) {
  cairn_brand b;
  CAIRN_TRY(cairn_state_hold(v, id, h));
  CAIRN_TRY(cairn_state_brand(v, h->brand, &b));
  return state_same_key(b.issuer, tx->sender) ? CAIRN_OK
                                              : CAIRN_ERR_NOT_ISSUER;
}

static cairn_err state_capture(cairn_view *v, const cairn_exec_ctx *ctx,
                               const cairn_tx *tx) {
  const cairn_tx_capture *c = &tx->u.capture;
  cairn_hold h;
  CAIRN_TRY(state_hold_by_issuer(v, tx, c->hold, &h));
  if (c->amount > h.amount) return CAIRN_ERR_HOLD_AMOUNT;
  return state_hold_end(v, ctx, &h, c->amount);
}

/* The brand's issuer may release at any time; the member only from the
 * timeout height on; nobody else. */
static cairn_err state_release(cairn_view *v, const cairn_exec_ctx *ctx,
                               const cairn_tx *tx) {
  const cairn_tx_release *r = &tx->u.release;
  cairn_hold h;
  cairn_brand b;
  CAIRN_TRY(cairn_state_hold(v, r->hold, &h));
  CAIRN_TRY(cairn_state_brand(v, h.brand, &b));
  if (!state_same_key(b.issuer, tx->sender)) {
    if (!state_same_key(h.member, tx->sender)) return CAIRN_ERR_NOT_ISSUER;
    if (ctx->height < h.timeout_height) return CAIRN_ERR_HOLD_ACTIVE;
  }
  return state_hold_end(v, ctx, &h, 0);
}

/* Block start: release every hold whose timeout height is h - 1, in the
 * order they were opened (releases commute, so the order cannot change the
 * state), and delete that height's index entries. */
static cairn_err state_release_timed_out(cairn_view *v,
                                         const cairn_exec_ctx *ctx,
                                         uint64_t timeout) {
  uint8_t ckey[8], key[12], cval[4], ids[CAIRN_VALUE_BYTES_MAX];
  size_t vlen = 0;
  cairn_be64_write(ckey, timeout);
  cairn_err err = state_get(v, CAIRN_T_HOLD_TIMEOUTS, ckey, 8, cval,
                            sizeof cval, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  if (vlen != 4) return CAIRN_ERR_CORRUPT;
  uint32_t n = cairn_be32_read(cval);
  for (uint32_t bucket = 0; bucket < n; bucket++) {
    state_bucket_key(key, timeout, bucket);
    CAIRN_TRY(state_get(v, CAIRN_T_HOLD_TIMEOUTS, key, 12, ids, sizeof ids,
                        &vlen));
    if (vlen % CAIRN_HASH_BYTES != 0) return CAIRN_ERR_CORRUPT;
    for (size_t off = 0; off < vlen; off += CAIRN_HASH_BYTES) {
      cairn_hold h;
      err = cairn_state_hold(v, ids + off, &h);
      if (err == CAIRN_ERR_HOLD_UNKNOWN) continue; /* ended early */
      if (err != CAIRN_OK) return err;
      if (h.timeout_height != timeout) return CAIRN_ERR_CORRUPT;
      CAIRN_TRY(state_hold_end(v, ctx, &h, 0));
    }
    CAIRN_TRY(cairn_view_del(v, CAIRN_T_HOLD_TIMEOUTS, key, 12));
  }
  return cairn_view_del(v, CAIRN_T_HOLD_TIMEOUTS, ckey, 8);
}

/* Remove n expired points of (account, brand) from the balance and count
 * them as breakage. */
static cairn_err state_expire_points(cairn_view *v, const uint8_t account[32],
                                     uint32_t brand, uint64_t n) {
  uint64_t bal = 0;
  CAIRN_TRY(cairn_state_balance(v, account, brand, &bal));
  if (bal < n) return CAIRN_ERR_CORRUPT; /* lots must sum to the balance */
  CAIRN_TRY(state_put_balance(v, account, brand, bal - n));
  return state_stats_add(v, brand, offsetof(cairn_brand_stats, expired), n);
}

/* A lot listed under e: removed if it still exists with expiry e. */
static cairn_err state_expire_lot(cairn_view *v, const uint8_t *key,
                                  uint64_t e) {
  uint64_t amount = 0, expiry = 0;
  cairn_err err = state_get_lot(v, key, &amount, &expiry);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK; /* consumed */
  if (err != CAIRN_OK) return err;
  /* Lot numbers restart when a member's queue empties, so a stale entry
   * may name a newer lot: it is due only if its expiry is e. */
  if (expiry != e) return CAIRN_OK;
  uint32_t brand = cairn_be32_read(key + CAIRN_PUBKEY_BYTES);
  CAIRN_TRY(state_put_lot(v, key, 0, 0));
  return state_expire_points(v, key, brand, amount);
}

/* A rolling deadline due at e: if it was not moved since and the brand
 * still expires by rolling, every lot of (account, brand) goes. */
static cairn_err state_expire_deadline(cairn_view *v, const uint8_t *key,
                                       uint64_t e) {
  uint32_t brand = cairn_be32_read(key + CAIRN_PUBKEY_BYTES);
  state_lots q;
  cairn_brand b;
  CAIRN_TRY(state_get_lots(v, key, brand, &q));
  if (q.deadline != e) return CAIRN_OK; /* moved by later activity */
  CAIRN_TRY(cairn_state_brand(v, brand, &b));
  q.deadline = 0;
  if (b.policy.expiry_mode == CAIRN_EXPIRY_ROLLING) {
    uint64_t total = 0;
    for (uint64_t n = q.first; n < q.next; n++) {
      uint8_t lk[STATE_LOT_KEY_BYTES];
      uint64_t amount = 0, expiry = 0;
      state_lot_key(lk, key, brand, n);
      cairn_err err = state_get_lot(v, lk, &amount, &expiry);
      if (err == CAIRN_ERR_NOT_FOUND) continue;
      if (err != CAIRN_OK) return err;
      CAIRN_TRY(state_put_lot(v, lk, 0, 0));
      CAIRN_TRY(state_add(&total, amount));
    }
    q.first = q.next;
    if (total > 0) CAIRN_TRY(state_expire_points(v, key, brand, total));
  }
  return state_put_lots(v, key, brand, &q);
}

/* Block start: everything listed under height e (= h - 1) that is still
 * due expires, in the order it was listed; then the index entry goes. */
static cairn_err state_expire(cairn_view *v, uint64_t e) {
  uint8_t ckey[8], bkey[12], cval[4], keys[CAIRN_VALUE_BYTES_MAX];
  size_t vlen = 0;
  cairn_be64_write(ckey, e);
  cairn_err err = state_get(v, CAIRN_T_LOT_EXPIRY, ckey, 8, cval, sizeof cval,
                            &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  if (vlen != 4) return CAIRN_ERR_CORRUPT;
  uint32_t n = cairn_be32_read(cval);
  for (uint32_t bucket = 0; bucket < n; bucket++) {
    state_bucket_key(bkey, e, bucket);
    CAIRN_TRY(state_get(v, CAIRN_T_LOT_EXPIRY, bkey, 12, keys, sizeof keys,
                        &vlen));
    if (vlen % STATE_LOT_KEY_BYTES != 0) return CAIRN_ERR_CORRUPT;
    for (size_t off = 0; off < vlen; off += STATE_LOT_KEY_BYTES) {
      const uint8_t *key = keys + off;
      uint64_t lot_no = cairn_be64_read(key + CAIRN_BALANCE_KEY_BYTES);
      if (lot_no == STATE_LOT_DEADLINE) {
        CAIRN_TRY(state_expire_deadline(v, key, e));
      } else {
        CAIRN_TRY(state_expire_lot(v, key, e));
      }
    }
    CAIRN_TRY(cairn_view_del(v, CAIRN_T_LOT_EXPIRY, bkey, 12));
  }
  return cairn_view_del(v, CAIRN_T_LOT_EXPIRY, ckey, 8);
}

cairn_err cairn_state_begin_block(cairn_view *v, const cairn_exec_ctx *ctx) {
  assert(v != NULL && ctx != NULL && ctx->height >= 1);
  size_t savepoint = cairn_view_savepoint(v);
  cairn_err err = CAIRN_OK;
  if (ctx->height >= 2) err = state_release_timed_out(v, ctx, ctx->height - 1);
  if (err == CAIRN_OK && ctx->height >= 2)
    err = state_expire(v, ctx->height - 1);
  if (err == CAIRN_OK) err = cairn_staking_begin_block(v, ctx);
  if (err != CAIRN_OK) cairn_view_rollback(v, savepoint);
  return err;
}

/* ---- reversals ----
 *
 * Every ISSUE leaves a record of what it credited; a REVERSE claws back
 * at most what is left of it. It can only take points the member still
 * has: spent (or held) points stay spent, so the clawback is
 * min(amount, balance), the member's balance never goes below zero, and
 * the record counts what was actually taken, so the brand may reverse the
 * rest later if the member earns more points.
 */
void cairn_issue_record_encode(uint8_t out[CAIRN_ISSUE_RECORD_BYTES],
                               const cairn_issue_record *r) {
  assert(r->reversed <= r->amount);
  cairn_be32_write(out, r->brand);
  memcpy(out + 4, r->member, CAIRN_PUBKEY_BYTES);
  cairn_be64_write(out + 36, r->amount);
  cairn_be64_write(out + 44, r->reversed);
}

cairn_err cairn_issue_record_decode(cairn_issue_record *r,
                                    const uint8_t id[32], const uint8_t *buf,
                                    size_t len) {
  memset(r, 0, sizeof *r);
  if (len != CAIRN_ISSUE_RECORD_BYTES) return CAIRN_ERR_CORRUPT;
  r->brand = cairn_be32_read(buf);
  memcpy(r->member, buf + 4, CAIRN_PUBKEY_BYTES);
  r->amount = cairn_be64_read(buf + 36);
  r->reversed = cairn_be64_read(buf + 44);
  if (r->brand == 0 || r->amount == 0 || r->reversed > r->amount) {
    memset(r, 0, sizeof *r);
    return CAIRN_ERR_CORRUPT;
  }
  memcpy(r->id, id, CAIRN_HASH_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_state_issue_record(cairn_view *v, const uint8_t id[32],
                                   cairn_issue_record *out) {
  uint8_t val[CAIRN_ISSUE_RECORD_BYTES];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = state_get(v, CAIRN_T_ISSUES, id, CAIRN_HASH_BYTES, val,
                            sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_ISSUE_UNKNOWN;
  if (err != CAIRN_OK) return err;
  return cairn_issue_record_decode(out, id, val, vlen);
}

static cairn_err state_put_issue_record(cairn_view *v,
                                        const cairn_issue_record *r) {
  uint8_t val[CAIRN_ISSUE_RECORD_BYTES];
  cairn_issue_record_encode(val, r);
  return cairn_view_put(v, CAIRN_T_ISSUES, r->id, CAIRN_HASH_BYTES, val,
                        sizeof val);
}

static cairn_err state_reverse(cairn_view *v, const cairn_exec_ctx *ctx,
                               const cairn_tx *tx) {
  const cairn_tx_reverse *rv = &tx->u.reverse;
  cairn_issue_record rec;
  cairn_brand b;
  uint64_t have = 0;
  assert(rv->amount >= 1);
  CAIRN_TRY(cairn_state_issue_record(v, rv->issue, &rec));
  CAIRN_TRY(cairn_state_brand(v, rec.brand, &b));
  if (!state_same_key(b.issuer, tx->sender)) return CAIRN_ERR_NOT_ISSUER;
  if (rv->amount > rec.amount - rec.reversed) return CAIRN_ERR_REVERSE_EXCEEDS;
  CAIRN_TRY(cairn_state_balance(v, rec.member, rec.brand, &have));
  uint64_t taken = rv->amount < have ? rv->amount : have;
  if (taken == 0) return CAIRN_ERR_INSUFFICIENT;
  CAIRN_TRY(state_debit(v, ctx, rec.member, rec.brand, taken, NULL));
  CAIRN_TRY(state_stats_add(v, rec.brand,
                            offsetof(cairn_brand_stats, reversed), taken));
  rec.reversed += taken;
  return state_put_issue_record(v, &rec);
}

/* ---- exchange agreements, cross-brand redemption, settlement ----
 *
 * An agreement is named by the hash of its terms, so the two brands sign
 * "the same" agreement exactly when they sign the same terms: each side's
 * AGREE sets its bit, and the agreement is active once both bits are set,
 * neither side revoked it, and the height is inside its window. REDEEM_AT
 * burns the member's A points (A's liability falls: redeemed_partner) and
 * records that A owes B their value in B points; SETTLE, signed by the
 * creditor B once it has been paid, reduces the debt.
 */
bool cairn_agreement_active(const cairn_agreement *a, uint64_t height) {
  const uint8_t both = CAIRN_AGREEMENT_SIGNED_FROM | CAIRN_AGREEMENT_SIGNED_TO;
  if ((a->signed_by & both) != both || a->revoked) return false;
  if (height < a->terms.valid_from_height) return false;
  return a->terms.valid_until_height == 0 ||
         height <= a->terms.valid_until_height;
}

/* 64 x 64 -> 128 bits from 32-bit halves, then a restoring division. */
cairn_err cairn_state_exchange_value(uint64_t amount, uint64_t num,
                                     uint64_t den, uint64_t *out) {
  assert(den >= 1 && out != NULL);
  *out = 0;
  const uint64_t m32 = 0xffffffffull;
  uint64_t p0 = (amount & m32) * (num & m32);
  uint64_t p1 = (amount & m32) * (num >> 32);
  uint64_t p2 = (amount >> 32) * (num & m32);
  uint64_t p3 = (amount >> 32) * (num >> 32);
  uint64_t mid = (p0 >> 32) + (p1 & m32) + (p2 & m32);
  uint64_t lo = (p0 & m32) | (mid << 32);
  uint64_t hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
  if (hi >= den) return CAIRN_ERR_OVERFLOW; /* quotient >= 2^64 */
  uint64_t rem = hi, quo = 0;
  for (int bit = 63; bit >= 0; bit--) {
    bool carry = (rem >> 63) != 0;
    rem = (rem << 1) | ((lo >> bit) & 1u);
    quo <<= 1;
    if (carry || rem >= den) {
      rem -= den; /* wraps back into range when carry was set */
      quo |= 1u;
    }
  }
  assert(rem < den);
  *out = quo;
  return CAIRN_OK;
}

void cairn_agreement_encode(uint8_t out[CAIRN_AGREEMENT_RECORD_BYTES],
                            const cairn_agreement *a) {
  const cairn_agreement_terms *t = &a->terms;
  cairn_be32_write(out, t->from_brand);
  cairn_be32_write(out + 4, t->to_brand);
  cairn_be64_write(out + 8, t->rate_num);
  cairn_be64_write(out + 16, t->rate_den);
  cairn_be64_write(out + 24, t->valid_from_height);
  cairn_be64_write(out + 32, t->valid_until_height);
  cairn_be64_write(out + 40, t->cap);
  out[48] = a->signed_by;
  out[49] = a->revoked ? 1 : 0;
  cairn_be64_write(out + 50, a->redeemed);
}

cairn_err cairn_agreement_decode(cairn_agreement *a, const uint8_t id[32],
                                 const uint8_t *buf, size_t len) {
  uint8_t want[CAIRN_HASH_BYTES];
  memset(a, 0, sizeof *a);
  if (len != CAIRN_AGREEMENT_RECORD_BYTES) return CAIRN_ERR_CORRUPT;
  cairn_agreement_terms *t = &a->terms;
  t->from_brand = cairn_be32_read(buf);
  t->to_brand = cairn_be32_read(buf + 4);
  t->rate_num = cairn_be64_read(buf + 8);
  t->rate_den = cairn_be64_read(buf + 16);
  t->valid_from_height = cairn_be64_read(buf + 24);
  t->valid_until_height = cairn_be64_read(buf + 32);
  t->cap = cairn_be64_read(buf + 40);
  a->signed_by = buf[48];
  a->revoked = buf[49] == 1;
  a->redeemed = cairn_be64_read(buf + 50);
  cairn_agreement_id(want, t);
  if (memcmp(want, id, CAIRN_HASH_BYTES) != 0 || t->rate_den == 0 ||
      buf[49] > 1 || a->signed_by == 0 ||
      (a->signed_by & ~(CAIRN_AGREEMENT_SIGNED_FROM |
                        CAIRN_AGREEMENT_SIGNED_TO)) != 0) {
    memset(a, 0, sizeof *a);
    return CAIRN_ERR_CORRUPT;
  }
  memcpy(a->id, id, CAIRN_HASH_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_state_agreement(cairn_view *v, const uint8_t id[32],
                                cairn_agreement *out) {
  uint8_t val[CAIRN_AGREEMENT_RECORD_BYTES];
  size_t vlen = 0;
  memset(out, 0, sizeof *out);
  cairn_err err = state_get(v, CAIRN_T_AGREEMENTS, id, CAIRN_HASH_BYTES, val,
                            sizeof val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_ERR_AGREEMENT_UNKNOWN;
  if (err != CAIRN_OK) return err;
  return cairn_agreement_decode(out, id, val, vlen);
}

static cairn_err state_put_agreement(cairn_view *v, const cairn_agreement *a) {
  uint8_t val[CAIRN_AGREEMENT_RECORD_BYTES];
  cairn_agreement_encode(val, a);
  return cairn_view_put(v, CAIRN_T_AGREEMENTS, a->id, CAIRN_HASH_BYTES, val,
                        sizeof val);
}

static void state_settlement_key(uint8_t out[8], uint32_t debtor,
                                 uint32_t creditor) {
  cairn_be32_write(out, debtor);
  cairn_be32_write(out + 4, creditor);
}

cairn_err cairn_state_settlement(cairn_view *v, uint32_t debtor,
                                 uint32_t creditor, uint64_t *out) {
  uint8_t key[8];
  state_settlement_key(key, debtor, creditor);
  return state_get_nonzero_u64(v, CAIRN_T_SETTLEMENTS, key, sizeof key, out);
}

static cairn_err state_put_settlement(cairn_view *v, uint32_t debtor,
                                      uint32_t creditor, uint64_t owed) {
  uint8_t key[8], val[8];
  state_settlement_key(key, debtor, creditor);
  if (owed == 0) return cairn_view_del(v, CAIRN_T_SETTLEMENTS, key, 8);
  cairn_be64_write(val, owed);
  return cairn_view_put(v, CAIRN_T_SETTLEMENTS, key, 8, val, sizeof val);
}

/* Which side(s) the sender signs for: A's issuer, B's issuer, or both (one
 * key may issue both brands); 0 when neither. */
static uint8_t state_agreement_sides(const cairn_brand *a,
                                     const cairn_brand *b,
                                     const uint8_t sender[32]) {
  uint8_t sides = 0;
  if (state_same_key(a->issuer, sender)) sides |= CAIRN_AGREEMENT_SIGNED_FROM;
  if (state_same_key(b->issuer, sender)) sides |= CAIRN_AGREEMENT_SIGNED_TO;
  return sides;
}

static cairn_err state_agree(cairn_view *v, const cairn_tx *tx) {
  const cairn_agreement_terms *t = &tx->u.agree.terms;
  cairn_brand a, b;
  cairn_agreement ag;
  uint8_t id[CAIRN_HASH_BYTES];
  CAIRN_TRY(cairn_state_brand(v, t->from_brand, &a));
  CAIRN_TRY(cairn_state_brand(v, t->to_brand, &b));
  uint8_t sides = state_agreement_sides(&a, &b, tx->sender);
  if (sides == 0) return CAIRN_ERR_NOT_ISSUER;
  cairn_agreement_id(id, t);
  cairn_err err = cairn_state_agreement(v, id, &ag);
  if (err == CAIRN_ERR_AGREEMENT_UNKNOWN) {
    memset(&ag, 0, sizeof ag);
    memcpy(ag.id, id, CAIRN_HASH_BYTES);
    ag.terms = *t;
  } else if (err != CAIRN_OK) {
    return err;
  } else if (ag.revoked) {
    return CAIRN_ERR_AGREEMENT_REVOKED;
  } else if ((ag.signed_by & sides) == sides) {
    return CAIRN_ERR_AGREEMENT_SIGNED;
  }
  ag.signed_by |= sides;
  return state_put_agreement(v, &ag);
}

static cairn_err state_revoke(cairn_view *v, const cairn_tx *tx) {
  cairn_agreement ag;
  cairn_brand a, b;
  CAIRN_TRY(cairn_state_agreement(v, tx->u.revoke.agreement, &ag));
  CAIRN_TRY(cairn_state_brand(v, ag.terms.from_brand, &a));
  CAIRN_TRY(cairn_state_brand(v, ag.terms.to_brand, &b));
  if (state_agreement_sides(&a, &b, tx->sender) == 0)
    return CAIRN_ERR_NOT_ISSUER;
  if (ag.revoked) return CAIRN_ERR_AGREEMENT_REVOKED;
  ag.revoked = true;
  return state_put_agreement(v, &ag);
}

/* The checks of REDEEM_AT up to the value, in the documented order. */
static cairn_err state_redeem_at_check(cairn_view *v,
                                       const cairn_exec_ctx *ctx,
                                       const cairn_tx_redeem_at *r,
                                       cairn_agreement *ag, uint64_t *value) {
  cairn_brand a, b;
  CAIRN_TRY(cairn_state_brand(v, r->from_brand, &a));
  CAIRN_TRY(cairn_state_brand(v, r->at_brand, &b));
  if ((a.flags & CAIRN_BRAND_FLAG_NO_PARTNERS) != 0)
    return CAIRN_ERR_NOT_ACCEPTED;
  CAIRN_TRY(cairn_state_agreement(v, r->agreement, ag));
  if (ag->terms.from_brand != r->from_brand ||
      ag->terms.to_brand != r->at_brand)
    return CAIRN_ERR_AGREEMENT_UNKNOWN;
  if (!cairn_agreement_active(ag, ctx->height))
    return CAIRN_ERR_AGREEMENT_INACTIVE;
  if (ag->terms.cap != 0 && (ag->redeemed > ag->terms.cap ||
                             r->amount > ag->terms.cap - ag->redeemed))
    return CAIRN_ERR_AGREEMENT_CAP;
  CAIRN_TRY(cairn_state_exchange_value(r->amount, ag->terms.rate_num,
                                       ag->terms.rate_den, value));
  return *value == 0 ? CAIRN_ERR_RATE_TOO_SMALL : CAIRN_OK;
}

static cairn_err state_redeem_at(cairn_view *v, const cairn_exec_ctx *ctx,
                                 const cairn_tx *tx) {
  const cairn_tx_redeem_at *r = &tx->u.redeem_at;
  cairn_agreement ag;
  uint64_t value = 0, owed = 0;
  assert(r->amount >= 1 && r->from_brand != r->at_brand);
  CAIRN_TRY(state_redeem_at_check(v, ctx, r, &ag, &value));
  CAIRN_TRY(state_debit(v, ctx, tx->sender, r->from_brand, r->amount, NULL));
  CAIRN_TRY(state_stats_add(v, r->from_brand,
                            offsetof(cairn_brand_stats, redeemed_partner),
                            r->amount));
  CAIRN_TRY(state_add(&ag.redeemed, r->amount));
  CAIRN_TRY(state_put_agreement(v, &ag));
  CAIRN_TRY(cairn_state_settlement(v, r->from_brand, r->at_brand, &owed));
  CAIRN_TRY(state_add(&owed, value));
  return state_put_settlement(v, r->from_brand, r->at_brand, owed);
}

static cairn_err state_settle(cairn_view *v, const cairn_tx *tx) {
  const cairn_tx_settle *st = &tx->u.settle;
  cairn_brand debtor, creditor;
  uint64_t owed = 0;
  CAIRN_TRY(cairn_state_brand(v, st->debtor_brand, &debtor));
  CAIRN_TRY(cairn_state_brand(v, st->creditor_brand, &creditor));
  if (!state_same_key(creditor.issuer, tx->sender)) return CAIRN_ERR_NOT_ISSUER;
  CAIRN_TRY(cairn_state_settlement(v, st->debtor_brand, st->creditor_brand,
                                   &owed));
  if (st->amount > owed) return CAIRN_ERR_SETTLE_EXCEEDS;
  return state_put_settlement(v, st->debtor_brand, st->creditor_brand,
                              owed - st->amount);
}

/* The staking types, with the chain's parameters (staking.c). */
static cairn_err state_staking(cairn_view *v, const cairn_exec_ctx *ctx,
                               const cairn_tx *tx, const uint8_t txid[32]) {
  cairn_staking_params p;
  CAIRN_TRY(cairn_staking_params_read(v, &p));
  return cairn_staking_apply_tx(v, ctx, &p, tx, txid);
}

static cairn_err state_apply_rules(cairn_view *v, const cairn_exec_ctx *ctx,
                                   const cairn_tx *tx, const uint8_t txid[32]) {
  CAIRN_TRY(state_check_envelope(v, ctx, tx));
  cairn_err err;
  switch (tx->type) {
  case CAIRN_TX_ISSUE: err = state_issue(v, ctx, tx, txid); break;
  case CAIRN_TX_TRANSFER: err = state_transfer(v, ctx, tx); break;
  case CAIRN_TX_REDEEM: err = state_redeem(v, ctx, tx); break;
  case CAIRN_TX_COUPON_ISSUE: err = state_coupon_issue(v, ctx, tx, txid); break;
  case CAIRN_TX_COUPON_TRANSFER: err = state_coupon_transfer(v, ctx, tx); break;
  case CAIRN_TX_COUPON_REDEEM: err = state_coupon_redeem(v, ctx, tx); break;
  case CAIRN_TX_POLICY: err = state_policy(v, tx); break;
  case CAIRN_TX_HOLD: err = state_hold(v, ctx, tx, txid); break;
  case CAIRN_TX_CAPTURE: err = state_capture(v, ctx, tx); break;
  case CAIRN_TX_RELEASE: err = state_release(v, ctx, tx); break;
  case CAIRN_TX_REVERSE: err = state_reverse(v, ctx, tx); break;
  case CAIRN_TX_AGREE: err = state_agree(v, tx); break;
  case CAIRN_TX_REVOKE: err = state_revoke(v, tx); break;
  case CAIRN_TX_REDEEM_AT: err = state_redeem_at(v, ctx, tx); break;
  case CAIRN_TX_SETTLE: err = state_settle(v, tx); break;
  case CAIRN_TX_BOND:
  case CAIRN_TX_UNBOND:
  case CAIRN_TX_ADMIT:
  case CAIRN_TX_APPROVE:
  case CAIRN_TX_EVIDENCE:
  case CAIRN_TX_STAKE_TRANSFER: err = state_staking(v, ctx, tx, txid); break;
  default: err = CAIRN_ERR_BAD_TYPE; break;
  }
  if (err != CAIRN_OK) return err;
  return state_finish_tx(v, tx, txid);
}

cairn_err cairn_state_apply_tx(cairn_view *v, const cairn_exec_ctx *ctx,
                               const cairn_tx *tx, const uint8_t txid[32]) {
  assert(ctx->chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  assert(tx->chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  assert(ctx->height >= 1); /* transactions live in blocks 1.. */
  size_t savepoint = cairn_view_savepoint(v);
  cairn_err err = state_apply_rules(v, ctx, tx, txid);
  if (err != CAIRN_OK) cairn_view_rollback(v, savepoint);
  return err;
}

cairn_err cairn_state_hash_next(uint8_t out[CAIRN_HASH_BYTES],
                                const uint8_t prev[CAIRN_HASH_BYTES],
                                const cairn_view *v) {
  uint8_t buf[2 * CAIRN_HASH_BYTES];
  memset(out, 0, CAIRN_HASH_BYTES);
  memcpy(buf, prev, CAIRN_HASH_BYTES);
  CAIRN_TRY(cairn_view_digest(v, buf + CAIRN_HASH_BYTES));
  cairn_tagged_hash(out, CAIRN_TAG_STATE, buf, sizeof buf);
  return CAIRN_OK;
}
