/*
 * bench/bench_node.c - how fast one node verifies, applies and durably
 * commits signed transactions, and how fast an auditor replays them.
 *
 * The workload is what a loyalty coalition does all day, over the three
 * demo brands (tests/testutil.h, all accepting partners) and a set of
 * members. It opens with the agreements: for every ordered pair of brands
 * (A, B) both issuers sign an AGREE (100 A points are worth 80 B points,
 * open-ended, no cap), 12 transactions. Then each transaction is drawn:
 * ~45% ISSUE (a brand credits 50..150 points to a random member), ~35%
 * REDEEM (a member spends 10..50 points at the brand), ~5% REDEEM_AT (a
 * member spends 10..50 points of A at partner B under the A->B agreement),
 * ~10% COUPON_ISSUE (a brand gives a random member a coupon) and ~5%
 * COUPON_REDEEM (a member redeems a coupon it was given and still holds).
 *
 * Every transaction must be valid when applied in order, so the proposer
 * rejects none (the run reports any it did). A small model of the chain
 * makes sure of it: sequences of every sender; the balance of every
 * (member, brand) pair; a pool of the pairs holding at least the smallest
 * spend, from which REDEEM and REDEEM_AT draw (with a million members most
 * pairs hold nothing, so drawing members at random would mostly fail);
 * and the coupons issued and not yet redeemed, from which COUPON_REDEEM
 * draws. A spend or coupon redemption with nothing to draw from (the first
 * few transactions) becomes an ISSUE; bench_workload_info counts what was
 * made.
 *
 * The model is sequential, so the transactions are generated in order,
 * unsigned (encoded once, with empty keys, to fix each one's length and
 * place in one buffer). Deriving the members' key pairs and signing are
 * independent per item, so they run on one pthread per online CPU, each
 * with its own libsecp256k1 context: first the keys, then every
 * transaction but COUPON_REDEEM, then the COUPON_REDEEMs, which name their
 * coupon by the txid - signature included - of its COUPON_ISSUE. Signing
 * goes to libsecp256k1 with key pairs made once per member, not through
 * cairn_tx_sign (which re-derives the key and builds a context per call):
 * that makes it about 3x faster, and the chain verifies every signature
 * anyway. Keys are those of tu_member / tu_issuer; signatures use no
 * auxiliary randomness, so a workload is the same bytes on every run. None
 * of this is timed.
 *
 * Two paths are timed, each into its own durable store (fsync on commit):
 *   - propose: cairn_chain_propose builds blocks of up to
 *     CAIRN_BLOCK_TXS_MAX from the pending list - decoding, checking
 *     signatures on every online CPU a window at a time, and executing in
 *     order - then the single validator signs a commit and
 *     cairn_chain_commit_proposal writes it. This is what a lone cairnd
 *     does, without its HTTP API.
 *   - apply: the same blocks and commits fed to cairn_chain_apply_block on
 *     a fresh store, which checks signatures on every online CPU before
 *     executing in order. This is what a follower or a restarted node does.
 *
 * Growth is measured by writing extra accounts with balances straight into
 * the genesis state (a view committed with cairn_store_commit_genesis, as
 * the chain itself initialises a store) so the balances B-tree is as large
 * as it would be with that many members, while the workload stays the
 * same. The filler is written once, into a map sized for it up front (a
 * write that outgrows the map is redone from scratch at every doubling),
 * and the file is copied for the apply path's store. Such a store is
 * internally consistent for the chain (its state hash covers the extra
 * accounts) though its supply figures do not add up, so it is never
 * audited; the chain that is audited has no filler.
 */
#include "bench_node.h"

#include <assert.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "bench_limits.h"
#include "cairn/audit.h"
#include "cairn/chain.h"
#include "cairn/state.h"
#include "cairn/view.h"
#include "testutil.h"

#define BRANDS 3u
#define AGREEMENTS (BRANDS * (BRANDS - 1)) /* every ordered pair */
/* The mix as cumulative percentages of a roll in 0..99; the rest of the
 * hundred is COUPON_REDEEM. */
#define MIX_ISSUE 45u
#define MIX_REDEEM 80u
#define MIX_REDEEM_AT 85u
#define MIX_COUPON_ISSUE 95u
#define ISSUE_MIN 50u /* points per ISSUE: ISSUE_MIN + 0..ISSUE_SPREAD-1 */
#define ISSUE_SPREAD 101u
#define SPEND_MIN 10u /* points per REDEEM or REDEEM_AT: SPEND_MIN..MAX */
#define SPEND_MAX 50u
#define RATE_NUM 80u /* 100 points of A are worth 80 points of B */
#define RATE_DEN 100u
#define COUPON_VALUE 500u
#define COUPON_LABEL "bench coupon"
#define FILLER_BALANCE 1000u
/* Map bytes per filler account for the genesis write: ~56 are used. */
#define FILLER_MAP_BYTES 128u
#define PAR_THREADS_MAX 64u
#define WORKLOAD_SEED 0x636169726e62656eull /* fixed: runs are comparable */

_Static_assert(MIX_ISSUE < MIX_REDEEM && MIX_REDEEM < MIX_REDEEM_AT &&
                   MIX_REDEEM_AT < MIX_COUPON_ISSUE && MIX_COUPON_ISSUE < 100,
               "every type has a share");
_Static_assert((uint64_t)SPEND_MIN * RATE_NUM >= RATE_DEN,
               "the smallest REDEEM_AT is worth at least one point");
_Static_assert((uint64_t)BENCH_MEMBERS_MAX * BRANDS < UINT32_MAX,
               "(member, brand) pairs are indexed with a u32");

/* One transaction before signing: enough to build it again. */
typedef struct tx_plan {
  uint64_t seq;
  uint64_t link;   /* COUPON_REDEEM: index of its COUPON_ISSUE */
  uint32_t member; /* the member who sends or receives */
  uint32_t amount;
  uint8_t type;    /* CAIRN_TX_* */
  uint8_t issuer;  /* brand whose issuer signs; 0: the member signs */
  uint8_t brand;   /* issued, redeemed, redeemed from, agreement's from */
  uint8_t partner; /* REDEEM_AT's at_brand, AGREE's to_brand */
} tx_plan;

typedef struct keyring {
  secp256k1_keypair issuer_kp[BRANDS];
  uint8_t issuer_pk[BRANDS][CAIRN_PUBKEY_BYTES];
  secp256k1_keypair *member_kp;
  uint8_t (*member_pk)[CAIRN_PUBKEY_BYTES]; /* all zero until derived */
} keyring;

struct bench_workload {
  tx_plan *plan;    /* freed once signed */
  keyring keys;     /* wiped and freed once signed */
  uint8_t *buf;     /* every encoded transaction, back to back */
  size_t len, cap;
  size_t *off;      /* n + 1 offsets into buf */
  cairn_slice *txs; /* n slices of buf, set once signed */
  size_t n;
  uint8_t agreement[BRANDS][BRANDS][CAIRN_HASH_BYTES]; /* [from][to] */
  bench_workload_info info;
};

/* ---- the model the generator keeps of the chain ---- */

typedef struct coupon_open {
  uint64_t tx; /* index of its COUPON_ISSUE */
  uint32_t member;
  uint8_t brand;
} coupon_open;

typedef struct gen_model {
  uint64_t issuer_seq[BRANDS];
  uint64_t *member_seq; /* last sequence each member used */
  uint64_t *balance;    /* per pair member * BRANDS + brand - 1 */
  uint32_t *spend;      /* pairs holding at least SPEND_MIN */
  uint32_t *spend_pos;  /* per pair: 1 + its index in spend, 0: not there */
  size_t n_spend;
  coupon_open *coupons; /* issued, not yet redeemed */
  size_t n_coupons, cap_coupons;
  uint32_t members;
  uint64_t rng;
  bench_mix mix;
} gen_model;

static uint64_t rng_below(uint64_t *s, uint64_t n) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x % n;
}

static void spend_add(gen_model *g, uint32_t pair) {
  if (g->spend_pos[pair] != 0) return;
  g->spend[g->n_spend++] = pair;
  g->spend_pos[pair] = (uint32_t)g->n_spend;
}

static void spend_remove(gen_model *g, uint32_t pair) {
  assert(g->spend_pos[pair] != 0 && g->n_spend > 0);
  uint32_t k = g->spend_pos[pair] - 1;
  uint32_t last = g->spend[--g->n_spend];
  g->spend[k] = last;
  g->spend_pos[last] = k + 1;
  g->spend_pos[pair] = 0;
}

static void gen_issue(gen_model *g, tx_plan *p) {
  uint32_t m = (uint32_t)rng_below(&g->rng, g->members);
  uint32_t b = (uint32_t)rng_below(&g->rng, BRANDS);
  uint32_t pair = m * BRANDS + b;
  p->type = CAIRN_TX_ISSUE;
  p->issuer = p->brand = (uint8_t)(b + 1);
  p->member = m;
  p->amount = ISSUE_MIN + (uint32_t)rng_below(&g->rng, ISSUE_SPREAD);
  p->seq = ++g->issuer_seq[b];
  g->balance[pair] += p->amount;
  if (g->balance[pair] >= SPEND_MIN) spend_add(g, pair);
  g->mix.issue++;
}

/* A REDEEM or REDEEM_AT by a member drawn from the pool of pairs that can
 * pay; false if the pool is empty. */
static bool gen_spend(gen_model *g, uint8_t type, tx_plan *p) {
  if (g->n_spend == 0) return false;
  uint32_t pair = g->spend[rng_below(&g->rng, g->n_spend)];
  uint32_t m = pair / BRANDS, b = pair % BRANDS;
  uint64_t most = g->balance[pair] < SPEND_MAX ? g->balance[pair] : SPEND_MAX;
  assert(most >= SPEND_MIN);
  p->amount = SPEND_MIN + (uint32_t)rng_below(&g->rng, most - SPEND_MIN + 1);
  g->balance[pair] -= p->amount;
  if (g->balance[pair] < SPEND_MIN) spend_remove(g, pair);
  p->type = type;
  p->member = m;
  p->brand = (uint8_t)(b + 1);
  p->seq = ++g->member_seq[m];
  if (type == CAIRN_TX_REDEEM_AT) {
    uint32_t to = (b + 1 + (uint32_t)rng_below(&g->rng, BRANDS - 1)) % BRANDS;
    p->partner = (uint8_t)(to + 1);
    g->mix.redeem_at++;
  } else {
    g->mix.redeem++;
  }
  return true;
}

static void gen_coupon_issue(gen_model *g, uint64_t i, tx_plan *p) {
  uint32_t m = (uint32_t)rng_below(&g->rng, g->members);
  uint32_t b = (uint32_t)rng_below(&g->rng, BRANDS);
  assert(g->n_coupons < g->cap_coupons);
  p->type = CAIRN_TX_COUPON_ISSUE;
  p->issuer = p->brand = (uint8_t)(b + 1);
  p->member = m;
  p->seq = ++g->issuer_seq[b];
  g->coupons[g->n_coupons++] = (coupon_open){i, m, (uint8_t)(b + 1)};
  g->mix.coupon_issue++;
}

/* The holder of an open coupon redeems it; false if none is open. */
static bool gen_coupon_redeem(gen_model *g, tx_plan *p) {
  if (g->n_coupons == 0) return false;
  size_t k = (size_t)rng_below(&g->rng, g->n_coupons);
  coupon_open c = g->coupons[k];
  g->coupons[k] = g->coupons[--g->n_coupons];
  p->type = CAIRN_TX_COUPON_REDEEM;
  p->member = c.member;
  p->brand = c.brand;
  p->link = c.tx;
  p->seq = ++g->member_seq[c.member];
  g->mix.coupon_redeem++;
  return true;
}

/* Transactions 0 .. 2 * AGREEMENTS - 1: agreement k = i / 2 between the
 * k-th ordered pair of brands, signed by its from side (even i) or its to
 * side (odd i). */
static void gen_agree(gen_model *g, uint64_t i, tx_plan *p) {
  uint32_t k = (uint32_t)(i / 2);
  uint32_t from = k / (BRANDS - 1), r = k % (BRANDS - 1);
  uint32_t to = r < from ? r : r + 1;
  uint32_t signer = i % 2 == 0 ? from : to;
  p->type = CAIRN_TX_AGREE;
  p->brand = (uint8_t)(from + 1);
  p->partner = (uint8_t)(to + 1);
  p->issuer = (uint8_t)(signer + 1);
  p->seq = ++g->issuer_seq[signer];
  g->mix.agree++;
}

static void gen_one(gen_model *g, uint64_t i, tx_plan *p) {
  memset(p, 0, sizeof *p);
  if (i < 2 * AGREEMENTS) {
    gen_agree(g, i, p);
    return;
  }
  uint32_t roll = (uint32_t)rng_below(&g->rng, 100);
  if (roll < MIX_ISSUE) {
    /* an ISSUE, below */
  } else if (roll < MIX_REDEEM) {
    if (gen_spend(g, CAIRN_TX_REDEEM, p)) return;
  } else if (roll < MIX_REDEEM_AT) {
    if (gen_spend(g, CAIRN_TX_REDEEM_AT, p)) return;
  } else if (roll < MIX_COUPON_ISSUE) {
    gen_coupon_issue(g, i, p);
    return;
  } else if (gen_coupon_redeem(g, p)) {
    return;
  }
  gen_issue(g, p);
}

static void gen_free(gen_model *g) {
  free(g->member_seq);
  free(g->balance);
  free(g->spend);
  free(g->spend_pos);
  free(g->coupons);
}

static int gen_init(gen_model *g, uint32_t members, uint64_t ntx) {
  size_t pairs = (size_t)members * BRANDS;
  memset(g, 0, sizeof *g);
  g->members = members;
  g->rng = WORKLOAD_SEED;
  g->cap_coupons = (size_t)ntx;
  g->member_seq = calloc(members, sizeof *g->member_seq);
  g->balance = calloc(pairs, sizeof *g->balance);
  g->spend = calloc(pairs, sizeof *g->spend);
  g->spend_pos = calloc(pairs, sizeof *g->spend_pos);
  g->coupons = calloc(g->cap_coupons, sizeof *g->coupons);
  if (g->member_seq && g->balance && g->spend && g->spend_pos && g->coupons)
    return 0;
  gen_free(g);
  return -1;
}

/* ---- building a transaction from its plan ---- */

static void agreement_terms(cairn_agreement_terms *t, uint32_t from,
                            uint32_t to) {
  memset(t, 0, sizeof *t);
  t->from_brand = from;
  t->to_brand = to;
  t->rate_num = RATE_NUM;
  t->rate_den = RATE_DEN;
  t->valid_from_height = 1;
}

/* A reference ("r42") naming transaction i; returns its length. */
static uint8_t ref_write(uint8_t out[CAIRN_REF_BYTES_MAX], char tag,
                         uint64_t i) {
  char s[32];
  int n = snprintf(s, sizeof s, "%c%llu", tag, (unsigned long long)i);
  assert(n > 0 && (size_t)n < sizeof s && n <= CAIRN_REF_BYTES_MAX);
  memcpy(out, s, (size_t)n);
  return (uint8_t)n;
}

static void plan_coupon_issue(cairn_tx *tx, const tx_plan *p,
                              const uint8_t to[CAIRN_PUBKEY_BYTES]) {
  cairn_tx_coupon_issue *c = &tx->u.coupon_issue;
  c->brand = p->brand;
  memcpy(c->to, to, CAIRN_PUBKEY_BYTES);
  c->kind = CAIRN_COUPON_AMOUNT;
  c->value = COUPON_VALUE;
  c->expiry_height = TU_EXPIRY;
  c->transferable = false;
  c->label_len = (uint8_t)(sizeof COUPON_LABEL - 1);
  memcpy(c->label, COUPON_LABEL, sizeof COUPON_LABEL - 1);
}

static void plan_redeem_at(cairn_tx *tx, const bench_workload *w,
                           const tx_plan *p, uint64_t i) {
  cairn_tx_redeem_at *r = &tx->u.redeem_at;
  r->from_brand = p->brand;
  r->at_brand = p->partner;
  memcpy(r->agreement, w->agreement[p->brand - 1][p->partner - 1],
         CAIRN_HASH_BYTES);
  r->amount = p->amount;
  r->ref_len = ref_write(r->ref, 'x', i);
}

/* Transaction i of w, unsigned; coupon is COUPON_REDEEM's coupon id. */
static void plan_build(const bench_workload *w, const tx_plan *p, uint64_t i,
                       const uint8_t coupon[CAIRN_HASH_BYTES], cairn_tx *tx) {
  const uint8_t *member = w->keys.member_pk[p->member];
  const uint8_t *sender =
      p->issuer != 0 ? w->keys.issuer_pk[p->issuer - 1] : member;
  tu_tx_init(tx, p->type, sender, p->seq);
  switch (p->type) {
    case CAIRN_TX_ISSUE:
      tx->u.issue.brand = p->brand;
      memcpy(tx->u.issue.to, member, CAIRN_PUBKEY_BYTES);
      tx->u.issue.amount = p->amount;
      break;
    case CAIRN_TX_REDEEM:
      tx->u.redeem.brand = p->brand;
      tx->u.redeem.amount = p->amount;
      tx->u.redeem.ref_len = ref_write(tx->u.redeem.ref, 'r', i);
      break;
    case CAIRN_TX_REDEEM_AT:
      plan_redeem_at(tx, w, p, i);
      break;
    case CAIRN_TX_COUPON_ISSUE:
      plan_coupon_issue(tx, p, member);
      break;
    case CAIRN_TX_COUPON_REDEEM:
      memcpy(tx->u.coupon_redeem.coupon, coupon, CAIRN_HASH_BYTES);
      tx->u.coupon_redeem.brand = p->brand;
      tx->u.coupon_redeem.ref_len =
          ref_write(tx->u.coupon_redeem.ref, 'c', i);
      break;
    case CAIRN_TX_AGREE:
      agreement_terms(&tx->u.agree.terms, p->brand, p->partner);
      break;
    default:
      assert(!"the generator makes only the types above");
  }
}

/* ---- generating in order ---- */

static int workload_append(bench_workload *w, const cairn_tx *tx) {
  if (w->cap - w->len < CAIRN_TX_BYTES_MAX) {
    size_t cap = w->cap * 2 + 4 * CAIRN_TX_BYTES_MAX;
    uint8_t *p = realloc(w->buf, cap);
    if (p == NULL) return -1;
    w->buf = p;
    w->cap = cap;
  }
  w->len += tu_tx_bytes(w->buf + w->len, w->cap - w->len, tx);
  return 0;
}

/* Plan every transaction and encode it unsigned with the keys still zero:
 * that fixes its length, so signing can write it in place. */
static int workload_generate(bench_workload *w, uint32_t members,
                             uint64_t ntx) {
  static const uint8_t no_coupon[CAIRN_HASH_BYTES];
  gen_model g;
  cairn_tx tx;
  if (gen_init(&g, members, ntx) != 0) return -1;
  int rc = 0;
  for (uint64_t i = 0; rc == 0 && i < ntx; i++) {
    gen_one(&g, i, &w->plan[i]);
    plan_build(w, &w->plan[i], i, no_coupon, &tx);
    w->off[i] = w->len;
    rc = workload_append(w, &tx);
  }
  w->off[ntx] = w->len;
  w->n = (size_t)ntx;
  w->info.mix = g.mix;
  gen_free(&g);
  return rc;
}

/* ---- keys and signatures, on every CPU ---- */

/* tu_key_derive's key pair for (label, index), made in ctx. */
static int key_derive(const secp256k1_context *ctx, const char *label,
                      uint32_t index, secp256k1_keypair *kp,
                      uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  uint8_t sk[CAIRN_SECKEY_BYTES];
  secp256k1_xonly_pubkey x;
  int ok = 0;
  for (uint32_t attempt = 0; !ok && attempt < 16; attempt++) {
    tu_seed32(sk, label, index, attempt);
    ok = secp256k1_keypair_create(ctx, kp, sk);
  }
  ok = ok && secp256k1_keypair_xonly_pub(ctx, &x, NULL, kp) &&
       secp256k1_xonly_pubkey_serialize(ctx, pk, &x);
  sodium_memzero(sk, sizeof sk);
  return ok ? 0 : -1;
}

static int keys_range(bench_workload *w, const secp256k1_context *ctx,
                      size_t lo, size_t hi, int pass) {
  (void)pass;
  for (size_t m = lo; m < hi; m++)
    if (key_derive(ctx, "member", (uint32_t)m, &w->keys.member_kp[m],
                   w->keys.member_pk[m]) != 0)
      return -1;
  return 0;
}

/* Sign transaction i and write it over its unsigned bytes. */
static int sign_one(bench_workload *w, const secp256k1_context *ctx,
                    size_t i) {
  const tx_plan *p = &w->plan[i];
  uint8_t coupon[CAIRN_HASH_BYTES] = {0}, msg[CAIRN_HASH_BYTES];
  cairn_tx tx;
  size_t len = 0, cap = w->off[i + 1] - w->off[i];
  if (p->type == CAIRN_TX_COUPON_REDEEM) {
    size_t at = w->off[p->link];
    assert(p->link < i && w->plan[p->link].type == CAIRN_TX_COUPON_ISSUE);
    cairn_tx_id_bytes(coupon, w->buf + at, w->off[p->link + 1] - at);
  }
  plan_build(w, p, i, coupon, &tx);
  const secp256k1_keypair *kp = p->issuer != 0
                                    ? &w->keys.issuer_kp[p->issuer - 1]
                                    : &w->keys.member_kp[p->member];
  if (cairn_tx_sighash(msg, &tx) != CAIRN_OK ||
      !secp256k1_schnorrsig_sign32(ctx, tx.sig, msg, kp, NULL))
    return -1;
  if (cairn_tx_encode(w->buf + w->off[i], cap, &len, &tx) != CAIRN_OK)
    return -1;
  return len == cap ? 0 : -1;
}

/* Pass 1 signs all but COUPON_REDEEM, pass 2 the COUPON_REDEEMs (their
 * coupon ids are txids of transactions signed in pass 1). */
static int sign_range(bench_workload *w, const secp256k1_context *ctx,
                      size_t lo, size_t hi, int pass) {
  for (size_t i = lo; i < hi; i++) {
    bool second = w->plan[i].type == CAIRN_TX_COUPON_REDEEM;
    if (second != (pass == 2)) continue;
    if (sign_one(w, ctx, i) != 0) return -1;
  }
  return 0;
}

typedef int (*par_fn)(bench_workload *w, const secp256k1_context *ctx,
                      size_t lo, size_t hi, int pass);

typedef struct par_job {
  bench_workload *w;
  par_fn fn;
  size_t lo, hi; /* items lo .. hi - 1 */
  int pass;
  int rc; /* out: 0 when every item was done */
} par_job;

/* One worker: its own randomized signing context over its own range. */
static void *par_main(void *arg) {
  par_job *j = arg;
  uint8_t seed[32];
  j->rc = -1;
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  if (ctx == NULL) return NULL;
  randombytes_buf(seed, sizeof seed);
  if (secp256k1_context_randomize(ctx, seed))
    j->rc = j->fn(j->w, ctx, j->lo, j->hi, j->pass);
  secp256k1_context_destroy(ctx);
  return NULL;
}

/* fn over items 0..n-1, split into one contiguous range per thread; a
 * range whose thread cannot be started runs on the calling thread. */
static int par_for(bench_workload *w, size_t n, par_fn fn, int pass) {
  par_job jobs[PAR_THREADS_MAX];
  pthread_t tid[PAR_THREADS_MAX];
  bool started[PAR_THREADS_MAX];
  unsigned t = w->info.threads;
  assert(t >= 1 && t <= PAR_THREADS_MAX);
  for (unsigned k = 0; k < t; k++) {
    jobs[k] = (par_job){w, fn, n * k / t, n * (k + 1) / t, pass, -1};
    started[k] = pthread_create(&tid[k], NULL, par_main, &jobs[k]) == 0;
    if (!started[k]) par_main(&jobs[k]);
  }
  int rc = 0;
  for (unsigned k = 0; k < t; k++) {
    if (started[k]) pthread_join(tid[k], NULL);
    if (jobs[k].rc != 0) rc = -1;
  }
  return rc;
}

/* The issuers' key pairs and the agreement ids, on the calling thread. */
static int workload_fixed(bench_workload *w) {
  secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  int rc = ctx != NULL ? 0 : -1;
  for (uint32_t b = 0; rc == 0 && b < BRANDS; b++)
    rc = key_derive(ctx, "issuer", b + 1, &w->keys.issuer_kp[b],
                    w->keys.issuer_pk[b]);
  if (ctx != NULL) secp256k1_context_destroy(ctx);
  for (uint32_t a = 0; a < BRANDS; a++) {
    for (uint32_t b = 0; b < BRANDS; b++) {
      cairn_agreement_terms t;
      if (a == b) continue;
      agreement_terms(&t, a + 1, b + 1);
      cairn_agreement_id(w->agreement[a][b], &t);
    }
  }
  return rc;
}

static unsigned online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) return 1;
  return n > (long)PAR_THREADS_MAX ? PAR_THREADS_MAX : (unsigned)n;
}

/* Secret keys and plans are only needed until everything is signed. */
static void workload_drop_secrets(bench_workload *w) {
  size_t members = w->info.members;
  if (w->keys.member_kp != NULL)
    sodium_memzero(w->keys.member_kp, members * sizeof *w->keys.member_kp);
  sodium_memzero(w->keys.issuer_kp, sizeof w->keys.issuer_kp);
  free(w->keys.member_kp);
  free(w->keys.member_pk);
  free(w->plan);
  w->keys.member_kp = NULL;
  w->keys.member_pk = NULL;
  w->plan = NULL;
}

void bench_workload_free(bench_workload *w) {
  if (w == NULL) return;
  workload_drop_secrets(w);
  free(w->buf);
  free(w->off);
  free(w->txs);
  free(w);
}

static bench_workload *workload_alloc(uint32_t members, uint64_t ntx) {
  bench_workload *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->info.members = members;
  w->info.txs = ntx;
  w->info.threads = online_cpus();
  w->plan = calloc((size_t)ntx, sizeof *w->plan);
  w->off = calloc((size_t)ntx + 1, sizeof *w->off);
  w->txs = calloc((size_t)ntx, sizeof *w->txs);
  w->keys.member_kp = calloc(members, sizeof *w->keys.member_kp);
  w->keys.member_pk = calloc(members, sizeof *w->keys.member_pk);
  if (w->plan && w->off && w->txs && w->keys.member_kp && w->keys.member_pk)
    return w;
  bench_workload_free(w);
  return NULL;
}

/* Generate in order, then derive the member keys, then sign. */
static int workload_fill(bench_workload *w, uint32_t members, uint64_t ntx) {
  double t0 = bench_now();
  int rc = workload_fixed(w);
  if (rc == 0) rc = workload_generate(w, members, ntx);
  double t1 = bench_now();
  if (rc == 0) rc = par_for(w, members, keys_range, 0);
  double t2 = bench_now();
  if (rc == 0) rc = par_for(w, w->n, sign_range, 1);
  if (rc == 0) rc = par_for(w, w->n, sign_range, 2);
  w->info.gen_s = t1 - t0;
  w->info.keys_s = t2 - t1;
  w->info.sign_s = bench_now() - t2;
  for (size_t i = 0; rc == 0 && i < w->n; i++) {
    w->txs[i].p = w->buf + w->off[i];
    w->txs[i].len = w->off[i + 1] - w->off[i];
  }
  return rc;
}

int bench_workload_make(bench_workload **out, uint32_t members, uint64_t ntx,
                        bench_workload_info *info) {
  *out = NULL;
  if (info != NULL) memset(info, 0, sizeof *info);
  if (members == 0 || members > BENCH_MEMBERS_MAX || ntx == 0 ||
      ntx > SIZE_MAX / CAIRN_TX_BYTES_MAX) {
    fprintf(stderr, "bench: %u members, %llu tx: out of range\n", members,
            (unsigned long long)ntx);
    return -1;
  }
  bench_workload *w = workload_alloc(members, ntx);
  int rc = w != NULL ? workload_fill(w, members, ntx) : -1;
  if (rc != 0) {
    fprintf(stderr, "bench: generating the workload failed (memory?)\n");
    bench_workload_free(w);
    return -1;
  }
  workload_drop_secrets(w);
  if (info != NULL) *info = w->info;
  *out = w;
  return 0;
}

/* ---- the timed runs ---- */

/* Genesis state plus `filler` accounts with a balance, written as the
 * chain writes a genesis (chain.c chain_init_genesis). */
static cairn_err store_prefill(cairn_store *s, const cairn_genesis *g,
                               uint64_t filler) {
  uint8_t ghash[CAIRN_HASH_BYTES], app[CAIRN_HASH_BYTES];
  uint8_t key[CAIRN_BALANCE_KEY_BYTES], val[8], acct[32], seed[8];
  size_t len = 0;
  cairn_view *v = NULL;
  uint8_t *bytes = malloc(CAIRN_GENESIS_BYTES_MAX);
  if (bytes == NULL) return CAIRN_ERR_NOMEM;
  cairn_err err = cairn_genesis_encode(bytes, CAIRN_GENESIS_BYTES_MAX, &len, g);
  if (err == CAIRN_OK) err = cairn_genesis_hash(ghash, g);
  if (err == CAIRN_OK) err = cairn_view_open(&v, s);
  if (err == CAIRN_OK) err = cairn_state_apply_genesis(v, g);
  cairn_be64_write(val, FILLER_BALANCE);
  for (uint64_t i = 0; err == CAIRN_OK && i < filler; i++) {
    cairn_be64_write(seed, i);
    cairn_tagged_hash(acct, "cairn-bench/filler", seed, sizeof seed);
    cairn_state_balance_key(key, acct, (uint32_t)(i % BRANDS) + 1);
    err = cairn_view_put(v, CAIRN_T_BALANCES, key, sizeof key, val, sizeof val);
  }
  if (err == CAIRN_OK) err = cairn_state_hash_next(app, ghash, v);
  if (err == CAIRN_OK)
    err = cairn_store_commit_genesis(s, bytes, len, ghash, v, app, g->time_ms);
  cairn_view_close(v);
  free(bytes);
  return err;
}

/* Copy the file from to the new file to, durably. */
static int copy_file(const char *from, const char *to) {
  enum { CHUNK = 1 << 20 };
  int in = open(from, O_RDONLY), out = -1, rc = -1;
  char *buf = malloc(CHUNK);
  if (in >= 0) out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
  while (out >= 0 && buf != NULL) {
    ssize_t n = read(in, buf, CHUNK);
    if (n <= 0) {
      rc = n == 0 && fsync(out) == 0 ? 0 : -1;
      break;
    }
    if (write(out, buf, (size_t)n) != n) break;
  }
  if (out >= 0 && close(out) != 0) rc = -1;
  if (in >= 0) close(in);
  free(buf);
  return rc;
}

/* The genesis state with `filler` accounts, written once into a store in
 * dir and copied into dir2 (both created), so both timed paths start from
 * the same bytes. The map is sized up front: a genesis write that outgrew
 * it would be redone from scratch at every doubling. */
static int prefill_stores(const char *dir, const char *dir2,
                          const cairn_genesis *g, uint64_t filler) {
  char from[600], to[600];
  cairn_store *s = NULL;
  cairn_store_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.map_bytes_initial = filler * FILLER_MAP_BYTES;
  cairn_err err = cairn_store_open(&s, dir, &opts);
  if (err == CAIRN_OK) err = store_prefill(s, g, filler);
  if (err != CAIRN_OK)
    fprintf(stderr, "bench: store %s: %s (%s)\n", dir, cairn_strerror(err),
            s != NULL ? cairn_store_errstr(s) : "not opened");
  cairn_store_close(s);
  if (err != CAIRN_OK) return -1;
  snprintf(from, sizeof from, "%s/data.mdb", dir);
  snprintf(to, sizeof to, "%s/data.mdb", dir2);
  if (mkdir(dir2, 0700) != 0 || copy_file(from, to) != 0) {
    fprintf(stderr, "bench: copying %s to %s failed\n", from, to);
    return -1;
  }
  return 0;
}

/* A durable store in dir (empty, or holding a genesis state) and a chain
 * on it. */
static int chain_make(const char *dir, const cairn_genesis *g,
                      cairn_store **s, cairn_chain **c) {
  cairn_store_opts opts;
  memset(&opts, 0, sizeof opts); /* no_sync false: every commit is fsynced */
  *s = NULL;
  *c = NULL;
  cairn_err err = cairn_store_open(s, dir, &opts);
  if (err == CAIRN_OK) err = cairn_chain_open(c, *s, g);
  if (err != CAIRN_OK) {
    fprintf(stderr, "bench: store %s: %s (%s)\n", dir, cairn_strerror(err),
            *s != NULL ? cairn_store_errstr(*s) : "not opened");
    cairn_store_close(*s);
    *s = NULL;
    return -1;
  }
  cairn_chain_set_verify_threads(*c, 0);
  return 0;
}

static void count_reject(void *ctx, size_t index, cairn_err err) {
  uint64_t *n = ctx;
  if (*n == 0)
    fprintf(stderr, "bench: candidate %zu rejected: %s\n", index,
            cairn_errname(err));
  (*n)++;
}

/* Propose and commit every transaction of w; returns the seconds taken or
 * a negative value on error. */
static double run_propose(cairn_chain *c, const bench_workload *w,
                          const tu_vkey *vk, bench_node_result *out) {
  size_t off = 0;
  double t0 = bench_now();
  while (off < w->n) {
    cairn_proposal *p = NULL;
    cairn_commit cm;
    uint64_t rejected = 0;
    cairn_tip tip;
    cairn_chain_tip(c, &tip);
    cairn_err err =
        cairn_chain_propose(c, &w->txs[off], w->n - off, tip.time_ms + 1000,
                            vk->pk, count_reject, &rejected, &p);
    if (err != CAIRN_OK) {
      fprintf(stderr, "bench: propose: %s\n", cairn_strerror(err));
      return -1;
    }
    size_t used = p->header.tx_count + (size_t)rejected;
    tu_commit_sign(&cm, p->header.height, p->hash, vk);
    double tc = bench_now();
    err = cairn_chain_commit_proposal(c, p, &cm);
    out->commit_s += bench_now() - tc;
    cairn_proposal_free(p);
    if (err != CAIRN_OK || used == 0) {
      fprintf(stderr, "bench: commit: %s\n", cairn_strerror(err));
      return -1;
    }
    out->txs += used - (size_t)rejected;
    out->rejected += rejected;
    out->blocks++;
    off += used;
  }
  return bench_now() - t0;
}

/* Apply blocks 1..blocks of src (with their commits) to c; seconds taken
 * by cairn_chain_apply_block, or negative on error. */
static double run_apply(cairn_store *src, cairn_chain *c, uint64_t blocks) {
  double spent = 0;
  char why[512] = "";
  for (uint64_t h = 1; h <= blocks; h++) {
    cairn_rtxn *r = NULL;
    const uint8_t *b = NULL, *cm = NULL;
    size_t blen = 0, cmlen = 0;
    cairn_err err = cairn_store_read_begin(src, &r);
    if (err == CAIRN_OK) err = cairn_store_block(r, h, &b, &blen, &cm, &cmlen);
    double t0 = bench_now();
    if (err == CAIRN_OK)
      err = cairn_chain_apply_block(c, b, blen, cm, cmlen, why, sizeof why);
    spent += bench_now() - t0;
    if (r != NULL) cairn_store_read_end(r);
    if (err != CAIRN_OK) {
      fprintf(stderr, "bench: apply block %llu: %s (%s)\n",
              (unsigned long long)h, cairn_strerror(err), why);
      return -1;
    }
  }
  return spent;
}

static uint64_t disk_bytes(const char *dir) {
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (stat(path, &st) != 0) return 0;
  return (uint64_t)st.st_blocks * 512u;
}

/* Both timed paths over a generated workload. */
static int run_paths(const char *dir, const cairn_genesis *g, uint64_t filler,
                     const bench_workload *w, bench_node_result *out) {
  char dir2[512];
  cairn_store *s = NULL, *s2 = NULL;
  cairn_chain *c = NULL, *c2 = NULL;
  tu_vkey vk;
  snprintf(dir2, sizeof dir2, "%s-apply", dir);
  double t0 = bench_now();
  if (filler > 0 && prefill_stores(dir, dir2, g, filler) != 0) return -1;
  if (chain_make(dir, g, &s, &c) != 0) return -1;
  out->prefill_s = bench_now() - t0;
  out->base_bytes = disk_bytes(dir);
  tu_validator(&vk, 0);
  double cpu0 = bench_cpu_seconds();
  double dt = run_propose(c, w, &vk, out);
  out->cpu_s = bench_cpu_seconds() - cpu0;
  int rc = dt > 0 ? 0 : -1;
  if (rc == 0) out->propose_tx_s = (double)out->txs / dt;
  if (rc == 0) rc = chain_make(dir2, g, &s2, &c2);
  if (rc == 0) {
    double da = run_apply(s, c2, out->blocks);
    if (da > 0)
      out->apply_tx_s = (double)out->txs / da;
    else
      rc = -1;
  }
  cairn_chain_close(c2);
  cairn_store_close(s2);
  cairn_chain_close(c);
  cairn_store_close(s);
  out->disk_bytes = disk_bytes(dir);
  sodium_memzero(&vk, sizeof vk);
  return rc;
}

int bench_node_run(const char *dir, const bench_workload *w, uint64_t filler,
                   bench_node_result *out) {
  memset(out, 0, sizeof *out);
  out->filler = filler;
  cairn_genesis *g = malloc(sizeof *g);
  if (g == NULL) return -1;
  tu_genesis(g);
  int rc = run_paths(dir, g, filler, w, out);
  free(g);
  return rc;
}

double bench_audit_run(const char *dir, uint64_t *txs, double *busy) {
  char why[512] = "";
  *txs = 0;
  *busy = 0;
  cairn_audit_result *res = calloc(1, sizeof *res);
  if (res == NULL) return 0;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  double t0 = bench_now(), cpu0 = bench_cpu_seconds();
  cairn_err err = cairn_audit_datadir(dir, res, NULL, why, sizeof why);
  double dt = bench_now() - t0;
  if (dt > 0 && cpus > 0)
    *busy = (bench_cpu_seconds() - cpu0) / (dt * (double)cpus);
  double rate = 0;
  if (err != CAIRN_OK || !res->ok)
    fprintf(stderr, "bench: audit of %s failed: %s: %s\n", dir,
            cairn_strerror(err), why);
  else if (dt > 0) {
    *txs = res->txs;
    rate = (double)res->txs / dt;
  }
  free(res);
  return rate;
}
