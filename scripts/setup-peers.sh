#!/usr/bin/env bash
# Installs the real programs vpmd's integration tests talk to (see docs/testing-peers.md):
# ipmi_sim, ipmitool, FreeIPMI, snmpd and the net-snmp tools, smilint, a private dbus-daemon with
# python-dbusmock, libvirt-dbus, xmllint with libvirt's schemas, socat, and DPDK's librte_power
# with a C toolchain, and a real hypervisor (QEMU, libvirt's QEMU driver, a guest kernel and
# busybox; see scripts/real-vm.sh), Prometheus with promtool (the /metrics exporter's tests), and
# python3-requests for DMTF's Redfish Mockup Server (which is not packaged: tests find it in
# ../shared/tools/redfish-mockup-server or $VPMD_REDFISH_MOCKUP).
# Idempotent: a prepared machine skips apt entirely. Non-interactive.
#
# Usage: scripts/setup-peers.sh            install what is missing, then report versions
#        scripts/setup-peers.sh --check    only report; exit 1 when something is missing
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
# Several peers live in sbin directories, which a non-root PATH often lacks.
export PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"

PACKAGES=(
  openipmi ipmitool freeipmi-tools snmp snmpd snmptrapd smitools
  libvirt-daemon libvirt-clients libvirt-dbus libvirt0
  python3-dbusmock dbus libxml2-utils socat python3-requests
  libdpdk-dev build-essential pkg-config
  nginx-light wrk prometheus
  qemu-system-x86 libvirt-daemon-driver-qemu linux-image-amd64 busybox-static cpio
)

# peer label | package whose version is reported | program (or check) proving it is usable
PEERS=(
  "ipmi_sim|openipmi|ipmi_sim"
  "sdrcomp|openipmi|sdrcomp"
  "ipmitool|ipmitool|ipmitool"
  "freeipmi|freeipmi-tools|ipmi-sensors"
  "snmpd|snmpd|snmpd"
  "net-snmp-tools|snmp|snmpbulkwalk"
  "snmptrapd|snmptrapd|snmptrapd"
  "smilint|smitools|smilint"
  "dbus-daemon|dbus|dbus-daemon"
  "dbusmock|python3-dbusmock|py:dbusmock"
  "py-requests|python3-requests|py:requests"
  "libvirt-dbus|libvirt-dbus|libvirt-dbus"
  "virsh|libvirt-clients|virsh"
  "libvirt-schemas|libvirt0|file:/usr/share/libvirt/schemas/capability.rng"
  "xmllint|libxml2-utils|xmllint"
  "socat|socat|socat"
  "librte_power|libdpdk-dev|pc:libdpdk"
  "cc|build-essential|cc"
  "pkg-config|pkg-config|pkg-config"
  "nginx|nginx-light|nginx"
  "wrk|wrk|wrk"
  "prometheus|prometheus|prometheus"
  "promtool|prometheus|promtool"
  "qemu|qemu-system-x86|qemu-system-x86_64"
  "libvirt-qemu|libvirt-daemon-driver-qemu|file:/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so"
  "guest-kernel|linux-image-amd64|glob:/boot/vmlinuz-*"
  "busybox|busybox-static|busybox"
  "cpio|cpio|cpio"
)

check_only=false
case "${1:-}" in
  --check) check_only=true ;;
  '') ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

is_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# True when the probe (a program name, py:MODULE, pc:PKGCONFIG or file:PATH) succeeds.
probe_ok() {
  local probe="$1"
  case "$probe" in
    py:*) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ${probe#py:}" >/dev/null 2>&1 ;;
    pc:*) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "${probe#pc:}" ;;
    file:*) [ -e "${probe#file:}" ] ;;
    glob:*) compgen -G "${probe#glob:}" >/dev/null ;;
    *) command -v "$probe" >/dev/null 2>&1 ;;
  esac
}

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || printf '%s\n' "$pkg"
  done
}

missing_probes() {
  local entry probe
  for entry in "${PEERS[@]}"; do
    probe="${entry##*|}"
    probe_ok "$probe" || printf '%s\n' "$probe"
  done
}

# Prints the command prefix that gives root ("" when already root), or fails.
root_prefix() {
  if [ "$(id -u)" -eq 0 ]; then
    printf ''
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    printf 'sudo -n'
  else
    return 1
  fi
}

install_packages() {
  local -a pkgs=("$@")
  local prefix
  if ! prefix="$(root_prefix)"; then
    echo "setup-peers: not root and passwordless sudo is unavailable. As root, run:" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
    exit 1
  fi
  # Keep package scripts from starting daemons (snmpd on UDP 161, libvirtd, ...): tests start
  # their own copies on loopback. Docker images already ship such a policy; add one only if absent.
  local policy=/usr/sbin/policy-rc.d added_policy=false
  if [ ! -e "$policy" ]; then
    # shellcheck disable=SC2086 # $prefix is empty or "sudo -n"
    printf '#!/bin/sh\nexit 101\n' | $prefix tee "$policy" >/dev/null
    $prefix chmod 755 "$policy"
    added_policy=true
    # shellcheck disable=SC2064 # expand now: the trap must remove exactly this file
    trap "$prefix rm -f '$policy'" EXIT
  fi
  echo "setup-peers: installing ${pkgs[*]}"
  # shellcheck disable=SC2086
  $prefix env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # shellcheck disable=SC2086
  $prefix env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${pkgs[@]}"
  if $added_policy; then
    $prefix rm -f "$policy"
    trap - EXIT
  fi
}

version_of() {
  dpkg-query -W -f='${Version}' "$1" 2>/dev/null || printf 'not installed'
}

where_is() {
  local probe="$1"
  case "$probe" in
    py:*) printf '/usr/bin/python3 -m %s' "${probe#py:}" ;;
    pc:*) printf 'pkg-config %s %s' "${probe#pc:}" "$(pkg-config --modversion "${probe#pc:}" 2>/dev/null || true)" ;;
    file:*) printf '%s' "${probe#file:}" ;;
    glob:*) compgen -G "${probe#glob:}" | tail -n 1 ;;
    *) command -v "$probe" ;;
  esac
}

report() {
  local entry label pkg probe status failures=0
  for entry in "${PEERS[@]}"; do
    IFS='|' read -r label pkg probe <<<"$entry"
    if probe_ok "$probe"; then
      status="ok"
      printf '%-16s %-7s %-17s %-24s %s\n' "$label" "$status" "$pkg" "$(version_of "$pkg")" "$(where_is "$probe")"
    else
      failures=$((failures + 1))
      printf '%-16s %-7s %-17s %-24s %s\n' "$label" "MISSING" "$pkg" "$(version_of "$pkg")" "$probe"
    fi
  done
  return "$failures"
}

mapfile -t missing_pkgs < <(missing_packages)
mapfile -t missing_checks < <(missing_probes)

if [ "${#missing_pkgs[@]}" -eq 0 ] && [ "${#missing_checks[@]}" -eq 0 ]; then
  echo "setup-peers: all peer packages present; skipping apt"
elif $check_only; then
  echo "setup-peers: missing packages: ${missing_pkgs[*]:-none}; failing checks: ${missing_checks[*]:-none}" >&2
elif [ "${#missing_pkgs[@]}" -gt 0 ]; then
  install_packages "${missing_pkgs[@]}"
fi
# (Every package installed but a check failing means a broken installation: the report says which.)

if ! report; then
  echo "setup-peers: some peers are still missing (see MISSING above); install them with:" >&2
  echo "  apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
  exit 1
fi
