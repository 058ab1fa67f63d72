/*
 * node/p2p.c - authenticated, encrypted links between nodes, on libevent.
 *
 * What it does. A cairn_p2p listens for peers, dials the peers in the
 * configuration, runs the handshake of p2p_session.c on every link, and
 * then carries peer messages (p2p_msg.h) in encrypted frames, handing each
 * decoded message to the node's handler. Everything runs on the node's one
 * event loop thread; there are no locks and no global state.
 *
 * A link's life. A link is created by an accept or a dial and starts its
 * handshake deadline. Both sides send their hello at once (the dialler when
 * its connect completes). On the peer's hello we derive the session keys
 * and send our auth frame; the peer's auth frame names its node key, which
 * must be the one configured for that address (outbound) or one we allow
 * (inbound), not banned, not our own. Then the link is "up": it gets a peer
 * id, on_peer(up) is called, and frames carry messages both ways. It goes
 * down on EOF, a socket error, a bad frame, the idle timeout, a limit, a
 * punishment or a duplicate; on_peer(down) is called only for links that
 * were reported up.
 *
 * Limits, and where each is enforced:
 *   - frame size: the 4-byte length is checked (cairn_p2p_frame_length)
 *     before the body is waited for, and the read high-watermark is one
 *     maximal frame, so a peer can make us buffer at most about one frame;
 *     before a link is up the watermark is 4 KiB and the first frame must
 *     be exactly an auth frame, so strangers cannot make us buffer more;
 *   - handshake deadline and idle timeout: one timer per link; an up link
 *     also sends a keepalive (an empty frame) after a third of the idle time
 *     without sending, so quiet but healthy links stay up;
 *   - send queue: a send that would push the bufferevent's output past the
 *     limit fails with PEER_RATE and the peer, too slow to keep up, is
 *     dropped (not banned: slowness is not malice);
 *   - inbound rate: two token buckets per link (messages and bytes per
 *     second, a second's worth of burst) on the monotonic clock; a frame
 *     the buckets cannot pay for stays in the input buffer and reading
 *     pauses until they have refilled enough (backpressure through TCP,
 *     as a busy honest peer deserves: banning it would cost the network a
 *     validator exactly when it is loaded);
 *   - peers: at most CAIRN_P2P_PEERS_MAX links up, at most as many inbound
 *     handshakes in progress (an accept beyond that is closed at once);
 *   - one link per key: when a second link to a key comes up, the link
 *     dialled by the lower of the two node keys is kept (both sides apply
 *     the same rule, so a simultaneous dial converges on one link); two
 *     links dialled by the same side keep the newer one, since the dialler
 *     only redials once it has lost the old one.
 *
 * Misbehaviour. A message that does not decode or an oversize frame from
 * an authenticated peer is punished: the link is
 * closed and the key banned for CAIRN_P2P_BAN_MS (neither dialled nor
 * accepted). A frame that fails authentication closes the link without a
 * ban: altered bytes may come from the network rather than the peer, and
 * banning on them would let anyone on the path cut us off from an honest
 * peer for longer than closing the link does.
 *
 * Dialling. Each configured peer has a dial entry with a timer. While no
 * link to its key is up or being dialled, the timer dials; a failed or
 * refused attempt doubles the delay from CAIRN_P2P_BACKOFF_MIN_MS to
 * CAIRN_P2P_BACKOFF_MAX_MS, and a link that stayed up longer than the
 * maximum delay resets it. Host names are resolved with libevent's
 * blocking resolver (no evdns base): configured peers are numeric
 * addresses or names from /etc/hosts in practice.
 *
 * Memory and secrets. The node's secret key is copied into sodium_malloc'd
 * memory (guarded, locked where the OS allows) and made read-only; each
 * link's session keys live in their own sodium_malloc'd session, wiped and
 * freed with the link. Two message-sized scratch buffers are allocated
 * once: one for received plaintext (the message handed to on_message
 * points into it), one for encoding outgoing messages, so a handler may
 * send or broadcast the message it was handed.
 *
 * Handlers may call any function here except cairn_p2p_close. Links closed
 * inside a callback are unlinked at once and freed from a deferred event,
 * so no callback ever touches freed memory.
 */
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/p2p.h"
#include "cairn/p2p_session.h"
#include "clock.h"

/* Links that can exist at once: the up ones, inbound handshakes, and one
 * dial attempt per configured peer. */
#define P2P_LINKS_MAX (3 * CAIRN_P2P_PEERS_MAX)
/* Bans: only authenticated keys are banned, so the configured and the
 * allowed keys bound them. */
#define P2P_BANS_MAX (CAIRN_P2P_PEERS_MAX + CAIRN_VALIDATORS_MAX)
/* After accept() fails (descriptors exhausted), wait before accepting
 * again rather than spinning on the error. */
#define P2P_ACCEPT_PAUSE_MS 1000u
/* What a link may make us buffer before it is up: a hello and an auth
 * frame (189 bytes) with room to spare. An unauthenticated stranger holds
 * no more than this; an up link, one frame. */
#define P2P_HANDSHAKE_READ_MAX 4096u
#define P2P_ADDR_BUF 80
#define P2P_KEY_HEX_BUF (2 * CAIRN_ED25519_PUBKEY_BYTES + 1)

_Static_assert(CAIRN_P2P_BACKOFF_MIN_MS >= 1 &&
                   CAIRN_P2P_BACKOFF_MIN_MS <= CAIRN_P2P_BACKOFF_MAX_MS,
               "backoff range");
_Static_assert(CAIRN_P2P_IDLE_MS >= 3, "keepalive is a third of idle");
_Static_assert(P2P_HANDSHAKE_READ_MAX >=
                   CAIRN_P2P_HELLO_BYTES +
                       CAIRN_P2P_LEN_BYTES + CAIRN_P2P_AUTH_BYTES +
                       CAIRN_P2P_TAG_BYTES,
               "a hello and an auth frame fit the handshake read bound");
_Static_assert(CAIRN_P2P_SENDQ_BYTES_MAX >= CAIRN_P2P_FRAME_BYTES_MAX,
               "one maximal frame must fit the send queue");
_Static_assert(CAIRN_P2P_RATE_BYTES >= CAIRN_P2P_FRAME_BYTES_MAX,
               "one maximal frame must pass the byte rate");

typedef enum p2p_state {
  P2P_CONNECTING, /* outbound, TCP connect in progress */
  P2P_HELLO,      /* waiting for the peer's hello */
  P2P_AUTH,       /* keys set, waiting for the peer's auth frame */
  P2P_UP,
  P2P_DEAD /* closed, waiting for the reaper */
} p2p_state;

typedef struct p2p_dial p2p_dial;

typedef struct p2p_link {
  cairn_p2p *p;
  struct bufferevent *bev;
  struct event *timer;
  cairn_p2p_session *sess; /* sodium_malloc'd: holds the session keys */
  cairn_peer_id id;
  p2p_state state;
  bool outbound;
  p2p_dial *dial; /* outbound only */
  uint8_t key[CAIRN_ED25519_PUBKEY_BYTES]; /* the peer's, once authed */
  bool authed; /* its auth frame verified: key is set */
  char addr[P2P_ADDR_BUF];
  uint64_t up_ms, last_rx_ms, last_tx_ms;
  /* Token buckets in thousandths of a message / byte. */
  uint64_t tok_msgs, tok_bytes, tok_ms;
  struct event *resume; /* re-enables reading after a rate pause */
  struct p2p_link *next_dead;
} p2p_link;

struct p2p_dial {
  cairn_p2p *p;
  cairn_p2p_peer_conf conf;
  struct event *timer;
  p2p_link *link; /* the attempt in progress, or the link it made */
  uint32_t backoff_ms;
};

typedef struct p2p_ban {
  uint8_t key[CAIRN_ED25519_PUBKEY_BYTES];
  uint64_t until_ms; /* 0: free slot */
} p2p_ban;

struct cairn_p2p {
  struct event_base *base;
  const cairn_log *log;
  uint8_t *node_sk; /* sodium_malloc'd, read-only */
  uint8_t node_pk[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  cairn_p2p_handlers h;
  uint32_t handshake_ms, idle_ms, backoff_min_ms, backoff_max_ms, ban_ms;
  uint32_t rate_msgs;
  uint64_t rate_bytes;
  size_t sendq_max, peers_max;
  struct evconnlistener *listener;
  struct event *accept_timer;
  uint16_t port;
  p2p_dial *dials;
  size_t n_dials;
  uint8_t extra[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES];
  size_t n_extra;
  p2p_ban bans[P2P_BANS_MAX];
  p2p_link *links[P2P_LINKS_MAX];
  size_t n_links, n_up, n_inbound_pending;
  cairn_peer_id next_id;
  p2p_link *dead;
  struct event *reaper;
  uint8_t *rx_plain; /* CAIRN_P2P_MSG_BYTES_MAX */
  uint8_t *tx_plain; /* CAIRN_P2P_MSG_BYTES_MAX */
  int in_handler;
};

static void p2p_link_close(p2p_link *l, cairn_err err, const char *reason);
static void p2p_dial_schedule(p2p_dial *d, uint32_t delay_ms);
static void p2p_link_on_read(struct bufferevent *bev, void *arg);
static void p2p_link_pause(p2p_link *l, uint64_t wait_ms);
static void p2p_link_on_event(struct bufferevent *bev, short what, void *arg);

/* ---- small helpers ---- */

static void p2p_short_key(char out[CAIRN_LOG_SHORT_HASH_BUF],
                          const uint8_t key[32]) {
  cairn_log_short_hash(out, CAIRN_LOG_SHORT_HASH_BUF, key);
}

static struct timeval p2p_tv(uint32_t ms) {
  struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)(ms % 1000u) * 1000};
  return tv;
}

static uint32_t p2p_or(uint32_t v, uint32_t dflt) { return v ? v : dflt; }

static bool p2p_key_configured(const cairn_p2p *p, const uint8_t key[32]) {
  for (size_t i = 0; i < p->n_dials; i++) {
    if (memcmp(p->dials[i].conf.key, key, 32) == 0) return true;
  }
  return false;
}

static bool p2p_key_allowed(const cairn_p2p *p, const uint8_t key[32]) {
  if (p2p_key_configured(p, key)) return true;
  for (size_t i = 0; i < p->n_extra; i++) {
    if (memcmp(p->extra[i], key, 32) == 0) return true;
  }
  return false;
}

/* Milliseconds the key stays banned (0: not banned). */
static uint64_t p2p_ban_left(const cairn_p2p *p, const uint8_t key[32]) {
  uint64_t now = cairn_clock_mono_ms();
  for (size_t i = 0; i < P2P_BANS_MAX; i++) {
    const p2p_ban *b = &p->bans[i];
    if (b->until_ms > now && memcmp(b->key, key, 32) == 0)
      return b->until_ms - now;
  }
  return 0;
}

/* Ban key until now + ban_ms: its own slot, a free or expired one, or
 * else the one that expires first. */
static void p2p_ban_add(cairn_p2p *p, const uint8_t key[32]) {
  uint64_t now = cairn_clock_mono_ms();
  size_t pick = 0;
  for (size_t i = 0; i < P2P_BANS_MAX; i++) {
    p2p_ban *b = &p->bans[i];
    if (memcmp(b->key, key, 32) == 0 || b->until_ms <= now) {
      pick = i;
      break;
    }
    if (b->until_ms < p->bans[pick].until_ms) pick = i;
  }
  memcpy(p->bans[pick].key, key, 32);
  p->bans[pick].until_ms = now + p->ban_ms;
}

static p2p_link *p2p_find_up_key(const cairn_p2p *p, const uint8_t key[32]) {
  for (size_t i = 0; i < p->n_links; i++) {
    p2p_link *l = p->links[i];
    if (l->state == P2P_UP && memcmp(l->key, key, 32) == 0) return l;
  }
  return NULL;
}

static p2p_link *p2p_find_id(const cairn_p2p *p, cairn_peer_id id) {
  for (size_t i = 0; i < p->n_links; i++) {
    if (p->links[i]->state == P2P_UP && p->links[i]->id == id)
      return p->links[i];
  }
  return NULL;
}

static void p2p_notify_peer(cairn_p2p *p, cairn_peer_id id, bool up) {
  if (p->h.on_peer == NULL) return;
  p->in_handler++;
  p->h.on_peer(p->h.ctx, id, up);
  p->in_handler--;
}

/* ---- link creation and teardown ---- */

static void p2p_link_free(p2p_link *l) {
  if (l->bev != NULL) bufferevent_free(l->bev);
  if (l->timer != NULL) event_free(l->timer);
  if (l->resume != NULL) event_free(l->resume);
  if (l->sess != NULL) {
    cairn_p2p_session_wipe(l->sess);
    sodium_free(l->sess);
  }
  free(l);
}

static void p2p_on_reap(evutil_socket_t fd, short what, void *arg) {
  cairn_p2p *p = arg;
  (void)fd;
  (void)what;
  while (p->dead != NULL) {
    p2p_link *l = p->dead;
    p->dead = l->next_dead;
    p2p_link_free(l);
  }
}

static void p2p_link_on_timer(evutil_socket_t fd, short what, void *arg);

/* A new link around bev (which it owns from now on). NULL when the table
 * is full or memory is short; bev is then freed. */
static p2p_link *p2p_link_new(cairn_p2p *p, struct bufferevent *bev,
                              bool outbound, const char *addr) {
  p2p_link *l = NULL;
  size_t sess_bytes = (sizeof(cairn_p2p_session) + 15u) & ~(size_t)15u;
  if (p->n_links < P2P_LINKS_MAX) l = calloc(1, sizeof *l);
  if (l == NULL) {
    bufferevent_free(bev);
    return NULL;
  }
  l->p = p;
  l->bev = bev;
  l->outbound = outbound;
  snprintf(l->addr, sizeof l->addr, "%s", addr);
  l->timer = evtimer_new(p->base, p2p_link_on_timer, l);
  /* Sized to a multiple of 16 so that sodium_malloc's end-of-page
   * placement keeps the struct aligned. */
  l->sess = sodium_malloc(sess_bytes);
  struct timeval tv = p2p_tv(p->handshake_ms);
  if (l->timer == NULL || l->sess == NULL || evtimer_add(l->timer, &tv) != 0) {
    p2p_link_free(l);
    return NULL;
  }
  cairn_p2p_session_init(l->sess,
                         outbound ? CAIRN_P2P_ROLE_DIALLER
                                  : CAIRN_P2P_ROLE_ACCEPTOR,
                         p->genesis_hash, NULL);
  l->state = outbound ? P2P_CONNECTING : P2P_HELLO;
  l->last_rx_ms = l->last_tx_ms = cairn_clock_mono_ms();
  bufferevent_setcb(bev, p2p_link_on_read, NULL, p2p_link_on_event, l);
  bufferevent_setwatermark(bev, EV_READ, 0, P2P_HANDSHAKE_READ_MAX);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  p->links[p->n_links++] = l;
  if (!outbound) p->n_inbound_pending++;
  return l;
}

/* The key to name a link by in logs: the peer's once known, else the one
 * expected at that address, else none. */
static const uint8_t *p2p_link_log_key(const p2p_link *l) {
  if (l->authed) return l->key;
  if (l->dial != NULL) return l->dial->conf.key;
  return NULL;
}

static void p2p_link_log_close(const p2p_link *l, cairn_err err,
                               const char *reason) {
  char k[CAIRN_LOG_SHORT_HASH_BUF] = "-";
  const uint8_t *key = p2p_link_log_key(l);
  if (key != NULL) p2p_short_key(k, key);
  if (l->state == P2P_UP) {
    cairn_log_info(l->p->log,
                   "p2p: peer down id=%u key=%s addr=%s reason=\"%s\" err=%s",
                   (unsigned)l->id, k, l->addr, reason, cairn_errname(err));
  } else {
    cairn_log_info(l->p->log,
                   "p2p: link closed before up dir=%s key=%s addr=%s "
                   "reason=\"%s\" err=%s",
                   l->outbound ? "out" : "in", k, l->addr, reason,
                   cairn_errname(err));
  }
}

/* After a link to key went away: redial the configured entries for key
 * that have nothing in progress. */
static void p2p_dial_kick(cairn_p2p *p, const uint8_t key[32]) {
  for (size_t i = 0; i < p->n_dials; i++) {
    p2p_dial *d = &p->dials[i];
    if (d->link == NULL && memcmp(d->conf.key, key, 32) == 0 &&
        !evtimer_pending(d->timer, NULL)) {
      p2p_dial_schedule(d, d->backoff_ms);
      d->backoff_ms = d->backoff_ms >= p->backoff_max_ms / 2
                          ? p->backoff_max_ms
                          : d->backoff_ms * 2;
    }
  }
}

/* Unlink l from the table and the dial, update the counts; l is freed
 * later by the reaper. Returns whether l had been reported up. */
static bool p2p_link_detach(p2p_link *l) {
  cairn_p2p *p = l->p;
  bool was_up = l->state == P2P_UP;
  for (size_t i = 0; i < p->n_links; i++) {
    if (p->links[i] == l) {
      p->links[i] = p->links[--p->n_links];
      p->links[p->n_links] = NULL;
      break;
    }
  }
  if (was_up) {
    assert(p->n_up > 0);
    p->n_up--;
    /* A link that stayed up long enough resets the dial's backoff. */
    uint64_t lived = cairn_clock_mono_ms() - l->up_ms;
    for (size_t i = 0; i < p->n_dials; i++) {
      if (lived >= p->backoff_max_ms &&
          memcmp(p->dials[i].conf.key, l->key, 32) == 0)
        p->dials[i].backoff_ms = p->backoff_min_ms;
    }
  } else if (!l->outbound) {
    assert(p->n_inbound_pending > 0);
    p->n_inbound_pending--;
  }
  if (l->dial != NULL && l->dial->link == l) l->dial->link = NULL;
  l->state = P2P_DEAD;
  if (l->bev != NULL) {
    bufferevent_free(l->bev); /* safe inside its own callback */
    l->bev = NULL;
  }
  event_del(l->timer);
  cairn_p2p_session_wipe(l->sess);
  l->next_dead = p->dead;
  p->dead = l;
  event_active(p->reaper, EV_TIMEOUT, 0);
  return was_up;
}

static void p2p_link_close(p2p_link *l, cairn_err err, const char *reason) {
  cairn_p2p *p = l->p;
  uint8_t key[32];
  if (l->state == P2P_DEAD) return;
  p2p_link_log_close(l, err, reason);
  const uint8_t *k = p2p_link_log_key(l);
  bool have_key = k != NULL;
  if (have_key) memcpy(key, k, 32);
  cairn_peer_id id = l->id;
  bool was_up = p2p_link_detach(l);
  if (was_up) p2p_notify_peer(p, id, false);
  if (have_key && p2p_find_up_key(p, key) == NULL) p2p_dial_kick(p, key);
}

/* ---- sending ---- */

/* Seal plain into l's output. The caller checked the queue limit. */
static cairn_err p2p_link_write(p2p_link *l, const uint8_t *plain,
                                size_t plain_len) {
  struct evbuffer *out = bufferevent_get_output(l->bev);
  struct evbuffer_iovec vec;
  size_t need = cairn_p2p_frame_bytes(plain_len), len = 0;
  if (evbuffer_reserve_space(out, (ev_ssize_t)need, &vec, 1) < 1 ||
      vec.iov_len < need) {
    return CAIRN_ERR_NOMEM;
  }
  cairn_err err = cairn_p2p_session_seal(l->sess, vec.iov_base, vec.iov_len,
                                         &len, plain, plain_len);
  if (err != CAIRN_OK) return err;
  assert(len == need);
  vec.iov_len = len;
  if (evbuffer_commit_space(out, &vec, 1) != 0) return CAIRN_ERR_NOMEM;
  l->last_tx_ms = cairn_clock_mono_ms();
  return CAIRN_OK;
}

/* Whether a frame of plain_len bytes still fits l's send queue. */
static bool p2p_link_fits(const p2p_link *l, size_t plain_len) {
  size_t queued = evbuffer_get_length(bufferevent_get_output(l->bev));
  return queued + cairn_p2p_frame_bytes(plain_len) <= l->p->sendq_max;
}

/* Queue an already encoded message; drops the link if its queue is full. */
static cairn_err p2p_link_send_plain(p2p_link *l, const uint8_t *plain,
                                     size_t plain_len) {
  if (!p2p_link_fits(l, plain_len)) {
    p2p_link_close(l, CAIRN_ERR_PEER_RATE, "send queue full: peer too slow");
    return CAIRN_ERR_PEER_RATE;
  }
  cairn_err err = p2p_link_write(l, plain, plain_len);
  if (err != CAIRN_OK) p2p_link_close(l, err, "cannot queue a frame");
  return err;
}

cairn_err cairn_p2p_send(cairn_p2p *p, cairn_peer_id peer,
                         const cairn_p2p_msg *m) {
  size_t len = 0;
  assert(p != NULL && m != NULL);
  p2p_link *l = p2p_find_id(p, peer);
  if (l == NULL) return CAIRN_ERR_NOT_FOUND;
  size_t size = cairn_p2p_msg_size(m);
  if (!p2p_link_fits(l, size)) {
    p2p_link_close(l, CAIRN_ERR_PEER_RATE, "send queue full: peer too slow");
    return CAIRN_ERR_PEER_RATE;
  }
  cairn_err err =
      cairn_p2p_msg_encode(p->tx_plain, CAIRN_P2P_MSG_BYTES_MAX, &len, m);
  assert(err == CAIRN_OK && len == size); /* the buffer fits any message */
  (void)err;
  return p2p_link_send_plain(l, p->tx_plain, len);
}

void cairn_p2p_broadcast(cairn_p2p *p, const cairn_p2p_msg *m,
                         cairn_peer_id except) {
  cairn_peer_id slow[P2P_LINKS_MAX];
  size_t n_slow = 0, len = 0;
  assert(p != NULL && m != NULL);
  cairn_err err =
      cairn_p2p_msg_encode(p->tx_plain, CAIRN_P2P_MSG_BYTES_MAX, &len, m);
  assert(err == CAIRN_OK);
  (void)err;
  /* Seal for every peer first and drop the slow ones afterwards: closing
   * runs on_peer, whose handler may send and reuse tx_plain. */
  for (size_t i = 0; i < p->n_links; i++) {
    p2p_link *l = p->links[i];
    if (l->state != P2P_UP || l->id == except) continue;
    if (!p2p_link_fits(l, len) || p2p_link_write(l, p->tx_plain, len) != 0)
      slow[n_slow++] = l->id;
  }
  for (size_t i = 0; i < n_slow; i++) {
    p2p_link *l = p2p_find_id(p, slow[i]);
    if (l != NULL)
      p2p_link_close(l, CAIRN_ERR_PEER_RATE, "send queue full: peer too slow");
  }
}

/* ---- receiving ---- */

/* Charge one received frame of n bytes to l's token buckets. False if
 * either bucket cannot pay; *wait_ms is then how long until both can.
 * Buckets hold a second's worth and refill continuously on the monotonic
 * clock. */
static bool p2p_link_charge(p2p_link *l, size_t n, uint64_t *wait_ms) {
  const cairn_p2p *p = l->p;
  uint64_t now = cairn_clock_mono_ms();
  uint64_t dt = now - l->tok_ms;
  if (dt > 1000) dt = 1000; /* a full bucket; also keeps the products small */
  l->tok_ms = now;
  uint64_t cap_msgs = (uint64_t)p->rate_msgs * 1000u;
  uint64_t cap_bytes = p->rate_bytes * 1000u;
  l->tok_msgs += dt * p->rate_msgs;
  l->tok_bytes += dt * p->rate_bytes;
  if (l->tok_msgs > cap_msgs) l->tok_msgs = cap_msgs;
  if (l->tok_bytes > cap_bytes) l->tok_bytes = cap_bytes;
  uint64_t cost_bytes = (uint64_t)n * 1000u;
  if (l->tok_msgs < 1000u || l->tok_bytes < cost_bytes) {
    uint64_t w_msgs = l->tok_msgs < 1000u
                          ? (1000u - l->tok_msgs) / p->rate_msgs + 1 : 0;
    uint64_t w_bytes = l->tok_bytes < cost_bytes
                           ? (cost_bytes - l->tok_bytes) / p->rate_bytes + 1
                           : 0;
    *wait_ms = w_msgs > w_bytes ? w_msgs : w_bytes;
    return false;
  }
  l->tok_msgs -= 1000u;
  l->tok_bytes -= cost_bytes;
  return true;
}

/* One plaintext from an up link: a keepalive or a message. */
static void p2p_link_on_plain(p2p_link *l, const uint8_t *plain, size_t n) {
  cairn_p2p *p = l->p;
  cairn_p2p_msg m;
  if (n == 0) return; /* keepalive */
  cairn_err err = cairn_p2p_msg_decode(&m, plain, n);
  if (err != CAIRN_OK) {
    char why[96];
    snprintf(why, sizeof why, "malformed message (%s)", cairn_errname(err));
    cairn_p2p_punish(p, l->id, CAIRN_ERR_PEER_PROTOCOL, why);
    return;
  }
  if (p->h.on_message == NULL) return;
  p->in_handler++;
  p->h.on_message(p->h.ctx, l->id, &m);
  p->in_handler--;
}

/* Which node key dialled l. */
static const uint8_t *p2p_link_dialler(const p2p_link *l) {
  return l->outbound ? l->p->node_pk : l->key;
}

/* l authenticated as l->key while `old` is up with the same key: keep the
 * link dialled by the lower key, or the newer if one side dialled both.
 * Returns the link to close. */
static p2p_link *p2p_duplicate_loser(p2p_link *l, p2p_link *old) {
  int c = memcmp(p2p_link_dialler(l), p2p_link_dialler(old), 32);
  if (c == 0) return old;
  return c < 0 ? old : l;
}

/* Whether key may be on this link; closes it (saying why) if not. */
static bool p2p_link_key_ok(p2p_link *l, const uint8_t key[32]) {
  cairn_p2p *p = l->p;
  char hex[P2P_KEY_HEX_BUF], want[CAIRN_LOG_SHORT_HASH_BUF];
  cairn_hex_encode(hex, sizeof hex, key, 32);
  if (memcmp(key, p->node_pk, 32) == 0) {
    p2p_link_close(l, CAIRN_ERR_PEER_AUTH, "the peer has our own node key");
    return false;
  }
  if (l->outbound && memcmp(key, l->dial->conf.key, 32) != 0) {
    p2p_short_key(want, l->dial->conf.key);
    cairn_log_warn(p->log, "p2p: refused %s: node key %s is not the key "
                   "configured for it (%s)", l->addr, hex, want);
    p2p_link_close(l, CAIRN_ERR_PEER_AUTH, "wrong node key");
    return false;
  }
  if (!l->outbound && !p2p_key_allowed(p, key)) {
    cairn_log_warn(p->log, "p2p: refused unknown node key %s from %s", hex,
                   l->addr);
    p2p_link_close(l, CAIRN_ERR_PEER_AUTH, "unknown node key");
    return false;
  }
  uint64_t left = p2p_ban_left(p, key);
  if (left > 0) {
    cairn_log_info(p->log, "p2p: refused banned node key %s from %s for "
                   "%llu ms more", hex, l->addr, (unsigned long long)left);
    p2p_link_close(l, CAIRN_ERR_PEER_AUTH, "banned node key");
    return false;
  }
  return true;
}

/* The link is authenticated as key: resolve duplicates, check the peer
 * count, then bring it up. */
static void p2p_link_up(p2p_link *l, const uint8_t key[32]) {
  cairn_p2p *p = l->p;
  p2p_link *old = p2p_find_up_key(p, key);
  memcpy(l->key, key, 32);
  l->authed = true;
  if (old != NULL) {
    p2p_link *loser = p2p_duplicate_loser(l, old);
    p2p_link_close(loser, CAIRN_OK, "duplicate link to the same node key");
    if (loser == l) return;
  }
  if (p->n_up >= p->peers_max) {
    p2p_link_close(l, CAIRN_ERR_LIMIT, "too many peers");
    return;
  }
  if (!l->outbound) p->n_inbound_pending--;
  l->state = P2P_UP;
  l->id = p->next_id++;
  if (p->next_id == CAIRN_P2P_NO_PEER) p->next_id = 1;
  p->n_up++;
  l->up_ms = l->tok_ms = cairn_clock_mono_ms();
  l->tok_msgs = (uint64_t)p->rate_msgs * 1000u;
  l->tok_bytes = p->rate_bytes * 1000u;
  if (l->dial != NULL) l->dial->link = l;
  bufferevent_setwatermark(l->bev, EV_READ, 0, CAIRN_P2P_FRAME_BYTES_MAX);
  struct timeval tv = p2p_tv(p->idle_ms / 3u);
  evtimer_add(l->timer, &tv);
  char k[CAIRN_LOG_SHORT_HASH_BUF];
  p2p_short_key(k, key);
  cairn_log_info(p->log, "p2p: peer up id=%u key=%s addr=%s dir=%s",
                 (unsigned)l->id, k, l->addr, l->outbound ? "out" : "in");
  p2p_notify_peer(p, l->id, true);
}

static void p2p_link_on_auth(p2p_link *l, const uint8_t *plain, size_t n) {
  uint8_t key[32];
  cairn_err err = cairn_p2p_session_auth_check(l->sess, key, plain, n);
  if (err == CAIRN_ERR_PEER_AUTH) {
    p2p_link_close(l, err, "bad handshake signature");
    return;
  }
  if (err != CAIRN_OK) {
    p2p_link_close(l, CAIRN_ERR_PEER_PROTOCOL, "malformed auth message");
    return;
  }
  if (p2p_link_key_ok(l, key)) p2p_link_up(l, key);
}

/* A frame header says more than the limit, or less than a tag (err says
 * which): an authenticated peer is punished, anyone else just dropped. */
static void p2p_link_bad_length(p2p_link *l, cairn_err err,
                                const uint8_t hdr[4]) {
  char why[96];
  snprintf(why, sizeof why, "frame length %lu outside %u..%lu",
           (unsigned long)cairn_be32_read(hdr),
           (unsigned)CAIRN_P2P_FRAME_CT_MIN,
           (unsigned long)CAIRN_P2P_FRAME_CT_MAX);
  if (l->state == P2P_UP)
    cairn_p2p_punish(l->p, l->id, CAIRN_ERR_PEER_PROTOCOL, why);
  else
    p2p_link_close(l, err, why);
}

/* Open the next frame in l's input if it is all there. Returns false when
 * there is nothing more to do now (incomplete, or the link closed). */
static bool p2p_link_read_frame(p2p_link *l) {
  cairn_p2p *p = l->p;
  struct evbuffer *in = bufferevent_get_input(l->bev);
  uint8_t hdr[CAIRN_P2P_LEN_BYTES];
  uint32_t ct_len = 0;
  size_t plain_len = 0;
  if (evbuffer_get_length(in) < sizeof hdr) return false;
  if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
    return false;
  cairn_err err = cairn_p2p_frame_length(&ct_len, hdr);
  if (err == CAIRN_OK && l->state == P2P_AUTH &&
      ct_len != CAIRN_P2P_AUTH_BYTES + CAIRN_P2P_TAG_BYTES) {
    p2p_link_close(l, CAIRN_ERR_PEER_PROTOCOL,
                   "first frame is not an auth message");
    return false;
  }
  if (err != CAIRN_OK) {
    p2p_link_bad_length(l, err, hdr);
    return false;
  }
  size_t frame_len = sizeof hdr + ct_len;
  if (evbuffer_get_length(in) < frame_len) return false;
  uint64_t wait_ms = 0;
  if (l->state == P2P_UP && !p2p_link_charge(l, frame_len, &wait_ms)) {
    p2p_link_pause(l, wait_ms); /* the frame waits in the buffer */
    return false;
  }
  const uint8_t *frame = evbuffer_pullup(in, (ev_ssize_t)frame_len);
  if (frame == NULL) {
    p2p_link_close(l, CAIRN_ERR_NOMEM, "out of memory reading a frame");
    return false;
  }
  err = cairn_p2p_session_open(l->sess, p->rx_plain, CAIRN_P2P_MSG_BYTES_MAX,
                               &plain_len, frame, frame_len);
  evbuffer_drain(in, frame_len);
  if (err != CAIRN_OK) {
    p2p_link_close(l, err, "frame failed authentication (altered or "
                   "out of order)");
    return false;
  }
  l->last_rx_ms = cairn_clock_mono_ms();
  if (l->state == P2P_AUTH)
    p2p_link_on_auth(l, p->rx_plain, plain_len);
  else
    p2p_link_on_plain(l, p->rx_plain, plain_len);
  return l->state == P2P_AUTH || l->state == P2P_UP;
}

static void p2p_link_on_resume(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  p2p_link *l = arg;
  if (l->state != P2P_UP) return;
  bufferevent_enable(l->bev, EV_READ);
  p2p_link_on_read(l->bev, l); /* frames already buffered */
}

/* Stop reading from l for wait_ms: the peer sends faster than its
 * buckets allow. TCP pushes back on it meanwhile. */
static void p2p_link_pause(p2p_link *l, uint64_t wait_ms) {
  if (l->resume == NULL)
    l->resume = evtimer_new(l->p->base, p2p_link_on_resume, l);
  if (l->resume == NULL) {
    p2p_link_close(l, CAIRN_ERR_NOMEM, "out of memory pausing a link");
    return;
  }
  bufferevent_disable(l->bev, EV_READ);
  if (wait_ms > 1000) wait_ms = 1000;
  struct timeval tv = p2p_tv((uint32_t)wait_ms);
  evtimer_add(l->resume, &tv);
}

/* The peer's hello, once enough of it is in: derive keys, send our auth. */
static void p2p_link_read_hello(p2p_link *l) {
  cairn_p2p *p = l->p;
  struct evbuffer *in = bufferevent_get_input(l->bev);
  uint8_t hello[CAIRN_P2P_HELLO_BYTES], auth[CAIRN_P2P_AUTH_BYTES];
  ev_ssize_t n = evbuffer_copyout(in, hello, sizeof hello);
  if (n <= 0) return;
  cairn_err err = cairn_p2p_session_keys(l->sess, hello, (size_t)n);
  if (err == CAIRN_ERR_TRUNCATED) return; /* wait for the rest */
  if (err == CAIRN_ERR_PEER_CHAIN) {
    char theirs[CAIRN_LOG_SHORT_HASH_BUF], ours[CAIRN_LOG_SHORT_HASH_BUF];
    p2p_short_key(theirs, hello + CAIRN_P2P_MAGIC_BYTES + 1);
    p2p_short_key(ours, p->genesis_hash);
    cairn_log_warn(p->log, "p2p: refused %s: peer is on another chain "
                   "(its genesis %s, ours %s)", l->addr, theirs, ours);
    p2p_link_close(l, err, "peer is on another chain");
    return;
  }
  if (err != CAIRN_OK) {
    p2p_link_close(l, err, err == CAIRN_ERR_VERSION
                               ? "unsupported protocol version"
                               : "bad hello: not a cairn peer");
    return;
  }
  evbuffer_drain(in, sizeof hello);
  err = cairn_p2p_session_auth_make(l->sess, auth, p->node_sk);
  if (err == CAIRN_OK) err = p2p_link_write(l, auth, sizeof auth);
  sodium_memzero(auth, sizeof auth);
  if (err != CAIRN_OK) {
    p2p_link_close(l, err, "cannot send the auth frame");
    return;
  }
  l->state = P2P_AUTH;
}

static void p2p_link_on_read(struct bufferevent *bev, void *arg) {
  p2p_link *l = arg;
  (void)bev;
  if (l->state == P2P_HELLO) p2p_link_read_hello(l);
  while ((l->state == P2P_AUTH || l->state == P2P_UP) &&
         p2p_link_read_frame(l)) {
  }
}

static void p2p_send_hello(p2p_link *l) {
  uint8_t hello[CAIRN_P2P_HELLO_BYTES];
  cairn_p2p_session_hello(l->sess, hello);
  if (bufferevent_write(l->bev, hello, sizeof hello) != 0) {
    p2p_link_close(l, CAIRN_ERR_NOMEM, "cannot send the hello");
    return;
  }
  l->last_tx_ms = cairn_clock_mono_ms();
}

static void p2p_set_nodelay(struct bufferevent *bev) {
  int one = 1;
  evutil_socket_t fd = bufferevent_getfd(bev);
  if (fd >= 0) (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void p2p_link_on_event(struct bufferevent *bev, short what, void *arg) {
  p2p_link *l = arg;
  char why[128];
  if (what & BEV_EVENT_CONNECTED) {
    assert(l->state == P2P_CONNECTING);
    p2p_set_nodelay(bev);
    l->state = P2P_HELLO;
    p2p_send_hello(l);
    return;
  }
  if (what & BEV_EVENT_EOF) {
    p2p_link_close(l, CAIRN_ERR_NETWORK, "closed by the peer");
    return;
  }
  int dns = bufferevent_socket_get_dns_error(bev);
  if (dns != 0)
    snprintf(why, sizeof why, "cannot resolve: %s", evutil_gai_strerror(dns));
  else
    snprintf(why, sizeof why, "socket error: %s",
             evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  p2p_link_close(l, CAIRN_ERR_NETWORK, why);
}

static void p2p_link_on_timer(evutil_socket_t fd, short what, void *arg) {
  p2p_link *l = arg;
  cairn_p2p *p = l->p;
  (void)fd;
  (void)what;
  if (l->state != P2P_UP) {
    p2p_link_close(l, CAIRN_ERR_TIMEOUT, "handshake not done in time");
    return;
  }
  uint64_t now = cairn_clock_mono_ms();
  uint32_t tick_ms = p->idle_ms / 3u;
  if (now - l->last_rx_ms >= p->idle_ms) {
    p2p_link_close(l, CAIRN_ERR_TIMEOUT, "idle: nothing received");
    return;
  }
  if (now - l->last_tx_ms >= tick_ms) {
    if (p2p_link_send_plain(l, NULL, 0) != CAIRN_OK) return;
  }
  struct timeval tv = p2p_tv(tick_ms);
  evtimer_add(l->timer, &tv);
}

/* ---- dialling ---- */

static void p2p_dial_start(p2p_dial *d) {
  cairn_p2p *p = d->p;
  char addr[P2P_ADDR_BUF];
  snprintf(addr, sizeof addr, "%.60s:%u", d->conf.host,
           (unsigned)d->conf.port);
  struct bufferevent *bev = bufferevent_socket_new(
      p->base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  p2p_link *l = bev != NULL ? p2p_link_new(p, bev, true, addr) : NULL;
  if (l == NULL) {
    cairn_log_warn(p->log, "p2p: cannot dial %s: out of memory or links",
                   addr);
    p2p_dial_kick(p, d->conf.key);
    return;
  }
  l->dial = d;
  d->link = l;
  /* No evdns base: a name is resolved with the system's blocking resolver;
   * a failure is reported through the event callback. */
  if (bufferevent_socket_connect_hostname(bev, NULL, AF_UNSPEC, d->conf.host,
                                          d->conf.port) != 0 &&
      l->state == P2P_CONNECTING) {
    p2p_link_close(l, CAIRN_ERR_NETWORK, "cannot start connecting");
  }
}

static void p2p_dial_on_timer(evutil_socket_t fd, short what, void *arg) {
  p2p_dial *d = arg;
  cairn_p2p *p = d->p;
  (void)fd;
  (void)what;
  if (d->link != NULL || p2p_find_up_key(p, d->conf.key) != NULL) return;
  uint64_t left = p2p_ban_left(p, d->conf.key);
  if (left > 0) {
    p2p_dial_schedule(d, (uint32_t)(left < UINT32_MAX ? left : UINT32_MAX));
    return;
  }
  p2p_dial_start(d);
}

static void p2p_dial_schedule(p2p_dial *d, uint32_t delay_ms) {
  struct timeval tv = p2p_tv(delay_ms);
  evtimer_add(d->timer, &tv);
}

/* ---- accepting ---- */

static void p2p_on_accept(struct evconnlistener *lis, evutil_socket_t fd,
                          struct sockaddr *sa, int socklen, void *arg) {
  cairn_p2p *p = arg;
  char host[64] = "?", addr[P2P_ADDR_BUF];
  unsigned port = 0;
  (void)lis;
  (void)socklen;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(void *)sa;
    evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(void *)sa;
    evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  snprintf(addr, sizeof addr, "%s:%u", host, port);
  if (p->n_inbound_pending >= CAIRN_P2P_PEERS_MAX) {
    cairn_log_info(p->log, "p2p: refused %s: too many handshakes in "
                   "progress", addr);
    evutil_closesocket(fd);
    return;
  }
  struct bufferevent *bev = bufferevent_socket_new(
      p->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (bev == NULL) {
    evutil_closesocket(fd);
    return;
  }
  p2p_set_nodelay(bev);
  p2p_link *l = p2p_link_new(p, bev, false, addr);
  if (l == NULL) {
    cairn_log_info(p->log, "p2p: refused %s: out of memory or links", addr);
    return;
  }
  p2p_send_hello(l);
}

static void p2p_on_accept_timer(evutil_socket_t fd, short what, void *arg) {
  cairn_p2p *p = arg;
  (void)fd;
  (void)what;
  (void)evconnlistener_enable(p->listener);
}

static void p2p_on_accept_error(struct evconnlistener *lis, void *arg) {
  cairn_p2p *p = arg;
  int err = EVUTIL_SOCKET_ERROR();
  cairn_log_warn(p->log, "p2p: accept failed: %s; pausing %u ms",
                 evutil_socket_error_to_string(err), P2P_ACCEPT_PAUSE_MS);
  (void)evconnlistener_disable(lis);
  struct timeval tv = p2p_tv(P2P_ACCEPT_PAUSE_MS);
  evtimer_add(p->accept_timer, &tv);
}

/* Bind and listen on host:port; port 0 picks a free one. */
static cairn_err p2p_listen(cairn_p2p *p, const char *host, uint16_t port) {
  struct evutil_addrinfo hints, *res = NULL;
  char portstr[8];
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = EVUTIL_AI_PASSIVE;
  snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
  int rc = evutil_getaddrinfo(host, portstr, &hints, &res);
  if (rc != 0 || res == NULL) {
    cairn_log_error(p->log, "p2p: cannot listen on %s:%u: %s", host,
                    (unsigned)port, evutil_gai_strerror(rc));
    return CAIRN_ERR_NETWORK;
  }
  p->listener = evconnlistener_new_bind(
      p->base, p2p_on_accept, p,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
      res->ai_addr, (int)res->ai_addrlen);
  evutil_freeaddrinfo(res);
  if (p->listener == NULL) {
    cairn_log_error(p->log, "p2p: cannot listen on %s:%u: %s", host,
                    (unsigned)port,
                    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return CAIRN_ERR_NETWORK;
  }
  evconnlistener_set_error_cb(p->listener, p2p_on_accept_error);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  evutil_socket_t fd = evconnlistener_get_fd(p->listener);
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    p->port = ss.ss_family == AF_INET6
                  ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                  : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  }
  cairn_log_info(p->log, "p2p: listening on %s:%u", host, (unsigned)p->port);
  return CAIRN_OK;
}

/* ---- open and close ---- */

static void p2p_limits(cairn_p2p *p, const cairn_p2p_opts *o) {
  p->handshake_ms = p2p_or(o->handshake_ms, CAIRN_P2P_HANDSHAKE_MS);
  p->idle_ms = p2p_or(o->idle_ms, CAIRN_P2P_IDLE_MS);
  if (p->idle_ms < 3) p->idle_ms = 3;
  p->backoff_min_ms = p2p_or(o->backoff_min_ms, CAIRN_P2P_BACKOFF_MIN_MS);
  p->backoff_max_ms = p2p_or(o->backoff_max_ms, CAIRN_P2P_BACKOFF_MAX_MS);
  if (p->backoff_max_ms < p->backoff_min_ms)
    p->backoff_max_ms = p->backoff_min_ms;
  p->ban_ms = p2p_or(o->ban_ms, CAIRN_P2P_BAN_MS);
  p->rate_msgs = p2p_or(o->rate_msgs, CAIRN_P2P_RATE_MSGS);
  p->rate_bytes = o->rate_bytes ? o->rate_bytes : CAIRN_P2P_RATE_BYTES;
  p->sendq_max = o->sendq_bytes_max ? o->sendq_bytes_max
                                    : CAIRN_P2P_SENDQ_BYTES_MAX;
  p->peers_max = o->peers_max ? o->peers_max : CAIRN_P2P_PEERS_MAX;
}

/* The parts of open that allocate; on failure the caller closes p. */
static cairn_err p2p_alloc(cairn_p2p *p, const cairn_p2p_opts *o) {
  p->node_sk = sodium_malloc(CAIRN_ED25519_SECKEY_BYTES);
  p->rx_plain = malloc(CAIRN_P2P_MSG_BYTES_MAX);
  p->tx_plain = malloc(CAIRN_P2P_MSG_BYTES_MAX);
  p->reaper = event_new(p->base, -1, 0, p2p_on_reap, p);
  p->accept_timer = evtimer_new(p->base, p2p_on_accept_timer, p);
  if (o->n_peers > 0) p->dials = calloc(o->n_peers, sizeof *p->dials);
  if (p->node_sk == NULL || p->rx_plain == NULL || p->tx_plain == NULL ||
      p->reaper == NULL || p->accept_timer == NULL ||
      (o->n_peers > 0 && p->dials == NULL))
    return CAIRN_ERR_NOMEM;
  memcpy(p->node_sk, o->node_sk, CAIRN_ED25519_SECKEY_BYTES);
  memcpy(p->node_pk, o->node_sk + 32, CAIRN_ED25519_PUBKEY_BYTES);
  (void)sodium_mprotect_readonly(p->node_sk);
  for (size_t i = 0; i < o->n_peers; i++) {
    p2p_dial *d = &p->dials[i];
    d->p = p;
    d->conf = o->peers[i];
    d->conf.host[CAIRN_P2P_HOST_BYTES_MAX - 1] = '\0';
    d->backoff_ms = p->backoff_min_ms;
    d->timer = evtimer_new(p->base, p2p_dial_on_timer, d);
    p->n_dials = i + 1;
    if (d->timer == NULL) return CAIRN_ERR_NOMEM;
  }
  return CAIRN_OK;
}

cairn_err cairn_p2p_open(cairn_p2p **out, const cairn_p2p_opts *o) {
  assert(out != NULL && o != NULL);
  *out = NULL;
  if (o->base == NULL || o->node_sk == NULL ||
      o->n_peers > CAIRN_P2P_PEERS_MAX ||
      (o->n_peers > 0 && o->peers == NULL) ||
      o->peers_max > CAIRN_P2P_PEERS_MAX)
    return CAIRN_ERR_ARG;
  cairn_p2p *p = calloc(1, sizeof *p);
  if (p == NULL) return CAIRN_ERR_NOMEM;
  p->base = o->base;
  p->log = o->log;
  p->h = o->handlers;
  p->next_id = 1;
  memcpy(p->genesis_hash, o->genesis_hash, CAIRN_HASH_BYTES);
  p2p_limits(p, o);
  cairn_err err = p2p_alloc(p, o);
  if (err == CAIRN_OK && o->listen_host != NULL)
    err = p2p_listen(p, o->listen_host, o->listen_port);
  if (err != CAIRN_OK) {
    cairn_p2p_close(p);
    return err;
  }
  for (size_t i = 0; i < p->n_dials; i++) p2p_dial_schedule(&p->dials[i], 0);
  *out = p;
  return CAIRN_OK;
}

void cairn_p2p_close(cairn_p2p *p) {
  if (p == NULL) return;
  assert(p->in_handler == 0); /* not from inside a handler */
  /* No handlers run from here on: the node is shutting down. */
  while (p->n_links > 0) (void)p2p_link_detach(p->links[p->n_links - 1]);
  if (p->reaper != NULL) {
    p2p_on_reap(-1, 0, p);
    event_free(p->reaper);
  }
  for (size_t i = 0; i < p->n_dials; i++) {
    if (p->dials[i].timer != NULL) event_free(p->dials[i].timer);
  }
  free(p->dials);
  if (p->listener != NULL) evconnlistener_free(p->listener);
  if (p->accept_timer != NULL) event_free(p->accept_timer);
  if (p->node_sk != NULL) sodium_free(p->node_sk); /* wipes it */
  free(p->rx_plain);
  free(p->tx_plain);
  sodium_memzero(p, sizeof *p);
  free(p);
}

/* ---- the rest of the interface ---- */

uint16_t cairn_p2p_listen_port(const cairn_p2p *p) {
  assert(p != NULL);
  return p->port;
}

void cairn_p2p_allow(cairn_p2p *p, const uint8_t (*keys)[32], size_t n) {
  assert(p != NULL && (keys != NULL || n == 0));
  assert(n <= CAIRN_VALIDATORS_MAX);
  if (n > 0) memcpy(p->extra, keys, n * 32);
  p->n_extra = n;
}

void cairn_p2p_punish(cairn_p2p *p, cairn_peer_id peer, cairn_err err,
                      const char *why) {
  assert(p != NULL && why != NULL);
  p2p_link *l = p2p_find_id(p, peer);
  if (l == NULL) return;
  char k[CAIRN_LOG_SHORT_HASH_BUF];
  p2p_short_key(k, l->key);
  cairn_log_warn(p->log, "p2p: punishing peer id=%u key=%s: %s (%s); banned "
                 "for %u ms", (unsigned)peer, k, why, cairn_errname(err),
                 (unsigned)p->ban_ms);
  p2p_ban_add(p, l->key);
  p2p_link_close(l, err, why);
}

cairn_err cairn_p2p_peer_key(const cairn_p2p *p, cairn_peer_id peer,
                             uint8_t key[32]) {
  assert(p != NULL && key != NULL);
  p2p_link *l = p2p_find_id(p, peer);
  if (l == NULL) {
    memset(key, 0, 32);
    return CAIRN_ERR_NOT_FOUND;
  }
  memcpy(key, l->key, 32);
  return CAIRN_OK;
}

size_t cairn_p2p_count(const cairn_p2p *p) {
  assert(p != NULL);
  return p->n_up;
}
