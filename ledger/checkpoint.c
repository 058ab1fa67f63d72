/*
 * checkpoint.c - the auditor's checkpoint file and its signed export.
 *
 * A continuous audit is only as good as its memory of what it has already
 * verified. That memory is one small JSON file: the chain (id and genesis
 * hash), a height, the block hash there and the state hash after it. It is
 * written with cairn_file_write_atomic - a temporary file, fsync, rename,
 * fsync of the directory - so a crash leaves the previous checkpoint or the
 * new one, never a torn file, and the caller writes it only after the block
 * it names has been verified.
 *
 * A checkpoint is also something auditors can exchange: "at height 1200 I
 * saw block X with state S". The export signs it with the auditor's member
 * key (BIP-340) over a domain-separated hash of a fixed byte layout, so a
 * signature over a checkpoint can never be mistaken for a transaction or
 * vote signature, and any change to any field - including the chain it is
 * about - breaks it.
 *
 * The file comes back from disk, where anything may have happened to it,
 * so parsing is strict in the way genesis parsing is: exactly the expected
 * keys, each of the right type and length, the known version. A checkpoint
 * that is merely malformed is refused with a sentence naming the field
 * rather than being taken as "no checkpoint", which would silently restart
 * the audit from genesis and forget what it had vouched for.
 */
#include "cairn/checkpoint.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cairn/address.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/json.h"

/* Keys of the plain form, then the two the signed form adds. */
static const char *const checkpoint_keys[] = {
    "version", "chain_id", "genesis_hash", "height", "block_hash",
    "state_hash", "auditor", "signature"};
#define CHECKPOINT_PLAIN_KEYS 6u
#define CHECKPOINT_SIGNED_KEYS 8u

__attribute__((format(printf, 4, 5))) static cairn_err
checkpoint_fail(char *why, size_t why_cap, cairn_err err, const char *fmt,
                ...) {
  if (why != NULL && why_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_cap, fmt, ap);
    va_end(ap);
  }
  return err;
}

/* ---- canonical bytes and signatures ---- */

cairn_err cairn_checkpoint_encode(uint8_t *buf, size_t cap, size_t *len,
                                  const cairn_checkpoint *cp) {
  assert(cp != NULL && len != NULL);
  assert(cp->chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  cairn_writer w;
  cairn_writer_init(&w, buf, cap);
  cairn_put_var8(&w, (const uint8_t *)cp->chain_id, cp->chain_id_len);
  cairn_put_bytes(&w, cp->genesis_hash, CAIRN_HASH_BYTES);
  cairn_put_u64(&w, cp->height);
  cairn_put_bytes(&w, cp->block_hash, CAIRN_HASH_BYTES);
  cairn_put_bytes(&w, cp->state_hash, CAIRN_HASH_BYTES);
  *len = 0;
  return cairn_writer_finish(&w, len);
}

void cairn_checkpoint_signhash(uint8_t out[CAIRN_HASH_BYTES],
                               const cairn_checkpoint *cp) {
  uint8_t buf[CAIRN_CHECKPOINT_BYTES_MAX];
  size_t len = 0;
  cairn_err err = cairn_checkpoint_encode(buf, sizeof buf, &len, cp);
  assert(err == CAIRN_OK); /* the buffer holds the largest checkpoint */
  (void)err;
  cairn_tagged_hash(out, CAIRN_TAG_CHECKPOINT, buf, len);
}

cairn_err cairn_checkpoint_sign(cairn_checkpoint_signed *out,
                                const cairn_checkpoint *cp,
                                const uint8_t sk[CAIRN_SECKEY_BYTES]) {
  uint8_t msg[CAIRN_HASH_BYTES];
  assert(out != NULL && cp != NULL && sk != NULL);
  memset(out, 0, sizeof *out);
  cairn_err err = cairn_schnorr_pubkey(out->auditor, sk);
  if (err == CAIRN_OK) {
    cairn_checkpoint_signhash(msg, cp);
    err = cairn_schnorr_sign(out->sig, sk, msg, NULL);
  }
  if (err != CAIRN_OK) {
    memset(out, 0, sizeof *out);
    return err;
  }
  out->cp = *cp;
  return CAIRN_OK;
}

cairn_err cairn_checkpoint_verify(const cairn_checkpoint_signed *s) {
  uint8_t msg[CAIRN_HASH_BYTES];
  assert(s != NULL);
  cairn_checkpoint_signhash(msg, &s->cp);
  return cairn_schnorr_verify(s->sig, msg, sizeof msg, s->auditor);
}

/* ---- JSON ---- */

static json_t *checkpoint_json(const cairn_checkpoint *cp) {
  return json_pack("{s:i, s:s, s:o, s:I, s:o, s:o}", "version",
                   CAIRN_CHECKPOINT_VERSION, "chain_id", cp->chain_id,
                   "genesis_hash", cairn_json_hex(cp->genesis_hash, 32),
                   "height", (json_int_t)cp->height, "block_hash",
                   cairn_json_hex(cp->block_hash, 32), "state_hash",
                   cairn_json_hex(cp->state_hash, 32));
}

static cairn_err checkpoint_dump(json_t *o, char **out) {
  *out = NULL;
  if (o == NULL) return CAIRN_ERR_NOMEM;
  char *text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
  json_decref(o);
  if (text == NULL) return CAIRN_ERR_NOMEM;
  *out = text;
  return CAIRN_OK;
}

cairn_err cairn_checkpoint_to_json(const cairn_checkpoint *cp, char **out) {
  assert(cp != NULL && out != NULL);
  /* Heights are JSON integers (specs/api.md); no chain gets near 2^63. */
  assert(cp->height <= (uint64_t)INT64_MAX);
  return checkpoint_dump(checkpoint_json(cp), out);
}

cairn_err cairn_checkpoint_signed_to_json(const cairn_checkpoint_signed *s,
                                          char **out) {
  assert(s != NULL && out != NULL);
  assert(s->cp.height <= (uint64_t)INT64_MAX);
  json_t *o = checkpoint_json(&s->cp);
  if (o != NULL &&
      (json_object_set_new(o, "auditor", cairn_json_address(s->auditor)) !=
           0 ||
       json_object_set_new(o, "signature", cairn_json_hex(s->sig, 64)) != 0)) {
    json_decref(o);
    o = NULL;
  }
  return checkpoint_dump(o, out);
}

/* Exactly the first n_keys keys of checkpoint_keys, no others. */
static cairn_err checkpoint_check_keys(const json_t *o, size_t n_keys,
                                       char *why, size_t why_cap) {
  const char *key = cairn_json_unknown_key(o, checkpoint_keys, n_keys);
  if (key != NULL)
    return checkpoint_fail(why, why_cap, CAIRN_ERR_RANGE, "unknown field "
                           "\"%s\" in the checkpoint", key);
  for (size_t i = 0; i < n_keys; i++)
    if (json_object_get(o, checkpoint_keys[i]) == NULL)
      return checkpoint_fail(why, why_cap, CAIRN_ERR_RANGE, "the checkpoint "
                             "has no \"%s\"", checkpoint_keys[i]);
  return CAIRN_OK;
}

/* A hex field of exactly n bytes. */
static cairn_err checkpoint_hex(const json_t *o, const char *key, uint8_t *out,
                                size_t n, char *why, size_t why_cap) {
  const char *s = json_string_value(json_object_get(o, key));
  if (s == NULL || strlen(s) != 2 * n ||
      cairn_hex_decode_exact(out, n, s) != CAIRN_OK)
    return checkpoint_fail(why, why_cap, CAIRN_ERR_RANGE, "checkpoint field "
                           "\"%s\" must be %zu hexadecimal characters", key,
                           2 * n);
  return CAIRN_OK;
}

/* Chain ids follow the genesis rule: 1-32 characters of a-z, 0-9, -. */
static cairn_err checkpoint_chain_id(const json_t *o, cairn_checkpoint *cp,
                                     char *why, size_t why_cap) {
  const char *s = json_string_value(json_object_get(o, "chain_id"));
  size_t n = s != NULL ? strlen(s) : 0;
  bool ok = n >= 1 && n <= CAIRN_CHAIN_ID_BYTES_MAX &&
            strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
  if (!ok)
    return checkpoint_fail(why, why_cap, CAIRN_ERR_RANGE, "checkpoint field "
                           "\"chain_id\" must be 1-32 characters of a-z, 0-9 "
                           "and -");
  memcpy(cp->chain_id, s, n + 1);
  cp->chain_id_len = (uint8_t)n;
  return CAIRN_OK;
}

static cairn_err checkpoint_fields(const json_t *o, cairn_checkpoint *cp,
                                   char *why, size_t why_cap) {
  const json_t *version = json_object_get(o, "version");
  if (!json_is_integer(version) ||
      json_integer_value(version) != CAIRN_CHECKPOINT_VERSION)
    return checkpoint_fail(why, why_cap, CAIRN_ERR_VERSION, "unsupported "
                           "checkpoint version (this program reads version "
                           "%d)", CAIRN_CHECKPOINT_VERSION);
  CAIRN_TRY(checkpoint_chain_id(o, cp, why, why_cap));
  const json_t *height = json_object_get(o, "height");
  if (!json_is_integer(height) ||
      cairn_json_get_u64(height, &cp->height) != CAIRN_OK)
    return checkpoint_fail(why, why_cap, CAIRN_ERR_RANGE, "checkpoint field "
                           "\"height\" must be a non-negative integer");
  CAIRN_TRY(checkpoint_hex(o, "genesis_hash", cp->genesis_hash, 32, why,
                           why_cap));
  CAIRN_TRY(checkpoint_hex(o, "block_hash", cp->block_hash, 32, why,
                           why_cap));
  return checkpoint_hex(o, "state_hash", cp->state_hash, 32, why, why_cap);
}

/* Parse text as a checkpoint object with n_keys keys; *root is the object
 * (caller decrefs) when the plain fields parsed. */
static cairn_err checkpoint_parse(const char *text, size_t len, size_t n_keys,
                                  cairn_checkpoint *cp, json_t **root,
                                  char *why, size_t why_cap) {
  json_error_t jerr;
  *root = NULL;
  json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (o == NULL || !json_is_object(o)) {
    json_decref(o);
    return checkpoint_fail(why, why_cap, CAIRN_ERR_JSON, "the checkpoint is "
                           "not a JSON object%s%s", o == NULL ? ": " : "",
                           o == NULL ? jerr.text : "");
  }
  cairn_err err = checkpoint_check_keys(o, n_keys, why, why_cap);
  if (err == CAIRN_OK) err = checkpoint_fields(o, cp, why, why_cap);
  if (err != CAIRN_OK) {
    json_decref(o);
    return err;
  }
  *root = o;
  return CAIRN_OK;
}

cairn_err cairn_checkpoint_from_json(cairn_checkpoint *out, const char *text,
                                     size_t len, char *why, size_t why_cap) {
  json_t *o = NULL;
  assert(out != NULL && text != NULL);
  memset(out, 0, sizeof *out);
  cairn_err err = checkpoint_parse(text, len, CHECKPOINT_PLAIN_KEYS, out, &o,
                                   why, why_cap);
  json_decref(o);
  if (err != CAIRN_OK) memset(out, 0, sizeof *out);
  return err;
}

cairn_err cairn_checkpoint_signed_from_json(cairn_checkpoint_signed *out,
                                            const char *text, size_t len,
                                            char *why, size_t why_cap) {
  json_t *o = NULL;
  assert(out != NULL && text != NULL);
  memset(out, 0, sizeof *out);
  cairn_err err = checkpoint_parse(text, len, CHECKPOINT_SIGNED_KEYS,
                                   &out->cp, &o, why, why_cap);
  if (err == CAIRN_OK) {
    const char *addr = json_string_value(json_object_get(o, "auditor"));
    if (addr == NULL || cairn_address_decode(out->auditor, addr) != CAIRN_OK)
      err = checkpoint_fail(why, why_cap, CAIRN_ERR_RANGE, "checkpoint field "
                            "\"auditor\" must be a Cairn address");
  }
  if (err == CAIRN_OK)
    err = checkpoint_hex(o, "signature", out->sig, 64, why, why_cap);
  json_decref(o);
  if (err != CAIRN_OK) memset(out, 0, sizeof *out);
  return err;
}

/* ---- files ---- */

static cairn_err checkpoint_read(const char *path, char **text, size_t *len,
                                 char *why, size_t why_cap) {
  cairn_err err =
      cairn_file_read_all(path, CAIRN_CHECKPOINT_FILE_BYTES_MAX, text, len);
  if (err == CAIRN_ERR_OVERSIZE)
    return checkpoint_fail(why, why_cap, err, "%s is larger than %u bytes: "
                           "not a checkpoint", path,
                           CAIRN_CHECKPOINT_FILE_BYTES_MAX);
  if (err != CAIRN_OK)
    return checkpoint_fail(why, why_cap, err, "cannot read %s: %s", path,
                           cairn_strerror(err));
  return CAIRN_OK;
}

cairn_err cairn_checkpoint_load(const char *path, cairn_checkpoint *out,
                                char *why, size_t why_cap) {
  char *text = NULL;
  size_t len = 0;
  memset(out, 0, sizeof *out);
  CAIRN_TRY(checkpoint_read(path, &text, &len, why, why_cap));
  cairn_err err = cairn_checkpoint_from_json(out, text, len, why, why_cap);
  free(text);
  return err;
}

cairn_err cairn_checkpoint_signed_load(const char *path,
                                       cairn_checkpoint_signed *out, char *why,
                                       size_t why_cap) {
  char *text = NULL;
  size_t len = 0;
  memset(out, 0, sizeof *out);
  CAIRN_TRY(checkpoint_read(path, &text, &len, why, why_cap));
  cairn_err err =
      cairn_checkpoint_signed_from_json(out, text, len, why, why_cap);
  free(text);
  return err;
}

/* Write text plus a newline atomically. */
static cairn_err checkpoint_write(const char *path, char *text) {
  size_t n = strlen(text);
  char *line = malloc(n + 2);
  if (line == NULL) {
    free(text);
    return CAIRN_ERR_NOMEM;
  }
  memcpy(line, text, n);
  line[n] = '\n';
  line[n + 1] = '\0';
  free(text);
  cairn_err err = cairn_file_write_atomic(path, line, n + 1, 0644, false);
  free(line);
  return err;
}

cairn_err cairn_checkpoint_save(const char *path, const cairn_checkpoint *cp) {
  char *text = NULL;
  CAIRN_TRY(cairn_checkpoint_to_json(cp, &text));
  return checkpoint_write(path, text);
}

cairn_err cairn_checkpoint_signed_save(const char *path,
                                       const cairn_checkpoint_signed *s) {
  char *text = NULL;
  CAIRN_TRY(cairn_checkpoint_signed_to_json(s, &text));
  return checkpoint_write(path, text);
}
