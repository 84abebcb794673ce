"""REPORT bodies: sync-collection, expand-property, principal-property-search, multiget."""

from __future__ import annotations

import pytest
from lxml import etree

from caldavd.dav import errors, names
from caldavd.dav.requests import (
    ExpandProperty,
    PropertySearch,
    Propfind,
    parse_calendar_multiget,
    parse_expand_property,
    parse_principal_property_search,
    parse_report_name,
    parse_sync_collection,
)
from caldavd.dav.xml import parse_xml

D = 'xmlns:D="DAV:"'
DC = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'


def root(body: str) -> etree._Element:
    return parse_xml(body.encode())


def test_report_name_is_the_root_clark_name() -> None:
    assert parse_report_name(root(f"<C:calendar-multiget {DC}/>")) == names.CALENDAR_MULTIGET


# -- sync-collection (RFC 6578) -----------------------------------------------------

def test_initial_sync() -> None:
    """RFC 6578 §3.2: an empty DAV:sync-token asks for an initial sync."""
    sync = parse_sync_collection(root(
        f"<D:sync-collection {D}><D:sync-token/><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"))
    assert sync.token is None
    assert sync.level == "1"
    assert sync.limit is None
    assert sync.prop == Propfind("prop", (names.GETETAG,))
    assert sync.calendar_data is None


def test_incremental_sync_with_limit_and_calendar_data() -> None:
    sync = parse_sync_collection(root(
        f"<D:sync-collection {DC}><D:sync-token> http://example.com/sync/12 </D:sync-token>"
        "<D:sync-level>infinite</D:sync-level><D:limit><D:nresults>50</D:nresults></D:limit>"
        '<D:prop><D:getetag/><C:calendar-data><C:comp name="VCALENDAR"/></C:calendar-data>'
        "</D:prop></D:sync-collection>"))
    assert sync.token == "http://example.com/sync/12"
    assert sync.level == "infinite"
    assert sync.limit == 50
    assert sync.prop.names == (names.GETETAG, names.CALENDAR_DATA)
    assert sync.calendar_data is not None
    assert sync.calendar_data.tag == names.CALENDAR_DATA
    assert sync.calendar_data[0].get("name") == "VCALENDAR"


def test_sync_without_level_or_token_defaults() -> None:
    sync = parse_sync_collection(root(
        f"<D:sync-collection {D}><D:prop><D:getetag/></D:prop></D:sync-collection>"))
    assert (sync.token, sync.level) == (None, "1")


@pytest.mark.parametrize(("body", "message"), [
    ("<D:sync-token/><D:sync-level>2</D:sync-level><D:prop/>", "sync-level"),
    ("<D:sync-token/><D:sync-level>1</D:sync-level>", r"\{DAV:\}prop"),
    ("<D:sync-token/><D:limit><D:nresults>0</D:nresults></D:limit><D:prop/>", "nresults"),
    ("<D:sync-token/><D:limit><D:nresults>-3</D:nresults></D:limit><D:prop/>", "nresults"),
    ("<D:sync-token/><D:limit><D:nresults>ten</D:nresults></D:limit><D:prop/>", "nresults"),
    ("<D:sync-token/><D:limit><D:nresults>١٢</D:nresults></D:limit><D:prop/>", "nresults"),
    ("<D:sync-token/><D:limit/><D:prop/>", "nresults"),
])
def test_bad_sync_collection(body: str, message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message):
        parse_sync_collection(root(f"<D:sync-collection {D}>{body}</D:sync-collection>"))


def test_sync_collection_wrong_root() -> None:
    with pytest.raises(errors.BadRequest, match="sync-collection"):
        parse_sync_collection(root(f"<D:propfind {D}/>"))


# -- expand-property (RFC 3253 §3.8) ------------------------------------------------

def test_expand_property_tree() -> None:
    tree = parse_expand_property(root(
        f'<D:expand-property {D}><D:property name="calendar-proxy-write-for" '
        'namespace="http://calendarserver.org/ns/"><D:property name="displayname"/>'
        '<D:property name="principal-URL"/></D:property>'
        '<D:property name="plain" namespace=""/></D:expand-property>'))
    assert tree == (
        ExpandProperty(names.CALENDAR_PROXY_WRITE_FOR, (
            ExpandProperty(names.DISPLAYNAME), ExpandProperty(names.PRINCIPAL_URL))),
        ExpandProperty("plain"),
    )


def test_expand_property_ignores_unknown_children() -> None:
    tree = parse_expand_property(root(
        f'<D:expand-property {D}><D:other/><D:property name="owner"/></D:expand-property>'))
    assert tree == (ExpandProperty(names.OWNER),)


def test_expand_property_needs_a_name() -> None:
    with pytest.raises(errors.BadRequest, match="name attribute"):
        parse_expand_property(root(
            f'<D:expand-property {D}><D:property><D:property name="x"/></D:property>'
            "</D:expand-property>"))


# -- principal-property-search (RFC 3744 §9.4) --------------------------------------

def test_principal_property_search_defaults() -> None:
    search = parse_principal_property_search(root(
        f"<D:principal-property-search {D}><D:property-search><D:prop><D:displayname/>"
        "</D:prop><D:match>doE</D:match></D:property-search>"
        "<D:prop><D:displayname/><D:principal-URL/></D:prop></D:principal-property-search>"))
    assert search.searches == (PropertySearch((names.DISPLAYNAME,), "doE", "contains"),)
    assert search.prop == (names.DISPLAYNAME, names.PRINCIPAL_URL)
    assert search.test == "allof"
    assert search.apply_to_principal_collection_set is False
    assert search.limit is None


def test_principal_property_search_calendarserver_extensions() -> None:
    search = parse_principal_property_search(root(
        f'<D:principal-property-search {D} xmlns:CS="http://calendarserver.org/ns/" '
        'test="anyof"><D:property-search><D:prop><D:displayname/><CS:email-address-set/>'
        '</D:prop><D:match match-type="starts-with">jo</D:match></D:property-search>'
        '<D:property-search><D:prop><CS:last-name/></D:prop><D:match match-type="equals">'
        "Smith</D:match></D:property-search><D:apply-to-principal-collection-set/>"
        "<D:limit><D:nresults>10</D:nresults></D:limit></D:principal-property-search>"))
    assert search.searches == (
        PropertySearch((names.DISPLAYNAME, names.EMAIL_ADDRESS_SET), "jo", "starts-with"),
        PropertySearch((names.LAST_NAME,), "Smith", "equals"),
    )
    assert search.test == "anyof"
    assert search.apply_to_principal_collection_set is True
    assert search.limit == 10
    assert search.prop == ()


@pytest.mark.parametrize(("body", "message"), [
    ("", "property-search"),
    ("<D:prop><D:displayname/></D:prop>", "property-search"),
    ("<D:property-search><D:match>x</D:match></D:property-search>", r"\{DAV:\}prop"),
    ("<D:property-search><D:prop><D:displayname/></D:prop></D:property-search>", "match"),
    ("<D:property-search><D:prop/><D:match>x</D:match></D:property-search>", "no property"),
    ('<D:property-search><D:prop><D:displayname/></D:prop><D:match match-type="regex">x'
     "</D:match></D:property-search>", "match-type"),
])
def test_bad_principal_property_search(body: str, message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message):
        parse_principal_property_search(root(
            f"<D:principal-property-search {D}>{body}</D:principal-property-search>"))


def test_principal_property_search_bad_test() -> None:
    with pytest.raises(errors.BadRequest, match="test"):
        parse_principal_property_search(root(
            f'<D:principal-property-search {D} test="oneof"><D:property-search><D:prop>'
            "<D:displayname/></D:prop><D:match>x</D:match></D:property-search>"
            "</D:principal-property-search>"))


# -- calendar-multiget (RFC 4791 §7.9) ----------------------------------------------

def test_calendar_multiget() -> None:
    multiget = parse_calendar_multiget(root(
        f"<C:calendar-multiget {DC}><D:prop><D:getetag/><C:calendar-data>"
        '<C:expand start="20060103T000000Z" end="20060105T000000Z"/></C:calendar-data>'
        "</D:prop><D:href>/bernard/work/abcd1.ics</D:href>"
        "<D:href>http://cal.example.com/bernard/work/a%20b.ics</D:href>"
        "<D:href> /bernard/work/abcd1.ics </D:href></C:calendar-multiget>"), ["cal.example.com"])
    assert multiget.prop == Propfind("prop", (names.GETETAG, names.CALENDAR_DATA))
    assert multiget.hrefs == ("/bernard/work/abcd1.ics", "/bernard/work/a b.ics")
    assert multiget.calendar_data is not None
    assert multiget.calendar_data[0].tag == names.EXPAND
    assert multiget.calendar_data[0].get("start") == "20060103T000000Z"


def test_calendar_multiget_without_prop_is_allprop() -> None:
    multiget = parse_calendar_multiget(root(
        f"<C:calendar-multiget {DC}><D:href>/a.ics</D:href></C:calendar-multiget>"))
    assert multiget.prop == Propfind("allprop")
    assert multiget.calendar_data is None
    assert multiget.hrefs == ("/a.ics",)


def test_calendar_multiget_without_hrefs_is_empty() -> None:
    multiget = parse_calendar_multiget(root(
        f"<C:calendar-multiget {DC}><D:prop><D:getetag/></D:prop></C:calendar-multiget>"))
    assert multiget.hrefs == ()


@pytest.mark.parametrize("href", ["", "relative.ics", "/../x.ics", "/%ff.ics", "/%ED%A0%80",
                                  "http://elsewhere.example/a.ics", "mailto:a@example.com",
                                  "http://[::1/a.ics"])
def test_calendar_multiget_bad_href_is_refused_alone(href: str) -> None:
    """RFC 4918 §9.1.2: each href gets its own response, the others are still answered."""
    multiget = parse_calendar_multiget(root(
        f"<C:calendar-multiget {DC}><D:href>{href}</D:href><D:href>/a.ics</D:href>"
        "</C:calendar-multiget>"), ["cal.example.com"])
    assert multiget.hrefs == ("/a.ics",)
    [(sent, error)] = multiget.refused
    assert sent == href and isinstance(error, errors.BadRequest)


def test_calendar_multiget_wrong_root() -> None:
    with pytest.raises(errors.BadRequest, match="calendar-multiget"):
        parse_calendar_multiget(root(f"<C:calendar-query {DC}/>"))
