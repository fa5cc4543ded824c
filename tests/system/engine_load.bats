#!/usr/bin/env bats
# Load: 50 concurrent clients create, start and remove 1,000 containers in
# all; every call is answered, and nothing leaks (mounts, cgroups, shims,
# container records).

load engine_helpers

setup() {
	engine_setup
}

teardown() {
	engine_teardown
}

@test "load: 50 clients x 20 containers (create, start, wait, rm), all answered, nothing leaked" {
	CLIENTS=${LOAD_CLIENTS:-50} PER=${LOAD_PER:-20}
	mkdir "$E_TMP/res"
	local pids=()
	for c in $(seq 1 "$CLIENTS"); do
		(
			set +e # the containers exit 1 and 2 on purpose
			for i in $(seq 1 "$PER"); do
				id=$(timeout 120 "$BARGE" -H "$E_HOST" create busybox sh -c "exit $((i % 3))" 2>>"$E_TMP/res/$c.err") &&
					timeout 120 "$BARGE" -H "$E_HOST" start -a "$id" >/dev/null 2>>"$E_TMP/res/$c.err"
				rc=$?
				echo "$rc" >>"$E_TMP/res/$c.rc"
				[ -n "$id" ] && timeout 120 "$BARGE" -H "$E_HOST" rm -f "$id" >/dev/null 2>>"$E_TMP/res/$c.err"
				echo "$?" >>"$E_TMP/res/$c.rm"
			done
		) </dev/null 3>&- &
		pids+=($!)
	done
	wait "${pids[@]}" # not barged, which is a background job too
	# every start -a returned the container's own exit code (i % 3), every rm 0
	total=$(cat "$E_TMP"/res/*.rc | wc -l)
	[ "$total" -eq $((CLIENTS * PER)) ]
	bad=$(cat "$E_TMP"/res/*.rc | grep -cv '^[012]$' || true)
	errs=$(cat "$E_TMP"/res/*.err)
	[ "$bad" -eq 0 ] || {
		echo "exit codes:"; cat "$E_TMP"/res/*.rc | sort | uniq -c # 124: a client timed out
		echo "$errs" | sort | uniq -c | head
		tail -n 20 "$E_TMP/barged.log"
		false
	}
	[ "$(cat "$E_TMP"/res/*.rm | grep -cv '^0$' || true)" -eq 0 ]
	[ -z "$errs" ] || { echo "$errs" | head; false; }
	run b ps -a -q
	[ -z "$output" ]
	[ -z "$(ls "$E_ROOT/containers")" ]
	[ -z "$(ls "$E_RUN/containers" 2>/dev/null)" ]
	[ -z "$(engine_leaks)" ]
	# and barged still answers
	run b run --rm busybox echo alive
	[ "$output" = "alive" ]
}
