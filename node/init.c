/*
 * node/init.c - `cairnd init`: a new home directory with keys, genesis and
 * configuration.
 *
 * Init validates every option first (brand names and addresses, chain id,
 * listen address, interval) by building the genesis in memory and running
 * the same checks a node runs when it loads one, so a bad option costs
 * nothing on disk. Then it writes, in this order: demo key files, the
 * validator key, genesis.json and finally config.json. Every file is
 * written atomically and exclusively (file.h, keyfile.h), so nothing that
 * exists is ever overwritten, and config.json - whose presence is what
 * `cairnd demo` and a second `init` look at - appears only when the rest is
 * in place.
 *
 * Secrets: the generated secret keys live only in stack buffers for the
 * moment it takes to write them, and are wiped right after; the validator
 * key is written unencrypted but 0600 (it must sign unattended), brand and
 * member keys are encrypted with the passphrase.
 */
#include "cairn/init.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "cairn/address.h"
#include "cairn/config.h"
#include "cairn/file.h"
#include "cairn/genesis.h"
#include "clock.h"
#include "init_internal.h"

void cairn_init_why(char *why, size_t why_cap, const char *fmt, ...) {
  if (why == NULL || why_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

static bool cairn_init_name_ok(const char *s, size_t n) {
  if (n == 0 || n > CAIRN_NAME_BYTES_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

cairn_err cairn_init_parse_brand(cairn_init_brand *b, const char *arg,
                                 char *why, size_t why_cap) {
  static const char suffix[] = ":nontransferable";
  assert(b != NULL && arg != NULL);
  memset(b, 0, sizeof *b);
  const char *eq = strchr(arg, '=');
  if (eq == NULL || !cairn_init_name_ok(arg, (size_t)(eq - arg))) {
    cairn_init_why(why, why_cap,
                   "--brand %.100s: expected NAME=ADDRESS[:nontransferable] "
                   "with NAME of 1-%d characters a-z, 0-9 or -",
                   arg, CAIRN_NAME_BYTES_MAX);
    return CAIRN_ERR_USAGE;
  }
  char addr[CAIRN_ADDRESS_BUF + sizeof suffix];
  int n = snprintf(addr, sizeof addr, "%s", eq + 1);
  size_t len = n > 0 ? (size_t)n : 0;
  b->transferable = true;
  if (len >= sizeof suffix - 1 && (size_t)n < sizeof addr &&
      strcmp(addr + len - (sizeof suffix - 1), suffix) == 0) {
    addr[len - (sizeof suffix - 1)] = '\0';
    b->transferable = false;
  }
  cairn_err err = (size_t)n < sizeof addr ? cairn_address_decode(b->issuer, addr)
                                          : CAIRN_ERR_ADDRESS;
  if (err != CAIRN_OK) {
    cairn_init_why(why, why_cap, "--brand %.100s: %s", arg,
                   cairn_strerror(err));
    memset(b, 0, sizeof *b);
    return err;
  }
  memcpy(b->name, arg, (size_t)(eq - arg));
  return CAIRN_OK;
}

/* ---- paths and directories ---- */

/* dir + "/" + name into out (PATH_MAX-sized); CONFIG if too long. */
cairn_err cairn_init_path(char *out, size_t cap, const char *dir,
                                 const char *name, char *why, size_t why_cap) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= cap) {
    cairn_init_why(why, why_cap, "path %.100s/%s is too long", dir, name);
    return CAIRN_ERR_CONFIG;
  }
  return CAIRN_OK;
}

/* mkdir with mode 0700; an existing directory is fine. */
cairn_err cairn_init_mkdir(const char *dir, char *why, size_t why_cap) {
  if (mkdir(dir, 0700) == 0) return CAIRN_OK;
  struct stat st;
  if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
    return CAIRN_OK;
  }
  cairn_init_why(why, why_cap, "cannot create directory %.300s: %s", dir,
                 strerror(errno));
  return CAIRN_ERR_IO;
}

/* ---- genesis ---- */

void cairn_init_add_brand(cairn_genesis *g, const char *name,
                                 const uint8_t *issuer, bool transferable) {
  assert(g->n_brands < CAIRN_BRANDS_MAX);
  cairn_brand *b = &g->brands[g->n_brands];
  size_t n = strlen(name);
  assert(n <= CAIRN_NAME_BYTES_MAX);
  b->id = (uint32_t)g->n_brands + 1;
  b->name_len = (uint8_t)n;
  memcpy(b->name, name, n + 1);
  memcpy(b->issuer, issuer, CAIRN_PUBKEY_BYTES);
  b->flags = transferable ? CAIRN_BRAND_FLAG_TRANSFERABLE : 0;
  g->n_brands++;
}

/* Everything but the brands, then the genesis checks. */
static cairn_err cairn_init_genesis_finish(cairn_genesis *g,
                                           const char *chain_id,
                                           const uint8_t *validator_pk,
                                           char *why, size_t why_cap) {
  size_t n = strlen(chain_id);
  if (n == 0 || n > CAIRN_CHAIN_ID_BYTES_MAX) {
    cairn_init_why(why, why_cap, "--chain-id must be 1 to %d characters",
                   CAIRN_CHAIN_ID_BYTES_MAX);
    return CAIRN_ERR_GENESIS;
  }
  g->version = CAIRN_GENESIS_VERSION;
  g->chain_id_len = (uint8_t)n;
  memcpy(g->chain_id, chain_id, n + 1);
  g->time_ms = cairn_clock_wall_ms();
  cairn_validator *v = &g->validators.v[0];
  g->validators.n = 1;
  memcpy(v->pubkey, validator_pk, CAIRN_ED25519_PUBKEY_BYTES);
  v->power = CAIRN_INIT_VALIDATOR_POWER;
  v->name_len = (uint8_t)strlen(CAIRN_INIT_VALIDATOR_NAME);
  memcpy(v->name, CAIRN_INIT_VALIDATOR_NAME, v->name_len + 1u);
  char reason[256] = "";
  cairn_err err = cairn_genesis_check(g, reason, sizeof reason);
  if (err != CAIRN_OK) {
    cairn_init_why(why, why_cap, "the genesis would be invalid: %s", reason);
  }
  return err;
}

cairn_err cairn_init_write_genesis(const cairn_genesis *g,
                                          const char *path, char *why,
                                          size_t why_cap) {
  char *text = NULL;
  cairn_err err = cairn_genesis_to_json(g, &text);
  if (err == CAIRN_OK) {
    err = cairn_file_write_atomic(path, text, strlen(text), 0644, true);
  }
  free(text);
  if (err != CAIRN_OK) {
    cairn_init_why(why, why_cap, "cannot write %.300s: %s", path,
                   cairn_strerror(err));
  }
  return err;
}

/* ---- keys ---- */

/* Every secret init creates, in one place so one wipe covers them all. */
typedef struct cairn_init_keys {
  uint8_t validator_sk[CAIRN_ED25519_SECKEY_BYTES];
  uint8_t validator_pk[CAIRN_ED25519_PUBKEY_BYTES];
  uint8_t demo_sk[CAIRN_INIT_DEMO_KEYS_N][CAIRN_SECKEY_BYTES];
  uint8_t demo_pk[CAIRN_INIT_DEMO_KEYS_N][CAIRN_PUBKEY_BYTES];
} cairn_init_keys;

static const char *const cairn_init_demo_names[CAIRN_INIT_DEMO_KEYS_N] =
    CAIRN_INIT_DEMO_KEYS;

static cairn_err cairn_init_keygen(cairn_init_keys *k, bool demo) {
  CAIRN_TRY(cairn_ed25519_keygen(k->validator_pk, k->validator_sk));
  for (size_t i = 0; demo && i < CAIRN_INIT_DEMO_KEYS_N; i++) {
    CAIRN_TRY(cairn_schnorr_keygen(k->demo_sk[i], k->demo_pk[i]));
  }
  return CAIRN_OK;
}

static cairn_err cairn_init_write_demo_keys(const cairn_init_opts *o,
                                            const cairn_init_keys *k,
                                            char *why, size_t why_cap) {
  char dir[CAIRN_CONFIG_PATH_BYTES_MAX];
  CAIRN_TRY(cairn_init_path(dir, sizeof dir, o->home, "keys", why, why_cap));
  CAIRN_TRY(cairn_init_mkdir(dir, why, why_cap));
  for (size_t i = 0; i < CAIRN_INIT_DEMO_KEYS_N; i++) {
    CAIRN_TRY(cairn_init_write_keyfile(dir, cairn_init_demo_names[i],
                                       k->demo_sk[i], o->passphrase,
                                       o->passphrase_len, o->kdf, why,
                                       why_cap));
  }
  return CAIRN_OK;
}

cairn_err cairn_init_write_keyfile(const char *dir, const char *name,
                                   const uint8_t sk[CAIRN_SECKEY_BYTES],
                                   const char *passphrase, size_t pass_len,
                                   const cairn_kdf_params *kdf, char *why,
                                   size_t why_cap) {
  char file[CAIRN_NAME_BYTES_MAX + 8], path[CAIRN_CONFIG_PATH_BYTES_MAX];
  snprintf(file, sizeof file, "%s.key", name);
  CAIRN_TRY(cairn_init_path(path, sizeof path, dir, file, why, why_cap));
  cairn_err err = cairn_keyfile_write(path, sk, passphrase, pass_len, kdf);
  if (err != CAIRN_OK)
    cairn_init_why(why, why_cap, "cannot write key file %.300s: %s", path,
                   cairn_strerror(err));
  return err;
}

/* ---- configuration ---- */

static cairn_err cairn_init_write_config(const char *path, const char *listen,
                                         uint32_t interval_ms, char *why,
                                         size_t why_cap) {
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "data_dir",
      CAIRN_CONFIG_DEFAULT_DATA_DIR, "genesis", CAIRN_CONFIG_DEFAULT_GENESIS,
      "validator_key", CAIRN_CONFIG_DEFAULT_VALIDATOR_KEY, "listen", listen,
      "block_interval_ms", (json_int_t)interval_ms, "mempool_txs_max",
      (json_int_t)CAIRN_CONFIG_DEFAULT_MEMPOOL_TXS_MAX, "sync", 1);
  return cairn_init_write_json(path, o, why, why_cap);
}

cairn_err cairn_init_write_json(const char *path, json_t *o, char *why,
                                size_t why_cap) {
  char *text = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
  json_decref(o);
  cairn_err err = CAIRN_ERR_NOMEM;
  if (text != NULL) {
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (line != NULL) {
      text = line;
      memcpy(text + len, "\n", 2);
      err = cairn_file_write_atomic(path, text, len + 1, 0644, true);
    }
    free(text);
  }
  if (err != CAIRN_OK) {
    cairn_init_why(why, why_cap, "cannot write %.300s: %s", path,
                   cairn_strerror(err));
  }
  return err;
}

/* ---- the whole home ---- */

/* Option checks that need no keys. */
static cairn_err cairn_init_check_opts(const cairn_init_opts *o,
                                       cairn_config *scratch, char *why,
                                       size_t why_cap) {
  if (o->demo && o->n_brands > 0) {
    cairn_init_why(why, why_cap, "--brand cannot be combined with --demo "
                                 "(the demo has its own brands)");
    return CAIRN_ERR_USAGE;
  }
  if (!o->demo && o->n_brands == 0) {
    cairn_init_why(why, why_cap, "at least one --brand NAME=ADDRESS is "
                                 "required (or use --demo)");
    return CAIRN_ERR_USAGE;
  }
  if (o->n_brands > CAIRN_BRANDS_MAX) {
    cairn_init_why(why, why_cap, "at most %d brands", CAIRN_BRANDS_MAX);
    return CAIRN_ERR_USAGE;
  }
  CAIRN_TRY(cairn_config_defaults(scratch, "/", why, why_cap));
  if (o->listen != NULL) {
    CAIRN_TRY(cairn_config_set_listen(scratch, o->listen, why, why_cap));
  }
  if (o->block_interval_ms != 0) {
    CAIRN_TRY(cairn_config_set_block_interval_ms(scratch, o->block_interval_ms,
                                                 why, why_cap));
  }
  return CAIRN_OK;
}

static cairn_err cairn_init_build_genesis(const cairn_init_opts *o,
                                          const cairn_init_keys *k,
                                          cairn_genesis *g, char *why,
                                          size_t why_cap) {
  memset(g, 0, sizeof *g);
  if (o->demo) {
    /* coffee, pizza, books; the fourth demo key (alice) is a member. */
    for (size_t i = 0; i < 3; i++) {
      cairn_init_add_brand(g, cairn_init_demo_names[i], k->demo_pk[i], i != 2);
    }
  }
  for (size_t i = 0; i < o->n_brands; i++) {
    cairn_init_add_brand(g, o->brands[i].name, o->brands[i].issuer,
                         o->brands[i].transferable);
  }
  const char *chain_id = o->chain_id != NULL ? o->chain_id
                         : o->demo           ? CAIRN_INIT_DEMO_CHAIN_ID
                                             : CAIRN_INIT_DEFAULT_CHAIN_ID;
  return cairn_init_genesis_finish(g, chain_id, k->validator_pk, why, why_cap);
}

/* Write the files of a checked home, config.json last. */
static cairn_err cairn_init_write_all(const cairn_init_opts *o,
                                      const cairn_init_keys *k,
                                      const cairn_genesis *g,
                                      const cairn_config *scratch, char *why,
                                      size_t why_cap) {
  char path[CAIRN_CONFIG_PATH_BYTES_MAX];
  CAIRN_TRY(cairn_init_mkdir(o->home, why, why_cap));
  if (o->demo) CAIRN_TRY(cairn_init_write_demo_keys(o, k, why, why_cap));
  CAIRN_TRY(cairn_init_path(path, sizeof path, o->home,
                            CAIRN_CONFIG_DEFAULT_VALIDATOR_KEY, why, why_cap));
  cairn_err err = cairn_nodekey_write(path, k->validator_sk);
  if (err != CAIRN_OK) {
    cairn_init_why(why, why_cap, "cannot write %.300s: %s", path,
                   cairn_strerror(err));
    return err;
  }
  CAIRN_TRY(cairn_init_path(path, sizeof path, o->home,
                            CAIRN_CONFIG_DEFAULT_GENESIS, why, why_cap));
  CAIRN_TRY(cairn_init_write_genesis(g, path, why, why_cap));
  CAIRN_TRY(cairn_init_path(path, sizeof path, o->home,
                            CAIRN_CONFIG_FILE_NAME, why, why_cap));
  return cairn_init_write_config(path, scratch->listen,
                                 scratch->block_interval_ms, why, why_cap);
}

cairn_err cairn_init_home(const cairn_init_opts *o, char *why, size_t why_cap) {
  assert(o != NULL && o->home != NULL);
  assert(o->brands != NULL || o->n_brands == 0);
  assert(!o->demo || o->passphrase != NULL);
  cairn_config *scratch = malloc(sizeof *scratch);
  cairn_genesis *g = malloc(sizeof *g);
  cairn_init_keys *k = sodium_malloc(sizeof *k);
  cairn_err err = CAIRN_ERR_NOMEM;
  if (scratch == NULL || g == NULL || k == NULL) {
    cairn_init_why(why, why_cap, "out of memory");
  } else {
    err = cairn_init_check_opts(o, scratch, why, why_cap);
  }
  char path[CAIRN_CONFIG_PATH_BYTES_MAX];
  struct stat st;
  if (err == CAIRN_OK) {
    err = cairn_init_path(path, sizeof path, o->home, CAIRN_CONFIG_FILE_NAME,
                          why, why_cap);
  }
  if (err == CAIRN_OK && stat(path, &st) == 0) {
    cairn_init_why(why, why_cap, "%.300s already exists; refusing to "
                   "overwrite an initialised home (choose another --home)",
                   path);
    err = CAIRN_ERR_EXISTS;
  }
  if (err == CAIRN_OK) {
    err = cairn_init_keygen(k, o->demo);
    if (err != CAIRN_OK) {
      cairn_init_why(why, why_cap, "cannot generate keys: %s",
                     cairn_strerror(err));
    }
  }
  if (err == CAIRN_OK) err = cairn_init_build_genesis(o, k, g, why, why_cap);
  if (err == CAIRN_OK) {
    err = cairn_init_write_all(o, k, g, scratch, why, why_cap);
  }
  if (k != NULL) sodium_free(k); /* sodium_free wipes before freeing */
  free(g);
  free(scratch);
  return err;
}
