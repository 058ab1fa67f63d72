/*
 * hash.c - SHA-256 (libsodium) and BIP-340-style tagged hashes.
 *
 * A tagged hash prefixes the message with SHA256(tag) twice, a full 64-byte
 * block, so the tag costs one compression and different tags can never
 * produce the same hash input. libsodium's SHA-256 is used because it is
 * already a dependency and is constant-time; hashing is never the
 * bottleneck next to signature verification.
 */
#include <assert.h>
#include <string.h>

#include "cairn/hash.h"

void cairn_sha256_init(cairn_sha256 *h) {
  assert(h != NULL);
  crypto_hash_sha256_init(&h->st);
}

void cairn_sha256_update(cairn_sha256 *h, const uint8_t *p, size_t n) {
  assert(h != NULL);
  assert(p != NULL || n == 0);
  if (n > 0) crypto_hash_sha256_update(&h->st, p, n);
}

void cairn_sha256_final(cairn_sha256 *h, uint8_t out[CAIRN_HASH_BYTES]) {
  assert(h != NULL && out != NULL);
  crypto_hash_sha256_final(&h->st, out);
}

void cairn_sha256_hash(uint8_t out[CAIRN_HASH_BYTES], const uint8_t *p,
                       size_t n) {
  cairn_sha256 h;
  cairn_sha256_init(&h);
  cairn_sha256_update(&h, p, n);
  cairn_sha256_final(&h, out);
}

void cairn_tagged_init(cairn_sha256 *h, const char *tag) {
  uint8_t tag_hash[CAIRN_HASH_BYTES];
  assert(tag != NULL && tag[0] != '\0');
  cairn_sha256_hash(tag_hash, (const uint8_t *)tag, strlen(tag));
  cairn_sha256_init(h);
  cairn_sha256_update(h, tag_hash, sizeof tag_hash);
  cairn_sha256_update(h, tag_hash, sizeof tag_hash);
}

void cairn_tagged_hash(uint8_t out[CAIRN_HASH_BYTES], const char *tag,
                       const uint8_t *p, size_t n) {
  cairn_sha256 h;
  cairn_tagged_init(&h, tag);
  cairn_sha256_update(&h, p, n);
  cairn_sha256_final(&h, out);
}
