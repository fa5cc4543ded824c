# engine_helpers.bash: a private barged per test, for the engine's system
# tests (barge client, Engine API, docker CLI / SDK / compose against it).
#
# engine_setup [BARGED FLAGS...] gives each test:
#   E_TMP    a private temp dir /tmp/bge.XXXXXX (removed by engine_teardown)
#   E_ROOT   barged's --root ($E_TMP/root)   E_RUN  its --exec-root ($E_TMP/run)
#   E_SOCK   its API socket; E_HOST=unix://$E_SOCK (also DOCKER_HOST for
#            the real docker CLI and the Python SDK)
#   busybox:latest loaded from build/busybox.tar (Cmd ["sh"])
# and these commands:
#   b ARGS          the barge client against this barged (timeout, no stdin)
#   bi ARGS         the same with stdin passed through
#   api METHOD PATH [curl args]   curl on the socket; prints the body, then
#                   "\n<status>" on the last line (see api_status/api_body)
#   barged_start [FLAGS]  barged_stop  barged_kill   (restart = stop + start)
#   E_CG     its --cgroup-parent, so that the containers' cgroups are found
# engine_teardown stops barged, force-removes what is left (shims, runtime
# state, mounts, cgroups) and, for a passed test, fails it on leaks.

bats_require_minimum_version 1.5.0

BARGE_BUILD=${BARGE_BUILD:-$PWD/build}
BARGE=${BARGE:-$BARGE_BUILD/bin/barge}
BARGED=${BARGED:-$BARGE_BUILD/bin/barged}
E_TIMEOUT=${E_TIMEOUT:-60}

engine_setup() {
	[ "$(id -u)" = 0 ] || skip "the engine tests need root"
	[ -x "$BARGED" ] && [ -x "$BARGE" ] || skip "barged/barge not built"
	E_TMP=$(mktemp -d /tmp/bge.XXXXXX)
	chmod 755 "$E_TMP"
	E_ROOT=$E_TMP/root E_RUN=$E_TMP/run E_SOCK=$E_TMP/barged.sock
	E_HOST=unix://$E_SOCK
	E_CG=/${E_TMP##*/} # this test's --cgroup-parent: /bge.XXXXXX on every hierarchy
	export DOCKER_HOST=$E_HOST BARGE_HOST=$E_HOST
	echo '{}' >"$E_TMP/daemon.json"
	barged_start "$@"
	b load -q -i "$BARGE_BUILD/busybox.tar" >/dev/null
}

# barged_start [FLAGS]: start barged in the background and wait for /_ping
barged_start() {
	"$BARGED" --root "$E_ROOT" --exec-root "$E_RUN" -H "$E_HOST" \
		--pidfile "$E_TMP/barged.pid" --config-file "$E_TMP/daemon.json" \
		--cgroup-parent "$E_CG" "$@" \
		</dev/null >>"$E_TMP/barged.log" 2>&1 3>&- &
	E_PID=$!
	local i
	for i in $(seq 1 200); do
		if curl -sf --unix-socket "$E_SOCK" http://x/_ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$E_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# barged did not come up; its log:" >&2
	sed 's/^/#   /' "$E_TMP/barged.log" >&2
	return 1
}

barged_stop() {
	[ -n "${E_PID:-}" ] || return 0
	kill -TERM "$E_PID" 2>/dev/null || true
	local i
	for i in $(seq 1 200); do
		kill -0 "$E_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -9 "$E_PID" 2>/dev/null || true
	wait "$E_PID" 2>/dev/null || true
	E_PID=
}

barged_kill() {
	[ -n "${E_PID:-}" ] || return 0
	kill -9 "$E_PID" 2>/dev/null || true
	wait "$E_PID" 2>/dev/null || true
	E_PID=
}

b() {
	timeout -k 5 "$E_TIMEOUT" "$BARGE" -H "$E_HOST" "$@" </dev/null 3>&-
}

bi() {
	timeout -k 5 "$E_TIMEOUT" "$BARGE" -H "$E_HOST" "$@" 3>&-
}

# api METHOD PATH [CURL ARGS]: body, then a last line with the status code
api() {
	local m=$1 p=$2
	shift 2
	curl -s --max-time "$E_TIMEOUT" --unix-socket "$E_SOCK" -X "$m" -w '\n%{http_code}' \
		"$@" "http://x$p"
}
api_status() { tail -n1 <<<"$1"; }
api_body() { sed '$d' <<<"$1"; }

# the ids of every container barged knows
engine_ids() {
	ls "$E_ROOT/containers" 2>/dev/null
}

# processes working in this barged's exec root (shims, runtimes), not barged itself
engine_procs() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$$" ] || [ "${p#/proc/}" = "${E_PID:-}" ] && continue
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "$E_RUN/" && echo "${p#/proc/}"
	done
}

engine_mounts() {
	awk -v d="$E_TMP/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
}

# cgroup directories of this test's containers (under $E_CG), on any hierarchy
engine_cgroups() {
	find /sys/fs/cgroup -mindepth 2 -maxdepth 5 -type d -path "*$E_CG/*" 2>/dev/null
}

engine_leaks() {
	local p
	for p in $(engine_procs); do echo "process $p: $({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null)"; done
	for p in $(engine_mounts); do echo "mount $p"; done
	for p in $(engine_cgroups); do echo "cgroup $p"; done
}

engine_teardown() {
	[ -n "${E_TMP:-}" ] && [ -d "$E_TMP" ] || return 0
	local leaks=""
	if [ -n "${E_PID:-}" ] && [ -n "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ]; then
		# a passed test: removing every container must leave nothing behind
		local id
		for id in $(engine_ids); do
			b rm -f "$id" >/dev/null 2>&1
		done
		leaks=$(engine_leaks)
	fi
	barged_stop
	# force: shims and containers, runtime state, mounts, cgroups
	local p rt=$BARGE_BUILD/bin/barge-runtime id
	for p in $(engine_procs); do kill -9 "$p" 2>/dev/null; done
	if [ -d "$E_RUN/runtime" ]; then
		for id in $(ls "$E_RUN/runtime" 2>/dev/null); do
			timeout 20 "$rt" --root "$E_RUN/runtime" delete --force "$id" >/dev/null 2>&1
		done
	fi
	for p in $(engine_mounts | sort -r); do umount -l "$p" 2>/dev/null; done
	for p in $(engine_cgroups | sort -r) $(find /sys/fs/cgroup -maxdepth 3 -type d -path "*$E_CG" 2>/dev/null); do
		rmdir "$p" 2>/dev/null
	done
	if [ -n "$leaks" ]; then
		echo "# leaks after removing every container:" >&2
		echo "$leaks" | sed 's/^/#   /' >&2
	fi
	if [ -z "$leaks" ] || [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		rm -rf "$E_TMP"
	else
		echo "# (kept $E_TMP)" >&2
	fi
	unset DOCKER_HOST BARGE_HOST
	[ -z "$leaks" ]
}
