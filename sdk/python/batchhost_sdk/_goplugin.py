"""The services go-plugin expects of every plugin besides its own.

- grpc.health.v1.Health/Check: go-plugin's Ping asks for the service
  "plugin" and wants SERVING.
- plugin.GRPCController/Shutdown: how the host stops a plugin gracefully;
  the process exits 0 right after answering.
- plugin.GRPCStdio/StreamStdio: go-plugin mirrors a plugin's stdout and
  stderr over it. This SDK sends nothing on it (stdout and stderr go to the
  process's real stderr, which the host keeps for crash reports); serving
  it keeps go-plugin from warning, at every launch, that it is missing.

Their messages are tiny and fixed, so they are encoded here by hand
instead of with generated classes: no Debian package ships the health
service for Python, and generated classes would claim the global protobuf
names "grpc.health.v1.*" and "plugin.Empty", which another library in the
same process may define too.
"""

import grpc

_SERVING = 1
_EMPTY = b""


def _health_service(data):
    """The service name of a HealthCheckRequest (field 1, a string)."""
    i, n = 0, len(data)
    while i < n:
        key, i = _varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            if field == 1:
                return data[i:i + size].decode("utf-8", "replace")
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
    return ""


def _varint(data, i):
    shift = result = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def _health_response(status):
    """A HealthCheckResponse: field 1, the status enum."""
    return bytes([0x08, status])


def handlers(shutdown):
    """The generic handlers of the three services. shutdown is a
    threading.Event the controller sets and the stdio stream ends on."""

    def check(service, context):
        if service not in ("", "plugin"):
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service %r" % service)
        return _SERVING

    def shutdown_rpc(_request, _context):
        shutdown.set()
        return _EMPTY

    def stream_stdio(_request, context):
        while not shutdown.wait(0.5):
            if not context.is_active():
                return
        return
        yield  # a generator that sends nothing

    ident = lambda b: b  # noqa: E731 (raw bytes in and out)
    return [
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
            "Check": grpc.unary_unary_rpc_method_handler(
                check, request_deserializer=_health_service, response_serializer=_health_response),
        }),
        grpc.method_handlers_generic_handler("plugin.GRPCController", {
            "Shutdown": grpc.unary_unary_rpc_method_handler(
                shutdown_rpc, request_deserializer=ident, response_serializer=ident),
        }),
        grpc.method_handlers_generic_handler("plugin.GRPCStdio", {
            "StreamStdio": grpc.unary_stream_rpc_method_handler(
                stream_stdio, request_deserializer=ident, response_serializer=ident),
        }),
    ]
