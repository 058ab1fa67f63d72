/*
 * bench/netbench/http.c - a pipelined HTTP/1.1 client for the load
 * generator.
 *
 * The wallet's client (wallet/client.c) opens one connection per request,
 * which is right for a person and wrong for a load generator: thousands of
 * connects a second would measure the kernel, not the node. Here each
 * connection stays open and carries many requests back to back without
 * waiting for the answers (HTTP/1.1 pipelining, which evhttp serves in
 * order). Order matters: a sender's transactions must reach its node in
 * sequence order, and one connection per sender preserves it while still
 * keeping the node busy.
 *
 * Requests are appended to an output buffer that is written whenever the
 * socket takes more; responses are parsed as they arrive (status line,
 * Content-Length, body) and handed to a callback with the tag the request
 * was queued with - responses come back in request order, so a ring of
 * tags is all the bookkeeping needed. Only what cairnd sends is supported:
 * Content-Length bodies, no chunked encoding.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>

#include "bench_limits.h"
#include "netbench.h"

#define NETBENCH_HTTP_HEAD_MAX 16384u

static int grow(char **buf, size_t *cap, size_t need) {
  if (need <= *cap && *buf != NULL) return 0;
  size_t cap2 = *cap > 0 ? *cap : 4096;
  while (cap2 < need) cap2 *= 2;
  char *p = realloc(*buf, cap2);
  if (p == NULL) return -1;
  *buf = p;
  *cap = cap2;
  return 0;
}

int netbench_conn_open(netbench_conn *c, uint16_t port) {
  struct sockaddr_in sa;
  memset(c, 0, sizeof *c);
  c->port = port;
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
      setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  return 0;
}

void netbench_conn_close(netbench_conn *c) {
  if (c->fd >= 0) close(c->fd);
  free(c->out);
  free(c->in);
  free(c->tags);
  memset(c, 0, sizeof *c);
  c->fd = -1;
}

static int push_tag(netbench_conn *c, uint64_t tag) {
  if (c->tag_count == c->tag_cap) {
    size_t cap = c->tag_cap > 0 ? c->tag_cap * 2 : 64;
    uint64_t *t = malloc(cap * sizeof *t);
    if (t == NULL) return -1;
    for (size_t i = 0; i < c->tag_count; i++)
      t[i] = c->tags[(c->tag_head + i) % c->tag_cap];
    free(c->tags);
    c->tags = t;
    c->tag_cap = cap;
    c->tag_head = 0;
  }
  c->tags[(c->tag_head + c->tag_count) % c->tag_cap] = tag;
  c->tag_count++;
  return 0;
}

int netbench_conn_request(netbench_conn *c, const char *method,
                          const char *path, const char *body, size_t len,
                          uint64_t tag) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s"
                   "Content-Length: %zu\r\n\r\n",
                   method, path, (unsigned)c->port,
                   body != NULL ? "Content-Type: application/json\r\n" : "",
                   body != NULL ? len : 0);
  if (n < 0 || (size_t)n >= sizeof head) return -1;
  if (c->out_off > 0 && c->out_off == c->out_len) c->out_off = c->out_len = 0;
  if (grow(&c->out, &c->out_cap, c->out_len + (size_t)n + len) != 0 ||
      push_tag(c, tag) != 0)
    return -1;
  memcpy(c->out + c->out_len, head, (size_t)n);
  c->out_len += (size_t)n;
  if (body != NULL) memcpy(c->out + c->out_len, body, len);
  if (body != NULL) c->out_len += len;
  return 0;
}

int netbench_conn_flush(netbench_conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                     MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c->out_off += (size_t)w;
  }
  c->out_off = c->out_len = 0;
  return 0;
}

/* The Content-Length of a header block (0 if absent), or -1 if chunked or
 * malformed. */
static long content_length(const char *head, size_t len) {
  const char *p = head;
  const char *end = head + len;
  long cl = 0;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - p) > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
      cl = strtol(p + 15, NULL, 10);
    if ((size_t)(eol - p) > 18 &&
        strncasecmp(p, "Transfer-Encoding:", 18) == 0)
      return -1;
    p = eol + 1;
  }
  return cl >= 0 && cl <= (long)NETBENCH_HTTP_BODY_MAX ? cl : -1;
}

/* Deliver the first complete response in c->in after *pos, if any, and
 * move *pos past it: 1 delivered, 0 not complete yet, -1 malformed. */
static int parse_one(netbench_conn *c, size_t *pos, netbench_http_cb cb,
                     void *ctx) {
  const char *in = c->in + *pos;
  size_t avail = c->in_len - *pos;
  const char *hend = NULL;
  for (size_t i = 3; i < avail && hend == NULL; i++)
    if (memcmp(in + i - 3, "\r\n\r\n", 4) == 0) hend = in + i + 1;
  if (hend == NULL) return avail > NETBENCH_HTTP_HEAD_MAX ? -1 : 0;
  size_t hlen = (size_t)(hend - in);
  if (hlen < 12 || memcmp(in, "HTTP/1.", 7) != 0 || c->tag_count == 0)
    return -1;
  int status = (int)strtol(in + 9, NULL, 10);
  long cl = content_length(in, hlen);
  if (cl < 0 || status < 100) return -1;
  if (avail < hlen + (size_t)cl) return 0;
  uint64_t tag = c->tags[c->tag_head];
  c->tag_head = (c->tag_head + 1) % c->tag_cap;
  c->tag_count--;
  *pos += hlen + (size_t)cl;
  cb(ctx, tag, status, hend, (size_t)cl);
  return 1;
}

/* Deliver every complete response, then drop their bytes. */
static int parse_all(netbench_conn *c, netbench_http_cb cb, void *ctx) {
  size_t pos = 0;
  int got;
  while ((got = parse_one(c, &pos, cb, ctx)) == 1) {
  }
  memmove(c->in, c->in + pos, c->in_len - pos);
  c->in_len -= pos;
  return got < 0 ? -1 : 0;
}

int netbench_conn_read(netbench_conn *c, netbench_http_cb cb, void *ctx) {
  for (;;) {
    if (grow(&c->in, &c->in_cap, c->in_len + 65536) != 0) return -1;
    ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      (void)parse_all(c, cb, ctx); /* what came before the close */
      return -1;
    }
    c->in_len += (size_t)r;
    if (parse_all(c, cb, ctx) != 0) return -1;
  }
  return 0;
}

typedef struct once_result {
  int status;
  char *body;
  bool done;
} once_result;

static void once_cb(void *ctx, uint64_t tag, int status, const char *body,
                    size_t len) {
  once_result *r = ctx;
  (void)tag;
  r->status = status;
  free(r->body); /* only one response is expected; keep the last */
  r->body = malloc(len + 1);
  if (r->body != NULL) {
    memcpy(r->body, body, len);
    r->body[len] = '\0';
  }
  r->done = true;
}

int netbench_http_once(uint16_t port, const char *method, const char *path,
                       const char *req_body, double timeout_s, int *status,
                       char **body) {
  netbench_conn c;
  once_result r = {0, NULL, false};
  *status = 0;
  *body = NULL;
  if (netbench_conn_open(&c, port) != 0) return -1;
  int rc = netbench_conn_request(&c, method, path, req_body,
                                 req_body ? strlen(req_body) : 0, 0);
  double deadline = bench_now() + timeout_s;
  while (rc == 0 && !r.done) {
    struct pollfd pfd = {c.fd, POLLIN, 0};
    if (netbench_conn_wants_write(&c)) pfd.events |= POLLOUT;
    double left = deadline - bench_now();
    if (left <= 0) rc = -1;
    if (rc == 0 && poll(&pfd, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
      rc = -1;
    if (rc == 0 && (pfd.revents & POLLOUT)) rc = netbench_conn_flush(&c);
    if (rc == 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
      rc = netbench_conn_read(&c, once_cb, &r);
      if (r.done) rc = 0; /* answered, then closed */
    }
  }
  netbench_conn_close(&c);
  if (rc == 0 && r.body == NULL) rc = -1;
  if (rc != 0) {
    free(r.body);
    return -1;
  }
  *status = r.status;
  *body = r.body;
  return 0;
}
