/*
 * bench/netbench/main.c - `cairn_netbench`: validators on loopback, the
 * network row of `make bench`.
 *
 *   cairn_netbench CAIRND [WORKDIR]
 *
 * Measures two load levels, each on a fresh testnet of BENCH_NET_NODES (4)
 * validators created with `CAIRND testnet` under WORKDIR (or a fresh
 * directory under BENCH_TMPDIR, removed at the end) - so that what the
 * first level does to the network (a backlog, a peer banned for its
 * message rate) cannot change the second's figures:
 *   - full load: the mix as fast as the nodes accept it (at most
 *     BENCH_NET_WINDOW pending) for BENCH_NET_SECONDS;
 *   - half load: the mix offered at half the committed rate of the full
 *     level, for BENCH_NET_SECONDS.
 * On each testnet the nodes are started, the workload is signed (load.c)
 * and a warm-up (one ISSUE of every brand to every member, waited for
 * until committed, not reported) comes before the measured phase
 * (drive.c); then the nodes are stopped and their logs searched for p2p
 * punishments. Rows of the bench table go to stdout, progress to stderr;
 * the exit status is 0 if both levels were measured.
 *
 * The figures are set beside the machine's BIP-340 limit divided by the
 * number of validators: every node verifies every transaction, and here
 * all of them share this machine's CPUs. The limit is the all-core figure
 * of the same `make bench` run, passed in BENCH_NET_SCHNORR_ALL by
 * bench/run.sh; without it, it is measured here (bench_limits.c).
 *
 * Other parameters: BENCH_NET_INTERVAL_MS (block interval, 100),
 * BENCH_NET_MEMBERS (1000), BENCH_NET_TXS (signed mix transactions at
 * full load, 160000), BENCH_NET_CONNS (member connections per node, 2),
 * BENCH_NET_DRAIN_SECONDS (wait for commits after a phase, 15),
 * BENCH_NET_WARMUP_RATE (tx/s of the warm-up, 500: gentle, so that the
 * network starts each level in a normal state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bench_limits.h"
#include "netbench.h"
#include "testutil.h"

#define NB_PASSPHRASE "cairn-bench"
/* A wait for a block this long (with transactions pending) is a stall,
 * not a slow block: reported as such. */
#define NB_STALL_S 5.0

typedef struct nb_params {
  const char *cairnd, *tmp, *workdir;
  unsigned nodes, interval_ms, conns;
  uint32_t members;
  size_t txs, window;
  double seconds, drain_s, limit_all, warmup_rate;
} nb_params;

static double env_num(const char *name, double dflt) {
  const char *s = getenv(name);
  if (s == NULL || *s == '\0') return dflt;
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v > 0)) {
    fprintf(stderr, "netbench: %s=%s ignored (want a positive number)\n", name,
            s);
    return dflt;
  }
  return v;
}

static void params_read(nb_params *p, int argc, char **argv) {
  memset(p, 0, sizeof *p);
  p->cairnd = argv[1];
  p->workdir = argc > 2 ? argv[2] : NULL;
  p->tmp = getenv("BENCH_TMPDIR") ? getenv("BENCH_TMPDIR") : "/tmp";
  p->nodes = (unsigned)env_num("BENCH_NET_NODES", 4);
  if (p->nodes > NETBENCH_NODES_MAX) p->nodes = NETBENCH_NODES_MAX;
  p->interval_ms = (unsigned)env_num("BENCH_NET_INTERVAL_MS", 100);
  p->conns = (unsigned)env_num("BENCH_NET_CONNS", 2);
  if (p->conns > 8) p->conns = 8;
  p->members = (uint32_t)env_num("BENCH_NET_MEMBERS", 1000);
  p->warmup_rate = env_num("BENCH_NET_WARMUP_RATE", 500);
  p->txs = (size_t)env_num("BENCH_NET_TXS", 160000);
  p->window = (size_t)env_num("BENCH_NET_WINDOW", 4000);
  p->seconds = env_num("BENCH_NET_SECONDS", 20);
  p->drain_s = env_num("BENCH_NET_DRAIN_SECONDS", 15);
  p->limit_all = env_num("BENCH_NET_SCHNORR_ALL", 0);
}

static const char *label(const nb_params *p, char *buf, size_t cap) {
  if (p->nodes == 4)
    snprintf(buf, cap, "Four validators on loopback");
  else if (p->nodes == 1)
    snprintf(buf, cap, "Single node through cairnd's HTTP API (1 validator "
                       "on loopback)");
  else
    snprintf(buf, cap, "%u validator%s on loopback", p->nodes,
             p->nodes == 1 ? "" : "s");
  return buf;
}

static void fmt_latency(char *out, size_t cap, const netbench_phase *ph) {
  char p50[32], p99[32];
  if (ph->p50_s >= 0)
    snprintf(p50, sizeof p50, "%.3f s", ph->p50_s);
  else
    snprintf(p50, sizeof p50, "> %.0f s", ph->drain_s);
  if (ph->p99_s >= 0)
    snprintf(p99, sizeof p99, "%.3f s", ph->p99_s);
  else
    snprintf(p99, sizeof p99, "not committed within %.0f s", ph->drain_s);
  snprintf(out, cap, "finality p50 %s, p99 %s", p50, p99);
}

static void print_phase(const nb_params *p, const netbench_phase *ph,
                        const char *load, const char *target) {
  char l[64], lat[160], m[320], b[320];
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  double share = p->limit_all / (double)p->nodes;
  fmt_latency(lat, sizeof lat, ph);
  snprintf(m, sizeof m, "%.0f tx/s committed (%.0f offered, %llu blocks in "
           "%.0f s); %s",
           ph->committed_tx_s, ph->offered_tx_s,
           (unsigned long long)ph->blocks, ph->submit_s, lat);
  char busy[48] = "not readable";
  if (ph->machine_busy >= 0)
    snprintf(busy, sizeof busy, "%.0f%%", 100.0 * ph->machine_busy);
  if (p->nodes == 1)
    snprintf(b, sizeof b,
             "%.1f%% of all-core BIP-340 (%.0f verif/s): one cairnd on %ld "
             "CPUs, its event loop admitting, proposing and committing; "
             "machine CPU busy %s",
             share > 0 ? 100.0 * ph->committed_tx_s / share : 0, share, cpus,
             busy);
  else
    snprintf(b, sizeof b,
             "%.1f%% of all-core BIP-340 / %u (%.0f verif/s): %u nodes on %ld "
             "CPUs, each verifying every tx; machine CPU busy %s",
             share > 0 ? 100.0 * ph->committed_tx_s / share : 0, p->nodes,
             share, p->nodes, cpus, busy);
  printf("| %s, %s | %s | %s | %s |\n", label(p, l, sizeof l), load, m, b,
         target);
  if (ph->first + ph->used >= ph->end && ph->submit_s < ph->seconds * 0.99)
    printf("|   WARNING: %s | ran out of signed transactions after %.1f s "
           "(raise BENCH_NET_TXS) | - | - |\n", load, ph->submit_s);
  if (ph->max_gap_s > NB_STALL_S)
    printf("|   WARNING: %s | the network stalled: no block for %.1f s | - | "
           "- |\n", load, ph->max_gap_s);
  if (ph->rejected > 0 || ph->uncommitted > 0) {
    snprintf(m, sizeof m, "%zu refused, %zu skipped, %zu not committed (%s)",
             ph->rejected, ph->skipped, ph->uncommitted,
             ph->first_error[0] ? ph->first_error : "-");
    printf("|   WARNING: %s | %s | - | 0 |\n", load, m);
  }
}

static void log_phase(const char *name, const netbench_phase *ph) {
  fprintf(stderr,
          "netbench: %s: %zu released in %.1f s (%.0f/s), %zu accepted, %zu "
          "refused, %zu skipped, %zu retries; %.0f tx/s committed in %llu "
          "blocks; latency p50 %.3f p99 %.3f max %.3f s; %zu not committed; "
          "load generator CPU %.0f%% of one core; longest wait for a block "
          "%.2f s\n",
          name, ph->used, ph->submit_s, ph->offered_tx_s, ph->accepted,
          ph->rejected, ph->skipped, ph->retried, ph->committed_tx_s,
          (unsigned long long)ph->blocks, ph->p50_s, ph->p99_s, ph->max_s,
          ph->uncommitted,
          ph->submit_s > 0 ? 100.0 * ph->cpu_s / ph->submit_s : 0,
          ph->max_gap_s);
  if (ph->first_error[0]) fprintf(stderr, "netbench:   first refusal: %s\n",
                                  ph->first_error);
}

/* One load level on its own fresh testnet, so that what one level does to
 * the network (a backlog, a peer banned for its message rate) cannot
 * change the next level's figures. */
typedef struct nb_level {
  const char *name; /* subdirectory and log name: "full", "half" */
  double rate;      /* offered tx/s; 0 = as fast as accepted */
  netbench_phase ph;
  unsigned punished; /* "punishing peer" lines in the nodes' logs */
  char punish[200];  /* the first of them */
  char why[160];     /* why it was not measured; "" if it was */
} nb_level;

/* Warm-up, then the level's phase, over a running cluster. */
static int run_phases(const nb_params *p, netbench_driver *d,
                      const netbench_load *l, nb_level *lv) {
  netbench_phase warm = {.name = "warm-up", .first = 0, .end = l->warmup,
                         .seconds = 600, .rate = p->warmup_rate,
                         .window = p->window, .drain_s = 60};
  fprintf(stderr, "netbench: %s: warm-up, %zu ISSUEs to %u members...\n",
          lv->name, l->warmup, p->members);
  int rc = netbench_drive(d, &warm);
  log_phase("warm-up", &warm);
  if (rc != 0 || warm.rejected > 0 || warm.uncommitted > 0) {
    snprintf(lv->why, sizeof lv->why, "%s",
             warm.uncommitted < warm.accepted
                 ? "the warm-up ISSUEs did not all commit in 60 s"
                 : "the network committed no block in 60 s");
    return -1;
  }
  lv->ph = (netbench_phase){.name = lv->name, .first = l->warmup, .end = l->n,
                            .seconds = p->seconds, .rate = lv->rate,
                            .window = p->window, .drain_s = p->drain_s};
  fprintf(stderr, "netbench: %s load for %.0f s...\n", lv->name, p->seconds);
  rc = netbench_drive(d, &lv->ph);
  log_phase(lv->name, &lv->ph);
  if (rc != 0) snprintf(lv->why, sizeof lv->why, "a node stopped answering");
  return rc;
}

/* Keys, workload and phases on a started cluster. */
static int run_started(const nb_params *p, const netbench_cluster *cl,
                       nb_level *lv) {
  netbench_chain *ch = sodium_malloc(sizeof *ch);
  netbench_load l;
  char keys[600];
  memset(&l, 0, sizeof l);
  snprintf(keys, sizeof keys, "%s/keys", cl->dir);
  /* At a fixed rate, sign what the level can use (and 5% more). */
  size_t mix = lv->rate > 0 ? (size_t)(lv->rate * p->seconds * 1.05) + 100
                            : p->txs;
  int rc = -1;
  if (ch != NULL &&
      netbench_chain_read(ch, cl->base_port, keys, NB_PASSPHRASE) == 0) {
    double t0 = bench_now();
    rc = netbench_load_make(&l, ch, p->members, mix);
    if (rc == 0)
      fprintf(stderr, "netbench: signed %zu transactions in %.1f s (not "
              "timed)\n", l.n, bench_now() - t0);
    netbench_chain_wipe(ch);
  }
  if (ch != NULL) sodium_free(ch);
  if (rc != 0) {
    snprintf(lv->why, sizeof lv->why, "cannot read the keys or sign");
    return -1;
  }
  uint64_t h = netbench_cluster_min_height(cl);
  netbench_driver *d = netbench_driver_open(cl, &l, p->conns, h + 1);
  rc = d != NULL ? run_phases(p, d, &l, lv) : -1;
  if (d == NULL) snprintf(lv->why, sizeof lv->why, "cannot connect");
  netbench_driver_close(d);
  netbench_load_free(&l);
  return rc;
}

/* Count the p2p punishments the nodes logged; keep the first. */
static void scan_logs(const netbench_cluster *cl, nb_level *lv) {
  for (unsigned i = 0; i < cl->nodes; i++) {
    char path[700], line[1024];
    snprintf(path, sizeof path, "%s/node%u.log", cl->logs, i);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
      char *at = strstr(line, "punishing peer");
      if (at == NULL) continue;
      if (lv->punished++ == 0) {
        at[strcspn(at, "\n")] = '\0';
        snprintf(lv->punish, sizeof lv->punish, "node%u: %.150s", i, at);
      }
    }
    if (f != NULL) fclose(f);
  }
}

static int run_level(const nb_params *p, const char *dir, nb_level *lv) {
  netbench_cluster cl;
  char sub[600], net[700];
  snprintf(sub, sizeof sub, "%s/%s", dir, lv->name);
  if (mkdir(sub, 0700) != 0 && errno != EEXIST) return -1;
  fprintf(stderr, "netbench: %s load: a fresh %u-validator testnet in %s\n",
          lv->name, p->nodes, sub);
  if (netbench_cluster_create(&cl, p->cairnd, sub, p->nodes, p->interval_ms) !=
      0) {
    snprintf(lv->why, sizeof lv->why, "`cairnd testnet` failed");
    return -1;
  }
  int rc = netbench_cluster_start(&cl, 30.0);
  if (rc != 0) snprintf(lv->why, sizeof lv->why, "the nodes did not start");
  if (rc == 0) rc = run_started(p, &cl, lv);
  netbench_cluster_stop(&cl);
  scan_logs(&cl, lv);
  if (rc != 0 || lv->punished > 0) netbench_cluster_tail_logs(&cl, 12);
  snprintf(net, sizeof net, "%s/net", sub);
  tu_rmtree(net); /* the chains; the logs stay until the run's end */
  return rc;
}

static void print_level(const nb_params *p, const nb_level *lv,
                        const char *load, const char *target) {
  char l[64], m[256];
  if (lv->why[0] != '\0') {
    printf("| %s, %s | not measured: %s | - | %s |\n", label(p, l, sizeof l),
           load, lv->why, target);
  } else {
    print_phase(p, &lv->ph, load, target);
  }
  if (lv->punished > 0) {
    snprintf(m, sizeof m, "%u peer punishments in the node logs (first: %s)",
             lv->punished, lv->punish);
    printf("|   WARNING: %s load | %s | - | 0 |\n", lv->name, m);
  }
}

/* Full load, then half of its committed rate, each on a fresh testnet. */
static int run_levels(const nb_params *p, const char *dir) {
  nb_level full = {.name = "full"}, half = {.name = "half"};
  char load[96];
  int rc = run_level(p, dir, &full);
  if (p->nodes == 1) { /* a reference for the single-node rows: full only */
    snprintf(load, sizeof load,
             "full load (as fast as accepted, <= %zu pending)", p->window);
    print_level(p, &full, load, "-");
    return rc;
  }
  if (rc == 0 && full.ph.committed_tx_s > 0) {
    half.rate = full.ph.committed_tx_s / 2;
    rc = run_level(p, dir, &half);
  } else {
    rc = -1;
    snprintf(half.why, sizeof half.why, "no full-load figure to halve");
  }
  snprintf(load, sizeof load, "full load (as fast as accepted, <= %zu pending)",
           p->window);
  print_level(p, &full, load, ">= 50% of all-core / 4");
  snprintf(load, sizeof load, "half load (%.0f tx/s offered)", half.rate);
  print_level(p, &half, load, "p99 finality < 1 s");
  return rc;
}

int main(int argc, char **argv) {
  nb_params p;
  char own[600] = "";
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: cairn_netbench CAIRND [WORKDIR]\n");
    return 2;
  }
  if (sodium_init() < 0) return 1;
  setvbuf(stdout, NULL, _IOLBF, 0);
  params_read(&p, argc, argv);
  if (p.limit_all <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    fprintf(stderr, "netbench: measuring the all-core BIP-340 limit...\n");
    p.limit_all = bench_schnorr_verify_rate(cpus > 0 ? (unsigned)cpus : 1, 2);
  }
  setenv("CAIRN_PASSPHRASE", NB_PASSPHRASE, 1);
  setenv("CAIRN_KDF_FAST", "1", 1);
  const char *dir = p.workdir;
  if (dir == NULL) {
    snprintf(own, sizeof own, "%s/cairn-bench-net-XXXXXX", p.tmp);
    if (mkdtemp(own) == NULL) {
      fprintf(stderr, "netbench: mkdtemp %s: %s\n", own, strerror(errno));
      return 1;
    }
    dir = own;
  }
  printf("Network parameters: %u validator%s (cairnd processes, sync on), "
         "block interval %u ms, %u members, %.0f s per load level, at most "
         "%zu pending at full load, %u member connections per node and one "
         "per issuer, finality seen on node 0 (BENCH_NET_NODES, "
         "BENCH_NET_INTERVAL_MS, BENCH_NET_MEMBERS, BENCH_NET_SECONDS, "
         "BENCH_NET_WINDOW, BENCH_NET_CONNS)\n",
         p.nodes, p.nodes == 1 ? "" : "s", p.interval_ms, p.members,
         p.seconds, p.window, p.conns);
  int rc = run_levels(&p, dir);
  if (own[0] != '\0') tu_rmtree(own);
  return rc == 0 ? 0 : 1;
}
