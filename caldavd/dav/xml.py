"""The one hardened XML parser, plus small helpers to build and read elements.

Request bodies come from untrusted clients: no entity expansion, no network,
no DTD of any kind, a size limit. Every failure is a ``BadRequest`` (or
``PayloadTooLarge``); no lxml exception leaks to the caller.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Mapping

from lxml import etree

from caldavd.dav import errors, names
from caldavd.dav.chars import xml_chars

MAX_BODY_BYTES = 10 * 1024 * 1024


_PARSERS = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser (lxml parsers must not be shared between threads;
    making one per call cost more than parsing a small PROPFIND body)."""
    parser: etree.XMLParser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = _new_parser()
    return parser


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(body: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> etree._Element:
    """Parse a request body into its root element.

    Raises ``BadRequest`` for an empty or malformed body or any DOCTYPE, and
    ``PayloadTooLarge`` for a body over ``max_bytes``.
    """
    if len(body) > max_bytes:
        raise errors.PayloadTooLarge(f"XML body is larger than {max_bytes} bytes")
    if not body.strip():
        raise errors.BadRequest("XML body is empty")
    try:
        root = etree.fromstring(body, _parser())
    except (etree.LxmlError, ValueError, LookupError) as exc:
        raise errors.BadRequest(f"XML body is not well-formed: {_first_line(exc)}") from None
    if _has_doctype(root.getroottree().docinfo):
        # Entity tricks (billion laughs, XXE) all need a DTD; no DAV body has one.
        raise errors.BadRequest("XML body must not contain a DOCTYPE")
    return root


def _has_doctype(docinfo: etree.DocInfo) -> bool:
    return (
        docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
        or bool(docinfo.public_id)
    )


def _first_line(exc: Exception) -> str:
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


def serialize(root: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def element(
    tag: str,
    text: str | None = None,
    children: Iterable[etree._Element] = (),
    attrib: Mapping[str, str] | None = None,
) -> etree._Element:
    """A new element; ``children`` are appended (and so moved) into it.  Text and
    attribute values go through ``chars.xml_chars``: they may come from a client."""
    node = etree.Element(tag, attrib={k: xml_chars(v) for k, v in attrib.items()}
                         if attrib else None)
    node.text = None if text is None else xml_chars(text)
    for child in children:
        node.append(child)
    return node


def clark_name(namespace: str | None, local: str) -> str:
    """``{namespace}local`` from a client's strings (e.g. DAV:property's attributes, RFC
    3253 §3.8); ``BadRequest`` unless it is an XML name that output can carry."""
    try:
        return etree.Element(etree.QName(namespace or None, local)).tag  # lxml checks both
    except ValueError:
        raise errors.BadRequest(f"not an XML name: namespace {namespace!r}, "
                                f"name {local!r}") from None


def expect_root(root: etree._Element, clark_name: str) -> etree._Element:
    """Return ``root`` if it is ``clark_name``, else raise ``BadRequest``."""
    if root.tag != clark_name:
        raise errors.BadRequest(f"expected root element {clark_name}, got {root.tag}")
    return root


def child_elements(parent: etree._Element) -> list[etree._Element]:
    """Element children only (never comments or processing instructions)."""
    return [child for child in parent if isinstance(child.tag, str)]


def find_child(parent: etree._Element, tag: str) -> etree._Element | None:
    """The first child named ``tag``, or None."""
    for child in child_elements(parent):
        if child.tag == tag:
            return child
    return None


def require_child(parent: etree._Element, tag: str) -> etree._Element:
    """The first child named ``tag``; ``BadRequest`` naming it when absent."""
    child = find_child(parent, tag)
    if child is None:
        raise errors.BadRequest(f"{parent.tag} must contain {tag}")
    return child


def text_of(node: etree._Element) -> str:
    """All character data inside ``node``, whitespace at the ends removed."""
    if len(node) == 0:  # no children (the parser drops comments and PIs): its text alone
        return (node.text or "").strip()
    return "".join(str(text) for text in node.itertext()).strip()


def standalone_copy(node: etree._Element) -> etree._Element:
    """A parentless deep copy that keeps the ``xml:lang`` in scope.

    RFC 4918 §4.3: a property value keeps any xml:lang in scope, including one
    declared on an ancestor such as DAV:propertyupdate.
    """
    lang = _lang_in_scope(node)
    duplicate = copy.deepcopy(node)
    duplicate.tail = None
    if lang is not None and duplicate.get(names.XML_LANG) is None:
        duplicate.set(names.XML_LANG, lang)
    return duplicate


def _lang_in_scope(node: etree._Element) -> str | None:
    current: etree._Element | None = node
    while current is not None:
        lang = current.get(names.XML_LANG)
        if lang is not None:
            return lang
        current = current.getparent()
    return None
