/*
 * node/rpc_query.c - the API's read-only endpoints: status, genesis,
 * brands and their point accounting, blocks, accounts, coupons, holds,
 * exchange agreements and settlements (shapes in specs/api.md).
 *
 * Each request opens one store read transaction, so everything in one
 * answer comes from one consistent snapshot even though blocks are being
 * committed on the same loop between requests, and closes it before
 * replying (LMDB readers must be short, or freed pages cannot be reused).
 * Values read from the store are zero-copy pointers valid only inside that
 * transaction, so the JSON is built before it ends.
 *
 * Account views come from the committed state (balances and coupons, read
 * by prefix scans over the account key, at most CAIRN_BRANDS_MAX balances
 * and CAIRN_API_LIST_MAX coupons per answer) plus the mempool for
 * next_sequence, which must count pending transactions so that a wallet can
 * submit several in a row. Records that do not decode are reported as
 * corrupt (500) rather than skipped: an API that hides damage is worse than
 * one that fails loudly.
 */
#include "rpc_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/genesis.h"
#include "cairn/json.h"
#include "cairn/limits.h"
#include "cairn/state.h"
#include "cairn/store.h"

/* ---- status, genesis, brands ---- */

void cairn_rpc_status(cairn_rpc *r, struct evhttp_request *req,
                      const char *param) {
  (void)param;
  const cairn_genesis *g = cairn_chain_genesis(r->chain);
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  json_t *o = json_pack(
      "{s:s, s:o, s:I, s:o, s:o, s:I, s:I, s:o, s:s}", "chain_id", g->chain_id,
      "genesis_hash", cairn_json_hex(cairn_chain_genesis_hash(r->chain), 32),
      "height", (json_int_t)tip.height, "tip_hash",
      cairn_json_hex(tip.hash, 32), "app_hash",
      cairn_json_hex(tip.app_hash, 32), "tip_time_ms",
      (json_int_t)tip.time_ms, "mempool_txs",
      (json_int_t)cairn_mempool_count(r->mempool), "validator",
      cairn_json_hex(r->validator_pk, 32), "version", CAIRN_RPC_VERSION);
  if (o != NULL) {
    json_object_set_new(o, "in_validator_set",
                        json_boolean(cairn_valset_find(
                                         cairn_chain_valset(r->chain),
                                         r->validator_pk) >= 0));
  }
  if (o != NULL && r->net != NULL) {
    static const char *const steps[] = {"waiting", "propose", "prevote",
                                        "precommit"};
    cairn_net_info ni;
    cairn_net_get_info(r->net, &ni);
    json_object_set_new(
        o, "consensus",
        json_pack("{s:I, s:I, s:s, s:I, s:I}", "height",
                  (json_int_t)ni.cons_height, "round",
                  (json_int_t)ni.cons_round, "step",
                  steps[ni.cons_step <= 3 ? ni.cons_step : 0], "peers",
                  (json_int_t)ni.peers, "best_peer_height",
                  (json_int_t)ni.best_peer_height));
  }
  cairn_rpc_reply(r, req, 200, o);
}

void cairn_rpc_genesis(cairn_rpc *r, struct evhttp_request *req,
                       const char *param) {
  (void)param;
  char *text = NULL;
  cairn_err err = cairn_genesis_to_json(cairn_chain_genesis(r->chain), &text);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  json_error_t jerr;
  json_t *o = json_loads(text, 0, &jerr);
  free(text);
  if (o == NULL || !json_is_object(o) ||
      json_object_set_new(o, "hash", cairn_json_hex(cairn_chain_genesis_hash(
                                                        r->chain),
                                                    32)) != 0) {
    json_decref(o);
    cairn_rpc_fail(r, req, 500, CAIRN_ERR_INTERNAL,
                   "cannot render the genesis document");
    return;
  }
  cairn_rpc_reply(r, req, 200, o);
}

/* The brand records of the committed state: genesis fixes which brands
 * exist, but POLICY transactions change their flags and policy. */
static cairn_err cairn_rpc_brands_json(cairn_rpc *r, json_t **out) {
  const cairn_genesis *g = cairn_chain_genesis(r->chain);
  *out = json_array();
  if (*out == NULL) return CAIRN_ERR_NOMEM;
  cairn_rtxn *rt = NULL;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  for (uint16_t i = 0; err == CAIRN_OK && i < g->n_brands; i++) {
    uint8_t key[4];
    const uint8_t *val;
    size_t vlen;
    cairn_brand b;
    cairn_be32_write(key, g->brands[i].id);
    err = cairn_store_get(rt, CAIRN_T_BRANDS, key, sizeof key, &val, &vlen);
    if (err == CAIRN_OK &&
        cairn_brand_record_decode(&b, g->brands[i].id, val, vlen) != CAIRN_OK)
      err = CAIRN_ERR_CORRUPT;
    if (err == CAIRN_ERR_NOT_FOUND) err = CAIRN_ERR_CORRUPT;
    if (err == CAIRN_OK && json_array_append_new(*out, cairn_json_brand(&b)))
      err = CAIRN_ERR_NOMEM;
  }
  if (rt != NULL) cairn_store_read_end(rt);
  if (err != CAIRN_OK) {
    json_decref(*out);
    *out = NULL;
  }
  return err;
}

void cairn_rpc_brands(cairn_rpc *r, struct evhttp_request *req,
                      const char *param) {
  (void)param;
  json_t *list = NULL;
  cairn_err err = cairn_rpc_brands_json(r, &list);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  cairn_rpc_reply(r, req, 200, json_pack("{s:o}", "brands", list));
}

/* A brand id path segment: 1..2^32-1 in canonical decimal. */
static bool cairn_rpc_parse_brand(cairn_rpc *r, struct evhttp_request *req,
                                  const char *param, uint32_t *id) {
  uint64_t v = 0;
  if (param == NULL || cairn_parse_u64(param, &v) != CAIRN_OK || v == 0 ||
      v > UINT32_MAX) {
    cairn_rpc_fail(r, req, 400, CAIRN_ERR_RANGE,
                   "brand id must be a decimal number from 1 to 4294967295");
    return false;
  }
  *id = (uint32_t)v;
  return true;
}

/* A brand's accounting record from the committed state (absent: zeros). */
static cairn_err cairn_rpc_read_stats(cairn_rtxn *rt, uint32_t brand,
                                      cairn_brand_stats *st) {
  uint8_t key[4];
  const uint8_t *val;
  size_t vlen;
  memset(st, 0, sizeof *st);
  cairn_be32_write(key, brand);
  cairn_err err =
      cairn_store_get(rt, CAIRN_T_BRAND_STATS, key, sizeof key, &val, &vlen);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK) return err;
  return cairn_brand_stats_decode(st, val, vlen) == CAIRN_OK
             ? CAIRN_OK
             : CAIRN_ERR_CORRUPT;
}

void cairn_rpc_brand_stats(cairn_rpc *r, struct evhttp_request *req,
                           const char *param) {
  uint32_t id = 0;
  if (!cairn_rpc_parse_brand(r, req, param, &id)) return;
  const cairn_brand *b =
      cairn_genesis_brand_by_id(cairn_chain_genesis(r->chain), id);
  if (b == NULL) {
    cairn_rpc_fail(r, req, 404, CAIRN_ERR_UNKNOWN_BRAND, NULL);
    return;
  }
  cairn_rtxn *rt = NULL;
  cairn_brand_stats st;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  if (err == CAIRN_OK) {
    err = cairn_rpc_read_stats(rt, id, &st);
    cairn_store_read_end(rt);
  }
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  json_t *o = cairn_json_brand_stats(id, &st);
  if (o != NULL && json_object_set_new(o, "name", json_string(b->name)) != 0) {
    json_decref(o);
    o = NULL;
  }
  cairn_rpc_reply(r, req, 200, o);
}

/* ---- blocks ---- */

static json_t *cairn_rpc_txids_json(const cairn_slice *txs, uint32_t n) {
  json_t *a = json_array();
  for (uint32_t i = 0; a != NULL && i < n; i++) {
    uint8_t id[CAIRN_HASH_BYTES];
    cairn_tx_id_bytes(id, txs[i].p, txs[i].len);
    if (json_array_append_new(a, cairn_json_hex(id, sizeof id)) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

/* The block answer for stored block and commit bytes. */
static cairn_err cairn_rpc_block_json(const uint8_t *block, size_t block_len,
                                      const uint8_t *commit, size_t commit_len,
                                      json_t **out) {
  *out = NULL;
  cairn_slice *txs = malloc(CAIRN_BLOCK_TXS_MAX * sizeof *txs);
  cairn_commit *c = malloc(sizeof *c);
  cairn_block_header h;
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn_err err = (txs == NULL || c == NULL) ? CAIRN_ERR_NOMEM : CAIRN_OK;
  if (err == CAIRN_OK) {
    err = cairn_block_decode(&h, txs, CAIRN_BLOCK_TXS_MAX, block, block_len);
  }
  if (err == CAIRN_OK) err = cairn_commit_decode(c, commit, commit_len);
  if (err == CAIRN_OK) err = cairn_block_hash(hash, &h);
  if (err == CAIRN_OK) {
    *out = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "hash",
                     cairn_json_hex(hash, 32), "header",
                     cairn_json_header(&h, NULL), "txids",
                     cairn_rpc_txids_json(txs, h.tx_count), "commit",
                     cairn_json_commit(c), "raw",
                     cairn_json_hex(block, block_len), "commit_raw",
                     cairn_json_hex(commit, commit_len));
    if (*out == NULL) err = CAIRN_ERR_NOMEM;
  } else if (err != CAIRN_ERR_NOMEM) {
    err = CAIRN_ERR_CORRUPT; /* the store holds only checked blocks */
  }
  free(txs);
  free(c);
  return err;
}

static void cairn_rpc_block_reply(cairn_rpc *r, struct evhttp_request *req,
                                  uint64_t height) {
  if (height == 0) {
    cairn_rpc_fail(r, req, 404, CAIRN_ERR_NOT_FOUND,
                   "height 0 is the genesis, not a block; blocks start at 1");
    return;
  }
  cairn_rtxn *rt = NULL;
  json_t *o = NULL;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  if (err == CAIRN_OK) {
    const uint8_t *block, *commit;
    size_t block_len, commit_len;
    err = cairn_store_block(rt, height, &block, &block_len, &commit,
                            &commit_len);
    if (err == CAIRN_OK) {
      err = cairn_rpc_block_json(block, block_len, commit, commit_len, &o);
    }
    cairn_store_read_end(rt);
  }
  if (err == CAIRN_OK) {
    cairn_rpc_reply(r, req, 200, o);
  } else if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_tip tip;
    cairn_chain_tip(r->chain, &tip);
    cairn_rpc_fail(r, req, 404, err, "no block at height %llu (the tip is %llu)",
                   (unsigned long long)height, (unsigned long long)tip.height);
  } else {
    cairn_rpc_fail(r, req, 500, err, NULL);
  }
}

void cairn_rpc_block_latest(cairn_rpc *r, struct evhttp_request *req,
                            const char *param) {
  (void)param;
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  if (tip.height == 0) {
    cairn_rpc_fail(r, req, 404, CAIRN_ERR_NOT_FOUND,
                   "no block has been committed yet (the tip is genesis)");
    return;
  }
  cairn_rpc_block_reply(r, req, tip.height);
}

void cairn_rpc_block_by_height(cairn_rpc *r, struct evhttp_request *req,
                               const char *param) {
  uint64_t height = 0;
  if (cairn_parse_u64(param, &height) != CAIRN_OK) {
    cairn_rpc_fail(r, req, 400, CAIRN_ERR_ARG,
                   "a block height is a decimal number (or use "
                   "/v1/blocks/latest or /v1/blocks/hash/{hash})");
    return;
  }
  cairn_rpc_block_reply(r, req, height);
}

void cairn_rpc_block_by_hash(cairn_rpc *r, struct evhttp_request *req,
                             const char *param) {
  uint8_t hash[CAIRN_HASH_BYTES];
  if (!cairn_rpc_parse_id(r, req, param, "block hash", hash)) return;
  cairn_rtxn *rt = NULL;
  uint64_t height = 0;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  if (err == CAIRN_OK) {
    err = cairn_store_block_height(rt, hash, &height);
    cairn_store_read_end(rt);
  }
  if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_rpc_fail(r, req, 404, err, "no block with this hash");
  } else if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
  } else {
    cairn_rpc_block_reply(r, req, height);
  }
}

/* ---- accounts and coupons ---- */

/* Parse an address path segment; on failure answer 400 and return false. */
static bool cairn_rpc_parse_address(cairn_rpc *r, struct evhttp_request *req,
                                    const char *param, uint8_t pk[32]) {
  cairn_err err = cairn_address_decode(pk, param);
  if (err == CAIRN_OK) return true;
  cairn_rpc_fail(r, req, 400, err, "%s (expected a cairn1... address)",
                 cairn_strerror(err));
  return false;
}

/* A coupon's JSON with "brand_name" added. */
static json_t *cairn_rpc_coupon_json(const cairn_rpc *r, const cairn_coupon *c,
                                     uint64_t tip_height) {
  json_t *o = cairn_json_coupon(c, tip_height);
  const cairn_brand *b = cairn_genesis_brand_by_id(cairn_chain_genesis(r->chain),
                                                   c->brand);
  if (o != NULL && json_object_set_new(o, "brand_name",
                                       json_string(b != NULL ? b->name : "")) !=
                       0) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

/* Read one coupon record from the store. */
static cairn_err cairn_rpc_read_coupon(cairn_rtxn *rt, const uint8_t *id,
                                       cairn_coupon *c) {
  const uint8_t *val;
  size_t vlen;
  CAIRN_TRY(cairn_store_get(rt, CAIRN_T_COUPONS, id, CAIRN_HASH_BYTES, &val,
                            &vlen));
  return cairn_coupon_decode(c, id, val, vlen) == CAIRN_OK ? CAIRN_OK
                                                           : CAIRN_ERR_CORRUPT;
}

typedef struct cairn_rpc_scan {
  const cairn_rpc *r;
  cairn_rtxn *rt;
  uint64_t tip_height;
  json_t *list;
  cairn_err err;
} cairn_rpc_scan;

/* balances: account [32] | brand u32 -> amount u64. */
static int cairn_rpc_visit_balance(void *ctx, const uint8_t *key, size_t klen,
                                   const uint8_t *val, size_t vlen) {
  cairn_rpc_scan *s = ctx;
  if (klen != CAIRN_BALANCE_KEY_BYTES || vlen != 8) {
    s->err = CAIRN_ERR_CORRUPT;
    return 1;
  }
  uint32_t brand = cairn_be32_read(key + 32);
  uint64_t amount = cairn_be64_read(val);
  if (amount == 0) return 0; /* zero balances are deleted; skip if not */
  const cairn_brand *b =
      cairn_genesis_brand_by_id(cairn_chain_genesis(s->r->chain), brand);
  json_t *o = json_pack("{s:I, s:s, s:o}", "brand", (json_int_t)brand, "name",
                        b != NULL ? b->name : "", "amount",
                        cairn_json_u64(amount));
  if (json_array_append_new(s->list, o) != 0) {
    s->err = CAIRN_ERR_NOMEM;
    return 1;
  }
  return 0;
}

/* coupon_owner: owner [32] | coupon id [32] -> empty. */
static int cairn_rpc_visit_coupon(void *ctx, const uint8_t *key, size_t klen,
                                  const uint8_t *val, size_t vlen) {
  (void)val;
  (void)vlen;
  cairn_rpc_scan *s = ctx;
  cairn_coupon c;
  if (klen != 2 * CAIRN_HASH_BYTES) {
    s->err = CAIRN_ERR_CORRUPT;
    return 1;
  }
  s->err = cairn_rpc_read_coupon(s->rt, key + 32, &c);
  if (s->err == CAIRN_ERR_NOT_FOUND) s->err = CAIRN_ERR_CORRUPT;
  if (s->err != CAIRN_OK) return 1;
  if (json_array_append_new(s->list,
                            cairn_rpc_coupon_json(s->r, &c, s->tip_height))) {
    s->err = CAIRN_ERR_NOMEM;
    return 1;
  }
  return 0;
}

/* Scan table t under the account prefix into a new JSON array. */
static cairn_err cairn_rpc_scan_list(cairn_rpc_scan *s, cairn_table t,
                                     const uint8_t *account, size_t max,
                                     cairn_store_visit_fn fn, json_t **out) {
  *out = NULL;
  s->list = json_array();
  s->err = CAIRN_OK;
  if (s->list == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_store_scan(s->rt, t, account, 32, max, fn, s);
  if (err == CAIRN_OK) err = s->err;
  if (err != CAIRN_OK) {
    json_decref(s->list);
    return err;
  }
  *out = s->list;
  return CAIRN_OK;
}

static cairn_err cairn_rpc_account_json(cairn_rpc *r, const uint8_t *pk,
                                        bool coupons_only, json_t **out) {
  *out = NULL;
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  cairn_rpc_scan s = {.r = r, .tip_height = tip.height};
  CAIRN_TRY(cairn_store_read_begin(cairn_chain_store(r->chain), &s.rt));
  json_t *balances = NULL, *coupons = NULL;
  cairn_err err = cairn_rpc_scan_list(&s, CAIRN_T_COUPON_OWNER, pk,
                                      CAIRN_API_LIST_MAX,
                                      cairn_rpc_visit_coupon, &coupons);
  if (err == CAIRN_OK && !coupons_only) {
    err = cairn_rpc_scan_list(&s, CAIRN_T_BALANCES, pk, CAIRN_BRANDS_MAX,
                              cairn_rpc_visit_balance, &balances);
  }
  cairn_store_read_end(s.rt);
  uint64_t next = 0;
  if (err == CAIRN_OK && !coupons_only) {
    err = cairn_mempool_next_sequence(r->mempool, pk, &next);
  }
  if (err != CAIRN_OK) {
    json_decref(balances);
    json_decref(coupons);
    return err;
  }
  *out = coupons_only
             ? json_pack("{s:o}", "coupons", coupons)
             : json_pack("{s:o, s:I, s:o, s:o}", "address",
                         cairn_json_address(pk), "next_sequence",
                         (json_int_t)next, "balances", balances, "coupons",
                         coupons);
  return *out != NULL ? CAIRN_OK : CAIRN_ERR_NOMEM;
}

static void cairn_rpc_account_reply(cairn_rpc *r, struct evhttp_request *req,
                                    const char *param, bool coupons_only) {
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  if (!cairn_rpc_parse_address(r, req, param, pk)) return;
  json_t *o = NULL;
  cairn_err err = cairn_rpc_account_json(r, pk, coupons_only, &o);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  cairn_rpc_reply(r, req, 200, o);
}

void cairn_rpc_account(cairn_rpc *r, struct evhttp_request *req,
                       const char *param) {
  cairn_rpc_account_reply(r, req, param, false);
}

void cairn_rpc_account_coupons(cairn_rpc *r, struct evhttp_request *req,
                               const char *param) {
  cairn_rpc_account_reply(r, req, param, true);
}

void cairn_rpc_coupon(cairn_rpc *r, struct evhttp_request *req,
                      const char *param) {
  uint8_t id[CAIRN_HASH_BYTES];
  if (!cairn_rpc_parse_id(r, req, param, "coupon id", id)) return;
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  cairn_rtxn *rt = NULL;
  cairn_coupon c;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  if (err == CAIRN_OK) {
    err = cairn_rpc_read_coupon(rt, id, &c);
    cairn_store_read_end(rt);
  }
  if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_rpc_fail(r, req, 404, err, "no coupon with this id");
  } else if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
  } else {
    cairn_rpc_reply(r, req, 200, cairn_rpc_coupon_json(r, &c, tip.height));
  }
}

/* ---- holds ---- */

void cairn_rpc_hold(cairn_rpc *r, struct evhttp_request *req,
                    const char *param) {
  uint8_t id[CAIRN_HASH_BYTES];
  if (!cairn_rpc_parse_id(r, req, param, "hold id", id)) return;
  cairn_rtxn *rt = NULL;
  cairn_hold h;
  const uint8_t *val = NULL;
  size_t vlen = 0;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  if (err == CAIRN_OK) {
    err = cairn_store_get(rt, CAIRN_T_HOLDS, id, sizeof id, &val, &vlen);
    if (err == CAIRN_OK && cairn_hold_decode(&h, id, val, vlen) != CAIRN_OK)
      err = CAIRN_ERR_CORRUPT;
    cairn_store_read_end(rt);
  }
  if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_rpc_fail(r, req, 404, CAIRN_ERR_HOLD_UNKNOWN, NULL);
  } else if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 500, err, NULL);
  } else {
    cairn_rpc_reply(r, req, 200, cairn_json_hold(&h));
  }
}

/* ---- agreements and settlements ---- */

/* agreements: id [32] -> record. */
static int cairn_rpc_visit_agreement(void *ctx, const uint8_t *key,
                                     size_t klen, const uint8_t *val,
                                     size_t vlen) {
  cairn_rpc_scan *s = ctx;
  cairn_agreement a;
  if (klen != CAIRN_HASH_BYTES ||
      cairn_agreement_decode(&a, key, val, vlen) != CAIRN_OK) {
    s->err = CAIRN_ERR_CORRUPT;
    return 1;
  }
  if (json_array_append_new(s->list, cairn_json_agreement(&a, s->tip_height))) {
    s->err = CAIRN_ERR_NOMEM;
    return 1;
  }
  return 0;
}

/* settlements: debtor u32 | creditor u32 -> owed u64. */
static int cairn_rpc_visit_settlement(void *ctx, const uint8_t *key,
                                      size_t klen, const uint8_t *val,
                                      size_t vlen) {
  cairn_rpc_scan *s = ctx;
  if (klen != 8 || vlen != 8) {
    s->err = CAIRN_ERR_CORRUPT;
    return 1;
  }
  const cairn_genesis *g = cairn_chain_genesis(s->r->chain);
  uint32_t debtor = cairn_be32_read(key), creditor = cairn_be32_read(key + 4);
  const cairn_brand *d = cairn_genesis_brand_by_id(g, debtor);
  const cairn_brand *c = cairn_genesis_brand_by_id(g, creditor);
  json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:o}", "debtor",
                        (json_int_t)debtor, "debtor_name",
                        d != NULL ? d->name : "", "creditor",
                        (json_int_t)creditor, "creditor_name",
                        c != NULL ? c->name : "", "amount",
                        cairn_json_u64(cairn_be64_read(val)));
  if (json_array_append_new(s->list, o) != 0) {
    s->err = CAIRN_ERR_NOMEM;
    return 1;
  }
  return 0;
}

/* Scan a whole table (at most CAIRN_API_LIST_MAX records) into
 * {"<name>": [...], "height": tip}. */
static void cairn_rpc_list_table(cairn_rpc *r, struct evhttp_request *req,
                                 cairn_table t, const char *name,
                                 cairn_store_visit_fn fn) {
  cairn_tip tip;
  cairn_chain_tip(r->chain, &tip);
  cairn_rpc_scan s = {.r = r, .tip_height = tip.height};
  s.list = json_array();
  cairn_err err = s.list != NULL ? CAIRN_OK : CAIRN_ERR_NOMEM;
  if (err == CAIRN_OK)
    err = cairn_store_read_begin(cairn_chain_store(r->chain), &s.rt);
  if (err == CAIRN_OK) {
    err = cairn_store_scan(s.rt, t, NULL, 0, CAIRN_API_LIST_MAX, fn, &s);
    if (err == CAIRN_OK) err = s.err;
    cairn_store_read_end(s.rt);
  }
  if (err != CAIRN_OK) {
    json_decref(s.list);
    cairn_rpc_fail(r, req, 500, err, NULL);
    return;
  }
  cairn_rpc_reply(r, req, 200,
                  json_pack("{s:o, s:I}", name, s.list, "height",
                            (json_int_t)tip.height));
}

void cairn_rpc_agreements(cairn_rpc *r, struct evhttp_request *req,
                          const char *param) {
  (void)param;
  cairn_rpc_list_table(r, req, CAIRN_T_AGREEMENTS, "agreements",
                       cairn_rpc_visit_agreement);
}

void cairn_rpc_settlements(cairn_rpc *r, struct evhttp_request *req,
                           const char *param) {
  (void)param;
  cairn_rpc_list_table(r, req, CAIRN_T_SETTLEMENTS, "settlements",
                       cairn_rpc_visit_settlement);
}
