#!/bin/sh
# The main job until the daemon exists: run a container with barge-runtime
# from a busybox root filesystem made from Debian's busybox-static.  Offline.
set -eu
cd "$(dirname "$0")/.."
RT=${BARGE_RUNTIME:-$PWD/build/bin/barge-runtime}
dir=$(mktemp -d /tmp/barge-demo.XXXXXX)
root=$dir/state
trap '"$RT" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
tests/lib/mkrootfs.sh "$dir/rootfs"
"$RT" spec --bundle "$dir"
# not a terminal, and a short script that shows the isolation
jq '.process.terminal = false | .process.args = ["sh", "-c",
  "echo hello from a barge container; echo hostname: $(hostname); echo my pid: $$; echo processes:; ps; echo network:; ip -o link"]' \
  "$dir/config.json" >"$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
echo "+ barge-runtime run demo   (bundle $dir)"
"$RT" --root "$root" run --bundle "$dir" demo
