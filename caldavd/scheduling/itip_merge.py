"""What a delivered message does to a copy (RFC 5546 §3.2, RFC 6638 §3.2.2, §4): a
REQUEST becomes the attendee's copy, a CANCEL removes instances or the copy, a REPLY
updates the organizer's copy."""

from __future__ import annotations

from typing import Any

from icalendar import Calendar, Component

from caldavd.caldav.overrides import instance_override
from caldavd.scheduling.addresses import Address
from caldavd.scheduling.itip_common import (
    SCHEDULED,
    Key,
    Keyed,
    find_attendee,
    key_moment,
    partstat,
)
from caldavd.scheduling.itip_organizer import changed_significantly

STATUS_SUCCESS = "2.0"  # RFC 6638 §3.2.9: the REPLY was processed
# The attendee's own data in their copy, kept when the organizer's data replaces it.
_ATTENDEE_PROPS = ("TRANSP",)


def _stored(message: Calendar) -> Calendar:
    """The message as a calendar object resource: no METHOD (RFC 4791 §4.1)."""
    cal: Calendar = message.copy(recursive=True)
    cal.pop("METHOD", None)
    return cal


def apply_request(existing: Calendar | None, message: Calendar,
                  attendee: Address) -> Calendar:
    """The attendee's copy after a REQUEST: the organizer's components, each keeping the
    attendee's VALARMs and TRANSP from the copy's same instance (or its master), and the
    attendee's PARTSTAT where the change is not significant (RFC 6638 §3.2.8), so an
    answer not yet merged by the organizer stands."""
    cal = _stored(message)
    if existing is None:
        return cal
    old, new = Keyed(existing), Keyed(cal)
    for key, component in new.by_key.items():
        before = old.by_key.get(key) or (old.master if key is not None else None)
        if before is None:
            continue
        _keep_own(before, component)
        if not changed_significantly(old.by_key.get(key), component, key, old, new):
            _keep_answer(before, component, attendee)
    return cal


def _keep_own(before: Component, component: Component) -> None:
    component.subcomponents[:] = [
        *(sub for sub in component.subcomponents if sub.name != "VALARM"),
        *(sub.copy(recursive=True) for sub in before.subcomponents if sub.name == "VALARM")]
    for name in _ATTENDEE_PROPS:
        component.pop(name, None)
        if name in before:
            component.add(name, before[name])


def _keep_answer(before: Component, component: Component, attendee: str) -> None:
    mine, theirs = find_attendee(before, attendee), find_attendee(component, attendee)
    if mine is not None and theirs is not None:
        theirs.params["PARTSTAT"] = partstat(mine)


def apply_cancel(existing: Calendar | None, message: Calendar) -> Calendar | None:
    """The attendee's copy after a CANCEL (RFC 5546 §3.2.5): None (delete it) when the
    master or every instance left is cancelled, else the copy without the cancelled
    overrides and with an EXDATE in the master for each cancelled instance."""
    if existing is None:
        return None
    cal: Calendar = existing.copy(recursive=True)
    keyed = Keyed(cal)
    cancelled = [c for c in message.subcomponents if c.name in SCHEDULED]
    if any("RECURRENCE-ID" not in c for c in cancelled):
        return None
    for component in cancelled:
        rid: Any = component.get("RECURRENCE-ID")
        key = keyed.key_of(rid)
        override = keyed.by_key.pop(key, None)
        if override is not None:
            cal.subcomponents.remove(override)
        if keyed.master is not None and key not in keyed.exdates():
            keyed.master.add("EXDATE", rid.dt)
            keyed.forget_exdates()
    return cal if keyed.by_key else None


def merge_reply(organizer_copy: Calendar, reply: Calendar, attendee: Address) -> Calendar:
    """The organizer's copy after a REPLY (RFC 5546 §3.2.3, RFC 6638 §3.2.2): the
    attendee's PARTSTAT per instance, with SCHEDULE-STATUS 2.0; an instance the copy only
    has as an occurrence of the master gets an override of its own.  Nothing else of the
    reply is taken: only that attendee's answer is theirs to give."""
    cal: Calendar = organizer_copy.copy(recursive=True)
    keyed = Keyed(cal)
    for component in reply.subcomponents:
        answer = find_attendee(component, attendee) if component.name in SCHEDULED else None
        if answer is None:
            continue
        rid = component.get("RECURRENCE-ID")
        key: Key = keyed.key_of(rid) if rid is not None else None
        target = keyed.by_key.get(key) or _new_override(cal, keyed, key)
        mine = find_attendee(target, attendee) if target is not None else None
        if mine is not None:
            _answer(mine, answer)
    return cal


def _answer(mine: Any, answer: Any) -> None:
    mine.params["PARTSTAT"] = partstat(answer)
    mine.params["SCHEDULE-STATUS"] = STATUS_SUCCESS
    mine.params.pop("RSVP", None)
    delegated = answer.params.get("DELEGATED-TO")
    if delegated is not None:
        mine.params["DELEGATED-TO"] = delegated


def _new_override(cal: Calendar, keyed: Keyed, key: Key) -> Component | None:
    """An override for the master's occurrence ``key``, or None when it has none."""
    if key is None or keyed.master is None:
        return None
    component = instance_override(cal, key_moment(key))
    if component is None:
        return None
    cal.add_component(component)
    keyed.by_key[key] = component
    return component


__all__ = ["apply_cancel", "apply_request", "merge_reply"]
