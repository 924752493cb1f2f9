#!/usr/bin/env bash
# Autogenerate the next migration from the models: an empty database is upgraded to the
# current head, then Alembic compares it with the models and writes what differs.
# Usage: scripts/regen_migration.sh "what changed"   (review the file it writes before committing;
# Alembic does not see PostgreSQL statistics, views or data changes: add those by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
message=${1:?usage: scripts/regen_migration.sh "what changed"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DATABASE_URL="sqlite:///$tmp/empty.db" APP_ENV=development SCHEDULER_ENABLED=0 UPLOAD_FOLDER="$tmp/up"
"$PY" -m flask --app wsgi db upgrade >/dev/null 2>&1
"$PY" -m flask --app wsgi db migrate -m "$message"
ls migrations/versions/
