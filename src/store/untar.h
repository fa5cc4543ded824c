/*
 * untar: extract one layer tar into a directory, safely.  Every entry is
 * created below `rootfd` with *at() calls on parents opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS),
 * so "..", absolute names, symlinks planted earlier in the same layer and
 * hard links pointing outside all end inside the layer or are refused with
 * an error naming the entry.  Whiteouts (".wh.NAME", ".wh..wh..opq") become
 * overlayfs whiteouts (a 0:0 character device; the trusted.overlay.opaque
 * xattr), so layer directories stack as overlay lowerdirs.  Modes, owners,
 * times, xattrs, hard links, symlinks and device nodes are preserved.
 */
#ifndef BARGE_UNTAR_H
#define BARGE_UNTAR_H

#include <archive.h>
#include <stdint.h>

#include "../common/err.h"

struct untar_stats {
        int64_t bytes;   /* file contents written */
        int64_t entries; /* entries extracted */
};

/* `a` is a libarchive reader already opened for the tar format (the caller
 * sets up decompression and the data source); reads it to the end. */
int untar_archive(struct archive *a, int rootfd, struct untar_stats *st, struct err **e);

#endif
