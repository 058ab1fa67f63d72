/*
 * cmd_stake.c - the staking commands: stake balance and stake transfer;
 * bond and unbond; admit and approve (admitting a new validator by
 * governance); evidence submit and evidence list (slashing); and the
 * read-only views validators and admission.
 *
 * The transaction commands take the path of txflow.c, the same one as the
 * points commands of cmd_tx.c, so a mistake is reported as early and as
 * cheaply as possible and nothing reaches the node before every argument
 * checked out. What this file adds is step 1 for staking: amounts (u64,
 * >= 1), validator keys (64 hex digits; for admit a valid Ed25519 point),
 * names, ids, and evidence bytes, which are decoded here so that malformed
 * evidence never costs a passphrase prompt. The node checks every staking
 * rule at admission (its mempool runs the state machine), so a refused
 * bond, an unknown validator or a second approval comes back from the POST
 * with its stable code, e.g. "transaction rejected: unbond amount exceeds
 * the validator's bonded stake (unbond_exceeds)", and exit 1.
 *
 * The read-only views GET and print through cmd_query.c's
 * cairn_wallet_show, like every other view of the wallet.
 *
 * Stake is one chain-wide unit, separate from every brand's points, and
 * every amount of it is a u64 written in decimal, as the API writes it.
 */
#include "cairn/wallet.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/evidence.h"

/* Options shared by every staking transaction command. */
#define CAIRN_STAKE_TX_OPTS                                                    \
  CAIRN_TXFLOW_EXPIRY_OPT, CAIRN_TXFLOW_COMMON_OPTS("")

#define CAIRN_STAKE_N(a) (sizeof(a) / sizeof((a)[0]))

/* Default admission deadline: this many blocks past the tip. */
#define CAIRN_STAKE_DEADLINE_IN_DEFAULT 100u

/* ---- step 1: options ---- */

/* The transaction options (txflow.c's step 1). A missing --key is
 * reported as "NAME needs --key", like every other required option of
 * these commands. */
static cairn_err cairn_stake_options(cairn_wallet *w,
                                     const cairn_cmd_spec *spec,
                                     const cairn_args *a, cairn_txflow *f) {
  memset(f, 0, sizeof *f);
  const char *key = NULL;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "key", &key));
  return cairn_txflow_options(w, spec, a, "expires-in", f);
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
  cairn_txflow f;
  CAIRN_TRY(cairn_stake_options(w, spec, a, &f));
  const char *to, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_stake_transfer st;
  memset(&st, 0, sizeof st);
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, st.to));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &st.amount));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_STAKE_TRANSFER;
  f.tx.u.stake_transfer = st;
  return cairn_txflow_finish(w, &f, NULL);
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
  cairn_txflow f;
  CAIRN_TRY(cairn_stake_options(w, spec, a, &f));
  const char *validator, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "validator", &validator));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_bond b;
  memset(&b, 0, sizeof b);
  CAIRN_TRY(cairn_stake_validator_arg(w, validator, b.validator));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &b.amount));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = type;
  f.tx.u.bond = b;
  return cairn_txflow_finish(w, &f, NULL);
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
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "validator", &validator));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "name", &name));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
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
  cairn_txflow f;
  cairn_tx_admit ad;
  memset(&ad, 0, sizeof ad);
  CAIRN_TRY(cairn_stake_options(w, &cairn_admit_spec, a, &f));
  CAIRN_TRY(cairn_admit_args(w, a, &ad));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
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
  return cairn_txflow_finish(w, &f, NULL);
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
  cairn_txflow f;
  CAIRN_TRY(cairn_stake_options(w, spec, a, &f));
  const char *id;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "proposal", &id));
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--proposal", id,
                                  f.tx.u.approve.proposal));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_APPROVE;
  return cairn_txflow_finish(w, &f, NULL);
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
 * cairn_txflow_finish. */
static cairn_err cairn_evidence_submit_one(cairn_wallet *w,
                                           const cairn_args *a,
                                           const uint8_t *bytes,
                                           json_t **result) {
  cairn_txflow f;
  CAIRN_TRY(cairn_stake_options(w, &cairn_evidence_submit_spec, a, &f));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_EVIDENCE;
  memcpy(f.tx.u.evidence.evidence, bytes, CAIRN_EVIDENCE_BYTES);
  return cairn_txflow_finish(w, &f, result);
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
  cairn_txflow f; /* the options are checked before anything else */
  CAIRN_TRY(cairn_stake_options(w, spec, a, &f));
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
    CAIRN_WALLET_ACCOUNT_OPT,
};
static const cairn_cmd_spec cairn_stake_balance_spec = {
    "stake balance", "[ADDRESS | --key FILE]",
    "Show an account's free stake and the validators it operates.",
    cairn_stake_balance_opts, 1, 0, 1};

int cairn_cmd_stake_balance(cairn_wallet *w, int argc, char **argv) {
  return cairn_wallet_show_account(w, &cairn_stake_balance_spec, argc, argv,
                                   "/v1/stake/", "", "stake",
                                   cairn_stake_balance_human);
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
    err = cairn_wallet_show(w, "/v1/evidence", "evidence list",
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
    err = cairn_wallet_show(w, "/v1/validators", "validator set",
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
    err = cairn_wallet_show(w, path, "admission proposal",
                            cairn_admission_human);
  }
  return cairn_wallet_exit(w, err);
}
