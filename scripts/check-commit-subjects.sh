#!/usr/bin/env bash
# Commit subjects under 72 characters (issue #19), checked for every commit after the one where
# the rule began to be enforced: older history is what it is. Run by .ci/run; a checkout without
# that history (a tarball, a shallow clone) has nothing to check and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
base=ea13208386a6f5b977ecf667cd0e037e68170153
if ! git rev-parse -q --verify "${base}^{commit}" >/dev/null 2>&1; then
  echo "commit subjects: history before ${base} not present, nothing to check"
  exit 0
fi
bad=$(git log --format='%h %s' "${base}..HEAD" | awk '{ s = substr($0, index($0, " ") + 1); if (length(s) >= 72) print length(s) ": " $0 }')
if [ -n "$bad" ]; then
  echo "commit subjects of 72 characters or more (keep the subject short, the detail in the body):"
  echo "$bad"
  exit 1
fi
echo "commit subjects: $(git rev-list --count "${base}..HEAD") commit(s) since ${base}, all under 72 characters"
