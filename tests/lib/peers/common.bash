# shellcheck shell=bash disable=SC2154  # $output, $status, $lines: bats' run
# Helpers for tests/system/peers.bats: start containerd, dockerd and podman
# with every path of their own under one temp dir, run them against $RUNTIME
# (through a wrapper that logs the runtime's argv), and clean up everything
# they made.  Sourced by the bats file; all state lives under $PEERS_DIR.
#
# Layout of $PEERS_DIR (short, because unix socket paths must fit 108 bytes):
#   rootfs/ image.tar         busybox fixture and the same as a docker-archive
#   bin/<peer>-runtime        argv-logging wrappers that exec $RUNTIME
#   argv-<peer>.log           what each peer passed to the runtime
#   cd/                       containerd (config, root, state, socket, log)
#   dk/                       dockerd (data-root, exec-root, socket, log)
#   pm/                       podman (confs, storage, runroot, tmp)
#   unavailable-<peer>        reason the peer cannot run here (tests skip)
#   created-paths             system paths the peers create that did not
#                             exist before (removed again if empty)

PEERS_TIMEOUT=${PEERS_TIMEOUT:-60}

# Host paths that containerd 1.6, dockerd 20.10, podman 4.3 and runc create
# whatever paths they are given (shim sockets, plugin dir, netavark run dir,
# runc's default root).  Empty ones that we made are removed at the end.
PEERS_HOST_DIRS="/run/containerd/s /run/containerd/fifo /run/containerd/runc /run/containerd
/run/docker/plugins /run/docker /run/containers/networks /run/containers /run/runc
/run/mount"

peers_record_host_dirs() {
	local d
	for d in $PEERS_HOST_DIRS; do
		[ -e "$d" ] || echo "$d" >>"$PEERS_DIR/created-paths"
	done
}

# peers_make_wrapper PEER [ROOT]: $PEERS_DIR/bin/PEER-runtime logs one line
# per call ("cwd=DIR ARGS" as the peer gave them, args with spaces quoted)
# and execs $RUNTIME.  With ROOT, a call without --root gets "--root ROOT"
# put first (podman passes no --root, see peers_setup_podman).
peers_make_wrapper() {
	local peer=$1 root=${2:-} w=$PEERS_DIR/bin/$1-runtime
	mkdir -p "$PEERS_DIR/bin"
	cat >"$w" <<EOF
#!/bin/sh
line="cwd=\$(pwd)" root='$root'
for a in "\$@"; do
	case "\$a" in
	--root | --root=*) root= ;;
	esac
	case "\$a" in
	*[[:space:]]* | '') line="\$line '\$a'" ;;
	*) line="\$line \$a" ;;
	esac
done
printf '%s\n' "\$line" >>'$PEERS_DIR/argv-$peer.log'
[ -n "\$root" ] && exec '$RUNTIME' --root "\$root" "\$@"
exec '$RUNTIME' "\$@"
EOF
	chmod 755 "$w"
	: >"$PEERS_DIR/argv-$peer.log"
}

# peers_unavailable PEER REASON [LOGFILE]: mark PEER as unable to run here.
peers_unavailable() {
	{
		echo "$2"
		if [ -n "${3:-}" ] && [ -f "$3" ]; then
			echo "--- last lines of $3:"
			tail -n 15 "$3"
		fi
	} >"$PEERS_DIR/unavailable-$1"
}

# peers_need PEER: skip the current test (with the reason) if PEER can't run.
peers_need() {
	local f=$PEERS_DIR/unavailable-$1
	if [ -f "$f" ]; then
		skip "$1 cannot run here: $(tr '\n' ' ' <"$f" | cut -c1-1500)"
	fi
}

# peers_wait SECONDS CMD...: poll CMD every 50ms until it succeeds.
peers_wait() {
	local limit=$(($1 * 20)) i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.05
	done
}

# peers_wait_daemon PIDFILE SECONDS CMD...: like peers_wait, but gives up as
# soon as the daemon whose pid is in PIDFILE has exited.
peers_wait_daemon() {
	local pid limit=$(($2 * 20)) i=0
	pid=$(cat "$1")
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || return 1
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.05
	done
}

# --- argv log checks -------------------------------------------------------

argv_mark() { wc -l <"$PEERS_DIR/argv-$1.log" >"$PEERS_DIR/argv-$1.mark"; }

# argv_since PEER: the runtime calls PEER made since argv_mark PEER.
argv_since() {
	local n
	n=$(cat "$PEERS_DIR/argv-$1.mark" 2>/dev/null || echo 0)
	tail -n +"$((n + 1))" "$PEERS_DIR/argv-$1.log"
}

# assert_runtime_ran PEER VERB...: PEER called the wrapped $RUNTIME with each
# VERB (as a whole word) since argv_mark PEER.
assert_runtime_ran() {
	local peer=$1 verb since
	shift
	since=$(argv_since "$peer")
	for verb in "$@"; do
		if ! printf '%s\n' "$since" | grep -qw -- "$verb"; then
			echo "expected $peer to call the runtime with '$verb'; it called:"
			printf '%s\n' "$since"
			return 1
		fi
	done
}

# assert_line TEXT: $output (from bats run) has TEXT as a whole line.
assert_line() {
	if ! printf '%s\n' "$output" | grep -qxF -- "$1"; then
		echo "expected a line '$1' in output:"
		printf '%s\n' "$output"
		return 1
	fi
}

# assert_status N: $status (from bats run) is N.
assert_status() {
	if [ "$status" != "$1" ]; then
		echo "expected exit status $1, got $status; output:"
		printf '%s\n' "$output"
		return 1
	fi
}

# assert_gone ROOT ID: after the peer deleted container ID, neither the
# runtime's state (ROOT/ID) nor a cgroup named after it under /$PEERS_TAG
# is left.
assert_gone() {
	local root=$1 id=$2 left
	if [ -e "$root/$id" ]; then
		echo "runtime state $root/$id is left after delete:"
		ls -la "$root/$id"
		return 1
	fi
	left=$(peers_own_cgroups | grep -F -- "$id" || true)
	if [ -n "$left" ]; then
		echo "cgroups of $id are left after delete:"
		echo "$left"
		return 1
	fi
}

# --- containerd --------------------------------------------------------------

cd_ctr() { timeout "$PEERS_TIMEOUT" ctr --address "$PEERS_DIR/cd/containerd.sock" --namespace "$PEERS_TAG" "$@"; }

# cd_wait_status TASK STATUS: wait up to 10s for `ctr task ls` to show it.
cd_wait_status() {
	if ! peers_wait 10 sh -c "ctr -a '$PEERS_DIR/cd/containerd.sock' -n '$PEERS_TAG' task ls |
		grep -q '^$1 .*$2'"; then
		echo "task $1 did not become $2:"
		cd_ctr task ls
		return 1
	fi
}

# The flags every `ctr run` needs to use the wrapped runtime with its state
# and fifos under $PEERS_DIR.
cd_run_flags() {
	echo --runc-binary "$PEERS_DIR/bin/containerd-runtime" \
		--runc-root "$PEERS_DIR/cd/runtime-root" --fifo-dir "$PEERS_DIR/cd/fifo" \
		--cgroup "/$PEERS_TAG/ctr/$1"
}

# peers_launch_containerd: start containerd (readiness: peers_ready_containerd).
peers_launch_containerd() {
	local d=$PEERS_DIR/cd
	if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null ||
		! command -v containerd-shim-runc-v2 >/dev/null; then
		peers_unavailable containerd "containerd, ctr or containerd-shim-runc-v2 not installed"
		peers_unavailable docker "needs containerd, which is not installed"
		return 0
	fi
	mkdir -p "$d"
	# Only what ctr run needs: no CRI, no tracing, no /opt/containerd (the
	# "opt" plugin), no btrfs/zfs/devmapper/aufs probing.
	cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = "$d/debug.sock"
  level = "info"
[plugins."io.containerd.monitor.v1.cgroups"]
  no_prometheus = true
EOF
	containerd --config "$d/config.toml" </dev/null >"$d/containerd.log" 2>&1 3>&- &
	echo $! >"$d/containerd.pid"
}

# peers_ready_containerd: wait for it to serve, then import the image.
peers_ready_containerd() {
	local d=$PEERS_DIR/cd
	[ -f "$PEERS_DIR/unavailable-containerd" ] && return 0
	if ! peers_wait_daemon "$d/containerd.pid" 20 cd_ctr version; then
		peers_unavailable containerd "containerd did not start" "$d/containerd.log"
		peers_unavailable docker "needs containerd, which did not start"
		return 0
	fi
	if ! cd_ctr image import "$PEERS_DIR/image.tar" >"$d/import.log" 2>&1; then
		peers_unavailable containerd "ctr image import failed" "$d/import.log"
	fi
}

peers_stop_containerd() {
	local d=$PEERS_DIR/cd t ns
	[ -f "$d/containerd.pid" ] || return 0
	if [ -S "$d/containerd.sock" ]; then
		for ns in "$PEERS_TAG" moby; do
			for t in $(timeout 20 ctr -a "$d/containerd.sock" -n "$ns" task ls -q 2>/dev/null); do
				timeout 20 ctr -a "$d/containerd.sock" -n "$ns" task delete -f "$t" >/dev/null 2>&1
			done
			for t in $(timeout 20 ctr -a "$d/containerd.sock" -n "$ns" container ls -q 2>/dev/null); do
				timeout 20 ctr -a "$d/containerd.sock" -n "$ns" container rm "$t" >/dev/null 2>&1
			done
		done
	fi
	peers_kill_pidfile "$d/containerd.pid"
}

# --- dockerd -------------------------------------------------------------------

# The docker.io client matches dockerd's API; a newer one in PATH also works
# because DOCKER_API_VERSION pins the version.
PEERS_DOCKER=/usr/bin/docker
[ -x "$PEERS_DOCKER" ] || PEERS_DOCKER=$(command -v docker || true)

dk() { timeout "$PEERS_TIMEOUT" env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_TLS_VERIFY \
	DOCKER_CONFIG="$PEERS_DIR/dk/client" DOCKER_API_VERSION=1.41 \
	"$PEERS_DOCKER" -H "unix://$PEERS_DIR/dk/docker.sock" "$@"; }

peers_start_dockerd() {
	local d=$PEERS_DIR/dk
	[ -f "$PEERS_DIR/unavailable-docker" ] && return 0
	if ! command -v dockerd >/dev/null || [ -z "$PEERS_DOCKER" ]; then
		peers_unavailable docker "dockerd or docker not installed"
		return 0
	fi
	mkdir -p "$d/client"
	if ! peers_wait_daemon "$PEERS_DIR/cd/containerd.pid" 20 cd_ctr version; then
		peers_unavailable docker "needs containerd, which did not start" \
			"$PEERS_DIR/cd/containerd.log"
		return 0
	fi
	# deprecated-key-path keeps dockerd 20.10 from writing /etc/docker/key.json.
	cat >"$d/daemon.json" <<EOF
{"deprecated-key-path": "$d/key.json"}
EOF
	# containerd is ours (started above), as Debian's docker.service does
	# with the system one: dockerd's own managed containerd would enable the
	# "opt" plugin, which writes /opt/containerd.
	dockerd --config-file "$d/daemon.json" \
		--data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
		-H "unix://$d/docker.sock" --containerd "$PEERS_DIR/cd/containerd.sock" \
		--bridge none --iptables=false --ip6tables=false --ip-forward=false \
		--ip-masq=false --userland-proxy=false --storage-driver overlay2 \
		--cgroup-parent "/$PEERS_TAG/docker" \
		--add-runtime barge="$PEERS_DIR/bin/docker-runtime" \
		</dev/null >"$d/dockerd.log" 2>&1 3>&- &
	echo $! >"$d/dockerd.started"
	if ! peers_wait_daemon "$d/dockerd.started" 30 dk version; then
		peers_unavailable docker "dockerd did not start" "$d/dockerd.log"
		return 0
	fi
	if ! dk load -i "$PEERS_DIR/image.tar" >"$d/load.log" 2>&1; then
		peers_unavailable docker "docker load failed" "$d/load.log"
	fi
}

peers_stop_dockerd() {
	local d=$PEERS_DIR/dk ids
	[ -f "$d/dockerd.started" ] || return 0
	if [ -S "$d/docker.sock" ]; then
		ids=$(dk ps -aq 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$ids" ] && dk rm -f $ids >/dev/null 2>&1
	fi
	peers_kill_pidfile "$d/dockerd.started"
}

# --- podman --------------------------------------------------------------------

# podman with every path under $PEERS_DIR/pm (a script that
# peers_setup_podman writes, so that it can also run under unshare).
pm() { timeout "$PEERS_TIMEOUT" "$PEERS_DIR/pm/podman" "$@"; }

# The flags every `podman run` needs here.
pm_run_flags() {
	echo --network none --pull never --cgroup-parent "/$PEERS_TAG/podman"
}

peers_min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }

peers_setup_podman() {
	local d=$PEERS_DIR/pm nofile nproc
	if ! command -v podman >/dev/null || ! command -v conmon >/dev/null; then
		peers_unavailable podman "podman or conmon not installed"
		return 0
	fi
	mkdir -p "$d/tmp" "$d/net"
	# podman asks for RLIMIT_NOFILE 1048576 (and RLIMIT_NPROC above conmon's
	# limit) by default; without CAP_SYS_RESOURCE (as in some sandboxes) the
	# runtime cannot raise them and fails.  Ask for what we already have.
	nofile=$(ulimit -Hn)
	[ "$nofile" = unlimited ] && nofile=1048576
	nofile=$(peers_min "$nofile" "$(cat /proc/sys/fs/nr_open)")
	nproc=$(ulimit -Hu)
	[ "$nproc" = unlimited ] && nproc=4194304
	nproc=$(peers_min "$nproc" "$(cat /proc/sys/kernel/pid_max)")
	cat >"$d/containers.conf" <<EOF
[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
lock_type = "file"
tmp_dir = "$d/tmp"
volume_path = "$d/volumes"
static_dir = "$d/storage/libpod"
[network]
network_config_dir = "$d/net"
EOF
	cat >"$d/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$d/storage"
runroot = "$d/run"
EOF
	cat >"$d/registries.conf" <<EOF
unqualified-search-registries = []
short-name-mode = "disabled"
EOF
	# podman passes no --root, so the runtime would keep its state in its
	# default root (/run/runc for runc).  `--runtime-flag root=...` is not
	# the fix: podman 4.3 drops it from the exit command (`podman container
	# cleanup`, run by conmon), whose `delete --force` then looks in the
	# default root and leaves state and cgroups behind.  So the wrapper adds
	# --root $d/runtime-root to every call (peers_make_wrapper podman ROOT).
	cat >"$d/podman" <<EOF
#!/bin/sh
export CONTAINERS_CONF='$d/containers.conf'
export CONTAINERS_STORAGE_CONF='$d/storage.conf'
export CONTAINERS_REGISTRIES_CONF='$d/registries.conf'
export TMPDIR='$d/tmp'
exec podman --root '$d/storage' --runroot '$d/run' --tmpdir '$d/tmp' \\
	--cgroup-manager cgroupfs --events-backend none \\
	--runtime '$PEERS_DIR/bin/podman-runtime' "\$@"
EOF
	chmod 755 "$d/podman"
	# podman load keeps a blob-info cache in /var/lib/containers/cache (fixed
	# path for root); load in a private mount namespace with a tmpfs there so
	# nothing is written outside $PEERS_DIR.
	if ! unshare --mount --propagation private sh -c \
		'mount -t tmpfs -o size=16m barge-peers /var/lib && exec "$@"' sh \
		timeout "$PEERS_TIMEOUT" "$d/podman" load -i "$PEERS_DIR/image.tar" \
		>"$d/load.log" 2>&1; then
		peers_unavailable podman "podman load failed" "$d/load.log"
	fi
}

peers_stop_podman() {
	[ -f "$PEERS_DIR/pm/containers.conf" ] || return 0
	pm rm -a -f -t 0 >/dev/null 2>&1 || true
}

# --- cleanup -----------------------------------------------------------------

# peers_kill_pidfile FILE: SIGTERM the pid in FILE, wait up to 15s, SIGKILL.
peers_kill_pidfile() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	peers_wait 15 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
	peers_wait 5 sh -c "! kill -0 $pid" || true
}

# Pids of processes whose command line names $PEERS_DIR: containerd shims,
# conmon, and anything else the peers left behind.
peers_own_pids() {
	local self=$BASHPID mine=" "
	# never ourselves or our callers (their argv may name $PEERS_DIR)
	while [ -n "$self" ] && [ "$self" -gt 1 ]; do
		mine="$mine$self "
		self=$(awk '/^PPid:/ { print $2 }' "/proc/$self/status" 2>/dev/null)
	done
	# the pattern comes from a pipe so that grep's own argv does not match
	grep -laFf <(printf '%s\n' "$PEERS_DIR") /proc/[0-9]*/cmdline 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p' |
		while read -r p; do
			case "$mine" in *" $p "*) continue ;; esac
			# nor a fork of our shell (a subshell of a pipeline)
			cmp -s "/proc/$p/cmdline" "/proc/$$/cmdline" 2>/dev/null && continue
			if [ -d "/proc/$p" ]; then echo "$p"; fi
		done
}

# Mount points at or under $PEERS_DIR, deepest first.
peers_own_mounts() {
	awk -v d="$PEERS_DIR" '$5 == d || index($5, d "/") == 1 { print $5 }' \
		/proc/self/mountinfo | sort -r
}

# Every directory of our cgroup (/$PEERS_TAG) in every cgroup hierarchy.
peers_own_cgroups() {
	local mnt
	awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo |
		while read -r mnt; do
			[ -d "$mnt/$PEERS_TAG" ] && find "$mnt/$PEERS_TAG" -depth -type d
		done
}

# peers_sweep_stale: clean up after earlier runs that were killed before
# their teardown_file: /tmp/barge-peers.* dirs older than 10 minutes that no
# process names any more.
peers_sweep_stale() {
	local d
	find /tmp -maxdepth 1 -name 'barge-peers.??????' -type d -mmin +10 2>/dev/null |
		while read -r d; do
			grep -qlaFf <(printf '%s\n' "$d") /proc/[0-9]*/cmdline 2>/dev/null && continue
			(PEERS_DIR=$d PEERS_TAG=barge-peers-${d##*.} peers_cleanup) >/dev/null 2>&1
		done
	return 0
}

# peers_cleanup: stop every peer and remove all they made; fails (saying
# what is left) if a process, mount or cgroup of ours cannot be removed.
# Safe to call twice; runs with set +e whatever the caller has.
peers_cleanup() { (set +e; peers_cleanup_all); }

peers_cleanup_all() {
	local pid cg m _
	[ -n "${PEERS_DIR:-}" ] && [ -d "$PEERS_DIR" ] || return 0
	peers_stop_podman
	peers_stop_dockerd
	peers_stop_containerd
	for _ in 1 2 3; do
		# Shims and conmons outlive their daemons; container processes
		# are in our cgroups.
		for pid in $(peers_own_pids); do kill -KILL "$pid" 2>/dev/null; done
		for cg in $(peers_own_cgroups); do
			[ -f "$cg/cgroup.procs" ] || continue
			for pid in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		done
		[ -z "$(peers_own_pids)" ] && break
		sleep 0.2
	done
	# Mounts under our dir (overlay rootfs, shm, netns files), deepest first.
	for _ in 1 2 3; do
		m=$(peers_own_mounts)
		[ -z "$m" ] && break
		for m in $m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	done
	for _ in 1 2 3 4 5; do
		for cg in $(peers_own_cgroups); do rmdir "$cg" 2>/dev/null; done
		[ -z "$(peers_own_cgroups)" ] && break
		sleep 0.2
	done
	if [ -f "$PEERS_DIR/created-paths" ]; then
		while read -r m; do rmdir "$m" 2>/dev/null; done <"$PEERS_DIR/created-paths"
	fi
	if [ -n "${PEERS_ARGV_DIR:-}" ]; then
		mkdir -p "$PEERS_ARGV_DIR" && cp "$PEERS_DIR"/argv-*.log "$PEERS_ARGV_DIR"/ 2>/dev/null
	fi
	local left
	left=$(peers_own_pids; peers_own_cgroups;
		peers_own_mounts)
	if [ -n "$left" ]; then
		echo "peers: could not clean up:" >&2
		echo "$left" >&2
		return 1
	fi
	rm -rf --one-file-system "$PEERS_DIR"
}
