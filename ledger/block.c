/*
 * block.c - block headers, blocks, validator sets, votes and commits.
 *
 * A block is a header followed by its transactions as length-prefixed byte
 * strings. Only the header is hashed: it commits to the transactions through
 * tx_root (the RFC 6962 root of their ids), to the application state through
 * state_hash and to the validators through validators_hash, so a light
 * client that trusts one header can check anything below it. The block
 * decoder does not decode the transactions; it hands back slices into the
 * caller's buffer so that the (expensive) transaction checks can be spread
 * over cores by the caller, and no copy of a 4 MiB block is ever made.
 *
 * Consensus is Tendermint-shaped: validators sign prevotes and precommits
 * with Ed25519 over a tagged hash that includes the chain id, so a vote can
 * never be replayed on another chain or as another kind of message. A commit
 * is the set of precommits that finalised a block. Its signatures are stored
 * in strictly ascending validator order, which makes the encoding canonical
 * and makes a duplicate signer impossible to hide; cairn_commit_verify()
 * still re-checks the order, because counting one validator's power twice
 * would let a minority finalise a block.
 *
 * Voting power totals are bounded by CAIRN_TOTAL_POWER_MAX (2^60), so the
 * "more than two thirds" test signed_power * 3 > total_power * 2 cannot
 * overflow 64 bits; the bound is asserted where the sums are formed.
 */
#include <assert.h>
#include <string.h>

#include "cairn/block.h"
#include "cairn/encoding.h"

_Static_assert(CAIRN_TOTAL_POWER_MAX <= UINT64_MAX / 3,
               "3 * total power must fit in a u64");

/* ---- headers ---- */

static void header_put(cairn_writer *w, const cairn_block_header *h) {
  cairn_put_u8(w, h->version);
  cairn_put_var8(w, h->chain_id, h->chain_id_len);
  cairn_put_u64(w, h->height);
  cairn_put_u64(w, h->time_ms);
  cairn_put_bytes(w, h->prev_hash, CAIRN_HASH_BYTES);
  cairn_put_bytes(w, h->tx_root, CAIRN_HASH_BYTES);
  cairn_put_bytes(w, h->state_hash, CAIRN_HASH_BYTES);
  cairn_put_bytes(w, h->proposer, CAIRN_ED25519_PUBKEY_BYTES);
  cairn_put_bytes(w, h->validators_hash, CAIRN_HASH_BYTES);
  cairn_put_u32(w, h->tx_count);
}

/* The rules a header struct must satisfy before it is encoded. */
static bool header_valid(const cairn_block_header *h) {
  return h->version == CAIRN_BLOCK_VERSION && h->chain_id_len >= 1 &&
         h->chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX && h->height >= 1 &&
         h->tx_count <= CAIRN_BLOCK_TXS_MAX;
}

/* Read a header from the front of r, checking each field as it is read. */
static cairn_err header_get(cairn_reader *r, cairn_block_header *h) {
  const uint8_t *chain_id;
  size_t chain_id_len;
  CAIRN_TRY(cairn_get_u8(r, &h->version));
  if (h->version != CAIRN_BLOCK_VERSION) return CAIRN_ERR_VERSION;
  CAIRN_TRY(
      cairn_get_var8(r, &chain_id, &chain_id_len, CAIRN_CHAIN_ID_BYTES_MAX));
  if (chain_id_len == 0) return CAIRN_ERR_RANGE;
  memcpy(h->chain_id, chain_id, chain_id_len);
  h->chain_id_len = (uint8_t)chain_id_len;
  CAIRN_TRY(cairn_get_u64(r, &h->height));
  if (h->height == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u64(r, &h->time_ms));
  CAIRN_TRY(cairn_get_bytes(r, h->prev_hash, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_bytes(r, h->tx_root, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_bytes(r, h->state_hash, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_bytes(r, h->proposer, CAIRN_ED25519_PUBKEY_BYTES));
  CAIRN_TRY(cairn_get_bytes(r, h->validators_hash, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_u32(r, &h->tx_count));
  if (h->tx_count > CAIRN_BLOCK_TXS_MAX) return CAIRN_ERR_RANGE;
  return CAIRN_OK;
}

cairn_err cairn_block_header_encode(uint8_t *buf, size_t cap, size_t *len,
                                    const cairn_block_header *h) {
  cairn_writer w;
  assert(h != NULL && len != NULL);
  assert(header_valid(h));
  cairn_writer_init(&w, buf, cap);
  header_put(&w, h);
  cairn_err err = cairn_writer_finish(&w, len);
  assert(err != CAIRN_OK || *len <= CAIRN_BLOCK_HEADER_BYTES_MAX);
  return err;
}

cairn_err cairn_block_header_decode(cairn_block_header *h, const uint8_t *buf,
                                    size_t len) {
  cairn_reader r;
  assert(h != NULL && (buf != NULL || len == 0));
  memset(h, 0, sizeof *h);
  cairn_reader_init(&r, buf, len);
  cairn_err err = header_get(&r, h);
  if (err == CAIRN_OK) err = cairn_reader_end(&r);
  if (err != CAIRN_OK) memset(h, 0, sizeof *h);
  return err;
}

cairn_err cairn_block_hash(uint8_t out[CAIRN_HASH_BYTES],
                           const cairn_block_header *h) {
  uint8_t buf[CAIRN_BLOCK_HEADER_BYTES_MAX];
  size_t len;
  assert(out != NULL && h != NULL);
  cairn_err err = cairn_block_header_encode(buf, sizeof buf, &len, h);
  if (err != CAIRN_OK) {
    memset(out, 0, CAIRN_HASH_BYTES);
    return err;
  }
  cairn_tagged_hash(out, CAIRN_TAG_BLOCK, buf, len);
  return CAIRN_OK;
}

/* ---- blocks ---- */

cairn_err cairn_block_encode(uint8_t *buf, size_t cap, size_t *len,
                             const cairn_block_header *h,
                             const cairn_slice *txs) {
  cairn_writer w;
  assert(h != NULL && len != NULL);
  assert(txs != NULL || h->tx_count == 0);
  assert(header_valid(h));
  cairn_writer_init(&w, buf, cap);
  header_put(&w, h);
  for (uint32_t i = 0; i < h->tx_count; i++) {
    assert(txs[i].p != NULL);
    assert(txs[i].len >= 1 && txs[i].len <= CAIRN_TX_BYTES_MAX);
    cairn_put_var32(&w, txs[i].p, txs[i].len);
  }
  CAIRN_TRY(cairn_writer_finish(&w, len));
  /* A block the decoder would refuse must not be produced either. */
  if (*len > CAIRN_BLOCK_BYTES_MAX) {
    *len = 0;
    return CAIRN_ERR_OVERSIZE;
  }
  return CAIRN_OK;
}

/* The transaction list after the header; txs has room for tx_count. */
static cairn_err block_get_txs(cairn_reader *r, uint32_t tx_count,
                               cairn_slice *txs) {
  for (uint32_t i = 0; i < tx_count; i++) {
    CAIRN_TRY(cairn_get_var32(r, &txs[i].p, &txs[i].len, CAIRN_TX_BYTES_MAX));
    if (txs[i].len == 0) return CAIRN_ERR_RANGE;
  }
  return CAIRN_OK;
}

cairn_err cairn_block_decode(cairn_block_header *h, cairn_slice *txs,
                             size_t txs_cap, const uint8_t *buf, size_t len) {
  cairn_reader r;
  assert(h != NULL && (txs != NULL || txs_cap == 0));
  assert(buf != NULL || len == 0);
  memset(h, 0, sizeof *h);
  if (len > CAIRN_BLOCK_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  cairn_reader_init(&r, buf, len);
  cairn_err err = header_get(&r, h);
  if (err == CAIRN_OK && h->tx_count > txs_cap) err = CAIRN_ERR_LIMIT;
  if (err == CAIRN_OK) err = block_get_txs(&r, h->tx_count, txs);
  if (err == CAIRN_OK) err = cairn_reader_end(&r);
  if (err != CAIRN_OK) {
    /* Cleared only on failure, so a successful decode costs O(tx_count)
     * rather than O(txs_cap); entries past tx_count are not outputs. */
    if (txs_cap > 0) memset(txs, 0, txs_cap * sizeof *txs);
    memset(h, 0, sizeof *h);
  }
  return err;
}

/* ---- validator sets ---- */

void cairn_valset_hash(uint8_t out[CAIRN_HASH_BYTES], const cairn_valset *vs) {
  cairn_sha256 h;
  uint8_t n[2], power[8];
  assert(out != NULL && vs != NULL);
  assert(vs->n <= CAIRN_VALIDATORS_MAX);
  cairn_tagged_init(&h, CAIRN_TAG_VALSET);
  n[0] = (uint8_t)(vs->n >> 8);
  n[1] = (uint8_t)vs->n;
  cairn_sha256_update(&h, n, sizeof n);
  for (uint32_t i = 0; i < vs->n; i++) {
    cairn_sha256_update(&h, vs->v[i].pubkey, CAIRN_ED25519_PUBKEY_BYTES);
    cairn_be64_write(power, vs->v[i].power);
    cairn_sha256_update(&h, power, sizeof power);
  }
  cairn_sha256_final(&h, out);
}

int cairn_valset_find(const cairn_valset *vs,
                      const uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]) {
  assert(vs != NULL && pk != NULL);
  assert(vs->n <= CAIRN_VALIDATORS_MAX);
  /* At most 128 entries: a scan is as fast as a search and does not depend
   * on the set being sorted. */
  for (uint32_t i = 0; i < vs->n; i++) {
    if (memcmp(vs->v[i].pubkey, pk, CAIRN_ED25519_PUBKEY_BYTES) == 0) {
      return (int)i;
    }
  }
  return -1;
}

cairn_err cairn_valset_check(cairn_valset *vs) {
  uint64_t total = 0;
  assert(vs != NULL);
  if (vs->n == 0 || vs->n > CAIRN_VALIDATORS_MAX) return CAIRN_ERR_RANGE;
  for (uint32_t i = 0; i < vs->n; i++) {
    const cairn_validator *v = &vs->v[i];
    if (v->power == 0 || v->power > CAIRN_TOTAL_POWER_MAX) {
      return CAIRN_ERR_RANGE;
    }
    if (v->name_len > CAIRN_NAME_BYTES_MAX) return CAIRN_ERR_RANGE;
    if (i > 0 && memcmp(vs->v[i - 1].pubkey, v->pubkey,
                        CAIRN_ED25519_PUBKEY_BYTES) >= 0) {
      return CAIRN_ERR_NONCANONICAL;
    }
    /* Both terms are <= 2^60, so the sum cannot wrap before the test. */
    total += v->power;
    if (total > CAIRN_TOTAL_POWER_MAX) return CAIRN_ERR_RANGE;
  }
  vs->total_power = total;
  return CAIRN_OK;
}

/* ---- votes ---- */

static bool vote_type_valid(uint8_t type) {
  return type == CAIRN_VOTE_PREVOTE || type == CAIRN_VOTE_PRECOMMIT;
}

cairn_err cairn_vote_encode(uint8_t *buf, size_t cap, size_t *len,
                            const cairn_vote *v) {
  cairn_writer w;
  assert(v != NULL && len != NULL);
  assert(vote_type_valid(v->type) && v->height >= 1);
  cairn_writer_init(&w, buf, cap);
  cairn_put_u8(&w, v->type);
  cairn_put_u64(&w, v->height);
  cairn_put_u32(&w, v->round);
  cairn_put_bytes(&w, v->block_hash, CAIRN_HASH_BYTES);
  cairn_put_bytes(&w, v->validator, CAIRN_ED25519_PUBKEY_BYTES);
  cairn_put_bytes(&w, v->sig, CAIRN_ED25519_SIG_BYTES);
  cairn_err err = cairn_writer_finish(&w, len);
  assert(err != CAIRN_OK || *len == CAIRN_VOTE_BYTES);
  return err;
}

static cairn_err vote_get(cairn_reader *r, cairn_vote *v) {
  CAIRN_TRY(cairn_get_u8(r, &v->type));
  if (!vote_type_valid(v->type)) return CAIRN_ERR_BAD_TYPE;
  CAIRN_TRY(cairn_get_u64(r, &v->height));
  if (v->height == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u32(r, &v->round));
  CAIRN_TRY(cairn_get_bytes(r, v->block_hash, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_bytes(r, v->validator, CAIRN_ED25519_PUBKEY_BYTES));
  CAIRN_TRY(cairn_get_bytes(r, v->sig, CAIRN_ED25519_SIG_BYTES));
  return cairn_reader_end(r);
}

cairn_err cairn_vote_decode(cairn_vote *v, const uint8_t *buf, size_t len) {
  cairn_reader r;
  assert(v != NULL && (buf != NULL || len == 0));
  memset(v, 0, sizeof *v);
  cairn_reader_init(&r, buf, len);
  cairn_err err = vote_get(&r, v);
  if (err != CAIRN_OK) memset(v, 0, sizeof *v);
  assert(err != CAIRN_OK || len == CAIRN_VOTE_BYTES);
  return err;
}

void cairn_vote_signhash(uint8_t out[CAIRN_HASH_BYTES], const uint8_t *chain_id,
                         size_t chain_id_len, uint8_t type, uint64_t height,
                         uint32_t round, const uint8_t block_hash[32]) {
  cairn_sha256 h;
  uint8_t buf[1 + CAIRN_CHAIN_ID_BYTES_MAX + 1 + 8 + 4 + CAIRN_HASH_BYTES];
  cairn_writer w;
  size_t len;
  assert(out != NULL && chain_id != NULL && block_hash != NULL);
  assert(chain_id_len >= 1 && chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  cairn_writer_init(&w, buf, sizeof buf);
  cairn_put_var8(&w, chain_id, chain_id_len);
  cairn_put_u8(&w, type);
  cairn_put_u64(&w, height);
  cairn_put_u32(&w, round);
  cairn_put_bytes(&w, block_hash, CAIRN_HASH_BYTES);
  cairn_err err = cairn_writer_finish(&w, &len);
  assert(err == CAIRN_OK); /* buf is sized for the largest chain id */
  (void)err;
  cairn_tagged_init(&h, CAIRN_TAG_VOTE);
  cairn_sha256_update(&h, buf, len);
  cairn_sha256_final(&h, out);
}

/* Signs v's (type, height, round, block_hash) and sets v->validator to the
 * public half of sk (libsodium keeps it in the last 32 bytes). */
cairn_err cairn_vote_sign(cairn_vote *v, const uint8_t *chain_id,
                          size_t chain_id_len,
                          const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]) {
  uint8_t msg[CAIRN_HASH_BYTES];
  uint8_t sig[CAIRN_ED25519_SIG_BYTES];
  assert(v != NULL && sk != NULL);
  assert(vote_type_valid(v->type) && v->height >= 1);
  cairn_vote_signhash(msg, chain_id, chain_id_len, v->type, v->height,
                      v->round, v->block_hash);
  CAIRN_TRY(cairn_ed25519_sign(sig, sk, msg, sizeof msg));
  memcpy(v->validator, sk + 32, CAIRN_ED25519_PUBKEY_BYTES);
  memcpy(v->sig, sig, CAIRN_ED25519_SIG_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_vote_verify(const cairn_vote *v, const uint8_t *chain_id,
                            size_t chain_id_len) {
  uint8_t msg[CAIRN_HASH_BYTES];
  assert(v != NULL);
  if (!vote_type_valid(v->type)) return CAIRN_ERR_BAD_TYPE;
  cairn_vote_signhash(msg, chain_id, chain_id_len, v->type, v->height,
                      v->round, v->block_hash);
  return cairn_ed25519_verify(v->sig, msg, sizeof msg, v->validator);
}

/* ---- commits ---- */

static bool commit_sorted(const cairn_commit *c) {
  for (uint16_t i = 1; i < c->n_sigs; i++) {
    if (memcmp(c->sigs[i - 1].validator, c->sigs[i].validator,
               CAIRN_ED25519_PUBKEY_BYTES) >= 0) {
      return false;
    }
  }
  return true;
}

cairn_err cairn_commit_encode(uint8_t *buf, size_t cap, size_t *len,
                              const cairn_commit *c) {
  cairn_writer w;
  assert(c != NULL && len != NULL);
  assert(c->n_sigs >= 1 && c->n_sigs <= CAIRN_VALIDATORS_MAX);
  assert(c->height >= 1 && commit_sorted(c));
  cairn_writer_init(&w, buf, cap);
  cairn_put_u64(&w, c->height);
  cairn_put_u32(&w, c->round);
  cairn_put_bytes(&w, c->block_hash, CAIRN_HASH_BYTES);
  cairn_put_u16(&w, c->n_sigs);
  for (uint16_t i = 0; i < c->n_sigs; i++) {
    cairn_put_bytes(&w, c->sigs[i].validator, CAIRN_ED25519_PUBKEY_BYTES);
    cairn_put_bytes(&w, c->sigs[i].sig, CAIRN_ED25519_SIG_BYTES);
  }
  cairn_err err = cairn_writer_finish(&w, len);
  assert(err != CAIRN_OK || *len <= CAIRN_COMMIT_BYTES_MAX);
  return err;
}

static cairn_err commit_get(cairn_reader *r, cairn_commit *c) {
  CAIRN_TRY(cairn_get_u64(r, &c->height));
  if (c->height == 0) return CAIRN_ERR_RANGE;
  CAIRN_TRY(cairn_get_u32(r, &c->round));
  CAIRN_TRY(cairn_get_bytes(r, c->block_hash, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_u16(r, &c->n_sigs));
  if (c->n_sigs == 0 || c->n_sigs > CAIRN_VALIDATORS_MAX) {
    return CAIRN_ERR_RANGE;
  }
  for (uint16_t i = 0; i < c->n_sigs; i++) {
    cairn_commit_sig *s = &c->sigs[i];
    CAIRN_TRY(cairn_get_bytes(r, s->validator, CAIRN_ED25519_PUBKEY_BYTES));
    if (i > 0 && memcmp(c->sigs[i - 1].validator, s->validator,
                        CAIRN_ED25519_PUBKEY_BYTES) >= 0) {
      return CAIRN_ERR_NONCANONICAL;
    }
    CAIRN_TRY(cairn_get_bytes(r, s->sig, CAIRN_ED25519_SIG_BYTES));
  }
  return cairn_reader_end(r);
}

cairn_err cairn_commit_decode(cairn_commit *c, const uint8_t *buf,
                              size_t len) {
  cairn_reader r;
  assert(c != NULL && (buf != NULL || len == 0));
  memset(c, 0, sizeof *c);
  cairn_reader_init(&r, buf, len);
  cairn_err err = commit_get(&r, c);
  if (err != CAIRN_OK) memset(c, 0, sizeof *c);
  return err;
}

cairn_err cairn_commit_add(cairn_commit *c, const uint8_t validator[32],
                           const uint8_t sig[64]) {
  uint16_t pos = 0;
  assert(c != NULL && validator != NULL && sig != NULL);
  assert(c->n_sigs <= CAIRN_VALIDATORS_MAX);
  while (pos < c->n_sigs) {
    int cmp = memcmp(c->sigs[pos].validator, validator,
                     CAIRN_ED25519_PUBKEY_BYTES);
    if (cmp == 0) return CAIRN_ERR_EXISTS;
    if (cmp > 0) break;
    pos++;
  }
  if (c->n_sigs == CAIRN_VALIDATORS_MAX) return CAIRN_ERR_LIMIT;
  memmove(&c->sigs[pos + 1], &c->sigs[pos],
          (size_t)(c->n_sigs - pos) * sizeof c->sigs[0]);
  memcpy(c->sigs[pos].validator, validator, CAIRN_ED25519_PUBKEY_BYTES);
  memcpy(c->sigs[pos].sig, sig, CAIRN_ED25519_SIG_BYTES);
  c->n_sigs++;
  assert(commit_sorted(c));
  return CAIRN_OK;
}

/* Sum of the powers in vs; the set must have passed cairn_valset_check. */
static uint64_t valset_total(const cairn_valset *vs) {
  uint64_t total = 0;
  assert(vs->n <= CAIRN_VALIDATORS_MAX);
  for (uint32_t i = 0; i < vs->n; i++) {
    assert(vs->v[i].power <= CAIRN_TOTAL_POWER_MAX);
    total += vs->v[i].power;
    assert(total <= CAIRN_TOTAL_POWER_MAX);
  }
  assert(total == vs->total_power);
  return total;
}

cairn_err cairn_commit_verify(const cairn_commit *c, const uint8_t *chain_id,
                              size_t chain_id_len, uint64_t height,
                              const uint8_t block_hash[CAIRN_HASH_BYTES],
                              const cairn_valset *vs) {
  uint8_t msg[CAIRN_HASH_BYTES];
  uint64_t signed_power = 0;
  assert(c != NULL && block_hash != NULL && vs != NULL);
  uint64_t total = valset_total(vs);
  if (c->height != height ||
      memcmp(c->block_hash, block_hash, CAIRN_HASH_BYTES) != 0) {
    return CAIRN_ERR_BAD_COMMIT;
  }
  if (c->n_sigs == 0 || c->n_sigs > CAIRN_VALIDATORS_MAX || !commit_sorted(c)) {
    return CAIRN_ERR_BAD_COMMIT;
  }
  cairn_vote_signhash(msg, chain_id, chain_id_len, CAIRN_VOTE_PRECOMMIT,
                      c->height, c->round, c->block_hash);
  for (uint16_t i = 0; i < c->n_sigs; i++) {
    int idx = cairn_valset_find(vs, c->sigs[i].validator);
    if (idx < 0) return CAIRN_ERR_BAD_COMMIT;
    if (cairn_ed25519_verify(c->sigs[i].sig, msg, sizeof msg,
                             c->sigs[i].validator) != CAIRN_OK) {
      return CAIRN_ERR_BAD_COMMIT;
    }
    /* Signers are distinct (sorted strictly), so this is at most total. */
    signed_power += vs->v[idx].power;
  }
  assert(signed_power <= total);
  return signed_power * 3 > total * 2 ? CAIRN_OK : CAIRN_ERR_BAD_COMMIT;
}
