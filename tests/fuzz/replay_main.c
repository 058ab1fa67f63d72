/*
 * tests/fuzz/replay_main.c - run a fuzz target over saved inputs, without
 * libFuzzer.
 *
 * `make test` links every fuzz target with this main (using the normal
 * compiler, so gcc builds and SANITIZE=1 builds replay too) and passes it
 * the target's corpus directory: each file becomes one call of
 * LLVMFuzzerTestOneInput, exactly as libFuzzer would make it. Every crash
 * the fuzzer ever found is kept in the corpus, so this is the regression
 * test that keeps it fixed; the seeds and the minimised corpus also walk
 * the accepted paths, whose properties (round trips) the targets check.
 *
 * Arguments are files or directories (not recursive); directory entries
 * are sorted, so runs are repeatable. Each input is copied into a heap
 * buffer of exactly its size, so AddressSanitizer flags a read one byte past
 * the end. A property failure aborts, which fails the run; tests/fuzz/
 * replay.sh then replays the files one by one to name the culprit.
 *
 * Prints "<program>: N inputs" and exits 0, or 1 if an argument cannot be
 * read (an empty or missing corpus is an error: it would test nothing).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Corpus files are small; anything bigger is a mistake, not an input. */
#define REPLAY_INPUT_BYTES_MAX (8u * 1024u * 1024u)
#define REPLAY_DIR_ENTRIES_MAX 100000u

/* Read path and run the target on it. 0 on success, -1 if unreadable. */
static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  uint8_t *buf = malloc(REPLAY_INPUT_BYTES_MAX);
  if (buf == NULL) {
    fclose(f);
    fprintf(stderr, "replay: out of memory\n");
    return -1;
  }
  size_t n = fread(buf, 1, REPLAY_INPUT_BYTES_MAX, f);
  int bad = ferror(f) || (n == REPLAY_INPUT_BYTES_MAX && fgetc(f) != EOF);
  fclose(f);
  if (bad) {
    free(buf);
    fprintf(stderr, "replay: cannot read %s (or larger than %u bytes)\n",
            path, REPLAY_INPUT_BYTES_MAX);
    return -1;
  }
  /* Exactly n bytes, so a read past the end is a heap overflow. */
  uint8_t *exact = malloc(n > 0 ? n : 1);
  if (exact == NULL) {
    free(buf);
    return -1;
  }
  if (n > 0) memcpy(exact, buf, n);
  free(buf);
  (void)LLVMFuzzerTestOneInput(n > 0 ? exact : NULL, n);
  free(exact);
  return 0;
}

static int replay_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Replay every regular file of dir in name order; adds to *count. */
static int replay_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char **names = calloc(REPLAY_DIR_ENTRIES_MAX, sizeof *names);
  size_t n = 0;
  int rc = names != NULL ? 0 : -1;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == REPLAY_DIR_ENTRIES_MAX) {
      fprintf(stderr, "replay: more than %u files in %s\n",
              REPLAY_DIR_ENTRIES_MAX, dir);
      rc = -1;
      break;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (names[n] == NULL) {
      rc = -1;
      break;
    }
    snprintf(names[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (rc == 0) qsort(names, n, sizeof *names, replay_cmp);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    struct stat st;
    if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode)) continue;
    rc = replay_file(names[i]);
    if (rc == 0) (*count)++;
  }
  for (size_t i = 0; names != NULL && i < n; i++) free(names[i]);
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  size_t count = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    int rc = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count)
                                 : replay_file(argv[i]);
    if (rc == 0 && !S_ISDIR(st.st_mode)) count++;
    if (rc != 0) return 1;
  }
  if (count == 0) {
    fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  printf("%s: %lu inputs\n", argv[0], (unsigned long)count);
  return 0;
}
