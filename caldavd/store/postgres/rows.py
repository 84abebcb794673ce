"""Result rows into store values, fast: these run once per row of a listing or query."""

from __future__ import annotations

from typing import Any, TypeVar

import asyncpg

from caldavd.store.model import Calendar, CalendarObject

_Frozen = TypeVar("_Frozen")

# A calendar as bound in a home: ``b`` the bind, ``c`` the calendar.
CALENDAR_COLUMNS = """
    c.id, b.home_id, c.owner_home_id, b.name, b.mode, c.supported_components,
    c.created, c.modified, c.purged_revision, c.kind,
    coalesce((SELECT max(r.revision) FROM revision r WHERE r.collection_id = c.id), 0)
        AS revision
"""


# How many columns CALENDAR_COLUMNS are (a row's next column is at this position).
CALENDAR_FIELDS = 11


def calendar_of(row: asyncpg.Record) -> Calendar:
    """The calendar of a row that has CALENDAR_COLUMNS (by name)."""
    components = row["supported_components"]
    return Calendar(id=row["id"], home_id=row["home_id"], owner_home_id=row["owner_home_id"],
                    name=row["name"], mode=row["mode"],
                    supported_components=frozenset(components) if components else None,
                    created=row["created"], modified=row["modified"],
                    revision=row["revision"], purged_revision=row["purged_revision"],
                    kind=row["kind"])


# The columns a calendar object row carries, in CalendarObject's field order
# (``_OBJECT_COLUMNS`` in store.py), then optionally its icalendar.
OBJECT_FIELDS = 11


def built(cls: type[_Frozen], fields: dict[str, Any]) -> _Frozen:
    """A frozen dataclass from the values of all its fields, without its ``__init__``.

    That sets each field through ``object.__setattr__`` and costs three times as
    much, once per row of a query result (the store tests check the values).
    """
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", fields)
    return instance


def calendar_object(row: asyncpg.Record, start: int = 0, *,
                    with_data: bool = False) -> CalendarObject:
    """The object whose columns begin at ``start`` (then its icalendar when ``with_data``).

    Positional access: by-name Record lookups cost several times more.
    """
    return built(CalendarObject, {
        "id": row[start], "calendar_id": row[start + 1], "name": row[start + 2],
        "uid": row[start + 3], "component_type": row[start + 4], "etag": row[start + 5],
        "size": row[start + 6], "organizer": row[start + 7], "schedule_tag": row[start + 8],
        "created": row[start + 9], "modified": row[start + 10],
        "icalendar": row[start + OBJECT_FIELDS] if with_data else None})
