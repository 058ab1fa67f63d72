/*
 * cairn/audit.h - independent verification of a node's data directory.
 *
 * An auditor does not trust the node's state: it replays every stored block
 * from genesis into a fresh, private store, checking each block exactly as a
 * peer would (cairn_chain_apply_block: links, Merkle roots, signatures,
 * rules, commits, state hashes), then compares the replayed tip and every
 * record of every state table (and of the block and transaction indexes the
 * API answers from) with what the node has stored. The first mismatch is
 * reported with the height, or the table and key, where it was found.
 *
 * The node's store is opened read-only and read in one LMDB read
 * transaction, a consistent snapshot, so an audit is safe while the node is
 * running and never changes the directory. The scratch store lives in a new
 * directory under $TMPDIR (or /tmp) and is removed afterwards.
 */
#ifndef CAIRN_AUDIT_H
#define CAIRN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/store.h"

/* Outstanding (issued and not yet redeemed) points of one brand: the sum of
 * every account's balance. */
typedef struct cairn_audit_brand {
  uint32_t id;
  char name[CAIRN_NAME_BYTES_MAX + 1]; /* "" if the brand is not in genesis */
  uint64_t outstanding;
  bool overflow; /* the sum exceeds 2^64-1; outstanding is then the max */
} cairn_audit_brand;

typedef struct cairn_audit_report {
  bool ok;                /* every check passed */
  cairn_err failure;      /* when !ok: the error that stopped the audit */
  uint64_t failed_height; /* when !ok and a block did not replay, else 0 */
  cairn_table failed_table; /* when !ok and a table differs, else 0 */
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1];
  uint64_t blocks;         /* blocks replayed and verified */
  uint64_t txs;            /* transactions in those blocks */
  uint64_t tip_height;     /* the stored tip */
  uint8_t tip_hash[CAIRN_HASH_BYTES];
  uint8_t app_hash[CAIRN_HASH_BYTES]; /* the stored state hash at the tip */
  uint32_t n_brands;
  cairn_audit_brand brands[CAIRN_BRANDS_MAX];
  uint64_t elapsed_ms;
} cairn_audit_report;

/* Called after each replayed block. */
typedef void (*cairn_audit_progress_fn)(void *ctx, uint64_t height,
                                        uint64_t tip_height);

/* Audit the store in dir (a node's data directory).
 *
 * Returns CAIRN_OK when the audit could be carried out; out->ok then says
 * whether the data passed. When it did not, out->failure is the error (a
 * block error of error.h, NOT_FOUND for a missing block or commit, CORRUPT
 * for a tip or table that differs from the replay), out->failed_height or
 * out->failed_table says where, and why holds a sentence such as
 * "height 7: tx_root is ab.., recomputed cd.." or "table balances, key
 * 01ab..: stored 0000000000000064, replay 0000000000000046". The brand
 * totals are filled only when ok.
 * Errors (the audit could not run; why says why): NOT_FOUND (no store in
 * dir, or no genesis or tip in it), CORRUPT (the stored genesis does not
 * decode), IO (scratch directory), STORE, NOMEM.
 * progress may be NULL. out is zeroed first. */
CAIRN_MUST_CHECK cairn_err cairn_audit_datadir_progress(
    const char *dir, cairn_audit_progress_fn progress, void *progress_ctx,
    cairn_audit_report *out, char *why, size_t why_cap);

/* The same without progress reports. */
CAIRN_MUST_CHECK cairn_err cairn_audit_datadir(const char *dir,
                                               cairn_audit_report *out,
                                               char *why, size_t why_cap);

/* "balances", "tx_index", ... or "unknown". */
const char *cairn_audit_table_name(cairn_table t);

#endif
