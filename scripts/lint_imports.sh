#!/usr/bin/env bash
# The layering contracts of pyproject.toml's [tool.importlinter], over the installed namespace.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec "$root/scripts/with_namespace.sh" \
	"$root/.venv/bin/lint-imports" --no-cache "$root/pyproject.toml"
