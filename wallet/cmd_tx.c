/*
 * cmd_tx.c - the commands that sign and submit transactions: issue,
 * transfer, redeem, coupon issue / transfer / redeem, and the operations
 * of the cross-brand economy (policy; hold, capture, release; reverse;
 * agree, revoke, redeem --at, settle).
 *
 * Every transaction command follows the same path, in an order chosen so
 * that the user learns about a mistake as early and as cheaply as possible:
 *   1. parse and check every argument locally (amounts, addresses, ids,
 *      lengths): usage errors never touch the network or the passphrase;
 *   2. read the sender's address from the key file (no passphrase yet);
 *   3. ask the node for the chain id and tip height (GET /v1/status) and
 *      resolve brand names to ids (GET /v1/brands);
 *   4. fill in the transaction, then its sequence (GET /v1/accounts/ADDR:
 *      next_sequence counts pending transactions, so several can be sent in
 *      a row) and expiry (tip height + --expires-in);
 *   5. only now ask for the passphrase, decrypt the key, sign, and wipe the
 *      key; encode, POST /v1/txs;
 *   6. unless --no-wait, poll GET /v1/txs/ID every 100 ms until the
 *      transaction is committed or rejected, or --wait-timeout passes.
 * The transaction id is computed locally and must match the node's answer,
 * so a confused or lying node cannot make the wallet report the wrong id.
 */
#include "cairn/wallet.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/json.h"

/* Options shared by every transaction command. */
#define CAIRN_TX_COMMON_OPTS                                                   \
  {"no-wait", NULL, "return once the node has accepted the transaction "     \
                    "into its mempool"},                                      \
  {"wait-timeout", "SECONDS", "how long to wait for the commit (default 30)"}, \
  {"passphrase-file", "FILE", "read the key's passphrase from the first line " \
                              "of FILE (else $CAIRN_PASSPHRASE, else asked)"}, \
  {"ref", "REF", "a client reference (at most 32 bytes): a second "           \
                 "transaction from this key with the same REF is refused, "  \
                 "so a retried command never applies twice"}
#define CAIRN_TX_EXPIRY_OPT                                                    \
  {"expires-in", "BLOCKS", "the transaction expires this many blocks past "  \
                           "the tip (default 100)"}

/* Everything a transaction command gathers on its way to the node. */
typedef struct cairn_txflow {
  const char *key_path;
  const char *pass_file;
  uint64_t expires_in;
  bool no_wait;
  uint64_t wait_timeout_s;
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1];
  uint64_t tip_height;
  /* "coupon" or "hold" when the txid also names what the transaction
   * creates (printed as "coupon ID" / JSON "coupon": ID), else NULL. */
  const char *id_name;
  char id_hex[2 * CAIRN_HASH_BYTES + 1]; /* that id when it is not the txid */
  cairn_tx tx;
} cairn_txflow;

static uint64_t cairn_txflow_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static cairn_err cairn_txflow_text(cairn_wallet *w, const char *flag,
                                   const char *s, size_t max, uint8_t *out,
                                   uint8_t *out_len);

/* Step 1, shared part: the key and the transaction options. tx_expiry_flag
 * names the option that holds the transaction's expiry. */
static cairn_err cairn_txflow_options(cairn_wallet *w,
                                      const cairn_cmd_spec *spec,
                                      const cairn_args *a,
                                      const char *tx_expiry_flag,
                                      cairn_txflow *f) {
  memset(f, 0, sizeof *f);
  f->key_path = cairn_wallet_opt(spec, a, "key");
  if (f->key_path == NULL) {
    char hint[96];
    snprintf(hint, sizeof hint, "see: cairn %s --help", spec->name);
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, hint,
                             "%s needs --key FILE (the signing key)",
                             spec->name);
  }
  f->pass_file = cairn_wallet_opt(spec, a, "passphrase-file");
  f->no_wait = cairn_wallet_opt(spec, a, "no-wait") != NULL;
  CAIRN_TRY(cairn_txflow_text(w, "--ref", cairn_wallet_opt(spec, a, "ref"),
                              CAIRN_TX_CLIENT_REF_BYTES_MAX, f->tx.client_ref,
                              &f->tx.client_ref_len));
  f->expires_in = CAIRN_WALLET_TX_EXPIRES_IN_DEFAULT;
  f->wait_timeout_s = CAIRN_WALLET_WAIT_TIMEOUT_S_DEFAULT;
  const char *v = cairn_wallet_opt(spec, a, tx_expiry_flag);
  char flag[32];
  snprintf(flag, sizeof flag, "--%s", tx_expiry_flag);
  if (v != NULL) CAIRN_TRY(cairn_wallet_u64(w, flag, v, 1, &f->expires_in));
  v = cairn_wallet_opt(spec, a, "wait-timeout");
  if (v != NULL) {
    CAIRN_TRY(cairn_wallet_u64(w, "--wait-timeout", v, 1, &f->wait_timeout_s));
    if (f->wait_timeout_s > CAIRN_WALLET_WAIT_TIMEOUT_S_MAX) {
      return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                               "--wait-timeout must be at most %u seconds",
                               CAIRN_WALLET_WAIT_TIMEOUT_S_MAX);
    }
  }
  return CAIRN_OK;
}

/* A required option's value, or a usage error. */
static cairn_err cairn_txflow_need(cairn_wallet *w, const cairn_cmd_spec *spec,
                                   const cairn_args *a, const char *name,
                                   const char **out) {
  *out = cairn_wallet_opt(spec, a, name);
  if (*out != NULL) return CAIRN_OK;
  char hint[96];
  snprintf(hint, sizeof hint, "see: cairn %s --help", spec->name);
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, hint,
                           "%s needs --%s", spec->name, name);
}

/* An order reference or label: at most max bytes. */
static cairn_err cairn_txflow_text(cairn_wallet *w, const char *flag,
                                   const char *s, size_t max, uint8_t *out,
                                   uint8_t *out_len) {
  *out_len = 0;
  if (s == NULL) return CAIRN_OK;
  size_t n = strlen(s);
  if (n > max) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "%s is %zu bytes long; at most %zu are allowed",
                             flag, n, max);
  }
  memcpy(out, s, n);
  *out_len = (uint8_t)n;
  return CAIRN_OK;
}

/* Steps 2 and 3: the sender, the chain id and the tip. */
static cairn_err cairn_txflow_connect(cairn_wallet *w, cairn_txflow *f) {
  CAIRN_TRY(cairn_wallet_key_pubkey(w, f->key_path, f->pk));
  json_t *st = NULL;
  CAIRN_TRY(cairn_wallet_get(w, "/v1/status", "node status", &st));
  const char *chain_id = NULL;
  cairn_err err = cairn_wallet_field_str(w, st, "chain_id", &chain_id);
  if (err == CAIRN_OK) {
    err = cairn_wallet_field_u64(w, st, "height", &f->tip_height);
  }
  if (err == CAIRN_OK && (strlen(chain_id) == 0 ||
                          strlen(chain_id) > CAIRN_CHAIN_ID_BYTES_MAX)) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP, NULL,
                            "the node reports a malformed chain id");
  }
  if (err == CAIRN_OK) {
    snprintf(f->chain_id, sizeof f->chain_id, "%s", chain_id);
  }
  json_decref(st);
  return err;
}

/* List the chain's brands for a hint ("coffee (1), pizza (2)"). */
static void cairn_txflow_brand_list(const json_t *brands, char *buf,
                                    size_t cap) {
  size_t used = 0;
  buf[0] = '\0';
  size_t i;
  const json_t *b;
  json_array_foreach(brands, i, b) {
    const char *name = json_string_value(json_object_get(b, "name"));
    json_int_t id = json_integer_value(json_object_get(b, "id"));
    if (name == NULL || used >= cap) continue;
    int n = snprintf(buf + used, cap - used, "%s%s (%lld)", i ? ", " : "",
                     name, (long long)id);
    if (n > 0) used += (size_t)n;
  }
}

static cairn_err cairn_txflow_match_brand(const json_t *brands,
                                          const char *arg, uint32_t *id) {
  uint64_t want = 0;
  bool numeric = cairn_parse_u64(arg, &want) == CAIRN_OK;
  size_t i;
  const json_t *b;
  json_array_foreach(brands, i, b) {
    const char *name = json_string_value(json_object_get(b, "name"));
    json_int_t bid = json_integer_value(json_object_get(b, "id"));
    if (bid < 1 || bid > (json_int_t)UINT32_MAX) continue;
    if ((numeric && (uint64_t)bid == want) ||
        (name != NULL && strcmp(name, arg) == 0)) {
      *id = (uint32_t)bid;
      return CAIRN_OK;
    }
  }
  return CAIRN_ERR_UNKNOWN_BRAND;
}

/* Resolve --brand NAME|ID through GET /v1/brands. */
static cairn_err cairn_txflow_brand(cairn_wallet *w, const char *arg,
                                    uint32_t *id) {
  *id = 0;
  json_t *body = NULL, *brands = NULL;
  CAIRN_TRY(cairn_wallet_get(w, "/v1/brands", "brand list", &body));
  cairn_err err = cairn_wallet_field_array(w, body, "brands", &brands);
  if (err == CAIRN_OK) err = cairn_txflow_match_brand(brands, arg, id);
  if (err == CAIRN_ERR_UNKNOWN_BRAND) {
    char list[512], hint[600];
    cairn_txflow_brand_list(brands, list, sizeof list);
    snprintf(hint, sizeof hint, "brands on this chain: %s", list);
    err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, hint,
                            "unknown brand '%s' for --brand: this chain has "
                            "no brand with that name or id", arg);
  }
  json_decref(body);
  return err;
}

/* Step 4: sequence and expiry. */
static cairn_err cairn_txflow_header(cairn_wallet *w, cairn_txflow *f) {
  char addr[CAIRN_ADDRESS_BUF], path[128];
  cairn_address_encode(addr, sizeof addr, f->pk);
  snprintf(path, sizeof path, "/v1/accounts/%s", addr);
  json_t *acct = NULL;
  CAIRN_TRY(cairn_wallet_get(w, path, "account", &acct));
  uint64_t seq = 0;
  cairn_err err = cairn_wallet_field_u64(w, acct, "next_sequence", &seq);
  json_decref(acct);
  CAIRN_TRY(err);
  if (f->expires_in > UINT64_MAX - f->tip_height) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--expires-in is too large");
  }
  cairn_tx *tx = &f->tx;
  tx->version = CAIRN_TX_VERSION;
  tx->chain_id_len = (uint8_t)strlen(f->chain_id);
  memcpy(tx->chain_id, f->chain_id, tx->chain_id_len);
  memcpy(tx->sender, f->pk, CAIRN_PUBKEY_BYTES);
  tx->sequence = seq;
  tx->expiry_height = f->tip_height + f->expires_in;
  return CAIRN_OK;
}

/* Step 5a: unlock, sign, wipe. */
static cairn_err cairn_txflow_sign(cairn_wallet *w, cairn_txflow *f) {
  uint8_t sk[CAIRN_SECKEY_BYTES], pk[CAIRN_PUBKEY_BYTES];
  CAIRN_TRY(cairn_wallet_key_unlock(w, f->key_path, f->pass_file, sk, pk));
  cairn_err err = CAIRN_OK;
  if (sodium_memcmp(pk, f->pk, CAIRN_PUBKEY_BYTES) != 0) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_KEY, CAIRN_ERR_BAD_KEY, NULL,
                            "key file %s changed while in use", f->key_path);
  } else if ((err = cairn_tx_sign(&f->tx, sk)) != CAIRN_OK) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_KEY, err, NULL,
                            "cannot sign with key file %s: %s", f->key_path,
                            cairn_strerror(err));
  }
  sodium_memzero(sk, sizeof sk);
  return err;
}

/* Print the outcome: human text, or the node's JSON plus the coupon id. */
static void cairn_txflow_print(const cairn_wallet *w, const cairn_txflow *f,
                               const char *txid_hex, json_t *body,
                               bool committed) {
  const char *id = f->id_hex[0] != '\0' ? f->id_hex : txid_hex;
  if (w->json) {
    if (f->id_name != NULL) {
      json_object_set_new(body, f->id_name, json_string(id));
    }
    cairn_wallet_print_json(body);
    return;
  }
  if (f->id_name != NULL) printf("%s %s\n", f->id_name, id);
  printf("txid %s\n", txid_hex);
  if (!committed) {
    printf("pending: accepted into the mempool (follow it with: cairn tx "
           "%s)\n", txid_hex);
    return;
  }
  json_int_t h = json_integer_value(json_object_get(body, "height"));
  json_int_t pos = json_integer_value(json_object_get(body, "position"));
  printf("committed in block %lld (position %lld)\n", (long long)h,
         (long long)pos);
}

/* Step 5b: encode and POST; *accepted is the node's 2xx answer. */
static cairn_err cairn_txflow_post(cairn_wallet *w, const cairn_txflow *f,
                                   char txid_hex[65], json_t **accepted) {
  *accepted = NULL;
  uint8_t buf[CAIRN_TX_BYTES_MAX], txid[CAIRN_HASH_BYTES];
  size_t len = 0;
  cairn_err err = cairn_tx_encode(buf, sizeof buf, &len, &f->tx);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL,
                             "cannot encode the transaction: %s",
                             cairn_strerror(err));
  }
  cairn_tx_id_bytes(txid, buf, len);
  cairn_hex_encode(txid_hex, 65, txid, sizeof txid);
  char hex[2 * CAIRN_TX_BYTES_MAX + 1];
  cairn_hex_encode(hex, sizeof hex, buf, len);
  json_t *req = json_pack("{s:s}", "tx", hex);
  if (req == NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                             "out of memory");
  }
  int status = 0;
  json_t *body = NULL;
  err = cairn_wallet_post(w, "/v1/txs", req, &status, &body);
  json_decref(req);
  CAIRN_TRY(err);
  if (status < 200 || status > 299) {
    const char *ctx = status >= 500 && status != 503
                          ? "the node failed to process the transaction"
                          : "transaction rejected";
    err = cairn_wallet_fail_api(w, status, body, ctx, f->key_path);
    json_decref(body);
    return err;
  }
  const char *node_txid = json_string_value(json_object_get(body, "txid"));
  if (node_txid == NULL || strcmp(node_txid, txid_hex) != 0) {
    json_decref(body);
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP, NULL,
                             "the node acknowledged transaction %s with a "
                             "different id (%s)", txid_hex,
                             node_txid != NULL ? node_txid : "none");
  }
  *accepted = body;
  return CAIRN_OK;
}

/* One poll of GET /v1/txs/ID. Returns OK with *done set when the wait is
 * over (committed), CAIRN_ERR_TIMEOUT to keep waiting (pending, not yet
 * known, or the node is unreachable: *transport says which), anything else
 * reported. */
static cairn_err cairn_txflow_poll(cairn_wallet *w, const cairn_txflow *f,
                                   const char *path, json_t **done,
                                   cairn_err *transport) {
  int status = 0;
  json_t *body = NULL;
  *transport = cairn_wallet_get_quiet(w, path, &status, &body);
  if (*transport != CAIRN_OK) return CAIRN_ERR_TIMEOUT;
  cairn_err err = CAIRN_ERR_TIMEOUT;
  const char *st = json_string_value(json_object_get(body, "status"));
  if (status == 404) {
    err = CAIRN_ERR_TIMEOUT;
  } else if (status != 200) {
    err = cairn_wallet_fail_api(w, status, body, "transaction status",
                                f->key_path);
  } else if (st != NULL && strcmp(st, "committed") == 0) {
    *done = body;
    return CAIRN_OK;
  } else if (st != NULL && strcmp(st, "rejected") == 0) {
    err = cairn_wallet_fail_api(w, 422, body, "transaction rejected",
                                f->key_path);
  } else if (st == NULL || strcmp(st, "pending") != 0) {
    err = cairn_wallet_field_str(w, NULL, "status", &st);
  }
  json_decref(body);
  return err;
}

/* Step 6: wait for the commit. */
static cairn_err cairn_txflow_wait(cairn_wallet *w, const cairn_txflow *f,
                                   const char *txid_hex, json_t **done) {
  *done = NULL;
  char path[96];
  snprintf(path, sizeof path, "/v1/txs/%s", txid_hex);
  uint64_t deadline = cairn_txflow_now_ms() + f->wait_timeout_s * 1000u;
  cairn_err transport = CAIRN_OK;
  for (;;) {
    cairn_err err = cairn_txflow_poll(w, f, path, done, &transport);
    if (err != CAIRN_ERR_TIMEOUT) return err;
    if (cairn_txflow_now_ms() >= deadline) break;
    struct timespec ts = {0, CAIRN_WALLET_POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
  }
  char hint[128];
  snprintf(hint, sizeof hint, "check it later with: cairn tx %s", txid_hex);
  if (transport != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, transport, hint,
                             "lost contact with the node while waiting for "
                             "transaction %s: %s", txid_hex,
                             cairn_strerror(transport));
  }
  return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_TIMEOUT, hint,
                           "transaction %s was accepted but is not committed "
                           "after %llu s", txid_hex,
                           (unsigned long long)f->wait_timeout_s);
}

/* Steps 4 to 6 once the payload is filled in. */
static cairn_err cairn_txflow_finish(cairn_wallet *w, cairn_txflow *f) {
  CAIRN_TRY(cairn_txflow_header(w, f));
  CAIRN_TRY(cairn_txflow_sign(w, f));
  char txid_hex[65];
  json_t *accepted = NULL;
  CAIRN_TRY(cairn_txflow_post(w, f, txid_hex, &accepted));
  if (f->no_wait) {
    cairn_txflow_print(w, f, txid_hex, accepted, false);
    json_decref(accepted);
    return CAIRN_OK;
  }
  json_decref(accepted);
  json_t *done = NULL;
  CAIRN_TRY(cairn_txflow_wait(w, f, txid_hex, &done));
  cairn_txflow_print(w, f, txid_hex, done, true);
  json_decref(done);
  return CAIRN_OK;
}

/* ---- issue and transfer ---- */

static const cairn_opt cairn_issue_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"brand", "NAME|ID", "the brand whose points are issued"},
    {"to", "ADDRESS", "the member who receives them"},
    {"amount", "N", "how many points"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_issue_spec = {
    "issue", "--key ISSUER_KEY --brand NAME|ID --to ADDRESS --amount N",
    "Issue (credit) a brand's points to a member; only the brand's issuer "
    "key may do this.",
    cairn_issue_opts, sizeof cairn_issue_opts / sizeof cairn_issue_opts[0],
    0, 0};

static const cairn_opt cairn_transfer_opts[] = {
    {"key", "FILE", "the sender's key file"},
    {"brand", "NAME|ID", "the brand whose points move"},
    {"to", "ADDRESS", "the member who receives them"},
    {"amount", "N", "how many points"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_transfer_spec = {
    "transfer", "--key FILE --brand B --to ADDRESS --amount N",
    "Move points to another member (for brands whose points are "
    "transferable).",
    cairn_transfer_opts,
    sizeof cairn_transfer_opts / sizeof cairn_transfer_opts[0], 0, 0};

static cairn_err cairn_credit_run(cairn_wallet *w, const cairn_cmd_spec *spec,
                                  const cairn_args *a, uint8_t type) {
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand, *to, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_credit c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, c.to));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &c.amount));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &c.brand));
  f.tx.type = type;
  if (type == CAIRN_TX_ISSUE) f.tx.u.issue = c;
  else f.tx.u.transfer = c;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_issue(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_issue_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_credit_run(w, &cairn_issue_spec, &a, CAIRN_TX_ISSUE);
  }
  return cairn_wallet_exit(w, err);
}

int cairn_cmd_transfer(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_transfer_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_credit_run(w, &cairn_transfer_spec, &a, CAIRN_TX_TRANSFER);
  }
  return cairn_wallet_exit(w, err);
}

/* ---- redeem ---- */

static const cairn_opt cairn_redeem_opts[] = {
    {"key", "FILE", "the member's key file"},
    {"brand", "NAME|ID", "the brand whose points are spent"},
    {"amount", "N", "how many points"},
    {"order", "REF", "the order or receipt reference (at most 64 bytes)"},
    {"at", "NAME|ID", "redeem the --brand points at this partner brand "
                      "instead (needs --agreement)"},
    {"agreement", "ID", "the exchange agreement under which --at accepts "
                        "them (64 hex characters)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_redeem_spec = {
    "redeem", "--key FILE --brand B --amount N [--order REF] "
              "[--at PARTNER --agreement ID]",
    "Spend (burn) points at the brand, e.g. for an order at the till; with "
    "--at, spend them at a partner brand under an exchange agreement.",
    cairn_redeem_opts, sizeof cairn_redeem_opts / sizeof cairn_redeem_opts[0],
    0, 0};

/* redeem --at: a REDEEM_AT of --brand points at the partner --at. */
static cairn_err cairn_redeem_at_run(cairn_wallet *w, cairn_txflow *f,
                                     const cairn_tx_redeem *r,
                                     const char *brand, const char *at,
                                     const char *agreement) {
  cairn_tx_redeem_at x;
  memset(&x, 0, sizeof x);
  x.amount = r->amount;
  x.ref_len = r->ref_len;
  memcpy(x.ref, r->ref, r->ref_len);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--agreement", agreement, x.agreement));
  CAIRN_TRY(cairn_txflow_connect(w, f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &x.from_brand));
  CAIRN_TRY(cairn_txflow_brand(w, at, &x.at_brand));
  if (x.from_brand == x.at_brand) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--at must be another brand than --brand");
  }
  f->tx.type = CAIRN_TX_REDEEM_AT;
  f->tx.u.redeem_at = x;
  return cairn_txflow_finish(w, f);
}

static cairn_err cairn_redeem_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_redeem_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_redeem r;
  memset(&r, 0, sizeof r);
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &r.amount));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, r.ref, &r.ref_len));
  const char *at = cairn_wallet_opt(spec, a, "at");
  const char *agreement = cairn_wallet_opt(spec, a, "agreement");
  if ((at == NULL) != (agreement == NULL)) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "see: cairn redeem --help",
                             "--at and --agreement go together");
  }
  if (at != NULL) return cairn_redeem_at_run(w, &f, &r, brand, at, agreement);
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &r.brand));
  f.tx.type = CAIRN_TX_REDEEM;
  f.tx.u.redeem = r;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_redeem(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_redeem_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_redeem_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- coupon issue ---- */

static const cairn_opt cairn_coupon_issue_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"brand", "NAME|ID", "the issuing brand (the only place it can be "
                         "redeemed)"},
    {"to", "ADDRESS", "the member who receives the coupon"},
    {"percent", "P", "a percentage discount, 1 to 100"},
    {"value", "N", "a face value in the brand's minor unit (e.g. cents)"},
    {"expires-in", "BLOCKS", "the coupon expires this many blocks past the "
                             "tip (default 10000)"},
    {"expiry-height", "H", "the last height at which it can be redeemed"},
    {"label", "TEXT", "a label for people, e.g. \"Free medium coffee\" (at "
                      "most 64 bytes)"},
    {"non-transferable", NULL, "the member cannot pass the coupon on"},
    {"tx-expires-in", "BLOCKS", "the transaction expires this many blocks "
                                "past the tip (default 100)"},
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_coupon_issue_spec = {
    "coupon issue",
    "--key ISSUER_KEY --brand B --to ADDRESS (--percent P | --value N) "
    "[--expires-in BLOCKS | --expiry-height H] [--label TEXT] "
    "[--non-transferable]",
    "Issue a coupon to a member; prints the coupon id (the transaction id).",
    cairn_coupon_issue_opts,
    sizeof cairn_coupon_issue_opts / sizeof cairn_coupon_issue_opts[0], 0, 0};

/* The coupon's kind and value from --percent / --value. */
static cairn_err cairn_coupon_value(cairn_wallet *w, const cairn_args *a,
                                    cairn_tx_coupon_issue *c) {
  const cairn_cmd_spec *spec = &cairn_coupon_issue_spec;
  const char *pct = cairn_wallet_opt(spec, a, "percent");
  const char *val = cairn_wallet_opt(spec, a, "value");
  if ((pct == NULL) == (val == NULL)) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "see: cairn coupon issue --help",
                             "coupon issue needs exactly one of --percent P "
                             "or --value N");
  }
  if (val != NULL) {
    c->kind = CAIRN_COUPON_AMOUNT;
    return cairn_wallet_u64(w, "--value", val, 1, &c->value);
  }
  c->kind = CAIRN_COUPON_PERCENT;
  CAIRN_TRY(cairn_wallet_u64(w, "--percent", pct, 1, &c->value));
  if (c->value > CAIRN_COUPON_PERCENT_MAX) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--percent must be at most %d (got %s)",
                             CAIRN_COUPON_PERCENT_MAX, pct);
  }
  return CAIRN_OK;
}

/* The coupon's expiry: an explicit height, or blocks past the tip (which
 * needs the tip, so *relative says to add it later). */
static cairn_err cairn_coupon_expiry(cairn_wallet *w, const cairn_args *a,
                                     uint64_t *value, bool *relative) {
  const cairn_cmd_spec *spec = &cairn_coupon_issue_spec;
  const char *in = cairn_wallet_opt(spec, a, "expires-in");
  const char *at = cairn_wallet_opt(spec, a, "expiry-height");
  if (in != NULL && at != NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "give --expires-in or --expiry-height, not "
                             "both");
  }
  *relative = at == NULL;
  *value = CAIRN_WALLET_COUPON_EXPIRES_IN_DEFAULT;
  if (at != NULL) return cairn_wallet_u64(w, "--expiry-height", at, 1, value);
  if (in != NULL) return cairn_wallet_u64(w, "--expires-in", in, 1, value);
  return CAIRN_OK;
}

static cairn_err cairn_coupon_issue_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_coupon_issue_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "tx-expires-in", &f));
  const char *brand, *to;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  cairn_tx_coupon_issue c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, c.to));
  CAIRN_TRY(cairn_coupon_value(w, a, &c));
  bool relative = false;
  CAIRN_TRY(cairn_coupon_expiry(w, a, &c.expiry_height, &relative));
  CAIRN_TRY(cairn_txflow_text(w, "--label", cairn_wallet_opt(spec, a, "label"),
                              CAIRN_LABEL_BYTES_MAX, c.label, &c.label_len));
  c.transferable = cairn_wallet_opt(spec, a, "non-transferable") == NULL;
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &c.brand));
  if (relative) {
    if (c.expiry_height > UINT64_MAX - f.tip_height) {
      return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                               "--expires-in is too large");
    }
    c.expiry_height += f.tip_height;
  }
  f.tx.type = CAIRN_TX_COUPON_ISSUE;
  f.tx.u.coupon_issue = c;
  f.id_name = "coupon";
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_coupon_issue(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_coupon_issue_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_coupon_issue_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- coupon transfer ---- */

static const cairn_opt cairn_coupon_transfer_opts[] = {
    {"key", "FILE", "the coupon owner's key file"},
    {"coupon", "ID", "the coupon id (64 hex characters)"},
    {"to", "ADDRESS", "the member who receives it"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_coupon_transfer_spec = {
    "coupon transfer", "--key FILE --coupon ID --to ADDRESS",
    "Give a (transferable) coupon to another member.",
    cairn_coupon_transfer_opts,
    sizeof cairn_coupon_transfer_opts / sizeof cairn_coupon_transfer_opts[0],
    0, 0};

static cairn_err cairn_coupon_transfer_run(cairn_wallet *w,
                                           const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_coupon_transfer_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *coupon, *to;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "coupon", &coupon));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  cairn_tx_coupon_transfer c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--coupon", coupon, c.coupon));
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, c.to));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_COUPON_TRANSFER;
  f.tx.u.coupon_transfer = c;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_coupon_transfer(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_coupon_transfer_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_coupon_transfer_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- coupon redeem ---- */

static const cairn_opt cairn_coupon_redeem_opts[] = {
    {"key", "FILE", "the coupon owner's key file"},
    {"coupon", "ID", "the coupon id (64 hex characters)"},
    {"brand", "NAME|ID", "the brand where it is being redeemed"},
    {"order", "REF", "the order or receipt reference (at most 64 bytes)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_coupon_redeem_spec = {
    "coupon redeem", "--key FILE --coupon ID --brand B [--order REF]",
    "Use a coupon at the brand that issued it; a coupon can be used once.",
    cairn_coupon_redeem_opts,
    sizeof cairn_coupon_redeem_opts / sizeof cairn_coupon_redeem_opts[0], 0,
    0};

static cairn_err cairn_coupon_redeem_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_coupon_redeem_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *coupon, *brand;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "coupon", &coupon));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  cairn_tx_coupon_redeem c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--coupon", coupon, c.coupon));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, c.ref, &c.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &c.brand));
  f.tx.type = CAIRN_TX_COUPON_REDEEM;
  f.tx.u.coupon_redeem = c;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_coupon_redeem(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_coupon_redeem_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_coupon_redeem_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- policy ---- */

static const cairn_opt cairn_policy_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"brand", "NAME|ID", "the brand whose asset policy changes"},
    {"transferable", "yes|no", "may members move the points to each other"},
    {"partners", "yes|no", "may other brands accept the points (under an "
                           "agreement)"},
    {"expiry", "none|fixed|rolling", "how issued points expire"},
    {"expiry-blocks", "N", "the expiry period in blocks (fixed: after the "
                           "issue; rolling: after the member's last "
                           "activity)"},
    {"max-per-tx", "N", "largest ISSUE allowed (0 = no limit)"},
    {"max-per-day", "N", "most points issued per day of block time (0 = no "
                         "limit)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_policy_spec = {
    "policy",
    "--key ISSUER_KEY --brand B [--transferable yes|no] [--partners yes|no] "
    "[--expiry none|fixed|rolling --expiry-blocks N] [--max-per-tx N] "
    "[--max-per-day N]",
    "Replace a brand's asset policy; options not given keep their current "
    "values. Only the brand's issuer key may do this.",
    cairn_policy_opts, sizeof cairn_policy_opts / sizeof cairn_policy_opts[0],
    0, 0};

/* A yes|no option into one flag bit (set_when_yes: the bit means yes). */
static cairn_err cairn_policy_yes_no(cairn_wallet *w, const cairn_args *a,
                                     const char *name, uint8_t bit,
                                     bool set_when_yes, uint8_t *flags) {
  const char *v = cairn_wallet_opt(&cairn_policy_spec, a, name);
  if (v == NULL) return CAIRN_OK;
  bool yes = strcmp(v, "yes") == 0;
  if (!yes && strcmp(v, "no") != 0) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--%s takes yes or no (got '%s')", name, v);
  }
  if (yes == set_when_yes) *flags |= bit;
  else *flags &= (uint8_t)~bit;
  return CAIRN_OK;
}

/* The brand's current policy from GET /v1/brands (the starting point). */
static cairn_err cairn_policy_current(cairn_wallet *w, uint32_t id,
                                      cairn_tx_policy *p) {
  json_t *body = NULL, *brands = NULL;
  CAIRN_TRY(cairn_wallet_get(w, "/v1/brands", "brand list", &body));
  cairn_err err = cairn_wallet_field_array(w, body, "brands", &brands);
  size_t i;
  const json_t *b, *found = NULL;
  json_array_foreach(brands, i, b) {
    if (json_integer_value(json_object_get(b, "id")) == (json_int_t)id)
      found = b;
  }
  const json_t *pol = json_object_get(found, "policy");
  const char *mode = json_string_value(json_object_get(pol, "expiry"));
  if (err == CAIRN_OK && (pol == NULL || mode == NULL)) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP, NULL,
                            "the node did not report brand %u's policy",
                            (unsigned)id);
  }
  if (err == CAIRN_OK) {
    p->brand = id;
    if (json_is_true(json_object_get(found, "transferable")))
      p->flags |= CAIRN_BRAND_FLAG_TRANSFERABLE;
    if (json_is_false(json_object_get(pol, "accept_by_partners")))
      p->flags |= CAIRN_BRAND_FLAG_NO_PARTNERS;
    p->policy.expiry_mode = strcmp(mode, "fixed") == 0     ? CAIRN_EXPIRY_FIXED
                            : strcmp(mode, "rolling") == 0 ? CAIRN_EXPIRY_ROLLING
                                                           : CAIRN_EXPIRY_NONE;
    if (cairn_json_get_u64(json_object_get(pol, "expiry_blocks"),
                           &p->policy.expiry_blocks) != CAIRN_OK ||
        cairn_json_get_u64(json_object_get(pol, "max_issue_per_tx"),
                           &p->policy.max_issue_per_tx) != CAIRN_OK ||
        cairn_json_get_u64(json_object_get(pol, "max_issue_per_day"),
                           &p->policy.max_issue_per_day) != CAIRN_OK)
      err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP, NULL,
                              "the node reported a malformed policy");
  }
  json_decref(body);
  return err;
}

/* --expiry and --expiry-blocks over the current policy. */
static cairn_err cairn_policy_expiry(cairn_wallet *w, const cairn_args *a,
                                     cairn_brand_policy *p) {
  const char *mode = cairn_wallet_opt(&cairn_policy_spec, a, "expiry");
  const char *blocks = cairn_wallet_opt(&cairn_policy_spec, a,
                                        "expiry-blocks");
  if (mode != NULL) {
    static const char *const names[] = {"none", "fixed", "rolling"};
    uint8_t m = 0;
    while (m <= CAIRN_EXPIRY_MODE_MAX && strcmp(mode, names[m]) != 0) m++;
    if (m > CAIRN_EXPIRY_MODE_MAX) {
      return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                               "--expiry takes none, fixed or rolling");
    }
    p->expiry_mode = m;
    if (m == CAIRN_EXPIRY_NONE) p->expiry_blocks = 0;
  }
  if (blocks != NULL) {
    CAIRN_TRY(cairn_wallet_u64(w, "--expiry-blocks", blocks, 1,
                               &p->expiry_blocks));
  }
  if (cairn_brand_policy_check(p) != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--expiry fixed or rolling needs "
                             "--expiry-blocks N; --expiry none takes none");
  }
  return CAIRN_OK;
}

static cairn_err cairn_policy_limits(cairn_wallet *w, const cairn_args *a,
                                     cairn_brand_policy *p) {
  const char *v = cairn_wallet_opt(&cairn_policy_spec, a, "max-per-tx");
  if (v != NULL) {
    CAIRN_TRY(cairn_wallet_u64(w, "--max-per-tx", v, 0, &p->max_issue_per_tx));
  }
  v = cairn_wallet_opt(&cairn_policy_spec, a, "max-per-day");
  if (v != NULL) {
    CAIRN_TRY(
        cairn_wallet_u64(w, "--max-per-day", v, 0, &p->max_issue_per_day));
  }
  return CAIRN_OK;
}

static cairn_err cairn_policy_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_policy_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  cairn_tx_policy p;
  memset(&p, 0, sizeof p);
  uint32_t id = 0;
  CAIRN_TRY(cairn_txflow_brand(w, brand, &id));
  CAIRN_TRY(cairn_policy_current(w, id, &p));
  CAIRN_TRY(cairn_policy_yes_no(w, a, "transferable",
                                CAIRN_BRAND_FLAG_TRANSFERABLE, true, &p.flags));
  CAIRN_TRY(cairn_policy_yes_no(w, a, "partners", CAIRN_BRAND_FLAG_NO_PARTNERS,
                                false, &p.flags));
  CAIRN_TRY(cairn_policy_expiry(w, a, &p.policy));
  CAIRN_TRY(cairn_policy_limits(w, a, &p.policy));
  f.tx.type = CAIRN_TX_POLICY;
  f.tx.u.policy = p;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_policy(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_policy_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_policy_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- holds: hold, capture, release ---- */

static const cairn_opt cairn_hold_opts[] = {
    {"key", "FILE", "the member's key file"},
    {"brand", "NAME|ID", "the brand (cashier) the points are held for"},
    {"amount", "N", "how many points to set aside"},
    {"order", "REF", "the order reference (at most 64 bytes)"},
    {"timeout-in", "BLOCKS", "the hold lapses this many blocks past the tip "
                             "(default 100)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_hold_spec = {
    "hold", "--key FILE --brand B --amount N [--order REF] "
            "[--timeout-in BLOCKS]",
    "Set points aside for an order (two-phase redemption); prints the hold "
    "id. The brand captures or releases it; unclaimed, it comes back after "
    "the timeout.",
    cairn_hold_opts, sizeof cairn_hold_opts / sizeof cairn_hold_opts[0], 0,
    0};

static cairn_err cairn_hold_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_hold_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand, *amount, *in = cairn_wallet_opt(spec, a, "timeout-in");
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_hold h;
  memset(&h, 0, sizeof h);
  uint64_t timeout_in = CAIRN_WALLET_TX_EXPIRES_IN_DEFAULT;
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &h.amount));
  if (in != NULL) CAIRN_TRY(cairn_wallet_u64(w, "--timeout-in", in, 0,
                                             &timeout_in));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, h.ref, &h.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &h.brand));
  if (timeout_in > UINT64_MAX - f.tip_height - 1) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--timeout-in is too large");
  }
  h.timeout_height = f.tip_height + 1 + timeout_in;
  f.tx.type = CAIRN_TX_HOLD;
  f.tx.u.hold = h;
  f.id_name = "hold";
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_hold(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_hold_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_hold_run(w, &a);
  return cairn_wallet_exit(w, err);
}

static const cairn_opt cairn_capture_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"hold", "ID", "the hold id (64 hex characters)"},
    {"amount", "N", "how many of the held points to take (the rest go "
                    "back to the member)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_capture_spec = {
    "capture", "--key ISSUER_KEY --hold ID --amount N",
    "Complete a held redemption: burn N of the held points, return the rest.",
    cairn_capture_opts,
    sizeof cairn_capture_opts / sizeof cairn_capture_opts[0], 0, 0};

static const cairn_opt cairn_release_opts[] = {
    {"key", "FILE", "the brand issuer's key file (any time), or the "
                    "member's (from the timeout height on)"},
    {"hold", "ID", "the hold id (64 hex characters)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_release_spec = {
    "release", "--key FILE --hold ID",
    "Cancel a hold: all of its points go back to the member.",
    cairn_release_opts,
    sizeof cairn_release_opts / sizeof cairn_release_opts[0], 0, 0};

/* capture (with --amount) and release share their shape. */
static cairn_err cairn_hold_end_run(cairn_wallet *w,
                                    const cairn_cmd_spec *spec,
                                    const cairn_args *a, uint8_t type) {
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *hold, *amount = NULL;
  uint8_t id[CAIRN_HASH_BYTES];
  uint64_t n = 0;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "hold", &hold));
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--hold", hold, id));
  if (type == CAIRN_TX_CAPTURE) {
    CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
    CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &n));
  }
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = type;
  if (type == CAIRN_TX_CAPTURE) {
    memcpy(f.tx.u.capture.hold, id, sizeof id);
    f.tx.u.capture.amount = n;
  } else {
    memcpy(f.tx.u.release.hold, id, sizeof id);
  }
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_capture(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_capture_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help)
    err = cairn_hold_end_run(w, &cairn_capture_spec, &a, CAIRN_TX_CAPTURE);
  return cairn_wallet_exit(w, err);
}

int cairn_cmd_release(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_release_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help)
    err = cairn_hold_end_run(w, &cairn_release_spec, &a, CAIRN_TX_RELEASE);
  return cairn_wallet_exit(w, err);
}

/* ---- reverse ---- */

static const cairn_opt cairn_reverse_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"issue", "TXID", "the ISSUE transaction that credited the points"},
    {"amount", "N", "how many of its points to claw back"},
    {"order", "REF", "the return's reference (at most 64 bytes)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_reverse_spec = {
    "reverse", "--key ISSUER_KEY --issue TXID --amount N [--order REF]",
    "Claw back points of a returned purchase. Never more than the ISSUE "
    "credited; points the member already spent are not taken (only what "
    "is left in the balance).",
    cairn_reverse_opts,
    sizeof cairn_reverse_opts / sizeof cairn_reverse_opts[0], 0, 0};

static cairn_err cairn_reverse_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_reverse_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *issue, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "issue", &issue));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_reverse r;
  memset(&r, 0, sizeof r);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--issue", issue, r.issue));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &r.amount));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, r.ref, &r.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_REVERSE;
  f.tx.u.reverse = r;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_reverse(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_reverse_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_reverse_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- exchange agreements and settlement ---- */

static const cairn_opt cairn_agree_opts[] = {
    {"key", "FILE", "the issuer key of either brand"},
    {"from", "NAME|ID", "the brand whose points are redeemed (A)"},
    {"to", "NAME|ID", "the brand that accepts them (B)"},
    {"rate", "NUM:DEN", "AMOUNT A points are worth floor(AMOUNT*NUM/DEN) B "
                        "points; 100 A = 80 B is 80:100"},
    {"valid-from", "H", "first height at which it applies (default 0)"},
    {"valid-until", "H", "last height at which it applies (default: open)"},
    {"cap", "N", "most A points redeemed under it (default: no cap)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_agree_spec = {
    "agree", "--key ISSUER_KEY --from A --to B --rate NUM:DEN "
             "[--valid-from H] [--valid-until H] [--cap N]",
    "Sign your brand's side of an exchange agreement; it is active once "
    "both brands signed identical terms. Prints the agreement id.",
    cairn_agree_opts, sizeof cairn_agree_opts / sizeof cairn_agree_opts[0], 0,
    0};

/* "NUM:DEN", both >= 1. */
static cairn_err cairn_agree_rate(cairn_wallet *w, const char *s,
                                  cairn_agreement_terms *t) {
  char num[24], den[24];
  const char *colon = strchr(s, ':');
  size_t n = colon != NULL ? (size_t)(colon - s) : 0;
  if (colon == NULL || n == 0 || n >= sizeof num ||
      strlen(colon + 1) >= sizeof den) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--rate takes NUM:DEN, e.g. 80:100");
  }
  memcpy(num, s, n);
  num[n] = '\0';
  snprintf(den, sizeof den, "%s", colon + 1);
  CAIRN_TRY(cairn_wallet_u64(w, "--rate numerator", num, 1, &t->rate_num));
  return cairn_wallet_u64(w, "--rate denominator", den, 1, &t->rate_den);
}

static cairn_err cairn_agree_terms(cairn_wallet *w, const cairn_args *a,
                                   cairn_agreement_terms *t) {
  const cairn_cmd_spec *spec = &cairn_agree_spec;
  const char *rate, *v;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "rate", &rate));
  CAIRN_TRY(cairn_agree_rate(w, rate, t));
  if ((v = cairn_wallet_opt(spec, a, "valid-from")) != NULL)
    CAIRN_TRY(cairn_wallet_u64(w, "--valid-from", v, 0,
                               &t->valid_from_height));
  if ((v = cairn_wallet_opt(spec, a, "valid-until")) != NULL)
    CAIRN_TRY(cairn_wallet_u64(w, "--valid-until", v, 1,
                               &t->valid_until_height));
  if ((v = cairn_wallet_opt(spec, a, "cap")) != NULL)
    CAIRN_TRY(cairn_wallet_u64(w, "--cap", v, 1, &t->cap));
  if (t->valid_until_height != 0 &&
      t->valid_until_height < t->valid_from_height) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--valid-until is before --valid-from");
  }
  return CAIRN_OK;
}

static cairn_err cairn_agree_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_agree_spec;
  cairn_txflow f;
  cairn_agreement_terms t;
  memset(&t, 0, sizeof t);
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *from, *to;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "from", &from));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  CAIRN_TRY(cairn_agree_terms(w, a, &t));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, from, &t.from_brand));
  CAIRN_TRY(cairn_txflow_brand(w, to, &t.to_brand));
  if (t.from_brand == t.to_brand) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--from and --to must be different brands");
  }
  uint8_t id[CAIRN_HASH_BYTES];
  cairn_agreement_id(id, &t);
  cairn_hex_encode(f.id_hex, sizeof f.id_hex, id, sizeof id);
  f.id_name = "agreement";
  f.tx.type = CAIRN_TX_AGREE;
  f.tx.u.agree.terms = t;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_agree(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_agree_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_agree_run(w, &a);
  return cairn_wallet_exit(w, err);
}

static const cairn_opt cairn_revoke_opts[] = {
    {"key", "FILE", "the issuer key of either brand of the agreement"},
    {"agreement", "ID", "the agreement id (64 hex characters)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_revoke_spec = {
    "revoke", "--key ISSUER_KEY --agreement ID",
    "End an exchange agreement for good (either brand may).",
    cairn_revoke_opts, sizeof cairn_revoke_opts / sizeof cairn_revoke_opts[0],
    0, 0};

static cairn_err cairn_revoke_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_revoke_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *id;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "agreement", &id));
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--agreement", id,
                                  f.tx.u.revoke.agreement));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_REVOKE;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_revoke(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_revoke_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_revoke_run(w, &a);
  return cairn_wallet_exit(w, err);
}

static const cairn_opt cairn_settle_opts[] = {
    {"key", "FILE", "the creditor brand's issuer key"},
    {"debtor", "NAME|ID", "the brand that owes (whose points were redeemed)"},
    {"creditor", "NAME|ID", "the brand that is owed (yours)"},
    {"amount", "N", "how much of the debt (in creditor points) was paid"},
    {"order", "REF", "the payment's reference (at most 64 bytes)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_settle_spec = {
    "settle", "--key CREDITOR_KEY --debtor A --creditor B --amount N "
              "[--order REF]",
    "Record that the debtor brand paid (part of) what it owes yours.",
    cairn_settle_opts, sizeof cairn_settle_opts / sizeof cairn_settle_opts[0],
    0, 0};

static cairn_err cairn_settle_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_settle_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *debtor, *creditor, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "debtor", &debtor));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "creditor", &creditor));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_settle st;
  memset(&st, 0, sizeof st);
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &st.amount));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, st.ref, &st.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, debtor, &st.debtor_brand));
  CAIRN_TRY(cairn_txflow_brand(w, creditor, &st.creditor_brand));
  if (st.debtor_brand == st.creditor_brand) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--debtor and --creditor must differ");
  }
  f.tx.type = CAIRN_TX_SETTLE;
  f.tx.u.settle = st;
  return cairn_txflow_finish(w, &f);
}

int cairn_cmd_settle(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_settle_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_settle_run(w, &a);
  return cairn_wallet_exit(w, err);
}
