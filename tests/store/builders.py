"""Small builders for the store contract tests: minimal iCalendar text and the
``ObjectWrite`` for it, whose parsed object carries the time-range index rows that
``caldavd.caldav.index`` would compute (``Indexed``: the test store's ``indexer``
hands them to the store as they are, so a test chooses the rows it stores)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from icalendar import Calendar, Component

from caldavd.caldav.index import Index, InstanceRow, index_rows
from caldavd.store.model import ObjectWrite

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ical(uid: str, start: datetime, end: datetime, *, component: str = "VEVENT",
         summary: str = "x") -> str:
    """A minimal iCalendar object with one component."""
    end_prop = "DTEND" if component == "VEVENT" else "DUE"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
        f"BEGIN:{component}\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART:{_stamp(start)}\r\n{end_prop}:{_stamp(end)}\r\nSUMMARY:{summary}\r\n"
        f"END:{component}\r\nEND:VCALENDAR\r\n")


class Indexed(Calendar):
    """A parsed object whose index rows (and horizon) a test chooses."""

    def __init__(self, rows: tuple[InstanceRow, ...], until: datetime | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.until = until


def indexer(cal: Component, *, now: datetime | None = None, extend_to: datetime | None = None,
            recurring: bool = True) -> Index:
    """The test store's ``Indexer``: an ``Indexed`` object's own rows, else the real ones."""
    if isinstance(cal, Indexed):
        return cal.rows, cal.until
    return index_rows(cal, now=now, extend_to=extend_to, recurring=recurring)


def row(start: datetime, end: datetime, *, floating: bool = False,
        fbtype: str = "BUSY") -> InstanceRow:
    return InstanceRow(start=start, end=end, floating=floating, transparent=False,
                       fbtype=fbtype)


def unstorable_row(start: datetime, end: datetime) -> InstanceRow:
    """A row the database refuses (fbtype NULL): fails a write half-way through."""
    return InstanceRow(start=start, end=end, floating=False, transparent=False,
                       fbtype=None)  # type: ignore[arg-type]


def event(uid: str, start: datetime = T0, end: datetime | None = None, *,
          name: str | None = None, summary: str = "x", floating: bool = False,
          component: str = "VEVENT", indexed_until: datetime | None = None,
          instances: tuple[InstanceRow, ...] | None = None) -> ObjectWrite:
    """An ObjectWrite for one instance from ``start`` to ``end`` (default: an hour)."""
    end = start + HOUR if end is None else end
    rows = (row(start, end, floating=floating),) if instances is None else instances
    return ObjectWrite(
        name=name or f"{uid}.ics", uid=uid, component_type=component,
        icalendar=ical(uid, start, end, component=component, summary=summary),
        parsed=Indexed(rows, indexed_until))


async def count(conn: asyncpg.Connection, sql: str, *args: object) -> int:
    """``SELECT count(*) FROM <sql>``."""
    return int(await conn.fetchval(f"SELECT count(*) FROM {sql}", *args))
