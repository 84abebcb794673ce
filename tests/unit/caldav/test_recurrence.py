"""Expansion into UTC instances: RFC 5545 §3.8.5 recurrence, RFC 4791 §9.9 time ranges."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component

from caldavd.caldav.recurrence import (
    DISTANT_FUTURE,
    DISTANT_PAST,
    HORIZON,
    Instance,
    Zones,
    component_instances,
    count_instances,
    expand,
    expand_calendar,
    is_unbounded,
    limit_recurrence_set,
)

from .samples import NEW_YORK_VTIMEZONE, cal, component, utc, vevent, vtodo

NEW_YORK = ZoneInfo("America/New_York")
NOW = utc(2024, 6, 1)


def starts(calendar: Component, start: datetime | None = None, end: datetime | None = None,
           *, max_instances: int | None = None) -> list[datetime]:
    return [i.start for i in expand(calendar, start, end, now=NOW,
                                    max_instances=max_instances)]


def local_times(instances: Iterable[Instance], zone: tzinfo = NEW_YORK) -> set[str]:
    return {i.start.astimezone(zone).strftime("%H:%M") for i in instances}


# -- time zones and DST (RFC 5545 §3.3.5, §3.8.5.3) -----------------------------------

@pytest.mark.filterwarnings("ignore::UserWarning")  # icalendar notes the vendor prefix
@pytest.mark.parametrize("tzid", ["America/New_York", "Custom Eastern",
                                  "/mozilla.org/20050126_1/America/New_York"])
def test_weekly_rule_keeps_local_time_across_dst(tzid: str) -> None:
    """RFC 5545 §3.8.5.3: instances keep their local time; UTC moves at the DST change."""
    calendar = cal(NEW_YORK_VTIMEZONE, vevent(
        f"DTSTART;TZID={tzid}:20240301T090000", f"DTEND;TZID={tzid}:20240301T100000",
        "RRULE:FREQ=WEEKLY;COUNT=4"))
    instances = expand(calendar, None, None)
    assert [i.start for i in instances] == [
        utc(2024, 3, 1, 14), utc(2024, 3, 8, 14), utc(2024, 3, 15, 13), utc(2024, 3, 22, 13)]
    assert local_times(instances) == {"09:00"}
    assert all(i.end - i.start == timedelta(hours=1) for i in instances)
    assert all(not i.floating for i in instances)
    assert instances[2].recurrence_id == utc(2024, 3, 15, 13)


def test_autumn_dst_change_and_until_in_utc() -> None:
    """RFC 5545 §3.3.10: UNTIL in UTC bounds a zoned rule inclusively."""
    calendar = cal(vevent("DTSTART;TZID=America/New_York:20241025T090000",
                          "RRULE:FREQ=WEEKLY;UNTIL=20241108T140000Z"))
    instances = expand(calendar, None, None)
    assert [i.start for i in instances] == [
        utc(2024, 10, 25, 13), utc(2024, 11, 1, 13), utc(2024, 11, 8, 14)]
    assert local_times(instances) == {"09:00"}


def test_local_time_in_dst_gap_uses_offset_before_gap() -> None:
    """RFC 5545 §3.3.5: a nonexistent local time is read with the offset before the gap."""
    calendar = cal(vevent("DTSTART;TZID=America/New_York:20240309T023000",
                          "RRULE:FREQ=DAILY;COUNT=3"))
    assert starts(calendar) == [utc(2024, 3, 9, 7, 30), utc(2024, 3, 10, 7, 30),
                                utc(2024, 3, 11, 6, 30)]


def test_unknown_tzid_is_floating() -> None:
    """A TZID nobody defines is treated as floating (lenient, as real servers are)."""
    calendar = Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n"
        "DTSTART;TZID=Mars/Olympus:20240105T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    [instance] = expand(calendar, None, None, floating_tz=NEW_YORK)
    assert instance.floating
    assert instance.start == utc(2024, 1, 5, 15)


# -- floating and all-day (RFC 4791 §9.9) -----------------------------------------------

def test_all_day_event_lasts_one_day_in_floating_tz() -> None:
    """RFC 4791 §9.9: a DATE DTSTART without DTEND/DURATION covers DTSTART+P1D."""
    calendar = cal(vevent("DTSTART;VALUE=DATE:20240105"))
    [in_utc] = expand(calendar, None, None)
    assert (in_utc.start, in_utc.end) == (utc(2024, 1, 5), utc(2024, 1, 6))
    assert in_utc.floating and in_utc.recurrence_id is None
    [in_new_york] = expand(calendar, None, None, floating_tz=NEW_YORK)
    assert (in_new_york.start, in_new_york.end) == (utc(2024, 1, 5, 5), utc(2024, 1, 6, 5))


def test_recurring_all_day_event() -> None:
    """RFC 5545 §3.8.5.3: DATE recurrences; recurrence ids are midnight UTC of the date."""
    calendar = cal(vevent("DTSTART;VALUE=DATE:20240310", "DTEND;VALUE=DATE:20240312",
                          "RRULE:FREQ=WEEKLY;COUNT=3"))
    instances = expand(calendar, None, None, floating_tz=NEW_YORK)
    assert [i.recurrence_id for i in instances] == [
        utc(2024, 3, 10), utc(2024, 3, 17), utc(2024, 3, 24)]
    # two nominal days in New York: 47 hours across the DST change on 2024-03-10
    assert instances[0].end - instances[0].start == timedelta(hours=47)
    assert instances[1].end - instances[1].start == timedelta(hours=48)
    assert all(i.floating for i in instances)


def test_floating_event_uses_floating_tz() -> None:
    """RFC 4791 §9.9: floating times are read in the time zone of the request."""
    calendar = cal(vevent("DTSTART:20240105T090000", "DURATION:PT30M",
                          "RRULE:FREQ=DAILY;COUNT=2"))
    assert starts(calendar) == [utc(2024, 1, 5, 9), utc(2024, 1, 6, 9)]
    shifted = expand(calendar, None, None, floating_tz=NEW_YORK)
    assert [i.start for i in shifted] == [utc(2024, 1, 5, 14), utc(2024, 1, 6, 14)]
    assert [i.recurrence_id for i in shifted] == [utc(2024, 1, 5, 9), utc(2024, 1, 6, 9)]
    assert all(i.floating for i in shifted)


def test_time_range_on_floating_event_depends_on_zone() -> None:
    """RFC 4791 §9.9: the same floating event matches different UTC ranges per zone."""
    calendar = cal(vevent("DTSTART:20240105T230000", "DURATION:PT30M"))
    day = (utc(2024, 1, 5), utc(2024, 1, 6))
    assert len(expand(calendar, *day)) == 1
    assert expand(calendar, *day, floating_tz=NEW_YORK) == []


# -- recurrence set (RFC 5545 §3.8.5) ----------------------------------------------------

def test_exdate_removes_instances() -> None:
    """RFC 5545 §3.8.5.1: EXDATE removes instances, also one given in UTC."""
    calendar = cal(vevent("DTSTART;TZID=Europe/Paris:20240101T100000",
                          "RRULE:FREQ=DAILY;COUNT=5",
                          "EXDATE;TZID=Europe/Paris:20240102T100000,20240104T100000",
                          "EXDATE:20240105T090000Z"))
    assert starts(calendar) == [utc(2024, 1, 1, 9), utc(2024, 1, 3, 9)]


def test_exdate_as_date_removes_that_day() -> None:
    """RFC 5545 §3.8.5.1: a DATE EXDATE on a DATE-TIME rule removes the instance that day."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY;COUNT=3",
                          "EXDATE;VALUE=DATE:20240102"))
    assert starts(calendar) == [utc(2024, 1, 1, 10), utc(2024, 1, 3, 10)]


def test_rdate_values_and_periods() -> None:
    """RFC 5545 §3.8.5.2: RDATE adds DATE-TIME and PERIOD instances; a PERIOD has its own end."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "DURATION:PT1H",
                          "RDATE:20240103T100000Z",
                          "RDATE;VALUE=PERIOD:20240105T120000Z/PT3H,"
                          "20240106T120000Z/20240106T123000Z"))
    instances = expand(calendar, None, None)
    assert [(i.start, i.end) for i in instances] == [
        (utc(2024, 1, 1, 10), utc(2024, 1, 1, 11)),
        (utc(2024, 1, 3, 10), utc(2024, 1, 3, 11)),
        (utc(2024, 1, 5, 12), utc(2024, 1, 5, 15)),
        (utc(2024, 1, 6, 12), utc(2024, 1, 6, 12, 30))]
    assert all(i.recurrence_id == i.start for i in instances)


def test_override_moves_an_instance() -> None:
    """RFC 5545 §3.8.4.4: an override replaces the instance its RECURRENCE-ID names."""
    master = vevent("DTSTART;TZID=America/New_York:20240101T090000", "DURATION:PT1H",
                    "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:daily")
    moved = vevent("RECURRENCE-ID;TZID=America/New_York:20240102T090000",
                   "DTSTART;TZID=America/New_York:20240105T150000", "DURATION:PT2H",
                   "SUMMARY:moved")
    calendar = cal(master, moved)
    instances = expand(calendar, None, None)
    assert [(i.start, str(i.component["SUMMARY"])) for i in instances] == [
        (utc(2024, 1, 1, 14), "daily"), (utc(2024, 1, 3, 14), "daily"),
        (utc(2024, 1, 5, 20), "moved")]
    assert instances[2].recurrence_id == utc(2024, 1, 2, 14)
    assert instances[2].end == utc(2024, 1, 5, 22)
    # the original slot no longer matches; the new one does
    assert expand(calendar, utc(2024, 1, 2), utc(2024, 1, 3)) == []
    assert len(expand(calendar, utc(2024, 1, 5), utc(2024, 1, 6))) == 1


def test_override_with_floating_recurrence_id_uses_master_zone() -> None:
    """RFC 5545 §3.8.4.4: RECURRENCE-ID matches the master's DTSTART value and zone."""
    calendar = cal(vevent("DTSTART;TZID=Europe/Paris:20240101T100000",
                          "RRULE:FREQ=DAILY;COUNT=2"),
                   vevent("RECURRENCE-ID:20240102T090000Z", "DTSTART:20240102T150000Z"))
    assert starts(calendar) == [utc(2024, 1, 1, 9), utc(2024, 1, 2, 15)]


def test_thisandfuture_moves_the_named_and_every_later_instance() -> None:
    """RFC 5545 §3.2.13, §3.8.4.4: RANGE=THISANDFUTURE applies to the instance it names
    and all later ones; each keeps its own RECURRENCE-ID."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "DURATION:PT1H",
                          "RRULE:FREQ=DAILY;COUNT=4"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240102T100000Z",
                          "DTSTART:20240102T120000Z", "DTEND:20240102T150000Z",
                          "SUMMARY:later"))
    instances = expand(calendar, None, None, now=NOW)
    assert [i.start for i in instances] == [utc(2024, 1, 1, 10), utc(2024, 1, 2, 12),
                                            utc(2024, 1, 3, 12), utc(2024, 1, 4, 12)]
    assert [i.end - i.start for i in instances] == [timedelta(hours=1)] + [
        timedelta(hours=3)] * 3, "the override's duration goes with it"
    assert [i.recurrence_id for i in instances[1:]] == [
        utc(2024, 1, 2, 10), utc(2024, 1, 3, 10), utc(2024, 1, 4, 10)]
    assert {str(i.component.get("SUMMARY")) for i in instances[1:]} == {"later"}


def test_a_single_override_after_thisandfuture_still_replaces_its_instance() -> None:
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY;COUNT=5"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240102T100000Z",
                          "DTSTART:20240102T120000Z"),
                   vevent("RECURRENCE-ID:20240104T100000Z", "DTSTART:20240104T080000Z"))
    assert starts(calendar) == [utc(2024, 1, 1, 10), utc(2024, 1, 2, 12),
                                utc(2024, 1, 3, 12), utc(2024, 1, 4, 8), utc(2024, 1, 5, 12)]


def test_a_later_thisandfuture_override_takes_over() -> None:
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY;COUNT=5"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240104T100000Z",
                          "DTSTART:20240104T070000Z"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240102T100000Z",
                          "DTSTART:20240102T120000Z"))
    assert starts(calendar) == [utc(2024, 1, 1, 10), utc(2024, 1, 2, 12),
                                utc(2024, 1, 3, 12), utc(2024, 1, 4, 7), utc(2024, 1, 5, 7)]


def test_thisandfuture_keeps_the_new_local_time_across_dst() -> None:
    """The move is in wall-clock time when the override is in the master's zone."""
    calendar = cal(vevent("DTSTART;TZID=America/New_York:20240301T090000",
                          "DTEND;TZID=America/New_York:20240301T100000",
                          "RRULE:FREQ=WEEKLY;COUNT=4"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=America/New_York:"
                          "20240308T090000", "DTSTART;TZID=America/New_York:20240308T100000",
                          "DTEND;TZID=America/New_York:20240308T110000"))
    instances = expand(calendar, None, None)
    assert [i.start.astimezone(NEW_YORK).strftime("%d %H:%M") for i in instances] == [
        "01 09:00", "08 10:00", "15 10:00", "22 10:00"]
    assert instances[2].start == utc(2024, 3, 15, 14)  # EDT from March 10


def test_an_instance_moved_into_the_range_from_outside_it_is_found() -> None:
    """A range query sees a moved instance where it now is (RFC 4791 §9.9)."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY;COUNT=10"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z",
                          "DTSTART:20240104T100000Z"))
    assert starts(calendar, utc(2024, 1, 11), utc(2024, 1, 12)) == [utc(2024, 1, 11, 10)]
    assert starts(calendar, utc(2024, 1, 3), utc(2024, 1, 4)) == [], \
        "the named instance left its day and the next one moved on too"


def test_thisandfuture_on_an_unbounded_rule_stays_bounded() -> None:
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240110T100000Z",
                          "DTSTART:20240110T110000Z", "TRANSP:TRANSPARENT"))
    instances = expand(calendar, utc(2024, 1, 9), utc(2024, 1, 12), now=NOW)
    assert [(i.start, i.transparent) for i in instances] == [
        (utc(2024, 1, 9, 10), False), (utc(2024, 1, 10, 11), True), (utc(2024, 1, 11, 11), True)]
    assert len(expand(calendar, None, None, now=NOW)) == len(
        expand(cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY")), None, None,
               now=NOW))


def test_expanded_data_shows_moved_instances_as_the_override_wrote_them() -> None:
    """RFC 4791 §9.6.5: each later instance comes out with the override's properties,
    its own RECURRENCE-ID (no RANGE) and its moved start and end."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "DURATION:PT1H",
                          "RRULE:FREQ=DAILY;COUNT=3", "SUMMARY:before"),
                   vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240102T100000Z",
                          "DTSTART:20240102T120000Z", "DTEND:20240102T130000Z",
                          "SUMMARY:after"))
    events = expand_calendar(calendar, None, None).walk("VEVENT")
    assert [str(e.get("SUMMARY")) for e in events] == ["before", "after", "after"]
    third = events[2]
    assert third.decoded("DTSTART") == utc(2024, 1, 3, 12)
    assert third.decoded("DTEND") == utc(2024, 1, 3, 13)
    assert third.decoded("RECURRENCE-ID") == utc(2024, 1, 3, 10)
    assert "RANGE" not in third["RECURRENCE-ID"].params


def test_orphan_override_has_its_own_instance() -> None:
    """RFC 4791 §4.1: a resource may hold only overridden instances."""
    calendar = cal(vevent("RECURRENCE-ID:20240102T100000Z", "DTSTART:20240102T120000Z"))
    [instance] = expand(calendar, None, None)
    assert (instance.start, instance.recurrence_id) == (utc(2024, 1, 2, 12), utc(2024, 1, 2, 10))


def test_infinite_rule_stops_at_horizon() -> None:
    """An unbounded RRULE without an end stops at now + HORIZON (documented bound)."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY"))
    found = starts(calendar)
    assert found[0] == utc(2024, 1, 1, 10)
    assert found[-1] <= NOW + HORIZON < found[-1] + timedelta(days=1)
    assert is_unbounded(calendar)
    later = starts(calendar, utc(2030, 1, 1))
    assert later[0] == utc(2030, 1, 1, 10)
    assert later[-1] <= later[0] + HORIZON  # from the first instance in the range


def test_infinite_rule_far_ahead_stops_a_horizon_after_its_first_instance() -> None:
    """A rule whose instances all lie past now + HORIZON still has them (issue #15 item 4):
    the horizon of an open-ended expansion counts from the first instance in the range."""
    calendar = cal(vevent("DTSTART:20400105T100000Z", "RRULE:FREQ=YEARLY"))
    assert starts(calendar) == [utc(2040, 1, 5, 10)]  # 2040 has 366 days
    assert starts(calendar, utc(2045, 6, 1))[0] == utc(2046, 1, 5, 10)
    assert len(expand(calendar, utc(2026, 1, 1), None, max_instances=1)) == 1


def test_infinite_rule_with_range_and_max_instances() -> None:
    """An unbounded RRULE expands only over the range, and max_instances keeps the earliest."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO,WE"))
    found = starts(calendar, utc(2040, 1, 1), utc(2040, 1, 15))
    assert found == [utc(2040, 1, 2, 10), utc(2040, 1, 4, 10), utc(2040, 1, 9, 10),
                     utc(2040, 1, 11, 10)]
    assert starts(calendar, max_instances=3) == [
        utc(2024, 1, 1, 10), utc(2024, 1, 3, 10), utc(2024, 1, 8, 10)]


def test_bounded_rule_is_expanded_whole_without_end() -> None:
    """A bounded recurrence set is returned whole when no end is given."""
    calendar = cal(vevent("DTSTART:20300101T100000Z", "RRULE:FREQ=YEARLY;COUNT=5"))
    assert len(starts(calendar)) == 5
    assert not is_unbounded(calendar)


def test_dtstart_not_matching_rule_is_still_an_instance() -> None:
    """RFC 5545 §3.8.5.3: DTSTART is the first instance even if the rule skips it."""
    calendar = cal(vevent("DTSTART:20240102T100000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=2"))
    assert starts(calendar) == [utc(2024, 1, 2, 10), utc(2024, 1, 8, 10), utc(2024, 1, 15, 10)]


def test_impossible_rule_in_stored_data_does_not_hang() -> None:
    """Stored data with a rule that never matches expands to DTSTART only, quickly."""
    calendar = Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n"
        "DTSTART:20240101T100000Z\r\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n")
    started = time.monotonic()
    assert starts(calendar) == [utc(2024, 1, 1, 10)]
    assert time.monotonic() - started < 2


def test_open_range_near_year_9999() -> None:
    """An open range that starts within a horizon of year 9999 expands without overflow."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=YEARLY"))
    found = starts(calendar, utc(9999, 6, 1))
    assert found == [] or found[0].year == 9999
    [last_day] = expand(cal(vevent("DTSTART;VALUE=DATE:99991231")), utc(9999, 1, 1), None)
    assert last_day.start == utc(9999, 12, 31)


RULES = [
    ("DTSTART;TZID=America/New_York:20210131T093000", "FREQ=MONTHLY"),
    ("DTSTART;TZID=America/New_York:20210131T093000", "FREQ=MONTHLY;BYDAY=-1FR,2MO"),
    ("DTSTART:20200229T120000Z", "FREQ=YEARLY"),
    ("DTSTART:20200229T120000Z", "FREQ=YEARLY;INTERVAL=3;BYMONTH=2,8;BYDAY=-1SU"),
    ("DTSTART:20210103T080000Z", "FREQ=YEARLY;BYWEEKNO=1,20,53;BYDAY=TH"),
    ("DTSTART:20210103T080000Z", "FREQ=YEARLY;BYYEARDAY=1,-1,100"),
    ("DTSTART:20210105T080000", "FREQ=MONTHLY;INTERVAL=5;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
    ("DTSTART:20210105T080000", "FREQ=MONTHLY;BYMONTHDAY=-3,15"),
    ("DTSTART;TZID=Europe/Paris:20210107T180000", "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,TH"),
    ("DTSTART;TZID=Europe/Paris:20210107T180000", "FREQ=WEEKLY;INTERVAL=3"),
    ("DTSTART;VALUE=DATE:20210107", "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"),
    ("DTSTART;VALUE=DATE:20210107", "FREQ=DAILY;INTERVAL=10"),
    ("DTSTART;TZID=Australia/Sydney:20210101T231500", "FREQ=DAILY;INTERVAL=3;BYHOUR=7,23"),
    ("DTSTART:20210101T231500Z", "FREQ=HOURLY;INTERVAL=5;BYHOUR=1,6,11"),
    ("DTSTART:20210101T231507Z", "FREQ=HOURLY;INTERVAL=7"),
    ("DTSTART:20210101T231507Z", "FREQ=MINUTELY;INTERVAL=97;BYHOUR=3,4"),
    ("DTSTART:20210101T231507Z", "FREQ=SECONDLY;INTERVAL=86413"),
    ("DTSTART:20210101T231507Z", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29"),
    ("DTSTART;TZID=America/New_York:20210101T093000",
     "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260101T000000Z"),
]


@pytest.mark.parametrize(("dtstart", "rule"), RULES)
def test_skipping_ahead_gives_the_same_instances(dtstart: str, rule: str) -> None:
    """A range far from DTSTART is reached by re-anchoring the rule (RFC 5545 §3.3.10
    periods are aligned to DTSTART); the result equals iterating from DTSTART."""
    calendar = cal(vevent(dtstart, "DURATION:PT2H", f"RRULE:{rule}"))
    ranges = [(utc(2021, 3, 1), utc(2021, 5, 1)), (utc(2024, 2, 27), utc(2024, 3, 3)),
              (utc(2025, 12, 20), utc(2026, 1, 10)), (utc(2029, 8, 1), utc(2029, 9, 1)),
              (utc(2030, 1, 1, 5), utc(2030, 9, 1))]
    for start, end in ranges:
        everything = expand(calendar, None, end, floating_tz=NEW_YORK)
        expected = [i for i in everything if i.overlaps(start, end)]
        assert expand(calendar, start, end, floating_tz=NEW_YORK) == expected, (start, end)


def test_count_instances() -> None:
    """RFC 4791 §5.2.8: instances are counted up to the limit, overrides included once."""
    calendar = cal(vevent("DTSTART:20240101T100000Z", "RRULE:FREQ=DAILY;COUNT=5"),
                   vevent("RECURRENCE-ID:20240102T100000Z", "DTSTART:20240102T120000Z"),
                   vevent("RECURRENCE-ID:20250102T100000Z", "DTSTART:20250102T120000Z"))
    assert count_instances(calendar, stop=100) == 6
    assert count_instances(calendar, stop=3) == 3
    assert count_instances(calendar, stop=100, before=utc(2024, 1, 3)) == 3


def test_expansion_is_fast_enough_for_every_put() -> None:
    """A ten-year daily rule in a DST zone expands in well under a second."""
    calendar = cal(vevent("DTSTART;TZID=America/New_York:20240101T090000",
                          "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3650",
                          "EXDATE;TZID=America/New_York:20240105T090000"))
    started = time.monotonic()
    instances = expand(calendar, None, None)
    assert len(instances) == 3649
    assert time.monotonic() - started < 1


# -- RFC 4791 §9.9 VEVENT table -------------------------------------------------------

def _one(*lines: str, name: str = "VEVENT") -> Instance:
    [instance] = expand(cal(component(name, *lines)), None, None)
    return instance


T0, T1, T2 = utc(2024, 1, 5, 10), utc(2024, 1, 5, 11), utc(2024, 1, 5, 12)


def test_vevent_with_dtend() -> None:
    """RFC 4791 §9.9 VEVENT, DTEND: (start < DTEND AND end > DTSTART)."""
    instance = _one("DTSTART:20240105T100000Z", "DTEND:20240105T110000Z")
    assert (instance.start, instance.end) == (T0, T1)
    assert instance.overlaps(T0, T1)
    assert not instance.overlaps(T1, T2)          # start == DTEND
    assert not instance.overlaps(T0 - timedelta(hours=1), T0)  # end == DTSTART


def test_vevent_with_duration() -> None:
    """RFC 4791 §9.9 VEVENT, DURATION > 0: (start < DTSTART+DURATION AND end > DTSTART)."""
    instance = _one("DTSTART:20240105T100000Z", "DURATION:PT1H")
    assert instance.end == T1
    assert instance.overlaps(T0, T1) and not instance.overlaps(T1, T2)


def test_vevent_zero_duration_and_no_end() -> None:
    """RFC 4791 §9.9 VEVENT, zero DURATION or DATE-TIME only:
    (start <= DTSTART AND end > DTSTART)."""
    for lines in (("DTSTART:20240105T100000Z", "DURATION:PT0S"), ("DTSTART:20240105T100000Z",)):
        instance = _one(*lines)
        assert instance.start == instance.end == T0
        assert instance.overlaps(T0, T1)                         # start == DTSTART
        assert not instance.overlaps(T0 - timedelta(hours=1), T0)  # end == DTSTART
        assert instance.overlaps(None, None)


def test_vevent_all_day() -> None:
    """RFC 4791 §9.9 VEVENT, DATE only: (start < DTSTART+P1D AND end > DTSTART)."""
    instance = _one("DTSTART;VALUE=DATE:20240105")
    assert instance.overlaps(utc(2024, 1, 5, 23), utc(2024, 1, 7))
    assert not instance.overlaps(utc(2024, 1, 6), utc(2024, 1, 7))


def test_vevent_free_busy_type() -> None:
    """RFC 4791 §7.10: STATUS and TRANSP decide the free-busy type of an instance."""
    assert _one("DTSTART:20240105T100000Z").fbtype == "BUSY"
    assert _one("DTSTART:20240105T100000Z", "STATUS:CONFIRMED").fbtype == "BUSY"
    assert _one("DTSTART:20240105T100000Z", "STATUS:TENTATIVE").fbtype == "BUSY-TENTATIVE"
    assert _one("DTSTART:20240105T100000Z", "STATUS:CANCELLED").fbtype == "FREE"
    assert _one("DTSTART:20240105T100000Z", "TRANSP:TRANSPARENT").transparent
    assert not _one("DTSTART:20240105T100000Z", "TRANSP:OPAQUE").transparent


# -- RFC 4791 §9.9 VTODO table --------------------------------------------------------

def _todo(*lines: str) -> Instance:
    return _one(*lines, name="VTODO")


def test_vtodo_dtstart_duration() -> None:
    """RFC 4791 §9.9 VTODO row 1:
    (start <= DTSTART+DURATION) AND (end > DTSTART OR end >= DTSTART+DURATION)."""
    todo = _todo("DTSTART:20240105T100000Z", "DURATION:PT1H")
    assert (todo.start, todo.end) == (T0, T1)
    assert todo.overlaps(T1, T2)                                 # start == DTSTART+DURATION
    assert not todo.overlaps(T0 - timedelta(hours=1), T0)        # end == DTSTART
    assert not todo.overlaps(T1 + timedelta(seconds=1), T2)


def test_vtodo_dtstart_due() -> None:
    """RFC 4791 §9.9 VTODO row 2:
    (start < DUE OR start <= DTSTART) AND (end > DTSTART OR end >= DUE)."""
    todo = _todo("DTSTART:20240105T100000Z", "DUE:20240105T110000Z")
    assert todo.overlaps(T0, T1)
    assert not todo.overlaps(T1, T2)                             # start == DUE
    assert not todo.overlaps(T0 - timedelta(hours=1), T0)        # end == DTSTART
    point = _todo("DTSTART:20240105T100000Z", "DUE:20240105T100000Z")
    assert point.overlaps(T0, T1) and point.overlaps(T0 - timedelta(hours=1), T0)


def test_vtodo_dtstart_only() -> None:
    """RFC 4791 §9.9 VTODO row 3: (start <= DTSTART) AND (end > DTSTART)."""
    todo = _todo("DTSTART:20240105T100000Z")
    assert todo.overlaps(T0, T1)
    assert not todo.overlaps(T0 - timedelta(hours=1), T0)


def test_vtodo_due_only() -> None:
    """RFC 4791 §9.9 VTODO row 4: (start < DUE) AND (end >= DUE)."""
    todo = _todo("DUE:20240105T100000Z")
    assert todo.overlaps(T0 - timedelta(hours=1), T0)            # end == DUE
    assert not todo.overlaps(T0, T1)                             # start == DUE


def test_vtodo_completed_and_created() -> None:
    """RFC 4791 §9.9 VTODO row 5:
    (start <= CREATED OR start <= COMPLETED) AND (end >= CREATED OR end >= COMPLETED)."""
    todo = _todo("CREATED:20240105T100000Z", "COMPLETED:20240105T120000Z")
    assert (todo.start, todo.end) == (T0, T2)
    assert todo.overlaps(T2, T2 + timedelta(hours=1))           # start == COMPLETED
    assert todo.overlaps(T0 - timedelta(hours=1), T0)           # end == CREATED
    assert not todo.overlaps(T2 + timedelta(seconds=1), T2 + timedelta(hours=1))


def test_vtodo_completed_only() -> None:
    """RFC 4791 §9.9 VTODO row 6: (start <= COMPLETED) AND (end >= COMPLETED)."""
    todo = _todo("COMPLETED:20240105T100000Z")
    assert todo.overlaps(T0, T1) and todo.overlaps(T0 - timedelta(hours=1), T0)
    assert not todo.overlaps(T1, T2)


def test_vtodo_created_only() -> None:
    """RFC 4791 §9.9 VTODO row 7: (end > CREATED)."""
    todo = _todo("CREATED:20240105T100000Z")
    assert todo.end == DISTANT_FUTURE
    assert todo.overlaps(utc(2090, 1, 1), utc(2090, 1, 2))
    assert not todo.overlaps(T0 - timedelta(hours=1), T0)
    assert todo.overlaps(T0 - timedelta(hours=1), T0 + timedelta(seconds=1))


def test_vtodo_without_dates() -> None:
    """RFC 4791 §9.9 VTODO row 8: TRUE."""
    todo = _todo()
    assert (todo.start, todo.end) == (DISTANT_PAST, DISTANT_FUTURE)
    assert todo.overlaps(utc(1970, 1, 1), utc(1970, 1, 2))
    assert todo.fbtype == "FREE"


def test_recurring_vtodo() -> None:
    """RFC 5545 §3.6.2: a VTODO recurs from DTSTART; each instance keeps its DUE offset."""
    todos = expand(cal(vtodo("DTSTART:20240105T100000Z", "DUE:20240105T110000Z",
                             "RRULE:FREQ=DAILY;COUNT=2")), None, None)
    assert [(t.start, t.end) for t in todos] == [
        (T0, T1), (T0 + timedelta(days=1), T1 + timedelta(days=1))]


# -- RFC 4791 §9.9 VJOURNAL and VFREEBUSY -----------------------------------------------

def test_vjournal() -> None:
    """RFC 4791 §9.9 VJOURNAL: DATE-TIME is a point, DATE covers a day, no DTSTART never matches."""
    point = _one("DTSTART:20240105T100000Z", name="VJOURNAL")
    assert point.overlaps(T0, T1) and not point.overlaps(T0 - timedelta(hours=1), T0)
    day = _one("DTSTART;VALUE=DATE:20240105", name="VJOURNAL")
    assert day.overlaps(utc(2024, 1, 5, 23), utc(2024, 1, 6))
    assert expand(cal(component("VJOURNAL", "SUMMARY:undated")), None, None) == []


def test_vfreebusy_periods_and_envelope() -> None:
    """RFC 4791 §9.9 VFREEBUSY: DTSTART/DTEND envelope, and each FREEBUSY period with its FBTYPE."""
    instances = expand(cal(component(
        "VFREEBUSY", "DTSTART:20240105T000000Z", "DTEND:20240106T000000Z",
        "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240105T100000Z/PT1H",
        "FREEBUSY:20240105T120000Z/20240105T130000Z,20240105T150000Z/PT30M")), None, None)
    periods = [(i.start, i.end, i.fbtype) for i in instances if not i.transparent]
    assert periods == [(T0, T1, "BUSY-UNAVAILABLE"), (T2, utc(2024, 1, 5, 13), "BUSY"),
                       (utc(2024, 1, 5, 15), utc(2024, 1, 5, 15, 30), "BUSY")]
    [envelope] = [i for i in instances if i.transparent]
    assert envelope.fbtype == "FREE"
    assert envelope.overlaps(utc(2024, 1, 6), utc(2024, 1, 7))   # start <= DTEND


# -- component_instances ----------------------------------------------------------------

def test_component_instances_skips_overridden() -> None:
    """component_instances gives one component's share; overrides are left to themselves."""
    calendar = cal(NEW_YORK_VTIMEZONE,
                   vevent("DTSTART;TZID=Custom Eastern:20240101T090000",
                          "RRULE:FREQ=DAILY;COUNT=3"),
                   vevent("RECURRENCE-ID;TZID=Custom Eastern:20240102T090000",
                          "DTSTART;TZID=Custom Eastern:20240102T100000"))
    master, override = calendar.walk("VEVENT")
    zones = Zones(calendar)
    own = component_instances(master, None, None, None, zones=zones,
                              overridden={utc(2024, 1, 2, 14)})
    assert [i.start for i in own] == [utc(2024, 1, 1, 14), utc(2024, 1, 3, 14)]
    [moved] = component_instances(override, master, zones=zones)
    assert (moved.start, moved.recurrence_id) == (utc(2024, 1, 2, 15), utc(2024, 1, 2, 14))


# -- calendar-data output (RFC 4791 §9.6.5, §9.6.6) ---------------------------------------

def test_expand_calendar() -> None:
    """RFC 4791 §9.6.5: one component per instance, RECURRENCE-ID, UTC, no RRULE or VTIMEZONE."""
    calendar = cal(NEW_YORK_VTIMEZONE,
                   vevent("DTSTART;TZID=Custom Eastern:20240308T090000",
                          "DTEND;TZID=Custom Eastern:20240308T100000",
                          "RRULE:FREQ=WEEKLY;COUNT=3", "SUMMARY:weekly",
                          "EXDATE;TZID=Custom Eastern:20240322T090000"),
                   vevent("RECURRENCE-ID;TZID=Custom Eastern:20240315T090000",
                          "DTSTART;TZID=Custom Eastern:20240315T110000",
                          "DTEND;TZID=Custom Eastern:20240315T120000", "SUMMARY:later"))
    expanded = expand_calendar(calendar, utc(2024, 3, 1), utc(2024, 4, 1))
    assert expanded.walk("VTIMEZONE") == []
    events = expanded.walk("VEVENT")
    text = expanded.to_ical().decode()
    assert "RRULE" not in text and "EXDATE" not in text and "TZID" not in text
    assert [(e.decoded("DTSTART"), e.decoded("DTEND"), e.decoded("RECURRENCE-ID"),
             str(e["SUMMARY"])) for e in events] == [
        (utc(2024, 3, 8, 14), utc(2024, 3, 8, 15), utc(2024, 3, 8, 14), "weekly"),
        (utc(2024, 3, 15, 15), utc(2024, 3, 15, 16), utc(2024, 3, 15, 13), "later")]
    assert str(expanded["PRODID"]) == "-//test//EN"


def test_expand_calendar_keeps_dates_and_floating_values() -> None:
    """RFC 4791 §9.6.5: only values with a time zone are converted; DATE stays DATE."""
    calendar = cal(vevent("DTSTART;VALUE=DATE:20240101", "RRULE:FREQ=DAILY;COUNT=2"))
    events = expand_calendar(calendar, None, None).walk("VEVENT")
    assert [e.decoded("DTSTART") for e in events] == [
        datetime(2024, 1, 1).date(), datetime(2024, 1, 2).date()]
    assert [e.decoded("RECURRENCE-ID") for e in events] == [
        datetime(2024, 1, 1).date(), datetime(2024, 1, 2).date()]


def test_limit_recurrence_set() -> None:
    """RFC 4791 §9.6.6: master plus overrides whose new or original time overlaps the range."""
    master = vevent("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=10")
    moved_in = vevent("RECURRENCE-ID:20240108T100000Z", "DTSTART:20240103T120000Z",
                      "SUMMARY:moved in")
    moved_out = vevent("RECURRENCE-ID:20240104T100000Z", "DTSTART:20240109T120000Z",
                       "SUMMARY:moved out")
    elsewhere = vevent("RECURRENCE-ID:20240107T100000Z", "DTSTART:20240107T120000Z",
                       "SUMMARY:elsewhere")
    future = vevent("RECURRENCE-ID;RANGE=THISANDFUTURE:20240102T100000Z",
                    "DTSTART:20240102T110000Z", "SUMMARY:future")
    calendar = cal(NEW_YORK_VTIMEZONE, master, moved_in, moved_out, elsewhere, future)
    limited = limit_recurrence_set(calendar, utc(2024, 1, 3), utc(2024, 1, 5))
    summaries = [str(e.get("SUMMARY")) for e in limited.walk("VEVENT")]
    assert summaries == ["None", "moved in", "moved out", "future"]
    assert len(limited.walk("VTIMEZONE")) == 1


def test_expand_calendar_keeps_non_recurring_components_once() -> None:
    """RFC 4791 §9.6.5: a component that does not recur is returned once, times in UTC."""
    calendar = cal(component("VFREEBUSY", "DTSTART:20240105T000000Z",
                             "DTEND:20240106T000000Z",
                             "FREEBUSY:20240105T100000Z/PT1H,20240105T120000Z/PT1H"))
    assert len(expand_calendar(calendar, utc(2024, 1, 5), utc(2024, 1, 6)).subcomponents) == 1
    single = cal(vevent("DTSTART;TZID=Asia/Tokyo:20240105T090000", "DURATION:PT1H"))
    [event] = expand_calendar(single, utc(2024, 1, 5), utc(2024, 1, 6)).subcomponents
    assert event.decoded("DTSTART") == utc(2024, 1, 5)
    assert "RECURRENCE-ID" not in event


def test_instances_are_hashable() -> None:
    """Instances can be kept in sets although they carry an icalendar component."""
    instances = expand(cal(vevent("DTSTART:20240105T100000Z", "RRULE:FREQ=DAILY;COUNT=3")))
    assert len(set(instances + instances)) == 3
