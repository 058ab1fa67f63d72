/*
 * file.c - bounded reads and crash-safe writes of small local files.
 *
 * Every file Cairn reads outside its database (genesis, configuration, key
 * files, audit checkpoints) comes from the operator's disk and may be
 * anything, so reads are bounded by a caller-chosen limit: a huge or
 * endless file (a device, a mistaken path) is refused with OVERSIZE instead
 * of exhausting memory. The buffer grows with what is actually read, so
 * pipes and /proc files whose stat size is 0 work too, and a file that
 * changes size between stat and read is handled by the same loop.
 *
 * Writes must never leave a half-written key or checkpoint behind. The
 * data goes to a temporary file in the target's directory (rename is only
 * atomic within one file system), is fsynced, and is then moved into place;
 * finally the directory is fsynced so the new name itself survives a crash.
 * An exclusive write ("never overwrite a key file") links the temporary
 * file to the target name instead of renaming it: link(2) fails with EEXIST
 * atomically, so two writers racing for one name cannot both succeed, which
 * a check-then-rename could not promise.
 *
 * Secret files (validator keys) are read by cairn_file_read_private
 * straight into a buffer the caller owns - usually locked memory that is
 * wiped after use - with the permission check made on the same open
 * descriptor the bytes come from, so a file cannot be swapped for a
 * readable one between the check and the read.
 *
 * errno is mapped at the point of failure: ENOENT becomes NOT_FOUND and
 * everything else IO; the caller, who knows what the file was for, words
 * the message.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cairn/file.h"

/* First buffer for a file whose size stat cannot tell (pipes, /proc). */
#define CAIRN_FILE_READ_CHUNK_BYTES 4096u
/* Suffix of the temporary file next to the target; mkstemp fills the Xs. */
#define CAIRN_FILE_TMP_SUFFIX ".tmp-XXXXXX"

static cairn_err file_errno(int e) {
  return e == ENOENT ? CAIRN_ERR_NOT_FOUND : CAIRN_ERR_IO;
}

/* Read fd to EOF into a growing buffer of at most max + 1 bytes. On success
 * *buf holds *len <= max bytes followed by a NUL. */
static cairn_err file_read_fd(int fd, size_t size_hint, size_t max,
                              char **buf, size_t *len) {
  size_t cap;
  if (size_hint > 0) {
    cap = (size_hint < max ? size_hint : max) + 1;
  } else {
    cap = max + 1 < CAIRN_FILE_READ_CHUNK_BYTES ? max + 1
                                                : CAIRN_FILE_READ_CHUNK_BYTES;
  }
  char *p = malloc(cap);
  if (p == NULL) return CAIRN_ERR_NOMEM;
  size_t n = 0;
  /* Each pass reads at least one byte or ends; n never exceeds max + 1. */
  for (;;) {
    if (n == cap) {
      if (cap > max) break; /* read max + 1 bytes: too large */
      size_t grown = cap > (max + 1) / 2 ? max + 1 : cap * 2;
      char *q = realloc(p, grown);
      if (q == NULL) {
        free(p);
        return CAIRN_ERR_NOMEM;
      }
      p = q;
      cap = grown;
    }
    ssize_t got = read(fd, p + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      free(p);
      return CAIRN_ERR_IO;
    }
    if (got == 0) break;
    n += (size_t)got;
  }
  if (n > max) {
    free(p);
    return CAIRN_ERR_OVERSIZE;
  }
  /* EOF was seen by a read into a non-empty remainder, so n < cap. */
  assert(n < cap);
  p[n] = '\0';
  *buf = p;
  *len = n;
  return CAIRN_OK;
}

cairn_err cairn_file_read_all(const char *path, size_t max, char **out,
                              size_t *len) {
  struct stat st;
  assert(path != NULL && out != NULL && len != NULL);
  assert(max < SIZE_MAX - 1);
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_errno(errno);
  if (fstat(fd, &st) != 0) {
    close(fd);
    return CAIRN_ERR_IO;
  }
  size_t hint = 0;
  if (S_ISREG(st.st_mode)) {
    if ((uintmax_t)st.st_size > (uintmax_t)max) {
      close(fd);
      return CAIRN_ERR_OVERSIZE;
    }
    hint = (size_t)st.st_size;
  }
  char *buf = NULL;
  size_t n = 0;
  cairn_err err = file_read_fd(fd, hint, max, &buf, &n);
  close(fd);
  if (err != CAIRN_OK) return err;
  *out = buf;
  *len = n;
  return CAIRN_OK;
}

/* Write all len bytes, retrying short writes and EINTR. */
static cairn_err file_write_fd(int fd, const void *data, size_t len) {
  const char *p = data;
  size_t done = 0;
  while (done < len) {
    ssize_t put = write(fd, p + done, len - done);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return CAIRN_ERR_IO;
    done += (size_t)put;
  }
  return CAIRN_OK;
}

/* fsync the directory holding path, so a rename or link in it is durable. */
static cairn_err file_sync_dir(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    memcpy(dir, ".", 2);
  } else if (slash == path) {
    memcpy(dir, "/", 2);
  } else {
    size_t n = (size_t)(slash - path);
    assert(n < sizeof dir); /* path itself fit in PATH_MAX */
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return CAIRN_ERR_IO;
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? CAIRN_OK : CAIRN_ERR_IO;
}

/* Fill and fsync the temporary file; it is closed on every path. */
static cairn_err file_fill_tmp(int fd, const void *data, size_t len,
                               unsigned mode) {
  cairn_err err = CAIRN_OK;
  /* fchmod is not subject to the umask, so the mode is exactly as asked. */
  if (fchmod(fd, (mode_t)mode) != 0) err = CAIRN_ERR_IO;
  if (err == CAIRN_OK) err = file_write_fd(fd, data, len);
  if (err == CAIRN_OK && fsync(fd) != 0) err = CAIRN_ERR_IO;
  if (close(fd) != 0 && err == CAIRN_OK) err = CAIRN_ERR_IO;
  return err;
}

/* Move tmp to path: rename, or for an exclusive write link then unlink. */
static cairn_err file_publish(const char *tmp, const char *path,
                              bool exclusive) {
  if (!exclusive) return rename(tmp, path) == 0 ? CAIRN_OK : CAIRN_ERR_IO;
  if (link(tmp, path) != 0) {
    return errno == EEXIST ? CAIRN_ERR_EXISTS : CAIRN_ERR_IO;
  }
  (void)unlink(tmp); /* the data is safe under its new name either way */
  return CAIRN_OK;
}

cairn_err cairn_file_write_atomic(const char *path, const void *data,
                                  size_t len, unsigned mode, bool exclusive) {
  char tmp[PATH_MAX];
  struct stat st;
  assert(path != NULL && (data != NULL || len == 0));
  assert((mode & ~07777u) == 0);
  int n = snprintf(tmp, sizeof tmp, "%s%s", path, CAIRN_FILE_TMP_SUFFIX);
  if (path[0] == '\0' || n < 0 || (size_t)n >= sizeof tmp) {
    return CAIRN_ERR_IO;
  }
  /* Fail early (the link below is what makes it race-free). */
  if (exclusive && lstat(path, &st) == 0) return CAIRN_ERR_EXISTS;
  int fd = mkstemp(tmp);
  if (fd < 0) return CAIRN_ERR_IO;
  cairn_err err = file_fill_tmp(fd, data, len, mode);
  if (err == CAIRN_OK) err = file_publish(tmp, path, exclusive);
  if (err != CAIRN_OK) {
    (void)unlink(tmp);
    return err;
  }
  return file_sync_dir(path);
}

cairn_err cairn_file_check_private(const char *path) {
  struct stat st;
  assert(path != NULL);
  if (stat(path, &st) != 0) return file_errno(errno);
  return (st.st_mode & 077) != 0 ? CAIRN_ERR_PERM : CAIRN_OK;
}

cairn_err cairn_file_read_private(const char *path, char *buf, size_t cap,
                                  size_t *len) {
  struct stat st;
  assert(path != NULL && buf != NULL && cap > 0 && len != NULL);
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return file_errno(errno);
  cairn_err err = CAIRN_OK;
  if (fstat(fd, &st) != 0) err = CAIRN_ERR_IO;
  else if ((st.st_mode & 077) != 0) err = CAIRN_ERR_PERM;
  size_t n = 0;
  /* Each pass reads at least one byte or ends; n stays below cap. */
  while (err == CAIRN_OK) {
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) err = CAIRN_ERR_IO;
    else if (got == 0) break;
    else if ((size_t)got >= cap - n) err = CAIRN_ERR_OVERSIZE;
    else n += (size_t)got;
  }
  close(fd);
  if (err != CAIRN_OK) {
    sodium_memzero(buf, cap);
    return err;
  }
  buf[n] = '\0';
  *len = n;
  return CAIRN_OK;
}
