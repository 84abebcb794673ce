"""Comparing XML by what a namespace-aware parser reports, not by its bytes.

Two serialisations are the same document for a WebDAV client when they have
the same elements (by namespace and local name), attributes and character
data in the same order; which prefixes they use and where namespaces are
declared does not matter.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from caldavd.dav import names
from caldavd.dav.fragments import ROOT_DECLARATIONS

Infoset = tuple[Any, ...]


def infoset(node: etree._Element) -> Infoset:
    children = tuple((infoset(child), child.tail or "") for child in node)
    return (node.tag, tuple(sorted(node.attrib.items())), node.text or "", children)


def document(data: bytes) -> Infoset:
    return infoset(etree.fromstring(data))


def fragment(text: str) -> Infoset:
    """The infoset of a fragment as content of a root declaring the document's prefixes."""
    root = etree.fromstring(f"<D:root{ROOT_DECLARATIONS}>{text}</D:root>".encode())
    assert root.tag == names.dav("root")
    return infoset(root)[2:]


def elements(*nodes: etree._Element) -> Infoset:
    """``fragment``'s form for elements: what they look like as content of a root."""
    children = tuple((infoset(node), "") for node in nodes)
    return ("", children)
