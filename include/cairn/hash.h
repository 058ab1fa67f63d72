/*
 * cairn/hash.h - SHA-256 and domain-separated (tagged) hashes.
 *
 * Every on-chain hash is a tagged hash in the BIP-340 style:
 *     tagged_hash(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m)
 * so that a transaction id can never collide with a block hash or a vote.
 * The one exception is the RFC 6962 Merkle tree (merkle.h), which uses the
 * standard 0x00/0x01 prefixes so that its inclusion proofs are standard.
 */
#ifndef CAIRN_HASH_H
#define CAIRN_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define CAIRN_HASH_BYTES 32

/* The tags. Each names what is hashed; see specs/encoding.md. */
#define CAIRN_TAG_TXID "cairn/txid"
#define CAIRN_TAG_TX_SIG "cairn/tx-sig"
#define CAIRN_TAG_BLOCK "cairn/block"
#define CAIRN_TAG_VOTE "cairn/vote"
#define CAIRN_TAG_VALSET "cairn/validators"
#define CAIRN_TAG_GENESIS "cairn/genesis"
#define CAIRN_TAG_STATE "cairn/state"
#define CAIRN_TAG_CHANGES "cairn/changes"
#define CAIRN_TAG_CHECKPOINT "cairn/checkpoint"

typedef struct cairn_sha256 {
  crypto_hash_sha256_state st;
} cairn_sha256;

void cairn_sha256_init(cairn_sha256 *h);
void cairn_sha256_update(cairn_sha256 *h, const uint8_t *p, size_t n);
void cairn_sha256_final(cairn_sha256 *h, uint8_t out[CAIRN_HASH_BYTES]);
void cairn_sha256_hash(uint8_t out[CAIRN_HASH_BYTES], const uint8_t *p,
                       size_t n);

/* Start a tagged hash: the state after SHA256(tag)||SHA256(tag). */
void cairn_tagged_init(cairn_sha256 *h, const char *tag);
void cairn_tagged_hash(uint8_t out[CAIRN_HASH_BYTES], const char *tag,
                       const uint8_t *p, size_t n);

#endif
