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
 *
 * A later entry replaces an earlier one of the same name (a directory is
 * kept and updated only for another directory entry), as docker does; the
 * root's own entry ("./") is ignored; directories get their final mode,
 * owner and times after the last entry.  docs/untar.md has every rule and
 * the hostile archives the tests feed it.
 *
 * Needs root (CAP_CHOWN, CAP_FOWNER, CAP_MKNOD for devices and whiteouts,
 * CAP_SYS_ADMIN for trusted.* xattrs) and /proc mounted.  Safe to call from
 * several threads at once on different archives.
 */
#ifndef BARGE_UNTAR_H
#define BARGE_UNTAR_H

#include <archive.h>
#include <stdint.h>

#include "../common/err.h"

struct untar_stats {
        int64_t bytes;   /* file contents written, plus symlink target lengths (docker's size) */
        int64_t entries; /* entries extracted */
};

/* `a` is a libarchive reader already opened for the tar format (the caller
 * sets up decompression and the data source); reads it to the end.
 * `rootfd` is the layer directory (O_PATH is enough).  Stops at the first
 * error, with one line naming the entry ("layer entry \"a/passwd\": ...");
 * what was extracted so far stays, and the caller discards the directory.
 * `st` (may be NULL) counts file bytes written and entries extracted. */
int untar_archive(struct archive *a, int rootfd, struct untar_stats *st, struct err **e);

#endif
