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

agent_pid=
stop_agent() {
  if [ -n "$agent_pid" ]; then
    kill "$agent_pid" 2>/dev/null
    wait "$agent_pid" 2>/dev/null
    agent_pid=
  fi
}
trap stop_agent EXIT

status=0
for agent in $agents; do
  dir=$out/$agent
  rm -rf "$dir"
  flags=()
  [ "$agent" = bmc ] && flags=(--bmc)
  node "$root/scripts/redfish-conformance-agent.mjs" --dir "$dir" "${flags[@]}" >"$out/$agent.json" 2>"$out/$agent.err" &
  agent_pid=$!
  for _ in $(seq 1 600); do
    [ -s "$out/$agent.json" ] && break
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! [ -s "$out/$agent.json" ]; then
    echo "FAIL $agent: the agent did not start (see $out/$agent.err, $dir/vpmd.log)"
    cat "$out/$agent.err" >&2
    stop_agent
    status=1
    continue
  fi
  url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).url)' "$out/$agent.json")
  echo "== $agent agent at $url: $(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));console.log(`${j.auditEntries} audit and ${j.hardwareEntries} hardware log entries`)' "$out/$agent.json")"
  for role in $roles; do
    read -r user pass < <(node -e 'const a=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).accounts[process.argv[2]];console.log(a.user, a.password)' "$out/$agent.json" "$role")
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
    # DMTF's Python client (vendored beside the validators): login, every sensor in one request.
    if PYTHONPATH=$tools/vendor/python-redfish-library/src:$tools/vendor/aenum:$tools/vendor/sseclient \
      /usr/bin/python3 "$root/scripts/redfish-client-check.py" "$url" "$user" "$pass" >"$res.client" 2>&1; then
      echo "     $(tail -1 "$res.client")"
    else
      echo "FAIL $agent as $role: python-redfish-library check"
      sed 's/^/  /' "$res.client" | tail -8
      status=1
    fi
    [ -n "$allowed" ] && printf '%s\n' "$allowed" | cut -f1,3 | sed 's/^/     allowed for ReadOnly (privilege registry refuses it a subscription): /'
  done
  stop_agent
done
echo "reports: $out"
exit $status
