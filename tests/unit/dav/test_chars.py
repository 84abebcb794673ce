"""The one place strings meet XML 1.0's character set (XML 1.0 §2.2, §2.5)."""

from __future__ import annotations

import pytest
from lxml import etree

from caldavd.dav.chars import comment_text, is_xml_chars, log_text, xml_chars
from caldavd.dav.errors import BadRequest
from caldavd.dav.xml import clark_name
from caldavd.ops.logparse import _unescape

CARRIED = ["", "plain", "tab\tlf\ncr\r", "é 日本 😀 \x7f \x85 \u2028 \ufffd"]


@pytest.mark.parametrize("text", CARRIED)
def test_what_xml_carries_is_left_alone(text: str) -> None:
    assert is_xml_chars(text) and xml_chars(text) == text


@pytest.mark.parametrize("text", ["\x00", "a\x0bb", "\x1f", "\ud800", "\ufffe", "\uffff"])
def test_the_rest_becomes_u_fffd(text: str) -> None:
    assert not is_xml_chars(text)
    assert is_xml_chars(xml_chars(text)) and "\ufffd" in xml_chars(text)


@pytest.mark.parametrize("text", ["a--b", "ends-", "-", "--", "\x01--\x02-"])
def test_any_text_makes_a_comment_lxml_accepts(text: str) -> None:
    comment = etree.Comment(comment_text(text))
    assert etree.fromstring(b"<r>" + etree.tostring(comment) + b"</r>") is not None


def test_clark_names_from_client_strings_are_checked() -> None:
    assert clark_name("DAV:", "displayname") == "{DAV:}displayname"
    assert clark_name("", "x") == "x"
    for namespace, local in [("DAV:", "-1"), ("DAV:", "a b"), ("a b", "x"), ("DAV:", "x:y"),
                             ("\x01", "x"), ("DAV:", "\x01")]:
        with pytest.raises(BadRequest):
            clark_name(namespace, local)


@pytest.mark.parametrize("text", ["plain", "a\nb", "tab\there", "\x00\x1b[31m", "nel\x85",
                                  "back\\slash", "\\x41 stays"])
def test_log_text_is_one_printable_line_logparse_reads_back(text: str) -> None:
    logged = log_text(text)
    assert logged.isprintable()
    assert _unescape(logged) == text
