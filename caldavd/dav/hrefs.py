"""Hrefs on the wire versus paths inside the server.

Inside the server a path is decoded text ("/calendars/Jo Smith/é.ics"); on the
wire it is percent-encoded. ``quote_path`` and ``unquote_path`` are the only
crossings, so nothing is encoded twice or compared half-decoded.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from caldavd.dav import errors

# RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
# Everything a path segment may hold stays literal; the rest ('%', '?', '#',
# space, non-ASCII as UTF-8, ...) is encoded, so the result always parses back
# to the same path.
PATH_SAFE = "/:@!$&'()*+,;="


_PLAIN = re.compile(r"[A-Za-z0-9/:@!$&'()*+,;=\-._~]*")


# An absolute path of literal pchars (no '%' to decode) whose segments are neither
# empty nor start with '.': unquote_path would give it back unchanged.
_NORMAL_LITERAL = re.compile(
    r"/|(?:/[A-Za-z0-9:@!$&'()*+,;=\-_~][A-Za-z0-9:@!$&'()*+,;=\-._~]*)+/?")


def quote_path(path: str) -> str:
    """Percent-encode a decoded path for a DAV:href or a Location header."""
    if _PLAIN.fullmatch(path):
        return path  # the common case, and hot in Depth 1 listings: nothing to encode
    return quote(path, safe=PATH_SAFE)


def unquote_path(href: str) -> str:
    """Decode an href (absolute URL or absolute path) into a normalised path.

    The scheme and authority of an absolute URL are dropped; callers that must
    check them (Destination) do so first. Raises ``BadRequest`` for a relative
    path, bad percent-encoding, a NUL, or '..' above the root.
    """
    href = href.strip()
    if _NORMAL_LITERAL.fullmatch(href):
        return href  # already a normal path with nothing to decode (most hrefs clients send)
    if _is_plain_path(href):
        return decode_path(href)  # what urlsplit would give back (the hot case: multiget)
    try:
        path = urlsplit(href).path
    except ValueError:
        raise errors.BadRequest(f"not a valid URL: {href!r}") from None
    return decode_path(path)


def _is_plain_path(href: str) -> bool:
    """An absolute path with nothing for urlsplit to take off: no authority ('//'), query,
    fragment, or the TAB/CR/LF it deletes."""
    return href.startswith("/") and not href.startswith("//") and not any(
        c in href for c in "?#\t\r\n")


def decode_path(path: str) -> str:
    """Percent-decode and normalise an absolute path (no scheme, no host)."""
    if not path.startswith("/"):
        raise errors.BadRequest(f"expected an absolute path, got {path!r}")
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise errors.BadRequest(f"path is not UTF-8 once decoded: {path!r}") from None
    if "\x00" in decoded:
        raise errors.BadRequest("path contains a NUL character")
    return normalise_path(decoded)


# C0 controls, DEL, C1 controls, and the noncharacters XML 1.0 cannot carry.
_NOT_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")


def check_new_name(name: str) -> None:
    """The one rule for the name of a resource about to be created or renamed (PUT, POST,
    MKCOL, MKCALENDAR, the destination of COPY and MOVE): no control character.  A
    name clients show and type; one stored before the rule can still be read and
    deleted."""
    if not name.isprintable() and _NOT_IN_NAMES.search(name):
        raise errors.ValidResourceName(
            f"resource names may not contain control characters: {quote_path(name)!r}")


def normalise_path(path: str) -> str:
    """Drop empty and '.' segments and resolve '..' (RFC 3986 §5.2.4).

    A '..' that would climb above the root is a ``BadRequest``, never clamped:
    a client that sends one is confused or probing. A trailing slash is kept
    (it marks a collection).
    """
    if path.startswith("/") and "//" not in path and "/." not in path:
        return path  # no empty, '.' or '..' segment: already normal (the common case)
    kept: list[str] = []
    segments = path.split("/")[1:]
    for segment in segments:
        if segment in ("", "."):
            continue
        if segment == "..":
            if not kept:
                raise errors.BadRequest(f"path climbs above the root: {path!r}")
            kept.pop()
            continue
        kept.append(segment)
    if not kept:
        return "/"
    trailing = segments[-1] in ("", ".", "..")
    return "/" + "/".join(kept) + ("/" if trailing else "")
