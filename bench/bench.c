/*
 * bench/bench.c - `make bench`: Cairn's throughput beside this machine's
 * limits, all measured in one run, printed as one table.
 *
 * Order of the run: the machine (CPU model, online CPUs, date, load
 * average), the limits (bench_limits.c), the single-node figure with
 * BENCH_MEMBERS members over a chain of BENCH_AUDIT_TXS transactions, the
 * audit of that chain, the same workload of BENCH_TXS transactions with
 * BENCH_MEMBERS_LARGE accounts in the state, then the load average again.
 * Every figure is printed beside the limit that bounds it and the target
 * the issue sets; targets are reported, never asserted (the exit status
 * says only whether every measurement ran).
 *
 * Parameters come from the environment (the defaults keep a run to a few
 * minutes on two cores): BENCH_TXS, BENCH_AUDIT_TXS, BENCH_MEMBERS,
 * BENCH_MEMBERS_LARGE, BENCH_LIMIT_SECONDS, BENCH_LMDB_BATCH, BENCH_TMPDIR.
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
  uint64_t txs, audit_txs, members, members_large, lmdb_batch;
  double limit_s;
  const char *tmp;
} bench_params;

typedef struct bench_limits {
  unsigned cpus;
  double schnorr1, schnorr_all, ed25519, lmdb_commits, lmdb_puts;
} bench_limits;

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
  char w[160], m[128], b[160];
  snprintf(w, sizeof w, "Single node %s: propose + commit", label);
  snprintf(m, sizeof m, "%.0f tx/s (%llu tx, %llu blocks)", r->propose_tx_s,
           (unsigned long long)r->txs, (unsigned long long)r->blocks);
  snprintf(b, sizeof b,
           "%.1f%% of all-core BIP-340; %.1f%% of 1-core",
           pct(r->propose_tx_s, l->schnorr_all),
           pct(r->propose_tx_s, l->schnorr1));
  row(w, m, b, ">= 70% of all-core");
  snprintf(w, sizeof w, "Single node %s: apply_block (parallel verify)", label);
  snprintf(m, sizeof m, "%.0f tx/s", r->apply_tx_s);
  snprintf(b, sizeof b, "%.1f%% of all-core BIP-340",
           pct(r->apply_tx_s, l->schnorr_all));
  row(w, m, b, ">= 70% of all-core");
  if (r->rejected > 0) {
    snprintf(m, sizeof m, "%llu rejected", (unsigned long long)r->rejected);
    row("  WARNING: proposer rejected candidates", m, "-", "0");
  }
}

static void print_rest(const bench_params *bp, const bench_limits *l,
                       const bench_node_result *small,
                       const bench_node_result *large, double audit,
                       uint64_t audited) {
  char w[160], m[128], b[160];
  snprintf(w, sizeof w, "Audit (cairn_audit_datadir, %llu tx chain)",
           (unsigned long long)audited);
  snprintf(m, sizeof m, "%.0f tx/s", audit);
  snprintf(b, sizeof b, "%.1f%% of all-core BIP-340",
           pct(audit, l->schnorr_all));
  row(w, m, b, ">= 70% of all-core");
  snprintf(w, sizeof w, "Growth: propose + commit, %llu vs %llu members",
           (unsigned long long)bp->members_large,
           (unsigned long long)bp->members);
  snprintf(m, sizeof m, "%.0f vs %.0f tx/s", large->propose_tx_s,
           small->propose_tx_s);
  snprintf(b, sizeof b, "%.1f%% slower at the large count",
           100.0 - pct(large->propose_tx_s, small->propose_tx_s));
  row(w, m, b, "<= 20% slower");
  snprintf(w, sizeof w, "Growth: apply_block, %llu vs %llu members",
           (unsigned long long)bp->members_large,
           (unsigned long long)bp->members);
  snprintf(m, sizeof m, "%.0f vs %.0f tx/s", large->apply_tx_s,
           small->apply_tx_s);
  snprintf(b, sizeof b, "%.1f%% slower at the large count",
           100.0 - pct(large->apply_tx_s, small->apply_tx_s));
  row(w, m, b, "<= 20% slower");
  snprintf(m, sizeof m, "%.0f B/tx (%.1f MB / %llu tx)", small->bytes_per_tx,
           (double)small->disk_bytes / 1e6, (unsigned long long)small->txs);
  row("Bytes on disk per tx (data.mdb, small run)", m, "-", "-");
  snprintf(m, sizeof m, "%.0f B/tx (%.1f MB / %llu tx, incl. filler accounts)",
           large->bytes_per_tx, (double)large->disk_bytes / 1e6,
           (unsigned long long)large->txs);
  row("Bytes on disk per tx (data.mdb, large run)", m, "-", "-");
  row("Four validators", "not measured: needs the validator network (issue 6)",
      "-", "-");
  row("PostgreSQL baseline", "not measured yet", "-", "-");
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
  bp->audit_txs = env_u64("BENCH_AUDIT_TXS", 100000);
  bp->txs = env_u64("BENCH_TXS", 100000);
  bp->members = env_u64("BENCH_MEMBERS", 10000);
  bp->members_large = env_u64("BENCH_MEMBERS_LARGE", 1000000);
  bp->lmdb_batch = env_u64("BENCH_LMDB_BATCH", 100000);
  bp->limit_s = (double)env_u64("BENCH_LIMIT_SECONDS", 2);
  bp->tmp = getenv("BENCH_TMPDIR") ? getenv("BENCH_TMPDIR") : "/tmp";
  if (bp->members > UINT32_MAX) bp->members = UINT32_MAX;
  if (bp->members_large < bp->members) bp->members_large = bp->members;
}

static int run_nodes(const bench_params *bp, bench_node_result *small,
                     bench_node_result *large, double *audit,
                     uint64_t *audited) {
  char dsmall[512], dlarge[512];
  tmp_path(dsmall, sizeof dsmall, bp, "small");
  tmp_path(dlarge, sizeof dlarge, bp, "large");
  fprintf(stderr, "bench: single node, %llu members, %llu tx...\n",
          (unsigned long long)bp->members, (unsigned long long)bp->audit_txs);
  int rc =
      bench_node_run(dsmall, (uint32_t)bp->members, 0, bp->audit_txs, small);
  fprintf(stderr, "bench:   signing took %.1f s (not timed)\n", small->sign_s);
  if (rc == 0) {
    fprintf(stderr, "bench: audit...\n");
    *audit = bench_audit_run(dsmall, audited);
    if (*audit <= 0) rc = -1;
  }
  remove_run(dsmall);
  if (rc != 0) return rc;
  fprintf(stderr, "bench: single node, %llu accounts in state, %llu tx...\n",
          (unsigned long long)bp->members_large, (unsigned long long)bp->txs);
  rc = bench_node_run(dlarge, (uint32_t)bp->members,
                      bp->members_large - bp->members, bp->txs, large);
  fprintf(stderr, "bench:   prefill took %.1f s (not timed)\n",
          large->prefill_s);
  remove_run(dlarge);
  return rc;
}

int main(void) {
  bench_params bp;
  bench_limits l;
  bench_node_result small, large;
  double audit = 0;
  uint64_t audited = 0;
  if (sodium_init() < 0) return 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  params_read(&bp);
  memset(&small, 0, sizeof small);
  memset(&large, 0, sizeof large);
  print_machine("start");
  measure_limits(&bp, &l);
  int rc = run_nodes(&bp, &small, &large, &audit, &audited);
  print_machine("end");
  printf(
      "Parameters: BENCH_TXS=%llu BENCH_AUDIT_TXS=%llu BENCH_MEMBERS=%llu "
      "BENCH_MEMBERS_LARGE=%llu (large run: %llu active members + filler "
      "accounts with balances written into the genesis state)\n",
      (unsigned long long)bp.txs, (unsigned long long)bp.audit_txs,
      (unsigned long long)bp.members, (unsigned long long)bp.members_large,
      (unsigned long long)bp.members);
  print_limits(&bp, &l);
  char label[96];
  snprintf(label, sizeof label, "(%llu members)",
           (unsigned long long)bp.members);
  print_node(label, &small, &l);
  snprintf(label, sizeof label, "(%llu accounts)",
           (unsigned long long)bp.members_large);
  print_node(label, &large, &l);
  print_rest(&bp, &l, &small, &large, audit, audited);
  if (rc != 0)
    printf("\nA measurement failed (see stderr); its figures are 0.\n");
  return rc == 0 ? 0 : 1;
}
