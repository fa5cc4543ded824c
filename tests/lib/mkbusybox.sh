#!/bin/sh
# mkbusybox.sh OUT.tar [NAME:TAG]: a busybox image (default busybox:latest,
# Cmd ["sh"]) from Debian's busybox-static as a `docker save` archive, which
# `barge load`, `docker load` and `podman load` read offline.  One layer;
# the same busybox gives the same image id.
set -eu
out=${1:?usage: mkbusybox.sh OUT.tar [NAME:TAG]}
ref=${2:-busybox:latest}
name=${ref%:*} tag=${ref##*:}
here=$(cd "$(dirname "$0")" && pwd)
epoch=1704067200
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/barge-bbimg.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
"$here/mkrootfs.sh" "$work/rootfs"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
	-C "$work/rootfs" -cf "$work/layer.tar" .
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir -p "$work/img/$diff_id"
mv "$work/layer.tar" "$work/img/$diff_id/layer.tar"
printf '%s' "{\"architecture\":\"$arch\",\"os\":\"linux\",\
\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\
\"Cmd\":[\"sh\"]},\"created\":\"$created\",\
\"history\":[{\"created\":\"$created\",\"created_by\":\"ADD busybox-static rootfs # tests/lib/mkbusybox.sh\"},\
{\"created\":\"$created\",\"created_by\":\"CMD [\\\"sh\\\"]\",\"empty_layer\":true}],\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}" >"$work/config.json"
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/img/$config_id.json"
printf '%s\n' "[{\"Config\":\"$config_id.json\",\"RepoTags\":[\"$name:$tag\"],\"Layers\":[\"$diff_id/layer.tar\"]}]" \
	>"$work/img/manifest.json"
tar --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -C "$work/img" \
	-cf "$work/out.tar" manifest.json "$config_id.json" "$diff_id"
mv "$work/out.tar" "$out"
