#!/usr/bin/env bash
# The front-end build: installs the pinned libraries from the npm registry
# (package-lock.json) and copies the files the pages load into static/vendor/.
# Both are generated and git-ignored. Skips everything when the lock file and
# this script are unchanged since the last build and the files are in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENDOR="$ROOT/static/vendor"
STAMP="$VENDOR/.built.sha256"

# Source in node_modules -> destination under static/vendor/.
FILES=(
  "leaflet/dist/leaflet.js:leaflet/leaflet.js"
  "leaflet/dist/leaflet.css:leaflet/leaflet.css"
  "leaflet/dist/images/layers.png:leaflet/images/layers.png"
  "leaflet/dist/images/layers-2x.png:leaflet/images/layers-2x.png"
  "leaflet/dist/images/marker-icon.png:leaflet/images/marker-icon.png"
  "leaflet/dist/images/marker-icon-2x.png:leaflet/images/marker-icon-2x.png"
  "leaflet/dist/images/marker-shadow.png:leaflet/images/marker-shadow.png"
  "leaflet/LICENSE:leaflet/LICENSE"
  "chart.js/dist/chart.umd.js:chart.js/chart.umd.js"
  "chart.js/LICENSE.md:chart.js/LICENSE.md"
)

fingerprint() { cat package.json package-lock.json "${BASH_SOURCE[0]}" 2>/dev/null | sha256sum | cut -d' ' -f1; }
want="$(fingerprint || true)"
complete=yes
for pair in "${FILES[@]}"; do [ -f "$VENDOR/${pair#*:}" ] || complete=""; done
if [ -n "$complete" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

printf '\033[1m==> %s\033[0m\n' "Building front-end libraries into static/vendor/"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

rm -rf "$VENDOR"
for pair in "${FILES[@]}"; do
  source="node_modules/${pair%%:*}" target="$VENDOR/${pair#*:}"
  [ -f "$source" ] || { echo "Missing $source after npm install." >&2; exit 1; }
  mkdir -p "$(dirname "$target")"
  cp "$source" "$target"
done
# Recomputed: the first build creates package-lock.json.
fingerprint > "$STAMP"
