#!/bin/sh
# Runs the DPDK guest program behind a socat pty, as QEMU would present a virtio-serial port:
# the pty appears at /dev/virtio-ports/virtio.serial.port.poweragent.LCORE and socat listens on
# DIR/VM.LCORE, where the host side connects. Must run under `unshare -m`: /dev is replaced by
# a private tmpfs (null, zero, urandom and tty bound from the real /dev, a new devpts instance
# for the pty), so nothing
# here touches the host's /dev/virtio-ports.
#   run-guest.sh DIR VM LCORE GUEST-PROGRAM WORD...
set -eu
dir=$1 vm=$2 lc=$3 guest=$4
shift 4
work=$(mktemp -d)
mkdir "$work/olddev"
mount --make-rprivate /
mount --rbind /dev "$work/olddev"
mount -t tmpfs -o mode=0755 vpmd-guest-dev /dev
for f in null zero random urandom tty; do
  touch "/dev/$f"
  mount --bind "$work/olddev/$f" "/dev/$f"
done
mkdir /dev/pts /dev/virtio-ports
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 vpmd-guest-pts /dev/pts
ln -s pts/ptmx /dev/ptmx
link="/dev/virtio-ports/virtio.serial.port.poweragent.$lc"
socat "PTY,link=$link,raw,echo=0" "UNIX-LISTEN:$dir/$vm.$lc,unlink-early" &
socat_pid=$!
i=0
while [ ! -e "$link" ]; do
  i=$((i + 1))
  if [ "$i" -gt 200 ]; then echo "socat did not create $link" >&2; kill "$socat_pid" 2>/dev/null; exit 3; fi
  sleep 0.02
done
echo "ready $dir/$vm.$lc" >&2
rc=0
"$guest" "$lc" "$@" || rc=$?
kill "$socat_pid" 2>/dev/null || true
wait "$socat_pid" 2>/dev/null || true
exit "$rc"
