#!/usr/bin/env bats
# Namespaces: each type the config asks for is new (or joined by path), and
# what the container sees through it is its own.

load helpers

# ns_of PID TYPE: the namespace identity (e.g. "net:[4026531992]").
ns_of() {
	readlink "/proc/$1/ns/$2"
}

@test "every configured namespace is new" {
	spec_set '.linux.namespaces |= (map(select(.type != "cgroup")) + [{"type": "cgroup"}])'
	start_sleeper
	local pid ns
	pid=$(ctr_pid "$CID")
	for ns in pid mnt uts ipc net cgroup; do
		[ "$(ns_of "$pid" $ns)" != "$(ns_of $$ $ns)" ] || fail "$ns namespace is the host's"
	done
	# a namespace the config does not list is shared with the host
	assert_eq "$(ns_of "$pid" user)" "$(ns_of $$ user)" "user namespace"
}

@test "pid namespace: the container's process is pid 1 and sees only its own" {
	run --separate-stderr run_sh 'sleep 100 & echo $$; ls -d /proc/[0-9]* | wc -l; read c </proc/1/comm; echo $c'
	assert_status 0
	assert_eq "${lines[0]}" 1 "pid of the container's sh"
	# sh, the background sleep, ls and wc (plus a subshell)
	[ "${lines[1]}" -le 5 ] || fail "container sees ${lines[1]} processes"
	assert_eq "${lines[2]}" sh "comm of pid 1"
	assert_no_leaks
}

@test "mount namespace: a mount in the container is invisible on the host" {
	spec_set '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
	mkdir -p "$ROOTFS/mnt/inner"
	spec_sh 'mount -t tmpfs inner /mnt/inner && echo hidden > /mnt/inner/file && grep -c " /mnt/inner " /proc/self/mountinfo; echo ready > /tmp/ready; trap "exit 0" TERM; while :; do sleep 0.05; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/ready"
	assert_eq "$(cat "$TEST_TMP/$CID.out")" 1 "mount seen inside"
	[ ! -e "$ROOTFS/mnt/inner/file" ] || fail "the container's tmpfs is visible on the host"
	! grep -qF "$ROOTFS/mnt/inner" /proc/self/mountinfo || fail "the container's mount is in the host's mount table"
	# and the host's mounts are not in the container's table
	run rt exec "$CID" cat /proc/self/mountinfo
	assert_status 0
	assert_not_contains "$output" "$TEST_TMP" "container's mountinfo"
}

@test "uts namespace: hostname from the config" {
	local host_hn
	host_hn=$(cat /proc/sys/kernel/hostname)
	spec_set '.hostname = "bst-host"'
	run --separate-stderr run_sh 'hostname; uname -n'
	local now_hn
	now_hn=$(cat /proc/sys/kernel/hostname)
	[ "$now_hn" = "$host_hn" ] || echo "$host_hn" >/proc/sys/kernel/hostname
	assert_status 0
	assert_eq "$output" "bst-host
bst-host"
	assert_eq "$now_hn" "$host_hn" "host's hostname"
}

@test "uts namespace: domainname from the config" {
	local host_dn
	host_dn=$(cat /proc/sys/kernel/domainname)
	spec_set '.hostname = "bst-host" | .domainname = "bst.example"'
	run --separate-stderr run_sh 'cat /proc/sys/kernel/domainname'
	local now_dn
	now_dn=$(cat /proc/sys/kernel/domainname)
	[ "$now_dn" = "$host_dn" ] || echo "$host_dn" >/proc/sys/kernel/domainname
	assert_status 0
	assert_eq "$now_dn" "$host_dn" "host's domainname"
	assert_eq "$output" bst.example "domainname inside"
}

@test "ipc namespace: SysV and POSIX IPC are private" {
	start_sleeper
	local id2 pid1 pid2
	id2=$(new_id c2)
	make_bundle "$TEST_TMP/b2" "$id2"
	start_sleeper "$id2" "$TEST_TMP/b2"
	pid1=$(ctr_pid "$CID")
	pid2=$(ctr_pid "$id2")
	[ "$(ns_of "$pid1" ipc)" != "$(ns_of $$ ipc)" ] || fail "ipc namespace is the host's"
	[ "$(ns_of "$pid1" ipc)" != "$(ns_of "$pid2" ipc)" ] || fail "two containers share an ipc namespace"
	# a POSIX message queue made in one is absent in the other
	rt exec "$CID" sh -c ': > /dev/mqueue/bst-q' || skip "cannot create a message queue in /dev/mqueue"
	run rt exec "$CID" ls /dev/mqueue
	assert_eq "$output" bst-q "queues in the first container"
	run rt exec "$id2" ls /dev/mqueue
	assert_eq "$output" "" "queues in the second container"
}

@test "network namespace: only lo" {
	run --separate-stderr run_sh 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; ls /sys/class/net'
	assert_status 0
	assert_eq "$output" "lo
lo"
	assert_no_leaks
}

@test "cgroup namespace: the container sees its cgroup as /" {
	spec_set '.linux.namespaces |= (map(select(.type != "cgroup")) + [{"type": "cgroup"}])'
	run --separate-stderr run_sh 'cat /proc/self/cgroup'
	assert_status 0
	[ -n "$output" ] || fail "empty /proc/self/cgroup"
	local line
	for line in "${lines[@]}"; do
		[ "${line##*:}" = / ] || fail "cgroup line not at the namespace root: $line"
	done
	# without the namespace the real path (with the container's id) shows
	spec_set '.linux.namespaces |= map(select(.type != "cgroup"))'
	run --separate-stderr run_sh 'cat /proc/self/cgroup'
	assert_status 0
	assert_contains "$output" "$CID" "/proc/self/cgroup without a cgroup namespace"
	assert_no_leaks
}

@test "user namespace: root inside is the mapped uid outside" {
	[ -e /proc/self/ns/user ] || skip "no user namespaces"
	spec_set '.linux.namespaces += [{"type": "user"}]
		| .linux.uidMappings = [{"containerID": 0, "hostID": 200000, "size": 65536}]
		| .linux.gidMappings = [{"containerID": 0, "hostID": 300000, "size": 65536}]'
	spec_sh 'id -u; id -g; cat /proc/self/uid_map; echo ready > /tmp/ready; trap "exit 0" TERM; while :; do sleep 0.05; done'
	ctr_run_d "$CID"
	wait_file "$ROOTFS/tmp/ready"
	local pid
	pid=$(ctr_pid "$CID")
	assert_eq "$(sed -n 1,2p "$TEST_TMP/$CID.out")" "0
0" "id -u, id -g inside"
	assert_eq "$(sed -n 3p "$TEST_TMP/$CID.out" | tr -s ' ' | sed 's/^ //')" "0 200000 65536" "uid_map inside"
	assert_eq "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" "200000 200000 200000 200000" "Uid on the host"
	assert_eq "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" "300000 300000 300000 300000" "Gid on the host"
	[ "$(ns_of "$pid" user)" != "$(ns_of $$ user)" ] || fail "user namespace is the host's"
	# a file the container creates belongs to the mapped ids on the host
	rt exec "$CID" touch /tmp/owned
	assert_eq "$(stat -c '%u %g' "$ROOTFS/tmp/owned")" "200000 300000" "owner of a file made inside"
}

@test "joining another container's network, uts and ipc namespaces by path" {
	spec_set '.hostname = "alpha"'
	start_sleeper
	local pida
	pida=$(ctr_pid "$CID")
	local id2
	id2=$(new_id c2)
	make_bundle "$TEST_TMP/b2" "$id2"
	spec_set -b "$TEST_TMP/b2" --arg p "/proc/$pida/ns" '
		del(.hostname)
		| .linux.namespaces |= map(
			if .type == "network" then .path = "\($p)/net"
			elif .type == "uts" then .path = "\($p)/uts"
			elif .type == "ipc" then .path = "\($p)/ipc"
			else . end)'
	spec_sh -b "$TEST_TMP/b2" 'hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt'
	run --separate-stderr ctr_run -b "$TEST_TMP/b2" "$id2"
	assert_status 0
	assert_eq "${lines[0]}" alpha "hostname in the joining container"
	assert_eq "${lines[1]}" "$(ns_of "$pida" net)" "net namespace"
	assert_eq "${lines[2]}" "$(ns_of "$pida" uts)" "uts namespace"
	assert_eq "${lines[3]}" "$(ns_of "$pida" ipc)" "ipc namespace"
	[ "${lines[4]}" != "$(ns_of "$pida" pid)" ] || fail "pid namespace was joined though not asked"
	[ "${lines[5]}" != "$(ns_of "$pida" mnt)" ] || fail "mount namespace was joined though not asked"
	# the first container is unaffected
	assert_eq "$(rt exec "$CID" hostname)" alpha "hostname of the first container"
	assert_no_leaks "$id2"
}

@test "joining a namespace by a path that is not a namespace fails" {
	echo nope >"$TEST_TMP/not-a-ns"
	spec_set --arg p "$TEST_TMP/not-a-ns" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
	run --separate-stderr ctr_run
	assert_failed
	assert_no_leaks
	assert_error_line "$stderr" "$TEST_TMP/not-a-ns"
}
