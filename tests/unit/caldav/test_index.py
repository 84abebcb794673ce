"""Time-range index rows of a calendar object (caldavd.caldav.index)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Component

from caldavd.caldav import ical
from caldavd.caldav.index import HORIZON_DAYS, index_rows

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _event(start: datetime, extra: str = "") -> Component:
    stamp = "%Y%m%dT%H%M%SZ"
    return ical.parse_calendar((
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start:{stamp}}\r\n"
        f"DTEND:{start + timedelta(hours=1):{stamp}}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode())


@pytest.mark.parametrize("extra", [
    "", "TRANSP:TRANSPARENT\r\n", "EXDATE:20260108T000000Z\r\n", "STATUS:CANCELLED\r\n"])
def test_a_single_event_is_indexed_the_same_either_way(extra: str) -> None:
    """Within the horizon the shortcut gives exactly the rows of the full path."""
    cal = _event(NOW + timedelta(days=3), extra)
    rows, until = index_rows(cal, now=NOW, recurring=False)
    assert (rows, until) == index_rows(cal, now=NOW)
    assert until is None and [(r.start, r.end) for r in rows] == [
        (NOW + timedelta(days=3), NOW + timedelta(days=3, hours=1))]


def test_a_single_event_past_the_horizon_is_indexed_completely() -> None:
    """One instance needs no horizon: it is a row, and the index is complete."""
    far = NOW + timedelta(days=HORIZON_DAYS * 3)
    rows, until = index_rows(_event(far), now=NOW, recurring=False)
    assert [r.start for r in rows] == [far] and until is None


def test_recurring_objects_still_stop_at_the_horizon() -> None:
    rows, until = index_rows(_event(NOW, "RRULE:FREQ=DAILY\r\n"), now=NOW)
    assert until == NOW + timedelta(days=HORIZON_DAYS)
    assert all(r.start < until for r in rows) and len(rows) >= HORIZON_DAYS


def test_a_recurrence_cut_short_by_the_instance_limit_is_extended_past_now() -> None:
    """Daily since 2010: the PUT indexes the first MAX_INDEXED instances (to 2023); a query
    about now extends the index up to the horizon, so the next one is exact."""
    cal = _event(datetime(2010, 1, 4, 9, tzinfo=UTC), "RRULE:FREQ=DAILY\r\n")
    rows, until = index_rows(cal, now=NOW)
    assert len(rows) == 5000 and until is not None and until < NOW
    rows, until = index_rows(cal, now=NOW, extend_to=NOW + timedelta(days=7))
    assert until == NOW + timedelta(days=HORIZON_DAYS) and rows[-1].start < until
