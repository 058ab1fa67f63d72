/*
 * node/rpc_stake.c - the API's staking endpoints: the validator set and
 * every validator record (GET /v1/validators), the set that was in force
 * at any height (GET /v1/validators/at/{height}), free stake
 * (GET /v1/stake/{address}), admission proposals (GET /v1/admissions/{id})
 * and the evidence pool (GET and POST /v1/evidence). The staking
 * transaction types render through cairn_json_tx like every other.
 * Shapes are in specs/api.md, "Staking and validators".
 *
 * The set at a height is what an inclusion proof of a block at that height
 * is counted against (specs/proof.md): the wallet fetches it, and checks
 * its hash against the block header's validators_hash before using it, so
 * the answer carries that hash too. It comes from the chain's record of
 * every set change (cairn_chain_valset_at); the epoch it has been in force
 * since comes from the same history through a view of the state.
 *
 * Reads follow rpc_query.c: one handler, one consistent snapshot. The
 * staking queries of staking.h take a view, so a handler opens a view over
 * the store (which reads one snapshot and changes nothing) and, for the
 * listings, one read transaction; the node commits blocks on this same
 * thread, so the two see the same state. Lists are bounded by
 * CAIRN_API_LIST_MAX and say "truncated" when they stop early.
 *
 * POST /v1/evidence is the one write: the evidence is decoded, checked
 * against the validator set that was in force at the height of its votes
 * (cairn_chain_valset_at, so evidence against a validator that has since
 * left the set still verifies) and against the admissible window, then
 * added to the pool. Each way of failing has its own code: malformed bytes
 * are 400, evidence that is well-formed but proves nothing (or nothing
 * usable any more) is 422, a full pool is 503.
 *
 * The evidence listing prunes the pool first (entries whose offender is
 * jailed, or that are too old to be included), so what it shows can still
 * be submitted; the node also prunes after every block.
 */
#include "rpc_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/evidence.h"
#include "cairn/evpool.h"
#include "cairn/json.h"
#include "cairn/limits.h"
#include "cairn/staking.h"
#include "cairn/store.h"
#include "cairn/view.h"

/* ---- small builders ---- */

/* Set o[k] = v, taking v over; false (and v released) on failure. */
static bool cairn_rpc_set(json_t *o, const char *k, json_t *v) {
  return v != NULL && json_object_set_new(o, k, v) == 0;
}

/* A name from a record: a string (names are printable), else hex. */
static json_t *cairn_rpc_name_json(const char *name, size_t len) {
  json_t *s = json_stringn(name, len);
  return s != NULL ? s : cairn_json_hex((const uint8_t *)name, len);
}

/* An operator key: its address, or null when there is none. */
static json_t *cairn_rpc_operator_json(const uint8_t key[CAIRN_PUBKEY_BYTES]) {
  static const uint8_t zero[CAIRN_PUBKEY_BYTES];
  if (memcmp(key, zero, CAIRN_PUBKEY_BYTES) == 0) return json_null();
  return cairn_json_address(key);
}

/* {"evidence": hex, + what it proves (cairn_json_evidence)}. */
static json_t *cairn_rpc_evidence_json(const cairn_evidence *e,
                                       const uint8_t *bytes) {
  json_t *o = cairn_json_evidence(e);
  if (o != NULL &&
      !cairn_rpc_set(o, "evidence", cairn_json_hex(bytes,
                                                   CAIRN_EVIDENCE_BYTES))) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static json_t *cairn_rpc_record_json(const cairn_validator_record *rec) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = cairn_rpc_set(o, "pubkey", cairn_json_hex(rec->pubkey, 32));
  ok &= cairn_rpc_set(o, "name", cairn_rpc_name_json(rec->name, rec->name_len));
  ok &= cairn_rpc_set(o, "operator", cairn_rpc_operator_json(rec->operator_key));
  ok &= cairn_rpc_set(o, "bonded", cairn_json_u64(rec->bonded));
  ok &= cairn_rpc_set(o, "power", cairn_json_u64(rec->power));
  ok &= cairn_rpc_set(o, "jailed", json_boolean(rec->jailed));
  /* Jailing reaches the set at its announced height, like every change:
   * until then a jailed validator keeps its power in force (staking.h). */
  ok &= cairn_rpc_set(o, "in_set", json_boolean(rec->power > 0));
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* ---- GET /v1/validators ---- */

typedef struct cairn_rpc_stake_scan {
  json_t *list;
  const uint8_t *operator_key; /* only records with this operator; NULL all */
  bool truncated;
  cairn_err err;
} cairn_rpc_stake_scan;

static int cairn_rpc_visit_record(void *ctx, const cairn_validator_record *r) {
  cairn_rpc_stake_scan *s = ctx;
  if (s->operator_key != NULL &&
      memcmp(r->operator_key, s->operator_key, CAIRN_PUBKEY_BYTES) != 0) {
    return 0;
  }
  if (json_array_size(s->list) >= CAIRN_API_LIST_MAX) {
    s->truncated = true;
    return 1;
  }
  if (json_array_append_new(s->list, cairn_rpc_record_json(r)) != 0) {
    s->err = CAIRN_ERR_NOMEM;
    return 1;
  }
  return 0;
}

static int cairn_rpc_visit_change(void *ctx, const cairn_valset_change *c) {
  cairn_rpc_stake_scan *s = ctx;
  if (json_array_size(s->list) >= CAIRN_API_LIST_MAX) {
    s->truncated = true;
    return 1;
  }
  json_t *o = json_pack("{s:I, s:o, s:o}", "effective_height",
                        (json_int_t)c->effective, "pubkey",
                        cairn_json_hex(c->pubkey, 32), "power",
                        cairn_json_u64(c->power));
  if (json_array_append_new(s->list, o) != 0) {
    s->err = CAIRN_ERR_NOMEM;
    return 1;
  }
  return 0;
}

/* A validator set: [{pubkey, name, power}]. */
static json_t *cairn_rpc_valset_json(const cairn_valset *vs) {
  json_t *a = json_array();
  for (uint32_t i = 0; a != NULL && i < vs->n; i++) {
    const cairn_validator *v = &vs->v[i];
    json_t *o = json_pack("{s:o, s:o, s:o}", "pubkey",
                          cairn_json_hex(v->pubkey, 32), "name",
                          cairn_rpc_name_json(v->name, v->name_len), "power",
                          cairn_json_u64(v->power));
    if (json_array_append_new(a, o) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *cairn_rpc_params_json(const cairn_staking_params *p) {
  return json_pack("{s:I, s:I, s:I, s:i}", "valset_delay_blocks",
                   (json_int_t)p->valset_delay_blocks, "unbonding_blocks",
                   (json_int_t)p->unbonding_blocks, "evidence_max_age_blocks",
                   (json_int_t)p->evidence_max_age_blocks, "slash_percent",
                   (int)p->slash_percent);
}

static json_t *cairn_rpc_totals_json(const cairn_stake_totals *t) {
  return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "genesis",
                   cairn_json_u64(t->genesis), "free", cairn_json_u64(t->free_),
                   "bonded", cairn_json_u64(t->bonded), "unbonding",
                   cairn_json_u64(t->unbonding), "locked",
                   cairn_json_u64(t->locked), "slashed",
                   cairn_json_u64(t->slashed));
}

/* The validator records (those operated by op, or all when op is NULL)
 * and, when changes is not NULL, the scheduled changes: new arrays from one
 * read transaction. */
static cairn_err cairn_rpc_staking_lists(cairn_rpc *r, const uint8_t *op,
                                         json_t **records, json_t **changes,
                                         bool *truncated) {
  cairn_rpc_stake_scan rs = {.list = json_array(), .operator_key = op};
  cairn_rpc_stake_scan cs = {.list = changes != NULL ? json_array() : NULL};
  *records = NULL;
  if (changes != NULL) *changes = NULL;
  *truncated = false;
  cairn_rtxn *rt = NULL;
  cairn_err err = CAIRN_OK;
  if (rs.list == NULL || (changes != NULL && cs.list == NULL))
    err = CAIRN_ERR_NOMEM;
  if (err == CAIRN_OK)
    err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  if (err == CAIRN_OK) {
    err = cairn_staking_list_validators(rt, cairn_rpc_visit_record, &rs);
    if (err == CAIRN_OK) err = rs.err;
    if (err == CAIRN_OK && changes != NULL) {
      err = cairn_staking_list_changes(rt, cairn_rpc_visit_change, &cs);
      if (err == CAIRN_OK) err = cs.err;
    }
    cairn_store_read_end(rt);
  }
  if (err != CAIRN_OK) {
    json_decref(rs.list);
    json_decref(cs.list);
    return err;
  }
  *records = rs.list;
  if (changes != NULL) *changes = cs.list;
  *truncated = rs.truncated || cs.truncated;
  return CAIRN_OK;
}

/* Open a view over the committed state (one snapshot, only read). */
static cairn_err cairn_rpc_view(cairn_rpc *r, cairn_view **v) {
  return cairn_view_open(v, cairn_chain_store(r->chain));
}

void cairn_rpc_validators(cairn_rpc *r, struct evhttp_request *req,
                          const char *param) {
  (void)param;
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  const cairn_valset *vs = cairn_chain_valset(r->chain);
  cairn_stake_totals totals;
  cairn_view *v = NULL;
  cairn_err err = cairn_rpc_view(r, &v);
  if (err == CAIRN_OK) {
    err = cairn_staking_totals(v, &totals);
    cairn_view_close(v);
  }
  json_t *records = NULL, *changes = NULL;
  bool truncated = false;
  if (err == CAIRN_OK)
    err = cairn_rpc_staking_lists(r, NULL, &records, &changes, &truncated);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  cairn_rpc_reply(
      r, req, 200,
      json_pack("{s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:b, s:o, s:o}",
                "height", (json_int_t)tip.height, "next_height",
                (json_int_t)tip.height + 1, "epoch",
                (json_int_t)cairn_chain_epoch(r->chain), "total_power",
                cairn_json_u64(vs->total_power), "set",
                cairn_rpc_valset_json(vs), "validators", records, "changes",
                changes, "truncated", (int)truncated, "staking",
                cairn_rpc_params_json(&cairn_chain_genesis(r->chain)->staking),
                "stake", cairn_rpc_totals_json(&totals)));
}

/* ---- GET /v1/validators/at/{height} ---- */

/* The set in force at height (1..tip + 1) and the height it has been in
 * force since. The chain answers the set; the state's history answers the
 * epoch, and the two must agree. */
static cairn_err cairn_rpc_valset_at(cairn_rpc *r, uint64_t height,
                                     cairn_valset *vs, uint64_t *epoch) {
  cairn_valset *again = malloc(sizeof *again);
  if (again == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_chain_valset_at(r->chain, height, vs);
  cairn_view *v = NULL;
  if (err == CAIRN_OK) err = cairn_rpc_view(r, &v);
  if (err == CAIRN_OK) {
    err = cairn_staking_valset_at(v, height, again, epoch);
    cairn_view_close(v);
  }
  if (err == CAIRN_OK) {
    uint8_t a[CAIRN_HASH_BYTES], b[CAIRN_HASH_BYTES];
    cairn_valset_hash(a, vs);
    cairn_valset_hash(b, again);
    if (memcmp(a, b, sizeof a) != 0 || *epoch > height)
      err = CAIRN_ERR_CORRUPT;
  }
  free(again);
  return err;
}

void cairn_rpc_validators_at(cairn_rpc *r, struct evhttp_request *req,
                             const char *param) {
  uint64_t height = 0, epoch = 0;
  if (cairn_parse_u64(param, &height) != CAIRN_OK) {
    cairn_rpc_fail(r, req, 400, CAIRN_ERR_ARG, "a height is a decimal "
                   "number (validator sets are in force from height 1)");
    return;
  }
  if (height == 0) {
    cairn_rpc_fail(r, req, 400, CAIRN_ERR_RANGE, "height 0 is the genesis, "
                   "not a block; the genesis set is in force from height 1");
    return;
  }
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  if (height > tip.height + 1) {
    cairn_rpc_fail(r, req, 404, CAIRN_ERR_NOT_FOUND, "no validator set is "
                   "known for height %llu yet: the next block is %llu",
                   (unsigned long long)height,
                   (unsigned long long)tip.height + 1);
    return;
  }
  cairn_valset *vs = malloc(sizeof *vs);
  cairn_err err = vs != NULL ? cairn_rpc_valset_at(r, height, vs, &epoch)
                             : CAIRN_ERR_NOMEM;
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    free(vs);
    return;
  }
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn_valset_hash(hash, vs);
  cairn_rpc_reply(
      r, req, 200,
      json_pack("{s:I, s:I, s:o, s:o, s:o}", "height", (json_int_t)height,
                "epoch", (json_int_t)epoch, "total_power",
                cairn_json_u64(vs->total_power), "set",
                cairn_rpc_valset_json(vs), "validators_hash",
                cairn_json_hex(hash, CAIRN_HASH_BYTES)));
  free(vs);
}

/* ---- GET /v1/stake/{address} ---- */

void cairn_rpc_stake(cairn_rpc *r, struct evhttp_request *req,
                     const char *param) {
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  cairn_err err = cairn_address_decode(pk, param);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 400, err, "%s (expected a cairn1... address)",
                   cairn_strerror(err));
    return;
  }
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  uint64_t free_stake = 0;
  cairn_view *v = NULL;
  err = cairn_rpc_view(r, &v);
  if (err == CAIRN_OK) {
    err = cairn_staking_free(v, pk, &free_stake);
    cairn_view_close(v);
  }
  json_t *operated = NULL;
  bool truncated = false;
  if (err == CAIRN_OK)
    err = cairn_rpc_staking_lists(r, pk, &operated, NULL, &truncated);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  cairn_rpc_reply(r, req, 200,
                  json_pack("{s:o, s:I, s:o, s:o}", "address",
                            cairn_json_address(pk), "height",
                            (json_int_t)tip.height, "free",
                            cairn_json_u64(free_stake), "operated", operated));
}

/* ---- GET /v1/admissions/{id} ---- */

static const char *cairn_rpc_proposal_status_name(uint8_t s) {
  switch (s) {
    case CAIRN_PROPOSAL_OPEN: return "open";
    case CAIRN_PROPOSAL_ADMITTED: return "admitted";
    case CAIRN_PROPOSAL_EXPIRED: return "expired";
    default: return "unknown";
  }
}

static json_t *cairn_rpc_admission_json(const cairn_admission *a,
                                        const cairn_valset *vs) {
  /* More than 2/3: 3 * approved > 2 * total, i.e. approved >= this. Total
   * power is at most 2^60, so 2 * total cannot overflow. */
  uint64_t needed = 2 * vs->total_power / 3 + 1;
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = cairn_rpc_set(o, "id", cairn_json_hex(a->id, 32));
  ok &= cairn_rpc_set(o, "validator", cairn_json_hex(a->validator, 32));
  ok &= cairn_rpc_set(o, "name", cairn_rpc_name_json(a->name, a->name_len));
  ok &= cairn_rpc_set(o, "operator", cairn_rpc_operator_json(a->operator_key));
  ok &= cairn_rpc_set(o, "amount", cairn_json_u64(a->amount));
  ok &= cairn_rpc_set(o, "deadline_height",
                      json_integer((json_int_t)a->deadline_height));
  ok &= cairn_rpc_set(o, "status",
                      json_string(cairn_rpc_proposal_status_name(a->status)));
  ok &= cairn_rpc_set(o, "decided_height",
                      json_integer((json_int_t)a->decided_height));
  ok &= cairn_rpc_set(o, "approvals", json_integer(a->n_approvals));
  ok &= cairn_rpc_set(o, "approved_power", cairn_json_u64(a->approved_power));
  ok &= cairn_rpc_set(o, "total_power", cairn_json_u64(vs->total_power));
  ok &= cairn_rpc_set(o, "power_needed", cairn_json_u64(needed));
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

void cairn_rpc_admission(cairn_rpc *r, struct evhttp_request *req,
                         const char *param) {
  uint8_t id[CAIRN_HASH_BYTES];
  if (!cairn_rpc_parse_id(r, req, param, "proposal id", id)) return;
  cairn_admission a;
  cairn_view *v = NULL;
  cairn_err err = cairn_rpc_view(r, &v);
  if (err == CAIRN_OK) {
    err = cairn_staking_admission(v, id, &a);
    cairn_view_close(v);
  }
  if (err == CAIRN_ERR_PROPOSAL_UNKNOWN) {
    cairn_rpc_fail(r, req, 404, err, "no admission proposal with this id "
                   "(the id is the ADMIT transaction's txid)");
  } else if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
  } else {
    cairn_rpc_reply(r, req, 200,
                    cairn_rpc_admission_json(&a, cairn_chain_valset(r->chain)));
  }
}

/* ---- GET /v1/evidence ---- */

void cairn_rpc_evidence_list(cairn_rpc *r, struct evhttp_request *req,
                             const char *param) {
  (void)param;
  size_t removed = 0;
  cairn_err err = cairn_evpool_prune_chain(r->evpool, r->chain, &removed);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  json_t *list = json_array();
  size_t n = cairn_evpool_count(r->evpool);
  for (size_t i = 0; list != NULL && i < n; i++) {
    const cairn_evidence *e;
    const uint8_t *bytes;
    cairn_evpool_at(r->evpool, i, &e, &bytes);
    if (json_array_append_new(list, cairn_rpc_evidence_json(e, bytes)) != 0) {
      json_decref(list);
      list = NULL;
    }
  }
  if (list == NULL) {
    cairn_rpc_fail(r, req, 500, CAIRN_ERR_NOMEM, NULL);
    return;
  }
  cairn_rpc_reply(r, req, 200,
                  json_pack("{s:I, s:o}", "height", (json_int_t)tip.height,
                            "evidence", list));
}

/* ---- POST /v1/evidence ---- */

/* The body {"evidence": "<hex>"} into e and bytes. On failure the answer
 * has been sent. */
static bool cairn_rpc_evidence_body(cairn_rpc *r, struct evhttp_request *req,
                                    cairn_evidence *e, uint8_t *bytes) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t body_len = evbuffer_get_length(in);
  const char *body = body_len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
  if (body == NULL) {
    cairn_rpc_fail(r, req, 500, CAIRN_ERR_NOMEM, NULL);
    return false;
  }
  json_error_t jerr;
  json_t *root = body_len > 0
                     ? json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr)
                     : NULL;
  const json_t *v = json_object_get(root, "evidence");
  const char *hex = json_string_value(v);
  size_t len = 0;
  cairn_err err = CAIRN_ERR_JSON;
  if (hex != NULL && strlen(hex) == json_string_length(v)) {
    err = cairn_hex_decode(bytes, CAIRN_EVIDENCE_BYTES, &len, hex);
  }
  json_decref(root);
  if (err == CAIRN_ERR_JSON) {
    cairn_rpc_fail(r, req, 400, err, "request body must be {\"evidence\": "
                   "\"<hex of the %u evidence bytes>\"}",
                   (unsigned)CAIRN_EVIDENCE_BYTES);
    return false;
  }
  if (err == CAIRN_OK) err = cairn_evidence_decode(e, bytes, len);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 400, err, "field \"evidence\": %s (duplicate-vote "
                   "evidence is %u bytes: version 1 and two votes, lower "
                   "block hash first)", cairn_strerror(err),
                   (unsigned)CAIRN_EVIDENCE_BYTES);
    return false;
  }
  return true;
}

/* Whether evidence at height h can still be included in block next:
 * EVIDENCE_STALE with a sentence otherwise. */
static cairn_err cairn_rpc_evidence_window(cairn_rpc *r, uint64_t h,
                                           uint64_t next, char *why,
                                           size_t cap) {
  uint64_t max_age =
      cairn_chain_genesis(r->chain)->staking.evidence_max_age_blocks;
  if (h >= next) {
    snprintf(why, cap, "the votes are for height %llu, which is not "
             "committed yet (the next block is %llu)", (unsigned long long)h,
             (unsigned long long)next);
    return CAIRN_ERR_EVIDENCE_STALE;
  }
  if (max_age != 0 && next - h > max_age) {
    snprintf(why, cap, "the votes are for height %llu, more than %llu "
             "blocks before the next block %llu", (unsigned long long)h,
             (unsigned long long)max_age, (unsigned long long)next);
    return CAIRN_ERR_EVIDENCE_STALE;
  }
  return CAIRN_OK;
}

/* Check e against the admissible window, the set in force at its height
 * and the offender's current record. false: the answer has been sent. */
static bool cairn_rpc_evidence_check(cairn_rpc *r, struct evhttp_request *req,
                                     const cairn_evidence *e) {
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  char why[256];
  cairn_err err = cairn_rpc_evidence_window(r, e->a.height, tip.height + 1,
                                            why, sizeof why);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 422, err, "%s: %s", cairn_strerror(err), why);
    return false;
  }
  cairn_valset *vs = malloc(sizeof *vs);
  err = vs != NULL ? cairn_chain_valset_at(r->chain, e->a.height, vs)
                   : CAIRN_ERR_NOMEM;
  if (err == CAIRN_OK) {
    const cairn_genesis *g = cairn_chain_genesis(r->chain);
    err = cairn_evidence_verify(e, (const uint8_t *)g->chain_id,
                                g->chain_id_len, vs);
    if (err != CAIRN_OK) {
      cairn_rpc_fail(r, req, 422, err, "the evidence does not verify against "
                     "the validator set in force at height %llu: %s",
                     (unsigned long long)e->a.height, cairn_strerror(err));
      free(vs);
      return false;
    }
  }
  free(vs);
  cairn_validator_record rec;
  cairn_view *v = NULL;
  if (err == CAIRN_OK) err = cairn_rpc_view(r, &v);
  if (err == CAIRN_OK) {
    err = cairn_staking_validator(v, e->a.validator, &rec);
    cairn_view_close(v);
  }
  if (err == CAIRN_OK && rec.jailed) {
    cairn_rpc_fail(r, req, 422, CAIRN_ERR_VALIDATOR_JAILED, "%s: nothing "
                   "more can be done with evidence against it",
                   cairn_strerror(CAIRN_ERR_VALIDATOR_JAILED));
    return false;
  }
  if (err != CAIRN_OK && err != CAIRN_ERR_VALIDATOR_UNKNOWN) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return false;
  }
  return true;
}

void cairn_rpc_evidence_submit(cairn_rpc *r, struct evhttp_request *req,
                               const char *param) {
  (void)param;
  cairn_evidence e;
  uint8_t bytes[CAIRN_EVIDENCE_BYTES];
  if (!cairn_rpc_evidence_body(r, req, &e, bytes)) return;
  if (!cairn_rpc_evidence_check(r, req, &e)) return;
  cairn_evpool_outcome outcome = CAIRN_EVPOOL_ADDED;
  cairn_err err = cairn_evpool_add(r->evpool, &e, &outcome);
  if (err == CAIRN_ERR_LIMIT) {
    cairn_rpc_fail(r, req, 503, err, "the node's evidence pool is full (%u "
                   "entries); try again after the next blocks",
                   (unsigned)CAIRN_EVPOOL_ENTRIES_MAX);
    return;
  }
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  static const char *const names[] = {"added", "known", "enough"};
  json_t *o = cairn_rpc_evidence_json(&e, bytes);
  if (o != NULL &&
      json_object_set_new(o, "status", json_string(names[outcome])) != 0) {
    json_decref(o);
    o = NULL;
  }
  cairn_rpc_reply(r, req, outcome == CAIRN_EVPOOL_ADDED ? 202 : 200, o);
}
