# helpers.bash: shared set-up for the OCI runtime system tests.
#
# The tests drive any runc-compatible runtime named by $RUNTIME (default:
# barge-runtime from the build tree) through its command line only, so the
# same suite validates barge-runtime and runc side by side.
#
# Each test gets:
#   TEST_TMP  a private temp dir (removed by teardown)
#   ROOT      the runtime's state dir ($TEST_TMP/root); every runtime call
#             goes through rt(), which passes --root "$ROOT", never the
#             system default root
#   CID       a container id unique to this test (more via new_id)
#   BUNDLE    a bundle for CID: config.json from `$RUNTIME spec`, edited
#             (terminal false, args ["true"], rw root, cgroupsPath "/$CID")
#   ROOTFS    $BUNDLE/rootfs, a private copy of the busybox rootfs that is
#             built once per bats run by tests/lib/mkrootfs.sh
#
# Every id made by new_id starts with $IDP, so anything a test leaves behind
# (cgroup dirs, processes, state entries) is found by that prefix:
# assert_no_leaks checks for it, teardown force-deletes and then sweeps it.

bats_require_minimum_version 1.5.0

BARGE_BUILD=${BARGE_BUILD:-$PWD/build}
RUNTIME=${RUNTIME:-$BARGE_BUILD/bin/barge-runtime}
# An absolute path, so that tests may cd anywhere.
case $RUNTIME in
/*) ;;
*/*) RUNTIME=$PWD/$RUNTIME ;;
*) RUNTIME=$(command -v "$RUNTIME" || echo "$RUNTIME") ;;
esac

RT_TIMEOUT=${RT_TIMEOUT:-60}
BST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------- set-up

setup() {
	common_setup
}

teardown() {
	common_teardown
}

common_setup() {
	[ -x "$RUNTIME" ] || skip "runtime $RUNTIME is not built (set RUNTIME=/usr/sbin/runc to run against runc)"
	[ "$(id -u)" = 0 ] || skip "the runtime tests need root"
	# Not BATS_TEST_TMPDIR: console socket paths must stay short, and a
	# user-namespaced container must be able to walk to its rootfs.
	TEST_TMP=$(mktemp -d "$(bst_tmpbase)/bst.XXXXXX")
	chmod 755 "$TEST_TMP"
	ROOT=$TEST_TMP/root
	IDP="bst-$$-${BATS_SUITE_TEST_NUMBER:-$BATS_TEST_NUMBER}-$RANDOM-"
	: >"$TEST_TMP/ids"
	: >"$TEST_TMP/pids"
	: >"$TEST_TMP/bg.pids"
	ensure_rootfs_cache
	CID=$(new_id c)
	BUNDLE=$TEST_TMP/bundle
	make_bundle "$BUNDLE" "$CID"
	ROOTFS=$BUNDLE/rootfs
}

common_teardown() {
	[ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ] || return 0
	local pid id
	while read -r pid; do
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	done <"$TEST_TMP/bg.pids"
	for id in $(all_ids); do
		timeout -k 2 20 "$RUNTIME" --root "$ROOT" delete --force "$id" </dev/null >/dev/null 2>&1 3>&-
	done
	local rc=0 leaks=""
	# A test that passed must also leave nothing behind after delete --force.
	if [ -n "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ]; then
		leaks=$(find_leaks)
		if [ -n "$leaks" ]; then
			echo "# leaks after delete --force in teardown:" >&2
			echo "$leaks" | sed 's/^/#   /' >&2
			rc=1
		fi
	fi
	sweep_leftovers
	rm -rf --one-file-system "$TEST_TMP"
	return $rc
}

# Where test dirs go: $BST_TMPDIR if set, else /dev/shm when it is an exec
# tmpfs (copying the rootfs's 300 symlinks there is 20x faster than on a
# disk), else /tmp.
bst_tmpbase() {
	if [ -n "${BST_TMPDIR:-}" ]; then
		echo "$BST_TMPDIR"
	elif awk '$5 == "/dev/shm" { for (i = 7; $i != "-"; i++) ; if ($(i+1) == "tmpfs" && $6 !~ /noexec/) f = 1 } END { exit !f }' \
		/proc/self/mountinfo && [ -w /dev/shm ]; then
		echo /dev/shm
	else
		echo /tmp
	fi
}

# Builds the busybox rootfs once per bats run (under a lock: bats -j).
ensure_rootfs_cache() {
	BST_CACHE=${BATS_RUN_TMPDIR:-/tmp}/bst-rootfs-cache
	[ -e "$BST_CACHE/.done" ] && return 0
	mkdir -p "$BST_CACHE"
	(
		flock 9
		if [ ! -e "$BST_CACHE/.done" ]; then
			rm -rf "$BST_CACHE/rootfs"
			sh "$BST_DIR/../lib/mkrootfs.sh" "$BST_CACHE/rootfs" >&2 || exit 1
			touch "$BST_CACHE/.done"
		fi
	) 9>"$BST_CACHE.lock"
}

# new_id NAME: prints a fresh container id unique to this test and records it.
new_id() {
	local id="$IDP${1:-c}"
	echo "$id" >>"$TEST_TMP/ids"
	echo "$id"
}

# All ids this test made, plus whatever is in the state dir.
all_ids() {
	{
		cat "$TEST_TMP/ids"
		[ -d "$ROOT" ] && ls -A "$ROOT" 2>/dev/null | grep -F "$IDP"
	} | sort -u
}

# make_bundle DIR ID: a bundle for container ID with its own rootfs copy.
make_bundle() {
	local dir=$1 id=$2
	mkdir -p "$dir"
	cp -a "$BST_CACHE/rootfs" "$dir/rootfs"
	(cd "$dir" && "$RUNTIME" spec </dev/null 3>&-) || {
		echo "# '$RUNTIME spec' failed in $dir" >&2
		return 1
	}
	spec_set -b "$dir" --arg cg "/$id" '
		.process.terminal = false
		| .process.args = ["true"]
		| .root.path = "rootfs"
		| .root.readonly = false
		| .linux.cgroupsPath = $cg'
}

# spec_set [-b BUNDLE] [jq options] FILTER: edits BUNDLE/config.json
# (default $BUNDLE) with jq, e.g. spec_set '.process.args=["true"]' or
# spec_set --arg p "$path" '.mounts += [{"destination": $p}]'.
spec_set() {
	local dir=$BUNDLE
	if [ "$1" = -b ]; then
		dir=$2
		shift 2
	fi
	local f=$dir/config.json
	jq "$@" "$f" >"$f.new" && mv "$f.new" "$f" || {
		rm -f "$f.new"
		echo "# spec_set failed: $*" >&2
		return 1
	}
}

# spec_args [-b BUNDLE] ARG...: sets .process.args.
spec_args() {
	local b=()
	if [ "$1" = -b ]; then
		b=(-b "$2")
		shift 2
	fi
	# (not --args: jq would take an argument like -c as its own option)
	local i=0 x jqargs=() expr=
	for x in "$@"; do
		jqargs+=(--arg "a$i" "$x")
		expr+="\$a$i,"
		i=$((i + 1))
	done
	spec_set "${b[@]}" "${jqargs[@]}" ".process.args = [${expr%,}]"
}

# spec_sh [-b BUNDLE] SCRIPT: sets .process.args to ["sh", "-c", SCRIPT].
spec_sh() {
	local b=()
	if [ "$1" = -b ]; then
		b=(-b "$2")
		shift 2
	fi
	spec_args "${b[@]}" sh -c "$1"
}

is_barge() {
	case ${RUNTIME##*/} in barge-runtime*) return 0 ;; esac
	return 1
}

# barge_only MESSAGE: for assertions only barge-runtime's contract makes:
# returns 0 when the runtime is barge-runtime, otherwise skips the rest of
# the test with MESSAGE.
barge_only() {
	is_barge && return 0
	skip "not barge-runtime (${RUNTIME##*/}): $1"
}

# ---------------------------------------------------------------- running

# rt ARGS...: the runtime with this test's --root, stdin from /dev/null, bats'
# fd 3 closed (so a leaked fd can't hang bats) and a timeout (so a hang fails
# the test instead of the run).
rt() {
	timeout -k 5 "$RT_TIMEOUT" "$RUNTIME" --root "$ROOT" "$@" </dev/null 3>&-
}

# ctr_create [-b BUNDLE] ID [ARGS...]: `create` with the container's stdio
# on files $TEST_TMP/ID.out and ID.err (a container must never hold a pipe
# that bats waits on).  The runtime's own messages land in ID.err too.
ctr_create() {
	local bundle=$BUNDLE
	if [ "$1" = -b ]; then
		bundle=$2
		shift 2
	fi
	local id=$1
	shift
	rt create --bundle "$bundle" "$@" "$id" >>"$TEST_TMP/$id.out" 2>>"$TEST_TMP/$id.err"
}

# ctr_run_d [-b BUNDLE] ID [ARGS...]: `run --detach`, stdio as ctr_create.
ctr_run_d() {
	local bundle=$BUNDLE
	if [ "$1" = -b ]; then
		bundle=$2
		shift 2
	fi
	local id=$1
	shift
	rt run --detach --bundle "$bundle" "$@" "$id" >>"$TEST_TMP/$id.out" 2>>"$TEST_TMP/$id.err"
}

# ctr_run [-b BUNDLE] [ID]: `run` in the foreground (default $BUNDLE, $CID).
ctr_run() {
	local bundle=$BUNDLE
	if [ "$1" = -b ]; then
		bundle=$2
		shift 2
	fi
	rt run --bundle "$bundle" "${1:-$CID}"
}

# run_sh SCRIPT: runs SCRIPT with sh -c as $CID's process in the foreground.
# Use as `run --separate-stderr run_sh 'echo $$'`.
run_sh() {
	spec_sh "$1" && ctr_run
}

# start_sleeper [ID [BUNDLE]]: a detached container idling in a shell loop
# (pid 1 of a pid namespace ignores signals it has no handler for, so the
# loop traps TERM to make `kill` work).
start_sleeper() {
	local id=${1:-$CID} bundle=${2:-$BUNDLE}
	spec_sh -b "$bundle" 'trap "exit 0" TERM; while :; do sleep 0.1; done'
	ctr_run_d -b "$bundle" "$id"
}

ctr_state() {
	rt state "$1"
}

ctr_status() {
	rt state "$1" | jq -r .status
}

# ctr_pid ID: the container's init pid on the host (remembered for leak checks).
ctr_pid() {
	local pid
	pid=$(rt state "$1" | jq -r .pid) || return 1
	[ -n "$pid" ] && [ "$pid" != null ] || return 1
	remember_pid "$pid" "$1"
	echo "$pid"
}

# remember_pid PID ID: PID belongs to container ID; it must be gone once ID
# is deleted (checked by start time, so a reused pid is not mistaken).
remember_pid() {
	local st
	st=$(proc_starttime "$1") && echo "$1 $st $2" >>"$TEST_TMP/pids"
	return 0
}

proc_starttime() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	echo "${20}"
}

# wait_until SECONDS CMD...: polls CMD every 20ms until it succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		if [ $SECONDS -ge $deadline ]; then
			echo "# timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

status_is() {
	[ "$(ctr_status "$1" 2>/dev/null)" = "$2" ]
}

wait_status() { # ID STATUS [SECONDS]
	wait_until "${3:-10}" status_is "$1" "$2"
}

wait_file() { # PATH [SECONDS]
	wait_until "${2:-10}" test -e "$1"
}

# bg_remember PID: a background helper teardown must kill.
bg_remember() {
	echo "$1" >>"$TEST_TMP/bg.pids"
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

# assert_contains HAYSTACK NEEDLE [WHAT]
assert_contains() {
	[[ $1 == *"$2"* ]] || fail "${3:-output} does not contain '$2': '$1'"
}

assert_not_contains() {
	[[ $1 != *"$2"* ]] || fail "${3:-output} contains '$2': '$1'"
}

# assert_status EXPECTED: after `run`, prints output on mismatch.
assert_status() {
	[ "$status" -eq "$1" ] || fail "exit status $status, expected $1; output: '$output' stderr: '${stderr:-}'"
}

assert_failed() {
	[ "$status" -ne 0 ] || fail "command succeeded but should have failed; output: '$output'"
	[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "command timed out (status $status)"
}

# nonempty_lines TEXT: prints the non-empty lines of TEXT.
nonempty_lines() {
	printf '%s\n' "$1" | grep -v '^[[:space:]]*$' || true
}

# assert_error_line TEXT WORD...: barge's error contract: TEXT (stderr) is
# exactly one non-empty line and mentions every WORD (case-insensitive).
# Skips with a reason for runtimes other than barge-runtime when unmet.
assert_error_line() {
	local text=$1 n w
	shift
	n=$(nonempty_lines "$text" | wc -l)
	local why=""
	[ "$n" -eq 1 ] || why="stderr has $n non-empty lines, not 1"
	for w in "$@"; do
		if ! grep -qiF -- "$w" <<<"$text"; then
			why="${why:+$why; }stderr does not mention '$w'"
		fi
	done
	[ -z "$why" ] && return 0
	if is_barge; then
		fail "error contract: $why; stderr was: '$text'"
	else
		skip "barge's one-line error contract not met by ${RUNTIME##*/}: $why (stderr: $(nonempty_lines "$text" | head -3 | tr '\n' '|'))"
	fi
}

# find_leaks [ID...]: prints whatever the given containers (default: every id
# of this test) left behind; prints nothing when clean.
find_leaks() {
	local ids=("$@") id
	[ ${#ids[@]} -gt 0 ] || mapfile -t ids < <(cat "$TEST_TMP/ids")
	[ ${#ids[@]} -gt 0 ] || return 0
	# ids are [A-Za-z0-9-]; one must not match another it is a prefix of
	local re
	re="($(
		IFS='|'
		echo "${ids[*]}"
	))([^A-Za-z0-9_-]|\$)"
	# mounts under the test's dirs or named after its containers
	awk -v t="$TEST_TMP" -v p="$IDP" 'index($5, t) == 1 || index($5, p) || index($4, p) { print "mount: " $5 }' /proc/self/mountinfo
	# cgroup dirs named after the containers, in every hierarchy
	find /sys/fs/cgroup -maxdepth 10 -type d -name "*$IDP*" 2>/dev/null | grep -E -- "$re" | sed 's/^/cgroup: /'
	# live (non-zombie) processes in the containers' cgroups, or remembered
	local f pid st state rid
	for f in $(grep -lE -- "$re" /proc/[0-9]*/cgroup 2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/cgroup}
		state=$(proc_state "$pid") || continue
		[ "$state" = Z ] || [ "$state" = X ] || echo "process: $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) in $(grep -E -- "$re" "$f" | head -1)"
	done
	while read -r pid st rid; do
		[ -n "$pid" ] || continue
		grep -qxE -- "$re" <<<"$rid" || continue
		[ "$(proc_starttime "$pid" 2>/dev/null)" = "$st" ] || continue
		state=$(proc_state "$pid") || continue
		[ "$state" = Z ] || [ "$state" = X ] || echo "process: $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) of $rid still alive"
	done <"$TEST_TMP/pids"
	# state dir entries
	if [ -d "$ROOT" ]; then
		ls -A "$ROOT" | grep -E -- "$re" | sed 's/^/state entry: /'
	fi
	return 0
}

proc_state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	echo "${stat%% *}"
}

# assert_no_leaks [ID...]: no mount, cgroup dir, process or state entry of
# the given containers (default: all of this test's) remains.  Zombies are
# not counted: reaping them is the host init's job, not the runtime's.
assert_no_leaks() {
	local leaks rc=0
	leaks=$(find_leaks "$@")
	[ -z "$leaks" ] || {
		fail "leftovers: $leaks"
		rc=1
	}
	# The runtime itself must agree that the containers are gone.
	local id ids=("$@")
	[ ${#ids[@]} -gt 0 ] || mapfile -t ids < <(cat "$TEST_TMP/ids")
	local listed
	listed=$(rt list -q 2>/dev/null) || true
	for id in "${ids[@]}"; do
		if grep -qxF -- "$id" <<<"$listed"; then
			fail "'list -q' still shows $id"
			rc=1
		fi
	done
	return $rc
}

# Best-effort removal of anything the test left behind, so that a failing
# runtime never pollutes the machine for the next test.
sweep_leftovers() {
	local f pid d m
	for f in $(grep -lF "$IDP" /proc/[0-9]*/cgroup 2>/dev/null); do
		pid=${f#/proc/}
		kill -9 "${pid%/cgroup}" 2>/dev/null
	done
	local st
	while read -r pid st _; do
		[ -n "$pid" ] && [ "$(proc_starttime "$pid" 2>/dev/null)" = "$st" ] && kill -9 "$pid" 2>/dev/null
	done <"$TEST_TMP/pids"
	# mounts: deepest first
	awk -v t="$TEST_TMP" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	for d in $(find /sys/fs/cgroup -maxdepth 10 -depth -type d -name "*$IDP*" 2>/dev/null); do
		rmdir "$d" 2>/dev/null || {
			sleep 0.1
			rmdir "$d" 2>/dev/null
		}
	done
	return 0
}

# ---------------------------------------------------------------- cgroups

# cg_dir PID CONTROLLER: the host directory of PID's cgroup for CONTROLLER:
# the cgroup v1 hierarchy that has it, else the cgroup v2 one.
cg_dir() {
	local pid=$1 ctl=$2 mnt rel
	mnt=$(awk -v c="$ctl" '{
		for (i = 7; $i != "-"; i++) ;
		if ($(i+1) == "cgroup") {
			n = split($(i+3), o, ",")
			for (j = 1; j <= n; j++) if (o[j] == c) { print $5; exit }
		}
	}' /proc/self/mountinfo)
	if [ -n "$mnt" ]; then
		rel=$(awk -F: -v c="$ctl" '{ n = split($2, o, ","); for (j = 1; j <= n; j++) if (o[j] == c) { print $3; exit } }' "/proc/$pid/cgroup")
	else
		mnt=$(awk '{ for (i = 7; $i != "-"; i++) ; if ($(i+1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
		rel=$(awk -F: '$1 == "0" { print $3; exit }' "/proc/$pid/cgroup")
	fi
	[ -n "$mnt" ] && [ -n "$rel" ] || return 1
	echo "$mnt$rel"
}

# cg_is_v1 CONTROLLER: whether CONTROLLER is mounted as a cgroup v1 hierarchy.
cg_is_v1() {
	awk -v c="$1" '{
		for (i = 7; $i != "-"; i++) ;
		if ($(i+1) == "cgroup") {
			n = split($(i+3), o, ",")
			for (j = 1; j <= n; j++) if (o[j] == c) found = 1
		}
	} END { exit !found }' /proc/self/mountinfo
}

# cg_read PID CONTROLLER FILE_V1 FILE_V2: prints the cgroup file for PID,
# whichever cgroup version has CONTROLLER; skips the test if it is missing.
cg_read() {
	local dir f
	dir=$(cg_dir "$1" "$2") || skip "no cgroup for controller $2"
	if cg_is_v1 "$2"; then f=$dir/$3; else f=$dir/$4; fi
	[ -e "$f" ] || skip "cgroup file $f does not exist on this host"
	cat "$f"
}

# ---------------------------------------------------------------- capabilities

CAP_NAMES=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID
	SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW
	IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT
	SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD
	LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
	WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)

# cap_mask CAP_X...: the 16-hex-digit mask /proc/PID/status shows.
cap_mask() {
	local m=0 c i
	for c in "$@"; do
		for i in "${!CAP_NAMES[@]}"; do
			if [ "CAP_${CAP_NAMES[$i]}" = "$c" ]; then
				m=$((m | (1 << i)))
				continue 2
			fi
		done
		fail "unknown capability $c"
		return 1
	done
	printf '%016x\n' "$m"
}
