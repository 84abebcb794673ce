"""Registries of small named things: live properties, reports and methods.

``supported-report-set`` and allprop fall out of these tables; nothing
dispatches on tag names with if/elif chains.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web
from lxml import etree

from caldavd.http.context import Context
from caldavd.http.resources import ObjectResource, Resource
from caldavd.store.model import ListedField

Getter = Callable[[Context, Resource], Awaitable[etree._Element | None]]
ReportRunner = Callable[[Context, Resource, etree._Element], Awaitable[web.StreamResponse]]
MethodHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The property as an XML fragment (``caldavd.dav.fragments``); None: no text form for
# this resource, ask ``get``.
TextForm = Callable[[Context, Resource], str | None]
# ``member=ABSENT``: calendar objects never have this property (404 in a listing).
ABSENT: Final = "absent"


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
    listing row, so a Depth 1 listing needs neither resources nor elements.
    Each must agree with ``get`` (the unit tests compare them).
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


PROPERTIES: dict[str, list[LiveProperty]] = {}
REPORTS: dict[str, Report] = {}
METHODS: dict[str, MethodHandler] = {}


def live(name: str, applies: tuple[type[Resource], ...], *, allprop: bool = False,
         needs_data: bool = False, text: TextForm | None = None,
         member: Member | Literal["absent"] | None = None,
         privilege: str | None = None) -> Callable[[Getter], Getter]:
    """Register a getter; ``text`` defaults to ``member`` applied to an object resource's object."""
    if text is None and isinstance(member, Member):
        text = _of_object(member)

    def register(get: Getter) -> Getter:
        PROPERTIES.setdefault(name, []).append(
            LiveProperty(name, applies, get, allprop, needs_data, text, member, privilege))
        _BY_CLASS.clear()
        return get
    return register


def _of_object(member: Member) -> TextForm:
    field, write = member.field, member.write

    def text(ctx: Context, res: Resource) -> str | None:
        if isinstance(res, ObjectResource) and res.object is not None:
            return write(getattr(res.object, field))
        return None
    return text


def report(name: str, applies: tuple[type[Resource], ...], *,
           depths: frozenset[str] = ANY_DEPTH,
           excludes: tuple[type[Resource], ...] = (), collections_only: bool = False,
           ) -> Callable[[ReportRunner], ReportRunner]:
    """Register a report; ``depths``: the Depth values it is defined for (others are 400)."""
    def register(run: ReportRunner) -> ReportRunner:
        REPORTS[name] = Report(name, applies, run, depths, excludes, collections_only)
        return run
    return register


def method(*verbs: str) -> Callable[[MethodHandler], MethodHandler]:
    def register(handler: MethodHandler) -> MethodHandler:
        for verb in verbs:
            METHODS[verb] = handler
        return handler
    return register


_BY_CLASS: dict[tuple[str, type[Resource]], LiveProperty | None] = {}


def live_property(name: str, resource: Resource) -> LiveProperty | None:
    """The most specific registration of ``name`` for this resource's class (memoised:
    registrations happen at import, lookups on every property of every response)."""
    return live_property_of(name, type(resource))


def live_property_of(name: str, cls: type[Resource]) -> LiveProperty | None:
    """``live_property`` for resources of class ``cls``."""
    key = (name, cls)
    if key not in _BY_CLASS:
        _BY_CLASS[key] = _most_specific(name, cls)
    return _BY_CLASS[key]


def _most_specific(name: str, cls: type[Resource]) -> LiveProperty | None:
    mro = cls.__mro__
    best: tuple[int, LiveProperty] | None = None
    for candidate in PROPERTIES.get(name, ()):
        distances = [mro.index(cls) for cls in candidate.applies if cls in mro]
        if distances and (best is None or min(distances) < best[0]):
            best = (min(distances), candidate)
    return best[1] if best else None


def is_live(name: str) -> bool:
    """Registered for some resource type: protected everywhere against PROPPATCH."""
    return name in PROPERTIES


def reports_for(resource: Resource) -> list[str]:
    return sorted(r.name for r in REPORTS.values() if r.applies_to(resource))
