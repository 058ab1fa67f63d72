/*
 * node/sync.c - block sync: catching up from peers without trusting them.
 *
 * A node that was stopped, partitioned or freshly started from an empty
 * data directory is behind the chain. Consensus cannot help it: votes for
 * the current height say nothing about the blocks before. So besides
 * consensus every node runs this small request loop. Peers' STATUS
 * messages say how high each claims to be; when some claim is above our
 * tip, we ask one of the peers making it for the next block, apply the
 * answer with the chain's full verification (the block must link to our
 * tip, and its commit must carry precommits of more than 2/3 of the stake
 * of the validator set our own state says is in force), and go on with the
 * next height. One request is outstanding at a time, which keeps the code
 * and the memory trivially bounded; a block is at most a few MiB and its
 * verification, not the round trip, dominates on a LAN.
 *
 * Why a peer can never make us accept a wrong block: everything a block
 * carries is checked against state we derived ourselves, and the only
 * thing we take on a peer's word is "I have height N", which merely makes
 * us ask. The ways a peer can waste our time each cost it its link: an
 * unsolicited or out-of-order BLOCK, a block that fails verification, or a
 * NO_BLOCK for a height it claimed. A peer that just does not answer loses
 * its claim after CAIRN_SYNC_REQUEST_MS and the next peer is asked.
 *
 * The one subtlety is the block consensus is deciding right now: a peer
 * one block ahead may simply have counted the precommits a moment before
 * us. Fetching that block would race our own commit (harmlessly: the
 * second commit fails the height check, but work is wasted), so such a
 * claim waits CAIRN_SYNC_LAG_MS unless consensus itself asks for the block
 * (it has seen the commit but never received the proposal).
 */
#include "cairn/sync.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/block.h"
#include "cairn/store.h"
#include "cairn/tx.h"

typedef struct sync_peer {
  bool used;
  cairn_peer_id id;
  uint64_t claim;      /* height it says it has */
  uint64_t claim_since; /* when the claim first exceeded our tip (mono ms) */
} sync_peer;

struct cairn_sync {
  cairn_chain *chain;
  const cairn_log *log;
  cairn_sync_io io;
  sync_peer peers[CAIRN_P2P_PEERS_MAX];
  size_t next_pick; /* round-robin start for choosing a peer */
  bool pending;     /* a GET_BLOCK is outstanding */
  cairn_peer_id pending_peer;
  uint64_t pending_height;
  uint64_t pending_deadline;
  uint64_t wanted; /* a height consensus asked for, or 0 */
};

cairn_err cairn_sync_open(cairn_sync **out, cairn_chain *chain,
                          const cairn_log *log, const cairn_sync_io *io) {
  assert(out != NULL && chain != NULL && io != NULL);
  assert(io->send != NULL && io->punish != NULL && io->applied != NULL &&
         io->fatal != NULL);
  *out = NULL;
  cairn_sync *s = calloc(1, sizeof *s);
  if (s == NULL) return CAIRN_ERR_NOMEM;
  s->chain = chain;
  s->log = log;
  s->io = *io;
  *out = s;
  return CAIRN_OK;
}

void cairn_sync_close(cairn_sync *s) { free(s); }

static uint64_t sync_tip(const cairn_sync *s) {
  cairn_tip tip;
  cairn_chain_tip(s->chain, &tip);
  return tip.height;
}

static sync_peer *sync_find(cairn_sync *s, cairn_peer_id id, bool create) {
  sync_peer *free_slot = NULL;
  for (size_t i = 0; i < CAIRN_P2P_PEERS_MAX; i++) {
    if (s->peers[i].used && s->peers[i].id == id) return &s->peers[i];
    if (!s->peers[i].used && free_slot == NULL) free_slot = &s->peers[i];
  }
  if (!create || free_slot == NULL) return NULL;
  memset(free_slot, 0, sizeof *free_slot);
  free_slot->used = true;
  free_slot->id = id;
  return free_slot;
}

uint64_t cairn_sync_best_claim(const cairn_sync *s) {
  uint64_t best = 0;
  for (size_t i = 0; i < CAIRN_P2P_PEERS_MAX; i++)
    if (s->peers[i].used && s->peers[i].claim > best) best = s->peers[i].claim;
  return best;
}

bool cairn_sync_catching_up(const cairn_sync *s) {
  return cairn_sync_best_claim(s) > sync_tip(s) + 1;
}

static void sync_punish(cairn_sync *s, cairn_peer_id peer, cairn_err err,
                        const char *why) {
  if (s->pending && s->pending_peer == peer) s->pending = false;
  sync_peer *p = sync_find(s, peer, false);
  if (p != NULL) p->used = false;
  s->io.punish(s->io.ctx, peer, err, why);
}

/* May a claim of this peer be acted on now? */
static bool sync_claim_ripe(const cairn_sync *s, const sync_peer *p,
                            uint64_t tip, uint64_t now_ms) {
  if (!p->used || p->claim <= tip) return false;
  if (p->claim >= tip + 2) return true;
  if (s->wanted == tip + 1) return true;
  return now_ms - p->claim_since >= CAIRN_SYNC_LAG_MS;
}

/* Ask the next peer (round robin) whose claim is ripe for tip + 1. */
static void sync_request(cairn_sync *s, uint64_t now_ms) {
  if (s->pending) return;
  uint64_t tip = sync_tip(s);
  if (s->wanted != 0 && s->wanted <= tip) s->wanted = 0;
  size_t start = s->next_pick;
  for (size_t k = 0; k < CAIRN_P2P_PEERS_MAX; k++) {
    size_t i = (start + k) % CAIRN_P2P_PEERS_MAX;
    sync_peer *p = &s->peers[i];
    if (!sync_claim_ripe(s, p, tip, now_ms)) continue;
    cairn_p2p_msg m = {.type = CAIRN_MSG_GET_BLOCK};
    m.u.height = tip + 1;
    s->next_pick = i + 1;
    if (s->io.send(s->io.ctx, p->id, &m) != CAIRN_OK) continue;
    s->pending = true;
    s->pending_peer = p->id;
    s->pending_height = tip + 1;
    s->pending_deadline = now_ms + CAIRN_SYNC_REQUEST_MS;
    return;
  }
}

void cairn_sync_on_status(cairn_sync *s, cairn_peer_id peer,
                          const cairn_msg_status *st, uint64_t now_ms) {
  sync_peer *p = sync_find(s, peer, true);
  if (p == NULL) return; /* more peers than slots: p2p bounds this */
  uint64_t tip = sync_tip(s);
  if (st->height > tip && p->claim <= tip) p->claim_since = now_ms;
  p->claim = st->height;
  sync_request(s, now_ms);
}

void cairn_sync_on_peer_down(cairn_sync *s, cairn_peer_id peer) {
  sync_peer *p = sync_find(s, peer, false);
  if (p != NULL) p->used = false;
  if (s->pending && s->pending_peer == peer) s->pending = false;
}

void cairn_sync_want(cairn_sync *s, uint64_t height, uint64_t now_ms) {
  if (height <= sync_tip(s)) return;
  s->wanted = height;
  sync_request(s, now_ms);
}

void cairn_sync_tick(cairn_sync *s, uint64_t now_ms) {
  if (s->pending && now_ms >= s->pending_deadline) {
    sync_peer *p = sync_find(s, s->pending_peer, false);
    cairn_log_warn(s->log, "sync: no answer for block %llu within %u ms; "
                   "asking another peer",
                   (unsigned long long)s->pending_height,
                   CAIRN_SYNC_REQUEST_MS);
    if (p != NULL) p->claim = 0; /* believed again at its next STATUS */
    s->pending = false;
  }
  sync_request(s, now_ms);
}

/* Tell the node about an applied block: its height and transaction ids. */
static void sync_report_applied(cairn_sync *s, const cairn_msg_block *b) {
  static const size_t cap = CAIRN_BLOCK_TXS_MAX;
  cairn_block_header h;
  cairn_slice *txs = malloc(cap * sizeof *txs);
  uint8_t(*ids)[CAIRN_HASH_BYTES] = malloc(cap * sizeof *ids);
  size_t n = 0;
  if (txs != NULL && ids != NULL &&
      cairn_block_decode(&h, txs, cap, b->block, b->block_len) == CAIRN_OK) {
    n = h.tx_count;
    for (size_t i = 0; i < n; i++)
      cairn_tx_id_bytes(ids[i], txs[i].p, txs[i].len);
  }
  /* Without ids (out of memory) the mempool still re-executes everything
   * on the new tip and drops what the block already contained. */
  s->io.applied(s->io.ctx, b->height, (const uint8_t(*)[32])ids, n);
  free(txs);
  free(ids);
}

void cairn_sync_on_block(cairn_sync *s, cairn_peer_id peer,
                         const cairn_msg_block *b, uint64_t now_ms) {
  char why[512];
  if (!s->pending || s->pending_peer != peer || b->height != s->pending_height) {
    snprintf(why, sizeof why, "sent block %llu that was not asked for",
             (unsigned long long)b->height);
    sync_punish(s, peer, CAIRN_ERR_PEER_PROTOCOL, why);
    return;
  }
  s->pending = false;
  if (b->height <= sync_tip(s)) { /* consensus committed it meanwhile */
    sync_request(s, now_ms);
    return;
  }
  why[0] = '\0';
  cairn_err err = cairn_chain_apply_block(s->chain, b->block, b->block_len,
                                          b->commit, b->commit_len, why,
                                          sizeof why);
  if (err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_STORE ||
      err == CAIRN_ERR_MAP_FULL || err == CAIRN_ERR_CORRUPT ||
      err == CAIRN_ERR_IO || err == CAIRN_ERR_INTERNAL) {
    cairn_log_error(s->log, "sync: cannot store block %llu: %s: %s",
                    (unsigned long long)b->height, cairn_errname(err), why);
    s->io.fatal(s->io.ctx, err);
    return;
  }
  if (err != CAIRN_OK) {
    char msg[640];
    snprintf(msg, sizeof msg, "sent a block that fails verification: %s: %s",
             cairn_errname(err), why);
    sync_punish(s, peer, CAIRN_ERR_PEER_PROTOCOL, msg);
    return;
  }
  cairn_log_info(s->log, "sync: applied block %llu from a peer",
                 (unsigned long long)b->height);
  sync_report_applied(s, b);
  sync_request(s, now_ms);
}

void cairn_sync_on_no_block(cairn_sync *s, cairn_peer_id peer,
                            uint64_t height, uint64_t now_ms) {
  sync_peer *p = sync_find(s, peer, false);
  bool asked = s->pending && s->pending_peer == peer &&
               height == s->pending_height;
  if (!asked) {
    sync_punish(s, peer, CAIRN_ERR_PEER_PROTOCOL,
                "sent NO_BLOCK for a height that was not asked for");
    return;
  }
  s->pending = false;
  if (p != NULL && p->claim >= height) {
    char why[160];
    snprintf(why, sizeof why, "claimed height %llu but has no block %llu",
             (unsigned long long)p->claim, (unsigned long long)height);
    sync_punish(s, peer, CAIRN_ERR_PEER_PROTOCOL, why);
  }
  sync_request(s, now_ms);
}

void cairn_sync_on_get_block(cairn_sync *s, cairn_peer_id peer,
                             uint64_t height) {
  cairn_rtxn *r = NULL;
  cairn_p2p_msg m = {.type = CAIRN_MSG_NO_BLOCK};
  m.u.height = height;
  const uint8_t *block = NULL, *commit = NULL;
  size_t block_len = 0, commit_len = 0;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(s->chain), &r);
  if (err == CAIRN_OK)
    err = cairn_store_block(r, height, &block, &block_len, &commit,
                            &commit_len);
  if (err == CAIRN_OK) {
    m.type = CAIRN_MSG_BLOCK;
    m.u.block = (cairn_msg_block){.height = height, .block = block,
                                  .block_len = block_len, .commit = commit,
                                  .commit_len = commit_len};
  }
  /* A full send queue drops the peer inside p2p; nothing to add here. */
  err = s->io.send(s->io.ctx, peer, &m);
  if (err != CAIRN_OK && err != CAIRN_ERR_NOT_FOUND)
    cairn_log_warn(s->log, "sync: could not send block %llu: %s",
                   (unsigned long long)height, cairn_errname(err));
  if (r != NULL) cairn_store_read_end(r);
}
