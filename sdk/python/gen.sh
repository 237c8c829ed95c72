#!/usr/bin/env bash
# Regenerates the Python code for proto/pluginpb/plugin.proto into
# sdk/python/batchhost_sdk/_proto with the pinned Debian generator.
# scripts/gen-proto.sh calls it; "gen.sh --check" only reports whether the
# committed code is what the generator makes (scripts/test.sh runs that).
#
# The generator is Debian's python3-grpc-tools at the version pinned below,
# run by Debian's /usr/bin/python3 (a python3 earlier on PATH, such as a
# pyenv one, may lack the package). The .proto is mapped to the import path
# batchhost_sdk/_proto/plugin.proto, so the generated modules import each
# other as batchhost_sdk._proto.* and the package needs no sys.path tricks.
set -euo pipefail
cd "$(dirname "$0")/../.."

GRPC_TOOLS_VERSION=1.14.1-6
PYTHON=/usr/bin/python3

have=$(dpkg-query -W -f='${Version}' python3-grpc-tools 2>/dev/null || true)
if [ "$have" != "$GRPC_TOOLS_VERSION" ]; then
  echo "gen.sh: need python3-grpc-tools $GRPC_TOOLS_VERSION (have: ${have:-none}); install it with: apt-get install python3-grpc-tools=$GRPC_TOOLS_VERSION" >&2
  exit 2
fi

out=sdk/python
dest=$out/batchhost_sdk/_proto
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m grpc_tools.protoc \
  -Ibatchhost_sdk/_proto=proto/pluginpb \
  --python_out="$tmp" --grpc_python_out="$tmp" \
  batchhost_sdk/_proto/plugin.proto

if [ "${1:-}" = "--check" ]; then
  for f in plugin_pb2.py plugin_pb2_grpc.py; do
    if ! cmp -s "$tmp/batchhost_sdk/_proto/$f" "$dest/$f"; then
      echo "gen.sh: $dest/$f is not what the generator makes from proto/pluginpb/plugin.proto: run scripts/gen-proto.sh and commit the result" >&2
      exit 1
    fi
  done
  exit 0
fi
cp "$tmp/batchhost_sdk/_proto/plugin_pb2.py" "$tmp/batchhost_sdk/_proto/plugin_pb2_grpc.py" "$dest/"
echo "gen.sh: regenerated $dest/plugin_pb2.py and plugin_pb2_grpc.py"
