/*
 * output.c - what every wallet command shares: option parsing, help,
 * reporting failures with the right exit code, and checking argument
 * values (amounts, addresses, ids).
 *
 * One option parser serves every command. Each command declares its
 * options in a table (name, metavar, one line of help); the same table
 * drives parsing and the --help text, so an option cannot exist without
 * being documented. Options are GNU-style long options ("--amount 5" or
 * "--amount=5"); the global --node and --json are accepted before or after
 * the command name. A value is taken verbatim even if it starts with a dash
 * ("--amount -5"), so the value check can say exactly what is wrong with it
 * instead of "unknown option -5".
 *
 * Reporting follows one rule: the function that detects a failure reports
 * it once, on stderr as "cairn: error: ..." plus an optional
 * "cairn: hint: ..." that names the next command to run, and with --json
 * also as {"error": {...}} on stdout so scripts that only read stdout still
 * see it. The first failure's exit code is kept in the wallet.
 */
#include "cairn/wallet.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/json.h"

/* The longest message the wallet prints in one line. */
#define CAIRN_WALLET_MSG_BYTES 1024

/* ---- reporting ---- */

static void cairn_wallet_report(cairn_wallet *w, int exit_code,
                                const char *code, int number,
                                const char *hint, const char *msg) {
  fflush(stdout);
  fprintf(stderr, "cairn: error: %s\n", msg);
  if (hint != NULL) fprintf(stderr, "cairn: hint: %s\n", hint);
  if (w->json) {
    json_t *e = json_pack("{s:s, s:i, s:s}", "code", code, "number", number,
                          "message", msg);
    if (e != NULL && hint != NULL) json_object_set_new(e, "hint",
                                                       json_string(hint));
    json_t *j = e != NULL ? json_pack("{s:o}", "error", e) : NULL;
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
  }
  if (w->exit_code == CAIRN_EXIT_OK) w->exit_code = exit_code;
}

cairn_err cairn_wallet_fail(cairn_wallet *w, int exit_code, cairn_err err,
                            const char *hint, const char *fmt, ...) {
  assert(w != NULL && err != CAIRN_OK && exit_code != CAIRN_EXIT_OK);
  char msg[CAIRN_WALLET_MSG_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cairn_wallet_report(w, exit_code, cairn_errname(err), (int)err, hint, msg);
  return err;
}

/* A hint for an API error code, naming the command to run next. */
static const char *cairn_wallet_api_hint(const char *code,
                                         const char *key_path, char *buf,
                                         size_t cap) {
  const char *key = key_path != NULL ? key_path : "FILE";
  if (strcmp(code, "insufficient_balance") == 0) {
    snprintf(buf, cap, "check the balance with: cairn balance --key %s", key);
  } else if (strcmp(code, "not_issuer") == 0) {
    snprintf(buf, cap, "only the brand's issuer key can do this; see the "
             "issuers with: cairn status");
  } else if (strcmp(code, "sequence_gap") == 0 ||
             strcmp(code, "sequence_replay") == 0) {
    snprintf(buf, cap, "another transaction from this key may have been "
             "sent at the same time; try again");
  } else if (strcmp(code, "tx_expired") == 0) {
    snprintf(buf, cap, "try again, or give more blocks with --expires-in");
  } else if (strcmp(code, "mempool_full") == 0) {
    snprintf(buf, cap, "the node is busy; try again in a few seconds");
  } else if (strncmp(code, "coupon_", 7) == 0) {
    snprintf(buf, cap, "list the coupons with: cairn coupon list --key %s",
             key);
  } else if (strcmp(code, "unknown_brand") == 0) {
    snprintf(buf, cap, "the node's brands are listed by: cairn status");
  } else {
    return NULL;
  }
  return buf;
}

cairn_err cairn_wallet_fail_api(cairn_wallet *w, int status,
                                const json_t *body, const char *context,
                                const char *key_path) {
  const json_t *e = json_object_get(body, "error");
  const char *code = json_string_value(json_object_get(e, "code"));
  const char *message = json_string_value(json_object_get(e, "message"));
  json_int_t number = json_integer_value(json_object_get(e, "number"));
  char msg[CAIRN_WALLET_MSG_BYTES];
  if (code == NULL || message == NULL || number <= 0 || number > 65535) {
    snprintf(msg, sizeof msg, "%s: the node answered HTTP %d without an "
             "error description", context, status);
    cairn_wallet_report(w, CAIRN_EXIT_NODE, cairn_errname(CAIRN_ERR_HTTP),
                        CAIRN_ERR_HTTP, "check --node: it should be the "
                        "address of a cairnd node", msg);
    return CAIRN_ERR_HTTP;
  }
  snprintf(msg, sizeof msg, "%s: %s (%s)", context, message, code);
  char hint_buf[256];
  const char *hint = cairn_wallet_api_hint(code, key_path, hint_buf,
                                           sizeof hint_buf);
  int exit_code = (status >= 500 && status != 503) ? CAIRN_EXIT_NODE
                                                   : CAIRN_EXIT_FAILED;
  cairn_wallet_report(w, exit_code, code, (int)number, hint, msg);
  return (cairn_err)number;
}

int cairn_wallet_exit(const cairn_wallet *w, cairn_err err) {
  if (err == CAIRN_OK) return CAIRN_EXIT_OK;
  assert(w->exit_code != CAIRN_EXIT_OK); /* every failure is reported */
  return w->exit_code != CAIRN_EXIT_OK ? w->exit_code : CAIRN_EXIT_FAILED;
}

void cairn_wallet_print_json(const json_t *j) {
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII);
  if (s == NULL) return;
  printf("%s\n", s);
  free(s);
}

/* ---- options ---- */

static const cairn_opt cairn_wallet_global_opts[] = {
    {"node", "URL", "node API address (default: $CAIRN_NODE, else "
                    CAIRN_CLIENT_DEFAULT_URL ")"},
    {"json", NULL, "print machine-readable JSON on stdout"},
    {"help", NULL, "show this help"},
};

void cairn_wallet_print_help(const cairn_cmd_spec *spec) {
  printf("usage: cairn %s%s%s\n\n%s\n\noptions:\n", spec->name,
         spec->usage[0] != '\0' ? " " : "", spec->usage, spec->summary);
  for (size_t i = 0; i < spec->n_opts + 3; i++) {
    const cairn_opt *o = i < spec->n_opts
                             ? &spec->opts[i]
                             : &cairn_wallet_global_opts[i - spec->n_opts];
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    printf("  %-28s %s\n", left, o->help);
  }
}

static int cairn_wallet_find_opt(const cairn_cmd_spec *spec, const char *name,
                                 size_t len) {
  for (size_t i = 0; i < spec->n_opts; i++) {
    if (strlen(spec->opts[i].name) == len &&
        strncmp(spec->opts[i].name, name, len) == 0) {
      return (int)i;
    }
  }
  return -1;
}

const char *cairn_wallet_opt(const cairn_cmd_spec *spec, const cairn_args *a,
                             const char *name) {
  int i = cairn_wallet_find_opt(spec, name, strlen(name));
  assert(i >= 0);
  return i >= 0 ? a->vals[i] : NULL;
}

static cairn_err cairn_wallet_usage(cairn_wallet *w, const cairn_cmd_spec *s,
                                    const char *fmt, const char *what) {
  char hint[128];
  snprintf(hint, sizeof hint, "see: cairn %s --help", s->name);
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, hint, fmt,
                           what, s->name);
}

/* Take the value of option `name` (len bytes) from "--name=v" or the next
 * word. Returns NULL (reported) if it is missing. */
static const char *cairn_wallet_take_value(cairn_wallet *w,
                                           const cairn_cmd_spec *spec,
                                           const char *arg, int *i, int argc,
                                           char **argv) {
  const char *eq = strchr(arg, '=');
  if (eq != NULL) return eq + 1;
  if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
    (void)cairn_wallet_usage(w, spec, "option %s of '%s' needs a value", arg);
    return NULL;
  }
  *i += 1;
  return argv[*i];
}

/* Handle one "--name[=value]" word. */
static cairn_err cairn_wallet_parse_opt(cairn_wallet *w,
                                        const cairn_cmd_spec *spec, int *i,
                                        int argc, char **argv, cairn_args *a) {
  const char *arg = argv[*i];
  const char *name = arg + 2;
  const char *eq = strchr(name, '=');
  size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
  if (len == 4 && strncmp(name, "json", 4) == 0 && eq == NULL) {
    w->json = true;
    return CAIRN_OK;
  }
  if (len == 4 && strncmp(name, "node", 4) == 0) {
    const char *v = cairn_wallet_take_value(w, spec, arg, i, argc, argv);
    if (v == NULL) return CAIRN_ERR_USAGE;
    w->node_url = v;
    return CAIRN_OK;
  }
  int k = cairn_wallet_find_opt(spec, name, len);
  if (k < 0) return cairn_wallet_usage(w, spec, "unknown option %s for '%s'",
                                       arg);
  if (a->vals[k] != NULL) {
    return cairn_wallet_usage(w, spec, "option %s given twice for '%s'", arg);
  }
  if (spec->opts[k].metavar == NULL) {
    if (eq != NULL) {
      return cairn_wallet_usage(w, spec, "option %s of '%s' takes no value",
                                arg);
    }
    a->vals[k] = "";
    return CAIRN_OK;
  }
  a->vals[k] = cairn_wallet_take_value(w, spec, arg, i, argc, argv);
  return a->vals[k] != NULL ? CAIRN_OK : CAIRN_ERR_USAGE;
}

cairn_err cairn_wallet_parse(cairn_wallet *w, const cairn_cmd_spec *spec,
                             int argc, char **argv, cairn_args *a) {
  assert(spec->n_opts <= CAIRN_WALLET_OPTS_MAX);
  assert(spec->pos_max <= CAIRN_WALLET_POS_MAX);
  memset(a, 0, sizeof *a);
  bool only_pos = false;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (!only_pos && strcmp(arg, "--") == 0) {
      only_pos = true;
    } else if (!only_pos &&
               (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
      cairn_wallet_print_help(spec);
      a->help = true;
      return CAIRN_OK;
    } else if (!only_pos && strncmp(arg, "--", 2) == 0) {
      CAIRN_TRY(cairn_wallet_parse_opt(w, spec, &i, argc, argv, a));
    } else if (!only_pos && arg[0] == '-' && arg[1] != '\0') {
      return cairn_wallet_usage(w, spec, "unknown option %s for '%s'", arg);
    } else if (a->n_pos == spec->pos_max) {
      return cairn_wallet_usage(w, spec, "unexpected argument '%s' for '%s'",
                                arg);
    } else {
      a->pos[a->n_pos++] = arg;
    }
  }
  if (a->n_pos < spec->pos_min) {
    return cairn_wallet_usage(w, spec, "missing argument (usage: %s) for "
                              "'%s'", spec->usage);
  }
  return CAIRN_OK;
}

/* ---- argument values ---- */

cairn_err cairn_wallet_u64(cairn_wallet *w, const char *flag, const char *s,
                           uint64_t min, uint64_t *out) {
  *out = 0;
  uint64_t v = 0;
  cairn_err err = cairn_parse_u64(s, &v);
  if (err == CAIRN_ERR_RANGE && s[0] >= '1' && s[0] <= '9' &&
      strspn(s, "0123456789") == strlen(s)) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "%s %s is too large (at most "
                             "18446744073709551615)", flag, s);
  }
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "%s must be a whole number written in digits, "
                             "like 100 (got '%s')", flag, s);
  }
  if (v < min) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "%s must be at least %llu (got %s)", flag,
                             (unsigned long long)min, s);
  }
  *out = v;
  return CAIRN_OK;
}

cairn_err cairn_wallet_address(cairn_wallet *w, const char *flag,
                               const char *s, uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  cairn_err err = cairn_address_decode(pk, s);
  if (err == CAIRN_OK) return CAIRN_OK;
  const char *why = "is not a Cairn address (expected cairn1... with 64 "
                    "characters)";
  if (err == CAIRN_ERR_CHECKSUM) why = "has a bad checksum — check for a typo";
  else if (err == CAIRN_ERR_BAD_KEY) why = "is not a valid public key";
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, err, NULL,
                           "address %s%s'%s' %s", flag,
                           flag[0] != '\0' ? " " : "", s, why);
}

cairn_err cairn_wallet_hash_arg(cairn_wallet *w, const char *flag,
                                const char *s, uint8_t out[32]) {
  if (strlen(s) == 64 && cairn_hex_decode_exact(out, 32, s) == CAIRN_OK) {
    return CAIRN_OK;
  }
  memset(out, 0, 32);
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                           "%s must be 64 hexadecimal characters (got '%s')",
                           flag, s);
}
