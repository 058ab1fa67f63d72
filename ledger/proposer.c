/*
 * proposer.c - Tendermint's stake-weighted round robin.
 *
 * Each validator has a priority. A step adds every validator's power to its
 * priority and lets the highest priority propose, then charges the proposer
 * the total power. Priorities therefore always sum to the same value, a
 * validator with twice the stake climbs twice as fast and so proposes twice
 * as often, and the order interleaves rather than giving one validator a
 * long run: over total_power steps from the all-zero start each validator
 * proposes exactly `power` times.
 *
 * Two housekeeping rules keep the numbers bounded, as in Tendermint's
 * IncrementProposerPriority, but applied before every step rather than once
 * per call so that the result of n steps does not depend on how they are
 * batched:
 *   1. Rescale: if max - min > 2 * total, divide every priority by
 *      ceil((max - min) / (2 * total)), truncating toward zero (C and Go
 *      integer division).
 *   2. Centre: subtract floor(sum / n) from every priority.
 * From the all-zero start the sum stays 0 and neither rule changes
 * anything in practice, but they guarantee the bound for any state: after
 * them every priority lies in [-2T, 2T] (the mean is in [0, 1) and the
 * spread is at most 2T), a step moves it by at most T, so |priority| <= 3T
 * <= 3 * 2^60 < 2^63. The sum of up to 128 such values could overflow, so
 * the mean is computed from per-element floor quotients and remainders.
 *
 * Ties go to the lowest pubkey; the copied set is in ascending pubkey
 * order, so that is the lowest index with the highest priority. No floating
 * point, no allocation; one step is O(n).
 */
#include <assert.h>
#include <string.h>

#include "cairn/proposer.h"

/* Largest magnitude a priority may reach (see the essay). */
static int64_t proposer_bound(const cairn_proposer_state *st) {
  return (int64_t)(3 * st->total_power);
}

static void proposer_rescale(cairn_proposer_state *st) {
  int64_t max = st->priority[0], min = st->priority[0];
  for (uint32_t i = 1; i < st->n; i++) {
    if (st->priority[i] > max) max = st->priority[i];
    if (st->priority[i] < min) min = st->priority[i];
  }
  /* Both within +-3T, so the difference is below 6 * 2^60 < 2^63. */
  uint64_t diff = (uint64_t)(max - min);
  uint64_t diff_max = 2 * st->total_power;
  if (diff <= diff_max) return;
  int64_t ratio = (int64_t)((diff + diff_max - 1) / diff_max);
  assert(ratio >= 2);
  for (uint32_t i = 0; i < st->n; i++) st->priority[i] /= ratio;
}

/* floor(a / n) and the remainder in [0, n). */
static int64_t floor_div(int64_t a, int64_t n, int64_t *rem) {
  assert(n > 0);
  if (n <= 0) return 0; /* unreachable: sets have at least one member */
  int64_t q = a / n, r = a % n;
  if (r < 0) {
    q -= 1;
    r += n;
  }
  *rem = r;
  return q;
}

static void proposer_centre(cairn_proposer_state *st) {
  int64_t n = (int64_t)st->n, sum_q = 0, sum_r = 0, rem;
  for (uint32_t i = 0; i < st->n; i++) {
    sum_q += floor_div(st->priority[i], n, &rem); /* |sum_q| <= 3T + n */
    sum_r += rem; /* < n * n */
  }
  int64_t mean = sum_q + floor_div(sum_r, n, &rem);
  for (uint32_t i = 0; i < st->n; i++) st->priority[i] -= mean;
}

static void proposer_step(cairn_proposer_state *st) {
  proposer_rescale(st);
  proposer_centre(st);
  uint32_t best = 0;
  for (uint32_t i = 0; i < st->n; i++) {
    assert(st->priority[i] <= 2 * (int64_t)st->total_power + 1);
    assert(st->priority[i] >= -2 * (int64_t)st->total_power - 1);
    st->priority[i] += (int64_t)st->power[i];
    /* Strictly greater: the earlier (lower pubkey) wins a tie. */
    if (st->priority[i] > st->priority[best]) best = i;
  }
  st->priority[best] -= (int64_t)st->total_power;
  assert(st->priority[best] >= -proposer_bound(st));
  st->chosen = best;
  st->steps++;
}

void cairn_proposer_init(cairn_proposer_state *st, const cairn_valset *vs) {
  assert(st != NULL && vs != NULL);
  assert(vs->n >= 1 && vs->n <= CAIRN_VALIDATORS_MAX);
  assert(vs->total_power >= 1 && vs->total_power <= CAIRN_TOTAL_POWER_MAX);
  memset(st, 0, sizeof *st);
  st->n = vs->n;
  st->total_power = vs->total_power;
  uint64_t total = 0;
  for (uint32_t i = 0; i < vs->n; i++) {
    assert(i == 0 || memcmp(vs->v[i - 1].pubkey, vs->v[i].pubkey,
                            CAIRN_ED25519_PUBKEY_BYTES) < 0);
    assert(vs->v[i].power >= 1);
    memcpy(st->pubkey[i], vs->v[i].pubkey, CAIRN_ED25519_PUBKEY_BYTES);
    st->power[i] = vs->v[i].power;
    total += vs->v[i].power;
  }
  assert(total == vs->total_power);
  proposer_step(st);
}

void cairn_proposer_advance(cairn_proposer_state *st, uint64_t times) {
  assert(st != NULL && st->n >= 1 && st->n <= CAIRN_VALIDATORS_MAX);
  for (uint64_t k = 0; k < times; k++) proposer_step(st);
}

void cairn_proposer_current(const cairn_proposer_state *st,
                            uint8_t out[CAIRN_ED25519_PUBKEY_BYTES]) {
  assert(st != NULL && out != NULL);
  assert(st->steps >= 1 && st->chosen < st->n);
  memcpy(out, st->pubkey[st->chosen], CAIRN_ED25519_PUBKEY_BYTES);
}

cairn_err cairn_proposer_for(uint8_t out[CAIRN_ED25519_PUBKEY_BYTES],
                             const cairn_valset *vs, uint64_t height,
                             uint32_t round) {
  cairn_proposer_state st;
  assert(out != NULL && vs != NULL);
  memset(out, 0, CAIRN_ED25519_PUBKEY_BYTES);
  if (height == 0 || height - 1 > UINT64_MAX - round) return CAIRN_ERR_RANGE;
  cairn_proposer_init(&st, vs);
  cairn_proposer_advance(&st, height - 1 + round);
  cairn_proposer_current(&st, out);
  return CAIRN_OK;
}
