"""expand-property as Apple clients send it, principal-property-search and
principal-search-property-set (RFC 3253 §3.8, RFC 3744 §9.4-9.5)."""

from __future__ import annotations

from tests.functional.conftest import HOME01, NS, USER01_UID, Dav

PRINCIPAL = f"/principals/__uids__/{USER01_UID}/"

EXPAND = """<D:expand-property xmlns:D="DAV:">
  <D:property name="group-membership">
    <D:property name="displayname"/><D:property name="principal-URL"/>
  </D:property>
  <D:property name="displayname"/>
</D:expand-property>"""

SEARCH = """<D:principal-property-search xmlns:D="DAV:" test="anyof">
  <D:property-search><D:prop><D:displayname/></D:prop><D:match>{text}</D:match>
  </D:property-search><D:prop><D:displayname/><D:principal-URL/></D:prop>
</D:principal-property-search>"""


async def test_expand_property_inlines_group_principals(dav: Dav) -> None:
    reply = await dav.report(PRINCIPAL, EXPAND, depth="0")
    assert reply.status == 207
    groups = reply.findall(".//D:group-membership/D:response")
    assert len(groups) == 1
    assert groups[0].findtext(".//D:displayname", namespaces=NS) == "Group 01"
    assert reply.findall("D:response/D:propstat/D:prop/D:displayname")[0].text == "User 01"


async def test_principal_property_search_by_name(dav: Dav) -> None:
    reply = await dav.report("/principals/", SEARCH.format(text="Conference"), depth="0")
    names_found = sorted(reply.texts(".//D:displayname"))
    assert names_found == ["Conference Room 1", "Conference Room 2"]


async def test_principal_property_search_scoped_to_users(dav: Dav) -> None:
    reply = await dav.report("/principals/users/", SEARCH.format(text="0"), depth="0")
    assert len(reply.responses()) == 10


async def test_principal_search_property_set(dav: Dav) -> None:
    body = '<D:principal-search-property-set xmlns:D="DAV:"/>'
    reply = await dav.report("/principals/", body, depth="0")
    assert reply.status == 200
    assert reply.findall(".//D:principal-search-property/D:prop/D:displayname")


async def test_principal_reports_are_defined_for_depth_0_only(dav: Dav) -> None:
    """RFC 3744 §9.4 and §9.5: "only defined when the Depth header has value 0; other
    values result in a 400 (Bad Request) error response".  No Depth means 0."""
    search = SEARCH.format(text="0")
    property_set = '<D:principal-search-property-set xmlns:D="DAV:"/>'
    for body in (search, property_set):
        for depth in ("1", "infinity"):
            reply = await dav.report("/principals/users/", body, depth=depth)
            assert reply.status == 400, (body, depth)
        assert (await dav.request("REPORT", "/principals/users/", body)).status in (200, 207)


async def test_expand_property_with_depth_1_answers_for_each_member(dav: Dav) -> None:
    """RFC 3253 §3.6: with a Depth header the report "MUST be applied separately to the
    collection itself and to all members of the collection that satisfy the Depth
    value" (§3.8 makes no exception): a principal and its proxy groups, a home and its
    calendars. Depth 1 answered for the resource alone (found by CalDAVTester's
    expandproperty.xml); Depth infinity, offered by no PROPFIND here either, is 400."""
    body = """<D:expand-property xmlns:D="DAV:"><D:property name="displayname"/>
      <D:property name="owner"><D:property name="displayname"/></D:property>
      </D:expand-property>"""
    reply = await dav.report(PRINCIPAL, body, depth="1")
    assert reply.status == 207, reply.body
    assert set(reply.responses()) == {PRINCIPAL, PRINCIPAL + "calendar-proxy-read/",
                                      PRINCIPAL + "calendar-proxy-write/"}
    alone = await dav.report(PRINCIPAL, body, depth="0")
    assert set(alone.responses()) == {PRINCIPAL}
    home = HOME01
    calendars = await dav.report(home, body, depth="1")
    assert calendars.status == 207, calendars.body
    assert home + "calendar/" in calendars.responses() and len(calendars.responses()) > 1
    owner = calendars.responses()[home + "calendar/"].find(".//D:owner/D:response", NS)
    assert owner is not None and owner.findtext(".//D:displayname", namespaces=NS) == "User 01"
    assert (await dav.report(PRINCIPAL, body, depth="infinity")).status == 400
