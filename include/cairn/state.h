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
 *                                             | name var8 | expiry_mode u8
 *                                             | expiry_blocks u64
 *                                             | max_issue_per_tx u64
 *                                             | max_issue_per_day u64
 *   validators   the staking records, one kind per first key byte
 *                (validators, free stake, scheduled changes, unbonding,
 *                admissions, set history; staking.c and specs/state.md)
 *   client_refs  sender [32] | ref (1..32 bytes) -> txid [32]
 *   brand_stats  brand u32                 -> issued u64 | redeemed_home u64
 *                | redeemed_partner u64 | expired u64 | reversed u64
 *                | held u64 | issue_day u64 | issued_in_day u64
 *                (absent = all zero)
 *   holds        hold id [32] (the HOLD txid) -> brand u32 | member [32]
 *                | amount u64 | timeout_height u64
 *   issues       issue txid [32] -> brand u32 | member [32] | amount u64
 *                | reversed u64   (written by every ISSUE)
 *   agreements   agreement id [32] -> from u32 | to u32 | rate_num u64
 *                | rate_den u64 | valid_from u64 | valid_until u64 | cap u64
 *                | signed_by u8 | revoked u8 | redeemed u64
 *   settlements  debtor brand u32 | creditor brand u32 -> owed u64 (in
 *                creditor points; absent = 0, deleted at 0)
 *   lots         account [32] | brand u32 -> first u64 | next u64
 *                | deadline u64 (a FIFO queue of lots; rolling deadline)
 *                account [32] | brand u32 | lot_no u64 -> amount u64
 *                | expiry u64 (0 = never); balances = the sum of the lots
 *   lot_expiry   height u64 -> buckets u32; height u64 | bucket u32 ->
 *                1..11 lot keys [44] due at that height (lot_no 2^64-1:
 *                the rolling deadline of that account and brand)
 *   hold_timeouts timeout u64 -> buckets u32; timeout u64 | bucket u32
 *                -> 1..16 hold ids [32] (the holds to release at block
 *                timeout + 1; ids of holds that ended early are skipped)
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

/* Lifetime accounting of one brand's points. Conservation: at every height
 *   issued - redeemed_home - redeemed_partner - expired - reversed
 *     = sum of the brand's balances + held.
 * issued counts every point ever credited by ISSUE, so it is bounded by
 * 2^64 - 1 over the brand's whole life (an ISSUE that would pass it fails
 * with CAIRN_ERR_OVERFLOW). */
typedef struct cairn_brand_stats {
  uint64_t issued;
  uint64_t redeemed_home;    /* REDEEM at the brand itself, CAPTURE */
  uint64_t redeemed_partner; /* REDEEM_AT another brand */
  uint64_t expired;          /* lots removed by expiry (breakage) */
  uint64_t reversed;         /* clawed back by REVERSE */
  uint64_t held;             /* currently in open holds */
  /* The fraud limit's window: the day (block time_ms / CAIRN_DAY_MS) of
   * the brand's last ISSUE and how much it issued in that day. */
  uint64_t issue_day;
  uint64_t issued_in_day;
} cairn_brand_stats;
#define CAIRN_BRAND_STATS_BYTES 64

/* An open hold (two-phase redemption). */
typedef struct cairn_hold {
  uint8_t id[CAIRN_HASH_BYTES]; /* txid of the HOLD */
  uint32_t brand;
  uint8_t member[CAIRN_PUBKEY_BYTES];
  uint64_t amount;
  uint64_t timeout_height; /* released at the start of block timeout + 1 */
  uint64_t points_expiry;  /* earliest expiry of the held points, 0 never */
} cairn_hold;
#define CAIRN_HOLD_RECORD_BYTES 60

/* What one ISSUE credited and how much of it was clawed back (REVERSE). */
typedef struct cairn_issue_record {
  uint8_t id[CAIRN_HASH_BYTES]; /* txid of the ISSUE */
  uint32_t brand;
  uint8_t member[CAIRN_PUBKEY_BYTES];
  uint64_t amount;
  uint64_t reversed; /* <= amount */
} cairn_issue_record;
#define CAIRN_ISSUE_RECORD_BYTES 52

/* An exchange agreement: brand to accepts brand from's points. */
typedef struct cairn_agreement {
  uint8_t id[CAIRN_HASH_BYTES]; /* cairn_agreement_id(&terms) */
  cairn_agreement_terms terms;
  uint8_t signed_by; /* CAIRN_AGREEMENT_SIGNED_FROM | _TO */
  bool revoked;
  uint64_t redeemed; /* from-points redeemed under it (for the cap) */
} cairn_agreement;
#define CAIRN_AGREEMENT_SIGNED_FROM 0x01u
#define CAIRN_AGREEMENT_SIGNED_TO 0x02u
#define CAIRN_AGREEMENT_RECORD_BYTES 58

/* Active at height: signed by both sides, not revoked, and valid_from <=
 * height <= valid_until (valid_until 0: no end). */
bool cairn_agreement_active(const cairn_agreement *a, uint64_t height);

/* What amount from-points are worth at rate num/den: floor(amount * num /
 * den), computed exactly in 128 bits (no floating point, no compiler
 * extension). Rounding is down, so the member loses less than one point
 * and no point is ever created. CAIRN_ERR_OVERFLOW when the value exceeds
 * 2^64 - 1. den >= 1 (asserted). */
CAIRN_MUST_CHECK cairn_err cairn_state_exchange_value(uint64_t amount,
                                                      uint64_t num,
                                                      uint64_t den,
                                                      uint64_t *out);

/* Where and when a transaction is executed. */
typedef struct cairn_exec_ctx {
  const uint8_t *chain_id;
  size_t chain_id_len;
  uint64_t height; /* the block being built or replayed */
  uint64_t time_ms;
} cairn_exec_ctx;

/* Load genesis into an empty view: brands, and the staking state
 * (validators, free stake, parameters; cairn_staking_apply_genesis). */
CAIRN_MUST_CHECK cairn_err cairn_state_apply_genesis(cairn_view *v,
                                                     const cairn_genesis *g);

/* Block-start processing, run by the chain on the block's view before its
 * first transaction (both when proposing and when applying a block): every
 * hold whose timeout height is ctx->height - 1 is released to its member,
 * then every lot (and rolling deadline) due at ctx->height - 1 expires,
 * then the staking work (cairn_staking_begin_block: unbonding stake due
 * is freed, admission proposals past their deadline expire).
 * Writes nothing when nothing is due, and is atomic like apply_tx. Errors:
 * NOMEM, STORE, CORRUPT. */
CAIRN_MUST_CHECK cairn_err cairn_state_begin_block(cairn_view *v,
                                                   const cairn_exec_ctx *ctx);

/* Apply one (signature-checked) transaction. Errors are the rule errors of
 * error.h (CHAIN_ID, SEQ_GAP, SEQ_REPLAY, TX_EXPIRED, DUPLICATE_REF,
 * INSUFFICIENT, UNKNOWN_BRAND, ISSUE_LIMIT_*, HOLD_*, ISSUE_UNKNOWN,
 * REVERSE_EXCEEDS, AGREEMENT_*, NOT_ACCEPTED, RATE_TOO_SMALL,
 * SETTLE_EXCEEDS, NOT_ISSUER, NOT_TRANSFERABLE, OVERFLOW, SELF_TRANSFER,
 * COUPON_*, and for the staking types 16..21 the errors of
 * cairn_staking_apply_tx), or NOMEM/STORE/CORRUPT. */
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

/* A brand's accounting record; all zero when absent (no activity yet).
 * Errors: CORRUPT, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_state_brand_stats(cairn_view *v,
                                                   uint32_t brand,
                                                   cairn_brand_stats *out);

/* The transaction that used client reference ref (1..32 bytes) of sender.
 * CAIRN_ERR_NOT_FOUND when unused. */
CAIRN_MUST_CHECK cairn_err cairn_state_client_ref(cairn_view *v,
                                                  const uint8_t sender[32],
                                                  const uint8_t *ref,
                                                  size_t ref_len,
                                                  uint8_t txid[32]);

/* The conservation invariants: the stake equation of staking.h, and for
 * every brand of the brands table:
 *   issued - redeemed_home - redeemed_partner - expired - reversed
 *     = sum of balances + held,
 * with no balance of a brand that does not exist. The _view form reads the
 * view's changes only, so it needs a view that holds the whole state (one
 * opened over an empty base, as tests and replays use); the _store form
 * reads a committed snapshot. CAIRN_OK when it holds; CAIRN_ERR_CORRUPT
 * with a sentence in why (naming the brand and both sides) when it does not;
 * also NOMEM, STORE. */
CAIRN_MUST_CHECK cairn_err cairn_state_check_conservation_view(
    const cairn_view *v, char *why, size_t why_cap);
CAIRN_MUST_CHECK cairn_err cairn_state_check_conservation_store(
    cairn_rtxn *r, char *why, size_t why_cap);

/* An open hold. CAIRN_ERR_HOLD_UNKNOWN when absent (never opened, or
 * captured, released or timed out). */
CAIRN_MUST_CHECK cairn_err cairn_state_hold(cairn_view *v,
                                            const uint8_t id[32],
                                            cairn_hold *out);

/* The record of an ISSUE. CAIRN_ERR_ISSUE_UNKNOWN when absent. */
CAIRN_MUST_CHECK cairn_err cairn_state_issue_record(cairn_view *v,
                                                    const uint8_t id[32],
                                                    cairn_issue_record *out);

/* An agreement; CAIRN_ERR_AGREEMENT_UNKNOWN when absent. */
CAIRN_MUST_CHECK cairn_err cairn_state_agreement(cairn_view *v,
                                                 const uint8_t id[32],
                                                 cairn_agreement *out);
/* What debtor owes creditor (0 when absent). */
CAIRN_MUST_CHECK cairn_err cairn_state_settlement(cairn_view *v,
                                                  uint32_t debtor,
                                                  uint32_t creditor,
                                                  uint64_t *out);

/* Record codecs, for readers that scan the store directly (API, audit). */
void cairn_agreement_encode(uint8_t out[CAIRN_AGREEMENT_RECORD_BYTES],
                            const cairn_agreement *a);
/* CAIRN_ERR_CORRUPT unless well formed and id matches the terms. */
CAIRN_MUST_CHECK cairn_err cairn_agreement_decode(cairn_agreement *a,
                                                  const uint8_t id[32],
                                                  const uint8_t *buf,
                                                  size_t len);
void cairn_issue_record_encode(uint8_t out[CAIRN_ISSUE_RECORD_BYTES],
                               const cairn_issue_record *r);
/* CAIRN_ERR_CORRUPT unless well formed (amount >= 1, reversed <= amount). */
CAIRN_MUST_CHECK cairn_err cairn_issue_record_decode(cairn_issue_record *r,
                                                     const uint8_t id[32],
                                                     const uint8_t *buf,
                                                     size_t len);
void cairn_hold_encode(uint8_t out[CAIRN_HOLD_RECORD_BYTES],
                       const cairn_hold *h);
/* CAIRN_ERR_CORRUPT unless the record is well formed. */
CAIRN_MUST_CHECK cairn_err cairn_hold_decode(cairn_hold *h,
                                             const uint8_t id[32],
                                             const uint8_t *buf, size_t len);
void cairn_brand_stats_encode(uint8_t out[CAIRN_BRAND_STATS_BYTES],
                              const cairn_brand_stats *s);
CAIRN_MUST_CHECK cairn_err cairn_brand_stats_decode(cairn_brand_stats *s,
                                                    const uint8_t *buf,
                                                    size_t len);
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
