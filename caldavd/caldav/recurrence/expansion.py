"""Expansion of a calendar object into its instances, and instance counts."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from icalendar import Component

from caldavd.caldav.recurrence.rules import _Rule, _rules, check_rules
from caldavd.caldav.recurrence.shapes import _Context, _Shape, _shape
from caldavd.caldav.recurrence.values import (
    COMPONENTS,
    DISTANT_FUTURE,
    HORIZON,
    Instance,
    RecurrenceError,
    When,
    Zones,
    _later,
    _list_values,
    when,
    when_value,
)

_DAY = timedelta(days=1)


# An occurrence of a master: (UTC start, recurrence key, start as written, PERIOD end)
_Occurrence = tuple[datetime, datetime, When, datetime | None]


def _first(item: _Occurrence) -> datetime:
    return item[0]


class _Master:
    """The recurrence set of one master component, generated lazily in order."""

    def __init__(self, component: Component, shape: _Shape, ctx: _Context,
                 strict: bool) -> None:
        if shape.dtstart is None:
            raise RuntimeError("shape.dtstart is not set")
        self.component = component
        self.shape = shape
        self.ctx = ctx
        self.dtstart: When = shape.dtstart
        self.rules: list[_Rule] = []
        try:
            self.rules = _rules(component, self.dtstart)
        except RecurrenceError:
            if strict:
                raise
        self.rdates = self._rdates(strict)
        self.exkeys, self.exdays = self._exdates(strict)
        self.recurring = bool(self.rules or self.rdates)
        self.unbounded = any(not rule.bounded for rule in self.rules)

    def key(self, value: When) -> datetime:
        return value.key(self.dtstart.tz)

    def _occurrence(self, value: When, period_end: datetime | None = None) -> _Occurrence:
        instant = self.ctx.utc(value)
        # a zoned value's recurrence key is its instant; only floating ones differ
        key = instant if value.tz is not None else self.key(value)
        return instant, key, value, period_end

    def _rdates(self, strict: bool) -> list[_Occurrence]:
        result = []
        for value, tzid in _list_values(self.component, "RDATE"):
            try:
                if isinstance(value, tuple) and len(value) == 2:
                    start = when_value(value[0], tzid, self.ctx.zones)
                    if isinstance(value[1], timedelta):
                        period_end = _later(self.ctx.utc(start), value[1])
                    else:
                        period_end = self.ctx.utc(when_value(value[1], tzid, self.ctx.zones))
                    result.append(self._occurrence(start, period_end))
                else:
                    result.append(self._occurrence(
                        self._like_dtstart(when_value(value, tzid, self.ctx.zones))))
            except RecurrenceError:
                if strict:
                    raise
        result.sort(key=_first)
        return result

    def _like_dtstart(self, value: When) -> When:
        """A zone-less RDATE is read in the master's zone."""
        if value.tz is None and not value.is_date and self.dtstart.tz is not None:
            return When(value.wall, self.dtstart.tz)
        return value

    def _exdates(self, strict: bool) -> tuple[set[datetime], set[date]]:
        keys: set[datetime] = set()
        days: set[date] = set()
        for value, tzid in _list_values(self.component, "EXDATE"):
            try:
                excluded = when_value(value, tzid, self.ctx.zones)
            except RecurrenceError:
                if strict:
                    raise
                continue
            if excluded.is_date and not self.dtstart.is_date:
                days.add(excluded.wall.date())   # a DATE EXDATE removes that whole day
            else:
                keys.add(self.key(excluded))
        return keys, days

    def _rule_occurrences(self, rule: _Rule, skip_to: datetime | None) -> Iterator[_Occurrence]:
        zone, is_date = self.dtstart.tz, self.dtstart.is_date
        try:
            walls = rule.rule if skip_to is None else rule.starting_near(self._wall(skip_to))
            for wall in walls:
                if rule.counted and rule.until is not None and wall > rule.until:
                    return
                yield self._occurrence(When(wall, zone, is_date))
        except (ValueError, OverflowError):
            return  # dateutil gives up on some combinations while iterating

    def _wall(self, instant: datetime) -> datetime:
        """A UTC instant as wall time in the master's zone, a little early.

        Instances that start before a range can still reach into it, so the
        skip stops short by the instance length plus two days of slack for
        zone offsets.
        """
        reach = self.reach + timedelta(days=2)
        try:
            local = instant.astimezone(self.dtstart.tz or self.ctx.floating_tz)
            return local.replace(tzinfo=None) - reach
        except (OverflowError, ValueError):
            return instant.replace(tzinfo=None) - reach

    @property
    def reach(self) -> timedelta:
        """How long one instance generated from DTSTART lasts (at least one day)."""
        s, e, _touch_start, _touch_end = self.ctx.span(self.shape, self.dtstart)
        return max(e - s, _DAY)

    def occurrences(self, skip_to: datetime | None = None) -> Iterator[_Occurrence]:
        """The recurrence set in order of UTC start, EXDATEs removed, no duplicates.

        ``skip_to`` lets rule instances that end well before it be skipped
        (cheaply, for rules without COUNT); DTSTART and RDATEs are always given.
        """
        streams: list[Iterable[_Occurrence]] = [[self._occurrence(self.dtstart)], self.rdates]
        streams += [self._rule_occurrences(rule, skip_to) for rule in self.rules]
        seen: set[datetime] = set()
        for item in heapq.merge(*streams, key=_first):
            key = item[1]
            if key in seen:
                continue
            seen.add(key)
            if key in self.exkeys or (self.exdays and item[2].wall.date() in self.exdays):
                continue
            yield item


def _rid(component: Component) -> Any:
    return component.get("RECURRENCE-ID")


def _instance(component: Component, shape: _Shape, ctx: _Context, start: When,
              rid: datetime | None, period_end: datetime | None = None,
              instant: datetime | None = None, *, moved: bool = False) -> Instance:
    s, e, touch_start, touch_end = ctx.span(shape, start, period_end, instant)
    return Instance(s, e, rid, start.floating, shape.transparent, shape.fbtype,
                    component, touch_start, touch_end, moved)


def _freebusy_periods(component: Component, ctx: _Context) -> Iterator[Instance]:
    props = component.get("FREEBUSY")
    for prop in props if isinstance(props, list) else [props] if props is not None else []:
        params = getattr(prop, "params", {}) or {}
        fbtype = str(params.get("FBTYPE", "BUSY")).upper()
        if fbtype not in ("FREE", "BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"):
            fbtype = "BUSY"
        value = getattr(prop, "dt", None)
        if not (isinstance(value, tuple) and len(value) == 2):
            continue
        start = when_value(value[0], None, ctx.zones)
        s = ctx.utc(start)
        e = _later(s, value[1]) if isinstance(value[1], timedelta) else ctx.utc(
            when_value(value[1], None, ctx.zones))
        if e > s:
            yield Instance(s, e, None, start.floating, False, fbtype, component)


def _single(component: Component, shape: _Shape, ctx: _Context,
            rid: datetime | None) -> list[Instance]:
    """Instances of a component that does not recur (or of one override)."""
    if shape.name == "VFREEBUSY":
        result = list(_freebusy_periods(component, ctx))
        if shape.dtstart is not None and shape.end is not None:
            s, e, touch_start, touch_end = ctx.span(shape, shape.dtstart)
            result.append(Instance(s, e, None, shape.dtstart.floating, True, "FREE",
                                   component, touch_start, touch_end))
        return result
    if shape.dtstart is None:
        if shape.name != "VTODO":
            return []  # VJOURNAL without DTSTART matches no time range (RFC 4791 §9.9)
        s, e, touch_start, touch_end, floating = ctx.undated_todo(component)
        return [Instance(s, e, rid, floating, shape.transparent, shape.fbtype, component,
                         touch_start, touch_end)]
    return [_instance(component, shape, ctx, shape.dtstart, rid)]


def horizon_end(now: datetime | None = None, start: datetime | None = None) -> datetime:
    """Where an unbounded recurrence stops when no end is given: ``HORIZON`` after
    ``now`` or ``start`` (its first instance in the range), whichever is later."""
    base = now or datetime.now(UTC)
    if start is not None and start > base:
        base = start
    return base + HORIZON if base < DISTANT_FUTURE - HORIZON else DISTANT_FUTURE


@dataclass(frozen=True)
class _RangeOverride:
    """An override with RANGE=THISANDFUTURE: the instances after the one it names
    (``key``) are moved as it moved that one, and take its extent and properties."""

    key: datetime
    component: Component
    shape: _Shape
    rid: When
    start: When

    def moved(self, value: When, ctx: _Context) -> When:
        if (value.tz == self.rid.tz == self.start.tz
                and value.is_date == self.rid.is_date == self.start.is_date):
            return When(value.wall + (self.start.wall - self.rid.wall), value.tz, value.is_date)
        instant = ctx.utc(value) + (ctx.utc(self.start) - ctx.utc(self.rid))
        return When(instant.replace(tzinfo=None), UTC)

    def reach(self, ctx: _Context) -> timedelta:
        """How far the move and the override's extent carry an instance."""
        shift = abs(ctx.utc(self.start) - ctx.utc(self.rid))
        s, e, _, _ = ctx.span(self.shape, self.start)
        return shift + max(e - s, timedelta(0)) + timedelta(days=2)  # days: zone offsets


def _range_overrides(overrides: list[Component], master: Component | None,
                     ctx: _Context) -> list[_RangeOverride]:
    """The THISANDFUTURE overrides of a master, by RECURRENCE-ID."""
    master_tz = _master_tz(master, ctx.zones)
    found = []
    for override in overrides:
        prop = _rid(override)
        params = getattr(prop, "params", None) or {}
        if str(params.get("RANGE", "")).upper() != "THISANDFUTURE" or override.name != (
                master.name if master is not None else None):
            continue
        try:
            rid = when(prop, ctx.zones)
            if rid.tz is None and not rid.is_date and master_tz is not None:
                rid = When(rid.wall, master_tz)  # read in the master's zone
            shape = _shape(override, ctx.zones)
            if shape.dtstart is None:
                continue
            found.append(_RangeOverride(rid.key(master_tz), override, shape, rid,
                                        shape.dtstart))
        except (RecurrenceError, ValueError, OverflowError, KeyError, TypeError):
            continue
    found.sort(key=lambda r: r.key)
    return found


def _ranged(ranges: list[_RangeOverride], keys: list[datetime],
            key: datetime) -> _RangeOverride | None:
    """The THISANDFUTURE override in force for the instance ``key`` (the last before it;
    ``keys``: theirs, in order)."""
    index = bisect.bisect_left(keys, key)
    return ranges[index - 1] if index else None


def _master_instances(master: _Master, ctx: _Context, start: datetime | None,
                      end: datetime | None, overridden: Collection[datetime],
                      max_instances: int | None, now: datetime | None,
                      ranges: list[_RangeOverride] | None = None) -> list[Instance]:
    stop = end
    # Open-ended: the horizon counts from the first instance in the range, wherever
    # that lies (a yearly event from 2030 has instances after 2026, too).
    open_ended = stop is None and master.unbounded
    skip_to = start
    range_keys = [r.key for r in ranges] if ranges else []
    if ranges:  # a moved instance may come from outside the range (not past the horizon)
        reach = max(r.reach(ctx) for r in ranges)
        skip_to = None if start is None else start - reach
        if end is not None:
            stop = end + reach
    result: list[Instance] = []
    for s, key, value, period_end in master.occurrences(skip_to):
        if open_ended and stop is None and (start is None or s >= start):
            stop = horizon_end(now, s)
        if stop is not None and s > stop:
            break
        if key in overridden:
            continue
        ranged = _ranged(ranges, range_keys, key) if ranges and master.recurring else None
        try:
            if ranged is not None:
                instance = _instance(ranged.component, ranged.shape, ctx,
                                     ranged.moved(value, ctx), key, moved=True)
            else:
                instance = _instance(master.component, master.shape, ctx, value,
                                     key if master.recurring else None, period_end, s)
        except OverflowError:
            break  # the end of an instance near year 9999 is past what datetime holds
        if instance.overlaps(start, end):
            result.append(instance)
            if max_instances is not None and len(result) >= max_instances:
                break
    return result


def _instances(component: Component, master: Component | None, ctx: _Context,
               start: datetime | None, end: datetime | None, *,
               overridden: Collection[datetime] = (), max_instances: int | None = None,
               now: datetime | None = None,
               ranges: list[_RangeOverride] | None = None) -> list[Instance]:
    if component.name not in COMPONENTS:
        return []
    try:
        shape = _shape(component, ctx.zones)
        rid_prop = _rid(component)
        if rid_prop is not None:
            rid = when(rid_prop, ctx.zones)
            master_tz = _master_tz(master, ctx.zones)
            key = rid.key(master_tz)
            result = _single(component, shape, ctx, key)
        elif shape.dtstart is not None and shape.name != "VFREEBUSY" and (
                "RRULE" in component or "RDATE" in component):
            return _master_instances(_Master(component, shape, ctx, strict=False), ctx,
                                     start, end, overridden, max_instances, now, ranges)
        else:
            result = _single(component, shape, ctx, None)
    except (ValueError, OverflowError, KeyError, TypeError, AttributeError):
        return []  # stored data this module cannot interpret has no instances
    return [instance for instance in result if instance.overlaps(start, end)]


def _master_tz(master: Component | None, zones: Zones) -> tzinfo | None:
    if master is None or "DTSTART" not in master:
        return None
    try:
        return when(master["DTSTART"], zones).tz
    except RecurrenceError:
        return None


def component_instances(component: Component, master: Component | None = None,
                        start: datetime | None = None, end: datetime | None = None, *,
                        floating_tz: tzinfo = UTC, zones: Zones | None = None,
                        overridden: Collection[datetime] = (),
                        max_instances: int | None = None,
                        now: datetime | None = None) -> list[Instance]:
    """The instances one component contributes that overlap [start, end).

    For a master, ``overridden`` holds the recurrence ids (UTC keys) that
    overrides replace. For an override, ``master`` (if any) supplies the zone
    of a floating RECURRENCE-ID. ``zones`` resolves TZIDs (pass ``Zones(cal)``;
    without it only IANA names resolve). Data that cannot be interpreted yields
    no instances rather than an error.
    """
    ctx = _Context(zones or Zones(), floating_tz)
    return _instances(component, master, ctx, start, end, overridden=overridden,
                      max_instances=max_instances, now=now)


def _groups(cal: Component) -> Iterator[tuple[Component | None, list[Component]]]:
    """(master, overrides) per UID, in document order; extra masters stand alone."""
    masters: dict[str, Component] = {}
    overrides: dict[str, list[Component]] = {}
    loose: list[Component] = []
    order: list[str] = []
    for component in cal.subcomponents:
        if component.name not in COMPONENTS:
            continue
        uid = str(component.get("UID", ""))
        if uid not in masters and uid not in overrides:
            order.append(uid)
        if _rid(component) is not None:
            overrides.setdefault(uid, []).append(component)
        elif uid in masters:
            loose.append(component)
        else:
            masters[uid] = component
    for uid in order:
        yield masters.get(uid), overrides.get(uid, [])
    for component in loose:
        yield component, []


def _override_keys(overrides: list[Component], master: Component | None,
                   zones: Zones) -> set[datetime]:
    master_tz = _master_tz(master, zones)
    keys = set()
    for override in overrides:
        try:
            keys.add(when(_rid(override), zones).key(master_tz))
        except RecurrenceError:
            continue
    return keys


def expand(cal: Component, start: datetime | None = None, end: datetime | None = None, *,
           floating_tz: tzinfo = UTC, max_instances: int | None = None,
           now: datetime | None = None) -> list[Instance]:
    """Instances of every component of ``cal`` overlapping [start, end), sorted.

    ``None`` leaves that side open; an unbounded RRULE with no ``end`` stops at
    :func:`horizon_end` of its first instance from ``start`` on (``now`` defaults
    to the current time). At most
    ``max_instances`` (the earliest) are returned.
    """
    ctx = _Context(Zones(cal), floating_tz)
    result: list[Instance] = []
    for master, overrides in _groups(cal):
        if master is not None:
            keys = _override_keys(overrides, master, ctx.zones) if overrides else set()
            ranges = _range_overrides(overrides, master, ctx) if overrides else None
            result += _instances(master, None, ctx, start, end, overridden=keys,
                                 max_instances=max_instances, now=now, ranges=ranges)
        for override in overrides:
            result += _instances(override, master, ctx, start, end)
    result.sort(key=lambda instance: (instance.start, instance.end))
    if max_instances is not None:
        del result[max_instances:]
    return result


def is_unbounded(cal: Component) -> bool:
    """Whether some master has an RRULE without COUNT or UNTIL."""
    zones = Zones(cal)
    for master, _overrides in _groups(cal):
        if master is None:
            continue
        try:
            if check_rules(master, zones):
                return True
        except RecurrenceError:
            continue
    return False


def count_instances(cal: Component, *, stop: int, before: datetime | None = None,
                    unbounded_window: timedelta = HORIZON) -> int:
    """How many instances the object defines, counting no further than ``stop``.

    Counted: each master's recurrence set (start before ``before``; for an
    unbounded set also within ``unbounded_window`` of its first instance) plus
    overrides that name no counted instance. Raises :class:`RecurrenceError`
    for data that cannot be expanded.
    """
    ctx = _Context(Zones(cal), UTC)
    total = 0
    for master, overrides in _groups(cal):
        seen: set[datetime] = set()
        if master is not None and master.name in COMPONENTS and "DTSTART" in master:
            shape = _shape(master, ctx.zones)
            recurrence = _Master(master, shape, ctx, strict=True)
            limit = before
            if recurrence.unbounded:
                window_end = ctx.utc(recurrence.dtstart) + unbounded_window
                limit = window_end if limit is None else min(limit, window_end)
            for s, key, _value, _end in recurrence.occurrences():
                if (limit is not None and s >= limit) or total >= stop:
                    break
                seen.add(key)
                total += 1
        elif master is not None:
            total += 1
        total += len(_override_keys(overrides, master, ctx.zones) - seen)
        if total >= stop:
            return stop
    return total
