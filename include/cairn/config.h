/*
 * cairn/config.h - the node's configuration file.
 *
 * cairnd reads one JSON object; every key is optional and defaults as shown:
 *   {"data_dir": "data", "genesis": "genesis.json",
 *    "validator_key": "validator.key", "listen": "127.0.0.1:8645",
 *    "block_interval_ms": 1000, "mempool_txs_max": 50000, "sync": true,
 *    "p2p_listen": "", "peers": [], "timeouts": {}}
 * "p2p_listen" is HOST:PORT for peer links ("" or absent: no peer port, a
 * lone validator). "peers" lists the nodes to dial, each
 *   {"address": "HOST:PORT", "key": "<node key, 64 hex digits>"}
 * (at most CAIRN_CONFIG_PEERS_MAX, no key twice). "timeouts" overrides the
 * consensus round timeouts (consensus.h), each 1..CAIRN_BLOCK_INTERVAL_MS_MAX
 * ms: "propose_ms", "propose_delta_ms", "prevote_ms", "prevote_delta_ms",
 * "precommit_ms", "precommit_delta_ms". block_interval_ms is the pause
 * after each committed block before the next height starts.
 * Reading is strict: an unknown key, a value of the wrong type or out of its
 * range is an error whose sentence names the key, because a typo in a
 * configuration file should stop the node, not be silently ignored.
 * Relative paths are resolved against the directory holding the file, so a
 * home directory can be moved or started from anywhere; after loading every
 * path is absolute.
 */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"

/* Longest resolved path (Linux PATH_MAX). */
#define CAIRN_CONFIG_PATH_BYTES_MAX 4096
/* Longest host name in "listen" (DNS names are at most 253 characters). */
#define CAIRN_CONFIG_HOST_BYTES_MAX 256
/* "host:port" with an IPv6 host in brackets. */
#define CAIRN_CONFIG_LISTEN_BYTES_MAX (CAIRN_CONFIG_HOST_BYTES_MAX + 8)

#define CAIRN_CONFIG_DEFAULT_DATA_DIR "data"
#define CAIRN_CONFIG_DEFAULT_GENESIS "genesis.json"
#define CAIRN_CONFIG_DEFAULT_VALIDATOR_KEY "validator.key"
#define CAIRN_CONFIG_DEFAULT_LISTEN "127.0.0.1:8645"
#define CAIRN_CONFIG_DEFAULT_BLOCK_INTERVAL_MS 1000
#define CAIRN_CONFIG_DEFAULT_MEMPOOL_TXS_MAX 50000
#define CAIRN_CONFIG_FILE_NAME "config.json"

#define CAIRN_CONFIG_PEERS_MAX 64

typedef struct cairn_config_peer {
  char host[CAIRN_CONFIG_HOST_BYTES_MAX]; /* without brackets */
  uint16_t port;
  uint8_t key[32]; /* Ed25519 node key */
} cairn_config_peer;

/* 0 means "the consensus default" for each. */
typedef struct cairn_config_timeouts {
  uint32_t propose_ms, propose_delta_ms;
  uint32_t prevote_ms, prevote_delta_ms;
  uint32_t precommit_ms, precommit_delta_ms;
} cairn_config_timeouts;

typedef struct cairn_config {
  char data_dir[CAIRN_CONFIG_PATH_BYTES_MAX];      /* absolute after load */
  char genesis[CAIRN_CONFIG_PATH_BYTES_MAX];       /* absolute after load */
  char validator_key[CAIRN_CONFIG_PATH_BYTES_MAX]; /* absolute after load */
  char listen[CAIRN_CONFIG_LISTEN_BYTES_MAX];      /* as written */
  char listen_host[CAIRN_CONFIG_HOST_BYTES_MAX];   /* without brackets */
  uint16_t listen_port;                            /* 1..65535 */
  uint32_t block_interval_ms; /* CAIRN_BLOCK_INTERVAL_MS_MIN..MAX */
  uint32_t mempool_txs_max;   /* CAIRN_MEMPOOL_TXS_MIN..MAX */
  bool sync;                  /* fsync every block (false: tests only) */
  char p2p_listen_host[CAIRN_CONFIG_HOST_BYTES_MAX]; /* "" : no peer port */
  uint16_t p2p_listen_port;
  size_t n_peers;
  cairn_config_peer peers[CAIRN_CONFIG_PEERS_MAX];
  cairn_config_timeouts timeouts;
} cairn_config;

/* Fill c with the defaults, paths resolved against base_dir (which should
 * be absolute). Errors: CONFIG (a resolved path would be too long), with a
 * sentence in why. c is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_config_defaults(cairn_config *c,
                                                 const char *base_dir,
                                                 char *why, size_t why_cap);

/* Parse the JSON text of a configuration file (len bytes) over the
 * defaults, resolving relative paths against base_dir. Errors: JSON (syntax,
 * duplicate key), CONFIG (not an object, unknown key, wrong type, value out
 * of range, path too long); why names the key. c is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_config_parse(cairn_config *c,
                                              const char *text, size_t len,
                                              const char *base_dir, char *why,
                                              size_t why_cap);

/* Read and parse the file at path (at most CAIRN_CONFIG_FILE_BYTES_MAX
 * bytes); relative paths resolve against the absolute form of the file's
 * directory. Errors: NOT_FOUND, IO, OVERSIZE, NOMEM and those of
 * cairn_config_parse; why names the file or key. c is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_config_load(cairn_config *c, const char *path,
                                             char *why, size_t why_cap);

/* Check and set the listen address "host:port" ("[v6addr]:port" for IPv6;
 * port 1..65535). Errors: CONFIG with a sentence; c is unchanged then. */
CAIRN_MUST_CHECK cairn_err cairn_config_set_listen(cairn_config *c,
                                                   const char *listen,
                                                   char *why, size_t why_cap);

/* Check and set block_interval_ms (CAIRN_BLOCK_INTERVAL_MS_MIN..MAX).
 * Errors: CONFIG; c is unchanged then. */
CAIRN_MUST_CHECK cairn_err cairn_config_set_block_interval_ms(
    cairn_config *c, uint64_t ms, char *why, size_t why_cap);

/* Check and set the peer listen address ("" clears it). Errors: CONFIG;
 * c is unchanged then. */
CAIRN_MUST_CHECK cairn_err cairn_config_set_p2p_listen(cairn_config *c,
                                                       const char *listen,
                                                       char *why,
                                                       size_t why_cap);

/* Check and set mempool_txs_max (CAIRN_MEMPOOL_TXS_MIN..MAX). Errors:
 * CONFIG; c is unchanged then. */
CAIRN_MUST_CHECK cairn_err cairn_config_set_mempool_txs_max(
    cairn_config *c, uint64_t n, char *why, size_t why_cap);

#endif
