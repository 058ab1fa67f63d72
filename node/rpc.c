/*
 * node/rpc.c - the HTTP server: dispatch, replies, and the transaction
 * endpoints (POST /v1/txs, GET /v1/txs/{txid}).
 *
 * evhttp is used with one generic callback rather than per-path callbacks,
 * because evhttp answers unknown paths and refused methods itself with an
 * HTML page, and the API promises JSON everywhere. The dispatcher splits the
 * path into segments and walks a small route table; a path that matches a
 * route under another method is a 405 (with an Allow header), one that
 * matches nothing a 404.
 *
 * Request bodies are bounded twice. evhttp stops reading at
 * CAIRN_HTTP_READ_BYTES_MAX, four times CAIRN_HTTP_BODY_BYTES_MAX (it
 * answers those with its own 413 after draining the body - lingering close
 * - so the client still reads the status), which bounds memory per
 * connection; below that the dispatcher checks the real limit and answers
 * 413 in JSON. Headers are bounded too, idle connections time out, and
 * rpc_limit.c caps how many connections are open at once, so a slow or
 * hostile client holds little and many of them hold a bounded amount.
 *
 * The two parsers of client input - the router and the submission body -
 * are pure functions (rpc_internal.h) so that tests/fuzz/ reaches them
 * without a socket.
 *
 * Submission is the only write here (POST /v1/evidence, in rpc_stake.c,
 * adds to the evidence pool): the hex is decoded into a stack buffer of
 * CAIRN_TX_BYTES_MAX and handed to the mempool, which checks everything
 * against tip + pending; its error, with the detail sentence, becomes the
 * error body. A transaction lookup tries, in order, the committed index,
 * the pending pool and the ring of recent rejections.
 */
#include "rpc_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>

#include "cairn/encoding.h"
#include "cairn/json.h"
#include "cairn/limits.h"
#include "cairn/store.h"
#include "cairn/tx.h"
#include "clock.h"


int cairn_rpc_http_status(cairn_err err) {
  switch (err) {
    case CAIRN_OK: return 200;
    case CAIRN_ERR_ARG: case CAIRN_ERR_TRUNCATED: case CAIRN_ERR_TRAILING:
    case CAIRN_ERR_NONCANONICAL: case CAIRN_ERR_RANGE:
    case CAIRN_ERR_OVERSIZE: case CAIRN_ERR_VERSION: case CAIRN_ERR_BAD_TYPE:
    case CAIRN_ERR_HEX: case CAIRN_ERR_ADDRESS: case CAIRN_ERR_CHECKSUM:
    case CAIRN_ERR_ZERO_AMOUNT: case CAIRN_ERR_JSON: case CAIRN_ERR_USAGE:
      return 400;
    case CAIRN_ERR_NOT_FOUND: return 404;
    case CAIRN_ERR_DUPLICATE_TX: case CAIRN_ERR_SEQ_REPLAY: return 409;
    case CAIRN_ERR_BAD_SIG: case CAIRN_ERR_BAD_KEY: case CAIRN_ERR_CHAIN_ID:
    case CAIRN_ERR_SEQ_GAP: case CAIRN_ERR_TX_EXPIRED:
    case CAIRN_ERR_INSUFFICIENT: case CAIRN_ERR_UNKNOWN_BRAND:
    case CAIRN_ERR_NOT_ISSUER: case CAIRN_ERR_NOT_TRANSFERABLE:
    case CAIRN_ERR_OVERFLOW: case CAIRN_ERR_SELF_TRANSFER:
    case CAIRN_ERR_COUPON_UNKNOWN: case CAIRN_ERR_COUPON_REDEEMED:
    case CAIRN_ERR_COUPON_EXPIRED: case CAIRN_ERR_COUPON_NOT_OWNER:
    case CAIRN_ERR_COUPON_WRONG_BRAND: case CAIRN_ERR_COUPON_EXISTS:
    case CAIRN_ERR_COUPON_NOT_TRANSFERABLE:
      return 422;
    case CAIRN_ERR_MEMPOOL_FULL: return 503;
    case CAIRN_ERR_DUPLICATE_REF: return 409;
    /* Every other transaction rule (100-149) is the client's to fix. */
    default: return (err >= 100 && err < 150) ? 422 : 500;
  }
}

static const char *cairn_rpc_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

/* ---- replies ---- */

static void cairn_rpc_send(struct evhttp_request *req, int status,
                           const char *text, size_t len) {
  struct evbuffer *out = evbuffer_new();
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                    "application/json");
  if (out == NULL || evbuffer_add(out, text, len) != 0 ||
      evbuffer_add(out, "\n", 1) != 0) {
    if (out != NULL) evbuffer_free(out);
    evhttp_send_error(req, 500, "Internal Server Error");
    return;
  }
  evhttp_send_reply(req, status, cairn_rpc_reason(status), out);
  evbuffer_free(out);
}

void cairn_rpc_reply(cairn_rpc *r, struct evhttp_request *req, int status,
                     json_t *body) {
  static const char oom[] =
      "{\"error\":{\"code\":\"out_of_memory\",\"number\":1,"
      "\"message\":\"out of memory\"}}";
  char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (text == NULL) {
    cairn_log_error(r->log, "api: out of memory building a response");
    cairn_rpc_send(req, 500, oom, sizeof oom - 1);
    return;
  }
  cairn_rpc_send(req, status, text, strlen(text));
  free(text);
}

void cairn_rpc_fail(cairn_rpc *r, struct evhttp_request *req, int status,
                    cairn_err err, const char *fmt, ...) {
  assert(err != CAIRN_OK);
  char msg[512];
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  } else {
    snprintf(msg, sizeof msg, "%s", cairn_strerror(err));
  }
  /* Messages are ours, but may quote client bytes: keep them ASCII. */
  for (char *c = msg; *c != '\0'; c++) {
    if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) *c = '?';
  }
  if (status == 0) status = cairn_rpc_http_status(err);
  if (status >= 500) {
    cairn_log_error(r->log, "api: %s %s: code=%s msg=%s",
                    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST"
                                                                       : "GET",
                    evhttp_request_get_uri(req), cairn_errname(err), msg);
  }
  json_t *e = json_pack("{s:{s:s, s:i, s:s%}}", "error", "code",
                        cairn_errname(err), "number", (int)err, "message", msg,
                        strlen(msg));
  cairn_rpc_reply(r, req, status, e);
}

bool cairn_rpc_parse_id(cairn_rpc *r, struct evhttp_request *req,
                        const char *param, const char *what, uint8_t out[32]) {
  if (cairn_hex_decode_exact(out, 32, param) != CAIRN_OK) {
    cairn_rpc_fail(r, req, 400, CAIRN_ERR_HEX,
                   "a %s is 64 hexadecimal characters", what);
    return false;
  }
  return true;
}

/* ---- transactions ---- */

cairn_err cairn_rpc_parse_submit(const char *body, size_t body_len,
                                 uint8_t *tx, size_t cap, size_t *tx_len,
                                 char *why, size_t why_cap) {
  assert((body != NULL || body_len == 0) && tx != NULL && tx_len != NULL);
  assert(why != NULL && why_cap > 0);
  *tx_len = 0;
  why[0] = '\0';
  json_error_t jerr;
  json_t *root = body_len > 0 ? json_loadb(body, body_len,
                                           JSON_REJECT_DUPLICATES, &jerr)
                              : NULL;
  if (root == NULL) {
    snprintf(why, why_cap, "request body is not valid JSON%s%s",
             body_len > 0 ? ": " : " (it is empty)",
             body_len > 0 ? jerr.text : "");
    return CAIRN_ERR_JSON;
  }
  cairn_err err = CAIRN_OK;
  const json_t *v = json_object_get(root, "tx");
  const char *hex = json_string_value(v);
  if (!json_is_object(root)) {
    snprintf(why, why_cap, "request body must be a JSON object");
    err = CAIRN_ERR_JSON;
  } else if (hex == NULL || strlen(hex) != json_string_length(v)) {
    snprintf(why, why_cap, "request body must be {\"tx\": \"<hex of the "
                           "canonical transaction bytes>\"}");
    err = CAIRN_ERR_JSON;
  } else {
    err = cairn_hex_decode(tx, cap, tx_len, hex);
    if (err != CAIRN_OK) {
      snprintf(why, why_cap, "field \"tx\": %s", cairn_strerror(err));
      if (err == CAIRN_ERR_OVERSIZE) {
        size_t n = strlen(why);
        snprintf(why + n, why_cap - n, " (at most %lu bytes)",
                 (unsigned long)cap);
      }
    }
  }
  json_decref(root);
  return err;
}

static void cairn_rpc_submit(cairn_rpc *r, struct evhttp_request *req,
                             const char *param) {
  (void)param;
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t body_len = evbuffer_get_length(in);
  const char *body = body_len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
  if (body == NULL) {
    cairn_rpc_fail(r, req, 500, CAIRN_ERR_NOMEM, NULL);
    return;
  }
  uint8_t tx[CAIRN_TX_BYTES_MAX];
  size_t len = 0;
  char why[512];
  cairn_err err = cairn_rpc_parse_submit(body, body_len, tx, sizeof tx, &len,
                                         why, sizeof why);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 400, err, "%s", why);
    return;
  }
  uint8_t txid[CAIRN_HASH_BYTES];
  char detail[CAIRN_MEMPOOL_DETAIL_BYTES];
  err = cairn_mempool_add(r->mempool, tx, len, cairn_clock_wall_ms(), txid,
                          detail, sizeof detail);
  if (err != CAIRN_OK) {
    cairn_rpc_fail(r, req, 0, err, "%s%s%s", cairn_strerror(err),
                   detail[0] != '\0' ? ": " : "", detail);
    return;
  }
  if (r->on_tx != NULL) r->on_tx(r->on_tx_ctx);
  cairn_rpc_reply(r, req, 202, json_pack("{s:o, s:s}", "txid",
                                         cairn_json_hex(txid, 32), "status",
                                         "pending"));
}

/* {"txid", "status", "tx": {...}, "raw"} for decodable bytes; NULL on
 * allocation failure or undecodable bytes (stored bytes were checked). */
static json_t *cairn_rpc_tx_json(const uint8_t *txid, const char *status,
                                 const uint8_t *bytes, size_t len) {
  cairn_tx tx;
  if (cairn_tx_decode(&tx, bytes, len) != CAIRN_OK) return NULL;
  return json_pack("{s:o, s:s, s:o, s:o}", "txid", cairn_json_hex(txid, 32),
                   "status", status, "tx", cairn_json_tx(&tx, NULL), "raw",
                   cairn_json_hex(bytes, len));
}

/* The committed transaction txid at (height, position); CORRUPT if the
 * indexes disagree with the block. */
static cairn_err cairn_rpc_committed_tx(cairn_rtxn *rt, const uint8_t *txid,
                                        uint64_t height, uint32_t position,
                                        json_t **out) {
  *out = NULL;
  const uint8_t *block, *commit;
  size_t block_len, commit_len;
  CAIRN_TRY(cairn_store_block(rt, height, &block, &block_len, &commit,
                              &commit_len));
  cairn_slice *txs = malloc(CAIRN_BLOCK_TXS_MAX * sizeof *txs);
  if (txs == NULL) return CAIRN_ERR_NOMEM;
  cairn_block_header h;
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn_err err = cairn_block_decode(&h, txs, CAIRN_BLOCK_TXS_MAX, block,
                                     block_len);
  if (err == CAIRN_OK && position >= h.tx_count) err = CAIRN_ERR_CORRUPT;
  if (err == CAIRN_OK) err = cairn_block_hash(hash, &h);
  if (err == CAIRN_OK) {
    *out = cairn_rpc_tx_json(txid, "committed", txs[position].p,
                             txs[position].len);
    if (*out == NULL ||
        json_object_set_new(*out, "height", json_integer((json_int_t)height)) ||
        json_object_set_new(*out, "position", json_integer(position)) ||
        json_object_set_new(*out, "block_hash", cairn_json_hex(hash, 32))) {
      err = CAIRN_ERR_NOMEM;
    }
  }
  free(txs);
  if (err != CAIRN_OK) {
    json_decref(*out);
    *out = NULL;
  }
  return err == CAIRN_ERR_NOT_FOUND ? CAIRN_ERR_CORRUPT : err;
}

/* Answer from the mempool: pending, recently rejected, or 404. */
static void cairn_rpc_uncommitted_tx(cairn_rpc *r, struct evhttp_request *req,
                                     const uint8_t *txid) {
  const uint8_t *bytes;
  size_t len;
  if (cairn_mempool_find(r->mempool, txid, &bytes, &len) == CAIRN_OK) {
    cairn_rpc_reply(r, req, 200, cairn_rpc_tx_json(txid, "pending", bytes, len));
    return;
  }
  cairn_err why;
  char msg[CAIRN_MEMPOOL_DETAIL_BYTES + 128];
  if (cairn_mempool_rejected(r->mempool, txid, &why, msg, sizeof msg) ==
      CAIRN_OK) {
    cairn_rpc_reply(r, req, 200,
                    json_pack("{s:o, s:s, s:{s:s, s:i, s:s}}", "txid",
                              cairn_json_hex(txid, 32), "status", "rejected",
                              "error", "code", cairn_errname(why), "number",
                              (int)why, "message", msg));
    return;
  }
  cairn_rpc_fail(r, req, 404, CAIRN_ERR_NOT_FOUND,
                 "no transaction with this id is committed, pending or "
                 "recently rejected");
}

static void cairn_rpc_get_tx(cairn_rpc *r, struct evhttp_request *req,
                             const char *param) {
  uint8_t txid[CAIRN_HASH_BYTES];
  if (!cairn_rpc_parse_id(r, req, param, "transaction id", txid)) return;
  cairn_rtxn *rt = NULL;
  cairn_err err = cairn_store_read_begin(cairn_chain_store(r->chain), &rt);
  uint64_t height = 0;
  uint32_t position = 0;
  json_t *out = NULL;
  if (err == CAIRN_OK) {
    err = cairn_store_tx_location(rt, txid, &height, &position);
    if (err == CAIRN_OK) {
      err = cairn_rpc_committed_tx(rt, txid, height, position, &out);
    }
    cairn_store_read_end(rt);
  }
  if (err == CAIRN_OK) {
    cairn_rpc_reply(r, req, 200, out);
  } else if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_rpc_uncommitted_tx(r, req, txid);
  } else {
    cairn_rpc_fail(r, req, 500, err, NULL);
  }
}

/* ---- routing ---- */

typedef struct cairn_rpc_route {
  enum evhttp_cmd_type method;
  const char *method_name;
  const char *segments[CAIRN_RPC_SEGMENTS_MAX]; /* "*" matches one */
  size_t n_segments;
  cairn_rpc_handler handler;
} cairn_rpc_route;

/* First match wins: "latest" and "hash" come before "blocks/{height}". */
static const cairn_rpc_route cairn_rpc_routes[] = {
    {EVHTTP_REQ_GET, "GET", {"v1", "status"}, 2, cairn_rpc_status},
    {EVHTTP_REQ_GET, "GET", {"v1", "genesis"}, 2, cairn_rpc_genesis},
    {EVHTTP_REQ_GET, "GET", {"v1", "brands"}, 2, cairn_rpc_brands},
    {EVHTTP_REQ_POST, "POST", {"v1", "txs"}, 2, cairn_rpc_submit},
    {EVHTTP_REQ_GET, "GET", {"v1", "txs", "*"}, 3, cairn_rpc_get_tx},
    {EVHTTP_REQ_GET, "GET", {"v1", "blocks", "latest"}, 3,
     cairn_rpc_block_latest},
    {EVHTTP_REQ_GET, "GET", {"v1", "blocks", "hash", "*"}, 4,
     cairn_rpc_block_by_hash},
    {EVHTTP_REQ_GET, "GET", {"v1", "blocks", "*"}, 3,
     cairn_rpc_block_by_height},
    {EVHTTP_REQ_GET, "GET", {"v1", "accounts", "*"}, 3, cairn_rpc_account},
    {EVHTTP_REQ_GET, "GET", {"v1", "accounts", "*", "coupons"}, 4,
     cairn_rpc_account_coupons},
    {EVHTTP_REQ_GET, "GET", {"v1", "coupons", "*"}, 3, cairn_rpc_coupon},
    {EVHTTP_REQ_GET, "GET", {"v1", "brands", "*", "stats"}, 4,
     cairn_rpc_brand_stats},
    {EVHTTP_REQ_GET, "GET", {"v1", "holds", "*"}, 3, cairn_rpc_hold},
    {EVHTTP_REQ_GET, "GET", {"v1", "agreements"}, 2, cairn_rpc_agreements},
    {EVHTTP_REQ_GET, "GET", {"v1", "settlements"}, 2, cairn_rpc_settlements},
    {EVHTTP_REQ_GET, "GET", {"v1", "validators"}, 2, cairn_rpc_validators},
    {EVHTTP_REQ_GET, "GET", {"v1", "validators", "at", "*"}, 4,
     cairn_rpc_validators_at},
    {EVHTTP_REQ_GET, "GET", {"v1", "stake", "*"}, 3, cairn_rpc_stake},
    {EVHTTP_REQ_GET, "GET", {"v1", "admissions", "*"}, 3, cairn_rpc_admission},
    {EVHTTP_REQ_GET, "GET", {"v1", "evidence"}, 2, cairn_rpc_evidence_list},
    {EVHTTP_REQ_POST, "POST", {"v1", "evidence"}, 2,
     cairn_rpc_evidence_submit},
};
#define CAIRN_RPC_ROUTES (sizeof cairn_rpc_routes / sizeof cairn_rpc_routes[0])

/* Split "/a/b/c" in place into segments; false if it is not of that shape
 * (no leading slash, empty segment, too many). */
static bool cairn_rpc_split(char *path, char *seg[CAIRN_RPC_SEGMENTS_MAX],
                            size_t *n) {
  *n = 0;
  if (path[0] != '/') return false;
  char *p = path + 1;
  while (*n < CAIRN_RPC_SEGMENTS_MAX) {
    char *slash = strchr(p, '/');
    if (slash != NULL) *slash = '\0';
    if (*p == '\0') return false;
    seg[(*n)++] = p;
    if (slash == NULL) return true;
    p = slash + 1;
  }
  return false;
}

static bool cairn_rpc_match(const cairn_rpc_route *rt, char *const *seg,
                            size_t n, const char **param) {
  if (rt->n_segments != n) return false;
  *param = NULL;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(rt->segments[i], "*") == 0) {
      *param = seg[i];
    } else if (strcmp(rt->segments[i], seg[i]) != 0) {
      return false;
    }
  }
  return true;
}

void cairn_rpc_route_find(char *path, enum evhttp_cmd_type method,
                          cairn_rpc_found *out) {
  assert(path != NULL && out != NULL);
  char *seg[CAIRN_RPC_SEGMENTS_MAX] = {NULL};
  size_t n = 0;
  out->handler = NULL;
  out->param = NULL;
  out->allow = NULL;
  if (strlen(path) >= CAIRN_RPC_PATH_BYTES_MAX) return;
  if (!cairn_rpc_split(path, seg, &n)) return;
  for (size_t i = 0; i < CAIRN_RPC_ROUTES; i++) {
    const char *param = NULL;
    if (!cairn_rpc_match(&cairn_rpc_routes[i], seg, n, &param)) continue;
    if (cairn_rpc_routes[i].method == method) {
      out->handler = cairn_rpc_routes[i].handler;
      out->param = param;
      out->allow = NULL;
      return;
    }
    if (out->allow == NULL) out->allow = cairn_rpc_routes[i].method_name;
  }
}

static void cairn_rpc_dispatch(struct evhttp_request *req, void *arg) {
  cairn_rpc *r = arg;
  size_t body_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
  if (body_len > CAIRN_HTTP_BODY_BYTES_MAX) {
    cairn_rpc_fail(r, req, 413, CAIRN_ERR_OVERSIZE,
                   "request body is %lu bytes; the limit is %u",
                   (unsigned long)body_len, CAIRN_HTTP_BODY_BYTES_MAX);
    return;
  }
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
  char copy[CAIRN_RPC_PATH_BYTES_MAX];
  cairn_rpc_found found = {NULL, NULL, NULL};
  if (path != NULL && strlen(path) < sizeof copy) {
    memcpy(copy, path, strlen(path) + 1);
    cairn_rpc_route_find(copy, evhttp_request_get_command(req), &found);
  }
  if (found.handler != NULL) {
    found.handler(r, req, found.param);
  } else if (found.allow != NULL) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                      found.allow);
    cairn_rpc_fail(r, req, 405, CAIRN_ERR_HTTP,
                   "method not allowed for this path; use %s", found.allow);
  } else {
    cairn_rpc_fail(r, req, 404, CAIRN_ERR_NOT_FOUND,
                   "no such endpoint; see specs/api.md for the paths cairnd "
                   "serves (all under /v1/)");
  }
}

/* ---- server ---- */

cairn_err cairn_rpc_open(cairn_rpc **out, const cairn_rpc_opts *o, char *why,
                         size_t why_cap) {
  assert(out != NULL && o != NULL && o->base != NULL && o->host != NULL);
  assert(o->chain != NULL && o->mempool != NULL && o->validator_pk != NULL);
  *out = NULL;
  cairn_rpc *r = calloc(1, sizeof *r);
  if (r == NULL) return CAIRN_ERR_NOMEM;
  r->base = o->base;
  r->chain = o->chain;
  r->mempool = o->mempool;
  r->log = o->log;
  memcpy(r->validator_pk, o->validator_pk, sizeof r->validator_pk);
  r->on_tx = o->on_tx;
  r->on_tx_ctx = o->on_tx_ctx;
  r->evpool = o->evpool;
  r->net = o->net;
  if (r->evpool == NULL &&
      cairn_evpool_open(&r->own_evpool, CAIRN_EVPOOL_ENTRIES_MAX) != CAIRN_OK) {
    free(r);
    return CAIRN_ERR_NOMEM;
  }
  if (r->evpool == NULL) r->evpool = r->own_evpool;
  r->http = evhttp_new(o->base);
  if (r->http == NULL) {
    cairn_evpool_close(r->own_evpool);
    free(r);
    return CAIRN_ERR_NOMEM;
  }
  evhttp_set_max_body_size(r->http, CAIRN_HTTP_READ_BYTES_MAX);
  evhttp_set_max_headers_size(r->http, CAIRN_HTTP_HEADER_BYTES_MAX);
  evhttp_set_timeout(r->http, CAIRN_HTTP_IDLE_TIMEOUT_S);
  evhttp_set_flags(r->http, EVHTTP_SERVER_LINGERING_CLOSE);
  /* Every method reaches the dispatcher, which answers 405 in JSON. */
  evhttp_set_allowed_methods(
      r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  evhttp_set_gencb(r->http, cairn_rpc_dispatch, r);
  struct evhttp_bound_socket *bound =
      evhttp_bind_socket_with_handle(r->http, o->host, o->port);
  if (bound == NULL) {
    if (why != NULL && why_cap > 0) {
      snprintf(why, why_cap,
               "cannot listen on %s:%u (address in use or not local); stop "
               "the other process or choose another address with --listen",
               o->host, (unsigned)o->port);
    }
    cairn_rpc_close(r);
    return CAIRN_ERR_NETWORK;
  }
  cairn_err err = cairn_rpc_limit_open(&r->limit, o->base, r->http, bound,
                                       o->log);
  if (err != CAIRN_OK) {
    cairn_rpc_close(r);
    return err;
  }
  *out = r;
  return CAIRN_OK;
}

void cairn_rpc_close(cairn_rpc *r) {
  if (r == NULL) return;
  if (r->http != NULL) evhttp_free(r->http);
  cairn_rpc_limit_close(r->limit); /* after evhttp has let go of them */
  cairn_evpool_close(r->own_evpool);
  free(r);
}
