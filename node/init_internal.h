/*
 * node/init_internal.h - the pieces of node/init.c that node/testnet.c
 * shares: one way to build paths, create private directories, add a brand
 * and write a genesis file, for every kind of home cairnd creates.
 */
#ifndef CAIRN_NODE_INIT_INTERNAL_H
#define CAIRN_NODE_INIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cairn/error.h"
#include "cairn/genesis.h"
#include "cairn/keyfile.h"
#include "cairn/sig.h"

/* A sentence into why (may be NULL when why_cap is 0). */
void cairn_init_why(char *why, size_t why_cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* dir + "/" + name into out; CONFIG if it does not fit. */
CAIRN_MUST_CHECK cairn_err cairn_init_path(char *out, size_t cap,
                                           const char *dir, const char *name,
                                           char *why, size_t why_cap);
/* mkdir with mode 0700; an existing directory is fine. IO otherwise. */
CAIRN_MUST_CHECK cairn_err cairn_init_mkdir(const char *dir, char *why,
                                            size_t why_cap);
/* Append brand id n_brands + 1 (g has room: asserted). */
void cairn_init_add_brand(cairn_genesis *g, const char *name,
                          const uint8_t *issuer, bool transferable);
/* Write g as JSON, atomically, mode 0644. */
CAIRN_MUST_CHECK cairn_err cairn_init_write_genesis(const cairn_genesis *g,
                                                    const char *path,
                                                    char *why, size_t why_cap);

/* Write DIR/NAME.key: sk encrypted with the passphrase (keyfile.h).
 * Errors: CONFIG (path too long), IO, EXISTS, NOMEM; why says which file. */
CAIRN_MUST_CHECK cairn_err cairn_init_write_keyfile(
    const char *dir, const char *name, const uint8_t sk[CAIRN_SECKEY_BYTES],
    const char *passphrase, size_t pass_len, const cairn_kdf_params *kdf,
    char *why, size_t why_cap);

/* Write o as indented JSON plus a newline, atomically, mode 0644, and
 * release o (which may be NULL: out of memory). Errors: NOMEM, IO. */
CAIRN_MUST_CHECK cairn_err cairn_init_write_json(const char *path, json_t *o,
                                                 char *why, size_t why_cap);

#endif
