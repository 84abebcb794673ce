"""Database time per request: how long the request held (or waited for) a connection.

The HTTP layer puts a ``DBTimer`` in ``CURRENT`` for the duration of a request;
every pooled connection the store takes adds the seconds from asking the pool to
giving the connection back.  That includes waiting for a free connection, which
is what an operator wants to see when the pool (``MaxDBConnectionsPerPool``) is
the bottleneck.  Outside a request (tools, background jobs) nothing is counted.
"""

from __future__ import annotations

from contextvars import ContextVar


class DBTimer:
    __slots__ = ("seconds", "uses")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.uses = 0


CURRENT: ContextVar[DBTimer | None] = ContextVar("caldavd_db_timer", default=None)
