/*
 * test_genesis.c - the genesis document: strict JSON parsing with messages
 * that name the field, canonical binary form, hash stability, lookups and
 * loading from a file.
 *
 * Each invalid-JSON case starts from one valid document (built with jansson)
 * and changes one thing, so the expected error can come from nowhere else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "cairn/address.h"
#include "testutil.h"

/* ---- a valid document ---- */

static json_t *brand_json(uint32_t id, const char *name, bool transferable) {
  tu_key issuer;
  char addr[CAIRN_ADDRESS_BUF];
  tu_issuer(&issuer, id);
  cairn_address_encode(addr, sizeof addr, issuer.pk);
  return json_pack("{s:i, s:s, s:s, s:b}", "id", (int)id, "name", name,
                   "issuer", addr, "transferable", transferable);
}

static json_t *validator_json(uint32_t i, const char *name, json_int_t power) {
  tu_vkey k;
  char hex[65];
  tu_validator(&k, i);
  cairn_hex_encode(hex, sizeof hex, k.pk, 32);
  return json_pack("{s:s, s:s, s:I}", "name", name, "pubkey", hex, "power",
                   power);
}

/* Three brands, three validators listed in index order (not key order). */
static json_t *valid_doc(void) {
  json_t *doc = json_pack(
      "{s:s, s:I, s:[o,o,o], s:[o,o,o]}", "chain_id", "cairn-demo",
      "genesis_time_ms", (json_int_t)1764000000000, "brands",
      brand_json(1, "coffee", true), brand_json(2, "pizza", true),
      brand_json(5, "books", false), "validators",
      validator_json(0, "node0", 10), validator_json(1, "node1", 20),
      validator_json(2, "node2", 30));
  assert_non_null(doc);
  return doc;
}

/* Parse doc (consumed); returns the error, why holds the sentence. */
static cairn_err parse(json_t *doc, cairn_genesis *g, char *why, size_t cap) {
  char *text = json_dumps(doc, 0);
  assert_non_null(text);
  json_decref(doc);
  cairn_err err = cairn_genesis_from_json(g, text, strlen(text), why, cap);
  free(text);
  return err;
}

static bool all_zero(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return false;
  }
  return true;
}

/* The document must be rejected with want, a message containing `needle`,
 * and a zeroed struct. */
static void expect_bad(json_t *doc, cairn_err want, const char *needle) {
  cairn_genesis *g = malloc(sizeof *g);
  char why[256];
  assert_non_null(g);
  memset(g, 0x5a, sizeof *g);
  cairn_err err = parse(doc, g, why, sizeof why);
  if (err != want || strstr(why, needle) == NULL) {
    fprintf(stderr, "got %s \"%s\", want %s containing \"%s\"\n",
            cairn_errname(err), why, cairn_errname(want), needle);
  }
  assert_int_equal(err, want);
  assert_non_null(strstr(why, needle));
  assert_true(all_zero(g, sizeof *g));
  free(g);
}

static const char *str_of(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

static json_t *brand_at(json_t *doc, size_t i) {
  return json_array_get(json_object_get(doc, "brands"), i);
}

static json_t *validator_at(json_t *doc, size_t i) {
  return json_array_get(json_object_get(doc, "validators"), i);
}

/* ---- JSON: accepted ---- */

static void test_parse_valid(void **state) {
  cairn_genesis *g = malloc(sizeof *g);
  char why[256];
  (void)state;
  assert_non_null(g);
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  assert_int_equal(g->version, CAIRN_GENESIS_VERSION);
  assert_string_equal(g->chain_id, "cairn-demo");
  assert_int_equal(g->chain_id_len, 10);
  assert_int_equal(g->time_ms, 1764000000000ull);
  assert_int_equal(g->n_brands, 3);
  assert_int_equal(g->brands[2].id, 5);
  assert_string_equal(g->brands[2].name, "books");
  assert_int_equal(g->brands[2].flags, 0);
  assert_int_equal(g->brands[0].flags, CAIRN_BRAND_FLAG_TRANSFERABLE);
  tu_key issuer;
  tu_issuer(&issuer, 2);
  assert_memory_equal(g->brands[1].issuer, issuer.pk, 32);
  /* Validators come out sorted by key, whatever the JSON order. */
  assert_int_equal(g->validators.n, 3);
  assert_int_equal(g->validators.total_power, 60);
  for (uint32_t i = 1; i < 3; i++) {
    assert_true(memcmp(g->validators.v[i - 1].pubkey, g->validators.v[i].pubkey,
                       32) < 0);
  }
  for (uint32_t i = 0; i < 3; i++) {
    tu_vkey k;
    tu_validator(&k, i);
    int at = cairn_valset_find(&g->validators, k.pk);
    assert_true(at >= 0);
    assert_int_equal(g->validators.v[at].power, 10 * (i + 1));
    char name[8];
    snprintf(name, sizeof name, "node%u", (unsigned)i);
    assert_string_equal(g->validators.v[at].name, name);
  }
  /* Lookups. */
  assert_ptr_equal(cairn_genesis_brand_by_id(g, 5), &g->brands[2]);
  assert_ptr_equal(cairn_genesis_brand_by_id(g, 1), &g->brands[0]);
  assert_null(cairn_genesis_brand_by_id(g, 3));
  assert_null(cairn_genesis_brand_by_id(g, 0));
  assert_ptr_equal(cairn_genesis_brand_by_name(g, "pizza"), &g->brands[1]);
  assert_null(cairn_genesis_brand_by_name(g, "pizz"));
  free(g);
}

/* u64 fields may be decimal strings; the JSON order of validators is free
 * and does not change the result. */
static void test_parse_variants(void **state) {
  cairn_genesis *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  char why[256];
  (void)state;
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(parse(valid_doc(), a, why, sizeof why), CAIRN_OK);
  json_t *doc = valid_doc();
  json_object_set_new(doc, "genesis_time_ms", json_string("1764000000000"));
  json_object_set_new(validator_at(doc, 0), "power", json_string("10"));
  json_t *vals = json_object_get(doc, "validators");
  json_t *first = json_incref(json_array_get(vals, 0));
  json_array_remove(vals, 0);
  json_array_append_new(vals, first);
  assert_int_equal(parse(doc, b, why, sizeof why), CAIRN_OK);
  assert_memory_equal(a, b, sizeof *a);
  free(a);
  free(b);
}

static void test_json_round_trip(void **state) {
  cairn_genesis *g = malloc(sizeof *g), *back = malloc(sizeof *back);
  char why[256], *text, *text2;
  (void)state;
  assert_non_null(g);
  assert_non_null(back);
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  assert_int_equal(cairn_genesis_to_json(g, &text), CAIRN_OK);
  assert_int_equal(cairn_genesis_from_json(back, text, strlen(text), why,
                                           sizeof why),
                   CAIRN_OK);
  assert_memory_equal(g, back, sizeof *g);
  assert_int_equal(cairn_genesis_to_json(back, &text2), CAIRN_OK);
  assert_string_equal(text, text2);
  /* The demo genesis of testutil as well (a brand that is not
   * transferable, one validator). */
  tu_genesis(g);
  char ignored[16];
  assert_int_equal(cairn_genesis_check(g, ignored, sizeof ignored), CAIRN_OK);
  free(text);
  assert_int_equal(cairn_genesis_to_json(g, &text), CAIRN_OK);
  assert_int_equal(cairn_genesis_from_json(back, text, strlen(text), why,
                                           sizeof why),
                   CAIRN_OK);
  assert_memory_equal(g, back, sizeof *g);
  free(text);
  free(text2);
  free(g);
  free(back);
}

/* ---- JSON: rejected ---- */

static void test_reject_syntax(void **state) {
  cairn_genesis *g = malloc(sizeof *g);
  char why[256];
  (void)state;
  assert_non_null(g);
  static const char *bad[] = {"", "{", "{\"chain_id\": }", "[1,2",
                              "{\"a\":1} x",
                              "{\"chain_id\":\"a\",\"chain_id\":\"b\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(g, 0x5a, sizeof *g);
    assert_int_equal(cairn_genesis_from_json(g, bad[i], strlen(bad[i]), why,
                                             sizeof why),
                     CAIRN_ERR_JSON);
    assert_non_null(strstr(why, "line"));
    assert_true(all_zero(g, sizeof *g));
  }
  /* Valid JSON of the wrong shape is a genesis error. */
  assert_int_equal(cairn_genesis_from_json(g, "[]", 2, why, sizeof why),
                   CAIRN_ERR_GENESIS);
  /* A NULL why with zero capacity is allowed. */
  assert_int_equal(cairn_genesis_from_json(g, "{", 1, NULL, 0),
                   CAIRN_ERR_JSON);
  free(g);
}

static void test_reject_unknown_keys(void **state) {
  (void)state;
  json_t *doc = valid_doc();
  json_object_set_new(doc, "chain_name", json_string("x"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "unknown field \"chain_name\"");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 1), "transferrable", json_true());
  expect_bad(doc, CAIRN_ERR_GENESIS,
             "brands[1]: unknown field \"transferrable\"");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 2), "weight", json_integer(1));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[2]: unknown field \"weight\"");
}

static void test_reject_brands(void **state) {
  (void)state;
  json_t *doc = valid_doc();
  json_object_set_new(brand_at(doc, 2), "name", json_string("coffee"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[2].name: duplicate");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 1), "id", json_integer(1));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[1].id");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 1), "id", json_integer(9));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[2].id: ids must be strictly");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "id", json_integer(0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].id: must be at least 1");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "id", json_integer(4294967296ll));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].id");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "name", json_string("Coffee"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].name");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "name", json_string(""));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].name");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "name",
                      json_string("abcdefghijklmnopqrstuvwxyz0123456"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].name");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "transferable", json_integer(1));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].transferable");
  doc = valid_doc();
  json_object_del(brand_at(doc, 2), "issuer");
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[2].issuer: missing");
  doc = valid_doc();
  json_object_set_new(doc, "brands", json_array());
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands: at least one");
  doc = valid_doc();
  json_object_set_new(doc, "brands", json_object());
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands: expected an array");
}

/* A typo in an issuer address is caught by the checksum and reported under
 * the brand's field name. */
static void test_reject_bad_address(void **state) {
  (void)state;
  json_t *doc = valid_doc();
  json_t *b = brand_at(doc, 1);
  char addr[CAIRN_ADDRESS_BUF];
  snprintf(addr, sizeof addr, "%s", str_of(b, "issuer"));
  addr[20] = addr[20] == 'q' ? 'p' : 'q';
  json_object_set_new(b, "issuer", json_string(addr));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[1].issuer: ");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "issuer", json_string("cairn1xyz"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].issuer");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "issuer", json_string(
      "0000000000000000000000000000000000000000000000000000000000000000"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].issuer");
}

static void test_reject_validators(void **state) {
  (void)state;
  json_t *doc = valid_doc();
  json_object_set_new(validator_at(doc, 1), "power", json_integer(0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[1].power: must be at least 1");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 1), "power", json_string("0"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[1].power");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 1), "power", json_integer(-5));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[1].power");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 1), "power", json_string("010"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[1].power");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 1), "power", json_real(1.5));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[1].power");
  /* Each within the limit, the sum over it. */
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 1), "power",
                      json_integer((json_int_t)CAIRN_TOTAL_POWER_MAX));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators: total power");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 1), "power",
                      json_integer((json_int_t)CAIRN_TOTAL_POWER_MAX + 1));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[1].power");
  doc = valid_doc();
  json_object_set_new(doc, "validators", json_array());
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators: at least one");
  doc = valid_doc();
  json_object_del(doc, "validators");
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators: missing");
  doc = valid_doc();
  json_object_set(validator_at(doc, 2), "pubkey",
                  json_object_get(validator_at(doc, 0), "pubkey"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[2].pubkey: duplicate");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 0), "pubkey", json_string("abcd"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[0].pubkey");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 0), "pubkey", json_string(
      "zz00000000000000000000000000000000000000000000000000000000000000"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[0].pubkey");
  /* Validator names are printable labels: spaces and capitals are fine,
   * control characters and non-ASCII are not. */
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 0), "name", json_string("Node 0"));
  cairn_genesis *g = malloc(sizeof *g);
  char why[256];
  assert_non_null(g);
  assert_int_equal(parse(doc, g, why, sizeof why), CAIRN_OK);
  free(g);
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 0), "name", json_string("node\t0"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[0].name");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 0), "name",
                      json_string("n\xc3\xb6" "de"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[0].name");
  doc = valid_doc();
  json_object_set_new(validator_at(doc, 0), "name", json_string(""));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[0].name");
}

static void test_reject_top_level(void **state) {
  (void)state;
  static const char *bad_ids[] = {"Cairn-demo", "cairn_demo", "cairn demo", "",
                                  "abcdefghijklmnopqrstuvwxyz0123456"};
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
    json_t *doc = valid_doc();
    json_object_set_new(doc, "chain_id", json_string(bad_ids[i]));
    expect_bad(doc, CAIRN_ERR_GENESIS, "chain_id");
  }
  json_t *doc = valid_doc();
  json_object_set_new(doc, "chain_id",
                      json_string("abcdefghijklmnopqrstuvwxyz012345"));
  cairn_genesis *g = malloc(sizeof *g);
  char why[256];
  assert_non_null(g);
  assert_int_equal(parse(doc, g, why, sizeof why), CAIRN_OK); /* 32 chars */
  free(g);
  doc = valid_doc();
  json_object_set_new(doc, "chain_id", json_integer(5));
  expect_bad(doc, CAIRN_ERR_GENESIS, "chain_id: expected a string");
  doc = valid_doc();
  json_object_set_new(doc, "genesis_time_ms", json_integer(0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "genesis_time_ms");
  doc = valid_doc();
  json_object_set_new(doc, "genesis_time_ms", json_string("+1"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "genesis_time_ms");
  doc = valid_doc();
  json_object_del(doc, "chain_id");
  expect_bad(doc, CAIRN_ERR_GENESIS, "chain_id: missing");
}

/* ---- JSON: the asset policy ---- */

static void test_policy_json(void **state) {
  cairn_genesis *g = malloc(sizeof *g);
  char why[256];
  (void)state;
  assert_non_null(g);
  /* Absent: no expiry, no limits, accepted by partners (flags bit 1 off). */
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  assert_int_equal(g->brands[0].policy.expiry_mode, CAIRN_EXPIRY_NONE);
  assert_int_equal(g->brands[0].policy.max_issue_per_tx, 0);
  assert_int_equal(g->brands[0].flags, CAIRN_BRAND_FLAG_TRANSFERABLE);
  json_t *doc = valid_doc();
  json_object_set_new(brand_at(doc, 1), "policy",
                      json_pack("{s:s, s:I, s:s, s:I, s:b}", "expiry",
                                "rolling", "expiry_blocks", (json_int_t)500,
                                "max_issue_per_tx", "1000",
                                "max_issue_per_day", (json_int_t)5000,
                                "accept_by_partners", 0));
  assert_int_equal(parse(doc, g, why, sizeof why), CAIRN_OK);
  const cairn_brand *b = &g->brands[1];
  assert_int_equal(b->policy.expiry_mode, CAIRN_EXPIRY_ROLLING);
  assert_int_equal(b->policy.expiry_blocks, 500);
  assert_int_equal(b->policy.max_issue_per_tx, 1000);
  assert_int_equal(b->policy.max_issue_per_day, 5000);
  assert_int_equal(b->flags, CAIRN_BRAND_FLAG_TRANSFERABLE |
                                 CAIRN_BRAND_FLAG_NO_PARTNERS);
  /* Through JSON and back: the same genesis. */
  char *text;
  cairn_genesis *back = malloc(sizeof *back);
  assert_non_null(back);
  assert_int_equal(cairn_genesis_to_json(g, &text), CAIRN_OK);
  assert_non_null(strstr(text, "\"rolling\""));
  assert_int_equal(cairn_genesis_from_json(back, text, strlen(text), why,
                                           sizeof why), CAIRN_OK);
  assert_memory_equal(g, back, sizeof *g);
  free(text);
  free(back);
  free(g);
}

static void test_policy_json_rejects(void **state) {
  (void)state;
  json_t *doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "policy",
                      json_pack("{s:s}", "expiry", "fixed"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].policy.expiry_blocks");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "policy",
                      json_pack("{s:s, s:I}", "expiry", "none",
                                "expiry_blocks", (json_int_t)3));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].policy.expiry_blocks");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "policy",
                      json_pack("{s:s}", "expiry", "weekly"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].policy.expiry");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "policy",
                      json_pack("{s:I}", "max_per_tx", (json_int_t)3));
  expect_bad(doc, CAIRN_ERR_GENESIS, "unknown field \"max_per_tx\"");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 2), "policy",
                      json_pack("{s:i}", "accept_by_partners", 1));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[2].policy.accept_by_partners");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "policy", json_string("none"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].policy: expected an object");
  doc = valid_doc();
  json_object_set_new(brand_at(doc, 0), "policy",
                      json_pack("{s:i}", "max_issue_per_day", -1));
  expect_bad(doc, CAIRN_ERR_GENESIS, "brands[0].policy.max_issue_per_day");
}

/* ---- binary form ---- */

static size_t encode(uint8_t *buf, const cairn_genesis *g) {
  size_t len;
  assert_int_equal(cairn_genesis_encode(buf, CAIRN_GENESIS_BYTES_MAX + 1, &len,
                                        g),
                   CAIRN_OK);
  return len;
}

static void expect_binary_reject(const uint8_t *buf, size_t len,
                                 cairn_err want) {
  cairn_genesis *g = malloc(sizeof *g);
  assert_non_null(g);
  memset(g, 0x5a, sizeof *g);
  cairn_err got = cairn_genesis_decode(g, buf, len);
  if (got != want) {
    fprintf(stderr, "got %s want %s\n", cairn_errname(got),
            cairn_errname(want));
  }
  assert_int_equal(got, want);
  assert_true(all_zero(g, sizeof *g));
  free(g);
}

static void test_binary_round_trip(void **state) {
  cairn_genesis *g = malloc(sizeof *g), *back = malloc(sizeof *back);
  uint8_t *buf = malloc(CAIRN_GENESIS_BYTES_MAX + 1);
  uint8_t *buf2 = malloc(CAIRN_GENESIS_BYTES_MAX + 1);
  char why[256];
  (void)state;
  assert_true(g && back && buf && buf2);
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  size_t len = encode(buf, g);
  assert_int_equal(cairn_genesis_decode(back, buf, len), CAIRN_OK);
  assert_memory_equal(g, back, sizeof *g);
  assert_int_equal(encode(buf2, back), len);
  assert_memory_equal(buf, buf2, len);
  /* Layout spot checks: version, chain id, time, brand count. */
  assert_int_equal(buf[0], 1);
  assert_int_equal(buf[1], 10);
  assert_memory_equal(buf + 2, "cairn-demo", 10);
  assert_int_equal(cairn_be64_read(buf + 12), 1764000000000ull);
  assert_int_equal(buf[20], 0);
  assert_int_equal(buf[21], 3);

  for (size_t cut = 0; cut < len; cut++) {
    expect_binary_reject(buf, cut, CAIRN_ERR_TRUNCATED);
  }
  buf[len] = 0;
  expect_binary_reject(buf, len + 1, CAIRN_ERR_TRAILING);
  buf[0] = 2;
  expect_binary_reject(buf, len, CAIRN_ERR_VERSION);
  buf[0] = 1;
  /* Brand 0 flags (after id u32, name var8 "coffee", issuer 32). */
  size_t flags_at = 22 + 4 + 1 + 6 + 32;
  assert_int_equal(buf[flags_at], CAIRN_BRAND_FLAG_TRANSFERABLE);
  buf[flags_at] = 0x04;
  expect_binary_reject(buf, len, CAIRN_ERR_RANGE);
  buf[flags_at] = 0x80;
  expect_binary_reject(buf, len, CAIRN_ERR_RANGE);
  buf[flags_at] = 0;
  assert_int_equal(cairn_genesis_decode(back, buf, len), CAIRN_OK);
  buf[flags_at] = CAIRN_BRAND_FLAG_TRANSFERABLE | CAIRN_BRAND_FLAG_NO_PARTNERS;
  assert_int_equal(cairn_genesis_decode(back, buf, len), CAIRN_OK);
  assert_int_equal(back->brands[0].flags, 0x03);
  buf[flags_at] = CAIRN_BRAND_FLAG_TRANSFERABLE;
  /* The policy follows the flags: mode u8, then expiry_blocks u64. */
  const size_t mode_at = flags_at + 1, blocks_at = mode_at + 1;
  assert_int_equal(buf[mode_at], CAIRN_EXPIRY_NONE);
  buf[mode_at] = 3;
  expect_binary_reject(buf, len, CAIRN_ERR_RANGE);
  buf[mode_at] = CAIRN_EXPIRY_FIXED; /* with a period of 0 */
  expect_binary_reject(buf, len, CAIRN_ERR_RANGE);
  buf[blocks_at + 7] = 9;
  assert_int_equal(cairn_genesis_decode(back, buf, len), CAIRN_OK);
  assert_int_equal(back->brands[0].policy.expiry_blocks, 9);
  buf[mode_at] = CAIRN_EXPIRY_NONE; /* with a period */
  expect_binary_reject(buf, len, CAIRN_ERR_RANGE);
  buf[blocks_at + 7] = 0;
  free(buf2);
  free(buf);
  free(back);
  free(g);
}

static void test_binary_noncanonical(void **state) {
  cairn_genesis *g = malloc(sizeof *g);
  uint8_t *buf = malloc(CAIRN_GENESIS_BYTES_MAX + 1);
  char why[256];
  (void)state;
  assert_true(g && buf);
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  /* Swapped validators: well-formed but unsorted. */
  cairn_validator v0 = g->validators.v[0];
  g->validators.v[0] = g->validators.v[1];
  g->validators.v[1] = v0;
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_NONCANONICAL);
  assert_int_equal(cairn_genesis_check(g, why, sizeof why), CAIRN_ERR_GENESIS);
  assert_non_null(strstr(why, "validators"));
  g->validators.v[1] = g->validators.v[0];
  g->validators.v[0] = v0;
  /* Duplicate validator. */
  g->validators.v[1] = g->validators.v[0];
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_NONCANONICAL);
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  /* Brands out of id order. */
  cairn_brand b0 = g->brands[0];
  g->brands[0] = g->brands[1];
  g->brands[1] = b0;
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_NONCANONICAL);
  g->brands[1] = g->brands[0];
  g->brands[0] = b0;
  /* Well-formed bytes that break a genesis rule. */
  g->brands[1].name[0] = 'P';
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_GENESIS);
  g->brands[1].name[0] = 'p';
  memset(g->brands[1].issuer, 0xff, 32);
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_GENESIS);
  assert_int_equal(cairn_genesis_check(g, why, sizeof why), CAIRN_ERR_GENESIS);
  assert_non_null(strstr(why, "brands[1].issuer"));
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  g->n_brands = 0;
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_GENESIS);
  g->n_brands = 3;
  g->time_ms = 0;
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_GENESIS);
  free(buf);
  free(g);
}

/* ---- staking: operators, rules, free stake ---- */

static json_t *stake_json(const uint8_t pk[32], json_int_t amount) {
  char addr[CAIRN_ADDRESS_BUF];
  cairn_address_encode(addr, sizeof addr, pk);
  return json_pack("{s:s, s:I}", "account", addr, "amount", amount);
}

/* Members 0 and 1 in ascending key order. */
static void two_members(tu_key *lo, tu_key *hi) {
  tu_member(lo, 0);
  tu_member(hi, 1);
  if (memcmp(lo->pk, hi->pk, 32) > 0) {
    tu_key t = *lo;
    *lo = *hi;
    *hi = t;
  }
}

/* The valid document with an operator, staking rules and free stake. */
static json_t *staking_doc(void) {
  json_t *doc = valid_doc();
  tu_key op, lo, hi;
  char addr[CAIRN_ADDRESS_BUF];
  tu_issuer(&op, 1);
  cairn_address_encode(addr, sizeof addr, op.pk);
  json_object_set_new(validator_at(doc, 1), "operator", json_string(addr));
  json_object_set_new(doc, "staking",
                      json_pack("{s:i, s:s, s:i, s:i}", "valset_delay_blocks",
                                3, "unbonding_blocks", "40",
                                "evidence_max_age_blocks", 500,
                                "slash_percent", 25));
  two_members(&lo, &hi);
  json_object_set_new(doc, "stake", json_pack("[o,o]", stake_json(lo.pk, 700),
                                              stake_json(hi.pk, 5)));
  return doc;
}

static void test_staking_json(void **state) {
  cairn_genesis *g = malloc(sizeof *g), *back = malloc(sizeof *back);
  uint8_t *buf = malloc(CAIRN_GENESIS_BYTES_MAX);
  char why[256];
  tu_key op, lo, hi;
  (void)state;
  assert_true(g && back && buf);
  /* Without the new fields: no operators, the defaults, no stake. */
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  assert_int_equal(g->staking.valset_delay_blocks,
                   CAIRN_STAKING_DEFAULT_VALSET_DELAY);
  assert_int_equal(g->staking.unbonding_blocks,
                   CAIRN_STAKING_DEFAULT_UNBONDING);
  assert_int_equal(g->staking.evidence_max_age_blocks,
                   CAIRN_STAKING_DEFAULT_EVIDENCE_MAX_AGE);
  assert_int_equal(g->staking.slash_percent,
                   CAIRN_STAKING_DEFAULT_SLASH_PERCENT);
  assert_int_equal(g->n_stake, 0);
  for (uint32_t i = 0; i < 3; i++)
    assert_true(all_zero(g->validators.v[i].operator_key, 32));
  /* With them. */
  assert_int_equal(parse(staking_doc(), g, why, sizeof why), CAIRN_OK);
  assert_int_equal(g->staking.valset_delay_blocks, 3);
  assert_int_equal(g->staking.unbonding_blocks, 40);
  assert_int_equal(g->staking.evidence_max_age_blocks, 500);
  assert_int_equal(g->staking.slash_percent, 25);
  tu_issuer(&op, 1);
  tu_vkey v1;
  tu_validator(&v1, 1);
  for (uint32_t i = 0; i < 3; i++) {
    bool is1 = memcmp(g->validators.v[i].pubkey, v1.pk, 32) == 0;
    if (is1) assert_memory_equal(g->validators.v[i].operator_key, op.pk, 32);
    else assert_true(all_zero(g->validators.v[i].operator_key, 32));
  }
  two_members(&lo, &hi);
  assert_int_equal(g->n_stake, 2);
  assert_memory_equal(g->stake[0].account, lo.pk, 32);
  assert_int_equal(g->stake[0].amount, 700);
  assert_memory_equal(g->stake[1].account, hi.pk, 32);
  assert_int_equal(g->stake[1].amount, 5);
  /* Binary and JSON round trips keep every field. */
  size_t len = encode(buf, g);
  assert_int_equal(cairn_genesis_decode(back, buf, len), CAIRN_OK);
  assert_memory_equal(g, back, sizeof *g);
  char *text = NULL;
  assert_int_equal(cairn_genesis_to_json(g, &text), CAIRN_OK);
  assert_non_null(strstr(text, "\"operator\""));
  assert_int_equal(cairn_genesis_from_json(back, text, strlen(text), why,
                                           sizeof why), CAIRN_OK);
  free(text);
  assert_memory_equal(g, back, sizeof *g);
  /* Only some staking fields: the rest default. */
  json_t *doc = valid_doc();
  json_object_set_new(doc, "staking", json_pack("{s:i}", "slash_percent", 0));
  assert_int_equal(parse(doc, g, why, sizeof why), CAIRN_OK);
  assert_int_equal(g->staking.slash_percent, 0);
  assert_int_equal(g->staking.valset_delay_blocks,
                   CAIRN_STAKING_DEFAULT_VALSET_DELAY);
  free(buf);
  free(back);
  free(g);
}

static void test_staking_json_rejects(void **state) {
  (void)state;
  json_t *doc = staking_doc();
  json_object_set_new(validator_at(doc, 0), "operator", json_string("cairn1x"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "validators[0].operator");
  doc = staking_doc();
  json_object_set_new(json_object_get(doc, "staking"), "valset_delay_blocks",
                      json_integer(0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "staking.valset_delay_blocks");
  /* An explicit all-zero object is an error, not "the defaults". */
  doc = valid_doc();
  json_object_set_new(doc, "staking",
                      json_pack("{s:i, s:i, s:i, s:i}", "valset_delay_blocks",
                                0, "unbonding_blocks", 0,
                                "evidence_max_age_blocks", 0, "slash_percent",
                                0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "staking.valset_delay_blocks");
  doc = staking_doc();
  json_object_set_new(json_object_get(doc, "staking"), "unbonding_blocks",
                      json_integer(2));
  expect_bad(doc, CAIRN_ERR_GENESIS, "staking.unbonding_blocks");
  doc = staking_doc();
  json_object_set_new(json_object_get(doc, "staking"),
                      "evidence_max_age_blocks", json_integer(0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "staking.evidence_max_age_blocks");
  doc = staking_doc();
  json_object_set_new(json_object_get(doc, "staking"), "slash_percent",
                      json_integer(101));
  expect_bad(doc, CAIRN_ERR_GENESIS, "staking.slash_percent");
  doc = staking_doc();
  json_object_set_new(json_object_get(doc, "staking"), "slashing",
                      json_integer(1));
  expect_bad(doc, CAIRN_ERR_GENESIS, "unknown field \"slashing\"");
  doc = staking_doc();
  json_object_set_new(doc, "staking", json_integer(3));
  expect_bad(doc, CAIRN_ERR_GENESIS, "staking: expected an object");
  /* Stake entries: order, amount, account, total, shape. */
  json_t *st = NULL;
  doc = staking_doc();
  st = json_object_get(doc, "stake");
  json_array_append(st, json_array_get(st, 0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "stake[2].account: accounts must be "
                                     "strictly ascending");
  doc = staking_doc();
  json_object_set_new(json_array_get(json_object_get(doc, "stake"), 1),
                      "amount", json_integer(0));
  expect_bad(doc, CAIRN_ERR_GENESIS, "stake[1].amount: must be at least 1");
  doc = staking_doc();
  json_object_set_new(json_array_get(json_object_get(doc, "stake"), 1),
                      "amount", json_string("1152921504606846977"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "stake[1].amount: out of range");
  doc = staking_doc();
  json_object_set_new(json_array_get(json_object_get(doc, "stake"), 1),
                      "amount", json_string("1152921504606846500"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "stake: bonded plus free stake exceeds");
  doc = staking_doc();
  json_object_del(json_array_get(json_object_get(doc, "stake"), 0), "account");
  expect_bad(doc, CAIRN_ERR_GENESIS, "stake[0].account: missing");
  doc = staking_doc();
  json_object_set_new(json_array_get(json_object_get(doc, "stake"), 0), "memo",
                      json_string("x"));
  expect_bad(doc, CAIRN_ERR_GENESIS, "stake[0]: unknown field \"memo\"");
  doc = staking_doc();
  json_object_set_new(doc, "stake", json_object());
  expect_bad(doc, CAIRN_ERR_GENESIS, "stake: expected an array");
}

/* The binary staking fields: parameters in range, stake canonical. */
static void test_staking_binary(void **state) {
  cairn_genesis *g = malloc(sizeof *g), *back = malloc(sizeof *back);
  uint8_t *buf = malloc(CAIRN_GENESIS_BYTES_MAX + 1);
  char why[256];
  (void)state;
  assert_true(g && back && buf);
  assert_int_equal(parse(staking_doc(), g, why, sizeof why), CAIRN_OK);
  size_t len = encode(buf, g);
  /* The tail: params (25 bytes), n_stake, 2 x 40 bytes. */
  size_t params_at = len - 2 * 40 - 2 - 25;
  assert_int_equal(cairn_be64_read(buf + params_at), 3);
  assert_int_equal(cairn_be64_read(buf + params_at + 8), 40);
  assert_int_equal(buf[params_at + 24], 25);
  assert_int_equal(buf[params_at + 26], 2);
  memset(buf + params_at, 0, 8); /* delay 0: out of range */
  expect_binary_reject(buf, len, CAIRN_ERR_RANGE);
  len = encode(buf, g);
  buf[params_at + 24] = 101;
  expect_binary_reject(buf, len, CAIRN_ERR_GENESIS);
  len = encode(buf, g);
  buf[params_at + 26] = 3; /* one entry more than there are */
  expect_binary_reject(buf, len, CAIRN_ERR_TRUNCATED);
  /* Stake in the wrong order. */
  cairn_stake_alloc a0 = g->stake[0];
  g->stake[0] = g->stake[1];
  g->stake[1] = a0;
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_NONCANONICAL);
  assert_int_equal(cairn_genesis_check(g, why, sizeof why), CAIRN_ERR_GENESIS);
  assert_non_null(strstr(why, "stake[1].account"));
  g->stake[1] = g->stake[0];
  g->stake[0] = a0;
  /* An operator key that is not a key. */
  memset(g->validators.v[2].operator_key, 0xff, 32);
  expect_binary_reject(buf, encode(buf, g), CAIRN_ERR_GENESIS);
  assert_int_equal(cairn_genesis_check(g, why, sizeof why), CAIRN_ERR_GENESIS);
  assert_non_null(strstr(why, "validators[2].operator"));
  /* A struct built in code with no staking fields gets the defaults, in
   * the struct and in the bytes (so both have one hash). */
  assert_int_equal(parse(valid_doc(), g, why, sizeof why), CAIRN_OK);
  uint8_t h1[32], h2[32];
  assert_int_equal(cairn_genesis_hash(h1, g), CAIRN_OK);
  memset(&g->staking, 0, sizeof g->staking);
  assert_int_equal(cairn_genesis_hash(h2, g), CAIRN_OK);
  assert_memory_equal(h1, h2, 32);
  assert_int_equal(cairn_genesis_check(g, why, sizeof why), CAIRN_OK);
  assert_int_equal(g->staking.valset_delay_blocks,
                   CAIRN_STAKING_DEFAULT_VALSET_DELAY);
  free(buf);
  free(back);
  free(g);
}

/* A genesis from fixed keys: its hash is a constant, so any drift in the
 * canonical form (or the tag) shows up here. */
#define GOLDEN_GENESIS_HASH \
  "cb0f4154cbbcb39476107c0602d75918a3cbcce7dd0aaad5fa1e4b62599ec7aa"

static void test_hash(void **state) {
  cairn_genesis *g = calloc(1, sizeof *g);
  uint8_t *buf = malloc(CAIRN_GENESIS_BYTES_MAX + 1);
  uint8_t h1[32], h2[32], by_hand[32], seed[32], sk[64];
  char why[256], hex[65];
  (void)state;
  assert_true(g && buf);
  g->version = 1;
  g->chain_id_len = 10;
  memcpy(g->chain_id, "cairn-demo", 10);
  g->time_ms = 1764000000000ull;
  g->n_brands = 1;
  g->brands[0].id = 1;
  g->brands[0].name_len = 6;
  memcpy(g->brands[0].name, "coffee", 6);
  memset(seed, 0x11, 32); /* a secp256k1 secret key */
  assert_int_equal(cairn_schnorr_pubkey(g->brands[0].issuer, seed), CAIRN_OK);
  g->brands[0].flags = CAIRN_BRAND_FLAG_TRANSFERABLE;
  memset(seed, 0x01, 32); /* an Ed25519 seed */
  uint8_t *vpk = g->validators.v[0].pubkey;
  assert_int_equal(crypto_sign_seed_keypair(vpk, sk, seed), 0);
  g->validators.n = 1;
  g->validators.v[0].power = 10;
  g->validators.v[0].name_len = 5;
  memcpy(g->validators.v[0].name, "node0", 5);
  assert_int_equal(cairn_genesis_check(g, why, sizeof why), CAIRN_OK);
  assert_int_equal(cairn_genesis_hash(h1, g), CAIRN_OK);
  size_t len = encode(buf, g);
  cairn_tagged_hash(by_hand, "cairn/genesis", buf, len);
  assert_memory_equal(h1, by_hand, 32);
  cairn_hex_encode(hex, sizeof hex, h1, 32);
  printf("golden genesis hash: %s\n", hex);
  assert_string_equal(hex, GOLDEN_GENESIS_HASH);
  /* Stable through JSON and back, and through bytes and back. */
  char *text;
  cairn_genesis *back = malloc(sizeof *back);
  assert_non_null(back);
  assert_int_equal(cairn_genesis_to_json(g, &text), CAIRN_OK);
  assert_int_equal(cairn_genesis_from_json(back, text, strlen(text), why,
                                           sizeof why),
                   CAIRN_OK);
  free(text);
  assert_int_equal(cairn_genesis_hash(h2, back), CAIRN_OK);
  assert_memory_equal(h1, h2, 32);
  assert_int_equal(cairn_genesis_decode(back, buf, len), CAIRN_OK);
  assert_int_equal(cairn_genesis_hash(h2, back), CAIRN_OK);
  assert_memory_equal(h1, h2, 32);
  /* Any field change moves it; validator names are part of it too. */
  back->validators.v[0].name[4] = '1';
  assert_int_equal(cairn_genesis_hash(h2, back), CAIRN_OK);
  assert_memory_not_equal(h1, h2, 32);
  back->validators.v[0].name[4] = '0';
  back->time_ms++;
  assert_int_equal(cairn_genesis_hash(h2, back), CAIRN_OK);
  assert_memory_not_equal(h1, h2, 32);
  free(back);
  free(buf);
  free(g);
}

static void test_load_file(void **state) {
  char dir[32], path[64], why[256];
  cairn_genesis *g = malloc(sizeof *g);
  (void)state;
  assert_non_null(g);
  tu_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/genesis.json", dir);
  assert_int_equal(cairn_genesis_load(g, path, why, sizeof why),
                   CAIRN_ERR_NOT_FOUND);
  assert_non_null(strstr(why, path));
  json_t *doc = valid_doc();
  assert_int_equal(json_dump_file(doc, path, JSON_INDENT(2)), 0);
  json_decref(doc);
  assert_int_equal(cairn_genesis_load(g, path, why, sizeof why), CAIRN_OK);
  assert_string_equal(g->chain_id, "cairn-demo");
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"chain_id\": \"x\", \"extra\": 1}", f);
  fclose(f);
  assert_int_equal(cairn_genesis_load(g, path, why, sizeof why),
                   CAIRN_ERR_GENESIS);
  assert_non_null(strstr(why, "extra"));
  tu_rmtree(dir);
  free(g);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_valid),
      cmocka_unit_test(test_parse_variants),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_reject_syntax),
      cmocka_unit_test(test_reject_unknown_keys),
      cmocka_unit_test(test_reject_brands),
      cmocka_unit_test(test_reject_bad_address),
      cmocka_unit_test(test_reject_validators),
      cmocka_unit_test(test_reject_top_level),
      cmocka_unit_test(test_policy_json),
      cmocka_unit_test(test_policy_json_rejects),
      cmocka_unit_test(test_binary_round_trip),
      cmocka_unit_test(test_binary_noncanonical),
      cmocka_unit_test(test_staking_json),
      cmocka_unit_test(test_staking_json_rejects),
      cmocka_unit_test(test_staking_binary),
      cmocka_unit_test(test_hash),
      cmocka_unit_test(test_load_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
