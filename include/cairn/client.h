/*
 * cairn/client.h - a small synchronous HTTP/JSON client for the node API.
 *
 * The wallet talks to one cairnd over plain HTTP/1.1 (specs/api.md). Each
 * call opens a connection on the client's own event loop (libevent evhttp),
 * sends one request, runs the loop until the response or an error arrives,
 * and closes the connection: no state survives between calls except the
 * parsed URL, so a client may be reused for any number of calls from one
 * thread. Responses are bounded (CAIRN_HTTP_RESPONSE_BYTES_MAX by default)
 * and must be JSON; the status code is returned whatever it is, so callers
 * decide what a 404 or 422 means to them.
 *
 * Pointers are never NULL unless stated. A client is not thread-safe: use
 * one per thread.
 */
#ifndef CAIRN_CLIENT_H
#define CAIRN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cairn/error.h"

/* Default node address when neither --node nor CAIRN_NODE is given. */
#define CAIRN_CLIENT_DEFAULT_URL "http://127.0.0.1:8645"
/* Connect and read timeout of each request. */
#define CAIRN_CLIENT_TIMEOUT_MS_DEFAULT 10000u
/* Longest host name or base path accepted in a node URL. */
#define CAIRN_CLIENT_HOST_BYTES_MAX 255
#define CAIRN_CLIENT_PATH_BYTES_MAX 255
/* Longest request path (base path + API path + ids). */
#define CAIRN_CLIENT_REQUEST_PATH_BYTES_MAX 1024

typedef struct cairn_client cairn_client;

/* Parse url ("http://HOST[:PORT][/BASE]", port 80 when absent) and create a
 * client. No connection is made yet.
 * Errors: ARG (not a URL, a scheme other than http, no host, bad port,
 * user info, query or fragment, over-long host or path; why holds a
 * sentence), NOMEM. *out is NULL on failure. why may be NULL. */
CAIRN_MUST_CHECK cairn_err cairn_client_open(cairn_client **out,
                                             const char *url, char *why,
                                             size_t why_cap);
/* Free the client (NULL is allowed). */
void cairn_client_close(cairn_client *c);

/* Change the per-request timeout (ms >= 1) and the largest response body
 * accepted (bytes >= 1). Defaults: CAIRN_CLIENT_TIMEOUT_MS_DEFAULT and
 * CAIRN_HTTP_RESPONSE_BYTES_MAX. */
void cairn_client_set_limits(cairn_client *c, uint32_t timeout_ms,
                             size_t response_bytes_max);

/* The host and port the client talks to (host without IPv6 brackets). */
const char *cairn_client_host(const cairn_client *c);
uint16_t cairn_client_port(const cairn_client *c);

/* GET base path + path (path starts with '/'). On success *status is the
 * HTTP status (any, including 4xx/5xx) and *body a new reference to the
 * parsed JSON object (caller json_decref's it).
 * Errors: NETWORK (cannot connect, connection closed before a response),
 * TIMEOUT (no complete response within the timeout), OVERSIZE (body over
 * the limit), HTTP (body is not a JSON object, malformed response), NOMEM,
 * ARG (path too long or not starting with '/'). On failure *status is 0 and
 * *body NULL; why (may be NULL) holds a sentence. */
CAIRN_MUST_CHECK cairn_err cairn_client_get(cairn_client *c, const char *path,
                                            int *status, json_t **body,
                                            char *why, size_t why_cap);

/* POST request (serialized compactly, Content-Type: application/json) to
 * path; otherwise as cairn_client_get. */
CAIRN_MUST_CHECK cairn_err cairn_client_post(cairn_client *c, const char *path,
                                             const json_t *request, int *status,
                                             json_t **body, char *why,
                                             size_t why_cap);

#endif
