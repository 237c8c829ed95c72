"""Run plugin tasks through the real plugin protocol inside a test.

    from batchhost_sdk import testing

    class CountTest(unittest.TestCase):
        def test_count(self):
            res = testing.run(plugin, "count", {"text": "to be or not"})
            self.assertIsNone(res.error)
            self.assertEqual(res.output, {"words": 4})
            self.assertEqual([p.fraction for p in res.progress()], [0.5])

        def test_conformance(self):
            testing.assert_conformance(plugin)

run() plays the host: it serves the plugin on a gRPC server inside the test
process (the same servicer a plugin process runs), encodes the args, calls
Execute, collects every event in order and the result, and can time the
call out or cancel it. Unlike a plugin process, a task's sys.exit() is
reported as kind "plugin_crashed" instead of ending the test; os._exit()
and fatal signals still end it.
"""

import dataclasses
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent import futures

import grpc

from . import _goplugin, _server
from ._proto import plugin_pb2 as pb
from ._proto import plugin_pb2_grpc

_KINDS = {v.number: v.name[len("ERROR_KIND_"):].lower() for v in pb.ErrorKind.DESCRIPTOR.values}
_KINDS[0] = "task_error"  # the host reads an unspecified kind as task_error
_LEVELS = {v.number: v.name[len("LOG_LEVEL_"):].lower() for v in pb.LogLevel.DESCRIPTOR.values}

# Args no task may accept; the SDK refuses them while decoding, so the
# task functions never run and conformance is safe for tasks with effects.
BAD_ARGS = (b"{", b"{not json}", b"{} {}", b'"unterminated')

_CALL_TIMEOUT = 30.0


@dataclasses.dataclass
class Progress:
    fraction: float
    message: str


@dataclasses.dataclass
class Log:
    #: "trace", "debug", "info", "warn" or "error".
    level: str
    message: str
    fields: dict
    time_ns: int


@dataclasses.dataclass
class Heartbeat:
    pass


@dataclasses.dataclass
class Error:
    """An attempt's failure as the host would record it. kind is the
    host's spelling: "task_error", "permanent", "invalid_args",
    "unknown_task", "unsupported_format", and, played by run() itself,
    "plugin_crashed" (sys.exit in the task, or a broken stream), "timeout"
    (timeout= passed) and "canceled" (cancel= was set)."""
    kind: str
    message: str
    retryable: bool = False
    #: Seconds the task asked to wait (RetryAfter).
    retry_after: float = 0.0


@dataclasses.dataclass
class Result:
    """What one attempt produced."""
    #: The decoded JSON result; None when error is set.
    output: object = None
    #: The raw JSON result bytes.
    output_json: bytes = None
    error: Error = None
    #: Progress, Log and Heartbeat events, in stream order.
    events: list = dataclasses.field(default_factory=list)
    #: The call was cancelled and the task had not returned within the
    #: grace period: it ignores cancellation, and the host would kill it.
    abandoned: bool = False

    def progress(self):
        return [e for e in self.events if isinstance(e, Progress)]

    def logs(self):
        return [e for e in self.events if isinstance(e, Log)]


class ProtocolError(AssertionError):
    """The SDK broke the protocol (an event after the result, a stream
    without a result, output that is not JSON)."""


class _Conn:
    """A gRPC server for one plugin inside this process and a client of it,
    over a unix socket."""

    def __init__(self, plugin, workers=8):
        problem = plugin.problem()
        if problem:
            raise ValueError("invalid plugin: %s" % problem)
        self.servicer = _server.Servicer(plugin, recover_exits=True)
        self._dir = tempfile.mkdtemp(prefix="bhpy")
        self.shutdown = threading.Event()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers), options=_server.server_options())
        plugin_pb2_grpc.add_TaskPluginServicer_to_server(self.servicer, self.server)
        self.server.add_generic_rpc_handlers(_goplugin.handlers(self.shutdown))
        self.address = "unix:" + os.path.join(self._dir, "plugin.sock")
        self.server.add_insecure_port(self.address)
        self.server.start()
        self.channel = grpc.insecure_channel(self.address, options=_server.server_options())
        self.stub = plugin_pb2_grpc.TaskPluginStub(self.channel)

    def close(self):
        self.shutdown.set()
        self.channel.close()
        self.server.stop(0).wait(5)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(plugin, task, args=None, *, attempt=1, max_attempts=None, timeout=None, cancel=None,
        heartbeat=None, grace=5.0, job_id="sdktest-job", traceparent="", tracestate=""):
    """Runs one attempt of the named task of plugin with args and returns
    its Result. It raises only for a misuse of run() or a protocol
    violation by the SDK, never because the task failed (see
    Result.error).

    args is encoded with json.dumps (a dataclass with dataclasses.asdict);
    bytes are sent as they are (even if not valid JSON, to test bad input);
    None sends no args. attempt and max_attempts (default max(3, attempt))
    are what the task sees; timeout (seconds) cancels the call as the host
    does at a job's timeout (Error kind "timeout"); cancel, a
    threading.Event, cancels it when set (kind "canceled"); heartbeat asks
    for a heartbeat every so many seconds (SDK floor: 0.01); grace is how
    long to wait, after cancelling, for the task to return before reporting
    it abandoned; traceparent and tracestate are sent as the host sends its
    span of the attempt (job.traceparent, job.tracestate).
    """
    if attempt < 1:
        raise ValueError("attempt %d: attempts count from 1" % attempt)
    if max_attempts is None:
        max_attempts = max(3, attempt)
    if attempt > max_attempts:
        raise ValueError("attempt %d is beyond max_attempts %d" % (attempt, max_attempts))
    if timeout is not None and timeout <= 0:
        raise ValueError("timeout must be positive")
    raw = _encode_args(args)
    with _Conn(plugin) as c:
        return _run(c, task, raw, attempt=attempt, max_attempts=max_attempts, timeout=timeout,
                    cancel=cancel, heartbeat=heartbeat, grace=grace, job_id=job_id,
                    traceparent=traceparent, tracestate=tracestate)


def _encode_args(args):
    if args is None:
        return b""
    if isinstance(args, (bytes, bytearray)):
        return bytes(args)
    if dataclasses.is_dataclass(args) and not isinstance(args, type):
        args = dataclasses.asdict(args)
    return json.dumps(args).encode("utf-8")


def _run(c, task, raw, *, attempt=1, max_attempts=3, timeout=None, cancel=None, heartbeat=None, grace=5.0,
         job_id="sdktest-job", traceparent="", tracestate=""):
    req = pb.ExecuteRequest(job_id=job_id, attempt=attempt, max_attempts=max_attempts, task=task, args=raw,
                            heartbeat_interval_ms=int(heartbeat * 1000) if heartbeat else 0,
                            traceparent=traceparent, tracestate=tracestate)
    if timeout:
        req.deadline_unix_nano = time.time_ns() + int(timeout * 1e9)
    if cancel is not None and cancel.is_set():
        # The host does not start an attempt it has already cancelled.
        return Result(error=Error("canceled", "the attempt was canceled"))
    call = c.stub.Execute(req)
    why = []  # why the attempt was cancelled: "timeout" or "canceled"
    timers = []
    abandoned = threading.Event()

    def give_up():
        abandoned.set()
        call.cancel()

    def stop(reason):
        # As the host does: a Cancel call, which leaves the stream open for
        # what the task sends until it returns; the stream is cancelled
        # only if the task has not returned within the grace.
        if why:
            return
        why.append(reason)
        g = threading.Timer(grace, give_up)
        g.daemon = True
        g.start()
        timers.append(g)
        try:
            c.stub.Cancel(pb.CancelRequest(job_id=job_id, attempt=attempt), timeout=_CALL_TIMEOUT)
        except grpc.RpcError:
            give_up()

    if timeout:
        t = threading.Timer(timeout, stop, ("timeout",))
        t.daemon = True
        t.start()
        timers.append(t)
    if cancel is not None:
        finished = threading.Event()

        def watch():
            while not finished.is_set():
                if cancel.wait(0.01):
                    stop("canceled")
                    return
        w = threading.Thread(target=watch, daemon=True)
        w.start()
    res = Result()
    got_result = False
    broken = None
    try:
        for ev in call:
            if got_result:
                raise ProtocolError("an event after the result: %s" % ev)
            which = ev.WhichOneof("event")
            if which == "progress":
                res.events.append(Progress(ev.progress.fraction, ev.progress.message))
            elif which == "log":
                res.events.append(_log(ev.log))
            elif which == "heartbeat":
                res.events.append(Heartbeat())
            elif which == "result":
                got_result = True
                _set_result(res, ev.result)
            else:
                raise ProtocolError("an empty event")
    except grpc.RpcError as e:
        broken = e
    finally:
        for t in timers:
            t.cancel()
        if cancel is not None:
            finished.set()
    if why:
        if got_result and res.error is None:
            # The task finished its work despite the cancel: the host
            # records the success.
            return res
        # The host records its own kind for a cancelled attempt that
        # failed or did not return.
        res.output, res.output_json = None, None
        res.error = Error("timeout", "the attempt did not finish within %ss" % timeout, True) if why[0] == "timeout" \
            else Error("canceled", "the attempt was canceled")
        if not got_result and (abandoned.is_set() or not _settled(c.servicer, grace)):
            res.abandoned = True
        return res
    if broken is not None:
        res.output, res.output_json = None, None
        res.error = Error("plugin_crashed", "the stream broke: %s" % broken, True)
        return res
    if not got_result:
        raise ProtocolError("the stream ended without a result")
    return res


def _settled(servicer, grace):
    """Waits up to grace for every task to have returned, as the host does
    after a cancel (it asks Describe until running is 0)."""
    deadline = time.monotonic() + grace
    while servicer.running:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _log(rec):
    try:
        fields = json.loads(rec.fields_json) if rec.fields_json else {}
    except ValueError as e:
        raise ProtocolError("log fields are not JSON: %s" % e) from None
    if not isinstance(fields, dict):
        raise ProtocolError("log fields are not a JSON object: %r" % rec.fields_json)
    return Log(_LEVELS.get(rec.level, "info"), rec.message, fields, rec.time_unix_nano)


def _set_result(res, r):
    which = r.WhichOneof("outcome")
    if which == "output":
        res.output_json = r.output
        try:
            res.output = json.loads(r.output)
        except ValueError:
            raise ProtocolError("the output is not valid JSON: %r" % r.output[:200]) from None
    elif which == "error":
        e = r.error
        res.error = Error(_KINDS.get(e.kind, "task_error"), e.message, e.retryable, e.retry_after_ms / 1000.0)
    else:
        raise ProtocolError("a result with neither output nor error")


def conformance(plugin):
    """Checks what every plugin must do, through the real protocol, and
    returns the problems found (an empty list when there are none): its
    configuration is valid; Describe gives its name, a version and every
    task with a one-line description; an unknown task is refused with kind
    unknown_task (not retryable); every task refuses malformed JSON args
    with kind invalid_args (not retryable); nothing crashes. It runs no
    task on valid args, so it is safe for tasks with side effects."""
    problem = plugin.problem()
    if problem:
        return ["invalid plugin: %s" % problem]
    out = []
    with _Conn(plugin) as c:
        d = c.stub.Describe(pb.DescribeRequest(), timeout=_CALL_TIMEOUT)
        out += describe_problems(plugin, d)
        res = _run(c, "sdktest.no-such-task", b"", timeout=_CALL_TIMEOUT)
        p = refusal_problem(res, "unknown_task")
        if p:
            out.append("unknown task: %s" % p)
        for t in plugin.tasks:
            for bad in BAD_ARGS:
                res = _run(c, t.name, bad, timeout=_CALL_TIMEOUT)
                p = refusal_problem(res, "invalid_args")
                if p:
                    out.append("task %r with args %s: %s" % (t.name, bad.decode(), p))
    return out


def assert_conformance(plugin):
    """Raises AssertionError listing every problem conformance() finds."""
    problems = conformance(plugin)
    if problems:
        raise AssertionError("plugin %r does not conform:\n  %s" % (plugin.name, "\n  ".join(problems)))


def describe_problems(plugin, d):
    """Compares a Describe answer with the plugin it came from."""
    out = []
    if d.name != plugin.name:
        out.append("Describe name is %r, want %r" % (d.name, plugin.name))
    if not d.version:
        out.append('the plugin has no version: set Plugin(version=...) (semver, e.g. "1.0.0")')
    if d.fresh_process_per_attempt != plugin.fresh_process_per_attempt:
        out.append("Describe fresh_process_per_attempt is %s, want %s" % (
            d.fresh_process_per_attempt, plugin.fresh_process_per_attempt))
    if len(d.tasks) != len(plugin.tasks):
        out.append("Describe lists %d tasks, the plugin has %d" % (len(d.tasks), len(plugin.tasks)))
        return out
    for i, (ti, want) in enumerate(zip(d.tasks, plugin.tasks), 1):
        if ti.name != want.name:
            out.append("Describe task %d is %r, want %r" % (i, ti.name, want.name))
        elif not ti.description.strip():
            out.append("task %r has no description: give it a one-line description" % ti.name)
        elif "\n" in ti.description or "\r" in ti.description:
            out.append("task %r: the description must be one line" % ti.name)
    return out


def refusal_problem(res, kind):
    """What is wrong with res as a refusal of kind kind, or None."""
    if res.error is None:
        return "succeeded with %s, want an error of kind %s" % (res.output_json, kind)
    if res.error.kind == "plugin_crashed":
        return "crashed: " + res.error.message
    if res.error.kind != kind:
        return "failed with kind %s (%s), want %s" % (res.error.kind, res.error.message, kind)
    if res.error.retryable:
        return "kind %s is marked retryable; it must not be" % kind
    if not res.error.message:
        return "kind %s has no message" % kind
    return None
