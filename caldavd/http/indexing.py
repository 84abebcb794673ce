"""Time-range index rows for a calendar object (architecture: "Storage shape").

Instances are expanded from the start of the recurrence up to a horizon
(``HORIZON_DAYS`` past now, or ``MAX_INDEXED`` instances, whichever comes
first).  Past that the object is marked with ``indexed_until`` and queries
reaching beyond it recheck the object in memory, so nothing is ever missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from caldavd.caldav import recurrence
from caldavd.store.model import InstanceRow

HORIZON_DAYS = 365
MAX_INDEXED = 5000
# When a query reaches past an object's horizon the index is extended to cover
# it (``extend_to``), up to this many rows and this far from now (a daily event
# since 2010 has more than MAX_INDEXED instances before now: the first query
# that reaches now extends its index past it).
MAX_EXTENDED = 20000
MAX_EXTENSION_YEARS = 20


def index_rows(cal: Any, *, now: datetime | None = None, extend_to: datetime | None = None,
               recurring: bool = True) -> tuple[Sequence[InstanceRow], datetime | None]:
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


def _recurs_past(cal: Any, horizon: datetime) -> bool:
    """True when the recurrence may have instances after ``horizon``."""
    return bool(recurrence.expand(cal, horizon, None, max_instances=1))
