/*
 * tests/test_sync.c - block sync (node/sync.c) against its contract
 * (include/cairn/sync.h), with no I/O and an explicit clock.
 *
 * Every test builds a "source" chain of NBLOCKS committed blocks in its own
 * temporary store and an empty "follower" chain on the same genesis in
 * another. The genesis has two validators of equal power, so a commit needs
 * both signatures (more than 2/3 of the stake): a commit carrying one of
 * them is the "insufficient" case. The follower runs a cairn_sync whose
 * io callbacks only record what sync does: every message it sends (BLOCK
 * bodies copied, since their pointers die with the store read), every
 * punishment (peer, error, sentence), every applied height with its txids
 * and every fatal error. Tests then play the peers by hand: STATUS claims,
 * BLOCK answers made from the source's stored bytes (cairn_store_block),
 * forged or altered variants of them, NO_BLOCK, silence and disconnects,
 * with now_ms passed explicitly so the CAIRN_SYNC_LAG_MS and
 * CAIRN_SYNC_REQUEST_MS boundaries are hit to the millisecond.
 *
 * After every rejection the follower's tip (in memory and in the store)
 * must be exactly what it was, no block may have been reported applied,
 * and where another peer claims the height sync must go on with it. The
 * source runs a second cairn_sync to check serving (exact stored bytes for
 * BLOCK, NO_BLOCK for height 0 and above the tip), and one test runs the
 * whole catch-up through the p2p message codec between the two.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cairn/chain.h"
#include "cairn/p2p_msg.h"
#include "cairn/store.h"
#include "cairn/sync.h"
#include "testutil.h"

#define NBLOCKS 5
#define N_VALS 2
#define TXS_PER_BLOCK_MAX 4
#define SENT_MAX 256
#define PUNISH_MAX 64
#define APPLIED_MAX 32
#define WHY_BYTES 800
/* The test's monotonic clock starts here (any value far from 0). */
#define T0 1000000u

/* ---- the recording io ---- */

typedef struct sent_msg {
  cairn_peer_id peer;
  uint8_t type;
  uint64_t height; /* GET_BLOCK, NO_BLOCK, BLOCK */
  uint8_t *block;  /* BLOCK: copies */
  size_t block_len;
  uint8_t *commit;
  size_t commit_len;
} sent_msg;

typedef struct punish_rec {
  cairn_peer_id peer;
  cairn_err err;
  char why[WHY_BYTES];
} punish_rec;

typedef struct applied_rec {
  uint64_t height;
  size_t n;
  uint8_t txids[TXS_PER_BLOCK_MAX][CAIRN_HASH_BYTES];
} applied_rec;

typedef struct rec {
  size_t n_sent;
  sent_msg sent[SENT_MAX];
  size_t n_punish;
  punish_rec punish[PUNISH_MAX];
  size_t n_applied;
  applied_rec applied[APPLIED_MAX];
  size_t n_fatal;
  cairn_err fatal_err;
  /* send() to this peer fails (when refuse is set), as for a dead link. */
  bool refuse;
  cairn_peer_id refuse_peer;
  size_t n_refused;
} rec;

static uint8_t *dup_bytes(const uint8_t *p, size_t n) {
  uint8_t *q = malloc(n > 0 ? n : 1);
  assert_non_null(q);
  if (n > 0) memcpy(q, p, n);
  return q;
}

static cairn_err rec_send(void *ctx, cairn_peer_id peer,
                          const cairn_p2p_msg *m) {
  rec *r = ctx;
  if (r->refuse && peer == r->refuse_peer) {
    r->n_refused++;
    return CAIRN_ERR_NOT_FOUND;
  }
  assert_true(r->n_sent < SENT_MAX);
  sent_msg *s = &r->sent[r->n_sent++];
  memset(s, 0, sizeof *s);
  s->peer = peer;
  s->type = m->type;
  if (m->type == CAIRN_MSG_BLOCK) {
    s->height = m->u.block.height;
    s->block = dup_bytes(m->u.block.block, m->u.block.block_len);
    s->block_len = m->u.block.block_len;
    s->commit = dup_bytes(m->u.block.commit, m->u.block.commit_len);
    s->commit_len = m->u.block.commit_len;
  } else if (m->type == CAIRN_MSG_GET_BLOCK || m->type == CAIRN_MSG_NO_BLOCK) {
    s->height = m->u.height;
  } else {
    fail_msg("sync sent a message of unexpected type %u", m->type);
  }
  return CAIRN_OK;
}

static void rec_punish(void *ctx, cairn_peer_id peer, cairn_err err,
                       const char *why) {
  rec *r = ctx;
  assert_true(r->n_punish < PUNISH_MAX);
  assert_non_null(why);
  punish_rec *p = &r->punish[r->n_punish++];
  p->peer = peer;
  p->err = err;
  snprintf(p->why, sizeof p->why, "%s", why);
}

static void rec_applied(void *ctx, uint64_t height,
                        const uint8_t (*txids)[CAIRN_HASH_BYTES], size_t n) {
  rec *r = ctx;
  assert_true(r->n_applied < APPLIED_MAX);
  assert_true(n <= TXS_PER_BLOCK_MAX);
  applied_rec *a = &r->applied[r->n_applied++];
  a->height = height;
  a->n = n;
  if (n > 0) {
    assert_non_null(txids);
    memcpy(a->txids, txids, n * CAIRN_HASH_BYTES);
  }
}

static void rec_fatal(void *ctx, cairn_err err) {
  rec *r = ctx;
  r->n_fatal++;
  r->fatal_err = err;
}

static void rec_clear_sent(rec *r) {
  for (size_t i = 0; i < r->n_sent; i++) {
    free(r->sent[i].block);
    free(r->sent[i].commit);
  }
  r->n_sent = 0;
}

static cairn_sync_io rec_io(rec *r) {
  cairn_sync_io io = {.ctx = r,
                      .send = rec_send,
                      .punish = rec_punish,
                      .applied = rec_applied,
                      .fatal = rec_fatal};
  return io;
}

/* ---- fixture: a source chain of NBLOCKS blocks and an empty follower ---- */

typedef struct blob {
  uint8_t *block;
  size_t block_len;
  uint8_t *commit;
  size_t commit_len;
} blob;

typedef struct sfx {
  cairn_genesis *g;
  tu_vkey vk[N_VALS]; /* sorted like the set */
  tu_key iss[4];
  tu_key mem[4];
  char src_dir[64];
  char fol_dir[64];
  cairn_store *src_s;
  cairn_store *fol_s;
  cairn_chain *src;
  cairn_chain *fol;
  cairn_sync *sync;     /* the follower's */
  cairn_sync *src_sync; /* the source's, for serving */
  rec *r;               /* the follower's io */
  rec *src_r;           /* the source's io */
  cairn_tip src_tips[NBLOCKS + 1];
  size_t n_txids[NBLOCKS + 1];
  uint8_t txids[NBLOCKS + 1][TXS_PER_BLOCK_MAX][CAIRN_HASH_BYTES];
  blob blocks[NBLOCKS + 1]; /* [1..NBLOCKS]: stored bytes of the source */
} sfx;

/* Two validators of power 10 each, sorted by key as the genesis wants. */
static void make_genesis(sfx *f) {
  f->g = calloc(1, sizeof *f->g);
  assert_non_null(f->g);
  tu_genesis(f->g);
  tu_validator(&f->vk[0], 0);
  tu_validator(&f->vk[1], 1);
  if (memcmp(f->vk[0].pk, f->vk[1].pk, CAIRN_ED25519_PUBKEY_BYTES) > 0) {
    tu_vkey tmp = f->vk[0];
    f->vk[0] = f->vk[1];
    f->vk[1] = tmp;
  }
  cairn_valset *vs = &f->g->validators;
  memset(vs, 0, sizeof *vs);
  vs->n = N_VALS;
  vs->total_power = 10u * N_VALS;
  for (uint32_t i = 0; i < N_VALS; i++) {
    memcpy(vs->v[i].pubkey, f->vk[i].pk, CAIRN_ED25519_PUBKEY_BYTES);
    vs->v[i].power = 10;
    vs->v[i].name_len = 4;
    snprintf(vs->v[i].name, sizeof vs->v[i].name, "val%u", (unsigned)i);
  }
  f->g->staking.valset_delay_blocks = CAIRN_STAKING_DEFAULT_VALSET_DELAY;
  f->g->staking.unbonding_blocks = CAIRN_STAKING_DEFAULT_UNBONDING;
  f->g->staking.evidence_max_age_blocks =
      CAIRN_STAKING_DEFAULT_EVIDENCE_MAX_AGE;
  f->g->staking.slash_percent = CAIRN_STAKING_DEFAULT_SLASH_PERCENT;
}

/* Add a precommit for (height, hash) by vk to cm. */
static void commit_add_vote(cairn_commit *cm, uint64_t height,
                            const uint8_t hash[CAIRN_HASH_BYTES],
                            const tu_vkey *vk) {
  cairn_vote vote;
  memset(&vote, 0, sizeof vote);
  vote.type = CAIRN_VOTE_PRECOMMIT;
  vote.height = height;
  memcpy(vote.block_hash, hash, CAIRN_HASH_BYTES);
  assert_int_equal(cairn_vote_sign(&vote, (const uint8_t *)TU_CHAIN_ID,
                                   strlen(TU_CHAIN_ID), vk->sk),
                   CAIRN_OK);
  assert_int_equal(cairn_commit_add(cm, vote.validator, vote.sig), CAIRN_OK);
}

static void no_reject(void *ctx, size_t index, cairn_err err) {
  (void)ctx;
  fail_msg("candidate %zu rejected: %s", index, cairn_errname(err));
}

/* Propose txs at the source's tip + 1 (proposer of round 0), sign the
 * commit with both validators and commit; record tip and txids. */
static void source_block(sfx *f, const cairn_tx *txs, size_t n) {
  static uint8_t raw[TXS_PER_BLOCK_MAX][CAIRN_TX_BYTES_MAX];
  cairn_slice cands[TXS_PER_BLOCK_MAX];
  uint8_t proposer[CAIRN_ED25519_PUBKEY_BYTES];
  cairn_proposal *p = NULL;
  cairn_tip t;
  assert_true(n <= TXS_PER_BLOCK_MAX);
  for (size_t i = 0; i < n; i++) {
    cands[i].p = raw[i];
    cands[i].len = tu_tx_bytes(raw[i], sizeof raw[i], &txs[i]);
  }
  cairn_chain_tip(f->src, &t);
  cairn_chain_proposer(f->src, 0, proposer);
  assert_int_equal(cairn_chain_propose(f->src, cands, n, t.time_ms + 1000,
                                       proposer, no_reject, NULL, &p),
                   CAIRN_OK);
  assert_int_equal(p->header.tx_count, n);
  uint64_t h = p->header.height;
  assert_int_equal(h, t.height + 1);
  cairn_commit *cm = calloc(1, sizeof *cm);
  assert_non_null(cm);
  tu_commit_sign(cm, h, p->hash, &f->vk[0]);
  commit_add_vote(cm, h, p->hash, &f->vk[1]);
  assert_int_equal(cairn_chain_commit_proposal(f->src, p, cm), CAIRN_OK);
  f->n_txids[h] = n;
  if (n > 0) memcpy(f->txids[h], p->txids, n * CAIRN_HASH_BYTES);
  cairn_chain_tip(f->src, &f->src_tips[h]);
  free(cm);
  cairn_proposal_free(p);
}

/* Copy block `height` and its commit out of a store. */
static void stored_block(cairn_store *s, uint64_t height, blob *out) {
  cairn_rtxn *r = NULL;
  const uint8_t *b = NULL, *c = NULL;
  size_t bl = 0, cl = 0;
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_block(r, height, &b, &bl, &c, &cl), CAIRN_OK);
  out->block = dup_bytes(b, bl);
  out->block_len = bl;
  out->commit = dup_bytes(c, cl);
  out->commit_len = cl;
  cairn_store_read_end(r);
}

static void build_source(sfx *f) {
  cairn_tx tx[TXS_PER_BLOCK_MAX];
  cairn_chain_tip(f->src, &f->src_tips[0]);
  tu_tx_issue(&tx[0], &f->iss[1], 1, TU_BRAND_COFFEE, f->mem[0].pk, 1000);
  tu_tx_issue(&tx[1], &f->iss[2], 1, TU_BRAND_PIZZA, f->mem[1].pk, 500);
  source_block(f, tx, 2);
  tu_tx_transfer(&tx[0], &f->mem[0], 1, TU_BRAND_COFFEE, f->mem[1].pk, 100);
  source_block(f, tx, 1);
  tu_tx_redeem(&tx[0], &f->mem[1], 1, TU_BRAND_PIZZA, 50, "order-1");
  tu_tx_transfer(&tx[1], &f->mem[1], 2, TU_BRAND_COFFEE, f->mem[2].pk, 30);
  source_block(f, tx, 2);
  source_block(f, NULL, 0); /* an empty block */
  tu_tx_issue(&tx[0], &f->iss[1], 2, TU_BRAND_COFFEE, f->mem[3].pk, 7);
  source_block(f, tx, 1);
  for (uint64_t h = 1; h <= NBLOCKS; h++)
    stored_block(f->src_s, h, &f->blocks[h]);
}

static int setup(void **state) {
  sfx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  make_genesis(f);
  for (uint32_t b = 1; b <= 3; b++) tu_issuer(&f->iss[b], b);
  for (uint32_t i = 0; i < 4; i++) tu_member(&f->mem[i], i);
  tu_tmpdir(f->src_dir, sizeof f->src_dir);
  tu_tmpdir(f->fol_dir, sizeof f->fol_dir);
  f->src_s = tu_store_open(f->src_dir);
  f->fol_s = tu_store_open(f->fol_dir);
  assert_int_equal(cairn_chain_open(&f->src, f->src_s, f->g), CAIRN_OK);
  assert_int_equal(cairn_chain_open(&f->fol, f->fol_s, f->g), CAIRN_OK);
  build_source(f);
  f->r = calloc(1, sizeof *f->r);
  f->src_r = calloc(1, sizeof *f->src_r);
  assert_non_null(f->r);
  assert_non_null(f->src_r);
  cairn_sync_io io = rec_io(f->r);
  cairn_sync_io src_io = rec_io(f->src_r);
  assert_int_equal(cairn_sync_open(&f->sync, f->fol, NULL, &io), CAIRN_OK);
  assert_int_equal(cairn_sync_open(&f->src_sync, f->src, NULL, &src_io),
                   CAIRN_OK);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  sfx *f = *state;
  cairn_sync_close(f->sync);
  cairn_sync_close(f->src_sync);
  rec_clear_sent(f->r);
  rec_clear_sent(f->src_r);
  free(f->r);
  free(f->src_r);
  for (uint64_t h = 1; h <= NBLOCKS; h++) {
    free(f->blocks[h].block);
    free(f->blocks[h].commit);
  }
  cairn_chain_close(f->src);
  cairn_chain_close(f->fol);
  cairn_store_close(f->src_s);
  cairn_store_close(f->fol_s);
  tu_rmtree(f->src_dir);
  tu_rmtree(f->fol_dir);
  free(f->g);
  free(f);
  return 0;
}

/* ---- helpers ---- */

static void status(sfx *f, cairn_peer_id peer, uint64_t height,
                   uint64_t now_ms) {
  cairn_msg_status st;
  memset(&st, 0, sizeof st);
  st.height = height;
  if (height <= NBLOCKS) memcpy(st.tip_hash, f->src_tips[height].hash, 32);
  st.cons_height = height + 1;
  cairn_sync_on_status(f->sync, peer, &st, now_ms);
}

/* Deliver a BLOCK message with the given bytes. */
static void deliver(sfx *f, cairn_peer_id peer, uint64_t height,
                    const uint8_t *block, size_t block_len,
                    const uint8_t *commit, size_t commit_len,
                    uint64_t now_ms) {
  cairn_msg_block b = {.height = height,
                       .block = block,
                       .block_len = block_len,
                       .commit = commit,
                       .commit_len = commit_len};
  cairn_sync_on_block(f->sync, peer, &b, now_ms);
}

/* Answer with the source's real block `height` and its commit. */
static void answer(sfx *f, cairn_peer_id peer, uint64_t height,
                   uint64_t now_ms) {
  assert_true(height >= 1 && height <= NBLOCKS);
  const blob *b = &f->blocks[height];
  deliver(f, peer, height, b->block, b->block_len, b->commit, b->commit_len,
          now_ms);
}

static void fol_tip(sfx *f, cairn_tip *t) {
  memset(t, 0, sizeof *t);
  cairn_chain_tip(f->fol, t);
}

static void stored_tip(cairn_store *s, cairn_tip *t) {
  cairn_rtxn *r = NULL;
  memset(t, 0, sizeof *t);
  assert_int_equal(cairn_store_read_begin(s, &r), CAIRN_OK);
  assert_int_equal(cairn_store_tip(r, t), CAIRN_OK);
  cairn_store_read_end(r);
}

/* The follower's tip (in memory and stored) is the source's at height. */
static void assert_fol_at(sfx *f, uint64_t height) {
  cairn_tip t, st;
  fol_tip(f, &t);
  stored_tip(f->fol_s, &st);
  if (t.height != height)
    fail_msg("follower tip is %llu, expected %llu",
             (unsigned long long)t.height, (unsigned long long)height);
  assert_memory_equal(&t, &f->src_tips[height], sizeof t);
  assert_memory_equal(&st, &f->src_tips[height], sizeof st);
}

/* The last message sent is GET_BLOCK(height) to peer, and it is the
 * n-th one (n_sent == n): no other message went out meanwhile. */
static void assert_get_block(const rec *r, size_t n, cairn_peer_id peer,
                             uint64_t height) {
  if (r->n_sent != n)
    fail_msg("expected %zu messages sent, got %zu", n, r->n_sent);
  const sent_msg *s = &r->sent[n - 1];
  if (s->type != CAIRN_MSG_GET_BLOCK || s->peer != peer || s->height != height)
    fail_msg("expected GET_BLOCK(%llu) to peer %u, got type %u height %llu "
             "to peer %u",
             (unsigned long long)height, (unsigned)peer, s->type,
             (unsigned long long)s->height, (unsigned)s->peer);
}

static void assert_applied(const sfx *f, size_t idx, uint64_t height) {
  const rec *r = f->r;
  assert_true(idx < r->n_applied);
  const applied_rec *a = &r->applied[idx];
  assert_int_equal(a->height, height);
  assert_int_equal(a->n, f->n_txids[height]);
  if (a->n > 0)
    assert_memory_equal(a->txids, f->txids[height], a->n * CAIRN_HASH_BYTES);
}

/* The n-th punishment (n_punish == n) is of peer with PEER_PROTOCOL and a
 * sentence containing `want` (and `want2` when not NULL). */
static void assert_punished(const rec *r, size_t n, cairn_peer_id peer,
                            const char *want, const char *want2) {
  if (r->n_punish != n)
    fail_msg("expected %zu punishments, got %zu (last: %s)", n, r->n_punish,
             r->n_punish > 0 ? r->punish[r->n_punish - 1].why : "none");
  const punish_rec *p = &r->punish[n - 1];
  assert_int_equal(p->peer, peer);
  if (p->err != CAIRN_ERR_PEER_PROTOCOL)
    fail_msg("punished with %s, expected peer_protocol", cairn_errname(p->err));
  if (strstr(p->why, want) == NULL)
    fail_msg("punishment reason \"%s\" lacks \"%s\"", p->why, want);
  if (want2 != NULL && strstr(p->why, want2) == NULL)
    fail_msg("punishment reason \"%s\" lacks \"%s\"", p->why, want2);
}

static void assert_nothing_wrong(const rec *r) {
  if (r->n_punish != 0)
    fail_msg("unexpected punishment of peer %u: %s", r->punish[0].peer,
             r->punish[0].why);
  assert_int_equal(r->n_fatal, 0);
}

/* ---- catching up ---- */

/* One peer claims NBLOCKS: sync fetches 1..NBLOCKS one at a time, each
 * request going out as soon as the previous block is applied. Answers come
 * a second apart, so the last block's claim (one ahead by then) is older
 * than CAIRN_SYNC_LAG_MS. */
static void test_catch_up_from_one_peer(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  assert_fol_at(f, 0);
  status(f, 1, NBLOCKS, T0);
  assert_get_block(r, 1, 1, 1);
  assert_int_equal(cairn_sync_best_claim(f->sync), NBLOCKS);
  assert_true(cairn_sync_catching_up(f->sync));
  for (uint64_t h = 1; h <= NBLOCKS; h++) {
    uint64_t now = T0 + 1000u * h;
    answer(f, 1, h, now);
    assert_fol_at(f, h);
    assert_int_equal(r->n_applied, h);
    assert_applied(f, h - 1, h);
    assert_nothing_wrong(r);
    if (h < NBLOCKS) assert_get_block(r, h + 1, 1, h + 1);
    assert_int_equal(cairn_sync_catching_up(f->sync), h + 1 < NBLOCKS);
  }
  /* Caught up: nothing more is asked, even after a long time. */
  assert_int_equal(r->n_sent, NBLOCKS);
  cairn_sync_tick(f->sync, T0 + 100000u);
  status(f, 1, NBLOCKS, T0 + 100001u);
  assert_int_equal(r->n_sent, NBLOCKS);
  assert_int_equal(cairn_sync_best_claim(f->sync), NBLOCKS);
  assert_false(cairn_sync_catching_up(f->sync));
  /* A block from the peer now is unsolicited. */
  answer(f, 1, NBLOCKS, T0 + 100002u);
  assert_punished(r, 1, 1, "not asked for", NULL);
  assert_fol_at(f, NBLOCKS);
  assert_int_equal(r->n_applied, NBLOCKS);
}

/* Answers arriving at once: once the tip is one below the claim, the claim
 * is "one block ahead" and is acted on only when CAIRN_SYNC_LAG_MS old
 * (counted from the STATUS that first put it above the tip). */
static void test_catch_up_last_block_waits_for_lag(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  for (uint64_t h = 1; h < NBLOCKS; h++) {
    assert_get_block(r, h, 1, h);
    answer(f, 1, h, T0 + h);
    assert_fol_at(f, h);
  }
  assert_int_equal(r->n_sent, NBLOCKS - 1);
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_LAG_MS - 1);
  assert_int_equal(r->n_sent, NBLOCKS - 1);
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_LAG_MS);
  assert_get_block(r, NBLOCKS, 1, NBLOCKS);
  answer(f, 1, NBLOCKS, T0 + CAIRN_SYNC_LAG_MS + 1);
  assert_fol_at(f, NBLOCKS);
  assert_int_equal(r->n_applied, NBLOCKS);
  for (uint64_t h = 1; h <= NBLOCKS; h++) assert_applied(f, h - 1, h);
  assert_nothing_wrong(r);
}

static void test_one_ahead_waits_for_lag(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, 1, T0);
  assert_int_equal(r->n_sent, 0);
  assert_int_equal(cairn_sync_best_claim(f->sync), 1);
  assert_false(cairn_sync_catching_up(f->sync));
  cairn_sync_tick(f->sync, T0 + 1);
  /* A repeated STATUS does not restart (or shortcut) the wait. */
  status(f, 1, 1, T0 + 1000);
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_LAG_MS - 1);
  assert_int_equal(r->n_sent, 0);
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_LAG_MS);
  assert_get_block(r, 1, 1, 1);
  /* Only one outstanding request: further ticks send nothing. */
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_LAG_MS + 1);
  status(f, 2, 1, T0 + CAIRN_SYNC_LAG_MS + 2);
  assert_int_equal(r->n_sent, 1);
  answer(f, 1, 1, T0 + CAIRN_SYNC_LAG_MS + 3);
  assert_fol_at(f, 1);
  assert_applied(f, 0, 1);
  /* Peer 2's claim of 1 is now not above the tip: nothing more to do. */
  assert_int_equal(r->n_sent, 1);
  assert_nothing_wrong(r);
}

/* The lag is counted for the claim above the *current* tip: a claim made
 * when it was not ahead does not count as old. */
static void test_lag_counts_from_when_claim_got_ahead(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, 0, T0); /* at our tip: not a claim to act on */
  status(f, 1, 1, T0 + 10000);
  cairn_sync_tick(f->sync, T0 + 10000 + CAIRN_SYNC_LAG_MS - 1);
  assert_int_equal(r->n_sent, 0);
  cairn_sync_tick(f->sync, T0 + 10000 + CAIRN_SYNC_LAG_MS);
  assert_get_block(r, 1, 1, 1);
  assert_nothing_wrong(r);
}

static void test_want_acts_at_once(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, 1, T0);
  assert_int_equal(r->n_sent, 0);
  cairn_sync_want(f->sync, 1, T0 + 1);
  assert_get_block(r, 1, 1, 1);
  answer(f, 1, 1, T0 + 2);
  assert_fol_at(f, 1);
  assert_applied(f, 0, 1);
  /* A wanted height at or below the tip changes nothing. */
  status(f, 1, 2, T0 + 3);
  cairn_sync_want(f->sync, 1, T0 + 4);
  assert_int_equal(r->n_sent, 1);
  /* The old want (height 1) does not make the claim of 2 ripe either. */
  cairn_sync_tick(f->sync, T0 + 3 + CAIRN_SYNC_LAG_MS - 1);
  assert_int_equal(r->n_sent, 1);
  cairn_sync_want(f->sync, 2, T0 + 3 + CAIRN_SYNC_LAG_MS - 1);
  assert_get_block(r, 2, 1, 2);
  assert_nothing_wrong(r);
}

/* A want before anyone claims the height is remembered: the first claim
 * of it is then acted on at once. */
static void test_want_before_claim(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  cairn_sync_want(f->sync, 1, T0);
  assert_int_equal(r->n_sent, 0); /* nobody to ask */
  status(f, 3, 1, T0 + 1);
  assert_get_block(r, 1, 3, 1);
  assert_nothing_wrong(r);
}

/* ---- BLOCK nobody asked for ---- */

static void test_unsolicited_block(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  answer(f, 1, 1, T0);
  assert_punished(r, 1, 1, "block 1 that was not asked for", NULL);
  assert_fol_at(f, 0);
  assert_int_equal(r->n_applied, 0);
  assert_int_equal(r->n_sent, 0);
  /* Also from a peer with a claim but no request out (claim not ripe). */
  status(f, 2, 1, T0 + 1);
  answer(f, 2, 1, T0 + 2);
  assert_punished(r, 2, 2, "not asked for", NULL);
  assert_fol_at(f, 0);
  /* The punished peer's claim is forgotten. */
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  cairn_sync_tick(f->sync, T0 + 10 * CAIRN_SYNC_LAG_MS);
  assert_int_equal(r->n_sent, 0);
  assert_int_equal(r->n_applied, 0);
  assert_int_equal(r->n_fatal, 0);
}

static void test_block_for_other_height(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  assert_get_block(r, 1, 1, 1);
  answer(f, 1, 2, T0 + 1); /* a real block 2, but 1 was asked */
  assert_punished(r, 1, 1, "block 2 that was not asked for", NULL);
  assert_fol_at(f, 0);
  assert_int_equal(r->n_applied, 0);
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  /* The request is no longer pending: the right block now is unsolicited
   * too, and nobody is asked again. */
  answer(f, 1, 1, T0 + 2);
  assert_punished(r, 2, 1, "not asked for", NULL);
  assert_fol_at(f, 0);
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_REQUEST_MS + 10);
  assert_int_equal(r->n_sent, 1);
  assert_int_equal(r->n_applied, 0);
}

static void test_block_from_other_peer(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  status(f, 2, NBLOCKS, T0);
  assert_get_block(r, 1, 1, 1);
  answer(f, 2, 1, T0 + 1); /* right block, wrong peer */
  assert_punished(r, 1, 2, "block 1 that was not asked for", NULL);
  assert_fol_at(f, 0);
  assert_int_equal(r->n_applied, 0);
  /* The request to peer 1 still stands and its answer is applied. */
  assert_int_equal(r->n_sent, 1);
  answer(f, 1, 1, T0 + 2);
  assert_fol_at(f, 1);
  assert_applied(f, 0, 1);
  assert_get_block(r, 2, 1, 2);
  assert_int_equal(r->n_punish, 1);
}

/* ---- blocks that fail verification ---- */

typedef void (*mutate_fn)(sfx *f, blob *out);

static void mutate_commit(const blob *in, blob *out,
                          void (*edit)(sfx *, cairn_commit *), sfx *f) {
  cairn_commit *cm = calloc(1, sizeof *cm);
  assert_non_null(cm);
  assert_int_equal(cairn_commit_decode(cm, in->commit, in->commit_len),
                   CAIRN_OK);
  edit(f, cm);
  out->block = dup_bytes(in->block, in->block_len);
  out->block_len = in->block_len;
  out->commit = malloc(CAIRN_COMMIT_BYTES_MAX);
  assert_non_null(out->commit);
  assert_int_equal(cairn_commit_encode(out->commit, CAIRN_COMMIT_BYTES_MAX,
                                       &out->commit_len, cm),
                   CAIRN_OK);
  free(cm);
}

static void edit_drop_second(sfx *f, cairn_commit *cm) {
  (void)f;
  assert_int_equal(cm->n_sigs, N_VALS);
  cm->n_sigs = 1; /* 10 of 20: not more than 2/3 */
}

static void edit_flip_sig(sfx *f, cairn_commit *cm) {
  (void)f;
  cm->sigs[1].sig[10] ^= 0x01;
}

static void edit_add_outsider(sfx *f, cairn_commit *cm) {
  tu_vkey outsider;
  tu_validator(&outsider, 7);
  commit_add_vote(cm, cm->height, cm->block_hash, &outsider);
  assert_int_equal(cm->n_sigs, N_VALS + 1);
  (void)f;
}

/* Signatures of both validators, but for another block hash (block 2's). */
static void edit_other_hash(sfx *f, cairn_commit *cm) {
  uint64_t h = cm->height;
  memset(cm, 0, sizeof *cm);
  tu_commit_sign(cm, h, f->src_tips[2].hash, &f->vk[0]);
  commit_add_vote(cm, h, f->src_tips[2].hash, &f->vk[1]);
}

static void mut_insufficient(sfx *f, blob *out) {
  mutate_commit(&f->blocks[1], out, edit_drop_second, f);
}
static void mut_forged_sig(sfx *f, blob *out) {
  mutate_commit(&f->blocks[1], out, edit_flip_sig, f);
}
static void mut_outsider(sfx *f, blob *out) {
  mutate_commit(&f->blocks[1], out, edit_add_outsider, f);
}
static void mut_other_hash(sfx *f, blob *out) {
  mutate_commit(&f->blocks[1], out, edit_other_hash, f);
}

/* Block 1 with block 2's (valid) commit. */
static void mut_swapped_commit(sfx *f, blob *out) {
  out->block = dup_bytes(f->blocks[1].block, f->blocks[1].block_len);
  out->block_len = f->blocks[1].block_len;
  out->commit = dup_bytes(f->blocks[2].commit, f->blocks[2].commit_len);
  out->commit_len = f->blocks[2].commit_len;
}

/* Block 1 with one bit flipped at byte `at` (from the end when negative). */
static void mut_flip_block_at(sfx *f, blob *out, long at) {
  const blob *in = &f->blocks[1];
  out->block = dup_bytes(in->block, in->block_len);
  out->block_len = in->block_len;
  out->commit = dup_bytes(in->commit, in->commit_len);
  out->commit_len = in->commit_len;
  size_t i = at >= 0 ? (size_t)at : in->block_len - (size_t)(-at);
  assert_true(i < out->block_len);
  out->block[i] ^= 0x01;
}

/* The last byte: inside the last transaction's signature. */
static void mut_flip_tx_byte(sfx *f, blob *out) {
  mut_flip_block_at(f, out, -1);
}
/* Byte 40: inside the header's prev_hash (bytes 28..59 with the 10-byte
 * test chain id). */
static void mut_flip_header_byte(sfx *f, blob *out) {
  mut_flip_block_at(f, out, 40);
}

/* Block 1's bytes with one byte cut off. */
static void mut_truncated(sfx *f, blob *out) {
  const blob *in = &f->blocks[1];
  out->block = dup_bytes(in->block, in->block_len - 1);
  out->block_len = in->block_len - 1;
  out->commit = dup_bytes(in->commit, in->commit_len);
  out->commit_len = in->commit_len;
}

/* The real block 2 and its commit, delivered as the answer for height 1. */
static void mut_block_two(sfx *f, blob *out) {
  const blob *in = &f->blocks[2];
  out->block = dup_bytes(in->block, in->block_len);
  out->block_len = in->block_len;
  out->commit = dup_bytes(in->commit, in->commit_len);
  out->commit_len = in->commit_len;
}

/* Peers 1 and 2 claim NBLOCKS; peer 1 answers GET_BLOCK(1) with a bad
 * block: it is punished (why names the chain's error when `errname` is
 * given), the follower is unchanged, and sync goes on with peer 2, whose
 * good block is applied. */
static void check_bad_block(sfx *f, mutate_fn mutate, const char *errname) {
  rec *r = f->r;
  blob bad;
  cairn_tip before, after;
  memset(&bad, 0, sizeof bad);
  mutate(f, &bad);
  status(f, 1, NBLOCKS, T0);
  status(f, 2, NBLOCKS, T0);
  assert_get_block(r, 1, 1, 1);
  fol_tip(f, &before);
  deliver(f, 1, 1, bad.block, bad.block_len, bad.commit, bad.commit_len,
          T0 + 10);
  assert_punished(r, 1, 1, "fails verification", errname);
  fol_tip(f, &after);
  assert_memory_equal(&before, &after, sizeof before);
  assert_fol_at(f, 0);
  assert_int_equal(r->n_applied, 0);
  assert_int_equal(r->n_fatal, 0);
  /* Peer 2 still claims the height; the next tick (if sync did not ask
   * already) sends it the request, and only it. */
  assert_int_equal(cairn_sync_best_claim(f->sync), NBLOCKS);
  cairn_sync_tick(f->sync, T0 + 20);
  assert_get_block(r, 2, 2, 1);
  /* Peer 2's good block is applied and sync goes on with it. */
  answer(f, 2, 1, T0 + 30);
  assert_fol_at(f, 1);
  assert_int_equal(r->n_applied, 1);
  assert_applied(f, 0, 1);
  assert_get_block(r, 3, 2, 2);
  assert_int_equal(r->n_punish, 1);
  free(bad.block);
  free(bad.commit);
}

static void test_bad_commit_insufficient(void **state) {
  check_bad_block(*state, mut_insufficient, "bad_commit");
}
static void test_bad_commit_forged_sig(void **state) {
  check_bad_block(*state, mut_forged_sig, "bad_commit");
}
static void test_bad_commit_outsider(void **state) {
  check_bad_block(*state, mut_outsider, "bad_commit");
}
static void test_bad_commit_other_hash(void **state) {
  check_bad_block(*state, mut_other_hash, "bad_commit");
}
static void test_bad_commit_swapped(void **state) {
  check_bad_block(*state, mut_swapped_commit, "bad_commit");
}
static void test_altered_tx_byte(void **state) {
  check_bad_block(*state, mut_flip_tx_byte, "bad_tx_root");
}
static void test_altered_header_byte(void **state) {
  check_bad_block(*state, mut_flip_header_byte, "bad_prev_hash");
}
static void test_truncated_block(void **state) {
  check_bad_block(*state, mut_truncated, "truncated");
}
static void test_block_two_as_one(void **state) {
  check_bad_block(*state, mut_block_two, "bad_height");
}

/* A bad block at a later height leaves the earlier ones in place. */
static void test_bad_block_mid_catch_up(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  blob bad;
  memset(&bad, 0, sizeof bad);
  status(f, 1, NBLOCKS, T0);
  answer(f, 1, 1, T0 + 1);
  answer(f, 1, 2, T0 + 2);
  assert_get_block(r, 3, 1, 3);
  /* Block 3 with its commit cut to one signature. */
  mutate_commit(&f->blocks[3], &bad, edit_drop_second, f);
  deliver(f, 1, 3, bad.block, bad.block_len, bad.commit, bad.commit_len,
          T0 + 3);
  assert_punished(r, 1, 1, "fails verification", "bad_commit");
  assert_fol_at(f, 2);
  assert_int_equal(r->n_applied, 2);
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  status(f, 4, NBLOCKS, T0 + 4);
  assert_get_block(r, 4, 4, 3);
  answer(f, 4, 3, T0 + 5);
  assert_fol_at(f, 3);
  assert_applied(f, 2, 3);
  free(bad.block);
  free(bad.commit);
}

/* ---- NO_BLOCK ---- */

static void test_no_block_for_claimed_height(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  status(f, 2, 3, T0);
  assert_get_block(r, 1, 1, 1);
  cairn_sync_on_no_block(f->sync, 1, 1, T0 + 1);
  assert_punished(r, 1, 1, "claimed height 5", "no block 1");
  assert_fol_at(f, 0);
  assert_int_equal(cairn_sync_best_claim(f->sync), 3);
  /* Sync goes on with peer 2 at once. */
  assert_get_block(r, 2, 2, 1);
  cairn_sync_on_no_block(f->sync, 2, 1, T0 + 2);
  assert_punished(r, 2, 2, "claimed height 3", "no block 1");
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  assert_int_equal(r->n_sent, 2);
  assert_fol_at(f, 0);
  assert_int_equal(r->n_applied, 0);
}

/* The boundary: a peer claiming exactly the asked height. */
static void test_no_block_claim_equals_height(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, 1, T0);
  cairn_sync_want(f->sync, 1, T0 + 1);
  assert_get_block(r, 1, 1, 1);
  cairn_sync_on_no_block(f->sync, 1, 1, T0 + 2);
  assert_punished(r, 1, 1, "claimed height 1", "no block 1");
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  assert_fol_at(f, 0);
}

static void test_no_block_not_asked(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  /* Nothing asked at all. */
  cairn_sync_on_no_block(f->sync, 3, 1, T0);
  assert_punished(r, 1, 3, "not asked for", NULL);
  /* A request to peer 1 is out: NO_BLOCK from peer 2 is not the answer,
   * and the request still stands. */
  status(f, 1, NBLOCKS, T0 + 1);
  status(f, 2, NBLOCKS, T0 + 1);
  assert_get_block(r, 1, 1, 1);
  cairn_sync_on_no_block(f->sync, 2, 1, T0 + 2);
  assert_punished(r, 2, 2, "not asked for", NULL);
  assert_int_equal(r->n_sent, 1);
  /* NO_BLOCK for another height from the asked peer. */
  cairn_sync_on_no_block(f->sync, 1, 2, T0 + 3);
  assert_punished(r, 3, 1, "not asked for", NULL);
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  assert_fol_at(f, 0);
  assert_int_equal(r->n_applied, 0);
}

/* A peer that withdrew its claim (a later STATUS below the height) may
 * honestly say it has no such block: not punished. */
static void test_no_block_after_claim_withdrawn(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  assert_get_block(r, 1, 1, 1);
  status(f, 1, 0, T0 + 1);
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  cairn_sync_on_no_block(f->sync, 1, 1, T0 + 2);
  assert_nothing_wrong(r);
  assert_int_equal(r->n_sent, 1);
  /* The request is closed: a new claim is acted on at once. */
  status(f, 2, 2, T0 + 3);
  assert_get_block(r, 2, 2, 1);
  answer(f, 2, 1, T0 + 4);
  assert_fol_at(f, 1);
  assert_nothing_wrong(r);
}

/* ---- silence and disconnects ---- */

static void test_no_answer_times_out(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  status(f, 2, 4, T0);
  assert_get_block(r, 1, 1, 1);
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_REQUEST_MS - 1);
  assert_int_equal(r->n_sent, 1);
  assert_int_equal(cairn_sync_best_claim(f->sync), NBLOCKS);
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_REQUEST_MS);
  /* Peer 1's claim is dropped (not punished) and peer 2 is asked. */
  assert_get_block(r, 2, 2, 1);
  assert_int_equal(cairn_sync_best_claim(f->sync), 4);
  assert_nothing_wrong(r);
  /* Peer 2 is silent too: every claim is gone and nobody is asked. */
  cairn_sync_tick(f->sync, T0 + 2 * CAIRN_SYNC_REQUEST_MS - 1);
  assert_int_equal(r->n_sent, 2);
  cairn_sync_tick(f->sync, T0 + 2 * CAIRN_SYNC_REQUEST_MS);
  assert_int_equal(r->n_sent, 2);
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  assert_false(cairn_sync_catching_up(f->sync));
  assert_nothing_wrong(r);
  /* Peer 1's late answer is no longer asked for. */
  answer(f, 1, 1, T0 + 2 * CAIRN_SYNC_REQUEST_MS + 1);
  assert_punished(r, 1, 1, "not asked for", NULL);
  assert_fol_at(f, 0);
  /* Peer 2's next STATUS is believed again. */
  status(f, 2, 4, T0 + 2 * CAIRN_SYNC_REQUEST_MS + 2);
  assert_get_block(r, 3, 2, 1);
  answer(f, 2, 1, T0 + 2 * CAIRN_SYNC_REQUEST_MS + 3);
  assert_fol_at(f, 1);
  assert_applied(f, 0, 1);
}

static void test_peer_down_while_pending(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  status(f, 2, NBLOCKS, T0);
  status(f, 3, 2, T0);
  assert_get_block(r, 1, 1, 1);
  /* Another peer going down does not disturb the request. */
  cairn_sync_on_peer_down(f->sync, 3);
  cairn_sync_tick(f->sync, T0 + 1);
  assert_int_equal(r->n_sent, 1);
  cairn_sync_on_peer_down(f->sync, 1);
  assert_int_equal(cairn_sync_best_claim(f->sync), NBLOCKS);
  cairn_sync_tick(f->sync, T0 + 2);
  assert_get_block(r, 2, 2, 1);
  answer(f, 2, 1, T0 + 3);
  assert_fol_at(f, 1);
  assert_applied(f, 0, 1);
  assert_get_block(r, 3, 2, 2);
  assert_nothing_wrong(r);
  /* The last peer gone: no claims left. */
  cairn_sync_on_peer_down(f->sync, 2);
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  cairn_sync_tick(f->sync, T0 + 4);
  assert_int_equal(r->n_sent, 3);
  /* Unknown peers going down are harmless. */
  cairn_sync_on_peer_down(f->sync, 99);
  assert_nothing_wrong(r);
}

/* A send that fails (link gone) does not leave a request pending: a later
 * claim from another peer is acted on. */
static void test_send_failure_leaves_nothing_pending(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  r->refuse = true;
  r->refuse_peer = 1;
  status(f, 1, NBLOCKS, T0);
  assert_true(r->n_refused >= 1);
  assert_int_equal(r->n_sent, 0);
  status(f, 2, NBLOCKS, T0 + 1);
  assert_get_block(r, 1, 2, 1);
  answer(f, 1, 1, T0 + 2);
  assert_punished(r, 1, 1, "not asked for", NULL);
  answer(f, 2, 1, T0 + 3);
  assert_fol_at(f, 1);
  assert_applied(f, 0, 1);
}

/* Two peers with ripe claims, the first one's link failing: the same call
 * must go on to the second (the next slot) and ask it. */
static void test_send_failure_asks_next_slot(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, 1, T0); /* slot 0; one ahead: waits for the lag */
  status(f, 2, 1, T0); /* slot 1 */
  assert_int_equal(r->n_sent, 0);
  r->refuse = true;
  r->refuse_peer = 1;
  cairn_sync_tick(f->sync, T0 + CAIRN_SYNC_LAG_MS);
  if (r->n_sent != 1)
    fail_msg("BUG: after the send to peer 1 (slot 0) failed, sync sent %zu "
             "requests in the same call (send to peer 1 tried %zu times); "
             "peer 2 (slot 1) claims the height and was never asked: "
             "sync_request moves next_pick inside its loop, so the slot "
             "after a failed one is skipped",
             r->n_sent, r->n_refused);
  assert_get_block(r, 1, 2, 1);
  if (r->n_refused != 1)
    fail_msg("send to the failing peer 1 tried %zu times in one call",
             r->n_refused);
  answer(f, 2, 1, T0 + CAIRN_SYNC_LAG_MS + 1);
  assert_fol_at(f, 1);
  assert_nothing_wrong(r);
}

/* ---- the block consensus committed meanwhile ---- */

static void fol_apply(sfx *f, uint64_t h) {
  char why[512];
  const blob *b = &f->blocks[h];
  cairn_err err = cairn_chain_apply_block(f->fol, b->block, b->block_len,
                                          b->commit, b->commit_len, why,
                                          sizeof why);
  if (err != CAIRN_OK)
    fail_msg("apply %llu: %s: %s", (unsigned long long)h, cairn_errname(err),
             why);
}

static void test_committed_meanwhile(void **state) {
  sfx *f = *state;
  rec *r = f->r;
  status(f, 1, NBLOCKS, T0);
  assert_get_block(r, 1, 1, 1);
  /* Consensus commits blocks 1 and 2 before the answer arrives. */
  fol_apply(f, 1);
  fol_apply(f, 2);
  answer(f, 1, 1, T0 + 1);
  assert_nothing_wrong(r);
  assert_int_equal(r->n_applied, 0);
  assert_fol_at(f, 2);
  /* Sync goes on from the new tip at once. */
  assert_get_block(r, 2, 1, 3);
  /* The tip moved exactly to the answer's height. */
  fol_apply(f, 3);
  answer(f, 1, 3, T0 + 2);
  assert_nothing_wrong(r);
  assert_int_equal(r->n_applied, 0);
  assert_fol_at(f, 3);
  /* Claim 5 is still two ahead of tip 3: block 4 is asked at once. */
  assert_get_block(r, 3, 1, 4);
  answer(f, 1, 4, T0 + 3);
  assert_fol_at(f, 4);
  assert_int_equal(r->n_applied, 1);
  assert_applied(f, 0, 4);
  assert_nothing_wrong(r);
}

/* ---- serving ---- */

static void test_serve_blocks(void **state) {
  sfx *f = *state;
  rec *r = f->src_r;
  for (uint64_t h = 1; h <= NBLOCKS; h++) {
    cairn_sync_on_get_block(f->src_sync, 7, h);
    assert_int_equal(r->n_sent, h);
    const sent_msg *s = &r->sent[h - 1];
    assert_int_equal(s->type, CAIRN_MSG_BLOCK);
    assert_int_equal(s->peer, 7);
    assert_int_equal(s->height, h);
    assert_int_equal(s->block_len, f->blocks[h].block_len);
    assert_memory_equal(s->block, f->blocks[h].block, s->block_len);
    assert_int_equal(s->commit_len, f->blocks[h].commit_len);
    assert_memory_equal(s->commit, f->blocks[h].commit, s->commit_len);
  }
  static const uint64_t absent[] = {0, NBLOCKS + 1, NBLOCKS + 1000,
                                    UINT64_MAX};
  for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
    cairn_sync_on_get_block(f->src_sync, 8, absent[i]);
    const sent_msg *s = &r->sent[r->n_sent - 1];
    assert_int_equal(r->n_sent, NBLOCKS + 1 + i);
    if (s->type != CAIRN_MSG_NO_BLOCK)
      fail_msg("GET_BLOCK(%llu) answered with type %u, expected NO_BLOCK",
               (unsigned long long)absent[i], s->type);
    assert_int_equal(s->peer, 8);
    assert_int_equal(s->height, absent[i]);
  }
  /* The empty follower has nothing beyond genesis. */
  cairn_sync_on_get_block(f->sync, 9, 1);
  assert_int_equal(f->r->n_sent, 1);
  assert_int_equal(f->r->sent[0].type, CAIRN_MSG_NO_BLOCK);
  assert_int_equal(f->r->sent[0].height, 1);
  /* Serving never punishes, applies or fails. */
  assert_int_equal(r->n_punish + r->n_applied + r->n_fatal, 0);
  assert_int_equal(f->r->n_punish + f->r->n_applied + f->r->n_fatal, 0);
}

/* Encode m, decode it back and check it survives the codec unchanged. */
static uint8_t *wire_roundtrip(const cairn_p2p_msg *m, cairn_p2p_msg *out,
                               size_t *len) {
  size_t cap = cairn_p2p_msg_size(m);
  uint8_t *buf = malloc(cap);
  assert_non_null(buf);
  assert_int_equal(cairn_p2p_msg_encode(buf, cap, len, m), CAIRN_OK);
  assert_int_equal(*len, cap);
  assert_int_equal(cairn_p2p_msg_decode(out, buf, *len), CAIRN_OK);
  assert_int_equal(out->type, m->type);
  return buf;
}

/* The whole catch-up with the source's sync serving the follower's
 * requests through the message codec (follower = peer 9 to the source,
 * source = peer 1 to the follower). */
static void test_catch_up_over_wire(void **state) {
  sfx *f = *state;
  rec *fr = f->r, *sr = f->src_r;
  uint64_t now = T0;
  status(f, 1, NBLOCKS, now);
  for (int steps = 0; steps < 4 * NBLOCKS; steps++) {
    now += 1000;
    cairn_sync_tick(f->sync, now);
    if (fr->n_sent == 0) break;
    const sent_msg *q = &fr->sent[fr->n_sent - 1];
    if (q->type != CAIRN_MSG_GET_BLOCK) fail_msg("unexpected type %u", q->type);
    cairn_p2p_msg m = {.type = CAIRN_MSG_GET_BLOCK}, d;
    m.u.height = q->height;
    size_t len = 0;
    uint8_t *buf = wire_roundtrip(&m, &d, &len);
    free(buf);
    assert_int_equal(q->peer, 1);
    rec_clear_sent(fr);
    cairn_sync_on_get_block(f->src_sync, 9, d.u.height);
    assert_int_equal(sr->n_sent, 1);
    const sent_msg *a = &sr->sent[0];
    assert_int_equal(a->type, CAIRN_MSG_BLOCK);
    assert_int_equal(a->peer, 9);
    m.type = CAIRN_MSG_BLOCK;
    m.u.block = (cairn_msg_block){.height = a->height,
                                  .block = a->block,
                                  .block_len = a->block_len,
                                  .commit = a->commit,
                                  .commit_len = a->commit_len};
    buf = wire_roundtrip(&m, &d, &len);
    cairn_sync_on_block(f->sync, 1, &d.u.block, now);
    free(buf);
    rec_clear_sent(sr);
    if (d.u.block.height == NBLOCKS) {
      /* The last answer must not have started another request. */
      assert_int_equal(fr->n_sent, 0);
      break;
    }
  }
  assert_fol_at(f, NBLOCKS);
  assert_int_equal(fr->n_applied, NBLOCKS);
  for (uint64_t h = 1; h <= NBLOCKS; h++) assert_applied(f, h - 1, h);
  assert_nothing_wrong(fr);
  assert_int_equal(sr->n_punish, 0);
}

/* ---- claims ---- */

static void test_best_claim_and_catching_up(void **state) {
  sfx *f = *state;
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  assert_false(cairn_sync_catching_up(f->sync));
  status(f, 1, 0, T0);
  assert_int_equal(cairn_sync_best_claim(f->sync), 0);
  assert_false(cairn_sync_catching_up(f->sync));
  status(f, 1, 1, T0);
  assert_int_equal(cairn_sync_best_claim(f->sync), 1);
  assert_false(cairn_sync_catching_up(f->sync)); /* one ahead: not behind */
  status(f, 2, 2, T0 + 1);                       /* asks peer 2 for 1 */
  assert_int_equal(cairn_sync_best_claim(f->sync), 2);
  assert_true(cairn_sync_catching_up(f->sync));
  status(f, 3, 4, T0 + 2);
  assert_int_equal(cairn_sync_best_claim(f->sync), 4);
  /* A claim may go down again. */
  status(f, 3, 1, T0 + 3);
  assert_int_equal(cairn_sync_best_claim(f->sync), 2);
  answer(f, 2, 1, T0 + 4);
  assert_fol_at(f, 1);
  assert_int_equal(cairn_sync_best_claim(f->sync), 2);
  assert_false(cairn_sync_catching_up(f->sync)); /* 2 is only tip + 1 */
  cairn_sync_on_peer_down(f->sync, 2);
  assert_int_equal(cairn_sync_best_claim(f->sync), 1);
  assert_false(cairn_sync_catching_up(f->sync));
  status(f, 3, UINT64_MAX, T0 + 5);
  assert_int_equal(cairn_sync_best_claim(f->sync), UINT64_MAX);
  assert_true(cairn_sync_catching_up(f->sync));
  assert_nothing_wrong(f->r);
}

/* More peers than slots: the extra ones are not tracked (p2p never has
 * more than CAIRN_P2P_PEERS_MAX connected). */
static void test_peer_slots_bounded(void **state) {
  sfx *f = *state;
  for (cairn_peer_id p = 1; p <= CAIRN_P2P_PEERS_MAX; p++)
    status(f, p, 1, T0);
  assert_int_equal(cairn_sync_best_claim(f->sync), 1);
  status(f, CAIRN_P2P_PEERS_MAX + 1, NBLOCKS, T0);
  assert_int_equal(cairn_sync_best_claim(f->sync), 1);
  assert_int_equal(f->r->n_sent, 0);
  /* A slot freed by a peer going down is used by the next one. */
  cairn_sync_on_peer_down(f->sync, 5);
  status(f, CAIRN_P2P_PEERS_MAX + 1, NBLOCKS, T0 + 1);
  assert_int_equal(cairn_sync_best_claim(f->sync), NBLOCKS);
  assert_get_block(f->r, 1, CAIRN_P2P_PEERS_MAX + 1, 1);
  assert_nothing_wrong(f->r);
}

int main(void) {
  if (sodium_init() < 0) return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_catch_up_from_one_peer),
      T(test_catch_up_last_block_waits_for_lag),
      T(test_one_ahead_waits_for_lag),
      T(test_lag_counts_from_when_claim_got_ahead),
      T(test_want_acts_at_once),
      T(test_want_before_claim),
      T(test_unsolicited_block),
      T(test_block_for_other_height),
      T(test_block_from_other_peer),
      T(test_bad_commit_insufficient),
      T(test_bad_commit_forged_sig),
      T(test_bad_commit_outsider),
      T(test_bad_commit_other_hash),
      T(test_bad_commit_swapped),
      T(test_altered_tx_byte),
      T(test_altered_header_byte),
      T(test_truncated_block),
      T(test_block_two_as_one),
      T(test_bad_block_mid_catch_up),
      T(test_no_block_for_claimed_height),
      T(test_no_block_claim_equals_height),
      T(test_no_block_not_asked),
      T(test_no_block_after_claim_withdrawn),
      T(test_no_answer_times_out),
      T(test_peer_down_while_pending),
      T(test_send_failure_leaves_nothing_pending),
      T(test_send_failure_asks_next_slot),
      T(test_committed_meanwhile),
      T(test_serve_blocks),
      T(test_catch_up_over_wire),
      T(test_best_claim_and_catching_up),
      T(test_peer_slots_bounded),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
