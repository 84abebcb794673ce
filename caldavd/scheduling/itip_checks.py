"""Preconditions on a scheduling object's ORGANIZER (RFC 6638 §3.1, §3.2.4), as
functions that raise the typed DAV error."""

from __future__ import annotations

from collections.abc import Callable

from icalendar import Calendar

from caldavd.dav.errors import AllowedOrganizerChange, SameOrganizerInAllComponents, ValidOrganizer
from caldavd.scheduling.addresses import normalise
from caldavd.scheduling.itip_common import SCHEDULED, attendees, values


def _organizers(cal: Calendar) -> list[tuple[str | None, bool]]:
    """(ORGANIZER or None, has ATTENDEEs) of each scheduled component."""
    found = []
    for component in cal.subcomponents:
        if component.name not in SCHEDULED:
            continue
        props = values(component, "ORGANIZER")
        if len(props) > 1:
            raise SameOrganizerInAllComponents(f"{component.name} has more than one ORGANIZER")
        found.append((str(props[0]).strip() if props else None, bool(attendees(component))))
    return found


def check_same_organizer(cal: Calendar) -> None:
    """same-organizer-in-all-components (RFC 6638 §3.2.4): one ORGANIZER (compared as
    addresses) in every component that has one, and none missing where a component
    has attendees (§3.1: "present and set in all the calendar components")."""
    organizers = _organizers(cal)
    named = {normalise(organizer) for organizer, _ in organizers if organizer}
    if len(named) > 1:
        raise SameOrganizerInAllComponents("the components name different ORGANIZERs")
    if named and any(organizer is None and has for organizer, has in organizers):
        raise SameOrganizerInAllComponents("a component with attendees has no ORGANIZER")


def check_valid_organizer(cal: Calendar, is_valid: Callable[[str], bool]) -> None:
    """valid-organizer (RFC 6638 §3.2.4): a component with attendees has an ORGANIZER,
    each ORGANIZER is a calendar user address (``scheme:value``) and ``is_valid`` accepts
    it (e.g. the directory knows it and lets it schedule)."""
    for organizer, has_attendees in _organizers(cal):
        if organizer is None:
            if has_attendees:
                raise ValidOrganizer("a component with ATTENDEEs needs an ORGANIZER")
            continue
        scheme, colon, rest = organizer.partition(":")
        if not colon or not scheme or not rest.strip():
            raise ValidOrganizer(f"ORGANIZER {organizer!r} is no calendar user address")
        if not is_valid(organizer):
            raise ValidOrganizer(f"ORGANIZER {organizer} cannot schedule here")


def check_organizer_change(previous: Calendar | None, current: Calendar | None) -> None:
    """allowed-organizer-scheduling-object-change (RFC 6638 §3.2.4): the organizer of a
    scheduling object cannot hand it to another ORGANIZER (nor remove the ORGANIZER while
    attendees remain); to change organizer, cancel and invite anew."""
    if previous is None or current is None:
        return
    before = {normalise(o) for o, _ in _organizers(previous) if o}
    after = _organizers(current)
    now = {normalise(o) for o, _ in after if o}
    if before and now and before != now:
        raise AllowedOrganizerChange("the ORGANIZER of a scheduling object cannot change")
    if before and not now and any(has for _, has in after):
        raise AllowedOrganizerChange("the ORGANIZER cannot be removed while attendees remain")


__all__ = ["check_organizer_change", "check_same_organizer", "check_valid_organizer"]
