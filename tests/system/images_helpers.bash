# shellcheck shell=bash disable=SC2154  # $output, $status, $stderr: bats' run
# images_helpers.bash: shared set-up for the image tests (images*.bats):
# `barge` pull/push/images/inspect/tag/rmi/prune/save/load/import/login
# against real registries on loopback (tests/lib/registry/).
#
# Per file (images_setup_file / images_teardown_file):
#   IMG_FILE_TMP  /tmp/barge-images.XXXXXX: every registry, temp file and
#                 test dir of the file lives under it; teardown_file stops
#                 every process of ours found there and removes it
#   SEED          the seed layouts (built once per bats run, see
#                 images_seed_cache) and seeded.env: the digests of the
#                 seeded images (images_seed REGDIR ... writes and loads it)
# Per test (images_setup / images_teardown):
#   TEST_TMP      a private dir under IMG_FILE_TMP (removed by teardown)
#   ROOT          $TEST_TMP/root: the image store of the test's own barged
#                 (--root "$ROOT", never the system default)
#   DOCKER_CONFIG $TEST_TMP/docker-config: the client's auth file (never
#                 ~/.docker); barged gets an empty one of its own, so
#                 credentials reach it only through the API (X-Registry-Auth)
# Every `barge` call goes through the Engine API: the first one starts a
# private barged on $TEST_TMP/barged.sock (barged_start), and calls that
# give registry flags (--registry-mirror, --insecure-registry: daemon
# settings now) restart it with them when they differ.
# Teardown stops barged and every registry the test started (anything under
# TEST_TMP with a pid file) and kills any process whose command line names
# TEST_TMP (a barge left running in the background), also when the test
# failed.

bats_require_minimum_version 1.5.0

IMG_HELPERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMG_REPO=$(cd "$IMG_HELPERS_DIR/../.." && pwd)
IMG_LIB=$IMG_REPO/tests/lib
# shellcheck source=../lib/registry/registry.bash
source "$IMG_LIB/registry/registry.bash"
# shellcheck source=../lib/registry/seed.bash
source "$IMG_LIB/registry/seed.bash"

BARGE_BUILD=${BARGE_BUILD:-$IMG_REPO/build}
BARGE=${BARGE:-$BARGE_BUILD/bin/barge}
BARGED=${BARGED:-$BARGE_BUILD/bin/barged}
case $BARGE in
/*) ;;
*/*) BARGE=$PWD/$BARGE ;;
*) BARGE=$(command -v "$BARGE" || echo "$BARGE") ;;
esac
case $BARGED in
/*) ;;
*/*) BARGED=$PWD/$BARGED ;;
*) BARGED=$(command -v "$BARGED" || echo "$BARGED") ;;
esac
IMG_TIMEOUT=${IMG_TIMEOUT:-120}

# ---------------------------------------------------------------- per file

# images_setup_file [--no-barge]: makes IMG_FILE_TMP and the seed images;
# returns 1 (the caller returns at once) when the file cannot run here:
# barge not built (unless --no-barge: the fixture self-tests), tools
# missing, not root.  bats 1.8 cannot skip from setup_file, so the reason
# goes to IMG_SKIP and every test's setup skips with it.
images_setup_file() {
	export IMG_SKIP=
	if [ "${1:-}" != --no-barge ] && [ ! -x "$BARGE" ]; then
		IMG_SKIP="barge is not built ($BARGE); make, or set BARGE="
	elif [ "${1:-}" != --no-barge ] && [ ! -x "$BARGED" ]; then
		IMG_SKIP="barged is not built ($BARGED); make, or set BARGED="
	elif ! command -v docker-registry >/dev/null; then
		IMG_SKIP="docker-registry not installed"
	elif ! command -v skopeo >/dev/null; then
		IMG_SKIP="skopeo not installed"
	elif [ "$(id -u)" != 0 ]; then
		IMG_SKIP="the image tests need root (skopeo runs in a private mount namespace)"
	fi
	[ -z "$IMG_SKIP" ] || return 1
	images_sweep_stale
	IMG_FILE_TMP=$(mktemp -d /tmp/barge-images.XXXXXX)
	export IMG_FILE_TMP
	export SEED_TMP=$IMG_FILE_TMP/seed-tmp
	mkdir -p "$SEED_TMP"
	images_seed_cache
}

images_teardown_file() {
	[ -n "${IMG_FILE_TMP:-}" ] && [ -d "$IMG_FILE_TMP" ] || return 0
	images_cleanup_dir "$IMG_FILE_TMP"
}

# images_cleanup_dir DIR: stop our registries under DIR, kill processes
# naming DIR, unmount what is mounted under it, remove it.
images_cleanup_dir() {
	local d=$1 p m
	reg_stop_all "$d"
	for p in $(images_pids_naming "$d"); do kill -KILL "$p" 2>/dev/null; done
	for m in $(awk -v d="$d" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf --one-file-system "$d"
}

# images_pids_naming DIR: processes whose command line names DIR, except
# this shell and its ancestors (whose argv may name it too).
images_pids_naming() {
	local self=$BASHPID mine=" " p
	while [ -n "$self" ] && [ "$self" -gt 1 ]; do
		mine="$mine$self "
		self=$(awk '/^PPid:/ { print $2 }' "/proc/$self/status" 2>/dev/null)
	done
	grep -laFf <(printf '%s\n' "$1") /proc/[0-9]*/cmdline 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p' |
		while read -r p; do
			case "$mine" in *" $p "*) continue ;; esac
			cmp -s "/proc/$p/cmdline" "/proc/$$/cmdline" 2>/dev/null && continue
			[ -d "/proc/$p" ] && echo "$p"
		done
}

# Dirs of earlier runs killed before their teardown_file: older than 30
# minutes and named by no process.
images_sweep_stale() {
	local d
	find /tmp -maxdepth 1 -name 'barge-images.??????' -type d -mmin +30 2>/dev/null |
		while read -r d; do
			[ -n "$(images_pids_naming "$d")" ] && continue
			images_cleanup_dir "$d"
		done
	return 0
}

# ---------------------------------------------------------------- seed images

# images_seed_cache: the layer tars and OCI layouts every file seeds its
# registries from, built once per bats run (under a lock: bats -j) in
# $BATS_RUN_TMPDIR/barge-images-seed, exported as SEED:
#   rootfs/           busybox rootfs (tests/lib/mkrootfs.sh)
#   busybox.tar       it as a layer;  layer2.tar: the second layer of
#                     "twolayer": deletes etc/hostname (.wh.), makes usr/
#                     opaque (.wh..wh..opq) with usr/opaque.txt, adds
#                     layer2.txt and an absolute symlink etc/mtab
#   big.tar           one 8 MiB file of random bytes (for a slow pull)
#   rootfs-import.tar the rootfs as `tar -C rootfs -c .` makes it (for import)
#   layout/           OCI layout, tags: busybox, busybox-arm64, twolayer,
#                     zstd (busybox, zstd layer), raw (uncompressed layer), big
images_seed_cache() {
	SEED=${BATS_RUN_TMPDIR:-$IMG_FILE_TMP}/barge-images-seed
	export SEED
	[ -e "$SEED/.done" ] && return 0
	mkdir -p "$SEED"
	(
		flock 9
		[ -e "$SEED/.done" ] && exit 0
		set -e
		rm -rf "${SEED:?}"/*
		sh "$IMG_LIB/mkrootfs.sh" "$SEED/rootfs" >&2
		seed_tar "$SEED/busybox.tar" "$SEED/rootfs"
		(cd "$SEED/rootfs" && tar --owner=0 --group=0 --numeric-owner -cf "$SEED/rootfs-import.tar" .)
		local l2=$SEED/l2
		mkdir -p "$l2/etc" "$l2/usr"
		: >"$l2/etc/.wh.hostname"
		ln -s /proc/self/mounts "$l2/etc/mtab"
		: >"$l2/usr/.wh..wh..opq"
		echo "after the opaque whiteout" >"$l2/usr/opaque.txt"
		echo "second layer" >"$l2/layer2.txt"
		seed_tar "$SEED/layer2.tar" "$l2"
		mkdir -p "$SEED/bigdir"
		head -c 8M /dev/urandom >"$SEED/bigdir/big.bin"
		seed_tar "$SEED/big.tar" "$SEED/bigdir"
		local L=$SEED/layout
		oci_image "$L" busybox --created-by "/bin/sh -c #(nop) ADD file:busybox-rootfs in / " "$SEED/busybox.tar"
		oci_image "$L" busybox-arm64 --arch arm64 "$SEED/busybox.tar"
		oci_image "$L" twolayer --cmd '["cat", "/layer2.txt"]' \
			--created-by "/bin/sh -c #(nop) ADD file:busybox-rootfs in / " \
			--created-by "/bin/sh -c rm /etc/hostname && echo second layer >/layer2.txt" \
			"$SEED/busybox.tar" "$SEED/layer2.tar"
		oci_image "$L" zstd --compress zstd "$SEED/busybox.tar"
		oci_image "$L" raw --compress none "$SEED/busybox.tar"
		oci_image "$L" big --compress none "$SEED/big.tar"
		touch "$SEED/.done"
	) 9>"$SEED.lock" || return 1
}

# images_seed REGDIR WHAT...: push seed images into the registry in REGDIR
# (with its credentials when it has auth) and load their digests as
# variables (also written to REGDIR/seeded.env).  WHAT:
#   busybox  library/busybox:latest (Docker schema 2, like Docker Hub):
#            BB_ID (config digest = image id), BB_MANIFEST, BB_LAYER (blob),
#            BB_DIFF (diff id = chain id, as it is the bottom layer)
#   multi    library/multi:latest, a Docker manifest list, and
#            library/multioci:latest, an OCI index, of linux/amd64 (the
#            busybox image) and linux/arm64 (ARM_ID; same layer), children
#            pushed by digest: MULTI_INDEX, MULTIOCI_INDEX, ARM_MANIFEST,
#            ARM_OCI_MANIFEST, BB_OCI_MANIFEST
#   twolayer library/twolayer:latest (OCI): TWO_ID, TWO_MANIFEST, TWO_LAYER2,
#            TWO_DIFF2, TWO_CHAIN2
#   formats  library/zstd:latest, library/raw:latest: ZSTD_ID, RAW_ID
#   tool     barge/tool:1.0 (busybox under a user namespace, for the mirror)
#   big      library/big:latest, one 8 MiB uncompressed layer: BIG_ID, BIG_LAYER
images_seed() {
	local reg=$1 what L=$SEED/layout env=$1/seeded.env v
	shift
	: >>"$env"
	for what in "$@"; do
		case $what in
		busybox)
			v=$(seed_push "$L" busybox "$reg" library/busybox:latest --v2s2) || return 1
			{
				echo "BB_ID=$(seed_info "$L" busybox .config)"
				echo "BB_MANIFEST=$v"
				echo "BB_LAYER=$(seed_info "$L" busybox '.layers[0].digest')"
				echo "BB_DIFF=$(seed_info "$L" busybox '.layers[0].diff_id')"
			} >>"$env"
			;;
		multi)
			local amd arm amdo armo
			amd=$(seed_push "$L" busybox "$reg" library/multi --v2s2 --by-digest) &&
				arm=$(seed_push "$L" busybox-arm64 "$reg" library/multi --v2s2 --by-digest) &&
				amdo=$(seed_push "$L" busybox "$reg" library/multioci --by-digest) &&
				armo=$(seed_push "$L" busybox-arm64 "$reg" library/multioci --by-digest) || return 1
			{
				echo "ARM_ID=$(seed_info "$L" busybox-arm64 .config)"
				echo "ARM_MANIFEST=$arm"
				echo "ARM_OCI_MANIFEST=$armo"
				echo "BB_OCI_MANIFEST=$amdo"
				echo "MULTI_INDEX=$(seed_index "$reg" library/multi latest docker "$amd" "$arm")"
				echo "MULTIOCI_INDEX=$(seed_index "$reg" library/multioci latest oci "$amdo" "$armo")"
			} >>"$env"
			;;
		twolayer)
			v=$(seed_push "$L" twolayer "$reg" library/twolayer:latest) || return 1
			local d1 d2
			d1=$(seed_info "$L" twolayer '.layers[0].diff_id')
			d2=$(seed_info "$L" twolayer '.layers[1].diff_id')
			{
				echo "TWO_ID=$(seed_info "$L" twolayer .config)"
				echo "TWO_MANIFEST=$v"
				echo "TWO_LAYER2=$(seed_info "$L" twolayer '.layers[1].digest')"
				echo "TWO_DIFF2=$d2"
				echo "TWO_CHAIN2=$(chain_id "$d1" "$d2")"
			} >>"$env"
			;;
		formats)
			seed_push "$L" zstd "$reg" library/zstd:latest >/dev/null &&
				seed_push "$L" raw "$reg" library/raw:latest >/dev/null || return 1
			{
				echo "ZSTD_ID=$(seed_info "$L" zstd .config)"
				echo "RAW_ID=$(seed_info "$L" raw .config)"
			} >>"$env"
			;;
		tool)
			seed_push "$L" busybox "$reg" barge/tool:1.0 --v2s2 >/dev/null || return 1
			;;
		big)
			seed_push "$L" big "$reg" library/big:latest >/dev/null || return 1
			{
				echo "BIG_ID=$(seed_info "$L" big .config)"
				echo "BIG_LAYER=$(seed_info "$L" big '.layers[0].digest')"
			} >>"$env"
			;;
		*) echo "images_seed: unknown image set $what" >&2; return 1 ;;
		esac
	done
	images_load_env "$reg"
}

# images_load_env REGDIR: (re)load the seeded digests, exported (bats runs
# each test in a new process, after setup_file).
images_load_env() {
	local line
	while IFS= read -r line; do
		[ -n "$line" ] && export "${line?}"
	done <"$1/seeded.env"
}

# chain_id DIFF_ID...: the chain id of a stack of layers (bottom first).
chain_id() {
	local c=$1 d
	shift
	for d in "$@"; do
		c=sha256:$(printf '%s %s' "$c" "$d" | sha256sum | cut -d' ' -f1)
	done
	echo "$c"
}

# ---------------------------------------------------------------- per test

# images_setup [--no-barge]
images_setup() {
	[ -z "${IMG_SKIP:-}" ] || skip "$IMG_SKIP"
	[ "${1:-}" = --no-barge ] || [ -x "$BARGE" ] || skip "barge is not built ($BARGE)"
	TEST_TMP=$(mktemp -d "$IMG_FILE_TMP/t.XXXXXX")
	ROOT=$TEST_TMP/root
	BARGED_SOCK=$TEST_TMP/barged.sock
	export DOCKER_CONFIG=$TEST_TMP/docker-config
	mkdir -p "$DOCKER_CONFIG"
}

images_teardown() {
	[ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ] || return 0
	if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ]; then
		images_show_logs
	fi
	barged_stop
	images_cleanup_dir "$TEST_TMP"
}

# On failure: the tail of every registry log the test could have used.
images_show_logs() {
	local f
	find "$IMG_FILE_TMP" -maxdepth 4 \( -name access.log -o -name requests.log \) 2>/dev/null |
		while IFS= read -r f; do
			[ -s "$f" ] || continue
			echo "# --- last requests in $f:"
			tail -n 12 "$f" | sed 's/^/#   /'
		done
	if [ -s "$TEST_TMP/barged.log" ]; then
		echo "# --- last lines of barged's log:"
		tail -n 20 "$TEST_TMP/barged.log" | sed 's/^/#   /'
	fi
}

# ---------------------------------------------------------------- barged

# State lives in files (barge runs under `run`, a subshell):
#   barged.pid    "pid starttime" of the barged we started (reg_record)
#   barged.flags  the registry flags it was started with
#   barged.root   its --root (a test that points ROOT at another store
#                 gets a barged restarted on that one)

# barged_start [FLAG...]: start the test's barged with FLAG... (registry
# settings) and wait until it answers /_ping.  Its stdio goes to
# $TEST_TMP/barged.log; DOCKER_CONFIG points at an empty dir of its own.
barged_start() {
	local i
	mkdir -p "$TEST_TMP/run" "$TEST_TMP/barged-docker-config"
	printf '%s\n' "$*" >"$TEST_TMP/barged.flags"
	printf '%s\n' "$ROOT" >"$TEST_TMP/barged.root"
	DOCKER_CONFIG=$TEST_TMP/barged-docker-config \
		"$BARGED" --root "$ROOT" --exec-root "$TEST_TMP/run" -H "unix://$BARGED_SOCK" \
		--pidfile "$TEST_TMP/run/barged.pid" "$@" </dev/null >>"$TEST_TMP/barged.log" 2>&1 3>&- 9>&- &
	reg_record "$TEST_TMP/barged.pid" $!
	for i in $(seq 200); do
		if [ "$(curl -s --max-time 2 --unix-socket "$BARGED_SOCK" http://barged/_ping 2>/dev/null)" = OK ]; then
			return 0
		fi
		reg_alive "$TEST_TMP/barged.pid" || break
		sleep 0.05
	done
	echo "# barged did not start; its log:" >&2
	tail -n 20 "$TEST_TMP/barged.log" | sed 's/^/#   /' >&2
	barged_kill
	return 1
}

barged_running() { reg_alive "$TEST_TMP/barged.pid"; }

# barged_pid: the pid of the running barged (empty if none)
barged_pid() {
	barged_running && awk '{ print $1 }' "$TEST_TMP/barged.pid"
}

# barged_stop: SIGTERM, then SIGKILL after 5 s; no error when none runs.
barged_stop() {
	[ -n "${TEST_TMP:-}" ] && [ -f "$TEST_TMP/barged.pid" ] || return 0
	reg_end "$TEST_TMP/barged.pid"
	rm -f "$TEST_TMP/barged.pid"
}

# barged_kill: SIGKILL at once, as in a crash.
barged_kill() {
	[ -f "$TEST_TMP/barged.pid" ] || return 0
	reg_signal "$TEST_TMP/barged.pid" KILL
	reg_wait 10 reg_dead "$TEST_TMP/barged.pid"
	rm -f "$TEST_TMP/barged.pid"
}

# barged_restart: start it again (after barged_kill) with the same flags.
barged_restart() {
	local flags=()
	[ -s "$TEST_TMP/barged.flags" ] && read -ra flags <"$TEST_TMP/barged.flags"
	barged_stop
	barged_start "${flags[@]}"
}

# barged_ensure [FLAG...]: barged running; with FLAGs, running with exactly
# those (restarted when they differ).  Without, any running one will do.
# Serialized (flock): concurrent background barge calls start one barged.
barged_ensure() {
	(
		flock 9
		if barged_running; then
			if [ "$ROOT" = "$(cat "$TEST_TMP/barged.root" 2>/dev/null)" ]; then
				[ $# -eq 0 ] && exit 0
				[ "$*" = "$(cat "$TEST_TMP/barged.flags" 2>/dev/null)" ] && exit 0
			elif [ $# -eq 0 ] && [ -s "$TEST_TMP/barged.flags" ]; then
				# another store, the same registry settings
				read -ra flags <"$TEST_TMP/barged.flags"
				set -- "${flags[@]}"
			fi
			barged_stop
		fi
		barged_start "$@"
	) 9>>"$TEST_TMP/barged.lock"
}

# barge_run ARGS...: leading --registry-mirror URL / --insecure-registry
# HOST (and their =forms) are barged's flags now: barged is (re)started
# with them; a leading --platform P moves behind the command (`pull
# --platform P`, which the client sends to the API).  Then the client
# against the test's barged.
barge_run() {
	local dflags=() platform=
	while [ $# -gt 0 ]; do
		case $1 in
		--registry-mirror | --insecure-registry) dflags+=("$1" "$2"); shift 2 ;;
		--registry-mirror=* | --insecure-registry=*) dflags+=("$1"); shift ;;
		--platform) platform=$2; shift 2 ;;
		--platform=*) platform=${1#--platform=}; shift ;;
		*) break ;;
		esac
	done
	barged_ensure "${dflags[@]}" || return 125
	if [ -n "$platform" ] && [ $# -gt 0 ]; then
		local cmd=$1
		shift
		set -- "$cmd" --platform "$platform" "$@"
	fi
	timeout -k 5 "$IMG_TIMEOUT" "$BARGE" -H "unix://$BARGED_SOCK" "$@" 3>&-
}

# barge ARGS...: barge_run with stdin from /dev/null, bats' fd 3 closed and
# a timeout (a hang fails the test, not the run).
barge() {
	barge_run "$@" </dev/null
}

# barge_stdin ARGS...: the same, keeping stdin (load, import -, --password-stdin).
barge_stdin() {
	barge_run "$@"
}

# inspect REF JQ: a field of `barge image inspect REF` (one image), as jq -c prints it.
inspect() {
	local out
	out=$(barge image inspect "$1") || {
		echo "# image inspect $1 failed" >&2
		return 1
	}
	jq -c ".[0] | $2" <<<"$out"
}

# ---------------------------------------------------------------- the store

# store_snapshot: what is in the store (blobs and layers), one per line.
store_snapshot() {
	{
		[ -d "$ROOT/blobs" ] && find "$ROOT/blobs" -mindepth 2 -maxdepth 2 | sed "s|^$ROOT/||"
		[ -d "$ROOT/layers" ] && find "$ROOT/layers" -mindepth 1 -maxdepth 1 | sed "s|^$ROOT/||"
	} | sort
}

# layer_dir CHAIN_ID: the unpacked layer's files: layers/<chain hex>/diff/
# (store/layer.c; layers/<chain hex>/ itself if there is no diff/).
layer_dir() {
	local d=$ROOT/layers/${1#sha256:}
	if [ -d "$d/diff" ]; then echo "$d/diff"; else echo "$d"; fi
}

# assert_store_unchanged BEFORE [--layers]: the store has nothing that was
# not in BEFORE (a store_snapshot).  With --layers, only unpacked layers
# count: a blob whose bytes matched their digest may stay as a cache.
assert_store_unchanged() {
	local now added
	now=$(store_snapshot)
	if [ "${2:-}" = --layers ]; then
		now=$(grep -v '^blobs/' <<<"$now" || true)
	fi
	added=$(comm -13 <(printf '%s\n' "$1" | grep .) <(printf '%s\n' "$now" | grep .) || true)
	[ -z "$added" ] || fail "the store has new entries after a failed operation: $(echo $added)"
}

# ---------------------------------------------------------------- asserting

fail() {
	echo "# $*" >&2
	return 1
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}

assert_contains() {
	[[ $1 == *"$2"* ]] || fail "${3:-output} does not contain '$2': '$1'"
}

assert_not_contains() {
	[[ $1 != *"$2"* ]] || fail "${3:-output} contains '$2': '$1'"
}

# assert_status N: after `run`, with the output on mismatch.
assert_status() {
	[ "$status" -eq "$1" ] || fail "exit status $status, expected $1; output: '$output' stderr: '${stderr:-}'"
}

# assert_failed: after `run`: a failure, not a timeout or a crash.
assert_failed() {
	[ "$status" -ne 0 ] || fail "command succeeded but should have failed; output: '$output'"
	[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "command timed out (status $status)"
	[ "$status" -lt 126 ] || [ "$status" -eq 125 ] || fail "command died (status $status); stderr: '${stderr:-}'"
}

nonempty_lines() {
	printf '%s\n' "$1" | grep -v '^[[:space:]]*$' || true
}

# assert_error_line TEXT WORD...: barge's error contract: TEXT (stderr) is
# one non-empty line that mentions every WORD (case-insensitive); a WORD
# may list alternatives as "a|b|c".
assert_error_line() {
	local text=$1 n w alt ok why=""
	shift
	n=$(nonempty_lines "$text" | wc -l)
	[ "$n" -eq 1 ] || why="stderr has $n non-empty lines, not 1"
	for w in "$@"; do
		ok=
		IFS='|' read -ra alt <<<"$w"
		for a in "${alt[@]}"; do
			grep -qiF -- "$a" <<<"$text" && ok=1
		done
		[ -n "$ok" ] || why="${why:+$why; }stderr does not mention '$w'"
	done
	[ -z "$why" ] || fail "error contract: $why; stderr was: '$text'"
}

# assert_line TEXT: $output has TEXT as a whole line.
assert_line() {
	printf '%s\n' "$output" | grep -qxF -- "$1" || fail "no line '$1' in output: '$output'"
}

# assert_json ACTUAL EXPECTED [WHAT]: equal as JSON values.
assert_json() {
	[ "$(jq -cS . <<<"$1")" = "$(jq -cS . <<<"$2")" ] || fail "${3:-json}: expected $2, got $1"
}

# ---------------------------------------------------------------- peers

# pm_setup: a podman with every path under $TEST_TMP/pm (vfs storage), for
# loading barge's archives and pulling what barge pushed; `pm ARGS` runs it
# in a private mount namespace with a tmpfs on /var/lib (podman's
# blob-info cache is a fixed path for root).
pm_setup() {
	command -v podman >/dev/null || skip "podman not installed"
	local d=$TEST_TMP/pm
	mkdir -p "$d/tmp"
	cat >"$d/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$d/storage"
runroot = "$d/run"
EOF
	cat >"$d/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
lock_type = "file"
tmp_dir = "$d/tmp"
static_dir = "$d/storage/libpod"
volume_path = "$d/volumes"
EOF
	cat >"$d/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"
EOF
	echo '{}' >"$d/auth.json"
}

pm() {
	local d=$TEST_TMP/pm
	CONTAINERS_CONF=$d/containers.conf CONTAINERS_STORAGE_CONF=$d/storage.conf \
		CONTAINERS_REGISTRIES_CONF=$d/registries.conf REGISTRY_AUTH_FILE=$d/auth.json \
		TMPDIR=$d/tmp timeout -k 5 "$IMG_TIMEOUT" unshare --mount --propagation private \
		sh -c 'mount -t tmpfs -o size=16m barge-images-podman /var/lib && exec "$@"' sh \
		podman --root "$d/storage" --runroot "$d/run" --tmpdir "$d/tmp" \
		--storage-driver vfs --cgroup-manager cgroupfs --events-backend none "$@" </dev/null 3>&-
}

# sk ARGS: skopeo as the seeding uses it (confined, no host credentials).
sk() { seed_sk "$@"; }
