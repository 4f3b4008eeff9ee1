#!/usr/bin/env bash
# Reproduces a brand-new machine as closely as this one allows, then runs what
# the README tells a new user to run. A clean clone of the committed HEAD, with:
#   - empty npm, pip and cargo caches (npm_config_cache, PIP_CACHE_DIR, CARGO_HOME);
#   - a python3 without numpy or any other package first on PATH;
#   - no `vips` on PATH.
# Then `npm install`, `npm test` and `npm run demo`, each timed.
# Usage: bash scripts/check-fresh-machine.sh   (KEEP=1 keeps the folder)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/wsi-fresh-machine-XXXXXX")
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

git clone --quiet "$repo" "$work/clone"
mkdir -p "$work/npm-cache" "$work/pip-cache" "$work/cargo-home"
export npm_config_cache="$work/npm-cache" PIP_CACHE_DIR="$work/pip-cache" CARGO_HOME="$work/cargo-home"

# A python3 with nothing installed: a bare virtual environment, first on PATH.
python3 -m venv --without-pip "$work/bare-python"
# PATH without any folder that holds a `vips` command.
path=""
IFS=: read -r -a dirs <<< "$PATH"
for dir in "${dirs[@]}"; do
  [ -n "$dir" ] && [ -x "$dir/vips" ] && continue
  path="${path:+$path:}$dir"
done
export PATH="$work/bare-python/bin:$path"
if python3 -c 'import numpy' 2>/dev/null; then echo "python3 still imports numpy" >&2; exit 1; fi
if command -v vips >/dev/null 2>&1; then echo "vips is still on PATH" >&2; exit 1; fi
# What an enclosing npm run would pass down would point npm at this repository.
while IFS= read -r name; do unset "$name"; done < <(env | sed -n 's/^\(npm_[a-z_]*\)=.*/\1/p' | grep -v '^npm_config_cache$')

cd "$work/clone"
summary=()
step() {
  local started=$SECONDS
  echo "== $*"
  "$@"
  summary+=("$(printf '%-16s %5d s' "$*" $((SECONDS - started)))")
}
step npm install
step npm test
step npm run demo
echo "== fresh-machine check passed (clone of $(git rev-parse --short HEAD))"
printf '%s\n' "${summary[@]}"
