/*
 * cairn/p2p_session.h - the cryptography of one peer link, without I/O.
 *
 * p2p.c moves bytes; this layer decides what they mean. It is pure (no
 * sockets, no clock, no allocation) so that unit tests and the fuzz target
 * fuzz_p2p_frame reach every parser with arbitrary bytes. The protocol it
 * implements (specs/p2p.md):
 *
 *   hello    magic "CAIRNP2P" | version u8 (1) | genesis_hash [32]
 *            | ephemeral X25519 public key [32]          (73 bytes, clear)
 *   keys     crypto_kx session keys, the dialler as client: one key per
 *            direction
 *   auth     the first frame each way carries
 *            node pubkey [32] | Ed25519 sig [64] over
 *            tagged_hash("cairn/p2p-auth", role u8 | genesis_hash
 *                        | dialler ephemeral [32] | acceptor ephemeral [32])
 *            (role 1: dialler, 2: acceptor)
 *   frame    len u32 | XChaCha20-Poly1305-IETF ciphertext of len bytes
 *            (tag included); nonce = 24-byte big-endian frame counter of
 *            the direction (0, 1, ...), associated data = the 4 len bytes.
 *            An empty plaintext (len 16) is a keepalive.
 *
 * Pointers are never NULL. A session holds secret keys: keep it in
 * sodium_malloc'd memory where practical and always end it with
 * cairn_p2p_session_wipe().
 */
#ifndef CAIRN_P2P_SESSION_H
#define CAIRN_P2P_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/p2p_msg.h"
#include "cairn/sig.h"

#define CAIRN_P2P_MAGIC "CAIRNP2P"
#define CAIRN_P2P_MAGIC_BYTES 8
#define CAIRN_P2P_VERSION 1
#define CAIRN_TAG_P2P_AUTH "cairn/p2p-auth"

#define CAIRN_P2P_EPH_BYTES 32  /* X25519 public key */
#define CAIRN_P2P_HELLO_BYTES                                                  \
  (CAIRN_P2P_MAGIC_BYTES + 1 + CAIRN_HASH_BYTES + CAIRN_P2P_EPH_BYTES)
#define CAIRN_P2P_AUTH_BYTES                                                   \
  (CAIRN_ED25519_PUBKEY_BYTES + CAIRN_ED25519_SIG_BYTES)
#define CAIRN_P2P_LEN_BYTES 4
#define CAIRN_P2P_TAG_BYTES 16 /* Poly1305 */
/* Ciphertext bounds: a keepalive (tag only) up to the largest message. */
#define CAIRN_P2P_FRAME_CT_MIN CAIRN_P2P_TAG_BYTES
#define CAIRN_P2P_FRAME_CT_MAX (CAIRN_P2P_MSG_BYTES_MAX + CAIRN_P2P_TAG_BYTES)
/* The most bytes one frame occupies on the wire. */
#define CAIRN_P2P_FRAME_BYTES_MAX (CAIRN_P2P_LEN_BYTES + CAIRN_P2P_FRAME_CT_MAX)

typedef enum cairn_p2p_role {
  CAIRN_P2P_ROLE_DIALLER = 1,
  CAIRN_P2P_ROLE_ACCEPTOR = 2
} cairn_p2p_role;

typedef struct cairn_p2p_hello {
  uint8_t version;
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  uint8_t eph[CAIRN_P2P_EPH_BYTES];
} cairn_p2p_hello;

/* Write the 73 hello bytes. */
void cairn_p2p_hello_encode(uint8_t out[CAIRN_P2P_HELLO_BYTES],
                            const cairn_p2p_hello *h);
/* Parse exactly one hello. Out: h, zeroed on failure. Errors: TRUNCATED,
 * TRAILING, PEER_PROTOCOL (not the magic: not a Cairn peer), VERSION. */
CAIRN_MUST_CHECK cairn_err cairn_p2p_hello_decode(cairn_p2p_hello *h,
                                                  const uint8_t *buf,
                                                  size_t len);

typedef struct cairn_p2p_session {
  uint8_t role; /* cairn_p2p_role */
  bool keyed;   /* the peer's hello was accepted: keys are set */
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  uint8_t eph_pk[CAIRN_P2P_EPH_BYTES];
  uint8_t eph_sk[32]; /* wiped once the keys are derived */
  uint8_t dialler_eph[CAIRN_P2P_EPH_BYTES];
  uint8_t acceptor_eph[CAIRN_P2P_EPH_BYTES];
  uint8_t rx_key[32];
  uint8_t tx_key[32];
  uint64_t rx_frames; /* frames opened: the next receive nonce */
  uint64_t tx_frames; /* frames sealed: the next send nonce */
} cairn_p2p_session;

/* Start a session: a fresh ephemeral key pair from the OS RNG, or from
 * eph_seed [32] when not NULL (tests and the fuzz target only: a fixed
 * seed makes the session keys predictable). */
void cairn_p2p_session_init(cairn_p2p_session *s, cairn_p2p_role role,
                            const uint8_t genesis_hash[CAIRN_HASH_BYTES],
                            const uint8_t *eph_seed);
/* Our hello (send it first). */
void cairn_p2p_session_hello(const cairn_p2p_session *s,
                             uint8_t out[CAIRN_P2P_HELLO_BYTES]);
/* Take the peer's hello and derive the session keys; the ephemeral secret
 * is wiped. On failure s is unchanged. Errors: the hello decoder's,
 * PEER_CHAIN (another genesis), PEER_PROTOCOL (the peer echoed our own
 * ephemeral key), PEER_AUTH (an ephemeral key X25519 refuses). Asserts
 * that s is not keyed yet. */
CAIRN_MUST_CHECK cairn_err cairn_p2p_session_keys(cairn_p2p_session *s,
                                                  const uint8_t *hello,
                                                  size_t len);
/* The hash a node signs to prove it is `role` on this link. */
void cairn_p2p_auth_hash(uint8_t out[CAIRN_HASH_BYTES], uint8_t role,
                         const uint8_t genesis_hash[CAIRN_HASH_BYTES],
                         const uint8_t dialler_eph[CAIRN_P2P_EPH_BYTES],
                         const uint8_t acceptor_eph[CAIRN_P2P_EPH_BYTES]);
/* Our auth message: node_sk's public key and its signature for our role.
 * s must be keyed (asserted). Errors: BAD_KEY (sk unusable). */
CAIRN_MUST_CHECK cairn_err cairn_p2p_session_auth_make(
    const cairn_p2p_session *s, uint8_t out[CAIRN_P2P_AUTH_BYTES],
    const uint8_t node_sk[CAIRN_ED25519_SECKEY_BYTES]);
/* Check the peer's auth message (the plaintext of its first frame). Out:
 * key, the peer's node key (zeroed on failure). Errors: TRUNCATED,
 * TRAILING, PEER_AUTH (the signature is not the peer role's over this
 * link). */
CAIRN_MUST_CHECK cairn_err cairn_p2p_session_auth_check(
    const cairn_p2p_session *s, uint8_t key[CAIRN_ED25519_PUBKEY_BYTES],
    const uint8_t *buf, size_t len);

/* The ciphertext length a frame header announces. Out: ct_len (0 on
 * failure). Errors: OVERSIZE (over CAIRN_P2P_FRAME_CT_MAX: refuse before
 * reading the body), PEER_PROTOCOL (shorter than a tag). */
CAIRN_MUST_CHECK cairn_err cairn_p2p_frame_length(
    uint32_t *ct_len, const uint8_t hdr[CAIRN_P2P_LEN_BYTES]);
/* Bytes a frame of plain_len plaintext bytes occupies on the wire. */
size_t cairn_p2p_frame_bytes(size_t plain_len);

/* Seal plain into one frame (header and ciphertext) at out. s must be
 * keyed (asserted). Out: out_len (0 on failure). Errors: OVERSIZE
 * (plain_len over CAIRN_P2P_MSG_BYTES_MAX, or cap too small), LIMIT (2^64
 * frames sent). */
CAIRN_MUST_CHECK cairn_err cairn_p2p_session_seal(cairn_p2p_session *s,
                                                  uint8_t *out, size_t cap,
                                                  size_t *out_len,
                                                  const uint8_t *plain,
                                                  size_t plain_len);
/* Open exactly one frame (header and ciphertext) into plain. s must be
 * keyed (asserted). Out: plain_len (0 on failure); the receive counter
 * advances only on success. Errors: TRUNCATED (shorter than its header
 * says), TRAILING, the frame_length errors, OVERSIZE (cap too small),
 * PEER_PROTOCOL (authentication failed: altered, reordered, replayed or
 * not for this key), LIMIT (2^64 frames received). */
CAIRN_MUST_CHECK cairn_err cairn_p2p_session_open(cairn_p2p_session *s,
                                                  uint8_t *plain, size_t cap,
                                                  size_t *plain_len,
                                                  const uint8_t *frame,
                                                  size_t frame_len);
/* Wipe every secret in s (and the rest of it). */
void cairn_p2p_session_wipe(cairn_p2p_session *s);

#endif
