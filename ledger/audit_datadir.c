/*
 * audit_datadir.c - a node's data directory as an audit source, read by a
 * separate reader process.
 *
 * The auditor must survive the data it audits. LMDB keeps no checksums and
 * trusts its file completely: experiments flipping single bytes of a
 * data.mdb showed that a damaged branch or leaf page makes LMDB read
 * outside the memory map (SIGSEGV, or SIGBUS past the end of the file) or
 * trip one of its own assertions (SIGABRT), about once per thousand random
 * flips. A signal handler cannot recover from that safely - LMDB and our
 * store hold locks and half-updated cursors - so the reading is done where
 * a crash does no harm: in a child process.
 *
 * The parent forks a reader that opens the store read-only, starts one
 * read transaction (one consistent snapshot for the whole audit, safe next
 * to a running node) and answers requests on a socket pair:
 *
 *   request   op u8 | arg u64                 (9 bytes)
 *   answer    kind u8 | code u16 | len u32 | len bytes of payload
 *
 *   HELLO  (sent unasked once the store is open)  tip [80] | genesis bytes
 *   BLOCK h   -> BLOCK: block_len u32 | block | commit   or ERR
 *   SCAN t    -> REC* (klen u16 | key | value) then END  or ERR
 *   KEYS t    -> KEY* (key) then END                     or ERR
 *   ERR: code is a cairn_err, the payload a sentence.
 *
 * If the reader dies, the parent sees the socket close, collects the exit
 * status, and reports the data as CORRUPT at the height or table it had
 * asked for - a finding, like any other damaged record. A reader that stops
 * answering is killed after CAIRN_AUDIT_READER_TIMEOUT_MS.
 *
 * The reader checks every length against its limit before sending, and the
 * parent checks again before trusting a frame (never one layer alone).
 * Closing the source closes the socket; the reader then ends its read
 * transaction and exits, so no stale reader slot pins the node's pages.
 *
 * Comparing the node's derived tables with the replica is a merge of two
 * sorted streams - the reader's scan and the replica's - in LMDB's key
 * order (bytes, then length). The first key where they differ is the first
 * difference; a stream that is not strictly ascending is itself corrupt.
 * The blocks and commits tables are checked by key only (heights 1..tip,
 * nothing more): their contents were replayed already. A scan's frames are
 * batched into large writes by the reader and read in large reads by the
 * parent; framing and every check are the same as frame by frame.
 */
#define _XOPEN_SOURCE 700

#include "cairn/audit.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/block.h"
#include "cairn/encoding.h"
#include "cairn/genesis.h"

#define DD_OP_BLOCK 1u
#define DD_OP_SCAN 2u
#define DD_OP_KEYS 3u
#define DD_REQ_BYTES 9u

#define DD_F_HELLO 1u
#define DD_F_BLOCK 2u
#define DD_F_REC 3u
#define DD_F_KEY 4u
#define DD_F_END 5u
#define DD_F_ERR 6u
#define DD_HEAD_BYTES 7u

/* height u64 | hash [32] | app hash [32] | time_ms u64 */
#define DD_TIP_BYTES 80u
/* LMDB's compiled-in key limit. */
#define DD_KEY_BYTES_MAX 511u
/* The largest value of a scanned table: the genesis in meta. */
#define DD_VALUE_BYTES_MAX CAIRN_GENESIS_BYTES_MAX
#define DD_MSG_BYTES_MAX 512u
/* The largest payload: a block answer. */
#define DD_PAYLOAD_BYTES_MAX                                                   \
  (4u + CAIRN_BLOCK_BYTES_MAX + CAIRN_COMMIT_BYTES_MAX)
/* Bytes of a differing value quoted in a finding. */
#define DD_SHOW_BYTES 96u
#define DD_META_GENESIS "genesis"
/* Closing waits at most DD_CLOSE_POLLS silences of DD_CLOSE_POLL_MS for
 * the reader to finish what it was sending and exit. */
#define DD_CLOSE_POLLS 1000
#define DD_CLOSE_POLL_MS 2000
/* Both ends of a scan batch their frames through a buffer of this size:
 * a table holds one small record per account, coupon and transaction, and
 * a system call per record (or two: header and payload) would cost more
 * than reading the record. */
#define DD_IO_BUF_BYTES 65536u

_Static_assert(DD_IO_BUF_BYTES >= DD_HEAD_BYTES + 2 + DD_KEY_BYTES_MAX,
               "a key frame fits the buffer");

_Static_assert(DD_VALUE_BYTES_MAX + DD_KEY_BYTES_MAX + 2 <=
                   DD_PAYLOAD_BYTES_MAX,
               "a record fits a frame");
_Static_assert(CAIRN_VALUE_BYTES_MAX <= DD_VALUE_BYTES_MAX,
               "state values fit a frame");

typedef struct dd_source {
  pid_t pid;
  int fd;
  char dir[CAIRN_AUDIT_NAME_BYTES];
  uint8_t *buf; /* payload of the last frame */
  size_t len;
  uint8_t in[DD_IO_BUF_BYTES]; /* received, not yet taken: in[in_pos..in_len) */
  size_t in_pos, in_len;
  uint8_t kind;
  uint16_t code;
  cairn_genesis *genesis;
  cairn_audit_tip tip;
  char doing[96]; /* what was asked last, for a dead reader's message */
} dd_source;

__attribute__((format(printf, 4, 5))) static cairn_err
dd_say(char *why, size_t why_cap, cairn_err err, const char *fmt, ...) {
  if (why != NULL && why_cap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_cap, fmt, ap);
    va_end(ap);
  }
  return err;
}

/* ---- socket I/O shared by both sides ---- */

static bool dd_send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k;
    n -= (size_t)k;
  }
  return true;
}

/* Read exactly n bytes. 1: done, 0: the other end is gone (end of stream
 * or connection reset), -1: another error, -2: silence for timeout_ms
 * (< 0: wait for ever). */
static int dd_recv_all(int fd, void *p, size_t n, int timeout_ms) {
  uint8_t *b = p;
  while (n > 0) {
    if (timeout_ms >= 0) {
      struct pollfd pfd = {.fd = fd, .events = POLLIN};
      int rc = poll(&pfd, 1, timeout_ms);
      if (rc < 0 && errno == EINTR) continue;
      if (rc == 0) return -2;
      if (rc < 0) return -1;
    }
    ssize_t k = recv(fd, b, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0 || (k < 0 && errno == ECONNRESET)) return 0;
    if (k < 0) return -1;
    b += k;
    n -= (size_t)k;
  }
  return 1;
}

static void dd_head_write(uint8_t h[DD_HEAD_BYTES], uint8_t kind,
                          uint16_t code, uint32_t len) {
  h[0] = kind;
  h[1] = (uint8_t)(code >> 8);
  h[2] = (uint8_t)code;
  cairn_be32_write(h + 3, len);
}

static bool dd_send_head(int fd, uint8_t kind, uint16_t code, uint32_t len) {
  uint8_t h[DD_HEAD_BYTES];
  dd_head_write(h, kind, code, len);
  return dd_send_all(fd, h, sizeof h);
}

/* ---- the reader process ---- */

typedef struct dd_reader {
  int fd;
  const char *dir;
  cairn_store *store;
  cairn_rtxn *r;
  bool broken; /* the parent is gone */
  uint8_t out[DD_IO_BUF_BYTES]; /* scan frames not yet sent */
  size_t out_len;
} dd_reader;

/* Send what the scan buffer holds. */
static void dd_reader_flush(dd_reader *rd) {
  if (rd->out_len > 0 && !rd->broken)
    rd->broken = !dd_send_all(rd->fd, rd->out, rd->out_len);
  rd->out_len = 0;
}

/* Queue n bytes of a scan answer, sending the buffer when it is full. */
static void dd_reader_put(dd_reader *rd, const void *p, size_t n) {
  assert(rd->out_len <= sizeof rd->out);
  if (rd->out_len + n > sizeof rd->out) dd_reader_flush(rd);
  if (n > sizeof rd->out) {
    if (!rd->broken) rd->broken = !dd_send_all(rd->fd, p, n);
    return;
  }
  if (n > 0) memcpy(rd->out + rd->out_len, p, n);
  rd->out_len += n;
}

/* Queue one frame header of a scan answer. */
static void dd_reader_put_head(dd_reader *rd, uint8_t kind, uint32_t len) {
  uint8_t h[DD_HEAD_BYTES];
  dd_head_write(h, kind, 0, len);
  dd_reader_put(rd, h, sizeof h);
}

__attribute__((format(printf, 3, 4))) static bool
dd_send_err(dd_reader *rd, cairn_err err, const char *fmt, ...) {
  char msg[DD_MSG_BYTES_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  size_t len = n < 0 ? 0 : (size_t)n >= sizeof msg ? sizeof msg - 1
                                                    : (size_t)n;
  bool ok = dd_send_head(rd->fd, DD_F_ERR, (uint16_t)err, (uint32_t)len) &&
            dd_send_all(rd->fd, msg, len);
  rd->broken |= !ok;
  return ok;
}

/* Open the store and send HELLO, or the reason it cannot be read. */
static bool dd_reader_open(dd_reader *rd) {
  cairn_store_opts opts = {.read_only = true};
  cairn_tip tip;
  const uint8_t *g = NULL;
  size_t glen = 0;
  cairn_err err = cairn_store_open(&rd->store, rd->dir, &opts);
  if (err == CAIRN_OK) err = cairn_store_read_begin(rd->store, &rd->r);
  if (err != CAIRN_OK) {
    (void)dd_send_err(rd, err, "cannot open a Cairn store in %s: %s", rd->dir,
                      cairn_strerror(err));
    return false;
  }
  err = cairn_store_tip(rd->r, &tip);
  if (err != CAIRN_OK) {
    (void)dd_send_err(rd, err, "the store in %s has no readable tip: %s",
                      rd->dir, cairn_strerror(err));
    return false;
  }
  err = cairn_store_get(rd->r, CAIRN_T_META, (const uint8_t *)DD_META_GENESIS,
                        strlen(DD_META_GENESIS), &g, &glen);
  if (err == CAIRN_OK && glen > CAIRN_GENESIS_BYTES_MAX)
    err = CAIRN_ERR_CORRUPT;
  if (err != CAIRN_OK) {
    (void)dd_send_err(rd, err, "the store in %s has no readable genesis: %s",
                      rd->dir, cairn_strerror(err));
    return false;
  }
  uint8_t t[DD_TIP_BYTES];
  cairn_be64_write(t, tip.height);
  memcpy(t + 8, tip.hash, 32);
  memcpy(t + 40, tip.app_hash, 32);
  cairn_be64_write(t + 72, tip.time_ms);
  bool ok = dd_send_head(rd->fd, DD_F_HELLO, 0, (uint32_t)(sizeof t + glen)) &&
            dd_send_all(rd->fd, t, sizeof t) && dd_send_all(rd->fd, g, glen);
  rd->broken |= !ok;
  return ok;
}

static void dd_reader_block(dd_reader *rd, uint64_t h) {
  const uint8_t *b = NULL, *c = NULL;
  size_t blen = 0, clen = 0;
  uint8_t key[8];
  cairn_be64_write(key, h);
  cairn_err err = cairn_store_get(rd->r, CAIRN_T_BLOCKS, key, 8, &b, &blen);
  cairn_err cerr = err == CAIRN_OK ? cairn_store_get(rd->r, CAIRN_T_COMMITS,
                                                     key, 8, &c, &clen)
                                   : CAIRN_OK;
  if (err == CAIRN_ERR_NOT_FOUND) {
    (void)dd_send_err(rd, err, "there is no block record at height %llu",
                      (unsigned long long)h);
  } else if (cerr == CAIRN_ERR_NOT_FOUND) {
    (void)dd_send_err(rd, cerr, "the block at height %llu has no commit "
                      "record", (unsigned long long)h);
  } else if (err != CAIRN_OK || cerr != CAIRN_OK) {
    (void)dd_send_err(rd, CAIRN_ERR_CORRUPT, "the records at height %llu "
                      "cannot be read: %s", (unsigned long long)h,
                      cairn_store_errstr(rd->store));
  } else if (blen > CAIRN_BLOCK_BYTES_MAX || clen > CAIRN_COMMIT_BYTES_MAX) {
    (void)dd_send_err(rd, CAIRN_ERR_CORRUPT, "the records at height %llu "
                      "are %zu and %zu bytes, over the block and commit "
                      "limits", (unsigned long long)h, blen, clen);
  } else {
    uint8_t n[4];
    cairn_be32_write(n, (uint32_t)blen);
    rd->broken |= !(dd_send_head(rd->fd, DD_F_BLOCK, 0,
                                 (uint32_t)(4 + blen + clen)) &&
                    dd_send_all(rd->fd, n, 4) &&
                    dd_send_all(rd->fd, b, blen) &&
                    dd_send_all(rd->fd, c, clen));
  }
}

typedef struct dd_scan_ctx {
  dd_reader *rd;
  bool keys_only;
  cairn_err err; /* a record over the limits */
  size_t klen, vlen;
} dd_scan_ctx;

static int dd_reader_visit(void *ctx, const uint8_t *key, size_t klen,
                           const uint8_t *val, size_t vlen) {
  dd_scan_ctx *s = ctx;
  /* Keys-only scans send no value, so any value size is fine there. */
  bool too_big = klen > DD_KEY_BYTES_MAX ||
                 (!s->keys_only && vlen > DD_VALUE_BYTES_MAX);
  if (too_big) {
    s->err = CAIRN_ERR_CORRUPT;
    s->klen = klen;
    s->vlen = vlen;
    return 1;
  }
  dd_reader *rd = s->rd;
  if (s->keys_only) {
    dd_reader_put_head(rd, DD_F_KEY, (uint32_t)klen);
    dd_reader_put(rd, key, klen);
  } else {
    uint8_t n[2] = {(uint8_t)(klen >> 8), (uint8_t)klen};
    dd_reader_put_head(rd, DD_F_REC, (uint32_t)(2 + klen + vlen));
    dd_reader_put(rd, n, 2);
    dd_reader_put(rd, key, klen);
    dd_reader_put(rd, val, vlen);
  }
  return rd->broken ? 1 : 0;
}

static void dd_reader_scan(dd_reader *rd, uint64_t table, bool keys_only) {
  static const uint8_t all[1] = {0};
  dd_scan_ctx s = {.rd = rd, .keys_only = keys_only};
  const char *name = cairn_audit_table_name((cairn_table)table);
  if (strcmp(name, "unknown") == 0) {
    (void)dd_send_err(rd, CAIRN_ERR_ARG, "no table %llu",
                      (unsigned long long)table);
    return;
  }
  cairn_err err = cairn_store_scan(rd->r, (cairn_table)table, all, 0,
                                   SIZE_MAX, dd_reader_visit, &s);
  /* The records before an error frame are sent ahead of it, as the
   * parent reads them; the END frame goes out with the last batch. */
  bool ok = s.err == CAIRN_OK && err == CAIRN_OK;
  if (ok) dd_reader_put_head(rd, DD_F_END, 0);
  dd_reader_flush(rd);
  if (rd->broken || ok) return;
  if (s.err != CAIRN_OK)
    (void)dd_send_err(rd, s.err, "table %s holds a record of %zu + %zu "
                      "bytes, over the limits", name, s.klen, s.vlen);
  else
    (void)dd_send_err(rd, CAIRN_ERR_CORRUPT, "table %s cannot be read: %s",
                      name, cairn_store_errstr(rd->store));
}

/* The reader's life: open, answer until the parent hangs up, clean up.
 * Handlers the auditor's process installed are not the reader's: a fault
 * must end the reader with its signal, for the parent to see. */
__attribute__((noreturn)) static void dd_reader_main(int fd,
                                                     const char *dir) {
  static const int faults[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL,
                               SIGINT, SIGTERM};
  for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
    (void)signal(faults[i], SIG_DFL);
  dd_reader rd = {.fd = fd, .dir = dir};
  uint8_t req[DD_REQ_BYTES];
  if (dd_reader_open(&rd)) {
    while (!rd.broken && dd_recv_all(fd, req, sizeof req, -1) == 1) {
      uint64_t arg = cairn_be64_read(req + 1);
      if (req[0] == DD_OP_BLOCK) dd_reader_block(&rd, arg);
      else if (req[0] == DD_OP_SCAN) dd_reader_scan(&rd, arg, false);
      else if (req[0] == DD_OP_KEYS) dd_reader_scan(&rd, arg, true);
      else break;
    }
  }
  if (rd.r != NULL) cairn_store_read_end(rd.r);
  if (rd.store != NULL) cairn_store_close(rd.store);
  close(fd);
  _exit(0);
}

/* ---- the auditor's side ---- */

/* Collect the reader's exit status after it hung up or was killed. */
static cairn_err dd_reader_died(dd_source *dd, char *why, size_t why_cap) {
  int status = 0;
  pid_t r = dd->pid > 0 ? waitpid(dd->pid, &status, 0) : -1;
  dd->pid = -1;
  if (r > 0 && WIFSIGNALED(status))
    return dd_say(why, why_cap, CAIRN_ERR_CORRUPT, "the reader of %s died of "
                  "signal %d (%s) while reading %s: the data file is damaged",
                  dd->dir, WTERMSIG(status), strsignal(WTERMSIG(status)),
                  dd->doing);
  return dd_say(why, why_cap, CAIRN_ERR_INTERNAL, "the reader of %s stopped "
                "while reading %s (exit status %d)", dd->dir, dd->doing,
                r > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Read exactly n bytes of the reader's stream through dd->in; the same
 * results as dd_recv_all. Waits (and the timeout) only when the buffer is
 * empty; a payload larger than the buffer is read straight into p. */
static int dd_recv_buffered(dd_source *dd, uint8_t *p, size_t n,
                            int timeout_ms) {
  assert(dd->in_pos <= dd->in_len && dd->in_len <= sizeof dd->in);
  while (n > 0) {
    size_t have = dd->in_len - dd->in_pos;
    if (have > 0) {
      size_t k = have < n ? have : n;
      memcpy(p, dd->in + dd->in_pos, k);
      dd->in_pos += k;
      p += k;
      n -= k;
      continue;
    }
    if (n >= sizeof dd->in) return dd_recv_all(dd->fd, p, n, timeout_ms);
    struct pollfd pfd = {.fd = dd->fd, .events = POLLIN};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) return -2;
    if (rc < 0) return -1;
    ssize_t k = recv(dd->fd, dd->in, sizeof dd->in, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0 || (k < 0 && errno == ECONNRESET)) return 0;
    if (k < 0) return -1;
    dd->in_pos = 0;
    dd->in_len = (size_t)k;
  }
  return 1;
}

/* Receive one frame into dd->kind/code/buf/len. An ERR frame becomes its
 * error code with its sentence in why. */
static cairn_err dd_recv_frame(dd_source *dd, char *why, size_t why_cap) {
  uint8_t h[DD_HEAD_BYTES];
  if (dd->pid <= 0)
    return dd_say(why, why_cap, CAIRN_ERR_INTERNAL, "the reader of %s has "
                  "already stopped", dd->dir);
  int rc = dd_recv_buffered(dd, h, sizeof h, CAIRN_AUDIT_READER_TIMEOUT_MS);
  uint32_t len = rc == 1 ? cairn_be32_read(h + 3) : 0;
  if (rc == 1 && len > DD_PAYLOAD_BYTES_MAX) rc = -1;
  if (rc == 1)
    rc = dd_recv_buffered(dd, dd->buf, len, CAIRN_AUDIT_READER_TIMEOUT_MS);
  if (rc == -1) (void)kill(dd->pid, SIGKILL); /* the socket failed */
  if (rc == 0 || rc == -1) return dd_reader_died(dd, why, why_cap);
  if (rc < 0) {
    (void)kill(dd->pid, SIGKILL);
    (void)dd_reader_died(dd, NULL, 0);
    return dd_say(why, why_cap, CAIRN_ERR_CORRUPT, "the reader of %s did not "
                  "answer within %d s while reading %s", dd->dir,
                  CAIRN_AUDIT_READER_TIMEOUT_MS / 1000, dd->doing);
  }
  dd->kind = h[0];
  dd->code = (uint16_t)((h[1] << 8) | h[2]);
  dd->len = len;
  if (dd->kind != DD_F_ERR) return CAIRN_OK;
  int n = len > DD_MSG_BYTES_MAX ? (int)DD_MSG_BYTES_MAX : (int)len;
  cairn_err err = dd->code != 0 ? (cairn_err)dd->code : CAIRN_ERR_INTERNAL;
  return dd_say(why, why_cap, err, "%.*s", n, (const char *)dd->buf);
}

static cairn_err dd_request(dd_source *dd, uint8_t op, uint64_t arg,
                            char *why, size_t why_cap) {
  uint8_t req[DD_REQ_BYTES];
  req[0] = op;
  cairn_be64_write(req + 1, arg);
  /* A reader that is gone shows up as the end of its stream. */
  if (dd->pid > 0 && !dd_send_all(dd->fd, req, sizeof req))
    return dd_reader_died(dd, why, why_cap);
  return CAIRN_OK;
}

/* Hang up and wait (a bounded time) for the reader to finish: it ends
 * its read transaction and exits when its socket reaches end of stream. A
 * reader stuck inside a damaged file is killed. */
static void dd_close(void *ctx) {
  dd_source *dd = ctx;
  if (dd == NULL) return;
  bool gone = dd->pid <= 0;
  if (dd->fd >= 0 && !gone && shutdown(dd->fd, SHUT_WR) == 0) {
    uint8_t sink[4096];
    for (int i = 0; i < DD_CLOSE_POLLS && !gone; i++) {
      struct pollfd pfd = {.fd = dd->fd, .events = POLLIN};
      if (poll(&pfd, 1, DD_CLOSE_POLL_MS) <= 0) break;
      gone = recv(dd->fd, sink, sizeof sink, 0) <= 0;
    }
  }
  if (dd->fd >= 0) close(dd->fd);
  if (dd->pid > 0) {
    if (!gone) (void)kill(dd->pid, SIGKILL);
    (void)waitpid(dd->pid, NULL, 0);
  }
  free(dd->buf);
  free(dd->genesis);
  free(dd);
}

/* Genesis and tip were read and checked when the source opened. */
static cairn_err dd_genesis(void *ctx, cairn_genesis *out, char *why,
                            size_t why_cap) {
  *out = *((dd_source *)ctx)->genesis;
  return dd_say(why, why_cap, CAIRN_OK, "%s", "");
}

static cairn_err dd_tip(void *ctx, cairn_audit_tip *out, char *why,
                        size_t why_cap) {
  *out = ((dd_source *)ctx)->tip;
  return dd_say(why, why_cap, CAIRN_OK, "%s", "");
}

static cairn_err dd_block(void *ctx, uint64_t height, const uint8_t **block,
                          size_t *block_len, const uint8_t **commit,
                          size_t *commit_len, char *why, size_t why_cap) {
  dd_source *dd = ctx;
  *block = *commit = NULL;
  *block_len = *commit_len = 0;
  snprintf(dd->doing, sizeof dd->doing, "the block at height %llu",
           (unsigned long long)height);
  CAIRN_TRY(dd_request(dd, DD_OP_BLOCK, height, why, why_cap));
  CAIRN_TRY(dd_recv_frame(dd, why, why_cap));
  uint32_t blen = dd->len >= 4 ? cairn_be32_read(dd->buf) : 0;
  if (dd->kind != DD_F_BLOCK || dd->len < 4 || blen > dd->len - 4)
    return dd_say(why, why_cap, CAIRN_ERR_INTERNAL, "the reader of %s sent a "
                  "malformed answer for height %llu", dd->dir,
                  (unsigned long long)height);
  *block = dd->buf + 4;
  *block_len = blen;
  *commit = dd->buf + 4 + blen;
  *commit_len = dd->len - 4 - blen;
  return CAIRN_OK;
}

/* Take the HELLO frame: the tip and the genesis. */
static cairn_err dd_hello(dd_source *dd, char *why, size_t why_cap) {
  snprintf(dd->doing, sizeof dd->doing, "its genesis and tip");
  CAIRN_TRY(dd_recv_frame(dd, why, why_cap));
  if (dd->kind != DD_F_HELLO || dd->len < DD_TIP_BYTES)
    return dd_say(why, why_cap, CAIRN_ERR_INTERNAL, "the reader of %s sent a "
                  "malformed greeting", dd->dir);
  dd->tip.height = cairn_be64_read(dd->buf);
  memcpy(dd->tip.hash, dd->buf + 8, 32);
  memcpy(dd->tip.app_hash, dd->buf + 40, 32);
  cairn_err err = cairn_genesis_decode(dd->genesis, dd->buf + DD_TIP_BYTES,
                                       dd->len - DD_TIP_BYTES);
  if (err != CAIRN_OK)
    return dd_say(why, why_cap, CAIRN_ERR_CORRUPT, "the genesis stored in %s "
                  "does not decode: %s", dd->dir, cairn_strerror(err));
  return CAIRN_OK;
}

static cairn_err dd_start(dd_source *dd, const char *dir, char *why,
                          size_t why_cap) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return dd_say(why, why_cap, CAIRN_ERR_IO, "cannot create a socket for "
                  "the reader: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return dd_say(why, why_cap, CAIRN_ERR_IO, "cannot start the reader "
                  "process: %s", strerror(e));
  }
  if (pid == 0) {
    close(sv[0]);
    dd_reader_main(sv[1], dir); /* never returns */
  }
  close(sv[1]);
  dd->fd = sv[0];
  dd->pid = pid;
  return dd_hello(dd, why, why_cap);
}

/* ---- comparing derived tables: a merge of two sorted streams ---- */

/* One record of the reader's stream; pointers into dd->buf. */
typedef struct dd_rec {
  bool end;
  const uint8_t *key;
  size_t klen;
  const uint8_t *val;
  size_t vlen;
} dd_rec;

typedef struct dd_merge {
  dd_source *dd;
  cairn_table table;
  dd_rec cur;
  uint8_t last[DD_KEY_BYTES_MAX]; /* previous stored key: order check */
  size_t last_len;
  bool have_last;
  bool found;    /* a difference has been written to why */
  cairn_err err; /* the stream failed */
  char *why;
  size_t why_cap;
} dd_merge;

/* Keys in LMDB's default order: bytes, then length. */
static int dd_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = n > 0 ? memcmp(a, b, n) : 0;
  if (c != 0) return c;
  return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Hex of at most DD_SHOW_BYTES bytes, "absent" or "(empty)". */
static void dd_show(char *out, size_t cap, const uint8_t *v, size_t n) {
  assert(cap >= 2 * DD_SHOW_BYTES + 32);
  if (v == NULL) {
    snprintf(out, cap, "absent");
  } else if (n == 0) {
    snprintf(out, cap, "(empty)");
  } else {
    size_t shown = n < DD_SHOW_BYTES ? n : DD_SHOW_BYTES;
    cairn_hex_encode(out, cap, v, shown);
    if (shown < n)
      snprintf(out + 2 * shown, cap - 2 * shown, "... (%zu bytes)", n);
  }
}

static void dd_merge_differ(dd_merge *m, const uint8_t *key, size_t klen,
                            const uint8_t *stored, size_t slen,
                            const uint8_t *replay, size_t rlen) {
  char k[2 * DD_SHOW_BYTES + 32];
  char a[2 * DD_SHOW_BYTES + 32], b[2 * DD_SHOW_BYTES + 32];
  dd_show(k, sizeof k, key, klen);
  dd_show(a, sizeof a, stored, slen);
  dd_show(b, sizeof b, replay, rlen);
  m->found = true;
  (void)dd_say(m->why, m->why_cap, CAIRN_ERR_CORRUPT, "table %s, key %s: "
               "stored %s, replay %s", cairn_audit_table_name(m->table), k, a,
               b);
}

/* Pull the next stored record, checking the stream's order. */
static void dd_merge_next(dd_merge *m, bool keys_only) {
  dd_source *dd = m->dd;
  dd_rec *r = &m->cur;
  memset(r, 0, sizeof *r);
  m->err = dd_recv_frame(dd, m->why, m->why_cap);
  if (m->err != CAIRN_OK) return;
  if (dd->kind == DD_F_END) {
    r->end = true;
    return;
  }
  size_t klen = keys_only      ? dd->len
                 : dd->len >= 2 ? ((size_t)dd->buf[0] << 8) | dd->buf[1]
                                : SIZE_MAX;
  size_t off = keys_only ? 0 : 2;
  if (dd->kind != (keys_only ? DD_F_KEY : DD_F_REC) || klen > dd->len - off ||
      klen > DD_KEY_BYTES_MAX) {
    m->err = dd_say(m->why, m->why_cap, CAIRN_ERR_INTERNAL, "the reader of "
                    "%s sent a malformed record", dd->dir);
    return;
  }
  *r = (dd_rec){false, dd->buf + off, klen, dd->buf + off + klen,
                dd->len - off - klen};
  if (m->have_last &&
      dd_key_cmp(m->last, m->last_len, r->key, r->klen) >= 0 && !m->found) {
    char k[2 * DD_SHOW_BYTES + 32];
    dd_show(k, sizeof k, r->key, r->klen);
    m->found = true;
    (void)dd_say(m->why, m->why_cap, CAIRN_ERR_CORRUPT, "table %s is not in "
                 "key order at key %s", cairn_audit_table_name(m->table), k);
  }
  memcpy(m->last, r->key, r->klen);
  m->last_len = r->klen;
  m->have_last = true;
}

/* The replica's records, one by one, against the stored stream. */
static int dd_merge_visit(void *ctx, const uint8_t *key, size_t klen,
                          const uint8_t *val, size_t vlen) {
  dd_merge *m = ctx;
  if (m->found || m->err != CAIRN_OK) return 1;
  const dd_rec *c = &m->cur;
  int cmp = c->end ? 1 : dd_key_cmp(c->key, c->klen, key, klen);
  if (cmp < 0) {
    dd_merge_differ(m, c->key, c->klen, c->val, c->vlen, NULL, 0);
  } else if (cmp > 0) {
    dd_merge_differ(m, key, klen, NULL, 0, val, vlen);
  } else if (c->vlen != vlen ||
             (vlen > 0 && memcmp(c->val, val, vlen) != 0)) {
    dd_merge_differ(m, key, klen, c->val, c->vlen, val, vlen);
  } else {
    dd_merge_next(m, false);
    return m->found || m->err != CAIRN_OK;
  }
  return 1;
}

/* Read what is left of a stream after a difference, to keep in step. */
static void dd_merge_drain(dd_merge *m, bool keys_only) {
  while (m->err == CAIRN_OK && !m->cur.end) dd_merge_next(m, keys_only);
}

static cairn_err dd_compare_table(dd_source *dd, cairn_rtxn *replica,
                                  cairn_table t, char *why, size_t why_cap) {
  static const uint8_t all[1] = {0};
  dd_merge mm = {.dd = dd, .table = t, .why = why, .why_cap = why_cap};
  dd_merge *m = &mm;
  snprintf(dd->doing, sizeof dd->doing, "table %s",
           cairn_audit_table_name(t));
  m->err = dd_request(dd, DD_OP_SCAN, (uint64_t)t, why, why_cap);
  if (m->err == CAIRN_OK) dd_merge_next(m, false);
  cairn_err err = CAIRN_OK;
  if (m->err == CAIRN_OK && !m->found)
    err = cairn_store_scan(replica, t, all, 0, SIZE_MAX, dd_merge_visit, m);
  if (err == CAIRN_OK && m->err == CAIRN_OK && !m->found && !m->cur.end)
    dd_merge_differ(m, m->cur.key, m->cur.klen, m->cur.val, m->cur.vlen,
                    NULL, 0);
  dd_merge_drain(m, false);
  if (err != CAIRN_OK)
    (void)dd_say(why, why_cap, err, "cannot read table %s of the replica: %s",
                 cairn_audit_table_name(t), cairn_strerror(err));
  else if (m->found) err = CAIRN_ERR_CORRUPT;
  else err = m->err;
  return err;
}

/* Blocks and commits: exactly the heights 1..tip, by key. */
static cairn_err dd_check_heights(dd_source *dd, cairn_table t, char *why,
                                  size_t why_cap) {
  dd_merge m = {.dd = dd, .table = t, .why = why, .why_cap = why_cap};
  const char *name = cairn_audit_table_name(t);
  unsigned long long tip = dd->tip.height;
  snprintf(dd->doing, sizeof dd->doing, "the keys of table %s", name);
  m.err = dd_request(dd, DD_OP_KEYS, (uint64_t)t, why, why_cap);
  for (uint64_t h = 1; m.err == CAIRN_OK && !m.found; h++) {
    dd_merge_next(&m, true);
    if (m.err != CAIRN_OK || m.found) break;
    if (m.cur.end) {
      if (h - 1 != tip)
        m.found = dd_say(why, why_cap, CAIRN_ERR_CORRUPT, "table %s lacks "
                         "height %llu (the tip is %llu)", name,
                         (unsigned long long)h, tip) != CAIRN_OK;
      break;
    }
    bool height_key = m.cur.klen == 8;
    uint64_t k = height_key ? cairn_be64_read(m.cur.key) : 0;
    if (height_key && k == h && h <= tip) continue;
    if (height_key && k > tip)
      m.found = dd_say(why, why_cap, CAIRN_ERR_CORRUPT, "table %s holds a "
                       "record at height %llu, above the tip (height %llu)",
                       name, (unsigned long long)k, tip) != CAIRN_OK;
    else
      m.found = dd_say(why, why_cap, CAIRN_ERR_CORRUPT, "table %s holds a "
                       "record with a key of %zu bytes where height %llu "
                       "belongs", name, m.cur.klen,
                       (unsigned long long)h) != CAIRN_OK;
  }
  dd_merge_drain(&m, true);
  return m.found ? CAIRN_ERR_CORRUPT : m.err;
}

static cairn_err dd_compare(void *ctx, cairn_store *replica,
                            cairn_table *table, char *why, size_t why_cap) {
  static const cairn_table chain_tables[] = {
      CAIRN_T_META, CAIRN_T_BLOCK_INDEX, CAIRN_T_TX_INDEX, CAIRN_T_BLOCKS,
      CAIRN_T_COMMITS};
  dd_source *dd = ctx;
  cairn_rtxn *r = NULL;
  *table = 0;
  cairn_err err = cairn_store_read_begin(replica, &r);
  if (err != CAIRN_OK)
    return dd_say(why, why_cap, err, "cannot read the replica: %s",
                  cairn_strerror(err));
  size_t n_chain = sizeof chain_tables / sizeof chain_tables[0];
  size_t n_state = CAIRN_STATE_TABLE_MAX - CAIRN_STATE_TABLE_MIN + 1;
  for (size_t i = 0; err == CAIRN_OK && i < n_state + n_chain; i++) {
    cairn_table t = i < n_state
                        ? (cairn_table)(CAIRN_STATE_TABLE_MIN + (int)i)
                        : chain_tables[i - n_state];
    *table = t;
    if (t == CAIRN_T_BLOCKS || t == CAIRN_T_COMMITS)
      err = dd_check_heights(dd, t, why, why_cap);
    else
      err = dd_compare_table(dd, r, t, why, why_cap);
  }
  cairn_store_read_end(r);
  if (err == CAIRN_OK) *table = 0;
  return err;
}

cairn_err cairn_audit_source_datadir(cairn_audit_source *out, const char *dir,
                                     char *why, size_t why_cap) {
  assert(out != NULL && dir != NULL);
  memset(out, 0, sizeof *out);
  dd_source *dd = calloc(1, sizeof *dd);
  if (dd == NULL) return dd_say(why, why_cap, CAIRN_ERR_NOMEM, "out of memory");
  dd->fd = -1;
  dd->pid = -1;
  snprintf(dd->dir, sizeof dd->dir, "%s", dir);
  dd->buf = malloc(DD_PAYLOAD_BYTES_MAX);
  dd->genesis = malloc(sizeof *dd->genesis);
  cairn_err err = dd->buf != NULL && dd->genesis != NULL
                      ? dd_start(dd, dir, why, why_cap)
                      : dd_say(why, why_cap, CAIRN_ERR_NOMEM, "out of memory");
  if (err != CAIRN_OK) {
    dd_close(dd);
    return err;
  }
  out->ctx = dd;
  snprintf(out->name, sizeof out->name, "data directory %s", dir);
  out->genesis = dd_genesis;
  out->tip = dd_tip;
  out->block = dd_block;
  out->compare = dd_compare;
  out->close = dd_close;
  return CAIRN_OK;
}
