#!/usr/bin/env bash
# Builds DPDK's stock VM power host (examples/vm_power_manager, binary vm_power_mgr) from
# Debian's `dpdk-doc` sources, for bench/channels/stock-compare.ts. Idempotent: a cached build
# of the same sources and patch is reused. Installs `dpdk-doc` and `libvirt-dev` (and the
# compiler and pkg-config) with apt when they are missing. Non-interactive.
#
# The build lives outside the repository, in ${VPMD_DPDK_HOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpmd/dpdk-host}.
# The last line on stdout is the absolute path of the binary; progress goes to stderr.
#
# One patch, nothing else: the libvirt URI, hard-coded to "qemu:///system", is read from the
# environment variable VM_POWER_MGR_LIBVIRT_URI when it is set (the default is unchanged), so the
# benchmark can use libvirt's Test driver instead of a system libvirtd with real VMs.
#
# Usage: scripts/build-dpdk-host.sh
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
SRC=/usr/share/dpdk/examples/vm_power_manager
CACHE="${VPMD_DPDK_HOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpmd/dpdk-host}"
PACKAGES=(dpdk-doc libvirt-dev libdpdk-dev build-essential pkg-config)

say() { printf 'build-dpdk-host: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
elif [ ! -d "$SRC" ]; then
  die "no dpkg on this machine and no DPDK example sources at $SRC: install DPDK's examples/vm_power_manager sources there, libvirt's development files and pkg-config's libdpdk"
fi
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get to install them"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}): run this script as root or install them"
    as_root=(sudo -n)
  fi
  say "installing ${missing[*]}"
  "${as_root[@]}" apt-get update -qq >&2
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

[ -f "$SRC/channel_manager.h" ] || die "DPDK example sources not found at $SRC (package dpdk-doc)"
pkg-config --exists libdpdk || die "pkg-config does not find libdpdk (package libdpdk-dev)"
pkg-config --exists libvirt || die "pkg-config does not find libvirt (package libvirt-dev)"

# The stamp names everything the binary depends on: the sources' package version, the DPDK
# and libvirt libraries it links, and this script (which holds the patch).
stamp="$(dpkg-query -W -f='${Package}=${Version} ' dpdk-doc libdpdk-dev libvirt-dev 2>/dev/null || true)$(pkg-config --modversion libdpdk libvirt | tr '\n' ' ')$(sha256sum "$0" | cut -c1-16)"
bin="$CACHE/src/build/vm_power_mgr-shared"
if [ -x "$bin" ] && [ "$(cat "$CACHE/stamp" 2>/dev/null || true)" = "$stamp" ]; then
  say "cached build ($stamp)"
  printf '%s\n' "$bin"
  exit 0
fi

say "building in $CACHE/src"
rm -rf "$CACHE/src" "$CACHE/stamp"
mkdir -p "$CACHE"
cp -r "$SRC" "$CACHE/src"
chmod -R u+w "$CACHE/src"
rm -rf "$CACHE/src/build"

# THE PATCH (the only change to DPDK's sources): the hypervisor URI passed to
# channel_manager_init() comes from VM_POWER_MGR_LIBVIRT_URI when set, else "qemu:///system"
# as before. main.c, the only user of the macro, already includes <stdlib.h>.
header="$CACHE/src/channel_manager.h"
grep -q '^#define CHANNEL_MGR_DEFAULT_HV_PATH "qemu:///system"$' "$header" ||
  die "unexpected $SRC/channel_manager.h: CHANNEL_MGR_DEFAULT_HV_PATH is not the expected one-line define"
sed -i 's|^#define CHANNEL_MGR_DEFAULT_HV_PATH "qemu:///system"$|#define CHANNEL_MGR_DEFAULT_HV_PATH (getenv("VM_POWER_MGR_LIBVIRT_URI") ? getenv("VM_POWER_MGR_LIBVIRT_URI") : "qemu:///system")|' "$header"
grep -q 'VM_POWER_MGR_LIBVIRT_URI' "$header" || die "patching $header failed"

make -C "$CACHE/src" -s shared >&2 || die "make failed in $CACHE/src"
[ -x "$bin" ] || die "make did not produce $bin"
printf '%s\n' "$stamp" >"$CACHE/stamp"
say "built $bin"
printf '%s\n' "$bin"
