#!/bin/sh
# mkimage.sh OUT.tar: build src/hello/hello.c as a tiny static binary and
# pack it as the hello-world:latest image, a `docker save` archive
# (docker-archive) that `barge load -i OUT.tar` (and docker/podman load)
# read with no network:
#   manifest.json   [{"Config": "<hex>.json", "RepoTags": ["hello-world:latest"],
#                     "Layers": ["<diff hex>/layer.tar"]}]
#   repositories    {"hello-world": {"latest": "<diff hex>"}}
#   <hex>.json      the image config: Cmd ["/hello"], the host's architecture
#   <diff hex>/layer.tar (+ VERSION)   one uncompressed layer holding /hello
# Reproducible: fixed times, owners and order, so the same compiler gives
# the same image id.  Needs cc (CC=...), tar, sha256sum.
set -eu
out=${1:?usage: mkimage.sh OUT.tar}
here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}
epoch=${SOURCE_DATE_EPOCH:-1704067200}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

work=$(mktemp -d "${TMPDIR:-/tmp}/barge-hello.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

target=$($CC -dumpmachine)
case $target in
x86_64-*) arch=amd64 ;;
aarch64-*) arch=arm64 ;;
i?86-*) arch=386 ;;
arm*) arch=arm ;;
powerpc64le-* | ppc64le-*) arch=ppc64le ;;
s390x-*) arch=s390x ;;
riscv64-*) arch=riscv64 ;;
*) arch=$(uname -m) ;;
esac

# No C library where hello.c knows the system calls (about 1 KiB), the
# static C library elsewhere (about 700 KiB).
mkdir "$work/rootfs"
common="-static -Os -s -Wall -Wextra -Werror -Wl,--build-id=none"
case $arch in
amd64 | arm64)
	# shellcheck disable=SC2086
	$CC $common -DHELLO_NOLIBC -nostdlib -fno-stack-protector -fno-asynchronous-unwind-tables \
		-fno-pie -no-pie -Wl,-z,noseparate-code -o "$work/rootfs/hello" "$here/hello.c"
	;;
*)
	# shellcheck disable=SC2086
	$CC $common -o "$work/rootfs/hello" "$here/hello.c"
	;;
esac
chmod 0755 "$work/rootfs/hello"

tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu \
	-C "$work/rootfs" -cf "$work/layer.tar" hello
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
mkdir "$work/img" "$work/img/$diff_id"
mv "$work/layer.tar" "$work/img/$diff_id/layer.tar"
echo 1.0 >"$work/img/$diff_id/VERSION"

printf '%s' "{\"architecture\":\"$arch\",\"os\":\"linux\",\
\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\
\"Cmd\":[\"/hello\"],\"WorkingDir\":\"/\"},\
\"created\":\"$created\",\
\"history\":[{\"created\":\"$created\",\"created_by\":\"COPY hello /hello # src/hello/mkimage.sh\"},\
{\"created\":\"$created\",\"created_by\":\"CMD [\\\"/hello\\\"]\",\"empty_layer\":true}],\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$diff_id\"]}}" >"$work/config.json"
config_id=$(sha256sum "$work/config.json" | cut -d' ' -f1)
mv "$work/config.json" "$work/img/$config_id.json"
printf '%s\n' "[{\"Config\":\"$config_id.json\",\"RepoTags\":[\"hello-world:latest\"],\"Layers\":[\"$diff_id/layer.tar\"]}]" \
	>"$work/img/manifest.json"
printf '%s\n' "{\"hello-world\":{\"latest\":\"$diff_id\"}}" >"$work/img/repositories"
touch -d "@$epoch" "$work/img/manifest.json" "$work/img/repositories" "$work/img/$config_id.json" \
	"$work/img/$diff_id" "$work/img/$diff_id/VERSION"

tar --owner=0 --group=0 --numeric-owner --mtime="@$epoch" --format=gnu -C "$work/img" \
	-cf "$work/out.tar" manifest.json repositories "$config_id.json" "$diff_id"
mv "$work/out.tar" "$out"
