"""Keeping stdout for go-plugin's handshake line alone.

go-plugin reads the first line of a plugin's stdout as its handshake, so a
print() before it breaks the launch, and nothing should be written there
after it. When a batchhost host started the process (the magic cookie is in
the environment), importing batchhost_sdk already moves file descriptor 1
and sys.stdout to stderr, so a module that prints while it loads cannot
break the handshake; serve() writes the handshake on the saved descriptor.
Outside a host nothing changes, so tests and scripts print as usual.
"""

import os
import sys

from ._protocol import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE

_saved = None


def claim():
    """Moves stdout to stderr (once) and returns a descriptor of the real
    stdout, for the handshake line only."""
    global _saved
    if _saved is None:
        try:
            sys.stdout.flush()
        except Exception:
            pass
        _saved = os.dup(1)  # not inherited by commands a task starts
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    return _saved


def claim_if_hosted():
    if os.environ.get(MAGIC_COOKIE_KEY) == MAGIC_COOKIE_VALUE:
        claim()
