"""Wide REPORTs are bounded work (issue 16 item 1): at most MaxInstancesPerReport
instances each, within min-date-time and max-date-time, off the event loop, and
given up when the client hangs up.

* calendar-query / calendar-multiget with expand: the answer is truncated before
  the object that goes over the limit, and says so with a 507
  DAV:number-of-matches-within-limits response for the request-URI (RFC 4791 §7.8
  postcondition, reported as RFC 5323 §5.2 / RFC 6578 §3.6 do).
* free-busy-query: a truncated answer would show busy time as free, so it is
  refused, 403 DAV:number-of-matches-within-limits.
* A range to expand over outside the advertised dates: 403 CALDAV:min-date-time /
  CALDAV:max-date-time (RFC 4791 §5.2.6, §5.2.7, §7.8 preconditions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from caldavd.dav import names
from caldavd.server.app import create_app
from caldavd.store.postgres.migrate import upgrade_to_head
from tests.conftest import PgDatabase, free_port
from tests.functional.conftest import CAL01, Dav, Reply, config_for, event, serving

DAILY = "RRULE:FREQ=DAILY\r\n"
EXPAND_QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data><C:expand start="{start}" end="{end}"/>
  </C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
  <C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter>
  </C:calendar-query>"""
FREEBUSY = ('<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
            '<C:time-range start="{start}" end="{end}"/></C:free-busy-query>')


async def _dailies(dav: Dav, count: int) -> None:
    for i in range(count):
        daily = event(f"daily-{i:03}", "20260105T100000Z", "20260105T110000Z", extra=DAILY)
        assert (await dav.put(f"{CAL01}daily-{i:03}.ics", daily)).status == 201


async def _ask(dav: Dav, template: str, start: str, end: str) -> Reply:
    return await dav.report(CAL01, template.format(start=start, end=end))


async def test_expand_stops_at_the_instance_limit_with_507(pg_database: PgDatabase,
                                                           tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, MaxInstancesPerReport=100) as dav:
        await _dailies(dav, 3)
        small = await _ask(dav, EXPAND_QUERY, "20260105T000000Z", "20260201T000000Z")
        assert small.status == 207 and len(small.responses()) == 3, "81 instances: all"
        wide = await _ask(dav, EXPAND_QUERY, "20260101T000000Z", "20270101T000000Z")
        assert wide.status == 207
        responses = wide.responses()
        assert set(responses) == {CAL01}, "the first object alone has 361 instances"
        assert "507" in (responses[CAL01].findtext("{DAV:}status") or "")
        limit = f"{names.ERROR}/{names.NUMBER_OF_MATCHES_WITHIN_LIMITS}"
        assert responses[CAL01].find(limit) is not None


async def test_expand_in_multiget_is_truncated_too(pg_database: PgDatabase,
                                                  tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, MaxInstancesPerReport=400) as dav:
        await _dailies(dav, 2)
        body = ('<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                '<D:prop><C:calendar-data><C:expand start="20260101T000000Z" '
                'end="20270101T000000Z"/></C:calendar-data></D:prop>'
                f"<D:href>{CAL01}daily-000.ics</D:href><D:href>{CAL01}daily-001.ics</D:href>"
                "</C:calendar-multiget>")
        reply = await dav.report(CAL01, body)
        assert reply.status == 207
        assert set(reply.responses()) == {CAL01 + "daily-000.ics", CAL01}


async def test_free_busy_over_the_instance_limit_is_refused(pg_database: PgDatabase,
                                                           tmp_path: Path) -> None:
    async with serving(pg_database, tmp_path, MaxInstancesPerReport=100) as dav:
        await _dailies(dav, 1)
        assert (await _ask(dav, FREEBUSY, "20260105T000000Z", "20260201T000000Z")).status \
            == 200
        years = await _ask(dav, FREEBUSY, "20260101T000000Z", "20360101T000000Z")
        assert years.status == 403
        assert years.error() == names.NUMBER_OF_MATCHES_WITHIN_LIMITS


async def _staggered_dailies(dav: Dav, count: int) -> None:
    """``count`` daily events of five minutes, ten minutes apart from midnight."""
    for i in range(count):
        hour, minute = divmod(10 * i, 60)
        start, end = f"20260105T{hour:02}{minute:02}00Z", f"20260105T{hour:02}{minute + 5:02}00Z"
        body = event(f"staggered-{i:03}", start, end, extra=DAILY)
        assert (await dav.put(f"{CAL01}staggered-{i:03}.ics", body)).status == 201


async def test_free_busy_reads_many_index_rows_within_their_own_allowance(dav: Dav) -> None:
    """RFC 4791 §7.10: 100 daily events over a year are 36,100 busy periods from the
    index, more than MaxInstancesPerReport (10,000, for expansion) but within
    MaxFreeBusyRows (100,000): all of them, none merged away."""
    await _staggered_dailies(dav, 100)
    reply = await _ask(dav, FREEBUSY, "20260101T000000Z", "20270101T000000Z")
    assert reply.status == 200
    text = reply.body.decode().replace("\r\n ", "")
    periods = [line for line in text.splitlines() if line.startswith("FREEBUSY")]
    assert len(periods) == 100 * 361, "Jan 5 to Dec 31: 361 days"
    assert "20260105T000000Z/20260105T000500Z" in text
    assert "20261231T163000Z/20261231T163500Z" in text
    assert "20260105T000500Z/" not in text, "the five minutes after each are free"


async def test_free_busy_beyond_its_row_allowance_is_refused(pg_database: PgDatabase,
                                                             tmp_path: Path) -> None:
    """Past MaxFreeBusyRows a truncated answer would show busy time as free: 403
    DAV:number-of-matches-within-limits (RFC 5323 §5.2), as for instances."""
    async with serving(pg_database, tmp_path, MaxFreeBusyRows=1000) as dav:
        await _staggered_dailies(dav, 100)
        week = await _ask(dav, FREEBUSY, "20260105T000000Z", "20260112T000000Z")
        assert week.status == 200, "700 rows"
        month = await _ask(dav, FREEBUSY, "20260105T000000Z", "20260205T000000Z")
        assert month.status == 403
        assert month.error() == names.NUMBER_OF_MATCHES_WITHIN_LIMITS


async def test_ranges_outside_the_advertised_dates_are_refused(dav: Dav) -> None:
    """RFC 4791 §7.8: min-date-time and max-date-time, as PROPFIND advertises them."""
    await _dailies(dav, 1)
    late = await _ask(dav, FREEBUSY, "20260101T000000Z", "29990101T000000Z")
    assert late.status == 403 and late.error() == names.MAX_DATE_TIME
    early = await _ask(dav, EXPAND_QUERY, "18000101T000000Z", "20260101T000000Z")
    assert early.status == 403 and early.error() == names.MIN_DATE_TIME


# -- off the event loop, and given up on hang-up ------------------------------------

@contextlib.asynccontextmanager
async def _running(db: PgDatabase, tmp: Path, **overrides: Any) -> AsyncIterator[tuple[Dav,
                                                                                        int]]:
    """The app served as caldavd serves it: aiohttp does not cancel a handler whose
    client hung up (``TestServer`` would)."""
    await upgrade_to_head(db.connect_kwargs)
    runner = web.AppRunner(create_app(config_for(db, tmp, **overrides)))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Dav(session, f"http://127.0.0.1:{port}"), port
    finally:
        await runner.cleanup()


async def _send_report(port: int, body: str) -> tuple[asyncio.StreamReader,
                                                      asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = body.encode()
    writer.write((f"REPORT {CAL01} HTTP/1.1\r\nHost: x\r\nDepth: 1\r\n"
                  "Authorization: Basic dXNlcjAxOnVzZXIwMQ==\r\n"
                  f"Content-Type: application/xml\r\nContent-Length: {len(data)}\r\n\r\n"
                  ).encode() + data)
    await writer.drain()
    return reader, writer


async def _answered(reader: asyncio.StreamReader) -> bool:
    with contextlib.suppress(TimeoutError):
        return bool(await asyncio.wait_for(reader.read(1), 0.05))
    return False


async def test_a_wide_expand_leaves_the_loop_free_and_stops_when_the_client_goes(
        pg_database: PgDatabase, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Two expands over five years of 60 daily events (110,000 instances; the limit is
    raised so nothing but the hang-up stops them) take both executor slots: /health
    answers while they run, and once their clients hang up the slots are free again
    for a recurring PUT (which needs one) long before the expands could have ended."""
    async with _running(pg_database, tmp_path, MaxInstancesPerReport=10_000_000) as (dav, port):
        await _dailies(dav, 60)
        # No time-range in the filter: the index answers at once, and the expansion is
        # all that is left to do.
        query = EXPAND_QUERY.format(start="20260101T000000Z", end="20310101T000000Z").replace(
            '<C:time-range start="20260101T000000Z" end="20310101T000000Z"/>', "")
        with caplog.at_level(logging.INFO, logger="caldavd"):
            clients = [await _send_report(port, query) for _ in range(2)]
            started = time.monotonic()  # the server's loop is this test's
            await asyncio.sleep(1.0)
            health = await dav.request("GET", "/health", user=None)
            assert health.status == 200
            assert time.monotonic() - started < 6, "the loop was not blocked"
            assert not [c for c in clients if await _answered(c[0])], "still expanding"
            for _, writer in clients:
                writer.close()
            started = time.monotonic()
            put = await dav.put(CAL01 + "weekly.ics", event(
                "weekly", "20260105T100000Z", "20260105T110000Z",
                extra="RRULE:FREQ=WEEKLY;COUNT=10\r\n"))
            assert put.status == 201
            assert time.monotonic() - started < 15, "the hung-up expands gave their slots back"
        assert any("closed the connection" in r.getMessage() for r in caplog.records)


async def test_free_busy_from_the_index_keeps_fbtype_and_transp(dav: Dav) -> None:
    """RFC 4791 §7.10 from index rows: TENTATIVE is BUSY-TENTATIVE, CANCELLED and
    TRANSPARENT are not busy; an event past the index horizon is expanded instead."""
    for uid, extra in (("tentative", "STATUS:TENTATIVE\r\n"), ("cancelled", "STATUS:CANCELLED\r\n"),
                       ("free", "TRANSP:TRANSPARENT\r\n"), ("busy", "")):
        hour = {"tentative": "10", "cancelled": "12", "free": "14", "busy": "16"}[uid]
        body = event(uid, f"20260105T{hour}0000Z", f"20260105T{hour}3000Z", extra=extra)
        assert (await dav.put(f"{CAL01}{uid}.ics", body)).status == 201
    weekly = event("weekly", "20260105T180000Z", "20260105T183000Z",
                   extra="RRULE:FREQ=WEEKLY\r\n")
    assert (await dav.put(CAL01 + "weekly.ics", weekly)).status == 201
    text = (await _ask(dav, FREEBUSY, "20260105T000000Z", "20290101T000000Z")).body.decode()
    assert "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T100000Z/20260105T103000Z" in text
    assert "20260105T120000Z" not in text and "20260105T140000Z" not in text
    assert "FREEBUSY:20260105T160000Z/20260105T163000Z" in text \
        or "FBTYPE=BUSY:20260105T160000Z/20260105T163000Z" in text
    assert "20281225T180000Z/20281225T183000Z" in text, "past the index horizon, expanded"


async def test_one_instance_budget_for_a_query_over_a_whole_home(pg_database: PgDatabase,
                                                                  tmp_path: Path) -> None:
    """MaxInstancesPerReport bounds the request, not each calendar it reaches: three
    calendars of 27 instances each fit a budget of 60 one at a time, not together."""
    home = CAL01.rsplit("/", 2)[0] + "/"
    async with serving(pg_database, tmp_path, MaxInstancesPerReport=60) as dav:
        for n in range(3):
            calendar = f"{home}cal{n}/"
            assert (await dav.request("MKCALENDAR", calendar)).status == 201
            daily = event(f"daily-{n}", "20260105T100000Z", "20260105T110000Z", extra=DAILY)
            assert (await dav.put(f"{calendar}daily.ics", daily)).status == 201
        body = EXPAND_QUERY.format(start="20260105T000000Z", end="20260201T000000Z")
        for n in range(3):
            alone = await dav.report(f"{home}cal{n}/", body)
            assert alone.status == 207 and len(alone.responses()) == 1
        whole = await dav.report(home, body, depth="infinity")
        assert whole.status == 207
        responses = whole.responses()
        assert "507" in (responses[home].findtext("{DAV:}status") or ""), whole.body
        assert len([href for href in responses if href.endswith("daily.ics")]) == 2
