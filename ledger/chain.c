/*
 * ledger/chain.c - the chain: genesis, block building and block application.
 *
 * A chain binds a store to its genesis and remembers the tip (height, block
 * hash, app hash, time) so that building or checking the next block needs no
 * extra reads. Every block reaches the store by one of three paths, and all
 * end in a single atomic store commit of block, commit, indexes, state
 * changes and new tip:
 *
 *   propose -> commit_proposal: the proposer runs candidate transactions in
 *     order on a fresh view of the tip, their signatures checked on the
 *     verifier threads as for apply_block (below), a window of as many
 *     candidates as could still fit the block at a time. A candidate that
 *     does not decode, whose signature fails, or that breaks a rule is
 *     reported and skipped; because cairn_state_apply_tx() rolls back its
 *     own changes, skipping needs no undo here. The proposal keeps its
 *     view, so committing it (once validators have signed) executes
 *     nothing again.
 *
 *   apply_block: a block from elsewhere (a peer, a replay) is checked
 *     completely, cheapest and most telling checks first: decoding, chain id,
 *     height, link to the parent, time, validator-set hash, proposer, state
 *     hash, Merkle root, the commit's signatures and stake, the proposer of
 *     the commit's round, and finally every transaction's form, signature
 *     and rules. Any failure writes a sentence naming the height, the field
 *     and both values, and nothing is stored.
 *
 * Signature checks dominate the cost of applying a block (a Schnorr
 * verification is some fifty microseconds; executing the transaction is a
 * few hash-table operations), and unlike execution they are independent of
 * each other. So the transactions of a large block are decoded and
 * verified on helper threads, in chunks of CHAIN_VERIFY_CHUNK taken in
 * order from a shared counter, each thread writing its results (decoded
 * transaction, error) into its own chunk's slots, while the calling thread
 * executes them in order, each as soon as its chunk is done; when the next
 * one is not done, the calling thread checks the lowest chunk nobody has
 * taken rather than wait, so no CPU idles while execution waits for
 * checks or checks wait for execution. The in-order loop reports the first
 * transaction whose decoding, signature or rules fail, exactly as checking
 * them one at a time would: the lowest position wins, whatever order the
 * threads finished in. Helpers are started per block (per window of
 * candidates when proposing) and joined before the block's end work, also
 * when it fails early; a helper that cannot be started leaves its chunks to
 * the other threads.
 *
 * A node would otherwise check each transaction twice: on admission to its
 * mempool and in the block. The chain keeps a bounded cache of txids whose
 * bytes passed decoding (recipient keys included) and the signature
 * (cache.h; the mempool fills it too): bytes found there are only decoded.
 * That is sound because both checks are pure functions of the bytes, which
 * the txid (SHA-256) names. A second cache keeps parsed public keys, so
 * the few issuers behind most transactions are lifted onto the curve once.
 *
 *   check_proposal -> commit_proposal: a block proposed in a consensus
 *     round is checked like apply_block but before there is a commit (it
 *     must have been built by the proposer of that round or of an earlier
 *     one), and kept with its
 *     executed view, so committing it later runs nothing again.
 *
 * Every path runs the same block work on the block's view: the state's
 * block-start work, the transactions, then the staking block-end work
 * (validator-set changes due at the next height, staking.h) before the
 * state hash. After each commit the chain re-reads the set in force for
 * the next block and its epoch from the committed state; if that read
 * fails the block is stored all the same and the chain reloads the set
 * before its next use, so nothing is ever checked against a stale set.
 *
 * The proposer of (tip + 1, round r) is the set's rotation counted from its
 * epoch (specs/consensus.md §7). The chain keeps the rotation state of
 * (tip + 1, round 0), one step further per committed block and restarted
 * when the epoch moves; round r is a copy advanced r steps, reduced modulo
 * the total power (the rotation's period). A block is accepted only if it
 * was built by the proposer of its commit's round or of an earlier round
 * of the same height (a later proposer may re-propose an earlier round's
 * block unchanged, the paper's line 14); this is checked after the
 * commit's signatures so that a forged round costs nothing.
 *
 * The state hash carried in a block header is the app hash after its parent
 * (as in Tendermint); the app hash after the block is computed from the
 * block's change digest (state.h), so divergent replays are caught at the
 * next block at the latest.
 *
 * Errors that are not the block's fault (out of memory, a store failure,
 * corrupt stored state) abort propose and apply with their own codes rather
 * than rejecting a transaction or a block that may well be valid.
 */
#include "cairn/chain.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/encoding.h"
#include "cairn/merkle.h"
#include "cairn/proposer.h"
#include "cairn/staking.h"
#include "cairn/state.h"
#include "cairn/tx.h"

#define CHAIN_META_GENESIS "genesis"
#define CHAIN_HEX_HASH (2 * CAIRN_HASH_BYTES + 1)
/* A block's var32 length prefix per transaction. */
#define CHAIN_TX_PREFIX_BYTES 4u
/* Each verifying thread gets at least this many transactions. */
#define CHAIN_VERIFY_SHARE_MIN 32u
/* Threads take transactions to check in chunks of this many: small enough
 * that the executing thread seldom waits for a chunk, large enough that
 * the lock is taken a few hundred times per full block. */
#define CHAIN_VERIFY_CHUNK 16u
#define CHAIN_VERIFY_CHUNKS_MAX                                                \
  ((CAIRN_BLOCK_TXS_MAX + CHAIN_VERIFY_CHUNK - 1) / CHAIN_VERIFY_CHUNK)

_Static_assert(CAIRN_CHAIN_VERIFY_PARALLEL_MIN >= 2 * CHAIN_VERIFY_SHARE_MIN,
               "a parallel block gives every thread a fair share");

struct cairn_chain {
  cairn_store *store;
  cairn_genesis genesis;
  uint8_t genesis_hash[CAIRN_HASH_BYTES];
  cairn_valset valset; /* in force for the next block */
  uint8_t valset_hash[CAIRN_HASH_BYTES];
  uint64_t epoch; /* height from which valset has been in force */
  bool stale;     /* valset could not be re-read: reload before use */
  /* Proposer rotation at (tip + 1, round 0): the initial state of valset
   * advanced (tip + 1 - epoch) steps, reduced modulo its total power. */
  cairn_proposer_state prop;
  cairn_tip tip;
  unsigned verify_threads; /* 0: online CPUs */
  cairn_cache *tx_cache;   /* txids of bytes that decoded and verified */
  cairn_cache *key_cache;  /* parsed x-only keys (sig.h) */
};

/* ---- small helpers ---- */

static void chain_hex(char out[CHAIN_HEX_HASH], const uint8_t h[32]) {
  cairn_hex_encode(out, CHAIN_HEX_HASH, h, CAIRN_HASH_BYTES);
}

/* Failures of our own making (store, memory, corrupt state) as opposed to a
 * transaction or block that breaks a rule. */
static bool chain_is_system_err(cairn_err err) {
  return err == CAIRN_ERR_NOMEM || err == CAIRN_ERR_STORE ||
         err == CAIRN_ERR_CORRUPT || err == CAIRN_ERR_INTERNAL ||
         err == CAIRN_ERR_IO || err == CAIRN_ERR_MAP_FULL;
}

__attribute__((format(printf, 4, 5))) static cairn_err
chain_fail(char *why, size_t why_cap, cairn_err err, const char *fmt, ...) {
  if (why != NULL && why_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_cap, fmt, ap);
    va_end(ap);
  }
  return err;
}

static void chain_exec_ctx(const cairn_chain *c, cairn_exec_ctx *ctx,
                           uint64_t height, uint64_t time_ms) {
  ctx->chain_id = (const uint8_t *)c->genesis.chain_id;
  ctx->chain_id_len = c->genesis.chain_id_len;
  ctx->height = height;
  ctx->time_ms = time_ms;
}

/* Signature checks of a list of raw transactions, running on helper
 * threads while the calling thread executes them in order (below). */
typedef struct chain_verifier {
  const cairn_slice *txs;
  uint8_t (*txids)[CAIRN_HASH_BYTES]; /* computed here unless txids_known */
  bool txids_known;
  cairn_cache *tx_cache, *key_cache;
  cairn_tx *decoded; /* valid where tx_err is OK, once the chunk is done */
  cairn_err *tx_err; /* decode or signature error */
  size_t n, chunks;
  size_t next; /* first chunk nobody has taken (under mu) */
  bool done[CHAIN_VERIFY_CHUNKS_MAX]; /* chunk checked (under mu) */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* a chunk was done */
  size_t helpers;
  pthread_t tids[CAIRN_CHAIN_VERIFY_THREADS_MAX];
  bool started[CAIRN_CHAIN_VERIFY_THREADS_MAX];
} chain_verifier;

static void chain_verifier_start(chain_verifier *v, const cairn_chain *c,
                                 const cairn_slice *txs, size_t n,
                                 uint8_t (*txids)[CAIRN_HASH_BYTES],
                                 bool txids_known, cairn_tx *decoded,
                                 cairn_err *tx_err);
static void chain_verifier_wait(chain_verifier *v, size_t i);
static void chain_verifier_stop(chain_verifier *v);

/* ---- open ---- */

/* Point the cached proposer state at (tip + 1, round 0): the rotation of
 * the set in force restarts at its epoch and repeats with period
 * total_power (specs/consensus.md §3), so (tip + 1 - epoch) steps reduce
 * modulo that period. */
static void chain_prop_reset(cairn_chain *c) {
  assert(c->epoch >= 1 && c->epoch <= c->tip.height + 1);
  cairn_proposer_init(&c->prop, &c->valset);
  uint64_t steps = c->tip.height + 1 - c->epoch;
  cairn_proposer_advance(&c->prop, steps % c->valset.total_power);
}

/* Read the set in force for tip + 1 and its epoch from the committed
 * state (staking.h), and point the proposer rotation at (tip + 1, round
 * 0): restarted when the epoch moved, else one step on. On failure the
 * chain is marked stale and every later operation retries first, so a
 * block is never checked against an outdated set. */
static cairn_err chain_load_valset(cairn_chain *c, bool fresh) {
  cairn_view *v = NULL;
  uint64_t old_epoch = c->epoch;
  c->stale = true;
  CAIRN_TRY(cairn_view_open(&v, c->store));
  cairn_err err = cairn_staking_valset(v, &c->valset, &c->epoch);
  cairn_view_close(v);
  if (err == CAIRN_OK && (c->epoch == 0 || c->epoch > c->tip.height + 1))
    err = CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK) return err;
  cairn_valset_hash(c->valset_hash, &c->valset);
  if (fresh || c->epoch != old_epoch) chain_prop_reset(c);
  else cairn_proposer_advance(&c->prop, 1);
  c->stale = false;
  return CAIRN_OK;
}

/* Retry a failed load before using the set. */
static cairn_err chain_ready(cairn_chain *c) {
  return c->stale ? chain_load_valset(c, true) : CAIRN_OK;
}

/* Initialise an empty store from g: write the genesis bytes, its state and
 * the height-0 tip. */
static cairn_err chain_init_genesis(cairn_chain *c, const cairn_genesis *g) {
  char why[256];
  uint8_t app_hash[CAIRN_HASH_BYTES];
  size_t len = 0;
  cairn_view *v = NULL;
  c->genesis = *g;
  CAIRN_TRY(cairn_genesis_check(&c->genesis, why, sizeof why));
  uint8_t *bytes = malloc(CAIRN_GENESIS_BYTES_MAX);
  if (bytes == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err =
      cairn_genesis_encode(bytes, CAIRN_GENESIS_BYTES_MAX, &len, &c->genesis);
  if (err == CAIRN_OK) err = cairn_genesis_hash(c->genesis_hash, &c->genesis);
  if (err == CAIRN_OK) err = cairn_view_open(&v, c->store);
  if (err == CAIRN_OK) err = cairn_state_apply_genesis(v, &c->genesis);
  if (err == CAIRN_OK)
    err = cairn_state_hash_next(app_hash, c->genesis_hash, v);
  if (err == CAIRN_OK)
    err = cairn_store_commit_genesis(c->store, bytes, len, c->genesis_hash, v,
                                     app_hash, c->genesis.time_ms);
  cairn_view_close(v);
  free(bytes);
  if (err != CAIRN_OK) return err;
  c->tip.height = 0;
  memcpy(c->tip.hash, c->genesis_hash, CAIRN_HASH_BYTES);
  memcpy(c->tip.app_hash, app_hash, CAIRN_HASH_BYTES);
  c->tip.time_ms = c->genesis.time_ms;
  return CAIRN_OK;
}

/* Read the tip and the stored genesis in one snapshot. NOT_FOUND: no tip. */
static cairn_err chain_read_stored(cairn_chain *c, bool *have_tip) {
  cairn_rtxn *r = NULL;
  const uint8_t *g = NULL;
  size_t glen = 0;
  *have_tip = false;
  CAIRN_TRY(cairn_store_read_begin(c->store, &r));
  cairn_err err = cairn_store_tip(r, &c->tip);
  if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_store_read_end(r);
    return CAIRN_OK;
  }
  if (err == CAIRN_OK)
    err = cairn_store_get(r, CAIRN_T_META, (const uint8_t *)CHAIN_META_GENESIS,
                          strlen(CHAIN_META_GENESIS), &g, &glen);
  if (err == CAIRN_ERR_NOT_FOUND) err = CAIRN_ERR_CORRUPT; /* tip, no genesis */
  if (err == CAIRN_OK && cairn_genesis_decode(&c->genesis, g, glen) != CAIRN_OK)
    err = CAIRN_ERR_CORRUPT;
  cairn_store_read_end(r);
  *have_tip = err == CAIRN_OK;
  return err;
}

/* The store has a tip: check its genesis against g (when given). */
static cairn_err chain_check_stored(cairn_chain *c, const cairn_genesis *g) {
  CAIRN_TRY(cairn_genesis_hash(c->genesis_hash, &c->genesis));
  if (c->tip.height == 0 &&
      memcmp(c->tip.hash, c->genesis_hash, CAIRN_HASH_BYTES) != 0)
    return CAIRN_ERR_CORRUPT;
  if (g == NULL) return CAIRN_OK;
  uint8_t want[CAIRN_HASH_BYTES];
  CAIRN_TRY(cairn_genesis_hash(want, g));
  if (memcmp(want, c->genesis_hash, CAIRN_HASH_BYTES) != 0)
    return CAIRN_ERR_GENESIS_MISMATCH;
  return CAIRN_OK;
}

cairn_err cairn_chain_open(cairn_chain **out, cairn_store *store,
                           const cairn_genesis *g) {
  bool have_tip = false;
  *out = NULL;
  cairn_chain *c = calloc(1, sizeof *c);
  if (c == NULL) return CAIRN_ERR_NOMEM;
  c->store = store;
  cairn_err err =
      cairn_cache_new(&c->tx_cache, CAIRN_CHAIN_TX_CACHE_ENTRIES, 0);
  if (err == CAIRN_OK)
    err = cairn_cache_new(&c->key_cache, CAIRN_CHAIN_KEY_CACHE_ENTRIES,
                          CAIRN_SIG_PARSED_KEY_BYTES);
  if (err == CAIRN_OK) err = chain_read_stored(c, &have_tip);
  if (err == CAIRN_OK) {
    if (have_tip) err = chain_check_stored(c, g);
    else if (g != NULL) err = chain_init_genesis(c, g);
    else err = CAIRN_ERR_NOT_FOUND;
  }
  if (err == CAIRN_OK) err = chain_load_valset(c, true);
  if (err != CAIRN_OK) {
    cairn_chain_close(c);
    return err;
  }
  *out = c;
  return CAIRN_OK;
}

void cairn_chain_close(cairn_chain *c) {
  if (c == NULL) return;
  cairn_cache_free(c->tx_cache);
  cairn_cache_free(c->key_cache);
  free(c);
}

cairn_cache *cairn_chain_tx_cache(const cairn_chain *c) {
  assert(c != NULL);
  return c->tx_cache;
}

cairn_cache *cairn_chain_key_cache(const cairn_chain *c) {
  assert(c != NULL);
  return c->key_cache;
}

void cairn_chain_set_verify_threads(cairn_chain *c, unsigned threads) {
  assert(c != NULL);
  c->verify_threads = threads > CAIRN_CHAIN_VERIFY_THREADS_MAX
                          ? CAIRN_CHAIN_VERIFY_THREADS_MAX
                          : threads;
}

unsigned cairn_chain_verify_threads(const cairn_chain *c) {
  if (c->verify_threads != 0) return c->verify_threads;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) return 1;
  if (cpus > CAIRN_CHAIN_VERIFY_THREADS_MAX)
    return CAIRN_CHAIN_VERIFY_THREADS_MAX;
  return (unsigned)cpus;
}

const cairn_genesis *cairn_chain_genesis(const cairn_chain *c) {
  return &c->genesis;
}

const uint8_t *cairn_chain_genesis_hash(const cairn_chain *c) {
  return c->genesis_hash;
}

const cairn_valset *cairn_chain_valset(const cairn_chain *c) {
  return &c->valset;
}

uint64_t cairn_chain_epoch(const cairn_chain *c) { return c->epoch; }

void cairn_chain_proposer(const cairn_chain *c, uint32_t round,
                          uint8_t out[CAIRN_ED25519_PUBKEY_BYTES]) {
  assert(c != NULL && out != NULL);
  cairn_proposer_state st = c->prop;
  cairn_proposer_advance(&st, round % c->valset.total_power);
  cairn_proposer_current(&st, out);
}

cairn_err cairn_chain_valset_at(cairn_chain *c, uint64_t height,
                                cairn_valset *out) {
  assert(c != NULL && out != NULL);
  memset(out, 0, sizeof *out);
  if (height == 0 || height > c->tip.height + 1) return CAIRN_ERR_RANGE;
  CAIRN_TRY(chain_ready(c));
  if (height >= c->epoch) {
    *out = c->valset;
    return CAIRN_OK;
  }
  cairn_view *v = NULL;
  uint64_t epoch = 0;
  CAIRN_TRY(cairn_view_open(&v, c->store));
  cairn_err err = cairn_staking_valset_at(v, height, out, &epoch);
  cairn_view_close(v);
  return err;
}

void cairn_chain_tip(const cairn_chain *c, cairn_tip *out) { *out = c->tip; }

cairn_store *cairn_chain_store(cairn_chain *c) { return c->store; }

/* The in-memory tip after committing a block, and the set for the next
 * one. The block is stored even when the set cannot be re-read (STORE,
 * CORRUPT); the chain then reloads it before its next use. */
static cairn_err chain_advance(cairn_chain *c, const cairn_block_header *h,
                               const uint8_t hash[32],
                               const uint8_t app_hash[32]) {
  assert(h->height == c->tip.height + 1);
  assert(h->time_ms > c->tip.time_ms);
  c->tip.height = h->height;
  memcpy(c->tip.hash, hash, CAIRN_HASH_BYTES);
  memcpy(c->tip.app_hash, app_hash, CAIRN_HASH_BYTES);
  c->tip.time_ms = h->time_ms;
  return chain_load_valset(c, false);
}

/* May pk have built a block decided (or proposed) in `round` of tip + 1?
 * Yes when pk is the proposer of that round or of an earlier one: a
 * Tendermint proposer re-proposes the valid value of an earlier round
 * (the paper's line 14) unchanged, so the block keeps the header, and the
 * proposer, of the round that built it. The rotation repeats every
 * total-power steps, so at most that many rounds are looked at. */
static bool chain_is_proposer(const cairn_chain *c, const uint8_t pk[32],
                              uint32_t round) {
  cairn_proposer_state st = c->prop;
  uint64_t rounds = (uint64_t)round + 1;
  if (rounds > c->valset.total_power) rounds = c->valset.total_power;
  for (uint64_t k = 0; k < rounds; k++) {
    uint8_t who[CAIRN_ED25519_PUBKEY_BYTES];
    if (k > 0) cairn_proposer_advance(&st, 1);
    cairn_proposer_current(&st, who);
    if (memcmp(who, pk, CAIRN_ED25519_PUBKEY_BYTES) == 0) return true;
  }
  return false;
}

/* ---- propose ---- */

static void chain_header_init(const cairn_chain *c, cairn_block_header *h,
                              uint64_t time_ms, const uint8_t proposer[32]) {
  assert(c->tip.time_ms < UINT64_MAX);
  memset(h, 0, sizeof *h);
  h->version = CAIRN_BLOCK_VERSION;
  h->chain_id_len = c->genesis.chain_id_len;
  memcpy(h->chain_id, c->genesis.chain_id, c->genesis.chain_id_len);
  h->height = c->tip.height + 1;
  h->time_ms = time_ms > c->tip.time_ms ? time_ms : c->tip.time_ms + 1;
  memcpy(h->prev_hash, c->tip.hash, CAIRN_HASH_BYTES);
  memcpy(h->state_hash, c->tip.app_hash, CAIRN_HASH_BYTES);
  memcpy(h->proposer, proposer, CAIRN_ED25519_PUBKEY_BYTES);
  memcpy(h->validators_hash, c->valset_hash, CAIRN_HASH_BYTES);
}

/* What a proposal accumulates while candidates run. */
typedef struct chain_fill {
  cairn_slice *txs;   /* included transactions, capacity cap */
  size_t cap;
  size_t count;
  size_t block_bytes; /* encoded block size so far, header included */
  cairn_tx *decoded;  /* scratch for one window of candidates, cap slots */
  cairn_err *tx_err;  /* decode or signature error of each, cap slots */
  uint8_t (*wtxids)[CAIRN_HASH_BYTES]; /* their txids, cap slots */
  chain_verifier *verifier;
} chain_fill;

/* How many candidates from cand on would fit the proposal if every one of
 * them were accepted. Checking that many signatures ahead of execution
 * wastes none on candidates the limits would leave out; an over-long
 * candidate adds no bytes, as decoding will reject it. */
static size_t chain_fill_window(const chain_fill *f, const cairn_slice *cand,
                                size_t n) {
  size_t bytes = f->block_bytes, k = 0;
  while (k < n && f->count + k < f->cap) {
    if (cand[k].len <= CAIRN_TX_BYTES_MAX) {
      size_t grown = bytes + CHAIN_TX_PREFIX_BYTES + cand[k].len;
      if (grown > CAIRN_BLOCK_BYTES_MAX) break;
      bytes = grown;
    }
    k++;
  }
  return k;
}

/* Run candidate `index` (slot k of the checked window) into p->view: its
 * id goes to the next txid slot; included if its decoding, signature and
 * rules pass, else reported. On a rejection the view is unchanged. */
static cairn_err chain_fill_one(cairn_proposal *p, chain_fill *f,
                                const cairn_exec_ctx *ctx,
                                const cairn_slice *raw, size_t k,
                                size_t index, cairn_reject_fn reject,
                                void *reject_ctx) {
  assert(f->count < f->cap);
  uint8_t *txid = p->txids[f->count];
  memcpy(txid, f->wtxids[k], CAIRN_HASH_BYTES);
  cairn_err err = f->tx_err[k];
  if (err == CAIRN_OK)
    err = cairn_state_apply_tx(p->view, ctx, &f->decoded[k], txid);
  if (err != CAIRN_OK && chain_is_system_err(err)) return err;
  if (err != CAIRN_OK) {
    if (reject != NULL) reject(reject_ctx, index, err);
    return CAIRN_OK;
  }
  f->txs[f->count++] = *raw;
  f->block_bytes += CHAIN_TX_PREFIX_BYTES + raw->len;
  assert(f->block_bytes <= CAIRN_BLOCK_BYTES_MAX);
  return CAIRN_OK;
}

/* Run candidates in order into p->view, collecting those that pass. They
 * are taken a window at a time (chain_fill_window): the window's
 * signatures are checked on the verifier threads, then its candidates are
 * executed in order on this thread, so the outcome is the same as checking
 * and running them one by one. Within a window no limit can be reached
 * (rejections only leave more room), so the next window starts where this
 * one ended, and an empty window ends the block. */
static cairn_err chain_fill_txs(const cairn_chain *c, cairn_proposal *p,
                                chain_fill *f, const cairn_exec_ctx *ctx,
                                const cairn_slice *candidates, size_t n,
                                cairn_reject_fn reject, void *reject_ctx) {
  size_t i = 0;
  while (i < n) {
    size_t w = chain_fill_window(f, &candidates[i], n - i);
    if (w == 0) break;
    assert(w <= f->cap);
    chain_verifier *v = f->verifier;
    chain_verifier_start(v, c, &candidates[i], w, f->wtxids, false,
                         f->decoded, f->tx_err);
    cairn_err err = CAIRN_OK;
    for (size_t k = 0; k < w && err == CAIRN_OK; k++, i++) {
      chain_verifier_wait(v, k);
      err = chain_fill_one(p, f, ctx, &candidates[i], k, i, reject,
                           reject_ctx);
    }
    chain_verifier_stop(v);
    CAIRN_TRY(err);
  }
  return CAIRN_OK;
}

/* Root, bytes, hash and app hash of a filled proposal. */
static cairn_err chain_seal(const cairn_chain *c, cairn_proposal *p,
                            const chain_fill *f) {
  assert(f->count <= CAIRN_BLOCK_TXS_MAX);
  assert(f->block_bytes <= CAIRN_BLOCK_BYTES_MAX);
  p->header.tx_count = (uint32_t)f->count;
  CAIRN_TRY(cairn_merkle_root(p->header.tx_root,
                              (const uint8_t(*)[32])p->txids, f->count));
  p->block = malloc(f->block_bytes);
  if (p->block == NULL) return CAIRN_ERR_NOMEM;
  CAIRN_TRY(cairn_block_encode(p->block, f->block_bytes, &p->block_len,
                               &p->header, f->txs));
  assert(p->block_len == f->block_bytes);
  CAIRN_TRY(cairn_block_hash(p->hash, &p->header));
  return cairn_state_hash_next(p->app_hash, c->tip.app_hash, p->view);
}

static cairn_err chain_propose_into(cairn_chain *c, cairn_proposal *p,
                                    const cairn_slice *candidates, size_t n,
                                    uint64_t time_ms, const uint8_t *proposer,
                                    cairn_reject_fn reject, void *reject_ctx) {
  uint8_t hbuf[CAIRN_BLOCK_HEADER_BYTES_MAX];
  cairn_exec_ctx ctx;
  chain_fill f = {0};
  f.cap = n < CAIRN_BLOCK_TXS_MAX ? n : CAIRN_BLOCK_TXS_MAX;
  chain_header_init(c, &p->header, time_ms, proposer);
  /* The header's size does not depend on tx_count (a fixed-width field). */
  CAIRN_TRY(cairn_block_header_encode(hbuf, sizeof hbuf, &f.block_bytes,
                                      &p->header));
  p->txids = calloc(f.cap > 0 ? f.cap : 1, sizeof *p->txids);
  f.txs = calloc(f.cap > 0 ? f.cap : 1, sizeof *f.txs);
  f.decoded = malloc((f.cap > 0 ? f.cap : 1) * sizeof *f.decoded);
  f.wtxids = malloc((f.cap > 0 ? f.cap : 1) * sizeof *f.wtxids);
  f.tx_err = malloc((f.cap > 0 ? f.cap : 1) * sizeof *f.tx_err);
  f.verifier = malloc(sizeof *f.verifier);
  cairn_err err = p->txids && f.txs && f.decoded && f.wtxids && f.tx_err &&
                          f.verifier
                      ? CAIRN_OK
                      : CAIRN_ERR_NOMEM;
  if (err == CAIRN_OK) err = cairn_view_open(&p->view, c->store);
  chain_exec_ctx(c, &ctx, p->header.height, p->header.time_ms);
  /* Block-start work (timed-out holds) comes before the first tx. */
  if (err == CAIRN_OK) err = cairn_state_begin_block(p->view, &ctx);
  if (err == CAIRN_OK)
    err = chain_fill_txs(c, p, &f, &ctx, candidates, n, reject, reject_ctx);
  /* Block-end work (validator-set changes due next) after the last tx. */
  if (err == CAIRN_OK) err = cairn_staking_end_block(p->view, &ctx);
  if (err == CAIRN_OK) err = chain_seal(c, p, &f);
  free(f.verifier);
  free(f.wtxids);
  free(f.decoded);
  free(f.tx_err);
  free(f.txs);
  return err;
}

cairn_err cairn_chain_propose(
    cairn_chain *c, const cairn_slice *candidates, size_t n, uint64_t time_ms,
    const uint8_t proposer[CAIRN_ED25519_PUBKEY_BYTES], cairn_reject_fn reject,
    void *reject_ctx, cairn_proposal **out) {
  *out = NULL;
  CAIRN_TRY(chain_ready(c));
  cairn_proposal *p = calloc(1, sizeof *p);
  if (p == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = chain_propose_into(c, p, candidates, n, time_ms, proposer,
                                     reject, reject_ctx);
  if (err != CAIRN_OK) {
    cairn_proposal_free(p);
    return err;
  }
  *out = p;
  return CAIRN_OK;
}

void cairn_proposal_free(cairn_proposal *p) {
  if (p == NULL) return;
  if (p->view != NULL) cairn_view_close(p->view);
  free(p->block);
  free(p->txids);
  free(p);
}

cairn_err cairn_chain_commit_proposal(cairn_chain *c, const cairn_proposal *p,
                                      const cairn_commit *cm) {
  uint8_t cbuf[CAIRN_COMMIT_BYTES_MAX];
  size_t clen = 0;
  CAIRN_TRY(chain_ready(c));
  if (p->header.height != c->tip.height + 1) return CAIRN_ERR_BAD_HEIGHT;
  if (memcmp(p->header.prev_hash, c->tip.hash, CAIRN_HASH_BYTES) != 0)
    return CAIRN_ERR_BAD_HEIGHT; /* built on a tip that has been replaced */
  if (cairn_commit_verify(cm, (const uint8_t *)c->genesis.chain_id,
                          c->genesis.chain_id_len, p->header.height, p->hash,
                          &c->valset) != CAIRN_OK)
    return CAIRN_ERR_BAD_COMMIT;
  /* After the signatures, so that a forged round costs nothing. */
  if (!chain_is_proposer(c, p->header.proposer, cm->round))
    return CAIRN_ERR_BAD_PROPOSER;
  CAIRN_TRY(cairn_commit_encode(cbuf, sizeof cbuf, &clen, cm));
  cairn_store_block_write w = {
      .height = p->header.height, .hash = p->hash,
      .block = p->block, .block_len = p->block_len,
      .commit = cbuf, .commit_len = clen,
      .txids = (const uint8_t(*)[32])p->txids, .n_txids = p->header.tx_count,
      .changes = p->view, .app_hash = p->app_hash,
      .time_ms = p->header.time_ms};
  CAIRN_TRY(cairn_store_commit_block(c->store, &w));
  return chain_advance(c, &p->header, p->hash, p->app_hash);
}

/* ---- apply ---- */

/* Scratch for checking one block: too big for the stack. */
typedef struct chain_apply {
  cairn_block_header h;
  uint8_t hash[CAIRN_HASH_BYTES];
  uint8_t app_hash[CAIRN_HASH_BYTES];
  cairn_slice txs[CAIRN_BLOCK_TXS_MAX];
  uint8_t txids[CAIRN_BLOCK_TXS_MAX][CAIRN_HASH_BYTES];
  cairn_tx decoded[CAIRN_BLOCK_TXS_MAX]; /* valid where tx_err is OK */
  cairn_err tx_err[CAIRN_BLOCK_TXS_MAX]; /* decode or signature error */
  cairn_commit commit;
  cairn_view *view;
  chain_verifier verifier; /* checks txs while they run */
} chain_apply;

/* chain_id for a message: printable ASCII, anything else as '?'. */
static void chain_printable(char out[CAIRN_CHAIN_ID_BYTES_MAX + 1],
                            const uint8_t *p, size_t n) {
  assert(n <= CAIRN_CHAIN_ID_BYTES_MAX);
  for (size_t i = 0; i < n; i++) {
    char ch = '?';
    if (p[i] >= 0x20 && p[i] < 0x7f) ch = (char)p[i];
    out[i] = ch;
  }
  out[n] = '\0';
}

static cairn_err chain_hash_mismatch(char *why, size_t why_cap, cairn_err err,
                                     uint64_t height, const char *field,
                                     const uint8_t got[32],
                                     const uint8_t want[32]) {
  char g[CHAIN_HEX_HASH], w[CHAIN_HEX_HASH];
  chain_hex(g, got);
  chain_hex(w, want);
  return chain_fail(why, why_cap, err, "block %llu: %s is %s, expected %s",
                    (unsigned long long)height, field, g, w);
}

/* Chain id, height, parent and time. */
static cairn_err chain_check_link(const cairn_chain *c,
                                  const cairn_block_header *h, char *why,
                                  size_t why_cap) {
  unsigned long long height = h->height;
  if (h->chain_id_len != c->genesis.chain_id_len ||
      memcmp(h->chain_id, c->genesis.chain_id, h->chain_id_len) != 0) {
    char got[CAIRN_CHAIN_ID_BYTES_MAX + 1];
    chain_printable(got, h->chain_id, h->chain_id_len);
    return chain_fail(why, why_cap, CAIRN_ERR_CHAIN_ID,
                      "block %llu: chain_id is \"%s\", expected \"%s\"", height,
                      got, c->genesis.chain_id);
  }
  if (h->height != c->tip.height + 1)
    return chain_fail(why, why_cap, CAIRN_ERR_BAD_HEIGHT,
                      "block %llu: height is %llu, expected %llu", height,
                      height, (unsigned long long)c->tip.height + 1);
  if (memcmp(h->prev_hash, c->tip.hash, CAIRN_HASH_BYTES) != 0)
    return chain_hash_mismatch(why, why_cap, CAIRN_ERR_BAD_PREV, h->height,
                               "prev_hash", h->prev_hash, c->tip.hash);
  if (h->time_ms <= c->tip.time_ms)
    return chain_fail(why, why_cap, CAIRN_ERR_BAD_TIME,
                      "block %llu: time_ms is %llu, expected more than the "
                      "parent's %llu",
                      height, (unsigned long long)h->time_ms,
                      (unsigned long long)c->tip.time_ms);
  return CAIRN_OK;
}

/* Validator set, proposer and state hash. */
static cairn_err chain_check_fields(const cairn_chain *c,
                                    const cairn_block_header *h, char *why,
                                    size_t why_cap) {
  if (memcmp(h->validators_hash, c->valset_hash, CAIRN_HASH_BYTES) != 0)
    return chain_hash_mismatch(why, why_cap, CAIRN_ERR_BAD_VALSET, h->height,
                               "validators_hash", h->validators_hash,
                               c->valset_hash);
  if (cairn_valset_find(&c->valset, h->proposer) < 0) {
    char got[CHAIN_HEX_HASH];
    chain_hex(got, h->proposer);
    return chain_fail(why, why_cap, CAIRN_ERR_BAD_PROPOSER,
                      "block %llu: proposer is %s, expected one of the %u "
                      "validators in force",
                      (unsigned long long)h->height, got,
                      (unsigned)c->valset.n);
  }
  if (memcmp(h->state_hash, c->tip.app_hash, CAIRN_HASH_BYTES) != 0)
    return chain_hash_mismatch(why, why_cap, CAIRN_ERR_BAD_STATE_HASH,
                               h->height, "state_hash", h->state_hash,
                               c->tip.app_hash);
  return CAIRN_OK;
}

/* Recompute the Merkle root over the ids of the raw transaction bytes. */
static cairn_err chain_check_root(chain_apply *a, char *why, size_t why_cap) {
  uint8_t root[CAIRN_HASH_BYTES];
  for (size_t i = 0; i < a->h.tx_count; i++)
    cairn_tx_id_bytes(a->txids[i], a->txs[i].p, a->txs[i].len);
  CAIRN_TRY(cairn_merkle_root(root, (const uint8_t(*)[32])a->txids,
                              a->h.tx_count));
  if (memcmp(root, a->h.tx_root, CAIRN_HASH_BYTES) != 0)
    return chain_hash_mismatch(why, why_cap, CAIRN_ERR_BAD_TX_ROOT,
                               a->h.height, "tx_root", a->h.tx_root, root);
  return CAIRN_OK;
}

static cairn_err chain_check_commit(const cairn_chain *c, chain_apply *a,
                                    const uint8_t *commit, size_t commit_len,
                                    char *why, size_t why_cap) {
  unsigned long long height = a->h.height;
  cairn_err err = cairn_commit_decode(&a->commit, commit, commit_len);
  if (err != CAIRN_OK)
    return chain_fail(why, why_cap, CAIRN_ERR_BAD_COMMIT,
                      "block %llu: commit does not decode: %s", height,
                      cairn_strerror(err));
  err = cairn_commit_verify(&a->commit, (const uint8_t *)c->genesis.chain_id,
                            c->genesis.chain_id_len, a->h.height, a->hash,
                            &c->valset);
  if (err != CAIRN_OK) {
    char got[CHAIN_HEX_HASH], want[CHAIN_HEX_HASH];
    chain_hex(got, a->commit.block_hash);
    chain_hex(want, a->hash);
    return chain_fail(why, why_cap, CAIRN_ERR_BAD_COMMIT,
                      "block %llu: commit (height %llu, block_hash %s, %u "
                      "signatures) is not a valid commit by more than 2/3 of "
                      "stake for block_hash %s",
                      height, (unsigned long long)a->commit.height, got,
                      (unsigned)a->commit.n_sigs, want);
  }
  return CAIRN_OK;
}

/* ---- signature checks, spread over threads ---- */

/* Decode and verify transaction i into its slot. Bytes whose txid is in
 * the tx cache passed both checks before (on admission to the mempool, or
 * in an earlier proposal), so they are only decoded; bytes that pass now
 * go into the cache. */
static cairn_err chain_check_tx(const chain_verifier *v, size_t i) {
  const cairn_slice *raw = &v->txs[i];
  uint8_t *txid = v->txids[i];
  if (!v->txids_known) cairn_tx_id_bytes(txid, raw->p, raw->len);
  if (cairn_cache_get(v->tx_cache, txid, NULL))
    return cairn_tx_decode_verified(&v->decoded[i], raw->p, raw->len);
  cairn_err err =
      cairn_tx_decode_cached(&v->decoded[i], raw->p, raw->len, v->key_cache);
  if (err == CAIRN_OK)
    err = cairn_tx_verify_cached(&v->decoded[i], v->key_cache);
  if (err == CAIRN_OK) cairn_cache_put(v->tx_cache, txid, NULL);
  return err;
}

/* Check chunk k: decode and verify its transactions into their slots. */
static void chain_verify_chunk(chain_verifier *v, size_t k) {
  size_t end = (k + 1) * CHAIN_VERIFY_CHUNK;
  if (end > v->n) end = v->n;
  for (size_t i = k * CHAIN_VERIFY_CHUNK; i < end; i++)
    v->tx_err[i] = chain_check_tx(v, i);
}

/* Take the next unchecked chunk, check it and mark it done; false when
 * every chunk has been taken. Called and returns with v->mu held. */
static bool chain_verify_take(chain_verifier *v) {
  if (v->next >= v->chunks) return false;
  size_t k = v->next++;
  (void)pthread_mutex_unlock(&v->mu);
  chain_verify_chunk(v, k);
  (void)pthread_mutex_lock(&v->mu);
  v->done[k] = true;
  (void)pthread_cond_broadcast(&v->cv);
  return true;
}

static void *chain_verify_thread(void *arg) {
  chain_verifier *v = arg;
  (void)pthread_mutex_lock(&v->mu);
  while (chain_verify_take(v)) {
  }
  (void)pthread_mutex_unlock(&v->mu);
  return NULL;
}

/* Start checking txs[0..n): on the chain's verifier threads but one, the
 * calling thread taking its share in chain_verifier_wait. Each chunk's
 * slots are written by the one thread that took it. A helper that cannot
 * be started leaves its share to the others. */
static void chain_verifier_start(chain_verifier *v, const cairn_chain *c,
                                 const cairn_slice *txs, size_t n,
                                 uint8_t (*txids)[CAIRN_HASH_BYTES],
                                 bool txids_known, cairn_tx *decoded,
                                 cairn_err *tx_err) {
  assert(n <= CAIRN_BLOCK_TXS_MAX);
  *v = (chain_verifier){.mu = PTHREAD_MUTEX_INITIALIZER,
                        .cv = PTHREAD_COND_INITIALIZER};
  v->txs = txs;
  v->txids = txids;
  v->txids_known = txids_known;
  v->tx_cache = c->tx_cache;
  v->key_cache = c->key_cache;
  v->decoded = decoded;
  v->tx_err = tx_err;
  v->n = n;
  v->chunks = (n + CHAIN_VERIFY_CHUNK - 1) / CHAIN_VERIFY_CHUNK;
  size_t threads = cairn_chain_verify_threads(c);
  size_t fair = n / CHAIN_VERIFY_SHARE_MIN;
  if (threads > fair) threads = fair;
  if (n < CAIRN_CHAIN_VERIFY_PARALLEL_MIN || threads <= 1) return;
  assert(threads <= CAIRN_CHAIN_VERIFY_THREADS_MAX);
  v->helpers = threads - 1;
  for (size_t k = 0; k < v->helpers; k++)
    v->started[k] =
        pthread_create(&v->tids[k], NULL, chain_verify_thread, v) == 0;
}

/* Return once transaction i has been checked, checking chunks (the
 * lowest not yet taken first) rather than idling while it is not. */
static void chain_verifier_wait(chain_verifier *v, size_t i) {
  assert(i < v->n);
  size_t k = i / CHAIN_VERIFY_CHUNK;
  (void)pthread_mutex_lock(&v->mu);
  while (!v->done[k]) {
    if (!chain_verify_take(v)) (void)pthread_cond_wait(&v->cv, &v->mu);
  }
  (void)pthread_mutex_unlock(&v->mu);
}

/* Stop handing out chunks and join the helpers (each finishes the chunk
 * it holds). Needed on every path, also after an early failure. */
static void chain_verifier_stop(chain_verifier *v) {
  (void)pthread_mutex_lock(&v->mu);
  v->next = v->chunks;
  (void)pthread_mutex_unlock(&v->mu);
  for (size_t k = 0; k < v->helpers; k++)
    if (v->started[k]) (void)pthread_join(v->tids[k], NULL);
  (void)pthread_cond_destroy(&v->cv);
  (void)pthread_mutex_destroy(&v->mu);
}

/* Scratch of cairn_chain_precheck_block (megabytes: on the heap). */
typedef struct chain_precheck {
  cairn_block_header h;
  cairn_slice txs[CAIRN_BLOCK_TXS_MAX];
  uint8_t txids[CAIRN_BLOCK_TXS_MAX][CAIRN_HASH_BYTES];
  cairn_tx decoded[CAIRN_BLOCK_TXS_MAX];
  cairn_err tx_err[CAIRN_BLOCK_TXS_MAX];
  chain_verifier verifier;
} chain_precheck;

cairn_err cairn_chain_precheck_block(const cairn_chain *c,
                                     const uint8_t *block, size_t block_len) {
  assert(c != NULL && (block != NULL || block_len == 0));
  chain_precheck *p = malloc(sizeof *p);
  if (p == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_block_decode(&p->h, p->txs, CAIRN_BLOCK_TXS_MAX,
                                     block, block_len);
  size_t n = err == CAIRN_OK ? p->h.tx_count : 0;
  if (n > 0) {
    /* The checks' only lasting effect is chain_check_tx's cache puts. */
    chain_verifier_start(&p->verifier, c, p->txs, n, p->txids, false,
                         p->decoded, p->tx_err);
    chain_verifier_wait(&p->verifier, n - 1);
    chain_verifier_stop(&p->verifier);
  }
  free(p);
  return err;
}

/* Run every transaction, each once its check is done, into a->view in
 * order; the first failure, of any kind, is the block's error. */
static cairn_err chain_exec_block_txs(chain_apply *a,
                                      const cairn_exec_ctx *ctx, char *why,
                                      size_t why_cap) {
  for (size_t i = 0; i < a->h.tx_count; i++) {
    chain_verifier_wait(&a->verifier, i);
    cairn_err err = a->tx_err[i];
    if (err == CAIRN_OK)
      err = cairn_state_apply_tx(a->view, ctx, &a->decoded[i], a->txids[i]);
    if (err == CAIRN_OK) continue;
    char hex[CHAIN_HEX_HASH];
    chain_hex(hex, a->txids[i]);
    return chain_fail(why, why_cap,
                      chain_is_system_err(err) ? err : CAIRN_ERR_BAD_BLOCK_TX,
                      "block %llu tx %zu (txid %s): %s: %s",
                      (unsigned long long)a->h.height, i, hex,
                      cairn_errname(err), cairn_strerror(err));
  }
  return CAIRN_OK;
}

/* Run every transaction into a fresh view of the tip, their signatures
 * checked on the verifier threads as they run (chain_verifier_start). */
static cairn_err chain_run_block_txs(cairn_chain *c, chain_apply *a,
                                     char *why, size_t why_cap) {
  cairn_exec_ctx ctx;
  chain_exec_ctx(c, &ctx, a->h.height, a->h.time_ms);
  CAIRN_TRY(cairn_view_open(&a->view, c->store));
  /* Block-start work (timed-out holds) comes before the first tx. */
  CAIRN_TRY(cairn_state_begin_block(a->view, &ctx));
  chain_verifier_start(&a->verifier, c, a->txs, a->h.tx_count, a->txids,
                       true, a->decoded, a->tx_err);
  cairn_err err = chain_exec_block_txs(a, &ctx, why, why_cap);
  chain_verifier_stop(&a->verifier);
  CAIRN_TRY(err);
  /* Block-end work (validator-set changes due next) after the last tx. */
  err = cairn_staking_end_block(a->view, &ctx);
  if (err != CAIRN_OK)
    return chain_fail(why, why_cap, err,
                      "block %llu: end of block: %s",
                      (unsigned long long)a->h.height, cairn_strerror(err));
  return cairn_state_hash_next(a->app_hash, c->tip.app_hash, a->view);
}

/* The block must have been built by the proposer of `round` or of an
 * earlier round of its height (chain_is_proposer). */
static cairn_err chain_check_proposer(const cairn_chain *c,
                                      const cairn_block_header *h,
                                      uint32_t round, char *why,
                                      size_t why_cap) {
  if (chain_is_proposer(c, h->proposer, round)) return CAIRN_OK;
  uint8_t want[CAIRN_ED25519_PUBKEY_BYTES];
  cairn_chain_proposer(c, round, want);
  char got[CHAIN_HEX_HASH], exp[CHAIN_HEX_HASH];
  chain_hex(got, h->proposer);
  chain_hex(exp, want);
  return chain_fail(why, why_cap, CAIRN_ERR_BAD_PROPOSER,
                    "block %llu: proposer is %s, expected %s (the proposer "
                    "of round %u) or the proposer of an earlier round",
                    (unsigned long long)h->height, got, exp, (unsigned)round);
}

/* The checks that need no commit, cheapest first: decoding, link, header
 * fields and the Merkle root. Nothing is written. */
static cairn_err chain_verify_header(cairn_chain *c, chain_apply *a,
                                     const uint8_t *block, size_t block_len,
                                     char *why, size_t why_cap) {
  cairn_err err = cairn_block_decode(&a->h, a->txs, CAIRN_BLOCK_TXS_MAX,
                                     block, block_len);
  if (err != CAIRN_OK)
    return chain_fail(why, why_cap, err,
                      "block at height %llu: does not decode: %s",
                      (unsigned long long)c->tip.height + 1,
                      cairn_strerror(err));
  CAIRN_TRY(cairn_block_hash(a->hash, &a->h));
  CAIRN_TRY(chain_check_link(c, &a->h, why, why_cap));
  CAIRN_TRY(chain_check_fields(c, &a->h, why, why_cap));
  return chain_check_root(a, why, why_cap);
}

/* Every check, in the documented order; nothing is written. The commit's
 * signatures come before the proposer of its round, so that a forged
 * round (which costs rotation steps) is refused for nothing. */
static cairn_err chain_verify_block(cairn_chain *c, chain_apply *a,
                                    const uint8_t *block, size_t block_len,
                                    const uint8_t *commit, size_t commit_len,
                                    char *why, size_t why_cap) {
  CAIRN_TRY(chain_verify_header(c, a, block, block_len, why, why_cap));
  CAIRN_TRY(chain_check_commit(c, a, commit, commit_len, why, why_cap));
  CAIRN_TRY(chain_check_proposer(c, &a->h, a->commit.round, why, why_cap));
  return chain_run_block_txs(c, a, why, why_cap);
}

static chain_apply *chain_apply_new(char *why, size_t why_cap) {
  if (why != NULL && why_cap > 0) why[0] = '\0';
  chain_apply *a = malloc(sizeof *a);
  if (a == NULL) {
    (void)chain_fail(why, why_cap, CAIRN_ERR_NOMEM, "%s",
                     "out of memory checking a block");
    return NULL;
  }
  a->view = NULL;
  return a;
}

static void chain_apply_free(chain_apply *a) {
  if (a->view != NULL) cairn_view_close(a->view);
  free(a);
}

cairn_err cairn_chain_apply_block(cairn_chain *c, const uint8_t *block,
                                  size_t block_len, const uint8_t *commit,
                                  size_t commit_len, char *why,
                                  size_t why_cap) {
  chain_apply *a = chain_apply_new(why, why_cap);
  if (a == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = chain_ready(c);
  if (err != CAIRN_OK) {
    chain_apply_free(a);
    return chain_fail(why, why_cap, err, "cannot read the validator set: %s",
                      cairn_strerror(err));
  }
  err = chain_verify_block(c, a, block, block_len, commit,
                                     commit_len, why, why_cap);
  if (err == CAIRN_OK) {
    cairn_store_block_write w = {
        .height = a->h.height, .hash = a->hash,
        .block = block, .block_len = block_len,
        .commit = commit, .commit_len = commit_len,
        .txids = (const uint8_t(*)[32])a->txids, .n_txids = a->h.tx_count,
        .changes = a->view, .app_hash = a->app_hash,
        .time_ms = a->h.time_ms};
    err = cairn_store_commit_block(c->store, &w);
    if (err != CAIRN_OK)
      err = chain_fail(why, why_cap, err, "block %llu: cannot store: %s",
                       (unsigned long long)a->h.height, cairn_strerror(err));
    else
      err = chain_advance(c, &a->h, a->hash, a->app_hash);
  }
  chain_apply_free(a);
  return err;
}

/* Move a checked block into a proposal: the header, hash, app hash and
 * view are taken over; the bytes and txids are copied. */
static cairn_err chain_proposal_from(cairn_proposal *p, chain_apply *a,
                                     const uint8_t *block, size_t block_len) {
  size_t n = a->h.tx_count;
  p->block = malloc(block_len > 0 ? block_len : 1);
  p->txids = calloc(n > 0 ? n : 1, sizeof *p->txids);
  if (p->block == NULL || p->txids == NULL) return CAIRN_ERR_NOMEM;
  memcpy(p->block, block, block_len);
  p->block_len = block_len;
  if (n > 0) memcpy(p->txids, a->txids, n * sizeof *p->txids);
  p->header = a->h;
  memcpy(p->hash, a->hash, CAIRN_HASH_BYTES);
  memcpy(p->app_hash, a->app_hash, CAIRN_HASH_BYTES);
  p->view = a->view;
  a->view = NULL;
  return CAIRN_OK;
}

cairn_err cairn_chain_check_proposal(cairn_chain *c, const uint8_t *block,
                                     size_t block_len, uint32_t round,
                                     cairn_proposal **out, char *why,
                                     size_t why_cap) {
  *out = NULL;
  chain_apply *a = chain_apply_new(why, why_cap);
  if (a == NULL) return CAIRN_ERR_NOMEM;
  cairn_proposal *p = NULL;
  cairn_err err = chain_ready(c);
  if (err != CAIRN_OK)
    (void)chain_fail(why, why_cap, err, "cannot read the validator set: %s",
                     cairn_strerror(err));
  if (err == CAIRN_OK)
    err = chain_verify_header(c, a, block, block_len, why, why_cap);
  if (err == CAIRN_OK)
    err = chain_check_proposer(c, &a->h, round, why, why_cap);
  if (err == CAIRN_OK) err = chain_run_block_txs(c, a, why, why_cap);
  if (err == CAIRN_OK) {
    p = calloc(1, sizeof *p);
    err = p != NULL ? chain_proposal_from(p, a, block, block_len)
                    : CAIRN_ERR_NOMEM;
    if (err != CAIRN_OK)
      (void)chain_fail(why, why_cap, err, "%s",
                       "out of memory keeping a checked block");
  }
  chain_apply_free(a);
  if (err != CAIRN_OK) {
    cairn_proposal_free(p);
    return err;
  }
  *out = p;
  return CAIRN_OK;
}
