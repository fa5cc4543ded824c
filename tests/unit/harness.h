/*
 * A tiny unit-test harness printing TAP ("ok N - name" / "not ok N - name"),
 * which tests/run.sh counts.  Each test is a function; CHECK records a
 * failure with file and line and returns from the test.
 */
#ifndef BARGE_TEST_HARNESS_H
#define BARGE_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int h_failed_current;
static int h_n, h_fail;

#define CHECK(cond)                                                                                \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
                        h_failed_current = 1;                                                      \
                        return;                                                                    \
                }                                                                                  \
        } while (0)
#define CHECK_STR(a, b)                                                                            \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0) {                             \
                        printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                  \
                               _a ? _a : "(null)", _b ? _b : "(null)");                            \
                        h_failed_current = 1;                                                      \
                        return;                                                                    \
                }                                                                                  \
        } while (0)

#define RUN(fn)                                                                                    \
        do {                                                                                       \
                h_failed_current = 0;                                                              \
                fn();                                                                              \
                h_n++;                                                                             \
                if (h_failed_current)                                                              \
                        h_fail++;                                                                  \
                printf("%sok %d - %s\n", h_failed_current ? "not " : "", h_n, #fn);                \
        } while (0)

/* A test that cannot run in this build: reported as skipped, with why. */
#define SKIP(fn, why)                                                                              \
        do {                                                                                       \
                h_n++;                                                                             \
                printf("ok %d - %s # skip %s\n", h_n, #fn, why);                                   \
        } while (0)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

#define DONE() (printf("1..%d\n", h_n), h_fail ? 1 : 0)

#endif
