"""The go-plugin handshake and limits, as proto/pluginrpc defines them.

These must equal the Go constants in proto/pluginrpc/pluginrpc.go; a Go test
(sdk/python/integration) reads them from this module and compares.
"""

#: go-plugin's own protocol version: the first field of the handshake line.
CORE_PROTOCOL_VERSION = 1

#: The plugin protocol version this SDK speaks (plugin.proto as it is).
PROTOCOL_VERSION = 1

#: The magic cookie only keeps a user from running a plugin by hand by
#: mistake; it is not a security measure.
MAGIC_COOKIE_KEY = "BATCHHOST_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "5f1c0c1e-batchhost-task-plugin"

#: Names the file descriptor of the lifeline pipe the host holds the write
#: end of; EOF on it means the host is gone.
LIFELINE_FD_ENV = "BATCHHOST_LIFELINE_FD"

#: The exit status of a plugin whose host is gone.
LIFELINE_EXIT_CODE = 3

#: File name prefix of plugin executables in a plugin directory.
BINARY_PREFIX = "batchhost-plugin-"

#: Bound on one gRPC message in either direction.
MAX_MESSAGE_BYTES = 64 << 20

#: go-plugin's environment: the versions the host speaks, and where to put
#: the unix socket.
PROTOCOL_VERSIONS_ENV = "PLUGIN_PROTOCOL_VERSIONS"
UNIX_SOCKET_DIR_ENV = "PLUGIN_UNIX_SOCKET_DIR"
