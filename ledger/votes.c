/*
 * votes.c - tallying the prevotes or precommits of one (height, round,
 * type) by stake.
 *
 * Tendermint decides by counting stake, not heads: a value is "polka'd" or
 * committed when the validators that voted for it hold more than 2/3 of the
 * total power, and a step times out once more than 2/3 of the power has
 * voted at all. The set keeps one slot per validator, indexed like the
 * validator set, so memory is fixed (CAIRN_VALIDATORS_MAX votes) and a
 * validator can never be counted twice.
 *
 * Only a validator's first vote counts. A second vote for the same value is
 * dropped (peers gossip the same vote many times); a second, validly signed
 * vote for a different value is equivocation, the fault Tendermint slashes:
 * the first vote stays, and both are handed back so the caller can build
 * duplicate-vote evidence (evidence.h). The signature of a conflicting vote
 * is checked before it is reported, so nobody can frame an honest validator
 * by sending a forged second vote.
 *
 * Tallies per value are computed on demand by scanning the slots: with at
 * most 128 validators a scan (or, for the majority question, at most 128
 * scans) is cheaper and simpler than keeping a hash table up to date, and
 * every call is bounded by CAIRN_VALIDATORS_MAX^2 comparisons. Sums are u64
 * and the total power is at most 2^60, so the "more than 2/3" test
 * 3 * power > 2 * total cannot overflow.
 */
#include <assert.h>
#include <string.h>

#include "cairn/votes.h"

static const uint8_t k_nil[CAIRN_HASH_BYTES];

void cairn_voteset_init(cairn_voteset *s, const uint8_t *chain_id,
                        size_t chain_id_len, const cairn_valset *vs,
                        uint64_t height, uint32_t round, uint8_t type) {
  assert(s != NULL && chain_id != NULL && vs != NULL);
  assert(chain_id_len >= 1 && chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  assert(vs->n >= 1 && vs->n <= CAIRN_VALIDATORS_MAX);
  assert(vs->total_power >= 1 && vs->total_power <= CAIRN_TOTAL_POWER_MAX);
  assert(height >= 1);
  assert(type == CAIRN_VOTE_PREVOTE || type == CAIRN_VOTE_PRECOMMIT);
  memset(s, 0, sizeof *s);
  s->chain_id = chain_id;
  s->chain_id_len = chain_id_len;
  s->vs = vs;
  s->height = height;
  s->round = round;
  s->type = type;
}

/* The checks that need no cryptography, cheapest first. */
static cairn_err voteset_check_header(const cairn_voteset *s,
                                      const cairn_vote *v) {
  if (v->type != s->type) return CAIRN_ERR_VOTE_TYPE;
  if (v->height != s->height) return CAIRN_ERR_VOTE_HEIGHT;
  if (v->round != s->round) return CAIRN_ERR_VOTE_ROUND;
  return CAIRN_OK;
}

/* Field by field: the struct has padding, so memcmp of the whole would
 * compare indeterminate bytes. */
static bool vote_same(const cairn_vote *a, const cairn_vote *b) {
  return a->type == b->type && a->height == b->height &&
         a->round == b->round &&
         memcmp(a->block_hash, b->block_hash, CAIRN_HASH_BYTES) == 0 &&
         memcmp(a->validator, b->validator, CAIRN_ED25519_PUBKEY_BYTES) == 0 &&
         memcmp(a->sig, b->sig, CAIRN_ED25519_SIG_BYTES) == 0;
}

cairn_err cairn_voteset_add(cairn_voteset *s, cairn_vote conflict[2],
                            const cairn_vote *v) {
  assert(s != NULL && conflict != NULL && v != NULL);
  assert(s->voted_power <= s->vs->total_power);
  memset(conflict, 0, 2 * sizeof conflict[0]);
  CAIRN_TRY(voteset_check_header(s, v));
  int idx = cairn_valset_find(s->vs, v->validator);
  if (idx < 0) return CAIRN_ERR_NOT_VALIDATOR;
  const cairn_vote *first = &s->votes[idx];
  /* A byte-identical repeat was verified when it was first added. */
  if (s->have[idx] && vote_same(first, v)) return CAIRN_OK;
  if (cairn_vote_verify(v, s->chain_id, s->chain_id_len) != CAIRN_OK) {
    return CAIRN_ERR_BAD_SIG;
  }
  if (s->have[idx]) {
    /* Same value with another valid signature: nothing new to count. */
    if (memcmp(first->block_hash, v->block_hash, CAIRN_HASH_BYTES) == 0) {
      return CAIRN_OK;
    }
    conflict[0] = *first;
    conflict[1] = *v;
    return CAIRN_ERR_EQUIVOCATION;
  }
  s->votes[idx] = *v;
  s->have[idx] = true;
  s->voted_power += s->vs->v[idx].power;
  assert(s->voted_power <= s->vs->total_power);
  return CAIRN_OK;
}

uint64_t cairn_voteset_power(const cairn_voteset *s,
                             const uint8_t hash[CAIRN_HASH_BYTES]) {
  uint64_t power = 0;
  assert(s != NULL && hash != NULL);
  assert(s->vs->n <= CAIRN_VALIDATORS_MAX);
  for (uint32_t i = 0; i < s->vs->n; i++) {
    if (s->have[i] &&
        memcmp(s->votes[i].block_hash, hash, CAIRN_HASH_BYTES) == 0) {
      power += s->vs->v[i].power;
    }
  }
  assert(power <= s->voted_power);
  return power;
}

uint64_t cairn_voteset_power_any(const cairn_voteset *s) {
  assert(s != NULL);
  assert(s->voted_power <= s->vs->total_power);
  return s->voted_power;
}

uint32_t cairn_voteset_count(const cairn_voteset *s) {
  uint32_t count = 0;
  assert(s != NULL);
  for (uint32_t i = 0; i < s->vs->n; i++) count += s->have[i] ? 1u : 0u;
  return count;
}

/* 3 * power > 2 * total, safe because total <= 2^60. */
static bool voteset_over_two_thirds(const cairn_voteset *s, uint64_t power) {
  assert(power <= s->vs->total_power);
  assert(s->vs->total_power <= CAIRN_TOTAL_POWER_MAX);
  return power * 3 > s->vs->total_power * 2;
}

bool cairn_voteset_has_two_thirds_majority(const cairn_voteset *s,
                                           uint8_t out[CAIRN_HASH_BYTES]) {
  assert(s != NULL && out != NULL);
  memset(out, 0, CAIRN_HASH_BYTES);
  /* Without a 2/3 turnout no single value can have 2/3. */
  if (!voteset_over_two_thirds(s, s->voted_power)) return false;
  for (uint32_t i = 0; i < s->vs->n; i++) {
    if (!s->have[i]) continue;
    const uint8_t *hash = s->votes[i].block_hash;
    if (voteset_over_two_thirds(s, cairn_voteset_power(s, hash))) {
      memcpy(out, hash, CAIRN_HASH_BYTES);
      return true;
    }
  }
  return false;
}

bool cairn_voteset_has_two_thirds_any(const cairn_voteset *s) {
  assert(s != NULL);
  return voteset_over_two_thirds(s, s->voted_power);
}

cairn_err cairn_voteset_make_commit(const cairn_voteset *s, cairn_commit *c,
                                    const uint8_t hash[CAIRN_HASH_BYTES]) {
  assert(s != NULL && c != NULL && hash != NULL);
  assert(s->type == CAIRN_VOTE_PRECOMMIT);
  memset(c, 0, sizeof *c);
  if (memcmp(hash, k_nil, CAIRN_HASH_BYTES) == 0) return CAIRN_ERR_BAD_COMMIT;
  if (!voteset_over_two_thirds(s, cairn_voteset_power(s, hash))) {
    return CAIRN_ERR_BAD_COMMIT;
  }
  c->height = s->height;
  c->round = s->round;
  memcpy(c->block_hash, hash, CAIRN_HASH_BYTES);
  for (uint32_t i = 0; i < s->vs->n; i++) {
    const cairn_vote *v = &s->votes[i];
    if (!s->have[i] || memcmp(v->block_hash, hash, CAIRN_HASH_BYTES) != 0) {
      continue;
    }
    /* Each validator has one slot, so a duplicate signer is impossible. */
    cairn_err err = cairn_commit_add(c, v->validator, v->sig);
    assert(err == CAIRN_OK);
    (void)err;
  }
  assert(c->n_sigs >= 1);
  return CAIRN_OK;
}
