/*
 * node/net.c - wiring peer links, consensus, block sync and gossip.
 *
 * Each of the parts it connects is written to know nothing of the others:
 * the consensus engine asks for "broadcast this" and "wake me in 800 ms",
 * block sync asks for "send this to that peer", the peer layer hands over
 * decoded messages. This file is the switchboard between them and the
 * event loop, and the one place that decides how a peer's misbehaviour is
 * treated (see net.h).
 *
 * Engine timeouts become one-shot libevent timers. Each carries the
 * (height, round, step) it was asked for; the engine ignores stale ones,
 * so a timer is never cancelled, only freed when it fires or at close. A
 * round asks for at most three, and rounds last at least the shortest
 * timeout, so the list of live timers stays short.
 *
 * The validator set can change at any height (staking.h). After every
 * commit the set of node keys allowed to connect is refreshed to the
 * configured peers plus the validators now in force, so a newly admitted
 * validator can connect, and a node the coalition removed cannot come back
 * unless an operator lists it as a peer.
 */
#include "cairn/net.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "clock.h"
#include "cairn/p2p.h"
#include "cairn/state.h"
#include "cairn/store.h"
#include "cairn/sync.h"
#include "cairn/tx.h"

typedef struct net_timer {
  struct net_timer *next;
  struct cairn_net *net;
  struct event *ev;
  uint64_t height;
  uint32_t round;
  uint8_t step;
} net_timer;

struct cairn_net {
  struct event_base *base;
  const cairn_config *cfg;
  cairn_chain *chain;
  cairn_mempool *mempool;
  const cairn_log *log;
  cairn_net_opts opts;
  cairn_p2p *p2p; /* NULL: no peers and no peer port */
  cairn_cons *cons;
  cairn_sync *sync;
  net_timer *timers;
  struct event *status_ev, *regossip_ev, *tick_ev;
  bool failed;
};

/* ---- small helpers ---- */

/* Send to one peer. A peer whose queue is full is dropped by the peer
 * layer, and one that just went away needs nothing more, so the result
 * only matters to the peer layer. */
static void net_send_to(cairn_net *n, cairn_peer_id to, const cairn_p2p_msg *m) {
  cairn_err err = cairn_p2p_send(n->p2p, to, m);
  (void)err;
}

static void net_fatal(cairn_net *n, cairn_err err) {
  if (n->failed) return;
  n->failed = true;
  if (n->opts.on_fatal != NULL) n->opts.on_fatal(n->opts.ctx, err);
}

static void net_send_status(cairn_net *n, cairn_peer_id to) {
  if (n->p2p == NULL) return;
  cairn_tip tip;
  cairn_chain_tip(n->chain, &tip);
  cairn_p2p_msg m = {.type = CAIRN_MSG_STATUS};
  m.u.status.height = tip.height;
  memcpy(m.u.status.tip_hash, tip.hash, CAIRN_HASH_BYTES);
  uint8_t step = 0;
  cairn_cons_position(n->cons, &m.u.status.cons_height,
                      &m.u.status.cons_round, &step);
  if (to == CAIRN_P2P_NO_PEER) {
    cairn_p2p_broadcast(n->p2p, &m, CAIRN_P2P_NO_PEER);
  } else {
    net_send_to(n, to, &m);
  }
}

/* Inbound links are allowed from the configured peers (always) and from
 * the validators in force. */
static void net_refresh_allowed(cairn_net *n) {
  if (n->p2p == NULL) return;
  const cairn_valset *vs = cairn_chain_valset(n->chain);
  uint8_t keys[CAIRN_VALIDATORS_MAX][32];
  for (uint32_t i = 0; i < vs->n; i++)
    memcpy(keys[i], vs->v[i].pubkey, 32);
  cairn_p2p_allow(n->p2p, (const uint8_t(*)[32])keys, vs->n);
}

/* After any commit (consensus or sync). */
static void net_after_commit(cairn_net *n, uint64_t height) {
  net_refresh_allowed(n);
  net_send_status(n, CAIRN_P2P_NO_PEER);
  if (n->opts.on_block != NULL) n->opts.on_block(n->opts.ctx, height);
}

/* ---- consensus io ---- */

static void net_io_broadcast(void *ctx, const cairn_p2p_msg *m) {
  cairn_net *n = ctx;
  if (n->p2p != NULL) cairn_p2p_broadcast(n->p2p, m, CAIRN_P2P_NO_PEER);
}

static void net_timer_fired(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  net_timer *t = arg;
  cairn_net *n = t->net;
  net_timer **pp = &n->timers;
  while (*pp != t) pp = &(*pp)->next;
  *pp = t->next;
  uint64_t h = t->height;
  uint32_t r = t->round;
  uint8_t step = t->step;
  event_free(t->ev);
  free(t);
  cairn_cons_on_timeout(n->cons, h, r, step);
}

static void net_io_schedule(void *ctx, uint64_t height, uint32_t round,
                            uint8_t step, uint32_t ms) {
  cairn_net *n = ctx;
  net_timer *t = calloc(1, sizeof *t);
  if (t != NULL) t->ev = evtimer_new(n->base, net_timer_fired, t);
  if (t == NULL || t->ev == NULL) {
    free(t);
    cairn_log_error(n->log, "out of memory scheduling a consensus timeout");
    net_fatal(n, CAIRN_ERR_NOMEM);
    return;
  }
  t->net = n;
  t->height = height;
  t->round = round;
  t->step = step;
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  evtimer_add(t->ev, &tv);
  t->next = n->timers;
  n->timers = t;
}

static uint64_t net_io_now(void *ctx) {
  (void)ctx;
  return cairn_clock_wall_ms();
}

static void net_io_committed(void *ctx, uint64_t height) {
  net_after_commit(ctx, height);
}

static void net_io_evidence(void *ctx, const cairn_evidence *e) {
  cairn_net *n = ctx;
  if (n->opts.on_evidence != NULL) n->opts.on_evidence(n->opts.ctx, e);
}

static void net_io_fatal(void *ctx, cairn_err err) { net_fatal(ctx, err); }

static void net_io_want_block(void *ctx, uint64_t height) {
  cairn_net *n = ctx;
  cairn_sync_want(n->sync, height, cairn_clock_mono_ms());
}

/* ---- sync io ---- */

static cairn_err net_sync_send(void *ctx, cairn_peer_id peer,
                               const cairn_p2p_msg *m) {
  cairn_net *n = ctx;
  if (n->p2p == NULL) return CAIRN_ERR_NOT_FOUND;
  return cairn_p2p_send(n->p2p, peer, m);
}

static void net_punish(void *ctx, cairn_peer_id peer, cairn_err err,
                       const char *why) {
  cairn_net *n = ctx;
  if (n->p2p != NULL) cairn_p2p_punish(n->p2p, peer, err, why);
}

static void net_sync_applied(void *ctx, uint64_t height,
                             const uint8_t (*txids)[CAIRN_HASH_BYTES],
                             size_t count) {
  cairn_net *n = ctx;
  cairn_err err = cairn_mempool_after_block(n->mempool, txids, count,
                                            cairn_clock_wall_ms());
  if (err != CAIRN_OK)
    cairn_log_warn(n->log, "mempool after block %llu: %s",
                   (unsigned long long)height, cairn_strerror(err));
  cairn_cons_on_synced(n->cons);
  net_after_commit(n, height);
}

/* ---- transactions ---- */

/* Gossip the pending transaction at index to every peer but `except`. */
static void net_gossip_tx_at(cairn_net *n, size_t index, cairn_peer_id to,
                             bool broadcast, cairn_peer_id except) {
  uint8_t txid[CAIRN_HASH_BYTES];
  const uint8_t *tx = NULL;
  size_t len = 0;
  cairn_mempool_txid_at(n->mempool, index, txid);
  if (cairn_mempool_find(n->mempool, txid, &tx, &len) != CAIRN_OK) return;
  cairn_p2p_msg m = {.type = CAIRN_MSG_TX};
  m.u.tx.p = tx;
  m.u.tx.len = len;
  if (broadcast) {
    cairn_p2p_broadcast(n->p2p, &m, except);
  } else {
    net_send_to(n, to, &m);
  }
}

void cairn_net_on_local_tx(cairn_net *n) {
  size_t count = cairn_mempool_count(n->mempool);
  if (n->p2p != NULL && count > 0)
    net_gossip_tx_at(n, count - 1, CAIRN_P2P_NO_PEER, true, CAIRN_P2P_NO_PEER);
  cairn_cons_on_txs(n->cons);
}

static bool net_is_decode_error(cairn_err err) {
  return err == CAIRN_ERR_TRUNCATED || err == CAIRN_ERR_TRAILING ||
         err == CAIRN_ERR_NONCANONICAL || err == CAIRN_ERR_RANGE ||
         err == CAIRN_ERR_OVERSIZE || err == CAIRN_ERR_VERSION ||
         err == CAIRN_ERR_BAD_TYPE || err == CAIRN_ERR_ZERO_AMOUNT ||
         err == CAIRN_ERR_BAD_SIG || err == CAIRN_ERR_BAD_KEY;
}

static void net_on_tx(cairn_net *n, cairn_peer_id from, const uint8_t *tx,
                      size_t len) {
  uint8_t txid[CAIRN_HASH_BYTES];
  const uint8_t *have = NULL;
  size_t have_len = 0;
  /* Gossip brings most transactions more than once: a copy already
   * pending is expected, not a rejection worth a log line. */
  cairn_tx_id_bytes(txid, tx, len);
  if (cairn_mempool_find(n->mempool, txid, &have, &have_len) == CAIRN_OK)
    return;
  size_t before = cairn_mempool_count(n->mempool);
  cairn_err err = cairn_mempool_add(n->mempool, tx, len, cairn_clock_wall_ms(),
                                    txid, NULL, 0);
  if (err == CAIRN_OK) {
    net_gossip_tx_at(n, before, CAIRN_P2P_NO_PEER, true, from);
    cairn_cons_on_txs(n->cons);
  } else if (net_is_decode_error(err)) {
    char why[128];
    snprintf(why, sizeof why, "gossiped a transaction that is not valid: %s",
             cairn_errname(err));
    cairn_p2p_punish(n->p2p, from, CAIRN_ERR_PEER_PROTOCOL, why);
  }
}

/* ---- peer messages ---- */

static void net_on_consensus_err(cairn_net *n, cairn_peer_id from,
                                 cairn_err err, const char *what) {
  if (err == CAIRN_OK) return;
  if (err == CAIRN_ERR_BAD_SIG || err == CAIRN_ERR_BAD_PROPOSAL) {
    char why[128];
    snprintf(why, sizeof why, "sent a %s that fails its checks: %s", what,
             cairn_errname(err));
    cairn_p2p_punish(n->p2p, from, CAIRN_ERR_PEER_PROTOCOL, why);
  }
}

static void net_on_message(void *ctx, cairn_peer_id from,
                           const cairn_p2p_msg *m) {
  cairn_net *n = ctx;
  uint64_t now = cairn_clock_mono_ms();
  switch (m->type) {
  case CAIRN_MSG_STATUS:
    cairn_sync_on_status(n->sync, from, &m->u.status, now);
    break;
  case CAIRN_MSG_TX:
    net_on_tx(n, from, m->u.tx.p, m->u.tx.len);
    break;
  case CAIRN_MSG_PROPOSAL:
    net_on_consensus_err(n, from, cairn_cons_on_proposal(n->cons,
                                                         &m->u.proposal),
                         "proposal");
    break;
  case CAIRN_MSG_VOTE:
    net_on_consensus_err(n, from, cairn_cons_on_vote(n->cons, &m->u.vote),
                         "vote");
    break;
  case CAIRN_MSG_GET_BLOCK:
    cairn_sync_on_get_block(n->sync, from, m->u.height);
    break;
  case CAIRN_MSG_BLOCK:
    cairn_sync_on_block(n->sync, from, &m->u.block, now);
    break;
  case CAIRN_MSG_NO_BLOCK:
    cairn_sync_on_no_block(n->sync, from, m->u.height, now);
    break;
  default:
    cairn_p2p_punish(n->p2p, from, CAIRN_ERR_PEER_PROTOCOL,
                     "sent a message of unknown type");
  }
}

static void net_on_peer(void *ctx, cairn_peer_id peer, bool up) {
  cairn_net *n = ctx;
  if (!up) {
    cairn_sync_on_peer_down(n->sync, peer);
    return;
  }
  net_send_status(n, peer);
  size_t count = cairn_mempool_count(n->mempool);
  if (count > CAIRN_NET_TX_HANDOFF_MAX) count = CAIRN_NET_TX_HANDOFF_MAX;
  for (size_t i = 0; i < count; i++)
    net_gossip_tx_at(n, i, peer, false, CAIRN_P2P_NO_PEER);
}

/* ---- periodic timers ---- */

static void net_on_status_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  net_send_status(arg, CAIRN_P2P_NO_PEER);
}

static void net_on_regossip_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  cairn_net *n = arg;
  cairn_cons_regossip(n->cons);
}

static void net_on_tick_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  cairn_net *n = arg;
  cairn_sync_tick(n->sync, cairn_clock_mono_ms());
}

static struct event *net_every(cairn_net *n, uint32_t ms,
                               event_callback_fn fn) {
  struct event *ev = event_new(n->base, -1, EV_PERSIST, fn, n);
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  if (ev != NULL && event_add(ev, &tv) != 0) {
    event_free(ev);
    ev = NULL;
  }
  return ev;
}

/* ---- open / close ---- */

static void net_timeouts(const cairn_config *cfg, cairn_cons_timeouts *t) {
  cairn_cons_timeouts_default(t);
  const cairn_config_timeouts *c = &cfg->timeouts;
  if (c->propose_ms != 0) t->propose_ms = c->propose_ms;
  if (c->propose_delta_ms != 0) t->propose_delta_ms = c->propose_delta_ms;
  if (c->prevote_ms != 0) t->prevote_ms = c->prevote_ms;
  if (c->prevote_delta_ms != 0) t->prevote_delta_ms = c->prevote_delta_ms;
  if (c->precommit_ms != 0) t->precommit_ms = c->precommit_ms;
  if (c->precommit_delta_ms != 0)
    t->precommit_delta_ms = c->precommit_delta_ms;
  t->commit_ms = cfg->block_interval_ms;
}

static cairn_err net_open_p2p(cairn_net *n, const cairn_net_opts *o,
                              char *why, size_t why_cap) {
  const cairn_config *cfg = o->cfg;
  if (cfg->n_peers == 0 && cfg->p2p_listen_port == 0) return CAIRN_OK;
  cairn_p2p_peer_conf *peers = calloc(cfg->n_peers + 1, sizeof *peers);
  if (peers == NULL) return CAIRN_ERR_NOMEM;
  for (size_t i = 0; i < cfg->n_peers; i++) {
    snprintf(peers[i].host, sizeof peers[i].host, "%s", cfg->peers[i].host);
    peers[i].port = cfg->peers[i].port;
    memcpy(peers[i].key, cfg->peers[i].key, 32);
  }
  cairn_p2p_opts po = {
      .base = n->base, .log = n->log, .node_sk = o->node_sk,
      .listen_host = cfg->p2p_listen_port != 0 ? cfg->p2p_listen_host : NULL,
      .listen_port = cfg->p2p_listen_port, .peers = peers,
      .n_peers = cfg->n_peers,
      .handlers = {.ctx = n, .on_message = net_on_message,
                   .on_peer = net_on_peer}};
  memcpy(po.genesis_hash, cairn_chain_genesis_hash(n->chain), CAIRN_HASH_BYTES);
  cairn_err err = cairn_p2p_open(&n->p2p, &po);
  free(peers);
  if (err != CAIRN_OK)
    snprintf(why, why_cap, "cannot open the peer port %s:%u: %s; is another "
             "node using it? change \"p2p_listen\" in the configuration",
             cfg->p2p_listen_host, (unsigned)cfg->p2p_listen_port,
             cairn_strerror(err));
  return err;
}

cairn_err cairn_net_open(cairn_net **out, const cairn_net_opts *o, char *why,
                         size_t why_cap) {
  assert(out != NULL && o != NULL && o->base != NULL && o->cfg != NULL);
  *out = NULL;
  cairn_net *n = calloc(1, sizeof *n);
  if (n == NULL) return CAIRN_ERR_NOMEM;
  n->base = o->base;
  n->cfg = o->cfg;
  n->chain = o->chain;
  n->mempool = o->mempool;
  n->log = o->log;
  n->opts = *o;
  cairn_cons_opts co = {
      .chain = o->chain, .mempool = o->mempool, .privval = o->privval,
      .log = o->log,
      .io = {.ctx = n, .broadcast = net_io_broadcast,
             .schedule = net_io_schedule, .now_ms = net_io_now,
             .committed = net_io_committed, .evidence = net_io_evidence,
             .want_block = net_io_want_block, .fatal = net_io_fatal}};
  net_timeouts(o->cfg, &co.timeouts);
  cairn_sync_io so = {.ctx = n, .send = net_sync_send, .punish = net_punish,
                      .applied = net_sync_applied, .fatal = net_io_fatal};
  cairn_err err = cairn_cons_open(&n->cons, &co);
  if (err == CAIRN_OK) err = cairn_sync_open(&n->sync, o->chain, o->log, &so);
  if (err == CAIRN_OK) err = net_open_p2p(n, o, why, why_cap);
  if (err == CAIRN_OK) {
    net_refresh_allowed(n);
    n->status_ev = net_every(n, CAIRN_NET_STATUS_MS, net_on_status_timer);
    n->regossip_ev = net_every(n, CAIRN_NET_REGOSSIP_MS, net_on_regossip_timer);
    n->tick_ev = net_every(n, CAIRN_NET_SYNC_TICK_MS, net_on_tick_timer);
    if (n->status_ev == NULL || n->regossip_ev == NULL || n->tick_ev == NULL)
      err = CAIRN_ERR_NOMEM;
  }
  if (err != CAIRN_OK) {
    cairn_net_close(n);
    return err;
  }
  /* Transactions left from before a restart do not exist (the mempool is
   * in memory), but a peer may already be ahead: let the engine look. */
  if (cairn_mempool_count(n->mempool) > 0) cairn_cons_on_txs(n->cons);
  *out = n;
  return CAIRN_OK;
}

void cairn_net_close(cairn_net *n) {
  if (n == NULL) return;
  if (n->status_ev != NULL) event_free(n->status_ev);
  if (n->regossip_ev != NULL) event_free(n->regossip_ev);
  if (n->tick_ev != NULL) event_free(n->tick_ev);
  cairn_p2p_close(n->p2p);
  while (n->timers != NULL) {
    net_timer *t = n->timers;
    n->timers = t->next;
    event_free(t->ev);
    free(t);
  }
  cairn_sync_close(n->sync);
  cairn_cons_close(n->cons);
  free(n);
}

void cairn_net_get_info(const cairn_net *n, cairn_net_info *out) {
  memset(out, 0, sizeof *out);
  cairn_cons_position(n->cons, &out->cons_height, &out->cons_round,
                      &out->cons_step);
  out->peers = n->p2p != NULL ? cairn_p2p_count(n->p2p) : 0;
  out->best_peer_height = cairn_sync_best_claim(n->sync);
}
