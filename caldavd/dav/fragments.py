"""XML written as text, for the hot parts of multistatus bodies.

A fragment is a piece of element content that uses the document's fixed
prefixes (``names.NSMAP``: D, C, CS, A), which ``Multistatus`` declares once
on its root element.  Text is escaped exactly as lxml escapes it (``&``, ``<``
and ``>``, and a CR as ``&#13;`` so that it is not read back as a LF), and
characters XML cannot carry become U+FFFD as in ``xml.element`` (``chars``), so
a fragment and the element lxml would write parse to the same infoset.

Anything else (a name outside those namespaces, a dead property, a structured
value) is serialised by lxml itself (``elements_text``): lxml declares what
such an element needs on the element, where it shadows the root's prefixes
rather than clashing with them.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

from lxml import etree

from caldavd.dav import names
from caldavd.dav.chars import xml_chars
from caldavd.dav.hrefs import quote_path

PREFIX_OF: dict[str, str] = {uri: prefix for prefix, uri in names.NSMAP.items()}
ROOT_DECLARATIONS = "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in names.NSMAP.items())

_HOLDER_END = f"</{PREFIX_OF[names.DAV_NS]}:multistatus>"


def escape(text: str) -> str:
    """``text`` as XML character data (see the module docstring)."""
    if text.isascii() and text.isalnum():  # letters and digits (ETags...): nothing to do
        return text
    text = xml_chars(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


@functools.cache
def qname(clark: str) -> str | None:
    """``D:getetag`` for ``{DAV:}getetag``; None outside the document's namespaces."""
    if not clark.startswith("{"):
        return None
    uri, _, local = clark[1:].partition("}")
    prefix = PREFIX_OF.get(uri)
    return f"{prefix}:{local}" if prefix else None


def text_element(clark: str, text: str) -> str:
    """``<D:name>text</D:name>`` (``clark`` must be in the document's namespaces)."""
    tag = _tag(clark)
    return f"<{tag}>{escape(text)}</{tag}>"


def text_writer(clark: str) -> Callable[[str], str]:
    """``text_element`` for one name, its tags worked out once (for hot properties)."""
    tag = _tag(clark)
    start, end = f"<{tag}>", f"</{tag}>"

    def write(text: str) -> str:
        return start + escape(text) + end
    return write


def href_text(path: str) -> str:
    """A decoded path as the text of a DAV:href: percent-encoded, then escaped.

    ``quote_path`` leaves only ``&`` of the characters XML text must escape
    (and nothing XML refuses), so that one is all that is escaped here.
    """
    href = quote_path(path)
    return href.replace("&", "&amp;") if "&" in href else href


@functools.cache
def empty_element(clark: str) -> str:
    """``<D:name/>``; a name outside the document's namespaces comes with its declaration."""
    tag = qname(clark)
    if tag is None:
        return elements_text((etree.Element(clark),))
    return f"<{tag}/>"


def _tag(clark: str) -> str:
    tag = qname(clark)
    if tag is None:
        raise ValueError(f"{clark} is not in the multistatus namespaces")
    return tag


def elements_text(nodes: tuple[etree._Element, ...] | list[etree._Element]) -> str:
    """``nodes`` serialised by lxml as content of the multistatus root.

    They are put into a stand-in root that declares the same prefixes, so lxml
    writes them with those prefixes (and declares anything else locally); the
    stand-in's own tags are cut off.  A node that belongs to a tree is copied,
    so its owner's tree is never changed.
    """
    if not nodes:
        return ""
    holder = etree.Element(names.MULTISTATUS, nsmap=names.NSMAP)
    for node in nodes:
        holder.append(detached(node))
    etree.cleanup_namespaces(holder, top_nsmap=names.NSMAP)
    text = etree.tostring(holder, encoding="unicode")
    return text[text.index(">") + 1:-len(_HOLDER_END)]


def detached(node: etree._Element) -> etree._Element:
    """``node`` itself when it is free, else a copy without its tail."""
    if node.getparent() is None:
        return node
    duplicate = copy.deepcopy(node)
    duplicate.tail = None
    return duplicate
