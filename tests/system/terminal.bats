#!/usr/bin/env bats
# process.terminal with --console-socket: the runtime makes a pty in the
# container and sends its master over the socket (console_recv.py plays the
# shim's part); the process has it as stdio and controlling terminal.

load helpers

setup() {
	common_setup
	command -v python3 >/dev/null || skip "python3 not installed"
	SOCK=$TEST_TMP/console.sock
	spec_set '.process.terminal = true'
}

# start_recv ARGS...: console_recv.py listening on $SOCK in the background.
start_recv() {
	python3 "$BST_DIR/console_recv.py" "$SOCK" "$@" >"$TEST_TMP/console.out" 2>"$TEST_TMP/console.err" </dev/null 3>&- &
	RECV_PID=$!
	bg_remember "$RECV_PID"
	wait_file "$SOCK"
}

# wait_recv: waits for the receiver; CONSOLE gets what the pty printed,
# without the tty's carriage returns.
wait_recv() {
	local rc=0
	wait "$RECV_PID" || rc=$?
	CONSOLE=$(tr -d '\r' <"$TEST_TMP/console.out")
	[ "$rc" -eq 0 ] || fail "console_recv.py exited $rc: $(cat "$TEST_TMP/console.err"); output: $CONSOLE"
}

@test "terminal: stdio is a pty from --console-socket" {
	spec_sh 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; for f in 0 1 2; do readlink /proc/self/fd/$f; done'
	start_recv
	ctr_run_d "$CID" --console-socket "$SOCK"
	wait_recv
	assert_eq "$CONSOLE" "/dev/pts/0
all-tty
/dev/pts/0
/dev/pts/0
/dev/pts/0" "what the container printed on its terminal"
	wait_status "$CID" stopped
	rt delete "$CID"
	assert_no_leaks
}

@test "terminal: consoleSize sets the window size" {
	spec_set '.process.consoleSize = {"height": 30, "width": 100}'
	spec_sh 'stty size'
	start_recv
	ctr_run_d "$CID" --console-socket "$SOCK"
	wait_recv
	assert_eq "$CONSOLE" "30 100" "stty size"
}

@test "terminal: a resize through the master reaches the process" {
	spec_sh 'stty size'
	start_recv --winsize 40 120
	ctr_create "$CID" --console-socket "$SOCK"
	wait_until 10 grep -q '^msg:' "$TEST_TMP/console.err"
	rt start "$CID"
	wait_recv
	assert_eq "$CONSOLE" "40 120" "stty size"
}

@test "terminal: an interactive shell reads input from the master" {
	spec_args sh
	start_recv --send 'echo hello-$((6*7)); exit 5\n'
	ctr_run_d "$CID" --console-socket "$SOCK"
	wait_recv
	assert_contains "$CONSOLE" hello-42 "shell output"
	wait_status "$CID" stopped
	rt delete "$CID"
	assert_no_leaks
}

@test "terminal: ^C on the master interrupts the foreground process" {
	spec_sh 'trap "echo got-INT; exit 3" INT; echo ready; while :; do sleep 0.05; done'
	start_recv --when ready --send '\x03'
	ctr_run_d "$CID" --console-socket "$SOCK"
	wait_recv
	assert_contains "$CONSOLE" got-INT "output after ^C"
	wait_status "$CID" stopped
}

@test "terminal: exec -t --detach with --console-socket" {
	spec_set '.process.terminal = false'
	start_sleeper
	start_recv
	rt exec -t --detach --console-socket "$SOCK" "$CID" sh -c 'tty; [ -t 0 ] && echo stdin-tty' >"$TEST_TMP/exec.out" 2>&1 ||
		fail "exec failed: $(cat "$TEST_TMP/exec.out")"
	wait_recv
	[[ $(head -1 <<<"$CONSOLE") =~ ^/dev/pts/[0-9]+$ ]] || fail "exec's tty: $CONSOLE"
	assert_eq "$(sed -n 2p <<<"$CONSOLE")" stdin-tty
	assert_eq "$(ctr_status "$CID")" running
}

@test "terminal: create without --console-socket fails and leaves nothing" {
	spec_sh 'echo ran'
	run ctr_create "$CID"
	assert_failed
	run rt state "$CID"
	assert_failed
	assert_no_leaks
	assert_error_line "$(cat "$TEST_TMP/$CID.err")" console
}

# The user's own terminal (played by script(1)'s pty): `run` and `exec -t`
# without --console-socket proxy it to the container's pty.
@test "terminal: run and exec -t in the foreground proxy the caller's terminal" {
	command -v script >/dev/null || skip "script (util-linux) not installed"
	spec_sh 'echo ready > /tmp/ready; exec sh'
	(sleep 0.5; printf 'echo in-container-$((6*7)); tty; exit 3\n') |
		timeout 30 script -qec "$RUNTIME --root $ROOT run --bundle $BUNDLE $CID" /dev/null >"$TEST_TMP/fg.out" 2>&1 3>&- ||
		true
	local out
	out=$(tr -d '\r' <"$TEST_TMP/fg.out")
	assert_contains "$out" "in-container-42" "run's terminal output"
	assert_contains "$out" "/dev/pts/0" "tty inside run"
	local rc=0
	(sleep 0.5; printf 'exit 3\n') | timeout 30 script -qec "$RUNTIME --root $ROOT run --bundle $BUNDLE $CID" /dev/null >/dev/null 2>&1 3>&- || rc=$?
	assert_eq "$rc" 3 "run's exit status through the terminal"

	spec_set '.process.terminal = false'
	start_sleeper
	(sleep 0.5; printf 'echo exec-$((6*7)); tty; exit 5\n') |
		timeout 30 script -qec "$RUNTIME --root $ROOT exec -t $CID sh" /dev/null >"$TEST_TMP/ex.out" 2>&1 3>&- || true
	out=$(tr -d '\r' <"$TEST_TMP/ex.out")
	assert_contains "$out" "exec-42" "exec -t output"
	assert_contains "$out" "/dev/pts/" "tty inside exec -t"
	rt delete --force "$CID"
	assert_no_leaks
}
