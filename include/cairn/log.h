/*
 * cairn/log.h - the node's event log: one line per event, on stderr.
 *
 * Every line reads
 *     2026-11-24T05:00:00.123Z INFO  block height=5 txs=3 hash=0a1b..
 * a UTC timestamp with milliseconds, the level padded to five characters,
 * and a message of key=value words. A line is written with one call, so
 * lines never interleave, and any newline inside a message is replaced by a
 * space so that one event is always one line (grep and log shippers rely on
 * it).
 *
 * There is no global logger: whoever logs is handed a cairn_log. Nothing
 * secret is ever passed to it (keys, seeds, passphrases); callers log
 * public keys, hashes and error names only.
 */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cairn_log_level {
  CAIRN_LOG_DEBUG = 0,
  CAIRN_LOG_INFO = 1,
  CAIRN_LOG_WARN = 2,
  CAIRN_LOG_ERROR = 3
} cairn_log_level;

/* The longest line written, including the timestamp; longer messages are
 * cut (the line still ends with a newline). */
#define CAIRN_LOG_LINE_BYTES_MAX 1024

typedef struct cairn_log {
  FILE *out;                 /* NULL: discard every line (tests) */
  cairn_log_level min_level; /* lines below this level are dropped */
} cairn_log;

/* Set up a logger writing to out (may be NULL to discard). */
void cairn_log_init(cairn_log *log, FILE *out, cairn_log_level min_level);

/* Write one line at the given level. log may be NULL (nothing is written).
 * fmt is a printf format; the message must not contain secrets. */
void cairn_log_write(const cairn_log *log, cairn_log_level level,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cairn_log_vwrite(const cairn_log *log, cairn_log_level level,
                      const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define cairn_log_info(log, ...) cairn_log_write((log), CAIRN_LOG_INFO, __VA_ARGS__)
#define cairn_log_warn(log, ...) cairn_log_write((log), CAIRN_LOG_WARN, __VA_ARGS__)
#define cairn_log_error(log, ...) cairn_log_write((log), CAIRN_LOG_ERROR, __VA_ARGS__)

/* Render the timestamp for wall-clock time_ms ("2026-11-24T05:00:00.123Z")
 * into out; out_cap must be at least CAIRN_LOG_TIME_BUF (asserted). */
#define CAIRN_LOG_TIME_BUF 32
void cairn_log_format_time(char *out, size_t out_cap, uint64_t time_ms);

/* The first 8 bytes of a hash as 16 hex digits followed by "..", the short
 * form used in log lines. out_cap must be at least CAIRN_LOG_SHORT_HASH_BUF. */
#define CAIRN_LOG_SHORT_HASH_BUF 19
void cairn_log_short_hash(char *out, size_t out_cap, const uint8_t hash[32]);

#endif
