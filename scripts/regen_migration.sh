#!/usr/bin/env bash
# Regenerate the single initial migration from the models (before the first release,
# the schema is one migration). Usage: scripts/regen_migration.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/empty.db" APP_ENV=development SCHEDULER_ENABLED=0 UPLOAD_FOLDER="$tmp/up" \
  "$PY" -m flask --app wsgi db migrate --rev-id 0001 -m "initial schema" >/dev/null 2>&1
rm -rf "$tmp"
ls migrations/versions/
