/*
 * bench/bench_node.h - single-node and audit throughput through libcairn.
 */
#ifndef CAIRN_BENCH_NODE_H
#define CAIRN_BENCH_NODE_H

#include <stddef.h>
#include <stdint.h>

/* Most members a workload may have: their key pairs are held in memory
 * (128 bytes each) and (member, brand) pairs are indexed with a u32. */
#define BENCH_MEMBERS_MAX 100000000u

/* How many transactions of each type a workload holds. */
typedef struct bench_mix {
  uint64_t agree;         /* the agreements set up first */
  uint64_t issue;         /* ISSUE */
  uint64_t redeem;        /* REDEEM at the brand itself */
  uint64_t redeem_at;     /* REDEEM_AT: cross-brand, under an agreement */
  uint64_t coupon_issue;  /* COUPON_ISSUE */
  uint64_t coupon_redeem; /* COUPON_REDEEM of a coupon issued earlier */
} bench_mix;

/* A generated, signed workload, and what making it took. */
typedef struct bench_workload bench_workload;
typedef struct bench_workload_info {
  uint32_t members;
  uint64_t txs;
  bench_mix mix;
  unsigned threads; /* threads that derived keys and signed */
  double gen_s;     /* generating the unsigned transactions, in order */
  double keys_s;    /* deriving the member key pairs */
  double sign_s;    /* signing every transaction */
} bench_workload_info;

/* Generate ntx transactions over the three demo brands (tests/testutil.h)
 * and `members` members (1..BENCH_MEMBERS_MAX): first one AGREE from each
 * side of an agreement between every ordered pair of brands, then about
 * 45% ISSUE, 35% REDEEM, 5% REDEEM_AT, 10% COUPON_ISSUE and 5%
 * COUPON_REDEEM, each valid when applied in order after the demo genesis.
 * Keys are derived and transactions signed on one thread per online CPU.
 * *out is freed with bench_workload_free; info (may be NULL) says what was
 * made and how long it took. Returns 0, or -1 with a message on stderr. */
int bench_workload_make(bench_workload **out, uint32_t members, uint64_t ntx,
                        bench_workload_info *info);
void bench_workload_free(bench_workload *w);

/* What one single-node run measured. */
typedef struct bench_node_result {
  uint64_t txs;        /* transactions committed */
  uint64_t rejected;   /* candidates the proposer left out (should be 0) */
  uint64_t blocks;     /* blocks committed */
  uint64_t filler;     /* accounts written into the genesis state */
  double propose_tx_s; /* propose + commit path, tx/s */
  double apply_tx_s;   /* apply_block path (parallel verify), tx/s */
  double prefill_s;    /* time to write the genesis state and filler */
  double commit_s;     /* of the propose path: in cairn_chain_commit_proposal
                          (the store write and its fsync), the rest being
                          cairn_chain_propose (checks and execution) */
  double cpu_s;        /* process CPU time during the propose path */
  uint64_t disk_bytes; /* data.mdb allocated bytes after the run */
  uint64_t base_bytes; /* of which allocated before the first block */
} bench_node_result;

/* Time proposing and committing every transaction of w in blocks of up to
 * CAIRN_BLOCK_TXS_MAX into a durable store in dir (created; must not
 * exist), then applying the same blocks with their commits into a second
 * durable store (dir + "-apply"). `filler` extra accounts with a balance
 * are written into the genesis state of both first (not timed). Returns 0
 * on success, -1 with a message on stderr. */
int bench_node_run(const char *dir, const bench_workload *w, uint64_t filler,
                   bench_node_result *out);

/* Time cairn_audit_datadir over dir; *txs receives the audited count and
 * *busy the share of all CPUs the process kept busy meanwhile (0..1).
 * Returns tx/s, or 0 with a message on stderr (also when the audit finds
 * the chain does not hold up). */
double bench_audit_run(const char *dir, uint64_t *txs, double *busy);

#endif
