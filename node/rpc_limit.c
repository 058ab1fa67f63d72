/*
 * node/rpc_limit.c - a bound on the API's open connections.
 *
 * evhttp bounds what one connection can hold (headers, body, idle time;
 * rpc.c sets those), but libevent 2.1 has no bound on how many connections
 * it accepts: a client that opens thousands and trickles a byte now and
 * then (slowloris) would hold thousands of file descriptors and buffers,
 * and at the descriptor limit accept() fails with EMFILE on every loop
 * turn, spinning the node's one thread. So the node counts connections
 * itself and stops accepting at CAIRN_HTTP_CONNECTIONS_MAX (lowered to fit
 * the process's descriptor limit): the listener is disabled, new clients
 * wait in the kernel's accept backlog, and accepting resumes as soon as a
 * connection closes. Memory is then bounded too: each connection holds at
 * most the header and body limits plus fixed overhead (limits.h).
 *
 * libevent 2.1 tells no one when evhttp frees a connection, so counting
 * uses a documented hook and a documented property of bufferevents:
 *   - evhttp_set_bevcb lets us create each connection's bufferevent; we
 *     take an extra reference on it (bufferevent_incref) and keep it in a
 *     table - that is the count;
 *   - when evhttp frees the connection, bufferevent_free clears the
 *     bufferevent's callbacks, but our reference keeps the object alive, so
 *     a sweep finds entries whose callbacks are all NULL, drops our
 *     reference (which finally frees them) and frees their slots.
 * The bufferevents are created without BEV_OPT_CLOSE_ON_FREE, so evhttp
 * closes each socket itself the moment it is done with it (clients see the
 * close at once, not at the next sweep), and our last reference never
 * touches a descriptor number that may have been reused. A sweep runs
 * before every new connection is set up - so a reused descriptor number can
 * never meet a stale entry's events - and on a timer, so that accepting
 * resumes promptly after a pause.
 *
 * All of this runs on the node's one event loop thread.
 */
#include "rpc_internal.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cairn/limits.h"

/* Descriptors kept free for everything else the node opens (store, log,
 * event loop, signals) when the connection cap is fitted to RLIMIT_NOFILE. */
#define CAIRN_RPC_FDS_RESERVED 64
/* Table slots beyond the cap: the listener stops after the connection that
 * reaches the cap, so one spare slot would do; a few more cost nothing. */
#define CAIRN_RPC_SLOTS_SPARE 16
#define CAIRN_RPC_SLOTS (CAIRN_HTTP_CONNECTIONS_MAX + CAIRN_RPC_SLOTS_SPARE)
/* How often the timer sweeps (and so how soon a paused listener resumes). */
#define CAIRN_RPC_SWEEP_MS 100

struct cairn_rpc_limit {
  struct event_base *base;
  struct evconnlistener *listener; /* evhttp's, for pausing */
  struct event *timer;
  const cairn_log *log;
  size_t max;     /* connections allowed at once */
  size_t n;       /* slots in use */
  size_t peak;    /* most connections seen at once */
  bool paused;
  struct bufferevent *slots[CAIRN_RPC_SLOTS];
};

/* The cap: CAIRN_HTTP_CONNECTIONS_MAX, or fewer if the descriptor limit
 * would be reached first (accept failing with EMFILE spins the loop). */
static size_t cairn_rpc_limit_cap(void) {
  struct rlimit rl;
  size_t cap = CAIRN_HTTP_CONNECTIONS_MAX;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (rlim_t)cap + 2 * CAIRN_RPC_FDS_RESERVED) {
    cap = rl.rlim_cur > 2 * CAIRN_RPC_FDS_RESERVED
              ? (size_t)rl.rlim_cur - CAIRN_RPC_FDS_RESERVED
              : CAIRN_RPC_FDS_RESERVED;
  }
  return cap;
}

static bool cairn_rpc_limit_released(struct bufferevent *bev) {
  bufferevent_data_cb rcb = NULL, wcb = NULL;
  bufferevent_event_cb ecb = NULL;
  bufferevent_getcb(bev, &rcb, &wcb, &ecb, NULL);
  return rcb == NULL && wcb == NULL && ecb == NULL;
}

/* Drop the entries evhttp has freed; resume accepting below the cap. */
static void cairn_rpc_limit_sweep(cairn_rpc_limit *l) {
  size_t i = 0;
  while (i < l->n) {
    if (!cairn_rpc_limit_released(l->slots[i])) {
      i++;
      continue;
    }
    (void)bufferevent_decref(l->slots[i]); /* the last reference: freed */
    l->slots[i] = l->slots[--l->n];
    l->slots[l->n] = NULL;
  }
  if (l->paused && l->n < l->max) {
    l->paused = false;
    (void)evconnlistener_enable(l->listener);
    cairn_log_info(l->log, "api: accepting connections again open=%lu",
                   (unsigned long)l->n);
  }
}

static void cairn_rpc_limit_on_timer(evutil_socket_t fd, short what,
                                     void *arg) {
  (void)fd;
  (void)what;
  cairn_rpc_limit_sweep(arg);
}

/* evhttp's hook for a new connection: count it, pause at the cap. */
static struct bufferevent *cairn_rpc_limit_new_bev(struct event_base *base,
                                                   void *arg) {
  cairn_rpc_limit *l = arg;
  cairn_rpc_limit_sweep(l);
  struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
  if (bev == NULL) return NULL; /* evhttp makes its own; out of memory */
  if (l->n < CAIRN_RPC_SLOTS) {
    bufferevent_incref(bev);
    l->slots[l->n++] = bev;
    if (l->n > l->peak) l->peak = l->n;
  }
  if (l->n >= l->max && !l->paused) {
    l->paused = true;
    (void)evconnlistener_disable(l->listener);
    cairn_log_warn(l->log, "api: %lu connections open, the limit; new "
                   "clients wait until one closes", (unsigned long)l->n);
  }
  return bev;
}

cairn_err cairn_rpc_limit_open(cairn_rpc_limit **out, struct event_base *base,
                               struct evhttp *http,
                               struct evhttp_bound_socket *bound,
                               const cairn_log *log) {
  assert(out != NULL && base != NULL && http != NULL && bound != NULL);
  *out = NULL;
  cairn_rpc_limit *l = calloc(1, sizeof *l);
  if (l == NULL) return CAIRN_ERR_NOMEM;
  l->base = base;
  l->log = log;
  l->max = cairn_rpc_limit_cap();
  assert(l->max >= 1 && l->max <= CAIRN_HTTP_CONNECTIONS_MAX);
  l->listener = evhttp_bound_socket_get_listener(bound);
  l->timer = event_new(base, -1, EV_PERSIST, cairn_rpc_limit_on_timer, l);
  struct timeval tv = {0, CAIRN_RPC_SWEEP_MS * 1000};
  if (l->listener == NULL || l->timer == NULL ||
      event_add(l->timer, &tv) != 0) {
    cairn_rpc_limit_close(l);
    return CAIRN_ERR_NOMEM;
  }
  evhttp_set_bevcb(http, cairn_rpc_limit_new_bev, l);
  *out = l;
  return CAIRN_OK;
}

void cairn_rpc_limit_close(cairn_rpc_limit *l) {
  if (l == NULL) return;
  if (l->timer != NULL) event_free(l->timer);
  /* evhttp_free has run (rpc.c closes in that order), so every connection
   * is released and these are the last references. */
  for (size_t i = 0; i < l->n; i++) (void)bufferevent_decref(l->slots[i]);
  if (l->peak > 0) {
    cairn_log_info(l->log, "api: most connections open at once=%lu limit=%lu",
                   (unsigned long)l->peak, (unsigned long)l->max);
  }
  free(l);
}
