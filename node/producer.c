/*
 * node/producer.c - the single validator's block loop.
 *
 * One one-shot libevent timer drives everything. A successful admission
 * calls cairn_producer_notify(), which arms the timer if it is idle: due
 * immediately when the last block is at least an interval old, otherwise at
 * last + interval. When it fires, one block is built from the oldest pending
 * transactions (at most CAIRN_BLOCK_TXS_MAX), and the timer is re-armed one
 * interval later if anything is still pending. So an idle chain makes no
 * blocks and wakes no one, a lone transaction waits at most one interval,
 * and a busy chain makes exactly one block per interval. Spacing is measured
 * on the monotonic clock; block times come from the wall clock and the
 * chain raises them to parent + 1 ms if the wall clock stepped back.
 *
 * Building a block (cairn_producer_build) is the Tendermint path reduced to
 * one voter: propose, precommit the proposal's hash with the validator's
 * Ed25519 key, put that single signature into a commit and commit the
 * proposal - the chain checks the commit exactly as it would a
 * multi-validator one. Candidates the builder refuses are collected during
 * the proposal (their indices refer to the candidate array, which must stay
 * untouched until the proposal is built), then dropped from the mempool and
 * logged; the mempool re-executes whatever remains on the new tip.
 *
 * The validator's secret key is copied in at open into memory locked
 * against swapping (where the OS allows) and wiped at close; it is never
 * logged.
 */
#include "cairn/producer.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "cairn/block.h"
#include "cairn/limits.h"
#include "cairn/state.h"
#include "clock.h"

struct cairn_producer {
  struct event_base *base;
  cairn_chain *chain;
  cairn_mempool *mempool;
  const cairn_log *log;
  uint8_t sk[CAIRN_ED25519_SECKEY_BYTES];
  uint32_t interval_ms;
  struct event *timer;
  bool have_last;
  uint64_t last_mono_ms; /* when the last build started */
  bool failed;           /* a fatal error stopped production */
  cairn_producer_fatal_fn on_fatal;
  void *fatal_ctx;
};

/* ---- one block ---- */

/* Candidates refused by the builder, by index into the candidate array. */
typedef struct cairn_producer_rejects {
  size_t *index;
  cairn_err *err;
  size_t n;
  size_t cap;
} cairn_producer_rejects;

static void cairn_producer_on_reject(void *ctx, size_t index, cairn_err err) {
  cairn_producer_rejects *r = ctx;
  assert(r->n < r->cap && index < r->cap);
  r->index[r->n] = index;
  r->err[r->n] = err;
  r->n++;
}

#ifdef CAIRN_DEBUG
/* Debug builds (make DEBUG=1): after every block, check that no brand's
 * points were created or destroyed outside the counted doors (state.h). A
 * violation is a bug in the state machine, so the node stops at once rather
 * than build on a broken state. */
static void cairn_producer_check_conservation(cairn_chain *chain) {
  char why[256];
  cairn_rtxn *r = NULL;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(chain), &r);
  if (err == CAIRN_OK) {
    err = cairn_state_check_conservation_store(r, why, sizeof why);
    cairn_store_read_end(r);
  } else {
    snprintf(why, sizeof why, "cannot read the store");
  }
  if (err != CAIRN_OK) {
    fprintf(stderr, "cairnd: conservation check failed: %s: %s\n",
            cairn_errname(err), why);
    abort();
  }
}
#endif

/* Precommit p with sk and commit it. */
static cairn_err cairn_producer_commit(cairn_chain *chain,
                                       const cairn_proposal *p,
                                       const uint8_t *sk) {
  const cairn_genesis *g = cairn_chain_genesis(chain);
  cairn_vote vote;
  memset(&vote, 0, sizeof vote);
  vote.type = CAIRN_VOTE_PRECOMMIT;
  vote.height = p->header.height;
  vote.round = 0;
  memcpy(vote.block_hash, p->hash, CAIRN_HASH_BYTES);
  CAIRN_TRY(cairn_vote_sign(&vote, (const uint8_t *)g->chain_id,
                            g->chain_id_len, sk));
  cairn_commit *commit = calloc(1, sizeof *commit);
  if (commit == NULL) return CAIRN_ERR_NOMEM;
  commit->height = vote.height;
  commit->round = vote.round;
  memcpy(commit->block_hash, vote.block_hash, CAIRN_HASH_BYTES);
  cairn_err err = cairn_commit_add(commit, vote.validator, vote.sig);
  if (err == CAIRN_OK) err = cairn_chain_commit_proposal(chain, p, commit);
  free(commit);
#ifdef CAIRN_DEBUG
  if (err == CAIRN_OK) cairn_producer_check_conservation(chain);
#endif
  return err;
}

static void cairn_producer_log_block(const cairn_log *log,
                                     const cairn_proposal *p) {
  char hash[CAIRN_LOG_SHORT_HASH_BUF], app[CAIRN_LOG_SHORT_HASH_BUF];
  cairn_log_short_hash(hash, sizeof hash, p->hash);
  cairn_log_short_hash(app, sizeof app, p->app_hash);
  cairn_log_info(log, "block height=%llu txs=%lu hash=%s app=%s",
                 (unsigned long long)p->header.height,
                 (unsigned long)p->header.tx_count, hash, app);
}

/* Scratch for one build, in one allocation: candidates, reject indices and
 * errors, and the ids of the refused candidates. */
typedef struct cairn_producer_scratch {
  cairn_slice *cands;
  cairn_producer_rejects rejects;
  uint8_t (*refused)[CAIRN_HASH_BYTES];
} cairn_producer_scratch;

static void *cairn_producer_scratch_alloc(cairn_producer_scratch *s, size_t n) {
  size_t each = sizeof(cairn_slice) + sizeof(size_t) + sizeof(cairn_err) +
                CAIRN_HASH_BYTES;
  uint8_t *mem = malloc(n * each);
  if (mem == NULL) return NULL;
  s->cands = (cairn_slice *)(void *)mem;
  s->rejects.index = (size_t *)(void *)(mem + n * sizeof(cairn_slice));
  s->rejects.err = (cairn_err *)(void *)(mem + n * (sizeof(cairn_slice) +
                                                    sizeof(size_t)));
  s->refused = (uint8_t(*)[CAIRN_HASH_BYTES])(
      mem + n * (sizeof(cairn_slice) + sizeof(size_t) + sizeof(cairn_err)));
  s->rejects.n = 0;
  s->rejects.cap = n;
  return mem;
}

/* Drop the refused candidates (ids collected before the mempool changes),
 * then let the mempool catch up with the tip. */
static cairn_err cairn_producer_settle(cairn_mempool *mempool,
                                       cairn_producer_scratch *s,
                                       const cairn_proposal *p, bool committed,
                                       uint64_t now_ms) {
  for (size_t i = 0; i < s->rejects.n; i++) {
    cairn_mempool_txid_at(mempool, s->rejects.index[i], s->refused[i]);
  }
  for (size_t i = 0; i < s->rejects.n; i++) {
    /* The ids were read from the mempool just above and are distinct. */
    cairn_err err = cairn_mempool_drop(mempool, s->refused[i],
                                       s->rejects.err[i]);
    assert(err == CAIRN_OK);
    (void)err;
  }
  return cairn_mempool_after_block(
      mempool, committed ? (const uint8_t(*)[CAIRN_HASH_BYTES])p->txids : NULL,
      committed ? p->header.tx_count : 0, now_ms);
}

cairn_err cairn_producer_build(cairn_chain *chain, cairn_mempool *mempool,
                               const cairn_log *log,
                               const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
                               uint64_t now_ms, uint64_t *height) {
  assert(chain != NULL && mempool != NULL && sk != NULL && height != NULL);
  *height = 0;
  size_t n = cairn_mempool_count(mempool);
  if (n == 0) return CAIRN_OK;
  if (n > CAIRN_BLOCK_TXS_MAX) n = CAIRN_BLOCK_TXS_MAX;
  cairn_producer_scratch s;
  void *mem = cairn_producer_scratch_alloc(&s, n);
  if (mem == NULL) return CAIRN_ERR_NOMEM;
  n = cairn_mempool_candidates(mempool, s.cands, n);
  cairn_proposal *p = NULL;
  cairn_err err = cairn_chain_propose(chain, s.cands, n, now_ms,
                                      sk + CAIRN_ED25519_SECKEY_BYTES -
                                          CAIRN_ED25519_PUBKEY_BYTES,
                                      cairn_producer_on_reject, &s.rejects, &p);
  if (err != CAIRN_OK) {
    free(mem);
    return err;
  }
  bool committed = false;
  if (p->header.tx_count > 0) {
    err = cairn_producer_commit(chain, p, sk);
    committed = err == CAIRN_OK;
  }
  cairn_err settle = cairn_producer_settle(mempool, &s, p, committed, now_ms);
  if (committed) {
    cairn_producer_log_block(log, p);
    *height = p->header.height;
  }
  cairn_proposal_free(p);
  free(mem);
  return err != CAIRN_OK ? err : settle;
}

/* ---- timing ---- */

static void cairn_producer_schedule(cairn_producer *p) {
  if (p->failed || evtimer_pending(p->timer, NULL)) return;
  if (cairn_mempool_count(p->mempool) == 0) return;
  uint64_t now = cairn_clock_mono_ms();
  uint64_t due = p->have_last ? p->last_mono_ms + p->interval_ms : now;
  uint64_t delay_ms = due > now ? due - now : 0;
  struct timeval tv = {.tv_sec = (time_t)(delay_ms / 1000u),
                       .tv_usec = (suseconds_t)((delay_ms % 1000u) * 1000u)};
  int rc = evtimer_add(p->timer, &tv);
  assert(rc == 0);
  (void)rc;
}

static void cairn_producer_on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  cairn_producer *p = arg;
  if (p->failed) return;
  p->last_mono_ms = cairn_clock_mono_ms();
  p->have_last = true;
  uint64_t height = 0;
  cairn_err err = cairn_producer_build(p->chain, p->mempool, p->log, p->sk,
                                       cairn_clock_wall_ms(), &height);
  if (err != CAIRN_OK) {
    cairn_log_error(p->log, "block production failed: code=%s msg=%s",
                    cairn_errname(err), cairn_strerror(err));
    /* Out of memory may pass; a failing or corrupt store will not. */
    if (err != CAIRN_ERR_NOMEM) {
      p->failed = true;
      if (p->on_fatal != NULL) p->on_fatal(p->fatal_ctx, err);
      return;
    }
  }
  cairn_producer_schedule(p);
}

void cairn_producer_notify(cairn_producer *p) {
  assert(p != NULL);
  cairn_producer_schedule(p);
}

cairn_err cairn_producer_open(cairn_producer **out,
                              const cairn_producer_opts *o) {
  assert(out != NULL && o != NULL && o->base != NULL);
  assert(o->chain != NULL && o->mempool != NULL && o->validator_sk != NULL);
  assert(o->block_interval_ms >= CAIRN_BLOCK_INTERVAL_MS_MIN &&
         o->block_interval_ms <= CAIRN_BLOCK_INTERVAL_MS_MAX);
  *out = NULL;
  cairn_producer *p = calloc(1, sizeof *p);
  if (p == NULL) return CAIRN_ERR_NOMEM;
  p->base = o->base;
  p->chain = o->chain;
  p->mempool = o->mempool;
  p->log = o->log;
  /* The key lives as long as the node: keep it out of swap and core
   * files where the OS allows (best effort; RLIMIT_MEMLOCK may refuse). */
  (void)sodium_mlock(p->sk, sizeof p->sk);
  memcpy(p->sk, o->validator_sk, sizeof p->sk);
  p->interval_ms = o->block_interval_ms;
  p->on_fatal = o->on_fatal;
  p->fatal_ctx = o->fatal_ctx;
  p->timer = evtimer_new(o->base, cairn_producer_on_timer, p);
  if (p->timer == NULL) {
    cairn_producer_close(p);
    return CAIRN_ERR_NOMEM;
  }
  *out = p;
  return CAIRN_OK;
}

void cairn_producer_close(cairn_producer *p) {
  if (p == NULL) return;
  if (p->timer != NULL) event_free(p->timer);
  sodium_memzero(p->sk, sizeof p->sk);
  (void)sodium_munlock(p->sk, sizeof p->sk);
  free(p);
}
