#!/usr/bin/env bash
# Runs every check CI runs: formatting, vet, and the race-enabled tests.
# Tests build the plugin binaries they need themselves (TestMain), so this
# works on a fresh clone with only Go installed.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 -timeout 20m "$@" ./...
