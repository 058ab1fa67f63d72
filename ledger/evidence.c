/*
 * evidence.c - duplicate-vote evidence.
 *
 * Tendermint's safety rests on each validator signing at most one value
 * per (height, round, type). A validator that signs two different block
 * hashes there (nil counts as a value) can help two conflicting blocks
 * reach 2/3, so the two signed votes together are a self-contained proof of
 * misbehaviour that anyone can check with nothing but the chain id and the
 * validator set: same signer, same height, round and type, different block
 * hashes, both signatures valid, signer a member of the set.
 *
 * The encoding is the version byte and the two votes in their ordinary
 * wire form, lower block hash first. Fixing the order means one offence
 * has exactly one encoding, which lets a chain recognise evidence it has
 * already processed by its bytes. The decoder checks only the form (sizes,
 * vote fields, order); cairn_evidence_verify checks the meaning, each
 * failure with its own error code so a submitter learns what was wrong.
 * Signatures are checked last: they are the expensive part, and every
 * cheaper reason to reject comes first.
 */
#include <assert.h>
#include <string.h>

#include "cairn/evidence.h"

static bool evidence_vote_valid(const cairn_vote *v) {
  return (v->type == CAIRN_VOTE_PREVOTE || v->type == CAIRN_VOTE_PRECOMMIT) &&
         v->height >= 1;
}

static int evidence_order(const cairn_evidence *e) {
  return memcmp(e->a.block_hash, e->b.block_hash, CAIRN_HASH_BYTES);
}

cairn_err cairn_evidence_from_votes(cairn_evidence *e, const cairn_vote *x,
                                    const cairn_vote *y) {
  assert(e != NULL && x != NULL && y != NULL);
  memset(e, 0, sizeof *e);
  int cmp = memcmp(x->block_hash, y->block_hash, CAIRN_HASH_BYTES);
  if (cmp == 0) return CAIRN_ERR_EVIDENCE_SAME_BLOCK;
  e->version = CAIRN_EVIDENCE_VERSION;
  e->a = cmp < 0 ? *x : *y;
  e->b = cmp < 0 ? *y : *x;
  assert(evidence_order(e) < 0);
  return CAIRN_OK;
}

cairn_err cairn_evidence_encode(uint8_t *buf, size_t cap, size_t *len,
                                const cairn_evidence *e) {
  size_t vlen;
  assert(e != NULL && len != NULL);
  assert(e->version == CAIRN_EVIDENCE_VERSION && evidence_order(e) < 0);
  assert(evidence_vote_valid(&e->a) && evidence_vote_valid(&e->b));
  *len = 0;
  if (buf == NULL || cap < CAIRN_EVIDENCE_BYTES) return CAIRN_ERR_TRUNCATED;
  buf[0] = e->version;
  CAIRN_TRY(cairn_vote_encode(buf + 1, CAIRN_VOTE_BYTES, &vlen, &e->a));
  assert(vlen == CAIRN_VOTE_BYTES);
  CAIRN_TRY(cairn_vote_encode(buf + 1 + CAIRN_VOTE_BYTES, CAIRN_VOTE_BYTES,
                              &vlen, &e->b));
  assert(vlen == CAIRN_VOTE_BYTES);
  *len = CAIRN_EVIDENCE_BYTES;
  return CAIRN_OK;
}

static cairn_err evidence_get(cairn_evidence *e, const uint8_t *buf,
                              size_t len) {
  if (len < 1) return CAIRN_ERR_TRUNCATED;
  e->version = buf[0];
  if (e->version != CAIRN_EVIDENCE_VERSION) return CAIRN_ERR_VERSION;
  if (len < CAIRN_EVIDENCE_BYTES) return CAIRN_ERR_TRUNCATED;
  if (len > CAIRN_EVIDENCE_BYTES) return CAIRN_ERR_TRAILING;
  CAIRN_TRY(cairn_vote_decode(&e->a, buf + 1, CAIRN_VOTE_BYTES));
  CAIRN_TRY(cairn_vote_decode(&e->b, buf + 1 + CAIRN_VOTE_BYTES,
                              CAIRN_VOTE_BYTES));
  if (evidence_order(e) >= 0) return CAIRN_ERR_NONCANONICAL;
  return CAIRN_OK;
}

cairn_err cairn_evidence_decode(cairn_evidence *e, const uint8_t *buf,
                                size_t len) {
  assert(e != NULL && (buf != NULL || len == 0));
  memset(e, 0, sizeof *e);
  cairn_err err = evidence_get(e, buf, len);
  if (err != CAIRN_OK) memset(e, 0, sizeof *e);
  return err;
}

/* The checks that need neither the validator set nor cryptography. */
static cairn_err evidence_check_form(const cairn_evidence *e) {
  const cairn_vote *a = &e->a, *b = &e->b;
  if (e->version != CAIRN_EVIDENCE_VERSION) return CAIRN_ERR_VERSION;
  if (a->type != CAIRN_VOTE_PREVOTE && a->type != CAIRN_VOTE_PRECOMMIT) {
    return CAIRN_ERR_BAD_TYPE;
  }
  if (b->type != CAIRN_VOTE_PREVOTE && b->type != CAIRN_VOTE_PRECOMMIT) {
    return CAIRN_ERR_BAD_TYPE;
  }
  if (a->height == 0 || b->height == 0) return CAIRN_ERR_RANGE;
  if (memcmp(a->validator, b->validator, CAIRN_ED25519_PUBKEY_BYTES) != 0) {
    return CAIRN_ERR_EVIDENCE_VALIDATORS;
  }
  if (a->height != b->height || a->round != b->round || a->type != b->type) {
    return CAIRN_ERR_EVIDENCE_MISMATCH;
  }
  int cmp = evidence_order(e);
  if (cmp == 0) return CAIRN_ERR_EVIDENCE_SAME_BLOCK;
  if (cmp > 0) return CAIRN_ERR_NONCANONICAL;
  return CAIRN_OK;
}

cairn_err cairn_evidence_verify(const cairn_evidence *e,
                                const uint8_t *chain_id, size_t chain_id_len,
                                const cairn_valset *vs) {
  assert(e != NULL && chain_id != NULL && vs != NULL);
  assert(chain_id_len >= 1 && chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  CAIRN_TRY(evidence_check_form(e));
  if (cairn_valset_find(vs, e->a.validator) < 0) {
    return CAIRN_ERR_NOT_VALIDATOR;
  }
  if (cairn_vote_verify(&e->a, chain_id, chain_id_len) != CAIRN_OK ||
      cairn_vote_verify(&e->b, chain_id, chain_id_len) != CAIRN_OK) {
    return CAIRN_ERR_BAD_SIG;
  }
  return CAIRN_OK;
}
