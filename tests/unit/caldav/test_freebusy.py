"""CALDAV:free-busy-query results (RFC 4791 §7.10)."""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from icalendar import Calendar

from caldavd.caldav.freebusy import Period, busy_periods, freebusy
from caldavd.caldav.recurrence import expand

from .samples import cal, component, utc, vevent, vtodo

DAY = (utc(2024, 1, 5), utc(2024, 1, 6))


UTC_ZONE = ZoneInfo("UTC")


def periods(*calendars: Calendar, floating_tz: tzinfo = UTC_ZONE) -> dict[str, list[Period]]:
    instances = [i for c in calendars for i in expand(c, *DAY, floating_tz=floating_tz)]
    return busy_periods(instances, *DAY)


def test_busy_periods_are_merged_and_clipped() -> None:
    """RFC 4791 §7.10: overlapping busy time is merged and limited to the requested range."""
    found = periods(
        cal(vevent("DTSTART:20240105T090000Z", "DTEND:20240105T100000Z")),
        cal(vevent("DTSTART:20240105T093000Z", "DTEND:20240105T110000Z", uid="b")),
        cal(vevent("DTSTART:20240105T110000Z", "DTEND:20240105T113000Z", uid="c")),
        cal(vevent("DTSTART:20240104T220000Z", "DTEND:20240105T010000Z", uid="d")),
        cal(vevent("DTSTART:20240105T230000Z", "DTEND:20240106T020000Z", uid="e")))
    assert found == {"BUSY": [(utc(2024, 1, 5), utc(2024, 1, 5, 1)),
                              (utc(2024, 1, 5, 9), utc(2024, 1, 5, 11, 30)),
                              (utc(2024, 1, 5, 23), utc(2024, 1, 6))]}


def test_transparent_cancelled_and_todos_are_not_busy() -> None:
    """RFC 4791 §7.10: TRANSPARENT and CANCELLED events, and VTODOs, add no busy time."""
    found = periods(
        cal(vevent("DTSTART:20240105T090000Z", "DURATION:PT1H", "TRANSP:TRANSPARENT")),
        cal(vevent("DTSTART:20240105T100000Z", "DURATION:PT1H", "STATUS:CANCELLED")),
        cal(vtodo("DTSTART:20240105T110000Z", "DUE:20240105T120000Z")),
        cal(vevent("DTSTART:20240105T130000Z", "DURATION:PT0S")))
    assert found == {}


def test_tentative_and_cancelled_instance_of_a_series() -> None:
    """RFC 4791 §7.10: STATUS:TENTATIVE is BUSY-TENTATIVE; a cancelled override frees its slot."""
    found = periods(cal(
        vevent("DTSTART:20240105T080000Z", "DURATION:PT1H", "RRULE:FREQ=HOURLY;COUNT=3",
               "STATUS:TENTATIVE"),
        vevent("RECURRENCE-ID:20240105T090000Z", "DTSTART:20240105T090000Z",
               "DURATION:PT1H", "STATUS:CANCELLED")))
    assert found == {"BUSY-TENTATIVE": [(utc(2024, 1, 5, 8), utc(2024, 1, 5, 9)),
                                        (utc(2024, 1, 5, 10), utc(2024, 1, 5, 11))]}


def test_vfreebusy_periods_are_included() -> None:
    """RFC 4791 §7.10: FREEBUSY periods of stored VFREEBUSY components count; FREE ones do not."""
    found = periods(cal(component(
        "VFREEBUSY", "DTSTART:20240101T000000Z", "DTEND:20240201T000000Z",
        "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240105T080000Z/PT4H",
        "FREEBUSY;FBTYPE=FREE:20240105T140000Z/PT1H",
        "FREEBUSY:20240105T150000Z/20240105T160000Z")))
    assert found == {"BUSY-UNAVAILABLE": [(utc(2024, 1, 5, 8), utc(2024, 1, 5, 12))],
                     "BUSY": [(utc(2024, 1, 5, 15), utc(2024, 1, 5, 16))]}


def test_floating_events_use_the_calendar_zone() -> None:
    """RFC 4791 §7.10: floating times are read in the calendar's time zone."""
    found = periods(cal(vevent("DTSTART:20240105T090000", "DURATION:PT1H")),
                    floating_tz=ZoneInfo("Europe/Berlin"))
    assert found == {"BUSY": [(utc(2024, 1, 5, 8), utc(2024, 1, 5, 9))]}


def test_freebusy_body() -> None:
    """RFC 4791 §7.10: one VFREEBUSY with DTSTART/DTEND of the range, DTSTAMP and UTC periods."""
    busy = expand(cal(vevent("DTSTART;TZID=America/New_York:20240105T090000",
                             "DURATION:PT1H")), *DAY)
    tentative = expand(cal(vevent("DTSTART:20240105T090000Z", "DURATION:PT30M",
                                  "STATUS:TENTATIVE", uid="t")), *DAY)
    body = freebusy([busy, tentative], *DAY, dtstamp=utc(2024, 1, 1, 12))
    parsed = Calendar.from_ical(body)
    assert str(parsed["VERSION"]) == "2.0" and "PRODID" in parsed
    [vfreebusy] = parsed.subcomponents
    assert vfreebusy.name == "VFREEBUSY"
    assert vfreebusy.decoded("DTSTART") == DAY[0]
    assert vfreebusy.decoded("DTEND") == DAY[1]
    assert vfreebusy.decoded("DTSTAMP") == utc(2024, 1, 1, 12)
    props = vfreebusy["FREEBUSY"]
    assert isinstance(props, list)  # one FREEBUSY property per FBTYPE run
    rows = [(prop.params["FBTYPE"], prop.dt) for prop in props]
    assert rows == [("BUSY-TENTATIVE", (utc(2024, 1, 5, 9), utc(2024, 1, 5, 9, 30))),
                    ("BUSY", (utc(2024, 1, 5, 14), utc(2024, 1, 5, 15)))]
    assert b"FREEBUSY;FBTYPE=BUSY:20240105T140000Z/20240105T150000Z\r\n" in body
    assert b"ORGANIZER" not in body and b"UID" not in body


def test_freebusy_for_scheduling_carries_organizer_and_attendee() -> None:
    """RFC 6638 §3.2.1 (free-busy replies) carry ORGANIZER, ATTENDEE and UID."""
    body = freebusy([], *DAY, organizer="mailto:org@example.com",
                    attendees=["mailto:a@example.com"], uid="fb-1")
    [vfreebusy] = Calendar.from_ical(body).subcomponents
    assert str(vfreebusy["ORGANIZER"]) == "mailto:org@example.com"
    assert str(vfreebusy["ATTENDEE"]) == "mailto:a@example.com"
    assert str(vfreebusy["UID"]) == "fb-1"
    assert "FREEBUSY" not in vfreebusy
