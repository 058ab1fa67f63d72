/*
 * api.c - the wallet's view of the node API: requests with reporting, and
 * strict access to the fields of responses.
 *
 * Commands should read like the API they use, so the plumbing lives here:
 * the client is opened on first use (commands such as keygen or audit never
 * touch the network, and a bad --node URL should not stop them), a failed
 * request is reported once with the hint that fits it, and an API error is
 * shown with the node's own sentence and stable code.
 *
 * The node is not trusted to be well-formed: every field a command needs
 * is fetched through cairn_wallet_field_*, which reports a missing or
 * mistyped field as a bad response (exit 3) instead of crashing or
 * printing "(null)". Amounts may be decimal strings or integers
 * (cairn_json_get_u64 accepts both, rejecting anything else).
 */
#include "cairn/wallet.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "cairn/json.h"

/* A sentence from the client is at most this long. */
#define CAIRN_WALLET_WHY_BYTES 512

static const char *cairn_wallet_transport_hint(cairn_err err) {
  switch (err) {
  case CAIRN_ERR_NETWORK:
    return "is cairnd running? start it with: cairnd demo (or point --node "
           "or CAIRN_NODE at it)";
  case CAIRN_ERR_TIMEOUT:
    return "the node may be overloaded or stuck; try again";
  default:
    return "check --node (or CAIRN_NODE): it should be the address of a "
           "cairnd node";
  }
}

static cairn_err cairn_wallet_connect(cairn_wallet *w) {
  if (w->client != NULL) return CAIRN_OK;
  char why[CAIRN_WALLET_WHY_BYTES] = "";
  cairn_err err = cairn_client_open(&w->client, w->node_url, why, sizeof why);
  if (err == CAIRN_ERR_NOMEM) {
    return cairn_wallet_fail(w, CAIRN_EXIT_FAILED, err, NULL, "out of memory");
  }
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_USAGE, CAIRN_ERR_USAGE,
                             "use --node http://HOST:PORT, e.g. "
                             CAIRN_CLIENT_DEFAULT_URL, "%s", why);
  }
  return CAIRN_OK;
}

cairn_err cairn_wallet_get_quiet(cairn_wallet *w, const char *path,
                                 int *status, json_t **body) {
  *status = 0;
  *body = NULL;
  CAIRN_TRY(cairn_wallet_connect(w));
  return cairn_client_get(w->client, path, status, body, NULL, 0);
}

cairn_err cairn_wallet_get(cairn_wallet *w, const char *path,
                           const char *what, json_t **body) {
  *body = NULL;
  CAIRN_TRY(cairn_wallet_connect(w));
  char why[CAIRN_WALLET_WHY_BYTES] = "";
  int status = 0;
  json_t *j = NULL;
  cairn_err err = cairn_client_get(w->client, path, &status, &j, why,
                                   sizeof why);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, err,
                             cairn_wallet_transport_hint(err), "%s", why);
  }
  if (status < 200 || status > 299) {
    err = cairn_wallet_fail_api(w, status, j, what, NULL);
    json_decref(j);
    return err;
  }
  *body = j;
  return CAIRN_OK;
}

cairn_err cairn_wallet_post(cairn_wallet *w, const char *path,
                            const json_t *req, int *status, json_t **body) {
  *status = 0;
  *body = NULL;
  CAIRN_TRY(cairn_wallet_connect(w));
  char why[CAIRN_WALLET_WHY_BYTES] = "";
  cairn_err err = cairn_client_post(w->client, path, req, status, body, why,
                                    sizeof why);
  if (err != CAIRN_OK) {
    return cairn_wallet_fail(w, CAIRN_EXIT_NODE, err,
                             cairn_wallet_transport_hint(err), "%s", why);
  }
  return CAIRN_OK;
}

static cairn_err cairn_wallet_bad_field(cairn_wallet *w, const char *field) {
  return cairn_wallet_fail(w, CAIRN_EXIT_NODE, CAIRN_ERR_HTTP,
                           "check --node: it should be the address of a "
                           "cairnd node of the same version",
                           "unexpected response from the node: field '%s' "
                           "is missing or malformed", field);
}

cairn_err cairn_wallet_field_u64(cairn_wallet *w, const json_t *obj,
                                 const char *field, uint64_t *out) {
  *out = 0;
  const json_t *v = json_object_get(obj, field);
  if (v == NULL || cairn_json_get_u64(v, out) != CAIRN_OK) {
    *out = 0;
    return cairn_wallet_bad_field(w, field);
  }
  return CAIRN_OK;
}

cairn_err cairn_wallet_field_str(cairn_wallet *w, const json_t *obj,
                                 const char *field, const char **out) {
  *out = json_string_value(json_object_get(obj, field));
  return *out != NULL ? CAIRN_OK : cairn_wallet_bad_field(w, field);
}

cairn_err cairn_wallet_field_array(cairn_wallet *w, const json_t *obj,
                                   const char *field, json_t **out) {
  json_t *v = json_object_get(obj, field);
  *out = json_is_array(v) ? v : NULL;
  return *out != NULL ? CAIRN_OK : cairn_wallet_bad_field(w, field);
}
