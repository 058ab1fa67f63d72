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
 * access to the fields of responses).
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
