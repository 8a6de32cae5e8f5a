#!/usr/bin/env bash
# DMTF's own Redfish clients against vpmd: python-redfish-library (session login, a collection with
# $expand, every sensor of a chassis in one request, logout) and Tacklebox's redfish_utilities
# used the way rf_logs, rf_sys_inventory, rf_sensor_list and rf_power_reset use them
# (scripts/redfish-clients.py says what each check asserts).
#
#   scripts/redfish-clients.sh [--tools DIR] [--out DIR] [--agents "demo bmc hostpower"] [--roles "..."]
#   scripts/redfish-clients.sh [--tools DIR] [--reset "On"] URL USER PASSWORD
#
# Without a URL it starts the same agents as the validators' stage (scripts/redfish-agents.sh:
# `demo` = `vpmd --demo`, `bmc` = the demo plus an ipmi_sim BMC as the host's own), and
# `hostpower` (the demo with python-dbusmock's logind and systemd manager as its host power), and
# runs the clients as each role; it needs `npm run build` first. Resets done there are safe by
# design: on `demo` only On (the host is on: a no-op); on `bmc` PowerCycle, ForceOff and On, which
# go to ipmi_sim's simulated chassis; on `hostpower` ForceOff, GracefulShutdown, ForceRestart and
# GracefulRestart, which go to the mocks (each must have received exactly one call); never to
# this machine. Every role also checks that a reset type the ActionInfo does not offer is
# refused (nothing offered is posted unless named). With a URL it runs them once against that
# service and does no reset unless --reset names the types.
#
# The clients are not in this repository: they are the copies vendored at
# ../shared/tools/redfish-conformance from the project root (or --tools), run with Debian's
# /usr/bin/python3 and the packages its install.sh installs. Exits 1 on any failure, 2 when the
# tools or the build are missing.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/../shared/tools/redfish-conformance
out=
agents="demo bmc hostpower"
roles="Administrator Operator ReadOnly"
reset=
while [ $# -gt 0 ]; do
  case $1 in
    --tools) tools=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --roles) roles=$2; shift 2 ;;
    --reset) reset=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "redfish-clients: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
vendor=$tools/vendor
for lib in python-redfish-library/src/redfish Redfish-Tacklebox/redfish_utilities aenum/aenum sseclient/sseclient; do
  if ! [ -d "$vendor/$lib" ]; then
    echo "redfish-clients: DMTF's clients are absent: no $vendor/$lib" >&2
    echo "  (they are not in this repository; expected at ../shared/tools/redfish-conformance, or pass --tools DIR)" >&2
    exit 2
  fi
done
export PYTHONPATH=$vendor/python-redfish-library/src:$vendor/Redfish-Tacklebox:$vendor/aenum:$vendor/sseclient
# A CA bundle in the environment makes requests verify the self-signed certificate (as run.sh does).
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE
py=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the repository
if ! $py -c 'import requests, jsonpatch, xlsxwriter' 2>/dev/null; then
  echo "redfish-clients: $py lacks requests, jsonpatch or xlsxwriter: run bash $tools/install.sh (root)" >&2
  exit 2
fi
clients() { $py "$root/scripts/redfish-clients.py" "$@"; }

if [ $# -gt 0 ]; then
  [ $# -eq 3 ] || { echo "redfish-clients: want URL USER PASSWORD (see --help)" >&2; exit 2; }
  clients "$1" "$2" "$3" --reset "$reset" ${out:+--out "$out"}
  exit $?
fi

[ -f "$root/dist/app/vpmd.js" ] || { echo "redfish-clients: run 'npm run build' first" >&2; exit 2; }
out=${out:-$(mktemp -d /tmp/vpmd-redfish-clients.XXXXXX)}
mkdir -p "$out"
# shellcheck source=scripts/redfish-agents.sh
. "$root/scripts/redfish-agents.sh"

status=0
for agent in $agents; do
  if ! rf_agent_start "$agent" "$out"; then
    status=1
    continue
  fi
  echo "== $agent agent at $RF_AGENT_URL: $(rf_agent_summary)"
  for role in $roles; do
    read -r user pass < <(rf_agent_account "$role")
    resets=
    if [ "$role" = Administrator ]; then
      # Only what cannot reach this machine: On is a no-op on a running host; the bmc agent's
      # PowerCycle, ForceOff and On go to ipmi_sim (On last, so the simulated host ends on); the
      # hostpower agent's to dbusmock's systemd manager and logind.
      case $agent in
        demo) resets=On ;;
        bmc) resets="PowerCycle ForceOff On" ;;
        hostpower) resets="ForceOff GracefulShutdown ForceRestart GracefulRestart On" ;;
      esac
    fi
    res=$out/$agent-$role
    mkdir -p "$res"
    if clients "$RF_AGENT_URL" "$user" "$pass" --role "$role" --reset "$resets" --out "$res" --verbose >"$res/clients.out" 2>&1; then
      echo "ok   $agent as $role: $(tail -1 "$res/clients.out")"
      grep -E '^ok ' "$res/clients.out" | sed 's/^/     /'
    else
      echo "FAIL $agent as $role: $(tail -1 "$res/clients.out")"
      grep -E '^(ok|FAIL) ' "$res/clients.out" | sed 's/^/  /'
      grep -B2 -A12 '^Traceback' "$res/clients.out" | head -40 | sed 's/^/  /'
      status=1
    fi
  done
  if [ "$agent" = hostpower ]; then
    # What the mocks received: one call per reset the Administrator did, none for the others.
    # (libvirt-caps' sleep-delay Inhibit is not a power action; it is kept in the file only.)
    rf_agent_host_power_calls >"$out/hostpower-calls.txt"
    calls=$(grep -v '^logind Inhibit ' "$out/hostpower-calls.txt")
    want=$(printf '%s\n' 'logind PowerOff [false]' 'logind Reboot [false]' 'systemd PowerOff []' 'systemd Reboot []')
    if [[ " $roles " == *" Administrator "* ]] && [ "$(printf '%s\n' "$calls" | sort)" != "$want" ]; then
      echo "FAIL hostpower: the logind and systemd mocks received other calls than one per reset:"
      printf '%s\n' "$calls" | sed 's/^/  /'
      status=1
    else
      echo "ok   hostpower: the mocks received exactly $(printf '%s' "$calls" | grep -c . || true) calls: $(printf '%s' "$calls" | tr '\n' ';')"
    fi
  fi
  rf_agent_stop
done
echo "reports: $out"
exit $status
