/*
 * cmd_proof.c - `cairn proof TXID` and `cairn verify-proof FILE`:
 * inclusion proofs that a member, a brand or an auditor can keep and check
 * later without any node.
 *
 * `cairn proof` asks the node for the transaction's location, the raw block
 * and commit, and the genesis validator set (the set in force at every
 * height until validator-set changes exist), and assembles the proof with
 * libcairn (ledger/proof.c). It trusts nothing the node says beyond the raw
 * bytes: the txid list is rebuilt from the block itself rather than taken
 * from the node's "txids" field, the audit path is computed here, and the
 * finished proof is verified before it is written, so a node serving
 * inconsistent data is caught at once (exit 3) instead of producing a file
 * that fails later in someone else's hands. That check uses the node's own
 * genesis, so it proves consistency, not trust: trust comes from the anchor
 * the verifier brings.
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
} cairn_proof_fetch;

static void cairn_proof_fetch_free(cairn_proof_fetch *f) {
  free(f->block);
  free(f->commit);
  free(f->genesis);
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

/* Assemble and self-check the proof. */
static cairn_err cairn_proof_assemble(cairn_wallet *w, const char *txid_hex,
                                      const uint8_t txid[32],
                                      const cairn_proof_fetch *f,
                                      cairn_proof *p, cairn_proof_result *r) {
  char why[CAIRN_PROOF_WHY_BYTES];
  cairn_err err = cairn_proof_build(p, f->block, f->block_len, f->commit,
                                    f->commit_len, &f->genesis->validators,
                                    txid);
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
  cairn_proof_anchor anchor = {.genesis = f->genesis, .block_hash = NULL};
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

/* Print the proof, or write it to out_path and say so. */
static cairn_err cairn_proof_emit(cairn_wallet *w, const cairn_proof *p,
                                  const cairn_proof_result *r,
                                  const char *out_path) {
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
    json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "txid", txid,
                          "height", (json_int_t)r->header.height, "position",
                          (json_int_t)p->position, "tx_count",
                          (json_int_t)p->tx_count, "block_hash", hash,
                          "file", out_path);
    if (j != NULL) cairn_wallet_print_json(j);
    json_decref(j);
  } else if (err == CAIRN_OK && out_path != NULL) {
    printf("proof of transaction %s (block %llu, position %u of %u) written "
           "to %s\n", txid, (unsigned long long)r->header.height,
           (unsigned)p->position, (unsigned)p->tx_count, out_path);
  }
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
  if (err == CAIRN_OK) err = cairn_proof_assemble(w, hex, txid, &f, p, r);
  if (err == CAIRN_OK) {
    err = cairn_proof_emit(w, p, r, cairn_wallet_opt(&cairn_proof_spec, a,
                                                     "out"));
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
    "signatures, against a genesis or a block hash you trust. Exit 0 if the "
    "proof holds, 1 if it does not or a file cannot be read, 2 for usage "
    "errors.",
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
