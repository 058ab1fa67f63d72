/*
 * bench/bench_limits.c - measuring the ceilings Cairn runs under.
 *
 * A throughput figure means little alone: 5,000 transactions per second is
 * good on a machine that verifies 6,000 signatures per second and poor on
 * one that verifies 60,000. So the benchmark first measures what the
 * machine itself can do for the two costs every transaction pays:
 *
 *   - signature verification: BIP-340 on one core and on every online core
 *     (one pthread per CPU, each looping over its own pre-made signatures,
 *     so threads share nothing), and Ed25519 (validator votes) on one core;
 *   - durable storage: LMDB small write transactions committed with fsync
 *     (the floor on blocks per second), and puts per second inside large
 *     transactions (the cost of writing state, indexes and blocks).
 *
 * Each loop runs for a fixed wall time rather than a fixed count, so the
 * run takes the same time on slow and fast machines. Signatures are made
 * before the clock starts; only verification is timed.
 */
#include "bench_limits.h"

#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn/sig.h"

#define SIG_SET 64 /* distinct signatures each verifier cycles through */

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_cpu_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return 0;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct sig_set {
  uint8_t pk[SIG_SET][CAIRN_PUBKEY_BYTES];
  uint8_t msg[SIG_SET][32];
  uint8_t sig[SIG_SET][CAIRN_SIG_BYTES];
} sig_set;

typedef struct verify_job {
  const sig_set *set;
  double seconds;
  uint64_t count; /* out: verifications done */
  int failed;     /* out: a signature did not verify */
} verify_job;

static int sig_set_make(sig_set *s) {
  uint8_t sk[CAIRN_SECKEY_BYTES];
  for (size_t i = 0; i < SIG_SET; i++) {
    randombytes_buf(s->msg[i], 32);
    if (cairn_schnorr_keygen(sk, s->pk[i]) != CAIRN_OK ||
        cairn_schnorr_sign(s->sig[i], sk, s->msg[i], NULL) != CAIRN_OK)
      return -1;
  }
  sodium_memzero(sk, sizeof sk);
  return 0;
}

/* Verify in rounds of SIG_SET until the time is up. */
static void *verify_main(void *arg) {
  verify_job *j = arg;
  double end = bench_now() + j->seconds;
  while (bench_now() < end) {
    for (size_t i = 0; i < SIG_SET; i++) {
      if (cairn_schnorr_verify(j->set->sig[i], j->set->msg[i], 32,
                               j->set->pk[i]) != CAIRN_OK)
        j->failed = 1;
    }
    j->count += SIG_SET;
  }
  return NULL;
}

double bench_schnorr_verify_rate(unsigned threads, double seconds) {
  if (threads < 1) threads = 1;
  sig_set *sets = calloc(threads, sizeof *sets);
  verify_job *jobs = calloc(threads, sizeof *jobs);
  pthread_t *tids = calloc(threads, sizeof *tids);
  double rate = 0;
  unsigned started = 0;
  int failed = sets == NULL || jobs == NULL || tids == NULL;
  for (unsigned t = 0; !failed && t < threads; t++) {
    failed = sig_set_make(&sets[t]) != 0;
    jobs[t].set = &sets[t];
    jobs[t].seconds = seconds;
  }
  double t0 = bench_now();
  for (unsigned t = 0; !failed && t < threads; t++) {
    if (pthread_create(&tids[t], NULL, verify_main, &jobs[t]) != 0) break;
    started++;
  }
  uint64_t total = 0;
  for (unsigned t = 0; t < started; t++) {
    pthread_join(tids[t], NULL);
    total += jobs[t].count;
    failed |= jobs[t].failed;
  }
  double dt = bench_now() - t0;
  if (!failed && started == threads && dt > 0) rate = (double)total / dt;
  free(sets);
  free(jobs);
  free(tids);
  return rate;
}

double bench_ed25519_verify_rate(double seconds) {
  uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES], sk[CAIRN_ED25519_SECKEY_BYTES];
  uint8_t msg[SIG_SET][32], sig[SIG_SET][CAIRN_ED25519_SIG_BYTES];
  if (cairn_ed25519_keygen(pk, sk) != CAIRN_OK) return 0;
  for (size_t i = 0; i < SIG_SET; i++) {
    randombytes_buf(msg[i], 32);
    if (cairn_ed25519_sign(sig[i], sk, msg[i], 32) != CAIRN_OK) return 0;
  }
  sodium_memzero(sk, sizeof sk);
  uint64_t count = 0;
  double t0 = bench_now(), end = t0 + seconds;
  while (bench_now() < end) {
    for (size_t i = 0; i < SIG_SET; i++)
      if (cairn_ed25519_verify(sig[i], msg[i], 32, pk) != CAIRN_OK) return 0;
    count += SIG_SET;
  }
  return (double)count / (bench_now() - t0);
}

/* One put per transaction, committed durably, until the time is up. */
static double lmdb_commit_rate(MDB_env *env, MDB_dbi dbi, double seconds) {
  uint64_t n = 0;
  double t0 = bench_now(), end = t0 + seconds;
  while (bench_now() < end) {
    MDB_txn *txn = NULL;
    uint8_t k[8], v[8] = {0};
    memcpy(k, &n, sizeof k);
    MDB_val key = {sizeof k, k}, val = {sizeof v, v};
    if (mdb_txn_begin(env, NULL, 0, &txn) != 0) return 0;
    if (mdb_put(txn, dbi, &key, &val, 0) != 0) {
      mdb_txn_abort(txn);
      return 0;
    }
    if (mdb_txn_commit(txn) != 0) return 0; /* commit frees txn either way */
    n++;
  }
  return (double)n / (bench_now() - t0);
}

/* Transactions of `batch` random 36-byte keys (like balance keys) with
 * 8-byte values; at least one, more while under the time. */
static double lmdb_put_rate(MDB_env *env, MDB_dbi dbi, double seconds,
                            size_t batch) {
  uint64_t n = 0;
  double t0 = bench_now(), end = t0 + seconds;
  do {
    MDB_txn *txn = NULL;
    if (mdb_txn_begin(env, NULL, 0, &txn) != 0) return 0;
    for (size_t i = 0; i < batch; i++) {
      uint8_t k[36], v[8] = {1};
      randombytes_buf(k, sizeof k);
      MDB_val key = {sizeof k, k}, val = {sizeof v, v};
      if (mdb_put(txn, dbi, &key, &val, 0) != 0) {
        mdb_txn_abort(txn);
        return 0;
      }
    }
    if (mdb_txn_commit(txn) != 0) return 0;
    n += batch;
  } while (bench_now() < end);
  return (double)n / (bench_now() - t0);
}

static void rm_lmdb_dir(const char *dir) {
  char path[256];
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/lock.mdb", dir);
  unlink(path);
  rmdir(dir);
}

void bench_lmdb_rates(double seconds, size_t batch, double *commits_per_s,
                      double *puts_per_s) {
  char dir[] = "/tmp/cairn-bench-lmdb-XXXXXX";
  MDB_env *env = NULL;
  MDB_txn *txn = NULL;
  MDB_dbi commits_dbi = 0, puts_dbi = 0;
  *commits_per_s = 0;
  *puts_per_s = 0;
  if (mkdtemp(dir) == NULL) return;
  int rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_mapsize(env, (size_t)4 << 30);
  if (rc == 0) rc = mdb_env_set_maxdbs(env, 4);
  if (rc == 0) rc = mdb_env_open(env, dir, 0, 0600);
  if (rc == 0) rc = mdb_txn_begin(env, NULL, 0, &txn);
  if (rc == 0) rc = mdb_dbi_open(txn, "commits", MDB_CREATE, &commits_dbi);
  if (rc == 0) rc = mdb_dbi_open(txn, "puts", MDB_CREATE, &puts_dbi);
  if (rc == 0)
    rc = mdb_txn_commit(txn);
  else if (txn != NULL)
    mdb_txn_abort(txn);
  if (rc == 0) {
    *commits_per_s = lmdb_commit_rate(env, commits_dbi, seconds);
    *puts_per_s = lmdb_put_rate(env, puts_dbi, seconds, batch);
  }
  if (env != NULL) mdb_env_close(env);
  rm_lmdb_dir(dir);
}
