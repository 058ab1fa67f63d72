/*
 * cairn/init.h - creating a node home directory (`cairnd init`).
 *
 * A home holds everything one node needs:
 *   DIR/config.json     the node configuration (config.h), relative paths
 *   DIR/genesis.json    the genesis document (genesis.h), one validator
 *   DIR/validator.key   the validator's Ed25519 key, mode 0600
 *   DIR/keys/NAME.key   (demo only) encrypted brand and member keys
 * DIR is created with mode 0700. config.json is written last and marks a
 * complete home: init refuses to touch a directory that already has one,
 * and no existing file is ever overwritten.
 *
 * The demo chain ("cairn-demo") has three brands whose issuer keys are
 * generated on the spot: coffee (id 1) and pizza (id 2) with transferable
 * points, books (id 3) without; plus a member key, alice. Their key files
 * are encrypted with the given passphrase.
 */
#ifndef CAIRN_INIT_H
#define CAIRN_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/keyfile.h"
#include "cairn/limits.h"
#include "cairn/sig.h"

#define CAIRN_INIT_DEMO_CHAIN_ID "cairn-demo"
#define CAIRN_INIT_DEFAULT_CHAIN_ID "cairn-local"
#define CAIRN_INIT_VALIDATOR_NAME "validator-0"
#define CAIRN_INIT_VALIDATOR_POWER 10
/* Key files of the demo, under DIR/keys/, "<name>.key". */
#define CAIRN_INIT_DEMO_KEYS {"coffee", "pizza", "books", "alice"}
#define CAIRN_INIT_DEMO_KEYS_N 4

/* A brand given on the command line: --brand NAME=ADDRESS[:nontransferable]. */
typedef struct cairn_init_brand {
  char name[CAIRN_NAME_BYTES_MAX + 1];
  uint8_t issuer[CAIRN_PUBKEY_BYTES];
  bool transferable;
} cairn_init_brand;

typedef struct cairn_init_opts {
  const char *home;                /* directory to create or fill */
  bool demo;                       /* the demo chain with generated keys */
  const char *chain_id;            /* NULL: demo or default chain id */
  const cairn_init_brand *brands;  /* without demo: at least one */
  size_t n_brands;                 /* <= CAIRN_BRANDS_MAX; ids 1..n in order */
  const char *listen;              /* NULL: the default */
  uint32_t block_interval_ms;      /* 0: the default */
  const char *passphrase;          /* demo key files */
  size_t passphrase_len;
  const cairn_kdf_params *kdf;     /* demo key files; NULL: default cost */
} cairn_init_opts;

/* Parse "NAME=ADDRESS" or "NAME=ADDRESS:nontransferable". Errors: USAGE
 * (shape or name), and the address errors of address.h; why says which.
 * b is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_init_parse_brand(cairn_init_brand *b,
                                                  const char *arg, char *why,
                                                  size_t why_cap);

/* Create the home described by o. Everything is validated before anything
 * is written. Errors: USAGE (no brands without demo, demo with brands),
 * CONFIG (listen, interval), GENESIS (chain id, names), EXISTS
 * (DIR/config.json or a key file already there), IO, NOMEM; why holds one
 * sentence saying what failed and what to do. */
CAIRN_MUST_CHECK cairn_err cairn_init_home(const cairn_init_opts *o, char *why,
                                           size_t why_cap);

/* ---- a local multi-validator network (`cairnd testnet`) ---- */

#define CAIRN_TESTNET_VALIDATORS_MAX 8
#define CAIRN_TESTNET_DEFAULT_VALIDATORS 4
#define CAIRN_TESTNET_DEFAULT_BASE_PORT 26650
#define CAIRN_TESTNET_CHAIN_ID "cairn-testnet"
#define CAIRN_TESTNET_POWER 100
#define CAIRN_TESTNET_FREE_STAKE 1000
#define CAIRN_TESTNET_UNBONDING_BLOCKS 10

/* `cairnd testnet --dir DIR` creates, with one genesis shared by all:
 *   DIR/genesis.json   chain "cairn-testnet": brands coffee, pizza, books
 *                      (as the demo); validators coffee-node, pizza-node,
 *                      books-node, partner-node (then op-4 ...), power 100
 *                      each, operated by the brands' issuer keys and by
 *                      keys/partner (keys/op-K); 1000 free stake for every
 *                      operator and for keys/newbrand, a partner that can
 *                      apply for admission
 *   DIR/keys/NAME.key  coffee, pizza, books, alice (a member), partner,
 *                      newbrand, op-K: encrypted with the passphrase
 *   DIR/nodeI/         config.json, validator.key (0600), data/ later;
 *                      API on 127.0.0.1:(base_port + I), peer port
 *                      127.0.0.1:(base_port + 10 + I), every other node
 *                      listed as a peer with its key.
 * Refuses when DIR/genesis.json exists. */
typedef struct cairn_testnet_opts {
  const char *dir;
  uint32_t validators;        /* 1..CAIRN_TESTNET_VALIDATORS_MAX */
  uint16_t base_port;         /* base_port + 10 + validators <= 65535 */
  uint32_t block_interval_ms; /* 0: the default */
  const char *passphrase;
  size_t passphrase_len;
  const cairn_kdf_params *kdf; /* NULL: default cost */
} cairn_testnet_opts;

/* Errors: USAGE (counts, ports), EXISTS, IO, NOMEM, GENESIS; why says what
 * failed and what to do. */
CAIRN_MUST_CHECK cairn_err cairn_init_testnet(const cairn_testnet_opts *o,
                                              char *why, size_t why_cap);

#endif
