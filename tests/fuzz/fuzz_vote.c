/*
 * tests/fuzz/fuzz_vote.c - votes (prevotes and precommits).
 *
 * Input: vote bytes as a validator sends them. Properties: a rejected vote
 * leaves the struct zeroed; an accepted one is exactly CAIRN_VOTE_BYTES
 * long and re-encodes to the same bytes; verification against the test
 * chain answers OK or BAD_SIG and nothing else (the seeds are real votes
 * of validator 0, so both answers are reached).
 */
#include "fuzz.h"

#include "cairn/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  cairn_vote v;
  if (cairn_vote_decode(&v, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&v, sizeof v));
    return 0;
  }
  FUZZ_CHECK(size == CAIRN_VOTE_BYTES);
  uint8_t buf[CAIRN_VOTE_BYTES];
  size_t len = 0;
  FUZZ_CHECK(cairn_vote_encode(buf, sizeof buf, &len, &v) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
  cairn_err err = cairn_vote_verify(&v, (const uint8_t *)TU_CHAIN_ID,
                                    strlen(TU_CHAIN_ID));
  FUZZ_CHECK(err == CAIRN_OK || err == CAIRN_ERR_BAD_SIG);
  return 0;
}
