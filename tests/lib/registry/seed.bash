# seed.bash: images for the test registries, made by hand and pushed with
# skopeo (never with barge: the fixtures must not depend on what they test).
#
#   seed_tar OUT DIR            reproducible tar of DIR's entries (sorted,
#                               0:0, fixed mtime, no "./" prefix)
#   oci_init LAYOUT             an empty OCI image layout
#   oci_image LAYOUT TAG [--arch A] [--variant V] [--os O] [--cmd JSON]
#             [--compress gzip|zstd|none] [--created-by TEXT]... LAYER.tar...
#                               an image of those layers (bottom first) in
#                               LAYOUT as TAG; writes LAYOUT/TAG.info:
#                               {config, manifest, arch, layers: [{digest,
#                               diff_id, size, media_type}], history: [...]}
#   seed_push LAYOUT TAG REG REPO[:TAG] [--v2s2] [--by-digest]
#                               copy it to the registry in directory REG
#                               (with the registry's credentials if it has
#                               auth); --v2s2 converts to Docker schema 2 (as
#                               Docker Hub serves most images); --by-digest
#                               pushes as REPO@<manifest digest> (no tag).
#                               Prints the manifest digest the registry has.
#   seed_index REG REPO TAG docker|oci DIGEST...
#                               PUT a Docker manifest list or an OCI index of
#                               those manifests (already in REPO, platforms
#                               read from their configs) as REPO:TAG; prints
#                               its digest
#   seed_sk ARGS...             skopeo, confined (see below)
#
# skopeo keeps a blob-info cache in /var/lib/containers/cache when run as
# root, with no option to move it: seed_sk runs it in a private mount
# namespace with a tmpfs on /var/lib, so nothing is written outside our temp
# dirs.  It also skips the trust policy and reads no host credentials.

SEED_MTIME=${SEED_MTIME:-1704067200} # 2024-01-01T00:00:00Z: images are reproducible
SEED_CREATED=${SEED_CREATED:-2024-01-01T00:00:00Z}

seed_err() { echo "seed: $*" >&2; }

seed_sk() {
	local tmp=${SEED_TMP:-${TMPDIR:-/tmp}}
	[ -f "$tmp/seed-auth.json" ] || echo '{}' >"$tmp/seed-auth.json"
	REGISTRY_AUTH_FILE=$tmp/seed-auth.json timeout -k 5 "${SEED_TIMEOUT:-120}" \
		unshare --mount --propagation private \
		sh -c 'mount -t tmpfs -o size=16m barge-seed-skopeo /var/lib && exec "$@"' sh \
		skopeo --insecure-policy --tmpdir "$tmp" "$@" </dev/null 3>&-
}

seed_tar() {
	local out=$1 dir=$2 names
	names=$(cd "$dir" && ls -A | LC_ALL=C sort)
	# shellcheck disable=SC2086
	(cd "$dir" && tar --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime="@$SEED_MTIME" --format=gnu -cf "$out" $names)
}

oci_init() {
	mkdir -p "$1/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
	[ -f "$1/index.json" ] || echo '{"schemaVersion":2,"manifests":[]}' >"$1/index.json"
}

# oci_blob LAYOUT FILE: moves FILE into the layout; prints "sha256:HEX SIZE".
oci_blob() {
	local h s
	h=$(sha256sum "$2" | cut -d' ' -f1) || return 1
	s=$(stat -c %s "$2")
	mv -f "$2" "$1/blobs/sha256/$h"
	echo "sha256:$h $s"
}

oci_image() {
	local layout=$1 tag=$2 arch=amd64 variant='' os=linux cmd='["sh"]' compress=gzip
	local created_by=() layers=() work l i=0 diff dg size mt
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--arch) arch=$2; shift 2 ;;
		--variant) variant=$2; shift 2 ;;
		--os) os=$2; shift 2 ;;
		--cmd) cmd=$2; shift 2 ;;
		--compress) compress=$2; shift 2 ;;
		--created-by) created_by+=("$2"); shift 2 ;;
		-*) seed_err "oci_image: unknown option $1"; return 1 ;;
		*) layers+=("$1"); shift ;;
		esac
	done
	oci_init "$layout"
	work=$(mktemp -d "$layout/.work.XXXXXX")
	echo '[]' >"$work/layers.json"
	echo '[]' >"$work/history.json"
	for l in "${layers[@]}"; do
		diff=sha256:$(sha256sum "$l" | cut -d' ' -f1)
		case $compress in
		gzip) gzip -n -c "$l" >"$work/blob"; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
		zstd) zstd -q -c "$l" >"$work/blob"; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
		none) cp "$l" "$work/blob"; mt=application/vnd.oci.image.layer.v1.tar ;;
		*) seed_err "oci_image: unknown compression $compress"; return 1 ;;
		esac
		read -r dg size < <(oci_blob "$layout" "$work/blob")
		jq -c --arg d "$dg" --arg f "$diff" --argjson s "$size" --arg m "$mt" \
			'. + [{digest: $d, diff_id: $f, size: $s, media_type: $m}]' \
			"$work/layers.json" >"$work/x" && mv "$work/x" "$work/layers.json"
		jq -c --arg c "$SEED_CREATED" --arg b "${created_by[$i]:-/bin/sh -c #(nop) ADD file:$(basename "$l") in / }" \
			'. + [{created: $c, created_by: $b}]' "$work/history.json" >"$work/x" &&
			mv "$work/x" "$work/history.json"
		i=$((i + 1))
	done
	jq -c --arg c "$SEED_CREATED" --arg b "/bin/sh -c #(nop)  CMD $cmd" \
		'. + [{created: $c, created_by: $b, empty_layer: true}]' "$work/history.json" >"$work/x" &&
		mv "$work/x" "$work/history.json"
	# the config, as docker writes it (field order does not matter for us,
	# but the bytes fix the image id, so jq -c makes them reproducible)
	jq -nc --arg arch "$arch" --arg os "$os" --arg variant "$variant" --argjson cmd "$cmd" \
		--arg created "$SEED_CREATED" --slurpfile layers "$work/layers.json" \
		--slurpfile hist "$work/history.json" '{
		architecture: $arch, os: $os,
		config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
			Cmd: $cmd, WorkingDir: "/", Labels: {"org.barge.test": "seed"}},
		created: $created, history: $hist[0],
		rootfs: {type: "layers", diff_ids: [$layers[0][].diff_id]}
	} + (if $variant != "" then {variant: $variant} else {} end)' | tr -d '\n' >"$work/config"
	local cfg cfg_size man man_size
	read -r cfg cfg_size < <(oci_blob "$layout" "$work/config")
	jq -nc --arg cfg "$cfg" --argjson cs "$cfg_size" --slurpfile layers "$work/layers.json" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cfg, size: $cs},
		layers: [$layers[0][] | {mediaType: .media_type, digest: .digest, size: .size}]
	}' | tr -d '\n' >"$work/manifest"
	read -r man man_size < <(oci_blob "$layout" "$work/manifest")
	# index.json: replace an earlier image of the same tag
	jq -c --arg t "$tag" --arg d "$man" --argjson s "$man_size" --arg arch "$arch" --arg os "$os" '
		.manifests = ([.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] != $t)]
		+ [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
		    platform: {architecture: $arch, os: $os},
		    annotations: {"org.opencontainers.image.ref.name": $t}}])' \
		"$layout/index.json" >"$work/index" && mv "$work/index" "$layout/index.json"
	jq -nc --arg cfg "$cfg" --arg man "$man" --arg arch "$arch" \
		--slurpfile layers "$work/layers.json" --slurpfile hist "$work/history.json" \
		'{config: $cfg, manifest: $man, arch: $arch, layers: $layers[0], history: $hist[0]}' \
		>"$layout/$tag.info"
	rm -rf "$work"
}

# seed_info LAYOUT TAG JQ-FILTER: a field of an image's info, e.g. .config
seed_info() { jq -r "$3" "$1/$2.info"; }

seed_creds_args() { # REG KIND(src|dest)
	[ "$(cat "$1/auth")" = none ] && return 0
	echo "--$2-creds=$(reg_creds "$1")"
}

seed_push() {
	local layout=$1 tag=$2 reg=$3 repo=$4 v2s2='' by_digest='' work dg src creds
	shift 4
	while [ $# -gt 0 ]; do
		case $1 in
		--v2s2) v2s2=1; shift ;;
		--by-digest) by_digest=1; shift ;;
		*) seed_err "seed_push: unknown option $1"; return 1 ;;
		esac
	done
	work=$(mktemp -d "${SEED_TMP:-/tmp}/seed-push.XXXXXX")
	src="oci:$layout:$tag"
	if [ -n "$v2s2" ]; then
		# convert once locally, so that the digest is known before the push
		seed_sk copy -q --format v2s2 "$src" "dir:$work/d" >&2 || { rm -rf "$work"; return 1; }
		src="dir:$work/d"
	fi
	if [ -n "$by_digest" ]; then
		if [ -n "$v2s2" ]; then
			dg=sha256:$(sha256sum "$work/d/manifest.json" | cut -d' ' -f1)
		else
			dg=$(seed_info "$layout" "$tag" .manifest)
		fi
		repo="${repo%:*}@$dg"
	fi
	creds=$(seed_creds_args "$reg" dest)
	# shellcheck disable=SC2086
	if ! seed_sk copy -q --preserve-digests --dest-tls-verify=false $creds \
		--digestfile "$work/digest" "$src" "docker://$(reg_addr "$reg")/$repo" >&2; then
		seed_err "skopeo could not push $src to $(reg_addr "$reg")/$repo"
		rm -rf "$work"
		return 1
	fi
	cat "$work/digest"
	echo
	rm -rf "$work"
}

# seed_get REG PATH [curl args]: GET from a registry without auth.
seed_get() {
	local reg=$1 path=$2
	shift 2
	curl -sf "$@" "$(reg_url "$reg")$path"
}

seed_index() {
	local reg=$1 repo=$2 tag=$3 kind=$4 d accept mt cfg platform work
	shift 4
	accept="application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json"
	case $kind in
	docker) mt=application/vnd.docker.distribution.manifest.list.v2+json ;;
	oci) mt=application/vnd.oci.image.index.v1+json ;;
	*) seed_err "seed_index: kind is docker or oci"; return 1 ;;
	esac
	work=$(mktemp -d "${SEED_TMP:-/tmp}/seed-index.XXXXXX")
	echo '[]' >"$work/entries"
	for d in "$@"; do
		seed_get "$reg" "/v2/$repo/manifests/$d" -H "Accept: $accept" -o "$work/m" ||
			{ seed_err "no manifest $repo@$d"; rm -rf "$work"; return 1; }
		cfg=$(jq -r .config.digest "$work/m")
		platform=$(seed_get "$reg" "/v2/$repo/blobs/$cfg" |
			jq -c '{architecture, os} + (if .variant then {variant} else {} end)') ||
			{ seed_err "no config $cfg in $repo"; rm -rf "$work"; return 1; }
		jq -c --arg d "$d" --argjson s "$(stat -c %s "$work/m")" \
			--arg mt "$(jq -r .mediaType "$work/m")" --argjson p "$platform" \
			'. + [{mediaType: $mt, digest: $d, size: $s, platform: $p}]' \
			"$work/entries" >"$work/x" && mv "$work/x" "$work/entries"
	done
	jq -cj --arg mt "$mt" '{schemaVersion: 2, mediaType: $mt, manifests: .}' "$work/entries" >"$work/body"
	if ! curl -sf -X PUT -H "Content-Type: $mt" --data-binary "@$work/body" \
		"$(reg_url "$reg")/v2/$repo/manifests/$tag" -o /dev/null; then
		seed_err "PUT of the $kind index $repo:$tag refused"
		rm -rf "$work"
		return 1
	fi
	echo "sha256:$(sha256sum "$work/body" | cut -d' ' -f1)"
	rm -rf "$work"
}
