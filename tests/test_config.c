/*
 * tests/test_config.c - the node configuration file.
 *
 * Defaults for an empty object, every key overridden, each invalid value of
 * each key rejected with CAIRN_ERR_CONFIG and a sentence naming the key,
 * unknown keys, syntax errors and duplicate keys, relative paths resolved
 * against the file's directory (also when the file is named by a relative
 * path), a missing file, and the setters shared with the command line at
 * the exact edges of their ranges. After every failure the output struct
 * must be zeroed (parse) or unchanged (setters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

#include <cmocka.h>

#include "cairn/config.h"
#include "cairn/limits.h"
#include "testutil.h"

static cairn_config cfg; /* 12 KB: keep it off the stack */

static cairn_err parse(const char *json, char *why, size_t why_cap) {
  return cairn_config_parse(&cfg, json, strlen(json), "/base", why, why_cap);
}

static void assert_zeroed(const cairn_config *c) {
  static const cairn_config zero;
  assert_memory_equal(c, &zero, sizeof zero);
}

static void test_defaults(void **state) {
  (void)state;
  char why[256] = "";
  assert_int_equal(parse("{}", why, sizeof why), CAIRN_OK);
  assert_string_equal(cfg.data_dir, "/base/data");
  assert_string_equal(cfg.genesis, "/base/genesis.json");
  assert_string_equal(cfg.validator_key, "/base/validator.key");
  assert_string_equal(cfg.listen, "127.0.0.1:8645");
  assert_string_equal(cfg.listen_host, "127.0.0.1");
  assert_int_equal(cfg.listen_port, 8645);
  assert_int_equal(cfg.block_interval_ms, 1000);
  assert_int_equal(cfg.mempool_txs_max, 50000);
  assert_true(cfg.sync);
  /* cairn_config_defaults gives the same, and a base with a trailing
   * slash does not double it. */
  cairn_config d;
  assert_int_equal(cairn_config_defaults(&d, "/", why, sizeof why), CAIRN_OK);
  assert_string_equal(d.data_dir, "/data");
  assert_int_equal(d.listen_port, 8645);
}

static void test_overrides(void **state) {
  (void)state;
  char why[256] = "";
  assert_int_equal(
      parse("{\"data_dir\": \"/var/lib/cairn\", \"genesis\": \"g/gen.json\","
            " \"validator_key\": \"../keys/v.key\","
            " \"listen\": \"0.0.0.0:18645\", \"block_interval_ms\": 250,"
            " \"mempool_txs_max\": 10, \"sync\": false}",
            why, sizeof why),
      CAIRN_OK);
  assert_string_equal(cfg.data_dir, "/var/lib/cairn");
  assert_string_equal(cfg.genesis, "/base/g/gen.json");
  assert_string_equal(cfg.validator_key, "/base/../keys/v.key");
  assert_string_equal(cfg.listen_host, "0.0.0.0");
  assert_int_equal(cfg.listen_port, 18645);
  assert_int_equal(cfg.block_interval_ms, 250);
  assert_int_equal(cfg.mempool_txs_max, 10);
  assert_false(cfg.sync);
  /* IPv6 in brackets, and a host name. */
  assert_int_equal(parse("{\"listen\": \"[::1]:1\"}", why, sizeof why),
                   CAIRN_OK);
  assert_string_equal(cfg.listen_host, "::1");
  assert_int_equal(cfg.listen_port, 1);
  assert_int_equal(parse("{\"listen\": \"localhost:65535\"}", why, sizeof why),
                   CAIRN_OK);
  assert_string_equal(cfg.listen_host, "localhost");
  assert_int_equal(cfg.listen_port, 65535);
}

/* Each bad value must fail with CONFIG, name its key, and zero cfg. */
static void test_invalid_fields(void **state) {
  (void)state;
  static const struct {
    const char *json;
    const char *key;
  } bad[] = {
      {"{\"data_dir\": 5}", "data_dir"},
      {"{\"data_dir\": \"\"}", "data_dir"},
      {"{\"genesis\": true}", "genesis"},
      {"{\"genesis\": \"\"}", "genesis"},
      {"{\"validator_key\": null}", "validator_key"},
      {"{\"validator_key\": [\"a\"]}", "validator_key"},
      {"{\"listen\": 8645}", "listen"},
      {"{\"listen\": \"127.0.0.1\"}", "listen"},
      {"{\"listen\": \"127.0.0.1:0\"}", "listen"},
      {"{\"listen\": \"127.0.0.1:65536\"}", "listen"},
      {"{\"listen\": \"127.0.0.1:08645\"}", "listen"},
      {"{\"listen\": \"127.0.0.1:86a5\"}", "listen"},
      {"{\"listen\": \"127.0.0.1:\"}", "listen"},
      {"{\"listen\": \":8645\"}", "listen"},
      {"{\"listen\": \"::1:8645\"}", "listen"},
      {"{\"listen\": \"[::1]8645\"}", "listen"},
      {"{\"listen\": \"bad host:8645\"}", "listen"},
      {"{\"block_interval_ms\": 9}", "block_interval_ms"},
      {"{\"block_interval_ms\": 600001}", "block_interval_ms"},
      {"{\"block_interval_ms\": -1}", "block_interval_ms"},
      {"{\"block_interval_ms\": 100.5}", "block_interval_ms"},
      {"{\"block_interval_ms\": \"1000\"}", "block_interval_ms"},
      {"{\"mempool_txs_max\": 0}", "mempool_txs_max"},
      {"{\"mempool_txs_max\": 50001}", "mempool_txs_max"},
      {"{\"mempool_txs_max\": false}", "mempool_txs_max"},
      {"{\"sync\": 1}", "sync"},
      {"{\"sync\": \"true\"}", "sync"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char why[512] = "";
    assert_int_equal(parse("{}", why, sizeof why), CAIRN_OK);
    cairn_err err = parse(bad[i].json, why, sizeof why);
    if (err != CAIRN_ERR_CONFIG || strstr(why, bad[i].key) == NULL) {
      fail_msg("%s: got %s, why \"%s\"", bad[i].json, cairn_errname(err), why);
    }
    assert_zeroed(&cfg);
  }
}

static void test_unknown_key_and_bad_json(void **state) {
  (void)state;
  char why[512] = "";
  assert_int_equal(parse("{\"listen\": \"127.0.0.1:1\", "
                         "\"block_intervall_ms\": 5}",
                         why, sizeof why),
                   CAIRN_ERR_CONFIG);
  assert_non_null(strstr(why, "\"block_intervall_ms\""));
  assert_zeroed(&cfg);
  assert_int_equal(parse("{\"sync\": true", why, sizeof why), CAIRN_ERR_JSON);
  assert_zeroed(&cfg);
  assert_int_equal(parse("{\"sync\": true, \"sync\": false}", why, sizeof why),
                   CAIRN_ERR_JSON);
  assert_int_equal(parse("[1, 2]", why, sizeof why), CAIRN_ERR_CONFIG);
  assert_int_equal(parse("", why, sizeof why), CAIRN_ERR_JSON);
  assert_zeroed(&cfg);
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  assert_int_equal(fputs(text, fp) >= 0, 1);
  assert_int_equal(fclose(fp), 0);
}

static void test_load_resolves_relative_paths(void **state) {
  (void)state;
  char dir[64], sub[128], path[192], real[PATH_MAX], want[PATH_MAX + 64];
  char why[512] = "";
  tu_tmpdir(dir, sizeof dir);
  snprintf(sub, sizeof sub, "%s/home", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  snprintf(path, sizeof path, "%s/config.json", sub);
  write_file(path, "{\"data_dir\": \"chain\", \"genesis\": \"../g.json\", "
                   "\"validator_key\": \"/etc/cairn/v.key\"}\n");
  assert_non_null(realpath(sub, real));
  assert_int_equal(cairn_config_load(&cfg, path, why, sizeof why), CAIRN_OK);
  snprintf(want, sizeof want, "%s/chain", real);
  assert_string_equal(cfg.data_dir, want);
  snprintf(want, sizeof want, "%s/../g.json", real);
  assert_string_equal(cfg.genesis, want);
  assert_string_equal(cfg.validator_key, "/etc/cairn/v.key");

  /* Named relative to the working directory: still resolved against the
   * file's own directory, and absolute afterwards. */
  char cwd[PATH_MAX];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  cairn_err err = cairn_config_load(&cfg, "home/config.json", why, sizeof why);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(err, CAIRN_OK);
  snprintf(want, sizeof want, "%s/chain", real);
  assert_string_equal(cfg.data_dir, want);
  tu_rmtree(dir);
}

static void test_load_errors(void **state) {
  (void)state;
  char dir[64], path[128], why[512] = "";
  tu_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/missing.json", dir);
  assert_int_equal(cairn_config_load(&cfg, path, why, sizeof why),
                   CAIRN_ERR_NOT_FOUND);
  assert_non_null(strstr(why, "missing.json"));
  assert_zeroed(&cfg);
  /* A bad value in a file names the key. */
  snprintf(path, sizeof path, "%s/config.json", dir);
  write_file(path, "{\"mempool_txs_max\": 0}");
  assert_int_equal(cairn_config_load(&cfg, path, why, sizeof why),
                   CAIRN_ERR_CONFIG);
  assert_non_null(strstr(why, "mempool_txs_max"));
  assert_zeroed(&cfg);
  /* Larger than CAIRN_CONFIG_FILE_BYTES_MAX. */
  char *big = malloc(CAIRN_CONFIG_FILE_BYTES_MAX + 2);
  assert_non_null(big);
  memset(big, ' ', CAIRN_CONFIG_FILE_BYTES_MAX + 1);
  big[0] = '{';
  big[CAIRN_CONFIG_FILE_BYTES_MAX] = '}';
  big[CAIRN_CONFIG_FILE_BYTES_MAX + 1] = '\0';
  write_file(path, big);
  free(big);
  assert_int_equal(cairn_config_load(&cfg, path, why, sizeof why),
                   CAIRN_ERR_OVERSIZE);
  assert_zeroed(&cfg);
  tu_rmtree(dir);
}

static void test_setters_edges(void **state) {
  (void)state;
  char why[256];
  cairn_config c;
  assert_int_equal(cairn_config_defaults(&c, "/x", why, sizeof why), CAIRN_OK);
  assert_int_equal(cairn_config_set_block_interval_ms(
                       &c, CAIRN_BLOCK_INTERVAL_MS_MIN, why, sizeof why),
                   CAIRN_OK);
  assert_int_equal(c.block_interval_ms, CAIRN_BLOCK_INTERVAL_MS_MIN);
  assert_int_equal(cairn_config_set_block_interval_ms(
                       &c, CAIRN_BLOCK_INTERVAL_MS_MIN - 1, why, sizeof why),
                   CAIRN_ERR_CONFIG);
  assert_int_equal(cairn_config_set_block_interval_ms(
                       &c, CAIRN_BLOCK_INTERVAL_MS_MAX + 1ull, why, sizeof why),
                   CAIRN_ERR_CONFIG);
  assert_int_equal(c.block_interval_ms, CAIRN_BLOCK_INTERVAL_MS_MIN);
  assert_int_equal(cairn_config_set_block_interval_ms(
                       &c, CAIRN_BLOCK_INTERVAL_MS_MAX, why, sizeof why),
                   CAIRN_OK);
  assert_int_equal(cairn_config_set_mempool_txs_max(&c, CAIRN_MEMPOOL_TXS_MIN,
                                                    why, sizeof why),
                   CAIRN_OK);
  assert_int_equal(cairn_config_set_mempool_txs_max(
                       &c, CAIRN_MEMPOOL_TXS_MAX + 1ull, why, sizeof why),
                   CAIRN_ERR_CONFIG);
  assert_int_equal(c.mempool_txs_max, CAIRN_MEMPOOL_TXS_MIN);
  assert_int_equal(cairn_config_set_listen(&c, "10.0.0.1:9", why, sizeof why),
                   CAIRN_OK);
  assert_int_equal(cairn_config_set_listen(&c, "10.0.0.1:99999", why,
                                           sizeof why),
                   CAIRN_ERR_CONFIG);
  assert_non_null(strstr(why, "listen"));
  assert_string_equal(c.listen, "10.0.0.1:9");
  assert_string_equal(c.listen_host, "10.0.0.1");
  assert_int_equal(c.listen_port, 9);
}


#define KEY_A "0101010101010101010101010101010101010101010101010101010101010101"
#define KEY_B "0202020202020202020202020202020202020202020202020202020202020202"

static void test_network_fields(void **state) {
  (void)state;
  char why[256] = "";
  /* Defaults: no peer port, no peers, engine defaults for timeouts. */
  assert_int_equal(parse("{}", why, sizeof why), CAIRN_OK);
  assert_int_equal(cfg.p2p_listen_port, 0);
  assert_string_equal(cfg.p2p_listen_host, "");
  assert_int_equal(cfg.n_peers, 0);
  assert_int_equal(cfg.timeouts.propose_ms, 0);
  assert_int_equal(
      parse("{\"p2p_listen\": \"127.0.0.1:26660\", \"peers\": ["
            "{\"address\": \"10.0.0.2:26661\", \"key\": \"" KEY_A "\"},"
            "{\"address\": \"[::1]:26662\", \"key\": \"" KEY_B "\"}],"
            "\"timeouts\": {\"propose_ms\": 700, \"precommit_delta_ms\": 9}}",
            why, sizeof why),
      CAIRN_OK);
  assert_string_equal(cfg.p2p_listen_host, "127.0.0.1");
  assert_int_equal(cfg.p2p_listen_port, 26660);
  assert_int_equal(cfg.n_peers, 2);
  assert_string_equal(cfg.peers[0].host, "10.0.0.2");
  assert_int_equal(cfg.peers[0].port, 26661);
  assert_int_equal(cfg.peers[0].key[0], 0x01);
  assert_string_equal(cfg.peers[1].host, "::1");
  assert_int_equal(cfg.peers[1].key[31], 0x02);
  assert_int_equal(cfg.timeouts.propose_ms, 700);
  assert_int_equal(cfg.timeouts.precommit_delta_ms, 9);
  assert_int_equal(cfg.timeouts.prevote_ms, 0);
  /* An empty p2p_listen means no peer port. */
  assert_int_equal(parse("{\"p2p_listen\": \"\"}", why, sizeof why), CAIRN_OK);
  assert_int_equal(cfg.p2p_listen_port, 0);
}

static void test_network_fields_rejected(void **state) {
  (void)state;
  static const struct {
    const char *json;
    const char *why_part;
  } bad[] = {
      {"{\"p2p_listen\": \"nohost\"}", "\"p2p_listen\" must be HOST:PORT"},
      {"{\"p2p_listen\": 26660}", "\"p2p_listen\" must be a string"},
      {"{\"peers\": {}}", "\"peers\" must be an array"},
      {"{\"peers\": [{\"address\": \"h:1\"}]}", "exactly"},
      {"{\"peers\": [{\"address\": \"h:0\", \"key\": \"" KEY_A "\"}]}",
       "\"peers[0]\" must be HOST:PORT"},
      {"{\"peers\": [{\"address\": \"h:1\", \"key\": \"abc\"}]}",
       "64 hex digits"},
      {"{\"peers\": [{\"address\": \"h:1\", \"kee\": \"" KEY_A "\"}]}",
       "must have"},
      {"{\"peers\": [{\"address\": \"h:1\", \"key\": \"" KEY_A "\"},"
       "{\"address\": \"h:2\", \"key\": \"" KEY_A "\"}]}",
       "repeats peers[0]"},
      {"{\"timeouts\": {\"propose\": 5}}", "unknown key \"timeouts.propose\""},
      {"{\"timeouts\": {\"prevote_ms\": 0}}", "from 1 to"},
      {"{\"timeouts\": {\"prevote_ms\": -3}}", "non-negative"},
      {"{\"timeouts\": []}", "must be an object"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char why[256] = "";
    assert_int_equal(parse(bad[i].json, why, sizeof why), CAIRN_ERR_CONFIG);
    if (strstr(why, bad[i].why_part) == NULL)
      fail_msg("case %zu: \"%s\" lacks \"%s\"", i, why, bad[i].why_part);
    assert_zeroed(&cfg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_overrides),
      cmocka_unit_test(test_invalid_fields),
      cmocka_unit_test(test_unknown_key_and_bad_json),
      cmocka_unit_test(test_load_resolves_relative_paths),
      cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_setters_edges),
      cmocka_unit_test(test_network_fields),
      cmocka_unit_test(test_network_fields_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
