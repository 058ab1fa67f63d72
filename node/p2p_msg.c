/*
 * node/p2p_msg.c - the messages validators exchange, and the proposal
 * signature.
 *
 * A peer message is one type byte and a body whose layout the type fixes
 * (specs/p2p.md has the byte tables). Everything here is pure: no I/O, no
 * allocation, no state. The encoder is straight-line code over a
 * cairn_writer (it asserts that the caller's struct is within bounds, since
 * our own code builds it); the decoder is strict, because its input comes
 * from a peer we do not trust: every length is checked against its bound
 * before any byte is read, fields that cannot be valid (height 0, an empty
 * block, a proof-of-lock round that is not below the round) are refused,
 * and trailing bytes are an error. So each message has exactly one
 * encoding, and decode followed by encode gives back the input (the fuzz
 * target fuzz_p2p_msg checks it).
 *
 * Decoded byte strings (a transaction, a block, a commit) point into the
 * input buffer: a 4 MiB block is never copied on its way from the frame to
 * the consensus engine.
 *
 * A proposal is signed by its proposer with the node's Ed25519 key over a
 * tagged hash that names the chain, height, round, proof-of-lock round and
 * block hash, so it cannot be replayed on another chain, in another round,
 * or with another block. The block itself is not hashed here: the caller
 * decodes its header and computes the block hash (block.h), and the block
 * hash commits to every transaction through tx_root.
 */
#include <assert.h>
#include <string.h>

#include "cairn/encoding.h"
#include "cairn/hash.h"
#include "cairn/p2p_msg.h"

_Static_assert(CAIRN_COMMIT_BYTES_MAX <= UINT16_MAX,
               "a commit's length is a u16 in BLOCK messages");
_Static_assert(CAIRN_BLOCK_BYTES_MAX <= UINT32_MAX, "block length is a u32");
_Static_assert(1 + 8 + 4 + 4 + 4 + CAIRN_BLOCK_BYTES_MAX + 32 + 64 <=
                   CAIRN_P2P_MSG_BYTES_MAX,
               "the largest PROPOSAL fits the message bound");
_Static_assert(1 + 4 + CAIRN_TX_BYTES_MAX <= CAIRN_P2P_MSG_BYTES_MAX,
               "the largest TX fits the message bound");

static bool msg_pol_round_valid(uint32_t round, uint32_t pol_round) {
  return pol_round == CAIRN_POL_ROUND_NONE || pol_round < round;
}

/* The caller's own message must be within every bound the decoder checks:
 * anything else is a bug in our code, not a peer's. */
static void msg_assert_valid(const cairn_p2p_msg *m) {
  switch (m->type) {
  case CAIRN_MSG_STATUS:
    break;
  case CAIRN_MSG_TX:
    assert(m->u.tx.len >= 1 && m->u.tx.len <= CAIRN_TX_BYTES_MAX);
    assert(m->u.tx.p != NULL);
    break;
  case CAIRN_MSG_PROPOSAL:
    assert(m->u.proposal.height >= 1);
    assert(msg_pol_round_valid(m->u.proposal.round, m->u.proposal.pol_round));
    assert(m->u.proposal.block != NULL && m->u.proposal.block_len >= 1 &&
           m->u.proposal.block_len <= CAIRN_BLOCK_BYTES_MAX);
    break;
  case CAIRN_MSG_VOTE:
    assert(m->u.vote.height >= 1);
    assert(m->u.vote.type == CAIRN_VOTE_PREVOTE ||
           m->u.vote.type == CAIRN_VOTE_PRECOMMIT);
    break;
  case CAIRN_MSG_GET_BLOCK:
  case CAIRN_MSG_NO_BLOCK:
    assert(m->u.height >= 1);
    break;
  case CAIRN_MSG_BLOCK:
    assert(m->u.block.height >= 1);
    assert(m->u.block.block != NULL && m->u.block.block_len >= 1 &&
           m->u.block.block_len <= CAIRN_BLOCK_BYTES_MAX);
    assert(m->u.block.commit != NULL && m->u.block.commit_len >= 1 &&
           m->u.block.commit_len <= CAIRN_COMMIT_BYTES_MAX);
    break;
  default:
    assert(!"cairn_p2p_msg: unknown message type");
  }
}

static void msg_put_vote(cairn_writer *w, const cairn_vote *v) {
  cairn_put_u8(w, v->type);
  cairn_put_u64(w, v->height);
  cairn_put_u32(w, v->round);
  cairn_put_bytes(w, v->block_hash, CAIRN_HASH_BYTES);
  cairn_put_bytes(w, v->validator, CAIRN_ED25519_PUBKEY_BYTES);
  cairn_put_bytes(w, v->sig, CAIRN_ED25519_SIG_BYTES);
}

/* Write m's type and body (w may be a counting writer). */
static void msg_put(cairn_writer *w, const cairn_p2p_msg *m) {
  const cairn_msg_proposal *p = &m->u.proposal;
  const cairn_msg_block *b = &m->u.block;
  cairn_put_u8(w, m->type);
  switch (m->type) {
  case CAIRN_MSG_STATUS:
    cairn_put_u64(w, m->u.status.height);
    cairn_put_bytes(w, m->u.status.tip_hash, CAIRN_HASH_BYTES);
    cairn_put_u64(w, m->u.status.cons_height);
    cairn_put_u32(w, m->u.status.cons_round);
    break;
  case CAIRN_MSG_TX:
    cairn_put_var32(w, m->u.tx.p, m->u.tx.len);
    break;
  case CAIRN_MSG_PROPOSAL:
    cairn_put_u64(w, p->height);
    cairn_put_u32(w, p->round);
    cairn_put_u32(w, p->pol_round);
    cairn_put_var32(w, p->block, p->block_len);
    cairn_put_bytes(w, p->proposer, CAIRN_ED25519_PUBKEY_BYTES);
    cairn_put_bytes(w, p->sig, CAIRN_ED25519_SIG_BYTES);
    break;
  case CAIRN_MSG_VOTE:
    msg_put_vote(w, &m->u.vote);
    break;
  case CAIRN_MSG_GET_BLOCK:
  case CAIRN_MSG_NO_BLOCK:
    cairn_put_u64(w, m->u.height);
    break;
  default: /* CAIRN_MSG_BLOCK: msg_assert_valid ran */
    cairn_put_u64(w, b->height);
    cairn_put_var32(w, b->block, b->block_len);
    cairn_put_u16(w, (uint16_t)b->commit_len);
    cairn_put_bytes(w, b->commit, b->commit_len);
    break;
  }
}

size_t cairn_p2p_msg_size(const cairn_p2p_msg *m) {
  cairn_writer w;
  assert(m != NULL);
  msg_assert_valid(m);
  cairn_writer_init(&w, NULL, 0);
  msg_put(&w, m);
  assert(w.len >= 2 && w.len <= CAIRN_P2P_MSG_BYTES_MAX);
  return w.len;
}

cairn_err cairn_p2p_msg_encode(uint8_t *buf, size_t cap, size_t *len,
                               const cairn_p2p_msg *m) {
  cairn_writer w;
  assert(m != NULL && len != NULL && (buf != NULL || cap == 0));
  *len = 0;
  msg_assert_valid(m);
  cairn_writer_init(&w, buf, cap);
  msg_put(&w, m);
  cairn_err err = cairn_writer_finish(&w, len);
  if (err != CAIRN_OK) *len = 0;
  assert(err != CAIRN_OK || *len <= CAIRN_P2P_MSG_BYTES_MAX);
  return err;
}

/* ---- decoding ---- */

/* A var32 byte string of 1..max bytes: OVERSIZE past max, RANGE if empty. */
static cairn_err msg_get_blob(cairn_reader *r, const uint8_t **p, size_t *n,
                              size_t max) {
  CAIRN_TRY(cairn_get_var32(r, p, n, max));
  return *n == 0 ? CAIRN_ERR_RANGE : CAIRN_OK;
}

static cairn_err msg_get_height(cairn_reader *r, uint64_t *height) {
  CAIRN_TRY(cairn_get_u64(r, height));
  return *height == 0 ? CAIRN_ERR_RANGE : CAIRN_OK;
}

static cairn_err msg_get_status(cairn_reader *r, cairn_msg_status *s) {
  CAIRN_TRY(cairn_get_u64(r, &s->height));
  CAIRN_TRY(cairn_get_bytes(r, s->tip_hash, CAIRN_HASH_BYTES));
  CAIRN_TRY(cairn_get_u64(r, &s->cons_height));
  return cairn_get_u32(r, &s->cons_round);
}

static cairn_err msg_get_proposal(cairn_reader *r, cairn_msg_proposal *p) {
  CAIRN_TRY(msg_get_height(r, &p->height));
  CAIRN_TRY(cairn_get_u32(r, &p->round));
  CAIRN_TRY(cairn_get_u32(r, &p->pol_round));
  if (!msg_pol_round_valid(p->round, p->pol_round)) return CAIRN_ERR_RANGE;
  CAIRN_TRY(msg_get_blob(r, &p->block, &p->block_len, CAIRN_BLOCK_BYTES_MAX));
  CAIRN_TRY(cairn_get_bytes(r, p->proposer, CAIRN_ED25519_PUBKEY_BYTES));
  return cairn_get_bytes(r, p->sig, CAIRN_ED25519_SIG_BYTES);
}

static cairn_err msg_get_block(cairn_reader *r, cairn_msg_block *b) {
  uint16_t commit_len;
  CAIRN_TRY(msg_get_height(r, &b->height));
  CAIRN_TRY(msg_get_blob(r, &b->block, &b->block_len, CAIRN_BLOCK_BYTES_MAX));
  CAIRN_TRY(cairn_get_u16(r, &commit_len));
  if (commit_len > CAIRN_COMMIT_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  if (commit_len == 0) return CAIRN_ERR_RANGE;
  b->commit_len = commit_len;
  return cairn_get_ref(r, &b->commit, b->commit_len);
}

/* The body after the type byte; the vote is decoded by block.c, which also
 * rejects its trailing bytes. */
static cairn_err msg_get(cairn_reader *r, cairn_p2p_msg *m) {
  CAIRN_TRY(cairn_get_u8(r, &m->type));
  switch (m->type) {
  case CAIRN_MSG_STATUS:
    CAIRN_TRY(msg_get_status(r, &m->u.status));
    break;
  case CAIRN_MSG_TX:
    CAIRN_TRY(msg_get_blob(r, &m->u.tx.p, &m->u.tx.len, CAIRN_TX_BYTES_MAX));
    break;
  case CAIRN_MSG_PROPOSAL:
    CAIRN_TRY(msg_get_proposal(r, &m->u.proposal));
    break;
  case CAIRN_MSG_VOTE:
    return cairn_vote_decode(&m->u.vote, r->buf + r->pos, r->len - r->pos);
  case CAIRN_MSG_GET_BLOCK:
  case CAIRN_MSG_NO_BLOCK:
    CAIRN_TRY(msg_get_height(r, &m->u.height));
    break;
  case CAIRN_MSG_BLOCK:
    CAIRN_TRY(msg_get_block(r, &m->u.block));
    break;
  default:
    return CAIRN_ERR_BAD_TYPE;
  }
  return cairn_reader_end(r);
}

cairn_err cairn_p2p_msg_decode(cairn_p2p_msg *m, const uint8_t *buf,
                               size_t len) {
  cairn_reader r;
  assert(m != NULL && (buf != NULL || len == 0));
  memset(m, 0, sizeof *m);
  if (len > CAIRN_P2P_MSG_BYTES_MAX) return CAIRN_ERR_OVERSIZE;
  cairn_reader_init(&r, buf, len);
  cairn_err err = msg_get(&r, m);
  if (err != CAIRN_OK) memset(m, 0, sizeof *m);
  assert(err != CAIRN_OK ||
         (m->type >= CAIRN_MSG_TYPE_MIN && m->type <= CAIRN_MSG_TYPE_MAX));
  return err;
}

/* ---- proposals ---- */

void cairn_proposal_signhash(uint8_t out[CAIRN_HASH_BYTES],
                             const uint8_t *chain_id, size_t chain_id_len,
                             uint64_t height, uint32_t round,
                             uint32_t pol_round,
                             const uint8_t block_hash[CAIRN_HASH_BYTES]) {
  uint8_t buf[1 + CAIRN_CHAIN_ID_BYTES_MAX + 8 + 4 + 4 + CAIRN_HASH_BYTES];
  cairn_writer w;
  size_t len = 0;
  assert(out != NULL && chain_id != NULL && block_hash != NULL);
  assert(chain_id_len >= 1 && chain_id_len <= CAIRN_CHAIN_ID_BYTES_MAX);
  cairn_writer_init(&w, buf, sizeof buf);
  cairn_put_var8(&w, chain_id, chain_id_len);
  cairn_put_u64(&w, height);
  cairn_put_u32(&w, round);
  cairn_put_u32(&w, pol_round);
  cairn_put_bytes(&w, block_hash, CAIRN_HASH_BYTES);
  cairn_err err = cairn_writer_finish(&w, &len);
  assert(err == CAIRN_OK); /* buf is sized for the longest chain id */
  (void)err;
  cairn_tagged_hash(out, CAIRN_TAG_PROPOSAL, buf, len);
}

cairn_err cairn_proposal_verify(const cairn_msg_proposal *p,
                                const uint8_t *chain_id, size_t chain_id_len,
                                const uint8_t block_hash[CAIRN_HASH_BYTES]) {
  uint8_t msg[CAIRN_HASH_BYTES];
  assert(p != NULL && block_hash != NULL);
  cairn_proposal_signhash(msg, chain_id, chain_id_len, p->height, p->round,
                          p->pol_round, block_hash);
  cairn_err err = cairn_ed25519_verify(p->sig, msg, sizeof msg, p->proposer);
  return err == CAIRN_OK ? CAIRN_OK : CAIRN_ERR_BAD_SIG;
}
