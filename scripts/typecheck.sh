#!/usr/bin/env bash
# mypy --strict over the installed namespace (curator, curator.store, curator.screens) and tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mypy=${MYPY:-$root/.venv/bin/mypy}
exec "$root/scripts/with_namespace.sh" \
	"$mypy" --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p curator -p tests
