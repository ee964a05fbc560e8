#!/usr/bin/env bash
# Installs the official SDKs the scripts in this directory run, pinned, under target/ (never
# globally): one Python venv per script (its `# requires:` line names the exact pins; two
# versions of one SDK cannot share a venv) and node_modules from package-lock.json (`npm ci`).
# Needs network access to PyPI and npm; run again only when a pin changes (it skips what is
# already installed with the same pins).
#
#   crates/oob-auth-emulator/official/install.sh [<dir>]   (default: <workspace>/target/official-sdks)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dir="${1:-$root/target/official-sdks}"
mkdir -p "$dir/venv" "$dir/node"

for script in "$here"/python/*.py; do
  name="$(basename "$script" .py)"
  pins="$(sed -n 's/^# requires: *//p' "$script" | tr '\n' ' ' | sed 's/ *$//')"
  [ -n "$pins" ] || continue
  venv="$dir/venv/$name"
  if [ -f "$venv/.pins" ] && [ "$(cat "$venv/.pins")" = "$pins" ]; then
    echo "official SDKs: $name: $pins (installed)"
    continue
  fi
  echo "official SDKs: $name: installing $pins"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the pins are separate words
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pins
  printf '%s' "$pins" > "$venv/.pins"
done

lock="$here/node/package-lock.json"
if [ -f "$dir/node/.lock" ] && cmp -s "$lock" "$dir/node/.lock"; then
  echo "official SDKs: node: installed"
else
  echo "official SDKs: node: npm ci"
  cp "$here/node/package.json" "$lock" "$dir/node/"
  npm ci --prefix "$dir/node" --no-audit --no-fund --loglevel=error
  cp "$lock" "$dir/node/.lock"
fi
