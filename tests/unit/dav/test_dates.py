"""HTTP-date and creationdate formats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from caldavd.dav.dates import http_date, iso8601, parse_http_date

SAMPLE = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)


def test_http_date_is_imf_fixdate() -> None:
    """RFC 9110 §5.6.7's example."""
    assert http_date(SAMPLE) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_http_date_converts_to_gmt_and_drops_microseconds() -> None:
    local = datetime(1994, 11, 6, 0, 49, 37, 999_999, tzinfo=timezone(timedelta(hours=-8)))
    assert http_date(local) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_iso8601_for_creationdate() -> None:
    """RFC 4918 §15.1: creationdate is an RFC 3339 date-time."""
    assert iso8601(SAMPLE) == "1994-11-06T08:49:37Z"
    assert iso8601(datetime(2024, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))) == (
        "2023-12-31T23:00:00Z")


@pytest.mark.parametrize("format_date", [http_date, iso8601])
def test_naive_datetimes_are_refused(format_date: Callable[[datetime], str]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_date(datetime(2024, 1, 1))


@pytest.mark.parametrize("value", [
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "  Sun, 06 Nov 1994 08:49:37 GMT ",
])
def test_parse_all_three_http_date_forms(value: str) -> None:
    """RFC 9110 §5.6.7: recipients MUST accept all three formats."""
    parsed = parse_http_date(value, now=datetime(2024, 1, 1, tzinfo=UTC))
    assert parsed == SAMPLE
    assert parsed is not None and parsed.tzinfo is UTC


def test_round_trip() -> None:
    moment = datetime(2031, 2, 28, 23, 59, 59, tzinfo=UTC)
    assert parse_http_date(http_date(moment)) == moment


def test_two_digit_years_are_never_more_than_50_years_ahead() -> None:
    """RFC 9110 §5.6.7: such a year is the most recent past one with those digits."""
    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert parse_http_date("Friday, 01-Jan-74 00:00:00 GMT", now=now) == datetime(
        2074, 1, 1, tzinfo=UTC)
    assert parse_http_date("Saturday, 01-Jan-75 00:00:00 GMT", now=now) == datetime(
        1975, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [
    "",
    "yesterday",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "sun, 06 nov 1994 08:49:37 GMT",
    "Sun, 31 Feb 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 25:00:00 GMT",
    "Sun, 06 Nov 1994 08:49:60 GMT",
    "Sun, ٠٦ Nov 1994 08:49:37 GMT",
    "1994-11-06T08:49:37Z",
])
def test_invalid_http_dates_are_none(value: str) -> None:
    """RFC 9110 §13.1.3: an invalid date in a condition is ignored, not an error."""
    assert parse_http_date(value) is None
