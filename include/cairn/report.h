/*
 * cairn/report.h - what every brand owes: the auditor's report.
 *
 * The report is built while an auditor replays the chain. Two kinds of input
 * meet in it:
 *   - block by block (cairn_report_add_block), from the decoded, already
 *     verified transactions and commits: tallies of the points each brand
 *     issued and that members redeemed, coupons issued and redeemed, and per
 *     validator the blocks it proposed, the commits it did not sign while
 *     it was in the set in force for them, the heights it was in that set,
 *     and the EVIDENCE transactions against it;
 *   - once at the end (cairn_report_finish), from the replayed state: each
 *     brand's lifetime counters (brand_stats: issued, redeemed at home and at
 *     partners, expired, reversed, held), the sum of its members' balances,
 *     the status of every coupon, and each validator's staking record
 *     (power in force, bonded stake, jailed).
 * finish then demands that the two agree: the points issued by ISSUE
 * transactions equal the issued counter, every brand conserves its points
 *     issued - redeemed_home - redeemed_partner - expired - reversed
 *       = sum of balances + held,
 * and the coupons counted from transactions are the coupon records. A
 * mismatch means the state the chain commits to does not add up, which an
 * audit reports as a failure.
 *
 * Definitions (specs/audit.md):
 *   outstanding  = issued - redeemed_home - redeemed_partner - expired
 *                  - reversed: the points the brand still owes, in members'
 *                  balances or held;
 *   coupons expired = coupons never redeemed whose expiry height is below
 *                  the report's height; outstanding = issued - redeemed -
 *                  expired.
 * The settlement matrix lists, from the replayed state, the points one
 * brand owes another for cross-brand redemptions (in the creditor's
 * points): an entry per pair with a non-zero balance.
 *
 * All arithmetic is u64 with overflow checks (CAIRN_ERR_OVERFLOW); there is
 * no floating point. A report is plain data: it may be copied, kept across
 * polls of a continuous audit, and extended with the next blocks.
 */
#ifndef CAIRN_REPORT_H
#define CAIRN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/store.h"

/* Cross-brand pairs a report can list: every ordered pair of brands. */
#define CAIRN_REPORT_SETTLEMENTS_MAX                                           \
  (CAIRN_BRANDS_MAX * (CAIRN_BRANDS_MAX - 1))
/* Transaction type counters: index = type byte, 0 counts unknown types. */
#define CAIRN_REPORT_TX_TYPES 32
/* Validators a report can list: every validator that was ever in a set
 * in force or has a staking record. More than one set holds, because
 * jailed validators stay on record for good while others are admitted in
 * their place. */
#define CAIRN_REPORT_VALIDATORS_MAX (8u * CAIRN_VALIDATORS_MAX)
/* Ranges of heights kept per validator: a validator that leaves the set
 * and comes back more often than this has its later ranges merged into the
 * last one (blocks_in_set stays exact). */
#define CAIRN_REPORT_SPANS_MAX 4

_Static_assert(CAIRN_REPORT_VALIDATORS_MAX >= CAIRN_VALIDATORS_MAX,
               "a report holds at least one whole set");
_Static_assert(CAIRN_REPORT_VALIDATORS_MAX <= 65536u,
               "validator indexes of a report fit in an int");

typedef struct cairn_report_brand {
  uint32_t id;
  char name[CAIRN_NAME_BYTES_MAX + 1];
  /* Points, from the replayed state at finish. */
  uint64_t issued;
  uint64_t redeemed_home;    /* redeemed at the brand itself */
  uint64_t redeemed_partner; /* redeemed at partner brands */
  uint64_t expired;          /* breakage */
  uint64_t reversed;
  uint64_t held;             /* in open holds */
  uint64_t outstanding;      /* the liability; see the essay */
  uint64_t balances;         /* sum of members' balances */
  /* Coupons: issued and redeemed counted from transactions; expired and
   * outstanding at finish. */
  uint64_t coupons_issued;
  uint64_t coupons_redeemed;
  uint64_t coupons_expired;
  uint64_t coupons_outstanding;
  /* Tallies from transactions, for the cross-checks. */
  uint64_t tx_issued;   /* sum of ISSUE amounts */
  uint64_t tx_redeemed; /* sum of REDEEM amounts */
} cairn_report_brand;

/* Heights from..to (inclusive) at which a validator was in the set. */
typedef struct cairn_report_span {
  uint64_t from;
  uint64_t to;
} cairn_report_span;

typedef struct cairn_report_validator {
  uint8_t pubkey[CAIRN_ED25519_PUBKEY_BYTES];
  char name[CAIRN_NAME_BYTES_MAX + 1];
  /* After finish: the power in force for the block after the report's
   * height, from the staking record (0: not in the set). Between blocks:
   * its power in the latest set that held it. */
  uint64_t power;
  uint64_t bonded;          /* stake bonded now (finish; staking record) */
  bool jailed;              /* jailed for good (finish; staking record) */
  uint64_t proposed;        /* blocks whose header names it as proposer */
  uint64_t missed;          /* blocks of its sets whose commit lacks it */
  uint64_t slashing_events; /* EVIDENCE transactions against it */
  uint64_t blocks_in_set;   /* heights at which it was in the set */
  uint32_t n_spans;         /* 0..CAIRN_REPORT_SPANS_MAX */
  cairn_report_span spans[CAIRN_REPORT_SPANS_MAX]; /* ascending, disjoint */
} cairn_report_validator;

/* Points `debtor` owes `creditor` for redemptions of debtor's points at
 * creditor, in creditor points (the settlements table of the state). */
typedef struct cairn_report_settlement {
  uint32_t debtor;
  uint32_t creditor;
  uint64_t points;
} cairn_report_settlement;

typedef struct cairn_report {
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1];
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  uint64_t height;                /* blocks 1..height are included */
  uint8_t hash[CAIRN_HASH_BYTES]; /* block hash at height (genesis at 0) */
  uint64_t blocks;
  uint64_t txs;
  uint64_t tx_types[CAIRN_REPORT_TX_TYPES];
  bool finished; /* finish succeeded at this height */
  uint32_t n_brands;
  cairn_report_brand brands[CAIRN_BRANDS_MAX];
  uint32_t n_validators; /* ascending by pubkey */
  cairn_report_validator validators[CAIRN_REPORT_VALIDATORS_MAX];
  uint32_t n_settlements; /* filled by finish */
  cairn_report_settlement settlements[CAIRN_REPORT_SETTLEMENTS_MAX];
} cairn_report;

/* Start an empty report at height 0 for genesis g (brands and validators in
 * genesis order). r is large (about 1.3 MB): allocate it on the heap. */
void cairn_report_init(cairn_report *r, const cairn_genesis *g,
                       const uint8_t genesis_hash[CAIRN_HASH_BYTES]);

/* Add the next block (height r->height + 1, whose prev_hash is r->hash)
 * with its transactions (raw bytes, as cairn_block_decode returns them) and
 * its commit, under the validator set vs that was in force for it
 * (cairn_chain_valset_at(chain, height)): every member of vs is counted as
 * in the set at this height, gets a slot if it is new to the report, and
 * misses the block if the commit has no signature of it. Each EVIDENCE
 * transaction adds a slashing event to its offender. The block must have
 * been verified (its transactions and evidence decode); the report only
 * tallies. Clears r->finished.
 * Errors, each leaving r unchanged: ARG (not the next block), a decode
 * error of a transaction or of the evidence it carries, OVERFLOW (a tally
 * would pass 2^64 - 1), LIMIT (more validators than a report holds, or
 * more EVIDENCE transactions in one block than a set has members). */
CAIRN_MUST_CHECK cairn_err cairn_report_add_block(
    cairn_report *r, const cairn_block_header *h,
    const uint8_t hash[CAIRN_HASH_BYTES], const cairn_slice *txs,
    const cairn_commit *c, const cairn_valset *vs);

/* Complete the report from the replayed state `state` (a snapshot whose tip
 * is r->height) and check it, as described above; each validator record
 * of the state sets its validator's power, bonded and jailed (a validator
 * with a record but never in a set, e.g. admitted for a later height, gets
 * a slot). Sets r->finished on success. Errors (why names the brand and
 * both sides): CORRUPT (a cross-check failed, a record of the state does
 * not decode or names a brand that does not exist), OVERFLOW (a sum passes
 * 2^64 - 1), LIMIT (more validator records than a report holds), STORE,
 * NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_report_finish(cairn_report *r,
                                               cairn_rtxn *state, char *why,
                                               size_t why_cap);

/* The report as one JSON object: {"brands": [...], "settlement": [...],
 * "coupons": [...], "validators": [...]} (shapes in specs/audit.md).
 * Returns a new reference, or NULL when out of memory. */
json_t *cairn_report_json(const cairn_report *r);

/* Aligned text tables (points, settlement, coupons, validators). */
void cairn_report_print_text(FILE *f, const cairn_report *r);

/* One CSV section per table: a "# name" line, a header row, the rows, and
 * a blank line. Fields with a comma, quote or line break are quoted. */
void cairn_report_print_csv(FILE *f, const cairn_report *r);

#endif
