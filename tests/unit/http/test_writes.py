"""A PUT body into an ObjectWrite (caldavd.http.writes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from caldavd.caldav.index import index_rows
from caldavd.config.load import build_config
from caldavd.dav.errors import ValidCalendarData
from caldavd.http.writes import is_light, prepare_write
from caldavd.store import Calendar, ObjectWrite

CALENDAR = Calendar(id=1, home_id=1, owner_home_id=1, name="work", mode="own",
                    supported_components=None, created=datetime.now(UTC),
                    modified=datetime.now(UTC), revision=0)


def _body(start: datetime, extra: str = "") -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\n"
            f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
            f"DURATION:PT1H\r\nSUMMARY:caf\u00e9\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")


def _write(body: bytes) -> ObjectWrite:
    config = build_config({}, base_dir=Path("/tmp"))
    return prepare_write(config, CALENDAR, "e.ics", body)


def test_the_stored_text_is_the_body_without_its_byte_order_mark() -> None:
    text = _body(datetime.now(UTC) + timedelta(days=2))
    for body in (text.encode(), b"\xef\xbb\xbf" + text.encode()):
        write = _write(body)
        assert write.icalendar == text


def test_single_and_recurring_events_are_indexed() -> None:
    """The write carries what the store indexes it from: the parsed object, and whether
    it recurs."""
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    single = _write(_body(start).encode())
    assert not single.recurring
    rows, until = index_rows(single.parsed, recurring=single.recurring)
    assert until is None
    assert [r.start for r in rows] == [start]
    daily = _write(_body(start, "RRULE:FREQ=DAILY\r\n").encode())
    assert daily.recurring
    rows, until = index_rows(daily.parsed, recurring=daily.recurring)
    assert until is not None
    assert len(rows) > 300


def test_a_body_that_is_not_utf8_is_invalid_calendar_data() -> None:
    with pytest.raises(ValidCalendarData):
        _write(_body(datetime.now(UTC)).encode("latin-1"))


def test_only_small_bodies_without_recurrence_or_zone_rules_are_light() -> None:
    start = datetime.now(UTC)
    assert is_light(_body(start).encode())
    assert not is_light(_body(start, "RRULE:FREQ=DAILY\r\n").encode())
    assert not is_light(_body(start, "rr\r\n ule:FREQ=DAILY\r\n").encode()), "folded, lower"
    assert not is_light(_body(start, "RD\n\tATE:20260101T000000Z\r\n").encode())
    assert not is_light(_body(start, "X-PAD:" + "x" * 9000 + "\r\n").encode())
