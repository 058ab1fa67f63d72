/*
 * bench/netbench/load.c - the keys and the pre-signed workload.
 *
 * Everything the load generator sends is signed before the clock starts,
 * so the nodes' CPUs (two vCPUs shared by four validators) are not also
 * spent on signing while they are measured.
 *
 * The traffic is the core of the single-node bench's mix (bench/bench_node.c,
 * without agreements and coupon redemptions) sent to a live network: the
 * three brands' issuers ISSUE points and COUPON_ISSUE coupons to members,
 * and members REDEEM points. Members need points before
 * they can redeem, so the workload starts with a warm-up: one ISSUE of 1000
 * points of every brand to every member, which the driver submits and sees
 * committed before measuring. In the measured mix, 50% are ISSUEs, 40%
 * REDEEMs of 10 points and 10% COUPON_ISSUEs; a REDEEM is only generated
 * while the member's warm-up points cover it (points issued during the mix
 * are not counted: they may still be in another node's mempool when the
 * REDEEM reaches the member's node, which would refuse it).
 *
 * Members' keys are derived from their index (tests/testutil.h), the
 * issuers' keys are decrypted from the testnet's key files, and the chain
 * id, brand ids and issuers' next sequence numbers come from the node's
 * API, so the transactions are valid on the chain that was just created.
 * A txid index (open addressing on the first 8 bytes of the id) maps the
 * ids listed in each block back to the transactions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cairn/address.h"
#include "cairn/keyfile.h"
#include "cairn/tx.h"
#include "netbench.h"
#include "testutil.h"

#define NB_WARMUP_AMOUNT 1000u
#define NB_ISSUE_AMOUNT 100u
#define NB_REDEEM_AMOUNT 10u
#define NB_COUPON_VALUE 500u
/* Transactions and coupons stay valid far beyond any run's height. */
#define NB_EXPIRY_HEIGHT 1000000000u
#define NB_SEED 0x6e657462656e6368ull /* fixed: runs are comparable */

static json_t *get_json(uint16_t port, const char *path) {
  int status = 0;
  char *body = NULL;
  if (netbench_http_once(port, "GET", path, NULL, 10.0, &status, &body) != 0)
    return NULL;
  json_t *j = status == 200 ? json_loads(body, 0, NULL) : NULL;
  if (j == NULL) fprintf(stderr, "netbench: GET %s: status %d\n", path, status);
  free(body);
  return j;
}

/* Brand i of the chain: its id, and its key file's key. */
static int read_brand(netbench_chain *ch, size_t i, json_t *b,
                      const char *keys_dir, const char *pass) {
  const char *name = json_string_value(json_object_get(b, "name"));
  const char *issuer = json_string_value(json_object_get(b, "issuer"));
  json_t *id = json_object_get(b, "id");
  uint8_t pk[CAIRN_PUBKEY_BYTES];
  char path[700];
  if (name == NULL || issuer == NULL || !json_is_integer(id) ||
      cairn_address_decode(pk, issuer) != CAIRN_OK)
    return -1;
  ch->brand[i] = (uint32_t)json_integer_value(id);
  snprintf(path, sizeof path, "%s/%s.key", keys_dir, name);
  cairn_err err = cairn_keyfile_read(path, pass, strlen(pass),
                                     ch->issuer_sk[i], ch->issuer_pk[i]);
  if (err != CAIRN_OK || memcmp(pk, ch->issuer_pk[i], sizeof pk) != 0) {
    fprintf(stderr, "netbench: key file %s: %s\n", path,
            err != CAIRN_OK ? cairn_strerror(err) : "not the brand's issuer");
    return -1;
  }
  return 0;
}

static int read_sequences(netbench_chain *ch, uint16_t port) {
  for (size_t i = 0; i < NETBENCH_BRANDS; i++) {
    char addr[CAIRN_ADDRESS_BUF], q[200];
    cairn_address_encode(addr, sizeof addr, ch->issuer_pk[i]);
    snprintf(q, sizeof q, "/v1/accounts/%s", addr);
    json_t *a = get_json(port, q);
    json_t *seq = json_object_get(a, "next_sequence");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
      json_decref(a);
      return -1;
    }
    ch->issuer_next_seq[i] = (uint64_t)json_integer_value(seq);
    json_decref(a);
  }
  return 0;
}

int netbench_chain_read(netbench_chain *ch, uint16_t port, const char *keys_dir,
                        const char *passphrase) {
  memset(ch, 0, sizeof *ch);
  json_t *st = get_json(port, "/v1/status");
  json_t *br = get_json(port, "/v1/brands");
  const char *cid = json_string_value(json_object_get(st, "chain_id"));
  json_t *list = json_object_get(br, "brands");
  int rc = cid != NULL && strlen(cid) < sizeof ch->chain_id &&
                   json_array_size(list) >= NETBENCH_BRANDS
               ? 0
               : -1;
  if (rc == 0) snprintf(ch->chain_id, sizeof ch->chain_id, "%s", cid);
  for (size_t i = 0; rc == 0 && i < NETBENCH_BRANDS; i++)
    rc = read_brand(ch, i, json_array_get(list, i), keys_dir, passphrase);
  if (rc == 0) rc = read_sequences(ch, port);
  json_decref(st);
  json_decref(br);
  if (rc != 0) {
    fprintf(stderr, "netbench: cannot read the chain's brands and keys\n");
    netbench_chain_wipe(ch);
  }
  return rc;
}

void netbench_chain_wipe(netbench_chain *ch) {
  sodium_memzero(ch, sizeof *ch);
}

/* ---- the workload ---- */

typedef struct nb_gen {
  const netbench_chain *ch;
  uint64_t issuer_seq[NETBENCH_BRANDS];
  tu_key *member;
  uint64_t *member_seq;
  uint32_t *warm; /* members x brands: warm-up points not yet redeemed */
  uint32_t members;
  uint64_t rng;
} nb_gen;

static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static void tx_init(cairn_tx *tx, const nb_gen *g, uint8_t type,
                    const uint8_t sender[32], uint64_t seq) {
  memset(tx, 0, sizeof *tx);
  tx->version = CAIRN_TX_VERSION;
  tx->type = type;
  tx->chain_id_len = (uint8_t)strlen(g->ch->chain_id);
  memcpy(tx->chain_id, g->ch->chain_id, tx->chain_id_len);
  memcpy(tx->sender, sender, CAIRN_PUBKEY_BYTES);
  tx->sequence = seq;
  tx->expiry_height = NB_EXPIRY_HEIGHT;
}

/* Encode, sign and append tx, sent by `sender`, signed with sk. */
static int append(netbench_load *l, cairn_tx *tx, uint32_t sender,
                  const uint8_t sk[CAIRN_SECKEY_BYTES]) {
  size_t len = 0;
  if (cairn_tx_sign(tx, sk) != CAIRN_OK) return -1;
  if (l->cap - l->len < CAIRN_TX_BYTES_MAX) {
    size_t cap = l->cap * 2 + 64 * (size_t)CAIRN_TX_BYTES_MAX;
    uint8_t *p = realloc(l->buf, cap);
    if (p == NULL) return -1;
    l->buf = p;
    l->cap = cap;
  }
  if (cairn_tx_encode(l->buf + l->len, l->cap - l->len, &len, tx) != CAIRN_OK)
    return -1;
  netbench_tx *t = &l->tx[l->n++];
  memset(t, 0, sizeof *t);
  t->off = (uint32_t)l->len;
  t->len = (uint32_t)len;
  t->sender = sender;
  cairn_tx_id_bytes(t->txid, l->buf + l->len, len);
  l->len += len;
  return 0;
}

static int gen_issue(netbench_load *l, nb_gen *g, uint32_t b, uint32_t m,
                     uint64_t amount) {
  cairn_tx tx;
  tx_init(&tx, g, CAIRN_TX_ISSUE, g->ch->issuer_pk[b], g->issuer_seq[b]++);
  tx.u.issue.brand = g->ch->brand[b];
  memcpy(tx.u.issue.to, g->member[m].pk, CAIRN_PUBKEY_BYTES);
  tx.u.issue.amount = amount;
  return append(l, &tx, b, g->ch->issuer_sk[b]);
}

static int gen_mix_one(netbench_load *l, nb_gen *g, uint64_t i) {
  cairn_tx tx;
  uint32_t b = (uint32_t)(rng_next(&g->rng) % NETBENCH_BRANDS);
  uint32_t roll = (uint32_t)(rng_next(&g->rng) % 10);
  uint32_t m = (uint32_t)(rng_next(&g->rng) % g->members);
  uint32_t *warm = &g->warm[(size_t)m * NETBENCH_BRANDS + b];
  if (roll < 4 && *warm >= NB_REDEEM_AMOUNT) {
    tx_init(&tx, g, CAIRN_TX_REDEEM, g->member[m].pk, ++g->member_seq[m]);
    tx.u.redeem.brand = g->ch->brand[b];
    tx.u.redeem.amount = NB_REDEEM_AMOUNT;
    tx.u.redeem.ref_len = (uint8_t)snprintf((char *)tx.u.redeem.ref,
                                            sizeof tx.u.redeem.ref, "o%llu",
                                            (unsigned long long)i);
    *warm -= NB_REDEEM_AMOUNT;
    return append(l, &tx, NETBENCH_BRANDS + m, g->member[m].sk);
  }
  if (roll != 9) return gen_issue(l, g, b, m, NB_ISSUE_AMOUNT);
  static const char label[] = "bench coupon";
  tx_init(&tx, g, CAIRN_TX_COUPON_ISSUE, g->ch->issuer_pk[b],
          g->issuer_seq[b]++);
  tx.u.coupon_issue.brand = g->ch->brand[b];
  memcpy(tx.u.coupon_issue.to, g->member[m].pk, CAIRN_PUBKEY_BYTES);
  tx.u.coupon_issue.kind = CAIRN_COUPON_AMOUNT;
  tx.u.coupon_issue.value = NB_COUPON_VALUE;
  tx.u.coupon_issue.expiry_height = NB_EXPIRY_HEIGHT;
  tx.u.coupon_issue.label_len = (uint8_t)(sizeof label - 1);
  memcpy(tx.u.coupon_issue.label, label, sizeof label - 1);
  return append(l, &tx, b, g->ch->issuer_sk[b]);
}

static int index_build(netbench_load *l) {
  l->slots = 1;
  while (l->slots < 2 * l->n + 2) l->slots *= 2;
  l->slot = calloc(l->slots, sizeof *l->slot);
  if (l->slot == NULL) return -1;
  for (size_t i = 0; i < l->n; i++) {
    size_t h = (size_t)cairn_be64_read(l->tx[i].txid) & (l->slots - 1);
    while (l->slot[h] != 0) h = (h + 1) & (l->slots - 1);
    l->slot[h] = i + 1;
  }
  return 0;
}

long netbench_load_find(const netbench_load *l,
                        const uint8_t txid[CAIRN_HASH_BYTES]) {
  size_t h = (size_t)cairn_be64_read(txid) & (l->slots - 1);
  while (l->slot[h] != 0) {
    size_t i = (size_t)(l->slot[h] - 1);
    if (memcmp(l->tx[i].txid, txid, CAIRN_HASH_BYTES) == 0) return (long)i;
    h = (h + 1) & (l->slots - 1);
  }
  return -1;
}

static int gen_all(netbench_load *l, nb_gen *g, size_t mix) {
  int rc = 0;
  for (uint32_t m = 0; rc == 0 && m < g->members; m++) {
    for (uint32_t b = 0; rc == 0 && b < NETBENCH_BRANDS; b++) {
      rc = gen_issue(l, g, b, m, NB_WARMUP_AMOUNT);
      g->warm[(size_t)m * NETBENCH_BRANDS + b] = NB_WARMUP_AMOUNT;
    }
  }
  l->warmup = l->n;
  for (size_t i = 0; rc == 0 && i < mix; i++) rc = gen_mix_one(l, g, i);
  return rc;
}

int netbench_load_make(netbench_load *l, const netbench_chain *ch,
                       uint32_t members, size_t mix) {
  nb_gen g;
  memset(l, 0, sizeof *l);
  memset(&g, 0, sizeof g);
  g.ch = ch;
  g.members = members;
  g.rng = NB_SEED;
  memcpy(g.issuer_seq, ch->issuer_next_seq, sizeof g.issuer_seq);
  size_t total = (size_t)members * NETBENCH_BRANDS + mix;
  g.member = calloc(members, sizeof *g.member);
  g.member_seq = calloc(members, sizeof *g.member_seq);
  g.warm = calloc((size_t)members * NETBENCH_BRANDS, sizeof *g.warm);
  l->tx = calloc(total, sizeof *l->tx);
  l->senders = NETBENCH_BRANDS + members;
  l->broken = calloc(l->senders, sizeof *l->broken);
  int rc = g.member && g.member_seq && g.warm && l->tx && l->broken && members
               ? 0
               : -1;
  for (uint32_t m = 0; rc == 0 && m < members; m++) tu_member(&g.member[m], m);
  if (rc == 0) rc = gen_all(l, &g, mix);
  if (rc == 0) rc = index_build(l);
  if (g.member != NULL) sodium_memzero(g.member, members * sizeof *g.member);
  free(g.member);
  free(g.member_seq);
  free(g.warm);
  if (rc != 0) {
    fprintf(stderr, "netbench: cannot build the workload (out of memory?)\n");
    netbench_load_free(l);
  }
  return rc;
}

void netbench_load_free(netbench_load *l) {
  free(l->buf);
  free(l->tx);
  free(l->broken);
  free(l->slot);
  memset(l, 0, sizeof *l);
}
