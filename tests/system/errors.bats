#!/usr/bin/env bats
# Bad input: every refusal exits non-zero, leaves nothing behind, and (barge's
# contract, skipped for other runtimes) says so in exactly one stderr line
# that names the culprit.

load helpers

# try_create: `create $CID` from $BUNDLE; sets status, and stderr to what
# the runtime printed.
try_create() {
	: >"$TEST_TMP/$CID.err"
	run ctr_create "$CID"
	stderr=$(cat "$TEST_TMP/$CID.err")
}

# refused WORD...: the create just tried failed and left nothing; then the
# error line contract with WORDs.
refused() {
	assert_failed
	run rt state "$CID"
	assert_failed
	assert_no_leaks
	assert_error_line "$stderr" "$@"
}

@test "malformed config.json (not JSON)" {
	echo '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
	try_create
	refused config.json
}

@test "missing config.json" {
	rm "$BUNDLE/config.json"
	try_create
	refused config.json
}

@test "invalid config: process.args missing" {
	spec_set 'del(.process.args)'
	try_create
	refused args
}

@test "invalid config: process.args empty" {
	spec_set '.process.args = []'
	try_create
	refused args
}

@test "invalid config: process.args of the wrong type" {
	spec_set '.process.args = "true"'
	try_create
	refused args
}

@test "invalid config: process.user.uid of the wrong type" {
	spec_set '.process.user.uid = "root"'
	try_create
	refused uid
}

@test "invalid config: relative process.cwd" {
	spec_set '.process.cwd = "relative/dir"'
	try_create
	refused cwd
}

@test "invalid config: unknown namespace type" {
	spec_set '.linux.namespaces += [{"type": "bogusns"}]'
	try_create
	refused bogusns
}

@test "invalid config: unknown rlimit name" {
	spec_set '.process.rlimits = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]'
	try_create
	refused RLIMIT_BOGUS
}

@test "missing rootfs" {
	rm -rf "$ROOTFS"
	try_create
	refused rootfs
}

@test "the process binary does not exist" {
	spec_args /no/such/binary
	run --separate-stderr ctr_run
	assert_failed
	assert_no_leaks
	assert_error_line "$stderr" /no/such/binary
}

@test "unknown container id for state, start, kill, delete, exec, pause, resume, ps, update" {
	local bad=${IDP}nosuch cmd
	local -A errs
	for cmd in state start kill delete exec pause resume ps update; do
		case $cmd in
		exec) run --separate-stderr rt exec "$bad" true ;;
		update) run --separate-stderr rt update --pids-limit 10 "$bad" ;;
		*) run --separate-stderr rt "$cmd" "$bad" ;;
		esac
		assert_failed
		errs[$cmd]=$stderr
	done
	assert_no_leaks
	[ ! -e "$ROOT/$bad" ] || fail "a state entry appeared for $bad"
	for cmd in state start kill delete exec pause resume ps update; do
		assert_error_line "${errs[$cmd]}" "$bad"
	done
}

@test "duplicate id on create" {
	ctr_create "$CID"
	local pid
	pid=$(ctr_pid "$CID")
	try_create
	assert_failed
	assert_eq "$(ctr_status "$CID")" created "the first container's status"
	assert_eq "$(rt state "$CID" | jq -r .pid)" "$pid" "the first container's pid"
	[ -d "/proc/$pid" ] || fail "the first container's init died"
	local err=$stderr
	rt delete "$CID"
	assert_no_leaks
	assert_error_line "$err" "$CID"
}

@test "an id that is a path is refused and creates nothing outside the root" {
	local id
	for id in "../${IDP}escape" "${IDP}a/b" "."; do
		run --separate-stderr rt create --bundle "$BUNDLE" "$id"
		assert_failed
	done
	[ ! -e "$TEST_TMP/${IDP}escape" ] || fail "state dir escaped --root"
	[ ! -e "$ROOT/${IDP}a" ] || fail "a state entry was made for a/b"
	assert_no_leaks
	assert_error_line "$stderr" id
}

@test "unknown command, unknown option, missing argument" {
	local -a errs
	run --separate-stderr rt bst-nosuchcmd
	assert_failed
	errs+=("$stderr|bst-nosuchcmd")
	run --separate-stderr rt state --bst-bogus-flag "$CID"
	assert_failed
	errs+=("$stderr|bst-bogus-flag")
	run --separate-stderr rt state
	assert_failed
	assert_no_leaks
	local e
	for e in "${errs[@]}"; do
		assert_error_line "${e%|*}" "${e##*|}"
	done
}

@test "delete of an already deleted container" {
	start_sleeper
	rt kill "$CID" KILL
	wait_status "$CID" stopped
	rt delete "$CID"
	run --separate-stderr rt delete "$CID"
	assert_failed
	assert_no_leaks
	assert_error_line "$stderr" "$CID"
}
