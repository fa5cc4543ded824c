#!/bin/sh
# Install what barge needs on Debian 12, as root.  `build`: compilers and
# libraries; `test`: that plus what the tests use (fixtures, peers).
# Packages already present are not fetched again, so this is quick (and
# works offline) on a machine that has them.
set -eu
BUILD_PKGS="build-essential pkg-config libjansson-dev libseccomp-dev libcap-dev libcurl4-openssl-dev libarchive-dev libsqlite3-dev libssl-dev libmicrohttpd-dev busybox-static jq"
# barged links these statically (Makefile): the archives of libarchive's dependencies
BUILD_PKGS="$BUILD_PKGS nettle-dev libacl1-dev liblzma-dev libzstd-dev liblz4-dev libbz2-dev zlib1g-dev"
TEST_PKGS="bats docker-registry skopeo apache2-utils python3-jwt python3-cryptography zstd runc containerd podman docker.io uidmap time iproute2 procps util-linux python3 python3-docker docker-compose curl"

want="$BUILD_PKGS"
[ "${1:-build}" = test ] && want="$want $TEST_PKGS"

missing=""
for p in $want; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages:$missing (run as root to install them)" >&2
        exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing
