/*
 * cmd_audit.c - `cairn audit`: verify a whole chain independently, report
 * what every brand owes, and keep watching it.
 *
 *   cairn audit (--data DIR | --node URL [--node URL ...]) [--json|--csv]
 *               [--threads N]
 *               [--watch --checkpoint FILE [--once | --interval S]
 *                [--export FILE --key KEY [--passphrase-file F]]]
 *   cairn audit verify-checkpoint FILE [--data DIR | --node URL]
 *
 * The work is libcairn's auditor (ledger/audit.c): it replays every block
 * from a node's data directory (read-only, safe next to a running node) or
 * from nodes' HTTP APIs (wallet/source_node.c), and builds the report
 * (ledger/report.c). This file wires options to it and presents the
 * verdict: a first line that starts with "audit OK", "audit FAILED" or
 * "ALARM" (easy to grep in a cron job), then the report as aligned tables,
 * one JSON object (--json) or CSV sections (--csv). Anything but OK exits
 * 1.
 *
 * --watch keeps a trusted checkpoint in FILE and a replica beside it
 * (FILE.replica), so each run verifies only the new blocks; --once makes a
 * single pass (for cron and tests), --interval polls until SIGINT or
 * SIGTERM, which end it with exit 0. While watching, the two signals are
 * blocked and waited for between passes with sigtimedwait, and the
 * progress callback stops a long pass at the next block when one is
 * pending, so the checkpoint is always written for what was verified.
 * --export signs each new checkpoint with an auditor key and writes it to
 * FILE for other auditors, who check it with verify-checkpoint.
 *
 * On a terminal, long audits draw a progress line on stderr, redrawn at
 * most four times a second.
 */
#include "cairn/wallet.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cairn/address.h"
#include "cairn/audit.h"
#include "cairn/chain.h"
#include "cairn/checkpoint.h"
#include "cairn/encoding.h"
#include "cairn/json.h"
#include "cairn/report.h"
#include "source_node.h"

/* The progress line is redrawn at most every this many milliseconds. */
#define AUDIT_PROGRESS_MS 250u
#define AUDIT_INTERVAL_S_DEFAULT 10u
#define AUDIT_INTERVAL_S_MAX 86400u
#define AUDIT_WHY_BYTES 1536
#define AUDIT_REPLICA_SUFFIX ".replica"

static const cairn_opt audit_opts[] = {
    {"data", "DIR", "a node's data directory (e.g. HOME/data), read-only"},
    {"csv", NULL, "print the report as CSV sections"},
    {"threads", "N", "threads for signature checks (default: every CPU)"},
    {"watch", NULL, "continuous audit: verify only blocks after the "
                    "checkpoint; alarm if history changed"},
    {"checkpoint", "FILE", "the trusted checkpoint of --watch (a replica "
                           "is kept in FILE.replica)"},
    {"once", NULL, "with --watch: one pass, then exit"},
    {"interval", "S", "with --watch: poll every S seconds (default 10) "
                      "until SIGINT/SIGTERM"},
    {"export", "FILE", "with --watch: write each checkpoint signed with "
                       "--key to FILE"},
    {"key", "KEY", "the auditor's key file for --export"},
    {"passphrase-file", "FILE", "read the key's passphrase from FILE"},
};
static const cairn_cmd_spec audit_spec = {
    "audit",
    "(--data DIR | --node URL [--node URL]) [--csv] [--watch --checkpoint "
    "FILE [--once|--interval S] [--export FILE --key KEY]]",
    "Replay a chain from genesis, verifying every block, commit, signature "
    "and state hash; compare what the node stored or claims; report what "
    "every brand owes. --node may be given up to 4 times: the nodes must "
    "agree at every height. 'cairn audit verify-checkpoint FILE' checks an "
    "exported checkpoint.",
    audit_opts, sizeof audit_opts / sizeof audit_opts[0], 0, 0};

static const cairn_opt audit_verify_opts[] = {
    {"data", "DIR", "also check that this data directory holds the block"},
};
static const cairn_cmd_spec audit_verify_spec = {
    "audit verify-checkpoint", "FILE [--data DIR | --node URL]",
    "Check the signature of an exported checkpoint and, with --data or "
    "--node, that the chain there holds its block and state at its height.",
    audit_verify_opts, 1, 1, 1};

/* Everything one invocation needs, kept across the passes of --watch. */
typedef struct audit_cmd {
  cairn_wallet *w;
  const char *data;
  const char *nodes[CAIRN_AUDIT_SOURCES_MAX];
  size_t n_nodes;
  bool csv, watch, once;
  uint64_t interval_s;
  uint64_t threads;
  const char *checkpoint_path, *export_path, *key_path, *pass_file;
  char replica[PATH_MAX];
  bool have_key;
  uint8_t sk[CAIRN_SECKEY_BYTES];
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  sigset_t stop; /* SIGINT and SIGTERM, blocked while polling */
  bool polling;
  bool tty;
  uint64_t progress_ms; /* when the line was last drawn */
  bool progress_shown;
  cairn_report *report;
  cairn_audit_result *result;
  char why[AUDIT_WHY_BYTES];
} audit_cmd;

static uint64_t audit_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void audit_hex(char out[65], const uint8_t h[32]) {
  cairn_hex_encode(out, 65, h, 32);
}

/* ---- options ---- */

static cairn_err audit_usage(cairn_wallet *w, const char *hint,
                             const char *msg) {
  return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                           hint != NULL ? hint : "see: cairn audit --help",
                           "%s", msg);
}

/* Take every --node URL out of argv into c->nodes (the shared parser would
 * keep only the last one); the other words go to rest. Returns how many
 * words rest holds, or -1 after reporting a usage error. */
static int audit_take_nodes(audit_cmd *c, int argc, char **argv,
                            char **rest) {
  int n = 0;
  bool only_pos = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *url = NULL;
    if (!only_pos && strcmp(a, "--") == 0) only_pos = true;
    else if (!only_pos && strncmp(a, "--node=", 7) == 0) url = a + 7;
    else if (!only_pos && strcmp(a, "--node") == 0) {
      if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
        (void)audit_usage(c->w, "e.g. --node " CAIRN_CLIENT_DEFAULT_URL,
                          "--node needs a URL");
        return -1;
      }
      url = argv[++i];
    }
    if (url == NULL) {
      rest[n++] = argv[i];
      continue;
    }
    if (c->n_nodes == CAIRN_AUDIT_SOURCES_MAX) {
      (void)audit_usage(c->w, NULL, "audit compares at most 4 nodes");
      return -1;
    }
    c->nodes[c->n_nodes++] = url;
  }
  return n;
}

/* Exactly one kind of source. */
static cairn_err audit_check_source(audit_cmd *c) {
  if (c->data != NULL && c->n_nodes > 0)
    return audit_usage(c->w, NULL, "give either --data DIR or --node URL, "
                       "not both");
  if (c->data == NULL && c->n_nodes == 0)
    return audit_usage(c->w, "e.g. cairn audit --data cairn-demo/data, or "
                       "cairn audit --node " CAIRN_CLIENT_DEFAULT_URL,
                       "audit needs --data DIR or --node URL");
  return CAIRN_OK;
}

/* The options that only make sense together. */
static cairn_err audit_check_combos(audit_cmd *c, const cairn_args *a) {
  static const char *const watch_only[] = {"checkpoint", "once", "interval",
                                           "export", "key"};
  if (c->w->json && c->csv)
    return audit_usage(c->w, NULL, "--json and --csv cannot be combined");
  for (size_t i = 0; i < sizeof watch_only / sizeof watch_only[0]; i++) {
    if (!c->watch && cairn_wallet_opt(&audit_spec, a, watch_only[i])) {
      char msg[64];
      snprintf(msg, sizeof msg, "--%s needs --watch", watch_only[i]);
      return audit_usage(c->w, NULL, msg);
    }
  }
  if (c->watch && c->checkpoint_path == NULL)
    return audit_usage(c->w, "e.g. cairn audit --watch --checkpoint "
                       "audit.checkpoint --data DIR",
                       "--watch needs --checkpoint FILE");
  if (c->once && cairn_wallet_opt(&audit_spec, a, "interval") != NULL)
    return audit_usage(c->w, NULL, "--once and --interval exclude each "
                       "other");
  if ((c->export_path == NULL) != (c->key_path == NULL))
    return audit_usage(c->w, NULL, "--export FILE and --key KEY go "
                       "together");
  if (c->pass_file != NULL && c->key_path == NULL)
    return audit_usage(c->w, NULL, "--passphrase-file is for the --key of "
                       "--export");
  if (c->csv && c->watch && !c->once)
    return audit_usage(c->w, NULL, "--csv prints one report: use it with "
                       "--once when watching");
  return CAIRN_OK;
}

static cairn_err audit_take_opts(audit_cmd *c, const cairn_args *a) {
  const cairn_cmd_spec *s = &audit_spec;
  c->data = cairn_wallet_opt(s, a, "data");
  c->csv = cairn_wallet_opt(s, a, "csv") != NULL;
  c->watch = cairn_wallet_opt(s, a, "watch") != NULL;
  c->once = cairn_wallet_opt(s, a, "once") != NULL;
  c->checkpoint_path = cairn_wallet_opt(s, a, "checkpoint");
  c->export_path = cairn_wallet_opt(s, a, "export");
  c->key_path = cairn_wallet_opt(s, a, "key");
  c->pass_file = cairn_wallet_opt(s, a, "passphrase-file");
  CAIRN_TRY(audit_check_source(c));
  CAIRN_TRY(audit_check_combos(c, a));
  const char *v = cairn_wallet_opt(s, a, "interval");
  c->interval_s = AUDIT_INTERVAL_S_DEFAULT;
  if (v != NULL) {
    CAIRN_TRY(cairn_wallet_u64(c->w, "--interval", v, 1, &c->interval_s));
    if (c->interval_s > AUDIT_INTERVAL_S_MAX)
      return audit_usage(c->w, NULL, "--interval is at most 86400 seconds");
  }
  v = cairn_wallet_opt(s, a, "threads");
  if (v != NULL) {
    CAIRN_TRY(cairn_wallet_u64(c->w, "--threads", v, 1, &c->threads));
    if (c->threads > CAIRN_CHAIN_VERIFY_THREADS_MAX)
      return audit_usage(c->w, NULL, "--threads is at most 32");
  }
  if (c->watch) {
    int n = snprintf(c->replica, sizeof c->replica, "%s" AUDIT_REPLICA_SUFFIX,
                     c->checkpoint_path);
    if (n < 0 || (size_t)n >= sizeof c->replica)
      return audit_usage(c->w, NULL, "the --checkpoint path is too long");
  }
  return CAIRN_OK;
}

/* ---- sources ---- */

static cairn_err audit_source_failed(audit_cmd *c, const char *what,
                                     cairn_err err, const char *why) {
  cairn_wallet *w = c->w;
  const char *msg = why[0] != '\0' ? why : cairn_strerror(err);
  if (err == CAIRN_ERR_ARG)
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "use --node http://HOST:PORT", "%s", msg);
  if (err == CAIRN_ERR_NETWORK || err == CAIRN_ERR_TIMEOUT ||
      err == CAIRN_ERR_HTTP)
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, err, "is cairnd running "
                             "there? check the --node URL", "cannot audit "
                             "%s: %s", what, msg);
  return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err,
                           c->data != NULL ? "--data is the node's data "
                                             "directory, e.g. HOME/data"
                                           : NULL,
                           "cannot audit %s: %s", what, msg);
}

/* Open the sources of this pass (a fresh snapshot each time). */
static cairn_err audit_open_sources(audit_cmd *c, cairn_audit_source *srcs,
                                    size_t *n) {
  char why[AUDIT_WHY_BYTES] = "";
  *n = 0;
  if (c->data != NULL) {
    cairn_err err = cairn_audit_source_datadir(&srcs[0], c->data, why,
                                               sizeof why);
    if (err != CAIRN_OK) return audit_source_failed(c, c->data, err, why);
    *n = 1;
    return CAIRN_OK;
  }
  for (size_t i = 0; i < c->n_nodes; i++) {
    cairn_err err = cairn_audit_source_node(&srcs[i], c->nodes[i], why,
                                            sizeof why);
    if (err != CAIRN_OK) {
      for (size_t k = 0; k < i; k++) cairn_audit_source_close(&srcs[k]);
      return audit_source_failed(c, c->nodes[i], err, why);
    }
  }
  *n = c->n_nodes;
  return CAIRN_OK;
}

/* ---- progress and signals ---- */

static bool audit_stop_pending(const audit_cmd *c) {
  sigset_t pending;
  if (!c->polling || sigpending(&pending) != 0) return false;
  return sigismember(&pending, SIGINT) == 1 ||
         sigismember(&pending, SIGTERM) == 1;
}

static bool audit_on_progress(void *ctx, const cairn_audit_progress *p) {
  audit_cmd *c = ctx;
  if (audit_stop_pending(c)) return false;
  /* Short audits draw nothing; long ones at most every 250 ms. */
  if (!c->tty || p->elapsed_ms < 2 * AUDIT_PROGRESS_MS) return true;
  uint64_t now = audit_now_ms();
  if (p->height != p->target && now - c->progress_ms < AUDIT_PROGRESS_MS)
    return true;
  char line[192];
  (void)cairn_audit_progress_format(line, sizeof line, p);
  fprintf(stderr, "\r%s\033[K", line);
  c->progress_ms = now;
  c->progress_shown = true;
  return true;
}

static void audit_progress_end(audit_cmd *c) {
  if (!c->progress_shown) return;
  fputs("\n", stderr);
  c->progress_shown = false;
}

static cairn_err audit_save_checkpoint(void *ctx, const cairn_checkpoint *cp) {
  const audit_cmd *c = ctx;
  return cairn_checkpoint_save(c->checkpoint_path, cp);
}

/* ---- presenting a pass ---- */

static const char *audit_alarm_name(cairn_audit_alarm a) {
  switch (a) {
  case CAIRN_AUDIT_ALARM_REWRITTEN: return "rewritten";
  case CAIRN_AUDIT_ALARM_BEHIND: return "behind";
  case CAIRN_AUDIT_ALARM_FORK: return "fork";
  case CAIRN_AUDIT_ALARM_CHAIN: return "chain";
  case CAIRN_AUDIT_ALARM_NONE: break;
  }
  return "none";
}

static json_t *audit_json_sources(const cairn_audit_result *r) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < r->n_sources; i++) {
    const cairn_audit_lane_result *s = &r->sources[i];
    json_t *o = json_pack(
        "{s:s, s:I, s:o, s:o, s:I, s:I, s:I, s:I}", "name", s->name,
        "tip_height", (json_int_t)s->tip.height, "tip_hash",
        cairn_json_hex(s->tip.hash, 32), "app_hash",
        cairn_json_hex(s->tip.app_hash, 32), "from_height",
        (json_int_t)s->from_height, "blocks_verified",
        (json_int_t)s->verified, "txs", (json_int_t)s->txs, "verified_tip",
        (json_int_t)s->verified_tip);
    if (o == NULL || json_array_append_new(a, o) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *audit_json_checkpoint(const audit_cmd *c) {
  const cairn_audit_result *r = c->result;
  if (!r->have_checkpoint) return json_null();
  const cairn_checkpoint *cp = &r->checkpoint;
  json_t *o = json_pack("{s:I, s:o, s:o}", "height", (json_int_t)cp->height,
                        "block_hash", cairn_json_hex(cp->block_hash, 32),
                        "state_hash", cairn_json_hex(cp->state_hash, 32));
  if (o != NULL && c->watch)
    json_object_set_new(o, "file", json_string(c->checkpoint_path));
  if (o != NULL && c->have_key) {
    json_object_set_new(o, "exported_to", json_string(c->export_path));
    json_object_set_new(o, "auditor", cairn_json_address(c->pk));
  }
  return o;
}

/* The verdict's details: the alarm or the failure. */
static void audit_json_verdict(const audit_cmd *c, json_t *o) {
  const cairn_audit_result *r = c->result;
  if (r->alarm != CAIRN_AUDIT_ALARM_NONE) {
    json_object_set_new(
        o, "alarm",
        json_pack("{s:s, s:I, s:s, s:o, s:o, s:s}", "kind",
                  audit_alarm_name(r->alarm), "height",
                  (json_int_t)r->alarm_height, "source",
                  r->sources[r->alarm_source].name, "expected",
                  cairn_json_hex(r->alarm_expected, 32), "found",
                  cairn_json_hex(r->alarm_found, 32), "message", c->why));
  } else if (!r->ok && !r->interrupted) {
    json_object_set_new(
        o, "error",
        json_pack("{s:s, s:i, s:s, s:I, s:s}", "code",
                  cairn_errname(r->failure), "number", (int)r->failure,
                  "message", c->why, "height", (json_int_t)r->failed_height,
                  "table",
                  r->failed_table != 0 ? cairn_audit_table_name(r->failed_table)
                                       : ""));
  }
}

/* The whole pass as one JSON object; the report's tables are merged in
 * when it is complete. */
static json_t *audit_json(const audit_cmd *c) {
  const cairn_audit_result *r = c->result;
  json_t *o = json_pack(
      "{s:b, s:b, s:s, s:s, s:o, s:I, s:o, s:o, s:I, s:I, s:I, s:I}", "ok",
      r->ok, "interrupted", r->interrupted, "mode",
      c->watch ? "watch" : "audit", "chain_id", r->chain_id, "genesis_hash",
      cairn_json_hex(r->genesis_hash, 32), "tip_height",
      (json_int_t)r->tip_height, "tip_hash", cairn_json_hex(r->tip_hash, 32),
      "app_hash", cairn_json_hex(r->app_hash, 32), "blocks",
      (json_int_t)r->blocks, "blocks_verified", (json_int_t)r->blocks, "txs",
      (json_int_t)r->txs, "elapsed_ms", (json_int_t)r->elapsed_ms);
  if (o == NULL) return NULL;
  json_object_set_new(o, "sources", audit_json_sources(r));
  json_object_set_new(o, "checkpoint", audit_json_checkpoint(c));
  if (r->ok && c->report->finished) {
    json_t *rep = cairn_report_json(c->report);
    if (rep != NULL) json_object_update(o, rep);
    json_decref(rep);
  }
  audit_json_verdict(c, o);
  return o;
}

static void audit_csv_summary(const audit_cmd *c) {
  const cairn_audit_result *r = c->result;
  char tip[65], app[65], gen[65];
  audit_hex(tip, r->tip_hash);
  audit_hex(app, r->app_hash);
  audit_hex(gen, r->genesis_hash);
  printf("# audit\nfield,value\nok,%s\nchain_id,%s\ngenesis_hash,%s\n"
         "tip_height,%llu\ntip_hash,%s\napp_hash,%s\nblocks_verified,%llu\n"
         "txs,%llu\n", r->ok ? "true" : "false", r->chain_id, gen,
         (unsigned long long)r->tip_height, tip, app,
         (unsigned long long)r->blocks, (unsigned long long)r->txs);
  if (r->have_checkpoint)
    printf("checkpoint_height,%llu\n",
           (unsigned long long)r->checkpoint.height);
  if (!r->ok) {
    printf("error,\"");
    for (const char *p = c->why; *p != '\0'; p++) {
      if (*p == '"') putchar('"');
      putchar(*p);
    }
    printf("\"\n");
  }
  printf("\n");
}

/* The first line: "audit OK: ..." */
static void audit_print_headline(const audit_cmd *c) {
  const cairn_audit_result *r = c->result;
  unsigned long long blocks = r->blocks, txs = r->txs;
  const char *s = blocks == 1 ? "" : "s";
  if (!c->watch)
    printf("audit OK: %llu block%s, %llu transactions verified from "
           "genesis\n", blocks, s, txs);
  else if (blocks == 0)
    printf("audit OK: verified 0 new blocks; checkpoint at height %llu\n",
           (unsigned long long)r->checkpoint.height);
  else
    printf("audit OK: verified %llu new block%s (heights %llu..%llu), %llu "
           "transactions; checkpoint at height %llu\n", blocks, s,
           (unsigned long long)r->sources[0].from_height,
           (unsigned long long)r->tip_height, txs,
           (unsigned long long)r->checkpoint.height);
}

static void audit_print_ok(const audit_cmd *c, bool tables) {
  const cairn_audit_result *r = c->result;
  char a[65], b[65];
  audit_print_headline(c);
  for (size_t i = 0; i < r->n_sources; i++) {
    const cairn_audit_lane_result *s = &r->sources[i];
    audit_hex(a, s->tip.hash);
    audit_hex(b, s->tip.app_hash);
    printf("  %s: tip %llu, block %s, app hash %s; %s\n", s->name,
           (unsigned long long)s->tip.height, a, b,
           c->data != NULL ? "its stored state matches the replay"
                           : "its status matches the replay");
  }
  audit_hex(a, r->genesis_hash);
  printf("chain %s (genesis %s), %llu ms\n", r->chain_id, a,
         (unsigned long long)r->elapsed_ms);
  if (c->watch) {
    audit_hex(a, r->checkpoint.block_hash);
    printf("checkpoint %s: height %llu, block %s\n", c->checkpoint_path,
           (unsigned long long)r->checkpoint.height, a);
  }
  if (c->have_key) {
    char addr[CAIRN_ADDRESS_BUF];
    cairn_address_encode(addr, sizeof addr, c->pk);
    printf("exported to %s, signed by %s\n", c->export_path, addr);
  }
  if (!tables) return;
  printf("\n");
  cairn_report_print_text(stdout, c->report);
}

/* Print the pass in the chosen form (nothing more is said on success). */
static void audit_print(const audit_cmd *c, const char *verdict) {
  if (c->w->json) {
    json_t *j = audit_json(c);
    if (j != NULL) {
      if (c->watch && !c->once) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (s != NULL) printf("%s\n", s);
        free(s);
      } else {
        cairn_wallet_print_json(j);
      }
    }
    json_decref(j);
  } else if (c->csv) {
    audit_csv_summary(c);
    if (c->result->ok) cairn_report_print_csv(stdout, c->report);
  } else if (verdict != NULL) {
    printf("%s\n", verdict);
  } else {
    audit_print_ok(c, !c->watch || c->once);
  }
}

/* A failure or alarm: the verdict on stdout (or in the JSON/CSV), the
 * error on stderr, exit 1. */
static cairn_err audit_print_bad(audit_cmd *c) {
  const cairn_audit_result *r = c->result;
  char verdict[AUDIT_WHY_BYTES + 64];
  const char *why = c->why;
  cairn_err code = r->failure;
  const char *hint = "do not rely on this data until the cause is found; "
                     "see specs/audit.md for what each check means";
  if (r->alarm != CAIRN_AUDIT_ALARM_NONE) {
    snprintf(verdict, sizeof verdict, "%s", why);
    code = CAIRN_ERR_CORRUPT;
    hint = "the history this auditor verified is no longer what the node "
           "serves: compare with other nodes and auditors";
  } else if (r->failed_height != 0) {
    char prefix[48];
    snprintf(prefix, sizeof prefix, "height %llu: ",
             (unsigned long long)r->failed_height);
    if (strncmp(why, prefix, strlen(prefix)) == 0) why += strlen(prefix);
    snprintf(verdict, sizeof verdict, "audit FAILED at height %llu: %s",
             (unsigned long long)r->failed_height, why);
  } else {
    snprintf(verdict, sizeof verdict, "audit FAILED: %s", why);
  }
  audit_print(c, verdict);
  bool json = c->w->json;
  c->w->json = false; /* the report above already holds the error */
  cairn_err err = cairn_wallet_fail(c->w, CAIRN_EXIT_FAILED,
                                    code != CAIRN_OK ? code
                                                     : CAIRN_ERR_CORRUPT,
                                    hint, "%s", verdict);
  c->w->json = json;
  return err;
}

static cairn_err audit_present(audit_cmd *c) {
  const cairn_audit_result *r = c->result;
  if (!r->ok && !r->interrupted) return audit_print_bad(c);
  if (r->interrupted) {
    fprintf(stderr, "cairn: stopped at height %llu; checkpoint at height "
            "%llu\n", (unsigned long long)r->tip_height,
            (unsigned long long)r->checkpoint.height);
    return CAIRN_OK;
  }
  audit_print(c, NULL);
  fflush(stdout);
  return CAIRN_OK;
}

/* ---- passes ---- */

/* One audit pass over freshly opened sources. */
static cairn_err audit_pass(audit_cmd *c, const cairn_checkpoint *trusted) {
  cairn_audit_source srcs[CAIRN_AUDIT_SOURCES_MAX];
  size_t n = 0;
  CAIRN_TRY(audit_open_sources(c, srcs, &n));
  cairn_audit_config cfg = {.sources = srcs, .n_sources = n,
                            .progress = audit_on_progress,
                            .progress_ctx = c,
                            .verify_threads = (unsigned)c->threads,
                            .report = c->report};
  if (c->watch) {
    cfg.replica_dir = c->replica;
    cfg.checkpoint = trusted;
    cfg.on_checkpoint = audit_save_checkpoint;
    cfg.checkpoint_ctx = c;
  }
  c->why[0] = '\0';
  cairn_err err = cairn_audit_run(&cfg, c->result, c->why, sizeof c->why);
  audit_progress_end(c);
  for (size_t i = 0; i < n; i++) cairn_audit_source_close(&srcs[i]);
  if (err == CAIRN_OK) return CAIRN_OK;
  int exit_code = (err == CAIRN_ERR_NETWORK || err == CAIRN_ERR_TIMEOUT ||
                   err == CAIRN_ERR_HTTP)
                      ? CAIRN_EXIT_NODE
                      : CAIRN_EXIT_FAILED;
  return cairn_wallet_fail(c->w, exit_code, err, NULL, "cannot audit: %s",
                           c->why[0] != '\0' ? c->why : cairn_strerror(err));
}

/* The trusted checkpoint, if there is one yet. A file that exists but
 * cannot be used stops the audit: starting over from genesis would forget
 * what was verified. */
static cairn_err audit_load_checkpoint(audit_cmd *c, cairn_checkpoint *cp,
                                       bool *have) {
  char why[512] = "";
  *have = false;
  cairn_err err = cairn_checkpoint_load(c->checkpoint_path, cp, why,
                                        sizeof why);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK;
  if (err != CAIRN_OK)
    return cairn_wallet_fail(c->w, CAIRN_EXIT_FAILED, err, "the file is "
                             "written by cairn audit --watch; restore it, or "
                             "remove it to start again from genesis",
                             "the checkpoint %s cannot be used: %s",
                             c->checkpoint_path, why);
  *have = true;
  return CAIRN_OK;
}

/* Sign the new checkpoint for other auditors. */
static cairn_err audit_export(audit_cmd *c) {
  const cairn_audit_result *r = c->result;
  if (!c->have_key || !r->have_checkpoint ||
      r->alarm != CAIRN_AUDIT_ALARM_NONE)
    return CAIRN_OK;
  cairn_checkpoint_signed s;
  cairn_err err = cairn_checkpoint_sign(&s, &r->checkpoint, c->sk);
  if (err != CAIRN_OK)
    return cairn_wallet_fail(c->w, CAIRN_EXIT_KEY, err, NULL, "cannot sign "
                             "the checkpoint with %s: %s", c->key_path,
                             cairn_strerror(err));
  err = cairn_checkpoint_signed_save(c->export_path, &s);
  if (err != CAIRN_OK)
    return cairn_wallet_fail(c->w, CAIRN_EXIT_FAILED, err, NULL, "cannot "
                             "write %s: %s", c->export_path,
                             cairn_strerror(err));
  return CAIRN_OK;
}

/* Between passes: true when SIGINT or SIGTERM arrived. */
static bool audit_wait(const audit_cmd *c) {
  struct timespec ts = {.tv_sec = (time_t)c->interval_s, .tv_nsec = 0};
  for (;;) {
    int sig = sigtimedwait(&c->stop, NULL, &ts);
    if (sig > 0) return true;
    if (errno != EINTR) return false;
  }
}

static cairn_err audit_watch(audit_cmd *c) {
  if (!c->once) {
    sigemptyset(&c->stop);
    sigaddset(&c->stop, SIGINT);
    sigaddset(&c->stop, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &c->stop, NULL) == 0) c->polling = true;
  }
  for (;;) {
    cairn_checkpoint cp;
    bool have = false;
    CAIRN_TRY(audit_load_checkpoint(c, &cp, &have));
    CAIRN_TRY(audit_pass(c, have ? &cp : NULL));
    CAIRN_TRY(audit_export(c));
    CAIRN_TRY(audit_present(c));
    if (c->once || c->result->interrupted || !c->polling) return CAIRN_OK;
    if (audit_wait(c)) {
      fprintf(stderr, "cairn: stopped watching; checkpoint at height %llu\n",
              (unsigned long long)c->result->checkpoint.height);
      return CAIRN_OK;
    }
  }
}

static cairn_err audit_main(audit_cmd *c, int argc, char **argv) {
  cairn_args a;
  CAIRN_TRY(cairn_wallet_parse(c->w, &audit_spec, argc, argv, &a));
  if (a.help) return CAIRN_OK;
  CAIRN_TRY(audit_take_opts(c, &a));
  c->tty = isatty(STDERR_FILENO) == 1;
  c->report = calloc(1, sizeof *c->report);
  c->result = calloc(1, sizeof *c->result);
  if (c->report == NULL || c->result == NULL)
    return cairn_wallet_fail(c->w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                             "out of memory");
  if (c->key_path != NULL) {
    CAIRN_TRY(cairn_wallet_key_unlock(c->w, c->key_path, c->pass_file, c->sk,
                                      c->pk));
    c->have_key = true;
  }
  if (c->watch) return audit_watch(c);
  CAIRN_TRY(audit_pass(c, NULL));
  return audit_present(c);
}

/* ---- verify-checkpoint ---- */

/* The block hash at height h in src (the genesis hash at 0) and the state
 * hash after it. A finding (missing or damaged block) is reported as a
 * mismatch through msg; only errors reading the source are returned. */
static cairn_err audit_source_at(const cairn_audit_source *src,
                                 const cairn_audit_tip *tip,
                                 const uint8_t genesis_hash[32], uint64_t h,
                                 uint8_t hash[32], uint8_t state[32],
                                 char *msg, size_t cap, bool *found) {
  *found = false;
  cairn_slice *txs = malloc(sizeof *txs * CAIRN_BLOCK_TXS_MAX);
  if (txs == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = CAIRN_OK;
  for (uint64_t k = h; err == CAIRN_OK && k <= h + 1 && k <= tip->height;
       k++) {
    const uint8_t *b = NULL, *cm = NULL;
    size_t blen = 0, clen = 0;
    cairn_block_header hdr;
    if (k == 0) continue;
    err = src->block(src->ctx, k, &b, &blen, &cm, &clen, msg, cap);
    if (err == CAIRN_OK)
      err = cairn_block_decode(&hdr, txs, CAIRN_BLOCK_TXS_MAX, b, blen);
    if (err == CAIRN_OK && k == h) err = cairn_block_hash(hash, &hdr);
    if (err == CAIRN_OK && k == h + 1) memcpy(state, hdr.state_hash, 32);
  }
  free(txs);
  if (err == CAIRN_ERR_NETWORK || err == CAIRN_ERR_TIMEOUT ||
      err == CAIRN_ERR_HTTP || err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_IO ||
      err == CAIRN_ERR_INTERNAL)
    return err;
  if (err != CAIRN_OK) {
    if (msg[0] == '\0') snprintf(msg, cap, "%s", cairn_strerror(err));
    return CAIRN_OK;
  }
  if (h == 0) memcpy(hash, genesis_hash, 32);
  if (h == tip->height) memcpy(state, tip->app_hash, 32);
  *found = true;
  return CAIRN_OK;
}

/* Does src hold the checkpoint's block and state? *match answers, msg says
 * why not. */
static cairn_err audit_verify_against(const cairn_checkpoint *cp,
                                      const cairn_audit_source *src,
                                      bool *match, char *msg, size_t cap) {
  cairn_genesis *g = malloc(sizeof *g);
  cairn_audit_tip tip;
  uint8_t gh[32], hash[32], state[32];
  char a[65], b[65];
  bool found = false;
  *match = false;
  if (g == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = src->genesis(src->ctx, g, msg, cap);
  if (err == CAIRN_OK) err = cairn_genesis_hash(gh, g);
  if (err == CAIRN_OK) err = src->tip(src->ctx, &tip, msg, cap);
  bool same_chain = err == CAIRN_OK && memcmp(gh, cp->genesis_hash, 32) == 0 &&
                    strcmp(g->chain_id, cp->chain_id) == 0;
  free(g);
  if (err != CAIRN_OK) return err;
  if (!same_chain) {
    audit_hex(a, gh);
    snprintf(msg, cap, "%s is another chain (genesis %s)", src->name, a);
  } else if (tip.height < cp->height) {
    snprintf(msg, cap, "the tip of %s is height %llu, below the checkpoint's "
             "height", src->name, (unsigned long long)tip.height);
  } else {
    CAIRN_TRY(audit_source_at(src, &tip, gh, cp->height, hash, state, msg,
                              cap, &found));
    if (found && memcmp(hash, cp->block_hash, 32) != 0) {
      audit_hex(a, cp->block_hash);
      audit_hex(b, hash);
      snprintf(msg, cap, "at height %llu the checkpoint has block %s, %s has "
               "%s", (unsigned long long)cp->height, a, src->name, b);
    } else if (found && memcmp(state, cp->state_hash, 32) != 0) {
      audit_hex(a, cp->state_hash);
      audit_hex(b, state);
      snprintf(msg, cap, "after height %llu the checkpoint has state %s, %s "
               "has %s", (unsigned long long)cp->height, a, src->name, b);
    } else {
      *match = found;
    }
  }
  return CAIRN_OK;
}

static void audit_verify_print(const audit_cmd *c,
                               const cairn_checkpoint_signed *s,
                               const char *source, bool match,
                               const char *msg) {
  char addr[CAIRN_ADDRESS_BUF], bh[65], sh[65];
  cairn_address_encode(addr, sizeof addr, s->auditor);
  audit_hex(bh, s->cp.block_hash);
  audit_hex(sh, s->cp.state_hash);
  if (c->w->json) {
    json_t *j = json_pack(
        "{s:b, s:s, s:s, s:I, s:s, s:s}", "signature_valid", 1, "auditor",
        addr, "chain_id", s->cp.chain_id, "height", (json_int_t)s->cp.height,
        "block_hash", bh, "state_hash", sh);
    if (j != NULL && source != NULL) {
      json_object_set_new(j, "source", json_string(source));
      json_object_set_new(j, "match", json_boolean(match));
      if (!match) json_object_set_new(j, "message", json_string(msg));
    }
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
    return;
  }
  printf("checkpoint signature OK: signed by %s\n  chain %s, height %llu, "
         "block %s, state %s\n", addr, s->cp.chain_id,
         (unsigned long long)s->cp.height, bh, sh);
  if (source != NULL && match)
    printf("MATCH: %s holds this block and state at height %llu\n", source,
           (unsigned long long)s->cp.height);
  else if (source != NULL)
    printf("MISMATCH: %s\n", msg);
}

/* Check the chain at the one source given, if any. */
static cairn_err audit_verify_source(audit_cmd *c,
                                     const cairn_checkpoint_signed *s) {
  if (c->data == NULL && c->n_nodes == 0) {
    audit_verify_print(c, s, NULL, false, NULL);
    return CAIRN_OK;
  }
  if (c->n_nodes > 1)
    return audit_usage(c->w, NULL, "verify-checkpoint takes one --node");
  CAIRN_TRY(audit_check_source(c));
  cairn_audit_source src;
  size_t n = 0;
  char msg[AUDIT_WHY_BYTES] = "";
  bool match = false;
  CAIRN_TRY(audit_open_sources(c, &src, &n));
  cairn_err err = audit_verify_against(&s->cp, &src, &match, msg, sizeof msg);
  char name[CAIRN_AUDIT_NAME_BYTES];
  snprintf(name, sizeof name, "%s", src.name);
  cairn_audit_source_close(&src);
  if (err != CAIRN_OK) return audit_source_failed(c, name, err, msg);
  audit_verify_print(c, s, name, match, msg);
  if (match) return CAIRN_OK;
  bool json = c->w->json;
  c->w->json = false;
  err = cairn_wallet_fail(c->w, CAIRN_EXIT_FAILED, CAIRN_ERR_CORRUPT,
                          "the checkpoint's auditor saw another history than "
                          "this source serves", "checkpoint MISMATCH: %s",
                          msg);
  c->w->json = json;
  return err;
}

static cairn_err audit_verify_main(audit_cmd *c, int argc, char **argv) {
  cairn_args a;
  CAIRN_TRY(cairn_wallet_parse(c->w, &audit_verify_spec, argc, argv, &a));
  if (a.help) return CAIRN_OK;
  c->data = cairn_wallet_opt(&audit_verify_spec, &a, "data");
  const char *path = a.pos[0];
  cairn_checkpoint_signed s;
  char why[512] = "";
  cairn_err err = cairn_checkpoint_signed_load(path, &s, why, sizeof why);
  if (err != CAIRN_OK)
    return cairn_wallet_fail(c->w, CAIRN_EXIT_FAILED, err, "export one with "
                             "cairn audit --watch ... --export FILE --key KEY",
                             "%s is not a signed checkpoint: %s", path, why);
  err = cairn_checkpoint_verify(&s);
  if (err != CAIRN_OK) {
    char addr[CAIRN_ADDRESS_BUF];
    cairn_address_encode(addr, sizeof addr, s.auditor);
    return cairn_wallet_fail(c->w, CAIRN_EXIT_FAILED, err, NULL, "the "
                             "signature of %s does not verify: the "
                             "checkpoint was altered, or %s did not sign it",
                             path, addr);
  }
  return audit_verify_source(c, &s);
}

int cairn_cmd_audit(cairn_wallet *w, int argc, char **argv) {
  audit_cmd *c = calloc(1, sizeof *c);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  cairn_err err = CAIRN_OK;
  if (c == NULL || rest == NULL) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                            "out of memory");
  } else {
    c->w = w;
    int n = audit_take_nodes(c, argc, argv, rest);
    if (n < 0) err = CAIRN_ERR_USAGE;
    else if (n > 0 && strcmp(rest[0], "verify-checkpoint") == 0)
      err = audit_verify_main(c, n - 1, rest + 1);
    else
      err = audit_main(c, n, rest);
  }
  if (c != NULL) {
    sodium_memzero(c->sk, sizeof c->sk);
    free(c->report);
    free(c->result);
  }
  free(c);
  free(rest);
  return cairn_wallet_exit(w, err);
}
