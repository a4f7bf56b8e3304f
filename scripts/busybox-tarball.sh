#!/usr/bin/env bash
# Writes a busybox root filesystem tarball made from Debian's busybox-static to $1 (or stdout):
# /bin/busybox, a symlink per applet, /etc/passwd, /etc/group, and the usual empty dirs.
# setup.sh imports it with berth's own import as busybox:latest (no network needed).
set -euo pipefail
BUSYBOX="${BUSYBOX:-/bin/busybox}"
[ -x "$BUSYBOX" ] || { echo "busybox-tarball: $BUSYBOX is missing (apt-get install busybox-static)" >&2; exit 1; }
root="$(mktemp -d "${TMPDIR:-/tmp}/berth-busybox-XXXXXX")"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var,home,dev,proc,sys}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] && continue
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PW
cat > "$root/etc/group" <<'GR'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
wheel:x:10:root
users:x:100:
nogroup:x:65534:
GR
# Fixed owner and time: the same busybox gives the same layer digest on every machine.
tar --numeric-owner --owner=0 --group=0 --mtime='2024-01-01 00:00:00Z' --sort=name -C "$root" -cf "${1:--}" .
