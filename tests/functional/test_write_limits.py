"""A write's iCalendar work is bounded and off the event loop (issue 16 item 1).

Parsing a body of up to MaxResourceSize, validating it (RFC 4791 §5.3.2.1: the
CALDAV:max-instances precondition counts its instances up to MaxAllowedInstances)
and extracting its index rows run as one job on the worker's bounded executor
(``caldavd.http.writes``), so one client's huge recurrence does not stall every
other request on its worker.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import PgDatabase
from tests.functional.conftest import CAL01, NS, Dav, event, serving

TIMEZONE_SET = ("<D:set><D:prop><C:calendar-timezone><![CDATA[{zone}]]></C:calendar-timezone>"
                "</D:prop></D:set>")
RDATES = 80_000  # one a minute: ~1.9 MB, parsed and counted in a few seconds of CPU


def _rdates(count: int) -> str:
    first = datetime(2026, 1, 5, 10, tzinfo=UTC)
    return "".join(f"RDATE:{first + timedelta(minutes=i):%Y%m%dT%H%M%SZ}\r\n"
                   for i in range(1, count))


async def test_health_answers_while_a_huge_recurrence_is_validated(
        pg_database: PgDatabase, tmp_path: Path) -> None:
    """One worker; a PUT with 80,000 RDATEs (the limits are raised to let it in) is
    parsed, validated and indexed off the loop: /health answers meanwhile, within a
    bound far below what that work takes on the loop (several seconds)."""
    async with serving(pg_database, tmp_path, MaxResourceSize=4 << 20,
                       MaxAllowedInstances=RDATES + 1) as dav:
        body = event("huge", "20260105T100000Z", "20260105T100100Z", extra=_rdates(RDATES))
        put = asyncio.create_task(dav.put(CAL01 + "huge.ics", body))
        started = time.monotonic()  # the server's loop is this test's
        await asyncio.sleep(0.5)  # the body is read and its job running
        health = await dav.request("GET", "/health", user=None)
        assert health.status == 200
        assert time.monotonic() - started < 2.5, "the loop was not blocked"
        assert not put.done(), "still validating"
        assert (await put).status == 201
        listed = await dav.request("GET", CAL01 + "huge.ics")
        assert listed.status == 200 and listed.body.count(b"RDATE") == RDATES - 1


def _zone(rdates: int) -> str:
    """A VCALENDAR with one valid VTIMEZONE of ``rdates`` transitions."""
    lines = "".join(f"RDATE:{1601 + i:04}1025T030000\r\n" for i in range(rdates))
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
            "BEGIN:VTIMEZONE\r\nTZID:Many\r\nBEGIN:STANDARD\r\nDTSTART:16001025T030000\r\n"
            f"{lines}TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
            "END:VTIMEZONE\r\nEND:VCALENDAR\r\n")


def _proppatch(zones: list[str]) -> str:
    return ('<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            + "".join(TIMEZONE_SET.format(zone=z) for z in zones) + "</D:propertyupdate>")


async def _status(dav: Dav, body: str) -> str:
    reply = await dav.request("PROPPATCH", CAL01, body)
    assert reply.status == 207
    return (reply.xml.findtext("D:response/D:propstat/D:status", namespaces=NS) or "").split()[1]


async def test_health_answers_while_calendar_timezones_are_parsed(dav: Dav) -> None:
    """RFC 4791 §5.2.2: every calendar-timezone a PROPPATCH sets is parsed to check it;
    thirty of 58 KB each (a few seconds of CPU) are parsed off the loop. One larger than
    a dead property may be is refused before it is parsed (507, RFC 4918 §9.2.1)."""
    zone = _zone(2400)
    patch = asyncio.create_task(_status(dav, _proppatch([zone] * 30)))
    started = time.monotonic()
    await asyncio.sleep(0.5)
    health = await dav.request("GET", "/health", user=None)
    assert health.status == 200
    assert time.monotonic() - started < 2.5, "the loop was not blocked"
    assert not patch.done(), "still parsing"
    assert await patch == "200"
    started = time.monotonic()
    assert await _status(dav, _proppatch([_zone(70_000)])) == "507"
    assert time.monotonic() - started < 1.5, "refused for its size, not parsed"
