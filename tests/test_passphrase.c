/*
 * test_passphrase.c - where the wallet gets passphrases from.
 *
 * The environment variable, the passphrase file (first line only, line
 * endings stripped, length limits both ways, missing file), empty
 * passphrases, the "no source at all" error when there is no terminal
 * (a child process in a new session, so no controlling tty), and the
 * interactive prompt itself on a pseudo-terminal: echo must be off, the
 * confirmation must match.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cairn/passphrase.h"

/* A temporary file with the given bytes; path needs 64 bytes. */
static void write_tmp(char *path, const void *data, size_t len) {
  strcpy(path, "/tmp/cairn-pp-test-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static cairn_err get(cairn_passphrase *p, const char *file, bool allow_empty,
                     char *why, size_t why_cap) {
  cairn_passphrase_opts o = {.file = file, .prompt = "PW: ",
                             .allow_empty = allow_empty};
  return cairn_passphrase_get(p, &o, why, why_cap);
}

static int setup(void **state) {
  (void)state;
  unsetenv(CAIRN_PASSPHRASE_ENV);
  return 0;
}

static void test_env(void **state) {
  (void)state;
  cairn_passphrase p;
  setenv(CAIRN_PASSPHRASE_ENV, "correct horse", 1);
  assert_int_equal(get(&p, NULL, false, NULL, 0), CAIRN_OK);
  assert_int_equal(p.len, 13);
  assert_string_equal(p.buf, "correct horse");
  cairn_passphrase_wipe(&p);
  assert_int_equal(p.len, 0);
  assert_int_equal(p.buf[0], 0);
}

static void test_env_wins_over_file(void **state) {
  (void)state;
  char path[64];
  write_tmp(path, "from-file\n", 10);
  setenv(CAIRN_PASSPHRASE_ENV, "from-env", 1);
  cairn_passphrase p;
  assert_int_equal(get(&p, path, false, NULL, 0), CAIRN_OK);
  assert_string_equal(p.buf, "from-env");
  unsetenv(CAIRN_PASSPHRASE_ENV);
  assert_int_equal(get(&p, path, false, NULL, 0), CAIRN_OK);
  assert_string_equal(p.buf, "from-file");
  cairn_passphrase_wipe(&p);
  unlink(path);
}

static void test_file_first_line(void **state) {
  (void)state;
  static const struct {
    const char *content;
    const char *want;
  } cases[] = {
      {"secret line\nsecond line\n", "secret line"},
      {"crlf\r\nnext", "crlf"},
      {"no newline at end", "no newline at end"},
      {"  spaces kept  \n", "  spaces kept  "},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[64];
    write_tmp(path, cases[i].content, strlen(cases[i].content));
    cairn_passphrase p;
    assert_int_equal(get(&p, path, false, NULL, 0), CAIRN_OK);
    assert_string_equal(p.buf, cases[i].want);
    assert_int_equal(p.len, strlen(cases[i].want));
    unlink(path);
  }
}

static void test_file_missing(void **state) {
  (void)state;
  cairn_passphrase p;
  memset(&p, 'x', sizeof p);
  char why[256];
  assert_int_equal(get(&p, "/nonexistent/dir/pass.txt", false, why,
                       sizeof why),
                   CAIRN_ERR_NOT_FOUND);
  assert_non_null(strstr(why, "/nonexistent/dir/pass.txt"));
  assert_int_equal(p.len, 0); /* wiped on failure */
  assert_int_equal(p.buf[0], 0);
}

static void test_empty(void **state) {
  (void)state;
  char path[64], why[256];
  write_tmp(path, "\nsecond line is not used\n", 25);
  cairn_passphrase p;
  assert_int_equal(get(&p, path, false, why, sizeof why),
                   CAIRN_ERR_PASSPHRASE);
  assert_non_null(strstr(why, "empty"));
  assert_int_equal(get(&p, path, true, NULL, 0), CAIRN_OK);
  assert_int_equal(p.len, 0);
  setenv(CAIRN_PASSPHRASE_ENV, "", 1);
  assert_int_equal(get(&p, NULL, false, NULL, 0), CAIRN_ERR_PASSPHRASE);
  unsetenv(CAIRN_PASSPHRASE_ENV);
  unlink(path);
}

static void test_length_limit(void **state) {
  (void)state;
  size_t max = CAIRN_PASSPHRASE_BYTES_MAX;
  char *data = malloc(max + 3);
  assert_non_null(data);
  memset(data, 'a', max + 2);
  char path[64];
  cairn_passphrase p;
  /* Exactly the limit, followed by a newline: accepted. */
  data[max] = '\n';
  write_tmp(path, data, max + 1);
  assert_int_equal(get(&p, path, false, NULL, 0), CAIRN_OK);
  assert_int_equal(p.len, max);
  unlink(path);
  /* One byte more: refused, whatever follows. */
  data[max] = 'a';
  data[max + 1] = '\n';
  write_tmp(path, data, max + 2);
  assert_int_equal(get(&p, path, false, NULL, 0), CAIRN_ERR_LIMIT);
  assert_int_equal(p.len, 0);
  unlink(path);
  data[max + 1] = '\0';
  setenv(CAIRN_PASSPHRASE_ENV, data, 1);
  assert_int_equal(get(&p, NULL, false, NULL, 0), CAIRN_ERR_LIMIT);
  unsetenv(CAIRN_PASSPHRASE_ENV);
  free(data);
}

/* Wait for the child and return its exit status (-1 if it did not exit). */
static int child_status(pid_t pid) {
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_no_source_without_tty(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setsid(); /* a new session has no controlling terminal */
    cairn_passphrase p;
    char why[256] = "";
    cairn_err err = get(&p, NULL, false, why, sizeof why);
    bool ok = err == CAIRN_ERR_PASSPHRASE &&
              strstr(why, "no passphrase: set CAIRN_PASSPHRASE or pass "
                          "--passphrase-file") != NULL;
    _exit(ok ? 0 : 1);
  }
  assert_int_equal(child_status(pid), 0);
}

/* Read from the pty master until `want` has appeared (5 s at most);
 * everything read is appended to seen. */
static bool pty_expect(int master, const char *want, char *seen, size_t cap) {
  for (int rounds = 0; rounds < 100; rounds++) {
    if (strstr(seen, want) != NULL) return true;
    struct pollfd pfd = {.fd = master, .events = POLLIN};
    if (poll(&pfd, 1, 50) <= 0) continue;
    size_t used = strlen(seen);
    ssize_t n = read(master, seen + used, cap - used - 1);
    if (n <= 0) return false;
    seen[used + (size_t)n] = '\0';
  }
  return strstr(seen, want) != NULL;
}

/* Run a prompting child on a fresh pty, typing first and second. Returns
 * the child's exit status: 0 got "s3cr3t", 2 PASSPHRASE error, 1 other. */
static int run_prompt(const char *first, const char *second, char *seen,
                      size_t cap) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    if (master >= 0) close(master);
    return -2;
  }
  const char *name = ptsname(master);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setsid();
    int slave = open(name, O_RDWR); /* becomes the controlling terminal */
    if (slave < 0) _exit(3);
    cairn_passphrase p;
    cairn_passphrase_opts o = {.prompt = "PW: ", .confirm = true};
    cairn_err err = cairn_passphrase_get(&p, &o, NULL, 0);
    if (err == CAIRN_ERR_PASSPHRASE) _exit(2);
    _exit(err == CAIRN_OK && strcmp(p.buf, "s3cr3t") == 0 ? 0 : 1);
  }
  seen[0] = '\0';
  bool ok = pty_expect(master, "PW: ", seen, cap);
  if (ok) ok = write(master, first, strlen(first)) == (ssize_t)strlen(first);
  if (ok) ok = pty_expect(master, "Repeat", seen, cap);
  if (ok) ok = write(master, second, strlen(second)) == (ssize_t)strlen(second);
  int status = child_status(pid);
  (void)pty_expect(master, "\n\n", seen, cap); /* drain what is left */
  close(master);
  return ok ? status : -1;
}

static void test_tty_prompt(void **state) {
  (void)state;
  char seen[1024];
  int st = run_prompt("s3cr3t\n", "s3cr3t\n", seen, sizeof seen);
  if (st == -2) skip(); /* no pseudo-terminals in this sandbox */
  assert_int_equal(st, 0);
  assert_non_null(strstr(seen, "PW: "));
  assert_null(strstr(seen, "s3cr3t")); /* echo was off */
  st = run_prompt("s3cr3t\n", "s3cr3T\n", seen, sizeof seen);
  assert_int_equal(st, 2); /* the two entries differ */
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_env, setup),
      cmocka_unit_test_setup(test_env_wins_over_file, setup),
      cmocka_unit_test_setup(test_file_first_line, setup),
      cmocka_unit_test_setup(test_file_missing, setup),
      cmocka_unit_test_setup(test_empty, setup),
      cmocka_unit_test_setup(test_length_limit, setup),
      cmocka_unit_test_setup(test_no_source_without_tty, setup),
      cmocka_unit_test_setup(test_tty_prompt, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
