"""A VTIMEZONE whose observances recur too often for any real zone is refused where it
enters: in a PUT body, as calendar-timezone, as a query's CALDAV:timezone.

Finding of the fuzz suite (tests/fuzz): a STANDARD with ``RRULE:FREQ=SECONDLY`` made
every offset lookup walk the onsets since 1970 one second at a time, and a PUT held its
worker for minutes (RFC 5545 §3.6.5 observances; RFC 4791 §5.3.2.1, §5.2.2, §9.8).
"""

from __future__ import annotations

import time

import pytest

from tests.functional.conftest import CAL01, HOME01, Dav

ZONE = ("BEGIN:VTIMEZONE\r\nTZID:Fuzz/Zone\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
        "RRULE:{rule}\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
        "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
        "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n")
HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
EVENT = ("BEGIN:VEVENT\r\nUID:tz-1\r\nDTSTAMP:20260101T000000Z\r\n"
         "DTSTART;TZID=Fuzz/Zone:20260302T090000\r\nDURATION:PT1H\r\nEND:VEVENT\r\n")
# More onsets before 2101 than any real zone has; Outlook's yearly rules since 1601 pass.
TOO_MANY = ["FREQ=SECONDLY", "FREQ=HOURLY", "FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=1,2,3,4,5,6,7,8,9"
            ";BYHOUR=1,2,3,4,5,6"]
LIMIT_SECONDS = 10  # generous: before the fix the first of them ran for minutes


def _calendar(rule: str, inner: str = EVENT) -> str:
    return HEAD + ZONE.format(rule=rule) + inner + "END:VCALENDAR\r\n"


@pytest.mark.parametrize("rule", TOO_MANY)
async def test_put_with_a_runaway_observance_is_valid_calendar_data(dav: Dav, rule: str) -> None:
    started = time.monotonic()
    reply = await dav.put(CAL01 + "tz.ics", _calendar(rule))
    assert time.monotonic() - started < LIMIT_SECONDS
    assert reply.status == 403, reply.body
    assert reply.error() == "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"
    assert (await dav.request("GET", CAL01 + "tz.ics")).status == 404


async def test_a_yearly_zone_since_1601_is_still_stored(dav: Dav) -> None:
    text = _calendar("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU").replace("19701025", "16010101")
    assert (await dav.put(CAL01 + "tz.ics", text)).status == 201


async def test_calendar_timezone_with_a_runaway_observance_is_refused(dav: Dav) -> None:
    body = ('<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:set><D:prop><C:calendar-timezone>"
            + _calendar("FREQ=SECONDLY", "").replace("\r\n", "&#13;\n")
            + "</C:calendar-timezone></D:prop></D:set></D:propertyupdate>")
    reply = await dav.request("PROPPATCH", CAL01, body)
    assert reply.status == 207, reply.body
    response = reply.responses()[CAL01]
    assert "403" in (response.findtext(".//{DAV:}status") or "")
    assert response.find(".//{urn:ietf:params:xml:ns:caldav}valid-calendar-timezone") is not None
    made = await dav.request("MKCALENDAR", HOME01 + "tzcal/", body.replace(
        "D:propertyupdate", "C:mkcalendar"))
    assert made.status == 403, made.body


async def test_a_query_timezone_with_a_runaway_observance_is_refused(dav: Dav) -> None:
    zone = _calendar("FREQ=SECONDLY", "").replace("\r\n", "&#13;\n")
    body = ('<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name='VCALENDAR'>"
            "<C:comp-filter name='VEVENT'><C:time-range start='20260101T000000'"
            " end='20260201T000000'/></C:comp-filter></C:comp-filter></C:filter>"
            f"<C:timezone>{zone}</C:timezone></C:calendar-query>")
    started = time.monotonic()
    reply = await dav.report(CAL01, body)
    assert time.monotonic() - started < LIMIT_SECONDS
    assert reply.status == 403, reply.body
    assert reply.error() == "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"
