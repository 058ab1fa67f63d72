/*
 * passphrase.c - getting a key file's passphrase from the environment, a
 * file, or the terminal, without leaving copies of it around.
 *
 * Three sources, tried in a fixed order so that behaviour is predictable in
 * scripts: CAIRN_PASSPHRASE, then --passphrase-file, then an interactive
 * prompt. The prompt goes to /dev/tty rather than stdin/stdout, so it works
 * even when the wallet's output is piped into another program, and it never
 * reads a passphrase from a pipe by accident. Echo is switched off with
 * termios while the line is typed; the terminal keeps canonical mode so the
 * user can still correct typos with backspace.
 *
 * While echo is off, SIGINT, SIGQUIT, SIGTERM and SIGTSTP are blocked: a
 * Ctrl-C then takes effect right after the terminal settings have been
 * restored (when the user presses Enter) instead of leaving the shell with
 * echo disabled. This needs no signal handler and no global state.
 *
 * Secrets are only ever in the caller's cairn_passphrase buffer, which is
 * locked in RAM (sodium_mlock, best effort) from cairn_passphrase_get until
 * cairn_passphrase_wipe: files and the terminal are read with read(2)
 * straight into it (stdio would keep a copy in its own buffer), and every
 * scratch copy is wiped with sodium_memzero before return.
 */
#include "cairn/passphrase.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <pthread.h>
#include <sodium.h>

static void cairn_passphrase_why(char *why, size_t why_cap, const char *fmt,
                                 ...) __attribute__((format(printf, 3, 4)));

static void cairn_passphrase_why(char *why, size_t why_cap, const char *fmt,
                                 ...) {
  if (why == NULL || why_cap == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_cap, fmt, ap);
  va_end(ap);
}

void cairn_passphrase_wipe(cairn_passphrase *p) {
  assert(p != NULL);
  sodium_memzero(p, sizeof *p);
  /* Harmless on a buffer that was never locked. */
  (void)sodium_munlock(p, sizeof *p);
}

/* Keep the buffer out of swap while it holds a passphrase (best effort:
 * RLIMIT_MEMLOCK may refuse, and the wipe does not depend on it). */
static void cairn_passphrase_lock(cairn_passphrase *p) {
  (void)sodium_mlock(p, sizeof *p);
}

static cairn_err cairn_passphrase_from_env(cairn_passphrase *out,
                                           const char *value, char *why,
                                           size_t why_cap) {
  size_t n = strlen(value);
  if (n > CAIRN_PASSPHRASE_BYTES_MAX) {
    cairn_passphrase_why(why, why_cap,
                         "%s is longer than %d bytes", CAIRN_PASSPHRASE_ENV,
                         CAIRN_PASSPHRASE_BYTES_MAX);
    return CAIRN_ERR_LIMIT;
  }
  memcpy(out->buf, value, n);
  out->len = n;
  return CAIRN_OK;
}

/* Read the first line of path into out. At most the longest passphrase
 * plus "\r\n" is read, into a scratch buffer that is wiped. */
static cairn_err cairn_passphrase_from_file(cairn_passphrase *out,
                                            const char *path, char *why,
                                            size_t why_cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    cairn_passphrase_why(why, why_cap, "cannot open passphrase file %s: %s",
                         path, strerror(e));
    return e == ENOENT ? CAIRN_ERR_NOT_FOUND : CAIRN_ERR_IO;
  }
  char scratch[CAIRN_PASSPHRASE_BYTES_MAX + 2];
  size_t len = 0;
  bool have_line = false;
  cairn_err err = CAIRN_OK;
  while (len < sizeof scratch && !have_line) {
    ssize_t r = read(fd, scratch + len, sizeof scratch - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      cairn_passphrase_why(why, why_cap, "cannot read passphrase file %s: %s",
                           path, strerror(errno));
      err = CAIRN_ERR_IO;
      break;
    }
    if (r == 0) break;
    have_line = memchr(scratch + len, '\n', (size_t)r) != NULL;
    len += (size_t)r;
  }
  close(fd);
  const char *nl = memchr(scratch, '\n', len);
  size_t line = nl != NULL ? (size_t)(nl - scratch) : len;
  if (line > 0 && scratch[line - 1] == '\r') line--;
  if (err == CAIRN_OK && line > CAIRN_PASSPHRASE_BYTES_MAX) {
    cairn_passphrase_why(why, why_cap,
                         "the first line of %s is longer than %d bytes", path,
                         CAIRN_PASSPHRASE_BYTES_MAX);
    err = CAIRN_ERR_LIMIT;
  }
  if (err == CAIRN_OK) {
    memcpy(out->buf, scratch, line);
    out->len = line;
  }
  sodium_memzero(scratch, sizeof scratch);
  return err;
}

/* Read one line from the terminal fd into out (echo already off). Input
 * past the limit is drained to the end of the line and reported. */
static cairn_err cairn_passphrase_read_line(int fd, cairn_passphrase *out) {
  size_t len = 0;
  bool too_long = false;
  for (size_t guard = 0; guard < (1u << 20); guard++) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return CAIRN_ERR_IO;
    if (r == 0 || ch == '\n') break;
    if (len < CAIRN_PASSPHRASE_BYTES_MAX) out->buf[len++] = ch;
    else too_long = true;
    sodium_memzero(&ch, sizeof ch);
  }
  out->len = len;
  if (len > 0 && out->buf[len - 1] == '\r') out->buf[--out->len] = '\0';
  return too_long ? CAIRN_ERR_LIMIT : CAIRN_OK;
}

/* Prompt once on the terminal fd with echo off. */
static cairn_err cairn_passphrase_prompt(int fd, const char *prompt,
                                         cairn_passphrase *out) {
  struct termios saved;
  if (tcgetattr(fd, &saved) != 0) return CAIRN_ERR_PASSPHRASE;
  struct termios quiet = saved;
  quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGQUIT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGTSTP);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  cairn_err err = CAIRN_ERR_IO;
  if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
    size_t plen = strlen(prompt);
    if (write(fd, prompt, plen) == (ssize_t)plen) {
      err = cairn_passphrase_read_line(fd, out);
    }
    tcsetattr(fd, TCSAFLUSH, &saved);
    if (write(fd, "\n", 1) != 1) { /* cosmetic only */
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return err;
}

/* The interactive path: one or two prompts on /dev/tty. */
static cairn_err cairn_passphrase_from_tty(cairn_passphrase *out,
                                           const cairn_passphrase_opts *o,
                                           char *why, size_t why_cap) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 || !isatty(fd)) {
    if (fd >= 0) close(fd);
    cairn_passphrase_why(why, why_cap, "no passphrase: set %s or pass "
                         "--passphrase-file", CAIRN_PASSPHRASE_ENV);
    return CAIRN_ERR_PASSPHRASE;
  }
  const char *prompt = o->prompt != NULL ? o->prompt : "Passphrase: ";
  cairn_err err = cairn_passphrase_prompt(fd, prompt, out);
  if (err == CAIRN_OK && o->confirm) {
    cairn_passphrase again;
    memset(&again, 0, sizeof again);
    cairn_passphrase_lock(&again);
    err = cairn_passphrase_prompt(fd, "Repeat the passphrase: ", &again);
    if (err == CAIRN_OK &&
        (again.len != out->len ||
         sodium_memcmp(again.buf, out->buf, out->len) != 0)) {
      cairn_passphrase_why(why, why_cap, "the two passphrases differ");
      err = CAIRN_ERR_PASSPHRASE;
    }
    cairn_passphrase_wipe(&again);
  }
  close(fd);
  if (err == CAIRN_ERR_LIMIT) {
    cairn_passphrase_why(why, why_cap, "the passphrase is longer than %d "
                         "bytes", CAIRN_PASSPHRASE_BYTES_MAX);
  } else if (err == CAIRN_ERR_IO) {
    cairn_passphrase_why(why, why_cap, "cannot read the passphrase from the "
                         "terminal");
  }
  return err;
}

cairn_err cairn_passphrase_get(cairn_passphrase *out,
                               const cairn_passphrase_opts *o, char *why,
                               size_t why_cap) {
  assert(out != NULL && o != NULL);
  cairn_passphrase_wipe(out);
  cairn_passphrase_lock(out);
  cairn_passphrase_why(why, why_cap, "%s", "");
  const char *env = getenv(CAIRN_PASSPHRASE_ENV);
  cairn_err err;
  if (env != NULL) err = cairn_passphrase_from_env(out, env, why, why_cap);
  else if (o->file != NULL)
    err = cairn_passphrase_from_file(out, o->file, why, why_cap);
  else err = cairn_passphrase_from_tty(out, o, why, why_cap);
  if (err == CAIRN_OK && out->len == 0 && !o->allow_empty) {
    cairn_passphrase_why(why, why_cap,
                         "empty passphrase refused: a key file needs a "
                         "passphrase");
    err = CAIRN_ERR_PASSPHRASE;
  }
  if (err != CAIRN_OK) cairn_passphrase_wipe(out);
  assert(err != CAIRN_OK || out->len <= CAIRN_PASSPHRASE_BYTES_MAX);
  return err;
}
