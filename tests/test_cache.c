/*
 * test_cache.c - the bounded cache of cache.h, and the _cached signature
 * and decoding calls built on it (sig.h, tx.h).
 *
 * The cache must never answer wrongly: a hit returns exactly the value put
 * under exactly that key, a key never put is a miss, and the table never
 * holds more than its capacity however many keys arrive. The cached
 * signature calls must give exactly the uncached results (valid and
 * invalid keys and signatures), store only keys that parsed, and be served
 * from the cache the second time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cairn/cache.h"
#include "cairn/encoding.h"
#include "cairn/hash.h"
#include "cairn/sig.h"
#include "cairn/tx.h"
#include "testutil.h"

/* Key i: a hash of i, so keys spread like txids do. */
static void key_of(uint8_t key[32], uint32_t i) {
  uint8_t b[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
                  (uint8_t)i};
  cairn_tagged_hash(key, "cairn-test/cache", b, sizeof b);
}

/* The value stored under key i: derived from i, so any mix-up shows. */
static void value_of(uint8_t v[16], uint32_t i) {
  for (size_t k = 0; k < 16; k++) v[k] = (uint8_t)(i * 31u + k);
}

static void test_new_rejects_bad_sizes(void **state) {
  (void)state;
  cairn_cache *c = (cairn_cache *)1;
  assert_int_equal(cairn_cache_new(&c, 0, 0), CAIRN_ERR_RANGE);
  assert_null(c);
  assert_int_equal(cairn_cache_new(&c, CAIRN_CACHE_ENTRIES_MIN - 1, 0),
                   CAIRN_ERR_RANGE);
  assert_int_equal(cairn_cache_new(&c, (size_t)CAIRN_CACHE_ENTRIES_MAX + 1, 0),
                   CAIRN_ERR_RANGE);
  assert_int_equal(cairn_cache_new(&c, 64, CAIRN_CACHE_VALUE_BYTES_MAX + 1),
                   CAIRN_ERR_RANGE);
  assert_null(c);
  assert_int_equal(cairn_cache_new(&c, 100, 16), CAIRN_OK);
  assert_int_equal(cairn_cache_capacity(c), 128); /* rounded up */
  assert_int_equal(cairn_cache_value_bytes(c), 16);
  cairn_cache_free(c);
  cairn_cache_free(NULL);
}

static void test_put_get_and_refresh(void **state) {
  (void)state;
  cairn_cache *c = NULL;
  uint8_t k1[32], k2[32], v[16], got[16];
  assert_int_equal(cairn_cache_new(&c, 1024, 16), CAIRN_OK);
  key_of(k1, 1);
  key_of(k2, 2);
  memset(got, 0xee, sizeof got);
  assert_false(cairn_cache_get(c, k1, got));
  for (size_t i = 0; i < sizeof got; i++) assert_int_equal(got[i], 0xee);
  value_of(v, 1);
  cairn_cache_put(c, k1, v);
  assert_true(cairn_cache_get(c, k1, got));
  assert_memory_equal(got, v, 16);
  assert_false(cairn_cache_get(c, k2, got)); /* a neighbour is no hit */
  assert_true(cairn_cache_get(c, k1, NULL));
  value_of(v, 7); /* refreshing replaces the value, keeps one entry */
  cairn_cache_put(c, k1, v);
  assert_true(cairn_cache_get(c, k1, got));
  assert_memory_equal(got, v, 16);
  cairn_cache_stats st;
  cairn_cache_stats_get(c, &st);
  assert_int_equal(st.puts, 2);
  assert_int_equal(st.hits, 3);
  assert_int_equal(st.misses, 2);
  assert_int_equal(st.evictions, 0);
  cairn_cache_free(c);
}

/* Ten times the capacity: the table stays bounded, evicts, and whatever it
 * still answers is right; the most recent keys of a run are mostly there. */
static void test_bounded_and_never_wrong(void **state) {
  (void)state;
  cairn_cache *c = NULL;
  const uint32_t cap = 256, n = 10 * cap;
  uint8_t k[32], v[16], got[16];
  assert_int_equal(cairn_cache_new(&c, cap, 16), CAIRN_OK);
  for (uint32_t i = 0; i < n; i++) {
    key_of(k, i);
    value_of(v, i);
    cairn_cache_put(c, k, v);
  }
  uint32_t present = 0;
  for (uint32_t i = 0; i < n; i++) {
    key_of(k, i);
    if (!cairn_cache_get(c, k, got)) continue;
    present++;
    value_of(v, i);
    assert_memory_equal(got, v, 16);
  }
  assert_true(present <= cap);
  assert_true(present >= cap / 2); /* most slots hold something */
  cairn_cache_stats st;
  cairn_cache_stats_get(c, &st);
  assert_int_equal(st.puts, n);
  assert_true(st.evictions >= n - cap);
  /* Keys never put are misses, however full the table. */
  for (uint32_t i = n; i < n + 1000; i++) {
    key_of(k, i);
    assert_false(cairn_cache_get(c, k, NULL));
  }
  cairn_cache_free(c);
}

static void test_set_mode(void **state) {
  (void)state;
  cairn_cache *c = NULL;
  uint8_t k[32];
  assert_int_equal(cairn_cache_new(&c, 64, 0), CAIRN_OK);
  key_of(k, 42);
  assert_false(cairn_cache_get(c, k, NULL));
  cairn_cache_put(c, k, NULL);
  assert_true(cairn_cache_get(c, k, NULL));
  k[31] ^= 1;
  assert_false(cairn_cache_get(c, k, NULL));
  cairn_cache_free(c);
}

typedef struct worker {
  cairn_cache *c;
  uint32_t base;
  int wrong; /* out: a hit with the wrong value */
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  uint8_t k[32], v[16], got[16];
  for (uint32_t r = 0; r < 4; r++) {
    for (uint32_t i = 0; i < 5000; i++) {
      uint32_t id = w->base + (i * 7919u) % 3000u; /* overlap other thread */
      key_of(k, id);
      value_of(v, id);
      if (cairn_cache_get(w->c, k, got) && memcmp(got, v, 16) != 0)
        w->wrong = 1;
      cairn_cache_put(w->c, k, v);
    }
  }
  return NULL;
}

static void test_threads_never_see_torn_values(void **state) {
  (void)state;
  cairn_cache *c = NULL;
  assert_int_equal(cairn_cache_new(&c, 1024, 16), CAIRN_OK);
  worker w[2] = {{.c = c, .base = 0}, {.c = c, .base = 1500}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
  assert_int_equal(w[0].wrong, 0);
  assert_int_equal(w[1].wrong, 0);
  cairn_cache_stats st;
  cairn_cache_stats_get(c, &st);
  assert_int_equal(st.puts, 2u * 4u * 5000u);
  assert_true(st.hits > 0);
  cairn_cache_free(c);
}

/* ---- the cached signature calls ---- */

static cairn_cache *key_cache(void) {
  cairn_cache *c = NULL;
  assert_int_equal(cairn_cache_new(&c, 64, CAIRN_SIG_PARSED_KEY_BYTES),
                   CAIRN_OK);
  return c;
}

static void test_cached_verify_matches_uncached(void **state) {
  (void)state;
  cairn_cache *kc = key_cache();
  uint8_t sk[32], pk[32], sig[64], msg[32] = {1, 2, 3};
  assert_int_equal(cairn_schnorr_keygen(sk, pk), CAIRN_OK);
  assert_int_equal(cairn_schnorr_sign(sig, sk, msg, NULL), CAIRN_OK);
  /* Twice: the first parses and stores, the second is served. */
  for (int round = 0; round < 2; round++) {
    assert_int_equal(cairn_schnorr_verify_cached(kc, sig, msg, 32, pk),
                     CAIRN_OK);
    msg[0] ^= 1; /* a wrong message still fails with a cached key */
    assert_int_equal(cairn_schnorr_verify_cached(kc, sig, msg, 32, pk),
                     CAIRN_ERR_BAD_SIG);
    assert_int_equal(cairn_schnorr_verify(sig, msg, 32, pk),
                     CAIRN_ERR_BAD_SIG);
    msg[0] ^= 1;
  }
  cairn_cache_stats st;
  cairn_cache_stats_get(kc, &st);
  assert_int_equal(st.puts, 1);
  assert_int_equal(st.misses, 1);
  assert_int_equal(st.hits, 3);
  cairn_cache_free(kc);
  sodium_memzero(sk, sizeof sk);
}

/* BIP-340 test vector 5's public key: not the x of any curve point. */
static void not_a_point(uint8_t pk[32]) {
  static const char hex[] =
      "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34";
  assert_int_equal(cairn_hex_decode_exact(pk, 32, hex), CAIRN_OK);
}

/* A key that is no point must be BAD_KEY every time and never enter the
 * cache. */
static void test_invalid_key_never_cached(void **state) {
  (void)state;
  cairn_cache *kc = key_cache();
  uint8_t pk[32], sig[64] = {0}, msg[32] = {0};
  not_a_point(pk);
  assert_int_equal(cairn_schnorr_pubkey_check(pk), CAIRN_ERR_BAD_KEY);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(cairn_schnorr_pubkey_check_cached(kc, pk),
                     CAIRN_ERR_BAD_KEY);
    assert_int_equal(cairn_schnorr_verify_cached(kc, sig, msg, 32, pk),
                     CAIRN_ERR_BAD_KEY);
  }
  assert_false(cairn_cache_get(kc, pk, NULL));
  cairn_cache_stats st;
  cairn_cache_stats_get(kc, &st);
  assert_int_equal(st.puts, 0);
  cairn_cache_free(kc);
}

/* Decoding through the cache rejects a recipient that is not a point just
 * as cairn_tx_decode does, and accepts and fills the cache otherwise. */
static void test_tx_decode_cached(void **state) {
  (void)state;
  cairn_cache *kc = key_cache();
  tu_key issuer, member;
  cairn_tx tx, d;
  uint8_t buf[CAIRN_TX_BYTES_MAX];
  tu_issuer(&issuer, 1);
  tu_member(&member, 3);
  tu_tx_issue(&tx, &issuer, 1, 1, member.pk, 50);
  size_t len = tu_tx_bytes(buf, sizeof buf, &tx);
  assert_int_equal(cairn_tx_decode_cached(&d, buf, len, kc), CAIRN_OK);
  assert_true(cairn_cache_get(kc, member.pk, NULL));
  assert_int_equal(cairn_tx_verify_cached(&d, kc), CAIRN_OK);
  assert_true(cairn_cache_get(kc, issuer.pk, NULL));
  assert_int_equal(cairn_tx_decode_cached(&d, buf, len, kc), CAIRN_OK);
  /* A recipient that is no point; `to` is found in the bytes by value. */
  size_t at = 0;
  while (at + 32 <= len && memcmp(buf + at, member.pk, 32) != 0) at++;
  assert_true(at + 32 <= len);
  not_a_point(buf + at);
  assert_int_equal(cairn_tx_decode(&d, buf, len), CAIRN_ERR_BAD_KEY);
  assert_int_equal(cairn_tx_decode_cached(&d, buf, len, kc),
                   CAIRN_ERR_BAD_KEY);
  assert_int_equal(cairn_tx_decode_cached(&d, buf, len, NULL),
                   CAIRN_ERR_BAD_KEY);
  assert_int_equal(cairn_tx_decode_verified(&d, buf, len), CAIRN_OK);
  cairn_cache_free(kc);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_rejects_bad_sizes),
      cmocka_unit_test(test_put_get_and_refresh),
      cmocka_unit_test(test_bounded_and_never_wrong),
      cmocka_unit_test(test_set_mode),
      cmocka_unit_test(test_threads_never_see_torn_values),
      cmocka_unit_test(test_cached_verify_matches_uncached),
      cmocka_unit_test(test_invalid_key_never_cached),
      cmocka_unit_test(test_tx_decode_cached),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
