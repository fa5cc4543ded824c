#!/usr/bin/env bats
# OCI hooks: each kind runs at its point of the life cycle, in the right
# namespace, with the container's state on stdin; a failing create-time
# hook fails create and leaves nothing behind.

load helpers

setup() {
	common_setup
	HOOKS=$TEST_TMP/hooks
	mkdir -p "$HOOKS"
	chmod 777 "$HOOKS"
	# Runtime-namespace hooks: a host script.  Records its name in `order`,
	# its stdin (the state) in NAME.json and its environment in NAME.env.
	cat >"$HOOKS/hook.sh" <<'H'
#!/bin/sh
name=$1
cat >"$OUT/$name.json"
env | sort >"$OUT/$name.env"
echo "$name" >>"$OUT/order"
H
	chmod 755 "$HOOKS/hook.sh"
	# startContainer runs in the container: its path resolves in the rootfs
	# and it writes through a bind mount of the same dir.
	mkdir -p "$ROOTFS/hooks"
	cp "$HOOKS/hook.sh" "$ROOTFS/hooks/hook.sh"
	spec_set --arg h "$HOOKS" '.mounts += [{"destination": "/hooks-out", "type": "bind", "source": $h, "options": ["rbind", "rw"]}]'
}

# hook_json NAME [OUT]: a hook entry calling hook.sh with NAME.
hook_json() {
	local path=${3:-$HOOKS/hook.sh}
	jq -cn --arg p "$path" --arg n "$1" --arg o "${2:-$HOOKS}" '{"path": $p, "args": [$p, $n], "env": ["OUT=\($o)", "BST_HOOK=1"]}'
}

# all_hooks: every kind of hook, each calling hook.sh with its name.
all_hooks() {
	spec_set \
		--argjson prestart "$(hook_json prestart)" \
		--argjson createRuntime "$(hook_json createRuntime)" \
		--argjson createContainer "$(hook_json createContainer)" \
		--argjson startContainer "$(hook_json startContainer /hooks-out /hooks/hook.sh)" \
		--argjson poststart "$(hook_json poststart)" \
		--argjson poststop "$(hook_json poststop)" \
		'.hooks = {"prestart": [$prestart], "createRuntime": [$createRuntime],
			"createContainer": [$createContainer], "startContainer": [$startContainer],
			"poststart": [$poststart], "poststop": [$poststop]}'
	spec_sh 'echo process >> /hooks-out/order; while [ ! -e /tmp/go ]; do sleep 0.02; done'
}

@test "create runs prestart, createRuntime, createContainer and no other hook" {
	all_hooks
	ctr_create "$CID"
	assert_eq "$(sort "$HOOKS/order" | xargs)" "createContainer createRuntime prestart" "hooks run by create"
	assert_eq "$(tail -1 "$HOOKS/order")" createContainer "last hook of create"
}

@test "start runs startContainer before the process and poststart after it; delete runs poststop" {
	all_hooks
	ctr_create "$CID"
	rt start "$CID"
	# poststart has run by the time start returns
	grep -qx poststart "$HOOKS/order" || fail "poststart has not run when start returned: $(cat "$HOOKS/order")"
	wait_until 10 grep -qx process "$HOOKS/order"
	local order
	order=$(xargs <"$HOOKS/order")
	[[ $order == *createContainer*startContainer*process* ]] || fail "startContainer not between create and the process: $order"

	touch "$ROOTFS/tmp/go"
	wait_status "$CID" stopped
	! grep -qx poststop "$HOOKS/order" || fail "poststop ran before delete"
	rt delete "$CID"
	assert_eq "$(tail -1 "$HOOKS/order")" poststop "last hook"
	assert_eq "$(grep -c . "$HOOKS/order")" 7 "number of hook runs + process"
	assert_no_leaks
	[[ $order == *startContainer*poststart* ]] || fail "poststart before startContainer: $order"
}

@test "hooks get the container's state on stdin and only their own env" {
	all_hooks
	ctr_create "$CID"
	local pid
	pid=$(ctr_pid "$CID")
	rt start "$CID"
	wait_until 10 grep -qx process "$HOOKS/order"
	touch "$ROOTFS/tmp/go"
	wait_status "$CID" stopped
	rt delete "$CID"

	local h
	for h in prestart createRuntime createContainer startContainer poststart poststop; do
		[ -s "$HOOKS/$h.json" ] || fail "$h got no state on stdin"
		assert_eq "$(jq -r .id "$HOOKS/$h.json")" "$CID" "id in $h's state"
		assert_eq "$(jq -r .bundle "$HOOKS/$h.json")" "$BUNDLE" "bundle in $h's state"
		jq -e '.ociVersion | type == "string"' "$HOOKS/$h.json" >/dev/null || fail "no ociVersion in $h's state"
		# the hook's environment is the one given, not the runtime's
		grep -qx BST_HOOK=1 "$HOOKS/$h.env" || fail "$h lacks its env"
		! grep -q '^BATS_' "$HOOKS/$h.env" || fail "$h inherited the caller's environment"
	done
	# the pid is the host's view (runtime-spec: "as seen by the host") even
	# for the hooks that run inside the container
	local bad=""
	for h in prestart createRuntime createContainer startContainer poststart; do
		[ "$(jq -r .pid "$HOOKS/$h.json")" = "$pid" ] || bad+=" $h:$(jq -r .pid "$HOOKS/$h.json")"
	done
	[ -z "$bad" ] || fail "state pid is not the host pid $pid in:$bad"
	assert_no_leaks
}

@test "createContainer runs in the container's mount namespace, createRuntime in the host's" {
	cat >"$HOOKS/ns.sh" <<'H'
#!/bin/sh
readlink /proc/self/ns/mnt >"$OUT/$1.mnt"
H
	chmod 755 "$HOOKS/ns.sh"
	spec_set \
		--argjson cr "$(hook_json createRuntime "$HOOKS" "$HOOKS/ns.sh")" \
		--argjson cc "$(hook_json createContainer "$HOOKS" "$HOOKS/ns.sh")" \
		'.hooks = {"createRuntime": [$cr], "createContainer": [$cc]}'
	ctr_create "$CID"
	local pid
	pid=$(ctr_pid "$CID")
	assert_eq "$(cat "$HOOKS/createRuntime.mnt")" "$(readlink /proc/self/ns/mnt)" "createRuntime's mount namespace"
	assert_eq "$(cat "$HOOKS/createContainer.mnt")" "$(readlink "/proc/$pid/ns/mnt")" "createContainer's mount namespace"
}

@test "a failing prestart hook fails create and leaves nothing behind" {
	printf '#!/bin/sh\necho prestart-ran > "%s/ran"\nexit 3\n' "$HOOKS" >"$HOOKS/fail.sh"
	chmod 755 "$HOOKS/fail.sh"
	spec_set --arg p "$HOOKS/fail.sh" '.hooks = {"prestart": [{"path": $p}]}'
	spec_sh 'echo process-ran > /tmp/ran'
	run ctr_create "$CID"
	assert_failed
	[ -e "$HOOKS/ran" ] || fail "the hook did not run"
	[ ! -e "$ROOTFS/tmp/ran" ] || fail "the process ran"
	run rt state "$CID"
	assert_failed
	assert_no_leaks
}

@test "a failing createRuntime hook fails create and leaves nothing behind" {
	printf '#!/bin/sh\necho ran > "%s/ran"\nexit 1\n' "$HOOKS" >"$HOOKS/fail.sh"
	chmod 755 "$HOOKS/fail.sh"
	spec_set --arg p "$HOOKS/fail.sh" '.hooks = {"createRuntime": [{"path": $p}]}'
	run ctr_create "$CID"
	assert_failed
	[ -e "$HOOKS/ran" ] || fail "the hook did not run"
	run rt state "$CID"
	assert_failed
	assert_no_leaks
	# the id is free again
	spec_set 'del(.hooks)'
	ctr_create "$CID"
	assert_eq "$(ctr_status "$CID")" created
}

@test "run with a failing prestart hook exits non-zero and leaves nothing" {
	printf '#!/bin/sh\nexit 1\n' >"$HOOKS/fail.sh"
	chmod 755 "$HOOKS/fail.sh"
	spec_set --arg p "$HOOKS/fail.sh" '.hooks = {"prestart": [{"path": $p}]}'
	spec_sh 'echo process-ran'
	run --separate-stderr ctr_run
	assert_failed
	assert_eq "$output" "" stdout
	assert_no_leaks
	assert_error_line "$stderr" prestart
}

@test "a create killed with SIGKILL mid-way leaves a stopped container that delete removes" {
	# the createRuntime hook holds create still while we kill it
	printf '#!/bin/sh\necho $$ > "%s/hook.pid"\nexec sleep 30\n' "$HOOKS" >"$HOOKS/hold.sh"
	chmod 755 "$HOOKS/hold.sh"
	spec_set --arg p "$HOOKS/hold.sh" '.hooks = {"createRuntime": [{"path": $p}]}'
	spec_sh 'echo process-ran > /tmp/ran'
	"$RUNTIME" --root "$ROOT" create --bundle "$BUNDLE" "$CID" </dev/null >/dev/null 2>&1 3>&- &
	local creator=$!
	wait_file "$HOOKS/hook.pid"
	assert_eq "$(ctr_status "$CID")" creating "status while create runs"
	kill -9 "$creator"
	wait "$creator" || true
	kill "$(cat "$HOOKS/hook.pid")" 2>/dev/null || true
	# the init dies with its creator; what remains is a stopped container
	wait_status "$CID" stopped
	run rt start "$CID"
	assert_failed
	rt delete "$CID"
	[ ! -e "$ROOTFS/tmp/ran" ] || fail "the process ran"
	assert_no_leaks
}
