"""The text and member forms of live properties against their lxml getters, and the
fast multistatus paths against a body built with lxml alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from caldavd.dav import names
from caldavd.dav.multistatus import Multistatus, group_propstats
from caldavd.dav.requests import Propfind
from caldavd.dav.xml import element
from caldavd.directory import Record
from caldavd.http.context import Context
from caldavd.http.dispatch import http_registry
from caldavd.http.propfind import (
    add_listed,
    add_responses,
    listing_plan,
    multistatus_for,
    object_resource,
    value_of,
)
from caldavd.http.propvalues import text_property
from caldavd.http.registry import ABSENT, LiveProperty, Member
from caldavd.http.resources import (
    CalendarResource,
    HomeCollection,
    HomeResource,
    Missing,
    ObjectResource,
    PlainItem,
    Principal,
    PrincipalCollection,
    Resource,
    Root,
)
from caldavd.store import Calendar, CalendarObject, Home, Listing, PlainResource
from tests.infoset import document, elements, fragment
from tests.lxml_reference import LxmlMultistatus

REGISTRY = http_registry()
PROPERTIES = REGISTRY.properties
live_property = REGISTRY.live_property
T0 = datetime(2026, 1, 5, 9, 30, 15, 123456, tzinfo=UTC)
T1 = datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
RECORD = Record(uid="u1", record_type="user", short_names=("jo",), full_name="Jo & <Co>")
HOME = Home(id=1, owner_uid="u1", created=T0)
CALENDAR = Calendar(id=7, home_id=1, owner_home_id=1, name="work & <play>", mode="own",
                    supported_components=frozenset({"VEVENT"}), created=T0, modified=T1,
                    revision=42)
ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:é&<x>\r\n"
       "SUMMARY:]]> & \"quotes\" 😀\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
TRICKY_NAMES = ["plain.ics", "a&b.ics", "Jo Smith é.ics", "<x>\"'.ics", "日本😀"]
TRICKY_ETAGS = ["0123456789abcdef", "e&<tag>", 'with "quotes"', "é😀", "]]>"]


def calendar_object(i: int, name: str, etag: str, *, data: str | None = ICS,
                    component: str = "VEVENT") -> CalendarObject:
    return CalendarObject(id=100 + i, calendar_id=7, name=name, uid=f"uid-{i}",
                          component_type=component, etag=etag, size=len(ICS) + i,
                          organizer=None, schedule_tag=None, created=T0, modified=T1,
                          icalendar=data)


CAL_RES = CalendarResource("/calendars/__uids__/u1/work & <play>/", record=RECORD, home=HOME,
                           calendar=CALENDAR)
OBJECTS = [object_resource(CAL_RES, calendar_object(i, n, e, component=c))
           for i, (n, e, c) in enumerate(zip(TRICKY_NAMES, TRICKY_ETAGS,
                                             ["VEVENT", "VTODO", "VEVENT", "VJOURNAL", "VEVENT"],
                                             strict=True))]
NO_DATA = object_resource(CAL_RES, calendar_object(9, "nodata.ics", "x", data=None))
ITEM = PlainResource(id=3, path="files/a&b.txt", is_collection=False, content_type="text/plain",
                     etag="p&1", size=5, created=T0, modified=T1)
FOLDER = PlainResource(id=4, path="files", is_collection=True, content_type=None, etag="f",
                       size=0, created=T0, modified=T1)
RESOURCES: list[Resource] = [
    Root("/"), PrincipalCollection("/principals/"), Principal("/principals/__uids__/u1/",
                                                              record=RECORD),
    HomeCollection("/calendars/"), HomeResource("/calendars/__uids__/u1/", record=RECORD,
                                                home=HOME),
    CAL_RES, *OBJECTS, NO_DATA,
    PlainItem("/calendars/__uids__/u1/files/a&b.txt", record=RECORD, home=HOME, item=ITEM),
    PlainItem("/calendars/__uids__/u1/files/", record=RECORD, home=HOME, item=FOLDER),
    Missing("/calendars/__uids__/u1/nothing"),
]


@dataclass
class FakeStore:
    """Dead properties by resource id, counting the queries."""

    dead: dict[int, dict[str, str]] = field(default_factory=dict)
    queries: int = 0

    async def properties_for(self, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        self.queries += 1
        return {i: dict(self.dead.get(i, {})) for i in ids}


def context(store: FakeStore | None = None) -> Context:
    return cast(Context, _Ctx(store or FakeStore()))


@dataclass
class _Ctx:
    store: Any
    registry: Any = REGISTRY


def forms() -> list[LiveProperty]:
    return [p for props in PROPERTIES.values() for p in props
            if p.text is not None or p.member is not None]


def test_the_hot_properties_have_fast_forms() -> None:
    fast = {p.name for p in forms()}
    assert {names.GETETAG, names.RESOURCETYPE, names.GETCONTENTTYPE, names.GETCONTENTLENGTH,
            names.GETLASTMODIFIED, names.CREATIONDATE, names.CALENDAR_DATA, names.GETCTAG,
            names.SYNC_TOKEN} <= fast


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: type(r).__name__ + r.path)
async def test_text_forms_write_what_the_getters_return(resource: Resource) -> None:
    ctx = context()
    for prop in forms():
        if prop.text is None or not isinstance(resource, prop.applies) \
                or live_property(prop.name, resource) is not prop:
            continue
        text = prop.text(ctx, resource)
        if text is None:
            continue  # no text form here: the getter answers
        value = await prop.get(ctx, resource)
        assert value is not None, prop.name
        assert fragment(text) == elements(value), prop.name


@pytest.mark.parametrize("resource", [*OBJECTS, NO_DATA], ids=lambda r: r.path)
async def test_member_forms_write_what_the_getters_return(resource: ObjectResource) -> None:
    obj = resource.the_object
    listing = Listing.of([obj])
    for name in PROPERTIES:
        prop = live_property(name, resource)
        if prop is None or prop.member is None:
            continue
        value = await prop.get(context(), resource)
        if prop.member == ABSENT:
            assert value is None, name
            continue
        assert isinstance(prop.member, Member) and value is not None, name
        (text,) = [prop.member.write(v) for v in listing.column(prop.member.field)]
        assert fragment(text) == elements(value), name
        assert prop.text is not None and prop.text(context(), resource) == text, name


async def reference_body(ctx: Context, resources: Sequence[Resource], request: Propfind,
                         dead: dict[int, dict[str, str]]) -> bytes:
    """The lxml path: every value from its getter or stored element, in one lxml tree."""
    body = LxmlMultistatus()
    for resource in resources:
        own = dead.get(resource.resource_id or -1, {})
        wanted = request.names if request.kind == "prop" else list(dict.fromkeys(
            [n for n in PROPERTIES if (p := live_property(n, resource)) and p.allprop]
            + sorted(own) + list(request.include)))
        found, missing = [], []
        for name in wanted:
            value = await value_of(ctx, resource, name, own)
            if value is None:
                missing.append(name)
            else:
                found.append(value)
        body.add_propstats(resource.path, group_propstats(found, {404: missing}))
    return body.to_bytes()


ASKED = (names.RESOURCETYPE, names.GETETAG, names.CALENDAR_DATA, names.GETCONTENTTYPE,
         names.GETCONTENTLENGTH, names.GETLASTMODIFIED, names.CREATIONDATE, names.GETCTAG,
         names.SYNC_TOKEN, names.DISPLAYNAME, names.SUPPORTED_CALENDAR_COMPONENT_SET,
         "{urn:x}dead", "{urn:x}unknown")
DEAD = {7: {names.DISPLAYNAME: text_property(names.DISPLAYNAME, "Work & <play> é"),
            "{urn:x}dead": '<x:dead xmlns:x="urn:x" xmlns:D="urn:y"><D:in>a&amp;b</D:in></x:dead>'},
        101: {"{urn:x}dead": '<dead xmlns="urn:x">on an object</dead>'}}


@pytest.mark.parametrize("request_", [
    Propfind("prop", ASKED),
    Propfind("prop", (names.GETETAG, names.RESOURCETYPE)),
    Propfind("prop", (names.CALENDAR_DATA,)),
    Propfind("allprop"),
    Propfind("allprop", include=(names.GETCTAG,)),
], ids=["many", "etags", "data", "allprop", "allprop+include"])
async def test_multistatus_for_matches_the_lxml_path(request_: Propfind) -> None:
    resources = [CAL_RES, *OBJECTS, NO_DATA]
    store = FakeStore(DEAD)
    fast = await multistatus_for(context(store), resources, request_, sync_token="t&<1>")
    reference = await reference_body(context(), resources, request_, DEAD)
    expected = document(reference)
    expected_with_token = (*expected[:3], (*expected[3], (
        (names.SYNC_TOKEN, (), "t&<1>", ()), "")))
    assert document(fast.to_bytes()) == expected_with_token


async def test_propname_lists_live_and_dead_names() -> None:
    store = FakeStore(DEAD)
    body = await multistatus_for(context(store), [CAL_RES], Propfind("propname"))
    (response,) = document(body.to_bytes())[3]
    prop = response[0][3][1][0][3][0][0]
    assert prop[0] == names.PROP
    listed = [child[0][0] for child in prop[3]]
    assert names.DISPLAYNAME in listed and "{urn:x}dead" in listed and names.GETCTAG in listed


@pytest.mark.parametrize("asked", [
    (names.GETETAG, names.RESOURCETYPE),
    (names.RESOURCETYPE,),
    (names.GETETAG, names.GETCONTENTTYPE, names.GETCONTENTLENGTH, names.RESOURCETYPE),
    (names.GETCTAG, names.GETETAG, names.SYNC_TOKEN),
    (names.GETCTAG,),
    (),
])
async def test_listing_rows_answer_as_resources_do(asked: tuple[str, ...]) -> None:
    request = Propfind("prop", asked)
    plan = listing_plan(REGISTRY, request)
    assert plan is not None
    listed = Multistatus()
    add_listed(listed, CAL_RES, Listing.of(o.the_object for o in OBJECTS), plan)
    store = FakeStore(DEAD)
    resources = Multistatus()
    await add_responses(context(store), resources, OBJECTS, request)
    assert store.queries == 0  # only live names: no dead-property query
    assert listed.to_bytes() == resources.to_bytes()
    reference = await reference_body(context(), OBJECTS, request, {})
    assert document(listed.to_bytes()) == document(reference)


@pytest.mark.parametrize("asked", [
    (names.GETETAG, names.GETLASTMODIFIED),
    (names.GETETAG, names.CALENDAR_DATA),
    (names.GETETAG, "{urn:x}dead"),
    (names.GETETAG, names.DISPLAYNAME),
])
def test_listing_needs_every_property_from_the_row(asked: tuple[str, ...]) -> None:
    assert listing_plan(REGISTRY, Propfind("prop", asked)) is None
    assert listing_plan(REGISTRY, Propfind("allprop")) is None
    assert listing_plan(REGISTRY, Propfind("propname")) is None


@pytest.mark.parametrize(("asked", "queries"), [
    ((names.GETETAG,), 0),
    ((names.RESOURCETYPE, names.GETETAG), 0),  # getetag is live: no calendar can store one
    ((names.GETCTAG, names.SYNC_TOKEN, names.CALENDAR_DATA), 0),
    ((names.GETETAG, "{urn:x}dead"), 1),
    ((names.GETETAG, names.DISPLAYNAME), 1),  # live on principals, dead on calendars
])
async def test_dead_properties_are_read_only_for_names_clients_can_set(
        asked: tuple[str, ...], queries: int) -> None:
    store = FakeStore(DEAD)
    request = Propfind("prop", asked)
    body = await multistatus_for(context(store), [CAL_RES, *OBJECTS], request)
    assert store.queries == queries
    reference = await reference_body(context(), [CAL_RES, *OBJECTS], request, DEAD)
    assert document(body.to_bytes()) == document(reference)


async def test_an_element_value_is_not_moved_out_of_a_cached_tree() -> None:
    shared = element(names.DISPLAYNAME, "x")
    owner = element(names.PROP, children=[shared])
    body = Multistatus()
    body.add_props("/a", [shared])
    body.add_props("/b", [shared])
    assert shared.getparent() is owner
    assert len(document(body.to_bytes())[3]) == 2
