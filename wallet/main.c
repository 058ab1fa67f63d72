/*
 * main.c - `cairn`, the wallet for members, cashiers, brands and auditors.
 *
 *   cairn [--node URL] [--json] <command> [options]
 *
 * This file only sets the process up (libsodium, SIGPIPE), reads the global
 * options that come before the command, and dispatches through a table; the
 * commands live in cmd_*.c and everything they share in output.c and
 * api.c. The node URL comes from --node, else $CAIRN_NODE, else the local
 * default, and the connection is made lazily, so local commands (keygen,
 * address, audit) work with no node at all. Three commands are groups of
 * subcommands (coupon, stake, evidence), dispatched through a second
 * table each.
 *
 * Exit codes are documented in include/cairn/wallet.h: 0 success, 1 failed
 * operation, 2 usage, 3 node unreachable or bad answer, 4 key/passphrase.
 */
#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cairn/secure.h"
#include "cairn/wallet.h"

typedef struct cairn_main_cmd {
  const char *name;
  int (*run)(cairn_wallet *w, int argc, char **argv);
  const char *summary;
} cairn_main_cmd;

/* A command with subcommands ("coupon issue", "stake balance"). */
typedef struct cairn_main_group {
  const char *name;
  const cairn_main_cmd *cmds;
  size_t n_cmds;
} cairn_main_group;

#define CAIRN_MAIN_N(a) (sizeof(a) / sizeof((a)[0]))

static const cairn_main_cmd cairn_main_cmds[] = {
    {"keygen", cairn_cmd_keygen, "create an encrypted member/brand key file"},
    {"address", cairn_cmd_address, "print a key file's address"},
    {"balance", cairn_cmd_balance, "points per brand of an account"},
    {"issue", cairn_cmd_issue, "issue a brand's points to a member"},
    {"transfer", cairn_cmd_transfer, "move points to another member"},
    {"redeem", cairn_cmd_redeem, "spend points at a brand"},
    {"policy", cairn_cmd_policy, "change a brand's asset policy (issuer)"},
    {"hold", cairn_cmd_hold, "set points aside for an order"},
    {"capture", cairn_cmd_capture, "take held points (the brand)"},
    {"release", cairn_cmd_release, "return held points to the member"},
    {"reverse", cairn_cmd_reverse, "claw back points of a returned purchase"},
    {"agree", cairn_cmd_agree, "sign an exchange agreement between brands"},
    {"revoke", cairn_cmd_revoke, "end an exchange agreement"},
    {"settle", cairn_cmd_settle, "record a payment between brands"},
    {"settlements", cairn_cmd_settlements, "what brands owe each other"},
    {"agreements", cairn_cmd_agreements, "the exchange agreements"},
    {"coupon", NULL, "coupons: issue, transfer, redeem, list, show"},
    {"tx", cairn_cmd_tx, "show a transaction and its status"},
    {"status", cairn_cmd_status, "chain id, height, tip, mempool, brands"},
    {"audit", cairn_cmd_audit, "verify the whole chain; what brands owe"},
    {"proof", cairn_cmd_proof, "inclusion proof of a committed transaction"},
    {"verify-proof", cairn_cmd_verify_proof,
     "check a proof offline against a trusted genesis or block hash"},
    {"stake", NULL, "stake: balance, transfer"},
    {"bond", cairn_cmd_bond, "bond free stake to a validator you operate"},
    {"unbond", cairn_cmd_unbond, "take stake out of a validator's bond"},
    {"admit", cairn_cmd_admit, "propose a new validator (governance)"},
    {"approve", cairn_cmd_approve, "approve a validator's admission"},
    {"admission", cairn_cmd_admission, "show an admission proposal"},
    {"evidence", NULL, "evidence: submit, list (slashing)"},
    {"validators", cairn_cmd_validators,
     "validator set, records, scheduled changes, epoch"},
};

static const cairn_main_cmd cairn_main_coupon_cmds[] = {
    {"issue", cairn_cmd_coupon_issue, "issue a coupon to a member"},
    {"transfer", cairn_cmd_coupon_transfer, "give a coupon to a member"},
    {"redeem", cairn_cmd_coupon_redeem, "use a coupon at its brand"},
    {"list", cairn_cmd_coupon_list, "an account's coupons"},
    {"show", cairn_cmd_coupon_show, "one coupon"},
};

static const cairn_main_cmd cairn_main_stake_cmds[] = {
    {"balance", cairn_cmd_stake_balance, "an account's free stake"},
    {"transfer", cairn_cmd_stake_transfer, "move free stake to an account"},
};

static const cairn_main_cmd cairn_main_evidence_cmds[] = {
    {"submit", cairn_cmd_evidence_submit,
     "submit duplicate-vote evidence (the offender is slashed and jailed)"},
    {"list", cairn_cmd_evidence_list, "the evidence the node holds"},
};

static const cairn_main_group cairn_main_groups[] = {
    {"coupon", cairn_main_coupon_cmds, CAIRN_MAIN_N(cairn_main_coupon_cmds)},
    {"stake", cairn_main_stake_cmds, CAIRN_MAIN_N(cairn_main_stake_cmds)},
    {"evidence", cairn_main_evidence_cmds,
     CAIRN_MAIN_N(cairn_main_evidence_cmds)},
};

static void cairn_main_usage(FILE *f) {
  fprintf(f,
          "usage: cairn [--node URL] [--json] <command> [options]\n\n"
          "commands:\n");
  for (size_t i = 0; i < CAIRN_MAIN_N(cairn_main_cmds); i++) {
    fprintf(f, "  %-12s %s\n", cairn_main_cmds[i].name,
            cairn_main_cmds[i].summary);
  }
  fprintf(f,
          "\nglobal options:\n"
          "  --node URL  node API address (default: $CAIRN_NODE, else "
          CAIRN_CLIENT_DEFAULT_URL ")\n"
          "  --json      print machine-readable JSON on stdout\n"
          "  --help      this help; 'cairn COMMAND --help' for a command\n\n"
          "exit codes: 0 ok, 1 operation failed, 2 usage error, 3 node "
          "unreachable or bad answer, 4 key file or passphrase problem\n");
}

static const cairn_main_cmd *cairn_main_find(const cairn_main_cmd *cmds,
                                             size_t n, const char *name) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(cmds[i].name, name) == 0) return &cmds[i];
  }
  return NULL;
}

static const cairn_main_group *cairn_main_find_group(const char *name) {
  for (size_t i = 0; i < CAIRN_MAIN_N(cairn_main_groups); i++) {
    if (strcmp(cairn_main_groups[i].name, name) == 0) {
      return &cairn_main_groups[i];
    }
  }
  return NULL;
}

/* `cairn GROUP SUB ...` (coupon, stake, evidence). */
static int cairn_main_group_run(cairn_wallet *w, const cairn_main_group *g,
                                int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
      strcmp(argv[0], "-h") == 0) {
    FILE *f = argc < 1 ? stderr : stdout;
    fprintf(f, "usage: cairn %s <", g->name);
    for (size_t i = 0; i < g->n_cmds; i++) {
      fprintf(f, "%s%s", i ? "|" : "", g->cmds[i].name);
    }
    fprintf(f, "> [options]\n\n");
    for (size_t i = 0; i < g->n_cmds; i++) {
      fprintf(f, "  %-10s %s\n", g->cmds[i].name, g->cmds[i].summary);
    }
    if (argc >= 1) return CAIRN_EXIT_OK;
    return cairn_wallet_exit(
        w, cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "%s needs a subcommand", g->name));
  }
  const cairn_main_cmd *c = cairn_main_find(g->cmds, g->n_cmds, argv[0]);
  if (c == NULL) {
    char hint[64];
    snprintf(hint, sizeof hint, "see: cairn %s --help", g->name);
    return cairn_wallet_exit(
        w, cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, hint,
                             "unknown %s command '%s'", g->name, argv[0]));
  }
  return c->run(w, argc - 1, argv + 1);
}

/* Global options before the command. Returns the index of the command
 * word, argc if there is none, or -1 after reporting a usage error. */
static int cairn_main_globals(cairn_wallet *w, int argc, char **argv,
                              bool *help) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0) {
      w->json = true;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = true;
    } else if (strncmp(a, "--node=", 7) == 0) {
      w->node_url = a + 7;
    } else if (strcmp(a, "--node") == 0 && i + 1 < argc) {
      w->node_url = argv[++i];
    } else if (strcmp(a, "--node") == 0) {
      (void)cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                              "e.g. --node " CAIRN_CLIENT_DEFAULT_URL,
                              "--node needs a URL");
      return -1;
    } else if (a[0] == '-') {
      (void)cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                              "see: cairn --help", "unknown option %s", a);
      return -1;
    } else {
      break;
    }
  }
  return i;
}

static int cairn_main_run(cairn_wallet *w, int argc, char **argv) {
  bool help = false;
  int i = cairn_main_globals(w, argc, argv, &help);
  if (i < 0) return cairn_wallet_exit(w, CAIRN_ERR_USAGE);
  if (i >= argc) {
    cairn_main_usage(help ? stdout : stderr);
    if (help) return CAIRN_EXIT_OK;
    return cairn_wallet_exit(
        w, cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "no command given"));
  }
  const cairn_main_cmd *c =
      cairn_main_find(cairn_main_cmds, CAIRN_MAIN_N(cairn_main_cmds), argv[i]);
  if (c == NULL) {
    return cairn_wallet_exit(
        w, cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "see: cairn --help", "unknown command '%s'",
                             argv[i]));
  }
  /* "cairn --help balance" means "cairn balance --help". */
  char *help_argv[] = {"--help", NULL};
  int sub_argc = help ? 1 : argc - i - 1;
  char **sub_argv = help ? help_argv : argv + i + 1;
  if (c->run == NULL) {
    const cairn_main_group *g = cairn_main_find_group(c->name);
    assert(g != NULL); /* every command without run() is a group */
    if (g == NULL) return CAIRN_EXIT_USAGE;
    return cairn_main_group_run(w, g, sub_argc, sub_argv);
  }
  return c->run(w, sub_argc, sub_argv);
}

int main(int argc, char **argv) {
  /* A node that closes the connection early must give an error, not kill
   * the wallet with SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0) {
    fprintf(stderr, "cairn: error: cannot initialise libsodium\n");
    return CAIRN_EXIT_FAILED;
  }
  /* Key files and passphrases pass through jansson: wipe what it frees. */
  cairn_secure_json_install();
  const char *node = getenv(CAIRN_WALLET_NODE_ENV);
  cairn_wallet w = {
      .node_url = node != NULL && node[0] != '\0' ? node
                                                  : CAIRN_CLIENT_DEFAULT_URL};
  int rc = cairn_main_run(&w, argc, argv);
  cairn_client_close(w.client);
  if (fflush(stdout) != 0 && rc == CAIRN_EXIT_OK) {
    fprintf(stderr, "cairn: error: cannot write the output\n");
    rc = CAIRN_EXIT_FAILED;
  }
  return rc;
}
