"""Turning a PUT body into a validated ObjectWrite (RFC 4791 §5.3.2.1)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from caldavd.attachments.ical import managed_ids
from caldavd.caldav import ical
from caldavd.config import Config
from caldavd.dav.errors import MaxResourceSize
from caldavd.http.indexing import index_rows
from caldavd.http.liveprops import MAX_DATE_TIME, MIN_DATE_TIME
from caldavd.store import Calendar, ObjectWrite


def limits(config: Config, calendar: Calendar) -> ical.Limits:
    return ical.Limits(
        max_resource_size=config.MaxResourceSize,
        min_date_time=MIN_DATE_TIME,
        max_date_time=MAX_DATE_TIME,
        max_instances=config.MaxAllowedInstances,
        max_attendees_per_instance=config.MaxAttendeesPerInstance,
        supported_components=frozenset(calendar.supported_components
                                       or ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")),
    )


def check_size(config: Config, size: int) -> None:
    if size > config.MaxResourceSize:
        raise MaxResourceSize(f"calendar objects are limited to {config.MaxResourceSize} bytes")


async def object_write(config: Config, calendar: Calendar, name: str, body: bytes,
                       content_type: str | None, gate: asyncio.Semaphore,
                       owner_addresses: Iterable[str] = ()) -> ObjectWrite:
    """``owner_addresses``: the calendar owner's, which make it a scheduling object."""
    ical.check_media_type(content_type)
    check_size(config, len(body))
    text = ical.decode_body(body)  # ValidCalendarData for anything not UTF-8 iCalendar
    cal = ical.parse_text(text)
    text = ical.without_repeated_timezones(text, cal)  # stored with one copy of each
    info = ical.validate_object(cal, limits(config, calendar))
    rows, until = await _index(cal, info.has_recurrence, gate)
    return ObjectWrite(name=name, uid=info.uid, component_type=info.component_type,
                       icalendar=text, instances=rows, indexed_until=until,
                       organizer=info.organizer, managed_ids=managed_ids(cal),
                       scheduling=ical.is_scheduling_object(info, owner_addresses))


async def _index(cal: Any, recurring: bool, gate: asyncio.Semaphore) -> tuple[Any, Any]:
    """Recurrences are expanded off the event loop, a few at a time (``gate``)."""
    if not recurring:
        return index_rows(cal, recurring=False)
    async with gate:
        return await asyncio.get_running_loop().run_in_executor(None, index_rows, cal)
