#!/bin/sh
# mkrootfs.sh DIR: make a minimal root filesystem from Debian's busybox-static
# (the fixture for every container test and the demo).  Idempotent.
set -eu
dir=$1
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkrootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"/bin "$dir"/sbin "$dir"/etc "$dir"/proc "$dir"/sys "$dir"/dev "$dir"/tmp \
        "$dir"/root "$dir"/home "$dir"/var "$dir"/usr/bin "$dir"/usr/sbin
chmod 1777 "$dir"/tmp
cp "$bb" "$dir"/bin/busybox
for applet in $("$bb" --list); do
        [ "$applet" = busybox ] && continue
        [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
cat >"$dir"/etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$dir"/etc/group <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
G
: >"$dir"/etc/hostname
: >"$dir"/etc/resolv.conf
