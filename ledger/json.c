/*
 * json.c - the JSON shapes of Cairn's objects, shared by the node's HTTP API
 * and the wallet (specs/api.md is the reference for every field name).
 *
 * Two rules shape everything here. First, no number may lose precision in a
 * client: JavaScript and many JSON libraries hold numbers as doubles, exact
 * only below 2^53, so amounts and coupon values - any u64 a user can choose
 * - are decimal strings. Heights, sequences, counts and times are integers,
 * because they stay small in practice; should one ever exceed what a JSON
 * integer can carry (2^63 - 1 in jansson), it is written as a decimal string
 * rather than wrapped. cairn_json_get_u64() reads either form back, so the
 * two directions agree.
 *
 * Second, every byte string that came from a user must still yield valid
 * JSON. References, labels and chain ids are written as strings only when
 * every byte is printable ASCII (0x20..0x7e, a subset of UTF-8 that needs
 * no escaping decisions); anything else is written as hex under the same
 * name with a "_hex" suffix, so the original bytes are always recoverable.
 *
 * Builders return a new reference or NULL when jansson cannot allocate;
 * a partly built object is released before returning NULL.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/json.h"

/* ---- scalar builders ---- */

json_t *cairn_json_hex(const uint8_t *p, size_t n) {
  assert(p != NULL || n == 0);
  assert(n <= (SIZE_MAX - 1) / 2);
  char *hex = malloc(2 * n + 1);
  if (hex == NULL) return NULL;
  cairn_hex_encode(hex, 2 * n + 1, p, n);
  /* Hex digits are ASCII, so jansson need not re-validate UTF-8. */
  json_t *s = json_stringn_nocheck(hex, 2 * n);
  free(hex);
  return s;
}

json_t *cairn_json_u64(uint64_t v) {
  char buf[21]; /* 18446744073709551615 and a NUL */
  int n = snprintf(buf, sizeof buf, "%" PRIu64, v);
  assert(n > 0 && (size_t)n < sizeof buf);
  return json_stringn_nocheck(buf, (size_t)n);
}

json_t *cairn_json_address(const uint8_t pk[32]) {
  char addr[CAIRN_ADDRESS_BUF];
  assert(pk != NULL);
  cairn_address_encode(addr, sizeof addr, pk);
  return json_string(addr);
}

_Static_assert(sizeof(json_int_t) >= sizeof(int64_t),
               "jansson must hold every int64 value");

/* A height, sequence, count or time: an integer while it fits jansson's
 * json_int_t, else a decimal string (see the essay). */
static json_t *json_uint(uint64_t v) {
  if (v <= (uint64_t)INT64_MAX) return json_integer((json_int_t)v);
  return cairn_json_u64(v);
}

static bool bytes_printable(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] < 0x20 || p[i] > 0x7e) return false;
  }
  return true;
}

/* ---- object helpers ---- */

/* Add value under key; false if value is NULL or jansson failed. jansson
 * releases value itself on failure, so no reference leaks either way. */
static bool set(json_t *obj, const char *key, json_t *value) {
  return json_object_set_new(obj, key, value) == 0;
}

/* Set key to the bytes as a string if printable, else key_hex to hex. */
static bool set_text(json_t *obj, const char *key, const uint8_t *p,
                     size_t n) {
  char hex_key[32];
  if (bytes_printable(p, n)) {
    return set(obj, key, json_stringn_nocheck((const char *)p, n));
  }
  int k = snprintf(hex_key, sizeof hex_key, "%s_hex", key);
  assert(k > 0 && (size_t)k < sizeof hex_key);
  return set(obj, hex_key, cairn_json_hex(p, n));
}

/* Return obj if every set succeeded, else release it and return NULL. */
static json_t *finish(json_t *obj, bool ok) {
  if (obj != NULL && !ok) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

static const char *coupon_kind_name(uint8_t kind) {
  return kind == CAIRN_COUPON_PERCENT ? "percent" : "amount";
}

/* ---- transactions ---- */

/* The terms of an agreement, and its id. */
static bool set_terms(json_t *o, const cairn_agreement_terms *t) {
  uint8_t id[CAIRN_HASH_BYTES];
  cairn_agreement_id(id, t);
  bool ok = set(o, "agreement", cairn_json_hex(id, sizeof id));
  ok &= set(o, "from_brand", json_integer(t->from_brand));
  ok &= set(o, "to_brand", json_integer(t->to_brand));
  ok &= set(o, "rate_num", cairn_json_u64(t->rate_num));
  ok &= set(o, "rate_den", cairn_json_u64(t->rate_den));
  ok &= set(o, "valid_from_height", json_uint(t->valid_from_height));
  ok &= set(o, "valid_until_height", json_uint(t->valid_until_height));
  ok &= set(o, "cap", cairn_json_u64(t->cap));
  return ok;
}

/* ---- evidence ---- */

static const char *vote_type_name(uint8_t type) {
  return type == CAIRN_VOTE_PREVOTE     ? "prevote"
         : type == CAIRN_VOTE_PRECOMMIT ? "precommit"
                                        : "unknown";
}

json_t *cairn_json_evidence(const cairn_evidence *e) {
  assert(e != NULL);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set(o, "validator",
                cairn_json_hex(e->a.validator, CAIRN_ED25519_PUBKEY_BYTES));
  ok &= set(o, "height", json_uint(e->a.height));
  ok &= set(o, "round", json_integer(e->a.round));
  ok &= set(o, "type", json_string(vote_type_name(e->a.type)));
  ok &= set(o, "block_hash_a", cairn_json_hex(e->a.block_hash, 32));
  ok &= set(o, "block_hash_b", cairn_json_hex(e->b.block_hash, 32));
  return finish(o, ok);
}

/* The payload of the staking types (16 and above). */
static bool tx_set_stake_payload(json_t *o, const cairn_tx *tx) {
  bool ok = true;
  switch (tx->type) {
    case CAIRN_TX_BOND:
    case CAIRN_TX_UNBOND:
      ok &= set(o, "validator", cairn_json_hex(tx->u.bond.validator, 32));
      ok &= set(o, "amount", cairn_json_u64(tx->u.bond.amount));
      return ok;
    case CAIRN_TX_ADMIT: {
      const cairn_tx_admit *a = &tx->u.admit;
      ok &= set(o, "validator", cairn_json_hex(a->validator, 32));
      ok &= set_text(o, "name", (const uint8_t *)a->name, a->name_len);
      ok &= set(o, "amount", cairn_json_u64(a->amount));
      ok &= set(o, "deadline_height", json_uint(a->deadline_height));
      return ok;
    }
    case CAIRN_TX_APPROVE:
      return set(o, "proposal", cairn_json_hex(tx->u.approve.proposal, 32));
    case CAIRN_TX_EVIDENCE: {
      cairn_evidence e;
      ok &= set(o, "evidence", cairn_json_hex(tx->u.evidence.evidence,
                                              CAIRN_EVIDENCE_BYTES));
      /* The transaction decoder checked these bytes; show what they
       * prove. */
      if (cairn_evidence_decode(&e, tx->u.evidence.evidence,
                                CAIRN_EVIDENCE_BYTES) == CAIRN_OK) {
        ok &= set(o, "offence", cairn_json_evidence(&e));
      }
      return ok;
    }
    case CAIRN_TX_STAKE_TRANSFER:
      ok &= set(o, "to", cairn_json_address(tx->u.stake_transfer.to));
      ok &= set(o, "amount", cairn_json_u64(tx->u.stake_transfer.amount));
      return ok;
    default:
      assert(!"cairn_json_tx needs a decoded transaction");
      return false;
  }
}

/* The payload of the cross-brand transaction types (7 and above). */
static bool tx_set_econ_payload(json_t *o, const cairn_tx *tx) {
  bool ok = true;
  switch (tx->type) {
    case CAIRN_TX_AGREE:
      return set_terms(o, &tx->u.agree.terms);
    case CAIRN_TX_REVOKE:
      return set(o, "agreement",
                 cairn_json_hex(tx->u.revoke.agreement, CAIRN_HASH_BYTES));
    case CAIRN_TX_REDEEM_AT: {
      const cairn_tx_redeem_at *r = &tx->u.redeem_at;
      ok &= set(o, "from_brand", json_integer(r->from_brand));
      ok &= set(o, "at_brand", json_integer(r->at_brand));
      ok &= set(o, "agreement", cairn_json_hex(r->agreement, CAIRN_HASH_BYTES));
      ok &= set(o, "amount", cairn_json_u64(r->amount));
      ok &= set_text(o, "ref", r->ref, r->ref_len);
      return ok;
    }
    case CAIRN_TX_SETTLE:
      ok &= set(o, "debtor_brand", json_integer(tx->u.settle.debtor_brand));
      ok &= set(o, "creditor_brand",
                json_integer(tx->u.settle.creditor_brand));
      ok &= set(o, "amount", cairn_json_u64(tx->u.settle.amount));
      ok &= set_text(o, "ref", tx->u.settle.ref, tx->u.settle.ref_len);
      return ok;
    default:
      return tx_set_stake_payload(o, tx);
  }
}

static bool tx_set_payload(json_t *o, const cairn_tx *tx) {
  bool ok = true;
  switch (tx->type) {
    case CAIRN_TX_ISSUE:
    case CAIRN_TX_TRANSFER:
      ok &= set(o, "brand", json_integer(tx->u.transfer.brand));
      ok &= set(o, "to", cairn_json_address(tx->u.transfer.to));
      ok &= set(o, "amount", cairn_json_u64(tx->u.transfer.amount));
      return ok;
    case CAIRN_TX_REDEEM:
      ok &= set(o, "brand", json_integer(tx->u.redeem.brand));
      ok &= set(o, "amount", cairn_json_u64(tx->u.redeem.amount));
      ok &= set_text(o, "ref", tx->u.redeem.ref, tx->u.redeem.ref_len);
      return ok;
    case CAIRN_TX_COUPON_ISSUE: {
      const cairn_tx_coupon_issue *c = &tx->u.coupon_issue;
      ok &= set(o, "brand", json_integer(c->brand));
      ok &= set(o, "to", cairn_json_address(c->to));
      ok &= set(o, "kind", json_string(coupon_kind_name(c->kind)));
      ok &= set(o, "value", cairn_json_u64(c->value));
      ok &= set(o, "coupon_expiry_height", json_uint(c->expiry_height));
      ok &= set(o, "transferable", json_boolean(c->transferable));
      ok &= set_text(o, "label", c->label, c->label_len);
      return ok;
    }
    case CAIRN_TX_COUPON_TRANSFER:
      ok &= set(o, "coupon",
                cairn_json_hex(tx->u.coupon_transfer.coupon, CAIRN_HASH_BYTES));
      ok &= set(o, "to", cairn_json_address(tx->u.coupon_transfer.to));
      return ok;
    case CAIRN_TX_COUPON_REDEEM:
      ok &= set(o, "coupon",
                cairn_json_hex(tx->u.coupon_redeem.coupon, CAIRN_HASH_BYTES));
      ok &= set(o, "brand", json_integer(tx->u.coupon_redeem.brand));
      ok &= set_text(o, "ref", tx->u.coupon_redeem.ref,
                     tx->u.coupon_redeem.ref_len);
      return ok;
    case CAIRN_TX_POLICY:
      ok &= set(o, "brand", json_integer(tx->u.policy.brand));
      ok &= set(o, "transferable",
                json_boolean((tx->u.policy.flags &
                              CAIRN_BRAND_FLAG_TRANSFERABLE) != 0));
      ok &= set(o, "policy",
                cairn_json_policy(tx->u.policy.flags, &tx->u.policy.policy));
      return ok;
    case CAIRN_TX_HOLD:
      ok &= set(o, "brand", json_integer(tx->u.hold.brand));
      ok &= set(o, "amount", cairn_json_u64(tx->u.hold.amount));
      ok &= set(o, "timeout_height", json_uint(tx->u.hold.timeout_height));
      ok &= set_text(o, "ref", tx->u.hold.ref, tx->u.hold.ref_len);
      return ok;
    case CAIRN_TX_CAPTURE:
      ok &= set(o, "hold", cairn_json_hex(tx->u.capture.hold, CAIRN_HASH_BYTES));
      ok &= set(o, "amount", cairn_json_u64(tx->u.capture.amount));
      return ok;
    case CAIRN_TX_RELEASE:
      ok &= set(o, "hold", cairn_json_hex(tx->u.release.hold, CAIRN_HASH_BYTES));
      return ok;
    case CAIRN_TX_REVERSE:
      ok &= set(o, "issue",
                cairn_json_hex(tx->u.reverse.issue, CAIRN_HASH_BYTES));
      ok &= set(o, "amount", cairn_json_u64(tx->u.reverse.amount));
      ok &= set_text(o, "ref", tx->u.reverse.ref, tx->u.reverse.ref_len);
      return ok;
    default:
      return tx_set_econ_payload(o, tx);
  }
}

/* txid may be NULL; when given it is included as "txid". */
json_t *cairn_json_tx(const cairn_tx *tx, const uint8_t txid[32]) {
  assert(tx != NULL);
  assert(tx->type >= CAIRN_TX_TYPE_MIN && tx->type <= CAIRN_TX_TYPE_MAX);
  assert(tx->chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = true;
  if (txid != NULL) ok &= set(o, "txid", cairn_json_hex(txid, 32));
  ok &= set(o, "type", json_string(cairn_tx_type_name(tx->type)));
  ok &= set_text(o, "chain_id", tx->chain_id, tx->chain_id_len);
  ok &= set(o, "sender", cairn_json_address(tx->sender));
  ok &= set(o, "sequence", json_uint(tx->sequence));
  ok &= set(o, "expiry_height", json_uint(tx->expiry_height));
  ok &= set_text(o, "client_ref", tx->client_ref, tx->client_ref_len);
  ok &= tx_set_payload(o, tx);
  return finish(o, ok);
}

/* ---- blocks and commits ---- */

/* hash may be NULL; when given it is included as "hash". */
json_t *cairn_json_header(const cairn_block_header *h, const uint8_t hash[32]) {
  assert(h != NULL && h->chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = true;
  if (hash != NULL) ok &= set(o, "hash", cairn_json_hex(hash, 32));
  ok &= set(o, "version", json_integer(h->version));
  ok &= set_text(o, "chain_id", h->chain_id, h->chain_id_len);
  ok &= set(o, "height", json_uint(h->height));
  ok &= set(o, "time_ms", json_uint(h->time_ms));
  ok &= set(o, "prev_hash", cairn_json_hex(h->prev_hash, CAIRN_HASH_BYTES));
  ok &= set(o, "tx_root", cairn_json_hex(h->tx_root, CAIRN_HASH_BYTES));
  ok &= set(o, "state_hash", cairn_json_hex(h->state_hash, CAIRN_HASH_BYTES));
  ok &= set(o, "proposer",
            cairn_json_hex(h->proposer, CAIRN_ED25519_PUBKEY_BYTES));
  ok &= set(o, "validators_hash",
            cairn_json_hex(h->validators_hash, CAIRN_HASH_BYTES));
  ok &= set(o, "tx_count", json_integer(h->tx_count));
  return finish(o, ok);
}

static json_t *commit_signatures(const cairn_commit *c) {
  json_t *a = json_array();
  if (a == NULL) return NULL;
  bool ok = true;
  for (uint16_t i = 0; ok && i < c->n_sigs; i++) {
    json_t *s = json_object();
    if (s == NULL) {
      ok = false;
      break;
    }
    bool s_ok = set(s, "validator", cairn_json_hex(c->sigs[i].validator,
                                                   CAIRN_ED25519_PUBKEY_BYTES));
    s_ok &= set(s, "signature",
                cairn_json_hex(c->sigs[i].sig, CAIRN_ED25519_SIG_BYTES));
    ok = json_array_append_new(a, finish(s, s_ok)) == 0;
  }
  return finish(a, ok);
}

json_t *cairn_json_commit(const cairn_commit *c) {
  assert(c != NULL && c->n_sigs <= CAIRN_VALIDATORS_MAX);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set(o, "height", json_uint(c->height));
  ok &= set(o, "round", json_integer(c->round));
  ok &= set(o, "block_hash", cairn_json_hex(c->block_hash, CAIRN_HASH_BYTES));
  ok &= set(o, "signatures", commit_signatures(c));
  return finish(o, ok);
}

/* ---- state objects ---- */

json_t *cairn_json_coupon(const cairn_coupon *c, uint64_t tip_height) {
  assert(c != NULL && c->label_len <= CAIRN_LABEL_BYTES_MAX);
  const char *status = "active";
  if (c->status == CAIRN_COUPON_USED) {
    status = "redeemed";
  } else if (tip_height > c->expiry_height) {
    status = "expired";
  }
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set(o, "id", cairn_json_hex(c->id, CAIRN_HASH_BYTES));
  ok &= set(o, "brand", json_integer(c->brand));
  ok &= set(o, "owner", cairn_json_address(c->owner));
  ok &= set(o, "kind", json_string(coupon_kind_name(c->kind)));
  ok &= set(o, "value", cairn_json_u64(c->value));
  ok &= set(o, "expiry_height", json_uint(c->expiry_height));
  ok &= set(o, "transferable", json_boolean(c->transferable));
  ok &= set(o, "status", json_string(status));
  ok &= set(o, "issued_height", json_uint(c->issued_height));
  ok &= set(o, "redeemed_height", json_uint(c->redeemed_height));
  ok &= set_text(o, "label", c->label, c->label_len);
  return finish(o, ok);
}

const char *cairn_json_expiry_mode_name(uint8_t mode) {
  switch (mode) {
    case CAIRN_EXPIRY_NONE: return "none";
    case CAIRN_EXPIRY_FIXED: return "fixed";
    case CAIRN_EXPIRY_ROLLING: return "rolling";
    default: return "unknown";
  }
}

json_t *cairn_json_policy(uint8_t flags, const cairn_brand_policy *p) {
  assert(p != NULL);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set(o, "expiry",
                json_string(cairn_json_expiry_mode_name(p->expiry_mode)));
  ok &= set(o, "expiry_blocks", json_uint(p->expiry_blocks));
  ok &= set(o, "max_issue_per_tx", cairn_json_u64(p->max_issue_per_tx));
  ok &= set(o, "max_issue_per_day", cairn_json_u64(p->max_issue_per_day));
  ok &= set(o, "accept_by_partners",
            json_boolean((flags & CAIRN_BRAND_FLAG_NO_PARTNERS) == 0));
  return finish(o, ok);
}

json_t *cairn_json_brand(const cairn_brand *b) {
  assert(b != NULL && b->name_len <= CAIRN_NAME_BYTES_MAX);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set(o, "id", json_integer(b->id));
  ok &= set(o, "name", json_stringn(b->name, b->name_len));
  ok &= set(o, "issuer", cairn_json_address(b->issuer));
  ok &= set(o, "transferable",
            json_boolean((b->flags & CAIRN_BRAND_FLAG_TRANSFERABLE) != 0));
  ok &= set(o, "policy", cairn_json_policy(b->flags, &b->policy));
  return finish(o, ok);
}

json_t *cairn_json_brand_stats(uint32_t brand, const cairn_brand_stats *s) {
  assert(s != NULL);
  uint64_t out = s->issued;
  const uint64_t outs[4] = {s->redeemed_home, s->redeemed_partner,
                            s->expired, s->reversed};
  for (size_t i = 0; i < 4; i++) out = outs[i] <= out ? out - outs[i] : 0;
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set(o, "brand", json_integer(brand));
  ok &= set(o, "issued", cairn_json_u64(s->issued));
  ok &= set(o, "redeemed_home", cairn_json_u64(s->redeemed_home));
  ok &= set(o, "redeemed_partner", cairn_json_u64(s->redeemed_partner));
  ok &= set(o, "expired", cairn_json_u64(s->expired));
  ok &= set(o, "reversed", cairn_json_u64(s->reversed));
  ok &= set(o, "held", cairn_json_u64(s->held));
  ok &= set(o, "outstanding", cairn_json_u64(out));
  return finish(o, ok);
}

json_t *cairn_json_hold(const cairn_hold *h) {
  assert(h != NULL);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set(o, "id", cairn_json_hex(h->id, CAIRN_HASH_BYTES));
  ok &= set(o, "brand", json_integer(h->brand));
  ok &= set(o, "member", cairn_json_address(h->member));
  ok &= set(o, "amount", cairn_json_u64(h->amount));
  ok &= set(o, "timeout_height", json_uint(h->timeout_height));
  ok &= set(o, "points_expiry_height", json_uint(h->points_expiry));
  return finish(o, ok);
}

json_t *cairn_json_agreement(const cairn_agreement *a, uint64_t tip_height) {
  assert(a != NULL);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = set_terms(o, &a->terms);
  json_object_del(o, "agreement");
  ok &= set(o, "id", cairn_json_hex(a->id, CAIRN_HASH_BYTES));
  ok &= set(o, "signed_by_from",
            json_boolean((a->signed_by & CAIRN_AGREEMENT_SIGNED_FROM) != 0));
  ok &= set(o, "signed_by_to",
            json_boolean((a->signed_by & CAIRN_AGREEMENT_SIGNED_TO) != 0));
  ok &= set(o, "revoked", json_boolean(a->revoked));
  ok &= set(o, "redeemed", cairn_json_u64(a->redeemed));
  uint64_t next = tip_height < UINT64_MAX ? tip_height + 1 : tip_height;
  ok &= set(o, "active", json_boolean(cairn_agreement_active(a, next)));
  return finish(o, ok);
}

/* ---- parsing ---- */

cairn_err cairn_parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  assert(s != NULL && out != NULL);
  *out = 0;
  size_t n = strlen(s);
  /* 20 digits hold UINT64_MAX; a leading zero is allowed only for "0". */
  if (n == 0 || n > 20 || (s[0] == '0' && n > 1)) return CAIRN_ERR_RANGE;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return CAIRN_ERR_RANGE;
    uint64_t digit = (uint64_t)(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return CAIRN_ERR_RANGE;
    v = v * 10 + digit;
  }
  *out = v;
  return CAIRN_OK;
}

cairn_err cairn_json_get_u64(const json_t *v, uint64_t *out) {
  assert(out != NULL);
  *out = 0;
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i < 0) return CAIRN_ERR_RANGE;
    *out = (uint64_t)i;
    return CAIRN_OK;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    /* An embedded NUL would hide the rest of the string from strlen. */
    if (strlen(s) != json_string_length(v)) return CAIRN_ERR_RANGE;
    return cairn_parse_u64(s, out);
  }
  return CAIRN_ERR_JSON;
}

const char *cairn_json_unknown_key(const json_t *obj, const char *const *known,
                                   size_t n_known) {
  const char *key;
  json_t *value;
  assert(obj != NULL && (known != NULL || n_known == 0));
  json_object_foreach((json_t *)obj, key, value) {
    bool found = false;
    for (size_t i = 0; i < n_known && !found; i++) {
      found = strcmp(key, known[i]) == 0;
    }
    if (!found) return key;
  }
  return NULL;
}
