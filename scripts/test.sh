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

# Python plugins (sdk/python, examples/python-plugin) need Debian's
# python3-grpcio and python3-protobuf for /usr/bin/python3 (a python3
# earlier on PATH may lack them), and the pinned python3-grpc-tools to
# check the generated code. Install what is missing; fail if that fails.
PY=/usr/bin/python3
GRPC_TOOLS=python3-grpc-tools=1.14.1-6
if ! "$PY" -c 'import grpc, google.protobuf' 2>/dev/null || ! dpkg-query -W -f='${Version}' python3-grpc-tools 2>/dev/null | grep -qxF "${GRPC_TOOLS#*=}"; then
  echo "test.sh: installing python3-grpcio python3-protobuf $GRPC_TOOLS" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-grpcio python3-protobuf "$GRPC_TOOLS"; } >&2; then
    echo "test.sh: could not install python3-grpcio, python3-protobuf and $GRPC_TOOLS (needs root and Debian's package lists); the Python plugin tests need them" >&2
    exit 1
  fi
fi
sdk/python/gen.sh --check
(cd sdk/python && "$PY" -m unittest discover -s tests -t .)
PYTHONPATH=sdk/python "$PY" -m unittest discover -s examples/python-plugin

# The dashboard's browser tests (host/web) drive Debian's chromium: install
# it when missing; fail if that fails.
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing chromium for the browser tests" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } >&2; then
    echo "test.sh: could not install chromium (needs root and Debian's package lists); the browser tests need it" >&2
    exit 1
  fi
fi
go vet ./...
go test -race -count=1 -timeout 20m "$@" ./...
# The host's behaviour tests again with every host's queue in PostgreSQL
# (a database of each test's own; see internal/testpg): the two backends
# must behave alike. Its own tests start the local cluster if it is down,
# and fail without a server.
BATCHHOST_TEST_BACKEND=postgres go test -race -count=1 -timeout 20m "$@" ./host/
