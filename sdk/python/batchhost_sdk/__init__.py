"""batchhost_sdk: write batchhost task plugins in Python.

A plugin is an executable file named batchhost-plugin-<name> in the host's
plugin directory; the host starts it, calls its tasks for jobs over the
same gRPC protocol Go plugins speak (proto/pluginpb/plugin.proto), and
keeps a misbehaving plugin from taking anything else down::

    #!/usr/bin/python3
    from dataclasses import dataclass
    from batchhost_sdk import Plugin, Permanent, serve, task

    @dataclass
    class CountArgs:
        text: str

    @task("count", "Counts the words of a text")
    def count(job, args: CountArgs):
        if not args.text:
            raise Permanent("text is empty")          # never retried
        job.progress(0.5, "counting")
        job.log.info("counting", chars=len(args.text))
        return {"words": len(args.text.split())}

    if __name__ == "__main__":
        serve(Plugin("words", "1.0.0", tasks=[count]))

Test tasks without a host with batchhost_sdk.testing, which drives them
through the real gRPC protocol in process.

Caveats:

- One process runs one attempt at a time and is reused for the next job of
  the plugin; module state survives between jobs (set
  fresh_process_per_attempt if it must not).
- A task runs in a thread of its own. Cancellation (user cancel, timeout,
  shutdown) sets job.cancelled; Python cannot stop a thread, so the task
  must look at it and return, or the host kills the whole process after its
  grace period (5 s by default). While a job is paused the whole process is
  stopped (SIGSTOP), task and SDK alike.
- os._exit(), sys.exit() in a task, a fatal signal or a crash in a C
  extension end the process: the host records the attempt as
  plugin_crashed with the exit status and the tail of stderr, and starts a
  fresh process for the next job.
- Execution is at least once: make tasks idempotent.
- Needs Debian's python3-grpcio and python3-protobuf, which install for
  /usr/bin/python3: use that interpreter in the plugin's shebang, not
  "/usr/bin/env python3" (another python3 on PATH may lack them).
"""

__version__ = "0.1.0"

from ._stdout import claim_if_hosted as _claim_if_hosted  # noqa: E402
from .errors import Cancelled, InvalidArgs, Permanent, RetryAfter, TaskError, UnsupportedFormat  # noqa: E402
from .job import Job, Logger  # noqa: E402
from .plugin import Plugin  # noqa: E402
from .task import Task, task  # noqa: E402

_claim_if_hosted()


def serve(plugin):
    """Runs the plugin; see batchhost_sdk._serve.serve. It never returns."""
    from ._serve import serve as _serve
    _serve(plugin)


__all__ = ["Cancelled", "InvalidArgs", "Job", "Logger", "Permanent", "Plugin", "RetryAfter", "Task",
           "TaskError", "UnsupportedFormat", "serve", "task", "__version__"]
