"""calendar-data output (RFC 4791 §9.6.5, §9.6.6): expand and limit-recurrence-set."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from icalendar import Calendar, Component, vDDDLists

from caldavd.caldav.recurrence.expansion import (
    _groups,
    _instance,
    _instances,
    _master_tz,
    _rid,
    expand,
)
from caldavd.caldav.recurrence.shapes import _Context, _shape
from caldavd.caldav.recurrence.values import COMPONENTS, Instance, When, Zones, _tzid, _utc, when

_RECURRENCE_PROPERTIES = ("RRULE", "RDATE", "EXDATE", "EXRULE")


def _calendar_shell(cal: Component) -> Calendar:
    shell = Calendar()
    for name, value in cal.items():
        shell[name] = value
    return shell


def _set_time(component: Component, name: str, value: When, instant: datetime) -> None:
    """Set ``name`` to a value of the same kind: DATE, floating, or UTC."""
    component.pop(name, None)
    if value.is_date:
        component.add(name, value.wall.date())
    elif value.tz is None:
        component.add(name, value.wall)
    else:
        component.add(name, instant)


def _to_utc(component: Component, zones: Zones) -> None:
    """Rewrite DATE-TIMEs that carry a TZID as UTC, in the component and below."""
    for holder in [component, *component.subcomponents]:
        for name in list(holder.keys()):
            props = holder[name]
            converted = []
            changed = False
            for prop in props if isinstance(props, list) else [props]:
                tzid = _tzid(prop)
                zone = zones.resolve(tzid) if tzid is not None else None
                if zone is None:
                    converted.append(prop)
                    continue
                is_list = isinstance(prop, vDDDLists)
                entries: list[Any] = prop.dts if isinstance(prop, vDDDLists) else [prop]
                values = [getattr(entry, "dt", None) for entry in entries]
                walls = [value.replace(tzinfo=None) for value in values
                         if isinstance(value, datetime)]
                if len(walls) != len(values):
                    converted.append(prop)
                    continue
                changed = True
                utc = [_utc(wall, zone) for wall in walls]
                converted.append(utc if is_list else utc[0])
            if changed:
                holder.pop(name)
                for value in converted:
                    holder.add(name, value)


def _instance_component(instance: Instance, master: Component | None,
                        ctx: _Context) -> Component:
    """One expanded instance: of ``master`` (its own recurrence), of an override
    as written, or a later instance a THISANDFUTURE override stands for."""
    component: Component = instance.component.copy(recursive=True)
    moved = instance.moved
    if master is not None and (_rid(instance.component) is None or moved):
        for name in _RECURRENCE_PROPERTIES:
            component.pop(name, None)
        shape = _shape(instance.component, ctx.zones)
        if not (shape.dtstart is not None and instance.recurrence_id is not None):
            raise RuntimeError("an override without DTSTART or RECURRENCE-ID")
        rid = instance.recurrence_id
        original = (When(rid.replace(tzinfo=None), None, shape.dtstart.is_date)
                    if shape.dtstart.tz is None else When(rid.replace(tzinfo=None), UTC))
        begins = original
        if moved:  # it starts where the move put it, which is not its RECURRENCE-ID
            begins = (When(instance.start.astimezone(ctx.floating_tz).replace(tzinfo=None),
                           None, shape.dtstart.is_date)
                      if shape.dtstart.tz is None else When(instance.start, UTC))
        _set_time(component, "RECURRENCE-ID", original, rid)
        _set_time(component, "DTSTART", begins, instance.start)
        if shape.end is not None:
            end_name = "DUE" if shape.name == "VTODO" else "DTEND"
            delta = shape.end.wall - shape.dtstart.wall
            end_value = When(begins.wall + delta, begins.tz, begins.is_date)
            _set_time(component, end_name, end_value, instance.end)
    _to_utc(component, ctx.zones)
    return component


def expand_calendar(cal: Component, start: datetime | None, end: datetime | None, *,
                    floating_tz: tzinfo = UTC, max_instances: int | None = None,
                    now: datetime | None = None) -> Calendar:
    """CALDAV:expand (RFC 4791 §9.6.5): one component per overlapping instance.

    Instances get RECURRENCE-ID and no RRULE/RDATE/EXDATE; DATE-TIMEs with a
    TZID become UTC, DATE and floating values stay as written, and no
    VTIMEZONE is returned.
    """
    ctx = _Context(Zones(cal), floating_tz)
    shell = _calendar_shell(cal)
    masters = {id(master) for master, _ in _groups(cal) if master is not None}
    added: set[int] = set()
    for instance in expand(cal, start, end, floating_tz=floating_tz,
                           max_instances=max_instances, now=now):
        component = instance.component
        if instance.moved or (id(component) in masters and instance.recurrence_id is not None):
            shell.add_component(_instance_component(instance, component, ctx))
        elif id(component) not in added:  # non-recurring: once, even with several periods
            added.add(id(component))
            shell.add_component(_instance_component(instance, None, ctx))
    return shell


def limit_recurrence_set(cal: Component, start: datetime | None, end: datetime | None, *,
                         floating_tz: tzinfo = UTC) -> Calendar:
    """CALDAV:limit-recurrence-set (RFC 4791 §9.6.6).

    Keeps VTIMEZONEs, masters and other components, and only the overrides
    whose current or original instance overlaps the range (THISANDFUTURE
    overrides: whose RECURRENCE-ID is before the range end).
    """
    ctx = _Context(Zones(cal), floating_tz)
    masters: dict[str, Component] = {}
    for master, _overrides in _groups(cal):
        if master is not None:
            masters.setdefault(str(master.get("UID", "")), master)
    shell = _calendar_shell(cal)
    for component in cal.subcomponents:
        if component.name not in COMPONENTS or _rid(component) is None or _override_matters(
                component, masters.get(str(component.get("UID", ""))), ctx, start, end):
            shell.add_component(component)
    return shell


def _override_matters(override: Component, master: Component | None, ctx: _Context,
                      start: datetime | None, end: datetime | None) -> bool:
    if _instances(override, master, ctx, start, end):
        return True
    try:
        rid_prop = _rid(override)
        rid = when(rid_prop, ctx.zones)
        if master is not None and rid.tz is None and not rid.is_date:
            rid = When(rid.wall, _master_tz(master, ctx.zones))
        if str(rid_prop.params.get("RANGE", "")).upper() == "THISANDFUTURE":
            return end is None or ctx.utc(rid) < end
        if master is None or "DTSTART" not in master:
            return False
        original = _instance(master, _shape(master, ctx.zones), ctx, rid, None)
    except (ValueError, OverflowError, KeyError, TypeError, AttributeError):
        return True  # keep what cannot be judged
    return original.overlaps(start, end)
