/*
 * node/daemon.h - `cairnd run`: start a node and serve until a signal
 * (private to cairnd; main.c is its only caller).
 */
#ifndef CAIRN_NODE_DAEMON_H
#define CAIRN_NODE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "cairn/log.h"

typedef struct cairn_daemon_opts {
  const char *config_path;    /* the JSON configuration file */
  const char *listen;         /* overrides the config's listen, or NULL */
  uint64_t block_interval_ms; /* overrides the config's, or 0 */
  const char *banner_home;    /* demo: print the banner for this home, or
                                 NULL for no banner */
  const char *wallet_path;    /* how the banner names the wallet binary */
  bool passphrase_from_env;   /* banner: the demo passphrase came from
                                 CAIRN_PASSPHRASE (so is not printed) */
  const cairn_log *log;
} cairn_daemon_opts;

/* Load the configuration, genesis and validator key, open the store and
 * chain (resuming from the tip), start the API and block production, and
 * run the event loop until SIGINT or SIGTERM. Returns the process exit
 * code: 0 after a clean shutdown, 1 when start-up fails (one log line says
 * what and what to do) or a block cannot be stored. */
int cairn_daemon_run(const cairn_daemon_opts *o);

#endif
