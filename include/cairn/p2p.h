/*
 * cairn/p2p.h - authenticated, encrypted peer links between nodes.
 *
 * Each node has an Ed25519 node key (a validator's node key is its
 * validator key). Nodes dial the peers listed in their configuration
 * (address and expected key) and accept connections from keys they allow
 * (the configured peers' keys, plus any the node adds, e.g. the validators
 * in force). Every link starts with a handshake (specs/p2p.md):
 *
 *   1. both sides send, in clear: magic "CAIRNP2P" | version u8 (1)
 *      | genesis_hash [32] | ephemeral X25519 public key [32];
 *      a different magic, version or genesis closes the link.
 *   2. session keys: crypto_kx with the dialling side as client; one key
 *      per direction.
 *   3. the first encrypted frame each way is
 *        node pubkey [32] | Ed25519 sig [64] over
 *        tagged_hash("cairn/p2p-auth", role u8 | genesis_hash
 *                    | dialler ephemeral [32] | acceptor ephemeral [32])
 *      (role 1 for the dialler, 2 for the acceptor), so a signature proves
 *      the key holder is on this very link and cannot be replayed. An
 *      unknown key, or not the key configured for that address, closes the
 *      link (PEER_AUTH).
 *
 * Frames: len u32 (bytes of ciphertext, tag included) | ciphertext, sealed
 * with XChaCha20-Poly1305-IETF under the direction's key; the nonce is a
 * 24-byte big-endian counter (0, 1, ...) per direction and the 4 length
 * bytes are the associated data, so frames cannot be dropped, reordered,
 * replayed, truncated or altered without the link failing. A frame longer
 * than CAIRN_P2P_MSG_BYTES_MAX + 16 closes the link before it is read. An
 * empty plaintext is a keepalive, sent after a third of CAIRN_P2P_IDLE_MS
 * without sending. The pure handshake and frame code is in
 * cairn/p2p_session.h; specs/p2p.md has every byte.
 *
 * Limits per peer: the send queue holds at most CAIRN_P2P_SENDQ_BYTES_MAX
 * (past it a send fails with PEER_RATE and the peer, too slow, is
 * dropped, not banned); received messages are rate limited (token buckets
 * of CAIRN_P2P_RATE_MSGS messages and CAIRN_P2P_RATE_BYTES bytes per
 * second; past them reading from the peer pauses until they refill, so
 * TCP slows the sender down). At most CAIRN_P2P_PEERS_MAX
 * links up (and as many inbound handshakes in progress); a
 * handshake must finish within CAIRN_P2P_HANDSHAKE_MS; a link silent for
 * CAIRN_P2P_IDLE_MS is closed. One link per key: when a second link to a
 * connected key comes up, the one dialled by the lower node key is kept
 * (the newer if one node dialled both), so a simultaneous dial from both
 * sides converges on one link. Configured peers are redialled after a
 * failure with exponential backoff (CAIRN_P2P_BACKOFF_MIN_MS doubling to
 * CAIRN_P2P_BACKOFF_MAX_MS). A peer dropped for misbehaviour is not
 * redialled or accepted for CAIRN_P2P_BAN_MS. The transport itself
 * punishes a message that does not decode (PEER_PROTOCOL) and an oversize
 * frame from an authenticated peer; a
 * frame that fails authentication closes the link without a ban (the
 * bytes may have been altered on the way).
 *
 * Runs on the node's libevent loop, single-threaded. Peer ids are small
 * integers valid while the link is up (on_peer reports up and down); an id
 * is not reused. Handlers may call every function here except
 * cairn_p2p_close.
 */
#ifndef CAIRN_P2P_H
#define CAIRN_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/log.h"
#include "cairn/p2p_msg.h"
#include "cairn/sig.h"

struct event_base;

#define CAIRN_P2P_PEERS_MAX 64
#define CAIRN_P2P_SENDQ_BYTES_MAX (64u * 1024u * 1024u)
#define CAIRN_P2P_RATE_MSGS 20000u
#define CAIRN_P2P_RATE_BYTES (64u * 1024u * 1024u)
#define CAIRN_P2P_HANDSHAKE_MS 5000u
#define CAIRN_P2P_IDLE_MS 30000u
#define CAIRN_P2P_BACKOFF_MIN_MS 250u
#define CAIRN_P2P_BACKOFF_MAX_MS 8000u
#define CAIRN_P2P_BAN_MS 30000u
#define CAIRN_P2P_HOST_BYTES_MAX 256

typedef uint32_t cairn_peer_id;

/* A peer to dial: "host:port" and the node key expected there. */
typedef struct cairn_p2p_peer_conf {
  char host[CAIRN_P2P_HOST_BYTES_MAX];
  uint16_t port;
  uint8_t key[CAIRN_ED25519_PUBKEY_BYTES];
} cairn_p2p_peer_conf;

typedef struct cairn_p2p_handlers {
  void *ctx;
  /* A decoded message from an authenticated peer. m's byte strings point
   * into a buffer valid only during the call. */
  void (*on_message)(void *ctx, cairn_peer_id peer, const cairn_p2p_msg *m);
  /* A link came up (after the handshake) or went down. */
  void (*on_peer)(void *ctx, cairn_peer_id peer, bool up);
} cairn_p2p_handlers;

typedef struct cairn_p2p_opts {
  struct event_base *base;
  const cairn_log *log; /* may be NULL */
  const uint8_t *node_sk; /* [CAIRN_ED25519_SECKEY_BYTES], copied */
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  const char *listen_host; /* NULL: do not listen */
  uint16_t listen_port;    /* 0 with a host: any free port (tests) */
  const cairn_p2p_peer_conf *peers; /* dialled and allowed */
  size_t n_peers;                   /* <= CAIRN_P2P_PEERS_MAX */
  cairn_p2p_handlers handlers;
  /* Limits, for tests that cannot wait for the real ones: 0 means the
   * constant above (handshake_ms: CAIRN_P2P_HANDSHAKE_MS, idle_ms:
   * CAIRN_P2P_IDLE_MS, ...). A node leaves them all 0. */
  uint32_t handshake_ms;
  uint32_t idle_ms;
  uint32_t backoff_min_ms;
  uint32_t backoff_max_ms;
  uint32_t ban_ms;
  uint32_t rate_msgs;      /* messages per second */
  uint64_t rate_bytes;     /* bytes per second */
  size_t sendq_bytes_max;
  size_t peers_max;        /* <= CAIRN_P2P_PEERS_MAX */
} cairn_p2p_opts;

typedef struct cairn_p2p cairn_p2p;

/* Start listening (if asked) and dialling the configured peers.
 * Errors: NOMEM, NETWORK (cannot listen; the log says why), ARG. */
CAIRN_MUST_CHECK cairn_err cairn_p2p_open(cairn_p2p **out,
                                          const cairn_p2p_opts *o);
/* Close every link, wipe keys, free (p may be NULL). No handler is
 * called. Not from inside a handler (asserted). */
void cairn_p2p_close(cairn_p2p *p);

/* The port actually listened on (useful with listen_port 0). */
uint16_t cairn_p2p_listen_port(const cairn_p2p *p);

/* Also accept inbound links from these keys (replaces the previous extra
 * list; configured peers stay allowed). n <= CAIRN_VALIDATORS_MAX. */
void cairn_p2p_allow(cairn_p2p *p, const uint8_t (*keys)[32], size_t n);

/* Queue m for one peer / for every connected peer except `except`
 * (CAIRN_P2P_NO_PEER for none). Errors: NOT_FOUND (no such peer),
 * PEER_RATE (the queue is full: the peer is dropped). Broadcast never
 * fails: peers whose queue is full are dropped. */
#define CAIRN_P2P_NO_PEER UINT32_MAX
CAIRN_MUST_CHECK cairn_err cairn_p2p_send(cairn_p2p *p, cairn_peer_id peer,
                                          const cairn_p2p_msg *m);
void cairn_p2p_broadcast(cairn_p2p *p, const cairn_p2p_msg *m,
                         cairn_peer_id except);

/* Drop a peer for misbehaviour: log why, close, ban its key for
 * CAIRN_P2P_BAN_MS. Unknown ids are ignored. */
void cairn_p2p_punish(cairn_p2p *p, cairn_peer_id peer, cairn_err err,
                      const char *why);

/* The node key of a connected peer. Errors: NOT_FOUND. */
CAIRN_MUST_CHECK cairn_err cairn_p2p_peer_key(const cairn_p2p *p,
                                              cairn_peer_id peer,
                                              uint8_t key[32]);
/* Number of authenticated links. */
size_t cairn_p2p_count(const cairn_p2p *p);

#endif
