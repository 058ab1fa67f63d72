/*
 * lookahead.c - check block h+1 on a background thread while h is applied.
 *
 * Applying a block spreads its signature checks over every core, but its
 * end - executing in order, hashing the state, committing the store - runs
 * on one thread, and the auditor measured its cores a fifth idle. When the
 * next block is already at hand, as it is in a replay, its signatures can
 * be checked during that time. cairn_chain_precheck_block does the
 * checking (and leaves its only trace in the chain's caches); this file
 * only keeps the copies and the thread.
 *
 * Two slots of block + commit bytes: `cur` is what cairn_lookahead_take
 * last handed out and must stay put while the caller applies it; the other
 * receives the next block. At most one thread runs at a time and it only
 * reads its own slot, so the slots need no lock: start joins the previous
 * thread before touching anything, take joins before handing out.
 */
#include "cairn/lookahead.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/block.h"
#include "cairn/limits.h"

typedef struct la_slot {
  uint8_t *block, *commit;
  size_t block_len, commit_len, block_cap, commit_cap;
  uint64_t height; /* 0: empty */
} la_slot;

struct cairn_lookahead {
  const cairn_chain *chain;
  la_slot slot[2];
  int cur;     /* the slot handed out last (-1: none) */
  int next;    /* the slot started last (-1: none) */
  bool running;
  pthread_t tid;
};

cairn_err cairn_lookahead_new(cairn_lookahead **out, const cairn_chain *c) {
  assert(out != NULL && c != NULL);
  *out = calloc(1, sizeof **out);
  if (*out == NULL) return CAIRN_ERR_NOMEM;
  (*out)->chain = c;
  (*out)->cur = (*out)->next = -1;
  return CAIRN_OK;
}

static void la_join(cairn_lookahead *la) {
  if (!la->running) return;
  (void)pthread_join(la->tid, NULL);
  la->running = false;
}

void cairn_lookahead_free(cairn_lookahead *la) {
  if (la == NULL) return;
  la_join(la);
  for (int i = 0; i < 2; i++) {
    free(la->slot[i].block);
    free(la->slot[i].commit);
  }
  free(la);
}

/* Copy len bytes into *buf, growing it (capacity *cap) as needed. */
static cairn_err la_copy(uint8_t **buf, size_t *cap, const uint8_t *src,
                         size_t len) {
  if (len > *cap) {
    uint8_t *p = realloc(*buf, len);
    if (p == NULL) return CAIRN_ERR_NOMEM;
    *buf = p;
    *cap = len;
  }
  if (len > 0) memcpy(*buf, src, len);
  return CAIRN_OK;
}

static void *la_main(void *arg) {
  cairn_lookahead *la = arg;
  const la_slot *s = &la->slot[la->next];
  /* A block that does not decode is apply_block's to report. */
  cairn_err err = cairn_chain_precheck_block(la->chain, s->block, s->block_len);
  (void)err;
  return NULL;
}

cairn_err cairn_lookahead_start(cairn_lookahead *la, uint64_t height,
                                const uint8_t *block, size_t block_len,
                                const uint8_t *commit, size_t commit_len) {
  assert(la != NULL && height > 0);
  assert(block != NULL || block_len == 0);
  assert(commit != NULL || commit_len == 0);
  la_join(la);
  if (block_len > CAIRN_BLOCK_BYTES_MAX || commit_len > CAIRN_COMMIT_BYTES_MAX)
    return CAIRN_ERR_RANGE;
  int k = la->cur == 0 ? 1 : 0;
  la_slot *s = &la->slot[k];
  s->height = 0;
  la->next = -1;
  CAIRN_TRY(la_copy(&s->block, &s->block_cap, block, block_len));
  CAIRN_TRY(la_copy(&s->commit, &s->commit_cap, commit, commit_len));
  s->block_len = block_len;
  s->commit_len = commit_len;
  s->height = height;
  la->next = k;
  if (pthread_create(&la->tid, NULL, la_main, la) != 0) {
    la->next = -1;
    s->height = 0;
    return CAIRN_ERR_INTERNAL;
  }
  la->running = true;
  return CAIRN_OK;
}

bool cairn_lookahead_take(cairn_lookahead *la, uint64_t height,
                          const uint8_t **block, size_t *block_len,
                          const uint8_t **commit, size_t *commit_len) {
  assert(la != NULL && block != NULL && block_len != NULL);
  assert(commit != NULL && commit_len != NULL);
  if (la->next < 0 || la->slot[la->next].height != height) return false;
  la_join(la);
  la->cur = la->next;
  la->next = -1;
  const la_slot *s = &la->slot[la->cur];
  *block = s->block;
  *block_len = s->block_len;
  *commit = s->commit;
  *commit_len = s->commit_len;
  return true;
}
