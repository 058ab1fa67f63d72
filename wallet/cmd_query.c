/*
 * cmd_query.c - read-only commands: balance, coupon list, coupon show, tx,
 * status, settlements, agreements.
 *
 * These only GET from the node and print. With --json they print the node's
 * answer unchanged (plus nothing the node did not say), so scripts get the
 * documented API objects of specs/api.md; without it they print short,
 * aligned text meant for a person at a till: names rather than ids, amounts
 * as plain numbers, a coupon's value as "10%" or "500".
 *
 * Every field that the human output uses is read through the checked field
 * accessors, so a node that answers with something unexpected yields a
 * clear "unexpected response" error (exit 3), never garbage on the screen.
 *
 * That "GET, then JSON or text" shape is cairn_wallet_show, and the whole
 * of a command that shows one account's resource ([ADDRESS | --key FILE])
 * is cairn_wallet_show_account; both live here and serve the other views
 * of the wallet too (stake balance, validators, evidence list, admission
 * in cmd_stake.c), so every view reads and fails the same way.
 */
#include "cairn/wallet.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/address.h"

/* Print one JSON scalar the way a person reads it. */
static void cairn_query_print_value(const json_t *v) {
  if (json_is_string(v)) printf("%s", json_string_value(v));
  else if (json_is_integer(v)) printf("%lld", (long long)json_integer_value(v));
  else if (json_is_true(v)) printf("yes");
  else if (json_is_false(v)) printf("no");
  else if (json_is_null(v) || v == NULL) printf("-");
  else {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
    printf("%s", s != NULL ? s : "?");
    free(s);
  }
}

/* "key  value" lines for every member of obj, in the node's order. */
static void cairn_query_print_object(const json_t *obj, int width) {
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    printf("%-*s ", width, key);
    cairn_query_print_value(v);
    printf("\n");
  }
}

cairn_err cairn_wallet_show(cairn_wallet *w, const char *path,
                            const char *what, cairn_wallet_human_fn human) {
  assert(path != NULL && human != NULL);
  json_t *body = NULL;
  CAIRN_TRY(cairn_wallet_get(w, path, what, &body));
  cairn_err err = CAIRN_OK;
  if (w->json) cairn_wallet_print_json(body);
  else err = human(w, body);
  json_decref(body);
  return err;
}

int cairn_wallet_show_account(cairn_wallet *w, const cairn_cmd_spec *spec,
                              int argc, char **argv, const char *prefix,
                              const char *suffix, const char *what,
                              cairn_wallet_human_fn human) {
  assert(spec->n_opts == 1 && strcmp(spec->opts[0].name, "key") == 0);
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, spec, argc, argv, &a);
  if (err != CAIRN_OK || a.help) return cairn_wallet_exit(w, err);
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  err = cairn_wallet_account_arg(w, a.n_pos > 0 ? a.pos[0] : NULL,
                                 cairn_wallet_opt(spec, &a, "key"), pk);
  if (err == CAIRN_OK) {
    char addr[CAIRN_ADDRESS_BUF], path[160];
    cairn_address_encode(addr, sizeof addr, pk);
    int n = snprintf(path, sizeof path, "%s%s%s", prefix, addr, suffix);
    assert(n > 0 && (size_t)n < sizeof path); /* prefix, suffix: ours */
    err = cairn_wallet_show(w, path, what, human);
  }
  return cairn_wallet_exit(w, err);
}

/* ---- balance ---- */

static const cairn_opt cairn_balance_opts[] = {
    CAIRN_WALLET_ACCOUNT_OPT,
};
static const cairn_cmd_spec cairn_balance_spec = {
    "balance", "[ADDRESS | --key FILE]",
    "Show an account's points per brand and its next sequence number.",
    cairn_balance_opts, 1, 0, 1};

static cairn_err cairn_balance_human(cairn_wallet *w, const json_t *acct) {
  json_t *balances = NULL;
  const char *addr = NULL;
  uint64_t next_seq = 0;
  CAIRN_TRY(cairn_wallet_field_str(w, acct, "address", &addr));
  CAIRN_TRY(cairn_wallet_field_array(w, acct, "balances", &balances));
  CAIRN_TRY(cairn_wallet_field_u64(w, acct, "next_sequence", &next_seq));
  int width = 5; /* "BRAND" */
  size_t i;
  const json_t *b;
  json_array_foreach(balances, i, b) {
    const char *name = NULL;
    uint64_t amount = 0;
    CAIRN_TRY(cairn_wallet_field_str(w, b, "name", &name));
    CAIRN_TRY(cairn_wallet_field_u64(w, b, "amount", &amount));
    if ((int)strlen(name) > width) width = (int)strlen(name);
  }
  printf("address %s\n", addr);
  if (json_array_size(balances) == 0) printf("no points yet\n");
  else printf("%-*s  %s\n", width, "BRAND", "AMOUNT");
  json_array_foreach(balances, i, b) {
    uint64_t amount = 0;
    CAIRN_TRY(cairn_wallet_field_u64(w, b, "amount", &amount));
    printf("%-*s  %llu\n", width,
           json_string_value(json_object_get(b, "name")),
           (unsigned long long)amount);
  }
  printf("next sequence %llu\n", (unsigned long long)next_seq);
  return CAIRN_OK;
}

int cairn_cmd_balance(cairn_wallet *w, int argc, char **argv) {
  return cairn_wallet_show_account(w, &cairn_balance_spec, argc, argv,
                                   "/v1/accounts/", "", "account",
                                   cairn_balance_human);
}

/* ---- coupons ---- */

/* "10%" or "500" from a coupon object. */
static cairn_err cairn_coupon_value_text(cairn_wallet *w, const json_t *c,
                                         char *out, size_t cap) {
  const char *kind = NULL;
  uint64_t value = 0;
  CAIRN_TRY(cairn_wallet_field_str(w, c, "kind", &kind));
  CAIRN_TRY(cairn_wallet_field_u64(w, c, "value", &value));
  snprintf(out, cap, "%llu%s", (unsigned long long)value,
           strcmp(kind, "percent") == 0 ? "%" : "");
  return CAIRN_OK;
}

static const char *cairn_coupon_label(const json_t *c) {
  const char *label = json_string_value(json_object_get(c, "label"));
  if (label == NULL) label = json_string_value(json_object_get(c, "label_hex"));
  return label != NULL ? label : "";
}

static cairn_err cairn_coupon_row(cairn_wallet *w, const json_t *c) {
  const char *id = NULL, *brand = NULL, *status = NULL;
  uint64_t expiry = 0;
  char value[32];
  CAIRN_TRY(cairn_wallet_field_str(w, c, "id", &id));
  CAIRN_TRY(cairn_wallet_field_str(w, c, "brand_name", &brand));
  CAIRN_TRY(cairn_wallet_field_str(w, c, "status", &status));
  CAIRN_TRY(cairn_wallet_field_u64(w, c, "expiry_height", &expiry));
  CAIRN_TRY(cairn_coupon_value_text(w, c, value, sizeof value));
  printf("%-64s  %-12s %-6s %-9s %-8llu %s\n", id, brand, value, status,
         (unsigned long long)expiry, cairn_coupon_label(c));
  return CAIRN_OK;
}

static cairn_err cairn_coupon_list_human(cairn_wallet *w, const json_t *body) {
  json_t *coupons = NULL;
  CAIRN_TRY(cairn_wallet_field_array(w, body, "coupons", &coupons));
  if (json_array_size(coupons) == 0) {
    printf("no coupons\n");
    return CAIRN_OK;
  }
  printf("%-64s  %-12s %-6s %-9s %-8s %s\n", "COUPON", "BRAND", "VALUE",
         "STATUS", "EXPIRES", "LABEL");
  size_t i;
  const json_t *c;
  json_array_foreach(coupons, i, c) CAIRN_TRY(cairn_coupon_row(w, c));
  return CAIRN_OK;
}

static const cairn_opt cairn_coupon_list_opts[] = {
    CAIRN_WALLET_ACCOUNT_OPT,
};
static const cairn_cmd_spec cairn_coupon_list_spec = {
    "coupon list", "[ADDRESS | --key FILE]",
    "List the coupons an account owns or has redeemed.",
    cairn_coupon_list_opts, 1, 0, 1};

int cairn_cmd_coupon_list(cairn_wallet *w, int argc, char **argv) {
  return cairn_wallet_show_account(w, &cairn_coupon_list_spec, argc, argv,
                                   "/v1/accounts/", "/coupons", "coupon list",
                                   cairn_coupon_list_human);
}

static cairn_err cairn_coupon_show_human(cairn_wallet *w, const json_t *c) {
  const char *id = NULL, *brand = NULL, *owner = NULL, *status = NULL;
  const char *kind = NULL;
  uint64_t brand_id = 0, expiry = 0, issued = 0, redeemed = 0;
  char value[32];
  CAIRN_TRY(cairn_wallet_field_str(w, c, "id", &id));
  CAIRN_TRY(cairn_wallet_field_str(w, c, "brand_name", &brand));
  CAIRN_TRY(cairn_wallet_field_u64(w, c, "brand", &brand_id));
  CAIRN_TRY(cairn_wallet_field_str(w, c, "owner", &owner));
  CAIRN_TRY(cairn_wallet_field_str(w, c, "status", &status));
  CAIRN_TRY(cairn_wallet_field_str(w, c, "kind", &kind));
  CAIRN_TRY(cairn_wallet_field_u64(w, c, "expiry_height", &expiry));
  CAIRN_TRY(cairn_wallet_field_u64(w, c, "issued_height", &issued));
  CAIRN_TRY(cairn_wallet_field_u64(w, c, "redeemed_height", &redeemed));
  CAIRN_TRY(cairn_coupon_value_text(w, c, value, sizeof value));
  printf("%-13s %s\n%-13s %s (%llu)\n%-13s %s\n", "coupon", id, "brand",
         brand, (unsigned long long)brand_id, "owner", owner);
  printf("%-13s %s%s\n", "value", value,
         strcmp(kind, "percent") == 0 ? " off" : " (face value)");
  printf("%-13s %s\n%-13s %s\n", "status", status, "transferable",
         json_is_true(json_object_get(c, "transferable")) ? "yes" : "no");
  printf("%-13s block %llu\n%-13s up to block %llu\n", "issued",
         (unsigned long long)issued, "expires", (unsigned long long)expiry);
  if (redeemed != 0) {
    printf("%-13s block %llu\n", "redeemed", (unsigned long long)redeemed);
  }
  const char *label = cairn_coupon_label(c);
  if (label[0] != '\0') printf("%-13s %s\n", "label", label);
  return CAIRN_OK;
}

static const cairn_cmd_spec cairn_coupon_show_spec = {
    "coupon show", "ID", "Show one coupon: brand, owner, value, status.",
    NULL, 0, 1, 1};

int cairn_cmd_coupon_show(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_coupon_show_spec, argc, argv, &a);
  if (err != CAIRN_OK || a.help) return cairn_wallet_exit(w, err);
  uint8_t id[32];
  err = cairn_wallet_hash_arg(w, "coupon ID", a.pos[0], id);
  if (err == CAIRN_OK) {
    char path[96], what[96];
    snprintf(path, sizeof path, "/v1/coupons/%s", a.pos[0]);
    snprintf(what, sizeof what, "coupon %.16s...", a.pos[0]);
    err = cairn_wallet_show(w, path, what, cairn_coupon_show_human);
  }
  return cairn_wallet_exit(w, err);
}

/* ---- tx ---- */

static cairn_err cairn_tx_human(cairn_wallet *w, const json_t *t) {
  const char *txid = NULL, *status = NULL;
  CAIRN_TRY(cairn_wallet_field_str(w, t, "txid", &txid));
  CAIRN_TRY(cairn_wallet_field_str(w, t, "status", &status));
  printf("%-21s %s\n", "txid", txid);
  if (strcmp(status, "committed") == 0) {
    uint64_t h = 0, pos = 0;
    CAIRN_TRY(cairn_wallet_field_u64(w, t, "height", &h));
    CAIRN_TRY(cairn_wallet_field_u64(w, t, "position", &pos));
    printf("%-21s committed at height %llu position %llu\n", "status",
           (unsigned long long)h, (unsigned long long)pos);
  } else if (strcmp(status, "rejected") == 0) {
    const json_t *e = json_object_get(t, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *code = json_string_value(json_object_get(e, "code"));
    printf("%-21s rejected: %s (%s)\n", "status", msg ? msg : "?",
           code ? code : "?");
  } else {
    printf("%-21s %s\n", "status", status);
  }
  const json_t *tx = json_object_get(t, "tx");
  if (json_is_object(tx)) cairn_query_print_object(tx, 21);
  return CAIRN_OK;
}

static const cairn_cmd_spec cairn_tx_spec = {
    "tx", "TXID",
    "Show a transaction and its status (pending, committed at height H "
    "position P, or rejected and why).",
    NULL, 0, 1, 1};

int cairn_cmd_tx(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_tx_spec, argc, argv, &a);
  if (err != CAIRN_OK || a.help) return cairn_wallet_exit(w, err);
  uint8_t id[32];
  err = cairn_wallet_hash_arg(w, "TXID", a.pos[0], id);
  if (err == CAIRN_OK) {
    char path[96], what[96];
    snprintf(path, sizeof path, "/v1/txs/%s", a.pos[0]);
    snprintf(what, sizeof what, "transaction %.16s...", a.pos[0]);
    err = cairn_wallet_show(w, path, what, cairn_tx_human);
  }
  return cairn_wallet_exit(w, err);
}

/* ---- status ---- */

static cairn_err cairn_status_brands(cairn_wallet *w, const json_t *brands) {
  printf("brands:\n  %-4s %-14s %-12s %s\n", "ID", "NAME", "TRANSFERABLE",
         "ISSUER");
  size_t i;
  const json_t *b;
  json_array_foreach(brands, i, b) {
    const char *name = NULL, *issuer = NULL;
    uint64_t id = 0;
    CAIRN_TRY(cairn_wallet_field_str(w, b, "name", &name));
    CAIRN_TRY(cairn_wallet_field_str(w, b, "issuer", &issuer));
    CAIRN_TRY(cairn_wallet_field_u64(w, b, "id", &id));
    printf("  %-4llu %-14s %-12s %s\n", (unsigned long long)id, name,
           json_is_true(json_object_get(b, "transferable")) ? "yes" : "no",
           issuer);
  }
  return CAIRN_OK;
}

static cairn_err cairn_status_human(cairn_wallet *w, const json_t *st) {
  const char *chain = NULL, *tip = NULL;
  uint64_t height = 0, mempool = 0;
  json_t *brands = NULL;
  CAIRN_TRY(cairn_wallet_field_str(w, st, "chain_id", &chain));
  CAIRN_TRY(cairn_wallet_field_u64(w, st, "height", &height));
  CAIRN_TRY(cairn_wallet_field_str(w, st, "tip_hash", &tip));
  CAIRN_TRY(cairn_wallet_field_u64(w, st, "mempool_txs", &mempool));
  CAIRN_TRY(cairn_wallet_field_array(w, st, "brands", &brands));
  printf("%-8s %s\n%-8s %llu\n%-8s %s\n%-8s %llu pending transaction%s\n",
         "chain", chain, "height", (unsigned long long)height, "tip", tip,
         "mempool", (unsigned long long)mempool, mempool == 1 ? "" : "s");
  const char *version = json_string_value(json_object_get(st, "version"));
  if (version != NULL) printf("%-8s %s\n", "node", version);
  return cairn_status_brands(w, brands);
}

static const cairn_cmd_spec cairn_status_spec = {
    "status", "",
    "Show the node's chain id, height, tip hash, mempool size and brands.",
    NULL, 0, 0, 0};

/* GET /v1/status and /v1/brands, merged into one object. */
static cairn_err cairn_status_run(cairn_wallet *w) {
  json_t *st = NULL, *br = NULL, *brands = NULL;
  CAIRN_TRY(cairn_wallet_get(w, "/v1/status", "node status", &st));
  cairn_err err = cairn_wallet_get(w, "/v1/brands", "brand list", &br);
  if (err == CAIRN_OK) err = cairn_wallet_field_array(w, br, "brands", &brands);
  if (err == CAIRN_OK) {
    json_object_set(st, "brands", brands);
    if (w->json) cairn_wallet_print_json(st);
    else err = cairn_status_human(w, st);
  }
  json_decref(br);
  json_decref(st);
  return err;
}

int cairn_cmd_status(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_status_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_status_run(w);
  return cairn_wallet_exit(w, err);
}

/* ---- settlements and agreements ---- */

/* One "debtor owes creditor N" line per pair; "no open settlements" when
 * every pair is cleared. */
static cairn_err cairn_settlements_human(cairn_wallet *w, const json_t *body) {
  json_t *list = NULL;
  CAIRN_TRY(cairn_wallet_field_array(w, body, "settlements", &list));
  if (json_array_size(list) == 0) {
    printf("no open settlements: every pair of brands is settled\n");
    return CAIRN_OK;
  }
  size_t i;
  const json_t *s;
  json_array_foreach(list, i, s) {
    const char *debtor = NULL, *creditor = NULL, *amount = NULL;
    CAIRN_TRY(cairn_wallet_field_str(w, s, "debtor_name", &debtor));
    CAIRN_TRY(cairn_wallet_field_str(w, s, "creditor_name", &creditor));
    CAIRN_TRY(cairn_wallet_field_str(w, s, "amount", &amount));
    printf("%-12s owes %-12s %s %s points\n", debtor, creditor, amount,
           creditor);
  }
  return CAIRN_OK;
}

static const cairn_cmd_spec cairn_settlements_spec = {
    "settlements", "",
    "Show what each brand owes each other brand for points redeemed across "
    "brands (per pair, in the creditor's points).",
    NULL, 0, 0, 0};

int cairn_cmd_settlements(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_settlements_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_wallet_show(w, "/v1/settlements", "settlements",
                            cairn_settlements_human);
  }
  return cairn_wallet_exit(w, err);
}

static cairn_err cairn_agreements_human(cairn_wallet *w, const json_t *body) {
  json_t *list = NULL;
  CAIRN_TRY(cairn_wallet_field_array(w, body, "agreements", &list));
  if (json_array_size(list) == 0) printf("no exchange agreements\n");
  size_t i;
  const json_t *g;
  json_array_foreach(list, i, g) {
    const char *id = NULL, *num = NULL, *den = NULL;
    uint64_t from = 0, to = 0;
    CAIRN_TRY(cairn_wallet_field_str(w, g, "id", &id));
    CAIRN_TRY(cairn_wallet_field_u64(w, g, "from_brand", &from));
    CAIRN_TRY(cairn_wallet_field_u64(w, g, "to_brand", &to));
    CAIRN_TRY(cairn_wallet_field_str(w, g, "rate_num", &num));
    CAIRN_TRY(cairn_wallet_field_str(w, g, "rate_den", &den));
    const char *state =
        json_is_true(json_object_get(g, "active"))    ? "active"
        : json_is_true(json_object_get(g, "revoked")) ? "revoked"
                                                      : "inactive";
    printf("%s  brand %llu -> brand %llu  rate %s:%s  %s\n", id,
           (unsigned long long)from, (unsigned long long)to, num, den, state);
  }
  return CAIRN_OK;
}

static const cairn_cmd_spec cairn_agreements_spec = {
    "agreements", "",
    "List the exchange agreements between brands and whether each is "
    "active.",
    NULL, 0, 0, 0};

int cairn_cmd_agreements(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_agreements_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_wallet_show(w, "/v1/agreements", "agreements",
                            cairn_agreements_human);
  }
  return cairn_wallet_exit(w, err);
}
