"""Parsing WebDAV request headers and bodies into typed, frozen values.

Every parser raises ``BadRequest`` (or the fitting ``DAVError``) on bad input.
Unknown elements are ignored wherever RFC 4918 §17 allows it. REPORT parsers
take the already-parsed root, because the handler reads the root's name
first to pick the report.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar
from urllib.parse import SplitResult, urlsplit

from lxml import etree

from caldavd.dav import errors, names
from caldavd.dav.hrefs import decode_path, unquote_path
from caldavd.dav.xml import (
    child_elements,
    clark_name,
    expect_root,
    find_child,
    parse_xml,
    require_child,
    standalone_copy,
    text_of,
)

Depth = Literal["0", "1", "infinity"]
PropfindKind = Literal["allprop", "propname", "prop"]
SyncLevel = Literal["1", "infinite"]
MatchType = Literal["contains", "starts-with", "equals", "ends-with"]
SearchTest = Literal["allof", "anyof"]
_T = TypeVar("_T", bound=str)
_V = TypeVar("_V")


# -- headers ---------------------------------------------------------------------

_DEPTHS: dict[str, Depth] = {"0": "0", "1": "1", "infinity": "infinity"}
_OVERWRITE = {"t": True, "f": False}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _lookup(value: str | None, allowed: Mapping[str, _V], default: _V,
            refusal: Callable[[str], str]) -> _V:
    """``allowed[value]`` (case-insensitive, blanks around it ignored), ``default`` when
    there is no value; BadRequest with ``refusal(value)`` for any other value."""
    if value is None:
        return default
    found = allowed.get(value.strip().lower())
    if found is None:
        raise errors.BadRequest(refusal(value))
    return found


def parse_depth(value: str | None, default: Depth) -> Depth:
    """The Depth header (RFC 4918 §10.2); ``default`` when absent."""
    return _lookup(value, _DEPTHS, default,
                   lambda bad: f"Depth must be 0, 1 or infinity, not {bad!r}")


def parse_overwrite(value: str | None) -> bool:
    """The Overwrite header (RFC 4918 §10.6): T or F, T when absent."""
    return _lookup(value, _OVERWRITE, True, lambda bad: f"Overwrite must be T or F, not {bad!r}")


def parse_destination(value: str | None, own: Iterable[str]) -> str:
    """The Destination header (RFC 4918 §10.3) as a decoded, normalised path.

    An absolute URL must name this server: one of the authorities ``own``
    (``host[:port]``; one without a port stands for both default ports).  Another
    authority is a 502 (RFC 4918 §9.8.5, §9.9.4).
    """
    if value is None or not value.strip():
        raise errors.BadRequest("Destination header is missing")
    parts = _on_this_server(value.strip(), own)
    if parts is None:
        raise errors.BadGateway(f"Destination {value!r} is on another server")
    return decode_path(parts.path or "/")


def parse_href(text: str, own: Iterable[str]) -> str:
    """A DAV:href of a request body (an absolute path, or an absolute URL naming this
    server by one of ``own``, RFC 4918 §8.3) as a decoded, normalised path.
    ``BadRequest`` for any other: relative, not a URL, not UTF-8 once decoded, or
    another server's."""
    text = text.strip()
    if text.startswith("/") and not text.startswith("//"):
        return unquote_path(text)  # the common case
    parts = _on_this_server(text, own)
    if parts is None:
        raise errors.BadRequest(f"{text!r} is not on this server")
    if not (parts.scheme or parts.netloc):
        return decode_path(text)  # relative: refused
    return decode_path(parts.path or "/")


def _on_this_server(value: str, own: Iterable[str]) -> SplitResult | None:
    """``value`` split as a URL, None when it names another server."""
    try:
        parts = urlsplit(value)
        same = not (parts.scheme or parts.netloc) or _names_this_server(parts, own)
    except ValueError:
        raise errors.BadRequest(f"not a valid URL: {value!r}") from None
    return parts if same else None


def _names_this_server(parts: SplitResult, own: Iterable[str]) -> bool:
    scheme = parts.scheme.lower()
    if (scheme and scheme not in _DEFAULT_PORTS) or not parts.hostname:
        return False
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    ports = {port} if port else set(_DEFAULT_PORTS.values())
    for authority in own:
        host, own_ports = _host_and_ports(authority)
        if host == parts.hostname and ports & own_ports:
            return True
    return False


def _host_and_ports(authority: str) -> tuple[str | None, set[int]]:
    """``host[:port]`` as (lower-case host, its ports); unparsable: (None, nothing)."""
    try:
        split = urlsplit("//" + authority.strip())
        port = split.port
    except ValueError:
        return None, set()
    return split.hostname, {port} if port else set(_DEFAULT_PORTS.values())


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; commas are legal
# inside the quotes, so the list cannot simply be split on commas.
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"\x00-\x20\x7f]*"')
_LIST_GAP = " \t,"


def parse_etag_list(value: str) -> list[str] | Literal["*"]:
    """If-Match / If-None-Match (RFC 9110 §13.1.1, §13.1.2): ``"*"`` or the
    entity-tags as sent, weak ones keeping their ``W/`` prefix."""
    text = value.strip()
    if text == "*":
        return "*"
    tags: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos] in _LIST_GAP:
            pos += 1
            continue
        match = _ENTITY_TAG.match(text, pos)
        if match is None or (match.end() < len(text) and text[match.end()] not in _LIST_GAP):
            raise errors.BadRequest(f"not a list of entity-tags: {value!r}")
        tags.append(match.group())
        pos = match.end()
    return tags


def strong_match(tags: Sequence[str], etag: str) -> bool:
    """Strong comparison, as If-Match uses (RFC 9110 §8.8.3.2, §13.1.1)."""
    return not etag.startswith("W/") and any(tag == etag for tag in tags)


def weak_match(tags: Sequence[str], etag: str) -> bool:
    """Weak comparison, as If-None-Match uses (RFC 9110 §8.8.3.2, §13.1.2)."""
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in tags)


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match holding the current (quoted) ETag or '*' (weak comparison, RFC 9110
    §13.1.2): answer 304."""
    if if_none_match is None:
        return False
    tags = parse_etag_list(if_none_match)
    return tags == "*" or weak_match(tags, etag)


# -- PROPFIND, PROPPATCH, MKCOL, MKCALENDAR ------------------------------------------

@dataclass(frozen=True)
class Propfind:
    """What properties a PROPFIND or REPORT asks for (RFC 4918 §14.20)."""

    kind: PropfindKind = "allprop"
    names: tuple[str, ...] = ()
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class PropOp:
    """One DAV:set or DAV:remove of one property (RFC 4918 §14.19).

    ``element`` is the property with its value (a parentless copy) for set,
    None for remove.
    """

    kind: Literal["set", "remove"]
    name: str
    element: etree._Element | None = None


def _optional_root(body: bytes | None) -> etree._Element | None:
    if body is None or not body.strip():
        return None
    return parse_xml(body)


# Clients poll with the same few PROPFIND bodies over and over; the parsed form is
# immutable, so small bodies are parsed once.  Malformed ones raise and stay out.
_CACHED_BODY_BYTES = 4096


def parse_propfind(body: bytes | None) -> Propfind:
    """A PROPFIND body; an empty one means allprop (RFC 4918 §9.1)."""
    if body is not None and len(body) <= _CACHED_BODY_BYTES:
        return _parse_small_propfind(body)
    return _parse_propfind(body)


@functools.lru_cache(maxsize=256)
def _parse_small_propfind(body: bytes) -> Propfind:
    return _parse_propfind(body)


def _parse_propfind(body: bytes | None) -> Propfind:
    root = _optional_root(body)
    if root is None:
        return Propfind("allprop")
    expect_root(root, names.PROPFIND)
    propfind = prop_request(root)
    if propfind is None:
        raise errors.BadRequest("DAV:propfind needs DAV:prop, DAV:allprop or DAV:propname")
    return propfind


_PROP_KINDS = (names.PROP, names.ALLPROP, names.PROPNAME)


def prop_request(parent: etree._Element) -> Propfind | None:
    """The DAV:prop | DAV:allprop (+ DAV:include) | DAV:propname child of
    ``parent``, or None when there is none."""
    chosen = list(parent.iterchildren(*_PROP_KINDS))
    if not chosen:
        return None
    if len(chosen) > 1:
        raise errors.BadRequest("only one of DAV:prop, DAV:allprop, DAV:propname is allowed")
    if chosen[0].tag == names.PROP:
        return Propfind("prop", prop_names(chosen[0]))
    if chosen[0].tag == names.PROPNAME:
        return Propfind("propname")
    include = find_child(parent, names.INCLUDE)
    return Propfind("allprop", include=prop_names(include) if include is not None else ())


def prop_names(prop: etree._Element) -> tuple[str, ...]:
    """Clark names of the children of a DAV:prop, first occurrence kept."""
    return tuple(dict.fromkeys(child.tag for child in child_elements(prop)))


def parse_proppatch(body: bytes | None) -> tuple[PropOp, ...]:
    """A PROPPATCH body's operations in document order.

    RFC 4918 §9.2: the server MUST apply them in order, all or none.
    """
    root = expect_root(parse_xml(body or b""), names.PROPERTYUPDATE)
    ops = tuple(op for instruction in child_elements(root) for op in _prop_ops(instruction))
    if not ops:
        raise errors.BadRequest("DAV:propertyupdate sets or removes no property")
    return ops


def _prop_ops(instruction: etree._Element) -> list[PropOp]:
    if instruction.tag == names.SET:
        prop = require_child(instruction, names.PROP)
        return [PropOp("set", p.tag, standalone_copy(p)) for p in child_elements(prop)]
    if instruction.tag == names.REMOVE:
        prop = require_child(instruction, names.PROP)
        return [PropOp("remove", p.tag) for p in child_elements(prop)]
    return []


def parse_mkcol(body: bytes | None, root_name: str) -> tuple[etree._Element, ...]:
    """Properties to set from an extended MKCOL (RFC 5689 §5.1, root DAV:mkcol)
    or MKCALENDAR (RFC 4791 §5.3.1, root C:mkcalendar) body; () when empty."""
    root = _optional_root(body)
    if root is None:
        return ()
    expect_root(root, root_name)
    return tuple(
        standalone_copy(prop)
        for instruction in child_elements(root)
        if instruction.tag == names.SET
        for prop in child_elements(require_child(instruction, names.PROP))
    )


# -- REPORT bodies ------------------------------------------------------------------

def parse_report_name(root: etree._Element) -> str:
    """The report a REPORT body asks for: its root's Clark name."""
    return root.tag


@dataclass(frozen=True)
class SyncCollection:
    """DAV:sync-collection (RFC 6578 §3.2, §6.1).

    ``token`` is None for an initial sync. ``level`` is "1" or "infinite"; the
    caller decides which it supports. ``calendar_data`` is the C:calendar-data
    element from DAV:prop, untouched, when present.
    """

    token: str | None
    level: SyncLevel
    limit: int | None
    prop: Propfind
    calendar_data: etree._Element | None = None


_SYNC_LEVELS: dict[str, SyncLevel] = {"1": "1", "infinite": "infinite"}


def parse_sync_collection(root: etree._Element) -> SyncCollection:
    expect_root(root, names.SYNC_COLLECTION)
    token_node = find_child(root, names.SYNC_TOKEN)
    token = text_of(token_node) if token_node is not None else ""
    prop = require_child(root, names.PROP)
    return SyncCollection(
        token=token or None,
        level=_sync_level(root),
        limit=parse_limit(root),
        prop=Propfind("prop", prop_names(prop)),
        calendar_data=find_child(prop, names.CALENDAR_DATA),
    )


def _sync_level(root: etree._Element) -> SyncLevel:
    node = find_child(root, names.SYNC_LEVEL)
    if node is None:
        # Clients written against drafts of RFC 6578 leave it out; they meant "1".
        return "1"
    level = _SYNC_LEVELS.get(text_of(node))
    if level is None:
        raise errors.BadRequest(f"DAV:sync-level must be 1 or infinite, not {text_of(node)!r}")
    return level


_NRESULTS = re.compile(r"[0-9]{1,10}")


def parse_limit(parent: etree._Element) -> int | None:
    """DAV:limit/DAV:nresults under ``parent`` (RFC 5323 §5.17), None when absent."""
    limit = find_child(parent, names.LIMIT)
    if limit is None:
        return None
    text = text_of(require_child(limit, names.NRESULTS))
    if not _NRESULTS.fullmatch(text) or int(text) < 1:
        raise errors.BadRequest(f"DAV:nresults must be a positive integer, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class ExpandProperty:
    """One DAV:property of an expand-property report (RFC 3253 §3.8)."""

    name: str
    children: tuple[ExpandProperty, ...] = ()


def parse_expand_property(root: etree._Element) -> tuple[ExpandProperty, ...]:
    expect_root(root, names.EXPAND_PROPERTY)
    return _expand_children(root)


def _expand_children(parent: etree._Element) -> tuple[ExpandProperty, ...]:
    return tuple(
        _expand_one(child) for child in child_elements(parent) if child.tag == names.PROPERTY
    )


def _expand_one(node: etree._Element) -> ExpandProperty:
    local = node.get(names.ATTR_NAME)
    if not local:
        raise errors.BadRequest("DAV:property needs a name attribute")
    name = clark_name(node.get(names.ATTR_NAMESPACE, names.DAV_NS), local)
    return ExpandProperty(name, _expand_children(node))


# -- how much one body may ask for ------------------------------------------------------

@dataclass(frozen=True)
class RequestBounds:
    """How much one request body may ask for (README "Security and limits"); 0: no limit.

    ``property_names``: distinct property names (DAV:prop and DAV:include children, or
    PROPPATCH operations), each of which every resource in a multistatus answers;
    ``expand_elements``/``expand_depth``: DAV:property elements of an expand-property
    REPORT, and how deep they nest (RFC 3253 §3.8).
    """

    property_names: int = 0
    expand_elements: int = 0
    expand_depth: int = 0

    def check_names(self, count: int) -> None:
        if self.property_names and count > self.property_names:
            raise errors.MaxPropertiesPerRequest(
                f"the request names {count} properties; at most {self.property_names} "
                "are answered per request")

    def check_report(self, root: etree._Element) -> None:
        """A REPORT body within bounds: its property names, its DAV:property elements."""
        self.check_names(len({child.tag for parent in root.iter(names.PROP, names.INCLUDE)
                              for child in child_elements(parent)}))
        if root.tag == names.EXPAND_PROPERTY:
            self._check_expand(root)

    def _check_expand(self, root: etree._Element) -> None:
        count = sum(1 for _ in root.iter(names.PROPERTY))
        if self.expand_elements and count > self.expand_elements:
            raise errors.MaxExpandProperty(
                f"expand-property has {count} DAV:property elements; at most "
                f"{self.expand_elements} are allowed")
        depth = max((_nesting(node) for node in root.iter(names.PROPERTY)), default=0)
        if self.expand_depth and depth > self.expand_depth:
            raise errors.MaxExpandProperty(
                f"expand-property nests DAV:property {depth} deep; at most "
                f"{self.expand_depth} levels are allowed")


def _nesting(node: etree._Element) -> int:
    return sum(1 for _ in node.iterancestors(names.PROPERTY)) + 1


@dataclass(frozen=True)
class PropertySearch:
    """One DAV:property-search: match text against any of these properties."""

    names: tuple[str, ...]
    match: str
    match_type: MatchType = "contains"


@dataclass(frozen=True)
class PrincipalPropertySearch:
    """DAV:principal-property-search (RFC 3744 §9.4).

    ``test`` (allof/anyof), ``match_type`` and ``limit`` are calendarserver
    extensions that iOS and macOS clients send.
    """

    searches: tuple[PropertySearch, ...]
    prop: tuple[str, ...] = ()
    test: SearchTest = "allof"
    apply_to_principal_collection_set: bool = False
    limit: int | None = None


_TESTS: dict[str, SearchTest] = {"allof": "allof", "anyof": "anyof"}
_MATCH_TYPES: dict[str, MatchType] = {
    "contains": "contains",
    "starts-with": "starts-with",
    "equals": "equals",
    "ends-with": "ends-with",
}


def parse_principal_property_search(root: etree._Element) -> PrincipalPropertySearch:
    expect_root(root, names.PRINCIPAL_PROPERTY_SEARCH)
    searches = tuple(
        _property_search(child)
        for child in child_elements(root)
        if child.tag == names.PROPERTY_SEARCH
    )
    if not searches:
        raise errors.BadRequest("DAV:principal-property-search needs a DAV:property-search")
    prop = find_child(root, names.PROP)
    return PrincipalPropertySearch(
        searches=searches,
        prop=prop_names(prop) if prop is not None else (),
        test=_choice(root, names.ATTR_TEST, _TESTS, "allof"),
        apply_to_principal_collection_set=(
            find_child(root, names.APPLY_TO_PRINCIPAL_COLLECTION_SET) is not None
        ),
        limit=parse_limit(root),
    )


def _property_search(node: etree._Element) -> PropertySearch:
    searched = prop_names(require_child(node, names.PROP))
    if not searched:
        raise errors.BadRequest("DAV:property-search names no property")
    match = require_child(node, names.MATCH)
    return PropertySearch(
        names=searched,
        match=text_of(match),
        match_type=_choice(match, names.ATTR_MATCH_TYPE, _MATCH_TYPES, "contains"),
    )


def _choice(node: etree._Element, attribute: str, allowed: dict[str, _T], default: _T) -> _T:
    return _lookup(node.get(attribute), allowed, default,
                   lambda _: f"{attribute} on {node.tag} must be one of {sorted(allowed)}")


@dataclass(frozen=True)
class Multiget:
    """C:calendar-multiget (RFC 4791 §7.9).

    ``calendar_data`` is the C:calendar-data request element from DAV:prop,
    untouched; ``hrefs`` are decoded paths, duplicates dropped; ``refused`` the
    hrefs (as sent) that ``parse_href`` refuses, each with its error: each gets a
    DAV:response of its own, the rest are still answered (RFC 4918 §9.1.2, §13).
    """

    prop: Propfind
    calendar_data: etree._Element | None
    hrefs: tuple[str, ...]
    refused: tuple[tuple[str, errors.DAVError], ...] = ()


def parse_calendar_multiget(root: etree._Element, own: Iterable[str] = ()) -> Multiget:
    """``own``: the authorities that name this server (see ``parse_href``)."""
    expect_root(root, names.CALENDAR_MULTIGET)
    # The DTD makes the property request optional; without one, act as PROPFIND does.
    propfind = prop_request(root) or Propfind("allprop")
    prop = root.find(names.PROP)  # lxml's own filters: a multiget has many children
    hrefs: dict[str, None] = {}
    refused: dict[str, errors.DAVError] = {}
    for child in root.iterchildren(names.HREF):
        text = text_of(child)
        try:
            hrefs[parse_href(text, own)] = None
        except errors.DAVError as exc:
            refused[text.strip()] = exc
    return Multiget(
        prop=propfind,
        calendar_data=prop.find(names.CALENDAR_DATA) if prop is not None else None,
        hrefs=tuple(hrefs), refused=tuple(refused.items()),
    )
