"""Validation of calendar object resources (RFC 4791 §4.1, §5.3.2.1).

A PUT body goes through :func:`check_media_type`, :func:`check_size`,
:func:`parse_calendar` (:func:`decode_body`, then :func:`parse_text`) and
:func:`validate_object` (or all four at once via :func:`validate_calendar_object`).
Every failure is a typed ``DAVError``; nothing from icalendar or dateutil escapes.

Leniency, decided to match what real clients send:

- No Content-Type at all is accepted (the body must still parse as
  iCalendar); a charset other than UTF-8 or a version other than 2.0 is not.
- PRODID may be missing (RFC 5545 requires it, some tools omit it). VERSION
  must be 2.0. CALSCALE, if present, must be GREGORIAN.
- LF line endings, blank lines and a UTF-8 byte order mark are accepted; a control
  character other than HTAB is not (RFC 5545 §3.1; NUL cannot even be stored, and
  XML 1.0 cannot carry any of them into a REPORT).
- Values of X- properties that do not parse are kept as they are.
- A TZID may name an IANA zone without a VTIMEZONE; any other TZID needs one.
  A VTIMEZONE repeated exactly (khal writes one per VEVENT) is one definition, and
  :func:`without_repeated_timezones` drops the copies from the text to store; two
  different definitions of one TZID are refused.
- DTEND equal to DTSTART is a zero-length event; DTEND before DTSTART is
  refused.
- max-date-time/min-date-time (RFC 4791 §5.2.6, §5.2.7) are checked against
  DTSTART, DTEND, DUE, RECURRENCE-ID and RDATE; floating values are read as
  UTC. Instances that an RRULE generates past max-date-time are neither
  refused nor counted.
- max-instances (RFC 4791 §5.2.8) counts each recurrence set from its first
  instance up to max-date-time; an unbounded RRULE is allowed and counted only
  within one ``recurrence.HORIZON`` after its first instance, so "daily,
  forever" passes while "every minute, forever" does not.
- A limit of 0 or less disables that limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from icalendar import Calendar, Component

from caldavd.caldav import recurrence
from caldavd.caldav.recurrence import RecurrenceError, When, Zones
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

__all__ = [
    "PRODID",
    "Limits",
    "ObjectInfo",
    "check_media_type",
    "check_scheduling_object",
    "check_size",
    "decode_body",
    "parse_calendar",
    "parse_text",
    "serialize",
    "timezone_calendar",
    "validate_calendar_object",
    "validate_object",
    "without_repeated_timezones",
]

PRODID = "-//caldavd//caldavd//EN"

_DATE_LIMITED = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID")


@dataclass(frozen=True)
class Limits:
    """The limits a calendar collection advertises (RFC 4791 §5.2.5-§5.2.9)."""

    max_resource_size: int
    min_date_time: datetime
    max_date_time: datetime
    max_instances: int
    max_attendees_per_instance: int
    supported_components: frozenset[str]


@dataclass(frozen=True)
class ObjectInfo:
    """What the store and scheduling need to know about a valid object."""

    uid: str
    component_type: str
    organizer: str | None
    attendees: tuple[str, ...]
    has_master: bool
    has_recurrence: bool
    """The master has RRULE or RDATE, or the object has overrides."""
    unbounded: bool
    """Some RRULE has neither COUNT nor UNTIL: the index covers a horizon only."""
    recurrence_ids: tuple[datetime, ...]
    """Overrides' RECURRENCE-IDs as UTC keys (see ``recurrence``)."""
    dtstamp: datetime | None
    sequence: int
    organizers: tuple[str, ...] = ()
    """Every ORGANIZER of the components, once each (case-insensitively), in order."""


# -- media type and size ------------------------------------------------------------

def check_media_type(content_type: str | None) -> None:
    """text/calendar, UTF-8, iCalendar 2.0 (RFC 4791 §5.3.2.1 supported-calendar-data).

    A missing header is accepted: the body is still validated as iCalendar.
    """
    if content_type is None:
        return
    media, *params = content_type.split(";")
    if media.strip().lower() != "text/calendar":
        raise SupportedCalendarData(f"media type {media.strip()!r} is not text/calendar")
    for param in params:
        name, _, value = param.partition("=")
        name, value = name.strip().lower(), value.strip().strip('"').strip().lower()
        if name == "charset" and value not in ("utf-8", "utf8"):
            raise SupportedCalendarData(f"charset {value!r} is not supported, use utf-8")
        if name == "version" and value != "2.0":
            raise SupportedCalendarData(f"iCalendar version {value!r} is not supported")


def check_size(size: int, limits: Limits) -> None:
    """max-resource-size (RFC 4791 §5.2.5); callable before the body is read."""
    if 0 < limits.max_resource_size < size:
        raise MaxResourceSize(
            f"calendar object is {size} bytes, the limit is {limits.max_resource_size}")


# -- parsing ------------------------------------------------------------------------

def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfolded content lines with the number of the physical line each starts on."""
    lines: list[tuple[int, str]] = []
    parts: list[str] = []
    first = 0
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if line[:1] in (" ", "\t"):
            if not parts:
                raise ValidCalendarData(f"line {number}: continuation line without a property")
            parts.append(line[1:])
            continue
        if parts:
            lines.append((first, "".join(parts)))
        parts, first = ([line], number) if line.strip() else ([], number)
    if parts:
        lines.append((first, "".join(parts)))
    return lines


def _check_structure(text: str) -> None:
    """Content-line syntax and BEGIN/END nesting, with line numbers (RFC 5545 §3.1, §3.4)."""
    stack: list[str] = []
    roots = 0
    for number, line in _logical_lines(text):
        name, sep, value = line.partition(":")
        if not sep:
            raise ValidCalendarData(f"line {number}: content line without ':'")
        name = name.split(";", 1)[0].strip().upper()
        if not name:
            raise ValidCalendarData(f"line {number}: content line without a name")
        if not stack and (name != "BEGIN" or roots):
            raise ValidCalendarData(
                f"line {number}: expected BEGIN:VCALENDAR" if not roots
                else f"line {number}: content after END:VCALENDAR")
        if name == "BEGIN":
            component = value.strip().upper()
            if not stack and component != "VCALENDAR":
                raise ValidCalendarData(f"line {number}: the root must be VCALENDAR, "
                                        f"not {component}")
            stack.append(component)
        elif name == "END":
            component = value.strip().upper()
            if component != stack[-1]:
                raise ValidCalendarData(f"line {number}: END:{component} closes "
                                        f"BEGIN:{stack[-1]}")
            stack.pop()
            roots += not stack
    if stack:
        raise ValidCalendarData(f"BEGIN:{stack[-1]} is never closed")
    if not roots:
        raise ValidCalendarData("the body holds no VCALENDAR")


# RFC 5545 §3.1, §3.3.11: no value holds a CONTROL character (%x00-08, %x0A-1F, %x7F)
# but HTAB; CR and LF only end lines.  U+FFFE and U+FFFF are no characters at all, and
# neither those nor the C0 controls can be carried by XML 1.0 (calendar-data in a REPORT).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def decode_body(data: bytes) -> str:
    """The body as text: UTF-8 without a byte order mark, no control character other
    than HTAB, CR and LF (valid-calendar-data)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValidCalendarData(f"line {line}: not UTF-8 (byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    control = _CONTROL.search(text)
    if control is not None:
        at = control.start()
        raise ValidCalendarData(f"line {text.count(chr(10), 0, at) + 1}: control character "
                                f"U+{ord(text[at]):04X}")
    return text


def _property_errors(cal: Component) -> str | None:
    for component in cal.walk():
        for name, message in getattr(component, "errors", None) or ():
            if name is not None and str(name).upper().startswith("X-"):
                continue
            where = f"{component.name} {name}" if name else str(component.name)
            return f"{where}: {message}"
    return None


def parse_calendar(data: bytes) -> Calendar:
    """Parse a body as one VCALENDAR (RFC 4791 §5.3.2.1 valid-calendar-data)."""
    return parse_text(decode_body(data))


def parse_text(text: str) -> Calendar:
    """:func:`parse_calendar` of a body already through :func:`decode_body`."""
    _check_structure(text)
    try:
        cal = Calendar.from_ical(text)
    except Exception as exc:  # untrusted input into a third-party parser: any failure
        raise ValidCalendarData(f"not valid iCalendar: {exc}") from None
    if not isinstance(cal, Calendar) or cal.name != "VCALENDAR":
        raise ValidCalendarData("the root must be VCALENDAR")
    problem = _property_errors(cal)
    if problem is not None:
        raise ValidCalendarData(f"not valid iCalendar: {problem}")
    version = cal.get("VERSION")
    if version is None or isinstance(version, list) or str(version).strip() != "2.0":
        raise ValidCalendarData("VERSION:2.0 is required")
    calscale = cal.get("CALSCALE")
    if calscale is not None and str(calscale).strip().upper() != "GREGORIAN":
        raise ValidCalendarData("only CALSCALE:GREGORIAN is supported")
    return cal


def timezone_calendar(text: str) -> tzinfo:
    """The zone of a calendar-timezone property (RFC 4791 §5.2.2) or a REPORT's
    CALDAV:timezone (§9.8): "an iCalendar object with exactly one VTIMEZONE component"
    and no other; ValidCalendarData says why it is not one."""
    cal = parse_calendar(text.encode())
    if [sub.name for sub in cal.subcomponents] != ["VTIMEZONE"]:
        raise ValidCalendarData("the iCalendar object must hold exactly one VTIMEZONE "
                                "and no other component")
    try:
        return recurrence.zone_of_vtimezone(cal.subcomponents[0], lookup_tzid=True)
    except Exception as exc:  # untrusted input into a third-party parser: any failure
        raise ValidCalendarData(f"the VTIMEZONE defines no usable zone: {exc}") from None


def serialize(cal: Calendar) -> bytes:
    """iCalendar text, properties in their original order."""
    return bytes(cal.to_ical(sorted=False))


# -- calendar object rules ----------------------------------------------------------

def _values(component: Component, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _single(component: Component, name: str) -> Any:
    values = _values(component, name)
    if len(values) > 1:
        raise ValidCalendarData(f"{component.name} has more than one {name}")
    return values[0] if values else None


def _when(component: Component, name: str, zones: Zones) -> When | None:
    prop = _single(component, name)
    if prop is None:
        return None
    try:
        return recurrence.when(prop, zones)
    except RecurrenceError as exc:
        raise ValidCalendarData(f"{component.name} {name}: {exc}") from None


def _tzids(component: Component) -> set[str]:
    found = set()
    for item in component.walk():
        for value in item.values():
            for prop in value if isinstance(value, list) else [value]:
                params = getattr(prop, "params", None)
                if params and params.get("TZID"):
                    found.add(str(params["TZID"]))
    return found


# -- VTIMEZONE copies ----------------------------------------------------------------

_Form = tuple[str, tuple[str, ...], tuple[Any, ...]]


def _form(component: Component) -> _Form:
    """A component's content whatever its property order and line folding: name, sorted
    content lines (parameters sorted), sorted subcomponents."""
    lines = sorted(component.content_line(name, value).to_ical().decode()
                   for name, value in component.property_items(recursive=False)
                   if name not in ("BEGIN", "END"))
    return (str(component.name), tuple(lines),
            tuple(sorted(_form(sub) for sub in component.subcomponents)))


def _repeated_timezones(cal: Calendar) -> list[Component]:
    """The VTIMEZONEs that repeat an earlier one exactly (khal writes one per VEVENT).

    RFC 5545 §3.6.5: each VTIMEZONE of an object "MUST represent a unique time zone
    definition", so two that differ under one TZID are refused (valid-calendar-data).
    """
    seen: dict[str, _Form] = {}
    repeats = []
    for component in cal.subcomponents:
        if component.name != "VTIMEZONE":
            continue
        tzid = str(component.get("TZID", "")).strip()
        if not tzid:
            raise ValidCalendarData("VTIMEZONE without TZID")
        try:
            form = _form(component)
        except Exception as exc:  # icalendar on untrusted values: any failure
            raise ValidCalendarData(f"VTIMEZONE {tzid}: {exc}") from None
        if tzid not in seen:
            seen[tzid] = form
        elif seen[tzid] == form:
            repeats.append(component)
        else:
            raise ValidCalendarData(f"VTIMEZONE {tzid} is defined twice, differently "
                                    "(RFC 5545 §3.6.5: one definition per TZID)")
    return repeats


def _top_level_blocks(text: str, name: str) -> list[tuple[int, int]]:
    """(first, last + 1) physical line indices (0-based) of each ``name`` component
    directly inside the VCALENDAR, with the blank lines that follow it."""
    blocks: list[tuple[int, int]] = []
    depth, begin = 0, -1
    lines = _logical_lines(text)
    for index, (number, line) in enumerate(lines):
        key, _, value = line.partition(":")
        key = key.split(";", 1)[0].strip().upper()
        if key == "BEGIN":
            depth += 1
            if depth == 2 and value.strip().upper() == name:
                begin = number - 1
        elif key == "END":
            if depth == 2 and begin >= 0:
                after = lines[index + 1][0] - 1 if index + 1 < len(lines) else text.count("\n") + 1
                blocks.append((begin, after))
                begin = -1
            depth -= 1
    return blocks


def without_repeated_timezones(text: str, cal: Calendar) -> str:
    """``text`` with the exact copies of a VTIMEZONE left out (``cal`` loses them too);
    ``text`` itself when there are none.  Refuses differing definitions of one TZID."""
    repeats = _repeated_timezones(cal)
    if not repeats:
        return text
    repeated = {id(component) for component in repeats}
    timezones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
    blocks = _top_level_blocks(text, "VTIMEZONE")
    dropped = [blocks[i] for i, c in enumerate(timezones) if id(c) in repeated]
    cal.subcomponents[:] = [c for c in cal.subcomponents if id(c) not in repeated]
    lines = text.split("\n")
    kept = [line for i, line in enumerate(lines)
            if not any(first <= i < end for first, end in dropped)]
    return "\n".join(kept)


def _check_timezones(cal: Calendar, main: list[Component], zones: Zones) -> None:
    _repeated_timezones(cal)  # a TZID twice is fine only as an exact copy
    seen = {str(c.get("TZID", "")).strip() for c in cal.subcomponents
            if c.name == "VTIMEZONE"}
    for component in main:
        for tzid in sorted(_tzids(component)):
            if recurrence.iana_zone(tzid) is not None:
                continue
            if tzid not in seen:
                raise ValidCalendarObjectResource(
                    f"TZID {tzid} has no VTIMEZONE (RFC 5545 §3.2.19)")
            if zones.resolve(tzid) is None:
                raise ValidCalendarData(f"VTIMEZONE {tzid} cannot be interpreted")


def _check_times(component: Component, zones: Zones) -> None:
    """DTSTART/DTEND/DUE/DURATION rules of RFC 5545 §3.6.1-§3.6.2, §3.8.2."""
    name = component.name
    dtstart = _when(component, "DTSTART", zones)
    end_name = "DUE" if name == "VTODO" else "DTEND"
    end = _when(component, end_name, zones)
    duration = _single(component, "DURATION")
    if duration is not None and not hasattr(getattr(duration, "dt", None), "total_seconds"):
        raise ValidCalendarData(f"{name} DURATION is not a duration")
    if name == "VEVENT" and dtstart is None:
        raise ValidCalendarObjectResource("VEVENT without DTSTART")
    if end is not None and duration is not None:
        raise ValidCalendarObjectResource(f"{name} has both {end_name} and DURATION")
    if duration is not None and dtstart is None:
        raise ValidCalendarObjectResource(f"{name} has DURATION but no DTSTART")
    if duration is not None and duration.dt.total_seconds() < 0:
        raise ValidCalendarObjectResource(f"{name} has a negative DURATION")
    if dtstart is None or end is None:
        return
    if end.is_date != dtstart.is_date:
        raise ValidCalendarObjectResource(
            f"{name} {end_name} and DTSTART must both be DATE or both DATE-TIME")
    both_fixed = not dtstart.floating and not end.floating
    if (end.utc() < dtstart.utc()) if both_fixed else (end.wall < dtstart.wall):
        raise ValidCalendarObjectResource(f"{name} {end_name} is before DTSTART")


def _check_recurrence(component: Component, zones: Zones) -> bool:
    """Recurrence needs DTSTART and RRULEs this server expands; True if one is unbounded."""
    if ("RRULE" in component or "RDATE" in component) and "DTSTART" not in component:
        raise ValidCalendarObjectResource(f"{component.name} recurs but has no DTSTART")
    try:
        return recurrence.check_rules(component, zones)
    except RecurrenceError as exc:
        raise ValidCalendarData(f"{component.name}: {exc}") from None


def _address(prop: Any) -> str:
    return str(prop).strip()


def _check_attendees(main: list[Component], limit: int) -> tuple[str, ...]:
    everyone: dict[str, str] = {}
    for component in main:
        addresses = {_address(prop).lower(): _address(prop)
                     for prop in _values(component, "ATTENDEE")}
        if 0 < limit < len(addresses):
            raise MaxAttendeesPerInstance(
                f"{len(addresses)} attendees in one instance, the limit is {limit}")
        for key, address in addresses.items():
            everyone.setdefault(key, address)
    return tuple(everyone.values())


def _organizers(main: list[Component]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for component in main:
        for prop in _values(component, "ORGANIZER"):
            found.setdefault(_address(prop).lower(), _address(prop))
    return tuple(found.values())


def _limited_dates(component: Component, zones: Zones) -> list[datetime]:
    found = []
    for name in _DATE_LIMITED:
        value = _when(component, name, zones)
        if value is not None:
            found.append(value.utc())
    for prop in _values(component, "RDATE"):
        tzid = (getattr(prop, "params", None) or {}).get("TZID")
        tzid = str(tzid) if tzid else None
        for item in getattr(prop, "dts", ()):
            value = getattr(item, "dt", None)
            start = value[0] if isinstance(value, tuple) else value
            try:
                found.append(recurrence.when_value(start, tzid, zones).utc())
            except RecurrenceError as exc:
                raise ValidCalendarData(f"{component.name} RDATE: {exc}") from None
    return found


def _check_dates(main: list[Component], zones: Zones, limits: Limits) -> None:
    for component in main:
        for value in _limited_dates(component, zones):
            if value < limits.min_date_time:
                raise MinDateTime(f"{value:%Y%m%dT%H%M%SZ} is before min-date-time "
                                  f"{limits.min_date_time.astimezone(UTC):%Y%m%dT%H%M%SZ}")
            if value > limits.max_date_time:
                raise MaxDateTime(f"{value:%Y%m%dT%H%M%SZ} is after max-date-time "
                                  f"{limits.max_date_time.astimezone(UTC):%Y%m%dT%H%M%SZ}")


def _main_components(cal: Calendar) -> list[Component]:
    return [component for component in cal.subcomponents
            if component.name != "VTIMEZONE"
            and not str(component.name).upper().startswith("X-")]


def _component_type(main: list[Component], limits: Limits) -> str:
    if not main:
        raise ValidCalendarObjectResource("no calendar component (RFC 4791 §4.1)")
    types = sorted({str(component.name) for component in main})
    if len(types) > 1:
        raise ValidCalendarObjectResource(
            f"one component type per resource (RFC 4791 §4.1), found {', '.join(types)}")
    if types[0] not in limits.supported_components:
        raise SupportedCalendarComponent(f"{types[0]} is not supported by this calendar")
    return types[0]


def _uid(main: list[Component]) -> str:
    uids = set()
    for component in main:
        uid = _single(component, "UID")
        if uid is None or not str(uid).strip():
            raise ValidCalendarObjectResource(f"{component.name} without UID")
        uids.add(str(uid))
    if len(uids) > 1:
        raise ValidCalendarObjectResource("all components must share one UID (RFC 4791 §4.1)")
    return uids.pop()


def _recurrence_keys(main: list[Component], zones: Zones) -> tuple[bool, tuple[datetime, ...]]:
    masters = [c for c in main if "RECURRENCE-ID" not in c]
    if len(masters) > 1:
        raise ValidCalendarObjectResource(
            "more than one component without RECURRENCE-ID (RFC 4791 §4.1)")
    master_tz = None
    if masters:
        start = _when(masters[0], "DTSTART", zones)
        master_tz = start.tz if start is not None else None
    keys: dict[datetime, None] = {}
    for component in main:
        rid = _when(component, "RECURRENCE-ID", zones)
        if rid is None:
            continue
        key = rid.key(master_tz)
        if key in keys:
            raise ValidCalendarObjectResource(
                f"RECURRENCE-ID {key:%Y%m%dT%H%M%SZ} is used twice")
        keys[key] = None
    return bool(masters), tuple(keys)


def _count_instances(cal: Calendar, limits: Limits) -> None:
    if limits.max_instances <= 0:
        return
    try:
        count = recurrence.count_instances(cal, stop=limits.max_instances + 1,
                                           before=limits.max_date_time)
    except RecurrenceError as exc:
        raise ValidCalendarData(f"recurrence cannot be expanded: {exc}") from None
    if count > limits.max_instances:
        raise MaxInstances(f"more than {limits.max_instances} instances")


def _dtstamp(component: Component, zones: Zones) -> datetime | None:
    value = _when(component, "DTSTAMP", zones)
    return value.utc() if value is not None else None


def _sequence(component: Component) -> int:
    value = _single(component, "SEQUENCE")
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        raise ValidCalendarData("SEQUENCE is not an integer") from None


def validate_object(cal: Calendar, limits: Limits, *, size: int | None = None) -> ObjectInfo:
    """Apply the calendar object resource rules (RFC 4791 §4.1) and collection limits."""
    if size is not None:
        check_size(size, limits)
    try:
        return _validate(cal, limits)
    except DAVError:
        raise
    except Exception as exc:  # whatever icalendar/dateutil trip over is invalid data
        raise ValidCalendarData(f"not valid iCalendar: {exc}") from None


def _validate(cal: Calendar, limits: Limits) -> ObjectInfo:
    if "METHOD" in cal:
        raise ValidCalendarObjectResource(
            "METHOD is not allowed in a calendar object resource (RFC 4791 §4.1)")
    main = _main_components(cal)
    component_type = _component_type(main, limits)
    uid = _uid(main)
    zones = Zones(cal)
    has_master, recurrence_ids = _recurrence_keys(main, zones)
    _check_timezones(cal, main, zones)
    unbounded = False
    for component in main:
        _check_times(component, zones)
        unbounded = _check_recurrence(component, zones) or unbounded
    attendees = _check_attendees(main, limits.max_attendees_per_instance)
    _check_dates(main, zones, limits)
    _count_instances(cal, limits)
    master = next((c for c in main if "RECURRENCE-ID" not in c), main[0])
    organizer = _single(master, "ORGANIZER")
    return ObjectInfo(
        uid=uid,
        component_type=component_type,
        organizer=_address(organizer) if organizer is not None else None,
        attendees=attendees,
        has_master=has_master,
        has_recurrence=bool(recurrence_ids) or (
            has_master and ("RRULE" in master or "RDATE" in master)),
        unbounded=unbounded,
        recurrence_ids=recurrence_ids,
        dtstamp=_dtstamp(master, zones),
        sequence=_sequence(master),
        organizers=_organizers(main),
    )


def is_scheduling_object(info: ObjectInfo, owner_addresses: Iterable[str],
                         key: Callable[[str], str] = str.lower) -> bool:
    """RFC 6638 §3.1: an ORGANIZER that is the calendar's owner (an organizer scheduling
    object), or another ORGANIZER with the owner among the ATTENDEEs (an attendee one).
    Addresses are compared by ``key`` (``scheduling.addresses.normalise``)."""
    if info.organizer is None:
        return False
    mine = {key(address) for address in owner_addresses}
    return key(info.organizer) in mine or any(key(a) in mine for a in info.attendees)


def check_scheduling_object(info: ObjectInfo) -> None:
    """The rules a scheduling object resource's data must keep (RFC 6638 §3.2.4.2: one
    ORGANIZER in all its components; an override without one inherits the master's)."""
    if len(info.organizers) > 1:
        raise SameOrganizerInAllComponents(
            "the components name different organizers: " + ", ".join(info.organizers))


def validate_calendar_object(data: bytes, content_type: str | None,
                             limits: Limits) -> tuple[Calendar, ObjectInfo]:
    """Everything a PUT/COPY/MOVE target needs, in order (RFC 4791 §5.3.2.1)."""
    check_media_type(content_type)
    check_size(len(data), limits)
    cal = parse_calendar(data)
    return cal, validate_object(cal, limits)

