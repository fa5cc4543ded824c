/*
 * engine/names: validating and generating container names (names.c).
 * Lifecycle side only; names are stored with a leading "/".
 */
#ifndef BARGE_ENGINE_NAMES_H
#define BARGE_ENGINE_NAMES_H

/* [a-zA-Z0-9][a-zA-Z0-9_.-]+ (no leading "/") */
int name_valid(const char *name);
/* A fresh "adjective_surname" (no "/") for which taken() returns 0. */
char *name_generate(int (*taken)(void *ctx, const char *name), void *ctx);

#endif
