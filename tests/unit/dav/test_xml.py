"""The hardened parser: hostile bodies become BadRequest, never lxml errors or expansion."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from caldavd.dav import errors, names
from caldavd.dav.xml import (
    child_elements,
    element,
    expect_root,
    find_child,
    parse_xml,
    require_child,
    serialize,
    standalone_copy,
    text_of,
)

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol9;</D:displayname></D:prop></D:propfind>
"""


def test_well_formed_body_parses() -> None:
    root = parse_xml(b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>')
    assert root.tag == names.PROPFIND
    assert [child.tag for child in root] == [names.ALLPROP]


def test_comments_and_processing_instructions_are_dropped() -> None:
    root = parse_xml(b'<D:prop xmlns:D="DAV:"><!-- hi --><?pi x?><D:getetag/></D:prop>')
    assert [child.tag for child in root] == [names.GETETAG]


def test_billion_laughs_is_rejected_without_expansion() -> None:
    # libxml2 may stop it first (amplification limit) or we do (DOCTYPE); either way a 400.
    with pytest.raises(errors.BadRequest) as caught:
        parse_xml(BILLION_LAUGHS)
    assert caught.value.status == 400
    assert "lollol" not in str(caught.value)


def test_single_internal_entity_is_rejected() -> None:
    with pytest.raises(errors.BadRequest, match="DOCTYPE"):
        parse_xml(b'<!DOCTYPE d [<!ENTITY e "expanded">]><d>&e;</d>')


def test_external_entity_is_rejected_without_reading_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOP-SECRET")
    body = (f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>'
            '<D:displayname xmlns:D="DAV:">&xxe;</D:displayname>').encode()
    with pytest.raises(errors.BadRequest, match="DOCTYPE") as caught:
        parse_xml(body)
    assert "TOP-SECRET" not in str(caught.value)


def test_etc_passwd_entity_is_rejected() -> None:
    body = b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    with pytest.raises(errors.BadRequest) as caught:
        parse_xml(body)
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize("doctype", [
    b"<!DOCTYPE d>",
    b'<!DOCTYPE d SYSTEM "file:///etc/passwd">',
    b'<!DOCTYPE d PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://example.invalid/x.dtd">',
    b"<!DOCTYPE d [<!ELEMENT d ANY>]>",
])
def test_any_doctype_is_rejected(doctype: bytes) -> None:
    with pytest.raises(errors.BadRequest, match="DOCTYPE"):
        parse_xml(doctype + b"<d/>")


def test_doctype_in_utf16_is_rejected() -> None:
    with pytest.raises(errors.BadRequest, match="DOCTYPE"):
        parse_xml('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d><d/>'.encode("utf-16"))


def test_external_parameter_entity_is_rejected_without_loading(tmp_path: Path) -> None:
    """A permissive lxml parser would load this file and expand &leak; to LEAKED."""
    dtd = tmp_path / "p.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    body = f'<!DOCTYPE d [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]><d>&leak;</d>'.encode()
    with pytest.raises(errors.BadRequest, match="DOCTYPE") as caught:
        parse_xml(body)
    assert "LEAKED" not in str(caught.value)


def test_oversized_body_is_rejected_before_parsing() -> None:
    body = b"<d>" + b"x" * 100 + b"</d>"
    with pytest.raises(errors.PayloadTooLarge, match="50 bytes") as caught:
        parse_xml(body, max_bytes=50)
    assert caught.value.status == 413


def test_body_at_the_limit_is_accepted() -> None:
    body = b"<d>xx</d>"
    assert parse_xml(body, max_bytes=len(body)).text == "xx"


@pytest.mark.parametrize("body", [b"", b"   \n\t"])
def test_empty_body_is_rejected(body: bytes) -> None:
    with pytest.raises(errors.BadRequest, match="empty"):
        parse_xml(body)


@pytest.mark.parametrize("body", [
    b"<",
    b"<a></b>",
    b"<a/><b/>",
    b"just text",
    b"<a>&undefined;</a>",
    b"<a>\x00</a>",
    b'<?xml version="1.0" encoding="no-such-encoding"?><a/>',
    b"\xff\xfe\x00<",
    b'<?xml version="1.0"?>',
    b"<D:a xmlns:D='DAV:'><X:b/></D:a>",
])
def test_malformed_body_is_bad_request_not_lxml_error(body: bytes) -> None:
    with pytest.raises(errors.BadRequest, match="not well-formed") as caught:
        parse_xml(body)
    assert not isinstance(caught.value, etree.LxmlError)
    assert caught.value.status == 400


def test_deeply_nested_body_is_rejected() -> None:
    """libxml2's depth limit stays on (huge_tree=False)."""
    depth = 100_000
    with pytest.raises(errors.BadRequest):
        parse_xml(b"<a>" * depth + b"</a>" * depth)


def test_expect_root_names_the_expected_element() -> None:
    root = parse_xml(b'<D:propertyupdate xmlns:D="DAV:"/>')
    assert expect_root(root, names.PROPERTYUPDATE) is root
    with pytest.raises(errors.BadRequest, match=r"\{DAV:\}propfind"):
        expect_root(root, names.PROPFIND)


def test_serialize_has_declaration_and_utf8() -> None:
    data = serialize(element(names.DISPLAYNAME, "Café"))
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert "Café".encode() in data


def test_element_builds_text_attributes_and_children() -> None:
    built = element(names.PROP, children=[element(names.GETETAG, '"1"')], attrib={"a": "b"})
    assert built.tag == names.PROP
    assert built.get("a") == "b"
    assert [(c.tag, c.text) for c in built] == [(names.GETETAG, '"1"')]


def test_child_helpers() -> None:
    root = parse_xml(b'<D:a xmlns:D="DAV:"> <D:b> x <D:c>y</D:c> </D:b> </D:a>')
    assert [c.tag for c in child_elements(root)] == [names.dav("b")]
    assert find_child(root, names.dav("zz")) is None
    assert text_of(require_child(root, names.dav("b"))) == "x y"
    with pytest.raises(errors.BadRequest, match=r"\{DAV:\}zz"):
        require_child(root, names.dav("zz"))


@pytest.mark.parametrize(("body", "text"), [
    (b'<D:href xmlns:D="DAV:">  /a/b  </D:href>', "/a/b"),
    (b'<D:href xmlns:D="DAV:"/>', ""),
    (b'<D:href xmlns:D="DAV:"><![CDATA[/a&b]]></D:href>', "/a&b"),
    (b'<D:href xmlns:D="DAV:">/a<!-- c -->/b</D:href>', "/a/b"),
    (b'<D:href xmlns:D="DAV:">/a<D:x>/b</D:x>/c</D:href>', "/a/b/c"),
])
def test_text_of_joins_all_character_data(body: bytes, text: str) -> None:
    assert text_of(parse_xml(body)) == text


def test_standalone_copy_keeps_inherited_xml_lang_and_namespaces() -> None:
    """RFC 4918 §4.3: xml:lang in scope belongs to the property value."""
    root = parse_xml(b'<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xml:lang="fr">'
                     b"<D:set><D:prop><Z:note>bonjour<Z:x/></Z:note>tail</D:prop></D:set>"
                     b"</D:propertyupdate>")
    original = root[0][0][0]
    copy = standalone_copy(original)
    assert copy.getparent() is None
    assert original.getparent() is not None
    assert copy.get(names.XML_LANG) == "fr"
    assert copy.tail is None
    assert etree.tostring(copy) == (
        b'<Z:note xmlns:Z="urn:z" xml:lang="fr">bonjour<Z:x/></Z:note>')


def test_standalone_copy_keeps_own_xml_lang() -> None:
    root = parse_xml(b'<a xml:lang="fr"><b xml:lang="de"/></a>')
    assert standalone_copy(root[0]).get(names.XML_LANG) == "de"


def test_parsers_are_per_thread_and_survive_a_failed_parse() -> None:
    """One parser per thread is reused; an error leaves it usable (no state carried over)."""
    import threading

    from caldavd.dav.errors import BadRequest
    from caldavd.dav.xml import parse_xml

    good = b'<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
    with pytest.raises(BadRequest):
        parse_xml(b"<D:propfind xmlns:D='DAV:'><unclosed>")
    assert parse_xml(good).tag == "{DAV:}propfind"
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(parse_xml(good).tag))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["{DAV:}propfind"] * 4
