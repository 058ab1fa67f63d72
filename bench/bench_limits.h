/*
 * bench/bench_limits.h - the machine's limits that bound Cairn's figures.
 *
 * Each function measures one ceiling on this machine, in the same process
 * and run as the ledger figures they are printed beside: BIP-340 and
 * Ed25519 verifications per second, and LMDB durable commits and bulk puts
 * per second. Results are rates (per second) as doubles; this is benchmark
 * code, not ledger code, so floating point is fine here.
 */
#ifndef CAIRN_BENCH_LIMITS_H
#define CAIRN_BENCH_LIMITS_H

#include <stddef.h>

/* Seconds on the monotonic clock. */
double bench_now(void);
/* CPU seconds used so far by the whole process (every thread). */
double bench_cpu_seconds(void);

/* BIP-340 verifications per second over pre-made signatures on `threads`
 * threads (1 = the calling thread's core), each verifying for `seconds`.
 * Returns 0 if a pre-made signature failed to verify (a broken build). */
double bench_schnorr_verify_rate(unsigned threads, double seconds);

/* Ed25519 verifications per second on one thread. 0 on failure. */
double bench_ed25519_verify_rate(double seconds);

/* LMDB in a fresh directory under /tmp: small write transactions (one put
 * each) committed with fsync, per second; and puts per second in
 * transactions of `batch` random 36-byte keys. Either is 0 on failure. */
void bench_lmdb_rates(double seconds, size_t batch, double *commits_per_s,
                      double *puts_per_s);

#endif
