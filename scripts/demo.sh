#!/usr/bin/env bash
# Builds batchhost's plugins and runs the narrated demo on the embedded
# store in a temporary directory. Exits non-zero if anything it shows did
# not happen.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
exec go run ./examples/demo -plugins bin/plugins "$@"
