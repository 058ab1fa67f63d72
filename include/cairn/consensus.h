/*
 * cairn/consensus.h - the Tendermint consensus engine of one node.
 *
 * The algorithm of Buchman, Kwon and Milosevic, "The latest gossip on BFT
 * consensus" (2018), Algorithm 1, with stake-weighted votes: for each
 * height, rounds of propose / prevote / precommit with the locking
 * (lockedValue, lockedRound) and valid-value (validValue, validRound)
 * rules of the paper, round skipping on more than 1/3 of the power in a
 * higher round, and a block final when more than 2/3 of the power
 * precommits it. specs/consensus.md §5 maps every line of the paper's
 * pseudo-code to what this engine does.
 *
 * The engine is event driven and does no I/O itself, so a test can run
 * several engines against each other deterministically:
 *   - inputs: cairn_cons_on_proposal, cairn_cons_on_vote (from peers),
 *     cairn_cons_on_timeout (a timer it asked for fired),
 *     cairn_cons_on_txs (the mempool has transactions),
 *     cairn_cons_on_synced (block sync moved the chain tip);
 *   - outputs: the io callbacks (broadcast a proposal or vote, schedule a
 *     timeout, report a commit, evidence or a block it lacks).
 * It uses the real chain (cairn_chain_propose / check_proposal /
 * commit_proposal), the real mempool and the real signer (privval.h), which
 * persists every signature before it leaves.
 *
 * Heights start only when there is work: after committing height h-1 the
 * engine waits commit_ms, then starts round 0 of h once the mempool has a
 * transaction or a peer's proposal or vote for h arrives. So an idle
 * chain makes no empty blocks, and a transaction sent to any node reaches
 * a block within about one round.
 *
 * Timeouts grow per round: propose_ms + round * propose_delta_ms, and the
 * same for prevote and precommit.
 *
 * Bounds: vote sets are kept for the current height only, for a window of
 * CAIRN_CONS_ROUNDS_MAX rounds: rounds 0..CAIRN_CONS_ROUNDS_MAX-1 while the
 * round is below CAIRN_CONS_ROUNDS_MAX/2, then the CAIRN_CONS_ROUNDS_MAX/2-1
 * rounds below the current one and those from it upwards (so a height that
 * lasts very many rounds still works in fixed memory). Messages for rounds
 * outside the window or for other heights are dropped: the periodic
 * re-gossip, cairn_cons_regossip, delivers them again once they matter.
 * Per round the engine keeps the first valid proposal, which it votes on,
 * and at most one conflicting one from an equivocating proposer, only so
 * that its block is known if the others decide it.
 *
 * Single-threaded; pointers never NULL unless stated.
 */
#ifndef CAIRN_CONSENSUS_H
#define CAIRN_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/chain.h"
#include "cairn/error.h"
#include "cairn/evidence.h"
#include "cairn/log.h"
#include "cairn/mempool.h"
#include "cairn/p2p_msg.h"
#include "cairn/privval.h"

#define CAIRN_CONS_ROUNDS_MAX 64

typedef struct cairn_cons_timeouts {
  uint32_t propose_ms, propose_delta_ms;
  uint32_t prevote_ms, prevote_delta_ms;
  uint32_t precommit_ms, precommit_delta_ms;
  uint32_t commit_ms; /* pause after a commit before the next height */
} cairn_cons_timeouts;

/* Defaults (config.h may override): 1000+500r, 500+250r, 500+250r, 100. */
void cairn_cons_timeouts_default(cairn_cons_timeouts *t);

/* The engine's outputs. They run in the middle of the engine's state
 * changes, so none may call back into the engine (cairn_cons_*): the node
 * queues such work (block sync fetches asynchronously, timers fire from
 * the event loop). */
typedef struct cairn_cons_io {
  void *ctx;
  /* Send a PROPOSAL or VOTE message to every peer. */
  void (*broadcast)(void *ctx, const cairn_p2p_msg *m);
  /* Call cairn_cons_on_timeout(height, round, step) after ms. */
  void (*schedule)(void *ctx, uint64_t height, uint32_t round, uint8_t step,
                   uint32_t ms);
  /* Wall-clock milliseconds (block times). */
  uint64_t (*now_ms)(void *ctx);
  /* Height h was committed (the chain tip is h; the mempool has already
   * been told). May be NULL. */
  void (*committed)(void *ctx, uint64_t height);
  /* A validator signed two conflicting votes; e is valid evidence. May be
   * NULL. */
  void (*evidence)(void *ctx, const cairn_evidence *e);
  /* More than 2/3 precommitted block_hash at the current height but the
   * engine never saw that block: block sync should fetch height. May be
   * NULL. */
  void (*want_block)(void *ctx, uint64_t height);
  /* A decided block could not be stored for a reason retrying will not
   * cure (STORE, MAP_FULL, IO, CORRUPT, NOMEM): the node should stop
   * rather than vote on without its state. May be NULL. */
  void (*fatal)(void *ctx, cairn_err err);
} cairn_cons_io;

typedef struct cairn_cons_opts {
  cairn_chain *chain;
  cairn_mempool *mempool;
  cairn_privval *privval; /* NULL: follow and count votes but never sign */
  const cairn_log *log;   /* may be NULL */
  cairn_cons_timeouts timeouts;
  cairn_cons_io io;
} cairn_cons_opts;

typedef struct cairn_cons cairn_cons;

/* Create the engine at height tip + 1, waiting for work: it sends and
 * schedules nothing until an input arrives, so a node whose mempool
 * already holds transactions calls cairn_cons_on_txs after opening it.
 * Errors: NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_cons_open(cairn_cons **out,
                                           const cairn_cons_opts *o);
void cairn_cons_close(cairn_cons *e);

/* A proposal from a peer. Errors (the message is ignored; the caller may
 * punish the peer for BAD_PROPOSAL / BAD_SIG), in the order checked:
 * BAD_PROPOSAL (not from the proposer of its height and round; pol_round
 * not below round; a block whose header does not decode), BAD_SIG,
 * BAD_PROPOSAL (the header's height is not the message's; the header's
 * proposer is not the message's for a fresh block, pol_round none, nor the
 * proposer of a round at most CAIRN_CONS_ROUNDS_MAX-1 below pol_round for
 * a re-proposed one). OK also for messages about
 * other heights or rounds, which are ignored, and for a valid proposal
 * whose block is invalid (the engine prevotes nil; that is the protocol,
 * not a peer fault). */
CAIRN_MUST_CHECK cairn_err cairn_cons_on_proposal(cairn_cons *e,
                                                  const cairn_msg_proposal *p);
/* A vote from a peer. Errors: BAD_SIG, NOT_VALIDATOR, BAD_TYPE (not a
 * prevote or precommit) (the peer sent garbage); EQUIVOCATION is reported
 * through io.evidence and returns OK (the relaying peer is not at fault).
 * OK also for votes about other heights or rounds outside the window,
 * which are ignored. Tallies count each validator's first vote per (round,
 * type) and, for one that equivocates, also its first conflicting vote, for
 * that vote's value (the paper counts every vote received; this way nodes
 * that got a Twins pair's votes in different orders still agree). */
CAIRN_MUST_CHECK cairn_err cairn_cons_on_vote(cairn_cons *e,
                                              const cairn_vote *v);
/* A timer asked for by io.schedule fired; stale ones are ignored. */
void cairn_cons_on_timeout(cairn_cons *e, uint64_t height, uint32_t round,
                           uint8_t step);
/* The mempool has (new) transactions: start the height if waiting. */
void cairn_cons_on_txs(cairn_cons *e);
/* Block sync committed blocks (and told the mempool about them): drop
 * everything about the old height and move to the new tip + 1, starting
 * round 0 at once if the mempool holds transactions. Nothing happens if
 * the tip did not move. */
void cairn_cons_on_synced(cairn_cons *e);
/* Rebroadcast this height's proposal (of the current round) and every
 * vote held for this height, and the precommits that committed the
 * previous height (so peers a step behind can finish). The node calls it
 * every second or so; it is what makes the engine tolerate lost messages. */
void cairn_cons_regossip(cairn_cons *e);

/* Where the engine is (for STATUS messages and the API). step 0: waiting
 * for work at this height. */
void cairn_cons_position(const cairn_cons *e, uint64_t *height,
                         uint32_t *round, uint8_t *step);

#endif
