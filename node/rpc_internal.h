/*
 * node/rpc_internal.h - what the API's source files share (private).
 *
 * rpc.c holds the server, the dispatcher, the reply helpers and the
 * transaction endpoints; rpc_query.c holds the read-only endpoints (status,
 * genesis, brands, blocks, accounts, coupons); rpc_stake.c the staking
 * endpoints (validators, stake, admissions, evidence); rpc_limit.c bounds
 * the number of open connections. The router and the submission-body parser
 * are declared here too, as pure functions, for tests/fuzz/.
 */
#ifndef CAIRN_NODE_RPC_INTERNAL_H
#define CAIRN_NODE_RPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "cairn/rpc.h"

typedef struct cairn_rpc_limit cairn_rpc_limit;

struct cairn_rpc {
  struct event_base *base;
  struct evhttp *http;
  cairn_rpc_limit *limit; /* the connection cap (rpc_limit.c) */
  cairn_chain *chain;
  cairn_mempool *mempool;
  const cairn_log *log;
  uint8_t validator_pk[CAIRN_ED25519_PUBKEY_BYTES];
  cairn_rpc_tx_fn on_tx;
  void *on_tx_ctx;
  cairn_evpool *evpool; /* the node's, or own_evpool */
  cairn_evpool *own_evpool; /* created when the opts gave none; freed */
  const cairn_net *net;     /* may be NULL */
};

/* Count the connections of http, which listens on bound, and stop
 * accepting while CAIRN_HTTP_CONNECTIONS_MAX (or fewer, to fit
 * RLIMIT_NOFILE) are open. Errors: NOMEM. Close after evhttp_free. */
CAIRN_MUST_CHECK cairn_err cairn_rpc_limit_open(
    cairn_rpc_limit **out, struct event_base *base, struct evhttp *http,
    struct evhttp_bound_socket *bound, const cairn_log *log);
void cairn_rpc_limit_close(cairn_rpc_limit *l);

/* An endpoint: param is the path segment matched by "*" (or NULL). Each
 * handler sends exactly one reply. */
typedef void (*cairn_rpc_handler)(cairn_rpc *r, struct evhttp_request *req,
                                  const char *param);

/* Longest path routed (with its NUL), and most segments
 * ("/v1/accounts/{a}/coupons"). */
#define CAIRN_RPC_PATH_BYTES_MAX 256
#define CAIRN_RPC_SEGMENTS_MAX 5

/* Where a request goes. */
typedef struct cairn_rpc_found {
  cairn_rpc_handler handler; /* NULL: no route for this method */
  const char *param;         /* the segment matched by "*", inside the path */
  const char *allow;         /* handler NULL: the method a route for this
                                path takes (answer 405), or NULL (404) */
} cairn_rpc_found;

/* Route path for method. path is a NUL-terminated copy of the request path
 * that this call splits in place (param points into it); a path of
 * CAIRN_RPC_PATH_BYTES_MAX bytes or more, or not of the form /a/b/...,
 * matches nothing. Pure: no I/O, so the fuzz targets call it directly. */
void cairn_rpc_route_find(char *path, enum evhttp_cmd_type method,
                          cairn_rpc_found *out);

/* Parse the body of POST /v1/txs: a JSON object whose string member "tx"
 * holds the hex of the transaction bytes (other members are ignored).
 * On success tx[0..*tx_len) holds the bytes (not yet decoded). Errors: JSON
 * (not JSON, not an object, no string "tx", an embedded NUL), HEX (bad
 * digit or odd length), OVERSIZE (more than cap bytes); why (why_cap >= 1)
 * holds a sentence for the client. Pure, like cairn_rpc_route_find. */
CAIRN_MUST_CHECK cairn_err cairn_rpc_parse_submit(const char *body,
                                                  size_t body_len, uint8_t *tx,
                                                  size_t cap, size_t *tx_len,
                                                  char *why, size_t why_cap);

/* Send body (a reference this call takes over; NULL means allocation
 * failed, answered with 500) with the given status. */
void cairn_rpc_reply(cairn_rpc *r, struct evhttp_request *req, int status,
                     json_t *body);

/* Send the error body for err; status 0 means cairn_rpc_http_status(err).
 * The message is the printf-formatted text, or cairn_strerror(err) when fmt
 * is NULL. 5xx answers are also logged. */
void cairn_rpc_fail(cairn_rpc *r, struct evhttp_request *req, int status,
                    cairn_err err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Parse 64 hex characters into a 32-byte id; on failure answer 400 and
 * return false. what names the thing ("transaction id"). */
bool cairn_rpc_parse_id(cairn_rpc *r, struct evhttp_request *req,
                        const char *param, const char *what, uint8_t out[32]);

void cairn_rpc_status(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_genesis(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_brands(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_block_latest(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_block_by_height(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_block_by_hash(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_account(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_account_coupons(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_coupon(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_brand_stats(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_hold(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_agreements(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_settlements(cairn_rpc *r, struct evhttp_request *req, const char *param);

/* rpc_stake.c */
void cairn_rpc_validators(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_validators_at(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_stake(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_admission(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_evidence_list(cairn_rpc *r, struct evhttp_request *req, const char *param);
void cairn_rpc_evidence_submit(cairn_rpc *r, struct evhttp_request *req, const char *param);

#endif
