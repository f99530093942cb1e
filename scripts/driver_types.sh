#!/usr/bin/env bash
# The driver app's types, generated from the API's schema as an integrator would: run after changing the API.
# tests/contract/test_generated_types.py fails while static/driver/schema.d.ts is out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
schema="$(mktemp --suffix=.json)"
trap 'rm -f "$schema"' EXIT
DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.test}" .venv/bin/python manage.py spectacular \
  --api-version v1 --format openapi-json --file "$schema"
node_modules/.bin/openapi-typescript "$schema" --output static/driver/schema.d.ts
node_modules/.bin/tsc -p static/driver
echo "static/driver/schema.d.ts is up to date and the app checks against it."
