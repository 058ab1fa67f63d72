/*
 * node/daemon.c - assembling and running a node.
 *
 * Start-up is a straight sequence, each step a precondition of the next:
 * configuration -> genesis -> validator key -> store -> chain (which
 * resumes from the stored tip, or writes genesis into an empty store) ->
 * mempool -> signer (privval.h) -> event loop, network and consensus
 * (net.h), HTTP API and signal handlers. Any failure stops start-up
 * with one ERROR line that says what failed and what to do about it, and
 * everything already opened is closed again in reverse order by the same
 * teardown that a clean shutdown uses.
 *
 * The node is single-threaded: libevent's loop runs the API, the peer
 * links, the consensus timers and the signal events, so no state needs a
 * lock. SIGINT and SIGTERM
 * are delivered as loop events (evsignal), log a line and break the loop;
 * the teardown then frees everything and closes the store, whose last
 * committed block is already durable, so shutdown needs no flush.
 *
 * The validator's secret key is read into a locked buffer that is wiped as
 * soon as the signer and the peer layer have their own copies.
 */
#include "daemon.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "cairn/address.h"
#include "cairn/chain.h"
#include "cairn/config.h"
#include "cairn/encoding.h"
#include "cairn/evpool.h"
#include "cairn/genesis.h"
#include "cairn/init.h"
#include "cairn/keyfile.h"
#include "cairn/mempool.h"
#include "cairn/net.h"
#include "cairn/privval.h"
#include "cairn/rpc.h"
#include "cairn/state.h"
#include "cairn/store.h"

typedef struct cairn_daemon {
  const cairn_daemon_opts *opts;
  const cairn_log *log;
  cairn_config cfg;
  cairn_genesis genesis;
  uint8_t validator_sk[CAIRN_ED25519_SECKEY_BYTES];
  uint8_t validator_pk[CAIRN_ED25519_PUBKEY_BYTES];
  cairn_store *store;
  cairn_chain *chain;
  cairn_mempool *mempool;
  struct event_base *base;
  cairn_privval *privval;
  cairn_evpool *evpool;
  cairn_net *net;
  cairn_rpc *rpc;
  struct event *sigint;
  struct event *sigterm;
  int lock_fd; /* flock'd DATA_DIR/cairnd.lock, or -1 */
  int exit_code;
} cairn_daemon;

/* ---- start-up steps ---- */

static bool cairn_daemon_load_config(cairn_daemon *d) {
  char why[512] = "";
  const cairn_daemon_opts *o = d->opts;
  cairn_err err = cairn_config_load(&d->cfg, o->config_path, why, sizeof why);
  if (err == CAIRN_OK && o->listen != NULL) {
    err = cairn_config_set_listen(&d->cfg, o->listen, why, sizeof why);
  }
  if (err == CAIRN_OK && o->block_interval_ms != 0) {
    err = cairn_config_set_block_interval_ms(&d->cfg, o->block_interval_ms,
                                             why, sizeof why);
  }
  if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_log_error(d->log, "%s; create a home with `cairnd init --home DIR` "
                    "or pass --config FILE", why);
  } else if (err != CAIRN_OK) {
    cairn_log_error(d->log, "bad configuration %s: %s; fix the file or the "
                    "command-line option", o->config_path, why);
  }
  return err == CAIRN_OK;
}

static bool cairn_daemon_load_genesis(cairn_daemon *d) {
  char why[512] = "";
  cairn_err err = cairn_genesis_load(&d->genesis, d->cfg.genesis, why,
                                     sizeof why);
  if (err != CAIRN_OK) {
    cairn_log_error(d->log, "cannot load genesis %s: %s%s%s; check the "
                    "\"genesis\" path in the configuration", d->cfg.genesis,
                    cairn_strerror(err), why[0] != '\0' ? ": " : "", why);
  }
  return err == CAIRN_OK;
}

static bool cairn_daemon_load_key(cairn_daemon *d) {
  const char *path = d->cfg.validator_key;
  /* Locked until the signer and the peer layer have their own copies. */
  (void)sodium_mlock(d->validator_sk, sizeof d->validator_sk);
  cairn_err err = cairn_nodekey_read(path, d->validator_sk, d->validator_pk);
  if (err == CAIRN_ERR_PERM) {
    cairn_log_error(d->log, "validator key %s is readable by other users; "
                    "run chmod 600 %s and start again", path, path);
  } else if (err == CAIRN_ERR_NOT_FOUND) {
    cairn_log_error(d->log, "validator key %s does not exist; check the "
                    "\"validator_key\" path in the configuration", path);
  } else if (err != CAIRN_OK) {
    cairn_log_error(d->log, "cannot read validator key %s: %s; restore the "
                    "file from its backup", path, cairn_strerror(err));
  }
  return err == CAIRN_OK;
}

/* LMDB lets several processes open one store; two nodes writing the same
 * chain would fork it, so the node holds an exclusive lock on a file in
 * the data directory for as long as it runs (released by the kernel even
 * on SIGKILL). */
static bool cairn_daemon_lock(cairn_daemon *d) {
  char path[CAIRN_CONFIG_PATH_BYTES_MAX + 16];
  int n = snprintf(path, sizeof path, "%s/cairnd.lock", d->cfg.data_dir);
  assert(n > 0 && (size_t)n < sizeof path);
  (void)n;
  d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (d->lock_fd < 0) {
    cairn_log_error(d->log, "cannot create %s: %s; check the permissions of "
                    "the data directory", path, strerror(errno));
    return false;
  }
  if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    cairn_log_error(d->log, "another cairnd is already running on %s; stop "
                    "it first (or use another data_dir)", d->cfg.data_dir);
    return false;
  }
  return true;
}

/* The signer keeps its last signature in the data directory, next to the
 * chain it belongs to (privval.h). A validator key that is not in the set
 * in force is fine: the node follows the chain, and votes once the key is
 * admitted (staking.h). */
static bool cairn_daemon_open_signer(cairn_daemon *d) {
  char path[CAIRN_CONFIG_PATH_BYTES_MAX + 32];
  int n = snprintf(path, sizeof path, "%s/%s", d->cfg.data_dir,
                   CAIRN_PRIVVAL_FILE_NAME);
  assert(n > 0 && (size_t)n < sizeof path);
  (void)n;
  cairn_err err = cairn_privval_open(&d->privval, d->validator_sk, path);
  if (err == CAIRN_ERR_CORRUPT) {
    cairn_log_error(d->log, "the signer state %s is damaged; restore it from "
                    "a backup (deleting it could make this validator sign "
                    "twice and be slashed)", path);
  } else if (err != CAIRN_OK) {
    cairn_log_error(d->log, "cannot open the signer state %s: %s", path,
                    cairn_strerror(err));
  }
  if (err != CAIRN_OK) return false;
  if (cairn_valset_find(cairn_chain_valset(d->chain), d->validator_pk) < 0) {
    char hex[2 * CAIRN_ED25519_PUBKEY_BYTES + 1];
    cairn_hex_encode(hex, sizeof hex, d->validator_pk, sizeof d->validator_pk);
    cairn_log_warn(d->log, "validator key %s (public key %s) is not in the "
                   "validator set in force; following the chain without "
                   "voting", d->cfg.validator_key, hex);
  }
  return true;
}

static bool cairn_daemon_open_chain(cairn_daemon *d) {
  cairn_store_opts so = {.read_only = false, .no_sync = !d->cfg.sync};
  cairn_err err = cairn_store_open(&d->store, d->cfg.data_dir, &so);
  if (err != CAIRN_OK) {
    cairn_log_error(d->log, "cannot open the store in %s: %s; check that the "
                    "directory is writable", d->cfg.data_dir,
                    cairn_strerror(err));
    return false;
  }
  if (!cairn_daemon_lock(d)) return false;
  err = cairn_chain_open(&d->chain, d->store, &d->genesis);
  if (err == CAIRN_ERR_GENESIS_MISMATCH) {
    cairn_log_error(d->log, "the data directory %s belongs to a different "
                    "genesis than %s; point \"data_dir\" elsewhere or use the "
                    "genesis it was created with", d->cfg.data_dir,
                    d->cfg.genesis);
  } else if (err != CAIRN_OK) {
    cairn_log_error(d->log, "cannot open the chain in %s: %s",
                    d->cfg.data_dir, cairn_strerror(err));
  }
  if (err != CAIRN_OK) return false;
  err = cairn_mempool_open(&d->mempool, d->chain, d->cfg.mempool_txs_max,
                           d->log);
  if (err != CAIRN_OK) {
    cairn_log_error(d->log, "cannot create the mempool: %s",
                    cairn_strerror(err));
    return false;
  }
  return cairn_daemon_open_signer(d);
}

/* ---- the event loop ---- */

static void cairn_daemon_on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)what;
  cairn_daemon *d = arg;
  cairn_log_info(d->log, "shutting down signal=%s",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
  event_base_loopbreak(d->base);
}

static void cairn_daemon_on_fatal(void *ctx, cairn_err err) {
  cairn_daemon *d = ctx;
  cairn_log_error(d->log, "shutting down: blocks can no longer be stored "
                  "(%s); check the disk and the data directory %s, then "
                  "restart", cairn_errname(err), d->cfg.data_dir);
  d->exit_code = 1;
  event_base_loopbreak(d->base);
}

static void cairn_daemon_on_tx(void *ctx) {
  cairn_daemon *d = ctx;
  cairn_net_on_local_tx(d->net);
}

static void cairn_daemon_on_evidence(void *ctx, const cairn_evidence *e) {
  cairn_daemon *d = ctx;
  cairn_evpool_outcome outcome = CAIRN_EVPOOL_KNOWN;
  if (cairn_evpool_add(d->evpool, e, &outcome) != CAIRN_OK ||
      outcome != CAIRN_EVPOOL_ADDED)
    return; /* full, or already known: logged once is enough */
  char who[CAIRN_LOG_SHORT_HASH_BUF];
  cairn_log_short_hash(who, sizeof who, e->a.validator);
  cairn_log_warn(d->log, "equivocation: validator %s signed two %s votes at "
                 "height %llu round %u; the evidence is at GET /v1/evidence "
                 "(submit it with `cairn evidence submit --from-node`)", who,
                 e->a.type == CAIRN_VOTE_PREVOTE ? "prevote" : "precommit",
                 (unsigned long long)e->a.height, (unsigned)e->a.round);
}

#ifdef CAIRN_DEBUG
/* Debug builds (make DEBUG=1): after every block, check that no brand's
 * points were created or destroyed outside the counted doors (state.h). A
 * violation is a bug in the state machine, so the node stops at once rather
 * than build on a broken state. */
static void cairn_daemon_check_conservation(cairn_daemon *d, uint64_t height) {
  char why[256];
  cairn_rtxn *r = NULL;
  cairn_err err = cairn_store_read_begin(d->store, &r);
  if (err == CAIRN_OK) {
    err = cairn_state_check_conservation_store(r, why, sizeof why);
    cairn_store_read_end(r);
  } else {
    snprintf(why, sizeof why, "cannot read the store");
  }
  if (err != CAIRN_OK) {
    fprintf(stderr, "cairnd: conservation check failed after block %llu: "
            "%s: %s\n", (unsigned long long)height, cairn_errname(err), why);
    abort();
  }
}
#endif

/* After every committed block: evidence that can no longer be included
 * (its offender is jailed, or it is too old) leaves the pool. */
static void cairn_daemon_on_block(void *ctx, uint64_t height) {
  cairn_daemon *d = ctx;
  size_t removed = 0;
  cairn_err err = cairn_evpool_prune_chain(d->evpool, d->chain, &removed);
  if (err != CAIRN_OK)
    cairn_log_warn(d->log, "cannot prune the evidence pool after block %llu: "
                   "%s", (unsigned long long)height, cairn_strerror(err));
#ifdef CAIRN_DEBUG
  cairn_daemon_check_conservation(d, height);
#endif
}

static bool cairn_daemon_start_loop(cairn_daemon *d) {
  d->base = event_base_new();
  if (d->base == NULL) {
    cairn_log_error(d->log, "cannot create the event loop (out of memory?)");
    return false;
  }
  char why[512] = "";
  cairn_err err = cairn_evpool_open(&d->evpool, CAIRN_EVPOOL_ENTRIES_MAX);
  if (err != CAIRN_OK) {
    cairn_log_error(d->log, "out of memory creating the evidence pool");
    return false;
  }
  cairn_net_opts no = {
      .base = d->base, .cfg = &d->cfg, .chain = d->chain,
      .mempool = d->mempool, .privval = d->privval,
      .node_sk = d->validator_sk, .log = d->log,
      .on_fatal = cairn_daemon_on_fatal, .on_evidence = cairn_daemon_on_evidence,
      .on_block = cairn_daemon_on_block, .ctx = d};
  err = cairn_net_open(&d->net, &no, why, sizeof why);
  sodium_memzero(d->validator_sk, sizeof d->validator_sk);
  if (err != CAIRN_OK) {
    cairn_log_error(d->log, "cannot start consensus: %s",
                    why[0] != '\0' ? why : cairn_strerror(err));
    return false;
  }
  cairn_rpc_opts ro = {
      .base = d->base, .host = d->cfg.listen_host, .port = d->cfg.listen_port,
      .chain = d->chain, .mempool = d->mempool, .log = d->log,
      .validator_pk = d->validator_pk, .on_tx = cairn_daemon_on_tx,
      .on_tx_ctx = d, .evpool = d->evpool, .net = d->net};
  why[0] = '\0';
  err = cairn_rpc_open(&d->rpc, &ro, why, sizeof why);
  if (err != CAIRN_OK) {
    cairn_log_error(d->log, "%s", why[0] != '\0' ? why : cairn_strerror(err));
    return false;
  }
  d->sigint = evsignal_new(d->base, SIGINT, cairn_daemon_on_signal, d);
  d->sigterm = evsignal_new(d->base, SIGTERM, cairn_daemon_on_signal, d);
  if (d->sigint == NULL || d->sigterm == NULL || evsignal_add(d->sigint, NULL) ||
      evsignal_add(d->sigterm, NULL)) {
    cairn_log_error(d->log, "cannot install the signal handlers");
    return false;
  }
  return true;
}

static void cairn_daemon_teardown(cairn_daemon *d) {
  if (d->sigint != NULL) event_free(d->sigint);
  if (d->sigterm != NULL) event_free(d->sigterm);
  cairn_rpc_close(d->rpc);
  cairn_net_close(d->net);
  cairn_evpool_close(d->evpool);
  cairn_privval_close(d->privval);
  if (d->base != NULL) event_base_free(d->base);
  cairn_mempool_close(d->mempool);
  if (d->chain != NULL) cairn_chain_close(d->chain);
  if (d->store != NULL) cairn_store_close(d->store);
  sodium_memzero(d->validator_sk, sizeof d->validator_sk);
  (void)sodium_munlock(d->validator_sk, sizeof d->validator_sk);
  if (d->lock_fd >= 0) close(d->lock_fd); /* releases the lock */
}

/* ---- the demo banner ---- */

static void cairn_daemon_banner_key(const char *home, const char *name,
                                    const char *role, char *addr_out) {
  char path[CAIRN_CONFIG_PATH_BYTES_MAX];
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  addr_out[0] = '\0';
  int n = snprintf(path, sizeof path, "%s/keys/%s.key", home, name);
  if (n < 0 || (size_t)n >= sizeof path ||
      cairn_keyfile_pubkey(path, pk) != CAIRN_OK) {
    return;
  }
  cairn_address_encode(addr_out, CAIRN_ADDRESS_BUF, pk);
  printf("  %-6s key    %s\n               %s  (%s)\n", name, path, addr_out,
         role);
}

static void cairn_daemon_banner_wallet(const cairn_daemon *d, const char *home,
                                       const char *node) {
  const char *w = d->opts->wallet_path;
  printf("\nTry the wallet (another terminal, same directory):\n\n");
  if (d->opts->passphrase_from_env) {
    printf("  # key files use the passphrase in CAIRN_PASSPHRASE\n");
  } else {
    printf("  export CAIRN_PASSPHRASE=demo   # or type it when asked\n");
  }
  printf("  %s%s keygen --out me.key\n", w, node);
  printf("  %s%s address --key me.key          # prints ADDRESS\n", w, node);
  printf("  %s%s issue --key %s/keys/coffee.key --brand coffee --to ADDRESS "
         "--amount 100\n", w, node, home);
  printf("  %s%s balance --key me.key\n", w, node);
  printf("  %s%s redeem --key me.key --brand coffee --amount 30 --order "
         "A-1001\n", w, node);
  printf("\nStop the node with Ctrl-C.\n\n");
}

static void cairn_daemon_banner(const cairn_daemon *d) {
  const char *home = d->opts->banner_home;
  char vk[2 * CAIRN_ED25519_PUBKEY_BYTES + 1], addr[CAIRN_ADDRESS_BUF];
  char url[CAIRN_CONFIG_LISTEN_BYTES_MAX + 16], node[sizeof url + 16] = "";
  cairn_hex_encode(vk, sizeof vk, d->validator_pk, sizeof d->validator_pk);
  snprintf(url, sizeof url, "http://%s", d->cfg.listen);
  if (strcmp(d->cfg.listen, CAIRN_CONFIG_DEFAULT_LISTEN) != 0) {
    snprintf(node, sizeof node, " --node %s", url);
  }
  printf("\nCairn demo chain \"%s\" is running.\n\n", d->genesis.chain_id);
  printf("  API           %s/v1/status\n", url);
  printf("  data dir      %s\n", d->cfg.data_dir);
  printf("  genesis       %s\n", d->cfg.genesis);
  printf("  validator key %s\n               %s  (Ed25519)\n",
         d->cfg.validator_key, vk);
  cairn_daemon_banner_key(home, "coffee", "issuer of coffee, brand 1", addr);
  cairn_daemon_banner_key(home, "pizza", "issuer of pizza, brand 2", addr);
  cairn_daemon_banner_key(home, "books",
                          "issuer of books, brand 3, not transferable", addr);
  cairn_daemon_banner_key(home, "alice", "a member", addr);
  if (d->opts->passphrase_from_env) {
    printf("  passphrase    the value of CAIRN_PASSPHRASE\n");
  } else {
    printf("  passphrase    demo\n");
  }
  cairn_daemon_banner_wallet(d, home, node);
  fflush(stdout);
}

/* ---- run ---- */

static void cairn_daemon_log_start(const cairn_daemon *d) {
  cairn_tip tip;
  char hash[CAIRN_LOG_SHORT_HASH_BUF], vk[CAIRN_LOG_SHORT_HASH_BUF];
  cairn_chain_tip(d->chain, &tip);
  cairn_log_short_hash(hash, sizeof hash, tip.hash);
  cairn_log_short_hash(vk, sizeof vk, d->validator_pk);
  cairn_log_info(d->log, "started chain=%s height=%llu tip=%s validator=%s "
                 "listen=%s block_interval_ms=%lu data=%s",
                 d->genesis.chain_id, (unsigned long long)tip.height, hash, vk,
                 d->cfg.listen, (unsigned long)d->cfg.block_interval_ms,
                 d->cfg.data_dir);
}

int cairn_daemon_run(const cairn_daemon_opts *o) {
  assert(o != NULL && o->config_path != NULL);
  cairn_daemon *d = calloc(1, sizeof *d);
  if (d == NULL) {
    cairn_log_error(o->log, "out of memory at start-up");
    return 1;
  }
  d->opts = o;
  d->log = o->log;
  d->lock_fd = -1;
  bool ok = cairn_daemon_load_config(d) && cairn_daemon_load_genesis(d) &&
            cairn_daemon_load_key(d) && cairn_daemon_open_chain(d) &&
            cairn_daemon_start_loop(d);
  int code = 1;
  if (ok) {
    cairn_daemon_log_start(d);
    if (o->banner_home != NULL) cairn_daemon_banner(d);
    if (event_base_dispatch(d->base) < 0) {
      cairn_log_error(d->log, "the event loop failed");
      d->exit_code = 1;
    }
    code = d->exit_code;
  }
  cairn_tip tip = {0};
  if (d->chain != NULL) cairn_chain_tip(d->chain, &tip);
  cairn_daemon_teardown(d);
  if (ok) {
    cairn_log_info(d->log, "stopped height=%llu exit=%d",
                   (unsigned long long)tip.height, code);
  }
  free(d);
  return code;
}
