/*
 * cmd_stake.c - the staking commands: stake balance and stake transfer;
 * bond and unbond; admit and approve (admitting a new validator by
 * governance); evidence submit and evidence list (slashing); and the
 * read-only views validators and admission.
 *
 * The transaction commands follow the path of cmd_tx.c, in the same order
 * and for the same reason (a mistake is reported as early and as cheaply
 * as possible, and nothing reaches the node before every argument checked
 * out):
 *   1. parse and check every argument locally: amounts (u64, >= 1),
 *      validator keys (64 hex digits; for admit a valid Ed25519 point),
 *      names, ids, evidence bytes (decoded here, so malformed evidence never
 *      costs a passphrase prompt);
 *   2. read the sender's address from the key file (no passphrase yet);
 *   3. ask the node for the chain id and tip (GET /v1/status);
 *   4. sequence (GET /v1/accounts/ADDR: next_sequence counts pending
 *      transactions) and expiry (tip + --expires-in);
 *   5. only now unlock the key, sign, wipe the key; POST /v1/txs;
 *   6. unless --no-wait, poll GET /v1/txs/ID until committed or rejected.
 * The node checks every staking rule at admission (its mempool runs the
 * state machine), so a refused bond, an unknown validator or a second
 * approval comes back at step 5 with its stable code, e.g. "transaction
 * rejected: unbond amount exceeds the validator's bonded stake
 * (unbond_exceeds)", and exit 1.
 *
 * The flow is a sibling of cmd_tx.c's rather than a call into it because
 * that one is private to its file; the two are meant to stay in step.
 *
 * Stake is one chain-wide unit, separate from every brand's points, and
 * every amount of it is a u64 written in decimal, as the API writes it.
 */
#include "cairn/wallet.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/evidence.h"

/* Options shared by every staking transaction command. */
#define CAIRN_STAKE_TX_OPTS                                                    \
  {"expires-in", "BLOCKS", "the transaction expires this many blocks past "  \
                           "the tip (default 100)"},                          \
  {"no-wait", NULL, "return once the node has accepted the transaction "     \
                    "into its mempool"},                                      \
  {"wait-timeout", "SECONDS", "how long to wait for the commit (default 30)"}, \
  {"passphrase-file", "FILE", "read the key's passphrase from the first line " \
                              "of FILE (else $CAIRN_PASSPHRASE, else asked)"}, \
  {"ref", "REF", "a client reference (at most 32 bytes): a second "           \
                 "transaction from this key with the same REF is refused"}

#define CAIRN_STAKE_N(a) (sizeof(a) / sizeof((a)[0]))

/* Default admission deadline: this many blocks past the tip. */
#define CAIRN_STAKE_DEADLINE_IN_DEFAULT 100u

/* Everything a staking transaction command gathers on its way. */
typedef struct cairn_stakeflow {
  const cairn_cmd_spec *spec;
  const char *key_path;
  const char *pass_file;
  uint64_t expires_in;
  bool no_wait;
  uint64_t wait_timeout_s;
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1];
  uint64_t tip_height;
  const char *id_name; /* "proposal" when the txid also names a proposal */
  cairn_tx tx;
} cairn_stakeflow;

/* ---- step 1: options ---- */

/* A required option's value, or a usage error. */
static cairn_err cairn_stake_need(cairn_wallet *w, const cairn_cmd_spec *spec,
                                  const cairn_args *a, const char *name,
                                  const char **out) {
  *out = cairn_wallet_opt(spec, a, name);
  if (*out != NULL) return CAIRN_OK;
  char hint[96];
  snprintf(hint, sizeof hint, "see: cairn %s --help", spec->name);
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, hint,
                           "%s needs --%s", spec->name, name);
}

static cairn_err cairn_stake_ref(cairn_wallet *w, const char *s, cairn_tx *tx) {
  tx->client_ref_len = 0;
  if (s == NULL) return CAIRN_OK;
  size_t n = strlen(s);
  if (n > CAIRN_TX_CLIENT_REF_BYTES_MAX) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--ref is %zu bytes long; at most %d are allowed",
                             n, CAIRN_TX_CLIENT_REF_BYTES_MAX);
  }
  memcpy(tx->client_ref, s, n);
  tx->client_ref_len = (uint8_t)n;
  return CAIRN_OK;
}

/* The key and the transaction options. */
static cairn_err cairn_stakeflow_options(cairn_wallet *w,
                                         const cairn_cmd_spec *spec,
                                         const cairn_args *a,
                                         cairn_stakeflow *f) {
  memset(f, 0, sizeof *f);
  f->spec = spec;
  CAIRN_TRY(cairn_stake_need(w, spec, a, "key", &f->key_path));
  f->pass_file = cairn_wallet_opt(spec, a, "passphrase-file");
  f->no_wait = cairn_wallet_opt(spec, a, "no-wait") != NULL;
  CAIRN_TRY(cairn_stake_ref(w, cairn_wallet_opt(spec, a, "ref"), &f->tx));
  f->expires_in = CAIRN_WALLET_TX_EXPIRES_IN_DEFAULT;
  f->wait_timeout_s = CAIRN_WALLET_WAIT_TIMEOUT_S_DEFAULT;
  const char *v = cairn_wallet_opt(spec, a, "expires-in");
  if (v != NULL) CAIRN_TRY(cairn_wallet_u64(w, "--expires-in", v, 1,
                                            &f->expires_in));
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

/* A validator key: 64 hex digits. */
static cairn_err cairn_stake_validator_arg(cairn_wallet *w, const char *s,
                                           uint8_t out[32]) {
  if (strlen(s) == 64 && cairn_hex_decode_exact(out, 32, s) == CAIRN_OK) {
    return CAIRN_OK;
  }
  memset(out, 0, 32);
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                           "the validators' keys are listed by: cairn "
                           "validators",
                           "--validator must be a validator's Ed25519 public "
                           "key, 64 hexadecimal characters (got '%s')", s);
}

/* ---- steps 2 to 6 ---- */

static uint64_t cairn_stake_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Steps 2 and 3: the sender, the chain id and the tip. */
static cairn_err cairn_stakeflow_connect(cairn_wallet *w, cairn_stakeflow *f) {
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

/* Step 4: sequence and expiry. */
static cairn_err cairn_stakeflow_header(cairn_wallet *w, cairn_stakeflow *f) {
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
static cairn_err cairn_stakeflow_sign(cairn_wallet *w, cairn_stakeflow *f) {
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
static cairn_err cairn_stakeflow_post(cairn_wallet *w,
                                      const cairn_stakeflow *f,
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

/* One poll of GET /v1/txs/ID: OK with *done when committed, TIMEOUT to
 * keep waiting (*transport says whether the node answered), else reported. */
static cairn_err cairn_stakeflow_poll(cairn_wallet *w,
                                      const cairn_stakeflow *f,
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
static cairn_err cairn_stakeflow_wait(cairn_wallet *w,
                                      const cairn_stakeflow *f,
                                      const char *txid_hex, json_t **done) {
  *done = NULL;
  char path[96];
  snprintf(path, sizeof path, "/v1/txs/%s", txid_hex);
  uint64_t deadline = cairn_stake_now_ms() + f->wait_timeout_s * 1000u;
  cairn_err transport = CAIRN_OK;
  for (;;) {
    cairn_err err = cairn_stakeflow_poll(w, f, path, done, &transport);
    if (err != CAIRN_ERR_TIMEOUT) return err;
    if (cairn_stake_now_ms() >= deadline) break;
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

/* Print the outcome: human text, or the node's JSON (plus the proposal
 * id for admit). */
static void cairn_stakeflow_print(const cairn_wallet *w,
                                  const cairn_stakeflow *f,
                                  const char *txid_hex, json_t *body,
                                  bool committed) {
  if (w->json) {
    if (f->id_name != NULL) {
      json_object_set_new(body, f->id_name, json_string(txid_hex));
    }
    cairn_wallet_print_json(body);
    return;
  }
  if (f->id_name != NULL) printf("%s %s\n", f->id_name, txid_hex);
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

/* Steps 4 to 6 once the payload is filled in. Out: *result, the node's
 * answer (committed, or accepted with --no-wait), caller decrefs; NULL
 * when result is NULL, in which case it is printed. */
static cairn_err cairn_stakeflow_run(cairn_wallet *w, cairn_stakeflow *f,
                                     json_t **result) {
  if (result != NULL) *result = NULL;
  /* Only the staking types are built here; cmd_tx.c builds the others. */
  assert(f->tx.type >= CAIRN_TX_BOND && f->tx.type <= CAIRN_TX_STAKE_TRANSFER);
  assert(f->key_path != NULL && f->chain_id[0] != '\0');
  CAIRN_TRY(cairn_stakeflow_header(w, f));
  CAIRN_TRY(cairn_stakeflow_sign(w, f));
  char txid_hex[65];
  json_t *body = NULL;
  CAIRN_TRY(cairn_stakeflow_post(w, f, txid_hex, &body));
  if (!f->no_wait) {
    json_decref(body);
    body = NULL;
    CAIRN_TRY(cairn_stakeflow_wait(w, f, txid_hex, &body));
  }
  if (result != NULL) {
    *result = body;
    return CAIRN_OK;
  }
  cairn_stakeflow_print(w, f, txid_hex, body, !f->no_wait);
  json_decref(body);
  return CAIRN_OK;
}

static cairn_err cairn_stakeflow_finish(cairn_wallet *w, cairn_stakeflow *f) {
  return cairn_stakeflow_run(w, f, NULL);
}

/* ---- stake transfer ---- */

static const cairn_opt cairn_stake_transfer_opts[] = {
    {"key", "FILE", "the sender's key file"},
    {"to", "ADDRESS", "the account that receives the stake"},
    {"amount", "N", "how much free stake to move"},
    CAIRN_STAKE_TX_OPTS,
};
static const cairn_cmd_spec cairn_stake_transfer_spec = {
    "stake transfer", "--key FILE --to ADDRESS --amount N",
    "Move free (unbonded) stake to another account.",
    cairn_stake_transfer_opts, CAIRN_STAKE_N(cairn_stake_transfer_opts), 0,
    0};

static cairn_err cairn_stake_transfer_run(cairn_wallet *w,
                                          const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_stake_transfer_spec;
  cairn_stakeflow f;
  CAIRN_TRY(cairn_stakeflow_options(w, spec, a, &f));
  const char *to, *amount;
  CAIRN_TRY(cairn_stake_need(w, spec, a, "to", &to));
  CAIRN_TRY(cairn_stake_need(w, spec, a, "amount", &amount));
  cairn_tx_stake_transfer st;
  memset(&st, 0, sizeof st);
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, st.to));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &st.amount));
  CAIRN_TRY(cairn_stakeflow_connect(w, &f));
  f.tx.type = CAIRN_TX_STAKE_TRANSFER;
  f.tx.u.stake_transfer = st;
  return cairn_stakeflow_finish(w, &f);
}

int cairn_cmd_stake_transfer(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_stake_transfer_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_stake_transfer_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- bond and unbond ---- */

static const cairn_opt cairn_bond_opts[] = {
    {"key", "FILE", "the validator operator's key file"},
    {"validator", "HEX", "the validator's Ed25519 key (64 hex characters)"},
    {"amount", "N", "how much of your free stake to bond"},
    CAIRN_STAKE_TX_OPTS,
};
static const cairn_cmd_spec cairn_bond_spec = {
    "bond", "--key OPERATOR_KEY --validator HEX --amount N",
    "Bond free stake to a validator you operate; its power grows at the "
    "announced height (the inclusion height plus the chain's delay).",
    cairn_bond_opts, CAIRN_STAKE_N(cairn_bond_opts), 0, 0};

static const cairn_opt cairn_unbond_opts[] = {
    {"key", "FILE", "the validator operator's key file"},
    {"validator", "HEX", "the validator's Ed25519 key (64 hex characters)"},
    {"amount", "N", "how much bonded stake to take out"},
    CAIRN_STAKE_TX_OPTS,
};
static const cairn_cmd_spec cairn_unbond_spec = {
    "unbond", "--key OPERATOR_KEY --validator HEX --amount N",
    "Take stake out of a validator's bond; its power shrinks at the "
    "announced height and the stake is free again after the unbonding "
    "period.",
    cairn_unbond_opts, CAIRN_STAKE_N(cairn_unbond_opts), 0, 0};

static cairn_err cairn_bond_run(cairn_wallet *w, const cairn_cmd_spec *spec,
                                const cairn_args *a, uint8_t type) {
  cairn_stakeflow f;
  CAIRN_TRY(cairn_stakeflow_options(w, spec, a, &f));
  const char *validator, *amount;
  CAIRN_TRY(cairn_stake_need(w, spec, a, "validator", &validator));
  CAIRN_TRY(cairn_stake_need(w, spec, a, "amount", &amount));
  cairn_tx_bond b;
  memset(&b, 0, sizeof b);
  CAIRN_TRY(cairn_stake_validator_arg(w, validator, b.validator));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &b.amount));
  CAIRN_TRY(cairn_stakeflow_connect(w, &f));
  f.tx.type = type;
  f.tx.u.bond = b;
  return cairn_stakeflow_finish(w, &f);
}

int cairn_cmd_bond(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_bond_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help)
    err = cairn_bond_run(w, &cairn_bond_spec, &a, CAIRN_TX_BOND);
  return cairn_wallet_exit(w, err);
}

int cairn_cmd_unbond(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_unbond_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help)
    err = cairn_bond_run(w, &cairn_unbond_spec, &a, CAIRN_TX_UNBOND);
  return cairn_wallet_exit(w, err);
}

/* ---- admit and approve ---- */

static const cairn_opt cairn_admit_opts[] = {
    {"key", "FILE", "the new validator's operator key file (its free stake "
                    "becomes the bond)"},
    {"validator", "HEX", "the new validator's Ed25519 key (64 hex "
                         "characters, from its cairnd home)"},
    {"name", "NAME", "the validator's name: 1 to 32 of a-z, 0-9 and -"},
    {"amount", "N", "the bond, locked from your free stake until decided"},
    {"deadline", "HEIGHT", "last height at which approvals count (default: "
                           "the tip + 100)"},
    CAIRN_STAKE_TX_OPTS,
};
static const cairn_cmd_spec cairn_admit_spec = {
    "admit", "--key OPERATOR_KEY --validator HEX --name NAME --amount N "
             "[--deadline HEIGHT]",
    "Propose a new validator; prints the proposal id. It is admitted when "
    "validators holding more than 2/3 of the power approve it by the "
    "deadline, else the stake comes back.",
    cairn_admit_opts, CAIRN_STAKE_N(cairn_admit_opts), 0, 0};

/* A validator name: 1..CAIRN_NAME_BYTES_MAX of [a-z0-9-]. */
static cairn_err cairn_admit_name(cairn_wallet *w, const char *s,
                                  cairn_tx_admit *ad) {
  size_t n = strlen(s);
  if (n == 0 || n > CAIRN_NAME_BYTES_MAX ||
      strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--name must be 1 to %d characters from a-z, "
                             "0-9 and - (got '%s')", CAIRN_NAME_BYTES_MAX, s);
  }
  memcpy(ad->name, s, n + 1);
  ad->name_len = (uint8_t)n;
  return CAIRN_OK;
}

/* Everything of admit that needs no node. */
static cairn_err cairn_admit_args(cairn_wallet *w, const cairn_args *a,
                                  cairn_tx_admit *ad) {
  const cairn_cmd_spec *spec = &cairn_admit_spec;
  const char *validator, *name, *amount;
  const char *deadline = cairn_wallet_opt(spec, a, "deadline");
  CAIRN_TRY(cairn_stake_need(w, spec, a, "validator", &validator));
  CAIRN_TRY(cairn_stake_need(w, spec, a, "name", &name));
  CAIRN_TRY(cairn_stake_need(w, spec, a, "amount", &amount));
  CAIRN_TRY(cairn_stake_validator_arg(w, validator, ad->validator));
  /* A key that is not a point of the curve could never sign a vote. */
  if (crypto_core_ed25519_is_valid_point(ad->validator) != 1) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_BAD_KEY, NULL,
                             "--validator %s is not a valid Ed25519 public "
                             "key", validator);
  }
  CAIRN_TRY(cairn_admit_name(w, name, ad));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &ad->amount));
  if (deadline != NULL) {
    CAIRN_TRY(cairn_wallet_u64(w, "--deadline", deadline, 1,
                               &ad->deadline_height));
  }
  return CAIRN_OK;
}

static cairn_err cairn_admit_run(cairn_wallet *w, const cairn_args *a) {
  cairn_stakeflow f;
  cairn_tx_admit ad;
  memset(&ad, 0, sizeof ad);
  CAIRN_TRY(cairn_stakeflow_options(w, &cairn_admit_spec, a, &f));
  CAIRN_TRY(cairn_admit_args(w, a, &ad));
  CAIRN_TRY(cairn_stakeflow_connect(w, &f));
  if (ad.deadline_height == 0) {
    ad.deadline_height = f.tip_height + CAIRN_STAKE_DEADLINE_IN_DEFAULT;
  } else if (ad.deadline_height <= f.tip_height) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--deadline %llu has passed: the chain is at "
                             "height %llu",
                             (unsigned long long)ad.deadline_height,
                             (unsigned long long)f.tip_height);
  }
  f.tx.type = CAIRN_TX_ADMIT;
  f.tx.u.admit = ad;
  f.id_name = "proposal";
  return cairn_stakeflow_finish(w, &f);
}

int cairn_cmd_admit(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_admit_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_admit_run(w, &a);
  return cairn_wallet_exit(w, err);
}

static const cairn_opt cairn_approve_opts[] = {
    {"key", "FILE", "the operator key of a validator in force"},
    {"proposal", "ID", "the proposal id (the ADMIT's txid, 64 hex "
                       "characters)"},
    CAIRN_STAKE_TX_OPTS,
};
static const cairn_cmd_spec cairn_approve_spec = {
    "approve", "--key OPERATOR_KEY --proposal ID",
    "Approve an admission proposal as the operator of a validator in force.",
    cairn_approve_opts, CAIRN_STAKE_N(cairn_approve_opts), 0, 0};

static cairn_err cairn_approve_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_approve_spec;
  cairn_stakeflow f;
  CAIRN_TRY(cairn_stakeflow_options(w, spec, a, &f));
  const char *id;
  CAIRN_TRY(cairn_stake_need(w, spec, a, "proposal", &id));
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--proposal", id,
                                  f.tx.u.approve.proposal));
  CAIRN_TRY(cairn_stakeflow_connect(w, &f));
  f.tx.type = CAIRN_TX_APPROVE;
  return cairn_stakeflow_finish(w, &f);
}

int cairn_cmd_approve(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_approve_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_approve_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- evidence submit ---- */

static const cairn_opt cairn_evidence_submit_opts[] = {
    {"key", "FILE", "any account's key file (it signs and pays nothing)"},
    {"evidence", "HEX", "the duplicate-vote evidence bytes in hex"},
    {"from-node", NULL, "submit every evidence the node holds (GET "
                        "/v1/evidence) instead"},
    CAIRN_STAKE_TX_OPTS,
};
static const cairn_cmd_spec cairn_evidence_submit_spec = {
    "evidence submit", "--key FILE (--evidence HEX | --from-node)",
    "Submit proof that a validator signed two conflicting votes; once "
    "included, the offender loses part of its bond and is jailed.",
    cairn_evidence_submit_opts, CAIRN_STAKE_N(cairn_evidence_submit_opts), 0,
    0};

/* Hex into canonical evidence bytes, checked by the decoder. what names
 * where they came from in messages. */
static cairn_err cairn_evidence_bytes(cairn_wallet *w, const char *what,
                                      int exit_code, const char *hex,
                                      uint8_t out[CAIRN_EVIDENCE_BYTES]) {
  size_t len = 0;
  cairn_err err = cairn_hex_decode(out, CAIRN_EVIDENCE_BYTES, &len, hex);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, exit_code, err, NULL,
                             "%s is not %u bytes of hexadecimal: %s (%s)",
                             what, (unsigned)CAIRN_EVIDENCE_BYTES,
                             cairn_strerror(err), cairn_errname(err));
  }
  cairn_evidence e;
  err = cairn_evidence_decode(&e, out, len);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, exit_code, err, NULL,
                             "%s is not duplicate-vote evidence: %s (%s)",
                             what, cairn_strerror(err), cairn_errname(err));
  }
  return CAIRN_OK;
}

/* Submit one evidence as an EVIDENCE transaction. *result as for
 * cairn_stakeflow_run. */
static cairn_err cairn_evidence_submit_one(cairn_wallet *w,
                                           const cairn_args *a,
                                           const uint8_t *bytes,
                                           json_t **result) {
  cairn_stakeflow f;
  CAIRN_TRY(cairn_stakeflow_options(w, &cairn_evidence_submit_spec, a, &f));
  CAIRN_TRY(cairn_stakeflow_connect(w, &f));
  f.tx.type = CAIRN_TX_EVIDENCE;
  memcpy(f.tx.u.evidence.evidence, bytes, CAIRN_EVIDENCE_BYTES);
  return cairn_stakeflow_run(w, &f, result);
}

/* Whether the first n entries of list name the same offender as entry i. */
static bool cairn_evidence_seen(const json_t *list, size_t i) {
  const char *v = json_string_value(
      json_object_get(json_array_get(list, i), "validator"));
  for (size_t k = 0; v != NULL && k < i; k++) {
    const char *u = json_string_value(
        json_object_get(json_array_get(list, k), "validator"));
    if (u != NULL && strcmp(u, v) == 0) return true;
  }
  return false;
}

/* One entry of the node's list: check, submit, record. */
static cairn_err cairn_evidence_from_node_one(cairn_wallet *w,
                                              const cairn_args *a,
                                              const json_t *entry,
                                              json_t *done) {
  const char *hex = NULL, *validator = NULL;
  uint8_t bytes[CAIRN_EVIDENCE_BYTES];
  CAIRN_TRY(cairn_wallet_field_str(w, entry, "evidence", &hex));
  CAIRN_TRY(cairn_wallet_field_str(w, entry, "validator", &validator));
  CAIRN_TRY(cairn_evidence_bytes(w, "the node's evidence", CAIRN_EXIT_NODE,
                                 hex, bytes));
  json_t *result = NULL;
  CAIRN_TRY(cairn_evidence_submit_one(w, a, bytes, &result));
  const char *txid = json_string_value(json_object_get(result, "txid"));
  const char *status = json_string_value(json_object_get(result, "status"));
  if (!w->json) {
    printf("evidence against %s: txid %s %s\n", validator,
           txid != NULL ? txid : "?", status != NULL ? status : "?");
  }
  json_object_set_new(result, "validator", json_string(validator));
  json_array_append_new(done, result);
  return CAIRN_OK;
}

/* --from-node: every evidence the node lists, one per offender (one is
 * enough to jail it; a second would be refused). Stops at the first
 * failure, which is reported. */
static cairn_err cairn_evidence_from_node(cairn_wallet *w,
                                          const cairn_args *a) {
  json_t *body = NULL, *list = NULL;
  CAIRN_TRY(cairn_wallet_get(w, "/v1/evidence", "evidence list", &body));
  json_t *done = json_array();
  cairn_err err = cairn_wallet_field_array(w, body, "evidence", &list);
  if (err == CAIRN_OK && done == NULL)
    err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                            "out of memory");
  if (err == CAIRN_OK && json_array_size(list) == 0 && !w->json)
    printf("the node holds no evidence: nothing to submit\n");
  for (size_t i = 0; err == CAIRN_OK && i < json_array_size(list); i++) {
    if (cairn_evidence_seen(list, i)) continue;
    err = cairn_evidence_from_node_one(w, a, json_array_get(list, i), done);
  }
  if (err == CAIRN_OK && w->json) {
    json_t *out = json_pack("{s:O}", "submitted", done);
    if (out != NULL) cairn_wallet_print_json(out);
    json_decref(out);
  }
  json_decref(done);
  json_decref(body);
  return err;
}

static cairn_err cairn_evidence_submit_run(cairn_wallet *w,
                                           const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_evidence_submit_spec;
  const char *hex = cairn_wallet_opt(spec, a, "evidence");
  bool from_node = cairn_wallet_opt(spec, a, "from-node") != NULL;
  if (cairn_wallet_opt(spec, a, "key") == NULL || (hex == NULL) == !from_node) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "see: cairn evidence submit --help",
                             "evidence submit needs --key FILE and exactly "
                             "one of --evidence HEX or --from-node");
  }
  cairn_stakeflow f; /* the options are checked before anything else */
  CAIRN_TRY(cairn_stakeflow_options(w, spec, a, &f));
  if (from_node) return cairn_evidence_from_node(w, a);
  uint8_t bytes[CAIRN_EVIDENCE_BYTES];
  CAIRN_TRY(cairn_evidence_bytes(w, "--evidence", CAIRN_EXIT_USAGE, hex,
                                 bytes));
  return cairn_evidence_submit_one(w, a, bytes, NULL);
}

int cairn_cmd_evidence_submit(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_evidence_submit_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_evidence_submit_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- read-only: stake balance, evidence list, validators, admission ---- */

/* GET path, then print it as JSON (with --json) or through human(). */
typedef cairn_err (*cairn_stake_human_fn)(cairn_wallet *w, const json_t *body);

static cairn_err cairn_stake_show(cairn_wallet *w, const char *path,
                                  const char *what,
                                  cairn_stake_human_fn human) {
  json_t *body = NULL;
  CAIRN_TRY(cairn_wallet_get(w, path, what, &body));
  cairn_err err = CAIRN_OK;
  if (w->json) cairn_wallet_print_json(body);
  else err = human(w, body);
  json_decref(body);
  return err;
}

/* "in set", "jailed" or "not in set" for a validator record. */
static const char *cairn_stake_record_state(const json_t *rec) {
  if (json_is_true(json_object_get(rec, "jailed"))) return "jailed";
  return json_is_true(json_object_get(rec, "in_set")) ? "in set"
                                                      : "not in set";
}

/* One validator record row. */
static cairn_err cairn_stake_record_row(cairn_wallet *w, const json_t *rec) {
  const char *pk = NULL, *name = NULL;
  uint64_t bonded = 0, power = 0;
  CAIRN_TRY(cairn_wallet_field_str(w, rec, "pubkey", &pk));
  CAIRN_TRY(cairn_wallet_field_str(w, rec, "name", &name));
  CAIRN_TRY(cairn_wallet_field_u64(w, rec, "bonded", &bonded));
  CAIRN_TRY(cairn_wallet_field_u64(w, rec, "power", &power));
  const char *op = json_string_value(json_object_get(rec, "operator"));
  printf("  %s  %-14s %-12llu %-12llu %-10s %s\n", pk, name,
         (unsigned long long)bonded, (unsigned long long)power,
         cairn_stake_record_state(rec), op != NULL ? op : "-");
  return CAIRN_OK;
}

static void cairn_stake_record_head(void) {
  printf("  %-64s  %-14s %-12s %-12s %-10s %s\n", "VALIDATOR", "NAME",
         "BONDED", "POWER", "STATE", "OPERATOR");
}

static cairn_err cairn_stake_balance_human(cairn_wallet *w, const json_t *b) {
  const char *addr = NULL;
  uint64_t free_stake = 0, height = 0;
  json_t *operated = NULL;
  CAIRN_TRY(cairn_wallet_field_str(w, b, "address", &addr));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "free", &free_stake));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "height", &height));
  CAIRN_TRY(cairn_wallet_field_array(w, b, "operated", &operated));
  printf("address    %s\nfree stake %llu\nat height  %llu\n", addr,
         (unsigned long long)free_stake, (unsigned long long)height);
  if (json_array_size(operated) == 0) return CAIRN_OK;
  printf("operates:\n");
  cairn_stake_record_head();
  size_t i;
  const json_t *rec;
  json_array_foreach(operated, i, rec) CAIRN_TRY(cairn_stake_record_row(w, rec));
  return CAIRN_OK;
}

static const cairn_opt cairn_stake_balance_opts[] = {
    {"key", "FILE", "use the address of this key file (no passphrase "
                    "needed)"},
};
static const cairn_cmd_spec cairn_stake_balance_spec = {
    "stake balance", "[ADDRESS | --key FILE]",
    "Show an account's free stake and the validators it operates.",
    cairn_stake_balance_opts, 1, 0, 1};

int cairn_cmd_stake_balance(cairn_wallet *w, int argc, char **argv) {
  const cairn_cmd_spec *spec = &cairn_stake_balance_spec;
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, spec, argc, argv, &a);
  if (err != CAIRN_OK || a.help) return cairn_wallet_exit(w, err);
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  err = cairn_wallet_account_arg(w, a.n_pos > 0 ? a.pos[0] : NULL,
                                 cairn_wallet_opt(spec, &a, "key"), pk);
  if (err == CAIRN_OK) {
    char addr[CAIRN_ADDRESS_BUF], path[160];
    cairn_address_encode(addr, sizeof addr, pk);
    snprintf(path, sizeof path, "/v1/stake/%s", addr);
    err = cairn_stake_show(w, path, "stake", cairn_stake_balance_human);
  }
  return cairn_wallet_exit(w, err);
}

static cairn_err cairn_evidence_list_human(cairn_wallet *w, const json_t *b) {
  json_t *list = NULL;
  CAIRN_TRY(cairn_wallet_field_array(w, b, "evidence", &list));
  if (json_array_size(list) == 0) {
    printf("the node holds no evidence\n");
    return CAIRN_OK;
  }
  size_t i;
  const json_t *e;
  json_array_foreach(list, i, e) {
    const char *v = NULL, *type = NULL, *hex = NULL;
    uint64_t h = 0, round = 0;
    CAIRN_TRY(cairn_wallet_field_str(w, e, "validator", &v));
    CAIRN_TRY(cairn_wallet_field_str(w, e, "type", &type));
    CAIRN_TRY(cairn_wallet_field_str(w, e, "evidence", &hex));
    CAIRN_TRY(cairn_wallet_field_u64(w, e, "height", &h));
    CAIRN_TRY(cairn_wallet_field_u64(w, e, "round", &round));
    printf("validator %s signed two %ss at height %llu round %llu\n"
           "  evidence %s\n", v, type, (unsigned long long)h,
           (unsigned long long)round, hex);
  }
  return CAIRN_OK;
}

static const cairn_cmd_spec cairn_evidence_list_spec = {
    "evidence list", "",
    "List the duplicate-vote evidence the node holds and has not seen used.",
    NULL, 0, 0, 0};

int cairn_cmd_evidence_list(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_evidence_list_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_stake_show(w, "/v1/evidence", "evidence list",
                           cairn_evidence_list_human);
  }
  return cairn_wallet_exit(w, err);
}

/* The name of validator pk among the records, or "". */
static const char *cairn_stake_name_of(const json_t *records, const char *pk) {
  size_t i;
  const json_t *rec;
  json_array_foreach(records, i, rec) {
    const char *k = json_string_value(json_object_get(rec, "pubkey"));
    const char *n = json_string_value(json_object_get(rec, "name"));
    if (k != NULL && n != NULL && strcmp(k, pk) == 0) return n;
  }
  return "";
}

static cairn_err cairn_validators_changes(cairn_wallet *w, const json_t *b,
                                          const json_t *records) {
  json_t *changes = NULL;
  CAIRN_TRY(cairn_wallet_field_array(w, b, "changes", &changes));
  printf("scheduled changes:%s\n",
         json_array_size(changes) == 0 ? " none" : "");
  size_t i;
  const json_t *c;
  json_array_foreach(changes, i, c) {
    const char *pk = NULL;
    uint64_t h = 0, power = 0;
    CAIRN_TRY(cairn_wallet_field_str(w, c, "pubkey", &pk));
    CAIRN_TRY(cairn_wallet_field_u64(w, c, "effective_height", &h));
    CAIRN_TRY(cairn_wallet_field_u64(w, c, "power", &power));
    printf("  from height %llu: %s (%s) power %llu%s\n",
           (unsigned long long)h, pk, cairn_stake_name_of(records, pk),
           (unsigned long long)power, power == 0 ? " (leaves the set)" : "");
  }
  return CAIRN_OK;
}

static cairn_err cairn_validators_set(cairn_wallet *w, const json_t *b) {
  json_t *set = NULL;
  uint64_t height = 0, epoch = 0, total = 0;
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "height", &height));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "epoch", &epoch));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "total_power", &total));
  CAIRN_TRY(cairn_wallet_field_array(w, b, "set", &set));
  printf("height %llu; epoch %llu: the set below is in force from height "
         "%llu on\n", (unsigned long long)height, (unsigned long long)epoch,
         (unsigned long long)epoch);
  printf("set in force for block %llu: %zu validator%s, total power %llu\n",
         (unsigned long long)height + 1, json_array_size(set),
         json_array_size(set) == 1 ? "" : "s", (unsigned long long)total);
  size_t i;
  const json_t *v;
  json_array_foreach(set, i, v) {
    const char *pk = NULL, *name = NULL;
    uint64_t power = 0;
    CAIRN_TRY(cairn_wallet_field_str(w, v, "pubkey", &pk));
    CAIRN_TRY(cairn_wallet_field_str(w, v, "name", &name));
    CAIRN_TRY(cairn_wallet_field_u64(w, v, "power", &power));
    printf("  %s  %-14s power %llu\n", pk, name, (unsigned long long)power);
  }
  return CAIRN_OK;
}

static cairn_err cairn_validators_human(cairn_wallet *w, const json_t *b) {
  json_t *records = NULL;
  CAIRN_TRY(cairn_validators_set(w, b));
  CAIRN_TRY(cairn_wallet_field_array(w, b, "validators", &records));
  printf("validators:\n");
  cairn_stake_record_head();
  size_t i;
  const json_t *rec;
  json_array_foreach(records, i, rec) CAIRN_TRY(cairn_stake_record_row(w, rec));
  CAIRN_TRY(cairn_validators_changes(w, b, records));
  const json_t *p = json_object_get(b, "staking");
  if (json_is_object(p)) {
    printf("rules: changes take effect %lld blocks after inclusion, "
           "unbonding takes %lld blocks, evidence is accepted for %lld "
           "blocks, slashing burns %lld%% of the bond\n",
           (long long)json_integer_value(
               json_object_get(p, "valset_delay_blocks")),
           (long long)json_integer_value(
               json_object_get(p, "unbonding_blocks")),
           (long long)json_integer_value(
               json_object_get(p, "evidence_max_age_blocks")),
           (long long)json_integer_value(json_object_get(p, "slash_percent")));
  }
  return CAIRN_OK;
}

static const cairn_cmd_spec cairn_validators_spec = {
    "validators", "",
    "Show the validator set in force and its epoch, every validator record "
    "(bonded stake, power, jailed) and the scheduled changes with the "
    "heights they take effect.",
    NULL, 0, 0, 0};

int cairn_cmd_validators(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_validators_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_stake_show(w, "/v1/validators", "validator set",
                           cairn_validators_human);
  }
  return cairn_wallet_exit(w, err);
}

static cairn_err cairn_admission_human(cairn_wallet *w, const json_t *b) {
  const char *id = NULL, *v = NULL, *name = NULL, *status = NULL;
  uint64_t amount = 0, deadline = 0, decided = 0, n = 0;
  uint64_t approved = 0, needed = 0, total = 0;
  CAIRN_TRY(cairn_wallet_field_str(w, b, "id", &id));
  CAIRN_TRY(cairn_wallet_field_str(w, b, "validator", &v));
  CAIRN_TRY(cairn_wallet_field_str(w, b, "name", &name));
  CAIRN_TRY(cairn_wallet_field_str(w, b, "status", &status));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "amount", &amount));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "deadline_height", &deadline));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "decided_height", &decided));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "approvals", &n));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "approved_power", &approved));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "power_needed", &needed));
  CAIRN_TRY(cairn_wallet_field_u64(w, b, "total_power", &total));
  const char *op = json_string_value(json_object_get(b, "operator"));
  printf("%-10s %s\n%-10s %s (%s)\n%-10s %s\n%-10s %llu\n", "proposal", id,
         "validator", v, name, "operator", op != NULL ? op : "-", "bond",
         (unsigned long long)amount);
  printf("%-10s height %llu\n%-10s %s", "deadline",
         (unsigned long long)deadline, "status", status);
  if (decided != 0) printf(" at height %llu", (unsigned long long)decided);
  printf("\n%-10s %llu (power %llu; more than 2/3 of %llu is %llu)\n",
         "approvals", (unsigned long long)n, (unsigned long long)approved,
         (unsigned long long)total, (unsigned long long)needed);
  return CAIRN_OK;
}

static const cairn_cmd_spec cairn_admission_spec = {
    "admission", "ID",
    "Show an admission proposal: the validator, its bond, the approvals so "
    "far and whether it was admitted.",
    NULL, 0, 1, 1};

int cairn_cmd_admission(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_admission_spec, argc, argv, &a);
  if (err != CAIRN_OK || a.help) return cairn_wallet_exit(w, err);
  uint8_t id[32];
  err = cairn_wallet_hash_arg(w, "proposal ID", a.pos[0], id);
  if (err == CAIRN_OK) {
    char path[96];
    snprintf(path, sizeof path, "/v1/admissions/%s", a.pos[0]);
    err = cairn_stake_show(w, path, "admission proposal",
                           cairn_admission_human);
  }
  return cairn_wallet_exit(w, err);
}
