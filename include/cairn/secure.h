/*
 * cairn/secure.h - process-wide secret hygiene, for programs' main().
 *
 * Secrets in Cairn (member keys, validator seeds, passphrases) live in
 * buffers that are locked where the OS allows and wiped with sodium_memzero
 * by the code that owns them. One copy escapes that discipline: jansson,
 * which parses key files, keeps the text it lexes in buffers it allocates
 * and frees itself. cairn_secure_json_install() replaces jansson's
 * allocator with one that wipes every block before freeing it, so nothing
 * jansson has held outlives its use. The allocator is process-wide state,
 * so only main() calls this, once, before anything uses jansson.
 */
#ifndef CAIRN_SECURE_H
#define CAIRN_SECURE_H

/* Make jansson wipe every block it frees. Call once from main(), before any
 * other jansson call (blocks allocated earlier would be freed by the wrong
 * function). */
void cairn_secure_json_install(void);

#endif
