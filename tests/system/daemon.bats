#!/usr/bin/env bats
# barged itself: flags, config file, socket, pid file, one daemon per root,
# SIGHUP reload, SIGTERM shutdown, and kill -9 / restart with containers
# running and under load: nothing lost, nothing leaked.

load engine_helpers

setup() {
	engine_setup
}

teardown() {
	engine_teardown
}

@test "barged: socket mode 0660, pid file, /_ping headers" {
	[ "$(stat -c %a "$E_SOCK")" = 660 ]
	[ "$(cat "$E_TMP/barged.pid")" = "$E_PID" ]
	run curl -si --unix-socket "$E_SOCK" http://x/_ping
	[[ "$output" == *"Api-Version: 1.41"* ]]
	[[ "$output" == *"OK"* ]]
}

@test "barged: a second daemon on the same root refuses with one clear line" {
	run timeout 10 "$BARGED" --root "$E_ROOT" --exec-root "$E_TMP/run2" -H "unix://$E_TMP/other.sock" \
		--pidfile "$E_TMP/other.pid" --config-file "$E_TMP/daemon.json"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$E_ROOT"* ]]
	[[ "$output" == *"$E_PID"* ]]
	# and the first one still answers
	run b version
	[ "$status" -eq 0 ]
}

@test "barged: bad config file and flags are one clear error" {
	echo '{"registry-mirrors": ["http://127.0.0.1:1"], "bogus-key": 1}' >"$E_TMP/bad.json"
	run timeout 10 "$BARGED" --root "$E_TMP/r2" --exec-root "$E_TMP/x2" -H "unix://$E_TMP/s2.sock" \
		--config-file "$E_TMP/bad.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bogus-key"* ]]
	echo '{"data-root": "/tmp/elsewhere"}' >"$E_TMP/both.json"
	run timeout 10 "$BARGED" --root "$E_TMP/r2" --config-file "$E_TMP/both.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"both as a flag and in the configuration file: data-root"* ]]
	echo '{not json' >"$E_TMP/broken.json"
	run timeout 10 "$BARGED" --root "$E_TMP/r2" --config-file "$E_TMP/broken.json"
	[ "$status" -ne 0 ]
	[[ "$output" == *"broken.json"* ]]
	run timeout 10 "$BARGED" --no-such-flag
	[ "$status" -ne 0 ]
	[[ "$output" == *"--no-such-flag"* ]]
	[ ! -e "$E_TMP/r2" ]
}

@test "barged: SIGHUP reloads the registry mirrors from the config file" {
	run b info --format '{{json .RegistryConfig.Mirrors}}'
	[[ "$output" != *"127.0.0.1:5999"* ]]
	echo '{"registry-mirrors": ["http://127.0.0.1:5999"]}' >"$E_TMP/daemon.json"
	kill -HUP "$E_PID"
	for i in $(seq 1 50); do
		b info --format '{{json .RegistryConfig.Mirrors}}' | grep -q 127.0.0.1:5999 && break
		sleep 0.1
	done
	run b info --format '{{json .RegistryConfig.Mirrors}}'
	[[ "$output" == *"127.0.0.1:5999"* ]]
	# a broken file on reload keeps the daemon running with the old settings
	echo '{broken' >"$E_TMP/daemon.json"
	kill -HUP "$E_PID"
	sleep 0.3
	run b version
	[ "$status" -eq 0 ]
	grep -q "reload" "$E_TMP/barged.log"
}

@test "barged: SIGTERM stops the daemon, containers keep running and are found again" {
	id=$(b run -d busybox sh -c 'i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done')
	[ ${#id} -eq 64 ]
	barged_stop
	[ ! -S "$E_SOCK" ]
	sleep 0.5
	# still running without the daemon
	shim=$(engine_procs | head -n1)
	[ -n "$shim" ]
	barged_start
	run b inspect -f '{{.State.Running}}' "$id"
	[ "$output" = "true" ]
	# the log kept growing while barged was away: no gap in the ticks
	sleep 0.3
	run b logs "$id"
	n=$(echo "$output" | wc -l)
	last=$(echo "$output" | tail -n1 | cut -d' ' -f2)
	[ "$n" -ge 8 ]
	[ "$last" -eq $((n - 1)) ]
	b rm -f "$id"
}

@test "barged: kill -9, containers exit meanwhile, restart: exit codes, logs, restart policies" {
	long=$(b run -d --name long busybox sh -c 'echo long up; exec sleep 600')
	quick=$(b run -d --name quick busybox sh -c 'sleep 1; echo bye; exit 7')
	again=$(b run -d --name again --restart always busybox sh -c 'echo run; sleep 1; exit 1')
	norestart=$(b run -d --name stays busybox sh -c 'sleep 1; exit 0')
	barged_kill
	sleep 2.5 # quick, again, stays exit while barged is gone
	barged_start
	run b inspect -f '{{.State.Status}} {{.State.ExitCode}}' quick
	[ "$output" = "exited 7" ]
	run b logs quick
	[ "$output" = "bye" ]
	run b inspect -f '{{.State.Running}}' long
	[ "$output" = "true" ]
	run b inspect -f '{{.State.Status}} {{.State.ExitCode}}' stays
	[ "$output" = "exited 0" ]
	# `always` was restarted after the daemon came back
	for i in $(seq 1 50); do
		[ "$(b inspect -f '{{.RestartCount}}' again)" -ge 1 ] && break
		sleep 0.1
	done
	[ "$(b inspect -f '{{.RestartCount}}' again)" -ge 1 ]
	run b logs again
	[[ "$output" == *"run"*"run"* ]]
	b rm -f long quick again stays
	[ -z "$(engine_procs)" ]
}

@test "barged: kill -9 under load, restart: every container accounted for, nothing leaks" {
	local pids=()
	for w in 1 2 3 4 5 6 7 8; do
		(for i in 1 2 3 4 5 6 7 8 9 10; do
			b run -d --name "w$w-$i" busybox sleep 600 >/dev/null 2>&1
		done) &
		pids+=($!)
	done
	sleep 1.5
	barged_kill
	wait "${pids[@]}" || true
	barged_start
	# whatever exists can be inspected and removed; nothing half-made survives
	run b ps -a -q --no-trunc
	[ "$status" -eq 0 ]
	for id in $output; do
		run b inspect -f '{{.Id}}' "$id"
		[ "$status" -eq 0 ]
	done
	b ps -a -q | xargs -r timeout 120 "$BARGE" -H "$E_HOST" rm -f >/dev/null
	run b ps -a -q
	[ -z "$output" ]
	[ -z "$(engine_leaks)" ]
	[ -z "$(ls "$E_ROOT/containers")" ]
}
