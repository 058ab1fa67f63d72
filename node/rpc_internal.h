/*
 * node/rpc_internal.h - what the API's two source files share (private).
 *
 * rpc.c holds the server, the dispatcher, the reply helpers and the
 * transaction endpoints; rpc_query.c holds the read-only endpoints (status,
 * genesis, brands, blocks, accounts, coupons).
 */
#ifndef CAIRN_NODE_RPC_INTERNAL_H
#define CAIRN_NODE_RPC_INTERNAL_H

#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "cairn/rpc.h"

struct cairn_rpc {
  struct event_base *base;
  struct evhttp *http;
  cairn_chain *chain;
  cairn_mempool *mempool;
  const cairn_log *log;
  uint8_t validator_pk[CAIRN_ED25519_PUBKEY_BYTES];
  cairn_rpc_tx_fn on_tx;
  void *on_tx_ctx;
};

/* An endpoint: param is the path segment matched by "*" (or NULL). Each
 * handler sends exactly one reply. */
typedef void (*cairn_rpc_handler)(cairn_rpc *r, struct evhttp_request *req,
                                  const char *param);

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

#endif
