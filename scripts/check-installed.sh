#!/usr/bin/env bash
# Installs the `npm pack` tarball as a global package (into a private prefix, so the machine is
# left as it was) with its dependencies from the npm cache only, then runs the installed programs as an
# operator would: vpmd --version, check-config, doctor (human and --json), and a demo agent that
# the installed vpmctl talks to. Used by .ci/run; needs a built dist/ and a warm npm cache.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
demo_pid=
cleanup() {
  if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
echo "== packed $tarball ($(du -h "$work/$tarball" | cut -f1))"
# Laid out as `npm install -g TARBALL --prefix P` lays it out (P/lib/node_modules/vpmd, links in
# P/bin), but offline: `npm install -g` asks the registry for every dependency's versions, while
# `npm ci --offline` with the tested lockfile takes each one from the cache `npm ci` filled.
pkg="$work/prefix/lib/node_modules/vpmd"
mkdir -p "$pkg" "$work/prefix/bin"
tar -xzf "$work/$tarball" -C "$pkg" --strip-components=1
cp package-lock.json "$pkg/"
(cd "$pkg" && npm ci --omit=dev --offline --no-audit --no-fund) >"$work/install.log" 2>&1 || {
  cat "$work/install.log"
  exit 1
}
for bin in vpmd vpmctl; do
  target=$(node -p "require('$pkg/package.json').bin['$bin']")
  chmod +x "$pkg/$target"
  ln -s "../lib/node_modules/vpmd/$target" "$work/prefix/bin/$bin"
done
export PATH="$work/prefix/bin:$PATH"
echo "== installed: $(command -v vpmd), $(vpmd --version)"
vpmd check-config "$pkg/config/vpmd.example.yaml"
# The packaged unit file is there and well-formed where systemd-analyze exists.
test -f "$pkg/packaging/systemd/vpmd.service"
if command -v systemd-analyze >/dev/null; then systemd-analyze verify "$pkg/packaging/systemd/vpmd.service"; fi
# Without a configuration nothing is required: doctor reports and exits 0.
vpmd doctor
vpmd doctor --json | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!Array.isArray(r.facilities) || r.facilities.length < 10) process.exit(1); console.log(`== doctor --json: ${r.facilities.length} facilities, missing: ${r.missing.join(", ") || "none"}`)'
# A demo agent from the installed package, and the installed vpmctl against it.
vpmd --demo --dir "$work/demo" >"$work/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 600); do
  grep -q 'Ctrl-C stops the agent' "$work/demo.out" 2>/dev/null && break
  kill -0 "$demo_pid" 2>/dev/null || { cat "$work/demo.out"; exit 1; }
  sleep 0.1
done
grep -q 'Ctrl-C stops the agent' "$work/demo.out" || { cat "$work/demo.out"; exit 1; }
grep -q '^  vpmctl status' "$work/demo.out" # installed: the banner calls vpmctl by name
vpmctl --socket "$work/demo/control.sock" status
vpmctl --socket "$work/demo/control.sock" host summary >/dev/null
echo "== the installed package checks, diagnoses, runs and answers"
