/*
 * cli: what barge's and barge-runtime's command lines share: a failure is
 * one error line (through log.h), a usage error names the command and how
 * to get its help, and `COMMAND --help` lists the command's flags from its
 * getopt option table.
 */
#ifndef BARGE_COMMON_CLI_H
#define BARGE_COMMON_CLI_H

#include <getopt.h>

#include "err.h"

/* Program name and the exit code of usage errors (docker: 125, runc: 1).
 * Set once by main, before anything else runs. */
void cli_common_init(const char *prog, int usage_exit);
/* Log *e as one line, free it, return exit code 1. */
int cli_fail(struct err **e);
/* "CMD: MESSAGE (see 'PROG CMD --help')"; returns the usage exit code. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print CMD's flags and exit 0. */
__attribute__((noreturn)) void cli_command_help(const char *cmd, const struct option *opts);

#endif
