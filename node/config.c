/*
 * node/config.c - reading cairnd's JSON configuration file.
 *
 * The file is small and read once at start-up, so the design goal is
 * clarity of failure rather than speed: the text is bounded
 * (CAIRN_CONFIG_FILE_BYTES_MAX) and parsed with jansson rejecting duplicate
 * keys, then each key is dispatched through a table to a setter that checks
 * type and range. Anything the table does not know is an error naming the
 * key: a misspelt "block_intervall_ms" silently falling back to the default
 * is the kind of mistake an operator finds only in production.
 *
 * The same setters serve the command-line overrides (--listen,
 * --block-interval-ms), so a value is validated by one piece of code
 * whichever way it arrives. Relative paths are joined to the directory of
 * the file (made absolute with realpath), which makes a home directory
 * relocatable and the resolved paths unambiguous in log lines.
 */
#include "cairn/config.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cairn/encoding.h"
#include "cairn/file.h"
#include "cairn/limits.h"

static void cairn_config_why(char *why, size_t why_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cairn_config_why(char *why, size_t why_cap, const char *fmt, ...) {
  if (why == NULL || why_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  (void)vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

/* Join base and path unless path is absolute. */
static cairn_err cairn_config_resolve(char out[CAIRN_CONFIG_PATH_BYTES_MAX],
                                      const char *base, const char *path,
                                      const char *key, char *why,
                                      size_t why_cap) {
  assert(base != NULL && path != NULL && key != NULL);
  if (path[0] == '\0') {
    cairn_config_why(why, why_cap, "\"%s\" must not be empty", key);
    return CAIRN_ERR_CONFIG;
  }
  int n;
  if (path[0] == '/') {
    n = snprintf(out, CAIRN_CONFIG_PATH_BYTES_MAX, "%s", path);
  } else {
    size_t blen = strlen(base);
    const char *sep = (blen > 0 && base[blen - 1] == '/') ? "" : "/";
    n = snprintf(out, CAIRN_CONFIG_PATH_BYTES_MAX, "%s%s%s", base, sep, path);
  }
  if (n < 0 || (size_t)n >= CAIRN_CONFIG_PATH_BYTES_MAX) {
    cairn_config_why(why, why_cap,
                     "\"%s\" resolves to a path longer than %d bytes",
                     key, CAIRN_CONFIG_PATH_BYTES_MAX - 1);
    out[0] = '\0';
    return CAIRN_ERR_CONFIG;
  }
  return CAIRN_OK;
}

/* Parse a decimal port 1..65535 with no sign, spaces or leading zeros. */
static bool cairn_config_parse_port(const char *s, uint16_t *port) {
  size_t n = strlen(s);
  if (n == 0 || n > 5 || s[0] == '0') return false;
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10u + (uint32_t)(s[i] - '0');
  }
  if (v < 1 || v > 65535) return false;
  *port = (uint16_t)v;
  return true;
}

/* Host characters: names, IPv4 and (inside brackets) IPv6 literals. */
static bool cairn_config_host_ok(const char *h, size_t n, bool bracketed) {
  if (n == 0 || n >= CAIRN_CONFIG_HOST_BYTES_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = h[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
              (bracketed && (ch == ':' || ch == '%'));
    if (!ok) return false;
  }
  return true;
}

/* Split "host:port" ("[v6]:port" for IPv6) into host (no brackets) and
 * port; CONFIG naming key when the shape, host or port is wrong. */
static cairn_err cairn_config_hostport(const char *s, const char *key,
                                       char host_out[CAIRN_CONFIG_HOST_BYTES_MAX],
                                       uint16_t *port_out, char *why,
                                       size_t why_cap) {
  size_t len = strlen(s);
  const char *host = s, *colon;
  size_t host_len;
  bool bracketed = s[0] == '[';
  if (bracketed) {
    const char *close = strchr(s, ']');
    colon = close != NULL ? close + 1 : NULL;
    if (colon == NULL || *colon != ':') goto bad;
    host = s + 1;
    host_len = (size_t)(close - host);
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL) goto bad;
    host_len = (size_t)(colon - s);
  }
  uint16_t port = 0;
  if (len >= CAIRN_CONFIG_LISTEN_BYTES_MAX ||
      !cairn_config_host_ok(host, host_len, bracketed) ||
      !cairn_config_parse_port(colon + 1, &port)) {
    goto bad;
  }
  memcpy(host_out, host, host_len);
  host_out[host_len] = '\0';
  *port_out = port;
  return CAIRN_OK;
bad:
  cairn_config_why(why, why_cap,
                   "\"%s\" must be HOST:PORT with a port from 1 "
                   "to 65535 (e.g. 127.0.0.1:8645), got \"%.300s\"",
                   key, s);
  return CAIRN_ERR_CONFIG;
}

cairn_err cairn_config_set_listen(cairn_config *c, const char *listen,
                                  char *why, size_t why_cap) {
  assert(c != NULL && listen != NULL);
  char host[CAIRN_CONFIG_HOST_BYTES_MAX];
  uint16_t port = 0;
  CAIRN_TRY(cairn_config_hostport(listen, "listen", host, &port, why,
                                  why_cap));
  memcpy(c->listen, listen, strlen(listen) + 1);
  memcpy(c->listen_host, host, sizeof host);
  c->listen_port = port;
  return CAIRN_OK;
}

cairn_err cairn_config_set_p2p_listen(cairn_config *c, const char *listen,
                                      char *why, size_t why_cap) {
  assert(c != NULL && listen != NULL);
  if (listen[0] == '\0') {
    c->p2p_listen_host[0] = '\0';
    c->p2p_listen_port = 0;
    return CAIRN_OK;
  }
  char host[CAIRN_CONFIG_HOST_BYTES_MAX];
  uint16_t port = 0;
  CAIRN_TRY(cairn_config_hostport(listen, "p2p_listen", host, &port, why,
                                  why_cap));
  memcpy(c->p2p_listen_host, host, sizeof host);
  c->p2p_listen_port = port;
  return CAIRN_OK;
}

cairn_err cairn_config_set_block_interval_ms(cairn_config *c, uint64_t ms,
                                             char *why, size_t why_cap) {
  assert(c != NULL);
  if (ms < CAIRN_BLOCK_INTERVAL_MS_MIN || ms > CAIRN_BLOCK_INTERVAL_MS_MAX) {
    cairn_config_why(why, why_cap,
                     "\"block_interval_ms\" must be from %d to %d, "
                     "got %llu",
                     CAIRN_BLOCK_INTERVAL_MS_MIN, CAIRN_BLOCK_INTERVAL_MS_MAX,
                     (unsigned long long)ms);
    return CAIRN_ERR_CONFIG;
  }
  c->block_interval_ms = (uint32_t)ms;
  return CAIRN_OK;
}

cairn_err cairn_config_set_mempool_txs_max(cairn_config *c, uint64_t n,
                                           char *why, size_t why_cap) {
  assert(c != NULL);
  if (n < CAIRN_MEMPOOL_TXS_MIN || n > CAIRN_MEMPOOL_TXS_MAX) {
    cairn_config_why(why, why_cap,
                     "\"mempool_txs_max\" must be from %d to %d, "
                     "got %llu",
                     CAIRN_MEMPOOL_TXS_MIN, CAIRN_MEMPOOL_TXS_MAX,
                     (unsigned long long)n);
    return CAIRN_ERR_CONFIG;
  }
  c->mempool_txs_max = (uint32_t)n;
  return CAIRN_OK;
}

cairn_err cairn_config_defaults(cairn_config *c, const char *base_dir,
                                char *why, size_t why_cap) {
  assert(c != NULL && base_dir != NULL);
  memset(c, 0, sizeof *c);
  cairn_err err = cairn_config_resolve(c->data_dir, base_dir,
                                       CAIRN_CONFIG_DEFAULT_DATA_DIR,
                                       "data_dir", why, why_cap);
  if (err == CAIRN_OK) {
    err = cairn_config_resolve(c->genesis, base_dir,
                               CAIRN_CONFIG_DEFAULT_GENESIS, "genesis", why,
                               why_cap);
  }
  if (err == CAIRN_OK) {
    err = cairn_config_resolve(c->validator_key, base_dir,
                               CAIRN_CONFIG_DEFAULT_VALIDATOR_KEY,
                               "validator_key", why, why_cap);
  }
  if (err == CAIRN_OK) {
    err = cairn_config_set_listen(c, CAIRN_CONFIG_DEFAULT_LISTEN, why, why_cap);
  }
  if (err != CAIRN_OK) {
    memset(c, 0, sizeof *c);
    return err;
  }
  c->block_interval_ms = CAIRN_CONFIG_DEFAULT_BLOCK_INTERVAL_MS;
  c->mempool_txs_max = CAIRN_CONFIG_DEFAULT_MEMPOOL_TXS_MAX;
  c->sync = true;
  return CAIRN_OK;
}

/* ---- one setter per key ---- */

typedef cairn_err (*cairn_config_field_fn)(cairn_config *c, const char *key,
                                           const json_t *v, const char *base,
                                           char *why, size_t why_cap);

/* A JSON string without embedded NUL bytes, or NULL (why is written). */
static const char *cairn_config_string(const json_t *v, const char *key,
                                       char *why, size_t why_cap) {
  if (!json_is_string(v) || strlen(json_string_value(v)) !=
                                json_string_length(v)) {
    cairn_config_why(why, why_cap, "\"%s\" must be a string", key);
    return NULL;
  }
  return json_string_value(v);
}

/* A non-negative JSON integer, else CONFIG naming the key. */
static cairn_err cairn_config_uint(const json_t *v, const char *key,
                                   uint64_t *out, char *why, size_t why_cap) {
  if (!json_is_integer(v) || json_integer_value(v) < 0) {
    cairn_config_why(why, why_cap,
                     "\"%s\" must be a non-negative whole number",
                     key);
    return CAIRN_ERR_CONFIG;
  }
  *out = (uint64_t)json_integer_value(v);
  return CAIRN_OK;
}

static cairn_err cairn_config_path_field(cairn_config *c, const char *key,
                                         const json_t *v, const char *base,
                                         char *why, size_t why_cap) {
  const char *s = cairn_config_string(v, key, why, why_cap);
  if (s == NULL) return CAIRN_ERR_CONFIG;
  char *dst = strcmp(key, "data_dir") == 0  ? c->data_dir
              : strcmp(key, "genesis") == 0 ? c->genesis
                                            : c->validator_key;
  return cairn_config_resolve(dst, base, s, key, why, why_cap);
}

static cairn_err cairn_config_listen_field(cairn_config *c, const char *key,
                                           const json_t *v, const char *base,
                                           char *why, size_t why_cap) {
  (void)base;
  const char *s = cairn_config_string(v, key, why, why_cap);
  if (s == NULL) return CAIRN_ERR_CONFIG;
  return cairn_config_set_listen(c, s, why, why_cap);
}

static cairn_err cairn_config_interval_field(cairn_config *c, const char *key,
                                             const json_t *v, const char *base,
                                             char *why, size_t why_cap) {
  (void)base;
  uint64_t n = 0;
  CAIRN_TRY(cairn_config_uint(v, key, &n, why, why_cap));
  return cairn_config_set_block_interval_ms(c, n, why, why_cap);
}

static cairn_err cairn_config_mempool_field(cairn_config *c, const char *key,
                                            const json_t *v, const char *base,
                                            char *why, size_t why_cap) {
  (void)base;
  uint64_t n = 0;
  CAIRN_TRY(cairn_config_uint(v, key, &n, why, why_cap));
  return cairn_config_set_mempool_txs_max(c, n, why, why_cap);
}

static cairn_err cairn_config_sync_field(cairn_config *c, const char *key,
                                         const json_t *v, const char *base,
                                         char *why, size_t why_cap) {
  (void)base;
  if (!json_is_boolean(v)) {
    cairn_config_why(why, why_cap, "\"%s\" must be true or false",
                     key);
    return CAIRN_ERR_CONFIG;
  }
  c->sync = json_is_true(v);
  return CAIRN_OK;
}

static cairn_err cairn_config_p2p_listen_field(cairn_config *c,
                                               const char *key,
                                               const json_t *v,
                                               const char *base, char *why,
                                               size_t why_cap) {
  (void)base;
  const char *s = cairn_config_string(v, key, why, why_cap);
  if (s == NULL) return CAIRN_ERR_CONFIG;
  return cairn_config_set_p2p_listen(c, s, why, why_cap);
}

/* One {"address": "HOST:PORT", "key": "hex"} entry of "peers". */
static cairn_err cairn_config_one_peer(cairn_config_peer *p, const json_t *o,
                                   size_t i, char *why, size_t why_cap) {
  char where[32];
  snprintf(where, sizeof where, "peers[%zu]", i);
  if (!json_is_object(o) || json_object_size(o) != 2) {
    cairn_config_why(why, why_cap, "\"%s\" must be an object with exactly "
                     "\"address\" and \"key\"", where);
    return CAIRN_ERR_CONFIG;
  }
  const json_t *addr = json_object_get(o, "address");
  const json_t *key = json_object_get(o, "key");
  if (addr == NULL || key == NULL) {
    cairn_config_why(why, why_cap, "\"%s\" must have \"address\" and "
                     "\"key\"", where);
    return CAIRN_ERR_CONFIG;
  }
  const char *a = cairn_config_string(addr, where, why, why_cap);
  if (a == NULL) return CAIRN_ERR_CONFIG;
  CAIRN_TRY(cairn_config_hostport(a, where, p->host, &p->port, why, why_cap));
  const char *k = cairn_config_string(key, where, why, why_cap);
  if (k == NULL || cairn_hex_decode_exact(p->key, sizeof p->key, k) !=
                       CAIRN_OK) {
    cairn_config_why(why, why_cap, "\"%s.key\" must be the peer's node key "
                     "as 64 hex digits", where);
    return CAIRN_ERR_CONFIG;
  }
  return CAIRN_OK;
}

static cairn_err cairn_config_peers_field(cairn_config *c, const char *key,
                                          const json_t *v, const char *base,
                                          char *why, size_t why_cap) {
  (void)base;
  if (!json_is_array(v) || json_array_size(v) > CAIRN_CONFIG_PEERS_MAX) {
    cairn_config_why(why, why_cap, "\"%s\" must be an array of at most %d "
                     "peers", key, CAIRN_CONFIG_PEERS_MAX);
    return CAIRN_ERR_CONFIG;
  }
  size_t n = json_array_size(v);
  for (size_t i = 0; i < n; i++) {
    CAIRN_TRY(cairn_config_one_peer(&c->peers[i], json_array_get(v, i), i, why,
                                why_cap));
    for (size_t j = 0; j < i; j++) {
      if (memcmp(c->peers[j].key, c->peers[i].key, 32) == 0) {
        cairn_config_why(why, why_cap, "\"peers[%zu].key\" repeats "
                         "peers[%zu]: list each node once", i, j);
        return CAIRN_ERR_CONFIG;
      }
    }
  }
  c->n_peers = n;
  return CAIRN_OK;
}

static cairn_err cairn_config_timeouts_field(cairn_config *c, const char *key,
                                             const json_t *v, const char *base,
                                             char *why, size_t why_cap) {
  (void)base;
  static const char *const names[] = {"propose_ms",   "propose_delta_ms",
                                      "prevote_ms",   "prevote_delta_ms",
                                      "precommit_ms", "precommit_delta_ms"};
  uint32_t *dst[] = {&c->timeouts.propose_ms,   &c->timeouts.propose_delta_ms,
                     &c->timeouts.prevote_ms,   &c->timeouts.prevote_delta_ms,
                     &c->timeouts.precommit_ms, &c->timeouts.precommit_delta_ms};
  if (!json_is_object(v)) {
    cairn_config_why(why, why_cap, "\"%s\" must be an object", key);
    return CAIRN_ERR_CONFIG;
  }
  const char *k;
  json_t *x;
  json_object_foreach((json_t *)v, k, x) {
    size_t i = 0;
    while (i < 6 && strcmp(k, names[i]) != 0) i++;
    if (i == 6) {
      cairn_config_why(why, why_cap, "unknown key \"timeouts.%.100s\" "
                       "(known: propose_ms, propose_delta_ms, prevote_ms, "
                       "prevote_delta_ms, precommit_ms, precommit_delta_ms)",
                       k);
      return CAIRN_ERR_CONFIG;
    }
    uint64_t ms = 0;
    CAIRN_TRY(cairn_config_uint(x, k, &ms, why, why_cap));
    if (ms < 1 || ms > CAIRN_BLOCK_INTERVAL_MS_MAX) {
      cairn_config_why(why, why_cap, "\"timeouts.%s\" must be from 1 to %d, "
                       "got %llu", k, CAIRN_BLOCK_INTERVAL_MS_MAX,
                       (unsigned long long)ms);
      return CAIRN_ERR_CONFIG;
    }
    *dst[i] = (uint32_t)ms;
  }
  return CAIRN_OK;
}

static const struct {
  const char *key;
  cairn_config_field_fn set;
} cairn_config_fields[] = {
    {"data_dir", cairn_config_path_field},
    {"genesis", cairn_config_path_field},
    {"validator_key", cairn_config_path_field},
    {"listen", cairn_config_listen_field},
    {"block_interval_ms", cairn_config_interval_field},
    {"mempool_txs_max", cairn_config_mempool_field},
    {"sync", cairn_config_sync_field},
    {"p2p_listen", cairn_config_p2p_listen_field},
    {"peers", cairn_config_peers_field},
    {"timeouts", cairn_config_timeouts_field},
};

static cairn_err cairn_config_apply_field(cairn_config *c, const char *key,
                                          const json_t *v, const char *base,
                                          char *why, size_t why_cap) {
  size_t n = sizeof cairn_config_fields / sizeof cairn_config_fields[0];
  for (size_t i = 0; i < n; i++) {
    if (strcmp(key, cairn_config_fields[i].key) == 0) {
      return cairn_config_fields[i].set(c, key, v, base, why, why_cap);
    }
  }
  cairn_config_why(why, why_cap,
                   "unknown key \"%.100s\" (known: data_dir, genesis, "
                   "validator_key, listen, block_interval_ms, "
                   "mempool_txs_max, sync, p2p_listen, peers, timeouts)",
                   key);
  return CAIRN_ERR_CONFIG;
}

cairn_err cairn_config_parse(cairn_config *c, const char *text, size_t len,
                             const char *base_dir, char *why, size_t why_cap) {
  assert(c != NULL && text != NULL && base_dir != NULL);
  CAIRN_TRY(cairn_config_defaults(c, base_dir, why, why_cap));
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    cairn_config_why(why, why_cap, "line %d: %s", jerr.line,
                     jerr.text);
    memset(c, 0, sizeof *c);
    return CAIRN_ERR_JSON;
  }
  cairn_err err = CAIRN_OK;
  if (!json_is_object(root)) {
    cairn_config_why(why, why_cap, "the file must hold one JSON "
                                   "object ({\"key\": value, ...})");
    err = CAIRN_ERR_CONFIG;
  }
  const char *key;
  json_t *v;
  if (err == CAIRN_OK) {
    json_object_foreach(root, key, v) {
      err = cairn_config_apply_field(c, key, v, base_dir, why, why_cap);
      if (err != CAIRN_OK) break;
    }
  }
  json_decref(root);
  if (err != CAIRN_OK) memset(c, 0, sizeof *c);
  return err;
}

/* The absolute directory holding path. */
static cairn_err cairn_config_base_dir(char out[CAIRN_CONFIG_PATH_BYTES_MAX],
                                       const char *path, char *why,
                                       size_t why_cap) {
  char copy[CAIRN_CONFIG_PATH_BYTES_MAX];
  int n = snprintf(copy, sizeof copy, "%s", path);
  if (n < 0 || (size_t)n >= sizeof copy) {
    cairn_config_why(why, why_cap, "path %.200s... is too long", path);
    return CAIRN_ERR_CONFIG;
  }
  char resolved[PATH_MAX];
  if (realpath(dirname(copy), resolved) == NULL) {
    cairn_config_why(why, why_cap, "cannot resolve the directory of "
                                   "%.300s: %s", path, strerror(errno));
    return CAIRN_ERR_IO;
  }
  n = snprintf(out, CAIRN_CONFIG_PATH_BYTES_MAX, "%s", resolved);
  assert(n > 0 && (size_t)n < CAIRN_CONFIG_PATH_BYTES_MAX);
  return CAIRN_OK;
}

cairn_err cairn_config_load(cairn_config *c, const char *path, char *why,
                            size_t why_cap) {
  assert(c != NULL && path != NULL);
  memset(c, 0, sizeof *c);
  char *text = NULL;
  size_t len = 0;
  cairn_err err = cairn_file_read_all(path, CAIRN_CONFIG_FILE_BYTES_MAX, &text,
                                      &len);
  if (err != CAIRN_OK) {
    if (err == CAIRN_ERR_NOT_FOUND) {
      cairn_config_why(why, why_cap, "config file %.300s does not exist", path);
    } else {
      cairn_config_why(why, why_cap, "cannot read config file %.300s: %s",
                       path, cairn_strerror(err));
    }
    return err;
  }
  char base[CAIRN_CONFIG_PATH_BYTES_MAX];
  err = cairn_config_base_dir(base, path, why, why_cap);
  if (err == CAIRN_OK) err = cairn_config_parse(c, text, len, base, why, why_cap);
  free(text);
  return err;
}
