"""The registry is built from what the modules export, and refuses a name given twice."""

from __future__ import annotations

import pytest
from aiohttp import web
from lxml import etree

from caldavd.dav import names
from caldavd.http import liveprops, proxyprops
from caldavd.http.context import Context
from caldavd.http.dispatch import (
    METHOD_MODULES,
    PROPERTY_MODULES,
    REPORT_MODULES,
    http_registry,
)
from caldavd.http.propforms import Column, member_writer
from caldavd.http.registry import DuplicateRegistration, LiveProperty, Report, build_registry
from caldavd.http.reports import sync
from caldavd.http.resources import (
    CalendarResource,
    HomeResource,
    ObjectResource,
    PlainItem,
    Principal,
    ProxyGroup,
    Resource,
)


async def _none(ctx: Context, res: Resource) -> etree._Element | None:
    return None


async def _run(ctx: Context, res: Resource, root: etree._Element) -> web.StreamResponse:
    return web.Response()


async def _handle(request: web.Request) -> web.StreamResponse:
    return web.Response()


def test_the_registry_holds_every_property_the_modules_export() -> None:
    registry = http_registry()
    exported = [p for module in PROPERTY_MODULES for p in module.PROPERTIES]
    order = list(dict.fromkeys(p.name for p in exported))  # each name where first given
    assert list(registry.properties) == order
    for name, props in registry.properties.items():
        assert list(props) == [p for p in exported if p.name == name]
    assert registry.is_live(names.GETETAG) and not registry.is_live("{urn:x}dead")


def test_the_registry_holds_every_report_and_method_the_modules_export() -> None:
    registry = http_registry()
    reports = [r for module in REPORT_MODULES for r in module.REPORTS]
    assert dict(registry.reports) == {r.name: r for r in reports}
    assert len(registry.reports) == len(reports)
    methods = [(verb, h) for module in METHOD_MODULES for verb, h in module.METHODS.items()]
    assert dict(registry.methods) == dict(methods) and len(registry.methods) == len(methods)
    assert registry.allow == ", ".join(sorted(registry.methods))
    assert {"GET", "HEAD", "PROPFIND", "REPORT", "OPTIONS"} <= set(registry.methods)


def test_the_most_specific_property_answers() -> None:
    registry = http_registry()
    on_object = registry.live_property_of(names.GETETAG, ObjectResource)
    on_file = registry.live_property_of(names.GETETAG, PlainItem)
    assert on_object is not None and on_file is not None and on_object is not on_file
    assert registry.live_property_of(names.GETETAG, CalendarResource) is None
    group = registry.live_property_of(names.DISPLAYNAME, ProxyGroup)
    assert group in proxyprops.PROPERTIES
    assert registry.live_property_of(names.DISPLAYNAME, Principal) in liveprops.PROPERTIES


def test_a_property_given_twice_for_one_class_is_refused() -> None:
    first = LiveProperty("{urn:x}p", (HomeResource,), _none)
    again = LiveProperty("{urn:x}p", (PlainItem, HomeResource), _none)
    with pytest.raises(DuplicateRegistration, match=r"\{urn:x\}p .*HomeResource"):
        build_registry([first, again], (), ())


def test_a_property_may_be_given_for_distinct_classes() -> None:
    home = LiveProperty("{urn:x}p", (HomeResource,), _none)
    item = LiveProperty("{urn:x}p", (PlainItem,), _none)
    registry = build_registry([home, item], (), ())
    assert registry.live_property_of("{urn:x}p", PlainItem) is item
    assert registry.live_property_of("{urn:x}p", CalendarResource) is home


def test_a_report_given_twice_is_refused() -> None:
    reports = [Report("{urn:x}r", (HomeResource,), _run), Report("{urn:x}r", (Principal,), _run)]
    with pytest.raises(DuplicateRegistration, match=r"report \{urn:x\}r"):
        build_registry((), reports, ())


def test_a_method_given_twice_is_refused() -> None:
    with pytest.raises(DuplicateRegistration, match="method GET"):
        build_registry((), (), [{"GET": _handle, "HEAD": _handle}, {"GET": _handle}])


def test_a_module_export_given_twice_is_refused() -> None:
    with pytest.raises(DuplicateRegistration):
        build_registry((), [*sync.REPORTS, *sync.REPORTS], ())
    with pytest.raises(DuplicateRegistration):
        build_registry([*liveprops.PROPERTIES, liveprops.GETETAG], (), ())


def test_each_registry_keeps_its_own_memo() -> None:
    one, other = http_registry(), http_registry()
    home = LiveProperty("{urn:x}p", (HomeResource,), _none)
    alone = build_registry([home], (), ())
    assert alone.live_property_of(names.GETETAG, ObjectResource) is None
    assert one.live_property_of(names.GETETAG, ObjectResource) is \
        other.live_property_of(names.GETETAG, ObjectResource) is liveprops.GETETAG


def test_a_column_writes_its_fragment_as_the_element_has_it() -> None:
    write = member_writer(names.GETETAG, Column("etag", before='"', after='"'))
    assert write("a&<b>") == '<D:getetag>"a&amp;&lt;b&gt;"</D:getetag>'
    assert member_writer(names.GETCONTENTLENGTH, Column("size", safe=True))(12) == \
        "<D:getcontentlength>12</D:getcontentlength>"
    with pytest.raises(ValueError, match="no escaping"):
        member_writer(names.GETETAG, Column("etag", before="<"))
    with pytest.raises(ValueError, match="namespaces"):
        member_writer("{urn:x}p", Column("etag"))
