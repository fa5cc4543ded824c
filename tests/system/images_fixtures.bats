#!/usr/bin/env bats
# The fixtures of the image tests, checked with skopeo, curl and podman
# alone (no barge): registries with and without auth, the token server, the
# seeded images (digests, platforms, whiteouts, hostile layers), the slow
# proxy, the hello-world archive, and that stopping leaves nothing behind.
# If one of these fails, the barge tests that use the fixture are suspect.

load images_helpers

setup_file() {
	images_setup_file --no-barge || return 0
	REG=$IMG_FILE_TMP/plain
	export REG
	reg_start "$REG"
	images_seed "$REG" busybox multi twolayer formats
}

teardown_file() {
	images_teardown_file
}

setup() {
	images_setup --no-barge
	images_load_env "$REG"
}

teardown() {
	images_teardown
}

@test "fixtures: seeded images have the digests the tests expect" {
	local a
	a=$(reg_addr "$REG")
	# the config blob the registry serves for busybox:latest is the image id
	run sk inspect --tls-verify=false --raw --config "docker://$a/library/busybox:latest"
	assert_status 0
	assert_eq "sha256:$(printf %s "$output" | sha256sum | cut -d' ' -f1)" "$BB_ID" "busybox config digest"
	assert_eq "$(jq -c .rootfs.diff_ids <<<"$output")" "[\"$BB_DIFF\"]" "busybox diff ids"
	run sk inspect --tls-verify=false --raw "docker://$a/library/busybox:latest"
	assert_status 0
	assert_eq "$(jq -r .mediaType <<<"$output")" application/vnd.docker.distribution.manifest.v2+json
	assert_eq "sha256:$(printf %s "$output" | sha256sum | cut -d' ' -f1)" "$BB_MANIFEST" "busybox manifest digest"
	# the registry's digest header agrees
	run curl -sfI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$a/v2/library/busybox/manifests/latest"
	assert_contains "$output" "Docker-Content-Digest: $BB_MANIFEST"
	# twolayer: OCI, two layers, the bottom one shared with busybox
	run sk inspect --tls-verify=false --raw --config "docker://$a/library/twolayer:latest"
	assert_eq "sha256:$(printf %s "$output" | sha256sum | cut -d' ' -f1)" "$TWO_ID"
	assert_eq "$(jq -c .rootfs.diff_ids <<<"$output")" "[\"$BB_DIFF\",\"$TWO_DIFF2\"]"
	assert_eq "$(chain_id "$BB_DIFF" "$TWO_DIFF2")" "$TWO_CHAIN2"
	# its second layer deletes etc/hostname and makes usr opaque
	run bash -c "curl -sf 'http://$a/v2/library/twolayer/blobs/$TWO_LAYER2' | tar tzvf -"
	assert_status 0
	assert_contains "$output" "etc/.wh.hostname"
	assert_contains "$output" "usr/.wh..wh..opq"
	assert_contains "$output" "etc/mtab -> /proc/self/mounts"
	# zstd and uncompressed layers
	run sk inspect --tls-verify=false --raw "docker://$a/library/zstd:latest"
	assert_eq "$(jq -r '.layers[0].mediaType' <<<"$output")" application/vnd.oci.image.layer.v1.tar+zstd
	run sk inspect --tls-verify=false --raw "docker://$a/library/raw:latest"
	assert_eq "$(jq -r '.layers[0].mediaType' <<<"$output")" application/vnd.oci.image.layer.v1.tar
}

@test "fixtures: the manifest list and the OCI index resolve per platform" {
	local a repo idx
	a=$(reg_addr "$REG")
	for repo in multi multioci; do
		run sk inspect --tls-verify=false --raw "docker://$a/library/$repo:latest"
		assert_status 0
		idx=$output
		[ "$repo" = multi ] && assert_eq "$(jq -r .mediaType <<<"$idx")" \
			application/vnd.docker.distribution.manifest.list.v2+json
		[ "$repo" = multioci ] && assert_eq "$(jq -r .mediaType <<<"$idx")" \
			application/vnd.oci.image.index.v1+json
		assert_eq "$(jq -c '[.manifests[].platform | .os + "/" + .architecture]' <<<"$idx")" \
			'["linux/amd64","linux/arm64"]' "$repo platforms"
		run sk inspect --tls-verify=false --override-arch arm64 --raw --config "docker://$a/library/$repo:latest"
		assert_eq "sha256:$(printf %s "$output" | sha256sum | cut -d' ' -f1)" "$ARM_ID" "$repo arm64 config"
		assert_eq "$(jq -r .architecture <<<"$output")" arm64
		run sk inspect --tls-verify=false --override-arch amd64 --raw --config "docker://$a/library/$repo:latest"
		assert_eq "sha256:$(printf %s "$output" | sha256sum | cut -d' ' -f1)" "$BB_ID" "$repo amd64 config"
	done
	idx=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
		"http://$a/v2/library/multi/manifests/latest")
	assert_eq "sha256:$(printf %s "$idx" | sha256sum | cut -d' ' -f1)" "$MULTI_INDEX"
	assert_eq "$(jq -r '.manifests[1].digest' <<<"$idx")" "$ARM_MANIFEST"
}

@test "fixtures: htpasswd registry wants its credentials" {
	local r=$TEST_TMP/basic a
	reg_start "$r" --auth htpasswd --user "alice:won:der@land"
	images_seed "$r" busybox
	a=$(reg_addr "$r")
	run curl -s -o /dev/null -w '%{http_code}' "http://$a/v2/"
	assert_eq "$output" 401
	run curl -s -o /dev/null -w '%{http_code}' -u "alice:won:der@land" "http://$a/v2/"
	assert_eq "$output" 200
	run curl -s -o /dev/null -w '%{http_code}' -u alice:nope "http://$a/v2/"
	assert_eq "$output" 401
	run sk inspect --tls-verify=false --creds "alice:won:der@land" "docker://$a/library/busybox:latest"
	assert_status 0
	run sk inspect --tls-verify=false "docker://$a/library/busybox:latest"
	[ "$status" -ne 0 ]
}

@test "fixtures: token registry: tokens from token_server.py, scopes, read-only users" {
	local r=$TEST_TMP/tok a t
	reg_start "$r" --auth token --user bob:builder --ro-user reader:only
	images_seed "$r" busybox
	a=$(reg_addr "$r")
	t=127.0.0.1:$(cat "$r/token/port")
	run curl -si "http://$a/v2/library/busybox/manifests/latest"
	assert_contains "$output" "Bearer realm=\"http://$t/token\",service=\"barge-test-registry\""
	# skopeo pushed with bob's token (push,pull scope) and reads with it
	run sk inspect --tls-verify=false --creds bob:builder "docker://$a/library/busybox:latest"
	assert_status 0
	run jq -sc '[.[] | select(.user == "bob" and .status == 200) | .scopes[]] | unique' "$r/token/requests.log"
	assert_contains "$output" "repository:library/busybox:pull,push"
	# wrong password: the token server says 401
	run curl -s -o /dev/null -w '%{http_code}' -u bob:nope \
		"http://$t/token?service=barge-test-registry&scope=repository:library/busybox:pull"
	assert_eq "$output" 401
	run sk inspect --tls-verify=false --creds bob:nope "docker://$a/library/busybox:latest"
	[ "$status" -ne 0 ]
	# anonymous: a token without access, which the registry refuses
	run sk inspect --tls-verify=false "docker://$a/library/busybox:latest"
	[ "$status" -ne 0 ]
	# a read-only user pulls but cannot push
	run sk inspect --tls-verify=false --creds reader:only "docker://$a/library/busybox:latest"
	assert_status 0
	run sk copy -q --dest-tls-verify=false --dest-creds reader:only "oci:$SEED/layout:busybox" \
		"docker://$a/library/other:latest"
	[ "$status" -ne 0 ]
}

@test "fixtures: the slow proxy relays, dies with its registry mid-body, serves again after a restart" {
	local r=$TEST_TMP/slow a pid bytes
	reg_start "$r"
	images_seed "$r" big
	reg_proxy_start "$r" 1048576
	a=$(reg_proxy_addr "$r")
	curl -s -o "$TEST_TMP/big.out" "http://$a/v2/library/big/blobs/$BIG_LAYER" 3>&- &
	pid=$!
	reg_wait 20 eval '[ "$(reg_proxy_bytes "$r")" -gt 524288 ]'
	reg_kill "$r"
	wait "$pid" || true
	bytes=$(stat -c %s "$TEST_TMP/big.out")
	[ "$bytes" -lt $((8 * 1024 * 1024)) ] || fail "the download was not cut short ($bytes bytes)"
	run curl -s -o /dev/null -w '%{http_code}' "http://$a/v2/"
	assert_eq "$output" 000 "status through the proxy with the registry down"
	reg_restart "$r"
	run curl -s -o /dev/null -w '%{http_code}' "http://$a/v2/"
	assert_eq "$output" 200
	assert_eq "$(reg_addr "$r")" "127.0.0.1:$(cat "$r/port")"
}

@test "fixtures: hostile layers reach the registry intact" {
	local r=$TEST_TMP/evil a k d
	reg_start "$r"
	mkdir -p "$TEST_TMP/canary"
	for k in symlink dotdot hardlink whiteout; do
		/usr/bin/python3 "$IMG_LIB/registry/evil_layer.py" "$k" "$TEST_TMP/$k.tar" "$TEST_TMP/canary"
		oci_image "$TEST_TMP/layout" "$k" "$TEST_TMP/$k.tar"
		seed_push "$TEST_TMP/layout" "$k" "$r" "evil/$k:latest" >/dev/null
	done
	a=$(reg_addr "$r")
	d=$(seed_info "$TEST_TMP/layout" symlink '.layers[0].digest')
	run bash -c "curl -sf 'http://$a/v2/evil/symlink/blobs/$d' | tar tzvf -"
	assert_contains "$output" "a -> $TEST_TMP/canary"
	assert_contains "$output" "a/x"
	d=$(seed_info "$TEST_TMP/layout" dotdot '.layers[0].digest')
	run bash -c "curl -sf 'http://$a/v2/evil/dotdot/blobs/$d' | tar tzvf - 2>&1"
	assert_contains "$output" "../../../../"
}

@test "fixtures: the hello-world archive is reproducible and podman loads it" {
	run sh "$IMG_REPO/src/hello/mkimage.sh" "$TEST_TMP/a.tar"
	assert_status 0
	sh "$IMG_REPO/src/hello/mkimage.sh" "$TEST_TMP/b.tar"
	cmp "$TEST_TMP/a.tar" "$TEST_TMP/b.tar" || fail "two builds differ"
	local cfg id
	cfg=$(tar -xOf "$TEST_TMP/a.tar" manifest.json | jq -r '.[0].Config')
	id=sha256:${cfg%.json}
	assert_eq "$(tar -xOf "$TEST_TMP/a.tar" "$cfg" | jq -c .config.Cmd)" '["/hello"]'
	assert_eq "$(tar -xOf "$TEST_TMP/a.tar" "$cfg" | sha256sum | cut -d' ' -f1)" "${id#sha256:}"
	# the binary alone prints the greeting
	mkdir "$TEST_TMP/x"
	tar -xOf "$TEST_TMP/a.tar" "$(tar -xOf "$TEST_TMP/a.tar" manifest.json | jq -r '.[0].Layers[0]')" |
		tar -xf - -C "$TEST_TMP/x"
	run "$TEST_TMP/x/hello"
	assert_status 0
	assert_contains "$output" "Hello from barge!"
	pm_setup
	run pm load -i "$TEST_TMP/a.tar"
	assert_status 0
	run pm image inspect --format '{{.Id}}' hello-world:latest
	assert_status 0
	assert_eq "sha256:$output" "$id" "podman's id of hello-world"
}

@test "fixtures: stopping the registries leaves no process behind" {
	local r=$TEST_TMP/gone
	reg_start "$r" --auth token
	reg_proxy_start "$r"
	local pids
	pids="$(cut -d' ' -f1 "$r/registry.pid") $(cut -d' ' -f1 "$r/token/token.pid") $(cut -d' ' -f1 "$r/proxy/proxy.pid")"
	reg_stop_all "$TEST_TMP"
	local p
	for p in $pids; do
		! kill -0 "$p" 2>/dev/null || fail "process $p is still alive"
	done
	[ -z "$(images_pids_naming "$TEST_TMP")" ] || fail "processes left: $(images_pids_naming "$TEST_TMP")"
}
