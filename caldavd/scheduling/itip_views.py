"""What each attendee sees of an organizer's object, and whether that changed, in time
linear in the attendees: each component is summarised once (its content without the
ATTENDEEs, and each ATTENDEE apart), each pair of versions compared once, and an
attendee's question answered from those."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from icalendar import Component

from caldavd.scheduling.addresses import normalise
from caldavd.scheduling.itip_common import (
    SERVER_PARAMS,
    Key,
    Keyed,
    for_message,
    form,
    is_cancelled,
    sign,
)

# What an attendee's view is compared without: stamps, the organizer's own TRANSP, and
# EXDATE (a removed instance is a CANCEL of its own, a restored one is found apart).
_VIEW_DROP = frozenset({"DTSTAMP", "LAST-MODIFIED", "CREATED", "SEQUENCE", "EXDATE",
                        "TRANSP", "ATTENDEE", "ORGANIZER"})
# The attendee's own answer, which the organizer's copy only mirrors (merge_reply).
_OWN_PARAMS = frozenset({"PARTSTAT", "RSVP"})
_SERVER = frozenset(SERVER_PARAMS)


@dataclass(frozen=True)
class View:
    """The components listing one attendee, and the master's instances they miss."""

    components: dict[Key, Component]
    in_master: bool
    excluded: frozenset[str]

    def visible(self, key: str) -> bool:
        return key in self.components or (self.in_master and key not in self.excluded)


def view(keyed: Keyed, address: str) -> View:
    wanted = normalise(address)
    components = {key: c for key, c in keyed.by_key.items()
                  if not is_cancelled(c) and wanted in keyed.people(key)}
    excluded = keyed.exdates() | {k for k in keyed.overrides() if k not in components}
    return View(components, None in components, frozenset(excluded))


def _params(prop: Any, skip: frozenset[str]) -> tuple[tuple[str, str], ...]:
    params = getattr(prop, "params", None) or {}
    return tuple(sorted((str(k).upper(), str(v)) for k, v in params.items()
                        if str(k).upper() not in skip))


@dataclass(frozen=True)
class _Summary:
    base: tuple[Any, ...]
    lines: dict[str, tuple[Any, Any]]  # address -> (ATTENDEE as sent, without own answer)


def _summary(component: Component, keyed: Keyed, key: Key) -> _Summary:
    organizer = component.get("ORGANIZER")
    shown = (str(organizer).strip(), _params(organizer, _SERVER)) if organizer is not None \
        and not isinstance(organizer, list) else None
    alarmless = [sub for sub in component.subcomponents if sub.name != "VALARM"]
    base = (form(component, _VIEW_DROP)[:2], shown, tuple(sorted(form(s) for s in alarmless)))
    lines = {}
    for address, prop in keyed.people(key).items():
        full = (str(prop).strip(), _params(prop, _SERVER))
        lines[address] = (full, (full[0], _params(prop, _SERVER | _OWN_PARAMS)))
    return _Summary(base, lines)


@dataclass(frozen=True)
class _Pair:
    before: _Summary | None
    after: _Summary | None
    changed: bool            # for everyone: content, or who attends
    differing: frozenset[str]  # attendees whose ATTENDEE changed


@dataclass
class Changes:
    """The comparison of two versions of an organizer's object, computed lazily."""

    prev: Keyed
    cur: Keyed
    _pairs: dict[Key, _Pair] = field(default_factory=dict)

    def _pair(self, key: Key) -> _Pair:
        pair = self._pairs.get(key)
        if pair is None:
            old, new = self.prev.by_key.get(key), self.cur.by_key.get(key)
            before = _summary(old, self.prev, key) if old is not None else None
            after = _summary(new, self.cur, key) if new is not None else None
            if before is None or after is None:
                pair = _Pair(before, after, True, frozenset())
            else:
                differing = frozenset(a for a, line in after.lines.items()
                                      if before.lines.get(a, (None,))[0] != line[0])
                pair = _Pair(before, after, before.base != after.base
                             or before.lines.keys() != after.lines.keys(), differing)
            self._pairs[key] = pair
        return pair

    def changed_for(self, key: Key, address: str) -> bool:
        """Whether the component at ``key`` changed as the attendee sees it (their own
        PARTSTAT and RSVP aside)."""
        pair = self._pair(key)
        if pair.changed:
            return True
        wanted = normalise(address)
        if pair.differing - {wanted}:
            return True
        if wanted not in pair.differing or pair.before is None or pair.after is None:
            return False
        return bool(pair.before.lines[wanted][1] != pair.after.lines[wanted][1])

    def view_changed(self, before: View, after: View, address: str) -> bool:
        return before.components.keys() != after.components.keys() or any(
            self.changed_for(key, address) for key in after.components)


@dataclass
class Parts:
    """Each component of an object as messages carry it, copied once for all
    recipients (the messages' calendars share them: they are read-only)."""

    keyed: Keyed
    now: datetime | None
    sent_by: str | None = None
    _copies: dict[Key, Component] = field(default_factory=dict)

    def component(self, key: Key) -> Component:
        copy = self._copies.get(key)
        if copy is None:
            copy = self._copies[key] = for_message(self.keyed.by_key[key], self.now)
            sign(copy.get("ORGANIZER"), self.sent_by)
        return copy
