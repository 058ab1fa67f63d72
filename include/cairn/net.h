/*
 * cairn/net.h - a validator node's moving parts, wired together: the peer
 * links (p2p.h), the consensus engine (consensus.h), block sync (sync.h),
 * transaction gossip, and the timers they all need, on one libevent loop.
 *
 * What it does with each peer message:
 *   STATUS            -> block sync (the peer's claimed height)
 *   TX                -> mempool; when admitted, gossiped on to the other
 *                        peers and the engine told there is work
 *   PROPOSAL, VOTE    -> consensus engine
 *   GET_BLOCK, BLOCK, NO_BLOCK -> block sync
 * A message that does not decode, a badly signed vote or proposal, or a
 * proposal from the wrong proposer costs the sending peer its link
 * (cairn_p2p_punish); a transaction that merely breaks a rule does not
 * (two honest nodes can disagree for a moment about a sequence number).
 *
 * Timers: STATUS to every peer each CAIRN_NET_STATUS_MS; the engine's
 * re-gossip each CAIRN_NET_REGOSSIP_MS; a sync tick each
 * CAIRN_NET_SYNC_TICK_MS; and the engine's round timeouts. A newly
 * connected peer gets our STATUS and up to CAIRN_NET_TX_HANDOFF_MAX of our
 * pending transactions at once.
 *
 * With no peers configured and no peer port the same code runs a lone
 * validator: the engine's messages go nowhere and its own votes decide.
 */
#ifndef CAIRN_NET_H
#define CAIRN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/chain.h"
#include "cairn/config.h"
#include "cairn/consensus.h"
#include "cairn/error.h"
#include "cairn/evidence.h"
#include "cairn/log.h"
#include "cairn/mempool.h"
#include "cairn/privval.h"

struct event_base;

#define CAIRN_NET_STATUS_MS 1000u
#define CAIRN_NET_REGOSSIP_MS 1000u
#define CAIRN_NET_SYNC_TICK_MS 250u
#define CAIRN_NET_TX_HANDOFF_MAX 5000u

typedef struct cairn_net cairn_net;

/* Called when the node cannot go on (the store failed): stop. */
typedef void (*cairn_net_fatal_fn)(void *ctx, cairn_err err);
/* Called with every piece of duplicate-vote evidence the engine finds. */
typedef void (*cairn_net_evidence_fn)(void *ctx, const cairn_evidence *e);
/* Called after every committed block (by consensus or sync). */
typedef void (*cairn_net_block_fn)(void *ctx, uint64_t height);

typedef struct cairn_net_opts {
  struct event_base *base;
  const cairn_config *cfg; /* peers, p2p_listen, timeouts, interval */
  cairn_chain *chain;
  cairn_mempool *mempool;
  cairn_privval *privval; /* may be NULL: follow without signing */
  const uint8_t *node_sk; /* [CAIRN_ED25519_SECKEY_BYTES], copied */
  const cairn_log *log;
  cairn_net_fatal_fn on_fatal;
  cairn_net_evidence_fn on_evidence; /* may be NULL */
  cairn_net_block_fn on_block;       /* may be NULL */
  void *ctx;
} cairn_net_opts;

/* Open the peer port (if configured), dial the peers, start the engine and
 * the timers. Errors: NOMEM, NETWORK (peer port; why says which address),
 * and the engine's. */
CAIRN_MUST_CHECK cairn_err cairn_net_open(cairn_net **out,
                                          const cairn_net_opts *o, char *why,
                                          size_t why_cap);
void cairn_net_close(cairn_net *n);

/* A transaction entered the mempool through the API: gossip it and wake
 * the engine. */
void cairn_net_on_local_tx(cairn_net *n);

/* For the API: where consensus is, peers connected, best peer height. */
typedef struct cairn_net_info {
  uint64_t cons_height;
  uint32_t cons_round;
  uint8_t cons_step;
  size_t peers;
  uint64_t best_peer_height;
} cairn_net_info;
void cairn_net_get_info(const cairn_net *n, cairn_net_info *out);

#endif
