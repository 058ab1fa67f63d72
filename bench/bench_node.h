/*
 * bench/bench_node.h - single-node and audit throughput through libcairn.
 */
#ifndef CAIRN_BENCH_NODE_H
#define CAIRN_BENCH_NODE_H

#include <stddef.h>
#include <stdint.h>

/* What one single-node run measured. */
typedef struct bench_node_result {
  uint64_t txs;        /* transactions committed */
  uint64_t rejected;   /* candidates the proposer left out (should be 0) */
  uint64_t blocks;     /* blocks committed */
  double propose_tx_s; /* propose + commit path, tx/s */
  double apply_tx_s;   /* apply_block path (parallel verify), tx/s */
  double bytes_per_tx; /* data.mdb allocated bytes / txs */
  double prefill_s;    /* time to pre-populate the filler accounts */
  double sign_s;       /* time to generate the signed transactions */
  uint64_t disk_bytes; /* data.mdb allocated bytes */
} bench_node_result;

/* Generate ntx signed transactions (ISSUE, REDEEM and COUPON_ISSUE over the
 * three demo brands and `members` members; not timed), then time proposing
 * and committing them in blocks of up to CAIRN_BLOCK_TXS_MAX into a durable
 * store in dir (created; must not exist), and time applying the same blocks
 * with their commits into a second durable store (dir + "-apply").
 * `filler` extra accounts with a balance are written into the genesis state
 * first (not timed). Returns 0 on success, -1 with a message on stderr. */
int bench_node_run(const char *dir, uint32_t members, uint64_t filler,
                   uint64_t ntx, bench_node_result *out);

/* Time cairn_audit_datadir over dir; *txs receives the audited count.
 * Returns tx/s, or 0 with a message on stderr. */
double bench_audit_run(const char *dir, uint64_t *txs);

#endif
