"""The one exception type for errors a user can cause (bad spec, profile, CSV, model file)."""


class EdgesimError(Exception):
    """A user-facing error: its message names the input and what to do about it.

    The CLI prints it on one line and exits with status 2; everything else is a bug.
    """


class Interrupted(KeyboardInterrupt):
    """An interrupt (Ctrl-C, SIGTERM) after which something was kept; its message says what.
    The CLI prints it on one line and exits with 128 + the signal number."""
