/*
 * cairn/tx.h - transactions: the canonical form, ids, and signatures.
 *
 * A transaction is
 *     version u8 (=1) | type u8 | chain_id var8 | sender [32]
 *     | sequence u64 | expiry_height u64 | client_ref var8(32)
 *     | payload (by type) | sig [64]
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

#include "cairn/cache.h"
#include "cairn/error.h"
#include "cairn/evidence.h"
#include "cairn/genesis.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/sig.h"

#define CAIRN_TX_VERSION 1

/* CONSENSUS. A client reference (idempotency key) names one attempt of a
 * point-of-sale operation, e.g. "till-4/receipt-88172"; 32 bytes hold a
 * UUID in text or a hash prefix, and keep the duplicate index small. */
#define CAIRN_TX_CLIENT_REF_BYTES_MAX 32

typedef enum cairn_tx_type {
  CAIRN_TX_ISSUE = 1,
  CAIRN_TX_TRANSFER = 2,
  CAIRN_TX_REDEEM = 3,
  CAIRN_TX_COUPON_ISSUE = 4,
  CAIRN_TX_COUPON_TRANSFER = 5,
  CAIRN_TX_COUPON_REDEEM = 6,
  CAIRN_TX_POLICY = 7,
  CAIRN_TX_HOLD = 8,
  CAIRN_TX_CAPTURE = 9,
  CAIRN_TX_RELEASE = 10,
  CAIRN_TX_REVERSE = 11,
  CAIRN_TX_AGREE = 12,
  CAIRN_TX_REVOKE = 13,
  CAIRN_TX_REDEEM_AT = 14,
  CAIRN_TX_SETTLE = 15,
  CAIRN_TX_BOND = 16,
  CAIRN_TX_UNBOND = 17,
  CAIRN_TX_ADMIT = 18,
  CAIRN_TX_APPROVE = 19,
  CAIRN_TX_EVIDENCE = 20,
  CAIRN_TX_STAKE_TRANSFER = 21
} cairn_tx_type;
#define CAIRN_TX_TYPE_MIN 1
#define CAIRN_TX_TYPE_MAX 21

/* The tag of agreement ids (state.h): tagged_hash(this, the terms). */
#define CAIRN_TAG_AGREEMENT "cairn/agreement"

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

/* POLICY: the brand's issuer replaces the brand's asset policy: flags
 * (CAIRN_BRAND_FLAG_*: transferable, no partners) and the rest (expiry,
 * fraud limits; genesis.h). */
typedef struct cairn_tx_policy {
  uint32_t brand;
  uint8_t flags;
  cairn_brand_policy policy;
} cairn_tx_policy;

/* HOLD: the member (sender) sets `amount` of `brand` points aside for an
 * order at that brand until the brand captures or releases them, or until
 * the hold times out (after timeout_height). Its id is the txid. */
typedef struct cairn_tx_hold {
  uint32_t brand;
  uint64_t amount;
  uint64_t timeout_height; /* last height at which it can be captured */
  uint8_t ref_len;
  uint8_t ref[CAIRN_REF_BYTES_MAX];
} cairn_tx_hold;

/* CAPTURE: the brand's issuer takes `amount` (<= held) of hold `hold`;
 * the rest goes back to the member. */
typedef struct cairn_tx_capture {
  uint8_t hold[CAIRN_HASH_BYTES];
  uint64_t amount;
} cairn_tx_capture;

/* RELEASE: the hold's points go back to the member. */
typedef struct cairn_tx_release {
  uint8_t hold[CAIRN_HASH_BYTES];
} cairn_tx_release;

/* REVERSE: the brand's issuer claws back up to `amount` of the points that
 * ISSUE `issue` credited (a returned purchase); `ref` names the return. */
typedef struct cairn_tx_reverse {
  uint8_t issue[CAIRN_HASH_BYTES];
  uint64_t amount;
  uint8_t ref_len;
  uint8_t ref[CAIRN_REF_BYTES_MAX];
} cairn_tx_reverse;

/* The terms of an exchange agreement: brand `to` accepts brand `from`'s
 * points; `amount` from-points are worth floor(amount * rate_num /
 * rate_den) to-points (100 A = 80 B is rate 80/100). */
typedef struct cairn_agreement_terms {
  uint32_t from_brand; /* A: whose points are redeemed */
  uint32_t to_brand;   /* B: where they are redeemed */
  uint64_t rate_num;   /* >= 1 */
  uint64_t rate_den;   /* >= 1 */
  uint64_t valid_from_height;
  uint64_t valid_until_height; /* 0 = open-ended, else >= valid_from */
  uint64_t cap;                /* most A points redeemed under it; 0 = none */
} cairn_agreement_terms;

/* AGREE: one side (A's or B's issuer) signs the terms. */
typedef struct cairn_tx_agree {
  cairn_agreement_terms terms;
} cairn_tx_agree;

/* REVOKE: either side ends the agreement for good. */
typedef struct cairn_tx_revoke {
  uint8_t agreement[CAIRN_HASH_BYTES];
} cairn_tx_revoke;

/* REDEEM_AT: the member redeems `amount` of from_brand's points at
 * at_brand under `agreement`. */
typedef struct cairn_tx_redeem_at {
  uint32_t from_brand;
  uint32_t at_brand;
  uint8_t agreement[CAIRN_HASH_BYTES];
  uint64_t amount; /* in from_brand points */
  uint8_t ref_len;
  uint8_t ref[CAIRN_REF_BYTES_MAX];
} cairn_tx_redeem_at;

/* SETTLE: the creditor brand's issuer records that the debtor brand paid
 * `amount` (in creditor points) of what it owes. */
typedef struct cairn_tx_settle {
  uint32_t debtor_brand;
  uint32_t creditor_brand;
  uint64_t amount;
  uint8_t ref_len;
  uint8_t ref[CAIRN_REF_BYTES_MAX];
} cairn_tx_settle;

/* Staking and validator-set changes (staking.h has the rules).
 * BOND: the validator's operator (sender) moves `amount` of its free stake
 *   into the validator's bond; UNBOND: takes `amount` out of the bond, back
 *   to free stake after the unbonding period. Both change the validator's
 *   power at the announced height (inclusion height + valset delay). */
typedef struct cairn_tx_bond {
  uint8_t validator[CAIRN_ED25519_PUBKEY_BYTES];
  uint64_t amount;
} cairn_tx_bond;

/* ADMIT: the sender (the new validator's operator, typically a new partner
 * brand's issuer) proposes a new validator with `amount` of its free stake
 * as the bond (locked until decided). The proposal's id is the txid; it is
 * decided when validators holding more than 2/3 of the power in force
 * APPROVE it at or before deadline_height, else the stake goes back. */
typedef struct cairn_tx_admit {
  uint8_t validator[CAIRN_ED25519_PUBKEY_BYTES];
  uint64_t amount;
  uint64_t deadline_height;
  uint8_t name_len; /* 1..CAIRN_NAME_BYTES_MAX, [a-z0-9-] */
  char name[CAIRN_NAME_BYTES_MAX + 1]; /* NUL-terminated */
} cairn_tx_admit;

/* APPROVE: the operator of a validator in force approves a proposal. */
typedef struct cairn_tx_approve {
  uint8_t proposal[CAIRN_HASH_BYTES];
} cairn_tx_approve;

/* EVIDENCE: anyone submits duplicate-vote evidence (evidence.h); the bytes
 * are its canonical encoding, checked by cairn_evidence_decode. */
typedef struct cairn_tx_evidence {
  uint8_t evidence[CAIRN_EVIDENCE_BYTES];
} cairn_tx_evidence;

/* STAKE_TRANSFER: the sender moves `amount` of its free stake to `to`. */
typedef struct cairn_tx_stake_transfer {
  uint8_t to[CAIRN_PUBKEY_BYTES];
  uint64_t amount;
} cairn_tx_stake_transfer;

typedef struct cairn_tx {
  uint8_t version;
  uint8_t type; /* cairn_tx_type */
  uint8_t chain_id_len;
  uint8_t chain_id[CAIRN_CHAIN_ID_BYTES_MAX];
  uint8_t sender[CAIRN_PUBKEY_BYTES];
  uint64_t sequence;      /* first transaction of an account is 1 */
  uint64_t expiry_height; /* valid in blocks with height <= this */
  /* Idempotency key: empty, or unique per sender (a second transaction of
   * the same sender with the same non-empty reference is a duplicate). */
  uint8_t client_ref_len;
  uint8_t client_ref[CAIRN_TX_CLIENT_REF_BYTES_MAX];
  union {
    cairn_tx_credit issue;
    cairn_tx_credit transfer;
    cairn_tx_redeem redeem;
    cairn_tx_coupon_issue coupon_issue;
    cairn_tx_coupon_transfer coupon_transfer;
    cairn_tx_coupon_redeem coupon_redeem;
    cairn_tx_policy policy;
    cairn_tx_hold hold;
    cairn_tx_capture capture;
    cairn_tx_release release;
    cairn_tx_reverse reverse;
    cairn_tx_agree agree;
    cairn_tx_revoke revoke;
    cairn_tx_redeem_at redeem_at;
    cairn_tx_settle settle;
    cairn_tx_bond bond;   /* BOND and UNBOND */
    cairn_tx_admit admit;
    cairn_tx_approve approve;
    cairn_tx_evidence evidence;
    cairn_tx_stake_transfer stake_transfer;
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

/* cairn_tx_decode, lifting recipient keys through key_cache (a cache of
 * CAIRN_SIG_PARSED_KEY_BYTES values, sig.h; may be NULL): the same result,
 * faster when the same recipients come back. */
CAIRN_MUST_CHECK cairn_err cairn_tx_decode_cached(cairn_tx *tx,
                                                  const uint8_t *buf,
                                                  size_t len,
                                                  cairn_cache *key_cache);

/* cairn_tx_decode for bytes it has already accepted, such as a transaction
 * of a block the chain has verified: the same result, without checking
 * again that each recipient `to` is a valid x-only key (a square root on
 * the curve, most of the cost of decoding). Never for bytes from outside:
 * a key that is not a point would pass. Errors as cairn_tx_decode, but
 * never BAD_KEY. */
CAIRN_MUST_CHECK cairn_err cairn_tx_decode_verified(cairn_tx *tx,
                                                    const uint8_t *buf,
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
/* cairn_tx_verify with the sender's key lifted through key_cache (as
 * cairn_tx_decode_cached; may be NULL). */
CAIRN_MUST_CHECK cairn_err cairn_tx_verify_cached(const cairn_tx *tx,
                                                  cairn_cache *key_cache);

/* Transaction id over the encoded bytes (cheap when the bytes are at hand). */
void cairn_tx_id_bytes(uint8_t out[CAIRN_HASH_BYTES], const uint8_t *buf,
                       size_t len);
CAIRN_MUST_CHECK cairn_err cairn_tx_id(uint8_t out[CAIRN_HASH_BYTES],
                                       const cairn_tx *tx);

/* The id of an agreement: tagged_hash("cairn/agreement", from u32 | to u32
 * | rate_num u64 | rate_den u64 | valid_from u64 | valid_until u64
 * | cap u64). */
void cairn_agreement_id(uint8_t out[CAIRN_HASH_BYTES],
                        const cairn_agreement_terms *t);

/* "issue", "transfer", ... or "unknown". */
const char *cairn_tx_type_name(uint8_t type);

#endif
