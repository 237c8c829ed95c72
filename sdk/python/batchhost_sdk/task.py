"""Tasks: a name, a one-line description and a function."""

import dataclasses
import inspect
import json

from . import _args
from .errors import Permanent


class Task:
    """One operation a plugin offers.

    ``fn(job, args)`` runs one attempt. ``args`` is the job's JSON args,
    decoded: the plain JSON value ({} for none), or, if fn's second
    parameter is annotated with a type (usually a dataclass) or ``args=`` is
    given, an instance built strictly from the JSON (unknown, missing and
    mistyped fields are refused as invalid_args before fn runs; a
    ``validate()`` method is then called, and its exception is invalid_args
    too).

    fn returns the job's result: anything json.dumps encodes, or a
    dataclass. Its exceptions decide what happens next: see Permanent,
    RetryAfter, InvalidArgs and UnsupportedFormat; any other exception is a
    retryable task_error whose message is the exception's, with the
    traceback in the job's log.

    A Task is callable like fn, so a unit test can call it directly with a
    ``Job()``.
    """

    def __init__(self, name, description, fn, args=None):
        self.name = name
        self.description = description
        self.fn = fn
        self.args_type = args if args is not None else (_args.args_type_of(fn) if callable(fn) else None)

    def __call__(self, job, args):
        return self.fn(job, args)

    def __repr__(self):
        return "Task(%r)" % self.name

    def _run(self, job, raw_args):
        """Decodes the args, calls fn and encodes its result (bytes)."""
        args = _args.decode(raw_args, self.args_type)
        return encode_output(self.fn(job, args))

    def _signature_problem(self):
        """Why fn cannot be called as fn(job, args), or None."""
        try:
            inspect.signature(self.fn).bind(None, None)
        except TypeError:
            return "its function must take two arguments: (job, args)"
        except ValueError:
            pass  # a builtin without a signature: give it the benefit of the doubt
        return None


def task(name, description, args=None):
    """Decorator: makes a function a Task.

        @task("count", "Counts the words of a text")
        def count(job, args: CountArgs):
            ...
    """
    def wrap(fn):
        return Task(name, description, fn, args=args)
    return wrap


def encode_output(out):
    """Encodes a task's return value as the job's JSON result; a value JSON
    cannot carry is a permanent error (a retry would return it again)."""
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        out = dataclasses.asdict(out)
    try:
        text = json.dumps(out, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as e:
        raise Permanent("encode result: %s" % (str(e) or type(e).__name__)) from None
