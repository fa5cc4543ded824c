/*
 * engine/names: container names.  A given name must look like Docker's
 * ([a-zA-Z0-9][a-zA-Z0-9_.-]+); without one, barged makes an
 * "adjective_surname" pair (scientists and engineers) that no container
 * uses yet, adding a digit suffix if the pairs run out.  The word lists
 * are barge's own.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../common/util.h"
#include "names.h"

static const char *const adjectives[] = {
    "agile",   "amazing",  "bold",    "brave",    "bright",   "calm",    "careful",  "cheerful",
    "clever",  "cool",     "curious", "daring",   "dazzling", "eager",   "elegant",  "epic",
    "fervent", "festive",  "focused", "friendly", "gallant",  "gentle",  "happy",    "hopeful",
    "humble",  "jolly",    "keen",    "kind",     "lively",   "loyal",   "lucid",    "merry",
    "modest",  "nifty",    "noble",   "patient",  "peaceful", "placid",  "pleasant", "proud",
    "quick",   "quiet",    "relaxed", "serene",   "sharp",    "shiny",   "silly",    "sleepy",
    "smart",   "steady",   "sunny",   "swift",    "tender",   "tidy",    "trusting", "upbeat",
    "vibrant", "vigilant", "warm",    "wise",     "witty",    "zealous", "zen",
};

static const char *const surnames[] = {
    "archimedes", "babbage",  "bohr",    "boole",     "cantor",   "curie",   "darwin",
    "dijkstra",   "einstein", "euclid",  "euler",     "faraday",  "fermat",  "fermi",
    "feynman",    "galileo",  "gauss",   "goodall",   "hamilton", "hawking", "heisenberg",
    "hilbert",    "hopper",   "hypatia", "johnson",   "kepler",   "knuth",   "lamarr",
    "leibniz",    "lovelace", "maxwell", "meitner",   "mendel",   "newton",  "noether",
    "pascal",     "pasteur",  "planck",  "ramanujan", "ritchie",  "shannon", "tesla",
    "thompson",   "turing",   "volta",   "wiles",     "wozniak",  "yalow",
};

int name_valid(const char *name)
{
        if (name == NULL || name[0] == '\0' || name[1] == '\0')
                return 0;
        for (const char *p = name; *p; p++) {
                int alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                            (*p >= '0' && *p <= '9');
                if (!alnum && (p == name || (*p != '_' && *p != '.' && *p != '-')))
                        return 0;
        }
        return 1;
}

static unsigned rnd(void)
{
        unsigned v = 0;
        if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
                v = (unsigned)rand();
        return v;
}

char *name_generate(int (*taken)(void *ctx, const char *name), void *ctx)
{
        for (int attempt = 0;; attempt++) {
                const char *a = adjectives[rnd() % ARRAY_SIZE(adjectives)];
                const char *s = surnames[rnd() % ARRAY_SIZE(surnames)];
                char *n = attempt < 10 ? xasprintf("%s_%s", a, s)
                                       : xasprintf("%s_%s%u", a, s, rnd() % 1000);
                if (!taken(ctx, n))
                        return n;
                free(n);
        }
}
