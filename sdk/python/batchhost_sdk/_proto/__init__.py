"""Generated protobuf and gRPC code for proto/pluginpb/plugin.proto.

Do not edit: sdk/python/gen.sh (run by scripts/gen-proto.sh) writes it.
"""
