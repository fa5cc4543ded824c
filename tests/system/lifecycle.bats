#!/usr/bin/env bats
# The runtime's commands, as runc's command line defines them: spec, create,
# start, state, run, kill, delete, list, ps, pause, resume, update,
# features, and the global and per-command options containerd and podman use.

load helpers

@test "spec writes a valid config.json that runs" {
	mkdir "$TEST_TMP/s"
	cd "$TEST_TMP/s"
	run rt spec
	assert_status 0
	[ -f config.json ] || fail "spec wrote no config.json"
	jq -e . config.json >/dev/null || fail "config.json is not JSON"
	jq -e '
		(.ociVersion | type == "string" and startswith("1."))
		and (.process.args | type == "array" and length > 0)
		and (.process.cwd | startswith("/"))
		and (.root.path == "rootfs")
		and ([.linux.namespaces[].type] | index("mount") != null)
		and ([.linux.namespaces[].type] | index("pid") != null)
		and ([.mounts[].destination] | index("/proc") != null)' config.json >/dev/null ||
		fail "config.json lacks a required field: $(cat config.json)"
	# The template must run as is (apart from args and our cgroup).
	cp -a "$BST_CACHE/rootfs" rootfs
	jq --arg cg "/$CID" '.process.args = ["sh", "-c", "echo from-spec"] | .process.terminal = false | .linux.cgroupsPath = $cg' config.json >c && mv c config.json
	run --separate-stderr rt run --bundle "$TEST_TMP/s" "$CID"
	assert_status 0
	assert_eq "$output" from-spec
	assert_no_leaks
}

@test "spec refuses to overwrite an existing config.json" {
	mkdir "$TEST_TMP/s"
	cd "$TEST_TMP/s"
	echo '{"keep": true}' >config.json
	run --separate-stderr rt spec
	assert_failed
	assert_eq "$(cat config.json)" '{"keep": true}' "config.json after a refused spec"
	assert_error_line "$stderr" config.json
}

@test "create, start, state: created -> running -> stopped" {
	spec_sh 'echo started > /tmp/started; while [ ! -e /tmp/go ]; do sleep 0.02; done; echo finished'
	ctr_create "$CID"
	run rt state "$CID"
	assert_status 0
	local st=$output pid
	assert_eq "$(jq -r .status <<<"$st")" created status
	assert_eq "$(jq -r .id <<<"$st")" "$CID" id
	assert_eq "$(jq -r .bundle <<<"$st")" "$BUNDLE" bundle
	jq -e '.ociVersion | type == "string"' <<<"$st" >/dev/null || fail "state has no ociVersion: $st"
	pid=$(ctr_pid "$CID")
	[ "$pid" -gt 0 ] && [ -d "/proc/$pid" ] || fail "state pid $pid is not a live process"
	# the user's process must not run before start
	sleep 0.2
	[ ! -e "$ROOTFS/tmp/started" ] || fail "process ran before start"

	rt start "$CID"
	wait_file "$ROOTFS/tmp/started"
	assert_eq "$(ctr_status "$CID")" running
	assert_eq "$(rt state "$CID" | jq -r .pid)" "$pid" "pid after start"
	run rt start "$CID"
	assert_failed

	touch "$ROOTFS/tmp/go"
	wait_status "$CID" stopped
	assert_eq "$(cat "$TEST_TMP/$CID.out")" finished "container stdout"
	rt delete "$CID"
	run rt state "$CID"
	assert_failed
	assert_no_leaks
}

@test "run: output on stdout/stderr, exit code propagates, container removed" {
	run --separate-stderr run_sh 'echo to-out; echo to-err >&2; exit 42'
	assert_status 42
	assert_eq "$output" to-out stdout
	assert_eq "$stderr" to-err stderr
	run rt state "$CID"
	assert_failed
	assert_no_leaks

	run --separate-stderr run_sh 'exit 0'
	assert_status 0
	run --separate-stderr run_sh 'exit 255'
	assert_status 255
	assert_no_leaks
}

@test "run --detach returns while the container runs" {
	spec_sh 'echo up > /tmp/up; trap "exit 0" TERM; while :; do sleep 0.1; done'
	local t0=$SECONDS
	ctr_run_d "$CID"
	[ $((SECONDS - t0)) -lt 10 ] || fail "run --detach did not return promptly"
	wait_file "$ROOTFS/tmp/up"
	assert_eq "$(ctr_status "$CID")" running
	local pid
	pid=$(ctr_pid "$CID")
	[ -d "/proc/$pid" ]
	rt kill "$CID" KILL
	wait_status "$CID" stopped
	rt delete "$CID"
	assert_no_leaks
}

@test "kill delivers signals by name, SIG-name and number; state becomes stopped" {
	spec_sh 'for s in USR1 USR2 HUP; do trap "echo $s >> /tmp/sigs" $s; done
		trap "echo TERM >> /tmp/sigs; exit 0" TERM
		echo ready > /tmp/ready
		while :; do sleep 0.02; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/ready"

	rt kill "$CID" USR1
	wait_until 10 grep -qx USR1 "$ROOTFS/tmp/sigs"
	rt kill "$CID" SIGUSR2
	wait_until 10 grep -qx USR2 "$ROOTFS/tmp/sigs"
	rt kill "$CID" 1
	wait_until 10 grep -qx HUP "$ROOTFS/tmp/sigs"
	: >"$ROOTFS/tmp/sigs"
	rt kill "$CID" "$(kill -l USR1)"
	wait_until 10 grep -qx USR1 "$ROOTFS/tmp/sigs"
	assert_eq "$(ctr_status "$CID")" running
	# no signal argument: SIGTERM
	rt kill "$CID"
	wait_until 10 grep -qx TERM "$ROOTFS/tmp/sigs"
	wait_status "$CID" stopped
	rt delete "$CID"
	assert_no_leaks
}

@test "kill KILL and 9 stop a container that ignores TERM" {
	spec_sh 'trap "" TERM; echo ready > /tmp/ready; while :; do sleep 0.05; done'
	local id2
	id2=$(new_id c2)
	make_bundle "$TEST_TMP/b2" "$id2"
	spec_sh -b "$TEST_TMP/b2" 'trap "" TERM; echo ready > /tmp/ready; while :; do sleep 0.05; done'
	ctr_run_d "$CID"
	ctr_run_d -b "$TEST_TMP/b2" "$id2"
	wait_file "$ROOTFS/tmp/ready"
	wait_file "$TEST_TMP/b2/rootfs/tmp/ready"
	rt kill "$CID" TERM
	sleep 0.3
	assert_eq "$(ctr_status "$CID")" running "status after an ignored TERM"
	rt kill "$CID" KILL
	rt kill "$id2" 9
	wait_status "$CID" stopped
	wait_status "$id2" stopped
	rt delete "$CID"
	rt delete "$id2"
	assert_no_leaks
}

@test "kill refuses an unknown signal" {
	start_sleeper
	run --separate-stderr rt kill "$CID" SIGNOPE
	assert_failed
	assert_eq "$(ctr_status "$CID")" running
	assert_error_line "$stderr" SIGNOPE
}

@test "delete removes stopped and created containers, refuses running ones" {
	ctr_create "$CID"
	local pid
	pid=$(ctr_pid "$CID")
	rt delete "$CID"
	run rt state "$CID"
	assert_failed
	assert_no_leaks "$CID"

	local id2
	id2=$(new_id c2)
	make_bundle "$TEST_TMP/b2" "$id2"
	spec_sh -b "$TEST_TMP/b2" 'while [ ! -e /tmp/go ]; do sleep 0.02; done'
	ctr_run_d -b "$TEST_TMP/b2" "$id2"
	run --separate-stderr rt delete "$id2"
	assert_failed
	assert_eq "$(ctr_status "$id2")" running "status after a refused delete"
	touch "$TEST_TMP/b2/rootfs/tmp/go"
	wait_status "$id2" stopped
	rt delete "$id2"
	run rt state "$id2"
	assert_failed
	assert_no_leaks
}

@test "delete --force kills and removes a running container" {
	spec_sh 'sleep 1000 & trap "" TERM; echo ready > /tmp/ready; while :; do sleep 0.05; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/ready"
	local pid
	pid=$(ctr_pid "$CID")
	run rt delete --force "$CID"
	assert_status 0
	run rt state "$CID"
	assert_failed
	assert_no_leaks
}

@test "list: table, --format json and -q" {
	local id2
	id2=$(new_id c2)
	make_bundle "$TEST_TMP/b2" "$id2"
	start_sleeper
	ctr_create -b "$TEST_TMP/b2" "$id2"
	local pid1 pid2
	pid1=$(ctr_pid "$CID")
	pid2=$(ctr_pid "$id2")

	run rt list
	assert_status 0
	read -r -a hdr <<<"${lines[0]}"
	assert_eq "${hdr[*]:0:4}" "ID PID STATUS BUNDLE" "table header"
	[ ${#lines[@]} -eq 3 ] || fail "expected header + 2 rows: $output"
	local row
	row=$(printf '%s\n' "${lines[@]}" | awk -v id="$CID" '$1 == id { print $2, $3, $4 }')
	assert_eq "$row" "$pid1 running $BUNDLE" "row of $CID"
	row=$(printf '%s\n' "${lines[@]}" | awk -v id="$id2" '$1 == id { print $2, $3, $4 }')
	assert_eq "$row" "$pid2 created $TEST_TMP/b2" "row of $id2"

	run rt list --format json
	assert_status 0
	assert_eq "$(jq -r 'sort_by(.id) | map("\(.id) \(.pid) \(.status) \(.bundle)") | .[]' <<<"$output" | tr '\n' ,)" \
		"$(printf '%s\n' "$CID $pid1 running $BUNDLE" "$id2 $pid2 created $TEST_TMP/b2" | sort | tr '\n' ,)" "list json"

	run rt list -q
	assert_status 0
	assert_eq "$(sort <<<"$output" | tr '\n' ' ')" "$(printf '%s\n' "$CID" "$id2" | sort | tr '\n' ' ')" "list -q"

	rt delete --force "$CID"
	rt delete --force "$id2"
	run rt list -q
	assert_status 0
	assert_eq "$output" "" "list -q after delete"
	run rt list --format json
	assert_status 0
	jq -e 'length == 0' <<<"${output:-[]}" >/dev/null || fail "list json after delete: $output"
	assert_no_leaks
}

@test "ps --format json lists the container's pids" {
	spec_sh 'sleep 1000 & echo $! > /tmp/bgpid; trap "exit 0" TERM; while :; do sleep 0.05; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/bgpid"
	local pid
	pid=$(ctr_pid "$CID")
	run --separate-stderr rt ps --format json "$CID"
	assert_status 0
	jq -e --argjson p "$pid" 'type == "array" and index($p) != null' <<<"$output" >/dev/null ||
		fail "ps json lacks init pid $pid: $output"
	jq -e 'length >= 2' <<<"$output" >/dev/null || fail "ps json lacks the background sleep: $output"
	# every listed pid is in the container's pid namespace
	local ns p
	ns=$(readlink "/proc/$pid/ns/pid")
	for p in $(jq -r '.[]' <<<"$output"); do
		[ -e "/proc/$p" ] || continue # a loop `sleep` may have exited
		assert_eq "$(readlink "/proc/$p/ns/pid")" "$ns" "pid namespace of listed pid $p"
	done
}

@test "pause and resume: paused counter does not advance" {
	spec_sh 'i=0; trap "exit 0" TERM
		while :; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/count; sleep 0.01; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/count"
	rt pause "$CID"
	assert_eq "$(ctr_status "$CID")" paused
	local c1 c2 c3
	sleep 0.1
	c1=$(cat "$ROOTFS/tmp/count")
	sleep 0.4
	c2=$(cat "$ROOTFS/tmp/count")
	assert_eq "$c2" "$c1" "counter while paused"
	rt resume "$CID"
	assert_eq "$(ctr_status "$CID")" running
	counter_above() { [ "$(cat "$ROOTFS/tmp/count" 2>/dev/null || echo 0)" -gt "$1" ]; }
	wait_until 10 counter_above "$c2"
	rt kill "$CID" KILL
	wait_status "$CID" stopped
	rt delete "$CID"
	assert_no_leaks
}

@test "update --memory and --pids-limit reach the container's cgroup" {
	start_sleeper
	local pid
	pid=$(ctr_pid "$CID")
	rt update --memory 67108864 --pids-limit 42 "$CID"
	assert_eq "$(cg_read "$pid" memory memory.limit_in_bytes memory.max)" 67108864 "memory limit"
	assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 42 "pids limit"
	rt update --pids-limit 17 "$CID"
	assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 17 "pids limit after second update"
	# the same through a resources file (-r), as containerd does
	echo '{"pids": {"limit": 23}}' >"$TEST_TMP/res.json"
	rt update -r "$TEST_TMP/res.json" "$CID"
	assert_eq "$(cg_read "$pid" pids pids.max pids.max)" 23 "pids limit from -r"
	assert_eq "$(ctr_status "$CID")" running
}

@test "features prints JSON with ociVersionMax" {
	run --separate-stderr rt features
	assert_status 0
	jq -e '(.ociVersionMax | type == "string" and startswith("1."))
		and (.ociVersionMin | type == "string" and startswith("1."))' <<<"$output" >/dev/null ||
		fail "features output: $output"
	# what it advertises is what we test in hooks.bats
	local h
	for h in prestart createRuntime createContainer startContainer poststart poststop; do
		jq -e --arg h "$h" '(.hooks // [$h]) | index($h) != null' <<<"$output" >/dev/null ||
			fail "features lacks hook $h"
	done
}

@test "--pid-file on create and run --detach" {
	ctr_create "$CID" --pid-file "$TEST_TMP/create.pid"
	local pid
	pid=$(ctr_pid "$CID")
	assert_eq "$(cat "$TEST_TMP/create.pid")" "$pid" "create --pid-file"

	local id2
	id2=$(new_id c2)
	make_bundle "$TEST_TMP/b2" "$id2"
	start_sleeper "$id2" "$TEST_TMP/b2"
	rt delete --force "$id2"
	# run --detach --pid-file
	ctr_run_d -b "$TEST_TMP/b2" "$id2" --pid-file "$TEST_TMP/run.pid"
	pid=$(ctr_pid "$id2")
	assert_eq "$(cat "$TEST_TMP/run.pid")" "$pid" "run --pid-file"
}

@test "--preserve-fds passes extra fds and only those" {
	echo "payload-$RANDOM" >"$TEST_TMP/fd3"
	echo other >"$TEST_TMP/fd4"
	spec_sh 'cat <&3; [ -e /proc/self/fd/4 ] && echo fd4-leaked; exit 0'
	rt_fds() {
		timeout -k 5 "$RT_TIMEOUT" "$RUNTIME" --root "$ROOT" run --preserve-fds 1 \
			--bundle "$BUNDLE" "$CID" 3<"$TEST_TMP/fd3" 4<"$TEST_TMP/fd4" </dev/null
	}
	run --separate-stderr rt_fds
	assert_status 0
	assert_eq "$output" "$(cat "$TEST_TMP/fd3")" "what the container read from fd 3"
	assert_no_leaks
}

@test "--no-pivot: / is still the rootfs" {
	echo rootfs-marker >"$ROOTFS/marker"
	echo host-only >"$TEST_TMP/host-only"
	spec_sh "cat /marker; cat '$TEST_TMP/host-only' 2>/dev/null || echo unreachable"
	run --separate-stderr rt run --no-pivot --bundle "$BUNDLE" "$CID"
	assert_status 0
	assert_eq "$output" "rootfs-marker
unreachable"
	assert_no_leaks
}

@test "--no-new-keyring keeps the caller's session keyring" {
	# /proc/keys lists the keys the process may view; runtimes (runc, crun)
	# give a container a fresh session keyring named after its id unless
	# told not to.  The run without one goes first: a dead container's
	# keyring lingers in /proc/keys until the kernel collects it.
	spec_set '.linux.maskedPaths -= ["/proc/keys"]'
	spec_sh 'cat /proc/keys'
	run --separate-stderr rt run --no-new-keyring --bundle "$BUNDLE" "$CID"
	assert_status 0
	[ -n "$output" ] || fail "empty /proc/keys"
	assert_not_contains "$output" "$CID" "/proc/keys with --no-new-keyring"
	run --separate-stderr ctr_run
	assert_status 0
	awk -v id="$CID" '$8 == "keyring" && index($0, id) { f = 1 } END { exit !f }' <<<"$output" ||
		fail "no session keyring named after the container: $output"
	assert_no_leaks
}

@test "--log with --log-format json writes errors as JSON lines" {
	local log=$TEST_TMP/log.json bad=${IDP}nosuch
	run --separate-stderr rt --log "$log" --log-format json state "$bad"
	assert_failed
	[ -s "$log" ] || fail "log file is empty"
	local line
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		jq -e 'type == "object"' <<<"$line" >/dev/null || fail "log line is not a JSON object: $line"
	done <"$log"
	jq -se 'map(select(.level == "error" and (.msg | length > 0))) | length >= 1' "$log" >/dev/null ||
		fail "no error entry with msg in the log: $(cat "$log")"
	barge_only "runc's message does not name the container"
	jq -se --arg id "$bad" 'map(select(.level == "error" and (.msg | contains($id)))) | length >= 1' "$log" >/dev/null ||
		fail "error entry does not name $bad: $(cat "$log")"
}

@test "--systemd-cgroup maps slice:prefix:name to the unit's cgroup (or fails promptly)" {
	local slice=bst$$x.slice
	spec_set --arg cg "$slice:bst:$CID" '.linux.cgroupsPath = $cg'
	spec_sh 'cat /proc/self/cgroup'
	RT_TIMEOUT=30
	run --separate-stderr rt --systemd-cgroup run --bundle "$BUNDLE" "$CID"
	# the slice is ours to remove: a systemd-less host keeps empty slices
	local h
	for h in /sys/fs/cgroup/*/; do [ -d "$h$slice" ] && rmdir "$h$slice"; done
	[ "$status" -ne 124 ] && [ "$status" -ne 137 ] || fail "--systemd-cgroup hung"
	if is_barge; then
		assert_status 0
		assert_contains "$output" ":/$slice/bst-$CID.scope" "the container's cgroup"
		spec_set '.linux.cgroupsPath = "no-colons"'
		run --separate-stderr rt --systemd-cgroup run --bundle "$BUNDLE" "$CID"
		assert_failed
		assert_error_line "$stderr" "slice:prefix:name"
	elif [ "$status" -ne 0 ]; then
		assert_error_line "$stderr" systemd
	fi
	assert_no_leaks
}

@test "run --keep leaves the stopped container for state and delete" {
	spec_sh 'exit 7'
	run --separate-stderr rt run --keep --bundle "$BUNDLE" "$CID"
	assert_status 7
	assert_eq "$(ctr_status "$CID")" stopped "status after run --keep"
	rt delete "$CID"
	assert_no_leaks
}
