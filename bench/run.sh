#!/bin/bash
# bench/run.sh: the engine end to end, barge against Debian's docker.io on
# the same machine, each with a private daemon (own root, socket, exec root;
# the system's daemons are never touched).
#
#   bench/run.sh [N]      N runs of each (default 30, or $N)
#   PS_N=500 bench/run.sh
#
# 1. `run --rm busybox true`, default network, barge and docker alternately
# 2. the same with `--network none`
# 3. idle RSS: barged vs dockerd + its containerd (after start, image loaded)
# 4. barge-shim's RSS while it holds a running container
# 5. `barge ps -a` with PS_N containers created
# Wall time from bash's $EPOCHREALTIME around each client command.  Prints
# p10/median/p90 in ms and the ratios against the targets (exit status 0
# either way; non-zero only when a command fails).  Needs root; docker is
# skipped (with a note) if dockerd is not installed or does not start.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-${N:-30}}
PS_N=${PS_N:-500}
WARMUP=${WARMUP:-3}
BIN=${BIN:-$PWD/build/bin}
die() { echo "run.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
for f in barge barged barge-shim barge-runtime; do
	[ -x "$BIN/$f" ] || die "$BIN/$f missing (make)"
done
[ -f build/busybox.tar ] || die "build/busybox.tar missing (make)"

tmp=$(mktemp -d /tmp/barge-benchrun.XXXXXX)
bpid= dpid=
cleanup() {
	set +e
	if [ -n "$bpid" ]; then
		"$BIN/barge" -H "unix://$tmp/b.sock" ps -aq 2>/dev/null |
			xargs -r "$BIN/barge" -H "unix://$tmp/b.sock" rm -f >/dev/null 2>&1
		kill -TERM "$bpid"; wait "$bpid"
	fi
	if [ -n "$dpid" ]; then
		docker -H "unix://$tmp/d.sock" ps -aq 2>/dev/null |
			xargs -r docker -H "unix://$tmp/d.sock" rm -f >/dev/null 2>&1
		kill -TERM "$dpid"; wait "$dpid"
	fi
	awk -v d="$tmp/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

B() { "$BIN/barge" -H "unix://$tmp/b.sock" "$@"; }
D() { docker -H "unix://$tmp/d.sock" "$@"; }

wait_for() { # CMD...: until it succeeds (10 s)
	local i
	for i in $(seq 1 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}

echo '{}' >"$tmp/daemon.json"
"$BIN/barged" --root "$tmp/broot" --exec-root "$tmp/brun" -H "unix://$tmp/b.sock" \
	--pidfile "$tmp/b.pid" --config-file "$tmp/daemon.json" >"$tmp/barged.log" 2>&1 &
bpid=$!
wait_for B version || { cat "$tmp/barged.log" >&2; die "barged did not start"; }
B load -q -i build/busybox.tar >/dev/null

have_docker=
if command -v dockerd >/dev/null && command -v docker >/dev/null; then
	dockerd --data-root "$tmp/droot" --exec-root "$tmp/drun" -H "unix://$tmp/d.sock" \
		--pidfile "$tmp/d.pid" --config-file "$tmp/daemon.json" --iptables=false \
		--bridge none >"$tmp/dockerd.log" 2>&1 &
	dpid=$!
	if wait_for D version && D load -q -i build/busybox.tar >/dev/null; then
		have_docker=1
	else
		echo "note: dockerd did not start; docker figures skipped (log: $tmp/dockerd.log)"
	fi
else
	echo "note: docker.io not installed; docker figures skipped"
fi

now_us() { echo "${EPOCHREALTIME/./}"; }
# stats FILE: "p10 median p90" in ms (3 decimals) of the microsecond values
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		p = v[int((NR - 1) * 0.1) + 1]; m = v[int((NR + 1) / 2)]
		q = v[int((NR - 1) * 0.9) + 1]
		printf "%.3f %.3f %.3f\n", p / 1000, m / 1000, q / 1000 }'
}
median() { stats "$1" | cut -d' ' -f2; }

# time_runs NAME N CMD...: append N wall times (us) of CMD to $tmp/NAME
time_run() {
	local f=$1
	shift
	local t0 t1
	t0=$(now_us)
	"$@" >/dev/null
	t1=$(now_us)
	echo $((t1 - t0)) >>"$tmp/$f"
}

bench_pair() { # LABEL EXTRA-ARGS...: barge and docker alternately
	local label=$1
	shift
	local i
	: >"$tmp/b-$label"
	: >"$tmp/d-$label"
	for i in $(seq 1 "$WARMUP"); do
		B run --rm "$@" busybox true >/dev/null
		[ -z "$have_docker" ] || D run --rm "$@" busybox true >/dev/null
	done
	for i in $(seq 1 "$N"); do
		if [ $((i % 2)) = 0 ] && [ -n "$have_docker" ]; then
			time_run "d-$label" D run --rm "$@" busybox true
			time_run "b-$label" B run --rm "$@" busybox true
		else
			time_run "b-$label" B run --rm "$@" busybox true
			[ -z "$have_docker" ] || time_run "d-$label" D run --rm "$@" busybox true
		fi
	done
	local bs ds
	bs=$(stats "$tmp/b-$label")
	printf '%-34s barge  p10/median/p90 %s ms\n' "run --rm busybox true $label" "$bs"
	if [ -n "$have_docker" ]; then
		ds=$(stats "$tmp/d-$label")
		printf '%-34s docker p10/median/p90 %s ms\n' "" "$ds"
		awk -v b="$(median "$tmp/b-$label")" -v d="$(median "$tmp/d-$label")" \
			'BEGIN { printf "%-34s ratio barge/docker %.3f (target <= 0.1)\n", "", b / d }'
	fi
}

echo "== $N runs each, $(nproc) CPUs, $(uname -r)"
bench_pair "(default network)"
bench_pair "--network none" --network none
awk -v b="$(median "$tmp/b---network none")" \
	'BEGIN { printf "%-34s barge median %.3f ms (target < 15)\n", "--network none", b }'

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
sleep 1
brss=$(rss_kib "$bpid")
printf '%-34s barged %d KiB (target < 8192)\n' "idle RSS" "$brss"
if [ -n "$have_docker" ]; then
	drss=$(rss_kib "$dpid")
	crss=0
	for p in $(pgrep -f "containerd.*$tmp/" || true); do
		crss=$((crss + $(rss_kib "$p")))
	done
	printf '%-34s dockerd %d KiB + containerd %d KiB = %d KiB\n' "" "$drss" "$crss" \
		$((drss + crss))
fi

cid=$(B run -d busybox sleep 60)
shim=$(pgrep -f "barge-shim.*$cid" | head -n1 || true)
if [ -n "$shim" ]; then
	printf '%-34s %d KiB while holding a container\n' "barge-shim RSS" "$(rss_kib "$shim")"
fi
B rm -f "$cid" >/dev/null

echo "creating $PS_N containers..."
for i in $(seq 1 "$PS_N"); do B create busybox true >/dev/null; done
: >"$tmp/ps"
for i in $(seq 1 20); do time_run ps B ps -a; done
printf '%-34s barge p10/median/p90 %s ms (target median < 50)\n' "ps -a with $PS_N containers" \
	"$(stats "$tmp/ps")"
