"""Building 207 Multi-Status bodies (RFC 4918 §13, §14.16, §14.24).

Hrefs are given as decoded paths and percent-encoded here (see ``hrefs``).
The body is written as text, response by response, into one list of
fragments joined once (see ``fragments``): a Depth 1 PROPFIND of thousands of
members is dominated by this.  Property values may be fragments already
(the hot live properties) or lxml elements, which lxml serialises into the
same buffer; elements that belong to a tree are copied, so a cached or shared
element is never moved out of its owner.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from lxml import etree

from caldavd.dav import names
from caldavd.dav.errors import DAVError
from caldavd.dav.fragments import (
    ROOT_DECLARATIONS,
    detached,
    elements_text,
    empty_element,
    escape,
    href_text,
    text_element,
)
from caldavd.dav.xml import element, serialize

# A property value: an element, or its XML text in the document's prefixes.
Value = etree._Element | str

_HEAD = f"<?xml version='1.0' encoding='utf-8'?>\n<D:multistatus{ROOT_DECLARATIONS}>"
_TAIL = "</D:multistatus>"


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


@functools.cache
def _status(code: int) -> str:
    return text_element(names.STATUS, status_line(code))


_OK = _status(200)


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
    condition = element(error.element, children=[detached(c) for c in error.children])
    return element(names.ERROR, children=[condition])


def _write_propstat(parent: etree._Element, propstat: Propstat) -> None:
    node = etree.SubElement(parent, names.PROPSTAT)
    prop = etree.SubElement(node, names.PROP)
    for value in propstat.props:
        prop.append(detached(value))
    etree.SubElement(node, names.STATUS).text = status_line(propstat.status)
    error_node = error_element(propstat.error) if propstat.error is not None else None
    if error_node is not None:
        node.append(error_node)
    if propstat.description:
        node.append(element(names.RESPONSEDESCRIPTION, propstat.description))


def propstat_element(propstat: Propstat) -> etree._Element:
    holder = etree.Element(names.RESPONSE)
    _write_propstat(holder, propstat)
    return holder[0]


def _propstat_text(props: str, status: str, extra: str = "") -> str:
    return f"<D:propstat><D:prop>{props}</D:prop>{status}{extra}</D:propstat>"


def _error_text(error: DAVError | None, description: str | None) -> str:
    """DAV:error and DAV:responsedescription, as they follow a status."""
    error_node = error_element(error) if error is not None else None
    text = elements_text((error_node,)) if error_node is not None else ""
    if description:
        text += text_element(names.RESPONSEDESCRIPTION, description)
    return text


def values_text(values: Sequence[Value]) -> str:
    """Property values as one fragment, in order; elements are serialised by lxml."""
    try:
        return "".join(values)  # type: ignore[arg-type]  # all fragments: the common case
    except TypeError:
        pass
    parts: list[str] = []
    pending: list[etree._Element] = []
    for value in values:
        if isinstance(value, str):
            if pending:
                parts.append(elements_text(pending))
                pending = []
            parts.append(value)
        else:
            pending.append(value)
    if pending:
        parts.append(elements_text(pending))
    return "".join(parts)


_EMPTY_OK = _propstat_text("", _OK)


class Multistatus:
    """A DAV:multistatus body, built response by response as text.

    ``sync_token`` (RFC 6578 §6.4) is written after the responses.  The 404
    propstat of each distinct set of missing names is built once per body.
    """

    def __init__(self, *, sync_token: str | None = None) -> None:
        self.sync_token = sync_token
        self._parts: list[str] = []
        self._missing: dict[tuple[str, ...], str] = {}

    def __len__(self) -> int:
        return len(self._parts)

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
        self._add(href, "".join(
            _propstat_text(elements_text(p.props), _status(p.status),
                           _error_text(p.error, p.description))
            for p in propstats) or _EMPTY_OK)

    def add_props(self, href: str, found: Sequence[Value], missing: Sequence[str] = (),
                  forbidden: Sequence[str] = ()) -> None:
        """A response for ``href``: ``found`` values under 200, ``missing`` names under 404,
        ``forbidden`` ones (not readable by this principal) under 403.

        The same as ``add_propstat(href, found, {404: missing, 403: forbidden})``, for
        values that are fragments already (see ``fragments``) as well as elements.
        """
        text = _propstat_text(values_text(found), _OK) if found else ""
        if missing:
            text += self._missing_propstat(tuple(missing))
        if forbidden:
            text += _propstat_text("".join(empty_element(n) for n in forbidden), _status(403))
        self._add(href, text or _EMPTY_OK)

    def add_members(self, base: str, names: Iterable[str], found: Iterable[str],
                    missing: tuple[str, ...] = ()) -> None:
        """``add_props`` for members of the collection whose href text is ``base``
        (``fragments.href_text`` of its path): the member ``names[i]`` with the found
        values ``found[i]`` as one fragment (``""``: none), each with the same ``missing``
        names.  The loop of a Depth 1 listing: one string per member."""
        absent = self._missing_propstat(missing) if missing else ""
        empty = absent or _EMPTY_OK
        parts = self._parts
        for name, text in zip(names, found, strict=True):
            if text:
                parts.append(f"<D:response><D:href>{base}{href_text(name)}</D:href><D:propstat>"
                             f"<D:prop>{text}</D:prop>{_OK}</D:propstat>{absent}</D:response>")
            else:
                parts.append(f"<D:response><D:href>{base}{href_text(name)}</D:href>{empty}"
                             "</D:response>")

    def add_status(
        self,
        href: str,
        status: int,
        error: DAVError | None = None,
        description: str | None = None,
    ) -> None:
        """A response for ``href`` with a status and no properties."""
        self._add(href, _status(status) + _error_text(error, description))

    def add_refused(self, sent: str, error: DAVError) -> None:
        """A response for an href of the request that names no resource (``sent`` as the
        client wrote it: it may not decode), with ``error``'s status and message."""
        self._parts.append(f"<D:response><D:href>{escape(sent)}</D:href>{_status(error.status)}"
                           f"{_error_text(error, error.message)}</D:response>")

    def extend(self, other: Multistatus) -> None:
        """The responses of ``other`` after these (one report over several collections)."""
        self._parts.extend(other._parts)

    def _missing_propstat(self, missing: tuple[str, ...]) -> str:
        text = self._missing.get(missing)
        if text is None:
            text = _propstat_text("".join(empty_element(n) for n in missing), _status(404))
            self._missing[missing] = text
        return text

    def _add(self, href: str, inner: str) -> None:
        self._parts.append(f"<D:response><D:href>{href_text(href)}</D:href>{inner}</D:response>")

    def to_bytes(self) -> bytes:
        token = "" if self.sync_token is None else text_element(names.SYNC_TOKEN, self.sync_token)
        return "".join((_HEAD, *self._parts, token, _TAIL)).encode()

    def size(self) -> int:
        """The body's length in characters (its bytes, but for non-ASCII text)."""
        token = 0 if self.sync_token is None else len(
            text_element(names.SYNC_TOKEN, self.sync_token))
        return len(_HEAD) + sum(map(len, self._parts)) + token + len(_TAIL)

    def pieces(self, size: int) -> Iterator[bytes]:
        """The body in consecutive pieces of about ``size`` characters or more (a
        response is never split), for sending one at a time."""
        batch: list[str] = []
        gathered = 0
        for text in self._texts():
            batch.append(text)
            gathered += len(text)
            if gathered >= size:
                yield "".join(batch).encode()
                batch, gathered = [], 0
        if batch:
            yield "".join(batch).encode()

    def _texts(self) -> Iterator[str]:
        yield _HEAD
        yield from self._parts
        if self.sync_token is not None:
            yield text_element(names.SYNC_TOKEN, self.sync_token)
        yield _TAIL


def propstat_body(root_tag: str, propstats: Sequence[Propstat]) -> bytes:
    """A body of propstats under ``root_tag``: DAV:mkcol-response (RFC 5689 §3.3)
    or C:mkcalendar-response (RFC 4791 §5.3.1)."""
    root = etree.Element(root_tag, nsmap=names.NSMAP)
    for propstat in propstats:
        _write_propstat(root, propstat)
    etree.cleanup_namespaces(root, top_nsmap=names.NSMAP)
    return serialize(root)
