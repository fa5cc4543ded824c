#!/usr/bin/env bats
# Real peers using $RUNTIME in place of runc: containerd (ctr, through
# containerd-shim-runc-v2), podman (through conmon) and dockerd (through
# containerd).  Each peer runs with every root/state dir and socket in one
# temp dir, and everything it made is removed at the end, also on failure.
#
#   RUNTIME=/usr/sbin/runc bats tests/system/peers.bats   # check the tests
#   bats tests/system/peers.bats                          # barge-runtime
#   PEERS_ARGV_DIR=DIR ...       keep each peer's runtime argv log in DIR
#
# A peer that cannot run here (not installed, daemon does not start) makes
# its tests skip, with the reason and the daemon's log tail.

load ../lib/peers/common

IMAGE=localhost/barge-test:busybox

setup_file() {
	RUNTIME=${RUNTIME:-${BARGE_BUILD:-$PWD/build}/bin/barge-runtime}
	export RUNTIME
	if [ "$(id -u)" != 0 ]; then
		skip "peers need root"
	fi
	case "$RUNTIME" in */*) ;; *) RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME") ;; esac
	if [ ! -x "$RUNTIME" ]; then
		echo "RUNTIME=$RUNTIME is not executable (build barge-runtime, or set RUNTIME)" >&2
		return 1
	fi
	RUNTIME=$(readlink -f "$RUNTIME") # the peers call it from other dirs
	peers_sweep_stale
	PEERS_DIR=$(mktemp -d /tmp/barge-peers.XXXXXX)
	PEERS_TAG=barge-peers-${PEERS_DIR##*.}
	export PEERS_DIR PEERS_TAG
	peers_record_host_dirs
	peers_make_wrapper containerd
	peers_make_wrapper docker
	peers_make_wrapper podman "$PEERS_DIR/pm/runtime-root"
	peers_launch_containerd
	local here
	here=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	sh "$here/lib/mkrootfs.sh" "$PEERS_DIR/rootfs"
	sh "$here/lib/peers/mkimage.sh" "$PEERS_DIR/rootfs" "$PEERS_DIR/image.tar" "$IMAGE"
	# the three take ~0.6s each, mostly waiting: side by side
	local jobs=()
	peers_ready_containerd &
	jobs+=($!)
	peers_start_dockerd &
	jobs+=($!)
	peers_setup_podman &
	jobs+=($!)
	local j
	for j in "${jobs[@]}"; do wait "$j"; done
}

teardown_file() {
	peers_cleanup
}

setup() {
	MARK="barge-peers-marker-$RANDOM$RANDOM"
}

# On failure, show what the peer asked of the runtime and the daemons' logs.
teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] && return 0
	local peer=${BATS_TEST_DESCRIPTION%%:*} log logs=
	case "$peer" in
	containerd) logs=$PEERS_DIR/cd/containerd.log ;;
	docker) logs="$PEERS_DIR/dk/dockerd.log $PEERS_DIR/cd/containerd.log" ;;
	podman) ;;
	*) return 0 ;;
	esac
	if [ -f "$PEERS_DIR/argv-$peer.log" ]; then
		echo "--- runtime calls by $peer in this test:"
		argv_since "$peer"
	fi
	for log in $logs; do
		[ -f "$log" ] || continue
		echo "--- last lines of $log:"
		tail -n 20 "$log"
	done
}

# --- containerd (ctr -> containerd -> containerd-shim-runc-v2 -> runtime) ---

@test "containerd: ctr run --rm an image prints the output and exit status" {
	peers_need containerd
	argv_mark containerd
	# shellcheck disable=SC2046
	run cd_ctr run $(cd_run_flags c-run) --rm "$IMAGE" c-run echo "$MARK"
	assert_status 0
	assert_line "$MARK"
	# shellcheck disable=SC2046
	run cd_ctr run $(cd_run_flags c-exit) --rm "$IMAGE" c-exit sh -c 'exit 7'
	assert_status 7
	assert_runtime_ran containerd create start delete
	assert_gone "$PEERS_DIR/cd/runtime-root/$PEERS_TAG" c-run
	assert_gone "$PEERS_DIR/cd/runtime-root/$PEERS_TAG" c-exit
}

@test "containerd: ctr run --rootfs (root outside the bundle), in its cgroup" {
	peers_need containerd
	argv_mark containerd
	# No image config here, so no PATH either: the command is absolute.
	# shellcheck disable=SC2046
	run cd_ctr run $(cd_run_flags c-rootfs) --rm --rootfs "$PEERS_DIR/rootfs" c-rootfs \
		/bin/sh -c "echo $MARK; cat /proc/self/cgroup"
	assert_status 0
	assert_line "$MARK"
	# the spec's cgroupsPath (ctr --cgroup) is where the process runs
	if ! printf '%s\n' "$output" | grep -q ":/$PEERS_TAG/ctr/c-rootfs\$"; then
		echo "container is not in cgroup /$PEERS_TAG/ctr/c-rootfs:"
		printf '%s\n' "$output"
		return 1
	fi
	assert_runtime_ran containerd create start delete
	assert_gone "$PEERS_DIR/cd/runtime-root/$PEERS_TAG" c-rootfs
}

@test "containerd: detached task: exec, ps, pause, resume, kill, delete" {
	peers_need containerd
	argv_mark containerd
	# shellcheck disable=SC2046
	run cd_ctr run $(cd_run_flags c-bg) -d "$IMAGE" c-bg \
		sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
	assert_status 0
	run cd_ctr task exec --fifo-dir "$PEERS_DIR/cd/fifo" --exec-id e1 c-bg \
		sh -c "echo $MARK; exit 3"
	assert_status 3
	assert_line "$MARK"
	run cd_ctr task ps c-bg
	assert_status 0
	[ "${#lines[@]}" -ge 2 ]
	run cd_ctr task pause c-bg
	assert_status 0
	cd_wait_status c-bg PAUSED
	run cd_ctr task resume c-bg
	assert_status 0
	cd_wait_status c-bg RUNNING
	run cd_ctr task kill c-bg
	assert_status 0
	cd_wait_status c-bg STOPPED
	run cd_ctr task delete c-bg
	assert_status 0
	run cd_ctr container rm c-bg
	assert_status 0
	assert_runtime_ran containerd create start exec ps pause resume kill delete
	assert_gone "$PEERS_DIR/cd/runtime-root/$PEERS_TAG" c-bg
}

# --- podman (podman -> conmon -> runtime) --------------------------------------

@test "podman: run --rm prints the output and exit status" {
	peers_need podman
	argv_mark podman
	# shellcheck disable=SC2046
	run pm run --rm $(pm_run_flags) "$IMAGE" echo "$MARK"
	assert_status 0
	assert_line "$MARK"
	# shellcheck disable=SC2046
	run pm run --rm $(pm_run_flags) "$IMAGE" sh -c 'exit 7'
	assert_status 7
	assert_runtime_ran podman create start delete
	run ls -A "$PEERS_DIR/pm/runtime-root"
	assert_status 0
	[ -z "$output" ] || { echo "runtime state left: $output"; return 1; }
}

@test "podman: detached container: exec, pause, unpause, stop, rm" {
	peers_need podman
	argv_mark podman
	# shellcheck disable=SC2046
	run pm run -d --name p-bg $(pm_run_flags) "$IMAGE" \
		sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
	assert_status 0
	local id=${lines[-1]}
	run pm exec p-bg sh -c "echo $MARK; exit 3"
	assert_status 3
	assert_line "$MARK"
	run pm pause p-bg
	assert_status 0
	run pm inspect --format '{{.State.Status}}' p-bg
	assert_line paused
	run pm unpause p-bg
	assert_status 0
	run pm stop -t 10 p-bg
	assert_status 0
	run pm inspect --format '{{.State.ExitCode}}' p-bg
	assert_line 0
	run pm rm p-bg
	assert_status 0
	assert_runtime_ran podman create start exec pause resume kill delete
	assert_gone "$PEERS_DIR/pm/runtime-root" "$id"
}

# --- dockerd (docker -> dockerd -> containerd -> shim -> runtime) ---------------

@test "docker: run --rm --runtime barge prints the output and exit status" {
	peers_need docker
	argv_mark docker
	run dk run --rm --runtime barge --network none --pull never "$IMAGE" echo "$MARK"
	assert_status 0
	assert_line "$MARK"
	run dk run --rm --runtime barge --network none --pull never "$IMAGE" sh -c 'exit 7'
	assert_status 7
	assert_runtime_ran docker create start delete
	run ls -A "$PEERS_DIR/dk/exec/runtime-runc/moby"
	assert_status 0
	[ -z "$output" ] || { echo "runtime state left: $output"; return 1; }
}

@test "docker: detached container: exec, pause, unpause, stop, rm" {
	peers_need docker
	argv_mark docker
	run dk run -d --name d-bg --runtime barge --network none --pull never "$IMAGE" \
		sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
	assert_status 0
	local id=${lines[-1]}
	run dk exec d-bg sh -c "echo $MARK; exit 3"
	assert_status 3
	assert_line "$MARK"
	run dk pause d-bg
	assert_status 0
	run dk inspect --format '{{.State.Status}}' d-bg
	assert_line paused
	run dk unpause d-bg
	assert_status 0
	run dk stop -t 10 d-bg
	assert_status 0
	run dk inspect --format '{{.State.ExitCode}}' d-bg
	assert_line 0
	run dk rm d-bg
	assert_status 0
	assert_runtime_ran docker create start exec pause resume kill delete
	assert_gone "$PEERS_DIR/dk/exec/runtime-runc/moby" "$id"
}

# --- last: everything goes away ---------------------------------------------

@test "peers: stopping them leaves no process, mount or cgroup behind" {
	run peers_cleanup
	assert_status 0
	[ ! -e "$PEERS_DIR" ]
}
