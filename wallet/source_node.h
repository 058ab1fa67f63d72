/*
 * wallet/source_node.h - a node's HTTP API as an audit source.
 *
 * The auditor's block-source interface (cairn/audit.h) implemented over
 * the API of specs/api.md, for `cairn audit --node URL`. It lives in the
 * wallet because the HTTP client does (libcairnwallet).
 */
#ifndef CAIRN_WALLET_SOURCE_NODE_H
#define CAIRN_WALLET_SOURCE_NODE_H

#include <stddef.h>

#include "cairn/audit.h"
#include "cairn/error.h"

/* Open the node at url as a source: its genesis (GET /v1/genesis) and its
 * tip (GET /v1/status) are fetched now, once, and the tip is the snapshot
 * the audit covers; blocks are fetched one by one (GET /v1/blocks/{h},
 * fields "raw" and "commit_raw"). Nothing else the node says is used: the
 * genesis hash is recomputed from the document, block hashes from the
 * bytes.
 * A genesis document that is invalid, or whose hash is not the one the
 * node states, is reported by the source's genesis callback as CORRUPT (a
 * finding); a block the node does not have below its tip as NOT_FOUND.
 * Errors of the open (why says why): ARG (not a usable URL), NETWORK,
 * TIMEOUT (the node cannot be reached or does not answer), HTTP (it
 * answers, but not as the API promises), NOMEM. *out is zeroed on
 * failure. */
CAIRN_MUST_CHECK cairn_err cairn_audit_source_node(cairn_audit_source *out,
                                                   const char *url, char *why,
                                                   size_t why_cap);

#endif
