/*
 * node/testnet.c - creating a local network of validators (`cairnd
 * testnet`).
 *
 * A coalition's chain is several brands each running a validator. To try
 * that on one machine - or to test consensus for real, with separate
 * processes, data directories and logs talking over loopback TCP - one
 * command creates everything: one genesis for all, one home per validator
 * with its own Ed25519 key, configuration that lists every other node as
 * an authenticated peer, and the brand, member and operator key files a
 * person needs to use the chain through the wallet (init.h has the layout).
 *
 * The genesis mirrors the demo's three brands so the wallet examples of
 * the README work unchanged, and adds what only a network has: validators
 * operated by the brands' issuer keys, free stake for bonding, and a
 * would-be partner ("newbrand") with stake of its own, so bonding,
 * unbonding and admission can be tried at once. Unbonding is short
 * (CAIRN_TESTNET_UNBONDING_BLOCKS) so its release is visible in a session.
 *
 * Everything is generated and checked in memory first; files are written
 * only when the whole network is valid, genesis.json last but one and each
 * node's config.json last, like `cairnd init`.
 */
#include "cairn/init.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "cairn/config.h"
#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/genesis.h"
#include "cairn/keyfile.h"
#include "clock.h"
#include "init_internal.h"

/* Key files: the three brands, a member, the would-be partner, and one
 * operator per validator beyond the brands. */
#define TESTNET_KEYS_MAX (5 + CAIRN_TESTNET_VALIDATORS_MAX)

typedef struct testnet_keys {
  size_t n;
  char name[TESTNET_KEYS_MAX][CAIRN_NAME_BYTES_MAX + 1];
  uint8_t sk[TESTNET_KEYS_MAX][CAIRN_SECKEY_BYTES];
  uint8_t pk[TESTNET_KEYS_MAX][CAIRN_PUBKEY_BYTES];
  uint8_t node_sk[CAIRN_TESTNET_VALIDATORS_MAX][CAIRN_ED25519_SECKEY_BYTES];
  uint8_t node_pk[CAIRN_TESTNET_VALIDATORS_MAX][CAIRN_ED25519_PUBKEY_BYTES];
} testnet_keys;

enum { TK_COFFEE, TK_PIZZA, TK_BOOKS, TK_ALICE, TK_NEWBRAND, TK_PARTNER };

static cairn_err testnet_add_key(testnet_keys *k, const char *name) {
  assert(k->n < TESTNET_KEYS_MAX);
  snprintf(k->name[k->n], sizeof k->name[k->n], "%s", name);
  CAIRN_TRY(cairn_schnorr_keygen(k->sk[k->n], k->pk[k->n]));
  k->n++;
  return CAIRN_OK;
}

/* The operator key index of validator i. */
static size_t testnet_operator(size_t i) {
  return i < 3 ? i : (size_t)TK_PARTNER + (i - 3);
}

static cairn_err testnet_keygen(testnet_keys *k, uint32_t validators) {
  static const char *const fixed[] = {"coffee", "pizza", "books", "alice",
                                      "newbrand", "partner"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    CAIRN_TRY(testnet_add_key(k, fixed[i]));
  for (uint32_t i = 4; i < validators; i++) {
    char name[16];
    snprintf(name, sizeof name, "op-%u", (unsigned)i);
    CAIRN_TRY(testnet_add_key(k, name));
  }
  for (uint32_t i = 0; i < validators; i++)
    CAIRN_TRY(cairn_ed25519_keygen(k->node_pk[i], k->node_sk[i]));
  return CAIRN_OK;
}

static void testnet_validator_name(char out[CAIRN_NAME_BYTES_MAX + 1],
                                   size_t i) {
  static const char *const names[] = {"coffee-node", "pizza-node",
                                      "books-node", "partner-node"};
  if (i < 4) snprintf(out, CAIRN_NAME_BYTES_MAX + 1, "%s", names[i]);
  else snprintf(out, CAIRN_NAME_BYTES_MAX + 1, "op-%zu-node", i);
}

static int testnet_cmp_validator(const void *a, const void *b) {
  return memcmp(((const cairn_validator *)a)->pubkey,
                ((const cairn_validator *)b)->pubkey,
                CAIRN_ED25519_PUBKEY_BYTES);
}

static int testnet_cmp_stake(const void *a, const void *b) {
  return memcmp(((const cairn_stake_alloc *)a)->account,
                ((const cairn_stake_alloc *)b)->account, CAIRN_PUBKEY_BYTES);
}

static cairn_err testnet_genesis(cairn_genesis *g, const testnet_keys *k,
                                 uint32_t validators, char *why,
                                 size_t why_cap) {
  memset(g, 0, sizeof *g);
  g->version = CAIRN_GENESIS_VERSION;
  g->chain_id_len = (uint8_t)strlen(CAIRN_TESTNET_CHAIN_ID);
  memcpy(g->chain_id, CAIRN_TESTNET_CHAIN_ID, g->chain_id_len + 1u);
  g->time_ms = cairn_clock_wall_ms();
  cairn_init_add_brand(g, "coffee", k->pk[TK_COFFEE], true);
  cairn_init_add_brand(g, "pizza", k->pk[TK_PIZZA], true);
  cairn_init_add_brand(g, "books", k->pk[TK_BOOKS], false);
  g->validators.n = validators;
  for (uint32_t i = 0; i < validators; i++) {
    cairn_validator *v = &g->validators.v[i];
    memcpy(v->pubkey, k->node_pk[i], CAIRN_ED25519_PUBKEY_BYTES);
    v->power = CAIRN_TESTNET_POWER;
    memcpy(v->operator_key, k->pk[testnet_operator(i)], CAIRN_PUBKEY_BYTES);
    testnet_validator_name(v->name, i);
    v->name_len = (uint8_t)strlen(v->name);
  }
  qsort(g->validators.v, validators, sizeof g->validators.v[0],
        testnet_cmp_validator);
  g->staking = (cairn_staking_params){
      .valset_delay_blocks = CAIRN_STAKING_DEFAULT_VALSET_DELAY,
      .unbonding_blocks = CAIRN_TESTNET_UNBONDING_BLOCKS,
      .evidence_max_age_blocks = CAIRN_STAKING_DEFAULT_EVIDENCE_MAX_AGE,
      .slash_percent = CAIRN_STAKING_DEFAULT_SLASH_PERCENT};
  g->n_stake = 0;
  for (uint32_t i = 0; i < validators; i++) {
    cairn_stake_alloc *a = &g->stake[g->n_stake++];
    memcpy(a->account, k->pk[testnet_operator(i)], CAIRN_PUBKEY_BYTES);
    a->amount = CAIRN_TESTNET_FREE_STAKE;
  }
  cairn_stake_alloc *nb = &g->stake[g->n_stake++];
  memcpy(nb->account, k->pk[TK_NEWBRAND], CAIRN_PUBKEY_BYTES);
  nb->amount = CAIRN_TESTNET_FREE_STAKE;
  qsort(g->stake, g->n_stake, sizeof g->stake[0], testnet_cmp_stake);
  char reason[256] = "";
  cairn_err err = cairn_genesis_check(g, reason, sizeof reason);
  if (err != CAIRN_OK)
    cairn_init_why(why, why_cap, "the testnet genesis would be invalid: %s",
                   reason);
  return err;
}

/* config.json of node i. */
static json_t *testnet_config_json(const cairn_testnet_opts *o,
                                   const testnet_keys *k, uint32_t i) {
  char listen[32], p2p[32];
  snprintf(listen, sizeof listen, "127.0.0.1:%u",
           (unsigned)(o->base_port + i));
  snprintf(p2p, sizeof p2p, "127.0.0.1:%u", (unsigned)(o->base_port + 10 + i));
  json_t *peers = json_array();
  for (uint32_t j = 0; peers != NULL && j < o->validators; j++) {
    if (j == i) continue;
    char addr[32], key[2 * CAIRN_ED25519_PUBKEY_BYTES + 1];
    snprintf(addr, sizeof addr, "127.0.0.1:%u",
             (unsigned)(o->base_port + 10 + j));
    cairn_hex_encode(key, sizeof key, k->node_pk[j], CAIRN_ED25519_PUBKEY_BYTES);
    json_array_append_new(peers,
                          json_pack("{s:s, s:s}", "address", addr, "key", key));
  }
  uint32_t interval = o->block_interval_ms != 0
                          ? o->block_interval_ms
                          : CAIRN_CONFIG_DEFAULT_BLOCK_INTERVAL_MS;
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:o}",
                   "data_dir", "data", "genesis", "../genesis.json",
                   "validator_key", "validator.key", "listen", listen,
                   "block_interval_ms", (json_int_t)interval,
                   "mempool_txs_max",
                   (json_int_t)CAIRN_CONFIG_DEFAULT_MEMPOOL_TXS_MAX, "sync", 1,
                   "p2p_listen", p2p, "peers", peers);
}

static cairn_err testnet_write_node(const cairn_testnet_opts *o,
                                    const testnet_keys *k, uint32_t i,
                                    char *why, size_t why_cap) {
  char home[CAIRN_CONFIG_PATH_BYTES_MAX], path[CAIRN_CONFIG_PATH_BYTES_MAX];
  char name[16];
  snprintf(name, sizeof name, "node%u", (unsigned)i);
  CAIRN_TRY(cairn_init_path(home, sizeof home, o->dir, name, why, why_cap));
  CAIRN_TRY(cairn_init_mkdir(home, why, why_cap));
  CAIRN_TRY(cairn_init_path(path, sizeof path, home,
                            CAIRN_CONFIG_DEFAULT_VALIDATOR_KEY, why, why_cap));
  cairn_err err = cairn_nodekey_write(path, k->node_sk[i]);
  if (err != CAIRN_OK) {
    cairn_init_why(why, why_cap, "cannot write %.300s: %s", path,
                   cairn_strerror(err));
    return err;
  }
  CAIRN_TRY(cairn_init_path(path, sizeof path, home, CAIRN_CONFIG_FILE_NAME,
                            why, why_cap));
  return cairn_init_write_json(path, testnet_config_json(o, k, i), why,
                               why_cap);
}

static cairn_err testnet_write_keys(const cairn_testnet_opts *o,
                                    const testnet_keys *k, char *why,
                                    size_t why_cap) {
  char dir[CAIRN_CONFIG_PATH_BYTES_MAX];
  CAIRN_TRY(cairn_init_path(dir, sizeof dir, o->dir, "keys", why, why_cap));
  CAIRN_TRY(cairn_init_mkdir(dir, why, why_cap));
  for (size_t i = 0; i < k->n; i++)
    CAIRN_TRY(cairn_init_write_keyfile(dir, k->name[i], k->sk[i],
                                       o->passphrase, o->passphrase_len,
                                       o->kdf, why, why_cap));
  return CAIRN_OK;
}

static cairn_err testnet_check(const cairn_testnet_opts *o, char *why,
                               size_t why_cap) {
  if (o->validators < 1 || o->validators > CAIRN_TESTNET_VALIDATORS_MAX) {
    cairn_init_why(why, why_cap, "--validators must be from 1 to %d",
                   CAIRN_TESTNET_VALIDATORS_MAX);
    return CAIRN_ERR_USAGE;
  }
  if (o->base_port < 1024 || (uint32_t)o->base_port + 10 + o->validators > 65535) {
    cairn_init_why(why, why_cap, "--base-port must leave room for the API "
                   "ports (base + i) and peer ports (base + 10 + i) between "
                   "1024 and 65535");
    return CAIRN_ERR_USAGE;
  }
  char path[CAIRN_CONFIG_PATH_BYTES_MAX];
  struct stat st;
  CAIRN_TRY(cairn_init_path(path, sizeof path, o->dir,
                            CAIRN_CONFIG_DEFAULT_GENESIS, why, why_cap));
  if (stat(path, &st) == 0) {
    cairn_init_why(why, why_cap, "%.300s already exists; refusing to "
                   "overwrite a testnet (remove the directory or choose "
                   "another --dir)", path);
    return CAIRN_ERR_EXISTS;
  }
  return CAIRN_OK;
}

static cairn_err testnet_write_all(const cairn_testnet_opts *o,
                                   const testnet_keys *k,
                                   const cairn_genesis *g, char *why,
                                   size_t why_cap) {
  char path[CAIRN_CONFIG_PATH_BYTES_MAX];
  CAIRN_TRY(cairn_init_mkdir(o->dir, why, why_cap));
  CAIRN_TRY(testnet_write_keys(o, k, why, why_cap));
  CAIRN_TRY(cairn_init_path(path, sizeof path, o->dir,
                            CAIRN_CONFIG_DEFAULT_GENESIS, why, why_cap));
  CAIRN_TRY(cairn_init_write_genesis(g, path, why, why_cap));
  for (uint32_t i = 0; i < o->validators; i++)
    CAIRN_TRY(testnet_write_node(o, k, i, why, why_cap));
  return CAIRN_OK;
}

cairn_err cairn_init_testnet(const cairn_testnet_opts *o, char *why,
                             size_t why_cap) {
  assert(o != NULL && o->dir != NULL && o->passphrase != NULL);
  CAIRN_TRY(testnet_check(o, why, why_cap));
  testnet_keys *k = sodium_malloc(sizeof *k);
  cairn_genesis *g = malloc(sizeof *g);
  cairn_err err = CAIRN_ERR_NOMEM;
  if (k == NULL || g == NULL) {
    cairn_init_why(why, why_cap, "out of memory");
  } else {
    memset(k, 0, sizeof *k);
    err = testnet_keygen(k, o->validators);
    if (err != CAIRN_OK)
      cairn_init_why(why, why_cap, "cannot generate keys: %s",
                     cairn_strerror(err));
  }
  if (err == CAIRN_OK) err = testnet_genesis(g, k, o->validators, why, why_cap);
  if (err == CAIRN_OK) err = testnet_write_all(o, k, g, why, why_cap);
  if (k != NULL) sodium_free(k); /* wipes */
  free(g);
  return err;
}
