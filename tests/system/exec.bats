#!/usr/bin/env bats
# exec: a new process in a running container, argv form and --process
# form, with its options (-e, --cwd, --user, --detach, --pid-file).

load helpers

setup() {
	common_setup
	echo rootfs-marker >"$ROOTFS/marker"
	spec_set '.process.env += ["CFGVAR=from-config"]'
	start_sleeper
	PID=$(ctr_pid "$CID")
}

@test "exec argv form runs inside the container's namespaces" {
	run --separate-stderr rt exec "$CID" echo hello world
	assert_status 0
	assert_eq "$output" "hello world"

	run --separate-stderr rt exec "$CID" sh -c 'echo $$; cat /marker; tr "\0" " " </proc/1/cmdline'
	assert_status 0
	[ "${lines[0]}" -gt 1 ] || fail "exec'd shell has pid ${lines[0]}, expected > 1"
	assert_eq "${lines[1]}" rootfs-marker "file seen by exec"
	assert_contains "${lines[2]}" "while :" "pid 1 seen by exec"

	local ns want got
	for ns in pid mnt net uts ipc; do
		want=$(readlink "/proc/$PID/ns/$ns")
		got=$(rt exec "$CID" readlink "/proc/self/ns/$ns")
		assert_eq "$got" "$want" "$ns namespace of the exec'd process"
	done
}

@test "exec'd process gets the container's cgroup, capabilities and no_new_privs" {
	local want got f
	run --separate-stderr rt exec "$CID" sh -c 'grep -E "^(CapBnd|CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status; cat /proc/self/cgroup'
	assert_status 0
	got=$output
	want=$(grep -E '^(CapBnd|CapEff|CapPrm|NoNewPrivs|Seccomp):' "/proc/$PID/status"; cat "/proc/$PID/cgroup")
	# the container may or may not have a cgroup namespace; compare from the
	# host's view when it does not
	if [ "$(readlink "/proc/$PID/ns/cgroup")" = "$(readlink /proc/self/ns/cgroup)" ]; then
		assert_eq "$got" "$want" "exec'd process status vs init"
	else
		assert_eq "$(head -5 <<<"$got")" "$(head -5 <<<"$want")" "exec'd process caps vs init"
	fi
}

@test "exec stdout, stderr and exit code" {
	run --separate-stderr rt exec "$CID" sh -c 'echo out; echo err >&2; exit 7'
	assert_status 7
	assert_eq "$output" out
	assert_eq "$stderr" err
	run rt exec "$CID" false
	assert_status 1
	run rt exec "$CID" true
	assert_status 0
	run --separate-stderr rt exec "$CID" /no/such/binary
	assert_failed
	assert_eq "$(ctr_status "$CID")" running "container after a failed exec"
}

@test "exec --process takes a process.json" {
	cat >"$TEST_TMP/process.json" <<'J'
{
	"terminal": false,
	"user": {"uid": 1, "gid": 1},
	"args": ["sh", "-c", "echo $FOO; id -u; id -g; pwd"],
	"env": ["FOO=from-json", "PATH=/bin:/usr/bin"],
	"cwd": "/tmp"
}
J
	run --separate-stderr rt exec --process "$TEST_TMP/process.json" "$CID"
	assert_status 0
	assert_eq "$output" "from-json
1
1
/tmp"
}

@test "exec -e, --cwd, --user" {
	run --separate-stderr rt exec -e FOO=bar -e BAZ=qux --cwd /tmp --user 1000:1001 "$CID" \
		sh -c 'echo $FOO $BAZ $CFGVAR; pwd; id -u; id -g'
	assert_status 0
	assert_eq "$output" "bar qux from-config
/tmp
1000
1001"
	# -e overrides a variable of the config
	run --separate-stderr rt exec -e CFGVAR=overridden "$CID" sh -c 'echo $CFGVAR'
	assert_status 0
	assert_eq "$output" overridden
	run --separate-stderr rt exec --user 65534 "$CID" id -u
	assert_status 0
	assert_eq "$output" 65534
}

@test "exec --detach --pid-file" {
	local t0=$SECONDS
	rt exec --detach --pid-file "$TEST_TMP/exec.pid" "$CID" \
		sh -c 'echo $$ > /tmp/exec-nspid; exec sleep 1000' >"$TEST_TMP/exec.out" 2>&1
	[ $((SECONDS - t0)) -lt 10 ] || fail "exec --detach did not return promptly"
	local epid
	epid=$(cat "$TEST_TMP/exec.pid")
	[ -n "$epid" ] && [ "$epid" -gt 0 ] || fail "pid file: '$epid'"
	remember_pid "$epid" "$CID"
	wait_file "$ROOTFS/tmp/exec-nspid"
	[ -d "/proc/$epid" ] || fail "exec pid $epid is not alive"
	assert_eq "$(readlink "/proc/$epid/ns/pid")" "$(readlink "/proc/$PID/ns/pid")" "pid ns of the detached exec"
	# the pid in the file is the host's view of the process the container sees
	local nspid
	nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$epid/status")
	assert_eq "$nspid" "$(cat "$ROOTFS/tmp/exec-nspid")" "namespace pid of the detached exec"
	run rt ps --format json "$CID"
	assert_status 0
	jq -e --argjson p "$epid" 'index($p) != null' <<<"$output" >/dev/null || fail "ps does not list $epid: $output"
	# delete --force takes exec'd processes down too
	rt delete --force "$CID"
	wait_until 10 sh -c "! [ -d /proc/$epid ] || grep -q '^State:.*Z' /proc/$epid/status"
	assert_no_leaks
}

@test "exec into a stopped container fails" {
	rt kill "$CID" KILL
	wait_status "$CID" stopped
	run --separate-stderr rt exec "$CID" true
	assert_failed
	rt delete "$CID"
	assert_no_leaks
}
