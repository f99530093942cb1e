#!/usr/bin/env bash
# The whole test suite: code health, then every test on real Postgres and Redis.
set -euo pipefail
. "$(dirname "$0")/bootstrap.sh"
cd "$ROOT"

ensure_services
ensure_venv requirements.txt requirements-dev.txt
ensure_static
ensure_chromium
ensure_gettext
export DJANGO_SETTINGS_MODULE=config.settings.test

say "ruff (lint and format)"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
say "mypy"
"$VENV/bin/mypy" .
say "the layers (import-linter)"
"$VENV/bin/lint-imports" --no-cache >/dev/null || "$VENV/bin/lint-imports" --no-cache || fail "An import breaks the layers: see pyproject.toml [tool.importlinter]."
say "front-end unit tests"
node --test --test-reporter=dot tests/js/*.test.mjs || fail "Front-end unit tests failed."
ensure_database
say "migrations are up to date"
"$PY" manage.py makemigrations --check --dry-run >/dev/null || fail "Model changes without a migration: run manage.py makemigrations."
say "pytest"
"$VENV/bin/pytest" "$@"
