#!/usr/bin/python3
"""evil_layer.py KIND OUT.tar CANARY_DIR: a hostile layer tar.

Each kind tries to make an extractor touch CANARY_DIR (an absolute path
outside the image store, holding a file named "file"); a safe extractor
refuses the layer or keeps everything inside the layer's directory.

  symlink      "a" -> CANARY_DIR, then the file "a/x"
  symlink-rel  "a" -> ../../../..(many)/CANARY_DIR, then "a/x"
  symlink-chain "a" -> "b", "b" -> CANARY_DIR, then "a/x"
  dotdot       the file "../../../..(many)/CANARY_DIR/x"
  absolute     the file "/CANARY_DIR/x"
  hardlink     "h" a hard link to CANARY_DIR/file (then "h" rewritten)
  whiteout     "a" -> CANARY_DIR, then "a/.wh.file" (would delete it)
  opaque       "a" -> CANARY_DIR, then "a/.wh..wh..opq" (would empty it)
  lower        only "a" -> CANARY_DIR: harmless on its own (a layer may
               hold any symlink); the next layer, "upper", writes "a/x"
  upper        the file "a/x" (see lower)

Written with Python's tarfile so that names go in exactly as given (GNU
tar strips leading "/" and ".." on creation).
"""
import io
import sys
import tarfile

UP = "../" * 24


def add_file(t, name, data=b"pwned by a hostile layer\n"):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    ti.mtime = 1704067200
    t.addfile(ti, io.BytesIO(data))


def add_link(t, name, target, kind=tarfile.SYMTYPE):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = target
    ti.mode = 0o777 if kind == tarfile.SYMTYPE else 0o644
    ti.mtime = 1704067200
    t.addfile(ti)


def add_dir(t, name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    ti.mtime = 1704067200
    t.addfile(ti)


def main():
    kind, out, canary = sys.argv[1], sys.argv[2], sys.argv[3].rstrip("/")
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        add_file(t, "harmless.txt", b"an innocent first entry\n")
        if kind == "symlink":
            add_link(t, "a", canary)
            add_file(t, "a/x")
        elif kind == "symlink-rel":
            add_link(t, "a", UP + canary.lstrip("/"))
            add_file(t, "a/x")
        elif kind == "symlink-chain":
            add_link(t, "a", "b")
            add_link(t, "b", canary)
            add_file(t, "a/x")
        elif kind == "dotdot":
            add_file(t, UP + canary.lstrip("/") + "/x")
        elif kind == "absolute":
            add_file(t, canary + "/x")
        elif kind == "hardlink":
            add_link(t, "h", canary + "/file", tarfile.LNKTYPE)
            add_link(t, "h2", UP + canary.lstrip("/") + "/file", tarfile.LNKTYPE)
            add_file(t, "h")
        elif kind == "whiteout":
            add_link(t, "a", canary)
            add_file(t, "a/.wh.file", b"")
        elif kind == "opaque":
            add_link(t, "a", canary)
            add_file(t, "a/.wh..wh..opq", b"")
        elif kind == "lower":
            add_link(t, "a", canary)
        elif kind == "upper":
            add_dir(t, "a")
            add_file(t, "a/x")
        else:
            sys.exit("evil_layer.py: unknown kind " + kind)


if __name__ == "__main__":
    main()
