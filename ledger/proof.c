/*
 * proof.c - transaction inclusion proofs: assembling one from a block,
 * its two encodings (binary and JSON), and verifying one offline.
 *
 * A Cairn block header commits to its transactions through tx_root, an
 * RFC 6962 Merkle root over their ids, and the validators finalise the
 * header by signing its hash (the commit). So "this transaction is in a
 * finalised block" reduces to a short chain of checks anyone can redo:
 * the transaction's id, hashed up its audit path, gives the header's
 * tx_root; the header's hash is what the commit's signatures are over; and
 * the signers hold more than two thirds of the stake of a validator set
 * whose hash the header also carries. What remains is to decide which
 * validator set - or which block - to believe, and that is the trust
 * anchor the verifier brings: a genesis document it got from a source it
 * trusts, or the hash of the block itself, taken from somewhere it trusts.
 *
 * The set changes over a chain's life (bonding, admission, jailing), and a
 * header names only the hash of the set in force at its own height. So a
 * genesis vouches for a proof only while the block's set is still the
 * genesis set. A later set could be followed from genesis only by proving
 * each change against the set before it, and no header or commit carries
 * that link: the change is in the state, which a proof does not hold, and
 * the first block of a new set is signed by the new set alone. Rather than
 * accept a set it cannot trace, the verifier refuses such a proof under a
 * genesis anchor with a sentence that says why and what to do instead:
 * check it against a trusted block hash of the chain, which binds the set
 * through the header's validators_hash.
 *
 * A proof therefore carries raw bytes - the transaction, the header, the
 * commit - exactly as they were hashed and signed, plus the audit path and
 * the validator set. It stores nothing a verifier can compute (txid, block
 * hash, height), since a stored copy could only disagree with the bytes.
 * Every part is decoded by the same decoders the node uses and must
 * re-encode to exactly its bytes, so a proof cannot smuggle in a second
 * encoding of the same object.
 *
 * Verification runs in a fixed order (specs/proof.md, "Verification") and
 * stops at the first failure with a specific error and a sentence that
 * names the two values that disagree, because "invalid proof" alone tells
 * the holder of a tampered or truncated file nothing about what happened.
 * The authoritative checks are the library's own (cairn_merkle_verify,
 * cairn_commit_verify, cairn_tx_verify); when one fails, this file works out
 * the reason only to explain it.
 *
 * The JSON reader is as strict as the binary one: every field is required,
 * unknown fields and duplicates are errors, and the result passes the same
 * cairn_proof_check as a decoded binary proof, so the two forms accept
 * exactly the same proofs.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/json.h"
#include "cairn/proof.h"

/* ---- messages ---- */

__attribute__((format(printf, 3, 4))) static void proof_why(
    char *why, size_t why_cap, const char *fmt, ...) {
  va_list ap;
  if (why_cap == 0) return;
  assert(why != NULL);
  va_start(ap, fmt);
  vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

#define PROOF_FAIL(err, ...)                \
  do {                                      \
    proof_why(why, why_cap, __VA_ARGS__);   \
    return (err);                           \
  } while (0)

/* Hex of a 32-byte value, usable inside one printf call. */
typedef struct proof_hex {
  char s[2 * CAIRN_HASH_BYTES + 1];
} proof_hex;

static proof_hex proof_hex32(const uint8_t h[CAIRN_HASH_BYTES]) {
  proof_hex x = {{0}};
  cairn_hex_encode(x.s, sizeof x.s, h, CAIRN_HASH_BYTES);
  return x;
}

/* A chain id for messages: 'name' if printable, else hex (a header's chain
 * id is any 1..32 bytes; only genesis restricts the characters). */
typedef struct proof_text {
  char s[2 * CAIRN_CHAIN_ID_BYTES_MAX + 8];
} proof_text;

static proof_text proof_chain_text(const uint8_t *p, size_t n) {
  proof_text t;
  bool printable = true;
  assert(n <= CAIRN_CHAIN_ID_BYTES_MAX);
  for (size_t i = 0; i < n; i++) printable &= p[i] >= 0x20 && p[i] <= 0x7e;
  if (printable) {
    snprintf(t.s, sizeof t.s, "'%.*s'", (int)n, (const char *)p);
  } else {
    memcpy(t.s, "hex ", 4);
    cairn_hex_encode(t.s + 4, sizeof t.s - 4, p, n);
  }
  return t;
}

/* ---- structure ---- */

/* The decoded parts of a proof (about 23 KB: heap-allocated). */
typedef struct proof_parts {
  cairn_tx tx;
  cairn_block_header header;
  cairn_commit commit;
  cairn_valset vs; /* checked copy, total_power computed */
} proof_parts;

static cairn_err proof_check_lengths(const cairn_proof *p, char *why,
                                     size_t why_cap) {
  if (p->version != CAIRN_PROOF_VERSION) {
    PROOF_FAIL(CAIRN_ERR_VERSION, "version: %u is not supported (expected %d)",
               (unsigned)p->version, CAIRN_PROOF_VERSION);
  }
  if (p->tx_len == 0) PROOF_FAIL(CAIRN_ERR_RANGE, "tx: empty");
  if (p->tx_len > CAIRN_TX_BYTES_MAX) {
    PROOF_FAIL(CAIRN_ERR_OVERSIZE, "tx: %zu bytes, more than %d", p->tx_len,
               CAIRN_TX_BYTES_MAX);
  }
  if (p->tx_count == 0 || p->tx_count > CAIRN_BLOCK_TXS_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "tx_count: %u is outside 1..%d",
               (unsigned)p->tx_count, CAIRN_BLOCK_TXS_MAX);
  }
  if (p->position >= p->tx_count) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "position: %u is not below tx_count %u",
               (unsigned)p->position, (unsigned)p->tx_count);
  }
  if (p->path_len > CAIRN_MERKLE_PATH_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "path: %zu nodes, more than %d", p->path_len,
               CAIRN_MERKLE_PATH_MAX);
  }
  if (p->header_len == 0) PROOF_FAIL(CAIRN_ERR_RANGE, "header: empty");
  if (p->header_len > CAIRN_BLOCK_HEADER_BYTES_MAX) {
    PROOF_FAIL(CAIRN_ERR_OVERSIZE, "header: %zu bytes, more than %d",
               p->header_len, CAIRN_BLOCK_HEADER_BYTES_MAX);
  }
  if (p->commit_len == 0) PROOF_FAIL(CAIRN_ERR_RANGE, "commit: empty");
  if (p->commit_len > CAIRN_COMMIT_BYTES_MAX) {
    PROOF_FAIL(CAIRN_ERR_OVERSIZE, "commit: %zu bytes, more than %d",
               p->commit_len, CAIRN_COMMIT_BYTES_MAX);
  }
  return CAIRN_OK;
}

/* Validator names are labels for people: 1..32 printable ASCII characters,
 * the rule genesis applies. */
static bool proof_name_valid(const cairn_validator *v) {
  if (v->name_len == 0 || v->name_len > CAIRN_NAME_BYTES_MAX) return false;
  for (size_t i = 0; i < v->name_len; i++) {
    if (v->name[i] < 0x20 || v->name[i] > 0x7e) return false;
  }
  return v->name[v->name_len] == '\0';
}

/* Check vs in place (a copy the caller owns) and compute its total. */
static cairn_err proof_check_validators(cairn_valset *vs, char *why,
                                        size_t why_cap) {
  if (vs->n == 0 || vs->n > CAIRN_VALIDATORS_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "validators: %u members, expected 1..%d",
               (unsigned)vs->n, CAIRN_VALIDATORS_MAX);
  }
  for (uint32_t i = 0; i < vs->n; i++) {
    const cairn_validator *v = &vs->v[i];
    if (v->power == 0 || v->power > CAIRN_TOTAL_POWER_MAX) {
      PROOF_FAIL(CAIRN_ERR_RANGE, "validators[%u].power: %llu is outside "
                 "1..2^60", (unsigned)i, (unsigned long long)v->power);
    }
    if (!proof_name_valid(v)) {
      PROOF_FAIL(CAIRN_ERR_RANGE, "validators[%u].name: must be 1-32 "
                 "printable ASCII characters", (unsigned)i);
    }
    if (i > 0 && memcmp(vs->v[i - 1].pubkey, v->pubkey,
                        CAIRN_ED25519_PUBKEY_BYTES) >= 0) {
      PROOF_FAIL(CAIRN_ERR_NONCANONICAL, "validators[%u].pubkey: not after "
                 "validators[%u] (members ascend by pubkey, each once)",
                 (unsigned)i, (unsigned)(i - 1));
    }
  }
  cairn_err err = cairn_valset_check(vs); /* computes total_power */
  if (err != CAIRN_OK) {
    PROOF_FAIL(err, "validators: the total power exceeds 2^60");
  }
  return CAIRN_OK;
}

/* encode(decoded) must give back exactly the bytes that were decoded. */
static cairn_err proof_same_bytes(const uint8_t *again, size_t again_len,
                                  const uint8_t *bytes, size_t len) {
  return again_len == len && memcmp(again, bytes, len) == 0
             ? CAIRN_OK
             : CAIRN_ERR_NONCANONICAL;
}

_Static_assert(CAIRN_COMMIT_BYTES_MAX >= CAIRN_TX_BYTES_MAX &&
                   CAIRN_COMMIT_BYTES_MAX >= CAIRN_BLOCK_HEADER_BYTES_MAX,
               "one scratch buffer re-encodes every part");

/* Decode the transaction, header and commit, each re-encoded exactly. */
static cairn_err proof_decode_objects(proof_parts *x, const cairn_proof *p,
                                      char *why, size_t why_cap) {
  uint8_t again[CAIRN_COMMIT_BYTES_MAX];
  size_t n = 0;
  cairn_err err = cairn_tx_decode(&x->tx, p->tx, p->tx_len);
  if (err == CAIRN_OK) err = cairn_tx_encode(again, sizeof again, &n, &x->tx);
  if (err == CAIRN_OK) err = proof_same_bytes(again, n, p->tx, p->tx_len);
  if (err != CAIRN_OK) {
    PROOF_FAIL(err, "tx: not a valid transaction: %s", cairn_strerror(err));
  }
  err = cairn_block_header_decode(&x->header, p->header, p->header_len);
  if (err == CAIRN_OK) {
    err = cairn_block_header_encode(again, sizeof again, &n, &x->header);
  }
  if (err == CAIRN_OK) err = proof_same_bytes(again, n, p->header,
                                              p->header_len);
  if (err != CAIRN_OK) {
    PROOF_FAIL(err, "header: not a valid block header: %s",
               cairn_strerror(err));
  }
  err = cairn_commit_decode(&x->commit, p->commit, p->commit_len);
  if (err == CAIRN_OK) {
    err = cairn_commit_encode(again, sizeof again, &n, &x->commit);
  }
  if (err == CAIRN_OK) err = proof_same_bytes(again, n, p->commit,
                                              p->commit_len);
  if (err != CAIRN_OK) {
    PROOF_FAIL(err, "commit: not a valid commit: %s", cairn_strerror(err));
  }
  return CAIRN_OK;
}

static cairn_err proof_parts_decode(proof_parts *x, const cairn_proof *p,
                                    char *why, size_t why_cap) {
  CAIRN_TRY(proof_check_lengths(p, why, why_cap));
  x->vs = p->validators;
  CAIRN_TRY(proof_check_validators(&x->vs, why, why_cap));
  return proof_decode_objects(x, p, why, why_cap);
}

cairn_err cairn_proof_check(cairn_proof *p, char *why, size_t why_cap) {
  assert(p != NULL && (why != NULL || why_cap == 0));
  proof_why(why, why_cap, "ok");
  proof_parts *x = malloc(sizeof *x);
  if (x == NULL) PROOF_FAIL(CAIRN_ERR_NOMEM, "out of memory");
  cairn_err err = proof_parts_decode(x, p, why, why_cap);
  if (err == CAIRN_OK) p->validators.total_power = x->vs.total_power;
  free(x);
  return err;
}

/* ---- building ---- */

/* Fill p from a decoded block whose transaction `pos` is the one proven;
 * ids are the block's txids. */
static cairn_err proof_fill(cairn_proof *p, const cairn_block_header *h,
                            const cairn_slice *txs,
                            const uint8_t (*ids)[CAIRN_HASH_BYTES],
                            size_t pos) {
  assert(pos < h->tx_count && txs[pos].len <= CAIRN_TX_BYTES_MAX);
  CAIRN_TRY(cairn_merkle_proof(p->path, &p->path_len, ids, h->tx_count, pos));
  CAIRN_TRY(cairn_block_header_encode(p->header, sizeof p->header,
                                      &p->header_len, h));
  memcpy(p->tx, txs[pos].p, txs[pos].len);
  p->tx_len = txs[pos].len;
  p->position = (uint32_t)pos;
  p->tx_count = h->tx_count;
  p->version = CAIRN_PROOF_VERSION;
  return CAIRN_OK;
}

/* Find txid among the block's transactions and fill p. */
static cairn_err proof_build_from(cairn_proof *p, const uint8_t *block,
                                  size_t block_len,
                                  const uint8_t txid[CAIRN_HASH_BYTES],
                                  cairn_slice *txs,
                                  uint8_t (*ids)[CAIRN_HASH_BYTES]) {
  cairn_block_header h;
  CAIRN_TRY(cairn_block_decode(&h, txs, CAIRN_BLOCK_TXS_MAX, block,
                               block_len));
  size_t pos = SIZE_MAX;
  for (size_t i = 0; i < h.tx_count; i++) {
    cairn_tx_id_bytes(ids[i], txs[i].p, txs[i].len);
    if (pos == SIZE_MAX && memcmp(ids[i], txid, CAIRN_HASH_BYTES) == 0) {
      pos = i;
    }
  }
  if (pos == SIZE_MAX) return CAIRN_ERR_NOT_FOUND;
  return proof_fill(p, &h, txs, (const uint8_t(*)[CAIRN_HASH_BYTES])ids, pos);
}

cairn_err cairn_proof_build(cairn_proof *p, const uint8_t *block,
                            size_t block_len, const uint8_t *commit,
                            size_t commit_len, const cairn_valset *vs,
                            const uint8_t txid[CAIRN_HASH_BYTES]) {
  assert(p != NULL && block != NULL && commit != NULL && vs != NULL);
  assert(txid != NULL && vs->n >= 1 && vs->n <= CAIRN_VALIDATORS_MAX);
  memset(p, 0, sizeof *p);
  if (commit_len > CAIRN_COMMIT_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  cairn_slice *txs = malloc(CAIRN_BLOCK_TXS_MAX * sizeof *txs);
  uint8_t(*ids)[CAIRN_HASH_BYTES] =
      malloc(CAIRN_BLOCK_TXS_MAX * sizeof *ids);
  cairn_err err = (txs == NULL || ids == NULL) ? CAIRN_ERR_NOMEM : CAIRN_OK;
  if (err == CAIRN_OK) {
    err = proof_build_from(p, block, block_len, txid, txs, ids);
  }
  free(txs);
  free(ids);
  if (err != CAIRN_OK) {
    memset(p, 0, sizeof *p);
    return err;
  }
  memcpy(p->commit, commit, commit_len);
  p->commit_len = commit_len;
  p->validators = *vs;
  return CAIRN_OK;
}

/* ---- binary form ---- */

static void proof_put(cairn_writer *w, const cairn_proof *p) {
  cairn_put_u8(w, p->version);
  cairn_put_var32(w, p->tx, p->tx_len);
  cairn_put_u32(w, p->position);
  cairn_put_u32(w, p->tx_count);
  cairn_put_u8(w, (uint8_t)p->path_len);
  for (size_t i = 0; i < p->path_len; i++) {
    cairn_put_bytes(w, p->path[i], CAIRN_HASH_BYTES);
  }
  cairn_put_var8(w, p->header, p->header_len);
  cairn_put_var32(w, p->commit, p->commit_len);
  cairn_put_u16(w, (uint16_t)p->validators.n);
  for (uint32_t i = 0; i < p->validators.n; i++) {
    const cairn_validator *v = &p->validators.v[i];
    cairn_put_bytes(w, v->pubkey, CAIRN_ED25519_PUBKEY_BYTES);
    cairn_put_u64(w, v->power);
    cairn_put_var8(w, (const uint8_t *)v->name, v->name_len);
  }
}

/* The lengths that index the struct's arrays; anything else is a bug. */
static void proof_assert_shape(const cairn_proof *p) {
  assert(p->tx_len <= CAIRN_TX_BYTES_MAX);
  assert(p->path_len <= CAIRN_MERKLE_PATH_MAX);
  assert(p->header_len <= CAIRN_BLOCK_HEADER_BYTES_MAX);
  assert(p->commit_len <= CAIRN_COMMIT_BYTES_MAX);
  assert(p->validators.n <= CAIRN_VALIDATORS_MAX);
  for (uint32_t i = 0; i < p->validators.n; i++) {
    assert(p->validators.v[i].name_len <= CAIRN_NAME_BYTES_MAX);
  }
  (void)p;
}

cairn_err cairn_proof_encode(uint8_t *buf, size_t cap, size_t *len,
                             const cairn_proof *p) {
  cairn_writer w;
  assert(p != NULL && len != NULL);
  proof_assert_shape(p);
  cairn_writer_init(&w, buf, cap);
  proof_put(&w, p);
  cairn_err err = cairn_writer_finish(&w, len);
  assert(err != CAIRN_OK || *len <= CAIRN_PROOF_BYTES_MAX);
  return err;
}

/* Read one field; on failure name it in why. */
#define PROOF_READ(expr, field)                                        \
  do {                                                                 \
    cairn_err proof_read_err_ = (expr);                                \
    if (proof_read_err_ != CAIRN_OK) {                                 \
      PROOF_FAIL(proof_read_err_, "%s: %s", (field),                   \
                 cairn_strerror(proof_read_err_));                     \
    }                                                                  \
  } while (0)

static cairn_err proof_get_validators(cairn_reader *r, cairn_valset *vs,
                                      char *why, size_t why_cap) {
  uint16_t n = 0;
  PROOF_READ(cairn_get_u16(r, &n), "validators");
  if (n == 0 || n > CAIRN_VALIDATORS_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "validators: %u members, expected 1..%d",
               (unsigned)n, CAIRN_VALIDATORS_MAX);
  }
  vs->n = n;
  for (uint16_t i = 0; i < n; i++) {
    cairn_validator *v = &vs->v[i];
    const uint8_t *name;
    size_t name_len;
    PROOF_READ(cairn_get_bytes(r, v->pubkey, CAIRN_ED25519_PUBKEY_BYTES),
               "validators");
    PROOF_READ(cairn_get_u64(r, &v->power), "validators");
    PROOF_READ(cairn_get_var8(r, &name, &name_len, CAIRN_NAME_BYTES_MAX),
               "validators (name)");
    memcpy(v->name, name, name_len);
    v->name[name_len] = '\0';
    v->name_len = (uint8_t)name_len;
  }
  return CAIRN_OK;
}

static cairn_err proof_get(cairn_reader *r, cairn_proof *p, char *why,
                           size_t why_cap) {
  const uint8_t *q;
  uint8_t path_len;
  PROOF_READ(cairn_get_u8(r, &p->version), "version");
  if (p->version != CAIRN_PROOF_VERSION) {
    PROOF_FAIL(CAIRN_ERR_VERSION, "version: %u is not supported (expected %d)",
               (unsigned)p->version, CAIRN_PROOF_VERSION);
  }
  PROOF_READ(cairn_get_var32(r, &q, &p->tx_len, CAIRN_TX_BYTES_MAX), "tx");
  memcpy(p->tx, q, p->tx_len);
  PROOF_READ(cairn_get_u32(r, &p->position), "position");
  PROOF_READ(cairn_get_u32(r, &p->tx_count), "tx_count");
  PROOF_READ(cairn_get_u8(r, &path_len), "path");
  if (path_len > CAIRN_MERKLE_PATH_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "path: %u nodes, more than %d",
               (unsigned)path_len, CAIRN_MERKLE_PATH_MAX);
  }
  p->path_len = path_len;
  for (size_t i = 0; i < p->path_len; i++) {
    PROOF_READ(cairn_get_bytes(r, p->path[i], CAIRN_HASH_BYTES), "path");
  }
  PROOF_READ(cairn_get_var8(r, &q, &p->header_len,
                            CAIRN_BLOCK_HEADER_BYTES_MAX), "header");
  memcpy(p->header, q, p->header_len);
  PROOF_READ(cairn_get_var32(r, &q, &p->commit_len, CAIRN_COMMIT_BYTES_MAX),
             "commit");
  memcpy(p->commit, q, p->commit_len);
  CAIRN_TRY(proof_get_validators(r, &p->validators, why, why_cap));
  PROOF_READ(cairn_reader_end(r), "proof");
  return CAIRN_OK;
}

cairn_err cairn_proof_decode(cairn_proof *p, const uint8_t *buf, size_t len,
                             char *why, size_t why_cap) {
  cairn_reader r;
  assert(p != NULL && (buf != NULL || len == 0));
  assert(why != NULL || why_cap == 0);
  memset(p, 0, sizeof *p);
  if (len > CAIRN_PROOF_BYTES_MAX) {
    PROOF_FAIL(CAIRN_ERR_OVERSIZE, "proof: %zu bytes, more than %d", len,
               CAIRN_PROOF_BYTES_MAX);
  }
  cairn_reader_init(&r, buf, len);
  cairn_err err = proof_get(&r, p, why, why_cap);
  if (err == CAIRN_OK) err = cairn_proof_check(p, why, why_cap);
  if (err != CAIRN_OK) memset(p, 0, sizeof *p);
  return err;
}

/* ---- JSON form: rendering ---- */

/* Add value under key; false if value is NULL or jansson failed (jansson
 * releases value either way). */
static bool proof_set(json_t *obj, const char *key, json_t *value) {
  return json_object_set_new(obj, key, value) == 0;
}

static json_t *proof_json_path(const cairn_proof *p) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < p->path_len; i++) {
    if (json_array_append_new(a, cairn_json_hex(p->path[i],
                                                CAIRN_HASH_BYTES)) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *proof_json_validator(const cairn_validator *v) {
  json_t *o = json_object();
  if (o == NULL) return NULL;
  bool ok = proof_set(o, "pubkey",
                      cairn_json_hex(v->pubkey, CAIRN_ED25519_PUBKEY_BYTES));
  ok &= proof_set(o, "power", cairn_json_u64(v->power));
  ok &= proof_set(o, "name", json_stringn(v->name, v->name_len));
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *proof_json_validators(const cairn_valset *vs) {
  json_t *a = json_array();
  for (uint32_t i = 0; a != NULL && i < vs->n; i++) {
    if (json_array_append_new(a, proof_json_validator(&vs->v[i])) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

cairn_err cairn_proof_to_json(const cairn_proof *p, char **out) {
  assert(p != NULL && out != NULL);
  proof_assert_shape(p);
  *out = NULL;
  json_t *o = json_object();
  if (o == NULL) return CAIRN_ERR_NOMEM;
  bool ok = proof_set(o, "version", json_integer(p->version));
  ok &= proof_set(o, "tx", cairn_json_hex(p->tx, p->tx_len));
  ok &= proof_set(o, "position", json_integer(p->position));
  ok &= proof_set(o, "tx_count", json_integer(p->tx_count));
  ok &= proof_set(o, "path", proof_json_path(p));
  ok &= proof_set(o, "header", cairn_json_hex(p->header, p->header_len));
  ok &= proof_set(o, "commit", cairn_json_hex(p->commit, p->commit_len));
  ok &= proof_set(o, "validators", proof_json_validators(&p->validators));
  if (ok) *out = json_dumps(o, JSON_INDENT(2) | JSON_ENSURE_ASCII);
  json_decref(o);
  return *out != NULL ? CAIRN_OK : CAIRN_ERR_NOMEM;
}

/* ---- JSON form: parsing ---- */

/* Every key of obj must be in the NULL-terminated list `known`. */
static cairn_err proof_json_keys(const json_t *obj, const char *const *known,
                                 const char *where, char *why,
                                 size_t why_cap) {
  size_t n_known = 0;
  while (known[n_known] != NULL) n_known++;
  const char *key = cairn_json_unknown_key(obj, known, n_known);
  if (key != NULL) {
    PROOF_FAIL(CAIRN_ERR_JSON, "%s%sunknown field \"%s\"", where,
               where[0] != '\0' ? ": " : "", key);
  }
  return CAIRN_OK;
}

static cairn_err proof_json_get(const json_t *obj, const char *key,
                                const json_t **out, char *why,
                                size_t why_cap) {
  *out = json_object_get(obj, key);
  if (*out == NULL) PROOF_FAIL(CAIRN_ERR_JSON, "%s: missing", key);
  return CAIRN_OK;
}

/* A string value without embedded NUL bytes, or NULL. */
static const char *proof_json_cstr(const json_t *v) {
  const char *s = json_string_value(v);
  if (s == NULL || strlen(s) != json_string_length(v)) return NULL;
  return s;
}

/* A hex string of at most cap bytes. */
static cairn_err proof_json_hex(const json_t *v, const char *name,
                                uint8_t *out, size_t cap, size_t *len,
                                char *why, size_t why_cap) {
  const char *s = proof_json_cstr(v);
  *len = 0;
  if (!json_is_string(v)) {
    PROOF_FAIL(CAIRN_ERR_JSON, "%s: expected a hex string", name);
  }
  cairn_err err = s == NULL ? CAIRN_ERR_HEX : cairn_hex_decode(out, cap, len,
                                                               s);
  if (err == CAIRN_ERR_OVERSIZE) {
    PROOF_FAIL(err, "%s: longer than %zu bytes", name, cap);
  }
  if (err != CAIRN_OK) {
    PROOF_FAIL(err, "%s: not a hex string (odd length or a character "
               "outside 0-9, a-f)", name);
  }
  return CAIRN_OK;
}

static cairn_err proof_json_u32(const json_t *v, const char *name,
                                uint32_t *out, char *why, size_t why_cap) {
  uint64_t x = 0;
  *out = 0;
  if (!json_is_integer(v) || cairn_json_get_u64(v, &x) != CAIRN_OK) {
    PROOF_FAIL(CAIRN_ERR_JSON, "%s: expected a non-negative integer", name);
  }
  if (x > UINT32_MAX) PROOF_FAIL(CAIRN_ERR_RANGE, "%s: out of range", name);
  *out = (uint32_t)x;
  return CAIRN_OK;
}

static cairn_err proof_json_path_get(const json_t *a, cairn_proof *p,
                                     char *why, size_t why_cap) {
  if (!json_is_array(a)) PROOF_FAIL(CAIRN_ERR_JSON, "path: expected an array");
  if (json_array_size(a) > CAIRN_MERKLE_PATH_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "path: %zu nodes, more than %d",
               json_array_size(a), CAIRN_MERKLE_PATH_MAX);
  }
  for (size_t i = 0; i < json_array_size(a); i++) {
    const json_t *v = json_array_get(a, i);
    const char *s = proof_json_cstr(v);
    if (s == NULL ||
        cairn_hex_decode_exact(p->path[i], CAIRN_HASH_BYTES, s) != CAIRN_OK) {
      PROOF_FAIL(json_is_string(v) ? CAIRN_ERR_HEX : CAIRN_ERR_JSON,
                 "path[%zu]: expected 64 hex characters", i);
    }
  }
  p->path_len = json_array_size(a);
  return CAIRN_OK;
}

static cairn_err proof_json_validator_get(const json_t *o, size_t i,
                                          cairn_validator *v, char *why,
                                          size_t why_cap) {
  static const char *const known[] = {"pubkey", "power", "name", NULL};
  char where[32];
  const json_t *pk, *power, *name;
  snprintf(where, sizeof where, "validators[%zu]", i);
  if (!json_is_object(o)) PROOF_FAIL(CAIRN_ERR_JSON, "%s: expected an object",
                                     where);
  CAIRN_TRY(proof_json_keys(o, known, where, why, why_cap));
  pk = json_object_get(o, "pubkey");
  power = json_object_get(o, "power");
  name = json_object_get(o, "name");
  if (pk == NULL || power == NULL || name == NULL) {
    PROOF_FAIL(CAIRN_ERR_JSON, "%s.%s: missing", where,
               pk == NULL ? "pubkey" : power == NULL ? "power" : "name");
  }
  const char *s = proof_json_cstr(pk);
  if (s == NULL || cairn_hex_decode_exact(v->pubkey, 32, s) != CAIRN_OK) {
    PROOF_FAIL(json_is_string(pk) ? CAIRN_ERR_HEX : CAIRN_ERR_JSON,
               "%s.pubkey: expected 64 hex characters", where);
  }
  if (cairn_json_get_u64(power, &v->power) != CAIRN_OK) {
    PROOF_FAIL(CAIRN_ERR_JSON, "%s.power: expected a decimal string or a "
               "non-negative integer", where);
  }
  s = proof_json_cstr(name);
  if (s == NULL) PROOF_FAIL(CAIRN_ERR_JSON, "%s.name: expected a string",
                            where);
  if (strlen(s) > CAIRN_NAME_BYTES_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "%s.name: longer than %d characters", where,
               CAIRN_NAME_BYTES_MAX);
  }
  v->name_len = (uint8_t)strlen(s);
  memcpy(v->name, s, v->name_len + 1u);
  return CAIRN_OK;
}

static cairn_err proof_json_validators_get(const json_t *a, cairn_valset *vs,
                                           char *why, size_t why_cap) {
  if (!json_is_array(a)) {
    PROOF_FAIL(CAIRN_ERR_JSON, "validators: expected an array");
  }
  size_t n = json_array_size(a);
  if (n == 0 || n > CAIRN_VALIDATORS_MAX) {
    PROOF_FAIL(CAIRN_ERR_RANGE, "validators: %zu members, expected 1..%d", n,
               CAIRN_VALIDATORS_MAX);
  }
  for (size_t i = 0; i < n; i++) {
    CAIRN_TRY(proof_json_validator_get(json_array_get(a, i), i, &vs->v[i],
                                       why, why_cap));
  }
  vs->n = (uint32_t)n;
  return CAIRN_OK;
}

/* The byte-string fields of the JSON form, in order. */
static cairn_err proof_json_bytes_get(const json_t *root, cairn_proof *p,
                                      char *why, size_t why_cap) {
  const json_t *v;
  CAIRN_TRY(proof_json_get(root, "tx", &v, why, why_cap));
  CAIRN_TRY(proof_json_hex(v, "tx", p->tx, sizeof p->tx, &p->tx_len, why,
                           why_cap));
  CAIRN_TRY(proof_json_get(root, "header", &v, why, why_cap));
  CAIRN_TRY(proof_json_hex(v, "header", p->header, sizeof p->header,
                           &p->header_len, why, why_cap));
  CAIRN_TRY(proof_json_get(root, "commit", &v, why, why_cap));
  return proof_json_hex(v, "commit", p->commit, sizeof p->commit,
                        &p->commit_len, why, why_cap);
}

static cairn_err proof_from_root(cairn_proof *p, const json_t *root,
                                 char *why, size_t why_cap) {
  static const char *const known[] = {"version", "tx", "position", "tx_count",
                                      "path", "header", "commit",
                                      "validators", NULL};
  const json_t *v;
  if (!json_is_object(root)) {
    PROOF_FAIL(CAIRN_ERR_JSON, "proof: expected a JSON object");
  }
  CAIRN_TRY(proof_json_keys(root, known, "", why, why_cap));
  CAIRN_TRY(proof_json_get(root, "version", &v, why, why_cap));
  if (!json_is_integer(v)) {
    PROOF_FAIL(CAIRN_ERR_JSON, "version: expected an integer");
  }
  if (json_integer_value(v) != CAIRN_PROOF_VERSION) {
    PROOF_FAIL(CAIRN_ERR_VERSION, "version: %lld is not supported (expected "
               "%d)", (long long)json_integer_value(v), CAIRN_PROOF_VERSION);
  }
  p->version = CAIRN_PROOF_VERSION;
  CAIRN_TRY(proof_json_bytes_get(root, p, why, why_cap));
  CAIRN_TRY(proof_json_get(root, "position", &v, why, why_cap));
  CAIRN_TRY(proof_json_u32(v, "position", &p->position, why, why_cap));
  CAIRN_TRY(proof_json_get(root, "tx_count", &v, why, why_cap));
  CAIRN_TRY(proof_json_u32(v, "tx_count", &p->tx_count, why, why_cap));
  CAIRN_TRY(proof_json_get(root, "path", &v, why, why_cap));
  CAIRN_TRY(proof_json_path_get(v, p, why, why_cap));
  CAIRN_TRY(proof_json_get(root, "validators", &v, why, why_cap));
  CAIRN_TRY(proof_json_validators_get(v, &p->validators, why, why_cap));
  return cairn_proof_check(p, why, why_cap);
}

cairn_err cairn_proof_from_json(cairn_proof *p, const char *text, size_t len,
                                char *why, size_t why_cap) {
  json_error_t jerr;
  assert(p != NULL && text != NULL && (why != NULL || why_cap == 0));
  memset(p, 0, sizeof *p);
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    PROOF_FAIL(CAIRN_ERR_JSON, "line %d column %d: %s", jerr.line,
               jerr.column, jerr.text);
  }
  cairn_err err = proof_from_root(p, root, why, why_cap);
  json_decref(root);
  if (err != CAIRN_OK) memset(p, 0, sizeof *p);
  return err;
}

cairn_err cairn_proof_load(cairn_proof *p, const char *path, char *why,
                           size_t why_cap) {
  char *text;
  size_t len;
  assert(p != NULL && path != NULL && (why != NULL || why_cap == 0));
  memset(p, 0, sizeof *p);
  cairn_err err =
      cairn_file_read_all(path, CAIRN_PROOF_FILE_BYTES_MAX, &text, &len);
  if (err != CAIRN_OK) {
    PROOF_FAIL(err, "%s: %s", path, cairn_strerror(err));
  }
  err = cairn_proof_from_json(p, text, len, why, why_cap);
  free(text);
  return err;
}

/* ---- verification ---- */

/* Audit-path length for leaf index of n (RFC 6962 section 2.1.1): one node
 * per level at which the tracked node has a sibling. */
static size_t proof_path_len_for(uint32_t index, uint32_t n) {
  size_t count = 0;
  uint64_t width = n, i = index;
  assert(index < n);
  while (width > 1) {
    if ((i ^ 1u) < width) count++;
    i /= 2;
    width = (width + 1) / 2;
  }
  return count;
}

/* Steps 2-3: the tree size is the header's, and the path leads from the
 * txid to tx_root. */
static cairn_err proof_verify_inclusion(const cairn_proof *p,
                                        const proof_parts *x,
                                        uint8_t txid[CAIRN_HASH_BYTES],
                                        char *why, size_t why_cap) {
  if (p->tx_count != x->header.tx_count) {
    PROOF_FAIL(CAIRN_ERR_BAD_PROOF, "the proof says the block holds %u "
               "transactions but its header says %u", (unsigned)p->tx_count,
               (unsigned)x->header.tx_count);
  }
  cairn_tx_id_bytes(txid, p->tx, p->tx_len);
  if (cairn_merkle_verify(x->header.tx_root, txid, p->position, p->tx_count,
                          (const uint8_t(*)[CAIRN_HASH_BYTES])p->path,
                          p->path_len) == CAIRN_OK) {
    return CAIRN_OK;
  }
  size_t need = proof_path_len_for(p->position, p->tx_count);
  if (need != p->path_len) {
    PROOF_FAIL(CAIRN_ERR_BAD_PROOF, "the audit path has %zu nodes but a "
               "transaction at position %u of %u needs %zu", p->path_len,
               (unsigned)p->position, (unsigned)p->tx_count, need);
  }
  PROOF_FAIL(CAIRN_ERR_BAD_PROOF, "the audit path does not lead from "
             "transaction %s at position %u of %u to the header's tx_root %s",
             proof_hex32(txid).s, (unsigned)p->position,
             (unsigned)p->tx_count, proof_hex32(x->header.tx_root).s);
}

/* Steps 4-5: the transaction is for this chain and its sender signed it. */
static cairn_err proof_verify_tx(const proof_parts *x, char *why,
                                 size_t why_cap) {
  const cairn_tx *tx = &x->tx;
  const cairn_block_header *h = &x->header;
  if (tx->chain_id_len != h->chain_id_len ||
      memcmp(tx->chain_id, h->chain_id, h->chain_id_len) != 0) {
    PROOF_FAIL(CAIRN_ERR_CHAIN_ID, "the transaction is for chain %s but the "
               "block is on chain %s",
               proof_chain_text(tx->chain_id, tx->chain_id_len).s,
               proof_chain_text(h->chain_id, h->chain_id_len).s);
  }
  cairn_err err = cairn_tx_verify(tx);
  if (err == CAIRN_ERR_BAD_KEY) {
    PROOF_FAIL(err, "the transaction's sender %s is not a valid public key",
               proof_hex32(tx->sender).s);
  }
  if (err != CAIRN_OK) {
    char addr[CAIRN_ADDRESS_BUF];
    cairn_address_encode(addr, sizeof addr, tx->sender);
    PROOF_FAIL(err, "the transaction's signature by %s does not verify",
               addr);
  }
  return CAIRN_OK;
}

/* Step 6: the validator set is the one the header names. */
static cairn_err proof_verify_valset(const proof_parts *x, char *why,
                                     size_t why_cap) {
  uint8_t h[CAIRN_HASH_BYTES];
  cairn_valset_hash(h, &x->vs);
  if (memcmp(h, x->header.validators_hash, CAIRN_HASH_BYTES) != 0) {
    PROOF_FAIL(CAIRN_ERR_BAD_VALSET, "the proof's validator set hashes to %s "
               "but the header's validators_hash is %s", proof_hex32(h).s,
               proof_hex32(x->header.validators_hash).s);
  }
  return CAIRN_OK;
}

/* Explain why cairn_commit_verify refused the commit (always BAD_COMMIT):
 * the same checks in the same order, stopping at the first that fails. */
static cairn_err proof_commit_why(const proof_parts *x,
                                  const uint8_t hash[CAIRN_HASH_BYTES],
                                  char *why, size_t why_cap) {
  const cairn_commit *c = &x->commit;
  const cairn_block_header *h = &x->header;
  uint8_t msg[CAIRN_HASH_BYTES];
  uint64_t power = 0;
  if (c->height != h->height) {
    PROOF_FAIL(CAIRN_ERR_BAD_COMMIT, "the commit is for height %llu but the "
               "block is at height %llu", (unsigned long long)c->height,
               (unsigned long long)h->height);
  }
  if (memcmp(c->block_hash, hash, CAIRN_HASH_BYTES) != 0) {
    PROOF_FAIL(CAIRN_ERR_BAD_COMMIT, "the commit is for block %s but the "
               "header hashes to %s", proof_hex32(c->block_hash).s,
               proof_hex32(hash).s);
  }
  cairn_vote_signhash(msg, h->chain_id, h->chain_id_len, CAIRN_VOTE_PRECOMMIT,
                      c->height, c->round, c->block_hash);
  for (uint16_t i = 0; i < c->n_sigs; i++) {
    int k = cairn_valset_find(&x->vs, c->sigs[i].validator);
    if (k < 0) {
      PROOF_FAIL(CAIRN_ERR_BAD_COMMIT, "commit signer %s is not in the "
                 "validator set", proof_hex32(c->sigs[i].validator).s);
    }
    if (cairn_ed25519_verify(c->sigs[i].sig, msg, sizeof msg,
                             c->sigs[i].validator) != CAIRN_OK) {
      PROOF_FAIL(CAIRN_ERR_BAD_COMMIT, "the precommit signature of validator "
                 "'%s' (%s) does not verify", x->vs.v[k].name,
                 proof_hex32(c->sigs[i].validator).s);
    }
    power += x->vs.v[k].power;
  }
  if (power * 3 > x->vs.total_power * 2) { /* not reached: decode checked */
    PROOF_FAIL(CAIRN_ERR_BAD_COMMIT, "the commit does not verify");
  }
  PROOF_FAIL(CAIRN_ERR_BAD_COMMIT, "the commit's signers hold %llu of %llu "
             "stake; more than 2/3 (at least %llu) is needed",
             (unsigned long long)power,
             (unsigned long long)x->vs.total_power,
             (unsigned long long)(x->vs.total_power * 2 / 3 + 1));
}

/* Step 7: more than 2/3 of the stake signed this block. */
static cairn_err proof_verify_commit(const proof_parts *x,
                                     const uint8_t hash[CAIRN_HASH_BYTES],
                                     cairn_proof_result *out, char *why,
                                     size_t why_cap) {
  const cairn_commit *c = &x->commit;
  if (cairn_commit_verify(c, x->header.chain_id, x->header.chain_id_len,
                          x->header.height, hash, &x->vs) != CAIRN_OK) {
    return proof_commit_why(x, hash, why, why_cap);
  }
  out->signed_power = 0;
  for (uint16_t i = 0; i < c->n_sigs; i++) {
    int k = cairn_valset_find(&x->vs, c->sigs[i].validator);
    assert(k >= 0); /* cairn_commit_verify found every signer */
    if (k >= 0) out->signed_power += x->vs.v[k].power;
  }
  out->total_power = x->vs.total_power;
  out->n_signers = c->n_sigs;
  assert(out->signed_power * 3 > out->total_power * 2);
  return CAIRN_OK;
}

/* The proof's set equals the trusted genesis's, member by member. A set
 * that differs is most likely the set of a later epoch (the header binds
 * it and more than 2/3 of it signed, steps 6 and 7), which genesis alone
 * cannot vouch for: the sentence says so and names the way out. */
static cairn_err proof_valset_same(const cairn_valset *a,
                                   const cairn_valset *g, char *why,
                                   size_t why_cap) {
  bool same = a->n == g->n;
  for (uint32_t i = 0; same && i < a->n; i++) {
    same = memcmp(a->v[i].pubkey, g->v[i].pubkey,
                  CAIRN_ED25519_PUBKEY_BYTES) == 0 &&
           a->v[i].power == g->v[i].power;
  }
  if (!same) {
    uint8_t ha[CAIRN_HASH_BYTES], hg[CAIRN_HASH_BYTES];
    cairn_valset_hash(ha, a);
    cairn_valset_hash(hg, g);
    PROOF_FAIL(CAIRN_ERR_BAD_VALSET, "the block's validator set differs "
               "from genesis (the set changed at some height): the proof's "
               "validator set (%u members, hash %s) is not the trusted "
               "genesis's (%u members, hash %s), and a genesis alone cannot "
               "vouch for a later set; verify against a trusted block hash "
               "from this chain, e.g. `cairn verify-proof FILE --block-hash "
               "HASH`", (unsigned)a->n, proof_hex32(ha).s, (unsigned)g->n,
               proof_hex32(hg).s);
  }
  for (uint32_t i = 0; i < a->n; i++) {
    if (a->v[i].name_len != g->v[i].name_len ||
        memcmp(a->v[i].name, g->v[i].name, a->v[i].name_len) != 0) {
      PROOF_FAIL(CAIRN_ERR_BAD_VALSET, "validator %s is named '%s' in the "
                 "proof but '%s' in the trusted genesis",
                 proof_hex32(a->v[i].pubkey).s, a->v[i].name, g->v[i].name);
    }
  }
  return CAIRN_OK;
}

/* Step 8, genesis anchor. */
static cairn_err proof_verify_genesis(const proof_parts *x,
                                      const cairn_genesis *g, char *why,
                                      size_t why_cap) {
  const cairn_block_header *h = &x->header;
  if (h->chain_id_len != g->chain_id_len ||
      memcmp(h->chain_id, g->chain_id, g->chain_id_len) != 0) {
    PROOF_FAIL(CAIRN_ERR_GENESIS_MISMATCH, "the block is on chain %s but the "
               "trusted genesis is for chain %s",
               proof_chain_text(h->chain_id, h->chain_id_len).s,
               proof_chain_text((const uint8_t *)g->chain_id,
                                g->chain_id_len).s);
  }
  CAIRN_TRY(proof_valset_same(&x->vs, &g->validators, why, why_cap));
  if (h->height == 1) {
    uint8_t gh[CAIRN_HASH_BYTES];
    cairn_err err = cairn_genesis_hash(gh, g);
    if (err != CAIRN_OK) PROOF_FAIL(err, "the trusted genesis cannot be "
                                    "hashed: %s", cairn_strerror(err));
    if (memcmp(gh, h->prev_hash, CAIRN_HASH_BYTES) != 0) {
      PROOF_FAIL(CAIRN_ERR_GENESIS_MISMATCH, "block 1 links to genesis %s but "
                 "the trusted genesis hashes to %s",
                 proof_hex32(h->prev_hash).s, proof_hex32(gh).s);
    }
  }
  return CAIRN_OK;
}

/* Steps 2-8 on decoded parts. */
static cairn_err proof_verify_parts(cairn_proof_result *out,
                                    const cairn_proof *p, const proof_parts *x,
                                    const cairn_proof_anchor *anchor,
                                    char *why, size_t why_cap) {
  CAIRN_TRY(proof_verify_inclusion(p, x, out->txid, why, why_cap));
  CAIRN_TRY(proof_verify_tx(x, why, why_cap));
  CAIRN_TRY(proof_verify_valset(x, why, why_cap));
  cairn_err err = cairn_block_hash(out->block_hash, &x->header);
  if (err != CAIRN_OK) PROOF_FAIL(err, "header: cannot be hashed: %s",
                                  cairn_strerror(err));
  CAIRN_TRY(proof_verify_commit(x, out->block_hash, out, why, why_cap));
  if (anchor->genesis != NULL) {
    return proof_verify_genesis(x, anchor->genesis, why, why_cap);
  }
  if (memcmp(out->block_hash, anchor->block_hash, CAIRN_HASH_BYTES) != 0) {
    PROOF_FAIL(CAIRN_ERR_BAD_PROOF, "the proof's block hashes to %s but the "
               "trusted block hash is %s", proof_hex32(out->block_hash).s,
               proof_hex32(anchor->block_hash).s);
  }
  return CAIRN_OK;
}

cairn_err cairn_proof_verify(cairn_proof_result *out, const cairn_proof *p,
                             const cairn_proof_anchor *anchor, char *why,
                             size_t why_cap) {
  assert(out != NULL && p != NULL && anchor != NULL);
  assert((anchor->genesis == NULL) != (anchor->block_hash == NULL));
  assert(why != NULL || why_cap == 0);
  memset(out, 0, sizeof *out);
  proof_why(why, why_cap, "ok");
  proof_parts *x = malloc(sizeof *x);
  if (x == NULL) PROOF_FAIL(CAIRN_ERR_NOMEM, "out of memory");
  cairn_err err = proof_parts_decode(x, p, why, why_cap);
  if (err == CAIRN_OK) err = proof_verify_parts(out, p, x, anchor, why,
                                                why_cap);
  if (err == CAIRN_OK) {
    out->tx = x->tx;
    out->header = x->header;
  } else {
    memset(out, 0, sizeof *out);
  }
  free(x);
  return err;
}
