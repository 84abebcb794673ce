"""Registries of small named things: live properties, reports and methods.

Each module exports what it defines (``PROPERTIES``, ``REPORTS``, ``METHODS``) and
``build_registry`` assembles one ``Registry`` from those lists, refusing a name given
twice; the composition root keeps it in the app's state, with what is worked out
from it.  ``supported-report-set`` and allprop fall out of these tables; nothing
dispatches on tag names with if/elif chains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web
from lxml import etree

from caldavd.http.context import Context
from caldavd.http.resources import Resource
from caldavd.store.model import ListedField

Getter = Callable[[Context, Resource], Awaitable[etree._Element | None]]
ReportRunner = Callable[[Context, Resource, etree._Element], Awaitable[web.StreamResponse]]
MethodHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The property as an XML fragment (``caldavd.dav.fragments``); None: no text form for
# this resource, ask ``get``.
TextForm = Callable[[Context, Resource], str | None]
# ``member=ABSENT``: calendar objects never have this property (404 in a listing).
ABSENT: Final = "absent"


class DuplicateRegistration(ValueError):
    """A name registered twice: the second would silently hide the first."""


@dataclass(frozen=True)
class Member:
    """A calendar object's property from one field of its listing row (see
    ``store.Listing``): ``write`` makes the fragment from the field's value."""

    field: ListedField
    write: Callable[[Any], str]


@dataclass(frozen=True)
class LiveProperty:
    """A computed property; ``get`` returns the complete property element or None (404).

    Hot properties also have ``text``, the same value as a pre-escaped fragment
    without any lxml, and those of calendar objects ``member``, the value from a
    listing row, so a Depth 1 listing needs neither resources nor elements; both
    are derived with ``get`` from one definition (``propforms``).
    """

    name: str
    applies: tuple[type[Resource], ...]
    get: Getter
    allprop: bool = False
    needs_data: bool = False  # the resource's iCalendar text must be loaded
    text: TextForm | None = None
    member: Member | Literal["absent"] | None = None
    # A privilege beyond DAV:read that reading the property needs (RFC 3744 §5.4, §5.5);
    # without it the property is answered 403 in its propstat.
    privilege: str | None = None


ANY_DEPTH = frozenset({"0", "1", "infinity"})


@dataclass(frozen=True)
class Report:
    """A REPORT; ``depths``: the Depth values it is defined for (others are 400)."""

    name: str
    applies: tuple[type[Resource], ...]
    run: ReportRunner
    depths: frozenset[str] = ANY_DEPTH
    # Subclasses of ``applies`` it does not apply to (a home's objects and plain files
    # are HomeResources too).
    excludes: tuple[type[Resource], ...] = ()
    # Only on collections (not on a plain file).
    collections_only: bool = False

    def applies_to(self, resource: Resource) -> bool:
        return (isinstance(resource, self.applies) and not isinstance(resource, self.excludes)
                and (resource.is_collection or not self.collections_only))


class Registry:
    """The live properties (by name, in the order given), reports (by root element) and
    methods (by verb) of one application, and the lookups memoised from them."""

    def __init__(self, properties: Mapping[str, tuple[LiveProperty, ...]],
                 reports: Mapping[str, Report], methods: Mapping[str, MethodHandler]) -> None:
        self.properties = properties
        self.reports = reports
        self.methods = methods
        self.allow = ", ".join(sorted(methods))  # the Allow header
        self._by_class: dict[tuple[str, type[Resource]], LiveProperty | None] = {}

    def live_property(self, name: str, resource: Resource) -> LiveProperty | None:
        """The most specific registration of ``name`` for this resource's class (memoised:
        the registry is fixed, lookups happen on every property of every response)."""
        return self.live_property_of(name, type(resource))

    def live_property_of(self, name: str, cls: type[Resource]) -> LiveProperty | None:
        """``live_property`` for resources of class ``cls``."""
        key = (name, cls)
        try:
            return self._by_class[key]
        except KeyError:
            found = self._by_class[key] = _most_specific(self.properties.get(name, ()), cls)
            return found

    def is_live(self, name: str) -> bool:
        """Registered for some resource type: protected everywhere against PROPPATCH."""
        return name in self.properties

    def reports_for(self, resource: Resource) -> list[str]:
        return sorted(r.name for r in self.reports.values() if r.applies_to(resource))


def _most_specific(candidates: Iterable[LiveProperty], cls: type[Resource],
                   ) -> LiveProperty | None:
    mro = cls.__mro__
    best: tuple[int, LiveProperty] | None = None
    for candidate in candidates:
        distances = [mro.index(c) for c in candidate.applies if c in mro]
        if distances and (best is None or min(distances) < best[0]):
            best = (min(distances), candidate)
    return best[1] if best else None


def build_registry(properties: Iterable[LiveProperty], reports: Iterable[Report],
                   methods: Iterable[Mapping[str, MethodHandler]]) -> Registry:
    """One registry from what the modules export; ``DuplicateRegistration`` when a
    property is given twice for one resource class, a report or a method twice."""
    by_name: dict[str, tuple[LiveProperty, ...]] = {}
    for prop in properties:
        earlier = by_name.get(prop.name, ())
        for other in earlier:
            shared = [c.__name__ for c in prop.applies if c in other.applies]
            if shared:
                raise DuplicateRegistration(
                    f"live property {prop.name} is registered twice for {', '.join(shared)}")
        by_name[prop.name] = (*earlier, prop)
    by_root: dict[str, Report] = {}
    for report in reports:
        if report.name in by_root:
            raise DuplicateRegistration(f"report {report.name} is registered twice")
        by_root[report.name] = report
    by_verb: dict[str, MethodHandler] = {}
    for table in methods:
        for verb, handler in table.items():
            if verb in by_verb:
                raise DuplicateRegistration(f"method {verb} is registered twice")
            by_verb[verb] = handler
    return Registry(by_name, by_root, by_verb)
