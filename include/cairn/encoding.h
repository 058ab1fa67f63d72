/*
 * cairn/encoding.h - canonical binary encoding primitives and hex.
 *
 * Every on-chain object has exactly one byte form: fixed-width big-endian
 * integers, raw fixed-size byte strings, and byte strings prefixed by a u8
 * length. Writers never fail mid-way: they set an overflow flag that
 * cairn_writer_finish() reports, so encoders are straight-line code.
 * Readers check every length before touching a byte; cairn_reader_end()
 * rejects trailing bytes.
 *
 * Pointers are never NULL unless stated.
 */
#ifndef CAIRN_ENCODING_H
#define CAIRN_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"

typedef struct cairn_writer {
  uint8_t *buf; /* may be NULL with cap 0: counts the length only */
  size_t cap;
  size_t len;
  bool overflow;
} cairn_writer;

typedef struct cairn_reader {
  const uint8_t *buf;
  size_t len;
  size_t pos;
} cairn_reader;

void cairn_writer_init(cairn_writer *w, uint8_t *buf, size_t cap);
void cairn_put_u8(cairn_writer *w, uint8_t v);
void cairn_put_u16(cairn_writer *w, uint16_t v);
void cairn_put_u32(cairn_writer *w, uint32_t v);
void cairn_put_u64(cairn_writer *w, uint64_t v);
/* n raw bytes (fixed-size fields). */
void cairn_put_bytes(cairn_writer *w, const uint8_t *p, size_t n);
/* u8 length then n bytes; n must be <= 255 (asserted). */
void cairn_put_var8(cairn_writer *w, const uint8_t *p, size_t n);
/* u32 length then n bytes. */
void cairn_put_var32(cairn_writer *w, const uint8_t *p, size_t n);
/* Returns CAIRN_ERR_OVERSIZE if anything did not fit; else writes the
 * length to *len. A counting writer (NULL, 0) always "overflows": read its
 * w.len directly for the encoded size. */
CAIRN_MUST_CHECK cairn_err cairn_writer_finish(const cairn_writer *w,
                                               size_t *len);

void cairn_reader_init(cairn_reader *r, const uint8_t *buf, size_t len);
/* Each returns CAIRN_ERR_TRUNCATED (and consumes nothing) when the input is
 * too short; outputs are zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_get_u8(cairn_reader *r, uint8_t *v);
CAIRN_MUST_CHECK cairn_err cairn_get_u16(cairn_reader *r, uint16_t *v);
CAIRN_MUST_CHECK cairn_err cairn_get_u32(cairn_reader *r, uint32_t *v);
CAIRN_MUST_CHECK cairn_err cairn_get_u64(cairn_reader *r, uint64_t *v);
/* A byte that must be 0 or 1: CAIRN_ERR_NONCANONICAL otherwise. */
CAIRN_MUST_CHECK cairn_err cairn_get_bool(cairn_reader *r, bool *v);
/* Copy n bytes out. */
CAIRN_MUST_CHECK cairn_err cairn_get_bytes(cairn_reader *r, uint8_t *out,
                                           size_t n);
/* Zero-copy: *p points into the reader's buffer (valid while it is). */
CAIRN_MUST_CHECK cairn_err cairn_get_ref(cairn_reader *r, const uint8_t **p,
                                         size_t n);
/* u8 length then bytes; CAIRN_ERR_RANGE if the length exceeds max. */
CAIRN_MUST_CHECK cairn_err cairn_get_var8(cairn_reader *r, const uint8_t **p,
                                          size_t *n, size_t max);
/* u32 length then bytes; CAIRN_ERR_OVERSIZE if the length exceeds max. */
CAIRN_MUST_CHECK cairn_err cairn_get_var32(cairn_reader *r, const uint8_t **p,
                                           size_t *n, size_t max);
/* CAIRN_ERR_TRAILING unless every byte was consumed. */
CAIRN_MUST_CHECK cairn_err cairn_reader_end(const cairn_reader *r);

/* Big-endian helpers for keys built outside a writer. */
void cairn_be64_write(uint8_t out[8], uint64_t v);
uint64_t cairn_be64_read(const uint8_t in[8]);
void cairn_be32_write(uint8_t out[4], uint32_t v);
uint32_t cairn_be32_read(const uint8_t in[4]);

/* Lowercase hex of n bytes into out, NUL-terminated; out_cap must be at
 * least 2n+1 (asserted). */
void cairn_hex_encode(char *out, size_t out_cap, const uint8_t *p, size_t n);
/* Decode a hex string of exactly 2*n characters (either case) into n bytes.
 * CAIRN_ERR_HEX on a bad digit or wrong length. */
CAIRN_MUST_CHECK cairn_err cairn_hex_decode_exact(uint8_t *out, size_t n,
                                                  const char *hex);
/* Decode a hex string of any even length up to out_cap bytes.
 * CAIRN_ERR_HEX on a bad digit or odd length, CAIRN_ERR_OVERSIZE if it does
 * not fit. */
CAIRN_MUST_CHECK cairn_err cairn_hex_decode(uint8_t *out, size_t out_cap,
                                            size_t *out_len, const char *hex);

#endif
