/*
 * cairn/json.h - JSON renderings shared by the node's API and the wallet.
 *
 * Conventions (specs/api.md): hashes, ids and raw bytes are lowercase hex;
 * member and brand keys are addresses (cairn1...); validator keys are hex;
 * amounts and other u64 quantities that can exceed 2^53 are decimal strings
 * ("amount": "100") so that no client loses precision; heights, counts and
 * times are JSON integers. References and labels are strings when they are
 * printable UTF-8, else hex with a "_hex" suffix on the field name.
 */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cairn/block.h"
#include "cairn/error.h"
#include "cairn/evidence.h"
#include "cairn/genesis.h"
#include "cairn/state.h"
#include "cairn/tx.h"

/* Each returns a new reference, or NULL on allocation failure. */
json_t *cairn_json_hex(const uint8_t *p, size_t n);
json_t *cairn_json_u64(uint64_t v); /* decimal string */
json_t *cairn_json_address(const uint8_t pk[32]);
json_t *cairn_json_tx(const cairn_tx *tx, const uint8_t txid[32]);
/* What duplicate-vote evidence proves: {"validator" (hex), "height",
 * "round", "type" ("prevote" / "precommit"), "block_hash_a",
 * "block_hash_b"} (a < b). A decoded EVIDENCE transaction carries it as
 * "offence" beside the "evidence" hex. */
json_t *cairn_json_evidence(const cairn_evidence *e);
json_t *cairn_json_header(const cairn_block_header *h, const uint8_t hash[32]);
json_t *cairn_json_commit(const cairn_commit *c);
/* status is "active", "redeemed" or "expired" (expired when tip_height >
 * expiry_height and not redeemed). */
json_t *cairn_json_coupon(const cairn_coupon *c, uint64_t tip_height);
/* {"id", "name", "issuer", "transferable", "policy": {policy}} - the shape
 * genesis JSON accepts back. */
json_t *cairn_json_brand(const cairn_brand *b);
/* {"expiry": "none"|"fixed"|"rolling", "expiry_blocks", "max_issue_per_tx",
 *  "max_issue_per_day" (decimal strings, "0" = no limit),
 *  "accept_by_partners"}. */
json_t *cairn_json_policy(uint8_t flags, const cairn_brand_policy *p);
/* {"id", "brand", "member", "amount", "timeout_height",
 *  "points_expiry_height" (0: the held points never expire)}. */
json_t *cairn_json_hold(const cairn_hold *h);
/* {"id", "from_brand", "to_brand", "rate_num", "rate_den",
 *  "valid_from_height", "valid_until_height", "cap", "signed_by_from",
 *  "signed_by_to", "revoked", "redeemed", "active"}; active at tip_height
 *  + 1 (the next block). */
json_t *cairn_json_agreement(const cairn_agreement *a, uint64_t tip_height);
/* "none", "fixed", "rolling" or "unknown". */
const char *cairn_json_expiry_mode_name(uint8_t mode);
/* {"brand", "issued", "redeemed_home", "redeemed_partner", "expired",
 *  "reversed", "held", "outstanding"}; amounts as decimal strings,
 * outstanding = issued minus every outflow (the brand's liability, equal to
 * its balances plus held by conservation; "0" if the record is
 * inconsistent rather than wrapping). */
json_t *cairn_json_brand_stats(uint32_t brand, const cairn_brand_stats *s);

/* The first key of obj that is not in known[0..n_known), or NULL when every
 * key is known. Strict parsers (genesis, proofs, checkpoints) use it to
 * reject fields they do not understand instead of ignoring them. */
const char *cairn_json_unknown_key(const json_t *obj, const char *const *known,
                                   size_t n_known);

/* Parse a u64 given as a decimal string (canonical: no sign, no leading
 * zeros, no spaces) or as a non-negative JSON integer. CAIRN_ERR_RANGE /
 * CAIRN_ERR_JSON on failure. */
CAIRN_MUST_CHECK cairn_err cairn_json_get_u64(const json_t *v, uint64_t *out);
/* Parse a canonical decimal string into a u64 (same rules). */
CAIRN_MUST_CHECK cairn_err cairn_parse_u64(const char *s, uint64_t *out);

#endif
