/*
 * cairn/audit.h - independent verification of a chain, one-shot or
 * continuous.
 *
 * An auditor trusts nothing a node says about itself. It takes the genesis
 * and the blocks with their commits from a *source* - a node's data
 * directory, read-only, or a node's HTTP API - and replays them into a
 * *replica* store of its own with the same code a peer uses to accept a
 * block (cairn_chain_apply_block): every link to the parent, Merkle root,
 * commit (more than 2/3 of the stake of the validator set in force), every
 * transaction's signature and rules, and every state hash. It stops at the
 * first bad block, naming the height, the field and both values.
 *
 * Then it compares what the source claims with what the replay produced:
 * the tip (height, block hash, state hash) and, for a data directory, every
 * record the node derived from the blocks (state tables, indexes), and it
 * builds the report of what every brand owes (report.h), whose own checks
 * (conservation of points, coupons) are part of the verdict.
 *
 * A one-shot audit replays into a scratch replica under $TMPDIR that is
 * removed afterwards. A continuous audit keeps its replica beside a trusted
 * checkpoint (checkpoint.h): each run first demands that the source's
 * history still passes through the checkpoint and through the last block it
 * verified - otherwise it raises an alarm (history rewritten, or the node is
 * behind) - and then verifies only the new blocks. With several sources it
 * verifies each and raises an alarm at the first height where two of them
 * hold different blocks. The checkpoint only ever names a block every source
 * has and every replica verified.
 *
 * A data directory is read by a separate reader process (fork) that opens
 * the store read-only in one LMDB read transaction - a consistent snapshot,
 * safe while the node runs - and passes records over a socket. LMDB does
 * not checksum its pages and trusts its file: a damaged page can make it
 * read outside the map or fail one of its own assertions. In the reader
 * process that ends the reader, not the auditor, which reports the data as
 * corrupt at the height or table it was reading.
 *
 * Signature checks of large blocks run on all cores (chain.h).
 */
#ifndef CAIRN_AUDIT_H
#define CAIRN_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/checkpoint.h"
#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/report.h"
#include "cairn/store.h"

/* Sources one audit may compare (--node given several times). */
#define CAIRN_AUDIT_SOURCES_MAX 4
/* Longest source name kept for messages ("node http://...", "data
 * directory ..."); longer names are cut. */
#define CAIRN_AUDIT_NAME_BYTES 320
/* A continuous audit writes its checkpoint at least every this many
 * verified blocks, so an interrupted catch-up keeps its progress. */
#define CAIRN_AUDIT_CHECKPOINT_EVERY 1000u
/* Longest silence accepted from a data-directory reader: it only reads a
 * local file, so this is a hung reader, not a slow disk. */
#define CAIRN_AUDIT_READER_TIMEOUT_MS 120000

/* ---- sources ---- */

/* The tip a source claims. */
typedef struct cairn_audit_tip {
  uint64_t height;                    /* 0: only genesis */
  uint8_t hash[CAIRN_HASH_BYTES];     /* block hash (genesis hash at 0) */
  uint8_t app_hash[CAIRN_HASH_BYTES]; /* state hash after that block */
} cairn_audit_tip;

/* A source of blocks: a set of callbacks over ctx. Each callback returns
 * CAIRN_OK or an error with a sentence in why (why may be NULL). Errors
 * are read by their code: NOMEM, IO, ARG, STORE, MAP_FULL, INTERNAL,
 * NETWORK, TIMEOUT and HTTP mean the source could not be read (the audit
 * cannot run); any other code is a finding about the source's data (a block
 * that is missing is NOT_FOUND, damaged data is CORRUPT). */
typedef struct cairn_audit_source {
  void *ctx;
  char name[CAIRN_AUDIT_NAME_BYTES];
  /* The genesis document the source serves, checked (its hash is
   * recomputed by the auditor). */
  cairn_err (*genesis)(void *ctx, cairn_genesis *out, char *why,
                       size_t why_cap);
  /* The source's tip; the same answer for the life of the source (a
   * snapshot). */
  cairn_err (*tip)(void *ctx, cairn_audit_tip *out, char *why,
                   size_t why_cap);
  /* Block and commit bytes at height (1 <= height <= tip height). The
   * pointers stay valid until the next call on this source. */
  cairn_err (*block)(void *ctx, uint64_t height, const uint8_t **block,
                     size_t *block_len, const uint8_t **commit,
                     size_t *commit_len, char *why, size_t why_cap);
  /* May be NULL. Compare what the source derived from its blocks with the
   * replica, whose tip is the source's tip; a difference is a finding
   * (CORRUPT) with *table naming where. */
  cairn_err (*compare)(void *ctx, cairn_store *replica, cairn_table *table,
                       char *why, size_t why_cap);
  void (*close)(void *ctx);
} cairn_audit_source;

/* Open a node's data directory as a source (the reader process described
 * above; the directory is never written). Errors (why says why): NOT_FOUND
 * (no store in dir, or no genesis or tip in it), CORRUPT (the stored
 * genesis or tip does not decode, or the reader died reading them), STORE,
 * IO, NOMEM. *out is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_audit_source_datadir(cairn_audit_source *out,
                                                      const char *dir,
                                                      char *why,
                                                      size_t why_cap);
/* Close any source (NULL ctx allowed) and zero it. */
void cairn_audit_source_close(cairn_audit_source *s);

/* ---- running an audit ---- */

typedef struct cairn_audit_progress {
  uint64_t height;      /* the block just verified */
  uint64_t target;      /* the last height this run will verify */
  uint64_t blocks_done; /* verified so far in this run (first source) */
  uint64_t blocks_todo; /* to verify in this run in all */
  uint64_t txs_done;    /* transactions in the blocks verified so far */
  uint64_t elapsed_ms;  /* since the run started */
} cairn_audit_progress;

/* Called after each height; return false to stop after this block (the
 * run then ends with out->interrupted and writes its checkpoint). */
typedef bool (*cairn_audit_progress_fn)(void *ctx,
                                        const cairn_audit_progress *p);

/* Called with each new checkpoint (blocks verified and agreed by every
 * source); a non-OK return stops the run with that error. */
typedef cairn_err (*cairn_audit_checkpoint_fn)(void *ctx,
                                               const cairn_checkpoint *cp);

typedef struct cairn_audit_config {
  cairn_audit_source *sources; /* 1..CAIRN_AUDIT_SOURCES_MAX, opened */
  size_t n_sources;
  /* NULL: scratch replicas, removed afterwards. Otherwise the first
   * source's replica lives in this directory (created, mode 0700) and the
   * i-th in "<dir>-<i>"; they are kept for the next run. */
  const char *replica_dir;
  /* The trusted checkpoint, or NULL (first run). */
  const cairn_checkpoint *checkpoint;
  cairn_audit_checkpoint_fn on_checkpoint; /* may be NULL */
  void *checkpoint_ctx;
  cairn_audit_progress_fn progress; /* may be NULL */
  void *progress_ctx;
  unsigned verify_threads; /* 0: every online CPU */
  /* The first source's report: zeroed memory, or the report of an
   * earlier run, which is extended (and started afresh when it does not
   * fit the replica). NULL: the run builds and checks a private one. */
  cairn_report *report;
} cairn_audit_config;

typedef enum cairn_audit_alarm {
  CAIRN_AUDIT_ALARM_NONE = 0,
  CAIRN_AUDIT_ALARM_REWRITTEN = 1, /* a verified block was replaced */
  CAIRN_AUDIT_ALARM_BEHIND = 2,    /* the tip is below a verified height */
  CAIRN_AUDIT_ALARM_FORK = 3,      /* two sources hold different blocks */
  CAIRN_AUDIT_ALARM_CHAIN = 4      /* another chain than the checkpoint's */
} cairn_audit_alarm;

typedef struct cairn_audit_lane_result {
  char name[CAIRN_AUDIT_NAME_BYTES];
  cairn_audit_tip tip;   /* what the source claimed */
  uint64_t from_height;  /* first height verified in this run; 0: none */
  uint64_t verified;     /* blocks verified in this run */
  uint64_t txs;          /* transactions in them */
  uint64_t verified_tip; /* the replica's height after the run */
} cairn_audit_lane_result;

typedef struct cairn_audit_result {
  bool ok;                  /* every check passed */
  bool interrupted;         /* the progress callback stopped the run */
  cairn_err failure;        /* when a check failed: its error */
  uint64_t failed_height;   /* ... at this block (0: not a block) */
  cairn_table failed_table; /* ... or in this table (0: none) */
  size_t failed_source;     /* ... of this source */
  cairn_audit_alarm alarm;  /* when an alarm was raised */
  uint64_t alarm_height;
  size_t alarm_source;         /* the source that disagrees */
  size_t alarm_other;          /* FORK: the source it disagrees with */
  uint8_t alarm_expected[CAIRN_HASH_BYTES]; /* checkpoint / other source */
  uint8_t alarm_found[CAIRN_HASH_BYTES];    /* what the source has */
  char chain_id[CAIRN_CHAIN_ID_BYTES_MAX + 1];
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  uint64_t tip_height; /* verified tip of the first source */
  uint8_t tip_hash[CAIRN_HASH_BYTES];
  uint8_t app_hash[CAIRN_HASH_BYTES];
  uint64_t blocks; /* verified in this run (first source) */
  uint64_t txs;
  size_t n_sources;
  cairn_audit_lane_result sources[CAIRN_AUDIT_SOURCES_MAX];
  bool have_checkpoint; /* checkpoint holds the latest one */
  cairn_checkpoint checkpoint;
  uint64_t elapsed_ms;
} cairn_audit_result;

/* Run an audit as configured.
 * Returns CAIRN_OK when the audit could be carried out: out->ok is the
 * verdict; when false, either out->alarm is set (why begins "ALARM: ...")
 * or out->failure is (why holds a sentence such as "height 7: tx_root is
 * ab.., expected cd.." or "table balances, key 01ab..: stored ..., replay
 * ..."), or out->interrupted. Otherwise the error says why the audit could
 * not run (a source could not be read, the replica could not be written,
 * the checkpoint callback failed), with why. out is zeroed first. */
CAIRN_MUST_CHECK cairn_err cairn_audit_run(const cairn_audit_config *cfg,
                                           cairn_audit_result *out,
                                           char *why, size_t why_cap);

/* A one-shot audit of a data directory into a scratch replica; report
 * (NULL, or zeroed memory) receives the report. Returns as
 * cairn_audit_run, and also the errors of cairn_audit_source_datadir. */
CAIRN_MUST_CHECK cairn_err cairn_audit_datadir(const char *dir,
                                               cairn_audit_result *out,
                                               cairn_report *report,
                                               char *why, size_t why_cap);

/* "balances", "tx_index", ... or "unknown". */
const char *cairn_audit_table_name(cairn_table t);

/* The progress line for a terminal, e.g.
 *   "audit: block 1200/50000 (2.4%)  830 blocks/s  41,000 tx/s  ETA 59s"
 * (integer arithmetic; rates and ETA are left out until a millisecond has
 * passed). Returns the length written (truncated to cap - 1). */
size_t cairn_audit_progress_format(char *buf, size_t cap,
                                   const cairn_audit_progress *p);

#endif
