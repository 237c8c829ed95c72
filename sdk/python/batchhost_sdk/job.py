"""Job: the attempt a task is running, and its way to talk to the host."""

import math
import threading
import time
import traceback

from . import _text
from .errors import Cancelled

# Wire log levels (plugin.proto LogLevel).
LEVEL_DEBUG = 2
LEVEL_INFO = 3
LEVEL_WARN = 4
LEVEL_ERROR = 5


class Job:
    """The attempt a task is running. Its methods are safe to call from
    any thread.

    Attributes: ``id``; ``attempt`` (from 1); ``max_attempts`` (0 if the
    host did not say), so a task can tell its last chance; ``deadline``
    (Unix seconds, or None), informational: the host enforces timeouts
    itself and its clock stops while the job is paused; ``cancelled``, a
    threading.Event set when the host cancels the attempt (user cancel,
    timeout, shutdown): poll ``job.cancelled.is_set()`` or wait on it
    (``job.cancelled.wait(1)``) and return promptly, or the host kills the
    process after its grace period (what the task logs or reports until it
    returns, within that grace, still reaches the job); ``log``, a Logger whose records become
    the job's log; ``traceparent`` and ``tracestate``, the W3C trace
    context of the host's span of the attempt ("" when the host does not
    trace the job), for a task that makes spans of its own under it with
    an OpenTelemetry propagator (``extract({"traceparent":
    job.traceparent, "tracestate": job.tracestate})``).

    ``Job()`` with no arguments is a detached job that discards progress
    and logs, for calling a task function directly in a plain unit test.
    """

    def __init__(self, id="", attempt=1, max_attempts=0, deadline=None, cancelled=None, traceparent="",
                 tracestate="", _emit=None):
        self.id = id
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.deadline = deadline
        self.traceparent = traceparent
        self.tracestate = tracestate
        self.cancelled = cancelled if cancelled is not None else threading.Event()
        self._emit = _emit
        self.log = Logger(_emit)

    def progress(self, fraction, message=""):
        """Reports how far the task is, as a fraction in [0, 1] (values
        outside are clamped; NaN is ignored) and a short message for
        humans. The host forwards every report to subscribers, in the order
        the task made them. It blocks while the host is slow to read; call
        it a few times a second, not per item of a tight loop."""
        fraction = float(fraction)
        if self._emit is None or math.isnan(fraction):
            return
        self._emit(("progress", min(max(fraction, 0.0), 1.0),
                    _text.truncate(message, _text.MAX_PROGRESS_MESSAGE)))

    def raise_if_cancelled(self):
        """Raises Cancelled if the host has cancelled the attempt."""
        if self.cancelled.is_set():
            raise Cancelled("the attempt was cancelled")


class Logger:
    """Structured log records that travel to the host as the job's log
    (level, message, fields, time), shown by "batchhost logs":
    ``job.log.info("read", bytes=n)``. Prefer it to printing: stdout and
    stderr reach only the host's crash diagnostics."""

    def __init__(self, emit, fields=None):
        self._emit = emit
        self._fields = dict(fields or {})

    def with_fields(self, **fields):
        """A Logger that adds fields to every record."""
        merged = dict(self._fields)
        merged.update(fields)
        return Logger(self._emit, merged)

    def debug(self, msg, **fields):
        self._log(LEVEL_DEBUG, msg, fields)

    def info(self, msg, **fields):
        self._log(LEVEL_INFO, msg, fields)

    def warn(self, msg, **fields):
        self._log(LEVEL_WARN, msg, fields)

    warning = warn

    def error(self, msg, **fields):
        self._log(LEVEL_ERROR, msg, fields)

    def exception(self, msg, **fields):
        """An error record with the traceback of the exception being
        handled in the field "traceback"."""
        fields.setdefault("traceback", traceback.format_exc())
        self._log(LEVEL_ERROR, msg, fields)

    def _log(self, level, msg, fields):
        if self._emit is None:
            return
        if self._fields:
            merged = dict(self._fields)
            merged.update(fields)
            fields = merged
        self._emit(("log", level, _text.truncate(msg, _text.MAX_LOG_MESSAGE),
                    _text.fields_json(fields), time.time_ns()))
