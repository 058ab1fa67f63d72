/*
 * cairn/rpc.h - the node's HTTP API (specs/api.md is the contract).
 *
 * An evhttp server on the node's event loop. Every request, known path or
 * not, goes through one dispatcher, so that every answer - including 404
 * for an unknown path, 405 for a wrong method and 413 for an oversized body
 * - is a JSON object with Content-Type application/json, and every failure
 * carries {"error": {"code", "number", "message"}} with the stable names and
 * numbers of error.h.
 *
 * The API reads the store through short read transactions and the mempool
 * directly; it writes nothing but new transactions into the mempool. Like
 * the rest of the node it runs on one thread.
 */
#ifndef CAIRN_RPC_H
#define CAIRN_RPC_H

#include <stdint.h>

#include "cairn/chain.h"
#include "cairn/error.h"
#include "cairn/evpool.h"
#include "cairn/log.h"
#include "cairn/mempool.h"
#include "cairn/net.h"
#include "cairn/sig.h"

struct event_base;

#define CAIRN_RPC_VERSION "cairnd 0.1.0"

typedef struct cairn_rpc cairn_rpc;

/* Called after a transaction was admitted to the mempool. */
typedef void (*cairn_rpc_tx_fn)(void *ctx);

typedef struct cairn_rpc_opts {
  struct event_base *base;
  const char *host; /* listen address, e.g. "127.0.0.1" */
  uint16_t port;    /* 1..65535 */
  cairn_chain *chain;
  cairn_mempool *mempool;
  const cairn_log *log;          /* may be NULL */
  const uint8_t *validator_pk;   /* [CAIRN_ED25519_PUBKEY_BYTES], copied */
  cairn_rpc_tx_fn on_tx;         /* may be NULL */
  void *on_tx_ctx;
  /* The node's evidence pool, shared with the consensus engine (which
   * adds what it catches) so that GET /v1/evidence lists it. NULL: the API
   * keeps a pool of its own, holding only POSTed evidence. */
  cairn_evpool *evpool;
  /* The node's network, for the "consensus" part of GET /v1/status; NULL:
   * that part is left out. */
  const cairn_net *net;
} cairn_rpc_opts;

/* Start serving on host:port. chain, mempool, evpool, log and base must
 * outlive the server. Errors: NOMEM, NETWORK (cannot bind: why says so and suggests a
 * fix). */
CAIRN_MUST_CHECK cairn_err cairn_rpc_open(cairn_rpc **out,
                                          const cairn_rpc_opts *o, char *why,
                                          size_t why_cap);
/* Stop serving and free (r may be NULL). Open connections are closed. */
void cairn_rpc_close(cairn_rpc *r);

/* The HTTP status for an error code (specs/api.md, "Errors"): 400 for
 * malformed input, 404 not found, 409 duplicate or replay, 422 rule
 * violations, 503 mempool full, 500 for everything else. */
int cairn_rpc_http_status(cairn_err err);

#endif
