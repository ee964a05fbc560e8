#!/usr/bin/env bash
# Runs every official-SDK script against a fresh oob-auth-emulator and prints their lines,
# `scenario<TAB>sdk<TAB>ok|FAIL<TAB>detail`, one per scenario. Exits 1 if a scenario failed or a
# script could not run. Install the SDKs first (install.sh); this needs no network.
#
#   crates/oob-auth-emulator/official/run.sh <oob-auth-emulator binary> [<dir>]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
bin="${1:?usage: run.sh <oob-auth-emulator binary> [<dir>]}"
dir="${2:-$root/target/official-sdks}"
work="$(mktemp -d)"
emulator=""
cleanup() {
  if [ -n "$emulator" ]; then kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" --base-port 0 --dir "$work/emulator" --print-json > "$work/info.json" 2> "$work/emulator.log" &
emulator=$!
for _ in $(seq 1 100); do
  [ -s "$work/info.json" ] && break
  kill -0 "$emulator" 2>/dev/null || { cat "$work/emulator.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$work/info.json" ] || { echo "the emulator printed nothing" >&2; exit 1; }
export OOB_EMULATOR_INFO="$work/info.json"

status=0
for script in "$here"/python/*.py; do
  name="$(basename "$script" .py)"
  grep -q '^# requires:' "$script" || continue
  python="$dir/venv/$name/bin/python"
  if [ ! -x "$python" ]; then
    printf '%s\t%s\tFAIL\tnot installed: run %s\n' "(script $name)" "python" "$here/install.sh"
    status=1
    continue
  fi
  # One script at a time: they set the tenant's rules.
  (cd "$here/python" && "$python" "$script") || status=1
done
for script in "$here"/node/*.mjs; do
  if [ ! -d "$dir/node/node_modules" ]; then
    printf '%s\t%s\tFAIL\tnot installed: run %s\n' "(script $(basename "$script"))" "node" "$here/install.sh"
    status=1
    continue
  fi
  # Node finds packages next to the script: run a copy beside node_modules.
  cp "$script" "$dir/node/"
  node "$dir/node/$(basename "$script")" || status=1
done
"$here/curl.sh" || status=1
exit "$status"
