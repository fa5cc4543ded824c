#!/usr/bin/env python3
"""console_recv.py: the receiving end of an OCI runtime's --console-socket.

    console_recv.py SOCKET [--timeout SECS] [--winsize ROWS COLS]
                           [--send TEXT] [--when PATTERN --send TEXT]...

Listens on the unix socket SOCKET, accepts one connection and receives the
pty master over it with SCM_RIGHTS (as containerd's and podman's shims do).
Then it optionally sets the window size, writes each --send TEXT into the
master (a --send preceded by --when PATTERN waits until PATTERN has appeared
in the output), and copies everything the container writes to stdout until
the slave side closes (EIO/EOF) or SECS pass.

TEXT may use Python escapes (\\n, \\x03).  Exit status: 0 when the slave
closed, 2 on timeout, 3 when no fd arrived.  What the runtime sent as the
message body (the terminal's name for runc) goes to stderr as "msg: ...".
"""
import array
import fcntl
import os
import select
import socket
import struct
import sys
import termios
import time


def parse(argv):
    opts = {"socket": None, "timeout": 20.0, "winsize": None, "steps": []}
    i, when = 0, None
    while i < len(argv):
        a = argv[i]
        if a == "--timeout":
            opts["timeout"] = float(argv[i + 1])
            i += 2
        elif a == "--winsize":
            opts["winsize"] = (int(argv[i + 1]), int(argv[i + 2]))
            i += 3
        elif a == "--when":
            when = argv[i + 1].encode().decode("unicode_escape").encode()
            i += 2
        elif a == "--send":
            text = argv[i + 1].encode().decode("unicode_escape").encode("latin-1")
            opts["steps"].append((when, text))
            when = None
            i += 2
        elif opts["socket"] is None:
            opts["socket"] = a
            i += 1
        else:
            sys.exit("console_recv.py: unexpected argument %r" % a)
    if opts["socket"] is None:
        sys.exit(__doc__)
    return opts


def recv_fd(conn):
    fds = array.array("i")
    msg, ancdata, _flags, _addr = conn.recvmsg(4096, socket.CMSG_SPACE(4 * fds.itemsize))
    for level, typ, data in ancdata:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return msg, list(fds)


def main():
    opts = parse(sys.argv[1:])
    deadline = time.monotonic() + opts["timeout"]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(opts["socket"])
    srv.listen(1)
    srv.settimeout(opts["timeout"])
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("console_recv.py: nobody connected", file=sys.stderr)
        return 3
    conn.settimeout(max(0.1, deadline - time.monotonic()))
    msg, fds = recv_fd(conn)
    conn.close()
    srv.close()
    if not fds:
        print("console_recv.py: no fd received", file=sys.stderr)
        return 3
    master = fds[0]
    for extra in fds[1:]:
        os.close(extra)
    if opts["winsize"]:
        rows, cols = opts["winsize"]
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    # after the resize: a test waits for this line before starting the process
    print("msg: %s" % msg.decode(errors="replace"), file=sys.stderr, flush=True)

    steps = list(opts["steps"])
    seen = b""
    out = sys.stdout.buffer
    while True:
        while steps and (steps[0][0] is None or steps[0][0] in seen):
            os.write(master, steps.pop(0)[1])
        left = deadline - time.monotonic()
        if left <= 0:
            print("console_recv.py: timed out", file=sys.stderr)
            return 2
        r, _, _ = select.select([master], [], [], min(left, 0.5))
        if not r:
            continue
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every slave fd is closed
            break
        if not data:
            break
        seen += data
        out.write(data)
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
