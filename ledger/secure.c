/*
 * secure.c - a jansson allocator that wipes what it frees.
 *
 * jansson frees with a bare pointer, and the strings json_dumps returns are
 * freed by their callers with plain free(), so the allocator must stay
 * malloc itself: blocks are ordinary malloc blocks, and the wiping free asks
 * the C library how large the block is (malloc_usable_size, available in
 * glibc and musl and intercepted correctly by the sanitizers) and wipes all
 * of it with sodium_memzero before freeing. Wiping costs one pass over each
 * freed block, which beside JSON parsing and rendering is noise.
 *
 * Nothing here is a global of ours: jansson keeps the two function
 * pointers, installed once by main() (secure.h).
 */
#include "cairn/secure.h"

#include <malloc.h>
#include <stddef.h>
#include <stdlib.h>

#include <jansson.h>
#include <sodium.h>

static void *secure_json_malloc(size_t size) { return malloc(size); }

static void secure_json_free(void *p) {
  if (p == NULL) return;
  sodium_memzero(p, malloc_usable_size(p));
  free(p);
}

void cairn_secure_json_install(void) {
  json_set_alloc_funcs(secure_json_malloc, secure_json_free);
}
