/*
 * node/p2p_session.c - handshake and frame cryptography of one peer link.
 *
 * Why this shape. Every link between two Cairn nodes must be (a) between
 * the holders of the node keys each side expects, (b) secret, and (c)
 * tamper-evident down to a dropped or reordered frame. The handshake
 * reaches (a) and (b) in one round trip plus one frame:
 *
 *   - each side sends a hello in clear with a fresh X25519 key, so the
 *     session keys (crypto_kx, one key per direction) are forward secret:
 *     the long-term Ed25519 node keys only sign, they never encrypt, and a
 *     node key stolen later does not open recorded traffic;
 *   - each side then proves its node key inside the encrypted channel by
 *     signing a transcript hash that names its role and both ephemeral
 *     keys. The signature binds the identity to this very key exchange, so
 *     a man in the middle (who would have to run two exchanges with
 *     different ephemerals) cannot forward it, an old signature cannot be
 *     replayed, and a reflected one fails on the role byte. The genesis
 *     hash is in both the hello and the transcript, so nodes of different
 *     chains never talk.
 *
 * Frames reach (c): XChaCha20-Poly1305 with a per-direction counter as the
 * nonce, so a frame opens only at its own position in the stream; the
 * length prefix is the associated data, so it cannot be altered either. A
 * nonce is never reused because each direction has its own key and the
 * counter only grows (and stops at 2^64, which no link reaches).
 *
 * Nothing here does I/O, reads a clock or allocates: the caller (p2p.c)
 * owns the memory, which lets it keep sessions in sodium_malloc'd pages
 * and lets the fuzz target drive the parsers directly. Every parser checks
 * its length before reading and leaves its outputs zeroed on failure.
 */
#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/p2p_session.h"

_Static_assert(CAIRN_P2P_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "frame tag size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24, "nonce");
_Static_assert(crypto_kx_PUBLICKEYBYTES == CAIRN_P2P_EPH_BYTES, "kx key");
_Static_assert(crypto_kx_SESSIONKEYBYTES == 32, "session key");
_Static_assert(crypto_kx_SEEDBYTES == 32, "kx seed");
_Static_assert(CAIRN_P2P_FRAME_CT_MAX <= UINT32_MAX, "frame length is a u32");

void cairn_p2p_hello_encode(uint8_t out[CAIRN_P2P_HELLO_BYTES],
                            const cairn_p2p_hello *h) {
  assert(out != NULL && h != NULL);
  memcpy(out, CAIRN_P2P_MAGIC, CAIRN_P2P_MAGIC_BYTES);
  out[CAIRN_P2P_MAGIC_BYTES] = h->version;
  memcpy(out + CAIRN_P2P_MAGIC_BYTES + 1, h->genesis_hash, CAIRN_HASH_BYTES);
  memcpy(out + CAIRN_P2P_MAGIC_BYTES + 1 + CAIRN_HASH_BYTES, h->eph,
         CAIRN_P2P_EPH_BYTES);
}

cairn_err cairn_p2p_hello_decode(cairn_p2p_hello *h, const uint8_t *buf,
                                 size_t len) {
  assert(h != NULL && (buf != NULL || len == 0));
  memset(h, 0, sizeof *h);
  /* The magic is checked on what is there, so that a stranger speaking
   * another protocol is named as such even with a short first packet. */
  size_t have = len < CAIRN_P2P_MAGIC_BYTES ? len : CAIRN_P2P_MAGIC_BYTES;
  if (have > 0 && memcmp(buf, CAIRN_P2P_MAGIC, have) != 0)
    return CAIRN_ERR_PEER_PROTOCOL;
  if (len < CAIRN_P2P_HELLO_BYTES) return CAIRN_ERR_TRUNCATED;
  if (len > CAIRN_P2P_HELLO_BYTES) return CAIRN_ERR_TRAILING;
  if (buf[CAIRN_P2P_MAGIC_BYTES] != CAIRN_P2P_VERSION)
    return CAIRN_ERR_VERSION;
  h->version = buf[CAIRN_P2P_MAGIC_BYTES];
  memcpy(h->genesis_hash, buf + CAIRN_P2P_MAGIC_BYTES + 1, CAIRN_HASH_BYTES);
  memcpy(h->eph, buf + CAIRN_P2P_MAGIC_BYTES + 1 + CAIRN_HASH_BYTES,
         CAIRN_P2P_EPH_BYTES);
  return CAIRN_OK;
}

void cairn_p2p_session_init(cairn_p2p_session *s, cairn_p2p_role role,
                            const uint8_t genesis_hash[CAIRN_HASH_BYTES],
                            const uint8_t *eph_seed) {
  assert(s != NULL && genesis_hash != NULL);
  assert(role == CAIRN_P2P_ROLE_DIALLER || role == CAIRN_P2P_ROLE_ACCEPTOR);
  memset(s, 0, sizeof *s);
  s->role = (uint8_t)role;
  memcpy(s->genesis_hash, genesis_hash, CAIRN_HASH_BYTES);
  int rc = eph_seed != NULL
               ? crypto_kx_seed_keypair(s->eph_pk, s->eph_sk, eph_seed)
               : crypto_kx_keypair(s->eph_pk, s->eph_sk);
  assert(rc == 0); /* both always succeed */
  (void)rc;
}

void cairn_p2p_session_hello(const cairn_p2p_session *s,
                             uint8_t out[CAIRN_P2P_HELLO_BYTES]) {
  cairn_p2p_hello h;
  assert(s != NULL && out != NULL);
  h.version = CAIRN_P2P_VERSION;
  memcpy(h.genesis_hash, s->genesis_hash, CAIRN_HASH_BYTES);
  memcpy(h.eph, s->eph_pk, CAIRN_P2P_EPH_BYTES);
  cairn_p2p_hello_encode(out, &h);
}

cairn_err cairn_p2p_session_keys(cairn_p2p_session *s, const uint8_t *hello,
                                 size_t len) {
  cairn_p2p_hello h;
  uint8_t rx[32], tx[32];
  assert(s != NULL && !s->keyed);
  CAIRN_TRY(cairn_p2p_hello_decode(&h, hello, len));
  if (sodium_memcmp(h.genesis_hash, s->genesis_hash, CAIRN_HASH_BYTES) != 0)
    return CAIRN_ERR_PEER_CHAIN;
  if (sodium_memcmp(h.eph, s->eph_pk, CAIRN_P2P_EPH_BYTES) == 0)
    return CAIRN_ERR_PEER_PROTOCOL;
  bool dialler = s->role == CAIRN_P2P_ROLE_DIALLER;
  int rc = dialler ? crypto_kx_client_session_keys(rx, tx, s->eph_pk,
                                                   s->eph_sk, h.eph)
                   : crypto_kx_server_session_keys(rx, tx, s->eph_pk,
                                                   s->eph_sk, h.eph);
  if (rc != 0) { /* a low-order point: no shared secret */
    sodium_memzero(rx, sizeof rx);
    sodium_memzero(tx, sizeof tx);
    return CAIRN_ERR_PEER_AUTH;
  }
  memcpy(s->rx_key, rx, sizeof rx);
  memcpy(s->tx_key, tx, sizeof tx);
  sodium_memzero(rx, sizeof rx);
  sodium_memzero(tx, sizeof tx);
  sodium_memzero(s->eph_sk, sizeof s->eph_sk);
  memcpy(s->dialler_eph, dialler ? s->eph_pk : h.eph, CAIRN_P2P_EPH_BYTES);
  memcpy(s->acceptor_eph, dialler ? h.eph : s->eph_pk, CAIRN_P2P_EPH_BYTES);
  s->keyed = true;
  return CAIRN_OK;
}

void cairn_p2p_auth_hash(uint8_t out[CAIRN_HASH_BYTES], uint8_t role,
                         const uint8_t genesis_hash[CAIRN_HASH_BYTES],
                         const uint8_t dialler_eph[CAIRN_P2P_EPH_BYTES],
                         const uint8_t acceptor_eph[CAIRN_P2P_EPH_BYTES]) {
  cairn_sha256 h;
  assert(out != NULL && genesis_hash != NULL);
  assert(dialler_eph != NULL && acceptor_eph != NULL);
  cairn_tagged_init(&h, CAIRN_TAG_P2P_AUTH);
  cairn_sha256_update(&h, &role, 1);
  cairn_sha256_update(&h, genesis_hash, CAIRN_HASH_BYTES);
  cairn_sha256_update(&h, dialler_eph, CAIRN_P2P_EPH_BYTES);
  cairn_sha256_update(&h, acceptor_eph, CAIRN_P2P_EPH_BYTES);
  cairn_sha256_final(&h, out);
}

static void session_auth_hash(const cairn_p2p_session *s, uint8_t role,
                              uint8_t out[CAIRN_HASH_BYTES]) {
  cairn_p2p_auth_hash(out, role, s->genesis_hash, s->dialler_eph,
                      s->acceptor_eph);
}

cairn_err cairn_p2p_session_auth_make(
    const cairn_p2p_session *s, uint8_t out[CAIRN_P2P_AUTH_BYTES],
    const uint8_t node_sk[CAIRN_ED25519_SECKEY_BYTES]) {
  uint8_t hash[CAIRN_HASH_BYTES];
  assert(s != NULL && s->keyed && out != NULL && node_sk != NULL);
  memset(out, 0, CAIRN_P2P_AUTH_BYTES);
  session_auth_hash(s, s->role, hash);
  /* libsodium's secret key is seed || public key. */
  memcpy(out, node_sk + 32, CAIRN_ED25519_PUBKEY_BYTES);
  cairn_err err = cairn_ed25519_sign(out + CAIRN_ED25519_PUBKEY_BYTES, node_sk,
                                     hash, sizeof hash);
  if (err != CAIRN_OK) {
    memset(out, 0, CAIRN_P2P_AUTH_BYTES);
    return CAIRN_ERR_BAD_KEY;
  }
  return CAIRN_OK;
}

cairn_err cairn_p2p_session_auth_check(const cairn_p2p_session *s,
                                       uint8_t key[CAIRN_ED25519_PUBKEY_BYTES],
                                       const uint8_t *buf, size_t len) {
  uint8_t hash[CAIRN_HASH_BYTES];
  assert(s != NULL && s->keyed && key != NULL && (buf != NULL || len == 0));
  memset(key, 0, CAIRN_ED25519_PUBKEY_BYTES);
  if (len < CAIRN_P2P_AUTH_BYTES) return CAIRN_ERR_TRUNCATED;
  if (len > CAIRN_P2P_AUTH_BYTES) return CAIRN_ERR_TRAILING;
  uint8_t peer_role = s->role == CAIRN_P2P_ROLE_DIALLER
                          ? CAIRN_P2P_ROLE_ACCEPTOR
                          : CAIRN_P2P_ROLE_DIALLER;
  session_auth_hash(s, peer_role, hash);
  if (cairn_ed25519_verify(buf + CAIRN_ED25519_PUBKEY_BYTES, hash, sizeof hash,
                           buf) != CAIRN_OK) {
    return CAIRN_ERR_PEER_AUTH;
  }
  memcpy(key, buf, CAIRN_ED25519_PUBKEY_BYTES);
  return CAIRN_OK;
}

/* ---- frames ---- */

cairn_err cairn_p2p_frame_length(uint32_t *ct_len,
                                 const uint8_t hdr[CAIRN_P2P_LEN_BYTES]) {
  assert(ct_len != NULL && hdr != NULL);
  *ct_len = 0;
  uint32_t n = cairn_be32_read(hdr);
  if (n > CAIRN_P2P_FRAME_CT_MAX) return CAIRN_ERR_OVERSIZE;
  if (n < CAIRN_P2P_FRAME_CT_MIN) return CAIRN_ERR_PEER_PROTOCOL;
  *ct_len = n;
  return CAIRN_OK;
}

size_t cairn_p2p_frame_bytes(size_t plain_len) {
  assert(plain_len <= CAIRN_P2P_MSG_BYTES_MAX);
  return CAIRN_P2P_LEN_BYTES + plain_len + CAIRN_P2P_TAG_BYTES;
}

/* The nonce of frame number n: 16 zero bytes then n big-endian. */
static void session_nonce(uint8_t nonce[24], uint64_t n) {
  memset(nonce, 0, 16);
  cairn_be64_write(nonce + 16, n);
}

cairn_err cairn_p2p_session_seal(cairn_p2p_session *s, uint8_t *out,
                                 size_t cap, size_t *out_len,
                                 const uint8_t *plain, size_t plain_len) {
  uint8_t nonce[24];
  unsigned long long ct_len = 0;
  assert(s != NULL && s->keyed && out != NULL && out_len != NULL);
  assert(plain != NULL || plain_len == 0);
  *out_len = 0;
  if (plain_len > CAIRN_P2P_MSG_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  size_t need = cairn_p2p_frame_bytes(plain_len);
  if (cap < need) return CAIRN_ERR_OVERSIZE;
  if (s->tx_frames == UINT64_MAX) return CAIRN_ERR_LIMIT;
  cairn_be32_write(out, (uint32_t)(plain_len + CAIRN_P2P_TAG_BYTES));
  session_nonce(nonce, s->tx_frames);
  int rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
      out + CAIRN_P2P_LEN_BYTES, &ct_len, plain, plain_len, out,
      CAIRN_P2P_LEN_BYTES, NULL, nonce, s->tx_key);
  assert(rc == 0 && ct_len == plain_len + CAIRN_P2P_TAG_BYTES);
  (void)rc;
  s->tx_frames++;
  *out_len = need;
  return CAIRN_OK;
}

cairn_err cairn_p2p_session_open(cairn_p2p_session *s, uint8_t *plain,
                                 size_t cap, size_t *plain_len,
                                 const uint8_t *frame, size_t frame_len) {
  uint8_t nonce[24];
  uint32_t ct_len = 0;
  unsigned long long n = 0;
  assert(s != NULL && s->keyed && plain != NULL && plain_len != NULL);
  assert(frame != NULL || frame_len == 0);
  *plain_len = 0;
  if (frame_len < CAIRN_P2P_LEN_BYTES) return CAIRN_ERR_TRUNCATED;
  CAIRN_TRY(cairn_p2p_frame_length(&ct_len, frame));
  if (frame_len - CAIRN_P2P_LEN_BYTES < ct_len) return CAIRN_ERR_TRUNCATED;
  if (frame_len - CAIRN_P2P_LEN_BYTES > ct_len) return CAIRN_ERR_TRAILING;
  if (cap < ct_len - CAIRN_P2P_TAG_BYTES) return CAIRN_ERR_OVERSIZE;
  if (s->rx_frames == UINT64_MAX) return CAIRN_ERR_LIMIT;
  session_nonce(nonce, s->rx_frames);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain, &n, NULL, frame + CAIRN_P2P_LEN_BYTES, ct_len, frame,
          CAIRN_P2P_LEN_BYTES, nonce, s->rx_key) != 0) {
    return CAIRN_ERR_PEER_PROTOCOL;
  }
  assert(n == ct_len - CAIRN_P2P_TAG_BYTES);
  s->rx_frames++;
  *plain_len = (size_t)n;
  return CAIRN_OK;
}

void cairn_p2p_session_wipe(cairn_p2p_session *s) {
  assert(s != NULL);
  sodium_memzero(s, sizeof *s);
}
