/*
 * txflow.c - the one path from a command's arguments to a signed,
 * submitted and (unless --no-wait) committed transaction, shared by every
 * command that writes to the chain: the points and coupon commands of
 * cmd_tx.c and the staking commands of cmd_stake.c.
 *
 * The order is chosen so that the user learns about a mistake as early and
 * as cheaply as possible:
 *   1. parse and check every argument locally (amounts, addresses, ids,
 *      lengths): usage errors never touch the network or the passphrase
 *      (cairn_txflow_options and the command's own checks);
 *   2. read the sender's address from the key file (no passphrase yet);
 *   3. ask the node for the chain id and tip height (GET /v1/status) and
 *      resolve brand names to ids (GET /v1/brands) - cairn_txflow_connect
 *      and cairn_txflow_brand;
 *   4. the command fills in its payload; then the sequence (GET
 *      /v1/accounts/ADDR: next_sequence counts pending transactions, so
 *      several can be sent in a row) and expiry (tip height + --expires-in);
 *   5. only now ask for the passphrase, decrypt the key, sign, and wipe the
 *      key; encode, POST /v1/txs;
 *   6. unless --no-wait, poll GET /v1/txs/ID every 100 ms until the
 *      transaction is committed or rejected, or --wait-timeout passes.
 * Steps 4 to 6 are cairn_txflow_finish. The transaction id is computed
 * locally and must match the node's answer, so a confused or lying node
 * cannot make the wallet report the wrong id.
 *
 * The node checks every rule at admission (its mempool runs the state
 * machine), so a refused transaction comes back at step 5 with the node's
 * sentence and stable code and exit 1; a transaction that is rejected
 * after admission is reported the same way at step 6.
 *
 * Keeping one copy of this path matters beyond tidiness: every command
 * signs the same way, wipes the key the same way and reports the same
 * outcomes with the same exit codes, which scripts depend on.
 */
#include "cairn/wallet.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/json.h"

static uint64_t cairn_txflow_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- step 1 ---- */

cairn_err cairn_txflow_options(cairn_wallet *w, const cairn_cmd_spec *spec,
                               const cairn_args *a,
                               const char *tx_expiry_flag, cairn_txflow *f) {
  assert(tx_expiry_flag != NULL && tx_expiry_flag[0] != '\0');
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

cairn_err cairn_txflow_need(cairn_wallet *w, const cairn_cmd_spec *spec,
                            const cairn_args *a, const char *name,
                            const char **out) {
  *out = cairn_wallet_opt(spec, a, name);
  if (*out != NULL) return CAIRN_OK;
  char hint[96];
  snprintf(hint, sizeof hint, "see: cairn %s --help", spec->name);
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, hint,
                           "%s needs --%s", spec->name, name);
}

cairn_err cairn_txflow_text(cairn_wallet *w, const char *flag, const char *s,
                            size_t max, uint8_t *out, uint8_t *out_len) {
  assert(max <= UINT8_MAX);
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

/* ---- steps 2 and 3 ---- */

cairn_err cairn_txflow_connect(cairn_wallet *w, cairn_txflow *f) {
  assert(f->key_path != NULL);
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

cairn_err cairn_txflow_brand(cairn_wallet *w, const char *arg, uint32_t *id) {
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

/* ---- steps 4 to 6 ---- */

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

/* Step 6: wait for the commit. The loop is bounded by --wait-timeout
 * (at most CAIRN_WALLET_WAIT_TIMEOUT_S_MAX), one poll per
 * CAIRN_WALLET_POLL_MS. */
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

/* Print the outcome: human text, or the node's JSON plus the id of what
 * the transaction created (f->id_name). */
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

cairn_err cairn_txflow_finish(cairn_wallet *w, cairn_txflow *f,
                              json_t **result) {
  if (result != NULL) *result = NULL;
  /* options and connect ran, and the command chose a payload. */
  assert(f->key_path != NULL && f->chain_id[0] != '\0');
  assert(f->tx.type >= CAIRN_TX_TYPE_MIN && f->tx.type <= CAIRN_TX_TYPE_MAX);
  CAIRN_TRY(cairn_txflow_header(w, f));
  CAIRN_TRY(cairn_txflow_sign(w, f));
  char txid_hex[65];
  json_t *body = NULL;
  CAIRN_TRY(cairn_txflow_post(w, f, txid_hex, &body));
  if (!f->no_wait) {
    json_decref(body);
    body = NULL;
    CAIRN_TRY(cairn_txflow_wait(w, f, txid_hex, &body));
  }
  if (result != NULL) {
    *result = body;
    return CAIRN_OK;
  }
  cairn_txflow_print(w, f, txid_hex, body, !f->no_wait);
  json_decref(body);
  return CAIRN_OK;
}
