#!/usr/bin/env bats
# The container's filesystem: pivot_root into the rootfs, the mounts of the
# config (bind, tmpfs, proc, sysfs, devpts, mqueue) with their options and
# propagation, /dev, masked and read-only paths, a read-only root.

load helpers

# mnt_line PATH: the container's mountinfo line for mount point PATH, from
# a mountinfo dump in $output (last one wins, as the kernel resolves).
mnt_line() {
	awk -v p="$1" '$5 == p { l = $0 } END { print l }' <<<"$output"
}

# mnt_fstype LINE
mnt_fstype() {
	awk '{ for (i = 7; $i != "-"; i++) ; print $(i+1) }' <<<"$1"
}

@test "pivot_root: / is the rootfs, the host's root is gone" {
	echo rootfs-marker >"$ROOTFS/marker"
	spec_sh "cat /marker; ls -A / | sort | tr '\n' ' '; echo; ls -id / /.. | awk '{ print \$1 }' | uniq | wc -l; cat /proc/self/mountinfo"
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "${lines[0]}" rootfs-marker "/marker"
	assert_eq "${lines[1]}" "$(ls -A "$ROOTFS" | sort | tr '\n' ' ')" "ls / inside vs the rootfs on the host"
	assert_eq "${lines[2]}" 1 "distinct inodes of / and /.."
	local mi
	mi=$(printf '%s\n' "${lines[@]:3}")
	assert_not_contains "$mi" "$TEST_TMP" "container's mountinfo"
	[ "$(awk '$5 == "/"' <<<"$mi" | wc -l)" -ge 1 ] || fail "no / in the container's mountinfo"
	# nothing is mounted outside the usual places (e.g. an old root left behind)
	local extra
	extra=$(awk '{ print $5 }' <<<"$mi" | grep -vE '^/($|proc|sys|dev)' || true)
	assert_eq "$extra" "" "unexpected mount points"
	assert_no_leaks
}

@test "bind mounts: rw, ro, a single file; missing destinations are created" {
	mkdir "$TEST_TMP/data"
	echo host-data >"$TEST_TMP/data/file"
	echo single >"$TEST_TMP/one.txt"
	spec_set --arg d "$TEST_TMP/data" --arg f "$TEST_TMP/one.txt" '.mounts += [
		{"destination": "/mnt/rw", "type": "bind", "source": $d, "options": ["rbind", "rw"]},
		{"destination": "/mnt/ro", "type": "bind", "source": $d, "options": ["rbind", "ro"]},
		{"destination": "/etc/one.txt", "type": "bind", "source": $f, "options": ["bind", "ro"]}]'
	spec_sh 'cat /mnt/ro/file; cat /etc/one.txt
		echo new > /mnt/rw/new && echo rw-ok
		echo x 2>/dev/null > /mnt/ro/x || echo ro-refused
		echo x 2>/dev/null > /etc/one.txt || echo file-ro-refused'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$output" "host-data
single
rw-ok
ro-refused
file-ro-refused"
	assert_eq "$(cat "$TEST_TMP/data/new")" new "file written through the rw bind"
	[ ! -e "$TEST_TMP/data/x" ] || fail "write through the ro bind reached the host"
	assert_eq "$(cat "$TEST_TMP/one.txt")" single "the bound file on the host"
	assert_no_leaks
}

@test "tmpfs mount with size and mode" {
	spec_set '.mounts += [{"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=1m", "mode=1750"]}]'
	spec_sh 'stat -c %a /mnt/t; df -k /mnt/t | awk "NR == 2 { print \$2 }"
		dd if=/dev/zero of=/mnt/t/big bs=1024 count=2048 2>/dev/null && echo filled || echo full
		cat /proc/self/mountinfo'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "${lines[0]}" 1750 "mode of the tmpfs"
	assert_eq "${lines[1]}" 1024 "size of the tmpfs in KiB"
	assert_eq "${lines[2]}" full "writing 2 MiB into a 1 MiB tmpfs"
	local l
	l=$(mnt_line /mnt/t)
	assert_eq "$(mnt_fstype "$l")" tmpfs "fs type of /mnt/t"
	assert_contains "$l" nosuid "/mnt/t mount flags"
	assert_no_leaks
}

@test "proc, sysfs (read-only), devpts, mqueue, shm are mounted" {
	spec_sh 'cat /proc/self/mountinfo; echo ---
		read c </proc/1/comm; echo $c
		touch /sys/bst 2>/dev/null && echo sys-writable || echo sys-ro
		[ -c /dev/pts/ptmx ] && echo pts-ptmx
		[ -e /dev/ptmx ] && echo ptmx
		ls /dev/pts | tr "\n" " "; echo'
	run --separate-stderr ctr_run
	assert_status 0
	local l
	l=$(mnt_line /proc)
	assert_eq "$(mnt_fstype "$l")" proc "fs type of /proc"
	l=$(mnt_line /sys)
	assert_eq "$(mnt_fstype "$l")" sysfs "fs type of /sys"
	[[ $(awk '{ print $6 }' <<<"$l") =~ (^|,)ro(,|$) ]] || fail "/sys is not read-only: $l"
	l=$(mnt_line /dev/pts)
	assert_eq "$(mnt_fstype "$l")" devpts "fs type of /dev/pts"
	l=$(mnt_line /dev/mqueue)
	assert_eq "$(mnt_fstype "$l")" mqueue "fs type of /dev/mqueue"
	l=$(mnt_line /dev/shm)
	assert_eq "$(mnt_fstype "$l")" tmpfs "fs type of /dev/shm"
	local after
	after=$(sed -n '/^---$/,$p' <<<"$output" | tail -n +2)
	assert_eq "$after" "sh
sys-ro
pts-ptmx
ptmx
ptmx " "checks after the mount table"
	assert_no_leaks
}

@test "default devices exist with the right numbers" {
	spec_sh 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T" /dev/$d; done
		head -c 3 /dev/zero | od -An -tx1 | tr -d " "
		echo x > /dev/null && echo null-ok
		echo x 2>/dev/null > /dev/full || echo full-enospc
		for l in fd stdin stdout stderr; do [ -L /dev/$l ] && echo "$l -> $(readlink /dev/$l)"; done'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$output" "/dev/null character special file 1:3
/dev/zero character special file 1:5
/dev/full character special file 1:7
/dev/random character special file 1:8
/dev/urandom character special file 1:9
/dev/tty character special file 5:0
000000
null-ok
full-enospc
fd -> /proc/self/fd
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
stderr -> /proc/self/fd/2"
}

@test "linux.devices creates extra device nodes" {
	spec_set '.linux.devices = [
		{"path": "/dev/bst-null", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 1, "gid": 2},
		{"path": "/dev/bst-blk", "type": "b", "major": 7, "minor": 200, "fileMode": 384, "uid": 0, "gid": 0}]
		| .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
	spec_sh 'stat -c "%n %F %t:%T %a %u %g" /dev/bst-null /dev/bst-blk; echo x > /dev/bst-null && echo write-ok'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$output" "/dev/bst-null character special file 1:3 666 1 2
/dev/bst-blk block special file 7:c8 600 0 0
write-ok"
	assert_no_leaks
}

@test "masked paths read empty" {
	mkdir -p "$ROOTFS/opt/secret"
	echo hidden >"$ROOTFS/opt/secret/file"
	echo hidden >"$ROOTFS/opt/secret.txt"
	# /proc/kcore where the kernel has it, else another file masked by default
	local kfile=/proc/kcore
	[ -e /proc/kcore ] || kfile=/proc/timer_list
	[ -e $kfile ] || skip "neither /proc/kcore nor /proc/timer_list exist"
	spec_set --arg k "$kfile" '.linux.maskedPaths = [$k, "/opt/secret", "/opt/secret.txt", "/proc/bst-does-not-exist"]'
	spec_sh "wc -c < $kfile; ls -A /opt/secret | wc -l; wc -c < /opt/secret.txt
		echo x 2>/dev/null > /opt/secret/new && echo dir-writable || echo dir-ro"
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$output" "0
0
0
dir-ro"
	assert_eq "$(cat "$ROOTFS/opt/secret/file")" hidden "masked file on the host"
	assert_no_leaks
}

@test "readonly paths refuse writes" {
	mkdir -p "$ROOTFS/opt/ro" "$ROOTFS/opt/rw"
	echo data >"$ROOTFS/opt/ro/file"
	spec_set '.linux.readonlyPaths = ["/proc/sys", "/opt/ro"]'
	spec_sh 'cat /proc/sys/kernel/hostname
		echo bst 2>/dev/null > /proc/sys/kernel/hostname && echo proc-sys-writable || echo proc-sys-ro
		cat /opt/ro/file
		touch /opt/ro/new 2>/dev/null && echo opt-writable || echo opt-ro
		touch /opt/rw/new && echo rw-ok'
	spec_set '.hostname = "before"'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "$output" "before
proc-sys-ro
data
opt-ro
rw-ok"
	[ ! -e "$ROOTFS/opt/ro/new" ] || fail "write reached the read-only path"
	assert_no_leaks
}

@test "root.readonly makes / read-only" {
	spec_set '.root.readonly = true'
	spec_sh 'touch /newfile 2>/dev/null && echo root-writable || echo root-ro
		touch /tmp/newfile 2>/dev/null && echo tmp-writable || echo tmp-ro
		echo x > /dev/shm/x && echo shm-ok
		awk "\$5 == \"/\" { print \$6 }" /proc/self/mountinfo'
	run --separate-stderr ctr_run
	assert_status 0
	assert_eq "${lines[*]:0:3}" "root-ro tmp-ro shm-ok"
	[[ ${lines[3]} =~ (^|,)ro(,|$) ]] || fail "/ is not mounted ro: ${lines[3]}"
	[ ! -e "$ROOTFS/newfile" ] || fail "write reached the rootfs"
	assert_no_leaks
}

@test "mount propagation: rslave, rprivate, rshared bind mounts" {
	# a shared mount on the host to bind from
	mkdir -p "$TEST_TMP/shared"
	mount -t tmpfs bst-shared "$TEST_TMP/shared"
	mount --make-shared "$TEST_TMP/shared"
	mkdir "$TEST_TMP/shared/sub"
	spec_set --arg s "$TEST_TMP/shared" '.mounts += [
		{"destination": "/mnt/slave", "type": "bind", "source": $s, "options": ["rbind", "rslave"]},
		{"destination": "/mnt/private", "type": "bind", "source": $s, "options": ["rbind", "rprivate"]},
		{"destination": "/mnt/shared", "type": "bind", "source": $s, "options": ["rbind", "rshared"]}]'
	start_sleeper
	run rt exec "$CID" cat /proc/self/mountinfo
	assert_status 0
	local slave private shared
	slave=$(mnt_line /mnt/slave)
	private=$(mnt_line /mnt/private)
	shared=$(mnt_line /mnt/shared)
	[[ $slave == *" master:"* ]] || fail "rslave mount is not a slave: $slave"
	[[ $slave != *" shared:"* ]] || fail "rslave mount is shared: $slave"
	[[ $private != *" master:"* && $private != *" shared:"* ]] || fail "rprivate mount propagates: $private"
	[[ $shared == *" shared:"* ]] || fail "rshared mount is not shared: $shared"

	# a mount made on the host afterwards reaches the slave and the shared
	# bind, not the private one
	mount -t tmpfs bst-sub "$TEST_TMP/shared/sub"
	echo propagated >"$TEST_TMP/shared/sub/file"
	run rt exec "$CID" sh -c 'cat /mnt/slave/sub/file; cat /mnt/shared/sub/file; cat /mnt/private/sub/file 2>/dev/null || echo private-empty'
	umount "$TEST_TMP/shared/sub"
	umount "$TEST_TMP/shared"
	assert_eq "$output" "propagated
propagated
private-empty" "what the container sees of a later host mount"
	rt delete --force "$CID"
	assert_no_leaks
}
