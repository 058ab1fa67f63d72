/*
 * bench/netbench/netbench.h - the "four validators on loopback" benchmark.
 *
 * cairn_netbench creates a `cairnd testnet` in a temporary directory,
 * starts one `cairnd run` per validator, pre-signs a workload, submits it
 * over the nodes' HTTP API (POST /v1/txs) spread over every node, watches
 * blocks appear (GET /v1/blocks/{h}) and reports committed transactions per
 * second and the time from submission to finality, at full and at half
 * load. The modules:
 *   http.c     a pipelined HTTP/1.1 client over non-blocking sockets;
 *   cluster.c  the testnet's processes: create, start, wait, stop;
 *   load.c     keys and the pre-signed workload, with a txid index;
 *   drive.c    one load phase: the schedule, submission, the block watcher
 *              and the latency figures;
 *   main.c     parameters, the order of the run, the table rows.
 * This is benchmark code, not ledger code: rates and times are doubles.
 */
#ifndef CAIRN_NETBENCH_H
#define CAIRN_NETBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cairn/hash.h"
#include "cairn/sig.h"

/* ---- http.c ---- */

/* Longest response body accepted: a block of CAIRN_BLOCK_TXS_MAX
 * transactions as JSON (hex of the raw block plus every txid) is a few MB. */
#define NETBENCH_HTTP_BODY_MAX (64u * 1024u * 1024u)

/* Called once per complete response, in request order: the tag given with
 * the request, the HTTP status, and the body (not NUL-terminated; valid
 * during the call). */
typedef void (*netbench_http_cb)(void *ctx, uint64_t tag, int status,
                                 const char *body, size_t len);

typedef struct netbench_conn {
  int fd;
  uint16_t port;
  char *out; /* requests not yet written */
  size_t out_len, out_off, out_cap;
  char *in; /* bytes read and not yet parsed */
  size_t in_len, in_cap;
  uint64_t *tags; /* ring of the requests awaiting a response */
  size_t tag_head, tag_count, tag_cap;
} netbench_conn;

/* Connect to 127.0.0.1:port (blocking connect, then non-blocking I/O with
 * TCP_NODELAY). Returns 0, or -1 with errno-based message on stderr. */
int netbench_conn_open(netbench_conn *c, uint16_t port);
void netbench_conn_close(netbench_conn *c);

/* Queue a request (written by netbench_conn_flush). body may be NULL for a
 * GET. Returns 0, or -1 when out of memory. */
int netbench_conn_request(netbench_conn *c, const char *method,
                          const char *path, const char *body, size_t len,
                          uint64_t tag);

/* Write what the socket takes now. 0, or -1 if the connection failed. */
int netbench_conn_flush(netbench_conn *c);

/* Read what is available and deliver every complete response. 0, or -1 if
 * the connection was closed or a response was malformed. */
int netbench_conn_read(netbench_conn *c, netbench_http_cb cb, void *ctx);

static inline bool netbench_conn_wants_write(const netbench_conn *c) {
  return c->out_len > c->out_off;
}

/* One request on a fresh connection, waiting at most timeout_s. *status is
 * the HTTP status; the body is copied into a new NUL-terminated buffer
 * (*body, caller frees). Returns 0, or -1 on a connection error or
 * timeout. */
int netbench_http_once(uint16_t port, const char *method, const char *path,
                       const char *req_body, double timeout_s, int *status,
                       char **body);

/* ---- cluster.c ---- */

#define NETBENCH_NODES_MAX 8

typedef struct netbench_cluster {
  char dir[512];  /* the testnet: genesis.json, keys/, nodeI/ */
  char logs[512]; /* where node logs go */
  const char *cairnd;
  unsigned nodes;
  uint16_t base_port; /* node I: API base+I, peers base+10+I */
  pid_t pid[NETBENCH_NODES_MAX];
} netbench_cluster;

/* Create a testnet of `nodes` validators under tmp (a fresh directory)
 * with `cairnd testnet`. Returns 0 or -1 with a message on stderr. */
int netbench_cluster_create(netbench_cluster *cl, const char *cairnd,
                            const char *tmp, unsigned nodes,
                            unsigned interval_ms);
/* Start every node and wait until each answers GET /v1/status. */
int netbench_cluster_start(netbench_cluster *cl, double timeout_s);
/* The highest block every node has reached (0 on error). */
uint64_t netbench_cluster_min_height(const netbench_cluster *cl);
/* SIGTERM every running node, then SIGKILL after a grace period; reap. */
void netbench_cluster_stop(netbench_cluster *cl);
/* Print the last lines of each node's log to stderr. */
void netbench_cluster_tail_logs(const netbench_cluster *cl, unsigned lines);

/* ---- load.c ---- */

#define NETBENCH_BRANDS 3u

/* What becomes of a transaction. */
enum {
  NB_TX_NEW = 0,  /* not released yet */
  NB_TX_SENT,     /* request written, no answer yet */
  NB_TX_RETRY,    /* answered "retry later" (mempool full, sequence gap) */
  NB_TX_ACCEPTED, /* 202 */
  NB_TX_REJECTED, /* refused for good */
  NB_TX_SKIPPED,  /* not sent: an earlier tx of the same sender was refused */
  NB_TX_COMMITTED /* seen in a block */
};

typedef struct netbench_tx {
  uint32_t off, len; /* raw bytes in the workload buffer */
  uint32_t sender;   /* 0..2 brand issuers, 3.. members */
  uint8_t state;
  uint8_t retries;
  uint8_t txid[CAIRN_HASH_BYTES];
  double sent_s;   /* time the accepted request was written */
  double commit_s; /* time the block holding it was seen */
} netbench_tx;

typedef struct netbench_load {
  uint8_t *buf; /* every encoded transaction, back to back */
  size_t len, cap;
  netbench_tx *tx;
  size_t n, warmup; /* tx[0 .. warmup) are the warm-up ISSUEs */
  uint32_t senders;
  bool *broken;   /* per sender: a transaction was refused for good */
  uint64_t *slot; /* txid index: open addressing, tx index + 1, 0 = empty */
  size_t slots;
} netbench_load;

/* The chain's issuer keys and where the workload starts. */
typedef struct netbench_chain {
  char chain_id[64];
  uint32_t brand[NETBENCH_BRANDS];
  uint8_t issuer_sk[NETBENCH_BRANDS][CAIRN_SECKEY_BYTES];
  uint8_t issuer_pk[NETBENCH_BRANDS][CAIRN_PUBKEY_BYTES];
  uint64_t issuer_next_seq[NETBENCH_BRANDS];
} netbench_chain;

/* Read the brands, chain id and issuer sequences from the node at port and
 * decrypt the issuer key files in keys_dir (named after the brands) with
 * the passphrase. Returns 0 or -1 with a message on stderr. */
int netbench_chain_read(netbench_chain *ch, uint16_t port, const char *keys_dir,
                        const char *passphrase);
void netbench_chain_wipe(netbench_chain *ch);

/* Sign the workload: one ISSUE of every brand to each of `members` members
 * (the warm-up), then `mix` transactions: 50% ISSUE, 40% REDEEM (of points
 * from the warm-up), 10% COUPON_ISSUE, spread over the members. Returns 0
 * or -1 with a message on stderr. */
int netbench_load_make(netbench_load *l, const netbench_chain *ch,
                       uint32_t members, size_t mix);
void netbench_load_free(netbench_load *l);
/* The transaction with this id, or -1. */
long netbench_load_find(const netbench_load *l,
                        const uint8_t txid[CAIRN_HASH_BYTES]);

/* ---- drive.c ---- */

typedef struct netbench_phase {
  const char *name;
  size_t first, end;   /* transactions [first, end) may be used */
  double seconds;      /* submission stops after this long */
  double rate;         /* offered tx/s; 0 = as fast as accepted */
  size_t window;       /* most submitted and not yet committed */
  double drain_s;      /* how long to wait for commits after submission */
  /* results */
  size_t used;         /* transactions released: [first, first + used) */
  size_t accepted, rejected, skipped, retried, uncommitted;
  double submit_s;     /* how long submission ran */
  double offered_tx_s, accepted_tx_s;
  double committed_tx_s; /* block txs seen during submission / submit_s */
  uint64_t blocks;       /* blocks seen during submission */
  double max_gap_s;      /* longest time without a new block then */
  double p50_s, p99_s, max_s; /* finality latency; <0 = not committed */
  double cpu_s;          /* CPU time the load generator itself used */
  double machine_busy;   /* share of all CPUs busy while submitting, 0..1
                            (/proc/stat; -1 when unreadable) */
  char first_error[160];
} netbench_phase;

typedef struct netbench_driver netbench_driver;

/* Connections to every node of the cluster (conns_per_node for members,
 * one per issuer) and a block watcher on node 0 starting at height
 * next_height. Returns NULL with a message on stderr. */
netbench_driver *netbench_driver_open(const netbench_cluster *cl,
                                      netbench_load *l, unsigned conns_per_node,
                                      uint64_t next_height);
void netbench_driver_close(netbench_driver *d);

/* Run one phase: release transactions from p->first on (at p->rate, or as
 * fast as accepted), at most p->window outstanding, for p->seconds or until
 * p->end; then wait up to p->drain_s for the accepted ones to commit and
 * fill in the results. Returns 0, or -1 if a connection failed. */
int netbench_drive(netbench_driver *d, netbench_phase *p);

#endif
