"""MKCALENDAR, extended MKCOL, PROPPATCH and DELETE of calendars
(RFC 4791 §5.3.1, RFC 5689, RFC 4918 §9.2)."""

from __future__ import annotations

import asyncio

from caldavd.dav import names
from tests.functional.conftest import CAL01, HOME01, NS, Dav, child

MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
              xmlns:A="http://apple.com/ns/ical/">
  <D:set><D:prop>
    <D:displayname>Work</D:displayname>
    <C:calendar-description xml:lang="en">Work things</C:calendar-description>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/><C:comp name="VTODO"/>
    </C:supported-calendar-component-set>
    <A:calendar-color>#FF0000FF</A:calendar-color>
    <A:calendar-order>3</A:calendar-order>
  </D:prop></D:set>
</C:mkcalendar>"""


async def test_mkcalendar_with_initial_properties(dav: Dav) -> None:
    created = await dav.request("MKCALENDAR", HOME01 + "work/", MKCALENDAR)
    assert created.status == 201
    reply = await dav.propfind(HOME01 + "work/", names.DISPLAYNAME, names.CALENDAR_DESCRIPTION,
                               names.SUPPORTED_CALENDAR_COMPONENT_SET, names.CALENDAR_COLOR,
                               names.CALENDAR_ORDER, names.RESOURCETYPE)
    assert reply.texts(".//D:displayname") == ["Work"]
    assert reply.texts(".//C:calendar-description") == ["Work things"]
    assert sorted(c.get("name") or "" for c in reply.findall(".//C:comp")) == ["VEVENT", "VTODO"]
    assert reply.texts(".//A:calendar-color") == ["#FF0000FF"]
    assert reply.find(".//D:resourcetype/C:calendar") is not None


async def test_mkcalendar_on_existing_is_405_resource_must_be_null(dav: Dav) -> None:
    reply = await dav.request("MKCALENDAR", CAL01)
    assert reply.status == 405
    assert reply.error() == names.RESOURCE_MUST_BE_NULL


async def test_mkcalendar_inside_a_calendar_is_refused(dav: Dav) -> None:
    reply = await dav.request("MKCALENDAR", CAL01 + "nested/")
    assert reply.status == 403
    assert reply.error() == names.CALENDAR_COLLECTION_LOCATION_OK


async def test_mkcalendar_with_protected_property_creates_nothing(dav: Dav) -> None:
    body = MKCALENDAR.replace("<D:displayname>Work</D:displayname>",
                              "<D:getetag>x</D:getetag>")
    reply = await dav.request("MKCALENDAR", HOME01 + "bad/", body)
    assert reply.status == 403
    assert reply.xml.tag == names.MKCALENDAR_RESPONSE
    assert reply.find(".//D:cannot-modify-protected-property") is not None
    assert "HTTP/1.1 424 Failed Dependency" in reply.texts(".//D:status")
    assert (await dav.propfind(HOME01 + "bad/", names.RESOURCETYPE)).status == 404


async def test_mkcalendar_with_bad_timezone_is_refused(dav: Dav) -> None:
    body = MKCALENDAR.replace("<D:displayname>Work</D:displayname>",
                              "<C:calendar-timezone>not a calendar</C:calendar-timezone>")
    reply = await dav.request("MKCALENDAR", HOME01 + "tz/", body)
    assert reply.status == 403
    assert reply.find(".//C:valid-calendar-timezone") is not None


async def test_extended_mkcol_makes_a_calendar(dav: Dav) -> None:
    body = """<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
      <D:resourcetype><D:collection/><C:calendar/></D:resourcetype>
      <D:displayname>Via MKCOL</D:displayname></D:prop></D:set></D:mkcol>"""
    created = await dav.request("MKCOL", HOME01 + "viamkcol/", body,
                                headers={"Content-Type": "application/xml"})
    assert created.status == 201
    reply = await dav.propfind(HOME01 + "viamkcol/", names.DISPLAYNAME)
    assert reply.texts(".//D:displayname") == ["Via MKCOL"]


async def test_plain_mkcol_makes_a_folder_not_a_calendar(dav: Dav) -> None:
    assert (await dav.request("MKCOL", HOME01 + "plain/")).status == 201
    reply = await dav.propfind(HOME01 + "plain/", names.RESOURCETYPE)
    assert reply.find(".//D:resourcetype/D:collection") is not None
    assert reply.find(".//D:resourcetype/C:calendar") is None
    assert (await dav.request("MKCOL", HOME01 + "plain/")).status == 405


async def test_mkcol_with_a_non_xml_body_is_415(dav: Dav) -> None:
    reply = await dav.request("MKCOL", HOME01 + "odd/", "afafafaf",
                              headers={"Content-Type": "xzy-foo/bar-512"})
    assert reply.status == 415


async def test_extended_mkcol_with_unknown_resourcetype_is_refused(dav: Dav) -> None:
    body = """<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype><D:collection/>
      <D:principal/></D:resourcetype></D:prop></D:set></D:mkcol>"""
    reply = await dav.request("MKCOL", HOME01 + "odd/", body,
                              headers={"Content-Type": "text/xml"})
    assert reply.status == 403
    assert reply.error() == names.VALID_RESOURCETYPE


async def test_mkcalendar_in_someone_elses_home_is_forbidden(dav: Dav) -> None:
    reply = await dav.request("MKCALENDAR", HOME01 + "mine/", user="user02")
    assert reply.status == 403


async def test_proppatch_sets_and_removes_atomically(dav: Dav) -> None:
    ctag_before = (await dav.propfind(CAL01, names.GETCTAG)).texts(".//CS:getctag")
    body = """<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example">
      <D:set><D:prop><D:displayname>Renamed</D:displayname><X:note>hi</X:note></D:prop></D:set>
      </D:propertyupdate>"""
    reply = await dav.request("PROPPATCH", CAL01, body)
    assert reply.status == 207
    assert reply.texts(".//D:status") == ["HTTP/1.1 200 OK"]
    got = await dav.propfind(CAL01, names.DISPLAYNAME, "{urn:example}note", names.GETCTAG)
    assert got.texts(".//D:displayname") == ["Renamed"]
    assert got.texts(".//{urn:example}note") == ["hi"]
    assert got.texts(".//CS:getctag") != ctag_before

    remove = """<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example">
      <D:remove><D:prop><X:note/></D:prop></D:remove></D:propertyupdate>"""
    assert (await dav.request("PROPPATCH", CAL01, remove)).status == 207
    gone = await dav.propfind(CAL01, "{urn:example}note")
    assert "HTTP/1.1 404 Not Found" in gone.texts(".//D:status")


async def test_proppatch_of_protected_property_changes_nothing(dav: Dav) -> None:
    body = """<D:propertyupdate xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
      <D:set><D:prop><D:displayname>Never</D:displayname><CS:getctag>1</CS:getctag></D:prop>
      </D:set></D:propertyupdate>"""
    reply = await dav.request("PROPPATCH", CAL01, body)
    assert reply.status == 207
    statuses = {child(ps, "D:prop")[0].tag: ps.findtext("D:status", namespaces=NS)
                for ps in reply.findall(".//D:propstat")}
    assert statuses[names.GETCTAG] == "HTTP/1.1 403 Forbidden"
    assert statuses[names.DISPLAYNAME] == "HTTP/1.1 424 Failed Dependency"
    assert reply.find(".//D:cannot-modify-protected-property") is not None
    got = await dav.propfind(CAL01, names.DISPLAYNAME)
    assert got.texts(".//D:displayname") == ["Calendar"]


async def test_proppatch_by_another_user_is_forbidden(dav: Dav) -> None:
    body = """<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>
      <D:displayname>Hijack</D:displayname></D:prop></D:set></D:propertyupdate>"""
    assert (await dav.request("PROPPATCH", CAL01, body, user="user02")).status == 403


async def test_delete_calendar_removes_it_and_its_objects(dav: Dav) -> None:
    assert (await dav.request("MKCALENDAR", HOME01 + "gone/")).status == 201
    assert (await dav.request("DELETE", HOME01 + "gone/")).status == 204
    assert (await dav.propfind(HOME01 + "gone/", names.RESOURCETYPE)).status == 404
    assert (await dav.request("DELETE", HOME01 + "gone/")).status == 404


async def test_quota_properties_on_home(dav: Dav) -> None:
    reply = await dav.propfind(HOME01, names.QUOTA_USED_BYTES, names.QUOTA_AVAILABLE_BYTES)
    used = int(reply.texts(".//D:quota-used-bytes")[0])
    available = int(reply.texts(".//D:quota-available-bytes")[0])
    # No calendar data yet: only the default calendars' display names, dead properties
    # that count in the quota (migration 0013).
    assert 0 < used < 500 and available > 0


TRANSP = """<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><C:schedule-calendar-transp>{value}</C:schedule-calendar-transp>
  <D:displayname>Kept?</D:displayname></D:prop></D:set></D:propertyupdate>"""


async def test_schedule_calendar_transp_round_trips(dav: Dav) -> None:
    """RFC 6638 §9.1: CALDAV:opaque or CALDAV:transparent, one of them."""
    reply = await dav.request("PROPPATCH", CAL01, TRANSP.format(value="<C:transparent/>"))
    assert reply.status == 207
    assert reply.texts(".//D:status") == ["HTTP/1.1 200 OK"]
    got = await dav.propfind(CAL01, names.SCHEDULE_CALENDAR_TRANSP)
    assert got.find(".//C:schedule-calendar-transp/C:transparent") is not None
    assert got.find(".//C:schedule-calendar-transp/C:opaque") is None


async def test_schedule_calendar_transp_with_a_wrong_value_changes_nothing(dav: Dav) -> None:
    """RFC 4918 §9.2: a value whose semantics do not fit is 409, the rest 424."""
    for value in ("<C:opaque/><C:transparent/>", "", "<C:busy/>"):
        reply = await dav.request("PROPPATCH", CAL01, TRANSP.format(value=value))
        assert reply.status == 207
        statuses = {child(ps, "D:prop")[0].tag: ps.findtext("D:status", namespaces=NS)
                    for ps in reply.findall(".//D:propstat")}
        assert statuses == {names.SCHEDULE_CALENDAR_TRANSP: "HTTP/1.1 409 Conflict",
                            names.DISPLAYNAME: "HTTP/1.1 424 Failed Dependency"}, value
    got = await dav.propfind(CAL01, names.DISPLAYNAME)
    assert got.texts(".//D:displayname") == ["Calendar"]


async def test_calendar_order_must_be_an_integer(dav: Dav) -> None:
    body = """<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/">
      <D:set><D:prop><A:calendar-order>{}</A:calendar-order></D:prop></D:set>
      </D:propertyupdate>"""
    bad = await dav.request("PROPPATCH", CAL01, body.format("first"))
    assert bad.texts(".//D:status") == ["HTTP/1.1 409 Conflict"]
    good = await dav.request("PROPPATCH", CAL01, body.format("-2"))
    assert good.texts(".//D:status") == ["HTTP/1.1 200 OK"]
    assert (await dav.propfind(CAL01, names.CALENDAR_ORDER)).texts(".//A:calendar-order") \
        == ["-2"]


async def test_mkcalendars_racing_for_one_name_lose_with_405(dav: Dav) -> None:
    """RFC 4791 §5.3.1 / RFC 4918 §9.3.1: a MKCALENDAR (or MKCOL) that finds the name
    taken answers 405 resource-must-be-null, also when it lost a race to another one
    after its lookup (it used to be 412, which is for If-Match and Overwrite)."""
    for method, path in (("MKCALENDAR", HOME01 + "raced/"), ("MKCOL", HOME01 + "racedir/")):
        replies = await asyncio.gather(*(dav.request(method, path) for _ in range(8)))
        statuses = sorted(r.status for r in replies)
        assert statuses == [201] + [405] * 7, (method, statuses)
        assert all(r.error() == names.RESOURCE_MUST_BE_NULL for r in replies
                   if r.status == 405), method
