"""What the iTIP functions share: the components of an object by recurrence key, the
ORGANIZER and ATTENDEE properties with their scheduling parameters (RFC 6638 §7), and
the shell of an iTIP message (RFC 5546 §3)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from icalendar import Calendar, Component

from caldavd.caldav import recurrence
from caldavd.caldav.components import CALENDAR_COMPONENTS
from caldavd.caldav.ical import PRODID
from caldavd.caldav.recurrence import RecurrenceError, Zones
from caldavd.scheduling.addresses import normalise

SCHEDULED = tuple(name for name in CALENDAR_COMPONENTS if name != "VFREEBUSY")
"""The component types that carry ORGANIZER and ATTENDEE for scheduling."""

Key = str | None
"""A component's place in its object: None for the master, else its RECURRENCE-ID as a
UTC key (``recurrence.When.key``) written ``YYYYMMDDTHHMMSSZ``."""

SERVER = "SERVER"
NEEDS_ACTION = "NEEDS-ACTION"

# RFC 6638 §7.1-§7.3: the server keeps these off every message it sends.
SERVER_PARAMS = ("SCHEDULE-AGENT", "SCHEDULE-STATUS", "SCHEDULE-FORCE-SEND")


@dataclass(frozen=True)
class Message:
    """One iTIP message (RFC 5546) to one calendar user.

    ``recurrence_ids`` names the instances the message is about; () when it carries the
    master (the whole event)."""

    recipient: str
    method: str
    calendar: Calendar
    recurrence_ids: tuple[str, ...]
    sequence: int


def key_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def values(component: Component, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class Keyed:
    """The scheduled components of one calendar object by :data:`Key`, with the
    RECURRENCE-ID (or EXDATE) value each instance key was read from."""

    def __init__(self, cal: Calendar | None) -> None:
        self.cal = cal
        self.zones = Zones(cal)
        self.by_key: dict[Key, Component] = {}
        self.rid_values: dict[str, Any] = {}
        self._people: dict[Key, dict[str, Any]] = {}
        self._exdates: frozenset[str] | None = None
        main = [c for c in cal.subcomponents if c.name in SCHEDULED] if cal is not None else []
        self.master: Component | None = next(
            (c for c in main if "RECURRENCE-ID" not in c), None)
        self.tz = self._tz(self.master)
        for component in main:
            rid = component.get("RECURRENCE-ID")
            if rid is None:
                self.by_key.setdefault(None, component)
                continue
            key = self.key_of(rid)
            self.by_key[key] = component
            self.rid_values.setdefault(key, rid.dt)

    def _tz(self, master: Component | None) -> tzinfo | None:
        if master is None or "DTSTART" not in master:
            return None
        try:
            return recurrence.when(master["DTSTART"], self.zones).tz
        except RecurrenceError:
            return None

    def key_of(self, prop: Any) -> str:
        return key_text(recurrence.when(prop, self.zones).key(self.tz))

    def value_key(self, value: date, tzid: str | None) -> str:
        return key_text(recurrence.when_value(value, tzid, self.zones).key(self.tz))

    def exdates(self) -> frozenset[str]:
        """The master's EXDATE keys (each value recorded in ``rid_values``), read once:
        callers that add an EXDATE use :meth:`forget_exdates`."""
        if self._exdates is None:
            self._exdates = frozenset(self._dates("EXDATE"))
        return self._exdates

    def forget_exdates(self) -> None:
        self._exdates = None

    def people(self, key: Key) -> dict[str, Any]:
        """The ATTENDEEs of the component at ``key`` by normalised address (the first of
        a repeated one), built once: a large meeting is not searched per attendee."""
        found = self._people.get(key)
        if found is None:
            found = {}
            for prop in attendees(self.by_key[key]) if key in self.by_key else ():
                found.setdefault(normalise(str(prop)), prop)
            self._people[key] = found
        return found

    def attendee(self, key: Key, address: str) -> Any | None:
        return self.people(key).get(normalise(address))

    def rdates(self) -> set[str]:
        return self._dates("RDATE")

    def _dates(self, name: str) -> set[str]:
        found: set[str] = set()
        if self.master is None:
            return found
        for prop in values(self.master, name):
            tzid = (getattr(prop, "params", None) or {}).get("TZID")
            for item in getattr(prop, "dts", ()):
                value = getattr(item, "dt", item)
                value = value[0] if isinstance(value, tuple) else value
                key = self.value_key(value, str(tzid) if tzid else None)
                found.add(key)
                self.rid_values.setdefault(key, value)
        return found

    def overrides(self) -> list[str]:
        return [key for key in self.by_key if key is not None]

    def uid(self) -> str:
        for component in self.by_key.values():
            return str(component.get("UID", ""))
        return ""

    def organizer(self) -> str | None:
        for component in self.by_key.values():
            prop = component.get("ORGANIZER")
            if prop is not None and not isinstance(prop, list):
                return str(prop).strip()
        return None


# -- ATTENDEE and ORGANIZER --------------------------------------------------------

def attendees(component: Component) -> list[Any]:
    return values(component, "ATTENDEE")


def find_attendee(component: Component, address: str) -> Any | None:
    wanted = normalise(address)
    return next((prop for prop in attendees(component) if normalise(str(prop)) == wanted),
                None)


def param(prop: Any, name: str, default: str = "") -> str:
    params = getattr(prop, "params", None) or {}
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, list):
        value = value[0] if value else default
    return str(value).strip().upper()


def agent(prop: Any) -> str:
    """SCHEDULE-AGENT (RFC 6638 §7.1): SERVER unless the client said otherwise."""
    return param(prop, "SCHEDULE-AGENT", SERVER)


def partstat(prop: Any) -> str:
    return param(prop, "PARTSTAT", NEEDS_ACTION)


def drop_params(prop: Any, names: Iterable[str]) -> None:
    params = getattr(prop, "params", None)
    if params is None:
        return
    for name in names:
        params.pop(name, None)


def scheduling_props(component: Component) -> Iterator[Any]:
    """ORGANIZER and every ATTENDEE of a component."""
    yield from values(component, "ORGANIZER")
    yield from attendees(component)


def sequence(component: Component | None) -> int:
    value = component.get("SEQUENCE") if component is not None else None
    try:
        return int(value) if value is not None and not isinstance(value, list) else 0
    except (TypeError, ValueError):
        return 0


def set_sequence(component: Component, number: int) -> None:
    component.pop("SEQUENCE", None)
    component.add("SEQUENCE", number)


def is_cancelled(component: Component) -> bool:
    status = component.get("STATUS")
    return status is not None and not isinstance(status, list) \
        and str(status).strip().upper() == "CANCELLED"


# -- messages ----------------------------------------------------------------------

def for_message(component: Component, now: datetime | None = None) -> Component:
    """A copy to send: no VALARM (the sender's own reminders) and none of the server's
    scheduling parameters (RFC 6638 §7); DTSTAMP ``now`` when given (RFC 5546 §1.4)."""
    copy: Component = component.copy(recursive=True)
    copy.subcomponents[:] = [sub for sub in copy.subcomponents if sub.name != "VALARM"]
    for prop in scheduling_props(copy):
        drop_params(prop, SERVER_PARAMS)
    if now is not None:
        copy.pop("DTSTAMP", None)
        copy.add("DTSTAMP", now)
    return copy


def sign(prop: Any, sent_by: str | None) -> None:
    """SENT-BY on an ORGANIZER or ATTENDEE (RFC 5545 §3.2.18): a delegate acted for the
    calendar user (RFC 6638 §3.2.1, write delegates schedule on the owner's behalf)."""
    if prop is not None and sent_by:
        prop.params["SENT-BY"] = sent_by


def message_calendar(source: Calendar | None, method: str,
                     components: Iterable[Component]) -> Calendar:
    """A VCALENDAR with METHOD, the source's VTIMEZONEs and ``components``."""
    cal = Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("METHOD", method)
    if source is not None:
        for timezone in source.subcomponents:
            if timezone.name == "VTIMEZONE":
                cal.add_component(timezone.copy(recursive=True))
    for component in components:
        cal.add_component(component)
    return cal


def stub(component: Component, keep: Iterable[str]) -> Component:
    """A new component of the same type holding only the properties named in ``keep``
    (in that order), each copied."""
    new: Component = type(component)()
    for name in keep:
        for value in values(component, name):
            new.add(name, value)
    return new


def set_rid(component: Component, value: date) -> None:
    component.pop("RECURRENCE-ID", None)
    component.add("RECURRENCE-ID", value)


def form(component: Component, drop: frozenset[str] = frozenset()) -> tuple[Any, ...]:
    """A component's content whatever its property order and folding: its type, sorted
    content lines (the properties in ``drop`` left out) and sorted subcomponent forms."""
    lines = sorted(component.content_line(name, value).to_ical().decode()
                   for name, value in component.property_items(recursive=False)
                   if name not in ("BEGIN", "END") and name not in drop)
    subs = sorted(form(sub, drop) for sub in component.subcomponents)
    return (str(component.name), tuple(lines), tuple(subs))


def key_moment(key: str) -> datetime:
    """The UTC instant a :data:`Key` is written for."""
    return datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def times(component: Component, keyed: Keyed) -> tuple[Any, ...]:
    """Start and length as instants, whatever zone or form they are written in."""
    try:
        start = recurrence.when(component["DTSTART"], keyed.zones) \
            if "DTSTART" in component else None
        end_name = "DUE" if component.name == "VTODO" else "DTEND"
        end = recurrence.when(component[end_name], keyed.zones) \
            if end_name in component else None
    except RecurrenceError:
        return (str(component.get("DTSTART")), None, str(component.get("DTEND")))
    duration = getattr(component.get("DURATION"), "dt", None)
    if start is None:
        return (None, end.utc() if end is not None else None, duration)
    length = end.utc() - start.utc() if end is not None else duration or timedelta(0)
    return (start.utc(), start.is_date, length)


def rules(component: Component) -> list[bytes]:
    return sorted(bytes(rule.to_ical()) for rule in values(component, "RRULE"))
