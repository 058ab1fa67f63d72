/*
 * test_econ_random.c - a seeded, randomized property test of the whole
 * cross-brand economy (issue 3).
 *
 * Thousands of random transactions - valid and invalid, of every type -
 * over 3 brands and 100 members, in many blocks: each block starts with
 * cairn_state_begin_block (timed-out holds) and may jump a day of block
 * time (the per-day issue limit) and expires points (lots, fixed or
 * rolling, as random POLICY transactions set). The generator reads the state to make
 * most transactions plausible (amounts near the balance, open holds, real
 * ISSUE ids, agreements both sides signed) and then spoils a share of them
 * (a wrong signer, one point too many, an unknown id, an expired window).
 * Two properties are checked:
 *   - a rejected transaction changes nothing: the view's digest and change
 *     count are the same before and after;
 *   - conservation holds after every block: for every brand, issued minus
 *     every outflow equals the balances plus the held points
 *     (cairn_state_check_conservation_view).
 * The run must accept and reject a good share of transactions and accept
 * every transaction type at least once, so it cannot pass by doing nothing.
 * The seed is printed; CAIRN_TEST_SEED=<seed> replays a run exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cairn/state.h"
#include "cairn/view.h"
#include "testutil.h"

#define R_MEMBERS 100
#define R_BLOCKS 300
#define R_TXS_PER_BLOCK 20
#define R_HOLDS_MAX 512
#define R_ISSUES_MAX 4096
#define R_TERMS 4

typedef struct world {
  cairn_view *v;
  cairn_exec_ctx ctx;
  tu_key iss[4];
  tu_key m[R_MEMBERS];
  uint8_t holds[R_HOLDS_MAX][32]; /* ids of holds ever opened */
  size_t n_holds;
  uint8_t issues[R_ISSUES_MAX][32]; /* ids of accepted ISSUEs */
  size_t n_issues;
  cairn_agreement_terms terms[R_TERMS];
  uint64_t rng;
  size_t accepted[CAIRN_TX_TYPE_MAX + 1];
  size_t rejected[CAIRN_TX_TYPE_MAX + 1];
} world;

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t below(world *w, uint64_t n) { return rng_next(&w->rng) % n; }
static bool chance(world *w, unsigned percent) { return below(w, 100) < percent; }

static uint64_t test_seed(void) {
  const char *env = getenv("CAIRN_TEST_SEED");
  uint64_t seed;
  if (env != NULL) return strtoull(env, NULL, 10);
  randombytes_buf(&seed, sizeof seed);
  return seed;
}

static uint32_t rand_brand(world *w) { return 1 + (uint32_t)below(w, 3); }
static const tu_key *rand_member(world *w) {
  return &w->m[below(w, R_MEMBERS)];
}

static uint64_t next_seq(world *w, const tu_key *k) {
  uint64_t last = 0;
  assert_int_equal(cairn_state_sequence(w->v, k->pk, &last), CAIRN_OK);
  /* Mostly right; sometimes a replay or a gap. */
  if (chance(w, 3) && last > 0) return last;
  if (chance(w, 2)) return last + 2;
  return last + 1;
}

static uint64_t balance(world *w, const tu_key *k, uint32_t brand) {
  uint64_t x = 0;
  assert_int_equal(cairn_state_balance(w->v, k->pk, brand, &x), CAIRN_OK);
  return x;
}

/* An amount around what the sender has: often affordable, sometimes all
 * of it, sometimes one too many, rarely huge. */
static uint64_t rand_amount(world *w, uint64_t have) {
  uint64_t r = below(w, 100);
  if (r < 10 && have > 0) return have;
  if (r < 16) return have < UINT64_MAX ? have + 1 : have;
  if (r < 18) return UINT64_MAX - below(w, 10);
  if (r < 70 && have > 0) return 1 + below(w, have);
  return 1 + below(w, 200);
}

/* The signer of a brand operation: its issuer, or sometimes anyone. */
static const tu_key *issuer_or_not(world *w, uint32_t brand) {
  if (chance(w, 8)) return chance(w, 50) ? rand_member(w) : &w->iss[rand_brand(w)];
  return &w->iss[brand];
}

static void tx_begin(world *w, cairn_tx *tx, uint8_t type, const tu_key *k) {
  tu_tx_init(tx, type, k->pk, next_seq(w, k));
  tx->expiry_height = chance(w, 2) && w->ctx.height > 1 ? w->ctx.height - 1
                                                       : w->ctx.height + 5;
  if (chance(w, 10)) { /* a client reference, sometimes reused */
    tx->client_ref_len = 2;
    tx->client_ref[0] = 'r';
    tx->client_ref[1] = (uint8_t)('a' + below(w, 20));
  }
}

static void gen_issue(world *w, cairn_tx *tx) {
  uint32_t b = rand_brand(w);
  tx_begin(w, tx, CAIRN_TX_ISSUE, issuer_or_not(w, b));
  tx->u.issue.brand = b;
  memcpy(tx->u.issue.to, rand_member(w)->pk, 32);
  tx->u.issue.amount = chance(w, 2) ? UINT64_MAX / 4 : 1 + below(w, 500);
}

static void gen_transfer_or_redeem(world *w, cairn_tx *tx) {
  const tu_key *k = rand_member(w);
  uint32_t b = rand_brand(w);
  uint64_t amount = rand_amount(w, balance(w, k, b));
  if (chance(w, 50)) {
    tx_begin(w, tx, CAIRN_TX_TRANSFER, k);
    tx->u.transfer.brand = b;
    memcpy(tx->u.transfer.to, rand_member(w)->pk, 32);
    tx->u.transfer.amount = amount;
  } else {
    tx_begin(w, tx, CAIRN_TX_REDEEM, k);
    tx->u.redeem.brand = b;
    tx->u.redeem.amount = amount;
  }
}

static void gen_policy(world *w, cairn_tx *tx) {
  uint32_t b = rand_brand(w);
  tx_begin(w, tx, CAIRN_TX_POLICY, issuer_or_not(w, b));
  tx->u.policy.brand = b;
  tx->u.policy.flags = (uint8_t)(chance(w, 80) ? CAIRN_BRAND_FLAG_TRANSFERABLE
                                               : 0);
  if (chance(w, 5)) tx->u.policy.flags |= CAIRN_BRAND_FLAG_NO_PARTNERS;
  tx->u.policy.policy.max_issue_per_tx = chance(w, 50) ? 0 : 100 + below(w, 400);
  tx->u.policy.policy.max_issue_per_day = chance(w, 50) ? 0 : 500 + below(w, 3000);
  /* Mostly no expiry, else fixed or rolling over a few blocks. */
  tx->u.policy.policy.expiry_mode =
      chance(w, 60) ? CAIRN_EXPIRY_NONE : (uint8_t)(1 + below(w, 2));
  if (tx->u.policy.policy.expiry_mode != CAIRN_EXPIRY_NONE)
    tx->u.policy.policy.expiry_blocks = 2 + below(w, 30);
}

static void gen_hold(world *w, cairn_tx *tx) {
  const tu_key *k = rand_member(w);
  uint32_t b = rand_brand(w);
  tx_begin(w, tx, CAIRN_TX_HOLD, k);
  tx->u.hold.brand = b;
  tx->u.hold.amount = rand_amount(w, balance(w, k, b));
  /* Usually a few blocks ahead; sometimes already past. */
  tx->u.hold.timeout_height = chance(w, 5) && w->ctx.height > 1
                                   ? w->ctx.height - 1
                                   : w->ctx.height + below(w, 6);
}

/* A known hold id (open or not), or rarely a made-up one. */
static void pick_hold(world *w, uint8_t out[32], cairn_hold *h, bool *open) {
  *open = false;
  if (w->n_holds == 0 || chance(w, 5)) {
    memset(out, 0x77, 32);
    return;
  }
  memcpy(out, w->holds[below(w, w->n_holds)], 32);
  *open = cairn_state_hold(w->v, out, h) == CAIRN_OK;
}

static void gen_capture_or_release(world *w, cairn_tx *tx) {
  uint8_t id[32];
  cairn_hold h;
  bool open;
  pick_hold(w, id, &h, &open);
  uint32_t b = open ? h.brand : rand_brand(w);
  if (chance(w, 50)) {
    tx_begin(w, tx, CAIRN_TX_CAPTURE, issuer_or_not(w, b));
    memcpy(tx->u.capture.hold, id, 32);
    tx->u.capture.amount = open ? rand_amount(w, h.amount) : 1 + below(w, 9);
    if (tx->u.capture.amount == 0) tx->u.capture.amount = 1;
  } else {
    const tu_key *k = open && chance(w, 40) ? NULL : issuer_or_not(w, b);
    for (size_t i = 0; k == NULL && i < R_MEMBERS; i++)
      if (memcmp(w->m[i].pk, h.member, 32) == 0) k = &w->m[i];
    tx_begin(w, tx, CAIRN_TX_RELEASE, k != NULL ? k : &w->iss[b]);
    memcpy(tx->u.release.hold, id, 32);
  }
}

static void gen_reverse(world *w, cairn_tx *tx) {
  cairn_issue_record rec;
  uint8_t id[32];
  memset(id, 0x55, 32);
  if (w->n_issues > 0 && chance(w, 95))
    memcpy(id, w->issues[below(w, w->n_issues)], 32);
  bool known = cairn_state_issue_record(w->v, id, &rec) == CAIRN_OK;
  uint32_t b = known ? rec.brand : rand_brand(w);
  tx_begin(w, tx, CAIRN_TX_REVERSE, issuer_or_not(w, b));
  memcpy(tx->u.reverse.issue, id, 32);
  tx->u.reverse.amount = known ? rand_amount(w, rec.amount - rec.reversed)
                               : 1 + below(w, 50);
  if (tx->u.reverse.amount == 0) tx->u.reverse.amount = 1;
}

static void gen_agree_or_revoke(world *w, cairn_tx *tx) {
  const cairn_agreement_terms *t = &w->terms[below(w, R_TERMS)];
  bool from_side = chance(w, 50);
  uint32_t b = from_side ? t->from_brand : t->to_brand;
  if (chance(w, 96)) { /* revocations are final, so they are rare */
    tx_begin(w, tx, CAIRN_TX_AGREE, issuer_or_not(w, b));
    tx->u.agree.terms = *t;
  } else {
    tx_begin(w, tx, CAIRN_TX_REVOKE, issuer_or_not(w, b));
    cairn_agreement_id(tx->u.revoke.agreement, t);
  }
}

/* Whether every agreement of the run ended revoked. */
static bool all_revoked(world *w) {
  for (size_t i = 0; i < R_TERMS; i++) {
    uint8_t id[32];
    cairn_agreement a;
    cairn_agreement_id(id, &w->terms[i]);
    if (cairn_state_agreement(w->v, id, &a) != CAIRN_OK || !a.revoked)
      return false;
  }
  return true;
}

static void gen_redeem_at(world *w, cairn_tx *tx) {
  const cairn_agreement_terms *t = &w->terms[below(w, R_TERMS)];
  const tu_key *k = rand_member(w);
  tx_begin(w, tx, CAIRN_TX_REDEEM_AT, k);
  cairn_tx_redeem_at *r = &tx->u.redeem_at;
  r->from_brand = t->from_brand;
  /* Mostly the agreement's partner; sometimes the third brand. */
  r->at_brand = chance(w, 95) ? t->to_brand
                              : 6 - t->from_brand - t->to_brand;
  cairn_agreement_id(r->agreement, t);
  r->amount = rand_amount(w, balance(w, k, t->from_brand));
}

static void gen_settle(world *w, cairn_tx *tx) {
  const cairn_agreement_terms *t = &w->terms[below(w, R_TERMS)];
  uint64_t owed = 0;
  assert_int_equal(cairn_state_settlement(w->v, t->from_brand, t->to_brand,
                                          &owed), CAIRN_OK);
  tx_begin(w, tx, CAIRN_TX_SETTLE, issuer_or_not(w, t->to_brand));
  tx->u.settle.debtor_brand = t->from_brand;
  tx->u.settle.creditor_brand = t->to_brand;
  tx->u.settle.amount = rand_amount(w, owed);
}

static void gen_tx(world *w, cairn_tx *tx) {
  uint64_t r = below(w, 100);
  if (r < 22) gen_issue(w, tx);
  else if (r < 46) gen_transfer_or_redeem(w, tx);
  else if (r < 49) gen_policy(w, tx);
  else if (r < 59) gen_hold(w, tx);
  else if (r < 69) gen_capture_or_release(w, tx);
  else if (r < 75) gen_reverse(w, tx);
  else if (r < 81) gen_agree_or_revoke(w, tx);
  else if (r < 95) gen_redeem_at(w, tx);
  else gen_settle(w, tx);
  if (chance(w, 1)) tx->chain_id[0] = 'X'; /* another chain */
}

/* Apply one transaction; a rejection must leave the view untouched. */
static void run_tx(world *w, const cairn_tx *tx, uint64_t seed) {
  uint8_t txid[32], d0[32], d1[32];
  tu_txid(txid, tx);
  size_t n0 = cairn_view_change_count(w->v);
  assert_int_equal(cairn_view_digest(w->v, d0), CAIRN_OK);
  cairn_err err = cairn_state_apply_tx(w->v, &w->ctx, tx, txid);
  if (err != CAIRN_OK) {
    assert_int_equal(cairn_view_digest(w->v, d1), CAIRN_OK);
    if (memcmp(d0, d1, 32) != 0 || cairn_view_change_count(w->v) != n0)
      fail_msg("seed %llu: rejected %s (%s) changed the state",
               (unsigned long long)seed, cairn_tx_type_name(tx->type),
               cairn_errname(err));
    assert_true(err >= CAIRN_ERR_CHAIN_ID && err < CAIRN_ERR_BAD_HEIGHT);
    w->rejected[tx->type]++;
    return;
  }
  w->accepted[tx->type]++;
  if (tx->type == CAIRN_TX_HOLD && w->n_holds < R_HOLDS_MAX)
    memcpy(w->holds[w->n_holds++], txid, 32);
  if (tx->type == CAIRN_TX_ISSUE && w->n_issues < R_ISSUES_MAX)
    memcpy(w->issues[w->n_issues++], txid, 32);
}

static void world_init(world *w, cairn_genesis *g, uint64_t seed) {
  memset(w, 0, sizeof *w);
  w->rng = seed;
  tu_genesis(g);
  assert_int_equal(cairn_view_open(&w->v, NULL), CAIRN_OK);
  assert_int_equal(cairn_state_apply_genesis(w->v, g), CAIRN_OK);
  w->ctx.chain_id = (const uint8_t *)TU_CHAIN_ID;
  w->ctx.chain_id_len = strlen(TU_CHAIN_ID);
  w->ctx.height = 1;
  w->ctx.time_ms = TU_GENESIS_TIME_MS + 1000;
  for (uint32_t b = 1; b <= 3; b++) tu_issuer(&w->iss[b], b);
  for (uint32_t i = 0; i < R_MEMBERS; i++) tu_member(&w->m[i], i);
  /* coffee->books 80/100 open; pizza->coffee 3/2 capped; books->pizza in a
   * window; coffee->pizza 1/7. */
  w->terms[0] = (cairn_agreement_terms){1, 3, 80, 100, 0, 0, 0};
  w->terms[1] = (cairn_agreement_terms){2, 1, 3, 2, 0, 0, 5000};
  w->terms[2] = (cairn_agreement_terms){3, 2, 1, 1, 50, 200, 0};
  w->terms[3] = (cairn_agreement_terms){1, 2, 1, 7, 0, 0, 0};
}

static void check_conserved(world *w, uint64_t seed, uint64_t height) {
  char why[256];
  if (cairn_state_check_conservation_view(w->v, why, sizeof why) != CAIRN_OK)
    fail_msg("seed %llu height %llu: conservation: %s",
             (unsigned long long)seed, (unsigned long long)height, why);
}

static void test_random_economy(void **state) {
  (void)state;
  uint64_t seed = test_seed();
  printf("test_random_economy seed=%llu (set CAIRN_TEST_SEED to replay)\n",
         (unsigned long long)seed);
  world *w = malloc(sizeof *w);
  cairn_genesis *g = malloc(sizeof *g);
  assert_true(w != NULL && g != NULL);
  world_init(w, g, seed);
  for (uint64_t block = 0; block < R_BLOCKS; block++) {
    w->ctx.height = 1 + block;
    w->ctx.time_ms += chance(w, 10) ? CAIRN_DAY_MS : 1000;
    assert_int_equal(cairn_state_begin_block(w->v, &w->ctx), CAIRN_OK);
    check_conserved(w, seed, w->ctx.height);
    for (size_t i = 0; i < R_TXS_PER_BLOCK; i++) {
      cairn_tx tx;
      gen_tx(w, &tx);
      run_tx(w, &tx, seed);
    }
    check_conserved(w, seed, w->ctx.height);
  }
  size_t acc = 0, rej = 0;
  for (uint8_t t = CAIRN_TX_TYPE_MIN; t <= CAIRN_TX_TYPE_MAX; t++) {
    acc += w->accepted[t];
    rej += w->rejected[t];
    if (t >= CAIRN_TX_COUPON_ISSUE && t <= CAIRN_TX_COUPON_REDEEM) continue;
    /* Staking has its own seeded random test (test_staking.c). */
    if (t > CAIRN_TX_SETTLE) continue;
    /* A run may revoke every agreement before one is ever signed by both
     * sides; then no REDEEM_AT can succeed, and rightly so, and without a
     * REDEEM_AT no brand owes another anything to SETTLE. */
    if ((t == CAIRN_TX_REDEEM_AT || t == CAIRN_TX_SETTLE) &&
        w->accepted[CAIRN_TX_REDEEM_AT] == 0 && all_revoked(w))
      continue;
    if (w->accepted[t] == 0)
      fail_msg("seed %llu: no %s was ever accepted",
               (unsigned long long)seed, cairn_tx_type_name(t));
  }
  uint64_t expired = 0;
  for (uint32_t b = 1; b <= 3; b++) {
    cairn_brand_stats st;
    assert_int_equal(cairn_state_brand_stats(w->v, b, &st), CAIRN_OK);
    expired += st.expired;
  }
  printf("test_random_economy: %zu accepted, %zu rejected, %llu points "
         "expired\n", acc, rej, (unsigned long long)expired);
  assert_true(expired > 0); /* expiry was exercised */
  assert_true(acc > R_BLOCKS * R_TXS_PER_BLOCK / 5);
  assert_true(rej > R_BLOCKS * R_TXS_PER_BLOCK / 5);
  cairn_view_close(w->v);
  free(g);
  free(w);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_economy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
