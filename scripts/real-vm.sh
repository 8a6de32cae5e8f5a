#!/usr/bin/env bash
# A real hypervisor for vpmd's tests: libvirt's QEMU driver, a booted guest, real virtio-serial.
#
#   scripts/real-vm.sh install          install QEMU, libvirt's QEMU driver, a kernel, busybox and
#                                       DPDK (Debian packages only; needs root)
#   scripts/real-vm.sh up DIR [NAME] [PCPU0,PCPU1]
#                                       start virtlogd and libvirtd by hand if none answers, build
#                                       the guest (Debian's kernel + an initramfs with busybox, the
#                                       virtio modules and a librte_power program), define and boot
#                                       domain NAME (default vpmd-vm) with 2 vCPUs pinned to the
#                                       given pCPUs (default 0,1) and two DPDK power channels as
#                                       DPDK's guide shows; waits for the guest's shell. Prints
#                                       key=value lines (name, uuid, channels, console, kvm).
#   scripts/real-vm.sh down DIR         destroy and undefine the domain, stop the daemons this
#                                       script started, remove DIR's sockets
#
# Nothing is downloaded beyond Debian's packages. KVM is used when /dev/kvm is usable, TCG
# otherwise. The guest's serial console is a unix socket (DIR/console.sock): connect and type
# shell commands; `vm-guest LCORE WORD...` is the DPDK guest program (see real-vm/vm-guest.c).
set -euo pipefail
export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"
export DEBIAN_FRONTEND=noninteractive
HERE="$(cd "$(dirname "$0")" && pwd)"
URI=qemu:///system
PACKAGES=(qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dbus
  linux-image-amd64 busybox-static libdpdk-dev build-essential pkg-config cpio socat dbus)

die() { echo "real-vm: $*" >&2; exit 1; }

cmd_install() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && { echo "real-vm: every package is installed"; return; }
  [ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root"
  echo "real-vm: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# KVM only when /dev/kvm is usable AND offers the CPU features a plain qemu64 guest needs: some
# nested hypervisors expose /dev/kvm with almost no CPUID features, and a guest there never
# reaches its kernel. VPMD_VM_ACCEL=kvm|tcg overrides the probe.
kvm_usable() {
  case "${VPMD_VM_ACCEL:-}" in kvm) return 0 ;; tcg) return 1 ;; esac
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  local out pidfile
  pidfile=$(mktemp)
  out=$(timeout 10 qemu-system-x86_64 -accel kvm -cpu qemu64 -M pc -display none -nodefaults \
    -monitor none -serial none -daemonize -pidfile "$pidfile" </dev/null 2>&1) || { rm -f "$pidfile"; return 1; }
  kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
  ! grep -q "host doesn't support requested feature" <<<"$out"
}

kernel_image() { ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1; }

# Starts virtlogd and libvirtd unless a libvirtd already answers; records what it started.
start_daemons() {
  local dir=$1
  exec 9>/run/vpmd-real-vm.lock
  flock 9
  if virsh -c "$URI" version >/dev/null 2>&1; then
    flock -u 9
    return
  fi
  if ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d
    echo virtlogd >>"$dir/started"
  fi
  libvirtd -d
  echo libvirtd >>"$dir/started"
  local i=0
  until virsh -c "$URI" version >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || die "libvirtd did not answer on $URI within 30 s"
    sleep 0.1
  done
  flock -u 9
}

stop_daemons() {
  local dir=$1 d
  [ -f "$dir/started" ] || return 0
  for d in libvirtd virtlogd; do
    grep -qx "$d" "$dir/started" || continue
    # Another test's domain may still run on this libvirtd: leave it then.
    if [ "$d" = libvirtd ] && [ -n "$(virsh -c "$URI" list --name 2>/dev/null | grep -v '^$' || true)" ]; then
      echo "real-vm: libvirtd still runs other domains; left running" >&2
      continue
    fi
    pkill -x "$d" 2>/dev/null || true
  done
  rm -f "$dir/started"
}

build_guest() {
  local dir=$1 kver kernel root lib m
  kernel=$(kernel_image)
  [ -n "$kernel" ] || die "no kernel in /boot (package linux-image-amd64; run '$0 install')"
  kver=${kernel#/boot/vmlinuz-}
  root="$dir/guest/root"
  rm -rf "$dir/guest"
  mkdir -p "$root"/{bin,usr/bin,lib/modules,proc,sys,dev,tmp}
  cp /bin/busybox "$root/bin/busybox" 2>/dev/null || die "busybox-static missing (run '$0 install')"
  install -m 0755 "$HERE/real-vm/init" "$root/init"
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci; do
    cp "/lib/modules/$kver/kernel/drivers/virtio/$m.ko" "$root/lib/modules/"
  done
  cp "/lib/modules/$kver/kernel/drivers/char/virtio_console.ko" "$root/lib/modules/"
  # shellcheck disable=SC2046
  gcc -Wall -O1 -DALLOW_EXPERIMENTAL_API $(pkg-config --cflags libdpdk) -o "$root/usr/bin/vm-guest" \
    "$HERE/real-vm/vm-guest.c" -lrte_power -lrte_eal
  # The program's shared libraries (librte_power, librte_eal and theirs) and the loader.
  for lib in $(ldd "$root/usr/bin/vm-guest" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  cp "$kernel" "$dir/guest/vmlinuz"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/guest/initrd.img"
  rm -rf "$root"
  chmod -R a+rX "$dir/guest"
}

domain_xml() {
  local dir=$1 name=$2 p0=$3 p1=$4 type=qemu
  kvm_usable && type=kvm
  # Debian's DPDK needs SSE4.2 and POPCNT (x86-64-v2): qemu64 lacks them and librte_eal dies on
  # an invalid opcode. Nehalem has both, under KVM and TCG alike; host-passthrough fails on some
  # nested KVM (QEMU cannot set MSR 0x10a).
  local cpu="<cpu mode='custom' match='exact' check='none'><model fallback='allow'>Nehalem</model></cpu>"
  cat <<EOF
<domain type='$type'>
  <name>$name</name>
  <memory unit='MiB'>192</memory>
  <vcpu placement='static'>2</vcpu>
  <cputune>
    <vcpupin vcpu='0' cpuset='$p0'/>
    <vcpupin vcpu='1' cpuset='$p1'/>
  </cputune>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$dir/guest/vmlinuz</kernel>
    <initrd>$dir/guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet loglevel=3 panic=-1</cmdline>
  </os>
  $cpu
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='virtio-serial' index='0'/>
    <channel type='unix'>
      <source mode='bind' path='$dir/channels/$name.0'/>
      <target type='virtio' name='virtio.serial.port.poweragent.0'/>
    </channel>
    <channel type='unix'>
      <source mode='bind' path='$dir/channels/$name.1'/>
      <target type='virtio' name='virtio.serial.port.poweragent.1'/>
    </channel>
    <serial type='unix'>
      <source mode='bind' path='$dir/console.sock'/>
      <log file='$dir/console.log' append='off'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

cmd_up() {
  local dir=${1:?usage: $0 up DIR [NAME] [PCPU0,PCPU1]} name=${2:-vpmd-vm} pins=${3:-0,1}
  local p0=${pins%,*} p1=${pins#*,}
  [ "$(id -u)" -eq 0 ] || die "libvirtd's QEMU driver (qemu:///system) needs root"
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86 missing (run '$0 install')"
  mkdir -p "$dir/channels"
  dir=$(cd "$dir" && pwd)
  chmod 0755 "$dir" "$dir/channels"
  echo "$name" >"$dir/name"
  start_daemons "$dir"
  build_guest "$dir"
  domain_xml "$dir" "$name" "$p0" "$p1" >"$dir/domain.xml"
  virsh -c "$URI" destroy "$name" >/dev/null 2>&1 || true
  virsh -c "$URI" undefine "$name" >/dev/null 2>&1 || true
  virsh -c "$URI" define "$dir/domain.xml" >/dev/null
  virsh -c "$URI" start "$name" >/dev/null
  local i=0
  until [ -S "$dir/console.sock" ]; do
    i=$((i + 1))
    [ "$i" -lt 300 ] || die "the console socket did not appear"
    sleep 0.1
  done
  echo "name=$name"
  echo "uuid=$(virsh -c "$URI" domuuid "$name" | head -n 1)"
  echo "channels=$dir/channels"
  echo "console=$dir/console.sock"
  echo "accel=$(grep -q "<domain type='kvm'>" "$dir/domain.xml" && echo kvm || echo tcg)"
}

cmd_down() {
  local dir=${1:?usage: $0 down DIR} name
  name=$(cat "$dir/name" 2>/dev/null || echo vpmd-vm)
  virsh -c "$URI" destroy "$name" >/dev/null 2>&1 || true
  virsh -c "$URI" undefine "$name" >/dev/null 2>&1 || true
  stop_daemons "$dir"
  rm -rf "$dir/channels" "$dir/console.sock" "$dir/guest"
}

case "${1:-}" in
  install) cmd_install ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) echo "usage: $0 install | up DIR [NAME] [PCPU0,PCPU1] | down DIR" >&2; exit 2 ;;
esac
