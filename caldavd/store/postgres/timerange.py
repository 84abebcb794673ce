"""The time-range index's rows as the database holds them: finite bounds.

An instance without an end (a VTODO with no dates, RFC 4791 §9.9; a huge DURATION)
or without a start is stored from ``DISTANT_PAST`` or to ``DISTANT_FUTURE``, and so
is anything beyond them: asyncpg sends ``datetime.min``/``max`` as -infinity and
infinity, for which PostgreSQL cannot compute ``end_utc - start_utc`` (the index of
migration 0007 did, until 0011).  The same two bounds stand for an open side of a
query, so a row stored at a bound still matches every query it should.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from caldavd.caldav.index import InstanceRow

DISTANT_PAST = datetime(1, 1, 2, tzinfo=UTC)
DISTANT_FUTURE = datetime(9999, 12, 30, tzinfo=UTC)

RowArrays = tuple[list[datetime], list[datetime], list[bool], list[bool], list[str]]


def within(moment: datetime) -> datetime:
    """``moment`` held to [DISTANT_PAST, DISTANT_FUTURE]."""
    return DISTANT_PAST if moment < DISTANT_PAST else min(moment, DISTANT_FUTURE)


def row_arrays(rows: Sequence[InstanceRow]) -> RowArrays:
    """The rows as the five parallel arrays the writes send: start, end, floating,
    transparent, free-busy type."""
    return ([within(r.start) for r in rows], [within(r.end) for r in rows],
            [r.floating for r in rows], [r.transparent for r in rows], [r.fbtype for r in rows])
