/*
 * cairn/state.h - the state machine: what each transaction does.
 *
 * State records (all integers big-endian; see specs/state.md):
 *   balances     account [32] | brand u32  -> amount u64 (key absent = 0;
 *                a balance that reaches 0 is deleted)
 *   sequences    account [32]              -> last used sequence u64
 *   coupons      coupon id [32]            -> coupon record (below)
 *   coupon_owner owner [32] | coupon id [32] -> empty (index for listing)
 *   brands       brand u32                 -> flags u8 | issuer [32]
 *                                             | name var8
 *   validators   pubkey [32]               -> power u64 | name var8
 *   coupon record: brand u32 | owner [32] | kind u8 | value u64
 *                  | expiry_height u64 | transferable u8 | status u8
 *                  | issued_height u64 | redeemed_height u64 | label var8
 *
 * The state hash after block h is
 *   S(h) = tagged_hash("cairn/state", S(h-1) | D(h))
 * where D(h) is the change digest of the block's view (view.h), and
 * S(0) = tagged_hash("cairn/state", genesis_hash | D(genesis)). So the state
 * hash commits to the whole state given genesis, costs one hash of the
 * changes per block, and any replay that diverges anywhere diverges in it.
 *
 * cairn_state_apply_tx() is atomic: on any error the view is exactly as
 * before. It checks every stateful rule but not the signature, which the
 * caller verifies (cairn_tx_verify) so that verification can run in parallel.
 */
#ifndef CAIRN_STATE_H
#define CAIRN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/hash.h"
#include "cairn/tx.h"
#include "cairn/view.h"

typedef enum cairn_coupon_status {
  CAIRN_COUPON_ACTIVE = 0,
  CAIRN_COUPON_USED = 1
} cairn_coupon_status;

typedef struct cairn_coupon {
  uint8_t id[CAIRN_HASH_BYTES];
  uint32_t brand;
  uint8_t owner[CAIRN_PUBKEY_BYTES];
  uint8_t kind;
  uint64_t value;
  uint64_t expiry_height;
  bool transferable;
  uint8_t status;
  uint64_t issued_height;
  uint64_t redeemed_height; /* 0 while active */
  uint8_t label_len;
  uint8_t label[CAIRN_LABEL_BYTES_MAX];
} cairn_coupon;

/* Where and when a transaction is executed. */
typedef struct cairn_exec_ctx {
  const uint8_t *chain_id;
  size_t chain_id_len;
  uint64_t height; /* the block being built or replayed */
  uint64_t time_ms;
} cairn_exec_ctx;

/* Load genesis into an empty view: brands and validators. */
CAIRN_MUST_CHECK cairn_err cairn_state_apply_genesis(cairn_view *v,
                                                     const cairn_genesis *g);

/* Apply one (signature-checked) transaction. Errors are the rule errors of
 * error.h (CHAIN_ID, SEQ_GAP, SEQ_REPLAY, TX_EXPIRED, INSUFFICIENT,
 * UNKNOWN_BRAND, NOT_ISSUER, NOT_TRANSFERABLE, OVERFLOW, SELF_TRANSFER,
 * COUPON_*), or NOMEM/STORE/CORRUPT. */
CAIRN_MUST_CHECK cairn_err cairn_state_apply_tx(cairn_view *v,
                                                const cairn_exec_ctx *ctx,
                                                const cairn_tx *tx,
                                                const uint8_t txid[32]);

/* S(h) from S(h-1) (or the genesis hash) and the view's change digest. */
CAIRN_MUST_CHECK cairn_err cairn_state_hash_next(
    uint8_t out[CAIRN_HASH_BYTES], const uint8_t prev[CAIRN_HASH_BYTES],
    const cairn_view *v);

/* Queries through a view (so they see pending changes). Absent balances
 * read as 0 and absent sequences as 0 (next sequence is then 1). */
CAIRN_MUST_CHECK cairn_err cairn_state_balance(cairn_view *v,
                                               const uint8_t account[32],
                                               uint32_t brand, uint64_t *out);
CAIRN_MUST_CHECK cairn_err cairn_state_sequence(cairn_view *v,
                                                const uint8_t account[32],
                                                uint64_t *last);
/* CAIRN_ERR_UNKNOWN_BRAND when absent. */
CAIRN_MUST_CHECK cairn_err cairn_state_brand(cairn_view *v, uint32_t id,
                                             cairn_brand *out);
/* CAIRN_ERR_COUPON_UNKNOWN when absent. */
CAIRN_MUST_CHECK cairn_err cairn_state_coupon(cairn_view *v,
                                              const uint8_t id[32],
                                              cairn_coupon *out);

/* Record codecs, for readers that scan the store directly (API, audit). */
#define CAIRN_BALANCE_KEY_BYTES 36
void cairn_state_balance_key(uint8_t out[CAIRN_BALANCE_KEY_BYTES],
                             const uint8_t account[32], uint32_t brand);
CAIRN_MUST_CHECK cairn_err cairn_coupon_encode(uint8_t *buf, size_t cap,
                                               size_t *len,
                                               const cairn_coupon *c);
/* id is not in the record: pass the key. */
CAIRN_MUST_CHECK cairn_err cairn_coupon_decode(cairn_coupon *c,
                                               const uint8_t id[32],
                                               const uint8_t *buf, size_t len);
CAIRN_MUST_CHECK cairn_err cairn_brand_record_encode(uint8_t *buf, size_t cap,
                                                     size_t *len,
                                                     const cairn_brand *b);
CAIRN_MUST_CHECK cairn_err cairn_brand_record_decode(cairn_brand *b,
                                                     uint32_t id,
                                                     const uint8_t *buf,
                                                     size_t len);

#endif
