/*
 * node/privval.c - the validator's signer, which never signs twice.
 *
 * Tendermint is safe as long as fewer than a third of the stake signs two
 * different messages for one (height, round, step). An honest node breaks
 * that rule only by accident: it signs a prevote, crashes before the
 * message leaves, restarts, sees a different proposal and signs again. The
 * signer closes that hole by remembering the last thing it signed on disk,
 * and by making the disk copy durable before the signature is handed back
 * to anyone. The order of work for every request is therefore
 *
 *   1. compare (height, round, step) with the last signed one: lower is
 *      refused; equal is allowed only for the very same sign hash, and then
 *      the stored signature is returned without touching the disk;
 *   2. sign the hash with the Ed25519 key;
 *   3. write the new state file atomically (temporary file, fsync, rename,
 *      fsync of the directory - cairn_file_write_atomic) with mode 0600;
 *   4. only if that succeeded, update the in-memory state and fill in the
 *      caller's signature.
 * A failure in step 3 leaves the in-memory state and the file as they
 * were, and the caller gets IO and no signature, so nothing that was not
 * persisted can ever reach the network.
 *
 * The state file is decoded strictly: exact length, version 1, a valid
 * step, an all-zero body when nothing was signed, and a stored signature
 * that verifies under this signer's key over the stored hash. Anything else
 * is CORRUPT and stops the node: silently starting over from an empty state
 * is precisely how a validator double-signs after a restore from backup.
 *
 * Votes and proposals share one sequence: steps order PROPOSE < PREVOTE <
 * PRECOMMIT within a round, so a proposer signs its proposal, then its
 * prevote, then its precommit, and any attempt to go back is refused.
 *
 * The secret key is copied into memory locked against swapping where the
 * OS allows, and wiped at close.
 */
#include "cairn/privval.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/file.h"

/* Offsets in the state file (privval.h has the layout). */
#define PV_OFF_VERSION 0u
#define PV_OFF_HEIGHT 1u
#define PV_OFF_ROUND 9u
#define PV_OFF_STEP 13u
#define PV_OFF_HASH 14u
#define PV_OFF_SIG 46u

_Static_assert(PV_OFF_SIG + CAIRN_ED25519_SIG_BYTES ==
                   CAIRN_PRIVVAL_STATE_BYTES,
               "the offsets cover the state file exactly");

/* The last signed message: height 0 means none. */
typedef struct pv_state {
  uint64_t height;
  uint32_t round;
  uint8_t step;
  uint8_t signhash[CAIRN_HASH_BYTES];
  uint8_t sig[CAIRN_ED25519_SIG_BYTES];
} pv_state;

struct cairn_privval {
  uint8_t sk[CAIRN_ED25519_SECKEY_BYTES]; /* locked where the OS allows */
  uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES];
  char *path;
  pv_state last;
};

static void pv_encode(uint8_t out[CAIRN_PRIVVAL_STATE_BYTES],
                      const pv_state *s) {
  out[PV_OFF_VERSION] = CAIRN_PRIVVAL_VERSION;
  cairn_be64_write(out + PV_OFF_HEIGHT, s->height);
  cairn_be32_write(out + PV_OFF_ROUND, s->round);
  out[PV_OFF_STEP] = s->step;
  memcpy(out + PV_OFF_HASH, s->signhash, CAIRN_HASH_BYTES);
  memcpy(out + PV_OFF_SIG, s->sig, CAIRN_ED25519_SIG_BYTES);
}

static bool pv_all_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  for (size_t i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

/* Strict decode of the file's bytes; pk checks the stored signature. */
static cairn_err pv_decode(pv_state *s, const uint8_t *buf, size_t len,
                           const uint8_t pk[CAIRN_ED25519_PUBKEY_BYTES]) {
  memset(s, 0, sizeof *s);
  if (len != CAIRN_PRIVVAL_STATE_BYTES) return CAIRN_ERR_CORRUPT;
  if (buf[PV_OFF_VERSION] != CAIRN_PRIVVAL_VERSION) return CAIRN_ERR_CORRUPT;
  if (pv_all_zero(buf + 1, len - 1)) return CAIRN_OK; /* nothing signed */
  pv_state d;
  d.height = cairn_be64_read(buf + PV_OFF_HEIGHT);
  d.round = cairn_be32_read(buf + PV_OFF_ROUND);
  d.step = buf[PV_OFF_STEP];
  memcpy(d.signhash, buf + PV_OFF_HASH, CAIRN_HASH_BYTES);
  memcpy(d.sig, buf + PV_OFF_SIG, CAIRN_ED25519_SIG_BYTES);
  if (d.height == 0) return CAIRN_ERR_CORRUPT;
  if (d.step < CAIRN_STEP_PROPOSE || d.step > CAIRN_STEP_PRECOMMIT)
    return CAIRN_ERR_CORRUPT;
  /* A file from another key, or with a damaged hash or signature. */
  if (cairn_ed25519_verify(d.sig, d.signhash, CAIRN_HASH_BYTES, pk) !=
      CAIRN_OK)
    return CAIRN_ERR_CORRUPT;
  *s = d;
  return CAIRN_OK;
}

static cairn_err pv_load(cairn_privval *pv) {
  char *buf = NULL;
  size_t len = 0;
  /* One byte more than the exact size, so a longer file is read (and
   * refused as corrupt) rather than reported as OVERSIZE. */
  cairn_err err =
      cairn_file_read_all(pv->path, CAIRN_PRIVVAL_STATE_BYTES + 1, &buf, &len);
  if (err == CAIRN_ERR_NOT_FOUND) return CAIRN_OK; /* fresh signer */
  if (err == CAIRN_ERR_OVERSIZE) return CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK) return err == CAIRN_ERR_NOMEM ? err : CAIRN_ERR_IO;
  err = pv_decode(&pv->last, (const uint8_t *)buf, len, pv->pk);
  free(buf);
  return err;
}

cairn_err cairn_privval_open(cairn_privval **out,
                             const uint8_t sk[CAIRN_ED25519_SECKEY_BYTES],
                             const char *state_path) {
  assert(out != NULL && sk != NULL && state_path != NULL);
  *out = NULL;
  cairn_privval *pv = calloc(1, sizeof *pv);
  if (pv == NULL) return CAIRN_ERR_NOMEM;
  (void)sodium_mlock(pv->sk, sizeof pv->sk); /* best effort */
  memcpy(pv->sk, sk, sizeof pv->sk);
  /* libsodium's secret key is seed || public key. */
  memcpy(pv->pk, sk + CAIRN_ED25519_SECKEY_BYTES - CAIRN_ED25519_PUBKEY_BYTES,
         CAIRN_ED25519_PUBKEY_BYTES);
  size_t n = strlen(state_path);
  pv->path = malloc(n + 1);
  if (pv->path == NULL) {
    cairn_privval_close(pv);
    return CAIRN_ERR_NOMEM;
  }
  memcpy(pv->path, state_path, n + 1);
  cairn_err err = pv_load(pv);
  if (err != CAIRN_OK) {
    cairn_privval_close(pv);
    return err;
  }
  *out = pv;
  return CAIRN_OK;
}

void cairn_privval_close(cairn_privval *pv) {
  if (pv == NULL) return;
  sodium_memzero(pv->sk, sizeof pv->sk);
  (void)sodium_munlock(pv->sk, sizeof pv->sk);
  free(pv->path);
  free(pv);
}

void cairn_privval_pubkey(const cairn_privval *pv,
                          uint8_t out[CAIRN_ED25519_PUBKEY_BYTES]) {
  assert(pv != NULL && out != NULL);
  memcpy(out, pv->pk, CAIRN_ED25519_PUBKEY_BYTES);
}

void cairn_privval_last(const cairn_privval *pv, uint64_t *height,
                        uint32_t *round, uint8_t *step) {
  assert(pv != NULL && height != NULL && round != NULL && step != NULL);
  *height = pv->last.height;
  *round = pv->last.round;
  *step = pv->last.step;
}

/* -1, 0, 1 as (h, r, s) is below, equal to, above the last signed. */
static int pv_cmp_last(const pv_state *last, uint64_t h, uint32_t r,
                       uint8_t s) {
  if (h != last->height) return h < last->height ? -1 : 1;
  if (r != last->round) return r < last->round ? -1 : 1;
  if (s != last->step) return s < last->step ? -1 : 1;
  return 0;
}

/* The heart of the signer: sign hash for (h, r, s) unless that would
 * conflict with what was signed before; persist before returning. */
static cairn_err pv_sign(cairn_privval *pv, uint64_t h, uint32_t r, uint8_t s,
                         const uint8_t hash[CAIRN_HASH_BYTES],
                         uint8_t sig[CAIRN_ED25519_SIG_BYTES]) {
  assert(h >= 1 && s >= CAIRN_STEP_PROPOSE && s <= CAIRN_STEP_PRECOMMIT);
  int c = pv_cmp_last(&pv->last, h, r, s);
  if (c < 0) return CAIRN_ERR_DOUBLE_SIGN;
  if (c == 0) {
    if (sodium_memcmp(hash, pv->last.signhash, CAIRN_HASH_BYTES) != 0)
      return CAIRN_ERR_DOUBLE_SIGN;
    memcpy(sig, pv->last.sig, CAIRN_ED25519_SIG_BYTES);
    return CAIRN_OK; /* the same message again: same signature */
  }
  pv_state next = {.height = h, .round = r, .step = s};
  memcpy(next.signhash, hash, CAIRN_HASH_BYTES);
  CAIRN_TRY(cairn_ed25519_sign(next.sig, pv->sk, hash, CAIRN_HASH_BYTES));
  uint8_t buf[CAIRN_PRIVVAL_STATE_BYTES];
  pv_encode(buf, &next);
  cairn_err err =
      cairn_file_write_atomic(pv->path, buf, sizeof buf, 0600, false);
  if (err != CAIRN_OK) return CAIRN_ERR_IO; /* nothing leaves */
  pv->last = next;
  memcpy(sig, next.sig, CAIRN_ED25519_SIG_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_privval_sign_vote(cairn_privval *pv, const uint8_t *chain_id,
                                  size_t chain_id_len, cairn_vote *v) {
  assert(pv != NULL && chain_id != NULL && v != NULL);
  assert(v->type == CAIRN_VOTE_PREVOTE || v->type == CAIRN_VOTE_PRECOMMIT);
  assert(v->height >= 1);
  uint8_t hash[CAIRN_HASH_BYTES];
  uint8_t sig[CAIRN_ED25519_SIG_BYTES];
  cairn_vote_signhash(hash, chain_id, chain_id_len, v->type, v->height,
                      v->round, v->block_hash);
  uint8_t step = v->type == CAIRN_VOTE_PREVOTE ? CAIRN_STEP_PREVOTE
                                               : CAIRN_STEP_PRECOMMIT;
  CAIRN_TRY(pv_sign(pv, v->height, v->round, step, hash, sig));
  memcpy(v->validator, pv->pk, CAIRN_ED25519_PUBKEY_BYTES);
  memcpy(v->sig, sig, CAIRN_ED25519_SIG_BYTES);
  return CAIRN_OK;
}

cairn_err cairn_privval_sign_proposal(
    cairn_privval *pv, const uint8_t *chain_id, size_t chain_id_len,
    cairn_msg_proposal *p, const uint8_t block_hash[CAIRN_HASH_BYTES]) {
  assert(pv != NULL && chain_id != NULL && p != NULL && block_hash != NULL);
  assert(p->height >= 1);
  assert(p->pol_round == CAIRN_POL_ROUND_NONE || p->pol_round < p->round);
  uint8_t hash[CAIRN_HASH_BYTES];
  uint8_t sig[CAIRN_ED25519_SIG_BYTES];
  cairn_proposal_signhash(hash, chain_id, chain_id_len, p->height, p->round,
                          p->pol_round, block_hash);
  CAIRN_TRY(pv_sign(pv, p->height, p->round, CAIRN_STEP_PROPOSE, hash, sig));
  memcpy(p->proposer, pv->pk, CAIRN_ED25519_PUBKEY_BYTES);
  memcpy(p->sig, sig, CAIRN_ED25519_SIG_BYTES);
  return CAIRN_OK;
}
