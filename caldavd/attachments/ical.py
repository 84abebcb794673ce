"""ATTACH properties of managed attachments in iCalendar data (RFC 8607).

    ATTACH;MANAGED-ID=<id>;FILENAME=<name>;SIZE=<bytes>;FMTTYPE=<type>:<url>

Without ``rid`` an action applies to every component of the resource (the master
and its overridden instances); ``rid`` names components by RECURRENCE-ID, ``M``
being the master; naming an instance that is not overridden yet overrides it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from icalendar import Calendar, Component
from icalendar.prop import vDDDTypes, vUri

from caldavd.attachments.errors import NotInResource, TooManyAttachments, UnknownRid

INSTANCE_TYPES = ("VEVENT", "VTODO", "VJOURNAL")
MASTER = "M"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"]')
MAX_FILENAME = 255


@dataclass(frozen=True)
class AttachInfo:
    """What an ATTACH property says of a managed attachment."""

    managed_id: str
    url: str
    filename: str
    size: int
    content_type: str


def safe_filename(name: str | None) -> str:
    """The last path segment, without quotes or control characters; never empty.
    (A FILENAME is only ever shown to people: it never becomes a path.)"""
    base = _UNSAFE.sub("", re.split(r"[/\\]", name or "")[-1]).strip()
    if base in ("", ".", ".."):
        return "attachment"
    return base[:MAX_FILENAME]


def instances(cal: Calendar) -> list[Component]:
    return [c for c in cal.subcomponents if c.name in INSTANCE_TYPES]


def _attaches(component: Component) -> list[Any]:
    value = component.get("ATTACH")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _managed_id(prop: Any) -> str | None:
    params = getattr(prop, "params", None)
    value = params.get("MANAGED-ID") if params is not None else None
    return str(value) if value else None


def managed_ids(cal: Calendar) -> frozenset[str]:
    return frozenset(mid for c in instances(cal) for p in _attaches(c)
                     if (mid := _managed_id(p)) is not None)


def parse_rids(value: str | None) -> list[str] | None:
    """The rid parameter's values (None: every component); UnknownRid if malformed."""
    if value is None:
        return None
    rids = [v.strip() for v in value.split(",")]
    for rid in rids:
        if rid != MASTER:
            _instant(rid)
    return rids


def _instant(rid: str) -> date:
    try:
        return vDDDTypes.from_ical(rid)  # type: ignore[no-untyped-call,no-any-return]
    except ValueError:
        raise UnknownRid(f"rid {rid!r} is not a RECURRENCE-ID value") from None


def _same_instance(component: Component, rid: str) -> bool:
    recurrence = component.get("RECURRENCE-ID")
    if rid == MASTER or recurrence is None:
        return rid == MASTER and recurrence is None
    have, want = recurrence.dt, _instant(rid)
    if isinstance(have, datetime) and isinstance(want, datetime):
        if have.tzinfo is not None and want.tzinfo is not None:
            return bool(have.astimezone(UTC) == want.astimezone(UTC))
        return bool(have.replace(tzinfo=None) == want.replace(tzinfo=None))
    return bool(have == want)


Overrider = Callable[[Calendar, date], Component | None]


def select(cal: Calendar, rids: list[str] | None,
           override: Overrider | None = None) -> list[Component]:
    """The components ``rids`` name; an instance not overridden yet gets its override
    from ``override`` (added to ``cal``); UnknownRid for one the resource does not have."""
    components = instances(cal)
    if rids is None:
        return components
    chosen: list[Component] = []
    for rid in rids:
        match = next((c for c in components if _same_instance(c, rid)), None)
        if match is None and override is not None and rid != MASTER:
            match = override(cal, _instant(rid))
            if match is not None:
                cal.add_component(match)
                components.append(match)
        if match is None:
            raise UnknownRid(f"the resource has no instance {rid}")
        if match not in chosen:
            chosen.append(match)
    return chosen


def check_room(components: Iterable[Component], limit: int) -> None:
    """TooManyAttachments if one more managed attachment would pass ``limit`` (0: none)."""
    if limit and any(sum(1 for p in _attaches(c) if _managed_id(p)) >= limit
                     for c in components):
        raise TooManyAttachments(limit)


def _property(info: AttachInfo) -> vUri:
    prop = vUri(info.url)
    prop.params["MANAGED-ID"] = info.managed_id
    prop.params["FILENAME"] = info.filename
    prop.params["SIZE"] = str(info.size)
    prop.params["FMTTYPE"] = info.content_type
    return prop


def add(components: Iterable[Component], info: AttachInfo) -> None:
    for component in components:
        component.add("ATTACH", _property(info))


def _replace_in(component: Component, managed_id: str, new: AttachInfo | None) -> bool:
    kept, found = [], False
    for prop in _attaches(component):
        if _managed_id(prop) == managed_id:
            found = True
            if new is not None:
                kept.append(_property(new))
        else:
            kept.append(prop)
    if found:
        del component["ATTACH"]
        for prop in kept:
            component.add("ATTACH", prop)
    return found


def carries(cal: Calendar, managed_id: str) -> bool:
    return managed_id in managed_ids(cal)


def replace(components: Iterable[Component], managed_id: str,
            new: AttachInfo | None) -> None:
    """The attachment ``managed_id`` becomes ``new`` (None: removed) wherever it is in
    ``components``; NotInResource when it is in none of them."""
    found = [_replace_in(c, managed_id, new) for c in components]
    if not any(found):
        raise NotInResource(f"no attachment {managed_id} here")
