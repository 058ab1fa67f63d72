/*
 * test_file.c - bounded reads, atomic and exclusive writes, the
 * private-permissions check and private reads, against real files in a
 * fresh directory under /tmp that is removed at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/file.h"

typedef struct fixture {
  char dir[64];
} fixture;

static void path_in(char *out, size_t cap, const fixture *f, const char *name) {
  int n = snprintf(out, cap, "%s/%s", f->dir, name);
  assert_true(n > 0 && (size_t)n < cap);
}

/* Write a file directly with libc, bypassing the module under test. */
static void put_file(const char *path, const void *data, size_t len,
                     mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  assert_int_equal(fchmod(fd, mode), 0);
  assert_int_equal(close(fd), 0);
}

static size_t count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  }
  closedir(d);
  return n;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  memcpy(f->dir, "/tmp/cairn-test-file-XXXXXX", 28);
  if (mkdtemp(f->dir) == NULL) return -1;
  *state = f;
  return 0;
}

/* Remove every file in the (flat) directory, then the directory. */
static int teardown(void **state) {
  fixture *f = *state;
  DIR *d = opendir(f->dir);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char p[512];
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if ((size_t)snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name) >= sizeof p)
        continue;
      if (rmdir(p) != 0) unlink(p);
    }
    closedir(d);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

static void test_read_all(void **state) {
  fixture *f = *state;
  char path[256];
  char *buf = NULL;
  size_t len = 0;
  path_in(path, sizeof path, f, "a.txt");
  put_file(path, "hello\nworld", 11, 0600);
  assert_int_equal(cairn_file_read_all(path, 100, &buf, &len), CAIRN_OK);
  assert_int_equal(len, 11);
  assert_memory_equal(buf, "hello\nworld", 12); /* NUL-terminated */
  free(buf);
  /* Exactly at the limit is fine; one byte over is not. */
  assert_int_equal(cairn_file_read_all(path, 11, &buf, &len), CAIRN_OK);
  assert_int_equal(len, 11);
  free(buf);
  buf = (char *)path;
  len = 7;
  assert_int_equal(cairn_file_read_all(path, 10, &buf, &len),
                   CAIRN_ERR_OVERSIZE);
  assert_null(buf);
  assert_int_equal(len, 0);
  /* An empty file gives an empty string, not NULL. */
  path_in(path, sizeof path, f, "empty");
  put_file(path, "", 0, 0600);
  assert_int_equal(cairn_file_read_all(path, 0, &buf, &len), CAIRN_OK);
  assert_non_null(buf);
  assert_int_equal(len, 0);
  assert_int_equal(buf[0], '\0');
  free(buf);
}

static void test_read_large_and_errors(void **state) {
  fixture *f = *state;
  char path[256];
  char *buf = NULL;
  size_t len = 0;
  size_t big_len = 100000;
  char *big = malloc(big_len);
  assert_non_null(big);
  for (size_t i = 0; i < big_len; i++) big[i] = (char)('a' + i % 26);
  path_in(path, sizeof path, f, "big");
  put_file(path, big, big_len, 0600);
  assert_int_equal(cairn_file_read_all(path, big_len, &buf, &len), CAIRN_OK);
  assert_int_equal(len, big_len);
  assert_memory_equal(buf, big, big_len);
  free(buf);
  assert_int_equal(cairn_file_read_all(path, big_len - 1, &buf, &len),
                   CAIRN_ERR_OVERSIZE);
  free(big);
  /* Missing file, a directory. */
  path_in(path, sizeof path, f, "missing");
  assert_int_equal(cairn_file_read_all(path, 100, &buf, &len),
                   CAIRN_ERR_NOT_FOUND);
  assert_null(buf);
  assert_int_equal(cairn_file_read_all(f->dir, 100, &buf, &len),
                   CAIRN_ERR_IO);
  assert_null(buf);
  /* A file whose stat size is 0 but which has content: read by growing. */
  assert_int_equal(cairn_file_read_all("/proc/self/status", 1 << 20, &buf,
                                       &len),
                   CAIRN_OK);
  assert_true(len > 100);
  assert_int_equal(strlen(buf), len);
  assert_non_null(strstr(buf, "Name:"));
  free(buf);
  assert_int_equal(cairn_file_read_all("/proc/self/status", 50, &buf, &len),
                   CAIRN_ERR_OVERSIZE);
  assert_null(buf);
}

static mode_t mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

static void expect_content(const char *path, const char *want) {
  char *buf = NULL;
  size_t len = 0;
  assert_int_equal(cairn_file_read_all(path, 1000, &buf, &len), CAIRN_OK);
  assert_int_equal(len, strlen(want));
  assert_string_equal(buf, want);
  free(buf);
}

static void test_write_atomic(void **state) {
  fixture *f = *state;
  char path[256];
  path_in(path, sizeof path, f, "w.json");
  size_t before = count_entries(f->dir);
  /* The mode is exact whatever the umask. */
  mode_t old = umask(0);
  assert_int_equal(cairn_file_write_atomic(path, "one", 3, 0600, false),
                   CAIRN_OK);
  umask(old);
  assert_int_equal(mode_of(path), 0600);
  expect_content(path, "one");
  /* Non-exclusive replaces, with the new mode. */
  old = umask(077);
  assert_int_equal(cairn_file_write_atomic(path, "two!", 4, 0644, false),
                   CAIRN_OK);
  umask(old);
  assert_int_equal(mode_of(path), 0644);
  expect_content(path, "two!");
  /* Exclusive refuses an existing file and leaves it alone. */
  assert_int_equal(cairn_file_write_atomic(path, "three", 5, 0600, true),
                   CAIRN_ERR_EXISTS);
  expect_content(path, "two!");
  assert_int_equal(mode_of(path), 0644);
  /* No temporary files are left behind. */
  assert_int_equal(count_entries(f->dir), before + 1);
  /* Exclusive creation of a new file, and an empty file. */
  path_in(path, sizeof path, f, "x");
  assert_int_equal(cairn_file_write_atomic(path, "", 0, 0600, true), CAIRN_OK);
  expect_content(path, "");
  assert_int_equal(count_entries(f->dir), before + 2);
}

static void test_write_errors(void **state) {
  fixture *f = *state;
  char path[256], target[256];
  size_t before = count_entries(f->dir);
  /* A dangling symlink is an existing name for an exclusive write. */
  path_in(path, sizeof path, f, "link");
  path_in(target, sizeof target, f, "nowhere");
  assert_int_equal(symlink(target, path), 0);
  assert_int_equal(cairn_file_write_atomic(path, "x", 1, 0600, true),
                   CAIRN_ERR_EXISTS);
  assert_int_equal(access(target, F_OK), -1);
  assert_int_equal(unlink(path), 0);
  /* A missing directory. */
  path_in(path, sizeof path, f, "no/such/dir/file");
  assert_int_equal(cairn_file_write_atomic(path, "x", 1, 0600, false),
                   CAIRN_ERR_IO);
  /* A directory in the way of a non-exclusive write. */
  path_in(path, sizeof path, f, "adir");
  assert_int_equal(mkdir(path, 0700), 0);
  assert_int_equal(cairn_file_write_atomic(path, "x", 1, 0600, false),
                   CAIRN_ERR_IO);
  assert_int_equal(rmdir(path), 0);
  assert_int_equal(count_entries(f->dir), before);
}

static void test_check_private(void **state) {
  fixture *f = *state;
  char path[256];
  path_in(path, sizeof path, f, "key");
  static const struct {
    mode_t mode;
    cairn_err want;
  } cases[] = {
      {0600, CAIRN_OK},       {0400, CAIRN_OK},       {0700, CAIRN_OK},
      {0000, CAIRN_OK},       {0640, CAIRN_ERR_PERM}, {0604, CAIRN_ERR_PERM},
      {0620, CAIRN_ERR_PERM}, {0602, CAIRN_ERR_PERM}, {0610, CAIRN_ERR_PERM},
      {0601, CAIRN_ERR_PERM}, {0644, CAIRN_ERR_PERM}, {0666, CAIRN_ERR_PERM},
  };
  put_file(path, "k", 1, 0600);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(chmod(path, cases[i].mode), 0);
    assert_int_equal(cairn_file_check_private(path), cases[i].want);
  }
  assert_int_equal(unlink(path), 0);
  assert_int_equal(cairn_file_check_private(path), CAIRN_ERR_NOT_FOUND);
}

static void test_read_private(void **state) {
  fixture *f = *state;
  char path[256], buf[16];
  size_t len = 99;
  path_in(path, sizeof path, f, "secret");
  put_file(path, "seed!", 5, 0600);
  assert_int_equal(cairn_file_read_private(path, buf, sizeof buf, &len),
                   CAIRN_OK);
  assert_int_equal(len, 5);
  assert_string_equal(buf, "seed!");
  /* Exactly cap - 1 bytes fit; cap bytes do not, and the buffer is wiped. */
  put_file(path, "0123456789abcde", 15, 0600);
  assert_int_equal(cairn_file_read_private(path, buf, sizeof buf, &len),
                   CAIRN_OK);
  assert_int_equal(len, 15);
  put_file(path, "0123456789abcdef", 16, 0600);
  memset(buf, 'x', sizeof buf);
  assert_int_equal(cairn_file_read_private(path, buf, sizeof buf, &len),
                   CAIRN_ERR_OVERSIZE);
  assert_int_equal(len, 0);
  for (size_t i = 0; i < sizeof buf; i++) assert_int_equal(buf[i], 0);
  /* Group or other access: refused before a byte is read. */
  static const mode_t open_modes[] = {0640, 0604, 0620, 0602, 0644};
  for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
    put_file(path, "seed!", 5, open_modes[i]);
    memset(buf, 'x', sizeof buf);
    assert_int_equal(cairn_file_read_private(path, buf, sizeof buf, &len),
                     CAIRN_ERR_PERM);
    for (size_t j = 0; j < sizeof buf; j++) assert_int_equal(buf[j], 0);
  }
  assert_int_equal(unlink(path), 0);
  assert_int_equal(cairn_file_read_private(path, buf, sizeof buf, &len),
                   CAIRN_ERR_NOT_FOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_all),
      cmocka_unit_test(test_read_large_and_errors),
      cmocka_unit_test(test_write_atomic),
      cmocka_unit_test(test_write_errors),
      cmocka_unit_test(test_check_private),
      cmocka_unit_test(test_read_private),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
