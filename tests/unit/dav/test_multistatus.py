"""207 Multi-Status bodies (RFC 4918 §13, §14)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from caldavd.dav import errors, names
from caldavd.dav.fragments import href_text, text_element
from caldavd.dav.multistatus import (
    Multistatus,
    Propstat,
    group_propstats,
    propstat_body,
    status_line,
)
from caldavd.dav.xml import element, parse_xml
from tests.infoset import document
from tests.lxml_reference import LxmlMultistatus

NS = {"D": names.DAV_NS, "C": names.CALDAV_NS, "CS": names.CS_NS}


def parse(data: bytes) -> etree._Element:
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return etree.fromstring(data)


def required(root: etree._Element, path: str) -> etree._Element:
    node = root.find(path, NS)
    assert node is not None, path
    return node


def texts(root: etree._Element, path: str) -> list[str]:
    return [str(node.text) for node in root.iterfind(path, NS)]


def test_status_line_uses_http_phrases() -> None:
    assert status_line(200) == "HTTP/1.1 200 OK"
    assert status_line(404) == "HTTP/1.1 404 Not Found"
    assert status_line(424) == "HTTP/1.1 424 Failed Dependency"
    assert status_line(507) == "HTTP/1.1 507 Insufficient Storage"
    assert status_line(599) == "HTTP/1.1 599"


def test_empty_multistatus() -> None:
    root = parse(Multistatus().to_bytes())
    assert root.tag == names.MULTISTATUS
    assert len(root) == 0


def test_propstat_groups_found_and_missing_by_status() -> None:
    """RFC 4918 §9.1: found properties under 200, unknown ones under 404."""
    ms = Multistatus()
    ms.add_propstat("/cal/", [element(names.DISPLAYNAME, "Work")],
                    {404: [names.GETCTAG, "{urn:x}custom"]})
    root = parse(ms.to_bytes())
    (response,) = root.iterfind("D:response", NS)
    assert texts(response, "D:href") == ["/cal/"]
    propstats = response.findall("D:propstat", NS)
    assert [texts(p, "D:status") for p in propstats] == [
        ["HTTP/1.1 200 OK"], ["HTTP/1.1 404 Not Found"]]
    assert texts(propstats[0], "D:prop/D:displayname") == ["Work"]
    missing = list(required(propstats[1], "D:prop"))
    assert [child.tag for child in missing] == [names.GETCTAG, "{urn:x}custom"]
    assert all(len(child) == 0 and child.text is None for child in missing)


def test_proppatch_failure_with_error_and_failed_dependency() -> None:
    """RFC 4918 §9.2: one 403 (with its precondition), the rest 424."""
    ms = Multistatus()
    ms.add_propstat("/cal/", missing={403: [names.GETETAG], 424: [names.DISPLAYNAME]},
                    errors={403: errors.CannotModifyProtectedProperty()})
    root = parse(ms.to_bytes())
    forbidden, dependent = root.iterfind("D:response/D:propstat", NS)
    assert texts(forbidden, "D:status") == ["HTTP/1.1 403 Forbidden"]
    assert forbidden.find("D:error/D:cannot-modify-protected-property", NS) is not None
    assert texts(dependent, "D:status") == ["HTTP/1.1 424 Failed Dependency"]
    assert dependent.find("D:error", NS) is None


def test_response_without_properties_still_has_a_propstat() -> None:
    ms = Multistatus()
    ms.add_propstat("/x")
    root = parse(ms.to_bytes())
    assert texts(root, "D:response/D:propstat/D:status") == ["HTTP/1.1 200 OK"]
    assert len(required(root, "D:response/D:propstat/D:prop")) == 0


def test_add_status_with_precondition_children() -> None:
    ms = Multistatus()
    ms.add_status("/gone.ics", 404)
    ms.add_status("/a/", 409, errors.NoUIDConflict("/a/b.ics"), description="uid clash")
    root = parse(ms.to_bytes())
    gone, clash = root.iterfind("D:response", NS)
    assert texts(gone, "D:status") == ["HTTP/1.1 404 Not Found"]
    assert gone.find("D:propstat", NS) is None
    assert texts(clash, "D:error/C:no-uid-conflict/D:href") == ["/a/b.ics"]
    assert texts(clash, "D:responsedescription") == ["uid clash"]


def test_error_without_element_adds_no_error_body() -> None:
    ms = Multistatus()
    ms.add_status("/x", 403, errors.Forbidden())
    root = parse(ms.to_bytes())
    assert root.find("D:response/D:error", NS) is None


def test_hrefs_are_percent_encoded() -> None:
    ms = Multistatus()
    ms.add_status("/Jo Smith/é?.ics", 200)
    assert texts(parse(ms.to_bytes()), "D:response/D:href") == ["/Jo%20Smith/%C3%A9%3F.ics"]


def test_sync_token_comes_after_responses() -> None:
    """RFC 6578 §6.4: multistatus (response*, responsedescription?, sync-token?)."""
    ms = Multistatus(sync_token="http://example.com/sync/7")
    ms.add_status("/a.ics", 404)
    root = parse(ms.to_bytes())
    assert [child.tag for child in root] == [names.RESPONSE, names.SYNC_TOKEN]
    assert root[-1].text == "http://example.com/sync/7"


def test_elements_are_copied_not_moved() -> None:
    shared = element(names.DISPLAYNAME, "cached")
    owner = element(names.PROP, children=[shared])
    ms = Multistatus()
    ms.add_propstat("/a", [shared])
    ms.add_propstat("/b", [shared])
    root = parse(ms.to_bytes())
    assert shared.getparent() is owner
    assert texts(root, "D:response/D:propstat/D:prop/D:displayname") == ["cached", "cached"]


def test_to_bytes_is_repeatable_and_len_counts_responses() -> None:
    ms = Multistatus()
    ms.add_status("/a", 200)
    ms.add_status("/b", 200)
    assert len(ms) == 2
    assert ms.to_bytes() == ms.to_bytes()


def test_namespace_prefixes_are_declared_once_on_the_root() -> None:
    ms = Multistatus()
    ms.add_propstat("/cal/", [element(names.CALENDAR_DESCRIPTION, "d"),
                              element(names.GETCTAG, "1")])
    data = ms.to_bytes()
    assert b'<D:multistatus xmlns:D="DAV:"' in data
    assert b"<C:calendar-description>d</C:calendar-description>" in data
    assert b"<CS:getctag>1</CS:getctag>" in data
    assert data.count(b"xmlns:C=") == 1


def test_group_propstats_leaves_out_empty_groups() -> None:
    groups = group_propstats([], {404: [], 403: [names.OWNER]})
    assert [(g.status, [p.tag for p in g.props]) for g in groups] == [(403, [names.OWNER])]


def test_propstat_body_for_mkcalendar_response() -> None:
    """RFC 4791 §5.3.1: a failed MKCALENDAR may explain itself per property."""
    body = propstat_body(names.MKCALENDAR_RESPONSE, [
        Propstat(403, (element(names.CALENDAR_TIMEZONE),), errors.ValidCalendarTimezone()),
        Propstat(424, (element(names.DISPLAYNAME),)),
    ])
    root = parse(body)
    assert root.tag == names.MKCALENDAR_RESPONSE
    assert texts(root, "D:propstat/D:status") == [
        "HTTP/1.1 403 Forbidden", "HTTP/1.1 424 Failed Dependency"]
    assert root.find("D:propstat/D:error/C:valid-calendar-timezone", NS) is not None


# -- the text builder against an lxml reference ------------------------------------

TRICKY_HREFS = ["/cal/", "/cal/a&b.ics", "/Jo Smith/é?.ics", "/cal/<x>\"'.ics", "/cal/日本😀"]
TRICKY_TEXT = ['"etag & <1>"', "]]>", "BEGIN:VCALENDAR\r\nSUMMARY:Café & <b>\r\nEND:VCALENDAR\r\n",
               "😀 \u00a0 tab\t"]


def values_for(text: str) -> list[etree._Element]:
    stored = parse_xml(b'<x:custom xmlns:x="urn:x" xmlns:D="urn:not-dav" xml:lang="en">'
                       b'<D:inner x:a="&amp;">t</D:inner></x:custom>')
    return [element(names.GETETAG, text), element(names.CALENDAR_DATA, text),
            element(names.RESOURCETYPE, children=[element(names.COLLECTION),
                                                  element(names.CALENDAR)]),
            stored, element("{urn:y}empty")]


def test_builder_matches_the_lxml_reference() -> None:
    fast, reference = Multistatus(sync_token="data:,x&y/<1>"), LxmlMultistatus("data:,x&y/<1>")
    missing = [names.GETCTAG, "{urn:x}custom", "plain"]
    for href, text in zip(TRICKY_HREFS, [*TRICKY_TEXT, "last"], strict=True):
        found = values_for(text)
        fast.add_propstat(href, found, {404: missing})
        reference.add_propstats(href, group_propstats(values_for(text), {404: missing}))
    fast.add_status("/gone&.ics", 404)
    reference.add_status("/gone&.ics", 404)
    fast.add_status("/a/", 409, errors.NoUIDConflict("/a/b&c.ics"), description="uid & <clash>")
    reference.add_status("/a/", 409, errors.NoUIDConflict("/a/b&c.ics"),
                         description="uid & <clash>")
    fast.add_propstat("/empty")
    reference.add_propstats("/empty", [])
    fast.add_propstat("/p", missing={403: [names.GETETAG], 424: [names.DISPLAYNAME]},
                      errors={403: errors.CannotModifyProtectedProperty()})
    reference.add_propstats("/p", group_propstats(
        missing={403: [names.GETETAG], 424: [names.DISPLAYNAME]},
        errors={403: errors.CannotModifyProtectedProperty()}))
    assert document(fast.to_bytes()) == document(reference.to_bytes())


@pytest.mark.parametrize("text", TRICKY_TEXT)
@pytest.mark.parametrize("href", TRICKY_HREFS)
def test_fragments_elements_and_members_write_the_same_response(href: str, text: str) -> None:
    """add_props with fragments, with elements, mixed, and add_member: one infoset."""
    missing = (names.GETCTAG, "{urn:x}custom")
    as_text = [text_element(names.GETETAG, text), text_element(names.CALENDAR_DATA, text)]
    bodies = []
    forms: list[list[etree._Element | str]] = [
        [element(names.GETETAG, text), element(names.CALENDAR_DATA, text)], [*as_text],
        [as_text[0], element(names.CALENDAR_DATA, text)]]
    for found in forms:
        body = Multistatus()
        body.add_props(href, found, missing)
        bodies.append(body.to_bytes())
    parent, _, name = href.rpartition("/")
    body = Multistatus()
    body.add_members(href_text(parent + "/"), [name], ["".join(as_text)], missing)
    bodies.append(body.to_bytes())
    reference = Multistatus()
    reference.add_propstat(href, [element(names.GETETAG, text),
                                  element(names.CALENDAR_DATA, text)], {404: missing})
    assert {document(b) for b in bodies} == {document(reference.to_bytes())}


def test_add_props_without_values_is_one_empty_200_propstat() -> None:
    adds: list[Callable[[Multistatus], None]] = [
        lambda ms: ms.add_props("/x", []), lambda ms: ms.add_members("/", ["x"], [""])]
    for add in adds:
        ms = Multistatus()
        add(ms)
        root = parse(ms.to_bytes())
        assert texts(root, "D:response/D:propstat/D:status") == ["HTTP/1.1 200 OK"]
        assert len(required(root, "D:response/D:propstat/D:prop")) == 0


def test_only_missing_properties_leave_out_the_200_propstat() -> None:
    ms = Multistatus()
    ms.add_members("/cal/", ["a.ics", "b&.ics"], ["", text_element(names.GETETAG, "e")],
                   (names.GETCTAG,))
    ms.add_props("/cal/c.ics", [], [names.GETCTAG])
    statuses = [texts(r, "D:propstat/D:status") for r in parse(ms.to_bytes()).iterfind(
        "D:response", NS)]
    assert statuses == [["HTTP/1.1 404 Not Found"], ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"],
                        ["HTTP/1.1 404 Not Found"]]


def test_a_value_that_xml_cannot_hold_is_written_with_u_fffd_as_with_lxml() -> None:
    ms = Multistatus()
    ms.add_props("/x", [text_element(names.CALENDAR_DATA, "bad \x01"),
                        element(names.DISPLAYNAME, "bad \x0b")])
    assert texts(parse(ms.to_bytes()), ".//D:prop/*") == ["bad \ufffd", "bad \ufffd"]



@pytest.mark.parametrize("token", [None, "http://example.com/sync/7"])
def test_pieces_join_to_the_body_and_never_split_a_response(token: str | None) -> None:
    body = Multistatus(sync_token=token)
    for n in range(50):
        body.add_props(f"/c/{n}.ics", [], [names.GETETAG])
    whole = body.to_bytes()
    assert body.size() == len(whole)
    pieces = list(body.pieces(1000))
    assert len(pieces) > 1 and b"".join(pieces) == whole
    assert all(p.endswith((b"</D:response>", b"</D:multistatus>", b">")) for p in pieces)
    assert all(p.count(b"<D:response>") == p.count(b"</D:response>") for p in pieces[1:-1])
