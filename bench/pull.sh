#!/bin/bash
# bench/pull.sh: `barge pull` against `docker pull` (and `skopeo copy`,
# `podman pull` when installed), of one synthetic image from a registry on
# loopback, cold (empty store) and warm (image already there).
#
#   bench/pull.sh [N]                  N measured rounds (default 5, or $N)
#   LAYERS=5 LAYER_MB=40 WARMUP=1 BARGE=build/bin/barge bench/pull.sh
#
# The image: LAYERS layers (default 5) of LAYER_MB MiB (default 40) of
# random bytes each (incompressible: gzip'd they are as big, so the bench
# measures moving, hashing and writing bytes, not decompressing), made by
# hand and pushed with skopeo (tests/lib/registry/seed.bash) to Debian's
# docker-registry on 127.0.0.1 (tests/lib/registry/registry.bash), as Docker
# schema 2 like Docker Hub serves.  Each round, in an order that rotates,
# every tool pulls it into an empty store:
#   barge   `barge --root EMPTY pull`           download, verify, unpack
#   docker  `docker pull` against a private dockerd (its own containerd,
#           data-root, sockets: tests/lib/peers/common.bash), image removed
#           after each pull                     download, verify, unpack
#   podman  `podman pull` with a temp --root (overlay)   same
#   skopeo  `skopeo copy docker://... dir:`     download and verify only
# then `barge pull` again with the image present (warm), WARM_N times
# (default 20).  `sync` runs before each timed pull, so no pull pays for
# the previous one's writeback.  Wall time is bash's $EPOCHREALTIME around
# each command.  Prints min/median/max per tool, the ratio of the medians
# barge/docker, and whether the targets are met: **cold barge <= 0.6x
# docker, warm barge < 50 ms**.  Needs root; no network.  Everything it makes
# (registry, dockerd, containerd, stores, temp dir) is removed at the end,
# also on failure or Ctrl-C.  Exits 0 whether or not targets are met;
# non-zero when a pull fails.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

N=${1:-${N:-5}}
WARMUP=${WARMUP:-1}
WARM_N=${WARM_N:-20}
LAYERS=${LAYERS:-5}
LAYER_MB=${LAYER_MB:-40}
BARGE=${BARGE:-build/bin/barge}
TOOLS=${TOOLS:-barge docker podman skopeo}

die() { echo "pull.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
case "$N$WARMUP$WARM_N$LAYERS$LAYER_MB" in *[!0-9]*) die "N, WARMUP, WARM_N, LAYERS, LAYER_MB must be numbers" ;; esac
[ "$N" -gt 0 ] || die "N must be > 0"
for c in docker-registry skopeo jq; do
	command -v "$c" >/dev/null || die "$c missing (make test-deps)"
done
case $BARGE in /*) ;; *) BARGE=$REPO/$BARGE ;; esac

# shellcheck source=../tests/lib/registry/registry.bash
source tests/lib/registry/registry.bash
# shellcheck source=../tests/lib/registry/seed.bash
source tests/lib/registry/seed.bash
# shellcheck source=../tests/lib/peers/common.bash
source tests/lib/peers/common.bash

tmp=$(mktemp -d /tmp/barge-bench-pull.XXXXXX)
export SEED_TMP=$tmp/seed-tmp
mkdir -p "$SEED_TMP"
PEERS_DIR=
cleanup() {
	set +e
	trap - EXIT INT TERM
	[ -n "$PEERS_DIR" ] && peers_cleanup
	reg_stop_all "$tmp"
	rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the image
echo "# making the image: $LAYERS layers x $LAYER_MB MiB of random bytes" >&2
reg_start "$tmp/reg" >&2
layout=$tmp/layout
args=()
for i in $(seq "$LAYERS"); do
	mkdir -p "$tmp/l$i/data"
	head -c "${LAYER_MB}M" /dev/urandom >"$tmp/l$i/data/layer$i.bin"
	seed_tar "$tmp/l$i.tar" "$tmp/l$i"
	rm -rf "$tmp/l$i"
	args+=("$tmp/l$i.tar")
done
oci_image "$layout" bench "${args[@]}"
rm -f "${args[@]}"
image_id=$(seed_info "$layout" bench .config)
seed_push "$layout" bench "$tmp/reg" bench/big:latest --v2s2 >/dev/null
ref=$(reg_addr "$tmp/reg")/bench/big:latest
size_mb=$(jq '[.layers[].size] | add / 1048576 | floor' "$layout/bench.info")
rm -rf "$layout"
echo "# $ref: $size_mb MiB compressed, image id ${image_id:7:12}" >&2

# ---------------------------------------------------------------- the tools
have() { [[ " $TOOLS " == *" $1 "* ]]; }
why_not=()

if have barge && [ ! -x "$BARGE" ]; then
	why_not+=("barge: $BARGE is not built")
	TOOLS=${TOOLS/barge/}
fi

if have docker; then
	PEERS_DIR=$(mktemp -d /tmp/barge-peers.XXXXXX)
	PEERS_TAG=barge-peers-${PEERS_DIR##*.}
	RUNTIME=$(command -v runc || echo /bin/false) # never called: no container runs
	export PEERS_DIR PEERS_TAG RUNTIME
	peers_record_host_dirs
	peers_make_wrapper docker
	peers_launch_containerd
	mkdir -p "$tmp/rootfs"
	sh tests/lib/mkrootfs.sh "$tmp/rootfs" >/dev/null
	sh tests/lib/peers/mkimage.sh "$tmp/rootfs" "$PEERS_DIR/image.tar"
	peers_start_dockerd
	if [ -f "$PEERS_DIR/unavailable-docker" ]; then
		why_not+=("docker: $(head -n1 "$PEERS_DIR/unavailable-docker")")
		TOOLS=${TOOLS/docker/}
	fi
fi

if have podman && ! command -v podman >/dev/null; then
	why_not+=("podman: not installed")
	TOOLS=${TOOLS/podman/}
fi
pm_dir=$tmp/pm
mkdir -p "$pm_dir/tmp"
cat >"$pm_dir/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$pm_dir/storage"
runroot = "$pm_dir/run"
EOF
cat >"$pm_dir/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
lock_type = "file"
tmp_dir = "$pm_dir/tmp"
static_dir = "$pm_dir/storage/libpod"
volume_path = "$pm_dir/volumes"
EOF
echo '{}' >"$pm_dir/auth.json"
# podman keeps a blob-info cache in /var/lib/containers for root: a private
# mount namespace with a tmpfs on /var/lib keeps it out of the host
pm() {
	CONTAINERS_CONF=$pm_dir/containers.conf CONTAINERS_STORAGE_CONF=$pm_dir/storage.conf \
		REGISTRY_AUTH_FILE=$pm_dir/auth.json TMPDIR=$pm_dir/tmp \
		unshare --mount --propagation private \
		sh -c 'mount -t tmpfs -o size=16m barge-bench-podman /var/lib && exec "$@"' sh \
		podman --root "$pm_dir/storage" --runroot "$pm_dir/run" --tmpdir "$pm_dir/tmp" \
		--storage-driver overlay --cgroup-manager cgroupfs --events-backend none "$@" </dev/null
}

# ---------------------------------------------------------------- the runs
# run_cold TOOL: one cold pull (store emptied before, untimed); prints ms.
run_cold() {
	local t0 t1
	case $1 in
	barge) rm -rf "$tmp/barge-root" ;;
	docker) dk image rm -f "$ref" >/dev/null 2>&1 || true ;;
	podman) pm rmi -a -f >/dev/null 2>&1 || true ;;
	skopeo) rm -rf "$tmp/skopeo-dir" ;;
	esac
	sync
	t0=$EPOCHREALTIME
	case $1 in
	barge) "$BARGE" --root "$tmp/barge-root" pull -q "$ref" >/dev/null ;;
	docker) dk pull -q "$ref" >/dev/null ;;
	podman) pm pull -q --tls-verify=false "$ref" >/dev/null ;;
	skopeo) seed_sk copy -q --src-tls-verify=false "docker://$ref" "dir:$tmp/skopeo-dir" >/dev/null ;;
	esac || { echo "pull.sh: $1 pull of $ref failed" >&2; return 1; }
	t1=$EPOCHREALTIME
	echo $(((${t1/./} - ${t0/./}) / 1000))
}

run_warm() {
	local t0 t1
	t0=$EPOCHREALTIME
	"$BARGE" --root "$tmp/barge-root" pull -q "$ref" >/dev/null ||
		{ echo "pull.sh: warm barge pull failed" >&2; return 1; }
	t1=$EPOCHREALTIME
	echo $(((${t1/./} - ${t0/./}) / 10))
}

# stats FILE: "min median max" of the numbers in FILE.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s %s %s\n", v[1], m, v[NR] }'
}

med_barge='' med_docker='' med_podman='' med_warm=''
read -ra tools <<<"$TOOLS"
[ ${#tools[@]} -gt 0 ] || die "no tool can run: ${why_not[*]}"
for t in "${tools[@]}"; do : >"$tmp/$t.ms"; done
total=$((WARMUP + N))
for round in $(seq "$total"); do
	# rotate the order, so no tool always follows the same one
	order=("${tools[@]:$(((round - 1) % ${#tools[@]}))}" "${tools[@]:0:$(((round - 1) % ${#tools[@]}))}")
	line="# round $round/$total"
	[ "$round" -le "$WARMUP" ] && line="$line (warm-up)"
	for t in "${order[@]}"; do
		ms=$(run_cold "$t")
		line="$line  $t ${ms}ms"
		[ "$round" -le "$WARMUP" ] || echo "$ms" >>"$tmp/$t.ms"
	done
	echo "$line" >&2
done

if have barge; then
	# the image is in barge's store from its last cold pull: check it, then warm pulls
	got=$("$BARGE" --root "$tmp/barge-root" image inspect "$ref" | jq -r '.[0].Id')
	[ "$got" = "$image_id" ] || die "barge pulled image $got, expected $image_id"
	: >"$tmp/warm.ms100"
	for _ in $(seq "$WARM_N"); do run_warm >>"$tmp/warm.ms100"; done
	awk '{ printf "%.2f\n", $1 / 100 }' "$tmp/warm.ms100" >"$tmp/warm.ms"
fi

# ---------------------------------------------------------------- report
echo
echo "pull of $LAYERS x $LAYER_MB MiB ($size_mb MiB compressed) from a local registry, $N rounds"
printf '%-16s %10s %10s %10s\n' "" "min ms" "median ms" "max ms"
for t in "${tools[@]}"; do
	read -r lo med hi < <(stats "$tmp/$t.ms")
	what="$t cold"
	[ "$t" = skopeo ] && what="skopeo (dl only)"
	printf '%-16s %10s %10s %10s\n' "$what" "$lo" "$med" "$hi"
	printf -v "med_$t" %s "$med"
done
if have barge; then
	read -r lo med hi < <(stats "$tmp/warm.ms")
	printf '%-16s %10s %10s %10s\n' "barge warm" "$lo" "$med" "$hi"
	med_warm=$med
fi
for w in "${why_not[@]}"; do echo "(not measured: $w)"; done
if have barge && have docker; then
	ratio=$(awk -v b="$med_barge" -v d="$med_docker" 'BEGIN { printf "%.2f", b / d }')
	verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.6) ? "met" : "not met" }')
	echo "cold ratio barge/docker: $ratio (target <= 0.6: $verdict)"
	if have podman; then
		echo "cold ratio barge/podman: $(awk -v b="$med_barge" -v p="$med_podman" 'BEGIN { printf "%.2f", b / p }')"
	fi
fi
if have barge; then
	verdict=$(awk -v w="$med_warm" 'BEGIN { print (w < 50) ? "met" : "not met" }')
	echo "warm barge median: ${med_warm} ms (target < 50 ms: $verdict)"
fi
