#!/usr/bin/env bats
# The local image cache through barge's command line: images, image
# inspect, history, tag, rmi, image prune, save, load, import, and the
# built-in hello-world archive.  Images come from a local registry (through
# --registry-mirror, so they have Docker Hub names) or from archives made
# by hand and by skopeo.

load images_helpers

setup_file() {
	images_setup_file || return 0
	REG=$IMG_FILE_TMP/plain
	export REG
	reg_start "$REG"
	images_seed "$REG" busybox twolayer
	MIRROR=$(reg_url "$REG")
	export MIRROR
}

teardown_file() {
	images_teardown_file
}

setup() {
	images_setup
	images_load_env "$REG"
	reg_mark "$REG"
}

teardown() {
	images_teardown
}

# pull_mirror NAME: pull docker.io/library/NAME through the mirror (the
# local registry).
pull_mirror() {
	barge --registry-mirror "$MIRROR" pull -q "$1" >/dev/null ||
		fail "pull of $1 through the mirror failed"
}

# hello_tar: the built hello-world archive, else one built now.
hello_tar() {
	if [ -f "$BARGE_BUILD/hello-world.tar" ]; then
		echo "$BARGE_BUILD/hello-world.tar"
	else
		sh "$IMG_REPO/src/hello/mkimage.sh" "$TEST_TMP/hello-world.tar" >&2 || return 1
		echo "$TEST_TMP/hello-world.tar"
	fi
}

# images_rows: `barge images` without its header, as "REPO TAG ID".
images_rows() {
	barge images "$@" | awk 'NR > 1 { print $1, $2, $3 }'
}

@test "images: Docker's table, -q, --digests, --filter reference=" {
	pull_mirror busybox
	pull_mirror twolayer
	barge tag busybox mybox:v1
	run --separate-stderr barge images
	assert_status 0
	local header
	header=$(head -n1 <<<"$output")
	[[ $header =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]] || fail "header: '$header'"
	run images_rows
	assert_contains "$output" "busybox latest ${BB_ID:7:12}"
	assert_contains "$output" "mybox v1 ${BB_ID:7:12}"
	assert_contains "$output" "twolayer latest ${TWO_ID:7:12}"
	assert_eq "$(wc -l <<<"$output")" 3 "rows"
	# sizes are human-readable, as docker prints them (e.g. 2.14MB)
	barge images | awk 'NR > 1 { print $NF }' | grep -qvE '^[0-9.]+(B|kB|MB|GB)$' &&
		fail "a SIZE is not like docker's: $(barge images)"
	# -q: short ids, one per image and tag, like docker
	run --separate-stderr barge images -q
	assert_status 0
	assert_eq "$(sort -u <<<"$output" | tr '\n' ' ')" "$(printf '%s\n' "${BB_ID:7:12}" "${TWO_ID:7:12}" | sort | tr '\n' ' ')" "images -q"
	# --digests: a DIGEST column after TAG
	run --separate-stderr barge images --digests
	assert_status 0
	[[ $(head -n1 <<<"$output") =~ ^REPOSITORY\ +TAG\ +DIGEST\ +IMAGE\ ID ]] || fail "header: '$(head -n1 <<<"$output")'"
	printf '%s\n' "$output" | grep -qE "^busybox +latest +$BB_MANIFEST +${BB_ID:7:12} " ||
		fail "no busybox row with its digest: '$output'"
	printf '%s\n' "$output" | grep -qE "^mybox +v1 +<none> +${BB_ID:7:12} " ||
		fail "mybox (tagged locally) should have no digest: '$output'"
	# --filter reference=
	run images_rows --filter reference=busybox
	assert_eq "$output" "busybox latest ${BB_ID:7:12}" "--filter reference=busybox"
	run images_rows --filter 'reference=*box'
	assert_eq "$(sort <<<"$output" | tr '\n' ,)" "busybox latest ${BB_ID:7:12},mybox v1 ${BB_ID:7:12}," "--filter reference=*box"
	run images_rows --filter reference=mybox:v1
	assert_eq "$output" "mybox v1 ${BB_ID:7:12}"
	run images_rows --filter reference=nothing-like-it
	assert_eq "$output" "" "--filter with no match"
	# an empty store: the header only
	ROOT=$TEST_TMP/empty
	run --separate-stderr barge images
	assert_status 0
	assert_eq "$(wc -l <<<"$output")" 1 "lines for an empty store"
}

@test "image inspect: Docker's fields; several images; an unknown one" {
	pull_mirror busybox
	run --separate-stderr barge image inspect busybox
	assert_status 0
	local j=$output
	assert_eq "$(jq -r 'type' <<<"$j")" array
	assert_eq "$(jq -r 'length' <<<"$j")" 1
	assert_eq "$(jq -r '.[0].Id' <<<"$j")" "$BB_ID" Id
	assert_eq "$(jq -c '.[0].RepoTags' <<<"$j")" '["busybox:latest"]'
	assert_eq "$(jq -c '.[0].RepoDigests' <<<"$j")" "[\"busybox@$BB_MANIFEST\"]"
	assert_eq "$(jq -r '.[0].Created' <<<"$j")" 2024-01-01T00:00:00Z
	assert_eq "$(jq -r '.[0].Architecture' <<<"$j")" amd64
	assert_eq "$(jq -r '.[0].Os' <<<"$j")" linux
	assert_eq "$(jq -c '.[0].Config.Cmd' <<<"$j")" '["sh"]'
	assert_eq "$(jq -c '.[0].Config.Env' <<<"$j")" '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
	assert_eq "$(jq -c '.[0].Config.Labels' <<<"$j")" '{"org.barge.test":"seed"}'
	assert_eq "$(jq -c '.[0].RootFS' <<<"$j")" "{\"Type\":\"layers\",\"Layers\":[\"$BB_DIFF\"]}"
	# Size: the unpacked layers, about the busybox binary (~2 MB)
	local size
	size=$(jq -r '.[0].Size' <<<"$j")
	[ "$size" -gt 1000000 ] && [ "$size" -lt 20000000 ] || fail "Size $size is not about 2 MB"
	# the same through `barge inspect`
	run --separate-stderr barge inspect busybox
	assert_status 0
	assert_eq "$(jq -r '.[0].Id' <<<"$output")" "$BB_ID" "barge inspect"
	# several: one element each, in order
	pull_mirror twolayer
	run --separate-stderr barge image inspect twolayer busybox
	assert_status 0
	assert_eq "$(jq -c '[.[].Id]' <<<"$output")" "[\"$TWO_ID\",\"$BB_ID\"]"
	# unknown: exit 1, one line naming it
	run --separate-stderr barge image inspect no-such-image
	assert_failed
	assert_error_line "$stderr" "no-such-image" "no such image|not found"
}

@test "history: one row per history entry, newest first" {
	pull_mirror twolayer
	run --separate-stderr barge history twolayer
	assert_status 0
	[[ $(head -n1 <<<"$output") =~ ^IMAGE\ +CREATED\ +CREATED\ BY\ +SIZE ]] || fail "header: '$(head -n1 <<<"$output")'"
	assert_eq "$(wc -l <<<"$output")" 4 "lines (header + 3 history entries)"
	# newest first: the CMD, then the rm, then the ADD of the bottom layer
	sed -n 2p <<<"$output" | grep -q 'CMD' || fail "row 1 is not the CMD entry: '$output'"
	sed -n 3p <<<"$output" | grep -q 'rm /etc/hostname' || fail "row 2 is not the second layer: '$output'"
	sed -n 4p <<<"$output" | grep -q 'ADD file:busybox-rootfs' || fail "row 3 is not the bottom layer: '$output'"
	# the top row carries the image's short id, as docker shows it
	sed -n 2p <<<"$output" | grep -q "^${TWO_ID:7:12} " || fail "row 1 does not start with the image id: '$output'"
	run --separate-stderr barge history no-such-image
	assert_failed
	assert_error_line "$stderr" "no-such-image"
}

@test "tag: another name for the same image; bad names and unknown sources refused" {
	pull_mirror busybox
	run --separate-stderr barge tag busybox mybox:v1
	assert_status 0
	assert_eq "$output" "" "tag prints nothing"
	run --separate-stderr barge tag "${BB_ID:7:12}" registry.example:5000/team/app
	assert_status 0
	assert_eq "$(inspect mybox:v1 .Id)" "\"$BB_ID\""
	assert_eq "$(inspect registry.example:5000/team/app:latest .Id)" "\"$BB_ID\""
	assert_eq "$(inspect busybox '.RepoTags | sort')" \
		'["busybox:latest","mybox:v1","registry.example:5000/team/app:latest"]' RepoTags
	# retagging moves the name
	pull_mirror twolayer
	run --separate-stderr barge tag twolayer mybox:v1
	assert_status 0
	assert_eq "$(inspect mybox:v1 .Id)" "\"$TWO_ID\"" "mybox:v1 after retagging"
	assert_eq "$(inspect busybox '.RepoTags | sort')" '["busybox:latest","registry.example:5000/team/app:latest"]'
	run --separate-stderr barge tag busybox 'Bad:Name'
	assert_failed
	assert_error_line "$stderr" "invalid reference|lowercase"
	run --separate-stderr barge tag no-such-image x:1
	assert_failed
	assert_error_line "$stderr" "no-such-image"
}

@test "rmi: untag one of several names, then delete the image and its layer" {
	pull_mirror busybox
	barge tag busybox mybox:v1
	run --separate-stderr barge rmi mybox:v1
	assert_status 0
	assert_eq "$output" "Untagged: mybox:v1"
	assert_eq "$(inspect busybox .Id)" "\"$BB_ID\"" "busybox is still there"
	[ -d "$(layer_dir "$BB_DIFF")" ] || fail "layer removed while busybox uses it"
	run --separate-stderr barge rmi busybox
	assert_status 0
	assert_line "Untagged: busybox:latest"
	assert_line "Untagged: busybox@$BB_MANIFEST"
	assert_line "Deleted: $BB_ID"
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after rmi"
	[ ! -e "$(layer_dir "$BB_DIFF")" ] || fail "the layer outlived its last image"
	run --separate-stderr barge rmi busybox
	assert_failed
	assert_error_line "$stderr" "busybox" "no such image|not found"
}

@test "rmi: an id with several names needs -f; -f untags them all and deletes" {
	pull_mirror busybox
	barge tag busybox mybox:v1
	barge tag busybox mybox:v2
	run --separate-stderr barge rmi "${BB_ID:7:12}"
	assert_failed
	assert_error_line "$stderr" "${BB_ID:7:12}" "force|-f|multiple"
	assert_eq "$(inspect busybox '.RepoTags | length')" 3 "tags after the refused rmi"
	run --separate-stderr barge rmi -f "${BB_ID:7:12}"
	assert_status 0
	assert_line "Untagged: busybox:latest"
	assert_line "Untagged: mybox:v1"
	assert_line "Untagged: mybox:v2"
	assert_line "Deleted: $BB_ID"
	run --separate-stderr barge images -q
	assert_eq "$output" ""
	[ -z "$(ls -A "$ROOT/layers" 2>/dev/null)" ] || fail "layers left: $(ls -A "$ROOT/layers")"
	# several at once, and -f on an unknown name still fails
	pull_mirror busybox
	pull_mirror twolayer
	run --separate-stderr barge rmi busybox twolayer
	assert_status 0
	assert_line "Deleted: $BB_ID"
	assert_line "Deleted: $TWO_ID"
	run --separate-stderr barge rmi -f no-such-image
	assert_failed
}

@test "rmi: a layer shared by two images stays until the last of them goes" {
	pull_mirror busybox
	pull_mirror twolayer
	run --separate-stderr barge rmi busybox
	assert_status 0
	[ -x "$(layer_dir "$BB_DIFF")/bin/busybox" ] || fail "the shared layer went with busybox"
	[ -d "$(layer_dir "$TWO_CHAIN2")" ] || fail "twolayer's own layer went with busybox"
	assert_eq "$(inspect twolayer .Id)" "\"$TWO_ID\""
	run --separate-stderr barge rmi twolayer
	assert_status 0
	[ ! -e "$(layer_dir "$BB_DIFF")" ] && [ ! -e "$(layer_dir "$TWO_CHAIN2")" ] ||
		fail "layers left after the last image: $(ls -A "$ROOT/layers")"
	# busybox again: the layer comes back (a new download, a new unpack)
	pull_mirror busybox
	[ -x "$(layer_dir "$BB_DIFF")/bin/busybox" ] || fail "layer not restored by a new pull"
}

@test "image prune: dangling images only; -a every unused image" {
	pull_mirror busybox
	# a dangling image: imported without a name
	run --separate-stderr barge import "$SEED/layer2.tar"
	assert_status 0
	local dangling
	dangling=$(tail -n1 <<<"$output")
	[[ $dangling == sha256:* ]] || fail "import did not print the id: '$output'"
	run images_rows
	assert_contains "$output" "<none> <none> ${dangling:7:12}"
	run --separate-stderr barge image prune -f
	assert_status 0
	assert_contains "$output" "$dangling" "prune output (Deleted: ...)"
	run --separate-stderr barge images -q
	assert_eq "$output" "${BB_ID:7:12}" "images after prune"
	# -a: unused images too (no containers exist, so all of them)
	run --separate-stderr barge image prune -a -f
	assert_status 0
	run --separate-stderr barge images -q
	assert_eq "$output" "" "images after prune -a"
	[ -z "$(ls -A "$ROOT/layers" 2>/dev/null)" ] || fail "layers left after prune -a"
}

@test "save and load: a round trip to another store keeps ids, tags and files" {
	pull_mirror busybox
	pull_mirror twolayer
	run --separate-stderr barge save -o "$TEST_TMP/two.tar" busybox twolayer
	assert_status 0
	[ -s "$TEST_TMP/two.tar" ] || fail "no archive"
	# docker's layout: manifest.json with both images
	assert_eq "$(tar -xOf "$TEST_TMP/two.tar" manifest.json | jq -c '[.[].RepoTags[]] | sort')" \
		'["busybox:latest","twolayer:latest"]' "RepoTags in manifest.json"
	ROOT=$TEST_TMP/other
	run --separate-stderr barge load -i "$TEST_TMP/two.tar"
	assert_status 0
	assert_line "Loaded image: busybox:latest"
	assert_line "Loaded image: twolayer:latest"
	assert_eq "$(inspect busybox .Id)" "\"$BB_ID\""
	assert_eq "$(inspect twolayer .Id)" "\"$TWO_ID\""
	assert_eq "$(inspect twolayer .RootFS.Layers)" "[\"$BB_DIFF\",\"$TWO_DIFF2\"]"
	local d
	d=$(layer_dir "$TWO_CHAIN2")
	assert_eq "$(stat -c '%F %t:%T' "$d/etc/hostname")" "character special file 0:0" "whiteout after load"
	# stdout and stdin: barge save busybox | barge load
	ROOT=$TEST_TMP/root
	barge save busybox >"$TEST_TMP/bb.tar" || fail "save to stdout failed"
	tar -tf "$TEST_TMP/bb.tar" | grep -qx manifest.json || fail "save to stdout wrote no archive"
	ROOT=$TEST_TMP/third
	run --separate-stderr barge_stdin load <"$TEST_TMP/bb.tar"
	assert_status 0
	assert_eq "$output" "Loaded image: busybox:latest"
	assert_eq "$(inspect busybox .Id)" "\"$BB_ID\""
	# -q prints nothing; loading what is there already is fine
	run --separate-stderr barge load -q -i "$TEST_TMP/bb.tar"
	assert_status 0
	assert_eq "$output" "" "load -q"
}

@test "save: the layer tars keep .wh. whiteouts, and skopeo reads the archive" {
	pull_mirror twolayer
	run --separate-stderr barge save -o "$TEST_TMP/t.tar" twolayer
	assert_status 0
	local layers l2
	layers=$(tar -xOf "$TEST_TMP/t.tar" manifest.json | jq -r '.[0].Layers[]')
	assert_eq "$(wc -l <<<"$layers")" 2 "layers in manifest.json"
	l2=$(tail -n1 <<<"$layers")
	# the second layer as a tar again, with its diff id
	assert_eq "sha256:$(tar -xOf "$TEST_TMP/t.tar" "$l2" | sha256sum | cut -d' ' -f1)" "$TWO_DIFF2" "diff id of the saved layer"
	run bash -c "tar -xOf '$TEST_TMP/t.tar' '$l2' | tar -tf -"
	assert_contains "$output" "etc/.wh.hostname"
	assert_contains "$output" "usr/.wh..wh..opq"
	# skopeo: the config is the image's, byte for byte
	run sk inspect --raw --config "docker-archive:$TEST_TMP/t.tar"
	assert_status 0
	assert_eq "sha256:$(printf %s "$output" | sha256sum | cut -d' ' -f1)" "$TWO_ID" "config digest as skopeo reads it"
}

@test "load: archives from skopeo (docker-archive, oci-archive) and docker save's layout keep the id" {
	local L=$SEED/layout
	sk copy -q "oci:$L:busybox" "docker-archive:$TEST_TMP/da.tar:busybox:fromskopeo" ||
		fail "skopeo could not write a docker-archive"
	sk copy -q "oci:$L:twolayer" "oci-archive:$TEST_TMP/oa.tar:twolayer:fromskopeo" ||
		fail "skopeo could not write an oci-archive"
	run --separate-stderr barge load -i "$TEST_TMP/da.tar"
	assert_status 0
	assert_contains "$output" "busybox:fromskopeo"
	assert_eq "$(inspect busybox:fromskopeo .Id)" "\"$BB_ID\"" "id from the docker-archive"
	run --separate-stderr barge load -i "$TEST_TMP/oa.tar"
	assert_status 0
	assert_eq "$(inspect "$TWO_ID" .Id)" "\"$TWO_ID\"" "id from the oci-archive"
	assert_eq "$(inspect "$TWO_ID" .RootFS.Layers)" "[\"$BB_DIFF\",\"$TWO_DIFF2\"]"
	# docker 20.10's `docker save` layout (<id>/layer.tar, repositories)
	sh "$IMG_LIB/peers/mkimage.sh" "$SEED/rootfs" "$TEST_TMP/ds.tar" localhost/barge-test:saved
	local cfg
	cfg=$(tar -xOf "$TEST_TMP/ds.tar" manifest.json | jq -r '.[0].Config')
	run --separate-stderr barge load -i "$TEST_TMP/ds.tar"
	assert_status 0
	assert_eq "$output" "Loaded image: localhost/barge-test:saved"
	assert_eq "$(inspect localhost/barge-test:saved .Id)" "\"sha256:${cfg%.json}\""
	# an OCI layout as a plain tar (the core of what Docker 25's `docker save` writes)
	sk copy -q "oci:$L:busybox" "oci:$TEST_TMP/layout:busybox" || fail "skopeo could not write an OCI layout"
	(cd "$TEST_TMP/layout" && tar -cf "$TEST_TMP/layout.tar" $(ls -A))
	ROOT=$TEST_TMP/layout-root
	run --separate-stderr barge load -i "$TEST_TMP/layout.tar"
	assert_status 0
	assert_eq "$(inspect "$BB_ID" .Id)" "\"$BB_ID\"" "busybox from an OCI layout"
}

@test "load: a broken archive fails with one line and changes nothing" {
	pull_mirror busybox
	barge save -o "$TEST_TMP/bb.tar" busybox
	local before
	ROOT=$TEST_TMP/fresh
	before=$(store_snapshot)
	# cut short in the middle of the layer
	head -c $(($(stat -c %s "$TEST_TMP/bb.tar") / 2)) "$TEST_TMP/bb.tar" >"$TEST_TMP/short.tar"
	run --separate-stderr barge load -i "$TEST_TMP/short.tar"
	assert_failed
	assert_error_line "$stderr"
	assert_store_unchanged "$before"
	run --separate-stderr barge images -q
	assert_eq "$output" ""
	# not a tar at all
	head -c 4096 /dev/urandom >"$TEST_TMP/noise.tar"
	run --separate-stderr barge load -i "$TEST_TMP/noise.tar"
	assert_failed
	assert_error_line "$stderr"
	# a layer whose bytes do not match the config's diff id
	mkdir "$TEST_TMP/x"
	tar -C "$TEST_TMP/x" -xf "$TEST_TMP/bb.tar"
	local l
	l=$(jq -r '.[0].Layers[0]' "$TEST_TMP/x/manifest.json")
	echo tampered >"$TEST_TMP/extra"
	tar -C "$TEST_TMP" -rf "$TEST_TMP/x/$l" extra
	(cd "$TEST_TMP/x" && tar -cf "$TEST_TMP/bad.tar" $(ls -A))
	run --separate-stderr barge load -i "$TEST_TMP/bad.tar"
	assert_failed
	assert_error_line "$stderr" "${BB_DIFF#sha256:}|digest|diff"
	assert_store_unchanged "$before"
	run --separate-stderr barge load -i "$TEST_TMP/no-such-file.tar"
	assert_failed
	assert_error_line "$stderr" "no-such-file.tar"
}

@test "import: a rootfs tar becomes a one-layer image; gzip from stdin gives the same layer" {
	local tarf=$SEED/rootfs-import.tar diff arch
	diff=sha256:$(sha256sum "$tarf" | cut -d' ' -f1)
	run --separate-stderr barge import "$tarf" imp:1
	assert_status 0
	local id
	id=$(tail -n1 <<<"$output")
	[[ $id == sha256:* ]] || fail "import should print the new id: '$output'"
	assert_eq "$(inspect imp:1 .Id)" "\"$id\""
	assert_eq "$(inspect imp:1 .RepoTags)" '["imp:1"]'
	assert_eq "$(inspect imp:1 .RootFS.Layers)" "[\"$diff\"]" "diff id = sha256 of the tar"
	assert_eq "$(inspect imp:1 .Os)" '"linux"'
	case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch= ;; esac
	[ -z "$arch" ] || assert_eq "$(inspect imp:1 .Architecture)" "\"$arch\""
	[ -x "$(layer_dir "$diff")/bin/busybox" ] || fail "import did not unpack the rootfs"
	# the same tar, gzip'd, from stdin
	gzip -c "$tarf" >"$TEST_TMP/rootfs.tgz"
	run --separate-stderr barge_stdin import - imp:gz <"$TEST_TMP/rootfs.tgz"
	assert_status 0
	assert_eq "$(inspect imp:gz .RootFS.Layers)" "[\"$diff\"]" "diff id of the gzip'd import"
	# not a tar
	local before ids
	before=$(store_snapshot)
	ids=$(barge images -q | sort -u)
	head -c 3000 /dev/urandom >"$TEST_TMP/noise"
	run --separate-stderr barge import "$TEST_TMP/noise" noise:1
	assert_failed
	assert_error_line "$stderr"
	assert_store_unchanged "$before" --layers
	assert_eq "$(barge images -q | sort -u)" "$ids" "images after the failed import"
}

@test "import: --change and --message set the config as dockerd does; a bad change is a 400 naming it" {
	local tarf=$SEED/rootfs-import.tar
	run --separate-stderr barge import -m note -c 'CMD ["echo", "imported"]' \
		-c 'ENTRYPOINT /bin/sh -x' -c 'ENV a=1 b="2 3"' -c 'ENV c 4 5' -c 'EXPOSE 80 90/udp' \
		-c 'LABEL x=y "z w"=v' -c 'USER nobody' -c 'VOLUME ["/v1"]' -c 'WORKDIR /w' \
		-c 'WORKDIR rel' -c 'STOPSIGNAL SIGKILL' -c 'ONBUILD RUN echo hi' "$tarf" chg:1
	assert_status 0
	assert_eq "$(inspect chg:1 .Comment)" '"note"'
	assert_json "$(inspect chg:1 .Config | jq -c '{Cmd, Entrypoint, Env, ExposedPorts, Labels, User,
		Volumes, WorkingDir, StopSignal, OnBuild}')" \
		'{"Cmd":["echo","imported"],"Entrypoint":["/bin/sh","-c","/bin/sh -x"],
		  "Env":["a=1","b=2 3","c=4 5"],"ExposedPorts":{"80/tcp":{},"90/udp":{}},
		  "Labels":{"x":"y","z w":"v"},"User":"nobody","Volumes":{"/v1":{}},
		  "WorkingDir":"/w/rel","StopSignal":"SIGKILL","OnBuild":["RUN echo hi"]}'
	run barge history --format '{{.Comment}}' chg:1
	assert_eq "$output" note "history comment"
	# without them: Docker's comment, an empty config
	barge import "$tarf" chg:2 >/dev/null
	assert_eq "$(inspect chg:2 .Comment)" '"Imported from -"'
	assert_eq "$(inspect chg:2 .Config.Cmd)" null
	# anything but the instructions above is refused before the tar is read
	local before
	before=$(store_snapshot)
	run --separate-stderr barge import -c 'RUN true' "$tarf" chg:3
	assert_failed
	assert_contains "$stderr" "run is not a valid change command"
	run --separate-stderr barge import -c 'ENV a' "$tarf" chg:3
	assert_failed
	assert_contains "$stderr" "ENV must have two arguments"
	assert_store_unchanged "$before" --layers
	barged_ensure || fail "barged did not start"
	local out
	out=$(api '/images/create?fromSrc=-&changes=CMD%20true&changes=ADD%20a%20b' -X POST \
		--data-binary @"$tarf")
	assert_eq "$(tail -n1 <<<"$out")" 400 "status of a bad change"
	assert_eq "$(head -n1 <<<"$out" | jq -r .message)" "add is not a valid change command"
}

@test "hello-world: the built-in archive loads with no network; its Cmd is /hello" {
	local t
	t=$(hello_tar) || fail "could not build the hello-world archive"
	run --separate-stderr barge load -i "$t"
	assert_status 0
	assert_eq "$output" "Loaded image: hello-world:latest"
	assert_eq "$(inspect hello-world .Config.Cmd)" '["/hello"]'
	assert_eq "$(inspect hello-world .RepoTags)" '["hello-world:latest"]'
	# the program in its layer prints the greeting (it is static: runs as is)
	local diff
	diff=$(inspect hello-world '.RootFS.Layers[0]' | tr -d '"')
	run "$(layer_dir "$diff")/hello"
	assert_status 0
	assert_contains "$output" "Hello from barge!"
	# a small image
	[ "$(inspect hello-world .Size)" -lt 1000000 ] || fail "hello-world is $(inspect hello-world .Size) bytes"
}

# api PATH [CURL ARGS...]: a request to the test's barged, the body on
# stdout and the status on the last line.
api() {
	local path=$1
	shift
	curl -s --max-time 60 --unix-socket "$BARGED_SOCK" -w '\n%{http_code}' "$@" "http://barged/v1.41$path"
}

@test "API: image events; dockerd's list, error and pull stream shapes" {
	local t0 out
	barged_ensure --registry-mirror "$MIRROR" || fail "barged did not start"
	t0=$(date +%s)
	out=$(api /images/load -X POST --data-binary @"$(hello_tar)")
	assert_eq "$(tail -n1 <<<"$out")" 200 "load status"
	assert_eq "$(head -n1 <<<"$out" | jq -r .stream)" "Loaded image: hello-world:latest"
	out=$(api '/images/hello-world/tag?repo=foo&tag=1' -X POST)
	assert_eq "$(tail -n1 <<<"$out")" 201 "tag status"
	out=$(api /images/foo:1 -X DELETE)
	assert_json "$(head -n1 <<<"$out")" '[{"Untagged":"foo:1"}]' "rmi of one of two names"
	out=$(api '/images/create?fromImage=busybox&tag=latest' -X POST)
	assert_eq "$(tail -n1 <<<"$out")" 200 "pull status"
	# a stream of progress objects, dockerd's first and last lines
	assert_json "$(sed -n 1p <<<"$out")" '{"status":"Pulling from library/busybox","id":"latest"}'
	assert_contains "$out" "{\"status\":\"Digest: $BB_MANIFEST\"}"
	assert_contains "$out" '"status":"Status: Downloaded newer image for busybox:latest"'
	assert_contains "$out" '"progressDetail":{"current":'
	# a missing tag: a plain 404 before any stream
	out=$(api '/images/create?fromImage=busybox&tag=nope' -X POST)
	assert_eq "$(tail -n1 <<<"$out")" 404 "status of a pull of a missing tag"
	assert_contains "$(head -n1 <<<"$out" | jq -r .message)" "busybox:nope"
	local hello_id
	hello_id=$(inspect hello-world .Id | tr -d '"')
	out=$(api /images/hello-world -X DELETE)
	assert_eq "$(tail -n1 <<<"$out")" 200 "rmi status"
	out=$(api /images/json)
	assert_eq "$(head -n1 <<<"$out" | jq -c '[.[] | .RepoTags, .SharedSize, .Containers]')" \
		'[["busybox:latest"],-1,-1]' "list entries"
	out=$(api '/images/json?filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D')
	assert_eq "$(tail -n1 <<<"$out")" 400 "status of an unknown filter"
	out=$(api "/events?since=$t0&until=$(($(date +%s) + 1))&filters=%7B%22type%22%3A%5B%22image%22%5D%7D")
	assert_eq "$(head -n -1 <<<"$out" | jq -r '.Action' | tr '\n' ' ')" \
		"load tag untag pull untag delete " "image events"
	assert_eq "$(head -n -1 <<<"$out" | jq -r 'select(.Action == "load") | .Actor.ID')" \
		"$hello_id" "the load event names the image id"
}

@test "API: push progress has one row per layer, none for the config blob (as dockerd)" {
	local a out ids layers cfg
	pull_mirror twolayer
	a=$(reg_addr "$REG")
	barge tag twolayer "$a/progress/two:1"
	out=$(api "/images/$a/progress/two/push?tag=1" -X POST -H 'X-Registry-Auth: e30=')
	assert_eq "$(tail -n1 <<<"$out")" 200 "push status"
	ids=$(head -n -1 <<<"$out" | jq -r 'select(.id != null) | .id' | sort -u | tr '\n' ' ')
	layers=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' \
		"http://$a/v2/progress/two/manifests/1" | jq -r '.layers[].digest | .[7:19]' | sort -u | tr '\n' ' ')
	[ -n "$layers" ] || fail "no manifest for progress/two:1 in the registry"
	assert_eq "$ids" "$layers" "ids of the progress rows"
	cfg=$(inspect twolayer .Id | tr -d '"')
	assert_not_contains "$out" "\"id\":\"${cfg:7:12}\"" "push progress"
	# one Preparing row per layer
	assert_eq "$(head -n -1 <<<"$out" | jq -s '[.[] | select(.status == "Preparing")] | length')" \
		"$(wc -w <<<"$layers")" "Preparing rows"
}
