/*
 * source_node.c - `cairn audit --node URL`: a node's HTTP API as the
 * auditor's block source.
 *
 * The auditor must not take a node's word for anything it can compute, so
 * from the API it takes only bytes: the genesis document (whose hash it
 * recomputes from the canonical form and compares with the one the node
 * states), the height and hashes of the tip (which the replay must reach
 * exactly), and each block and commit as raw hex ("raw", "commit_raw").
 * The decoded header, txids and signatures the API also serves are
 * ignored: they are conveniences for people, and a lying node could make
 * them disagree with the bytes.
 *
 * The genesis and the tip are fetched once, when the source is opened, so
 * the audit covers one snapshot even while the node keeps producing blocks;
 * every block up to that tip must exist on the node (blocks are never
 * deleted), so a 404 below it is a finding, not a transport error.
 *
 * Errors are sorted as the audit engine reads them: cannot reach or
 * understand the node (NETWORK, TIMEOUT, HTTP - the audit cannot run) versus
 * the node serving data that is wrong (CORRUPT, NOT_FOUND - a finding).
 */
#include "source_node.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cairn/block.h"
#include "cairn/client.h"
#include "cairn/encoding.h"
#include "cairn/genesis.h"
#include "cairn/json.h"

#define NODE_MSG_BYTES 512

typedef struct node_source {
  cairn_client *client;
  char url[CAIRN_AUDIT_NAME_BYTES];
  cairn_genesis genesis;
  cairn_err genesis_err; /* a finding about the genesis, reported later */
  char genesis_why[NODE_MSG_BYTES];
  cairn_audit_tip tip;
  uint8_t *block; /* CAIRN_BLOCK_BYTES_MAX */
  size_t block_len;
  uint8_t commit[CAIRN_COMMIT_BYTES_MAX];
  size_t commit_len;
} node_source;

__attribute__((format(printf, 4, 5))) static cairn_err
node_say(char *why, size_t why_cap, cairn_err err, const char *fmt, ...) {
  if (why != NULL && why_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_cap, fmt, ap);
    va_end(ap);
  }
  return err;
}

/* GET path; *body is the JSON object of a 2xx answer or of a 404 (with
 * *status telling which). Anything else is an error with a sentence. */
static cairn_err node_get(node_source *n, const char *path, int *status,
                          json_t **body, char *why, size_t why_cap) {
  char msg[NODE_MSG_BYTES] = "";
  cairn_err err = cairn_client_get(n->client, path, status, body, msg,
                                   sizeof msg);
  if (err == CAIRN_ERR_OVERSIZE) err = CAIRN_ERR_HTTP;
  if (err != CAIRN_OK)
    return node_say(why, why_cap, err, "%s", msg);
  if ((*status >= 200 && *status <= 299) || *status == 404) return CAIRN_OK;
  const json_t *e = json_object_get(*body, "error");
  const char *text = json_string_value(json_object_get(e, "message"));
  err = node_say(why, why_cap, CAIRN_ERR_HTTP, "GET %s answered HTTP %d%s%s",
                 path, *status, text != NULL ? ": " : "",
                 text != NULL ? text : "");
  json_decref(*body);
  *body = NULL;
  return err;
}

/* A 32-byte hash field; HTTP error when missing or malformed. */
static cairn_err node_hash_field(const json_t *o, const char *field,
                                 uint8_t out[32], const char *path, char *why,
                                 size_t why_cap) {
  const char *s = json_string_value(json_object_get(o, field));
  if (s == NULL || strlen(s) != 64 ||
      cairn_hex_decode_exact(out, 32, s) != CAIRN_OK)
    return node_say(why, why_cap, CAIRN_ERR_HTTP, "the answer to GET %s has "
                    "no valid \"%s\"", path, field);
  return CAIRN_OK;
}

/* The genesis document: parsed strictly, its hash recomputed and checked
 * against the one the node states. A document that fails is a finding,
 * kept for the genesis callback. */
static void node_take_genesis(node_source *n, json_t *doc,
                              const uint8_t claimed[32]) {
  char *text = json_dumps(doc, JSON_COMPACT);
  char why[NODE_MSG_BYTES] = "";
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn_err err = text == NULL ? CAIRN_ERR_NOMEM
                               : cairn_genesis_from_json(&n->genesis, text,
                                                         strlen(text), why,
                                                         sizeof why);
  free(text);
  if (err == CAIRN_OK) err = cairn_genesis_hash(hash, &n->genesis);
  if (err == CAIRN_OK && memcmp(hash, claimed, 32) != 0) {
    char a[65], b[65];
    cairn_hex_encode(a, sizeof a, hash, 32);
    cairn_hex_encode(b, sizeof b, claimed, 32);
    n->genesis_err = node_say(n->genesis_why, sizeof n->genesis_why,
                              CAIRN_ERR_CORRUPT, "its genesis document hashes "
                              "to %s, but it states %s", a, b);
  } else if (err != CAIRN_OK) {
    n->genesis_err = node_say(n->genesis_why, sizeof n->genesis_why,
                              err == CAIRN_ERR_NOMEM ? err : CAIRN_ERR_CORRUPT,
                              "its genesis document is invalid: %s",
                              why[0] != '\0' ? why : cairn_strerror(err));
  }
}

static cairn_err node_fetch_genesis(node_source *n, uint8_t hash[32],
                                    char *why, size_t why_cap) {
  static const char path[] = "/v1/genesis";
  int status = 0;
  json_t *body = NULL;
  CAIRN_TRY(node_get(n, path, &status, &body, why, why_cap));
  cairn_err err = status == 404 ? node_say(why, why_cap, CAIRN_ERR_HTTP,
                                           "GET %s answered HTTP 404: is %s a "
                                           "cairnd node?", path, n->url)
                                : node_hash_field(body, "hash", hash, path,
                                                  why, why_cap);
  if (err == CAIRN_OK) {
    json_object_del(body, "hash");
    node_take_genesis(n, body, hash);
  }
  json_decref(body);
  return err;
}

static cairn_err node_fetch_status(node_source *n, const uint8_t genesis[32],
                                   char *why, size_t why_cap) {
  static const char path[] = "/v1/status";
  int status = 0;
  json_t *body = NULL;
  uint8_t stated[CAIRN_HASH_BYTES];
  CAIRN_TRY(node_get(n, path, &status, &body, why, why_cap));
  const json_t *h = json_object_get(body, "height");
  cairn_err err = status == 404 || !json_is_integer(h) ||
                          cairn_json_get_u64(h, &n->tip.height) != CAIRN_OK
                      ? node_say(why, why_cap, CAIRN_ERR_HTTP, "the answer "
                                 "to GET %s has no valid \"height\"", path)
                      : CAIRN_OK;
  if (err == CAIRN_OK)
    err = node_hash_field(body, "tip_hash", n->tip.hash, path, why, why_cap);
  if (err == CAIRN_OK)
    err = node_hash_field(body, "app_hash", n->tip.app_hash, path, why,
                          why_cap);
  if (err == CAIRN_OK)
    err = node_hash_field(body, "genesis_hash", stated, path, why, why_cap);
  if (err == CAIRN_OK && memcmp(stated, genesis, 32) != 0 &&
      n->genesis_err == CAIRN_OK)
    n->genesis_err = node_say(n->genesis_why, sizeof n->genesis_why,
                              CAIRN_ERR_CORRUPT, "its status names another "
                              "genesis hash than its genesis document");
  json_decref(body);
  return err;
}

/* ---- the source callbacks ---- */

static cairn_err node_genesis(void *ctx, cairn_genesis *out, char *why,
                              size_t why_cap) {
  node_source *n = ctx;
  if (n->genesis_err != CAIRN_OK)
    return node_say(why, why_cap, n->genesis_err, "%s", n->genesis_why);
  *out = n->genesis;
  return CAIRN_OK;
}

/* The tip as /v1/status stated it when the source opened. */
static cairn_err node_tip(void *ctx, cairn_audit_tip *out, char *why,
                          size_t why_cap) {
  *out = ((node_source *)ctx)->tip;
  return node_say(why, why_cap, CAIRN_OK, "%s", "");
}

/* Decode a hex field of at most cap bytes. */
static cairn_err node_hex_field(const json_t *o, const char *field,
                                uint8_t *out, size_t cap, size_t *len) {
  const char *s = json_string_value(json_object_get(o, field));
  *len = 0;
  if (s == NULL) return CAIRN_ERR_HTTP;
  if (strlen(s) > 2 * cap) return CAIRN_ERR_OVERSIZE;
  return cairn_hex_decode(out, cap, len, s) == CAIRN_OK ? CAIRN_OK
                                                         : CAIRN_ERR_HTTP;
}

static cairn_err node_block(void *ctx, uint64_t height, const uint8_t **block,
                            size_t *block_len, const uint8_t **commit,
                            size_t *commit_len, char *why, size_t why_cap) {
  node_source *n = ctx;
  char path[64];
  int status = 0;
  json_t *body = NULL;
  *block = *commit = NULL;
  *block_len = *commit_len = 0;
  snprintf(path, sizeof path, "/v1/blocks/%llu", (unsigned long long)height);
  CAIRN_TRY(node_get(n, path, &status, &body, why, why_cap));
  cairn_err err = CAIRN_OK;
  if (status == 404) {
    err = node_say(why, why_cap, CAIRN_ERR_NOT_FOUND, "the node has no block "
                   "at height %llu, below the tip it stated (%llu)",
                   (unsigned long long)height,
                   (unsigned long long)n->tip.height);
  } else {
    err = node_hex_field(body, "raw", n->block, CAIRN_BLOCK_BYTES_MAX,
                         &n->block_len);
    if (err == CAIRN_OK)
      err = node_hex_field(body, "commit_raw", n->commit, sizeof n->commit,
                           &n->commit_len);
    if (err == CAIRN_ERR_OVERSIZE)
      err = node_say(why, why_cap, CAIRN_ERR_OVERSIZE, "the node serves a "
                     "block or commit at height %llu larger than the limit",
                     (unsigned long long)height);
    else if (err != CAIRN_OK)
      err = node_say(why, why_cap, err, "the answer to GET %s has no valid "
                     "\"raw\" and \"commit_raw\"", path);
  }
  json_decref(body);
  if (err != CAIRN_OK) return err;
  *block = n->block;
  *block_len = n->block_len;
  *commit = n->commit;
  *commit_len = n->commit_len;
  return CAIRN_OK;
}

static void node_close(void *ctx) {
  node_source *n = ctx;
  if (n == NULL) return;
  cairn_client_close(n->client);
  free(n->block);
  free(n);
}

cairn_err cairn_audit_source_node(cairn_audit_source *out, const char *url,
                                  char *why, size_t why_cap) {
  assert(out != NULL && url != NULL);
  memset(out, 0, sizeof *out);
  node_source *n = calloc(1, sizeof *n);
  if (n == NULL)
    return node_say(why, why_cap, CAIRN_ERR_NOMEM, "out of memory");
  snprintf(n->url, sizeof n->url, "%s", url);
  n->block = malloc(CAIRN_BLOCK_BYTES_MAX);
  uint8_t genesis[CAIRN_HASH_BYTES];
  cairn_err err = n->block == NULL
                      ? node_say(why, why_cap, CAIRN_ERR_NOMEM, "out of memory")
                      : cairn_client_open(&n->client, url, why, why_cap);
  if (err == CAIRN_OK) err = node_fetch_genesis(n, genesis, why, why_cap);
  if (err == CAIRN_OK) err = node_fetch_status(n, genesis, why, why_cap);
  if (err != CAIRN_OK) {
    node_close(n);
    return err;
  }
  out->ctx = n;
  snprintf(out->name, sizeof out->name, "node %s", url);
  out->genesis = node_genesis;
  out->tip = node_tip;
  out->block = node_block;
  out->close = node_close;
  return CAIRN_OK;
}
