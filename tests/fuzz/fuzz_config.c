/*
 * tests/fuzz/fuzz_config.c - cairnd's configuration file (config.h).
 *
 * Input: the JSON text of a config file. Properties: a rejected file leaves
 * the struct zeroed and a reason in why; an accepted one has absolute
 * paths, a port of 1..65535, a listen host, and values within their
 * ranges; rendered back to JSON (every key, absolute paths) and parsed
 * again it gives the same configuration.
 */
#include "fuzz.h"

#include <jansson.h>

#include "cairn/config.h"
#include "cairn/limits.h"

#define FUZZ_CONFIG_BASE "/fuzz/home"

static void fuzz_config_invariants(const cairn_config *c) {
  FUZZ_CHECK(c->data_dir[0] == '/' && c->genesis[0] == '/' &&
             c->validator_key[0] == '/');
  FUZZ_CHECK(c->listen_port >= 1 && c->listen_host[0] != '\0');
  FUZZ_CHECK(strlen(c->listen) < sizeof c->listen);
  FUZZ_CHECK(c->block_interval_ms >= CAIRN_BLOCK_INTERVAL_MS_MIN &&
             c->block_interval_ms <= CAIRN_BLOCK_INTERVAL_MS_MAX);
  FUZZ_CHECK(c->mempool_txs_max >= CAIRN_MEMPOOL_TXS_MIN &&
             c->mempool_txs_max <= CAIRN_MEMPOOL_TXS_MAX);
}

/* Render c with every key, parse it again into again. */
static void fuzz_config_roundtrip(const cairn_config *c) {
  static cairn_config again;
  char why[512];
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "data_dir",
                        c->data_dir, "genesis", c->genesis, "validator_key",
                        c->validator_key, "listen", c->listen,
                        "block_interval_ms", (json_int_t)c->block_interval_ms,
                        "mempool_txs_max", (json_int_t)c->mempool_txs_max,
                        "sync", (int)c->sync);
  FUZZ_CHECK(o != NULL);
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  FUZZ_CHECK(text != NULL);
  cairn_err err = cairn_config_parse(&again, text, strlen(text),
                                     FUZZ_CONFIG_BASE, why, sizeof why);
  if (err != CAIRN_OK) fprintf(stderr, "re-parse: %s\n%s\n", why, text);
  FUZZ_CHECK(err == CAIRN_OK);
  free(text);
  FUZZ_CHECK(strcmp(again.data_dir, c->data_dir) == 0);
  FUZZ_CHECK(strcmp(again.genesis, c->genesis) == 0);
  FUZZ_CHECK(strcmp(again.validator_key, c->validator_key) == 0);
  FUZZ_CHECK(strcmp(again.listen, c->listen) == 0);
  FUZZ_CHECK(strcmp(again.listen_host, c->listen_host) == 0);
  FUZZ_CHECK(again.listen_port == c->listen_port);
  FUZZ_CHECK(again.block_interval_ms == c->block_interval_ms);
  FUZZ_CHECK(again.mempool_txs_max == c->mempool_txs_max);
  FUZZ_CHECK(again.sync == c->sync);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static cairn_config c;
  char why[512];
  fuzz_init();
  why[0] = '\0';
  const char *text = size > 0 ? (const char *)data : "";
  if (cairn_config_parse(&c, text, size, FUZZ_CONFIG_BASE, why, sizeof why) !=
      CAIRN_OK) {
    FUZZ_CHECK(fuzz_all_zero(&c, sizeof c));
    FUZZ_CHECK(why[0] != '\0');
    return 0;
  }
  fuzz_config_invariants(&c);
  fuzz_config_roundtrip(&c);
  return 0;
}
