"""Time-range index rows of a calendar object (architecture: "Storage shape").

Pure functions: the store computes, stores and extends its index with them (the
composition root hands :func:`index_rows` to it as its :class:`Indexer`).

Instances are expanded from the start of the recurrence up to a horizon
(``HORIZON_DAYS`` past now, or ``MAX_INDEXED`` instances, whichever comes
first).  Past that the object is marked with ``indexed_until`` and queries
reaching beyond it recheck the object in memory, so nothing is ever missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from icalendar import Component

from caldavd.caldav import recurrence

__all__ = ["HORIZON_DAYS", "MAX_EXTENDED", "MAX_EXTENSION_YEARS", "MAX_INDEXED", "Index",
           "Indexer", "InstanceRow", "index_rows"]

HORIZON_DAYS = 365
MAX_INDEXED = 5000
# When a query reaches past an object's horizon the index is extended to cover
# it (``extend_to``), up to this many rows and this far from now (a daily event
# since 2010 has more than MAX_INDEXED instances before now: the first query
# that reaches now extends its index past it).
MAX_EXTENDED = 20000
MAX_EXTENSION_YEARS = 20


@dataclass(frozen=True)
class InstanceRow:
    """One time-range index row (RFC 4791 §9.9 window of one instance), UTC."""

    start: datetime
    end: datetime
    floating: bool
    transparent: bool
    fbtype: str


# (rows, indexed_until): indexed_until None when every instance is a row.
Index = tuple[Sequence[InstanceRow], datetime | None]


class Indexer(Protocol):
    """What the store computes its index with (:func:`index_rows`)."""

    def __call__(self, cal: Component, *, now: datetime | None = None,
                 extend_to: datetime | None = None, recurring: bool = True) -> Index: ...


def index_rows(cal: Component, *, now: datetime | None = None,
               extend_to: datetime | None = None, recurring: bool = True) -> Index:
    """(rows, indexed_until): indexed_until None when every instance is a row.

    ``recurring=False`` says the object has one instance at most (no RRULE, RDATE
    or overrides, as validation found): it is indexed wherever it lies, with no
    horizon and no second expansion to look past one.
    """
    if not recurring:
        return _rows(recurrence.expand(cal)), None
    now = now or datetime.now(UTC)
    horizon = now + timedelta(days=HORIZON_DAYS)
    limit = MAX_INDEXED
    if extend_to is not None:  # also a recurrence from long ago that MAX_INDEXED cut short
        limit = MAX_EXTENDED
        if extend_to > horizon:
            horizon = min(extend_to, now + timedelta(days=365 * MAX_EXTENSION_YEARS))
    instances = recurrence.expand(cal, None, horizon, max_instances=limit + 1)
    rows = _rows(instances[:limit])
    if len(instances) > limit:
        return rows, instances[limit - 1].start
    if _recurs_past(cal, horizon):
        return rows, horizon
    return rows, None


def _rows(instances: Sequence[recurrence.Instance]) -> list[InstanceRow]:
    return [InstanceRow(start=i.start, end=i.end, floating=i.floating,
                        transparent=i.transparent, fbtype=i.fbtype) for i in instances]


def _recurs_past(cal: Component, horizon: datetime) -> bool:
    """True when the recurrence may have instances after ``horizon``."""
    return bool(recurrence.expand(cal, horizon, None, max_instances=1))
