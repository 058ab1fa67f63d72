/*
 * ledger/state.c - the state machine: what each transaction does to the
 * application state.
 *
 * The state is six small key-value tables (balances, sequences, coupons,
 * coupon_owner, brands, validators; layouts in state.h). This file never
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
 *   4. the type's own rules (brand, issuer, transferability, recipient,
 *      balance or coupon state),
 *   5. the sender's sequence is written last.
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
#include <string.h>

#include "cairn/encoding.h"

/* Largest valid records; a stored value bigger than these is corrupt. */
#define STATE_COUPON_RECORD_BYTES_MAX                                          \
  (4 + 32 + 1 + 8 + 8 + 1 + 1 + 8 + 8 + 1 + CAIRN_LABEL_BYTES_MAX)
#define STATE_BRAND_RECORD_BYTES_MAX (1 + 32 + 1 + CAIRN_NAME_BYTES_MAX)
#define STATE_VALIDATOR_RECORD_BYTES_MAX (8 + 1 + CAIRN_NAME_BYTES_MAX)
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
  *len = 0;
  return cairn_writer_finish(&w, len);
}

static cairn_err state_brand_decode_fields(cairn_brand *b, cairn_reader *r) {
  const uint8_t *name = NULL;
  size_t name_len = 0;
  CAIRN_TRY(cairn_get_u8(r, &b->flags));
  CAIRN_TRY(cairn_get_bytes(r, b->issuer, CAIRN_PUBKEY_BYTES));
  CAIRN_TRY(cairn_get_var8(r, &name, &name_len, CAIRN_NAME_BYTES_MAX));
  CAIRN_TRY(cairn_reader_end(r));
  if ((b->flags & ~CAIRN_BRAND_FLAGS_KNOWN) != 0) return CAIRN_ERR_RANGE;
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

static cairn_err state_put_validator(cairn_view *v, const cairn_validator *vd) {
  uint8_t val[STATE_VALIDATOR_RECORD_BYTES_MAX];
  size_t vlen = 0;
  assert(vd->name_len <= CAIRN_NAME_BYTES_MAX);
  cairn_writer w;
  cairn_writer_init(&w, val, sizeof val);
  cairn_put_u64(&w, vd->power);
  cairn_put_var8(&w, (const uint8_t *)vd->name, vd->name_len);
  cairn_err err = cairn_writer_finish(&w, &vlen);
  assert(err == CAIRN_OK);
  if (err != CAIRN_OK) return CAIRN_ERR_INTERNAL;
  return cairn_view_put(v, CAIRN_T_VALIDATORS, vd->pubkey,
                        CAIRN_ED25519_PUBKEY_BYTES, val, vlen);
}

cairn_err cairn_state_apply_genesis(cairn_view *v, const cairn_genesis *g) {
  assert(g->n_brands <= CAIRN_BRANDS_MAX);
  assert(g->validators.n <= CAIRN_VALIDATORS_MAX);
  assert(cairn_view_change_count(v) == 0);
  for (size_t i = 0; i < g->n_brands; i++)
    CAIRN_TRY(state_put_brand(v, &g->brands[i]));
  for (size_t i = 0; i < g->validators.n; i++)
    CAIRN_TRY(state_put_validator(v, &g->validators.v[i]));
  return CAIRN_OK;
}

/* ---- the rules ---- */

/* Checks a-c of every transaction: chain, expiry, sequence. */
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
  return CAIRN_OK;
}

static cairn_err state_credit(cairn_view *v, const uint8_t account[32],
                              uint32_t brand, uint64_t amount) {
  uint64_t bal = 0;
  CAIRN_TRY(cairn_state_balance(v, account, brand, &bal));
  if (bal > UINT64_MAX - amount) return CAIRN_ERR_OVERFLOW;
  return state_put_balance(v, account, brand, bal + amount);
}

static cairn_err state_debit(cairn_view *v, const uint8_t account[32],
                             uint32_t brand, uint64_t amount) {
  uint64_t bal = 0;
  CAIRN_TRY(cairn_state_balance(v, account, brand, &bal));
  if (bal < amount) return CAIRN_ERR_INSUFFICIENT;
  return state_put_balance(v, account, brand, bal - amount);
}

static bool state_same_key(const uint8_t a[32], const uint8_t b[32]) {
  return memcmp(a, b, CAIRN_PUBKEY_BYTES) == 0;
}

static cairn_err state_issue(cairn_view *v, const cairn_tx *tx) {
  const cairn_tx_credit *c = &tx->u.issue;
  cairn_brand b;
  assert(c->amount >= 1);
  CAIRN_TRY(cairn_state_brand(v, c->brand, &b));
  if (!state_same_key(b.issuer, tx->sender)) return CAIRN_ERR_NOT_ISSUER;
  if (state_same_key(c->to, tx->sender)) return CAIRN_ERR_SELF_TRANSFER;
  return state_credit(v, c->to, c->brand, c->amount);
}

static cairn_err state_transfer(cairn_view *v, const cairn_tx *tx) {
  const cairn_tx_credit *c = &tx->u.transfer;
  cairn_brand b;
  assert(c->amount >= 1);
  CAIRN_TRY(cairn_state_brand(v, c->brand, &b));
  if ((b.flags & CAIRN_BRAND_FLAG_TRANSFERABLE) == 0)
    return CAIRN_ERR_NOT_TRANSFERABLE;
  if (state_same_key(c->to, tx->sender)) return CAIRN_ERR_SELF_TRANSFER;
  CAIRN_TRY(state_debit(v, tx->sender, c->brand, c->amount));
  return state_credit(v, c->to, c->brand, c->amount);
}

static cairn_err state_redeem(cairn_view *v, const cairn_tx *tx) {
  const cairn_tx_redeem *r = &tx->u.redeem;
  cairn_brand b;
  assert(r->amount >= 1);
  CAIRN_TRY(cairn_state_brand(v, r->brand, &b));
  return state_debit(v, tx->sender, r->brand, r->amount);
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

static cairn_err state_apply_rules(cairn_view *v, const cairn_exec_ctx *ctx,
                                   const cairn_tx *tx, const uint8_t txid[32]) {
  CAIRN_TRY(state_check_envelope(v, ctx, tx));
  cairn_err err;
  switch (tx->type) {
  case CAIRN_TX_ISSUE: err = state_issue(v, tx); break;
  case CAIRN_TX_TRANSFER: err = state_transfer(v, tx); break;
  case CAIRN_TX_REDEEM: err = state_redeem(v, tx); break;
  case CAIRN_TX_COUPON_ISSUE: err = state_coupon_issue(v, ctx, tx, txid); break;
  case CAIRN_TX_COUPON_TRANSFER: err = state_coupon_transfer(v, ctx, tx); break;
  case CAIRN_TX_COUPON_REDEEM: err = state_coupon_redeem(v, ctx, tx); break;
  default: err = CAIRN_ERR_BAD_TYPE; break;
  }
  if (err != CAIRN_OK) return err;
  uint8_t seq[8];
  cairn_be64_write(seq, tx->sequence);
  return cairn_view_put(v, CAIRN_T_SEQUENCES, tx->sender, CAIRN_PUBKEY_BYTES,
                        seq, sizeof seq);
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
