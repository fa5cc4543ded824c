#!/usr/bin/env bats
# What a container must not reach: the runtime's binary (CVE-2019-5736),
# the caller's open files, host paths through cwd or mount destinations
# that walk out of the rootfs with .. or symlinks.

load helpers

# use_runtime_copy: the rest of the test runs a private copy of the runtime,
# so a broken protection damages only the copy.  Sets RT_SUM to its digest.
use_runtime_copy() {
	mkdir -p "$TEST_TMP/bin"
	cp "$RUNTIME" "$TEST_TMP/bin/${RUNTIME##*/}"
	RUNTIME=$TEST_TMP/bin/${RUNTIME##*/}
	RT_SUM=$(sha256sum <"$RUNTIME")
}

# exe_attack [CAPS_JSON]: container $CID is created, not started, so its pid
# 1 is still the runtime's own init; a second container in its pid namespace
# (with CAPS_JSON added to its capabilities) tries to write to that binary
# through /proc/1/exe while it runs, and through an fd to it after the
# runtime has exec'd the container's process and exited.
exe_attack() {
	use_runtime_copy
	spec_args sleep 1000
	ctr_create "$CID"
	local pida
	pida=$(ctr_pid "$CID")

	local id2=$(new_id attacker)
	make_bundle "$TEST_TMP/b2" "$id2"
	spec_set -b "$TEST_TMP/b2" --arg ns "/proc/$pida/ns/pid" --argjson c "${1:-[]}" '
		.linux.namespaces |= map(if .type == "pid" then .path = $ns else . end)
		| .process.capabilities |= with_entries(.value += $c)'
	spec_sh -b "$TEST_TMP/b2" '
		readlink /proc/1/exe > /tmp/exe-link 2>&1
		if (exec 9</proc/1/exe) 2>/dev/null; then exec 9</proc/1/exe; echo opened; else echo open-denied; fi
		(echo PWNED >> /proc/1/exe) 2>/dev/null && echo direct-wrote || echo direct-refused
		echo ready > /tmp/ready
		while [ ! -e /tmp/go ]; do sleep 0.02; done
		if [ -e /proc/self/fd/9 ]; then
			(echo PWNED >> /proc/self/fd/9) 2>/dev/null && echo reopen-wrote || echo reopen-refused
			(echo PWNED > /proc/self/fd/9) 2>/dev/null && echo truncate-wrote || echo truncate-refused
		fi
		echo done > /tmp/done
		exec sleep 1000'
	ctr_run_d -b "$TEST_TMP/b2" "$id2"
	wait_file "$TEST_TMP/b2/rootfs/tmp/ready"
	# pid 1 of that namespace is still the runtime's init: now let it exec
	rt start "$CID"
	wait_until 10 grep -q sleep "/proc/$pida/cmdline"
	touch "$TEST_TMP/b2/rootfs/tmp/go"
	wait_file "$TEST_TMP/b2/rootfs/tmp/done"
	ATTACK=$(cat "$TEST_TMP/$id2.out")
	echo "# attacker saw /proc/1/exe -> $(cat "$TEST_TMP/b2/rootfs/tmp/exe-link"); $(echo $ATTACK)" >&3
	assert_eq "$(sha256sum <"$RUNTIME")" "$RT_SUM" "digest of the runtime binary"
	assert_not_contains "$ATTACK" wrote "attacker's report"
	assert_contains "$ATTACK" refused "attacker's report"
}

@test "/proc/<init>/exe: a container cannot overwrite the runtime binary" {
	exe_attack
}

@test "/proc/<init>/exe: not even with CAP_SYS_PTRACE" {
	exe_attack '["CAP_SYS_PTRACE"]'
}

@test "/proc/self/exe: a container process exec'ing it cannot write the binary" {
	use_runtime_copy
	# the runtime's init resolves #! interpreters in the container: this
	# script runs whatever /proc/self/exe is at the moment of the exec
	printf '#!/proc/self/exe\n' >"$ROOTFS/bin/evil"
	chmod 755 "$ROOTFS/bin/evil"
	spec_sh 'echo ready > /tmp/ready; trap "exit 0" TERM; while :; do sleep 0.05; done'
	spec_set '.process.capabilities |= with_entries(.value += ["CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"])'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/ready"
	# an attacker inside keeps opening every non-busybox exe it can see and
	# tries to write through it once its owner is gone
	rt exec --detach "$CID" sh -c '
		n=0
		while [ ! -e /tmp/stop ]; do
			for e in /proc/[0-9]*/exe; do
				t=$(readlink $e 2>/dev/null) || continue
				case $t in */busybox|"") continue ;; esac
				echo "$t" >> /tmp/seen
				(exec 8<$e && sleep 0.2 && echo PWNED >> /proc/self/fd/8 && echo wrote >> /tmp/result) 2>/dev/null &
			done
		done' >/dev/null 2>&1
	local i
	for i in $(seq 20); do
		rt exec "$CID" /bin/evil >/dev/null 2>&1 || true
	done
	touch "$ROOTFS/tmp/stop"
	sleep 0.5
	echo "# exes the attacker saw: $(sort -u "$ROOTFS/tmp/seen" 2>/dev/null | tr '\n' ' ')" >&3
	assert_eq "$(sha256sum <"$RUNTIME")" "$RT_SUM" "digest of the runtime binary"
	[ ! -e "$ROOTFS/tmp/result" ] || fail "a write through /proc/PID/exe succeeded"
}

# fd_list: the fd numbers in an `ls -l /proc/self/fd` listing, without the
# one ls itself opened to read the directory.
fd_list() {
	awk '$(NF-1) == "->" && $NF !~ /^\/proc\/[0-9]+\/fd$/ { print $(NF-2) }' | sort -n | xargs
}

@test "no host fd leaks into the container (run, run -d, exec, --preserve-fds)" {
	# the caller has extra files open (fds 5, 7, 9), none close-on-exec
	raw_rt() {
		timeout -k 5 "$RT_TIMEOUT" "$RUNTIME" --root "$ROOT" "$@" </dev/null 5<"$BUNDLE/config.json" 7>"$TEST_TMP/seven" 9<"$BUNDLE/config.json" 3>&-
	}
	spec_args ls -l /proc/self/fd
	run --separate-stderr raw_rt run --bundle "$BUNDLE" "$CID"
	assert_status 0
	assert_eq "$(fd_list <<<"$output")" "0 1 2" "fds of the container's process (run)"

	raw_rt run --detach --bundle "$BUNDLE" "$CID" >"$TEST_TMP/out" 2>&1
	wait_status "$CID" stopped
	assert_eq "$(fd_list <"$TEST_TMP/out")" "0 1 2" "fds of the container's process (run --detach)"
	rt delete "$CID"

	start_sleeper
	run --separate-stderr raw_rt exec "$CID" ls -l /proc/self/fd
	assert_status 0
	assert_eq "$(fd_list <<<"$output")" "0 1 2" "fds of an exec'd process"
	rt delete --force "$CID"

	# --preserve-fds 2 passes 3 and 4, and no more
	spec_args ls -l /proc/self/fd
	pf_rt() {
		timeout -k 5 "$RT_TIMEOUT" "$RUNTIME" --root "$ROOT" run --preserve-fds 2 --bundle "$BUNDLE" "$CID" \
			</dev/null 3<"$BUNDLE/config.json" 4<"$BUNDLE/config.json" 5<"$BUNDLE/config.json" 6>"$TEST_TMP/six"
	}
	run --separate-stderr pf_rt
	assert_status 0
	assert_eq "$(fd_list <<<"$output")" "0 1 2 3 4" "fds with --preserve-fds 2"
	assert_no_leaks
}

@test "process.cwd cannot leave the rootfs through .. or symlinks" {
	echo rootfs-etc >"$ROOTFS/etc/bst-marker"
	mkdir "$TEST_TMP/hostdir"
	echo host-secret >"$TEST_TMP/hostdir/secret"
	ln -s /etc "$ROOTFS/abs-link"
	ln -s ../../../../../../../../../../etc "$ROOTFS/rel-link"
	ln -s "$TEST_TMP/hostdir" "$ROOTFS/host-link"
	local cwd
	for cwd in /abs-link /rel-link "/../../../../../../../../etc" "/tmp/../../../etc"; do
		spec_set --arg c "$cwd" '.process.cwd = $c'
		spec_sh 'cat bst-marker; pwd -P'
		run --separate-stderr ctr_run
		assert_status 0
		assert_eq "$output" "rootfs-etc
/etc" "cwd $cwd"
	done
	# a symlink to a host path: the runtime may refuse it or resolve it in
	# the rootfs, never reach the host directory
	spec_set '.process.cwd = "/host-link"'
	spec_sh 'ls -A; echo x > written-here'
	run --separate-stderr ctr_run
	assert_not_contains "$output" secret "listing of the cwd"
	assert_eq "$(ls -A "$TEST_TMP/hostdir")" secret "host directory contents"
	assert_no_leaks
}

@test "mount destinations cannot leave the rootfs through .. or symlinks" {
	mkdir "$TEST_TMP/hostdir" "$TEST_TMP/hostdir2"
	echo host-secret >"$TEST_TMP/hostdir/secret"
	echo host-secret >"$TEST_TMP/hostdir2/secret"
	ln -s "$TEST_TMP/hostdir" "$ROOTFS/mnt-link"
	spec_set --arg d2 "/../../../../../../../..$TEST_TMP/hostdir2" '.mounts += [
		{"destination": "/mnt-link", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
		{"destination": $d2, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}]'
	spec_sh 'echo ran'
	run --separate-stderr ctr_run
	# whether the runtime refuses these or mounts inside the rootfs, the
	# host's directories keep their contents and gain no mount
	! grep -qF "$TEST_TMP/hostdir" /proc/self/mountinfo || fail "a mount landed on a host directory"
	assert_eq "$(cat "$TEST_TMP/hostdir/secret")" host-secret "host dir through a symlink"
	assert_eq "$(cat "$TEST_TMP/hostdir2/secret")" host-secret "host dir through .."
	assert_no_leaks
}
