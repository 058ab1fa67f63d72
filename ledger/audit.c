/*
 * audit.c - replay a node's data directory from genesis and compare.
 *
 * A ledger is only as trustworthy as the ability of an outsider to check
 * it. The node stores every block with its commit; the state tables are a
 * cache that the node derives from them. The auditor therefore ignores the
 * node's derived data at first: it takes the genesis and the blocks, and
 * rebuilds everything in a scratch store with the same code path a peer
 * uses to accept a block (cairn_chain_apply_block), which re-verifies each
 * link, Merkle root, signature, rule, state hash and commit. Only then does
 * it look at the node's derived data and demand that it be identical:
 *   - the tip (height, block hash, state hash), and
 *   - every record of every state table and of the block and transaction
 *     indexes, compared record by record.
 * A doctored balance, a deleted block or a flipped byte in a stored
 * transaction each surface as a specific height or table and key.
 *
 * Consistency while the node runs: the source store is opened read-only
 * and everything is read inside one LMDB read transaction, which sees one
 * committed snapshot no matter what the node commits meanwhile.
 *
 * Comparing two tables with only a callback-driven scan needs no extra
 * memory if each side is scanned once and every key is looked up on the
 * other side: the first pass (stored -> replay) finds changed or extra
 * stored records, the second (replay -> stored) finds missing ones, and the
 * smaller of the two first keys is the first difference in key order.
 * That costs two lookups per record, O(n log n), and bounded memory.
 *
 * Brand totals (outstanding points per brand) are summed from the verified
 * balances table, so they are totals the auditor can vouch for.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include "cairn/audit.h"

#include <assert.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/block.h"
#include "cairn/chain.h"
#include "cairn/encoding.h"
#include "cairn/genesis.h"
#include "cairn/state.h"
#include "cairn/store.h"

#define CAIRN_AUDIT_META_GENESIS "genesis"
/* Bytes of a differing value shown in a report (the rest is elided). */
#define CAIRN_AUDIT_SHOW_BYTES 96
/* Nesting of the scratch directory that is removed (LMDB uses one level). */
#define CAIRN_AUDIT_RM_FDS 8

/* An empty scan prefix. A non-NULL pointer even with length 0, because a
 * NULL reaching memcmp is undefined behaviour even for 0 bytes. */
static const uint8_t cairn_audit_all[1] = {0};

/* Tables compared after the replay, in this order. */
static const cairn_table cairn_audit_tables[] = {
    CAIRN_T_BALANCES,   CAIRN_T_SEQUENCES,   CAIRN_T_COUPONS,
    CAIRN_T_COUPON_OWNER, CAIRN_T_BRANDS,    CAIRN_T_VALIDATORS,
    CAIRN_T_BLOCK_INDEX, CAIRN_T_TX_INDEX};

typedef struct cairn_audit_run {
  const char *dir;
  cairn_audit_report *out;
  char *why;
  size_t why_cap;
  cairn_store *src;
  cairn_rtxn *src_r;
  cairn_tip src_tip;
  cairn_genesis *genesis;
  char scratch[PATH_MAX];
  cairn_store *dst;
  cairn_chain *chain;
  cairn_slice *txs; /* CAIRN_BLOCK_TXS_MAX, for counting transactions */
} cairn_audit_run;

static void cairn_audit_why(char *why, size_t why_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cairn_audit_why(char *why, size_t why_cap, const char *fmt, ...) {
  if (why == NULL || why_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

const char *cairn_audit_table_name(cairn_table t) {
  switch (t) {
  case CAIRN_T_BALANCES: return "balances";
  case CAIRN_T_SEQUENCES: return "sequences";
  case CAIRN_T_COUPONS: return "coupons";
  case CAIRN_T_COUPON_OWNER: return "coupon_owner";
  case CAIRN_T_BRANDS: return "brands";
  case CAIRN_T_VALIDATORS: return "validators";
  case CAIRN_T_META: return "meta";
  case CAIRN_T_BLOCKS: return "blocks";
  case CAIRN_T_COMMITS: return "commits";
  case CAIRN_T_BLOCK_INDEX: return "block_index";
  case CAIRN_T_TX_INDEX: return "tx_index";
  }
  return "unknown";
}

static uint64_t cairn_audit_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Errors that say the audit could not run (no verdict on the data). */
static bool cairn_audit_is_local_failure(cairn_err err) {
  return err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_IO ||
         err == CAIRN_ERR_STORE || err == CAIRN_ERR_MAP_FULL ||
         err == CAIRN_ERR_INTERNAL;
}

/* Record a discrepancy: the audit ran, the data failed. */
static void cairn_audit_fail(cairn_audit_run *run, cairn_err failure,
                             uint64_t height, cairn_table table) {
  if (cairn_audit_is_local_failure(failure)) return;
  run->out->ok = false;
  run->out->failure = failure;
  run->out->failed_height = height;
  run->out->failed_table = table;
}

/* ---- opening the source ---- */

static cairn_err cairn_audit_open_source(cairn_audit_run *run) {
  cairn_store_opts opts = {.read_only = true};
  cairn_err err = cairn_store_open(&run->src, run->dir, &opts);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "cannot open a Cairn store in %s: "
                    "%s", run->dir, cairn_strerror(err));
    return err;
  }
  err = cairn_store_read_begin(run->src, &run->src_r);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "cannot read the store in %s: %s",
                    run->dir, cairn_strerror(err));
    return err;
  }
  err = cairn_store_tip(run->src_r, &run->src_tip);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "the store in %s has no tip: %s",
                    run->dir, cairn_strerror(err));
    return err;
  }
  const uint8_t *g = NULL;
  size_t glen = 0;
  err = cairn_store_get(run->src_r, CAIRN_T_META,
                        (const uint8_t *)CAIRN_AUDIT_META_GENESIS,
                        strlen(CAIRN_AUDIT_META_GENESIS), &g, &glen);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "the store in %s has no genesis: "
                    "%s", run->dir, cairn_strerror(err));
    return err;
  }
  run->genesis = malloc(sizeof *run->genesis);
  if (run->genesis == NULL) return CAIRN_ERR_NOMEM;
  err = cairn_genesis_decode(run->genesis, g, glen);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "the stored genesis does not "
                    "decode: %s", cairn_strerror(err));
    return CAIRN_ERR_CORRUPT;
  }
  return CAIRN_OK;
}

/* ---- the scratch chain ---- */

static cairn_err cairn_audit_open_scratch(cairn_audit_run *run) {
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
  int n = snprintf(run->scratch, sizeof run->scratch, "%s/cairn-audit-XXXXXX",
                   tmp);
  if (n < 0 || (size_t)n >= sizeof run->scratch ||
      mkdtemp(run->scratch) == NULL) {
    cairn_audit_why(run->why, run->why_cap, "cannot create a scratch "
                    "directory under %s: %s", tmp, strerror(errno));
    run->scratch[0] = '\0';
    return CAIRN_ERR_IO;
  }
  cairn_store_opts opts = {.no_sync = true};
  cairn_err err = cairn_store_open(&run->dst, run->scratch, &opts);
  if (err == CAIRN_OK) err = cairn_chain_open(&run->chain, run->dst,
                                              run->genesis);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "cannot create the replay chain "
                    "in %s: %s", run->scratch, cairn_strerror(err));
    return err;
  }
  run->txs = malloc(sizeof *run->txs * CAIRN_BLOCK_TXS_MAX);
  return run->txs == NULL ? CAIRN_ERR_NOMEM : CAIRN_OK;
}

static int cairn_audit_rm_one(const char *path, const struct stat *st,
                              int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path) == 0 ? 0 : -1;
}

static void cairn_audit_close(cairn_audit_run *run) {
  if (run->chain != NULL) cairn_chain_close(run->chain);
  if (run->dst != NULL) cairn_store_close(run->dst);
  if (run->scratch[0] != '\0') {
    /* Best effort: a leftover scratch directory wastes space, no more. */
    (void)nftw(run->scratch, cairn_audit_rm_one, CAIRN_AUDIT_RM_FDS,
               FTW_DEPTH | FTW_PHYS);
  }
  if (run->src_r != NULL) cairn_store_read_end(run->src_r);
  if (run->src != NULL) cairn_store_close(run->src);
  free(run->genesis);
  free(run->txs);
}

/* ---- replay ---- */

/* Strip a leading "block N: " or "height N: " from the chain's sentence:
 * the report names the height itself. */
static const char *cairn_audit_strip_height(const char *s, uint64_t h) {
  static const char *const words[] = {"block", "height"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    char prefix[48];
    snprintf(prefix, sizeof prefix, "%s %llu: ", words[i],
             (unsigned long long)h);
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) == 0) return s + n;
  }
  return s;
}

/* Replay block h from the source into the scratch chain. */
static cairn_err cairn_audit_replay_one(cairn_audit_run *run, uint64_t h) {
  const uint8_t *block = NULL, *commit = NULL;
  size_t block_len = 0, commit_len = 0;
  cairn_err err =
      cairn_store_block(run->src_r, h, &block, &block_len, &commit,
                        &commit_len);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "height %llu: cannot read the "
                    "block or its commit: %s", (unsigned long long)h,
                    cairn_strerror(err));
    cairn_audit_fail(run, err, h, 0);
    return err;
  }
  char chain_why[512] = "";
  err = cairn_chain_apply_block(run->chain, block, block_len, commit,
                                commit_len, chain_why, sizeof chain_why);
  if (err != CAIRN_OK) {
    const char *s = chain_why[0] != '\0' ? chain_why : cairn_strerror(err);
    cairn_audit_why(run->why, run->why_cap, "height %llu: %s (%s)",
                    (unsigned long long)h, cairn_audit_strip_height(s, h),
                    cairn_errname(err));
    cairn_audit_fail(run, err, h, 0);
    return err;
  }
  cairn_block_header hdr;
  err = cairn_block_decode(&hdr, run->txs, CAIRN_BLOCK_TXS_MAX, block,
                           block_len);
  assert(err == CAIRN_OK); /* the chain has just accepted this block */
  if (err != CAIRN_OK) return CAIRN_ERR_INTERNAL;
  run->out->blocks++;
  run->out->txs += hdr.tx_count;
  return CAIRN_OK;
}

static cairn_err cairn_audit_replay(cairn_audit_run *run,
                                    cairn_audit_progress_fn progress,
                                    void *progress_ctx) {
  for (uint64_t h = 1; h <= run->src_tip.height; h++) {
    CAIRN_TRY(cairn_audit_replay_one(run, h));
    if (progress != NULL) progress(progress_ctx, h, run->src_tip.height);
  }
  return CAIRN_OK;
}

static cairn_err cairn_audit_compare_tips(cairn_audit_run *run) {
  cairn_tip rt;
  cairn_chain_tip(run->chain, &rt);
  const cairn_tip *st = &run->src_tip;
  const char *what = NULL;
  const uint8_t *a = NULL, *b = NULL;
  if (rt.height != st->height) what = "height";
  else if (memcmp(rt.hash, st->hash, 32) != 0) {
    what = "tip hash";
    a = st->hash;
    b = rt.hash;
  } else if (memcmp(rt.app_hash, st->app_hash, 32) != 0) {
    what = "app hash";
    a = st->app_hash;
    b = rt.app_hash;
  }
  if (what == NULL) return CAIRN_OK;
  char ah[65] = "", bh[65] = "";
  if (a != NULL) {
    cairn_hex_encode(ah, sizeof ah, a, 32);
    cairn_hex_encode(bh, sizeof bh, b, 32);
  } else {
    snprintf(ah, sizeof ah, "%llu", (unsigned long long)st->height);
    snprintf(bh, sizeof bh, "%llu", (unsigned long long)rt.height);
  }
  cairn_audit_why(run->why, run->why_cap, "stored tip %s is %s, replay gives "
                  "%s", what, ah, bh);
  cairn_audit_fail(run, CAIRN_ERR_CORRUPT, 0, CAIRN_T_META);
  return CAIRN_ERR_CORRUPT;
}

/* ---- table comparison ---- */

/* One side's first difference found by a pass. */
typedef struct cairn_audit_diff {
  bool found;
  uint8_t key[CAIRN_KEY_BYTES_MAX];
  size_t klen;
  const uint8_t *stored; /* NULL: absent */
  size_t stored_len;
  const uint8_t *replay; /* NULL: absent */
  size_t replay_len;
} cairn_audit_diff;

typedef struct cairn_audit_pass {
  cairn_rtxn *other;
  cairn_table table;
  bool scanning_stored; /* the scanned side is the node's store */
  cairn_audit_diff diff;
  cairn_err err;
} cairn_audit_pass;

/* Keys in LMDB's default order: bytes, then length. */
static int cairn_audit_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                               size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = memcmp(a, b, n);
  if (c != 0) return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int cairn_audit_visit(void *ctx, const uint8_t *key, size_t klen,
                             const uint8_t *val, size_t vlen) {
  cairn_audit_pass *p = ctx;
  const uint8_t *ov = NULL;
  size_t olen = 0;
  cairn_err err = cairn_store_get(p->other, p->table, key, klen, &ov, &olen);
  if (err == CAIRN_ERR_NOT_FOUND) ov = NULL;
  else if (err != CAIRN_OK) {
    p->err = err;
    return 1;
  }
  if (ov != NULL && olen == vlen && memcmp(ov, val, vlen) == 0) return 0;
  if (klen > CAIRN_KEY_BYTES_MAX) { /* no valid table has such keys */
    klen = CAIRN_KEY_BYTES_MAX;
  }
  cairn_audit_diff *d = &p->diff;
  d->found = true;
  memcpy(d->key, key, klen);
  d->klen = klen;
  d->stored = p->scanning_stored ? val : ov;
  d->stored_len = p->scanning_stored ? vlen : olen;
  d->replay = p->scanning_stored ? ov : val;
  d->replay_len = p->scanning_stored ? olen : vlen;
  return 1;
}

/* Hex of at most CAIRN_AUDIT_SHOW_BYTES bytes, or "absent". */
static void cairn_audit_show(char *out, size_t cap, const uint8_t *v,
                             size_t n) {
  if (v == NULL) {
    snprintf(out, cap, "absent");
    return;
  }
  size_t shown = n < CAIRN_AUDIT_SHOW_BYTES ? n : CAIRN_AUDIT_SHOW_BYTES;
  assert(cap >= 2 * CAIRN_AUDIT_SHOW_BYTES + 32);
  cairn_hex_encode(out, cap, v, shown);
  if (shown < n) {
    snprintf(out + 2 * shown, cap - 2 * shown, "... (%zu bytes)", n);
  } else if (n == 0) {
    snprintf(out, cap, "(empty)");
  }
}

static void cairn_audit_report_diff(cairn_audit_run *run, cairn_table t,
                                    const cairn_audit_diff *d) {
  char key[2 * CAIRN_KEY_BYTES_MAX + 1];
  char a[2 * CAIRN_AUDIT_SHOW_BYTES + 32], b[2 * CAIRN_AUDIT_SHOW_BYTES + 32];
  cairn_hex_encode(key, sizeof key, d->key, d->klen);
  cairn_audit_show(a, sizeof a, d->stored, d->stored_len);
  cairn_audit_show(b, sizeof b, d->replay, d->replay_len);
  cairn_audit_why(run->why, run->why_cap, "table %s, key %s: stored %s, "
                  "replay %s", cairn_audit_table_name(t), key, a, b);
  cairn_audit_fail(run, CAIRN_ERR_CORRUPT, 0, t);
}

/* Scan `scan` and look every record up in `other`. */
static cairn_err cairn_audit_pass_run(cairn_audit_pass *p, cairn_rtxn *scan) {
  cairn_err err = cairn_store_scan(scan, p->table, cairn_audit_all, 0,
                                   SIZE_MAX,
                                   cairn_audit_visit, p);
  return err != CAIRN_OK ? err : p->err;
}

static cairn_err cairn_audit_compare_table(cairn_audit_run *run,
                                           cairn_rtxn *replay, cairn_table t) {
  cairn_audit_pass fwd = {.other = replay, .table = t,
                          .scanning_stored = true};
  cairn_audit_pass back = {.other = run->src_r, .table = t,
                           .scanning_stored = false};
  cairn_err err = cairn_audit_pass_run(&fwd, run->src_r);
  if (err == CAIRN_OK) err = cairn_audit_pass_run(&back, replay);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "cannot scan table %s: %s",
                    cairn_audit_table_name(t), cairn_strerror(err));
    return err;
  }
  if (!fwd.diff.found && !back.diff.found) return CAIRN_OK;
  const cairn_audit_diff *d = &fwd.diff;
  if (!fwd.diff.found ||
      (back.diff.found &&
       cairn_audit_key_cmp(back.diff.key, back.diff.klen, fwd.diff.key,
                           fwd.diff.klen) < 0)) {
    d = &back.diff;
  }
  cairn_audit_report_diff(run, t, d);
  return CAIRN_ERR_CORRUPT;
}

static cairn_err cairn_audit_compare_tables(cairn_audit_run *run) {
  cairn_rtxn *replay = NULL;
  cairn_err err = cairn_store_read_begin(run->dst, &replay);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "cannot read the replay store: "
                    "%s", cairn_strerror(err));
    return err;
  }
  size_t n = sizeof cairn_audit_tables / sizeof cairn_audit_tables[0];
  for (size_t i = 0; i < n && err == CAIRN_OK; i++) {
    err = cairn_audit_compare_table(run, replay, cairn_audit_tables[i]);
  }
  cairn_store_read_end(replay);
  return err;
}

/* ---- totals ---- */

static cairn_audit_brand *cairn_audit_brand_slot(cairn_audit_report *r,
                                                 uint32_t id) {
  for (uint32_t i = 0; i < r->n_brands; i++) {
    if (r->brands[i].id == id) return &r->brands[i];
  }
  if (r->n_brands == CAIRN_BRANDS_MAX) return NULL;
  cairn_audit_brand *b = &r->brands[r->n_brands++];
  memset(b, 0, sizeof *b);
  b->id = id;
  return b;
}

static int cairn_audit_sum(void *ctx, const uint8_t *key, size_t klen,
                           const uint8_t *val, size_t vlen) {
  cairn_audit_report *r = ctx;
  if (klen != CAIRN_BALANCE_KEY_BYTES || vlen != 8) return 0; /* not ours */
  cairn_audit_brand *b = cairn_audit_brand_slot(r, cairn_be32_read(key + 32));
  if (b == NULL) return 0;
  uint64_t v = cairn_be64_read(val);
  if (b->outstanding > UINT64_MAX - v) {
    b->overflow = true;
    b->outstanding = UINT64_MAX;
  } else {
    b->outstanding += v;
  }
  return 0;
}

static cairn_err cairn_audit_totals(cairn_audit_run *run) {
  cairn_audit_report *r = run->out;
  const cairn_genesis *g = run->genesis;
  for (uint16_t i = 0; i < g->n_brands && i < CAIRN_BRANDS_MAX; i++) {
    cairn_audit_brand *b = &r->brands[r->n_brands++];
    b->id = g->brands[i].id;
    snprintf(b->name, sizeof b->name, "%s", g->brands[i].name);
  }
  cairn_err err = cairn_store_scan(run->src_r, CAIRN_T_BALANCES,
                                   cairn_audit_all, 0, SIZE_MAX,
                                   cairn_audit_sum, r);
  if (err != CAIRN_OK) {
    cairn_audit_why(run->why, run->why_cap, "cannot scan balances: %s",
                    cairn_strerror(err));
  }
  return err;
}

/* ---- entry points ---- */

/* The checks in order; a discrepancy ends the audit with out->ok false. */
static cairn_err cairn_audit_steps(cairn_audit_run *run,
                                   cairn_audit_progress_fn progress,
                                   void *progress_ctx) {
  CAIRN_TRY(cairn_audit_open_source(run));
  cairn_audit_report *out = run->out;
  snprintf(out->chain_id, sizeof out->chain_id, "%s", run->genesis->chain_id);
  out->tip_height = run->src_tip.height;
  memcpy(out->tip_hash, run->src_tip.hash, 32);
  memcpy(out->app_hash, run->src_tip.app_hash, 32);
  CAIRN_TRY(cairn_audit_open_scratch(run));
  out->ok = true;
  CAIRN_TRY(cairn_audit_replay(run, progress, progress_ctx));
  CAIRN_TRY(cairn_audit_compare_tips(run));
  CAIRN_TRY(cairn_audit_compare_tables(run));
  return cairn_audit_totals(run);
}

cairn_err cairn_audit_datadir_progress(const char *dir,
                                       cairn_audit_progress_fn progress,
                                       void *progress_ctx,
                                       cairn_audit_report *out, char *why,
                                       size_t why_cap) {
  assert(dir != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  cairn_audit_why(why, why_cap, "%s", "");
  uint64_t start_ms = cairn_audit_now_ms();
  cairn_audit_run run = {.dir = dir, .out = out, .why = why,
                         .why_cap = why_cap};
  cairn_err err = cairn_audit_steps(&run, progress, progress_ctx);
  cairn_audit_close(&run);
  out->elapsed_ms = cairn_audit_now_ms() - start_ms;
  if (err != CAIRN_OK && out->ok) {
    /* Not a discrepancy but a failure to read or scan: no verdict. */
    out->ok = false;
  }
  if (err != CAIRN_OK && out->failure != CAIRN_OK) return CAIRN_OK;
  if (err == CAIRN_OK) assert(out->ok);
  return err;
}

cairn_err cairn_audit_datadir(const char *dir, cairn_audit_report *out,
                              char *why, size_t why_cap) {
  return cairn_audit_datadir_progress(dir, NULL, NULL, out, why, why_cap);
}
