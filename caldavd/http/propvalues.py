"""Dead property values are stored as the serialised property element."""

from __future__ import annotations

from lxml import etree

from caldavd.dav.xml import element, parse_xml


def text_property(name: str, text: str) -> str:
    return to_stored(element(name, text))


def to_stored(prop: etree._Element) -> str:
    return etree.tostring(prop, encoding="unicode")


def from_stored(value: str) -> etree._Element:
    return parse_xml(value.encode())


def stored_text(value: str | None) -> str | None:
    """The text content of a stored property (for displayname and the like)."""
    if value is None:
        return None
    return "".join(str(t) for t in from_stored(value).itertext())
