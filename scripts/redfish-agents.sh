# shellcheck shell=bash
# Sourced by scripts/redfish-conformance.sh and scripts/redfish-clients.sh: starts and stops the
# agents DMTF's Redfish tools run against (scripts/redfish-conformance-agent.mjs: `demo` is exactly
# `vpmd --demo` with an audit log, `bmc` adds an ipmi_sim BMC as the host's own), so both stages
# test the same agents with the same start-up. Needs `npm run build` (the agent runs dist/).
#
#   rf_agent_start AGENT OUTDIR   starts it (data in OUTDIR/AGENT, its JSON line in OUTDIR/AGENT.json);
#                                 sets RF_AGENT_URL; prints why and returns 1 when it does not start
#   rf_agent_account ROLE         prints "USER PASSWORD" of the agent's account with that Redfish role
#   rf_agent_summary              prints how many audit and hardware log entries it started with
#   rf_agent_host_power_calls     prints the calls the hostpower agent's logind and systemd mocks
#                                 received, one "logind|systemd METHOD ARGS" line each (Can* left out)
#   rf_agent_stop                 stops it (also installed as the EXIT trap by rf_agent_start)
#
# AGENT is `demo`, `bmc`, or `hostpower` (the demo with hostPower.busAddress at python-dbusmock's
# logind and systemd manager on a private bus: the host's own power types done against mocks).

rf_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RF_AGENT_PID=
RF_AGENT_JSON=
RF_AGENT_URL=

rf_agent_stop() {
  if [ -n "$RF_AGENT_PID" ]; then
    kill "$RF_AGENT_PID" 2>/dev/null
    wait "$RF_AGENT_PID" 2>/dev/null
    RF_AGENT_PID=
  fi
}

rf_agent_start() {
  local agent=$1 out=$2 flags=()
  local dir=$out/$agent
  RF_AGENT_JSON=$out/$agent.json
  RF_AGENT_URL=
  rm -rf "$dir" "$RF_AGENT_JSON"
  case $agent in
    demo) ;;
    bmc) flags=(--bmc) ;;
    hostpower) flags=(--host-power) ;;
    *) echo "FAIL $agent: unknown agent (demo, bmc or hostpower)"; return 1 ;;
  esac
  trap rf_agent_stop EXIT
  node "$rf_root/scripts/redfish-conformance-agent.mjs" --dir "$dir" "${flags[@]}" >"$RF_AGENT_JSON" 2>"$out/$agent.err" &
  RF_AGENT_PID=$!
  # The agent prints its JSON line once the service answers (the bmc agent waits for the SEL).
  for _ in $(seq 1 600); do
    [ -s "$RF_AGENT_JSON" ] && break
    kill -0 "$RF_AGENT_PID" 2>/dev/null || break
    sleep 0.5
  done
  if ! [ -s "$RF_AGENT_JSON" ]; then
    echo "FAIL $agent: the agent did not start (see $out/$agent.err, $dir/vpmd.log)"
    cat "$out/$agent.err" >&2
    rf_agent_stop
    return 1
  fi
  RF_AGENT_URL=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).url)' "$RF_AGENT_JSON")
}

rf_agent_account() {
  node -e 'const a=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).accounts[process.argv[2]];console.log(a.user, a.password)' "$RF_AGENT_JSON" "$1"
}

rf_agent_summary() {
  node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));console.log(`${j.auditEntries} audit and ${j.hardwareEntries} hardware log entries`)' "$RF_AGENT_JSON"
}

rf_agent_host_power_calls() {
  local file
  file=$(dirname "$RF_AGENT_JSON")/hostpower/host-power-calls.json
  rm -f "$file"
  kill -USR2 "$RF_AGENT_PID" 2>/dev/null || return 1
  for _ in $(seq 1 60); do
    [ -s "$file" ] && break
    sleep 0.5
  done
  [ -s "$file" ] || return 1
  node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
for (const [who, calls] of Object.entries(c))
  for (const x of calls) if (!x.method.startsWith("Can")) console.log(who, x.method, JSON.stringify(x.args ?? []));' "$file"
}
