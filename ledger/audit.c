/*
 * audit.c - the auditor: replay a chain from its sources and judge it.
 *
 * A ledger is only as trustworthy as the ability of an outsider to check
 * it. Nodes store every block with its commit; everything else they hold is
 * derived. The auditor therefore takes only the genesis and the blocks from
 * each source and rebuilds everything in a replica of its own, through the
 * same code path a peer uses to accept a block (cairn_chain_apply_block),
 * which re-verifies each link, Merkle root, commit, signature, rule and
 * state hash. Only then does it look at what the source claims - its tip,
 * and for a data directory every derived record (audit_datadir.c) - and
 * demand that it be identical, and only then does it finish the report of
 * what every brand owes, whose cross-checks are part of the verdict.
 *
 * One engine serves every mode. Each source gets a *lane*: the source, the
 * genesis it serves, the tip it claims, and a replica store with a chain on
 * it. Lanes advance in lockstep, one height at a time, so that when two
 * sources disagree the first height where they do is found without
 * replaying either further; at every height the block hashes of all lanes
 * that have it must be equal. A lane starts from what its replica already
 * holds: nothing for a scratch replica (one-shot audits), the last verified
 * block for a persistent one (continuous audits).
 *
 * A persistent replica is only trusted together with the checkpoint: it
 * must hold the checkpoint's block and state hash at the checkpoint's
 * height, or it is discarded and rebuilt from genesis. Before anything new
 * is verified, each source must still hold the checkpoint's block and the
 * replica's last block at their heights (else history was rewritten), and
 * its tip must not be below them (else it is behind, or truncated). Those
 * are alarms, not failures: nothing the source says can be verified
 * against a history it no longer has, and the checkpoint is left as it was
 * so the next run raises the same alarm.
 *
 * The checkpoint only ever names a block that every lane has verified and
 * every source agrees on: the lowest lane height. It is handed to the
 * caller (who writes it atomically) after the replicas have been flushed to
 * disk, every CAIRN_AUDIT_CHECKPOINT_EVERY blocks and at the end of a run,
 * also when a bad block stops the run - the blocks before it were good.
 *
 * What the run found is recorded once: the first finding (a bad block, a
 * differing record, a report that does not add up) or alarm wins, and the
 * run stops. Errors that say nothing about the data (out of memory, a
 * source that cannot be reached, a replica that cannot be written) are
 * returned instead, with no verdict.
 */
#define _XOPEN_SOURCE 700

#include "cairn/audit.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/block.h"
#include "cairn/chain.h"
#include "cairn/encoding.h"
#include "cairn/genesis.h"
#include "cairn/lookahead.h"

#define AUDIT_HEX (2 * CAIRN_HASH_BYTES + 1)
#define AUDIT_MSG_BYTES 1024

/* One source and its replica. */
typedef struct audit_lane {
  cairn_audit_source *src;
  cairn_genesis *genesis;
  bool have_genesis; /* genesis and genesis_hash are the source's */
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  cairn_audit_tip tip; /* what the source claims */
  char dir[PATH_MAX];
  bool scratch; /* a temporary replica, removed at the end */
  cairn_store *store;
  cairn_chain *chain;
  cairn_lookahead *ahead;  /* checks the next block while one is applied */
  uint64_t verified;       /* the replica's height */
  uint64_t start_verified; /* ... when the run began */
} audit_lane;

typedef struct audit_engine {
  const cairn_audit_config *cfg;
  cairn_audit_result *out;
  char *why;
  size_t why_cap;
  bool done; /* a finding or an alarm has been recorded */
  size_t n;
  audit_lane lanes[CAIRN_AUDIT_SOURCES_MAX];
  cairn_report *report;
  bool own_report;
  cairn_slice *txs;     /* CAIRN_BLOCK_TXS_MAX entries */
  cairn_commit *commit; /* decoding scratch */
  cairn_valset *valset; /* the set in force for the block being applied */
  uint64_t start_ms;
  uint64_t since_checkpoint;
} audit_engine;

/* Stop a step when it recorded a verdict. */
#define AUDIT_STEP(e, expr)                                                    \
  do {                                                                         \
    CAIRN_TRY(expr);                                                           \
    if ((e)->done) return CAIRN_OK;                                            \
  } while (0)

/* Names of the tables, as the store names its databases. */
static const char *const audit_table_names[] = {
    [CAIRN_T_BALANCES] = "balances",
    [CAIRN_T_SEQUENCES] = "sequences",
    [CAIRN_T_COUPONS] = "coupons",
    [CAIRN_T_COUPON_OWNER] = "coupon_owner",
    [CAIRN_T_BRANDS] = "brands",
    [CAIRN_T_VALIDATORS] = "validators",
    [CAIRN_T_CLIENT_REFS] = "client_refs",
    [CAIRN_T_BRAND_STATS] = "brand_stats",
    [CAIRN_T_HOLDS] = "holds",
    [CAIRN_T_HOLD_TIMEOUTS] = "hold_timeouts",
    [CAIRN_T_ISSUES] = "issues",
    [CAIRN_T_AGREEMENTS] = "agreements",
    [CAIRN_T_SETTLEMENTS] = "settlements",
    [CAIRN_T_LOTS] = "lots",
    [CAIRN_T_LOT_EXPIRY] = "lot_expiry",
    [CAIRN_T_META] = "meta",
    [CAIRN_T_BLOCKS] = "blocks",
    [CAIRN_T_COMMITS] = "commits",
    [CAIRN_T_BLOCK_INDEX] = "block_index",
    [CAIRN_T_TX_INDEX] = "tx_index"};

_Static_assert(CAIRN_STATE_TABLE_MAX < CAIRN_T_META,
               "state tables come before the chain tables");

const char *cairn_audit_table_name(cairn_table t) {
  size_t n = sizeof audit_table_names / sizeof audit_table_names[0];
  if ((size_t)t >= n || audit_table_names[t] == NULL) return "unknown";
  return audit_table_names[t];
}

/* ---- small helpers ---- */

__attribute__((format(printf, 4, 5))) static cairn_err
audit_say(char *why, size_t why_cap, cairn_err err, const char *fmt, ...) {
  if (why != NULL && why_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_cap, fmt, ap);
    va_end(ap);
  }
  return err;
}

static void audit_hex(char out[AUDIT_HEX], const uint8_t h[32]) {
  cairn_hex_encode(out, AUDIT_HEX, h, CAIRN_HASH_BYTES);
}

static uint64_t audit_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A source could not be read: no verdict on its data. */
static bool audit_source_local(cairn_err err) {
  return err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_IO ||
         err == CAIRN_ERR_ARG || err == CAIRN_ERR_STORE ||
         err == CAIRN_ERR_MAP_FULL || err == CAIRN_ERR_INTERNAL ||
         err == CAIRN_ERR_NETWORK || err == CAIRN_ERR_TIMEOUT ||
         err == CAIRN_ERR_HTTP;
}

/* The replica (our own store) failed, not the block. */
static bool audit_replica_local(cairn_err err) {
  return err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_IO ||
         err == CAIRN_ERR_STORE || err == CAIRN_ERR_MAP_FULL ||
         err == CAIRN_ERR_INTERNAL || err == CAIRN_ERR_CORRUPT;
}

/* Record a finding about lane i's data (the first one wins). */
__attribute__((format(printf, 6, 7))) static void
audit_finding(audit_engine *e, size_t i, cairn_err err, uint64_t height,
              cairn_table table, const char *fmt, ...) {
  if (e->done) return;
  e->done = true;
  cairn_audit_result *out = e->out;
  out->ok = false;
  out->failure = err;
  out->failed_height = height;
  out->failed_table = table;
  out->failed_source = i;
  char msg[AUDIT_MSG_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (e->n > 1)
    (void)audit_say(e->why, e->why_cap, err, "%s (%s)", msg,
                    e->lanes[i].src->name);
  else
    (void)audit_say(e->why, e->why_cap, err, "%s", msg);
}

/* Record an alarm; why is the whole sentence after "ALARM: ". */
__attribute__((format(printf, 8, 9))) static void
audit_alarm(audit_engine *e, cairn_audit_alarm kind, size_t i, size_t other,
            uint64_t height, const uint8_t expected[32],
            const uint8_t found[32], const char *fmt, ...) {
  if (e->done) return;
  e->done = true;
  cairn_audit_result *out = e->out;
  out->ok = false;
  out->alarm = kind;
  out->alarm_source = i;
  out->alarm_other = other;
  out->alarm_height = height;
  memcpy(out->alarm_expected, expected, CAIRN_HASH_BYTES);
  memcpy(out->alarm_found, found, CAIRN_HASH_BYTES);
  char msg[AUDIT_MSG_BYTES];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  (void)audit_say(e->why, e->why_cap, CAIRN_OK, "ALARM: %s", msg);
}

/* Strip a leading "block N: " from the chain's sentence: the finding
 * names the height itself. */
static const char *audit_strip_height(const char *s, uint64_t h) {
  char prefix[48];
  snprintf(prefix, sizeof prefix, "block %llu: ", (unsigned long long)h);
  size_t n = strlen(prefix);
  return strncmp(s, prefix, n) == 0 ? s + n : s;
}

/* Hash of a block's header, from its bytes. */
static cairn_err audit_block_hash(audit_engine *e, const uint8_t *block,
                                  size_t len, cairn_block_header *h,
                                  uint8_t hash[32]) {
  CAIRN_TRY(cairn_block_decode(h, e->txs, CAIRN_BLOCK_TXS_MAX, block, len));
  return cairn_block_hash(hash, h);
}

/* ---- replicas ---- */

/* Choose (and create) lane i's replica directory. */
static cairn_err audit_replica_path(audit_engine *e, size_t i) {
  audit_lane *l = &e->lanes[i];
  const char *base = e->cfg->replica_dir;
  int n;
  if (base == NULL) {
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
    n = snprintf(l->dir, sizeof l->dir, "%s/cairn-audit-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof l->dir || mkdtemp(l->dir) == NULL) {
      l->dir[0] = '\0';
      return audit_say(e->why, e->why_cap, CAIRN_ERR_IO, "cannot create a "
                       "scratch directory under %s: %s", tmp,
                       strerror(errno));
    }
    l->scratch = true;
    return CAIRN_OK;
  }
  n = i == 0 ? snprintf(l->dir, sizeof l->dir, "%s", base)
             : snprintf(l->dir, sizeof l->dir, "%s-%zu", base, i);
  if (n < 0 || (size_t)n >= sizeof l->dir)
    return audit_say(e->why, e->why_cap, CAIRN_ERR_IO, "the replica path "
                     "%s is too long", base);
  if (mkdir(l->dir, 0700) != 0 && errno != EEXIST)
    return audit_say(e->why, e->why_cap, CAIRN_ERR_IO, "cannot create the "
                     "replica directory %s: %s", l->dir, strerror(errno));
  return CAIRN_OK;
}

static void audit_replica_close(audit_lane *l) {
  cairn_lookahead_free(l->ahead); /* before its chain */
  l->ahead = NULL;
  if (l->chain != NULL) cairn_chain_close(l->chain);
  if (l->store != NULL) cairn_store_close(l->store);
  l->chain = NULL;
  l->store = NULL;
}

/* Remove the two files LMDB keeps in a replica directory - nothing else,
 * whatever the directory is - and a scratch directory itself. */
static void audit_replica_remove(audit_lane *l) {
  static const char *const files[] = {"data.mdb", "lock.mdb"};
  char p[PATH_MAX + 16];
  if (l->dir[0] == '\0') return;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", l->dir, files[i]);
    (void)unlink(p);
  }
  if (l->scratch) (void)rmdir(l->dir);
}

static cairn_err audit_replica_open_once(audit_engine *e, audit_lane *l) {
  cairn_store_opts opts = {.no_sync = true, .scratch = l->scratch};
  cairn_err err = cairn_store_open(&l->store, l->dir, &opts);
  if (err == CAIRN_OK)
    err = cairn_chain_open(&l->chain, l->store, l->genesis);
  if (err != CAIRN_OK) {
    audit_replica_close(l);
    return err;
  }
  cairn_chain_set_verify_threads(l->chain, e->cfg->verify_threads);
  /* Without one the blocks are only checked one after another. */
  if (cairn_chain_verify_threads(l->chain) > 1 &&
      cairn_lookahead_new(&l->ahead, l->chain) != CAIRN_OK)
    l->ahead = NULL;
  return CAIRN_OK;
}

/* Open lane i's replica; a kept replica of another chain, or one that
 * cannot be read, is discarded and started afresh. */
static cairn_err audit_replica_open(audit_engine *e, size_t i) {
  audit_lane *l = &e->lanes[i];
  cairn_err err = audit_replica_open_once(e, l);
  if (!l->scratch &&
      (err == CAIRN_ERR_GENESIS_MISMATCH || err == CAIRN_ERR_CORRUPT)) {
    audit_replica_remove(l);
    err = audit_replica_open_once(e, l);
  }
  if (err != CAIRN_OK)
    return audit_say(e->why, e->why_cap, err, "cannot open the replica in "
                     "%s: %s", l->dir, cairn_strerror(err));
  return CAIRN_OK;
}

/* The block hash at height h (<= the replica's tip) of lane l's replica,
 * and the state hash after that block. */
static cairn_err audit_replica_at(audit_engine *e, audit_lane *l, uint64_t h,
                                  uint8_t hash[32], uint8_t state[32]) {
  cairn_tip tip;
  cairn_chain_tip(l->chain, &tip);
  assert(h <= tip.height);
  if (h == tip.height) {
    memcpy(hash, tip.hash, CAIRN_HASH_BYTES);
    memcpy(state, tip.app_hash, CAIRN_HASH_BYTES);
    return CAIRN_OK;
  }
  cairn_rtxn *r = NULL;
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  cairn_block_header hdr;
  uint8_t next[CAIRN_HASH_BYTES];
  cairn_err err = cairn_store_read_begin(l->store, &r);
  if (err == CAIRN_OK && h == 0) memcpy(hash, l->genesis_hash, 32);
  if (err == CAIRN_OK && h > 0)
    err = cairn_store_block(r, h, &b, &blen, &c, &clen);
  if (err == CAIRN_OK && h > 0) err = audit_block_hash(e, b, blen, &hdr, hash);
  if (err == CAIRN_OK) err = cairn_store_block(r, h + 1, &b, &blen, &c, &clen);
  if (err == CAIRN_OK) err = audit_block_hash(e, b, blen, &hdr, next);
  if (err == CAIRN_OK) memcpy(state, hdr.state_hash, CAIRN_HASH_BYTES);
  if (r != NULL) cairn_store_read_end(r);
  if (err != CAIRN_OK)
    return audit_say(e->why, e->why_cap, err == CAIRN_ERR_NOMEM ? err
                     : CAIRN_ERR_STORE, "the replica in %s cannot be read at "
                     "height %llu: %s; remove it to rebuild it", l->dir,
                     (unsigned long long)h, cairn_strerror(err));
  return CAIRN_OK;
}

/* A kept replica is trusted only if it holds the checkpoint's block and
 * state; otherwise it is rebuilt from genesis. */
static cairn_err audit_replica_trust(audit_engine *e, size_t i) {
  audit_lane *l = &e->lanes[i];
  const cairn_checkpoint *cp = e->cfg->checkpoint;
  cairn_tip tip;
  cairn_chain_tip(l->chain, &tip);
  bool keep = true;
  if (!l->scratch && tip.height > 0) {
    keep = cp != NULL && tip.height >= cp->height;
    if (keep) {
      uint8_t hash[32], state[32];
      CAIRN_TRY(audit_replica_at(e, l, cp->height, hash, state));
      keep = memcmp(hash, cp->block_hash, 32) == 0 &&
             memcmp(state, cp->state_hash, 32) == 0;
    }
  }
  if (!keep) {
    audit_replica_close(l);
    audit_replica_remove(l);
    CAIRN_TRY(audit_replica_open(e, i));
    cairn_chain_tip(l->chain, &tip);
    assert(tip.height == 0);
  }
  l->verified = l->start_verified = tip.height;
  return CAIRN_OK;
}

/* Flush a kept replica before a checkpoint names what it holds (it is
 * written without fsync for speed; fsync of the file covers it all). */
static cairn_err audit_replica_sync(audit_engine *e, const audit_lane *l) {
  char p[PATH_MAX + 16];
  snprintf(p, sizeof p, "%s/data.mdb", l->dir);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  int rc = fd >= 0 ? fsync(fd) : -1;
  int saved = errno;
  if (fd >= 0) close(fd);
  if (rc != 0)
    return audit_say(e->why, e->why_cap, CAIRN_ERR_IO, "cannot flush the "
                     "replica %s: %s", p, strerror(saved));
  return CAIRN_OK;
}

/* ---- sources and their claims ---- */

/* Read lane i's genesis and tip. */
static cairn_err audit_lane_source(audit_engine *e, size_t i) {
  audit_lane *l = &e->lanes[i];
  char msg[AUDIT_MSG_BYTES] = "";
  l->src = &e->cfg->sources[i];
  l->genesis = calloc(1, sizeof *l->genesis);
  if (l->genesis == NULL)
    return audit_say(e->why, e->why_cap, CAIRN_ERR_NOMEM, "out of memory");
  cairn_err err = l->src->genesis(l->src->ctx, l->genesis, msg, sizeof msg);
  if (err == CAIRN_OK) err = cairn_genesis_hash(l->genesis_hash, l->genesis);
  l->have_genesis = err == CAIRN_OK;
  if (err == CAIRN_OK) err = l->src->tip(l->src->ctx, &l->tip, msg, sizeof msg);
  if (err == CAIRN_OK) return CAIRN_OK;
  if (msg[0] == '\0') snprintf(msg, sizeof msg, "%s", cairn_strerror(err));
  if (audit_source_local(err))
    return audit_say(e->why, e->why_cap, err, "%s: %s", l->src->name, msg);
  audit_finding(e, i, err, 0, 0, "%s: %s", l->src->name, msg);
  return CAIRN_OK;
}

/* Every source serves the same chain, the checkpoint's. */
static void audit_check_chain(audit_engine *e) {
  char a[AUDIT_HEX], b[AUDIT_HEX];
  const audit_lane *l0 = &e->lanes[0];
  for (size_t i = 1; i < e->n && !e->done; i++) {
    const audit_lane *l = &e->lanes[i];
    if (memcmp(l->genesis_hash, l0->genesis_hash, 32) == 0) continue;
    audit_hex(a, l0->genesis_hash);
    audit_hex(b, l->genesis_hash);
    audit_alarm(e, CAIRN_AUDIT_ALARM_FORK, i, 0, 0, l0->genesis_hash,
                l->genesis_hash, "sources disagree at height 0 (genesis): "
                "%s has %s, %s has %s", l0->src->name, a, l->src->name, b);
  }
  const cairn_checkpoint *cp = e->cfg->checkpoint;
  if (e->done || cp == NULL) return;
  if (memcmp(cp->genesis_hash, l0->genesis_hash, 32) == 0 &&
      strcmp(cp->chain_id, l0->genesis->chain_id) == 0)
    return;
  audit_hex(a, cp->genesis_hash);
  audit_hex(b, l0->genesis_hash);
  audit_alarm(e, CAIRN_AUDIT_ALARM_CHAIN, 0, 0, 0, cp->genesis_hash,
              l0->genesis_hash, "%s serves chain %s (genesis %s), but the "
              "checkpoint is for chain %s (genesis %s)", l0->src->name,
              l0->genesis->chain_id, b, cp->chain_id, a);
}

/* The hash of the block lane i's source holds at height h. A block that
 * cannot be read or decoded is recorded as a finding. */
static cairn_err audit_source_hash(audit_engine *e, size_t i, uint64_t h,
                                   uint8_t hash[32]) {
  audit_lane *l = &e->lanes[i];
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  char msg[AUDIT_MSG_BYTES] = "";
  cairn_block_header hdr;
  cairn_err err = l->src->block(l->src->ctx, h, &b, &blen, &c, &clen, msg,
                                sizeof msg);
  if (err != CAIRN_OK && audit_source_local(err))
    return audit_say(e->why, e->why_cap, err, "%s: %s", l->src->name, msg);
  if (err != CAIRN_OK) {
    audit_finding(e, i, err, h, 0, "height %llu: %s", (unsigned long long)h,
                  msg[0] != '\0' ? msg : cairn_strerror(err));
    return CAIRN_OK;
  }
  err = audit_block_hash(e, b, blen, &hdr, hash);
  if (err != CAIRN_OK)
    audit_finding(e, i, err, h, 0, "height %llu: the block does not decode: "
                  "%s", (unsigned long long)h, cairn_strerror(err));
  else if (hdr.height != h)
    audit_finding(e, i, CAIRN_ERR_BAD_HEIGHT, h, 0, "height %llu: the block "
                  "stored there is for height %llu", (unsigned long long)h,
                  (unsigned long long)hdr.height);
  return CAIRN_OK;
}

/* Before verifying anything new: the source must still hold the
 * checkpoint's block and the replica's last block, and reach them. */
static cairn_err audit_lane_alarms(audit_engine *e, size_t i) {
  audit_lane *l = &e->lanes[i];
  const cairn_checkpoint *cp = e->cfg->checkpoint;
  uint64_t cp_h = cp != NULL ? cp->height : 0;
  uint64_t need = l->verified > cp_h ? l->verified : cp_h;
  uint8_t want[32], state[32], found[32];
  char a[AUDIT_HEX], b[AUDIT_HEX];
  if (l->tip.height < need) {
    if (need == l->verified)
      CAIRN_TRY(audit_replica_at(e, l, need, want, state));
    else
      memcpy(want, cp->block_hash, 32);
    audit_hex(a, want);
    audit_hex(b, l->tip.hash);
    audit_alarm(e, CAIRN_AUDIT_ALARM_BEHIND, i, i, need, want, l->tip.hash,
                "%s is behind the verified history (truncated or rolled "
                "back?): its tip is height %llu (block %s), but block %s at "
                "height %llu was verified", l->src->name,
                (unsigned long long)l->tip.height, b, a,
                (unsigned long long)need);
    return CAIRN_OK;
  }
  if (cp_h > 0) {
    AUDIT_STEP(e, audit_source_hash(e, i, cp_h, found));
    if (memcmp(found, cp->block_hash, 32) != 0) {
      audit_hex(a, cp->block_hash);
      audit_hex(b, found);
      audit_alarm(e, CAIRN_AUDIT_ALARM_REWRITTEN, i, i, cp_h, cp->block_hash,
                  found, "history rewritten at height %llu: checkpoint has "
                  "%s, %s has %s", (unsigned long long)cp_h, a, l->src->name,
                  b);
      return CAIRN_OK;
    }
  }
  if (l->verified <= cp_h) return CAIRN_OK;
  CAIRN_TRY(audit_replica_at(e, l, l->verified, want, state));
  AUDIT_STEP(e, audit_source_hash(e, i, l->verified, found));
  if (memcmp(found, want, 32) == 0) return CAIRN_OK;
  audit_hex(a, want);
  audit_hex(b, found);
  audit_alarm(e, CAIRN_AUDIT_ALARM_REWRITTEN, i, i, l->verified, want, found,
              "history rewritten at height %llu: the verified replica has "
              "%s, %s has %s", (unsigned long long)l->verified, a,
              l->src->name, b);
  return CAIRN_OK;
}

/* ---- the report ---- */

/* Extend the report with the blocks the first replica verified in earlier
 * runs (decoding only: they were verified then). Each block is counted
 * against the validator set that was in force at its height, which the
 * replica's chain keeps for every height (cairn_chain_valset_at). */
static cairn_err audit_report_catch_up(audit_engine *e) {
  audit_lane *l = &e->lanes[0];
  cairn_report *rep = e->report;
  if (rep->height >= l->verified) return CAIRN_OK;
  cairn_rtxn *r = NULL;
  cairn_err err = cairn_store_read_begin(l->store, &r);
  for (uint64_t h = rep->height + 1; err == CAIRN_OK && h <= l->verified;
       h++) {
    const uint8_t *b = NULL, *c = NULL;
    size_t blen = 0, clen = 0;
    cairn_block_header hdr;
    uint8_t hash[CAIRN_HASH_BYTES];
    err = cairn_store_block(r, h, &b, &blen, &c, &clen);
    if (err == CAIRN_OK) err = audit_block_hash(e, b, blen, &hdr, hash);
    if (err == CAIRN_OK) err = cairn_commit_decode(e->commit, c, clen);
    if (err == CAIRN_OK) err = cairn_chain_valset_at(l->chain, h, e->valset);
    if (err == CAIRN_OK)
      err = cairn_report_add_block(rep, &hdr, hash, e->txs, e->commit,
                                   e->valset);
  }
  if (r != NULL) cairn_store_read_end(r);
  if (err != CAIRN_OK)
    return audit_say(e->why, e->why_cap, err, "cannot build the report from "
                     "the replica in %s: %s", l->dir, cairn_strerror(err));
  return CAIRN_OK;
}

/* Use the caller's report if it fits the first replica, else start one. */
static cairn_err audit_report_prepare(audit_engine *e) {
  audit_lane *l = &e->lanes[0];
  cairn_report *rep = e->cfg->report;
  if (rep == NULL) {
    rep = malloc(sizeof *rep);
    if (rep == NULL)
      return audit_say(e->why, e->why_cap, CAIRN_ERR_NOMEM, "out of memory");
    e->own_report = true;
  }
  e->report = rep;
  bool fresh = e->own_report || rep->height > l->verified ||
               memcmp(rep->genesis_hash, l->genesis_hash, 32) != 0;
  if (!fresh && rep->height > 0) {
    uint8_t hash[32], state[32];
    CAIRN_TRY(audit_replica_at(e, l, rep->height, hash, state));
    fresh = memcmp(hash, rep->hash, 32) != 0;
  }
  if (fresh) cairn_report_init(rep, l->genesis, l->genesis_hash);
  return audit_report_catch_up(e);
}

/* ---- verifying new blocks ---- */

/* Count a block lane i has just verified; the first lane's goes into the
 * report, under the validator set that was in force for it. */
static cairn_err audit_account(audit_engine *e, size_t i, uint64_t h,
                               const uint8_t *block, size_t block_len,
                               const uint8_t *commit, size_t commit_len) {
  cairn_audit_lane_result *lr = &e->out->sources[i];
  cairn_block_header hdr;
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn_err err = audit_block_hash(e, block, block_len, &hdr, hash);
  if (err == CAIRN_OK && i == 0)
    err = cairn_commit_decode(e->commit, commit, commit_len);
  assert(err == CAIRN_OK); /* the chain has just accepted both */
  if (err != CAIRN_OK) return CAIRN_ERR_INTERNAL;
  if (lr->from_height == 0) lr->from_height = h;
  lr->verified++;
  lr->txs += hdr.tx_count;
  if (i != 0) return CAIRN_OK;
  err = cairn_report_add_block(e->report, &hdr, hash, e->txs, e->commit,
                               e->valset);
  if (err != CAIRN_OK)
    return audit_say(e->why, e->why_cap, err, "the report cannot take block "
                     "%llu: %s", (unsigned long long)h, cairn_strerror(err));
  return CAIRN_OK;
}

/* Fetch block h from lane i's source (or take it from the lookahead),
 * then hand block h + 1 to the lookahead so its signatures are checked
 * while h is applied. A source's pointers last until its next call, so h
 * is copied into the lookahead before h + 1 is fetched. A lookahead that
 * cannot start only loses the overlap; a fetch of h + 1 that fails is
 * reported when h + 1's turn comes. */
static cairn_err audit_fetch(audit_lane *l, uint64_t h, const uint8_t **b,
                             size_t *blen, const uint8_t **c, size_t *clen,
                             char *msg, size_t msg_cap) {
  if (l->ahead != NULL && cairn_lookahead_take(l->ahead, h, b, blen, c, clen))
    return CAIRN_OK;
  CAIRN_TRY(l->src->block(l->src->ctx, h, b, blen, c, clen, msg, msg_cap));
  if (l->ahead == NULL || h >= l->tip.height) return CAIRN_OK;
  if (cairn_lookahead_start(l->ahead, h, *b, *blen, *c, *clen) != CAIRN_OK ||
      !cairn_lookahead_take(l->ahead, h, b, blen, c, clen))
    return l->src->block(l->src->ctx, h, b, blen, c, clen, msg, msg_cap);
  return CAIRN_OK;
}

static void audit_fetch_next(audit_lane *l, uint64_t h) {
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  char msg[AUDIT_MSG_BYTES];
  if (l->ahead == NULL || h + 1 > l->tip.height) return;
  if (l->src->block(l->src->ctx, h + 1, &b, &blen, &c, &clen, msg,
                    sizeof msg) != CAIRN_OK)
    return;
  /* Not started (no memory, no thread): h + 1 is fetched in its turn. */
  cairn_err err = cairn_lookahead_start(l->ahead, h + 1, b, blen, c, clen);
  (void)err;
}

/* Fetch block h from lane i's source and verify it into its replica. */
static cairn_err audit_apply(audit_engine *e, size_t i, uint64_t h) {
  audit_lane *l = &e->lanes[i];
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  char msg[AUDIT_MSG_BYTES] = "";
  cairn_err err = audit_fetch(l, h, &b, &blen, &c, &clen, msg, sizeof msg);
  if (err != CAIRN_OK && audit_source_local(err))
    return audit_say(e->why, e->why_cap, err, "%s: %s", l->src->name, msg);
  if (err != CAIRN_OK) {
    audit_finding(e, i, err, h, 0, "height %llu: %s", (unsigned long long)h,
                  msg[0] != '\0' ? msg : cairn_strerror(err));
    return CAIRN_OK;
  }
  audit_fetch_next(l, h);
  if (i == 0) *e->valset = *cairn_chain_valset(l->chain);
  err = cairn_chain_apply_block(l->chain, b, blen, c, clen, msg, sizeof msg);
  if (err != CAIRN_OK && audit_replica_local(err))
    return audit_say(e->why, e->why_cap, err, "cannot verify height %llu "
                     "into the replica in %s: %s", (unsigned long long)h,
                     l->dir, msg[0] != '\0' ? msg : cairn_strerror(err));
  if (err != CAIRN_OK) {
    const char *s = msg[0] != '\0' ? audit_strip_height(msg, h)
                                   : cairn_strerror(err);
    audit_finding(e, i, err, h, 0, "height %llu: %s (%s)",
                  (unsigned long long)h, s, cairn_errname(err));
    return CAIRN_OK;
  }
  l->verified = h;
  return audit_account(e, i, h, b, blen, c, clen);
}

/* Every lane that has height h holds the same block there. */
static cairn_err audit_compare_at(audit_engine *e, uint64_t h) {
  uint8_t want[32], hash[32], state[32];
  size_t first = SIZE_MAX;
  for (size_t i = 0; i < e->n && e->n > 1; i++) {
    audit_lane *l = &e->lanes[i];
    if (h > l->tip.height) continue;
    CAIRN_TRY(audit_replica_at(e, l, h, hash, state));
    if (first == SIZE_MAX) {
      first = i;
      memcpy(want, hash, 32);
    } else if (memcmp(want, hash, 32) != 0) {
      char a[AUDIT_HEX], b[AUDIT_HEX];
      audit_hex(a, want);
      audit_hex(b, hash);
      audit_alarm(e, CAIRN_AUDIT_ALARM_FORK, i, first, h, want, hash,
                  "sources disagree at height %llu: %s has %s, %s has %s",
                  (unsigned long long)h, e->lanes[first].src->name, a,
                  l->src->name, b);
      return CAIRN_OK;
    }
  }
  return CAIRN_OK;
}

/* The checkpoint: the lowest lane height, which every lane verified and
 * (compare_at) every source agrees on. Handed to the callback once the
 * kept replicas are on disk. */
static cairn_err audit_checkpoint(audit_engine *e) {
  uint64_t c = UINT64_MAX;
  for (size_t i = 0; i < e->n; i++)
    if (e->lanes[i].verified < c) c = e->lanes[i].verified;
  audit_lane *l0 = &e->lanes[0];
  cairn_checkpoint *cp = &e->out->checkpoint;
  memset(cp, 0, sizeof *cp);
  cp->chain_id_len = l0->genesis->chain_id_len;
  memcpy(cp->chain_id, l0->genesis->chain_id, cp->chain_id_len);
  memcpy(cp->genesis_hash, l0->genesis_hash, 32);
  cp->height = c;
  CAIRN_TRY(audit_replica_at(e, l0, c, cp->block_hash, cp->state_hash));
  e->out->have_checkpoint = true;
  e->since_checkpoint = 0;
  if (e->cfg->on_checkpoint == NULL) return CAIRN_OK;
  for (size_t i = 0; i < e->n; i++)
    if (!e->lanes[i].scratch) CAIRN_TRY(audit_replica_sync(e, &e->lanes[i]));
  cairn_err err = e->cfg->on_checkpoint(e->cfg->checkpoint_ctx, cp);
  if (err != CAIRN_OK)
    return audit_say(e->why, e->why_cap, err, "cannot write the checkpoint "
                     "for height %llu: %s", (unsigned long long)c,
                     cairn_strerror(err));
  return CAIRN_OK;
}

static bool audit_progress(audit_engine *e, uint64_t h, uint64_t lo,
                           uint64_t hi) {
  if (e->cfg->progress == NULL) return true;
  cairn_audit_progress p = {.height = h, .target = hi,
                            .blocks_done = h - lo, .blocks_todo = hi - lo,
                            .elapsed_ms = audit_now_ms() - e->start_ms};
  for (size_t i = 0; i < e->n; i++) p.txs_done += e->out->sources[i].txs;
  return e->cfg->progress(e->cfg->progress_ctx, &p);
}

/* Heights in lockstep: each lane that lacks h verifies it, then all that
 * have it must agree. */
static cairn_err audit_loop(audit_engine *e) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < e->n; i++) {
    if (e->lanes[i].verified < lo) lo = e->lanes[i].verified;
    if (e->lanes[i].tip.height > hi) hi = e->lanes[i].tip.height;
  }
  for (uint64_t h = lo + 1; h > lo && h <= hi; h++) {
    for (size_t i = 0; i < e->n; i++) {
      audit_lane *l = &e->lanes[i];
      if (l->verified < h && h <= l->tip.height)
        AUDIT_STEP(e, audit_apply(e, i, h));
    }
    AUDIT_STEP(e, audit_compare_at(e, h));
    if (++e->since_checkpoint >= CAIRN_AUDIT_CHECKPOINT_EVERY &&
        e->cfg->on_checkpoint != NULL)
      CAIRN_TRY(audit_checkpoint(e));
    if (!audit_progress(e, h, lo, hi)) {
      e->out->interrupted = true;
      return CAIRN_OK;
    }
  }
  return CAIRN_OK;
}

/* ---- after the replay: claims and the report ---- */

/* The tip the source claims is the tip the replay reached. */
static void audit_finish_tip(audit_engine *e, size_t i) {
  audit_lane *l = &e->lanes[i];
  cairn_tip t;
  cairn_chain_tip(l->chain, &t);
  assert(t.height == l->tip.height); /* the loop replayed up to it */
  const char *what = NULL;
  const uint8_t *claimed = NULL, *replay = NULL;
  if (memcmp(t.hash, l->tip.hash, 32) != 0) {
    what = "tip hash";
    claimed = l->tip.hash;
    replay = t.hash;
  } else if (memcmp(t.app_hash, l->tip.app_hash, 32) != 0) {
    what = "app hash";
    claimed = l->tip.app_hash;
    replay = t.app_hash;
  }
  if (what == NULL) return;
  char a[AUDIT_HEX], b[AUDIT_HEX];
  audit_hex(a, claimed);
  audit_hex(b, replay);
  audit_finding(e, i, CAIRN_ERR_CORRUPT, 0, CAIRN_T_META, "the %s claims "
                "at height %llu: %s is %s, replay gives %s", l->src->name,
                (unsigned long long)t.height, what, a, b);
}

static cairn_err audit_finish_compare(audit_engine *e, size_t i) {
  audit_lane *l = &e->lanes[i];
  if (l->src->compare == NULL) return CAIRN_OK;
  char msg[AUDIT_MSG_BYTES] = "";
  cairn_table t = 0;
  cairn_err err = l->src->compare(l->src->ctx, l->store, &t, msg, sizeof msg);
  if (err == CAIRN_OK) return CAIRN_OK;
  if (msg[0] == '\0') snprintf(msg, sizeof msg, "%s", cairn_strerror(err));
  if (audit_source_local(err))
    return audit_say(e->why, e->why_cap, err, "%s: %s", l->src->name, msg);
  audit_finding(e, i, err, 0, t, "%s", msg);
  return CAIRN_OK;
}

static cairn_err audit_finish_report(audit_engine *e) {
  audit_lane *l = &e->lanes[0];
  char msg[AUDIT_MSG_BYTES] = "";
  cairn_rtxn *r = NULL;
  assert(e->report->height == l->verified);
  cairn_err err = cairn_store_read_begin(l->store, &r);
  if (err == CAIRN_OK) {
    err = cairn_report_finish(e->report, r, msg, sizeof msg);
    cairn_store_read_end(r);
  }
  if (err == CAIRN_ERR_CORRUPT || err == CAIRN_ERR_OVERFLOW) {
    audit_finding(e, 0, err, 0, 0, "the report does not add up: %s", msg);
    return CAIRN_OK;
  }
  if (err != CAIRN_OK)
    return audit_say(e->why, e->why_cap, err, "cannot finish the report: %s",
                     msg[0] != '\0' ? msg : cairn_strerror(err));
  return CAIRN_OK;
}

static cairn_err audit_finish(audit_engine *e) {
  for (size_t i = 0; i < e->n && !e->done; i++) audit_finish_tip(e, i);
  for (size_t i = 0; i < e->n && !e->done; i++)
    CAIRN_TRY(audit_finish_compare(e, i));
  if (e->done) return CAIRN_OK;
  return audit_finish_report(e);
}

/* ---- the run ---- */

static cairn_err audit_open(audit_engine *e) {
  e->txs = malloc(sizeof *e->txs * CAIRN_BLOCK_TXS_MAX);
  e->commit = malloc(sizeof *e->commit);
  e->valset = malloc(sizeof *e->valset);
  if (e->txs == NULL || e->commit == NULL || e->valset == NULL)
    return audit_say(e->why, e->why_cap, CAIRN_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < e->n; i++) {
    CAIRN_TRY(audit_replica_path(e, i));
    CAIRN_TRY(audit_replica_open(e, i));
    CAIRN_TRY(audit_replica_trust(e, i));
  }
  return CAIRN_OK;
}

/* Every step in order; a recorded verdict ends the run early. */
static cairn_err audit_steps(audit_engine *e) {
  for (size_t i = 0; i < e->n; i++) AUDIT_STEP(e, audit_lane_source(e, i));
  audit_check_chain(e);
  if (e->done) return CAIRN_OK;
  CAIRN_TRY(audit_open(e));
  for (size_t i = 0; i < e->n; i++) AUDIT_STEP(e, audit_lane_alarms(e, i));
  CAIRN_TRY(audit_report_prepare(e));
  CAIRN_TRY(audit_loop(e));
  /* Blocks verified before a bad one are still good; after an alarm the
   * trusted checkpoint stays as it was. */
  if (e->out->alarm == CAIRN_AUDIT_ALARM_NONE) CAIRN_TRY(audit_checkpoint(e));
  if (e->done || e->out->interrupted) return CAIRN_OK;
  AUDIT_STEP(e, audit_finish(e));
  e->out->ok = true;
  return CAIRN_OK;
}

static void audit_fill_result(audit_engine *e) {
  cairn_audit_result *out = e->out;
  out->n_sources = e->n;
  for (size_t i = 0; i < e->n; i++) {
    const audit_lane *l = &e->lanes[i];
    snprintf(out->sources[i].name, sizeof out->sources[i].name, "%s",
             l->src != NULL ? l->src->name : "");
    out->sources[i].tip = l->tip;
    out->sources[i].verified_tip = l->verified;
  }
  const audit_lane *l0 = &e->lanes[0];
  if (l0->have_genesis) {
    snprintf(out->chain_id, sizeof out->chain_id, "%s", l0->genesis->chain_id);
    memcpy(out->genesis_hash, l0->genesis_hash, 32);
  }
  if (l0->chain != NULL) {
    cairn_tip t;
    cairn_chain_tip(l0->chain, &t);
    out->tip_height = t.height;
    memcpy(out->tip_hash, t.hash, 32);
    memcpy(out->app_hash, t.app_hash, 32);
  }
  out->blocks = out->sources[0].verified;
  out->txs = out->sources[0].txs;
}

static void audit_close(audit_engine *e) {
  for (size_t i = 0; i < e->n; i++) {
    audit_lane *l = &e->lanes[i];
    audit_replica_close(l);
    if (l->scratch) audit_replica_remove(l);
    free(l->genesis);
  }
  if (e->own_report) free(e->report);
  free(e->txs);
  free(e->commit);
  free(e->valset);
}

cairn_err cairn_audit_run(const cairn_audit_config *cfg,
                          cairn_audit_result *out, char *why, size_t why_cap) {
  assert(cfg != NULL && out != NULL && cfg->sources != NULL);
  assert(cfg->n_sources >= 1 && cfg->n_sources <= CAIRN_AUDIT_SOURCES_MAX);
  memset(out, 0, sizeof *out);
  (void)audit_say(why, why_cap, CAIRN_OK, "%s", "");
  audit_engine *e = calloc(1, sizeof *e);
  if (e == NULL)
    return audit_say(why, why_cap, CAIRN_ERR_NOMEM, "out of memory");
  e->cfg = cfg;
  e->out = out;
  e->why = why;
  e->why_cap = why_cap;
  e->n = cfg->n_sources;
  e->start_ms = audit_now_ms();
  cairn_err err = audit_steps(e);
  audit_fill_result(e);
  audit_close(e);
  out->elapsed_ms = audit_now_ms() - e->start_ms;
  free(e);
  if (err != CAIRN_OK) out->ok = false;
  return err;
}

cairn_err cairn_audit_datadir(const char *dir, cairn_audit_result *out,
                              cairn_report *report, char *why,
                              size_t why_cap) {
  cairn_audit_source src;
  assert(dir != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  CAIRN_TRY(cairn_audit_source_datadir(&src, dir, why, why_cap));
  cairn_audit_config cfg = {.sources = &src, .n_sources = 1,
                            .report = report};
  cairn_err err = cairn_audit_run(&cfg, out, why, why_cap);
  cairn_audit_source_close(&src);
  return err;
}

void cairn_audit_source_close(cairn_audit_source *s) {
  if (s == NULL) return;
  if (s->close != NULL) s->close(s->ctx);
  memset(s, 0, sizeof *s);
}

/* ---- the progress line ---- */

/* v with thousands separators: 41000 -> "41,000". */
static void audit_grouped(char *out, size_t cap, uint64_t v) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
  size_t o = 0;
  for (int i = 0; i < n && o + 2 < cap; i++) {
    if (i > 0 && (n - i) % 3 == 0) out[o++] = ',';
    out[o++] = digits[i];
  }
  out[o] = '\0';
}

static void audit_duration(char *out, size_t cap, uint64_t s) {
  if (s < 60) snprintf(out, cap, "%" PRIu64 "s", s);
  else if (s < 3600)
    snprintf(out, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
  else
    snprintf(out, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
}

size_t cairn_audit_progress_format(char *buf, size_t cap,
                                   const cairn_audit_progress *p) {
  assert(buf != NULL && cap > 0 && p != NULL);
  /* Per mille with integer arithmetic; the product cannot overflow for
   * any height a chain reaches (below 2^54). */
  uint64_t permille =
      p->blocks_todo == 0 ? 1000
                          : p->blocks_done * 1000 / p->blocks_todo;
  int n = snprintf(buf, cap, "audit: block %" PRIu64 "/%" PRIu64
                   " (%" PRIu64 ".%" PRIu64 "%%)", p->height, p->target,
                   permille / 10, permille % 10);
  if (p->elapsed_ms > 0 && n >= 0 && (size_t)n < cap) {
    char blocks[32], txs[32], eta[32];
    uint64_t bps = p->blocks_done * 1000 / p->elapsed_ms;
    audit_grouped(blocks, sizeof blocks, bps);
    audit_grouped(txs, sizeof txs, p->txs_done * 1000 / p->elapsed_ms);
    uint64_t left = p->blocks_todo - p->blocks_done;
    audit_duration(eta, sizeof eta,
                   p->blocks_done == 0 ? 0
                                       : left * p->elapsed_ms /
                                             p->blocks_done / 1000);
    n += snprintf(buf + n, cap - (size_t)n, "  %s blocks/s  %s tx/s  ETA %s",
                  blocks, txs, eta);
  }
  size_t len = n < 0 ? 0 : (size_t)n;
  return len < cap ? len : cap - 1;
}
