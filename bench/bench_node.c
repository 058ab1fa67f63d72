/*
 * bench/bench_node.c - how fast one node verifies, applies and durably
 * commits signed transactions, and how fast an auditor replays them.
 *
 * The workload is what a loyalty coalition does all day: brands issue
 * points (ISSUE), members spend them (REDEEM) and brands hand out coupons
 * (COUPON_ISSUE), over the three demo brands (tests/testutil.h) and a set of
 * members. A small model of balances and sequences makes every generated
 * transaction valid when applied in order, so the proposer rejects none
 * (the run reports any it did). Generating and signing happens before the
 * clock starts.
 *
 * Two paths are timed, each into its own durable store (fsync on commit):
 *   - propose: cairn_chain_propose builds blocks of up to
 *     CAIRN_BLOCK_TXS_MAX from the pending list - decoding, verifying each
 *     signature on the calling thread and executing - then the single
 *     validator signs a commit and cairn_chain_commit_proposal writes it.
 *     This is what a lone cairnd does.
 *   - apply: the same blocks and commits fed to cairn_chain_apply_block on
 *     a fresh store, which checks signatures on every online CPU before
 *     executing in order. This is what a follower or a restarted node does.
 *
 * Growth is measured by writing extra accounts with balances straight into
 * the genesis state (a view committed with cairn_store_commit_genesis, as
 * the chain itself initialises a store) so the state B-trees are as large
 * as they would be with that many members, while the workload stays the
 * same. Such a store is internally consistent for the chain (its state hash
 * covers the extra accounts) though its supply figures do not add up, so it
 * is never audited.
 */
#include "bench_node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_limits.h"
#include "cairn/audit.h"
#include "cairn/chain.h"
#include "cairn/state.h"
#include "cairn/view.h"
#include "testutil.h"

#define BRANDS 3u
#define ISSUE_AMOUNT 100u
#define REDEEM_AMOUNT 10u
#define WORKLOAD_SEED 0x636169726e62656eull /* fixed: runs are comparable */

typedef struct workload {
  uint8_t *buf; /* every encoded transaction, back to back */
  size_t len, cap;
  size_t *off; /* n + 1 offsets into buf */
  cairn_slice *txs;
  size_t n;
} workload;

typedef struct gen_state {
  tu_key issuer[BRANDS];
  uint64_t issuer_seq[BRANDS];
  tu_key *member;
  uint64_t *member_seq;
  uint32_t *balance; /* members x BRANDS, what the member can redeem */
  uint32_t members;
  uint64_t rng;
} gen_state;

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static int workload_append(workload *w, const cairn_tx *tx) {
  if (w->cap - w->len < CAIRN_TX_BYTES_MAX) {
    size_t cap = w->cap * 2 + 4 * CAIRN_TX_BYTES_MAX;
    uint8_t *p = realloc(w->buf, cap);
    if (p == NULL) return -1;
    w->buf = p;
    w->cap = cap;
  }
  w->len += tu_tx_bytes(w->buf + w->len, w->cap - w->len, tx);
  return 0;
}

/* One transaction of the mix: 40% REDEEM (when the chosen member has the
 * points), 10% COUPON_ISSUE, the rest ISSUE. */
static void gen_one(gen_state *g, uint64_t i, cairn_tx *tx) {
  uint32_t b = (uint32_t)(rng_next(&g->rng) % BRANDS);
  uint32_t roll = (uint32_t)(rng_next(&g->rng) % 10);
  uint32_t m = (uint32_t)(rng_next(&g->rng) % g->members);
  uint32_t *bal = &g->balance[(size_t)m * BRANDS + b];
  if (roll < 4 && *bal >= REDEEM_AMOUNT) {
    char ref[24];
    snprintf(ref, sizeof ref, "o%llu", (unsigned long long)i);
    tu_tx_redeem(tx, &g->member[m], ++g->member_seq[m], b + 1, REDEEM_AMOUNT,
                 ref);
    *bal -= REDEEM_AMOUNT;
  } else if (roll == 9) {
    tu_tx_coupon_issue(tx, &g->issuer[b], ++g->issuer_seq[b], b + 1,
                       g->member[m].pk, TU_EXPIRY, false);
  } else {
    tu_tx_issue(tx, &g->issuer[b], ++g->issuer_seq[b], b + 1, g->member[m].pk,
                ISSUE_AMOUNT);
    *bal += ISSUE_AMOUNT;
  }
}

static void gen_free(gen_state *g) {
  free(g->member);
  free(g->member_seq);
  free(g->balance);
}

static int workload_make(workload *w, uint32_t members, uint64_t ntx) {
  gen_state g;
  cairn_tx tx;
  int rc = 0;
  memset(&g, 0, sizeof g);
  memset(w, 0, sizeof *w);
  g.members = members;
  g.rng = WORKLOAD_SEED;
  g.member = calloc(members, sizeof *g.member);
  g.member_seq = calloc(members, sizeof *g.member_seq);
  g.balance = calloc((size_t)members * BRANDS, sizeof *g.balance);
  w->off = calloc(ntx + 1, sizeof *w->off);
  w->txs = calloc(ntx, sizeof *w->txs);
  if (!g.member || !g.member_seq || !g.balance || !w->off || !w->txs) rc = -1;
  for (uint32_t b = 0; rc == 0 && b < BRANDS; b++)
    tu_issuer(&g.issuer[b], b + 1);
  for (uint32_t m = 0; rc == 0 && m < members; m++) tu_member(&g.member[m], m);
  for (uint64_t i = 0; rc == 0 && i < ntx; i++) {
    gen_one(&g, i, &tx);
    w->off[i] = w->len;
    rc = workload_append(w, &tx);
  }
  w->off[ntx] = w->len;
  for (uint64_t i = 0; rc == 0 && i < ntx; i++) {
    w->txs[i].p = w->buf + w->off[i];
    w->txs[i].len = w->off[i + 1] - w->off[i];
  }
  w->n = rc == 0 ? ntx : 0;
  gen_free(&g);
  return rc;
}

static void workload_free(workload *w) {
  free(w->buf);
  free(w->off);
  free(w->txs);
  memset(w, 0, sizeof *w);
}

/* Genesis state plus `filler` accounts with a balance, written as the
 * chain writes a genesis (chain.c chain_init_genesis). */
static cairn_err store_prefill(cairn_store *s, const cairn_genesis *g,
                               uint64_t filler) {
  uint8_t ghash[CAIRN_HASH_BYTES], app[CAIRN_HASH_BYTES];
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[8], acct[32], seed[8];
  size_t len = 0;
  cairn_view *v = NULL;
  uint8_t *bytes = malloc(CAIRN_GENESIS_BYTES_MAX);
  if (bytes == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_genesis_encode(bytes, CAIRN_GENESIS_BYTES_MAX, &len, g);
  if (err == CAIRN_OK) err = cairn_genesis_hash(ghash, g);
  if (err == CAIRN_OK) err = cairn_view_open(&v, s);
  if (err == CAIRN_OK) err = cairn_state_apply_genesis(v, g);
  cairn_be64_write(val, 1000);
  for (uint64_t i = 0; err == CAIRN_OK && i < filler; i++) {
    cairn_be64_write(seed, i);
    cairn_tagged_hash(acct, "cairn-bench/filler", seed, sizeof seed);
    cairn_state_balance_key(key, acct, (uint32_t)(i % BRANDS) + 1);
    err = cairn_view_put(v, CAIRN_T_BALANCES, key, sizeof key, val, sizeof val);
  }
  if (err == CAIRN_OK) err = cairn_state_hash_next(app, ghash, v);
  if (err == CAIRN_OK)
    err = cairn_store_commit_genesis(s, bytes, len, ghash, v, app, g->time_ms);
  cairn_view_close(v);
  free(bytes);
  return err;
}

/* A durable store in dir with the genesis (plus filler) and a chain on it. */
static int chain_make(const char *dir, const cairn_genesis *g, uint64_t filler,
                      cairn_store **s, cairn_chain **c) {
  cairn_store_opts opts;
  memset(&opts, 0, sizeof opts); /* no_sync false: every commit is fsynced */
  *s = NULL;
  *c = NULL;
  cairn_err err = cairn_store_open(s, dir, &opts);
  if (err == CAIRN_OK && filler > 0) err = store_prefill(*s, g, filler);
  if (err == CAIRN_OK) err = cairn_chain_open(c, *s, g);
  if (err != CAIRN_OK) {
    fprintf(stderr, "bench: store %s: %s\n", dir, cairn_strerror(err));
    cairn_store_close(*s);
    *s = NULL;
    return -1;
  }
  cairn_chain_set_verify_threads(*c, 0);
  return 0;
}

static void count_reject(void *ctx, size_t index, cairn_err err) {
  uint64_t *n = ctx;
  if (*n == 0)
    fprintf(stderr, "bench: candidate %zu rejected: %s\n", index,
            cairn_errname(err));
  (*n)++;
}

/* Propose and commit every transaction of w; returns the seconds taken or
 * a negative value on error. */
static double run_propose(cairn_chain *c, const workload *w, const tu_vkey *vk,
                          bench_node_result *out) {
  size_t off = 0;
  double t0 = bench_now();
  while (off < w->n) {
    cairn_proposal *p = NULL;
    cairn_commit cm;
    uint64_t rejected = 0;
    cairn_tip tip;
    cairn_chain_tip(c, &tip);
    cairn_err err =
        cairn_chain_propose(c, &w->txs[off], w->n - off, tip.time_ms + 1000,
                            vk->pk, count_reject, &rejected, &p);
    if (err != CAIRN_OK) {
      fprintf(stderr, "bench: propose: %s\n", cairn_strerror(err));
      return -1;
    }
    size_t used = p->header.tx_count + (size_t)rejected;
    tu_commit_sign(&cm, p->header.height, p->hash, vk);
    err = cairn_chain_commit_proposal(c, p, &cm);
    cairn_proposal_free(p);
    if (err != CAIRN_OK || used == 0) {
      fprintf(stderr, "bench: commit: %s\n", cairn_strerror(err));
      return -1;
    }
    out->txs += used - (size_t)rejected;
    out->rejected += rejected;
    out->blocks++;
    off += used;
  }
  return bench_now() - t0;
}

/* Apply blocks 1..blocks of src (with their commits) to c; seconds taken
 * by cairn_chain_apply_block, or negative on error. */
static double run_apply(cairn_store *src, cairn_chain *c, uint64_t blocks) {
  double spent = 0;
  char why[512] = "";
  for (uint64_t h = 1; h <= blocks; h++) {
    cairn_rtxn *r = NULL;
    const uint8_t *b = NULL, *cm = NULL;
    size_t blen = 0, cmlen = 0;
    cairn_err err = cairn_store_read_begin(src, &r);
    if (err == CAIRN_OK) err = cairn_store_block(r, h, &b, &blen, &cm, &cmlen);
    double t0 = bench_now();
    if (err == CAIRN_OK)
      err = cairn_chain_apply_block(c, b, blen, cm, cmlen, why, sizeof why);
    spent += bench_now() - t0;
    if (r != NULL) cairn_store_read_end(r);
    if (err != CAIRN_OK) {
      fprintf(stderr, "bench: apply block %llu: %s (%s)\n",
              (unsigned long long)h, cairn_strerror(err), why);
      return -1;
    }
  }
  return spent;
}

static uint64_t disk_bytes(const char *dir) {
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (stat(path, &st) != 0) return 0;
  return (uint64_t)st.st_blocks * 512u;
}

/* Both timed paths over a generated workload. */
static int run_paths(const char *dir, const cairn_genesis *g, uint64_t filler,
                     const workload *w, bench_node_result *out) {
  char dir2[512];
  cairn_store *s = NULL, *s2 = NULL;
  cairn_chain *c = NULL, *c2 = NULL;
  tu_vkey vk;
  tu_validator(&vk, 0);
  snprintf(dir2, sizeof dir2, "%s-apply", dir);
  double t0 = bench_now();
  if (chain_make(dir, g, filler, &s, &c) != 0) return -1;
  out->prefill_s = bench_now() - t0;
  double dt = run_propose(c, w, &vk, out);
  int rc = dt > 0 ? 0 : -1;
  if (rc == 0) out->propose_tx_s = (double)out->txs / dt;
  if (rc == 0) rc = chain_make(dir2, g, filler, &s2, &c2);
  if (rc == 0) {
    double da = run_apply(s, c2, out->blocks);
    if (da > 0)
      out->apply_tx_s = (double)out->txs / da;
    else
      rc = -1;
  }
  cairn_chain_close(c2);
  cairn_store_close(s2);
  cairn_chain_close(c);
  cairn_store_close(s);
  out->disk_bytes = disk_bytes(dir);
  if (out->txs > 0)
    out->bytes_per_tx = (double)out->disk_bytes / (double)out->txs;
  sodium_memzero(&vk, sizeof vk);
  return rc;
}

int bench_node_run(const char *dir, uint32_t members, uint64_t filler,
                   uint64_t ntx, bench_node_result *out) {
  workload w;
  memset(out, 0, sizeof *out);
  cairn_genesis *g = malloc(sizeof *g);
  if (g == NULL || members == 0) {
    free(g);
    return -1;
  }
  tu_genesis(g);
  double t0 = bench_now();
  int rc = workload_make(&w, members, ntx);
  out->sign_s = bench_now() - t0;
  if (rc != 0)
    fprintf(stderr, "bench: out of memory generating the workload\n");
  if (rc == 0) rc = run_paths(dir, g, filler, &w, out);
  workload_free(&w);
  free(g);
  return rc;
}

double bench_audit_run(const char *dir, uint64_t *txs) {
  char why[512] = "";
  *txs = 0;
  cairn_audit_result *res = calloc(1, sizeof *res);
  if (res == NULL) return 0;
  double t0 = bench_now();
  cairn_err err = cairn_audit_datadir(dir, res, NULL, why, sizeof why);
  double dt = bench_now() - t0;
  double rate = 0;
  if (err != CAIRN_OK || !res->ok)
    fprintf(stderr, "bench: audit of %s failed: %s: %s\n", dir,
            cairn_strerror(err), why);
  else if (dt > 0) {
    *txs = res->txs;
    rate = (double)res->txs / dt;
  }
  free(res);
  return rate;
}
