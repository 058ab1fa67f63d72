/*
 * tests/fuzz/fuzz.h - what the fuzz targets share.
 *
 * Each tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput and is built
 * twice: with clang and -fsanitize=fuzzer,address,undefined for `make fuzz`
 * (libFuzzer supplies main), and with the normal compiler linked to
 * replay_main.c for `make test`, which feeds it every file of
 * tests/fuzz/corpus/<name>/ as a regression test.
 *
 * A target checks properties, not just survival: whatever a decoder
 * accepts must encode back to the same bytes, whatever a parser accepts
 * must render and parse back to the same value, and a rejected input must
 * leave its outputs zeroed. A broken property calls FUZZ_CHECK, which
 * prints the expression and aborts, so libFuzzer saves the input as a
 * crash and the replay fails.
 *
 * Targets may keep state across inputs only when it is immutable after
 * set-up or restored exactly after every input (the tx target's view is
 * rolled back and its digest checked), so that every crash reproduces from
 * its input alone. Static state is fine here: this is test code, not the
 * library.
 *
 * The pre-state that fuzz_tx executes transactions against, and that the
 * seed generator signs its seeds for, is built by fuzz_state_build() below
 * so the two cannot drift apart.
 */
#ifndef CAIRN_FUZZ_H
#define CAIRN_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../testutil.h"
#include "cairn/error.h"
#include "cairn/state.h"
#include "cairn/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_fail(const char *file, int line, const char *expr) {
  fprintf(stderr, "fuzz property failed at %s:%d: %s\n", file, line, expr);
  abort();
}

/* Check a property of the code under test; abort (a finding) if false. */
#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond);                         \
  } while (0)

/* Once per process: libsodium (idempotent, but this keeps its lock off the
 * hot path). */
static inline void fuzz_init(void) {
  static bool done = false;
  if (!done) {
    if (sodium_init() < 0) fuzz_fail(__FILE__, __LINE__, "sodium_init");
    done = true;
  }
}

/* True if n bytes at p are all zero (outputs of a rejected decode). */
static inline bool fuzz_all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return false;
  }
  return true;
}

/* A NUL-terminated heap copy of the input, for parsers of C strings (the
 * exact size lets AddressSanitizer catch a read past the terminator). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = calloc(size + 1, 1);
  if (s == NULL) fuzz_fail(__FILE__, __LINE__, "calloc");
  if (size > 0) memcpy(s, data, size);
  return s;
}

/* ---- the transaction target's pre-state ---- */

/* Height and time at which fuzzed transactions run; the pre-state's
 * transactions ran at height 1. */
#define FUZZ_TX_HEIGHT 2u
#define FUZZ_TX_TIME_MS (TU_GENESIS_TIME_MS + 2000u)
/* Coupon expiries in the pre-state: one still valid, one expired at
 * FUZZ_TX_HEIGHT. */
#define FUZZ_COUPON_EXPIRY_LIVE 1000u
#define FUZZ_COUPON_EXPIRY_DEAD 1u

/* The genesis of testutil.h (chain "cairn-test": coffee, pizza, books;
 * one validator), then at height 1:
 *   coffee's issuer: ISSUE 1000 coffee to member 0       (issuer seq 1)
 *                    ISSUE 500 coffee to member 1        (issuer seq 2)
 *                    COUPON_ISSUE live, transferable, to member 0 (seq 3)
 *                    COUPON_ISSUE expired, to member 0   (issuer seq 4)
 *   books' issuer:   ISSUE 50 books to member 0          (issuer seq 1)
 * so a fuzzed transaction by member 0 (next sequence 1) or coffee's issuer
 * (next sequence 5) can reach every rule. coupons[0] is the live coupon's
 * id, coupons[1] the expired one's. */
typedef struct fuzz_state {
  cairn_genesis genesis;
  cairn_view *view;
  size_t savepoint;
  uint8_t digest[CAIRN_HASH_BYTES];
  size_t changes;
  uint8_t coupons[2][CAIRN_HASH_BYTES];
} fuzz_state;

static inline void fuzz_state_apply(fuzz_state *st, const cairn_tx *tx,
                                     uint8_t id_out[CAIRN_HASH_BYTES]) {
  uint8_t id[CAIRN_HASH_BYTES];
  cairn_exec_ctx ctx = {(const uint8_t *)TU_CHAIN_ID, strlen(TU_CHAIN_ID), 1,
                        TU_GENESIS_TIME_MS + 1000u};
  tu_txid(id, tx);
  tu_check("fuzz pre-state tx", cairn_state_apply_tx(st->view, &ctx, tx, id));
  if (id_out != NULL) memcpy(id_out, id, sizeof id);
}

/* Build the pre-state described above into st (a static: the genesis is
 * about 30 KB). */
static inline void fuzz_state_build(fuzz_state *st) {
  tu_key coffee, books, m0, m1;
  cairn_tx tx;
  memset(st, 0, sizeof *st);
  tu_genesis(&st->genesis);
  tu_check("cairn_view_open", cairn_view_open(&st->view, NULL));
  tu_check("cairn_state_apply_genesis",
           cairn_state_apply_genesis(st->view, &st->genesis));
  tu_issuer(&coffee, TU_BRAND_COFFEE);
  tu_issuer(&books, TU_BRAND_BOOKS);
  tu_member(&m0, 0);
  tu_member(&m1, 1);
  tu_tx_issue(&tx, &coffee, 1, TU_BRAND_COFFEE, m0.pk, 1000);
  fuzz_state_apply(st, &tx, NULL);
  tu_tx_issue(&tx, &coffee, 2, TU_BRAND_COFFEE, m1.pk, 500);
  fuzz_state_apply(st, &tx, NULL);
  tu_tx_coupon_issue(&tx, &coffee, 3, TU_BRAND_COFFEE, m0.pk,
                     FUZZ_COUPON_EXPIRY_LIVE, true);
  fuzz_state_apply(st, &tx, st->coupons[0]);
  tu_tx_coupon_issue(&tx, &coffee, 4, TU_BRAND_COFFEE, m0.pk,
                     FUZZ_COUPON_EXPIRY_DEAD, false);
  fuzz_state_apply(st, &tx, st->coupons[1]);
  tu_tx_issue(&tx, &books, 1, TU_BRAND_BOOKS, m0.pk, 50);
  fuzz_state_apply(st, &tx, NULL);
  st->savepoint = cairn_view_savepoint(st->view);
  st->changes = cairn_view_change_count(st->view);
  tu_check("cairn_view_digest", cairn_view_digest(st->view, st->digest));
}

/* The context fuzzed transactions execute in. */
static inline cairn_exec_ctx fuzz_exec_ctx(void) {
  cairn_exec_ctx ctx = {(const uint8_t *)TU_CHAIN_ID, strlen(TU_CHAIN_ID),
                        FUZZ_TX_HEIGHT, FUZZ_TX_TIME_MS};
  return ctx;
}

#endif
