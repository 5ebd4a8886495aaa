#!/usr/bin/env bash
# Run a command inside the installed namespace (curator, curator.store, curator.screens) laid
# out as plain folders. setuptools maps store/ and screens/ into curator.* with package-dir, which
# static tools (mypy, import-linter) cannot follow, so this builds the same namespace as symlinks
# in a temporary folder, puts it first on PYTHONPATH and runs the command from there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir "$tree/curator"
for entry in "$root"/curator/*; do ln -s "$entry" "$tree/curator/"; done
ln -s "$root/store" "$tree/curator/store"
ln -s "$root/screens" "$tree/curator/screens"
ln -s "$root/tests" "$tree/tests"
cd "$tree"
PYTHONPATH="$tree${PYTHONPATH:+:$PYTHONPATH}" "$@"
