"""PROPFIND, PROPPATCH, extended MKCOL and MKCALENDAR bodies."""

from __future__ import annotations

import pytest
from lxml import etree

from caldavd.dav import errors, names
from caldavd.dav.requests import Propfind, PropOp, parse_mkcol, parse_propfind, parse_proppatch


def dav(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>{body}').encode()


@pytest.mark.parametrize("body", [None, b"", b"  \r\n"])
def test_empty_propfind_is_allprop(body: bytes | None) -> None:
    """RFC 4918 §9.1: no body is treated as an allprop request."""
    assert parse_propfind(body) == Propfind("allprop")


def test_propfind_prop() -> None:
    body = dav('<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
               "<D:prop><D:displayname/><C:calendar-home-set/><D:displayname/>"
               '<X:odd xmlns:X="urn:x"/><nonamespace xmlns=""/></D:prop></D:propfind>')
    assert parse_propfind(body) == Propfind(
        "prop", (names.DISPLAYNAME, names.CALENDAR_HOME_SET, "{urn:x}odd", "nonamespace"))


def test_propfind_propname() -> None:
    assert parse_propfind(dav('<propfind xmlns="DAV:"><propname/></propfind>')) == Propfind(
        "propname")


def test_propfind_allprop_with_include() -> None:
    body = dav('<D:propfind xmlns:D="DAV:"><D:allprop/><D:include>'
               "<D:supported-report-set/></D:include></D:propfind>")
    assert parse_propfind(body) == Propfind("allprop", include=(names.SUPPORTED_REPORT_SET,))


def test_propfind_ignores_unknown_elements() -> None:
    """RFC 4918 §17: unknown elements are ignored."""
    body = dav('<D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><X:future/>'
               "<D:prop><D:getetag/></D:prop><X:later>t</X:later></D:propfind>")
    assert parse_propfind(body) == Propfind("prop", (names.GETETAG,))


@pytest.mark.parametrize(("body", "message"), [
    ('<D:propfind xmlns:D="DAV:"/>', "needs"),
    ('<D:propfind xmlns:D="DAV:"><D:allprop/><D:propname/></D:propfind>', "only one"),
    ('<D:propertyupdate xmlns:D="DAV:"><D:allprop/></D:propertyupdate>', "propfind"),
    ('<propfind><allprop/></propfind>', "propfind"),
    ('<D:propfind xmlns:D="DAV:"><D:allprop>', "well-formed"),
])
def test_bad_propfind(body: str, message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message):
        parse_propfind(dav(body))


def test_proppatch_ops_in_document_order() -> None:
    """RFC 4918 §9.2: instructions are applied in document order."""
    body = dav('<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/">'
               "<D:set><D:prop><D:displayname>Work</D:displayname>"
               "<A:calendar-color>#FF0000</A:calendar-color></D:prop></D:set>"
               "<D:remove><D:prop><D:displayname/></D:prop></D:remove>"
               "<D:set><D:prop><D:displayname>Home</D:displayname></D:prop></D:set>"
               "</D:propertyupdate>")
    ops = parse_proppatch(body)
    assert [(op.kind, op.name) for op in ops] == [
        ("set", names.DISPLAYNAME), ("set", names.CALENDAR_COLOR),
        ("remove", names.DISPLAYNAME), ("set", names.DISPLAYNAME)]
    assert [op.element.text if op.element is not None else None for op in ops] == [
        "Work", "#FF0000", None, "Home"]


def test_proppatch_set_keeps_the_whole_value() -> None:
    """RFC 4918 §4.3: a dead property keeps its XML value and the xml:lang in scope."""
    body = dav('<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xml:lang="en">'
               '<D:set><D:prop><Z:author><Z:name a="1">Jo</Z:name></Z:author></D:prop></D:set>'
               "</D:propertyupdate>")
    (op,) = parse_proppatch(body)
    assert (op.kind, op.name) == ("set", "{urn:z}author")
    assert op.element is not None
    assert op.element.getparent() is None
    assert etree.tostring(op.element) == (
        b'<Z:author xmlns:Z="urn:z" xml:lang="en"><Z:name a="1">Jo</Z:name></Z:author>')


def test_proppatch_ignores_unknown_instructions() -> None:
    body = dav('<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><X:patch/>'
               "<D:remove><D:prop><D:displayname/></D:prop></D:remove></D:propertyupdate>")
    assert parse_proppatch(body) == (PropOp("remove", names.DISPLAYNAME),)


@pytest.mark.parametrize(("body", "message"), [
    (b"", "empty"),
    (None, "empty"),
    (dav('<D:propertyupdate xmlns:D="DAV:"/>'), "no property"),
    (dav('<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop/></D:set></D:propertyupdate>'),
     "no property"),
    (dav('<D:propertyupdate xmlns:D="DAV:"><D:set/></D:propertyupdate>'), r"\{DAV:\}prop"),
    (dav('<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'), "propertyupdate"),
])
def test_bad_proppatch(body: bytes | None, message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message):
        parse_proppatch(body)


@pytest.mark.parametrize("body", [None, b"", b"\n"])
def test_empty_mkcol_sets_nothing(body: bytes | None) -> None:
    assert parse_mkcol(body, names.MKCOL) == ()
    assert parse_mkcol(body, names.MKCALENDAR) == ()


def test_mkcalendar_properties() -> None:
    """RFC 4791 §5.3.1: C:mkcalendar holds a DAV:set of properties."""
    body = dav('<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
               "<D:set><D:prop><D:displayname>Lisa's Events</D:displayname>"
               '<C:supported-calendar-component-set><C:comp name="VEVENT"/>'
               "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>")
    props = parse_mkcol(body, names.MKCALENDAR)
    assert [p.tag for p in props] == [names.DISPLAYNAME, names.SUPPORTED_CALENDAR_COMPONENT_SET]
    assert props[0].text == "Lisa's Events"
    assert props[1][0].get("name") == "VEVENT"
    assert all(p.getparent() is None for p in props)


def test_extended_mkcol_with_several_sets() -> None:
    """RFC 5689 §5.1: mkcol (set+)."""
    body = dav('<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
               "<D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype>"
               "</D:prop></D:set><D:set><D:prop><D:displayname>x</D:displayname></D:prop>"
               "</D:set></D:mkcol>")
    props = parse_mkcol(body, names.MKCOL)
    assert [p.tag for p in props] == [names.RESOURCETYPE, names.DISPLAYNAME]
    assert [c.tag for c in props[0]] == [names.COLLECTION, names.CALENDAR]


def test_mkcol_with_the_wrong_root() -> None:
    body = dav('<D:mkcol xmlns:D="DAV:"><D:set><D:prop/></D:set></D:mkcol>')
    with pytest.raises(errors.BadRequest, match="mkcalendar"):
        parse_mkcol(body, names.MKCALENDAR)


def test_mkcol_set_without_prop() -> None:
    with pytest.raises(errors.BadRequest, match=r"\{DAV:\}prop"):
        parse_mkcol(dav('<D:mkcol xmlns:D="DAV:"><D:set/></D:mkcol>'), names.MKCOL)


def test_hostile_propfind_is_bad_request() -> None:
    body = b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:">' \
           b"<D:prop><D:displayname>&x;</D:displayname></D:prop></D:propfind>"
    with pytest.raises(errors.BadRequest, match="DOCTYPE"):
        parse_propfind(body)


def test_repeated_propfind_bodies_give_the_same_answer_and_bad_ones_fail_every_time() -> None:
    """Small bodies are parsed once (clients poll with the same body); errors are not kept."""
    from caldavd.dav import errors as dav_errors
    from caldavd.dav.requests import parse_propfind

    body = (b'<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
            b"<D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>")
    first = parse_propfind(body)
    assert parse_propfind(bytes(body)) == first
    assert first.kind == "prop"
    assert first.names == ("{http://calendarserver.org/ns/}getctag", "{DAV:}sync-token")
    for _ in range(2):
        with pytest.raises(dav_errors.BadRequest):
            parse_propfind(b'<D:propfind xmlns:D="DAV:"><D:prop>')
    large = body.replace(b"<D:sync-token/>", b"<D:sync-token/>" + b" " * 5000)
    assert parse_propfind(large) == first
