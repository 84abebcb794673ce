"""Turning a PUT body into a validated ObjectWrite (RFC 4791 §5.3.2.1).

Parsing and validation (which counts instances up to ``MaxAllowedInstances``) are
one job (:func:`prepare_write`); it runs on the bounded executor
(``caldavd.http.offload``) unless the body is light: small, with no recurrence and
no time zone rules to expand, where the executor hop would cost more than the work
(README, Security and limits).  The store computes the index rows from the parsed
object it is handed, where :func:`runner` says: on the executor too, unless light.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from caldavd.attachments.ical import managed_ids
from caldavd.caldav import ical
from caldavd.caldav.budget import Budget
from caldavd.caldav.limits import limits as caldav_limits
from caldavd.config import Config
from caldavd.dav.errors import MaxResourceSize
from caldavd.http.context import Context
from caldavd.http.offload import offload
from caldavd.scheduling.addresses import normalise
from caldavd.store import Calendar, ObjectWrite, Offload, inline

T = TypeVar("T")

LIGHT_BYTES = 8192
# A folded line unfolds as icalendar unfolds it (RFC 5545 §3.1); property names are
# case-insensitive. Any of these sends the work to the executor.
_FOLD = re.compile(rb"(?:\r?\n)+[ \t]")
_HEAVY_NAMES = (b"RRULE", b"RDATE", b"RECURRENCE-ID", b"EXRULE")


def limits(config: Config, calendar: Calendar) -> ical.Limits:
    return caldav_limits(config, calendar.supported_components)


def check_size(config: Config, size: int) -> None:
    if size > config.MaxResourceSize:
        raise MaxResourceSize(f"calendar objects are limited to {config.MaxResourceSize} bytes")


def is_light(data: bytes) -> bool:
    """Small and without recurrence (nor VTIMEZONE rules): cheaper on the loop."""
    if len(data) > LIGHT_BYTES:
        return False
    unfolded = _FOLD.sub(b"", data).upper()
    return not any(name in unfolded for name in _HEAVY_NAMES)


def runner(ctx: Context, data: bytes) -> Offload:
    """Where work on ``data`` runs (its parsing, validation, and the store's index rows
    of it): inline when ``data`` is light, else on the executor (no budget:
    ``MaxAllowedInstances`` bounds it at validation)."""
    return inline if is_light(data) else offload(ctx, Budget(0))


async def heavy(ctx: Context, data: bytes, work: Callable[[], T]) -> T:
    """``work`` (on ``data``) inline when ``data`` is light, else on the executor."""
    return await runner(ctx, data)(work)


async def object_write(ctx: Context, calendar: Calendar, name: str, body: bytes,
                       content_type: str | None, run: Offload,
                       owner_addresses: Iterable[str] = ()) -> ObjectWrite:
    """``run``: ``runner(ctx, body)``; ``owner_addresses``: the calendar owner's, which
    make it a scheduling object."""
    ical.check_media_type(content_type)
    return await run(lambda: prepare_write(ctx.config, calendar, name, body, owner_addresses))


def prepare_write(config: Config, calendar: Calendar, name: str, body: bytes,
                  owner_addresses: Iterable[str] = ()) -> ObjectWrite:
    """Parse and validate ``body`` (on the executor, or inline when light)."""
    check_size(config, len(body))
    text = ical.decode_body(body)  # ValidCalendarData for anything not UTF-8 iCalendar
    cal = ical.parse_text(text)
    text = ical.without_repeated_timezones(text, cal)  # stored with one copy of each
    info = ical.validate_object(cal, limits(config, calendar))
    scheduling = ical.is_scheduling_object(info, owner_addresses, normalise)
    if scheduling:
        ical.check_scheduling_object(info)
    return ObjectWrite(name=name, uid=info.uid, component_type=info.component_type,
                       icalendar=text, parsed=cal, recurring=info.has_recurrence,
                       organizer=info.organizer, managed_ids=managed_ids(cal),
                       scheduling=scheduling)
