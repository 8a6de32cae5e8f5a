#!/usr/bin/env bash
# DMTF's Redfish Service Validator and Protocol Validator against vpmd, as each Redfish role.
#
#   scripts/redfish-conformance.sh [--tools DIR] [--out DIR] [--agents "demo bmc"] [--roles "Administrator Operator ReadOnly"]
#
# For each agent it starts scripts/redfish-conformance-agent.mjs (`demo`: exactly `vpmd --demo`,
# every plugin with a demo setup on and an audit log; `bmc`: the same plus an ipmi_sim BMC whose
# SEL fills the hardware log), runs the validators' run.sh once per role, and fails when either
# validator reports any FAIL or WARN. The validators are not in this repository: they are found
# at ../shared/tools/redfish-conformance from the project root (or --tools); their README says
# how to install the Python packages they need. Needs `npm run build` first (the agent runs
# dist/, as `vpmd --demo` does).
#
# One exception is allowed, by name, and printed: as ReadOnly the Protocol Validator creates an
# event subscription, which DMTF's privilege registry (EventDestinationCollection POST:
# ConfigureManager or ConfigureComponents) refuses to ReadOnly, so SERV_EVENT_POST_RESP and
# SERV_EVENT_ERROR_ON_BAD_REQUEST answered 403 are the registry working, not a failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=$root/../shared/tools/redfish-conformance
out=
agents="demo bmc"
roles="Administrator Operator ReadOnly"
while [ $# -gt 0 ]; do
  case $1 in
    --tools) tools=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --roles) roles=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "redfish-conformance: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$tools/run.sh" ] || [ -f "$tools/run.sh" ] || { echo "redfish-conformance: no run.sh in $tools" >&2; exit 2; }
[ -f "$root/dist/app/vpmd.js" ] || { echo "redfish-conformance: run 'npm run build' first" >&2; exit 2; }
out=${out:-$(mktemp -d /tmp/vpmd-redfish-conformance.XXXXXX)}
mkdir -p "$out"
# The Service Validator downloads the OEM CSDL named by $metadata into its schema folder: give it
# a folder of its own (links to DMTF's CSDL), never the shared one.
schemas=$out/csdl
mkdir -p "$schemas"
for f in "${SCHEMAS:-$tools/../../redfish/csdl}"/*.xml; do ln -sf "$f" "$schemas/"; done

# The agents' start-up is shared with scripts/redfish-clients.sh.
# shellcheck source=scripts/redfish-agents.sh
. "$root/scripts/redfish-agents.sh"

status=0
for agent in $agents; do
  if ! rf_agent_start "$agent" "$out"; then
    status=1
    continue
  fi
  url=$RF_AGENT_URL
  echo "== $agent agent at $url: $(rf_agent_summary)"
  for role in $roles; do
    read -r user pass < <(rf_agent_account "$role")
    res=$out/$agent-$role
    rm -rf "$res"
    SCHEMAS=$schemas bash "$tools/run.sh" "$url" "$user" "$pass" "$res" >"$res.summary" 2>&1
    # Counts from the Service Validator's summary table and the Protocol Validator's TSV report.
    read -r spass swarn sfail _ < <(grep -A2 '|     PASS     |' "$res/service.out" 2>/dev/null | tail -1 | tr -s ' |' ' ' | sed 's/^ //')
    problems=$(awk -F'\t' '$5=="FAIL"||$5=="WARN"' "$res"/protocol/*.tsv 2>/dev/null)
    allowed=
    if [ "$role" = ReadOnly ]; then
      allowed=$(printf '%s\n' "$problems" | awk -F'\t' '($1=="SERV_EVENT_POST_RESP"||$1=="SERV_EVENT_ERROR_ON_BAD_REQUEST") && $3=="403"')
      problems=$(printf '%s\n' "$problems" | awk -F'\t' 'NF && !(($1=="SERV_EVENT_POST_RESP"||$1=="SERV_EVENT_ERROR_ON_BAD_REQUEST") && $3=="403")')
    fi
    pcount=$(printf '%s' "$problems" | grep -c . || true)
    line="$agent as $role: service validator PASS ${spass:-?} WARN ${swarn:-?} FAIL ${sfail:-?}; protocol validator FAIL+WARN $pcount"
    if [ -z "${sfail:-}" ] || [ "$sfail" != 0 ] || [ "$swarn" != 0 ] || [ "$pcount" != 0 ]; then
      echo "FAIL $line"
      grep -E ' - (FAIL|WARN) - ' "$res"/service/*/RedfishServiceValidatorDebug*.log 2>/dev/null | sed 's/^.* - \(FAIL\|WARN\) - /  service \1 /' | sort | uniq -c | head -40
      [ -n "$problems" ] && printf '%s\n' "$problems" | cut -f1-6 | sed 's/^/  protocol /'
      [ -z "${sfail:-}" ] && sed 's/^/  /' "$res.summary" | tail -5
      status=1
    else
      echo "ok   $line"
    fi
    [ -n "$allowed" ] && printf '%s\n' "$allowed" | cut -f1,3 | sed 's/^/     allowed for ReadOnly (privilege registry refuses it a subscription): /'
  done
  rf_agent_stop
done
echo "reports: $out"
exit $status
