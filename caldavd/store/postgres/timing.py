"""Database time per request: how long the request held (or waited for) a connection.

The HTTP layer puts a ``DBTimer`` in ``CURRENT`` for the duration of a request;
every pooled connection the store takes adds the seconds from asking the pool to
giving the connection back.  That includes waiting for a free connection, which
is what an operator wants to see when the pool (``MaxDBConnectionsPerPool``) is
the bottleneck.  Outside a request (tools, background jobs) nothing is counted.

A statement that serves several requests at once (``batch.py``) is charged to
each of them in equal parts (``share``), so the parts add up to the time its
connection was held.  Charging each request the whole time it waited would say
more about its latency, which the request's own duration already says; but the
access log's ``db=`` and ``/stats`` are added up across requests to tell how
much of the database each kind of request takes, and whole-time charges would
count one statement once per request it served: the database would look busiest
exactly when batching makes it cheapest.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar


class DBTimer:
    """``seconds``: the request's database time; ``uses``: the pooled connections taken
    for it (a shared statement's for each request it served)."""

    __slots__ = ("seconds", "uses")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.uses = 0


CURRENT: ContextVar[DBTimer | None] = ContextVar("caldavd_db_timer", default=None)


def share(spent: DBTimer, timers: Sequence[DBTimer | None]) -> None:
    """Charge ``spent``, the time of statements that served ``len(timers)`` requests, to
    each of them in equal parts (a None is a caller outside any request: its part is
    counted nowhere).  A PUT batch's statements, one per home, are shared as one."""
    if not timers:
        return
    part = spent.seconds / len(timers)
    for timer in timers:
        if timer is not None:
            timer.seconds += part
            timer.uses += spent.uses
