#!/usr/bin/python3
"""slowproxy.py: a TCP relay on loopback that slows the replies down.

    slowproxy.py --dir DIR --upstream 127.0.0.1:PORT [--rate BYTES_PER_S]

Listens on 127.0.0.1 (a free port, written to DIR/port once listening) and
relays every connection to the upstream, passing at most --rate bytes per
second from the upstream back to the client (requests go through at full
speed; a number written to DIR/rate changes the rate from then on).
DIR/bytes holds the total relayed to clients so far, rewritten after each
chunk, so a test can wait until a download is under way and then kill the
registry behind the proxy: the client sees the connection close mid-body,
as it would if the registry itself died.  When the upstream goes away the
client's connection is closed; new connections try the upstream again (so
a restarted registry on the same port serves them).
"""
import argparse
import os
import signal
import socket
import sys
import threading
import time


class State:
    def __init__(self, d, upstream, rate):
        self.dir = d
        self.upstream = upstream
        self.rate = rate
        self.total = 0
        self.lock = threading.Lock()

    def current_rate(self):
        """DIR/rate, when a test wrote one, overrides --rate from then on."""
        try:
            with open(os.path.join(self.dir, "rate")) as f:
                return max(1024, int(f.read().strip()))
        except (OSError, ValueError):
            return self.rate

    def add(self, n):
        with self.lock:
            self.total += n
            tmp = os.path.join(self.dir, "bytes.tmp")
            with open(tmp, "w") as f:
                f.write("%d\n" % self.total)
            os.rename(tmp, os.path.join(self.dir, "bytes"))


def pump_up(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def pump_down(src, dst, st):
    try:
        while True:
            rate = st.current_rate()
            chunk = max(1024, rate // 20)  # about 20 chunks a second
            t0 = time.monotonic()
            b = src.recv(chunk)
            if not b:
                break
            dst.sendall(b)
            st.add(len(b))
            wait = len(b) / rate - (time.monotonic() - t0)
            if wait > 0:
                time.sleep(wait)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(conn, st):
    try:
        up = socket.create_connection(st.upstream, timeout=10)
        up.settimeout(None)
    except OSError:
        conn.close()
        return
    a = threading.Thread(target=pump_up, args=(conn, up), daemon=True)
    b = threading.Thread(target=pump_down, args=(up, conn, st), daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    conn.close()
    up.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--rate", type=int, default=2 * 1024 * 1024)
    a = ap.parse_args()
    host, _, port = a.upstream.rpartition(":")
    st = State(a.dir, (host, int(port)), a.rate)
    st.add(0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    pf = os.path.join(a.dir, "port")
    with open(pf + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(pf + ".tmp", pf)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, st), daemon=True).start()


if __name__ == "__main__":
    main()
