"""Plugin: what a plugin executable offers."""

import re

from .task import Task

_PLUGIN_NAME = re.compile(r"[a-z0-9_-]+\Z")
_TASK_NAME = re.compile(r"[a-z0-9_-][a-z0-9_.-]*\Z")


class Plugin:
    """A plugin: its name, version and tasks. Pass it to serve().

    name: the host exposes the tasks as "<name>.<task>"; lowercase letters,
    digits, '_' and '-'. version: informational (semver). tasks: Task
    objects (or use the ``task`` method as a decorator), names unique.
    fresh_process_per_attempt: ask the host to start a new process for
    every attempt instead of reusing a warm one, for tasks that leak global
    state (memory, open files, C libraries) between runs; it costs a
    process start per attempt.
    """

    def __init__(self, name, version, tasks=(), fresh_process_per_attempt=False):
        self.name = name
        self.version = version
        self.tasks = list(tasks)
        self.fresh_process_per_attempt = bool(fresh_process_per_attempt)

    def task(self, name, description, args=None):
        """Decorator: adds the function as a task of this plugin and
        returns the Task."""
        def wrap(fn):
            t = Task(name, description, fn, args=args)
            self.tasks.append(t)
            return t
        return wrap

    def problem(self):
        """The first problem with the configuration, as one line that says
        how to fix it, or None."""
        if not isinstance(self.name, str) or self.name == "":
            return "plugin name is empty: set Plugin(name=...)"
        if not _PLUGIN_NAME.match(self.name):
            return "plugin name %r is invalid: use lowercase letters, digits, '_' and '-'" % self.name
        if not self.tasks:
            return "plugin %r has no tasks: add at least one with Task(name, description, fn)" % self.name
        seen = set()
        for i, t in enumerate(self.tasks, 1):
            if not isinstance(t, Task):
                return "plugin %r: task %d is a %s, not a Task: build tasks with Task(name, description, fn) or @task" % (
                    self.name, i, type(t).__name__)
            if not isinstance(t.name, str) or not _TASK_NAME.match(t.name):
                return "plugin %r: task name %r is invalid: use lowercase letters, digits, '_', '-' and '.' (not first)" % (
                    self.name, t.name)
            if not callable(t.fn):
                return "plugin %r: task %r has no function" % (self.name, t.name)
            sig = t._signature_problem()
            if sig:
                return "plugin %r: task %r: %s" % (self.name, t.name, sig)
            if not isinstance(t.description, str) or "\n" in t.description or "\r" in t.description:
                return "plugin %r: task %r: the description must be one line of text" % (self.name, t.name)
            if t.name in seen:
                return "plugin %r: task %r is declared twice" % (self.name, t.name)
            seen.add(t.name)
        if not isinstance(self.version, str):
            return "plugin %r: the version must be a string (semver, e.g. \"1.0.0\")" % self.name
        return None
