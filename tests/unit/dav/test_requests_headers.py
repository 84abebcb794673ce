"""Depth, Overwrite, Destination, If-Match / If-None-Match."""

from __future__ import annotations

import pytest

from caldavd.dav import errors
from caldavd.dav.requests import (
    parse_depth,
    parse_destination,
    parse_etag_list,
    parse_overwrite,
    strong_match,
    weak_match,
)


@pytest.mark.parametrize(("value", "depth"), [
    ("0", "0"), ("1", "1"), ("infinity", "infinity"), (" Infinity ", "infinity"),
])
def test_depth(value: str, depth: str) -> None:
    assert parse_depth(value, "0") == depth


def test_depth_default_when_absent() -> None:
    assert parse_depth(None, "infinity") == "infinity"
    assert parse_depth(None, "0") == "0"


@pytest.mark.parametrize("value", ["", "2", "-1", "01", "infinite", "one"])
def test_bad_depth(value: str) -> None:
    """RFC 4918 §10.2: Depth = "0" | "1" | "infinity"."""
    with pytest.raises(errors.BadRequest, match="Depth"):
        parse_depth(value, "0")


@pytest.mark.parametrize(("value", "overwrite"), [
    (None, True), ("T", True), ("F", False), ("f", False), (" T ", True),
])
def test_overwrite(value: str | None, overwrite: bool) -> None:
    assert parse_overwrite(value) is overwrite


@pytest.mark.parametrize("value", ["", "true", "no", "TF"])
def test_bad_overwrite(value: str) -> None:
    with pytest.raises(errors.BadRequest, match="Overwrite"):
        parse_overwrite(value)


@pytest.mark.parametrize(("value", "host", "path"), [
    ("/cal/new%20one/", "example.com", "/cal/new one/"),
    ("http://example.com/a/b.ics", "example.com", "/a/b.ics"),
    ("http://EXAMPLE.com:80/a", "example.com", "/a"),
    ("http://example.com/a", "example.com:80", "/a"),
    ("https://example.com/a", "example.com", "/a"),
    ("https://example.com:443/a", "example.com", "/a"),
    ("http://example.com:8008/a", "example.com:8008", "/a"),
    ("http://user@example.com/a", "example.com", "/a"),
    ("http://[::1]:8008/a", "[::1]:8008", "/a"),
    ("http://example.com", "example.com", "/"),
    ("/a/./b/../c?x=1", "example.com", "/a/c"),
])
def test_destination(value: str, host: str, path: str) -> None:
    assert parse_destination(value, [host]) == path


@pytest.mark.parametrize(("value", "host"), [
    ("http://other.example.com/a", "example.com"),
    ("http://example.com:8009/a", "example.com:8008"),
    ("http://example.com/a", "example.com:8008"),
    ("ftp://example.com/a", "example.com"),
    ("//other.example.com/a", "example.com"),
    ("http://example.com/a", ""),
])
def test_destination_on_another_server_is_502(value: str, host: str) -> None:
    """RFC 4918 §9.8.5, §9.9.4: 502 when the destination is on another server."""
    with pytest.raises(errors.BadGateway) as caught:
        parse_destination(value, [host])
    assert caught.value.status == 502


@pytest.mark.parametrize("value", [None, "", "  ", "relative/path", "/../etc/passwd",
                                   "http://example.com/a/../../b", "/%ff"])
def test_bad_destination(value: str | None) -> None:
    with pytest.raises(errors.BadRequest):
        parse_destination(value, ["example.com"])


def test_destination_with_broken_port_is_bad_request() -> None:
    with pytest.raises(errors.BadRequest, match="valid URL"):
        parse_destination("http://example.com:port/a", ["example.com"])


def test_etag_star() -> None:
    assert parse_etag_list("*") == "*"
    assert parse_etag_list(" * ") == "*"


@pytest.mark.parametrize(("value", "tags"), [
    ('"abc"', ['"abc"']),
    ('W/"abc"', ['W/"abc"']),
    ('"a", W/"b" ,"c"', ['"a"', 'W/"b"', '"c"']),
    ('"a,b", "c"', ['"a,b"', '"c"']),
    ('""', ['""']),
    ("", []),
    (' , "a",, ', ['"a"']),
])
def test_etag_list(value: str, tags: list[str]) -> None:
    """RFC 9110 §8.8.3: commas may appear inside a quoted entity-tag."""
    assert parse_etag_list(value) == tags


@pytest.mark.parametrize("value", ['abc', '"a", *', '"a"b', '"a', 'w/"a"', '"a b"', '"a""b"'])
def test_bad_etag_list(value: str) -> None:
    with pytest.raises(errors.BadRequest, match="entity-tag"):
        parse_etag_list(value)


def test_strong_and_weak_comparison() -> None:
    """RFC 9110 §8.8.3.2's table."""
    assert not strong_match(['W/"1"'], 'W/"1"')
    assert weak_match(['W/"1"'], 'W/"1"')
    assert not strong_match(['W/"1"'], 'W/"2"')
    assert not weak_match(['W/"1"'], 'W/"2"')
    assert not strong_match(['W/"1"'], '"1"')
    assert weak_match(['W/"1"'], '"1"')
    assert strong_match(['"2"', '"1"'], '"1"')
    assert weak_match(['"1"'], '"1"')
