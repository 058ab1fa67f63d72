/*
 * node/consensus.c - the Tendermint consensus engine of one node.
 *
 * This is Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip on
 * BFT consensus" (2018), with votes weighted by stake. The paper writes the
 * algorithm as a list of "upon" rules over a message log; the engine keeps
 * that log as one vote set per (round, type) of the current height plus at
 * most two proposals per round, and after every input it re-evaluates the
 * rules (cons_progress) until none fires. Each rule that the paper marks
 * "for the first time" has a flag in its round's slot, and every other rule
 * changes the step, so the loop always ends. specs/consensus.md §5 maps each
 * line of the paper to a function here.
 *
 * State of one height (the paper's variables):
 *   round / step               round_p / step_p; step 0 = waiting for work
 *   locked, locked_round       lockedValue_p / lockedRound_p
 *   valid, valid_round         validValue_p / validRound_p
 *   slots[round % ROUNDS_MAX]  the message log of one round: prevotes,
 *                              precommits, proposals, "first time" flags
 * Rounds live in a sliding window of CAIRN_CONS_ROUNDS_MAX rounds around
 * the current one (cons_window_lo), so a height that runs for very many
 * rounds keeps working with fixed memory; messages outside the window are
 * dropped and come back through re-gossip when they matter.
 *
 * Tallies count what the paper's message log would: a validator's first
 * vote in each vote set, plus the first conflicting vote of a validator
 * that equivocates (cons_extra), which is also reported as evidence. So
 * every node that has received the same votes agrees on every "2f+1"
 * question, even with a validator that signs two values per step.
 *
 * Blocks are reference counted (cons_block): a proposal's slot, the locked
 * value and the valid value may all point at the same block, and a block is
 * executed against the tip exactly once, when first seen
 * (cairn_chain_check_proposal). The resulting cairn_proposal is what
 * cairn_chain_commit_proposal later stores, so deciding runs nothing again.
 * That executed proposal is the paper's valid(v).
 *
 * The engine does no I/O of its own. Everything it says goes through the
 * io callbacks, its timers through io.schedule (a timer that fires late,
 * after the engine moved on, is recognised by its (height, round, step) and
 * ignored), and every signature through the signer (privval.h), which
 * persists before it returns. A refused signature (DOUBLE_SIGN, after a
 * restart, or IO) is logged and the message is not sent; the engine moves
 * on as if it had sent it, choosing safety over its own liveness.
 *
 * Heights start only when there is work (consensus.h): after a commit the
 * engine waits commit_ms, then starts round 0 when the mempool has a
 * transaction or a message for the new height arrives.
 */
#include "cairn/consensus.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/votes.h"

/* Step 0: the height has not started (commit pause, or no work yet). */
#define CONS_STEP_WAIT 0u
/* Rounds below the current one kept in the window; the rest of the window
 * (CAIRN_CONS_ROUNDS_MAX - this) is the current round and those above it,
 * which the round-skip rule needs. */
#define CONS_ROUNDS_BEHIND (CAIRN_CONS_ROUNDS_MAX / 2u - 1u)
/* Proposals kept per round: the first valid one, which the node prevotes
 * on, and one conflicting one from an equivocating proposer, kept only so
 * that its block is known if the others decide it. */
#define CONS_PROPS_MAX 2u
/* Each pass of cons_progress fires one rule; each rule fires at most once
 * per (round, step) and a round change is bounded by the window, so this
 * bound is never reached by a correct engine. */
#define CONS_PROGRESS_MAX (8u * CAIRN_CONS_ROUNDS_MAX)

_Static_assert(CAIRN_CONS_ROUNDS_MAX >= 4 && CAIRN_CONS_ROUNDS_MAX <= 1024,
               "the round window is small and has room above and below");

static const uint8_t k_nil[CAIRN_HASH_BYTES];

/* A block seen at this height, with the verdict of executing it. */
typedef struct cons_block {
  uint32_t refs;
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn_block_header header;
  const uint8_t *bytes; /* == own, read-only to everyone else */
  size_t len;
  uint8_t *own;
  cairn_proposal *p; /* executed changes; NULL when the block is invalid */
} cons_block;

typedef struct cons_prop {
  cairn_msg_proposal msg; /* msg.block points at blk->bytes */
  cons_block *blk;
} cons_prop;

/* The second votes of equivocating validators in one vote set: the vote
 * set keeps a validator's first vote only, but the paper's message log
 * holds every vote received, and its "2f+1 prevotes for v" counts a
 * validator that voted v even if it also voted something else. Keeping
 * the first conflicting vote (the one reported as evidence) makes every
 * node count the same votes of a validator that signs two values per step
 * (a Twins pair), so their views of a polka agree again once gossip has
 * delivered everything. Allocated on the first equivocation only. */
typedef struct cons_extra {
  bool have[CAIRN_VALIDATORS_MAX]; /* indexed like the set */
  cairn_vote votes[CAIRN_VALIDATORS_MAX];
} cons_extra;

/* The message log of one round of the current height. */
typedef struct cons_round {
  bool used;
  uint32_t round;
  cairn_voteset prevotes;
  cairn_voteset precommits;
  uint32_t n_props;
  cons_prop props[CONS_PROPS_MAX];
  bool prevote_timer;   /* line 34 fired */
  bool precommit_timer; /* line 47 fired */
  bool polka_seen;      /* line 36 fired */
  bool commit_failed;   /* the chain refused this round's commit */
  cons_extra *extra[2]; /* by vote type - 1; NULL until an equivocation */
} cons_round;

struct cairn_cons {
  cairn_chain *chain;
  cairn_mempool *mempool;
  cairn_privval *pv;
  const cairn_log *log;
  cairn_cons_timeouts to;
  cairn_cons_io io;
  const uint8_t *chain_id;
  size_t chain_id_len;
  uint8_t self[CAIRN_ED25519_PUBKEY_BYTES];
  bool signer; /* a signer whose key is in the set in force */
  cairn_valset vs; /* in force at this height; the vote sets point here */
  uint64_t height;
  uint32_t round;
  uint8_t step;
  bool pausing;       /* the commit pause of this height is running */
  bool work;          /* a message for this height arrived while waiting */
  bool want_asked;    /* io.want_block called at this height */
  cons_block *locked;
  uint32_t locked_round; /* CAIRN_POL_ROUND_NONE: -1 */
  cons_block *valid;
  uint32_t valid_round;
  cons_round slots[CAIRN_CONS_ROUNDS_MAX];
  /* The precommits that committed the previous height, for re-gossip. */
  cairn_vote prev[CAIRN_VALIDATORS_MAX];
  uint32_t n_prev;
  cairn_commit commit; /* scratch: too big for the stack */
};

/* ---- small helpers ---- */

void cairn_cons_timeouts_default(cairn_cons_timeouts *t) {
  assert(t != NULL);
  t->propose_ms = 1000;
  t->propose_delta_ms = 500;
  t->prevote_ms = 500;
  t->prevote_delta_ms = 250;
  t->precommit_ms = 500;
  t->precommit_delta_ms = 250;
  t->commit_ms = 100;
}

static uint32_t cons_grow(uint32_t base_ms, uint32_t delta_ms, uint32_t round) {
  uint64_t ms = (uint64_t)base_ms + (uint64_t)delta_ms * round;
  return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void cons_schedule(cairn_cons *e, uint8_t step) {
  const cairn_cons_timeouts *t = &e->to;
  uint32_t ms = t->commit_ms;
  if (step == CAIRN_STEP_PROPOSE)
    ms = cons_grow(t->propose_ms, t->propose_delta_ms, e->round);
  else if (step == CAIRN_STEP_PREVOTE)
    ms = cons_grow(t->prevote_ms, t->prevote_delta_ms, e->round);
  else if (step == CAIRN_STEP_PRECOMMIT)
    ms = cons_grow(t->precommit_ms, t->precommit_delta_ms, e->round);
  e->io.schedule(e->io.ctx, e->height, e->round, step, ms);
}

static bool cons_two_thirds(const cairn_cons *e, uint64_t power) {
  return 3u * power > 2u * e->vs.total_power;
}

static void cons_short(char out[CAIRN_LOG_SHORT_HASH_BUF], const uint8_t *h) {
  cairn_log_short_hash(out, CAIRN_LOG_SHORT_HASH_BUF, h);
}

/* ---- blocks ---- */

static cons_block *cons_block_ref(cons_block *b) {
  assert(b != NULL && b->refs > 0);
  b->refs++;
  return b;
}

static void cons_block_unref(cons_block *b) {
  if (b == NULL) return;
  assert(b->refs > 0);
  if (--b->refs > 0) return;
  cairn_proposal_free(b->p);
  free(b->own);
  free(b);
}

/* A block of this height: its bytes (copied), header and hash, and p, its
 * executed changes (taken over), or NULL for a block that failed its
 * checks, which is kept only so that a repeat is not executed again. */
static cons_block *cons_block_new(const uint8_t *bytes, size_t len,
                                  const cairn_block_header *h,
                                  const uint8_t hash[CAIRN_HASH_BYTES],
                                  cairn_proposal *p) {
  assert(len >= 1);
  cons_block *b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  b->own = malloc(len);
  if (b->own == NULL) {
    free(b);
    return NULL;
  }
  memcpy(b->own, bytes, len);
  b->refs = 1;
  memcpy(b->hash, hash, CAIRN_HASH_BYTES);
  b->header = *h;
  b->bytes = b->own;
  b->len = len;
  b->p = p;
  return b;
}

/* ---- the round window ---- */

static uint32_t cons_window_lo(const cairn_cons *e) {
  return e->round > CONS_ROUNDS_BEHIND ? e->round - CONS_ROUNDS_BEHIND : 0;
}

static bool cons_in_window(const cairn_cons *e, uint32_t round) {
  uint32_t lo = cons_window_lo(e);
  return round >= lo && round - lo < CAIRN_CONS_ROUNDS_MAX;
}

static void cons_slot_clear(cons_round *s) {
  for (uint32_t i = 0; i < s->n_props; i++) cons_block_unref(s->props[i].blk);
  s->n_props = 0;
  free(s->extra[0]);
  free(s->extra[1]);
  s->extra[0] = s->extra[1] = NULL;
  s->used = false;
}

/* The slot of round, started empty if it held an older round; NULL when
 * the round is outside the window. */
static cons_round *cons_slot(cairn_cons *e, uint32_t round) {
  if (!cons_in_window(e, round)) return NULL;
  cons_round *s = &e->slots[round % CAIRN_CONS_ROUNDS_MAX];
  if (s->used && s->round == round) return s;
  /* Rounds in the window differ mod ROUNDS_MAX, so an occupant with
   * another round is below the window: stale. */
  assert(!s->used || !cons_in_window(e, s->round));
  cons_slot_clear(s);
  memset(s, 0, sizeof *s);
  s->used = true;
  s->round = round;
  cairn_voteset_init(&s->prevotes, e->chain_id, e->chain_id_len, &e->vs,
                     e->height, round, CAIRN_VOTE_PREVOTE);
  cairn_voteset_init(&s->precommits, e->chain_id, e->chain_id_len, &e->vs,
                     e->height, round, CAIRN_VOTE_PRECOMMIT);
  return s;
}

/* The slot of round if it holds that round; never creates one. */
static cons_round *cons_peek(cairn_cons *e, uint32_t round) {
  if (!cons_in_window(e, round)) return NULL;
  cons_round *s = &e->slots[round % CAIRN_CONS_ROUNDS_MAX];
  return s->used && s->round == round ? s : NULL;
}

/* ---- tallies over the message log ---- */

static const cairn_voteset *cons_set(const cons_round *s, uint8_t type) {
  return type == CAIRN_VOTE_PREVOTE ? &s->prevotes : &s->precommits;
}

/* Power that voted hash in (s, type): first votes, plus the kept second
 * votes of equivocators (whose first vote was for something else). */
static uint64_t cons_power(const cairn_cons *e, const cons_round *s,
                           uint8_t type, const uint8_t hash[CAIRN_HASH_BYTES]) {
  uint64_t power = cairn_voteset_power(cons_set(s, type), hash);
  const cons_extra *x = s->extra[type - 1];
  for (uint32_t i = 0; x != NULL && i < e->vs.n; i++)
    if (x->have[i] &&
        memcmp(x->votes[i].block_hash, hash, CAIRN_HASH_BYTES) == 0)
      power += e->vs.v[i].power;
  return power;
}

/* Whether some value (nil included) has more than 2/3 of the power in
 * (s, type), counting as cons_power does; out is that value. O(n^2), and
 * only when more than 2/3 voted at all, which every such value needs. */
static bool cons_majority(const cairn_cons *e, const cons_round *s,
                          uint8_t type, uint8_t out[CAIRN_HASH_BYTES]) {
  const cairn_voteset *set = cons_set(s, type);
  const cons_extra *x = s->extra[type - 1];
  memset(out, 0, CAIRN_HASH_BYTES);
  if (!cairn_voteset_has_two_thirds_any(set)) return false;
  for (uint32_t i = 0; i < e->vs.n; i++) {
    for (int k = 0; k < 2; k++) {
      const cairn_vote *v = NULL;
      if (k == 0 && set->have[i]) v = &set->votes[i];
      if (k == 1 && x != NULL && x->have[i]) v = &x->votes[i];
      if (v == NULL || !cons_two_thirds(e, cons_power(e, s, type,
                                                      v->block_hash)))
        continue;
      memcpy(out, v->block_hash, CAIRN_HASH_BYTES);
      return true;
    }
  }
  return false;
}

/* Any block of this height with that hash. */
static cons_block *cons_find_block(cairn_cons *e,
                                   const uint8_t hash[CAIRN_HASH_BYTES]) {
  if (e->locked != NULL && memcmp(e->locked->hash, hash, 32) == 0)
    return e->locked;
  if (e->valid != NULL && memcmp(e->valid->hash, hash, 32) == 0)
    return e->valid;
  for (uint32_t i = 0; i < CAIRN_CONS_ROUNDS_MAX; i++) {
    cons_round *s = &e->slots[i];
    if (!s->used) continue;
    for (uint32_t k = 0; k < s->n_props; k++)
      if (memcmp(s->props[k].blk->hash, hash, CAIRN_HASH_BYTES) == 0)
        return s->props[k].blk;
  }
  return NULL;
}

/* ---- heights ---- */

/* Forget everything about the current height and move to tip + 1,
 * waiting for work. */
static void cons_height_reset(cairn_cons *e) {
  for (uint32_t i = 0; i < CAIRN_CONS_ROUNDS_MAX; i++)
    cons_slot_clear(&e->slots[i]);
  cons_block_unref(e->locked);
  cons_block_unref(e->valid);
  e->locked = e->valid = NULL;
  e->locked_round = e->valid_round = CAIRN_POL_ROUND_NONE;
  cairn_tip tip;
  cairn_chain_tip(e->chain, &tip);
  e->height = tip.height + 1;
  e->round = 0;
  e->step = CONS_STEP_WAIT;
  e->pausing = false;
  e->work = false;
  e->want_asked = false;
  e->vs = *cairn_chain_valset(e->chain);
  e->signer = e->pv != NULL && cairn_valset_find(&e->vs, e->self) >= 0;
}

/* ---- sending ---- */

static void cons_broadcast_vote(cairn_cons *e, const cairn_vote *v) {
  cairn_p2p_msg m;
  memset(&m, 0, sizeof m);
  m.type = CAIRN_MSG_VOTE;
  m.u.vote = *v;
  e->io.broadcast(e->io.ctx, &m);
}

static void cons_broadcast_proposal(cairn_cons *e, const cairn_msg_proposal *p) {
  cairn_p2p_msg m;
  memset(&m, 0, sizeof m);
  m.type = CAIRN_MSG_PROPOSAL;
  m.u.proposal = *p;
  e->io.broadcast(e->io.ctx, &m);
}

/* The first conflicting vote of a validator in a set is kept (cons_extra)
 * and reported as evidence; later ones change nothing, so an offence is
 * reported once per (validator, round, type). */
static void cons_report(cairn_cons *e, cons_round *s,
                        const cairn_vote conflict[2]) {
  int idx = cairn_valset_find(&e->vs, conflict[1].validator);
  assert(idx >= 0); /* the vote set accepted its signer */
  cons_extra **x = &s->extra[conflict[1].type - 1];
  if (*x == NULL) *x = calloc(1, sizeof **x);
  if (*x == NULL) return; /* out of memory: counted once, reported later */
  if ((*x)->have[idx]) return;
  (*x)->have[idx] = true;
  (*x)->votes[idx] = conflict[1];
  char who[CAIRN_LOG_SHORT_HASH_BUF];
  cons_short(who, conflict[1].validator);
  cairn_log_warn(e->log,
                 "equivocation validator=%s height=%llu round=%u type=%s", who,
                 (unsigned long long)conflict[1].height,
                 (unsigned)conflict[1].round,
                 conflict[1].type == CAIRN_VOTE_PREVOTE ? "prevote"
                                                        : "precommit");
  cairn_evidence ev;
  cairn_err err = cairn_evidence_from_votes(&ev, &conflict[0], &conflict[1]);
  assert(err == CAIRN_OK); /* conflicting votes differ in block hash */
  (void)err;
  if (e->io.evidence != NULL) e->io.evidence(e->io.ctx, &ev);
}

/* Count a vote in its round's set. EQUIVOCATION becomes a report and OK. */
static cairn_err cons_add_vote(cairn_cons *e, cons_round *s,
                               const cairn_vote *v) {
  cairn_voteset *set =
      v->type == CAIRN_VOTE_PREVOTE ? &s->prevotes : &s->precommits;
  cairn_vote conflict[2];
  cairn_err err = cairn_voteset_add(set, conflict, v);
  if (err == CAIRN_ERR_EQUIVOCATION) {
    cons_report(e, s, conflict);
    return CAIRN_OK;
  }
  return err;
}

/* Sign, count and send our vote for the current round. The step moves on
 * whether or not the signer agreed (the callers set it). */
static void cons_vote(cairn_cons *e, uint8_t type,
                      const uint8_t hash[CAIRN_HASH_BYTES]) {
  char h[CAIRN_LOG_SHORT_HASH_BUF];
  cons_short(h, hash);
  cairn_log_write(e->log, CAIRN_LOG_DEBUG, "%s height=%llu round=%u hash=%s",
                  type == CAIRN_VOTE_PREVOTE ? "prevote" : "precommit",
                  (unsigned long long)e->height, (unsigned)e->round, h);
  if (!e->signer) return;
  cairn_vote v;
  memset(&v, 0, sizeof v);
  v.type = type;
  v.height = e->height;
  v.round = e->round;
  memcpy(v.block_hash, hash, CAIRN_HASH_BYTES);
  cairn_err err = cairn_privval_sign_vote(e->pv, e->chain_id, e->chain_id_len,
                                          &v);
  if (err != CAIRN_OK) {
    cairn_log_write(e->log,
                    err == CAIRN_ERR_DOUBLE_SIGN ? CAIRN_LOG_WARN
                                                 : CAIRN_LOG_ERROR,
                    "not voting height=%llu round=%u type=%u code=%s",
                    (unsigned long long)e->height, (unsigned)e->round,
                    (unsigned)type, cairn_errname(err));
    return;
  }
  cons_round *s = cons_slot(e, e->round);
  assert(s != NULL); /* the current round is always in the window */
  err = cons_add_vote(e, s, &v);
  assert(err == CAIRN_OK); /* our own key, in the set, freshly signed */
  (void)err;
  cons_broadcast_vote(e, &v);
}

static void cons_prevote(cairn_cons *e, const uint8_t hash[CAIRN_HASH_BYTES]) {
  assert(e->step == CAIRN_STEP_PROPOSE);
  e->step = CAIRN_STEP_PREVOTE;
  cons_vote(e, CAIRN_VOTE_PREVOTE, hash);
}

static void cons_precommit(cairn_cons *e,
                           const uint8_t hash[CAIRN_HASH_BYTES]) {
  assert(e->step == CAIRN_STEP_PREVOTE);
  e->step = CAIRN_STEP_PRECOMMIT;
  cons_vote(e, CAIRN_VOTE_PRECOMMIT, hash);
}

/* ---- proposing (paper lines 13-16) ---- */

/* A fresh block from the mempool (the paper's getValue()); candidates the
 * builder refuses leave the mempool (cairn_mempool_propose). */
static cairn_err cons_build(cairn_cons *e, cons_block **out) {
  *out = NULL;
  cairn_proposal *p = NULL;
  CAIRN_TRY(cairn_mempool_propose(e->mempool, e->io.now_ms(e->io.ctx),
                                  e->self, &p));
  *out = cons_block_new(p->block, p->block_len, &p->header, p->hash, p);
  if (*out == NULL) {
    cairn_proposal_free(p);
    return CAIRN_ERR_NOMEM;
  }
  return CAIRN_OK;
}

/* Keep a proposal in its round's slot: the first is the one the node
 * prevotes on; one conflicting one is kept for its block. Takes b's ref. */
static void cons_keep_proposal(cons_round *s, const cairn_msg_proposal *m,
                               cons_block *b) {
  if (s->n_props == CONS_PROPS_MAX) {
    cons_block_unref(b);
    return;
  }
  cons_prop *slot = &s->props[s->n_props++];
  slot->msg = *m;
  slot->msg.block = b->bytes;
  slot->msg.block_len = b->len;
  slot->blk = b;
}

/* Lines 14-16: propose validValue if set, else a fresh block; sign, keep
 * as this round's proposal and broadcast. */
static void cons_propose(cairn_cons *e) {
  cons_block *b = NULL;
  uint32_t pol = CAIRN_POL_ROUND_NONE;
  if (e->valid != NULL) {
    b = cons_block_ref(e->valid);
    pol = e->valid_round;
  } else {
    cairn_err err = cons_build(e, &b);
    if (err != CAIRN_OK) {
      cairn_log_error(e->log, "cannot build a block height=%llu code=%s",
                      (unsigned long long)e->height, cairn_errname(err));
      return;
    }
  }
  cairn_msg_proposal m;
  memset(&m, 0, sizeof m);
  m.height = e->height;
  m.round = e->round;
  m.pol_round = pol;
  m.block = b->bytes;
  m.block_len = b->len;
  cairn_err err = cairn_privval_sign_proposal(e->pv, e->chain_id,
                                              e->chain_id_len, &m, b->hash);
  if (err != CAIRN_OK) {
    cairn_log_write(e->log,
                    err == CAIRN_ERR_DOUBLE_SIGN ? CAIRN_LOG_WARN
                                                 : CAIRN_LOG_ERROR,
                    "not proposing height=%llu round=%u code=%s",
                    (unsigned long long)e->height, (unsigned)e->round,
                    cairn_errname(err));
    cons_block_unref(b);
    return;
  }
  cons_round *s = cons_slot(e, e->round);
  assert(s != NULL);
  cons_keep_proposal(s, &m, b);
  cons_broadcast_proposal(e, &m);
}

/* Lines 11-21. The proposer schedules the propose timeout as well (the
 * paper does not need to): if its signer refuses, it still moves on. */
static void cons_start_round(cairn_cons *e, uint32_t round) {
  assert(e->height >= 1);
  e->round = round;
  e->step = CAIRN_STEP_PROPOSE;
  e->pausing = false;
  cairn_log_write(e->log, CAIRN_LOG_DEBUG, "round height=%llu round=%u",
                  (unsigned long long)e->height, (unsigned)round);
  cons_round *s = cons_slot(e, round);
  assert(s != NULL);
  (void)s;
  uint8_t who[CAIRN_ED25519_PUBKEY_BYTES];
  cairn_chain_proposer(e->chain, round, who);
  if (e->signer && memcmp(who, e->self, CAIRN_ED25519_PUBKEY_BYTES) == 0)
    cons_propose(e);
  cons_schedule(e, CAIRN_STEP_PROPOSE);
}

/* ---- deciding (paper lines 49-54) ---- */

static void cons_want(cairn_cons *e) {
  if (e->want_asked) return;
  e->want_asked = true;
  if (e->io.want_block != NULL) e->io.want_block(e->io.ctx, e->height);
}

/* After a commit, or when the tip moved under us: the next height. */
static void cons_next_height(cairn_cons *e, bool pause) {
  cons_height_reset(e);
  if (pause) {
    e->pausing = true;
    cons_schedule(e, CONS_STEP_WAIT);
  } else if (cairn_mempool_count(e->mempool) > 0) {
    cons_start_round(e, 0);
  }
}

static void cons_log_commit(const cairn_cons *e, const cons_block *b,
                            uint32_t round) {
  char hash[CAIRN_LOG_SHORT_HASH_BUF];
  cons_short(hash, b->hash);
  cairn_log_info(e->log, "commit height=%llu round=%u hash=%s txs=%lu",
                 (unsigned long long)b->header.height, (unsigned)round, hash,
                 (unsigned long)b->header.tx_count);
}

/* The commit for hash from the precommits of s: the vote set's own, or,
 * when the majority needs an equivocator's second vote, with those added
 * (each is a valid precommit for hash by a member of the set). */
static cairn_err cons_make_commit(cairn_cons *e, const cons_round *s,
                                  const uint8_t hash[CAIRN_HASH_BYTES]) {
  cairn_err err = cairn_voteset_make_commit(&s->precommits, &e->commit, hash);
  const cons_extra *x = s->extra[CAIRN_VOTE_PRECOMMIT - 1];
  if (err != CAIRN_ERR_BAD_COMMIT || x == NULL) return err;
  memset(&e->commit, 0, sizeof e->commit);
  e->commit.height = e->height;
  e->commit.round = s->round;
  memcpy(e->commit.block_hash, hash, CAIRN_HASH_BYTES);
  for (uint32_t i = 0; i < e->vs.n; i++) {
    const cairn_vote *v = NULL;
    if (s->precommits.have[i] &&
        memcmp(s->precommits.votes[i].block_hash, hash, CAIRN_HASH_BYTES) == 0)
      v = &s->precommits.votes[i];
    else if (x->have[i] &&
             memcmp(x->votes[i].block_hash, hash, CAIRN_HASH_BYTES) == 0)
      v = &x->votes[i];
    if (v != NULL) CAIRN_TRY(cairn_commit_add(&e->commit, v->validator, v->sig));
  }
  return cairn_commit_verify(&e->commit, e->chain_id, e->chain_id_len,
                             e->height, hash, &e->vs);
}

/* Store b with the precommits of s as its commit, tell the mempool and
 * the node, and move to the next height (after the commit pause). Returns
 * whether the engine's state changed. */
static bool cons_commit(cairn_cons *e, cons_round *s, cons_block *b) {
  assert(b->p != NULL);
  cairn_err err = cons_make_commit(e, s, b->hash);
  if (err == CAIRN_OK)
    err = cairn_chain_commit_proposal(e->chain, b->p, &e->commit);
  if (err != CAIRN_OK) {
    cairn_log_error(e->log, "cannot commit height=%llu round=%u code=%s",
                    (unsigned long long)e->height, (unsigned)s->round,
                    cairn_errname(err));
    if (err == CAIRN_ERR_BAD_HEIGHT) { /* the tip moved: follow it */
      e->n_prev = 0;
      cons_next_height(e, false);
      return true;
    }
    s->commit_failed = true; /* not again; another round may decide */
    if (err == CAIRN_ERR_STORE || err == CAIRN_ERR_MAP_FULL ||
        err == CAIRN_ERR_IO || err == CAIRN_ERR_CORRUPT ||
        err == CAIRN_ERR_NOMEM) {
      if (e->io.fatal != NULL) e->io.fatal(e->io.ctx, err);
    }
    return false;
  }
  uint64_t now_ms = e->io.now_ms(e->io.ctx);
  err = cairn_mempool_after_block(
      e->mempool, (const uint8_t(*)[CAIRN_HASH_BYTES])b->p->txids,
      b->p->header.tx_count, now_ms);
  if (err != CAIRN_OK)
    cairn_log_error(e->log, "mempool update failed code=%s",
                    cairn_errname(err));
  cons_log_commit(e, b, s->round);
  e->n_prev = 0;
  for (uint32_t i = 0; i < e->vs.n; i++)
    if (s->precommits.have[i]) e->prev[e->n_prev++] = s->precommits.votes[i];
  uint64_t height = e->height;
  cons_next_height(e, true);
  if (e->io.committed != NULL) e->io.committed(e->io.ctx, height);
  return true;
}

/* The block that more than 2/3 precommitted in s, if any (non-nil). */
static bool cons_decided_hash(const cairn_cons *e, const cons_round *s,
                              uint8_t hash[CAIRN_HASH_BYTES]) {
  return cons_majority(e, s, CAIRN_VOTE_PRECOMMIT, hash) &&
         memcmp(hash, k_nil, CAIRN_HASH_BYTES) != 0;
}

/* Line 49, for every round of the height: a block with more than 2/3 of
 * precommits that we hold and executed is decided. One we lack (or that
 * failed here) is fetched by block sync. */
static bool cons_try_commit(cairn_cons *e) {
  for (uint32_t i = 0; i < CAIRN_CONS_ROUNDS_MAX; i++) {
    cons_round *s = &e->slots[i];
    uint8_t hash[CAIRN_HASH_BYTES];
    if (!s->used || s->commit_failed || !cons_decided_hash(e, s, hash)) continue;
    cons_block *b = cons_find_block(e, hash);
    if (b == NULL || b->p == NULL) {
      cons_want(e);
      continue;
    }
    return cons_commit(e, s, b);
  }
  return false;
}

static bool cons_lacks_block(cairn_cons *e) {
  for (uint32_t i = 0; i < CAIRN_CONS_ROUNDS_MAX; i++) {
    cons_round *s = &e->slots[i];
    uint8_t hash[CAIRN_HASH_BYTES];
    if (!s->used || !cons_decided_hash(e, s, hash)) continue;
    cons_block *b = cons_find_block(e, hash);
    if (b == NULL || b->p == NULL) return true;
  }
  return false;
}

/* ---- the other upon rules ---- */

/* Line 55: more than 1/3 of the power sent votes for a higher round. */
static bool cons_try_skip(cairn_cons *e) {
  bool found = false;
  uint32_t best = e->round;
  for (uint32_t i = 0; i < CAIRN_CONS_ROUNDS_MAX; i++) {
    const cons_round *s = &e->slots[i];
    if (!s->used || s->round <= best || !cons_in_window(e, s->round)) continue;
    uint64_t power = 0;
    for (uint32_t v = 0; v < e->vs.n; v++)
      if (s->prevotes.have[v] || s->precommits.have[v])
        power += e->vs.v[v].power;
    if (3u * power > e->vs.total_power) {
      best = s->round;
      found = true;
    }
  }
  if (!found) return false;
  cons_start_round(e, best);
  return true;
}

static bool cons_is_locked_on(const cairn_cons *e, const cons_block *b) {
  return e->locked != NULL &&
         memcmp(e->locked->hash, b->hash, CAIRN_HASH_BYTES) == 0;
}

/* Lines 22-27 (no proof-of-lock round) and 28-33 (with one, once its
 * round shows more than 2/3 prevotes for the block). */
static bool cons_try_proposal(cairn_cons *e) {
  if (e->step != CAIRN_STEP_PROPOSE) return false;
  cons_round *s = cons_peek(e, e->round);
  if (s == NULL || s->n_props == 0) return false;
  const cons_block *b = s->props[0].blk;
  uint32_t vr = s->props[0].msg.pol_round;
  bool lock_ok =
      e->locked_round == CAIRN_POL_ROUND_NONE || cons_is_locked_on(e, b);
  if (vr != CAIRN_POL_ROUND_NONE) {
    assert(vr < e->round); /* checked on receipt */
    cons_round *pol = cons_peek(e, vr);
    if (pol == NULL ||
        !cons_two_thirds(e, cons_power(e, pol, CAIRN_VOTE_PREVOTE, b->hash)))
      return false; /* wait for the polka, or for the timeout */
    lock_ok = lock_ok || e->locked_round <= vr;
  }
  cons_prevote(e, b->p != NULL && lock_ok ? b->hash : k_nil);
  return true;
}

/* Line 36, first time per round: more than 2/3 prevoted a valid proposal
 * of this round. */
static bool cons_try_polka(cairn_cons *e) {
  if (e->step < CAIRN_STEP_PREVOTE) return false;
  cons_round *s = cons_peek(e, e->round);
  uint8_t hash[CAIRN_HASH_BYTES];
  if (s == NULL || s->polka_seen) return false;
  if (!cons_majority(e, s, CAIRN_VOTE_PREVOTE, hash)) return false;
  cons_block *b = NULL;
  for (uint32_t k = 0; k < s->n_props; k++)
    if (memcmp(s->props[k].blk->hash, hash, CAIRN_HASH_BYTES) == 0)
      b = s->props[k].blk;
  if (b == NULL || b->p == NULL) return false; /* nil, unknown or invalid */
  s->polka_seen = true;
  if (e->step == CAIRN_STEP_PREVOTE) {
    cons_block *old = e->locked;
    e->locked = cons_block_ref(b);
    e->locked_round = e->round;
    cons_block_unref(old);
    char h[CAIRN_LOG_SHORT_HASH_BUF];
    cons_short(h, b->hash);
    cairn_log_write(e->log, CAIRN_LOG_DEBUG, "lock height=%llu round=%u hash=%s",
                    (unsigned long long)e->height, (unsigned)e->round, h);
    cons_precommit(e, b->hash);
  }
  cons_block *old = e->valid;
  e->valid = cons_block_ref(b);
  e->valid_round = e->round;
  cons_block_unref(old);
  return true;
}

/* Line 44: more than 2/3 prevoted nil. */
static bool cons_try_polka_nil(cairn_cons *e) {
  if (e->step != CAIRN_STEP_PREVOTE) return false;
  cons_round *s = cons_peek(e, e->round);
  uint8_t hash[CAIRN_HASH_BYTES];
  if (s == NULL || !cons_majority(e, s, CAIRN_VOTE_PREVOTE, hash))
    return false;
  if (memcmp(hash, k_nil, CAIRN_HASH_BYTES) != 0) return false;
  cons_precommit(e, k_nil);
  return true;
}

/* Lines 34-35 and 47-48: the prevote and precommit timeouts, once per
 * round, when more than 2/3 voted at all. */
static bool cons_try_timers(cairn_cons *e) {
  cons_round *s = cons_peek(e, e->round);
  if (s == NULL) return false;
  if (e->step == CAIRN_STEP_PREVOTE && !s->prevote_timer &&
      cairn_voteset_has_two_thirds_any(&s->prevotes)) {
    s->prevote_timer = true;
    cons_schedule(e, CAIRN_STEP_PREVOTE);
    return true;
  }
  if (!s->precommit_timer &&
      cairn_voteset_has_two_thirds_any(&s->precommits)) {
    s->precommit_timer = true;
    cons_schedule(e, CAIRN_STEP_PRECOMMIT);
    return true;
  }
  return false;
}

/* Fire rules until none applies. Each rule changes the step or round or
 * sets a once-per-round flag, so the loop ends well within the bound. */
static void cons_progress(cairn_cons *e) {
  for (uint32_t i = 0; i < CONS_PROGRESS_MAX; i++) {
    if (e->step == CONS_STEP_WAIT) return;
    if (cons_try_commit(e) || cons_try_skip(e) || cons_try_proposal(e) ||
        cons_try_polka(e) || cons_try_polka_nil(e) || cons_try_timers(e))
      continue;
    return;
  }
  assert(!"cons_progress did not settle");
}

/* A message for this height arrived: start it if it is waiting. */
static void cons_note_work(cairn_cons *e) {
  if (e->step != CONS_STEP_WAIT) return;
  e->work = true;
  if (!e->pausing) cons_start_round(e, 0);
}

/* ---- inputs ---- */

/* The header at the start of a proposal's block and its hash: the fixed
 * fields plus the chain id, whose length is the block's second byte. */
static bool cons_block_head(const cairn_msg_proposal *p, cairn_block_header *h,
                            uint8_t hash[CAIRN_HASH_BYTES]) {
  if (p->block_len < 2 || p->block_len > CAIRN_BLOCK_BYTES_MAX) return false;
  size_t hlen = 1 + 1 + (size_t)p->block[1] + 8 + 8 + 5 * CAIRN_HASH_BYTES + 4;
  if (hlen > p->block_len) return false;
  if (cairn_block_header_decode(h, p->block, hlen) != CAIRN_OK) return false;
  return cairn_block_hash(hash, h) == CAIRN_OK;
}

/* The round whose proposer built the block: the proposal's own round for a
 * fresh block (pol_round none), else a round at or below pol_round whose
 * proposer signed the header (a re-proposed valid value; searched back at
 * most a window's length). */
static bool cons_creation_round(const cairn_cons *e,
                                const cairn_msg_proposal *p,
                                const cairn_block_header *h, uint32_t *r0) {
  if (p->pol_round == CAIRN_POL_ROUND_NONE) {
    *r0 = p->round;
    return memcmp(h->proposer, p->proposer, CAIRN_ED25519_PUBKEY_BYTES) == 0;
  }
  uint32_t lo = p->pol_round >= CAIRN_CONS_ROUNDS_MAX
                    ? p->pol_round - (CAIRN_CONS_ROUNDS_MAX - 1)
                    : 0;
  for (uint32_t r = p->pol_round + 1; r-- > lo;) {
    uint8_t who[CAIRN_ED25519_PUBKEY_BYTES];
    cairn_chain_proposer(e->chain, r, who);
    if (memcmp(who, h->proposer, CAIRN_ED25519_PUBKEY_BYTES) == 0) {
      *r0 = r;
      return true;
    }
  }
  return false;
}

/* Everything about a proposal message except its block's contents. */
static cairn_err cons_check_msg(const cairn_cons *e,
                                const cairn_msg_proposal *p,
                                cairn_block_header *h,
                                uint8_t hash[CAIRN_HASH_BYTES], uint32_t *r0,
                                const char **why) {
  uint8_t want[CAIRN_ED25519_PUBKEY_BYTES];
  cairn_chain_proposer(e->chain, p->round, want);
  *why = "not from the proposer of its round";
  if (memcmp(want, p->proposer, CAIRN_ED25519_PUBKEY_BYTES) != 0)
    return CAIRN_ERR_BAD_PROPOSAL;
  *why = "pol_round not below round";
  if (p->pol_round != CAIRN_POL_ROUND_NONE && p->pol_round >= p->round)
    return CAIRN_ERR_BAD_PROPOSAL;
  *why = "block header does not decode";
  if (!cons_block_head(p, h, hash)) return CAIRN_ERR_BAD_PROPOSAL;
  *why = "bad signature";
  if (cairn_proposal_verify(p, e->chain_id, e->chain_id_len, hash) !=
      CAIRN_OK)
    return CAIRN_ERR_BAD_SIG;
  *why = "block height differs from the message's";
  if (h->height != p->height) return CAIRN_ERR_BAD_PROPOSAL;
  *why = "block proposer does not match the message";
  if (!cons_creation_round(e, p, h, r0)) return CAIRN_ERR_BAD_PROPOSAL;
  *why = "";
  return CAIRN_OK;
}

static bool cons_is_system_err(cairn_err err) {
  return err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_STORE ||
         err == CAIRN_ERR_CORRUPT || err == CAIRN_ERR_INTERNAL ||
         err == CAIRN_ERR_IO || err == CAIRN_ERR_MAP_FULL;
}

/* valid(v): execute the block against the tip once. An invalid block is
 * kept as such (the node prevotes nil on it); a failure of our own
 * (memory, store) keeps nothing, so the proposal is tried again when it
 * is re-gossiped. */
static cairn_err cons_check_block(cairn_cons *e, const cairn_msg_proposal *p,
                                  const cairn_block_header *h,
                                  const uint8_t hash[CAIRN_HASH_BYTES],
                                  uint32_t r0, cons_block **out) {
  char why[256];
  cairn_proposal *cp = NULL;
  *out = NULL;
  cairn_err err = cairn_chain_check_proposal(e->chain, p->block, p->block_len,
                                             r0, &cp, why, sizeof why);
  if (err != CAIRN_OK && cons_is_system_err(err)) {
    cairn_log_error(e->log, "cannot check proposal height=%llu round=%u code=%s",
                    (unsigned long long)p->height, (unsigned)p->round,
                    cairn_errname(err));
    return err;
  }
  if (err != CAIRN_OK)
    cairn_log_warn(e->log,
                   "invalid proposal height=%llu round=%u code=%s why=%s",
                   (unsigned long long)p->height, (unsigned)p->round,
                   cairn_errname(err), why);
  *out = cons_block_new(p->block, p->block_len, h, hash,
                        err == CAIRN_OK ? cp : NULL);
  if (*out == NULL) {
    cairn_proposal_free(cp);
    return CAIRN_ERR_NOMEM;
  }
  return CAIRN_OK;
}

/* Whether s already holds a proposal of this block. */
static bool cons_has_block(const cons_round *s,
                           const uint8_t hash[CAIRN_HASH_BYTES]) {
  for (uint32_t k = 0; k < s->n_props; k++)
    if (memcmp(s->props[k].blk->hash, hash, CAIRN_HASH_BYTES) == 0)
      return true;
  return false;
}

cairn_err cairn_cons_on_proposal(cairn_cons *e, const cairn_msg_proposal *p) {
  assert(e != NULL && p != NULL);
  if (p->height != e->height) return CAIRN_OK;
  cons_round *s = cons_slot(e, p->round);
  if (s == NULL) return CAIRN_OK;
  cairn_block_header h;
  uint8_t hash[CAIRN_HASH_BYTES];
  uint32_t r0 = 0;
  const char *why = "";
  cairn_err err = cons_check_msg(e, p, &h, hash, &r0, &why);
  if (err != CAIRN_OK) {
    cairn_log_warn(e->log, "invalid proposal height=%llu round=%u code=%s "
                   "why=%s", (unsigned long long)p->height,
                   (unsigned)p->round, cairn_errname(err), why);
    return err;
  }
  if (cons_has_block(s, hash) || s->n_props == CONS_PROPS_MAX) return CAIRN_OK;
  if (s->n_props > 0)
    cairn_log_warn(e->log, "conflicting proposal height=%llu round=%u",
                   (unsigned long long)p->height, (unsigned)p->round);
  cons_block *b = cons_find_block(e, hash);
  if (b != NULL) {
    b = cons_block_ref(b);
  } else if (cons_check_block(e, p, &h, hash, r0, &b) != CAIRN_OK) {
    return CAIRN_OK; /* logged; not the peer's fault */
  }
  cons_keep_proposal(s, p, b);
  cons_note_work(e);
  cons_progress(e);
  return CAIRN_OK;
}

cairn_err cairn_cons_on_vote(cairn_cons *e, const cairn_vote *v) {
  assert(e != NULL && v != NULL);
  if (v->height != e->height) return CAIRN_OK;
  if (v->type != CAIRN_VOTE_PREVOTE && v->type != CAIRN_VOTE_PRECOMMIT)
    return CAIRN_ERR_BAD_TYPE;
  cons_round *s = cons_slot(e, v->round);
  if (s == NULL) return CAIRN_OK;
  CAIRN_TRY(cons_add_vote(e, s, v));
  cons_note_work(e);
  cons_progress(e);
  return CAIRN_OK;
}

void cairn_cons_on_timeout(cairn_cons *e, uint64_t height, uint32_t round,
                           uint8_t step) {
  assert(e != NULL);
  if (height != e->height) return;
  switch (step) {
    case CONS_STEP_WAIT: /* the commit pause is over */
      if (e->step != CONS_STEP_WAIT || !e->pausing) return;
      e->pausing = false;
      if (e->work || cairn_mempool_count(e->mempool) > 0)
        cons_start_round(e, 0);
      break;
    case CAIRN_STEP_PROPOSE: /* lines 57-60 */
      if (round != e->round || e->step != CAIRN_STEP_PROPOSE) return;
      cons_prevote(e, k_nil);
      break;
    case CAIRN_STEP_PREVOTE: /* lines 61-64 */
      if (round != e->round || e->step != CAIRN_STEP_PREVOTE) return;
      cons_precommit(e, k_nil);
      break;
    case CAIRN_STEP_PRECOMMIT: /* lines 65-67 */
      if (round != e->round || e->step == CONS_STEP_WAIT) return;
      if (round == UINT32_MAX) return;
      cons_start_round(e, round + 1);
      break;
    default:
      return;
  }
  cons_progress(e);
}

void cairn_cons_on_txs(cairn_cons *e) {
  assert(e != NULL);
  if (e->step != CONS_STEP_WAIT || e->pausing) return;
  if (cairn_mempool_count(e->mempool) == 0) return;
  cons_start_round(e, 0);
  cons_progress(e);
}

void cairn_cons_on_synced(cairn_cons *e) {
  assert(e != NULL);
  cairn_tip tip;
  cairn_chain_tip(e->chain, &tip);
  if (tip.height + 1 == e->height) return; /* nothing moved */
  assert(tip.height + 1 > e->height);      /* the chain never goes back */
  cairn_log_info(e->log, "synced tip=%llu", (unsigned long long)tip.height);
  e->n_prev = 0;
  cons_next_height(e, false);
  cons_progress(e);
}

static void cons_regossip_set(cairn_cons *e, const cairn_voteset *set,
                              const cons_extra *x) {
  for (uint32_t i = 0; i < e->vs.n; i++) {
    if (set->have[i]) cons_broadcast_vote(e, &set->votes[i]);
    if (x != NULL && x->have[i]) cons_broadcast_vote(e, &x->votes[i]);
  }
}

void cairn_cons_regossip(cairn_cons *e) {
  assert(e != NULL);
  for (uint32_t i = 0; i < e->n_prev; i++) cons_broadcast_vote(e, &e->prev[i]);
  cons_round *cur = cons_peek(e, e->round);
  for (uint32_t k = 0; cur != NULL && k < cur->n_props; k++)
    cons_broadcast_proposal(e, &cur->props[k].msg);
  for (uint32_t i = 0; i < CAIRN_CONS_ROUNDS_MAX; i++) {
    cons_round *s = &e->slots[i];
    if (!s->used) continue;
    cons_regossip_set(e, &s->prevotes, s->extra[0]);
    cons_regossip_set(e, &s->precommits, s->extra[1]);
  }
  /* Block sync may have come too early last time: ask again. */
  if (cons_lacks_block(e) && e->io.want_block != NULL)
    e->io.want_block(e->io.ctx, e->height);
}

void cairn_cons_position(const cairn_cons *e, uint64_t *height,
                         uint32_t *round, uint8_t *step) {
  assert(e != NULL && height != NULL && round != NULL && step != NULL);
  *height = e->height;
  *round = e->round;
  *step = e->step;
}

cairn_err cairn_cons_open(cairn_cons **out, const cairn_cons_opts *o) {
  assert(out != NULL && o != NULL && o->chain != NULL && o->mempool != NULL);
  assert(o->io.broadcast != NULL && o->io.schedule != NULL &&
         o->io.now_ms != NULL);
  *out = NULL;
  cairn_cons *e = calloc(1, sizeof *e);
  if (e == NULL) return CAIRN_ERR_NOMEM;
  e->chain = o->chain;
  e->mempool = o->mempool;
  e->pv = o->privval;
  e->log = o->log;
  e->to = o->timeouts;
  e->io = o->io;
  const cairn_genesis *g = cairn_chain_genesis(o->chain);
  e->chain_id = (const uint8_t *)g->chain_id;
  e->chain_id_len = g->chain_id_len;
  if (e->pv != NULL) cairn_privval_pubkey(e->pv, e->self);
  cons_height_reset(e);
  *out = e;
  return CAIRN_OK;
}

void cairn_cons_close(cairn_cons *e) {
  if (e == NULL) return;
  for (uint32_t i = 0; i < CAIRN_CONS_ROUNDS_MAX; i++)
    cons_slot_clear(&e->slots[i]);
  cons_block_unref(e->locked);
  cons_block_unref(e->valid);
  free(e);
}
