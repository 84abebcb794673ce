"""calendar-data in responses (RFC 4791 §9.6): selection, expand, limits."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
from lxml import etree

from caldavd.caldav.budget import Budget, Cancelled, OverBudget
from caldavd.caldav.data import (
    FULL,
    CompSelection,
    DataRequest,
    PropSelection,
    parse_calendar_data_request,
    render,
)
from caldavd.caldav.filter import TimeRange
from caldavd.dav import errors
from tests.unit.caldav.test_filter import SAMPLES


def request(body: str = "", **attrs: str) -> DataRequest:
    attributes = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attrs.items())
    element = etree.fromstring(f'<C:calendar-data xmlns:C="urn:ietf:params:xml:ns:caldav"'
                               f"{attributes}>{body}</C:calendar-data>")
    return parse_calendar_data_request(element)


def lines(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", ""), "every line ends with CRLF"
    return text.split("\r\n")


def components(text: str, name: str) -> list[icalendar.cal.Component]:
    return list(icalendar.Calendar.from_ical(text).walk(name))


def moment(component: icalendar.cal.Component, name: str) -> datetime:
    """The date-time value of property ``name``."""
    value = component.decoded(name)
    assert isinstance(value, datetime), value
    return value


# RFC 4791 §7.8.1: partial retrieval of events.
PARTIAL = """<C:comp name="VCALENDAR">
  <C:prop name="VERSION"/>
  <C:comp name="VEVENT">
    <C:prop name="SUMMARY"/>
    <C:prop name="UID"/>
    <C:prop name="DTSTART"/>
    <C:prop name="DTEND"/>
    <C:prop name="DURATION"/>
    <C:prop name="RRULE"/>
    <C:prop name="RDATE"/>
    <C:prop name="EXRULE"/>
    <C:prop name="EXDATE"/>
    <C:prop name="RECURRENCE-ID"/>
  </C:comp>
  <C:comp name="VTIMEZONE"/>
</C:comp>"""


# -- parsing -----------------------------------------------------------------------------


def test_no_element_and_empty_element_ask_for_everything() -> None:
    assert parse_calendar_data_request(None) is FULL
    assert FULL.is_identity
    assert request().is_identity
    assert request(content_type="text/calendar", version="2.0").is_identity


def test_parse_selection_tree() -> None:
    parsed = request(PARTIAL)
    assert parsed.comp is not None
    assert parsed.comp.name == "VCALENDAR"
    assert not parsed.comp.allprop
    assert parsed.comp.props == (PropSelection("VERSION"),)
    event, timezone = parsed.comp.comps
    assert event.name == "VEVENT"
    assert PropSelection("RECURRENCE-ID") in event.props
    assert not event.allcomp
    assert event.comps == ()
    # An empty comp is the whole component (the §7.8.1 example's VTIMEZONE).
    assert timezone == CompSelection("VTIMEZONE", allprop=True, allcomp=True)


def test_parse_novalue_and_all() -> None:
    parsed = request('<C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT">'
                     '<C:prop name="attendee" novalue="yes"/><C:allcomp/></C:comp></C:comp>')
    assert parsed.comp is not None
    assert parsed.comp.allprop
    assert not parsed.comp.allcomp
    event = parsed.comp.comps[0]
    assert event.props == (PropSelection("ATTENDEE", novalue=True),)
    assert event.allcomp
    assert event.prop("attendee") == PropSelection("ATTENDEE", novalue=True)
    assert event.prop("SUMMARY") is None
    assert event.comp("VALARM") == CompSelection("VALARM")


def test_parse_ranges() -> None:
    span = TimeRange(datetime(2006, 1, 3, tzinfo=UTC), datetime(2006, 1, 5, tzinfo=UTC))
    parsed = request('<C:expand start="20060103T000000Z" end="20060105T000000Z"/>'
                     '<C:limit-freebusy-set start="20060103T000000Z" end="20060105T000000Z"/>')
    assert parsed.expand == span
    assert parsed.limit_freebusy_set == span
    assert parsed.limit_recurrence_set is None
    assert not parsed.is_identity
    limited = request('<C:limit-recurrence-set start="20060103T000000Z" end="20060105T000000Z"/>')
    assert limited.limit_recurrence_set == span


@pytest.mark.parametrize("attrs", [
    {"content_type": "application/calendar+json"},
    {"content_type": "text/calendar", "version": "1.0"},
    {"content_type": "text/x-vcalendar"},
])
def test_only_icalendar_2_0_is_supported(attrs: dict[str, str]) -> None:
    with pytest.raises(errors.SupportedCalendarData) as raised:
        request(**attrs)
    assert raised.value.status == 403


def test_media_type_parameters_are_allowed() -> None:
    assert request(content_type="Text/Calendar; charset=utf-8").is_identity


@pytest.mark.parametrize("body", [
    '<C:expand start="20060103T000000" end="20060105T000000Z"/>',  # not UTC
    '<C:expand start="20060103T000000Z"/>',  # end is required
    '<C:limit-freebusy-set end="20060105T000000Z"/>',
    '<C:expand start="20060105T000000Z" end="20060103T000000Z"/>',
    '<C:expand start="20060103T000000Z" end="20060105T000000Z"/>'
    '<C:limit-recurrence-set start="20060103T000000Z" end="20060105T000000Z"/>',
    '<C:expand start="20060103T000000Z" end="20060105T000000Z"/>'
    '<C:expand start="20060103T000000Z" end="20060105T000000Z"/>',
    '<C:comp name="VEVENT"/>',  # the top comp is VCALENDAR
    '<C:comp name="VCALENDAR"/><C:comp name="VCALENDAR"/>',
    '<C:comp name="VCALENDAR"><C:allprop/><C:prop name="VERSION"/></C:comp>',
    '<C:comp name="VCALENDAR"><C:allcomp/><C:comp name="VEVENT"/></C:comp>',
    '<C:comp name="VCALENDAR"><C:prop/></C:comp>',
    '<C:comp name="VCALENDAR"><C:prop name="X" novalue="maybe"/></C:comp>',
    '<C:comp name="VCALENDAR"><C:bogus/></C:comp>',
    "<C:bogus/>",
])
def test_malformed_requests_are_bad_requests(body: str) -> None:
    with pytest.raises(errors.BadRequest):
        request(body)


def test_wrong_element() -> None:
    with pytest.raises(errors.BadRequest):
        parse_calendar_data_request(etree.fromstring('<D:prop xmlns:D="DAV:"/>'))


# -- rendering -------------------------------------------------------------------------------


def test_identity_returns_the_stored_text_untouched() -> None:
    text = SAMPLES["abcd1"]
    assert render(text, FULL) is text
    assert render(text.encode("utf-8"), FULL) == text
    # Not even reparsed: something icalendar would rewrite comes back as stored.
    odd = "BEGIN:VCALENDAR\r\nx-odd-case:kept\r\nEND:VCALENDAR\r\n"
    assert render(odd, FULL) is odd


def test_partial_retrieval_rfc_4791_7_8_1() -> None:
    out = render(SAMPLES["abcd3"], request(PARTIAL))
    got = lines(out)
    assert got[0] == "BEGIN:VCALENDAR"
    assert "VERSION:2.0" in got
    assert not any(line.startswith("PRODID") for line in got)
    assert "SUMMARY:Event #3" in got
    assert "UID:DC6C50A017428C5216A2F1CD@example.com" in got
    assert "DTSTART;TZID=US/Eastern:20060104T100000" in got
    assert "DURATION:PT1H" in got
    for dropped in ("ATTENDEE", "ORGANIZER", "DTSTAMP", "STATUS", "X-ABC-GUID", "SEQUENCE"):
        assert not any(line.startswith(dropped) for line in got), dropped
    # The empty VTIMEZONE comp returned the whole time zone.
    timezone = components(out, "VTIMEZONE")
    assert len(timezone) == 1
    assert str(timezone[0]["TZID"]) == "US/Eastern"
    assert "LAST-MODIFIED:20040110T032845Z" in got
    assert {sub.name for sub in timezone[0].subcomponents} == {"DAYLIGHT", "STANDARD"}


def test_selection_keeps_every_instance_of_a_property() -> None:
    body = ('<C:comp name="VCALENDAR"><C:comp name="VEVENT"><C:prop name="ATTENDEE"/>'
            "</C:comp></C:comp>")
    got = lines(render(SAMPLES["abcd3"], request(body)))
    assert "ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com" in got
    assert "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com" in got
    assert not any(line.startswith("VERSION") for line in got)  # VCALENDAR selected no props


def test_novalue_keeps_name_and_parameters_rfc_4791_9_6_4() -> None:
    body = ('<C:comp name="VCALENDAR"><C:comp name="VEVENT"><C:prop name="UID"/>'
            '<C:prop name="ATTENDEE" novalue="yes"/></C:comp></C:comp>')
    got = lines(render(SAMPLES["abcd3"], request(body)))
    attendees = [line for line in got if line.startswith("ATTENDEE")]
    assert len(attendees) == 2
    assert all(line.endswith(":") for line in attendees)
    assert "ATTENDEE;PARTSTAT=NEEDS-ACTION:" in attendees
    assert "UID:DC6C50A017428C5216A2F1CD@example.com" in got


def test_vtimezone_is_kept_when_a_property_needs_it() -> None:
    with_start = ('<C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT">'
                  '<C:prop name="DTSTART"/></C:comp></C:comp>')
    out = render(SAMPLES["abcd1"], request(with_start))
    assert [str(tz["TZID"]) for tz in components(out, "VTIMEZONE")] == ["US/Eastern"]
    without = ('<C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT">'
               '<C:prop name="SUMMARY"/></C:comp></C:comp>')
    out = render(SAMPLES["abcd1"], request(without))
    assert components(out, "VTIMEZONE") == []
    assert "PRODID:-//Example Corp.//CalDAV Client//EN" in lines(out)


def test_allprop_without_subcomponents_drops_alarms() -> None:
    body = ('<C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT"><C:allprop/>'
            "</C:comp></C:comp>")
    out = render(SAMPLES["abcd1"], request(body))
    event = components(out, "VEVENT")
    assert len(event) == 1
    assert str(event[0]["DESCRIPTION"]) == "Go Steelers!"
    assert components(out, "VALARM") == []


def test_allcomp_keeps_alarms() -> None:
    body = ('<C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT"><C:prop name="UID"/>'
            "<C:allcomp/></C:comp></C:comp>")
    out = render(SAMPLES["abcd1"], request(body))
    alarms = components(out, "VALARM")
    assert len(alarms) == 1
    assert str(alarms[0]["ACTION"]) == "DISPLAY"
    assert "DESCRIPTION:Go Steelers!" not in lines(out)


def test_selection_of_an_absent_component_is_harmless() -> None:
    body = '<C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VTODO"/></C:comp>'
    got = lines(render(SAMPLES["abcd1"], request(body)))
    assert got[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", "END:VCALENDAR"]


def test_expand_weekly_rule_with_override_rfc_4791_9_6_5() -> None:
    expand = '<C:expand start="20060109T000000Z" end="20060131T000000Z"/>'
    out = render(SAMPLES["weekly"], request(expand))
    events = components(out, "VEVENT")
    starts = sorted(moment(event, "DTSTART") for event in events)
    # 9 Jan, 16 Jan (moved to 11:00 EST), 30 Jan; 23 Jan is excluded.
    assert starts == [datetime(2006, 1, 9, 14, tzinfo=UTC), datetime(2006, 1, 16, 16, tzinfo=UTC),
                      datetime(2006, 1, 30, 14, tzinfo=UTC)]
    for event in events:
        assert "RECURRENCE-ID" in event
        for banned in ("RRULE", "RDATE", "EXDATE", "EXRULE"):
            assert banned not in event
    moved = next(e for e in events if moment(e, "DTSTART").day == 16)
    assert str(moved["SUMMARY"]) == "Staff meeting (moved)"
    assert moment(moved, "RECURRENCE-ID") == datetime(2006, 1, 16, 14, tzinfo=UTC)
    # Times in UTC, no time zones (§9.6.5).
    assert components(out, "VTIMEZONE") == []
    assert "TZID" not in out
    assert "DTSTART:20060109T140000Z" in lines(out)


def test_expand_then_select() -> None:
    body = ('<C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VEVENT">'
            '<C:prop name="SUMMARY"/><C:prop name="DTSTART"/></C:comp></C:comp>'
            '<C:expand start="20060104T000000Z" end="20060106T000000Z"/>')
    out = render(SAMPLES["abcd2"], request(body))
    events = components(out, "VEVENT")
    assert sorted((moment(e, "DTSTART"), str(e["SUMMARY"])) for e in events) == [
        (datetime(2006, 1, 4, 19, tzinfo=UTC), "Event #2 bis"),
        (datetime(2006, 1, 5, 17, tzinfo=UTC), "Event #2"),
    ]
    assert all(set(e) == {"SUMMARY", "DTSTART"} for e in events)
    assert components(out, "VTIMEZONE") == []


def test_limit_recurrence_set_rfc_4791_9_6_6() -> None:
    limit = '<C:limit-recurrence-set start="20060105T000000Z" end="20060107T000000Z"/>'
    out = render(SAMPLES["abcd2"], request(limit))
    events = components(out, "VEVENT")
    summaries = {str(e["SUMMARY"]) for e in events}
    # The master stays (with its rule); of the overrides only the one in range.
    assert "Event #2" in summaries
    assert "Event #2 bis bis" in summaries
    assert "Event #2 bis" not in summaries
    master = next(e for e in events if "RECURRENCE-ID" not in e)
    assert "RRULE" in master


def test_limit_freebusy_set_rfc_4791_9_6_7() -> None:
    limit = '<C:limit-freebusy-set start="20060102T000000Z" end="20060103T000000Z"/>'
    got = lines(render(SAMPLES["abcd8"], request(limit)))
    busy = [line for line in got if line.startswith("FREEBUSY")]
    assert busy == ["FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z"]
    empty = '<C:limit-freebusy-set start="20070102T000000Z" end="20070103T000000Z"/>'
    assert not any(line.startswith("FREEBUSY") for line in lines(
        render(SAMPLES["abcd8"], request(empty))))


def test_render_accepts_bytes_and_ends_lines_with_crlf() -> None:
    body = '<C:comp name="VCALENDAR"><C:allprop/><C:allcomp/></C:comp>'
    out = render(SAMPLES["floating"].encode("utf-8"), request(body))
    assert out.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:Déjeuner" in lines(out)


def test_expand_reads_floating_times_in_the_floating_zone() -> None:
    expand = request('<C:expand start="20060111T150000Z" end="20060111T153000Z"/>')
    assert components(render(SAMPLES["floating"], expand), "VEVENT") == []
    out = render(SAMPLES["floating"], expand, floating_tz=ZoneInfo("America/New_York"))
    events = components(out, "VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Déjeuner"]


def test_expand_spends_its_budget() -> None:
    expand = request('<C:expand start="20060101T000000Z" end="20070101T000000Z"/>')
    assert len(components(render(SAMPLES["weekly"], expand), "VEVENT")) == 51
    budget = Budget(60)
    render(SAMPLES["weekly"], expand, budget=budget)
    assert budget.remaining == 9
    with pytest.raises(OverBudget):
        render(SAMPLES["weekly"], expand, budget=budget)
    assert budget.remaining == 9, "an expansion over budget takes nothing"
    budget.cancel()
    with pytest.raises(Cancelled):
        render(SAMPLES["weekly"], expand, budget=budget)
