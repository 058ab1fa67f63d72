/*
 * cairn/error.h - error codes shared by every Cairn module.
 *
 * Every function that can fail returns a cairn_err; zero is success. The
 * numeric values are stable (they appear in the HTTP API and in logs), and
 * so are the short names returned by cairn_errname(). cairn_strerror() gives
 * a sentence a user can act on.
 *
 * Ranges:   1- 19 generic and system      20- 39 encoding
 *          40- 49 cryptography            50- 59 key files
 *         100-149 transaction rules      150-179 block rules
 *         180-199 storage                200-229 node, API and wallet
 *
 * The list is an X-macro so the enum, the names and the messages cannot
 * drift apart: X(NAME, value, "short_name", "message").
 */
#ifndef CAIRN_ERROR_H
#define CAIRN_ERROR_H

#define CAIRN_MUST_CHECK __attribute__((warn_unused_result))

#define CAIRN_ERRORS(X) \
  X(OK,                    0, "ok", "success") \
  X(NOMEM,                 1, "out_of_memory", "out of memory") \
  X(IO,                    2, "io_error", "input/output error (see the preceding message for the file)") \
  X(ARG,                   3, "invalid_argument", "invalid argument") \
  X(LIMIT,                 4, "limit_exceeded", "a size or count limit was exceeded") \
  X(NOT_FOUND,             5, "not_found", "not found") \
  X(EXISTS,                6, "already_exists", "already exists; refusing to overwrite") \
  X(INTERNAL,              7, "internal_error", "internal error") \
  X(TRUNCATED,            20, "truncated", "input ends before the object is complete") \
  X(TRAILING,             21, "trailing_bytes", "input has bytes after the end of the object") \
  X(NONCANONICAL,         22, "noncanonical", "input is not in canonical form (unsorted, duplicated or non-minimal field)") \
  X(RANGE,                23, "out_of_range", "a field is outside its allowed range") \
  X(OVERSIZE,             24, "oversize", "input is larger than the allowed maximum") \
  X(VERSION,              25, "bad_version", "unsupported format version") \
  X(BAD_TYPE,             26, "bad_type", "unknown object or transaction type") \
  X(HEX,                  27, "bad_hex", "malformed hexadecimal string") \
  X(ADDRESS,              28, "bad_address", "malformed address (expected cairn1...)") \
  X(CHECKSUM,             29, "bad_checksum", "address checksum does not match; check for a typo") \
  X(BAD_PROOF,            30, "bad_proof", "inclusion proof does not verify") \
  X(BAD_SIG,              40, "bad_signature", "signature does not verify") \
  X(BAD_KEY,              41, "bad_key", "invalid public or secret key") \
  X(PASSPHRASE,           50, "wrong_passphrase", "wrong passphrase, or the key file was altered") \
  X(KEYFILE,              51, "bad_keyfile", "malformed key file") \
  X(PERM,                 52, "insecure_permissions", "file is readable by other users; run chmod 600 on it") \
  X(CHAIN_ID,            100, "wrong_chain", "transaction is for a different chain") \
  X(SEQ_GAP,             101, "sequence_gap", "sequence number is ahead of the account's next sequence") \
  X(SEQ_REPLAY,          102, "sequence_replay", "sequence number was already used (replayed transaction)") \
  X(TX_EXPIRED,          103, "tx_expired", "transaction expired: its expiry height has passed") \
  X(INSUFFICIENT,        104, "insufficient_balance", "insufficient balance for this amount") \
  X(UNKNOWN_BRAND,       105, "unknown_brand", "no brand with this id exists on this chain") \
  X(NOT_ISSUER,          106, "not_issuer", "only the brand's issuer key may do this") \
  X(NOT_TRANSFERABLE,    107, "not_transferable", "this brand's points are not transferable between members") \
  X(ZERO_AMOUNT,         108, "zero_amount", "amount must be at least 1") \
  X(OVERFLOW,            109, "overflow", "amount would overflow a 64-bit balance") \
  X(SELF_TRANSFER,       110, "self_transfer", "sender and recipient are the same account") \
  X(COUPON_UNKNOWN,      111, "coupon_unknown", "no coupon with this id exists") \
  X(COUPON_REDEEMED,     112, "coupon_redeemed", "coupon was already redeemed") \
  X(COUPON_EXPIRED,      113, "coupon_expired", "coupon has expired") \
  X(COUPON_NOT_OWNER,    114, "coupon_not_owner", "coupon is not owned by the sender") \
  X(COUPON_WRONG_BRAND,  115, "coupon_wrong_brand", "coupon can only be redeemed at the brand that issued it") \
  X(COUPON_EXISTS,       116, "coupon_exists", "a coupon with this id already exists") \
  X(COUPON_NOT_TRANSFERABLE, 117, "coupon_not_transferable", "coupon is marked non-transferable") \
  X(DUPLICATE_TX,        118, "duplicate_tx", "transaction is already pending or committed") \
  X(DUPLICATE_REF,       119, "duplicate_ref", "duplicate client reference: this transaction was already submitted") \
  X(ISSUE_LIMIT_TX,      120, "issue_limit_tx", "amount exceeds the brand's maximum issue per transaction (its asset policy)") \
  X(ISSUE_LIMIT_DAY,     121, "issue_limit_day", "issue would exceed the brand's maximum issue for this day (its asset policy)") \
  X(HOLD_UNKNOWN,        122, "hold_unknown", "no open hold with this id (it was captured, released or timed out)") \
  X(HOLD_AMOUNT,         123, "hold_amount", "capture amount exceeds the held amount") \
  X(HOLD_ACTIVE,         124, "hold_active", "the hold has not timed out: before its timeout height only the brand can release it") \
  X(HOLD_TIMEOUT,        125, "hold_timeout", "hold timeout height is already in the past") \
  X(ISSUE_UNKNOWN,       126, "issue_unknown", "no ISSUE transaction with this id exists") \
  X(REVERSE_EXCEEDS,     127, "reverse_exceeds", "reversal exceeds what the issue credited minus what was already reversed") \
  X(AGREEMENT_UNKNOWN,   128, "agreement_unknown", "no exchange agreement with this id for these brands") \
  X(AGREEMENT_REVOKED,   129, "agreement_revoked", "the agreement was revoked; agree on new terms instead") \
  X(AGREEMENT_SIGNED,    130, "agreement_signed", "this brand already signed these terms") \
  X(NOT_ACCEPTED,        131, "not_accepted", "this brand's points are not accepted by other brands (its asset policy)") \
  X(AGREEMENT_INACTIVE,  132, "agreement_inactive", "the agreement is not active: it needs both brands' signatures and the current height inside its validity window") \
  X(AGREEMENT_CAP,       133, "agreement_cap", "the amount would exceed the agreement's cap") \
  X(RATE_TOO_SMALL,      134, "rate_too_small", "amount too small for this rate: it is worth 0 points at the partner brand") \
  X(SETTLE_EXCEEDS,      135, "settle_exceeds", "settlement amount exceeds what the debtor brand owes") \
  X(NOT_OPERATOR,        136, "not_operator", "only the validator's operator key may do this") \
  X(VALIDATOR_UNKNOWN,   137, "validator_unknown", "no validator with this key exists on this chain") \
  X(VALIDATOR_EXISTS,    138, "validator_exists", "a validator with this key already exists (or is already proposed for admission)") \
  X(VALIDATOR_JAILED,    139, "validator_jailed", "the validator is jailed for misbehaviour and cannot take part any more") \
  X(UNBOND_EXCEEDS,      140, "unbond_exceeds", "unbond amount exceeds the validator's bonded stake") \
  X(LAST_VALIDATOR,      141, "last_validator", "refused: the validator set would be left without stake") \
  X(PROPOSAL_UNKNOWN,    142, "proposal_unknown", "no admission proposal with this id exists") \
  X(PROPOSAL_CLOSED,     143, "proposal_closed", "the admission proposal was already decided or is past its deadline") \
  X(ALREADY_APPROVED,    144, "already_approved", "this validator already approved the proposal") \
  X(VALSET_FULL,         145, "valset_full", "the validator set is full (128 validators)") \
  X(EVIDENCE_STALE,      146, "evidence_stale", "the evidence is outside the admissible window (too old, or from a height not yet reached)") \
  X(STAKE_INSUFFICIENT,  147, "stake_insufficient", "insufficient free stake for this amount") \
  X(BAD_HEIGHT,          150, "bad_height", "block height does not follow the chain tip") \
  X(BAD_PREV,            151, "bad_prev_hash", "block does not link to the previous block") \
  X(BAD_TX_ROOT,         152, "bad_tx_root", "block Merkle root does not match its transactions") \
  X(BAD_STATE_HASH,      153, "bad_state_hash", "block state hash does not match the replayed state") \
  X(BAD_VALSET,          154, "bad_validators_hash", "block validator-set hash does not match the set in force") \
  X(BAD_PROPOSER,        155, "bad_proposer", "block proposer is not a validator of this height") \
  X(BAD_COMMIT,          156, "bad_commit", "block commit lacks valid precommits from more than 2/3 of stake") \
  X(BAD_TIME,            157, "bad_time", "block time is not after its parent's") \
  X(BAD_BLOCK_TX,        158, "bad_block_tx", "block contains an invalid transaction") \
  X(VOTE_HEIGHT,         160, "vote_wrong_height", "vote is for a different height than the votes it is counted with") \
  X(VOTE_ROUND,          161, "vote_wrong_round", "vote is for a different round than the votes it is counted with") \
  X(VOTE_TYPE,           162, "vote_wrong_type", "vote is of a different type (prevote/precommit) than the votes it is counted with") \
  X(NOT_VALIDATOR,       163, "not_validator", "the signer is not a member of the validator set in force") \
  X(EQUIVOCATION,        164, "equivocation", "this validator already signed a conflicting vote for the same height, round and type (kept the first; the pair is evidence)") \
  X(EVIDENCE_VALIDATORS, 165, "evidence_validators", "the evidence votes are signed by different validators, so they do not conflict") \
  X(EVIDENCE_MISMATCH,   166, "evidence_mismatch", "the evidence votes differ in height, round or type, so they do not conflict") \
  X(EVIDENCE_SAME_BLOCK, 167, "evidence_same_block", "the evidence votes are for the same block, so they do not conflict") \
  X(DOUBLE_SIGN,         168, "double_sign", "refusing to sign: it would conflict with a message this validator already signed (height, round, step)") \
  X(BAD_PROPOSAL,        169, "bad_proposal", "proposal message is not signed by the proposer of its height and round, or its fields disagree with its block") \
  X(STORE,               180, "store_error", "database error (LMDB)") \
  X(CORRUPT,             181, "corrupt", "stored data is corrupt or inconsistent") \
  X(GENESIS_MISMATCH,    182, "genesis_mismatch", "data directory belongs to a different genesis") \
  X(MAP_FULL,            183, "map_full", "database map is full") \
  X(MEMPOOL_FULL,        200, "mempool_full", "mempool is full; retry later") \
  X(CONFIG,              201, "bad_config", "invalid configuration") \
  X(JSON,                202, "bad_json", "malformed JSON") \
  X(HTTP,                203, "http_error", "HTTP request failed") \
  X(NETWORK,             204, "network_error", "cannot reach the node; is cairnd running at that URL?") \
  X(TIMEOUT,             205, "timeout", "timed out") \
  X(GENESIS,             206, "bad_genesis", "invalid genesis file") \
  X(USAGE,               207, "usage", "invalid command-line usage") \
  X(PEER_AUTH,           208, "peer_auth", "peer authentication failed: unknown node key or bad handshake signature") \
  X(PEER_PROTOCOL,       209, "peer_protocol", "peer broke the protocol (malformed, oversize or unexpected message)") \
  X(PEER_CHAIN,          210, "peer_chain", "peer is on a different chain (genesis hash differs)") \
  X(PEER_RATE,           211, "peer_rate", "peer exceeded its message rate or queue limit")

typedef enum cairn_err {
#define CAIRN_ERR_ENUM_(name, value, short_name, message) CAIRN_ERR_##name = (value),
  CAIRN_ERRORS(CAIRN_ERR_ENUM_)
#undef CAIRN_ERR_ENUM_
} cairn_err;

#define CAIRN_OK CAIRN_ERR_OK

/* A sentence describing the error; never NULL ("unknown error" for values
 * outside the list). */
const char *cairn_strerror(cairn_err err);

/* The stable short name ("insufficient_balance"); never NULL. */
const char *cairn_errname(cairn_err err);

/* Propagate an error: evaluate expr once, return it if not OK. */
#define CAIRN_TRY(expr)                                                        \
  do {                                                                         \
    cairn_err cairn_try_err_ = (expr);                                         \
    if (cairn_try_err_ != CAIRN_OK) return cairn_try_err_;                     \
  } while (0)

#endif
