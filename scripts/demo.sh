#!/bin/sh
# The main job, offline: start barged if none answers on the default socket
# (it is stopped again at the end), load the built-in hello-world image if
# it is not there yet, and `barge run --rm hello-world`.
set -eu
cd "$(dirname "$0")/.."
BIN=$PWD/build/bin
HOST=${BARGE_HOST:-unix:///run/barge/barge.sock}
started=
cleanup() {
	if [ -n "$started" ]; then
		kill -TERM "$started" 2>/dev/null || true
		wait "$started" 2>/dev/null || true
	fi
}
trap cleanup EXIT INT TERM
if ! "$BIN/barge" -H "$HOST" version >/dev/null 2>&1; then
	echo "+ barged -H $HOST &"
	"$BIN/barged" -H "$HOST" >/tmp/barged-demo.log 2>&1 &
	started=$!
	i=0
	until "$BIN/barge" -H "$HOST" version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$started" 2>/dev/null; then
			echo "barged did not start; its log:" >&2
			cat /tmp/barged-demo.log >&2
			exit 1
		fi
		sleep 0.1
	done
fi
if ! "$BIN/barge" -H "$HOST" image inspect hello-world >/dev/null 2>&1; then
	echo "+ barge load -i build/hello-world.tar"
	"$BIN/barge" -H "$HOST" load -i build/hello-world.tar
fi
echo "+ barge run --rm hello-world"
"$BIN/barge" -H "$HOST" run --rm hello-world
