/*
 * cairn/genesis.h - the genesis document: chain id, brands, validators.
 *
 * Operators write genesis as JSON (specs/genesis.md); the node turns it into
 * the canonical binary form below, whose tagged hash is the genesis hash, the
 * prev_hash of block 1. Every node and every auditor must derive the same
 * bytes from the same JSON, so the JSON is checked strictly: unknown fields,
 * duplicate names, unsorted ids and bad keys are errors.
 *
 *   version u8 (=1) | chain_id var8 | time_ms u64
 *   | u16 n_brands | n * (id u32 | name var8 | issuer [32] | flags u8
 *                        | expiry_mode u8 | expiry_blocks u64
 *                        | max_issue_per_tx u64 | max_issue_per_day u64)
 *   | u16 n_validators | n * (pubkey [32] | power u64 | operator [32]
 *                            | name var8)
 *   | valset_delay_blocks u64 | unbonding_blocks u64
 *   | evidence_max_age_blocks u64 | slash_percent u8
 *   | u16 n_stake | n * (account [32] | amount u64)
 *
 * Brand flags: bit 0 = points transferable between members; bit 1 = other
 * brands may NOT accept these points (so all-zero is the open default);
 * other bits 0. The rest of a brand's asset policy (expiry, fraud limits)
 * follows the flags; all zero means no expiry and no limits. The issuer can
 * replace the policy later with a POLICY transaction (state.h).
 * Brands ascend strictly by id (ids >= 1); validators ascend by pubkey;
 * stake allocations ascend strictly by account. A validator's operator is
 * all zero (none) or a valid BIP-340 key. A genesis built in code whose
 * staking parameters are all zero (never set) gets the defaults below:
 * cairn_genesis_check writes them in, and encoding writes them out, so
 * such a struct and its decoded bytes have the same hash.
 */
#ifndef CAIRN_GENESIS_H
#define CAIRN_GENESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/sig.h"

#define CAIRN_GENESIS_VERSION 1
#define CAIRN_BRAND_FLAG_TRANSFERABLE 0x01u
#define CAIRN_BRAND_FLAG_NO_PARTNERS 0x02u
#define CAIRN_BRAND_FLAGS_KNOWN 0x03u

/* How a brand's issued points expire. Periods are counted in blocks, never
 * in wall-clock time, so every node agrees; "30 days" is an operator's
 * convention through the block interval (30 days at 1 s blocks = 2,592,000
 * blocks). */
typedef enum cairn_expiry_mode {
  CAIRN_EXPIRY_NONE = 0,    /* points never expire */
  CAIRN_EXPIRY_FIXED = 1,   /* a credit at height h expires after h + N */
  CAIRN_EXPIRY_ROLLING = 2  /* all of a member's points of the brand expire
                               N blocks after the member's last activity */
} cairn_expiry_mode;
#define CAIRN_EXPIRY_MODE_MAX 2

/* The asset policy besides the flags. expiry_blocks is >= 1 for FIXED and
 * ROLLING and 0 for NONE. A limit of 0 means no limit. A day is
 * block time_ms / 86,400,000 (UTC days of the block clock). */
typedef struct cairn_brand_policy {
  uint8_t expiry_mode; /* cairn_expiry_mode */
  uint64_t expiry_blocks;
  uint64_t max_issue_per_tx;
  uint64_t max_issue_per_day;
} cairn_brand_policy;

#define CAIRN_DAY_MS 86400000ull

/* CAIRN_OK when the policy fields are consistent (mode known; period >= 1
 * exactly when the mode is not NONE), else CAIRN_ERR_RANGE. */
CAIRN_MUST_CHECK cairn_err cairn_brand_policy_check(
    const cairn_brand_policy *p);

typedef struct cairn_brand {
  uint32_t id;
  uint8_t name_len;
  char name[CAIRN_NAME_BYTES_MAX + 1]; /* NUL-terminated, [a-z0-9-] */
  uint8_t issuer[CAIRN_PUBKEY_BYTES];
  uint8_t flags;
  cairn_brand_policy policy;
} cairn_brand;

/* Staking rules of the chain (staking.h). JSON "staking" object; every
 * field optional with the defaults below. */
typedef struct cairn_staking_params {
  uint64_t valset_delay_blocks;     /* >= 1: a change included at height h
                                       takes effect at h + this */
  uint64_t unbonding_blocks;        /* >= valset_delay_blocks */
  uint64_t evidence_max_age_blocks; /* >= 1 */
  uint8_t slash_percent;            /* 0..100 of the bond, burned */
} cairn_staking_params;
#define CAIRN_STAKING_DEFAULT_VALSET_DELAY 2
#define CAIRN_STAKING_DEFAULT_UNBONDING 100
#define CAIRN_STAKING_DEFAULT_EVIDENCE_MAX_AGE 1000
#define CAIRN_STAKING_DEFAULT_SLASH_PERCENT 5

/* Free (unbonded) stake given to an account at genesis. */
typedef struct cairn_stake_alloc {
  uint8_t account[CAIRN_PUBKEY_BYTES];
  uint64_t amount; /* >= 1 */
} cairn_stake_alloc;

typedef struct cairn_genesis {
  uint8_t version;
  uint8_t chain_id_len;
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1]; /* NUL-terminated */
  uint64_t time_ms;
  uint16_t n_brands;
  cairn_brand brands[CAIRN_BRANDS_MAX];
  cairn_valset validators; /* each validator's power is its bonded stake */
  cairn_staking_params staking;
  uint16_t n_stake; /* accounts ascend strictly */
  cairn_stake_alloc stake[CAIRN_STAKE_ALLOCS_MAX];
} cairn_genesis;

/* Largest canonical genesis. */
#define CAIRN_GENESIS_BYTES_MAX                                                \
  (1 + 1 + CAIRN_CHAIN_ID_BYTES_MAX + 8 + 2 +                                  \
   CAIRN_BRANDS_MAX * (4 + 1 + CAIRN_NAME_BYTES_MAX + 32 + 1 + 25) + 2 +      \
   CAIRN_VALIDATORS_MAX * (32 + 8 + 32 + 1 + CAIRN_NAME_BYTES_MAX) +          \
   (8 + 8 + 8 + 1) + 2 + CAIRN_STAKE_ALLOCS_MAX * (32 + 8))

CAIRN_MUST_CHECK cairn_err cairn_genesis_encode(uint8_t *buf, size_t cap,
                                                size_t *len,
                                                const cairn_genesis *g);
/* Decode and validate (cairn_genesis_check). */
CAIRN_MUST_CHECK cairn_err cairn_genesis_decode(cairn_genesis *g,
                                                const uint8_t *buf, size_t len);
/* The semantic rules: chain id and names charset, ids ascending, names
 * unique, issuer keys valid, >= 1 brand and >= 1 validator, power bounds.
 * Writes a sentence to why. CAIRN_ERR_GENESIS on failure. */
CAIRN_MUST_CHECK cairn_err cairn_genesis_check(cairn_genesis *g, char *why,
                                               size_t why_cap);
CAIRN_MUST_CHECK cairn_err cairn_genesis_hash(uint8_t out[CAIRN_HASH_BYTES],
                                              const cairn_genesis *g);

/* Parse the JSON form. Errors: CAIRN_ERR_JSON (syntax), CAIRN_ERR_GENESIS
 * (content), with a sentence naming the field in why. */
CAIRN_MUST_CHECK cairn_err cairn_genesis_from_json(cairn_genesis *g,
                                                   const char *text, size_t len,
                                                   char *why, size_t why_cap);
/* Render JSON (malloc'd, caller frees). */
CAIRN_MUST_CHECK cairn_err cairn_genesis_to_json(const cairn_genesis *g,
                                                 char **out);
/* Read and parse a JSON genesis file. Errors also: NOT_FOUND, IO, OVERSIZE. */
CAIRN_MUST_CHECK cairn_err cairn_genesis_load(cairn_genesis *g,
                                              const char *path, char *why,
                                              size_t why_cap);

/* The staking parameters in force: g->staking, or the defaults when all
 * four fields are zero (a genesis built in code that never set them). */
void cairn_genesis_staking_params(const cairn_genesis *g,
                                  cairn_staking_params *out);

/* Lookups; NULL when absent. */
const cairn_brand *cairn_genesis_brand_by_id(const cairn_genesis *g,
                                             uint32_t id);
const cairn_brand *cairn_genesis_brand_by_name(const cairn_genesis *g,
                                               const char *name);

#endif
