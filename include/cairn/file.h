/*
 * cairn/file.h - small-file helpers shared by every reader of local files
 * (genesis, configuration, key files, audit checkpoints).
 *
 * Reads are bounded (a file larger than the caller's limit is an error, not
 * an allocation), and writes are atomic: a temporary file in the same
 * directory is written, fsynced and renamed over the target, then the
 * directory is fsynced, so a crash leaves either the old or the new file.
 */
#ifndef CAIRN_FILE_H
#define CAIRN_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/error.h"

/* Read a whole file into a malloc'd NUL-terminated buffer (caller frees).
 * Errors: NOT_FOUND, IO, OVERSIZE (> max bytes), NOMEM. */
CAIRN_MUST_CHECK cairn_err cairn_file_read_all(const char *path, size_t max,
                                               char **out, size_t *len);

/* Write a file atomically with the given mode (e.g. 0600). With exclusive,
 * fail with CAIRN_ERR_EXISTS if path already exists. Errors: EXISTS, IO. */
CAIRN_MUST_CHECK cairn_err cairn_file_write_atomic(const char *path,
                                                   const void *data,
                                                   size_t len, unsigned mode,
                                                   bool exclusive);

/* CAIRN_ERR_PERM if the file can be read or written by group or others,
 * NOT_FOUND / IO if it cannot be examined. */
CAIRN_MUST_CHECK cairn_err cairn_file_check_private(const char *path);

/* Read a secret file into the caller's buffer (which may be locked memory:
 * no other copy is made): the file is opened once, its mode is checked on
 * the open descriptor before any byte is read (so it cannot be swapped
 * between check and read), and at most cap - 1 bytes are read, followed by
 * a NUL. Errors: NOT_FOUND, IO, PERM (group or others may read or write
 * it), OVERSIZE (cap - 1 bytes or more). buf is wiped on failure. */
CAIRN_MUST_CHECK cairn_err cairn_file_read_private(const char *path,
                                                   char *buf, size_t cap,
                                                   size_t *len);

#endif
