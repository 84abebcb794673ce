"""The attendee's side of implicit scheduling (RFC 6638 §3.2.2): the REPLY an
attendee's write sends, and the changes an attendee may make to their copy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from icalendar import Calendar, Component

from caldavd.caldav.overrides import instance_override
from caldavd.dav.errors import AllowedAttendeeChange
from caldavd.scheduling.addresses import Address, normalise
from caldavd.scheduling.itip_common import (
    SERVER,
    SERVER_PARAMS,
    Key,
    Keyed,
    Message,
    agent,
    drop_params,
    find_attendee,
    for_message,
    form,
    is_cancelled,
    key_moment,
    message_calendar,
    param,
    partstat,
    rules,
    scheduling_props,
    sequence,
    set_rid,
    sign,
    times,
)

DECLINED = "DECLINED"
_Stamp = tuple[datetime | None, str | None]  # DTSTAMP, SENT-BY of the REPLY


def _organizer_prop(keyed: Keyed) -> Any | None:
    for component in keyed.by_key.values():
        prop = component.get("ORGANIZER")
        if prop is not None and not isinstance(prop, list):
            return prop
    return None


def attendee_reply(previous: Calendar | None, current: Calendar | None,
                   attendee: Address, *, now: datetime | None = None,
                   sent_by: str | None = None) -> Message | None:
    """The REPLY to the organizer (RFC 6638 §3.2.2, RFC 5546 §3.2.3) when the attendee's
    PARTSTAT changed, per instance, or the attendee removed instances (an EXDATE added to
    their copy) or the whole copy (``current`` None): those decline.  Only the replying
    ATTENDEE is in the REPLY.  None when nothing is to be sent, also when the ORGANIZER
    says SCHEDULE-AGENT is not SERVER (§7.1).  The caller skips a declining REPLY when
    the request said ``Schedule-Reply: F`` (§8.1).  ``sent_by``: the address of a
    delegate who answered for the attendee (SENT-BY of the ATTENDEE)."""
    prev, cur = Keyed(previous), Keyed(current)
    organizer = _organizer_prop(cur) if current is not None else _organizer_prop(prev)
    if previous is None or organizer is None or agent(organizer) != SERVER:
        return None
    if current is None:
        chosen = {key: _reply_component(c, attendee, (now, sent_by), DECLINED)
                  for key, c in prev.by_key.items() if _answers(c, attendee)
                  and partstat(find_attendee(c, attendee)) != DECLINED}
        return _reply(str(organizer).strip(), prev, chosen)
    forced = param(organizer, "SCHEDULE-FORCE-SEND") == "REPLY"
    chosen = {}
    for key, component in cur.by_key.items():
        if not _answers(component, attendee):
            continue
        old = prev.by_key.get(key) or (prev.master if key is not None else None)
        before = find_attendee(old, attendee) if old is not None else None
        if forced or before is None or partstat(before) != partstat(
                find_attendee(component, attendee)):
            chosen[key] = _reply_component(component, attendee, (now, sent_by))
    chosen.update(_removed_instances(prev, cur, attendee, (now, sent_by)))
    return _reply(str(organizer).strip(), cur, chosen)


def _answers(component: Component, attendee: str) -> bool:
    return not is_cancelled(component) and find_attendee(component, attendee) is not None


def _removed_instances(prev: Keyed, cur: Keyed, attendee: str,
                       stamp: _Stamp) -> dict[Key, Component]:
    """Instances the attendee removed from their copy with an EXDATE: declined."""
    found: dict[Key, Component] = {}
    for key in sorted(cur.exdates() - prev.exdates()):
        base = prev.by_key.get(key) or prev.master
        if base is None or not _answers(base, attendee):
            continue
        if key in prev.by_key and partstat(find_attendee(base, attendee)) == DECLINED:
            continue
        component = _reply_component(base, attendee, stamp, DECLINED)
        if key not in prev.by_key:
            for name in ("RRULE", "RDATE", "EXDATE"):
                component.pop(name, None)
            set_rid(component, cur.rid_values[key])
        found[key] = component
    return found


def _reply_component(component: Component, attendee: str, stamp: _Stamp,
                     answer: str | None = None) -> Component:
    """The component as REPLY carries it: the replying ATTENDEE only (RFC 5546 §3.2.3),
    no alarms, no TRANSP (the attendee's own)."""
    copy = for_message(component, stamp[0])
    mine = find_attendee(copy, attendee)
    sign(mine, stamp[1])
    copy.pop("ATTENDEE", None)
    copy.pop("TRANSP", None)
    if mine is not None:
        drop_params(mine, ("RSVP",))
        if answer is not None:
            mine.params["PARTSTAT"] = answer
        copy.add("ATTENDEE", mine)
    return copy


def _reply(organizer: str, keyed: Keyed, chosen: dict[Key, Component]) -> Message | None:
    if not chosen:
        return None
    rids = () if None in chosen else tuple(sorted(k for k in chosen if k is not None))
    components = [chosen[k] for k in sorted(chosen, key=lambda k: k or "")]
    return Message(organizer, "REPLY", message_calendar(keyed.cal, "REPLY", components),
                   rids, max(sequence(c) for c in components))


# -- what an attendee may change (RFC 6638 §3.2.2.1) ------------------------------------

# Theirs to change: alarms, TRANSP, X- properties, stamps, a to-do's progress.
_ATTENDEE_OWN = frozenset({"DTSTAMP", "LAST-MODIFIED", "CREATED", "SEQUENCE", "TRANSP",
                           "EXDATE", "PERCENT-COMPLETE", "COMPLETED", "DTSTART", "DTEND",
                           "DUE", "DURATION", "RECURRENCE-ID", "RRULE"})
# ... and these parameters of their own ATTENDEE.
_OWN_PARAMS = ("PARTSTAT", "RSVP", "DELEGATED-TO", *SERVER_PARAMS)


def _attendee_form(component: Component, keyed: Keyed, attendee: str) -> tuple[Any, ...]:
    copy: Component = component.copy(recursive=True)
    copy.subcomponents[:] = [sub for sub in copy.subcomponents if sub.name != "VALARM"]
    for name in [n for n in copy if str(n).upper().startswith("X-")]:
        copy.pop(name)
    for prop in scheduling_props(copy):
        drop_params(prop, SERVER_PARAMS)
        for name in [n for n in prop.params if str(n).upper().startswith("X-")]:
            prop.params.pop(name)
    mine = find_attendee(copy, attendee)
    drop_params(mine, _OWN_PARAMS)
    return (form(copy, _ATTENDEE_OWN), times(component, keyed), rules(component))


def check_attendee_change(previous: Calendar | None, current: Calendar | None,
                          attendee: Address) -> None:
    """Refuse (AllowedAttendeeChange, 403) a change of an attendee's copy beyond their
    own participation (PARTSTAT, RSVP and parameters of their ATTENDEE), their alarms,
    TRANSP and X- properties, overrides that only answer for one instance, and removed
    instances (RFC 6638 §3.2.2.1).  Creating or deleting the copy is no change here."""
    if previous is None or current is None:
        return
    prev, cur = Keyed(previous), Keyed(current)
    if normalise(prev.organizer() or "") != normalise(cur.organizer() or ""):
        raise AllowedAttendeeChange("only the organizer changes the ORGANIZER")
    if prev.exdates() - cur.exdates():
        raise AllowedAttendeeChange("an attendee cannot bring back a removed instance")
    removed = cur.exdates()
    for key, component in cur.by_key.items():
        old = prev.by_key.get(key) or _instance(previous, key)
        if old is None:
            raise AllowedAttendeeChange(f"the organizer's event has no instance {key}")
        if _attendee_form(old, prev, attendee) != _attendee_form(component, cur, attendee):
            raise AllowedAttendeeChange(_what(key))
    for key in prev.by_key:
        if key not in cur.by_key and key not in removed:
            raise AllowedAttendeeChange(f"the instance {key} of the organizer is missing")


def _instance(cal: Calendar, key: Key) -> Component | None:
    if key is None:
        return None
    return instance_override(cal, key_moment(key))


def _what(key: Key) -> str:
    where = "the event" if key is None else f"the instance {key}"
    return (f"an attendee may change only their participation, alarms and TRANSP of "
            f"{where} (RFC 6638 §3.2.2.1)")


__all__ = ["attendee_reply", "check_attendee_change"]
