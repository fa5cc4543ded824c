/*
 * timefmt: the RFC 3339 timestamps of the Engine API, logs and state files,
 * in unix nanoseconds.  Docker prints Go's RFC3339Nano (the fraction
 * without trailing zeros); its json-file log and `logs -t` use a fixed
 * nine-digit fraction.
 */
#ifndef BARGE_TIMEFMT_H
#define BARGE_TIMEFMT_H

#include <stdint.h>

#define TIME_BUF 40

/* "2024-01-02T03:04:05.123Z" (Go's RFC3339Nano, UTC) */
void time_format_go(int64_t ns, char buf[TIME_BUF]);
/* "2024-01-02T03:04:05.123000000Z" (nine digits, as json-file logs) */
void time_format_nano(int64_t ns, char buf[TIME_BUF]);
/* RFC 3339 with an optional fraction (up to nine digits used) and "Z" or a
 * +hh:mm / -hh:mm offset; 0, or -1 if `s` is not one. */
int time_parse(const char *s, int64_t *ns);
/* CLOCK_REALTIME in unix nanoseconds */
int64_t time_now_ns(void);

#endif
