/*
 * conserve.c - the conservation check: no transaction creates or destroys
 * points except through the counted doors.
 *
 * Every brand keeps lifetime counters (brand_stats, state.h): points enter
 * only through ISSUE and leave only through redemption at home or at a
 * partner, expiry and reversal; points in open holds are neither spendable
 * nor gone. So at every height, for every brand,
 *
 *     issued - redeemed_home - redeemed_partner - expired - reversed
 *       = sum of the brand's balances + held.
 *
 * The check gathers its inputs in one pass over the state - the brands
 * table (which brands exist), balances and lots (summed per brand) and
 * brand_stats - and then compares the two sides with overflow-checked
 * arithmetic: an outflow larger than what was issued, or a sum of balances
 * past 2^64 - 1, is a violation in itself. A balance of a brand that does not
 * exist is a violation too, and so is a brand whose lots (the points with
 * their expiry, state.h) do not add up to its balances.
 *
 * It runs over two kinds of input: a view that holds the whole state (its
 * change set, as in tests and replays from an empty base) and a committed
 * store snapshot (the node after each block in debug builds). Both feed the
 * same accumulator, so the rule is written once. The work is linear in the
 * state size times the brand count (at most CAIRN_BRANDS_MAX), which is why
 * the node runs it only in debug builds.
 *
 * Both forms then check the stake equation as well (staking.h:
 * cairn_staking_check_conservation), so whoever checks points after a
 * block checks stake with the same call.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/encoding.h"
#include "cairn/staking.h"
#include "cairn/state.h"

typedef struct conserve_brand {
  uint32_t id;
  bool exists;    /* in the brands table */
  bool overflow;  /* a sum passed 2^64 - 1 */
  uint64_t sum;   /* sum of balances */
  uint64_t lots;  /* sum of lots (must equal sum) */
  cairn_brand_stats stats;
} conserve_brand;

typedef struct conserve_acc {
  size_t n;
  conserve_brand b[CAIRN_BRANDS_MAX];
  cairn_err err; /* first error met while gathering */
  char *why;
  size_t why_cap;
} conserve_acc;

__attribute__((format(printf, 2, 3))) static cairn_err
conserve_fail(conserve_acc *a, const char *fmt, ...) {
  if (a->why != NULL && a->why_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->why, a->why_cap, fmt, ap);
    va_end(ap);
  }
  return CAIRN_ERR_CORRUPT;
}

/* The entry of brand id, added if new; NULL when the table is full (more
 * distinct brands than any genesis can hold: the state is corrupt). */
static conserve_brand *conserve_find(conserve_acc *a, uint32_t id) {
  for (size_t i = 0; i < a->n; i++) {
    if (a->b[i].id == id) return &a->b[i];
  }
  if (a->n == CAIRN_BRANDS_MAX) return NULL;
  conserve_brand *e = &a->b[a->n++];
  memset(e, 0, sizeof *e);
  e->id = id;
  return e;
}

/* One record of the state; deletions (val NULL) are simply absent. */
static cairn_err conserve_visit(conserve_acc *a, cairn_table t,
                                const uint8_t *key, size_t klen,
                                const uint8_t *val, size_t vlen) {
  /* Deletions and lot-queue headers (account | brand) carry no points. */
  if (val == NULL || (t == CAIRN_T_LOTS && klen == CAIRN_BALANCE_KEY_BYTES)) {
    return CAIRN_OK;
  }
  conserve_brand *e = NULL;
  if (t == CAIRN_T_BRANDS && klen == 4) {
    e = conserve_find(a, cairn_be32_read(key));
    if (e != NULL) e->exists = true;
  } else if (t == CAIRN_T_BALANCES && klen == CAIRN_BALANCE_KEY_BYTES &&
             vlen == 8) {
    e = conserve_find(a, cairn_be32_read(key + CAIRN_PUBKEY_BYTES));
    if (e != NULL) {
      uint64_t x = cairn_be64_read(val);
      if (e->sum > UINT64_MAX - x) e->overflow = true;
      e->sum += x;
    }
  } else if (t == CAIRN_T_LOTS && klen == CAIRN_BALANCE_KEY_BYTES + 8 &&
             vlen == 16) {
    e = conserve_find(a, cairn_be32_read(key + CAIRN_PUBKEY_BYTES));
    if (e != NULL) {
      uint64_t x = cairn_be64_read(val);
      if (e->lots > UINT64_MAX - x) e->overflow = true;
      e->lots += x;
    }
  } else if (t == CAIRN_T_BRAND_STATS && klen == 4) {
    e = conserve_find(a, cairn_be32_read(key));
    if (e != NULL && cairn_brand_stats_decode(&e->stats, val, vlen) !=
                         CAIRN_OK) {
      return conserve_fail(a, "brand %" PRIu32 ": malformed brand_stats",
                           e->id);
    }
  } else if (t == CAIRN_T_BRANDS || t == CAIRN_T_BALANCES ||
             t == CAIRN_T_BRAND_STATS || t == CAIRN_T_LOTS) {
    return conserve_fail(a, "malformed key or value in table %d", (int)t);
  } else {
    return CAIRN_OK;
  }
  if (e == NULL) return conserve_fail(a, "more brands than genesis allows");
  return CAIRN_OK;
}

/* Compare the two sides for one brand. */
static cairn_err conserve_brand_check(conserve_acc *a,
                                      const conserve_brand *e) {
  const cairn_brand_stats *s = &e->stats;
  if (!e->exists) {
    return conserve_fail(a, "brand %" PRIu32 " has balances or counters but "
                            "no brand record", e->id);
  }
  if (e->overflow) {
    return conserve_fail(a, "brand %" PRIu32 ": balances sum past 2^64-1",
                         e->id);
  }
  if (e->lots != e->sum) {
    return conserve_fail(a, "brand %" PRIu32 ": lots hold %" PRIu64
                            " points but balances %" PRIu64, e->id, e->lots,
                         e->sum);
  }
  uint64_t left = s->issued, outs[4] = {s->redeemed_home, s->redeemed_partner,
                                        s->expired, s->reversed};
  for (size_t i = 0; i < 4; i++) {
    if (outs[i] > left) {
      return conserve_fail(a, "brand %" PRIu32 ": more points left than were "
                              "issued (%" PRIu64 ")", e->id, s->issued);
    }
    left -= outs[i];
  }
  if (e->sum > UINT64_MAX - s->held || left != e->sum + s->held) {
    return conserve_fail(a, "brand %" PRIu32 ": issued - redeemed - expired "
                            "- reversed = %" PRIu64 " but balances %" PRIu64
                            " + held %" PRIu64, e->id, left, e->sum, s->held);
  }
  return CAIRN_OK;
}

static cairn_err conserve_finish(conserve_acc *a) {
  if (a->err != CAIRN_OK) return a->err;
  for (size_t i = 0; i < a->n; i++) CAIRN_TRY(conserve_brand_check(a, &a->b[i]));
  return CAIRN_OK;
}

static conserve_acc *conserve_new(char *why, size_t why_cap) {
  conserve_acc *a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->why = why;
  a->why_cap = why_cap;
  if (why != NULL && why_cap > 0) why[0] = '\0';
  return a;
}

static cairn_err conserve_view_fn(void *ctx, cairn_table t, const uint8_t *key,
                                  size_t klen, const uint8_t *val,
                                  size_t vlen) {
  return conserve_visit(ctx, t, key, klen, val, vlen);
}

cairn_err cairn_state_check_conservation_view(const cairn_view *v, char *why,
                                              size_t why_cap) {
  assert(v != NULL);
  conserve_acc *a = conserve_new(why, why_cap);
  if (a == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_view_foreach(v, conserve_view_fn, a);
  if (err == CAIRN_OK) err = conserve_finish(a);
  free(a);
  /* Stake is conserved too (staking.h). */
  if (err == CAIRN_OK) err = cairn_staking_check_conservation_view(v, why,
                                                                   why_cap);
  return err;
}

/* Store scans: the table of the current scan rides along with the
 * accumulator. */
typedef struct conserve_scan {
  conserve_acc *a;
  cairn_table t;
} conserve_scan;

static int conserve_store_fn(void *ctx, const uint8_t *key, size_t klen,
                             const uint8_t *val, size_t vlen) {
  conserve_scan *sc = ctx;
  sc->a->err = conserve_visit(sc->a, sc->t, key, klen, val, vlen);
  return sc->a->err != CAIRN_OK;
}

cairn_err cairn_state_check_conservation_store(cairn_rtxn *r, char *why,
                                               size_t why_cap) {
  static const cairn_table tables[] = {CAIRN_T_BRANDS, CAIRN_T_BALANCES,
                                       CAIRN_T_BRAND_STATS, CAIRN_T_LOTS};
  assert(r != NULL);
  conserve_acc *a = conserve_new(why, why_cap);
  if (a == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = CAIRN_OK;
  for (size_t i = 0; err == CAIRN_OK && i < sizeof tables / sizeof *tables;
       i++) {
    conserve_scan sc = {a, tables[i]};
    err = cairn_store_scan(r, tables[i], NULL, 0, SIZE_MAX, conserve_store_fn,
                           &sc);
    if (err == CAIRN_OK) err = a->err;
  }
  if (err == CAIRN_OK) err = conserve_finish(a);
  free(a);
  if (err == CAIRN_OK) err = cairn_staking_check_conservation(r, why, why_cap);
  return err;
}
