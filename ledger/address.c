/*
 * address.c - bech32m addresses (BIP-350) for secp256k1 x-only keys.
 *
 * An address is what a person reads aloud, pastes into a chat or types at a
 * till, so it has to survive typos: bech32m's BCH checksum detects any
 * error in up to four characters and any single substitution, and its
 * 32-character alphabet leaves out the look-alikes 1, b, i and o. BIP-350's
 * constant 0x2bc830a3 (instead of BIP-173's 1) fixes bech32's weakness
 * with inserted or deleted 'q's before a final 'p'.
 *
 * The data part is the 32-byte key regrouped from 8-bit bytes into 5-bit
 * symbols, most significant bits first: 256 bits make 51 full symbols and
 * 1 bit over, padded with four zero bits into a 52nd symbol. The decoder is
 * strict in the way BIP-173's convertbits is: the padding must be zero, so
 * every key has exactly one lowercase address. Case is a presentation
 * choice that bech32 allows (uppercase fits QR codes better), but mixed
 * case is rejected because it is not something any encoder writes.
 *
 * Work is bounded by the 90-character limit of BIP-173; nothing is
 * allocated.
 */
#include <assert.h>
#include <string.h>

#include "cairn/address.h"

/* BIP-173: a bech32 string is at most 90 characters; its checksum is six. */
#define CAIRN_BECH32_CHARS_MAX 90
#define CAIRN_BECH32_CHECKSUM_CHARS 6
#define CAIRN_BECH32M_CONST 0x2bc830a3u
/* "cairn" is 5 characters, then "1", then 52 data symbols. */
#define CAIRN_ADDRESS_HRP_CHARS 5
#define CAIRN_ADDRESS_DATA_SYMBOLS 52

_Static_assert(CAIRN_ADDRESS_HRP_CHARS + 1 + CAIRN_ADDRESS_DATA_SYMBOLS +
                       CAIRN_BECH32_CHECKSUM_CHARS ==
                   CAIRN_ADDRESS_CHARS,
               "address length");
_Static_assert((CAIRN_PUBKEY_BYTES * 8 + 4) / 5 == CAIRN_ADDRESS_DATA_SYMBOLS,
               "32 bytes regroup into 52 symbols");

static const char cairn_bech32_charset[33] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/* The BCH code's generator step (BIP-173 bech32_polymod), one symbol at a
 * time so that callers can feed the HRP expansion and the data without
 * building one array. */
static uint32_t bech32_polymod_step(uint32_t chk, uint8_t v) {
  static const uint32_t gen[5] = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau,
                                  0x3d4233ddu, 0x2a1462b3u};
  assert(v < 32);
  uint32_t top = chk >> 25;
  chk = ((chk & 0x1ffffffu) << 5) ^ v;
  for (int i = 0; i < 5; i++) {
    if ((top >> i) & 1u) chk ^= gen[i];
  }
  return chk;
}

/* The checksum state after the expanded HRP: the high bits of each
 * character, a zero, then the low bits. hrp must be lowercase. */
static uint32_t bech32_polymod_hrp(const char *hrp, size_t hrp_len) {
  uint32_t chk = 1;
  for (size_t i = 0; i < hrp_len; i++) {
    chk = bech32_polymod_step(chk, (uint8_t)((unsigned char)hrp[i] >> 5));
  }
  chk = bech32_polymod_step(chk, 0);
  for (size_t i = 0; i < hrp_len; i++) {
    chk = bech32_polymod_step(chk, (uint8_t)((unsigned char)hrp[i] & 31u));
  }
  return chk;
}

/* Copy s (len characters) into out in lowercase. CAIRN_ERR_ADDRESS for a
 * character outside printable ASCII 33..126 or for mixed case. */
static cairn_err bech32_lowercase(char *out, const char *s, size_t len) {
  int lower = 0, upper = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 33 || c > 126) return CAIRN_ERR_ADDRESS;
    if (c >= 'a' && c <= 'z') lower = 1;
    if (c >= 'A' && c <= 'Z') {
      upper = 1;
      c = (unsigned char)(c - 'A' + 'a');
    }
    out[i] = (char)c;
  }
  return (lower && upper) ? CAIRN_ERR_ADDRESS : CAIRN_OK;
}

/* Map n lowercase data characters to 5-bit symbols. CAIRN_ERR_ADDRESS for
 * a character outside the alphabet (including '1', 'b', 'i', 'o'). */
static cairn_err bech32_symbols(uint8_t *out, const char *data, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *hit = memchr(cairn_bech32_charset, data[i], 32);
    if (hit == NULL) return CAIRN_ERR_ADDRESS;
    out[i] = (uint8_t)(hit - cairn_bech32_charset);
  }
  return CAIRN_OK;
}

/* Whether lowercase hrp and n symbols (checksum included) carry a valid
 * bech32m checksum. */
static int bech32m_checksum_ok(const char *hrp, size_t hrp_len,
                               const uint8_t *symbols, size_t n) {
  uint32_t chk = bech32_polymod_hrp(hrp, hrp_len);
  for (size_t i = 0; i < n; i++) chk = bech32_polymod_step(chk, symbols[i]);
  return chk == CAIRN_BECH32M_CONST;
}

cairn_err cairn_bech32m_verify_checksum(const char *s) {
  char lower[CAIRN_BECH32_CHARS_MAX];
  uint8_t symbols[CAIRN_BECH32_CHARS_MAX];
  assert(s != NULL);
  size_t len = strnlen(s, CAIRN_BECH32_CHARS_MAX + 1);
  if (len > CAIRN_BECH32_CHARS_MAX) return CAIRN_ERR_ADDRESS;
  CAIRN_TRY(bech32_lowercase(lower, s, len));
  const char *sep = NULL;
  for (size_t i = 0; i < len; i++) {
    if (lower[i] == '1') sep = lower + i;
  }
  if (sep == NULL || sep == lower) return CAIRN_ERR_ADDRESS;
  size_t hrp_len = (size_t)(sep - lower);
  size_t data_len = len - hrp_len - 1;
  if (data_len < CAIRN_BECH32_CHECKSUM_CHARS) return CAIRN_ERR_ADDRESS;
  CAIRN_TRY(bech32_symbols(symbols, sep + 1, data_len));
  return bech32m_checksum_ok(lower, hrp_len, symbols, data_len)
             ? CAIRN_OK
             : CAIRN_ERR_CHECKSUM;
}

void cairn_address_encode(char *out, size_t out_cap,
                          const uint8_t pk[CAIRN_PUBKEY_BYTES]) {
  uint8_t sym[CAIRN_ADDRESS_DATA_SYMBOLS + CAIRN_BECH32_CHECKSUM_CHARS];
  assert(out != NULL && pk != NULL && out_cap >= CAIRN_ADDRESS_BUF);
  /* 8-to-5 regrouping, most significant bits first, zero padding. */
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < CAIRN_PUBKEY_BYTES; i++) {
    acc = (acc << 8) | pk[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      sym[n++] = (uint8_t)((acc >> bits) & 31u);
    }
  }
  if (bits > 0) sym[n++] = (uint8_t)((acc << (5 - bits)) & 31u);
  assert(n == CAIRN_ADDRESS_DATA_SYMBOLS);
  /* The checksum makes the polymod of hrp || data || checksum equal the
   * bech32m constant: run it over six zero symbols and xor the constant. */
  uint32_t chk = bech32_polymod_hrp(CAIRN_ADDRESS_HRP, CAIRN_ADDRESS_HRP_CHARS);
  for (size_t i = 0; i < n; i++) chk = bech32_polymod_step(chk, sym[i]);
  for (size_t i = 0; i < CAIRN_BECH32_CHECKSUM_CHARS; i++) {
    chk = bech32_polymod_step(chk, 0);
  }
  chk ^= CAIRN_BECH32M_CONST;
  for (size_t i = 0; i < CAIRN_BECH32_CHECKSUM_CHARS; i++) {
    sym[n + i] = (uint8_t)((chk >> (5 * (5 - i))) & 31u);
  }
  memcpy(out, CAIRN_ADDRESS_HRP "1", CAIRN_ADDRESS_HRP_CHARS + 1);
  for (size_t i = 0; i < sizeof sym; i++) {
    out[CAIRN_ADDRESS_HRP_CHARS + 1 + i] = cairn_bech32_charset[sym[i]];
  }
  out[CAIRN_ADDRESS_CHARS] = '\0';
}

/* 52 symbols back to 32 bytes; CAIRN_ERR_ADDRESS unless the four padding
 * bits are zero (BIP-173 convertbits without padding). */
static cairn_err address_regroup(uint8_t pk[CAIRN_PUBKEY_BYTES],
                                 const uint8_t *sym) {
  uint32_t acc = 0;
  unsigned bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < CAIRN_ADDRESS_DATA_SYMBOLS; i++) {
    acc = ((acc << 5) | sym[i]) & 0xfffu; /* at most 12 live bits */
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      assert(n < CAIRN_PUBKEY_BYTES);
      pk[n++] = (uint8_t)(acc >> bits);
    }
  }
  assert(n == CAIRN_PUBKEY_BYTES && bits == 4);
  /* Leftover bits must be fewer than one symbol and all zero. */
  if ((acc & ((1u << bits) - 1u)) != 0) return CAIRN_ERR_ADDRESS;
  return CAIRN_OK;
}

cairn_err cairn_address_decode(uint8_t pk[CAIRN_PUBKEY_BYTES],
                               const char *addr) {
  char lower[CAIRN_ADDRESS_CHARS];
  uint8_t sym[CAIRN_ADDRESS_DATA_SYMBOLS + CAIRN_BECH32_CHECKSUM_CHARS];
  const size_t data_at = CAIRN_ADDRESS_HRP_CHARS + 1;
  assert(pk != NULL && addr != NULL);
  memset(pk, 0, CAIRN_PUBKEY_BYTES);
  if (strnlen(addr, CAIRN_ADDRESS_CHARS + 1) != CAIRN_ADDRESS_CHARS) {
    return CAIRN_ERR_ADDRESS;
  }
  CAIRN_TRY(bech32_lowercase(lower, addr, CAIRN_ADDRESS_CHARS));
  if (memcmp(lower, CAIRN_ADDRESS_HRP "1", data_at) != 0) {
    return CAIRN_ERR_ADDRESS;
  }
  CAIRN_TRY(bech32_symbols(sym, lower + data_at, sizeof sym));
  if (!bech32m_checksum_ok(lower, CAIRN_ADDRESS_HRP_CHARS, sym, sizeof sym)) {
    return CAIRN_ERR_CHECKSUM;
  }
  cairn_err err = address_regroup(pk, sym);
  if (err == CAIRN_OK) err = cairn_schnorr_pubkey_check(pk);
  if (err != CAIRN_OK) memset(pk, 0, CAIRN_PUBKEY_BYTES);
  return err;
}
