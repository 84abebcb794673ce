"""Properties clients may set (PROPPATCH, MKCALENDAR, extended MKCOL), checked here.

Computed (live) properties are protected (RFC 4918 §9.2.1
cannot-modify-protected-property), except that supported-calendar-component-set
may be given when a calendar is created (RFC 4791 §5.2.3).  The rest are
stored as dead properties once their value passes the check below.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from icalendar import Component
from lxml import etree

from caldavd.caldav import ical
from caldavd.caldav.budget import Budget
from caldavd.caldav.components import CALENDAR_COMPONENTS
from caldavd.dav import names
from caldavd.dav.errors import (
    BadRequest,
    CannotModifyProtectedProperty,
    Conflict,
    DAVError,
    InsufficientStorage,
    ValidCalendarTimezone,
)
from caldavd.dav.multistatus import Propstat
from caldavd.dav.requests import PropOp
from caldavd.dav.xml import element
from caldavd.http.context import Context
from caldavd.http.offload import off_loop
from caldavd.http.propvalues import to_stored
from caldavd.http.registry import Registry
from caldavd.http.resources import Resource

MAX_DEAD_PROPERTY = 64 * 1024
COMPONENT_TYPES = frozenset(CALENDAR_COMPONENTS)

# Live on some resources (principals) but a client-set dead property on others.
DEAD_ON_SOME_RESOURCES = frozenset({names.DISPLAYNAME})

Check = Callable[[etree._Element], None]


def _text(prop: etree._Element) -> str:
    return "".join(str(t) for t in prop.itertext()).strip()


def _check_timezone(prop: etree._Element) -> None:
    """RFC 4791 §5.2.2, the rule of ``ical.timezone_calendar``."""
    try:
        ical.timezone_calendar(_text(prop))
    except DAVError as exc:
        raise ValidCalendarTimezone(f"calendar-timezone: {exc.message}") from None


# A value a property cannot take is 409 in its propstat (RFC 4918 §9.2.1), not 400.
def _check_transp(prop: etree._Element) -> None:
    kinds = {child.tag for child in prop if isinstance(child.tag, str)}
    if len(kinds) != 1 or not kinds <= {names.OPAQUE, names.TRANSPARENT}:
        raise Conflict("schedule-calendar-transp takes one of CALDAV:opaque or "
                       "CALDAV:transparent")


def _check_order(prop: etree._Element) -> None:
    text = _text(prop)
    if text and not text.lstrip("-").isdigit():
        raise Conflict("calendar-order must be an integer")


def _check_alarms(prop: etree._Element) -> None:
    """Apple's default alarms: empty, or VALARM components (each with the ACTION and
    TRIGGER RFC 5545 §3.6.6 requires), which clients copy into new events."""
    text = _text(prop)
    if not text:
        return
    try:
        parsed = Component.from_ical(text, multiple=True)
    except Exception:  # untrusted input into a third-party parser: any failure
        parsed = []
    if not parsed or any(c.name != "VALARM" or "ACTION" not in c or "TRIGGER" not in c
                         for c in parsed):
        raise Conflict(f"{etree.QName(prop).localname} must hold VALARM components")


# Properties whose check parses iCalendar.
PARSED = frozenset({names.CALENDAR_TIMEZONE, *names.DEFAULT_ALARMS})

CHECKS: dict[str, Check] = {
    names.CALENDAR_TIMEZONE: _check_timezone,
    names.SCHEDULE_CALENDAR_TRANSP: _check_transp,
    names.CALENDAR_ORDER: _check_order,
    **dict.fromkeys(names.DEFAULT_ALARMS, _check_alarms),
}


def parse_components(prop: etree._Element) -> frozenset[str]:
    """CALDAV:supported-calendar-component-set at creation (RFC 4791 §5.2.3)."""
    found = frozenset(child.get("name", "").upper() for child in prop
                      if child.tag == names.COMP)
    if not found or not found <= COMPONENT_TYPES:
        raise BadRequest("supported-calendar-component-set must name VEVENT, VTODO, "
                         "VJOURNAL or VFREEBUSY")
    return found


@dataclass
class PropertyChanges:
    """Checked operations, ready for the store; ``failures`` empty when all are fine."""

    set: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    components: frozenset[str] | None = None
    failures: dict[str, DAVError] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def refuse(self, names: Iterable[str], error: DAVError) -> None:
        """``names`` failed with ``error`` after all (the store refused the write)."""
        for name in names:
            self.failures[name] = error

    def propstats(self) -> list[Propstat]:
        """RFC 4918 §9.2: 200 for all on success; else 403/409 per failure, 424 the rest."""
        if not self.failures:
            return [Propstat(200, tuple(element(n) for n in self.names))]
        by_error: dict[int, tuple[DAVError, list[str]]] = {}
        for name, error in self.failures.items():  # one refusal of many names: one propstat
            by_error.setdefault(id(error), (error, []))[1].append(name)
        failed = [Propstat(e.status, tuple(element(n) for n in failed_names), error=e)
                  for e, failed_names in by_error.values()]
        rest = tuple(element(n) for n in self.names if n not in self.failures)
        return failed + ([Propstat(424, rest)] if rest else [])


async def checked_operations(ctx: Context, ops: Sequence[PropOp], resource: Resource, *,
                             creating: bool) -> PropertyChanges:
    """:func:`check_operations`, on the bounded executor when it parses iCalendar
    (calendar-timezone, up to MAX_DEAD_PROPERTY each, as often as the body names it)."""
    work = functools.partial(check_operations, ctx.registry, ops, resource, creating=creating)
    if not any(op.name in PARSED and op.kind != "remove" for op in ops):
        return work()
    return await off_loop(ctx, Budget(0), work)


def check_operations(registry: Registry, ops: Sequence[PropOp], resource: Resource, *,
                     creating: bool) -> PropertyChanges:
    """Check every operation against ``resource`` (for MKCALENDAR: the calendar to be)."""
    changes = PropertyChanges()
    for op in ops:
        changes.names.append(op.name)
        try:
            _apply(registry, changes, op, resource, creating)
        except DAVError as exc:
            changes.failures[op.name] = exc
    changes.names = list(dict.fromkeys(changes.names))
    return changes


def settable(registry: Registry, name: str, resource: Resource) -> bool:
    """Whether a client may store ``name`` on ``resource`` as a dead property: only such
    names can have a stored value there (so only they need the dead-property query)."""
    return registry.live_property(name, resource) is None and (
        not registry.is_live(name) or name in DEAD_ON_SOME_RESOURCES)


def _apply(registry: Registry, changes: PropertyChanges, op: PropOp, resource: Resource,
           creating: bool) -> None:
    if creating and op.name == names.SUPPORTED_CALENDAR_COMPONENT_SET and op.element is not None:
        changes.components = parse_components(op.element)
        return
    if not settable(registry, op.name, resource):
        raise CannotModifyProtectedProperty(f"{op.name} is protected")
    if op.kind == "remove":
        changes.set.pop(op.name, None)
        changes.remove.append(op.name)
        return
    if op.element is None:
        raise RuntimeError("op.element is not set")
    value = to_stored(op.element)
    if len(value) > MAX_DEAD_PROPERTY:  # before a check parses it
        raise InsufficientStorage(f"property values are limited to {MAX_DEAD_PROPERTY} bytes")
    check = CHECKS.get(op.name)
    if check is not None:
        check(op.element)
    changes.set[op.name] = value
    if op.name in changes.remove:
        changes.remove.remove(op.name)
