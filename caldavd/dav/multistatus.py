"""Building 207 Multi-Status bodies (RFC 4918 §13, §14.16, §14.24).

Hrefs are given as decoded paths and percent-encoded here (see ``hrefs``).
Property elements passed in are deep-copied, so a cached or shared element
is never moved out of its owner.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import DAVError
from caldavd.dav.hrefs import quote_path
from caldavd.dav.xml import element, serialize


@dataclass(frozen=True)
class Propstat:
    """One DAV:propstat: properties sharing a status (RFC 4918 §14.22).

    ``props`` are value elements for 200 and empty name elements otherwise;
    ``error`` becomes the propstat's DAV:error (e.g. 403 with
    cannot-modify-protected-property in a PROPPATCH).
    """

    status: int
    props: tuple[etree._Element, ...]
    error: DAVError | None = None
    description: str | None = None


def status_line(code: int) -> str:
    """``HTTP/1.1 404 Not Found`` (RFC 4918 §14.28 uses the status-line form)."""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        return f"HTTP/1.1 {code}"
    return f"HTTP/1.1 {code} {phrase}"


def group_propstats(
    found: Iterable[etree._Element] = (),
    missing: Mapping[int, Iterable[str]] | None = None,
    errors: Mapping[int, DAVError] | None = None,
) -> list[Propstat]:
    """Found values under 200, then one propstat per other status.

    ``missing`` maps a status to Clark names: 404 for unknown properties, 403
    for forbidden ones, 424 for the rest of a failed PROPPATCH (RFC 4918 §9.2).
    ``errors`` optionally gives the DAV:error for a status. Empty groups are
    left out.
    """
    errors = errors or {}
    result: list[Propstat] = []
    found_props = tuple(found)
    if found_props:
        result.append(Propstat(200, found_props))
    for status, clark_names in (missing or {}).items():
        props = tuple(element(name) for name in clark_names)
        if props:
            result.append(Propstat(status, props, errors.get(status)))
    return result


def error_element(error: DAVError) -> etree._Element | None:
    """The DAV:error element for ``error`` (RFC 4918 §16), or None if it has none."""
    if error.element is None:
        return None
    condition = element(error.element, children=[_detached(c) for c in error.children])
    return element(names.ERROR, children=[condition])


def _detached(node: etree._Element) -> etree._Element:
    """``node`` itself when it is free, else a copy: an owner's tree is never changed."""
    if node.getparent() is None:
        return node
    duplicate = copy.deepcopy(node)
    duplicate.tail = None
    return duplicate


def _write_propstat(parent: etree._Element, propstat: Propstat) -> None:
    node = etree.SubElement(parent, names.PROPSTAT)
    prop = etree.SubElement(node, names.PROP)
    for value in propstat.props:
        prop.append(_detached(value))
    etree.SubElement(node, names.STATUS).text = status_line(propstat.status)
    _append_error(node, propstat.error, propstat.description)


def propstat_element(propstat: Propstat) -> etree._Element:
    holder = etree.Element(names.RESPONSE)
    _write_propstat(holder, propstat)
    return holder[0]


def _append_error(node: etree._Element, error: DAVError | None, description: str | None) -> None:
    error_node = error_element(error) if error is not None else None
    if error_node is not None:
        node.append(error_node)
    if description:
        etree.SubElement(node, names.RESPONSEDESCRIPTION).text = description


def _finish(root: etree._Element) -> bytes:
    etree.cleanup_namespaces(root, top_nsmap=names.NSMAP)
    return serialize(root)


class Multistatus:
    """A DAV:multistatus body, built response by response in one tree.

    Responses are written straight into the final document (no per-response
    documents, no copies of free elements): a Depth 1 PROPFIND of thousands of
    members is dominated by this.  ``sync_token`` (RFC 6578 §6.4) is written
    after the responses.
    """

    def __init__(self, *, sync_token: str | None = None) -> None:
        self.sync_token = sync_token
        self._root = etree.Element(names.MULTISTATUS, nsmap=names.NSMAP)

    def __len__(self) -> int:
        return len(self._root)

    def add_propstat(
        self,
        href: str,
        found: Iterable[etree._Element] = (),
        missing: Mapping[int, Iterable[str]] | None = None,
        *,
        errors: Mapping[int, DAVError] | None = None,
    ) -> None:
        """A response for ``href`` grouping properties by status (see ``group_propstats``)."""
        self.add_propstats(href, group_propstats(found, missing, errors))

    def add_propstats(self, href: str, propstats: Sequence[Propstat]) -> None:
        """A response for ``href`` with these propstats, in order.

        With none, one empty 200 propstat is written: the response element
        needs either a status or at least one propstat (RFC 4918 §14.24).
        """
        response = self._response(href)
        for propstat in propstats or [Propstat(200, ())]:
            _write_propstat(response, propstat)

    def add_status(
        self,
        href: str,
        status: int,
        error: DAVError | None = None,
        description: str | None = None,
    ) -> None:
        """A response for ``href`` with a status and no properties."""
        response = self._response(href)
        etree.SubElement(response, names.STATUS).text = status_line(status)
        _append_error(response, error, description)

    def _response(self, href: str) -> etree._Element:
        response = etree.SubElement(self._root, names.RESPONSE)
        etree.SubElement(response, names.HREF).text = quote_path(href)
        return response

    def to_bytes(self) -> bytes:
        root = self._root
        if self.sync_token is not None:
            etree.SubElement(root, names.SYNC_TOKEN).text = self.sync_token
        body = _finish(root)
        if self.sync_token is not None:
            root.remove(root[-1])
        return body


def propstat_body(root_tag: str, propstats: Sequence[Propstat]) -> bytes:
    """A body of propstats under ``root_tag``: DAV:mkcol-response (RFC 5689 §3.3)
    or C:mkcalendar-response (RFC 4791 §5.3.1)."""
    root = etree.Element(root_tag, nsmap=names.NSMAP)
    for propstat in propstats:
        _write_propstat(root, propstat)
    return _finish(root)
