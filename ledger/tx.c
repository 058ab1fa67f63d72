/*
 * tx.c - transactions: canonical encoding, structural checks, ids and
 * signatures.
 *
 * A transaction has exactly one byte form (include/cairn/tx.h has the
 * layout): a common prefix (version, type, chain id, sender, sequence,
 * expiry height, client reference), a payload whose shape depends on the type, and the
 * sender's BIP-340 signature over the tagged hash of everything before it.
 * Its id is the tagged hash of all of its bytes, so two encodings of "the
 * same" transaction cannot exist and a txid names one byte string.
 *
 * The decoder is the gate through which every transaction from outside
 * enters, so it checks each field as soon as it is read and stops at the
 * first problem: the reported error is the one a human would name first
 * ("bad version" rather than "truncated" for a one-byte input with a wrong
 * version). It enforces everything that can be decided from the bytes alone
 * - sizes, ranges, amounts >= 1, canonical booleans, non-zero brands, and
 * recipients that are valid public keys, so garbage keys never reach the
 * chain where coins sent to them would be lost. Rules that need state
 * (balances, sequences, issuers) are in state.c; the signature is checked
 * separately by cairn_tx_verify() so that verification can run on many
 * cores.
 *
 * The encoder applies the same field rules as assertions: a struct that the
 * decoder would reject is a bug in the caller, and refusing to serialise it
 * means every byte string this library produces decodes again. (Recipient
 * keys are the exception: checking a curve point costs a square root, and
 * callers obtain keys from addresses, which are already checked.)
 */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/evidence.h"
#include "cairn/tx.h"

/* ---- field rules shared by the encoder (asserted) and decoder ---- */

/* Brand 0 is reserved: genesis ids start at 1, so no transaction can name
 * it. */
static cairn_err tx_check_brand(uint32_t brand) {
  return brand == 0 ? CAIRN_ERR_UNKNOWN_BRAND : CAIRN_OK;
}

static cairn_err tx_check_amount(uint64_t amount) {
  return amount == 0 ? CAIRN_ERR_ZERO_AMOUNT : CAIRN_OK;
}

/* Kind, value and expiry of a coupon, in the order they are encoded. */
static cairn_err tx_check_coupon_kind(uint8_t kind) {
  return (kind == CAIRN_COUPON_AMOUNT || kind == CAIRN_COUPON_PERCENT)
             ? CAIRN_OK
             : CAIRN_ERR_RANGE;
}

static cairn_err tx_check_coupon_value(uint8_t kind, uint64_t value) {
  if (value == 0) return CAIRN_ERR_ZERO_AMOUNT;
  if (kind == CAIRN_COUPON_PERCENT && value > CAIRN_COUPON_PERCENT_MAX) {
    return CAIRN_ERR_RANGE;
  }
  return CAIRN_OK;
}

/* Agreement terms: two different brands, a rate of positive integers, a
 * window that is open-ended or not inverted. */
static cairn_err tx_check_terms(const cairn_agreement_terms *t) {
  CAIRN_TRY(tx_check_brand(t->from_brand));
  CAIRN_TRY(tx_check_brand(t->to_brand));
  if (t->from_brand == t->to_brand) return CAIRN_ERR_RANGE;
  if (t->rate_num == 0 || t->rate_den == 0) return CAIRN_ERR_RANGE;
  if (t->valid_until_height != 0 &&
      t->valid_until_height < t->valid_from_height)
    return CAIRN_ERR_RANGE;
  return CAIRN_OK;
}

static cairn_err tx_check_ref(uint8_t len) {
  return len <= CAIRN_REF_BYTES_MAX ? CAIRN_OK : CAIRN_ERR_RANGE;
}

/* A validator key named by a staking transaction must be usable: the
 * canonical encoding of an Ed25519 point of the prime-order subgroup, not
 * of small order (libsodium's check; the all-zero key fails it). */
static cairn_err tx_check_validator_key(const uint8_t pk[32]) {
  return crypto_core_ed25519_is_valid_point(pk) == 1 ? CAIRN_OK
                                                     : CAIRN_ERR_BAD_KEY;
}

/* ADMIT names: 1..32 characters of [a-z0-9-], like brand names. */
static cairn_err tx_check_admit_name(const char *name, uint8_t len) {
  if (len == 0 || len > CAIRN_NAME_BYTES_MAX) return CAIRN_ERR_RANGE;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return CAIRN_ERR_RANGE;
  }
  return CAIRN_OK;
}

/* The payload rules of the staking types (BOND and after). Keys other
 * than validator keys (STAKE_TRANSFER's recipient) are checked by the
 * decoder only, as for every other recipient. */
static cairn_err tx_check_stake_payload(const cairn_tx *tx) {
  switch (tx->type) {
    case CAIRN_TX_BOND:
    case CAIRN_TX_UNBOND:
      CAIRN_TRY(tx_check_validator_key(tx->u.bond.validator));
      return tx_check_amount(tx->u.bond.amount);
    case CAIRN_TX_ADMIT:
      CAIRN_TRY(tx_check_validator_key(tx->u.admit.validator));
      CAIRN_TRY(tx_check_amount(tx->u.admit.amount));
      return tx_check_admit_name(tx->u.admit.name, tx->u.admit.name_len);
    case CAIRN_TX_APPROVE:
      return CAIRN_OK;
    case CAIRN_TX_EVIDENCE: {
      cairn_evidence e;
      return cairn_evidence_decode(&e, tx->u.evidence.evidence,
                                   CAIRN_EVIDENCE_BYTES);
    }
    case CAIRN_TX_STAKE_TRANSFER:
      return tx_check_amount(tx->u.stake_transfer.amount);
    default:
      return CAIRN_ERR_BAD_TYPE;
  }
}

/* The payload rules of the cross-brand types (POLICY and after). */
static cairn_err tx_check_econ_payload(const cairn_tx *tx) {
  switch (tx->type) {
    case CAIRN_TX_POLICY:
      CAIRN_TRY(tx_check_brand(tx->u.policy.brand));
      if ((tx->u.policy.flags & ~CAIRN_BRAND_FLAGS_KNOWN) != 0) {
        return CAIRN_ERR_RANGE;
      }
      return cairn_brand_policy_check(&tx->u.policy.policy);
    case CAIRN_TX_HOLD:
      CAIRN_TRY(tx_check_brand(tx->u.hold.brand));
      CAIRN_TRY(tx_check_amount(tx->u.hold.amount));
      if (tx->u.hold.timeout_height == 0) return CAIRN_ERR_RANGE;
      return tx->u.hold.ref_len <= CAIRN_REF_BYTES_MAX ? CAIRN_OK
                                                       : CAIRN_ERR_RANGE;
    case CAIRN_TX_CAPTURE:
      return tx_check_amount(tx->u.capture.amount);
    case CAIRN_TX_RELEASE:
      return CAIRN_OK;
    case CAIRN_TX_REVERSE:
      CAIRN_TRY(tx_check_amount(tx->u.reverse.amount));
      return tx_check_ref(tx->u.reverse.ref_len);
    case CAIRN_TX_AGREE:
      return tx_check_terms(&tx->u.agree.terms);
    case CAIRN_TX_REVOKE:
      return CAIRN_OK;
    case CAIRN_TX_REDEEM_AT: {
      const cairn_tx_redeem_at *r = &tx->u.redeem_at;
      CAIRN_TRY(tx_check_brand(r->from_brand));
      CAIRN_TRY(tx_check_brand(r->at_brand));
      if (r->from_brand == r->at_brand) return CAIRN_ERR_RANGE;
      CAIRN_TRY(tx_check_amount(r->amount));
      return tx_check_ref(r->ref_len);
    }
    case CAIRN_TX_SETTLE: {
      const cairn_tx_settle *st = &tx->u.settle;
      CAIRN_TRY(tx_check_brand(st->debtor_brand));
      CAIRN_TRY(tx_check_brand(st->creditor_brand));
      if (st->debtor_brand == st->creditor_brand) return CAIRN_ERR_RANGE;
      CAIRN_TRY(tx_check_amount(st->amount));
      return tx_check_ref(st->ref_len);
    }
    default:
      return tx_check_stake_payload(tx);
  }
}

/* The payload rules of a struct about to be encoded (the decoder checks the
 * same rules field by field while reading). */
static cairn_err tx_check_payload(const cairn_tx *tx) {
  switch (tx->type) {
    case CAIRN_TX_ISSUE:
    case CAIRN_TX_TRANSFER:
      /* issue and transfer share one struct layout (cairn_tx_credit). */
      CAIRN_TRY(tx_check_brand(tx->u.transfer.brand));
      return tx_check_amount(tx->u.transfer.amount);
    case CAIRN_TX_REDEEM:
      CAIRN_TRY(tx_check_brand(tx->u.redeem.brand));
      CAIRN_TRY(tx_check_amount(tx->u.redeem.amount));
      return tx->u.redeem.ref_len <= CAIRN_REF_BYTES_MAX ? CAIRN_OK
                                                         : CAIRN_ERR_RANGE;
    case CAIRN_TX_COUPON_ISSUE: {
      const cairn_tx_coupon_issue *c = &tx->u.coupon_issue;
      CAIRN_TRY(tx_check_brand(c->brand));
      CAIRN_TRY(tx_check_coupon_kind(c->kind));
      CAIRN_TRY(tx_check_coupon_value(c->kind, c->value));
      if (c->expiry_height == 0) return CAIRN_ERR_RANGE;
      return c->label_len <= CAIRN_LABEL_BYTES_MAX ? CAIRN_OK
                                                   : CAIRN_ERR_RANGE;
    }
    case CAIRN_TX_COUPON_TRANSFER:
      return CAIRN_OK;
    case CAIRN_TX_COUPON_REDEEM:
      CAIRN_TRY(tx_check_brand(tx->u.coupon_redeem.brand));
      return tx->u.coupon_redeem.ref_len <= CAIRN_REF_BYTES_MAX
                 ? CAIRN_OK
                 : CAIRN_ERR_RANGE;
    default:
      return tx_check_econ_payload(tx);
  }
}

static cairn_err tx_check_struct(const cairn_tx *tx) {
  if (tx->version != CAIRN_TX_VERSION) return CAIRN_ERR_VERSION;
  if (tx->type < CAIRN_TX_TYPE_MIN || tx->type > CAIRN_TX_TYPE_MAX) {
    return CAIRN_ERR_BAD_TYPE;
  }
  if (tx->chain_id_len == 0 || tx->chain_id_len > CAIRN_CHAIN_ID_BYTES_MAX) {
    return CAIRN_ERR_RANGE;
  }
  if (tx->sequence == 0 || tx->expiry_height == 0) return CAIRN_ERR_RANGE;
  if (tx->client_ref_len > CAIRN_TX_CLIENT_REF_BYTES_MAX) {
    return CAIRN_ERR_RANGE;
  }
  return tx_check_payload(tx);
}

/* ---- encoding ---- */

static void tx_put_terms(cairn_writer *w, const cairn_agreement_terms *t) {
  cairn_put_u32(w, t->from_brand);
  cairn_put_u32(w, t->to_brand);
  cairn_put_u64(w, t->rate_num);
  cairn_put_u64(w, t->rate_den);
  cairn_put_u64(w, t->valid_from_height);
  cairn_put_u64(w, t->valid_until_height);
  cairn_put_u64(w, t->cap);
}

void cairn_agreement_id(uint8_t out[CAIRN_HASH_BYTES],
                        const cairn_agreement_terms *t) {
  uint8_t buf[4 + 4 + 5 * 8];
  cairn_writer w;
  size_t len = 0;
  assert(out != NULL && t != NULL);
  cairn_writer_init(&w, buf, sizeof buf);
  tx_put_terms(&w, t);
  cairn_err err = cairn_writer_finish(&w, &len);
  assert(err == CAIRN_OK && len == sizeof buf);
  (void)err;
  cairn_tagged_hash(out, CAIRN_TAG_AGREEMENT, buf, len);
}

/* The payload of the cross-brand types (POLICY and after). */
static void tx_put_stake_payload(cairn_writer *w, const cairn_tx *tx) {
  switch (tx->type) {
    case CAIRN_TX_BOND:
    case CAIRN_TX_UNBOND:
      cairn_put_bytes(w, tx->u.bond.validator, CAIRN_ED25519_PUBKEY_BYTES);
      cairn_put_u64(w, tx->u.bond.amount);
      break;
    case CAIRN_TX_ADMIT: {
      const cairn_tx_admit *a = &tx->u.admit;
      cairn_put_bytes(w, a->validator, CAIRN_ED25519_PUBKEY_BYTES);
      cairn_put_u64(w, a->amount);
      cairn_put_u64(w, a->deadline_height);
      cairn_put_var8(w, (const uint8_t *)a->name, a->name_len);
      break;
    }
    case CAIRN_TX_APPROVE:
      cairn_put_bytes(w, tx->u.approve.proposal, CAIRN_HASH_BYTES);
      break;
    case CAIRN_TX_EVIDENCE:
      cairn_put_bytes(w, tx->u.evidence.evidence, CAIRN_EVIDENCE_BYTES);
      break;
    case CAIRN_TX_STAKE_TRANSFER:
      cairn_put_bytes(w, tx->u.stake_transfer.to, CAIRN_PUBKEY_BYTES);
      cairn_put_u64(w, tx->u.stake_transfer.amount);
      break;
    default:
      assert(!"tx type checked by tx_check_struct");
  }
}

static void tx_put_econ_payload(cairn_writer *w, const cairn_tx *tx) {
  switch (tx->type) {
    case CAIRN_TX_POLICY:
      cairn_put_u32(w, tx->u.policy.brand);
      cairn_put_u8(w, tx->u.policy.flags);
      cairn_put_u8(w, tx->u.policy.policy.expiry_mode);
      cairn_put_u64(w, tx->u.policy.policy.expiry_blocks);
      cairn_put_u64(w, tx->u.policy.policy.max_issue_per_tx);
      cairn_put_u64(w, tx->u.policy.policy.max_issue_per_day);
      break;
    case CAIRN_TX_HOLD:
      cairn_put_u32(w, tx->u.hold.brand);
      cairn_put_u64(w, tx->u.hold.amount);
      cairn_put_u64(w, tx->u.hold.timeout_height);
      cairn_put_var8(w, tx->u.hold.ref, tx->u.hold.ref_len);
      break;
    case CAIRN_TX_CAPTURE:
      cairn_put_bytes(w, tx->u.capture.hold, CAIRN_HASH_BYTES);
      cairn_put_u64(w, tx->u.capture.amount);
      break;
    case CAIRN_TX_RELEASE:
      cairn_put_bytes(w, tx->u.release.hold, CAIRN_HASH_BYTES);
      break;
    case CAIRN_TX_REVERSE:
      cairn_put_bytes(w, tx->u.reverse.issue, CAIRN_HASH_BYTES);
      cairn_put_u64(w, tx->u.reverse.amount);
      cairn_put_var8(w, tx->u.reverse.ref, tx->u.reverse.ref_len);
      break;
    case CAIRN_TX_AGREE:
      tx_put_terms(w, &tx->u.agree.terms);
      break;
    case CAIRN_TX_REVOKE:
      cairn_put_bytes(w, tx->u.revoke.agreement, CAIRN_HASH_BYTES);
      break;
    case CAIRN_TX_REDEEM_AT: {
      const cairn_tx_redeem_at *r = &tx->u.redeem_at;
      cairn_put_u32(w, r->from_brand);
      cairn_put_u32(w, r->at_brand);
      cairn_put_bytes(w, r->agreement, CAIRN_HASH_BYTES);
      cairn_put_u64(w, r->amount);
      cairn_put_var8(w, r->ref, r->ref_len);
      break;
    }
    case CAIRN_TX_SETTLE:
      cairn_put_u32(w, tx->u.settle.debtor_brand);
      cairn_put_u32(w, tx->u.settle.creditor_brand);
      cairn_put_u64(w, tx->u.settle.amount);
      cairn_put_var8(w, tx->u.settle.ref, tx->u.settle.ref_len);
      break;
    default:
      tx_put_stake_payload(w, tx);
      break;
  }
}

static void tx_put_payload(cairn_writer *w, const cairn_tx *tx) {
  switch (tx->type) {
    case CAIRN_TX_ISSUE:
    case CAIRN_TX_TRANSFER:
      cairn_put_u32(w, tx->u.transfer.brand);
      cairn_put_bytes(w, tx->u.transfer.to, CAIRN_PUBKEY_BYTES);
      cairn_put_u64(w, tx->u.transfer.amount);
      break;
    case CAIRN_TX_REDEEM:
      cairn_put_u32(w, tx->u.redeem.brand);
      cairn_put_u64(w, tx->u.redeem.amount);
      cairn_put_var8(w, tx->u.redeem.ref, tx->u.redeem.ref_len);
      break;
    case CAIRN_TX_COUPON_ISSUE: {
      const cairn_tx_coupon_issue *c = &tx->u.coupon_issue;
      cairn_put_u32(w, c->brand);
      cairn_put_bytes(w, c->to, CAIRN_PUBKEY_BYTES);
      cairn_put_u8(w, c->kind);
      cairn_put_u64(w, c->value);
      cairn_put_u64(w, c->expiry_height);
      cairn_put_u8(w, c->transferable ? 1 : 0);
      cairn_put_var8(w, c->label, c->label_len);
      break;
    }
    case CAIRN_TX_COUPON_TRANSFER:
      cairn_put_bytes(w, tx->u.coupon_transfer.coupon, CAIRN_HASH_BYTES);
      cairn_put_bytes(w, tx->u.coupon_transfer.to, CAIRN_PUBKEY_BYTES);
      break;
    case CAIRN_TX_COUPON_REDEEM:
      cairn_put_bytes(w, tx->u.coupon_redeem.coupon, CAIRN_HASH_BYTES);
      cairn_put_u32(w, tx->u.coupon_redeem.brand);
      cairn_put_var8(w, tx->u.coupon_redeem.ref, tx->u.coupon_redeem.ref_len);
      break;
    default:
      tx_put_econ_payload(w, tx);
      break;
  }
}

/* Everything before the signature: the signed part. */
static void tx_put_unsigned(cairn_writer *w, const cairn_tx *tx) {
  cairn_put_u8(w, tx->version);
  cairn_put_u8(w, tx->type);
  cairn_put_var8(w, tx->chain_id, tx->chain_id_len);
  cairn_put_bytes(w, tx->sender, CAIRN_PUBKEY_BYTES);
  cairn_put_u64(w, tx->sequence);
  cairn_put_u64(w, tx->expiry_height);
  cairn_put_var8(w, tx->client_ref, tx->client_ref_len);
  tx_put_payload(w, tx);
}

cairn_err cairn_tx_encode(uint8_t *buf, size_t cap, size_t *len,
                          const cairn_tx *tx) {
  cairn_writer w;
  assert(tx != NULL && len != NULL);
  cairn_err valid = tx_check_struct(tx);
  assert(valid == CAIRN_OK);
  (void)valid;
  cairn_writer_init(&w, buf, cap);
  tx_put_unsigned(&w, tx);
  cairn_put_bytes(&w, tx->sig, CAIRN_SIG_BYTES);
  cairn_err err = cairn_writer_finish(&w, len);
  assert(err != CAIRN_OK || *len <= CAIRN_TX_BYTES_MAX);
  return err;
}

/* ---- decoding ---- */

/* How decoding checks recipient keys: check is false only for bytes that
 * have already passed the check (cairn_tx_decode_verified); cache (may be
 * NULL) remembers keys already lifted onto the curve. */
typedef struct tx_keys {
  bool check;
  cairn_cache *cache;
} tx_keys;

/* A recipient must be a usable x-only key: points sent to anything else
 * could never be spent. */
static cairn_err tx_get_recipient(cairn_reader *r, uint8_t to[32],
                                  const tx_keys *keys) {
  CAIRN_TRY(cairn_get_bytes(r, to, CAIRN_PUBKEY_BYTES));
  return keys->check ? cairn_schnorr_pubkey_check_cached(keys->cache, to)
                     : CAIRN_OK;
}

static cairn_err tx_get_var8_into(cairn_reader *r, uint8_t *out,
                                  uint8_t *out_len, size_t max) {
  const uint8_t *p;
  size_t n;
  CAIRN_TRY(cairn_get_var8(r, &p, &n, max));
  assert(n <= max && n <= 255);
  if (n > 0) memcpy(out, p, n);
  *out_len = (uint8_t)n;
  return CAIRN_OK;
}

/* ISSUE and TRANSFER payload. */
static cairn_err tx_get_credit(cairn_reader *r, cairn_tx_credit *c,
                               const tx_keys *keys) {
  CAIRN_TRY(cairn_get_u32(r, &c->brand));
  CAIRN_TRY(tx_check_brand(c->brand));
  CAIRN_TRY(tx_get_recipient(r, c->to, keys));
  CAIRN_TRY(cairn_get_u64(r, &c->amount));
  return tx_check_amount(c->amount);
}

static cairn_err tx_get_redeem(cairn_reader *r, cairn_tx_redeem *c) {
  CAIRN_TRY(cairn_get_u32(r, &c->brand));
  CAIRN_TRY(tx_check_brand(c->brand));
  CAIRN_TRY(cairn_get_u64(r, &c->amount));
  CAIRN_TRY(tx_check_amount(c->amount));
  return tx_get_var8_into(r, c->ref, &c->ref_len, CAIRN_REF_BYTES_MAX);
}

static cairn_err tx_get_coupon_issue(cairn_reader *r,
                                     cairn_tx_coupon_issue *c,
                                     const tx_keys *keys) {
  CAIRN_TRY(cairn_get_u32(r, &c->brand));
  CAIRN_TRY(tx_check_brand(c->brand));
  CAIRN_TRY(tx_get_recipient(r, c->to, keys));
  CAIRN_TRY(cairn_get_u8(r, &c->kind));
  CAIRN_TRY(tx_check_coupon_kind(c->kind));
  CAIRN_TRY(cairn_get_u64(r, &c->value));
  CAIRN_TRY(tx_check_coupon_value(c->kind, c->value));
  CAIRN_TRY(cairn_get_u64(r, &c->expiry_height));
  if (c->expiry_height == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_bool(r, &c->transferable));
  return tx_get_var8_into(r, c->label, &c->label_len, CAIRN_LABEL_BYTES_MAX);
}

static cairn_err tx_get_coupon_transfer(cairn_reader *r,
                                        cairn_tx_coupon_transfer *c,
                                        const tx_keys *keys) {
  CAIRN_TRY(cairn_get_bytes(r, c->coupon, CAIRN_HASH_BYTES));
  return tx_get_recipient(r, c->to, keys);
}

static cairn_err tx_get_coupon_redeem(cairn_reader *r,
                                      cairn_tx_coupon_redeem *c) {
  CAIRN_TRY(cairn_get_bytes(r, c->coupon, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_u32(r, &c->brand));
  CAIRN_TRY(tx_check_brand(c->brand));
  return tx_get_var8_into(r, c->ref, &c->ref_len, CAIRN_REF_BYTES_MAX);
}

static cairn_err tx_get_policy(cairn_reader *r, cairn_tx_policy *p) {
  CAIRN_TRY(cairn_get_u32(r, &p->brand));
  CAIRN_TRY(tx_check_brand(p->brand));
  CAIRN_TRY(cairn_get_u8(r, &p->flags));
  if ((p->flags & ~CAIRN_BRAND_FLAGS_KNOWN) != 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u8(r, &p->policy.expiry_mode));
  if (p->policy.expiry_mode > CAIRN_EXPIRY_MODE_MAX) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u64(r, &p->policy.expiry_blocks));
  CAIRN_TRY(cairn_brand_policy_check(&p->policy));
  CAIRN_TRY(cairn_get_u64(r, &p->policy.max_issue_per_tx));
  return cairn_get_u64(r, &p->policy.max_issue_per_day);
}

static cairn_err tx_get_hold(cairn_reader *r, cairn_tx_hold *h) {
  CAIRN_TRY(cairn_get_u32(r, &h->brand));
  CAIRN_TRY(tx_check_brand(h->brand));
  CAIRN_TRY(cairn_get_u64(r, &h->amount));
  CAIRN_TRY(tx_check_amount(h->amount));
  CAIRN_TRY(cairn_get_u64(r, &h->timeout_height));
  if (h->timeout_height == 0) return CAIRN_ERR_RANGE;
  return tx_get_var8_into(r, h->ref, &h->ref_len, CAIRN_REF_BYTES_MAX);
}

static cairn_err tx_get_capture(cairn_reader *r, cairn_tx_capture *c) {
  CAIRN_TRY(cairn_get_bytes(r, c->hold, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_u64(r, &c->amount));
  return tx_check_amount(c->amount);
}

static cairn_err tx_get_reverse(cairn_reader *r, cairn_tx_reverse *v) {
  CAIRN_TRY(cairn_get_bytes(r, v->issue, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_u64(r, &v->amount));
  CAIRN_TRY(tx_check_amount(v->amount));
  return tx_get_var8_into(r, v->ref, &v->ref_len, CAIRN_REF_BYTES_MAX);
}

static cairn_err tx_get_terms(cairn_reader *r, cairn_agreement_terms *t) {
  CAIRN_TRY(cairn_get_u32(r, &t->from_brand));
  CAIRN_TRY(tx_check_brand(t->from_brand));
  CAIRN_TRY(cairn_get_u32(r, &t->to_brand));
  CAIRN_TRY(tx_check_brand(t->to_brand));
  CAIRN_TRY(cairn_get_u64(r, &t->rate_num));
  CAIRN_TRY(cairn_get_u64(r, &t->rate_den));
  CAIRN_TRY(cairn_get_u64(r, &t->valid_from_height));
  CAIRN_TRY(cairn_get_u64(r, &t->valid_until_height));
  CAIRN_TRY(cairn_get_u64(r, &t->cap));
  return tx_check_terms(t);
}

static cairn_err tx_get_redeem_at(cairn_reader *r, cairn_tx_redeem_at *x) {
  CAIRN_TRY(cairn_get_u32(r, &x->from_brand));
  CAIRN_TRY(tx_check_brand(x->from_brand));
  CAIRN_TRY(cairn_get_u32(r, &x->at_brand));
  CAIRN_TRY(tx_check_brand(x->at_brand));
  if (x->from_brand == x->at_brand) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_bytes(r, x->agreement, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_u64(r, &x->amount));
  CAIRN_TRY(tx_check_amount(x->amount));
  return tx_get_var8_into(r, x->ref, &x->ref_len, CAIRN_REF_BYTES_MAX);
}

static cairn_err tx_get_settle(cairn_reader *r, cairn_tx_settle *x) {
  CAIRN_TRY(cairn_get_u32(r, &x->debtor_brand));
  CAIRN_TRY(tx_check_brand(x->debtor_brand));
  CAIRN_TRY(cairn_get_u32(r, &x->creditor_brand));
  CAIRN_TRY(tx_check_brand(x->creditor_brand));
  if (x->debtor_brand == x->creditor_brand) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u64(r, &x->amount));
  CAIRN_TRY(tx_check_amount(x->amount));
  return tx_get_var8_into(r, x->ref, &x->ref_len, CAIRN_REF_BYTES_MAX);
}

/* BOND and UNBOND. */
static cairn_err tx_get_bond(cairn_reader *r, cairn_tx_bond *b) {
  CAIRN_TRY(cairn_get_bytes(r, b->validator, CAIRN_ED25519_PUBKEY_BYTES));
  CAIRN_TRY(tx_check_validator_key(b->validator));
  CAIRN_TRY(cairn_get_u64(r, &b->amount));
  return tx_check_amount(b->amount);
}

static cairn_err tx_get_admit(cairn_reader *r, cairn_tx_admit *a) {
  uint8_t n = 0;
  CAIRN_TRY(cairn_get_bytes(r, a->validator, CAIRN_ED25519_PUBKEY_BYTES));
  CAIRN_TRY(tx_check_validator_key(a->validator));
  CAIRN_TRY(cairn_get_u64(r, &a->amount));
  CAIRN_TRY(tx_check_amount(a->amount));
  CAIRN_TRY(cairn_get_u64(r, &a->deadline_height));
  CAIRN_TRY(tx_get_var8_into(r, (uint8_t *)a->name, &n, CAIRN_NAME_BYTES_MAX));
  a->name[n] = '\0';
  a->name_len = n;
  return tx_check_admit_name(a->name, n);
}

/* The evidence bytes are kept as they are, once they decode. */
static cairn_err tx_get_evidence(cairn_reader *r, cairn_tx_evidence *x) {
  cairn_evidence e;
  CAIRN_TRY(cairn_get_bytes(r, x->evidence, CAIRN_EVIDENCE_BYTES));
  return cairn_evidence_decode(&e, x->evidence, CAIRN_EVIDENCE_BYTES);
}

static cairn_err tx_get_stake_transfer(cairn_reader *r,
                                       cairn_tx_stake_transfer *x,
                                       const tx_keys *keys) {
  CAIRN_TRY(tx_get_recipient(r, x->to, keys));
  CAIRN_TRY(cairn_get_u64(r, &x->amount));
  return tx_check_amount(x->amount);
}

static cairn_err tx_get_stake_payload(cairn_reader *r, cairn_tx *tx,
                                      const tx_keys *keys) {
  switch (tx->type) {
    case CAIRN_TX_BOND:
    case CAIRN_TX_UNBOND: return tx_get_bond(r, &tx->u.bond);
    case CAIRN_TX_ADMIT: return tx_get_admit(r, &tx->u.admit);
    case CAIRN_TX_APPROVE:
      return cairn_get_bytes(r, tx->u.approve.proposal, CAIRN_HASH_BYTES);
    case CAIRN_TX_EVIDENCE: return tx_get_evidence(r, &tx->u.evidence);
    case CAIRN_TX_STAKE_TRANSFER:
      return tx_get_stake_transfer(r, &tx->u.stake_transfer, keys);
    default:
      assert(!"type checked before the payload is read");
      return CAIRN_ERR_BAD_TYPE;
  }
}

static cairn_err tx_get_payload(cairn_reader *r, cairn_tx *tx,
                                const tx_keys *keys) {
  switch (tx->type) {
    case CAIRN_TX_ISSUE: return tx_get_credit(r, &tx->u.issue, keys);
    case CAIRN_TX_TRANSFER:
      return tx_get_credit(r, &tx->u.transfer, keys);
    case CAIRN_TX_REDEEM: return tx_get_redeem(r, &tx->u.redeem);
    case CAIRN_TX_COUPON_ISSUE:
      return tx_get_coupon_issue(r, &tx->u.coupon_issue, keys);
    case CAIRN_TX_COUPON_TRANSFER:
      return tx_get_coupon_transfer(r, &tx->u.coupon_transfer, keys);
    case CAIRN_TX_COUPON_REDEEM:
      return tx_get_coupon_redeem(r, &tx->u.coupon_redeem);
    case CAIRN_TX_POLICY: return tx_get_policy(r, &tx->u.policy);
    case CAIRN_TX_HOLD: return tx_get_hold(r, &tx->u.hold);
    case CAIRN_TX_CAPTURE: return tx_get_capture(r, &tx->u.capture);
    case CAIRN_TX_RELEASE:
      return cairn_get_bytes(r, tx->u.release.hold, CAIRN_HASH_BYTES);
    case CAIRN_TX_REVERSE: return tx_get_reverse(r, &tx->u.reverse);
    case CAIRN_TX_AGREE: return tx_get_terms(r, &tx->u.agree.terms);
    case CAIRN_TX_REVOKE:
      return cairn_get_bytes(r, tx->u.revoke.agreement, CAIRN_HASH_BYTES);
    case CAIRN_TX_REDEEM_AT: return tx_get_redeem_at(r, &tx->u.redeem_at);
    case CAIRN_TX_SETTLE: return tx_get_settle(r, &tx->u.settle);
    default: return tx_get_stake_payload(r, tx, keys);
  }
}

/* The common prefix, checked field by field. */
static cairn_err tx_get_prefix(cairn_reader *r, cairn_tx *tx) {
  CAIRN_TRY(cairn_get_u8(r, &tx->version));
  if (tx->version != CAIRN_TX_VERSION) return CAIRN_ERR_VERSION;
  CAIRN_TRY(cairn_get_u8(r, &tx->type));
  if (tx->type < CAIRN_TX_TYPE_MIN || tx->type > CAIRN_TX_TYPE_MAX) {
    return CAIRN_ERR_BAD_TYPE;
  }
  CAIRN_TRY(tx_get_var8_into(r, tx->chain_id, &tx->chain_id_len,
                             CAIRN_CHAIN_ID_BYTES_MAX));
  if (tx->chain_id_len == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_bytes(r, tx->sender, CAIRN_PUBKEY_BYTES));
  CAIRN_TRY(cairn_get_u64(r, &tx->sequence));
  if (tx->sequence == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u64(r, &tx->expiry_height));
  if (tx->expiry_height == 0) return CAIRN_ERR_RANGE;
  return tx_get_var8_into(r, tx->client_ref, &tx->client_ref_len,
                          CAIRN_TX_CLIENT_REF_BYTES_MAX);
}

static cairn_err tx_decode(cairn_tx *tx, const uint8_t *buf, size_t len,
                           const tx_keys *keys) {
  cairn_reader r;
  assert(tx != NULL && (buf != NULL || len == 0));
  memset(tx, 0, sizeof *tx);
  if (len > CAIRN_TX_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  cairn_reader_init(&r, buf, len);
  cairn_err err = tx_get_prefix(&r, tx);
  if (err == CAIRN_OK) err = tx_get_payload(&r, tx, keys);
  if (err == CAIRN_OK) err = cairn_get_bytes(&r, tx->sig, CAIRN_SIG_BYTES);
  if (err == CAIRN_OK) err = cairn_reader_end(&r);
  if (err != CAIRN_OK) {
    memset(tx, 0, sizeof *tx);
    return err;
  }
  err = tx_check_struct(tx);
  assert(err == CAIRN_OK);
  return err;
}

cairn_err cairn_tx_decode(cairn_tx *tx, const uint8_t *buf, size_t len) {
  const tx_keys keys = {.check = true, .cache = NULL};
  return tx_decode(tx, buf, len, &keys);
}

cairn_err cairn_tx_decode_cached(cairn_tx *tx, const uint8_t *buf, size_t len,
                                 cairn_cache *key_cache) {
  const tx_keys keys = {.check = true, .cache = key_cache};
  return tx_decode(tx, buf, len, &keys);
}

cairn_err cairn_tx_decode_verified(cairn_tx *tx, const uint8_t *buf,
                                   size_t len) {
  const tx_keys keys = {.check = false, .cache = NULL};
  return tx_decode(tx, buf, len, &keys);
}

/* ---- ids and signatures ---- */

cairn_err cairn_tx_sighash(uint8_t out[CAIRN_HASH_BYTES], const cairn_tx *tx) {
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  cairn_writer w;
  size_t len;
  assert(out != NULL && tx != NULL);
  cairn_err valid = tx_check_struct(tx);
  assert(valid == CAIRN_OK);
  (void)valid;
  cairn_writer_init(&w, buf, sizeof buf);
  tx_put_unsigned(&w, tx);
  cairn_err err = cairn_writer_finish(&w, &len);
  if (err != CAIRN_OK) {
    memset(out, 0, CAIRN_HASH_BYTES);
    return err;
  }
  assert(len + CAIRN_SIG_BYTES <= CAIRN_TX_BYTES_MAX);
  cairn_tagged_hash(out, CAIRN_TAG_TX_SIG, buf, len);
  return CAIRN_OK;
}

cairn_err cairn_tx_sign(cairn_tx *tx, const uint8_t sk[CAIRN_SECKEY_BYTES]) {
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  uint8_t msg[CAIRN_HASH_BYTES];
  uint8_t sig[CAIRN_SIG_BYTES];
  assert(tx != NULL && sk != NULL);
  CAIRN_TRY(cairn_schnorr_pubkey(pk, sk));
  if (memcmp(pk, tx->sender, CAIRN_PUBKEY_BYTES) != 0) {
    return CAIRN_ERR_BAD_KEY;
  }
  CAIRN_TRY(cairn_tx_sighash(msg, tx));
  /* The struct is left untouched unless signing succeeds. */
  CAIRN_TRY(cairn_schnorr_sign(sig, sk, msg, NULL));
  memcpy(tx->sig, sig, CAIRN_SIG_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_tx_verify(const cairn_tx *tx) {
  return cairn_tx_verify_cached(tx, NULL);
}

cairn_err cairn_tx_verify_cached(const cairn_tx *tx, cairn_cache *key_cache) {
  uint8_t msg[CAIRN_HASH_BYTES];
  assert(tx != NULL);
  CAIRN_TRY(cairn_tx_sighash(msg, tx));
  return cairn_schnorr_verify_cached(key_cache, tx->sig, msg, sizeof msg,
                                     tx->sender);
}

void cairn_tx_id_bytes(uint8_t out[CAIRN_HASH_BYTES], const uint8_t *buf,
                       size_t len) {
  assert(out != NULL && (buf != NULL || len == 0));
  cairn_tagged_hash(out, CAIRN_TAG_TXID, buf, len);
}

cairn_err cairn_tx_id(uint8_t out[CAIRN_HASH_BYTES], const cairn_tx *tx) {
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  size_t len;
  assert(out != NULL && tx != NULL);
  cairn_err err = cairn_tx_encode(buf, sizeof buf, &len, tx);
  if (err != CAIRN_OK) {
    memset(out, 0, CAIRN_HASH_BYTES);
    return err;
  }
  cairn_tx_id_bytes(out, buf, len);
  return CAIRN_OK;
}

const char *cairn_tx_type_name(uint8_t type) {
  switch (type) {
    case CAIRN_TX_ISSUE: return "issue";
    case CAIRN_TX_TRANSFER: return "transfer";
    case CAIRN_TX_REDEEM: return "redeem";
    case CAIRN_TX_COUPON_ISSUE: return "coupon_issue";
    case CAIRN_TX_COUPON_TRANSFER: return "coupon_transfer";
    case CAIRN_TX_COUPON_REDEEM: return "coupon_redeem";
    case CAIRN_TX_POLICY: return "policy";
    case CAIRN_TX_HOLD: return "hold";
    case CAIRN_TX_CAPTURE: return "capture";
    case CAIRN_TX_RELEASE: return "release";
    case CAIRN_TX_REVERSE: return "reverse";
    case CAIRN_TX_AGREE: return "agree";
    case CAIRN_TX_REVOKE: return "revoke";
    case CAIRN_TX_REDEEM_AT: return "redeem_at";
    case CAIRN_TX_SETTLE: return "settle";
    case CAIRN_TX_BOND: return "bond";
    case CAIRN_TX_UNBOND: return "unbond";
    case CAIRN_TX_ADMIT: return "admit";
    case CAIRN_TX_APPROVE: return "approve";
    case CAIRN_TX_EVIDENCE: return "evidence";
    case CAIRN_TX_STAKE_TRANSFER: return "stake_transfer";
    default: return "unknown";
  }
}
