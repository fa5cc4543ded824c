#!/usr/bin/env bats
# The container process as config.json describes it: user and groups, cwd,
# env, rlimits, capabilities, no_new_privs, oom_score_adj, seccomp, sysctl,
# umask.

load helpers

# status_field TEXT NAME: the value of "NAME:" in a /proc/PID/status dump.
status_field() {
	awk -v n="$2:" '$1 == n { $1 = ""; sub(/^[ \t]+/, ""); print; exit }' <<<"$1"
}

@test "user: uid, gid and additionalGids" {
	spec_set '.process.user = {"uid": 1000, "gid": 1001, "additionalGids": [5, 2000]}'
	spec_sh 'id -u; id -g; grep "^Groups:" /proc/self/status; grep "^Uid:" /proc/self/status; grep "^Gid:" /proc/self/status'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "${lines[0]}" 1000 "id -u"
	assert_eq "${lines[1]}" 1001 "id -g"
	assert_eq "$(status_field "$output" Groups | tr ' ' '\n' | sort -n | xargs)" "5 2000" "supplementary groups"
	assert_eq "$(status_field "$output" Uid | xargs)" "1000 1000 1000 1000" "real, effective, saved, fs uid"
	assert_eq "$(status_field "$output" Gid | xargs)" "1001 1001 1001 1001" "real, effective, saved, fs gid"
	assert_no_leaks
}

@test "user: the caller's supplementary groups are not inherited" {
	command -v setpriv >/dev/null || skip "setpriv not installed"
	spec_sh 'grep "^Groups:" /proc/self/status'
	run --separate-stderr setpriv --groups 4242 -- \
		timeout -k 5 "$RT_TIMEOUT" "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CID" </dev/null 3>&-
	assert_status 0
	assert_eq "$(status_field "$output" Groups | xargs)" "" "supplementary groups of a user without additionalGids"
}

@test "cwd" {
	mkdir -p "$ROOTFS/srv/work"
	spec_set '.process.cwd = "/srv/work"'
	spec_sh 'pwd; touch here'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$output" /srv/work
	[ -e "$ROOTFS/srv/work/here" ] || fail "relative path did not resolve against cwd"
}

@test "env is exactly the config's (HOME may be added)" {
	spec_set '.process.env = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b"]'
	spec_args cat /proc/self/environ
	ctr_run >"$TEST_TMP/environ" 2>"$TEST_TMP/environ.err" || fail "run failed: $(cat "$TEST_TMP/environ.err")"
	local got
	got=$(tr '\0' '\n' <"$TEST_TMP/environ" | grep -v '^HOME=' | sort)
	assert_eq "$got" "$(printf '%s\n' "EMPTY=" "FOO=bar baz" "MULTI=a=b" "PATH=/bin:/usr/bin" | sort)" "environment"
}

@test "rlimits: set as configured" {
	spec_set '.process.rlimits = [
		{"type": "RLIMIT_NOFILE", "soft": 1234, "hard": 2345},
		{"type": "RLIMIT_NPROC", "soft": 555, "hard": 666},
		{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]'
	spec_sh 'ulimit -n; ulimit -Hn; grep -E "^Max (open files|processes|core file size)" /proc/self/limits'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "${lines[0]}" 1234 "ulimit -n"
	assert_eq "${lines[1]}" 2345 "ulimit -Hn"
	assert_eq "$(awk '/^Max open files/ { print $4, $5 }' <<<"$output")" "1234 2345" "Max open files"
	assert_eq "$(awk '/^Max processes/ { print $3, $4 }' <<<"$output")" "555 666" "Max processes"
	assert_eq "$(awk '/^Max core file size/ { print $5, $6 }' <<<"$output")" "0 0" "Max core file size"
}

@test "rlimits: a limit above the caller's hard limit fails clearly, leaves nothing" {
	command -v prlimit >/dev/null && command -v setpriv >/dev/null || skip "needs prlimit and setpriv"
	# the caller: hard limit 1024 open files, without CAP_SYS_RESOURCE
	limited_rt() {
		prlimit --nofile=1024:1024 setpriv --bounding-set -sys_resource --inh-caps=-sys_resource -- \
			timeout -k 5 "$RT_TIMEOUT" "$RUNTIME" --root "$ROOT" run --bundle "$BUNDLE" "$CID" </dev/null 3>&-
	}
	spec_sh 'ulimit -n; ulimit -Hn'
	# within the caller's limit: fine
	spec_set '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}]'
	run --separate-stderr limited_rt
	assert_status 0
	assert_eq "$output" "512
1000" "limits within the caller's"
	# above it
	spec_set '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 2048}]'
	run --separate-stderr limited_rt
	assert_failed
	assert_eq "$output" "" "stdout of the refused container"
	run rt state "$CID"
	assert_failed
	assert_no_leaks
	assert_error_line "$stderr" RLIMIT_NOFILE
}

@test "rlimits: a limit above the kernel's ceiling fails clearly, leaves nothing" {
	local over=$(($(cat /proc/sys/fs/nr_open) + 1))
	spec_set --argjson n "$over" '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": $n, "hard": $n}]'
	spec_sh 'echo ran'
	run --separate-stderr ctr_run
	assert_failed
	assert_not_contains "$output" ran "stdout"
	assert_no_leaks
	run rt state "$CID"
	assert_failed
	assert_error_line "$stderr" RLIMIT_NOFILE
}

@test "rlimits: soft above hard is refused" {
	spec_set '.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]'
	spec_sh 'echo ran'
	run --separate-stderr ctr_run
	assert_failed
	assert_not_contains "$output" ran "stdout"
	assert_no_leaks
	assert_error_line "$stderr" RLIMIT_NOFILE
}

@test "capabilities: root with all sets equal" {
	local caps='["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_AUDIT_WRITE"]'
	spec_set --argjson c "$caps" '.process.capabilities = {"bounding": $c, "effective": $c, "permitted": $c, "inheritable": $c, "ambient": []}'
	spec_sh 'grep ^Cap /proc/self/status; touch /tmp/f; chown 1:1 /tmp/f && echo chown-ok'
	run --separate-stderr ctr_run
	assert_status 0
	local m
	m=$(cap_mask $(jq -r '.[]' <<<"$caps"))
	assert_eq "$(status_field "$output" CapBnd)" "$m" CapBnd
	assert_eq "$(status_field "$output" CapPrm)" "$m" CapPrm
	assert_eq "$(status_field "$output" CapEff)" "$m" CapEff
	assert_eq "$(status_field "$output" CapInh)" "$m" CapInh
	assert_eq "$(status_field "$output" CapAmb)" 0000000000000000 CapAmb
	assert_eq "${lines[-1]}" chown-ok "chown with CAP_CHOWN"
}

@test "capabilities: root with a narrow set and its own inheritable set" {
	local caps='["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"]'
	spec_set --argjson c "$caps" '.process.capabilities = {"bounding": $c, "effective": $c, "permitted": $c, "inheritable": ["CAP_KILL"]}'
	spec_sh 'grep ^Cap /proc/self/status; touch /tmp/f; chown 1:1 /tmp/f 2>/dev/null && echo chown-ok || echo chown-refused'
	run --separate-stderr ctr_run
	assert_status 0
	local m
	m=$(cap_mask CAP_KILL CAP_NET_BIND_SERVICE CAP_SETUID)
	assert_eq "$(status_field "$output" CapBnd)" "$m" CapBnd
	assert_eq "$(status_field "$output" CapPrm)" "$m" CapPrm
	assert_eq "$(status_field "$output" CapEff)" "$m" CapEff
	assert_eq "$(status_field "$output" CapInh)" "$(cap_mask CAP_KILL)" CapInh
	assert_eq "$(status_field "$output" CapAmb)" 0000000000000000 CapAmb
	assert_eq "${lines[-1]}" chown-refused "chown without CAP_CHOWN"
}

@test "capabilities: a non-root user keeps its ambient set across exec" {
	local bnd='["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETUID"]'
	local amb='["CAP_KILL", "CAP_NET_BIND_SERVICE"]'
	spec_set --argjson b "$bnd" --argjson a "$amb" '
		.process.user = {"uid": 1000, "gid": 1000}
		| .process.capabilities = {"bounding": $b, "effective": $a, "permitted": $a, "inheritable": $a, "ambient": $a}'
	spec_sh 'grep ^Cap /proc/self/status'
	run --separate-stderr ctr_run
	assert_status 0
	local a
	a=$(cap_mask CAP_KILL CAP_NET_BIND_SERVICE)
	assert_eq "$(status_field "$output" CapBnd)" "$(cap_mask CAP_KILL CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SETUID)" CapBnd
	assert_eq "$(status_field "$output" CapAmb)" "$a" CapAmb
	assert_eq "$(status_field "$output" CapInh)" "$a" CapInh
	assert_eq "$(status_field "$output" CapPrm)" "$a" CapPrm
	assert_eq "$(status_field "$output" CapEff)" "$a" CapEff
}

@test "noNewPrivileges sets NoNewPrivs" {
	spec_set '.process.noNewPrivileges = true'
	spec_sh 'grep ^NoNewPrivs: /proc/self/status'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$(status_field "$output" NoNewPrivs)" 1 "NoNewPrivs with noNewPrivileges true"
	spec_set '.process.noNewPrivileges = false'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$(status_field "$output" NoNewPrivs)" 0 "NoNewPrivs with noNewPrivileges false"
}

@test "oomScoreAdj" {
	spec_set '.process.oomScoreAdj = 123'
	spec_sh 'cat /proc/self/oom_score_adj; echo ready > /tmp/ready; trap "exit 0" TERM; while :; do sleep 0.05; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/ready"
	assert_eq "$(cat "$TEST_TMP/$CID.out")" 123 "oom_score_adj inside"
	local pid
	pid=$(ctr_pid "$CID")
	assert_eq "$(cat "/proc/$pid/oom_score_adj")" 123 "oom_score_adj on the host"
}

@test "seccomp: a profile that denies mkdir with EPERM" {
	spec_set '.linux.seccomp = {
		"defaultAction": "SCMP_ACT_ALLOW",
		"syscalls": [
			{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
			{"names": ["symlink", "symlinkat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}'
	spec_sh 'grep ^Seccomp: /proc/self/status
		mkdir /tmp/d 2>&1 || echo mkdir-failed
		ln -s x /tmp/l 2>&1 || echo symlink-failed
		touch /tmp/f && echo touch-ok
		trap "exit 0" TERM; echo ready > /tmp/ready; while :; do sleep 0.05; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/ready"
	local out
	out=$(cat "$TEST_TMP/$CID.out")
	assert_eq "$(status_field "$out" Seccomp)" 2 "Seccomp mode"
	assert_contains "$out" "Operation not permitted" "mkdir's error"
	assert_contains "$out" mkdir-failed
	assert_contains "$out" "Permission denied" "symlink's error (errnoRet 13)"
	assert_contains "$out" symlink-failed
	assert_contains "$out" touch-ok
	[ ! -e "$ROOTFS/tmp/d" ] || fail "mkdir went through"
	# an exec'd process is filtered too
	run rt exec "$CID" mkdir /tmp/d2
	assert_failed
	[ ! -e "$ROOTFS/tmp/d2" ] || fail "mkdir from exec went through"
}

@test "sysctl: namespaced values are set inside only" {
	local fwd shm
	fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	shm=$(cat /proc/sys/kernel/shmmax)
	local want_fwd=$((1 - fwd))
	spec_set --arg f "$want_fwd" '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.shmmax": "123456789"}'
	spec_sh 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax'
	run --separate-stderr ctr_run
	local now_fwd now_shm
	now_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
	now_shm=$(cat /proc/sys/kernel/shmmax)
	# a broken runtime must not leave the host changed
	[ "$now_fwd" = "$fwd" ] || echo "$fwd" >/proc/sys/net/ipv4/ip_forward
	[ "$now_shm" = "$shm" ] || echo "$shm" >/proc/sys/kernel/shmmax
	assert_status 0
	assert_eq "$output" "$want_fwd
123456789" "sysctls inside"
	assert_eq "$now_fwd" "$fwd" "host's ip_forward"
	assert_eq "$now_shm" "$shm" "host's shmmax"
}

@test "sysctl: a value outside the container's namespaces is refused" {
	# a harmless global knob; put back below if a runtime writes the host's
	local f=/proc/sys/kernel/printk_ratelimit_burst before now
	[ -w $f ] || skip "$f is not writable"
	before=$(cat $f)
	spec_set --arg v "$((before + 7))" '.linux.sysctl = {"kernel.printk_ratelimit_burst": $v}'
	spec_sh 'echo ran'
	run --separate-stderr ctr_run
	now=$(cat $f)
	[ "$now" = "$before" ] || echo "$before" >$f
	assert_eq "$now" "$before" "host's kernel.printk_ratelimit_burst after the run"
	assert_failed
	assert_eq "$output" "" "stdout of the refused container"
	assert_no_leaks
	assert_error_line "$stderr" kernel.printk_ratelimit_burst
}

@test "umask" {
	spec_set '.process.user.umask = 23'
	spec_sh 'umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$output" "0027
640
750"
}
