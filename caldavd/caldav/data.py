"""``CALDAV:calendar-data`` in responses (RFC 4791 §9.6).

``parse_calendar_data_request`` reads the element a client puts in a REPORT
or PROPFIND ``DAV:prop``; ``render`` applies it to a stored calendar object.

* Only ``text/calendar`` version ``2.0`` is offered; anything else is
  ``supported-calendar-data`` (RFC 4791 §5.3.2.1, §9.6).
* An empty ``CALDAV:comp`` selects the whole component, as in the
  RFC 4791 §7.8.1 example where ``<C:comp name="VTIMEZONE"/>`` returns the full
  VTIMEZONE. A ``comp`` with children selects exactly what they name:
  ``allprop`` or ``prop*``, then ``allcomp`` or ``comp*`` (§9.6.1-§9.6.4).
* A VTIMEZONE whose TZID a returned property uses is always returned, even
  if not selected, so the result stays valid iCalendar (RFC 5545 §3.6.5).
* ``expand`` (§9.6.5) and ``limit-recurrence-set`` (§9.6.6) are done by the
  recurrence module before selection; ``limit-freebusy-set`` (§9.6.7) keeps
  only FREEBUSY periods that overlap its range.
* A request with nothing to do returns the stored text as it is, unparsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import icalendar
from lxml import etree

from caldavd.caldav import recurrence
from caldavd.caldav.budget import Budget
from caldavd.caldav.filter import TimeRange, parse_utc_datetime
from caldavd.dav import errors, names

CONTENT_TYPE = "text/calendar"
VERSION = "2.0"


@dataclass(frozen=True)
class PropSelection:
    """RFC 4791 §9.6.4: a property to return; ``novalue`` drops its value."""

    name: str
    novalue: bool = False


@dataclass(frozen=True)
class CompSelection:
    """RFC 4791 §9.6.1: which properties and subcomponents of a component to return."""

    name: str
    allprop: bool = True
    props: tuple[PropSelection, ...] = ()
    allcomp: bool = True
    comps: tuple[CompSelection, ...] = ()

    def prop(self, name: str) -> PropSelection | None:
        if self.allprop:
            return PropSelection(name)
        upper = name.upper()
        return next((p for p in self.props if p.name == upper), None)

    def comp(self, name: str) -> CompSelection | None:
        if self.allcomp:
            return CompSelection(name)
        upper = name.upper()
        return next((c for c in self.comps if c.name == upper), None)


@dataclass(frozen=True)
class DataRequest:
    """A parsed ``CALDAV:calendar-data`` request; the default returns data untouched."""

    content_type: str = CONTENT_TYPE
    version: str = VERSION
    comp: CompSelection | None = None
    expand: TimeRange | None = None
    limit_recurrence_set: TimeRange | None = None
    limit_freebusy_set: TimeRange | None = None

    @property
    def is_identity(self) -> bool:
        """Nothing to select, expand or limit: the stored text is the answer."""
        return (self.comp is None and self.expand is None
                and self.limit_recurrence_set is None and self.limit_freebusy_set is None)


FULL = DataRequest()


# -- parsing -------------------------------------------------------------------------


def parse_calendar_data_request(element: etree._Element | None) -> DataRequest:
    """Parse ``CALDAV:calendar-data`` from a prop request (RFC 4791 §9.6).

    ``None`` (or an empty element) asks for the whole object.
    """
    if element is None:
        return FULL
    if element.tag != names.CALENDAR_DATA:
        raise errors.BadRequest(f"expected CALDAV:calendar-data, got {element.tag}")
    content_type = element.get("content-type", CONTENT_TYPE)
    version = element.get("version", VERSION)
    if content_type.split(";")[0].strip().lower() != CONTENT_TYPE or version.strip() != VERSION:
        raise errors.SupportedCalendarData(
            f"calendar-data {content_type!r} version {version!r} is not supported")
    comp: CompSelection | None = None
    ranges: dict[str, TimeRange] = {}
    for child in _children(element):
        if child.tag == names.COMP:
            if comp is not None:
                raise errors.BadRequest("calendar-data: more than one comp")
            comp = _parse_comp(child)
            if comp.name != "VCALENDAR":
                raise errors.BadRequest("calendar-data: the top comp must name VCALENDAR")
        elif child.tag in (names.EXPAND, names.LIMIT_RECURRENCE_SET, names.LIMIT_FREEBUSY_SET):
            local = etree.QName(child).localname
            if local in ranges:
                raise errors.BadRequest(f"calendar-data: more than one {local}")
            ranges[local] = _parse_range(child)
        else:
            raise errors.BadRequest(f"calendar-data: unexpected {child.tag}")
    if "expand" in ranges and "limit-recurrence-set" in ranges:
        raise errors.BadRequest("calendar-data: expand and limit-recurrence-set exclude each other")
    return DataRequest(content_type, version, comp, ranges.get("expand"),
                       ranges.get("limit-recurrence-set"), ranges.get("limit-freebusy-set"))


def _children(element: etree._Element) -> list[etree._Element]:
    return [child for child in element
            if isinstance(child.tag, str) and child.tag.startswith(f"{{{names.CALDAV_NS}}}")]


def _required_name(element: etree._Element) -> str:
    name = (element.get(names.ATTR_NAME) or "").strip()
    if not name:
        raise errors.BadRequest(f"calendar-data: {etree.QName(element).localname} needs a name")
    return name.upper()


def _parse_comp(element: etree._Element) -> CompSelection:
    name = _required_name(element)
    children = _children(element)
    if not children:
        return CompSelection(name)
    allprop = allcomp = False
    props: list[PropSelection] = []
    comps: list[CompSelection] = []
    for child in children:
        if child.tag == names.ALLPROP_CALDAV:
            allprop = True
        elif child.tag == names.CALDAV_PROP:
            props.append(_parse_prop(child))
        elif child.tag == names.ALLCOMP:
            allcomp = True
        elif child.tag == names.COMP:
            comps.append(_parse_comp(child))
        else:
            raise errors.BadRequest(f"calendar-data comp {name}: unexpected {child.tag}")
    if allprop and props:
        raise errors.BadRequest(f"calendar-data comp {name}: allprop or prop, not both")
    if allcomp and comps:
        raise errors.BadRequest(f"calendar-data comp {name}: allcomp or comp, not both")
    return CompSelection(name, allprop, tuple(props), allcomp, tuple(comps))


def _parse_prop(element: etree._Element) -> PropSelection:
    name = _required_name(element)
    novalue = element.get("novalue", "no")
    if novalue not in ("yes", "no"):
        raise errors.BadRequest(f"calendar-data prop {name}: novalue must be yes or no")
    return PropSelection(name, novalue == "yes")


def _parse_range(element: etree._Element) -> TimeRange:
    """expand, limit-recurrence-set, limit-freebusy-set: both bounds, UTC (§9.6.5-§9.6.7)."""
    local = etree.QName(element).localname
    bounds: list[datetime] = []
    for attr in ("start", "end"):
        value = element.get(attr)
        if value is None:
            raise errors.BadRequest(f"calendar-data {local}: {attr} is required")
        try:
            bounds.append(parse_utc_datetime(value))
        except ValueError as exc:
            raise errors.BadRequest(f"calendar-data {local} {attr}: {exc}") from exc
    start, end = bounds
    if end <= start:
        raise errors.BadRequest(f"calendar-data {local}: end must be after start")
    return TimeRange(start, end)


# -- rendering -----------------------------------------------------------------------


def render(ics_text: str | bytes, request: DataRequest, *, floating_tz: tzinfo = UTC,
           budget: Budget | None = None) -> str:
    """The calendar-data text for one stored object, with CRLF line endings.

    ``floating_tz`` decides which floating and all-day instances fall in an
    expand or limit-recurrence-set range (RFC 4791 §9.6.5, §9.9: the request's
    CALDAV:timezone, else the calendar's calendar-timezone); ``expand`` spends
    its instances from ``budget`` (OverBudget when they are more than it has).
    """
    if request.is_identity:
        return ics_text.decode("utf-8") if isinstance(ics_text, bytes) else ics_text
    cal = icalendar.Calendar.from_ical(ics_text)
    if request.expand is not None:
        cal = _expanded(cal, request.expand, floating_tz, budget)
    elif request.limit_recurrence_set is not None:
        limit = request.limit_recurrence_set
        cal = recurrence.limit_recurrence_set(cal, limit.start, limit.end,
                                              floating_tz=floating_tz)
    if request.limit_freebusy_set is not None:
        _limit_freebusy(cal, request.limit_freebusy_set)
    if request.comp is not None:
        cal = _select_calendar(cal, request.comp)
    output: bytes = cal.to_ical(sorted=False)
    return output.decode("utf-8")


def _expanded(cal: icalendar.Calendar, tr: TimeRange, floating_tz: tzinfo,
              budget: Budget | None) -> icalendar.Calendar:
    expanded = recurrence.expand_calendar(cal, tr.start, tr.end, floating_tz=floating_tz,
                                          max_instances=budget.ask if budget else None)
    if budget is not None:
        budget.spend(sum(1 for sub in expanded.subcomponents
                         if sub.name in recurrence.COMPONENTS))
    return expanded


def _limit_freebusy(cal: icalendar.Calendar, tr: TimeRange) -> None:
    """RFC 4791 §9.6.7: only FREEBUSY periods overlapping the range are returned."""
    for component in cal.subcomponents:
        if component.name != "VFREEBUSY" or "FREEBUSY" not in component:
            continue
        value = component["FREEBUSY"]
        periods = value if isinstance(value, list) else [value]
        kept = [period for period in periods if _period_overlaps(period, tr)]
        del component["FREEBUSY"]
        if kept:
            component["FREEBUSY"] = kept


def _period_overlaps(period: Any, tr: TimeRange) -> bool:
    """FREEBUSY periods are UTC (RFC 5545 §3.8.2.6); a naive one is read as UTC."""
    begin, until = period.dt
    start: datetime = begin if begin.tzinfo is not None else begin.replace(tzinfo=UTC)
    if isinstance(until, datetime):
        end = until if until.tzinfo is not None else until.replace(tzinfo=UTC)
    else:
        end = start + until
    return tr.overlaps(start, end)


def _select_calendar(cal: icalendar.Calendar, selection: CompSelection) -> icalendar.Calendar:
    selected: icalendar.Calendar = _select(cal, selection)
    present = {str(sub.get("TZID")) for sub in selected.subcomponents
               if sub.name == "VTIMEZONE"}
    needed = set(_tzids(selected)) - present
    for sub in cal.subcomponents:
        if sub.name == "VTIMEZONE" and str(sub.get("TZID")) in needed:
            selected.add_component(sub)
            needed.discard(str(sub.get("TZID")))
    return selected


def _select(component: Any, selection: CompSelection) -> Any:
    """A copy of ``component`` holding only what ``selection`` names (§9.6.1)."""
    if selection.allprop and selection.allcomp:
        return component
    copy = type(component)()
    copy.name = component.name
    for name, value in component.property_items(recursive=False, sorted=False):
        if name in ("BEGIN", "END"):
            continue
        chosen = selection.prop(name)
        if chosen is None:
            continue
        copy.add(name, _without_value(value) if chosen.novalue else value, encode=False)
    for sub in component.subcomponents:
        chosen_comp = selection.comp(sub.name)
        if chosen_comp is not None:
            copy.add_component(_select(sub, chosen_comp))
    return copy


def _without_value(value: Any) -> icalendar.vText:
    """RFC 4791 §9.6.4 novalue: the property and its parameters, with an empty value."""
    empty = icalendar.vText("")
    params = getattr(value, "params", None)
    if params:
        empty.params = icalendar.Parameters(dict(params))
    return empty


def _tzids(component: Any) -> Iterator[str]:
    for name, value in component.property_items(recursive=True, sorted=False):
        if name in ("BEGIN", "END"):
            continue
        params = getattr(value, "params", None)
        if params is not None and params.get("TZID"):
            yield str(params["TZID"])
