#!/usr/bin/env bash
# mypy over the installed namespace (curator, curator.store, curator.screens).
# setuptools maps store/ and screens/ into curator.* with package-dir, which mypy cannot follow,
# so this lays the same namespace out as symlinks in a temporary folder and checks that.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mypy=${MYPY:-$root/.venv/bin/mypy}
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir "$tree/curator"
for entry in "$root"/curator/*; do ln -s "$entry" "$tree/curator/"; done
ln -s "$root/store" "$tree/curator/store"
ln -s "$root/screens" "$tree/curator/screens"
cd "$tree"
"$mypy" --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p curator
