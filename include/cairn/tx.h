/*
 * cairn/tx.h - transactions: the canonical form, ids, and signatures.
 *
 * A transaction is
 *     version u8 (=1) | type u8 | chain_id var8 | sender [32]
 *     | sequence u64 | expiry_height u64 | payload (by type) | sig [64]
 * and is signed by the sender (BIP-340) over
 *     tagged_hash("cairn/tx-sig", every byte before sig).
 * Its id is tagged_hash("cairn/txid", all bytes including sig). The coupon
 * created by a COUPON_ISSUE transaction is identified by that transaction's
 * id. Byte tables are in specs/encoding.md.
 *
 * cairn_tx_decode() enforces the structural rules (lengths, ranges, no
 * trailing bytes, amounts >= 1, canonical booleans); rules that need state
 * live in state.h. Decoding does not verify the signature: call
 * cairn_tx_verify() (kept apart so verification can be spread over cores).
 */
#ifndef CAIRN_TX_H
#define CAIRN_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/sig.h"

#define CAIRN_TX_VERSION 1

typedef enum cairn_tx_type {
  CAIRN_TX_ISSUE = 1,
  CAIRN_TX_TRANSFER = 2,
  CAIRN_TX_REDEEM = 3,
  CAIRN_TX_COUPON_ISSUE = 4,
  CAIRN_TX_COUPON_TRANSFER = 5,
  CAIRN_TX_COUPON_REDEEM = 6
} cairn_tx_type;
#define CAIRN_TX_TYPE_MIN 1
#define CAIRN_TX_TYPE_MAX 6

typedef enum cairn_coupon_kind {
  CAIRN_COUPON_AMOUNT = 1,  /* value: a face value in the brand's minor
                               currency unit (e.g. cents) */
  CAIRN_COUPON_PERCENT = 2  /* value: a whole percentage, 1..100 */
} cairn_coupon_kind;

/* ISSUE: brand's issuer credits `amount` points to `to`.
 * TRANSFER: sender moves `amount` of `brand` points to `to`. */
typedef struct cairn_tx_credit {
  uint32_t brand;
  uint8_t to[CAIRN_PUBKEY_BYTES];
  uint64_t amount;
} cairn_tx_credit;

/* REDEEM: sender burns `amount` of `brand` points at `brand`, for an order. */
typedef struct cairn_tx_redeem {
  uint32_t brand;
  uint64_t amount;
  uint8_t ref_len;
  uint8_t ref[CAIRN_REF_BYTES_MAX];
} cairn_tx_redeem;

typedef struct cairn_tx_coupon_issue {
  uint32_t brand;
  uint8_t to[CAIRN_PUBKEY_BYTES];
  uint8_t kind;           /* cairn_coupon_kind */
  uint64_t value;         /* >= 1; <= 100 for PERCENT */
  uint64_t expiry_height; /* last height at which it can be redeemed */
  bool transferable;
  uint8_t label_len;
  uint8_t label[CAIRN_LABEL_BYTES_MAX];
} cairn_tx_coupon_issue;

typedef struct cairn_tx_coupon_transfer {
  uint8_t coupon[CAIRN_HASH_BYTES];
  uint8_t to[CAIRN_PUBKEY_BYTES];
} cairn_tx_coupon_transfer;

typedef struct cairn_tx_coupon_redeem {
  uint8_t coupon[CAIRN_HASH_BYTES];
  uint32_t brand; /* where it is redeemed; must be the issuing brand */
  uint8_t ref_len;
  uint8_t ref[CAIRN_REF_BYTES_MAX];
} cairn_tx_coupon_redeem;

typedef struct cairn_tx {
  uint8_t version;
  uint8_t type; /* cairn_tx_type */
  uint8_t chain_id_len;
  uint8_t chain_id[CAIRN_CHAIN_ID_BYTES_MAX];
  uint8_t sender[CAIRN_PUBKEY_BYTES];
  uint64_t sequence;      /* first transaction of an account is 1 */
  uint64_t expiry_height; /* valid in blocks with height <= this */
  union {
    cairn_tx_credit issue;
    cairn_tx_credit transfer;
    cairn_tx_redeem redeem;
    cairn_tx_coupon_issue coupon_issue;
    cairn_tx_coupon_transfer coupon_transfer;
    cairn_tx_coupon_redeem coupon_redeem;
  } u;
  uint8_t sig[CAIRN_SIG_BYTES];
} cairn_tx;

/* Encode into buf. CAIRN_ERR_OVERSIZE if cap is too small; an invalid tx
 * struct (bad type, over-long fields) is a caller bug and asserts. */
CAIRN_MUST_CHECK cairn_err cairn_tx_encode(uint8_t *buf, size_t cap,
                                           size_t *len, const cairn_tx *tx);

/* Decode and check structure. Errors: CAIRN_ERR_OVERSIZE (len >
 * CAIRN_TX_BYTES_MAX), TRUNCATED, TRAILING, VERSION, BAD_TYPE, RANGE,
 * NONCANONICAL, ZERO_AMOUNT, UNKNOWN_BRAND (brand 0), BAD_KEY (a recipient
 * `to` that is not a valid x-only key). tx is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_tx_decode(cairn_tx *tx, const uint8_t *buf,
                                           size_t len);

/* The hash the sender signs. */
CAIRN_MUST_CHECK cairn_err cairn_tx_sighash(uint8_t out[CAIRN_HASH_BYTES],
                                            const cairn_tx *tx);

/* Sign in place with the sender's secret key; checks that sk matches
 * tx->sender (CAIRN_ERR_BAD_KEY otherwise). */
CAIRN_MUST_CHECK cairn_err cairn_tx_sign(cairn_tx *tx,
                                         const uint8_t sk[CAIRN_SECKEY_BYTES]);

/* Verify the sender's signature. CAIRN_ERR_BAD_SIG / CAIRN_ERR_BAD_KEY. */
CAIRN_MUST_CHECK cairn_err cairn_tx_verify(const cairn_tx *tx);

/* Transaction id over the encoded bytes (cheap when the bytes are at hand). */
void cairn_tx_id_bytes(uint8_t out[CAIRN_HASH_BYTES], const uint8_t *buf,
                       size_t len);
CAIRN_MUST_CHECK cairn_err cairn_tx_id(uint8_t out[CAIRN_HASH_BYTES],
                                       const cairn_tx *tx);

/* "issue", "transfer", ... or "unknown". */
const char *cairn_tx_type_name(uint8_t type);

#endif
