/*
 * tests/fuzz/fuzz_p2p_msg.c - peer messages (node/p2p_msg.c).
 *
 * Input: the plaintext of one peer frame, as an authenticated peer could
 * send it. Properties: a rejected message leaves the struct zeroed; an
 * accepted one has a known type, byte strings inside the input and within
 * their bounds, satisfies the decoder's range rules, and encodes back to
 * exactly the input (its size function agreeing); for a proposal, the
 * signature check answers OK or BAD_SIG and nothing else.
 */
#include "fuzz.h"

#include "cairn/p2p_msg.h"

/* p[0..n) lies inside data[0..size). */
static bool fuzz_inside(const uint8_t *p, size_t n, const uint8_t *data,
                        size_t size) {
  return p != NULL && p >= data && n <= size &&
         p - data <= (ptrdiff_t)(size - n);
}

static void fuzz_check_fields(const cairn_p2p_msg *m, const uint8_t *data,
                              size_t size) {
  const cairn_msg_proposal *p = &m->u.proposal;
  switch (m->type) {
  case CAIRN_MSG_TX:
    FUZZ_CHECK(m->u.tx.len >= 1 && m->u.tx.len <= CAIRN_TX_BYTES_MAX);
    FUZZ_CHECK(fuzz_inside(m->u.tx.p, m->u.tx.len, data, size));
    break;
  case CAIRN_MSG_PROPOSAL: {
    FUZZ_CHECK(p->height >= 1 && p->block_len >= 1);
    FUZZ_CHECK(p->pol_round == CAIRN_POL_ROUND_NONE || p->pol_round < p->round);
    FUZZ_CHECK(fuzz_inside(p->block, p->block_len, data, size));
    uint8_t bh[CAIRN_HASH_BYTES];
    cairn_sha256_hash(bh, p->block, p->block_len);
    cairn_err err = cairn_proposal_verify(p, (const uint8_t *)TU_CHAIN_ID,
                                          strlen(TU_CHAIN_ID), bh);
    FUZZ_CHECK(err == CAIRN_OK || err == CAIRN_ERR_BAD_SIG);
    break;
  }
  case CAIRN_MSG_BLOCK:
    FUZZ_CHECK(m->u.block.height >= 1);
    FUZZ_CHECK(fuzz_inside(m->u.block.block, m->u.block.block_len, data, size));
    FUZZ_CHECK(
        fuzz_inside(m->u.block.commit, m->u.block.commit_len, data, size));
    FUZZ_CHECK(m->u.block.commit_len <= CAIRN_COMMIT_BYTES_MAX);
    break;
  case CAIRN_MSG_GET_BLOCK:
  case CAIRN_MSG_NO_BLOCK:
    FUZZ_CHECK(m->u.height >= 1);
    break;
  case CAIRN_MSG_VOTE:
    FUZZ_CHECK(m->u.vote.height >= 1);
    break;
  default:
    FUZZ_CHECK(m->type == CAIRN_MSG_STATUS);
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  cairn_p2p_msg m;
  if (cairn_p2p_msg_decode(&m, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&m, sizeof m));
    return 0;
  }
  fuzz_check_fields(&m, data, size);
  FUZZ_CHECK(cairn_p2p_msg_size(&m) == size);
  uint8_t *buf = malloc(size);
  FUZZ_CHECK(buf != NULL);
  size_t len = 0;
  FUZZ_CHECK(cairn_p2p_msg_encode(buf, size, &len, &m) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
  if (size > 0) {
    FUZZ_CHECK(cairn_p2p_msg_encode(buf, size - 1, &len, &m) ==
               CAIRN_ERR_OVERSIZE);
  }
  free(buf);
  return 0;
}
