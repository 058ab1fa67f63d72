/*
 * cairn/passphrase.h - where the wallet gets a key file's passphrase.
 *
 * In order of precedence:
 *   1. the environment variable CAIRN_PASSPHRASE (scripts, tests);
 *   2. a passphrase file given with --passphrase-file: its first line,
 *      without the line ending;
 *   3. a prompt on the controlling terminal (/dev/tty) with echo off; when a
 *      new key file is made the passphrase is asked twice and must match.
 * With none of these (no terminal, as under cron or CI) the caller gets
 * CAIRN_ERR_PASSPHRASE and a sentence saying how to provide one.
 *
 * The passphrase lives only in the caller's cairn_passphrase buffer, which
 * cairn_passphrase_get locks in RAM where the OS allows and which must be
 * wiped (and so unlocked) with cairn_passphrase_wipe() after use.
 */
#ifndef CAIRN_PASSPHRASE_H
#define CAIRN_PASSPHRASE_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/error.h"
#include "cairn/limits.h"

#define CAIRN_PASSPHRASE_ENV "CAIRN_PASSPHRASE"

typedef struct cairn_passphrase {
  char buf[CAIRN_PASSPHRASE_BYTES_MAX + 1]; /* NUL-terminated */
  size_t len;
} cairn_passphrase;

typedef struct cairn_passphrase_opts {
  const char *file;   /* --passphrase-file, or NULL */
  const char *prompt; /* terminal prompt, e.g. "Passphrase for me.key: " */
  bool confirm;       /* ask twice on the terminal (new key files) */
  bool allow_empty;   /* false: an empty passphrase is an error */
} cairn_passphrase_opts;

/* Get a passphrase as described above.
 * Errors: NOT_FOUND (the passphrase file does not exist), IO (it or the
 * terminal cannot be read), LIMIT (longer than CAIRN_PASSPHRASE_BYTES_MAX
 * bytes), PASSPHRASE (none available: no variable, no file and no
 * terminal; empty when !allow_empty; the two entries differ). why (may be
 * NULL) holds a sentence for the user. out is wiped on failure. */
CAIRN_MUST_CHECK cairn_err cairn_passphrase_get(cairn_passphrase *out,
                                                const cairn_passphrase_opts *o,
                                                char *why, size_t why_cap);

/* Wipe the passphrase (sodium_memzero) and unlock its memory. */
void cairn_passphrase_wipe(cairn_passphrase *p);

#endif
