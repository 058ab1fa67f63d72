/*
 * view.c - a writable overlay of the state over a store snapshot.
 *
 * A view is four arrays and a read transaction:
 *
 *   entries  one per changed key, in the order the keys were first written:
 *            (table, key, state PUT or DEL, value offset and length);
 *   slots    an open-addressing hash table (linear probing, at most half
 *            full) of entry indexes, keyed by SipHash of (table, key) under a
 *            per-view random key, so that keys chosen by an attacker (account
 *            and coupon ids) cannot be made to collide;
 *   arena    an append-only byte buffer holding every value ever put;
 *   journal  one undo record per put or delete: which entry, its previous
 *            state and value, and the arena length before the write.
 *
 * A savepoint is the journal length. Rolling back pops undo records in
 * reverse, restoring each entry's previous state and truncating the arena.
 * A record that created its entry removes that entry; because undo runs in
 * reverse, that entry is always the last one in the entries array, and
 * because the slot table is always exactly "the entries inserted in index
 * order" (growth re-inserts them in that order), clearing its slot restores
 * the table as it was before the insertion: linear probing needs no
 * tombstones when deletions are last-in first-out. So a key whose every write
 * was undone vanishes from the change count, the walk and the digest.
 *
 * Every operation is O(1) amortised and never allocates on the read path;
 * put and delete reserve all the space they might need before changing
 * anything, so NOMEM leaves the view untouched. Memory grows with the number
 * of writes since the last rebase (values are appended, never overwritten),
 * which is bounded by a block or the mempool, and rebase resets it.
 *
 * foreach and digest sort pointers to the entries by (table, key) into a
 * scratch array on each call: they run once per block, and keeping the
 * table unsorted keeps every write O(1).
 */
#include "cairn/view.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cairn/encoding.h"

/* Initial sizes: a typical transaction touches a handful of keys. */
#define CAIRN_VIEW_SLOTS_MIN 64u
#define CAIRN_VIEW_ENTRIES_MIN 32u
#define CAIRN_VIEW_JOURNAL_MIN 64u
#define CAIRN_VIEW_ARENA_MIN 4096u
/* Entry indexes are stored as u32 (+1) in the slots. */
#define CAIRN_VIEW_ENTRIES_MAX (UINT32_MAX / 4u)

_Static_assert((CAIRN_VIEW_SLOTS_MIN & (CAIRN_VIEW_SLOTS_MIN - 1)) == 0,
               "slot count is a power of two");
_Static_assert(CAIRN_VIEW_SLOTS_MIN >= 2 * CAIRN_VIEW_ENTRIES_MIN,
               "slots stay at most half full");
_Static_assert(CAIRN_KEY_BYTES_MAX <= 255, "key length is a u8");
_Static_assert(CAIRN_VALUE_BYTES_MAX <= UINT16_MAX, "value length is a u16");
_Static_assert(CAIRN_STATE_TABLE_MAX <= 255, "table is a u8");

enum {
  CAIRN_VIEW_NONE = 0, /* undo only: the write created the entry */
  CAIRN_VIEW_PUT = 1,
  CAIRN_VIEW_DEL = 2
};

typedef struct cairn_view_entry {
  uint64_t hash;
  size_t val_off; /* into arena; meaningful for PUT */
  uint16_t val_len;
  uint8_t table;
  uint8_t klen;
  uint8_t state; /* PUT or DEL */
  uint8_t key[CAIRN_KEY_BYTES_MAX];
} cairn_view_entry;

typedef struct cairn_view_undo {
  uint32_t entry;
  uint8_t prev_state; /* NONE, PUT or DEL */
  uint16_t prev_len;
  size_t prev_off;
  size_t arena_len; /* before the write */
} cairn_view_undo;

struct cairn_view {
  cairn_store *store; /* NULL: empty base */
  cairn_rtxn *rtxn;   /* NULL iff store is NULL */
  uint8_t hash_key[crypto_shorthash_KEYBYTES];
  uint32_t *slots; /* entry index + 1; 0 = empty */
  size_t slot_cap; /* power of two */
  cairn_view_entry *entries;
  size_t n_entries, entry_cap;
  cairn_view_undo *journal;
  size_t n_journal, journal_cap;
  uint8_t *arena; /* never NULL, so an empty value has a non-NULL pointer */
  size_t arena_len, arena_cap;
};

/* ---- hashing and probing ---- */

static uint64_t cairn_view_hash(const cairn_view *v, uint8_t table,
                                const uint8_t *key, size_t klen) {
  uint8_t in[1 + CAIRN_KEY_BYTES_MAX];
  uint8_t out[crypto_shorthash_BYTES];
  uint64_t h = 0;
  assert(klen <= CAIRN_KEY_BYTES_MAX);
  in[0] = table;
  memcpy(in + 1, key, klen);
  crypto_shorthash(out, in, 1 + klen, v->hash_key);
  memcpy(&h, out, sizeof h);
  return h;
}

/* The slot holding (table, key), or the empty slot where it would go.
 * Terminates because the table is at most half full. */
static size_t cairn_view_probe(const cairn_view *v, uint64_t h, uint8_t table,
                               const uint8_t *key, size_t klen, bool *found) {
  size_t mask = v->slot_cap - 1;
  size_t i = (size_t)h & mask;
  for (size_t n = 0; n < v->slot_cap; n++, i = (i + 1) & mask) {
    uint32_t s = v->slots[i];
    if (s == 0) {
      *found = false;
      return i;
    }
    const cairn_view_entry *e = &v->entries[s - 1];
    if (e->hash == h && e->table == table && e->klen == klen &&
        memcmp(e->key, key, klen) == 0) {
      *found = true;
      return i;
    }
  }
  assert(!"view slot table full");
  *found = false;
  return 0;
}

/* ---- growth ---- */

/* Make room for need elements of elem bytes in *p (capacity *cap), doubling.
 * On NOMEM nothing changes. */
static cairn_err cairn_view_reserve_array(void **p, size_t *cap, size_t need,
                                          size_t elem) {
  if (need <= *cap) return CAIRN_OK;
  size_t next = *cap;
  while (next < need) {
    if (next > SIZE_MAX / 2) return CAIRN_ERR_NOMEM;
    next *= 2;
  }
  if (next > SIZE_MAX / elem) return CAIRN_ERR_NOMEM;
  void *q = realloc(*p, next * elem);
  if (q == NULL) return CAIRN_ERR_NOMEM;
  *p = q;
  *cap = next;
  return CAIRN_OK;
}

/* Double the slot table and re-insert the entries in index order, keeping
 * the invariant rollback relies on (see the essay). */
static cairn_err cairn_view_grow_slots(cairn_view *v) {
  if (v->slot_cap > SIZE_MAX / 2 / sizeof *v->slots) return CAIRN_ERR_NOMEM;
  size_t cap = v->slot_cap * 2;
  uint32_t *slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return CAIRN_ERR_NOMEM;
  free(v->slots);
  v->slots = slots;
  v->slot_cap = cap;
  for (size_t i = 0; i < v->n_entries; i++) {
    const cairn_view_entry *e = &v->entries[i];
    bool found = true;
    size_t at = cairn_view_probe(v, e->hash, e->table, e->key, e->klen,
                                 &found);
    assert(!found);
    v->slots[at] = (uint32_t)(i + 1);
  }
  return CAIRN_OK;
}

/* Reserve everything one write may need. */
static cairn_err cairn_view_reserve(cairn_view *v, size_t vlen) {
  if (v->n_entries >= CAIRN_VIEW_ENTRIES_MAX) return CAIRN_ERR_NOMEM;
  if (v->arena_len > SIZE_MAX - vlen) return CAIRN_ERR_NOMEM;
  CAIRN_TRY(cairn_view_reserve_array((void **)&v->journal, &v->journal_cap,
                                     v->n_journal + 1, sizeof *v->journal));
  CAIRN_TRY(cairn_view_reserve_array((void **)&v->entries, &v->entry_cap,
                                     v->n_entries + 1, sizeof *v->entries));
  CAIRN_TRY(cairn_view_reserve_array((void **)&v->arena, &v->arena_cap,
                                     v->arena_len + vlen, 1));
  if ((v->n_entries + 1) * 2 > v->slot_cap) {
    CAIRN_TRY(cairn_view_grow_slots(v));
  }
  return CAIRN_OK;
}

/* ---- open, close, rebase ---- */

static void cairn_view_clear(cairn_view *v) {
  memset(v->slots, 0, v->slot_cap * sizeof *v->slots);
  v->n_entries = 0;
  v->n_journal = 0;
  v->arena_len = 0;
}

cairn_err cairn_view_open(cairn_view **out, cairn_store *base) {
  assert(out != NULL);
  *out = NULL;
  cairn_view *v = calloc(1, sizeof *v);
  if (v == NULL) return CAIRN_ERR_NOMEM;
  randombytes_buf(v->hash_key, sizeof v->hash_key);
  v->slot_cap = CAIRN_VIEW_SLOTS_MIN;
  v->slots = calloc(v->slot_cap, sizeof *v->slots);
  v->entry_cap = CAIRN_VIEW_ENTRIES_MIN;
  v->entries = malloc(v->entry_cap * sizeof *v->entries);
  v->journal_cap = CAIRN_VIEW_JOURNAL_MIN;
  v->journal = malloc(v->journal_cap * sizeof *v->journal);
  v->arena_cap = CAIRN_VIEW_ARENA_MIN;
  v->arena = malloc(v->arena_cap);
  if (v->slots == NULL || v->entries == NULL || v->journal == NULL ||
      v->arena == NULL) {
    cairn_view_close(v);
    return CAIRN_ERR_NOMEM;
  }
  v->store = base;
  if (base != NULL) {
    cairn_err err = cairn_store_read_begin(base, &v->rtxn);
    if (err != CAIRN_OK) {
      cairn_view_close(v);
      return err;
    }
  }
  *out = v;
  return CAIRN_OK;
}

void cairn_view_close(cairn_view *v) {
  if (v == NULL) return;
  if (v->rtxn != NULL) cairn_store_read_end(v->rtxn);
  free(v->slots);
  free(v->entries);
  free(v->journal);
  free(v->arena);
  sodium_memzero(v->hash_key, sizeof v->hash_key);
  free(v);
}

/* The new snapshot is taken before the old one is dropped, so on failure
 * the view is unchanged. */
cairn_err cairn_view_rebase(cairn_view *v) {
  assert(v != NULL);
  if (v->store != NULL) {
    cairn_rtxn *fresh = NULL;
    CAIRN_TRY(cairn_store_read_begin(v->store, &fresh));
    cairn_store_read_end(v->rtxn);
    v->rtxn = fresh;
  }
  cairn_view_clear(v);
  return CAIRN_OK;
}

/* ---- reading ---- */

cairn_err cairn_view_get(cairn_view *v, cairn_table t, const uint8_t *key,
                         size_t klen, uint8_t *val, size_t cap,
                         size_t *vlen) {
  assert(v != NULL && key != NULL && vlen != NULL);
  assert(val != NULL || cap == 0);
  assert(klen > 0 && klen <= CAIRN_KEY_BYTES_MAX);
  *vlen = 0;
  bool found = false;
  uint64_t h = cairn_view_hash(v, (uint8_t)t, key, klen);
  size_t at = cairn_view_probe(v, h, (uint8_t)t, key, klen, &found);
  if (!found) {
    if (v->rtxn == NULL) return CAIRN_ERR_NOT_FOUND;
    /* Copied by the store under its map lock. */
    return cairn_store_get_copy(v->rtxn, t, key, klen, val, cap, vlen);
  }
  const cairn_view_entry *e = &v->entries[v->slots[at] - 1];
  if (e->state == CAIRN_VIEW_DEL) return CAIRN_ERR_NOT_FOUND;
  assert(e->state == CAIRN_VIEW_PUT);
  if (e->val_len > cap) return CAIRN_ERR_OVERSIZE;
  if (e->val_len > 0) memcpy(val, v->arena + e->val_off, e->val_len);
  *vlen = e->val_len;
  return CAIRN_OK;
}

/* ---- writing ---- */

/* Record a put (val != NULL or vlen == 0 with state PUT) or a delete, with
 * its undo record. */
static cairn_err cairn_view_write(cairn_view *v, cairn_table t,
                                  const uint8_t *key, size_t klen,
                                  const uint8_t *val, size_t vlen,
                                  uint8_t state) {
  assert(v != NULL && key != NULL);
  assert(t >= CAIRN_STATE_TABLE_MIN && t <= CAIRN_STATE_TABLE_MAX);
  assert(klen > 0 && klen <= CAIRN_KEY_BYTES_MAX);
  assert(vlen <= CAIRN_VALUE_BYTES_MAX && (val != NULL || vlen == 0));
  CAIRN_TRY(cairn_view_reserve(v, vlen));
  uint64_t h = cairn_view_hash(v, (uint8_t)t, key, klen);
  bool found = false;
  size_t at = cairn_view_probe(v, h, (uint8_t)t, key, klen, &found);
  cairn_view_undo u = {.prev_state = CAIRN_VIEW_NONE,
                       .arena_len = v->arena_len};
  if (!found) {
    cairn_view_entry *e = &v->entries[v->n_entries];
    e->hash = h;
    e->table = (uint8_t)t;
    e->klen = (uint8_t)klen;
    memcpy(e->key, key, klen);
    v->slots[at] = (uint32_t)(v->n_entries + 1);
    u.entry = (uint32_t)v->n_entries++;
  } else {
    u.entry = v->slots[at] - 1;
    const cairn_view_entry *e = &v->entries[u.entry];
    u.prev_state = e->state;
    u.prev_off = e->val_off;
    u.prev_len = e->val_len;
  }
  cairn_view_entry *e = &v->entries[u.entry];
  e->state = state;
  e->val_off = v->arena_len;
  e->val_len = (uint16_t)vlen;
  if (vlen > 0) memcpy(v->arena + v->arena_len, val, vlen);
  v->arena_len += vlen;
  v->journal[v->n_journal++] = u;
  assert(v->n_entries * 2 <= v->slot_cap);
  return CAIRN_OK;
}

cairn_err cairn_view_put(cairn_view *v, cairn_table t, const uint8_t *key,
                         size_t klen, const uint8_t *val, size_t vlen) {
  return cairn_view_write(v, t, key, klen, val, vlen, CAIRN_VIEW_PUT);
}

cairn_err cairn_view_del(cairn_view *v, cairn_table t, const uint8_t *key,
                         size_t klen) {
  return cairn_view_write(v, t, key, klen, NULL, 0, CAIRN_VIEW_DEL);
}

/* ---- savepoints ---- */

size_t cairn_view_savepoint(const cairn_view *v) {
  assert(v != NULL);
  return v->n_journal;
}

/* Undo writes newest first; bounded by the journal length. */
void cairn_view_rollback(cairn_view *v, size_t savepoint) {
  assert(v != NULL && savepoint <= v->n_journal);
  while (v->n_journal > savepoint) {
    const cairn_view_undo *u = &v->journal[--v->n_journal];
    cairn_view_entry *e = &v->entries[u->entry];
    if (u->prev_state == CAIRN_VIEW_NONE) {
      /* LIFO: the entry this write created is the newest one. */
      assert(u->entry + 1 == v->n_entries);
      bool found = false;
      size_t at = cairn_view_probe(v, e->hash, e->table, e->key, e->klen,
                                   &found);
      assert(found && v->slots[at] == u->entry + 1);
      v->slots[at] = 0;
      v->n_entries--;
    } else {
      e->state = u->prev_state;
      e->val_off = u->prev_off;
      e->val_len = u->prev_len;
    }
    assert(u->arena_len <= v->arena_len);
    v->arena_len = u->arena_len;
  }
}

size_t cairn_view_change_count(const cairn_view *v) {
  assert(v != NULL);
  return v->n_entries;
}

/* ---- ordered walk and digest ---- */

static int cairn_view_entry_cmp(const void *a, const void *b) {
  const cairn_view_entry *x = *(const cairn_view_entry *const *)a;
  const cairn_view_entry *y = *(const cairn_view_entry *const *)b;
  if (x->table != y->table) return x->table < y->table ? -1 : 1;
  size_t n = x->klen < y->klen ? x->klen : y->klen;
  int c = memcmp(x->key, y->key, n);
  if (c != 0) return c;
  if (x->klen != y->klen) return x->klen < y->klen ? -1 : 1;
  return 0;
}

cairn_err cairn_view_foreach(const cairn_view *v, cairn_view_change_fn fn,
                             void *ctx) {
  assert(v != NULL && fn != NULL);
  size_t n = v->n_entries;
  if (n == 0) return CAIRN_OK;
  const cairn_view_entry **order = malloc(n * sizeof *order);
  if (order == NULL) return CAIRN_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) order[i] = &v->entries[i];
  qsort(order, n, sizeof *order, cairn_view_entry_cmp);
  cairn_err err = CAIRN_OK;
  for (size_t i = 0; i < n && err == CAIRN_OK; i++) {
    const cairn_view_entry *e = order[i];
    assert(i == 0 || cairn_view_entry_cmp(&order[i - 1], &order[i]) < 0);
    const uint8_t *val =
        e->state == CAIRN_VIEW_PUT ? v->arena + e->val_off : NULL;
    err = fn(ctx, (cairn_table)e->table, e->key, e->klen, val,
             val != NULL ? e->val_len : 0);
  }
  free(order);
  return err;
}

/* One change into the digest: table u8 | key var8 | flag u8 | value var32. */
static cairn_err cairn_view_digest_one(void *ctx, cairn_table t,
                                       const uint8_t *key, size_t klen,
                                       const uint8_t *val, size_t vlen) {
  cairn_sha256 *h = ctx;
  uint8_t head[1 + 1 + CAIRN_KEY_BYTES_MAX + 1 + 4];
  size_t n = 0;
  head[n++] = (uint8_t)t;
  head[n++] = (uint8_t)klen;
  memcpy(head + n, key, klen);
  n += klen;
  head[n++] = val != NULL ? 1 : 0;
  if (val != NULL) {
    cairn_be32_write(head + n, (uint32_t)vlen);
    n += 4;
  }
  assert(n <= sizeof head);
  cairn_sha256_update(h, head, n);
  if (val != NULL) cairn_sha256_update(h, val, vlen);
  return CAIRN_OK;
}

cairn_err cairn_view_digest(const cairn_view *v,
                            uint8_t out[CAIRN_HASH_BYTES]) {
  assert(v != NULL && out != NULL);
  cairn_sha256 h;
  cairn_tagged_init(&h, CAIRN_TAG_CHANGES);
  cairn_err err = cairn_view_foreach(v, cairn_view_digest_one, &h);
  if (err != CAIRN_OK) {
    memset(out, 0, CAIRN_HASH_BYTES);
    return err;
  }
  cairn_sha256_final(&h, out);
  return CAIRN_OK;
}
