/*
 * tests/test_consensus.c - the Tendermint engine, several real nodes in one
 * process.
 *
 * Every node is real: its own LMDB store in a temporary directory, its own
 * chain on a four-validator genesis (tu_genesis with validators 0..3 of
 * power 10), its own mempool, its own signer with a state file, and its own
 * engine. Only the network and the clock are simulated, so every run is
 * deterministic:
 *   - a priority queue of events ordered by (simulated time, sequence):
 *     message deliveries, timers the engines asked for (io.schedule),
 *     periodic re-gossip and block-sync fetches;
 *   - broadcast messages are encoded with the real p2p codec, then queued
 *     for every other node with a delay, and may be dropped (a seeded RNG
 *     whose seed is printed; CAIRN_TEST_SEED replays it), cut by a
 *     partition, or withheld from a node that is down;
 *   - block sync is the harness: when an engine asks for a block (or hears
 *     of a later height) the harness copies blocks and commits from a node
 *     that has them, applies them with cairn_chain_apply_block, tells the
 *     mempool and calls cairn_cons_on_synced, as the node's sync does.
 * After every scenario the safety check compares the block hash committed
 * at every height by every node: two different hashes at one height fail.
 *
 * A second group drives one engine alone ("solo"): the test signs the
 * other validators' proposals and votes itself, captures what the engine
 * broadcasts and schedules, and fires timers by hand. That makes the
 * paper's finer rules checkable one by one: locking and prevoting nil for
 * another block without a proof of lock, unlocking with one, re-proposal
 * of a locked block, round skipping, stale and foreign messages, every
 * proposal check with its error, equivocation evidence, invalid blocks and
 * the request for a missing block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cairn/chain.h"
#include "cairn/consensus.h"
#include "cairn/evidence.h"
#include "cairn/mempool.h"
#include "cairn/p2p_msg.h"
#include "cairn/privval.h"
#include "cairn/tx.h"
#include "testutil.h"

#define NODES_MAX 6
#define VALS 4
#define HEIGHTS_MAX 64
#define CHAIN ((const uint8_t *)TU_CHAIN_ID)
#define CHAIN_LEN (sizeof TU_CHAIN_ID - 1)
#define T0_MS (TU_GENESIS_TIME_MS + 1000u)
#define GOSSIP_MS 1000u
#define OUTBOX_MAX 4096

enum { EV_MSG = 1, EV_TIMER, EV_GOSSIP, EV_SYNC };

typedef struct tnet tnet;

typedef struct tnode {
  tnet *t;
  int id;
  int key; /* validator key index, -1: no signer */
  char dir[64];
  char pv_path[128];
  cairn_store *store;
  cairn_chain *chain;
  cairn_mempool *mp;
  cairn_privval *pv;
  cairn_cons *cons;
  bool open;
  bool down;
  uint32_t gen; /* incarnation: events of an earlier one are dropped */
  uint64_t skew_ms;
  uint64_t tip;
  uint8_t committed[HEIGHTS_MAX + 1][32];
  uint32_t n_evidence;
  cairn_evidence evidence[8];
  uint32_t n_want;
  uint64_t want_height;
  uint32_t n_sent;     /* messages broadcast */
  uint32_t n_rejected; /* proposals or votes the engine refused */
  cairn_err last_reject;
  bool sync_pending;
} tnode;

typedef struct tevent {
  uint64_t due, seq;
  int kind, to;
  uint32_t gen;
  uint64_t h;
  uint32_t r;
  uint8_t step;
  uint8_t *bytes;
  size_t len;
} tevent;

/* What a solo engine broadcast or scheduled. */
typedef struct tcapture {
  uint8_t *msgs[OUTBOX_MAX];
  size_t lens[OUTBOX_MAX];
  size_t n_msgs;
  uint64_t th[OUTBOX_MAX];
  uint32_t tr[OUTBOX_MAX];
  uint8_t ts[OUTBOX_MAX];
  uint32_t tms[OUTBOX_MAX];
  size_t n_timers;
} tcapture;

struct tnet {
  cairn_genesis *g;
  tu_vkey keys[VALS]; /* ascending pubkey order, as the set */
  int n;
  tnode nodes[NODES_MAX];
  uint64_t now;
  tevent **heap;
  size_t heap_n, heap_cap;
  uint64_t seq;
  uint64_t rng;
  uint32_t drop_pct;
  bool cut[NODES_MAX][NODES_MAX];
  uint32_t delay_ms, jitter_ms;
  uint32_t max_round;
  bool solo; /* capture instead of deliver */
  tcapture cap;
  tu_key issuer[4];
  uint64_t issuer_seq[4];
  uint32_t n_tx;
  cairn_log log;
};

/* ---- randomness ---- */

static uint64_t rng_next(tnet *t) {
  /* xorshift64*: enough for drop and jitter decisions. */
  uint64_t x = t->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  t->rng = x;
  return x * 2685821657736338717ull;
}

static uint64_t test_seed(void) {
  const char *env = getenv("CAIRN_TEST_SEED");
  if (env != NULL) return strtoull(env, NULL, 0);
  return (uint64_t)time(NULL) ^ 0x5eedc0ffeeull;
}

/* ---- event queue (binary min-heap on (due, seq)) ---- */

static bool ev_less(const tevent *a, const tevent *b) {
  return a->due != b->due ? a->due < b->due : a->seq < b->seq;
}

static void heap_push(tnet *t, tevent *ev) {
  if (t->heap_n == t->heap_cap) {
    t->heap_cap = t->heap_cap ? t->heap_cap * 2 : 256;
    t->heap = realloc(t->heap, t->heap_cap * sizeof *t->heap);
    assert_non_null(t->heap);
  }
  ev->seq = t->seq++;
  size_t i = t->heap_n++;
  while (i > 0 && ev_less(ev, t->heap[(i - 1) / 2])) {
    t->heap[i] = t->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  t->heap[i] = ev;
}

static tevent *heap_pop(tnet *t) {
  if (t->heap_n == 0) return NULL;
  tevent *top = t->heap[0];
  tevent *last = t->heap[--t->heap_n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= t->heap_n) break;
    if (c + 1 < t->heap_n && ev_less(t->heap[c + 1], t->heap[c])) c++;
    if (!ev_less(t->heap[c], last)) break;
    t->heap[i] = t->heap[c];
    i = c;
  }
  if (t->heap_n > 0) t->heap[i] = last;
  return top;
}

static tevent *ev_new(tnet *t, int kind, int to, uint64_t delay_ms) {
  tevent *ev = calloc(1, sizeof *ev);
  assert_non_null(ev);
  ev->kind = kind;
  ev->to = to;
  ev->gen = t->nodes[to].gen;
  ev->due = t->now + delay_ms;
  return ev;
}

static void ev_free(tevent *ev) {
  free(ev->bytes);
  free(ev);
}

/* ---- engine callbacks ---- */

static uint8_t *encode_msg(const cairn_p2p_msg *m, size_t *len) {
  size_t cap = cairn_p2p_msg_size(m);
  uint8_t *buf = malloc(cap);
  assert_non_null(buf);
  assert_int_equal(cairn_p2p_msg_encode(buf, cap, len, m), CAIRN_OK);
  assert_int_equal(*len, cap);
  return buf;
}

static void cb_broadcast(void *ctx, const cairn_p2p_msg *m) {
  tnode *nd = ctx;
  tnet *t = nd->t;
  assert_true(m->type == CAIRN_MSG_PROPOSAL || m->type == CAIRN_MSG_VOTE);
  nd->n_sent++;
  if (m->type == CAIRN_MSG_VOTE && m->u.vote.round > t->max_round)
    t->max_round = m->u.vote.round;
  if (t->solo) {
    assert_true(t->cap.n_msgs < OUTBOX_MAX);
    size_t i = t->cap.n_msgs++;
    t->cap.msgs[i] = encode_msg(m, &t->cap.lens[i]);
    return;
  }
  if (nd->down) return;
  for (int j = 0; j < t->n; j++) {
    if (j == nd->id || t->cut[nd->id][j]) continue;
    if (t->drop_pct > 0 && rng_next(t) % 100u < t->drop_pct) continue;
    uint64_t delay = t->delay_ms + (t->jitter_ms ? rng_next(t) % t->jitter_ms : 0);
    tevent *ev = ev_new(t, EV_MSG, j, delay);
    ev->bytes = encode_msg(m, &ev->len);
    heap_push(t, ev);
  }
}

static void cb_schedule(void *ctx, uint64_t h, uint32_t r, uint8_t step,
                        uint32_t ms) {
  tnode *nd = ctx;
  tnet *t = nd->t;
  if (t->solo) {
    assert_true(t->cap.n_timers < OUTBOX_MAX);
    size_t i = t->cap.n_timers++;
    t->cap.th[i] = h;
    t->cap.tr[i] = r;
    t->cap.ts[i] = step;
    t->cap.tms[i] = ms;
    return;
  }
  tevent *ev = ev_new(t, EV_TIMER, nd->id, ms);
  ev->h = h;
  ev->r = r;
  ev->step = step;
  heap_push(t, ev);
}

static uint64_t cb_now(void *ctx) {
  tnode *nd = ctx;
  return T0_MS + nd->t->now + nd->skew_ms;
}

static void record_tip(tnode *nd) {
  cairn_tip tip;
  cairn_chain_tip(nd->chain, &tip);
  assert_true(tip.height <= HEIGHTS_MAX);
  memcpy(nd->committed[tip.height], tip.hash, 32);
  nd->tip = tip.height;
}

static void cb_committed(void *ctx, uint64_t height) {
  tnode *nd = ctx;
  cairn_tip tip;
  cairn_chain_tip(nd->chain, &tip);
  assert_int_equal(tip.height, height);
  assert_int_equal(height, nd->tip + 1);
  record_tip(nd);
}

static void cb_evidence(void *ctx, const cairn_evidence *e) {
  tnode *nd = ctx;
  if (nd->n_evidence < 8) nd->evidence[nd->n_evidence] = *e;
  nd->n_evidence++;
}

/* Block sync runs later, from the event loop, never inside the engine. */
static void want_sync(tnode *nd, uint64_t delay_ms) {
  tnet *t = nd->t;
  if (t->solo || nd->sync_pending) return;
  nd->sync_pending = true;
  heap_push(t, ev_new(t, EV_SYNC, nd->id, delay_ms));
}

/* No test here makes the store fail: a call is a bug. */
static void cb_fatal(void *ctx, cairn_err err) {
  (void)ctx;
  fail_msg("the engine reported a fatal store error: %s", cairn_errname(err));
}

static void cb_want(void *ctx, uint64_t height) {
  tnode *nd = ctx;
  nd->n_want++;
  nd->want_height = height;
  want_sync(nd, 50);
}

/* ---- nodes ---- */

static void node_open(tnet *t, int i) {
  tnode *nd = &t->nodes[i];
  nd->store = tu_store_open(nd->dir);
  assert_int_equal(cairn_chain_open(&nd->chain, nd->store, t->g), CAIRN_OK);
  cairn_chain_set_verify_threads(nd->chain, 1);
  assert_int_equal(cairn_mempool_open(&nd->mp, nd->chain, 1000, NULL),
                   CAIRN_OK);
  if (nd->key >= 0)
    assert_int_equal(cairn_privval_open(&nd->pv, t->keys[nd->key].sk,
                                        nd->pv_path),
                     CAIRN_OK);
  cairn_cons_opts o;
  memset(&o, 0, sizeof o);
  o.chain = nd->chain;
  o.mempool = nd->mp;
  o.privval = nd->pv;
  o.log = &t->log;
  cairn_cons_timeouts_default(&o.timeouts);
  o.io = (cairn_cons_io){nd,           cb_broadcast, cb_schedule, cb_now,
                         cb_committed, cb_evidence,  cb_want,     cb_fatal};
  assert_int_equal(cairn_cons_open(&nd->cons, &o), CAIRN_OK);
  nd->open = true;
  nd->down = false;
  nd->gen++;
  nd->sync_pending = false;
  record_tip(nd);
  if (!t->solo)
    heap_push(t, ev_new(t, EV_GOSSIP, i, GOSSIP_MS + (uint64_t)i * 7u));
}

static void node_close(tnode *nd) {
  if (!nd->open) return;
  cairn_cons_close(nd->cons);
  cairn_privval_close(nd->pv);
  cairn_mempool_close(nd->mp);
  cairn_chain_close(nd->chain);
  cairn_store_close(nd->store);
  nd->cons = NULL;
  nd->pv = NULL;
  nd->mp = NULL;
  nd->chain = NULL;
  nd->store = NULL;
  nd->open = false;
}

/* A node crashes: it hears nothing and its timers die with it. */
static void node_stop(tnet *t, int i) {
  tnode *nd = &t->nodes[i];
  node_close(nd);
  nd->down = true;
  nd->gen++;
}

/* ...and comes back: the same store and signer state file, an empty
 * mempool, a fresh engine. */
static void node_restart(tnet *t, int i) {
  assert_true(t->nodes[i].down);
  node_open(t, i);
}

/* Four validators sorted like the set, power 10 each. */
static void make_genesis(tnet *t) {
  t->g = calloc(1, sizeof *t->g);
  assert_non_null(t->g);
  tu_genesis(t->g);
  for (uint32_t i = 0; i < VALS; i++) tu_validator(&t->keys[i], i);
  for (int i = 1; i < VALS; i++)
    for (int j = i; j > 0 && memcmp(t->keys[j - 1].pk, t->keys[j].pk, 32) > 0;
         j--) {
      tu_vkey tmp = t->keys[j];
      t->keys[j] = t->keys[j - 1];
      t->keys[j - 1] = tmp;
    }
  cairn_valset *vs = &t->g->validators;
  memset(vs, 0, sizeof *vs);
  vs->n = VALS;
  vs->total_power = 10u * VALS;
  for (uint32_t i = 0; i < VALS; i++) {
    memcpy(vs->v[i].pubkey, t->keys[i].pk, 32);
    vs->v[i].power = 10;
    vs->v[i].name_len = 4;
    snprintf(vs->v[i].name, sizeof vs->v[i].name, "val%u", (unsigned)i);
  }
  t->g->staking.valset_delay_blocks = CAIRN_STAKING_DEFAULT_VALSET_DELAY;
  t->g->staking.unbonding_blocks = CAIRN_STAKING_DEFAULT_UNBONDING;
  t->g->staking.evidence_max_age_blocks =
      CAIRN_STAKING_DEFAULT_EVIDENCE_MAX_AGE;
  t->g->staking.slash_percent = CAIRN_STAKING_DEFAULT_SLASH_PERCENT;
}

/* n nodes; node i signs with key keys[i] (i < VALS) unless given. */
static tnet *net_new(int n, const int *keys, bool solo) {
  tnet *t = calloc(1, sizeof *t);
  assert_non_null(t);
  make_genesis(t);
  t->n = n;
  t->solo = solo;
  t->delay_ms = 10;
  t->jitter_ms = 20;
  t->rng = 0x9e3779b97f4a7c15ull;
  const char *lg = getenv("CAIRN_TEST_LOG");
  cairn_log_init(&t->log, lg != NULL ? stderr : NULL,
                 lg != NULL && lg[0] == 'd' ? CAIRN_LOG_DEBUG : CAIRN_LOG_INFO);
  for (uint32_t b = 1; b <= 3; b++) {
    tu_issuer(&t->issuer[b], b);
    t->issuer_seq[b] = 1;
  }
  for (int i = 0; i < n; i++) {
    tnode *nd = &t->nodes[i];
    nd->t = t;
    nd->id = i;
    nd->key = keys != NULL ? keys[i] : (i < VALS ? i : -1);
    nd->skew_ms = (uint64_t)i;
    char dir[64];
    tu_tmpdir(dir, sizeof dir);
    memcpy(nd->dir, dir, sizeof dir);
    snprintf(nd->pv_path, sizeof nd->pv_path, "%s/%s", dir,
             CAIRN_PRIVVAL_FILE_NAME);
    node_open(t, i);
  }
  return t;
}

static void net_free(tnet *t) {
  for (int i = 0; i < t->n; i++) {
    node_close(&t->nodes[i]);
    tu_rmtree(t->nodes[i].dir);
  }
  while (t->heap_n > 0) ev_free(heap_pop(t));
  free(t->heap);
  for (size_t i = 0; i < t->cap.n_msgs; i++) free(t->cap.msgs[i]);
  free(t->g);
  free(t);
}

/* ---- block sync (the node's job, done here by the harness) ---- */

static void sync_mempool(tnode *nd, const uint8_t *block, size_t len) {
  cairn_block_header h;
  cairn_slice *txs = calloc(CAIRN_BLOCK_TXS_MAX, sizeof *txs);
  assert_non_null(txs);
  assert_int_equal(cairn_block_decode(&h, txs, CAIRN_BLOCK_TXS_MAX, block, len),
                   CAIRN_OK);
  uint8_t(*ids)[32] = calloc(h.tx_count + 1, 32);
  assert_non_null(ids);
  for (uint32_t i = 0; i < h.tx_count; i++)
    cairn_tx_id_bytes(ids[i], txs[i].p, txs[i].len);
  assert_int_equal(cairn_mempool_after_block(nd->mp,
                                             (const uint8_t(*)[32])ids,
                                             h.tx_count, cb_now(nd)),
                   CAIRN_OK);
  free(ids);
  free(txs);
}

/* Copy height h from src into nd; false if src does not have it. */
static bool sync_one(tnode *nd, tnode *src, uint64_t h) {
  cairn_rtxn *r = NULL;
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  assert_int_equal(cairn_store_read_begin(src->store, &r), CAIRN_OK);
  cairn_err err = cairn_store_block(r, h, &b, &blen, &c, &clen);
  if (err != CAIRN_OK) {
    cairn_store_read_end(r);
    return false;
  }
  uint8_t *bc = malloc(blen), *cc = malloc(clen);
  assert_true(bc != NULL && cc != NULL);
  memcpy(bc, b, blen);
  memcpy(cc, c, clen);
  cairn_store_read_end(r);
  char why[256] = "";
  err = cairn_chain_apply_block(nd->chain, bc, blen, cc, clen, why, sizeof why);
  if (err != CAIRN_OK) fprintf(stderr, "sync apply failed: %s\n", why);
  assert_int_equal(err, CAIRN_OK);
  sync_mempool(nd, bc, blen);
  free(bc);
  free(cc);
  record_tip(nd);
  return true;
}

static void do_sync(tnet *t, tnode *nd) {
  nd->sync_pending = false;
  bool moved = false;
  for (int j = 0; j < t->n; j++) {
    tnode *src = &t->nodes[j];
    if (j == nd->id || src->down || !src->open) continue;
    while (src->tip > nd->tip && sync_one(nd, src, nd->tip + 1)) moved = true;
  }
  if (moved) cairn_cons_on_synced(nd->cons);
}

/* ---- the event loop ---- */

static void deliver(tnet *t, tnode *nd, const tevent *ev) {
  cairn_p2p_msg m;
  assert_int_equal(cairn_p2p_msg_decode(&m, ev->bytes, ev->len), CAIRN_OK);
  cairn_err err = CAIRN_OK;
  uint64_t h = 0;
  if (m.type == CAIRN_MSG_PROPOSAL) {
    h = m.u.proposal.height;
    err = cairn_cons_on_proposal(nd->cons, &m.u.proposal);
  } else {
    h = m.u.vote.height;
    err = cairn_cons_on_vote(nd->cons, &m.u.vote);
  }
  if (err != CAIRN_OK) {
    nd->n_rejected++;
    nd->last_reject = err;
  }
  /* A message from a later height says we are behind (STATUS does this
   * in the node). */
  uint64_t ch;
  uint32_t cr;
  uint8_t cs;
  cairn_cons_position(nd->cons, &ch, &cr, &cs);
  if (h > ch) want_sync(nd, 20);
  (void)t;
}

static void dispatch(tnet *t, tevent *ev) {
  tnode *nd = &t->nodes[ev->to];
  if (nd->down || !nd->open || ev->gen != nd->gen) return;
  switch (ev->kind) {
    case EV_MSG:
      deliver(t, nd, ev);
      break;
    case EV_TIMER:
      cairn_cons_on_timeout(nd->cons, ev->h, ev->r, ev->step);
      break;
    case EV_GOSSIP:
      cairn_cons_regossip(nd->cons);
      heap_push(t, ev_new(t, EV_GOSSIP, nd->id, GOSSIP_MS));
      break;
    case EV_SYNC:
      do_sync(t, nd);
      break;
    default:
      fail();
  }
}

typedef bool (*tpred)(tnet *t, uint64_t arg);

/* Run events until pred holds or limit_ms of simulated time pass. */
static bool run_until(tnet *t, tpred pred, uint64_t arg, uint64_t limit_ms) {
  uint64_t end = t->now + limit_ms;
  while (!pred(t, arg)) {
    tevent *ev = heap_pop(t);
    if (ev == NULL) return false;
    if (ev->due > end) {
      heap_push(t, ev);
      t->now = end;
      return pred(t, arg);
    }
    t->now = ev->due;
    dispatch(t, ev);
    ev_free(ev);
  }
  return true;
}

/* Every node that is up has committed at least height arg. */
static bool all_up_at(tnet *t, uint64_t arg) {
  for (int i = 0; i < t->n; i++)
    if (!t->nodes[i].down && t->nodes[i].tip < arg) return false;
  return true;
}

/* No two nodes committed different blocks at one height. */
static void check_safety(tnet *t) {
  for (uint64_t h = 1; h <= HEIGHTS_MAX; h++) {
    const uint8_t *ref = NULL;
    for (int i = 0; i < t->n; i++) {
      if (t->nodes[i].tip < h) continue;
      if (ref == NULL) ref = t->nodes[i].committed[h];
      else assert_memory_equal(ref, t->nodes[i].committed[h], 32);
    }
  }
}

/* ---- transactions ---- */

/* An ISSUE by brand b's issuer, admitted to every node that is up (tx
 * gossip is the node's job, not the engine's), then on_txs. */
static void submit(tnet *t, uint32_t b) {
  cairn_tx tx;
  tu_key member;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  tu_member(&member, t->n_tx % 4);
  tu_tx_issue(&tx, &t->issuer[b], t->issuer_seq[b]++, b, member.pk,
              100 + t->n_tx);
  t->n_tx++;
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  for (int i = 0; i < t->n; i++) {
    tnode *nd = &t->nodes[i];
    if (nd->down || !nd->open) continue;
    uint8_t id[32];
    assert_int_equal(cairn_mempool_add(nd->mp, buf, len, cb_now(nd), id,
                                       NULL, 0),
                     CAIRN_OK);
  }
  for (int i = 0; i < t->n; i++)
    if (!t->nodes[i].down && t->nodes[i].open)
      cairn_cons_on_txs(t->nodes[i].cons);
}

/* Transactions in the block node i committed at height h. */
static uint32_t block_txs(tnode *nd, uint64_t h) {
  cairn_rtxn *r = NULL;
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  cairn_block_header hd;
  uint8_t hb[CAIRN_BLOCK_HEADER_BYTES_MAX];
  assert_int_equal(cairn_store_read_begin(nd->store, &r), CAIRN_OK);
  assert_int_equal(cairn_store_block(r, h, &b, &blen, &c, &clen), CAIRN_OK);
  size_t hlen = 1 + 1 + (size_t)b[1] + 8 + 8 + 5 * 32 + 4;
  assert_true(hlen <= sizeof hb && hlen <= blen);
  memcpy(hb, b, hlen);
  cairn_store_read_end(r);
  assert_int_equal(cairn_block_header_decode(&hd, hb, hlen), CAIRN_OK);
  return hd.tx_count;
}

static uint32_t commit_round(tnode *nd, uint64_t h) {
  cairn_rtxn *r = NULL;
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  cairn_commit *cm = malloc(sizeof *cm);
  assert_non_null(cm);
  assert_int_equal(cairn_store_read_begin(nd->store, &r), CAIRN_OK);
  assert_int_equal(cairn_store_block(r, h, &b, &blen, &c, &clen), CAIRN_OK);
  assert_int_equal(cairn_commit_decode(cm, c, clen), CAIRN_OK);
  cairn_store_read_end(r);
  uint32_t round = cm->round;
  free(cm);
  return round;
}

static void expect_no_faults(tnet *t) {
  for (int i = 0; i < t->n; i++) {
    assert_int_equal(t->nodes[i].n_evidence, 0);
    assert_int_equal(t->nodes[i].n_rejected, 0);
  }
}

/* ---- network scenarios ---- */

/* Four validators and a follower without a signer commit the same blocks,
 * one per batch of transactions, and stay idle when there is no work. */
static void test_four_commit_same_blocks(void **state) {
  (void)state;
  const int keys[5] = {0, 1, 2, 3, -1};
  tnet *t = net_new(5, keys, false);
  for (uint64_t h = 1; h <= 6; h++) {
    submit(t, 1 + (uint32_t)(h % 3));
    if (h == 3) submit(t, 1 + (uint32_t)(h % 3)); /* two in one block */
    assert_true(run_until(t, all_up_at, h, 60000));
  }
  check_safety(t);
  uint32_t txs = 0;
  for (uint64_t h = 1; h <= 6; h++) {
    uint32_t n = block_txs(&t->nodes[0], h);
    assert_true(n >= 1);
    txs += n;
  }
  assert_int_equal(txs, 7);
  for (int i = 0; i < 5; i++) {
    assert_int_equal(t->nodes[i].tip, 6);
    assert_int_equal(cairn_mempool_count(t->nodes[i].mp), 0);
  }
  assert_int_equal(t->nodes[4].n_sent, 0); /* the follower never signs */
  expect_no_faults(t);
  /* No work, no blocks: 30 s later every node is still at 6, waiting. */
  assert_false(run_until(t, all_up_at, 7, 30000));
  for (int i = 0; i < 5; i++) {
    uint64_t h;
    uint32_t r;
    uint8_t s;
    cairn_cons_position(t->nodes[i].cons, &h, &r, &s);
    assert_int_equal(h, 7);
    assert_int_equal(s, 0);
  }
  net_free(t);
}

/* One of four silent: the others commit every height; at the heights where
 * the silent one proposes, round 0 times out and a later round decides. */
static void test_one_silent(void **state) {
  (void)state;
  tnet *t = net_new(4, NULL, false);
  node_stop(t, 3);
  for (uint64_t h = 1; h <= 6; h++) {
    submit(t, 1 + (uint32_t)(h % 3));
    assert_true(run_until(t, all_up_at, h, 120000));
  }
  check_safety(t);
  bool later_round = false;
  for (uint64_t h = 1; h <= 6; h++)
    if (commit_round(&t->nodes[0], h) > 0) later_round = true;
  assert_true(later_round);
  expect_no_faults(t);
  net_free(t);
}

/* Two of four silent: 50% of the power cannot decide; when one returns
 * (a restart: same store, same signer state) the height is decided, the
 * same block everywhere. */
static void test_two_silent_then_one_returns(void **state) {
  (void)state;
  tnet *t = net_new(4, NULL, false);
  node_stop(t, 2);
  node_stop(t, 3);
  submit(t, 1);
  assert_false(run_until(t, all_up_at, 1, 60000));
  assert_int_equal(t->nodes[0].tip, 0);
  assert_int_equal(t->nodes[1].tip, 0);
  node_restart(t, 2);
  assert_true(run_until(t, all_up_at, 1, 120000));
  check_safety(t);
  /* The fourth returns too, syncs height 1 and takes part in height 2. */
  node_restart(t, 3);
  submit(t, 2);
  assert_true(run_until(t, all_up_at, 2, 120000));
  check_safety(t);
  expect_no_faults(t);
  net_free(t);
}

/* A node down for three heights comes back, fetches them (block sync) and
 * then decides the next heights with the others. */
static void test_lagging_node_catches_up(void **state) {
  (void)state;
  tnet *t = net_new(4, NULL, false);
  node_stop(t, 3);
  for (uint64_t h = 1; h <= 3; h++) {
    submit(t, 1);
    assert_true(run_until(t, all_up_at, h, 120000));
  }
  node_restart(t, 3);
  assert_int_equal(t->nodes[3].tip, 0);
  for (uint64_t h = 4; h <= 5; h++) {
    submit(t, 2);
    assert_true(run_until(t, all_up_at, h, 120000));
  }
  check_safety(t);
  /* With node 1 gone, the rest (0, 2 and the returned 3) still decide:
   * node 3 votes. */
  node_stop(t, 1);
  submit(t, 3);
  assert_true(run_until(t, all_up_at, 6, 120000));
  check_safety(t);
  expect_no_faults(t);
  net_free(t);
}

static void expect_evidence_against(tnet *t, int node, int key) {
  tnode *nd = &t->nodes[node];
  assert_true(nd->n_evidence >= 1);
  for (uint32_t i = 0; i < nd->n_evidence && i < 8; i++) {
    assert_int_equal(cairn_evidence_verify(&nd->evidence[i], CHAIN, CHAIN_LEN,
                                           &t->g->validators),
                     CAIRN_OK);
    assert_memory_equal(nd->evidence[i].a.validator, t->keys[key].pk, 32);
  }
}

/* Twins: nodes 0 and 4 run the same validator key, each with its own
 * signer state, so they sign conflicting proposals and votes. The honest
 * nodes report evidence against that key, and nobody commits two blocks
 * at one height. */
static void test_twins_equivocate(void **state) {
  (void)state;
  const int keys[5] = {0, 1, 2, 3, 0};
  tnet *t = net_new(5, keys, false);
  for (uint64_t h = 1; h <= 5; h++) {
    submit(t, 1 + (uint32_t)(h % 3));
    assert_true(run_until(t, all_up_at, h, 300000));
  }
  check_safety(t);
  uint32_t reports = 0;
  for (int i = 1; i <= 3; i++) {
    reports += t->nodes[i].n_evidence;
    if (t->nodes[i].n_evidence > 0) expect_evidence_against(t, i, 0);
  }
  assert_true(reports >= 1);
  net_free(t);
}

/* A forged second proposal with the proposer's key reaches one node
 * first. That node prevotes it, the other three the real one; the real one
 * is decided in round 0 and the misled node, which kept the real block as
 * the round's conflicting proposal, commits it without block sync. */
static void test_forged_second_proposal(void **state) {
  (void)state;
  tnet *t = net_new(4, NULL, false);
  uint8_t pk[32];
  cairn_chain_proposer(t->nodes[0].chain, 0, pk);
  int p = -1;
  for (int k = 0; k < VALS; k++)
    if (memcmp(t->keys[k].pk, pk, 32) == 0) p = k;
  assert_true(p >= 0);
  int q = (p + 1) % VALS;
  cairn_proposal *y = NULL;
  assert_int_equal(cairn_chain_propose(t->nodes[q].chain, NULL, 0, T0_MS + 5,
                                       pk, NULL, NULL, &y),
                   CAIRN_OK);
  cairn_msg_proposal m;
  memset(&m, 0, sizeof m);
  m.height = 1;
  m.round = 0;
  m.pol_round = CAIRN_POL_ROUND_NONE;
  m.block = y->block;
  m.block_len = y->block_len;
  memcpy(m.proposer, pk, 32);
  uint8_t sh[32];
  cairn_proposal_signhash(sh, CHAIN, CHAIN_LEN, 1, 0, m.pol_round, y->hash);
  assert_int_equal(cairn_ed25519_sign(m.sig, t->keys[p].sk, sh, 32), CAIRN_OK);
  assert_int_equal(cairn_cons_on_proposal(t->nodes[q].cons, &m), CAIRN_OK);
  submit(t, 1);
  assert_true(run_until(t, all_up_at, 1, 120000));
  check_safety(t);
  assert_memory_not_equal(t->nodes[0].committed[1], y->hash, 32);
  assert_int_equal(block_txs(&t->nodes[0], 1), 1);
  assert_int_equal(commit_round(&t->nodes[0], 1), 0);
  assert_int_equal(t->nodes[q].n_want, 0);
  cairn_proposal_free(y);
  net_free(t);
}

/* 30% of all messages lost (seeded; the seed is printed): re-gossip still
 * gets every height decided, the same everywhere. */
static void test_message_loss(void **state) {
  (void)state;
  tnet *t = net_new(4, NULL, false);
  uint64_t seed = test_seed();
  printf("test_message_loss: seed=%llu (CAIRN_TEST_SEED replays it)\n",
         (unsigned long long)seed);
  t->rng = seed | 1u;
  t->drop_pct = 30;
  for (uint64_t h = 1; h <= 4; h++) {
    submit(t, 1 + (uint32_t)(h % 3));
    assert_true(run_until(t, all_up_at, h, 600000));
  }
  check_safety(t);
  expect_no_faults(t);
  net_free(t);
}

/* A partition 2 | 2 decides nothing; healed, the height is decided. */
static void test_partition_heals(void **state) {
  (void)state;
  tnet *t = net_new(4, NULL, false);
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 4; b++) t->cut[a][b] = (a < 2) != (b < 2);
  submit(t, 1);
  assert_false(run_until(t, all_up_at, 1, 60000));
  for (int i = 0; i < 4; i++) assert_int_equal(t->nodes[i].tip, 0);
  memset(t->cut, 0, sizeof t->cut);
  assert_true(run_until(t, all_up_at, 1, 300000));
  check_safety(t);
  expect_no_faults(t);
  net_free(t);
}

/* ---- one engine, driven by hand ---- */

typedef struct solo {
  tnet *t;
  tnode *nd;
  int me;        /* the engine's key: the proposer of round 3 */
  int prop[4];   /* key of the proposer of rounds 0..3 at height 1 */
  int other[3];  /* the keys that are not the engine's */
} solo;

static int key_of(const tnet *t, const uint8_t pk[32]) {
  for (int k = 0; k < VALS; k++)
    if (memcmp(t->keys[k].pk, pk, 32) == 0) return k;
  return -1;
}

static void solo_open(solo *s) {
  const int follower[1] = {-1};
  memset(s, 0, sizeof *s);
  s->t = net_new(1, follower, true);
  s->nd = &s->t->nodes[0];
  for (uint32_t r = 0; r < 4; r++) {
    uint8_t pk[32];
    cairn_chain_proposer(s->nd->chain, r, pk);
    s->prop[r] = key_of(s->t, pk);
    assert_true(s->prop[r] >= 0);
    for (uint32_t q = 0; q < r; q++) assert_int_not_equal(s->prop[q], s->prop[r]);
  }
  s->me = s->prop[3];
  node_close(s->nd);
  s->nd->key = s->me;
  node_open(s->t, 0);
  int n = 0;
  for (int k = 0; k < VALS; k++)
    if (k != s->me) s->other[n++] = k;
}

static void solo_close(solo *s) { net_free(s->t); }

/* An empty block for height tip+1 by key k at time T0 + dt_ms (built on the
 * engine's chain; nothing is written). */
static cairn_proposal *mk_block(solo *s, int k, uint64_t dt_ms) {
  cairn_proposal *p = NULL;
  assert_int_equal(cairn_chain_propose(s->nd->chain, NULL, 0, T0_MS + dt_ms,
                                       s->t->keys[k].pk, NULL, NULL, &p),
                   CAIRN_OK);
  return p;
}

static cairn_msg_proposal mk_prop(solo *s, int k, uint32_t round, uint32_t pol,
                                  const uint8_t *block, size_t len,
                                  const uint8_t hash[32], uint64_t height) {
  cairn_msg_proposal m;
  uint8_t sh[32];
  memset(&m, 0, sizeof m);
  m.height = height;
  m.round = round;
  m.pol_round = pol;
  m.block = block;
  m.block_len = len;
  memcpy(m.proposer, s->t->keys[k].pk, 32);
  cairn_proposal_signhash(sh, CHAIN, CHAIN_LEN, height, round, pol, hash);
  assert_int_equal(cairn_ed25519_sign(m.sig, s->t->keys[k].sk, sh, 32),
                   CAIRN_OK);
  return m;
}

static cairn_msg_proposal prop_of(solo *s, int k, uint32_t round, uint32_t pol,
                                  const cairn_proposal *b) {
  return mk_prop(s, k, round, pol, b->block, b->block_len, b->hash,
                 b->header.height);
}

static cairn_err give_prop(solo *s, cairn_msg_proposal m) {
  return cairn_cons_on_proposal(s->nd->cons, &m);
}

static cairn_vote mk_vote(solo *s, int k, uint8_t type, uint64_t h,
                          uint32_t r, const uint8_t *hash) {
  cairn_vote v;
  memset(&v, 0, sizeof v);
  v.type = type;
  v.height = h;
  v.round = r;
  if (hash != NULL) memcpy(v.block_hash, hash, 32);
  assert_int_equal(cairn_vote_sign(&v, CHAIN, CHAIN_LEN, s->t->keys[k].sk),
                   CAIRN_OK);
  return v;
}

static void give_vote(solo *s, int k, uint8_t type, uint32_t r,
                      const uint8_t *hash) {
  cairn_vote v = mk_vote(s, k, type, 1, r, hash);
  assert_int_equal(cairn_cons_on_vote(s->nd->cons, &v), CAIRN_OK);
}

/* The engine's latest broadcast vote of (type, round): its hash. */
static bool sent_vote(solo *s, uint8_t type, uint32_t round, uint8_t out[32]) {
  for (size_t i = s->t->cap.n_msgs; i-- > 0;) {
    cairn_p2p_msg m;
    assert_int_equal(cairn_p2p_msg_decode(&m, s->t->cap.msgs[i],
                                          s->t->cap.lens[i]),
                     CAIRN_OK);
    if (m.type != CAIRN_MSG_VOTE || m.u.vote.type != type ||
        m.u.vote.round != round)
      continue;
    assert_memory_equal(m.u.vote.validator, s->t->keys[s->me].pk, 32);
    memcpy(out, m.u.vote.block_hash, 32);
    return true;
  }
  return false;
}

static void expect_vote(solo *s, uint8_t type, uint32_t round,
                        const uint8_t *hash) {
  static const uint8_t nil[32];
  uint8_t got[32];
  assert_true(sent_vote(s, type, round, got));
  assert_memory_equal(got, hash != NULL ? hash : nil, 32);
}

static void expect_no_vote(solo *s, uint8_t type, uint32_t round) {
  uint8_t got[32];
  assert_false(sent_vote(s, type, round, got));
}

static bool has_timer(solo *s, uint64_t h, uint32_t r, uint8_t step) {
  for (size_t i = 0; i < s->t->cap.n_timers; i++)
    if (s->t->cap.th[i] == h && s->t->cap.tr[i] == r && s->t->cap.ts[i] == step)
      return true;
  return false;
}

#define expect_position(s, h, r, step) \
  expect_position_at(s, h, r, step, __LINE__)

static void expect_position_at(solo *s, uint64_t h, uint32_t r, uint8_t step,
                               int line) {
  uint64_t ph;
  uint32_t pr;
  uint8_t ps;
  cairn_cons_position(s->nd->cons, &ph, &pr, &ps);
  if (ph != h || pr != r || ps != step)
    fail_msg("line %d: position (%llu, %u, %u), expected (%llu, %u, %u)",
             line, (unsigned long long)ph, (unsigned)pr, (unsigned)ps,
             (unsigned long long)h, (unsigned)r, (unsigned)step);
}

/* Round 0: X from its proposer, prevoted by the engine and two others
 * (a polka), so the engine locks X and precommits it; two nil precommits
 * make 2/3 of any precommits and the precommit timeout moves to round 1. */
static void lock_on_x_then_round_1(solo *s, const cairn_proposal *x) {
  assert_int_equal(give_prop(s, prop_of(s, s->prop[0], 0,
                                        CAIRN_POL_ROUND_NONE, x)),
                   CAIRN_OK);
  expect_vote(s, CAIRN_VOTE_PREVOTE, 0, x->hash);
  give_vote(s, s->other[0], CAIRN_VOTE_PREVOTE, 0, x->hash);
  expect_no_vote(s, CAIRN_VOTE_PRECOMMIT, 0);
  give_vote(s, s->other[1], CAIRN_VOTE_PREVOTE, 0, x->hash);
  expect_vote(s, CAIRN_VOTE_PRECOMMIT, 0, x->hash);
  give_vote(s, s->other[0], CAIRN_VOTE_PRECOMMIT, 0, NULL);
  assert_false(has_timer(s, 1, 0, CAIRN_STEP_PRECOMMIT));
  give_vote(s, s->other[1], CAIRN_VOTE_PRECOMMIT, 0, NULL);
  assert_true(has_timer(s, 1, 0, CAIRN_STEP_PRECOMMIT));
  assert_int_equal(s->nd->tip, 0);
  cairn_cons_on_timeout(s->nd->cons, 1, 0, CAIRN_STEP_PRECOMMIT);
  expect_position(s, 1, 1, CAIRN_STEP_PROPOSE);
  assert_true(has_timer(s, 1, 1, CAIRN_STEP_PROPOSE));
}

/* Locked on X in round 0, the engine prevotes nil for another block Y in
 * round 1 (no proof of lock: lines 22-27). Y re-proposed in round 2 with
 * pol_round 1 waits until round 1 really shows 2/3 prevotes for Y, then
 * the engine prevotes Y (lockedRound 0 <= 1: lines 28-33). */
static void test_locking(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_proposal *x = mk_block(&s, s.prop[0], 100);
  cairn_proposal *y = mk_block(&s, s.prop[1], 200);
  assert_memory_not_equal(x->hash, y->hash, 32);
  lock_on_x_then_round_1(&s, x);

  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[1], 1,
                                         CAIRN_POL_ROUND_NONE, y)),
                   CAIRN_OK);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 1, NULL);

  /* Round 1: two others prevote Y (not a polka with our nil), the
   * prevote timeout precommits nil, then round 2. */
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 1, y->hash);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 1, y->hash);
  assert_true(has_timer(&s, 1, 1, CAIRN_STEP_PREVOTE));
  cairn_cons_on_timeout(s.nd->cons, 1, 1, CAIRN_STEP_PREVOTE);
  expect_vote(&s, CAIRN_VOTE_PRECOMMIT, 1, NULL);
  give_vote(&s, s.other[0], CAIRN_VOTE_PRECOMMIT, 1, NULL);
  give_vote(&s, s.other[1], CAIRN_VOTE_PRECOMMIT, 1, NULL);
  cairn_cons_on_timeout(s.nd->cons, 1, 1, CAIRN_STEP_PRECOMMIT);
  expect_position(&s, 1, 2, CAIRN_STEP_PROPOSE);

  /* Round 2: Y with pol_round 1, whose polka is still incomplete. */
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[2], 2, 1, y)), CAIRN_OK);
  expect_position(&s, 1, 2, CAIRN_STEP_PROPOSE);
  expect_no_vote(&s, CAIRN_VOTE_PREVOTE, 2);
  give_vote(&s, s.other[2], CAIRN_VOTE_PREVOTE, 1, y->hash);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 2, y->hash);
  cairn_proposal_free(x);
  cairn_proposal_free(y);
  solo_close(&s);
}

/* Locked on X, the engine prevotes X when a later proposer re-proposes it
 * with its proof of lock, and the block is decided in that later round: a
 * block built in round 0 (its header names round 0's proposer),
 * precommitted and committed in round 1. The chain accepts a commit whose
 * round's proposer or an earlier round's built the block (chain.h). */
static void test_reproposal_decided(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_proposal *x = mk_block(&s, s.prop[0], 100);
  lock_on_x_then_round_1(&s, x);
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[1], 1, 0, x)), CAIRN_OK);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 1, x->hash);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 1, x->hash);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 1, x->hash);
  expect_vote(&s, CAIRN_VOTE_PRECOMMIT, 1, x->hash);
  give_vote(&s, s.other[0], CAIRN_VOTE_PRECOMMIT, 1, x->hash);
  give_vote(&s, s.other[1], CAIRN_VOTE_PRECOMMIT, 1, x->hash);
  assert_int_equal(s.nd->tip, 1);
  assert_memory_equal(s.nd->committed[1], x->hash, 32);
  assert_int_equal(commit_round(s.nd, 1), 1);
  expect_position(&s, 2, 0, 0);
  cairn_proposal_free(x);
  solo_close(&s);
}

/* The engine as proposer: after a polka on X in round 0 (valid value X,
 * round 0) it skips to round 3, which it proposes, and re-proposes X with
 * pol_round 0; without a valid value it builds a block from its mempool. */
static void expect_sent_proposal(solo *s, uint32_t round, uint32_t pol,
                                 const uint8_t *hash, uint32_t txs) {
  for (size_t i = s->t->cap.n_msgs; i-- > 0;) {
    cairn_p2p_msg m;
    assert_int_equal(cairn_p2p_msg_decode(&m, s->t->cap.msgs[i],
                                          s->t->cap.lens[i]),
                     CAIRN_OK);
    if (m.type != CAIRN_MSG_PROPOSAL || m.u.proposal.round != round) continue;
    cairn_block_header h;
    size_t hlen = 1 + 1 + (size_t)m.u.proposal.block[1] + 8 + 8 + 5 * 32 + 4;
    assert_int_equal(cairn_block_header_decode(&h, m.u.proposal.block, hlen),
                     CAIRN_OK);
    uint8_t bh[32];
    assert_int_equal(cairn_block_hash(bh, &h), CAIRN_OK);
    assert_int_equal(m.u.proposal.pol_round, pol);
    assert_memory_equal(m.u.proposal.proposer, s->t->keys[s->me].pk, 32);
    assert_int_equal(cairn_proposal_verify(&m.u.proposal, CHAIN, CHAIN_LEN, bh),
                     CAIRN_OK);
    if (hash != NULL) assert_memory_equal(bh, hash, 32);
    assert_int_equal(h.tx_count, txs);
    expect_vote(s, CAIRN_VOTE_PREVOTE, round, bh);
    return;
  }
  fail_msg("no proposal for round %u", (unsigned)round);
}

static void test_proposer_paths(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_proposal *x = mk_block(&s, s.prop[0], 100);
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[0], 0,
                                         CAIRN_POL_ROUND_NONE, x)),
                   CAIRN_OK);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 0, x->hash);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 0, x->hash);
  expect_vote(&s, CAIRN_VOTE_PRECOMMIT, 0, x->hash);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 3, NULL);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 3, NULL);
  expect_position(&s, 1, 3, CAIRN_STEP_PREVOTE);
  expect_sent_proposal(&s, 3, 0, x->hash, 0);
  cairn_proposal_free(x);
  solo_close(&s);

  /* Fresh: a transaction in the mempool, round 3 by skipping. */
  solo_open(&s);
  s.t->n = 1;
  submit(s.t, 1);
  give_vote(&s, s.other[0], CAIRN_VOTE_PRECOMMIT, 3, NULL);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 3, NULL);
  expect_position(&s, 1, 3, CAIRN_STEP_PREVOTE);
  expect_sent_proposal(&s, 3, CAIRN_POL_ROUND_NONE, NULL, 1);
  solo_close(&s);
}

/* Line 55: votes from more than 1/3 of the power in a higher round move
 * the engine there; 1/4 does not, and one validator counts once. */
static void test_round_skip(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 5, NULL);
  expect_position(&s, 1, 0, CAIRN_STEP_PROPOSE); /* started, not skipped */
  give_vote(&s, s.other[0], CAIRN_VOTE_PRECOMMIT, 5, NULL);
  expect_position(&s, 1, 0, CAIRN_STEP_PROPOSE);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 5, NULL);
  expect_position(&s, 1, 5, CAIRN_STEP_PROPOSE);
  /* The timeout of round 5 grows: 1000 + 5 * 500 ms. */
  bool found = false;
  for (size_t i = 0; i < s.t->cap.n_timers; i++)
    if (s.t->cap.tr[i] == 5 && s.t->cap.ts[i] == CAIRN_STEP_PROPOSE) {
      assert_int_equal(s.t->cap.tms[i], 3500);
      found = true;
    }
  assert_true(found);
  /* A stale timeout of round 0 does nothing. */
  size_t sent = s.t->cap.n_msgs;
  cairn_cons_on_timeout(s.nd->cons, 1, 0, CAIRN_STEP_PROPOSE);
  assert_int_equal(s.t->cap.n_msgs, sent);
  /* Precommit and prevote of two validators in round 6 (not one the
   * engine proposes: it proposes rounds 3, 7, ...). */
  give_vote(&s, s.other[2], CAIRN_VOTE_PRECOMMIT, 6, NULL);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 6, NULL);
  expect_position(&s, 1, 6, CAIRN_STEP_PROPOSE);
  /* Round 7 is the engine's: skipping there, it proposes and prevotes. */
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 7, NULL);
  give_vote(&s, s.other[2], CAIRN_VOTE_PREVOTE, 7, NULL);
  expect_position(&s, 1, 7, CAIRN_STEP_PREVOTE);
  expect_sent_proposal(&s, 7, CAIRN_POL_ROUND_NONE, NULL, 0);
  solo_close(&s);
}

/* A height that lasts past CAIRN_CONS_ROUNDS_MAX rounds: the window of
 * kept rounds slides with the current one, so skipping keeps working and a
 * block is still decided in round 125. */
static void test_round_window(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, CAIRN_CONS_ROUNDS_MAX, NULL);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, CAIRN_CONS_ROUNDS_MAX, NULL);
  expect_position(&s, 1, 0, 0); /* outside the window: dropped */
  const uint32_t hops[3] = {62, 93, 125};
  for (int i = 0; i < 3; i++) {
    give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, hops[i], NULL);
    give_vote(&s, s.other[1], CAIRN_VOTE_PRECOMMIT, hops[i], NULL);
    expect_position(&s, 1, hops[i], CAIRN_STEP_PROPOSE);
  }
  /* A vote of a round that fell out of the window changes nothing. */
  give_vote(&s, s.other[2], CAIRN_VOTE_PREVOTE, 10, NULL);
  uint8_t pk[32];
  cairn_chain_proposer(s.nd->chain, 125, pk);
  int p = key_of(s.t, pk);
  assert_true(p >= 0 && p != s.me);
  cairn_proposal *b = mk_block(&s, p, 100);
  assert_int_equal(give_prop(&s, prop_of(&s, p, 125, CAIRN_POL_ROUND_NONE, b)),
                   CAIRN_OK);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 125, b->hash);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 125, b->hash);
  give_vote(&s, s.other[2], CAIRN_VOTE_PREVOTE, 125, b->hash);
  expect_vote(&s, CAIRN_VOTE_PRECOMMIT, 125, b->hash);
  give_vote(&s, s.other[0], CAIRN_VOTE_PRECOMMIT, 125, b->hash);
  give_vote(&s, s.other[2], CAIRN_VOTE_PRECOMMIT, 125, b->hash);
  assert_int_equal(s.nd->tip, 1);
  assert_int_equal(commit_round(s.nd, 1), 125);
  cairn_proposal_free(b);
  solo_close(&s);
}

/* Messages for other heights, rounds outside the window and stale timers
 * change nothing. */
static void test_stale_ignored(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_proposal *x = mk_block(&s, s.prop[0], 100);
  cairn_vote v = mk_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 2, 0, x->hash);
  assert_int_equal(cairn_cons_on_vote(s.nd->cons, &v), CAIRN_OK);
  cairn_msg_proposal m = prop_of(&s, s.prop[0], 0, CAIRN_POL_ROUND_NONE, x);
  m.height = 2;
  assert_int_equal(give_prop(&s, m), CAIRN_OK);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 1000, NULL);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 1000, NULL);
  cairn_cons_on_timeout(s.nd->cons, 1, 0, CAIRN_STEP_PROPOSE);
  cairn_cons_on_timeout(s.nd->cons, 1, 0, CAIRN_STEP_PRECOMMIT);
  cairn_cons_on_timeout(s.nd->cons, 1, 0, 0);
  cairn_cons_on_timeout(s.nd->cons, 7, 0, CAIRN_STEP_PRECOMMIT);
  cairn_cons_on_txs(s.nd->cons); /* the mempool is empty */
  expect_position(&s, 1, 0, 0);
  assert_int_equal(s.t->cap.n_msgs, 0);
  assert_int_equal(s.t->cap.n_timers, 0);

  /* Started by the proposal, prevoted; stale timers still do nothing. */
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[0], 0,
                                         CAIRN_POL_ROUND_NONE, x)),
                   CAIRN_OK);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 0, x->hash);
  size_t sent = s.t->cap.n_msgs;
  cairn_cons_on_timeout(s.nd->cons, 1, 0, CAIRN_STEP_PROPOSE);
  cairn_cons_on_timeout(s.nd->cons, 1, 3, CAIRN_STEP_PRECOMMIT);
  cairn_cons_on_timeout(s.nd->cons, 2, 0, CAIRN_STEP_PREVOTE);
  cairn_cons_on_timeout(s.nd->cons, 1, 0, 9);
  assert_int_equal(s.t->cap.n_msgs, sent);
  expect_position(&s, 1, 0, CAIRN_STEP_PREVOTE);
  cairn_proposal_free(x);
  solo_close(&s);
}

/* Nothing about a refused proposal reaches the engine's state. */
static void expect_refused(solo *s, cairn_msg_proposal m, cairn_err want) {
  size_t sent = s->t->cap.n_msgs, timers = s->t->cap.n_timers;
  assert_int_equal(give_prop(s, m), want);
  assert_int_equal(s->t->cap.n_msgs, sent);
  assert_int_equal(s->t->cap.n_timers, timers);
  expect_position(s, 1, 0, 0);
}

static void test_bad_proposals(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_proposal *x = mk_block(&s, s.prop[0], 100);
  cairn_proposal *x1 = mk_block(&s, s.prop[1], 100);
  /* Bad signature, and a signature over another block. */
  cairn_msg_proposal m = prop_of(&s, s.prop[0], 0, CAIRN_POL_ROUND_NONE, x);
  m.sig[5] ^= 1;
  expect_refused(&s, m, CAIRN_ERR_BAD_SIG);
  m = mk_prop(&s, s.prop[0], 0, CAIRN_POL_ROUND_NONE, x->block, x->block_len,
              x1->hash, 1);
  expect_refused(&s, m, CAIRN_ERR_BAD_SIG);
  /* Not the proposer of round 0 (a valid signature of round 1's). */
  expect_refused(&s, prop_of(&s, s.prop[1], 0, CAIRN_POL_ROUND_NONE, x1),
                 CAIRN_ERR_BAD_PROPOSAL);
  /* pol_round not below round. */
  expect_refused(&s, prop_of(&s, s.prop[0], 0, 0, x), CAIRN_ERR_BAD_PROPOSAL);
  /* A fresh block whose header names another proposer. */
  expect_refused(&s, prop_of(&s, s.prop[0], 0, CAIRN_POL_ROUND_NONE, x1),
                 CAIRN_ERR_BAD_PROPOSAL);
  /* A block that is not one. */
  static const uint8_t junk[3] = {1, 10, 0};
  expect_refused(&s, mk_prop(&s, s.prop[0], 0, CAIRN_POL_ROUND_NONE, junk,
                             sizeof junk, x->hash, 1),
                 CAIRN_ERR_BAD_PROPOSAL);
  /* A header whose height is not the message's, correctly signed. */
  uint8_t *bad = malloc(x->block_len);
  assert_non_null(bad);
  memcpy(bad, x->block, x->block_len);
  cairn_be64_write(bad + 2 + bad[1], 2);
  cairn_block_header h;
  size_t hlen = 1 + 1 + (size_t)bad[1] + 8 + 8 + 5 * 32 + 4;
  uint8_t bh[32];
  assert_int_equal(cairn_block_header_decode(&h, bad, hlen), CAIRN_OK);
  assert_int_equal(h.height, 2);
  assert_int_equal(cairn_block_hash(bh, &h), CAIRN_OK);
  expect_refused(&s, mk_prop(&s, s.prop[0], 0, CAIRN_POL_ROUND_NONE, bad,
                             x->block_len, bh, 1),
                 CAIRN_ERR_BAD_PROPOSAL);
  free(bad);
  /* After all that, the real one is taken. */
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[0], 0,
                                         CAIRN_POL_ROUND_NONE, x)),
                   CAIRN_OK);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 0, x->hash);
  cairn_proposal_free(x);
  cairn_proposal_free(x1);
  solo_close(&s);
}

/* A validly signed proposal whose block fails the chain's checks is the
 * protocol's business, not an error: the engine prevotes nil. */
static void test_invalid_block_prevote_nil(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_tx tx;
  tu_key member;
  uint8_t txb[CAIRN_TX_BYTES_MAX];
  tu_member(&member, 1);
  tu_tx_issue(&tx, &s.t->issuer[1], 1, 1, member.pk, 50);
  cairn_slice cand = {txb, tu_tx_bytes(txb, sizeof txb, &tx)};
  cairn_proposal *x = NULL;
  assert_int_equal(cairn_chain_propose(s.nd->chain, &cand, 1, T0_MS + 100,
                                       s.t->keys[s.prop[0]].pk, NULL, NULL,
                                       &x),
                   CAIRN_OK);
  assert_int_equal(x->header.tx_count, 1);
  x->block[x->block_len - 1] ^= 1; /* inside the tx: the header is intact */
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[0], 0,
                                         CAIRN_POL_ROUND_NONE, x)),
                   CAIRN_OK);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 0, NULL);
  /* Even with a polka for it, an invalid block is not precommitted. */
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 0, x->hash);
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 0, x->hash);
  give_vote(&s, s.other[2], CAIRN_VOTE_PREVOTE, 0, x->hash);
  expect_no_vote(&s, CAIRN_VOTE_PRECOMMIT, 0);
  cairn_proposal_free(x);
  solo_close(&s);
}

static void test_vote_errors_and_evidence(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  uint8_t a[32], b[32];
  memset(a, 0xAA, 32);
  memset(b, 0xBB, 32);
  int o = s.other[0];
  cairn_vote v = mk_vote(&s, o, CAIRN_VOTE_PREVOTE, 1, 0, a);
  v.sig[0] ^= 1;
  assert_int_equal(cairn_cons_on_vote(s.nd->cons, &v), CAIRN_ERR_BAD_SIG);
  tu_vkey stranger;
  tu_validator(&stranger, 9);
  memset(&v, 0, sizeof v);
  v.type = CAIRN_VOTE_PREVOTE;
  v.height = 1;
  assert_int_equal(cairn_vote_sign(&v, CHAIN, CHAIN_LEN, stranger.sk),
                   CAIRN_OK);
  assert_int_equal(cairn_cons_on_vote(s.nd->cons, &v),
                   CAIRN_ERR_NOT_VALIDATOR);
  v = mk_vote(&s, o, CAIRN_VOTE_PREVOTE, 1, 0, a);
  v.type = 3;
  assert_int_equal(cairn_cons_on_vote(s.nd->cons, &v), CAIRN_ERR_BAD_TYPE);
  expect_position(&s, 1, 0, 0);
  assert_int_equal(s.nd->n_evidence, 0);

  give_vote(&s, o, CAIRN_VOTE_PREVOTE, 0, a);
  give_vote(&s, o, CAIRN_VOTE_PREVOTE, 0, a); /* repeat: nothing */
  assert_int_equal(s.nd->n_evidence, 0);
  give_vote(&s, o, CAIRN_VOTE_PREVOTE, 0, b);
  assert_int_equal(s.nd->n_evidence, 1);
  give_vote(&s, o, CAIRN_VOTE_PREVOTE, 0, b);    /* once per offence */
  give_vote(&s, o, CAIRN_VOTE_PREVOTE, 0, NULL); /* same round and type */
  assert_int_equal(s.nd->n_evidence, 1);
  give_vote(&s, o, CAIRN_VOTE_PRECOMMIT, 0, a);
  give_vote(&s, o, CAIRN_VOTE_PRECOMMIT, 0, b);
  assert_int_equal(s.nd->n_evidence, 2);
  for (uint32_t i = 0; i < 2; i++) {
    const cairn_evidence *e = &s.nd->evidence[i];
    assert_int_equal(cairn_evidence_verify(e, CHAIN, CHAIN_LEN,
                                           &s.t->g->validators),
                     CAIRN_OK);
    assert_memory_equal(e->a.validator, s.t->keys[o].pk, 32);
    assert_int_equal(e->a.type, i == 0 ? CAIRN_VOTE_PREVOTE
                                       : CAIRN_VOTE_PRECOMMIT);
  }
  /* The first vote counts: the prevote for a stays in the tally. */
  give_vote(&s, s.other[1], CAIRN_VOTE_PREVOTE, 0, a);
  give_vote(&s, s.other[2], CAIRN_VOTE_PREVOTE, 0, a);
  assert_true(has_timer(&s, 1, 0, CAIRN_STEP_PROPOSE));
  solo_close(&s);
}

/* More than 2/3 precommitted a block the engine never saw: it asks block
 * sync for the height (again at every re-gossip); once the block arrives
 * through the chain, on_synced moves the engine on. */
static void test_want_block_then_synced(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_proposal *x = mk_block(&s, s.prop[0], 100);
  cairn_vote pc[3];
  for (int i = 0; i < 3; i++) {
    pc[i] = mk_vote(&s, s.other[i], CAIRN_VOTE_PRECOMMIT, 1, 0, x->hash);
    assert_int_equal(cairn_cons_on_vote(s.nd->cons, &pc[i]), CAIRN_OK);
    assert_int_equal(s.nd->n_want, i < 2 ? 0 : 1);
  }
  assert_int_equal(s.nd->want_height, 1);
  cairn_cons_regossip(s.nd->cons);
  assert_int_equal(s.nd->n_want, 2);
  /* Block sync: the block and its commit reach the chain. */
  cairn_commit *cm = calloc(1, sizeof *cm);
  assert_non_null(cm);
  cm->height = 1;
  cm->round = 0;
  memcpy(cm->block_hash, x->hash, 32);
  for (int i = 0; i < 3; i++)
    assert_int_equal(cairn_commit_add(cm, pc[i].validator, pc[i].sig),
                     CAIRN_OK);
  assert_int_equal(cairn_chain_commit_proposal(s.nd->chain, x, cm), CAIRN_OK);
  free(cm);
  cairn_cons_on_synced(s.nd->cons);
  expect_position(&s, 2, 0, 0);
  /* Re-gossip no longer asks, and votes of height 1 are now ignored. */
  cairn_cons_regossip(s.nd->cons);
  assert_int_equal(s.nd->n_want, 2);
  give_vote(&s, s.other[0], CAIRN_VOTE_PREVOTE, 0, x->hash);
  expect_position(&s, 2, 0, 0);
  cairn_proposal_free(x);
  solo_close(&s);
}

/* Heights start only with work; after a commit the engine pauses
 * commit_ms, then waits for transactions or a peer's message. */
static void test_waits_for_work(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  s.t->n = 1;
  cairn_cons_on_txs(s.nd->cons);
  cairn_cons_regossip(s.nd->cons);
  expect_position(&s, 1, 0, 0);
  assert_int_equal(s.t->cap.n_timers, 0);
  assert_int_equal(s.t->cap.n_msgs, 0);
  submit(s.t, 1);
  expect_position(&s, 1, 0, CAIRN_STEP_PROPOSE);
  assert_true(has_timer(&s, 1, 0, CAIRN_STEP_PROPOSE));

  /* Decide the proposer's block holding that transaction. */
  cairn_slice cand;
  assert_int_equal(cairn_mempool_candidates(s.nd->mp, &cand, 1), 1);
  cairn_proposal *x = NULL;
  assert_int_equal(cairn_chain_propose(s.nd->chain, &cand, 1, T0_MS + 100,
                                       s.t->keys[s.prop[0]].pk, NULL, NULL,
                                       &x),
                   CAIRN_OK);
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[0], 0,
                                         CAIRN_POL_ROUND_NONE, x)),
                   CAIRN_OK);
  for (int i = 0; i < 2; i++)
    give_vote(&s, s.other[i], CAIRN_VOTE_PREVOTE, 0, x->hash);
  for (int i = 0; i < 2; i++)
    give_vote(&s, s.other[i], CAIRN_VOTE_PRECOMMIT, 0, x->hash);
  assert_int_equal(s.nd->tip, 1);
  assert_memory_equal(s.nd->committed[1], x->hash, 32);
  assert_int_equal(cairn_mempool_count(s.nd->mp), 0);
  expect_position(&s, 2, 0, 0);
  assert_true(has_timer(&s, 2, 0, 0));
  assert_int_equal(s.t->cap.tms[s.t->cap.n_timers - 1], 100);

  /* Transactions during the pause wait for its end. */
  submit(s.t, 2);
  expect_position(&s, 2, 0, 0);
  cairn_cons_on_timeout(s.nd->cons, 2, 0, 0);
  expect_position(&s, 2, 0, CAIRN_STEP_PROPOSE);
  assert_true(has_timer(&s, 2, 0, CAIRN_STEP_PROPOSE));
  cairn_proposal_free(x);
  solo_close(&s);
}

/* After a restart the signer refuses what conflicts with its state file:
 * the engine neither sends nor counts a vote its earlier life would
 * contradict. */
static void test_restart_no_double_sign(void **state) {
  (void)state;
  solo s;
  solo_open(&s);
  cairn_proposal *x = mk_block(&s, s.prop[0], 100);
  cairn_proposal *y = mk_block(&s, s.prop[0], 300);
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[0], 0,
                                         CAIRN_POL_ROUND_NONE, x)),
                   CAIRN_OK);
  expect_vote(&s, CAIRN_VOTE_PREVOTE, 0, x->hash);
  node_close(s.nd);
  node_open(s.t, 0);
  size_t sent = s.t->cap.n_msgs;
  /* Its new life sees another proposal first: it must not prevote it. */
  assert_int_equal(give_prop(&s, prop_of(&s, s.prop[0], 0,
                                         CAIRN_POL_ROUND_NONE, y)),
                   CAIRN_OK);
  expect_position(&s, 1, 0, CAIRN_STEP_PREVOTE);
  assert_int_equal(s.t->cap.n_msgs, sent);
  uint64_t h;
  uint32_t r;
  uint8_t st;
  cairn_privval_last(s.nd->pv, &h, &r, &st);
  assert_int_equal(h, 1);
  assert_int_equal(r, 0);
  assert_int_equal(st, CAIRN_STEP_PREVOTE);
  cairn_proposal_free(x);
  cairn_proposal_free(y);
  solo_close(&s);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  /* CAIRN_TEST_FILTER=test_locking runs one test; CAIRN_TEST_LOG=1 (or
   * =debug) shows the engines' log lines. */
  if (getenv("CAIRN_TEST_FILTER") != NULL)
    cmocka_set_test_filter(getenv("CAIRN_TEST_FILTER"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_locking),
      cmocka_unit_test(test_reproposal_decided),
      cmocka_unit_test(test_proposer_paths),
      cmocka_unit_test(test_round_skip),
      cmocka_unit_test(test_round_window),
      cmocka_unit_test(test_stale_ignored),
      cmocka_unit_test(test_bad_proposals),
      cmocka_unit_test(test_invalid_block_prevote_nil),
      cmocka_unit_test(test_vote_errors_and_evidence),
      cmocka_unit_test(test_want_block_then_synced),
      cmocka_unit_test(test_waits_for_work),
      cmocka_unit_test(test_restart_no_double_sign),
      cmocka_unit_test(test_four_commit_same_blocks),
      cmocka_unit_test(test_one_silent),
      cmocka_unit_test(test_two_silent_then_one_returns),
      cmocka_unit_test(test_lagging_node_catches_up),
      cmocka_unit_test(test_twins_equivocate),
      cmocka_unit_test(test_forged_second_proposal),
      cmocka_unit_test(test_message_loss),
      cmocka_unit_test(test_partition_heals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
