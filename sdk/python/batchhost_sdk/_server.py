"""The plugin side of the TaskPlugin service (plugin.proto) for a Plugin."""

import os
import platform
import queue
import sys
import threading
import time
import traceback

from . import __version__, _text
from ._proto import plugin_pb2 as pb
from ._proto import plugin_pb2_grpc
from ._protocol import MAX_MESSAGE_BYTES
from .errors import KIND_PLUGIN_CRASHED, KIND_RESULT_TOO_LARGE, KIND_TASK_ERROR, KIND_UNKNOWN_TASK, TaskError
from .job import Job

# Heartbeat intervals: the default when the host does not ask for one, and
# the floor that keeps a misconfigured host from flooding its own stream.
DEFAULT_HEARTBEAT = 1.0
MIN_HEARTBEAT = 0.01

# The largest result that fits one protocol message, with room for the
# envelope.
MAX_OUTPUT = MAX_MESSAGE_BYTES - (4 << 10)

# Events a task may have queued before it blocks: the stand-in for gRPC
# flow control, so that a task logging in a tight loop waits for the host
# instead of filling the plugin's memory.
_QUEUE_SIZE = 256

# Cancels kept for attempts whose Execute call has not arrived: the host
# sends one per attempt, so this only bounds what a confused client costs.
_MAX_EARLY_CANCELS = 1024

_HEARTBEAT = pb.ExecuteEvent(heartbeat=pb.Heartbeat())
_WAKE = object()  # wakes the stream loop (the call ended)


def sdk_version():
    return "batchhost_sdk %s (python %s)" % (__version__, platform.python_version())


class Servicer(plugin_pb2_grpc.TaskPluginServicer):
    """Describe and Execute for one Plugin.

    recover_exits is for batchhost_sdk.testing, whose tasks run inside the
    test process: a task's SystemExit is reported as plugin_crashed instead
    of ending the process. A plugin process exits, as a script would, and
    the host records plugin_crashed with the exit status.
    """

    def __init__(self, plugin, recover_exits=False):
        self._plugin = plugin
        self._tasks = {t.name: t for t in plugin.tasks}
        self._names = ", ".join(sorted(self._tasks))
        self._recover_exits = recover_exits
        # running counts tasks that have not returned, including ones whose
        # call the host has cancelled: the host waits for 0 before it
        # reuses the process.
        self._lock = threading.Lock()
        self._running = 0
        # The attempts whose Execute call is open, by (job id, attempt),
        # for Cancel; and cancels that came before their Execute call.
        self._attempts = {}
        self._early_cancels = set()
        self._describe = pb.DescribeResponse(
            name=plugin.name, version=plugin.version,
            fresh_process_per_attempt=plugin.fresh_process_per_attempt,
            sdk_version=sdk_version(),
            tasks=[pb.TaskInfo(name=t.name, description=t.description) for t in plugin.tasks])

    @property
    def running(self):
        with self._lock:
            return self._running

    def Describe(self, request, context):
        d = pb.DescribeResponse()
        d.CopyFrom(self._describe)
        d.running = self.running
        return d

    def Execute(self, request, context):
        """Runs one attempt in a thread of its own; this generator sends its
        events in the order the task made them, heartbeats while it runs,
        and ends with exactly one Result. Problems the task reports travel
        as data in that Result, never as a gRPC error."""
        t = self._tasks.get(request.task)
        if t is None:
            yield _result_event(pb.Result(error=pb.TaskError(
                kind=KIND_UNKNOWN_TASK,
                message="unknown task %s: plugin %s offers %s" % (
                    _quote(request.task), _quote(self._plugin.name), self._names))))
            return
        a = _Attempt(self, t, request)
        context.add_callback(a.call_ended)
        key = (request.job_id, request.attempt)
        with self._lock:
            self._running += 1
            self._attempts[key] = a
            if key in self._early_cancels:
                # Its cancel overtook its Execute call.
                self._early_cancels.discard(key)
                a.job.cancelled.set()
        threading.Thread(target=a.run, name="task-" + t.name, daemon=True).start()
        interval = request.heartbeat_interval_ms / 1000.0 or DEFAULT_HEARTBEAT
        try:
            yield from a.stream(context, max(interval, MIN_HEARTBEAT))
        finally:
            with self._lock:
                if self._attempts.get(key) is a:
                    del self._attempts[key]

    def Cancel(self, request, context):
        """Cancels the task of an attempt without ending its Execute call:
        the task sees job.cancelled, and what it sends until it returns
        (log records of its clean-up, say) still reaches the host, then
        its result. A cancel of an attempt not started yet makes it start
        cancelled."""
        key = (request.job_id, request.attempt)
        with self._lock:
            a = self._attempts.get(key)
            if a is None:
                if len(self._early_cancels) >= _MAX_EARLY_CANCELS:
                    self._early_cancels.clear()
                self._early_cancels.add(key)
        if a is not None:
            a.job.cancelled.set()
        return pb.CancelResponse()

    def _task_returned(self):
        with self._lock:
            self._running -= 1


class _Attempt:
    """One Execute call: the task's thread feeds a bounded queue that the
    gRPC handler drains onto the stream."""

    def __init__(self, servicer, task, request):
        self._servicer = servicer
        self._task = task
        self._request = request
        self._events = queue.Queue(maxsize=_QUEUE_SIZE)
        # closed: the stream is over (result sent or call ended); later
        # events are dropped, so that a thread the task left behind never
        # blocks on a queue nobody reads.
        self._closed = False
        deadline = request.deadline_unix_nano / 1e9 if request.deadline_unix_nano > 0 else None
        self.job = Job(id=request.job_id, attempt=request.attempt, max_attempts=request.max_attempts,
                       deadline=deadline, traceparent=request.traceparent, tracestate=request.tracestate,
                       _emit=self._emit)

    def _emit(self, ev):
        while not self._closed:
            try:
                self._events.put(ev, timeout=0.1)
                return
            except queue.Full:
                continue

    def call_ended(self):
        """gRPC calls this when the call ends for any reason: after the
        host cancelled the call (a host without Cancel, or a task that did
        not return within the kill grace) the task sees job.cancelled, and
        what it sends later is dropped; after the result it no longer
        matters."""
        self.job.cancelled.set()
        self._closed = True
        self._drain()
        try:
            self._events.put_nowait(_WAKE)
        except queue.Full:
            pass

    def _drain(self):
        try:
            while True:
                self._events.get_nowait()
        except queue.Empty:
            pass

    def run(self):
        """The task's thread: runs the task and queues its result."""
        try:
            out = self._task._run(self.job, self._request.args)
            if len(out) > MAX_OUTPUT:
                res = pb.Result(error=pb.TaskError(kind=KIND_RESULT_TOO_LARGE, message=(
                    "the result is %d bytes, over the %d a plugin can send" % (len(out), MAX_OUTPUT))))
            else:
                res = pb.Result(output=out)
        except TaskError as e:
            res = pb.Result(error=pb.TaskError(
                kind=e.kind, message=_message(e), retryable=e.retryable,
                # Round up so that a sub-millisecond wait is not lost.
                retry_after_ms=int(-(-e.retry_after * 1000 // 1)) if e.retry_after > 0 else 0))
        except SystemExit as e:
            if not self._servicer._recover_exits:
                _exit_like_python(e)
            res = pb.Result(error=pb.TaskError(kind=KIND_PLUGIN_CRASHED, retryable=True,
                                               message="the task called sys.exit(%r)" % (e.code,)))
        except BaseException as e:
            self.job.log.error("task %s raised %s" % (self._task.name, type(e).__name__),
                               traceback="".join(traceback.format_exception(e)))
            msg = _message(e)
            if msg != type(e).__name__:
                msg = "%s: %s" % (type(e).__name__, msg)
            res = pb.Result(error=pb.TaskError(kind=KIND_TASK_ERROR, message=msg, retryable=True))
        # The count drops before the result is sent, so that a host that has
        # the result never sees this task as still running.
        self._servicer._task_returned()
        self._emit(_result_event(res))

    def stream(self, context, interval):
        next_beat = time.monotonic() + interval
        try:
            while True:
                wait = next_beat - time.monotonic()
                try:
                    item = self._events.get(timeout=max(wait, 0))
                except queue.Empty:
                    if not context.is_active():
                        return
                    now = time.monotonic()
                    next_beat = max(next_beat + interval, now)
                    yield _HEARTBEAT
                    continue
                if item is _WAKE:
                    if not context.is_active():
                        return
                    continue
                ev = _to_event(item)
                yield ev
                if ev.HasField("result"):
                    return
        finally:
            self._closed = True
            self._drain()


def _to_event(item):
    if isinstance(item, pb.ExecuteEvent):
        return item
    if item[0] == "progress":
        return pb.ExecuteEvent(progress=pb.Progress(fraction=item[1], message=item[2]))
    _, level, msg, fields, t = item
    return pb.ExecuteEvent(log=pb.LogRecord(level=level, message=msg, fields_json=fields, time_unix_nano=t))


def _result_event(res):
    return pb.ExecuteEvent(result=res)


def _message(e):
    """An exception's message for the host: its text, or its type's name
    when it has none."""
    try:
        msg = str(e)
    except Exception:
        msg = ""
    return _text.truncate(msg or type(e).__name__, _text.MAX_ERROR_MESSAGE)


def _quote(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def _exit_like_python(e):
    """Ends the process as an uncaught SystemExit in a script would: an int
    code is the status, None is 0, anything else is printed and gives 1.
    Other threads (gRPC's) would keep a plain exit from ever happening."""
    code = e.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code & 0xFF
    else:
        try:
            sys.stderr.write("%s\n" % (code,))
        except Exception:
            pass
        status = 1
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(status)


def server_options():
    return [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
