/*
 * client.c - the wallet's synchronous HTTP/JSON client (libevent evhttp).
 *
 * The wallet is a short-lived command-line program that makes a handful of
 * requests in sequence, so a blocking interface is the right shape: every
 * call creates an evhttp connection on the client's private event_base,
 * issues one request and runs the loop until the request's callback fires,
 * then frees the connection. libevent then does the parts that are easy to
 * get wrong by hand: HTTP/1.1 framing (Content-Length and chunked bodies),
 * header limits, connect and read timeouts, and a hard cap on the body size
 * (evhttp_connection_set_max_body_size), so a misbehaving or hostile server
 * cannot make the wallet allocate without bound.
 *
 * Failures are sorted by what the user should do about them:
 *   NETWORK  - nothing answered (refused, unresolvable, closed early): is the
 *              node running at that URL?
 *   TIMEOUT  - something accepted the connection but did not answer in time.
 *   OVERSIZE - the body exceeded the response limit.
 *   HTTP     - an answer came but was not a JSON object (a proxy's HTML page,
 *              a truncated body): the URL probably points at the wrong thing.
 * libevent reports a failed request by calling the request callback with a
 * NULL request (after the error callback) or, for a failed connect, with a
 * request whose status is 0; both are handled.
 *
 * Only plain http:// is accepted: cairnd listens on loopback by default and
 * offers no TLS, and silently downgrading an https:// URL would be worse
 * than refusing it.
 */
#include "cairn/client.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cairn/limits.h"

/* Response headers are a few lines; anything larger is not our node. */
#define CAIRN_CLIENT_HEADER_BYTES_MAX 65536

struct cairn_client {
  struct event_base *base;
  char host[CAIRN_CLIENT_HOST_BYTES_MAX + 1];        /* no brackets */
  char host_header[CAIRN_CLIENT_HOST_BYTES_MAX + 8]; /* "[::1]:8645" */
  char base_path[CAIRN_CLIENT_PATH_BYTES_MAX + 1];   /* "" or "/x" */
  uint16_t port;
  uint32_t timeout_ms;
  size_t response_bytes_max;
};

/* The state of one request while the loop runs. */
typedef struct cairn_client_call {
  struct event_base *base;
  size_t body_max;
  bool done;
  bool have_error;
  enum evhttp_request_error error;
  int status;
  char *body; /* malloc'd copy of the response body, NUL-terminated */
  size_t body_len;
  cairn_err err;
} cairn_client_call;

static void cairn_client_why(char *why, size_t why_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cairn_client_why(char *why, size_t why_cap, const char *fmt, ...) {
  if (why == NULL || why_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

/* Copy the host (stripping IPv6 brackets) and build the Host header. */
static cairn_err cairn_client_set_host(cairn_client *c, const char *host,
                                       char *why, size_t why_cap) {
  size_t n = strlen(host);
  if (n == 0) {
    cairn_client_why(why, why_cap, "the node URL has no host");
    return CAIRN_ERR_ARG;
  }
  if (n > CAIRN_CLIENT_HOST_BYTES_MAX) {
    cairn_client_why(why, why_cap, "the node URL's host is longer than %d bytes",
                     CAIRN_CLIENT_HOST_BYTES_MAX);
    return CAIRN_ERR_ARG;
  }
  if (host[0] == '[') {
    if (n < 3 || host[n - 1] != ']') {
      cairn_client_why(why, why_cap, "the node URL's IPv6 host is malformed");
      return CAIRN_ERR_ARG;
    }
    memcpy(c->host, host + 1, n - 2);
    c->host[n - 2] = '\0';
  } else {
    memcpy(c->host, host, n + 1);
  }
  snprintf(c->host_header, sizeof c->host_header, "%s:%u", host,
           (unsigned)c->port);
  return CAIRN_OK;
}

/* Check the parts of a parsed URI and fill in c. */
static cairn_err cairn_client_take_uri(cairn_client *c,
                                       const struct evhttp_uri *uri,
                                       const char *url, char *why,
                                       size_t why_cap) {
  const char *scheme = evhttp_uri_get_scheme(uri);
  if (scheme == NULL) {
    cairn_client_why(why, why_cap,
                     "node URL '%s' has no scheme; write it as http://HOST:PORT",
                     url);
    return CAIRN_ERR_ARG;
  }
  if (strcmp(scheme, "http") != 0 && strcmp(scheme, "HTTP") != 0) {
    cairn_client_why(why, why_cap,
                     "node URL scheme '%s' is not supported: cairnd speaks "
                     "plain http (http://HOST:PORT)",
                     scheme);
    return CAIRN_ERR_ARG;
  }
  if (evhttp_uri_get_userinfo(uri) != NULL ||
      evhttp_uri_get_query(uri) != NULL ||
      evhttp_uri_get_fragment(uri) != NULL) {
    cairn_client_why(why, why_cap,
                     "node URL '%s' must not contain user info, a query or a "
                     "fragment", url);
    return CAIRN_ERR_ARG;
  }
  int port = evhttp_uri_get_port(uri);
  if (port == 0 || port > 65535) {
    cairn_client_why(why, why_cap, "node URL '%s' has a bad port", url);
    return CAIRN_ERR_ARG;
  }
  c->port = port < 0 ? 80 : (uint16_t)port;
  const char *host = evhttp_uri_get_host(uri);
  CAIRN_TRY(cairn_client_set_host(c, host == NULL ? "" : host, why, why_cap));
  const char *path = evhttp_uri_get_path(uri);
  size_t plen = path == NULL ? 0 : strlen(path);
  while (plen > 0 && path[plen - 1] == '/') plen--; /* "/" and "/x/" */
  if (plen > CAIRN_CLIENT_PATH_BYTES_MAX) {
    cairn_client_why(why, why_cap, "node URL path is longer than %d bytes",
                     CAIRN_CLIENT_PATH_BYTES_MAX);
    return CAIRN_ERR_ARG;
  }
  if (plen > 0) memcpy(c->base_path, path, plen);
  c->base_path[plen] = '\0';
  return CAIRN_OK;
}

cairn_err cairn_client_open(cairn_client **out, const char *url, char *why,
                            size_t why_cap) {
  assert(out != NULL && url != NULL);
  *out = NULL;
  cairn_client_why(why, why_cap, "%s", "");
  struct evhttp_uri *uri = evhttp_uri_parse(url);
  if (uri == NULL) {
    cairn_client_why(why, why_cap,
                     "'%s' is not a valid node URL; write it as "
                     "http://HOST:PORT", url);
    return CAIRN_ERR_ARG;
  }
  cairn_client *c = calloc(1, sizeof *c);
  if (c == NULL) {
    evhttp_uri_free(uri);
    return CAIRN_ERR_NOMEM;
  }
  c->timeout_ms = CAIRN_CLIENT_TIMEOUT_MS_DEFAULT;
  c->response_bytes_max = CAIRN_HTTP_RESPONSE_BYTES_MAX;
  cairn_err err = cairn_client_take_uri(c, uri, url, why, why_cap);
  evhttp_uri_free(uri);
  if (err != CAIRN_OK) {
    free(c);
    return err;
  }
  c->base = event_base_new();
  if (c->base == NULL) {
    free(c);
    return CAIRN_ERR_NOMEM;
  }
  *out = c;
  return CAIRN_OK;
}

void cairn_client_close(cairn_client *c) {
  if (c == NULL) return;
  event_base_free(c->base);
  free(c);
}

void cairn_client_set_limits(cairn_client *c, uint32_t timeout_ms,
                             size_t response_bytes_max) {
  assert(c != NULL && timeout_ms >= 1 && response_bytes_max >= 1);
  c->timeout_ms = timeout_ms;
  c->response_bytes_max = response_bytes_max;
}

const char *cairn_client_host(const cairn_client *c) { return c->host; }

uint16_t cairn_client_port(const cairn_client *c) { return c->port; }

static void cairn_client_on_error(enum evhttp_request_error error, void *arg) {
  cairn_client_call *call = arg;
  call->have_error = true;
  call->error = error;
}

/* Map a failed request to an error code. */
static cairn_err cairn_client_failure(const cairn_client_call *call) {
  if (!call->have_error) return CAIRN_ERR_NETWORK;
  switch (call->error) {
  case EVREQ_HTTP_TIMEOUT: return CAIRN_ERR_TIMEOUT;
  case EVREQ_HTTP_DATA_TOO_LONG: return CAIRN_ERR_OVERSIZE;
  case EVREQ_HTTP_INVALID_HEADER: return CAIRN_ERR_HTTP;
  default: return CAIRN_ERR_NETWORK;
  }
}

static void cairn_client_on_done(struct evhttp_request *req, void *arg) {
  cairn_client_call *call = arg;
  call->done = true;
  event_base_loopbreak(call->base);
  if (req == NULL || evhttp_request_get_response_code(req) == 0) {
    call->err = cairn_client_failure(call);
    return;
  }
  call->status = evhttp_request_get_response_code(req);
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  if (n > call->body_max) { /* libevent enforces it; never trust one layer */
    call->err = CAIRN_ERR_OVERSIZE;
    return;
  }
  call->body = malloc(n + 1);
  if (call->body == NULL) {
    call->err = CAIRN_ERR_NOMEM;
    return;
  }
  if (n > 0 && evbuffer_remove(in, call->body, n) != (int)n) {
    call->err = CAIRN_ERR_HTTP;
    return;
  }
  call->body[n] = '\0';
  call->body_len = n;
  call->err = CAIRN_OK;
}

/* Build the request's headers and body. Returns false on allocation
 * failure. */
static bool cairn_client_fill(const cairn_client *c,
                              struct evhttp_request *req, const char *data,
                              size_t len) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  if (evhttp_add_header(h, "Host", c->host_header) != 0) return false;
  if (evhttp_add_header(h, "Accept", "application/json") != 0) return false;
  if (evhttp_add_header(h, "Connection", "close") != 0) return false;
  if (data == NULL) return true;
  if (evhttp_add_header(h, "Content-Type", "application/json") != 0)
    return false;
  return evbuffer_add(evhttp_request_get_output_buffer(req), data, len) == 0;
}

/* Run one request to completion; fills call. */
static cairn_err cairn_client_run(cairn_client *c, enum evhttp_cmd_type cmd,
                                  const char *full_path, const char *data,
                                  size_t len, cairn_client_call *call) {
  struct evhttp_connection *conn =
      evhttp_connection_base_new(c->base, NULL, c->host, c->port);
  if (conn == NULL) return CAIRN_ERR_NOMEM;
  struct timeval tv = {.tv_sec = c->timeout_ms / 1000,
                       .tv_usec = (c->timeout_ms % 1000) * 1000};
  evhttp_connection_set_timeout_tv(conn, &tv);
  evhttp_connection_set_retries(conn, 0);
  evhttp_connection_set_max_body_size(conn, (ev_ssize_t)c->response_bytes_max);
  evhttp_connection_set_max_headers_size(conn, CAIRN_CLIENT_HEADER_BYTES_MAX);
  struct evhttp_request *req = evhttp_request_new(cairn_client_on_done, call);
  if (req == NULL) {
    evhttp_connection_free(conn);
    return CAIRN_ERR_NOMEM;
  }
  evhttp_request_set_error_cb(req, cairn_client_on_error);
  if (!cairn_client_fill(c, req, data, len)) {
    evhttp_request_free(req);
    evhttp_connection_free(conn);
    return CAIRN_ERR_NOMEM;
  }
  /* On failure evhttp_make_request frees req itself. */
  if (evhttp_make_request(conn, req, cmd, full_path) != 0) {
    evhttp_connection_free(conn);
    return call->done ? call->err : CAIRN_ERR_NETWORK;
  }
  if (!call->done) event_base_dispatch(c->base);
  evhttp_connection_free(conn);
  assert(call->done || call->err != CAIRN_OK);
  return call->done ? call->err : CAIRN_ERR_NETWORK;
}

/* A sentence for a transport failure. */
static void cairn_client_explain(const cairn_client *c, cairn_err err,
                                 const char *path, char *why,
                                 size_t why_cap) {
  switch (err) {
  case CAIRN_ERR_NETWORK:
    cairn_client_why(why, why_cap, "cannot reach the node at http://%s "
                     "(request %s)", c->host_header, path);
    break;
  case CAIRN_ERR_TIMEOUT:
    cairn_client_why(why, why_cap,
                     "the node at %s did not answer %s within %u ms",
                     c->host_header, path, (unsigned)c->timeout_ms);
    break;
  case CAIRN_ERR_OVERSIZE:
    cairn_client_why(why, why_cap,
                     "the response to %s is larger than %zu bytes", path,
                     c->response_bytes_max);
    break;
  case CAIRN_ERR_HTTP:
    cairn_client_why(why, why_cap, "malformed HTTP response to %s", path);
    break;
  default:
    cairn_client_why(why, why_cap, "request %s failed: %s", path,
                     cairn_strerror(err));
    break;
  }
}

/* Parse the body of a completed call as a JSON object. */
static cairn_err cairn_client_parse(const cairn_client_call *call,
                                    const char *path, json_t **body,
                                    char *why, size_t why_cap) {
  json_error_t jerr;
  json_t *j = json_loadb(call->body, call->body_len, JSON_REJECT_DUPLICATES,
                         &jerr);
  if (j == NULL) {
    cairn_client_why(why, why_cap,
                     "the response to %s (HTTP %d) is not JSON: %s; is the "
                     "URL that of a cairnd node?",
                     path, call->status, jerr.text);
    return CAIRN_ERR_HTTP;
  }
  if (!json_is_object(j)) {
    json_decref(j);
    cairn_client_why(why, why_cap,
                     "the response to %s (HTTP %d) is not a JSON object", path,
                     call->status);
    return CAIRN_ERR_HTTP;
  }
  *body = j;
  return CAIRN_OK;
}

static cairn_err cairn_client_request(cairn_client *c, enum evhttp_cmd_type cmd,
                                      const char *path, const char *data,
                                      size_t len, int *status, json_t **body,
                                      char *why, size_t why_cap) {
  *status = 0;
  *body = NULL;
  cairn_client_why(why, why_cap, "%s", "");
  char full[CAIRN_CLIENT_REQUEST_PATH_BYTES_MAX + 1];
  int n = snprintf(full, sizeof full, "%s%s", c->base_path, path);
  if (path[0] != '/' || n < 0 || (size_t)n >= sizeof full) {
    cairn_client_why(why, why_cap, "bad request path '%s'", path);
    return CAIRN_ERR_ARG;
  }
  cairn_client_call call = {.base = c->base,
                            .body_max = c->response_bytes_max,
                            .err = CAIRN_ERR_NETWORK};
  cairn_err err = cairn_client_run(c, cmd, full, data, len, &call);
  if (err == CAIRN_OK) err = cairn_client_parse(&call, full, body, why, why_cap);
  else cairn_client_explain(c, err, full, why, why_cap);
  if (err == CAIRN_OK) *status = call.status;
  free(call.body);
  return err;
}

cairn_err cairn_client_get(cairn_client *c, const char *path, int *status,
                           json_t **body, char *why, size_t why_cap) {
  assert(c != NULL && path != NULL && status != NULL && body != NULL);
  return cairn_client_request(c, EVHTTP_REQ_GET, path, NULL, 0, status, body,
                              why, why_cap);
}

cairn_err cairn_client_post(cairn_client *c, const char *path,
                            const json_t *request, int *status, json_t **body,
                            char *why, size_t why_cap) {
  assert(c != NULL && path != NULL && request != NULL);
  assert(status != NULL && body != NULL);
  *status = 0;
  *body = NULL;
  char *data = json_dumps(request, JSON_COMPACT);
  if (data == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_client_request(c, EVHTTP_REQ_POST, path, data,
                                       strlen(data), status, body, why,
                                       why_cap);
  free(data);
  return err;
}
