/*
 * encoding.c - the canonical byte form: big-endian integers, fixed byte
 * strings, length-prefixed byte strings, and hex.
 *
 * Writers are "sticky": once something does not fit they stop writing and
 * remember it, and cairn_writer_finish() reports OVERSIZE. Encoders can then
 * be written as straight-line sequences of puts with one check at the end.
 * A writer with a NULL buffer and zero capacity only counts, which gives
 * encoded lengths for free.
 *
 * Readers are the opposite: every get checks the remaining length first and
 * fails without consuming anything, so a decoder's first error is the one
 * reported. Canonical form is enforced by the decoders built on top: there
 * is exactly one valid encoding per value (fixed widths, bounded lengths,
 * booleans 0/1, and cairn_reader_end() rejects trailing bytes).
 */
#include <assert.h>
#include <string.h>

#include "cairn/encoding.h"

void cairn_writer_init(cairn_writer *w, uint8_t *buf, size_t cap) {
  assert(w != NULL);
  assert(buf != NULL || cap == 0);
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
  w->overflow = false;
}

/* Append n bytes, or mark overflow; the length still counts either way so
 * a counting writer reports the full size. */
static void writer_append(cairn_writer *w, const uint8_t *p, size_t n) {
  assert(w != NULL);
  if (n > SIZE_MAX - w->len) {
    w->overflow = true;
    return;
  }
  if (!w->overflow && w->len + n <= w->cap) {
    if (n > 0) memcpy(w->buf + w->len, p, n);
  } else {
    w->overflow = true;
  }
  w->len += n;
}

void cairn_put_u8(cairn_writer *w, uint8_t v) { writer_append(w, &v, 1); }

void cairn_put_u16(cairn_writer *w, uint16_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  writer_append(w, b, sizeof b);
}

void cairn_put_u32(cairn_writer *w, uint32_t v) {
  uint8_t b[4];
  cairn_be32_write(b, v);
  writer_append(w, b, sizeof b);
}

void cairn_put_u64(cairn_writer *w, uint64_t v) {
  uint8_t b[8];
  cairn_be64_write(b, v);
  writer_append(w, b, sizeof b);
}

void cairn_put_bytes(cairn_writer *w, const uint8_t *p, size_t n) {
  assert(p != NULL || n == 0);
  writer_append(w, p, n);
}

void cairn_put_var8(cairn_writer *w, const uint8_t *p, size_t n) {
  assert(n <= 255);
  cairn_put_u8(w, (uint8_t)n);
  cairn_put_bytes(w, p, n);
}

void cairn_put_var32(cairn_writer *w, const uint8_t *p, size_t n) {
  assert(n <= UINT32_MAX);
  cairn_put_u32(w, (uint32_t)n);
  cairn_put_bytes(w, p, n);
}

cairn_err cairn_writer_finish(const cairn_writer *w, size_t *len) {
  assert(w != NULL && len != NULL);
  if (w->overflow) {
    *len = 0;
    return CAIRN_ERR_OVERSIZE;
  }
  assert(w->len <= w->cap);
  *len = w->len;
  return CAIRN_OK;
}

void cairn_reader_init(cairn_reader *r, const uint8_t *buf, size_t len) {
  assert(r != NULL);
  assert(buf != NULL || len == 0);
  r->buf = buf;
  r->len = len;
  r->pos = 0;
}

static size_t reader_left(const cairn_reader *r) {
  assert(r->pos <= r->len);
  return r->len - r->pos;
}

cairn_err cairn_get_ref(cairn_reader *r, const uint8_t **p, size_t n) {
  assert(r != NULL && p != NULL);
  if (reader_left(r) < n) {
    *p = NULL;
    return CAIRN_ERR_TRUNCATED;
  }
  *p = r->buf + r->pos;
  r->pos += n;
  return CAIRN_OK;
}

cairn_err cairn_get_bytes(cairn_reader *r, uint8_t *out, size_t n) {
  const uint8_t *p;
  assert(out != NULL || n == 0);
  cairn_err err = cairn_get_ref(r, &p, n);
  if (err != CAIRN_OK) {
    if (n > 0) memset(out, 0, n);
    return err;
  }
  if (n > 0) memcpy(out, p, n);
  return CAIRN_OK;
}

cairn_err cairn_get_u8(cairn_reader *r, uint8_t *v) {
  return cairn_get_bytes(r, v, 1);
}

cairn_err cairn_get_u16(cairn_reader *r, uint16_t *v) {
  uint8_t b[2];
  assert(v != NULL);
  cairn_err err = cairn_get_bytes(r, b, sizeof b);
  *v = (uint16_t)((b[0] << 8) | b[1]);
  return err;
}

cairn_err cairn_get_u32(cairn_reader *r, uint32_t *v) {
  uint8_t b[4];
  assert(v != NULL);
  cairn_err err = cairn_get_bytes(r, b, sizeof b);
  *v = cairn_be32_read(b);
  return err;
}

cairn_err cairn_get_u64(cairn_reader *r, uint64_t *v) {
  uint8_t b[8];
  assert(v != NULL);
  cairn_err err = cairn_get_bytes(r, b, sizeof b);
  *v = cairn_be64_read(b);
  return err;
}

cairn_err cairn_get_bool(cairn_reader *r, bool *v) {
  uint8_t b;
  assert(v != NULL);
  *v = false;
  CAIRN_TRY(cairn_get_u8(r, &b));
  if (b > 1) {
    r->pos -= 1; /* consume nothing on failure */
    return CAIRN_ERR_NONCANONICAL;
  }
  *v = (b == 1);
  return CAIRN_OK;
}

/* Shared by the var8/var32 readers: the length is already read; take the
 * bytes or rewind the length so the reader is unchanged on failure. */
static cairn_err get_var_body(cairn_reader *r, size_t start, size_t n,
                              size_t max, cairn_err too_long,
                              const uint8_t **p, size_t *out_n) {
  *p = NULL;
  *out_n = 0;
  if (n > max) {
    r->pos = start;
    return too_long;
  }
  cairn_err err = cairn_get_ref(r, p, n);
  if (err != CAIRN_OK) {
    r->pos = start;
    return err;
  }
  *out_n = n;
  return CAIRN_OK;
}

cairn_err cairn_get_var8(cairn_reader *r, const uint8_t **p, size_t *n,
                         size_t max) {
  uint8_t len;
  size_t start = r->pos;
  assert(p != NULL && n != NULL);
  *p = NULL;
  *n = 0;
  CAIRN_TRY(cairn_get_u8(r, &len));
  return get_var_body(r, start, len, max, CAIRN_ERR_RANGE, p, n);
}

cairn_err cairn_get_var32(cairn_reader *r, const uint8_t **p, size_t *n,
                          size_t max) {
  uint32_t len;
  size_t start = r->pos;
  assert(p != NULL && n != NULL);
  *p = NULL;
  *n = 0;
  CAIRN_TRY(cairn_get_u32(r, &len));
  return get_var_body(r, start, len, max, CAIRN_ERR_OVERSIZE, p, n);
}

cairn_err cairn_reader_end(const cairn_reader *r) {
  assert(r != NULL);
  return reader_left(r) == 0 ? CAIRN_OK : CAIRN_ERR_TRAILING;
}

void cairn_be64_write(uint8_t out[8], uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)v;
    v >>= 8;
  }
}

uint64_t cairn_be64_read(const uint8_t in[8]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | in[i];
  return v;
}

void cairn_be32_write(uint8_t out[4], uint32_t v) {
  out[0] = (uint8_t)(v >> 24);
  out[1] = (uint8_t)(v >> 16);
  out[2] = (uint8_t)(v >> 8);
  out[3] = (uint8_t)v;
}

uint32_t cairn_be32_read(const uint8_t in[4]) {
  return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) |
         ((uint32_t)in[2] << 8) | (uint32_t)in[3];
}

void cairn_hex_encode(char *out, size_t out_cap, const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  assert(out != NULL && (p != NULL || n == 0));
  assert(n <= (SIZE_MAX - 1) / 2 && out_cap >= 2 * n + 1);
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0x0f];
  }
  out[2 * n] = '\0';
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

cairn_err cairn_hex_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                           const char *hex) {
  assert(out != NULL || out_cap == 0);
  assert(out_len != NULL && hex != NULL);
  *out_len = 0;
  size_t n = strlen(hex);
  if (n % 2 != 0) return CAIRN_ERR_HEX;
  if (n / 2 > out_cap) return CAIRN_ERR_OVERSIZE;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      if (out_cap > 0) memset(out, 0, out_cap);
      return CAIRN_ERR_HEX;
    }
    out[i] = (uint8_t)((hi << 4) | lo);
  }
  *out_len = n / 2;
  return CAIRN_OK;
}

cairn_err cairn_hex_decode_exact(uint8_t *out, size_t n, const char *hex) {
  size_t got;
  assert(hex != NULL);
  if (strlen(hex) != 2 * n) {
    if (n > 0) memset(out, 0, n);
    return CAIRN_ERR_HEX;
  }
  cairn_err err = cairn_hex_decode(out, n, &got, hex);
  assert(err != CAIRN_OK || got == n);
  return err;
}
