"""The one error every command-line program reports the same way.

Its own module so that a program that never touches the database (caldavd-stats,
caldavd-logstats, caldavd-sim) does not import the migration machinery to say
what went wrong.
"""

from __future__ import annotations


class ToolError(Exception):
    """A failure to report as one line (the message) and a non-zero exit."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
