/*
 * cmd_proof.c - `cairn proof TXID` and `cairn verify-proof FILE`:
 * inclusion proofs that a member, a brand or an auditor can keep and check
 * later without any node.
 *
 * `cairn proof` asks the node for the transaction's location, the raw block
 * and commit, the validator set in force at the block's height
 * (GET /v1/validators/at/{height}: the set changes with bonding, admission
 * and jailing; a node too old to serve it gets the genesis set, which the
 * header check below then has to accept) and the genesis, and assembles
 * the proof with libcairn
 * (ledger/proof.c). It trusts nothing the node says beyond the raw bytes:
 * the txid list is rebuilt from the block itself rather than taken from
 * the node's "txids" field, the audit path is computed here, the set must
 * hash to the validators_hash of the block's own header, and the finished
 * proof is verified before it is written, so a node serving inconsistent
 * data is caught at once (exit 3) instead of producing a file that fails
 * later in someone else's hands. That check uses the node's own genesis
 * while the block's set is the genesis set, and the block's own hash once
 * the set has changed (a genesis cannot vouch for a later set: proof.c),
 * so it proves consistency, not trust: trust comes from the anchor the
 * verifier brings. For a block after a set change the command says that
 * the proof must be verified against a trusted block hash.
 *
 * `cairn verify-proof` is purely local: it reads the proof file and a trust
 * anchor the user supplies - a genesis file (--genesis) or a block hash
 * (--block-hash) - and prints a verdict that starts with "proof OK" or
 * "proof INVALID" (easy to grep), plus what was proven in words. A proof
 * that fails, or a proof file that is malformed, is exit 1 with the reason;
 * an unreadable proof or genesis file is also exit 1 (a failed operation,
 * not a key problem); a missing or doubled anchor is a usage error, exit 2.
 */
#include "cairn/wallet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/genesis.h"
#include "cairn/json.h"
#include "cairn/proof.h"

/* Sentences from the library fit in this. */
#define CAIRN_PROOF_WHY_BYTES 1024
/* One line describing a transaction. */
#define CAIRN_PROOF_LINE_BYTES 640

static const char cairn_proof_node_hint[] =
    "the node's data is inconsistent; check it with: cairn audit --data "
    "HOME/data";

/* ---- describing a transaction in one line ---- */

/* "brand 1 (coffee)", or "brand 1" when no genesis names it. */
static void cairn_proof_brand_text(char *out, size_t cap, uint32_t brand,
                                   const cairn_genesis *g) {
  const cairn_brand *b = g != NULL ? cairn_genesis_brand_by_id(g, brand)
                                   : NULL;
  if (b != NULL) snprintf(out, cap, "brand %u (%s)", (unsigned)brand, b->name);
  else snprintf(out, cap, "brand %u", (unsigned)brand);
}

/* An order reference: 'text' when printable ASCII, else hex. */
static void cairn_proof_ref_text(char *out, size_t cap, const uint8_t *p,
                                 size_t n) {
  bool printable = true;
  for (size_t i = 0; i < n; i++) printable &= p[i] >= 0x20 && p[i] <= 0x7e;
  if (printable) {
    snprintf(out, cap, "'%.*s'", (int)n, (const char *)p);
  } else if (cap >= 2 * n + 5) {
    memcpy(out, "hex ", 4);
    cairn_hex_encode(out + 4, cap - 4, p, n);
  } else {
    snprintf(out, cap, "(%zu bytes)", n);
  }
}

/* The coupon transactions' line. */
static void cairn_proof_describe_coupon(char *out, size_t cap,
                                        const cairn_tx *tx, const char *from,
                                        const char *brand,
                                        const char *ref) {
  char to[CAIRN_ADDRESS_BUF], id[65];
  if (tx->type == CAIRN_TX_COUPON_ISSUE) {
    const cairn_tx_coupon_issue *c = &tx->u.coupon_issue;
    cairn_address_encode(to, sizeof to, c->to);
    snprintf(out, cap, "coupon_issue: a coupon worth %llu%s at %s from %s to "
             "%s, redeemable up to height %llu", (unsigned long long)c->value,
             c->kind == CAIRN_COUPON_PERCENT ? "%" : " (face value)", brand,
             from, to, (unsigned long long)c->expiry_height);
  } else if (tx->type == CAIRN_TX_COUPON_TRANSFER) {
    cairn_address_encode(to, sizeof to, tx->u.coupon_transfer.to);
    cairn_hex_encode(id, sizeof id, tx->u.coupon_transfer.coupon, 32);
    snprintf(out, cap, "coupon_transfer: coupon %s from %s to %s", id, from,
             to);
  } else {
    cairn_hex_encode(id, sizeof id, tx->u.coupon_redeem.coupon, 32);
    snprintf(out, cap, "coupon_redeem: coupon %s at %s by %s, order %s", id,
             brand, from, ref);
  }
}

/* One line: type, amount, brand, from and to. g may be NULL. */
static void cairn_proof_describe(char *out, size_t cap, const cairn_tx *tx,
                                 const cairn_genesis *g) {
  char from[CAIRN_ADDRESS_BUF], to[CAIRN_ADDRESS_BUF];
  char brand[CAIRN_NAME_BYTES_MAX + 32], ref[2 * CAIRN_REF_BYTES_MAX + 8];
  cairn_address_encode(from, sizeof from, tx->sender);
  ref[0] = '\0';
  switch (tx->type) {
    case CAIRN_TX_ISSUE:
    case CAIRN_TX_TRANSFER:
      cairn_proof_brand_text(brand, sizeof brand, tx->u.transfer.brand, g);
      cairn_address_encode(to, sizeof to, tx->u.transfer.to);
      snprintf(out, cap, "%s: %llu points of %s from %s to %s",
               cairn_tx_type_name(tx->type),
               (unsigned long long)tx->u.transfer.amount, brand, from, to);
      return;
    case CAIRN_TX_REDEEM:
      cairn_proof_brand_text(brand, sizeof brand, tx->u.redeem.brand, g);
      cairn_proof_ref_text(ref, sizeof ref, tx->u.redeem.ref,
                           tx->u.redeem.ref_len);
      snprintf(out, cap, "redeem: %llu points of %s by %s, order %s",
               (unsigned long long)tx->u.redeem.amount, brand, from, ref);
      return;
    case CAIRN_TX_COUPON_ISSUE:
      cairn_proof_brand_text(brand, sizeof brand, tx->u.coupon_issue.brand, g);
      cairn_proof_describe_coupon(out, cap, tx, from, brand, ref);
      return;
    case CAIRN_TX_COUPON_TRANSFER:
      cairn_proof_describe_coupon(out, cap, tx, from, "", ref);
      return;
    case CAIRN_TX_COUPON_REDEEM:
      cairn_proof_brand_text(brand, sizeof brand, tx->u.coupon_redeem.brand,
                             g);
      cairn_proof_ref_text(ref, sizeof ref, tx->u.coupon_redeem.ref,
                           tx->u.coupon_redeem.ref_len);
      cairn_proof_describe_coupon(out, cap, tx, from, brand, ref);
      return;
    default:
      snprintf(out, cap, "%s: sent by %s", cairn_tx_type_name(tx->type),
               from);
      return;
  }
}

/* ---- cairn proof TXID ---- */

static const cairn_opt cairn_proof_opts[] = {
    {"out", "FILE", "write the proof to FILE (JSON) instead of printing it"},
};
static const cairn_cmd_spec cairn_proof_spec = {
    "proof", "TXID [--out FILE]",
    "Build an inclusion proof of a committed transaction - its RFC 6962 "
    "audit path, the block header, the block's commit and the validator "
    "set - that anyone can check offline with: cairn verify-proof.",
    cairn_proof_opts, 1, 1, 1};

/* What the node says, as raw bytes (freed by cairn_proof_fetch_free). */
typedef struct cairn_proof_fetch {
  uint64_t height;
  uint64_t position;
  uint8_t *block;
  size_t block_len;
  uint8_t *commit;
  size_t commit_len;
  cairn_genesis *genesis;
  cairn_valset *valset; /* the set in force at height, checked canonical */
  bool valset_assumed;  /* the node has no /v1/validators/at: genesis's */
  bool genesis_set;     /* valset is the genesis set (hash and names) */
} cairn_proof_fetch;

static void cairn_proof_fetch_free(cairn_proof_fetch *f) {
  free(f->block);
  free(f->commit);
  free(f->genesis);
  free(f->valset);
  memset(f, 0, sizeof *f);
}

/* The transaction must be committed: its height and position. */
static cairn_err cairn_proof_locate(cairn_wallet *w, const char *txid,
                                    cairn_proof_fetch *f) {
  char path[96], what[96];
  json_t *t = NULL;
  const char *status = NULL;
  snprintf(path, sizeof path, "/v1/txs/%s", txid);
  snprintf(what, sizeof what, "transaction %.16s...", txid);
  CAIRN_TRY(cairn_wallet_get(w, path, what, &t));
  cairn_err err = cairn_wallet_field_str(w, t, "status", &status);
  if (err == CAIRN_OK && strcmp(status, "committed") != 0) {
    char hint[160];
    snprintf(hint, sizeof hint, "a proof exists once the transaction is in "
             "a block; see its status with: cairn tx %s", txid);
    err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOT_FOUND, hint,
                            "transaction %s is %s, not committed: there is "
                            "no block to prove it is in", txid, status);
  }
  if (err == CAIRN_OK) err = cairn_wallet_field_u64(w, t, "height", &f->height);
  if (err == CAIRN_OK) {
    err = cairn_wallet_field_u64(w, t, "position", &f->position);
  }
  json_decref(t);
  return err;
}

/* A hex field of a node response into a new buffer of at most max bytes. */
static cairn_err cairn_proof_hex_field(cairn_wallet *w, const json_t *obj,
                                       const char *field, size_t max,
                                       uint8_t **out, size_t *len) {
  const char *hex = NULL;
  *out = NULL;
  *len = 0;
  CAIRN_TRY(cairn_wallet_field_str(w, obj, field, &hex));
  size_t n = strlen(hex) / 2;
  uint8_t *buf = n <= max ? malloc(n + 1) : NULL;
  if (buf == NULL || cairn_hex_decode(buf, n, len, hex) != CAIRN_OK) {
    free(buf);
    *len = 0;
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP,
                             cairn_proof_node_hint, "unexpected response "
                             "from the node: field '%s' is not hex of at "
                             "most %zu bytes", field, max);
  }
  *out = buf;
  return CAIRN_OK;
}

/* The raw block and commit at f->height. */
static cairn_err cairn_proof_fetch_block(cairn_wallet *w,
                                         cairn_proof_fetch *f) {
  char path[64], what[64];
  json_t *b = NULL;
  snprintf(path, sizeof path, "/v1/blocks/%llu",
           (unsigned long long)f->height);
  snprintf(what, sizeof what, "block %llu", (unsigned long long)f->height);
  CAIRN_TRY(cairn_wallet_get(w, path, what, &b));
  cairn_err err = cairn_proof_hex_field(w, b, "raw", CAIRN_BLOCK_BYTES_MAX,
                                        &f->block, &f->block_len);
  if (err == CAIRN_OK) {
    err = cairn_proof_hex_field(w, b, "commit_raw", CAIRN_COMMIT_BYTES_MAX,
                                &f->commit, &f->commit_len);
  }
  json_decref(b);
  return err;
}

/* The node's genesis (for its validator set), checked against its hash. */
static cairn_err cairn_proof_fetch_genesis(cairn_wallet *w,
                                           cairn_proof_fetch *f) {
  json_t *j = NULL;
  const char *hash_hex = NULL;
  char why[CAIRN_PROOF_WHY_BYTES] = "", *text = NULL;
  uint8_t want[32], got[32];
  CAIRN_TRY(cairn_wallet_get(w, "/v1/genesis", "genesis", &j));
  cairn_err err = cairn_wallet_field_str(w, j, "hash", &hash_hex);
  if (err == CAIRN_OK && cairn_hex_decode_exact(want, 32, hash_hex) !=
                             CAIRN_OK) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP, NULL,
                            "unexpected response from the node: the genesis "
                            "hash is not 64 hex characters");
  }
  if (err == CAIRN_OK) {
    json_object_del(j, "hash"); /* not a genesis field */
    text = json_dumps(j, JSON_COMPACT);
    f->genesis = malloc(sizeof *f->genesis);
    if (text == NULL || f->genesis == NULL) {
      err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                              "out of memory");
    }
  }
  if (err == CAIRN_OK && cairn_genesis_from_json(f->genesis, text,
                                                 strlen(text), why,
                                                 sizeof why) != CAIRN_OK) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_GENESIS,
                            cairn_proof_node_hint, "the node's genesis "
                            "document is not valid: %s", why);
  }
  if (err == CAIRN_OK && (cairn_genesis_hash(got, f->genesis) != CAIRN_OK ||
                          memcmp(got, want, 32) != 0)) {
    char want_hex[65], got_hex[65]; /* hash_hex went with the "hash" field */
    cairn_hex_encode(want_hex, sizeof want_hex, want, 32);
    cairn_hex_encode(got_hex, sizeof got_hex, got, 32);
    err = cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_GENESIS,
                            cairn_proof_node_hint, "the node's genesis "
                            "document hashes to %s, not to the genesis hash "
                            "%s it reports", got_hex, want_hex);
  }
  free(text);
  json_decref(j);
  return err;
}

/* A malformed validator-set answer: exit 3. */
static cairn_err cairn_proof_bad_set(cairn_wallet *w, uint64_t height,
                                     const char *what) {
  return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP,
                           cairn_proof_node_hint, "unexpected response from "
                           "the node: the validator set at height %llu %s",
                           (unsigned long long)height, what);
}

/* One member of the node's set: 64 hex digits of key, a name of 1..32
 * bytes and a power (its range is checked with the whole set). */
static cairn_err cairn_proof_member(cairn_wallet *w, const json_t *o,
                                    uint64_t height, cairn_validator *v) {
  const char *pk = NULL, *name = NULL;
  memset(v, 0, sizeof *v);
  CAIRN_TRY(cairn_wallet_field_str(w, o, "pubkey", &pk));
  CAIRN_TRY(cairn_wallet_field_str(w, o, "name", &name));
  CAIRN_TRY(cairn_wallet_field_u64(w, o, "power", &v->power));
  size_t n = strlen(name);
  if (cairn_hex_decode_exact(v->pubkey, CAIRN_ED25519_PUBKEY_BYTES, pk) !=
      CAIRN_OK) {
    return cairn_proof_bad_set(w, height, "has a key that is not 64 hex "
                               "characters");
  }
  if (n == 0 || n > CAIRN_NAME_BYTES_MAX) {
    return cairn_proof_bad_set(w, height, "has a name of 0 or more than 32 "
                               "characters");
  }
  v->name_len = (uint8_t)n;
  memcpy(v->name, name, n + 1);
  return CAIRN_OK;
}

/* The members of a set answer into f->valset, in canonical form
 * (ascending keys, powers and total in range). */
static cairn_err cairn_proof_parse_valset(cairn_wallet *w, const json_t *b,
                                          cairn_proof_fetch *f) {
  json_t *set = NULL;
  CAIRN_TRY(cairn_wallet_field_array(w, b, "set", &set));
  size_t n = json_array_size(set);
  if (n == 0 || n > CAIRN_VALIDATORS_MAX) {
    return cairn_proof_bad_set(w, f->height, "has no members or more than "
                               "128");
  }
  for (size_t i = 0; i < n; i++) {
    CAIRN_TRY(cairn_proof_member(w, json_array_get(set, i), f->height,
                                 &f->valset->v[i]));
  }
  f->valset->n = (uint32_t)n;
  if (cairn_valset_check(f->valset) != CAIRN_OK) {
    return cairn_proof_bad_set(w, f->height, "is not in ascending key "
                               "order, or has a power out of range");
  }
  return CAIRN_OK;
}

/* The set in force at f->height, from GET /v1/validators/at/{height}. A
 * node that does not know the path (404 not_found: a cairnd from before
 * validator-set changes, whose chains keep the genesis set) gets the
 * genesis set. Either way, whether it is the set the block was signed
 * under is checked against the header once the block is decoded
 * (cairn_proof_assemble). */
static cairn_err cairn_proof_fetch_valset(cairn_wallet *w,
                                          cairn_proof_fetch *f) {
  char path[64], what[64];
  json_t *b = NULL;
  int status = 0;
  snprintf(path, sizeof path, "/v1/validators/at/%llu",
           (unsigned long long)f->height);
  snprintf(what, sizeof what, "the validator set at height %llu",
           (unsigned long long)f->height);
  f->valset = calloc(1, sizeof *f->valset);
  if (f->valset == NULL) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                             "out of memory");
  }
  cairn_err err = cairn_wallet_get_quiet(w, path, &status, &b);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, err, NULL, "cannot read "
                             "%s from the node: %s", what,
                             cairn_strerror(err));
  }
  const json_t *e = json_object_get(json_object_get(b, "error"), "code");
  if (status == 404 && json_is_string(e) &&
      strcmp(json_string_value(e), "not_found") == 0) {
    *f->valset = f->genesis->validators;
    f->valset_assumed = true;
  } else if (status < 200 || status > 299) {
    err = cairn_wallet_fail_api(w, status, b, what, NULL);
  } else {
    err = cairn_proof_parse_valset(w, b, f);
  }
  json_decref(b);
  return err;
}

/* Whether f's set is the genesis set, names included (what a genesis
 * anchor demands: specs/proof.md step 8). */
static bool cairn_proof_is_genesis_set(const cairn_proof_fetch *f) {
  const cairn_valset *a = f->valset, *g = &f->genesis->validators;
  bool same = a->n == g->n;
  for (uint32_t i = 0; same && i < a->n; i++) {
    same = memcmp(a->v[i].pubkey, g->v[i].pubkey,
                  CAIRN_ED25519_PUBKEY_BYTES) == 0 &&
           a->v[i].power == g->v[i].power &&
           strcmp(a->v[i].name, g->v[i].name) == 0;
  }
  return same;
}

/* The built proof's header names the fetched set (its validators_hash),
 * and is on the node's chain. Out: the block hash, the anchor for the
 * self-check when the set is not the genesis set. */
static cairn_err cairn_proof_check_header(cairn_wallet *w,
                                          const cairn_proof_fetch *f,
                                          const cairn_proof *p,
                                          uint8_t hash[32]) {
  cairn_block_header h;
  uint8_t vh[CAIRN_HASH_BYTES];
  char want[65], got[65];
  if (cairn_block_header_decode(&h, p->header, p->header_len) != CAIRN_OK ||
      cairn_block_hash(hash, &h) != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_CORRUPT,
                             cairn_proof_node_hint, "the header of block %llu "
                             "from the node does not decode",
                             (unsigned long long)f->height);
  }
  cairn_valset_hash(vh, f->valset);
  if (memcmp(vh, h.validators_hash, CAIRN_HASH_BYTES) != 0 &&
      f->valset_assumed) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_BAD_VALSET,
                             "update the node: its cairnd is older than "
                             "validator-set changes", "the node does not "
                             "serve GET /v1/validators/at/{height}, and "
                             "block %llu was not signed by the genesis "
                             "validator set", (unsigned long long)f->height);
  }
  if (memcmp(vh, h.validators_hash, CAIRN_HASH_BYTES) != 0) {
    cairn_hex_encode(want, sizeof want, h.validators_hash, 32);
    cairn_hex_encode(got, sizeof got, vh, 32);
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_BAD_VALSET,
                             cairn_proof_node_hint, "the node's validator "
                             "set for height %llu hashes to %s, but the "
                             "block's header names the set %s",
                             (unsigned long long)f->height, got, want);
  }
  if (h.chain_id_len != f->genesis->chain_id_len ||
      memcmp(h.chain_id, f->genesis->chain_id, h.chain_id_len) != 0) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_GENESIS_MISMATCH,
                             cairn_proof_node_hint, "block %llu from the "
                             "node is not on the chain of the node's "
                             "genesis (%s)", (unsigned long long)f->height,
                             f->genesis->chain_id);
  }
  return CAIRN_OK;
}

/* Assemble and self-check the proof. */
static cairn_err cairn_proof_assemble(cairn_wallet *w, const char *txid_hex,
                                      const uint8_t txid[32],
                                      cairn_proof_fetch *f, cairn_proof *p,
                                      cairn_proof_result *r) {
  char why[CAIRN_PROOF_WHY_BYTES];
  uint8_t hash[CAIRN_HASH_BYTES];
  cairn_err err = cairn_proof_build(p, f->block, f->block_len, f->commit,
                                    f->commit_len, f->valset, txid);
  if (err == CAIRN_ERR_NOT_FOUND) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, err, cairn_proof_node_hint,
                             "the node says transaction %s is in block %llu, "
                             "but that block does not contain it", txid_hex,
                             (unsigned long long)f->height);
  }
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, err, cairn_proof_node_hint,
                             "block %llu from the node does not decode: %s",
                             (unsigned long long)f->height,
                             cairn_strerror(err));
  }
  CAIRN_TRY(cairn_proof_check_header(w, f, p, hash));
  f->genesis_set = cairn_proof_is_genesis_set(f);
  cairn_proof_anchor anchor = {.genesis = f->genesis, .block_hash = NULL};
  if (!f->genesis_set) anchor = (cairn_proof_anchor){NULL, hash};
  err = cairn_proof_verify(r, p, &anchor, why, sizeof why);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, err, cairn_proof_node_hint,
                             "the node's data does not make a valid proof: "
                             "%s", why);
  }
  if (r->header.height != f->height || p->position != f->position) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_CORRUPT,
                             cairn_proof_node_hint, "the node says block "
                             "%llu position %llu, but the block is %llu and "
                             "the transaction at position %u",
                             (unsigned long long)f->height,
                             (unsigned long long)f->position,
                             (unsigned long long)r->header.height,
                             (unsigned)p->position);
  }
  return CAIRN_OK;
}

/* After a set change a genesis cannot vouch for the proof: say how to
 * check it (stderr, so the JSON on stdout stays as it is). */
static void cairn_proof_note_anchor(const cairn_proof_result *r,
                                    const char *out_path) {
  char hash[65];
  cairn_hex_encode(hash, sizeof hash, r->block_hash, 32);
  fprintf(stderr, "cairn: note: block %llu's validator set differs from "
          "genesis (the set changed at some height), so this proof cannot "
          "be verified against the genesis file; verify it against a "
          "trusted block hash: cairn verify-proof %s --block-hash HASH "
          "(this block's hash is %s: confirm it with a source you trust)\n",
          (unsigned long long)r->header.height,
          out_path != NULL ? out_path : "FILE", hash);
}

/* Print the proof, or write it to out_path and say so. */
static cairn_err cairn_proof_emit(cairn_wallet *w, const cairn_proof *p,
                                  const cairn_proof_result *r,
                                  const char *out_path, bool genesis_set) {
  char *text = NULL;
  if (cairn_proof_to_json(p, &text) != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                             "out of memory");
  }
  cairn_err err = CAIRN_OK;
  char txid[65], hash[65];
  cairn_hex_encode(txid, sizeof txid, r->txid, 32);
  cairn_hex_encode(hash, sizeof hash, r->block_hash, 32);
  if (out_path == NULL) {
    printf("%s\n", text);
  } else {
    size_t n = strlen(text);
    text[n] = '\n'; /* the NUL's byte carries the final newline */
    err = cairn_file_write_atomic(out_path, text, n + 1, 0644, false);
    text[n] = '\0';
    if (err != CAIRN_OK) {
      err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL,
                              "cannot write %s: %s", out_path,
                              cairn_strerror(err));
    }
  }
  if (err == CAIRN_OK && out_path != NULL && w->json) {
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:b}", "txid",
                          txid, "height", (json_int_t)r->header.height,
                          "position", (json_int_t)p->position, "tx_count",
                          (json_int_t)p->tx_count, "block_hash", hash,
                          "file", out_path, "genesis_set", (int)genesis_set);
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
  } else if (err == CAIRN_OK && out_path != NULL) {
    printf("proof of transaction %s (block %llu, position %u of %u) written "
           "to %s\n", txid, (unsigned long long)r->header.height,
           (unsigned)p->position, (unsigned)p->tx_count, out_path);
  }
  if (err == CAIRN_OK && !genesis_set) cairn_proof_note_anchor(r, out_path);
  free(text);
  return err;
}

static cairn_err cairn_proof_run(cairn_wallet *w, const cairn_args *a) {
  uint8_t txid[32];
  const char *hex = a->pos[0];
  CAIRN_TRY(cairn_wallet_hash_arg(w, "TXID", hex, txid));
  cairn_proof_fetch f;
  memset(&f, 0, sizeof f);
  cairn_proof *p = calloc(1, sizeof *p);
  cairn_proof_result *r = malloc(sizeof *r);
  cairn_err err = CAIRN_OK;
  if (p == NULL || r == NULL) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                            "out of memory");
  }
  if (err == CAIRN_OK) err = cairn_proof_locate(w, hex, &f);
  if (err == CAIRN_OK) err = cairn_proof_fetch_block(w, &f);
  if (err == CAIRN_OK) err = cairn_proof_fetch_genesis(w, &f);
  if (err == CAIRN_OK) err = cairn_proof_fetch_valset(w, &f);
  if (err == CAIRN_OK) err = cairn_proof_assemble(w, hex, txid, &f, p, r);
  if (err == CAIRN_OK) {
    err = cairn_proof_emit(w, p, r, cairn_wallet_opt(&cairn_proof_spec, a,
                                                     "out"), f.genesis_set);
  }
  cairn_proof_fetch_free(&f);
  free(p);
  free(r);
  return err;
}

int cairn_cmd_proof(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err = cairn_wallet_parse(w, &cairn_proof_spec, argc, argv, &a);
  if (err == CAIRN_OK && !a.help) err = cairn_proof_run(w, &a);
  return cairn_wallet_exit(w, err);
}

/* ---- cairn verify-proof FILE ---- */

static const cairn_opt cairn_verify_proof_opts[] = {
    {"genesis", "FILE", "trust this genesis document (e.g. HOME/genesis.json "
                        "from the operator)"},
    {"block-hash", "HEX", "trust this block hash (64 hex characters) "
                          "instead"},
};
static const cairn_cmd_spec cairn_verify_proof_spec = {
    "verify-proof", "FILE (--genesis FILE | --block-hash HEX)",
    "Check an inclusion proof offline, with no node: the transaction, its "
    "audit path, the block header and more than 2/3 of the validators' "
    "signatures, against a genesis or a block hash you trust. A genesis "
    "vouches only for blocks signed by the genesis validator set: after the "
    "set has changed, use --block-hash. Exit 0 if the proof holds, 1 if it "
    "does not or a file cannot be read, 2 for usage errors.",
    cairn_verify_proof_opts, 2, 1, 1};

/* The trust anchor from the options; g is filled for --genesis. */
static cairn_err cairn_verify_proof_anchor(cairn_wallet *w,
                                           const cairn_args *a,
                                           cairn_genesis *g,
                                           uint8_t hash[32],
                                           cairn_proof_anchor *anchor) {
  const char *gpath = cairn_wallet_opt(&cairn_verify_proof_spec, a, "genesis");
  const char *hex = cairn_wallet_opt(&cairn_verify_proof_spec, a,
                                     "block-hash");
  char why[CAIRN_PROOF_WHY_BYTES];
  memset(anchor, 0, sizeof *anchor);
  if ((gpath == NULL) == (hex == NULL)) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "see: cairn verify-proof --help",
                             gpath == NULL ? "verify-proof needs what to "
                             "trust: --genesis FILE or --block-hash HEX"
                             : "give either --genesis or --block-hash, not "
                             "both");
  }
  if (hex != NULL) {
    CAIRN_TRY(cairn_wallet_hash_arg(w, "--block-hash", hex, hash));
    anchor->block_hash = hash;
    return CAIRN_OK;
  }
  cairn_err err = cairn_genesis_load(g, gpath, why, sizeof why);
  if (err == CAIRN_ERR_NOT_FOUND || err == CAIRN_ERR_IO ||
      err == CAIRN_ERR_OVERSIZE) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL,
                             "cannot read the genesis file %s", why);
  }
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL,
                             "the genesis file %s is not valid: %s", gpath,
                             why);
  }
  anchor->genesis = g;
  return CAIRN_OK;
}

/* The verdict of a failed check: "proof INVALID: why" on stdout (or JSON),
 * the error on stderr, exit 1. */
static cairn_err cairn_verify_proof_invalid(cairn_wallet *w, cairn_err err,
                                            const char *why) {
  char verdict[CAIRN_PROOF_WHY_BYTES + 32];
  snprintf(verdict, sizeof verdict, "proof INVALID: %s", why);
  bool json = w->json;
  if (json) {
    json_t *j = json_pack("{s:b, s:{s:s, s:i, s:s}}", "valid", 0, "error",
                          "code", cairn_errname(err), "number", (int)err,
                          "message", verdict);
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
  } else {
    printf("%s\n", verdict);
  }
  w->json = false; /* the JSON verdict above already holds the error */
  err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL, "%s", verdict);
  w->json = json;
  return err;
}

/* Read and parse the proof file. */
static cairn_err cairn_verify_proof_read(cairn_wallet *w, const char *path,
                                         cairn_proof *p) {
  char *text = NULL, why[CAIRN_PROOF_WHY_BYTES];
  size_t len = 0;
  cairn_err err = cairn_file_read_all(path, CAIRN_PROOF_FILE_BYTES_MAX, &text,
                                      &len);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL,
                             "cannot read the proof file %s: %s", path,
                             cairn_strerror(err));
  }
  err = cairn_proof_from_json(p, text, len, why, sizeof why);
  free(text);
  if (err != CAIRN_OK) {
    char msg[CAIRN_PROOF_WHY_BYTES + 64];
    snprintf(msg, sizeof msg, "%s is not a well-formed proof: %s", path, why);
    return cairn_verify_proof_invalid(w, err, msg);
  }
  return CAIRN_OK;
}

static void cairn_verify_proof_ok(const cairn_wallet *w, const cairn_proof *p,
                                  const cairn_proof_result *r,
                                  const cairn_proof_anchor *anchor) {
  char txid[65], hash[65], line[CAIRN_PROOF_LINE_BYTES];
  cairn_hex_encode(txid, sizeof txid, r->txid, 32);
  cairn_hex_encode(hash, sizeof hash, r->block_hash, 32);
  cairn_proof_describe(line, sizeof line, &r->tx, anchor->genesis);
  if (!w->json) {
    printf("proof OK: transaction %s is at position %u of block %llu (%s), "
           "committed by validators holding %llu of %llu stake\n%s\n", txid,
           (unsigned)p->position, (unsigned long long)r->header.height, hash,
           (unsigned long long)r->signed_power,
           (unsigned long long)r->total_power, line);
    return;
  }
  json_t *j = json_pack(
      "{s:b, s:s, s:I, s:I, s:I, s:s, s:o, s:o, s:I, s:s, s:s, s:o}", "valid",
      1, "txid", txid, "height", (json_int_t)r->header.height, "position",
      (json_int_t)p->position, "tx_count", (json_int_t)p->tx_count,
      "block_hash", hash, "signed_power", cairn_json_u64(r->signed_power),
      "total_power", cairn_json_u64(r->total_power), "signers",
      (json_int_t)r->n_signers, "anchor",
      anchor->genesis != NULL ? "genesis" : "block_hash", "description", line,
      "tx", cairn_json_tx(&r->tx, r->txid));
  /* A header's chain id is any 1..32 bytes: text when printable, else hex
   * under "chain_id_hex" (the API's convention). */
  size_t n = r->header.chain_id_len;
  bool printable = true;
  for (size_t i = 0; i < n; i++) {
    printable &= r->header.chain_id[i] >= 0x20 && r->header.chain_id[i] <= 0x7e;
  }
  if (j != NULL) {
    json_object_set_new(j, printable ? "chain_id" : "chain_id_hex",
                        printable ? json_stringn((const char *)
                                                     r->header.chain_id, n)
                                  : cairn_json_hex(r->header.chain_id, n));
  }
  if (j != NULL) cairn_wallet_print_json(j);
  json_decref(j);
}

static cairn_err cairn_verify_proof_run(cairn_wallet *w, const cairn_args *a,
                                        cairn_genesis *g, cairn_proof *p) {
  uint8_t hash[32];
  cairn_proof_anchor anchor;
  cairn_proof_result r;
  char why[CAIRN_PROOF_WHY_BYTES];
  CAIRN_TRY(cairn_verify_proof_anchor(w, a, g, hash, &anchor));
  CAIRN_TRY(cairn_verify_proof_read(w, a->pos[0], p));
  cairn_err err = cairn_proof_verify(&r, p, &anchor, why, sizeof why);
  if (err == CAIRN_ERR_NOMEM) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL,
                             "out of memory");
  }
  if (err != CAIRN_OK) return cairn_verify_proof_invalid(w, err, why);
  cairn_verify_proof_ok(w, p, &r, &anchor);
  return CAIRN_OK;
}

int cairn_cmd_verify_proof(cairn_wallet *w, int argc, char **argv) {
  cairn_args a;
  cairn_err err =
      cairn_wallet_parse(w, &cairn_verify_proof_spec, argc, argv, &a);
  if (err != CAIRN_OK || a.help) return cairn_wallet_exit(w, err);
  cairn_genesis *g = malloc(sizeof *g);
  cairn_proof *p = calloc(1, sizeof *p);
  if (g == NULL || p == NULL) {
    err = cairn_wallet_fail(w, CAIRN_EXIT_FAILED, CAIRN_ERR_NOMEM, NULL,
                            "out of memory");
  } else {
    err = cairn_verify_proof_run(w, &a, g, p);
  }
  free(g);
  free(p);
  return cairn_wallet_exit(w, err);
}
