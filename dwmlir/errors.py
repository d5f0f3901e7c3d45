"""Error types shared by every stage.

A ``UserError`` is something the user can fix (bad spec, missing tool, unreadable
file); the CLI prints it as one line and exits 2. Anything else is our bug.
"""

from __future__ import annotations

REPORT_HINT = "please report it with the full command line at the dwmlir issue tracker"


class UserError(Exception):
    """A problem in the user's input or environment, with the fix in the message."""


class ToolError(UserError):
    """A required external tool is missing, the wrong version, or failed on valid input."""


class InternalError(Exception):
    """A bug in dwmlir: valid input that our own pipeline or generated code got wrong."""


class ToolCrash(ToolError):
    """An external tool was killed by a signal or ran past its timeout: a broken environment
    (or a bug in that tool), named with the tool."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind (removing temporary files), then exit 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
