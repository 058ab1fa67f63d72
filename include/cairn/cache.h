/*
 * cairn/cache.h - a bounded, thread-safe cache from 32-byte keys to
 * fixed-size values, for work whose result is a pure function of the key.
 *
 * A node checks every transaction twice: when it enters the mempool and
 * again inside the block that carries it. Both checks are of the same
 * bytes, so the second can reuse the first; and most transactions come
 * from a few issuers whose public keys are lifted onto the curve (a square
 * root) again and again. Two instances of this cache serve those cases
 * (the chain owns both, chain.h):
 *   - verified transactions: key = txid (SHA-256 of the canonical bytes),
 *     no value. Present means "these bytes decode, every recipient key is
 *     a point and the signature verifies", which is true forever.
 *   - parsed keys: key = x-only public key, value = libsecp256k1's parsed
 *     form (sig.h cairn_schnorr_verify_cached).
 * Only the code that did the work puts entries, so a hit is exactly as
 * good as doing the work again; a miss just means doing it.
 *
 * The table has a fixed number of slots, allocated once: buckets of
 * CAIRN_CACHE_WAYS slots, a key's bucket chosen by SipHash with a secret
 * random salt (so nobody can aim many keys at one bucket), and a full
 * bucket overwrites its slots in turn. One mutex guards the table; each
 * operation holds it for a hash-table probe and a copy.
 */
#ifndef CAIRN_CACHE_H
#define CAIRN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"

#define CAIRN_CACHE_KEY_BYTES 32
#define CAIRN_CACHE_WAYS 4
#define CAIRN_CACHE_VALUE_BYTES_MAX 64
#define CAIRN_CACHE_ENTRIES_MIN CAIRN_CACHE_WAYS
#define CAIRN_CACHE_ENTRIES_MAX (1u << 24)

typedef struct cairn_cache cairn_cache;

/* A cache of at least `entries` slots (rounded up to a power of two;
 * CAIRN_CACHE_ENTRIES_MIN..MAX) holding values of value_bytes bytes
 * (0..CAIRN_CACHE_VALUE_BYTES_MAX; 0 makes it a set). Errors: RANGE (a
 * size out of bounds), NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_cache_new(cairn_cache **out, size_t entries,
                                           size_t value_bytes);
void cairn_cache_free(cairn_cache *c); /* NULL is ignored */

/* True if key is present; its value is copied to value (value_bytes bytes;
 * may be NULL). value is left untouched on a miss. */
bool cairn_cache_get(cairn_cache *c, const uint8_t key[CAIRN_CACHE_KEY_BYTES],
                     uint8_t *value);

/* Insert or refresh key with value (value_bytes bytes; NULL when 0). May
 * evict another entry of the same bucket. */
void cairn_cache_put(cairn_cache *c, const uint8_t key[CAIRN_CACHE_KEY_BYTES],
                     const uint8_t *value);

/* Slots in the table (a power of two). */
size_t cairn_cache_capacity(const cairn_cache *c);
/* The value size given to cairn_cache_new. */
size_t cairn_cache_value_bytes(const cairn_cache *c);

/* Counters since creation, for the operator's status and benchmarks. */
typedef struct cairn_cache_stats {
  uint64_t hits, misses, puts, evictions;
} cairn_cache_stats;
void cairn_cache_stats_get(cairn_cache *c, cairn_cache_stats *out);

#endif
