#!/usr/bin/env bats
# Pulls that must fail safely: a registry serving bytes that do not match
# their digests, a registry that dies in the middle of a layer, and hostile
# layer tars that try to write, link or delete outside the store.  In each
# case barge fails with one line naming what went wrong, and the store
# gains nothing (no image, no layer, no blob).

load images_helpers

EVIL_KINDS="symlink symlink-rel symlink-chain dotdot absolute hardlink whiteout opaque"

setup_file() {
	images_setup_file || return 0
	REG=$IMG_FILE_TMP/plain
	export REG
	reg_start "$REG"
	images_seed "$REG" busybox
	# hostile images, one per kind, all aimed at one canary dir outside
	# the store: evil/<kind>:latest, and evil/stacked: a symlink in one
	# layer and a file through it in the next
	CANARY=$(mktemp -d /tmp/barge-canary.XXXXXX)
	export CANARY
	echo canary >"$CANARY/file"
	local k L=$IMG_FILE_TMP/evil-layout
	for k in $EVIL_KINDS lower upper; do
		/usr/bin/python3 "$IMG_LIB/registry/evil_layer.py" "$k" "$IMG_FILE_TMP/$k.tar" "$CANARY"
	done
	for k in $EVIL_KINDS; do
		oci_image "$L" "$k" "$IMG_FILE_TMP/$k.tar"
		seed_push "$L" "$k" "$REG" "evil/$k:latest" >/dev/null
	done
	oci_image "$L" stacked "$IMG_FILE_TMP/lower.tar" "$IMG_FILE_TMP/upper.tar"
	seed_push "$L" stacked "$REG" evil/stacked:latest >/dev/null
	REG_ADDR=$(reg_addr "$REG")
	export REG_ADDR
}

teardown_file() {
	images_teardown_file
	if [ -n "${CANARY:-}" ]; then rm -rf "$CANARY"; fi
}

setup() {
	images_setup
	images_load_env "$REG"
	reg_mark "$REG"
}

teardown() {
	images_teardown
}

# assert_canary: the canary dir holds exactly its file, unchanged, with no
# other name linked to it.
assert_canary() {
	assert_eq "$(ls -A "$CANARY" | tr '\n' ' ')" "file " "canary dir entries"
	assert_eq "$(cat "$CANARY/file")" canary "canary file content"
	assert_eq "$(stat -c %h "$CANARY/file")" 1 "links to the canary file"
}

# tampered_registry DIR: a registry of its own with a copy of REG's storage
# (so that changing blobs there does not touch REG).
tampered_registry() {
	reg_start "$1" --storage-from "$REG"
}

# flip_byte FILE OFFSET: invert one byte in place (same size).
flip_byte() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off)
    b = f.read(1)
    f.seek(off)
    f.write(bytes([b[0] ^ 0xFF]))
EOF
}

@test "a layer whose bytes do not match its digest: pull fails naming it, the store gains nothing" {
	local r=$TEST_TMP/tampered before
	tampered_registry "$r"
	flip_byte "$(reg_blob_data "$r" "$BB_LAYER")" 100000
	before=$(store_snapshot)
	run --separate-stderr barge pull "$(reg_addr "$r")/library/busybox:latest"
	assert_failed
	assert_error_line "$stderr" "${BB_LAYER#sha256:}"
	assert_store_unchanged "$before"
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after the failed pull"
	# the same layer from an honest registry still pulls into this store
	run --separate-stderr barge pull "$REG_ADDR/library/busybox:latest"
	assert_status 0
	assert_eq "$(inspect "$REG_ADDR/library/busybox:latest" .Id)" "\"$BB_ID\""
}

@test "a layer cut short (the registry's file truncated): pull fails, nothing stored" {
	local r=$TEST_TMP/short f before
	tampered_registry "$r"
	f=$(reg_blob_data "$r" "$BB_LAYER")
	truncate -s 5000 "$f"
	before=$(store_snapshot)
	run --separate-stderr barge pull "$(reg_addr "$r")/library/busybox:latest"
	assert_failed
	assert_error_line "$stderr" "${BB_LAYER#sha256:}|size|short|unexpected end|truncated|closed"
	assert_store_unchanged "$before"
}

@test "a config whose bytes do not match its digest: pull fails naming it" {
	local r=$TEST_TMP/badcfg before f
	tampered_registry "$r"
	f=$(reg_blob_data "$r" "$BB_ID")
	# same length, still JSON: a different value for Cmd
	sed -i 's/"Cmd":\["sh"\]/"Cmd":["rm"]/' "$f"
	grep -q '"rm"' "$f" || fail "could not tamper with the config"
	before=$(store_snapshot)
	run --separate-stderr barge pull "$(reg_addr "$r")/library/busybox:latest"
	assert_failed
	assert_error_line "$stderr" "${BB_ID#sha256:}"
	assert_store_unchanged "$before"
}

@test "a manifest that does not match the digest asked for: pull by digest fails" {
	local r=$TEST_TMP/badman before f
	tampered_registry "$r"
	f=$(reg_blob_data "$r" "$BB_MANIFEST")
	# the same manifest, pretty-printed: same meaning, other bytes
	jq . "$f" >"$f.new" && mv "$f.new" "$f"
	before=$(store_snapshot)
	run --separate-stderr barge pull "$(reg_addr "$r")/library/busybox@$BB_MANIFEST"
	assert_failed
	assert_error_line "$stderr" "${BB_MANIFEST#sha256:}"
	assert_store_unchanged "$before"
}

@test "the registry dies mid-layer: one clear error, nothing stored; after a restart the pull works" {
	local r=$TEST_TMP/dying ref pid status_file before s
	reg_start "$r"
	images_seed "$r" big
	# 8 MiB through a relay at 1 MiB/s: about 8 s, plenty of time to kill it
	reg_proxy_start "$r" 1048576
	ref=$(reg_proxy_addr "$r")/library/big:latest
	before=$(store_snapshot)
	barge pull "$ref" >"$TEST_TMP/pull.out" 2>"$TEST_TMP/pull.err" &
	pid=$!
	reg_wait 30 eval '[ "$(reg_proxy_bytes "$r")" -gt 1048576 ]' ||
		fail "the download did not start: $(cat "$TEST_TMP/pull.err")"
	kill -0 "$pid" 2>/dev/null || fail "the pull ended before the registry was killed: $(cat "$TEST_TMP/pull.err")"
	reg_kill "$r"
	s=0
	wait "$pid" || s=$?
	[ "$s" -ne 0 ] || fail "the pull succeeded although the registry died mid-layer"
	[ "$s" -lt 124 ] || fail "the pull timed out or crashed (status $s): $(cat "$TEST_TMP/pull.err")"
	assert_error_line "$(cat "$TEST_TMP/pull.err")" "big|${BIG_LAYER:7:12}"
	assert_store_unchanged "$before"
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after the failed pull"
	# nothing left running (but the test's barged), nothing half-written visible
	[ -z "$(images_pids_naming "$ROOT" | grep -vxF "$(barged_pid)")" ] ||
		fail "a barge process is still running"
	reg_restart "$r"
	reg_proxy_rate "$r" 1000000000
	run --separate-stderr barge pull "$ref"
	assert_status 0
	assert_eq "$(inspect "$ref" .Id)" "\"$BIG_ID\""
	assert_eq "$(cmp "$SEED/bigdir/big.bin" "$(layer_dir "$(inspect "$ref" '.RootFS.Layers[0]' | tr -d '"')")/big.bin" && echo same)" same \
		"the 8 MiB file after the pull"
}

# pull_bg_started REG REF: the client pulling REF in the background (the
# client's own pid in PULL_PID: exec, no wrapper), once more than 2 MiB
# went through the relay of registry REG.
pull_bg_started() {
	local r=$1 ref=$2
	barged_ensure || return 1
	(exec "$BARGE" -H "unix://$BARGED_SOCK" pull "$ref") \
		</dev/null >"$TEST_TMP/pull.out" 2>"$TEST_TMP/pull.err" 3>&- &
	PULL_PID=$!
	reg_wait 30 eval '[ "$(reg_proxy_bytes "$r")" -gt 2097152 ]' ||
		fail "the download did not start: $(cat "$TEST_TMP/pull.err")"
}

# assert_second_pull REF: a pull at full speed completes with the 8 MiB file.
assert_second_pull() {
	run --separate-stderr barge pull "$1"
	assert_status 0
	assert_eq "$(inspect "$1" .Id)" "\"$BIG_ID\""
	assert_eq "$(cmp "$SEED/bigdir/big.bin" "$(layer_dir "$(inspect "$1" '.RootFS.Layers[0]' | tr -d '"')")/big.bin" && echo same)" same \
		"the 8 MiB file after the second pull"
}

@test "the client killed mid-layer: barged stops the pull, nothing half-done is visible; the next pull completes" {
	local r=$TEST_TMP/slow ref n1 n2
	reg_start "$r"
	images_seed "$r" big
	reg_proxy_start "$r" 1048576
	ref=$(reg_proxy_addr "$r")/library/big:latest
	pull_bg_started "$r" "$ref"
	{
		kill -9 "$PULL_PID"
		wait "$PULL_PID"
	} 2>/dev/null || true
	# barged notices the gone client at its next progress line and stops
	# downloading: the relay's byte count stops growing
	sleep 2
	n1=$(reg_proxy_bytes "$r")
	sleep 2
	n2=$(reg_proxy_bytes "$r")
	[ $((n2 - n1)) -lt 262144 ] || fail "barged kept downloading after the client left ($n1 -> $n2 bytes)"
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after the abandoned pull"
	[ -z "$(ls -A "$ROOT/layers" 2>/dev/null)" ] || fail "a layer of the abandoned pull is visible: $(ls -A "$ROOT/layers")"
	reg_proxy_rate "$r" 1000000000
	assert_second_pull "$ref"
}

@test "barged killed with SIGKILL mid-layer: nothing half-done is visible after a restart; the next pull completes" {
	local r=$TEST_TMP/slow ref
	reg_start "$r"
	images_seed "$r" big
	reg_proxy_start "$r" 1048576
	ref=$(reg_proxy_addr "$r")/library/big:latest
	pull_bg_started "$r" "$ref"
	barged_kill
	local s=0
	wait "$PULL_PID" || s=$?
	[ "$s" -ne 0 ] || fail "the pull succeeded although barged was killed"
	barged_restart
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after the killed pull"
	[ -z "$(ls -A "$ROOT/layers" 2>/dev/null)" ] || fail "a layer of the killed pull is visible: $(ls -A "$ROOT/layers")"
	# the killed pull's debris is swept when barged opens the store again
	[ -z "$(ls -A "$ROOT/tmp" 2>/dev/null)" ] || fail "tmp/ still holds the killed pull's debris: $(ls -A "$ROOT/tmp")"
	reg_proxy_rate "$r" 1000000000
	assert_second_pull "$ref"
}

# evil_pull KIND: pull evil/KIND; it must fail and leave the store and the
# canary as they were.
evil_pull() {
	local before
	before=$(store_snapshot)
	run --separate-stderr barge pull "$REG_ADDR/evil/$1:latest"
	assert_canary
	assert_failed
	assert_error_line "$stderr"
	# (the layer blob matched its digest: it may stay, the unpacked layer not)
	assert_store_unchanged "$before" --layers
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after the refused pull"
}

@test "hostile layer: a symlink to a dir outside, then a file through it" {
	evil_pull symlink
}

@test "hostile layer: a relative symlink climbing out (../../..), then a file through it" {
	evil_pull symlink-rel
}

@test "hostile layer: a chain of symlinks out, then a file through it" {
	evil_pull symlink-chain
}

@test "hostile layer: a file named ../../../<outside>" {
	evil_pull dotdot
}

@test "hostile layer: a file with an absolute name lands inside the layer, or is refused" {
	# untar.h (and docker): an absolute name is taken relative to the
	# layer's root, or the layer is refused; never written where it says.
	local before
	before=$(store_snapshot)
	run --separate-stderr barge pull "$REG_ADDR/evil/absolute:latest"
	assert_canary
	if [ "$status" -eq 0 ]; then
		local diff
		diff=$(inspect "$REG_ADDR/evil/absolute:latest" '.RootFS.Layers[0]' | tr -d '"')
		[ -f "$(layer_dir "$diff")$CANARY/x" ] || fail "the file is not inside the layer: $(find "$ROOT/layers" | head)"
	else
		assert_failed
		assert_error_line "$stderr"
		assert_store_unchanged "$before" --layers
	fi
}

@test "hostile layer: a hard link to a file outside the layer" {
	evil_pull hardlink
}

@test "hostile layer: a whiteout through a symlink (would delete a file outside)" {
	evil_pull whiteout
}

@test "hostile layer: an opaque whiteout through a symlink (would empty a dir outside)" {
	evil_pull opaque
}

@test "a symlink in one layer and a file through it in the next stay in their layers" {
	# Each layer unpacks into its own directory, so this is harmless (and
	# docker pulls it): the upper layer's a/ is a directory of its own.
	run --separate-stderr barge pull "$REG_ADDR/evil/stacked:latest"
	assert_canary
	if [ "$status" -eq 0 ]; then
		local layers d
		layers=$(inspect "$REG_ADDR/evil/stacked:latest" .RootFS.Layers)
		d=$(layer_dir "$(chain_id "$(jq -r '.[0]' <<<"$layers")" "$(jq -r '.[1]' <<<"$layers")")")
		[ -f "$d/a/x" ] || fail "the upper layer's a/x is not in its own dir"
		[ -L "$(layer_dir "$(jq -r '.[0]' <<<"$layers")")/a" ] || fail "the lower layer's symlink is gone"
	fi
}
