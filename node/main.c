/*
 * node/main.c - the cairnd command line: init, run, demo, testnet.
 *
 * main() does only what must happen once per process - libsodium
 * initialisation, ignoring SIGPIPE (a client that hangs up mid-response
 * must not kill the node), jansson's wiping allocator (secure.h), the
 * logger on stderr - and dispatches to a command. Option parsing is by
 * hand and strict: "--flag value" or "--flag=value", an unknown flag or a
 * missing value is a usage error with exit code 2, so a typo never starts
 * a node with a default the operator did not ask for. Exit codes: 0 success, 1 failure (one line says what and
 * what to do), 2 usage.
 */
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cairn/config.h"
#include "cairn/init.h"
#include "cairn/json.h"
#include "cairn/keyfile.h"
#include "cairn/log.h"
#include "cairn/rpc.h"
#include "cairn/secure.h"
#include "daemon.h"

#define CAIRN_MAIN_EXIT_OK 0
#define CAIRN_MAIN_EXIT_FAIL 1
#define CAIRN_MAIN_EXIT_USAGE 2
#define CAIRN_MAIN_DEMO_HOME "cairn-demo"
#define CAIRN_MAIN_DEMO_PASSPHRASE "demo"

static const char cairn_main_usage[] =
    "usage: cairnd <command> [options]\n"
    "\n"
    "Cairn validator node.\n"
    "\n"
    "commands:\n"
    "  init   create a node home: keys, genesis and config\n"
    "  run    run a node from its home directory or config file\n"
    "  demo   create (on first use) and run a local demo chain\n"
    "  testnet  create homes for a local network of validators\n"
    "\n"
    "Run `cairnd <command> --help` for a command's options.\n"
    "  --help      show this help\n"
    "  --version   show the version\n";

static const char cairn_main_init_usage[] =
    "usage: cairnd init --home DIR [--demo] [--chain-id ID]\n"
    "                   [--brand NAME=ADDRESS[:nontransferable]]...\n"
    "                   [--listen HOST:PORT] [--block-interval-ms N]\n"
    "\n"
    "Create DIR (mode 0700) with config.json, genesis.json (one validator)\n"
    "and validator.key (Ed25519, mode 0600). Refuses if DIR/config.json\n"
    "exists.\n"
    "  --demo            chain \"cairn-demo\" with brands coffee, pizza and\n"
    "                    books (not transferable); their issuer keys and a\n"
    "                    member key (alice) go to DIR/keys/, encrypted with\n"
    "                    $CAIRN_PASSPHRASE or \"demo\"\n"
    "  --brand N=ADDR    a brand (ids 1, 2, ... in order) whose issuer is\n"
    "                    ADDR; add :nontransferable to forbid member\n"
    "                    transfers. Required without --demo.\n"
    "  --chain-id ID     chain id (default cairn-local, cairn-demo with --demo)\n"
    "  --listen H:P      API address (default 127.0.0.1:8645)\n"
    "  --block-interval-ms N   minimum spacing of blocks (default 1000)\n";

static const char cairn_main_testnet_usage[] =
    "usage: cairnd testnet --dir DIR [--validators N] [--base-port P]\n"
    "                      [--block-interval-ms N]\n"
    "\n"
    "Create a local network: DIR/genesis.json shared by all, DIR/nodeI/ for\n"
    "each validator (config.json, validator.key), and DIR/keys/ with the\n"
    "brand (coffee, pizza, books), member (alice), operator (partner, ...)\n"
    "and would-be partner (newbrand) keys, encrypted with $CAIRN_PASSPHRASE\n"
    "or \"demo\". Node I serves the API on 127.0.0.1:(P + I) and talks to\n"
    "its peers on 127.0.0.1:(P + 10 + I). Start each with\n"
    "`cairnd run --home DIR/nodeI` (or `make testnet`).\n"
    "  --validators N   1 to 8 (default 4)\n"
    "  --base-port P    default 26650\n";

static const char cairn_main_run_usage[] =
    "usage: cairnd run (--home DIR | --config FILE) [--listen HOST:PORT]\n"
    "                  [--block-interval-ms N]\n"
    "\n"
    "Run the node configured in DIR/config.json (or FILE) until SIGINT or\n"
    "SIGTERM. --listen and --block-interval-ms override the configuration.\n";

static const char cairn_main_demo_usage[] =
    "usage: cairnd demo [--home DIR] [--listen HOST:PORT]\n"
    "                   [--block-interval-ms N]\n"
    "\n"
    "Create a demo chain in DIR (default ./cairn-demo) unless DIR/config.json\n"
    "exists, then run it, printing the paths, addresses and wallet commands\n"
    "to try. Stop with Ctrl-C.\n";

/* ---- option parsing ---- */

typedef struct cairn_main_opts {
  const char *home;
  const char *config;
  const char *listen;
  const char *chain_id;
  uint64_t block_interval_ms;
  bool demo;
  cairn_init_brand *brands; /* CAIRN_BRANDS_MAX slots */
  size_t n_brands;
  const char *dir;     /* testnet */
  uint64_t validators; /* testnet */
  uint64_t base_port;  /* testnet */
} cairn_main_opts;

typedef enum cairn_main_cmd {
  CAIRN_MAIN_INIT,
  CAIRN_MAIN_RUN,
  CAIRN_MAIN_DEMO,
  CAIRN_MAIN_TESTNET
} cairn_main_cmd;

static int cairn_main_usage_error(const char *cmd, const char *fmt,
                                  const char *arg) {
  fprintf(stderr, "cairnd %s: ", cmd);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nRun `cairnd %s --help` for usage.\n", cmd);
  return CAIRN_MAIN_EXIT_USAGE;
}

/* The value of the flag at argv[*i]: after '=' or the next argument. */
static const char *cairn_main_value(int argc, char **argv, int *i,
                                    const char *eq) {
  if (eq != NULL) return eq + 1;
  if (*i + 1 >= argc) return NULL;
  *i += 1;
  return argv[*i];
}

/* Apply one flag with its value; returns an exit code or -1 to go on. */
static int cairn_main_flag(cairn_main_cmd cmd, const char *cmd_name,
                           const char *flag, const char *v,
                           cairn_main_opts *o) {
  char why[256];
  if (strcmp(flag, "--home") == 0) {
    o->home = v;
  } else if (strcmp(flag, "--listen") == 0) {
    o->listen = v;
  } else if (strcmp(flag, "--block-interval-ms") == 0) {
    if (cairn_parse_u64(v, &o->block_interval_ms) != CAIRN_OK ||
        o->block_interval_ms == 0) {
      return cairn_main_usage_error(
          cmd_name, "--block-interval-ms needs a positive whole number, got "
          "\"%s\"", v);
    }
  } else if (strcmp(flag, "--dir") == 0 && cmd == CAIRN_MAIN_TESTNET) {
    o->dir = v;
  } else if ((strcmp(flag, "--validators") == 0 ||
              strcmp(flag, "--base-port") == 0) &&
             cmd == CAIRN_MAIN_TESTNET) {
    uint64_t *dst = flag[2] == 'v' ? &o->validators : &o->base_port;
    if (cairn_parse_u64(v, dst) != CAIRN_OK || *dst == 0 || *dst > 65535) {
      return cairn_main_usage_error(
          cmd_name, flag[2] == 'v'
                        ? "--validators needs a whole number from 1 to 8, "
                          "got \"%s\""
                        : "--base-port needs a port number, got \"%s\"", v);
    }
  } else if (strcmp(flag, "--config") == 0 && cmd == CAIRN_MAIN_RUN) {
    o->config = v;
  } else if (strcmp(flag, "--chain-id") == 0 && cmd == CAIRN_MAIN_INIT) {
    o->chain_id = v;
  } else if (strcmp(flag, "--brand") == 0 && cmd == CAIRN_MAIN_INIT) {
    if (o->n_brands >= CAIRN_BRANDS_MAX) {
      return cairn_main_usage_error(cmd_name, "too many --brand options%s", "");
    }
    if (cairn_init_parse_brand(&o->brands[o->n_brands], v, why, sizeof why) !=
        CAIRN_OK) {
      return cairn_main_usage_error(cmd_name, "%s", why);
    }
    o->n_brands++;
  } else {
    return cairn_main_usage_error(cmd_name, "unknown option %s", flag);
  }
  return -1;
}

/* Flags that take a value, and the commands that accept them. */
static bool cairn_main_known(cairn_main_cmd cmd, const char *flag) {
  if (strcmp(flag, "--home") == 0 || strcmp(flag, "--listen") == 0 ||
      strcmp(flag, "--block-interval-ms") == 0) {
    return true;
  }
  if (cmd == CAIRN_MAIN_RUN) return strcmp(flag, "--config") == 0;
  if (cmd == CAIRN_MAIN_TESTNET) {
    return strcmp(flag, "--dir") == 0 || strcmp(flag, "--validators") == 0 ||
           strcmp(flag, "--base-port") == 0;
  }
  if (cmd == CAIRN_MAIN_INIT) {
    return strcmp(flag, "--chain-id") == 0 || strcmp(flag, "--brand") == 0;
  }
  return false;
}

/* Parse argv[2..] for cmd; returns an exit code or -1 to go on. */
static int cairn_main_parse(cairn_main_cmd cmd, int argc, char **argv,
                            const char *usage, cairn_main_opts *o) {
  const char *cmd_name = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(usage, stdout);
      return CAIRN_MAIN_EXIT_OK;
    }
    if (strcmp(arg, "--demo") == 0 && cmd == CAIRN_MAIN_INIT) {
      o->demo = true;
      continue;
    }
    if (strncmp(arg, "--", 2) != 0) {
      return cairn_main_usage_error(cmd_name, "unexpected argument \"%s\"", arg);
    }
    char flag[64];
    const char *eq = strchr(arg, '=');
    size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
    if (n >= sizeof flag) {
      return cairn_main_usage_error(cmd_name, "unknown option %s", arg);
    }
    memcpy(flag, arg, n);
    flag[n] = '\0';
    if (!cairn_main_known(cmd, flag)) {
      return cairn_main_usage_error(cmd_name, "unknown option %s", flag);
    }
    const char *v = cairn_main_value(argc, argv, &i, eq);
    if (v == NULL) {
      return cairn_main_usage_error(cmd_name, "%s needs a value", flag);
    }
    int rc = cairn_main_flag(cmd, cmd_name, flag, v, o);
    if (rc >= 0) return rc;
  }
  return -1;
}

/* ---- commands ---- */

/* The passphrase for demo key files and whether it came from the
 * environment. */
static const char *cairn_main_passphrase(bool *from_env) {
  const char *env = getenv("CAIRN_PASSPHRASE");
  *from_env = env != NULL && env[0] != '\0';
  return *from_env ? env : CAIRN_MAIN_DEMO_PASSPHRASE;
}

/* The passphrase and Argon2 cost for the key files a command creates
 * (CAIRN_KDF_FAST=1: the minimum cost, for tests). NULL, with a message,
 * when the passphrase is too long. */
static const char *cairn_main_key_params(const char *cmd,
                                         cairn_kdf_params *kdf) {
  bool from_env = false;
  const char *pass = cairn_main_passphrase(&from_env);
  if (strlen(pass) > CAIRN_PASSPHRASE_BYTES_MAX) {
    fprintf(stderr, "cairnd %s: CAIRN_PASSPHRASE is longer than %d bytes\n",
            cmd, CAIRN_PASSPHRASE_BYTES_MAX);
    return NULL;
  }
  cairn_kdf_params_default(kdf);
  const char *fast = getenv("CAIRN_KDF_FAST");
  if (fast != NULL && strcmp(fast, "1") == 0) {
    kdf->opslimit = crypto_pwhash_OPSLIMIT_MIN;
    kdf->memlimit = crypto_pwhash_MEMLIMIT_MIN;
  }
  return pass;
}

static int cairn_main_do_init(const cairn_main_opts *m) {
  cairn_kdf_params kdf;
  const char *pass = cairn_main_key_params("init", &kdf);
  if (pass == NULL) return CAIRN_MAIN_EXIT_FAIL;
  cairn_init_opts o = {
      .home = m->home, .demo = m->demo, .chain_id = m->chain_id,
      .brands = m->brands, .n_brands = m->n_brands, .listen = m->listen,
      .block_interval_ms = (uint32_t)(m->block_interval_ms > UINT32_MAX
                                          ? UINT32_MAX
                                          : m->block_interval_ms),
      .passphrase = pass, .passphrase_len = strlen(pass), .kdf = &kdf};
  char why[512] = "";
  cairn_err err = cairn_init_home(&o, why, sizeof why);
  if (err != CAIRN_OK) {
    fprintf(stderr, "cairnd init: %s\n", why[0] != '\0' ? why
                                                         : cairn_strerror(err));
    return err == CAIRN_ERR_USAGE ? CAIRN_MAIN_EXIT_USAGE : CAIRN_MAIN_EXIT_FAIL;
  }
  printf("initialised %s (config.json, genesis.json, validator.key%s)\n"
         "start it with: cairnd run --home %s\n",
         m->home, m->demo ? ", keys/" : "", m->home);
  return CAIRN_MAIN_EXIT_OK;
}

static int cairn_main_do_testnet(const cairn_main_opts *m) {
  cairn_kdf_params kdf;
  const char *pass = cairn_main_key_params("testnet", &kdf);
  if (pass == NULL) return CAIRN_MAIN_EXIT_FAIL;
  cairn_testnet_opts o = {
      .dir = m->dir,
      .validators = m->validators != 0 ? (uint32_t)m->validators
                                       : CAIRN_TESTNET_DEFAULT_VALIDATORS,
      .base_port = m->base_port != 0 ? (uint16_t)m->base_port
                                     : CAIRN_TESTNET_DEFAULT_BASE_PORT,
      .block_interval_ms = (uint32_t)(m->block_interval_ms > UINT32_MAX
                                          ? UINT32_MAX
                                          : m->block_interval_ms),
      .passphrase = pass, .passphrase_len = strlen(pass), .kdf = &kdf};
  char why[512] = "";
  cairn_err err = cairn_init_testnet(&o, why, sizeof why);
  if (err != CAIRN_OK) {
    fprintf(stderr, "cairnd testnet: %s\n",
            why[0] != '\0' ? why : cairn_strerror(err));
    return err == CAIRN_ERR_USAGE ? CAIRN_MAIN_EXIT_USAGE : CAIRN_MAIN_EXIT_FAIL;
  }
  printf("created a %u-validator network in %s\n"
         "start each node with: cairnd run --home %s/nodeI (I = 0..%u)\n"
         "node I serves the API at http://127.0.0.1:%u+I\n",
         (unsigned)o.validators, m->dir, m->dir, (unsigned)o.validators - 1,
         (unsigned)o.base_port);
  return CAIRN_MAIN_EXIT_OK;
}

/* argv[0]'s directory + "/cairn", so the banner names the wallet that sits
 * beside this cairnd. */
static void cairn_main_wallet_path(char *out, size_t cap, const char *argv0) {
  if (strchr(argv0, '/') == NULL) {
    snprintf(out, cap, "cairn");
    return;
  }
  char copy[CAIRN_CONFIG_PATH_BYTES_MAX];
  snprintf(copy, sizeof copy, "%s", argv0);
  const char *dir = dirname(copy);
  bool explicit = dir[0] == '/' || dir[0] == '.';
  snprintf(out, cap, "%s%s/cairn", explicit ? "" : "./", dir);
}

static int cairn_main_do_run(const cairn_main_opts *m, const char *argv0,
                             bool banner, const cairn_log *log) {
  char config[CAIRN_CONFIG_PATH_BYTES_MAX];
  const char *path = m->config;
  if (path == NULL) {
    int n = snprintf(config, sizeof config, "%s/%s", m->home,
                     CAIRN_CONFIG_FILE_NAME);
    if (n < 0 || (size_t)n >= sizeof config) {
      fprintf(stderr, "cairnd: --home path is too long\n");
      return CAIRN_MAIN_EXIT_USAGE;
    }
    path = config;
  }
  char wallet[CAIRN_CONFIG_PATH_BYTES_MAX];
  cairn_main_wallet_path(wallet, sizeof wallet, argv0);
  char home_abs[CAIRN_CONFIG_PATH_BYTES_MAX];
  bool from_env = false;
  (void)cairn_main_passphrase(&from_env);
  cairn_daemon_opts o = {
      .config_path = path, .listen = m->listen,
      .block_interval_ms = m->block_interval_ms, .wallet_path = wallet,
      .passphrase_from_env = from_env, .log = log};
  if (banner) {
    o.banner_home = realpath(m->home, home_abs) != NULL ? home_abs : m->home;
  }
  return cairn_daemon_run(&o);
}

static int cairn_main_command(cairn_main_cmd cmd, int argc, char **argv,
                              const char *usage, const cairn_log *log) {
  cairn_init_brand *brands = calloc(CAIRN_BRANDS_MAX, sizeof *brands);
  if (brands == NULL) {
    fprintf(stderr, "cairnd: out of memory\n");
    return CAIRN_MAIN_EXIT_FAIL;
  }
  cairn_main_opts m = {.brands = brands};
  int rc = cairn_main_parse(cmd, argc, argv, usage, &m);
  if (rc < 0 && cmd == CAIRN_MAIN_DEMO && m.home == NULL) {
    m.home = CAIRN_MAIN_DEMO_HOME;
  }
  if (rc < 0 && cmd == CAIRN_MAIN_RUN && (m.home == NULL) == (m.config == NULL)) {
    rc = cairn_main_usage_error(argv[1], "give exactly one of --home DIR and "
                                "--config FILE%s", "");
  }
  if (rc < 0 && cmd == CAIRN_MAIN_INIT && m.home == NULL) {
    rc = cairn_main_usage_error(argv[1], "--home DIR is required%s", "");
  }
  if (rc < 0 && cmd == CAIRN_MAIN_INIT) rc = cairn_main_do_init(&m);
  if (rc < 0 && cmd == CAIRN_MAIN_TESTNET) {
    rc = m.dir == NULL
             ? cairn_main_usage_error(argv[1], "--dir DIR is required%s", "")
             : cairn_main_do_testnet(&m);
  }
  if (rc < 0 && cmd == CAIRN_MAIN_DEMO) {
    char config[CAIRN_CONFIG_PATH_BYTES_MAX];
    struct stat st;
    snprintf(config, sizeof config, "%s/%s", m.home, CAIRN_CONFIG_FILE_NAME);
    m.demo = true;
    if (stat(config, &st) != 0) {
      int init_rc = cairn_main_do_init(&m);
      if (init_rc != CAIRN_MAIN_EXIT_OK) rc = init_rc;
    }
  }
  if (rc < 0) rc = cairn_main_do_run(&m, argv[0], cmd == CAIRN_MAIN_DEMO, log);
  free(brands);
  return rc;
}

int main(int argc, char **argv) {
  if (sodium_init() < 0) {
    fprintf(stderr, "cairnd: cannot initialise libsodium\n");
    return CAIRN_MAIN_EXIT_FAIL;
  }
  signal(SIGPIPE, SIG_IGN);
  /* Before any JSON is parsed: the validator key file goes through jansson,
   * and this makes it wipe what it frees. */
  cairn_secure_json_install();
  cairn_log log;
  cairn_log_init(&log, stderr, CAIRN_LOG_INFO);
  if (argc < 2) {
    fputs(cairn_main_usage, stderr);
    return CAIRN_MAIN_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
      strcmp(cmd, "help") == 0) {
    fputs(cairn_main_usage, stdout);
    return CAIRN_MAIN_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("%s\n", CAIRN_RPC_VERSION);
    return CAIRN_MAIN_EXIT_OK;
  }
  if (strcmp(cmd, "init") == 0) {
    return cairn_main_command(CAIRN_MAIN_INIT, argc, argv,
                              cairn_main_init_usage, &log);
  }
  if (strcmp(cmd, "run") == 0) {
    return cairn_main_command(CAIRN_MAIN_RUN, argc, argv, cairn_main_run_usage,
                              &log);
  }
  if (strcmp(cmd, "testnet") == 0) {
    return cairn_main_command(CAIRN_MAIN_TESTNET, argc, argv,
                              cairn_main_testnet_usage, &log);
  }
  if (strcmp(cmd, "demo") == 0) {
    return cairn_main_command(CAIRN_MAIN_DEMO, argc, argv,
                              cairn_main_demo_usage, &log);
  }
  fprintf(stderr, "cairnd: unknown command \"%s\"\n\n%s", cmd, cairn_main_usage);
  return CAIRN_MAIN_EXIT_USAGE;
}
