"""Hand-written XML text must parse to what lxml would have written."""

from __future__ import annotations

import pytest
from lxml import etree

from caldavd.dav import names
from caldavd.dav.chars import is_xml_chars
from caldavd.dav.errors import ValidCalendarData
from caldavd.dav.fragments import (
    ROOT_DECLARATIONS,
    elements_text,
    empty_element,
    escape,
    href_text,
    qname,
    text_element,
    text_writer,
)
from caldavd.dav.hrefs import quote_path
from caldavd.dav.xml import element, parse_xml
from tests.infoset import elements, fragment

TRICKY = [
    "",
    "plain",
    "0123456789abcdef",
    'a & b < c > d " e \' f',
    "]]>",
    "<![CDATA[x]]>",
    "&amp; is not an entity here",
    "BEGIN:VCALENDAR\r\nSUMMARY:Café ☕ & <tea>\r\nEND:VCALENDAR\r\n",
    "lone \r and \n and \t",
    "non-ASCII: é ü ß 日本 😀 \u00a0 \u2028 \ufffd \x7f \x85",
    "  leading and trailing spaces  ",
]
NOT_XML = ["\x00", "a\x01b", "\x08", "\x0b", "\x0c", "\x1f", "x\ufffe", "\uffff", "\ud800"]


def lxml_text(text: str) -> str:
    """The character data of an element as lxml writes it."""
    written = etree.tostring(element(names.DISPLAYNAME, text), encoding="unicode")
    return written[written.index(">") + 1:written.rindex("<")]


@pytest.mark.parametrize("text", TRICKY)
def test_escape_writes_what_lxml_writes(text: str) -> None:
    assert escape(text) == lxml_text(text)


@pytest.mark.parametrize("text", TRICKY)
def test_text_element_parses_back_to_the_text(text: str) -> None:
    written = text_element(names.CALENDAR_DATA, text)
    assert fragment(written) == elements(element(names.CALENDAR_DATA, text))
    assert text_writer(names.CALENDAR_DATA)(text) == written


@pytest.mark.parametrize("text", NOT_XML)
def test_characters_xml_cannot_hold_become_u_fffd_in_fragments_and_elements(text: str) -> None:
    """XML 1.0 §2.2: nothing a client or the store holds can make an answer fail (chars)."""
    replaced = text.translate({ord(c): "\ufffd" for c in text if not is_xml_chars(c)})
    assert not is_xml_chars(text) and is_xml_chars(replaced)
    assert lxml_text(text) == escape(text) == escape(replaced) == replaced
    assert escape("BEGIN:VCALENDAR\r\n" + text) == "BEGIN:VCALENDAR&#13;\n" + replaced
    written = text_element(names.CALENDAR_DATA, text)
    assert fragment(written) == elements(element(names.CALENDAR_DATA, replaced))


@pytest.mark.parametrize("text", NOT_XML)
def test_an_error_body_carries_any_message(text: str) -> None:
    body = ValidCalendarData(f"line 3: END:VCAL{text}-- closes BEGIN:VEVENT-").to_xml()
    assert body is not None
    nodes = etree.fromstring(body).xpath("comment()")
    assert isinstance(nodes, list) and isinstance(nodes[0], etree._Comment)
    comment = nodes[0].text
    assert comment is not None
    assert "END:VCAL" in comment and is_xml_chars(comment)


def test_qname_uses_the_document_prefixes() -> None:
    assert qname(names.GETETAG) == "D:getetag"
    assert qname(names.CALENDAR_DATA) == "C:calendar-data"
    assert qname(names.GETCTAG) == "CS:getctag"
    assert qname(names.CALENDAR_COLOR) == "A:calendar-color"
    assert qname("{urn:x}custom") is None
    assert qname("unqualified") is None


@pytest.mark.parametrize("name", [
    names.GETETAG, names.CALENDAR_DATA, names.GETCTAG, names.CALENDAR_COLOR,
    "{urn:x}custom", "{http://example.com/a&b?c=d}odd", "unqualified",
    "{DAV:x}not-dav",
])
def test_empty_element_is_the_name_wherever_its_namespace(name: str) -> None:
    assert fragment(empty_element(name)) == elements(element(name))


def test_text_element_needs_a_document_namespace() -> None:
    with pytest.raises(ValueError):
        text_element("{urn:x}custom", "x")


def test_elements_text_keeps_foreign_namespaces_and_attributes() -> None:
    stored = parse_xml(b'<x:custom xmlns:x="urn:x" xmlns:D="urn:not-dav" xml:lang="fr">'
                       b'<D:inner x:attr="a &amp; &quot;b&quot;">t &lt; u</D:inner> tail'
                       b"</x:custom>")
    nodes = [element(names.DISPLAYNAME, "Work & play"), stored,
             element(names.CALENDAR_DESCRIPTION, "é\r\n"), element("unqualified")]
    expected = elements(*nodes)
    written = elements_text(nodes)
    assert fragment(written) == expected
    assert "<D:displayname>" in written and "<C:calendar-description>" in written


def test_elements_text_copies_elements_that_belong_to_a_tree() -> None:
    shared = element(names.DISPLAYNAME, "cached")
    owner = element(names.PROP, children=[shared])
    written = elements_text([shared])
    assert shared.getparent() is owner
    assert fragment(written) == elements(element(names.DISPLAYNAME, "cached"))
    assert elements_text([]) == ""


@pytest.mark.parametrize("path", [
    "/calendars/__uids__/u/calendar/",
    "/cal/a&b.ics",
    "/Jo Smith/é?#%.ics",
    "/cal/<x>\"'.ics",
    "/cal/日本😀.ics",
])
def test_href_text_is_the_escaped_percent_encoding(path: str) -> None:
    written = f"<D:href>{href_text(path)}</D:href>"
    assert fragment(written) == elements(element(names.HREF, quote_path(path)))


def test_root_declarations_are_the_document_namespaces() -> None:
    root = etree.fromstring(f"<D:multistatus{ROOT_DECLARATIONS}/>".encode())
    assert root.nsmap == names.NSMAP
