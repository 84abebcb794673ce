"""free-busy-query from the time-range index (RFC 4791 §7.10): the busy periods the
index rows give (TRANSP and FBTYPE stored with each instance) are those of expanding
every object — overridden instances that move, turn transparent, tentative or
cancelled, EXDATEs, VFREEBUSY periods of each FBTYPE, a zone with summer time — and
the index decides them all: no object is read and parsed again.  Past the index's
horizon and for floating times the objects are expanded, and agree as well."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import icalendar

from caldavd.caldav import recurrence
from caldavd.caldav.freebusy import freebusy
from caldavd.http.keys import STORE
from caldavd.server.app import create_app
from caldavd.store import BusyTime
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase
from tests.functional.conftest import HOME01, Dav, GuardedTestServer, config_for

FREEBUSY = ('<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
            '<C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>'
            "</C:free-busy-query>")
ALL = HOME01 + "all/"  # MKCALENDAR without a component set: VFREEBUSY too
ZONE = ("BEGIN:VTIMEZONE\r\nTZID:Test/Summer\r\n"
        "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;"
        "BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
        "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;"
        "BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n"
        "END:VTIMEZONE\r\n")


def _ics(*components: str, zone: str = "") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n" + zone
            + "".join(components) + "END:VCALENDAR\r\n")


def _event(uid: str, lines: str) -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{lines}"
            "END:VEVENT\r\n")


def _weekly(start: datetime) -> str:
    """Weekly from ``start`` with its second instance moved, the third transparent, the
    fourth tentative, the fifth cancelled and the sixth left out."""
    def at(week: int, hours: int = 0) -> str:
        return f"{start + timedelta(weeks=week, hours=hours):%Y%m%dT%H%M%SZ}"
    master = _event("weekly", f"DTSTART:{at(0)}\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY\r\n"
                              f"EXDATE:{at(5)}\r\n")
    overrides = [_event("weekly", f"RECURRENCE-ID:{at(week)}\r\nDTSTART:{at(week, hours)}\r\n"
                                  f"DURATION:PT1H\r\n{extra}")
                 for week, hours, extra in ((1, 3, ""), (2, 0, "TRANSP:TRANSPARENT\r\n"),
                                            (3, 0, "STATUS:TENTATIVE\r\n"),
                                            (4, 0, "STATUS:CANCELLED\r\n"))]
    return _ics(master, *overrides)


def _objects(start: datetime) -> dict[str, str]:
    day = f"{start:%Y%m%d}"
    return {
        "weekly.ics": _weekly(start),
        "summer.ics": _ics(_event("summer", "DTSTART;TZID=Test/Summer:20270301T090000\r\n"
                                            "DTEND;TZID=Test/Summer:20270301T100000\r\n"
                                            "RRULE:FREQ=WEEKLY;COUNT=8\r\n"), zone=ZONE),
        "unavailable.ics": _ics(
            f"BEGIN:VFREEBUSY\r\nUID:fb\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{day}T000000Z\r\n"
            f"DTEND:{day}T235959Z\r\nFREEBUSY;FBTYPE=BUSY-UNAVAILABLE:{day}T060000Z/PT2H\r\n"
            f"FREEBUSY;FBTYPE=FREE:{day}T120000Z/PT1H\r\nFREEBUSY:{day}T200000Z/PT30M\r\n"
            "END:VFREEBUSY\r\n"),
        "free.ics": _ics(_event("free", f"DTSTART:{day}T130000Z\r\nDTEND:{day}T140000Z\r\n"
                                        "TRANSP:TRANSPARENT\r\n")),
    }


def _periods(body: bytes | str) -> list[str]:
    text = body.decode() if isinstance(body, bytes) else body
    return [line for line in text.replace("\r\n ", "").splitlines()
            if line.startswith("FREEBUSY")]


def _expanded(texts: list[str], start: datetime, end: datetime) -> list[str]:
    """The answer of expanding each object (UTC for floating times, as the calendar has
    no calendar-timezone)."""
    batches = [recurrence.expand(icalendar.Calendar.from_ical(text), start, end)
               for text in texts]
    return _periods(freebusy(batches, start, end))


@contextlib.asynccontextmanager
async def _counted(db: PgDatabase, tmp: Path) -> AsyncIterator[tuple[Dav, list[BusyTime]]]:
    """The app, with what each call of the store's busy_time returned."""
    await upgrade_to_head(db.connect_kwargs)
    app = create_app(config_for(db, tmp))
    async with GuardedTestServer(app, host="127.0.0.1") as server, \
            aiohttp.ClientSession() as session:
        store, found = app[STORE], []
        real = store.busy_time

        async def spy(*args: Any, **kwargs: Any) -> BusyTime:
            found.append(await real(*args, **kwargs))
            return found[-1]

        store.busy_time = spy  # type: ignore[method-assign]
        dav = Dav(session, str(server.make_url("")).rstrip("/"))
        assert (await dav.request("MKCALENDAR", ALL)).status == 201
        yield dav, found


async def test_busy_time_from_the_index_is_that_of_expanding(pg_database: PgDatabase,
                                                             tmp_path: Path) -> None:
    start = datetime(2027, 1, 4, 10, tzinfo=UTC)  # within a year of now: indexed
    objects = _objects(start)
    async with _counted(pg_database, tmp_path) as (dav, found):
        for name, text in objects.items():
            assert (await dav.put(ALL + name, text)).status == 201, name
        for begins, ends in ((start - timedelta(days=1), start + timedelta(days=120)),
                             (start + timedelta(weeks=2, minutes=30),
                              start + timedelta(weeks=3, minutes=30))):
            found.clear()
            reply = await dav.report(ALL, FREEBUSY.format(start=begins, end=ends))
            assert reply.status == 200, reply.body
            assert _periods(reply.body) == _expanded(list(objects.values()), begins, ends)
            assert [list(f.to_expand) for f in found] == [[]], "the index decides"


async def test_busy_time_past_the_horizon_and_floating_is_that_of_expanding(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    start = now + timedelta(days=330)  # overrides at and past the index's horizon
    objects = _objects(start)
    objects["floating.ics"] = _ics(_event("floating", f"DTSTART:{start:%Y%m%dT070000}\r\n"
                                                      "DURATION:PT2H\r\nRRULE:FREQ=DAILY\r\n"))
    async with _counted(pg_database, tmp_path) as (dav, found):
        for name, text in objects.items():
            assert (await dav.put(ALL + name, text)).status == 201, name
        begins, ends = start - timedelta(days=1), start + timedelta(days=60)
        reply = await dav.report(ALL, FREEBUSY.format(start=begins, end=ends))
        assert reply.status == 200, reply.body
        assert _periods(reply.body) == _expanded(list(objects.values()), begins, ends)
        assert len(found[0].to_expand) == 2  # the weekly event and the floating one
