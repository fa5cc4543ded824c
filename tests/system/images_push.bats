#!/usr/bin/env bats
# barge push to a registry without auth, checked from the outside with
# skopeo: what lands there is the image barge has (same config digest,
# layers with the right diff ids), blobs the registry already has are not
# uploaded again, and images that never came from a registry (import,
# load) push too.

load images_helpers

setup_file() {
	images_setup_file || return 0
	SRC=$IMG_FILE_TMP/src
	export SRC
	reg_start "$SRC"
	images_seed "$SRC" busybox twolayer
	SRC_ADDR=$(reg_addr "$SRC")
	export SRC_ADDR
}

teardown_file() {
	images_teardown_file
}

setup() {
	images_setup
	images_load_env "$SRC"
	reg_mark "$SRC"
	# a fresh, empty registry for each test
	DST=$TEST_TMP/dst
	reg_start "$DST"
	DST_ADDR=$(reg_addr "$DST")
}

teardown() {
	images_teardown
}

# pushed_config REF: sha256 of the config blob the registry has for REF.
pushed_config() {
	local c
	c=$(sk inspect --tls-verify=false --raw --config "docker://$1") || return 1
	echo "sha256:$(printf %s "$c" | sha256sum | cut -d' ' -f1)"
}

# pushed_diff_ids REF: the uncompressed digests of REF's layers as the
# registry has them (skopeo copies and decompresses them: every byte checked).
pushed_diff_ids() {
	local d=$TEST_TMP/copy.$RANDOM f out=
	sk copy -q --src-tls-verify=false --dest-decompress "docker://$1" "dir:$d" >&2 || return 1
	for f in $(jq -r '.layers[].digest' "$d/manifest.json"); do
		out="$out sha256:$(sha256sum "$d/${f#sha256:}" | cut -d' ' -f1)"
	done
	rm -rf "$d"
	echo "${out# }"
}

@test "push: the registry gets the same image (config, layers), skopeo reads it back" {
	barge pull -q "$SRC_ADDR/library/busybox:latest" >/dev/null || fail "pull failed"
	barge tag "$SRC_ADDR/library/busybox:latest" "$DST_ADDR/team/pushed:v1"
	run --separate-stderr barge push "$DST_ADDR/team/pushed:v1"
	assert_status 0
	# docker ends with "v1: digest: sha256:... size: N"
	local dg
	dg=$(curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' \
		"http://$DST_ADDR/v2/team/pushed/manifests/v1" | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
	[ -n "$dg" ] || fail "no manifest for team/pushed:v1 in the registry"
	assert_contains "$output" "$dg" "push output (the pushed manifest digest)"
	assert_eq "$(pushed_config "$DST_ADDR/team/pushed:v1")" "$BB_ID" "pushed config digest"
	assert_eq "$(pushed_diff_ids "$DST_ADDR/team/pushed:v1")" "$BB_DIFF" "pushed diff ids"
	# the image now has the pushed digest among its RepoDigests, as docker records it
	assert_contains "$(inspect "$DST_ADDR/team/pushed:v1" .RepoDigests)" "$DST_ADDR/team/pushed@$dg"
}

@test "push again: blobs the registry has are checked (HEAD), not uploaded" {
	barge pull -q "$SRC_ADDR/library/twolayer:latest" >/dev/null || fail "pull failed"
	barge tag "$SRC_ADDR/library/twolayer:latest" "$DST_ADDR/team/two:v1"
	barge tag "$SRC_ADDR/library/twolayer:latest" "$DST_ADDR/team/two:v2"
	run --separate-stderr barge push "$DST_ADDR/team/two:v1"
	assert_status 0
	local uploads puts
	uploads=$(reg_count "$DST" POST '/v2/team/two/blobs/uploads/')
	[ "$uploads" -ge 3 ] || fail "the first push started $uploads uploads, expected 3 (2 layers, config)"
	run --separate-stderr barge push "$DST_ADDR/team/two:v2"
	assert_status 0
	assert_eq "$(reg_count "$DST" POST '/v2/team/two/blobs/uploads/')" "$uploads" "uploads started after the second push"
	puts=$(reg_count "$DST" PUT '/v2/team/two/blobs/uploads/.*')
	assert_eq "$puts" "$uploads" "uploads completed after both pushes"
	[ "$(reg_count "$DST" HEAD '/v2/team/two/blobs/sha256:[0-9a-f]+')" -ge 3 ] ||
		fail "the second push did not check the blobs with HEAD: $(reg_requests "$DST")"
	assert_eq "$(reg_count "$DST" PUT /v2/team/two/manifests/v2)" 1 "manifest PUTs for v2"
	assert_eq "$(pushed_config "$DST_ADDR/team/two:v2")" "$TWO_ID"
	assert_eq "$(pushed_diff_ids "$DST_ADDR/team/two:v2")" "$BB_DIFF $TWO_DIFF2"
}

@test "push: whiteouts go back as .wh. entries" {
	barge pull -q "$SRC_ADDR/library/twolayer:latest" >/dev/null || fail "pull failed"
	barge tag "$SRC_ADDR/library/twolayer:latest" "$DST_ADDR/team/two:wh"
	run --separate-stderr barge push "$DST_ADDR/team/two:wh"
	assert_status 0
	local d=$TEST_TMP/wh l
	sk copy -q --src-tls-verify=false "docker://$DST_ADDR/team/two:wh" "dir:$d" || fail "skopeo copy failed"
	l=$(jq -r '.layers[1].digest' "$d/manifest.json")
	run bash -c "zcat -f '$d/${l#sha256:}' | tar -tvf -"
	assert_status 0
	assert_contains "$output" "etc/.wh.hostname"
	assert_contains "$output" "usr/.wh..wh..opq"
	assert_contains "$output" "etc/mtab -> /proc/self/mounts"
}

@test "push of an imported image (never pulled): layer compressed by barge, diff id kept" {
	local tarf=$SEED/rootfs-import.tar diff
	diff=sha256:$(sha256sum "$tarf" | cut -d' ' -f1)
	barge import "$tarf" "$DST_ADDR/team/imported:1" >/dev/null || fail "import failed"
	local id
	id=$(inspect "$DST_ADDR/team/imported:1" .Id | tr -d '"')
	run --separate-stderr barge push "$DST_ADDR/team/imported:1"
	assert_status 0
	assert_eq "$(pushed_config "$DST_ADDR/team/imported:1")" "$id" "pushed config digest"
	assert_eq "$(pushed_diff_ids "$DST_ADDR/team/imported:1")" "$diff" "pushed diff id"
	# and it comes back whole into an empty store
	ROOT=$TEST_TMP/back
	run --separate-stderr barge pull "$DST_ADDR/team/imported:1"
	assert_status 0
	assert_eq "$(inspect "$DST_ADDR/team/imported:1" .Id)" "\"$id\""
	[ -x "$(layer_dir "$diff")/bin/busybox" ] || fail "pulled back without bin/busybox"
}

@test "push of a loaded image (hello-world)" {
	local t=$BARGE_BUILD/hello-world.tar
	[ -f "$t" ] || {
		t=$TEST_TMP/hello-world.tar
		sh "$IMG_REPO/src/hello/mkimage.sh" "$t" || fail "mkimage failed"
	}
	barge load -q -i "$t" || fail "load failed"
	barge tag hello-world "$DST_ADDR/library/hello-world:latest"
	run --separate-stderr barge push "$DST_ADDR/library/hello-world:latest"
	assert_status 0
	assert_eq "$(pushed_config "$DST_ADDR/library/hello-world:latest")" "$(inspect hello-world .Id | tr -d '"')"
	# through the mirror, it is plain "hello-world" again
	ROOT=$TEST_TMP/mirror
	run --separate-stderr barge --registry-mirror "http://$DST_ADDR" pull hello-world
	assert_status 0
	assert_eq "$(inspect hello-world .Config.Cmd)" '["/hello"]'
}

@test "push: errors (unknown image, registry down) are one line" {
	run --separate-stderr barge push "$DST_ADDR/team/none:1"
	assert_failed
	assert_error_line "$stderr" "team/none" "no such image|not found|does not exist"
	barge pull -q "$SRC_ADDR/library/busybox:latest" >/dev/null || fail "pull failed"
	barge tag "$SRC_ADDR/library/busybox:latest" "$DST_ADDR/team/down:1"
	reg_stop "$DST"
	run --separate-stderr barge push "$DST_ADDR/team/down:1"
	assert_failed
	assert_error_line "$stderr" "$DST_ADDR"
}
