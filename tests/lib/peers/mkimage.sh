#!/bin/sh
# mkimage.sh ROOTFS OUT.tar [NAME:TAG]: pack a root filesystem (e.g. one made
# by tests/lib/mkrootfs.sh) as a one-layer image in `docker save` format
# (docker-archive), which `docker load`, `podman load` and
# `ctr image import` all read.  No network, no daemon needed.
# NAME:TAG defaults to localhost/barge-test:busybox.
set -eu
rootfs=$1 out=$2 name=${3:-localhost/barge-test:busybox}
[ -d "$rootfs" ] || { echo "mkimage: $rootfs: not a directory" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/barge-mkimage.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar --numeric-owner --sort=name -C "$rootfs" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/$diff_id"
mv "$work/layer.tar" "$work/$diff_id/layer.tar"
echo 1.0 >"$work/$diff_id/VERSION"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >"$work/config.json" <<J
{"architecture":"amd64","os":"linux","created":"$now",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
           "Cmd":["sh"],"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created":"$now","created_by":"tests/lib/peers/mkimage.sh"}]}
J
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/$config_id.json"
cat >"$work/manifest.json" <<J
[{"Config":"$config_id.json","RepoTags":["$name"],"Layers":["$diff_id/layer.tar"]}]
J
repo=${name%:*} tag=${name##*:}
printf '{"%s":{"%s":"%s"}}\n' "$repo" "$tag" "$diff_id" >"$work/repositories"
tar --numeric-owner -C "$work" -cf "$out" manifest.json repositories "$config_id.json" "$diff_id"
