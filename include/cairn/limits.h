/*
 * cairn/limits.h - every bound in Cairn, in one place, each with its reason.
 *
 * Anything read from outside (a client, a peer, a file) is checked against
 * one of these before it is trusted. Consensus-relevant limits (marked
 * CONSENSUS) are part of the protocol: changing them is a hard fork and must
 * be reflected in specs/.
 */
#ifndef CAIRN_LIMITS_H
#define CAIRN_LIMITS_H

/* CONSENSUS. Chain ids are short ASCII names ("cairn-demo-1"). */
#define CAIRN_CHAIN_ID_BYTES_MAX 32

/* CONSENSUS. Brand and validator names: short labels for humans. */
#define CAIRN_NAME_BYTES_MAX 32

/* CONSENSUS. Order references and coupon labels: enough for a POS order
 * number or "Free medium coffee", small enough to keep transactions small. */
#define CAIRN_REF_BYTES_MAX 64
#define CAIRN_LABEL_BYTES_MAX 64

/* CONSENSUS. The largest transaction; the biggest valid one is ~260 bytes,
 * so this leaves room for later transaction types. */
#define CAIRN_TX_BYTES_MAX 1024

/* CONSENSUS. Transactions per block and block bytes: a block must be
 * verifiable in well under a second on one core (~10k Schnorr verifications)
 * and fit comfortably in one peer message. */
#define CAIRN_BLOCK_TXS_MAX 10000
#define CAIRN_BLOCK_BYTES_MAX (4u * 1024u * 1024u)

/* CONSENSUS. Brands and validators in genesis: a coalition, not a planet. */
#define CAIRN_BRANDS_MAX 256
#define CAIRN_VALIDATORS_MAX 128

/* CONSENSUS. Accounts given free stake in genesis. */
#define CAIRN_STAKE_ALLOCS_MAX 256

/* CONSENSUS. Total voting power stays far from 2^64 so that 3*power never
 * overflows. */
#define CAIRN_TOTAL_POWER_MAX (1ull << 60)

/* CONSENSUS. Coupon percentages are whole percent. */
#define CAIRN_COUPON_PERCENT_MAX 100

/* Mempool: bounded so a flood cannot exhaust memory. */
#define CAIRN_MEMPOOL_TXS_MAX 50000
#define CAIRN_MEMPOOL_TXS_MIN 1

/* HTTP API: request bodies hold one hex transaction plus a little JSON. */
#define CAIRN_HTTP_BODY_BYTES_MAX (16u * 1024u)
/* HTTP API connections (node/rpc.c, node/rpc_limit.c). Request headers are
 * a few hundred bytes from any real client; 8 KiB leaves room for proxies
 * and refuses header floods early. */
#define CAIRN_HTTP_HEADER_BYTES_MAX 8192u
/* Bodies between CAIRN_HTTP_BODY_BYTES_MAX and this are read and answered
 * with a JSON 413; larger ones are refused by evhttp before they are read.
 * This, not the smaller limit, is what one request can make the node
 * buffer. */
#define CAIRN_HTTP_READ_BYTES_MAX (4u * CAIRN_HTTP_BODY_BYTES_MAX)
/* A connection that sends or accepts nothing for this long is closed (an
 * idle keep-alive client, or a stalled one). */
#define CAIRN_HTTP_IDLE_TIMEOUT_S 30
/* Connections open at once; past this the node stops accepting until one
 * closes (clients wait in the kernel's backlog). A node serves a wallet, a
 * few point-of-sale terminals and an auditor, far fewer; 256 bounds what a
 * flood of slow clients can hold: at most 256 descriptors and 256 x (the
 * header and read limits above + ~8 KiB of buffers) < 24 MiB. Lowered at
 * start-up if the descriptor limit (RLIMIT_NOFILE) is smaller. */
#define CAIRN_HTTP_CONNECTIONS_MAX 256

/* Responses read by the wallet: a full block as hex plus JSON overhead. */
#define CAIRN_HTTP_RESPONSE_BYTES_MAX (3u * CAIRN_BLOCK_BYTES_MAX + 65536u)
/* Items in one list response (coupons of an account, etc.). */
#define CAIRN_API_LIST_MAX 1000

/* Files read at start-up. */
#define CAIRN_GENESIS_FILE_BYTES_MAX (1024u * 1024u)
#define CAIRN_CONFIG_FILE_BYTES_MAX (64u * 1024u)
#define CAIRN_KEYFILE_BYTES_MAX 4096u

/* Passphrases: long enough for a sentence. */
#define CAIRN_PASSPHRASE_BYTES_MAX 1024

/* LMDB: start small, grow by doubling up to the maximum (a 64-bit address
 * space makes a large maximum free until used). */
#define CAIRN_STORE_MAP_BYTES_INITIAL (64ull * 1024 * 1024)
#define CAIRN_STORE_MAP_BYTES_MAX (1ull << 40)
#define CAIRN_STORE_READERS_MAX 126

/* Block interval bounds accepted from configuration. */
#define CAIRN_BLOCK_INTERVAL_MS_MIN 10
#define CAIRN_BLOCK_INTERVAL_MS_MAX 600000

/* Static range checks: a limit edited into nonsense fails the build. */
_Static_assert(CAIRN_CHAIN_ID_BYTES_MAX <= 255, "chain id length is a u8");
_Static_assert(CAIRN_NAME_BYTES_MAX <= 255, "names are u8-length prefixed");
_Static_assert(CAIRN_REF_BYTES_MAX <= 255, "refs are u8-length prefixed");
_Static_assert(CAIRN_LABEL_BYTES_MAX <= 255, "labels are u8-length prefixed");
_Static_assert(CAIRN_TX_BYTES_MAX >= 512 && CAIRN_TX_BYTES_MAX <= 65535,
               "tx size");
_Static_assert((unsigned long long)CAIRN_BLOCK_TXS_MAX * 200u <=
                   CAIRN_BLOCK_BYTES_MAX,
               "a full block of typical transactions must fit the byte limit");
_Static_assert(CAIRN_VALIDATORS_MAX <= 65535, "commit signature count is u16");
_Static_assert(CAIRN_BRANDS_MAX <= 65535, "brand count is u16 in genesis");
_Static_assert(CAIRN_HTTP_BODY_BYTES_MAX >= 2 * CAIRN_TX_BYTES_MAX + 256,
               "an API body must hold a hex transaction");
_Static_assert(CAIRN_HTTP_CONNECTIONS_MAX >= 8 &&
                   CAIRN_HTTP_CONNECTIONS_MAX <= 4096,
               "connection cap: enough for a few clients, far below the "
               "usual descriptor limits");
_Static_assert((unsigned long long)CAIRN_HTTP_CONNECTIONS_MAX *
                       (CAIRN_HTTP_HEADER_BYTES_MAX + CAIRN_HTTP_READ_BYTES_MAX +
                        8192u) <=
                   24ull * 1024 * 1024,
               "what connections can hold stays under 24 MiB");

#endif
