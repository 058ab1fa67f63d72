/*
 * genesis.c - the genesis document in its two forms: JSON for operators and
 * canonical bytes for the chain.
 *
 * Every node and auditor must derive the same genesis hash from the same
 * document, or they would be on different chains without noticing. So the
 * binary form has exactly one encoding (brands sorted by id, validators by
 * public key, fixed flag bits), and the JSON reader is strict: a field it
 * does not know is an error rather than something silently ignored, because
 * an operator who misspells "transferable" must hear about it before the
 * chain starts, not after. Every error message names the offending field
 * ("brands[1].issuer: ...") so the fix is obvious.
 *
 * The JSON form lets operators list validators in any order (they are
 * sorted by key while parsing); everything else must already be in
 * canonical order, since reordering brands would change what their ids mean
 * to the people who wrote the file.
 *
 * cairn_genesis_check() holds the semantic rules and is applied to both
 * forms, so a binary genesis read back from disk or from a peer is held to
 * exactly the rules the JSON was.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/genesis.h"
#include "cairn/json.h"

/* ---- messages ---- */

/* Write a sentence to why (which may be NULL when why_cap is 0). */
__attribute__((format(printf, 3, 4))) static void genesis_why(
    char *why, size_t why_cap, const char *fmt, ...) {
  va_list ap;
  if (why_cap == 0) return;
  assert(why != NULL);
  va_start(ap, fmt);
  vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

#define GENESIS_FAIL(...)                  \
  do {                                     \
    genesis_why(why, why_cap, __VA_ARGS__); \
    return CAIRN_ERR_GENESIS;              \
  } while (0)

/* Chain ids and names: 1..32 characters of [a-z0-9-]. The length is given
 * separately so that an embedded NUL is caught too. */
static bool genesis_name_valid(const char *s, size_t len) {
  if (len == 0 || len > CAIRN_NAME_BYTES_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return s[len] == '\0';
}

_Static_assert(CAIRN_CHAIN_ID_BYTES_MAX == CAIRN_NAME_BYTES_MAX,
               "chain ids share the name rule");

#define GENESIS_NAME_RULE "must be 1-32 characters of a-z, 0-9 and '-'"

/* Validator names are only labels for people (they are not hashed into the
 * validator set): 1..32 printable ASCII characters. */
static bool genesis_label_valid(const char *s, size_t len) {
  if (len == 0 || len > CAIRN_NAME_BYTES_MAX) return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < 0x20 || s[i] > 0x7e) return false;
  }
  return s[len] == '\0';
}

#define GENESIS_LABEL_RULE "must be 1-32 printable ASCII characters"

/* ---- semantic rules ---- */

cairn_err cairn_brand_policy_check(const cairn_brand_policy *p) {
  assert(p != NULL);
  if (p->expiry_mode > CAIRN_EXPIRY_MODE_MAX) return CAIRN_ERR_RANGE;
  bool expires = p->expiry_mode != CAIRN_EXPIRY_NONE;
  return expires == (p->expiry_blocks != 0) ? CAIRN_OK : CAIRN_ERR_RANGE;
}

static cairn_err genesis_check_brands(const cairn_genesis *g, char *why,
                                      size_t why_cap) {
  if (g->n_brands == 0) GENESIS_FAIL("brands: at least one brand is required");
  if (g->n_brands > CAIRN_BRANDS_MAX) {
    GENESIS_FAIL("brands: at most %d brands are allowed", CAIRN_BRANDS_MAX);
  }
  for (unsigned i = 0; i < g->n_brands; i++) {
    const cairn_brand *b = &g->brands[i];
    if (b->id == 0) GENESIS_FAIL("brands[%u].id: must be at least 1", i);
    if (i > 0 && b->id <= g->brands[i - 1].id) {
      GENESIS_FAIL("brands[%u].id: ids must be strictly ascending (%u after "
                   "%u)", i, (unsigned)b->id, (unsigned)g->brands[i - 1].id);
    }
    if (!genesis_name_valid(b->name, b->name_len)) {
      GENESIS_FAIL("brands[%u].name: " GENESIS_NAME_RULE, i);
    }
    for (unsigned j = 0; j < i; j++) {
      if (strcmp(g->brands[j].name, b->name) == 0) {
        GENESIS_FAIL("brands[%u].name: duplicate brand name \"%s\" (also "
                     "brands[%u])", i, b->name, j);
      }
    }
    if (cairn_schnorr_pubkey_check(b->issuer) != CAIRN_OK) {
      GENESIS_FAIL("brands[%u].issuer: not a valid public key", i);
    }
    if ((b->flags & ~CAIRN_BRAND_FLAGS_KNOWN) != 0) {
      GENESIS_FAIL("brands[%u]: unknown flag bits 0x%02x", i,
                   (unsigned)b->flags);
    }
    if (cairn_brand_policy_check(&b->policy) != CAIRN_OK) {
      GENESIS_FAIL("brands[%u].policy: expiry needs expiry_blocks >= 1 "
                   "(and \"none\" needs 0)", i);
    }
  }
  return CAIRN_OK;
}

/* All-zero key: "no operator"; anything else must be a valid key. */
static bool genesis_operator_valid(const uint8_t key[CAIRN_PUBKEY_BYTES]) {
  static const uint8_t none[CAIRN_PUBKEY_BYTES];
  if (memcmp(key, none, CAIRN_PUBKEY_BYTES) == 0) return true;
  return cairn_schnorr_pubkey_check(key) == CAIRN_OK;
}

static cairn_err genesis_check_validator(const cairn_validator *v, unsigned i,
                                         char *why, size_t why_cap) {
  if (!genesis_operator_valid(v->operator_key)) {
    GENESIS_FAIL("validators[%u].operator: not a valid public key", i);
  }
  if (v->power == 0) {
    GENESIS_FAIL("validators[%u].power: must be at least 1", i);
  }
  if (v->power > CAIRN_TOTAL_POWER_MAX) {
    GENESIS_FAIL("validators[%u].power: must be at most 2^60", i);
  }
  if (!genesis_label_valid(v->name, v->name_len)) {
    GENESIS_FAIL("validators[%u].name: " GENESIS_LABEL_RULE, i);
  }
  return CAIRN_OK;
}

static cairn_err genesis_check_validators(cairn_genesis *g, char *why,
                                          size_t why_cap) {
  cairn_valset *vs = &g->validators;
  uint64_t total = 0;
  if (vs->n == 0) {
    GENESIS_FAIL("validators: at least one validator is required");
  }
  if (vs->n > CAIRN_VALIDATORS_MAX) {
    GENESIS_FAIL("validators: at most %d validators are allowed",
                 CAIRN_VALIDATORS_MAX);
  }
  for (unsigned i = 0; i < vs->n; i++) {
    CAIRN_TRY(genesis_check_validator(&vs->v[i], i, why, why_cap));
    if (i > 0) {
      int cmp = memcmp(vs->v[i - 1].pubkey, vs->v[i].pubkey,
                       CAIRN_ED25519_PUBKEY_BYTES);
      if (cmp == 0) GENESIS_FAIL("validators[%u].pubkey: duplicate key", i);
      if (cmp > 0) GENESIS_FAIL("validators: not sorted by pubkey");
    }
    total += vs->v[i].power; /* each <= 2^60, so no wrap before the test */
    if (total > CAIRN_TOTAL_POWER_MAX) {
      GENESIS_FAIL("validators: total power exceeds 2^60");
    }
  }
  cairn_err err = cairn_valset_check(vs); /* sets total_power */
  assert(err == CAIRN_OK && vs->total_power == total);
  return err == CAIRN_OK ? CAIRN_OK : CAIRN_ERR_GENESIS;
}

static bool genesis_staking_unset(const cairn_staking_params *p) {
  return p->valset_delay_blocks == 0 && p->unbonding_blocks == 0 &&
         p->evidence_max_age_blocks == 0 && p->slash_percent == 0;
}

/* The parameters in force: all-zero (a genesis built in code that never
 * set them) means the defaults. All-zero is never valid (the delay is at
 * least 1), so this reading is unambiguous. */
void cairn_genesis_staking_params(const cairn_genesis *g,
                                  cairn_staking_params *out) {
  *out = g->staking;
  if (!genesis_staking_unset(out)) return;
  out->valset_delay_blocks = CAIRN_STAKING_DEFAULT_VALSET_DELAY;
  out->unbonding_blocks = CAIRN_STAKING_DEFAULT_UNBONDING;
  out->evidence_max_age_blocks = CAIRN_STAKING_DEFAULT_EVIDENCE_MAX_AGE;
  out->slash_percent = CAIRN_STAKING_DEFAULT_SLASH_PERCENT;
}

static cairn_err genesis_check_params(const cairn_staking_params *p,
                                      char *why, size_t why_cap) {
  if (p->valset_delay_blocks == 0) {
    GENESIS_FAIL("staking.valset_delay_blocks: must be at least 1");
  }
  if (p->unbonding_blocks < p->valset_delay_blocks) {
    GENESIS_FAIL("staking.unbonding_blocks: must be at least "
                 "valset_delay_blocks (%llu)",
                 (unsigned long long)p->valset_delay_blocks);
  }
  if (p->evidence_max_age_blocks == 0) {
    GENESIS_FAIL("staking.evidence_max_age_blocks: must be at least 1");
  }
  if (p->slash_percent > 100) {
    GENESIS_FAIL("staking.slash_percent: must be 0 to 100");
  }
  return CAIRN_OK;
}

/* Allocations ascend strictly by account, each >= 1 and a valid key; the
 * whole stake (bonded power plus free) stays within 2^60. */
static cairn_err genesis_check_stake(const cairn_genesis *g, char *why,
                                     size_t why_cap) {
  uint64_t total = g->validators.total_power;
  if (g->n_stake > CAIRN_STAKE_ALLOCS_MAX) {
    GENESIS_FAIL("stake: at most %d entries are allowed",
                 CAIRN_STAKE_ALLOCS_MAX);
  }
  for (unsigned i = 0; i < g->n_stake; i++) {
    const cairn_stake_alloc *a = &g->stake[i];
    if (cairn_schnorr_pubkey_check(a->account) != CAIRN_OK) {
      GENESIS_FAIL("stake[%u].account: not a valid public key", i);
    }
    if (i > 0 && memcmp(g->stake[i - 1].account, a->account,
                        CAIRN_PUBKEY_BYTES) >= 0) {
      GENESIS_FAIL("stake[%u].account: accounts must be strictly ascending", i);
    }
    if (a->amount == 0) GENESIS_FAIL("stake[%u].amount: must be at least 1", i);
    if (a->amount > CAIRN_TOTAL_POWER_MAX - total) {
      GENESIS_FAIL("stake: bonded plus free stake exceeds 2^60");
    }
    total += a->amount;
  }
  return CAIRN_OK;
}

cairn_err cairn_genesis_check(cairn_genesis *g, char *why, size_t why_cap) {
  assert(g != NULL && (why != NULL || why_cap == 0));
  genesis_why(why, why_cap, "ok");
  if (g->version != CAIRN_GENESIS_VERSION) {
    GENESIS_FAIL("version: must be %d", CAIRN_GENESIS_VERSION);
  }
  if (!genesis_name_valid(g->chain_id, g->chain_id_len)) {
    GENESIS_FAIL("chain_id: " GENESIS_NAME_RULE);
  }
  if (g->time_ms == 0) GENESIS_FAIL("genesis_time_ms: must be at least 1");
  CAIRN_TRY(genesis_check_brands(g, why, why_cap));
  CAIRN_TRY(genesis_check_validators(g, why, why_cap));
  cairn_genesis_staking_params(g, &g->staking);
  CAIRN_TRY(genesis_check_params(&g->staking, why, why_cap));
  return genesis_check_stake(g, why, why_cap);
}

/* ---- binary form ---- */

static void genesis_put(cairn_writer *w, const cairn_genesis *g) {
  cairn_put_u8(w, g->version);
  cairn_put_var8(w, (const uint8_t *)g->chain_id, g->chain_id_len);
  cairn_put_u64(w, g->time_ms);
  cairn_put_u16(w, g->n_brands);
  for (unsigned i = 0; i < g->n_brands; i++) {
    const cairn_brand *b = &g->brands[i];
    cairn_put_u32(w, b->id);
    cairn_put_var8(w, (const uint8_t *)b->name, b->name_len);
    cairn_put_bytes(w, b->issuer, CAIRN_PUBKEY_BYTES);
    cairn_put_u8(w, b->flags);
    cairn_put_u8(w, b->policy.expiry_mode);
    cairn_put_u64(w, b->policy.expiry_blocks);
    cairn_put_u64(w, b->policy.max_issue_per_tx);
    cairn_put_u64(w, b->policy.max_issue_per_day);
  }
  cairn_put_u16(w, (uint16_t)g->validators.n);
  for (unsigned i = 0; i < g->validators.n; i++) {
    const cairn_validator *v = &g->validators.v[i];
    cairn_put_bytes(w, v->pubkey, CAIRN_ED25519_PUBKEY_BYTES);
    cairn_put_u64(w, v->power);
    cairn_put_bytes(w, v->operator_key, CAIRN_PUBKEY_BYTES);
    cairn_put_var8(w, (const uint8_t *)v->name, v->name_len);
  }
  cairn_staking_params p;
  cairn_genesis_staking_params(g, &p);
  cairn_put_u64(w, p.valset_delay_blocks);
  cairn_put_u64(w, p.unbonding_blocks);
  cairn_put_u64(w, p.evidence_max_age_blocks);
  cairn_put_u8(w, p.slash_percent);
  cairn_put_u16(w, g->n_stake);
  for (unsigned i = 0; i < g->n_stake; i++) {
    cairn_put_bytes(w, g->stake[i].account, CAIRN_PUBKEY_BYTES);
    cairn_put_u64(w, g->stake[i].amount);
  }
}

cairn_err cairn_genesis_encode(uint8_t *buf, size_t cap, size_t *len,
                               const cairn_genesis *g) {
  cairn_writer w;
  assert(g != NULL && len != NULL);
  assert(g->chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  assert(g->n_brands <= CAIRN_BRANDS_MAX);
  assert(g->validators.n <= CAIRN_VALIDATORS_MAX);
  assert(g->n_stake <= CAIRN_STAKE_ALLOCS_MAX);
  for (unsigned i = 0; i < g->n_brands; i++) {
    assert(g->brands[i].name_len <= CAIRN_NAME_BYTES_MAX);
  }
  for (unsigned i = 0; i < g->validators.n; i++) {
    assert(g->validators.v[i].name_len <= CAIRN_NAME_BYTES_MAX);
  }
  cairn_writer_init(&w, buf, cap);
  genesis_put(&w, g);
  cairn_err err = cairn_writer_finish(&w, len);
  assert(err != CAIRN_OK || *len <= CAIRN_GENESIS_BYTES_MAX);
  return err;
}

/* A var8 name into a NUL-terminated buffer of max+1 bytes. */
static cairn_err genesis_get_name(cairn_reader *r, char *out, uint8_t *out_len,
                                  size_t max) {
  const uint8_t *p;
  size_t n;
  CAIRN_TRY(cairn_get_var8(r, &p, &n, max));
  memcpy(out, p, n);
  out[n] = '\0';
  *out_len = (uint8_t)n;
  return CAIRN_OK;
}

static cairn_err genesis_get_brands(cairn_reader *r, cairn_genesis *g) {
  CAIRN_TRY(cairn_get_u16(r, &g->n_brands));
  if (g->n_brands > CAIRN_BRANDS_MAX) return CAIRN_ERR_RANGE;
  for (unsigned i = 0; i < g->n_brands; i++) {
    cairn_brand *b = &g->brands[i];
    CAIRN_TRY(cairn_get_u32(r, &b->id));
    if (i > 0 && b->id <= g->brands[i - 1].id) return CAIRN_ERR_NONCANONICAL;
    CAIRN_TRY(genesis_get_name(r, b->name, &b->name_len, CAIRN_NAME_BYTES_MAX));
    CAIRN_TRY(cairn_get_bytes(r, b->issuer, CAIRN_PUBKEY_BYTES));
    CAIRN_TRY(cairn_get_u8(r, &b->flags));
    if ((b->flags & ~CAIRN_BRAND_FLAGS_KNOWN) != 0) return CAIRN_ERR_RANGE;
    CAIRN_TRY(cairn_get_u8(r, &b->policy.expiry_mode));
    CAIRN_TRY(cairn_get_u64(r, &b->policy.expiry_blocks));
    CAIRN_TRY(cairn_get_u64(r, &b->policy.max_issue_per_tx));
    CAIRN_TRY(cairn_get_u64(r, &b->policy.max_issue_per_day));
    CAIRN_TRY(cairn_brand_policy_check(&b->policy));
  }
  return CAIRN_OK;
}

static cairn_err genesis_get_validators(cairn_reader *r, cairn_valset *vs) {
  uint16_t n;
  CAIRN_TRY(cairn_get_u16(r, &n));
  if (n > CAIRN_VALIDATORS_MAX) return CAIRN_ERR_RANGE;
  vs->n = n;
  for (unsigned i = 0; i < n; i++) {
    cairn_validator *v = &vs->v[i];
    CAIRN_TRY(cairn_get_bytes(r, v->pubkey, CAIRN_ED25519_PUBKEY_BYTES));
    if (i > 0 && memcmp(vs->v[i - 1].pubkey, v->pubkey,
                        CAIRN_ED25519_PUBKEY_BYTES) >= 0) {
      return CAIRN_ERR_NONCANONICAL;
    }
    CAIRN_TRY(cairn_get_u64(r, &v->power));
    CAIRN_TRY(cairn_get_bytes(r, v->operator_key, CAIRN_PUBKEY_BYTES));
    CAIRN_TRY(genesis_get_name(r, v->name, &v->name_len, CAIRN_NAME_BYTES_MAX));
  }
  return CAIRN_OK;
}

/* The staking parameters and free stake. The bytes always carry the
 * parameters in force, so a zero delay (which the check would read as
 * "unset") is out of range here. */
static cairn_err genesis_get_staking(cairn_reader *r, cairn_genesis *g) {
  cairn_staking_params *p = &g->staking;
  CAIRN_TRY(cairn_get_u64(r, &p->valset_delay_blocks));
  CAIRN_TRY(cairn_get_u64(r, &p->unbonding_blocks));
  CAIRN_TRY(cairn_get_u64(r, &p->evidence_max_age_blocks));
  CAIRN_TRY(cairn_get_u8(r, &p->slash_percent));
  if (p->valset_delay_blocks == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u16(r, &g->n_stake));
  if (g->n_stake > CAIRN_STAKE_ALLOCS_MAX) return CAIRN_ERR_RANGE;
  for (unsigned i = 0; i < g->n_stake; i++) {
    cairn_stake_alloc *a = &g->stake[i];
    CAIRN_TRY(cairn_get_bytes(r, a->account, CAIRN_PUBKEY_BYTES));
    if (i > 0 && memcmp(g->stake[i - 1].account, a->account,
                        CAIRN_PUBKEY_BYTES) >= 0)
      return CAIRN_ERR_NONCANONICAL;
    CAIRN_TRY(cairn_get_u64(r, &a->amount));
  }
  return CAIRN_OK;
}

static cairn_err genesis_get(cairn_reader *r, cairn_genesis *g) {
  CAIRN_TRY(cairn_get_u8(r, &g->version));
  if (g->version != CAIRN_GENESIS_VERSION) return CAIRN_ERR_VERSION;
  CAIRN_TRY(genesis_get_name(r, g->chain_id, &g->chain_id_len,
                             CAIRN_CHAIN_ID_BYTES_MAX));
  CAIRN_TRY(cairn_get_u64(r, &g->time_ms));
  CAIRN_TRY(genesis_get_brands(r, g));
  CAIRN_TRY(genesis_get_validators(r, &g->validators));
  CAIRN_TRY(genesis_get_staking(r, g));
  return cairn_reader_end(r);
}

/* Structural errors as for any decoder; a document that is well-formed but
 * breaks a genesis rule is CAIRN_ERR_GENESIS. */
cairn_err cairn_genesis_decode(cairn_genesis *g, const uint8_t *buf,
                               size_t len) {
  cairn_reader r;
  char why[160];
  assert(g != NULL && (buf != NULL || len == 0));
  memset(g, 0, sizeof *g);
  if (len > CAIRN_GENESIS_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  cairn_reader_init(&r, buf, len);
  cairn_err err = genesis_get(&r, g);
  if (err == CAIRN_OK) err = cairn_genesis_check(g, why, sizeof why);
  if (err != CAIRN_OK) memset(g, 0, sizeof *g);
  return err;
}

cairn_err cairn_genesis_hash(uint8_t out[CAIRN_HASH_BYTES],
                             const cairn_genesis *g) {
  uint8_t buf[CAIRN_GENESIS_BYTES_MAX];
  size_t len;
  assert(out != NULL && g != NULL);
  cairn_err err = cairn_genesis_encode(buf, sizeof buf, &len, g);
  if (err != CAIRN_OK) {
    memset(out, 0, CAIRN_HASH_BYTES);
    return err;
  }
  cairn_tagged_hash(out, CAIRN_TAG_GENESIS, buf, len);
  return CAIRN_OK;
}

/* ---- JSON form: field access ---- */

/* Every key of obj must be in the NULL-terminated list `known`. */
static cairn_err json_check_keys(const json_t *obj, const char *const *known,
                                 const char *where, char *why,
                                 size_t why_cap) {
  size_t n_known = 0;
  while (known[n_known] != NULL) n_known++;
  const char *key = cairn_json_unknown_key(obj, known, n_known);
  if (key != NULL) GENESIS_FAIL("%s%sunknown field \"%s\"", where,
                                where[0] ? ": " : "", key);
  return CAIRN_OK;
}

/* The path of a field for messages: "chain_id" or "brands[2].name". */
static void json_field_path(char *out, size_t cap, const char *where,
                            const char *key) {
  snprintf(out, cap, "%s%s%s", where, where[0] ? "." : "", key);
}

/* A required string field of at most max bytes (no embedded NUL). */
static cairn_err json_get_string(const json_t *obj, const char *where,
                                 const char *key, size_t max, const char **out,
                                 char *why, size_t why_cap) {
  char path[64];
  json_field_path(path, sizeof path, where, key);
  *out = NULL;
  const json_t *v = json_object_get(obj, key);
  if (v == NULL) GENESIS_FAIL("%s: missing", path);
  if (!json_is_string(v)) GENESIS_FAIL("%s: expected a string", path);
  size_t n = json_string_length(v);
  if (strlen(json_string_value(v)) != n) {
    GENESIS_FAIL("%s: contains a NUL character", path);
  }
  if (n > max) GENESIS_FAIL("%s: too long (at most %zu characters)", path, max);
  *out = json_string_value(v);
  return CAIRN_OK;
}

/* A chain id or brand name ([a-z0-9-]), or with `label` a validator name
 * (printable ASCII), into a buffer of CAIRN_NAME_BYTES_MAX + 1. */
static cairn_err json_get_name(const json_t *obj, const char *where,
                               const char *key, bool label, char *out,
                               uint8_t *out_len, char *why, size_t why_cap) {
  const char *s;
  char path[64];
  CAIRN_TRY(json_get_string(obj, where, key, CAIRN_NAME_BYTES_MAX, &s, why,
                            why_cap));
  size_t n = strlen(s);
  json_field_path(path, sizeof path, where, key);
  if (label && !genesis_label_valid(s, n)) {
    GENESIS_FAIL("%s: " GENESIS_LABEL_RULE, path);
  }
  if (!label && !genesis_name_valid(s, n)) {
    GENESIS_FAIL("%s: " GENESIS_NAME_RULE, path);
  }
  memcpy(out, s, n + 1);
  *out_len = (uint8_t)n;
  return CAIRN_OK;
}

/* A required u64: a JSON integer or a canonical decimal string. */
static cairn_err json_get_uint(const json_t *obj, const char *where,
                               const char *key, uint64_t max, uint64_t *out,
                               char *why, size_t why_cap) {
  char path[64];
  json_field_path(path, sizeof path, where, key);
  const json_t *v = json_object_get(obj, key);
  if (v == NULL) GENESIS_FAIL("%s: missing", path);
  if (cairn_json_get_u64(v, out) != CAIRN_OK) {
    GENESIS_FAIL("%s: expected a non-negative integer or decimal string",
                 path);
  }
  if (*out > max) GENESIS_FAIL("%s: out of range", path);
  return CAIRN_OK;
}

/* ---- JSON form: parsing ---- */

/* An optional u64 field (absent: 0). */
static cairn_err json_get_uint_opt(const json_t *obj, const char *where,
                                   const char *key, uint64_t *out, char *why,
                                   size_t why_cap) {
  *out = 0;
  if (json_object_get(obj, key) == NULL) return CAIRN_OK;
  return json_get_uint(obj, where, key, UINT64_MAX, out, why, why_cap);
}

/* "none", "fixed" or "rolling". */
static cairn_err json_get_expiry_mode(const json_t *o, const char *where,
                                      uint8_t *mode, char *why,
                                      size_t why_cap) {
  static const char *const names[] = {"none", "fixed", "rolling"};
  const char *s;
  *mode = CAIRN_EXPIRY_NONE;
  if (json_object_get(o, "expiry") == NULL) return CAIRN_OK;
  CAIRN_TRY(json_get_string(o, where, "expiry", 16, &s, why, why_cap));
  for (uint8_t m = 0; m <= CAIRN_EXPIRY_MODE_MAX; m++) {
    if (strcmp(s, names[m]) == 0) {
      *mode = m;
      return CAIRN_OK;
    }
  }
  GENESIS_FAIL("%s.expiry: expected \"none\", \"fixed\" or \"rolling\"",
               where);
}

/* The optional "policy" object of a brand; every field optional, defaults
 * (no expiry, no limits, accepted by partners) when absent. */
static cairn_err json_get_policy(const json_t *o, const char *brand_where,
                                 cairn_brand *b, char *why, size_t why_cap) {
  static const char *const known[] = {"expiry", "expiry_blocks",
                                      "max_issue_per_tx", "max_issue_per_day",
                                      "accept_by_partners", NULL};
  char where[48];
  const json_t *p = json_object_get(o, "policy");
  if (p == NULL) return CAIRN_OK;
  snprintf(where, sizeof where, "%s.policy", brand_where);
  if (!json_is_object(p)) GENESIS_FAIL("%s: expected an object", where);
  CAIRN_TRY(json_check_keys(p, known, where, why, why_cap));
  CAIRN_TRY(json_get_expiry_mode(p, where, &b->policy.expiry_mode, why,
                                 why_cap));
  CAIRN_TRY(json_get_uint_opt(p, where, "expiry_blocks",
                              &b->policy.expiry_blocks, why, why_cap));
  CAIRN_TRY(json_get_uint_opt(p, where, "max_issue_per_tx",
                              &b->policy.max_issue_per_tx, why, why_cap));
  CAIRN_TRY(json_get_uint_opt(p, where, "max_issue_per_day",
                              &b->policy.max_issue_per_day, why, why_cap));
  const json_t *a = json_object_get(p, "accept_by_partners");
  if (a != NULL && !json_is_boolean(a)) {
    GENESIS_FAIL("%s.accept_by_partners: expected true or false", where);
  }
  if (json_is_false(a)) b->flags |= CAIRN_BRAND_FLAG_NO_PARTNERS;
  if (cairn_brand_policy_check(&b->policy) != CAIRN_OK) {
    GENESIS_FAIL("%s.expiry_blocks: must be at least 1 when points expire "
                 "and 0 (or absent) when they do not", where);
  }
  return CAIRN_OK;
}

static cairn_err json_get_brand(const json_t *o, unsigned i, cairn_brand *b,
                                char *why, size_t why_cap) {
  static const char *const known[] = {"id", "name", "issuer", "transferable",
                                      "policy", NULL};
  char where[32];
  const char *issuer;
  uint64_t id;
  snprintf(where, sizeof where, "brands[%u]", i);
  if (!json_is_object(o)) GENESIS_FAIL("%s: expected an object", where);
  CAIRN_TRY(json_check_keys(o, known, where, why, why_cap));
  CAIRN_TRY(json_get_uint(o, where, "id", UINT32_MAX, &id, why, why_cap));
  b->id = (uint32_t)id;
  CAIRN_TRY(json_get_name(o, where, "name", false, b->name, &b->name_len, why,
                          why_cap));
  CAIRN_TRY(json_get_string(o, where, "issuer", CAIRN_ADDRESS_CHARS + 16,
                            &issuer, why, why_cap));
  cairn_err err = cairn_address_decode(b->issuer, issuer);
  if (err != CAIRN_OK) {
    GENESIS_FAIL("%s.issuer: %s", where, cairn_strerror(err));
  }
  const json_t *t = json_object_get(o, "transferable");
  if (t == NULL) GENESIS_FAIL("%s.transferable: missing", where);
  if (!json_is_boolean(t)) GENESIS_FAIL("%s.transferable: expected true or "
                                        "false", where);
  b->flags = json_is_true(t) ? CAIRN_BRAND_FLAG_TRANSFERABLE : 0;
  return json_get_policy(o, where, b, why, why_cap);
}

/* An optional address field (absent: all zero). */
static cairn_err json_get_address_opt(const json_t *o, const char *where,
                                      const char *key, uint8_t out[32],
                                      char *why, size_t why_cap) {
  const char *text;
  memset(out, 0, CAIRN_PUBKEY_BYTES);
  if (json_object_get(o, key) == NULL) return CAIRN_OK;
  CAIRN_TRY(json_get_string(o, where, key, CAIRN_ADDRESS_CHARS + 16, &text,
                            why, why_cap));
  cairn_err err = cairn_address_decode(out, text);
  if (err != CAIRN_OK) {
    GENESIS_FAIL("%s.%s: %s", where, key, cairn_strerror(err));
  }
  return CAIRN_OK;
}

static cairn_err json_get_validator(const json_t *o, unsigned i,
                                    cairn_validator *v, char *why,
                                    size_t why_cap) {
  static const char *const known[] = {"name", "pubkey", "power", "operator",
                                      NULL};
  char where[32];
  const char *hex;
  snprintf(where, sizeof where, "validators[%u]", i);
  if (!json_is_object(o)) GENESIS_FAIL("%s: expected an object", where);
  CAIRN_TRY(json_check_keys(o, known, where, why, why_cap));
  CAIRN_TRY(json_get_name(o, where, "name", true, v->name, &v->name_len, why,
                          why_cap));
  CAIRN_TRY(json_get_string(o, where, "pubkey", 2 * CAIRN_ED25519_PUBKEY_BYTES,
                            &hex, why, why_cap));
  if (cairn_hex_decode_exact(v->pubkey, CAIRN_ED25519_PUBKEY_BYTES, hex) !=
      CAIRN_OK) {
    GENESIS_FAIL("%s.pubkey: expected 64 hex characters", where);
  }
  CAIRN_TRY(json_get_uint(o, where, "power", CAIRN_TOTAL_POWER_MAX, &v->power,
                          why, why_cap));
  if (v->power == 0) GENESIS_FAIL("%s.power: must be at least 1", where);
  return json_get_address_opt(o, where, "operator", v->operator_key, why,
                              why_cap);
}

/* The optional "staking" object; each absent field takes its default.
 * Ranges are checked here, as written (an explicit all-zero object must
 * not be read as "unset"). */
static cairn_err json_get_staking(const json_t *root, cairn_staking_params *p,
                                  char *why, size_t why_cap) {
  static const char *const known[] = {"valset_delay_blocks", "unbonding_blocks",
                                      "evidence_max_age_blocks",
                                      "slash_percent", NULL};
  p->valset_delay_blocks = CAIRN_STAKING_DEFAULT_VALSET_DELAY;
  p->unbonding_blocks = CAIRN_STAKING_DEFAULT_UNBONDING;
  p->evidence_max_age_blocks = CAIRN_STAKING_DEFAULT_EVIDENCE_MAX_AGE;
  p->slash_percent = CAIRN_STAKING_DEFAULT_SLASH_PERCENT;
  const json_t *o = json_object_get(root, "staking");
  if (o == NULL) return CAIRN_OK;
  if (!json_is_object(o)) GENESIS_FAIL("staking: expected an object");
  CAIRN_TRY(json_check_keys(o, known, "staking", why, why_cap));
  uint64_t *fields[] = {&p->valset_delay_blocks, &p->unbonding_blocks,
                        &p->evidence_max_age_blocks};
  for (size_t i = 0; i < 3; i++) {
    if (json_object_get(o, known[i]) == NULL) continue;
    CAIRN_TRY(json_get_uint(o, "staking", known[i], UINT64_MAX, fields[i], why,
                            why_cap));
  }
  if (json_object_get(o, "slash_percent") != NULL) {
    uint64_t pct = 0;
    CAIRN_TRY(json_get_uint(o, "staking", "slash_percent", 100, &pct, why,
                            why_cap));
    p->slash_percent = (uint8_t)pct;
  }
  return genesis_check_params(p, why, why_cap);
}

static cairn_err json_get_stake_alloc(const json_t *o, unsigned i,
                                      cairn_stake_alloc *a, char *why,
                                      size_t why_cap) {
  static const char *const known[] = {"account", "amount", NULL};
  char where[32];
  snprintf(where, sizeof where, "stake[%u]", i);
  if (!json_is_object(o)) GENESIS_FAIL("%s: expected an object", where);
  CAIRN_TRY(json_check_keys(o, known, where, why, why_cap));
  if (json_object_get(o, "account") == NULL) GENESIS_FAIL("%s.account: missing",
                                                          where);
  CAIRN_TRY(json_get_address_opt(o, where, "account", a->account, why,
                                 why_cap));
  CAIRN_TRY(json_get_uint(o, where, "amount", CAIRN_TOTAL_POWER_MAX,
                          &a->amount, why, why_cap));
  if (a->amount == 0) GENESIS_FAIL("%s.amount: must be at least 1", where);
  return CAIRN_OK;
}

/* The optional "stake" array: free stake per account, ascending strictly
 * by account bytes (as in the canonical form; the check says so). */
static cairn_err json_get_stake(const json_t *root, cairn_genesis *g,
                                char *why, size_t why_cap) {
  const json_t *a = json_object_get(root, "stake");
  g->n_stake = 0;
  if (a == NULL) return CAIRN_OK;
  if (!json_is_array(a)) GENESIS_FAIL("stake: expected an array");
  size_t n = json_array_size(a);
  if (n > CAIRN_STAKE_ALLOCS_MAX) {
    GENESIS_FAIL("stake: at most %d entries are allowed",
                 CAIRN_STAKE_ALLOCS_MAX);
  }
  for (unsigned i = 0; i < n; i++) {
    CAIRN_TRY(json_get_stake_alloc(json_array_get(a, i), i, &g->stake[i], why,
                                   why_cap));
  }
  g->n_stake = (uint16_t)n;
  return CAIRN_OK;
}

static int genesis_validator_cmp(const void *a, const void *b) {
  const cairn_validator *x = a, *y = b;
  return memcmp(x->pubkey, y->pubkey, CAIRN_ED25519_PUBKEY_BYTES);
}

static cairn_err json_get_validators(const json_t *a, cairn_valset *vs,
                                     char *why, size_t why_cap) {
  if (!json_is_array(a)) GENESIS_FAIL("validators: expected an array");
  size_t n = json_array_size(a);
  if (n == 0) GENESIS_FAIL("validators: at least one validator is required");
  if (n > CAIRN_VALIDATORS_MAX) {
    GENESIS_FAIL("validators: at most %d validators are allowed",
                 CAIRN_VALIDATORS_MAX);
  }
  for (unsigned i = 0; i < n; i++) {
    CAIRN_TRY(json_get_validator(json_array_get(a, i), i, &vs->v[i], why,
                                 why_cap));
    /* Duplicates are found before sorting so the message can name both
     * entries as the operator wrote them. */
    for (unsigned j = 0; j < i; j++) {
      if (memcmp(vs->v[j].pubkey, vs->v[i].pubkey,
                 CAIRN_ED25519_PUBKEY_BYTES) == 0) {
        GENESIS_FAIL("validators[%u].pubkey: duplicate of validators[%u]", i,
                     j);
      }
    }
  }
  vs->n = (uint32_t)n;
  qsort(vs->v, n, sizeof vs->v[0], genesis_validator_cmp);
  return CAIRN_OK;
}

static cairn_err json_get_brands(const json_t *a, cairn_genesis *g, char *why,
                                 size_t why_cap) {
  if (!json_is_array(a)) GENESIS_FAIL("brands: expected an array");
  size_t n = json_array_size(a);
  if (n == 0) GENESIS_FAIL("brands: at least one brand is required");
  if (n > CAIRN_BRANDS_MAX) {
    GENESIS_FAIL("brands: at most %d brands are allowed", CAIRN_BRANDS_MAX);
  }
  for (unsigned i = 0; i < n; i++) {
    CAIRN_TRY(json_get_brand(json_array_get(a, i), i, &g->brands[i], why,
                             why_cap));
  }
  g->n_brands = (uint16_t)n;
  return CAIRN_OK;
}

static cairn_err genesis_from_root(cairn_genesis *g, const json_t *root,
                                   char *why, size_t why_cap) {
  static const char *const known[] = {"chain_id", "genesis_time_ms", "brands",
                                      "validators", "staking", "stake", NULL};
  if (!json_is_object(root)) GENESIS_FAIL("genesis: expected a JSON object");
  CAIRN_TRY(json_check_keys(root, known, "", why, why_cap));
  g->version = CAIRN_GENESIS_VERSION;
  CAIRN_TRY(json_get_name(root, "", "chain_id", false, g->chain_id,
                          &g->chain_id_len, why, why_cap));
  CAIRN_TRY(json_get_uint(root, "", "genesis_time_ms", UINT64_MAX, &g->time_ms,
                          why, why_cap));
  const json_t *brands = json_object_get(root, "brands");
  if (brands == NULL) GENESIS_FAIL("brands: missing");
  CAIRN_TRY(json_get_brands(brands, g, why, why_cap));
  const json_t *validators = json_object_get(root, "validators");
  if (validators == NULL) GENESIS_FAIL("validators: missing");
  CAIRN_TRY(json_get_validators(validators, &g->validators, why, why_cap));
  CAIRN_TRY(json_get_staking(root, &g->staking, why, why_cap));
  CAIRN_TRY(json_get_stake(root, g, why, why_cap));
  return cairn_genesis_check(g, why, why_cap);
}

cairn_err cairn_genesis_from_json(cairn_genesis *g, const char *text,
                                  size_t len, char *why, size_t why_cap) {
  json_error_t jerr;
  assert(g != NULL && text != NULL && (why != NULL || why_cap == 0));
  memset(g, 0, sizeof *g);
  genesis_why(why, why_cap, "ok");
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    genesis_why(why, why_cap, "line %d column %d: %s", jerr.line, jerr.column,
                jerr.text);
    return CAIRN_ERR_JSON;
  }
  cairn_err err = genesis_from_root(g, root, why, why_cap);
  json_decref(root);
  if (err != CAIRN_OK) memset(g, 0, sizeof *g);
  return err;
}

/* ---- JSON form: rendering ---- */

static json_t *genesis_json_validator(const cairn_validator *v) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = json_object_set_new(o, "name", json_stringn(v->name, v->name_len))
            == 0;
  ok &= json_object_set_new(o, "pubkey",
                            cairn_json_hex(v->pubkey,
                                           CAIRN_ED25519_PUBKEY_BYTES)) == 0;
  /* power <= 2^60 always fits a JSON integer. */
  ok &= json_object_set_new(o, "power", json_integer((json_int_t)v->power))
        == 0;
  static const uint8_t none[CAIRN_PUBKEY_BYTES];
  if (memcmp(v->operator_key, none, CAIRN_PUBKEY_BYTES) != 0)
    ok &= json_object_set_new(o, "operator",
                              cairn_json_address(v->operator_key)) == 0;
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* A u64 as a JSON integer when it fits one, else a decimal string (both
 * read back by cairn_json_get_u64). */
static json_t *genesis_json_uint(uint64_t v) {
  return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v)
                                  : cairn_json_u64(v);
}

static json_t *genesis_json_staking(const cairn_genesis *g) {
  cairn_staking_params p;
  cairn_genesis_staking_params(g, &p);
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = json_object_set_new(o, "valset_delay_blocks",
                                genesis_json_uint(p.valset_delay_blocks)) == 0;
  ok &= json_object_set_new(o, "unbonding_blocks",
                            genesis_json_uint(p.unbonding_blocks)) == 0;
  ok &= json_object_set_new(o, "evidence_max_age_blocks",
                            genesis_json_uint(p.evidence_max_age_blocks)) == 0;
  ok &= json_object_set_new(o, "slash_percent",
                            json_integer(p.slash_percent)) == 0;
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *genesis_json_stake(const cairn_stake_alloc *a) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = json_object_set_new(o, "account", cairn_json_address(a->account))
            == 0;
  ok &= json_object_set_new(o, "amount", genesis_json_uint(a->amount)) == 0;
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

/* The staking parameters always, the stake array when there is any. */
static bool genesis_json_add_staking(json_t *root, const cairn_genesis *g) {
  bool ok = json_object_set_new(root, "staking", genesis_json_staking(g)) == 0;
  if (!ok || g->n_stake == 0) return ok;
  json_t *stake = json_array();
  ok = stake != NULL;
  for (unsigned i = 0; ok && i < g->n_stake; i++)
    ok = json_array_append_new(stake, genesis_json_stake(&g->stake[i])) == 0;
  if (ok) ok = json_object_set(root, "stake", stake) == 0;
  json_decref(stake);
  return ok;
}

static json_t *genesis_json(const cairn_genesis *g) {
  json_t *root = json_object(), *brands = json_array(), *vals = json_array();
  bool ok = root != NULL && brands != NULL && vals != NULL;
  for (unsigned i = 0; ok && i < g->n_brands; i++) {
    ok = json_array_append_new(brands, cairn_json_brand(&g->brands[i])) == 0;
  }
  for (unsigned i = 0; ok && i < g->validators.n; i++) {
    ok = json_array_append_new(
             vals, genesis_json_validator(&g->validators.v[i])) == 0;
  }
  /* time_ms above 2^63 - 1 is written as a decimal string, which
   * cairn_json_get_u64 reads back. */
  json_t *time = g->time_ms <= (uint64_t)INT64_MAX
                     ? json_integer((json_int_t)g->time_ms)
                     : cairn_json_u64(g->time_ms);
  if (ok) {
    ok = json_object_set_new(root, "chain_id",
                             json_stringn(g->chain_id, g->chain_id_len)) == 0;
    ok &= json_object_set_new(root, "genesis_time_ms", time) == 0;
    ok &= json_object_set(root, "brands", brands) == 0;
    ok &= json_object_set(root, "validators", vals) == 0;
    ok &= genesis_json_add_staking(root, g);
  } else {
    json_decref(time);
  }
  json_decref(brands);
  json_decref(vals);
  if (!ok) {
    json_decref(root);
    return NULL;
  }
  return root;
}

cairn_err cairn_genesis_to_json(const cairn_genesis *g, char **out) {
  assert(g != NULL && out != NULL);
  assert(g->n_brands <= CAIRN_BRANDS_MAX);
  assert(g->validators.n <= CAIRN_VALIDATORS_MAX);
  *out = NULL;
  json_t *root = genesis_json(g);
  if (root == NULL) return CAIRN_ERR_NOMEM;
  *out = json_dumps(root, JSON_INDENT(2));
  json_decref(root);
  return *out != NULL ? CAIRN_OK : CAIRN_ERR_NOMEM;
}

cairn_err cairn_genesis_load(cairn_genesis *g, const char *path, char *why,
                             size_t why_cap) {
  char *text;
  size_t len;
  assert(g != NULL && path != NULL && (why != NULL || why_cap == 0));
  memset(g, 0, sizeof *g);
  cairn_err err =
      cairn_file_read_all(path, CAIRN_GENESIS_FILE_BYTES_MAX, &text, &len);
  if (err != CAIRN_OK) {
    genesis_why(why, why_cap, "%s: %s", path, cairn_strerror(err));
    return err;
  }
  err = cairn_genesis_from_json(g, text, len, why, why_cap);
  free(text);
  return err;
}

/* ---- lookups ---- */

const cairn_brand *cairn_genesis_brand_by_id(const cairn_genesis *g,
                                             uint32_t id) {
  assert(g != NULL && g->n_brands <= CAIRN_BRANDS_MAX);
  /* Brands ascend strictly by id (cairn_genesis_check). */
  size_t lo = 0, hi = g->n_brands;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (g->brands[mid].id == id) return &g->brands[mid];
    if (g->brands[mid].id < id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return NULL;
}

const cairn_brand *cairn_genesis_brand_by_name(const cairn_genesis *g,
                                               const char *name) {
  assert(g != NULL && name != NULL && g->n_brands <= CAIRN_BRANDS_MAX);
  for (unsigned i = 0; i < g->n_brands; i++) {
    if (strcmp(g->brands[i].name, name) == 0) return &g->brands[i];
  }
  return NULL;
}
