"""How a `p2pshare send` or `receive` run ends: its exit status and the sentence it prints.

The codes are part of the command line's contract (README, "From a terminal"), for scripts.
"""

from __future__ import annotations

import enum

__all__ = ["Exit", "Outcome"]


class Exit(enum.IntEnum):
    OK = 0  # everything sent, or received and verified
    FAILED = 1  # something else went wrong (a disk error, a refused file list, declined)
    USAGE = 2  # bad arguments or configuration (as for `p2pshare serve`)
    LINK_GONE = 3  # the share is gone: the sender stopped or cancelled, the server went away
    BAD_LINK = 4  # not a share link, cut short, or its key does not match
    VERIFICATION_FAILED = 5  # a file or a message failed its SHA-256 or signature check
    INTERRUPTED = 130  # Ctrl+C (or SIGTERM): a receive resumes when run again


class Outcome(Exception):
    """The end of a run: `code` and what to tell the person."""

    def __init__(self, code: Exit, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
