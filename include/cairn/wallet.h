/*
 * cairn/wallet.h - the `cairn` command-line wallet: shared declarations.
 *
 * The wallet is for members (check points, transfer, redeem), cashiers and
 * brands (issue points and coupons) and auditors (replay a node's data).
 * wallet/main.c parses the global options and dispatches to one command
 * function per command (cmd_keys.c, cmd_tx.c, cmd_query.c, cmd_audit.c,
 * cmd_proof.c, cmd_stake.c).
 * What every command shares: output.c (option parsing, error reporting
 * with exit codes, argument values) and api.c (node requests and checked
 * access to the fields of responses). What groups of commands share:
 * txflow.c (build, sign, submit and wait for a transaction: cmd_tx.c,
 * cmd_stake.c) and cmd_query.c's views (GET and print as JSON or text).
 *
 * Error discipline: helpers return cairn_err; a helper that returns an error
 * has already reported it (cairn_wallet_fail), recording the exit code in
 * the wallet, so callers only propagate. A command returns
 * cairn_wallet_exit(w, err): 0 on success, else the recorded exit code.
 *
 * Exit codes:
 *   0 success
 *   1 the operation failed (rejected transaction, not found, audit failed)
 *   2 usage error (unknown command or option, missing or bad argument)
 *   3 cannot reach the node, or its answer is not what the API promises
 *   4 key file or passphrase problem
 */
#ifndef CAIRN_WALLET_H
#define CAIRN_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cairn/client.h"
#include "cairn/error.h"
#include "cairn/limits.h"
#include "cairn/sig.h"
#include "cairn/tx.h"

#define CAIRN_EXIT_OK 0
#define CAIRN_EXIT_FAILED 1
#define CAIRN_EXIT_USAGE 2
#define CAIRN_EXIT_NODE 3
#define CAIRN_EXIT_KEY 4

#define CAIRN_WALLET_NODE_ENV "CAIRN_NODE"
#define CAIRN_WALLET_KDF_FAST_ENV "CAIRN_KDF_FAST"

/* Defaults of the transaction options (blocks, seconds). */
#define CAIRN_WALLET_TX_EXPIRES_IN_DEFAULT 100u
#define CAIRN_WALLET_COUPON_EXPIRES_IN_DEFAULT 10000u
#define CAIRN_WALLET_WAIT_TIMEOUT_S_DEFAULT 30u
#define CAIRN_WALLET_WAIT_TIMEOUT_S_MAX 86400u
#define CAIRN_WALLET_POLL_MS 100u
/* Positional arguments a command may take. */
#define CAIRN_WALLET_POS_MAX 4
/* Options a command may declare (its own plus the transaction options). */
#define CAIRN_WALLET_OPTS_MAX 24

typedef struct cairn_wallet {
  const char *node_url; /* --node, else $CAIRN_NODE, else the default */
  bool json;            /* --json: machine-readable output on stdout */
  cairn_client *client; /* opened on first use */
  int exit_code;        /* of the first reported failure */
} cairn_wallet;

/* ---- options (output.c) ---- */

typedef struct cairn_opt {
  const char *name;    /* without the leading "--" */
  const char *metavar; /* NULL: a flag that takes no value */
  const char *help;    /* one line for --help */
} cairn_opt;

typedef struct cairn_cmd_spec {
  const char *name;    /* "balance", "coupon issue" */
  const char *usage;   /* arguments after the name, for the usage line */
  const char *summary; /* one sentence */
  const cairn_opt *opts;
  size_t n_opts;
  size_t pos_min, pos_max; /* positional arguments */
} cairn_cmd_spec;

/* Parsed arguments: vals[i] is the value of spec->opts[i] (NULL if absent;
 * "" for a flag that is present). */
typedef struct cairn_args {
  const char *vals[CAIRN_WALLET_OPTS_MAX];
  const char *pos[CAIRN_WALLET_POS_MAX];
  size_t n_pos;
  bool help; /* --help was given: help has been printed */
} cairn_args;

/* Parse argv (the words after the command name) against spec. The global
 * options --node URL and --json are accepted anywhere and applied to w;
 * --help / -h prints the command's help and sets a->help.
 * Errors (reported, exit 2): USAGE. */
CAIRN_MUST_CHECK cairn_err cairn_wallet_parse(cairn_wallet *w,
                                              const cairn_cmd_spec *spec,
                                              int argc, char **argv,
                                              cairn_args *a);
/* The value of option `name` of spec (NULL if absent). name must be one of
 * spec's options (asserted). */
const char *cairn_wallet_opt(const cairn_cmd_spec *spec, const cairn_args *a,
                             const char *name);
void cairn_wallet_print_help(const cairn_cmd_spec *spec);

/* ---- reporting (output.c) ---- */

/* Report a failure: "cairn: error: <message>" and, if hint is not NULL,
 * "cairn: hint: <hint>" on stderr; with --json also {"error": {...}} on
 * stdout. Records exit_code in w (the first one wins). Returns err, which
 * must not be CAIRN_OK. */
cairn_err cairn_wallet_fail(cairn_wallet *w, int exit_code, cairn_err err,
                            const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Report an API error response (status >= 400): "<context>: <node's
 * message> (<code>)", with a hint chosen by the code. Exit code 1, or 3 for
 * a 5xx other than 503. Returns the node's error number (CAIRN_ERR_HTTP if
 * the body is not an API error). key_path (may be NULL) is used in hints. */
cairn_err cairn_wallet_fail_api(cairn_wallet *w, int status,
                                const json_t *body, const char *context,
                                const char *key_path);
/* The process exit code for a command's final result. */
int cairn_wallet_exit(const cairn_wallet *w, cairn_err err);
/* Print j on stdout (indented) followed by a newline. */
void cairn_wallet_print_json(const json_t *j);

/* ---- argument values (output.c); errors reported with exit 2 ---- */

/* A u64 option value >= min (cairn_parse_u64 rules). flag names the
 * option in messages ("--amount"). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_u64(cairn_wallet *w, const char *flag,
                                            const char *s, uint64_t min,
                                            uint64_t *out);
/* An address argument. */
CAIRN_MUST_CHECK cairn_err cairn_wallet_address(cairn_wallet *w,
                                                const char *flag,
                                                const char *s,
                                                uint8_t pk[CAIRN_PUBKEY_BYTES]);
/* A 32-byte id in hex (coupon ids, txids). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_hash_arg(cairn_wallet *w,
                                                 const char *flag,
                                                 const char *s,
                                                 uint8_t out[32]);

/* ---- node API (api.c) ---- */

/* GET path. 2xx: *body is the response (caller decrefs). Transport
 * failures are reported with exit 3; API errors with "<what>: ..." (404:
 * NOT_FOUND, exit 1). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_get(cairn_wallet *w, const char *path,
                                            const char *what, json_t **body);
/* GET path without reporting the outcome: *status is the HTTP status,
 * *body the JSON (caller decrefs). Transport errors are returned
 * unreported (only a bad --node URL is reported, exit 2). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_get_quiet(cairn_wallet *w,
                                                  const char *path,
                                                  int *status, json_t **body);
/* POST a transaction's hex; *status and *body as for get_quiet, but
 * transport errors are reported (exit 3). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_post(cairn_wallet *w, const char *path,
                                             const json_t *req, int *status,
                                             json_t **body);

/* JSON fields of node responses; a missing or mistyped field is reported
 * as a bad response (exit 3). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_field_u64(cairn_wallet *w,
                                                  const json_t *obj,
                                                  const char *field,
                                                  uint64_t *out);
CAIRN_MUST_CHECK cairn_err cairn_wallet_field_str(cairn_wallet *w,
                                                  const json_t *obj,
                                                  const char *field,
                                                  const char **out);
CAIRN_MUST_CHECK cairn_err cairn_wallet_field_array(cairn_wallet *w,
                                                    const json_t *obj,
                                                    const char *field,
                                                    json_t **out);

/* ---- keys (cmd_keys.c) ---- */

/* The public key of a key file (no passphrase). Errors reported, exit 4. */
CAIRN_MUST_CHECK cairn_err cairn_wallet_key_pubkey(
    cairn_wallet *w, const char *path, uint8_t pk[CAIRN_PUBKEY_BYTES]);
/* Ask for the passphrase and decrypt the key file. Errors reported,
 * exit 4. sk must be wiped by the caller. */
CAIRN_MUST_CHECK cairn_err cairn_wallet_key_unlock(
    cairn_wallet *w, const char *path, const char *passphrase_file,
    uint8_t sk[CAIRN_SECKEY_BYTES], uint8_t pk[CAIRN_PUBKEY_BYTES]);
/* The account for balance/coupon list: a positional ADDRESS or --key FILE
 * (exactly one; usage error otherwise). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_account_arg(
    cairn_wallet *w, const char *address, const char *key_path,
    uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* ---- the transaction flow (txflow.c) ---- */

/* Option table entries every transaction command declares, after its own
 * options: the transaction's expiry (a command whose own --expires-in
 * means something else, like coupon issue, declares --tx-expires-in
 * instead), then waiting, the passphrase and the client reference.
 * ref_help_tail (a string literal, may be "") ends the help of --ref. */
#define CAIRN_TXFLOW_EXPIRY_OPT                                                \
  {"expires-in", "BLOCKS", "the transaction expires this many blocks past "  \
                           "the tip (default 100)"}
#define CAIRN_TXFLOW_COMMON_OPTS(ref_help_tail)                                \
  {"no-wait", NULL, "return once the node has accepted the transaction "     \
                    "into its mempool"},                                      \
  {"wait-timeout", "SECONDS", "how long to wait for the commit (default 30)"}, \
  {"passphrase-file", "FILE", "read the key's passphrase from the first line " \
                              "of FILE (else $CAIRN_PASSPHRASE, else asked)"}, \
  {"ref", "REF", "a client reference (at most 32 bytes): a second "           \
                 "transaction from this key with the same REF is "           \
                 "refused" ref_help_tail}

/* Everything a transaction command gathers on its way to the node. The
 * command fills in tx.type and tx.u (and id_name, id_hex) between
 * cairn_txflow_connect and cairn_txflow_finish; the rest of tx is the
 * flow's. */
typedef struct cairn_txflow {
  const char *key_path;  /* --key: the signer */
  const char *pass_file; /* --passphrase-file, or NULL */
  uint64_t expires_in;   /* blocks past the tip */
  bool no_wait;
  uint64_t wait_timeout_s;
  uint8_t pk[CAIRN_PUBKEY_BYTES]; /* the sender, from the key file */
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1];
  uint64_t tip_height;
  /* "coupon", "hold", "agreement", "proposal" when the transaction creates
   * something with an id (printed as "coupon ID" / JSON "coupon": ID), else
   * NULL. The id is id_hex, or the txid when id_hex is "". */
  const char *id_name;
  char id_hex[2 * CAIRN_HASH_BYTES + 1];
  cairn_tx tx;
} cairn_txflow;

/* Step 1: zero *f and read the transaction options of spec: --key (a
 * usage error "NAME needs --key FILE (the signing key)" if absent),
 * --passphrase-file, --no-wait, --ref (at most CAIRN_TX_CLIENT_REF_BYTES_MAX
 * bytes), --wait-timeout (1 to CAIRN_WALLET_WAIT_TIMEOUT_S_MAX seconds),
 * and the transaction's expiry from option tx_expiry_flag (without "--";
 * at least 1). Nothing is asked of the node or the key file.
 * Errors (reported, exit 2): USAGE. */
CAIRN_MUST_CHECK cairn_err cairn_txflow_options(cairn_wallet *w,
                                                const cairn_cmd_spec *spec,
                                                const cairn_args *a,
                                                const char *tx_expiry_flag,
                                                cairn_txflow *f);
/* The value of spec's option `name`, which the command requires: a usage
 * error "NAME needs --name" (hint: its --help) if absent.
 * Errors (reported, exit 2): USAGE; *out is NULL then. */
CAIRN_MUST_CHECK cairn_err cairn_txflow_need(cairn_wallet *w,
                                             const cairn_cmd_spec *spec,
                                             const cairn_args *a,
                                             const char *name,
                                             const char **out);
/* A text option (order reference, label, client reference) of at most max
 * (<= 255) bytes into out (not NUL-terminated) and *out_len; s NULL (the
 * option is absent) gives length 0. flag names it in messages.
 * Errors (reported, exit 2): USAGE (too long); *out_len is 0 then. */
CAIRN_MUST_CHECK cairn_err cairn_txflow_text(cairn_wallet *w,
                                             const char *flag, const char *s,
                                             size_t max, uint8_t *out,
                                             uint8_t *out_len);
/* Steps 2 and 3: the sender's public key from the key file (no
 * passphrase), and the chain id and tip height from GET /v1/status.
 * Errors (reported): of cairn_wallet_key_pubkey (exit 4), of
 * cairn_wallet_get (exit 1 or 3), HTTP (a malformed answer, exit 3). */
CAIRN_MUST_CHECK cairn_err cairn_txflow_connect(cairn_wallet *w,
                                                cairn_txflow *f);
/* Resolve a brand given by name or number through GET /v1/brands.
 * Errors (reported): UNKNOWN_BRAND (exit 1, with the chain's brands as the
 * hint), those of cairn_wallet_get and the brands field; *id is 0 then. */
CAIRN_MUST_CHECK cairn_err cairn_txflow_brand(cairn_wallet *w,
                                              const char *arg, uint32_t *id);
/* Steps 4 to 6, once the command has filled in its payload: sequence and
 * expiry, unlock and sign (the key is wiped), POST /v1/txs, and unless
 * --no-wait, wait for the commit.
 * result NULL: print the outcome (human text: "ID_NAME ID", "txid ID" and
 * pending or the block; with --json the node's answer plus ID_NAME).
 * result not NULL: print nothing; *result is the node's answer (committed,
 * or accepted with --no-wait), which the caller decrefs; NULL on failure.
 * Errors (all reported): USAGE (--expires-in overflows, exit 2), key
 * errors (exit 4), the node's refusal or rejection with its code (exit 1),
 * TIMEOUT (not committed within --wait-timeout, exit 1), transport and bad
 * answers (exit 3). */
CAIRN_MUST_CHECK cairn_err cairn_txflow_finish(cairn_wallet *w,
                                               cairn_txflow *f,
                                               json_t **result);

/* ---- read-only views (cmd_query.c) ---- */

/* The option of a command that takes [ADDRESS | --key FILE]. */
#define CAIRN_WALLET_ACCOUNT_OPT                                               \
  {"key", "FILE", "use the address of this key file (no passphrase "        \
                  "needed)"}

/* Prints a node's answer for a person. Errors reported (a field the text
 * needs is missing or mistyped: exit 3). */
typedef cairn_err (*cairn_wallet_human_fn)(cairn_wallet *w,
                                           const json_t *body);

/* GET path (what names it in messages, as for cairn_wallet_get), then
 * print the answer: unchanged with --json, else through human.
 * Errors: of cairn_wallet_get and of human (reported). */
CAIRN_MUST_CHECK cairn_err cairn_wallet_show(cairn_wallet *w,
                                             const char *path,
                                             const char *what,
                                             cairn_wallet_human_fn human);
/* A whole command that shows one account's resource: parse argv against
 * spec (whose options are CAIRN_WALLET_ACCOUNT_OPT alone, with 0 or 1
 * positional ADDRESS), take the account from ADDRESS or --key FILE, and
 * show GET <prefix><address><suffix> as cairn_wallet_show does.
 * Returns the process exit code. */
int cairn_wallet_show_account(cairn_wallet *w, const cairn_cmd_spec *spec,
                              int argc, char **argv, const char *prefix,
                              const char *suffix, const char *what,
                              cairn_wallet_human_fn human);

/* ---- commands: each returns the process exit code ---- */

int cairn_cmd_keygen(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_address(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_balance(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_issue(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_transfer(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_redeem(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_coupon_issue(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_coupon_transfer(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_coupon_redeem(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_policy(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_hold(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_capture(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_release(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_reverse(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_agree(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_revoke(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_settle(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_settlements(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_agreements(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_coupon_list(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_coupon_show(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_tx(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_status(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_audit(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_proof(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_verify_proof(cairn_wallet *w, int argc, char **argv);
/* Staking and validators (cmd_stake.c). */
int cairn_cmd_stake_balance(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_stake_transfer(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_bond(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_unbond(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_admit(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_approve(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_admission(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_evidence_submit(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_evidence_list(cairn_wallet *w, int argc, char **argv);
int cairn_cmd_validators(cairn_wallet *w, int argc, char **argv);

#endif
