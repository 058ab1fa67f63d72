/*
 * node/evpool.c - the node's pool of duplicate-vote evidence.
 *
 * Evidence is rare: a validator equivocates only by fault or malice, and
 * once one piece of evidence against it is included in a block it is jailed
 * for good. So the pool is a small fixed array in arrival order, allocated
 * once at open (CAIRN_EVPOOL_ENTRIES_MAX entries of about 600 bytes), and
 * every operation is a linear scan over at most 256 entries: no hashing, no
 * allocation after open, and nothing for a peer to make slow.
 *
 * Each entry keeps the decoded evidence (for the API's listing and for
 * pruning by offender and height) beside its canonical bytes (the dedup
 * key, and what an EVIDENCE transaction carries). One offence has exactly
 * one encoding (evidence.h orders the two votes), so comparing bytes is
 * comparing offences.
 *
 * Bounds, and why they are safe: evidence enters only after verification,
 * so only validators can create it, and only by signing conflicting votes.
 * A validator that equivocates at every round could still fill a pool that
 * accepted everything, pushing out evidence against a colluding other
 * validator; hence the cap per offender (CAIRN_EVPOOL_PER_VALIDATOR_MAX).
 * Once full the pool refuses (LIMIT) rather than evicting: entries leave
 * only when they can no longer be used (prune) or when asked (remove).
 */
#include "cairn/evpool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/staking.h"
#include "cairn/store.h"

typedef struct cairn_evpool_entry {
  cairn_evidence e;
  uint8_t bytes[CAIRN_EVIDENCE_BYTES];
} cairn_evpool_entry;

struct cairn_evpool {
  size_t capacity;
  size_t count;
  cairn_evpool_entry entries[]; /* [capacity], oldest first */
};

static_assert(CAIRN_EVPOOL_ENTRIES_MAX >= CAIRN_VALIDATORS_MAX,
              "the pool must have room for one entry per validator");
static_assert(CAIRN_EVPOOL_PER_VALIDATOR_MAX >= 1 &&
                  CAIRN_EVPOOL_PER_VALIDATOR_MAX <= CAIRN_EVPOOL_ENTRIES_MAX,
              "per-validator cap out of range");

cairn_err cairn_evpool_open(cairn_evpool **out, size_t capacity) {
  assert(out != NULL);
  assert(capacity >= 1 && capacity <= CAIRN_EVPOOL_ENTRIES_MAX);
  *out = NULL;
  cairn_evpool *p =
      calloc(1, sizeof *p + capacity * sizeof(cairn_evpool_entry));
  if (p == NULL) return CAIRN_ERR_NOMEM;
  p->capacity = capacity;
  *out = p;
  return CAIRN_OK;
}

void cairn_evpool_close(cairn_evpool *p) { free(p); }

size_t cairn_evpool_count(const cairn_evpool *p) {
  assert(p != NULL && p->count <= p->capacity);
  return p->count;
}

void cairn_evpool_at(const cairn_evpool *p, size_t i,
                     const cairn_evidence **e, const uint8_t **bytes) {
  assert(p != NULL && e != NULL);
  assert(i < p->count);
  *e = &p->entries[i].e;
  if (bytes != NULL) *bytes = p->entries[i].bytes;
}

/* Index of the entry with these bytes, or -1. */
static long cairn_evpool_find(const cairn_evpool *p, const uint8_t *bytes) {
  for (size_t i = 0; i < p->count; i++) {
    if (memcmp(p->entries[i].bytes, bytes, CAIRN_EVIDENCE_BYTES) == 0) {
      return (long)i;
    }
  }
  return -1;
}

bool cairn_evpool_contains(const cairn_evpool *p,
                           const uint8_t bytes[CAIRN_EVIDENCE_BYTES]) {
  assert(p != NULL && bytes != NULL);
  return cairn_evpool_find(p, bytes) >= 0;
}

/* Entries against validator pk. */
static size_t cairn_evpool_count_against(const cairn_evpool *p,
                                         const uint8_t *pk) {
  size_t n = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (memcmp(p->entries[i].e.a.validator, pk,
               CAIRN_ED25519_PUBKEY_BYTES) == 0) {
      n++;
    }
  }
  return n;
}

cairn_err cairn_evpool_add(cairn_evpool *p, const cairn_evidence *e,
                           cairn_evpool_outcome *outcome) {
  assert(p != NULL && e != NULL && outcome != NULL);
  uint8_t bytes[CAIRN_EVIDENCE_BYTES];
  size_t len = 0;
  /* Encoding asserts canonical form: a caller bug, not a peer's. */
  cairn_err err = cairn_evidence_encode(bytes, sizeof bytes, &len, e);
  assert(err == CAIRN_OK && len == CAIRN_EVIDENCE_BYTES);
  if (err != CAIRN_OK) return err;
  if (cairn_evpool_find(p, bytes) >= 0) {
    *outcome = CAIRN_EVPOOL_KNOWN;
    return CAIRN_OK;
  }
  if (cairn_evpool_count_against(p, e->a.validator) >=
      CAIRN_EVPOOL_PER_VALIDATOR_MAX) {
    *outcome = CAIRN_EVPOOL_ENOUGH;
    return CAIRN_OK;
  }
  if (p->count == p->capacity) return CAIRN_ERR_LIMIT;
  cairn_evpool_entry *en = &p->entries[p->count++];
  en->e = *e;
  memcpy(en->bytes, bytes, sizeof bytes);
  *outcome = CAIRN_EVPOOL_ADDED;
  assert(p->count <= p->capacity);
  return CAIRN_OK;
}

/* Remove entry i, keeping the others in arrival order. */
static void cairn_evpool_drop(cairn_evpool *p, size_t i) {
  assert(i < p->count);
  memmove(&p->entries[i], &p->entries[i + 1],
          (p->count - i - 1) * sizeof p->entries[0]);
  p->count--;
  memset(&p->entries[p->count], 0, sizeof p->entries[0]);
}

cairn_err cairn_evpool_remove(cairn_evpool *p,
                              const uint8_t bytes[CAIRN_EVIDENCE_BYTES]) {
  assert(p != NULL && bytes != NULL);
  long i = cairn_evpool_find(p, bytes);
  if (i < 0) return CAIRN_ERR_NOT_FOUND;
  cairn_evpool_drop(p, (size_t)i);
  return CAIRN_OK;
}

/* Whether entry en can no longer be included in block next_height. */
static cairn_err cairn_evpool_dead(const cairn_evpool_entry *en,
                                   cairn_view *v, uint64_t next_height,
                                   uint64_t max_age_blocks, bool *dead) {
  uint64_t h = en->e.a.height;
  *dead = h == 0 || (max_age_blocks != 0 && h < next_height &&
                     next_height - h > max_age_blocks);
  if (*dead) return CAIRN_OK;
  cairn_validator_record rec;
  cairn_err err = cairn_staking_validator(v, en->e.a.validator, &rec);
  if (err == CAIRN_ERR_VALIDATOR_UNKNOWN) return CAIRN_OK;
  CAIRN_TRY(err);
  *dead = rec.jailed;
  return CAIRN_OK;
}

cairn_err cairn_evpool_prune(cairn_evpool *p, cairn_view *v,
                             uint64_t next_height, uint64_t max_age_blocks,
                             size_t *removed) {
  assert(p != NULL && v != NULL && removed != NULL);
  *removed = 0;
  /* Decide about every entry first, so a store error changes nothing. */
  bool dead[CAIRN_EVPOOL_ENTRIES_MAX];
  for (size_t i = 0; i < p->count; i++) {
    CAIRN_TRY(cairn_evpool_dead(&p->entries[i], v, next_height,
                                max_age_blocks, &dead[i]));
  }
  size_t kept = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (dead[i]) continue;
    if (kept != i) p->entries[kept] = p->entries[i];
    kept++;
  }
  *removed = p->count - kept;
  if (*removed > 0) {
    memset(&p->entries[kept], 0, *removed * sizeof p->entries[0]);
  }
  p->count = kept;
  return CAIRN_OK;
}

cairn_err cairn_evpool_prune_chain(cairn_evpool *p, cairn_chain *c,
                                   size_t *removed) {
  assert(p != NULL && c != NULL && removed != NULL);
  *removed = 0;
  if (p->count == 0) return CAIRN_OK; /* the usual case: nothing to open */
  cairn_tip tip;
  cairn_chain_tip(c, &tip);
  const cairn_genesis *g = cairn_chain_genesis(c);
  cairn_view *v = NULL;
  CAIRN_TRY(cairn_view_open(&v, cairn_chain_store(c)));
  cairn_err err = cairn_evpool_prune(p, v, tip.height + 1,
                                     g->staking.evidence_max_age_blocks,
                                     removed);
  cairn_view_close(v);
  return err;
}
