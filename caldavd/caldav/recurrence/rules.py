"""RRULE parsing and checking (RFC 5545 §3.3.10) on dateutil."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil import rrule as du  # type: ignore[import-untyped]
from icalendar import Component

from caldavd.caldav.recurrence.values import RecurrenceError, When, Zones, when

_FREQS = {"YEARLY": du.YEARLY, "MONTHLY": du.MONTHLY, "WEEKLY": du.WEEKLY,
          "DAILY": du.DAILY, "HOURLY": du.HOURLY, "MINUTELY": du.MINUTELY,
          "SECONDLY": du.SECONDLY}
_WEEKDAYS = {"MO": du.MO, "TU": du.TU, "WE": du.WE, "TH": du.TH, "FR": du.FR,
             "SA": du.SA, "SU": du.SU}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
# RFC 5545 §3.3.10 ranges: (lowest, highest, may be negative). BYSECOND=60
# (a leap second) cannot be represented by datetime and is refused.
_INT_PARTS = {
    "BYSECOND": ("bysecond", 0, 59, False),
    "BYMINUTE": ("byminute", 0, 59, False),
    "BYHOUR": ("byhour", 0, 23, False),
    "BYMONTHDAY": ("bymonthday", 1, 31, True),
    "BYYEARDAY": ("byyearday", 1, 366, True),
    "BYWEEKNO": ("byweekno", 1, 53, True),
    "BYMONTH": ("bymonth", 1, 12, False),
    "BYSETPOS": ("bysetpos", 1, 366, True),
}
_DAY_FILTERS = ("bymonth", "bymonthday", "byyearday", "byweekno", "byweekday", "bysetpos")
_PROBE_FIRST_YEAR = 9944  # probes run in [9944, 9999]: dateutil stops at year 9999


def _int(value: Any, part: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise RecurrenceError(f"RRULE {part} value {value!s} is not an integer") from exc


def _ints(values: list[Any], part: str, low: int, high: int, signed: bool) -> list[int]:
    result = []
    for value in values:
        number = _int(value, part)
        if not (low <= number <= high or (signed and -high <= number <= -low)):
            raise RecurrenceError(f"RRULE {part}={number} is out of range")
        result.append(number)
    return result


def _weekday(text: str, part: str) -> Any:
    match = _BYDAY.match(str(text).strip().upper())
    if match is None:
        raise RecurrenceError(f"RRULE {part}={text} is not a weekday")
    day = _WEEKDAYS[match.group(2)]
    if match.group(1) is None:
        return day
    ordinal = int(match.group(1))
    if not 1 <= abs(ordinal) <= 53:
        raise RecurrenceError(f"RRULE {part}={text} is out of range")
    return day(ordinal)


def _until_wall(value: Any, dtstart: When) -> datetime:
    """UNTIL as a naive wall time comparable with the rule's wall-clock instances."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value
        zone = dtstart.tz
        if zone is None:  # floating or DATE start with a UTC UNTIL: compare as written
            return value.astimezone(UTC).replace(tzinfo=None)
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, date):
        if dtstart.is_date:
            return datetime(value.year, value.month, value.day)
        return datetime.combine(value, time.max)  # a DATE UNTIL includes that whole day
    raise RecurrenceError("RRULE UNTIL is not a date or date-time")


@dataclass(frozen=True, slots=True)
class _Rule:
    rule: Any                    # dateutil rrule over naive wall-clock datetimes
    until: datetime | None       # applied here when COUNT is also given
    bounded: bool
    freq: int
    kwargs: dict[str, Any]       # BYxxx parts, with dateutil's DTSTART defaults explicit
    counted: bool
    start: datetime              # DTSTART as dateutil sees it (no microseconds)

    def starting_near(self, target: datetime) -> Any:
        """The same rule, re-anchored at the last period start at or before ``target``.

        Recurrence periods (years, months, weeks, days, ...) are aligned to
        DTSTART every INTERVAL, and everything dateutil would take from DTSTART
        is explicit in ``kwargs``, so a rule started at a later period start
        yields exactly the original instances from there on. A COUNT rule has
        to be counted from its start and is returned unchanged.
        """
        start = self.start
        anchor = None if self.counted or target <= start else _anchor(
            self.freq, self.kwargs.get("interval", 1), self.kwargs["wkst"], start, target)
        if anchor is None or anchor <= start:
            return self.rule
        return du.rrule(self.freq, dtstart=anchor, until=self.until_for_dateutil, **self.kwargs)

    @property
    def until_for_dateutil(self) -> datetime | None:
        return None if self.counted else self.until


def _anchor(freq: int, interval: int, wkst: Any, start: datetime,
            target: datetime) -> datetime | None:
    """The start of the last recurrence period at or before ``target``."""
    try:
        if freq == du.YEARLY:
            years = (target.year - start.year) // interval * interval
            return datetime(start.year + years, 1, 1)
        if freq == du.MONTHLY:
            first = start.year * 12 + start.month - 1
            months = (target.year * 12 + target.month - 1 - first) // interval * interval
            return datetime((first + months) // 12, (first + months) % 12 + 1, 1)
        if freq == du.WEEKLY:
            week = datetime.combine(start.date(), time()) - timedelta(
                days=(start.weekday() - wkst.weekday) % 7)
            weeks = (target - week).days // 7 // interval * interval
            return week + timedelta(weeks=weeks)
        unit = {du.DAILY: timedelta(days=1), du.HOURLY: timedelta(hours=1),
                du.MINUTELY: timedelta(minutes=1), du.SECONDLY: timedelta(seconds=1)}[freq]
        base = {du.DAILY: start.replace(hour=0, minute=0, second=0),
                du.HOURLY: start.replace(minute=0, second=0),
                du.MINUTELY: start.replace(second=0)}.get(freq, start)
        steps = (target - base) // unit // interval * interval
        return base + steps * unit
    except (ValueError, OverflowError):
        return None


def _explicit_defaults(freq: int, kwargs: dict[str, Any], start: datetime) -> dict[str, Any]:
    """dateutil's defaults taken from DTSTART (see ``rrule.__init__``), made explicit."""
    explicit = dict(kwargs)
    if not any(name in explicit for name in ("byweekno", "byyearday", "bymonthday",
                                             "byweekday")):
        if freq == du.YEARLY:
            explicit.setdefault("bymonth", [start.month])
            explicit["bymonthday"] = [start.day]
        elif freq == du.MONTHLY:
            explicit["bymonthday"] = [start.day]
        elif freq == du.WEEKLY:
            explicit["byweekday"] = [start.weekday()]
    if freq < du.HOURLY:
        explicit.setdefault("byhour", [start.hour])
    if freq < du.MINUTELY:
        explicit.setdefault("byminute", [start.minute])
    if freq < du.SECONDLY:
        explicit.setdefault("bysecond", [start.second])
    return explicit


def _build_rule(recur: Any, dtstart: When) -> _Rule:
    if not hasattr(recur, "items"):
        raise RecurrenceError("RRULE is not a recurrence rule")
    parts = {str(name).upper(): list(values) for name, values in recur.items()}
    freq_values = parts.pop("FREQ", [])
    if len(freq_values) != 1 or str(freq_values[0]).upper() not in _FREQS:
        raise RecurrenceError("RRULE needs exactly one valid FREQ")
    freq = _FREQS[str(freq_values[0]).upper()]
    kwargs: dict[str, Any] = {"wkst": du.MO}
    until: datetime | None = None
    count: int | None = None
    for part, values in parts.items():
        if not values:
            raise RecurrenceError(f"RRULE {part} has no value")
        if part in _INT_PARTS:
            name, low, high, signed = _INT_PARTS[part]
            kwargs[name] = _ints(values, part, low, high, signed)
        elif part == "BYDAY":
            kwargs["byweekday"] = [_weekday(value, part) for value in values]
        elif part == "INTERVAL":
            kwargs["interval"] = _int(values[0], part)
            if kwargs["interval"] < 1:
                raise RecurrenceError("RRULE INTERVAL must be positive")
        elif part == "COUNT":
            count = _int(values[0], part)
            if count < 1:
                raise RecurrenceError("RRULE COUNT must be positive")
        elif part == "UNTIL":
            until = _until_wall(values[0], dtstart)
        elif part == "WKST":
            kwargs["wkst"] = _weekday(values[0], part)
            if getattr(kwargs["wkst"], "n", None):
                raise RecurrenceError("RRULE WKST takes a plain weekday")
        elif part == "RSCALE":
            if str(values[0]).upper() != "GREGORIAN":
                raise RecurrenceError(f"RRULE RSCALE={values[0]!s} is not supported")
        elif part == "SKIP":
            if str(getattr(values[0], "value", values[0])).upper() != "OMIT":
                raise RecurrenceError("RRULE SKIP other than OMIT is not supported")
        else:
            raise RecurrenceError(f"RRULE part {part} is not supported")
    if freq > du.DAILY and "bysetpos" in kwargs:
        raise RecurrenceError("RRULE BYSETPOS is only supported with FREQ=DAILY or coarser")
    if dtstart.is_date and freq > du.DAILY:
        raise RecurrenceError("RRULE with a DATE DTSTART needs FREQ=DAILY or coarser")
    start = dtstart.wall.replace(microsecond=0)
    try:
        rule = du.rrule(freq, dtstart=start, count=count,
                        until=None if count is not None else until, **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"RRULE cannot be evaluated: {exc}") from exc
    if any(name in kwargs for name in _DAY_FILTERS):
        _probe(rule, start)
    return _Rule(rule, until, bounded=count is not None or until is not None, freq=freq,
                 kwargs=_explicit_defaults(freq, kwargs, start), counted=count is not None,
                 start=start)


def _probe(rule: Any, start: datetime) -> None:
    """Refuse a rule that yields nothing for decades.

    dateutil looks for the next match until year 9999 and never consults
    UNTIL while nothing matches, so an impossible rule (BYMONTH=2;BYMONTHDAY=30)
    would cost seconds per evaluation. The probe replays the rule near year
    9999, on a start with the same month, day and time and the same year
    modulo 28 (the leap/weekday cycle away from century years), so dateutil's
    own year limit bounds the search to 56 years.
    """
    probe_start = start.replace(year=_PROBE_FIRST_YEAR + (start.year - _PROBE_FIRST_YEAR) % 28)
    try:
        probe = rule.replace(dtstart=probe_start, count=None, until=None)
        found = probe.after(probe_start, inc=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"RRULE cannot be evaluated: {exc}") from exc
    if found is None:
        raise RecurrenceError("RRULE never produces an instance")


def _rules(component: Component, dtstart: When) -> list[_Rule]:
    props = component.get("RRULE")
    if props is None:
        return []
    return [_build_rule(prop, dtstart) for prop in (props if isinstance(props, list) else [props])]


def check_rules(component: Component, zones: Zones) -> bool:
    """Check a component's RRULEs; True when one of them is unbounded.

    Raises :class:`RecurrenceError` for a rule this module would not expand.
    """
    if component.get("RRULE") is None:
        return False
    if component.get("DTSTART") is None:
        raise RecurrenceError("RRULE needs DTSTART")
    return any(not rule.bounded for rule in _rules(component, when(component["DTSTART"], zones)))
