/*
 * tests/fuzz/fuzz_p2p_frame.c - the peer handshake and frame layer
 * (node/p2p_session.c).
 *
 * Input: a mode byte, then bytes a peer could send at that point of a
 * link. Mode (first byte mod 4):
 *   0  a hello. Rejected: outputs zeroed. Accepted: encodes back to the
 *      same bytes.
 *   1  the peer's hello taken by a fresh acceptor session. Rejected: the
 *      session is unchanged, with one of the documented errors. Accepted:
 *      keyed, ephemeral secret wiped.
 *   2  an auth message checked by both sides of a fixed, keyed session
 *      pair. A signature never passes for both roles; a rejected check
 *      zeroes the key; an accepted one from the fixed node key is exactly
 *      what auth_make produces (Ed25519 is deterministic).
 *   3  a stream of frames from the dialler, opened in order by the
 *      acceptor until one fails. A failure leaves the receive counter
 *      unchanged; every frame that opens reseals to the same bytes, and
 *      its plaintext, if it decodes as a message, re-encodes exactly.
 * The session pair uses fixed ephemeral seeds (cairn_p2p_session_init's
 * test hook) so the seeds in corpus/p2p_frame/ - written by
 * `test_p2p --write-seeds`, which includes this file for the same pair -
 * hold frames that really open. The sessions are built once and copied
 * for each input (immutable after set-up, as fuzz.h requires).
 */
#include "fuzz.h"

#include "cairn/p2p_msg.h"
#include "cairn/p2p_session.h"

/* 32 fixed bytes named by label. */
static inline void fuzz_p2p_fixed(uint8_t out[32], const char *label) {
  cairn_tagged_hash(out, "cairn-fuzz/p2p", (const uint8_t *)label,
                    strlen(label));
}

/* The fixed node key that signs auth messages in the seeds. */
static inline void fuzz_p2p_node_key(uint8_t pk[32], uint8_t sk[64]) {
  uint8_t seed[32];
  fuzz_p2p_fixed(seed, "node");
  if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
    fuzz_fail(__FILE__, __LINE__, "crypto_sign_seed_keypair");
}

/* A fresh, unkeyed session of role with its fixed ephemeral key. */
static inline void fuzz_p2p_session(cairn_p2p_session *s, cairn_p2p_role role) {
  uint8_t genesis[32], seed[32];
  fuzz_p2p_fixed(genesis, "genesis");
  fuzz_p2p_fixed(seed, role == CAIRN_P2P_ROLE_DIALLER ? "dialler" : "acceptor");
  cairn_p2p_session_init(s, role, genesis, seed);
}

/* The dialler and acceptor after exchanging hellos. */
static inline void fuzz_p2p_pair(cairn_p2p_session *d, cairn_p2p_session *a) {
  uint8_t hd[CAIRN_P2P_HELLO_BYTES], ha[CAIRN_P2P_HELLO_BYTES];
  fuzz_p2p_session(d, CAIRN_P2P_ROLE_DIALLER);
  fuzz_p2p_session(a, CAIRN_P2P_ROLE_ACCEPTOR);
  cairn_p2p_session_hello(d, hd);
  cairn_p2p_session_hello(a, ha);
  if (cairn_p2p_session_keys(d, ha, sizeof ha) != CAIRN_OK ||
      cairn_p2p_session_keys(a, hd, sizeof hd) != CAIRN_OK)
    fuzz_fail(__FILE__, __LINE__, "session pair");
}

/* The sessions every input starts from, built once (X25519 is the slow
 * part) and copied per input, so no input sees another's changes. */
typedef struct fuzz_p2p_start {
  bool ready;
  cairn_p2p_session fresh_acceptor, dialler, acceptor;
  uint8_t node_pk[32], node_sk[64];
} fuzz_p2p_start;

static const fuzz_p2p_start *fuzz_p2p_get_start(void) {
  static fuzz_p2p_start st;
  if (!st.ready) {
    fuzz_p2p_session(&st.fresh_acceptor, CAIRN_P2P_ROLE_ACCEPTOR);
    fuzz_p2p_pair(&st.dialler, &st.acceptor);
    fuzz_p2p_node_key(st.node_pk, st.node_sk);
    st.ready = true;
  }
  return &st;
}

static void fuzz_p2p_hello(const uint8_t *data, size_t size) {
  cairn_p2p_hello h;
  if (cairn_p2p_hello_decode(&h, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&h, sizeof h));
    return;
  }
  uint8_t out[CAIRN_P2P_HELLO_BYTES];
  cairn_p2p_hello_encode(out, &h);
  FUZZ_CHECK(size == sizeof out && memcmp(out, data, size) == 0);
}

/* Field by field: the struct has padding, so memcmp of it would not do. */
static bool fuzz_p2p_same(const cairn_p2p_session *x,
                          const cairn_p2p_session *y) {
  return x->role == y->role && x->keyed == y->keyed &&
         memcmp(x->genesis_hash, y->genesis_hash, 32) == 0 &&
         memcmp(x->eph_pk, y->eph_pk, 32) == 0 &&
         memcmp(x->eph_sk, y->eph_sk, 32) == 0 &&
         memcmp(x->dialler_eph, y->dialler_eph, 32) == 0 &&
         memcmp(x->acceptor_eph, y->acceptor_eph, 32) == 0 &&
         memcmp(x->rx_key, y->rx_key, 32) == 0 &&
         memcmp(x->tx_key, y->tx_key, 32) == 0 &&
         x->rx_frames == y->rx_frames && x->tx_frames == y->tx_frames;
}

static void fuzz_p2p_keys(const uint8_t *data, size_t size) {
  cairn_p2p_session s = fuzz_p2p_get_start()->fresh_acceptor;
  cairn_p2p_session before = s;
  cairn_err err = cairn_p2p_session_keys(&s, data, size);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(err == CAIRN_ERR_TRUNCATED || err == CAIRN_ERR_TRAILING ||
               err == CAIRN_ERR_PEER_PROTOCOL || err == CAIRN_ERR_VERSION ||
               err == CAIRN_ERR_PEER_CHAIN || err == CAIRN_ERR_PEER_AUTH);
    FUZZ_CHECK(fuzz_p2p_same(&s, &before));
    return;
  }
  FUZZ_CHECK(s.keyed && fuzz_all_zero(s.eph_sk, sizeof s.eph_sk));
  FUZZ_CHECK(memcmp(s.acceptor_eph, s.eph_pk, 32) == 0);
  FUZZ_CHECK(memcmp(s.dialler_eph, data + CAIRN_P2P_HELLO_BYTES - 32, 32) == 0);
  FUZZ_CHECK(memcmp(s.rx_key, s.tx_key, 32) != 0);
}

static void fuzz_p2p_auth(const uint8_t *data, size_t size) {
  const fuzz_p2p_start *st = fuzz_p2p_get_start();
  cairn_p2p_session d = st->dialler, a = st->acceptor;
  uint8_t key_a[32], key_d[32];
  cairn_err ea = cairn_p2p_session_auth_check(&a, key_a, data, size);
  cairn_err ed = cairn_p2p_session_auth_check(&d, key_d, data, size);
  FUZZ_CHECK(!(ea == CAIRN_OK && ed == CAIRN_OK));
  if (ea != CAIRN_OK) FUZZ_CHECK(fuzz_all_zero(key_a, 32));
  if (ed != CAIRN_OK) FUZZ_CHECK(fuzz_all_zero(key_d, 32));
  cairn_p2p_session *signer = ea == CAIRN_OK ? &d : &a;
  const uint8_t *key = ea == CAIRN_OK ? key_a : key_d;
  if ((ea == CAIRN_OK || ed == CAIRN_OK) && memcmp(key, st->node_pk, 32) == 0) {
    uint8_t out[CAIRN_P2P_AUTH_BYTES];
    FUZZ_CHECK(cairn_p2p_session_auth_make(signer, out, st->node_sk) ==
               CAIRN_OK);
    FUZZ_CHECK(size == sizeof out && memcmp(out, data, size) == 0);
  }
}

/* The plaintext of a frame: a keepalive, or a message that round-trips if
 * it decodes. */
static void fuzz_p2p_plain(const uint8_t *plain, size_t n, uint8_t *scratch) {
  cairn_p2p_msg m;
  size_t len = 0;
  if (n == 0 || cairn_p2p_msg_decode(&m, plain, n) != CAIRN_OK) return;
  FUZZ_CHECK(cairn_p2p_msg_encode(scratch, n, &len, &m) == CAIRN_OK);
  FUZZ_CHECK(len == n && memcmp(scratch, plain, n) == 0);
}

static void fuzz_p2p_frames(const uint8_t *data, size_t size) {
  static uint8_t plain[CAIRN_P2P_MSG_BYTES_MAX];
  static uint8_t again[CAIRN_P2P_FRAME_BYTES_MAX];
  const fuzz_p2p_start *st = fuzz_p2p_get_start();
  cairn_p2p_session d = st->dialler, a = st->acceptor;
  size_t pos = 0;
  while (size - pos >= CAIRN_P2P_LEN_BYTES) {
    uint32_t ct = 0;
    size_t n = 0, len = 0;
    if (cairn_p2p_frame_length(&ct, data + pos) != CAIRN_OK) {
      FUZZ_CHECK(ct == 0);
      break;
    }
    size_t frame_len = CAIRN_P2P_LEN_BYTES + (size_t)ct;
    if (size - pos < frame_len) break;
    uint64_t rx = a.rx_frames;
    if (cairn_p2p_session_open(&a, plain, sizeof plain, &n, data + pos,
                               frame_len) != CAIRN_OK) {
      FUZZ_CHECK(a.rx_frames == rx && n == 0);
      break;
    }
    FUZZ_CHECK(a.rx_frames == rx + 1 && n + CAIRN_P2P_TAG_BYTES == ct);
    d.tx_frames = rx;
    FUZZ_CHECK(cairn_p2p_session_seal(&d, again, sizeof again, &len, plain,
                                      n) == CAIRN_OK);
    FUZZ_CHECK(len == frame_len && memcmp(again, data + pos, len) == 0);
    fuzz_p2p_plain(plain, n, again);
    pos += frame_len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  if (size == 0) return 0;
  const uint8_t *rest = data + 1; /* one past the end when size is 1 */
  switch (data[0] % 4) {
  case 0:
    fuzz_p2p_hello(rest, size - 1);
    break;
  case 1:
    fuzz_p2p_keys(rest, size - 1);
    break;
  case 2:
    fuzz_p2p_auth(rest, size - 1);
    break;
  default:
    fuzz_p2p_frames(rest, size - 1);
    break;
  }
  return 0;
}
