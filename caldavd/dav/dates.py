"""Dates as WebDAV writes and reads them.

Formatting and parsing never use strftime's %a/%b or strptime: their day and
month names follow the process locale, and HTTP's do not.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_DAY = "|".join(_DAYS)
_MONTH = "|".join(_MONTHS)
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"

# RFC 9110 §5.6.7: IMF-fixdate, then the obsolete rfc850-date and asctime-date,
# which a recipient MUST still accept.
_IMF_FIXDATE = re.compile(
    rf"(?:{_DAY}), (?P<day>[0-9]{{2}}) (?P<month>{_MONTH}) (?P<year>[0-9]{{4}}) {_TIME} GMT")
_RFC850_DATE = re.compile(
    rf"(?:{_LONG_DAYS}), (?P<day>[0-9]{{2}})-(?P<month>{_MONTH})-(?P<year>[0-9]{{2}}) {_TIME} GMT")
_ASCTIME_DATE = re.compile(
    rf"(?:{_DAY}) (?P<month>{_MONTH}) (?P<day>[ 0-9][0-9]) {_TIME} (?P<year>[0-9]{{4}})")


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return dt.astimezone(UTC)


def http_date(dt: datetime) -> str:
    """IMF-fixdate (RFC 9110 §5.6.7), e.g. for DAV:getlastmodified."""
    utc = _utc(dt)
    return (f"{_DAYS[utc.weekday()]}, {utc.day:02d} {_MONTHS[utc.month - 1]} {utc.year:04d} "
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} GMT")


def iso8601(dt: datetime) -> str:
    """RFC 3339 date-time in UTC, for DAV:creationdate (RFC 4918 §15.1)."""
    utc = _utc(dt)
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
            f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z")


def parse_http_date(value: str, *, now: datetime | None = None) -> datetime | None:
    """An HTTP-date as an aware UTC datetime, or None if it is not one.

    None rather than an error: RFC 9110 §13.1.3 and §13.1.4 say to ignore a
    conditional header whose date is invalid. ``now`` anchors two-digit years.
    """
    text = value.strip()
    for pattern in (_IMF_FIXDATE, _ASCTIME_DATE):
        match = pattern.fullmatch(text)
        if match:
            return _build(match, int(match["year"]))
    match = _RFC850_DATE.fullmatch(text)
    if match:
        return _build(match, _full_year(int(match["year"]), now or datetime.now(UTC)))
    return None


def _full_year(two_digits: int, now: datetime) -> int:
    # RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is the
    # most recent past year with the same last two digits.
    year = now.year - now.year % 100 + two_digits
    return year - 100 if year > now.year + 50 else year


def _build(match: re.Match[str], year: int) -> datetime | None:
    try:
        return datetime(year, _MONTHS.index(match["month"]) + 1, int(match["day"]),
                        int(match["hour"]), int(match["minute"]), int(match["second"]),
                        tzinfo=UTC)
    except ValueError:
        return None
