#!/usr/bin/env bash
# Runs every `sh` block of docs/operations.md, in order, word for word, in one shell in a fresh directory, with the
# given shequ binary first on PATH. Exits non-zero at the first command that fails. Whatever it started is stopped at
# the end (by the pids the doc's own commands wrote), and the whole run is bounded by `timeout` in the caller.
#   Tests/Scripts/operations_walkthrough.sh PATH/TO/shequ [WORKDIR]
set -euo pipefail
binary=$(readlink -f "$1")
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work/bin"
ln -sf "$binary" "$work/bin/shequ"
script="$work/walkthrough.sh"
awk '/^```sh$/ {run=1; next} /^```/ {run=0} run {print}' "$repo/docs/operations.md" > "$script"
blocks=$(grep -c '^```sh$' "$repo/docs/operations.md")
echo "operations walkthrough: $blocks blocks, $(wc -l < "$script") lines, in $work"
cleanup() {
  for pidfile in "$work"/data/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
cd "$work"
PATH="$work/bin:$PATH" bash -euo pipefail -x "$script"
echo "operations walkthrough: every block ran"
