/*
 * cairn/address.h - member and brand addresses.
 *
 * An address is the bech32m encoding (BIP-350) of a 32-byte x-only public
 * key with human-readable part "cairn": 64 characters, all lowercase, e.g.
 * cairn1qq...; the checksum catches any single typo and most others. The
 * decoder accepts all-lowercase or all-uppercase input (as bech32m does) and
 * rejects mixed case, wrong prefix, wrong length, bad characters and bad
 * checksums, and keys that are not points on the curve.
 */
#ifndef CAIRN_ADDRESS_H
#define CAIRN_ADDRESS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"
#include "cairn/sig.h"

#define CAIRN_ADDRESS_HRP "cairn"
/* "cairn" + "1" + 52 data chars + 6 checksum chars. */
#define CAIRN_ADDRESS_CHARS 64
#define CAIRN_ADDRESS_BUF (CAIRN_ADDRESS_CHARS + 1)

/* Encode pk as an address into out (NUL-terminated). out_cap must be at
 * least CAIRN_ADDRESS_BUF (asserted). Always succeeds for 32 bytes. */
void cairn_address_encode(char *out, size_t out_cap,
                          const uint8_t pk[CAIRN_PUBKEY_BYTES]);

/* Decode an address. Errors: CAIRN_ERR_ADDRESS (format, prefix, length,
 * characters, case), CAIRN_ERR_CHECKSUM (typo), CAIRN_ERR_BAD_KEY (decodes
 * but is not a valid public key). pk is zeroed on failure. */
CAIRN_MUST_CHECK cairn_err cairn_address_decode(uint8_t pk[CAIRN_PUBKEY_BYTES],
                                                const char *addr);

/* Check any bech32m string (BIP-350), whatever its prefix: at most 90
 * characters, a non-empty human-readable part of characters 33..126, a
 * last "1" separator, data characters from the bech32 alphabet, at least six
 * of them, one case throughout. Returns CAIRN_OK if the checksum is a valid
 * bech32m checksum, CAIRN_ERR_CHECKSUM if it is not (including a valid
 * BIP-173 bech32 checksum), CAIRN_ERR_ADDRESS if the string is malformed.
 * Used to test the checksum against BIP-350's own vectors. */
CAIRN_MUST_CHECK cairn_err cairn_bech32m_verify_checksum(const char *s);

#endif
