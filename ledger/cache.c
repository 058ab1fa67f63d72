/*
 * cache.c - a bounded, thread-safe, set-associative cache of 32-byte keys.
 *
 * Checking a signature costs ~40 microseconds; a node would otherwise pay
 * that twice for each transaction (mempool admission, then the block), and
 * lift the same issuer keys onto the curve thousands of times a block.
 * This table remembers such results (cache.h says which), in memory that
 * is allocated once and never grows: `capacity` slots in buckets of
 * CAIRN_CACHE_WAYS. Keys come from outside (txids and public keys anyone
 * can choose), so the bucket index is SipHash-2-4 of the key under a
 * random salt drawn when the cache is made: an attacker who floods one
 * bucket cannot know which, and at worst evicts entries, which only costs
 * the work the cache would have saved.
 *
 * A hit must never be wrong, so an entry is compared on its whole key, not
 * on the hash. Eviction is round-robin within the bucket (a cursor per
 * bucket): cheap and good enough when the table is a few times larger than
 * the working set (a full mempool, the keys of recent blocks).
 *
 * Verifier threads share one cache, so a mutex guards it; each operation
 * is a probe of at most CAIRN_CACHE_WAYS slots and a copy of at most
 * CAIRN_CACHE_VALUE_BYTES_MAX bytes, a fraction of a microsecond next to
 * the work it saves.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cairn/cache.h"

_Static_assert((CAIRN_CACHE_WAYS & (CAIRN_CACHE_WAYS - 1)) == 0,
               "ways is a power of two");
_Static_assert(crypto_shorthash_BYTES == 8, "SipHash gives 64 bits");

struct cairn_cache {
  pthread_mutex_t mu;
  size_t capacity;    /* slots, a power of two >= CAIRN_CACHE_WAYS */
  size_t buckets;     /* capacity / CAIRN_CACHE_WAYS */
  size_t value_bytes; /* 0..CAIRN_CACHE_VALUE_BYTES_MAX */
  size_t slot_bytes;  /* key + value */
  uint8_t salt[crypto_shorthash_KEYBYTES];
  uint8_t *slots;   /* capacity * slot_bytes */
  uint8_t *used;    /* capacity flags */
  uint8_t *cursor;  /* per bucket: the next way to overwrite */
  cairn_cache_stats stats;
};

static size_t cache_round_up(size_t n) {
  size_t p = CAIRN_CACHE_ENTRIES_MIN;
  while (p < n) p <<= 1;
  return p;
}

cairn_err cairn_cache_new(cairn_cache **out, size_t entries,
                          size_t value_bytes) {
  assert(out != NULL);
  *out = NULL;
  if (entries < CAIRN_CACHE_ENTRIES_MIN || entries > CAIRN_CACHE_ENTRIES_MAX ||
      value_bytes > CAIRN_CACHE_VALUE_BYTES_MAX)
    return CAIRN_ERR_RANGE;
  cairn_cache *c = calloc(1, sizeof *c);
  if (c == NULL) return CAIRN_ERR_NOMEM;
  c->capacity = cache_round_up(entries);
  c->buckets = c->capacity / CAIRN_CACHE_WAYS;
  c->value_bytes = value_bytes;
  c->slot_bytes = CAIRN_CACHE_KEY_BYTES + value_bytes;
  c->slots = malloc(c->capacity * c->slot_bytes);
  c->used = calloc(c->capacity, 1);
  c->cursor = calloc(c->buckets, 1);
  if (c->slots == NULL || c->used == NULL || c->cursor == NULL ||
      pthread_mutex_init(&c->mu, NULL) != 0) {
    free(c->slots);
    free(c->used);
    free(c->cursor);
    free(c);
    return CAIRN_ERR_NOMEM;
  }
  crypto_shorthash_keygen(c->salt);
  *out = c;
  return CAIRN_OK;
}

void cairn_cache_free(cairn_cache *c) {
  if (c == NULL) return;
  (void)pthread_mutex_destroy(&c->mu);
  free(c->slots);
  free(c->used);
  free(c->cursor);
  free(c);
}

size_t cairn_cache_capacity(const cairn_cache *c) {
  assert(c != NULL);
  return c->capacity;
}

size_t cairn_cache_value_bytes(const cairn_cache *c) {
  assert(c != NULL);
  return c->value_bytes;
}

/* First slot of key's bucket. */
static size_t cache_bucket(const cairn_cache *c, const uint8_t *key) {
  uint8_t h[crypto_shorthash_BYTES];
  (void)crypto_shorthash(h, key, CAIRN_CACHE_KEY_BYTES, c->salt);
  uint64_t x = 0;
  for (size_t i = 0; i < sizeof h; i++) x = (x << 8) | h[i];
  return (size_t)(x & (uint64_t)(c->buckets - 1)) * CAIRN_CACHE_WAYS;
}

/* The slot holding key, or capacity if none. Caller holds mu. */
static size_t cache_find(const cairn_cache *c, size_t first,
                         const uint8_t *key) {
  for (size_t w = 0; w < CAIRN_CACHE_WAYS; w++) {
    size_t s = first + w;
    if (c->used[s] &&
        memcmp(c->slots + s * c->slot_bytes, key, CAIRN_CACHE_KEY_BYTES) == 0)
      return s;
  }
  return c->capacity;
}

bool cairn_cache_get(cairn_cache *c, const uint8_t key[CAIRN_CACHE_KEY_BYTES],
                     uint8_t *value) {
  assert(c != NULL && key != NULL);
  size_t first = cache_bucket(c, key);
  (void)pthread_mutex_lock(&c->mu);
  size_t s = cache_find(c, first, key);
  bool hit = s < c->capacity;
  if (hit && value != NULL && c->value_bytes > 0)
    memcpy(value, c->slots + s * c->slot_bytes + CAIRN_CACHE_KEY_BYTES,
           c->value_bytes);
  if (hit)
    c->stats.hits++;
  else
    c->stats.misses++;
  (void)pthread_mutex_unlock(&c->mu);
  return hit;
}

/* A free slot of the bucket, else the next one in turn (evicted). Caller
 * holds mu. */
static size_t cache_victim(cairn_cache *c, size_t first) {
  for (size_t w = 0; w < CAIRN_CACHE_WAYS; w++)
    if (!c->used[first + w]) return first + w;
  size_t b = first / CAIRN_CACHE_WAYS;
  size_t w = c->cursor[b] % CAIRN_CACHE_WAYS;
  c->cursor[b] = (uint8_t)((w + 1) % CAIRN_CACHE_WAYS);
  c->stats.evictions++;
  return first + w;
}

void cairn_cache_put(cairn_cache *c, const uint8_t key[CAIRN_CACHE_KEY_BYTES],
                     const uint8_t *value) {
  assert(c != NULL && key != NULL && (value != NULL || c->value_bytes == 0));
  size_t first = cache_bucket(c, key);
  (void)pthread_mutex_lock(&c->mu);
  size_t s = cache_find(c, first, key);
  if (s == c->capacity) s = cache_victim(c, first);
  assert(s >= first && s < first + CAIRN_CACHE_WAYS);
  uint8_t *slot = c->slots + s * c->slot_bytes;
  memcpy(slot, key, CAIRN_CACHE_KEY_BYTES);
  if (c->value_bytes > 0)
    memcpy(slot + CAIRN_CACHE_KEY_BYTES, value, c->value_bytes);
  c->used[s] = 1;
  c->stats.puts++;
  (void)pthread_mutex_unlock(&c->mu);
}

void cairn_cache_stats_get(cairn_cache *c, cairn_cache_stats *out) {
  assert(c != NULL && out != NULL);
  (void)pthread_mutex_lock(&c->mu);
  *out = c->stats;
  (void)pthread_mutex_unlock(&c->mu);
}
