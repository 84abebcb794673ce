"""calendar-query filters (RFC 4791 §9.7, §9.9) against Appendix B style data.

The samples follow RFC 4791 Appendix B (abcd1-abcd8: events, a recurring
event with overrides, to-dos, alarms, free-busy) plus a weekly open-ended
rule, an all-day event and a floating event.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import icalendar
import pytest
from lxml import etree

from caldavd.caldav.filter import (
    CompFilter,
    Filter,
    IndexMismatch,
    IndexQuery,
    PropFilter,
    TextMatch,
    TimeRange,
    parse_filter,
    parse_timezone_element,
    parse_utc_datetime,
)
from caldavd.dav import errors

VTIMEZONE_EASTERN = """BEGIN:VTIMEZONE
LAST-MODIFIED:20040110T032845Z
TZID:US/Eastern
BEGIN:DAYLIGHT
DTSTART:20000404T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4
TZNAME:EDT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20001026T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZNAME:EST
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE
"""


def ics(body: str, *, timezone: bool = False) -> str:
    """A VCALENDAR around ``body``, CRLF line endings as RFC 5545 requires."""
    zone = VTIMEZONE_EASTERN if timezone else ""
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Example Corp.//CalDAV Client//EN\n{zone}"
    text += f"{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n")


SAMPLES: dict[str, str] = {
    # One event, 10:00-11:00 EST (15:00-16:00Z) on 2 Jan 2006, with a repeating
    # alarm at its end: 16:00Z, 16:05Z, 16:10Z.
    "abcd1": ics("""BEGIN:VEVENT
DTSTAMP:20060206T001102Z
DTSTART;TZID=US/Eastern:20060102T100000
DURATION:PT1H
SUMMARY:Event #1
DESCRIPTION:Go Steelers!
UID:74855313FA803DA593CD579A@example.com
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Done
TRIGGER;RELATED=END:PT0S
REPEAT:2
DURATION:PT5M
END:VALARM
END:VEVENT
""", timezone=True),
    # Daily at 12:00 EST (17:00Z), five times from 2 Jan; the 4 Jan and 6 Jan
    # instances are moved to 14:00 EST (19:00Z).
    "abcd2": ics("""BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060102T120000
DURATION:PT1H
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Event #2
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060104T140000
DURATION:PT1H
RECURRENCE-ID;TZID=US/Eastern:20060104T120000
SUMMARY:Event #2 bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060106T140000
DURATION:PT1H
RECURRENCE-ID;TZID=US/Eastern:20060106T120000
SUMMARY:Event #2 bis bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
""", timezone=True),
    # 10:00-11:00 EST (15:00-16:00Z) on 4 Jan, with attendees.
    "abcd3": ics("""BEGIN:VEVENT
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com
DTSTAMP:20060206T001220Z
DTSTART;TZID=US/Eastern:20060104T100000
DURATION:PT1H
LAST-MODIFIED:20060206T001330Z
ORGANIZER:mailto:cyrus@example.com
SEQUENCE:1
STATUS:TENTATIVE
SUMMARY:Event #3
UID:DC6C50A017428C5216A2F1CD@example.com
X-ABC-GUID:E1CX5Dr-0007ym-Hz@example.com
END:VEVENT
""", timezone=True),
    # A pending to-do due on 4 Jan with an absolute alarm at 09:00Z on 3 Jan.
    "abcd4": ics("""BEGIN:VTODO
DTSTAMP:20060205T235335Z
DUE;VALUE=DATE:20060104
STATUS:NEEDS-ACTION
SUMMARY:Task #1
UID:DDDEEB7915FA61233B861457@example.com
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;VALUE=DATE-TIME:20060103T090000Z
END:VALARM
END:VTODO
"""),
    # A completed to-do.
    "abcd5": ics("""BEGIN:VTODO
DTSTAMP:20060205T235300Z
DTSTART;VALUE=DATE:20060104
DUE;VALUE=DATE:20060106
COMPLETED:20060105T160000Z
STATUS:COMPLETED
SUMMARY:Task #2
UID:E10BA47467C5C69BB74E8720@example.com
END:VTODO
"""),
    # A pending to-do starting 11:00Z on 6 Jan, alarm 10 minutes before (10:50Z).
    "abcd6": ics("""BEGIN:VTODO
DTSTAMP:20060205T235325Z
DTSTART:20060106T110000Z
DUE:20060107T000000Z
STATUS:NEEDS-ACTION
SUMMARY:Task #3
UID:E10BA47467C5C69BB74E8725@example.com
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;RELATED=START:-PT10M
END:VALARM
END:VTODO
"""),
    # A cancelled to-do with no dates: it overlaps every time range (§9.9).
    "abcd7": ics("""BEGIN:VTODO
DTSTAMP:20060205T235600Z
STATUS:CANCELLED
SUMMARY:Task #4
UID:E10BA47467C5C69BB74E8726@example.com
END:VTODO
"""),
    "abcd8": ics("""BEGIN:VFREEBUSY
ORGANIZER;CN="Bernard Desruisseaux":mailto:bernard@example.com
UID:76ef34-54a3d2@example.com
DTSTAMP:20050530T123421Z
DTSTART:20060101T000000Z
DTEND:20060108T000000Z
FREEBUSY:20050531T230000Z/20050601T010000Z
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z
END:VFREEBUSY
"""),
    # Weekly, Mondays 09:00 EST (14:00Z), no end; alarm 15 minutes before
    # (13:45Z). 16 Jan moved to 11:00 EST (16:00Z) without an alarm; 23 Jan excluded.
    "weekly": ics("""BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060102T090000
DTEND;TZID=US/Eastern:20060102T100000
RRULE:FREQ=WEEKLY
EXDATE;TZID=US/Eastern:20060123T090000
SUMMARY:Staff meeting
UID:weekly-1@example.com
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Staff meeting
TRIGGER:-PT15M
END:VALARM
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
RECURRENCE-ID;TZID=US/Eastern:20060116T090000
DTSTART;TZID=US/Eastern:20060116T110000
DTEND;TZID=US/Eastern:20060116T120000
SUMMARY:Staff meeting (moved)
UID:weekly-1@example.com
END:VEVENT
""", timezone=True),
    "allday": ics("""BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;VALUE=DATE:20060110
DTEND;VALUE=DATE:20060111
SUMMARY:Holiday
CATEGORIES:Holiday,Office
UID:allday-1@example.com
END:VEVENT
"""),
    # Floating: 10:00-11:00 wherever the reader is.
    "floating": ics("""BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART:20060111T100000
DTEND:20060111T110000
SUMMARY:Déjeuner
UID:floating-1@example.com
END:VEVENT
"""),
}

EVENTS = {"abcd1", "abcd2", "abcd3", "weekly", "allday", "floating"}
TODOS = {"abcd4", "abcd5", "abcd6", "abcd7"}
CALENDARS = {name: icalendar.Calendar.from_ical(text) for name, text in SAMPLES.items()}
EASTERN = ZoneInfo("America/New_York")


def xml_filter(body: str) -> etree._Element:
    return etree.fromstring(
        f'<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:">{body}</C:filter>')


def flt(body: str, *, default_tz: tzinfo = UTC, floating_tz: tzinfo | None = None) -> Filter:
    return parse_filter(xml_filter(body), default_tz=default_tz, floating_tz=floating_tz)


def in_calendar(body: str) -> str:
    return f'<C:comp-filter name="VCALENDAR">{body}</C:comp-filter>'


def in_event(body: str) -> str:
    return in_calendar(f'<C:comp-filter name="VEVENT">{body}</C:comp-filter>')


def in_todo(body: str) -> str:
    return in_calendar(f'<C:comp-filter name="VTODO">{body}</C:comp-filter>')


def tr(start: str | None, end: str | None) -> str:
    attrs = (f' start="{start}"' if start else "") + (f' end="{end}"' if end else "")
    return f"<C:time-range{attrs}/>"


def matching(body: str, *, floating_tz: tzinfo | None = None) -> set[str]:
    parsed = flt(body)
    return {name for name, cal in CALENDARS.items() if parsed.match(cal, floating_tz=floating_tz)}


# -- parsing -----------------------------------------------------------------------------


def test_parse_builds_the_typed_tree() -> None:
    parsed = flt(in_event(
        tr("20060104T000000Z", "20060105T000000Z")
        + '<C:prop-filter name="summary">'
        '<C:text-match collation="i;octet" negate-condition="yes">x</C:text-match>'
        '<C:param-filter name="LANGUAGE"><C:is-not-defined/></C:param-filter>'
        "</C:prop-filter>"))
    event = parsed.root.comp_filters[0]
    assert parsed.root.name == "VCALENDAR"
    assert event.name == "VEVENT"
    assert event.time_range == TimeRange(datetime(2006, 1, 4, tzinfo=UTC),
                                         datetime(2006, 1, 5, tzinfo=UTC))
    prop = event.prop_filters[0]
    assert prop.name == "SUMMARY"  # names are case-insensitive (RFC 5545 §2)
    assert prop.text_match == TextMatch("x", "i;octet", negate=True)
    assert prop.param_filters[0].name == "LANGUAGE"
    assert prop.param_filters[0].is_not_defined


def test_text_match_defaults_follow_rfc_4791_9_7_5() -> None:
    parsed = flt(in_event('<C:prop-filter name="SUMMARY"><C:text-match>a</C:text-match>'
                          "</C:prop-filter>"))
    text_match = parsed.root.comp_filters[0].prop_filters[0].text_match
    assert text_match == TextMatch("a", "i;ascii-casemap", negate=False, match_type="contains")


def test_comments_and_foreign_elements_are_ignored() -> None:
    parsed = flt(in_calendar('<!-- note --><X:other xmlns:X="urn:x"/>'
                             '<C:comp-filter name="VTODO"/>'))
    assert parsed.root.comp_filters == (CompFilter("VTODO"),)


def test_parse_utc_datetime_requires_the_z_form() -> None:
    assert parse_utc_datetime("20060104T000000Z") == datetime(2006, 1, 4, tzinfo=UTC)
    for bad in ("20060104T000000", "2006-01-04T00:00:00Z", "20060104", "20061304T000000Z"):
        with pytest.raises(ValueError):
            parse_utc_datetime(bad)


@pytest.mark.parametrize(("body", "error"), [
    # RFC 4791 §9.7: the filter holds one comp-filter, and it names VCALENDAR.
    ('<C:comp-filter name="VEVENT"/>', errors.ValidFilter),
    ("", errors.ValidFilter),
    ('<C:comp-filter name="VCALENDAR"/><C:comp-filter name="VCALENDAR"/>', errors.ValidFilter),
    ("<C:comp-filter/>", errors.ValidFilter),
    (in_calendar("<C:prop-filter/>"), errors.ValidFilter),
    (in_calendar("<C:bogus/>"), errors.ValidFilter),
    # §9.9: UTC date-times, at least one bound.
    (in_event(tr("20060104T000000", None)), errors.ValidFilter),
    (in_event("<C:time-range/>"), errors.ValidFilter),
    (in_event(tr("20060105T000000Z", "20060104T000000Z")), errors.ValidFilter),
    (in_event(tr("20060104T000000Z", None) + tr(None, "20060105T000000Z")), errors.ValidFilter),
    # is-not-defined stands alone (DTDs of §9.7.1-§9.7.3).
    (in_calendar('<C:comp-filter name="VEVENT"><C:is-not-defined/>'
                 '<C:prop-filter name="UID"/></C:comp-filter>'), errors.ValidFilter),
    (in_event('<C:prop-filter name="UID"><C:is-not-defined/>'
              "<C:text-match>x</C:text-match></C:prop-filter>"), errors.ValidFilter),
    (in_event('<C:prop-filter name="DTSTART">' + tr("20060104T000000Z", None)
              + "<C:text-match>x</C:text-match></C:prop-filter>"), errors.ValidFilter),
    (in_event('<C:prop-filter name="ATTENDEE"><C:param-filter name="PARTSTAT">'
              "<C:is-not-defined/><C:text-match>x</C:text-match></C:param-filter>"
              "</C:prop-filter>"), errors.ValidFilter),
    (in_event('<C:prop-filter name="UID"><C:text-match negate-condition="maybe">x'
              "</C:text-match></C:prop-filter>"), errors.ValidFilter),
    (in_event('<C:prop-filter name="UID"><C:text-match><C:text-match/></C:text-match>'
              "</C:prop-filter>"), errors.ValidFilter),
    # §7.5.1: unknown collations are refused with supported-collation.
    (in_event('<C:prop-filter name="UID"><C:text-match collation="i;klingon">x'
              "</C:text-match></C:prop-filter>"), errors.SupportedCollation),
    (in_event('<C:prop-filter name="UID"><C:text-match match-type="regex">x'
              "</C:text-match></C:prop-filter>"), errors.SupportedFilter),
    # Time ranges exist for instance components and alarms only (§9.9).
    (in_calendar('<C:comp-filter name="VTIMEZONE">' + tr("20060104T000000Z", None)
                 + "</C:comp-filter>"), errors.SupportedFilter),
    (in_event('<C:comp-filter name="VALARM"><C:comp-filter name="X-PART">'
              + tr("20060104T000000Z", None) + "</C:comp-filter></C:comp-filter>"),
     errors.SupportedFilter),
    # §7.8 valid-filter: components where none can be, time-ranges on values no date.
    (in_event('<C:comp-filter name="VEVENT"/>'), errors.ValidFilter),
    (in_calendar('<C:comp-filter name="VALARM"/>'), errors.ValidFilter),
    (in_event('<C:comp-filter name="VALARM"><C:comp-filter name="VEVENT"/>'
              "</C:comp-filter>"), errors.ValidFilter),
    (in_calendar('<C:comp-filter name="STANDARD"/>'), errors.ValidFilter),
    (in_calendar('<C:comp-filter name="VCALENDAR"/>'), errors.ValidFilter),
    (in_calendar('<C:comp-filter name="VTODO"><C:comp-filter name="VTIMEZONE">'
                 "<C:is-not-defined/></C:comp-filter></C:comp-filter>"), errors.ValidFilter),
    (in_event('<C:prop-filter name="SUMMARY">' + tr("20060104T000000Z", None)
              + "</C:prop-filter>"), errors.ValidFilter),
    (in_event('<C:prop-filter name="rrule">' + tr("20060104T000000Z", None)
              + "</C:prop-filter>"), errors.ValidFilter),
])
def test_invalid_filters_raise_typed_errors(body: str, error: type[errors.DAVError]) -> None:
    with pytest.raises(error) as raised:
        flt(body)
    assert type(raised.value) is error


@pytest.mark.parametrize("body", [
    in_event('<C:comp-filter name="VALARM"><C:is-not-defined/></C:comp-filter>'),
    in_event('<C:prop-filter name="X-APPLE-TRAVEL-START">' + tr("20060104T000000Z", None)
             + "</C:prop-filter>"),
    in_event('<C:prop-filter name="X-MOZ-LASTACK">' + tr("20060104T000000Z", None)
             + "</C:prop-filter>"),
    in_event('<C:prop-filter name="SUMMARY"><C:is-not-defined/></C:prop-filter>'),
    in_event('<C:prop-filter name="DTSTAMP">' + tr("20060104T000000Z", None)
             + "</C:prop-filter>"),
    in_event('<C:comp-filter name="X-COMP"/>'),
    in_calendar('<C:comp-filter name="VTIMEZONE"><C:comp-filter name="STANDARD"/>'
                "</C:comp-filter>"),
    in_calendar('<C:comp-filter name="VAVAILABILITY"><C:comp-filter name="AVAILABLE"/>'
                "</C:comp-filter>"),
    in_calendar('<C:comp-filter name="X-WR-THING"/>'),
])
def test_possible_filters_still_parse(body: str) -> None:
    """What clients send: alarms not defined, time-ranges on X- properties (any value
    type), VTIMEZONE and VAVAILABILITY comp-filters."""
    flt(body)


def test_filter_errors_carry_their_precondition() -> None:
    with pytest.raises(errors.ValidFilter) as invalid:
        flt('<C:comp-filter name="VTODO"/>')
    assert invalid.value.status == 403
    assert b"valid-filter" in (invalid.value.to_xml() or b"")
    with pytest.raises(errors.SupportedCollation) as collation:
        flt(in_event('<C:prop-filter name="UID"><C:text-match collation="x">y'
                     "</C:text-match></C:prop-filter>"))
    assert collation.value.status == 403


def test_parse_requires_a_filter_element() -> None:
    with pytest.raises(errors.ValidFilter):
        parse_filter(etree.fromstring('<C:comp-filter xmlns:C="urn:ietf:params:xml:ns:caldav" '
                                      'name="VCALENDAR"/>'))


# -- component filters ------------------------------------------------------------------


def test_vcalendar_alone_matches_every_object() -> None:
    assert matching(in_calendar("")) == set(SAMPLES)


def test_vcalendar_is_not_defined_matches_nothing() -> None:
    assert matching('<C:comp-filter name="VCALENDAR"><C:is-not-defined/></C:comp-filter>') == set()


def test_comp_filter_selects_by_component_type() -> None:
    assert matching(in_event("")) == EVENTS
    assert matching(in_todo("")) == TODOS
    assert matching(in_calendar('<C:comp-filter name="VFREEBUSY"/>')) == {"abcd8"}
    assert matching(in_calendar('<C:comp-filter name="VJOURNAL"/>')) == set()


def test_comp_is_not_defined() -> None:
    body = in_calendar('<C:comp-filter name="VEVENT"><C:is-not-defined/></C:comp-filter>')
    assert matching(body) == set(SAMPLES) - EVENTS


def test_nested_comp_filter_for_alarms() -> None:
    assert matching(in_event('<C:comp-filter name="VALARM"/>')) == {"abcd1", "weekly"}
    assert matching(in_todo('<C:comp-filter name="VALARM"/>')) == {"abcd4", "abcd6"}
    no_alarm = in_todo('<C:comp-filter name="VALARM"><C:is-not-defined/></C:comp-filter>')
    assert matching(no_alarm) == {"abcd5", "abcd7"}


# -- time ranges on components (§9.9, through the recurrence module) ----------------------


def test_events_in_a_day_rfc_4791_7_8_1() -> None:
    # abcd2's 4 Jan instance moved to 19:00Z; abcd3 is 15:00Z on 4 Jan.
    assert matching(in_event(tr("20060104T000000Z", "20060105T000000Z"))) == {"abcd2", "abcd3"}


def test_an_overridden_instance_is_not_at_its_original_time() -> None:
    assert matching(in_event(tr("20060104T170000Z", "20060104T180000Z"))) == set()
    assert matching(in_event(tr("20060104T190000Z", "20060104T193000Z"))) == {"abcd2"}
    # The 5 Jan instance is the master's, at 17:00Z.
    assert matching(in_event(tr("20060105T170000Z", "20060105T173000Z"))) == {"abcd2"}


def test_recurrence_ends_after_count() -> None:
    assert matching(in_event(tr("20060107T000000Z", "20060108T000000Z"))) == set()


def test_open_ended_ranges() -> None:
    assert matching(in_event(tr("20060112T000000Z", None))) == {"weekly"}
    assert matching(in_event(tr(None, "20060102T150001Z"))) == {"abcd1", "weekly"}


def test_open_ended_rule_far_in_the_future() -> None:
    assert matching(in_event(tr("20100104T140000Z", "20100104T150000Z"))) == {"weekly"}


def test_exdate_removes_an_instance() -> None:
    # 23 Jan 09:00 EST = 14:00Z is excluded; 30 Jan is not.
    assert matching(in_event(tr("20060123T000000Z", "20060124T000000Z"))) == set()
    assert matching(in_event(tr("20060130T000000Z", "20060131T000000Z"))) == {"weekly"}


def test_time_range_and_properties_apply_to_the_same_instance() -> None:
    """The prop-filter is checked on the component that produced the overlapping instance."""
    bis = '<C:prop-filter name="SUMMARY"><C:text-match>bis</C:text-match></C:prop-filter>'
    # 3 Jan (master) and 4 Jan (override "Event #2 bis") overlap.
    assert matching(in_event(tr("20060103T000000Z", "20060105T000000Z") + bis)) == {"abcd2"}
    # Only the master's 3 Jan instance overlaps.
    assert matching(in_event(tr("20060103T000000Z", "20060104T000000Z") + bis)) == set()


def test_todo_time_ranges_follow_rfc_4791_9_9() -> None:
    # abcd6 runs 11:00Z 6 Jan - 00:00Z 7 Jan; abcd7 has no dates, so it always overlaps.
    assert matching(in_todo(tr("20060106T000000Z", "20060106T120000Z"))) == {"abcd6", "abcd7"}


def test_freebusy_time_range() -> None:
    body = in_calendar('<C:comp-filter name="VFREEBUSY">'
                       + tr("20060103T000000Z", "20060104T000000Z") + "</C:comp-filter>")
    assert matching(body) == {"abcd8"}
    later = in_calendar('<C:comp-filter name="VFREEBUSY">'
                        + tr("20060201T000000Z", "20060202T000000Z") + "</C:comp-filter>")
    assert matching(later) == set()


def test_floating_times_use_the_floating_zone() -> None:
    # floating: 10:00-11:00 local on 11 Jan; 15:00Z is 10:00 in New York.
    body = in_event(tr("20060111T150000Z", "20060111T153000Z"))
    assert matching(body) == set()
    assert matching(body, floating_tz=EASTERN) == {"floating"}
    assert {n for n, c in CALENDARS.items() if flt(body, default_tz=EASTERN).match(c)} == {
        "floating"}


def test_all_day_event_in_the_floating_zone() -> None:
    # 10 Jan all day: in New York it lasts until 05:00Z on 11 Jan.
    body = in_event(tr("20060111T020000Z", "20060111T030000Z"))
    assert matching(body) == set()
    assert matching(body, floating_tz=EASTERN) == {"allday"}


def test_timezone_element_supplies_the_floating_zone() -> None:
    text = ics("", timezone=True)
    element = etree.fromstring(
        '<C:timezone xmlns:C="urn:ietf:params:xml:ns:caldav"/>')
    element.text = text
    zone = parse_timezone_element(element)
    assert datetime(2006, 1, 11, 10, tzinfo=zone).astimezone(UTC) == datetime(
        2006, 1, 11, 15, tzinfo=UTC)
    body = in_event(tr("20060111T150000Z", "20060111T153000Z"))
    parsed = flt(body, floating_tz=zone)
    assert {n for n, c in CALENDARS.items() if parsed.match(c)} == {"floating"}


def test_timezone_element_must_hold_one_vtimezone() -> None:
    element = etree.fromstring('<C:timezone xmlns:C="urn:ietf:params:xml:ns:caldav"/>')
    element.text = ics("")
    with pytest.raises(errors.ValidCalendarData):
        parse_timezone_element(element)
    element.text = "not icalendar"
    with pytest.raises(errors.ValidCalendarData):
        parse_timezone_element(element)


# -- alarms (§9.9 VALARM) -------------------------------------------------------------------


def alarm_in(kind: str, start: str | None, end: str | None) -> str:
    return in_calendar(f'<C:comp-filter name="{kind}"><C:comp-filter name="VALARM">'
                       f"{tr(start, end)}</C:comp-filter></C:comp-filter>")


def test_todos_with_alarms_in_a_range_rfc_4791_7_8_5() -> None:
    assert matching(alarm_in("VTODO", "20060106T100000Z", "20060107T100000Z")) == {"abcd6"}
    assert matching(alarm_in("VTODO", "20060106T105000Z", "20060106T105001Z")) == {"abcd6"}
    assert matching(alarm_in("VTODO", "20060106T105001Z", "20060106T110000Z")) == set()


def test_absolute_alarm_trigger() -> None:
    assert matching(alarm_in("VTODO", "20060103T000000Z", "20060104T000000Z")) == {"abcd4"}


def test_alarm_related_to_end_with_repeats() -> None:
    # abcd1 ends 16:00Z and alarms at 16:00Z, 16:05Z, 16:10Z.
    assert matching(alarm_in("VEVENT", "20060102T160700Z", "20060102T161200Z")) == {"abcd1"}
    assert matching(alarm_in("VEVENT", "20060102T161100Z", "20060102T170000Z")) == set()


def test_alarms_of_recurring_instances() -> None:
    # The weekly alarm fires at 13:45Z each Monday, except on the moved
    # (alarm-less) 16 Jan instance and the excluded 23 Jan one.
    assert matching(alarm_in("VEVENT", "20060109T134000Z", "20060109T135000Z")) == {"weekly"}
    assert matching(alarm_in("VEVENT", "20060116T000000Z", "20060117T000000Z")) == set()
    assert matching(alarm_in("VEVENT", "20060123T000000Z", "20060124T000000Z")) == set()
    assert matching(alarm_in("VEVENT", "20060130T134000Z", "20060130T135000Z")) == {"weekly"}


# -- property filters ---------------------------------------------------------------------


def summary(text: str, **attrs: str) -> str:
    attributes = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attrs.items())
    return (f'<C:prop-filter name="SUMMARY"><C:text-match{attributes}>{text}</C:text-match>'
            "</C:prop-filter>")


def test_prop_filter_existence() -> None:
    assert matching(in_event('<C:prop-filter name="ATTENDEE"/>')) == {"abcd3"}
    assert matching(in_event('<C:prop-filter name="RRULE"/>')) == {"abcd2", "weekly"}


def test_prop_is_not_defined_pending_todos_rfc_4791_7_8_9() -> None:
    body = in_todo('<C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter>'
                   '<C:prop-filter name="STATUS">'
                   '<C:text-match negate-condition="yes">CANCELLED</C:text-match>'
                   "</C:prop-filter>")
    assert matching(body) == {"abcd4", "abcd6"}


def test_text_match_ascii_casemap_is_the_default() -> None:
    assert matching(in_event(summary("event #1"))) == {"abcd1"}
    assert matching(in_event(summary("EVENT #"))) == {"abcd1", "abcd2", "abcd3"}


def test_text_match_octet_is_case_sensitive() -> None:
    assert matching(in_event(summary("event #1", collation="i;octet"))) == set()
    assert matching(in_event(summary("Event #1", collation="i;octet"))) == {"abcd1"}


def test_text_match_unicode_casemap() -> None:
    # ascii-casemap leaves non-ASCII letters alone; unicode-casemap folds them
    # and compares decomposed forms (RFC 5051).
    assert matching(in_event(summary("DÉJEUNER"))) == set()
    assert matching(in_event(summary("DÉJEUNER", collation="i;unicode-casemap"))) == {"floating"}
    decomposed = "de\u0301jeuner"
    assert matching(in_event(summary(decomposed, collation="i;unicode-casemap"))) == {
        "floating"}


def test_text_match_negation() -> None:
    assert matching(in_event(summary("event", negate_condition="yes"))) == {
        "weekly", "allday", "floating"}


def test_negation_requires_the_property() -> None:
    body = in_calendar('<C:comp-filter name="VEVENT"><C:prop-filter name="LOCATION">'
                       '<C:text-match negate-condition="yes">x</C:text-match>'
                       "</C:prop-filter></C:comp-filter>")
    assert matching(body) == set()


def test_match_types() -> None:
    assert matching(in_event(summary("holiday", match_type="equals"))) == {"allday"}
    assert matching(in_event(summary("holi", match_type="equals"))) == set()
    assert matching(in_event(summary("staff", match_type="starts-with"))) == {"weekly"}
    assert matching(in_event(summary("(moved)", match_type="ends-with"))) == {"weekly"}
    assert matching(in_event(summary("meeting", match_type="ends-with"))) == {"weekly"}


def test_text_match_on_each_value_of_a_list() -> None:
    categories = ('<C:prop-filter name="CATEGORIES"><C:text-match match-type="equals">{}'
                  "</C:text-match></C:prop-filter>")
    assert matching(in_event(categories.format("office"))) == {"allday"}
    assert matching(in_event(categories.format("holiday,office"))) == {"allday"}
    assert matching(in_event(categories.format("home"))) == set()


def test_text_match_on_escaped_text_uses_the_unescaped_value() -> None:
    cal = icalendar.Calendar.from_ical(ics(
        "BEGIN:VEVENT\nUID:x\nDTSTAMP:20060206T001121Z\nDTSTART:20060102T100000Z\n"
        "SUMMARY:Lunch\\, then coffee\nEND:VEVENT\n"))
    assert flt(in_event(summary("lunch, then"))).match(cal)
    assert not flt(in_event(summary("lunch\\,"))).match(cal)


def test_text_match_on_the_vcalendar_level() -> None:
    body = in_calendar('<C:prop-filter name="PRODID"><C:text-match>example corp'
                       "</C:text-match></C:prop-filter>")
    assert matching(body) == set(SAMPLES)


def test_param_filter_needs_action_for_lisa_rfc_4791_7_8_6() -> None:
    def attendee(who: str, partstat: str) -> str:
        return in_event(f'<C:prop-filter name="ATTENDEE"><C:text-match>{who}</C:text-match>'
                        f'<C:param-filter name="PARTSTAT"><C:text-match>{partstat}'
                        "</C:text-match></C:param-filter></C:prop-filter>")

    assert matching(attendee("mailto:lisa@example.com", "NEEDS-ACTION")) == {"abcd3"}
    # Text and parameters must hold on the same ATTENDEE.
    assert matching(attendee("mailto:cyrus@example.com", "NEEDS-ACTION")) == set()
    assert matching(attendee("mailto:cyrus@example.com", "ACCEPTED")) == {"abcd3"}


def test_param_filter_existence_and_absence() -> None:
    role = in_event('<C:prop-filter name="ATTENDEE"><C:param-filter name="ROLE"/>'
                    "</C:prop-filter>")
    assert matching(role) == {"abcd3"}
    no_role = in_event('<C:prop-filter name="ATTENDEE"><C:param-filter name="ROLE">'
                       "<C:is-not-defined/></C:param-filter></C:prop-filter>")
    assert matching(no_role) == {"abcd3"}  # lisa has none
    no_tzid = in_event('<C:prop-filter name="DTSTART"><C:param-filter name="TZID">'
                       "<C:is-not-defined/></C:param-filter></C:prop-filter>")
    assert matching(no_tzid) == {"allday", "floating"}


def test_param_filter_negated_text() -> None:
    body = in_event('<C:prop-filter name="ATTENDEE"><C:param-filter name="PARTSTAT">'
                    '<C:text-match negate-condition="yes">accepted</C:text-match>'
                    "</C:param-filter></C:prop-filter>")
    assert matching(body) == {"abcd3"}
    only_cyrus = in_event('<C:prop-filter name="ATTENDEE"><C:text-match>cyrus</C:text-match>'
                          '<C:param-filter name="PARTSTAT">'
                          '<C:text-match negate-condition="yes">accepted</C:text-match>'
                          "</C:param-filter></C:prop-filter>")
    assert matching(only_cyrus) == set()


def test_property_time_range_dtstamp() -> None:
    body = in_event('<C:prop-filter name="DTSTAMP">'
                    + tr("20060206T001200Z", "20060207T000000Z") + "</C:prop-filter>")
    assert matching(body) == {"abcd3"}


def test_property_time_range_is_start_inclusive_end_exclusive() -> None:
    def completed(start: str, end: str) -> str:
        return in_todo('<C:prop-filter name="COMPLETED">' + tr(start, end) + "</C:prop-filter>")

    assert matching(completed("20060105T160000Z", "20060105T160001Z")) == {"abcd5"}
    assert matching(completed("20060105T150000Z", "20060105T160000Z")) == set()


def test_property_time_range_on_a_date_covers_the_day() -> None:
    body = in_todo('<C:prop-filter name="DUE">'
                   + tr("20060104T230000Z", "20060105T000000Z") + "</C:prop-filter>")
    assert matching(body) == {"abcd4"}


def test_property_time_range_on_an_x_property_holding_text_never_matches() -> None:
    """RFC 4791 §9.9 compares dates only; an X- property's text is none."""
    body = in_event('<C:prop-filter name="X-ABC-GUID">'
                    + tr("20000101T000000Z", None) + "</C:prop-filter>")
    assert matching(body) == set()


def test_property_time_range_on_freebusy_periods() -> None:
    body = in_calendar('<C:comp-filter name="VFREEBUSY"><C:prop-filter name="FREEBUSY">'
                       + tr("20060102T110000Z", "20060102T113000Z")
                       + "</C:prop-filter></C:comp-filter>")
    assert matching(body) == {"abcd8"}


def test_filter_objects_are_comparable_values() -> None:
    assert flt(in_event("")) == flt(in_event(""))
    assert flt(in_event("")).root == CompFilter("VCALENDAR", comp_filters=(CompFilter("VEVENT"),))
    assert PropFilter("UID").text_match is None


# -- index queries and paranoid mode ---------------------------------------------------------

START = datetime(2006, 1, 4, tzinfo=UTC)
END = datetime(2006, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(("body", "expected"), [
    (in_calendar(""), IndexQuery(None, None, None, exact=True)),
    (in_event(""), IndexQuery("VEVENT", None, None, exact=True)),
    (in_event(tr("20060104T000000Z", "20060105T000000Z")),
     IndexQuery("VEVENT", START, END, exact=True)),
    (in_todo(tr("20060104T000000Z", None)), IndexQuery("VTODO", START, None, exact=True)),
    (in_event(tr("20060104T000000Z", "20060105T000000Z") + summary("x")),
     IndexQuery("VEVENT", START, END, exact=False)),
    (in_event('<C:comp-filter name="VALARM"/>'), IndexQuery("VEVENT", None, None, exact=False)),
    (in_calendar('<C:comp-filter name="VEVENT"><C:is-not-defined/></C:comp-filter>'),
     IndexQuery(None, None, None, exact=False)),
    (in_calendar('<C:prop-filter name="PRODID"/>'), IndexQuery(None, None, None, exact=False)),
    (in_calendar('<C:comp-filter name="VTODO"><C:is-not-defined/></C:comp-filter>'
                 '<C:comp-filter name="VEVENT">' + tr(None, "20060105T000000Z")
                 + "</C:comp-filter>"),
     IndexQuery("VEVENT", None, END, exact=False)),
    ('<C:comp-filter name="VCALENDAR"><C:is-not-defined/></C:comp-filter>',
     IndexQuery(None, None, None, exact=False)),
])
def test_index_query(body: str, expected: IndexQuery) -> None:
    assert flt(body).index_query() == expected


PARANOID_FILTERS = [
    in_calendar(""),
    in_event(""),
    in_todo(""),
    in_calendar('<C:comp-filter name="VFREEBUSY">' + tr("20060101T000000Z", None)
                + "</C:comp-filter>"),
    in_event(tr("20060104T000000Z", "20060105T000000Z")),
    in_event(tr("20060104T170000Z", "20060104T180000Z")),
    in_event(tr("20060110T000000Z", None)),
    in_event(tr(None, "20060103T000000Z")),
    in_event(tr("20060103T000000Z", "20060105T000000Z") + summary("bis")),
    in_event(tr("20060111T020000Z", "20060111T160000Z")),
    in_todo(tr("20060106T000000Z", "20060106T120000Z")),
    in_todo(tr("20060101T000000Z", "20060201T000000Z")
            + '<C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter>'),
    alarm_in("VTODO", "20060106T100000Z", "20060107T100000Z"),
    alarm_in("VEVENT", "20060109T134000Z", "20060109T135000Z"),
    in_event(summary("event", negate_condition="yes")),
    in_calendar('<C:comp-filter name="VEVENT"><C:is-not-defined/></C:comp-filter>'),
    in_calendar('<C:prop-filter name="VERSION"><C:text-match>2.0</C:text-match>'
                "</C:prop-filter>"),
]


@pytest.mark.parametrize("floating_tz", [UTC, EASTERN], ids=["utc", "eastern"])
@pytest.mark.parametrize("body", PARANOID_FILTERS)
def test_paranoid_index_never_drops_a_match(body: str, floating_tz: ZoneInfo) -> None:
    """The store's prefilter (component type + time range over recurrence instances)
    selects a superset of what match() accepts, and exactly that set when exact."""
    parsed = flt(body)
    query = parsed.index_query()
    for name, cal in CALENDARS.items():
        selected = query.may_match(cal, floating_tz=floating_tz)
        matched = parsed.verify_index(cal, selected=selected, floating_tz=floating_tz)
        assert not matched or selected, name
        if query.exact:
            assert matched == selected, name


def test_paranoid_mode_reports_disagreement() -> None:
    parsed = flt(in_event(tr("20060104T000000Z", "20060105T000000Z")))
    with pytest.raises(IndexMismatch):
        parsed.verify_index(CALENDARS["abcd3"], selected=False)
    with pytest.raises(IndexMismatch):
        parsed.verify_index(CALENDARS["abcd1"], selected=True)  # exact, yet wrong
    assert parsed.verify_index(CALENDARS["abcd3"], selected=True)
    inexact = flt(in_event(tr("20060104T000000Z", "20060105T000000Z") + summary("x")))
    assert not inexact.verify_index(CALENDARS["abcd3"], selected=True)  # recheck rejects it


def test_may_match_follows_the_index_semantics() -> None:
    query = IndexQuery("VEVENT", START, END, exact=True)
    assert query.may_match(CALENDARS["abcd3"])
    assert not query.may_match(CALENDARS["abcd1"])
    assert not query.may_match(CALENDARS["abcd4"])
    assert IndexQuery(None, None, None, exact=True).may_match(CALENDARS["abcd4"])
    assert query.inexact() == IndexQuery("VEVENT", START, END, exact=False)


def test_property_time_range_on_a_list_of_dates() -> None:
    # weekly's EXDATE is 23 Jan 09:00 EST = 14:00Z.
    body = in_event('<C:prop-filter name="EXDATE">'
                    + tr("20060123T140000Z", "20060123T140001Z") + "</C:prop-filter>")
    assert matching(body) == {"weekly"}


def test_ranges_at_the_edges_of_time_do_not_crash() -> None:
    assert matching(alarm_in("VEVENT", "00010101T000000Z", "00010102T000000Z")) == set()
    assert matching(alarm_in("VTODO", "99991230T000000Z", None)) == set()
    due = in_todo('<C:prop-filter name="DUE">' + tr("99991230T000000Z", None)
                  + "</C:prop-filter>")
    assert matching(due) == set()
    assert matching(in_event(tr("99991230T000000Z", None))) == set()
