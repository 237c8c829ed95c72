"""Errors a task raises to tell the host what to do next.

Any other exception is kind task_error and is retried per the job's policy.
"""

# Wire kinds (plugin.proto ErrorKind); only the ones a plugin sends.
KIND_TASK_ERROR = 1
KIND_PERMANENT = 2
KIND_INVALID_ARGS = 3
KIND_UNKNOWN_TASK = 4
KIND_PLUGIN_CRASHED = 5
KIND_RESULT_TOO_LARGE = 11
KIND_UNSUPPORTED_FORMAT = 12


class TaskError(Exception):
    """Base of the errors that carry an intent to the host.

    Raise one of its subclasses; ``kind`` and ``retryable`` say what the
    host records. The message is ``str(error)``.
    """

    kind = KIND_TASK_ERROR
    retryable = True
    #: Seconds the host waits before the next attempt, instead of its
    #: backoff; 0 leaves the backoff in charge.
    retry_after = 0.0

    def __init__(self, message=""):
        super().__init__(message)


class Permanent(TaskError):
    """The job fails at once with kind permanent and is never retried.

    Use it when the same input would fail the same way again.
    """

    kind = KIND_PERMANENT
    retryable = False


class InvalidArgs(TaskError):
    """The job's arguments are wrong (kind invalid_args, never retried).

    The SDK already raises it for args that do not decode; raise it for
    checks of your own.
    """

    kind = KIND_INVALID_ARGS
    retryable = False


class UnsupportedFormat(TaskError):
    """The input is of a kind the task cannot handle (kind
    unsupported_format, never retried), e.g. a file type it does not read.
    """

    kind = KIND_UNSUPPORTED_FORMAT
    retryable = False


class RetryAfter(TaskError):
    """Retryable after ``seconds``: if the job has attempts left, the host
    waits that long (instead of its backoff) before the next attempt. Use it
    for rate limits and busy resources. A negative wait counts as zero.
    """

    def __init__(self, seconds, message="retry later"):
        super().__init__(message)
        seconds = float(seconds)
        self.retry_after = seconds if seconds > 0 else 0.0


class Cancelled(TaskError):
    """The attempt was cancelled (by a user, a timeout or a shutdown).

    ``job.raise_if_cancelled()`` raises it. The host records its own kind
    (canceled, timeout or interrupted) for a cancelled attempt, whatever the
    task returns, so raising it is just a quick way out.
    """
