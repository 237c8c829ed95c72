"""Dying with the host."""

import os
import threading

from ._protocol import LIFELINE_EXIT_CODE, LIFELINE_FD_ENV


def watch(prog, on_exit=None):
    """Starts the watch on the lifeline the host passed, if any: a pipe
    whose write end only the host holds, so that EOF (or any read error)
    means the host has exited, even by SIGKILL. The plugin then exits at
    once with status 3, abandoning a running task: nobody is left to receive
    its result, and an orphaned plugin must not keep working on a job the
    next host will run again.

    The variable is removed from the environment and the descriptor made
    non-inheritable, so that commands a task starts neither inherit the
    pipe nor mistake themselves for a plugin with a lifeline. Raises
    ValueError naming the problem with the variable.
    """
    v = os.environ.pop(LIFELINE_FD_ENV, "")
    if v == "":
        return
    try:
        fd = int(v)
    except ValueError:
        fd = -1
    if fd < 0 or fd in (1, 2):
        raise ValueError("%s=%r is not a usable file descriptor number" % (LIFELINE_FD_ENV, v))
    try:
        os.fstat(fd)
    except OSError as e:
        raise ValueError("%s=%d is not an open file descriptor: %s" % (LIFELINE_FD_ENV, fd, e.strerror)) from None
    os.set_inheritable(fd, False)

    def read():
        why = "EOF"
        try:
            while os.read(fd, 64):
                pass
        except OSError as e:
            why = e.strerror
        if on_exit is not None:
            on_exit()
        _last_words("%s: the host is gone (lifeline: %s); exiting\n" % (prog, why))
        os._exit(LIFELINE_EXIT_CODE)

    threading.Thread(target=read, name="lifeline", daemon=True).start()


def _last_words(msg):
    # A raw write: the dead host held the read end of stderr, and a failed
    # write must not keep the process from exiting with its own status.
    try:
        os.write(2, msg.encode("utf-8", "replace"))
    except OSError:
        pass
