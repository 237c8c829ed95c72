"""serve(): run a Plugin as a go-plugin gRPC plugin process."""

import os
import signal
import sys
import tempfile
import threading

from . import _lifeline, _stdout
from ._protocol import (CORE_PROTOCOL_VERSION, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PROTOCOL_VERSION,
                        PROTOCOL_VERSIONS_ENV, UNIX_SOCKET_DIR_ENV)

# gRPC threads: one Execute at a time, go-plugin's stdio stream for the
# whole life of the process, and Describe, health and shutdown calls
# beside them.
_WORKERS = 8

# How long in-flight calls get after a shutdown request.
_STOP_GRACE = 1.0


def serve(plugin):
    """Runs the plugin until the host shuts it down; call it from the
    plugin's main and nothing else. It never returns: the process exits.

    It checks the plugin's configuration, that a batchhost host started it
    (run by hand, it says so in one line and exits 1) and that the host
    speaks protocol version 1, then serves the TaskPlugin service on a unix
    socket and writes go-plugin's handshake line. From then on stdout is
    never written: file descriptor 1 and sys.stdout point at stderr, which
    the host keeps as a crash diagnostic (only job.log reaches the job's
    log). If the host dies, even by SIGKILL, the process exits with status 3
    through the lifeline the host passes, abandoning a running task.
    """
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else plugin_prog(plugin)
    problem = plugin.problem() if hasattr(plugin, "problem") else "serve() wants a batchhost_sdk.Plugin"
    if problem:
        _die(prog, problem)
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        _die(prog, "this is the batchhost task plugin %s; a batchhost host runs it: copy it into the host's "
                   "plugin directory instead of running it by hand" % _q(plugin.name))
    versions = os.environ.get(PROTOCOL_VERSIONS_ENV, "")
    if versions and str(PROTOCOL_VERSION) not in [v.strip() for v in versions.split(",")]:
        _die(prog, "the host speaks plugin protocol versions %s; this plugin (batchhost_sdk) speaks %d: "
                   "update the host or the SDK" % (versions, PROTOCOL_VERSION))
    handshake = _stdout.claim()
    try:
        import grpc
        from . import _goplugin, _server
        from ._proto import plugin_pb2_grpc
    except ImportError as e:
        _die(prog, "batchhost_sdk needs the Debian packages python3-grpcio and python3-protobuf, and %s cannot "
                   "import %s: install them (apt-get install python3-grpcio python3-protobuf) and run the plugin "
                   "with /usr/bin/python3" % (sys.executable, e.name or e))

    sock = _socket_path(prog)
    try:
        _lifeline.watch(prog, on_exit=lambda: _remove(sock))
    except ValueError as e:
        _die(prog, str(e))

    shutdown = threading.Event()
    from concurrent import futures
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="grpc"),
                         options=_server.server_options())
    plugin_pb2_grpc.add_TaskPluginServicer_to_server(_server.Servicer(plugin), server)
    server.add_generic_rpc_handlers(_goplugin.handlers(shutdown))
    try:
        server.add_insecure_port("unix:" + sock)
    except RuntimeError as e:
        _die(prog, "cannot listen on unix socket %s: %s" % (sock, e))
    server.start()
    # go-plugin reads this one line; the host ignores SIGINT for its
    # plugins (they live in their own process group), and so do we, as a
    # Go plugin does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.write(handshake, ("%d|%d|unix|%s|grpc\n" % (CORE_PROTOCOL_VERSION, PROTOCOL_VERSION, sock)).encode())

    shutdown.wait()
    server.stop(_STOP_GRACE).wait(_STOP_GRACE + 1)
    _remove(sock)
    _flush()
    # A task thread may still run (the host asked to shut down anyway), and
    # gRPC's threads are not daemons: exit without waiting for them.
    os._exit(0)


def plugin_prog(plugin):
    return "batchhost-plugin-%s" % getattr(plugin, "name", "?")


def _socket_path(prog):
    d = os.environ.get(UNIX_SOCKET_DIR_ENV) or tempfile.gettempdir()
    try:
        fd, path = tempfile.mkstemp(prefix="plugin", dir=d)
        os.close(fd)
        os.unlink(path)  # a unix socket must not exist before listen
    except OSError as e:
        _die(prog, "socket dir %s: %s" % (d, e.strerror))
    return path


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _q(s):
    return '"%s"' % s


def _flush():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass


def _die(prog, msg):
    _flush()
    try:
        os.write(2, ("%s: %s\n" % (prog, msg)).encode("utf-8", "replace"))
    except OSError:
        pass
    os._exit(1)
