/*
 * bench/bench.c - `make bench`: Cairn's throughput beside this machine's
 * limits, all measured in one run, printed as one table.
 *
 * Order of the run: the machine (CPU model, online CPUs, date, load
 * average); the limits (bench_limits.c); the main single-node run, with
 * BENCH_MEMBERS members (1,000,000) over a chain of BENCH_AUDIT_TXS
 * transactions (1,000,000), then the audit of that chain; the growth runs,
 * one workload of BENCH_TXS transactions (100,000) over BENCH_MEMBERS_SMALL
 * members (10,000) committed once on a state holding only those members and
 * once on a state holding BENCH_MEMBERS_LARGE accounts (10,000,000: the
 * rest are filler accounts written into the genesis state); then the load
 * average again. Every figure is printed beside the limit that bounds it
 * and the target the issue sets; targets are reported, never asserted (the
 * exit status says only whether every measurement ran).
 *
 * The main run's row comes first among the single-node rows and is the
 * one whose label says "accounts" first: bench/pg/run.sh takes the first
 * row matching "Single node .*accounts.*propose" as Cairn's figure beside
 * PostgreSQL's, which preloads 1,000,000 members too.
 *
 * Parameters come from the environment: BENCH_AUDIT_TXS, BENCH_MEMBERS,
 * BENCH_TXS, BENCH_MEMBERS_SMALL, BENCH_MEMBERS_LARGE, BENCH_LIMIT_SECONDS,
 * BENCH_LMDB_BATCH, BENCH_TMPDIR. Generating and signing the workloads is
 * not timed; how long it took goes to stderr with the other progress.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_limits.h"
#include "bench_node.h"
#include "testutil.h"

typedef struct bench_params {
  uint64_t audit_txs;     /* main run: transactions, then audited */
  uint64_t members;       /* main run: members */
  uint64_t txs;           /* growth runs: transactions */
  uint64_t members_small; /* growth runs: members */
  uint64_t members_large; /* large growth run: accounts in state */
  uint64_t lmdb_batch;
  double limit_s;
  const char *tmp;
} bench_params;

typedef struct bench_limits {
  unsigned cpus;
  double schnorr1, schnorr_all, ed25519, lmdb_commits, lmdb_puts;
} bench_limits;

/* Everything the single-node part measured. */
typedef struct bench_runs {
  bench_workload_info main_w, growth_w;
  bench_node_result main, small, large;
  double audit; /* tx/s */
  uint64_t audited;
  double audit_busy; /* share of all CPUs busy during the audit */
  double main_s, growth_s; /* wall time of each part, setup included */
} bench_runs;

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *s = getenv(name);
  if (s == NULL || *s == '\0') return dflt;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || *end != '\0' || v == 0) {
    fprintf(stderr, "bench: %s=%s ignored (want a positive integer)\n", name,
            s);
    return dflt;
  }
  return (uint64_t)v;
}

static void read_line(const char *path, const char *prefix, char *out,
                      size_t cap) {
  char line[512];
  FILE *f = fopen(path, "r");
  snprintf(out, cap, "unknown");
  if (f == NULL) return;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, prefix, strlen(prefix)) != 0) continue;
    char *p = line;
    if (prefix[0] != '\0') {
      p = strchr(line, ':');
      if (p == NULL) break;
      p += strspn(p + 1, " \t") + 1;
    }
    p[strcspn(p, "\n")] = '\0';
    size_t n = strlen(p);
    if (n >= cap) n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    break;
  }
  fclose(f);
}

static void print_machine(const char *when) {
  char cpu[256], load[128], date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
  read_line("/proc/loadavg", "", load, sizeof load);
  if (strcmp(when, "start") == 0) {
    read_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    printf("Date: %s\nCPU: %s (%ld online)\n", date, cpu,
           sysconf(_SC_NPROCESSORS_ONLN));
  }
  printf("Load average at %s (%s): %s\n", when, date, load);
  fflush(stdout);
}

static void measure_limits(const bench_params *bp, bench_limits *l) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  l->cpus = n > 0 ? (unsigned)n : 1;
  fprintf(stderr, "bench: limits (%.1f s each)...\n", bp->limit_s);
  l->schnorr1 = bench_schnorr_verify_rate(1, bp->limit_s);
  l->schnorr_all = bench_schnorr_verify_rate(l->cpus, bp->limit_s);
  l->ed25519 = bench_ed25519_verify_rate(bp->limit_s);
  bench_lmdb_rates(bp->limit_s, bp->lmdb_batch, &l->lmdb_commits,
                   &l->lmdb_puts);
}

static double pct(double a, double b) { return b > 0 ? 100.0 * a / b : 0; }

static void row(const char *what, const char *measured, const char *bound,
                const char *target) {
  printf("| %s | %s | %s | %s |\n", what, measured, bound, target);
}

static void print_limits(const bench_params *bp, const bench_limits *l) {
  char m[128], w[128];
  printf(
      "\n| Figure | Measured | Bounded by / compared with | Target (issue 4) "
      "|\n");
  printf("|---|---|---|---|\n");
  snprintf(m, sizeof m, "%.0f verif/s", l->schnorr1);
  row("Limit: BIP-340 verify, 1 core", m, "CPU", "-");
  snprintf(w, sizeof w, "Limit: BIP-340 verify, all %u cores", l->cpus);
  snprintf(m, sizeof m, "%.0f verif/s", l->schnorr_all);
  row(w, m, "CPU", "-");
  snprintf(m, sizeof m, "%.0f verif/s", l->ed25519);
  row("Limit: Ed25519 verify, 1 core", m, "CPU", "-");
  snprintf(m, sizeof m, "%.0f commits/s", l->lmdb_commits);
  row("Limit: LMDB durable commits (1 put, fsync)", m, "disk fsync latency",
      "-");
  snprintf(w, sizeof w, "Limit: LMDB puts in %llu-put txns",
           (unsigned long long)bp->lmdb_batch);
  snprintf(m, sizeof m, "%.0f puts/s", l->lmdb_puts);
  row(w, m, "CPU / memory (B-tree)", "-");
}

static void print_node(const char *label, const bench_node_result *r,
                       const bench_limits *l) {
  char w[200], m[160], b[256];
  snprintf(w, sizeof w, "Single node (%s): propose + commit", label);
  snprintf(m, sizeof m, "%.0f tx/s (%llu tx, %llu blocks, %llu rejected)",
           r->propose_tx_s, (unsigned long long)r->txs,
           (unsigned long long)r->blocks, (unsigned long long)r->rejected);
  double secs = r->propose_tx_s > 0 ? (double)r->txs / r->propose_tx_s : 0;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  snprintf(b, sizeof b,
           "%.1f%% of all-core BIP-340; %.1f%% of 1-core; %.0f%% of the "
           "time in commit (store write + fsync); CPUs %.0f%% busy",
           pct(r->propose_tx_s, l->schnorr_all),
           pct(r->propose_tx_s, l->schnorr1),
           secs > 0 ? 100.0 * r->commit_s / secs : 0,
           secs > 0 && cpus > 0 ? 100.0 * r->cpu_s / (secs * (double)cpus)
                                : 0);
  row(w, m, b, ">= 70% of all-core");
  snprintf(w, sizeof w, "Single node (%s): apply_block (parallel verify)",
           label);
  snprintf(m, sizeof m, "%.0f tx/s", r->apply_tx_s);
  snprintf(b, sizeof b, "%.1f%% of all-core BIP-340",
           pct(r->apply_tx_s, l->schnorr_all));
  row(w, m, b, ">= 70% of all-core");
  if (r->rejected > 0) {
    snprintf(m, sizeof m, "%llu rejected", (unsigned long long)r->rejected);
    row("  WARNING: proposer rejected candidates", m, "-", "0");
  }
}

static void print_growth(const bench_params *bp, const char *path,
                         double large, double small) {
  char w[200], m[128], b[128];
  snprintf(w, sizeof w, "Growth: %s, %llu vs %llu accounts in state", path,
           (unsigned long long)bp->members_large,
           (unsigned long long)bp->members_small);
  snprintf(m, sizeof m, "%.0f vs %.0f tx/s", large, small);
  snprintf(b, sizeof b, "%.1f%% slower at %llu", 100.0 - pct(large, small),
           (unsigned long long)bp->members_large);
  row(w, m, b, "<= 20% slower");
}

static void print_bytes(const char *label, const bench_node_result *r) {
  char w[160], m[256];
  double per_tx = r->txs > 0 ? (double)r->disk_bytes / (double)r->txs : 0;
  double added = r->txs > 0 && r->disk_bytes >= r->base_bytes
                     ? (double)(r->disk_bytes - r->base_bytes) / (double)r->txs
                     : 0;
  snprintf(w, sizeof w, "Bytes on disk per tx (data.mdb), %s", label);
  if (r->filler == 0)
    snprintf(m, sizeof m, "%.0f B/tx (%.1f MB / %llu tx)", per_tx,
             (double)r->disk_bytes / 1e6, (unsigned long long)r->txs);
  else
    snprintf(m, sizeof m,
             "%.0f B/tx (%.1f MB / %llu tx), of which %.1f MB the genesis "
             "state with %llu filler accounts; %.0f B/tx added by the run",
             per_tx, (double)r->disk_bytes / 1e6, (unsigned long long)r->txs,
             (double)r->base_bytes / 1e6, (unsigned long long)r->filler,
             added);
  row(w, m, "-", "-");
}

static void print_rest(const bench_params *bp, const bench_limits *l,
                       const bench_runs *r) {
  char w[160], m[128], b[160];
  snprintf(w, sizeof w, "Audit (cairn_audit_datadir, %llu tx chain)",
           (unsigned long long)r->audited);
  snprintf(m, sizeof m, "%.0f tx/s", r->audit);
  snprintf(b, sizeof b, "%.1f%% of all-core BIP-340; CPUs %.0f%% busy",
           pct(r->audit, l->schnorr_all), 100.0 * r->audit_busy);
  row(w, m, b, ">= 70% of all-core");
  print_growth(bp, "propose + commit", r->large.propose_tx_s,
               r->small.propose_tx_s);
  print_growth(bp, "apply_block", r->large.apply_tx_s, r->small.apply_tx_s);
  snprintf(w, sizeof w, "main run (%llu members)",
           (unsigned long long)bp->members);
  print_bytes(w, &r->main);
  snprintf(w, sizeof w, "%llu accounts in state",
           (unsigned long long)bp->members_small);
  print_bytes(w, &r->small);
  snprintf(w, sizeof w, "%llu accounts in state",
           (unsigned long long)bp->members_large);
  print_bytes(w, &r->large);
  row("Four validators",
      "not measured in this run (bench/run.sh measures it unless "
      "BENCH_SKIP_NET=1)",
      "-", "-");
  row("PostgreSQL baseline",
      "not measured in this run (bench/run.sh measures it unless "
      "BENCH_SKIP_PG=1)",
      "-", "-");
}

static void print_mix(const char *which, const bench_workload_info *i) {
  const bench_mix *x = &i->mix;
  double n = i->txs > 0 ? (double)i->txs : 1;
  printf("Workload (%s): %llu tx over %u members and 3 brands: %llu AGREE, "
         "%llu ISSUE (%.1f%%), %llu REDEEM (%.1f%%), %llu REDEEM_AT "
         "(%.1f%%), %llu COUPON_ISSUE (%.1f%%), %llu COUPON_REDEEM (%.1f%%)\n",
         which, (unsigned long long)i->txs, i->members,
         (unsigned long long)x->agree, (unsigned long long)x->issue,
         100.0 * (double)x->issue / n, (unsigned long long)x->redeem,
         100.0 * (double)x->redeem / n, (unsigned long long)x->redeem_at,
         100.0 * (double)x->redeem_at / n,
         (unsigned long long)x->coupon_issue,
         100.0 * (double)x->coupon_issue / n,
         (unsigned long long)x->coupon_redeem,
         100.0 * (double)x->coupon_redeem / n);
}

static void print_params(const bench_params *bp, const bench_runs *r) {
  printf(
      "Parameters: main run BENCH_MEMBERS=%llu members, BENCH_AUDIT_TXS=%llu "
      "tx (the audited chain); growth runs BENCH_MEMBERS_SMALL=%llu members, "
      "BENCH_TXS=%llu tx, on a state of those members alone and on one of "
      "BENCH_MEMBERS_LARGE=%llu accounts (%llu filler accounts with "
      "balances written into the genesis state)\n",
      (unsigned long long)bp->members, (unsigned long long)bp->audit_txs,
      (unsigned long long)bp->members_small, (unsigned long long)bp->txs,
      (unsigned long long)bp->members_large,
      (unsigned long long)(bp->members_large - bp->members_small));
  print_mix("main run", &r->main_w);
  print_mix("growth runs", &r->growth_w);
  printf("Single-node part wall time: main run and audit %.0f s, growth runs "
         "%.0f s (signing and prefill included, not timed in the figures)\n",
         r->main_s, r->growth_s);
}

static void tmp_path(char *out, size_t cap, const bench_params *bp,
                     const char *name) {
  snprintf(out, cap, "%s/cairn-bench-%ld-%s", bp->tmp, (long)getpid(), name);
}

static void remove_run(const char *dir) {
  char apply[600];
  snprintf(apply, sizeof apply, "%s-apply", dir);
  tu_rmtree(dir);
  tu_rmtree(apply);
}

static void params_read(bench_params *bp) {
  bp->audit_txs = env_u64("BENCH_AUDIT_TXS", 1000000);
  bp->members = env_u64("BENCH_MEMBERS", 1000000);
  bp->txs = env_u64("BENCH_TXS", 100000);
  bp->members_small = env_u64("BENCH_MEMBERS_SMALL", 10000);
  bp->members_large = env_u64("BENCH_MEMBERS_LARGE", 10000000);
  bp->lmdb_batch = env_u64("BENCH_LMDB_BATCH", 100000);
  bp->limit_s = (double)env_u64("BENCH_LIMIT_SECONDS", 2);
  bp->tmp = getenv("BENCH_TMPDIR") ? getenv("BENCH_TMPDIR") : "/tmp";
  if (bp->members > BENCH_MEMBERS_MAX) bp->members = BENCH_MEMBERS_MAX;
  if (bp->members_small > BENCH_MEMBERS_MAX)
    bp->members_small = BENCH_MEMBERS_MAX;
  if (bp->members_large < bp->members_small)
    bp->members_large = bp->members_small;
}

static int make_workload(bench_workload **w, uint64_t members, uint64_t txs,
                         bench_workload_info *info) {
  fprintf(stderr, "bench: generating %llu tx over %llu members...\n",
          (unsigned long long)txs, (unsigned long long)members);
  int rc = bench_workload_make(w, (uint32_t)members, txs, info);
  if (rc == 0)
    fprintf(stderr,
            "bench:   generated in order in %.1f s; member keys %.1f s and "
            "signing %.1f s on %u threads (not timed)\n",
            info->gen_s, info->keys_s, info->sign_s, info->threads);
  return rc;
}

static int run_one(const char *what, const char *dir, const bench_workload *w,
                   uint64_t filler, bench_node_result *out) {
  fprintf(stderr, "bench: single node, %s...\n", what);
  int rc = bench_node_run(dir, w, filler, out);
  fprintf(stderr,
          "bench:   genesis state %.1f s (not timed); propose %.0f tx/s, "
          "apply %.0f tx/s, %llu rejected\n",
          out->prefill_s, out->propose_tx_s, out->apply_tx_s,
          (unsigned long long)out->rejected);
  return rc;
}

/* The main run and the audit of its chain. */
static int run_main(const bench_params *bp, bench_runs *r) {
  char dir[512], what[128];
  bench_workload *w = NULL;
  double t0 = bench_now();
  tmp_path(dir, sizeof dir, bp, "main");
  int rc = make_workload(&w, bp->members, bp->audit_txs, &r->main_w);
  snprintf(what, sizeof what, "main run, %llu members",
           (unsigned long long)bp->members);
  if (rc == 0) rc = run_one(what, dir, w, 0, &r->main);
  bench_workload_free(w);
  if (rc == 0) {
    fprintf(stderr, "bench: audit of the main run's chain...\n");
    r->audit = bench_audit_run(dir, &r->audited, &r->audit_busy);
    if (r->audit <= 0) rc = -1;
  }
  remove_run(dir);
  r->main_s = bench_now() - t0;
  return rc;
}

/* One workload on a small state and on a large one. */
static int run_growth(const bench_params *bp, bench_runs *r) {
  char dsmall[512], dlarge[512], what[128];
  bench_workload *w = NULL;
  double t0 = bench_now();
  tmp_path(dsmall, sizeof dsmall, bp, "small");
  tmp_path(dlarge, sizeof dlarge, bp, "large");
  int rc = make_workload(&w, bp->members_small, bp->txs, &r->growth_w);
  snprintf(what, sizeof what, "%llu accounts in state",
           (unsigned long long)bp->members_small);
  if (rc == 0) rc = run_one(what, dsmall, w, 0, &r->small);
  remove_run(dsmall);
  snprintf(what, sizeof what, "%llu accounts in state",
           (unsigned long long)bp->members_large);
  if (rc == 0)
    rc = run_one(what, dlarge, w, bp->members_large - bp->members_small,
                 &r->large);
  remove_run(dlarge);
  bench_workload_free(w);
  r->growth_s = bench_now() - t0;
  return rc;
}

int main(void) {
  bench_params bp;
  bench_limits l;
  bench_runs r;
  char label[128];
  if (sodium_init() < 0) return 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  params_read(&bp);
  memset(&r, 0, sizeof r);
  print_machine("start");
  measure_limits(&bp, &l);
  int rc = run_main(&bp, &r);
  if (run_growth(&bp, &r) != 0) rc = -1;
  print_machine("end");
  print_params(&bp, &r);
  print_limits(&bp, &l);
  snprintf(label, sizeof label, "main run: %llu member accounts",
           (unsigned long long)bp.members);
  print_node(label, &r.main, &l);
  snprintf(label, sizeof label, "%llu members",
           (unsigned long long)bp.members_small);
  print_node(label, &r.small, &l);
  snprintf(label, sizeof label, "%llu members, %llu accounts in state",
           (unsigned long long)bp.members_small,
           (unsigned long long)bp.members_large);
  print_node(label, &r.large, &l);
  print_rest(&bp, &l, &r);
  if (rc != 0)
    printf("\nA measurement failed (see stderr); its figures are 0.\n");
  return rc == 0 ? 0 : 1;
}
