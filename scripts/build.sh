#!/usr/bin/env bash
# Builds bin/batchhost and every first-party plugin into bin/plugins/, the
# layout the CLI expects (plugins/ beside the executable).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin/plugins
export CGO_ENABLED=0
if [ -d host/cmd/batchhost ]; then
  go build -o bin/batchhost ./host/cmd/batchhost
fi
for main in plugins/*/cmd/batchhost-plugin-*; do
  [ -d "$main" ] || continue
  go build -o "bin/plugins/$(basename "$main")" "./$main"
done
echo "build: bin/batchhost and $(ls bin/plugins | wc -l) plugins in bin/plugins"
