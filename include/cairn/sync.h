/*
 * cairn/sync.h - block sync: fetching and fully verifying blocks a node
 * missed, from peers that trust nothing about each other.
 *
 * Peers announce their committed height in STATUS messages (p2p_msg.h).
 * When a peer claims more than this node has, sync asks one peer at a time
 * for the next block (GET_BLOCK tip+1) and applies the answer with
 * cairn_chain_apply_block, which checks everything: link, validator set,
 * proposer, state hash, every transaction and the commit's signatures and
 * stake. Nothing a peer claims is believed until a block proves it:
 *   - a BLOCK nobody asked for, for another height or from another peer,
 *     is a protocol violation (the peer is punished);
 *   - a block that fails verification (bad commit, wrong hash, oversize is
 *     already refused by the codec) punishes the peer;
 *   - NO_BLOCK for a height the peer claimed to have is a lie (punished);
 *   - no answer within CAIRN_SYNC_REQUEST_MS drops that peer's claim, so
 *     sync goes on with the others.
 * After each applied block the node is told (io.applied) so the mempool
 * and the consensus engine move to the new tip.
 *
 * To avoid racing consensus for the block it is about to commit itself, a
 * claim only one block ahead is acted on once it is CAIRN_SYNC_LAG_MS old,
 * or at once when the engine asks (cairn_sync_want).
 *
 * Serving: GET_BLOCK is answered from the store with BLOCK or NO_BLOCK.
 *
 * Single-threaded; bounded: one outstanding request, one entry per peer
 * (CAIRN_P2P_PEERS_MAX).
 */
#ifndef CAIRN_SYNC_H
#define CAIRN_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/chain.h"
#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/p2p.h"
#include "cairn/p2p_msg.h"

#define CAIRN_SYNC_REQUEST_MS 5000u
#define CAIRN_SYNC_LAG_MS 1500u

typedef struct cairn_sync_io {
  void *ctx;
  CAIRN_MUST_CHECK cairn_err (*send)(void *ctx, cairn_peer_id peer,
                                     const cairn_p2p_msg *m);
  void (*punish)(void *ctx, cairn_peer_id peer, cairn_err err,
                 const char *why);
  /* Block `height` was applied; txids are its transactions' ids. */
  void (*applied)(void *ctx, uint64_t height,
                  const uint8_t (*txids)[CAIRN_HASH_BYTES], size_t n);
  /* A block could not be checked or stored for a reason of this node's
   * own (STORE, MAP_FULL, CORRUPT, IO, INTERNAL, NOMEM): the node should
   * stop; the peer is not blamed. */
  void (*fatal)(void *ctx, cairn_err err);
} cairn_sync_io;

typedef struct cairn_sync cairn_sync;

/* Errors: NOMEM. chain and log (may be NULL) must outlive the sync. */
CAIRN_MUST_CHECK cairn_err cairn_sync_open(cairn_sync **out,
                                           cairn_chain *chain,
                                           const cairn_log *log,
                                           const cairn_sync_io *io);
void cairn_sync_close(cairn_sync *s);

/* Message handlers (now_ms: monotonic clock). */
void cairn_sync_on_status(cairn_sync *s, cairn_peer_id peer,
                          const cairn_msg_status *st, uint64_t now_ms);
void cairn_sync_on_block(cairn_sync *s, cairn_peer_id peer,
                         const cairn_msg_block *b, uint64_t now_ms);
void cairn_sync_on_no_block(cairn_sync *s, cairn_peer_id peer,
                            uint64_t height, uint64_t now_ms);
void cairn_sync_on_get_block(cairn_sync *s, cairn_peer_id peer,
                             uint64_t height);
void cairn_sync_on_peer_down(cairn_sync *s, cairn_peer_id peer);

/* Consensus saw a commit for height it cannot apply: fetch it now. */
void cairn_sync_want(cairn_sync *s, uint64_t height, uint64_t now_ms);
/* Expire a late request and start the next one; call every few hundred
 * milliseconds. */
void cairn_sync_tick(cairn_sync *s, uint64_t now_ms);

/* The highest height any connected peer claims (0 when none). */
uint64_t cairn_sync_best_claim(const cairn_sync *s);
/* True while this node is more than one block behind the best claim. */
bool cairn_sync_catching_up(const cairn_sync *s);

#endif
