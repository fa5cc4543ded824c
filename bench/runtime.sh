#!/bin/bash
# bench/runtime.sh: barge-runtime against runc, `run` of a busybox bundle whose
# process is `true`, with the default spec's namespaces.
#
#   bench/runtime.sh [N]          N runs of each (default 200, or $N)
#   BARGE_RUNTIME=build/bin/barge-runtime RUNC=runc RSS_N=20 bench/runtime.sh
#
# The two runtimes run alternately (the order flips every round) on the same
# bundle, each container with a fresh id and cgroup, each runtime with its
# own --root.  Wall time is taken with bash's $EPOCHREALTIME (microseconds,
# no extra process) around each `run`; peak RSS comes from separate runs
# under GNU time (-f %M: the largest RSS of the runtime and the processes it
# waited for).  Prints p10/median/p90 in ms, the median peak RSS, the ratio
# barge/runc, and whether the targets are met (exit status is 0 either way;
# non-zero only when a run fails).  Needs root, jq, busybox-static, time.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-${N:-200}}
RSS_N=${RSS_N:-20}
WARMUP=${WARMUP:-5}
BARGE_RUNTIME=${BARGE_RUNTIME:-build/bin/barge-runtime}
RUNC=${RUNC:-runc}
SPEC_FROM=${SPEC_FROM:-$BARGE_RUNTIME}
TIME=/usr/bin/time

die() { echo "runtime.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
case "$N$RSS_N$WARMUP" in *[!0-9]*) die "N, RSS_N and WARMUP must be numbers" ;; esac
[ "$N" -gt 0 ] || die "N must be > 0"
resolve() { # absolute path of a runtime given as a path or a name in PATH
	local p
	p=$(command -v "$1") || die "$1: not found (set BARGE_RUNTIME / RUNC)"
	readlink -f "$p"
}
barge=$(resolve "$BARGE_RUNTIME")
runc=$(resolve "$RUNC")
spec_from=$(resolve "$SPEC_FROM")
command -v jq >/dev/null || die "jq missing (apt-get install jq)"
[ -x "$TIME" ] || die "$TIME missing (apt-get install time)"

tmp=$(mktemp -d /tmp/barge-bench.XXXXXX)
tag=barge-bench-${tmp##*.}

cleanup() {
	set +e
	local rt r id mnt
	for rt in barge runc; do
		r=$tmp/root-$rt
		[ -d "$r" ] || continue
		for id in "$r"/*; do
			[ -d "$id" ] || continue
			id=${id##*/}
			if [ "$rt" = barge ]; then
				"$barge" --root "$r" delete -f "$id" >/dev/null 2>&1
			else
				"$runc" --root "$r" delete -f "$id" >/dev/null 2>&1
			fi
		done
	done
	# anything still in our cgroups is ours: kill it, then remove them
	for mnt in $(awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo); do
		[ -d "$mnt/$tag" ] || continue
		find "$mnt/$tag" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		find "$mnt/$tag" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	for mnt in $(awk -v d="$tmp" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$mnt"
	done
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the bundle --------------------------------------------------------------
bundle=$tmp/bundle
mkdir -p "$bundle" "$tmp/root-barge" "$tmp/root-runc"
sh tests/lib/mkrootfs.sh "$bundle/rootfs"
(cd "$bundle" && "$spec_from" spec) || die "$spec_from spec failed"
# Each container gets its own cgroup under /$tag (@ID@ is replaced per run).
jq --arg cg "/$tag/@ID@" '.process.terminal = false | .process.args = ["true"]
	| .linux.cgroupsPath = $cg' "$bundle/config.json" >"$tmp/config.template"
namespaces=$(jq -r '[.linux.namespaces[].type] | join(" ")' "$tmp/config.template")

# run_one NAME BIN ID [time-output]: one `run` of the bundle; sets $elapsed_us.
run_one() {
	local name=$1 bin=$2 id=$3 t0 t1
	sed "s|@ID@|$id|" "$tmp/config.template" >"$bundle/config.json"
	if [ $# -ge 4 ]; then
		t0=$EPOCHREALTIME
		"$TIME" -f %M -o "$4" "$bin" --root "$tmp/root-$name" run --bundle "$bundle" "$id" \
			</dev/null >/dev/null 2>"$tmp/stderr" || fail "$name" "$id"
		t1=$EPOCHREALTIME
	else
		t0=$EPOCHREALTIME
		"$bin" --root "$tmp/root-$name" run --bundle "$bundle" "$id" \
			</dev/null >/dev/null 2>"$tmp/stderr" || fail "$name" "$id"
		t1=$EPOCHREALTIME
	fi
	elapsed_us=$((${t1/./} - ${t0/./}))
}

fail() {
	echo "runtime.sh: $1 run $2 failed:" >&2
	cat "$tmp/stderr" >&2
	exit 1
}

# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
		print v[r] }'
}
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

echo "runtime.sh: $N runs each of \`run\` with args [\"true\"], namespaces: $namespaces"
echo "  barge: $barge"
echo "  runc:  $runc"
echo "  spec:  from \`$spec_from spec\`, terminal false, cgroupsPath /$tag/<id>"

for ((i = 0; i < WARMUP; i++)); do
	run_one barge "$barge" "w$i-barge"
	run_one runc "$runc" "w$i-runc"
done

: >"$tmp/wall-barge"
: >"$tmp/wall-runc"
for ((i = 0; i < N; i++)); do
	if ((i % 2 == 0)); then order="barge runc"; else order="runc barge"; fi
	for name in $order; do
		if [ "$name" = barge ]; then bin=$barge; else bin=$runc; fi
		run_one "$name" "$bin" "b$i-$name"
		echo "$elapsed_us" >>"$tmp/wall-$name"
	done
done

: >"$tmp/rss-barge"
: >"$tmp/rss-runc"
for ((i = 0; i < RSS_N; i++)); do
	run_one barge "$barge" "r$i-barge" "$tmp/time.out"
	tail -n 1 "$tmp/time.out" >>"$tmp/rss-barge"
	run_one runc "$runc" "r$i-runc" "$tmp/time.out"
	tail -n 1 "$tmp/time.out" >>"$tmp/rss-runc"
done

printf '\n%-15s %9s %9s %9s   %s\n' "" "p10 ms" "median" "p90 ms" "peak RSS (median of $RSS_N)"
for name in barge runc; do
	rss=-
	[ "$RSS_N" -gt 0 ] && rss="$(pct "$tmp/rss-$name" 50) KiB"
	label=$name
	[ "$name" = barge ] && label="barge-runtime"
	printf '%-15s %9s %9s %9s   %s\n' "$label" \
		"$(ms "$(pct "$tmp/wall-$name" 10)")" "$(ms "$(pct "$tmp/wall-$name" 50)")" \
		"$(ms "$(pct "$tmp/wall-$name" 90)")" "$rss"
done
mb=$(pct "$tmp/wall-barge" 50)
mr=$(pct "$tmp/wall-runc" 50)
ratio=$(awk -v a="$mb" -v b="$mr" 'BEGIN { printf "%.3f", a / b }')
echo
echo "ratio barge/runc (median wall): $ratio   target <= 0.5: $(awk -v r="$ratio" 'BEGIN { print (r <= 0.5) ? "met" : "not met" }')"
if [ "$RSS_N" -gt 0 ]; then
	rb=$(pct "$tmp/rss-barge" 50)
	echo "barge-runtime peak RSS: $rb KiB   target < 2048 KiB: $([ "$rb" -lt 2048 ] && echo met || echo "not met")"
fi
