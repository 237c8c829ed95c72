#!/usr/bin/env bash
# Regenerates the committed protobuf code with pinned generators.
#
# Needs protoc (Debian: apt-get install protobuf-compiler). The Go plugins
# are installed at the versions pinned below into ./.bin, so the output does
# not depend on whatever happens to be on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

command -v protoc >/dev/null || { echo "gen-proto: protoc not found; install it with: apt-get install protobuf-compiler" >&2; exit 2; }

bin="$PWD/.bin"
mkdir -p "$bin"
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

for f in $(find proto -name '*.proto' | sort); do
  PATH="$bin:$PATH" protoc -I proto \
    --go_out=proto --go_opt=paths=source_relative \
    --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
    "$f"
done
echo "gen-proto: regenerated $(find proto -name '*.pb.go' | wc -l) files"

# The Python SDK's code for plugin.proto, with its own pinned generator.
sdk/python/gen.sh
