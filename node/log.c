/*
 * node/log.c - one line per event on the node's log stream.
 *
 * A log line is assembled in a fixed buffer and handed to the stream with a
 * single fwrite, so two events never interleave even if the stream is shared
 * with another writer. Messages are sanitised as they are copied: control
 * characters (a newline in an error sentence, say) become spaces, because an
 * event that spans two lines breaks every tool that reads logs line by line.
 * The buffer is bounded (CAIRN_LOG_LINE_BYTES_MAX); an over-long message is
 * cut rather than allocated for, since logging must not fail.
 *
 * The logger is a plain struct passed to whoever logs; there is no global,
 * so tests can run silent loggers side by side with real ones.
 */
#include "cairn/log.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

void cairn_log_init(cairn_log *log, FILE *out, cairn_log_level min_level) {
  assert(log != NULL);
  assert(min_level <= CAIRN_LOG_ERROR);
  log->out = out;
  log->min_level = min_level;
}

static const char *cairn_log_level_name(cairn_log_level level) {
  switch (level) {
    case CAIRN_LOG_DEBUG: return "DEBUG";
    case CAIRN_LOG_INFO: return "INFO";
    case CAIRN_LOG_WARN: return "WARN";
    case CAIRN_LOG_ERROR: return "ERROR";
  }
  return "?";
}

void cairn_log_format_time(char *out, size_t out_cap, uint64_t time_ms) {
  assert(out != NULL && out_cap >= CAIRN_LOG_TIME_BUF);
  time_t secs = (time_t)(time_ms / 1000u);
  struct tm tm;
  if (gmtime_r(&secs, &tm) == NULL) {
    snprintf(out, out_cap, "%s", "0000-00-00T00:00:00.000Z");
    return;
  }
  char day[24];
  size_t n = strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  assert(n > 0);
  (void)n;
  snprintf(out, out_cap, "%s.%03uZ", day, (unsigned)(time_ms % 1000u));
}

void cairn_log_short_hash(char *out, size_t out_cap, const uint8_t hash[32]) {
  static const char digits[] = "0123456789abcdef";
  assert(out != NULL && hash != NULL && out_cap >= CAIRN_LOG_SHORT_HASH_BUF);
  for (size_t i = 0; i < 8; i++) {
    out[2 * i] = digits[hash[i] >> 4];
    out[2 * i + 1] = digits[hash[i] & 0x0f];
  }
  out[16] = '.';
  out[17] = '.';
  out[18] = '\0';
}

void cairn_log_vwrite(const cairn_log *log, cairn_log_level level,
                      const char *fmt, va_list ap) {
  assert(fmt != NULL);
  assert(level <= CAIRN_LOG_ERROR);
  if (log == NULL || log->out == NULL || level < log->min_level) return;
  char line[CAIRN_LOG_LINE_BYTES_MAX];
  char stamp[CAIRN_LOG_TIME_BUF];
  cairn_log_format_time(stamp, sizeof stamp, cairn_clock_wall_ms());
  int head = snprintf(line, sizeof line, "%s %-5s ", stamp,
                      cairn_log_level_name(level));
  assert(head > 0 && (size_t)head < sizeof line);
  int body = vsnprintf(line + head, sizeof line - (size_t)head, fmt, ap);
  size_t len = (size_t)head;
  if (body > 0) {
    size_t room = sizeof line - (size_t)head - 1; /* keep the NUL */
    len += (size_t)body < room ? (size_t)body : room;
  }
  /* One event, one line: no control characters inside the message. */
  for (size_t i = (size_t)head; i < len; i++) {
    if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = ' ';
  }
  assert(len < sizeof line);
  line[len++] = '\n';
  (void)fwrite(line, 1, len, log->out);
  (void)fflush(log->out);
}

void cairn_log_write(const cairn_log *log, cairn_log_level level,
                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cairn_log_vwrite(log, level, fmt, ap);
  va_end(ap);
}
