"""Validation of PUT bodies: RFC 4791 §4.1 and the §5.3.2.1 preconditions."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from typing import TypeVar

import pytest

from caldavd.caldav.ical import (
    Limits,
    ObjectInfo,
    check_media_type,
    check_scheduling_object,
    check_size,
    parse_calendar,
    parse_text,
    serialize,
    validate_calendar_object,
    validate_object,
    without_repeated_timezones,
)
from caldavd.dav.errors import (
    DAVError,
    MaxAttendeesPerInstance,
    MaxDateTime,
    MaxInstances,
    MaxResourceSize,
    MinDateTime,
    SameOrganizerInAllComponents,
    SupportedCalendarComponent,
    SupportedCalendarData,
    ValidCalendarData,
    ValidCalendarObjectResource,
)

from .samples import LIMITS, NEW_YORK_VTIMEZONE, cal, component, ics, utc, vevent, vtodo

Refusal = TypeVar("Refusal", bound=DAVError)

SIMPLE = ics(vevent("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z",
                    "SUMMARY:Lunch", "ORGANIZER;CN=Org:mailto:org@example.com",
                    "ATTENDEE:mailto:a@example.com", "ATTENDEE:mailto:b@example.com"))


def validate(*components: str, limits: Limits = LIMITS) -> ObjectInfo:
    return validate_object(cal(*components), limits)


# -- supported-calendar-data (RFC 4791 §5.3.2.1) ------------------------------------

@pytest.mark.parametrize("content_type", [
    None,
    "text/calendar",
    "text/calendar; charset=utf-8",
    'Text/Calendar; charset="UTF-8"; version=2.0',
    "text/calendar;charset=utf8;component=VEVENT",
])
def test_media_type_accepted(content_type: str) -> None:
    """RFC 4791 §5.3.2.1: text/calendar (iCalendar 2.0, UTF-8) is supported."""
    check_media_type(content_type)


@pytest.mark.parametrize("content_type", [
    "application/json",
    "text/plain",
    "text/calendar; charset=iso-8859-1",
    "text/calendar; version=1.0",
    "",
])
def test_media_type_refused(content_type: str) -> None:
    """RFC 4791 §5.3.2.1 supported-calendar-data: anything else is refused with 403."""
    with pytest.raises(SupportedCalendarData) as info:
        check_media_type(content_type)
    assert info.value.status == 403


# -- max-resource-size (RFC 4791 §5.2.5) --------------------------------------------

def test_size_limit() -> None:
    """RFC 4791 §5.3.2.1 max-resource-size: a larger body is refused."""
    limits = dataclasses.replace(LIMITS, max_resource_size=100)
    check_size(100, limits)
    with pytest.raises(MaxResourceSize) as info:
        check_size(101, limits)
    assert info.value.status == 403
    check_size(10**9, dataclasses.replace(LIMITS, max_resource_size=0))


def test_validate_calendar_object_checks_everything() -> None:
    """RFC 4791 §5.3.2.1: media type, size, then iCalendar validity, then §4.1 rules."""
    with pytest.raises(SupportedCalendarData):
        validate_calendar_object(SIMPLE, "text/html", LIMITS)
    with pytest.raises(MaxResourceSize):
        validate_calendar_object(SIMPLE, "text/calendar",
                                 dataclasses.replace(LIMITS, max_resource_size=10))
    parsed, info = validate_calendar_object(SIMPLE, "text/calendar; charset=utf-8", LIMITS)
    assert info.uid == "uid-1"
    assert parsed.walk("VEVENT")[0]["SUMMARY"] == "Lunch"


# -- valid-calendar-data (RFC 4791 §5.3.2.1, RFC 5545) -------------------------------

def test_parse_valid_and_serialize_round_trip() -> None:
    """RFC 5545 §3.4: one VCALENDAR; serialising keeps the content."""
    parsed = parse_calendar(SIMPLE)
    again = parse_calendar(serialize(parsed))
    assert again.walk("VEVENT")[0]["UID"] == "uid-1"
    assert serialize(parsed).startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")


def test_prodid_missing_is_tolerated() -> None:
    """RFC 5545 §3.6 requires PRODID; real clients omit it, so it is tolerated."""
    parse_calendar(ics(vevent("DTSTART:20240105T100000Z"), head="VERSION:2.0\n"))


def test_lf_line_endings_and_bom_are_tolerated() -> None:
    """RFC 5545 §3.1 requires CRLF; bare LF and a UTF-8 BOM are accepted."""
    body = b"\xef\xbb\xbf" + SIMPLE.replace(b"\r\n", b"\n")
    assert parse_calendar(body).walk("VEVENT")[0]["UID"] == "uid-1"


@pytest.mark.parametrize(("body", "fragment"), [
    (b"", "no VCALENDAR"),
    (b"\xff\xfeBEGIN:VCALENDAR", "not UTF-8"),
    (SIMPLE.replace(b"Lunch", b"Lu\x00nch"), "line 9: control character U+0000"),
    (SIMPLE.replace(b"Lunch", b"Lu\x0bnch"), "line 9: control character U+000B"),
    (b"VERSION:2.0\r\n", "line 1: expected BEGIN:VCALENDAR"),
    (b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n", "root must be VCALENDAR"),
    (SIMPLE.replace(b"END:VCALENDAR\r\n", b""), "never closed"),
    (SIMPLE.replace(b"END:VEVENT", b"END:VTODO"), "line 13: END:VTODO closes BEGIN:VEVENT"),
    (SIMPLE + b"X-TRAILER:1\r\n", "content after END:VCALENDAR"),
    (SIMPLE + SIMPLE, "content after END:VCALENDAR"),
    (SIMPLE.replace(b"SUMMARY:Lunch", b"SUMMARY Lunch"), "line 9: content line without ':'"),
    (b" folded\r\n" + SIMPLE, "line 1: continuation line"),
    (SIMPLE.replace(b"DTEND:20240105T110000Z", b"DTEND:tomorrow"), "DTEND"),
    (SIMPLE.replace(b"VERSION:2.0", b"VERSION:1.0"), "VERSION:2.0"),
    (SIMPLE.replace(b"VERSION:2.0\r\n", b""), "VERSION:2.0"),
    (SIMPLE.replace(b"VERSION:2.0", b"VERSION:2.0\r\nCALSCALE:JULIAN"), "GREGORIAN"),
    (ics(vtodo("DUE:someday")), "not valid iCalendar"),
    (ics(vevent("DTSTART;TZID=\"broken:20240101T000000")), "not valid iCalendar"),
    (ics("BEGIN:VTIMEZONE\nTZID:Nowhere\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
         "END:STANDARD\nEND:VTIMEZONE\n", vevent("DTSTART;TZID=Nowhere:20240101T000000")),
     "not valid iCalendar"),
])
def test_invalid_calendar_data(body: bytes, fragment: str) -> None:
    """RFC 4791 §5.3.2.1 valid-calendar-data: the message says what is wrong and where."""
    with pytest.raises(ValidCalendarData) as info:
        parse_calendar(body)
    assert fragment in info.value.message
    assert info.value.status == 403


def test_broken_x_property_is_tolerated() -> None:
    """RFC 5545 §3.8.8.2: X- properties are the client's business; a bad value is kept."""
    parse_calendar(ics(vevent("DTSTART:20240105T100000Z", "X-WHEN;VALUE=DATE:soon")))


def _garbage_bodies() -> Iterator[bytes]:
    rng = random.Random(4791)
    base = ics(NEW_YORK_VTIMEZONE, vevent(
        "DTSTART;TZID=Custom Eastern:20240105T100000", "DURATION:PT1H",
        "RRULE:FREQ=WEEKLY;BYDAY=FR;UNTIL=20240301T000000Z",
        "EXDATE;TZID=Custom Eastern:20240112T100000",
        "RDATE;VALUE=PERIOD:20240110T100000Z/PT2H",
        "ATTENDEE;CN=\"A, B\":mailto:a@example.com"))
    for cut in range(0, len(base), 7):
        yield base[:cut]
    alphabet = b":;=,/\r\n -\x00\xffZTP9"
    for _ in range(400):
        mutated = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.choice(alphabet)
        yield bytes(mutated)
    for line in (b"RRULE:FREQ=DAILY;COUNT=-1", b"RRULE:FREQ=DAILY;BYDAY=9XX",
                 b"RRULE:FREQ=MONTHLY;BYMONTHDAY=0", b"RRULE:FREQ=YEARLY;UNTIL=2024",
                 b"RRULE:FREQ=DAILY;INTERVAL=0", b"RDATE:20240101T000000Z/junk",
                 b"RECURRENCE-ID:", b"DURATION:-P1D", b"DTEND;VALUE=DATE:20240101",
                 b"RRULE:FREQ=SECONDLY;BYSETPOS=2", b"RRULE:FREQ=DAILY;RSCALE=HEBREW"):
        yield base.replace(b"DURATION:PT1H", line)


def test_malformed_input_raises_only_typed_errors() -> None:
    """RFC 4791 §5.3.2.1: whatever the body, the answer is a precondition error, not a crash."""
    accepted = refused = 0
    for body in _garbage_bodies():
        try:
            validate_calendar_object(body, "text/calendar", LIMITS)
        except DAVError:
            refused += 1
        else:
            accepted += 1
    assert refused > 100
    assert accepted > 0


# -- valid-calendar-object-resource (RFC 4791 §4.1) -----------------------------------

def test_object_info() -> None:
    """RFC 4791 §4.1: one UID; the store keeps UID, type and scheduling fields."""
    info = validate_object(parse_calendar(SIMPLE), LIMITS)
    assert info.uid == "uid-1"
    assert info.component_type == "VEVENT"
    assert info.organizer == "mailto:org@example.com"
    assert info.attendees == ("mailto:a@example.com", "mailto:b@example.com")
    assert (info.has_master, info.has_recurrence, info.unbounded) == (True, False, False)
    assert info.dtstamp == utc(2024, 1, 1)
    assert info.sequence == 0


def test_recurring_object_info() -> None:
    """RFC 4791 §4.1: a master and its overrides share the resource."""
    info = validate(
        vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=WEEKLY", "SEQUENCE:2"),
        vevent("RECURRENCE-ID:20240112T100000Z", "DTSTART:20240112T120000Z",
               "ATTENDEE:mailto:c@example.com"))
    assert (info.has_master, info.has_recurrence, info.unbounded) == (True, True, True)
    assert info.recurrence_ids == (utc(2024, 1, 12, 10),)
    assert info.attendees == ("mailto:c@example.com",)
    assert info.sequence == 2


def test_overrides_without_master_are_allowed() -> None:
    """RFC 4791 §4.1 allows a resource holding only overridden instances (invitations)."""
    info = validate(vevent("RECURRENCE-ID:20240112T100000Z", "DTSTART:20240112T120000Z"))
    assert (info.has_master, info.has_recurrence) == (False, True)


def _refused(error: type[Refusal], *components: str, fragment: str = "",
             limits: Limits = LIMITS) -> Refusal:
    with pytest.raises(error) as info:
        validate(*components, limits=limits)
    assert fragment in info.value.message
    return info.value


def test_method_is_refused() -> None:
    """RFC 4791 §4.1: calendar object resources MUST NOT specify METHOD."""
    body = ics(vevent("DTSTART:20240105T100000Z"),
               head="VERSION:2.0\nPRODID:x\nMETHOD:REQUEST\n")
    with pytest.raises(ValidCalendarObjectResource, match="METHOD"):
        validate_object(parse_calendar(body), LIMITS)


def test_one_component_type() -> None:
    """RFC 4791 §4.1: a single type of calendar component, VTIMEZONEs aside."""
    _refused(ValidCalendarObjectResource, vevent("DTSTART:20240105T100000Z"),
             vtodo("DUE:20240105T100000Z"), fragment="VEVENT, VTODO")


def test_no_component_is_refused() -> None:
    """RFC 4791 §4.1: the resource holds a calendar component."""
    _refused(ValidCalendarObjectResource, NEW_YORK_VTIMEZONE, fragment="no calendar component")


def test_unsupported_component() -> None:
    """RFC 4791 §5.3.2.1 supported-calendar-component: 403 for a type the calendar refuses."""
    limits = dataclasses.replace(LIMITS, supported_components=frozenset({"VEVENT"}))
    error = _refused(SupportedCalendarComponent, vtodo("DUE:20240105T100000Z"), limits=limits)
    assert error.status == 403


def test_one_uid() -> None:
    """RFC 4791 §4.1: all components in one resource share one UID."""
    _refused(ValidCalendarObjectResource,
             vevent("DTSTART:20240105T100000Z"),
             vevent("RECURRENCE-ID:20240112T100000Z", "DTSTART:20240112T100000Z", uid="other"),
             fragment="one UID")
    _refused(ValidCalendarObjectResource, vevent("DTSTART:20240105T100000Z", uid=None),
             fragment="without UID")


def test_one_master_and_unique_recurrence_ids() -> None:
    """RFC 4791 §4.1 / RFC 5545 §3.8.4.4: one master, each RECURRENCE-ID once."""
    _refused(ValidCalendarObjectResource, vevent("DTSTART:20240105T100000Z"),
             vevent("DTSTART:20240106T100000Z"), fragment="more than one")
    override = vevent("RECURRENCE-ID:20240112T100000Z", "DTSTART:20240112T120000Z")
    _refused(ValidCalendarObjectResource,
             vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=WEEKLY"), override, override,
             fragment="used twice")


def test_same_recurrence_id_in_two_zones_is_a_duplicate() -> None:
    """RFC 5545 §3.8.4.4: RECURRENCE-IDs are compared as instants."""
    _refused(ValidCalendarObjectResource,
             vevent("DTSTART;TZID=Europe/Paris:20240105T100000", "RRULE:FREQ=WEEKLY"),
             vevent("RECURRENCE-ID;TZID=Europe/Paris:20240112T100000",
                    "DTSTART:20240112T120000Z"),
             vevent("RECURRENCE-ID:20240112T090000Z", "DTSTART:20240112T130000Z"),
             fragment="used twice")


def test_tzid_needs_vtimezone_unless_iana() -> None:
    """RFC 5545 §3.2.19: a TZID needs a VTIMEZONE; IANA names are accepted without one."""
    validate(vevent("DTSTART;TZID=America/New_York:20240105T100000"))
    validate(NEW_YORK_VTIMEZONE, vevent("DTSTART;TZID=Custom Eastern:20240105T100000"))
    _refused(ValidCalendarObjectResource,
             vevent("DTSTART;TZID=Custom Eastern:20240105T100000"),
             fragment="Custom Eastern")
    _refused(ValidCalendarObjectResource,
             vevent("DTSTART:20240105T100000Z", "EXDATE;TZID=Mars/Olympus:20240105T100000"),
             fragment="Mars/Olympus")

# A copy of NEW_YORK_VTIMEZONE as another client writes it: properties in another
# order, a line folded, DAYLIGHT before STANDARD.
NEW_YORK_REORDERED = """BEGIN:VTIMEZONE
TZID:Custom Eastern
BEGIN:DAYLIGHT
TZOFFSETTO:-0400
TZOFFSETFROM:-0500
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;
 BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE
"""
EASTERN = vevent("DTSTART;TZID=Custom Eastern:20240105T100000")


def test_a_vtimezone_repeated_exactly_is_kept_once() -> None:
    """khal writes one VTIMEZONE per VEVENT: exact copies (whatever the property order
    and folding) are one definition; the stored text keeps the first, as written."""
    body = ics(NEW_YORK_VTIMEZONE, EASTERN, NEW_YORK_REORDERED, vevent(
        "RECURRENCE-ID;TZID=Custom Eastern:20240112T100000",
        "DTSTART;TZID=Custom Eastern:20240112T110000"), NEW_YORK_VTIMEZONE).decode()
    parsed = parse_text(body)
    validate_object(parsed, LIMITS)  # the copies are no error
    text = without_repeated_timezones(body, parsed)
    assert text.count("BEGIN:VTIMEZONE") == 1 and text.count("BEGIN:VEVENT") == 2
    assert text == ics(NEW_YORK_VTIMEZONE, EASTERN, vevent(
        "RECURRENCE-ID;TZID=Custom Eastern:20240112T100000",
        "DTSTART;TZID=Custom Eastern:20240112T110000")).decode()
    assert [c.name for c in parsed.subcomponents] == ["VTIMEZONE", "VEVENT", "VEVENT"]
    assert parse_text(text).to_ical() == parsed.to_ical()
    single = ics(NEW_YORK_VTIMEZONE, EASTERN).decode()
    assert without_repeated_timezones(single, parse_text(single)) is single


def test_differing_definitions_of_one_tzid_are_refused() -> None:
    """RFC 5545 §3.6.5: each VTIMEZONE "MUST represent a unique time zone definition"."""
    other = NEW_YORK_VTIMEZONE.replace("TZOFFSETTO:-0500", "TZOFFSETTO:-0600")
    _refused(ValidCalendarData, NEW_YORK_VTIMEZONE, other, EASTERN,
             fragment="VTIMEZONE Custom Eastern is defined twice, differently")
    body = ics(NEW_YORK_VTIMEZONE, EASTERN, other).decode()
    with pytest.raises(ValidCalendarData):
        without_repeated_timezones(body, parse_text(body))


@pytest.mark.parametrize(("lines", "fragment"), [
    (("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z", "DURATION:PT1H"),
     "both DTEND and DURATION"),
    (("DTSTART:20240105T100000Z", "DTEND:20240105T090000Z"), "before DTSTART"),
    (("DTSTART;TZID=Europe/Paris:20240105T100000", "DTEND:20240105T085959Z"),
     "before DTSTART"),
    (("DTSTART;VALUE=DATE:20240105", "DTEND:20240106T000000Z"), "both DATE"),
    (("SUMMARY:no start",), "without DTSTART"),
    (("DTSTART:20240105T100000Z", "DURATION:-PT1H"), "negative DURATION"),
])
def test_event_time_rules(lines: tuple[str, ...], fragment: str) -> None:
    """RFC 5545 §3.6.1, §3.8.2.2: DTSTART required, DTEND xor DURATION, DTEND not earlier."""
    _refused(ValidCalendarObjectResource, vevent(*lines), fragment=fragment)


def test_zero_length_event_is_accepted() -> None:
    """RFC 4791 §9.9 covers DTEND equal to DTSTART; real clients send it."""
    validate(vevent("DTSTART:20240105T100000Z", "DTEND:20240105T100000Z"))


def test_todo_time_rules() -> None:
    """RFC 5545 §3.6.2: DUE xor DURATION; DURATION and recurrence need DTSTART."""
    _refused(ValidCalendarObjectResource,
             vtodo("DTSTART:20240105T100000Z", "DUE:20240106T100000Z", "DURATION:PT1H"),
             fragment="both DUE and DURATION")
    _refused(ValidCalendarObjectResource, vtodo("DURATION:PT1H"), fragment="no DTSTART")
    _refused(ValidCalendarObjectResource, vtodo("RRULE:FREQ=DAILY"), fragment="no DTSTART")
    validate(vtodo("DUE:20240105T100000Z"))
    validate(vtodo())


@pytest.mark.parametrize(("rule", "fragment"), [
    ("FREQ=MONTHLY;BYMONTHDAY=40", "out of range"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never produces"),
    ("FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=1", "never produces"),
    ("FREQ=SECONDLY;BYSETPOS=2", "BYSETPOS"),
    ("FREQ=DAILY;RSCALE=HEBREW", "RSCALE"),
    ("FREQ=DAILY;COUNT=0", "COUNT"),
])
def test_bad_rules_are_refused_quickly(rule: str, fragment: str) -> None:
    """RFC 5545 §3.3.10: rules outside the grammar, or that never match, are refused fast."""
    started = time.monotonic()
    _refused(ValidCalendarData, vevent("DTSTART:20240105T100000Z", f"RRULE:{rule}"),
             fragment=fragment)
    assert time.monotonic() - started < 2


# -- limits (RFC 4791 §5.2.6-§5.2.9) -------------------------------------------------

def test_max_attendees_per_instance() -> None:
    """RFC 4791 §5.3.2.1 max-attendees-per-instance: counted per component."""
    limits = dataclasses.replace(LIMITS, max_attendees_per_instance=2)
    two = ("ATTENDEE:mailto:a@example.com", "ATTENDEE:mailto:b@example.com")
    validate(vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY", *two),
             vevent("RECURRENCE-ID:20240106T100000Z", "DTSTART:20240106T100000Z",
                    "ATTENDEE:mailto:c@example.com", "ATTENDEE:mailto:d@example.com"),
             limits=limits)
    error = _refused(MaxAttendeesPerInstance,
                     vevent("DTSTART:20240105T100000Z", *two,
                            "ATTENDEE:mailto:c@example.com"), limits=limits)
    assert error.status == 403


def test_min_and_max_date_time() -> None:
    """RFC 4791 §5.3.2.1 min-date-time / max-date-time apply to the object's dates."""
    _refused(MinDateTime, vevent("DTSTART:18991231T230000Z"))
    _refused(MaxDateTime, vevent("DTSTART:20991231T230000Z", "DTEND:21000101T010000Z"))
    _refused(MaxDateTime, vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=YEARLY",
                                 "RDATE:21010101T000000Z"))
    _refused(MaxDateTime, vtodo("DUE;VALUE=DATE:21000102"))
    validate(vevent("DTSTART;VALUE=DATE:20991231"))  # its DTEND default is 2100-01-01 exactly


def test_max_instances_bounded_rule() -> None:
    """RFC 4791 §5.3.2.1 max-instances: a bounded set larger than the limit is refused."""
    limits = dataclasses.replace(LIMITS, max_instances=10)
    validate(vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY;COUNT=10"), limits=limits)
    error = _refused(MaxInstances, vevent("DTSTART:20240105T100000Z",
                                          "RRULE:FREQ=DAILY;COUNT=11"), limits=limits)
    assert error.status == 403
    _refused(MaxInstances, vevent("DTSTART:20240105T100000Z",
                                  "RRULE:FREQ=DAILY;UNTIL=20240115T100000Z",
                                  "RDATE:20250101T000000Z"), limits=limits)


def test_max_instances_unbounded_rule_counts_one_horizon() -> None:
    """RFC 4791 §5.2.8: an unbounded rule is allowed; its density within a year is limited."""
    limits = dataclasses.replace(LIMITS, max_instances=400)
    info = validate(vevent("DTSTART:19900105T100000Z", "RRULE:FREQ=DAILY"), limits=limits)
    assert info.unbounded
    _refused(MaxInstances, vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=HOURLY"),
             limits=limits)


def test_limits_of_zero_are_disabled() -> None:
    """A limit of 0 means the collection does not advertise that limit."""
    limits = dataclasses.replace(LIMITS, max_instances=0, max_attendees_per_instance=0)
    validate(vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=MINUTELY;COUNT=100000",
                    *(f"ATTENDEE:mailto:{n}@example.com" for n in range(20))), limits=limits)


def test_vjournal_and_vfreebusy_objects() -> None:
    """RFC 4791 §4.1 applies to every component type a calendar stores."""
    assert validate(component("VJOURNAL", "DTSTART;VALUE=DATE:20240105")).component_type \
        == "VJOURNAL"
    info = validate(component("VFREEBUSY", "DTSTART:20240105T000000Z",
                              "DTEND:20240106T000000Z",
                              "FREEBUSY:20240105T100000Z/PT1H"))
    assert info.component_type == "VFREEBUSY"


# -- scheduling object resources (RFC 6638 §3.2.4) -------------------------------------

def test_organizers_of_every_component_once_each() -> None:
    info = validate(vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY",
                           "ORGANIZER:mailto:a@example.com"),
                    vevent("RECURRENCE-ID:20240106T100000Z", "DTSTART:20240106T100000Z",
                           "ORGANIZER:MAILTO:A@example.com"),
                    vevent("RECURRENCE-ID:20240107T100000Z", "DTSTART:20240107T100000Z"))
    assert info.organizers == ("mailto:a@example.com",)
    check_scheduling_object(info)


def test_same_organizer_in_all_components() -> None:
    """RFC 6638 §3.2.4.2: 403 same-organizer-in-all-components."""
    info = validate(vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY",
                           "ORGANIZER:mailto:a@example.com"),
                    vevent("RECURRENCE-ID:20240106T100000Z", "DTSTART:20240106T100000Z",
                           "ORGANIZER:mailto:b@example.com"))
    assert info.organizers == ("mailto:a@example.com", "mailto:b@example.com")
    with pytest.raises(SameOrganizerInAllComponents) as refused:
        check_scheduling_object(info)
    assert refused.value.status == 403
