/*
 * test_p2p.c - peer links: the pure session layer (hello, keys, auth,
 * frames) and the libevent transport on loopback.
 *
 * Session tests drive node/p2p_session.c directly: every parser's accepted
 * and rejected paths with exact codes, role and transcript binding of the
 * auth signature, and frames that fail when reordered, replayed, altered
 * or cut.
 *
 * Transport tests run two or three cairn_p2p instances on one event_base
 * in this process, plus "raw" peers: plain sockets that speak the protocol
 * by hand through the session layer (or speak garbage), so that a test can
 * send exactly the bytes a hostile peer would. Limits are shortened through
 * the test fields of cairn_p2p_opts so that the suite runs in seconds.
 * Every wait is bounded: run_until() turns the loop until a condition
 * holds or its deadline passes, and the test then fails.
 *
 * `test_p2p --write-seeds DIR` writes the fuzz seeds of fuzz_p2p_frame
 * into DIR/p2p_frame/ and exits. It includes the fuzz target's source for
 * its fixed session pair, so the seed frames open under the same keys; the
 * unit test test_fuzz_target also feeds those inputs to the target here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "cairn/p2p.h"
#include "cairn/p2p_session.h"
#include "fuzz/fuzz_p2p_frame.c"
#include "testutil.h"

#define MSGS_MAX 4096
#define LOOPBACK "127.0.0.1"

/* ---- harness ---- */

typedef struct rec_msg {
  cairn_peer_id peer;
  uint8_t type;
  uint64_t height;
  size_t len; /* tx / block bytes */
} rec_msg;

typedef struct node {
  cairn_p2p *p;
  tu_vkey key;
  uint8_t genesis[32];
  int ups, downs;
  cairn_peer_id last_up, last_down;
  rec_msg msgs[MSGS_MAX];
  size_t n_msgs;
  char *log_buf;
  size_t log_len;
  FILE *log_file;
  cairn_log log;
} node;

typedef struct world {
  struct event_base *base;
  struct event *tick;
  node n[3];
} world;

static void on_peer(void *ctx, cairn_peer_id peer, bool up) {
  node *n = ctx;
  if (up) {
    n->ups++;
    n->last_up = peer;
  } else {
    n->downs++;
    n->last_down = peer;
  }
}

static void on_message(void *ctx, cairn_peer_id peer, const cairn_p2p_msg *m) {
  node *n = ctx;
  if (n->n_msgs == MSGS_MAX) return;
  rec_msg *r = &n->msgs[n->n_msgs++];
  r->peer = peer;
  r->type = m->type;
  switch (m->type) {
  case CAIRN_MSG_STATUS:
    r->height = m->u.status.height;
    break;
  case CAIRN_MSG_TX:
    r->len = m->u.tx.len;
    break;
  case CAIRN_MSG_BLOCK:
    r->height = m->u.block.height;
    r->len = m->u.block.block_len;
    break;
  default:
    r->height = m->u.height;
    break;
  }
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  (void)arg;
}

static void genesis_of(uint8_t out[32], const char *label) {
  cairn_tagged_hash(out, "cairn-test/p2p-genesis", (const uint8_t *)label,
                    strlen(label));
}

static int world_setup(void **state) {
  world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  w->base = event_base_new();
  assert_non_null(w->base);
  /* A ticking timer makes every EVLOOP_ONCE return within 2 ms. */
  w->tick = event_new(w->base, -1, EV_PERSIST, on_tick, NULL);
  struct timeval tv = {0, 2000};
  event_add(w->tick, &tv);
  for (int i = 0; i < 3; i++) {
    node *n = &w->n[i];
    tu_validator(&n->key, 40u + (uint32_t)i);
    genesis_of(n->genesis, "main");
    n->log_file = open_memstream(&n->log_buf, &n->log_len);
    assert_non_null(n->log_file);
    cairn_log_init(&n->log, n->log_file, CAIRN_LOG_DEBUG);
  }
  *state = w;
  return 0;
}

static int world_teardown(void **state) {
  world *w = *state;
  for (int i = 0; i < 3; i++) {
    cairn_p2p_close(w->n[i].p);
    fflush(w->n[i].log_file);
    /* CAIRN_TEST_P2P_LOG=1 shows what each node logged. */
    if (getenv("CAIRN_TEST_P2P_LOG") != NULL && w->n[i].log_buf != NULL)
      fprintf(stderr, "--- node %d log ---\n%s", i, w->n[i].log_buf);
    fclose(w->n[i].log_file);
    free(w->n[i].log_buf);
  }
  event_free(w->tick);
  event_base_free(w->base);
  free(w);
  return 0;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

typedef bool (*pred_fn)(void *ctx);

/* Turn the loop until pred holds or timeout_ms pass; returns pred. */
static bool run_until(world *w, pred_fn pred, void *ctx, uint32_t timeout_ms) {
  uint64_t end = now_ms() + timeout_ms;
  while (!pred(ctx)) {
    if (now_ms() >= end) return false;
    event_base_loop(w->base, EVLOOP_ONCE);
  }
  return true;
}

static bool pred_never(void *ctx) {
  (void)ctx;
  return false;
}

/* Turn the loop for ms milliseconds. */
static void run_for(world *w, uint32_t ms) {
  (void)run_until(w, pred_never, NULL, ms);
}

static bool log_has(node *n, const char *needle) {
  fflush(n->log_file);
  return n->log_buf != NULL && strstr(n->log_buf, needle) != NULL;
}

/* Options for node n: listening on a free loopback port, short limits. */
static cairn_p2p_opts opts_for(world *w, node *n) {
  cairn_p2p_opts o;
  memset(&o, 0, sizeof o);
  o.base = w->base;
  o.log = &n->log;
  o.node_sk = n->key.sk;
  memcpy(o.genesis_hash, n->genesis, 32);
  o.listen_host = LOOPBACK;
  o.handshake_ms = 500;
  o.backoff_min_ms = 20;
  o.backoff_max_ms = 100;
  o.ban_ms = 60000;
  o.handlers.ctx = n;
  o.handlers.on_message = on_message;
  o.handlers.on_peer = on_peer;
  return o;
}

static cairn_p2p_peer_conf conf_for(const node *target, uint16_t port) {
  cairn_p2p_peer_conf c;
  memset(&c, 0, sizeof c);
  snprintf(c.host, sizeof c.host, "%s", LOOPBACK);
  c.port = port;
  memcpy(c.key, target->key.pk, 32);
  return c;
}

static void node_open(node *n, const cairn_p2p_opts *o) {
  assert_null(n->p);
  assert_int_equal(cairn_p2p_open(&n->p, o), CAIRN_OK);
}

/* Open n0 listening and allowing n1's key; then n1 dialling n0. */
static void open_pair(world *w, cairn_p2p_opts *o0, cairn_p2p_opts *o1) {
  node *a = &w->n[0], *b = &w->n[1];
  node_open(a, o0);
  const uint8_t(*keys)[32] = (const uint8_t(*)[32])b->key.pk;
  cairn_p2p_allow(a->p, keys, 1);
  cairn_p2p_peer_conf c = conf_for(a, cairn_p2p_listen_port(a->p));
  o1->peers = &c;
  o1->n_peers = 1;
  node_open(b, o1);
  o1->peers = NULL;
}

typedef struct count_ctx {
  node *n;
  size_t want;
} count_ctx;

static bool pred_count(void *ctx) {
  count_ctx *c = ctx;
  return cairn_p2p_count(c->n->p) == c->want;
}

static void wait_count(world *w, node *n, size_t want, uint32_t ms) {
  count_ctx c = {n, want};
  assert_true(run_until(w, pred_count, &c, ms));
}

static bool pred_msgs(void *ctx) {
  count_ctx *c = ctx;
  return c->n->n_msgs >= c->want;
}

static void wait_msgs(world *w, node *n, size_t want, uint32_t ms) {
  count_ctx c = {n, want};
  assert_true(run_until(w, pred_msgs, &c, ms));
}

static cairn_p2p_msg status_msg(uint64_t height) {
  cairn_p2p_msg m;
  memset(&m, 0, sizeof m);
  m.type = CAIRN_MSG_STATUS;
  m.u.status.height = height;
  m.u.status.cons_height = height + 1;
  return m;
}

static cairn_p2p_msg block_msg(uint64_t height, const uint8_t *blob,
                               size_t len) {
  cairn_p2p_msg m;
  memset(&m, 0, sizeof m);
  m.type = CAIRN_MSG_BLOCK;
  m.u.block.height = height;
  m.u.block.block = blob;
  m.u.block.block_len = len;
  m.u.block.commit = blob;
  m.u.block.commit_len = 100;
  return m;
}

/* ---- session layer ---- */

static void pair(cairn_p2p_session *d, cairn_p2p_session *a) {
  fuzz_p2p_pair(d, a);
}

static void test_hello(void **state) {
  (void)state;
  cairn_p2p_session s;
  cairn_p2p_hello h;
  uint8_t buf[CAIRN_P2P_HELLO_BYTES + 1];
  fuzz_p2p_session(&s, CAIRN_P2P_ROLE_DIALLER);
  cairn_p2p_session_hello(&s, buf);
  assert_memory_equal(buf, "CAIRNP2P", 8);
  assert_int_equal(buf[8], 1);
  assert_memory_equal(buf + 9, s.genesis_hash, 32);
  assert_memory_equal(buf + 41, s.eph_pk, 32);
  assert_int_equal(cairn_p2p_hello_decode(&h, buf, 73), CAIRN_OK);
  assert_memory_equal(h.eph, s.eph_pk, 32);
  for (size_t n = 0; n < 73; n++)
    assert_int_equal(cairn_p2p_hello_decode(&h, buf, n), CAIRN_ERR_TRUNCATED);
  buf[73] = 0;
  assert_int_equal(cairn_p2p_hello_decode(&h, buf, 74), CAIRN_ERR_TRAILING);
  buf[8] = 2;
  assert_int_equal(cairn_p2p_hello_decode(&h, buf, 73), CAIRN_ERR_VERSION);
  assert_true(fuzz_all_zero(&h, sizeof h));
  /* Not the magic: refused at the first differing byte. */
  assert_int_equal(cairn_p2p_hello_decode(&h, (const uint8_t *)"GET ", 4),
                   CAIRN_ERR_PEER_PROTOCOL);
  assert_int_equal(cairn_p2p_hello_decode(&h, (const uint8_t *)"CAIRX", 5),
                   CAIRN_ERR_PEER_PROTOCOL);
}

static void test_session_keys(void **state) {
  (void)state;
  cairn_p2p_session d, a, before;
  uint8_t hd[73], ha[73];
  fuzz_p2p_session(&d, CAIRN_P2P_ROLE_DIALLER);
  fuzz_p2p_session(&a, CAIRN_P2P_ROLE_ACCEPTOR);
  cairn_p2p_session_hello(&d, hd);
  cairn_p2p_session_hello(&a, ha);
  before = a;
  /* Another genesis, our own ephemeral echoed, a low-order point. */
  uint8_t bad[73];
  memcpy(bad, hd, 73);
  bad[9] ^= 1;
  assert_int_equal(cairn_p2p_session_keys(&a, bad, 73), CAIRN_ERR_PEER_CHAIN);
  assert_int_equal(cairn_p2p_session_keys(&a, ha, 73),
                   CAIRN_ERR_PEER_PROTOCOL);
  memcpy(bad, hd, 73);
  memset(bad + 41, 0, 32);
  assert_int_equal(cairn_p2p_session_keys(&a, bad, 73), CAIRN_ERR_PEER_AUTH);
  assert_int_equal(cairn_p2p_session_keys(&a, hd, 72), CAIRN_ERR_TRUNCATED);
  assert_true(fuzz_p2p_same(&a, &before));
  assert_int_equal(cairn_p2p_session_keys(&a, hd, 73), CAIRN_OK);
  assert_int_equal(cairn_p2p_session_keys(&d, ha, 73), CAIRN_OK);
  assert_true(fuzz_all_zero(a.eph_sk, 32) && fuzz_all_zero(d.eph_sk, 32));
  assert_memory_equal(a.rx_key, d.tx_key, 32);
  assert_memory_equal(a.tx_key, d.rx_key, 32);
  assert_memory_not_equal(a.rx_key, a.tx_key, 32);
  assert_memory_equal(a.dialler_eph, d.eph_pk, 32);
  assert_memory_equal(d.acceptor_eph, a.eph_pk, 32);
  cairn_p2p_session_wipe(&a);
  assert_true(fuzz_all_zero(&a, sizeof a));
}

static void test_auth(void **state) {
  (void)state;
  cairn_p2p_session d, a, d2, a2;
  tu_vkey k, other;
  uint8_t msg[CAIRN_P2P_AUTH_BYTES + 1], key[32];
  tu_validator(&k, 1);
  tu_validator(&other, 2);
  pair(&d, &a);
  assert_int_equal(cairn_p2p_session_auth_make(&d, msg, k.sk), CAIRN_OK);
  assert_memory_equal(msg, k.pk, 32);
  assert_int_equal(cairn_p2p_session_auth_check(&a, key, msg, 96), CAIRN_OK);
  assert_memory_equal(key, k.pk, 32);
  /* The signature is over this role: reflected back it fails. */
  assert_int_equal(cairn_p2p_session_auth_check(&d, key, msg, 96),
                   CAIRN_ERR_PEER_AUTH);
  assert_true(fuzz_all_zero(key, 32));
  /* Another key claimed with this signature. */
  memcpy(msg, other.pk, 32);
  assert_int_equal(cairn_p2p_session_auth_check(&a, key, msg, 96),
                   CAIRN_ERR_PEER_AUTH);
  /* Replayed on another link (fresh ephemerals). */
  assert_int_equal(cairn_p2p_session_auth_make(&d, msg, k.sk), CAIRN_OK);
  cairn_p2p_session_init(&d2, CAIRN_P2P_ROLE_DIALLER, d.genesis_hash, NULL);
  cairn_p2p_session_init(&a2, CAIRN_P2P_ROLE_ACCEPTOR, d.genesis_hash, NULL);
  uint8_t h1[73], h2[73];
  cairn_p2p_session_hello(&d2, h1);
  cairn_p2p_session_hello(&a2, h2);
  assert_int_equal(cairn_p2p_session_keys(&a2, h1, 73), CAIRN_OK);
  assert_int_equal(cairn_p2p_session_auth_check(&a2, key, msg, 96),
                   CAIRN_ERR_PEER_AUTH);
  assert_int_equal(cairn_p2p_session_auth_check(&a, key, msg, 95),
                   CAIRN_ERR_TRUNCATED);
  assert_int_equal(cairn_p2p_session_auth_check(&a, key, msg, 97),
                   CAIRN_ERR_TRAILING);
  /* The hash's layout: tag "cairn/p2p-auth", role | genesis | eph | eph. */
  uint8_t raw[1 + 96], want[32], got[32];
  raw[0] = 1;
  memcpy(raw + 1, a.genesis_hash, 32);
  memcpy(raw + 33, a.dialler_eph, 32);
  memcpy(raw + 65, a.acceptor_eph, 32);
  cairn_tagged_hash(want, "cairn/p2p-auth", raw, sizeof raw);
  cairn_p2p_auth_hash(got, 1, a.genesis_hash, a.dialler_eph, a.acceptor_eph);
  assert_memory_equal(got, want, 32);
  assert_int_equal(cairn_ed25519_verify(msg + 32, want, 32, k.pk), CAIRN_OK);
}

static void test_frames(void **state) {
  (void)state;
  cairn_p2p_session d, a, saved;
  static uint8_t f1[256], f2[256], plain[CAIRN_P2P_MSG_BYTES_MAX];
  size_t n1 = 0, n2 = 0, n = 0;
  pair(&d, &a);
  const uint8_t m1[] = "first", m2[] = "second";
  assert_int_equal(cairn_p2p_session_seal(&d, f1, sizeof f1, &n1, m1, 5),
                   CAIRN_OK);
  assert_int_equal(n1, 4 + 5 + 16);
  assert_int_equal(cairn_be32_read(f1), 21);
  assert_int_equal(cairn_p2p_session_seal(&d, f2, sizeof f2, &n2, m2, 6),
                   CAIRN_OK);
  saved = a;
  /* Out of order: the second frame does not open first. */
  assert_int_equal(cairn_p2p_session_open(&a, plain, sizeof plain, &n, f2, n2),
                   CAIRN_ERR_PEER_PROTOCOL);
  assert_int_equal(a.rx_frames, 0);
  assert_int_equal(cairn_p2p_session_open(&a, plain, sizeof plain, &n, f1, n1),
                   CAIRN_OK);
  assert_int_equal(n, 5);
  assert_memory_equal(plain, "first", 5);
  /* Replayed. */
  assert_int_equal(cairn_p2p_session_open(&a, plain, sizeof plain, &n, f1, n1),
                   CAIRN_ERR_PEER_PROTOCOL);
  /* Truncated, trailing, each byte altered (length bytes included). */
  assert_int_equal(cairn_p2p_session_open(&a, plain, sizeof plain, &n, f2, 3),
                   CAIRN_ERR_TRUNCATED);
  assert_int_equal(
      cairn_p2p_session_open(&a, plain, sizeof plain, &n, f2, n2 - 1),
      CAIRN_ERR_TRUNCATED);
  assert_int_equal(
      cairn_p2p_session_open(&a, plain, sizeof plain, &n, f2, n2 + 1),
      CAIRN_ERR_TRAILING);
  assert_int_equal(cairn_p2p_session_open(&a, plain, 5, &n, f2, n2),
                   CAIRN_ERR_OVERSIZE);
  for (size_t i = 4; i < n2; i++) {
    f2[i] ^= 0x01;
    assert_int_equal(
        cairn_p2p_session_open(&a, plain, sizeof plain, &n, f2, n2),
        CAIRN_ERR_PEER_PROTOCOL);
    f2[i] ^= 0x01;
  }
  assert_int_equal(cairn_p2p_session_open(&a, plain, sizeof plain, &n, f2, n2),
                   CAIRN_OK);
  assert_memory_equal(plain, "second", 6);
  /* The other direction has its own key: the dialler cannot open its own
   * frames. */
  assert_int_equal(
      cairn_p2p_session_open(&saved, plain, sizeof plain, &n, f1, n1),
      CAIRN_OK);
  cairn_p2p_session d_rx = d;
  assert_int_equal(
      cairn_p2p_session_open(&d_rx, plain, sizeof plain, &n, f1, n1),
      CAIRN_ERR_PEER_PROTOCOL);
}

static void test_frame_bounds(void **state) {
  (void)state;
  cairn_p2p_session d, a;
  uint8_t hdr[4], f[64], plain[16];
  uint32_t ct = 7;
  size_t n = 0;
  cairn_be32_write(hdr, CAIRN_P2P_FRAME_CT_MAX);
  assert_int_equal(cairn_p2p_frame_length(&ct, hdr), CAIRN_OK);
  assert_int_equal(ct, CAIRN_P2P_FRAME_CT_MAX);
  cairn_be32_write(hdr, CAIRN_P2P_FRAME_CT_MAX + 1);
  assert_int_equal(cairn_p2p_frame_length(&ct, hdr), CAIRN_ERR_OVERSIZE);
  assert_int_equal(ct, 0);
  cairn_be32_write(hdr, 0xffffffffu);
  assert_int_equal(cairn_p2p_frame_length(&ct, hdr), CAIRN_ERR_OVERSIZE);
  cairn_be32_write(hdr, 15);
  assert_int_equal(cairn_p2p_frame_length(&ct, hdr), CAIRN_ERR_PEER_PROTOCOL);
  cairn_be32_write(hdr, 16);
  assert_int_equal(cairn_p2p_frame_length(&ct, hdr), CAIRN_OK);
  /* A keepalive: empty plaintext. */
  pair(&d, &a);
  assert_int_equal(cairn_p2p_session_seal(&d, f, sizeof f, &n, NULL, 0),
                   CAIRN_OK);
  assert_int_equal(n, 20);
  assert_int_equal(cairn_p2p_session_open(&a, plain, sizeof plain, &n, f, 20),
                   CAIRN_OK);
  assert_int_equal(n, 0);
  /* Capacity and the counter's end. */
  assert_int_equal(cairn_p2p_session_seal(&d, f, 19, &n, NULL, 0),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(n, 0);
  d.tx_frames = UINT64_MAX;
  assert_int_equal(cairn_p2p_session_seal(&d, f, sizeof f, &n, NULL, 0),
                   CAIRN_ERR_LIMIT);
  static uint8_t big[CAIRN_P2P_MSG_BYTES_MAX + 1];
  d.tx_frames = 0;
  assert_int_equal(
      cairn_p2p_session_seal(&d, f, sizeof f, &n, big, sizeof big),
      CAIRN_ERR_OVERSIZE);
}

static void assert_hex(const uint8_t *p, size_t n, const char *hex) {
  uint8_t want[256];
  assert_true(n <= sizeof want && strlen(hex) == 2 * n);
  assert_int_equal(cairn_hex_decode_exact(want, n, hex), CAIRN_OK);
  assert_memory_equal(p, want, n);
}

/* The worked example of specs/p2p.md section 8, byte for byte. */
static void test_spec_vectors(void **state) {
  (void)state;
  uint8_t g[32], sd[32], sa[32], seed[32], pk[32], sk[64];
  memset(g, 0x11, 32);
  memset(sd, 0x01, 32);
  memset(sa, 0x02, 32);
  memset(seed, 0x03, 32);
  assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
  cairn_p2p_session d, a;
  cairn_p2p_session_init(&d, CAIRN_P2P_ROLE_DIALLER, g, sd);
  cairn_p2p_session_init(&a, CAIRN_P2P_ROLE_ACCEPTOR, g, sa);
  assert_hex(d.eph_sk, 32, "f40ceaf86e5776923332b8d8fd3bef849cadb19c6996bc27"
                           "2af1f648d9566a4c");
  assert_hex(a.eph_sk, 32, "d9818087de7244abc1b5fcf28e55e42c7ff9c678c0605181"
                           "f37ac5d7414a7b95");
  uint8_t hd[73], ha[73], h[32], auth[96], f[200];
  size_t n = 0;
  cairn_p2p_session_hello(&d, hd);
  cairn_p2p_session_hello(&a, ha);
  assert_hex(hd, 73, "434149524e503250011111111111111111111111111111111111"
                     "111111111111111111111111111111ab2fca32898322c208fb2d"
                     "ab5048bd43c355c6430f588897cb574961cfa9806f");
  assert_hex(ha, 73, "434149524e503250011111111111111111111111111111111111"
                     "111111111111111111111111111111fc3b339367a5225d53a92d"
                     "380323afd035d7817b6d1be47d946f6b09a9cbdc06");
  assert_int_equal(cairn_p2p_session_keys(&d, ha, 73), CAIRN_OK);
  assert_int_equal(cairn_p2p_session_keys(&a, hd, 73), CAIRN_OK);
  assert_hex(d.tx_key, 32, "43eb74c847209a3af513e0fc824b791865665dcc727fc332"
                           "f4ddfc614e0ab79a");
  assert_hex(d.rx_key, 32, "e0f480d42cd0d8a95993dd50976fb24ef81a6788b7b5bc72"
                           "2fc258410ac723ed");
  cairn_p2p_auth_hash(h, 1, g, d.dialler_eph, d.acceptor_eph);
  assert_hex(h, 32, "6117df71ec3f189f403d64e10c65ea8ec434f0cff977ec54be9430"
                    "9dae822529");
  assert_hex(pk, 32, "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c146"
                     "14ac8737d1");
  assert_int_equal(cairn_p2p_session_auth_make(&d, auth, sk), CAIRN_OK);
  assert_int_equal(cairn_p2p_session_seal(&d, f, sizeof f, &n, auth, 96),
                   CAIRN_OK);
  assert_hex(f, n, "000000702bb390abafadabe854debcd3e28d6e31eb46a673b86336"
                   "bab81b3d3b59cd7d6f661cfd8905915d6120080f7f92d5d582259f"
                   "e0ea352918ffc799b452c8257711bed4cc707672a21da814f93356"
                   "543e79d5b967894ffb4a888cc251d126612b01d9b156bacf7309b1"
                   "ea10d960dd9f0b91");
  const uint8_t get7[] = {5, 0, 0, 0, 0, 0, 0, 0, 7};
  assert_int_equal(cairn_p2p_session_seal(&d, f, sizeof f, &n, get7, 9),
                   CAIRN_OK);
  assert_hex(f, n, "00000019e5d8659449944897e7f647065353efb7f1d20895ad1dbd"
                   "9576");
  assert_int_equal(cairn_p2p_session_seal(&d, f, sizeof f, &n, NULL, 0),
                   CAIRN_OK);
  assert_hex(f, n, "000000105eea5d8e889de6d1f97cb16e94de5764");
  sodium_memzero(sk, sizeof sk);
}

/* The fuzz target accepts real inputs of every mode (its properties are
 * checked: it aborts on a failure). */
static void test_fuzz_target(void **state) {
  (void)state;
  cairn_p2p_session d, a;
  uint8_t in[1 + 256], pk[32], sk[64];
  size_t n = 0;
  fuzz_p2p_session(&d, CAIRN_P2P_ROLE_DIALLER);
  in[0] = 0;
  cairn_p2p_session_hello(&d, in + 1);
  assert_int_equal(LLVMFuzzerTestOneInput(in, 74), 0);
  in[0] = 1;
  assert_int_equal(LLVMFuzzerTestOneInput(in, 74), 0);
  pair(&d, &a);
  fuzz_p2p_node_key(pk, sk);
  in[0] = 2;
  assert_int_equal(cairn_p2p_session_auth_make(&d, in + 1, sk), CAIRN_OK);
  assert_int_equal(LLVMFuzzerTestOneInput(in, 97), 0);
  in[0] = 3;
  const uint8_t get9[] = {CAIRN_MSG_GET_BLOCK, 0, 0, 0, 0, 0, 0, 0, 9};
  assert_int_equal(
      cairn_p2p_session_seal(&d, in + 1, 200, &n, get9, sizeof get9),
      CAIRN_OK);
  assert_int_equal(LLVMFuzzerTestOneInput(in, 1 + n), 0);
  /* And the frame really opens under the pair's keys. */
  assert_int_equal(cairn_p2p_session_open(&a, in + 100, 100, &n, in + 1, n),
                   CAIRN_OK);
}

/* ---- raw peers: sockets speaking the protocol by hand ---- */

typedef struct raw {
  world *w;
  int fd;
  uint8_t in[1 << 16];
  size_t n;
  bool eof;
  cairn_p2p_session s;
} raw;

static void raw_connect(raw *r, world *w, uint16_t port) {
  struct sockaddr_in sa;
  memset(r, 0, sizeof *r);
  r->w = w;
  r->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(r->fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(r->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  int fl = fcntl(r->fd, F_GETFL);
  assert_int_equal(fcntl(r->fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void raw_close(raw *r) {
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
}

/* Read what is there (the buffer keeps the first 64 KiB). */
static void raw_pump(raw *r) {
  uint8_t tmp[4096];
  for (;;) {
    ssize_t k = recv(r->fd, tmp, sizeof tmp, 0);
    if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR)) {
      r->eof = true;
      return;
    }
    if (k < 0) return;
    size_t room = sizeof r->in - r->n;
    size_t take = (size_t)k < room ? (size_t)k : room;
    memcpy(r->in + r->n, tmp, take);
    r->n += take;
  }
}

typedef struct raw_want {
  raw *r;
  size_t bytes;
} raw_want;

static bool pred_raw_bytes(void *ctx) {
  raw_want *q = ctx;
  raw_pump(q->r);
  return q->r->n >= q->bytes || q->r->eof;
}

static bool pred_raw_eof(void *ctx) {
  raw *r = ctx;
  raw_pump(r);
  return r->eof;
}

static bool raw_wait(raw *r, size_t bytes, uint32_t ms) {
  raw_want q = {r, bytes};
  return run_until(r->w, pred_raw_bytes, &q, ms) && r->n >= bytes;
}

static void raw_take(raw *r, uint8_t *out, size_t n) {
  assert_true(r->n >= n);
  if (out != NULL) memcpy(out, r->in, n);
  memmove(r->in, r->in + n, r->n - n);
  r->n -= n;
}

static void raw_send(raw *r, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t k = send(r->fd, b, n, MSG_NOSIGNAL);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
      event_base_loop(r->w->base, EVLOOP_ONCE);
      continue;
    }
    assert_true(k > 0);
    b += k;
    n -= (size_t)k;
  }
}

/* Seal plain and send it as one frame. */
static void raw_send_frame(raw *r, const uint8_t *plain, size_t n) {
  static uint8_t f[1 << 16];
  size_t len = 0;
  assert_int_equal(cairn_p2p_session_seal(&r->s, f, sizeof f, &len, plain, n),
                   CAIRN_OK);
  raw_send(r, f, len);
}

/* Dial into node n as key sk on genesis g: exchange hellos and auths. The
 * node's auth must arrive and verify as n's key. */
static void raw_handshake(raw *r, node *n, const uint8_t g[32],
                          const tu_vkey *k) {
  uint8_t hello[73], auth[96], frame[4 + 96 + 16], plain[96], key[32];
  size_t pn = 0;
  raw_connect(r, r->w, cairn_p2p_listen_port(n->p));
  cairn_p2p_session_init(&r->s, CAIRN_P2P_ROLE_DIALLER, g, NULL);
  cairn_p2p_session_hello(&r->s, hello);
  raw_send(r, hello, sizeof hello);
  assert_true(raw_wait(r, 73, 2000));
  raw_take(r, hello, 73);
  assert_int_equal(cairn_p2p_session_keys(&r->s, hello, 73), CAIRN_OK);
  assert_int_equal(cairn_p2p_session_auth_make(&r->s, auth, k->sk), CAIRN_OK);
  raw_send_frame(r, auth, sizeof auth);
  assert_true(raw_wait(r, sizeof frame, 2000));
  raw_take(r, frame, sizeof frame);
  assert_int_equal(cairn_p2p_session_open(&r->s, plain, sizeof plain, &pn,
                                          frame, sizeof frame),
                   CAIRN_OK);
  assert_int_equal(cairn_p2p_session_auth_check(&r->s, key, plain, pn),
                   CAIRN_OK);
  assert_memory_equal(key, n->key.pk, 32);
}

/* ---- transport ---- */

static void test_link_up_and_messages(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1];
  cairn_p2p_opts oa = opts_for(w, a), ob = opts_for(w, b);
  ob.listen_host = NULL;
  open_pair(w, &oa, &ob);
  wait_count(w, a, 1, 3000);
  wait_count(w, b, 1, 3000);
  assert_int_equal(a->ups, 1);
  assert_int_equal(b->ups, 1);
  uint8_t key[32];
  assert_int_equal(cairn_p2p_peer_key(a->p, a->last_up, key), CAIRN_OK);
  assert_memory_equal(key, b->key.pk, 32);
  assert_int_equal(cairn_p2p_peer_key(b->p, b->last_up, key), CAIRN_OK);
  assert_memory_equal(key, a->key.pk, 32);
  assert_int_equal(cairn_p2p_peer_key(a->p, 999, key), CAIRN_ERR_NOT_FOUND);
  assert_true(log_has(a, "p2p: peer up"));
  /* 300 messages each way, interleaved, then one large block. */
  for (uint64_t i = 1; i <= 300; i++) {
    cairn_p2p_msg m = status_msg(i);
    assert_int_equal(cairn_p2p_send(a->p, a->last_up, &m), CAIRN_OK);
    m = status_msg(1000 + i);
    assert_int_equal(cairn_p2p_send(b->p, b->last_up, &m), CAIRN_OK);
  }
  static uint8_t blob[1 << 20];
  for (size_t i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 31u);
  cairn_p2p_msg big = block_msg(77, blob, sizeof blob);
  assert_int_equal(cairn_p2p_send(a->p, a->last_up, &big), CAIRN_OK);
  wait_msgs(w, b, 301, 5000);
  wait_msgs(w, a, 300, 5000);
  for (size_t i = 0; i < 300; i++) {
    assert_int_equal(b->msgs[i].type, CAIRN_MSG_STATUS);
    assert_int_equal(b->msgs[i].height, i + 1);
    assert_int_equal(b->msgs[i].peer, b->last_up);
    assert_int_equal(a->msgs[i].height, 1000 + i + 1);
  }
  assert_int_equal(b->msgs[300].type, CAIRN_MSG_BLOCK);
  assert_int_equal(b->msgs[300].len, sizeof blob);
  assert_int_equal(cairn_p2p_send(a->p, 999, &big), CAIRN_ERR_NOT_FOUND);
}

static void test_broadcast_three(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1], *c = &w->n[2];
  cairn_p2p_opts oa = opts_for(w, a);
  node_open(a, &oa);
  uint8_t keys[2][32];
  memcpy(keys[0], b->key.pk, 32);
  memcpy(keys[1], c->key.pk, 32);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])keys, 2);
  cairn_p2p_peer_conf conf = conf_for(a, cairn_p2p_listen_port(a->p));
  for (int i = 1; i <= 2; i++) {
    cairn_p2p_opts o = opts_for(w, &w->n[i]);
    o.listen_host = NULL;
    o.peers = &conf;
    o.n_peers = 1;
    node_open(&w->n[i], &o);
  }
  wait_count(w, a, 2, 3000);
  wait_count(w, c, 1, 3000);
  wait_count(w, b, 1, 3000);
  cairn_p2p_msg m = status_msg(5);
  cairn_p2p_broadcast(a->p, &m, CAIRN_P2P_NO_PEER);
  wait_msgs(w, b, 1, 2000);
  wait_msgs(w, c, 1, 2000);
  /* Except one peer: only the other gets it. */
  m = status_msg(6);
  cairn_peer_id first = a->last_up == 1 ? 2 : 1;
  cairn_p2p_broadcast(a->p, &m, a->last_up);
  run_for(w, 200);
  size_t total = b->n_msgs + c->n_msgs;
  assert_int_equal(total, 3);
  uint8_t key[32];
  assert_int_equal(cairn_p2p_peer_key(a->p, first, key), CAIRN_OK);
  node *got = memcmp(key, b->key.pk, 32) == 0 ? b : c;
  assert_int_equal(got->n_msgs, 2);
  assert_int_equal(got->msgs[1].height, 6);
}

static void test_wrong_expected_key(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1], *c = &w->n[2];
  cairn_p2p_opts oa = opts_for(w, a), ob = opts_for(w, b);
  node_open(a, &oa);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])b->key.pk, 1);
  /* b expects c's key at a's address. */
  cairn_p2p_peer_conf conf = conf_for(c, cairn_p2p_listen_port(a->p));
  ob.listen_host = NULL;
  ob.peers = &conf;
  ob.n_peers = 1;
  node_open(b, &ob);
  run_for(w, 400);
  assert_int_equal(b->ups, 0);
  assert_int_equal(cairn_p2p_count(b->p), 0);
  assert_int_equal(cairn_p2p_count(a->p), 0);
  char hex[65];
  cairn_hex_encode(hex, sizeof hex, a->key.pk, 32);
  assert_true(log_has(b, hex));
  assert_true(log_has(b, "is not the key configured"));
  assert_true(log_has(b, "err=peer_auth"));
  /* It keeps retrying with backoff: more than one attempt was logged. */
  const char *first = strstr(b->log_buf, "is not the key configured");
  assert_non_null(strstr(first + 1, "is not the key configured"));
}

static void test_unknown_inbound_key(void **state) {
  world *w = *state;
  node *a = &w->n[0], *c = &w->n[2];
  cairn_p2p_opts oa = opts_for(w, a), oc = opts_for(w, c);
  node_open(a, &oa); /* allows nobody */
  cairn_p2p_peer_conf conf = conf_for(a, cairn_p2p_listen_port(a->p));
  oc.listen_host = NULL;
  oc.peers = &conf;
  oc.n_peers = 1;
  node_open(c, &oc);
  run_for(w, 300);
  assert_int_equal(a->ups, 0);
  assert_int_equal(cairn_p2p_count(a->p), 0);
  char hex[65], line[120];
  cairn_hex_encode(hex, sizeof hex, c->key.pk, 32);
  snprintf(line, sizeof line, "refused unknown node key %s", hex);
  assert_true(log_has(a, line));
  /* Allowed now: the next attempt succeeds. */
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])c->key.pk, 1);
  wait_count(w, a, 1, 3000);
  wait_count(w, c, 1, 3000);
}

static void test_other_genesis(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1];
  genesis_of(b->genesis, "another chain");
  cairn_p2p_opts oa = opts_for(w, a), ob = opts_for(w, b);
  ob.listen_host = NULL;
  open_pair(w, &oa, &ob);
  run_for(w, 300);
  assert_int_equal(a->ups + b->ups, 0);
  assert_true(log_has(a, "peer is on another chain"));
  assert_true(log_has(b, "peer is on another chain"));
  assert_true(log_has(a, "err=peer_chain"));
}

/* Node a linked with b, for the abuse tests: the good link must survive. */
static void linked_pair(world *w, cairn_p2p_opts *oa) {
  cairn_p2p_opts ob = opts_for(w, &w->n[1]);
  ob.listen_host = NULL;
  open_pair(w, oa, &ob);
  wait_count(w, &w->n[0], 1, 3000);
  wait_count(w, &w->n[1], 1, 3000);
}

/* b (whose only link is to a) sends a message that a receives. */
static void check_good_link(world *w, uint64_t height) {
  node *a = &w->n[0], *b = &w->n[1];
  size_t before = a->n_msgs;
  cairn_p2p_msg m = status_msg(height);
  assert_int_equal(cairn_p2p_count(b->p), 1);
  assert_int_equal(cairn_p2p_send(b->p, b->last_up, &m), CAIRN_OK);
  wait_msgs(w, a, before + 1, 2000);
  assert_int_equal(a->msgs[before].height, height);
}

static void test_raw_garbage(void **state) {
  world *w = *state;
  node *a = &w->n[0];
  cairn_p2p_opts oa = opts_for(w, a);
  oa.handshake_ms = 300;
  linked_pair(w, &oa);
  uint16_t port = cairn_p2p_listen_port(a->p);
  raw r;
  /* Not our protocol at all. */
  raw_connect(&r, w, port);
  raw_send(&r, "GET / HTTP/1.0\r\n\r\n", 18);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  assert_true(r.n == 73 && memcmp(r.in, "CAIRNP2P", 8) == 0);
  raw_close(&r);
  assert_true(log_has(a, "bad hello: not a cairn peer"));
  /* A truncated hello, then silence: the handshake deadline. */
  uint64_t t0 = now_ms();
  raw_connect(&r, w, port);
  raw_send(&r, "CAIRNP2P\x01", 9);
  assert_true(run_until(w, pred_raw_eof, &r, 3000));
  assert_true(now_ms() - t0 >= 250);
  raw_close(&r);
  assert_true(log_has(a, "handshake not done in time"));
  /* A good hello, then a frame length far over the limit. */
  raw_connect(&r, w, port);
  cairn_p2p_session_init(&r.s, CAIRN_P2P_ROLE_DIALLER, a->genesis, NULL);
  uint8_t hello[73];
  cairn_p2p_session_hello(&r.s, hello);
  raw_send(&r, hello, 73);
  raw_send(&r, "\xff\xff\xff\xf0", 4);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  raw_close(&r);
  assert_true(log_has(a, "frame length 4294967280 outside"));
  /* A good hello, then a frame that cannot be an auth message: refused
   * from its length alone. */
  raw_connect(&r, w, port);
  cairn_p2p_session_init(&r.s, CAIRN_P2P_ROLE_DIALLER, a->genesis, NULL);
  cairn_p2p_session_hello(&r.s, hello);
  raw_send(&r, hello, 73);
  raw_send(&r, "\x00\x01\x00\x00", 4);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  raw_close(&r);
  assert_true(log_has(a, "first frame is not an auth message"));
  check_good_link(w, 42);
  assert_int_equal(a->ups, 1);
  assert_int_equal(a->downs, 0);
}

static void test_tampered_frame(void **state) {
  world *w = *state;
  node *a = &w->n[0], *c = &w->n[2];
  cairn_p2p_opts oa = opts_for(w, a);
  linked_pair(w, &oa);
  uint8_t keys[2][32];
  memcpy(keys[0], w->n[1].key.pk, 32);
  memcpy(keys[1], c->key.pk, 32);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])keys, 2);
  raw r;
  r.w = w;
  raw_handshake(&r, a, a->genesis, &c->key);
  wait_count(w, a, 2, 2000);
  uint8_t plain[64];
  size_t len = 0;
  cairn_p2p_msg m = status_msg(9);
  assert_int_equal(cairn_p2p_msg_encode(plain, sizeof plain, &len, &m),
                   CAIRN_OK);
  raw_send_frame(&r, plain, len);
  wait_msgs(w, a, 1, 2000);
  assert_int_equal(a->msgs[0].height, 9);
  /* The same message with one ciphertext bit flipped. */
  uint8_t f[128];
  size_t fl = 0;
  assert_int_equal(
      cairn_p2p_session_seal(&r.s, f, sizeof f, &fl, plain, len), CAIRN_OK);
  f[10] ^= 0x20;
  raw_send(&r, f, fl);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  raw_close(&r);
  wait_count(w, a, 1, 2000);
  assert_int_equal(a->n_msgs, 1);
  assert_true(log_has(a, "frame failed authentication"));
  /* Not banned: the same key connects again at once. */
  raw_handshake(&r, a, a->genesis, &c->key);
  wait_count(w, a, 2, 2000);
  raw_close(&r);
  wait_count(w, a, 1, 2000);
  check_good_link(w, 43);
}

static void test_malformed_message_bans(void **state) {
  world *w = *state;
  node *a = &w->n[0], *c = &w->n[2];
  cairn_p2p_opts oa = opts_for(w, a);
  linked_pair(w, &oa);
  uint8_t keys[2][32];
  memcpy(keys[0], w->n[1].key.pk, 32);
  memcpy(keys[1], c->key.pk, 32);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])keys, 2);
  raw r;
  r.w = w;
  raw_handshake(&r, a, a->genesis, &c->key);
  wait_count(w, a, 2, 2000);
  /* Well encrypted, but type 99 is no message. */
  const uint8_t junk[] = {99, 1, 2, 3};
  raw_send_frame(&r, junk, sizeof junk);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  raw_close(&r);
  wait_count(w, a, 1, 2000);
  assert_true(log_has(a, "malformed message (bad_type)"));
  assert_true(log_has(a, "err=peer_protocol"));
  /* Banned: a new link with that key is refused after its auth. */
  raw_connect(&r, w, cairn_p2p_listen_port(a->p));
  raw_close(&r);
  uint8_t hello[73];
  raw_connect(&r, w, cairn_p2p_listen_port(a->p));
  cairn_p2p_session_init(&r.s, CAIRN_P2P_ROLE_DIALLER, a->genesis, NULL);
  cairn_p2p_session_hello(&r.s, hello);
  raw_send(&r, hello, 73);
  assert_true(raw_wait(&r, 73, 2000));
  raw_take(&r, hello, 73);
  assert_int_equal(cairn_p2p_session_keys(&r.s, hello, 73), CAIRN_OK);
  uint8_t auth[96];
  assert_int_equal(cairn_p2p_session_auth_make(&r.s, auth, c->key.sk),
                   CAIRN_OK);
  raw_send_frame(&r, auth, sizeof auth);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  raw_close(&r);
  assert_true(log_has(a, "refused banned node key"));
  assert_int_equal(cairn_p2p_count(a->p), 1);
  /* An authenticated peer's oversize frame is punished the same way. */
  tu_vkey k4;
  tu_validator(&k4, 50);
  memcpy(keys[1], k4.pk, 32);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])keys, 2);
  raw_handshake(&r, a, a->genesis, &k4);
  wait_count(w, a, 2, 2000);
  raw_send(&r, "\xff\xff\xff\xf0", 4);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  raw_close(&r);
  wait_count(w, a, 1, 2000);
  assert_true(log_has(a, "frame length 4294967280 outside"));
  char k[CAIRN_LOG_SHORT_HASH_BUF], line[96];
  cairn_log_short_hash(k, sizeof k, k4.pk);
  snprintf(line, sizeof line, "punishing peer id=%u key=%s", 3u, k);
  assert_true(log_has(a, line));
  check_good_link(w, 44);
}

static uint64_t test_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A peer past its message rate is slowed down, not dropped: every message
 * arrives, in order, over the link that stays up, and no faster than the
 * buckets allow (50 a second after a burst of 50). */
static void test_rate_limit(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1];
  cairn_p2p_opts oa = opts_for(w, a);
  oa.rate_msgs = 50;
  linked_pair(w, &oa);
  uint64_t start = test_mono_ms();
  for (uint64_t i = 1; i <= 100; i++) {
    cairn_p2p_msg m = status_msg(i);
    assert_int_equal(cairn_p2p_send(b->p, b->last_up, &m), CAIRN_OK);
  }
  wait_msgs(w, a, 100, 5000);
  uint64_t took = test_mono_ms() - start;
  /* 50 pass at once, the other 50 need about a second of refill. */
  if (took < 700) fail_msg("100 messages at 50/s arrived in %llu ms",
                           (unsigned long long)took);
  for (size_t i = 0; i < 100; i++)
    assert_int_equal(a->msgs[i].height, i + 1); /* in order */
  assert_int_equal(cairn_p2p_count(a->p), 1);
  assert_int_equal(a->ups, 1);
  assert_false(log_has(a, "punishing"));
  check_good_link(w, 155);
}

/* Likewise for bytes: three 60 KB blocks against 100 KB a second. */
static void test_byte_rate_limit(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1];
  cairn_p2p_opts oa = opts_for(w, a);
  oa.rate_bytes = 100000;
  linked_pair(w, &oa);
  static uint8_t blob[60000];
  cairn_p2p_msg m = block_msg(3, blob, sizeof blob);
  uint64_t start = test_mono_ms();
  for (int i = 0; i < 3; i++)
    assert_int_equal(cairn_p2p_send(b->p, b->last_up, &m), CAIRN_OK);
  wait_msgs(w, a, 3, 5000);
  uint64_t took = test_mono_ms() - start;
  /* 180 KB against a 100 KB burst: at least 0.8 s of refill. */
  if (took < 600) fail_msg("180 KB at 100 KB/s arrived in %llu ms",
                           (unsigned long long)took);
  assert_int_equal(cairn_p2p_count(a->p), 1);
  assert_false(log_has(a, "punishing"));
}

static void test_send_queue_limit(void **state) {
  world *w = *state;
  node *a = &w->n[0];
  cairn_p2p_opts oa = opts_for(w, a);
  oa.sendq_bytes_max = 256 * 1024;
  linked_pair(w, &oa);
  static uint8_t blob[100 * 1024];
  cairn_p2p_msg m = block_msg(3, blob, sizeof blob);
  /* Without turning the loop nothing is written: the queue grows. */
  assert_int_equal(cairn_p2p_send(a->p, a->last_up, &m), CAIRN_OK);
  assert_int_equal(cairn_p2p_send(a->p, a->last_up, &m), CAIRN_OK);
  cairn_peer_id id = a->last_up;
  assert_int_equal(cairn_p2p_send(a->p, id, &m), CAIRN_ERR_PEER_RATE);
  assert_int_equal(cairn_p2p_count(a->p), 0);
  assert_int_equal(a->downs, 1);
  assert_int_equal(a->last_down, id);
  assert_int_equal(cairn_p2p_send(a->p, id, &m), CAIRN_ERR_NOT_FOUND);
  assert_true(log_has(a, "send queue full"));
  /* Not banned: b redials and the link comes back. */
  wait_count(w, a, 1, 3000);
  assert_int_equal(a->ups, 2);
  check_good_link(w, 45);
}

static void test_reconnect_after_restart(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1];
  cairn_p2p_opts oa = opts_for(w, a);
  linked_pair(w, &oa);
  uint16_t port = cairn_p2p_listen_port(a->p);
  cairn_p2p_close(a->p);
  a->p = NULL;
  wait_count(w, b, 0, 2000);
  assert_int_equal(b->downs, 1);
  run_for(w, 300); /* b's attempts fail and back off */
  assert_true(log_has(b, "err=network_error"));
  oa.listen_port = port;
  node_open(a, &oa);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])b->key.pk, 1);
  wait_count(w, b, 1, 3000);
  wait_count(w, a, 1, 3000);
  assert_int_equal(b->ups, 2);
  check_good_link(w, 46);
}

static void test_punish_bans(void **state) {
  world *w = *state;
  node *a = &w->n[0];
  cairn_p2p_opts oa = opts_for(w, a);
  oa.ban_ms = 600;
  linked_pair(w, &oa);
  uint64_t t0 = now_ms();
  cairn_p2p_punish(a->p, a->last_up, CAIRN_ERR_BAD_PROPOSAL, "test says so");
  assert_int_equal(cairn_p2p_count(a->p), 0);
  assert_int_equal(a->downs, 1);
  assert_true(log_has(a, "test says so"));
  cairn_p2p_punish(a->p, 12345, CAIRN_ERR_BAD_PROPOSAL, "unknown id");
  run_for(w, 300);
  assert_int_equal(cairn_p2p_count(a->p), 0);
  assert_true(log_has(a, "refused banned node key"));
  /* After the ban, b's redial gets through. */
  wait_count(w, a, 1, 3000);
  assert_true(now_ms() - t0 >= 550);
}

static void test_simultaneous_dial(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1];
  cairn_p2p_opts oa = opts_for(w, a), ob = opts_for(w, b);
  node_open(a, &oa);
  node_open(b, &ob);
  /* Reopen both with each other configured, on the same ports. */
  uint16_t pa = cairn_p2p_listen_port(a->p), pb = cairn_p2p_listen_port(b->p);
  cairn_p2p_close(a->p);
  cairn_p2p_close(b->p);
  a->p = b->p = NULL;
  cairn_p2p_peer_conf ca = conf_for(b, pb), cb = conf_for(a, pa);
  oa.listen_port = pa;
  oa.peers = &ca;
  oa.n_peers = 1;
  ob.listen_port = pb;
  ob.peers = &cb;
  ob.n_peers = 1;
  node_open(a, &oa);
  node_open(b, &ob);
  wait_count(w, a, 1, 3000);
  wait_count(w, b, 1, 3000);
  run_for(w, 500);
  assert_int_equal(cairn_p2p_count(a->p), 1);
  assert_int_equal(cairn_p2p_count(b->p), 1);
  assert_int_equal(a->ups - a->downs, 1);
  assert_int_equal(b->ups - b->downs, 1);
  check_good_link(w, 47);
  cairn_p2p_msg m = status_msg(48);
  assert_int_equal(cairn_p2p_send(b->p, b->last_up, &m), CAIRN_OK);
  wait_msgs(w, a, 1, 2000);
}

/* Three nodes, each configured with the other two (a testnet's shape):
 * every pair settles on one link and stays there. */
static void test_full_mesh_three(void **state) {
  world *w = *state;
  uint16_t port[3];
  cairn_p2p_opts o[3];
  for (int i = 0; i < 3; i++) {
    o[i] = opts_for(w, &w->n[i]);
    node_open(&w->n[i], &o[i]);
    port[i] = cairn_p2p_listen_port(w->n[i].p);
  }
  for (int i = 0; i < 3; i++) {
    cairn_p2p_close(w->n[i].p);
    w->n[i].p = NULL;
  }
  cairn_p2p_peer_conf conf[3][2];
  for (int i = 0; i < 3; i++) {
    for (int j = 0, k = 0; j < 3; j++) {
      if (j != i) conf[i][k++] = conf_for(&w->n[j], port[j]);
    }
    o[i].listen_port = port[i];
    o[i].peers = conf[i];
    o[i].n_peers = 2;
  }
  for (int i = 0; i < 3; i++) node_open(&w->n[i], &o[i]);
  for (int i = 0; i < 3; i++) wait_count(w, &w->n[i], 2, 3000);
  run_for(w, 500);
  for (int i = 0; i < 3; i++) {
    node *n = &w->n[i];
    assert_int_equal(cairn_p2p_count(n->p), 2);
    assert_int_equal(n->ups - n->downs, 2);
    cairn_p2p_msg m = status_msg(100u + (uint64_t)i);
    cairn_p2p_broadcast(n->p, &m, CAIRN_P2P_NO_PEER);
  }
  for (int i = 0; i < 3; i++) wait_msgs(w, &w->n[i], 2, 2000);
  run_for(w, 100);
  for (int i = 0; i < 3; i++) {
    node *n = &w->n[i];
    assert_int_equal(n->n_msgs, 2);
    /* The other two nodes' heights: 100 + 101 + 102 less its own. */
    assert_int_equal(n->msgs[0].height + n->msgs[1].height,
                     303u - (100u + (uint64_t)i));
  }
}

static void test_idle_and_keepalive(void **state) {
  world *w = *state;
  node *a = &w->n[0], *c = &w->n[2];
  cairn_p2p_opts oa = opts_for(w, a), ob = opts_for(w, &w->n[1]);
  oa.idle_ms = 300;
  ob.idle_ms = 300;
  ob.listen_host = NULL;
  open_pair(w, &oa, &ob);
  wait_count(w, a, 1, 3000);
  /* Quiet for over three idle periods: keepalives hold the link. */
  run_for(w, 1000);
  assert_int_equal(cairn_p2p_count(a->p), 1);
  assert_int_equal(a->ups, 1);
  assert_int_equal(a->downs, 0);
  assert_int_equal(a->n_msgs, 0); /* keepalives are not messages */
  /* A peer that authenticates and then says nothing is dropped. */
  uint8_t keys[2][32];
  memcpy(keys[0], w->n[1].key.pk, 32);
  memcpy(keys[1], c->key.pk, 32);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])keys, 2);
  raw r;
  r.w = w;
  raw_handshake(&r, a, a->genesis, &c->key);
  wait_count(w, a, 2, 2000);
  assert_true(run_until(w, pred_raw_eof, &r, 2000));
  raw_close(&r);
  wait_count(w, a, 1, 1000);
  assert_true(log_has(a, "idle: nothing received"));
}

static void test_max_peers(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1], *c = &w->n[2];
  cairn_p2p_opts oa = opts_for(w, a);
  oa.peers_max = 1;
  node_open(a, &oa);
  uint8_t keys[2][32];
  memcpy(keys[0], b->key.pk, 32);
  memcpy(keys[1], c->key.pk, 32);
  cairn_p2p_allow(a->p, (const uint8_t(*)[32])keys, 2);
  cairn_p2p_peer_conf conf = conf_for(a, cairn_p2p_listen_port(a->p));
  cairn_p2p_opts ob = opts_for(w, b);
  ob.listen_host = NULL;
  ob.peers = &conf;
  ob.n_peers = 1;
  node_open(b, &ob);
  wait_count(w, a, 1, 3000);
  cairn_p2p_opts oc = opts_for(w, c);
  oc.listen_host = NULL;
  oc.peers = &conf;
  oc.n_peers = 1;
  node_open(c, &oc);
  run_for(w, 400);
  assert_int_equal(cairn_p2p_count(a->p), 1);
  assert_int_equal(a->ups, 1);
  assert_true(log_has(a, "too many peers"));
  assert_int_equal(cairn_p2p_count(b->p), 1);
}

static void test_open_errors(void **state) {
  world *w = *state;
  node *a = &w->n[0], *b = &w->n[1];
  cairn_p2p_opts o = opts_for(w, a);
  cairn_p2p *p = (cairn_p2p *)&o; /* must be cleared */
  o.n_peers = CAIRN_P2P_PEERS_MAX + 1;
  assert_int_equal(cairn_p2p_open(&p, &o), CAIRN_ERR_ARG);
  assert_null(p);
  o = opts_for(w, a);
  o.base = NULL;
  assert_int_equal(cairn_p2p_open(&p, &o), CAIRN_ERR_ARG);
  /* A port already taken. */
  o = opts_for(w, a);
  node_open(a, &o);
  cairn_p2p_opts o2 = opts_for(w, b);
  o2.listen_port = cairn_p2p_listen_port(a->p);
  /* SO_REUSEADDR does not let two sockets listen on one port. */
  assert_int_equal(cairn_p2p_open(&p, &o2), CAIRN_ERR_NETWORK);
  assert_null(p);
  assert_true(log_has(b, "cannot listen"));
  o2.listen_host = "no-such-host.invalid";
  o2.listen_port = 0;
  assert_int_equal(cairn_p2p_open(&p, &o2), CAIRN_ERR_NETWORK);
}

/* ---- fuzz seeds ---- */

static void write_seed(const char *dir, const char *name, uint8_t mode,
                       const uint8_t *p, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/seed-%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || fputc(mode, f) == EOF || fwrite(p, 1, n, f) != n ||
      fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

/* Frames from the fixed dialler: its auth, then messages and a keepalive. */
static size_t seed_frames(uint8_t *out, size_t cap) {
  cairn_p2p_session d, a;
  uint8_t pk[32], sk[64], auth[96], plain[256];
  size_t pos = 0, len = 0, n = 0;
  fuzz_p2p_pair(&d, &a);
  fuzz_p2p_node_key(pk, sk);
  tu_check("auth", cairn_p2p_session_auth_make(&d, auth, sk));
  tu_check("seal", cairn_p2p_session_seal(&d, out, cap, &len, auth, 96));
  pos += len;
  cairn_p2p_msg msgs[2] = {status_msg(3), status_msg(4)};
  msgs[1].type = CAIRN_MSG_GET_BLOCK;
  msgs[1].u.height = 4;
  for (int i = 0; i < 2; i++) {
    tu_check("enc", cairn_p2p_msg_encode(plain, sizeof plain, &n, &msgs[i]));
    tu_check("seal", cairn_p2p_session_seal(&d, out + pos, cap - pos, &len,
                                            plain, n));
    pos += len;
  }
  tu_check("seal", cairn_p2p_session_seal(&d, out + pos, cap - pos, &len,
                                          NULL, 0));
  return pos + len;
}

static int write_seeds(const char *root) {
  char dir[400];
  uint8_t buf[2048], pk[32], sk[64];
  cairn_p2p_session d, a;
  snprintf(dir, sizeof dir, "%s/p2p_frame", root);
  mkdir(dir, 0755);
  fuzz_p2p_session(&d, CAIRN_P2P_ROLE_DIALLER);
  cairn_p2p_session_hello(&d, buf);
  write_seed(dir, "hello", 0, buf, 73);
  write_seed(dir, "hello-truncated", 0, buf, 40);
  write_seed(dir, "keys-dialler-hello", 1, buf, 73);
  buf[8] = 2;
  write_seed(dir, "keys-bad-version", 1, buf, 73);
  buf[8] = 1;
  buf[20] ^= 1;
  write_seed(dir, "keys-other-genesis", 1, buf, 73);
  write_seed(dir, "keys-garbage", 1, (const uint8_t *)"GET / HTTP/1.0", 14);
  fuzz_p2p_pair(&d, &a);
  fuzz_p2p_node_key(pk, sk);
  tu_check("auth", cairn_p2p_session_auth_make(&d, buf, sk));
  write_seed(dir, "auth-dialler", 2, buf, 96);
  tu_check("auth", cairn_p2p_session_auth_make(&a, buf, sk));
  write_seed(dir, "auth-acceptor", 2, buf, 96);
  buf[40] ^= 1;
  write_seed(dir, "auth-bad-sig", 2, buf, 96);
  size_t n = seed_frames(buf, sizeof buf);
  write_seed(dir, "frames", 3, buf, n);
  buf[n - 3] ^= 1;
  write_seed(dir, "frames-tampered", 3, buf, n);
  write_seed(dir, "frame-oversize", 3, (const uint8_t *)"\xff\xff\xff\xff", 4);
  sodium_memzero(sk, sizeof sk);
  printf("seeds written to %s\n", dir);
  return 0;
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) return 1;
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
    return write_seeds(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hello),
      cmocka_unit_test(test_session_keys),
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_frames),
      cmocka_unit_test(test_frame_bounds),
      cmocka_unit_test(test_spec_vectors),
      cmocka_unit_test(test_fuzz_target),
#define T(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)
      T(test_link_up_and_messages),
      T(test_broadcast_three),
      T(test_wrong_expected_key),
      T(test_unknown_inbound_key),
      T(test_other_genesis),
      T(test_raw_garbage),
      T(test_tampered_frame),
      T(test_malformed_message_bans),
      T(test_rate_limit),
      T(test_byte_rate_limit),
      T(test_send_queue_limit),
      T(test_reconnect_after_restart),
      T(test_punish_bans),
      T(test_simultaneous_dial),
      T(test_full_mesh_three),
      T(test_idle_and_keepalive),
      T(test_max_peers),
      T(test_open_errors),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
