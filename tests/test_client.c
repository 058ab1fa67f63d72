/*
 * test_client.c - the wallet's HTTP/JSON client against a real HTTP server.
 *
 * A tiny evhttp server runs in a forked child on an ephemeral loopback
 * port (the listening socket is made before the fork, so the port is known
 * and there is no race). Its paths exercise what the client must tell
 * apart: JSON with any status, non-JSON and non-object bodies, bodies over
 * the response limit (a small limit and the real default), a server that
 * never answers (timeout), one that hangs up (network), a refused
 * connection, request bodies and headers, and a base path in the URL.
 * URL parsing is tested on its own: only plain http:// is accepted.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <jansson.h>

#include "cairn/client.h"
#include "cairn/limits.h"

typedef struct server {
  pid_t pid;
  uint16_t port;
  char url[64];
} server;

/* ---- the server (child process) ---- */

static void reply(struct evhttp_request *req, int code, const char *body,
                  size_t len) {
  struct evbuffer *b = evbuffer_new();
  if (b == NULL) _exit(1);
  evbuffer_add(b, body, len);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                    "application/json");
  evhttp_send_reply(req, code, "x", b);
  evbuffer_free(b);
}

static void reply_str(struct evhttp_request *req, int code, const char *s) {
  reply(req, code, s, strlen(s));
}

/* {"pad":"aaa..."} of exactly n bytes (n >= 10). */
static void reply_big(struct evhttp_request *req, size_t n) {
  char *s = malloc(n);
  if (s == NULL) _exit(1);
  memcpy(s, "{\"pad\":\"", 8);
  memset(s + 8, 'a', n - 10);
  memcpy(s + n - 2, "\"}", 2);
  reply(req, 200, s, n);
  free(s);
}

/* Echo the method, path, Host and Content-Type headers and the body. */
static void reply_echo(struct evhttp_request *req) {
  struct evkeyvalq *h = evhttp_request_get_input_headers(req);
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  char *body = calloc(1, n + 1);
  if (body == NULL) _exit(1);
  evbuffer_remove(in, body, n);
  const char *ct = evhttp_find_header(h, "Content-Type");
  const char *host = evhttp_find_header(h, "Host");
  json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "method",
                        evhttp_request_get_command(req) == EVHTTP_REQ_POST
                            ? "POST"
                            : "GET",
                        "path", evhttp_request_get_uri(req), "host",
                        host ? host : "", "content_type", ct ? ct : "",
                        "body", body);
  char *s = json_dumps(j, JSON_COMPACT);
  reply_str(req, 200, s);
  free(s);
  json_decref(j);
  free(body);
}

static void handle(struct evhttp_request *req, void *arg) {
  (void)arg;
  const char *uri = evhttp_request_get_uri(req);
  if (strcmp(uri, "/json") == 0) {
    reply_str(req, 200, "{\"chain_id\":\"t\",\"height\":5}");
  } else if (strcmp(uri, "/missing") == 0) {
    reply_str(req, 404, "{\"error\":{\"code\":\"not_found\",\"number\":5,"
                        "\"message\":\"nothing here\"}}");
  } else if (strcmp(uri, "/text") == 0) {
    reply_str(req, 200, "<html>hello</html>");
  } else if (strcmp(uri, "/array") == 0) {
    reply_str(req, 200, "[1,2,3]");
  } else if (strcmp(uri, "/empty") == 0) {
    reply_str(req, 204, "");
  } else if (strcmp(uri, "/big1000") == 0) {
    reply_big(req, 1000);
  } else if (strcmp(uri, "/big1001") == 0) {
    reply_big(req, 1001);
  } else if (strcmp(uri, "/huge") == 0) {
    reply_big(req, CAIRN_HTTP_RESPONSE_BYTES_MAX + 1);
  } else if (strcmp(uri, "/slow") == 0) {
    return; /* never answer */
  } else if (strcmp(uri, "/hangup") == 0) {
    evhttp_connection_free(evhttp_request_get_connection(req));
  } else {
    reply_echo(req);
  }
}

static void server_main(int fd) {
  alarm(120); /* never outlive a crashed test run by long */
  struct event_base *base = event_base_new();
  struct evhttp *http = base ? evhttp_new(base) : NULL;
  /* The listener accepts until EAGAIN, so the socket must not block. */
  if (http == NULL || evutil_make_socket_nonblocking(fd) != 0 ||
      evhttp_accept_socket(http, fd) != 0) {
    _exit(1);
  }
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
  evhttp_set_gencb(http, handle, NULL);
  event_base_dispatch(base);
  _exit(0);
}

/* A loopback TCP socket bound to an ephemeral port; *port receives it. */
static int bind_loopback(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static int server_start(void **state) {
  server *s = calloc(1, sizeof *s);
  if (s == NULL) return -1;
  int fd = bind_loopback(&s->port);
  if (listen(fd, 16) != 0) return -1;
  s->pid = fork();
  if (s->pid < 0) return -1;
  if (s->pid == 0) server_main(fd);
  close(fd);
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)s->port);
  *state = s;
  return 0;
}

static int server_stop(void **state) {
  server *s = *state;
  kill(s->pid, SIGTERM);
  waitpid(s->pid, NULL, 0);
  free(s);
  return 0;
}

/* ---- URL parsing ---- */

static void expect_bad_url(const char *url, const char *why_part) {
  cairn_client *c = (cairn_client *)&c; /* must be reset to NULL */
  char why[256] = "";
  assert_int_equal(cairn_client_open(&c, url, why, sizeof why), CAIRN_ERR_ARG);
  assert_null(c);
  if (why_part != NULL && strstr(why, why_part) == NULL) {
    fail_msg("'%s': expected '%s' in: %s", url, why_part, why);
  }
}

static void test_url_rejected(void **state) {
  (void)state;
  expect_bad_url("https://127.0.0.1:8645", "https");
  expect_bad_url("ftp://127.0.0.1:21", "ftp");
  expect_bad_url("127.0.0.1:8645", NULL);
  expect_bad_url("not a url", NULL);
  expect_bad_url("", NULL);
  expect_bad_url("http://", NULL);
  expect_bad_url("http://127.0.0.1:0", "port");
  expect_bad_url("http://127.0.0.1:99999", NULL);
  expect_bad_url("http://user:pw@127.0.0.1:1", "user info");
  expect_bad_url("http://127.0.0.1:1/?q=1", "query");
  expect_bad_url("http://127.0.0.1:1/#frag", "fragment");
}

static void test_url_accepted(void **state) {
  (void)state;
  static const struct {
    const char *url, *host;
    uint16_t port;
  } ok[] = {
      {"http://127.0.0.1:8645", "127.0.0.1", 8645},
      {"http://127.0.0.1:8645/", "127.0.0.1", 8645},
      {"http://localhost", "localhost", 80},
      {"http://[::1]:9000", "::1", 9000},
      {"HTTP://node.example:1/base/", "node.example", 1},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    cairn_client *c = NULL;
    char why[256];
    assert_int_equal(cairn_client_open(&c, ok[i].url, why, sizeof why),
                     CAIRN_OK);
    assert_string_equal(cairn_client_host(c), ok[i].host);
    assert_int_equal(cairn_client_port(c), ok[i].port);
    cairn_client_close(c);
  }
  cairn_client_close(NULL);
}

/* ---- requests ---- */

static cairn_client *open_client(const char *url) {
  cairn_client *c = NULL;
  assert_int_equal(cairn_client_open(&c, url, NULL, 0), CAIRN_OK);
  return c;
}

static void test_get_json(void **state) {
  server *s = *state;
  cairn_client *c = open_client(s->url);
  int status = -1;
  json_t *body = NULL;
  assert_int_equal(cairn_client_get(c, "/json", &status, &body, NULL, 0),
                   CAIRN_OK);
  assert_int_equal(status, 200);
  assert_string_equal(json_string_value(json_object_get(body, "chain_id")),
                      "t");
  assert_int_equal(json_integer_value(json_object_get(body, "height")), 5);
  json_decref(body);
  /* The same client serves many requests in a row. */
  for (int i = 0; i < 20; i++) {
    assert_int_equal(cairn_client_get(c, "/json", &status, &body, NULL, 0),
                     CAIRN_OK);
    json_decref(body);
  }
  cairn_client_close(c);
}

static void test_error_status_is_returned(void **state) {
  server *s = *state;
  cairn_client *c = open_client(s->url);
  int status = 0;
  json_t *body = NULL;
  assert_int_equal(cairn_client_get(c, "/missing", &status, &body, NULL, 0),
                   CAIRN_OK);
  assert_int_equal(status, 404);
  json_t *e = json_object_get(body, "error");
  assert_string_equal(json_string_value(json_object_get(e, "code")),
                      "not_found");
  json_decref(body);
  cairn_client_close(c);
}

static void expect_failure(cairn_client *c, const char *path, cairn_err want,
                           const char *why_part) {
  int status = -1;
  json_t *body = (json_t *)&status; /* must be reset to NULL */
  char why[512] = "";
  assert_int_equal(cairn_client_get(c, path, &status, &body, why, sizeof why),
                   want);
  assert_int_equal(status, 0);
  assert_null(body);
  if (why_part != NULL && strstr(why, why_part) == NULL) {
    fail_msg("%s: expected '%s' in: %s", path, why_part, why);
  }
}

static void test_not_json(void **state) {
  server *s = *state;
  cairn_client *c = open_client(s->url);
  expect_failure(c, "/text", CAIRN_ERR_HTTP, "not JSON");
  expect_failure(c, "/array", CAIRN_ERR_HTTP, "not a JSON object");
  expect_failure(c, "/empty", CAIRN_ERR_HTTP, NULL);
  cairn_client_close(c);
}

static void test_response_limit(void **state) {
  server *s = *state;
  cairn_client *c = open_client(s->url);
  cairn_client_set_limits(c, CAIRN_CLIENT_TIMEOUT_MS_DEFAULT, 1000);
  int status = 0;
  json_t *body = NULL;
  assert_int_equal(cairn_client_get(c, "/big1000", &status, &body, NULL, 0),
                   CAIRN_OK); /* exactly at the limit */
  assert_int_equal(strlen(json_string_value(json_object_get(body, "pad"))),
                   990);
  json_decref(body);
  expect_failure(c, "/big1001", CAIRN_ERR_OVERSIZE, "larger than 1000");
  cairn_client_close(c);
  /* The default limit, CAIRN_HTTP_RESPONSE_BYTES_MAX, is enforced too. */
  c = open_client(s->url);
  expect_failure(c, "/huge", CAIRN_ERR_OVERSIZE, NULL);
  assert_int_equal(cairn_client_get(c, "/json", &status, &body, NULL, 0),
                   CAIRN_OK);
  json_decref(body);
  cairn_client_close(c);
}

static void test_timeout(void **state) {
  server *s = *state;
  cairn_client *c = open_client(s->url);
  cairn_client_set_limits(c, 300, CAIRN_HTTP_RESPONSE_BYTES_MAX);
  expect_failure(c, "/slow", CAIRN_ERR_TIMEOUT, "within 300 ms");
  cairn_client_close(c);
}

static void test_hangup(void **state) {
  server *s = *state;
  cairn_client *c = open_client(s->url);
  expect_failure(c, "/hangup", CAIRN_ERR_NETWORK, "cannot reach");
  cairn_client_close(c);
}

static void test_closed_port(void **state) {
  (void)state;
  uint16_t port = 0;
  int fd = bind_loopback(&port); /* bound, never listening: refused */
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
  cairn_client *c = open_client(url);
  expect_failure(c, "/v1/status", CAIRN_ERR_NETWORK, "cannot reach");
  /* The client stays usable after a failure. */
  expect_failure(c, "/v1/status", CAIRN_ERR_NETWORK, NULL);
  cairn_client_close(c);
  close(fd);
}

static void test_post_and_headers(void **state) {
  server *s = *state;
  cairn_client *c = open_client(s->url);
  json_t *req = json_pack("{s:s}", "tx", "00ff");
  int status = 0;
  json_t *body = NULL;
  assert_int_equal(cairn_client_post(c, "/v1/txs", req, &status, &body, NULL,
                                     0),
                   CAIRN_OK);
  assert_int_equal(status, 200);
  assert_string_equal(json_string_value(json_object_get(body, "method")),
                      "POST");
  assert_string_equal(json_string_value(json_object_get(body, "path")),
                      "/v1/txs");
  assert_string_equal(
      json_string_value(json_object_get(body, "content_type")),
      "application/json");
  char host[64];
  snprintf(host, sizeof host, "127.0.0.1:%u", (unsigned)s->port);
  assert_string_equal(json_string_value(json_object_get(body, "host")), host);
  json_t *sent = json_loads(
      json_string_value(json_object_get(body, "body")), 0, NULL);
  assert_true(json_equal(sent, req));
  json_decref(sent);
  json_decref(body);
  json_decref(req);
  cairn_client_close(c);
}

static void test_base_path_and_bad_paths(void **state) {
  server *s = *state;
  char url[96];
  snprintf(url, sizeof url, "%s/prefix/", s->url);
  cairn_client *c = open_client(url);
  int status = 0;
  json_t *body = NULL;
  assert_int_equal(cairn_client_get(c, "/v1/status", &status, &body, NULL, 0),
                   CAIRN_OK);
  assert_string_equal(json_string_value(json_object_get(body, "path")),
                      "/prefix/v1/status");
  assert_string_equal(json_string_value(json_object_get(body, "method")),
                      "GET");
  json_decref(body);
  expect_failure(c, "v1/status", CAIRN_ERR_ARG, NULL); /* no leading '/' */
  char *longp = malloc(CAIRN_CLIENT_REQUEST_PATH_BYTES_MAX + 2);
  assert_non_null(longp);
  memset(longp, 'a', CAIRN_CLIENT_REQUEST_PATH_BYTES_MAX + 1);
  longp[0] = '/';
  longp[CAIRN_CLIENT_REQUEST_PATH_BYTES_MAX + 1] = '\0';
  expect_failure(c, longp, CAIRN_ERR_ARG, NULL);
  free(longp);
  cairn_client_close(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest url_tests[] = {
      cmocka_unit_test(test_url_rejected),
      cmocka_unit_test(test_url_accepted),
      cmocka_unit_test(test_closed_port),
  };
  const struct CMUnitTest server_tests[] = {
      cmocka_unit_test(test_get_json),
      cmocka_unit_test(test_error_status_is_returned),
      cmocka_unit_test(test_not_json),
      cmocka_unit_test(test_response_limit),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_hangup),
      cmocka_unit_test(test_post_and_headers),
      cmocka_unit_test(test_base_path_and_bad_paths),
  };
  int failed = cmocka_run_group_tests_name("client_url", url_tests, NULL,
                                           NULL);
  failed += cmocka_run_group_tests_name("client_server", server_tests,
                                        server_start, server_stop);
  return failed == 0 ? 0 : 1;
}
