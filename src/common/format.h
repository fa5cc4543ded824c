/*
 * format: the subset of Go templates that `--format` flags use most:
 * literal text with actions {{.}}, {{.A.B}}, {{json .A}}, {{index .A "k"}}
 * or {{index .A 0}}.  Values print as Go's fmt does ([a b] for lists,
 * map[k:v] for objects); {{json}} prints compact JSON.  Anything else is
 * an error naming the action (no silent wrong output).
 */
#ifndef BARGE_CLI_FORMAT_H
#define BARGE_CLI_FORMAT_H

#include <jansson.h>

#include "err.h"

/* Render `tmpl` over `v`; *out is malloc'ed. */
int format_render(const char *tmpl, json_t *v, char **out, struct err **e);

#endif
