"""Floating times and all-day events in REPORTs are read in the request's
CALDAV:timezone, else in the calendar's calendar-timezone, never in UTC
(RFC 4791 §5.2.2, §9.8; §7.10 free-busy, §9.6.5 expand, §9.6.6
limit-recurrence-set, §9.9 time ranges) — issue 15 item 7."""

from __future__ import annotations

from tests.functional.conftest import CAL01, NS, Dav, Reply

NEW_YORKISH = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
               "BEGIN:VTIMEZONE\r\nTZID:Test/Minus5\r\nBEGIN:STANDARD\r\n"
               "DTSTART:19700101T000000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0500\r\n"
               "END:STANDARD\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n")
AUCKLANDISH = NEW_YORKISH.replace("Test/Minus5", "Test/Plus13").replace("-0500", "+1300")

FLOATING = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
            "BEGIN:VEVENT\r\nUID:floating\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:20260105T090000\r\nDTEND:20260105T100000\r\nSUMMARY:Floating\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n")
# All day on the 5th, 6th and 7th, and the 6th moved to the 8th.
ALL_DAY = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//caldavd tests//EN\r\n"
           "BEGIN:VEVENT\r\nUID:all-day\r\nDTSTAMP:20260101T000000Z\r\n"
           "DTSTART;VALUE=DATE:20260105\r\nDTEND;VALUE=DATE:20260106\r\n"
           "RRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\n"
           "BEGIN:VEVENT\r\nUID:all-day\r\nDTSTAMP:20260101T000000Z\r\n"
           "RECURRENCE-ID;VALUE=DATE:20260106\r\nDTSTART;VALUE=DATE:20260108\r\n"
           "DTEND;VALUE=DATE:20260109\r\nSUMMARY:Moved\r\nEND:VEVENT\r\n"
           "END:VCALENDAR\r\n")

FREEBUSY = ('<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
            '<C:time-range start="{start}" end="{end}"/></C:free-busy-query>')
QUERY = """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/>{data}</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
  <C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter>
  {timezone}</C:calendar-query>"""
MULTIGET = """<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data>{data}</C:calendar-data></D:prop>
  <D:href>{href}</D:href></C:calendar-multiget>"""


async def _set_zone(dav: Dav, zone: str) -> None:
    body = ('<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><C:calendar-timezone><![CDATA[{zone}]]></C:calendar-timezone>"
            "</D:prop></D:set></D:propertyupdate>")
    assert (await dav.request("PROPPATCH", CAL01, body)).status == 207


def _data(reply: Reply, href: str) -> str:
    assert reply.status == 207, reply.body
    return reply.responses()[href].findtext(".//C:calendar-data", namespaces=NS) or ""


async def test_free_busy_reads_floating_times_in_the_calendar_timezone(dav: Dav) -> None:
    """RFC 4791 §7.10: 09:00 floating in a UTC-5 calendar is busy at 14:00Z."""
    await _set_zone(dav, NEW_YORKISH)
    assert (await dav.put(CAL01 + "floating.ics", FLOATING)).status == 201
    reply = await dav.report(CAL01, FREEBUSY.format(start="20260105T120000Z",
                                                    end="20260105T180000Z"))
    assert reply.status == 200
    text = reply.body.decode()
    assert "20260105T140000Z/20260105T150000Z" in text
    assert "T090000Z" not in text


async def test_home_free_busy_reads_each_calendar_in_its_zone(dav: Dav) -> None:
    await _set_zone(dav, NEW_YORKISH)
    assert (await dav.put(CAL01 + "floating.ics", FLOATING)).status == 201
    home = CAL01.rsplit("/", 2)[0] + "/"
    reply = await dav.report(home, FREEBUSY.format(start="20260105T120000Z",
                                                   end="20260105T180000Z"))
    assert reply.status == 200
    assert "20260105T140000Z/20260105T150000Z" in reply.body.decode()


async def test_query_matches_floating_times_in_the_calendar_timezone(dav: Dav) -> None:
    """RFC 4791 §9.9 with §5.2.2: without CALDAV:timezone the calendar's zone applies."""
    await _set_zone(dav, NEW_YORKISH)
    assert (await dav.put(CAL01 + "floating.ics", FLOATING)).status == 201
    at_14z = await dav.report(CAL01, QUERY.format(data="", start="20260105T140000Z",
                                                  end="20260105T143000Z", timezone=""))
    assert set(at_14z.responses()) == {CAL01 + "floating.ics"}
    at_09z = await dav.report(CAL01, QUERY.format(data="", start="20260105T090000Z",
                                                  end="20260105T093000Z", timezone=""))
    assert at_09z.responses() == {}


async def test_expand_places_all_day_instances_in_the_request_timezone(dav: Dav) -> None:
    """RFC 4791 §9.6.5, §9.8: at 12:00Z on the 5th it is already the 6th at UTC+13,
    whose instance was moved to the 8th, so the 7th is the only one there."""
    assert (await dav.put(CAL01 + "all-day.ics", ALL_DAY)).status == 201
    timezone = f"<C:timezone><![CDATA[{AUCKLANDISH}]]></C:timezone>"
    start, end = "20260106T120000Z", "20260106T130000Z"  # the 7th at UTC+13
    data = f'<C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data>'
    reply = await dav.report(CAL01, QUERY.format(data=data, start=start, end=end,
                                                 timezone=timezone))
    text = _data(reply, CAL01 + "all-day.ics")
    assert text.count("BEGIN:VEVENT") == 1, text
    assert "RECURRENCE-ID;VALUE=DATE:20260107" in text
    utc = await dav.report(CAL01, QUERY.format(data=data, start=start, end=end, timezone=""))
    assert utc.responses() == {}, "in UTC that hour is on the 6th, which was moved"


async def test_multiget_expand_uses_the_calendar_timezone(dav: Dav) -> None:
    """calendar-multiget has no CALDAV:timezone: the calendar's calendar-timezone."""
    await _set_zone(dav, AUCKLANDISH)
    assert (await dav.put(CAL01 + "all-day.ics", ALL_DAY)).status == 201
    data = '<C:expand start="20260106T120000Z" end="20260106T130000Z"/>'
    reply = await dav.report(CAL01, MULTIGET.format(data=data, href=CAL01 + "all-day.ics"))
    text = _data(reply, CAL01 + "all-day.ics")
    assert text.count("BEGIN:VEVENT") == 1 and "RECURRENCE-ID;VALUE=DATE:20260107" in text


async def test_limit_recurrence_set_keeps_the_override_of_the_zone_s_day(dav: Dav) -> None:
    """RFC 4791 §9.6.6: at UTC+13, 12:00Z on the 7th is the 8th, where the override lies."""
    await _set_zone(dav, AUCKLANDISH)
    assert (await dav.put(CAL01 + "all-day.ics", ALL_DAY)).status == 201
    data = '<C:limit-recurrence-set start="20260107T120000Z" end="20260107T130000Z"/>'
    reply = await dav.report(CAL01, MULTIGET.format(data=data, href=CAL01 + "all-day.ics"))
    assert "SUMMARY:Moved" in _data(reply, CAL01 + "all-day.ics")


_ZONES = NEW_YORKISH.removesuffix("END:VCALENDAR\r\n")
_EVENT = FLOATING[FLOATING.index("BEGIN:VEVENT"):]
_OTHER_ZONE = AUCKLANDISH[AUCKLANDISH.index("BEGIN:VTIMEZONE"):]
# Not "an iCalendar object with exactly one VTIMEZONE component" (RFC 4791 §5.2.2, §9.8).
NOT_ONE_ZONE = {
    "a VEVENT besides": _ZONES + _EVENT,
    "two zones": _ZONES + _OTHER_ZONE,
    "no zone": _ZONES[:_ZONES.index("BEGIN:VTIMEZONE")] + "END:VCALENDAR\r\n",
}
_PROPPATCH = ('<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
              "<D:set><D:prop><C:calendar-timezone><![CDATA[{zone}]]></C:calendar-timezone>"
              "</D:prop></D:set></D:propertyupdate>")


async def test_one_rule_for_timezone_bodies_everywhere(dav: Dav) -> None:
    """RFC 4791 §9.8 (CALDAV:timezone: 403 valid-calendar-data, §7.8) and §5.2.2
    (calendar-timezone: 403 valid-calendar-timezone in PROPPATCH's propstat, §5.3.2.1 of
    MKCALENDAR) refuse the same bodies; a VEVENT next to the VTIMEZONE was taken by
    calendar-query (found by CalDAVTester's errors.xml)."""
    home = CAL01.rsplit("/", 2)[0] + "/"
    for why, zone in NOT_ONE_ZONE.items():
        assert zone.count("BEGIN:VCALENDAR") == 1 and zone.endswith("END:VCALENDAR\r\n")
        timezone = f"<C:timezone><![CDATA[{zone}]]></C:timezone>"
        query = await dav.report(CAL01, QUERY.format(
            data="", start="20260105T140000Z", end="20260105T143000Z", timezone=timezone))
        assert query.status == 403, (why, query.body)
        assert query.error() == "{urn:ietf:params:xml:ns:caldav}valid-calendar-data", why
        patched = await dav.request("PROPPATCH", CAL01, _PROPPATCH.format(zone=zone))
        assert patched.status == 207 and b"valid-calendar-timezone" in patched.body, why
        made = await dav.request("MKCALENDAR", home + "zoned/", _PROPPATCH.format(
            zone=zone).replace("D:propertyupdate", "C:mkcalendar"))
        assert made.status == 403, (why, made.body)
    good = await dav.report(CAL01, QUERY.format(
        data="", start="20260105T140000Z", end="20260105T143000Z",
        timezone=f"<C:timezone><![CDATA[{NEW_YORKISH}]]></C:timezone>"))
    assert good.status == 207, good.body
    await _set_zone(dav, NEW_YORKISH)
