"""The organizer's side of implicit scheduling (RFC 6638 §3.2.1, §3.2.8, §3.2.9).

Each attendee has a *view* of an organizer's object: the components that list them
(a cancelled component lists nobody).  An attendee of the master sees every instance
but those an EXDATE removes and the overrides that leave them out; an attendee of
overrides only sees those.  A REQUEST carries the whole view and goes out when the view
changed; an instance the attendee saw and no longer sees is a CANCEL of that instance,
and a view that became empty a CANCEL of everything the attendee saw."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from icalendar import Calendar, Component

from caldavd.caldav.recurrence import RecurrenceError
from caldavd.scheduling.addresses import Address, normalise
from caldavd.scheduling.itip_common import (
    NEEDS_ACTION,
    SERVER,
    Key,
    Keyed,
    Message,
    agent,
    attendees,
    drop_params,
    for_message,
    key_moment,
    message_calendar,
    param,
    rules,
    scheduling_props,
    sequence,
    set_rid,
    set_sequence,
    sign,
    stub,
    times,
)
from caldavd.scheduling.itip_views import Changes, Parts, View, view

_CANCEL_KEEP = ("UID", "DTSTAMP", "ORGANIZER", "SUMMARY")
# RFC 6638 §3.2.9
STATUS_DELIVERED = "1.2"
STATUS_INVALID_USER = "3.7"


_Stamp = tuple[datetime | None, str | None]  # DTSTAMP, SENT-BY of the messages


@dataclass(frozen=True)
class _Plan:
    """What one attendee is sent: a CANCEL of everything, of some instances, a REQUEST."""

    address: str
    cancel_all: bool = False
    cancelled: tuple[str, ...] = ()
    request: bool = False


def _people(prev: Keyed, cur: Keyed, own: set[str]) -> Iterator[tuple[str, Any]]:
    """Every attendee but the organizer, once, with their current ATTENDEE (or the last
    one when they were removed), current first."""
    seen = set(own)
    for keyed in (cur, prev):
        for key in keyed.by_key:
            for address, prop in keyed.people(key).items():
                if address not in seen:
                    seen.add(address)
                    yield str(prop).strip(), prop


def _forced(cur: Keyed, address: str) -> bool:
    """SCHEDULE-FORCE-SEND=REQUEST on the attendee (RFC 6638 §7.2)."""
    return any(param(prop, "SCHEDULE-FORCE-SEND") == "REQUEST" for key in cur.by_key
               if (prop := cur.attendee(key, address)) is not None)


def _plans(prev: Keyed, cur: Keyed, organizer: str,
           is_local: Callable[[str], bool]) -> Iterator[tuple[_Plan, View, View]]:
    own = {normalise(a) for a in (organizer, prev.organizer(), cur.organizer()) if a}
    changes = Changes(prev, cur)
    candidates = (set(prev.overrides()) | set(cur.overrides()) | prev.exdates()
                  | cur.exdates())
    for address, prop in _people(prev, cur, own):
        if agent(prop) != SERVER or not is_local(address):
            continue
        before, after = view(prev, address), view(cur, address)
        if not after.components:
            if before.components:
                yield _Plan(address, cancel_all=True), before, after
            continue
        removed = tuple(sorted(k for k in candidates
                               if before.visible(k) and not after.visible(k)))
        added = any(after.visible(k) and not before.visible(k) for k in candidates)
        request = added or _forced(cur, address) or changes.view_changed(before, after,
                                                                         address)
        if removed or request:
            yield _Plan(address, cancelled=removed, request=request), before, after


def organizer_messages(previous: Calendar | None, current: Calendar | None,
                       organizer: Address, is_local: Callable[[str], bool], *,
                       now: datetime | None = None,
                       sent_by: str | None = None) -> list[Message]:
    """The REQUESTs and CANCELs an organizer's write sends (RFC 6638 §3.2.1): to each
    local attendee scheduled by the server (SCHEDULE-AGENT=SERVER, §7.1) whose view
    changed, never to the organizer.  ``now``, when given, is every message's DTSTAMP;
    ``sent_by`` (the address of a delegate who wrote for the organizer) their
    ORGANIZER's SENT-BY.  The messages' calendars share their components: treat them
    as read-only."""
    prev, cur = Keyed(previous), Keyed(current)
    parts = Parts(cur, now, sent_by)
    stamp = (now, sent_by)
    messages: list[Message] = []
    for plan, before, after in _plans(prev, cur, organizer, is_local):
        if plan.cancel_all:
            number = _sequence_of(cur) if cur.by_key else _sequence_of(prev) + 1
            keys = [] if before.in_master else sorted(k for k in before.components if k)
            messages.append(_cancel(prev, before, plan.address, keys, number, stamp))
            continue
        if plan.cancelled:
            messages.append(_cancel(prev, before, plan.address, list(plan.cancelled),
                                    _sequence_of(cur), stamp, cur))
        if plan.request:
            messages.append(_request(parts, after, plan.address))
    return messages


def _sequence_of(keyed: Keyed) -> int:
    return max((sequence(c) for c in keyed.by_key.values()), default=0)


def _request(parts: Parts, view: View, address: str) -> Message:
    cur = parts.keyed
    components = []
    for key in view.components:
        copy = parts.component(key)
        missing = [other for other in cur.overrides() if other not in view.components]
        if key is None and missing:  # instances this attendee is not in
            copy = copy.copy(recursive=True)
            for other in missing:
                copy.add("EXDATE", cur.rid_values[other])
        components.append(copy)
    rids = () if view.in_master else tuple(sorted(k for k in view.components if k))
    return Message(address, "REQUEST", message_calendar(cur.cal, "REQUEST", components),
                   rids, max(sequence(c) for c in view.components.values()))


def _cancel(prev: Keyed, before: View, address: str, keys: list[str], number: int,
            stamp: _Stamp, rid_source: Keyed | None = None) -> Message:
    """CANCEL (RFC 5546 §3.2.5) of the instances ``keys``, or of the master when none."""
    sources = rid_source.rid_values if rid_source is not None else {}
    components = []
    chosen: list[Key] = list(keys) or [None]
    for key in chosen:
        base_key = key if key in before.components else None
        component = _cancel_component(before.components[base_key],
                                      prev.attendee(base_key, address), number, stamp)
        if key is not None:
            set_rid(component, prev.rid_values.get(key) or sources.get(key) or key_moment(key))
        components.append(component)
    return Message(address, "CANCEL", message_calendar(prev.cal, "CANCEL", components),
                   tuple(keys), number)


def _cancel_component(base: Component, attendee: Any | None, number: int,
                      stamp: _Stamp) -> Component:
    component = stub(base, _CANCEL_KEEP)
    if attendee is not None:
        component.add("ATTENDEE", attendee)
    component = for_message(component, stamp[0])
    sign(component.get("ORGANIZER"), stamp[1])
    set_sequence(component, number)
    component.add("STATUS", "CANCELLED")
    return component


# -- significant changes (RFC 6638 §3.2.8) -----------------------------------------------

def _significant(old: Component, new: Component, prev: Keyed, cur: Keyed) -> bool:
    if times(old, prev) != times(new, cur) or rules(old) != rules(new):
        return True
    if "RECURRENCE-ID" in new:
        return False
    # Instances added (an RDATE, or an EXDATE taken back) need an answer; instances
    # removed only need their CANCEL.
    return bool(cur.rdates() - prev.rdates()) or bool(prev.exdates() - cur.exdates())


def _moved(component: Component, key: str, prev: Keyed, cur: Keyed) -> bool:
    """A new override that moves its instance or changes its length."""
    if prev.master is None:
        return False
    _start, is_date, length = times(component, cur)
    expected = times(prev.master, prev)
    try:
        moved = cur.key_of(component["DTSTART"]) != key if "DTSTART" in component else False
    except RecurrenceError:
        return True
    return moved or length != expected[2] or is_date != expected[1]


def significant_keys(prev: Keyed, cur: Keyed) -> set[Key]:
    """The components of ``cur`` whose change asks the attendees to answer again."""
    return {key for key, component in cur.by_key.items()
            if changed_significantly(prev.by_key.get(key), component, key, prev, cur)}


def changed_significantly(old: Component | None, new: Component, key: Key, prev: Keyed,
                          cur: Keyed) -> bool:
    """Whether ``new`` (at ``key`` of ``cur``) changed significantly from ``old`` (its
    component in ``prev``; None: an instance of the previous master, or nothing)."""
    if old is not None:
        return _significant(old, new, prev, cur)
    return key is not None and _moved(new, key, prev, cur)


def is_significant_change(previous: Calendar | None, current: Calendar | None) -> bool:
    """Whether the organizer changed when or how often the event happens (DTSTART, the
    end or duration, RRULE, added RDATEs or restored EXDATEs; RFC 6638 §3.2.8)."""
    if previous is None or current is None:
        return False
    return bool(significant_keys(Keyed(previous), Keyed(current)))


# -- the organizer's copy ---------------------------------------------------------------

def prepare_organizer_copy(previous: Calendar | None, current: Calendar,
                           resolved: Mapping[str, str]) -> Calendar:
    """The organizer's object as it is to be stored (RFC 6638 §3.2.1, §3.2.8, §3.2.9).

    On a significant change the PARTSTAT of every server-scheduled attendee (not the
    organizer) becomes NEEDS-ACTION with RSVP=TRUE and SEQUENCE goes past the previous
    one (also when instances or attendees are cancelled); each attendee who is sent a
    message gets SCHEDULE-STATUS 1.2 when ``resolved`` (normalised address -> directory
    uid) knows them, else 3.7; SCHEDULE-FORCE-SEND is removed (§7.2).  ``current`` is
    not changed."""
    cal: Calendar = current.copy(recursive=True)
    prev, cur = Keyed(previous), Keyed(cal)
    organizer = cur.organizer() or ""
    significant = significant_keys(prev, cur) if previous is not None else set()
    _keep_answers(prev, cur, significant, normalise(organizer))
    _reset(cur, significant, normalise(organizer))
    plans = [plan for plan, _, _ in _plans(prev, cur, organizer, lambda _address: True)]
    if previous is not None and (significant or any(p.cancel_all or p.cancelled
                                                    for p in plans)):
        _bump(prev, cur)
    local = {normalise(address) for address in resolved}
    sent = {normalise(plan.address) for plan in plans}
    for key, component in cur.by_key.items():
        for prop in attendees(component):
            address = normalise(str(prop))
            if address in sent:
                prop.params["SCHEDULE-STATUS"] = (STATUS_DELIVERED if address in local
                                                  else STATUS_INVALID_USER)
            else:
                _keep_status(prop, prev.attendee(key, address))
        for prop in scheduling_props(component):
            drop_params(prop, ("SCHEDULE-FORCE-SEND",))
    return cal


def _keep_answers(prev: Keyed, cur: Keyed, significant: set[Key], organizer: str) -> None:
    """The attendees' PARTSTAT as the server last had it (from their REPLYs): the
    organizer's client cannot answer for them (RFC 6638 §3.2.1), and a copy it read
    before a REPLY was merged does not undo the answer."""
    if None in significant:
        return
    for key, component in cur.by_key.items():
        old_key = key if key in prev.by_key else None
        if key in significant or old_key not in prev.by_key:
            continue
        for prop in attendees(component):
            before = prev.attendee(old_key, str(prop))
            if before is None or normalise(str(prop)) == organizer or agent(prop) != SERVER:
                continue
            if "PARTSTAT" in before.params:
                prop.params["PARTSTAT"] = before.params["PARTSTAT"]
            else:
                prop.params.pop("PARTSTAT", None)


def _reset(cur: Keyed, keys: set[Key], organizer: str) -> None:
    """PARTSTAT=NEEDS-ACTION, RSVP=TRUE in the components ``keys`` (all of them when the
    master is among them)."""
    targets = cur.by_key.values() if None in keys else [cur.by_key[k] for k in keys]
    for component in targets:
        for prop in attendees(component):
            if normalise(str(prop)) == organizer or agent(prop) != SERVER:
                continue
            prop.params["PARTSTAT"] = NEEDS_ACTION
            prop.params["RSVP"] = "TRUE"


def _bump(prev: Keyed, cur: Keyed) -> None:
    for key, component in cur.by_key.items():
        old = prev.by_key.get(key) or prev.master
        floor = sequence(old) if old is not None else -1
        if sequence(component) <= floor:
            set_sequence(component, floor + 1)


def _keep_status(prop: Any, before: Any | None) -> None:
    """A client that drops SCHEDULE-STATUS does not erase it (RFC 6638 §7.3: clients
    SHOULD NOT change it)."""
    if before is None or "SCHEDULE-STATUS" in prop.params:
        return
    if "SCHEDULE-STATUS" in before.params:
        prop.params["SCHEDULE-STATUS"] = before.params["SCHEDULE-STATUS"]


__all__ = [
    "is_significant_change",
    "organizer_messages",
    "prepare_organizer_copy",
    "significant_keys",
]
