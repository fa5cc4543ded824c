#!/usr/bin/env bats
# barge's images and the real tools: archives barge saves load into docker
# and podman with the same image id, archives they save load into barge,
# and the same registry gives docker and barge the same image.  dockerd
# runs privately (tests/lib/peers/common.bash: its own containerd,
# data-root, sockets, all under one temp dir), podman with a temp --root.
# A peer that cannot run here makes its tests skip with the reason.

# (common first: its assert_status and assert_line give way to images_helpers')
load ../lib/peers/common
load images_helpers

setup_file() {
	images_setup_file || return 0
	REG=$IMG_FILE_TMP/plain
	export REG
	reg_start "$REG"
	images_seed "$REG" busybox twolayer
	REG_ADDR=$(reg_addr "$REG")
	export REG_ADDR
	# a private dockerd (no containers are run: the runtime is never called)
	RUNTIME=$(command -v runc || echo /bin/false)
	export RUNTIME
	peers_sweep_stale
	PEERS_DIR=$(mktemp -d /tmp/barge-peers.XXXXXX)
	PEERS_TAG=barge-peers-${PEERS_DIR##*.}
	export PEERS_DIR PEERS_TAG
	peers_record_host_dirs
	peers_make_wrapper docker
	peers_launch_containerd
	sh "$IMG_LIB/peers/mkimage.sh" "$SEED/rootfs" "$PEERS_DIR/image.tar" localhost/barge-test:busybox
	peers_start_dockerd
}

teardown_file() {
	if [ -n "${PEERS_DIR:-}" ]; then peers_cleanup; fi
	images_teardown_file
}

setup() {
	images_setup
	images_load_env "$REG"
	reg_mark "$REG"
}

teardown() {
	[ -n "${PEERS_DIR:-}" ] && [ -S "$PEERS_DIR/dk/docker.sock" ] &&
		dk image prune -a -f >/dev/null 2>&1
	images_teardown
}

need_docker() {
	peers_need docker
	[ -S "$PEERS_DIR/dk/docker.sock" ] || skip "dockerd is not running"
}

@test "docker: barge save | docker load gives the same image id" {
	need_docker
	barge --registry-mirror "http://$REG_ADDR" pull -q twolayer >/dev/null || fail "pull failed"
	barge save -o "$TEST_TMP/t.tar" twolayer || fail "save failed"
	run dk load -i "$TEST_TMP/t.tar"
	assert_status 0
	assert_contains "$output" "Loaded image: twolayer:latest"
	run dk image inspect --format '{{.Id}}' twolayer:latest
	assert_status 0
	assert_eq "$output" "$TWO_ID" "docker's id of the loaded image"
	run dk image inspect --format '{{json .RootFS.Layers}}' twolayer:latest
	assert_eq "$output" "[\"$BB_DIFF\",\"$TWO_DIFF2\"]"
}

@test "docker: docker save (of what docker pulled) loads into barge with the same id" {
	need_docker
	run dk pull "$REG_ADDR/library/twolayer:latest"
	assert_status 0
	dk save -o "$TEST_TMP/d.tar" "$REG_ADDR/library/twolayer:latest" || fail "docker save failed"
	run --separate-stderr barge load -i "$TEST_TMP/d.tar"
	assert_status 0
	assert_eq "$output" "Loaded image: $REG_ADDR/library/twolayer:latest"
	assert_eq "$(inspect "$REG_ADDR/library/twolayer:latest" .Id)" "\"$TWO_ID\""
	assert_eq "$(stat -c '%F %t:%T' "$(layer_dir "$TWO_CHAIN2")/etc/hostname")" "character special file 0:0"
}

@test "docker: docker pull and barge pull of the same reference give the same image" {
	need_docker
	local ref=$REG_ADDR/library/busybox:latest
	run dk pull "$ref"
	assert_status 0
	run --separate-stderr barge pull "$ref"
	assert_status 0
	local f
	for f in Id RepoTags RepoDigests Architecture Os Config.Cmd Config.Env RootFS Size; do
		assert_eq "$(inspect "$ref" ".$f")" "$(dk image inspect "$ref" | jq -c ".[0].$f")" "$f, barge vs docker"
	done
	# created: the same instant (docker may print it differently)
	assert_eq "$(date -d "$(inspect "$ref" .Created | tr -d '"')" +%s)" \
		"$(date -d "$(dk image inspect --format '{{.Created}}' "$ref")" +%s)" Created
}

@test "docker: docker pulls what barge pushed" {
	need_docker
	barge pull -q "$REG_ADDR/library/twolayer:latest" >/dev/null || fail "pull failed"
	barge tag "$REG_ADDR/library/twolayer:latest" "$REG_ADDR/pushed/two:1"
	run --separate-stderr barge push "$REG_ADDR/pushed/two:1"
	assert_status 0
	run dk pull "$REG_ADDR/pushed/two:1"
	assert_status 0
	assert_eq "$(dk image inspect --format '{{.Id}}' "$REG_ADDR/pushed/two:1")" "$TWO_ID"
}

@test "podman: barge save loads into podman with the same id" {
	pm_setup
	barge --registry-mirror "http://$REG_ADDR" pull -q busybox >/dev/null || fail "pull failed"
	barge save -o "$TEST_TMP/b.tar" busybox || fail "save failed"
	run pm load -i "$TEST_TMP/b.tar"
	assert_status 0
	run pm image inspect --format '{{.Id}}' busybox:latest
	assert_status 0
	assert_eq "sha256:$output" "$BB_ID" "podman's id of the loaded image"
}

@test "podman: podman save (docker-archive, oci-archive) loads into barge with the same id" {
	pm_setup
	run pm pull --tls-verify=false "$REG_ADDR/library/twolayer:latest"
	assert_status 0
	pm save -o "$TEST_TMP/p-docker.tar" "$REG_ADDR/library/twolayer:latest" || fail "podman save failed"
	pm save --format oci-archive -o "$TEST_TMP/p-oci.tar" "$REG_ADDR/library/twolayer:latest" ||
		fail "podman save --format oci-archive failed"
	run --separate-stderr barge load -i "$TEST_TMP/p-docker.tar"
	assert_status 0
	assert_contains "$output" "library/twolayer:latest"
	assert_eq "$(inspect "$REG_ADDR/library/twolayer:latest" .Id)" "\"$TWO_ID\""
	ROOT=$TEST_TMP/oci
	run --separate-stderr barge load -i "$TEST_TMP/p-oci.tar"
	assert_status 0
	assert_eq "$(inspect "$TWO_ID" .Id)" "\"$TWO_ID\""
}

@test "podman: podman pulls what barge pushed" {
	pm_setup
	barge pull -q "$REG_ADDR/library/busybox:latest" >/dev/null || fail "pull failed"
	barge tag "$REG_ADDR/library/busybox:latest" "$REG_ADDR/pushed/bb:1"
	run --separate-stderr barge push "$REG_ADDR/pushed/bb:1"
	assert_status 0
	run pm pull --tls-verify=false "$REG_ADDR/pushed/bb:1"
	assert_status 0
	run pm image inspect --format '{{.Id}}' "$REG_ADDR/pushed/bb:1"
	assert_eq "sha256:$output" "$BB_ID"
}
