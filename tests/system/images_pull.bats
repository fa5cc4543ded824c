#!/usr/bin/env bats
# barge pull from a registry without auth (Debian's docker-registry on
# loopback, seeded with skopeo): by tag, by digest, through
# --registry-mirror for docker.io names, layer sharing and whiteouts, layer
# compressions, platform selection from manifest lists and OCI indexes,
# and the errors a user meets most.

load images_helpers

setup_file() {
	images_setup_file || return 0
	REG=$IMG_FILE_TMP/plain
	export REG
	reg_start "$REG"
	images_seed "$REG" busybox multi twolayer formats tool
	REG_ADDR=$(reg_addr "$REG")
	export REG_ADDR
}

teardown_file() {
	images_teardown_file
}

setup() {
	images_setup
	images_load_env "$REG"
	reg_mark "$REG"
	BB=$REG_ADDR/library/busybox
}

teardown() {
	images_teardown
}

# host_platform_id: the image id the multi-arch fixtures hold for this host.
host_platform_id() {
	case $(uname -m) in
	x86_64) echo "$BB_ID" ;;
	aarch64) echo "$ARM_ID" ;;
	*) return 1 ;;
	esac
}

@test "pull by tag: the image, its name, digest, layers and config" {
	run --separate-stderr barge pull "$BB:latest"
	assert_status 0
	assert_contains "$output" "$BB_MANIFEST" "pull output (the manifest digest, as docker prints it)"
	assert_eq "$(inspect "$BB:latest" .Id)" "\"$BB_ID\"" "Id (the config digest)"
	assert_eq "$(inspect "$BB:latest" .RepoTags)" "[\"$BB:latest\"]" RepoTags
	assert_eq "$(inspect "$BB:latest" .RepoDigests)" "[\"$BB@$BB_MANIFEST\"]" RepoDigests
	assert_eq "$(inspect "$BB:latest" .RootFS)" "{\"Type\":\"layers\",\"Layers\":[\"$BB_DIFF\"]}" RootFS
	assert_eq "$(inspect "$BB:latest" .Architecture)" '"amd64"'
	assert_eq "$(inspect "$BB:latest" .Os)" '"linux"'
	assert_eq "$(inspect "$BB:latest" .Config.Cmd)" '["sh"]'
	assert_eq "$(inspect "$BB:latest" .Created)" '"2024-01-01T00:00:00Z"'
	# by the short id and by the full id, as docker takes them
	assert_eq "$(inspect "${BB_ID:7:12}" .Id)" "\"$BB_ID\""
	assert_eq "$(inspect "$BB_ID" .Id)" "\"$BB_ID\""
	# the layer is unpacked where the store says (layers/<chain id hex>)
	[ -x "$(layer_dir "$BB_DIFF")/bin/busybox" ] || fail "no bin/busybox in the unpacked layer"
	[ "$(readlink "$(layer_dir "$BB_DIFF")/bin/sh")" = busybox ] || fail "bin/sh is not a symlink to busybox"
	assert_eq "$(stat -c %a "$(layer_dir "$BB_DIFF")/tmp")" 1777 "mode of /tmp"
}

@test "pull by digest: no tag, the digest is the reference" {
	run --separate-stderr barge pull "$BB@$BB_MANIFEST"
	assert_status 0
	assert_eq "$(inspect "$BB@$BB_MANIFEST" .Id)" "\"$BB_ID\""
	assert_eq "$(inspect "$BB@$BB_MANIFEST" .RepoTags)" '[]' RepoTags
	assert_eq "$(inspect "$BB@$BB_MANIFEST" .RepoDigests)" "[\"$BB@$BB_MANIFEST\"]" RepoDigests
	run --separate-stderr barge images
	assert_status 0
	printf '%s\n' "$output" | grep -qE "^$REG_ADDR/library/busybox +<none> +${BB_ID:7:12} " ||
		fail "images does not show the untagged image: '$output'"
	# a digest the repository does not have
	local before
	before=$(store_snapshot)
	run --separate-stderr barge pull "$BB@sha256:$(printf x | sha256sum | cut -d' ' -f1)"
	assert_failed
	assert_error_line "$stderr" "not found|unknown"
	assert_store_unchanged "$before"
}

@test "pull -q prints only the reference" {
	run --separate-stderr barge pull -q "$BB:latest"
	assert_status 0
	assert_eq "$(nonempty_lines "$output" | wc -l)" 1 "lines of output"
	assert_contains "$output" "library/busybox:latest"
	assert_eq "$(inspect "$BB:latest" .Id)" "\"$BB_ID\""
}

@test "pull through --registry-mirror: docker.io names go to the mirror" {
	local m="http://$REG_ADDR"
	run --separate-stderr barge --registry-mirror "$m" pull busybox
	assert_status 0
	assert_eq "$(inspect busybox .Id)" "\"$BB_ID\""
	assert_eq "$(inspect busybox .RepoTags)" '["busybox:latest"]' "RepoTags (Docker's short form)"
	assert_eq "$(inspect busybox .RepoDigests)" "[\"busybox@$BB_MANIFEST\"]" RepoDigests
	# the same image under each spelling of the name
	assert_eq "$(inspect library/busybox:latest .Id)" "\"$BB_ID\""
	assert_eq "$(inspect docker.io/library/busybox:latest .Id)" "\"$BB_ID\""
	[ "$(reg_count "$REG" 'GET|HEAD' /v2/library/busybox/manifests/latest)" -ge 1 ] ||
		fail "the mirror was not asked for library/busybox:latest"
	# a user repository (docker.io/barge/tool) has no library/ prefix
	run --separate-stderr barge --registry-mirror "$m" pull barge/tool:1.0
	assert_status 0
	# (the same image as busybox, so it has both names)
	assert_eq "$(inspect barge/tool:1.0 '.RepoTags | sort')" '["barge/tool:1.0","busybox:latest"]'
	assert_eq "$(inspect docker.io/barge/tool:1.0 .Id)" "\"$BB_ID\""
	# by digest through the mirror
	run --separate-stderr barge --registry-mirror "$m" pull "busybox@$BB_MANIFEST"
	assert_status 0
	run --separate-stderr barge images --digests
	assert_contains "$output" "$BB_MANIFEST"
	# a mirror URL with a trailing slash works the same
	run --separate-stderr barge --registry-mirror "$m/" pull busybox:latest
	assert_status 0
}

@test "a second pull downloads no layer; it says the image is up to date" {
	local layer_gets
	run --separate-stderr barge pull "$BB:latest"
	assert_status 0
	assert_eq "$(reg_count "$REG" GET "/v2/library/busybox/blobs/$BB_LAYER")" 1 "layer downloads after the first pull"
	run --separate-stderr barge pull "$BB:latest"
	assert_status 0
	assert_contains "$(tr 'A-Z' 'a-z' <<<"$output")" "up to date" "second pull's output"
	run --separate-stderr barge pull "$BB@$BB_MANIFEST"
	assert_status 0
	layer_gets=$(reg_count "$REG" GET "/v2/library/busybox/blobs/$BB_LAYER")
	assert_eq "$layer_gets" 1 "layer downloads after three pulls"
	assert_eq "$(reg_count "$REG" GET "/v2/library/busybox/blobs/$BB_ID")" 1 "config downloads after three pulls"
	# and one image, with both references
	run --separate-stderr barge images -q
	assert_eq "$(nonempty_lines "$output" | sort -u | wc -l)" 1 "distinct ids in images -q"
}

@test "pull from localhost:PORT (plain HTTP to loopback needs no flag)" {
	local port=${REG_ADDR##*:}
	run --separate-stderr barge pull "localhost:$port/library/busybox:latest"
	assert_status 0
	assert_eq "$(inspect "localhost:$port/library/busybox:latest" .Id)" "\"$BB_ID\""
	# an explicit --insecure-registry is accepted too
	run --separate-stderr barge --insecure-registry "$REG_ADDR" pull "$BB:latest"
	assert_status 0
}

@test "two-layer image: the shared layer is not downloaded again; whiteouts become overlay whiteouts" {
	run --separate-stderr barge pull "$BB:latest"
	assert_status 0
	run --separate-stderr barge pull "$REG_ADDR/library/twolayer:latest"
	assert_status 0
	local two=$REG_ADDR/library/twolayer:latest d
	assert_eq "$(inspect "$two" .Id)" "\"$TWO_ID\""
	assert_eq "$(inspect "$two" .RootFS.Layers)" "[\"$BB_DIFF\",\"$TWO_DIFF2\"]"
	assert_eq "$(inspect "$two" .RepoDigests)" "[\"$REG_ADDR/library/twolayer@$TWO_MANIFEST\"]"
	assert_eq "$(inspect "$two" .Config.Cmd)" '["cat","/layer2.txt"]'
	# the bottom layer came once, for busybox (same blob in both repositories)
	assert_eq "$(reg_count "$REG" GET "/v2/library/twolayer/blobs/$BB_LAYER")" 0 "downloads of the shared layer for twolayer"
	assert_eq "$(reg_count "$REG" GET "/v2/library/twolayer/blobs/$TWO_LAYER2")" 1 "downloads of the second layer"
	# the second layer as overlayfs wants it: etc/hostname is a whiteout
	# (0:0 character device), usr is opaque, no .wh. files are left
	d=$(layer_dir "$TWO_CHAIN2")
	[ -d "$d" ] || fail "no layer dir $d"
	assert_eq "$(stat -c '%F %t:%T' "$d/etc/hostname")" "character special file 0:0" "etc/hostname in layer 2"
	assert_eq "$(/usr/bin/python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque").decode())' "$d/usr")" y \
		"trusted.overlay.opaque of usr"
	[ ! -e "$d/etc/.wh.hostname" ] && [ ! -e "$d/usr/.wh..wh..opq" ] || fail ".wh. files left in the layer"
	assert_eq "$(cat "$d/layer2.txt")" "second layer"
	assert_eq "$(cat "$d/usr/opaque.txt")" "after the opaque whiteout"
	# an absolute symlink is content, kept as it is
	assert_eq "$(readlink "$d/etc/mtab")" /proc/self/mounts "etc/mtab"
	# the bottom layer is the one busybox has, untouched by the whiteout
	[ -f "$(layer_dir "$BB_DIFF")/etc/hostname" ] || fail "etc/hostname is gone from the shared bottom layer"
}

@test "layers compressed with zstd, and uncompressed layers" {
	run --separate-stderr barge pull "$REG_ADDR/library/zstd:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/zstd:latest" .Id)" "\"$ZSTD_ID\""
	assert_eq "$(inspect "$REG_ADDR/library/zstd:latest" .RootFS.Layers)" "[\"$BB_DIFF\"]"
	[ -x "$(layer_dir "$BB_DIFF")/bin/busybox" ] || fail "zstd layer not unpacked"
	# uncompressed, in a store of its own (the layer would be shared otherwise)
	ROOT=$TEST_TMP/root-raw
	run --separate-stderr barge pull "$REG_ADDR/library/raw:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/raw:latest" .Id)" "\"$RAW_ID\""
	[ -x "$(layer_dir "$BB_DIFF")/bin/busybox" ] || fail "uncompressed layer not unpacked"
}

@test "platform: a manifest list gives the host's image by default, --platform picks another" {
	local want
	want=$(host_platform_id) || skip "host architecture $(uname -m) is not in the fixture"
	run --separate-stderr barge pull "$REG_ADDR/library/multi:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/multi:latest" .Id)" "\"$want\"" "default platform"
	# RepoDigests names the list, as docker records it
	assert_eq "$(inspect "$REG_ADDR/library/multi:latest" .RepoDigests)" \
		"[\"$REG_ADDR/library/multi@$MULTI_INDEX\"]" RepoDigests
	# pull --platform linux/arm64 (a store of its own)
	ROOT=$TEST_TMP/root-arm64
	run --separate-stderr barge pull --platform linux/arm64 "$REG_ADDR/library/multi:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/multi:latest" .Id)" "\"$ARM_ID\"" "--platform linux/arm64"
	assert_eq "$(inspect "$REG_ADDR/library/multi:latest" .Architecture)" '"arm64"'
	assert_eq "$(reg_count "$REG" GET "/v2/library/multi/manifests/$ARM_MANIFEST")" 1 "GETs of the arm64 manifest"
	# the global --platform does the same
	ROOT=$TEST_TMP/root-global
	run --separate-stderr barge --platform linux/arm64 pull "$REG_ADDR/library/multi:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/multi:latest" .Id)" "\"$ARM_ID\"" "global --platform linux/arm64"
}

@test "platform: an OCI index works the same" {
	local want
	want=$(host_platform_id) || skip "host architecture $(uname -m) is not in the fixture"
	run --separate-stderr barge pull "$REG_ADDR/library/multioci:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/multioci:latest" .Id)" "\"$want\""
	assert_eq "$(inspect "$REG_ADDR/library/multioci:latest" .RepoDigests)" \
		"[\"$REG_ADDR/library/multioci@$MULTIOCI_INDEX\"]" RepoDigests
	ROOT=$TEST_TMP/root-arm64
	run --separate-stderr barge pull --platform linux/arm64 "$REG_ADDR/library/multioci:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/multioci:latest" .Id)" "\"$ARM_ID\""
	# and pulling the index by its digest
	ROOT=$TEST_TMP/root-digest
	run --separate-stderr barge pull --platform linux/arm64 "$REG_ADDR/library/multioci@$MULTIOCI_INDEX"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/multioci@$MULTIOCI_INDEX" .Id)" "\"$ARM_ID\""
}

@test "platform: one the list does not have is an error that lists what there is" {
	local before
	before=$(store_snapshot)
	run --separate-stderr barge pull --platform linux/s390x "$REG_ADDR/library/multi:latest"
	assert_failed
	assert_error_line "$stderr" s390x linux/amd64 linux/arm64
	assert_store_unchanged "$before"
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after the failed pull"
	# a malformed platform is a usage error, not a pull
	run --separate-stderr barge pull --platform 'linux/' "$REG_ADDR/library/multi:latest"
	assert_failed
	assert_error_line "$stderr" "platform"
}

@test "errors: unknown tag, unknown repository, registry down, bad reference" {
	local before port
	before=$(store_snapshot)
	run --separate-stderr barge pull "$BB:nope"
	assert_failed
	assert_error_line "$stderr" "nope" "not found|unknown"
	run --separate-stderr barge pull "$REG_ADDR/library/nosuchrepo:latest"
	assert_failed
	assert_error_line "$stderr" "nosuchrepo" "not found|unknown|does not exist|denied"
	# a port nothing listens on: a registry we stopped
	reg_start "$TEST_TMP/gone"
	port=$(cat "$TEST_TMP/gone/port")
	reg_stop "$TEST_TMP/gone"
	run --separate-stderr barge pull "127.0.0.1:$port/library/busybox:latest"
	assert_failed
	assert_error_line "$stderr" "127.0.0.1:$port"
	run --separate-stderr barge pull 'Bad/Name:latest'
	assert_failed
	assert_error_line "$stderr" "invalid reference|lowercase"
	run --separate-stderr barge pull "$BB:bad:tag:"
	assert_failed
	assert_error_line "$stderr" "invalid reference|reference"
	assert_store_unchanged "$before"
}

@test "two pulls of the same image into one store at once both succeed" {
	barge pull -q "$BB:latest" >"$TEST_TMP/p1.out" 2>"$TEST_TMP/p1.err" &
	local p1=$!
	barge pull -q "$REG_ADDR/library/twolayer:latest" >"$TEST_TMP/p2.out" 2>"$TEST_TMP/p2.err" &
	local p2=$!
	barge pull -q "$BB:latest" >"$TEST_TMP/p3.out" 2>"$TEST_TMP/p3.err"
	local s3=$? s1=0 s2=0
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	[ "$s1$s2$s3" = 000 ] || fail "exit statuses $s1 $s2 $s3; stderr: $(cat "$TEST_TMP"/p*.err)"
	assert_eq "$(inspect "$BB:latest" .Id)" "\"$BB_ID\""
	assert_eq "$(inspect "$REG_ADDR/library/twolayer:latest" .Id)" "\"$TWO_ID\""
	run --separate-stderr barge images -q
	assert_eq "$(nonempty_lines "$output" | sort -u | wc -l)" 2 "images after the pulls"
	[ -x "$(layer_dir "$BB_DIFF")/bin/busybox" ] || fail "shared layer damaged"
}
