/*
 * cmd_tx.c - the commands that sign and submit transactions: issue,
 * transfer, redeem, coupon issue / transfer / redeem, and the operations
 * of the cross-brand economy (policy; hold, capture, release; reverse;
 * agree, revoke, redeem --at, settle).
 *
 * Each command is only what is particular to it: its options, the checks
 * of its arguments and the payload they make. The path every transaction
 * takes - local checks first, then the key file's address, the node's
 * chain id and tip, brand names resolved to ids, sequence and expiry, and
 * only then the passphrase, the signature, the POST and the wait for the
 * commit - is txflow.c's, shared with the staking commands (cmd_stake.c).
 * So within a command, every argument that can be checked alone is
 * checked before cairn_txflow_connect, and what needs the node (a brand's
 * id, its current policy, the tip for a hold's timeout or a coupon's
 * relative expiry) right after it.
 */
#include "cairn/wallet.h"

#include <stdio.h>
#include <string.h>

#include "cairn/encoding.h"
#include "cairn/json.h"

/* Options shared by every transaction command. */
#define CAIRN_TX_COMMON_OPTS                                                   \
  CAIRN_TXFLOW_COMMON_OPTS(", so a retried command never applies twice")
#define CAIRN_TX_EXPIRY_OPT CAIRN_TXFLOW_EXPIRY_OPT

/* ---- issue and transfer ---- */

static const cairn_opt cairn_issue_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"brand", "NAME|ID", "the brand whose points are issued"},
    {"to", "ADDRESS", "the member who receives them"},
    {"amount", "N", "how many points"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_issue_spec = {
    "issue", "--key ISSUER_KEY --brand NAME|ID --to ADDRESS --amount N",
    "Issue (credit) a brand's points to a member; only the brand's issuer "
    "key may do this.",
    cairn_issue_opts, sizeof cairn_issue_opts / sizeof cairn_issue_opts[0],
    0, 0};

static const cairn_opt cairn_transfer_opts[] = {
    {"key", "FILE", "the sender's key file"},
    {"brand", "NAME|ID", "the brand whose points move"},
    {"to", "ADDRESS", "the member who receives them"},
    {"amount", "N", "how many points"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_transfer_spec = {
    "transfer", "--key FILE --brand B --to ADDRESS --amount N",
    "Move points to another member (for brands whose points are "
    "transferable).",
    cairn_transfer_opts,
    sizeof cairn_transfer_opts / sizeof cairn_transfer_opts[0], 0, 0};

static cairn_err cairn_credit_run(cairn_wallet *w, const cairn_cmd_spec *spec,
                                  const cairn_args *a, uint8_t type) {
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand, *to, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_credit c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, c.to));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &c.amount));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &c.brand));
  f.tx.type = type;
  if (type == CAIRN_TX_ISSUE) f.tx.u.issue = c;
  else f.tx.u.transfer = c;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_issue(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_issue_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_credit_run(w, &cairn_issue_spec, &a, CAIRN_TX_ISSUE);
  }
  return cairn_wallet_exit(w, err);
}

int cairn_cmd_transfer(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_transfer_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) {
    err = cairn_credit_run(w, &cairn_transfer_spec, &a, CAIRN_TX_TRANSFER);
  }
  return cairn_wallet_exit(w, err);
}

/* ---- redeem ---- */

static const cairn_opt cairn_redeem_opts[] = {
    {"key", "FILE", "the member's key file"},
    {"brand", "NAME|ID", "the brand whose points are spent"},
    {"amount", "N", "how many points"},
    {"order", "REF", "the order or receipt reference (at most 64 bytes)"},
    {"at", "NAME|ID", "redeem the --brand points at this partner brand "
                      "instead (needs --agreement)"},
    {"agreement", "ID", "the exchange agreement under which --at accepts "
                        "them (64 hex characters)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_redeem_spec = {
    "redeem", "--key FILE --brand B --amount N [--order REF] "
              "[--at PARTNER --agreement ID]",
    "Spend (burn) points at the brand, e.g. for an order at the till; with "
    "--at, spend them at a partner brand under an exchange agreement.",
    cairn_redeem_opts, sizeof cairn_redeem_opts / sizeof cairn_redeem_opts[0],
    0, 0};

/* redeem --at: a REDEEM_AT of --brand points at the partner --at. */
static cairn_err cairn_redeem_at_run(cairn_wallet *w, cairn_txflow *f,
                                     const cairn_tx_redeem *r,
                                     const char *brand, const char *at,
                                     const char *agreement) {
  cairn_tx_redeem_at x;
  memset(&x, 0, sizeof x);
  x.amount = r->amount;
  x.ref_len = r->ref_len;
  memcpy(x.ref, r->ref, r->ref_len);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--agreement", agreement, x.agreement));
  CAIRN_TRY(cairn_txflow_connect(w, f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &x.from_brand));
  CAIRN_TRY(cairn_txflow_brand(w, at, &x.at_brand));
  if (x.from_brand == x.at_brand) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--at must be another brand than --brand");
  }
  f->tx.type = CAIRN_TX_REDEEM_AT;
  f->tx.u.redeem_at = x;
  return cairn_txflow_finish(w, f, NULL);
}

static cairn_err cairn_redeem_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_redeem_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_redeem r;
  memset(&r, 0, sizeof r);
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &r.amount));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, r.ref, &r.ref_len));
  const char *at = cairn_wallet_opt(spec, a, "at");
  const char *agreement = cairn_wallet_opt(spec, a, "agreement");
  if ((at == NULL) != (agreement == NULL)) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "see: cairn redeem --help",
                             "--at and --agreement go together");
  }
  if (at != NULL) return cairn_redeem_at_run(w, &f, &r, brand, at, agreement);
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &r.brand));
  f.tx.type = CAIRN_TX_REDEEM;
  f.tx.u.redeem = r;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_redeem(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_redeem_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_redeem_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- coupon issue ---- */

static const cairn_opt cairn_coupon_issue_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"brand", "NAME|ID", "the issuing brand (the only place it can be "
                         "redeemed)"},
    {"to", "ADDRESS", "the member who receives the coupon"},
    {"percent", "P", "a percentage discount, 1 to 100"},
    {"value", "N", "a face value in the brand's minor unit (e.g. cents)"},
    {"expires-in", "BLOCKS", "the coupon expires this many blocks past the "
                             "tip (default 10000)"},
    {"expiry-height", "H", "the last height at which it can be redeemed"},
    {"label", "TEXT", "a label for people, e.g. \"Free medium coffee\" (at "
                      "most 64 bytes)"},
    {"non-transferable", NULL, "the member cannot pass the coupon on"},
    {"tx-expires-in", "BLOCKS", "the transaction expires this many blocks "
                                "past the tip (default 100)"},
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_coupon_issue_spec = {
    "coupon issue",
    "--key ISSUER_KEY --brand B --to ADDRESS (--percent P | --value N) "
    "[--expires-in BLOCKS | --expiry-height H] [--label TEXT] "
    "[--non-transferable]",
    "Issue a coupon to a member; prints the coupon id (the transaction id).",
    cairn_coupon_issue_opts,
    sizeof cairn_coupon_issue_opts / sizeof cairn_coupon_issue_opts[0], 0, 0};

/* The coupon's kind and value from --percent / --value. */
static cairn_err cairn_coupon_value(cairn_wallet *w, const cairn_args *a,
                                    cairn_tx_coupon_issue *c) {
  const cairn_cmd_spec *spec = &cairn_coupon_issue_spec;
  const char *pct = cairn_wallet_opt(spec, a, "percent");
  const char *val = cairn_wallet_opt(spec, a, "value");
  if ((pct == NULL) == (val == NULL)) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "see: cairn coupon issue --help",
                             "coupon issue needs exactly one of --percent P "
                             "or --value N");
  }
  if (val != NULL) {
    c->kind = CAIRN_COUPON_AMOUNT;
    return cairn_wallet_u64(w, "--value", val, 1, &c->value);
  }
  c->kind = CAIRN_COUPON_PERCENT;
  CAIRN_TRY(cairn_wallet_u64(w, "--percent", pct, 1, &c->value));
  if (c->value > CAIRN_COUPON_PERCENT_MAX) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--percent must be at most %d (got %s)",
                             CAIRN_COUPON_PERCENT_MAX, pct);
  }
  return CAIRN_OK;
}

/* The coupon's expiry: an explicit height, or blocks past the tip (which
 * needs the tip, so *relative says to add it later). */
static cairn_err cairn_coupon_expiry(cairn_wallet *w, const cairn_args *a,
                                     uint64_t *value, bool *relative) {
  const cairn_cmd_spec *spec = &cairn_coupon_issue_spec;
  const char *in = cairn_wallet_opt(spec, a, "expires-in");
  const char *at = cairn_wallet_opt(spec, a, "expiry-height");
  if (in != NULL && at != NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "give --expires-in or --expiry-height, not "
                             "both");
  }
  *relative = at == NULL;
  *value = CAIRN_WALLET_COUPON_EXPIRES_IN_DEFAULT;
  if (at != NULL) return cairn_wallet_u64(w, "--expiry-height", at, 1, value);
  if (in != NULL) return cairn_wallet_u64(w, "--expires-in", in, 1, value);
  return CAIRN_OK;
}

static cairn_err cairn_coupon_issue_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_coupon_issue_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "tx-expires-in", &f));
  const char *brand, *to;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  cairn_tx_coupon_issue c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, c.to));
  CAIRN_TRY(cairn_coupon_value(w, a, &c));
  bool relative = false;
  CAIRN_TRY(cairn_coupon_expiry(w, a, &c.expiry_height, &relative));
  CAIRN_TRY(cairn_txflow_text(w, "--label", cairn_wallet_opt(spec, a, "label"),
                              CAIRN_LABEL_BYTES_MAX, c.label, &c.label_len));
  c.transferable = cairn_wallet_opt(spec, a, "non-transferable") == NULL;
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &c.brand));
  if (relative) {
    if (c.expiry_height > UINT64_MAX - f.tip_height) {
      return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                               "--expires-in is too large");
    }
    c.expiry_height += f.tip_height;
  }
  f.tx.type = CAIRN_TX_COUPON_ISSUE;
  f.tx.u.coupon_issue = c;
  f.id_name = "coupon";
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_coupon_issue(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_coupon_issue_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_coupon_issue_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- coupon transfer ---- */

static const cairn_opt cairn_coupon_transfer_opts[] = {
    {"key", "FILE", "the coupon owner's key file"},
    {"coupon", "ID", "the coupon id (64 hex characters)"},
    {"to", "ADDRESS", "the member who receives it"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_coupon_transfer_spec = {
    "coupon transfer", "--key FILE --coupon ID --to ADDRESS",
    "Give a (transferable) coupon to another member.",
    cairn_coupon_transfer_opts,
    sizeof cairn_coupon_transfer_opts / sizeof cairn_coupon_transfer_opts[0],
    0, 0};

static cairn_err cairn_coupon_transfer_run(cairn_wallet *w,
                                           const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_coupon_transfer_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *coupon, *to;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "coupon", &coupon));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  cairn_tx_coupon_transfer c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--coupon", coupon, c.coupon));
  CAIRN_TRY(cairn_wallet_address(w, "--to", to, c.to));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_COUPON_TRANSFER;
  f.tx.u.coupon_transfer = c;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_coupon_transfer(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_coupon_transfer_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_coupon_transfer_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- coupon redeem ---- */

static const cairn_opt cairn_coupon_redeem_opts[] = {
    {"key", "FILE", "the coupon owner's key file"},
    {"coupon", "ID", "the coupon id (64 hex characters)"},
    {"brand", "NAME|ID", "the brand where it is being redeemed"},
    {"order", "REF", "the order or receipt reference (at most 64 bytes)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_coupon_redeem_spec = {
    "coupon redeem", "--key FILE --coupon ID --brand B [--order REF]",
    "Use a coupon at the brand that issued it; a coupon can be used once.",
    cairn_coupon_redeem_opts,
    sizeof cairn_coupon_redeem_opts / sizeof cairn_coupon_redeem_opts[0], 0,
    0};

static cairn_err cairn_coupon_redeem_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_coupon_redeem_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *coupon, *brand;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "coupon", &coupon));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  cairn_tx_coupon_redeem c;
  memset(&c, 0, sizeof c);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--coupon", coupon, c.coupon));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, c.ref, &c.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &c.brand));
  f.tx.type = CAIRN_TX_COUPON_REDEEM;
  f.tx.u.coupon_redeem = c;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_coupon_redeem(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_coupon_redeem_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_coupon_redeem_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- policy ---- */

static const cairn_opt cairn_policy_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"brand", "NAME|ID", "the brand whose asset policy changes"},
    {"transferable", "yes|no", "may members move the points to each other"},
    {"partners", "yes|no", "may other brands accept the points (under an "
                           "agreement)"},
    {"expiry", "none|fixed|rolling", "how issued points expire"},
    {"expiry-blocks", "N", "the expiry period in blocks (fixed: after the "
                           "issue; rolling: after the member's last "
                           "activity)"},
    {"max-per-tx", "N", "largest ISSUE allowed (0 = no limit)"},
    {"max-per-day", "N", "most points issued per day of block time (0 = no "
                         "limit)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_policy_spec = {
    "policy",
    "--key ISSUER_KEY --brand B [--transferable yes|no] [--partners yes|no] "
    "[--expiry none|fixed|rolling --expiry-blocks N] [--max-per-tx N] "
    "[--max-per-day N]",
    "Replace a brand's asset policy; options not given keep their current "
    "values. Only the brand's issuer key may do this.",
    cairn_policy_opts, sizeof cairn_policy_opts / sizeof cairn_policy_opts[0],
    0, 0};

/* A yes|no option into one flag bit (set_when_yes: the bit means yes). */
static cairn_err cairn_policy_yes_no(cairn_wallet *w, const cairn_args *a,
                                     const char *name, uint8_t bit,
                                     bool set_when_yes, uint8_t *flags) {
  const char *v = cairn_wallet_opt(&cairn_policy_spec, a, name);
  if (v == NULL) return CAIRN_OK;
  bool yes = strcmp(v, "yes") == 0;
  if (!yes && strcmp(v, "no") != 0) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--%s takes yes or no (got '%s')", name, v);
  }
  if (yes == set_when_yes) *flags |= bit;
  else *flags &= (uint8_t)~bit;
  return CAIRN_OK;
}

/* The brand's current policy from GET /v1/brands (the starting point). */
static cairn_err cairn_policy_current(cairn_wallet *w, uint32_t id,
                                      cairn_tx_policy *p) {
  json_t *body = NULL, *brands = NULL;
  CAIRN_TRY(cairn_wallet_get(w, "/v1/brands", "brand list", &body));
  cairn_err err = cairn_wallet_field_array(w, body, "brands", &brands);
  size_t i;
  const json_t *b, *found = NULL;
  json_array_foreach(brands, i, b) {
    if (json_integer_value(json_object_get(b, "id")) == (json_int_t)id)
      found = b;
  }
  const json_t *pol = json_object_get(found, "policy");
  const char *mode = json_string_value(json_object_get(pol, "expiry"));
  if (err == CAIRN_OK && (pol == NULL || mode == NULL)) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP, NULL,
                            "the node did not report brand %u's policy",
                            (unsigned)id);
  } else if (err == CAIRN_OK) {
    p->brand = id;
    if (json_is_true(json_object_get(found, "transferable")))
      p->flags |= CAIRN_BRAND_FLAG_TRANSFERABLE;
    if (json_is_false(json_object_get(pol, "accept_by_partners")))
      p->flags |= CAIRN_BRAND_FLAG_NO_PARTNERS;
    p->policy.expiry_mode = strcmp(mode, "fixed") == 0     ? CAIRN_EXPIRY_FIXED
                            : strcmp(mode, "rolling") == 0 ? CAIRN_EXPIRY_ROLLING
                                                           : CAIRN_EXPIRY_NONE;
    if (cairn_json_get_u64(json_object_get(pol, "expiry_blocks"),
                           &p->policy.expiry_blocks) != CAIRN_OK ||
        cairn_json_get_u64(json_object_get(pol, "max_issue_per_tx"),
                           &p->policy.max_issue_per_tx) != CAIRN_OK ||
        cairn_json_get_u64(json_object_get(pol, "max_issue_per_day"),
                           &p->policy.max_issue_per_day) != CAIRN_OK)
      err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP, NULL,
                              "the node reported a malformed policy");
  }
  json_decref(body);
  return err;
}

/* --expiry and --expiry-blocks over the current policy. */
static cairn_err cairn_policy_expiry(cairn_wallet *w, const cairn_args *a,
                                     cairn_brand_policy *p) {
  const char *mode = cairn_wallet_opt(&cairn_policy_spec, a, "expiry");
  const char *blocks = cairn_wallet_opt(&cairn_policy_spec, a,
                                        "expiry-blocks");
  if (mode != NULL) {
    static const char *const names[] = {"none", "fixed", "rolling"};
    uint8_t m = 0;
    while (m <= CAIRN_EXPIRY_MODE_MAX && strcmp(mode, names[m]) != 0) m++;
    if (m > CAIRN_EXPIRY_MODE_MAX) {
      return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                               "--expiry takes none, fixed or rolling");
    }
    p->expiry_mode = m;
    if (m == CAIRN_EXPIRY_NONE) p->expiry_blocks = 0;
  }
  if (blocks != NULL) {
    CAIRN_TRY(cairn_wallet_u64(w, "--expiry-blocks", blocks, 1,
                               &p->expiry_blocks));
  }
  if (cairn_brand_policy_check(p) != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--expiry fixed or rolling needs "
                             "--expiry-blocks N; --expiry none takes none");
  }
  return CAIRN_OK;
}

static cairn_err cairn_policy_limits(cairn_wallet *w, const cairn_args *a,
                                     cairn_brand_policy *p) {
  const char *v = cairn_wallet_opt(&cairn_policy_spec, a, "max-per-tx");
  if (v != NULL) {
    CAIRN_TRY(cairn_wallet_u64(w, "--max-per-tx", v, 0, &p->max_issue_per_tx));
  }
  v = cairn_wallet_opt(&cairn_policy_spec, a, "max-per-day");
  if (v != NULL) {
    CAIRN_TRY(
        cairn_wallet_u64(w, "--max-per-day", v, 0, &p->max_issue_per_day));
  }
  return CAIRN_OK;
}

static cairn_err cairn_policy_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_policy_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  cairn_tx_policy p;
  memset(&p, 0, sizeof p);
  uint32_t id = 0;
  CAIRN_TRY(cairn_txflow_brand(w, brand, &id));
  CAIRN_TRY(cairn_policy_current(w, id, &p));
  CAIRN_TRY(cairn_policy_yes_no(w, a, "transferable",
                                CAIRN_BRAND_FLAG_TRANSFERABLE, true, &p.flags));
  CAIRN_TRY(cairn_policy_yes_no(w, a, "partners", CAIRN_BRAND_FLAG_NO_PARTNERS,
                                false, &p.flags));
  CAIRN_TRY(cairn_policy_expiry(w, a, &p.policy));
  CAIRN_TRY(cairn_policy_limits(w, a, &p.policy));
  f.tx.type = CAIRN_TX_POLICY;
  f.tx.u.policy = p;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_policy(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_policy_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_policy_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- holds: hold, capture, release ---- */

static const cairn_opt cairn_hold_opts[] = {
    {"key", "FILE", "the member's key file"},
    {"brand", "NAME|ID", "the brand (cashier) the points are held for"},
    {"amount", "N", "how many points to set aside"},
    {"order", "REF", "the order reference (at most 64 bytes)"},
    {"timeout-in", "BLOCKS", "the hold lapses this many blocks past the tip "
                             "(default 100)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_hold_spec = {
    "hold", "--key FILE --brand B --amount N [--order REF] "
            "[--timeout-in BLOCKS]",
    "Set points aside for an order (two-phase redemption); prints the hold "
    "id. The brand captures or releases it; unclaimed, it comes back after "
    "the timeout.",
    cairn_hold_opts, sizeof cairn_hold_opts / sizeof cairn_hold_opts[0], 0,
    0};

static cairn_err cairn_hold_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_hold_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *brand, *amount, *in = cairn_wallet_opt(spec, a, "timeout-in");
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "brand", &brand));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_hold h;
  memset(&h, 0, sizeof h);
  uint64_t timeout_in = CAIRN_WALLET_TX_EXPIRES_IN_DEFAULT;
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &h.amount));
  if (in != NULL) CAIRN_TRY(cairn_wallet_u64(w, "--timeout-in", in, 0,
                                             &timeout_in));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, h.ref, &h.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, brand, &h.brand));
  if (timeout_in > UINT64_MAX - f.tip_height - 1) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--timeout-in is too large");
  }
  h.timeout_height = f.tip_height + 1 + timeout_in;
  f.tx.type = CAIRN_TX_HOLD;
  f.tx.u.hold = h;
  f.id_name = "hold";
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_hold(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_hold_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_hold_run(w, &a);
  return cairn_wallet_exit(w, err);
}

static const cairn_opt cairn_capture_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"hold", "ID", "the hold id (64 hex characters)"},
    {"amount", "N", "how many of the held points to take (the rest go "
                    "back to the member)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_capture_spec = {
    "capture", "--key ISSUER_KEY --hold ID --amount N",
    "Complete a held redemption: burn N of the held points, return the rest.",
    cairn_capture_opts,
    sizeof cairn_capture_opts / sizeof cairn_capture_opts[0], 0, 0};

static const cairn_opt cairn_release_opts[] = {
    {"key", "FILE", "the brand issuer's key file (any time), or the "
                    "member's (from the timeout height on)"},
    {"hold", "ID", "the hold id (64 hex characters)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_release_spec = {
    "release", "--key FILE --hold ID",
    "Cancel a hold: all of its points go back to the member.",
    cairn_release_opts,
    sizeof cairn_release_opts / sizeof cairn_release_opts[0], 0, 0};

/* capture (with --amount) and release share their shape. */
static cairn_err cairn_hold_end_run(cairn_wallet *w,
                                    const cairn_cmd_spec *spec,
                                    const cairn_args *a, uint8_t type) {
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *hold, *amount = NULL;
  uint8_t id[CAIRN_HASH_BYTES];
  uint64_t n = 0;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "hold", &hold));
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--hold", hold, id));
  if (type == CAIRN_TX_CAPTURE) {
    CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
    CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &n));
  }
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = type;
  if (type == CAIRN_TX_CAPTURE) {
    memcpy(f.tx.u.capture.hold, id, sizeof id);
    f.tx.u.capture.amount = n;
  } else {
    memcpy(f.tx.u.release.hold, id, sizeof id);
  }
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_capture(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_capture_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help)
    err = cairn_hold_end_run(w, &cairn_capture_spec, &a, CAIRN_TX_CAPTURE);
  return cairn_wallet_exit(w, err);
}

int cairn_cmd_release(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_release_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help)
    err = cairn_hold_end_run(w, &cairn_release_spec, &a, CAIRN_TX_RELEASE);
  return cairn_wallet_exit(w, err);
}

/* ---- reverse ---- */

static const cairn_opt cairn_reverse_opts[] = {
    {"key", "FILE", "the brand issuer's key file"},
    {"issue", "TXID", "the ISSUE transaction that credited the points"},
    {"amount", "N", "how many of its points to claw back"},
    {"order", "REF", "the return's reference (at most 64 bytes)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_reverse_spec = {
    "reverse", "--key ISSUER_KEY --issue TXID --amount N [--order REF]",
    "Claw back points of a returned purchase. Never more than the ISSUE "
    "credited; points the member already spent are not taken (only what "
    "is left in the balance).",
    cairn_reverse_opts,
    sizeof cairn_reverse_opts / sizeof cairn_reverse_opts[0], 0, 0};

static cairn_err cairn_reverse_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_reverse_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *issue, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "issue", &issue));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_reverse r;
  memset(&r, 0, sizeof r);
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--issue", issue, r.issue));
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &r.amount));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, r.ref, &r.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_REVERSE;
  f.tx.u.reverse = r;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_reverse(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_reverse_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_reverse_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- exchange agreements and settlement ---- */

static const cairn_opt cairn_agree_opts[] = {
    {"key", "FILE", "the issuer key of either brand"},
    {"from", "NAME|ID", "the brand whose points are redeemed (A)"},
    {"to", "NAME|ID", "the brand that accepts them (B)"},
    {"rate", "NUM:DEN", "AMOUNT A points are worth floor(AMOUNT*NUM/DEN) B "
                        "points; 100 A = 80 B is 80:100"},
    {"valid-from", "H", "first height at which it applies (default 0)"},
    {"valid-until", "H", "last height at which it applies (default: open)"},
    {"cap", "N", "most A points redeemed under it (default: no cap)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_agree_spec = {
    "agree", "--key ISSUER_KEY --from A --to B --rate NUM:DEN "
             "[--valid-from H] [--valid-until H] [--cap N]",
    "Sign your brand's side of an exchange agreement; it is active once "
    "both brands signed identical terms. Prints the agreement id.",
    cairn_agree_opts, sizeof cairn_agree_opts / sizeof cairn_agree_opts[0], 0,
    0};

/* "NUM:DEN", both >= 1. */
static cairn_err cairn_agree_rate(cairn_wallet *w, const char *s,
                                  cairn_agreement_terms *t) {
  char num[24], den[24];
  const char *colon = strchr(s, ':');
  size_t n = colon != NULL ? (size_t)(colon - s) : 0;
  if (colon == NULL || n == 0 || n >= sizeof num ||
      strlen(colon + 1) >= sizeof den) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--rate takes NUM:DEN, e.g. 80:100");
  }
  memcpy(num, s, n);
  num[n] = '\0';
  snprintf(den, sizeof den, "%s", colon + 1);
  CAIRN_TRY(cairn_wallet_u64(w, "--rate numerator", num, 1, &t->rate_num));
  return cairn_wallet_u64(w, "--rate denominator", den, 1, &t->rate_den);
}

static cairn_err cairn_agree_terms(cairn_wallet *w, const cairn_args *a,
                                   cairn_agreement_terms *t) {
  const cairn_cmd_spec *spec = &cairn_agree_spec;
  const char *rate, *v;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "rate", &rate));
  CAIRN_TRY(cairn_agree_rate(w, rate, t));
  if ((v = cairn_wallet_opt(spec, a, "valid-from")) != NULL)
    CAIRN_TRY(cairn_wallet_u64(w, "--valid-from", v, 0,
                               &t->valid_from_height));
  if ((v = cairn_wallet_opt(spec, a, "valid-until")) != NULL)
    CAIRN_TRY(cairn_wallet_u64(w, "--valid-until", v, 1,
                               &t->valid_until_height));
  if ((v = cairn_wallet_opt(spec, a, "cap")) != NULL)
    CAIRN_TRY(cairn_wallet_u64(w, "--cap", v, 1, &t->cap));
  if (t->valid_until_height != 0 &&
      t->valid_until_height < t->valid_from_height) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--valid-until is before --valid-from");
  }
  return CAIRN_OK;
}

static cairn_err cairn_agree_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_agree_spec;
  cairn_txflow f;
  cairn_agreement_terms t;
  memset(&t, 0, sizeof t);
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *from, *to;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "from", &from));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "to", &to));
  CAIRN_TRY(cairn_agree_terms(w, a, &t));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, from, &t.from_brand));
  CAIRN_TRY(cairn_txflow_brand(w, to, &t.to_brand));
  if (t.from_brand == t.to_brand) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--from and --to must be different brands");
  }
  uint8_t id[CAIRN_HASH_BYTES];
  cairn_agreement_id(id, &t);
  cairn_hex_encode(f.id_hex, sizeof f.id_hex, id, sizeof id);
  f.id_name = "agreement";
  f.tx.type = CAIRN_TX_AGREE;
  f.tx.u.agree.terms = t;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_agree(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_agree_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_agree_run(w, &a);
  return cairn_wallet_exit(w, err);
}

static const cairn_opt cairn_revoke_opts[] = {
    {"key", "FILE", "the issuer key of either brand of the agreement"},
    {"agreement", "ID", "the agreement id (64 hex characters)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_revoke_spec = {
    "revoke", "--key ISSUER_KEY --agreement ID",
    "End an exchange agreement for good (either brand may).",
    cairn_revoke_opts, sizeof cairn_revoke_opts / sizeof cairn_revoke_opts[0],
    0, 0};

static cairn_err cairn_revoke_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_revoke_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *id;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "agreement", &id));
  CAIRN_TRY(cairn_wallet_hash_arg(w, "--agreement", id,
                                  f.tx.u.revoke.agreement));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  f.tx.type = CAIRN_TX_REVOKE;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_revoke(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_revoke_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_revoke_run(w, &a);
  return cairn_wallet_exit(w, err);
}

static const cairn_opt cairn_settle_opts[] = {
    {"key", "FILE", "the creditor brand's issuer key"},
    {"debtor", "NAME|ID", "the brand that owes (whose points were redeemed)"},
    {"creditor", "NAME|ID", "the brand that is owed (yours)"},
    {"amount", "N", "how much of the debt (in creditor points) was paid"},
    {"order", "REF", "the payment's reference (at most 64 bytes)"},
    CAIRN_TX_EXPIRY_OPT,
    CAIRN_TX_COMMON_OPTS,
};
static const cairn_cmd_spec cairn_settle_spec = {
    "settle", "--key CREDITOR_KEY --debtor A --creditor B --amount N "
              "[--order REF]",
    "Record that the debtor brand paid (part of) what it owes yours.",
    cairn_settle_opts, sizeof cairn_settle_opts / sizeof cairn_settle_opts[0],
    0, 0};

static cairn_err cairn_settle_run(cairn_wallet *w, const cairn_args *a) {
  const cairn_cmd_spec *spec = &cairn_settle_spec;
  cairn_txflow f;
  CAIRN_TRY(cairn_txflow_options(w, spec, a, "expires-in", &f));
  const char *debtor, *creditor, *amount;
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "debtor", &debtor));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "creditor", &creditor));
  CAIRN_TRY(cairn_txflow_need(w, spec, a, "amount", &amount));
  cairn_tx_settle st;
  memset(&st, 0, sizeof st);
  CAIRN_TRY(cairn_wallet_u64(w, "--amount", amount, 1, &st.amount));
  CAIRN_TRY(cairn_txflow_text(w, "--order", cairn_wallet_opt(spec, a, "order"),
                              CAIRN_REF_BYTES_MAX, st.ref, &st.ref_len));
  CAIRN_TRY(cairn_txflow_connect(w, &f));
  CAIRN_TRY(cairn_txflow_brand(w, debtor, &st.debtor_brand));
  CAIRN_TRY(cairn_txflow_brand(w, creditor, &st.creditor_brand));
  if (st.debtor_brand == st.creditor_brand) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE, NULL,
                             "--debtor and --creditor must differ");
  }
  f.tx.type = CAIRN_TX_SETTLE;
  f.tx.u.settle = st;
  return cairn_txflow_finish(w, &f, NULL);
}

int cairn_cmd_settle(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_settle_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_settle_run(w, &a);
  return cairn_wallet_exit(w, err);
}
