/*
 * report.c - the auditor's report: what every brand owes, and who signed.
 *
 * An audit that only says "the hashes match" leaves the question the
 * coalition actually asks unanswered: how many points is each brand on the
 * hook for, and do the numbers add up? This module answers it from two
 * independent directions and insists that they agree.
 *
 * While the auditor replays, each verified block is handed to
 * cairn_report_add_block, which tallies what the transactions say (points
 * issued by ISSUE, points burned by REDEEM, coupons issued and redeemed)
 * and what the commit says (who proposed, which validators of the set in
 * force did not sign). It decodes each transaction again - cheap next to
 * the signature checks the replay has already done - and changes nothing
 * until the whole block has been tallied, so a block it cannot take leaves
 * the report as it was.
 *
 * The validator set changes over a chain's life (bonding, admission,
 * jailing: staking.h), so the caller hands each block the set that was in
 * force at its height, and the report keeps one row per validator that was
 * ever in a set: its misses count only blocks of sets that held it, and the
 * heights it was in the set are kept as a few ranges. EVIDENCE transactions
 * name their offender, which is how slashing events are counted. What a
 * validator holds now (power in force, bonded stake, jailed) is not in the
 * blocks but in the state, so finish copies it from the staking records,
 * which also brings in validators that are on record but were never in a
 * set yet (admitted for a later height).
 *
 * When the replay is done, cairn_report_finish reads the replayed state:
 * each brand's lifetime counters (brand_stats), every balance, every
 * coupon, what brands owe each other (settlements) and every validator
 * record. The counters give
 * the report's point columns, because they also see the doors the
 * transaction tally does not name one by one (partner redemption, expiry,
 * reversal, holds). Then three checks tie the sides
 * together:
 *   - the ISSUE tally equals the issued counter (ISSUE is the only way
 *     points come into being);
 *   - conservation: issued minus every outflow equals the sum of the
 *     brand's balances plus its held points;
 *   - the coupon tallies equal the coupon records (count and redeemed).
 * A failure names the brand and both numbers.
 *
 * Output comes in three forms from one set of table definitions: aligned
 * text for people, one JSON object for programs, and CSV sections for
 * spreadsheets. Each table definition lists its columns once and a row
 * function fills the cells, so the three forms cannot drift apart.
 */
#include "cairn/report.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/encoding.h"
#include "cairn/evidence.h"
#include "cairn/json.h"
#include "cairn/staking.h"
#include "cairn/state.h"
#include "cairn/tx.h"

/* Cells of the text and CSV tables: the widest is a validator's list of
 * height ranges, CAIRN_REPORT_SPANS_MAX of "from-to" with 20-digit
 * numbers, comma-separated (longer text is cut, never overrun). */
#define REPORT_CELL_BYTES 192
#define REPORT_COLS_MAX 10
/* Hex digits of a validator key shown in the text table. */
#define REPORT_KEY_HEX_SHORT 16

_Static_assert(CAIRN_TX_TYPE_MAX < CAIRN_REPORT_TX_TYPES,
               "every transaction type has a counter");
_Static_assert(CAIRN_REPORT_SPANS_MAX * 42 <= REPORT_CELL_BYTES,
               "every range of heights fits in a cell");

/* ---- small helpers ---- */

/* Write a sentence to why (which may be NULL) and return err. */
__attribute__((format(printf, 4, 5))) static cairn_err
report_say(char *why, size_t why_cap, cairn_err err, const char *fmt, ...) {
  if (why != NULL && why_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_cap, fmt, ap);
    va_end(ap);
  }
  return err;
}

/* *acc += v, or OVERFLOW with *acc unchanged. */
static cairn_err report_add(uint64_t *acc, uint64_t v) {
  if (*acc > UINT64_MAX - v) return CAIRN_ERR_OVERFLOW;
  *acc += v;
  return CAIRN_OK;
}

/* Index of brand id (brands ascend by id, as in genesis), or -1. */
static int report_brand_index(const cairn_report *r, uint32_t id) {
  uint32_t lo = 0, hi = r->n_brands;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (r->brands[mid].id == id) return (int)mid;
    if (r->brands[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

void cairn_report_init(cairn_report *r, const cairn_genesis *g,
                       const uint8_t genesis_hash[CAIRN_HASH_BYTES]) {
  assert(r != NULL && g != NULL && genesis_hash != NULL);
  assert(g->n_brands <= CAIRN_BRANDS_MAX);
  assert(g->validators.n <= CAIRN_VALIDATORS_MAX);
  memset(r, 0, sizeof *r);
  snprintf(r->chain_id, sizeof r->chain_id, "%s", g->chain_id);
  memcpy(r->genesis_hash, genesis_hash, CAIRN_HASH_BYTES);
  memcpy(r->hash, genesis_hash, CAIRN_HASH_BYTES);
  r->n_brands = g->n_brands;
  for (uint32_t i = 0; i < r->n_brands; i++) {
    assert(i == 0 || g->brands[i].id > g->brands[i - 1].id);
    r->brands[i].id = g->brands[i].id;
    snprintf(r->brands[i].name, sizeof r->brands[i].name, "%s",
             g->brands[i].name);
  }
  r->n_validators = g->validators.n;
  for (uint32_t i = 0; i < r->n_validators; i++) {
    const cairn_validator *v = &g->validators.v[i];
    memcpy(r->validators[i].pubkey, v->pubkey, CAIRN_ED25519_PUBKEY_BYTES);
    snprintf(r->validators[i].name, sizeof r->validators[i].name, "%s",
             v->name);
    r->validators[i].power = v->power;
    r->validators[i].bonded = v->power; /* genesis bonds its power */
  }
}

/* ---- tallying a block ---- */

/* What one block adds per brand, gathered before anything is applied. */
typedef struct report_delta {
  uint64_t issued, redeemed, coupons_issued, coupons_redeemed;
} report_delta;

typedef struct report_block_delta {
  report_delta brand[CAIRN_BRANDS_MAX];
  uint64_t types[CAIRN_REPORT_TX_TYPES];
  /* The offenders of the block's EVIDENCE transactions, in block order. A
   * valid block jails each offender once and only members of a set can be
   * accused, so a set's worth is the most a verified block holds. */
  uint32_t n_offenders;
  uint8_t offenders[CAIRN_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES];
} report_block_delta;

/* Note the offender of an EVIDENCE transaction. */
static cairn_err report_tally_evidence(report_block_delta *d,
                                       const cairn_tx *tx) {
  cairn_evidence e;
  CAIRN_TRY(cairn_evidence_decode(&e, tx->u.evidence.evidence,
                                  CAIRN_EVIDENCE_BYTES));
  if (d->n_offenders == CAIRN_VALIDATORS_MAX) return CAIRN_ERR_LIMIT;
  memcpy(d->offenders[d->n_offenders++], e.a.validator,
         CAIRN_ED25519_PUBKEY_BYTES);
  return CAIRN_OK;
}

/* Add one decoded transaction to the block's delta. */
static cairn_err report_tally_tx(const cairn_report *r, report_block_delta *d,
                                 const cairn_tx *tx) {
  uint32_t brand = 0;
  uint64_t *field = NULL, amount = 1;
  switch (tx->type) {
  case CAIRN_TX_ISSUE:
    brand = tx->u.issue.brand;
    amount = tx->u.issue.amount;
    break;
  case CAIRN_TX_REDEEM:
    brand = tx->u.redeem.brand;
    amount = tx->u.redeem.amount;
    break;
  case CAIRN_TX_COUPON_ISSUE: brand = tx->u.coupon_issue.brand; break;
  case CAIRN_TX_COUPON_REDEEM: brand = tx->u.coupon_redeem.brand; break;
  default: return CAIRN_OK; /* moves value inside the chain: no tally */
  }
  int i = report_brand_index(r, brand);
  if (i < 0) return CAIRN_ERR_UNKNOWN_BRAND;
  report_delta *b = &d->brand[i];
  if (tx->type == CAIRN_TX_ISSUE) field = &b->issued;
  else if (tx->type == CAIRN_TX_REDEEM) field = &b->redeemed;
  else if (tx->type == CAIRN_TX_COUPON_ISSUE) field = &b->coupons_issued;
  else field = &b->coupons_redeemed;
  return report_add(field, amount);
}

static cairn_err report_tally_txs(const cairn_report *r, report_block_delta *d,
                                  const cairn_slice *txs, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    cairn_tx tx;
    /* The block was verified (see cairn_report_add_block): its bytes
     * have passed every check of cairn_tx_decode already. */
    CAIRN_TRY(cairn_tx_decode_verified(&tx, txs[i].p, txs[i].len));
    d->types[tx.type < CAIRN_REPORT_TX_TYPES ? tx.type : 0]++;
    if (tx.type == CAIRN_TX_EVIDENCE) CAIRN_TRY(report_tally_evidence(d, &tx));
    CAIRN_TRY(report_tally_tx(r, d, &tx));
  }
  return CAIRN_OK;
}

/* Check that r plus d fits in u64 everywhere, then (apply) add it. */
static cairn_err report_merge(cairn_report *r, const report_block_delta *d,
                              bool apply) {
  for (uint32_t i = 0; i < r->n_brands; i++) {
    cairn_report_brand b = r->brands[i];
    const report_delta *x = &d->brand[i];
    CAIRN_TRY(report_add(&b.tx_issued, x->issued));
    CAIRN_TRY(report_add(&b.tx_redeemed, x->redeemed));
    CAIRN_TRY(report_add(&b.coupons_issued, x->coupons_issued));
    CAIRN_TRY(report_add(&b.coupons_redeemed, x->coupons_redeemed));
    if (apply) r->brands[i] = b;
  }
  for (size_t t = 0; t < CAIRN_REPORT_TX_TYPES; t++) {
    uint64_t v = r->tx_types[t];
    CAIRN_TRY(report_add(&v, d->types[t]));
    if (apply) r->tx_types[t] = v;
  }
  return CAIRN_OK;
}

/* Index of a validator in the report (kept in ascending key order), or
 * the position where it belongs as -1 - position. */
static int report_validator_find(const cairn_report *r, const uint8_t pk[32]) {
  uint32_t lo = 0, hi = r->n_validators;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    int c = memcmp(r->validators[mid].pubkey, pk, 32);
    if (c == 0) return (int)mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1 - (int)lo;
}

/* Whether pk is new to the report and not among keys[0..n). */
static bool report_key_fresh(const cairn_report *r, const uint8_t pk[32],
                             const uint8_t (*keys)[32], uint32_t n) {
  if (report_validator_find(r, pk) >= 0) return false;
  for (uint32_t i = 0; i < n; i++)
    if (memcmp(keys[i], pk, 32) == 0) return false;
  return true;
}

/* Whether every member of vs and every offender of d has or can get a
 * slot in the report. The set's keys are distinct (ascending); an
 * offender outside the set is counted once however often it appears. */
static bool report_validators_fit(const cairn_report *r,
                                  const cairn_valset *vs,
                                  const report_block_delta *d) {
  uint32_t fresh = 0;
  for (uint32_t i = 0; i < vs->n; i++)
    fresh += report_validator_find(r, vs->v[i].pubkey) < 0;
  for (uint32_t i = 0; i < d->n_offenders; i++) {
    const uint8_t *pk = d->offenders[i];
    fresh += cairn_valset_find(vs, pk) < 0 &&
             report_key_fresh(r, pk, d->offenders, i);
  }
  return r->n_validators + fresh <= CAIRN_REPORT_VALIDATORS_MAX;
}

/* The slot of a validator, inserting it (named name) if it is new; there
 * is room (report_validators_fit, or a check of the caller). */
static cairn_report_validator *report_validator_slot(cairn_report *r,
                                                     const uint8_t pk[32],
                                                     const char *name) {
  int k = report_validator_find(r, pk);
  if (k >= 0) return &r->validators[k];
  uint32_t at = (uint32_t)(-1 - k);
  assert(r->n_validators < CAIRN_REPORT_VALIDATORS_MAX);
  assert(at <= r->n_validators);
  memmove(&r->validators[at + 1], &r->validators[at],
          (r->n_validators - at) * sizeof r->validators[0]);
  r->n_validators++;
  cairn_report_validator *slot = &r->validators[at];
  memset(slot, 0, sizeof *slot);
  memcpy(slot->pubkey, pk, CAIRN_ED25519_PUBKEY_BYTES);
  snprintf(slot->name, sizeof slot->name, "%s", name);
  return slot;
}

/* Count height h as one at which v was in the set: extend its last range
 * when h follows it, else open a new one (or, with no room left, stretch
 * the last range over the gap). */
static void report_in_set(cairn_report_validator *v, uint64_t h) {
  assert(v->n_spans <= CAIRN_REPORT_SPANS_MAX);
  assert(v->n_spans == 0 || v->spans[v->n_spans - 1].to < h);
  v->blocks_in_set++;
  if (v->n_spans > 0 && v->spans[v->n_spans - 1].to + 1 == h) {
    v->spans[v->n_spans - 1].to = h;
  } else if (v->n_spans < CAIRN_REPORT_SPANS_MAX) {
    v->spans[v->n_spans++] = (cairn_report_span){h, h};
  } else {
    v->spans[CAIRN_REPORT_SPANS_MAX - 1].to = h;
  }
}

/* Proposer, missed signatures and membership at this height. The commit's
 * signers and the set both ascend by key, so one merge walk finds who is
 * missing. Validators are counted at most once per block, so their
 * counters stay below the height and cannot overflow. */
static void report_votes(cairn_report *r, const cairn_block_header *h,
                         const cairn_commit *c, const cairn_valset *vs) {
  uint16_t j = 0;
  for (uint32_t i = 0; i < vs->n; i++) {
    const cairn_validator *v = &vs->v[i];
    cairn_report_validator *rv = report_validator_slot(r, v->pubkey, v->name);
    rv->power = v->power;
    report_in_set(rv, h->height);
    while (j < c->n_sigs && memcmp(c->sigs[j].validator, v->pubkey, 32) < 0)
      j++;
    bool signed_it =
        j < c->n_sigs && memcmp(c->sigs[j].validator, v->pubkey, 32) == 0;
    if (!signed_it) rv->missed++;
    if (memcmp(h->proposer, v->pubkey, 32) == 0) rv->proposed++;
  }
}

/* One slashing event per EVIDENCE transaction; an offender the report has
 * not seen in a set (impossible on a chain verified from genesis) gets a
 * slot named later by finish. At most one event per transaction, so the
 * counters stay below the number of transactions. */
static void report_offences(cairn_report *r, const report_block_delta *d) {
  for (uint32_t i = 0; i < d->n_offenders; i++)
    report_validator_slot(r, d->offenders[i], "")->slashing_events++;
}

/* Tally the block's transactions into a delta and check that it fits. */
static cairn_err report_block_delta_of(cairn_report *r,
                                       const cairn_block_header *h,
                                       const cairn_slice *txs,
                                       report_block_delta *d,
                                       uint64_t *txs_total) {
  *txs_total = r->txs;
  CAIRN_TRY(report_tally_txs(r, d, txs, h->tx_count));
  CAIRN_TRY(report_add(txs_total, h->tx_count));
  return report_merge(r, d, false); /* a dry run: r stays untouched */
}

cairn_err cairn_report_add_block(cairn_report *r, const cairn_block_header *h,
                                 const uint8_t hash[CAIRN_HASH_BYTES],
                                 const cairn_slice *txs, const cairn_commit *c,
                                 const cairn_valset *vs) {
  assert(r != NULL && h != NULL && hash != NULL && c != NULL && vs != NULL);
  assert(txs != NULL || h->tx_count == 0);
  if (r->height == UINT64_MAX || h->height != r->height + 1 ||
      memcmp(h->prev_hash, r->hash, CAIRN_HASH_BYTES) != 0)
    return CAIRN_ERR_ARG;
  if (vs->n > CAIRN_VALIDATORS_MAX) return CAIRN_ERR_LIMIT;
  report_block_delta *d = calloc(1, sizeof *d);
  if (d == NULL) return CAIRN_ERR_NOMEM;
  uint64_t txs_total = 0;
  cairn_err err = report_block_delta_of(r, h, txs, d, &txs_total);
  if (err == CAIRN_OK && !report_validators_fit(r, vs, d))
    err = CAIRN_ERR_LIMIT;
  if (err == CAIRN_OK) {
    err = report_merge(r, d, true);
    assert(err == CAIRN_OK); /* the dry run took the same steps */
    report_votes(r, h, c, vs);
    report_offences(r, d);
  }
  free(d);
  if (err != CAIRN_OK) return err;
  r->txs = txs_total;
  r->blocks++;
  r->height = h->height;
  memcpy(r->hash, hash, CAIRN_HASH_BYTES);
  r->finished = false;
  return CAIRN_OK;
}

/* ---- finishing from the replayed state ---- */

/* What a scan of the state gathers per brand (index as in the report). */
typedef struct report_scan {
  cairn_report *r;
  uint64_t coupons[CAIRN_BRANDS_MAX];      /* records */
  uint64_t coupons_used[CAIRN_BRANDS_MAX]; /* redeemed records */
  uint64_t coupons_live[CAIRN_BRANDS_MAX]; /* active, not expired */
  uint64_t coupons_dead[CAIRN_BRANDS_MAX]; /* active, expired */
  cairn_err err;
  char *why;
  size_t why_cap;
} report_scan;

/* Stop a scan with an error (the sentence is written by the caller). */
static int report_scan_stop(report_scan *s, cairn_err err) {
  s->err = err;
  return 1;
}

/* The report index of the brand a record names, or -1 after recording
 * the error. */
static int report_scan_brand(report_scan *s, const char *table,
                             uint32_t brand) {
  int i = report_brand_index(s->r, brand);
  if (i < 0) {
    s->err = report_say(s->why, s->why_cap, CAIRN_ERR_CORRUPT,
                        "table %s holds a record of brand %" PRIu32
                        ", which does not exist", table, brand);
  }
  return i;
}

static int report_visit_balance(void *ctx, const uint8_t *key, size_t klen,
                                const uint8_t *val, size_t vlen) {
  report_scan *s = ctx;
  if (klen != CAIRN_BALANCE_KEY_BYTES || vlen != 8) {
    return report_scan_stop(s, report_say(s->why, s->why_cap,
                                          CAIRN_ERR_CORRUPT, "table balances "
                                          "holds a record of %zu + %zu bytes",
                                          klen, vlen));
  }
  int i = report_scan_brand(s, "balances", cairn_be32_read(key + 32));
  if (i < 0) return 1;
  cairn_report_brand *b = &s->r->brands[i];
  if (report_add(&b->balances, cairn_be64_read(val)) != CAIRN_OK) {
    return report_scan_stop(s, report_say(s->why, s->why_cap,
                                          CAIRN_ERR_OVERFLOW, "the balances "
                                          "of brand %s add up to more than "
                                          "2^64 - 1", b->name));
  }
  return 0;
}

static int report_visit_stats(void *ctx, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen) {
  report_scan *s = ctx;
  cairn_brand_stats st;
  if (klen != 4 || cairn_brand_stats_decode(&st, val, vlen) != CAIRN_OK) {
    return report_scan_stop(s, report_say(s->why, s->why_cap,
                                          CAIRN_ERR_CORRUPT, "table "
                                          "brand_stats holds a record of %zu "
                                          "+ %zu bytes", klen, vlen));
  }
  int i = report_scan_brand(s, "brand_stats", cairn_be32_read(key));
  if (i < 0) return 1;
  cairn_report_brand *b = &s->r->brands[i];
  b->issued = st.issued;
  b->redeemed_home = st.redeemed_home;
  b->redeemed_partner = st.redeemed_partner;
  b->expired = st.expired;
  b->reversed = st.reversed;
  b->held = st.held;
  return 0;
}

static int report_visit_settlement(void *ctx, const uint8_t *key,
                                   size_t klen, const uint8_t *val,
                                   size_t vlen) {
  report_scan *s = ctx;
  cairn_report *r = s->r;
  if (klen != 8 || vlen != 8)
    return report_scan_stop(s, report_say(s->why, s->why_cap,
                                          CAIRN_ERR_CORRUPT, "table "
                                          "settlements holds a record of %zu "
                                          "+ %zu bytes", klen, vlen));
  uint32_t debtor = cairn_be32_read(key), creditor = cairn_be32_read(key + 4);
  if (report_scan_brand(s, "settlements", debtor) < 0 ||
      report_scan_brand(s, "settlements", creditor) < 0)
    return 1;
  /* Keys are unique ordered pairs of existing brands, so they fit. */
  if (r->n_settlements == CAIRN_REPORT_SETTLEMENTS_MAX || debtor == creditor)
    return report_scan_stop(s, report_say(s->why, s->why_cap,
                                          CAIRN_ERR_CORRUPT, "table "
                                          "settlements holds a pair %" PRIu32
                                          "/%" PRIu32 " it cannot hold",
                                          debtor, creditor));
  r->settlements[r->n_settlements++] =
      (cairn_report_settlement){debtor, creditor, cairn_be64_read(val)};
  return 0;
}

static int report_visit_coupon(void *ctx, const uint8_t *key, size_t klen,
                               const uint8_t *val, size_t vlen) {
  report_scan *s = ctx;
  cairn_coupon c;
  if (klen != CAIRN_HASH_BYTES ||
      cairn_coupon_decode(&c, key, val, vlen) != CAIRN_OK) {
    return report_scan_stop(s, report_say(s->why, s->why_cap,
                                          CAIRN_ERR_CORRUPT, "table coupons "
                                          "holds a record of %zu + %zu bytes "
                                          "that does not decode", klen, vlen));
  }
  int i = report_scan_brand(s, "coupons", c.brand);
  if (i < 0) return 1;
  /* Counts of records cannot pass the number of keys LMDB can hold. */
  s->coupons[i]++;
  if (c.status == CAIRN_COUPON_USED) s->coupons_used[i]++;
  else if (s->r->height > c.expiry_height) s->coupons_dead[i]++;
  else s->coupons_live[i]++;
  return 0;
}

static cairn_err report_scan_table(report_scan *s, cairn_rtxn *state,
                                   cairn_table t, const char *name,
                                   cairn_store_visit_fn fn) {
  static const uint8_t all[1] = {0}; /* an empty prefix, never NULL */
  cairn_err err = cairn_store_scan(state, t, all, 0, SIZE_MAX, fn, s);
  if (err != CAIRN_OK)
    return report_say(s->why, s->why_cap, err, "cannot read table %s of the "
                      "replayed state: %s", name, cairn_strerror(err));
  return s->err;
}

/* outstanding = issued minus every outflow, and conservation. */
static cairn_err report_check_points(cairn_report_brand *b, char *why,
                                     size_t why_cap) {
  if (b->tx_issued != b->issued)
    return report_say(why, why_cap, CAIRN_ERR_CORRUPT, "brand %s: its ISSUE "
                      "transactions credit %" PRIu64 " points, but the state "
                      "counts %" PRIu64 " issued", b->name, b->tx_issued,
                      b->issued);
  if (b->tx_redeemed > b->redeemed_home)
    return report_say(why, why_cap, CAIRN_ERR_CORRUPT, "brand %s: its REDEEM "
                      "transactions burn %" PRIu64 " points, but the state "
                      "counts only %" PRIu64 " redeemed at home", b->name,
                      b->tx_redeemed, b->redeemed_home);
  const uint64_t outflows[] = {b->redeemed_home, b->redeemed_partner,
                               b->expired, b->reversed};
  uint64_t left = b->issued;
  for (size_t i = 0; i < sizeof outflows / sizeof outflows[0]; i++) {
    if (outflows[i] > left)
      return report_say(why, why_cap, CAIRN_ERR_CORRUPT, "brand %s: more "
                        "points left (redeemed, expired or reversed) than "
                        "the %" PRIu64 " it issued", b->name, b->issued);
    left -= outflows[i];
  }
  b->outstanding = left;
  uint64_t held_too = b->balances;
  if (report_add(&held_too, b->held) != CAIRN_OK || held_too != left)
    return report_say(why, why_cap, CAIRN_ERR_CORRUPT, "brand %s does not "
                      "conserve its points: issued %" PRIu64 " minus "
                      "redeemed, expired and reversed leaves %" PRIu64
                      " outstanding, but balances %" PRIu64 " plus held %"
                      PRIu64 " differ", b->name, b->issued, left, b->balances,
                      b->held);
  return CAIRN_OK;
}

static cairn_err report_check_coupons(cairn_report_brand *b,
                                      const report_scan *s, uint32_t i,
                                      char *why, size_t why_cap) {
  if (s->coupons[i] != b->coupons_issued)
    return report_say(why, why_cap, CAIRN_ERR_CORRUPT, "brand %s: %" PRIu64
                      " coupons were issued, but the state holds %" PRIu64
                      " coupon records", b->name, b->coupons_issued,
                      s->coupons[i]);
  if (s->coupons_used[i] != b->coupons_redeemed)
    return report_say(why, why_cap, CAIRN_ERR_CORRUPT, "brand %s: %" PRIu64
                      " coupons were redeemed, but the state marks %" PRIu64
                      " as redeemed", b->name, b->coupons_redeemed,
                      s->coupons_used[i]);
  /* issued = used + dead + live, so outstanding = issued - redeemed -
   * expired is exactly the live count. */
  b->coupons_expired = s->coupons_dead[i];
  b->coupons_outstanding = s->coupons_live[i];
  return CAIRN_OK;
}

/* What a scan of the validator records gathers into the report. */
typedef struct report_records {
  cairn_report *r;
  cairn_err err;
  char *why;
  size_t why_cap;
} report_records;

/* A validator record: what the validator holds now. */
static int report_visit_record(void *ctx, const cairn_validator_record *rec) {
  report_records *s = ctx;
  cairn_report *r = s->r;
  if (report_validator_find(r, rec->pubkey) < 0 &&
      r->n_validators == CAIRN_REPORT_VALIDATORS_MAX) {
    s->err = report_say(s->why, s->why_cap, CAIRN_ERR_LIMIT, "the state "
                        "holds more validator records than a report can "
                        "list (%u)", (unsigned)CAIRN_REPORT_VALIDATORS_MAX);
    return 1;
  }
  cairn_report_validator *v = report_validator_slot(r, rec->pubkey,
                                                    rec->name);
  snprintf(v->name, sizeof v->name, "%s", rec->name);
  v->power = rec->power;
  v->bonded = rec->bonded;
  v->jailed = rec->jailed;
  return 0;
}

static cairn_err report_scan_validators(cairn_report *r, cairn_rtxn *state,
                                        char *why, size_t why_cap) {
  report_records s = {r, CAIRN_OK, why, why_cap};
  cairn_err err = cairn_staking_list_validators(state, report_visit_record,
                                                &s);
  if (err != CAIRN_OK)
    return report_say(why, why_cap, err, "cannot read the validator records "
                      "of the replayed state: %s", cairn_strerror(err));
  return s.err;
}

static void report_reset_final(cairn_report *r) {
  r->finished = false;
  r->n_settlements = 0;
  for (uint32_t i = 0; i < r->n_brands; i++) {
    cairn_report_brand *b = &r->brands[i];
    b->issued = b->redeemed_home = b->redeemed_partner = 0;
    b->expired = b->reversed = b->held = 0;
    b->outstanding = b->balances = 0;
    b->coupons_expired = b->coupons_outstanding = 0;
  }
}

cairn_err cairn_report_finish(cairn_report *r, cairn_rtxn *state, char *why,
                              size_t why_cap) {
  assert(r != NULL && state != NULL);
  report_reset_final(r);
  report_scan *s = calloc(1, sizeof *s);
  if (s == NULL) return CAIRN_ERR_NOMEM;
  s->r = r;
  s->why = why;
  s->why_cap = why_cap;
  cairn_err err = report_scan_table(s, state, CAIRN_T_BALANCES, "balances",
                                    report_visit_balance);
  if (err == CAIRN_OK)
    err = report_scan_table(s, state, CAIRN_T_BRAND_STATS, "brand_stats",
                            report_visit_stats);
  if (err == CAIRN_OK)
    err = report_scan_table(s, state, CAIRN_T_COUPONS, "coupons",
                            report_visit_coupon);
  if (err == CAIRN_OK)
    err = report_scan_table(s, state, CAIRN_T_SETTLEMENTS, "settlements",
                            report_visit_settlement);
  if (err == CAIRN_OK) err = report_scan_validators(r, state, why, why_cap);
  for (uint32_t i = 0; err == CAIRN_OK && i < r->n_brands; i++) {
    err = report_check_points(&r->brands[i], why, why_cap);
    if (err == CAIRN_OK)
      err = report_check_coupons(&r->brands[i], s, i, why, why_cap);
  }
  free(s);
  r->finished = err == CAIRN_OK;
  return err;
}

/* ---- output: one definition per table ---- */

typedef char report_cells[REPORT_COLS_MAX][REPORT_CELL_BYTES];

typedef struct report_table {
  const char *title;    /* heading of the text table */
  const char *csv_name; /* "# name" line of the CSV section */
  const char *empty;    /* the text table's line when there are no rows */
  size_t n_cols;
  const char *heads[REPORT_COLS_MAX];     /* text */
  const char *csv_heads[REPORT_COLS_MAX]; /* CSV */
  unsigned left;                          /* bit i: column i is text */
  size_t (*rows)(const cairn_report *r);
  /* full: CSV (whole keys) rather than text (shortened keys). */
  void (*row)(const cairn_report *r, size_t i, bool full, report_cells c);
} report_table;

static void report_u64(char *cell, uint64_t v) {
  snprintf(cell, REPORT_CELL_BYTES, "%" PRIu64, v);
}

static const char *report_brand_name(const cairn_report *r, uint32_t id) {
  int i = report_brand_index(r, id);
  return i >= 0 ? r->brands[i].name : "?";
}

static size_t report_rows_brands(const cairn_report *r) { return r->n_brands; }

static void report_row_points(const cairn_report *r, size_t i, bool full,
                              report_cells c) {
  (void)full;
  const cairn_report_brand *b = &r->brands[i];
  snprintf(c[0], REPORT_CELL_BYTES, "%s", b->name);
  snprintf(c[1], REPORT_CELL_BYTES, "%" PRIu32, b->id);
  report_u64(c[2], b->issued);
  report_u64(c[3], b->redeemed_home);
  report_u64(c[4], b->redeemed_partner);
  report_u64(c[5], b->expired);
  report_u64(c[6], b->reversed);
  report_u64(c[7], b->held);
  report_u64(c[8], b->outstanding);
}

static size_t report_rows_settle(const cairn_report *r) {
  return r->n_settlements;
}

static void report_row_settle(const cairn_report *r, size_t i, bool full,
                              report_cells c) {
  (void)full;
  const cairn_report_settlement *s = &r->settlements[i];
  snprintf(c[0], REPORT_CELL_BYTES, "%s", report_brand_name(r, s->debtor));
  snprintf(c[1], REPORT_CELL_BYTES, "%" PRIu32, s->debtor);
  snprintf(c[2], REPORT_CELL_BYTES, "%s", report_brand_name(r, s->creditor));
  snprintf(c[3], REPORT_CELL_BYTES, "%" PRIu32, s->creditor);
  report_u64(c[4], s->points);
}

static void report_row_coupons(const cairn_report *r, size_t i, bool full,
                               report_cells c) {
  (void)full;
  const cairn_report_brand *b = &r->brands[i];
  snprintf(c[0], REPORT_CELL_BYTES, "%s", b->name);
  snprintf(c[1], REPORT_CELL_BYTES, "%" PRIu32, b->id);
  report_u64(c[2], b->coupons_issued);
  report_u64(c[3], b->coupons_redeemed);
  report_u64(c[4], b->coupons_expired);
  report_u64(c[5], b->coupons_outstanding);
}

static size_t report_rows_validators(const cairn_report *r) {
  return r->n_validators;
}

/* "1-12,20-31": the heights a validator was in the set; none is "-" in
 * text and empty in CSV. */
static void report_spans_text(char *cell, const cairn_report_validator *v,
                              bool full) {
  size_t at = 0;
  cell[0] = '\0';
  if (v->n_spans == 0 && !full) snprintf(cell, REPORT_CELL_BYTES, "-");
  for (uint32_t k = 0; k < v->n_spans && at < REPORT_CELL_BYTES; k++) {
    int n = snprintf(cell + at, REPORT_CELL_BYTES - at,
                     "%s%" PRIu64 "-%" PRIu64, k > 0 ? "," : "",
                     v->spans[k].from, v->spans[k].to);
    if (n < 0) break;
    at += (size_t)n;
  }
}

static void report_row_validator(const cairn_report *r, size_t i, bool full,
                                 report_cells c) {
  const cairn_report_validator *v = &r->validators[i];
  cairn_hex_encode(c[0], REPORT_CELL_BYTES, v->pubkey, 32);
  if (!full) c[0][REPORT_KEY_HEX_SHORT] = '\0';
  snprintf(c[1], REPORT_CELL_BYTES, "%s", v->name);
  report_u64(c[2], v->power);
  report_u64(c[3], v->proposed);
  report_u64(c[4], v->missed);
  report_u64(c[5], v->slashing_events);
  report_u64(c[6], v->bonded);
  snprintf(c[7], REPORT_CELL_BYTES, "%s",
           full ? (v->jailed ? "true" : "false") : (v->jailed ? "yes" : "no"));
  report_u64(c[8], v->blocks_in_set);
  report_spans_text(c[9], v, full);
}

static const report_table report_tables[] = {
    {"points per brand (outstanding = issued - redeemed - expired - "
     "reversed = balances + held)",
     "brands", "(no brands)", 9,
     {"brand", "id", "issued", "redeemed home", "redeemed partners",
      "expired", "reversed", "held", "outstanding"},
     {"brand", "brand_id", "issued", "redeemed_home", "redeemed_partner",
      "expired", "reversed", "held", "outstanding"},
     0x1u, report_rows_brands, report_row_points},
    {"settlement matrix (points the debtor brand owes the creditor brand)",
     "settlement", "(none: no brand owes another)", 5,
     {"debtor", "id", "creditor", "id", "points"},
     {"debtor", "debtor_id", "creditor", "creditor_id", "points"}, 0x5u,
     report_rows_settle, report_row_settle},
    {"coupons per brand (expired: never redeemed, past their expiry height)",
     "coupons", "(no brands)", 6,
     {"brand", "id", "issued", "redeemed", "expired", "outstanding"},
     {"brand", "brand_id", "issued", "redeemed", "expired", "outstanding"},
     0x1u, report_rows_brands, report_row_coupons},
    {"validators (power in force now; votes missed while in the set)",
     "validators", "(no validators)", 10,
     {"validator", "name", "power", "blocks proposed", "votes missed",
      "slashing events", "bonded", "jailed", "blocks in set",
      "in set (heights)"},
     {"pubkey", "name", "power", "blocks_proposed", "votes_missed",
      "slashing_events", "bonded", "jailed", "blocks_in_set", "in_set"},
     0x283u, report_rows_validators, report_row_validator},
};

static void report_text_row(FILE *f, const report_table *t,
                            const size_t *width, const char *const *cells) {
  for (size_t k = 0; k < t->n_cols; k++) {
    bool left = (t->left >> k) & 1u;
    int w = (int)width[k];
    if (left && k + 1 == t->n_cols) fprintf(f, "  %s", cells[k]);
    else if (left) fprintf(f, "  %-*s", w, cells[k]);
    else fprintf(f, "  %*s", w, cells[k]);
  }
  fputs("\n", f);
}

static void report_text_table(FILE *f, const cairn_report *r,
                              const report_table *t, report_cells c) {
  size_t width[REPORT_COLS_MAX] = {0};
  size_t n = t->rows(r);
  for (size_t k = 0; k < t->n_cols; k++) width[k] = strlen(t->heads[k]);
  for (size_t i = 0; i < n; i++) {
    t->row(r, i, false, c);
    for (size_t k = 0; k < t->n_cols; k++)
      if (strlen(c[k]) > width[k]) width[k] = strlen(c[k]);
  }
  fprintf(f, "%s\n", t->title);
  if (n == 0) {
    fprintf(f, "  %s\n", t->empty);
    return;
  }
  report_text_row(f, t, width, t->heads);
  for (size_t i = 0; i < n; i++) {
    const char *cells[REPORT_COLS_MAX];
    t->row(r, i, false, c);
    for (size_t k = 0; k < t->n_cols; k++) cells[k] = c[k];
    report_text_row(f, t, width, cells);
  }
}

void cairn_report_print_text(FILE *f, const cairn_report *r) {
  assert(f != NULL && r != NULL);
  report_cells *c = malloc(sizeof *c);
  if (c == NULL) return;
  size_t n = sizeof report_tables / sizeof report_tables[0];
  for (size_t i = 0; i < n; i++) {
    if (i > 0) fputs("\n", f);
    report_text_table(f, r, &report_tables[i], *c);
  }
  free(c);
}

/* One CSV field: quoted when it holds a comma, a quote or a line break. */
static void report_csv_field(FILE *f, const char *s, bool last) {
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, f);
  } else {
    fputc('"', f);
    for (; *s != '\0'; s++) {
      if (*s == '"') fputc('"', f);
      fputc(*s, f);
    }
    fputc('"', f);
  }
  fputs(last ? "\n" : ",", f);
}

void cairn_report_print_csv(FILE *f, const cairn_report *r) {
  assert(f != NULL && r != NULL);
  report_cells *c = malloc(sizeof *c);
  if (c == NULL) return;
  size_t n = sizeof report_tables / sizeof report_tables[0];
  for (size_t i = 0; i < n; i++) {
    const report_table *t = &report_tables[i];
    fprintf(f, "# %s\n", t->csv_name);
    for (size_t k = 0; k < t->n_cols; k++)
      report_csv_field(f, t->csv_heads[k], k + 1 == t->n_cols);
    for (size_t row = 0; row < t->rows(r); row++) {
      t->row(r, row, true, *c);
      for (size_t k = 0; k < t->n_cols; k++)
        report_csv_field(f, (*c)[k], k + 1 == t->n_cols);
    }
    fputs("\n", f);
  }
  free(c);
}

/* ---- JSON ---- */

/* A count: an integer (counts stay far below 2^63). */
static json_t *report_json_count(uint64_t v) {
  return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v)
                                  : cairn_json_u64(v);
}

static json_t *report_json_brand(const cairn_report_brand *b) {
  return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                   "id", (json_int_t)b->id, "name", b->name, "issued",
                   cairn_json_u64(b->issued), "redeemed_home",
                   cairn_json_u64(b->redeemed_home), "redeemed_partner",
                   cairn_json_u64(b->redeemed_partner), "expired",
                   cairn_json_u64(b->expired), "reversed",
                   cairn_json_u64(b->reversed), "held",
                   cairn_json_u64(b->held), "outstanding",
                   cairn_json_u64(b->outstanding), "balances",
                   cairn_json_u64(b->balances));
}

static json_t *report_json_coupons(const cairn_report_brand *b) {
  return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o}", "brand_id",
                   (json_int_t)b->id, "brand", b->name, "issued",
                   report_json_count(b->coupons_issued), "redeemed",
                   report_json_count(b->coupons_redeemed), "expired",
                   report_json_count(b->coupons_expired), "outstanding",
                   report_json_count(b->coupons_outstanding));
}

static json_t *report_json_settle(const cairn_report *r,
                                  const cairn_report_settlement *s) {
  return json_pack("{s:I, s:s, s:I, s:s, s:o}", "debtor_id",
                   (json_int_t)s->debtor, "debtor",
                   report_brand_name(r, s->debtor), "creditor_id",
                   (json_int_t)s->creditor, "creditor",
                   report_brand_name(r, s->creditor), "points",
                   cairn_json_u64(s->points));
}

/* [{"from", "to"}, ...]: the heights a validator was in the set. */
static json_t *report_json_spans(const cairn_report_validator *v) {
  json_t *a = json_array();
  for (uint32_t k = 0; a != NULL && k < v->n_spans; k++) {
    json_t *o = json_pack("{s:o, s:o}", "from",
                          report_json_count(v->spans[k].from), "to",
                          report_json_count(v->spans[k].to));
    if (o == NULL || json_array_append_new(a, o) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *report_json_validator(const cairn_report_validator *v) {
  return json_pack("{s:o, s:s, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o}",
                   "pubkey", cairn_json_hex(v->pubkey, 32), "name", v->name,
                   "power", cairn_json_u64(v->power), "bonded",
                   cairn_json_u64(v->bonded), "jailed", (int)v->jailed,
                   "blocks_proposed", report_json_count(v->proposed),
                   "votes_missed", report_json_count(v->missed),
                   "slashing_events", report_json_count(v->slashing_events),
                   "blocks_in_set", report_json_count(v->blocks_in_set),
                   "in_set", report_json_spans(v));
}

/* Append to a JSON array; false (and the array freed) on failure. */
static bool report_json_push(json_t **a, json_t *item) {
  if (*a != NULL && item != NULL && json_array_append_new(*a, item) == 0)
    return true;
  json_decref(item);
  json_decref(*a);
  *a = NULL;
  return false;
}

static json_t *report_json_types(const cairn_report *r) {
  json_t *o = json_object();
  for (size_t t = 0; o != NULL && t < CAIRN_REPORT_TX_TYPES; t++) {
    if (r->tx_types[t] == 0) continue;
    const char *name = t == 0 ? "unknown" : cairn_tx_type_name((uint8_t)t);
    if (json_object_set_new(o, name, report_json_count(r->tx_types[t])) != 0) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

json_t *cairn_report_json(const cairn_report *r) {
  assert(r != NULL);
  json_t *brands = json_array(), *coupons = json_array();
  json_t *settle = json_array(), *validators = json_array();
  for (uint32_t i = 0; i < r->n_brands; i++) {
    report_json_push(&brands, report_json_brand(&r->brands[i]));
    report_json_push(&coupons, report_json_coupons(&r->brands[i]));
  }
  for (uint32_t i = 0; i < r->n_settlements; i++)
    report_json_push(&settle, report_json_settle(r, &r->settlements[i]));
  for (uint32_t i = 0; i < r->n_validators; i++)
    report_json_push(&validators, report_json_validator(&r->validators[i]));
  if (brands == NULL || coupons == NULL || settle == NULL ||
      validators == NULL) {
    json_decref(brands);
    json_decref(coupons);
    json_decref(settle);
    json_decref(validators);
    return NULL;
  }
  return json_pack("{s:o, s:o, s:o, s:o, s:o}", "brands", brands,
                   "settlement", settle, "coupons", coupons, "validators",
                   validators, "transaction_types", report_json_types(r));
}
