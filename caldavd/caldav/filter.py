"""The calendar-query filter (RFC 4791 §9.7): parsed once, matched in memory, pushed down.

``parse_filter`` turns a ``CALDAV:filter`` element into a frozen tree of
``CompFilter`` / ``PropFilter`` / ``ParamFilter`` / ``TextMatch`` / ``TimeRange``.
Malformed filters raise ``ValidFilter``, and so do filters that can never match
(a component filter where RFC 5545 lets no such component be, a time-range on a
property whose value is no date: ``CHILDREN``, ``NOT_DATE_PROPERTIES``); filters
this server cannot evaluate raise ``SupportedFilter`` and unknown collations raise
``SupportedCollation`` (RFC 4791 §7.8 preconditions).

``Filter.match`` is the exact, in-memory evaluation. ``Filter.index_query``
is the part a store can evaluate from its index (component type and
time-range), with ``exact`` telling whether candidates need ``match`` as a
recheck. ``Filter.verify_index`` is the paranoid mode: it runs ``match`` and
raises ``IndexMismatch`` when the index disagrees.

Choices where RFC 4791 is silent, made here once:

* A component matches a ``comp-filter`` when one component of that name meets
  every condition of the filter; for a time-range on a recurring component, the
  conditions are checked against the component (master or override) that
  produced an overlapping instance.
* A property matches a ``prop-filter`` when one instance of that property meets
  every condition (text-match and all param-filters on the same instance).
  ``negate-condition`` negates the text comparison on that one instance.
* A multi-valued property (CATEGORIES) or parameter (MEMBER) matches text when
  any single value, or (for properties) the comma-joined value, matches.
* A DATE property value occupies its whole day in the floating time zone.
* VALARM time-ranges (RFC 4791 §9.9) use the alarm's trigger times: absolute
  triggers, or triggers relative to the start/end of every instance of the
  enclosing component (RRULE/RDATE included), repeated by REPEAT/DURATION
  (at most ``MAX_ALARM_REPEAT`` repetitions are considered).
* Expansion is bounded: a time-range looks at no more than
  ``MAX_MATCH_INSTANCES`` instances (the earliest), and an unbounded RRULE
  under an open-ended range stops at the recurrence module's horizon. When
  only existence matters (no prop-filter or comp-filter under the
  time-ranged component) one instance is enough.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final, Literal

import icalendar
from lxml import etree

from caldavd.caldav import ical, recurrence
from caldavd.caldav.components import CALENDAR_COMPONENTS
from caldavd.dav import errors, names
from caldavd.dav.xml import parse_xml

Collation = Literal["i;ascii-casemap", "i;octet", "i;unicode-casemap"]
MatchType = Literal["equals", "contains", "starts-with", "ends-with"]

DEFAULT_COLLATION: Final[Collation] = "i;ascii-casemap"
SUPPORTED_COLLATIONS: Final[frozenset[str]] = frozenset(
    {"i;ascii-casemap", "i;octet", "i;unicode-casemap"})
MATCH_TYPES: Final[frozenset[str]] = frozenset({"equals", "contains", "starts-with", "ends-with"})

#: Components under VCALENDAR whose time-range the recurrence module evaluates (§9.9).
INSTANCE_COMPONENTS: Final[frozenset[str]] = frozenset(CALENDAR_COMPONENTS)
#: Components that may carry a VALARM (RFC 5545 §3.6.6).
ALARM_PARENTS: Final[frozenset[str]] = frozenset({"VEVENT", "VTODO"})
#: The components each component may hold (RFC 5545 §3.4, §3.6; VAVAILABILITY and
#: AVAILABLE RFC 7953 §3; PARTICIPANT, VLOCATION, VRESOURCE RFC 9073 §7; VLOCATION in
#: VALARM RFC 9074 §8). A comp-filter naming one of these components under one of
#: these parents that cannot hold it can never match: invalid (RFC 4791 §7.8
#: valid-filter: "cannot nest a VEVENT in a VEVENT"). X- and other names are not judged.
_PARTS = frozenset({"PARTICIPANT", "VLOCATION", "VRESOURCE"})
CHILDREN: Final[dict[str, frozenset[str]]] = {
    "VCALENDAR": frozenset({*INSTANCE_COMPONENTS, "VTIMEZONE", "VAVAILABILITY"}),
    **dict.fromkeys(("VEVENT", "VTODO"), frozenset({"VALARM", *_PARTS})),
    **dict.fromkeys(("VJOURNAL", "VFREEBUSY", "AVAILABLE"), _PARTS),
    "VAVAILABILITY": frozenset({"AVAILABLE", *_PARTS}),
    "PARTICIPANT": frozenset({"VLOCATION", "VRESOURCE"}),
    "VALARM": frozenset({"VLOCATION"}),
    "VTIMEZONE": frozenset({"STANDARD", "DAYLIGHT"}),
    **dict.fromkeys(("STANDARD", "DAYLIGHT", "VLOCATION", "VRESOURCE"), frozenset()),
}
#: Properties RFC 5545 §3.7-3.8 and RFC 7986 §5 define with a value type other than
#: DATE, DATE-TIME or PERIOD: a time-range on them is invalid (RFC 4791 §9.9 applies it
#: to date and date-time values; §7.8 valid-filter: "cannot nest a time-range in a
#: prop-filter name=SUMMARY"). X- and other properties may hold dates: not judged.
NOT_DATE_PROPERTIES: Final[frozenset[str]] = frozenset({
    "CALSCALE", "METHOD", "PRODID", "VERSION", "ATTACH", "CATEGORIES", "CLASS", "COMMENT",
    "DESCRIPTION", "GEO", "LOCATION", "PERCENT-COMPLETE", "PRIORITY", "RESOURCES", "STATUS",
    "SUMMARY", "DURATION", "TRANSP", "TZID", "TZNAME", "TZOFFSETFROM", "TZOFFSETTO",
    "TZURL", "ATTENDEE", "CONTACT", "ORGANIZER", "RELATED-TO", "URL", "UID", "RRULE",
    "ACTION", "REPEAT", "SEQUENCE", "REQUEST-STATUS", "NAME", "REFRESH-INTERVAL", "SOURCE",
    "COLOR", "IMAGE", "CONFERENCE"})
MAX_ALARM_REPEAT: Final = 1000
MAX_MATCH_INSTANCES: Final = 10_000

_UTC_FORMAT = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Widening of the expansion window for relative alarm triggers: instance
# boundaries and trigger offsets are compared exactly afterwards.
_ALARM_SLACK = timedelta(days=1)


class IndexMismatch(AssertionError):
    """Paranoid mode: the store's index disagreed with the in-memory match."""


# -- the tree ------------------------------------------------------------------------


def parse_utc_datetime(text: str) -> datetime:
    """Parse an RFC 5545 "date with UTC time" (``20060104T000000Z``); else ValueError."""
    found = _UTC_FORMAT.match(text.strip())
    if found is None:
        raise ValueError(f"not a UTC date-time: {text!r}")
    year, month, day, hour, minute, second = (int(part) for part in found.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC interval ``[start, end)``; None is unbounded (RFC 4791 §9.9)."""

    start: datetime | None
    end: datetime | None

    def contains(self, moment: datetime) -> bool:
        """(start <= moment) AND (end > moment)."""
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment < self.end)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """(start < range end) AND (end > range start)."""
        return (self.end is None or start < self.end) and (self.start is None or end > self.start)


@dataclass(frozen=True)
class TextMatch:
    """RFC 4791 §9.7.5; ``match_type`` is Apple's extension (RFC 6352 §10.5.4 values)."""

    text: str
    collation: Collation = DEFAULT_COLLATION
    negate: bool = False
    match_type: MatchType = "contains"

    def matches(self, values: Iterable[str]) -> bool:
        """Whether any value matches, then negated if ``negate-condition="yes"``."""
        needle = _fold(self.text, self.collation)
        found = any(self._compare(_fold(value, self.collation), needle) for value in values)
        return found != self.negate

    def _compare(self, value: str, needle: str) -> bool:
        if self.match_type == "equals":
            return value == needle
        if self.match_type == "starts-with":
            return value.startswith(needle)
        if self.match_type == "ends-with":
            return value.endswith(needle)
        return needle in value


@dataclass(frozen=True)
class ParamFilter:
    """RFC 4791 §9.7.3."""

    name: str
    is_not_defined: bool = False
    text_match: TextMatch | None = None


@dataclass(frozen=True)
class PropFilter:
    """RFC 4791 §9.7.2."""

    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    text_match: TextMatch | None = None
    param_filters: tuple[ParamFilter, ...] = ()


@dataclass(frozen=True)
class CompFilter:
    """RFC 4791 §9.7.1."""

    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    prop_filters: tuple[PropFilter, ...] = ()
    comp_filters: tuple[CompFilter, ...] = ()

    @property
    def is_bare(self) -> bool:
        """Nothing but a name and, at most, a time-range."""
        return not (self.is_not_defined or self.prop_filters or self.comp_filters)


@dataclass(frozen=True)
class IndexQuery:
    """What a store can evaluate from its index.

    * ``component_type``: the calendar object must contain a component of this
      type directly under VCALENDAR (None: no constraint).
    * ``start`` / ``end``: some instance of that component must overlap
      ``[start, end)`` by the RFC 4791 §9.9 rules (None: unbounded).
    * ``exact``: the objects selected this way are exactly the objects that
      ``Filter.match`` accepts, so no recheck is needed. This holds only when
      the filter is VCALENDAR with at most one bare comp-filter (a component
      type and optionally a time-range), and it assumes the store evaluates the
      time-range per instance (RRULE/RDATE/EXDATE and overrides) with the
      same floating time zone as the query. A store that approximates (an
      overall span, an expansion horizon, another floating zone) must treat
      the result as inexact and recheck with ``Filter.match``.

    When ``exact`` is False the selection is a superset: everything
    ``Filter.match`` accepts is selected.
    """

    component_type: str | None
    start: datetime | None
    end: datetime | None
    exact: bool

    @property
    def time_range(self) -> TimeRange | None:
        if self.start is None and self.end is None:
            return None
        return TimeRange(self.start, self.end)

    def inexact(self) -> IndexQuery:
        return replace(self, exact=False)

    def may_match(self, cal: icalendar.Calendar, *, floating_tz: tzinfo = UTC) -> bool:
        """The index's answer computed in memory: the reference for paranoid mode."""
        if self.component_type is None:
            return True
        if not any(sub.name == self.component_type for sub in cal.subcomponents):
            return False
        if self.time_range is None:
            return True
        context = _Context(cal, floating_tz)
        instances = context.instances(self.start, self.end,
                                      existence_of=self.component_type)
        return any(inst.component.name == self.component_type for inst in instances)


@dataclass(frozen=True)
class Filter:
    """A parsed ``CALDAV:filter``: its VCALENDAR comp-filter and the floating time zone."""

    root: CompFilter
    floating_tz: tzinfo = field(default=UTC, compare=False)

    def match(self, cal: icalendar.Calendar, *, floating_tz: tzinfo | None = None) -> bool:
        """Exact evaluation against a parsed calendar object (RFC 4791 §9.7)."""
        if cal.name != "VCALENDAR" or self.root.is_not_defined:
            return False
        context = _Context(cal, self.floating_tz if floating_tz is None else floating_tz)
        return _match_component(self.root, cal, context)

    def index_query(self) -> IndexQuery:
        """The indexable part: see ``IndexQuery`` for what ``exact`` promises."""
        root = self.root
        if root.is_not_defined:
            return IndexQuery(None, None, None, exact=False)
        if root.is_bare and root.time_range is None:
            return IndexQuery(None, None, None, exact=True)
        positive = [child for child in root.comp_filters if not child.is_not_defined]
        if not positive:
            return IndexQuery(None, None, None, exact=False)
        first = positive[0]
        tr = first.time_range
        exact = (not root.prop_filters and len(root.comp_filters) == 1 and first.is_bare)
        return IndexQuery(first.name, tr.start if tr else None, tr.end if tr else None, exact)

    def verify_index(self, cal: icalendar.Calendar, *, selected: bool,
                     floating_tz: tzinfo | None = None) -> bool:
        """Paranoid mode: ``match`` the object and check the index's verdict on it.

        ``selected`` is whether the store's index query returned this object.
        Raises ``IndexMismatch`` if the index left out a matching object, or
        if an exact index selected an object that does not match.
        Returns the result of ``match``.
        """
        matched = self.match(cal, floating_tz=floating_tz)
        query = self.index_query()
        if matched and not selected:
            raise IndexMismatch(f"index excluded a matching object for {query}")
        if query.exact and selected and not matched:
            raise IndexMismatch(f"exact index selected a non-matching object for {query}")
        return matched


# -- parsing -------------------------------------------------------------------------


def parse_filter(element: etree._Element, *, default_tz: tzinfo = UTC,
                 floating_tz: tzinfo | None = None) -> Filter:
    """Parse a ``CALDAV:filter`` element (RFC 4791 §9.7).

    ``floating_tz`` is the zone from the request's ``CALDAV:timezone`` (see
    ``parse_timezone_element``); ``default_tz`` applies when there is none
    (the collection's calendar-timezone, or UTC).
    """
    if element.tag != names.FILTER:
        raise errors.ValidFilter(f"expected CALDAV:filter, got {element.tag}")
    children = _children(element)
    if len(children) != 1 or children[0].tag != names.COMP_FILTER:
        raise errors.ValidFilter("CALDAV:filter must hold exactly one comp-filter")
    root = _parse_comp_filter(children[0], parent=None)
    if root.name != "VCALENDAR":
        raise errors.ValidFilter("the top comp-filter must name VCALENDAR")
    return Filter(root, default_tz if floating_tz is None else floating_tz)


def parse_timezone_element(element: etree._Element) -> tzinfo:
    """The time zone of a ``CALDAV:timezone`` element (RFC 4791 §9.8): see
    ``ical.timezone_calendar``; anything else is ``valid-calendar-data`` (§7.8)."""
    try:
        return ical.timezone_calendar(element.text or "")
    except errors.ValidCalendarData as exc:
        raise errors.ValidCalendarData(f"CALDAV:timezone: {exc.message}") from None


def stored_timezone(value: str | None) -> tzinfo | None:
    """The zone of a calendar's calendar-timezone property as stored (the element's
    text, RFC 4791 §5.2.2); None when it has none."""
    return parse_timezone_element(parse_xml(value.encode())) if value else None


def _children(element: etree._Element) -> list[etree._Element]:
    """CalDAV-namespace child elements; comments and foreign elements are ignored."""
    return [child for child in element
            if isinstance(child.tag, str) and child.tag.startswith(f"{{{names.CALDAV_NS}}}")]


def _name(element: etree._Element) -> str:
    name = element.get(names.ATTR_NAME)
    if not name or not name.strip():
        raise errors.ValidFilter(f"{etree.QName(element).localname} needs a name attribute")
    return name.strip().upper()


def _parse_comp_filter(element: etree._Element, *, parent: str | None) -> CompFilter:
    name = _name(element)
    if parent in CHILDREN and name in CHILDREN and name not in CHILDREN[parent]:
        raise errors.ValidFilter(f"a {parent} holds no {name}: the comp-filter never matches")
    is_not_defined = False
    time_range: TimeRange | None = None
    props: list[PropFilter] = []
    comps: list[CompFilter] = []
    for child in _children(element):
        if child.tag == names.IS_NOT_DEFINED:
            is_not_defined = True
        elif child.tag == names.TIME_RANGE:
            if time_range is not None:
                raise errors.ValidFilter(f"comp-filter {name}: more than one time-range")
            time_range = _parse_time_range(child)
        elif child.tag == names.PROP_FILTER:
            props.append(_parse_prop_filter(child))
        elif child.tag == names.COMP_FILTER:
            comps.append(_parse_comp_filter(child, parent=name))
        else:
            raise errors.ValidFilter(f"comp-filter {name}: unexpected {child.tag}")
    if is_not_defined and (time_range or props or comps):
        raise errors.ValidFilter(f"comp-filter {name}: is-not-defined must stand alone")
    if time_range is not None:
        _check_time_range_target(name, parent)
    return CompFilter(name, is_not_defined, time_range, tuple(props), tuple(comps))


def _check_time_range_target(name: str, parent: str | None) -> None:
    """RFC 4791 §9.9 defines time-range overlap for these components only."""
    if parent is None:
        raise errors.ValidFilter("time-range on VCALENDAR")
    if parent == "VCALENDAR" and name in INSTANCE_COMPONENTS:
        return
    if parent in ALARM_PARENTS and name == "VALARM":
        return
    raise errors.SupportedFilter(f"time-range on {name} inside {parent} is not supported")


def _parse_prop_filter(element: etree._Element) -> PropFilter:
    name = _name(element)
    is_not_defined = False
    time_range: TimeRange | None = None
    text_match: TextMatch | None = None
    params: list[ParamFilter] = []
    for child in _children(element):
        if child.tag == names.IS_NOT_DEFINED:
            is_not_defined = True
        elif child.tag == names.TIME_RANGE:
            if time_range is not None or text_match is not None:
                raise errors.ValidFilter(f"prop-filter {name}: one time-range or text-match")
            time_range = _parse_time_range(child)
        elif child.tag == names.TEXT_MATCH:
            if time_range is not None or text_match is not None:
                raise errors.ValidFilter(f"prop-filter {name}: one time-range or text-match")
            text_match = _parse_text_match(child)
        elif child.tag == names.PARAM_FILTER:
            params.append(_parse_param_filter(child))
        else:
            raise errors.ValidFilter(f"prop-filter {name}: unexpected {child.tag}")
    if is_not_defined and (time_range or text_match or params):
        raise errors.ValidFilter(f"prop-filter {name}: is-not-defined must stand alone")
    if time_range is not None and name in NOT_DATE_PROPERTIES:
        raise errors.ValidFilter(f"time-range on {name}, whose value is no date or date-time")
    return PropFilter(name, is_not_defined, time_range, text_match, tuple(params))


def _parse_param_filter(element: etree._Element) -> ParamFilter:
    name = _name(element)
    children = _children(element)
    if len(children) > 1:
        raise errors.ValidFilter(f"param-filter {name}: at most one child")
    if not children:
        return ParamFilter(name)
    child = children[0]
    if child.tag == names.IS_NOT_DEFINED:
        return ParamFilter(name, is_not_defined=True)
    if child.tag == names.TEXT_MATCH:
        return ParamFilter(name, text_match=_parse_text_match(child))
    raise errors.ValidFilter(f"param-filter {name}: unexpected {child.tag}")


def _parse_text_match(element: etree._Element) -> TextMatch:
    """RFC 4791 §9.7.5: collation defaults to i;ascii-casemap, negate-condition to no."""
    if _children(element):
        raise errors.ValidFilter("text-match holds text only")
    collation = element.get("collation", DEFAULT_COLLATION)
    if collation not in SUPPORTED_COLLATIONS:
        raise errors.SupportedCollation(f"unsupported collation {collation!r}")
    negate_attr = element.get("negate-condition", "no")
    if negate_attr not in ("yes", "no"):
        raise errors.ValidFilter(f"negate-condition must be yes or no, not {negate_attr!r}")
    match_type = element.get(names.ATTR_MATCH_TYPE, "contains")
    if match_type not in MATCH_TYPES:
        raise errors.SupportedFilter(f"unsupported match-type {match_type!r}")
    return TextMatch(
        text=element.text or "",
        collation=collation,  # type: ignore[arg-type]  # checked against SUPPORTED_COLLATIONS
        negate=negate_attr == "yes",
        match_type=match_type,  # type: ignore[arg-type]  # checked against MATCH_TYPES
    )


def _parse_time_range(element: etree._Element) -> TimeRange:
    """RFC 4791 §9.9: UTC date-times; either bound may be missing, not both."""
    bounds: list[datetime | None] = []
    for attr in ("start", "end"):
        value = element.get(attr)
        if value is None:
            bounds.append(None)
            continue
        try:
            bounds.append(parse_utc_datetime(value))
        except ValueError as exc:
            raise errors.ValidFilter(f"time-range {attr}: {exc}") from exc
    start, end = bounds
    if start is None and end is None:
        raise errors.ValidFilter("time-range needs a start or an end")
    if start is not None and end is not None and end <= start:
        raise errors.ValidFilter("time-range end must be after its start")
    return TimeRange(start, end)


# -- matching ------------------------------------------------------------------------


_InstanceKey = tuple[datetime | None, datetime | None, int]


@dataclass
class _Context:
    cal: icalendar.Calendar
    floating_tz: tzinfo
    _instances: dict[_InstanceKey, list[recurrence.Instance]] = field(default_factory=dict)

    def instances(self, start: datetime | None, end: datetime | None, *,
                  existence_of: str | None = None) -> list[recurrence.Instance]:
        """Instances overlapping ``[start, end)``, the earliest ``MAX_MATCH_INSTANCES``.

        ``existence_of``: the caller only asks whether a component of this type
        has an overlapping instance; if the object holds no other instance
        component type, the first instance answers that.
        """
        limit = MAX_MATCH_INSTANCES
        if existence_of is not None and all(
                sub.name == existence_of for sub in self.cal.subcomponents
                if sub.name in INSTANCE_COMPONENTS):
            limit = 1
        key = (start, end, limit)
        if key not in self._instances:
            try:
                found = recurrence.expand(
                    self.cal, start, end, floating_tz=self.floating_tz, max_instances=limit)
            except OverflowError:
                # An open range starting within the expansion horizon of year
                # 9999 cannot be expanded; nothing is scheduled there.
                found = []
            self._instances[key] = found
        return self._instances[key]


def _match_component(flt: CompFilter, component: Any, context: _Context) -> bool:
    """Props and sub-comp-filters of ``flt`` against one component (not its time-range)."""
    return all(_match_prop_filter(pf, component, context) for pf in flt.prop_filters) and all(
        _match_child_filter(cf, component, context) for cf in flt.comp_filters)


def _match_child_filter(flt: CompFilter, parent: Any, context: _Context) -> bool:
    candidates = [sub for sub in parent.subcomponents if sub.name == flt.name]
    if flt.is_not_defined:
        return not candidates
    if flt.time_range is None:
        return any(_match_component(flt, sub, context) for sub in candidates)
    if flt.name == "VALARM":
        return any(_alarm_overlaps(sub, parent, flt.time_range, context)
                   and _match_component(flt, sub, context) for sub in candidates)
    # A component under VCALENDAR: one of its instances must overlap (§9.9).
    if not candidates:
        return False
    tr = flt.time_range
    existence_of = flt.name if not (flt.prop_filters or flt.comp_filters) else None
    producers: list[Any] = []
    for inst in context.instances(tr.start, tr.end, existence_of=existence_of):
        if inst.component.name == flt.name and not any(
                inst.component is seen for seen in producers):
            producers.append(inst.component)
    return any(_match_component(flt, sub, context) for sub in producers)


def _match_prop_filter(flt: PropFilter, component: Any, context: _Context) -> bool:
    props = _properties(component, flt.name)
    if flt.is_not_defined:
        return not props
    return any(_match_property(flt, prop, context) for prop in props)


def _match_property(flt: PropFilter, prop: Any, context: _Context) -> bool:
    if flt.text_match is not None and not flt.text_match.matches(_text_values(prop)):
        return False
    if flt.time_range is not None and not _property_overlaps(
            prop, flt.time_range, context.floating_tz):
        return False
    return all(_match_param_filter(pf, prop) for pf in flt.param_filters)


def _match_param_filter(flt: ParamFilter, prop: Any) -> bool:
    params = getattr(prop, "params", None)
    value = params.get(flt.name) if params is not None else None
    if flt.is_not_defined:
        return value is None
    if value is None:
        return False
    if flt.text_match is None:
        return True
    values = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    return flt.text_match.matches(values)


def _properties(component: Any, name: str) -> list[Any]:
    """Every instance of a property (icalendar folds repeats into a list)."""
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text_values(prop: Any) -> list[str]:
    """The texts a text-match compares against: the value, and each value of a list."""
    cats = getattr(prop, "cats", None)
    if cats is not None:
        values = [str(cat) for cat in cats]
        return [",".join(values), *values]
    if isinstance(prop, str):
        return [str(prop)]
    to_ical = getattr(prop, "to_ical", None)
    if to_ical is None:
        return [str(prop)]
    raw = to_ical()
    return [raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)]


def _as_utc(value: date | datetime, tz: tzinfo) -> datetime:
    """Floating date-times and dates are read in the floating zone (RFC 4791 §9.9)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=tz).astimezone(UTC)


def _property_overlaps(prop: Any, tr: TimeRange, tz: tzinfo) -> bool:
    """RFC 4791 §9.9 for DATE-TIME/DATE properties (DTSTAMP, COMPLETED, DUE, ...).

    A DATE-TIME overlaps when (start <= value) AND (end > value); a DATE is its
    whole day; a PERIOD overlaps as an interval; lists (RDATE, EXDATE) overlap
    when any value does. Durations and non-time values never overlap.
    """
    dts = getattr(prop, "dts", None)
    values = [item.dt for item in dts] if dts is not None else [getattr(prop, "dt", None)]
    try:
        return any(_value_overlaps(value, tr, tz) for value in values)
    except OverflowError:  # at the edge of the datetime range
        return False


def _value_overlaps(value: object, tr: TimeRange, tz: tzinfo) -> bool:
    if isinstance(value, datetime):
        return tr.contains(_as_utc(value, tz))
    if isinstance(value, date):
        start = _as_utc(value, tz)
        end = _as_utc(value + timedelta(days=1), tz)
        return tr.overlaps(start, end)
    if isinstance(value, tuple) and len(value) == 2:
        begin, until = value
        if not isinstance(begin, date):
            return False
        start = _as_utc(begin, tz)
        if isinstance(until, timedelta):
            end = start + until
        elif isinstance(until, date):
            end = _as_utc(until, tz)
        else:
            return False
        return tr.contains(start) if end == start else tr.overlaps(start, end)
    return False


# -- alarms (RFC 4791 §9.9 VALARM, RFC 5545 §3.6.6) ------------------------------------


@dataclass(frozen=True)
class _Trigger:
    offset: timedelta | None  # relative trigger
    absolute: datetime | None  # absolute trigger (UTC)
    related_end: bool
    repeat: int
    interval: timedelta

    def span(self) -> timedelta:
        """How far from its anchor this alarm can fire, in either direction."""
        base = abs(self.offset) if self.offset is not None else timedelta()
        return base + self.repeat * abs(self.interval)

    def times(self, anchor: datetime) -> Iterator[datetime]:
        first = anchor + self.offset if self.offset is not None else anchor
        yield first
        for count in range(1, self.repeat + 1):
            yield first + count * self.interval


def _trigger(alarm: Any, tz: tzinfo) -> _Trigger | None:
    prop = alarm.get("TRIGGER")
    if prop is None or isinstance(prop, list):
        return None
    value = getattr(prop, "dt", None)
    repeat, interval = 0, timedelta()
    duration = alarm.get("DURATION")
    if alarm.get("REPEAT") is not None and duration is not None:
        try:
            repeat = max(0, min(int(alarm.get("REPEAT")), MAX_ALARM_REPEAT))
        except (TypeError, ValueError):
            repeat = 0
        interval = getattr(duration, "dt", timedelta())
        if not isinstance(interval, timedelta):
            repeat, interval = 0, timedelta()
    if isinstance(value, timedelta):
        related = str(prop.params.get("RELATED", "START")).upper()
        return _Trigger(value, None, related == "END", repeat, interval)
    if isinstance(value, date):
        try:
            return _Trigger(None, _as_utc(value, tz), False, repeat, interval)
        except OverflowError:
            return None
    return None


def _alarm_overlaps(alarm: Any, parent: Any, tr: TimeRange, context: _Context) -> bool:
    """Whether any trigger of ``alarm`` falls in ``tr``: (start <= trigger) AND (end > trigger)."""
    trigger = _trigger(alarm, context.floating_tz)
    if trigger is None:
        return False
    if trigger.absolute is not None:
        try:
            return any(tr.contains(moment) for moment in trigger.times(trigger.absolute))
        except OverflowError:
            return False
    if not _has_anchor(parent, related_end=trigger.related_end):
        return False
    widen = trigger.span() + _ALARM_SLACK
    start = _shift(tr.start, -widen)
    end = _shift(tr.end, widen)
    for inst in context.instances(start, end):
        if inst.component is not parent:
            continue
        anchor = inst.end if trigger.related_end else inst.start
        try:
            if any(tr.contains(moment) for moment in trigger.times(anchor)):
                return True
        except OverflowError:  # triggers beyond year 1..9999 never fire
            continue
    return False


def _shift(moment: datetime | None, delta: timedelta) -> datetime | None:
    """``moment + delta``; None (unbounded) when that leaves the datetime range."""
    if moment is None:
        return None
    try:
        return moment + delta
    except OverflowError:
        return None


def _has_anchor(component: Any, *, related_end: bool) -> bool:
    """RFC 5545 §3.8.6.3: a START trigger needs DTSTART; an END trigger needs an end."""
    if not related_end:
        return "DTSTART" in component
    if component.name == "VEVENT":
        return "DTSTART" in component
    return "DUE" in component or ("DTSTART" in component and "DURATION" in component)


def _fold(text: str, collation: Collation) -> str:
    """Map text to its comparison form (RFC 4790 §9.2, §9.3; RFC 5051 for unicode-casemap)."""
    if collation == "i;octet":
        return text
    if collation == "i;ascii-casemap":
        return text.translate(_ASCII_LOWER)
    titled = "".join(_simple_title(char) for char in text)
    return unicodedata.normalize("NFKD", titled)


def _simple_title(char: str) -> str:
    mapped = char.title()
    return mapped if len(mapped) == 1 else char

