/*
 * bench/netbench/drive.c - one load phase against a running testnet.
 *
 * A phase releases pre-signed transactions in workload order, either on a
 * schedule (a fixed offered rate: transaction k is due at t0 + k / rate)
 * or as fast as the nodes accept them, and submits each with POST /v1/txs
 * to its sender's node. Every sender is pinned to one connection of one
 * node: a node refuses a transaction whose sequence number runs ahead of
 * what it has seen (sequence_gap), so one sender's transactions must reach
 * one node in order, and a pipelined connection delivers them in order.
 * Issuers get a connection each; members are spread over every node.
 *
 * "As fast as accepted" is bounded by a window: at most `window`
 * transactions submitted and not yet committed. The window keeps more
 * transactions pending than the network commits per block, so the nodes
 * are never idle, while keeping the queue - and so the latency at full
 * load, which is mostly time spent waiting in it - finite.
 *
 * Answers: 202 (or 409 duplicate_tx) means accepted. 503 mempool_full and
 * 422 sequence_gap mean "not now": the transaction goes to a retry queue
 * (with every later transaction of the same sender, so order is kept) and
 * is sent again 20 ms later, up to NB_RETRIES_MAX times. Anything else is
 * a refusal for good; the sender's later transactions are then skipped,
 * since they could only fail with sequence_gap. A correct workload has no
 * refusals, and the report says if there were any.
 *
 * Finality is observed by a watcher on node 0 that asks for the next block
 * (GET /v1/blocks/{h}) as soon as it has the previous one, or every 5 ms
 * while it does not exist yet. A block is served only once committed, with
 * its commit, so the time it is first seen is the transaction's finality
 * time; latency = that time - the time the accepted request was written.
 * Committed tx/s of a phase counts the transactions of the blocks seen
 * while the phase was submitting, over that time.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "bench_limits.h"
#include "cairn/encoding.h"
#include "cairn/limits.h"
#include "netbench.h"

#define NB_CONNS_MAX 64
#define NB_RETRIES_MAX 200
#define NB_RETRY_DELAY_S 0.020
#define NB_WATCH_IDLE_S 0.005
#define NB_WATCH_TAG UINT64_MAX

struct netbench_driver {
  netbench_load *l;
  unsigned nodes, per_node, nconns;
  uint16_t base_port;
  netbench_conn conn[NB_CONNS_MAX];
  netbench_conn watch;
  uint64_t next_height;
  bool watch_busy;
  double watch_next_s;
  size_t *retry; /* tx indices waiting to be sent again */
  size_t retry_n;
  double retry_at_s;
  uint32_t *held; /* per sender: transactions in the retry queue */
  size_t outstanding; /* sent (or held) and not yet committed or refused */
  bool counting;      /* block txs count towards the phase's rate */
  uint64_t window_txs, window_blocks;
  double last_block_s; /* when the last block was seen (while counting) */
  netbench_phase *p;
  char *body; /* scratch: {"tx":"<hex>"} */
  int failed;
};

static unsigned conn_of(const netbench_driver *d, uint32_t sender) {
  if (sender < NETBENCH_BRANDS) return d->nodes * d->per_node + sender;
  uint32_t m = sender - NETBENCH_BRANDS;
  unsigned node = m % d->nodes;
  return node * d->per_node + (m / d->nodes) % d->per_node;
}

static uint16_t conn_port(const netbench_driver *d, unsigned c) {
  unsigned node = c < d->nodes * d->per_node ? c / d->per_node
                                             : (c - d->nodes * d->per_node) %
                                                   d->nodes;
  return (uint16_t)(d->base_port + node);
}

netbench_driver *netbench_driver_open(const netbench_cluster *cl,
                                      netbench_load *l, unsigned per_node,
                                      uint64_t next_height) {
  netbench_driver *d = calloc(1, sizeof *d);
  if (d == NULL) return NULL;
  d->l = l;
  d->nodes = cl->nodes;
  d->per_node = per_node > 0 ? per_node : 1;
  d->base_port = cl->base_port;
  d->nconns = d->nodes * d->per_node + NETBENCH_BRANDS;
  d->next_height = next_height;
  d->watch.fd = -1;
  for (unsigned c = 0; c < NB_CONNS_MAX; c++) d->conn[c].fd = -1;
  d->retry = calloc(l->n, sizeof *d->retry);
  d->held = calloc(l->senders, sizeof *d->held);
  d->body = malloc(2 * CAIRN_TX_BYTES_MAX + 16);
  bool ok = d->nconns <= NB_CONNS_MAX && d->retry && d->held && d->body;
  for (unsigned c = 0; ok && c < d->nconns; c++)
    ok = netbench_conn_open(&d->conn[c], conn_port(d, c)) == 0;
  if (ok) ok = netbench_conn_open(&d->watch, cl->base_port) == 0;
  if (!ok) {
    fprintf(stderr, "netbench: cannot connect to the nodes\n");
    netbench_driver_close(d);
    return NULL;
  }
  return d;
}

void netbench_driver_close(netbench_driver *d) {
  if (d == NULL) return;
  for (unsigned c = 0; c < NB_CONNS_MAX; c++)
    if (d->conn[c].fd >= 0) netbench_conn_close(&d->conn[c]);
  if (d->watch.fd >= 0) netbench_conn_close(&d->watch);
  free(d->retry);
  free(d->held);
  free(d->body);
  free(d);
}

static void send_tx(netbench_driver *d, size_t i, double now) {
  netbench_tx *t = &d->l->tx[i];
  size_t hex = 2 * (size_t)t->len;
  memcpy(d->body, "{\"tx\":\"", 7);
  cairn_hex_encode(d->body + 7, hex + 1, d->l->buf + t->off, t->len);
  memcpy(d->body + 7 + hex, "\"}", 2);
  if (netbench_conn_request(&d->conn[conn_of(d, t->sender)], "POST",
                            "/v1/txs", d->body, hex + 9, (uint64_t)i) != 0)
    d->failed = 1;
  t->state = NB_TX_SENT;
  t->sent_s = now;
}

static void hold_tx(netbench_driver *d, size_t i) {
  d->l->tx[i].state = NB_TX_RETRY;
  d->held[d->l->tx[i].sender]++;
  d->retry[d->retry_n++] = i;
}

/* Release transaction i of the phase for the first time. */
static void release(netbench_driver *d, size_t i, double now) {
  netbench_tx *t = &d->l->tx[i];
  if (d->l->broken[t->sender]) {
    t->state = NB_TX_SKIPPED;
    d->p->skipped++;
    return;
  }
  d->outstanding++;
  if (d->held[t->sender] > 0)
    hold_tx(d, i); /* keep the sender's order behind its retries */
  else
    send_tx(d, i, now);
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

static void resend_retries(netbench_driver *d, double now) {
  if (d->retry_n == 0 || now < d->retry_at_s) return;
  qsort(d->retry, d->retry_n, sizeof *d->retry, cmp_size);
  size_t n = d->retry_n;
  d->retry_n = 0;
  for (size_t k = 0; k < n; k++) {
    netbench_tx *t = &d->l->tx[d->retry[k]];
    d->held[t->sender]--;
    if (t->state == NB_TX_RETRY) send_tx(d, d->retry[k], now);
  }
}

static void refuse(netbench_driver *d, netbench_tx *t, int status,
                   const char *body, size_t len) {
  t->state = NB_TX_REJECTED;
  d->l->broken[t->sender] = true;
  d->outstanding--;
  d->p->rejected++;
  if (d->p->first_error[0] == '\0')
    snprintf(d->p->first_error, sizeof d->p->first_error, "HTTP %d %.*s",
             status, (int)(len < 120 ? len : 120), body);
}

/* Whether the body names this error code. */
static bool has_code(const char *body, size_t len, const char *code) {
  size_t n = strlen(code);
  for (size_t i = 0; i + n <= len; i++)
    if (memcmp(body + i, code, n) == 0) return true;
  return false;
}

static void on_submit(netbench_driver *d, size_t i, int status,
                      const char *body, size_t len) {
  netbench_tx *t = &d->l->tx[i];
  if (t->state == NB_TX_COMMITTED) return; /* its block came first */
  bool dup = status == 409 && has_code(body, len, "duplicate_tx");
  if (status == 202 || dup) {
    t->state = NB_TX_ACCEPTED;
    return;
  }
  bool later = status == 503 ||
               (status == 422 && has_code(body, len, "sequence_gap"));
  if (later && t->retries < NB_RETRIES_MAX) {
    t->retries++;
    d->p->retried++;
    hold_tx(d, i);
    d->retry_at_s = bench_now() + NB_RETRY_DELAY_S;
    return;
  }
  refuse(d, t, status, body, len);
}

static void on_block(netbench_driver *d, const char *body, size_t len) {
  double now = bench_now();
  json_t *j = json_loadb(body, len, 0, NULL);
  json_t *ids = json_object_get(j, "txids");
  uint8_t id[CAIRN_HASH_BYTES];
  size_t k;
  json_t *v;
  json_array_foreach(ids, k, v) {
    const char *hex = json_string_value(v);
    long i = -1;
    if (hex != NULL && cairn_hex_decode_exact(id, sizeof id, hex) == CAIRN_OK)
      i = netbench_load_find(d->l, id);
    if (i < 0) continue;
    netbench_tx *t = &d->l->tx[i];
    if (t->state == NB_TX_COMMITTED) continue;
    if (t->state == NB_TX_SENT || t->state == NB_TX_ACCEPTED ||
        t->state == NB_TX_RETRY)
      d->outstanding--;
    t->state = NB_TX_COMMITTED;
    t->commit_s = now;
  }
  if (d->counting) {
    d->window_txs += json_array_size(ids);
    d->window_blocks++;
    if (now - d->last_block_s > d->p->max_gap_s)
      d->p->max_gap_s = now - d->last_block_s;
    d->last_block_s = now;
  }
  json_decref(j);
}

static void on_response(void *ctx, uint64_t tag, int status, const char *body,
                        size_t len) {
  netbench_driver *d = ctx;
  if (tag != NB_WATCH_TAG) {
    on_submit(d, (size_t)tag, status, body, len);
    return;
  }
  d->watch_busy = false;
  if (status == 200) {
    on_block(d, body, len);
    d->next_height++;
    d->watch_next_s = 0;
  } else {
    d->watch_next_s = bench_now() + NB_WATCH_IDLE_S;
  }
}

/* ---- the loop ---- */

static void watch_poll(netbench_driver *d, double now) {
  char path[64];
  if (d->watch_busy || now < d->watch_next_s) return;
  snprintf(path, sizeof path, "/v1/blocks/%llu",
           (unsigned long long)d->next_height);
  if (netbench_conn_request(&d->watch, "GET", path, NULL, 0, NB_WATCH_TAG) !=
      0)
    d->failed = 1;
  d->watch_busy = true;
}

/* A connection the node closed while it carried nothing (the API closes
 * connections idle for CAIRN_HTTP_IDLE_TIMEOUT_S) is opened again; one
 * closed with requests in flight is a failure. */
static int reopen(netbench_conn *c) {
  if (c->tag_count > 0 || netbench_conn_wants_write(c)) return -1;
  uint16_t port = c->port;
  netbench_conn_close(c);
  return netbench_conn_open(c, port);
}

/* Wait for the sockets (at most timeout_s), then write and read. */
static void pump(netbench_driver *d, double timeout_s) {
  struct pollfd pfd[NB_CONNS_MAX + 1];
  netbench_conn *c[NB_CONNS_MAX + 1];
  unsigned n = 0;
  for (unsigned k = 0; k < d->nconns; k++) c[n++] = &d->conn[k];
  c[n++] = &d->watch;
  for (unsigned k = 0; k < n; k++) {
    if (netbench_conn_wants_write(c[k]) && netbench_conn_flush(c[k]) != 0)
      d->failed = 1;
    pfd[k].fd = c[k]->fd;
    pfd[k].events = POLLIN;
    if (netbench_conn_wants_write(c[k])) pfd[k].events |= POLLOUT;
    pfd[k].revents = 0;
  }
  int ms = timeout_s > 0 ? (int)ceil(timeout_s * 1000.0) : 0;
  if (poll(pfd, n, ms) < 0 && errno != EINTR) d->failed = 1;
  for (unsigned k = 0; k < n && !d->failed; k++) {
    if ((pfd[k].revents & POLLOUT) && netbench_conn_flush(c[k]) != 0)
      d->failed = 1;
    if ((pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
        netbench_conn_read(c[k], on_response, d) != 0 && reopen(c[k]) != 0)
      d->failed = 1;
  }
}

/* Release what is due now; returns how long until the next is due (0 if
 * one is due now or nothing is scheduled). */
static double release_due(netbench_driver *d, size_t *next, double t0,
                          double now) {
  netbench_phase *p = d->p;
  while (*next < p->end && d->outstanding < p->window) {
    if (p->rate > 0) {
      double due = t0 + (double)(*next - p->first) / p->rate;
      if (due > now) return due - now;
    }
    release(d, (*next)++, now);
  }
  return 0;
}

/* Whether the phase still has transactions on their way (sent, waiting
 * for a retry, or accepted and not yet committed). */
static bool phase_pending(const netbench_driver *d, size_t first, size_t end) {
  for (size_t i = first; i < end; i++) {
    uint8_t s = d->l->tx[i].state;
    if (s == NB_TX_SENT || s == NB_TX_RETRY || s == NB_TX_ACCEPTED) return true;
  }
  return false;
}

static void submit_loop(netbench_driver *d, size_t *next) {
  netbench_phase *p = d->p;
  double t0 = bench_now();
  d->counting = true;
  d->window_txs = d->window_blocks = 0;
  d->last_block_s = t0;
  p->max_gap_s = 0;
  for (;;) {
    double now = bench_now();
    if (now - t0 >= p->seconds || *next >= p->end || d->failed) break;
    resend_retries(d, now);
    double wait = release_due(d, next, t0, now);
    watch_poll(d, now);
    if (wait <= 0 || wait > 0.005) wait = 0.001;
    pump(d, wait);
  }
  d->counting = false;
  double end = bench_now();
  if (end - d->last_block_s > p->max_gap_s) p->max_gap_s = end - d->last_block_s;
  p->submit_s = end - t0;
  p->used = *next - p->first;
}

static void drain_loop(netbench_driver *d, size_t first, size_t end,
                       double drain_s) {
  double deadline = bench_now() + drain_s;
  unsigned turns = 0;
  while (!d->failed && bench_now() < deadline) {
    double now = bench_now();
    /* Scanning the phase is cheap next to a block; do it every 20 turns. */
    if (++turns % 20 == 0 && !phase_pending(d, first, end)) break;
    resend_retries(d, now);
    watch_poll(d, now);
    pump(d, 0.002);
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Latency percentiles over the accepted transactions of [first, end);
 * one not committed (or never answered) counts as infinitely late, which a
 * percentile reports as -1. */
static void latency_stats(netbench_driver *d, size_t first, size_t end) {
  netbench_phase *p = d->p;
  double *lat = malloc((end - first + 1) * sizeof *lat);
  size_t n = 0, committed = 0, waiting = 0;
  if (lat == NULL) return;
  for (size_t i = first; i < end; i++) {
    const netbench_tx *t = &d->l->tx[i];
    if (t->state == NB_TX_COMMITTED) {
      lat[n++] = t->commit_s - t->sent_s;
      committed++;
    } else if (t->state == NB_TX_ACCEPTED || t->state == NB_TX_SENT ||
               t->state == NB_TX_RETRY) {
      lat[n++] = INFINITY;
      waiting += t->state == NB_TX_ACCEPTED;
      p->uncommitted++;
    }
  }
  p->accepted = committed + waiting;
  qsort(lat, n, sizeof *lat, cmp_double);
  const double q[3] = {0.50, 0.99, 1.0};
  double *out[3] = {&p->p50_s, &p->p99_s, &p->max_s};
  for (int k = 0; k < 3; k++) {
    size_t idx = n > 0 ? (size_t)ceil(q[k] * (double)n) - 1 : 0;
    *out[k] = n > 0 && isfinite(lat[idx]) ? lat[idx] : -1;
  }
  free(lat);
}

static double cpu_now(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The machine's CPU counters (/proc/stat "cpu" line, in ticks): total and
 * idle (idle + iowait). False when unreadable. */
static bool machine_ticks(unsigned long long *total, unsigned long long *idle) {
  unsigned long long f[8] = {0};
  FILE *fp = fopen("/proc/stat", "r");
  if (fp == NULL) return false;
  int n = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0],
                 &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7]);
  fclose(fp);
  if (n < 5) return false;
  *total = 0;
  for (int i = 0; i < 8; i++) *total += f[i];
  *idle = f[3] + f[4];
  return true;
}

int netbench_drive(netbench_driver *d, netbench_phase *p) {
  size_t next = p->first;
  double cpu0 = cpu_now();
  unsigned long long t0 = 0, i0 = 0, t1 = 0, i1 = 0;
  bool ticks = machine_ticks(&t0, &i0);
  d->p = p;
  p->used = p->accepted = p->rejected = p->skipped = p->retried = 0;
  p->uncommitted = 0;
  p->first_error[0] = '\0';
  submit_loop(d, &next);
  p->cpu_s = cpu_now() - cpu0;
  ticks = ticks && machine_ticks(&t1, &i1) && t1 > t0;
  p->machine_busy =
      ticks ? 1.0 - (double)(i1 - i0) / (double)(t1 - t0) : -1.0;
  p->committed_tx_s = p->submit_s > 0 ? (double)d->window_txs / p->submit_s : 0;
  p->blocks = d->window_blocks;
  p->offered_tx_s = p->submit_s > 0 ? (double)p->used / p->submit_s : 0;
  drain_loop(d, p->first, next, p->drain_s);
  latency_stats(d, p->first, next);
  p->accepted_tx_s = p->submit_s > 0 ? (double)p->accepted / p->submit_s : 0;
  d->p = NULL;
  if (d->failed) fprintf(stderr, "netbench: a connection to a node failed\n");
  return d->failed ? -1 : 0;
}
