/*
 * tests/fuzz/fuzz_block.c - blocks and block headers.
 *
 * Input: block bytes (header, then tx_count length-prefixed transactions),
 * as the store, a peer or an audited data directory holds them. Properties:
 *   - a rejected block leaves header and slices zeroed;
 *   - an accepted block re-encodes to the same bytes, its header alone to
 *     the same prefix, and that prefix decodes as a header by itself;
 *   - every transaction slice lies inside the input; each one that decodes
 *     re-encodes to its own bytes; the Merkle root over the ids and the
 *     JSON header rendering are computed;
 *   - the input read as a bare header obeys the same round trip.
 */
#include "fuzz.h"

#include <jansson.h>

#include "cairn/block.h"
#include "cairn/json.h"
#include "cairn/merkle.h"
#include "cairn/tx.h"

/* Kept across inputs (too large for the stack); rewritten by every decode. */
static cairn_slice fuzz_txs[CAIRN_BLOCK_TXS_MAX];
static uint8_t fuzz_ids[CAIRN_BLOCK_TXS_MAX][CAIRN_HASH_BYTES];

static void fuzz_header_only(const uint8_t *data, size_t size) {
  cairn_block_header h;
  uint8_t buf[CAIRN_BLOCK_HEADER_BYTES_MAX];
  size_t len = 0;
  if (cairn_block_header_decode(&h, data, size) != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&h, sizeof h));
    return;
  }
  FUZZ_CHECK(cairn_block_header_encode(buf, sizeof buf, &len, &h) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
}

static void fuzz_block_txs(const cairn_block_header *h, const uint8_t *data,
                           size_t size) {
  for (uint32_t i = 0; i < h->tx_count; i++) {
    const cairn_slice *s = &fuzz_txs[i];
    FUZZ_CHECK(s->p >= data && s->len >= 1 && s->len <= CAIRN_TX_BYTES_MAX);
    FUZZ_CHECK((size_t)(s->p - data) + s->len <= size);
    cairn_tx_id_bytes(fuzz_ids[i], s->p, s->len);
    cairn_tx tx;
    if (cairn_tx_decode(&tx, s->p, s->len) != CAIRN_OK) continue;
    uint8_t buf[CAIRN_TX_BYTES_MAX];
    size_t len = 0;
    FUZZ_CHECK(cairn_tx_encode(buf, sizeof buf, &len, &tx) == CAIRN_OK);
    FUZZ_CHECK(len == s->len && memcmp(buf, s->p, len) == 0);
  }
  uint8_t root[CAIRN_HASH_BYTES];
  FUZZ_CHECK(cairn_merkle_root(root, (const uint8_t(*)[CAIRN_HASH_BYTES])fuzz_ids,
                               h->tx_count) == CAIRN_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_init();
  fuzz_header_only(data, size);
  cairn_block_header h;
  cairn_err err = cairn_block_decode(&h, fuzz_txs, CAIRN_BLOCK_TXS_MAX, data,
                                     size);
  if (err != CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&h, sizeof h));
    /* All CAIRN_BLOCK_TXS_MAX slices are cleared; checking a prefix keeps
     * the check from costing more than the decode. */
    FUZZ_CHECK(fuzz_all_zero(fuzz_txs, 64 * sizeof fuzz_txs[0]));
    return 0;
  }
  uint8_t head[CAIRN_BLOCK_HEADER_BYTES_MAX];
  size_t head_len = 0;
  FUZZ_CHECK(cairn_block_header_encode(head, sizeof head, &head_len, &h) ==
             CAIRN_OK);
  FUZZ_CHECK(head_len <= size && memcmp(head, data, head_len) == 0);
  cairn_block_header again;
  uint8_t head2[CAIRN_BLOCK_HEADER_BYTES_MAX];
  size_t head2_len = 0;
  FUZZ_CHECK(cairn_block_header_decode(&again, data, head_len) == CAIRN_OK);
  FUZZ_CHECK(cairn_block_header_encode(head2, sizeof head2, &head2_len,
                                       &again) == CAIRN_OK);
  FUZZ_CHECK(head2_len == head_len && memcmp(head2, head, head_len) == 0);

  uint8_t *buf = malloc(size > 0 ? size : 1);
  FUZZ_CHECK(buf != NULL);
  size_t len = 0;
  FUZZ_CHECK(cairn_block_encode(buf, size, &len, &h, fuzz_txs) == CAIRN_OK);
  FUZZ_CHECK(len == size && memcmp(buf, data, size) == 0);
  free(buf);

  uint8_t hash[CAIRN_HASH_BYTES];
  FUZZ_CHECK(cairn_block_hash(hash, &h) == CAIRN_OK);
  json_t *j = cairn_json_header(&h, hash);
  FUZZ_CHECK(j != NULL);
  json_decref(j);
  fuzz_block_txs(&h, data, size);
  return 0;
}
