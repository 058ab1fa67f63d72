/*
 * cmd_audit.c - `cairn audit --data DIR`: replay a node's data directory
 * from genesis and check that its state is exactly what its blocks say.
 *
 * The work is done by libcairn's auditor (ledger/audit.c), which opens the
 * directory read-only in one snapshot, so this is safe to run next to a
 * live node. This file only presents the verdict: a one-line summary that
 * starts with "audit OK" or "audit FAILED" (easy to grep in a cron job),
 * the outstanding points per brand that the replay vouches for, and with
 * --json the whole report. A failed audit exits 1, like any failed
 * operation; progress is shown on a terminal for long chains.
 */
#include "cairn/wallet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/audit.h"
#include "cairn/encoding.h"
#include "cairn/json.h"

/* Progress is redrawn every this many blocks. */
#define CAIRN_AUDIT_PROGRESS_EVERY 500u

static const cairn_opt cairn_audit_opts[] = {
    {"data", "DIR", "the node's data directory (e.g. HOME/data); opened "
                    "read-only"},
};
static const cairn_cmd_spec cairn_audit_spec = {
    "audit", "--data DIR",
    "Replay a node's data directory from genesis, verifying every block, "
    "and compare the stored state record by record (read-only; safe while "
    "the node runs).",
    cairn_audit_opts, 1, 0, 0};

static void cairn_audit_progress(void *ctx, uint64_t height, uint64_t tip) {
  (void)ctx;
  if (height % CAIRN_AUDIT_PROGRESS_EVERY == 0 || height == tip) {
    fprintf(stderr, "\raudit: block %llu of %llu", (unsigned long long)height,
            (unsigned long long)tip);
    if (height == tip) fprintf(stderr, "\n");
  }
}

static json_t *cairn_audit_json(const cairn_audit_report *r) {
  char tip[65], app[65];
  cairn_hex_encode(tip, sizeof tip, r->tip_hash, 32);
  cairn_hex_encode(app, sizeof app, r->app_hash, 32);
  json_t *brands = json_array();
  for (uint32_t i = 0; r->ok && brands != NULL && i < r->n_brands; i++) {
    const cairn_audit_brand *b = &r->brands[i];
    json_array_append_new(brands, json_pack("{s:I, s:s, s:o, s:b}", "id",
                                            (json_int_t)b->id, "name",
                                            b->name, "outstanding",
                                            cairn_json_u64(b->outstanding),
                                            "overflow", b->overflow));
  }
  return json_pack("{s:b, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:o}", "ok",
                   r->ok, "chain_id", r->chain_id, "blocks",
                   (json_int_t)r->blocks, "txs", (json_int_t)r->txs,
                   "tip_height", (json_int_t)r->tip_height, "tip_hash", tip,
                   "app_hash", app, "elapsed_ms", (json_int_t)r->elapsed_ms,
                   "brands", brands);
}

static void cairn_audit_print_ok(const cairn_audit_report *r) {
  char app[65];
  cairn_hex_encode(app, sizeof app, r->app_hash, 32);
  printf("audit OK: %llu blocks, %llu transactions, state matches replay "
         "(app hash %s)\n", (unsigned long long)r->blocks,
         (unsigned long long)r->txs, app);
  printf("chain %s, %llu ms\noutstanding points:\n", r->chain_id,
         (unsigned long long)r->elapsed_ms);
  for (uint32_t i = 0; i < r->n_brands; i++) {
    const cairn_audit_brand *b = &r->brands[i];
    printf("  %-16s %s%llu\n", b->name[0] != '\0' ? b->name : "(unknown)",
           b->overflow ? "more than " : "",
           (unsigned long long)b->outstanding);
  }
}

/* Report a failed audit: the verdict line on stdout (or the report with
 * --json), the error on stderr, exit 1. */
static cairn_err cairn_audit_print_failed(cairn_wallet *w,
                                          const cairn_audit_report *r,
                                          const char *why) {
  char verdict[1200];
  if (r->failed_height != 0) {
    char prefix[48];
    snprintf(prefix, sizeof prefix, "height %llu: ",
             (unsigned long long)r->failed_height);
    if (strncmp(why, prefix, strlen(prefix)) == 0) why += strlen(prefix);
    snprintf(verdict, sizeof verdict, "audit FAILED at height %llu: %s",
             (unsigned long long)r->failed_height, why);
  } else {
    snprintf(verdict, sizeof verdict, "audit FAILED: %s", why);
  }
  bool json = w->json;
  if (json) {
    json_t *j = cairn_audit_json(r);
    if (j != NULL) {
      json_object_set_new(j, "failed_height",
                          json_integer((json_int_t)r->failed_height));
      json_object_set_new(j, "error", json_pack("{s:s, s:i, s:s}", "code",
                                                cairn_errname(r->failure),
                                                "number", (int)r->failure,
                                                "message", verdict));
      cairn_wallet_print_json(j);
    }
    json_decref(j);
  } else {
    printf("%s\n", verdict);
  }
  w->json = false; /* the JSON report above already holds the error */
  cairn_err err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, r->failure,
                                    "the node's stored state cannot be "
                                    "trusted; rebuild it from its blocks or "
                                    "a healthy peer", "%s", verdict);
  w->json = json;
  return err;
}

/* Run the audit into *report and present it. */
static cairn_err cairn_audit_present(cairn_wallet *w, const char *dir,
                                     cairn_audit_report *report) {
  char why[1024] = "";
  bool tty = !w->json && isatty(STDERR_FILENO);
  cairn_err err = cairn_audit_datadir_progress(
      dir, tty ? cairn_audit_progress : NULL, NULL, report, why, sizeof why);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err,
                             "--data is the node's data directory, e.g. "
                             "HOME/data", "cannot audit %s: %s", dir,
                             why[0] != '\0' ? why : cairn_strerror(err));
  }
  if (!report->ok) return cairn_audit_print_failed(w, report, why);
  if (w->json) {
    json_t *j = cairn_audit_json(report);
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
  } else {
    cairn_audit_print_ok(report);
  }
  return CAIRN_OK;
}

static cairn_err cairn_audit_run(cairn_wallet *w, const cairn_args *a) {
  const char *dir = cairn_wallet_opt(&cairn_audit_spec, a, "data");
  if (dir == NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "e.g. cairn audit --data cairn-demo/data",
                             "audit needs --data DIR");
  }
  cairn_audit_report *report = malloc(sizeof *report);
  if (report == NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                             "out of memory");
  }
  cairn_err err = cairn_audit_present(w, dir, report);
  free(report);
  return err;
}

int cairn_cmd_audit(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_audit_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_audit_run(w, &a);
  return cairn_wallet_exit(w, err);
}
