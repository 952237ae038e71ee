#!/usr/bin/env bash
# Copy the front-end libraries pinned in package-lock.json into callback_service/web/static/vendor.
# Runs `npm ci` (registry only, no install scripts) when node_modules is missing or older than the
# lock file. Idempotent: does nothing when the vendored files are newer than the lock file.
# The app never loads anything from a CDN.
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=callback_service/web/static/vendor
FILES=(
  "node_modules/echarts/dist/echarts.min.js:echarts.min.js"
  "node_modules/wavesurfer.js/dist/wavesurfer.min.js:wavesurfer.min.js"
)

up_to_date() {
  for pair in "${FILES[@]}"; do
    [[ "$VENDOR/${pair#*:}" -nt package-lock.json ]] || return 1
  done
}

if up_to_date && [[ "${1:-}" != "--force" ]]; then
  exit 0
fi
command -v npm >/dev/null || { echo "vendor-frontend: npm is needed (apt-get install -y npm)" >&2; exit 1; }
if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  touch node_modules
fi
mkdir -p "$VENDOR"
for pair in "${FILES[@]}"; do
  src=${pair%%:*} dst=$VENDOR/${pair#*:}
  [[ -f "$src" ]] || { echo "vendor-frontend: $src missing after npm ci" >&2; exit 1; }
  cp "$src" "$dst.tmp" && mv "$dst.tmp" "$dst"
done
node -e 'const l=require("./package-lock.json").packages;
  for (const n of ["echarts","wavesurfer.js"]) console.log(n+"@"+l["node_modules/"+n].version+" "+l["node_modules/"+n].license)' \
  > "$VENDOR/VERSIONS.txt"
echo "vendor-frontend: $(tr '\n' ' ' < "$VENDOR/VERSIONS.txt")"
